#include "adm.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <net/if.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "io/notify.h"
#include "front/captive.h"
#include "front/staff.h"
#include "io/fw.h"
#include "log.h"
#include "model/guess.h"
#include "model/oui.h"
#include "model/policy.h"
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
	const struct captive *captive; /* borrowed, may be NULL (adm_set_portal) */
	const struct staff *staff;
};

/* ---- JSON helpers ---- */

static json_t *json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
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
		size_t k = util_utf8_len(p, SIZE_MAX);
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
		/* the risky-service check: when it last ran, how many it found */
		json_object_set_new(j, "checked_at", json_time(d->checked_at));
		json_object_set_new(j, "n_findings", json_integer(d->n_findings));
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
	case EADDRNOTAVAIL: return "no_address";
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

/* ---- health: the "health" part of the status reply ----
 *
 * Each check has a name (the part), a level and one plain sentence that
 * says what was seen and, for a problem, what to do. Everything is read
 * without changing anything: hostapd's clients' state, dnsmasq's pid file
 * and /proc, the kernel's rules read back through the firewall module, the
 * registry's files, the portal's sockets, sysfs for the guest bridge. */

enum hlevel { H_OK, H_WARN, H_PROBLEM };
static const char *const hlevel_names[] = { "ok", "warn", "problem" };

struct health {
	json_t *checks;
	unsigned warnings, problems;
	const struct cfg *cfg;
};

/* Adds a check; returns it (borrowed, for details) or NULL. */
static json_t *check_add(struct health *h, const char *name, enum hlevel lv, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static json_t *check_add(struct health *h, const char *name, enum hlevel lv, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *c;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (lv == H_WARN)
		h->warnings++;
	else if (lv == H_PROBLEM)
		h->problems++;
	c = json_pack("{s:s, s:s, s:o}", "name", name, "level", hlevel_names[lv], "message", json_text(msg));
	if (!c || json_array_append_new(h->checks, c) < 0)
		return NULL;
	return c;
}

static void human_size(long long n, char *out, size_t size)
{
	if (n < 1024)
		snprintf(out, size, "%lld B", n);
	else if (n < 1024 * 1024)
		snprintf(out, size, "%.1f KiB", (double)n / 1024);
	else if (n < 1024LL * 1024 * 1024)
		snprintf(out, size, "%.1f MiB", (double)n / (1024 * 1024));
	else
		snprintf(out, size, "%.1f GiB", (double)n / (1024.0 * 1024 * 1024));
}

/* hostapd: one check per BSS client. */
static void health_bss(const struct ctl_bss_status *st, void *ud)
{
	struct health *h = ud;
	char path[PATH_MAX];
	struct stat sb;
	json_t *c;

	snprintf(path, sizeof(path), "%s/%s", h->cfg->ctrl_dir, st->ifname);
	if (st->attached)
		c = check_add(h, "hostapd", H_OK, "%s (%s BSS): attached to %s; %lu events, %lu reconnects",
			      st->ifname, cfg_zone_name(st->zone), path, st->events, st->reconnects);
	else if (stat(path, &sb) < 0)
		c = check_add(h, "hostapd", H_PROBLEM,
			      "%s (%s BSS): not attached: no hostapd control socket at %s (is hostapd running, "
			      "with ctrl_interface=%s?); apgated attaches by itself when it appears",
			      st->ifname, cfg_zone_name(st->zone), path, h->cfg->ctrl_dir);
	else
		c = check_add(h, "hostapd", H_PROBLEM,
			      "%s (%s BSS): not attached: %s exists but hostapd does not answer there (stopped "
			      "uncleanly or starting, or apgated may not use it: ctrl_interface_group)",
			      st->ifname, cfg_zone_name(st->zone), path);
	json_object_update_missing_new(c, json_pack("{s:s, s:s, s:s, s:b, s:I, s:I}", "bss", st->ifname,
						    "zone", cfg_zone_name(st->zone), "socket", path,
						    "attached", st->attached, "events", (json_int_t)st->events,
						    "reconnects", (json_int_t)st->reconnects));
}

/* Process start as seconds since the epoch, from /proc (-1 unknown). */
static long long proc_start_s(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long start = 0, btime = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p)
		return -1;
	p++;
	for (int field = 3; field < 22 && p; field++) /* starttime is field 22 */
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return -1;
	if (!(f = fopen("/proc/stat", "r")))
		return -1;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	long tck = sysconf(_SC_CLK_TCK);
	if (!btime || tck <= 0)
		return -1;
	return (long long)(btime + start / (unsigned long long)tck);
}

/* dnsmasq (when apgated writes its files): the conf in place, the pid
 * file's process alive and named dnsmasq, started after the conf. */
static void health_dnsmasq(struct health *h)
{
	const struct cfg *cfg = h->cfg;
	struct stat conf;
	char comm[32] = "";
	long pid = 0;
	json_t *c;
	FILE *f;

	if (stat(cfg->dnsmasq_conf, &conf) < 0) {
		c = check_add(h, "dnsmasq", H_PROBLEM,
			      "apgated's dnsmasq configuration %s is missing (%s): apgated writes it at start and "
			      "retries after a failure (see the journal)", cfg->dnsmasq_conf, strerror(errno));
		goto details;
	}
	f = fopen(cfg->dnsmasq_pid, "r");
	if (!f) {
		c = check_add(h, "dnsmasq", H_PROBLEM,
			      "dnsmasq is not running: no pid file %s (start the dnsmasq that reads %s; devices "
			      "get no addresses meanwhile)", cfg->dnsmasq_pid, cfg->dnsmasq_conf);
		goto details;
	}
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0 || pid > INT_MAX)
		pid = 0;
	fclose(f);
	if (!pid) {
		c = check_add(h, "dnsmasq", H_PROBLEM, "dnsmasq's pid file %s does not hold a pid", cfg->dnsmasq_pid);
		goto details;
	}
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
		c = check_add(h, "dnsmasq", H_PROBLEM,
			      "dnsmasq is not running: pid %ld from %s is gone (start the dnsmasq that reads %s; "
			      "devices get no addresses meanwhile)", pid, cfg->dnsmasq_pid, cfg->dnsmasq_conf);
		goto details;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	if ((f = fopen(path, "r"))) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	if (comm[0] && strcmp(comm, "dnsmasq") != 0) {
		c = check_add(h, "dnsmasq", H_PROBLEM,
			      "pid %ld from %s is \"%s\", not dnsmasq: the pid file is stale (is dnsmasq running?)",
			      pid, cfg->dnsmasq_pid, comm);
		goto details;
	}
	long long started = proc_start_s((pid_t)pid);
	/* 2 s of slack: btime has whole seconds */
	if (started > 0 && (long long)conf.st_mtime > started + 2)
		c = check_add(h, "dnsmasq", H_WARN,
			      "dnsmasq (pid %ld) started before apgated last changed %s: restart dnsmasq so that "
			      "it reads it (it reads its configuration only when it starts)", pid, cfg->dnsmasq_conf);
	else
		c = check_add(h, "dnsmasq", H_OK, "running (pid %ld); apgated's configuration %s in place", pid,
			      cfg->dnsmasq_conf);
details:
	json_object_update_missing_new(c, json_pack("{s:s, s:s, s:o}", "conf_file", cfg->dnsmasq_conf,
						    "pid_file", cfg->dnsmasq_pid,
						    "pid", pid ? json_integer(pid) : json_null()));
}

static const char *fam_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

#define FW_FIX "reload apgated (systemctl reload apgated, or SIGHUP) to rebuild apgate's rules now; with [network] fw_check_interval on it restores them by itself"

/* The firewall: every APGATE_ chain of the plan present, hooked at
 * position 1 and with the plan's number of rules, read back from the
 * kernel. */
static void health_fw(struct health *h, struct fw *fw)
{
	struct fw_check *chk = calloc(1, sizeof(*chk));
	json_t *chains = json_array(), *issues = json_array(), *c;
	enum hlevel worst = H_OK;
	unsigned n_planned = 0, rules = 0;
	char first[512] = "";
	int r;

	if (!chk || !chains || !issues) {
		free(chk);
		json_decref(chains);
		json_decref(issues);
		check_add(h, "firewall", H_PROBLEM, "cannot check: out of memory");
		return;
	}
	r = fw_check(fw, chk);
	if (r == -ENOENT) {
		check_add(h, "firewall", H_PROBLEM,
			  "apgate's rules are not in place: building them failed, apgated retries every 2 s "
			  "(see the journal)");
		goto out;
	}
	if (r == -EPIPE || r == -ECONNRESET) {
		check_add(h, "firewall", H_PROBLEM,
			  "the privileged helper (apgated-priv) is gone: no firewall or port change can be made; "
			  "restart apgated");
		goto out;
	}
	if (r < 0) {
		check_add(h, "firewall", H_PROBLEM, "cannot read the rules back from the kernel: %s", strerror(-r));
		goto out;
	}
	for (unsigned i = 0; i < chk->n; i++) {
		const struct fw_check_chain *k = &chk->chains[i];
		char what[512] = "";
		enum hlevel lv = H_OK;

		if (k->planned) {
			n_planned++;
			rules += k->rules;
		}
		if (k->planned && !k->present) {
			lv = H_PROBLEM;
			snprintf(what, sizeof(what), "%s missing in %s (%s): " FW_FIX, k->chain, k->table,
				 fam_name(k->family));
		} else if (k->planned && k->hook && !k->hook_pos) {
			lv = H_PROBLEM;
			snprintf(what, sizeof(what), "%s in %s (%s) is not hooked: no jump to it from %s: " FW_FIX,
				 k->chain, k->table, fam_name(k->family), k->hook);
		} else if (k->planned && k->rules != k->want_rules) {
			lv = H_PROBLEM;
			snprintf(what, sizeof(what), "%s in %s (%s) has %u rules, apgated's plan %u: " FW_FIX,
				 k->chain, k->table, fam_name(k->family), k->rules, k->want_rules);
		} else if (k->planned && k->hook && k->hook_pos > 1) {
			lv = H_WARN;
			snprintf(what, sizeof(what),
				 "the jump from %s to %s in %s (%s) is rule %u, not 1: the rules above it decide first "
				 "(a reload of apgated puts it first again)",
				 k->hook, k->chain, k->table, fam_name(k->family), k->hook_pos);
		} else if (!k->planned) {
			lv = H_WARN;
			snprintf(what, sizeof(what),
				 "%s in %s (%s) is not in apgated's plan (left over; a reload of apgated removes it)",
				 k->chain, k->table, fam_name(k->family));
		}
		if (lv > worst)
			worst = lv;
		if (what[0]) {
			json_array_append_new(issues, json_text(what));
			if (!first[0])
				util_strlcpy(first, what, sizeof(first));
		}
		json_array_append_new(chains, json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:I, s:I, s:o, s:s}",
			"family", k->family == AF_INET ? "ipv4" : "ipv6", "table", k->table, "chain", k->chain,
			"hook", json_str_or_null(k->hook), "planned", k->planned, "present", k->present,
			"rules", (json_int_t)k->rules, "planned_rules", (json_int_t)k->want_rules,
			"hook_position", k->hook_pos ? json_integer(k->hook_pos) : json_null(),
			"level", hlevel_names[lv]));
	}
	size_t n_issues = json_array_size(issues);
	if (worst == H_OK)
		c = check_add(h, "firewall", H_OK, "%u APGATE_ chains in place and hooked (IPv4 and IPv6), %u rules",
			      n_planned, rules);
	else if (n_issues > 1)
		c = check_add(h, "firewall", worst, "%s (and %zu more)", first, n_issues - 1);
	else
		c = check_add(h, "firewall", worst, "%s", first);
	json_object_set(c, "chains", chains);
	json_object_set(c, "issues", issues);
out:
	json_decref(chains);
	json_decref(issues);
	free(chk);
}

static long long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void health_registry(struct health *h, struct reg *reg, const unsigned counts[REG_STATE_COUNT])
{
	const char *path = reg_path(reg);
	char wal[PATH_MAX], sz[32], wsz[32], dir[PATH_MAX];
	long long size = file_size(path), wsize;
	unsigned total = 0;
	struct statvfs vfs;
	json_t *c;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	wsize = file_size(wal);
	human_size(size < 0 ? 0 : size, sz, sizeof(sz));
	human_size(wsize < 0 ? 0 : wsize, wsz, sizeof(wsz));
	for (unsigned i = 0; i < REG_STATE_COUNT; i++)
		total += counts[i];
	util_strlcpy(dir, path, sizeof(dir));
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		util_strlcpy(dir, ".", sizeof(dir));
	long long avail = statvfs(dir, &vfs) == 0 ? (long long)vfs.f_bavail * (long long)vfs.f_frsize : -1;
	if (size < 0) {
		c = check_add(h, "registry", H_PROBLEM, "%s: cannot stat the file: %s", path, strerror(errno));
	} else if (avail >= 0 && avail < 32LL * 1024 * 1024) {
		char fr[32];
		human_size(avail, fr, sizeof(fr));
		c = check_add(h, "registry", H_WARN, "%s: only %s free on its file system: decisions fail once it is full",
			      path, fr);
	} else {
		c = check_add(h, "registry", H_OK, "%s: %s (+ %s WAL), schema %d, %u devices (%u pending, %u approved, "
			      "%u blocked, %u guest)", path, sz, wsz, reg_schema_version(reg), total,
			      counts[REG_PENDING], counts[REG_APPROVED], counts[REG_BLOCKED], counts[REG_GUEST]);
	}
	json_object_update_missing_new(c, json_pack("{s:s, s:I, s:I, s:i, s:I}", "path", path,
		"size", (json_int_t)(size < 0 ? 0 : size), "wal_size", (json_int_t)(wsize < 0 ? 0 : wsize),
		"schema", reg_schema_version(reg), "devices", (json_int_t)total));
	if (avail >= 0)
		json_object_set_new(c, "free", json_integer(avail));
}

/* What the portal listens on, as a list and as text. */
struct listen_acc {
	json_t *arr;
	char text[512];
};

static void listen_add(struct listen_acc *l, const struct sockaddr_in *sa, const char *scheme)
{
	char ip[INET_ADDRSTRLEN];
	size_t n = strlen(l->text);

	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
	json_array_append_new(l->arr, json_pack("{s:s, s:i, s:s}", "address", ip, "port", ntohs(sa->sin_port),
						"scheme", scheme));
	snprintf(l->text + n, sizeof(l->text) - n, "%s%s://%s:%u", n ? ", " : "", scheme, ip,
		 (unsigned)ntohs(sa->sin_port));
}

static void captive_cb(const struct sockaddr_in *sa, void *ud)
{
	listen_add(ud, sa, "http");
}

static void staff_cb(const struct sockaddr_in *sa, bool tls, void *ud)
{
	listen_add(ud, sa, tls ? "https" : "http");
}

/* Days until the certificate in path expires (negative: expired) and the
 * date; -ENOENT/-EINVAL when it cannot be read. */
static int cert_days(const char *path, int *days, char *date, size_t size)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	struct tm tm;
	int d, sec;

	if (!f)
		return -errno;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		return -EINVAL;
	const ASN1_TIME *na = X509_get0_notAfter(x);
	int ok = ASN1_TIME_diff(&d, &sec, NULL, na) && ASN1_TIME_to_tm(na, &tm);
	X509_free(x);
	if (!ok)
		return -EINVAL;
	*days = d - (sec < 0 && d <= 0);
	strftime(date, size, "%Y-%m-%d", &tm);
	return 0;
}

static void health_portal(struct health *h, const struct adm *a)
{
	const struct cfg *cfg = h->cfg;
	struct listen_acc l = { .arr = json_array() };
	json_t *c;

	if (a->captive || cfg->enforce) {
		captive_listening(a->captive, captive_cb, &l);
		if (json_array_size(l.arr))
			c = check_add(h, "portal", H_OK, "captive page listening on %s", l.text);
		else
			c = check_add(h, "portal", H_PROBLEM,
				      "the captive page listens nowhere: devices waiting for approval see no page");
		json_object_set_new(c, "face", json_string("captive"));
		json_object_set(c, "listening", l.arr);
	}
	json_decref(l.arr);
	l = (struct listen_acc){ .arr = json_array() };
	bool want_staff = cfg->portal.enabled && (cfg->zones[CFG_ZONE_WORK].present || cfg->portal.n_staff_listen);
	if (a->staff || want_staff) {
		char date[16] = "";
		int days = 0, cr = -ENOENT;

		staff_listening(a->staff, staff_cb, &l);
		if (a->staff && cfg->portal.cert && *cfg->portal.cert)
			cr = cert_days(cfg->portal.cert, &days, date, sizeof(date));
		if (!json_array_size(l.arr))
			c = check_add(h, "portal", H_PROBLEM, "the staff portal listens nowhere");
		else if (cr == 0 && days < 0)
			c = check_add(h, "portal", H_PROBLEM,
				      "staff portal on %s: its certificate %s expired on %s: browsers refuse it (replace "
				      "it, or remove it and its key and restart apgated for a new self-signed one)",
				      l.text, cfg->portal.cert, date);
		else if (cr == 0 && days < 30)
			c = check_add(h, "portal", H_WARN,
				      "staff portal on %s: its certificate %s expires on %s, in %d days (replace it, or "
				      "remove it and its key and restart apgated for a new self-signed one)",
				      l.text, cfg->portal.cert, date, days);
		else if (cr == 0)
			c = check_add(h, "portal", H_OK, "staff portal listening on %s; certificate valid until %s",
				      l.text, date);
		else
			c = check_add(h, "portal", H_OK, "staff portal listening on %s", l.text);
		json_object_set_new(c, "face", json_string("staff"));
		json_object_set(c, "listening", l.arr);
		if (cr == 0)
			json_object_set_new(c, "cert_expires", json_string(date));
	}
	json_decref(l.arr);
}

/* sysfs: 1 the interface is a bridge, 0 not, -errno missing. */
static int is_bridge(const char *ifname)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	if (stat(path, &st) < 0)
		return -errno;
	snprintf(path, sizeof(path), "/sys/class/net/%s/bridge", ifname);
	return stat(path, &st) == 0;
}

/* Guests never reach each other. On Wi-Fi that is hostapd's ap_isolate,
 * which hostapd 2.10 cannot report (its GET knows only "version" and
 * "tls_library"; GET_CONFIG and STATUS leave it out), so it is said to be
 * unverified. Between ports of a guest bridge it is each port's isolated
 * flag (what io/nl.c sets), read from sysfs. */
static void health_guest_isolation(struct health *h)
{
	const struct cfg *cfg = h->cfg;
	const struct cfg_zone_net *g = &cfg->zones[CFG_ZONE_GUEST];
	char bss[128] = "";
	json_t *c;

	for (unsigned i = 0; i < cfg->n_bss; i++) {
		size_t n = strlen(bss);
		if (cfg->bss[i].zone == CFG_ZONE_GUEST)
			snprintf(bss + n, sizeof(bss) - n, "%s%s", n ? ", " : "", cfg->bss[i].ifname);
	}
	if (!bss[0] && !g->present)
		return;
	const char *unverified = "client isolation (ap_isolate) not verified: hostapd 2.10 does not report it "
				 "(GET knows only version and tls_library); apgate-hostapd-conf writes "
				 "ap_isolate=1, check a hand-written hostapd.conf";
	int br = g->present ? is_bridge(g->ifname) : 0;
	if (br <= 0) {
		c = check_add(h, "guest_isolation", H_OK, "%s%s%s", bss, bss[0] ? ": " : "", unverified);
		json_object_set_new(c, "verified", json_false());
		return;
	}
	char dirpath[PATH_MAX], open_ports[256] = "";
	unsigned n_ports = 0, n_open = 0;
	snprintf(dirpath, sizeof(dirpath), "/sys/class/net/%s/brif", g->ifname);
	DIR *d = opendir(dirpath);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char path[PATH_MAX], v[8] = "";
		FILE *f;
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/isolated", dirpath, de->d_name) >= (int)sizeof(path) ||
		    !(f = fopen(path, "r")))
			continue;
		if (!fgets(v, sizeof(v), f))
			v[0] = '\0';
		fclose(f);
		n_ports++;
		if (v[0] != '1') {
			size_t n = strlen(open_ports);
			n_open++;
			if (snprintf(open_ports + n, sizeof(open_ports) - n, "%s%s", n ? ", " : "", de->d_name) < 0)
				open_ports[n] = '\0';
		}
	}
	if (d)
		closedir(d);
	if (n_open)
		c = check_add(h, "guest_isolation", H_PROBLEM,
			      "guest bridge %s: port(s) %s not isolated: guests on them can reach each other "
			      "(apgated isolates every port itself; see the journal)", g->ifname, open_ports);
	else
		c = check_add(h, "guest_isolation", H_OK, "guest bridge %s: all %u ports isolated; %s", g->ifname,
			      n_ports, unverified);
	json_object_set_new(c, "verified", json_false());
	json_object_set_new(c, "bridge_ports", json_integer(n_ports));
	json_object_set_new(c, "bridge_ports_open", json_integer(n_open));
}

/* Misconfigurations that show from here. */
static void health_config(struct health *h)
{
	const struct cfg *cfg = h->cfg;

	for (unsigned i = 0; i < cfg->n_bss; i++)
		for (unsigned j = 0; j < cfg->n_bss; j++) {
			const struct cfg_bss *w = &cfg->bss[i], *g = &cfg->bss[j];
			if (w->zone == CFG_ZONE_WORK && g->zone == CFG_ZONE_GUEST && w->ssid && g->ssid &&
			    strcmp(w->ssid, g->ssid) == 0)
				check_add(h, "config", H_WARN,
					  "work BSS %s and guest BSS %s have the same SSID \"%s\": people cannot tell "
					  "them apart; give the guest network its own name", w->ifname, g->ifname,
					  w->ssid);
		}
	if (!cfg->enforce)
		return;
	if (cfg->uplink && !if_nametoindex(cfg->uplink))
		check_add(h, "config", H_PROBLEM, "the uplink %s does not exist: no device reaches the internet "
			  "([network] uplink)", cfg->uplink);
	for (int z = 0; z < CFG_N_ZONES; z++) {
		const struct cfg_zone_net *zn = &cfg->zones[z];
		if (zn->present && !if_nametoindex(zn->ifname))
			check_add(h, "config", H_PROBLEM, "the %s zone's interface %s does not exist: its devices get "
				  "no address and no portal ([zone %s] interface)", cfg_zone_name((enum cfg_zone)z),
				  zn->ifname, cfg_zone_name((enum cfg_zone)z));
	}
}

/* Where alerts go besides the registry: a webhook that keeps failing or
 * alerts dropped from a full queue need a look. */
static void health_alerts(struct health *h, struct ctl *ctl)
{
	struct notify_stats n;
	char mail[96] = "";
	long long now = util_now_ms();

	memset(&n, 0, sizeof(n));
	ctl_alert_delivery(ctl, &n);
	if (!n.webhook && !n.mail)
		return;
	if (n.mail)
		snprintf(mail, sizeof(mail), "%smail: %lu sent, %lu failed", n.webhook ? "; " : "", n.mails_sent,
			 n.mails_failed);
	if (n.webhook && n.queued && n.attempt)
		check_add(h, "alerts", H_WARN, "webhook: %u alert%s waiting, %u failed attempt%s (%s), next in %lld s%s",
			  n.queued, n.queued == 1 ? "" : "s", n.attempt, n.attempt == 1 ? "" : "s",
			  n.last_error[0] ? n.last_error : "no answer",
			  n.next_retry_ms > now ? (n.next_retry_ms - now + 999) / 1000 : 0, mail);
	else if (n.dropped || n.mails_dropped)
		check_add(h, "alerts", H_WARN, "%lu alert%s dropped from a full delivery queue (see the journal)%s",
			  n.dropped + n.mails_dropped, n.dropped + n.mails_dropped == 1 ? "" : "s", mail);
	else if (n.webhook)
		check_add(h, "alerts", H_OK, "webhook: %lu delivered, %u waiting%s", n.delivered, n.queued, mail);
	else
		check_add(h, "alerts", H_OK, "%s", mail);
}

/* DNS protection: the blocklist in force and the query log followed. */
static void health_dns(struct health *h, struct ctl *ctl)
{
	struct ctl_dns_status d;

	memset(&d, 0, sizeof(d));
	ctl_dns_status(ctl, &d);
	if (!d.blocking && d.domains)
		check_add(h, "dns_blocking", H_WARN, "%u domain%s listed but not applied through dnsmasq (see the journal)",
			  d.domains, d.domains == 1 ? "" : "s");
	else if (!d.blocking)
		check_add(h, "dns_blocking", H_OK, "nothing blocked: no blocklist found (%s/blocklist.txt, "
			  "[policies] blocklist_local)", h->cfg->policies.dir);
	else if (!d.following)
		check_add(h, "dns_blocking", H_OK, "%u domain%s blocked; dnsmasq's query log is not read, so blocked "
			  "look-ups are not named per device ([dnsmasq] query_log)", d.domains, d.domains == 1 ? "" : "s");
	else
		check_add(h, "dns_blocking", H_OK, "%u domain%s blocked; %lu blocked look-up%s since start", d.domains,
			  d.domains == 1 ? "" : "s", d.blocked, d.blocked == 1 ? "" : "s");
}

static json_t *health_json(struct adm *a, struct reg *reg, const unsigned counts[REG_STATE_COUNT])
{
	const struct ctl_enforcers *enf = ctl_enforcers(a->ctl);
	struct health h = { .checks = json_array(), .cfg = ctl_cfg(a->ctl) };

	if (!h.checks)
		return json_null();
	ctl_foreach_bss(a->ctl, health_bss, &h);
	if (h.cfg->enforce && enf->dnsmasq)
		health_dnsmasq(&h);
	if (h.cfg->enforce && enf->fw)
		health_fw(&h, enf->fw);
	health_registry(&h, reg, counts);
	health_portal(&h, a);
	health_guest_isolation(&h);
	if (h.cfg->enforce && enf->dnsmasq && h.cfg->policies.dns_blocking)
		health_dns(&h, a->ctl);
	health_alerts(&h, a->ctl);
	health_config(&h);
	return json_pack("{s:s, s:I, s:I, s:o}", "status",
			 hlevel_names[h.problems ? H_PROBLEM : h.warnings ? H_WARN : H_OK],
			 "problems", (json_int_t)h.problems, "warnings", (json_int_t)h.warnings, "checks", h.checks);
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
		json_object_set_new(j, "firewall", json_pack("{s:I, s:I, s:I, s:o}",
			"check_interval_s", (json_int_t)st.fw_check_interval_s, "checks", (json_int_t)st.fw_checks,
			"restores", (json_int_t)st.fw_restores,
			"last_restore", st.fw_last_restore_ms ? json_time(st.fw_last_restore_ms) : json_null()));
		json_object_set_new(j, "alerts_open", r < 0 ? json_null() : json_integer(open_alerts));
		json_object_set_new(j, "health", health_json(cl->adm, reg, counts));
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

static int show_extra(struct ctl *c, const struct reg_device *d, json_t *dj);

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
	r = dj ? show_extra(cl->adm->ctl, d, dj) : -ENOMEM;
	reg_device_free(d);
	if (r < 0) {
		json_decref(dj);
		return errno_reply(r, "registry");
	}
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
	if (r == -ENOSPC)
		return err_reply("no_space", "decision not stored: the registry's file system is full; "
			       "free some space, then try again");
	if (r == -EBUSY)
		return err_reply("busy", "decision not stored: the registry is locked by another program; "
			       "try again");
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

/* ---- issue 8: suggestion, findings, the check, unmanaged MACs, blocked
 * look-ups, the inventory ---- */

/* What to do about an open risky service, in plain words. */
static const char *finding_advice(const char *service)
{
	static const struct {
		const char *service, *advice;
	} advice[] = {
		{ "telnet", "Telnet sends passwords unencrypted: turn it off in the device's settings, or ask its supplier to." },
		{ "ftp", "FTP sends passwords unencrypted: turn it off, or ask the supplier for a secure way to transfer files." },
		{ "smb", "Windows file sharing is open: share only what is needed, protect it with a password and keep the device updated." },
		{ "rdp", "Remote desktop is open: turn it off unless your IT support needs it, and use a strong password." },
		{ "vnc", "Remote screen access (VNC) is open: turn it off, or set a strong password." },
		{ "http-admin", "An admin web page is open: change its default password, and turn it off if nobody needs it." },
		{ "upnp", "UPnP is on: turn it off in the device's settings; it lets programs open the network without asking." },
	};

	for (size_t i = 0; service && i < ARRAY_SIZE(advice); i++)
		if (!strcmp(service, advice[i].service))
			return advice[i].advice;
	return "An unexpected service is open: ask the device's supplier whether it is needed.";
}

static json_t *guess_json(struct ctl *c, const struct reg_device *d)
{
	struct guess g;
	json_t *reasons = json_array();

	memset(&g, 0, sizeof(g));
	ctl_guess(c, d, &g);
	for (unsigned i = 0; i < g.n_reasons && i < GUESS_MAX_REASONS; i++)
		json_array_append_new(reasons, json_pack("{s:s, s:o}", "code", guess_reason_name(g.reasons[i].code),
							 "arg", json_text(g.reasons[i].arg)));
	return json_pack("{s:o, s:o, s:o, s:o, s:o}", "type", json_str_or_null(reg_type_name(g.type)),
			 "class", json_str_or_null(reg_class_name(g.cls)), "os", json_text(g.os[0] ? g.os : NULL),
			 "summary", json_text(g.summary[0] ? g.summary : NULL), "reasons", reasons);
}

static json_t *finding_json(const struct reg_finding *f)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:s}", "port", (json_int_t)f->port, "service", json_text(f->service),
			 "detail", json_text(f->detail), "found_at", json_time(f->found_at),
			 "advice", finding_advice(f->service));
}

static int finding_cb(const struct reg_finding *f, void *ud)
{
	return json_array_append_new(ud, finding_json(f)) == 0 ? 0 : -ENOMEM;
}

static json_t *dns_block_json(const struct reg_dns_block *b)
{
	return json_pack("{s:o, s:o, s:o, s:I, s:o, s:o}", "mac", json_text(b->mac), "ip", json_text(b->ip),
			 "domain", json_text(b->domain), "count", (json_int_t)b->count,
			 "first_at", json_time(b->first_at), "last_at", json_time(b->last_at));
}

static int dns_block_cb(const struct reg_dns_block *b, void *ud)
{
	return json_array_append_new(ud, dns_block_json(b)) == 0 ? 0 : -ENOMEM;
}

/* The extra parts of "show": the suggestion, the findings with advice and
 * the blocked look-ups. */
static int show_extra(struct ctl *c, const struct reg_device *d, json_t *dj)
{
	json_t *f = json_array(), *b = json_array();
	int r;

	json_object_set_new(dj, "suggestion", guess_json(c, d));
	r = reg_findings(ctl_reg(c), d->mac, finding_cb, f);
	if (r == 0)
		r = reg_dns_blocks(ctl_reg(c), d->mac, 50, dns_block_cb, b);
	json_object_set_new(dj, "findings", f);
	json_object_set_new(dj, "dns_blocks", b);
	return r;
}

static json_t *verb_check(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	struct reg_actor who = { cl->user, "cli" };
	struct reg_device *d = NULL;
	json_t *err;
	int64_t before;
	int r;

	if ((err = need_mac(req, mac)))
		return err;
	r = reg_get(ctl_reg(cl->adm->ctl), mac, &d);
	if (r == -ENOENT)
		return err_reply("not_found", "no device %s in the registry", mac);
	if (r < 0)
		return errno_reply(r, "registry");
	before = d->checked_at;
	reg_device_free(d);
	r = ctl_check_device(cl->adm->ctl, mac, &who);
	switch (r) {
	case 0:
		break;
	case -ENOENT:
		return err_reply("not_found", "no device %s in the registry", mac);
	case -EADDRNOTAVAIL:
		return err_reply("no_address", "%s has no address inside the shop's zones to check", mac);
	case -ENOTSUP:
		return err_reply("not_supported", "checks are turned off ([checks] in apgate.conf)");
	case -EALREADY:
		return err_reply("already", "a check of %s is already queued or running", mac);
	default:
		return errno_reply(r, "check not queued");
	}
	/* checked_at before: the caller waits for it to change */
	return json_pack("{s:b, s:b, s:s, s:o}", "ok", 1, "queued", 1, "mac", mac, "checked_before",
			 json_time(before));
}

struct unm_walk {
	struct ctl *ctl;
	json_t *arr;
};

static json_t *unmanaged_json(struct ctl *c, const struct reg_unmanaged *u)
{
	struct mac m;
	const char *vendor = mac_parse(u->mac, &m) == 0 ? oui_lookup(ctl_oui(c), &m) : NULL;

	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "mac", json_text(u->mac), "vendor", json_text(vendor),
			 "where", json_text(u->where), "ip", json_text(u->ip), "first_seen", json_time(u->first_seen),
			 "last_seen", json_time(u->last_seen), "private",
			 mac_parse(u->mac, &m) == 0 && mac_is_local(&m));
}

static int unm_cb(const struct reg_unmanaged *u, void *ud)
{
	struct unm_walk *w = ud;

	return json_array_append_new(w->arr, unmanaged_json(w->ctl, u)) == 0 ? 0 : -ENOMEM;
}

static json_t *verb_unmanaged(struct client *cl, json_t *req)
{
	struct unm_walk w = { cl->adm->ctl, json_array() };
	int r;

	(void)req;
	r = reg_unmanaged_list(ctl_reg(cl->adm->ctl), unm_cb, &w);
	if (r < 0) {
		json_decref(w.arr);
		return errno_reply(r, "registry");
	}
	return json_pack("{s:b, s:o}", "ok", 1, "unmanaged", w.arr);
}

static json_t *verb_dns_blocks(struct client *cl, json_t *req)
{
	char mac[MAC_STR_LEN];
	json_t *arr, *err, *lim = json_object_get(req, "limit");
	int r;

	if (get_str(req, "mac") && (err = need_mac(req, mac)))
		return err;
	if (lim && (!json_is_integer(lim) || json_integer_value(lim) < 0 || json_integer_value(lim) > 100000))
		return err_reply("invalid_argument", "'limit' must be a whole number from 0 to 100000");
	arr = json_array();
	r = reg_dns_blocks(ctl_reg(cl->adm->ctl), get_str(req, "mac") ? mac : NULL,
			   lim ? (unsigned)json_integer_value(lim) : 200, dns_block_cb, arr);
	if (r < 0) {
		json_decref(arr);
		return errno_reply(r, "registry");
	}
	return json_pack("{s:b, s:o}", "ok", 1, "dns_blocks", arr);
}

/* The inventory: every device with what people need to count and find it,
 * the unmanaged MACs, and counts by type and zone. */
struct inv {
	struct ctl *ctl;
	json_t *findings;  /* mac -> ["telnet/23", ...] */
	json_t *devices;
	json_t *by_type, *by_zone;
};

static int inv_finding_cb(const struct reg_finding *f, void *ud)
{
	struct inv *v = ud;
	json_t *a = json_object_get(v->findings, f->mac);
	char s[64];

	if (!a) {
		a = json_array();
		if (json_object_set_new(v->findings, f->mac, a) < 0)
			return -ENOMEM;
	}
	snprintf(s, sizeof(s), "%.40s/%u", f->service ? f->service : "?", f->port);
	return json_array_append_new(a, json_text(s)) == 0 ? 0 : -ENOMEM;
}

static void count_up(json_t *o, const char *key)
{
	json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + 1));
}

static int inv_device_cb(const struct reg_device *d, void *ud)
{
	struct inv *v = ud;
	const char *type = reg_type_name(d->type), *zone = policy_access_name(policy_access(d));
	bool guessed = false;
	char tbuf[40];
	json_t *svc = json_object_get(v->findings, d->mac), *j;

	if (!type) {
		struct guess g;
		memset(&g, 0, sizeof(g));
		ctl_guess(v->ctl, d, &g);
		type = reg_type_name(g.type);
		guessed = type != NULL;
	}
	snprintf(tbuf, sizeof(tbuf), "%s%s", type ? type : "unknown", guessed ? "?" : "");
	j = json_pack("{s:s, s:o, s:o, s:s, s:b, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:o}",
		      "mac", d->mac, "label", json_text(d->label),
		      "hostname", json_text(d->hostname ? d->hostname : d->dhcp_hostname), "type", tbuf,
		      "type_guessed", guessed, "zone", zone, "state", reg_state_name(d->state),
		      "vendor", json_text(d->vendor), "ip", json_text(d->ip), "first_seen", json_time(d->first_seen),
		      "last_seen", json_time(d->last_seen), "owner", json_text(d->owner),
		      "checked_at", json_time(d->checked_at), "findings", svc ? json_incref(svc) : json_array(),
		      "n_findings", (json_int_t)(svc ? json_array_size(svc) : d->n_findings), "managed", 1,
		      "where", json_text(d->bss ? d->bss : d->port));
	if (!j)
		return -ENOMEM;
	count_up(v->by_type, type ? type : "unknown");
	count_up(v->by_zone, zone);
	return json_array_append_new(v->devices, j) == 0 ? 0 : -ENOMEM;
}

static int inv_unmanaged_cb(const struct reg_unmanaged *u, void *ud)
{
	struct inv *v = ud;
	json_t *j = unmanaged_json(v->ctl, u);

	if (!j)
		return -ENOMEM;
	json_object_set_new(j, "label", json_null());
	json_object_set_new(j, "hostname", json_null());
	json_object_set_new(j, "type", json_string("unknown"));
	json_object_set_new(j, "type_guessed", json_false());
	json_object_set_new(j, "zone", json_string("unmanaged"));
	json_object_set_new(j, "state", json_string("unmanaged"));
	json_object_set_new(j, "owner", json_null());
	json_object_set_new(j, "checked_at", json_null());
	json_object_set_new(j, "findings", json_array());
	json_object_set_new(j, "n_findings", json_integer(0));
	json_object_set_new(j, "managed", json_false());
	count_up(v->by_type, "unknown");
	count_up(v->by_zone, "unmanaged");
	return json_array_append_new(v->devices, j) == 0 ? 0 : -ENOMEM;
}

static json_t *verb_inventory(struct client *cl, json_t *req)
{
	struct reg *reg = ctl_reg(cl->adm->ctl);
	struct inv v = { .ctl = cl->adm->ctl, .findings = json_object(), .devices = json_array(),
			 .by_type = json_object(), .by_zone = json_object() };
	size_t n_unmanaged;
	int r;

	(void)req;
	r = reg_findings(reg, NULL, inv_finding_cb, &v);
	if (r == 0)
		r = reg_list(reg, NULL, inv_device_cb, &v);
	n_unmanaged = json_array_size(v.devices);
	if (r == 0)
		r = reg_unmanaged_list(reg, inv_unmanaged_cb, &v);
	n_unmanaged = json_array_size(v.devices) - n_unmanaged;
	json_decref(v.findings);
	if (r < 0) {
		json_decref(v.devices);
		json_decref(v.by_type);
		json_decref(v.by_zone);
		return errno_reply(r, "registry");
	}
	return json_pack("{s:b, s:o, s:o, s:{s:I, s:I, s:o, s:o}}", "ok", 1, "generated", json_time(util_now_ms()),
			 "devices", v.devices, "counts", "total", (json_int_t)json_array_size(v.devices),
			 "unmanaged", (json_int_t)n_unmanaged, "by_type", v.by_type, "by_zone", v.by_zone);
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
	{ "check", verb_check },
	{ "unmanaged", verb_unmanaged },
	{ "dns_blocks", verb_dns_blocks },
	{ "inventory", verb_inventory },
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
		reply = err_reply("unknown_command", "unknown command '%.40s' (try: ping, status, devices, show, approve, block, forget, reserve, events, alerts, check, unmanaged, dns_blocks, inventory)", cmd);
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

void adm_set_portal(struct adm *a, const struct captive *c, const struct staff *s)
{
	a->captive = c;
	a->staff = s;
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
