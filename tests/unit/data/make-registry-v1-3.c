/* make-registry-v1-3.c - how tests/unit/data/registry-v1.db, registry-v2.db
 * and registry-v3.db were made: each built against the registry of that
 * schema version (not this tree) and run once. GEN_V picks the version's API
 * (v1: observations and decisions; v2: + reg_lease() and the DHCP
 * fingerprint; v3: + reg_reserve()). The commits are the last ones whose
 * registry wrote that version (the commit before the next migration):
 *   v1 7322b33 (before 18f221e, schema v2)
 *   v2 0ec67d4 (before c0e05f1, schema v3)
 *   v3 54e9024 (before 76d8bad, schema v4)
 * For version N with commit C:
 *   git worktree add /tmp/apg-vN C && cd /tmp/apg-vN
 *   cc -std=c11 -D_GNU_SOURCE -DGEN_V=N -Icontroller -Icontroller/core -o mk \
 *      /path/to/make-registry-v1-3.c controller/model/reg.c \
 *      controller/core/{util,log,mac}.c -lsqlite3
 *   ./mk registry-vN.db
 *   cd - && git worktree remove /tmp/apg-vN
 * The same story in every version, so tests/unit/test_reg.c checks one set of
 * values (T(n) = 1700000000000 + n seconds, in ms):
 *   A :0a connected wlan0 vlan 10 (vendor Epson, keyid staff); v2+: lease
 *         10.77.0.20 with fingerprint; approved business "Till 1"/Anna/pos
 *         by anna via portal; v3: 10.77.0.20 reserved by it via cli
 *   B :0b connected wlan1 vlan 20 as guest; approved personal (nothing else
 *         given) by it via cli; disconnected
 *   C :0c blocked ahead by it via cli (never seen)
 *   D :0d eap_success on wlan0: pending, not connected
 *   E :0e connected wlan0, blocked by anna via portal (was pending), then
 *         marked disconnected by a resync of wlan0 that saw only A
 *   F :0f connected wlan1, approved business "Old printer"/printer, forgotten:
 *         gone, its events and audit entries stay
 *   G :10 (v2+) known only from DHCP: lease 10.77.0.30 (created pending),
 *         then the lease expired (ip cleared); v3: reserved and unreserved
 * Not part of the build: it only documents the fixtures. */
#include <stdio.h>
#include <stdlib.h>
#include "model/reg.h"

#define CK(x) do { int _r = (x); if (_r < 0) { fprintf(stderr, "%s: %d\n", #x, _r); exit(1); } } while (0)
#define T(n) (1700000000000LL + (n) * 1000LL)

static void obs(struct reg *r, enum reg_obs_kind kind, const char *mac, const char *bss,
		int vlan, const char *vendor, const char *keyid, enum reg_state initial,
		long long now)
{
	struct reg_obs o = { .kind = kind, .mac = mac, .bss = bss, .vlan = vlan,
			     .vendor = vendor, .keyid = keyid, .initial = initial, .now = now };
	CK(reg_observe(r, &o, NULL));
}

int main(int argc, char **argv)
{
	struct reg *r;
	const struct reg_actor anna = { "anna", "portal" }, it = { "it", "cli" };
	const char *const seen[] = { "00:22:72:00:00:0a" };

	if (argc != 2)
		return 2;
	CK(reg_open(argv[1], &r));
	obs(r, REG_OBS_CONNECTED, "00:22:72:00:00:0a", "wlan0", 10, "Epson", "staff",
	    REG_PENDING, T(1));
#if GEN_V >= 2
	struct reg_lease l = { .action = REG_LEASE_ADD, .mac = "00:22:72:00:00:0a",
			       .ip = "10.77.0.20", .hostname = "till-1",
			       .dhcp_hostname = "TILL-1", .vendor_class = "MSFT 5.0",
			       .options = "1,3,6,15,31,33", .iface = "br-work", .seen = true,
			       .initial = REG_PENDING, .now = T(2) };
	CK(reg_lease(r, &l, NULL));
#endif
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Till 1", .owner = "Anna",
				  .type = REG_TYPE_POS };
	CK(reg_approve(r, "00:22:72:00:00:0a", &a, &anna, T(3)));

	obs(r, REG_OBS_CONNECTED, "00:22:72:00:00:0b", "wlan1", 20, NULL, NULL, REG_GUEST, T(4));
	a = (struct reg_approval){ .cls = REG_CLASS_PERSONAL };
	CK(reg_approve(r, "00:22:72:00:00:0b", &a, &it, T(5)));
	obs(r, REG_OBS_DISCONNECTED, "00:22:72:00:00:0b", "wlan1", 0, NULL, NULL, REG_PENDING,
	    T(6));

	CK(reg_block(r, "00:22:72:00:00:0c", &it, T(7)));

	obs(r, REG_OBS_EAP_SUCCESS, "00:22:72:00:00:0d", "wlan0", 0, NULL, NULL, REG_PENDING,
	    T(8));

#if GEN_V >= 3
	CK(reg_reserve(r, "00:22:72:00:00:0a", "10.77.0.20", &it, T(9)));
#endif

	obs(r, REG_OBS_CONNECTED, "00:22:72:00:00:0e", "wlan0", 0, "Apple", NULL, REG_PENDING,
	    T(10));
	CK(reg_block(r, "00:22:72:00:00:0e", &anna, T(11)));
	CK(reg_resync_bss(r, "wlan0", seen, 1, T(12)));

	obs(r, REG_OBS_CONNECTED, "00:22:72:00:00:0f", "wlan1", 30, NULL, NULL, REG_PENDING,
	    T(13));
	a = (struct reg_approval){ .cls = REG_CLASS_BUSINESS, .label = "Old printer",
				   .type = REG_TYPE_PRINTER };
	CK(reg_approve(r, "00:22:72:00:00:0f", &a, &it, T(14)));
	CK(reg_forget(r, "00:22:72:00:00:0f", &it, T(15)));

#if GEN_V >= 2
	l = (struct reg_lease){ .action = REG_LEASE_ADD, .mac = "00:22:72:00:00:10",
				.ip = "10.77.0.30", .hostname = "android-5f2a",
				.dhcp_hostname = "android-5f2a", .vendor_class = "android-dhcp-13",
				.options = "1,3,6,15,26,28,51,58,59,43,114", .iface = "br-onb",
				.seen = true, .initial = REG_PENDING, .now = T(16) };
	CK(reg_lease(r, &l, NULL));
#endif
#if GEN_V >= 3
	CK(reg_reserve(r, "00:22:72:00:00:10", "10.77.0.31", &anna, T(17)));
	CK(reg_reserve(r, "00:22:72:00:00:10", NULL, &anna, T(18)));
#endif
#if GEN_V >= 2
	l = (struct reg_lease){ .action = REG_LEASE_DEL, .mac = "00:22:72:00:00:10",
				.ip = "10.77.0.30", .iface = "br-onb", .seen = false,
				.now = T(19) };
	CK(reg_lease(r, &l, NULL));
#endif
	reg_close(r);
	return 0;
}
