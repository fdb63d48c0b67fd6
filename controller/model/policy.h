/* policy.h - pure decisions: what access a device gets, from its registry
 * record alone. No I/O, no clock: the same record always gives the same
 * answer, so every enforcer (firewall, dnsmasq hosts, later hostapd ACLs)
 * can rebuild its whole state from the registry at start-up.
 */
#ifndef APGATE_POLICY_H
#define APGATE_POLICY_H

#include "model/reg.h"

enum policy_access {
	POLICY_ONBOARDING = 0, /* waiting: DHCP, DNS and the captive portal only */
	POLICY_WORK,           /* approved business device: LAN and internet */
	POLICY_GUEST,          /* staff phone or visitor: internet only, isolated */
	POLICY_BLOCKED,        /* refused: nothing, everywhere */
};

/* The access the device is entitled to. */
enum policy_access policy_access(const struct reg_device *d);
/* "onboarding", "work", "guest", "blocked" */
const char *policy_access_name(enum policy_access a);

#endif
