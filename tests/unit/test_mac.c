/* test_mac.c - MAC parsing: every usual spelling in, one canonical form out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "mac.h"

static void accepts_usual_spellings(void **state)
{
	static const char *const in[] = {
		"00:1a:2b:3c:4d:5e", /* colons */
		"00-1a-2b-3c-4d-5e", /* dashes (Windows) */
		"001a.2b3c.4d5e",    /* dots (Cisco) */
		"001a2b3c4d5e",      /* bare */
		"00:1A:2B:3C:4D:5E", /* upper case */
		"00-1A-2b-3C-4d-5E", /* mixed case */
		"001A.2B3C.4D5E",
		"001A2B3C4D5E",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		char out[MAC_STR_LEN] = "";
		struct mac m;

		assert_int_equal(mac_canon(in[i], out), 0);
		assert_string_equal(out, "00:1a:2b:3c:4d:5e");
		assert_int_equal(mac_parse(in[i], &m), 0);
		assert_memory_equal(m.b, ((uint8_t[]){ 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e }), 6);
	}
}

static void rejects_everything_else(void **state)
{
	static const char *const bad[] = {
		"",
		"zz:1a:2b:3c:4d:5e",   /* not hex */
		"00:1a:2b:3c:4d:5g",
		"00:1a:2b:3c:4d",      /* too short */
		"00:1a:2b:3c:4d:5",
		"00:1a:2b:3c:4d:5e:6f", /* too long */
		"00:1a:2b:3c:4d:5e0",
		"00:1a:2b-3c:4d:5e",   /* mixed separators */
		"00-1a-2b-3c-4d:5e",
		"001a.2b3c:4d5e",
		"00:1a:2b:3c:4d:5e ",  /* trailing garbage */
		"00:1a:2b:3c:4d:5e\n",
		" 00:1a:2b:3c:4d:5e",  /* leading garbage */
		"001a2b3c4d5",          /* bare, wrong length */
		"001a2b3c4d5e0",
		"001a2b3c4d5x",
		"0:1a:2b:3c:4d:5e:",    /* separators in the wrong places */
		"001:a2:b3c:4d:5e:f",
		"00::1a2b:3c:4d:5e",
		"001a2.b3c.4d5e",
		"+0:1a:2b:3c:4d:5e",    /* sign accepted by strtol-based parsers */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[MAC_STR_LEN] = "untouched";
		struct mac m;

		assert_int_equal(mac_parse(bad[i], &m), -EINVAL);
		assert_int_equal(mac_canon(bad[i], out), -EINVAL);
		assert_string_equal(out, "untouched");
	}
	assert_int_equal(mac_parse(NULL, &(struct mac){ { 0 } }), -EINVAL);
}

static void formats_lower_case_with_colons(void **state)
{
	struct mac m = { { 0xF4, 0xBD, 0x9E, 0x00, 0xAB, 0xFF } };
	char out[MAC_STR_LEN];

	(void)state;
	mac_format(&m, out);
	assert_string_equal(out, "f4:bd:9e:00:ab:ff");
}

static void local_and_multicast_bits(void **state)
{
	struct mac m;

	(void)state;
	/* A vendor address (Cisco): neither bit. */
	assert_int_equal(mac_parse("f4:bd:9e:12:34:56", &m), 0);
	assert_false(mac_is_local(&m));
	assert_false(mac_is_multicast(&m));
	/* Randomised "private" address of a phone: locally administered. */
	assert_int_equal(mac_parse("da:a1:19:12:34:56", &m), 0);
	assert_true(mac_is_local(&m));
	assert_false(mac_is_multicast(&m));
	assert_int_equal(mac_parse("02:00:00:00:00:01", &m), 0);
	assert_true(mac_is_local(&m));
	/* Multicast and broadcast. */
	assert_int_equal(mac_parse("01:00:5e:00:00:fb", &m), 0);
	assert_true(mac_is_multicast(&m));
	assert_false(mac_is_local(&m));
	assert_int_equal(mac_parse("ff:ff:ff:ff:ff:ff", &m), 0);
	assert_true(mac_is_multicast(&m));
	assert_true(mac_is_local(&m));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_usual_spellings),
		cmocka_unit_test(rejects_everything_else),
		cmocka_unit_test(formats_lower_case_with_colons),
		cmocka_unit_test(local_and_multicast_bits),
	};
	return cmocka_run_group_tests_name("mac", tests, NULL, NULL);
}
