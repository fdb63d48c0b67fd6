#include "model/policy.h"

enum policy_access policy_access(const struct reg_device *d)
{
	/* repair gave up on it: the safest place that still reaches the
	 * captive page, until a person decides */
	if (d->held_at && d->state != REG_BLOCKED)
		return POLICY_ONBOARDING;
	switch (d->state) {
	case REG_APPROVED:
		/* personal devices (staff phones) are approved for the guest
		 * network only; a class-less approval cannot be stored */
		return d->cls == REG_CLASS_BUSINESS ? POLICY_WORK : POLICY_GUEST;
	case REG_GUEST:
		return POLICY_GUEST;
	case REG_BLOCKED:
		return POLICY_BLOCKED;
	case REG_PENDING:
	default:
		return POLICY_ONBOARDING;
	}
}

const char *policy_access_name(enum policy_access a)
{
	static const char *const names[] = { "onboarding", "work", "guest", "blocked" };

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "onboarding";
}
