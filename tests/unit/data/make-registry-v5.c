/* make-registry-v5.c - how tests/unit/data/registry-v5.db was made: built
 * against the v5 registry (commit fd21c4f, the last one before schema v6)
 * and run once from the top of that tree:
 *   cc -std=c11 -D_GNU_SOURCE -Icontroller -Icontroller/core -o mk \
 *      tests/unit/data/make-registry-v5.c controller/model/reg.c \
 *      controller/core/{util,log,mac}.c -lsqlite3
 *   ./mk registry-v5.db
 * Not part of the build: it only documents the fixture. */
#include <stdio.h>
#include <stdlib.h>
#include "model/reg.h"

#define CK(x) do { int _r = (x); if (_r < 0) { fprintf(stderr, "%s: %d\n", #x, _r); exit(1); } } while (0)
#define HASH "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"

int main(int argc, char **argv)
{
	struct reg *r;
	const struct reg_actor it = { "it", "cli" };

	if (argc != 2)
		return 2;
	CK(reg_open(argv[1], &r));
	/* an approved till with a lease, fingerprint and reservation */
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = "00:22:72:00:00:0a", .bss = "wlan0",
			     .vlan = 10, .vendor = "Epson", .initial = REG_PENDING, .now = 1000 };
	CK(reg_observe(r, &o, NULL));
	struct reg_lease l = { .action = REG_LEASE_ADD, .mac = "00:22:72:00:00:0a", .ip = "10.77.0.20",
			       .hostname = "till-1", .dhcp_hostname = "TILL-1", .vendor_class = "MSFT 5.0",
			       .options = "1,3,6,15", .iface = "br-work", .seen = true,
			       .initial = REG_PENDING, .now = 2000 };
	CK(reg_lease(r, &l, NULL));
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Till 1", .owner = "Anna",
				  .type = REG_TYPE_POS };
	CK(reg_approve(r, "00:22:72:00:00:0a", &a, &it, 3000));
	CK(reg_reserve(r, "00:22:72:00:00:0a", "10.77.0.20", &it, 3500));
	/* a pending phone that claimed to be personal on the captive page */
	l = (struct reg_lease){ .action = REG_LEASE_ADD, .mac = "00:22:72:00:00:0b", .ip = "10.77.9.30",
				.hostname = "android-5f2a", .iface = "br-onb", .seen = true,
				.initial = REG_PENDING, .now = 4000 };
	CK(reg_lease(r, &l, NULL));
	struct reg_claim c = { .name = "Ben's phone", .owner = "Ben", .cls = REG_CLASS_PERSONAL };
	CK(reg_claim(r, "00:22:72:00:00:0b", &c, 4500));
	/* a printer on a wired port, forgotten later */
	o = (struct reg_obs){ .kind = REG_OBS_CONNECTED, .mac = "00:22:72:00:00:0c", .port = "lan2",
			      .initial = REG_PENDING, .now = 5000 };
	CK(reg_observe(r, &o, NULL));
	CK(reg_forget(r, "00:22:72:00:00:0c", &it, 5500));
	/* a portal admin and one open alert */
	CK(reg_user_add(r, "it", REG_ROLE_ADMIN, HASH, &it, 6000));
	CK(reg_alert_add(r, "repair_loop", "00:22:72:00:00:0b", "Ben's phone keeps landing in the wrong place", 7000));
	reg_close(r);
	return 0;
}
