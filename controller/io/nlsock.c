#include "io/nlsock.h"

#include <errno.h>
#include <sys/socket.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

int nlsock_errno(int e)
{
	switch (e < 0 ? -e : e) {
	case 0: return 0;
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_NODEV:
	case NLE_OBJ_NOTFOUND: return -ENODEV;
	case NLE_OPNOTSUPP: return -EOPNOTSUPP;
	case NLE_INVAL: return -EINVAL;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_BUSY: return -EBUSY;
	case NLE_EXIST: return -EEXIST;
	case NLE_RANGE: return -ERANGE;
	default: return -EIO;
	}
}

int nlsock_open(struct nl_sock **out, const int *groups, unsigned n_groups, int rcvbuf)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk)
		return -ENOMEM;
	if (n_groups)
		nl_socket_disable_seq_check(sk);
	nl_socket_enable_msg_peek(sk); /* messages larger than a page */
	r = nl_connect(sk, NETLINK_ROUTE);
	for (unsigned i = 0; r == 0 && i < n_groups; i++)
		r = nl_socket_add_membership(sk, groups[i]);
	if (r == 0 && n_groups) {
		int fd = nl_socket_get_fd(sk), sz = rcvbuf;
		/* beyond net.core.rmem_max with CAP_NET_ADMIN, else capped */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			r = nl_socket_set_buffer_size(sk, rcvbuf, 0);
	}
	if (r == 0)
		r = nl_socket_set_nonblocking(sk);
	if (r < 0) {
		nl_socket_free(sk);
		return nlsock_errno(r);
	}
	*out = sk;
	return 0;
}
