/* seed_registry - fills a registry file through the registry's own API
 * (controller/model/reg.c), for benchmarks that need a shop with many
 * devices before apgated starts.
 *
 *   seed_registry DB N [BSS]
 *
 * Device i (0 <= i < N) has MAC 02:5e:00:00:HH:LL (i = HH * 256 + LL), is
 * seen on BSS (default ap0) with reg_observe(CONNECTED) and leases
 * 10.100.HH.LL with reg_lease(ADD): a DHCP hostname, a vendor class and an
 * option list that vary with i (so the type guess and the pages have
 * something to show). Even i stay pending; odd i are approved as business
 * devices by "bench" (label, owner, type), like the decisions a shop has
 * made over time. Timestamps spread over the last 30 days.
 *
 * Prints "seeded N devices (P pending, A approved) in S s". Exit 0, or 1
 * with the registry's error on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model/reg.h"
#include "util.h"

static const char *const hosts[] = { "PC-KASSE", "iPhone", "Galaxy-S21", "HP-LaserJet", "EPSON-TM",
				     "SIGNAGE", "iPad", "DESKTOP" };
static const char *const vendors[] = { "MSFT 5.0", "android-dhcp-13", "dhcpcd-9.4.1", "HP LaserJet",
				       "udhcp 1.35.0", "", "MSFT 5.0", "dhcpcd-9.4.1" };
static const enum reg_type types[] = { REG_TYPE_PC, REG_TYPE_PHONE, REG_TYPE_TABLET, REG_TYPE_PRINTER,
				       REG_TYPE_POS, REG_TYPE_SIGNAGE, REG_TYPE_PAYMENT, REG_TYPE_OTHER };

static int seed_one(struct reg *r, unsigned i, const char *bss, long long now)
{
	char mac[18], ip[16], host[32], label[32], owner[32];
	unsigned k = i % ARRAY_SIZE(hosts);
	long long t = now - (long long)(i % 720) * 3600 * 1000; /* spread over 30 days */
	int e;

	snprintf(mac, sizeof(mac), "02:5e:00:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
	snprintf(ip, sizeof(ip), "10.100.%u.%u", (i >> 8) & 0xff, i & 0xff);
	snprintf(host, sizeof(host), "%s-%u", hosts[k], i);
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = mac, .bss = bss, .initial = REG_PENDING, .now = t };
	e = reg_observe(r, &o, NULL);
	if (e < 0)
		return e;
	struct reg_lease l = {
		.action = REG_LEASE_ADD, .mac = mac, .ip = ip, .hostname = host, .dhcp_hostname = host,
		.vendor_class = vendors[k][0] ? vendors[k] : NULL, .options = "1,3,6,15,31,33,43,44,46,47,119,121,249,252",
		.iface = bss, .seen = true, .initial = REG_PENDING, .now = t,
	};
	e = reg_lease(r, &l, NULL);
	if (e < 0 || i % 2 == 0)
		return e;
	snprintf(label, sizeof(label), "Device %u", i);
	snprintf(owner, sizeof(owner), "Staff %u", i % 17);
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = label, .owner = owner, .type = types[k] };
	struct reg_actor who = { .who = "bench", .via = "cli" };
	return reg_approve(r, mac, &a, &who, t + 60000);
}

int main(int argc, char **argv)
{
	struct reg *r = NULL;
	const char *bss = argc > 3 ? argv[3] : "ap0";
	char *end;
	unsigned long n;
	long long t0, now;
	int e;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: seed_registry DB N [BSS]\n");
		return 2;
	}
	errno = 0;
	n = strtoul(argv[2], &end, 10);
	if (errno || *end || n == 0 || n > 65536) {
		fprintf(stderr, "seed_registry: N must be 1..65536\n");
		return 2;
	}
	log_open("seed_registry", LOG_LVL_WARN, false);
	e = reg_open(argv[1], &r);
	if (e < 0) {
		fprintf(stderr, "seed_registry: %s: %s\n", argv[1], strerror(-e));
		return 1;
	}
	t0 = now = util_now_ms();
	for (unsigned i = 0; i < n; i++) {
		e = seed_one(r, i, bss, now);
		if (e < 0) {
			fprintf(stderr, "seed_registry: device %u: %s\n", i, strerror(-e));
			reg_close(r);
			return 1;
		}
	}
	reg_close(r);
	printf("seeded %lu devices (%lu pending, %lu approved) in %.1f s\n", n, (n + 1) / 2, n / 2,
	       (double)(util_now_ms() - t0) / 1000.0);
	return 0;
}
