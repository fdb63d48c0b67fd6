#include "cfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <net/if.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "util.h"

enum key_type {
	K_STR, K_PATH, K_SOCKPATH, K_UINT, K_UINT0, K_MODE, K_BOOL, K_LOGLEVEL, K_ZONE,
	K_IFNAME, K_GATEWAY, K_RANGE, K_LANLIST, K_IFLIST,
	K_COUNTRY, K_HWMODE, K_SSID, K_PASSPHRASE, K_WPA3, K_ADDRLIST,
};

static bool is_str_type(enum key_type t)
{
	return t == K_STR || t == K_PATH || t == K_SOCKPATH || t == K_IFNAME || t == K_COUNTRY || t == K_HWMODE ||
	       t == K_SSID || t == K_PASSPHRASE;
}

/* Kinds of section: the global ones appear once; [bss IFNAME] and
 * [zone NAME] are instances, each with its own struct. */
enum sec_kind { SEC_APGATED, SEC_HOSTAPD, SEC_NETWORK, SEC_DNSMASQ, SEC_WIFI, SEC_REPAIR, SEC_PORTAL, SEC_POLICIES,
		SEC_CHECKS, SEC_ALERTS, SEC_BSS, SEC_ZONE, SEC_BAD };
static const char *const kind_names[] = { "apgated", "hostapd", "network", "dnsmasq", "wifi", "repair", "portal",
					  "policies", "checks", "alerts", "bss", "zone" };
#define SEC_LAST_GLOBAL SEC_ALERTS

#ifndef APGATE_DHCP_SCRIPT
#define APGATE_DHCP_SCRIPT "/usr/libexec/apgate/apgate-dhcp-script"
#endif
#ifndef APGATE_PORTAL_DIR
#define APGATE_PORTAL_DIR "/usr/share/apgate/portal"
#endif
#ifndef APGATE_POLICIES_DIR
#define APGATE_POLICIES_DIR "/usr/share/apgate/policies"
#endif

/* Default of an optional key that stays NULL when not given. */
static const char NONE[] = "(none)";

struct key_def {
	enum sec_kind kind;
	const char *key;
	enum key_type type;
	size_t off;            /* into struct cfg, cfg_bss or cfg_zone_net by kind */
	const char *def;       /* NULL = required (for [network]: when zones exist),
				* NONE = optional without a value */
	long min, max;         /* K_UINT bounds; K_UINT0: 0 (off) or min..max */
};

#define F(field) offsetof(struct cfg, field)
#define B(field) offsetof(struct cfg_bss, field)
#define Z(field) offsetof(struct cfg_zone_net, field)

static const struct key_def keys[] = {
	{ SEC_APGATED, "registry",           K_PATH,     F(registry),           NULL, 0, 0 },
	{ SEC_APGATED, "admin_socket",       K_SOCKPATH, F(admin_socket),       "/run/apgate/admin.sock", 0, 0 },
	{ SEC_APGATED, "admin_socket_mode",  K_MODE,     F(admin_socket_mode),  "0660", 0, 0777 },
	{ SEC_APGATED, "admin_socket_group", K_STR,      F(admin_socket_group), "", 0, 0 },
	{ SEC_APGATED, "log_level",          K_LOGLEVEL, F(log_level),          "info", 0, 0 },
	{ SEC_APGATED, "syslog",             K_BOOL,     F(syslog),             "no", 0, 0 },
	{ SEC_APGATED, "oui_dir",            K_STR,      F(oui_dir),            "/usr/share/ieee-data", 0, 0 },
	{ SEC_HOSTAPD, "ctrl_dir",           K_PATH,     F(ctrl_dir),           "/run/hostapd", 0, 0 },
	{ SEC_HOSTAPD, "client_dir",         K_PATH,     F(client_dir),         "/run/apgate", 0, 0 },
	{ SEC_HOSTAPD, "ping_interval_ms",   K_UINT,     F(ping_interval_ms),   "1000", 100, 60000 },
	{ SEC_HOSTAPD, "request_timeout_ms", K_UINT,     F(request_timeout_ms), "1000", 50, 30000 },
	{ SEC_HOSTAPD, "backoff_max_ms",     K_UINT,     F(backoff_max_ms),     "5000", 100, 600000 },
	{ SEC_NETWORK, "uplink",             K_IFNAME,   F(uplink),             NULL, 0, 0 },
	{ SEC_NETWORK, "masquerade",         K_BOOL,     F(masquerade),         "no", 0, 0 },
	{ SEC_NETWORK, "lan",                K_LANLIST,  0,                     "", 0, 0 },
	{ SEC_NETWORK, "captive_port",       K_UINT,     F(captive_port),       "8080", 1, 65535 },
	{ SEC_DNSMASQ, "conf_file",          K_PATH,     F(dnsmasq_conf),       "/run/apgate/dnsmasq.conf", 0, 0 },
	{ SEC_DNSMASQ, "hosts_file",         K_PATH,     F(dnsmasq_hosts),      "/run/apgate/dhcp-hosts", 0, 0 },
	{ SEC_DNSMASQ, "pid_file",           K_PATH,     F(dnsmasq_pid),        "/run/apgate/dnsmasq.pid", 0, 0 },
	{ SEC_DNSMASQ, "lease_file",         K_PATH,     F(dnsmasq_leases),     "/var/lib/apgate/dnsmasq.leases", 0, 0 },
	{ SEC_DNSMASQ, "script",             K_PATH,     F(dnsmasq_script),     APGATE_DHCP_SCRIPT, 0, 0 },
	{ SEC_HOSTAPD, "ctrl_group",         K_STR,      F(ctrl_group),         "", 0, 0 },
	{ SEC_HOSTAPD, "data_dir",           K_PATH,     F(data_dir),           "/var/lib/apgate/hostapd", 0, 0 },
	{ SEC_NETWORK, "wired_ports",        K_IFLIST,   0,                     "", 0, 0 },
	{ SEC_NETWORK, "bounce_on_move",     K_BOOL,     F(bounce_on_move),     "yes", 0, 0 },
	{ SEC_NETWORK, "fw_check_interval",  K_UINT0,    F(fw_check_interval_s), "30", 5, 3600 },
	{ SEC_REPAIR,  "enabled",            K_BOOL,     F(repair.enabled),     "yes", 0, 0 },
	{ SEC_REPAIR,  "max_fixes",          K_UINT,     F(repair.max_fixes),   "3", 1, 100 },
	{ SEC_REPAIR,  "window",             K_UINT,     F(repair.window_s),    "600", 10, 86400 },
	{ SEC_REPAIR,  "steer_timeout_ms",   K_UINT,     F(repair.steer_timeout_ms), "2000", 100, 30000 },
	{ SEC_PORTAL,  "enabled",            K_BOOL,     F(portal.enabled),     "yes", 0, 0 },
	{ SEC_PORTAL,  "dir",                K_PATH,     F(portal.dir),         APGATE_PORTAL_DIR, 0, 0 },
	{ SEC_PORTAL,  "https_port",         K_UINT,     F(portal.https_port),  "443", 1, 65535 },
	{ SEC_PORTAL,  "http_port",          K_UINT,     F(portal.http_port),   "80", 0, 65535 },
	{ SEC_PORTAL,  "staff_listen",       K_ADDRLIST, 0,                     "", 0, 0 },
	{ SEC_PORTAL,  "cert",               K_PATH,     F(portal.cert),        "/var/lib/apgate/portal.crt", 0, 0 },
	{ SEC_PORTAL,  "key",                K_PATH,     F(portal.key),         "/var/lib/apgate/portal.key", 0, 0 },
	{ SEC_PORTAL,  "session_idle",       K_UINT,     F(portal.session_idle_s), "1800", 60, 86400 },
	{ SEC_PORTAL,  "session_max",        K_UINT,     F(portal.session_max_s), "43200", 300, 604800 },
	{ SEC_PORTAL,  "login_failures",     K_UINT,     F(portal.login_failures), "5", 1, 100 },
	{ SEC_PORTAL,  "login_lockout",      K_UINT,     F(portal.login_lockout_s), "300", 10, 86400 },
	{ SEC_POLICIES, "dir",               K_PATH,     F(policies.dir),       APGATE_POLICIES_DIR, 0, 0 },
	{ SEC_POLICIES, "fingerprints_local", K_PATH,    F(policies.fingerprints_local), NONE, 0, 0 },
	{ SEC_POLICIES, "auto_rules",        K_PATH,     F(policies.auto_rules), NONE, 0, 0 },
	{ SEC_POLICIES, "dns_blocking",      K_BOOL,     F(policies.dns_blocking), "yes", 0, 0 },
	{ SEC_POLICIES, "blocklist_local",   K_PATH,     F(policies.blocklist_local), NONE, 0, 0 },
	{ SEC_CHECKS,  "enabled",            K_BOOL,     F(checks.enabled),     "yes", 0, 0 },
	{ SEC_CHECKS,  "on_first_seen",      K_BOOL,     F(checks.on_first_seen), "yes", 0, 0 },
	{ SEC_CHECKS,  "timeout_ms",         K_UINT,     F(checks.timeout_ms),  "1500", 100, 10000 },
	{ SEC_CHECKS,  "per_minute",         K_UINT,     F(checks.per_minute),  "6", 1, 600 },
	{ SEC_CHECKS,  "concurrency",        K_UINT,     F(checks.concurrency), "16", 1, 256 },
	{ SEC_ALERTS,  "webhook",            K_STR,      F(alerts.webhook),     NONE, 0, 0 },
	{ SEC_ALERTS,  "webhook_timeout_ms", K_UINT,     F(alerts.webhook_timeout_ms), "5000", 200, 60000 },
	{ SEC_ALERTS,  "retry_max",          K_UINT,     F(alerts.retry_max_s), "600", 1, 86400 },
	{ SEC_ALERTS,  "mail_to",            K_STR,      F(alerts.mail_to),     NONE, 0, 0 },
	{ SEC_ALERTS,  "sendmail",           K_PATH,     F(alerts.sendmail),    "/usr/sbin/sendmail", 0, 0 },
	{ SEC_NETWORK, "watch_unmanaged",    K_BOOL,     F(watch_unmanaged),    "yes", 0, 0 },
	{ SEC_DNSMASQ, "query_log",          K_PATH,     F(dnsmasq_query_log),  "/run/apgate/dnsmasq-queries.log", 0, 0 },
	{ SEC_WIFI,    "country_code",       K_COUNTRY,  F(wifi.country_code),  NULL, 0, 0 },
	{ SEC_WIFI,    "hw_mode",            K_HWMODE,   F(wifi.hw_mode),       NULL, 0, 0 },
	{ SEC_WIFI,    "channel",            K_UINT,     F(wifi.channel),       NULL, 1, 196 },
	{ SEC_WIFI,    "ieee80211n",         K_BOOL,     F(wifi.ieee80211n),    "no", 0, 0 },
	{ SEC_WIFI,    "ieee80211ac",        K_BOOL,     F(wifi.ieee80211ac),   "no", 0, 0 },
	{ SEC_BSS,     "zone",               K_ZONE,     B(zone),               NULL, 0, 0 },
	{ SEC_BSS,     "ssid",               K_SSID,     B(ssid),               NONE, 0, 0 },
	{ SEC_BSS,     "passphrase",         K_PASSPHRASE, B(passphrase),       NONE, 0, 0 },
	{ SEC_BSS,     "passphrase_file",    K_PATH,     B(passphrase_file),    NONE, 0, 0 },
	{ SEC_BSS,     "wpa3",               K_WPA3,     B(wpa3),               "no", 0, 0 },
	{ SEC_BSS,     "bridge",             K_IFNAME,   B(bridge),             NONE, 0, 0 },
	{ SEC_BSS,     "ppsk",               K_BOOL,     B(ppsk),               "no", 0, 0 },
	{ SEC_ZONE,    "interface",          K_IFNAME,   Z(ifname),             NULL, 0, 0 },
	{ SEC_ZONE,    "address",            K_GATEWAY,  Z(gateway),            NULL, 0, 0 },
	{ SEC_ZONE,    "dhcp_range",         K_RANGE,    0,                     "", 0, 0 },
	{ SEC_ZONE,    "vlan",               K_UINT,     Z(vlan),               "0", 0, 4094 },
};

#define MAX_SECTIONS 64

struct section {
	char name[64];
	int line;
	enum sec_kind kind;
	void *base;            /* struct the keys write into; NULL after a bad header */
	uint64_t seen_mask[(ARRAY_SIZE(keys) + 63) / 64]; /* bit i = keys[i] given */
	int key_line[ARRAY_SIZE(keys)];
};

struct parse {
	const char *path;
	FILE *errs;
	FILE *in;
	int lineno;
	int errors;
	struct cfg *cfg;
	struct section sec[MAX_SECTIONS];
	unsigned n_sec;
};

const char *cfg_zone_name(enum cfg_zone z)
{
	switch (z) {
	case CFG_ZONE_GUEST: return "guest";
	case CFG_ZONE_ONBOARDING: return "onboarding";
	default: return "work";
	}
}

static void perr(struct parse *p, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void perr(struct parse *p, int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	p->errors++;
	if (!p->errs)
		return;
	fprintf(p->errs, "%s:%d: %s: ", p->path, line, key);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

static const char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static struct section *cur_section(struct parse *p)
{
	return p->n_sec ? &p->sec[p->n_sec - 1] : NULL;
}

/* ---- sections ---- */

static bool valid_ifname(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len >= IFNAMSIZ || !strcmp(n, ".") || !strcmp(n, ".."))
		return false;
	for (const char *c = n; *c; c++)
		if (*c == '/' || *c == ':' || *c <= ' ' || *c == 0x7f)
			return false;
	return true;
}

/* Opens a section for header text `name` at the current line. */
static void open_section(struct parse *p, const char *name)
{
	struct section *s = &p->sec[p->n_sec];
	char arg[64];
	const char *a;

	memset(s, 0, sizeof(*s));
	s->line = p->lineno;
	s->kind = SEC_BAD;
	/* one space between words, so that [bss  ap0] and [bss ap0] are the same */
	for (size_t i = 0, k = 0; name[i] && k + 1 < sizeof(s->name); i++) {
		bool space = name[i] == ' ' || name[i] == '\t';
		if (space && (k == 0 || s->name[k - 1] == ' '))
			continue;
		s->name[k++] = space ? ' ' : name[i];
	}
	for (unsigned i = 0; i < p->n_sec; i++)
		if (strcmp(p->sec[i].name, s->name) == 0)
			perr(p, p->lineno, s->name, "duplicate section");

	for (int k = SEC_APGATED; k <= SEC_LAST_GLOBAL; k++) {
		if (strcmp(s->name, kind_names[k]) == 0) {
			s->kind = (enum sec_kind)k;
			s->base = p->cfg;
			return;
		}
	}
	if (strncmp(s->name, "bss", 3) == 0 && (s->name[3] == ' ' || s->name[3] == '\0')) {
		s->kind = SEC_BSS;
		util_strlcpy(arg, s->name + 3, sizeof(arg));
		a = trim(arg);
		if (!valid_ifname(a)) {
			perr(p, p->lineno, s->name, "a BSS section is [bss IFNAME] with an interface name of 1-15 characters");
		} else if (p->cfg->n_bss == CFG_MAX_BSS) {
			perr(p, p->lineno, s->name, "too many BSS (at most %d)", CFG_MAX_BSS);
		} else {
			struct cfg_bss *b = &p->cfg->bss[p->cfg->n_bss++];
			b->ifname = strdup(a);
			b->line = p->lineno;
			s->base = b;
		}
		return;
	}
	if (strncmp(s->name, "zone", 4) == 0 && (s->name[4] == ' ' || s->name[4] == '\0')) {
		s->kind = SEC_ZONE;
		util_strlcpy(arg, s->name + 4, sizeof(arg));
		a = trim(arg);
		for (int z = 0; z < CFG_N_ZONES; z++) {
			if (strcmp(a, cfg_zone_name((enum cfg_zone)z)) == 0) {
				struct cfg_zone_net *zn = &p->cfg->zones[z];
				if (!zn->present) { /* a duplicate was reported above */
					zn->present = true;
					zn->line = p->lineno;
					s->base = zn;
				}
				return;
			}
		}
		perr(p, p->lineno, s->name, "a zone section is [zone work], [zone guest] or [zone onboarding]");
		return;
	}
	perr(p, p->lineno, s->name,
	     "unknown section (expected [apgated], [hostapd], [network], [dnsmasq], [wifi], [repair], [portal], "
	     "[policies], [checks], [alerts], [bss IFNAME] or [zone NAME])");
}

/* Called by inih once per line before it parses the line: counts lines and
 * sees section headers itself, so that empty sections, duplicates and
 * syntax errors are all reported with their line. */
static char *reader(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	char copy[512];
	const char *t;

	if (!fgets(buf, size, p->in))
		return NULL;
	p->lineno++;
	util_strlcpy(copy, buf, sizeof(copy));
	t = trim(copy);
	if (*t == '\0' || *t == '#' || *t == ';')
		return buf;
	if (*t == '[') {
		const char *end = strchr(t, ']');
		char name[128];
		size_t n;

		if (!end) {
			perr(p, p->lineno, t, "section header without ']'");
			return buf;
		}
		if (p->n_sec == MAX_SECTIONS) {
			perr(p, p->lineno, t, "too many sections (at most %d)", MAX_SECTIONS);
			return buf;
		}
		n = (size_t)(end - t - 1);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, t + 1, n);
		name[n] = '\0';
		open_section(p, trim(name));
		p->n_sec++;
		return buf;
	}
	if (!strchr(t, '=') && !strchr(t, ':'))
		perr(p, p->lineno, t, "not a 'key = value' line");
	return buf;
}

/* ---- values ---- */

static int parse_ip4(const char *s, struct in_addr *out)
{
	return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* "a.b.c.d[/len]"; without /len the prefix is def_len. */
static int parse_prefix(const char *s, unsigned def_len, struct cfg_prefix *out)
{
	char buf[64];
	char *slash;
	long len = def_len;

	if (util_strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -EINVAL;
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		if (util_parse_long(slash + 1, 0, 32, &len) < 0)
			return -EINVAL;
	}
	if (parse_ip4(buf, &out->addr) < 0)
		return -EINVAL;
	out->len = (unsigned)len;
	return 0;
}

static uint32_t mask_of(unsigned len)
{
	return len >= 32 ? 0xffffffffu : len ? 0xffffffffu << (32 - len) : 0;
}

static bool prefixes_overlap(const struct cfg_prefix *a, const struct cfg_prefix *b)
{
	uint32_t m = mask_of(a->len < b->len ? a->len : b->len);

	return (ntohl(a->addr.s_addr) & m) == (ntohl(b->addr.s_addr) & m);
}

static bool in_prefix(struct in_addr ip, const struct cfg_prefix *p)
{
	uint32_t m = mask_of(p->len);

	return (ntohl(ip.s_addr) & m) == (ntohl(p->addr.s_addr) & m);
}

static void fmt_prefix(const struct cfg_prefix *p, bool network, char *out, size_t size)
{
	struct in_addr a = p->addr;
	char ip[INET_ADDRSTRLEN];

	if (network)
		a.s_addr = htonl(ntohl(a.s_addr) & mask_of(p->len));
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	snprintf(out, size, "%s/%u", ip, p->len);
}

/* Replaces the string at field with a copy of v. */
static int set_str(void *field, const char *v)
{
	char *d = strdup(v);

	if (!d)
		return -ENOMEM;
	free(*(char **)field);
	*(char **)field = d;
	return 0;
}

/* The words a keyword type accepts, and the value each stands for. */
struct word {
	const char *name;
	long value;
};
static const struct word bool_words[] = {
	{ "yes", 1 }, { "true", 1 }, { "on", 1 }, { "1", 1 },
	{ "no", 0 }, { "false", 0 }, { "off", 0 }, { "0", 0 },
};
static const struct word wpa3_words[] = {
	{ "no", CFG_WPA3_NO }, { "transition", CFG_WPA3_TRANSITION },
};
static const struct word bss_zone_words[] = { /* a BSS is work or guest, never onboarding */
	{ "work", CFG_ZONE_WORK }, { "guest", CFG_ZONE_GUEST },
};

/* 0 and *out = the value of v in words, or -EINVAL. */
static int keyword(const char *v, const struct word *words, size_t n, long *out)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v, words[i].name) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_value(struct parse *p, const struct key_def *k, void *base, const char *v, int line)
{
	void *field = (char *)base + k->off;
	long n;

	switch (k->type) {
	case K_PATH:
	case K_SOCKPATH:
		if (v[0] != '/') {
			perr(p, line, k->key, "'%s' is not an absolute path", v);
			return -EINVAL;
		}
		if (k->type == K_SOCKPATH && strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			perr(p, line, k->key, "socket path longer than %zu bytes",
			     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -EINVAL;
		}
		/* fall through */
	case K_STR:
		return set_str(field, v);
	case K_IFNAME:
		if (!valid_ifname(v)) {
			perr(p, line, k->key, "'%s' is not an interface name (1-15 characters, no '/' ':' or spaces)", v);
			return -EINVAL;
		}
		return set_str(field, v);
	case K_UINT:
		if (util_parse_long(v, k->min, k->max, &n) < 0) {
			perr(p, line, k->key, "'%s' is not a whole number from %ld to %ld", v, k->min, k->max);
			return -EINVAL;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	case K_UINT0:
		if (util_parse_long(v, 0, k->max, &n) < 0 || (n && n < k->min)) {
			perr(p, line, k->key, "'%s' is not 0 (off) or a whole number from %ld to %ld", v, k->min, k->max);
			return -EINVAL;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	case K_MODE: {
		char *end;
		errno = 0;
		n = strtol(v, &end, 8);
		if (!*v || *end || errno || n < k->min || n > k->max) {
			perr(p, line, k->key, "'%s' is not an octal file mode such as 0660", v);
			return -EINVAL;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	}
	case K_BOOL:
		if (keyword(v, bool_words, ARRAY_SIZE(bool_words), &n) < 0) {
			perr(p, line, k->key, "'%s' is not yes or no", v);
			return -EINVAL;
		}
		*(bool *)field = n;
		return 0;
	case K_LOGLEVEL:
		if (log_level_parse(v, (enum log_level *)field) < 0) {
			perr(p, line, k->key, "'%s' is not one of error, warn, info, debug", v);
			return -EINVAL;
		}
		return 0;
	case K_COUNTRY:
		if (strlen(v) != 2 || v[0] < 'A' || v[0] > 'Z' || v[1] < 'A' || v[1] > 'Z') {
			perr(p, line, k->key, "'%s' is not a two-letter country code such as DE", v);
			return -EINVAL;
		}
		return set_str(field, v);
	case K_HWMODE:
		if (strcmp(v, "a") && strcmp(v, "b") && strcmp(v, "g")) {
			perr(p, line, k->key, "'%s' is not a, b or g", v);
			return -EINVAL;
		}
		return set_str(field, v);
	case K_SSID:
		if (!*v || strlen(v) > 32) {
			perr(p, line, k->key, "an SSID is 1 to 32 bytes (this one has %zu)", strlen(v));
			return -EINVAL;
		}
		return set_str(field, v);
	case K_PASSPHRASE: /* never echoed: it is a secret */
		if (strlen(v) < 8 || strlen(v) > 63) {
			perr(p, line, k->key, "a WPA passphrase is 8 to 63 characters (this one has %zu)", strlen(v));
			return -EINVAL;
		}
		for (const char *c = v; *c; c++)
			if (*c < 0x20 || *c > 0x7e) {
				perr(p, line, k->key, "only printable ASCII characters are allowed in a WPA passphrase (character %zu is not)",
				     (size_t)(c - v) + 1);
				return -EINVAL;
			}
		return set_str(field, v);
	case K_WPA3:
		if (keyword(v, wpa3_words, ARRAY_SIZE(wpa3_words), &n) < 0) {
			perr(p, line, k->key, "'%s' is not no or transition", v);
			return -EINVAL;
		}
		*(enum cfg_wpa3 *)field = (enum cfg_wpa3)n;
		return 0;
	case K_ZONE:
		if (keyword(v, bss_zone_words, ARRAY_SIZE(bss_zone_words), &n) < 0) {
			perr(p, line, k->key, "'%s' is not a BSS zone (work or guest)", v);
			return -EINVAL;
		}
		*(enum cfg_zone *)field = (enum cfg_zone)n;
		return 0;
	case K_GATEWAY: {
		struct cfg_prefix *g = field, gw;
		/* parsed aside: a refused value leaves the zone without a
		 * gateway (len 0), which the cross-checks skip */
		if (parse_prefix(v, 33, &gw) < 0 || gw.len > 30 || gw.len < 8) {
			perr(p, line, k->key, "'%s' is not the gateway's address with a prefix length from 8 to 30, such as 10.77.0.1/24", v);
			return -EINVAL;
		}
		*g = gw;
		uint32_t host = ntohl(g->addr.s_addr) & ~mask_of(g->len);
		if (host == 0 || host == ~mask_of(g->len)) {
			perr(p, line, k->key, "'%s' is the network or broadcast address, not a gateway address", v);
			return -EINVAL;
		}
		return 0;
	}
	case K_RANGE: {
		struct cfg_zone_net *z = base;
		char buf[64], *dash;
		if (!*v)
			return 0; /* derived from the subnet later */
		util_strlcpy(buf, v, sizeof(buf));
		dash = strchr(buf, '-');
		if (dash)
			*dash = '\0';
		if (!dash || parse_ip4(trim(buf), &z->range_lo) < 0 || parse_ip4(trim(dash + 1), &z->range_hi) < 0 ||
		    ntohl(z->range_lo.s_addr) > ntohl(z->range_hi.s_addr)) {
			perr(p, line, k->key, "'%s' is not a range such as 10.77.0.100-10.77.0.200", v);
			return -EINVAL;
		}
		return 0;
	}
	case K_LANLIST: {
		struct cfg *c = base;
		char *dup = strdup(v), *save = NULL;
		int r = 0;
		if (!dup)
			return -ENOMEM;
		c->n_lan = 0;
		for (char *tok = strtok_r(dup, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			if (c->n_lan == CFG_MAX_LAN) {
				perr(p, line, k->key, "more than %d destinations", CFG_MAX_LAN);
				r = -EINVAL;
				break;
			}
			if (parse_prefix(tok, 32, &c->lan[c->n_lan]) < 0) {
				perr(p, line, k->key, "'%s' is not an IPv4 address or subnet such as 192.168.1.0/24", tok);
				r = -EINVAL;
				continue;
			}
			c->n_lan++;
		}
		free(dup);
		return r;
	}
	case K_ADDRLIST: {
		struct cfg *c = base;
		char *dup = strdup(v), *save = NULL;
		int r = 0;
		if (!dup)
			return -ENOMEM;
		c->portal.n_staff_listen = 0;
		for (char *tok = strtok_r(dup, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			struct in_addr a;
			if (c->portal.n_staff_listen == CFG_MAX_LISTEN) {
				perr(p, line, k->key, "more than %d addresses", CFG_MAX_LISTEN);
				r = -EINVAL;
				break;
			}
			if (parse_ip4(tok, &a) < 0 || a.s_addr == htonl(INADDR_ANY)) {
				perr(p, line, k->key, "'%s' is not an IPv4 address of this machine such as 192.168.1.2", tok);
				r = -EINVAL;
				continue;
			}
			c->portal.staff_listen[c->portal.n_staff_listen++] = a;
		}
		free(dup);
		return r;
	}
	case K_IFLIST: {
		struct cfg *c = base;
		char *dup = strdup(v), *save = NULL;
		int r = 0;
		if (!dup)
			return -ENOMEM;
		for (unsigned i = 0; i < c->n_wired_ports; i++)
			free(c->wired_ports[i]);
		c->n_wired_ports = 0;
		for (char *tok = strtok_r(dup, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
			if (c->n_wired_ports == CFG_MAX_PORTS) {
				perr(p, line, k->key, "more than %d ports", CFG_MAX_PORTS);
				r = -EINVAL;
				break;
			}
			if (!valid_ifname(tok)) {
				perr(p, line, k->key, "'%s' is not an interface name (1-15 characters, no '/' ':' or spaces)", tok);
				r = -EINVAL;
				continue;
			}
			for (unsigned i = 0; i < c->n_wired_ports; i++)
				if (!strcmp(c->wired_ports[i], tok)) {
					perr(p, line, k->key, "'%s' is listed twice", tok);
					r = -EINVAL;
				}
			if (r < 0)
				continue;
			if (!(c->wired_ports[c->n_wired_ports] = strdup(tok))) {
				r = -ENOMEM;
				break;
			}
			c->n_wired_ports++;
		}
		free(dup);
		return r;
	}
	}
	return -EINVAL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct section *s = cur_section(p);

	(void)section; /* the reader tracks sections with their lines */
	if (!s) {
		perr(p, p->lineno, name, "key outside of any section");
		return 1;
	}
	if (!s->base)
		return 1; /* bad header already reported */
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
		if (keys[i].kind != s->kind || strcmp(keys[i].key, name) != 0)
			continue;
		if (s->seen_mask[i / 64] & (1ull << (i % 64)))
			perr(p, p->lineno, name, "given twice in [%s]", s->name);
		s->seen_mask[i / 64] |= 1ull << (i % 64);
		s->key_line[i] = p->lineno;
		set_value(p, &keys[i], s->base, value, p->lineno);
		if (s->kind == SEC_BSS) {
			struct cfg_bss *b = s->base;
			if (!strcmp(name, "ssid"))
				b->ssid_line = p->lineno;
			else if (!strcmp(name, "passphrase") || !strcmp(name, "passphrase_file"))
				b->passphrase_line = p->lineno;
			else if (!strcmp(name, "bridge"))
				b->bridge_line = p->lineno;
		} else if (s->kind == SEC_WIFI && !strcmp(name, "ieee80211ac")) {
			p->cfg->wifi.ac_line = p->lineno;
		}
		return 1;
	}
	/* Suggest what the key might have been. */
	const char *hint = NULL;
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].key, name) == 0)
			hint = keys[i].kind == SEC_BSS ? "bss IFNAME" : keys[i].kind == SEC_ZONE ? "zone NAME"
										    : kind_names[keys[i].kind];
	if (hint)
		perr(p, p->lineno, name, "unknown key in [%s] (it belongs in [%s])", s->name, hint);
	else
		perr(p, p->lineno, name, "unknown key in [%s]", s->name);
	return 1;
}

/* ---- after the whole file ---- */

static const struct section *find_section(const struct parse *p, enum sec_kind kind, const void *base)
{
	for (unsigned i = 0; i < p->n_sec; i++)
		if (p->sec[i].kind == kind && (!base || p->sec[i].base == base))
			return &p->sec[i];
	return NULL;
}

static int section_line(const struct parse *p, enum sec_kind kind)
{
	const struct section *s = find_section(p, kind, NULL);
	return s ? s->line : p->lineno; /* absent: point at the end of the file */
}

/* Line where key of the section holding base was given, else the header's. */
static int key_line(const struct parse *p, enum sec_kind kind, const void *base, const char *key)
{
	const struct section *s = find_section(p, kind, base);

	if (!s)
		return p->lineno;
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].kind == kind && !strcmp(keys[i].key, key) && s->key_line[i])
			return s->key_line[i];
	return s->line;
}

static unsigned bss_key(const char *key)
{
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].kind == SEC_BSS && !strcmp(keys[i].key, key))
			return i;
	return 0;
}

/* Defaults and required keys of every section instance of one kind. */
static void fill_defaults(struct parse *p, enum sec_kind kind, void *base, const struct section *s,
			  const char *where, bool required_applies)
{
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key_def *k = &keys[i];
		if (k->kind != kind || (s && (s->seen_mask[i / 64] & (1ull << (i % 64)))) || k->def == NONE)
			continue;
		if (!k->def) {
			if (required_applies)
				perr(p, s ? s->line : section_line(p, kind), k->key, "required key missing in [%s]", where);
			continue;
		}
		struct parse quiet = *p;
		quiet.errs = NULL;
		set_value(&quiet, k, base, k->def, 0);
	}
}

static void check_zones(struct parse *p)
{
	struct cfg *c = p->cfg;
	char a[32], b[32];

	for (int z = 0; z < CFG_N_ZONES; z++) {
		struct cfg_zone_net *zn = &c->zones[z];
		if (!zn->present || !zn->gateway.len)
			continue;
		c->enforce = true;
		int aline = key_line(p, SEC_ZONE, zn, "address");
		if (!zn->range_lo.s_addr) { /* derived: the upper half of the subnet, less the last address */
			uint32_t net = ntohl(zn->gateway.addr.s_addr) & mask_of(zn->gateway.len);
			uint32_t size = ~mask_of(zn->gateway.len) + 1u;
			zn->range_lo.s_addr = htonl(net + size / 2);
			zn->range_hi.s_addr = htonl(net + size - 2);
		} else if (!in_prefix(zn->range_lo, &zn->gateway) || !in_prefix(zn->range_hi, &zn->gateway)) {
			fmt_prefix(&zn->gateway, true, a, sizeof(a));
			perr(p, key_line(p, SEC_ZONE, zn, "dhcp_range"), "dhcp_range", "the range is not inside the zone's subnet %s", a);
		}
		for (int o = 0; o < z; o++) {
			struct cfg_zone_net *on = &c->zones[o];
			if (!on->present || !on->gateway.len)
				continue;
			if (prefixes_overlap(&zn->gateway, &on->gateway)) {
				fmt_prefix(&zn->gateway, true, a, sizeof(a));
				fmt_prefix(&on->gateway, true, b, sizeof(b));
				perr(p, aline, "address", "subnet %s overlaps [zone %s] (%s)", a, cfg_zone_name((enum cfg_zone)o), b);
			}
			if (zn->ifname && on->ifname && !strcmp(zn->ifname, on->ifname))
				perr(p, key_line(p, SEC_ZONE, zn, "interface"), "interface",
				     "'%s' is already the interface of [zone %s]", zn->ifname, cfg_zone_name((enum cfg_zone)o));
			if (zn->vlan && zn->vlan == on->vlan)
				perr(p, key_line(p, SEC_ZONE, zn, "vlan"), "vlan", "VLAN %u is already used by [zone %s]",
				     zn->vlan, cfg_zone_name((enum cfg_zone)o));
		}
		for (unsigned l = 0; l < c->n_lan; l++) {
			if (z != CFG_ZONE_WORK && prefixes_overlap(&c->lan[l], &zn->gateway)) {
				fmt_prefix(&c->lan[l], false, a, sizeof(a));
				fmt_prefix(&zn->gateway, true, b, sizeof(b));
				perr(p, key_line(p, SEC_NETWORK, c, "lan"), "lan", "%s lies inside the %s zone (%s)", a,
				     cfg_zone_name((enum cfg_zone)z), b);
			}
		}
	}
	if (!c->enforce) {
		if (find_section(p, SEC_NETWORK, NULL))
			perr(p, section_line(p, SEC_NETWORK), "network", "[network] without any [zone NAME] section");
		if (find_section(p, SEC_DNSMASQ, NULL))
			perr(p, section_line(p, SEC_DNSMASQ), "dnsmasq", "[dnsmasq] without any [zone NAME] section");
		return;
	}
	for (int z = 0; z < CFG_ZONE_ONBOARDING; z++)
		if (!c->zones[z].present)
			perr(p, p->lineno, "zone", "[zone %s] is missing (work and guest are required once zones are configured)",
			     cfg_zone_name((enum cfg_zone)z));
	for (unsigned i = 0; i < c->n_wired_ports; i++) {
		const char *w = c->wired_ports[i];
		int wl = key_line(p, SEC_NETWORK, c, "wired_ports");
		if (!c->zones[CFG_ZONE_ONBOARDING].present)
			perr(p, wl, "wired_ports", "wired ports start in the onboarding bridge: [zone onboarding] is missing");
		if (c->uplink && !strcmp(c->uplink, w))
			perr(p, wl, "wired_ports", "'%s' is also the uplink", w);
		for (int z = 0; z < CFG_N_ZONES; z++)
			if (c->zones[z].ifname && !strcmp(c->zones[z].ifname, w))
				perr(p, wl, "wired_ports", "'%s' is the interface of [zone %s], not a port", w,
				     cfg_zone_name((enum cfg_zone)z));
		if (!c->zones[CFG_ZONE_ONBOARDING].present)
			break;
	}
	if (c->uplink)
		for (int z = 0; z < CFG_N_ZONES; z++)
			if (c->zones[z].ifname && !strcmp(c->zones[z].ifname, c->uplink))
				perr(p, key_line(p, SEC_NETWORK, c, "uplink"), "uplink", "'%s' is also the interface of [zone %s]",
				     c->uplink, cfg_zone_name((enum cfg_zone)z));
}

/* The radio keys: consistent among themselves; the generator checks the
 * rest (ssid present, one work and one guest BSS). */
static void check_wifi(struct parse *p)
{
	struct cfg *c = p->cfg;
	const struct cfg_bss *work = NULL;

	if (c->wifi.present && c->wifi.hw_mode && c->wifi.channel) {
		bool five = !strcmp(c->wifi.hw_mode, "a");
		if (!five && c->wifi.channel > 14)
			perr(p, key_line(p, SEC_WIFI, c, "channel"), "channel", "channel %u is not a 2.4 GHz channel (1-14) for hw_mode = %s",
			     c->wifi.channel, c->wifi.hw_mode);
		if (five && c->wifi.channel < 32)
			perr(p, key_line(p, SEC_WIFI, c, "channel"), "channel", "channel %u is not a 5 GHz channel (32-196) for hw_mode = a",
			     c->wifi.channel);
		if (!five && c->wifi.ieee80211ac)
			perr(p, c->wifi.ac_line, "ieee80211ac", "802.11ac needs hw_mode = a (5 GHz)");
	}
	for (unsigned i = 0; i < c->n_bss; i++) {
		struct cfg_bss *b = &c->bss[i];
		const struct section *s = find_section(p, SEC_BSS, b);
		if (s && s->key_line[bss_key("passphrase")] && s->key_line[bss_key("passphrase_file")])
			perr(p, s->key_line[bss_key("passphrase_file")], "passphrase_file", "give passphrase or passphrase_file, not both");
		if (b->zone == CFG_ZONE_WORK && !work)
			work = b;
		if (b->ppsk && b->zone != CFG_ZONE_WORK)
			perr(p, key_line(p, SEC_BSS, b, "ppsk"), "ppsk", "per-device keys are for the work BSS only ([bss %s] is a %s BSS)",
			     b->ifname, cfg_zone_name(b->zone));
	}
	for (unsigned i = 0; work && i < c->n_bss; i++) {
		const struct cfg_bss *g = &c->bss[i];
		if (g->zone != CFG_ZONE_GUEST)
			continue;
		if (work->passphrase && g->passphrase && !strcmp(work->passphrase, g->passphrase))
			perr(p, g->passphrase_line, "passphrase", "the guest BSS needs its own passphrase, not the one of [bss %s]",
			     work->ifname);
		if (work->passphrase_file && g->passphrase_file && !strcmp(work->passphrase_file, g->passphrase_file))
			perr(p, g->passphrase_line, "passphrase_file", "the guest BSS needs its own passphrase, not the file of [bss %s]",
			     work->ifname);
	}
}

/* The staff face needs somewhere to listen, and its ports must not collide
 * with each other or with the captive port on the work gateway. */
static void check_portal(struct parse *p)
{
	const struct cfg *c = p->cfg;

	if (!c->portal.enabled)
		return;
	if (c->portal.http_port && c->portal.http_port == c->portal.https_port)
		perr(p, key_line(p, SEC_PORTAL, NULL, "http_port"), "http_port", "the same port as https_port (%u)",
		     c->portal.https_port);
	if (c->enforce && c->portal.https_port == c->captive_port)
		perr(p, key_line(p, SEC_PORTAL, NULL, "https_port"), "https_port",
		     "the same port as [network] captive_port (%u)", c->captive_port);
	if (c->enforce && c->portal.http_port && c->portal.http_port == c->captive_port)
		perr(p, key_line(p, SEC_PORTAL, NULL, "http_port"), "http_port",
		     "the same port as [network] captive_port (%u)", c->captive_port);
	if (!c->zones[CFG_ZONE_WORK].present && !c->portal.n_staff_listen && find_section(p, SEC_PORTAL, NULL))
		perr(p, section_line(p, SEC_PORTAL), "staff_listen",
		     "the staff portal has nowhere to listen: no [zone work] and no staff_listen (or set enabled = no)");
	for (unsigned i = 0; i < c->portal.n_staff_listen; i++)
		for (int z = CFG_ZONE_GUEST; z < CFG_N_ZONES; z++)
			if (c->zones[z].present && c->zones[z].gateway.addr.s_addr == c->portal.staff_listen[i].s_addr)
				perr(p, key_line(p, SEC_PORTAL, NULL, "staff_listen"), "staff_listen",
				     "%s is the %s gateway: the staff portal must not face that zone",
				     inet_ntoa(c->portal.staff_listen[i]), cfg_zone_name((enum cfg_zone)z));
	if (c->portal.session_idle_s > c->portal.session_max_s)
		perr(p, key_line(p, SEC_PORTAL, NULL, "session_idle"), "session_idle",
		     "longer than session_max (%u s)", c->portal.session_max_s);
}

/* Where alerts go: a URL libcurl can post to, addresses that cannot
 * smuggle headers into the mail apgated hands to sendmail. */
static void check_alerts(struct parse *p)
{
	const struct cfg *c = p->cfg;
	const char *w = c->alerts.webhook, *m = c->alerts.mail_to;

	if (w && strncmp(w, "http://", 7) != 0 && strncmp(w, "https://", 8) != 0)
		perr(p, key_line(p, SEC_ALERTS, NULL, "webhook"), "webhook", "'%s' is not an http:// or https:// URL", w);
	else if (w && (strlen(w) <= (w[4] == 's' ? 8u : 7u) || strpbrk(w, " \t\"<>\\^`{|}")))
		perr(p, key_line(p, SEC_ALERTS, NULL, "webhook"), "webhook", "'%s' is not a usable URL (no host, or a space or quote in it)", w);
	if (m) {
		bool ok = *m != '\0';
		for (const char *t = m; *t && ok; t++)
			ok = (unsigned char)*t > ' ' || *t == ' ';
		ok = ok && strchr(m, '@') && m[0] != '-';
		if (!ok)
			perr(p, key_line(p, SEC_ALERTS, NULL, "mail_to"), "mail_to",
			     "'%s' is not one or more e-mail addresses (user@host, separated by commas)", m);
	}
}

static void check_after(struct parse *p)
{
	bool zones = false;

	for (int z = 0; z < CFG_N_ZONES; z++)
		zones |= p->cfg->zones[z].present;
	/* Global sections: defaults, required keys. [network] is required
	 * only when zones are configured. */
	fill_defaults(p, SEC_APGATED, p->cfg, find_section(p, SEC_APGATED, NULL), "apgated", true);
	fill_defaults(p, SEC_HOSTAPD, p->cfg, find_section(p, SEC_HOSTAPD, NULL), "hostapd", true);
	fill_defaults(p, SEC_NETWORK, p->cfg, find_section(p, SEC_NETWORK, NULL), "network", zones);
	fill_defaults(p, SEC_DNSMASQ, p->cfg, find_section(p, SEC_DNSMASQ, NULL), "dnsmasq", zones);
	fill_defaults(p, SEC_REPAIR, p->cfg, find_section(p, SEC_REPAIR, NULL), "repair", true);
	fill_defaults(p, SEC_PORTAL, p->cfg, find_section(p, SEC_PORTAL, NULL), "portal", true);
	fill_defaults(p, SEC_POLICIES, p->cfg, find_section(p, SEC_POLICIES, NULL), "policies", true);
	fill_defaults(p, SEC_CHECKS, p->cfg, find_section(p, SEC_CHECKS, NULL), "checks", true);
	fill_defaults(p, SEC_ALERTS, p->cfg, find_section(p, SEC_ALERTS, NULL), "alerts", true);
	const struct section *wifi = find_section(p, SEC_WIFI, NULL);
	fill_defaults(p, SEC_WIFI, p->cfg, wifi, "wifi", wifi != NULL);
	if (wifi) {
		p->cfg->wifi.present = true;
		p->cfg->wifi.line = wifi->line;
	}
	for (unsigned s = 0; s < p->n_sec; s++) {
		struct section *sec = &p->sec[s];
		if (sec->base && (sec->kind == SEC_BSS || sec->kind == SEC_ZONE))
			fill_defaults(p, sec->kind, sec->base, sec, sec->name, true);
	}
	if (p->cfg->n_bss == 0)
		perr(p, p->lineno, "bss", "no [bss IFNAME] section: apgated needs at least one hostapd BSS to watch");
	if (p->cfg->admin_socket_group && !*p->cfg->admin_socket_group) {
		free(p->cfg->admin_socket_group);
		p->cfg->admin_socket_group = NULL;
	}
	if (p->cfg->ctrl_group && !*p->cfg->ctrl_group) {
		free(p->cfg->ctrl_group);
		p->cfg->ctrl_group = NULL;
	}
	check_wifi(p);
	if (p->cfg->client_dir && strlen(p->cfg->client_dir) + 40 >= sizeof(((struct sockaddr_un *)0)->sun_path))
		perr(p, section_line(p, SEC_HOSTAPD), "client_dir", "path too long for the client sockets (at most %zu bytes)",
		     sizeof(((struct sockaddr_un *)0)->sun_path) - 41);
	if (p->cfg->ctrl_dir && strlen(p->cfg->ctrl_dir) + 17 >= sizeof(((struct sockaddr_un *)0)->sun_path))
		perr(p, section_line(p, SEC_HOSTAPD), "ctrl_dir", "path too long for hostapd's sockets");
	check_zones(p);
	check_portal(p);
	check_alerts(p);
}

int cfg_load(const char *path, FILE *errs, struct cfg **out)
{
	struct parse p = { .path = path, .errs = errs };
	int r;

	p.in = fopen(path, "r");
	if (!p.in) {
		r = -errno;
		if (errs)
			fprintf(errs, "%s: cannot open: %s\n", path, strerror(-r));
		return r;
	}
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg) {
		fclose(p.in);
		return -ENOMEM;
	}
	p.cfg->path = strdup(path);
	r = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.in);
	if (r < 0) {
		cfg_free(p.cfg);
		return -ENOMEM;
	}
	if (r > 0 && p.errors == 0) /* inih saw an error the reader did not */
		perr(&p, r, "syntax", "cannot parse this line");
	check_after(&p);
	p.cfg->lines = p.lineno;
	if (p.errors) {
		cfg_free(p.cfg);
		return -EINVAL;
	}
	*out = p.cfg;
	return 0;
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].kind <= SEC_LAST_GLOBAL && is_str_type(keys[i].type))
			free(*(char **)((char *)c + keys[i].off));
	for (unsigned i = 0; i < c->n_bss; i++) {
		free(c->bss[i].ifname);
		for (unsigned k = 0; k < ARRAY_SIZE(keys); k++)
			if (keys[k].kind == SEC_BSS && is_str_type(keys[k].type))
				free(*(char **)((char *)&c->bss[i] + keys[k].off));
	}
	for (int z = 0; z < CFG_N_ZONES; z++)
		free(c->zones[z].ifname);
	for (unsigned i = 0; i < c->n_wired_ports; i++)
		free(c->wired_ports[i]);
	free(c->path);
	free(c);
}

int cfg_read_passphrase(const struct cfg_bss *b, char out[64], size_t *len)
{
	char buf[256];
	FILE *f = fopen(b->passphrase_file, "r");
	size_t n;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (len)
		*len = n;
	if (n < 8 || n > 63)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -EINVAL;
	util_strlcpy(out, buf, 64);
	return 0;
}

const struct cfg_bss *cfg_find_bss(const struct cfg *c, const char *ifname)
{
	for (unsigned i = 0; i < c->n_bss; i++)
		if (strcmp(c->bss[i].ifname, ifname) == 0)
			return &c->bss[i];
	return NULL;
}
