/* wport.c - wired ports: FDB observation and moves between bridges through
 * libnl-route-3; see wport.h.
 *
 * Messages are parsed with nlmsg_parse (ifinfomsg / ndmsg headers) rather
 * than through the route caches: the module needs a handful of attributes
 * of a few links, and a cache would mirror every link and neighbour of the
 * system.
 *
 * Requests read the kernel's own errno from the NLMSG_ERROR answer (an
 * error callback), so -ENODEV, -EPERM, -EBUSY... reach the caller as such
 * and not through libnl's coarser NLE_* codes.
 *
 * FDB dumps collect the entries first and call on_station after the dump
 * has ended: the callback may then use the request socket (wport_move).
 * Callbacks may free the module: a depth counter defers the free to the
 * outermost entry point.
 */
#include "wport.h"

#include <errno.h>
#include <event2/event.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
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
#include "mac.h"
#include "util.h"

#define WPORT_RCVBUF (1 << 20)    /* notification socket receive buffer */
#define WPORT_REPLY_WAIT_MS 1000  /* a kernel reply is queued at send time */
#define WPORT_DRAIN_MAX 256       /* datagrams per wake-up, then yield */

struct wport_port {
	char name[IFNAMSIZ];
	int ifindex;           /* 0: does not exist now */
};

struct wport {
	struct event_base *base;
	struct wport_cbs cb;
	void *ud;
	struct wport_port ports[WPORT_MAX];
	unsigned n;
	struct nl_sock *ev;    /* RTNLGRP_LINK + RTNLGRP_NEIGH */
	struct nl_cb *ev_cb;   /* the ev socket's callbacks (a reference) */
	struct nl_sock *req;   /* requests */
	const struct linkw_ops *lw; /* the writes (moves) */
	void *lw_ud;
	struct linkw *own_lw;  /* lw_ud until wport_set_writer() */
	struct event *ev_read;
	unsigned busy;         /* entry points on the stack that call back */
	bool dying;            /* wport_free() called from a callback */
	bool need_rescan;      /* set while draining, run after */
	struct wport_stats st;
};

/* ---- small helpers ---- */

static bool valid_ifname(const char *s)
{
	size_t n;

	if (!s || !*s)
		return false;
	n = strlen(s);
	if (n >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static struct wport_port *port_by_name(struct wport *w, const char *name)
{
	if (!name)
		return NULL;
	for (unsigned i = 0; i < w->n; i++)
		if (strcmp(w->ports[i].name, name) == 0)
			return &w->ports[i];
	return NULL;
}

static struct wport_port *port_by_ifindex(struct wport *w, int ifindex)
{
	if (ifindex <= 0)
		return NULL;
	for (unsigned i = 0; i < w->n; i++)
		if (w->ports[i].ifindex == ifindex)
			return &w->ports[i];
	return NULL;
}

/* Re-entrancy guard around code that calls back: leave() returns true if
 * w was freed (wport_free() from a callback) and must not be touched. */
static void enter(struct wport *w)
{
	w->busy++;
}

static void destroy(struct wport *w);

static bool leave(struct wport *w)
{
	if (--w->busy == 0 && w->dying) {
		destroy(w);
		return true;
	}
	return false;
}

/* ---- requests (the request socket; rtnetlink answers synchronously) ---- */

static int request(struct wport *w, struct nl_msg *msg, nl_recvmsg_msg_cb_t valid, void *arg)
{
	return nlsock_request(w->req, msg, valid, arg, WPORT_REPLY_WAIT_MS);
}

/* One link (AF_UNSPEC), by name or index; -ENODEV if there is none. */
static int get_link(struct wport *w, const char *name, int ifindex, struct nlsock_link *li)
{
	return nlsock_get_link(w->req, name, ifindex, li, WPORT_REPLY_WAIT_MS);
}

/* ---- ports: presence ---- */

/* Looks port p up by name and reports what changed: a port that vanished,
 * appeared or was replaced (new ifindex: false, then true). Returns 0 or
 * -errno (lookup failed for another reason than "no such link"). The
 * caller holds enter(); on_port may free w (checked by the caller). */
static int refresh_port(struct wport *w, struct wport_port *p)
{
	struct nlsock_link li;
	int r = get_link(w, p->name, 0, &li), was = p->ifindex;

	if (r < 0 && r != -ENODEV) {
		log_warn("wired port %s: cannot look it up: %s", p->name, strerror(-r));
		return r;
	}
	if (r == -ENODEV)
		li.ifindex = 0;
	if (li.ifindex == was)
		return 0;
	p->ifindex = li.ifindex;
	if (was) {
		log_info("wired port %s disappeared", p->name);
		if (w->cb.on_port) {
			w->cb.on_port(p->name, false, w->ud);
			if (w->dying)
				return 0;
		}
	}
	if (li.ifindex) {
		log_info("wired port %s present (ifindex %d)", p->name, li.ifindex);
		if (w->cb.on_port)
			w->cb.on_port(p->name, true, w->ud);
	}
	return 0;
}

static int refresh_ports(struct wport *w)
{
	int ret = 0;

	for (unsigned i = 0; i < w->n && !w->dying; i++) {
		int r = refresh_port(w, &w->ports[i]);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}

/* ---- FDB ---- */

/* Returns the configured port an RTM_NEWNEIGH is about and the station's
 * MAC, or NULL when the entry is not a learned station on one of the
 * ports. */
static struct wport_port *parse_station(struct wport *w, struct nlmsghdr *h, struct mac *m)
{
	struct nlattr *tb[NDA_MAX + 1];
	struct ndmsg *ndm;
	struct wport_port *p;

	if (h->nlmsg_type != RTM_NEWNEIGH || nlmsg_parse(h, sizeof(*ndm), tb, NDA_MAX, NULL) < 0)
		return NULL;
	ndm = nlmsg_data(h);
	if (ndm->ndm_family != AF_BRIDGE || (ndm->ndm_state & NUD_PERMANENT) || (ndm->ndm_flags & NTF_SELF))
		return NULL;
	p = port_by_ifindex(w, ndm->ndm_ifindex);
	if (!p || !tb[NDA_LLADDR] || nla_len(tb[NDA_LLADDR]) != 6)
		return NULL;
	memcpy(m->b, nla_data(tb[NDA_LLADDR]), 6);
	if (mac_is_multicast(m) || !(m->b[0] | m->b[1] | m->b[2] | m->b[3] | m->b[4] | m->b[5]))
		return NULL;
	return p;
}

static void report_station(struct wport *w, const struct wport_port *p, const struct mac *m)
{
	char s[MAC_STR_LEN];

	mac_format(m, s);
	w->st.learned++;
	log_debug("wired port %s: station %s", p->name, s);
	if (w->cb.on_station)
		w->cb.on_station(p->name, s, w->ud);
}

struct fdb_entry {
	unsigned port;         /* index into w->ports */
	int ifindex;           /* still that link when reported */
	struct mac mac;
};

struct fdb_dump {
	struct wport *w;
	struct fdb_entry *e;
	size_t n, cap;
	bool nomem;
};

static int on_fdb(struct nl_msg *msg, void *arg)
{
	struct fdb_dump *d = arg;
	struct mac m;
	struct wport_port *p = parse_station(d->w, nlmsg_hdr(msg), &m);

	if (!p)
		return NL_OK;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 32;
		struct fdb_entry *e = realloc(d->e, cap * sizeof(*e));
		if (!e) {
			d->nomem = true;
			return NL_OK;
		}
		d->e = e;
		d->cap = cap;
	}
	d->e[d->n++] = (struct fdb_entry){ .port = (unsigned)(p - d->w->ports), .ifindex = p->ifindex, .mac = m };
	return NL_OK;
}

/* Dumps the bridge FDB (every bridge's: a port may be in any) and reports
 * the stations on the ports. Caller holds enter(). */
static int dump_fdb(struct wport *w)
{
	struct ndmsg ndm = { .ndm_family = AF_BRIDGE };
	struct fdb_dump d = { .w = w };
	struct nl_msg *msg;
	int r;

	w->st.rescans++;
	msg = nlmsg_alloc_simple(RTM_GETNEIGH, NLM_F_DUMP);
	if (!msg || nlmsg_append(msg, &ndm, sizeof(ndm), NLMSG_ALIGNTO) < 0) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = request(w, msg, on_fdb, &d);
	if (r == 0 && d.nomem)
		r = -ENOMEM;
	if (r < 0)
		log_err("wired ports: cannot dump the bridge FDB: %s", strerror(-r));
	/* what was read is reported even after an error: it is true */
	for (size_t i = 0; i < d.n && !w->dying; i++) {
		struct wport_port *p = &w->ports[d.e[i].port];
		if (p->ifindex == d.e[i].ifindex) /* not replaced by a callback meanwhile */
			report_station(w, p, &d.e[i].mac);
	}
	free(d.e);
	return r;
}

static int rescan(struct wport *w)
{
	int r, r2;

	w->need_rescan = false;
	r = refresh_ports(w);
	if (w->dying)
		return 0;
	r2 = dump_fdb(w);
	return r < 0 ? r : r2;
}

int wport_rescan(struct wport *w)
{
	int r;

	if (!w || w->dying)
		return -EINVAL;
	enter(w);
	r = rescan(w);
	leave(w);
	return r;
}

/* ---- notifications ---- */

static void on_link_notify(struct wport *w, struct nlmsghdr *h)
{
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;
	struct wport_port *p;

	if (nlmsg_parse(h, sizeof(*ifi), tb, IFLA_MAX, NULL) < 0)
		return;
	ifi = nlmsg_data(h);
	/* AF_BRIDGE link messages are about bridge membership (an AF_BRIDGE
	 * RTM_DELLINK means "left the bridge", not "deleted") */
	if (ifi->ifi_family != AF_UNSPEC)
		return;
	p = port_by_ifindex(w, ifi->ifi_index);
	if (p) {
		/* deleted, or renamed away: look it up again */
		if (h->nlmsg_type == RTM_DELLINK ||
		    (tb[IFLA_IFNAME] && nla_strcmp(tb[IFLA_IFNAME], p->name) != 0))
			refresh_port(w, p);
		if (w->dying || h->nlmsg_type == RTM_DELLINK)
			return;
	}
	/* a link with one of our names that is not the one we know: created,
	 * re-created or renamed to it (possibly stale: refresh checks) */
	if (h->nlmsg_type == RTM_NEWLINK && tb[IFLA_IFNAME]) {
		for (unsigned i = 0; i < w->n; i++) {
			p = &w->ports[i];
			if (nla_strcmp(tb[IFLA_IFNAME], p->name) == 0) {
				if (p->ifindex != ifi->ifi_index)
					refresh_port(w, p);
				break;
			}
		}
	}
}

static int on_notify(struct nl_msg *msg, void *arg)
{
	struct wport *w = arg;
	struct nlmsghdr *h = nlmsg_hdr(msg);
	struct wport_port *p;
	struct mac m;

	switch (h->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		on_link_notify(w, h);
		break;
	case RTM_NEWNEIGH:
		p = parse_station(w, h, &m);
		if (p)
			report_station(w, p, &m);
		break;
	default:
		break;
	}
	return w->dying ? NL_STOP : NL_OK;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct wport *w = arg;

	(void)fd;
	(void)what;
	enter(w);
	for (int i = 0; i < WPORT_DRAIN_MAX && !w->dying; i++) {
		int r = nl_recvmsgs_report(w->ev, w->ev_cb);
		if (r > 0)
			continue;
		if (r == 0 || r == -NLE_AGAIN)
			break;
		if (r == -NLE_NOMEM) { /* ENOBUFS: notifications were lost */
			w->st.overruns++;
			log_warn("wired ports: netlink notifications lost (overrun); rescanning");
			w->need_rescan = true;
			continue;
		}
		log_warn("wired ports: netlink notification: %s", nl_geterror(r));
		w->need_rescan = true;
		break;
	}
	if (w->need_rescan && !w->dying)
		rescan(w);
	leave(w);
}

/* ---- moves ---- */

/* The move itself (look-ups, RTM_SETLINK, the bounce) is the writer's
 * (linkw.h): this process's own netlink socket, or the privileged helper. */
static int do_move(struct wport *w, const char *port, const char *bridge, bool bounce)
{
	if (!port_by_name(w, port))
		return -EINVAL;
	if (!valid_ifname(bridge))
		return -EINVAL;
	return w->lw->move(w->lw_ud, port, bridge, bounce);
}

int wport_move(struct wport *w, const char *port, const char *bridge, bool bounce)
{
	int r;

	if (!w || w->dying)
		return -EINVAL;
	r = do_move(w, port, bridge, bounce);
	if (r == 1)
		w->st.moves++;
	if (r == 1 && bounce)
		w->st.bounces++;
	else if (r < 0)
		w->st.failed++;
	if (r < 0 && r != -EINVAL)
		log_debug("wired port %s -> %s: %s", port, bridge ? bridge : "(null)", strerror(-r));
	return r;
}

int wport_master(struct wport *w, const char *port, char *buf, size_t len)
{
	struct nlsock_link li, ml;
	int r;

	if (!w || !port_by_name(w, port) || !buf || len == 0)
		return -EINVAL;
	r = get_link(w, port, 0, &li);
	if (r < 0)
		return r;
	if (li.master == 0) {
		buf[0] = 0;
		return 0;
	}
	r = get_link(w, NULL, li.master, &ml);
	if (r < 0)
		return r;
	if (strlen(ml.name) >= len)
		return -ENAMETOOLONG;
	util_strlcpy(buf, ml.name, len);
	return 0;
}

/* ---- life cycle ---- */

static int open_sock(struct nl_sock **out, bool events)
{
	static const int groups[] = { RTNLGRP_LINK, RTNLGRP_NEIGH };

	return nlsock_open(out, groups, events ? sizeof(groups) / sizeof(groups[0]) : 0, WPORT_RCVBUF);
}

static void destroy(struct wport *w)
{
	if (w->ev_read)
		event_free(w->ev_read);
	if (w->ev_cb)
		nl_cb_put(w->ev_cb);
	nl_socket_free(w->ev); /* NULL is allowed */
	nl_socket_free(w->req);
	linkw_free(w->own_lw);
	free(w);
}

int wport_new(struct event_base *base, const char *const *ports, unsigned n,
	      const struct wport_cbs *cb, void *ud, struct wport **out)
{
	struct wport *w;
	int r;

	if (!base || !ports || !cb || !out || n == 0 || n > WPORT_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!valid_ifname(ports[i]))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(ports[i], ports[j]) == 0)
				return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->base = base;
	w->cb = *cb;
	w->ud = ud;
	w->n = n;
	for (unsigned i = 0; i < n; i++)
		util_strlcpy(w->ports[i].name, ports[i], sizeof(w->ports[i].name));
	/* The event socket first: nothing that happens after the look-ups and
	 * the dump is missed. */
	r = open_sock(&w->ev, true);
	if (r == 0)
		r = open_sock(&w->req, false);
	if (r == 0)
		r = linkw_new(&w->own_lw);
	w->lw = &linkw_ops_direct;
	w->lw_ud = w->own_lw;
	if (r == 0) {
		nl_socket_modify_cb(w->ev, NL_CB_VALID, NL_CB_CUSTOM, on_notify, w);
		w->ev_cb = nl_socket_get_cb(w->ev);
		w->ev_read = event_new(base, nl_socket_get_fd(w->ev), EV_READ | EV_PERSIST, on_readable, w);
		if (!w->ev_cb || !w->ev_read || event_add(w->ev_read, NULL) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		log_err("wired ports: netlink: %s", strerror(-r));
		destroy(w);
		return r;
	}
	/* *out is not set yet: the callbacks cannot free w here */
	enter(w);
	r = refresh_ports(w);
	if (r == 0)
		r = dump_fdb(w);
	w->busy--;
	if (r < 0) {
		destroy(w);
		return r;
	}
	struct wport_stats st;
	wport_get_stats(w, &st);
	log_info("wired ports: following %u port(s), %u present", st.ports, st.present);
	*out = w;
	return 0;
}

void wport_free(struct wport *w)
{
	if (!w)
		return;
	if (w->busy) { /* from a callback: freed when the outermost call returns */
		w->dying = true;
		if (w->ev_read)
			event_del(w->ev_read);
		return;
	}
	destroy(w);
}

void wport_set_writer(struct wport *w, const struct linkw_ops *lw, void *ud)
{
	if (!w || !lw || !lw->move)
		return;
	w->lw = lw;
	w->lw_ud = ud;
	linkw_free(w->own_lw);
	w->own_lw = NULL;
}

void wport_get_stats(const struct wport *w, struct wport_stats *st)
{
	*st = w->st;
	st->ports = w->n;
	st->present = 0;
	for (unsigned i = 0; i < w->n; i++)
		if (w->ports[i].ifindex)
			st->present++;
}
