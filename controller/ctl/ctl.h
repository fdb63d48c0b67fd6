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
struct ctl;

/* Creates the controller and starts one hostapd client per BSS in cfg.
 * cfg, reg and oui (may be NULL) are borrowed: they must outlive the
 * controller (or be replaced with ctl_set_cfg()). *out is freed with
 * ctl_free(). */
int ctl_new(struct event_base *base, const struct cfg *cfg, struct reg *reg,
	    const struct oui *oui, struct ctl **out);
void ctl_free(struct ctl *c);

/* Applies a reloaded configuration: BSSes added or removed get their
 * clients started or stopped, others keep their connection. cfg is
 * borrowed from now on. */
int ctl_set_cfg(struct ctl *c, const struct cfg *cfg);

struct reg *ctl_reg(struct ctl *c);

/* Decisions. mac may be in any usual spelling (-EINVAL otherwise). */
int ctl_approve(struct ctl *c, const char *mac, const struct reg_approval *a,
		const struct reg_actor *who);
int ctl_block(struct ctl *c, const char *mac, const struct reg_actor *who);
int ctl_forget(struct ctl *c, const char *mac, const struct reg_actor *who);

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
