/* notify.h - delivers alerts outside the AP: a JSON POST to a webhook
 * (libcurl's multi interface driven by the libevent loop: sockets and
 * timers are the loop's, nothing blocks) and an e-mail through the local
 * sendmail (a child process fed through a non-blocking pipe, reaped
 * through a pidfd on the loop: no SIGCHLD handler, no waitpid() that
 * blocks).
 *
 * Webhook: one POST in flight at a time, in order. A failed attempt
 * (no connection, timeout, HTTP 5xx or 429) is retried after 1, 2, 4, ...
 * seconds, at most retry_max_s apart, until it is delivered; other HTTP
 * answers (3xx: redirects are not followed; 4xx: the receiver refuses it)
 * drop the alert with an error line.
 * At most NOTIFY_QUEUE_MAX alerts wait; a new one then drops the oldest
 * waiting one (logged). Proxies from the environment are not used.
 *
 * Body (application/json):
 *   {"id": 12, "ts": 1763913138000, "kind": "new_device",
 *    "mac": "02:00:00:00:00:01", "message": "...", "ap": "<hostname>",
 *    "device": {"label": "Till 1", "ip": "10.77.0.23", "zone": "work"}}
 * ("mac" null for an alert about no device, "device" only when known,
 * its members only when set.)
 *
 * E-mail: `sendmail -t -i` with To: from mail_to (checked by cfg: no
 * control characters), a Subject and body from the alert with every
 * control character removed (no header injection through device data),
 * non-ASCII subjects RFC 2047 encoded. At most NOTIFY_MAIL_MAX children at
 * once; a child still running after NOTIFY_MAIL_TIMEOUT_S is killed.
 * Caveat: apgated runs with no_new_privs (apgated.service
 * NoNewPrivileges=yes, and the privilege split sets it too), so a sendmail
 * that needs its set-group-ID or set-user-ID bit (Postfix's postdrop,
 * Exim) cannot queue the mail; one that submits over SMTP as the calling
 * user (msmtp-mta, dma configured for a relay) works. Submitting to
 * localhost:25 with libcurl's SMTP on the same multi handle is the way
 * round it (not done).
 *
 * Errors are negative errno values.
 */
#ifndef APGATE_NOTIFY_H
#define APGATE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#define NOTIFY_QUEUE_MAX 64
#define NOTIFY_MAIL_MAX 4
#define NOTIFY_MAIL_TIMEOUT_S 30

struct event_base;
struct notify;

/* Where alerts go; strings are copied. */
struct notify_cfg {
	const char *webhook;       /* http(s) URL or NULL */
	unsigned timeout_ms;       /* per attempt (connect + answer) */
	unsigned retry_max_s;      /* longest wait between attempts, >= 1 */
	const char *mail_to;       /* address(es) or NULL */
	const char *sendmail;      /* absolute path of sendmail */
};

/* One alert; strings are copied, any may be NULL but kind and message. */
struct notify_alert {
	int64_t id;
	int64_t ts;                /* ms since the epoch */
	const char *kind, *mac, *message;
	const char *label, *ip, *zone; /* the device's, when known */
};

/* Returns 0 and *out (free with notify_free()), or a negative errno
 * (-ENOMEM, -EIO when libcurl cannot start). */
int notify_new(struct event_base *base, const struct notify_cfg *cfg, struct notify **out);
/* Takes a new configuration (a reload): waiting webhook alerts go to the
 * new URL; without a webhook they are dropped. */
int notify_set_cfg(struct notify *n, const struct notify_cfg *cfg);
/* Frees; alerts not delivered yet are dropped (logged with their count),
 * running sendmail children are left to finish on their own. */
void notify_free(struct notify *n);

/* Hands an alert to each configured delivery. */
void notify_send(struct notify *n, const struct notify_alert *a);

struct notify_stats {
	bool webhook, mail;        /* configured */
	unsigned queued;           /* webhook alerts waiting (incl. in flight) */
	unsigned attempt;          /* failed attempts of the oldest one so far */
	unsigned long delivered, attempts_failed, dropped, refused;
	unsigned long mails_sent, mails_failed, mails_dropped;
	int64_t last_ok_ms, last_fail_ms;   /* wall clock, 0 = never */
	int64_t next_retry_ms;              /* wall clock, 0 = none waiting */
	char last_error[128];               /* "" = none */
};
void notify_get_stats(const struct notify *n, struct notify_stats *st);

/* The wait before attempt number `failed + 1` after `failed` failures
 * (>= 1): 1, 2, 4, ... seconds, never above max_s (>= 1). Pure. */
unsigned notify_backoff_s(unsigned failed, unsigned max_s);

/* Writes the JSON body for a (with ap as "ap"); returns a string the
 * caller frees with free(), or NULL on ENOMEM. Pure. */
char *notify_json(const struct notify_alert *a, const char *ap);

/* Writes the e-mail (headers and body) for a to a new string the caller
 * frees with free(); NULL on ENOMEM. now: seconds since the epoch for
 * the Date header. Pure. */
char *notify_mail(const struct notify_alert *a, const char *to, const char *ap, int64_t now);

#endif
