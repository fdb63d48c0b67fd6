/* linkw.c - link writes (bridge-port isolation, wired-port moves); see
 * linkw.h. The move's steps and log lines are those wport.c had. */
#include "io/linkw.h"

#include <errno.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "io/nlsock.h"
#include "log.h"
#include "util.h"

#define LINKW_REPLY_WAIT_MS 1000 /* a kernel reply is queued at send time */

struct linkw {
	struct nl_sock *req;
};

int linkw_new(struct linkw **out)
{
	struct linkw *lw = calloc(1, sizeof(*lw));
	int r;

	if (!lw)
		return -ENOMEM;
	r = nlsock_open(&lw->req, NULL, 0, 0);
	if (r < 0) {
		free(lw);
		return r;
	}
	*out = lw;
	return 0;
}

void linkw_free(struct linkw *lw)
{
	if (!lw)
		return;
	nl_socket_free(lw->req);
	free(lw);
}

/* One link by name (ifindex 0) or by index (name NULL); -ENODEV if
 * there is no such link. */
static int get_link(struct linkw *lw, const char *name, int ifindex, struct nlsock_link *li)
{
	return nlsock_get_link(lw->req, name, ifindex, li, LINKW_REPLY_WAIT_MS);
}

/* RTM_SETLINK: IFLA_MASTER = master (when >= 0) and/or IFF_UP set or
 * cleared (when up >= 0). */
static int set_link(struct linkw *lw, int ifindex, int master, int up)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_SETLINK, 0);

	if (up >= 0) {
		ifi.ifi_change = IFF_UP;
		ifi.ifi_flags = up ? IFF_UP : 0;
	}
	if (!msg || nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0 ||
	    (master >= 0 && nla_put_u32(msg, IFLA_MASTER, (uint32_t)master) < 0)) {
		nlmsg_free(msg); /* NULL is allowed */
		return -ENOMEM;
	}
	return nlsock_request(lw->req, msg, NULL, NULL, LINKW_REPLY_WAIT_MS);
}

int linkw_isolate(struct linkw *lw, const char *bridge, int ifindex)
{
	struct nlsock_link bl, pl;
	struct nl_msg *msg;
	struct nlattr *nest;
	int r;

	if (!lw || !bridge || ifindex <= 0)
		return -EINVAL;
	r = get_link(lw, bridge, 0, &bl);
	if (r < 0)
		return r;
	r = get_link(lw, NULL, ifindex, &pl);
	if (r < 0)
		return r;
	if (!bl.is_bridge || pl.ifindex == bl.ifindex)
		return -EINVAL;
	if (pl.master != bl.ifindex)
		return -ENODEV; /* not (or no longer) a port of that bridge */
	/* RTM_SETLINK, AF_BRIDGE, IFLA_PROTINFO(nested){IFLA_BRPORT_ISOLATED=1}:
	 * what `bridge link set dev X isolated on` sends; the kernel reads
	 * IFLA_PROTINFO as a nest only with NLA_F_NESTED */
	msg = nlsock_link_msg(RTM_SETLINK, 0, AF_BRIDGE, ifindex);
	if (!msg)
		return -ENOMEM;
	nest = nla_nest_start(msg, IFLA_PROTINFO | NLA_F_NESTED);
	if (!nest || nla_put_u8(msg, IFLA_BRPORT_ISOLATED, 1) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nla_nest_end(msg, nest);
	return nlsock_request(lw->req, msg, NULL, NULL, LINKW_REPLY_WAIT_MS);
}

static const char *link_name(struct linkw *lw, int ifindex, char buf[IFNAMSIZ])
{
	struct nlsock_link li;

	if (ifindex == 0)
		return "(no bridge)";
	if (get_link(lw, NULL, ifindex, &li) < 0 || !li.name[0])
		snprintf(buf, IFNAMSIZ, "#%d", ifindex);
	else
		util_strlcpy(buf, li.name, IFNAMSIZ);
	return buf;
}

int linkw_move(struct linkw *lw, const char *port, const char *bridge, bool bounce)
{
	struct nlsock_link pl, bl;
	char old[IFNAMSIZ];
	int r;

	if (!lw || !port || !bridge)
		return -EINVAL;
	r = get_link(lw, port, 0, &pl);
	if (r < 0)
		return r;
	r = get_link(lw, bridge, 0, &bl);
	if (r < 0)
		return r;
	if (!bl.is_bridge)
		return -ENOTTY;
	if (pl.master == bl.ifindex)
		return 0;
	link_name(lw, pl.master, old);
	r = set_link(lw, pl.ifindex, bl.ifindex, -1);
	if (r < 0) {
		log_err("wired port %s: cannot move it from %s to %s: %s", port, old, bridge, strerror(-r));
		return r;
	}
	log_info("wired port %s moved from %s to %s%s", port, old, bridge, bounce ? " (link bounced)" : "");
	if (bounce) {
		r = set_link(lw, pl.ifindex, -1, 0);
		if (r < 0) {
			log_err("wired port %s: cannot set it down: %s", port, strerror(-r));
			return r;
		}
	}
	if (bounce || !(pl.flags & IFF_UP)) {
		r = set_link(lw, pl.ifindex, -1, 1);
		if (r < 0) {
			log_err("wired port %s: cannot set it up: %s", port, strerror(-r));
			return r;
		}
	}
	return 1;
}

static int direct_isolate(void *ud, const char *bridge, int ifindex)
{
	return linkw_isolate(ud, bridge, ifindex);
}

static int direct_move(void *ud, const char *port, const char *bridge, bool bounce)
{
	return linkw_move(ud, port, bridge, bounce);
}

const struct linkw_ops linkw_ops_direct = { .isolate = direct_isolate, .move = direct_move };
