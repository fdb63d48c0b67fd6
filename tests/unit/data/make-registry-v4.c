/* make-registry-v4.c - how tests/unit/data/registry-v4.db was made: built against
 * the v4 registry (commit 736bade, not this tree) and run once:
 *   git worktree add /tmp/apg-v4 736bade && cd /tmp/apg-v4
 *   cc -std=c11 -D_GNU_SOURCE -Icontroller -Icontroller/core -o mk \
 *      /path/to/make-registry-v4.c controller/model/reg.c \
 *      controller/core/{util,log,mac}.c -lsqlite3
 *   ./mk registry-v4.db
 * Not part of the build: it only documents the fixture. */
#include <stdio.h>
#include <stdlib.h>
#include "model/reg.h"

#define CK(x) do { int _r = (x); if (_r < 0) { fprintf(stderr, "%s: %d\n", #x, _r); exit(1); } } while (0)

int main(int argc, char **argv)
{
	struct reg *r;
	const struct reg_actor it = { "it", "cli" };
	CK(reg_open(argv[1], &r));
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = "00:22:72:00:00:0a", .bss = "wlan0",
			     .vlan = 10, .vendor = "Epson", .initial = REG_PENDING, .now = 1000 };
	CK(reg_observe(r, &o, NULL));
	struct reg_lease l = { .action = REG_LEASE_ADD, .mac = "00:22:72:00:00:0a", .ip = "192.168.50.20",
			       .hostname = "till-1", .dhcp_hostname = "till-1", .vendor_class = "MSFT 5.0",
			       .options = "1,3,6,15", .iface = "br-work", .seen = true,
			       .initial = REG_PENDING, .now = 2000 };
	CK(reg_lease(r, &l, NULL));
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Till 1", .owner = "Anna",
				  .type = REG_TYPE_POS };
	CK(reg_approve(r, "00:22:72:00:00:0a", &a, &it, 3000));
	CK(reg_set_key(r, "00:22:72:00:00:0a", "till1", "Shop",
		       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", &it, 3500));
	o = (struct reg_obs){ .kind = REG_OBS_CONNECTED, .mac = "00:22:72:00:00:0b", .bss = "wlan1",
			      .port = NULL, .initial = REG_GUEST, .now = 4000 };
	CK(reg_observe(r, &o, NULL));
	CK(reg_hold(r, "00:22:72:00:00:0b", "personal device on the work SSID", 4500));
	CK(reg_block(r, "00:22:72:00:00:0c", &it, 5000));
	CK(reg_reserve(r, "00:22:72:00:00:0a", "192.168.50.20", &it, 6000));
	reg_close(r);
	return 0;
}
