/* linkw.h - the netlink writes apgate makes to links (libnl-route-3):
 * isolating a port of the guest bridge and moving a wired port into a
 * zone's bridge (optionally bouncing its link). Both need CAP_NET_ADMIN.
 *
 * nl.c (guest port isolation) and wport.c (wired ports) observe from the
 * daemon's loop and decide nothing but which port; the write itself goes
 * through a struct linkw_ops: either linkw_ops_direct (this module, in the
 * same process: the unit tests, a daemon without the privileged helper)
 * or the privileged helper's client (priv/priv.h), which sends a fixed,
 * checked message and lets the helper call this module.
 *
 * One blocking request socket (rtnetlink answers at once; bounded wait).
 * Errors are negative errno (the kernel's own for a refused request).
 */
#ifndef APGATE_LINKW_H
#define APGATE_LINKW_H

#include <stdbool.h>

struct linkw;

struct linkw_ops {
	/* Sets IFLA_BRPORT_ISOLATED on the link ifindex, which must be a
	 * port of bridge: -ENODEV when it is gone or no longer in bridge,
	 * -EINVAL when bridge is no bridge. 0 or -errno. */
	int (*isolate)(void *ud, const char *bridge, int ifindex);
	/* Puts port into bridge unless it is there: 1 moved, 0 already there,
	 * -ENODEV port or bridge missing, -ENOTTY bridge is no bridge, or the
	 * kernel's -errno. bounce: set the port down and up after a move; the
	 * port is set up after any move. */
	int (*move)(void *ud, const char *port, const char *bridge, bool bounce);
};

/* ud is a struct linkw *. */
extern const struct linkw_ops linkw_ops_direct;

/* 0 and *out (free with linkw_free()), or a negative errno. */
int linkw_new(struct linkw **out);
void linkw_free(struct linkw *lw);

int linkw_isolate(struct linkw *lw, const char *bridge, int ifindex);
int linkw_move(struct linkw *lw, const char *port, const char *bridge, bool bounce);

#endif
