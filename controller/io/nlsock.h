/* nlsock.h - what every rtnetlink user in io/ needs from libnl-3 the same
 * way (nl.c: guest port isolation, wport.c: wired ports): a non-blocking
 * NETLINK_ROUTE socket, either for requests or joined to notification
 * groups with a large receive buffer (STYLE 10), and libnl's error codes as
 * negative errno. No state.
 */
#ifndef APGATE_NLSOCK_H
#define APGATE_NLSOCK_H

#include <stdbool.h>

#include <netlink/handlers.h>

struct nl_sock;
struct nl_msg;

/* A non-blocking NETLINK_ROUTE socket. n_groups = 0: for requests. Else it
 * joins groups[0..n_groups) (RTNLGRP_*), skips sequence checks, and gets a
 * receive buffer of rcvbuf bytes (beyond net.core.rmem_max when the
 * process has CAP_NET_ADMIN). Messages larger than a page are peeked.
 * 0 and *out (free with nl_socket_free()), or a negative errno. */
int nlsock_open(struct nl_sock **out, const int *groups, unsigned n_groups, int rcvbuf);

/* libnl's NLE_* (either sign) as a negative errno; 0 stays 0. */
int nlsock_errno(int nle);

/* A synchronous request on a request socket (rtnetlink answers at once):
 * sends msg (freed here, whatever happens) and reads replies until the
 * ack, the kernel's error or the end of a dump, handing each data message
 * to valid (may be NULL) with arg. Waits at most wait_ms for a reply that
 * is not queued yet. 0, the kernel's own negative errno for a refused
 * request, -ETIMEDOUT, or another negative errno. */
int nlsock_request(struct nl_sock *sk, struct nl_msg *msg, nl_recvmsg_msg_cb_t valid, void *arg,
		   int wait_ms);

/* An RTM_*LINK message with an ifinfomsg header for family and ifindex;
 * NULL when out of memory. The caller frees it (or hands it to
 * nlsock_request()). */
struct nl_msg *nlsock_link_msg(int type, int flags, int family, int ifindex);

/* What RTM_GETLINK says about one link (AF_UNSPEC). */
struct nlsock_link {
	int ifindex;
	int master;        /* ifindex of its bridge (or other master), 0 = none */
	unsigned flags;    /* IFF_* */
	bool is_bridge;    /* the link is a bridge */
	bool isolated;     /* as a bridge port: IFLA_BRPORT_ISOLATED is set */
	char name[16];     /* IFNAMSIZ */
};
/* One link by name (ifindex 0) or by index (name NULL), through request
 * socket sk, waiting at most wait_ms. 0, -ENODEV when there is no such
 * link, or another negative errno. */
int nlsock_get_link(struct nl_sock *sk, const char *name, int ifindex, struct nlsock_link *out, int wait_ms);
/* IFLA_BRPORT_ISOLATED in a nest of IFLA_BRPORT_* attributes (a bridge
 * port's IFLA_INFO_SLAVE_DATA or IFLA_PROTINFO); false for NULL. */
struct nlattr;
bool nlsock_brport_isolated(struct nlattr *nest);

#endif
