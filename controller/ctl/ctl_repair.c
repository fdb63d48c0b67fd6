/* ctl_repair.c - a station that hostapd shows somewhere it does not belong
 * is put back, and a device that keeps coming back wrong is held.
 *
 * When: after AP-STA-CONNECTED (the event has no VLAN in hostapd 2.10, so a
 * "STA <mac>" request reads vlan_id= and ext_capab=), for every station of
 * a resync list (which carries both), and after a person's decision (every
 * BSS is asked, since the decision may have made the device's place wrong).
 *
 * What (place.h):
 *   vlan         the device's lists on that BSS are corrected, then
 *                DEAUTHENTICATE: it re-associates into the right VLAN
 *   deny         blocked yet associated: DENY_ACL ADD_MAC, DEAUTHENTICATE
 *   steer_guest  a staff phone or visitor on a work BSS, or an approved
 *   steer_work   business device on the guest BSS: if the station supports
 *                BSS Transition (ext_capab bit 19) and the other BSS is
 *                known, a BSS_TM_REQ names it (pref, disassoc imminent);
 *                when the station answers (BSS-TM-RESP), leaves, or after
 *                [repair] steer_timeout_ms, it is denied on this BSS (which
 *                kicks it) and deauthenticated. Without BTM: denied at once.
 * The audit entry is written from the next loop turn, after the hostapd
 * client has sent the commands (it sends from the loop too, and was woken
 * first), so a registry commit never delays a fix.
 *
 * No loops: at most [repair] max_fixes fixes per device within [repair]
 * window seconds. One more and the device is held (reg_hold(): policy
 * keeps it in onboarding, an alert is raised) and nothing is tried for it
 * until a person approves, blocks, forgets or releases it. A fix in flight
 * (sent, station not gone yet) is not repeated for the same BSS.
 */
#include "ctl_int.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "model/place.h"
#include "util.h"

#define REP_BUCKETS 256
#define FIXING_MS 10000        /* a fix not followed by a disconnect is forgotten after this */
#define SWEEP_MS 60000

/* An audit entry waiting for the next loop turn. */
struct rep_audit {
	struct rep_audit *next;
	char mac[MAC_STR_LEN];
	char bss[IFNAMSIZ];
	const char *action;
	char detail[];
};

struct rep_dev {
	struct rep_dev *next;
	struct ctl *c;
	char mac[MAC_STR_LEN];
	long long *t;           /* times of recent fixes (ms, monotonic) */
	unsigned nt, cap;
	unsigned queries;       /* STA requests in flight */
	char fixing[IFNAMSIZ];  /* BSS a fix was sent on, until the station leaves */
	long long fixing_until;
	/* a steer waiting for the station's answer */
	struct event *steer_ev;
	char steer_bss[IFNAMSIZ];
	enum policy_access steer_access;
};

static void audit_flush(struct ctl *c);
static void audit_cb(evutil_socket_t fd, short what, void *ud);

static bool repair_on(const struct ctl *c)
{
	return c->cfg->enforce && c->cfg->repair.enabled;
}

static unsigned hash_mac(const char *mac)
{
	unsigned h = 2166136261u;

	for (; *mac; mac++)
		h = (h ^ (unsigned char)*mac) * 16777619u;
	return h % REP_BUCKETS;
}

static struct rep_dev *rep_find(struct ctl *c, const char *mac)
{
	if (!c->repair.bucket)
		return NULL;
	for (struct rep_dev *d = c->repair.bucket[hash_mac(mac)]; d; d = d->next)
		if (!strcmp(d->mac, mac))
			return d;
	return NULL;
}

static struct rep_dev *rep_get(struct ctl *c, const char *mac)
{
	struct rep_dev *d = rep_find(c, mac);
	unsigned h;

	if (d || !c->repair.bucket)
		return d;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->c = c;
	util_strlcpy(d->mac, mac, sizeof(d->mac));
	h = hash_mac(mac);
	d->next = c->repair.bucket[h];
	c->repair.bucket[h] = d;
	c->repair.n++;
	return d;
}

static void rep_free(struct rep_dev *d)
{
	if (d->steer_ev)
		event_free(d->steer_ev);
	free(d->t);
	free(d);
}

/* Drops fix times older than the window. */
static void rep_prune(struct ctl *c, struct rep_dev *d, long long now)
{
	long long from = now - (long long)c->cfg->repair.window_s * 1000;
	unsigned k = 0;

	for (unsigned i = 0; i < d->nt; i++)
		if (d->t[i] > from)
			d->t[k++] = d->t[i];
	d->nt = k;
}

static bool rep_idle(struct ctl *c, struct rep_dev *d, long long now)
{
	rep_prune(c, d, now);
	return !d->nt && !d->queries && !d->steer_ev && (!d->fixing[0] || now > d->fixing_until);
}

static void sweep(struct ctl *c)
{
	long long now = util_mono_ms();

	for (unsigned h = 0; c->repair.bucket && h < REP_BUCKETS; h++) {
		struct rep_dev **pp = &c->repair.bucket[h];
		while (*pp) {
			struct rep_dev *d = *pp;
			if (rep_idle(c, d, now)) {
				*pp = d->next;
				rep_free(d);
				c->repair.n--;
			} else {
				pp = &d->next;
			}
		}
	}
}

static void sweep_cb(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	sweep(ud);
}

void repair_init(struct ctl *c)
{
	struct timeval tv = { SWEEP_MS / 1000, 0 };

	memset(&c->repair, 0, sizeof(c->repair));
	c->repair.bucket = calloc(REP_BUCKETS, sizeof(*c->repair.bucket));
	if (!c->repair.bucket)
		log_err("repair: out of memory: devices in the wrong place will not be fixed");
	c->repair.audit_ev = evtimer_new(c->base, audit_cb, c);
	c->repair.sweep = event_new(c->base, -1, EV_PERSIST, sweep_cb, c);
	if (c->repair.sweep)
		event_add(c->repair.sweep, &tv);
}

void repair_free(struct ctl *c)
{
	audit_flush(c); /* nothing is lost at shutdown */
	if (c->repair.audit_ev)
		event_free(c->repair.audit_ev);
	if (c->repair.sweep)
		event_free(c->repair.sweep);
	for (unsigned h = 0; c->repair.bucket && h < REP_BUCKETS; h++) {
		struct rep_dev *d = c->repair.bucket[h];
		while (d) {
			struct rep_dev *n = d->next;
			rep_free(d);
			d = n;
		}
	}
	free(c->repair.bucket);
	memset(&c->repair, 0, sizeof(c->repair));
}

static void place_net_of(const struct ctl *c, struct place_net *n)
{
	n->work_vlan = c->cfg->zones[CFG_ZONE_WORK].vlan;
	n->onboarding_vlan = c->cfg->zones[CFG_ZONE_ONBOARDING].present ? c->cfg->zones[CFG_ZONE_ONBOARDING].vlan : 0;
}

/* ---- the fixes ---- */

static unsigned op_class(unsigned freq)
{
	if (freq >= 2412 && freq <= 2472)
		return 81;
	if (freq == 2484)
		return 82;
	if (freq >= 5180 && freq <= 5240)
		return 115;
	if (freq >= 5260 && freq <= 5320)
		return 118;
	if (freq >= 5500 && freq <= 5720)
		return 121;
	if (freq >= 5745 && freq <= 5825)
		return 125;
	return 0; /* unknown (driver=wired reports freq=0) */
}

static unsigned phy_type(const struct bss_radio *r)
{
	if (r->vht)
		return 9;
	if (r->ht)
		return 7;
	if (!r->freq)
		return 0;
	return r->freq < 3000 ? 6 : 4; /* ERP, OFDM */
}

/* An attached BSS of zone z whose BSSID is known, to steer towards. */
static struct bss_client *steer_target(struct ctl *c, enum cfg_zone z)
{
	for (unsigned i = 0; i < c->n_bss; i++) {
		struct bss_client *t = c->bss[i];
		struct hapd_stats hs;
		if (!t || t->zone != z || !t->radio.known)
			continue;
		hapd_conn_stats(t->conn, &hs);
		if (hs.attached)
			return t;
	}
	return NULL;
}

static void mark_fixing(struct rep_dev *d, const struct bss_client *b)
{
	util_strlcpy(d->fixing, b->ifname, sizeof(d->fixing));
	d->fixing_until = util_mono_ms() + FIXING_MS;
}

/* The end of a steer (or a fix without one): denied here, which kicks,
 * and deauthenticated in case it was not (hostapd 2.10's DENY_ACL ADD_MAC
 * disconnects a matching station itself). */
static void deny_here(struct ctl *c, struct bss_client *b, const char *mac, enum policy_access a, bool deauth)
{
	acl_device_bss(c, b, mac, a);
	if (deauth)
		ctl_send(b, "DEAUTHENTICATE %s", mac);
}

static void steer_finish(struct rep_dev *d, bool deauth)
{
	struct ctl *c = d->c;
	struct bss_client *b = ctl_bss_by_name(c, d->steer_bss);

	if (d->steer_ev) {
		event_free(d->steer_ev);
		d->steer_ev = NULL;
	}
	if (b) {
		deny_here(c, b, d->mac, d->steer_access, deauth);
		mark_fixing(d, b);
	}
	d->steer_bss[0] = 0;
}

static void steer_timeout(evutil_socket_t fd, short what, void *ud)
{
	struct rep_dev *d = ud;

	(void)fd;
	(void)what;
	log_info("repair: %s did not answer the BSS transition request on %s; denying it there", d->mac,
		 d->steer_bss);
	steer_finish(d, true);
}

/* Sends the fix; returns a word for the audit detail. */
static const char *do_fix(struct ctl *c, struct bss_client *b, struct rep_dev *d, enum place_fix fix,
			  enum policy_access a, bool btm, char *how, size_t howlen)
{
	switch (fix) {
	case PLACE_FIX_VLAN:
		acl_device_bss(c, b, d->mac, a);
		ctl_send(b, "DEAUTHENTICATE %s", d->mac);
		mark_fixing(d, b);
		snprintf(how, howlen, "lists corrected on %s, deauthenticated to re-associate", b->ifname);
		return "repair";
	case PLACE_DENY:
		ctl_send(b, "DENY_ACL ADD_MAC %s", d->mac);
		ctl_send(b, "DEAUTHENTICATE %s", d->mac);
		mark_fixing(d, b);
		snprintf(how, howlen, "denied on %s and deauthenticated", b->ifname);
		return "repair";
	case PLACE_STEER_GUEST:
	case PLACE_STEER_WORK: {
		struct bss_client *t = steer_target(c, fix == PLACE_STEER_GUEST ? CFG_ZONE_GUEST : CFG_ZONE_WORK);
		unsigned tbtt = c->cfg->repair.steer_timeout_ms * 1000 / 1024 / 100; /* beacon intervals */
		struct timeval tv = { c->cfg->repair.steer_timeout_ms / 1000,
				      (c->cfg->repair.steer_timeout_ms % 1000) * 1000 };

		d->steer_access = a;
		util_strlcpy(d->steer_bss, b->ifname, sizeof(d->steer_bss));
		if (btm && t && (d->steer_ev = evtimer_new(c->base, steer_timeout, d))) {
			ctl_send(b, "BSS_TM_REQ %s pref=1 abridged=1 disassoc_imminent=1 disassoc_timer=%u"
				    " neighbor=%s,0x0000,%u,%u,%u",
				 d->mac, tbtt ? tbtt : 1, t->radio.bssid, op_class(t->radio.freq),
				 t->radio.channel, phy_type(&t->radio));
			evtimer_add(d->steer_ev, &tv);
			c->repair.steers++;
			snprintf(how, howlen, "asked to move to %s (BSS transition to %s), then denied on %s",
				 t->ifname, t->radio.bssid, b->ifname);
		} else {
			steer_finish(d, true);
			snprintf(how, howlen, "denied on %s and deauthenticated (%s)", b->ifname,
				 !btm ? "no BSS transition support" : "no target BSS known");
		}
		return "steer";
	}
	default:
		how[0] = 0;
		return "repair";
	}
}

static void hold(struct ctl *c, struct bss_client *b, struct rep_dev *d, const char *what)
{
	char reason[300];
	int r;

	snprintf(reason, sizeof(reason), "%u fixes within %u s and still %s on %s", d->nt,
		 c->cfg->repair.window_s, what, b->ifname);
	r = reg_hold(c->reg, d->mac, reason, util_now_ms());
	if (r < 0) {
		log_err("repair: cannot hold %s: %s", d->mac, strerror(-r));
		return;
	}
	c->repair.holds++;
	log_warn("repair: %s keeps landing in the wrong place (%s); held in onboarding until someone decides",
		 d->mac, reason);
	ctl_enforce_device(c, d->mac);
	ctl_notify(c);
}

static void audit_flush(struct ctl *c)
{
	struct rep_audit *a = c->repair.audits;
	bool any = a != NULL;

	c->repair.audits = c->repair.audits_tail = NULL;
	while (a) {
		struct rep_audit *n = a->next;
		int r = reg_audit_auto(c->reg, a->mac, a->bss, a->action, a->detail, util_now_ms());
		if (r < 0)
			log_err("repair: cannot record the fix of %s: %s", a->mac, strerror(-r));
		free(a);
		a = n;
	}
	if (any)
		ctl_notify(c);
}

static void audit_cb(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	audit_flush(ud);
}

static void audit_later(struct ctl *c, const char *mac, const char *bss, const char *action, const char *detail)
{
	size_t n = strlen(detail) + 1;
	struct rep_audit *a = malloc(sizeof(*a) + n);
	struct timeval zero = { 0, 0 };

	if (!a || !c->repair.audit_ev) {
		free(a);
		int r = reg_audit_auto(c->reg, mac, bss, action, detail, util_now_ms());
		if (r < 0)
			log_err("repair: cannot record the fix of %s: %s", mac, strerror(-r));
		ctl_notify(c);
		return;
	}
	a->next = NULL;
	util_strlcpy(a->mac, mac, sizeof(a->mac));
	util_strlcpy(a->bss, bss, sizeof(a->bss));
	a->action = action;
	memcpy(a->detail, detail, n);
	if (c->repair.audits_tail)
		c->repair.audits_tail->next = a;
	else
		c->repair.audits = a;
	c->repair.audits_tail = a;
	if (!evtimer_pending(c->repair.audit_ev, NULL))
		evtimer_add(c->repair.audit_ev, &zero);
}

/* The check: station mac on b with VLAN vlan. t0: when it was detected. */
static void check(struct bss_client *b, const char *mac, unsigned vlan, bool btm, long long t0)
{
	struct ctl *c = b->ctl;
	struct reg_device *dev = NULL;
	struct place_net net;
	enum policy_access a = POLICY_ONBOARDING;
	enum place_fix fix;
	struct rep_dev *d;
	char what[160], how[200], detail[400];
	const char *action;
	long long now = util_mono_ms();
	int r;

	if (!repair_on(c))
		return;
	c->repair.checks++;
	r = reg_get(c->reg, mac, &dev);
	if (r < 0 && r != -ENOENT) {
		log_err("repair: cannot read %s: %s", mac, strerror(-r));
		return;
	}
	if (dev && dev->held_at) {
		c->repair.skipped_held++;
		reg_device_free(dev);
		return;
	}
	if (dev)
		a = policy_access(dev);
	reg_device_free(dev);
	place_net_of(c, &net);
	fix = place_check(a, b->zone, vlan, &net);
	if (fix == PLACE_OK)
		return;
	d = rep_get(c, mac);
	if (!d)
		return;
	if (d->steer_ev || (!strcmp(d->fixing, b->ifname) && now <= d->fixing_until))
		return; /* already on it */
	place_describe(fix, a, vlan, &net, what, sizeof(what));
	rep_prune(c, d, now);
	if (d->nt >= c->cfg->repair.max_fixes) {
		hold(c, b, d, what);
		return;
	}
	if (d->nt == d->cap) {
		unsigned cap = d->cap ? d->cap * 2 : 4;
		long long *t = realloc(d->t, cap * sizeof(*t));
		if (!t)
			return;
		d->t = t;
		d->cap = cap;
	}
	d->t[d->nt++] = now;
	action = do_fix(c, b, d, fix, a, btm, how, sizeof(how));
	lat_hist_add(&c->repair.detect_to_sent, util_mono_ns() - t0);
	c->repair.fixes[fix]++;
	snprintf(detail, sizeof(detail), "%s: %s (fix %u of at most %u in %u s)", what, how, d->nt,
		 c->cfg->repair.max_fixes, c->cfg->repair.window_s);
	log_info("repair: %s on %s: %s", mac, b->ifname, detail);
	audit_later(c, mac, b->ifname, action, detail);
}

/* ---- STA requests ---- */

struct sta_q {
	struct ctl *c;
	struct bss_client *b;
	char mac[MAC_STR_LEN];
};

static void sta_reply(int err, const char *reply, size_t len, void *ud)
{
	struct sta_q *q = ud;
	struct hapd_sta sta;
	struct rep_dev *d;
	long long t0 = util_mono_ns();
	int r;

	if (err == -ECANCELED) { /* the BSS client is going away */
		if ((d = rep_find(q->c, q->mac)) && d->queries)
			d->queries--;
		free(q);
		return;
	}
	if ((d = rep_find(q->c, q->mac)) && d->queries)
		d->queries--;
	r = err < 0 ? err : hapd_sta_parse(reply, len, &sta);
	if (r == 0 && strcmp(sta.mac, q->mac) == 0) {
		if (sta.authorized)
			check(q->b, q->mac, (unsigned)sta.vlan_id, sta.btm, t0);
	} else if (r == -ENOENT) {
		/* not (or no longer) there: a deny left for a steer goes now */
		struct reg_device *dev = NULL;
		if (reg_get(q->c->reg, q->mac, &dev) == 0 && !dev->held_at &&
		    acl_wants_deny(q->b, policy_access(dev)) && !(d && d->steer_ev))
			ctl_send(q->b, "DENY_ACL ADD_MAC %s", q->mac);
		reg_device_free(dev);
	} else {
		log_warn("repair: cannot read station %s on %s: %s", q->mac, q->b->ifname,
			 r == -EINVAL ? "malformed reply" : strerror(-r));
	}
	free(q);
}

static void query(struct bss_client *b, const char *mac)
{
	struct sta_q *q;
	struct rep_dev *d;
	char cmd[32];
	int r;

	if (!repair_on(b->ctl))
		return;
	q = calloc(1, sizeof(*q));
	if (!q)
		return;
	q->c = b->ctl;
	q->b = b;
	util_strlcpy(q->mac, mac, sizeof(q->mac));
	snprintf(cmd, sizeof(cmd), "STA %s", mac);
	r = hapd_request(b->conn, cmd, sta_reply, q);
	if (r < 0) {
		free(q);
		return;
	}
	if ((d = rep_get(b->ctl, mac)))
		d->queries++;
}

void repair_on_connected(struct bss_client *b, const char *canon)
{
	query(b, canon);
}

void repair_on_station(struct bss_client *b, const struct hapd_sta *sta)
{
	check(b, sta->mac, (unsigned)sta->vlan_id, sta->btm, util_mono_ns());
}

void repair_on_disconnected(struct bss_client *b, const char *canon)
{
	struct rep_dev *d = rep_find(b->ctl, canon);

	if (!d)
		return;
	if (!strcmp(d->fixing, b->ifname))
		d->fixing[0] = 0;
	if (d->steer_ev && !strcmp(d->steer_bss, b->ifname)) {
		log_info("repair: %s left %s after the BSS transition request", canon, b->ifname);
		steer_finish(d, false);
		d->fixing[0] = 0;
	}
}

void repair_on_btm_resp(struct bss_client *b, const char *canon, int status)
{
	struct rep_dev *d = rep_find(b->ctl, canon);

	b->ctl->repair.btm_resps++;
	if (!d || !d->steer_ev || strcmp(d->steer_bss, b->ifname))
		return;
	log_info("repair: %s answered the BSS transition request on %s with status %d (%s)", canon, b->ifname,
		 status, status == 0 ? "accept" : "reject");
	steer_finish(d, true);
}

void repair_on_decision(struct ctl *c, const char *canon, const struct reg_device *dev)
{
	struct rep_dev *d = rep_find(c, canon);

	(void)dev;
	if (d) { /* a person acted: the count starts again */
		d->nt = 0;
		if (d->steer_ev) {
			event_free(d->steer_ev);
			d->steer_ev = NULL;
			d->steer_bss[0] = 0;
		}
		d->fixing[0] = 0;
	}
	for (unsigned i = 0; i < c->n_bss; i++)
		if (c->bss[i])
			query(c->bss[i], canon);
}

bool repair_steer_pending(struct ctl *c, const struct bss_client *b, const char *canon)
{
	struct rep_dev *d = rep_find(c, canon);

	return d && d->steer_ev && !strcmp(d->steer_bss, b->ifname);
}

/* ---- the BSS's radio, for the neighbor element of BSS_TM_REQ ---- */

struct radio_q {
	struct bss_client *b;
};

static void status_reply(int err, const char *reply, size_t len, void *ud)
{
	struct radio_q *q = ud;
	struct hapd_status st;
	int r;

	if (err == -ECANCELED) {
		free(q);
		return;
	}
	r = err < 0 ? err : hapd_status_parse(reply, len, q->b->ifname, &st);
	if (r == 0) {
		q->b->radio = (struct bss_radio){ .known = true, .freq = st.freq, .channel = st.channel,
						  .ht = st.ht, .vht = st.vht };
		util_strlcpy(q->b->radio.bssid, st.bssid, sizeof(q->b->radio.bssid));
		log_debug("hostapd: %s is BSSID %s, %u MHz, channel %u", q->b->ifname, st.bssid, st.freq,
			  st.channel);
	} else {
		log_warn("hostapd: %s: cannot read its BSSID from STATUS (%s): stations cannot be steered to it",
			 q->b->ifname, strerror(-r));
	}
	free(q);
}

void repair_query_radio(struct bss_client *b)
{
	struct radio_q *q = calloc(1, sizeof(*q));

	if (!q)
		return;
	q->b = b;
	if (hapd_request(b->conn, "STATUS", status_reply, q) < 0)
		free(q);
}
