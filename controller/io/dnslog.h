/* dnslog.h - follows dnsmasq's query log ([dnsmasq] query_log, written by
 * dnsmasq through log-facility with log-queries=extra) on the event loop
 * and reports the names dnsmasq answered NXDOMAIN from its own
 * configuration (the DNS blocklist's server=/DOMAIN/ lines), with the
 * client that asked.
 *
 * Line formats of dnsmasq 2.90 (Debian 12; 2.89 writes the same), with
 * log-queries=extra and a log-facility file:
 *
 *   Nov 23 15:52:18 dnsmasq[20116]: 2 10.77.0.23/45815 query[A] bad.example from 10.77.0.23
 *   Nov 23 15:52:18 dnsmasq[20116]: 2 10.77.0.23/45815 config bad.example is NXDOMAIN
 *   Nov 23 15:52:17 dnsmasq[20116]: 1 10.77.0.23/49757 forwarded good.example to 198.51.100.10
 *   Nov 23 15:52:17 dnsmasq[20116]: 1 10.77.0.23/49757 reply good.example is 1.2.3.4
 *   Nov 23 15:52:17 dnsmasq[20116]: using only locally-known addresses for bad.example
 *
 * "<serial> <client>/<port>" is the same on every line about one query
 * (serial counts queries since dnsmasq started); the client may be IPv6
 * ("fd77::23/5353"). Names are whatever the client sent: dnsmasq prints
 * most bytes as they are, so a name is data (checked, bounded, escaped).
 *
 * The file: dnsmasq opens it O_APPEND and keeps it open, so after
 * apgated truncates it dnsmasq's next line lands at offset 0 (measured).
 * The follower reads from where it stopped when inotify says the file was
 * written (and every few seconds in case an event was missed), starts a
 * new file from its beginning when the path is replaced (rotation), and
 * starts over when the file shrank (truncated by someone else). After
 * catching up with a file larger than DNSLOG_TRUNCATE_AT it truncates it,
 * so the log does not grow without bound; lines dnsmasq writes between the
 * last read and the truncation (a window of microseconds) are lost. At
 * start the existing content is skipped (read before apgated stopped).
 *
 * Errors are negative errno values.
 */
#ifndef APGATE_DNSLOG_H
#define APGATE_DNSLOG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

#define DNSLOG_LINE_MAX 1024          /* longer lines are skipped whole */
#define DNSLOG_NAME_MAX 253
#define DNSLOG_TRUNCATE_AT (256 * 1024)

enum dnslog_kind {
	DNSLOG_OTHER = 0,     /* anything else (start-up lines, forwards, replies) */
	DNSLOG_QUERY,         /* "query[TYPE] NAME from IP" */
	DNSLOG_BLOCKED,       /* "config NAME is NXDOMAIN" */
};

struct dnslog_line {
	enum dnslog_kind kind;
	unsigned long serial;
	char client[INET6_ADDRSTRLEN];  /* the address that asked, checked */
	char qtype[16];                 /* DNSLOG_QUERY: "A", "AAAA", "type=65", ... */
	/* the name, bounded; every byte outside [A-Za-z0-9._-] replaced by
	 * '?' so it is safe to store, log and show */
	char name[DNSLOG_NAME_MAX + 1];
};

/* Parses one line (without its newline; need not be NUL-terminated).
 * Returns 0 with out filled (kind OTHER for lines of no interest), or
 * -EINVAL for a query or NXDOMAIN line that is malformed (bad client
 * address, name missing). Pure: no I/O. */
int dnslog_parse(const char *line, size_t len, struct dnslog_line *out);

struct event_base;
struct dnslog;

/* A blocked look-up: client asked for name (escaped as above), qtype as in
 * the query line ("?" when that line was not seen). */
typedef void (*dnslog_cb)(const char *client, const char *name, const char *qtype, void *ud);

/* Follows path (created by dnsmasq; it need not exist yet). Returns 0 and
 * *out (free with dnslog_free()), or a negative errno (-EINVAL bad
 * arguments, inotify errors). */
int dnslog_new(struct event_base *base, const char *path, dnslog_cb cb, void *ud,
	       struct dnslog **out);
void dnslog_free(struct dnslog *l);

struct dnslog_stats {
	unsigned long lines, blocked, skipped, truncations, reopens;
};
void dnslog_get_stats(const struct dnslog *l, struct dnslog_stats *st);

/* Reads what is new now (tests; the loop does it by itself). */
void dnslog_poll(struct dnslog *l);

#endif
