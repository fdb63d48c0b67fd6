/* ctl_int.h - the controller's parts, shared among its files only (never
 * included outside controller/ctl/):
 *
 *   ctl.c         events into the registry, decisions, enforcement of the
 *                 firewall and dnsmasq, watchers, status
 *   ctl_acl.c     hostapd's accept and deny lists: control interface and files
 *   ctl_repair.c  a station somewhere it does not belong: put it back,
 *                 steer it (802.11v), and stop after too many tries
 *   ctl_keys.c    per-device keys (PPSK): issue, revoke, recognise by keyid
 *   ctl_ports.c   wired ports moved between the zones' bridges
 *   ctl_ident.c   identification: fingerprint tables, ctl_guess()
 *   ctl_auto.c    automatic decisions ([policies] auto_rules)
 *   ctl_check.c   the risky-service check of a device's open TCP ports
 *   ctl_unmanaged.c  devices that bypass the AP (bridge FDB, neighbours)
 *   ctl_alert.c   alerts: stored, logged, delivered (webhook, sendmail)
 *   ctl_dns.c     the DNS blocklist through dnsmasq, blocked look-ups
 *
 * One struct ctl, owned by ctl.c (ctl_new/ctl_free); each part keeps its
 * state in its own sub-struct and has _init and _free functions called from there.
 */
#ifndef APGATE_CTL_INT_H
#define APGATE_CTL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ctl.h"
#include "io/hapd.h"
#include "mac.h"
#include "model/policy.h"

struct event;
struct wport;

/* Latency histogram: LAT_BUCKETS buckets of LAT_STEP_US, the last one open. */
#define LAT_STEP_US 5
#define LAT_BUCKETS 2000

struct lat_hist {
	unsigned long n[LAT_BUCKETS];
	double max_us;
};
void lat_hist_add(struct lat_hist *h, long long ns);
double lat_hist_quantile(const struct lat_hist *h, double q);

/* What hostapd's STATUS says about a BSS (for BSS transition requests). */
struct bss_radio {
	bool known;
	char bssid[MAC_STR_LEN];
	unsigned freq, channel;
	bool ht, vht;
};

struct bss_client {
	struct ctl *ctl;
	char *ifname;
	enum cfg_zone zone;
	struct hapd_conn *conn;
	struct bss_radio radio;
};

struct watch {
	unsigned id;
	ctl_watch_cb cb;
	void *ud;
	void (*destroy)(void *);
	bool removed;
};

/* Per-device repair state (ctl_repair.c), in a small hash table. */
struct rep_dev;
struct rep_audit;
struct repair {
	struct rep_dev **bucket;     /* REP_BUCKETS chains */
	struct event *sweep;         /* forgets idle entries */
	struct rep_audit *audits, *audits_tail; /* written on the next loop turn */
	struct event *audit_ev;
	unsigned n;
	unsigned long checks, fixes[5], holds, steers, btm_resps, skipped_held;
	struct lat_hist detect_to_sent;
};

struct ports {
	struct wport *w;
	unsigned long moves;
};

/* The risky-service check (ctl_check.c): jobs waiting for a token of the
 * per-minute bucket, and jobs whose connects run. */
struct chk_job;
struct checks {
	struct chk_job *queue, *running;
	struct chk_job *waiting;     /* first-seen checks, until the device has its address */
	unsigned n_queued;
	unsigned inflight;           /* connects in flight over all jobs */
	double tokens;
	long long tok_ms;            /* monotonic, last refill; 0 = full bucket */
	struct event *tick;          /* a token will be there */
	unsigned long queued, done;
};

/* Devices that bypass the AP (ctl_unmanaged.c): the fdb observer and the
 * MACs listed, mirrored from the registry. */
struct fdb;
struct um_ent;
struct unmanaged {
	struct fdb *fdb;             /* NULL: not watching */
	struct um_ent *ent;
	unsigned n, cap;
	char gw_mac[8][MAC_STR_LEN]; /* MACs of the uplink's gateways */
	unsigned n_gw;
	unsigned long found;
};

/* Identification (ctl_ident.c) and automatic decisions (ctl_auto.c). */
/* The DNS blocklist (ctl_dns.c); all NULL when blocking is off. */
struct dnsm_blocklist;
struct dnslog;
struct dnsblk {
	struct dnsm_blocklist *bl;   /* in force */
	struct dnslog *log;          /* follows [dnsmasq] query_log */
	struct event *poll;          /* looks at the list files */
	char *servers_file, *log_path;
	unsigned long long stamps[2]; /* of the shipped and the local list */
	unsigned long blocked;       /* blocked look-ups seen */
};
struct notify;

struct guess_tables;
struct guess_rules;
struct ident {
	struct guess_tables *tables; /* NULL: no fingerprint table */
	struct guess_rules *rules;   /* NULL: auto-rules off */
	bool warned_missing;         /* the shipped table's absence was logged */
	unsigned long auto_approved;
};

struct ctl {
	struct event_base *base;
	const struct cfg *cfg;
	struct reg *reg;
	const struct oui *oui;
	struct ctl_enforcers enf;
	struct event *retry_ev;     /* rebuild again after an enforcer failed */
	struct event *fw_check_ev;  /* [network] fw_check_interval: compare and restore */
	unsigned fw_check_s;        /* its interval as armed, 0 = not armed */
	bool fw_stuck;              /* a restore did not bring the kernel in line */
	unsigned long fw_checks, fw_restores;
	long long fw_last_restore_ms; /* wall clock, 0 = never */
	/* MACs with a line in dnsmasq's hosts file as last written, sorted: a
	 * decision about any other device that does not give it a line leaves
	 * the file as it is, without walking the registry. */
	char (*host_macs)[MAC_STR_LEN];
	unsigned n_host_macs;

	struct bss_client **bss;
	unsigned n_bss;

	struct watch *watches;
	unsigned n_watch, cap_watch, next_watch_id;
	int notifying;

	struct repair repair;
	struct ports ports;
	struct ident ident;
	struct checks checks;
	struct unmanaged unmanaged;
	struct dnsblk dns;
	struct notify *notify;       /* alert delivery (ctl_alert.c); NULL: none configured */

	unsigned long applied, failed;
	struct lat_hist lat;
	long long first_ns, last_ns; /* monotonic, first and last applied event */
	long long started_ms;
};

/* ctl.c */
void ctl_notify(struct ctl *c);
/* Brings every enforcer in line with one device's record (or its absence). */
void ctl_enforce_device(struct ctl *c, const char *canon);
struct bss_client *ctl_bss_by_name(struct ctl *c, const char *ifname);
/* Queues cmd on b's connection; reply problems are logged naming b. */
void ctl_send(struct bss_client *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ctl_acl.c: hostapd's lists */
/* The lists one BSS should have for a device with access a. */
bool acl_wants_accept(const struct ctl *c, const struct bss_client *b, enum policy_access a);
bool acl_wants_deny(const struct bss_client *b, enum policy_access a);
/* Rebuilds one BSS's lists whole (after attach and reload). */
void acl_sync_bss(struct ctl *c, struct bss_client *b);
/* One device's lists on every BSS, for its new access a; skip (may be
 * NULL) is a BSS whose deny is left to repair (a steer comes first). */
void acl_device(struct ctl *c, const char *canon, enum policy_access a, const struct bss_client *skip);
/* One device's lists on one BSS. */
void acl_device_bss(struct ctl *c, struct bss_client *b, const char *canon, enum policy_access a);
/* Rewrites <data_dir>/<ifname>.accept and .deny of every BSS from the
 * registry (unchanged files are left alone). 0 or negative errno. */
int acl_write_files(struct ctl *c);

/* ctl_repair.c */
void repair_init(struct ctl *c);
void repair_free(struct ctl *c);
/* A station connected on b: read its place (STA) and fix it if wrong. */
void repair_on_connected(struct bss_client *b, const char *canon);
/* A station in a resync list (vlan and capabilities known already). */
void repair_on_station(struct bss_client *b, const struct hapd_sta *sta);
void repair_on_disconnected(struct bss_client *b, const char *canon);
void repair_on_btm_resp(struct bss_client *b, const char *canon, int status);
/* A person decided about the device: forget its fix count, and check it
 * where the registry says it is connected (the decision may have made
 * its place wrong). d may be NULL (forgotten). */
void repair_on_decision(struct ctl *c, const char *canon, const struct reg_device *d);
/* Whether a steer is planned for canon on b (acl_device leaves the deny
 * on b to repair then). */
bool repair_steer_pending(struct ctl *c, const struct bss_client *b, const char *canon);
/* After attach: ask hostapd for the BSS's radio details (STATUS). */
void repair_query_radio(struct bss_client *b);

/* ctl_keys.c */
/* Rewrites every ppsk BSS's psk file from the registry and tells hostapd
 * (RELOAD_WPA_PSK) where it changed; force: tell it anyway. */
int keys_sync(struct ctl *c, bool force);
/* AP-STA-CONNECTED with a keyid: the device holding that key moves to
 * this MAC if it had another one (private address rotation). */
void keys_on_connected(struct bss_client *b, const char *canon, const char *keyid);

/* ctl_check.c */
void check_init(struct ctl *c);
void check_free(struct ctl *c);
/* The device got or renewed a lease: check it if it never was ([checks]
 * on_first_seen). */
void check_on_lease(struct ctl *c, const char *canon);

/* ctl_ident.c: loads [policies]' tables (and the auto-rules); at start
 * -EINVAL for a refused auto-rules file, on reload the old ones stay. */
int ident_init(struct ctl *c);
void ident_reload(struct ctl *c);
void ident_free(struct ctl *c);

/* ctl_auto.c */
int auto_load(struct ctl *c, bool starting);
/* A pending device was created or learned more about itself: apply the
 * first matching auto-rule, if any. */
void auto_on_device(struct ctl *c, const char *mac);

/* ctl_unmanaged.c */
/* Starts watching ([network] watch_unmanaged); 0 or a negative errno
 * (logged; apgated runs on without the watch). */
int unmanaged_init(struct ctl *c);
void unmanaged_free(struct ctl *c);
/* After a reload: watches the new zones' interfaces and uplink (or
 * stops, with watch_unmanaged = no). */
void unmanaged_reload(struct ctl *c);
/* hostapd reported canon: it is managed, drop it from the list. */
void unmanaged_on_managed(struct ctl *c, const char *canon);

/* ctl_alert.c: delivery ([alerts]); init failures are logged, apgated
 * runs on with alerts stored and logged only */
int alerts_init(struct ctl *c);
void alerts_reload(struct ctl *c);
void alerts_free(struct ctl *c);
/* "new_device" when the device (just created) is still pending, e.g. not
 * approved by an auto-rule; "blocked" after a person blocked it. */
void alert_new_device(struct ctl *c, const char *canon);
void alert_blocked(struct ctl *c, const char *canon, const struct reg_actor *who);
/* A person (or an auto-rule) decided about the device (approve, block,
 * forget): its open "new_device" alert is acknowledged in their name, so
 * the badge counts only what still waits. */
void alert_settled(struct ctl *c, const char *canon, const struct reg_actor *who);

/* ctl_dns.c: ([policies] dns_blocking, with dnsmasq enforcement) */
int dnsblk_init(struct ctl *c);
void dnsblk_reload(struct ctl *c);
void dnsblk_free(struct ctl *c);
/* The servers-file dnsmasq's config names; NULL when blocking is off. */
const char *dnsblk_servers_file(const struct ctl *c);
/* [dnsmasq] query_log when blocking is on and its directory exists (a
 * log-facility dnsmasq cannot open stops it from starting), else NULL. */
const char *dnsblk_query_log(const struct ctl *c);

/* ctl_ports.c */
int ports_init(struct ctl *c);
void ports_free(struct ctl *c);
/* The device's record changed: move its port if it has one. */
void ports_on_device(struct ctl *c, const struct reg_device *d);
/* Puts port into the bridge its devices belong in (idempotent). */
void ports_place(struct ctl *c, const char *port);

#endif
