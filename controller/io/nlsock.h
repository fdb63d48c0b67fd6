/* nlsock.h - what every rtnetlink user in io/ needs from libnl-3 the same
 * way (nl.c: guest port isolation, wport.c: wired ports): a non-blocking
 * NETLINK_ROUTE socket, either for requests or joined to notification
 * groups with a large receive buffer (STYLE 10), and libnl's error codes as
 * negative errno. No state.
 */
#ifndef APGATE_NLSOCK_H
#define APGATE_NLSOCK_H

struct nl_sock;

/* A non-blocking NETLINK_ROUTE socket. n_groups = 0: for requests. Else it
 * joins groups[0..n_groups) (RTNLGRP_*), skips sequence checks, and gets a
 * receive buffer of rcvbuf bytes (beyond net.core.rmem_max when the
 * process has CAP_NET_ADMIN). Messages larger than a page are peeked.
 * 0 and *out (free with nl_socket_free()), or a negative errno. */
int nlsock_open(struct nl_sock **out, const int *groups, unsigned n_groups, int rcvbuf);

/* libnl's NLE_* (either sign) as a negative errno; 0 stays 0. */
int nlsock_errno(int nle);

#endif
