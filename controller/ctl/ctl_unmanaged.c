/* ctl_unmanaged.c - devices that bypass the access point ([network]
 * watch_unmanaged): MACs on a zone's bridge or on the uplink segment that
 * never came through hostapd or a managed wired port.
 *
 * io/fdb.c reports what the kernel sees on the zones' interfaces and the
 * uplink; this part decides:
 *  - a MAC a zone's bridge learned on a port that is neither a hostapd BSS
 *    interface nor one of [network] wired_ports, nor a VLAN interface of
 *    one ("wlan0.10": hostapd's dynamic VLANs), is unmanaged (the AP's own
 *    addresses are never reported by fdb): listed (reg_unmanaged_seen(),
 *    "where" = "<bridge> port <port>") and, the first time, alerted;
 *  - on the uplink, a neighbour (ARP/NDP) that is not a default route's
 *    gateway (nor has a gateway's MAC, nor is an IPv6 router) is listed
 *    the same way; IPv6 link-local entries there are left out (before
 *    the AP has talked to its gateway, the router's link-local address is
 *    the likeliest one, and a real bypasser shows with its others);
 *  - an ARP/NDP entry on a zone's interface gives a listed MAC its address;
 *  - a listed MAC that is then learned on a BSS interface or a managed
 *    port, or that hostapd reports connected, is dropped from the list
 *    (reg_unmanaged_del()).
 * An observer's verdict only: nothing is blocked (the firewall and the
 * zones already keep an unknown MAC in onboarding).
 *
 * The MACs listed are mirrored in memory (loaded at start), so the event
 * path asks the registry nothing for a MAC it already knows, and writes a
 * known one at most once a minute (last_seen) unless where or ip changed.
 */
#include "ctl_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/fdb.h"
#include "log.h"
#include "model/oui.h"
#include "util.h"

#define UM_MAX 4096              /* MACs mirrored; beyond, each event writes */
#define UM_REFRESH_MS 60000      /* last_seen is written at most this often */
#define UM_GW_MAX 8

struct um_ent {
	char mac[MAC_STR_LEN];
	char where[48];
	char ip[48];
	long long wrote_ms;          /* monotonic */
};

static struct um_ent *um_find(struct unmanaged *u, const char *mac)
{
	for (unsigned i = 0; i < u->n; i++)
		if (!strcmp(u->ent[i].mac, mac))
			return &u->ent[i];
	return NULL;
}

static struct um_ent *um_add(struct unmanaged *u, const char *mac)
{
	if (u->n == u->cap) {
		unsigned cap = u->cap ? 2 * u->cap : 16;
		struct um_ent *e;
		if (cap > UM_MAX)
			return NULL;
		e = realloc(u->ent, cap * sizeof(*e));
		if (!e)
			return NULL;
		u->ent = e;
		u->cap = cap;
	}
	memset(&u->ent[u->n], 0, sizeof(u->ent[0]));
	util_strlcpy(u->ent[u->n].mac, mac, MAC_STR_LEN);
	return &u->ent[u->n++];
}

static void um_remove(struct unmanaged *u, struct um_ent *e)
{
	*e = u->ent[--u->n];
}

/* port is name itself or one of its VLAN interfaces ("wlan0.10": what
 * hostapd's dynamic VLANs put into the VLAN's bridge). */
static bool is_or_vlan_of(const char *port, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(port, name, n) && (port[n] == 0 || port[n] == '.');
}

static bool is_bss(const struct ctl *c, const char *ifname)
{
	for (unsigned i = 0; ifname && i < c->cfg->n_bss; i++)
		if (is_or_vlan_of(ifname, c->cfg->bss[i].ifname))
			return true;
	return false;
}

static bool is_wired_port(const struct ctl *c, const char *ifname)
{
	for (unsigned i = 0; ifname && i < c->cfg->n_wired_ports; i++)
		if (is_or_vlan_of(ifname, c->cfg->wired_ports[i]))
			return true;
	return false;
}

/* Lists mac as seen at where (with ip, may be NULL); alerts when new. */
static void listed(struct ctl *c, const char *mac, const char *where, const char *ip)
{
	struct unmanaged *u = &c->unmanaged;
	struct um_ent *e = um_find(u, mac);
	long long now = util_mono_ms();
	struct mac m;
	const char *vendor = NULL;
	int r;

	if (e && !strcmp(e->where, where) && (!ip || !strcmp(e->ip, ip)) &&
	    now - e->wrote_ms < UM_REFRESH_MS)
		return;
	r = reg_unmanaged_seen(c->reg, mac, where, ip, util_now_ms());
	if (r < 0) {
		log_err("unmanaged %s on %s: cannot record: %s", mac, where, strerror(-r));
		return;
	}
	if (!e)
		e = um_add(u, mac);
	if (e) {
		util_strlcpy(e->where, where, sizeof(e->where));
		if (ip)
			util_strlcpy(e->ip, ip, sizeof(e->ip));
		e->wrote_ms = now;
	}
	if (r == 0) {
		ctl_notify(c);
		return;
	}
	u->found++;
	if (c->oui && mac_parse(mac, &m) == 0)
		vendor = oui_lookup(c->oui, &m);
	log_info("unmanaged device %s (%s) on %s%s%s", mac, vendor ? vendor : "vendor unknown", where,
		 ip ? ", address " : "", ip ? ip : "");
	ctl_alert(c, "unmanaged", mac,
		  "A device%s%s (%s%s%s) bypasses the access point: seen on %s. If it belongs to the "
		  "shop, connect it through the access point or a managed port; if nobody knows it, "
		  "unplug it.",
		  vendor ? " made by " : "", vendor ? vendor : "", mac, ip ? ", " : "", ip ? ip : "",
		  where);
	ctl_notify(c);
}

static void dropped(struct ctl *c, const char *mac, const char *why)
{
	struct unmanaged *u = &c->unmanaged;
	struct um_ent *e = um_find(u, mac);
	int r;

	if (!e && u->n < UM_MAX)
		return; /* the mirror is complete: not listed */
	r = reg_unmanaged_del(c->reg, mac);
	if (e)
		um_remove(u, e);
	if (r == 0) {
		log_info("unmanaged device %s is managed now (%s)", mac, why);
		ctl_notify(c);
	} else if (r != -ENOENT) {
		log_err("unmanaged %s: cannot drop: %s", mac, strerror(-r));
	}
}

static bool is_gw_mac(const struct unmanaged *u, const char *mac)
{
	for (unsigned i = 0; i < u->n_gw; i++)
		if (!strcmp(u->gw_mac[i], mac))
			return true;
	return false;
}

/* An IPv6 link-local address: on the uplink that is mostly the router
 * itself (NDP, RAs) before the AP has talked to it through its gateway
 * address; a device that bypasses the AP shows with its other addresses. */
static bool link_local6(const char *ip)
{
	struct in6_addr a;

	return ip && inet_pton(AF_INET6, ip, &a) == 1 && IN6_IS_ADDR_LINKLOCAL(&a);
}

static void on_seen(const struct fdb_seen *s, void *ud)
{
	struct ctl *c = ud;
	struct unmanaged *u = &c->unmanaged;
	char where[48];

	if (!c->cfg->watch_unmanaged)
		return;
	if (c->cfg->uplink && !strcmp(s->iface, c->cfg->uplink)) {
		if (s->kind != FDB_NEIGHBOUR)
			return;
		if (s->gateway) {
			if (!is_gw_mac(u, s->mac) && u->n_gw < UM_GW_MAX)
				util_strlcpy(u->gw_mac[u->n_gw++], s->mac, MAC_STR_LEN);
			if (um_find(u, s->mac))
				dropped(c, s->mac, "it is the uplink's gateway");
			return;
		}
		if (is_gw_mac(u, s->mac) || link_local6(s->ip))
			return;
		listed(c, s->mac, s->iface, s->ip);
		return;
	}
	if (s->kind == FDB_NEIGHBOUR) {
		struct um_ent *e = um_find(u, s->mac);
		if (e && (!e->ip[0] || strcmp(e->ip, s->ip)))
			listed(c, s->mac, e->where, s->ip);
		return;
	}
	if (is_bss(c, s->port) || is_wired_port(c, s->port)) {
		dropped(c, s->mac, s->port);
		return;
	}
	snprintf(where, sizeof(where), "%s port %s", s->iface, s->port);
	listed(c, s->mac, where, NULL);
}

static int load_one(const struct reg_unmanaged *r, void *ud)
{
	struct ctl *c = ud;
	struct um_ent *e = um_add(&c->unmanaged, r->mac);

	if (!e)
		return -ENOMEM;
	util_strlcpy(e->where, r->where ? r->where : "", sizeof(e->where));
	util_strlcpy(e->ip, r->ip ? r->ip : "", sizeof(e->ip));
	return 0; /* wrote_ms 0: the first sighting refreshes last_seen */
}

int unmanaged_init(struct ctl *c)
{
	const char *ifs[FDB_MAX_IFACES];
	unsigned n = 0;
	int r;

	if (!c->cfg->watch_unmanaged)
		return 0;
	for (int z = 0; z < CFG_N_ZONES; z++) {
		const char *name = c->cfg->zones[z].ifname;
		if (c->cfg->zones[z].present && name && n < FDB_MAX_IFACES)
			ifs[n++] = name;
	}
	if (c->cfg->uplink && n < FDB_MAX_IFACES)
		ifs[n++] = c->cfg->uplink;
	if (n == 0)
		return 0; /* no zones: nothing to watch */
	r = reg_unmanaged_list(c->reg, load_one, c);
	if (r < 0 && r != -ENOMEM)
		log_warn("unmanaged: cannot read the list: %s", strerror(-r));
	r = fdb_new(c->base, ifs, n, on_seen, c, &c->unmanaged.fdb);
	if (r < 0)
		log_err("unmanaged devices are not watched: %s", strerror(-r));
	else
		log_info("watching %u interface(s) for devices that bypass the access point", n);
	return r;
}

void unmanaged_free(struct ctl *c)
{
	fdb_free(c->unmanaged.fdb);
	free(c->unmanaged.ent);
	c->unmanaged = (struct unmanaged){ 0 };
}

void unmanaged_reload(struct ctl *c)
{
	/* a new watch dumps the tables again: what is listed stays listed
	 * (reg_unmanaged_seen answers "known") and alerts are not repeated */
	unmanaged_free(c);
	unmanaged_init(c);
}

void unmanaged_on_managed(struct ctl *c, const char *canon)
{
	if (c->unmanaged.fdb)
		dropped(c, canon, "seen through hostapd");
}
