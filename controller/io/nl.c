/* nl.c - bridge-port isolation through libnl-route-3; see nl.h.
 *
 * Messages are parsed with nlmsg_parse/nla_parse_nested rather than
 * through the route/link cache: the cache's AF_UNSPEC link objects do not
 * carry the bridge-port flags, the AF_BRIDGE notifications do (IFLA_MASTER
 * and IFLA_PROTINFO with IFLA_BRPORT_ISOLATED), as does the AF_UNSPEC
 * reply to a single-link request (IFLA_LINKINFO -> IFLA_INFO_SLAVE_DATA).
 *
 * A notification can be stale: a port's "up" notification may sit in the
 * queue behind the request that isolated it. So a notification that says
 * "not isolated" is checked against the port's current state (one request)
 * before anything is written, and a port is reported as "cleared by
 * someone" only if that check agrees.
 */
#include "nl.h"

#include <errno.h>
#include <event2/event.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "io/linkw.h"
#include "io/nlsock.h"
#include "log.h"
#include "util.h"

#define BRPORT_RCVBUF (1 << 20)    /* notification socket receive buffer */
#define BRPORT_REPLY_WAIT_MS 1000  /* a kernel reply is queued at send time */
#define BRPORT_DRAIN_MAX 256       /* datagrams per wake-up, then yield */

struct brport {
	struct event_base *base;
	char ifname[IFNAMSIZ];
	int br_ifindex;        /* 0: no bridge of that name now */
	int other_ifindex;     /* an interface of that name that is no bridge */
	bool missing_logged;
	bool need_reconcile;   /* set while draining, run after */
	struct nl_sock *ev;    /* RTNLGRP_LINK */
	struct nl_cb *ev_cb;   /* the ev socket's callbacks (a reference) */
	struct nl_sock *req;   /* requests */
	const struct linkw_ops *lw; /* the writes (isolation) */
	void *lw_ud;
	struct linkw *own_lw;  /* lw_ud when no writer was given */
	struct event *ev_read;
	int *ports;            /* ifindexes known isolated */
	unsigned n_ports, cap_ports;
	struct brport_stats st;
};

/* ---- small helpers ---- */

static const char *port_name(int ifindex, char buf[IF_NAMESIZE + 8])
{
	if (!if_indextoname((unsigned)ifindex, buf))
		snprintf(buf, IF_NAMESIZE + 8, "#%d", ifindex);
	return buf;
}

static bool ports_has(const struct brport *b, int ifindex)
{
	for (unsigned i = 0; i < b->n_ports; i++)
		if (b->ports[i] == ifindex)
			return true;
	return false;
}

static void ports_add(struct brport *b, int ifindex)
{
	if (ports_has(b, ifindex))
		return;
	if (b->n_ports == b->cap_ports) {
		unsigned cap = b->cap_ports ? 2 * b->cap_ports : 8;
		int *p = realloc(b->ports, cap * sizeof(*p));
		if (!p) /* only the bookkeeping suffers: a later "not isolated" is checked anyway */
			return;
		b->ports = p;
		b->cap_ports = cap;
	}
	b->ports[b->n_ports++] = ifindex;
}

static void ports_remove(struct brport *b, int ifindex)
{
	for (unsigned i = 0; i < b->n_ports; i++)
		if (b->ports[i] == ifindex) {
			b->ports[i] = b->ports[--b->n_ports];
			return;
		}
}

/* The isolated flag in a nested set of IFLA_BRPORT_* attributes. */
/* ---- requests (the request socket; rtnetlink answers synchronously) ---- */

static int request(struct brport *b, struct nl_msg *msg, nl_recvmsg_msg_cb_t valid, void *arg)
{
	return nlsock_request(b->req, msg, valid, arg, BRPORT_REPLY_WAIT_MS);
}

static int get_link(struct brport *b, const char *name, int ifindex, struct nlsock_link *li)
{
	return nlsock_get_link(b->req, name, ifindex, li, BRPORT_REPLY_WAIT_MS);
}

/* The write goes through the writer (linkw.h): this process's own
 * netlink socket, or the privileged helper. */
static int set_isolated(struct brport *b, int ifindex)
{
	return b->lw->isolate(b->lw_ud, b->ifname, ifindex);
}

/* Isolates one port; cleared = it was known isolated before. */
static void isolate(struct brport *b, int ifindex, bool cleared)
{
	char nb[IF_NAMESIZE + 8];
	int r = set_isolated(b, ifindex);

	if (r == -ENODEV) { /* gone meanwhile */
		ports_remove(b, ifindex);
		return;
	}
	if (r < 0) {
		b->st.failed++;
		log_err("bridge %s: cannot isolate port %s: %s", b->ifname, port_name(ifindex, nb), strerror(-r));
		return;
	}
	b->st.isolated++;
	ports_add(b, ifindex);
	if (cleared) {
		b->st.restored++;
		log_warn("bridge %s: port %s had its isolation cleared by someone else; isolated again",
			 b->ifname, port_name(ifindex, nb));
	} else {
		log_info("bridge %s: port %s isolated", b->ifname, port_name(ifindex, nb));
	}
}

/* ---- reconcile: AF_BRIDGE dump of every bridge port ---- */

struct dump_state {
	struct brport *b;
	int *todo;
	unsigned n_todo, cap_todo;
	bool nomem;
};

/* Returns true for a message about a port of our bridge. */
static bool parse_port(const struct brport *b, struct nlmsghdr *h, int *ifindex, bool *isolated)
{
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;

	if (nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return false;
	ifi = nlmsg_data(h);
	if (ifi->ifi_family != AF_BRIDGE || b->br_ifindex == 0 || ifi->ifi_index == b->br_ifindex ||
	    !tb[IFLA_MASTER] || (int)nla_get_u32(tb[IFLA_MASTER]) != b->br_ifindex)
		return false;
	*ifindex = ifi->ifi_index;
	*isolated = nlsock_brport_isolated(tb[IFLA_PROTINFO]);
	return true;
}

static int on_dump(struct nl_msg *msg, void *arg)
{
	struct dump_state *s = arg;
	int ifindex;
	bool iso;

	if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWLINK || !parse_port(s->b, nlmsg_hdr(msg), &ifindex, &iso))
		return NL_OK;
	if (iso) {
		ports_add(s->b, ifindex);
		return NL_OK;
	}
	if (s->n_todo == s->cap_todo) {
		unsigned cap = s->cap_todo ? 2 * s->cap_todo : 16;
		int *p = realloc(s->todo, cap * sizeof(*p));
		if (!p) {
			s->nomem = true;
			return NL_OK;
		}
		s->todo = p;
		s->cap_todo = cap;
	}
	s->todo[s->n_todo++] = ifindex;
	return NL_OK;
}

int brport_reconcile(struct brport *b)
{
	struct nlsock_link li;
	struct dump_state s = { .b = b };
	unsigned failed_before;
	int r;

	if (!b->req)
		return 0; /* not a bridge: nothing to do */
	b->st.reconciles++;
	b->need_reconcile = false;
	r = get_link(b, b->ifname, 0, &li);
	if (r == -ENODEV) {
		if (!b->missing_logged)
			log_warn("guest interface %s does not exist; its ports will be isolated when it appears",
				 b->ifname);
		b->missing_logged = true;
		b->br_ifindex = 0;
		b->n_ports = 0;
		return 0;
	}
	if (r < 0) {
		log_err("bridge %s: cannot look it up: %s", b->ifname, strerror(-r));
		return r;
	}
	b->missing_logged = false;
	if (!li.is_bridge) {
		if (b->other_ifindex != li.ifindex)
			log_info("guest interface %s is not a bridge: no port isolation here "
				 "(on Wi-Fi, hostapd's ap_isolate keeps stations apart)", b->ifname);
		b->other_ifindex = li.ifindex;
		b->br_ifindex = 0;
		b->n_ports = 0;
		return 0;
	}
	b->other_ifindex = 0;
	if (b->br_ifindex != li.ifindex)
		log_info("bridge %s (ifindex %d): isolating every port", b->ifname, li.ifindex);
	b->br_ifindex = li.ifindex;
	b->n_ports = 0;
	struct nl_msg *msg = nlsock_link_msg(RTM_GETLINK, NLM_F_DUMP, AF_BRIDGE, 0);
	if (!msg)
		return -ENOMEM;
	r = request(b, msg, on_dump, &s);
	if (r == 0 && s.nomem)
		r = -ENOMEM;
	failed_before = (unsigned)b->st.failed;
	for (unsigned i = 0; i < s.n_todo; i++)
		isolate(b, s.todo[i], false);
	free(s.todo);
	if (r < 0) {
		log_err("bridge %s: cannot list its ports: %s", b->ifname, strerror(-r));
		b->need_reconcile = true; /* try again at the next notification */
		return r;
	}
	if ((unsigned)b->st.failed != failed_before)
		return -EIO;
	log_debug("bridge %s: %u ports isolated", b->ifname, b->n_ports);
	return 0;
}

/* ---- notifications ---- */

static int on_notify(struct nl_msg *msg, void *arg)
{
	struct brport *b = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;
	struct nlsock_link li;
	int ifindex;
	bool iso;

	if ((h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) ||
	    nlmsg_parse(h, sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0)
		return NL_OK;
	ifi = nlmsg_data(h);
	if (ifi->ifi_family != AF_BRIDGE) {
		/* the bridge itself: deleted, or (re)created under our name */
		if (h->nlmsg_type == RTM_DELLINK) {
			if (b->br_ifindex && ifi->ifi_index == b->br_ifindex) {
				log_warn("bridge %s was deleted; waiting for it to come back", b->ifname);
				b->br_ifindex = 0;
				b->n_ports = 0;
			} else {
				ports_remove(b, ifi->ifi_index);
			}
		} else if (tb[IFLA_IFNAME] && nla_strcmp(tb[IFLA_IFNAME], b->ifname) == 0 &&
			   ifi->ifi_index != b->br_ifindex && ifi->ifi_index != b->other_ifindex) {
			b->need_reconcile = true;
		}
		return NL_OK;
	}
	if (!parse_port(b, h, &ifindex, &iso))
		return NL_OK;
	if (h->nlmsg_type == RTM_DELLINK) { /* left the bridge */
		ports_remove(b, ifindex);
		return NL_OK;
	}
	if (iso) {
		ports_add(b, ifindex);
		return NL_OK;
	}
	/* "not isolated": possibly stale, ask for the current state */
	if (get_link(b, NULL, ifindex, &li) < 0 || li.master != b->br_ifindex)
		return NL_OK; /* gone or moved: its own notification follows */
	if (li.isolated) {
		ports_add(b, ifindex);
		return NL_OK;
	}
	isolate(b, ifindex, ports_has(b, ifindex));
	return NL_OK;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct brport *b = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < BRPORT_DRAIN_MAX; i++) {
		int r = nl_recvmsgs_report(b->ev, b->ev_cb);
		if (r > 0)
			continue;
		if (r == 0 || r == -NLE_AGAIN)
			break;
		if (r == -NLE_NOMEM) { /* ENOBUFS: notifications were lost */
			b->st.overruns++;
			log_warn("bridge %s: netlink notifications lost (overrun); reconciling", b->ifname);
			b->need_reconcile = true;
			continue;
		}
		log_warn("bridge %s: netlink notification: %s", b->ifname, nl_geterror(r));
		b->need_reconcile = true;
		break;
	}
	if (b->need_reconcile)
		brport_reconcile(b);
}

/* ---- life cycle ---- */

static int open_sock(struct nl_sock **out, bool events)
{
	static const int groups[] = { RTNLGRP_LINK };

	return nlsock_open(out, groups, events ? sizeof(groups) / sizeof(groups[0]) : 0, BRPORT_RCVBUF);
}

static void close_socks(struct brport *b)
{
	if (b->ev_read)
		event_free(b->ev_read);
	b->ev_read = NULL;
	if (b->ev_cb)
		nl_cb_put(b->ev_cb);
	b->ev_cb = NULL;
	nl_socket_free(b->ev); /* NULL is allowed */
	nl_socket_free(b->req);
	b->ev = b->req = NULL;
}

int brport_new(struct event_base *base, const char *bridge_ifname, struct brport **out)
{
	return brport_new_with(base, bridge_ifname, NULL, NULL, out);
}

int brport_new_with(struct event_base *base, const char *bridge_ifname, const struct linkw_ops *lw,
		    void *lw_ud, struct brport **out)
{
	struct brport *b;
	int r;

	if (!base || !bridge_ifname || !*bridge_ifname || strlen(bridge_ifname) >= IFNAMSIZ ||
	    (lw && (!lw->isolate)))
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->base = base;
	util_strlcpy(b->ifname, bridge_ifname, sizeof(b->ifname));
	if (lw) {
		b->lw = lw;
		b->lw_ud = lw_ud;
	} else {
		r = linkw_new(&b->own_lw);
		if (r < 0) {
			log_err("bridge %s: netlink: %s", b->ifname, strerror(-r));
			free(b);
			return r;
		}
		b->lw = &linkw_ops_direct;
		b->lw_ud = b->own_lw;
	}
	/* The event socket first: nothing enslaved after the dump is missed. */
	r = open_sock(&b->ev, true);
	if (r == 0)
		r = open_sock(&b->req, false);
	if (r == 0) {
		nl_socket_modify_cb(b->ev, NL_CB_VALID, NL_CB_CUSTOM, on_notify, b);
		b->ev_cb = nl_socket_get_cb(b->ev);
		b->ev_read = event_new(base, nl_socket_get_fd(b->ev), EV_READ | EV_PERSIST, on_readable, b);
		if (!b->ev_cb || !b->ev_read || event_add(b->ev_read, NULL) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		log_err("bridge %s: netlink: %s", b->ifname, strerror(-r));
		brport_free(b);
		return r;
	}
	r = brport_reconcile(b);
	if (r < 0) {
		brport_free(b);
		return r;
	}
	if (b->other_ifindex) /* not a bridge (logged): nothing to follow */
		close_socks(b);
	*out = b;
	return 0;
}

void brport_free(struct brport *b)
{
	if (!b)
		return;
	close_socks(b);
	linkw_free(b->own_lw);
	free(b->ports);
	free(b);
}

void brport_get_stats(const struct brport *b, struct brport_stats *out)
{
	*out = b->st;
	out->active = b->req && b->br_ifindex != 0;
	out->ports = b->br_ifindex ? b->n_ports : 0;
}
