/* reg_seed - puts devices, check findings, unmanaged MACs, blocked look-ups
 * and alerts into a registry through the registry's own API
 * (controller/model/reg.c), for system tests of what people see of them
 * (tests/system/test_inventory.sh, test_staff_alerts.sh). Run it while
 * apgated is stopped (it caches counts).
 *
 *   reg_seed DB < COMMANDS
 *
 * One command a line, fields separated by TABs, each field with C escapes
 * decoded (\t \n \r \\ \xHH), so hostile names (control characters,
 * invalid UTF-8) can be written down:
 *   device MAC IP HOSTNAME [VENDOR_CLASS [OPTIONS [VENDOR [BSS]]]]
 *                                     seen on BSS (default ap0), leased IP
 *   approve MAC business|personal LABEL OWNER TYPE
 *   block MAC
 *   findings MAC [SERVICE/PORT[/DETAIL]]...   replaces its findings
 *   unmanaged MAC WHERE [IP]
 *   dns MAC|- IP DOMAIN [TIMES]
 *   alert KIND MAC|- MESSAGE
 * Exit 0, or 1 naming the line and the registry's error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model/reg.h"
#include "util.h"

#define MAX_FIELDS 16

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes the escapes of s in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s != '\\' || !s[1]) {
			*o++ = *s;
			continue;
		}
		s++;
		switch (*s) {
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 'x':
			if (hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
				*o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
				s += 2;
				break;
			}
			/* fall through */
		default: *o++ = *s; break;
		}
	}
	*o = '\0';
}

static int run(struct reg *r, char **f, int n, int64_t now)
{
	struct reg_actor who = { .who = "seed", .via = "cli" };

	if (!strcmp(f[0], "device") && n >= 4) {
		struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = f[1], .bss = n > 7 ? f[7] : "ap0",
				     .vendor = n > 6 && *f[6] ? f[6] : NULL, .initial = REG_PENDING, .now = now };
		int e = reg_observe(r, &o, NULL);
		if (e < 0)
			return e;
		struct reg_lease l = { .action = REG_LEASE_ADD, .mac = f[1], .ip = f[2], .hostname = f[3],
				       .dhcp_hostname = f[3], .vendor_class = n > 4 && *f[4] ? f[4] : NULL,
				       .options = n > 5 && *f[5] ? f[5] : NULL, .seen = true,
				       .initial = REG_PENDING, .now = now };
		return reg_lease(r, &l, NULL);
	}
	if (!strcmp(f[0], "approve") && n == 6) {
		struct reg_approval a = { .label = f[3], .owner = f[4] };
		if (reg_class_parse(f[2], &a.cls) < 0 || reg_type_parse(f[5], &a.type) < 0)
			return -EINVAL;
		return reg_approve(r, f[1], &a, &who, now);
	}
	if (!strcmp(f[0], "block") && n == 2)
		return reg_block(r, f[1], &who, now);
	if (!strcmp(f[0], "findings") && n >= 2) {
		struct reg_finding fs[MAX_FIELDS];
		unsigned k = 0;
		for (int i = 2; i < n; i++, k++) {
			char *port = strchr(f[i], '/'), *detail;
			if (!port)
				return -EINVAL;
			*port++ = '\0';
			detail = strchr(port, '/');
			if (detail)
				*detail++ = '\0';
			fs[k] = (struct reg_finding){ .mac = f[1], .port = (unsigned)atoi(port), .service = f[i],
						      .detail = detail, .found_at = now };
		}
		return reg_set_findings(r, f[1], fs, k, now);
	}
	if (!strcmp(f[0], "unmanaged") && n >= 3) {
		int e = reg_unmanaged_seen(r, f[1], f[2], n > 3 ? f[3] : NULL, now);
		return e < 0 ? e : 0;
	}
	if (!strcmp(f[0], "dns") && n >= 4) {
		int times = n > 4 ? atoi(f[4]) : 1;
		for (int i = 0; i < times; i++) {
			int e = reg_dns_block(r, strcmp(f[1], "-") ? f[1] : NULL, f[2], f[3], now + i, NULL);
			if (e < 0)
				return e;
		}
		return 0;
	}
	if (!strcmp(f[0], "alert") && n == 4) {
		int64_t id = reg_alert_add(r, f[1], strcmp(f[2], "-") ? f[2] : NULL, f[3], now);
		return id < 0 ? (int)id : 0;
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct reg *r = NULL;
	char line[4096];
	unsigned lineno = 0;
	int64_t now = util_now_ms();
	int e;

	if (argc != 2) {
		fprintf(stderr, "usage: reg_seed DB < COMMANDS\n");
		return 2;
	}
	log_open("reg_seed", LOG_LVL_WARN, false);
	e = reg_open(argv[1], &r);
	if (e < 0) {
		fprintf(stderr, "reg_seed: %s: %s\n", argv[1], strerror(-e));
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		char *f[MAX_FIELDS], *rest = line, *t;
		int n = 0;
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		while (n < MAX_FIELDS && (t = strsep(&rest, "\t"))) {
			unescape(t);
			f[n++] = t;
		}
		if (n == 0 || !f[0][0] || f[0][0] == '#')
			continue;
		e = run(r, f, n, now + lineno); /* one millisecond apart: a stable order */
		if (e < 0) {
			fprintf(stderr, "reg_seed: line %u (%s): %s\n", lineno, f[0], strerror(-e));
			reg_close(r);
			return 1;
		}
	}
	reg_close(r);
	return 0;
}
