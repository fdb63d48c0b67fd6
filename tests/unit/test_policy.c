/* Policy: the access each registry state and class leads to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/policy.h"

static enum policy_access access_of(enum reg_state s, enum reg_class c)
{
	struct reg_device d = { .state = s, .cls = c };
	return policy_access(&d);
}

static void test_access(void **state)
{
	(void)state;
	assert_int_equal(access_of(REG_PENDING, REG_CLASS_NONE), POLICY_ONBOARDING);
	assert_int_equal(access_of(REG_APPROVED, REG_CLASS_BUSINESS), POLICY_WORK);
	assert_int_equal(access_of(REG_APPROVED, REG_CLASS_PERSONAL), POLICY_GUEST);
	assert_int_equal(access_of(REG_GUEST, REG_CLASS_NONE), POLICY_GUEST);
	assert_int_equal(access_of(REG_BLOCKED, REG_CLASS_BUSINESS), POLICY_BLOCKED);
	/* a blocked device stays blocked whatever class it had */
	assert_int_equal(access_of(REG_BLOCKED, REG_CLASS_PERSONAL), POLICY_BLOCKED);
	assert_string_equal(policy_access_name(POLICY_GUEST), "guest");
	assert_string_equal(policy_access_name(POLICY_ONBOARDING), "onboarding");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
