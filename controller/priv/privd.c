/* privd.c - the privileged helper's message checks and loop; see privd.h. */
#include "priv/privd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cfg.h"
#include "io/fw_plan.h"
#include "log.h"
#include "util.h"

struct privd {
	char *cfg_path;
	struct cfg *cfg;
	struct fw *fw;
	const struct linkw_ops *lw;
	void *lw_ud;
	/* a table arriving in pieces (PRIV_FW_SYNC_*) */
	struct fw_dev *pending;
	uint32_t pending_total, pending_n;
	bool in_sync;
	unsigned long refused;
};

/* The built-in chains fw_plan hooks, for struct priv_chain.hook. */
static const char *const hooks[] = { "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING" };

static int load(const char *path, struct cfg **out)
{
	int r = cfg_load(path, stderr, out);

	if (r < 0)
		log_err("privileged helper: configuration %s refused", path);
	return r < 0 ? -EINVAL : 0;
}

int privd_new(const char *cfg_path, const struct fw_ops *fw, const struct fw_read_ops *rd,
	      const struct linkw_ops *lw, void *lw_ud, struct privd **out)
{
	struct privd *p;
	int r;

	if (!cfg_path || !fw || !lw || !out)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->cfg_path = strdup(cfg_path))) {
		free(p);
		return -ENOMEM;
	}
	p->lw = lw;
	p->lw_ud = lw_ud;
	r = load(cfg_path, &p->cfg);
	if (r == 0)
		r = fw_new(fw, NULL, &p->fw);
	if (r < 0) {
		privd_free(p);
		return r;
	}
	if (rd)
		fw_set_reader(p->fw, rd, NULL);
	*out = p;
	return 0;
}

void privd_free(struct privd *p)
{
	if (!p)
		return;
	fw_free(p->fw);
	cfg_free(p->cfg);
	free(p->pending);
	free(p->cfg_path);
	free(p);
}

unsigned long privd_refused(const struct privd *p)
{
	return p->refused;
}

/* ---- checks ---- */

static const size_t type_size[PRIV_TYPE_END] = {
	[PRIV_PING] = sizeof(struct priv_empty),
	[PRIV_RELOAD] = sizeof(struct priv_reload),
	[PRIV_FW_SYNC_BEGIN] = sizeof(struct priv_fw_sync_begin),
	[PRIV_FW_SYNC_DEVS] = sizeof(struct priv_fw_sync_devs),
	[PRIV_FW_SYNC_END] = sizeof(struct priv_empty),
	[PRIV_FW_UPDATE] = sizeof(struct priv_fw_update),
	[PRIV_FW_CHECK] = sizeof(struct priv_empty),
	[PRIV_BR_ISOLATE] = sizeof(struct priv_br_isolate),
	[PRIV_PORT_MOVE] = sizeof(struct priv_port_move),
};

static bool all_zero(const void *b, size_t n)
{
	const unsigned char *c = b;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

static int refuse(struct privd *p, int err, const char *fmt, const char *what)
{
	p->refused++;
	log_warn("privileged helper: request refused: %s%s", fmt, what ? what : "");
	return err;
}

/* A 16-byte name field: NUL-terminated, non-empty, zero after the NUL. */
static bool name_ok(const char f[PRIV_IFNAMSIZ])
{
	size_t n = strnlen(f, PRIV_IFNAMSIZ);

	return n > 0 && n < PRIV_IFNAMSIZ && all_zero(f + n, PRIV_IFNAMSIZ - n);
}

static bool dev_ok(const struct priv_dev *d)
{
	return d->access <= FW_BLOCKED && d->zero == 0 && !(d->mac[0] & 1) && !all_zero(d->mac, 6);
}

static bool is_zone_if(const struct cfg *c, const char *name)
{
	for (int z = 0; z < CFG_N_ZONES; z++)
		if (c->zones[z].present && c->zones[z].ifname && strcmp(c->zones[z].ifname, name) == 0)
			return true;
	return false;
}

static bool is_wired_port(const struct cfg *c, const char *name)
{
	for (unsigned i = 0; i < c->n_wired_ports; i++)
		if (strcmp(c->wired_ports[i], name) == 0)
			return true;
	return false;
}

/* ---- requests ---- */

static void drop_pending(struct privd *p)
{
	free(p->pending);
	p->pending = NULL;
	p->pending_total = p->pending_n = 0;
	p->in_sync = false;
}

static int do_sync(struct privd *p)
{
	struct fw_cidr4 lan[CFG_MAX_LAN];
	struct fw_net net;
	int r;

	fw_net_from_cfg(p->cfg, &net, lan);
	r = fw_sync(p->fw, &net, p->pending, p->pending_n);
	if (r < 0)
		log_err("privileged helper: firewall rebuild (%u devices) failed: %s", p->pending_n, strerror(-r));
	else
		log_debug("privileged helper: firewall rebuilt, %u devices", p->pending_n);
	drop_pending(p);
	return r;
}

static int do_check(struct privd *p, struct priv_rep *rep)
{
	struct fw_check *chk = calloc(1, sizeof(*chk));
	int r;

	if (!chk)
		return -ENOMEM;
	r = fw_check(p->fw, chk);
	for (unsigned i = 0; r == 0 && i < chk->n && i < FW_CHECK_MAX; i++) {
		const struct fw_check_chain *k = &chk->chains[i];
		struct priv_chain *c = &rep->chains[i];
		c->family = k->family == AF_INET6 ? 6 : 4;
		for (int t = 0; t < FW_TID_N; t++)
			if (k->table && strcmp(k->table, fw_tid_name(t)) == 0)
				c->table = (uint8_t)t;
		for (size_t h = 0; k->hook && h < ARRAY_SIZE(hooks); h++)
			if (strcmp(k->hook, hooks[h]) == 0)
				c->hook = (uint8_t)(h + 1);
		c->planned = k->planned;
		c->present = k->present;
		util_strlcpy(c->chain, k->chain, sizeof(c->chain));
		c->rules = k->rules;
		c->want_rules = k->want_rules;
		c->hook_pos = k->hook_pos;
		c->hook_jumps = k->hook_jumps;
		rep->n = i + 1;
	}
	free(chk);
	return r;
}

static int do_reload(struct privd *p)
{
	struct cfg *n = NULL;
	int r = load(p->cfg_path, &n);

	if (r < 0)
		return r; /* the running copy stays */
	cfg_free(p->cfg);
	p->cfg = n;
	log_info("privileged helper: configuration %s re-read", p->cfg_path);
	return 0;
}

static int dispatch(struct privd *p, const struct priv_hdr *h, const void *req, struct priv_rep *rep)
{
	char nb[PRIV_IFNAMSIZ + 8];

	if (h->type != PRIV_FW_SYNC_DEVS && h->type != PRIV_FW_SYNC_END && p->in_sync) {
		log_warn("privileged helper: an unfinished firewall table was dropped");
		drop_pending(p);
	}
	switch (h->type) {
	case PRIV_PING:
		return 0;
	case PRIV_RELOAD: {
		const struct priv_reload *m = req;
		if (m->zero || m->log_level > LOG_LVL_DEBUG)
			return refuse(p, -EINVAL, "reload: log level out of range", NULL);
		log_set_level((enum log_level)m->log_level);
		return do_reload(p);
	}
	case PRIV_FW_SYNC_BEGIN: {
		const struct priv_fw_sync_begin *m = req;
		if (m->zero || m->total > PRIV_DEVS_MAX)
			return refuse(p, -EINVAL, "firewall table size out of range", NULL);
		drop_pending(p);
		p->pending = malloc((m->total ? m->total : 1) * sizeof(*p->pending));
		if (!p->pending)
			return -ENOMEM;
		p->pending_total = m->total;
		p->in_sync = true;
		return 0;
	}
	case PRIV_FW_SYNC_DEVS: {
		const struct priv_fw_sync_devs *m = req;
		if (!p->in_sync)
			return refuse(p, -EINVAL, "firewall table piece without a beginning", NULL);
		if (m->zero || m->n == 0 || m->n > PRIV_DEVS_PER_MSG || m->n > p->pending_total - p->pending_n ||
		    !all_zero(&m->dev[m->n], (PRIV_DEVS_PER_MSG - m->n) * sizeof(m->dev[0]))) {
			drop_pending(p);
			return refuse(p, -EINVAL, "firewall table piece: bad count", NULL);
		}
		for (uint32_t i = 0; i < m->n; i++) {
			if (!dev_ok(&m->dev[i])) {
				drop_pending(p);
				return refuse(p, -EINVAL, "firewall table piece: bad device entry (MAC or access)", NULL);
			}
			struct fw_dev *d = &p->pending[p->pending_n++];
			memcpy(d->mac, m->dev[i].mac, 6);
			d->v = (enum fw_verdict)m->dev[i].access;
		}
		return 0;
	}
	case PRIV_FW_SYNC_END:
		if (!p->in_sync || p->pending_n != p->pending_total) {
			drop_pending(p);
			return refuse(p, -EINVAL, "firewall table incomplete", NULL);
		}
		return do_sync(p);
	case PRIV_FW_UPDATE: {
		const struct priv_fw_update *m = req;
		struct fw_dev d = { .v = (enum fw_verdict)m->dev.access };
		if (!dev_ok(&m->dev))
			return refuse(p, -EINVAL, "device update: bad MAC or access", NULL);
		memcpy(d.mac, m->dev.mac, 6);
		int r = fw_update_device(p->fw, &d);
		if (r < 0 && r != -ENOENT)
			log_err("privileged helper: device update failed: %s", strerror(-r));
		return r;
	}
	case PRIV_FW_CHECK:
		return do_check(p, rep);
	case PRIV_BR_ISOLATE: {
		const struct priv_br_isolate *m = req;
		const struct cfg_zone_net *g = &p->cfg->zones[CFG_ZONE_GUEST];
		if (m->zero || !name_ok(m->bridge) || m->ifindex <= 0)
			return refuse(p, -EINVAL, "isolate: malformed", NULL);
		if (!g->present || !g->ifname || strcmp(g->ifname, m->bridge) != 0) {
			snprintf(nb, sizeof(nb), "%s", m->bridge);
			return refuse(p, -EINVAL, "isolate: not the guest zone's interface: ", nb);
		}
		return p->lw->isolate(p->lw_ud, m->bridge, m->ifindex);
	}
	case PRIV_PORT_MOVE: {
		const struct priv_port_move *m = req;
		if (!all_zero(m->zero, sizeof(m->zero)) || !name_ok(m->port) || !name_ok(m->bridge) || m->bounce > 1)
			return refuse(p, -EINVAL, "port move: malformed", NULL);
		if (!is_wired_port(p->cfg, m->port)) {
			snprintf(nb, sizeof(nb), "%s", m->port);
			return refuse(p, -EINVAL, "port move: not a configured wired port: ", nb);
		}
		if (!is_zone_if(p->cfg, m->bridge)) {
			snprintf(nb, sizeof(nb), "%s", m->bridge);
			return refuse(p, -EINVAL, "port move: not a zone's interface: ", nb);
		}
		return p->lw->move(p->lw_ud, m->port, m->bridge, m->bounce != 0);
	}
	default:
		return -EINVAL; /* not reached: checked by the caller */
	}
}

int privd_handle(struct privd *p, const void *req, size_t len, struct priv_rep *rep)
{
	struct priv_hdr h;
	char what[64];

	memset(rep, 0, sizeof(*rep));
	rep->h.type = PRIV_REP;
	rep->h.len = sizeof(*rep);
	if (!req || len < sizeof(h)) {
		snprintf(what, sizeof(what), "%zu bytes", len);
		return rep->result = refuse(p, -EBADMSG, "shorter than a header: ", what);
	}
	memcpy(&h, req, sizeof(h));
	rep->h.seq = h.seq;
	if (h.type == 0 || h.type >= PRIV_TYPE_END) {
		snprintf(what, sizeof(what), "%u", h.type);
		return rep->result = refuse(p, -EBADMSG, "unknown type ", what);
	}
	if (h.len != len || len != type_size[h.type] || h.zero) {
		snprintf(what, sizeof(what), "type %u, %zu bytes (header says %u, want %zu)", h.type, len, h.len,
			 type_size[h.type]);
		return rep->result = refuse(p, -EBADMSG, "wrong size: ", what);
	}
	/* aligned copy: the datagram buffer may be anything */
	union {
		struct priv_empty e;
		struct priv_reload l;
		struct priv_fw_sync_begin b;
		struct priv_fw_sync_devs d;
		struct priv_fw_update u;
		struct priv_br_isolate i;
		struct priv_port_move m;
	} msg;
	memcpy(&msg, req, len);
	return rep->result = dispatch(p, &h, &msg, rep);
}

int privd_serve(struct privd *p, int fd)
{
	_Alignas(8) unsigned char buf[sizeof(struct priv_fw_sync_devs) + 64];
	struct priv_rep *rep = malloc(sizeof(*rep));

	if (!rep)
		return -ENOMEM;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = -errno;
			free(rep);
			return r;
		}
		/* MSG_TRUNC: n is the datagram's real length, so an oversized one
		 * is refused by its size like any other */
		privd_handle(p, buf, (size_t)n, rep);
		if (send(fd, rep, sizeof(*rep), MSG_NOSIGNAL) < 0 && errno != EINTR) {
			int r = -errno;
			free(rep);
			return r == -EPIPE ? 0 : r;
		}
	}
	free(rep);
	return 0;
}
