/* The controller keeps hostapd's MAC lists in step with the registry, on
 * every BSS, through the control interface: two fake hostapd BSSes (ap0 work,
 * ap1 guest) record what they are sent. Checked: the exact ACL commands and
 * their order for approve (business / personal), block, forget, a change of
 * the work VLAN (reload), the rebuild after hostapd restarts, and silence
 * when no zone is configured (apgated only observes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../peer/hapd_peer.h"
#include "cfg.h"
#include "ctl/ctl.h"
#include "log.h"
#include "model/reg.h"
#include "util.h"

#define M1 "02:00:00:00:01:01"

struct fx {
	char dir[64];
	char ctrl[96];
	char cfgpath[128];
	struct cfg *cfg, *cfg2;
	struct event_base *base;
	struct reg *reg;
	struct ctl *ctl;
	struct hapd_peer *ap0, *ap1;
	/* the *_ACL commands each peer received, '|'-joined */
	char acl0[4096], acl1[4096];
};

static const struct reg_actor who = { "test", "unit" };

static void on_cmd(struct hapd_peer *p, const char *cmd, void *ud)
{
	struct fx *f = ud;
	char *buf = p == f->ap0 ? f->acl0 : f->acl1;
	size_t n = strlen(buf);

	if (!strstr(cmd, "_ACL "))
		return;
	snprintf(buf + n, sizeof(f->acl0) - n, "%s%s", n ? "|" : "", cmd);
}

static void write_cfg(struct fx *f, const char *path, bool zones, unsigned vlan)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fprintf(fp, "[apgated]\nregistry = %s/reg.db\nadmin_socket = %s/admin.sock\noui_dir =\n"
		    "[hostapd]\nctrl_dir = %s\nclient_dir = %s\nping_interval_ms = 100\n"
		    "backoff_max_ms = 100\n"
		    "[bss ap0]\nzone = work\n[bss ap1]\nzone = guest\n"
		    "[repair]\nenabled = no\n", /* test_ctl_repair's subject */
		f->dir, f->dir, f->ctrl, f->dir);
	if (zones)
		fprintf(fp, "[zone work]\ninterface = brwork\naddress = 10.77.0.1/24\nvlan = %u\n"
			    "[zone guest]\ninterface = brguest\naddress = 10.78.0.1/24\n"
			    "[network]\nuplink = up0\n",
			vlan);
	fclose(fp);
}

static void attached_cb(const struct ctl_bss_status *st, void *ud)
{
	int *n = ud;

	if (st->attached)
		(*n)++;
}

static int n_attached(struct fx *f)
{
	int n = 0;

	ctl_foreach_bss(f->ctl, attached_cb, &n);
	return n;
}

/* Runs the loop until pred holds (or fails after 3 s), then 30 ms more so
 * that anything sent beyond what was expected is seen too. */
#define RUN_UNTIL(f, pred)                                                       \
	do {                                                                     \
		long long dl_ = util_mono_ms() + 3000;                           \
		while (!(pred) && util_mono_ms() < dl_)                          \
			event_base_loop((f)->base, EVLOOP_NONBLOCK | EVLOOP_ONCE); \
		assert_true(pred);                                               \
		long long t_ = util_mono_ms() + 30;                              \
		while (util_mono_ms() < t_)                                      \
			event_base_loop((f)->base, EVLOOP_NONBLOCK);             \
	} while (0)

static void clear(struct fx *f)
{
	f->acl0[0] = f->acl1[0] = 0;
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

static bool known(struct fx *f, const char *mac)
{
	struct reg_device *d = NULL;
	int r = reg_get(f->reg, mac, &d);

	reg_device_free(d);
	return r == 0;
}

static int setup_with(void **state, bool zones)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[200];

	snprintf(f->dir, sizeof(f->dir), "/tmp/apgate-acl-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->ctrl, sizeof(f->ctrl), "%s/hostapd", f->dir);
	snprintf(f->cfgpath, sizeof(f->cfgpath), "%s/apgate.conf", f->dir);
	write_cfg(f, f->cfgpath, zones, 10);
	log_open("test_ctl_acl", LOG_LVL_ERR, false);
	if (cfg_load(f->cfgpath, stderr, &f->cfg) < 0)
		return -1;
	f->base = event_base_new();
	if (peer_new(f->base, f->ctrl, "ap0", &f->ap0) < 0 || peer_new(f->base, f->ctrl, "ap1", &f->ap1) < 0)
		return -1;
	peer_set_command_cb(f->ap0, on_cmd, f);
	peer_set_command_cb(f->ap1, on_cmd, f);
	snprintf(path, sizeof(path), "%s/reg.db", f->dir);
	if (reg_open(path, &f->reg) < 0 || ctl_new(f->base, f->cfg, f->reg, NULL, NULL, &f->ctl) < 0)
		return -1;
	*state = f;
	RUN_UNTIL(f, n_attached(f) == 2);
	/* a device to decide about: a station on the work BSS (pending) */
	assert_int_equal(peer_connect_sta(f->ap0, M1, 0, NULL), 0);
	RUN_UNTIL(f, known(f, M1));
	return 0;
}

static int setup(void **state) { return setup_with(state, true); }
static int setup_nozones(void **state) { return setup_with(state, false); }

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[200];

	ctl_free(f->ctl);
	peer_free(f->ap0);
	peer_free(f->ap1);
	reg_close(f->reg);
	event_base_free(f->base);
	cfg_free(f->cfg);
	cfg_free(f->cfg2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void approve(struct fx *f, enum reg_class cls)
{
	struct reg_approval a = { .cls = cls };

	assert_int_equal(ctl_approve(f->ctl, M1, &a, &who), 0);
}

/* On attach (setup) with an empty registry both lists were cleared. */
static void test_attach_clears(void **state)
{
	struct fx *f = *state;

	/* setup cleared nothing yet: look at what came at attach */
	assert_non_null(strstr(f->acl0, "ACCEPT_ACL CLEAR|DENY_ACL CLEAR"));
	assert_non_null(strstr(f->acl1, "ACCEPT_ACL CLEAR|DENY_ACL CLEAR"));
	assert_int_equal(count(f->acl0, "ADD_MAC"), 0);
}

static void test_approve_block_forget(void **state)
{
	struct fx *f = *state;

	clear(f);
	approve(f, REG_CLASS_BUSINESS);
	RUN_UNTIL(f, strlen(f->acl1) > 0 && count(f->acl0, "|") == 2);
	assert_string_equal(f->acl0, "ACCEPT_ACL DEL_MAC " M1 "|ACCEPT_ACL ADD_MAC " M1 " VLAN_ID=10"
				     "|DENY_ACL DEL_MAC " M1);
	/* an approved business device belongs on the work SSID: denied on the guest one */
	assert_string_equal(f->acl1, "DENY_ACL ADD_MAC " M1);

	clear(f);
	assert_int_equal(ctl_block(f->ctl, M1, &who), 0);
	RUN_UNTIL(f, strlen(f->acl1) > 0 && count(f->acl0, "|") == 1);
	assert_string_equal(f->acl0, "ACCEPT_ACL DEL_MAC " M1 "|DENY_ACL ADD_MAC " M1);
	assert_string_equal(f->acl1, "DENY_ACL ADD_MAC " M1);
	/* hostapd kicked it (DENY_ACL ADD_MAC): the controller heard it */
	struct reg_device *d = NULL;
	assert_int_equal(reg_get(f->reg, M1, &d), 0);
	assert_false(d->connected);
	reg_device_free(d);

	clear(f);
	assert_int_equal(ctl_forget(f->ctl, M1, &who), 0);
	RUN_UNTIL(f, strlen(f->acl1) > 0 && count(f->acl0, "|") == 1);
	assert_string_equal(f->acl0, "ACCEPT_ACL DEL_MAC " M1 "|DENY_ACL DEL_MAC " M1);
	assert_string_equal(f->acl1, "DENY_ACL DEL_MAC " M1);
}

/* A personal approval belongs on the guest SSID only: out of the work
 * accept list and into the work deny list (which kicks it there). */
static void test_approve_personal(void **state)
{
	struct fx *f = *state;

	clear(f);
	approve(f, REG_CLASS_PERSONAL);
	RUN_UNTIL(f, strlen(f->acl1) > 0 && count(f->acl0, "|") == 1);
	assert_string_equal(f->acl0, "ACCEPT_ACL DEL_MAC " M1 "|DENY_ACL ADD_MAC " M1);
	assert_string_equal(f->acl1, "DENY_ACL DEL_MAC " M1);
}

/* The work VLAN changes on reload: the lists are rebuilt with the new one. */
static void test_vlan_change(void **state)
{
	struct fx *f = *state;
	char path[200];

	approve(f, REG_CLASS_BUSINESS);
	RUN_UNTIL(f, strstr(f->acl0, "VLAN_ID=10") != NULL);
	snprintf(path, sizeof(path), "%s/apgate2.conf", f->dir);
	write_cfg(f, path, true, 20);
	assert_int_equal(cfg_load(path, stderr, &f->cfg2), 0);
	clear(f);
	assert_int_equal(ctl_set_cfg(f->ctl, f->cfg2), 0);
	RUN_UNTIL(f, count(f->acl0, "|") == 2 && count(f->acl1, "|") == 2);
	assert_string_equal(f->acl0, "ACCEPT_ACL CLEAR|DENY_ACL CLEAR|ACCEPT_ACL ADD_MAC " M1 " VLAN_ID=20");
	assert_string_equal(f->acl1, "ACCEPT_ACL CLEAR|DENY_ACL CLEAR|DENY_ACL ADD_MAC " M1);
}

/* hostapd restarts (lists lost): the controller re-attaches and rebuilds. */
static void test_restart_rebuilds(void **state)
{
	struct fx *f = *state;
	const char *m2 = "02:00:00:00:02:02";

	approve(f, REG_CLASS_BUSINESS);
	assert_int_equal(ctl_block(f->ctl, m2, &who), 0); /* blocked ahead */
	RUN_UNTIL(f, strstr(f->acl1, "DENY_ACL ADD_MAC 02:00:00:00:02:02") != NULL);
	peer_free(f->ap0);
	f->ap0 = NULL;
	RUN_UNTIL(f, n_attached(f) == 1);
	assert_int_equal(peer_new(f->base, f->ctrl, "ap0", &f->ap0), 0);
	peer_set_command_cb(f->ap0, on_cmd, f);
	clear(f);
	RUN_UNTIL(f, n_attached(f) == 2 && count(f->acl0, "|") == 3);
	assert_string_equal(f->acl0, "ACCEPT_ACL CLEAR|DENY_ACL CLEAR|"
				     "ACCEPT_ACL ADD_MAC " M1 " VLAN_ID=10|DENY_ACL ADD_MAC 02:00:00:00:02:02");
	assert_string_equal(f->acl1, ""); /* ap1 did not restart */
}

/* No zone configured: apgated only observes, hostapd's lists are not touched. */
static void test_no_zones_no_acl(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS };

	assert_string_equal(f->acl0, "");
	assert_string_equal(f->acl1, "");
	assert_int_equal(ctl_approve(f->ctl, M1, &a, &who), 0);
	assert_int_equal(ctl_block(f->ctl, M1, &who), 0);
	assert_int_equal(ctl_forget(f->ctl, M1, &who), 0);
	RUN_UNTIL(f, true);
	RUN_UNTIL(f, true);
	assert_string_equal(f->acl0, "");
	assert_string_equal(f->acl1, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_clears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_block_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_personal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vlan_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_rebuilds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_zones_no_acl, setup_nozones, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
