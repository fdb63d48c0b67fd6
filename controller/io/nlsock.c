#include "io/nlsock.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <netlink/attr.h>
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

bool nlsock_brport_isolated(struct nlattr *nest)
{
	struct nlattr *pt[IFLA_BRPORT_MAX + 1];

	if (!nest || nla_parse_nested(pt, IFLA_BRPORT_MAX, nest, NULL) < 0 || !pt[IFLA_BRPORT_ISOLATED])
		return false;
	return nla_get_u8(pt[IFLA_BRPORT_ISOLATED]) != 0;
}

static int on_link(struct nl_msg *msg, void *arg)
{
	struct nlsock_link *li = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1], *info[IFLA_INFO_MAX + 1];
	struct ifinfomsg *ifi;

	if (h->nlmsg_type != RTM_NEWLINK || nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return NL_SKIP;
	ifi = nlmsg_data(h);
	li->ifindex = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	li->master = tb[IFLA_MASTER] ? (int)nla_get_u32(tb[IFLA_MASTER]) : 0;
	if (tb[IFLA_IFNAME])
		nla_strlcpy(li->name, tb[IFLA_IFNAME], sizeof(li->name));
	if (tb[IFLA_LINKINFO] && nla_parse_nested(info, IFLA_INFO_MAX, tb[IFLA_LINKINFO], NULL) == 0) {
		li->is_bridge = info[IFLA_INFO_KIND] && nla_strcmp(info[IFLA_INFO_KIND], "bridge") == 0;
		if (info[IFLA_INFO_SLAVE_KIND] && nla_strcmp(info[IFLA_INFO_SLAVE_KIND], "bridge") == 0)
			li->isolated = nlsock_brport_isolated(info[IFLA_INFO_SLAVE_DATA]);
	}
	return NL_OK;
}

int nlsock_get_link(struct nl_sock *sk, const char *name, int ifindex, struct nlsock_link *out, int wait_ms)
{
	struct nl_msg *msg = nlsock_link_msg(RTM_GETLINK, 0, AF_UNSPEC, ifindex);
	int r;

	memset(out, 0, sizeof(*out));
	if (!msg)
		return -ENOMEM;
	if (name && nla_put_string(msg, IFLA_IFNAME, name) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = nlsock_request(sk, msg, on_link, out, wait_ms);
	return r == 0 && out->ifindex == 0 ? -ENODEV : r;
}
