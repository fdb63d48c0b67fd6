/* Firewall plans: rendered text diffed against golden files under tests/fw/
 * (FW_GOLDEN_UPDATE=1 rewrites them), input checks, and what fw_sync(),
 * fw_update_device() and fw_flush() hand to the backend (a fake here; the
 * kernel backend is tested in test_fw_iptc). */
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
#include <sys/socket.h>

#include "io/fw.h"
#include "io/fw_plan.h"
#include "util.h"

/* ---- fixtures ---- */

static struct in_addr ip4(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct in6_addr ip6(const char *s)
{
	struct in6_addr a;
	assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

static struct fw_cidr4 lan4[3];
static struct fw_cidr6 lan6[1];

/* The usual shop: work and guest SSIDs, onboarding on the work interface,
 * NAT to the uplink, a file server and a printer subnet on the LAN. */
static struct fw_net net_shop(void)
{
	struct fw_net n = { 0 };

	util_strlcpy(n.zone[FW_ZONE_WORK].ifname, "wlan0", IFNAMSIZ);
	n.zone[FW_ZONE_WORK].gw4 = ip4("10.10.0.1");
	n.zone[FW_ZONE_WORK].len4 = 24;
	n.zone[FW_ZONE_WORK].net6.addr = ip6("fd00:10::");
	n.zone[FW_ZONE_WORK].net6.len = 64;
	util_strlcpy(n.zone[FW_ZONE_GUEST].ifname, "wlan0_1", IFNAMSIZ);
	n.zone[FW_ZONE_GUEST].gw4 = ip4("172.31.7.1");
	n.zone[FW_ZONE_GUEST].len4 = 24;
	n.zone[FW_ZONE_GUEST].net6.addr = ip6("2001:db8:20::");
	n.zone[FW_ZONE_GUEST].net6.len = 64;
	util_strlcpy(n.uplink, "eth0", IFNAMSIZ);
	n.masquerade = true;
	n.captive_port = 8080;
	lan4[0] = (struct fw_cidr4){ ip4("192.168.1.10"), 32 };
	lan4[1] = (struct fw_cidr4){ ip4("192.168.1.77"), 24 }; /* host bits dropped */
	lan4[2] = (struct fw_cidr4){ ip4("203.0.113.0"), 28 };  /* not private */
	lan6[0] = (struct fw_cidr6){ ip6("2001:db8:99::"), 48 };
	n.lan4 = lan4;
	n.n_lan4 = 3;
	n.lan6 = lan6;
	n.n_lan6 = 1;
	return n;
}

/* Onboarding on its own interface, no NAT, no LAN, no IPv6 prefixes. */
static struct fw_net net_onb(void)
{
	struct fw_net n = { 0 };

	util_strlcpy(n.zone[FW_ZONE_WORK].ifname, "br-work", IFNAMSIZ);
	n.zone[FW_ZONE_WORK].gw4 = ip4("192.168.50.1");
	n.zone[FW_ZONE_WORK].len4 = 24;
	util_strlcpy(n.zone[FW_ZONE_GUEST].ifname, "br-guest", IFNAMSIZ);
	n.zone[FW_ZONE_GUEST].gw4 = ip4("100.80.0.1");
	n.zone[FW_ZONE_GUEST].len4 = 16;
	util_strlcpy(n.zone[FW_ZONE_ONBOARDING].ifname, "br-onb", IFNAMSIZ);
	n.zone[FW_ZONE_ONBOARDING].gw4 = ip4("198.18.0.1");
	n.zone[FW_ZONE_ONBOARDING].len4 = 24;
	util_strlcpy(n.uplink, "wan", IFNAMSIZ);
	n.captive_port = 80;
	return n;
}

static const struct fw_dev devs3[] = {
	{ { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b }, FW_BLOCKED },
	{ { 0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc }, FW_WORK },
	{ { 0x8a, 0x11, 0x22, 0x33, 0x44, 0x55 }, FW_GUEST },
	{ { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a }, FW_ONBOARDING }, /* = not listed */
};

static char *render(const struct fw_net *n, const struct fw_dev *d, unsigned nd, int family)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fw_render(n, d, nd, family, f), 0);
	fclose(f);
	return buf;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&buf, &len);
	int ch;
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(m);
	fclose(f);
	return buf;
}

static void golden(const char *name, const char *text)
{
	const char *dir = getenv("FW_GOLDEN_DIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "tests/fw", name);
	if (getenv("FW_GOLDEN_UPDATE")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(text, f);
		assert_int_equal(fclose(f), 0);
	}
	char *want = slurp(path);
	if (!want)
		fail_msg("%s: missing golden file (FW_GOLDEN_UPDATE=1 writes it)", path);
	if (strcmp(want, text) != 0) {
		fprintf(stderr, "--- %s\n+++ rendered\n%s", path, text);
		free(want);
		fail_msg("%s differs from the rendered plan", path);
	}
	free(want);
}

/* ---- golden files ---- */

static void test_golden_shop(void **state)
{
	struct fw_net n = net_shop();
	(void)state;
	char *v4 = render(&n, devs3, ARRAY_SIZE(devs3), AF_INET);
	char *v6 = render(&n, devs3, ARRAY_SIZE(devs3), AF_INET6);
	golden("shop.v4", v4);
	golden("shop.v6", v6);
	free(v4);
	free(v6);
}

static void test_golden_onboarding_iface(void **state)
{
	struct fw_net n = net_onb();
	(void)state;
	char *v4 = render(&n, devs3, 2, AF_INET);
	char *v6 = render(&n, devs3, 2, AF_INET6);
	golden("onb.v4", v4);
	golden("onb.v6", v6);
	free(v4);
	free(v6);
}

/* Work only, no devices: the smallest plan. */
static void test_golden_minimal(void **state)
{
	struct fw_net n = net_shop();
	(void)state;
	memset(&n.zone[FW_ZONE_GUEST], 0, sizeof(n.zone[0]));
	n.masquerade = false;
	n.n_lan4 = n.n_lan6 = 0;
	char *v4 = render(&n, NULL, 0, AF_INET);
	golden("minimal.v4", v4);
	free(v4);
}

/* The device list's order does not matter: rules are sorted by MAC. */
static void test_device_order(void **state)
{
	struct fw_net n = net_shop();
	struct fw_dev rev[ARRAY_SIZE(devs3)];
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(devs3); i++)
		rev[i] = devs3[ARRAY_SIZE(devs3) - 1 - i];
	char *a = render(&n, devs3, ARRAY_SIZE(devs3), AF_INET);
	char *b = render(&n, rev, ARRAY_SIZE(rev), AF_INET);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

static void test_bad_input(void **state)
{
	struct fw_net n;
	struct fw_dev dup[2] = { devs3[1], devs3[1] };
	struct fw_dev badv = { { 1, 2, 3, 4, 5, 6 }, (enum fw_verdict)7 };
	FILE *f = fopen("/dev/null", "w");
	(void)state;

	n = net_shop();
	assert_int_equal(fw_render(&n, devs3, 3, AF_INET, f), 0);
	assert_int_equal(fw_render(&n, devs3, 3, AF_UNIX, f), -EINVAL);
	assert_int_equal(fw_render(&n, dup, 2, AF_INET, f), -EINVAL);
	assert_int_equal(fw_render(&n, &badv, 1, AF_INET, f), -EINVAL);
	n.uplink[0] = '\0';
	assert_int_equal(fw_render(&n, NULL, 0, AF_INET, f), -EINVAL);
	n = net_shop();
	n.zone[FW_ZONE_WORK].ifname[0] = '\0';
	assert_int_equal(fw_render(&n, NULL, 0, AF_INET, f), -EINVAL);
	n = net_shop();
	util_strlcpy(n.zone[FW_ZONE_GUEST].ifname, "wlan0", IFNAMSIZ); /* = work's */
	assert_int_equal(fw_render(&n, NULL, 0, AF_INET, f), -EINVAL);
	n = net_shop();
	util_strlcpy(n.zone[FW_ZONE_GUEST].ifname, "wlan+", IFNAMSIZ); /* a wildcard */
	assert_int_equal(fw_render(&n, NULL, 0, AF_INET, f), -EINVAL);
	n = net_shop();
	util_strlcpy(n.zone[FW_ZONE_GUEST].ifname, "eth0", IFNAMSIZ); /* = uplink */
	assert_int_equal(fw_render(&n, NULL, 0, AF_INET, f), -EINVAL);
	n = net_shop();
	n.zone[FW_ZONE_WORK].len4 = 33;
	assert_int_equal(fw_render(&n, NULL, 0, AF_INET, f), -EINVAL);
	n = net_shop();
	n.captive_port = 0;
	assert_int_equal(fw_render(&n, NULL, 0, AF_INET, f), -EINVAL);
	n = net_shop();
	n.lan4 = NULL;
	assert_int_equal(fw_render(&n, NULL, 0, AF_INET, f), -EINVAL);
	fclose(f);
}

/* ---- the module against a fake backend ---- */

struct fake {
	char log[8192];  /* "commit ipv4 mangle\n", "flush ipv6 nat\n", ... */
	char mangle4[4096]; /* the last IPv4 mangle table committed, rendered */
	int fail;        /* next call returns this */
};

static void logf_(struct fake *fk, const char *what, int family, const char *table)
{
	size_t len = strlen(fk->log);
	snprintf(fk->log + len, sizeof(fk->log) - len, "%s %s %s\n", what,
		 family == AF_INET ? "ipv4" : "ipv6", table);
}

static int fake_commit(void *ud, const struct fw_table *t)
{
	struct fake *fk = ud;
	if (fk->fail) {
		int r = fk->fail;
		fk->fail = 0;
		return r;
	}
	logf_(fk, "commit", t->family, t->name);
	if (t->family == AF_INET && strcmp(t->name, "mangle") == 0) {
		FILE *f = fmemopen(fk->mangle4, sizeof(fk->mangle4), "w");
		assert_int_equal(fw_table_print(t, f), 0);
		fclose(f);
	}
	return 0;
}

static int fake_flush(void *ud, int family, const char *table)
{
	struct fake *fk = ud;
	logf_(fk, "flush", family, table);
	return 0;
}

static const struct fw_ops fake_ops = { "fake", fake_commit, fake_flush };

static void test_sync_update_flush(void **state)
{
	struct fake fk = { 0 };
	struct fw *fw = NULL;
	struct fw_net n = net_shop();
	struct fw_dev d = { { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a }, FW_WORK };
	(void)state;

	assert_int_equal(fw_new(&fake_ops, &fk, &fw), 0);
	assert_int_equal(fw_update_device(fw, &d), -ENOENT); /* nothing synced yet */
	assert_string_equal(fk.log, "");

	assert_int_equal(fw_sync(fw, &n, devs3, ARRAY_SIZE(devs3)), 0);
	assert_string_equal(fk.log, "commit ipv4 mangle\ncommit ipv4 nat\ncommit ipv4 filter\n"
				    "commit ipv6 mangle\nflush ipv6 nat\ncommit ipv6 filter\n");
	assert_int_equal(fw_device_count(fw), 3);

	/* one decision: the mangle tables only, the new MAC in sorted place */
	fk.log[0] = '\0';
	assert_int_equal(fw_update_device(fw, &d), 0);
	assert_string_equal(fk.log, "commit ipv4 mangle\ncommit ipv6 mangle\n");
	assert_int_equal(fw_device_count(fw), 4);
	const char *a = strstr(fk.mangle4, "02:00:00:00:00:0a -j MARK --set-xmark 0x10000/");
	const char *b = strstr(fk.mangle4, "02:00:00:00:00:0b -j MARK --set-xmark 0x30000/");
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a < b);

	/* the same decision again: nothing to do */
	fk.log[0] = '\0';
	assert_int_equal(fw_update_device(fw, &d), 0);
	assert_string_equal(fk.log, "");

	/* a backend failure leaves the list as it was */
	d.v = FW_BLOCKED;
	fk.fail = -EPERM;
	assert_int_equal(fw_update_device(fw, &d), -EPERM);
	assert_int_equal(fw_device_count(fw), 4);
	struct fw_dev nd = { { 0x42, 0, 0, 0, 0, 1 }, FW_GUEST };
	fk.fail = -EPERM;
	assert_int_equal(fw_update_device(fw, &nd), -EPERM);
	assert_int_equal(fw_device_count(fw), 4);

	/* forget: back to onboarding, the rule is gone */
	d.v = FW_ONBOARDING;
	assert_int_equal(fw_update_device(fw, &d), 0);
	assert_int_equal(fw_device_count(fw), 3);
	assert_null(strstr(fk.mangle4, "02:00:00:00:00:0a"));
	d.v = (enum fw_verdict)9;
	assert_int_equal(fw_update_device(fw, &d), -EINVAL);

	fk.log[0] = '\0';
	assert_int_equal(fw_flush(fw), 0);
	assert_string_equal(fk.log, "flush ipv4 filter\nflush ipv4 nat\nflush ipv4 mangle\n"
				    "flush ipv6 filter\nflush ipv6 nat\nflush ipv6 mangle\n");
	d.v = FW_WORK;
	assert_int_equal(fw_update_device(fw, &d), -ENOENT);
	fw_free(fw);
	fw_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_shop),
		cmocka_unit_test(test_golden_onboarding_iface),
		cmocka_unit_test(test_golden_minimal),
		cmocka_unit_test(test_device_order),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_sync_update_flush),
	};
	return cmocka_run_group_tests_name("fw", tests, NULL, NULL);
}
