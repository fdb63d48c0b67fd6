/* fdb.c - bridge FDB and neighbour observer on rtnetlink; see fdb.h.
 *
 * Messages are parsed with nlmsg_parse (ndmsg / rtmsg headers), not
 * through libnl's caches, which would mirror every neighbour and route of
 * the system. Interface names come from if_indextoname()/if_nametoindex()
 * (an ioctl: answered at once). Dumps collect their entries first and
 * report them after the dump has ended, so the callback may rescan.
 */
#include "io/fdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/attr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "io/nlsock.h"
#include "log.h"
#include "mac.h"
#include "util.h"

#define FDB_RCVBUF (1 << 20)
#define FDB_REPLY_WAIT_MS 1000
#define FDB_DRAIN_MAX 256
#define FDB_MAX_GW 16

struct fdb_gw {
	int family;
	int oif;
	unsigned char addr[16];
};

struct fdb {
	struct event_base *base;
	fdb_cb cb;
	void *ud;
	char names[FDB_MAX_IFACES][IFNAMSIZ];
	int ifindex[FDB_MAX_IFACES]; /* 0: does not exist now */
	unsigned n;
	struct fdb_gw gw[FDB_MAX_GW];
	unsigned n_gw;
	/* MACs seen answering for a gateway: the same router's other
	 * addresses (its IPv6 link-local one) are the gateway too */
	struct { int ifindex; char mac[MAC_STR_LEN]; } gw_mac[FDB_MAX_GW];
	unsigned n_gw_mac;
	struct nl_sock *ev, *req;
	struct nl_cb *ev_cb;
	struct event *ev_read;
	bool need_rescan, need_routes;
};

/* One entry as reported (copied out of a dump). */
struct fdb_item {
	enum fdb_kind kind;
	unsigned iface;
	char mac[MAC_STR_LEN];
	char port[IFNAMSIZ];
	char ip[INET6_ADDRSTRLEN];
	bool gateway;
};

static bool valid_ifname(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static int iface_of(const struct fdb *f, int ifindex)
{
	for (unsigned i = 0; ifindex > 0 && i < f->n; i++)
		if (f->ifindex[i] == ifindex)
			return (int)i;
	return -1;
}

/* Looks the watched names up again; true when one appeared or changed. */
static bool resolve(struct fdb *f)
{
	bool changed = false;

	for (unsigned i = 0; i < f->n; i++) {
		int idx = (int)if_nametoindex(f->names[i]);
		if (idx != f->ifindex[i]) {
			f->ifindex[i] = idx;
			changed |= idx != 0;
		}
	}
	return changed;
}

static bool is_gateway(const struct fdb *f, int family, const void *addr, int oif)
{
	size_t len = family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < f->n_gw; i++)
		if (f->gw[i].family == family && (!f->gw[i].oif || f->gw[i].oif == oif) &&
		    !memcmp(f->gw[i].addr, addr, len))
			return true;
	return false;
}

/* An RTM_NEWNEIGH worth reporting, as an item; false otherwise. */
static bool parse_neigh(const struct fdb *f, struct nlmsghdr *h, struct fdb_item *it)
{
	struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg *ndm;
	struct mac m;
	int i;

	if (h->nlmsg_type != RTM_NEWNEIGH || nlmsg_parse(h, sizeof(*ndm), tb, NDA_MAX, NULL) < 0)
		return false;
	ndm = nlmsg_data(h);
	if (!tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != 6)
		return false;
	memcpy(m.b, nla_data(tb[NDA_LLADDR]), 6);
	if (mac_is_multicast(&m) || !(m.b[0] | m.b[1] | m.b[2] | m.b[3] | m.b[4] | m.b[5]))
		return false;
	memset(it, 0, sizeof(*it));
	mac_format(&m, it->mac);
	if (ndm->ndm_family == AF_BRIDGE) {
		if ((ndm->ndm_state & NUD_PERMANENT) || (ndm->ndm_flags & NTF_SELF) || !tb[NDA_MASTER])
			return false;
		i = iface_of(f, (int)nla_get_u32(tb[NDA_MASTER]));
		if (i < 0 || ndm->ndm_ifindex == f->ifindex[i])
			return false;
		it->kind = FDB_LEARNED;
		it->iface = (unsigned)i;
		if (!if_indextoname((unsigned)ndm->ndm_ifindex, it->port))
			util_strlcpy(it->port, "?", sizeof(it->port));
		return true;
	}
	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return false;
	i = iface_of(f, ndm->ndm_ifindex);
	if (i < 0 || !tb[NDA_DST] || ndm->ndm_state == NUD_NONE ||
	    (ndm->ndm_state & (NUD_INCOMPLETE | NUD_FAILED | NUD_NOARP)))
		return false;
	if (nla_len(tb[NDA_DST]) != (ndm->ndm_family == AF_INET ? 4 : 16) ||
	    !inet_ntop(ndm->ndm_family, nla_data(tb[NDA_DST]), it->ip, sizeof(it->ip)))
		return false;
	it->kind = FDB_NEIGHBOUR;
	it->iface = (unsigned)i;
	it->gateway = is_gateway(f, ndm->ndm_family, nla_data(tb[NDA_DST]), ndm->ndm_ifindex) ||
		      (ndm->ndm_flags & NTF_ROUTER); /* an IPv6 router (RA, NA with R) */
	return true;
}

/* Remembers the MAC of a gateway, or marks an entry with a gateway's MAC. */
static void gateway_mac(struct fdb *f, struct fdb_item *it)
{
	int ifindex = f->ifindex[it->iface];

	if (it->kind != FDB_NEIGHBOUR)
		return;
	for (unsigned i = 0; i < f->n_gw_mac; i++) {
		if (f->gw_mac[i].ifindex == ifindex && !strcmp(f->gw_mac[i].mac, it->mac)) {
			it->gateway = true;
			return;
		}
	}
	if (it->gateway && f->n_gw_mac < FDB_MAX_GW) {
		f->gw_mac[f->n_gw_mac].ifindex = ifindex;
		util_strlcpy(f->gw_mac[f->n_gw_mac++].mac, it->mac, MAC_STR_LEN);
	}
}

static void report(struct fdb *f, const struct fdb_item *it)
{
	struct fdb_seen s = {
		.kind = it->kind, .mac = it->mac, .iface = f->names[it->iface],
		.port = it->kind == FDB_LEARNED ? it->port : NULL,
		.ip = it->kind == FDB_NEIGHBOUR ? it->ip : NULL, .gateway = it->gateway,
	};
	f->cb(&s, f->ud);
}

/* ---- dumps ---- */

struct dump {
	struct fdb *f;
	struct fdb_item *e;
	size_t n, cap;
	bool nomem;
};

static int on_dump_neigh(struct nl_msg *msg, void *arg)
{
	struct dump *d = arg;
	struct fdb_item it;

	if (!parse_neigh(d->f, nlmsg_hdr(msg), &it))
		return NL_OK;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 32;
		struct fdb_item *e = realloc(d->e, cap * sizeof(*e));
		if (!e) {
			d->nomem = true;
			return NL_OK;
		}
		d->e = e;
		d->cap = cap;
	}
	d->e[d->n++] = it;
	return NL_OK;
}

static int dump_req(struct fdb *f, int type, int family, nl_recvmsg_msg_cb_t cb, void *arg)
{
	struct nl_msg *msg = nlmsg_alloc_simple(type, NLM_F_DUMP);
	int r;

	if (!msg)
		return -ENOMEM;
	if (type == RTM_GETNEIGH) {
		struct ndmsg ndm = { .ndm_family = (unsigned char)family };
		r = nlmsg_append(msg, &ndm, sizeof(ndm), NLMSG_ALIGNTO);
	} else {
		struct rtmsg rtm = { .rtm_family = (unsigned char)family };
		r = nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO);
	}
	if (r < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	return nlsock_request(f->req, msg, cb, arg, FDB_REPLY_WAIT_MS);
}

static int on_dump_route(struct nl_msg *msg, void *arg)
{
	struct fdb *f = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct nlattr *tb[RTA_MAX + 1];
	struct rtmsg *rtm;
	unsigned table;
	struct fdb_gw *g;

	if (h->nlmsg_type != RTM_NEWROUTE || nlmsg_parse(h, sizeof(*rtm), tb, RTA_MAX, NULL) < 0)
		return NL_OK;
	rtm = nlmsg_data(h);
	table = tb[RTA_TABLE] ? nla_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (rtm->rtm_dst_len != 0 || rtm->rtm_type != RTN_UNICAST || table != RT_TABLE_MAIN ||
	    !tb[RTA_GATEWAY] || f->n_gw == FDB_MAX_GW)
		return NL_OK;
	if (nla_len(tb[RTA_GATEWAY]) != (rtm->rtm_family == AF_INET ? 4 : 16))
		return NL_OK;
	g = &f->gw[f->n_gw++];
	g->family = rtm->rtm_family;
	g->oif = tb[RTA_OIF] ? (int)nla_get_u32(tb[RTA_OIF]) : 0;
	memcpy(g->addr, nla_data(tb[RTA_GATEWAY]), (size_t)nla_len(tb[RTA_GATEWAY]));
	return NL_OK;
}

static int dump_routes(struct fdb *f)
{
	int r;

	f->need_routes = false;
	f->n_gw = 0;
	r = dump_req(f, RTM_GETROUTE, AF_INET, on_dump_route, f);
	if (r == 0)
		r = dump_req(f, RTM_GETROUTE, AF_INET6, on_dump_route, f);
	if (r < 0)
		log_warn("neighbours: cannot read the default routes: %s", strerror(-r));
	return r;
}

static int rescan(struct fdb *f)
{
	static const int families[] = { AF_BRIDGE, AF_INET, AF_INET6 };
	struct dump d = { .f = f };
	int r = 0;

	f->need_rescan = false;
	resolve(f);
	dump_routes(f);
	for (size_t i = 0; i < ARRAY_SIZE(families) && r == 0; i++)
		r = dump_req(f, RTM_GETNEIGH, families[i], on_dump_neigh, &d);
	if (r == 0 && d.nomem)
		r = -ENOMEM;
	if (r < 0)
		log_err("neighbours: cannot dump the FDB and neighbour tables: %s", strerror(-r));
	/* gateways' MACs first, so that their other addresses are known as
	 * theirs whatever the dump's order */
	f->n_gw_mac = 0;
	for (size_t i = 0; i < d.n; i++)
		if (d.e[i].gateway)
			gateway_mac(f, &d.e[i]);
	/* what was read is reported even after an error: it is true */
	for (size_t i = 0; i < d.n; i++) {
		gateway_mac(f, &d.e[i]);
		report(f, &d.e[i]);
	}
	free(d.e);
	return r;
}

int fdb_rescan(struct fdb *f)
{
	return f ? rescan(f) : -EINVAL;
}

/* ---- notifications ---- */

static int on_notify(struct nl_msg *msg, void *arg)
{
	struct fdb *f = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct fdb_item it;

	switch (h->nlmsg_type) {
	case RTM_NEWNEIGH:
		if (parse_neigh(f, h, &it)) {
			gateway_mac(f, &it);
			report(f, &it);
		}
		break;
	case RTM_NEWLINK:
	case RTM_DELLINK:
		if (resolve(f)) /* a watched interface (re)appeared */
			f->need_rescan = true;
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		f->need_routes = true;
		break;
	default:
		break;
	}
	return NL_OK;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct fdb *f = arg;

	(void)fd;
	(void)what;
	for (int i = 0; i < FDB_DRAIN_MAX; i++) {
		int r = nl_recvmsgs_report(f->ev, f->ev_cb);
		if (r > 0)
			continue;
		if (r == 0 || r == -NLE_AGAIN)
			break;
		if (r == -NLE_NOMEM) { /* ENOBUFS: notifications were lost */
			log_warn("neighbours: netlink notifications lost (overrun); rescanning");
			f->need_rescan = true;
			continue;
		}
		log_warn("neighbours: netlink notification: %s", nl_geterror(r));
		f->need_rescan = true;
		break;
	}
	if (f->need_rescan)
		rescan(f);
	else if (f->need_routes)
		dump_routes(f);
}

/* ---- life cycle ---- */

void fdb_free(struct fdb *f)
{
	if (!f)
		return;
	if (f->ev_read)
		event_free(f->ev_read);
	if (f->ev_cb)
		nl_cb_put(f->ev_cb);
	nl_socket_free(f->ev);
	nl_socket_free(f->req);
	free(f);
}

int fdb_new(struct event_base *base, const char *const *ifaces, unsigned n, fdb_cb cb, void *ud,
	    struct fdb **out)
{
	static const int groups[] = { RTNLGRP_NEIGH, RTNLGRP_LINK, RTNLGRP_IPV4_ROUTE,
				      RTNLGRP_IPV6_ROUTE };
	struct fdb *f;
	int r;

	if (!base || !ifaces || !cb || !out || n == 0 || n > FDB_MAX_IFACES)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!valid_ifname(ifaces[i]))
			return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->base = base;
	f->cb = cb;
	f->ud = ud;
	f->n = n;
	for (unsigned i = 0; i < n; i++)
		util_strlcpy(f->names[i], ifaces[i], sizeof(f->names[i]));
	/* the event socket first: nothing after the dump is missed */
	r = nlsock_open(&f->ev, groups, ARRAY_SIZE(groups), FDB_RCVBUF);
	if (r == 0)
		r = nlsock_open(&f->req, NULL, 0, 0);
	if (r == 0) {
		nl_socket_modify_cb(f->ev, NL_CB_VALID, NL_CB_CUSTOM, on_notify, f);
		f->ev_cb = nl_socket_get_cb(f->ev);
		f->ev_read = event_new(base, nl_socket_get_fd(f->ev), EV_READ | EV_PERSIST, on_readable, f);
		if (!f->ev_cb || !f->ev_read || event_add(f->ev_read, NULL) < 0)
			r = -ENOMEM;
	}
	if (r == 0)
		r = rescan(f);
	if (r < 0) {
		log_err("neighbours: netlink: %s", strerror(-r));
		fdb_free(f);
		return r;
	}
	*out = f;
	return 0;
}
