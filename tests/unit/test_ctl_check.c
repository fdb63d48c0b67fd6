/* The risky-service check (ctl_check.c) on the loopback network: a zone
 * 127.0.0.1/8 stands for the shop's subnet, a listener on 127.0.0.23:23
 * for a device running telnet (only risky_service alerts are looked at:
 * each new device raises new_device too). Checked: a finding and one risky_service
 * alert with advice; a device with nothing open has none; refused
 * addresses (outside the zones, the gateway, the broadcast address, none)
 * and unknown devices; -EALREADY while one is queued; the per-minute
 * token bucket holds a second device back; checks turned off (-ENOTSUP).
 * The listener on port 23 needs root (CAP_NET_BIND_SERVICE): skipped
 * otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl/ctl.h"
#include "log.h"
#include "model/reg.h"
#include "util.h"

#define TELNET "02:00:00:00:0c:17" /* 127.0.0.23, telnet open */
#define QUIET  "02:00:00:00:0c:18" /* 127.0.0.24, nothing open */
#define FAR    "02:00:00:00:0c:19" /* 192.0.2.5, outside the zones */
#define GW     "02:00:00:00:0c:1a" /* 127.0.0.1, the zone's gateway */
#define BCAST  "02:00:00:00:0c:1b" /* 127.255.255.255 */
#define NOIP   "02:00:00:00:0c:1c" /* no lease */

struct fx {
	char dir[64];
	struct cfg *cfg;
	struct event_base *base;
	struct reg *reg;
	struct ctl *ctl;
	int lfd;               /* the telnet listener, -1 if it could not bind */
	int accepted;
	struct event *lev;
};

static const struct reg_actor who = { "test", "unit" };

static void on_accept(evutil_socket_t fd, short what, void *ud)
{
	struct fx *f = ud;
	int c = accept(fd, NULL, NULL);

	(void)what;
	if (c >= 0) {
		f->accepted++;
		close(c);
	}
}

static void lease(struct fx *f, const char *mac, const char *ip)
{
	struct ctl_lease l = { .action = "add", .mac = mac, .ip = ip, .interface = "lo" };

	assert_int_equal(ctl_lease(f->ctl, &l), 0);
}

static int setup_with(void **state, const char *checks)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[128];
	FILE *fp;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/apgate-check-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/apgate.conf", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "[apgated]\nregistry = %s/reg.db\nadmin_socket = %s/adm.sock\n"
		    "[hostapd]\nctrl_dir = %s\nclient_dir = %s\ndata_dir = %s\n"
		    "[bss ap0]\nzone = work\n"
		    "[zone work]\ninterface = lo\naddress = 127.0.0.1/8\n"
		    "[zone guest]\ninterface = apgt-none1\naddress = 10.254.0.1/24\n"
		    "[network]\nuplink = apgt-none0\nwatch_unmanaged = no\n"
		    "[checks]\non_first_seen = no\ntimeout_ms = 300\n%s\n",
		f->dir, f->dir, f->dir, f->dir, f->dir, checks);
	fclose(fp);
	log_open("test_ctl_check", LOG_LVL_ERR, false);
	assert_int_equal(cfg_load(path, stderr, &f->cfg), 0);
	f->base = event_base_new();
	snprintf(path, sizeof(path), "%s/reg.db", f->dir);
	assert_int_equal(reg_open(path, &f->reg), 0);
	assert_int_equal(ctl_new(f->base, f->cfg, f->reg, NULL, NULL, &f->ctl), 0);

	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(23) };
	inet_pton(AF_INET, "127.0.0.23", &sa.sin_addr);
	int one = 1;
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->lfd, 8) < 0) {
		close(f->lfd);
		f->lfd = -1;
	} else {
		f->lev = event_new(f->base, f->lfd, EV_READ | EV_PERSIST, on_accept, f);
		event_add(f->lev, NULL);
	}
	lease(f, TELNET, "127.0.0.23");
	lease(f, QUIET, "127.0.0.24");
	lease(f, FAR, "192.0.2.5");
	lease(f, GW, "127.0.0.1");
	lease(f, BCAST, "127.255.255.255");
	*state = f;
	return 0;
}

static int setup(void **state) { return setup_with(state, "per_minute = 60"); }
static int setup_slow(void **state) { return setup_with(state, "per_minute = 1"); }
static int setup_off(void **state) { return setup_with(state, "enabled = no"); }

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	ctl_free(f->ctl);
	if (f->lev)
		event_free(f->lev);
	if (f->lfd >= 0)
		close(f->lfd);
	reg_close(f->reg);
	event_base_free(f->base);
	cfg_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int64_t checked_at(struct fx *f, const char *mac)
{
	struct reg_device *d = NULL;
	int64_t t;

	assert_int_equal(reg_get(f->reg, mac, &d), 0);
	t = d->checked_at;
	reg_device_free(d);
	return t;
}

/* Runs the loop until mac was checked, at most ms. */
static bool run_until_checked(struct fx *f, const char *mac, long long ms)
{
	long long end = util_mono_ms() + ms;

	while (checked_at(f, mac) == 0 && util_mono_ms() < end)
		event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
	return checked_at(f, mac) != 0;
}

struct found {
	unsigned n;
	unsigned port[16];
	char service[16][16];
};

static int on_finding(const struct reg_finding *fi, void *ud)
{
	struct found *v = ud;

	if (v->n < 16) {
		v->port[v->n] = fi->port;
		util_strlcpy(v->service[v->n], fi->service, sizeof(v->service[0]));
		v->n++;
	}
	return 0;
}

struct alerts {
	unsigned n;
	char mac[8][18], msg[8][512];
};

static int on_alert(const struct reg_alert *a, void *ud)
{
	struct alerts *v = ud;

	if (strcmp(a->kind, "risky_service"))
		return 0; /* new_device and the like: not this test's */
	if (v->n < 8) {
		util_strlcpy(v->mac[v->n], a->mac ? a->mac : "", sizeof(v->mac[0]));
		util_strlcpy(v->msg[v->n], a->message, sizeof(v->msg[0]));
		v->n++;
	}
	return 0;
}

static void telnet_is_found_and_alerted(void **state)
{
	struct fx *f = *state;
	struct found fs = { 0 };
	struct alerts al = { 0 };

	if (f->lfd < 0)
		skip(); /* port 23 needs root */
	assert_int_equal(ctl_check_device(f->ctl, TELNET, &who), 0);
	assert_int_equal(ctl_check_device(f->ctl, "02-00-00-00-0C-17", &who), -EALREADY);
	assert_true(run_until_checked(f, TELNET, 5000));
	assert_true(f->accepted >= 1);
	assert_int_equal(reg_findings(f->reg, TELNET, on_finding, &fs), 0);
	assert_int_equal(fs.n, 1);
	assert_int_equal(fs.port[0], 23);
	assert_string_equal(fs.service[0], "telnet");
	assert_int_equal(reg_alerts(f->reg, false, 0, on_alert, &al), 0);
	assert_int_equal(al.n, 1);
	assert_string_equal(al.mac[0], TELNET);
	assert_non_null(strstr(al.msg[0], "(127.0.0.23) accepts telnet on port 23"));
	assert_non_null(strstr(al.msg[0], "passwords unencrypted"));
	assert_non_null(strstr(al.msg[0], "Turn this service off"));

	/* again: the same finding, no second alert while the first is open */
	assert_int_equal(ctl_check_device(f->ctl, TELNET, &who), 0);
	int64_t first = checked_at(f, TELNET);
	long long end = util_mono_ms() + 5000;
	while (checked_at(f, TELNET) == first && util_mono_ms() < end)
		event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
	al = (struct alerts){ 0 };
	assert_int_equal(reg_alerts(f->reg, false, 0, on_alert, &al), 0);
	assert_int_equal(al.n, 1);
}

static void nothing_open_no_finding(void **state)
{
	struct fx *f = *state;
	struct found fs = { 0 };
	struct alerts al = { 0 };

	assert_int_equal(ctl_check_device(f->ctl, QUIET, &who), 0);
	assert_true(run_until_checked(f, QUIET, 5000));
	assert_int_equal(reg_findings(f->reg, QUIET, on_finding, &fs), 0);
	assert_int_equal(fs.n, 0);
	assert_int_equal(reg_alerts(f->reg, false, 0, on_alert, &al), 0);
	assert_int_equal(al.n, 0);
}

static void only_hosts_inside_the_zones(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ctl_check_device(f->ctl, FAR, &who), -EADDRNOTAVAIL);
	assert_int_equal(ctl_check_device(f->ctl, GW, &who), -EADDRNOTAVAIL);
	assert_int_equal(ctl_check_device(f->ctl, BCAST, &who), -EADDRNOTAVAIL);
	assert_int_equal(ctl_check_device(f->ctl, NOIP, &who), -ENOENT);
	assert_int_equal(ctl_check_device(f->ctl, "not a mac", &who), -EINVAL);
	assert_int_equal(checked_at(f, FAR), 0);
}

static void the_bucket_holds_the_second_back(void **state)
{
	struct fx *f = *state;
	long long end;

	/* per_minute = 1: one token; the second waits about a minute */
	assert_int_equal(ctl_check_device(f->ctl, QUIET, &who), 0);
	assert_int_equal(ctl_check_device(f->ctl, TELNET, &who), 0);
	assert_true(run_until_checked(f, QUIET, 5000));
	end = util_mono_ms() + 800;
	while (util_mono_ms() < end)
		event_base_loop(f->base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
	assert_int_equal(checked_at(f, TELNET), 0);
	assert_int_equal(ctl_check_device(f->ctl, TELNET, &who), -EALREADY);
}

static void checks_off(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ctl_check_device(f->ctl, QUIET, &who), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(telnet_is_found_and_alerted, setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_open_no_finding, setup, teardown),
		cmocka_unit_test_setup_teardown(only_hosts_inside_the_zones, setup, teardown),
		cmocka_unit_test_setup_teardown(the_bucket_holds_the_second_back, setup_slow, teardown),
		cmocka_unit_test_setup_teardown(checks_off, setup_off, teardown),
	};
	return cmocka_run_group_tests_name("ctl_check", tests, NULL, NULL);
}
