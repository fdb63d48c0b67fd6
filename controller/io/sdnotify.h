/* sdnotify.h - apgated's side of systemd's service notification protocol
 * (sd_notify(3), through libsystemd's sd-daemon API): READY=1 once every
 * module has started, RELOADING=1 ... READY=1 around a SIGHUP reload,
 * STOPPING=1 when shutdown begins, STATUS= lines, and WATCHDOG=1 from a
 * libevent timer at half of WATCHDOG_USEC, so a stuck event loop is noticed
 * by systemd (WatchdogSec= in apgated.service).
 *
 * Every operation is a no-op when NOTIFY_SOCKET is unset (apgated started
 * by hand or by the tests), and when s is NULL. The watchdog timer exists
 * only when sd_watchdog_enabled() says so (WATCHDOG_USEC set and
 * WATCHDOG_PID, if set, is this process). A message that cannot be sent is
 * logged at debug level and otherwise ignored: notification never stops
 * the daemon.
 */
#ifndef APGATE_SDNOTIFY_H
#define APGATE_SDNOTIFY_H

#include <stdint.h>

struct event_base;
struct sdn;

/* The side effects (STYLE 8): the real one is libsystemd's. */
struct sdn_ops {
	/* Sends state (newline-separated VAR=value assignments); >0 sent,
	 * 0 no NOTIFY_SOCKET, <0 negative errno. */
	int (*notify)(const char *state, void *ud);
	/* >0 and *usec when the watchdog is enabled for this process, 0 when
	 * not, <0 negative errno. */
	int (*watchdog)(uint64_t *usec, void *ud);
	void *ud;
};

extern const struct sdn_ops sdn_ops_systemd;

/* A notifier on base (which must outlive it); ops NULL = sdn_ops_systemd.
 * Starts the watchdog timer when enabled. 0 and *out (free with
 * sdn_free()), or -ENOMEM. */
int sdn_new(struct event_base *base, const struct sdn_ops *ops, struct sdn **out);
/* Stops the watchdog timer. NULL is fine. */
void sdn_free(struct sdn *s);

/* Whether a service manager listens (NOTIFY_SOCKET was set at sdn_new()). */
int sdn_enabled(const struct sdn *s);
/* The watchdog ping interval in microseconds (half of WATCHDOG_USEC), 0
 * when the watchdog is off. */
uint64_t sdn_watchdog_interval_usec(const struct sdn *s);

/* READY=1 with STATUS=status (status may be NULL). */
void sdn_ready(struct sdn *s, const char *status);
/* RELOADING=1 with MONOTONIC_USEC= (systemd >= 253 wants it). */
void sdn_reloading(struct sdn *s);
/* STOPPING=1. */
void sdn_stopping(struct sdn *s);
/* STATUS=<printf-formatted text>; newlines are replaced by spaces. */
void sdn_status(struct sdn *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
