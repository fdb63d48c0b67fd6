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

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>

#include "log.h"

enum cfg_zone { CFG_ZONE_WORK = 0, CFG_ZONE_GUEST, CFG_ZONE_ONBOARDING };
#define CFG_N_ZONES 3
#define CFG_MAX_BSS 16
#define CFG_MAX_LAN 32
#define CFG_MAX_PORTS 32
#define CFG_MAX_LISTEN 4
const char *cfg_zone_name(enum cfg_zone z);

/* wpa3 = transition: WPA2-PSK and SAE on the same SSID, with optional MFP. */
enum cfg_wpa3 { CFG_WPA3_NO = 0, CFG_WPA3_TRANSITION };

struct cfg_bss {
	char *ifname;         /* hostapd BSS interface = control socket name */
	enum cfg_zone zone;   /* work or guest */
	/* Radio side, read only by apgate-hostapd-conf (apgated ignores it):
	 * NULL when not given. */
	char *ssid;           /* 1-32 bytes, any bytes but NUL */
	char *passphrase;     /* 8-63 printable ASCII */
	char *passphrase_file; /* or: its first line is the passphrase */
	enum cfg_wpa3 wpa3;
	char *bridge;         /* NULL = the zone's interface */
	bool ppsk;            /* per-device keys (work BSS): <data_dir>/<ifname>.psk */
	int line;             /* of the section header, for messages */
	int ssid_line, passphrase_line, bridge_line; /* 0 = not given */
};

/* [wifi]: the radio, for apgate-hostapd-conf only (optional for apgated). */
struct cfg_wifi {
	bool present;
	int line;                  /* of the section header */
	char *country_code;        /* two upper-case letters */
	char *hw_mode;             /* "a", "b" or "g" */
	unsigned channel;          /* 1-196 (no ACS) */
	bool ieee80211n;
	bool ieee80211ac;
	int ac_line;
};

/* An IPv4 address with a prefix length: a zone's gateway ("10.77.0.1/24")
 * or a LAN destination ("192.168.1.10" = /32). */
struct cfg_prefix {
	struct in_addr addr;
	unsigned len;
};

/* [zone work|guest|onboarding]: the network segment of a zone on this AP. */
struct cfg_zone_net {
	bool present;
	char *ifname;              /* bridge or interface of the zone */
	struct cfg_prefix gateway; /* the AP's address in the zone and the subnet */
	struct in_addr range_lo;   /* DHCP pool (derived from the subnet if not given) */
	struct in_addr range_hi;
	unsigned vlan;             /* 802.1Q id on real access points, 0 = none */
	int line;                  /* of the section header, for messages */
};

/* Read-only snapshot; fields are documented in the key table in cfg.c and
 * in the README's configuration reference. */
struct cfg {
	char *path;                 /* the file it came from */
	int lines;                  /* its number of lines, for "missing" messages */
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
	char *ctrl_group;           /* ctrl_interface_group for the generator; NULL = none */
	char *data_dir;             /* apgated keeps <ifname>.accept, .deny and .psk here */
	/* [wifi] */
	struct cfg_wifi wifi;
	/* [bss IFNAME] sections, in file order */
	struct cfg_bss bss[CFG_MAX_BSS];
	unsigned n_bss;
	/* [zone NAME] sections; enforcement is on when any zone is configured
	 * (then [network] is required), else apgated only observes. */
	struct cfg_zone_net zones[CFG_N_ZONES];
	bool enforce;
	/* [network] */
	char *uplink;               /* interface toward the internet */
	bool masquerade;
	struct cfg_prefix lan[CFG_MAX_LAN]; /* what approved business devices may reach */
	unsigned n_lan;
	unsigned captive_port;      /* TCP port of the captive portal on each gateway */
	char *wired_ports[CFG_MAX_PORTS]; /* LAN ports moved between the zones' bridges */
	unsigned n_wired_ports;
	bool bounce_on_move;        /* take a port down and up after moving it (DHCP renews) */
	unsigned fw_check_interval_s; /* compare the kernel's rules with the plan and
				       * restore them every N s; 0 = never */
	/* [repair]: putting devices back where they belong, without loops */
	struct {
		bool enabled;
		unsigned max_fixes;      /* per device per window, then the device is held */
		unsigned window_s;
		unsigned steer_timeout_ms; /* wait for a BSS-TM-RESP before denying */
	} repair;
	/* [portal]: the staff face (HTTPS) and the files both faces serve; the
	 * captive face listens on [network] captive_port */
	struct {
		bool enabled;
		char *dir;                 /* portal/: static/, i18n/ */
		unsigned https_port;
		unsigned http_port;        /* answers with a redirect to HTTPS; 0 = off */
		struct in_addr staff_listen[CFG_MAX_LISTEN]; /* management addresses (besides the work gateway) */
		unsigned n_staff_listen;
		char *cert, *key;          /* PEM; generated self-signed when neither exists */
		unsigned session_idle_s, session_max_s;
		unsigned login_failures;   /* failed logins (per address and per user) before a lockout */
		unsigned login_lockout_s;
	} portal;
	/* [policies]: the tables in policies/ (identification, DNS blocklist)
	 * and the admin's additions to them */
	struct {
		char *dir;                 /* shipped tables: fingerprints.conf, blocklist.txt */
		char *fingerprints_local;  /* admin's DHCP fingerprint lines, read after dir's; NULL = none */
		char *auto_rules;          /* automatic decisions; NULL = off (the default) */
		bool dns_blocking;         /* apply the blocklist through dnsmasq */
		char *blocklist_local;     /* admin's own blocked domains; NULL = none */
	} policies;
	/* [checks]: the risky-service check of a device's open TCP ports */
	struct {
		bool enabled;
		bool on_first_seen;        /* check each device when it first gets an address */
		unsigned timeout_ms;       /* per connect */
		unsigned per_minute;       /* devices checked per minute at most */
		unsigned concurrency;      /* connects in flight at most */
	} checks;
	/* [alerts]: where alerts go besides the registry, the portal and the log */
	struct {
		char *webhook;             /* http(s) URL, JSON POST; NULL = none */
		unsigned webhook_timeout_ms;
		unsigned retry_max_s;      /* longest back-off between delivery attempts */
		char *mail_to;             /* e-mail address(es) via sendmail; NULL = none */
		char *sendmail;            /* the local sendmail program */
	} alerts;
	bool watch_unmanaged;       /* [network]: list MACs on the bridges that bypass the AP */
	/* [dnsmasq]: files apgated writes for dnsmasq, and how it finds it */
	char *dnsmasq_conf;         /* dnsmasq -C reads it */
	char *dnsmasq_hosts;        /* dhcp-hostsfile, re-read on SIGHUP */
	char *dnsmasq_pid;          /* dnsmasq's pid-file */
	char *dnsmasq_leases;       /* dhcp-leasefile */
	char *dnsmasq_script;       /* the lease helper dnsmasq runs (apgate-dhcp-script) */
	char *dnsmasq_query_log;    /* dnsmasq's query log (log-facility), read for blocked look-ups */
};

/* Parses path. On success returns 0 and *out is a new snapshot freed with
 * cfg_free(). On failure writes one line per problem to errs (may be NULL)
 * and returns -EINVAL (content errors) or the negative errno of opening
 * the file (the message then names the file). */
int cfg_load(const char *path, FILE *errs, struct cfg **out);
void cfg_free(struct cfg *c);

/* The first line of b->passphrase_file into out: 0; -errno when it cannot
 * be read; -EINVAL when it is not a WPA passphrase (8 to 63 printable ASCII
 * characters: hostapd keeps a CR or TAB, which no phone user types), with
 * *len (may be NULL) its length. */
int cfg_read_passphrase(const struct cfg_bss *b, char out[64], size_t *len);

/* The BSS entry for ifname, or NULL. */
const struct cfg_bss *cfg_find_bss(const struct cfg *c, const char *ifname);

#endif
