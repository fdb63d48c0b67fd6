/* hapd.h - non-blocking client for one hostapd BSS control socket, on the
 * daemon's libevent loop.
 *
 * Two datagram sockets per BSS (STYLE 9): an attached monitor for events and
 * one for commands, bound under client_dir. Requests are queued, one in
 * flight, each with a timeout; a reply that arrives late is never mistaken
 * for the next command's (the command socket is re-opened after a timeout).
 * PING notices a dead hostapd; CTRL-EVENT-TERMINATING or a socket error
 * does too. The client then reconnects with backoff, re-ATTACHes and walks
 * STA-FIRST/STA-NEXT, handing the complete station list to on_resync.
 * Nothing here blocks: the loop never waits on hostapd.
 *
 * Own sockets: <client_dir>/apgated-<pid>-<ifname>-ev and -cmd<n> (n grows
 * each time the command socket is re-opened); a leftover of the same name
 * that nobody listens on is replaced. One connection per (client_dir,
 * ifname) in a process. The event socket is drained to EAGAIN on every
 * wake-up: hostapd 2.10 blocks while a monitor does not read.
 *
 * Callbacks may call hapd_request() and hapd_conn_free() on this
 * connection; after hapd_conn_free() no further callback comes for it.
 * No global state.
 */
#ifndef APGATE_HAPD_H
#define APGATE_HAPD_H

#include <stdbool.h>
#include <stddef.h>

#include "hapd_ev.h"

struct event_base;
struct hapd_conn;

struct hapd_conn_cfg {
	const char *ctrl_dir;       /* hostapd's ctrl_interface directory */
	const char *ifname;         /* BSS interface name = socket name */
	const char *client_dir;     /* where our own sockets are bound (absolute) */
	unsigned ping_interval_ms;  /* keepalive, e.g. 1000 */
	unsigned request_timeout_ms;/* per request (and ATTACH), e.g. 1000 */
	unsigned backoff_min_ms;    /* first reconnect delay, e.g. 100 */
	unsigned backoff_max_ms;    /* cap, e.g. 5000 */
};	/* a 0 in the numbers selects the example value */

struct hapd_callbacks {
	/* Every event parsed from this BSS (hapd_ev_parse() == 0), in the
	 * order hostapd sent them. Events that arrive while the station list
	 * is walked are held and come right after on_resync: applied after
	 * the list they are at worst repeated, applied before it a station
	 * that left during the walk would come back. */
	void (*on_event)(struct hapd_conn *c, const struct hapd_ev *ev, void *ud);
	/* Attached (true) after connect+ATTACH, detached (false) when lost. */
	void (*on_link)(struct hapd_conn *c, bool attached, void *ud);
	/* After every (re)attach: the complete station list (n may be 0),
	 * in hostapd's order (newest first), unauthorized stations included.
	 * The array is never NULL and valid only during the call. */
	void (*on_resync)(struct hapd_conn *c, const struct hapd_sta *stas, unsigned n, void *ud);
};

/* Creates the client and starts connecting (asynchronously, from the loop;
 * a hostapd that is not there yet is retried with backoff). cfg strings are
 * copied; cb is copied and may be NULL. Returns 0, -EINVAL (missing field,
 * empty ifname or one with '/', client_dir not absolute, backoff_max <
 * backoff_min), -ENAMETOOLONG (a socket path would not fit sun_path) or
 * -ENOMEM. On success *out is owned by the caller and freed with
 * hapd_conn_free(). */
int hapd_conn_new(struct event_base *base, const struct hapd_conn_cfg *cfg,
		  const struct hapd_callbacks *cb, void *ud, struct hapd_conn **out);
/* DETACHes (best effort, without waiting), closes and unlinks the client
 * sockets; pending requests are completed with -ECANCELED before it
 * returns. NULL is allowed. */
void hapd_conn_free(struct hapd_conn *c);

/* reply is NUL-terminated (len excludes the NUL) and valid only during the
 * call. err: 0, -ETIMEDOUT, -ENOTCONN (link lost), -ECANCELED (freed). */
typedef void (*hapd_reply_cb)(int err, const char *reply, size_t len, void *ud);
/* Queues a command (one in flight at a time, in order). Returns 0,
 * -ENOTCONN when not attached (before on_link(true), after on_link(false)),
 * -EMSGSIZE for a command longer than hostapd reads (4095 bytes), -EINVAL
 * for an empty one. cb may be NULL; it is never called from inside
 * hapd_request(). A reply is handed over as it came ("FAIL\n" is a reply,
 * err 0). After a timeout the command socket is replaced, so a late answer
 * cannot pass for the next one. */
int hapd_request(struct hapd_conn *c, const char *cmd, hapd_reply_cb cb, void *ud);

struct hapd_stats {
	bool attached;
	unsigned long events;     /* parsed and delivered */
	unsigned long unknown;    /* well-formed but unknown (-ENOMSG) */
	unsigned long malformed;  /* -EINVAL / -EMSGSIZE, and non-events on the event socket */
	unsigned long reconnects; /* successful re-attaches after a loss */
	unsigned long timeouts;   /* requests (and ATTACH, PING) that timed out */
	unsigned stations;        /* authorized: from the last resync, +/- events since */
};
void hapd_conn_stats(const struct hapd_conn *c, struct hapd_stats *st);
/* Walks STA-FIRST/STA-NEXT again in delay_ms and hands the list to
 * on_resync, as after an attach (e.g. when events could not be recorded:
 * the list brings back what they said). Once: a call while one is pending
 * changes nothing; nothing happens while not attached (the next attach
 * walks anyway). Never calls back from inside. NULL is allowed. */
void hapd_conn_resync(struct hapd_conn *c, unsigned delay_ms);
const char *hapd_conn_ifname(const struct hapd_conn *c);

#endif
