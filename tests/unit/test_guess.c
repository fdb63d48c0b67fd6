/* guess: the shipped fingerprint table (policies/fingerprints.conf, read
 * from the repository: the tests run from its root) gives the right hints
 * for recorded option 55 lists of Android, iOS, Windows and printers; the
 * clues combine into a suggestion with reasons; the admin's lines win; bad
 * lines are reported as FILE:LINE and skipped; the auto-rule parser
 * refuses bad files whole and matches first-wins. */
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

#include "model/guess.h"

#define SHIPPED "policies/fingerprints.conf"

/* Recorded option 55 lists (what the clients send; see the table's notes). */
#define FP_ANDROID "1,3,6,15,26,28,51,58,59,43"
#define FP_ANDROID11 "1,3,6,15,26,28,51,58,59,43,114"
#define FP_IOS "1,121,3,6,15,119,252"
#define FP_IOS16 "1,121,3,6,15,108,114,119,252"
#define FP_MACOS "1,121,3,6,15,119,252,95,44,46"
#define FP_WIN10 "1,3,6,15,31,33,43,44,46,47,119,121,249,252"
#define FP_HP "1,3,44,6,7,12,15,22,54,58,59,69,18,144"
#define FP_DHCLIENT "1,28,2,3,15,6,119,12,44,47,26,121,42"

static struct guess_tables *shipped(void)
{
	char *errs = NULL;
	size_t len = 0;
	FILE *ef = open_memstream(&errs, &len);
	struct guess_tables *t = NULL;

	assert_non_null(ef);
	assert_int_equal(guess_load(SHIPPED, NULL, ef, &t), 0);
	fclose(ef);
	/* the shipped file is clean */
	if (len)
		fprintf(stderr, "%s", errs);
	assert_int_equal(len, 0);
	free(errs);
	return t;
}

static struct reg_device dev(const char *mac, const char *opts, const char *vc)
{
	struct reg_device d = { 0 };
	snprintf(d.mac, sizeof(d.mac), "%s", mac);
	d.state = REG_PENDING;
	d.dhcp_options = (char *)opts;
	d.dhcp_vendor_class = (char *)vc;
	return d;
}

static bool has_reason(const struct guess *g, enum guess_reason_code c, const char *arg)
{
	for (unsigned i = 0; i < g->n_reasons; i++)
		if (g->reasons[i].code == c && (!arg || !strcmp(g->reasons[i].arg, arg)))
			return true;
	return false;
}

static void test_shipped_table(void **state)
{
	(void)state;
	struct guess_tables *t = shipped();
	assert_true(guess_tables_count(t) >= 25);
	guess_tables_free(t);
}

static void test_android(void **state)
{
	(void)state;
	struct guess_tables *t = shipped();
	struct guess g;
	struct reg_device d = dev("00:1a:11:00:00:01", FP_ANDROID, "android-dhcp-10");

	guess_device(t, &d, &g);
	assert_string_equal(g.os, "Android");
	assert_int_equal(g.type, REG_TYPE_PHONE);
	assert_string_equal(g.fingerprint, "Android 5-10");
	assert_true(has_reason(&g, GUESS_R_FINGERPRINT, "Android 5-10"));
	assert_false(g.private_mac);
	assert_int_equal(g.cls, REG_CLASS_NONE); /* a fixed address: no idea whose */
	assert_string_equal(g.summary, "an Android phone");
	/* Android 11+ (prefix form) with a private address */
	d = dev("9a:1a:11:00:00:01", FP_ANDROID11, "android-dhcp-13");
	guess_device(t, &d, &g);
	assert_string_equal(g.fingerprint, "Android 11+");
	assert_int_equal(g.cls, REG_CLASS_PERSONAL);
	assert_string_equal(g.summary, "an Android phone with a private address: probably a staff phone");
	assert_true(has_reason(&g, GUESS_R_PRIVATE_MAC, ""));
	/* an unknown list, but the vendor class says Android */
	d = dev("00:1a:11:00:00:01", "1,3,6", "android-dhcp-14");
	guess_device(t, &d, &g);
	assert_string_equal(g.os, "Android");
	assert_true(has_reason(&g, GUESS_R_VENDOR_CLASS, "android-dhcp-14"));
	guess_tables_free(t);
}

static void test_ios(void **state)
{
	(void)state;
	struct guess_tables *t = shipped();
	struct guess g;
	/* a private (locally administered) address: 0x02 bit of the first octet */
	struct reg_device d = dev("f2:11:22:33:44:55", FP_IOS, NULL);

	guess_device(t, &d, &g);
	assert_string_equal(g.os, "iOS");
	assert_int_equal(g.type, REG_TYPE_PHONE);
	assert_int_equal(g.cls, REG_CLASS_PERSONAL);
	assert_true(g.private_mac);
	assert_string_equal(g.summary, "an iPhone with a private address: probably a staff phone");
	assert_int_equal(g.reasons[0].code, GUESS_R_FINGERPRINT);
	assert_string_equal(g.reasons[0].arg, "iOS");
	assert_true(has_reason(&g, GUESS_R_PRIVATE_MAC, ""));
	/* iOS 16 list, host name iPad: a tablet */
	d = dev("f2:11:22:33:44:55", FP_IOS16, NULL);
	d.dhcp_hostname = "Annas-iPad";
	guess_device(t, &d, &g);
	assert_string_equal(g.fingerprint, "iOS 15+");
	assert_int_equal(g.type, REG_TYPE_TABLET);
	assert_true(has_reason(&g, GUESS_R_HOSTNAME, "Annas-iPad"));
	assert_string_equal(g.summary, "an iPad with a private address: probably a personal tablet");
	/* its user said "business" on the captive page: that outweighs the address */
	d = dev("f2:11:22:33:44:55", FP_IOS, NULL);
	d.claim_cls = REG_CLASS_BUSINESS;
	guess_device(t, &d, &g);
	assert_int_equal(g.cls, REG_CLASS_BUSINESS);
	assert_true(has_reason(&g, GUESS_R_CLAIM, "business"));
	assert_string_equal(g.summary, "an iPhone with a private address: its user says it is a business device");
	/* macOS is not iOS */
	d = dev("00:11:22:33:44:55", FP_MACOS, NULL);
	guess_device(t, &d, &g);
	assert_string_equal(g.os, "macOS");
	assert_int_equal(g.type, REG_TYPE_PC);
	guess_tables_free(t);
}

static void test_windows_linux(void **state)
{
	(void)state;
	struct guess_tables *t = shipped();
	struct guess g;
	struct reg_device d = dev("00:21:cc:00:00:01", FP_WIN10, "MSFT 5.0");

	guess_device(t, &d, &g);
	assert_string_equal(g.os, "Windows");
	assert_int_equal(g.type, REG_TYPE_PC);
	assert_string_equal(g.fingerprint, "Windows 10/11");
	assert_string_equal(g.summary, "a Windows PC");
	d = dev("00:21:cc:00:00:01", FP_DHCLIENT, NULL);
	guess_device(t, &d, &g);
	assert_string_equal(g.os, "Linux");
	assert_string_equal(g.fingerprint, "Linux (dhclient)");
	/* the same codes in another order: not the exact list */
	d = dev("00:21:cc:00:00:01", "1,3,6,15,31,33,43,44,46,47,119,121,252,249", NULL);
	guess_device(t, &d, &g);
	assert_string_equal(g.fingerprint, "");
	guess_tables_free(t);
}

static void test_printer(void **state)
{
	(void)state;
	struct guess_tables *t = shipped();
	struct guess g;
	struct reg_device d = dev("3c:2a:f4:00:00:01", FP_HP, "Hewlett-Packard JetDirect");

	d.vendor = "Hewlett Packard";
	guess_device(t, &d, &g);
	assert_int_equal(g.type, REG_TYPE_PRINTER);
	assert_string_equal(g.os, "printer");
	assert_int_equal(g.cls, REG_CLASS_BUSINESS);
	assert_string_equal(g.fingerprint, "HP JetDirect");
	assert_true(has_reason(&g, GUESS_R_VENDOR_CLASS, "Hewlett-Packard JetDirect"));
	assert_string_equal(g.summary, "a printer (Hewlett Packard): probably a business device");
	/* an Epson by vendor and factory host name, no known option list */
	d = dev("64:eb:8c:00:00:01", "1,3,6,15", NULL);
	d.vendor = "Seiko Epson Corporation";
	d.dhcp_hostname = "EPSON3C2A1B";
	guess_device(t, &d, &g);
	assert_int_equal(g.type, REG_TYPE_PRINTER);
	assert_string_equal(g.fingerprint, "Epson printer");
	assert_int_equal(g.cls, REG_CLASS_BUSINESS);
	/* without any table: the vendor alone still points at a printer */
	guess_device(NULL, &d, &g);
	assert_int_equal(g.type, REG_TYPE_PRINTER);
	assert_true(has_reason(&g, GUESS_R_VENDOR, "Seiko Epson Corporation"));
	const char *why = NULL;
	assert_int_equal(guess_type(&d, &why), REG_TYPE_PRINTER);
	assert_string_equal(why, "vendor");
	guess_tables_free(t);
}

static void test_nothing_known(void **state)
{
	(void)state;
	struct guess g;
	struct reg_device d = dev("00:11:22:33:44:55", NULL, NULL);
	const char *why = "x";

	guess_device(NULL, &d, &g);
	assert_int_equal(g.type, REG_TYPE_NONE);
	assert_int_equal(g.n_reasons, 0);
	assert_string_equal(g.summary, "");
	assert_int_equal(guess_type(&d, &why), REG_TYPE_NONE);
	assert_null(why);
	/* only a private address */
	d = dev("02:11:22:33:44:55", NULL, NULL);
	guess_device(NULL, &d, &g);
	assert_int_equal(g.type, REG_TYPE_PHONE);
	assert_string_equal(g.summary, "a phone or tablet with a private address: probably a staff phone");
	assert_string_equal(guess_reason_name(GUESS_R_PRIVATE_MAC), "private_mac");
}

/* Writes text to a temporary file; returns its path (static buffer per slot). */
static const char *tmpfile_with(int slot, const char *text)
{
	static char paths[4][64];
	snprintf(paths[slot], sizeof(paths[slot]), "/tmp/test_guess_%d_%d.conf", (int)getpid(), slot);
	FILE *f = fopen(paths[slot], "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return paths[slot];
}

static void test_local_wins_and_errors(void **state)
{
	(void)state;
	const char *ship = tmpfile_with(0,
		"# shipped\n"
		"\"iOS\" iOS phone - options=1,121,3,6,15,119,252\n"
		"\"Broken\" iOS phablet - options=1,3\n"        /* line 3: bad type */
		"\"Broken2\" iOS phone - options=1,3,300\n"     /* line 4: bad code */
		"\"Broken3\" iOS phone -\n"                      /* line 5: no key */
		"\"Broken4 iOS phone - options=1\n"              /* line 6: quote */
		"\"Broken5\" iOS phone - colour=red\n");         /* line 7: unknown key */
	const char *local = tmpfile_with(1,
		"# the admin's: the shop's till runs a locked-down iOS\n"
		"\"Shop till\" iOS pos business options=1,121,3,6,15,119,252 hostname=TILL*\n"
		"\"Shop scanner\" - other business option_set=252,119,15,6,3,121,1\n");
	char *errs = NULL;
	size_t len = 0;
	FILE *ef = open_memstream(&errs, &len);
	struct guess_tables *t = NULL;
	struct guess g;

	assert_int_equal(guess_load(ship, local, ef, &t), 0);
	fclose(ef);
	assert_int_equal(guess_tables_count(t), 3);
	char want[256];
	snprintf(want, sizeof(want), "%s:3: unknown device type 'phablet'", ship);
	assert_non_null(strstr(errs, want));
	snprintf(want, sizeof(want), "%s:4: options: option codes are numbers 1-254", ship);
	assert_non_null(strstr(errs, want));
	snprintf(want, sizeof(want), "%s:5: expected NAME OS TYPE CLASS", ship);
	assert_non_null(strstr(errs, want));
	snprintf(want, sizeof(want), "%s:6: unterminated quote", ship);
	assert_non_null(strstr(errs, want));
	snprintf(want, sizeof(want), "%s:7: unknown key 'colour'", ship);
	assert_non_null(strstr(errs, want));
	free(errs);

	/* TILL-1 with the iOS list: the admin's line wins over the shipped one */
	struct reg_device d = dev("00:11:22:33:44:55", "1,121,3,6,15,119,252", NULL);
	d.dhcp_hostname = "TILL-1";
	guess_device(t, &d, &g);
	assert_string_equal(g.fingerprint, "Shop till");
	assert_int_equal(g.type, REG_TYPE_POS);
	assert_int_equal(g.cls, REG_CLASS_BUSINESS);
	/* the admin's set form matches any order ... and wins over the exact shipped line */
	d.dhcp_hostname = "iphone";
	guess_device(t, &d, &g);
	assert_string_equal(g.fingerprint, "Shop scanner");
	/* without the local file: the shipped line */
	guess_tables_free(t);
	assert_int_equal(guess_load(ship, NULL, NULL, &t), 0);
	guess_device(t, &d, &g);
	assert_string_equal(g.fingerprint, "iOS");
	guess_tables_free(t);
	/* a missing shipped file is an error for the caller; a missing local one is not */
	assert_int_equal(guess_load("/nonexistent/fingerprints.conf", NULL, NULL, &t), -ENOENT);
	assert_int_equal(guess_load(ship, "/nonexistent/local.conf", NULL, &t), 0);
	guess_tables_free(t);
	unlink(ship);
	unlink(local);
}

static int rules_from(const char *text, char **errs, struct guess_rules **out)
{
	size_t len = 0;
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	FILE *ef = open_memstream(errs, &len);
	int r = guess_rules_read(f, "auto-rules", ef, out);
	fclose(f);
	fclose(ef);
	return r;
}

static void test_rules_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text, *err;
	} bad[] = {
		{ "approve business\n", "auto-rules:1: a rule needs at least one condition" },
		{ "approve type=printer\n", "auto-rules:1: approve needs a class" },
		{ "approve friends type=printer\n", "auto-rules:1: approve needs a class" },
		{ "allow business type=printer\n", "auto-rules:1: unknown action 'allow'" },
		{ "# fine\napprove business type=fax\n", "auto-rules:2: type: unknown device type 'fax'" },
		{ "approve business wired=maybe\n", "auto-rules:1: wired: 'maybe' is not yes or no" },
		{ "approve business vendor=\"Seiko Epson\n", "auto-rules:1: unterminated quote" },
		{ "approve business colour=red\n", "auto-rules:1: unknown key 'colour'" },
		{ "approve business mac=64:eb:zz\n", "auto-rules:1: mac: '64:eb:zz' is not a MAC prefix" },
		{ "approve business type=pc type=pos\n", "auto-rules:1: type given twice" },
		{ "approve business vendor=\n", "auto-rules:1: vendor: empty value" },
		{ "approve business printer\n", "auto-rules:1: 'printer' is not KEY=VALUE" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *errs = NULL;
		struct guess_rules *rs = (struct guess_rules *)0x1;
		assert_int_equal(rules_from(bad[i].text, &errs, &rs), -EINVAL);
		assert_ptr_equal(rs, (struct guess_rules *)0x1); /* untouched */
		if (!strstr(errs, bad[i].err))
			fail_msg("rule %zu: want \"%s\" in \"%s\"", i, bad[i].err, errs);
		assert_non_null(strstr(errs, "no automatic decisions from this file"));
		free(errs);
	}
	/* one bad line refuses the whole file, good lines included */
	char *errs = NULL;
	struct guess_rules *rs = NULL;
	assert_int_equal(rules_from("approve business type=printer\nask tpye=phone\n", &errs, &rs), -EINVAL);
	assert_null(rs);
	assert_non_null(strstr(errs, "auto-rules:2: unknown key 'tpye'"));
	free(errs);
}

static void test_rules_match(void **state)
{
	(void)state;
	char *errs = NULL;
	struct guess_rules *rs = NULL;
	struct guess_verdict v;
	struct guess g;
	const char *text =
		"# comments and blank lines are fine\n"
		"\n"
		"ask type=printer vendor=Brother      # the Brothers need a person\n"
		"approve business type=printer vendor=\"Seiko Epson\" wired=yes\n"
		"approve business mac=00:40:9d private=no\n"
		"approve personal hostname=Anna#1 # a # inside a value is kept\n";

	assert_int_equal(rules_from(text, &errs, &rs), 0);
	assert_int_equal(guess_rules_count(rs), 4);
	free(errs);

	struct reg_device d = dev("64:eb:8c:00:00:01", "1,3,6", NULL);
	d.vendor = "Seiko Epson Corporation";
	d.dhcp_hostname = "EPSON000001";
	guess_device(NULL, &d, &g);
	/* not behind a wired port: no rule */
	assert_int_equal(guess_rules_match(rs, &d, &g, &v), 0);
	d.port = "p1";
	assert_int_equal(guess_rules_match(rs, &d, &g, &v), 1);
	assert_true(v.approve);
	assert_int_equal(v.cls, REG_CLASS_BUSINESS);
	assert_string_equal(v.where, "auto-rules:4");
	assert_string_equal(v.text, "approve business type=printer vendor=\"Seiko Epson\" wired=yes");
	/* first match wins: a Brother printer hits the ask rule */
	d.vendor = "Brother Industries, Ltd.";
	guess_device(NULL, &d, &g);
	assert_int_equal(guess_rules_match(rs, &d, &g, &v), 1);
	assert_false(v.approve);
	assert_string_equal(v.where, "auto-rules:3");
	/* MAC prefix, case-insensitive */
	d = dev("00:40:9D:12:34:56", NULL, NULL);
	guess_device(NULL, &d, &g);
	assert_int_equal(guess_rules_match(rs, &d, &g, &v), 1);
	assert_string_equal(v.where, "auto-rules:5");
	assert_int_equal(guess_rules_match(NULL, &d, &g, &v), 0);
	d = dev("00:11:22:33:44:55", NULL, NULL);
	d.dhcp_hostname = "anna#1";
	guess_device(NULL, &d, &g);
	assert_int_equal(guess_rules_match(rs, &d, &g, &v), 1);
	assert_string_equal(v.where, "auto-rules:6");
	assert_string_equal(v.text, "approve personal hostname=Anna#1");
	guess_rules_free(rs);
	/* the shipped example is a valid file */
	rs = NULL;
	assert_int_equal(guess_rules_load("policies/auto-rules.example", stderr, &rs), 0);
	assert_int_equal(guess_rules_count(rs), 4);
	guess_rules_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped_table),
		cmocka_unit_test(test_android),
		cmocka_unit_test(test_ios),
		cmocka_unit_test(test_windows_linux),
		cmocka_unit_test(test_printer),
		cmocka_unit_test(test_nothing_known),
		cmocka_unit_test(test_local_wins_and_errors),
		cmocka_unit_test(test_rules_refused),
		cmocka_unit_test(test_rules_match),
	};
	return cmocka_run_group_tests_name("guess", tests, NULL, NULL);
}
