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
	unsigned request_timeout_ms;/* per request, e.g. 1000 */
	unsigned backoff_min_ms;    /* first reconnect delay, e.g. 100 */
	unsigned backoff_max_ms;    /* cap, e.g. 5000 */
};

struct hapd_callbacks {
	/* Every event parsed from this BSS (hapd_ev_parse() == 0). */
	void (*on_event)(struct hapd_conn *c, const struct hapd_ev *ev, void *ud);
	/* Attached (true) after connect+ATTACH, detached (false) when lost. */
	void (*on_link)(struct hapd_conn *c, bool attached, void *ud);
	/* After every (re)attach: the complete station list (n may be 0).
	 * The array is valid only during the call. */
	void (*on_resync)(struct hapd_conn *c, const struct hapd_sta *stas, unsigned n, void *ud);
};

/* Creates the client and starts connecting (asynchronously; a hostapd that
 * is not there yet is retried with backoff). cfg strings are copied.
 * On success *out is owned by the caller and freed with hapd_conn_free(). */
int hapd_conn_new(struct event_base *base, const struct hapd_conn_cfg *cfg,
		  const struct hapd_callbacks *cb, void *ud, struct hapd_conn **out);
/* DETACHes, closes and unlinks the client sockets; pending requests are
 * completed with -ECANCELED. NULL is allowed. */
void hapd_conn_free(struct hapd_conn *c);

/* reply is NUL-terminated (len excludes the NUL) and valid only during the
 * call. err: 0, -ETIMEDOUT, -ENOTCONN (link lost), -ECANCELED (freed). */
typedef void (*hapd_reply_cb)(int err, const char *reply, size_t len, void *ud);
/* Queues a command. Returns 0, -ENOTCONN when not attached, -EMSGSIZE for a
 * command longer than hostapd reads (4095 bytes). cb may be NULL. */
int hapd_request(struct hapd_conn *c, const char *cmd, hapd_reply_cb cb, void *ud);

struct hapd_stats {
	bool attached;
	unsigned long events;     /* parsed and delivered */
	unsigned long unknown;    /* well-formed but unknown (-ENOMSG) */
	unsigned long malformed;  /* -EINVAL / -EMSGSIZE */
	unsigned long reconnects; /* successful re-attaches after a loss */
	unsigned long timeouts;   /* requests that timed out */
	unsigned stations;        /* from the last resync, +/- events since */
};
void hapd_conn_stats(const struct hapd_conn *c, struct hapd_stats *st);
const char *hapd_conn_ifname(const struct hapd_conn *c);

#endif
