/* hostapd configuration generator: golden files (exact), SSID escaping,
 * and the generator's own checks with file, line and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "gen.h"

#define GOLD "tests/hconf"
#define DIR_IN_CONF "/etc/apgate/hostapd"

static char dir[] = "/tmp/apgate-hconf-XXXXXX";

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int ch;

	if (!f)
		fail_msg("cannot read %s (run from the source tree)", path);
	m = open_memstream(&buf, &len);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(m);
	fclose(f);
	return buf;
}

static void expect_same(const char *golden_path, const char *got)
{
	char *want = slurp(golden_path);

	if (strcmp(want, got) != 0) {
		print_error("%s differs; generated:\n%s", golden_path, got);
		fail();
	}
	free(want);
}

static void golden(const char *name)
{
	char path[256];
	struct cfg *c = NULL;
	struct hconf_ap ap;
	struct hconf_files f;

	snprintf(path, sizeof(path), GOLD "/%s.apgate.conf", name);
	assert_int_equal(cfg_load(path, stderr, &c), 0);
	assert_int_equal(hconf_prepare(c, &ap, stderr), 0);
	assert_int_equal(hconf_render(c, &ap, DIR_IN_CONF, &f, stderr), 0);
	snprintf(path, sizeof(path), GOLD "/%s.hostapd.conf", name);
	expect_same(path, f.conf);
	snprintf(path, sizeof(path), GOLD "/%s.hostapd.vlan", name);
	expect_same(path, f.vlan);
	/* the lists hostapd.conf names in data_dir, the ones the tool creates */
	struct hconf_list l[HCONF_MAX_LISTS];
	unsigned n = hconf_lists(&ap, l);
	char *lists = NULL;
	size_t len;
	FILE *m = open_memstream(&lists, &len);
	for (unsigned i = 0; i < n; i++) {
		fprintf(m, "%s/%s.%s\n", c->data_dir, l[i].ifname, l[i].ext);
		char key[64];
		snprintf(key, sizeof(key), "=%s/%s.%s\n", c->data_dir, l[i].ifname, l[i].ext);
		assert_non_null(strstr(f.conf, key)); /* named in hostapd.conf */
	}
	fclose(m);
	snprintf(path, sizeof(path), GOLD "/%s.lists", name);
	expect_same(path, lists);
	free(lists);
	hconf_files_free(&f);
	cfg_free(c);
}

static void test_golden_wpa2(void **state) { (void)state; golden("wpa2"); }
static void test_golden_wpa3_transition(void **state) { (void)state; golden("wpa3"); }
static void test_golden_utf8_quotes(void **state) { (void)state; golden("utf8"); }
static void test_golden_ppsk(void **state) { (void)state; golden("ppsk"); }

static char *ssid_line(const char *ssid)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	hconf_ssid_line(f, ssid);
	fclose(f);
	return buf;
}

static void test_ssid_escaping(void **state)
{
	char *s;

	(void)state;
	s = ssid_line("Plain \"quoted\" \\ ok");
	assert_string_equal(s, "ssid=Plain \"quoted\" \\ ok\n"); /* hostapd takes ssid= verbatim */
	free(s);
	s = ssid_line("a\"b\\c\tD\xc3\xa9");
	assert_string_equal(s, "ssid2=P\"a\\\"b\\\\c\\x09D\\xc3\\xa9\"\n");
	free(s);
}

/* Loads text as apgate.conf; returns hconf_prepare + hconf_render's rc, errors in *errs. */
static int gen(const char *text, char **errs, char *path, size_t path_size, struct hconf_files *f)
{
	struct cfg *c = NULL;
	struct hconf_ap ap;
	size_t len;
	FILE *ef = open_memstream(errs, &len);
	FILE *out;
	int r;

	snprintf(path, path_size, "%s/apgate.conf", dir);
	out = fopen(path, "w");
	assert_non_null(out);
	fputs(text, out);
	fclose(out);
	r = cfg_load(path, ef, &c);
	if (r == 0) {
		r = hconf_prepare(c, &ap, ef);
		if (r == 0)
			r = hconf_render(c, &ap, DIR_IN_CONF, f, ef);
		cfg_free(c);
	}
	fclose(ef);
	return r;
}

#define HEAD "[apgated]\nregistry = /var/lib/apgate/r.db\n" /* lines 1-2 */
#define WIFI "[wifi]\ncountry_code = DE\nhw_mode = g\nchannel = 1\n" /* 4 lines */

static void expect_err(const char *errs, const char *path, const char *tail)
{
	char want[512];

	snprintf(want, sizeof(want), "%s:%s", path, tail);
	if (!strstr(errs, want)) {
		print_error("expected '%s' in:\n%s", want, errs);
		fail();
	}
}

static void test_generator_checks(void **state)
{
	char *errs = NULL, path[256];
	struct hconf_files f;

	(void)state;
	/* no [wifi], no ssid, no passphrase: apgated would take this file */
	assert_int_equal(gen(HEAD "[bss wlan0]\nzone = work\n", &errs, path, sizeof(path), &f), -EINVAL);
	expect_err(errs, path, "4: wifi: [wifi] is missing");
	expect_err(errs, path, "3: ssid: required in [bss wlan0] by apgate-hostapd-conf");
	expect_err(errs, path, "3: passphrase: [bss wlan0] needs passphrase or passphrase_file");
	free(errs);

	/* two work BSS */
	assert_int_equal(gen(HEAD WIFI "[bss a]\nzone = work\nssid = A\npassphrase = 12345678\n"
				       "[bss b]\nzone = work\nssid = B\npassphrase = 87654321\n",
			     &errs, path, sizeof(path), &f), -EINVAL);
	expect_err(errs, path, "11: zone: a second work BSS ([bss a] is one)");
	free(errs);

	/* the guest's passphrase file holds the work passphrase */
	char pf[256];
	snprintf(pf, sizeof(pf), "%s/guest.psk", dir);
	FILE *p = fopen(pf, "w");
	fputs("same-secret\n", p);
	fclose(p);
	char text[1024];
	snprintf(text, sizeof(text), HEAD WIFI "[bss a]\nzone = work\nssid = A\npassphrase = same-secret\n"
					      "[bss b]\nzone = guest\nssid = B\npassphrase_file = %s\n", pf);
	assert_int_equal(gen(text, &errs, path, sizeof(path), &f), -EINVAL);
	expect_err(errs, path, "14: passphrase_file: the guest BSS needs its own passphrase, not the one of [bss a]");
	free(errs);

	/* a passphrase file with a short first line, and one missing */
	p = fopen(pf, "w");
	fputs("short\r\nsecond line is long enough\n", p);
	fclose(p);
	snprintf(text, sizeof(text), HEAD WIFI "[bss a]\nzone = work\nssid = A\npassphrase_file = %s/none.psk\n"
					      "[bss b]\nzone = guest\nssid = B\npassphrase_file = %s\n", dir, pf);
	assert_int_equal(gen(text, &errs, path, sizeof(path), &f), -EINVAL);
	expect_err(errs, path, "10: passphrase_file: ");
	assert_non_null(strstr(errs, "none.psk: cannot read: No such file or directory"));
	expect_err(errs, path, "14: passphrase_file: ");
	assert_non_null(strstr(errs, "guest.psk: its first line is not a WPA passphrase of 8 to 63 printable ASCII characters (it has 5)"));
	free(errs);

	/* a good passphrase file (CRLF) is used */
	p = fopen(pf, "w");
	fputs("from-the-file\r\n", p);
	fclose(p);
	snprintf(text, sizeof(text), HEAD WIFI "[bss b]\nzone = guest\nssid = B\npassphrase_file = %s\n", pf);
	assert_int_equal(gen(text, &errs, path, sizeof(path), &f), 0);
	assert_non_null(strstr(f.conf, "\nwpa_passphrase=from-the-file\n"));
	assert_non_null(strstr(f.conf, "\ninterface=b\n"));
	assert_null(strstr(f.conf, "\nbss="));
	hconf_files_free(&f);
	free(errs);

	/* wlan0_longer.4000 does not fit in an interface name */
	assert_int_equal(gen(HEAD WIFI "[bss wlan0_longer]\nzone = work\nssid = A\npassphrase = 12345678\n"
				       "[zone work]\ninterface = br0\naddress = 10.0.0.1/24\nvlan = 4000\n"
				       "[zone guest]\ninterface = br1\naddress = 10.0.1.1/24\n[network]\nuplink = eth0\n",
			     &errs, path, sizeof(path), &f), -EINVAL);
	expect_err(errs, path, "7: vlan: wlan0_longer.4000 is too long for an interface name (15 characters)");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_wpa2),
		cmocka_unit_test(test_golden_wpa3_transition),
		cmocka_unit_test(test_golden_utf8_quotes),
		cmocka_unit_test(test_golden_ppsk),
		cmocka_unit_test(test_ssid_escaping),
		cmocka_unit_test(test_generator_checks),
	};
	return cmocka_run_group_tests_name("hconf", tests, setup, teardown);
}
