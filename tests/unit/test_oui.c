/* test_oui.c - vendor names from the IEEE registry files. */
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

#include "model/oui.h"

#define IEEE_DIR "/usr/share/ieee-data"

static const char *vendor(const struct oui *o, const char *mac)
{
	struct mac m;

	assert_int_equal(mac_parse(mac, &m), 0);
	return oui_lookup(o, &m);
}

/* Writes text to a new temporary file; returns its path (free() it). */
static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/test_oui.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void real_registry(void **state)
{
	struct oui *o = NULL;

	(void)state;
	if (access(IEEE_DIR "/oui.txt", R_OK) != 0)
		skip();
	assert_int_equal(oui_load(IEEE_DIR "/oui.txt", &o), 0);
	assert_true(oui_count(o) > 30000);
	assert_string_equal(vendor(o, "00:22:72:12:34:56"), "American Micro-Fuel Device Corp.");
	assert_string_equal(vendor(o, "F4:BD:9E:01:02:03"), "Cisco Systems, Inc");
	assert_string_equal(vendor(o, "f4-bd-9e-ff-ff-ff"), "Cisco Systems, Inc");
	/* Listed twice in the file: the first listing wins. */
	assert_string_equal(vendor(o, "08:00:30:00:00:01"), "NETWORK RESEARCH CORPORATION");
	oui_free(o);
}

static void local_and_multicast_have_no_vendor(void **state)
{
	struct oui *o = NULL;

	(void)state;
	if (access(IEEE_DIR "/oui.txt", R_OK) != 0)
		skip();
	assert_int_equal(oui_load(IEEE_DIR "/oui.txt", &o), 0);
	/* 02-C0-8C is listed (3COM, an old assignment with the local bit set),
	 * but a phone's randomised address may start with anything: no name. */
	assert_null(vendor(o, "02:c0:8c:11:22:33"));
	/* Cisco's prefix with the local bit set: a random address. */
	assert_null(vendor(o, "f6:bd:9e:01:02:03"));
	/* 11-00-AA is listed ("Private") but has the multicast bit. */
	assert_null(vendor(o, "11:00:aa:00:00:01"));
	assert_null(vendor(o, "ff:ff:ff:ff:ff:ff"));
	oui_free(o);
}

static void longest_prefix_with_mam_and_oui36(void **state)
{
	const char *const paths[] = {
		IEEE_DIR "/oui.txt", IEEE_DIR "/mam.txt", IEEE_DIR "/oui36.txt",
	};
	struct oui *o = NULL, *l = NULL;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		if (access(paths[i], R_OK) != 0)
			skip();
	assert_int_equal(oui_load_files(paths, 3, &o), 0);
	assert_int_equal(oui_load(paths[0], &l), 0);
	assert_true(oui_count(o) > oui_count(l) + 8000);
	/* 70-B3-D5 is the IEEE's own block; MA-S F2F000-F2FFFF inside it. */
	assert_string_equal(vendor(l, "70:b3:d5:f2:f0:01"), "IEEE Registration Authority");
	assert_string_equal(vendor(o, "70:b3:d5:f2:f0:01"), "TELEPLATFORMS");
	/* MA-M 20-85-93 B00000-BFFFFF. */
	assert_string_equal(vendor(o, "20:85:93:b1:23:45"), "IOG Products LLC");
	/* MA-L entries are unchanged. */
	assert_string_equal(vendor(o, "00:22:72:12:34:56"), "American Micro-Fuel Device Corp.");
	oui_free(o);
	oui_free(l);
}

static void malformed_lines_are_skipped(void **state)
{
	char *path = write_tmp(
		"OUI/MA-L                        Organization\r\n"
		"\r\n"
		"00-22-72   (hex)\t\tAmerican Micro-Fuel Device Corp.\r\n"
		"002272     (base 16)\t\tAmerican Micro-Fuel Device Corp.\r\n"
		"\t\t\t\t2181 Buchanan Loop\r\n"
		"\r\n"
		"ZZ-22-73   (hex)\t\tNot Hex Inc.\n"
		"00-22-7   (hex)\t\tShort Prefix Inc.\n"
		"00:22:75   (hex)\t\tWrong Separator Inc.\n"
		"00-22-76   (hex)\t\t   \n"              /* no name */
		"00-22-77(hex)\t\tNo Blank Inc.\n"
		"00-22-78   (hax)\t\tWrong Tag Inc.\n"
		"garbage line with (hex) in it\n"
		"\n"
		"F4-BD-9E   (hex)\t\tCisco Systems, Inc\n"
		"F4BD9E     (base 16)\t\tCisco Systems, Inc\n"
		"AC-DE-48   (hex)\t\tCisco Systems, Inc\n" /* no base-16 line */
		"AC-DE-48   (hex)\t\tSecond Listing Ltd\n"
		"00-00-01   (hex)\t\tUTF-8 \xe6\xa0\xaa\xe5\xbc\x8f\xe4\xbc\x9a\xe7\xa4\xbe  \t\n"
		"70-B3-D5   (hex)\t\tOdd Range Ltd\n"
		"F2F000-F2FFFE     (base 16)\t\tOdd Range Ltd\n" /* not a block */
		"00-00-02   (hex)\t\tLast Line Without Newline");
	struct oui *o = NULL;

	(void)state;
	assert_int_equal(oui_load(path, &o), 0);
	assert_string_equal(vendor(o, "00:22:72:00:00:01"), "American Micro-Fuel Device Corp.");
	assert_string_equal(vendor(o, "f4:bd:9e:00:00:01"), "Cisco Systems, Inc");
	assert_string_equal(vendor(o, "ac:de:48:00:00:01"), "Cisco Systems, Inc");
	assert_string_equal(vendor(o, "00:00:01:00:00:01"),
			    "UTF-8 \xe6\xa0\xaa\xe5\xbc\x8f\xe4\xbc\x9a\xe7\xa4\xbe");
	assert_string_equal(vendor(o, "00:00:02:00:00:01"), "Last Line Without Newline");
	assert_null(vendor(o, "00:22:73:00:00:01"));
	assert_null(vendor(o, "00:22:75:00:00:01"));
	assert_null(vendor(o, "00:22:76:00:00:01"));
	assert_null(vendor(o, "00:22:77:00:00:01"));
	assert_null(vendor(o, "00:22:78:00:00:01"));
	assert_null(vendor(o, "70:b3:d5:f2:f0:01"));
	assert_int_equal(oui_count(o), 5);
	oui_free(o);
	unlink(path);
	free(path);
}

static void missing_file_is_enoent(void **state)
{
	struct oui *o = (struct oui *)0x1;
	const char *const paths[] = { "/nonexistent/oui.txt", "/nonexistent/mam.txt" };

	(void)state;
	assert_int_equal(oui_load("/nonexistent/oui.txt", &o), -ENOENT);
	assert_int_equal(oui_load_files(paths, 2, &o), -ENOENT);
	assert_ptr_equal(o, (struct oui *)0x1); /* untouched */
	/* The daemon runs on without vendors: lookups on NULL are fine. */
	assert_null(oui_lookup(NULL, &(struct mac){ { 0, 0x22, 0x72, 0, 0, 1 } }));
	assert_int_equal(oui_count(NULL), 0);
	oui_free(NULL);
}

static void missing_extra_files_are_skipped(void **state)
{
	char *path = write_tmp("00-22-72   (hex)\t\tAmerican Micro-Fuel Device Corp.\n");
	const char *const paths[] = { "/nonexistent/mam.txt", path, "/nonexistent/oui36.txt" };
	struct oui *o = NULL;

	(void)state;
	assert_int_equal(oui_load_files(paths, 3, &o), 0);
	assert_int_equal(oui_count(o), 1);
	assert_string_equal(vendor(o, "00:22:72:00:00:01"), "American Micro-Fuel Device Corp.");
	oui_free(o);
	unlink(path);
	free(path);
}

static void empty_file_loads_empty(void **state)
{
	char *path = write_tmp("");
	struct oui *o = NULL;

	(void)state;
	assert_int_equal(oui_load(path, &o), 0);
	assert_int_equal(oui_count(o), 0);
	assert_null(vendor(o, "00:22:72:00:00:01"));
	oui_free(o);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_registry),
		cmocka_unit_test(local_and_multicast_have_no_vendor),
		cmocka_unit_test(longest_prefix_with_mam_and_oui36),
		cmocka_unit_test(malformed_lines_are_skipped),
		cmocka_unit_test(missing_file_is_enoent),
		cmocka_unit_test(missing_extra_files_are_skipped),
		cmocka_unit_test(empty_file_loads_empty),
	};
	return cmocka_run_group_tests_name("oui", tests, NULL, NULL);
}
