/* hapd.c - non-blocking client for one hostapd BSS control socket.
 *
 * Life of a connection:
 *   IDLE --retry timer--> ATTACHING (both sockets open, ATTACH sent on the
 *   event socket) --"OK\n"--> WALKING (on_link(true); STA-FIRST/STA-NEXT on
 *   the command socket; events are held back) --end of list--> UP
 *   (on_resync(list), then the held events in order, then live events).
 *   Any failure goes back to IDLE: on_link(false) if it had been attached,
 *   requests fail with -ENOTCONN, the retry timer doubles up to backoff_max.
 *
 * Why events are held during the walk: the walk is a snapshot taken over
 * many round trips. A station that leaves after it was listed would come
 * back to life if its AP-STA-DISCONNECTED were applied before the list.
 * Applied after it, every event is at worst a repetition.
 *
 * Re-entrancy: every libevent callback holds the connection (busy count);
 * hapd_conn_free() from inside a user callback tears everything down at
 * once and leaves only the final free() to the outermost callback.
 */
#include "hapd.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "mac.h"
#include "util.h"

#define CMD_MAX 4095            /* hostapd reads commands into char[4096] */
#define REPLY_MAX 4096          /* and answers in at most 4096 bytes */
#define HELD_MAX 65536          /* events held back during one STA walk */
#define WALK_STEPS_MAX 1000000 /* a bound on STA-FIRST/STA-NEXT round trips */
#define LOG_FIRST 10            /* malformed input: log the first 10 ... */
#define LOG_EVERY 1000          /* ... then every 1000th */

#define DEF_PING_MS 1000
#define DEF_TIMEOUT_MS 1000
#define DEF_BACKOFF_MIN_MS 100
#define DEF_BACKOFF_MAX_MS 5000

typedef char sun_path_t[sizeof(((struct sockaddr_un *)0)->sun_path)];

enum conn_state { ST_IDLE, ST_ATTACHING, ST_WALKING, ST_UP };

enum req_kind { REQ_USER, REQ_PING, REQ_WALK };

struct req {
	struct req *next;
	enum req_kind kind;
	hapd_reply_cb cb;
	void *ud;
	size_t len;
	char cmd[];
};

/* Set of MAC addresses, open addressing with linear probing; a slot holds
 * the 48-bit address with bit 48 set, 0 = empty. */
struct macset {
	uint64_t *slot;
	size_t cap;      /* power of two, or 0 */
	size_t n;
};

struct walk_ent {
	struct hapd_sta sta;
	bool readable;
};

struct hapd_conn {
	struct event_base *base;
	char *ctrl_dir;
	char *ifname;
	char *client_dir;
	struct sockaddr_un dst;
	unsigned ping_ms, timeout_ms, backoff_min_ms, backoff_max_ms;
	struct hapd_callbacks cb;
	void *ud;

	enum conn_state state;
	unsigned backoff_ms;
	bool ever_attached;
	bool warned;             /* "cannot reach hostapd" said once */

	int ev_fd;
	struct event *ev_rd;
	sun_path_t ev_path;
	int cmd_fd;
	struct event *cmd_rd, *cmd_wr;
	sun_path_t cmd_path;
	unsigned cmd_gen;        /* names each command socket; bumps on reopen */
	unsigned ev_gen;         /* bumps whenever the event socket changes */

	struct event *attach_timer, *req_timer, *ping_timer, *retry_timer, *pump_ev;
	struct event *resync_timer; /* hapd_conn_resync() */

	struct req *q_head, *q_tail;
	struct req *inflight;
	bool inflight_sent;
	bool ping_queued;

	struct walk_ent *walk;
	unsigned walk_n, walk_cap;
	int walk_cursor;         /* index asked about in STA-NEXT, -1 = STA-FIRST */
	unsigned walk_steps;
	struct macset walk_seen;
	struct hapd_ev *held;
	unsigned held_n, held_cap;

	struct macset live;      /* authorized stations */
	struct hapd_stats st;
	unsigned long bad_sta_replies;

	unsigned busy;
	bool freed;
};

/* ------------------------------------------------------------- MAC set */

static uint64_t mac_key(const char *s)
{
	struct mac m;
	uint64_t k = 0;

	if (mac_parse(s, &m) < 0)
		return 0;
	for (int i = 0; i < 6; i++)
		k = k << 8 | m.b[i];
	return k | 1ULL << 48;
}

static size_t ms_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k;
}

static size_t ms_find(const struct macset *s, uint64_t k)
{
	size_t mask = s->cap - 1, i = ms_hash(k) & mask;

	while (s->slot[i] && s->slot[i] != k)
		i = (i + 1) & mask;
	return i;
}

static int ms_add(struct macset *s, uint64_t k)
{
	size_t i;

	if (!k)
		return -EINVAL;
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct macset ns = { calloc(ncap, sizeof(uint64_t)), ncap, 0 };

		if (!ns.slot)
			return -ENOMEM;
		for (size_t j = 0; j < s->cap; j++)
			if (s->slot[j])
				ns.slot[ms_find(&ns, s->slot[j])] = s->slot[j];
		ns.n = s->n;
		free(s->slot);
		*s = ns;
	}
	i = ms_find(s, k);
	if (s->slot[i])
		return 0;
	s->slot[i] = k;
	s->n++;
	return 1;
}

static bool ms_has(const struct macset *s, uint64_t k)
{
	return s->cap && k && s->slot[ms_find(s, k)] == k;
}

static void ms_del(struct macset *s, uint64_t k)
{
	size_t mask, i, j;

	if (!ms_has(s, k))
		return;
	mask = s->cap - 1;
	i = ms_find(s, k);
	s->slot[i] = 0;
	/* backward-shift: pull later members of the probe run into the gap */
	for (j = (i + 1) & mask; s->slot[j]; j = (j + 1) & mask) {
		size_t h = ms_hash(s->slot[j]) & mask;
		bool stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);

		if (!stays) {
			s->slot[i] = s->slot[j];
			s->slot[j] = 0;
			i = j;
		}
	}
	s->n--;
}

static void ms_free(struct macset *s)
{
	free(s->slot);
	*s = (struct macset){ 0 };
}

/* -------------------------------------------------------------- helpers */

static struct timeval tv_of_ms(unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	return tv;
}

static void hold(struct hapd_conn *c) { c->busy++; }

static void destroy(struct hapd_conn *c);

static void release(struct hapd_conn *c)
{
	if (--c->busy == 0 && c->freed)
		destroy(c);
}

/* Room for element n of an array of *cap (doubling, from 64, at most max
 * elements). Returns the array, moved or not, or NULL (then untouched). */
static void *grow(void *v, unsigned n, unsigned *cap, size_t size, unsigned max)
{
	unsigned ncap;

	if (n < *cap)
		return v;
	ncap = *cap ? 2 * *cap : 64;
	if (ncap > max || !(v = realloc(v, (size_t)ncap * size)))
		return NULL;
	*cap = ncap;
	return v;
}

static bool log_this(unsigned long count)
{
	return count <= LOG_FIRST || count % LOG_EVERY == 0;
}

/* Printable excerpt of a datagram for a log line. */
static void excerpt(const char *buf, size_t len, char out[81])
{
	size_t n = len < 80 ? len : 80;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];
		out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
	}
	out[n] = '\0';
}

/* Binds own_path (replacing a leftover nobody listens on) and connects to
 * dst. Returns the fd or -errno. */
static int sock_open(const char *own_path, const struct sockaddr_un *dst)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, r;

	memcpy(a.sun_path, own_path, strlen(own_path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int probe;
		bool live = false;

		if (errno != EADDRINUSE) {
			r = -errno;
			goto fail;
		}
		probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (probe >= 0) {
			live = connect(probe, (struct sockaddr *)&a, sizeof(a)) == 0;
			close(probe);
		}
		if (live) {
			r = -EADDRINUSE;
			goto fail;
		}
		if (unlink(own_path) < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
		r = -errno;
		unlink(own_path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

/* ------------------------------------------------------------ requests */

static struct req *req_new(enum req_kind kind, const char *cmd, hapd_reply_cb cb, void *ud)
{
	size_t len = strlen(cmd);
	struct req *r = malloc(sizeof(*r) + len + 1);

	if (!r)
		return NULL;
	r->next = NULL;
	r->kind = kind;
	r->cb = cb;
	r->ud = ud;
	r->len = len;
	memcpy(r->cmd, cmd, len + 1);
	return r;
}

static void q_push_back(struct hapd_conn *c, struct req *r)
{
	r->next = NULL;
	if (c->q_tail)
		c->q_tail->next = r;
	else
		c->q_head = r;
	c->q_tail = r;
}

static void q_push_front(struct hapd_conn *c, struct req *r)
{
	r->next = c->q_head;
	c->q_head = r;
	if (!c->q_tail)
		c->q_tail = r;
}

static struct req *q_pop(struct hapd_conn *c)
{
	struct req *r = c->q_head;

	if (r) {
		c->q_head = r->next;
		if (!c->q_head)
			c->q_tail = NULL;
		r->next = NULL;
	}
	return r;
}

/* Takes the request in flight off the connection (timer stopped). */
static struct req *take_inflight(struct hapd_conn *c)
{
	struct req *r = c->inflight;

	c->inflight = NULL;
	c->inflight_sent = false;
	if (c->req_timer)
		evtimer_del(c->req_timer);
	if (c->cmd_wr)
		event_del(c->cmd_wr);
	return r;
}

static void finish_req(struct hapd_conn *c, struct req *r, int err)
{
	if (r->kind == REQ_PING)
		c->ping_queued = false;
	if (r->kind == REQ_USER && r->cb)
		r->cb(err, "", 0, r->ud);
	free(r);
}

/* Completes every pending request with err. Each is off the queue before
 * its callback runs, so a callback may free the connection (the rest is
 * then completed by hapd_conn_free) or queue new requests. */
static void fail_all(struct hapd_conn *c, int err)
{
	struct req *r = take_inflight(c);

	if (r)
		finish_req(c, r, err);
	while ((r = q_pop(c)))
		finish_req(c, r, err);
}

static void schedule_pump(struct hapd_conn *c)
{
	if (c->pump_ev && !c->freed)
		event_active(c->pump_ev, 0, 0);
}

/* ------------------------------------------------------------- sockets */

static void close_cmd(struct hapd_conn *c)
{
	if (c->cmd_rd) {
		event_free(c->cmd_rd);
		c->cmd_rd = NULL;
	}
	if (c->cmd_wr) {
		event_free(c->cmd_wr);
		c->cmd_wr = NULL;
	}
	if (c->cmd_fd >= 0) {
		close(c->cmd_fd);
		c->cmd_fd = -1;
		unlink(c->cmd_path);
	}
	c->cmd_gen++;
}

static void close_ev(struct hapd_conn *c)
{
	if (c->ev_rd) {
		event_free(c->ev_rd);
		c->ev_rd = NULL;
	}
	if (c->ev_fd >= 0) {
		close(c->ev_fd);
		c->ev_fd = -1;
		unlink(c->ev_path);
	}
	c->ev_gen++;
}

static void on_ev_readable(evutil_socket_t fd, short what, void *arg);
static void on_cmd_readable(evutil_socket_t fd, short what, void *arg);
static void on_cmd_writable(evutil_socket_t fd, short what, void *arg);

static int open_cmd(struct hapd_conn *c)
{
	int fd;

	snprintf(c->cmd_path, sizeof(c->cmd_path), "%s/apgated-%d-%s-cmd%u",
		 c->client_dir, (int)getpid(), c->ifname, c->cmd_gen);
	fd = sock_open(c->cmd_path, &c->dst);
	if (fd < 0)
		return fd;
	c->cmd_fd = fd;
	c->cmd_rd = event_new(c->base, fd, EV_READ | EV_PERSIST, on_cmd_readable, c);
	c->cmd_wr = event_new(c->base, fd, EV_WRITE, on_cmd_writable, c);
	if (!c->cmd_rd || !c->cmd_wr || event_add(c->cmd_rd, NULL) < 0) {
		close_cmd(c);
		return -ENOMEM;
	}
	return 0;
}

static int open_ev(struct hapd_conn *c)
{
	int fd = sock_open(c->ev_path, &c->dst);

	if (fd < 0)
		return fd;
	c->ev_fd = fd;
	c->ev_gen++;
	c->ev_rd = event_new(c->base, fd, EV_READ | EV_PERSIST, on_ev_readable, c);
	if (!c->ev_rd || event_add(c->ev_rd, NULL) < 0) {
		close_ev(c);
		return -ENOMEM;
	}
	return 0;
}

/* A fresh command socket under a new name: whatever hostapd still sends to
 * the old one (a late reply) finds no socket there. */
static int reopen_cmd(struct hapd_conn *c)
{
	close_cmd(c);
	return open_cmd(c);
}

/* ------------------------------------------------------- link up / down */

static void walk_reset(struct hapd_conn *c)
{
	free(c->walk);
	c->walk = NULL;
	c->walk_n = c->walk_cap = 0;
	ms_free(&c->walk_seen);
	free(c->held);
	c->held = NULL;
	c->held_n = c->held_cap = 0;
}

static void schedule_retry(struct hapd_conn *c)
{
	struct timeval tv = tv_of_ms(c->backoff_ms);

	evtimer_add(c->retry_timer, &tv);
	c->backoff_ms = c->backoff_ms > c->backoff_max_ms / 2 ? c->backoff_max_ms
							       : c->backoff_ms * 2;
}

static void go_idle(struct hapd_conn *c)
{
	close_ev(c);
	close_cmd(c);
	evtimer_del(c->attach_timer);
	evtimer_del(c->ping_timer);
	c->state = ST_IDLE;
	c->st.attached = false;
	walk_reset(c);
}

/* A connection attempt that never got attached. */
static void attempt_failed(struct hapd_conn *c, int err, const char *why)
{
	go_idle(c);
	if (!c->warned) {
		log_warn("hapd %s: cannot attach to %s (%s: %s); retrying", c->ifname,
			 c->dst.sun_path, why, strerror(-err));
		c->warned = true;
	} else {
		log_debug("hapd %s: attach failed (%s: %s)", c->ifname, why, strerror(-err));
	}
	schedule_retry(c);
	fail_all(c, -ENOTCONN);
}

/* The link went away: hostapd died, restarted, stalled or went mad. */
static void link_lost(struct hapd_conn *c, int err, const char *why)
{
	bool was_attached = c->st.attached;

	if (c->state == ST_IDLE)
		return;
	if (!was_attached) {
		attempt_failed(c, err, why);
		return;
	}
	go_idle(c);
	log_info("hapd %s: lost hostapd (%s%s%s)", c->ifname, why, err ? ": " : "",
		 err ? strerror(-err) : "");
	schedule_retry(c);
	if (c->cb.on_link) {
		c->cb.on_link(c, false, c->ud);
		if (c->freed)
			return;
	}
	fail_all(c, -ENOTCONN);
}

static void connect_start(struct hapd_conn *c)
{
	struct timeval tv = tv_of_ms(c->timeout_ms);
	const char *why = "event socket";
	int r;

	/* someone removed client_dir (a clean-up of /run, by hand): our sockets
	 * could not be bound again, and hostapd never reached */
	if (mkdir(c->client_dir, 0750) == 0)
		log_warn("hapd %s: %s had gone; made it again for the client sockets", c->ifname,
			 c->client_dir);
	r = open_ev(c);
	if (r == 0) {
		r = open_cmd(c);
		why = "command socket";
	}
	if (r == 0) {
		why = "ATTACH";
		if (send(c->ev_fd, "ATTACH", 6, MSG_NOSIGNAL) < 0)
			r = -errno;
	}
	c->state = ST_ATTACHING;
	if (r < 0) {
		attempt_failed(c, r, why);
		return;
	}
	evtimer_add(c->attach_timer, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;

	(void)fd;
	(void)what;
	hold(c);
	if (c->state == ST_IDLE && !c->freed)
		connect_start(c);
	release(c);
}

static void on_attach_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;

	(void)fd;
	(void)what;
	hold(c);
	c->st.timeouts++;
	attempt_failed(c, -ETIMEDOUT, "ATTACH");
	release(c);
}

/* ------------------------------------------------------------- command */

static void send_inflight(struct hapd_conn *c)
{
	struct req *r = c->inflight;

	if (send(c->cmd_fd, r->cmd, r->len, MSG_NOSIGNAL) >= 0) {
		c->inflight_sent = true;
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		/* hostapd's queue is full; the timer keeps running */
		event_add(c->cmd_wr, NULL);
		return;
	}
	link_lost(c, -errno, "send");
}

/* Discards datagrams nobody asked for, so they cannot pass for the next
 * reply. */
static void drain_stray(struct hapd_conn *c)
{
	char buf[64];

	while (recv(c->cmd_fd, buf, sizeof(buf), 0) >= 0)
		log_debug("hapd %s: dropped a stray datagram on the command socket", c->ifname);
}

static void pump(struct hapd_conn *c)
{
	struct timeval tv = tv_of_ms(c->timeout_ms);

	if (c->freed || c->inflight || !c->q_head || c->cmd_fd < 0 ||
	    (c->state != ST_WALKING && c->state != ST_UP))
		return;
	c->inflight = q_pop(c);
	c->inflight_sent = false;
	drain_stray(c);
	evtimer_add(c->req_timer, &tv);
	send_inflight(c);
}

static void on_pump(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;

	(void)fd;
	(void)what;
	hold(c);
	pump(c);
	release(c);
}

static void on_cmd_writable(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;

	(void)fd;
	(void)what;
	hold(c);
	if (c->inflight && !c->inflight_sent && !c->freed)
		send_inflight(c);
	release(c);
}

static void queue_ping(struct hapd_conn *c)
{
	struct req *r;

	if (c->ping_queued)
		return;
	r = req_new(REQ_PING, "PING", NULL, NULL);
	if (!r)
		return;
	c->ping_queued = true;
	/* ahead of waiting requests: liveness should not wait behind them */
	q_push_front(c, r);
}

static void on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;

	(void)fd;
	(void)what;
	hold(c);
	if (!c->freed && (c->state == ST_WALKING || c->state == ST_UP)) {
		queue_ping(c);
		pump(c);
	}
	release(c);
}

static void walk_step(struct hapd_conn *c, const char *reply, size_t len);

static void on_req_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;
	struct req *r;
	int e;

	(void)fd;
	(void)what;
	hold(c);
	r = take_inflight(c);
	if (!r)
		goto out;
	c->st.timeouts++;
	if (r->kind != REQ_USER) {
		/* no PONG, or the walk stuck: hostapd is not answering */
		const char *which = r->kind == REQ_PING ? "PING" : "STA walk";

		finish_req(c, r, -ETIMEDOUT);
		link_lost(c, -ETIMEDOUT, which);
		goto out;
	}
	log_warn("hapd %s: \"%.40s\" got no answer in %u ms", c->ifname, r->cmd, c->timeout_ms);
	/* before the callback, so what it queues goes to the new socket */
	e = reopen_cmd(c);
	if (e == 0) {
		/* is hostapd still there? Asked before the next request. */
		queue_ping(c);
		schedule_pump(c);
	}
	finish_req(c, r, -ETIMEDOUT);
	if (e < 0 && !c->freed)
		link_lost(c, e, "command socket");
out:
	release(c);
}

static void complete_inflight(struct hapd_conn *c, const char *reply, size_t len)
{
	struct req *r = take_inflight(c);

	switch (r->kind) {
	case REQ_USER:
		if (r->cb)
			r->cb(0, reply, len, r->ud);
		break;
	case REQ_PING:
		c->ping_queued = false;
		if (len != 5 || memcmp(reply, "PONG\n", 5) != 0) {
			char ex[81];

			excerpt(reply, len, ex);
			log_warn("hapd %s: PING answered \"%s\"", c->ifname, ex);
			link_lost(c, -EPROTO, "PING");
		}
		break;
	case REQ_WALK:
		walk_step(c, reply, len);
		break;
	}
	free(r);
	if (!c->freed)
		pump(c);
}

static void on_cmd_readable(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;
	unsigned gen = c->cmd_gen;

	(void)fd;
	(void)what;
	hold(c);
	while (!c->freed && c->cmd_gen == gen) {
		char buf[REPLY_MAX + 1];
		ssize_t n = recv(c->cmd_fd, buf, REPLY_MAX, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				link_lost(c, -errno, "receive");
			break;
		}
		buf[n] = '\0';
		if (!c->inflight || !c->inflight_sent) {
			log_debug("hapd %s: dropped an unexpected reply", c->ifname);
			continue;
		}
		complete_inflight(c, buf, (size_t)n);
	}
	release(c);
}

int hapd_request(struct hapd_conn *c, const char *cmd, hapd_reply_cb cb, void *ud)
{
	struct req *r;
	size_t len;

	if (!c || !cmd)
		return -EINVAL;
	len = strlen(cmd);
	if (len == 0)
		return -EINVAL;
	if (len > CMD_MAX)
		return -EMSGSIZE;
	if (c->freed || !c->st.attached)
		return -ENOTCONN;
	r = req_new(REQ_USER, cmd, cb, ud);
	if (!r)
		return -ENOMEM;
	q_push_back(c, r);
	/* sent from the loop, so cb never runs inside hapd_request() */
	schedule_pump(c);
	return 0;
}

/* ---------------------------------------------------------------- walk */

static int walk_send(struct hapd_conn *c, int cursor)
{
	char cmd[32];
	struct req *r;

	c->walk_cursor = cursor;
	if (cursor < 0)
		snprintf(cmd, sizeof(cmd), "STA-FIRST");
	else
		snprintf(cmd, sizeof(cmd), "STA-NEXT %s", c->walk[cursor].sta.mac);
	r = req_new(REQ_WALK, cmd, NULL, NULL);
	if (!r)
		return -ENOMEM;
	/* ahead of user requests: the list should be a quick snapshot */
	q_push_front(c, r);
	return 0;
}

static int walk_append(struct hapd_conn *c, const struct hapd_sta *sta, bool readable)
{
	struct walk_ent *w = grow(c->walk, c->walk_n, &c->walk_cap, sizeof(*w), UINT_MAX / 2);

	if (!w)
		return -ENOMEM;
	c->walk = w;
	c->walk[c->walk_n].sta = *sta;
	c->walk[c->walk_n].readable = readable;
	c->walk_n++;
	return 0;
}

static void deliver(struct hapd_conn *c, const struct hapd_ev *ev);

static void walk_done(struct hapd_conn *c)
{
	struct hapd_sta *list;
	struct hapd_ev *held = c->held;
	unsigned n = 0, held_n = c->held_n;

	c->held = NULL;
	c->held_n = c->held_cap = 0;
	/* never NULL, even for no station: callers may memcpy from it */
	list = malloc((c->walk_n + 1) * sizeof(*list));
	if (!list) {
		free(held);
		link_lost(c, -ENOMEM, "STA walk");
		return;
	}
	ms_free(&c->live);
	for (unsigned i = 0; i < c->walk_n; i++) {
		if (!c->walk[i].readable)
			continue;
		list[n++] = c->walk[i].sta;
		if (c->walk[i].sta.authorized)
			ms_add(&c->live, mac_key(c->walk[i].sta.mac));
	}
	free(c->walk);
	c->walk = NULL;
	c->walk_n = c->walk_cap = 0;
	ms_free(&c->walk_seen);
	c->state = ST_UP;
	log_debug("hapd %s: resync: %u stations, %u events held", c->ifname, n, held_n);
	if (c->cb.on_resync)
		c->cb.on_resync(c, list, n, c->ud);
	free(list);
	for (unsigned i = 0; i < held_n && !c->freed && c->state == ST_UP; i++)
		deliver(c, &held[i]);
	free(held);
}

/* One reply of the STA-FIRST/STA-NEXT walk. */
static void walk_step(struct hapd_conn *c, const char *reply, size_t len)
{
	struct hapd_sta sta;
	int r, added, idx;

	if (++c->walk_steps > WALK_STEPS_MAX) {
		log_warn("hapd %s: STA walk does not end; resync incomplete", c->ifname);
		walk_done(c);
		return;
	}
	if (len == 0) {
		walk_done(c);
		return;
	}
	r = hapd_sta_parse(reply, len, &sta);
	if (r == -ENOENT) {
		if (c->walk_cursor < 0) {
			walk_done(c);
			return;
		}
		/* FAIL: the station asked about left meanwhile. hostapd's list
		 * is singly linked and new stations go to its head, so asking
		 * for the successor of the one before it loses nobody. */
		if (walk_send(c, c->walk_cursor - 1) < 0)
			link_lost(c, -ENOMEM, "STA walk");
		return;
	}
	if (r < 0) {
		char ex[81];

		c->bad_sta_replies++;
		excerpt(reply, len, ex);
		if (log_this(c->bad_sta_replies))
			log_warn("hapd %s: unreadable STA reply (%lu so far)%s%s: \"%s\"", c->ifname,
				 c->bad_sta_replies, sta.mac[0] ? " for " : "", sta.mac, ex);
		if (!sta.mac[0]) {
			/* no MAC to go on from */
			walk_done(c);
			return;
		}
		/* listed for the walk to go on from, left out of the result */
	}
	added = ms_add(&c->walk_seen, mac_key(sta.mac));
	if (added < 0) {
		link_lost(c, added, "STA walk");
		return;
	}
	if (added) {
		if (walk_append(c, &sta, r == 0) < 0) {
			link_lost(c, -ENOMEM, "STA walk");
			return;
		}
		idx = (int)c->walk_n - 1;
	} else {
		/* seen before: it left and came back at the head; go on from
		 * where it is now */
		for (idx = 0; idx < (int)c->walk_n; idx++)
			if (strcmp(c->walk[idx].sta.mac, sta.mac) == 0)
				break;
		if (idx == (int)c->walk_n) {
			walk_done(c);
			return;
		}
		c->walk[idx].sta = sta;
		c->walk[idx].readable = r == 0;
	}
	if (walk_send(c, idx) < 0)
		link_lost(c, -ENOMEM, "STA walk");
}

/* --------------------------------------------------------------- events */

static void deliver(struct hapd_conn *c, const struct hapd_ev *ev)
{
	if (ev->type == HAPD_EV_STA_CONNECTED)
		ms_add(&c->live, mac_key(ev->mac));
	else if (ev->type == HAPD_EV_STA_DISCONNECTED)
		ms_del(&c->live, mac_key(ev->mac));
	c->st.events++;
	if (c->cb.on_event) {
		c->cb.on_event(c, ev, c->ud);
		if (c->freed)
			return;
	}
	if (ev->type == HAPD_EV_TERMINATING && c->state != ST_IDLE)
		link_lost(c, 0, "hostapd is terminating");
}

static void hold_event(struct hapd_conn *c, const struct hapd_ev *ev)
{
	struct hapd_ev *h = grow(c->held, c->held_n, &c->held_cap, sizeof(*h), HELD_MAX);

	if (!h) {
		/* the next attach walks again; better than growing forever */
		link_lost(c, -ENOBUFS, "events held during the STA walk");
		return;
	}
	c->held = h;
	c->held[c->held_n++] = *ev;
}

static void handle_event(struct hapd_conn *c, const char *buf, size_t len)
{
	struct hapd_ev ev;
	int r = hapd_ev_parse(buf, len, &ev);

	if (r == -ENOMSG) {
		c->st.unknown++;
		log_debug("hapd %s: unknown event %s", c->ifname, ev.name);
		return;
	}
	if (r < 0) {
		char ex[81];

		c->st.malformed++;
		excerpt(buf, len, ex);
		if (log_this(c->st.malformed))
			log_warn("hapd %s: malformed event (%s; %lu so far): \"%s\"", c->ifname,
				 strerror(-r), c->st.malformed, ex);
		return;
	}
	if (c->state == ST_UP) {
		deliver(c, &ev);
	} else if (ev.type == HAPD_EV_TERMINATING) {
		link_lost(c, 0, "hostapd is terminating");
	} else {
		hold_event(c, &ev);
	}
}

static void attached(struct hapd_conn *c)
{
	struct timeval tv = tv_of_ms(c->ping_ms);

	evtimer_del(c->attach_timer);
	if (c->ever_attached)
		c->st.reconnects++;
	c->ever_attached = true;
	c->warned = false;
	c->backoff_ms = c->backoff_min_ms;
	c->state = ST_WALKING;
	c->st.attached = true;
	c->walk_steps = 0;
	evtimer_add(c->ping_timer, &tv);
	log_info("hapd %s: attached to %s", c->ifname, c->dst.sun_path);
	if (walk_send(c, -1) < 0) {
		link_lost(c, -ENOMEM, "STA walk");
		return;
	}
	if (c->cb.on_link) {
		c->cb.on_link(c, true, c->ud);
		if (c->freed || c->state != ST_WALKING)
			return;
	}
	pump(c);
}

/* Events start with '<' or "IFNAME="; anything else on the event socket is
 * the reply to ATTACH. */
static bool is_event(const char *buf, size_t len)
{
	return (len > 0 && buf[0] == '<') || (len >= 7 && memcmp(buf, "IFNAME=", 7) == 0);
}

static void on_ev_readable(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;
	unsigned gen = c->ev_gen;

	(void)fd;
	(void)what;
	hold(c);
	/* Always drain: hostapd 2.10 blocks when a monitor's queue is full. */
	while (!c->freed && c->ev_gen == gen) {
		char buf[HAPD_EV_MAX + 1];
		ssize_t n = recv(c->ev_fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				link_lost(c, -errno, "event socket");
			break;
		}
		if (is_event(buf, (size_t)n) || c->state != ST_ATTACHING) {
			/* after ATTACH nothing but events is expected here */
			handle_event(c, buf, (size_t)n);
		} else {
			if (n == 3 && memcmp(buf, "OK\n", 3) == 0) {
				attached(c);
			} else {
				char ex[81];

				excerpt(buf, (size_t)n, ex);
				log_warn("hapd %s: ATTACH answered \"%s\"", c->ifname, ex);
				attempt_failed(c, -EPROTO, "ATTACH");
			}
		}
	}
	release(c);
}

/* ------------------------------------------------------------ lifecycle */

/* hapd_conn_resync()'s timer: walk the station list again when up (a walk
 * under way or a re-attach will deliver a list anyway). */
static void on_resync_timer(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_conn *c = arg;

	(void)fd;
	(void)what;
	hold(c);
	if (!c->freed && c->state == ST_UP) {
		c->state = ST_WALKING;
		c->walk_steps = 0;
		if (walk_send(c, -1) < 0)
			link_lost(c, -ENOMEM, "STA walk");
		else
			pump(c);
	}
	release(c);
}

static void destroy(struct hapd_conn *c)
{
	struct event *evs[] = { c->attach_timer, c->req_timer, c->ping_timer,
				c->retry_timer, c->pump_ev, c->resync_timer };

	for (size_t i = 0; i < ARRAY_SIZE(evs); i++)
		if (evs[i])
			event_free(evs[i]);
	ms_free(&c->live);
	free(c->ctrl_dir);
	free(c->ifname);
	free(c->client_dir);
	free(c);
}

int hapd_conn_new(struct event_base *base, const struct hapd_conn_cfg *cfg,
		  const struct hapd_callbacks *cb, void *ud, struct hapd_conn **out)
{
	struct hapd_conn *c;
	int n;
	sun_path_t probe;

	if (!base || !cfg || !out || !cfg->ctrl_dir || !cfg->ifname || !cfg->client_dir ||
	    !*cfg->ifname || strchr(cfg->ifname, '/') || cfg->client_dir[0] != '/')
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base = base;
	c->ev_fd = c->cmd_fd = -1;
	c->ping_ms = cfg->ping_interval_ms ? cfg->ping_interval_ms : DEF_PING_MS;
	c->timeout_ms = cfg->request_timeout_ms ? cfg->request_timeout_ms : DEF_TIMEOUT_MS;
	c->backoff_min_ms = cfg->backoff_min_ms ? cfg->backoff_min_ms : DEF_BACKOFF_MIN_MS;
	c->backoff_max_ms = cfg->backoff_max_ms ? cfg->backoff_max_ms : DEF_BACKOFF_MAX_MS;
	if (c->backoff_max_ms < c->backoff_min_ms) {
		free(c);
		return -EINVAL;
	}
	if (cb)
		c->cb = *cb;
	c->ud = ud;
	c->ctrl_dir = strdup(cfg->ctrl_dir);
	c->ifname = strdup(cfg->ifname);
	c->client_dir = strdup(cfg->client_dir);
	if (!c->ctrl_dir || !c->ifname || !c->client_dir)
		goto nomem;

	/* every path must fit sun_path, the longest command-socket name too */
	c->dst.sun_family = AF_UNIX;
	n = snprintf(c->dst.sun_path, sizeof(c->dst.sun_path), "%s/%s", c->ctrl_dir, c->ifname);
	if (n < 0 || (size_t)n >= sizeof(c->dst.sun_path))
		goto toolong;
	n = snprintf(c->ev_path, sizeof(c->ev_path), "%s/apgated-%d-%s-ev", c->client_dir,
		     (int)getpid(), c->ifname);
	if (n < 0 || (size_t)n >= sizeof(c->ev_path))
		goto toolong;
	n = snprintf(probe, sizeof(probe), "%s/apgated-%d-%s-cmd%u", c->client_dir,
		     (int)getpid(), c->ifname, ~0u);
	if (n < 0 || (size_t)n >= sizeof(probe))
		goto toolong;

	c->attach_timer = evtimer_new(base, on_attach_timeout, c);
	c->req_timer = evtimer_new(base, on_req_timeout, c);
	c->ping_timer = event_new(base, -1, EV_PERSIST, on_ping_timer, c);
	c->retry_timer = evtimer_new(base, on_retry, c);
	c->pump_ev = event_new(base, -1, 0, on_pump, c);
	c->resync_timer = evtimer_new(base, on_resync_timer, c);
	if (!c->attach_timer || !c->req_timer || !c->ping_timer || !c->retry_timer || !c->pump_ev ||
	    !c->resync_timer)
		goto nomem;

	/* the first attempt runs from the loop, like every later one */
	c->backoff_ms = 0;
	schedule_retry(c);
	c->backoff_ms = c->backoff_min_ms;
	*out = c;
	return 0;
toolong:
	destroy(c);
	return -ENAMETOOLONG;
nomem:
	destroy(c);
	return -ENOMEM;
}

void hapd_conn_free(struct hapd_conn *c)
{
	if (!c || c->freed)
		return;
	c->freed = true;
	hold(c);
	if (c->ev_fd >= 0 && c->state != ST_IDLE)
		(void)send(c->ev_fd, "DETACH", 6, MSG_DONTWAIT | MSG_NOSIGNAL);
	go_idle(c);
	evtimer_del(c->retry_timer);
	evtimer_del(c->resync_timer);
	event_del(c->pump_ev);
	fail_all(c, -ECANCELED);
	release(c);
}

void hapd_conn_stats(const struct hapd_conn *c, struct hapd_stats *st)
{
	*st = c->st;
	st->stations = (unsigned)c->live.n;
}

void hapd_conn_resync(struct hapd_conn *c, unsigned delay_ms)
{
	struct timeval tv = tv_of_ms(delay_ms);

	if (c && !c->freed && !evtimer_pending(c->resync_timer, NULL))
		evtimer_add(c->resync_timer, &tv);
}

const char *hapd_conn_ifname(const struct hapd_conn *c) { return c->ifname; }
