/* cfg.h - apgated's configuration: one INI file (parsed with libinih), every
 * key described once in a table in cfg.c {section, key, type, field,
 * default, bounds}.
 *
 * cfg_load() parses the whole file, reports every problem as
 * "FILE:LINE: key: what is wrong" to the error sink, checks cross-field
 * rules afterwards, and returns a snapshot only when there was no error
 * (STYLE 13). A snapshot is immutable once loaded; reload builds a new one
 * and swaps it in (STYLE 14).
 */
#ifndef APGATE_CFG_H
#define APGATE_CFG_H

#include <stdbool.h>
#include <stdio.h>

#include "log.h"

enum cfg_zone { CFG_ZONE_WORK = 0, CFG_ZONE_GUEST };
const char *cfg_zone_name(enum cfg_zone z);

struct cfg_bss {
	char *ifname;         /* hostapd BSS interface = control socket name */
	enum cfg_zone zone;
};

/* Read-only snapshot; fields are documented in the key table in cfg.c and
 * in the README's configuration reference. */
struct cfg {
	char *path;                 /* the file it came from */
	/* [apgated] */
	char *registry;
	char *admin_socket;
	unsigned admin_socket_mode;
	char *admin_socket_group;   /* NULL = keep the daemon's group */
	enum log_level log_level;
	bool syslog;
	char *oui_dir;              /* ieee-data directory; "" = no vendor lookup */
	/* [hostapd] */
	char *ctrl_dir;
	char *client_dir;
	unsigned ping_interval_ms;
	unsigned request_timeout_ms;
	unsigned backoff_max_ms;
	/* [bss IFNAME] sections, in file order */
	struct cfg_bss *bss;
	unsigned n_bss;
};

/* Parses path. On success returns 0 and *out is a new snapshot freed with
 * cfg_free(). On failure writes one line per problem to errs (may be NULL)
 * and returns -EINVAL (content errors) or the negative errno of opening
 * the file (the message then names the file). */
int cfg_load(const char *path, FILE *errs, struct cfg **out);
void cfg_free(struct cfg *c);

/* The BSS entry for ifname, or NULL. */
const struct cfg_bss *cfg_find_bss(const struct cfg *c, const char *ifname);

#endif
