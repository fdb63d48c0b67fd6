#include "gen.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int gerr(FILE *errs, const struct cfg *c, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int gerr(FILE *errs, const struct cfg *c, int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (!errs)
		return 1;
	fprintf(errs, "%s:%d: %s: ", c->path, line, key);
	va_start(ap, fmt);
	vfprintf(errs, fmt, ap);
	va_end(ap);
	fputc('\n', errs);
	return 1;
}

static int read_passphrase(const struct cfg *c, const struct cfg_bss *b, char out[64], FILE *errs)
{
	size_t n = 0;
	int r = cfg_read_passphrase(b, out, &n);

	if (r == -EINVAL)
		return gerr(errs, c, b->passphrase_line, "passphrase_file",
			    "%s: its first line is not a WPA passphrase of 8 to 63 printable ASCII characters (it has %zu)",
			    b->passphrase_file, n);
	if (r < 0)
		return gerr(errs, c, b->passphrase_line, "passphrase_file", "%s: cannot read: %s", b->passphrase_file,
			    strerror(-r));
	return 0;
}

int hconf_prepare(const struct cfg *c, struct hconf_ap *ap, FILE *errs)
{
	const struct cfg_bss *by_zone[2] = { NULL, NULL };
	int e = 0;

	memset(ap, 0, sizeof(*ap));
	if (!c->wifi.present)
		e += gerr(errs, c, c->lines, "wifi",
			  "[wifi] is missing: apgate-hostapd-conf needs country_code, hw_mode and channel");
	for (unsigned i = 0; i < c->n_bss; i++) {
		const struct cfg_bss *b = &c->bss[i];
		int z = b->zone == CFG_ZONE_GUEST ? 1 : 0;

		if (by_zone[z]) {
			e += gerr(errs, c, b->line, "zone", "a second %s BSS ([bss %s] is one): apgate-hostapd-conf renders "
				  "at most one work and one guest BSS", cfg_zone_name(b->zone), by_zone[z]->ifname);
			continue;
		}
		by_zone[z] = b;
		ap->bss[ap->n] = b;
		if (!b->ssid)
			e += gerr(errs, c, b->line, "ssid", "required in [bss %s] by apgate-hostapd-conf", b->ifname);
		if (b->passphrase)
			util_strlcpy(ap->passphrase[ap->n], b->passphrase, 64);
		else if (b->passphrase_file)
			e += read_passphrase(c, b, ap->passphrase[ap->n], errs);
		else
			e += gerr(errs, c, b->line, "passphrase", "[bss %s] needs passphrase or passphrase_file", b->ifname);
		ap->n++;
	}
	if (c->n_bss && by_zone[0] && by_zone[1]) {
		unsigned g = ap->bss[0] == by_zone[1] ? 0 : 1;
		if (ap->passphrase[g][0] && !strcmp(ap->passphrase[g], ap->passphrase[1 - g]))
			e += gerr(errs, c, by_zone[1]->passphrase_line, by_zone[1]->passphrase_file ? "passphrase_file" : "passphrase",
				  "the guest BSS needs its own passphrase, not the one of [bss %s]", by_zone[0]->ifname);
	}
	return e ? -EINVAL : 0;
}

void hconf_ssid_line(FILE *out, const char *ssid)
{
	bool plain = true;

	for (const unsigned char *s = (const unsigned char *)ssid; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			plain = false;
	if (plain) {
		fprintf(out, "ssid=%s\n", ssid);
		return;
	}
	fputs("ssid2=P\"", out);
	for (const unsigned char *s = (const unsigned char *)ssid; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s < 0x20 || *s > 0x7e)
			fprintf(out, "\\x%02x", *s);
		else
			fputc(*s, out);
	}
	fputs("\"\n", out);
}

/* Well-formed UTF-8 (no overlongs, no surrogates), for utf8_ssid=1. */
static bool utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned n, cp;
		if (*s < 0x80) {
			s++;
			continue;
		} else if ((*s & 0xe0) == 0xc0) {
			n = 1, cp = *s & 0x1f;
		} else if ((*s & 0xf0) == 0xe0) {
			n = 2, cp = *s & 0x0f;
		} else if ((*s & 0xf8) == 0xf0) {
			n = 3, cp = *s & 0x07;
		} else {
			return false;
		}
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

static bool has_high_bytes(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* The bridge stations without a VLAN land on: the onboarding zone's for the
 * work BSS (unknown devices start there), else the zone's own. */
static const char *bss_bridge(const struct cfg *c, const struct cfg_bss *b)
{
	if (b->bridge)
		return b->bridge;
	if (b->zone == CFG_ZONE_WORK && c->zones[CFG_ZONE_ONBOARDING].present)
		return c->zones[CFG_ZONE_ONBOARDING].ifname;
	return c->zones[b->zone].present ? c->zones[b->zone].ifname : NULL;
}

static bool any_vlan(const struct cfg *c)
{
	for (int z = 0; z < CFG_N_ZONES; z++)
		if (c->zones[z].present && c->zones[z].vlan)
			return true;
	return false;
}

static void render_bss(FILE *f, const struct cfg *c, const struct hconf_ap *ap, unsigned i, const char *dir)
{
	const struct cfg_bss *b = ap->bss[i];
	const char *br = bss_bridge(c, b);
	bool work = b->zone == CFG_ZONE_WORK;

	fprintf(f, "%s=%s\n", i == 0 ? "interface" : "bss", b->ifname);
	if (br)
		fprintf(f, "bridge=%s\n", br);
	fprintf(f, "ctrl_interface=%s\n", c->ctrl_dir);
	if (c->ctrl_group)
		fprintf(f, "ctrl_interface_group=%s\n", c->ctrl_group);
	if (i == 0) {
		fprintf(f, "\n# radio\n");
		fprintf(f, "country_code=%s\n", c->wifi.country_code);
		fprintf(f, "ieee80211d=1\n");
		fprintf(f, "hw_mode=%s\n", c->wifi.hw_mode);
		fprintf(f, "channel=%u\n", c->wifi.channel);
		fprintf(f, "wmm_enabled=1\n");
		if (c->wifi.ieee80211n)
			fprintf(f, "ieee80211n=1\n");
		if (c->wifi.ieee80211ac)
			fprintf(f, "ieee80211ac=1\n");
		fputc('\n', f);
	}
	fprintf(f, "# %s SSID\n", work ? "work" : "guest");
	hconf_ssid_line(f, b->ssid);
	if (has_high_bytes(b->ssid) && utf8_valid((const unsigned char *)b->ssid))
		fprintf(f, "utf8_ssid=1\n");
	fprintf(f, "auth_algs=1\n");
	fprintf(f, "wpa=2\n");
	if (b->wpa3 == CFG_WPA3_TRANSITION) {
		fprintf(f, "wpa_key_mgmt=WPA-PSK SAE\n");
		fprintf(f, "ieee80211w=1\n");
		fprintf(f, "sae_require_mfp=1\n");
	} else {
		fprintf(f, "wpa_key_mgmt=WPA-PSK\n");
	}
	fprintf(f, "rsn_pairwise=CCMP\n");
	if (b->ppsk)
		fprintf(f, "# new devices use this shared passphrase to reach onboarding; issued devices their own key\n");
	fprintf(f, "wpa_passphrase=%s\n", ap->passphrase[i]);
	if (b->ppsk)
		fprintf(f, "wpa_psk_file=%s/%s.psk\n", c->data_dir, b->ifname);
	fprintf(f, "bss_transition=1\n");
	if (work) {
		fprintf(f, "# stations in the accept list get their VLAN from it; the others stay on bridge=\n");
		fprintf(f, "# apgated keeps the lists in %s\n", c->data_dir);
		fprintf(f, "macaddr_acl=0\n");
		fprintf(f, "accept_mac_file=%s/%s.accept\n", c->data_dir, b->ifname);
		fprintf(f, "deny_mac_file=%s/%s.deny\n", c->data_dir, b->ifname);
		if (any_vlan(c)) {
			fprintf(f, "dynamic_vlan=1\n");
			fprintf(f, "vlan_file=%s/" HCONF_VLAN "\n", dir);
		}
	} else {
		fprintf(f, "# guests cannot reach each other through the AP\n");
		fprintf(f, "ap_isolate=1\n");
		fprintf(f, "macaddr_acl=0\n");
		fprintf(f, "deny_mac_file=%s/%s.deny\n", c->data_dir, b->ifname);
	}
}

unsigned hconf_lists(const struct hconf_ap *ap, struct hconf_list out[HCONF_MAX_LISTS])
{
	unsigned n = 0;

	for (unsigned i = 0; i < ap->n; i++) {
		const struct cfg_bss *b = ap->bss[i];
		if (b->ppsk)
			out[n++] = (struct hconf_list){ b->ifname, "psk" };
		if (b->zone == CFG_ZONE_WORK)
			out[n++] = (struct hconf_list){ b->ifname, "accept" };
		out[n++] = (struct hconf_list){ b->ifname, "deny" };
	}
	return n;
}

static char *close_mem(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

int hconf_render(const struct cfg *c, const struct hconf_ap *ap, const char *dir, struct hconf_files *out,
		 FILE *errs)
{
	const struct cfg_bss *work = NULL;
	char *buf = NULL;
	size_t len;
	FILE *f;
	int e = 0;

	memset(out, 0, sizeof(*out));
	if (dir[0] != '/')
		e += gerr(errs, c, 0, "dir", "'%s' is not an absolute path", dir);
	for (const char *s = dir; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			e += gerr(errs, c, 0, "dir", "control characters in the directory name");
			break;
		}
	if (!c->data_dir || c->data_dir[0] != '/')
		e += gerr(errs, c, 0, "data_dir", "'%s' is not an absolute path", c->data_dir ? c->data_dir : "");
	for (const char *s = c->data_dir; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			e += gerr(errs, c, 0, "data_dir", "control characters in the directory name");
			break;
		}
	for (unsigned i = 0; i < ap->n; i++)
		if (ap->bss[i]->zone == CFG_ZONE_WORK)
			work = ap->bss[i];
	for (int z = 0; work && z < CFG_N_ZONES; z++) {
		const struct cfg_zone_net *zn = &c->zones[z];
		if (zn->present && zn->vlan && strlen(work->ifname) + 1 + (size_t)snprintf(NULL, 0, "%u", zn->vlan) >= IFNAMSIZ)
			e += gerr(errs, c, work->line, "vlan", "%s.%u is too long for an interface name (15 characters)",
				  work->ifname, zn->vlan);
	}
	if (e)
		return -EINVAL;

	/* hostapd.conf */
	if (!(f = open_memstream(&buf, &len)))
		return -ENOMEM;
	fprintf(f, "# hostapd.conf - written by apgate-hostapd-conf from apgate's configuration; do not edit:\n"
		   "# change apgate.conf and run apgate-hostapd-conf again.\n"
		   "driver=nl80211\n");
	for (unsigned i = 0; i < ap->n; i++) {
		if (i)
			fputc('\n', f);
		render_bss(f, c, ap, i, dir);
	}
	if (!(out->conf = close_mem(f, &buf)))
		goto nomem;

	/* hostapd.vlan: each zone's VLAN on the work BSS into the zone's bridge */
	buf = NULL;
	if (!(f = open_memstream(&buf, &len)))
		goto nomem;
	fprintf(f, "# hostapd.vlan - written by apgate-hostapd-conf. \"<vlan id> <interface> <bridge>\":\n"
		   "# a station given that VLAN gets its own AP_VLAN interface, added to the zone's bridge.\n");
	for (int z = 0; work && z < CFG_N_ZONES; z++) {
		const struct cfg_zone_net *zn = &c->zones[z];
		if (zn->present && zn->vlan)
			fprintf(f, "%u %s.%u %s\n", zn->vlan, work->ifname, zn->vlan, zn->ifname);
	}
	if (!(out->vlan = close_mem(f, &buf)))
		goto nomem;
	return 0;
nomem:
	hconf_files_free(out);
	return -ENOMEM;
}

void hconf_files_free(struct hconf_files *f)
{
	free(f->conf);
	free(f->vlan);
	memset(f, 0, sizeof(*f));
}
