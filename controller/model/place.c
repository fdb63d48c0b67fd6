#include "model/place.h"

#include <stdio.h>

enum place_fix place_check(enum policy_access a, enum cfg_zone bss_zone, unsigned sta_vlan,
			   const struct place_net *n)
{
	if (a == POLICY_BLOCKED)
		return PLACE_DENY;
	if (bss_zone == CFG_ZONE_GUEST)
		return a == POLICY_WORK ? PLACE_STEER_WORK : PLACE_OK;
	/* a work BSS */
	switch (a) {
	case POLICY_GUEST:
		return PLACE_STEER_GUEST;
	case POLICY_WORK:
		return sta_vlan == n->work_vlan ? PLACE_OK : PLACE_FIX_VLAN;
	default: /* onboarding: hostapd's default bridge, or the onboarding VLAN */
		return sta_vlan == 0 || sta_vlan == n->onboarding_vlan ? PLACE_OK : PLACE_FIX_VLAN;
	}
}

const char *place_fix_name(enum place_fix f)
{
	static const char *const names[PLACE_N_FIX] = { "ok", "vlan", "steer_guest", "steer_work", "deny" };

	return (unsigned)f < PLACE_N_FIX ? names[f] : "ok";
}

void place_describe(enum place_fix f, enum policy_access a, unsigned sta_vlan,
		    const struct place_net *n, char *buf, size_t len)
{
	switch (f) {
	case PLACE_FIX_VLAN:
		if (a == POLICY_WORK)
			snprintf(buf, len, "in VLAN %u on a work BSS, belongs in the work VLAN %u", sta_vlan,
				 n->work_vlan);
		else
			snprintf(buf, len, "in VLAN %u on a work BSS without approval, belongs in onboarding",
				 sta_vlan);
		break;
	case PLACE_STEER_GUEST:
		snprintf(buf, len, "a %s device on a work BSS, belongs on the guest BSS",
			 a == POLICY_GUEST ? "personal or visitor's" : "guest");
		break;
	case PLACE_STEER_WORK:
		snprintf(buf, len, "an approved business device on the guest BSS, belongs on a work BSS");
		break;
	case PLACE_DENY:
		snprintf(buf, len, "blocked, yet associated");
		break;
	default:
		snprintf(buf, len, "where it belongs");
		break;
	}
}
