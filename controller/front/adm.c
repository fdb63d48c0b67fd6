#include "adm.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "log.h"
#include "qr.h"
#include "mac.h"
#include "util.h"

#define IDLE_TIMEOUT_S 300
#define MAX_OUTPUT (8 * 1024 * 1024)
#define MAX_TEXT 128 /* label and owner, bytes */

struct client {
	struct adm *adm;
	struct bufferevent *bev;
	char user[64];
	uid_t uid;            /* peer's, from SO_PEERCRED */
	bool discarding;      /* dropping the rest of an oversized line */
	unsigned watch_id;    /* != 0 while following the timeline */
	int64_t follow_last;  /* newest event id sent */
	struct event *close_ev; /* deferred close (see client_close_later) */
	struct client *next;
};

struct adm {
	struct event_base *base;
	struct ctl *ctl;
	struct evconnlistener *listener;
	char *path;
	char *cfg_path;
	struct client *clients;
	unsigned n_clients;
};

/* ---- JSON helpers ---- */

static json_t *json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p)
{
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) || /* overlong, surrogates */
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/* A string that may not be valid UTF-8 (device data): jansson refuses
 * those, so each invalid byte is shown as U+FFFD and the rest is kept. */
static json_t *json_text(const char *s)
{
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	if (j)
		return j;
	size_t n = strlen(s);
	char *fixed = malloc(n * 3 + 1), *o = fixed;
	if (!fixed)
		return json_null();
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t k = utf8_seq(p);
		if (k == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, k);
			o += k;
			p += k;
		}
	}
	*o = '\0';
	j = json_string(fixed);
	free(fixed);
	return j ? j : json_null();
}

static json_t *json_time(int64_t ms)
{
	char buf[40];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm))
		return json_null();
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(ms % 1000));
	return json_string(buf);
}

static json_t *device_json(const struct reg_device *d)
{
	json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o}",
			 "mac", d->mac,
			 "state", reg_state_name(d->state),
			 "class", json_str_or_null(reg_class_name(d->cls)),
			 "type", json_str_or_null(reg_type_name(d->type)),
			 "label", json_text(d->label),
			 "owner", json_text(d->owner),
			 "vendor", json_text(d->vendor),
			 "hostname", json_text(d->hostname),
			 "ip", json_text(d->ip),
			 "bss", json_text(d->bss),
			 "vlan", d->vlan > 0 ? json_integer(d->vlan) : json_null(),
			 "connected", d->connected,
			 "first_seen", json_time(d->first_seen),
			 "last_seen", json_time(d->last_seen),
			 "decided_by", json_text(d->decided_by),
			 "decided_via", json_text(d->decided_via),
			 "decided_at", json_time(d->decided_at));

	if (j) {
		json_object_set_new(j, "dhcp_hostname", json_text(d->dhcp_hostname));
		json_object_set_new(j, "dhcp_vendor_class", json_text(d->dhcp_vendor_class));
		json_object_set_new(j, "dhcp_options", json_text(d->dhcp_options));
		json_object_set_new(j, "reserved_ip", json_text(d->reserved_ip));
		/* repair gave up on it: onboarding until a person decides */
		json_object_set_new(j, "held_since", json_time(d->held_at));
		json_object_set_new(j, "port", json_text(d->port));
		/* its own key: which one, never the key itself */
		json_object_set_new(j, "keyid", json_text(d->psk_keyid));
		/* what its user said on the captive page (not a decision) */
		json_object_set_new(j, "claim_name", json_text(d->claim_name));
		json_object_set_new(j, "claim_owner", json_text(d->claim_owner));
		json_object_set_new(j, "claim_class", json_text(reg_class_name(d->claim_cls)));
		json_object_set_new(j, "claimed_at", json_time(d->claim_at));
	}
	return j;
}

static json_t *event_json(const struct reg_event *e)
{
	return json_pack("{s:I, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o}",
			 "id", (json_int_t)e->id,
			 "ts", json_time(e->ts),
			 "kind", e->kind,
			 "action", e->action,
			 "mac", json_text(e->mac),
			 "bss", json_text(e->bss),
			 "actor", json_text(e->actor),
			 "via", json_text(e->via),
			 "detail", json_text(e->detail));
}

/* errno -> the error object's code (STYLE 5: translated once, here). */
static const char *errno_code(int err)
{
	switch (err) {
	case ENOENT: return "not_found";
	case EINVAL: return "invalid_argument";
	case EBUSY: return "busy";
	case ENOSPC: return "no_space";
	case ENOMEM: return "no_memory";
	case EPROTO: return "protocol";
	case E2BIG: return "too_large";
	case EPERM: return "permission_denied";
	case EALREADY: return "already";
	case ENOTSUP: return "not_supported";
	default: return "internal";
	}
}

static json_t *err_reply(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *err_reply(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:{s:s, s:o}}", "ok", 0, "error", "code", code, "message", json_text(msg));
}

static json_t *errno_reply(int r, const char *what)
{
	return err_reply(errno_code(-r), "%s: %s", what, strerror(-r));
}

static json_t *ok_reply(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static void send_json(struct client *cl, json_t *j)
{
	char *s;

	if (!j) {
		evbuffer_add_printf(bufferevent_get_output(cl->bev),
				    "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"reply could not be built\"}}\n");
		return;
	}
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (!s)
		return;
	evbuffer_add(bufferevent_get_output(cl->bev), s, strlen(s));
	evbuffer_add(bufferevent_get_output(cl->bev), "\n", 1);
	free(s);
}

/* ---- verbs ---- */

static const char *get_str(json_t *req, const char *key)
{
	json_t *v = json_object_get(req, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Checks that key is absent or a string of at most max bytes. */
static json_t *check_str(json_t *req, const char *key, size_t max)
{
	json_t *v = json_object_get(req, key);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		return err_reply("invalid_argument", "'%s' must be a string", key);
	if (json_string_length(v) > max)
		return err_reply("invalid_argument", "'%s' is longer than %zu bytes", key, max);
	return NULL;
}

static json_t *need_mac(json_t *req, char out[MAC_STR_LEN])
{
	const char *m = get_str(req, "mac");

	if (!m)
		return err_reply("invalid_argument", "'mac' is required");
	if (mac_canon(m, out) < 0)
		return err_reply("invalid_argument",
				 "'%.40s' is not a MAC address (use aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff)", m);
	return NULL;
}

static void bss_status_cb(const struct ctl_bss_status *st, void *ud)
{
	json_array_append_new(ud, json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I}",
					    "ifname", st->ifname, "zone", cfg_zone_name(st->zone),
					    "attached", st->attached,
					    "events", (json_int_t)st->events,
					    "unknown", (json_int_t)st->unknown,
					    "malformed", (json_int_t)st->malformed,
					    "reconnects", (json_int_t)st->reconnects,
					    "timeouts", (json_int_t)st->timeouts));
}

static int count_alert(const struct reg_alert *a, void *ud)
{
	(void)a;
	(*(int *)ud)++;
	return 0;
}

static json_t *verb_status(struct client *cl, json_t *req)
{
	struct reg *reg = ctl_reg(cl->adm->ctl);
	unsigned counts[REG_STATE_COUNT] = { 0 };
	struct ctl_stats st;
	json_t *bss = json_array(), *devs = json_object();
	int r;

	(void)req;
	r = reg_count(reg, counts);
	if (r < 0) {
		json_decref(bss);
		json_decref(devs);
		return errno_reply(r, "registry");
	}
	for (unsigned i = 0; i < REG_STATE_COUNT; i++)
		json_object_set_new(devs, reg_state_name((enum reg_state)i), json_integer(counts[i]));
	ctl_foreach_bss(cl->adm->ctl, bss_status_cb, bss);
	ctl_get_stats(cl->adm->ctl, &st);
	int open_alerts = 0;
	r = reg_alerts(reg, false, 0, count_alert, &open_alerts);
	json_t *j = json_pack("{s:b, s:s, s:i, s:o, s:I, s:o, s:{s:s, s:i, s:o}, s:o, s:{s:I, s:I, s:f, s:f, s:f, s:f}}",
			 "ok", 1,
			 "version", APGATE_VERSION,
			 "pid", (int)getpid(),
			 "config", json_str_or_null(cl->adm->cfg_path),
			 "uptime_s", (json_int_t)((util_now_ms() - st.started_ms) / 1000),
			 "started", json_time(st.started_ms),
			 "registry", "path", reg_path(reg), "schema", reg_schema_version(reg), "devices", devs,
			 "bss", bss,
			 "events", "applied", (json_int_t)st.applied, "failed", (json_int_t)st.failed,
			 "p50_us", st.p50_us, "p99_us", st.p99_us, "max_us", st.max_us, "window_ms", st.window_ms);
	if (j) {
		json_object_set_new(j, "repair", json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:f}",
			"checks", (json_int_t)st.repair_checks, "fixes", (json_int_t)st.repair_fixes,
			"held", (json_int_t)st.repair_holds, "steers", (json_int_t)st.repair_steers,
			"btm_responses", (json_int_t)st.repair_btm_resps,
			"fix_p50_us", st.fix_p50_us, "fix_p99_us", st.fix_p99_us));
		json_object_set_new(j, "ports", json_pack("{s:I}", "moves", (json_int_t)st.port_moves));
		json_object_set_new(j, "alerts_open", r < 0 ? json_null() : json_integer(open_alerts));
	}
	return j;
}

static int list_cb(const struct reg_device *d, void *ud)
{
	return json_array_append_new(ud, device_json(d)) == 0 ? 0 : -ENOMEM;
}

static json_t *verb_devices(struct client *cl, json_t *req)
{
	const char *s = get_str(req, "state");
	enum reg_state st;
	json_t *arr;
	int r;

	if (json_object_get(req, "state") && !json_is_null(json_object_get(req, "state")) && !s)
		return err_reply("invalid_argument", "'state' must be a string");
	if (s && reg_state_parse(s, &st) < 0)
		return err_reply("invalid_argument", "'%.40s' is not a state (pending, approved, blocked, guest)", s);
	arr = json_array();
	r = reg_list(ctl_reg(cl->adm->ctl), s ? &st : NULL, list_cb, arr);
	if (r < 0) {
		json_decref(arr);
		return errno_reply(r, "registry");
	}
	return json_pack("{s:b, s:o}", "ok", 1, "devices", arr);
}

static int event_cb(const struct reg_event *e, void *ud)
{
	return json_array_append_new(ud, event_json(e)) == 0 ? 0 : -ENOMEM;
}

static json_t *verb_show(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	struct reg_device *d = NULL;
	json_t *err, *dj, *ev;
	int r;

	if ((err = need_mac(req, mac)))
		return err;
	r = reg_get(ctl_reg(cl->adm->ctl), mac, &d);
	if (r == -ENOENT)
		return err_reply("not_found", "no device %s in the registry", mac);
	if (r < 0)
		return errno_reply(r, "registry");
	dj = device_json(d);
	reg_device_free(d);
	ev = json_array();
	r = reg_events_mac(ctl_reg(cl->adm->ctl), mac, 50, event_cb, ev);
	if (r < 0) {
		json_decref(ev);
		json_decref(dj);
		return errno_reply(r, "registry");
	}
	json_object_set_new(dj, "events", ev);
	return json_pack("{s:b, s:o}", "ok", 1, "device", dj);
}

static json_t *decision_reply(int r, const char *mac)
{
	if (r == -ENOENT)
		return err_reply("not_found", "no device %s in the registry", mac);
	if (r < 0)
		return errno_reply(r, "decision not stored");
	return ok_reply();
}

static json_t *key_json(const struct ctl_key *k)
{
	char *uri = qr_wifi_uri(k->ssid, k->passphrase);
	json_t *j = json_pack("{s:s, s:s, s:o, s:s, s:o}", "keyid", k->keyid, "passphrase", k->passphrase,
			      "ssid", json_text(k->ssid), "bss", k->bss, "wifi_uri", json_str_or_null(uri));

	if (uri)
		explicit_bzero(uri, strlen(uri));
	free(uri);
	return j;
}

/* Why no key could be issued, in words. */
static const char *key_why(int r)
{
	switch (r) {
	case -ENOTSUP: return "no work BSS with ppsk = yes and an ssid is configured";
	case -EPERM: return "only approved business devices get their own key";
	case -ENOENT: return "no such device in the registry";
	default: return strerror(-r);
	}
}

static json_t *key_error(int r)
{
	return json_pack("{s:s, s:s}", "code", errno_code(-r), "message", key_why(r));
}

static json_t *verb_approve(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	const char *as = get_str(req, "as"), *type = get_str(req, "type");
	struct reg_approval a = { .label = get_str(req, "label"), .owner = get_str(req, "owner") };
	struct reg_actor who = { cl->user, "cli" };
	json_t *err;

	if ((err = need_mac(req, mac)) || (err = check_str(req, "label", MAX_TEXT)) ||
	    (err = check_str(req, "owner", MAX_TEXT)) || (err = check_str(req, "type", 32)))
		return err;
	if (!as || reg_class_parse(as, &a.cls) < 0 || a.cls == REG_CLASS_NONE)
		return err_reply("invalid_argument", "'as' must be business or personal");
	if (type && reg_type_parse(type, &a.type) < 0)
		return err_reply("invalid_argument",
				 "'%.32s' is not a device type (pc, phone, tablet, printer, pos, payment, signage, other)", type);
	json_t *j = decision_reply(ctl_approve(cl->adm->ctl, mac, &a, &who), mac);
	if (json_is_true(json_object_get(j, "ok")) && json_is_true(json_object_get(req, "key"))) {
		struct ctl_key k;
		int r = ctl_issue_key(cl->adm->ctl, mac, &who, &k);
		if (r < 0) /* the approval stands; say why there is no key */
			json_object_set_new(j, "key_error", key_error(r));
		else
			json_object_set_new(j, "key", key_json(&k));
		explicit_bzero(&k, sizeof(k));
	}
	return j;
}



static json_t *verb_block(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	struct reg_actor who = { cl->user, "cli" };
	json_t *err;

	if ((err = need_mac(req, mac)))
		return err;
	return decision_reply(ctl_block(cl->adm->ctl, mac, &who), mac);
}

static json_t *verb_forget(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	struct reg_actor who = { cl->user, "cli" };
	json_t *err;

	if ((err = need_mac(req, mac)))
		return err;
	return decision_reply(ctl_forget(cl->adm->ctl, mac, &who), mac);
}

static json_t *verb_key(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	struct reg_actor who = { cl->user, "cli" };
	struct ctl_key k;
	json_t *err, *j;
	int r;

	if ((err = need_mac(req, mac)))
		return err;
	r = ctl_issue_key(cl->adm->ctl, mac, &who, &k);
	if (r < 0)
		return err_reply(errno_code(-r), "no key for %s: %s", mac, key_why(r));
	j = json_pack("{s:b, s:o}", "ok", 1, "key", key_json(&k));
	explicit_bzero(&k, sizeof(k));
	return j;
}

static json_t *verb_revoke(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	struct reg_actor who = { cl->user, "cli" };
	json_t *err;
	int r;

	if ((err = need_mac(req, mac)))
		return err;
	r = ctl_revoke_key(cl->adm->ctl, mac, &who);
	if (r == -EALREADY)
		return err_reply("already", "%s has no key of its own", mac);
	return decision_reply(r, mac);
}

static json_t *verb_release(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	struct reg_actor who = { cl->user, "cli" };
	json_t *err;
	int r;

	if ((err = need_mac(req, mac)))
		return err;
	r = ctl_release(cl->adm->ctl, mac, &who);
	if (r == -EALREADY)
		return err_reply("already", "%s is not held", mac);
	return decision_reply(r, mac);
}

static int alert_cb(const struct reg_alert *a, void *ud)
{
	json_t *j = json_pack("{s:I, s:o, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)a->id, "ts", json_time(a->ts),
			      "kind", a->kind, "mac", json_text(a->mac), "message", json_text(a->message),
			      "acked_at", json_time(a->acked_at), "acked_by", json_text(a->acked_by));

	return json_array_append_new(ud, j) == 0 ? 0 : -ENOMEM;
}

static json_t *verb_alerts(struct client *cl, json_t *req)
{
	json_t *arr = json_array(), *lim = json_object_get(req, "limit");
	int r;

	if (lim && (!json_is_integer(lim) || json_integer_value(lim) < 0 || json_integer_value(lim) > 100000)) {
		json_decref(arr);
		return err_reply("invalid_argument", "'limit' must be a whole number from 0 to 100000");
	}
	r = reg_alerts(ctl_reg(cl->adm->ctl), json_is_true(json_object_get(req, "all")),
		       lim ? (unsigned)json_integer_value(lim) : 200, alert_cb, arr);
	if (r < 0) {
		json_decref(arr);
		return errno_reply(r, "registry");
	}
	return json_pack("{s:b, s:o}", "ok", 1, "alerts", arr);
}

static json_t *verb_ack(struct client *cl, json_t *req)
{
	struct reg_actor who = { cl->user, "cli" };
	json_t *id = json_object_get(req, "id");
	int r;

	if (!json_is_true(json_object_get(req, "all")) && (!json_is_integer(id) || json_integer_value(id) <= 0))
		return err_reply("invalid_argument", "'id' (an alert number) or 'all': true is required");
	r = reg_alert_ack(ctl_reg(cl->adm->ctl), json_is_integer(id) ? json_integer_value(id) : 0, &who,
			  util_now_ms());
	if (r == -ENOENT)
		return err_reply("not_found", "no open alert %lld", (long long)json_integer_value(id));
	if (r < 0)
		return errno_reply(r, "registry");
	return json_pack("{s:b, s:i}", "ok", 1, "acknowledged", r);
}

/* From dnsmasq's lease helper, which runs as root: nobody else may feed
 * the registry with leases. */
static json_t *verb_lease(struct client *cl, json_t *req)
{
	static const char *const fields[] = { "action", "mac", "ip", "hostname", "supplied_hostname",
					      "vendor_class", "requested_options", "interface" };
	struct ctl_lease l = { 0 };
	const char **slot[] = { &l.action, &l.mac, &l.ip, &l.hostname, &l.supplied_hostname,
				&l.vendor_class, &l.requested_options, &l.interface };
	json_t *err;
	int r;

	if (cl->uid != 0 && cl->uid != getuid())
		return err_reply("permission_denied", "lease events are accepted only from dnsmasq's lease helper (root)");
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if ((err = check_str(req, fields[i], 4096)))
			return err;
		*slot[i] = get_str(req, fields[i]);
	}
	l.data_missing = json_is_true(json_object_get(req, "data_missing"));
	r = ctl_lease(cl->adm->ctl, &l);
	if (r == -EINVAL)
		return err_reply("invalid_argument", "a lease needs action add|old|del, a MAC and an IP address");
	if (r < 0)
		return errno_reply(r, "lease not stored");
	return ok_reply();
}

static json_t *verb_reserve(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	struct reg_actor who = { cl->user, "cli" };
	json_t *err, *ipj = json_object_get(req, "ip");
	const char *ip = json_string_value(ipj);
	int r;

	if ((err = need_mac(req, mac)))
		return err;
	if (!ipj || (!json_is_null(ipj) && !ip))
		return err_reply("invalid_argument", "'ip' is required: an IPv4 address, or null to clear");
	r = ctl_reserve(cl->adm->ctl, mac, ip, &who);
	if (r == -EINVAL || r == -EDOM)
		return err_reply("invalid_argument",
				 "'%.40s' is not an address inside a zone's subnet (and not its gateway)", ip ? ip : "");
	if (r == -EEXIST)
		return err_reply("conflict", "%s is already reserved for another device", ip);
	return decision_reply(r, mac);
}

/* ---- portal users (the hash is stored, never returned or logged) ---- */

static json_t *user_error(int r, const char *name)
{
	switch (r) {
	case -EEXIST:
		return err_reply("conflict", "user %.32s exists", name);
	case -ENOENT:
		return err_reply("not_found", "no user %.32s", name);
	case -EPERM:
		return err_reply("permission_denied",
				 "%.32s is the last admin: make another user admin first", name);
	case -EINVAL:
		return err_reply("invalid_argument",
				 "a user name is 1-32 of A-Z a-z 0-9 . _ - and the hash an argon2id string "
				 "from crypto_pwhash_str ($argon2id$...)");
	default:
		return errno_reply(r, "user not stored");
	}
}

/* name (required) and, when role_key, a role (default approver). */
static json_t *need_user(json_t *req, const char **name, const char *role_key, enum reg_role *role)
{
	json_t *err;
	const char *r;

	if ((err = check_str(req, "name", 64)))
		return err;
	if (!(*name = get_str(req, "name")))
		return err_reply("invalid_argument", "'name' is required");
	if (!role_key)
		return NULL;
	if ((err = check_str(req, role_key, 16)))
		return err;
	r = get_str(req, role_key);
	*role = REG_ROLE_APPROVER;
	if (r && reg_role_parse(r, role) < 0)
		return err_reply("invalid_argument", "'role' must be admin or approver");
	return NULL;
}

static json_t *need_hash(json_t *req, const char **hash)
{
	json_t *err;

	if ((err = check_str(req, "hash", 256)))
		return err;
	if (!(*hash = get_str(req, "hash")))
		return err_reply("invalid_argument", "'hash' is required (crypto_pwhash_str output)");
	return NULL;
}

static json_t *verb_user_add(struct client *cl, json_t *req)
{
	struct reg_actor who = { cl->user, "cli" };
	const char *name, *hash;
	enum reg_role role;
	json_t *err;
	int r;

	if ((err = need_user(req, &name, "role", &role)) || (err = need_hash(req, &hash)))
		return err;
	r = reg_user_add(ctl_reg(cl->adm->ctl), name, role, hash, &who, util_now_ms());
	return r < 0 ? user_error(r, name) : ok_reply();
}

static json_t *verb_user_passwd(struct client *cl, json_t *req)
{
	struct reg_actor who = { cl->user, "cli" };
	const char *name, *hash;
	json_t *err;
	int r;

	if ((err = need_user(req, &name, NULL, NULL)) || (err = need_hash(req, &hash)))
		return err;
	r = reg_user_set_hash(ctl_reg(cl->adm->ctl), name, hash, &who, util_now_ms());
	return r < 0 ? user_error(r, name) : ok_reply();
}

static json_t *verb_user_role(struct client *cl, json_t *req)
{
	struct reg_actor who = { cl->user, "cli" };
	const char *name;
	enum reg_role role;
	json_t *err;
	int r;

	if ((err = need_user(req, &name, "role", &role)))
		return err;
	if (!get_str(req, "role"))
		return err_reply("invalid_argument", "'role' is required: admin or approver");
	r = reg_user_set_role(ctl_reg(cl->adm->ctl), name, role, &who, util_now_ms());
	return r < 0 ? user_error(r, name) : ok_reply();
}

static json_t *verb_user_del(struct client *cl, json_t *req)
{
	struct reg_actor who = { cl->user, "cli" };
	const char *name;
	json_t *err;
	int r;

	if ((err = need_user(req, &name, NULL, NULL)))
		return err;
	r = reg_user_del(ctl_reg(cl->adm->ctl), name, &who, util_now_ms());
	return r < 0 ? user_error(r, name) : ok_reply();
}

static int user_cb(const struct reg_user *u, void *ud)
{
	json_t *j = json_pack("{s:o, s:s, s:o, s:o}", "name", json_text(u->name), "role",
			      reg_role_name(u->role), "created_at", json_time(u->created_at),
			      "last_login", json_time(u->last_login));

	return json_array_append_new(ud, j) == 0 ? 0 : -ENOMEM;
}

static json_t *verb_user_list(struct client *cl, json_t *req)
{
	json_t *arr = json_array();
	int r;

	(void)req;
	r = reg_users(ctl_reg(cl->adm->ctl), user_cb, arr);
	if (r < 0) {
		json_decref(arr);
		return errno_reply(r, "registry");
	}
	return json_pack("{s:b, s:o}", "ok", 1, "users", arr);
}

static void follow_cb(void *ud);

static json_t *verb_events(struct client *cl, json_t *req)
{
	json_t *since = json_object_get(req, "since"), *limit = json_object_get(req, "limit");
	json_t *follow = json_object_get(req, "follow");
	struct reg *reg = ctl_reg(cl->adm->ctl);
	json_int_t s = 0, l = 20;
	json_t *arr;
	int r;

	if ((since && !json_is_integer(since)) || (limit && !json_is_integer(limit)) ||
	    (follow && !json_is_boolean(follow)))
		return err_reply("invalid_argument", "'since' and 'limit' must be integers, 'follow' a boolean");
	if (since)
		s = json_integer_value(since);
	if (limit)
		l = json_integer_value(limit);
	if (s < 0 || l < 0 || l > 100000)
		return err_reply("invalid_argument", "'since' must be >= 0 and 'limit' from 0 to 100000");
	arr = json_array();
	r = reg_events(reg, s, (unsigned)l, event_cb, arr);
	if (r < 0) {
		json_decref(arr);
		return errno_reply(r, "registry");
	}
	if (json_is_true(follow) && !cl->watch_id) {
		size_t n = json_array_size(arr);
		cl->follow_last = n ? json_integer_value(json_object_get(json_array_get(arr, n - 1), "id"))
				    : reg_last_event_id(reg);
		if (cl->follow_last < s)
			cl->follow_last = s;
		cl->watch_id = ctl_watch_add(cl->adm->ctl, follow_cb, cl, NULL);
		if (!cl->watch_id) {
			json_decref(arr);
			return err_reply("no_memory", "cannot follow");
		}
		/* a follower is not idle while it waits for events */
		bufferevent_set_timeouts(cl->bev, NULL, NULL);
	}
	return json_pack("{s:b, s:o}", "ok", 1, "events", arr);
}

static json_t *verb_ping(struct client *cl, json_t *req)
{
	(void)cl;
	(void)req;
	return json_pack("{s:b, s:b}", "ok", 1, "pong", 1);
}

static const struct {
	const char *name;
	json_t *(*fn)(struct client *cl, json_t *req);
} verbs[] = {
	{ "ping", verb_ping },
	{ "status", verb_status },
	{ "devices", verb_devices },
	{ "show", verb_show },
	{ "approve", verb_approve },
	{ "block", verb_block },
	{ "forget", verb_forget },
	{ "events", verb_events },
	{ "lease", verb_lease },
	{ "reserve", verb_reserve },
	{ "key", verb_key },
	{ "revoke", verb_revoke },
	{ "release", verb_release },
	{ "alerts", verb_alerts },
	{ "ack", verb_ack },
	{ "user_add", verb_user_add },
	{ "user_passwd", verb_user_passwd },
	{ "user_role", verb_user_role },
	{ "user_del", verb_user_del },
	{ "user_list", verb_user_list },
};

static json_t *dispatch(struct client *cl, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req, *reply = NULL;
	const char *cmd;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		return err_reply("bad_json", "not JSON: %s (at column %d)", jerr.text, jerr.column);
	if (!json_is_object(req)) {
		json_decref(req);
		return err_reply("bad_request", "a request is a JSON object with a \"cmd\" string");
	}
	cmd = get_str(req, "cmd");
	if (!cmd) {
		json_decref(req);
		return err_reply("bad_request", "a request is a JSON object with a \"cmd\" string");
	}
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (strcmp(verbs[i].name, cmd) == 0) {
			reply = verbs[i].fn(cl, req);
			break;
		}
	}
	if (!reply)
		reply = err_reply("unknown_command", "unknown command '%.40s' (try: ping, status, devices, show, approve, block, forget, reserve, events, lease)", cmd);
	json_decref(req);
	return reply;
}

/* ---- connections ---- */

static void client_free(struct client *cl)
{
	struct adm *a = cl->adm;

	for (struct client **pp = &a->clients; *pp; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	a->n_clients--;
	if (cl->watch_id)
		ctl_watch_remove(a->ctl, cl->watch_id);
	if (cl->close_ev)
		event_free(cl->close_ev);
	bufferevent_free(cl->bev);
	free(cl);
}

static int follow_send(const struct reg_event *e, void *ud)
{
	struct client *cl = ud;
	json_t *j = json_pack("{s:o}", "event", event_json(e));

	send_json(cl, j);
	cl->follow_last = e->id;
	return 0;
}

static void close_now(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	client_free(ud);
}

/* A watcher may be notified from inside this very client's read callback
 * (its own approve), so it must not free the client there: stop it and
 * free it from the loop's next turn. */
static void client_close_later(struct client *cl)
{
	static const struct timeval now = { 0, 0 };

	if (cl->close_ev)
		return;
	bufferevent_disable(cl->bev, EV_READ | EV_WRITE);
	if (cl->watch_id) {
		ctl_watch_remove(cl->adm->ctl, cl->watch_id);
		cl->watch_id = 0;
	}
	cl->close_ev = evtimer_new(cl->adm->base, close_now, cl);
	if (cl->close_ev)
		evtimer_add(cl->close_ev, &now);
}

static void follow_cb(void *ud)
{
	struct client *cl = ud;

	if (evbuffer_get_length(bufferevent_get_output(cl->bev)) > MAX_OUTPUT) {
		log_warn("admin: follower %s does not read; closing", cl->user);
		client_close_later(cl);
		return;
	}
	reg_events(ctl_reg(cl->adm->ctl), cl->follow_last, 0, follow_send, cl);
}

static void client_read(struct bufferevent *bev, void *ud)
{
	struct client *cl = ud;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		if (cl->discarding) {
			struct evbuffer_ptr p = evbuffer_search(in, "\n", 1, NULL);
			if (p.pos < 0) {
				evbuffer_drain(in, evbuffer_get_length(in));
				return;
			}
			evbuffer_drain(in, (size_t)p.pos + 1);
			cl->discarding = false;
		}
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (!line) {
			if (evbuffer_get_length(in) > ADM_MAX_LINE) {
				send_json(cl, err_reply("too_large", "request line longer than %d bytes", ADM_MAX_LINE));
				cl->discarding = true;
				continue;
			}
			return;
		}
		if (len > ADM_MAX_LINE) {
			send_json(cl, err_reply("too_large", "request line longer than %d bytes", ADM_MAX_LINE));
		} else if (len > 0) {
			send_json(cl, dispatch(cl, line, len));
		}
		free(line);
		if (cl->close_ev)
			return;
		if (evbuffer_get_length(bufferevent_get_output(bev)) > MAX_OUTPUT) {
			log_warn("admin: client %s does not read its replies; closing", cl->user);
			client_free(cl);
			return;
		}
	}
}

static void client_event(struct bufferevent *bev, short what, void *ud)
{
	struct client *cl = ud;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("admin: client %s idle; closing", cl->user);
	else if (what & BEV_EVENT_ERROR)
		log_debug("admin: client %s: %s", cl->user, strerror(errno));
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		client_free(cl);
}

static void peer_name(int fd, char *out, size_t size, uid_t *uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *res = NULL;
	char buf[1024];

	*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		util_strlcpy(out, "unknown", size);
		return;
	}
	*uid = cred.uid;
	if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		util_strlcpy(out, res->pw_name, size);
	else
		snprintf(out, size, "uid %u", (unsigned)cred.uid);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *ud)
{
	struct adm *a = ud;
	struct client *cl;
	struct timeval idle = { IDLE_TIMEOUT_S, 0 };

	(void)l;
	(void)sa;
	(void)salen;
	if (a->n_clients >= ADM_MAX_CLIENTS) {
		static const char busy[] = "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":\"too many admin connections\"}}\n";
		ssize_t w = write(fd, busy, sizeof(busy) - 1);
		(void)w;
		close(fd);
		log_warn("admin: connection refused, %d already open", ADM_MAX_CLIENTS);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return;
	}
	cl->adm = a;
	peer_name(fd, cl->user, sizeof(cl->user), &cl->uid);
	cl->bev = bufferevent_socket_new(a->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!cl->bev) {
		close(fd);
		free(cl);
		return;
	}
	/* Never buffer more than one maximal line plus a little. */
	bufferevent_setwatermark(cl->bev, EV_READ, 0, ADM_MAX_LINE + 4096);
	bufferevent_setcb(cl->bev, client_read, NULL, client_event, cl);
	bufferevent_set_timeouts(cl->bev, &idle, NULL);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	cl->next = a->clients;
	a->clients = cl;
	a->n_clients++;
}

static int socket_in_use(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return 0;
	util_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return r;
}

int adm_new(struct event_base *base, struct ctl *ctl, const struct adm_cfg *cfg, struct adm **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct adm *a;
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(cfg->path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	if (lstat(cfg->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("admin socket %s exists and is not a socket", cfg->path);
			return -EEXIST;
		}
		if (socket_in_use(cfg->path)) {
			log_err("admin socket %s: another apgated is answering there", cfg->path);
			return -EADDRINUSE;
		}
		unlink(cfg->path);
	}
	util_strlcpy(sun.sun_path, cfg->path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r < 0) {
		r = -errno;
		log_err("admin socket %s: bind: %s", cfg->path, strerror(-r));
		close(fd);
		return r;
	}
	if (cfg->group) {
		struct group gr, *res = NULL;
		char buf[1024];
		if (getgrnam_r(cfg->group, &gr, buf, sizeof(buf), &res) != 0 || !res) {
			log_err("admin socket: no group '%s'", cfg->group);
			close(fd);
			unlink(cfg->path);
			return -ENOENT;
		}
		if (chown(cfg->path, (uid_t)-1, res->gr_gid) < 0)
			log_warn("admin socket: chown to group %s: %s", cfg->group, strerror(errno));
	}
	if (chmod(cfg->path, (mode_t)cfg->mode) < 0)
		log_warn("admin socket: chmod %o: %s", cfg->mode, strerror(errno));

	a = calloc(1, sizeof(*a));
	if (!a) {
		close(fd);
		unlink(cfg->path);
		return -ENOMEM;
	}
	a->base = base;
	a->ctl = ctl;
	a->path = strdup(cfg->path);
	a->cfg_path = cfg->cfg_path ? strdup(cfg->cfg_path) : NULL;
	if (listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		adm_free(a);
		return r;
	}
	a->listener = evconnlistener_new(base, on_accept, a, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!a->listener) {
		close(fd);
		adm_free(a);
		return -ENOMEM;
	}
	log_info("admin socket listening on %s (mode %04o)", cfg->path, cfg->mode);
	*out = a;
	return 0;
}

void adm_free(struct adm *a)
{
	if (!a)
		return;
	while (a->clients)
		client_free(a->clients);
	if (a->listener) {
		evconnlistener_free(a->listener);
		unlink(a->path);
	}
	free(a->path);
	free(a->cfg_path);
	free(a);
}
