/* gen.h - the hostapd configuration of the two-SSID access point, rendered
 * from apgate's configuration (struct cfg).
 *
 * hconf_prepare() checks what only the generator needs (a [wifi] section,
 * an ssid and a passphrase on each BSS, at most one work and one guest
 * BSS, the guest's own passphrase) and reads passphrase files; errors are
 * "FILE:LINE: key: why" like cfg_load's. hconf_render() is pure: the same
 * cfg and secrets always give the same text.
 */
#ifndef APGATE_HCONF_GEN_H
#define APGATE_HCONF_GEN_H

#include <stdio.h>

#include "cfg.h"

struct hconf_ap {
	const struct cfg_bss *bss[2];   /* in file order: bss[0] is interface=, bss[1] bss= */
	char passphrase[2][64];         /* of bss[i], from the config or its file */
	unsigned n;
};

/* The two files the generator owns, NUL-terminated texts owned by the struct. */
struct hconf_files {
	char *conf;    /* hostapd.conf */
	char *vlan;    /* hostapd.vlan */
};

#define HCONF_CONF   "hostapd.conf"
#define HCONF_VLAN   "hostapd.vlan"

/* The per-BSS files hostapd.conf names in cfg->data_dir; apgated owns and
 * rewrites them (controller/io/hfiles), the generator only creates missing
 * ones, empty, because hostapd refuses to start without them:
 *   work BSS   <ifname>.accept (accept_mac_file), <ifname>.deny (deny_mac_file),
 *              <ifname>.psk (wpa_psk_file) when ppsk = yes
 *   guest BSS  <ifname>.deny */
struct hconf_list {
	const char *ifname;  /* points into the cfg */
	const char *ext;     /* "accept", "deny" or "psk" */
};
#define HCONF_MAX_LISTS (2 * 3)

/* 0, or -EINVAL with one line per problem written to errs. */
int hconf_prepare(const struct cfg *c, struct hconf_ap *ap, FILE *errs);

/* dir: the absolute directory hostapd.conf names hostapd.vlan in; the lists
 * are named in c->data_dir. 0, -EINVAL (dir, data_dir or a VLAN interface
 * name unusable, said on errs) or -ENOMEM. */
int hconf_render(const struct cfg *c, const struct hconf_ap *ap, const char *dir, struct hconf_files *out,
		 FILE *errs);
void hconf_files_free(struct hconf_files *f);

/* The list files hostapd.conf names, in its order; returns how many. */
unsigned hconf_lists(const struct hconf_ap *ap, struct hconf_list out[HCONF_MAX_LISTS]);

/* The SSID as one hostapd line: "ssid=..." when it is printable ASCII,
 * else "ssid2=P\"...\"" with \" \\ and \xHH escapes. Exposed for tests. */
void hconf_ssid_line(FILE *out, const char *ssid);

#endif
