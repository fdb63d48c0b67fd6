/* hapd_peer.c - test double for one hostapd 2.10 BSS control socket.
 * Command handling follows hostapd/ctrl_iface.c:hostapd_ctrl_iface_receive
 * and src/ap/ctrl_iface_ap.c of hostapd 2.10 (read to learn; see header).
 */
#include "hapd_peer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "mac.h"
#include "util.h"

#define CMD_BUF 4096         /* hostapd: char buf[4096], reads at most 4095 */
#define REPLY_MAX 4096       /* hostapd: reply_size = 4096 */
#define MSG_INFO_LEVEL 3     /* wpa_printf MSG_INFO; new monitors get it */
#define MON_ERRORS_MAX 10    /* hostapd drops a monitor after > 10 errors */
#define OWN_BSSID "02:00:00:00:ff:00"

struct dgram {
	struct dgram *next;
	struct sockaddr_un to;    /* replies only; a monitor has its own */
	socklen_t tolen;
	size_t len;
	char data[];
};

/* datagrams waiting for room in a receiver's socket, in order */
struct dq {
	struct dgram *head, *tail;
	size_t n;
};

struct monitor {
	struct monitor *next;
	struct sockaddr_un addr;
	socklen_t addrlen;
	int level;
	int errors;
	struct dq q;
};

struct peer_sta {
	struct peer_sta *next;
	struct hapd_peer *peer;
	uint8_t addr[6];
	char mac[MAC_STR_LEN];
	int vlan_id;
	char keyid[32];
	bool btm;               /* advertises BSS Transition (ext_capab bit 19) */
	char *identity;         /* 802.1X station if set */
	unsigned aid;
	bool authorized;
	const char *flags;
	const char *timeout_next;
	long long since_ms;
	struct event *remove_ev;
};

struct acl_entry {
	uint8_t addr[6];
	int vlan_id;
};

struct acl {
	struct acl_entry *v;
	size_t n, cap;
};

struct hapd_peer {
	struct event_base *base;
	char *dir;
	char *ifname;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd;
	struct event *rd_ev;
	struct event *flush_ev;
	struct dq replies;        /* replies that found the socket full */
	struct monitor *mons;
	struct peer_sta *stas;
	unsigned n_stas;
	unsigned next_aid;
	struct acl accept, deny;
	int macaddr_acl;
	unsigned remove_delay_ms;
	int btm_status;
	char bssid[MAC_STR_LEN]; /* STATUS: bssid[0]= */
	unsigned freq, channel;
	bool ht;
	bool stalled;
	bool blocking;
	char **cmds;
	size_t n_cmds, cap_cmds;
	void (*attach_cb)(struct hapd_peer *p, void *ud);
	void *attach_ud;
	void (*command_cb)(struct hapd_peer *p, const char *cmd, void *ud);
	void *command_ud;
	struct peer_stats st;
};

static const char FLAGS_AUTHORIZED[] = "[AUTH][ASSOC][AUTHORIZED][SHORT_PREAMBLE][WMM][HT]";

/* ---------------------------------------------------------------- helpers */

/* hostapd's hwaddr_aton(): "xx:xx:xx:xx:xx:xx" at the start of txt, any
 * text after it is not looked at. */
static int hwaddr_aton(const char *txt, uint8_t addr[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = util_hexval(txt[0]), lo;

		if (hi < 0)
			return -1;
		lo = util_hexval(txt[1]);
		if (lo < 0)
			return -1;
		addr[i] = (uint8_t)(hi << 4 | lo);
		txt += 2;
		if (i < 5 && *txt++ != ':')
			return -1;
	}
	return 0;
}

static void macstr(const uint8_t a[6], char out[MAC_STR_LEN])
{
	struct mac m;

	memcpy(m.b, a, 6);
	mac_format(&m, out);
}

/* Bounded text builder: like hostapd's os_snprintf chains, stops at the
 * first piece that does not fit. */
struct rbuf {
	char *buf;
	size_t size;
	size_t len;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void rb_add(struct rbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->full)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->buf + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= b->size - b->len) {
		b->full = true;
		return;
	}
	b->len += (size_t)r;
}

/* ------------------------------------------------------------ send path */

static ssize_t send_to(struct hapd_peer *p, const struct sockaddr_un *to, socklen_t tolen,
		       const void *buf, size_t len)
{
	/* The fd itself stays blocking; MSG_DONTWAIT makes each send
	 * non-blocking unless the peer imitates hostapd 2.10's blocking sends. */
	return sendto(p->fd, buf, len, p->blocking ? 0 : MSG_DONTWAIT,
		      (const struct sockaddr *)to, tolen);
}

static struct dgram *dq_push(struct dq *q, const void *buf, size_t len)
{
	struct dgram *d = malloc(sizeof(*d) + len);

	if (!d)
		return NULL;
	d->next = NULL;
	d->tolen = 0;
	d->len = len;
	memcpy(d->data, buf, len);
	if (q->tail)
		q->tail->next = d;
	else
		q->head = d;
	q->tail = d;
	q->n++;
	return d;
}

static void dq_pop(struct dq *q)
{
	struct dgram *d = q->head;

	q->head = d->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	free(d);
}

static void monitor_free(struct hapd_peer *p, struct monitor *m)
{
	while (m->q.head) {
		p->st.events_dropped++;
		dq_pop(&m->q);
	}
	free(m);
}

static void monitor_unlink(struct hapd_peer *p, struct monitor *m)
{
	for (struct monitor **pp = &p->mons; *pp; pp = &(*pp)->next) {
		if (*pp == m) {
			*pp = m->next;
			p->st.monitors--;
			monitor_free(p, m);
			return;
		}
	}
}

/* Returns 0 when the queue is empty, 1 when the socket is full, -1 when
 * the monitor was dropped (as hostapd drops it). */
static int monitor_flush(struct hapd_peer *p, struct monitor *m)
{
	while (m->q.head) {
		struct dgram *d = m->q.head;
		int err;

		if (send_to(p, &m->addr, m->addrlen, d->data, d->len) >= 0) {
			m->errors = 0;
			p->st.events_sent++;
			dq_pop(&m->q);
			continue;
		}
		err = errno;
		if (err == EAGAIN || err == EWOULDBLOCK)
			return 1;
		if (err == EINTR)
			continue;
		p->st.events_dropped++;
		dq_pop(&m->q);
		m->errors++;
		if (m->errors > MON_ERRORS_MAX || err == ENOENT) {
			monitor_unlink(p, m);
			return -1;
		}
	}
	return 0;
}

/* Replies wait in one queue, in order; one that cannot be sent for any
 * reason but a full socket is lost, as in hostapd. Returns true if the
 * socket is full. */
static bool replies_flush(struct hapd_peer *p)
{
	while (p->replies.head) {
		struct dgram *d = p->replies.head;

		if (send_to(p, &d->to, d->tolen, d->data, d->len) < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
		}
		dq_pop(&p->replies);
	}
	return false;
}

static void flush_all(struct hapd_peer *p)
{
	bool blocked;
	struct monitor *m, *next;

	if (p->stalled)
		return;
	blocked = replies_flush(p);
	for (m = p->mons; m; m = next) {
		next = m->next;
		if (monitor_flush(p, m) == 1)
			blocked = true;
	}
	if (blocked && !evtimer_pending(p->flush_ev, NULL)) {
		struct timeval tv = { 0, 1000 };
		evtimer_add(p->flush_ev, &tv);
	}
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_all(arg);
}

static void queue_to(struct hapd_peer *p, struct monitor *m, const void *buf, size_t len)
{
	if (!dq_push(&m->q, buf, len)) {
		p->st.events_dropped++;
		return;
	}
	p->st.events_queued++;
}

/* hostapd's sendto() of a reply blocks until there is room (its socket's
 * send buffer is shared with the events); here the reply waits in a queue. */
static void send_reply(struct hapd_peer *p, const struct sockaddr_un *to, socklen_t tolen,
		       const char *buf, size_t len)
{
	struct dgram *d;

	if (!p->replies.head && send_to(p, to, tolen, buf, len) >= 0)
		return;
	if (!p->replies.head && errno != EAGAIN && errno != EWOULDBLOCK)
		return; /* lost, as in hostapd */
	d = dq_push(&p->replies, buf, len);
	if (!d)
		return;
	memcpy(&d->to, to, tolen);
	d->tolen = tolen;
	flush_all(p);
}

static int emit_level(struct hapd_peer *p, int level, const void *buf, size_t len)
{
	int n = 0;

	for (struct monitor *m = p->mons; m; m = m->next) {
		if (level < m->level)
			continue;
		queue_to(p, m, buf, len);
		n++;
	}
	flush_all(p);
	return n;
}

int peer_emit(struct hapd_peer *p, const char *text)
{
	char buf[REPLY_MAX + 8];
	int n = snprintf(buf, sizeof(buf), "<%d>%s", MSG_INFO_LEVEL, text);

	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EMSGSIZE;
	return emit_level(p, MSG_INFO_LEVEL, buf, (size_t)n);
}

int peer_emit_raw(struct hapd_peer *p, const void *buf, size_t len)
{
	int n = 0;

	for (struct monitor *m = p->mons; m; m = m->next, n++)
		queue_to(p, m, buf, len);
	flush_all(p);
	return n;
}

__attribute__((format(printf, 2, 3)))
static void emitf(struct hapd_peer *p, const char *fmt, ...)
{
	char text[REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	peer_emit(p, text);
}

/* ------------------------------------------------------------- stations */

static struct peer_sta *sta_find(struct hapd_peer *p, const uint8_t addr[6])
{
	for (struct peer_sta *s = p->stas; s; s = s->next)
		if (memcmp(s->addr, addr, 6) == 0)
			return s;
	return NULL;
}

static struct peer_sta *sta_find_str(struct hapd_peer *p, const char *mac)
{
	struct mac m;

	if (mac_parse(mac, &m) < 0)
		return NULL;
	return sta_find(p, m.b);
}

static void sta_free(struct peer_sta *s)
{
	if (s->remove_ev)
		event_free(s->remove_ev);
	free(s->identity);
	free(s);
}

static void sta_remove(struct hapd_peer *p, struct peer_sta *s)
{
	for (struct peer_sta **pp = &p->stas; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			p->n_stas--;
			sta_free(s);
			return;
		}
	}
}

static struct peer_sta *sta_new(struct hapd_peer *p, const uint8_t addr[6])
{
	struct peer_sta *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->peer = p;
	memcpy(s->addr, addr, 6);
	macstr(addr, s->mac);
	s->aid = ++p->next_aid;
	s->authorized = true;
	s->flags = FLAGS_AUTHORIZED;
	s->timeout_next = "NULLFUNC POLL";
	s->since_ms = util_mono_ms();
	/* hostapd's ap_sta_add() puts a new station at the head of sta_list */
	s->next = p->stas;
	p->stas = s;
	p->n_stas++;
	return s;
}

static void on_sta_remove(evutil_socket_t fd, short what, void *arg)
{
	struct peer_sta *s = arg;

	(void)fd;
	(void)what;
	sta_remove(s->peer, s);
}

/* ap_sta_deauthenticate() / ap_sta_disassociate() / ap_sta_disconnect():
 * the event at once if it was authorized, the entry later. */
static void sta_kick(struct hapd_peer *p, struct peer_sta *s, bool disassoc)
{
	struct timeval tv = { (time_t)(p->remove_delay_ms / 1000),
			      (suseconds_t)(p->remove_delay_ms % 1000) * 1000 };

	if (s->authorized) {
		s->authorized = false;
		emitf(p, "AP-STA-DISCONNECTED %s", s->mac);
	}
	s->flags = disassoc ? "[AUTH]" : "";
	s->timeout_next = disassoc ? "DEAUTH" : "REMOVE";
	if (!s->remove_ev)
		s->remove_ev = evtimer_new(p->base, on_sta_remove, s);
	if (s->remove_ev)
		evtimer_add(s->remove_ev, &tv);
}

/* hostapd_free_stas(): every station goes, authorized ones with an event */
static void sta_flush(struct hapd_peer *p)
{
	while (p->stas) {
		struct peer_sta *s = p->stas;

		if (s->authorized)
			emitf(p, "AP-STA-DISCONNECTED %s", s->mac);
		sta_remove(p, s);
	}
}

static int sta_add(struct hapd_peer *p, const char *mac, int vlan_id, const char *keyid,
		   struct peer_sta **out)
{
	struct mac m;
	struct peer_sta *s;

	if (mac_parse(mac, &m) < 0 || vlan_id < 0)
		return -EINVAL;
	if (keyid && strlen(keyid) >= sizeof(s->keyid))
		return -EINVAL;
	if (sta_find(p, m.b))
		return -EEXIST;
	s = sta_new(p, m.b);
	if (!s)
		return -ENOMEM;
	s->vlan_id = vlan_id;
	if (keyid)
		util_strlcpy(s->keyid, keyid, sizeof(s->keyid));
	*out = s;
	return 0;
}

void peer_set_radio(struct hapd_peer *p, const char *bssid, unsigned freq, unsigned channel, bool ht)
{
	util_strlcpy(p->bssid, bssid, sizeof(p->bssid));
	p->freq = freq;
	p->channel = channel;
	p->ht = ht;
}

int peer_set_sta_btm(struct hapd_peer *p, const char *mac, bool btm)
{
	uint8_t a[6];
	struct peer_sta *s;

	if (hwaddr_aton(mac, a) < 0 || !(s = sta_find(p, a)))
		return -ENOENT;
	s->btm = btm;
	return 0;
}

int peer_add_sta(struct hapd_peer *p, const char *mac, int vlan_id, const char *keyid)
{
	struct peer_sta *s;

	return sta_add(p, mac, vlan_id, keyid, &s);
}

int peer_connect_sta(struct hapd_peer *p, const char *mac, int vlan_id, const char *keyid)
{
	struct peer_sta *s;
	int r = sta_add(p, mac, vlan_id, keyid, &s);

	if (r < 0)
		return r;
	if (s->keyid[0])
		emitf(p, "AP-STA-CONNECTED %s keyid=%s", s->mac, s->keyid);
	else
		emitf(p, "AP-STA-CONNECTED %s", s->mac);
	return 0;
}

int peer_del_sta(struct hapd_peer *p, const char *mac)
{
	struct peer_sta *s = sta_find_str(p, mac);

	if (!s)
		return -ENOENT;
	sta_remove(p, s);
	return 0;
}

int peer_disconnect_sta(struct hapd_peer *p, const char *mac)
{
	struct peer_sta *s = sta_find_str(p, mac);

	if (!s)
		return -ENOENT;
	if (s->authorized)
		emitf(p, "AP-STA-DISCONNECTED %s", s->mac);
	sta_remove(p, s);
	return 0;
}

int peer_set_sta_identity(struct hapd_peer *p, const char *mac, const char *identity)
{
	struct peer_sta *s = sta_find_str(p, mac);
	char *id;

	if (!s)
		return -ENOENT;
	id = strdup(identity);
	if (!id)
		return -ENOMEM;
	free(s->identity);
	s->identity = id;
	return 0;
}

unsigned peer_n_stas(const struct hapd_peer *p) { return p->n_stas; }

int peer_sta_authorized(const struct hapd_peer *p, const char *mac)
{
	const struct peer_sta *s = sta_find_str((struct hapd_peer *)p, mac);

	return s ? s->authorized : -ENOENT;
}

/* hostapd_ctrl_iface_sta_mib(): the fields in hostapd's order. Numbers are
 * made up but stable; the layout is that of a WPA2 station (802.1X with an
 * identity, PSK without). The 802.1X block is abridged to its first and
 * last lines. */
static int sta_mib(const struct peer_sta *s, char *buf, size_t size)
{
	struct rbuf b = { buf, size, 0, false };
	long long secs;

	if (!s)
		return 0;
	secs = (util_mono_ms() - s->since_ms) / 1000;
	rb_add(&b, "%s\nflags=%s\naid=%u\ncapability=0x%x\nlisten_interval=%d\n"
		   "supported_rates=82 84 8b 96 0c 12 18 24 30 48 60 6c\ntimeout_next=%s\n",
	       s->mac, s->flags, s->aid, 0x1431, 10, s->timeout_next);
	/* wpa_get_mib_sta() */
	rb_add(&b, "dot11RSNAStatsSTAAddress=%s\ndot11RSNAStatsVersion=1\n"
		   "dot11RSNAStatsSelectedPairwiseCipher=00-0f-ac-4\n"
		   "dot11RSNAStatsTKIPLocalMICFailures=0\n"
		   "dot11RSNAStatsTKIPRemoteMICFailures=0\n"
		   "wpa=2\nAKMSuiteSelector=00-0f-ac-%d\n"
		   "hostapdWPAPTKState=11\nhostapdWPAPTKGroupState=0\n",
	       s->mac, s->identity ? 1 : 2);
	/* ieee802_1x_get_mib_sta() */
	if (s->identity) {
		rb_add(&b, "dot1xPaePortNumber=%u\ndot1xPaePortProtocolVersion=2\n"
			   "dot1xPaePortCapabilities=1\ndot1xPaePortInitialize=0\n"
			   "dot1xPaePortReauthenticate=FALSE\n"
			   "dot1xAuthSessionId=%016llX\ndot1xAuthSessionAuthenticMethod=1\n"
			   "dot1xAuthSessionTime=%lld\ndot1xAuthSessionTerminateCause=999\n"
			   "dot1xAuthSessionUserName=%s\n",
		       s->aid, 0x5d3a0000ULL + s->aid, secs, s->identity);
		rb_add(&b, "last_eap_type_as=4 (MD5)\nlast_eap_type_sta=4 (MD5)\n");
	}
	/* hostapd_get_sta_info(): driver statistics */
	rb_add(&b, "rx_packets=%u\ntx_packets=%u\nrx_bytes=%u\ntx_bytes=%u\n"
		   "inactive_msec=%u\nsignal=%d\nrx_rate_info=%u\ntx_rate_info=%u\n"
		   "ht_mcs_bitmask=ffff0000000000000000\nconnected_time=%lld\n",
	       100 + s->aid, 50 + s->aid, 12000 + 7 * s->aid, 6000 + 3 * s->aid,
	       40 * (s->aid % 25), -40 - (int)(s->aid % 30), 650, 720, secs);
	if (s->vlan_id > 0)
		rb_add(&b, "vlan_id=%d\n", s->vlan_id);
	rb_add(&b, "supp_op_classes=51515354737475767778797a7b7c7d7e7f808182\n"
		   "min_txpower=0\nmax_txpower=20\nht_caps_info=0x01ef\n"
		   "ext_capab=%s\n", s->btm ? "0400080000000040" : "0400000000000040");
	if (s->keyid[0])
		rb_add(&b, "keyid=%s\n", s->keyid);
	return (int)b.len;
}

/* ----------------------------------------------------------------- ACLs */

static ssize_t acl_find(const struct acl *a, const uint8_t addr[6])
{
	for (size_t i = 0; i < a->n; i++)
		if (memcmp(a->v[i].addr, addr, 6) == 0)
			return (ssize_t)i;
	return -1;
}

/* hostapd_ctrl_iface_acl_add_mac(): a listed MAC is left as it is */
static int acl_add(struct acl *a, const char *cmd)
{
	uint8_t addr[6];
	const char *v;
	size_t i;

	if (hwaddr_aton(cmd, addr))
		return -1;
	if (acl_find(a, addr) >= 0)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		struct acl_entry *nv = realloc(a->v, cap * sizeof(*nv));
		if (!nv)
			return -1;
		a->v = nv;
		a->cap = cap;
	}
	/* kept sorted, as hostapd qsort()s the list after adding */
	for (i = a->n; i > 0 && memcmp(a->v[i - 1].addr, addr, 6) > 0; i--)
		a->v[i] = a->v[i - 1];
	memcpy(a->v[i].addr, addr, 6);
	v = strstr(cmd, "VLAN_ID=");
	a->v[i].vlan_id = v ? atoi(v + 8) : 0;
	a->n++;
	return 0;
}

static int acl_del(struct acl *a, const char *cmd)
{
	uint8_t addr[6];
	ssize_t i;

	if (a->n == 0)
		return 0; /* hostapd looks at nothing, not even the MAC */
	if (hwaddr_aton(cmd, addr))
		return -1;
	i = acl_find(a, addr);
	if (i >= 0) {
		memmove(&a->v[i], &a->v[i + 1], (a->n - (size_t)i - 1) * sizeof(*a->v));
		a->n--;
	}
	return 0;
}

static int acl_show(const struct acl *a, char *buf, size_t size)
{
	struct rbuf b = { buf, size, 0, false };

	for (size_t i = 0; i < a->n && !b.full; i++) {
		char mac[MAC_STR_LEN];

		macstr(a->v[i].addr, mac);
		rb_add(&b, "%s VLAN_ID=%d\n", mac, a->v[i].vlan_id);
	}
	return (int)b.len;
}

/* hostapd_disassoc_accept_mac() */
static void kick_not_accepted(struct hapd_peer *p)
{
	struct peer_sta *s, *next;

	if (p->macaddr_acl != 1)
		return;
	for (s = p->stas; s; s = next) {
		ssize_t i = acl_find(&p->accept, s->addr);

		next = s->next;
		if (i < 0 || (p->accept.v[i].vlan_id && p->accept.v[i].vlan_id != s->vlan_id))
			sta_kick(p, s, false);
	}
}

/* hostapd_disassoc_deny_mac() */
static void kick_denied(struct hapd_peer *p)
{
	struct peer_sta *s, *next;

	for (s = p->stas; s; s = next) {
		ssize_t i = acl_find(&p->deny, s->addr);

		next = s->next;
		if (i >= 0 && (!p->deny.v[i].vlan_id || p->deny.v[i].vlan_id == s->vlan_id))
			sta_kick(p, s, false);
	}
}

/* ------------------------------------------------------------- commands */

static struct monitor *monitor_find(struct hapd_peer *p, const struct sockaddr_un *from,
				    socklen_t fromlen)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);

	for (struct monitor *m = p->mons; m; m = m->next)
		if (m->addrlen == fromlen &&
		    memcmp(m->addr.sun_path, from->sun_path, fromlen - off) == 0)
			return m;
	return NULL;
}

/* Returns 1 for a new monitor, 0 for a re-ATTACH, -1 on failure. */
static int cmd_attach(struct hapd_peer *p, const struct sockaddr_un *from, socklen_t fromlen)
{
	struct monitor *m;

	if (fromlen <= offsetof(struct sockaddr_un, sun_path) || fromlen > sizeof(*from))
		return -1;
	if (monitor_find(p, from, fromlen))
		return 0; /* only the options would change */
	m = calloc(1, sizeof(*m));
	if (!m)
		return -1;
	memcpy(&m->addr, from, fromlen);
	m->addrlen = fromlen;
	m->level = MSG_INFO_LEVEL;
	m->next = p->mons;
	p->mons = m;
	p->st.monitors++;
	return 1;
}

static int cmd_sta(struct hapd_peer *p, const char *txt, char *reply, size_t size)
{
	uint8_t addr[6];
	struct peer_sta *s;

	if (hwaddr_aton(txt, addr))
		return snprintf(reply, size, "FAIL\n");
	s = sta_find(p, addr);
	if (!s || strchr(txt, ' '))
		return -1;
	return sta_mib(s, reply, size);
}

static int cmd_sta_next(struct hapd_peer *p, const char *txt, char *reply, size_t size)
{
	uint8_t addr[6];
	struct peer_sta *s;

	if (hwaddr_aton(txt, addr) || !(s = sta_find(p, addr)))
		return snprintf(reply, size, "FAIL\n");
	return sta_mib(s->next, reply, size);
}

static int cmd_deauth(struct hapd_peer *p, const char *txt, bool disassoc)
{
	uint8_t addr[6];
	struct peer_sta *s;

	if (hwaddr_aton(txt, addr))
		return -1;
	s = sta_find(p, addr);
	if (s)
		sta_kick(p, s, disassoc);
	else if (addr[0] == 0xff)
		sta_flush(p);
	return 0;
}

static int cmd_new_sta(struct hapd_peer *p, const char *txt)
{
	uint8_t addr[6];
	struct peer_sta *s;

	if (hwaddr_aton(txt, addr))
		return -1;
	if (sta_find(p, addr))
		return 0;
	s = sta_new(p, addr);
	if (!s)
		return -1;
	emitf(p, "AP-STA-CONNECTED %s", s->mac);
	return 0;
}

static void record(struct hapd_peer *p, const char *cmd)
{
	char *c;

	p->st.commands++;
	if (p->n_cmds == p->cap_cmds) {
		size_t cap = p->cap_cmds ? 2 * p->cap_cmds : 64;
		char **nv = realloc(p->cmds, cap * sizeof(*nv));
		if (!nv)
			return;
		p->cmds = nv;
		p->cap_cmds = cap;
	}
	c = strdup(cmd);
	if (c)
		p->cmds[p->n_cmds++] = c;
}

/* hostapd_ctrl_iface_status() of 2.10, as driver=wired prints it, with
 * the radio fields a test sets (peer_set_radio) and this BSS alone. */
static int cmd_status(struct hapd_peer *p, char *buf, size_t size)
{
	struct rbuf b = { buf, size, 0, false };

	rb_add(&b, "state=ENABLED\nphy=\nfreq=%u\nnum_sta_non_erp=0\nnum_sta_no_short_slot_time=0\n"
		   "num_sta_no_short_preamble=0\nolbc=0\nnum_sta_ht_no_gf=0\nnum_sta_no_ht=0\n"
		   "num_sta_ht_20_mhz=0\nnum_sta_ht40_intolerant=0\nolbc_ht=0\nht_op_mode=0x0\n"
		   "cac_time_seconds=0\ncac_time_left_seconds=N/A\nchannel=%u\nedmg_enable=0\n"
		   "edmg_channel=0\nsecondary_channel=0\nieee80211n=%d\nieee80211ac=0\nieee80211ax=0\n"
		   "beacon_int=100\ndtim_period=2\nbss[0]=%s\nbssid[0]=%s\nssid[0]=%s\nnum_sta[0]=%u\n",
	       p->freq, p->channel, p->ht, p->ifname, p->bssid, p->ifname, p->n_stas);
	return (int)b.len;
}

static void handle_command(struct hapd_peer *p, const char *buf,
			   const struct sockaddr_un *from, socklen_t fromlen)
{
	char reply[REPLY_MAX];
	int len = 3;
	bool new_monitor = false;
	struct peer_sta *btm_sta = NULL;
	char btm_target[MAC_STR_LEN] = OWN_BSSID;

	memcpy(reply, "OK\n", 3);
	if (strcmp(buf, "PING") == 0) {
		memcpy(reply, "PONG\n", 5);
		len = 5;
	} else if (strcmp(buf, "STA-FIRST") == 0) {
		len = sta_mib(p->stas, reply, sizeof(reply));
	} else if (strncmp(buf, "STA ", 4) == 0) {
		len = cmd_sta(p, buf + 4, reply, sizeof(reply));
	} else if (strncmp(buf, "STA-NEXT ", 9) == 0) {
		len = cmd_sta_next(p, buf + 9, reply, sizeof(reply));
	} else if (strcmp(buf, "ATTACH") == 0 || strncmp(buf, "ATTACH ", 7) == 0) {
		int r = cmd_attach(p, from, fromlen);
		if (r < 0)
			len = -1;
		new_monitor = r == 1;
	} else if (strcmp(buf, "DETACH") == 0) {
		struct monitor *m = monitor_find(p, from, fromlen);
		if (m)
			monitor_unlink(p, m);
		else
			len = -1;
	} else if (strncmp(buf, "LEVEL ", 6) == 0) {
		struct monitor *m = monitor_find(p, from, fromlen);
		if (m)
			m->level = atoi(buf + 6);
		else
			len = -1;
	} else if (strncmp(buf, "NEW_STA ", 8) == 0) {
		if (cmd_new_sta(p, buf + 8) < 0)
			len = -1;
	} else if (strncmp(buf, "DEAUTHENTICATE ", 15) == 0) {
		if (cmd_deauth(p, buf + 15, false) < 0)
			len = -1;
	} else if (strncmp(buf, "DISASSOCIATE ", 13) == 0) {
		if (cmd_deauth(p, buf + 13, true) < 0)
			len = -1;
	} else if (strcmp(buf, "STATUS") == 0) {
		len = cmd_status(p, reply, sizeof(reply));
	} else if (strcmp(buf, "RELOAD_WPA_PSK") == 0) {
		/* OK: the peer keeps no PSKs (the real hostapd reads the file) */
	} else if (strncmp(buf, "BSS_TM_REQ ", 11) == 0) {
		uint8_t addr[6];
		const char *nb = strstr(buf, " neighbor=");
		uint8_t nbssid[6];

		if (hwaddr_aton(buf + 11, addr) || !(btm_sta = sta_find(p, addr)))
			len = -1;
		else if (nb && hwaddr_aton(nb + 10, nbssid) == 0)
			macstr(nbssid, btm_target);
	} else if (strncmp(buf, "ACCEPT_ACL ", 11) == 0) {
		const char *sub = buf + 11;
		if (strncmp(sub, "ADD_MAC ", 8) == 0) {
			if (acl_add(&p->accept, sub + 8) < 0)
				len = -1;
		} else if (strncmp(sub, "DEL_MAC ", 8) == 0) {
			if (acl_del(&p->accept, sub + 8) < 0)
				len = -1;
			else
				kick_not_accepted(p);
		} else if (strcmp(sub, "SHOW") == 0) {
			len = acl_show(&p->accept, reply, sizeof(reply));
		} else if (strcmp(sub, "CLEAR") == 0) {
			p->accept.n = 0;
			kick_not_accepted(p);
		}
	} else if (strncmp(buf, "DENY_ACL ", 9) == 0) {
		const char *sub = buf + 9;
		if (strncmp(sub, "ADD_MAC ", 8) == 0) {
			if (acl_add(&p->deny, sub + 8) < 0)
				len = -1;
			else
				kick_denied(p);
		} else if (strncmp(sub, "DEL_MAC ", 8) == 0) {
			if (acl_del(&p->deny, sub + 8) < 0)
				len = -1;
		} else if (strcmp(sub, "SHOW") == 0) {
			len = acl_show(&p->deny, reply, sizeof(reply));
		} else if (strcmp(sub, "CLEAR") == 0) {
			p->deny.n = 0;
		}
	} else {
		memcpy(reply, "UNKNOWN COMMAND\n", 16);
		len = 16;
	}
	if (len < 0) {
		memcpy(reply, "FAIL\n", 5);
		len = 5;
	}
	send_reply(p, from, fromlen, reply, (size_t)len);

	if (new_monitor && p->attach_cb)
		p->attach_cb(p, p->attach_ud);
	if (btm_sta && len == 3 && p->btm_status >= 0) {
		if (p->btm_status == 0)
			emitf(p, "BSS-TM-RESP %s status_code=0 bss_termination_delay=0 "
				 "target_bssid=%s", btm_sta->mac, btm_target);
		else
			emitf(p, "BSS-TM-RESP %s status_code=%d bss_termination_delay=0",
			      btm_sta->mac, p->btm_status);
	}
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct hapd_peer *p = arg;

	(void)what;
	/* a bounded batch per wake-up keeps other fds served */
	for (int i = 0; i < 64 && !p->stalled; i++) {
		char buf[CMD_BUF];
		struct sockaddr_un from;
		socklen_t fromlen = sizeof(from);
		ssize_t r;

		memset(&from, 0, sizeof(from));
		r = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fromlen);
		if (r < 0)
			return;
		buf[r] = '\0';
		record(p, buf);
		if (p->command_cb)
			p->command_cb(p, buf, p->command_ud);
		handle_command(p, buf, &from, fromlen);
	}
}

/* ------------------------------------------------------------ lifecycle */

static int bind_ctrl(struct hapd_peer *p)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(p->path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(addr.sun_path, p->path, strlen(p->path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int probe;

		if (errno != EADDRINUSE) {
			int e = -errno;
			close(fd);
			return e;
		}
		/* hostapd: a socket nobody answers on is a leftover */
		probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
			close(probe);
			close(fd);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		if (unlink(p->path) < 0 ||
		    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			int e = -errno;
			close(fd);
			return e;
		}
	}
	if (chmod(p->path, S_IRWXU | S_IRWXG) < 0) {
		int e = -errno;
		close(fd);
		unlink(p->path);
		return e;
	}
	p->fd = fd;
	return 0;
}

int peer_new(struct event_base *base, const char *dir, const char *ifname,
	     struct hapd_peer **out)
{
	struct hapd_peer *p;
	int r, n;

	if (!base || !dir || !ifname || !*ifname || strchr(ifname, '/'))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->fd = -1;
	p->base = base;
	p->remove_delay_ms = 5000;
	p->btm_status = -1;
	util_strlcpy(p->bssid, OWN_BSSID, sizeof(p->bssid));
	p->dir = strdup(dir);
	p->ifname = strdup(ifname);
	if (!p->dir || !p->ifname) {
		r = -ENOMEM;
		goto fail;
	}
	n = snprintf(p->path, sizeof(p->path), "%s/%s", dir, ifname);
	if (n < 0 || (size_t)n >= sizeof(p->path)) {
		r = -ENAMETOOLONG;
		goto fail;
	}
	if (mkdir(dir, S_IRWXU | S_IRWXG) < 0 && errno != EEXIST) {
		r = -errno;
		goto fail;
	}
	r = bind_ctrl(p);
	if (r < 0)
		goto fail;
	p->rd_ev = event_new(base, p->fd, EV_READ | EV_PERSIST, on_read, p);
	p->flush_ev = evtimer_new(base, on_flush_timer, p);
	if (!p->rd_ev || !p->flush_ev || event_add(p->rd_ev, NULL) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	*out = p;
	return 0;
fail:
	peer_free(p);
	return r;
}

void peer_free(struct hapd_peer *p)
{
	if (!p)
		return;
	if (p->rd_ev)
		event_free(p->rd_ev);
	if (p->flush_ev)
		event_free(p->flush_ev);
	while (p->mons) {
		struct monitor *m = p->mons;
		p->mons = m->next;
		monitor_free(p, m);
	}
	while (p->replies.head)
		dq_pop(&p->replies);
	while (p->stas) {
		struct peer_sta *s = p->stas;
		p->stas = s->next;
		sta_free(s);
	}
	if (p->fd >= 0) {
		close(p->fd);
		unlink(p->path);
		/* hostapd removes its ctrl_interface directory when empty */
		if (p->dir)
			rmdir(p->dir);
	}
	for (size_t i = 0; i < p->n_cmds; i++)
		free(p->cmds[i]);
	free(p->cmds);
	free(p->accept.v);
	free(p->deny.v);
	free(p->dir);
	free(p->ifname);
	free(p);
}

void peer_terminate(struct hapd_peer *p)
{
	if (!p)
		return;
	for (struct peer_sta *s = p->stas; s; s = s->next)
		if (s->authorized)
			emitf(p, "AP-STA-DISCONNECTED %s", s->mac);
	peer_emit(p, "AP-DISABLED ");
	peer_emit(p, "CTRL-EVENT-TERMINATING ");
	p->stalled = false;
	flush_all(p);
	peer_free(p);
}

const char *peer_ifname(const struct hapd_peer *p) { return p->ifname; }
const char *peer_path(const struct hapd_peer *p) { return p->path; }
unsigned peer_n_monitors(const struct hapd_peer *p) { return p->st.monitors; }

void peer_set_attach_cb(struct hapd_peer *p, void (*cb)(struct hapd_peer *p, void *ud), void *ud)
{
	p->attach_cb = cb;
	p->attach_ud = ud;
}

void peer_set_command_cb(struct hapd_peer *p,
			 void (*cb)(struct hapd_peer *p, const char *cmd, void *ud), void *ud)
{
	p->command_cb = cb;
	p->command_ud = ud;
}

void peer_set_stall(struct hapd_peer *p, bool stall)
{
	if (p->stalled == stall)
		return;
	p->stalled = stall;
	if (stall) {
		event_del(p->rd_ev);
		evtimer_del(p->flush_ev);
	} else {
		event_add(p->rd_ev, NULL);
		flush_all(p);
		/* commands that waited in the socket are read on the next
		 * loop pass: the fd is readable */
	}
}

void peer_set_blocking(struct hapd_peer *p, bool blocking) { p->blocking = blocking; }
void peer_set_macaddr_acl(struct hapd_peer *p, int macaddr_acl) { p->macaddr_acl = macaddr_acl; }
void peer_set_remove_delay(struct hapd_peer *p, unsigned ms) { p->remove_delay_ms = ms; }
void peer_set_bss_tm_resp(struct hapd_peer *p, int status) { p->btm_status = status; }

const char *const *peer_commands(const struct hapd_peer *p, size_t *n)
{
	*n = p->n_cmds;
	return (const char *const *)p->cmds;
}

void peer_clear_commands(struct hapd_peer *p)
{
	for (size_t i = 0; i < p->n_cmds; i++)
		free(p->cmds[i]);
	p->n_cmds = 0;
}

void peer_get_stats(const struct hapd_peer *p, struct peer_stats *st)
{
	*st = p->st;
	st->events_pending = 0;
	for (const struct monitor *m = p->mons; m; m = m->next)
		st->events_pending += m->q.n;
}
