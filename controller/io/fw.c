/* fw.c - the firewall module: keeps the last network description and the
 * device list, builds plans (fw_plan.c) and hands them to the backend.
 * The rule layout is described at the top of fw_plan.c.
 */
#include "fw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cfg.h"
#include "fw_plan.h"
#include "log.h"
#include "util.h"

struct fw {
	const struct fw_ops *ops;        /* NULL with a remote */
	const struct fw_remote_ops *remote;
	void *ud;
	const struct fw_read_ops *rd; /* NULL: no read-back (fw_check) */
	void *rd_ud;
	bool synced;             /* a fw_sync() succeeded since new/flush */
	struct fw_net net;       /* lan4/lan6 point to the copies below */
	struct fw_cidr4 *lan4;
	struct fw_cidr6 *lan6;
	struct fw_dev *devs;     /* sorted by MAC, no FW_ONBOARDING entries */
	unsigned n, cap;
};

int fw_new(const struct fw_ops *ops, void *ud, struct fw **out)
{
	struct fw *fw;

	if (!ops || !ops->commit || !ops->flush || !out)
		return -EINVAL;
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	fw->ops = ops;
	fw->ud = ud;
	*out = fw;
	return 0;
}

int fw_new_remote(const struct fw_remote_ops *ops, void *ud, struct fw **out)
{
	struct fw *fw;

	if (!ops || !ops->sync || !ops->update || !ops->check || !out)
		return -EINVAL;
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -ENOMEM;
	fw->remote = ops;
	fw->ud = ud;
	*out = fw;
	return 0;
}

void fw_free(struct fw *fw)
{
	if (!fw)
		return;
	free(fw->lan4);
	free(fw->lan6);
	free(fw->devs);
	free(fw);
}

void fw_set_reader(struct fw *fw, const struct fw_read_ops *rd, void *ud)
{
	fw->rd = rd;
	fw->rd_ud = ud;
}

unsigned fw_device_count(const struct fw *fw)
{
	return fw->n;
}

static int dev_cmp(const void *a, const void *b)
{
	return memcmp(((const struct fw_dev *)a)->mac, ((const struct fw_dev *)b)->mac, 6);
}

/* A sorted copy of devs without FW_ONBOARDING entries (caller frees).
 * -EINVAL for a verdict out of range or a MAC listed twice. */
static int devs_sorted(const struct fw_dev *devs, unsigned n, struct fw_dev **out, unsigned *nout)
{
	_cleanup_free_ struct fw_dev *d = NULL;
	unsigned k = 0;

	*out = NULL;
	*nout = 0;
	if (n && !devs)
		return -EINVAL;
	d = malloc((n ? n : 1) * sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		if ((unsigned)devs[i].v > FW_BLOCKED)
			return -EINVAL;
		d[i] = devs[i];
	}
	qsort(d, n, sizeof(*d), dev_cmp);
	for (unsigned i = 0; i < n; i++) {
		if (i && dev_cmp(&d[i - 1], &d[i]) == 0)
			return -EINVAL;
		if (d[i].v != FW_ONBOARDING)
			d[k++] = d[i];
	}
	*out = steal_ptr(&d);
	*nout = k;
	return 0;
}

static int apply_table(struct fw *fw, int family, enum fw_tid tid)
{
	struct fw_table t;
	int r = fw_plan_table(&t, family, tid, &fw->net, fw->devs, fw->n);

	if (r < 0)
		return r;
	if (t.n_chains)
		r = fw->ops->commit(fw->ud, &t);
	else
		r = fw->ops->flush(fw->ud, family, t.name); /* e.g. IPv6 nat: nothing of ours */
	fw_table_clear(&t);
	if (r < 0)
		log_err("fw: %s %s: %s", family == AF_INET ? "ipv4" : "ipv6", fw_tid_name(tid),
			strerror(-r));
	return r;
}

/* Copies net into fw (the LAN lists too). */
static int net_copy(struct fw *fw, const struct fw_net *net)
{
	struct fw_cidr4 *l4 = NULL;
	struct fw_cidr6 *l6 = NULL;

	if (net->n_lan4 && !(l4 = malloc(net->n_lan4 * sizeof(*l4))))
		return -ENOMEM;
	if (net->n_lan6 && !(l6 = malloc(net->n_lan6 * sizeof(*l6)))) {
		free(l4);
		return -ENOMEM;
	}
	if (l4)
		memcpy(l4, net->lan4, net->n_lan4 * sizeof(*l4));
	if (l6)
		memcpy(l6, net->lan6, net->n_lan6 * sizeof(*l6));
	free(fw->lan4);
	free(fw->lan6);
	fw->net = *net;
	fw->lan4 = l4;
	fw->lan6 = l6;
	fw->net.lan4 = l4;
	fw->net.lan6 = l6;
	return 0;
}

int fw_sync(struct fw *fw, const struct fw_net *net, const struct fw_dev *devs, unsigned n)
{
	struct fw_dev *d;
	unsigned nd;
	int r;

	if (!fw || fw_net_check(net) < 0)
		return -EINVAL;
	r = devs_sorted(devs, n, &d, &nd);
	if (r < 0)
		return r;
	r = net_copy(fw, net);
	if (r < 0) {
		free(d);
		return r;
	}
	free(fw->devs);
	fw->devs = d;
	fw->n = fw->cap = nd;
	fw->synced = false;

	if (fw->remote) {
		r = fw->remote->sync(fw->ud, fw->devs, fw->n);
		if (r < 0)
			return r;
		fw->synced = true;
		log_debug("fw: synced through %s, %u devices", "the privileged helper", fw->n);
		return 0;
	}
	/* mangle first: the marks exist before the rules that read them */
	static const int fams[] = { AF_INET, AF_INET6 };
	for (unsigned f = 0; f < ARRAY_SIZE(fams); f++)
		for (int tid = 0; tid < FW_TID_N; tid++)
			if ((r = apply_table(fw, fams[f], tid)) < 0)
				return r;
	fw->synced = true;
	log_debug("fw: synced, %u devices", fw->n);
	return 0;
}

static int find_dev(const struct fw *fw, const uint8_t mac[6], bool *found)
{
	unsigned lo = 0, hi = fw->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = memcmp(fw->devs[mid].mac, mac, 6);
		if (c == 0) {
			*found = true;
			return (int)mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return (int)lo;
}

static int apply_mangle(struct fw *fw, const struct fw_dev *dev)
{
	if (fw->remote)
		return fw->remote->update(fw->ud, dev);
	int r = apply_table(fw, AF_INET, FW_TID_MANGLE);
	if (r < 0)
		return r;
	return apply_table(fw, AF_INET6, FW_TID_MANGLE);
}

int fw_update_device(struct fw *fw, const struct fw_dev *dev)
{
	bool found;
	int i, r;

	if (!fw || !dev || (unsigned)dev->v > FW_BLOCKED)
		return -EINVAL;
	if (!fw->synced)
		return -ENOENT;
	i = find_dev(fw, dev->mac, &found);
	if (found) {
		struct fw_dev old = fw->devs[i];
		if (dev->v == old.v)
			return 0;
		if (dev->v == FW_ONBOARDING) {
			memmove(&fw->devs[i], &fw->devs[i + 1], (fw->n - i - 1) * sizeof(*fw->devs));
			fw->n--;
		} else {
			fw->devs[i].v = dev->v;
		}
		r = apply_mangle(fw, dev);
		if (r < 0) { /* put the list back as it was */
			if (dev->v == FW_ONBOARDING) {
				memmove(&fw->devs[i + 1], &fw->devs[i], (fw->n - i) * sizeof(*fw->devs));
				fw->n++;
			}
			fw->devs[i] = old;
		}
		return r;
	}
	if (dev->v == FW_ONBOARDING)
		return 0;
	if (fw->n == fw->cap) {
		unsigned cap = fw->cap ? fw->cap * 2 : 64;
		struct fw_dev *nd = realloc(fw->devs, cap * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		fw->devs = nd;
		fw->cap = cap;
	}
	memmove(&fw->devs[i + 1], &fw->devs[i], (fw->n - i) * sizeof(*fw->devs));
	fw->devs[i] = *dev;
	fw->n++;
	r = apply_mangle(fw, dev);
	if (r < 0) {
		memmove(&fw->devs[i], &fw->devs[i + 1], (fw->n - i - 1) * sizeof(*fw->devs));
		fw->n--;
	}
	return r;
}

int fw_flush(struct fw *fw)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	int ret = 0;

	if (!fw)
		return -EINVAL;
	if (fw->remote)
		return -ENOTSUP;
	fw->synced = false;
	/* filter first: nothing reads the marks once the filter rules are gone */
	for (unsigned f = 0; f < ARRAY_SIZE(fams); f++)
		for (int tid = FW_TID_N - 1; tid >= 0; tid--) {
			int r = fw->ops->flush(fw->ud, fams[f], fw_tid_name(tid));
			if (r < 0) {
				log_err("fw: flush %s %s: %s", fams[f] == AF_INET ? "ipv4" : "ipv6",
					fw_tid_name(tid), strerror(-r));
				if (!ret)
					ret = r;
			}
		}
	return ret;
}

/* The chains the plan of (family, tid) has, compared with the kernel's. */
static int check_table(struct fw *fw, int family, enum fw_tid tid, struct fw_check *out)
{
	struct fw_ktable k = { .n = 0 };
	struct fw_table t;
	bool seen[FW_KCHAINS_MAX] = { false };
	int r = fw_plan_table(&t, family, tid, &fw->net, fw->devs, fw->n);

	if (r < 0)
		return r;
	r = fw->rd->read(fw->rd_ud, family, t.name, &k);
	if (r < 0) {
		fw_table_clear(&t);
		return r;
	}
	for (unsigned i = 0; i < t.n_chains && out->n < FW_CHECK_MAX; i++) {
		struct fw_check_chain *c = &out->chains[out->n++];
		*c = (struct fw_check_chain){ .family = family, .table = fw_tid_name(tid),
					      .hook = t.chains[i].hook, .planned = true,
					      .want_rules = t.chains[i].n };
		util_strlcpy(c->chain, t.chains[i].name, sizeof(c->chain));
		for (unsigned j = 0; j < k.n; j++) {
			if (strcmp(k.chains[j].name, c->chain) != 0)
				continue;
			seen[j] = true;
			c->present = true;
			c->rules = k.chains[j].rules;
			c->hook_jumps = k.chains[j].hook_jumps;
			if (c->hook && strcmp(k.chains[j].hook, c->hook) == 0)
				c->hook_pos = k.chains[j].hook_pos;
		}
	}
	for (unsigned j = 0; j < k.n && out->n < FW_CHECK_MAX; j++) {
		if (seen[j])
			continue;
		struct fw_check_chain *c = &out->chains[out->n++];
		*c = (struct fw_check_chain){ .family = family, .table = fw_tid_name(tid), .present = true,
					      .rules = k.chains[j].rules, .hook_jumps = k.chains[j].hook_jumps };
		util_strlcpy(c->chain, k.chains[j].name, sizeof(c->chain));
	}
	fw_table_clear(&t);
	return 0;
}

int fw_check(struct fw *fw, struct fw_check *out)
{
	static const int fams[] = { AF_INET, AF_INET6 };

	if (!fw || !out)
		return -EINVAL;
	out->n = 0;
	if (fw->remote) {
		/* not built yet: a gone helper (-EPIPE) is the reason to tell */
		int r = fw->remote->check(fw->ud, out);
		if (!fw->synced) {
			out->n = 0;
			return r == -EPIPE ? r : -ENOENT;
		}
		return r;
	}
	if (!fw->rd || !fw->rd->read)
		return -ENOTSUP;
	if (!fw->synced)
		return -ENOENT;
	for (unsigned f = 0; f < ARRAY_SIZE(fams); f++)
		for (int tid = 0; tid < FW_TID_N; tid++) {
			int r = check_table(fw, fams[f], tid, out);
			if (r < 0)
				return r;
		}
	return 0;
}

int fw_render(const struct fw_net *net, const struct fw_dev *devs, unsigned n, int family,
	      FILE *out)
{
	_cleanup_free_ struct fw_dev *d = NULL;
	unsigned nd;
	int r;

	if ((family != AF_INET && family != AF_INET6) || !out || fw_net_check(net) < 0)
		return -EINVAL;
	r = devs_sorted(devs, n, &d, &nd);
	if (r < 0)
		return r;
	for (int tid = 0; tid < FW_TID_N; tid++) {
		struct fw_table t;
		r = fw_plan_table(&t, family, tid, net, d, nd);
		if (r < 0)
			return r;
		r = fw_table_print(&t, out);
		fw_table_clear(&t);
		if (r < 0)
			return r;
	}
	return fflush(out) == 0 ? 0 : -EIO;
}

void fw_net_from_cfg(const struct cfg *cfg, struct fw_net *net, struct fw_cidr4 *lan)
{
	static const enum fw_zone_id ids[CFG_N_ZONES] = {
		[CFG_ZONE_WORK] = FW_ZONE_WORK, [CFG_ZONE_GUEST] = FW_ZONE_GUEST,
		[CFG_ZONE_ONBOARDING] = FW_ZONE_ONBOARDING,
	};

	memset(net, 0, sizeof(*net));
	for (int z = 0; z < CFG_N_ZONES; z++) {
		const struct cfg_zone_net *zn = &cfg->zones[z];
		struct fw_zone *fz = &net->zone[ids[z]];
		if (!zn->present)
			continue;
		util_strlcpy(fz->ifname, zn->ifname, sizeof(fz->ifname));
		fz->gw4 = zn->gateway.addr;
		fz->len4 = (uint8_t)zn->gateway.len;
	}
	util_strlcpy(net->uplink, cfg->uplink ? cfg->uplink : "", sizeof(net->uplink));
	net->masquerade = cfg->masquerade;
	net->captive_port = (uint16_t)cfg->captive_port;
	for (unsigned i = 0; i < cfg->n_lan; i++)
		lan[i] = (struct fw_cidr4){ cfg->lan[i].addr, (uint8_t)cfg->lan[i].len };
	net->lan4 = lan;
	net->n_lan4 = cfg->n_lan;
}
