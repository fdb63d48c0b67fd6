/* Repair, steering, the loop limit and per-device keys, as the controller
 * does them against two fake hostapd 2.10 BSSes (ap0 work with VLAN 10 and
 * per-device keys, ap1 guest) speaking the real control-interface protocol:
 * the Wi-Fi-only situations (a station in the wrong VLAN, on the wrong SSID,
 * STA replies with vlan_id= and keyid=, BSS-TM-RESP) that driver=wired
 * cannot produce. Checked: the commands each BSS receives, in order, what
 * the registry and its audit trail say, and hostapd's psk file. */
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
#define M2 "02:00:00:00:01:02"
#define BSSID0 "02:00:00:00:a0:00"
#define BSSID1 "02:00:00:00:a1:00"

struct fx {
	char dir[64];
	char ctrl[96];
	char cfgpath[128];
	struct cfg *cfg;
	struct event_base *base;
	struct reg *reg;
	struct ctl *ctl;
	struct hapd_peer *ap0, *ap1;
	/* the commands each peer received, '|'-joined (not the keepalive,
	 * attach and station-walk ones) */
	char cmd0[8192], cmd1[8192];
};

static const struct reg_actor who = { "anna", "cli" };

static void on_cmd(struct hapd_peer *p, const char *cmd, void *ud)
{
	struct fx *f = ud;
	char *buf = p == f->ap0 ? f->cmd0 : f->cmd1;
	size_t n = strlen(buf);
	static const char *const quiet[] = { "PING", "ATTACH", "DETACH", "LEVEL", "STA-FIRST", "STA-NEXT", "STATUS" };

	for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (!strncmp(cmd, quiet[i], strlen(quiet[i])))
			return;
	snprintf(buf + n, sizeof(f->cmd0) - n, "%s%s", n ? "|" : "", cmd);
}

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

static void spin(struct fx *f, int ms)
{
	long long t = util_mono_ms() + ms;
	while (util_mono_ms() < t)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

static void clear(struct fx *f)
{
	f->cmd0[0] = f->cmd1[0] = 0;
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

static bool known(struct fx *f, const char *mac)
{
	struct reg_device *d = NULL;
	int r = reg_get(f->reg, mac, &d);

	reg_device_free(d);
	return r == 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[200];
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/tmp/apgate-repair-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->ctrl, sizeof(f->ctrl), "%s/hostapd", f->dir);
	snprintf(f->cfgpath, sizeof(f->cfgpath), "%s/apgate.conf", f->dir);
	fp = fopen(f->cfgpath, "w");
	fprintf(fp, "[apgated]\nregistry = %s/reg.db\nadmin_socket = %s/admin.sock\noui_dir =\n"
		    "[hostapd]\nctrl_dir = %s\nclient_dir = %s\nping_interval_ms = 100\nbackoff_max_ms = 100\n"
		    "data_dir = %s/lists\n"
		    "[bss ap0]\nzone = work\nssid = Shop-Work\nppsk = yes\n"
		    "[bss ap1]\nzone = guest\nssid = Shop-Guest\n"
		    "[zone work]\ninterface = brwork\naddress = 10.77.0.1/24\nvlan = 10\n"
		    "[zone guest]\ninterface = brguest\naddress = 10.78.0.1/24\nvlan = 20\n"
		    "[zone onboarding]\ninterface = bronb\naddress = 10.79.0.1/24\n"
		    "[network]\nuplink = up0\n"
		    "[repair]\nmax_fixes = 2\nwindow = 600\nsteer_timeout_ms = 300\n",
		f->dir, f->dir, f->ctrl, f->dir, f->dir);
	fclose(fp);
	log_open("test_ctl_repair", LOG_LVL_ERR, false);
	if (cfg_load(f->cfgpath, stderr, &f->cfg) < 0)
		return -1;
	f->base = event_base_new();
	if (peer_new(f->base, f->ctrl, "ap0", &f->ap0) < 0 || peer_new(f->base, f->ctrl, "ap1", &f->ap1) < 0)
		return -1;
	peer_set_radio(f->ap0, BSSID0, 2437, 6, true);
	peer_set_radio(f->ap1, BSSID1, 2437, 6, true);
	peer_set_command_cb(f->ap0, on_cmd, f);
	peer_set_command_cb(f->ap1, on_cmd, f);
	snprintf(path, sizeof(path), "%s/reg.db", f->dir);
	if (reg_open(path, &f->reg) < 0 || ctl_new(f->base, f->cfg, f->reg, NULL, NULL, &f->ctl) < 0)
		return -1;
	*state = f;
	RUN_UNTIL(f, n_attached(f) == 2);
	clear(f);
	return 0;
}

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
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* A device known to the registry with the given decision (pending = none). */
static void device(struct fx *f, const char *mac, const char *decision)
{
	struct reg_approval biz = { .cls = REG_CLASS_BUSINESS }, per = { .cls = REG_CLASS_PERSONAL };

	assert_int_equal(peer_connect_sta(f->ap0, mac, 0, NULL), 0);
	RUN_UNTIL(f, known(f, mac));
	assert_int_equal(peer_del_sta(f->ap0, mac), 0);
	if (!strcmp(decision, "business"))
		assert_int_equal(ctl_approve(f->ctl, mac, &biz, &who), 0);
	else if (!strcmp(decision, "personal"))
		assert_int_equal(ctl_approve(f->ctl, mac, &per, &who), 0);
	else if (!strcmp(decision, "blocked"))
		assert_int_equal(ctl_block(f->ctl, mac, &who), 0);
	spin(f, 50);
	clear(f);
}

static int count(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/* The newest audit entry of mac with this action, copied; "" if none. */
struct last_audit {
	const char *action;
	char detail[512];
	int n;
};
static int audit_cb(const struct reg_event *e, void *ud)
{
	struct last_audit *a = ud;

	if (!strcmp(e->kind, "audit") && !strcmp(e->action, a->action)) {
		snprintf(a->detail, sizeof(a->detail), "%s", e->detail ? e->detail : "");
		a->n++;
	}
	return 0;
}
static struct last_audit audit(struct fx *f, const char *mac, const char *action)
{
	struct last_audit a = { .action = action };

	assert_int_equal(reg_events_mac(f->reg, mac, 0, audit_cb, &a), 0);
	return a;
}

/* An approved business device that lands in VLAN 0 on the work BSS: the
 * accept entry is sent again and the station deauthenticated, in that
 * order; the fix is audited. */
static void test_wrong_vlan_is_fixed(void **state)
{
	struct fx *f = *state;

	device(f, M1, "business");
	assert_int_equal(peer_connect_sta(f->ap0, M1, 0, NULL), 0);
	RUN_UNTIL(f, strstr(f->cmd0, "DEAUTHENTICATE"));
	assert_string_equal(f->cmd0, "STA " M1 "|ACCEPT_ACL DEL_MAC " M1 "|ACCEPT_ACL ADD_MAC " M1 " VLAN_ID=10"
				     "|DENY_ACL DEL_MAC " M1 "|DEAUTHENTICATE " M1);
	assert_string_equal(f->cmd1, "");
	struct last_audit a = audit(f, M1, "repair");
	assert_int_equal(a.n, 1);
	assert_non_null(strstr(a.detail, "in VLAN 0 on a work BSS, belongs in the work VLAN 10"));

	/* it comes back in VLAN 10: nothing more is sent */
	clear(f);
	assert_int_equal(peer_connect_sta(f->ap0, M1, 10, NULL), -EEXIST); /* still listed after deauth */
	assert_int_equal(peer_del_sta(f->ap0, M1), 0);
	assert_int_equal(peer_connect_sta(f->ap0, M1, 10, NULL), 0);
	RUN_UNTIL(f, strstr(f->cmd0, "STA " M1));
	assert_string_equal(f->cmd0, "STA " M1);
	assert_int_equal(audit(f, M1, "repair").n, 1);
}

/* A pending device that turns up in the work VLAN (a stale accept entry)
 * goes back to onboarding. */
static void test_pending_in_work_vlan(void **state)
{
	struct fx *f = *state;

	assert_int_equal(peer_connect_sta(f->ap0, M2, 10, NULL), 0);
	RUN_UNTIL(f, strstr(f->cmd0, "DEAUTHENTICATE"));
	assert_string_equal(f->cmd0, "STA " M2 "|ACCEPT_ACL DEL_MAC " M2 "|DENY_ACL DEL_MAC " M2 "|DEAUTHENTICATE " M2);
	assert_non_null(strstr(audit(f, M2, "repair").detail, "without approval, belongs in onboarding"));
}

/* A staff phone (approved personal) on the work SSID that supports BSS
 * Transition: asked to move to the guest BSS (its BSSID from STATUS), and
 * denied on the work BSS once it answers. */
static void test_phone_steered_to_guest(void **state)
{
	struct fx *f = *state;

	device(f, M1, "personal");
	peer_set_bss_tm_resp(f->ap0, 0);
	assert_int_equal(peer_add_sta(f->ap0, M1, 0, NULL), 0);
	assert_int_equal(peer_set_sta_btm(f->ap0, M1, true), 0);
	assert_int_equal(peer_emit(f->ap0, "AP-STA-CONNECTED " M1), 1);
	RUN_UNTIL(f, strstr(f->cmd0, "DEAUTHENTICATE"));
	assert_string_equal(f->cmd0, "STA " M1
		"|BSS_TM_REQ " M1 " pref=1 abridged=1 disassoc_imminent=1 disassoc_timer=2 neighbor=" BSSID1 ",0x0000,81,6,7"
		"|ACCEPT_ACL DEL_MAC " M1 "|DENY_ACL ADD_MAC " M1 "|DEAUTHENTICATE " M1);
	assert_string_equal(f->cmd1, "");
	struct last_audit a = audit(f, M1, "steer");
	assert_int_equal(a.n, 1);
	assert_non_null(strstr(a.detail, "asked to move to ap1 (BSS transition to " BSSID1 ")"));
	struct ctl_stats st;
	ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.repair_steers, 1);
	assert_int_equal(st.repair_btm_resps, 1);
}

/* No answer to the BSS transition request: denied after steer_timeout_ms. */
static void test_steer_times_out(void **state)
{
	struct fx *f = *state;
	long long t0;

	device(f, M1, "personal");
	assert_int_equal(peer_add_sta(f->ap0, M1, 0, NULL), 0);
	assert_int_equal(peer_set_sta_btm(f->ap0, M1, true), 0);
	t0 = util_mono_ms();
	assert_int_equal(peer_emit(f->ap0, "AP-STA-CONNECTED " M1), 1);
	RUN_UNTIL(f, strstr(f->cmd0, "BSS_TM_REQ"));
	assert_null(strstr(f->cmd0, "DENY_ACL ADD_MAC"));
	RUN_UNTIL(f, strstr(f->cmd0, "DEAUTHENTICATE"));
	assert_true(util_mono_ms() - t0 >= 300);
	assert_non_null(strstr(f->cmd0, "|DENY_ACL ADD_MAC " M1 "|DEAUTHENTICATE " M1));
}

/* A business device on the guest SSID that cannot do BSS Transition: denied
 * there at once (which also kicks it), then deauthenticated. */
static void test_business_on_guest_denied(void **state)
{
	struct fx *f = *state;

	device(f, M1, "business");
	assert_int_equal(peer_connect_sta(f->ap1, M1, 0, NULL), 0);
	RUN_UNTIL(f, strstr(f->cmd1, "DEAUTHENTICATE"));
	assert_string_equal(f->cmd1, "STA " M1 "|DENY_ACL ADD_MAC " M1 "|DEAUTHENTICATE " M1);
	assert_non_null(strstr(audit(f, M1, "steer").detail, "no BSS transition support"));
	assert_null(strstr(f->cmd0, "DEAUTHENTICATE"));
}

/* Blocked yet associated (e.g. the deny list was lost): denied again and
 * deauthenticated. */
static void test_blocked_station_denied(void **state)
{
	struct fx *f = *state;

	device(f, M1, "blocked");
	assert_int_equal(peer_add_sta(f->ap1, M1, 0, NULL), 0);
	assert_int_equal(peer_emit(f->ap1, "AP-STA-CONNECTED " M1), 1);
	RUN_UNTIL(f, strstr(f->cmd1, "DEAUTHENTICATE"));
	assert_string_equal(f->cmd1, "STA " M1 "|DENY_ACL ADD_MAC " M1 "|DEAUTHENTICATE " M1);
}

/* The loop limit: a device that lands in the wrong VLAN after every fix is
 * fixed max_fixes (2) times, then held: no more deauthentication, an alert,
 * and nothing until a person acts; after that, repair works again. */
static int alert_count(const struct reg_alert *a, void *ud)
{
	if (!strcmp(a->kind, "repair_loop"))
		(*(int *)ud)++;
	return 0;
}

static void reconnect_wrong(struct fx *f, const char *mac)
{
	peer_del_sta(f->ap0, mac);
	assert_int_equal(peer_connect_sta(f->ap0, mac, 0, NULL), 0);
}

static void test_loop_limit_holds(void **state)
{
	struct fx *f = *state;
	struct reg_device *d = NULL;
	struct reg_approval biz = { .cls = REG_CLASS_BUSINESS };
	int alerts = 0;

	device(f, M1, "business");
	for (int i = 1; i <= 2; i++) {
		reconnect_wrong(f, M1);
		RUN_UNTIL(f, count(f->cmd0, "DEAUTHENTICATE") == i);
	}
	clear(f);
	reconnect_wrong(f, M1); /* third time: held */
	RUN_UNTIL(f, audit(f, M1, "hold").n == 1);
	spin(f, 50);
	assert_int_equal(count(f->cmd0, "DEAUTHENTICATE"), 0);
	/* held = onboarding: out of the accept list, nothing denied */
	assert_non_null(strstr(f->cmd0, "ACCEPT_ACL DEL_MAC " M1));
	assert_null(strstr(f->cmd0, "ACCEPT_ACL ADD_MAC"));
	assert_int_equal(reg_get(f->reg, M1, &d), 0);
	assert_true(d->held_at > 0);
	reg_device_free(d);
	assert_int_equal(reg_alerts(f->reg, false, 0, alert_count, &alerts), 0);
	assert_int_equal(alerts, 1);
	assert_non_null(strstr(audit(f, M1, "hold").detail, "2 fixes within 600 s"));

	/* nothing is retried while held */
	for (int i = 0; i < 3; i++) {
		clear(f);
		reconnect_wrong(f, M1);
		RUN_UNTIL(f, strstr(f->cmd0, "STA " M1));
		spin(f, 30);
		assert_string_equal(f->cmd0, "STA " M1);
	}
	assert_int_equal(audit(f, M1, "repair").n, 2);

	/* a person approves again: the hold goes and the device is fixed */
	clear(f);
	assert_int_equal(ctl_approve(f->ctl, M1, &biz, &who), 0);
	RUN_UNTIL(f, strstr(f->cmd0, "DEAUTHENTICATE " M1));
	assert_int_equal(audit(f, M1, "repair").n, 3);
}

/* A resync (apgated attaching to a running hostapd) checks the listed
 * stations from the list itself. */
static void test_resync_checks_stations(void **state)
{
	struct fx *f = *state;

	device(f, M1, "business");
	peer_free(f->ap0);
	f->ap0 = NULL;
	RUN_UNTIL(f, n_attached(f) == 1);
	assert_int_equal(peer_new(f->base, f->ctrl, "ap0", &f->ap0), 0);
	peer_set_command_cb(f->ap0, on_cmd, f);
	assert_int_equal(peer_add_sta(f->ap0, M1, 0, NULL), 0);
	clear(f);
	RUN_UNTIL(f, n_attached(f) == 2 && strstr(f->cmd0, "DEAUTHENTICATE " M1));
	assert_null(strstr(f->cmd0, "STA " M1)); /* the list had the VLAN already */
	assert_int_equal(audit(f, M1, "repair").n, 1);
}

/* ---- per-device keys ---- */

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	static char buf[4096];
	size_t n;

	if (!fp)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = 0;
	fclose(fp);
	return buf;
}

static void test_key_issue_readdress_revoke(void **state)
{
	struct fx *f = *state;
	struct ctl_key k;
	struct reg_device *d = NULL;
	char path[200], line[160];
	const char *text;

	device(f, M1, "business");
	snprintf(path, sizeof(path), "%s/lists/ap0.psk", f->dir);
	assert_int_equal(ctl_issue_key(f->ctl, M1, &who, &k), 0);
	assert_string_equal(k.ssid, "Shop-Work");
	assert_int_equal(strlen(k.passphrase) >= 8, 1);
	RUN_UNTIL(f, strstr(f->cmd0, "RELOAD_WPA_PSK"));
	text = slurp(path);
	assert_non_null(text);
	assert_int_equal(reg_get(f->reg, M1, &d), 0);
	snprintf(line, sizeof(line), "keyid=%s vlanid=10 00:00:00:00:00:00 %s\n", k.keyid, d->psk_hex);
	reg_device_free(d);
	assert_non_null(strstr(text, line));
	assert_null(strstr(text, k.passphrase)); /* only the derived PSK is written */
	assert_int_equal(ctl_issue_key(f->ctl, M2, &who, &k) == -ENOENT, 1);

	/* the device connects under a new private address with its key */
	char ev[128];
	clear(f);
	assert_int_equal(peer_add_sta(f->ap0, M2, 10, k.keyid), 0);
	snprintf(ev, sizeof(ev), "AP-STA-CONNECTED " M2 " keyid=%s", k.keyid);
	/* k was overwritten by the failed call above: re-read the keyid */
	(void)ev;
	assert_int_equal(reg_get(f->reg, M1, &d), 0);
	snprintf(ev, sizeof(ev), "AP-STA-CONNECTED " M2 " keyid=%s", d->psk_keyid);
	reg_device_free(d);
	assert_int_equal(peer_emit(f->ap0, ev), 1);
	RUN_UNTIL(f, known(f, M2) && !known(f, M1));
	assert_int_equal(reg_get(f->reg, M2, &d), 0);
	assert_int_equal(d->state, REG_APPROVED);
	assert_int_equal(d->cls, REG_CLASS_BUSINESS);
	reg_device_free(d);
	assert_non_null(strstr(audit(f, M2, "readdress").detail, "was " M1 ", recognised by its key"));
	/* the old address lost its entries, the new one has them */
	RUN_UNTIL(f, strstr(f->cmd0, "ACCEPT_ACL ADD_MAC " M2 " VLAN_ID=10"));
	assert_non_null(strstr(f->cmd0, "ACCEPT_ACL DEL_MAC " M1));
	assert_null(strstr(f->cmd0, "DEAUTHENTICATE")); /* it is in VLAN 10: right place */

	/* revoke: the line goes, hostapd reloads, the station is deauthenticated */
	clear(f);
	assert_int_equal(ctl_revoke_key(f->ctl, M2, &who), 0);
	RUN_UNTIL(f, strstr(f->cmd0, "DEAUTHENTICATE " M2));
	assert_string_equal(f->cmd0, "RELOAD_WPA_PSK|DEAUTHENTICATE " M2);
	text = slurp(path);
	assert_null(strstr(text, "keyid="));
	assert_int_equal(ctl_revoke_key(f->ctl, M2, &who), -EALREADY);
}

/* Keys only for approved business devices; blocking takes the line out. */
static void test_key_rules(void **state)
{
	struct fx *f = *state;
	struct ctl_key k;
	char path[200];

	device(f, M1, "personal");
	assert_int_equal(ctl_issue_key(f->ctl, M1, &who, &k), -EPERM);
	device(f, M2, "business");
	assert_int_equal(ctl_issue_key(f->ctl, M2, &who, &k), 0);
	snprintf(path, sizeof(path), "%s/lists/ap0.psk", f->dir);
	assert_non_null(strstr(slurp(path), k.keyid));
	clear(f);
	assert_int_equal(ctl_block(f->ctl, M2, &who), 0);
	RUN_UNTIL(f, strstr(f->cmd0, "RELOAD_WPA_PSK"));
	assert_null(strstr(slurp(path), k.keyid));
	/* the accept and deny files follow too */
	snprintf(path, sizeof(path), "%s/lists/ap0.deny", f->dir);
	assert_non_null(strstr(slurp(path), M2));
	assert_non_null(strstr(slurp(path), M1)); /* the phone is denied on work */
	snprintf(path, sizeof(path), "%s/lists/ap1.deny", f->dir);
	assert_non_null(strstr(slurp(path), M2));
	assert_null(strstr(slurp(path), M1));
}

int main(void)
{
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_wrong_vlan_is_fixed),
		T(test_pending_in_work_vlan),
		T(test_phone_steered_to_guest),
		T(test_steer_times_out),
		T(test_business_on_guest_denied),
		T(test_blocked_station_denied),
		T(test_loop_limit_holds),
		T(test_resync_checks_stations),
		T(test_key_issue_readdress_revoke),
		T(test_key_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
