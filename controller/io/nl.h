/* nl.h - bridge-port isolation of the guest zone's bridge (libnl-route-3).
 *
 * Guests must never reach each other. On Wi-Fi hostapd's ap_isolate does
 * it; on a wired guest bridge (several LAN ports enslaved to one Linux
 * bridge) every port gets IFLA_BRPORT_ISOLATED (what `bridge link set dev X
 * isolated on` does): isolated ports forward only to non-isolated ports,
 * i.e. to the bridge itself (the gateway) and an uplink port, never to each
 * other.
 *
 * brport_new() isolates every current port of the bridge (a reconcile: an
 * AF_BRIDGE link dump, one RTM_SETLINK per port that is not isolated yet)
 * and then follows RTNLGRP_LINK on the daemon's libevent loop: a port
 * enslaved later is isolated when its notification arrives; a port whose
 * flag someone cleared is isolated again (and a warning is logged: it is
 * not required silently). Everything is idempotent: a port already isolated
 * is not written, so our own notifications cause no further requests.
 *
 * Two non-blocking netlink sockets (STYLE 10): one joined to RTNLGRP_LINK
 * for notifications, with a 1 MiB receive buffer, and one for requests
 * (rtnetlink answers requests synchronously, so a reply is queued before
 * the send returns; the request socket never waits on another process).
 * An overrun of the notification socket (ENOBUFS: events were lost) is
 * answered by a full reconcile from the loop. The bridge is followed by
 * name: if it is deleted and created again (new ifindex) it is reconciled.
 *
 * libnl 3.7 has no setter for the isolated flag (struct rtnl_link's bridge
 * flags stop at LEARNING_SYNC), so the RTM_SETLINK message (AF_BRIDGE,
 * IFLA_PROTINFO nested with IFLA_BRPORT_ISOLATED) is built with nl_msg/nla.
 *
 * If the interface exists and is not a bridge (the Wi-Fi case: hostapd
 * isolates stations), the module does nothing and logs that once at info
 * (no sockets are kept). If it does not exist yet, it waits for it
 * (warning logged); should it then appear as something else than a bridge,
 * that is logged once and its later link events are ignored.
 *
 * brport_free() leaves the flags set: the network stays closed if apgated
 * stops. The one write (RTM_SETLINK isolated on) goes through a writer
 * (io/linkw.h, brport_new_with): in apgated the privileged helper, which
 * holds CAP_NET_ADMIN; observing needs no capability. The tests drive a
 * real bridge in a private network namespace.
 *
 * Errors are negative errno. Not thread-safe; no global state.
 */
#ifndef APGATE_NL_H
#define APGATE_NL_H

#include <stdbool.h>

struct event_base;
struct brport;
struct linkw_ops;

struct brport_stats {
	bool active;            /* the interface is a bridge being followed */
	unsigned ports;         /* ports of the bridge known isolated now */
	unsigned long isolated; /* RTM_SETLINK isolated on, succeeded (total) */
	unsigned long restored; /* of those: ports whose flag someone cleared */
	unsigned long failed;   /* RTM_SETLINK refused by the kernel */
	unsigned long reconciles; /* full dumps (start-up, overrun, bridge re-created) */
	unsigned long overruns; /* ENOBUFS on the notification socket */
};

/* Isolates every port of bridge_ifname now and follows the bridge on base.
 * bridge_ifname is copied. Returns 0 (also when the interface is not a
 * bridge or does not exist: see above), -EINVAL (bad name), -ENOMEM, or a
 * negative errno from netlink (e.g. -EPERM without CAP_NET_ADMIN) when the
 * sockets cannot be set up or the start-up reconcile failed. *out is owned
 * by the caller, freed with brport_free(). */
int brport_new(struct event_base *base, const char *bridge_ifname, struct brport **out);

/* The same, with the isolation requests (RTM_SETLINK, the only write)
 * made through lw (io/linkw.h; kept by reference, a static table; lw_ud
 * borrowed): apgated passes the privileged helper's client (priv/priv.h).
 * brport_new() uses linkw_ops_direct on a socket of its own. */
int brport_new_with(struct event_base *base, const char *bridge_ifname, const struct linkw_ops *lw,
		    void *lw_ud, struct brport **out);

/* Stops following the bridge; the isolation flags stay. NULL is allowed. */
void brport_free(struct brport *b);

/* Reconciles now (what start-up and an overrun do). Returns 0, or a
 * negative errno if the dump or a port's request failed. */
int brport_reconcile(struct brport *b);

void brport_get_stats(const struct brport *b, struct brport_stats *out);

#endif
