/* ctl_alert.c - alerts: stored, logged, told to watchers, delivered to
 * [alerts] webhook and mail_to through io/notify (which never blocks the
 * loop and retries the webhook with back-off). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl_int.h"
#include "io/notify.h"
#include "log.h"
#include "model/policy.h"
#include "util.h"

static void notify_cfg_of(const struct cfg *cfg, struct notify_cfg *nc)
{
	*nc = (struct notify_cfg){
		.webhook = cfg->alerts.webhook,
		.timeout_ms = cfg->alerts.webhook_timeout_ms,
		.retry_max_s = cfg->alerts.retry_max_s,
		.mail_to = cfg->alerts.mail_to,
		.sendmail = cfg->alerts.sendmail,
	};
}

int alerts_init(struct ctl *c)
{
	struct notify_cfg nc;
	int r;

	notify_cfg_of(c->cfg, &nc);
	if (!nc.webhook && !nc.mail_to)
		return 0; /* started on the reload that configures one */
	r = notify_new(c->base, &nc, &c->notify);
	if (r < 0)
		log_err("alerts: cannot start delivery: %s; alerts are stored and logged only",
			strerror(-r));
	return r;
}

void alerts_reload(struct ctl *c)
{
	struct notify_cfg nc;

	if (!c->notify) {
		alerts_init(c);
		return;
	}
	notify_cfg_of(c->cfg, &nc);
	if (notify_set_cfg(c->notify, &nc) < 0)
		log_err("alerts: delivery keeps its previous settings (out of memory)");
}

void alerts_free(struct ctl *c)
{
	notify_free(c->notify);
	c->notify = NULL;
}

void ctl_alert_delivery(struct ctl *c, struct notify_stats *st)
{
	notify_get_stats(c->notify, st);
}

static void deliver(struct ctl *c, int64_t id, int64_t ts, const char *kind, const char *mac,
		    const char *msg)
{
	struct notify_alert a = { .id = id, .ts = ts, .kind = kind, .mac = mac, .message = msg };
	struct reg_device *d = NULL;

	if (!c->notify)
		return;
	if (mac && reg_get(c->reg, mac, &d) == 0 && d) {
		a.label = d->label ? d->label : d->hostname;
		a.ip = d->ip;
		a.zone = policy_access_name(policy_access(d));
	}
	notify_send(c->notify, &a);
	reg_device_free(d);
}

int64_t ctl_alert(struct ctl *c, const char *kind, const char *mac, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int64_t id, now = util_now_ms();

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	id = reg_alert_open(c->reg, kind, mac);
	if (id > 0)
		return 0;
	id = reg_alert_add(c->reg, kind, mac, msg, now);
	if (id < 0) {
		log_err("alert %s %s not stored: %s", kind, mac ? mac : "-", strerror((int)-id));
		return id;
	}
	log_warn("alert %s %s: %s", kind, mac ? mac : "-", msg);
	deliver(c, id, now, kind, mac, msg);
	ctl_notify(c);
	return id;
}

/* A device's name for people: label, else its own name, else vendor;
 * control bytes (from DHCP) as '?'. */
static void name_of(const struct reg_device *d, char *out, size_t size)
{
	const char *s = d->label ? d->label : d->hostname ? d->hostname : d->vendor;
	size_t i = 0;

	for (; s && s[i] && i < size - 1; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = '\0';
}

void alert_new_device(struct ctl *c, const char *canon)
{
	struct reg_device *d = NULL;
	char name[65];

	if (reg_get(c->reg, canon, &d) < 0 || !d)
		return;
	if (d->state == REG_PENDING) {
		name_of(d, name, sizeof(name));
		if (*name)
			ctl_alert(c, "new_device", canon, "A new device is waiting for approval: %s (%s)",
				  name, canon);
		else
			ctl_alert(c, "new_device", canon, "A new device is waiting for approval: %s", canon);
	}
	reg_device_free(d);
}

void alert_settled(struct ctl *c, const char *canon, const struct reg_actor *who)
{
	int64_t id = reg_alert_open(c->reg, "new_device", canon);

	if (id > 0 && reg_alert_ack(c->reg, id, who, util_now_ms()) > 0)
		log_info("alert #%lld (new_device %s) settled by %s's decision", (long long)id, canon, who->who);
}

void alert_blocked(struct ctl *c, const char *canon, const struct reg_actor *who)
{
	struct reg_device *d = NULL;
	char name[65] = "";

	if (reg_get(c->reg, canon, &d) == 0 && d)
		name_of(d, name, sizeof(name));
	reg_device_free(d);
	if (*name)
		ctl_alert(c, "blocked", canon, "%s (%s) was blocked by %s", name, canon,
			  who && who->who ? who->who : "someone");
	else
		ctl_alert(c, "blocked", canon, "%s was blocked by %s", canon,
			  who && who->who ? who->who : "someone");
}
