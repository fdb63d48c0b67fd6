/* fdb.h - an observer of who is on the AP's segments: the bridge
 * forwarding database (which MAC a bridge learned on which port) and the
 * neighbour tables (ARP/NDP: which MAC answers for which address) of a
 * set of interfaces - the zones' bridges and the uplink - from rtnetlink
 * (RTNLGRP_NEIGH), with a dump at start. It reports; it never enforces and
 * never decides (ctl_unmanaged.c does).
 *
 * Reported:
 *  - FDB_LEARNED: an AF_BRIDGE neighbour entry whose master (NDA_MASTER) is
 *    one of the watched interfaces: mac learned on port (the port's name).
 *    Not reported: the bridge's and ports' own addresses (NUD_PERMANENT,
 *    "local"), NTF_SELF entries (a port's hardware FDB), multicast and
 *    zero MACs.
 *  - FDB_NEIGHBOUR: an AF_INET/AF_INET6 neighbour entry on a watched
 *    interface that resolved (not INCOMPLETE/FAILED/NOARP): mac has ip.
 *    gateway tells whether ip is the gateway of a default route through
 *    that interface (routes are read at start and after each route change).
 * Repeats are normal (each refresh of an entry, each rescan); callers are
 * idempotent. Deletions are not reported.
 *
 * Two non-blocking netlink sockets on the loop (STYLE 10): one joined to
 * RTNLGRP_NEIGH, RTNLGRP_LINK and the route groups with a 1 MiB receive
 * buffer; one for the dumps (rtnetlink answers at once). An overrun of the
 * first (events lost) is answered by a rescan. Interfaces are followed by
 * name (a bridge created after start is found when it appears).
 *
 * The callback may call fdb_rescan() but not fdb_free(). Errors are
 * negative errno; no global state.
 */
#ifndef APGATE_FDB_H
#define APGATE_FDB_H

#include <stdbool.h>

struct event_base;
struct fdb;

#define FDB_MAX_IFACES 8

enum fdb_kind { FDB_LEARNED, FDB_NEIGHBOUR };

struct fdb_seen {
	enum fdb_kind kind;
	const char *mac;      /* canonical "aa:bb:cc:dd:ee:ff" */
	const char *iface;    /* the watched interface (bridge or uplink) */
	const char *port;     /* FDB_LEARNED: the bridge port's name ("?" if gone) */
	const char *ip;       /* FDB_NEIGHBOUR: the address, else NULL */
	bool gateway;         /* FDB_NEIGHBOUR: ip is a default route's gateway,
			       * mac answers for one on that interface, or the
			       * kernel knows it as an IPv6 router */
};

typedef void (*fdb_cb)(const struct fdb_seen *s, void *ud);

/* Watches ifaces[0..n) (names copied; 1..FDB_MAX_IFACES, each a valid
 * interface name; they need not exist yet) on base: dumps the tables and
 * reports what they hold, then follows changes. 0 and *out (free with
 * fdb_free()), -EINVAL, -ENOMEM, or a negative errno from netlink. */
int fdb_new(struct event_base *base, const char *const *ifaces, unsigned n, fdb_cb cb, void *ud,
	    struct fdb **out);
/* Dumps everything again (and reports it). 0 or a negative errno. */
int fdb_rescan(struct fdb *f);
void fdb_free(struct fdb *f); /* NULL is fine */

#endif
