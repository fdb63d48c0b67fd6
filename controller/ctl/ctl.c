#include "ctl_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "io/dnsm.h"
#include "io/fw.h"
#include "io/hapd.h"
#include "log.h"
#include "mac.h"
#include "model/oui.h"
#include "model/policy.h"
#include "util.h"

#define ENFORCE_RETRY_MS 2000
#define CTL_OBS_RETRY_MS 3000 /* hostapd's list asked again after a failed record */

/* ---- watchers ---- */

static void watch_compact(struct ctl *c)
{
	unsigned k = 0;

	for (unsigned i = 0; i < c->n_watch; i++) {
		if (c->watches[i].removed)
			continue;
		c->watches[k++] = c->watches[i];
	}
	c->n_watch = k;
}

void ctl_notify(struct ctl *c)
{
	c->notifying++;
	/* n_watch is re-read each round: a watcher added now is told too. */
	for (unsigned i = 0; i < c->n_watch; i++)
		if (!c->watches[i].removed)
			c->watches[i].cb(c->watches[i].ud);
	if (--c->notifying == 0)
		watch_compact(c);
}

unsigned ctl_watch_add(struct ctl *c, ctl_watch_cb cb, void *ud, void (*destroy)(void *))
{
	if (c->n_watch == c->cap_watch) {
		unsigned cap = c->cap_watch ? c->cap_watch * 2 : 8;
		struct watch *w = realloc(c->watches, cap * sizeof(*w));
		if (!w)
			return 0;
		c->watches = w;
		c->cap_watch = cap;
	}
	if (++c->next_watch_id == 0)
		c->next_watch_id = 1;
	c->watches[c->n_watch++] = (struct watch){ c->next_watch_id, cb, ud, destroy, false };
	return c->next_watch_id;
}

void ctl_watch_remove(struct ctl *c, unsigned id)
{
	for (unsigned i = 0; i < c->n_watch; i++) {
		struct watch *w = &c->watches[i];
		if (w->id != id || w->removed)
			continue;
		w->removed = true;
		if (w->destroy)
			w->destroy(w->ud);
		break;
	}
	if (!c->notifying)
		watch_compact(c);
}

/* ---- enforcement: registry -> enforcers ---- */

static enum fw_verdict fw_verdict_of(enum policy_access a)
{
	switch (a) {
	case POLICY_WORK: return FW_WORK;
	case POLICY_GUEST: return FW_GUEST;
	case POLICY_BLOCKED: return FW_BLOCKED;
	default: return FW_ONBOARDING;
	}
}

/* What every enforcer needs from the registry, in one walk: the devices
 * whose access is not onboarding (they are the only ones with rules or
 * host lines). */
struct decided {
	struct fw_dev *fw;          /* v FW_ONBOARDING: only a reservation */
	struct dnsm_host *hosts;
	char (*macs)[MAC_STR_LEN];
	char (*ips)[16];            /* reserved address, "" for none */
	unsigned n, cap;
};

static void decided_free(struct decided *l)
{
	free(l->fw);
	free(l->hosts);
	free(l->macs);
	free(l->ips);
}

static int collect_decided(const struct reg_device *d, void *ud)
{
	struct decided *l = ud;
	enum policy_access a = policy_access(d);
	struct mac m;

	if ((a == POLICY_ONBOARDING && !d->reserved_ip) || mac_parse(d->mac, &m) < 0)
		return 0;
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 256;
		struct fw_dev *f = realloc(l->fw, cap * sizeof(*f));
		if (f)
			l->fw = f;
		struct dnsm_host *h = realloc(l->hosts, cap * sizeof(*h));
		if (h)
			l->hosts = h;
		char(*mm)[MAC_STR_LEN] = realloc(l->macs, cap * sizeof(*mm));
		if (mm)
			l->macs = mm;
		char(*ii)[16] = realloc(l->ips, cap * sizeof(*ii));
		if (ii)
			l->ips = ii;
		if (!f || !h || !mm || !ii)
			return -ENOMEM;
		l->cap = cap;
	}
	memcpy(l->fw[l->n].mac, m.b, 6);
	l->fw[l->n].v = fw_verdict_of(a);
	mac_format(&m, l->macs[l->n]);
	util_strlcpy(l->ips[l->n], d->reserved_ip ? d->reserved_ip : "", sizeof(l->ips[l->n]));
	l->n++;
	return 0;
}

/* dnsmasq's view of the zones, from the configuration. */
static void dnsm_net_of(const struct cfg *cfg, struct dnsm_net *net, struct dnsm_zone *zones)
{
	unsigned n = 0;

	for (int z = 0; z < CFG_N_ZONES; z++) {
		const struct cfg_zone_net *zn = &cfg->zones[z];
		if (!zn->present)
			continue;
		zones[n++] = (struct dnsm_zone){
			.name = cfg_zone_name((enum cfg_zone)z), .ifname = zn->ifname,
			.gateway = zn->gateway.addr, .prefix = zn->gateway.len,
			.range_lo = zn->range_lo, .range_hi = zn->range_hi,
			.lease_s = z == CFG_ZONE_ONBOARDING ? 300 : 0,
			.captive = z == CFG_ZONE_ONBOARDING,
		};
	}
	*net = (struct dnsm_net){
		.zones = zones, .n_zones = n, .script = cfg->dnsmasq_script,
		.hostsfile = cfg->dnsmasq_hosts, .leasefile = cfg->dnsmasq_leases,
		.pidfile = cfg->dnsmasq_pid, .portal_port = cfg->captive_port,
	};
}

static int cmp_mac(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Writes dnsmasq's hosts file from the decided devices; SIGHUP when it
 * changed. dnsmasq not running yet is fine: it reads the file at start.
 *
 * Blocked devices get "MAC,ignore" (no DHCP at all), reserved addresses
 * "MAC,IP"; a blocked device's reservation waits until it is unblocked.
 * Tagging approved devices ("MAC,set:work") would be the natural next
 * step, but dnsmasq 2.86-2.90 frees a dhcp-host's tag list wrongly on
 * SIGHUP and crashes once a tagged entry is replaced while leases exist
 * (dhcp_netid_free; seen here as a segfault in the lab). Zones are told
 * apart by interface, which dnsmasq tags by itself, so nothing is lost. */
static int dnsm_hosts_apply(struct ctl *c, struct decided *l)
{
	unsigned n = 0;
	int r;

	for (unsigned i = 0; i < l->n; i++) {
		if (l->fw[i].v == FW_BLOCKED)
			l->hosts[n++] = (struct dnsm_host){ .mac = l->macs[i], .ignore = true };
		else if (l->ips[i][0])
			l->hosts[n++] = (struct dnsm_host){ .mac = l->macs[i], .ip = l->ips[i] };
	}
	r = dnsm_update_hosts(NULL, c->cfg->dnsmasq_hosts, c->cfg->dnsmasq_pid, l->hosts, n);
	if (r == -ENOENT || r == -ESRCH)
		r = 0;
	if (r < 0) {
		log_err("dnsmasq: cannot update %s: %s", c->cfg->dnsmasq_hosts, strerror(-r));
		return r;
	}
	/* remember who has a line (l->macs is in registry order: sort a copy) */
	char(*hm)[MAC_STR_LEN] = realloc(c->host_macs, (n ? n : 1) * sizeof(*hm));
	if (!hm) {
		free(c->host_macs);
		c->host_macs = NULL;
		c->n_host_macs = UINT_MAX; /* unknown: always walk */
		return 0;
	}
	c->host_macs = hm;
	c->n_host_macs = n;
	for (unsigned i = 0; i < n; i++)
		util_strlcpy(hm[i], l->hosts[i].mac, MAC_STR_LEN);
	qsort(hm, n, sizeof(*hm), cmp_mac);
	return 0;
}

/* Whether mac had a line in the hosts file as last written. */
static bool had_host_line(const struct ctl *c, const char *mac)
{
	if (c->n_host_macs == UINT_MAX)
		return true;
	return c->n_host_macs &&
	       bsearch(mac, c->host_macs, c->n_host_macs, MAC_STR_LEN, cmp_mac);
}

static void retry_cb(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	ctl_enforce_all(ud);
}

static void schedule_retry(struct ctl *c)
{
	struct timeval tv = { ENFORCE_RETRY_MS / 1000, (ENFORCE_RETRY_MS % 1000) * 1000 };

	if (!c->retry_ev)
		c->retry_ev = evtimer_new(c->base, retry_cb, c);
	if (c->retry_ev && !evtimer_pending(c->retry_ev, NULL))
		evtimer_add(c->retry_ev, &tv);
}

int ctl_enforce_all(struct ctl *c)
{
	struct decided l = { 0 };
	struct fw_cidr4 lan[CFG_MAX_LAN];
	struct fw_net net;
	long long t0 = util_mono_ns();
	int r;

	if ((!c->enf.fw && !c->enf.dnsmasq) || !c->cfg->enforce)
		return 0;
	r = reg_list(c->reg, NULL, collect_decided, &l);
	if (r == 0 && c->enf.fw) {
		/* reservation-only (onboarding) devices get no firewall rule */
		struct fw_dev *fd = calloc(l.n ? l.n : 1, sizeof(*fd));
		unsigned nfd = 0;
		if (!fd) {
			decided_free(&l);
			return -ENOMEM;
		}
		for (unsigned i = 0; i < l.n; i++)
			if (l.fw[i].v != FW_ONBOARDING)
				fd[nfd++] = l.fw[i];
		fw_net_from_cfg(c->cfg, &net, lan);
		r = fw_sync(c->enf.fw, &net, fd, nfd);
		free(fd);
		if (r < 0)
			log_err("firewall: rebuild failed: %s", strerror(-r));
		else
			log_info("firewall: rebuilt from the registry (%u device rules) in %.1f ms",
				 fw_device_count(c->enf.fw), (double)(util_mono_ns() - t0) / 1e6);
	}
	if (r == 0 && c->enf.dnsmasq) {
		struct dnsm_zone zones[CFG_N_ZONES];
		struct dnsm_net dn;
		dnsm_net_of(c->cfg, &dn, zones);
		dn.servers_file = dnsblk_servers_file(c); /* the DNS blocklist, and its query log */
		dn.query_log = dnsblk_query_log(c);
		int w = dnsm_write_conf(c->cfg->dnsmasq_conf, &dn);
		if (w < 0) {
			log_err("dnsmasq: cannot write %s: %s", c->cfg->dnsmasq_conf, strerror(-w));
			r = w;
		} else if (w == 1) {
			log_info("dnsmasq: wrote %s (dnsmasq reads it when it starts; restart it if it runs)",
				 c->cfg->dnsmasq_conf);
		}
		if (r == 0)
			r = dnsm_hosts_apply(c, &l);
	}
	if (r == 0)
		r = acl_write_files(c);
	if (r == 0)
		r = keys_sync(c, false);
	if (r < 0) {
		log_err("enforcement incomplete; retrying in %d ms", ENFORCE_RETRY_MS);
		schedule_retry(c);
	}
	decided_free(&l);
	return r;
}

/* ---- the firewall self-check ---- */

static const char *fam_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

/* Writes how the kernel's chain k differs from the plan into what; false
 * when it does not. */
static bool fw_differs(const struct fw_check_chain *k, char *what, size_t size)
{
	const char *fam = fam_name(k->family);

	what[0] = 0;
	if (!k->planned)
		snprintf(what, size, "%s in %s (%s) is not in the plan (left over)", k->chain, k->table, fam);
	else if (!k->present)
		snprintf(what, size, "%s in %s (%s) is missing (chain deleted)", k->chain, k->table, fam);
	else if (k->hook && !k->hook_pos)
		snprintf(what, size, "%s in %s (%s) is not hooked (jump from %s missing)", k->chain, k->table,
			 fam, k->hook);
	else if (k->rules != k->want_rules)
		snprintf(what, size, "%s in %s (%s) has %u rules, the plan %u", k->chain, k->table, fam,
			 k->rules, k->want_rules);
	else if (k->hook && k->hook_pos > 1)
		snprintf(what, size, "the jump from %s to %s in %s (%s) is rule %u, not 1", k->hook, k->chain,
			 k->table, fam, k->hook_pos);
	else if (k->hook_jumps != (k->hook ? 1u : 0u))
		snprintf(what, size, "%s in %s (%s) is jumped to %u times from built-in chains, the plan %u",
			 k->chain, k->table, fam, k->hook_jumps, k->hook ? 1u : 0u);
	return what[0] != 0;
}

/* Reads the rules back into chk; the number of differences from the plan
 * (the first described in first), or a negative errno. */
static int fw_differences(struct ctl *c, struct fw_check *chk, bool log, char *first, size_t size)
{
	char what[256];
	int n = 0;
	int r = fw_check(c->enf.fw, chk);

	if (r < 0)
		return r;
	first[0] = 0;
	for (unsigned i = 0; i < chk->n; i++) {
		if (!fw_differs(&chk->chains[i], what, sizeof(what)))
			continue;
		if (!n++)
			util_strlcpy(first, what, size);
		if (log)
			log_warn("firewall: %s; restoring", what);
	}
	return n;
}

int ctl_check_firewall(struct ctl *c)
{
	_cleanup_free_ struct fw_check *chk = NULL;
	char first[256];
	int n, r;

	if (!c->enf.fw || !c->cfg->enforce)
		return 0;
	if (c->retry_ev && evtimer_pending(c->retry_ev, NULL))
		return 0; /* a rebuild failed: its retry rebuilds everything */
	chk = malloc(sizeof(*chk));
	if (!chk)
		return -ENOMEM;
	n = fw_differences(c, chk, !c->fw_stuck, first, sizeof(first));
	if (n == -ENOENT || n == -ENOTSUP)
		return 0; /* never built (the retry is on it), or no read-back */
	if (n < 0) {
		log_warn("firewall: cannot read the rules back to check them: %s", strerror(-n));
		return n;
	}
	c->fw_checks++;
	if (c->fw_stuck) {
		if (!n) {
			log_info("firewall: the kernel's rules match the plan again");
			c->fw_stuck = false;
		}
		return 0;
	}
	if (!n)
		return 0;
	r = ctl_enforce_all(c);
	if (r < 0)
		return r; /* logged, and the retry is scheduled */
	c->fw_restores++;
	c->fw_last_restore_ms = util_now_ms();
	n = fw_differences(c, chk, false, first, sizeof(first));
	if (n > 0) {
		log_err("firewall: restored, but the kernel still differs from the plan (%s%s); not restoring "
			"again until it matches or apgated is reloaded", first, n > 1 ? ", and more" : "");
		c->fw_stuck = true;
	}
	return 1;
}

static void fw_check_cb(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	ctl_check_firewall(ud);
}

/* Arms (or re-arms, or stops) the self-check for the configuration in use:
 * only with a firewall that is enforced and an interval. */
static void fw_check_arm(struct ctl *c)
{
	unsigned s = c->enf.fw && c->cfg->enforce ? c->cfg->fw_check_interval_s : 0;
	struct timeval tv = { (time_t)s, 0 };

	if (s == c->fw_check_s)
		return;
	if (c->fw_check_ev)
		event_del(c->fw_check_ev);
	c->fw_check_s = 0;
	if (!s)
		return;
	if (!c->fw_check_ev)
		c->fw_check_ev = event_new(c->base, -1, EV_PERSIST, fw_check_cb, c);
	if (!c->fw_check_ev || event_add(c->fw_check_ev, &tv) < 0) {
		log_err("firewall: cannot start the self-check timer");
		return;
	}
	c->fw_check_s = s;
	log_debug("firewall: comparing the kernel's rules with the plan every %u s", s);
}

/* ---- hostapd commands ---- */

static void send_reply(int err, const char *reply, size_t len, void *ud)
{
	char *cmd = ud;

	(void)len;
	if (err < 0 && err != -ECANCELED)
		log_err("hostapd: %s: %s", cmd, strerror(-err));
	else if (err == 0 && strncmp(reply, "OK", 2) != 0)
		log_err("hostapd: %s: %.*s", cmd, (int)strcspn(reply, "\n"), reply);
	free(cmd);
}

void ctl_send(struct bss_client *b, const char *fmt, ...)
{
	char buf[512], *cmd;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* the reply callback names the command and the BSS in its message */
	size_t n = strlen(buf) + strlen(b->ifname) + 4;
	cmd = malloc(n);
	if (!cmd)
		return;
	snprintf(cmd, n, "%s: %s", b->ifname, buf);
	r = hapd_request(b->conn, buf, send_reply, cmd);
	if (r < 0) {
		if (r != -ENOTCONN) /* not attached: the resync sends it all */
			log_err("hostapd: %s: %s", cmd, strerror(-r));
		free(cmd);
	}
}

struct bss_client *ctl_bss_by_name(struct ctl *c, const char *ifname)
{
	for (unsigned i = 0; ifname && i < c->n_bss; i++)
		if (c->bss[i] && !strcmp(c->bss[i]->ifname, ifname))
			return c->bss[i];
	return NULL;
}

/* Brings the enforcers in line with one device's registry record (or its
 * absence: forgotten devices are onboarding again). The firewall takes the
 * fast path (one mangle commit); dnsmasq's hosts file is rewritten whole,
 * and dnsmasq signalled only if it changed. */
void ctl_enforce_device(struct ctl *c, const char *mac)
{
	struct reg_device *d = NULL;
	struct fw_dev fd = { .v = FW_ONBOARDING };
	bool wants_line = false;
	char canon[MAC_STR_LEN];
	struct mac m;
	int r;

	enum policy_access a = POLICY_ONBOARDING;

	if (!c->cfg->enforce || mac_parse(mac, &m) < 0)
		return;
	mac_format(&m, canon);
	r = reg_get(c->reg, canon, &d);
	if (r == 0) {
		a = policy_access(d);
		fd.v = fw_verdict_of(a);
		wants_line = fd.v == FW_BLOCKED || d->reserved_ip;
	}
	if (r < 0 && r != -ENOENT) {
		schedule_retry(c);
		return;
	}
	/* The firewall first: one mangle commit (< 1 ms) is what lets the
	 * device in or shuts it out, while rewriting hostapd's list files
	 * walks the registry and fsyncs up to two files per BSS (~20 ms on an
	 * SD card or a busy disk; make bench, docs/performance.md). */
	if (c->enf.fw) {
		memcpy(fd.mac, m.b, 6);
		r = fw_update_device(c->enf.fw, &fd);
		if (r < 0) {
			log_err("firewall: cannot apply the decision for %s: %s; rebuilding in %d ms", mac,
				strerror(-r), ENFORCE_RETRY_MS);
			schedule_retry(c);
		}
	}
	/* a connected station that must move is asked to (802.11v) before the
	 * deny on its BSS kicks it: repair sends that deny */
	acl_device(c, canon, a,
		   c->cfg->repair.enabled && d && d->connected && d->bss ? ctl_bss_by_name(c, d->bss) : NULL);
	acl_write_files(c);
	keys_sync(c, false);
	if (d)
		ports_on_device(c, d);
	reg_device_free(d);
	if (c->enf.dnsmasq && (wants_line || had_host_line(c, canon))) {
		struct decided l = { 0 };
		r = reg_list(c->reg, NULL, collect_decided, &l);
		if (r < 0 || dnsm_hosts_apply(c, &l) < 0)
			schedule_retry(c);
		decided_free(&l);
	}
}

/* ---- hostapd events into the registry ---- */

void lat_hist_add(struct lat_hist *h, long long ns)
{
	double us = (double)ns / 1000.0;
	unsigned b = (unsigned)(us / LAT_STEP_US);

	if (b >= LAT_BUCKETS)
		b = LAT_BUCKETS - 1;
	h->n[b]++;
	if (us > h->max_us)
		h->max_us = us;
}

static int observe(struct bss_client *b, enum reg_obs_kind kind, const char *mac, int vlan,
		   const char *keyid)
{
	struct ctl *c = b->ctl;
	const char *vendor = NULL;
	struct mac m;
	bool created = false;
	struct reg_obs o = {
		.kind = kind, .mac = mac, .bss = b->ifname, .vlan = vlan,
		.keyid = (keyid && *keyid) ? keyid : NULL,
		.initial = b->zone == CFG_ZONE_GUEST ? REG_GUEST : REG_PENDING,
		.now = util_now_ms(),
	};
	int r;

	if (c->oui && mac_parse(mac, &m) == 0)
		vendor = oui_lookup(c->oui, &m);
	o.vendor = vendor;
	r = reg_observe(c->reg, &o, &created);
	if (r < 0) {
		c->failed++;
		log_err("registry: cannot record %s of %s on %s: %s", reg_obs_name(kind), mac,
			b->ifname, strerror(-r));
		/* full, locked, I/O error: hostapd's station list, asked again
		 * later, brings back what this event said */
		if (r != -EINVAL)
			hapd_conn_resync(b->conn, CTL_OBS_RETRY_MS);
		return r;
	}
	if (created) {
		log_info("new device %s on %s (%s zone, vendor %s): %s", mac, b->ifname,
			 cfg_zone_name(b->zone), vendor ? vendor : "unknown",
			 reg_state_name(o.initial));
		if (o.initial != REG_PENDING) /* a visitor: guest access at once */
			ctl_enforce_device(c, mac);
		else
			auto_on_device(c, mac);
		alert_new_device(c, mac);
	}
	if (kind == REG_OBS_CONNECTED || kind == REG_OBS_PRESENT)
		unmanaged_on_managed(c, mac);
	return 0;
}

static void on_event(struct hapd_conn *conn, const struct hapd_ev *ev, void *ud)
{
	struct bss_client *b = ud;
	struct ctl *c = b->ctl;
	long long t0 = util_mono_ns();
	enum reg_obs_kind kind;
	int vlan = 0;

	(void)conn;
	switch (ev->type) {
	case HAPD_EV_STA_CONNECTED:
		kind = REG_OBS_CONNECTED;
		if (ev->keyid[0]) /* before observing: it may be a known device's new address */
			keys_on_connected(b, ev->mac, ev->keyid);
		break;
	case HAPD_EV_STA_DISCONNECTED:
		kind = REG_OBS_DISCONNECTED;
		break;
	case HAPD_EV_EAP_SUCCESS:
		kind = REG_OBS_EAP_SUCCESS;
		break;
	case HAPD_EV_EAP_FAILURE:
		kind = REG_OBS_EAP_FAILURE;
		break;
	case HAPD_EV_AP_ENABLED:
		log_info("hostapd: %s enabled", b->ifname);
		return;
	case HAPD_EV_AP_DISABLED:
		log_info("hostapd: %s disabled", b->ifname);
		return;
	case HAPD_EV_TERMINATING:
		log_info("hostapd: %s terminating", b->ifname);
		return;
	case HAPD_EV_BSS_TM_RESP:
		repair_on_btm_resp(b, ev->mac, ev->status_code);
		return;
	default:
		log_debug("hostapd: %s: %s %s (not acted on yet)", b->ifname, ev->name, ev->mac);
		return;
	}
	if (observe(b, kind, ev->mac, vlan, ev->keyid) == 0) {
		long long t1 = util_mono_ns();
		if (!c->applied++)
			c->first_ns = t1;
		c->last_ns = t1;
		lat_hist_add(&c->lat, t1 - t0);
	}
	if (kind == REG_OBS_CONNECTED)
		repair_on_connected(b, ev->mac);
	else if (kind == REG_OBS_DISCONNECTED)
		repair_on_disconnected(b, ev->mac);
	ctl_notify(c);
}

static void on_link(struct hapd_conn *conn, bool attached, void *ud)
{
	struct bss_client *b = ud;

	(void)conn;
	if (attached)
		log_info("hostapd: attached to %s (%s zone)", b->ifname, cfg_zone_name(b->zone));
	else
		log_warn("hostapd: lost %s; reconnecting", b->ifname);
}

static void on_resync(struct hapd_conn *conn, const struct hapd_sta *stas, unsigned n, void *ud)
{
	struct bss_client *b = ud;
	const char **macs = calloc(n ? n : 1, sizeof(*macs));
	unsigned k = 0;
	int r;

	(void)conn;
	/* hostapd's lists are lost when it restarts: every attach rebuilds them
	 * (queued before anything a decision sends from now on) */
	acl_sync_bss(b->ctl, b);
	keys_sync(b->ctl, true);
	repair_query_radio(b);
	if (!macs) {
		log_err("resync of %s: out of memory", b->ifname);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		if (!stas[i].authorized)
			continue;
		if (observe(b, REG_OBS_PRESENT, stas[i].mac, stas[i].vlan_id, stas[i].keyid) == 0)
			macs[k++] = stas[i].mac;
	}
	for (unsigned i = 0; i < n; i++)
		if (stas[i].authorized)
			repair_on_station(b, &stas[i]);
	r = reg_resync_bss(b->ctl->reg, b->ifname, macs, k, util_now_ms());
	if (r < 0)
		log_err("resync of %s: %s", b->ifname, strerror(-r));
	else
		log_info("hostapd: %s resynchronised: %u station(s) present, %d marked disconnected",
			 b->ifname, k, r);
	free(macs);
	ctl_notify(b->ctl);
}

static const struct hapd_callbacks hapd_cbs = {
	.on_event = on_event,
	.on_link = on_link,
	.on_resync = on_resync,
};

static void bss_free(struct bss_client *b)
{
	if (!b)
		return;
	hapd_conn_free(b->conn);
	free(b->ifname);
	free(b);
}

static int bss_start(struct ctl *c, const struct cfg_bss *cb, struct bss_client **out)
{
	struct bss_client *b = calloc(1, sizeof(*b));
	struct hapd_conn_cfg hc = {
		.ctrl_dir = c->cfg->ctrl_dir,
		.ifname = cb->ifname,
		.client_dir = c->cfg->client_dir,
		.ping_interval_ms = c->cfg->ping_interval_ms,
		.request_timeout_ms = c->cfg->request_timeout_ms,
		.backoff_min_ms = 100,
		.backoff_max_ms = c->cfg->backoff_max_ms,
	};
	int r;

	if (!b)
		return -ENOMEM;
	b->ctl = c;
	b->zone = cb->zone;
	b->ifname = strdup(cb->ifname);
	if (!b->ifname) {
		free(b);
		return -ENOMEM;
	}
	r = hapd_conn_new(c->base, &hc, &hapd_cbs, b, &b->conn);
	if (r < 0) {
		log_err("hostapd: cannot start client for %s: %s", cb->ifname, strerror(-r));
		bss_free(b);
		return r;
	}
	*out = b;
	return 0;
}

int ctl_set_cfg(struct ctl *c, const struct cfg *cfg)
{
	struct bss_client **nb = calloc(cfg->n_bss ? cfg->n_bss : 1, sizeof(*nb));
	int r = 0;

	if (!nb)
		return -ENOMEM;
	/* Keep clients whose BSS is still configured with the same zone. */
	for (unsigned i = 0; i < cfg->n_bss; i++) {
		for (unsigned j = 0; j < c->n_bss; j++) {
			if (c->bss[j] && strcmp(c->bss[j]->ifname, cfg->bss[i].ifname) == 0 &&
			    c->bss[j]->zone == cfg->bss[i].zone) {
				nb[i] = c->bss[j];
				c->bss[j] = NULL;
				break;
			}
		}
	}
	for (unsigned j = 0; j < c->n_bss; j++) {
		if (c->bss[j])
			log_info("hostapd: no longer watching %s", c->bss[j]->ifname);
		bss_free(c->bss[j]);
	}
	free(c->bss);
	c->bss = nb;
	c->n_bss = cfg->n_bss;
	c->cfg = cfg;
	if (c->started_ms) { /* a reload: the zones (and the work VLAN) may have changed */
		ident_reload(c);
		dnsblk_reload(c);
		alerts_reload(c);
		unmanaged_reload(c);
		c->fw_stuck = false;
		ctl_enforce_all(c);
		fw_check_arm(c);
		for (unsigned i = 0; i < cfg->n_bss; i++)
			if (nb[i]) /* kept and attached; new ones sync when they attach */
				acl_sync_bss(c, nb[i]);
	}
	for (unsigned i = 0; i < cfg->n_bss; i++) {
		if (nb[i])
			continue;
		int e = bss_start(c, &cfg->bss[i], &nb[i]);
		if (e < 0 && r == 0)
			r = e;
	}
	return r;
}

int ctl_new(struct event_base *base, const struct cfg *cfg, struct reg *reg,
	    const struct oui *oui, const struct ctl_enforcers *enf, struct ctl **out)
{
	struct ctl *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	c->base = base;
	c->reg = reg;
	c->oui = oui;
	c->cfg = cfg;
	if (enf)
		c->enf = *enf;
	c->n_host_macs = UINT_MAX; /* nothing written yet: the first decision walks */
	repair_init(c);
	check_init(c);
	/* the tables and rules before any observer reports a device */
	r = ident_init(c);
	if (r < 0) {
		ctl_free(c);
		return r;
	}
	alerts_init(c);
	dnsblk_init(c); /* before the dnsmasq config that names its file */
	/* Start-up is recovery: the network is made to match the registry
	 * before any hostapd event is heard. A failure is retried. */
	ctl_enforce_all(c);
	r = ctl_set_cfg(c, cfg);
	if (r == 0) { /* hostapd's files, now that the BSSes are known */
		acl_write_files(c);
		keys_sync(c, false);
		r = ports_init(c);
	}
	if (r == 0)
		unmanaged_init(c); /* a failure is logged; the rest works without it */
	c->started_ms = util_now_ms();
	if (r < 0) {
		ctl_free(c);
		return r;
	}
	fw_check_arm(c);
	*out = c;
	return 0;
}

void ctl_free(struct ctl *c)
{
	if (!c)
		return;
	unmanaged_free(c);
	ports_free(c);
	check_free(c);
	for (unsigned i = 0; i < c->n_bss; i++)
		bss_free(c->bss[i]);
	repair_free(c);
	ident_free(c);
	dnsblk_free(c);
	alerts_free(c);
	free(c->bss);
	if (c->retry_ev)
		event_free(c->retry_ev);
	if (c->fw_check_ev)
		event_free(c->fw_check_ev);
	free(c->host_macs);
	for (unsigned i = 0; i < c->n_watch; i++)
		if (!c->watches[i].removed && c->watches[i].destroy)
			c->watches[i].destroy(c->watches[i].ud);
	free(c->watches);
	free(c);
}

struct reg *ctl_reg(struct ctl *c) { return c->reg; }
const struct cfg *ctl_cfg(const struct ctl *c) { return c->cfg; }
const struct ctl_enforcers *ctl_enforcers(const struct ctl *c) { return &c->enf; }
const struct oui *ctl_oui(const struct ctl *c) { return c->oui; }

/* ---- decisions ---- */

static int decided(struct ctl *c, int r, const char *what, const char *mac,
		   const struct reg_actor *who)
{
	if (r < 0) {
		if (r != -ENOENT && r != -EINVAL && r != -EEXIST && r != -EALREADY)
			log_err("%s %s by %s: %s", what, mac, who->who, strerror(-r));
		return r;
	}
	log_info("%s %s by %s via %s", what, mac, who->who, who->via);
	ctl_enforce_device(c, mac);
	{
		struct reg_device *d = NULL;
		if (reg_get(c->reg, mac, &d) == 0 || !d)
			repair_on_decision(c, mac, d);
		reg_device_free(d);
	}
	ctl_notify(c);
	return 0;
}

int ctl_approve(struct ctl *c, const char *mac, const struct reg_approval *a,
		const struct reg_actor *who)
{
	char m[MAC_STR_LEN];

	if (mac_canon(mac, m) < 0)
		return -EINVAL;
	int r = reg_approve(c->reg, m, a, who, util_now_ms());
	if (r == 0)
		alert_settled(c, m, who);
	return decided(c, r, a->cls == REG_CLASS_PERSONAL ? "approved (personal)" : "approved (business)", m, who);
}

int ctl_claim(struct ctl *c, const char *mac, const struct reg_claim *cl)
{
	char m[MAC_STR_LEN];
	int r;

	if (mac_canon(mac, m) < 0)
		return -EINVAL;
	r = reg_claim(c->reg, m, cl, util_now_ms());
	if (r == 0) {
		log_info("%s says it is %s (captive page)", m,
			 cl->cls == REG_CLASS_PERSONAL ? "a personal device" :
			 cl->cls == REG_CLASS_BUSINESS ? "a business device" : "unspecified");
		ctl_notify(c);
	}
	return r;
}

int ctl_block(struct ctl *c, const char *mac, const struct reg_actor *who)
{
	char m[MAC_STR_LEN];

	if (mac_canon(mac, m) < 0)
		return -EINVAL;
	int r = reg_block(c->reg, m, who, util_now_ms());
	if (r == 0)
		alert_settled(c, m, who);
	r = decided(c, r, "blocked", m, who);
	if (r == 0)
		alert_blocked(c, m, who);
	return r;
}

int ctl_forget(struct ctl *c, const char *mac, const struct reg_actor *who)
{
	char m[MAC_STR_LEN];

	struct reg_device *d = NULL;
	char *port = NULL;
	int r;

	if (mac_canon(mac, m) < 0)
		return -EINVAL;
	if (reg_get(c->reg, m, &d) == 0 && d->port) /* its port goes back to onboarding */
		port = strdup(d->port);
	reg_device_free(d);
	r = reg_forget(c->reg, m, who, util_now_ms());
	if (r == 0)
		alert_settled(c, m, who);
	r = decided(c, r, "forgot", m, who);
	if (r == 0 && port)
		ports_place(c, port);
	free(port);
	return r;
}

int ctl_release(struct ctl *c, const char *mac, const struct reg_actor *who)
{
	char m[MAC_STR_LEN];

	if (mac_canon(mac, m) < 0)
		return -EINVAL;
	return decided(c, reg_release(c->reg, m, who, util_now_ms()), "released", m, who);
}

int ctl_reserve(struct ctl *c, const char *mac, const char *ip, const struct reg_actor *who)
{
	char m[MAC_STR_LEN];
	struct in_addr a;
	bool inside = false;

	if (mac_canon(mac, m) < 0)
		return -EINVAL;
	if (ip) {
		if (inet_pton(AF_INET, ip, &a) != 1)
			return -EINVAL;
		for (int z = 0; z < CFG_N_ZONES; z++) {
			const struct cfg_zone_net *zn = &c->cfg->zones[z];
			uint32_t mask = zn->gateway.len ? 0xffffffffu << (32 - zn->gateway.len) : 0;
			uint32_t h = ntohl(a.s_addr), net = ntohl(zn->gateway.addr.s_addr) & mask;
			if (!zn->present || (h & mask) != net)
				continue;
			inside = h != ntohl(zn->gateway.addr.s_addr) && h != net && h != (net | ~mask);
		}
		if (!inside)
			return -EDOM;
	}
	return decided(c, reg_reserve(c->reg, m, ip, who, util_now_ms()),
		       ip ? "reserved an address for" : "cleared the reservation of", m, who);
}

/* ---- DHCP leases ---- */

int ctl_lease(struct ctl *c, const struct ctl_lease *l)
{
	struct reg_lease rl = { .now = util_now_ms(), .initial = REG_PENDING };
	char mac[MAC_STR_LEN];
	bool created = false;
	int r;

	if (!l->action || !l->ip || mac_canon(l->mac, mac) < 0)
		return -EINVAL;
	if (!strcmp(l->action, "add"))
		rl.action = REG_LEASE_ADD;
	else if (!strcmp(l->action, "old"))
		rl.action = REG_LEASE_OLD;
	else if (!strcmp(l->action, "del"))
		rl.action = REG_LEASE_DEL;
	else
		return -EINVAL;
	/* A device first heard on the guest zone's interface is a visitor. */
	const struct cfg_zone_net *gz = &c->cfg->zones[CFG_ZONE_GUEST];
	if (l->interface && gz->present && gz->ifname && !strcmp(gz->ifname, l->interface))
		rl.initial = REG_GUEST;
	rl.mac = mac;
	rl.ip = l->ip;
	/* what the device calls itself is what people recognise; dnsmasq's
	 * lease name is a DNS-safe version of it */
	rl.hostname = l->supplied_hostname ? l->supplied_hostname : l->hostname;
	rl.dhcp_hostname = l->supplied_hostname;
	rl.vendor_class = l->vendor_class;
	rl.options = l->requested_options;
	rl.iface = l->interface;
	rl.seen = rl.action != REG_LEASE_DEL && !l->data_missing;
	r = reg_lease(c->reg, &rl, &created);
	if (r < 0) {
		if (r != -EINVAL)
			log_err("registry: cannot record lease %s %s %s: %s", l->action, mac, l->ip, strerror(-r));
		return r;
	}
	if (created) {
		log_info("new device %s seen by DHCP on %s: %s", mac, l->interface ? l->interface : "?",
			 reg_state_name(rl.initial));
		if (rl.initial != REG_PENDING)
			ctl_enforce_device(c, mac);
	}
	if (rl.seen) /* its fingerprint may be new */
		auto_on_device(c, mac);
	if (created)
		alert_new_device(c, mac);
	ctl_notify(c);
	if (rl.seen)
		check_on_lease(c, mac);
	return 0;
}

/* ---- status ---- */

void ctl_foreach_bss(struct ctl *c, ctl_bss_cb cb, void *ud)
{
	for (unsigned i = 0; i < c->n_bss; i++) {
		struct hapd_stats hs;
		struct ctl_bss_status st;

		hapd_conn_stats(c->bss[i]->conn, &hs);
		st = (struct ctl_bss_status){
			.ifname = c->bss[i]->ifname, .zone = c->bss[i]->zone,
			.attached = hs.attached, .events = hs.events, .unknown = hs.unknown,
			.malformed = hs.malformed, .reconnects = hs.reconnects,
			.timeouts = hs.timeouts,
		};
		cb(&st, ud);
	}
}

double lat_hist_quantile(const struct lat_hist *h, double q)
{
	unsigned long total = 0, acc = 0, want;

	for (unsigned i = 0; i < LAT_BUCKETS; i++)
		total += h->n[i];
	if (!total)
		return 0;
	want = (unsigned long)(q * (double)total);
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < LAT_BUCKETS; i++) {
		acc += h->n[i];
		if (acc >= want)
			return (double)(i + 1) * LAT_STEP_US; /* upper bound of the bucket */
	}
	return h->max_us;
}

void ctl_get_stats(struct ctl *c, struct ctl_stats *st)
{
	st->applied = c->applied;
	st->failed = c->failed;
	st->p50_us = lat_hist_quantile(&c->lat, 0.50);
	st->p99_us = lat_hist_quantile(&c->lat, 0.99);
	st->max_us = c->lat.max_us;
	st->window_ms = (double)(c->last_ns - c->first_ns) / 1e6;
	st->started_ms = c->started_ms;
	st->repair_checks = c->repair.checks;
	st->repair_fixes = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(c->repair.fixes); i++)
		st->repair_fixes += c->repair.fixes[i];
	st->repair_holds = c->repair.holds;
	st->repair_steers = c->repair.steers;
	st->repair_btm_resps = c->repair.btm_resps;
	st->fix_p50_us = lat_hist_quantile(&c->repair.detect_to_sent, 0.50);
	st->fix_p99_us = lat_hist_quantile(&c->repair.detect_to_sent, 0.99);
	st->port_moves = c->ports.moves;
	st->fw_check_interval_s = c->fw_check_s;
	st->fw_checks = c->fw_checks;
	st->fw_restores = c->fw_restores;
	st->fw_last_restore_ms = c->fw_last_restore_ms;
}
