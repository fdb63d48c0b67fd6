/* ctl_acl.c - hostapd's MAC lists (ACCEPT_ACL / DENY_ACL), at run time
 * through the control interface and in the files hostapd reads at start.
 *
 * Desired state, from policy (place.h):
 *   work BSS   accept: approved business devices, VLAN_ID = [zone work]
 *                      vlan (none when 0): hostapd puts them in the work VLAN
 *              deny:   blocked devices, and devices that belong on the guest
 *                      BSS (staff phones, visitors)
 *   guest BSS  deny:   blocked devices, and approved business devices (they
 *                      belong on a work BSS)
 * Everybody else is in neither list (pending devices land on the work BSS's
 * default bridge: onboarding). hostapd 2.10 keeps the lists in memory, so
 * after every (re)attach they are rebuilt whole (CLEAR + ADD_MAC); a
 * decision sends only what changes for its device, removals first (ADD_MAC
 * of a listed MAC does not update its VLAN). Requests are queued on the
 * BSS's connection (never blocking the loop); a BSS that is not attached
 * gets everything at its next resync. The same lists are written to
 * <data_dir>/<ifname>.accept and .deny so that a hostapd restart starts
 * with them (hostapd.conf names them; apgate-hostapd-conf writes it).
 */
#include "ctl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/hfiles.h"
#include "log.h"
#include "util.h"

bool acl_wants_accept(const struct ctl *c, const struct bss_client *b, enum policy_access a)
{
	(void)c;
	return b->zone == CFG_ZONE_WORK && a == POLICY_WORK;
}

bool acl_wants_deny(const struct bss_client *b, enum policy_access a)
{
	if (a == POLICY_BLOCKED)
		return true;
	return b->zone == CFG_ZONE_WORK ? a == POLICY_GUEST : a == POLICY_WORK;
}

static bool acl_on(const struct ctl *c)
{
	return c->cfg->enforce;
}

/* " VLAN_ID=<n>" for the work zone, "" without a VLAN */
static void acl_vlan(const struct ctl *c, char *buf, size_t len)
{
	unsigned v = c->cfg->zones[CFG_ZONE_WORK].vlan;

	if (v)
		snprintf(buf, len, " VLAN_ID=%u", v);
	else
		buf[0] = 0;
}

struct acl_walk {
	struct ctl *c;
	struct bss_client *b;
	char vlan[24];
};

static int acl_add_one(const struct reg_device *d, void *ud)
{
	struct acl_walk *w = ud;
	enum policy_access a = policy_access(d);
	char canon[MAC_STR_LEN];

	if (mac_canon(d->mac, canon) < 0)
		return 0;
	if (acl_wants_deny(w->b, a))
		ctl_send(w->b, "DENY_ACL ADD_MAC %s", canon);
	else if (acl_wants_accept(w->c, w->b, a))
		ctl_send(w->b, "ACCEPT_ACL ADD_MAC %s%s", canon, w->vlan);
	return 0;
}

void acl_sync_bss(struct ctl *c, struct bss_client *b)
{
	struct acl_walk w = { c, b, "" };
	int r;

	if (!acl_on(c))
		return;
	acl_vlan(c, w.vlan, sizeof(w.vlan));
	ctl_send(b, "ACCEPT_ACL CLEAR");
	ctl_send(b, "DENY_ACL CLEAR");
	r = reg_list(c->reg, NULL, acl_add_one, &w);
	if (r < 0)
		log_err("hostapd: %s: cannot list the registry for the MAC lists: %s", b->ifname,
			strerror(-r));
	else
		log_info("hostapd: %s: accept and deny lists rebuilt from the registry", b->ifname);
}

void acl_device_bss(struct ctl *c, struct bss_client *b, const char *canon, enum policy_access a)
{
	char vlan[24];

	if (!acl_on(c))
		return;
	acl_vlan(c, vlan, sizeof(vlan));
	if (b->zone == CFG_ZONE_WORK) {
		ctl_send(b, "ACCEPT_ACL DEL_MAC %s", canon);
		if (acl_wants_accept(c, b, a))
			ctl_send(b, "ACCEPT_ACL ADD_MAC %s%s", canon, vlan);
	}
	if (acl_wants_deny(b, a))
		ctl_send(b, "DENY_ACL ADD_MAC %s", canon);
	else
		ctl_send(b, "DENY_ACL DEL_MAC %s", canon);
}

void acl_device(struct ctl *c, const char *canon, enum policy_access a, const struct bss_client *skip)
{
	for (unsigned i = 0; i < c->n_bss; i++) {
		struct bss_client *b = c->bss[i];
		if (!b)
			continue;
		if (b == skip && acl_wants_deny(b, a)) {
			/* the station is here and is first asked to move: only
			 * the accept entry goes now, the deny follows the steer */
			if (b->zone == CFG_ZONE_WORK && acl_on(c))
				ctl_send(b, "ACCEPT_ACL DEL_MAC %s", canon);
			continue;
		}
		acl_device_bss(c, b, canon, a);
	}
}

/* ---- files ---- */

struct acl_devs {
	char (*macs)[MAC_STR_LEN];
	enum policy_access *acc;
	unsigned n, cap;
};

static int collect_devs(const struct reg_device *d, void *ud)
{
	struct acl_devs *l = ud;
	enum policy_access a = policy_access(d);

	if (a == POLICY_ONBOARDING)
		return 0;
	if (l->n == l->cap) {
		unsigned cap = l->cap ? l->cap * 2 : 64;
		void *m = realloc(l->macs, cap * sizeof(*l->macs));
		if (m)
			l->macs = m;
		void *ac = realloc(l->acc, cap * sizeof(*l->acc));
		if (ac)
			l->acc = ac;
		if (!m || !ac)
			return -ENOMEM;
		l->cap = cap;
	}
	if (mac_canon(d->mac, l->macs[l->n]) == 0)
		l->acc[l->n++] = a;
	return 0;
}

static int write_list(const char *dir, const char *ifname, const char *ext, const struct hfiles_acl *a,
		      unsigned n, bool vlan)
{
	char *path = hfiles_path(dir, ifname, ext), *text = NULL;
	int r;

	if (!path)
		return -ENAMETOOLONG;
	r = hfiles_render_acl(a, n, vlan, &text);
	if (r == 0)
		r = hfiles_write(path, text, 0640);
	if (r < 0)
		log_err("hostapd: cannot write %s: %s", path, strerror(-r));
	else if (r == 1)
		log_debug("hostapd: wrote %s (%u entries)", path, n);
	free(text);
	free(path);
	return r < 0 ? r : 0;
}

int acl_write_files(struct ctl *c)
{
	struct acl_devs l = { 0 };
	struct hfiles_acl *acc = NULL, *deny = NULL;
	unsigned vlan = c->cfg->zones[CFG_ZONE_WORK].vlan;
	int r, first = 0;

	if (!acl_on(c) || !c->cfg->data_dir || !c->n_bss)
		return 0;
	if (mkdir(c->cfg->data_dir, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		log_err("hostapd: cannot create %s: %s", c->cfg->data_dir, strerror(-r));
		return r;
	}
	r = reg_list(c->reg, NULL, collect_devs, &l);
	if (r == 0) {
		acc = calloc(l.n ? l.n : 1, sizeof(*acc));
		deny = calloc(l.n ? l.n : 1, sizeof(*deny));
		if (!acc || !deny)
			r = -ENOMEM;
	}
	for (unsigned i = 0; r == 0 && i < c->n_bss; i++) {
		struct bss_client *b = c->bss[i];
		unsigned na = 0, nd = 0;
		int e = 0, e2;

		if (!b)
			continue;
		for (unsigned k = 0; k < l.n; k++) {
			if (acl_wants_deny(b, l.acc[k]))
				deny[nd++] = (struct hfiles_acl){ l.macs[k], 0 };
			else if (acl_wants_accept(c, b, l.acc[k]))
				acc[na++] = (struct hfiles_acl){ l.macs[k], vlan };
		}
		if (b->zone == CFG_ZONE_WORK)
			e = write_list(c->cfg->data_dir, b->ifname, "accept", acc, na, true);
		e2 = write_list(c->cfg->data_dir, b->ifname, "deny", deny, nd, false);
		if (!first)
			first = e ? e : e2;
	}
	if (r < 0)
		log_err("hostapd: cannot list the registry for the MAC list files: %s", strerror(-r));
	free(acc);
	free(deny);
	free(l.macs);
	free(l.acc);
	return r < 0 ? r : first;
}
