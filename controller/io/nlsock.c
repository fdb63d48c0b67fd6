#include "io/nlsock.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
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

/* ---- synchronous requests ---- */

struct req_state {
	bool done;
	int err;               /* the kernel's errno, negative */
	nl_recvmsg_msg_cb_t valid;
	void *arg;
};

static int req_on_valid(struct nl_msg *msg, void *arg)
{
	struct req_state *s = arg;

	return s->valid ? s->valid(msg, s->arg) : NL_OK;
}

static int req_on_end(struct nl_msg *msg, void *arg)
{
	struct req_state *s = arg;

	(void)msg;
	s->done = true;
	return NL_STOP;
}

static int req_on_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req_state *s = arg;

	(void)nla;
	s->err = e->error < 0 ? e->error : -EIO;
	s->done = true;
	return NL_STOP;
}

int nlsock_request(struct nl_sock *sk, struct nl_msg *msg, nl_recvmsg_msg_cb_t valid, void *arg,
		   int wait_ms)
{
	struct req_state s = { .valid = valid, .arg = arg };
	int r;

	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, req_on_valid, &s);
	nl_socket_modify_cb(sk, NL_CB_ACK, NL_CB_CUSTOM, req_on_end, &s);
	nl_socket_modify_cb(sk, NL_CB_FINISH, NL_CB_CUSTOM, req_on_end, &s);
	nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, req_on_error, &s);
	r = nl_send_auto(sk, msg);
	nlmsg_free(msg);
	if (r < 0)
		return nlsock_errno(r);
	while (!s.done) {
		r = nl_recvmsgs_default(sk);
		if (s.err)
			return s.err;
		if (r < 0)
			return nlsock_errno(r);
		if (s.done)
			break;
		/* Nothing queued yet (not expected from rtnetlink): wait, bounded. */
		struct pollfd pfd = { .fd = nl_socket_get_fd(sk), .events = POLLIN };
		r = poll(&pfd, 1, wait_ms);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
	return s.err;
}

struct nl_msg *nlsock_link_msg(int type, int flags, int family, int ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = (unsigned char)family, .ifi_index = ifindex };
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

	if (msg && nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}
