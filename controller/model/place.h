/* place.h - where a device belongs on the access point, and what to do when
 * hostapd shows it somewhere else. Pure: no I/O, no clock.
 *
 * A device's place follows from its access (policy.h):
 *   work        a work BSS, in the work VLAN
 *   guest       the guest BSS only (staff phones, visitors)
 *   onboarding  a work BSS without a VLAN (hostapd's default bridge is the
 *               onboarding bridge), or in the onboarding VLAN; the guest
 *               BSS is not taken away from it
 *   blocked     no BSS at all
 */
#ifndef APGATE_PLACE_H
#define APGATE_PLACE_H

#include "cfg.h"
#include "model/policy.h"

enum place_fix {
	PLACE_OK = 0,
	PLACE_FIX_VLAN,    /* right BSS, wrong VLAN: correct the accept list,
			    * then deauthenticate (it re-associates into the right one) */
	PLACE_STEER_GUEST, /* on a work BSS, belongs on the guest BSS */
	PLACE_STEER_WORK,  /* on the guest BSS, belongs on a work BSS */
	PLACE_DENY,        /* blocked yet associated: deny and deauthenticate */
};
#define PLACE_N_FIX 5

struct place_net {
	unsigned work_vlan;        /* [zone work] vlan, 0 = none */
	unsigned onboarding_vlan;  /* [zone onboarding] vlan, 0 = none */
};

/* What to do about a station with access a, associated to a BSS of zone
 * bss_zone with VLAN sta_vlan (0 = none, as hostapd's STA reply omits it). */
enum place_fix place_check(enum policy_access a, enum cfg_zone bss_zone, unsigned sta_vlan,
			   const struct place_net *n);
/* "ok", "vlan", "steer_guest", "steer_work", "deny" */
const char *place_fix_name(enum place_fix f);
/* The same in words for the audit trail and the log, e.g. "in VLAN 0 on a
 * work BSS, belongs in VLAN 10". buf is always terminated. */
void place_describe(enum place_fix f, enum policy_access a, unsigned sta_vlan,
		    const struct place_net *n, char *buf, size_t len);

#endif
