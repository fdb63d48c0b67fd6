/* ctl.h - the controller: turns what the observers report (hostapd events,
 * station lists) into registry changes, and is the one code path for
 * people's decisions, whoever makes them (admin socket now, portal later).
 *
 * Observers never decide and enforcers never observe (DESIGN.md "Flow"):
 * ctl owns one hostapd client per configured BSS, feeds their events to the
 * registry, and tells watchers when the timeline grew.
 *
 * Errors are negative errno values (see reg.h for their meaning).
 */
#ifndef APGATE_CTL_H
#define APGATE_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "model/reg.h"

struct event_base;
struct oui;
struct fw;
struct linkw_ops;
struct ctl;

/* The enforcers the controller drives; each may be NULL (then apgated
 * only observes and records). Borrowed: they must outlive the controller. */
struct ctl_enforcers {
	struct fw *fw;   /* firewall (io/fw.h) */
	bool dnsmasq;    /* write dnsmasq's config and hosts file ([dnsmasq] paths) */
	/* wired port moves (io/linkw.h; NULL: the port module's own netlink
	 * socket); apgated: the privileged helper's client */
	const struct linkw_ops *links;
	void *links_ud;
};

/* Creates the controller, makes the enforcers match the registry (a full
 * rebuild: start-up is recovery) and starts one hostapd client per BSS in
 * cfg. cfg, reg, oui (may be NULL) and enf (may be NULL) are borrowed: they
 * must outlive the controller (cfg may be replaced with ctl_set_cfg()).
 * *out is freed with ctl_free(). An enforcer that fails at start-up is
 * retried in the background (logged), it does not stop the daemon. */
int ctl_new(struct event_base *base, const struct cfg *cfg, struct reg *reg,
	    const struct oui *oui, const struct ctl_enforcers *enf, struct ctl **out);

/* Rebuilds every enforcer's state from the registry. Returns 0 or the
 * first enforcer's negative errno (a retry is then scheduled). */
int ctl_enforce_all(struct ctl *c);
void ctl_free(struct ctl *c);

/* The firewall self-check (run every [network] fw_check_interval seconds;
 * never when nothing is enforced or the interval is 0): reads the kernel's
 * APGATE_ chains back (fw_check()) and, when a chain, a hook or a rule
 * count differs from the plan (a foreign process deleted or changed them),
 * logs each difference at warn and rebuilds everything (ctl_enforce_all()).
 * Nothing is checked while a rebuild that failed waits for its retry (the
 * retry restores it), nor after a restore left the kernel still differing
 * (logged as an error; checked again, without restoring, until it matches
 * or apgated is reloaded). Returns 1 when it restored, 0 when there was
 * nothing to do, or a negative errno: the read-back or the rebuild failed
 * (a rebuild's retry is then scheduled). */
int ctl_check_firewall(struct ctl *c);

/* Applies a reloaded configuration: BSSes added or removed get their
 * clients started or stopped, others keep their connection; the enforcers
 * are rebuilt for the new zones. cfg is borrowed from now on. */
int ctl_set_cfg(struct ctl *c, const struct cfg *cfg);

struct reg *ctl_reg(struct ctl *c);
/* For status (front/adm.c): the configuration in use (changes on reload;
 * valid until the next ctl_set_cfg()) and the enforcers it drives. */
const struct cfg *ctl_cfg(const struct ctl *c);
const struct ctl_enforcers *ctl_enforcers(const struct ctl *c);
/* The vendor index given to ctl_new() (may be NULL), for showing vendors of
 * MACs that are not devices (unmanaged ones). */
const struct oui *ctl_oui(const struct ctl *c);

/* Decisions. mac may be in any usual spelling (-EINVAL otherwise). A
 * decision is stored durably first and then enforced in the same loop
 * turn; 0 means stored (an enforcement failure is logged and retried). */
int ctl_approve(struct ctl *c, const char *mac, const struct reg_approval *a,
		const struct reg_actor *who);
int ctl_block(struct ctl *c, const char *mac, const struct reg_actor *who);
int ctl_forget(struct ctl *c, const char *mac, const struct reg_actor *who);
/* What a device's user said on the captive page (reg_claim()): stored and
 * shown to staff, never a decision. Watchers are told. */
int ctl_claim(struct ctl *c, const char *mac, const struct reg_claim *cl);
/* Reserves a fixed DHCP address for a device (ip NULL clears it). The
 * address must lie inside a configured zone's subnet and be neither its
 * gateway nor its network or broadcast address (-EDOM otherwise); -EEXIST
 * when another device holds it; -ENOENT for an unknown device. */
int ctl_reserve(struct ctl *c, const char *mac, const char *ip, const struct reg_actor *who);

/* Releases a device that repair held (it kept landing in the wrong
 * place): repair tries again. -ENOENT unknown, -EALREADY not held. */
int ctl_release(struct ctl *c, const char *mac, const struct reg_actor *who);

/* Per-device keys (PPSK) on the first work BSS with [bss] ppsk = yes. */
struct ctl_key {
	char keyid[32];
	char passphrase[32]; /* shown once to the person who asked: stored nowhere */
	char ssid[33];
	char bss[16];
};
/* Issues (or replaces) the device's own key, writes hostapd's psk file and
 * sends RELOAD_WPA_PSK. -ENOTSUP no ppsk BSS with an ssid configured,
 * -EPERM the device is not an approved business device, -ENOENT unknown,
 * -EINVAL bad MAC. */
int ctl_issue_key(struct ctl *c, const char *mac, const struct reg_actor *who, struct ctl_key *out);
/* Revokes it: out of the psk file (RELOAD_WPA_PSK) and DEAUTHENTICATE on
 * every ppsk BSS. -EALREADY the device has no key. */
int ctl_revoke_key(struct ctl *c, const char *mac, const struct reg_actor *who);

/* A DHCP lease event from dnsmasq's lease helper (apgate-dhcp-script).
 * Strings are the helper's, already valid UTF-8; NULL when absent. */
struct ctl_lease {
	const char *action;            /* "add", "old", "del" */
	const char *mac;               /* any usual spelling */
	const char *ip;
	const char *hostname;          /* dnsmasq's name for the lease */
	const char *supplied_hostname; /* the client's own, verbatim */
	const char *vendor_class;
	const char *requested_options;
	const char *interface;
	bool data_missing;             /* dnsmasq restart/SIGHUP: no client data */
};
/* Records the lease (IP, hostname, DHCP fingerprint) in the registry; a
 * device first seen by DHCP is created like one first seen by hostapd
 * (pending, or guest on the guest zone's interface). Returns 0 or a
 * negative errno (-EINVAL for a bad MAC, IP or action). */
int ctl_lease(struct ctl *c, const struct ctl_lease *l);

/* --- Alerts (ctl_alert.c) ---
 * Kinds: "new_device" (a device waits for approval), "blocked" (a device
 * was blocked), "risky_service" (the check found an open risky port),
 * "repair_loop" (kept landing in the wrong place; raised by reg_hold()),
 * "unmanaged" (a MAC on a bridge that bypassed the AP), "dns_blocked" (a
 * device looked up a blocklisted name).
 * Raises one: stored (reg_alert_add), logged at warn (so syslog has it),
 * watchers told, and handed to the configured deliveries ([alerts]
 * webhook, mail_to), which never block the loop and retry with back-off.
 * An alert of the same kind for the same MAC that is still open is not
 * raised again (returns 0). mac may be NULL (canonical otherwise). Returns
 * the new alert's id (> 0), 0 for such a repeat, or a negative errno. */
int64_t ctl_alert(struct ctl *c, const char *kind, const char *mac, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The state of alert delivery (io/notify.h's counters; all zero when
 * nothing is configured), for status. */
struct notify_stats;
void ctl_alert_delivery(struct ctl *c, struct notify_stats *st);
/* DNS blocking ([policies] dns_blocking, ctl_dns.c), for status. */
struct ctl_dns_status {
	bool blocking;             /* a blocklist is applied through dnsmasq */
	unsigned domains;          /* listed domains in force */
	unsigned long blocked;     /* blocked look-ups seen since start */
	bool following;            /* [dnsmasq] query_log is read */
	unsigned long log_lines, log_truncations;
};
void ctl_dns_status(struct ctl *c, struct ctl_dns_status *st);

/* --- The risky-service check (ctl_check.c) ---
 * Queues a bounded TCP connect check of the device's current address (it
 * must lie inside a configured zone's subnet) on the risky ports (telnet,
 * FTP, SMB, RDP, VNC, HTTP admin pages, UPnP); non-blocking, rate-limited
 * by [checks]. The result replaces the device's findings
 * (reg_set_findings()) and each risky port found raises "risky_service".
 * -ENOENT unknown device, -EADDRNOTAVAIL no address or one outside the
 * zones, -ENOTSUP checks disabled, -EALREADY one is queued or running,
 * -EBUSY the queue (256 checks) is full. The result arrives later: the
 * device's checked_at changes and reg_findings() has what was found.
 * Automatic checks ([checks] on_first_seen) run once per device, 3 s after
 * its first lease (the device configures the address after the ACK), never
 * for guest or blocked devices. */
int ctl_check_device(struct ctl *c, const char *mac, const struct reg_actor *who);

/* --- Identification (ctl_ident.c): the classification suggestion for
 * a record, from the fingerprint tables loaded from [policies]. */
struct guess;
void ctl_guess(struct ctl *c, const struct reg_device *d, struct guess *out);

/* Status of each BSS client, in config order. */
struct ctl_bss_status {
	const char *ifname;
	enum cfg_zone zone;
	bool attached;
	unsigned long events, unknown, malformed, reconnects, timeouts;
};
typedef void (*ctl_bss_cb)(const struct ctl_bss_status *st, void *ud);
void ctl_foreach_bss(struct ctl *c, ctl_bss_cb cb, void *ud);

/* Event processing figures since start: count of hostapd events applied
 * to the registry, failures, and the latency from the event reaching the
 * controller to its registry change being committed. */
struct ctl_stats {
	unsigned long applied;
	unsigned long failed;
	double p50_us, p99_us, max_us;
	double window_ms;     /* from the first applied event to the last */
	long long started_ms; /* wall clock */
	/* repair: stations checked, fixes sent (all kinds), devices held,
	 * BSS transition requests and answers, and the time from detecting a
	 * wrong place to handing the fix to the hostapd client */
	unsigned long repair_checks, repair_fixes, repair_holds, repair_steers, repair_btm_resps;
	double fix_p50_us, fix_p99_us;
	unsigned long port_moves;
	/* the firewall self-check: its interval (0 = off), checks run, and
	 * restores after the kernel's rules differed from the plan */
	unsigned fw_check_interval_s;
	unsigned long fw_checks, fw_restores;
	long long fw_last_restore_ms; /* wall clock, 0 = never */
};
void ctl_get_stats(struct ctl *c, struct ctl_stats *st);

/* Watchers are told (without arguments) each time the timeline grew; they
 * read what is new with reg_events(). A watcher may remove itself or
 * others while being notified. Returns an id > 0, or 0 on allocation
 * failure. destroy (may be NULL) is called with ud on removal. */
typedef void (*ctl_watch_cb)(void *ud);
unsigned ctl_watch_add(struct ctl *c, ctl_watch_cb cb, void *ud, void (*destroy)(void *));
void ctl_watch_remove(struct ctl *c, unsigned id);

#endif
