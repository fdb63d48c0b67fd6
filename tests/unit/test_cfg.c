/* Configuration: every error names file, line and key; good files load
 * with their defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

static char dir[] = "/tmp/apgate-cfg-XXXXXX";

static const char *write_cfg(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads text; returns the rc, and the error text in *errs (caller frees). */
static int load(const char *text, struct cfg **c, char **errs, const char **path)
{
	size_t len;
	FILE *ef = open_memstream(errs, &len);
	*path = write_cfg("apgate.conf", text);
	int r = cfg_load(*path, ef, c);
	fclose(ef);
	return r;
}

#define GOOD \
	"[apgated]\n" \
	"registry = /var/lib/apgate/registry.db\n" \
	"\n" \
	"[hostapd]\n" \
	"ctrl_dir = /run/hostapd\n" \
	"\n" \
	"[bss wlan0]\n" \
	"zone = work\n" \
	"[bss wlan0_1]\n" \
	"zone = guest\n"

static void test_good_with_defaults(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL;
	const char *path;

	(void)state;
	assert_int_equal(load(GOOD, &c, &errs, &path), 0);
	assert_string_equal(errs, "");
	assert_string_equal(c->registry, "/var/lib/apgate/registry.db");
	assert_string_equal(c->admin_socket, "/run/apgate/admin.sock");
	assert_int_equal(c->admin_socket_mode, 0660);
	assert_null(c->admin_socket_group);
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_int_equal(c->ping_interval_ms, 1000);
	assert_int_equal(c->n_bss, 2);
	assert_string_equal(c->bss[0].ifname, "wlan0");
	assert_int_equal(c->bss[0].zone, CFG_ZONE_WORK);
	assert_string_equal(c->bss[1].ifname, "wlan0_1");
	assert_int_equal(c->bss[1].zone, CFG_ZONE_GUEST);
	assert_ptr_equal(cfg_find_bss(c, "wlan0_1"), &c->bss[1]);
	assert_null(cfg_find_bss(c, "eth0"));
	cfg_free(c);
	free(errs);
}

/* Every error is reported (not just the first), each as FILE:LINE: key: */
static void test_every_error_named(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL, expect[512];
	const char *path;

	(void)state;
	assert_int_equal(load("[apgated]\n"                       /* 1 */
			      "registry = relative/path.db\n"     /* 2 */
			      "log_levl = debug\n"                /* 3 */
			      "admin_socket_mode = 999\n"         /* 4 */
			      "[hostapd]\n"                       /* 5 */
			      "ping_interval_ms = 5\n"            /* 6 */
			      "zone = work\n"                     /* 7 */
			      "[bss ap0]\n"                       /* 8 */
			      "zone = office\n"                   /* 9 */
			      "[bss ap0]\n"                       /* 10 */
			      "zone = guest\n"                    /* 11 */
			      "[wireless]\n"                      /* 12 */
			      "this line has no equals sign\n",   /* 13 */
			      &c, &errs, &path),
			 -EINVAL);
	assert_null(c);
	snprintf(expect, sizeof(expect), "%s:2: registry: 'relative/path.db' is not an absolute path", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:3: log_levl: unknown key in [apgated]", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:4: admin_socket_mode: '999' is not an octal file mode", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:6: ping_interval_ms: '5' is not a whole number from 100 to 60000", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:7: zone: unknown key in [hostapd] (it belongs in [bss IFNAME])", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:9: zone: 'office' is not a BSS zone (work or guest)", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:10: bss ap0: duplicate section", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:12: wireless: unknown section", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:13: this line has no equals sign: not a 'key = value' line", path);
	assert_non_null(strstr(errs, expect));
	free(errs);
}

static void test_missing_required(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL, expect[512];
	const char *path;

	(void)state;
	assert_int_equal(load("[apgated]\nlog_level = debug\n[bss ap0]\n", &c, &errs, &path), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:1: registry: required key missing in [apgated]", path);
	assert_non_null(strstr(errs, expect));
	/* an empty [bss] section lacks its zone, reported at its header line */
	snprintf(expect, sizeof(expect), "%s:3: zone: required key missing in [bss ap0]", path);
	assert_non_null(strstr(errs, expect));
	free(errs);
	errs = NULL;

	assert_int_equal(load("[apgated]\nregistry = /r.db\n", &c, &errs, &path), -EINVAL);
	assert_non_null(strstr(errs, "bss: no [bss IFNAME] section"));
	free(errs);
}

static void test_twice_and_bad_values(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL, expect[512];
	const char *path;

	(void)state;
	assert_int_equal(load("[apgated]\nregistry = /a.db\nregistry = /b.db\nsyslog = maybe\n"
			      "log_level = loud\n[bss a]\nzone = work\n[bss]\nzone = work\n",
			      &c, &errs, &path),
			 -EINVAL);
	snprintf(expect, sizeof(expect), "%s:3: registry: given twice in [apgated]", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:4: syslog: 'maybe' is not yes or no", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:5: log_level: 'loud' is not one of error, warn, info, debug", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:8: bss: a BSS section is [bss IFNAME]", path);
	assert_non_null(strstr(errs, expect));
	free(errs);
}

static void test_missing_file(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL;
	size_t len;
	FILE *ef = open_memstream(&errs, &len);

	(void)state;
	assert_int_equal(cfg_load("/nonexistent/apgate.conf", ef, &c), -ENOENT);
	fclose(ef);
	assert_non_null(strstr(errs, "/nonexistent/apgate.conf: cannot open: No such file or directory"));
	free(errs);
}


#define ZONES \
	"[zone work]\n"                 /* 11 */ \
	"interface = br-work\n"         /* 12 */ \
	"address = 10.77.0.1/24\n"      /* 13 */ \
	"vlan = 10\n"                   /* 14 */ \
	"[zone guest]\n"                /* 15 */ \
	"interface = br-guest\n"        /* 16 */ \
	"address = 10.78.0.1/24\n"      /* 17 */ \
	"dhcp_range = 10.78.0.10-10.78.0.99\n" /* 18 */ \
	"[network]\n"                   /* 19 */ \
	"uplink = eth0\n"               /* 20 */ \
	"lan = 192.168.1.10, 192.168.2.0/24\n" /* 21 */

static void test_zones(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL;
	const char *path;
	char ip[16];

	(void)state;
	assert_int_equal(load(GOOD ZONES, &c, &errs, &path), 0);
	assert_string_equal(errs, "");
	assert_true(c->enforce);
	assert_true(c->zones[CFG_ZONE_WORK].present);
	assert_string_equal(c->zones[CFG_ZONE_WORK].ifname, "br-work");
	assert_int_equal(c->zones[CFG_ZONE_WORK].gateway.len, 24);
	assert_int_equal(c->zones[CFG_ZONE_WORK].vlan, 10);
	inet_ntop(AF_INET, &c->zones[CFG_ZONE_WORK].range_lo, ip, sizeof(ip));
	assert_string_equal(ip, "10.77.0.128"); /* derived: upper half of the /24 */
	inet_ntop(AF_INET, &c->zones[CFG_ZONE_WORK].range_hi, ip, sizeof(ip));
	assert_string_equal(ip, "10.77.0.254");
	inet_ntop(AF_INET, &c->zones[CFG_ZONE_GUEST].range_lo, ip, sizeof(ip));
	assert_string_equal(ip, "10.78.0.10");
	assert_false(c->zones[CFG_ZONE_ONBOARDING].present);
	assert_string_equal(c->uplink, "eth0");
	assert_false(c->masquerade);
	assert_int_equal(c->captive_port, 8080);
	assert_int_equal(c->n_lan, 2);
	assert_int_equal(c->lan[0].len, 32);
	assert_int_equal(c->lan[1].len, 24);
	assert_string_equal(c->dnsmasq_conf, "/run/apgate/dnsmasq.conf");
	assert_string_equal(c->dnsmasq_script, APGATE_DHCP_SCRIPT /* the install prefix's, from the Makefile */);
	cfg_free(c);
	free(errs);

	/* without zones apgated only observes */
	assert_int_equal(load(GOOD, &c, &errs, &path), 0);
	assert_false(c->enforce);
	cfg_free(c);
	free(errs);
}

static void test_zone_errors(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL, expect[512];
	const char *path;

	(void)state;
	assert_int_equal(load(GOOD
			      "[zone work]\n"                          /* 11 */
			      "interface = br-work\n"                  /* 12 */
			      "address = 10.77.0.1/24\n"               /* 13 */
			      "vlan = 10\n"                            /* 14 */
			      "[zone onboarding]\n"                    /* 15 */
			      "interface = br-work\n"                  /* 16 */
			      "address = 10.77.0.129/25\n"             /* 17 */
			      "vlan = 10\n"                            /* 18 */
			      "dhcp_range = 10.99.0.1-10.99.0.9\n"     /* 19 */
			      "[zone office]\n"                        /* 20 */
			      "[network]\n"                            /* 21 */
			      "lan = 10.77.0.5, 300.1.1.1\n"           /* 22 */
			      "[zone guest]\n"                         /* 23 */
			      "interface = eth0/1\n"                   /* 24 */
			      "address = 10.78.0.0/24\n",              /* 25 */
			      &c, &errs, &path),
			 -EINVAL);
	snprintf(expect, sizeof(expect), "%s:17: address: subnet 10.77.0.128/25 overlaps [zone work] (10.77.0.0/24)", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:16: interface: 'br-work' is already the interface of [zone work]", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:18: vlan: VLAN 10 is already used by [zone work]", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:19: dhcp_range: the range is not inside the zone's subnet 10.77.0.128/25", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:20: zone office: a zone section is [zone work], [zone guest] or [zone onboarding]", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:21: uplink: required key missing in [network]", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:22: lan: '300.1.1.1' is not an IPv4 address or subnet", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:24: interface: 'eth0/1' is not an interface name", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:25: address: '10.78.0.0/24' is the network or broadcast address", path);
	assert_non_null(strstr(errs, expect));
	free(errs);
	errs = NULL;

	/* a LAN destination inside a zone that must not reach the LAN; a missing guest zone */
	assert_int_equal(load(GOOD "[zone work]\ninterface = w\naddress = 10.77.0.1/24\n"
				   "[zone onboarding]\ninterface = o\naddress = 10.79.0.1/24\n"
				   "[network]\nuplink = w\nlan = 10.79.0.7\n",
			      &c, &errs, &path),
			 -EINVAL);
	assert_non_null(strstr(errs, "lan: 10.79.0.7/32 lies inside the onboarding zone (10.79.0.0/24)"));
	assert_non_null(strstr(errs, "zone: [zone guest] is missing"));
	assert_non_null(strstr(errs, "uplink: 'w' is also the interface of [zone work]"));
	free(errs);
	errs = NULL;

	assert_int_equal(load(GOOD "[network]\nuplink = eth0\n", &c, &errs, &path), -EINVAL);
	assert_non_null(strstr(errs, "network: [network] without any [zone NAME] section"));
	free(errs);
	errs = NULL;
	assert_int_equal(load(GOOD "[dnsmasq]\npid_file = run/dnsmasq.pid\n", &c, &errs, &path), -EINVAL);
	assert_non_null(strstr(errs, "pid_file: 'run/dnsmasq.pid' is not an absolute path"));
	assert_non_null(strstr(errs, "dnsmasq: [dnsmasq] without any [zone NAME] section"));
	free(errs);
}

static void test_wifi_keys(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL, expect[512];
	const char *path;

	(void)state;
	/* good: [wifi] and the radio keys of a BSS */
	assert_int_equal(load("[apgated]\nregistry = /r.db\n[hostapd]\nctrl_group = netdev\n"
			      "[wifi]\ncountry_code = DE\nhw_mode = a\nchannel = 36\nieee80211ac = yes\n"
			      "[bss wlan0]\nzone = work\nssid = Büro \"A\"\npassphrase = 8 chars!\nwpa3 = transition\nbridge = br-w\n",
			      &c, &errs, &path), 0);
	assert_string_equal(errs, "");
	assert_true(c->wifi.present);
	assert_string_equal(c->wifi.country_code, "DE");
	assert_string_equal(c->wifi.hw_mode, "a");
	assert_int_equal(c->wifi.channel, 36);
	assert_false(c->wifi.ieee80211n);
	assert_true(c->wifi.ieee80211ac);
	assert_string_equal(c->ctrl_group, "netdev");
	assert_string_equal(c->bss[0].ssid, "Büro \"A\"");
	assert_string_equal(c->bss[0].passphrase, "8 chars!");
	assert_null(c->bss[0].passphrase_file);
	assert_int_equal(c->bss[0].wpa3, CFG_WPA3_TRANSITION);
	assert_string_equal(c->bss[0].bridge, "br-w");
	cfg_free(c);
	free(errs);

	/* without [wifi] and radio keys: what apgated has always read */
	assert_int_equal(load(GOOD, &c, &errs, &path), 0);
	assert_false(c->wifi.present);
	assert_null(c->bss[0].ssid);
	assert_null(c->bss[0].bridge);
	assert_null(c->ctrl_group);
	assert_int_equal(c->bss[0].wpa3, CFG_WPA3_NO);
	cfg_free(c);
	free(errs);

	/* every bad value names file, line and key; the passphrase is never echoed */
	assert_int_equal(load("[apgated]\nregistry = /r.db\n"                               /* 1-2 */
			      "[wifi]\ncountry_code = Deu\nhw_mode = n\nchannel = 0\n"          /* 3-6 */
			      "[bss wlan0]\nzone = work\nssid = 123456789012345678901234567890123\n" /* 7-9 */
			      "passphrase = short\nwpa3 = yes\nbridge = br/x\n"                  /* 10-12 */
			      "[bss wlan1]\nzone = guest\npassphrase = tab\there-ok?\n"         /* 13-15 */
			      "passphrase_file = /etc/p\n",                                       /* 16 */
			      &c, &errs, &path), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:4: country_code: 'Deu' is not a two-letter country code such as DE", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:5: hw_mode: 'n' is not a, b or g", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:6: channel: '0' is not a whole number from 1 to 196", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:9: ssid: an SSID is 1 to 32 bytes (this one has 33)", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:10: passphrase: a WPA passphrase is 8 to 63 characters (this one has 5)", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:11: wpa3: 'yes' is not no or transition", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:12: bridge: 'br/x' is not an interface name", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:15: passphrase: only printable ASCII characters are allowed in a WPA passphrase (character 4 is not)", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:16: passphrase_file: give passphrase or passphrase_file, not both", path);
	assert_non_null(strstr(errs, expect));
	assert_null(strstr(errs, "short"));
	free(errs);

	/* cross-checks: [wifi] keys required once the section is there; channel
	 * and 802.11ac against hw_mode; the guest's own passphrase */
	assert_int_equal(load("[apgated]\nregistry = /r.db\n[wifi]\nhw_mode = g\n[bss a]\nzone = work\n", &c, &errs, &path), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:3: country_code: required key missing in [wifi]", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:3: channel: required key missing in [wifi]", path);
	assert_non_null(strstr(errs, expect));
	free(errs);
	assert_int_equal(load("[apgated]\nregistry = /r.db\n[wifi]\ncountry_code = DE\nhw_mode = g\nchannel = 36\nieee80211ac = yes\n"
			      "[bss a]\nzone = work\npassphrase = same-pass\n[bss b]\nzone = guest\npassphrase = same-pass\n",
			      &c, &errs, &path), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:6: channel: channel 36 is not a 2.4 GHz channel (1-14) for hw_mode = g", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:7: ieee80211ac: 802.11ac needs hw_mode = a (5 GHz)", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:13: passphrase: the guest BSS needs its own passphrase, not the one of [bss a]", path);
	assert_non_null(strstr(errs, expect));
	free(errs);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}


/* Issue 4's keys: defaults, good values, and every wrong one refused with
 * file, line and key. */
static void test_repair_ports_keys(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL, expect[512];
	const char *path;

	(void)state;
	assert_int_equal(load(GOOD ZONES, &c, &errs, &path), 0);
	assert_true(c->repair.enabled);
	assert_int_equal(c->repair.max_fixes, 3);
	assert_int_equal(c->repair.window_s, 600);
	assert_int_equal(c->repair.steer_timeout_ms, 2000);
	assert_string_equal(c->data_dir, "/var/lib/apgate/hostapd");
	assert_int_equal(c->n_wired_ports, 0);
	assert_true(c->bounce_on_move);
	assert_int_equal(c->fw_check_interval_s, 30);
	assert_false(c->bss[0].ppsk);
	cfg_free(c);
	free(errs);

	assert_int_equal(load(GOOD ZONES
			      "wired_ports = eth1, eth2 eth3\n"  /* 22 */
			      "bounce_on_move = no\n"            /* 23 */
			      "fw_check_interval = 0\n"          /* 24 */
			      "[zone onboarding]\ninterface = br-onb\naddress = 10.79.0.1/24\n"
			      "[repair]\nmax_fixes = 5\nwindow = 60\nsteer_timeout_ms = 500\nenabled = no\n",
			      &c, &errs, &path), 0);
	assert_string_equal(errs, "");
	assert_int_equal(c->n_wired_ports, 3);
	assert_string_equal(c->wired_ports[2], "eth3");
	assert_false(c->bounce_on_move);
	assert_int_equal(c->fw_check_interval_s, 0); /* off */
	assert_int_equal(c->repair.max_fixes, 5);
	assert_int_equal(c->repair.window_s, 60);
	assert_false(c->repair.enabled);
	cfg_free(c);
	free(errs);

	assert_int_equal(load("[apgated]\nregistry = /r.db\n"                 /* 1-2 */
			      "[hostapd]\ndata_dir = relative\n"                 /* 3-4 */
			      "[bss wlan0]\nzone = work\n"                       /* 5-6 */
			      "[bss wlan1]\nzone = guest\nppsk = yes\n"          /* 7-9 */
			      "[zone work]\ninterface = br-work\naddress = 10.77.0.1/24\n"  /* 10-12 */
			      "[zone guest]\ninterface = br-guest\naddress = 10.78.0.1/24\n" /* 13-15 */
			      "[network]\nuplink = eth0\n"                      /* 16-17 */
			      "wired_ports = eth1, eth0, br-work, eth1, bad/name\n" /* 18 */
			      "[repair]\nmax_fixes = 0\nwindow = 5\nsteer = 1\n", /* 19-22 */
			      &c, &errs, &path), -EINVAL);
	static const char *const want[] = {
		"4: data_dir: 'relative' is not an absolute path",
		"9: ppsk: per-device keys are for the work BSS only ([bss wlan1] is a guest BSS)",
		"18: wired_ports: 'eth1' is listed twice",
		"18: wired_ports: 'bad/name' is not an interface name",
		"18: wired_ports: wired ports start in the onboarding bridge: [zone onboarding] is missing",
		"20: max_fixes: '0' is not a whole number from 1 to 100",
		"21: window: '5' is not a whole number from 10 to 86400",
		"22: steer: unknown key in [repair]",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(expect, sizeof(expect), "%s:%s", path, want[i]);
		if (!strstr(errs, expect))
			fail_msg("missing \"%s\" in:\n%s", expect, errs);
	}
	free(errs);

	/* a port that is the uplink or a zone's bridge */
	assert_int_equal(load(GOOD ZONES "wired_ports = eth0 br-work\n"
			      "[zone onboarding]\ninterface = br-onb\naddress = 10.79.0.1/24\n", &c, &errs, &path), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:22: wired_ports: 'eth0' is also the uplink", path);
	assert_non_null(strstr(errs, expect));
	snprintf(expect, sizeof(expect), "%s:22: wired_ports: 'br-work' is the interface of [zone work], not a port", path);
	assert_non_null(strstr(errs, expect));
	free(errs);
}

/* [portal]: defaults, good values, and each wrong one with file, line and key. */
static void test_portal_keys(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL, expect[512], ip[16];
	const char *path;

	(void)state;
	assert_int_equal(load(GOOD ZONES, &c, &errs, &path), 0);
	assert_true(c->portal.enabled);
	assert_int_equal(c->portal.https_port, 443);
	assert_int_equal(c->portal.http_port, 80);
	assert_int_equal(c->portal.n_staff_listen, 0);
	assert_string_equal(c->portal.cert, "/var/lib/apgate/portal.crt");
	assert_string_equal(c->portal.key, "/var/lib/apgate/portal.key");
	assert_int_equal(c->portal.session_idle_s, 1800);
	assert_int_equal(c->portal.session_max_s, 43200);
	assert_int_equal(c->portal.login_failures, 5);
	assert_int_equal(c->portal.login_lockout_s, 300);
	cfg_free(c);
	free(errs);

	assert_int_equal(load(GOOD ZONES
			      "[portal]\ndir = /opt/portal\nhttps_port = 8443\nhttp_port = 0\n"
			      "staff_listen = 192.168.1.2, 10.0.0.2\ncert = /c.pem\nkey = /k.pem\n"
			      "session_idle = 600\nsession_max = 3600\nlogin_failures = 3\nlogin_lockout = 60\n",
			      &c, &errs, &path), 0);
	assert_string_equal(errs, "");
	assert_string_equal(c->portal.dir, "/opt/portal");
	assert_int_equal(c->portal.https_port, 8443);
	assert_int_equal(c->portal.http_port, 0);
	assert_int_equal(c->portal.n_staff_listen, 2);
	inet_ntop(AF_INET, &c->portal.staff_listen[1], ip, sizeof(ip));
	assert_string_equal(ip, "10.0.0.2");
	assert_int_equal(c->portal.login_failures, 3);
	cfg_free(c);
	free(errs);

	assert_int_equal(load(GOOD ZONES
			      "[portal]\n"                          /* 22 */
			      "https_port = 8080\n"                 /* 23: the captive port */
			      "http_port = 8080\n"                  /* 24 */
			      "staff_listen = 10.78.0.1 nothere\n"  /* 25: guest gateway, not an address */
			      "session_idle = 7200\n"               /* 26 */
			      "session_max = 3600\n"                /* 27 */
			      "login_failures = 0\n"                /* 28 */
			      "dir = relative\n"                    /* 29 */
			      "colour = blue\n",                    /* 30 */
			      &c, &errs, &path), -EINVAL);
	static const char *const want[] = {
		"24: http_port: the same port as https_port (8080)",
		"23: https_port: the same port as [network] captive_port (8080)",
		"25: staff_listen: 'nothere' is not an IPv4 address",
		"25: staff_listen: 10.78.0.1 is the guest gateway: the staff portal must not face that zone",
		"26: session_idle: longer than session_max (3600 s)",
		"28: login_failures: '0' is not a whole number from 1 to 100",
		"29: dir: 'relative' is not an absolute path",
		"30: colour: unknown key in [portal]",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(expect, sizeof(expect), "%s:%s", path, want[i]);
		if (!strstr(errs, expect))
			fail_msg("missing \"%s\" in:\n%s", expect, errs);
	}
	free(errs);

	/* the firewall self-check: 0 (off) or 5..3600 s */
	assert_int_equal(load(GOOD ZONES "fw_check_interval = 5\n", &c, &errs, &path), 0);
	assert_int_equal(c->fw_check_interval_s, 5);
	cfg_free(c);
	free(errs);
	assert_int_equal(load(GOOD ZONES "fw_check_interval = 3600\n", &c, &errs, &path), 0);
	assert_int_equal(c->fw_check_interval_s, 3600);
	cfg_free(c);
	free(errs);
	static const char *const bad_interval[] = { "4", "3601", "-1", "30s", "" };
	for (size_t i = 0; i < sizeof(bad_interval) / sizeof(bad_interval[0]); i++) {
		char text[1024];
		snprintf(text, sizeof(text), GOOD ZONES "fw_check_interval = %s\n", bad_interval[i]); /* 22 */
		c = NULL;
		assert_int_equal(load(text, &c, &errs, &path), -EINVAL);
		assert_null(c);
		snprintf(expect, sizeof(expect),
			 "%s:22: fw_check_interval: '%s' is not 0 (off) or a whole number from 5 to 3600", path,
			 bad_interval[i]);
		if (!strstr(errs, expect))
			fail_msg("missing \"%s\" in:\n%s", expect, errs);
		free(errs);
	}

	/* no work zone and nowhere else to listen */
	assert_int_equal(load("[apgated]\nregistry = /r.db\n[bss wlan0]\nzone = work\n[portal]\nhttps_port = 443\n",
			      &c, &errs, &path), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:5: staff_listen: the staff portal has nowhere to listen", path);
	if (!strstr(errs, expect))
		fail_msg("missing \"%s\" in:\n%s", expect, errs);
	free(errs);
}

/* Issue 8's sections: identification tables, the risky-service check,
 * where alerts go. */
static void test_policy_check_alert_keys(void **state)
{
	struct cfg *c = NULL;
	char *errs = NULL, expect[512];
	const char *path;

	(void)state;
	assert_int_equal(load(GOOD ZONES, &c, &errs, &path), 0);
	assert_string_equal(c->policies.dir, APGATE_POLICIES_DIR);
	assert_null(c->policies.fingerprints_local);
	assert_null(c->policies.auto_rules); /* automatic decisions are off by default */
	assert_true(c->policies.dns_blocking);
	assert_true(c->checks.enabled);
	assert_true(c->checks.on_first_seen);
	assert_int_equal(c->checks.timeout_ms, 1500);
	assert_int_equal(c->checks.per_minute, 6);
	assert_int_equal(c->checks.concurrency, 16);
	assert_null(c->alerts.webhook);
	assert_null(c->alerts.mail_to);
	assert_string_equal(c->alerts.sendmail, "/usr/sbin/sendmail");
	assert_int_equal(c->alerts.retry_max_s, 600);
	assert_true(c->watch_unmanaged);
	assert_string_equal(c->dnsmasq_query_log, "/run/apgate/dnsmasq-queries.log");
	cfg_free(c);
	free(errs);

	assert_int_equal(load(GOOD ZONES
			      "[policies]\nfingerprints_local = /etc/apgate/fp.conf\nauto_rules = /etc/apgate/auto.conf\n"
			      "dns_blocking = no\n[checks]\non_first_seen = no\nper_minute = 60\n"
			      "[alerts]\nwebhook = https://alerts.example/hook?shop=12\nmail_to = it@example.org, boss@example.org\n",
			      &c, &errs, &path), 0);
	assert_string_equal(errs, "");
	assert_string_equal(c->policies.auto_rules, "/etc/apgate/auto.conf");
	assert_false(c->policies.dns_blocking);
	assert_false(c->checks.on_first_seen);
	assert_int_equal(c->checks.per_minute, 60);
	assert_string_equal(c->alerts.webhook, "https://alerts.example/hook?shop=12");
	assert_string_equal(c->alerts.mail_to, "it@example.org, boss@example.org");
	cfg_free(c);
	free(errs);

	assert_int_equal(load(GOOD ZONES
			      "[policies]\n"                        /* 22 */
			      "auto_rules = rules.conf\n"           /* 23 */
			      "[checks]\n"                          /* 24 */
			      "timeout_ms = 50\n"                   /* 25 */
			      "ports = 23\n"                        /* 26 */
			      "[alerts]\n"                          /* 27 */
			      "webhook = ftp://x/\n"                /* 28 */
			      "mail_to = -oQ/tmp/x\n",              /* 29 */
			      &c, &errs, &path), -EINVAL);
	static const char *const want[] = {
		"23: auto_rules: 'rules.conf' is not an absolute path",
		"25: timeout_ms: '50' is not a whole number from 100 to 10000",
		"26: ports: unknown key in [checks]",
		"28: webhook: 'ftp://x/' is not an http:// or https:// URL",
		"29: mail_to: '-oQ/tmp/x' is not one or more e-mail addresses",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(expect, sizeof(expect), "%s:%s", path, want[i]);
		if (!strstr(errs, expect))
			fail_msg("missing \"%s\" in:\n%s", expect, errs);
	}
	free(errs);
	assert_int_equal(load(GOOD ZONES "[alerts]\nwebhook = http://\n", &c, &errs, &path), -EINVAL);
	snprintf(expect, sizeof(expect), "%s:23: webhook: 'http://' is not a usable URL", path);
	if (!strstr(errs, expect))
		fail_msg("missing \"%s\" in:\n%s", expect, errs);
	free(errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_with_defaults),
		cmocka_unit_test(test_every_error_named),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_twice_and_bad_values),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_zones),
		cmocka_unit_test(test_zone_errors),
		cmocka_unit_test(test_wifi_keys),
		cmocka_unit_test(test_repair_ports_keys),
		cmocka_unit_test(test_portal_keys),
		cmocka_unit_test(test_policy_check_alert_keys),
	};
	return cmocka_run_group_tests_name("cfg", tests, setup, teardown);
}
