/* test_place - where each kind of device belongs, and the fix for every
 * wrong place (model/place.c is pure: a table of cases is the whole test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/place.h"

static void test_table(void **state)
{
	const struct place_net vl = { .work_vlan = 10, .onboarding_vlan = 30 };
	const struct place_net novl = { 0 };
	static const struct {
		enum policy_access a;
		enum cfg_zone z;
		unsigned vlan;
		int with_vlans;
		enum place_fix want;
	} cases[] = {
		/* approved business */
		{ POLICY_WORK, CFG_ZONE_WORK, 10, 1, PLACE_OK },
		{ POLICY_WORK, CFG_ZONE_WORK, 0, 1, PLACE_FIX_VLAN },
		{ POLICY_WORK, CFG_ZONE_WORK, 30, 1, PLACE_FIX_VLAN },
		{ POLICY_WORK, CFG_ZONE_WORK, 0, 0, PLACE_OK },
		{ POLICY_WORK, CFG_ZONE_GUEST, 0, 1, PLACE_STEER_WORK },
		/* staff phone, visitor */
		{ POLICY_GUEST, CFG_ZONE_WORK, 0, 1, PLACE_STEER_GUEST },
		{ POLICY_GUEST, CFG_ZONE_WORK, 10, 1, PLACE_STEER_GUEST },
		{ POLICY_GUEST, CFG_ZONE_GUEST, 0, 1, PLACE_OK },
		/* pending / held */
		{ POLICY_ONBOARDING, CFG_ZONE_WORK, 0, 1, PLACE_OK },
		{ POLICY_ONBOARDING, CFG_ZONE_WORK, 30, 1, PLACE_OK },
		{ POLICY_ONBOARDING, CFG_ZONE_WORK, 10, 1, PLACE_FIX_VLAN },
		{ POLICY_ONBOARDING, CFG_ZONE_GUEST, 0, 1, PLACE_OK },
		/* blocked: nowhere */
		{ POLICY_BLOCKED, CFG_ZONE_WORK, 0, 1, PLACE_DENY },
		{ POLICY_BLOCKED, CFG_ZONE_GUEST, 0, 0, PLACE_DENY },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum place_fix got = place_check(cases[i].a, cases[i].z, cases[i].vlan, cases[i].with_vlans ? &vl : &novl);
		if (got != cases[i].want)
			fail_msg("case %zu: %s on %s VLAN %u: got %s, want %s", i, policy_access_name(cases[i].a),
				 cfg_zone_name(cases[i].z), cases[i].vlan, place_fix_name(got), place_fix_name(cases[i].want));
	}
}

static void test_words(void **state)
{
	const struct place_net vl = { .work_vlan = 10 };
	char buf[160];

	(void)state;
	place_describe(PLACE_FIX_VLAN, POLICY_WORK, 0, &vl, buf, sizeof(buf));
	assert_string_equal(buf, "in VLAN 0 on a work BSS, belongs in the work VLAN 10");
	place_describe(PLACE_STEER_WORK, POLICY_WORK, 0, &vl, buf, sizeof(buf));
	assert_string_equal(buf, "an approved business device on the guest BSS, belongs on a work BSS");
	place_describe(PLACE_FIX_VLAN, POLICY_WORK, 0, &vl, buf, 8); /* truncated, terminated */
	assert_int_equal(strlen(buf), 7);
	assert_string_equal(place_fix_name(PLACE_STEER_GUEST), "steer_guest");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
