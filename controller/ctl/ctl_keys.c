/* ctl_keys.c - per-device keys (PPSK) on work BSSes with [bss] ppsk = yes.
 *
 * A key is a random passphrase shown once to the person who issued it
 * (text and QR code); the registry keeps only its keyid and the 64-hex
 * WPA2 PSK derived for the BSS's SSID. hostapd reads the PSKs from
 * <data_dir>/<ifname>.psk (wpa_psk_file): one wildcard line per key,
 * "keyid=<id> [vlanid=<work vlan>] 00:00:00:00:00:00 <psk>", so a phone that
 * rotates its private address still authenticates with its key and
 * hostapd reports the keyid in AP-STA-CONNECTED. Hex PSKs, not
 * passphrases: hostapd runs PBKDF2 for each passphrase line inside its
 * loop on every RELOAD_WPA_PSK (2.6 ms a line).
 *
 * Only devices whose access is work have their line: blocking, holding or
 * forgetting a device takes its line out, and hostapd's RELOAD_WPA_PSK
 * then disconnects stations whose key is gone.
 */
#include "ctl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/hfiles.h"
#include "log.h"
#include "util.h"

static const struct cfg_bss *ppsk_cfg(const struct ctl *c, const struct bss_client *b)
{
	const struct cfg_bss *cb = cfg_find_bss(c->cfg, b->ifname);

	return cb && cb->ppsk && cb->zone == CFG_ZONE_WORK ? cb : NULL;
}

struct key_walk {
	const char *ssid;
	unsigned vlan;
	struct hfiles_psk *v;
	char (*ids)[32];
	char (*hex)[65];
	unsigned n, cap;
	int err;
};

static int collect_keys(const struct reg_device *d, void *ud)
{
	struct key_walk *w = ud;

	if (!d->psk_keyid || !d->psk_hex || !d->psk_ssid || strcmp(d->psk_ssid, w->ssid) ||
	    policy_access(d) != POLICY_WORK)
		return 0;
	if (w->n == w->cap) {
		unsigned cap = w->cap ? w->cap * 2 : 32;
		void *ids = realloc(w->ids, cap * sizeof(*w->ids));
		if (ids)
			w->ids = ids;
		void *hex = realloc(w->hex, cap * sizeof(*w->hex));
		if (hex)
			w->hex = hex;
		if (!ids || !hex)
			return -ENOMEM;
		w->cap = cap;
	}
	util_strlcpy(w->ids[w->n], d->psk_keyid, sizeof(w->ids[0]));
	util_strlcpy(w->hex[w->n], d->psk_hex, sizeof(w->hex[0]));
	w->n++;
	return 0;
}

static int sync_bss(struct ctl *c, struct bss_client *b, const struct cfg_bss *cb, bool force)
{
	struct key_walk w = { .ssid = cb->ssid, .vlan = c->cfg->zones[CFG_ZONE_WORK].vlan };
	char *path = hfiles_path(c->cfg->data_dir, b->ifname, "psk"), *text = NULL;
	int r;

	if (!path)
		return -ENAMETOOLONG;
	r = cb->ssid ? reg_list(c->reg, NULL, collect_keys, &w) : 0;
	if (r == 0 && !(w.v = calloc(w.n ? w.n : 1, sizeof(*w.v))))
		r = -ENOMEM;
	for (unsigned i = 0; r == 0 && i < w.n; i++)
		w.v[i] = (struct hfiles_psk){ .keyid = w.ids[i], .vlan = w.vlan, .psk_hex = w.hex[i] };
	if (r == 0)
		r = hfiles_render_psk(w.v, w.n, &text);
	if (r == 0)
		r = hfiles_write(path, text, 0600);
	if (r < 0) {
		log_err("hostapd: cannot write the per-device keys %s: %s", path, strerror(-r));
	} else if (r == 1 || force) {
		log_info("hostapd: %s: %u per-device key(s) in %s%s", b->ifname, w.n, path,
			 r == 1 ? "; reloading" : "");
		ctl_send(b, "RELOAD_WPA_PSK");
		r = 0;
	}
	free(text);
	free(path);
	free(w.v);
	free(w.ids);
	free(w.hex);
	return r;
}

int keys_sync(struct ctl *c, bool force)
{
	int first = 0;

	if (!c->cfg->enforce || !c->cfg->data_dir)
		return 0;
	for (unsigned i = 0; i < c->n_bss; i++) {
		const struct cfg_bss *cb;
		if (!c->bss[i] || !(cb = ppsk_cfg(c, c->bss[i])))
			continue;
		if (mkdir(c->cfg->data_dir, 0750) < 0 && errno != EEXIST)
			return -errno;
		int r = sync_bss(c, c->bss[i], cb, force);
		if (r < 0 && !first)
			first = r;
	}
	return first;
}

void keys_on_connected(struct bss_client *b, const char *canon, const char *keyid)
{
	struct ctl *c = b->ctl;
	char owner[MAC_STR_LEN], why[96];
	int r;

	if (reg_key_owner(c->reg, keyid, owner) < 0 || !strcmp(owner, canon))
		return;
	snprintf(why, sizeof(why), "recognised by its key %s on %s", keyid, b->ifname);
	r = reg_readdress(c->reg, owner, canon, why, util_now_ms());
	if (r < 0) {
		log_warn("keys: %s connected on %s with the key of %s, but cannot take over that device: %s", canon,
			 b->ifname, owner, r == -EEXIST ? "a decision was already made about this address" : strerror(-r));
		return;
	}
	log_info("keys: %s is %s under a new address (%s)", canon, owner, why);
	ctl_enforce_device(c, owner); /* the old address: no rules, no list entries */
	ctl_enforce_device(c, canon);
	ctl_notify(c);
}

int ctl_issue_key(struct ctl *c, const char *mac, const struct reg_actor *who, struct ctl_key *out)
{
	struct reg_device *d = NULL;
	const struct cfg_bss *cb = NULL;
	char canon[MAC_STR_LEN], hex[65];
	int r;

	memset(out, 0, sizeof(*out));
	if (mac_canon(mac, canon) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < c->cfg->n_bss && !cb; i++)
		if (c->cfg->bss[i].ppsk && c->cfg->bss[i].ssid)
			cb = &c->cfg->bss[i];
	if (!cb || !c->cfg->enforce)
		return -ENOTSUP;
	r = reg_get(c->reg, canon, &d);
	if (r < 0)
		return r;
	r = policy_access(d) == POLICY_WORK ? 0 : -EPERM;
	reg_device_free(d);
	if (r < 0)
		return r;
	/* keyids are 32 random bits: a clash with an issued one is drawn again */
	for (int tries = 0; tries < 4; tries++) {
		r = hfiles_new_key(out->keyid, out->passphrase);
		if (r == 0)
			r = hfiles_psk_hex(out->passphrase, cb->ssid, strlen(cb->ssid), hex);
		if (r == 0)
			r = reg_set_key(c->reg, canon, out->keyid, cb->ssid, hex, who, util_now_ms());
		if (r != -EEXIST)
			break;
	}
	if (r < 0) {
		explicit_bzero(out, sizeof(*out));
		return r;
	}
	util_strlcpy(out->ssid, cb->ssid, sizeof(out->ssid));
	util_strlcpy(out->bss, cb->ifname, sizeof(out->bss));
	log_info("keys: issued key %s for %s on %s by %s via %s", out->keyid, canon, cb->ifname, who->who, who->via);
	if (keys_sync(c, false) < 0)
		log_err("keys: the key of %s is stored but hostapd's file is not written yet", canon);
	ctl_notify(c);
	return 0;
}

int ctl_revoke_key(struct ctl *c, const char *mac, const struct reg_actor *who)
{
	char canon[MAC_STR_LEN], keyid[32];
	int r;

	if (mac_canon(mac, canon) < 0)
		return -EINVAL;
	r = reg_revoke_key(c->reg, canon, who, util_now_ms(), keyid);
	if (r < 0)
		return r;
	log_info("keys: revoked key %s of %s by %s via %s", keyid, canon, who->who, who->via);
	keys_sync(c, false);
	for (unsigned i = 0; i < c->n_bss; i++)
		if (c->bss[i] && ppsk_cfg(c, c->bss[i]))
			ctl_send(c->bss[i], "DEAUTHENTICATE %s", canon);
	ctl_notify(c);
	return 0;
}
