/* wport.h - the LAN ports of a mini-PC access point: which stations the
 * bridges learn on them (bridge FDB), and moving a port from one zone's
 * bridge to another's (libnl-route-3).
 *
 * Each zone has a Linux bridge (onboarding, work, guest). The controller
 * decides which bridge a wired port belongs in; this module only observes
 * (links appearing and disappearing, MACs the bridges learn on the ports)
 * and executes (wport_move). It never decides.
 *
 * Ports are followed by name: a port removed and created again (a USB NIC
 * unplugged and plugged in) gets a new ifindex, and is reported as gone
 * then present again. Notifications are taken as hints: whenever one says
 * something changed about a port's presence, the port is looked up again,
 * so a stale notification cannot mislead the module.
 *
 * Two non-blocking netlink sockets on the daemon's libevent loop (STYLE
 * 10): one joined to RTNLGRP_LINK and RTNLGRP_NEIGH for notifications,
 * with a 1 MiB receive buffer, and one for requests (rtnetlink answers
 * requests synchronously: the reply is queued before the send returns, so
 * the request socket never waits on another process). An overrun of the
 * notification socket (ENOBUFS: events were lost) is answered from the
 * loop by a rescan: every port is looked up again and the FDB dumped.
 *
 * wport_move() is idempotent: a port already in the bridge is not written
 * (no link flap). Moving a port out of a bridge makes the kernel forget
 * the MACs learned on it there (RTM_DELNEIGH, not reported); they are
 * reported again when the new bridge learns them from the next frame.
 *
 * The moves go through a writer (io/linkw.h, wport_set_writer): in apgated
 * the privileged helper, which holds CAP_NET_ADMIN; observing needs no
 * capability. The tests drive real links and bridges in a private network
 * namespace.
 *
 * Callbacks run from the loop (and from wport_new/wport_rescan). They may
 * call wport_move(), wport_master(), wport_rescan() and wport_free().
 *
 * Errors are negative errno. Not thread-safe; no global state.
 */
#ifndef APGATE_WPORT_H
#define APGATE_WPORT_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct wport;
struct linkw_ops;

#define WPORT_MAX 32

struct wport_cbs {
	/* A MAC the bridge learned on one of the ports: RTM_NEWNEIGH,
	 * ndm_family AF_BRIDGE, on a configured port's ifindex; not
	 * NUD_PERMANENT entries (the port's own/local addresses), not NTF_SELF
	 * entries (the port's own hardware FDB), not multicast MACs. Also
	 * called for every such entry found by the start-up dump and by
	 * wport_rescan(). mac is canonical lower-case "aa:bb:cc:dd:ee:ff";
	 * port is the configured name. Repeats are fine (the caller is
	 * idempotent). May be NULL. */
	void (*on_station)(const char *port, const char *mac, void *ud);
	/* A configured port appeared (present=true: it exists now, e.g. a USB
	 * NIC plugged in, or it existed at start: called once per existing port
	 * from wport_new()) or disappeared (false). A port deleted and created
	 * again is reported false then true. May be NULL. */
	void (*on_port)(const char *port, bool present, void *ud);
};

struct wport_stats {
	unsigned ports, present;  /* configured; existing now */
	unsigned long moves;      /* wport_move returned 1 */
	unsigned long bounces;    /* of those: the port was set down and up */
	unsigned long failed;     /* wport_move returned a negative errno */
	unsigned long learned;    /* on_station calls */
	unsigned long overruns;   /* ENOBUFS: a rescan followed */
	unsigned long rescans;    /* FDB dumps (start-up, wport_rescan, overrun) */
};

/* Follows the given ports (names copied; 1..WPORT_MAX of them, no
 * duplicates) on base. Calls on_port(true) for each that exists now, then
 * dumps the bridge FDB and calls on_station for what is learned on them.
 * Returns 0, -EINVAL (bad name or n, or base/ports/cb/out NULL), -ENOMEM,
 * or a negative errno from netlink (-EPERM without CAP_NET_ADMIN). Ports
 * that do not exist yet are fine (waited for). *out is owned by the
 * caller, freed with wport_free(). cb is copied, ud borrowed. */
int wport_new(struct event_base *base, const char *const *ports, unsigned n,
	      const struct wport_cbs *cb, void *ud, struct wport **out);

/* Stops following the ports; leaves them in whatever bridge they are in.
 * NULL is allowed; so is a call from one of the callbacks. */
void wport_free(struct wport *w);

/* Puts port into bridge (RTM_SETLINK with IFLA_MASTER), if it is not there
 * yet. Returns 1 moved, 0 already there (nothing written: idempotent, no
 * link flap), -EINVAL port not configured (or bridge not an interface
 * name), -ENODEV port or bridge does not exist, -ENOTTY bridge is not a
 * bridge, or another negative errno from the kernel. With bounce = true
 * and a real move: the port is set down and up again after the move, so
 * the device behind it sees its link drop and asks for a new DHCP lease in
 * the new zone (on a real NIC the link stays down for the
 * autonegotiation, typically 1-3 s; on a veth only between the two
 * requests). The port is set up (IFF_UP) after any move, bounced or not.
 * If the move succeeded but setting the port down or up failed, the port
 * stays in the new bridge and that errno is returned (logged). */
int wport_move(struct wport *w, const char *port, const char *bridge, bool bounce);

/* The bridge (master) port is in now: its name into buf ("" when it has
 * no master). Returns 0, -EINVAL not configured, -ENODEV missing,
 * -ENAMETOOLONG buf too small, or another negative errno. */
int wport_master(struct wport *w, const char *port, char *buf, size_t len);

/* Looks every port up again (on_port for what changed) and dumps the FDB,
 * calling on_station for every entry on the ports (the controller calls it
 * after start-up reconciliation). Returns 0 or a negative errno. */
int wport_rescan(struct wport *w);

/* Makes wport_move() go through lw (io/linkw.h; a static table, ud
 * borrowed): apgated passes the privileged helper's client (priv/priv.h).
 * Until then moves use linkw_ops_direct on a socket of the module's own. */
void wport_set_writer(struct wport *w, const struct linkw_ops *lw, void *ud);

void wport_get_stats(const struct wport *w, struct wport_stats *st);

#endif
