/* The controller's firewall self-check ([network] fw_check_interval): with
 * an in-memory firewall backend (what was committed is what reads back),
 * a foreign process's edits - a hook jump deleted, a rule deleted, a chain
 * deleted, a jump pushed down, a chain of its own named APGATE_ - are found
 * and the rules rebuilt, counted in ctl_get_stats(); rules in line cost no
 * commit; a failing backend is left to the retry (no extra commits); a
 * restore that does not bring the kernel in line is not repeated. */
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
#include <sys/socket.h>

#include "cfg.h"
#include "ctl/ctl.h"
#include "io/fw.h"
#include "io/fw_plan.h"
#include "log.h"
#include "model/reg.h"
#include "util.h"

struct fake_fw {
	struct fw_ktable t[2][FW_TID_N]; /* [ipv4, ipv6][table] */
	unsigned commits;
	int fail;            /* commit returns this when set */
	bool drop_mark_rule; /* a broken backend: APGATE_MARK gets one rule less */
};

static struct fw_ktable *fake_table(struct fake_fw *k, int family, const char *table)
{
	for (int tid = 0; tid < FW_TID_N; tid++)
		if (strcmp(fw_tid_name(tid), table) == 0)
			return &k->t[family == AF_INET ? 0 : 1][tid];
	return NULL;
}

static int fake_commit(void *ud, const struct fw_table *t)
{
	struct fake_fw *f = ud;
	struct fw_ktable *k = fake_table(f, t->family, t->name);

	f->commits++;
	if (f->fail)
		return f->fail;
	memset(k, 0, sizeof(*k));
	for (unsigned i = 0; i < t->n_chains; i++) {
		struct fw_kchain *c = &k->chains[k->n++];
		util_strlcpy(c->name, t->chains[i].name, sizeof(c->name));
		c->rules = t->chains[i].n;
		if (f->drop_mark_rule && !strcmp(c->name, "APGATE_MARK") && c->rules)
			c->rules--;
		if (t->chains[i].hook) {
			util_strlcpy(c->hook, t->chains[i].hook, sizeof(c->hook));
			c->hook_pos = 1;
			c->hook_jumps = 1;
		}
	}
	return 0;
}

static int fake_flush(void *ud, int family, const char *table)
{
	memset(fake_table(ud, family, table), 0, sizeof(struct fw_ktable));
	return 0;
}

static int fake_read(void *ud, int family, const char *table, struct fw_ktable *out)
{
	*out = *fake_table(ud, family, table);
	return 0;
}

static const struct fw_ops fake_ops = { .name = "fake", .commit = fake_commit, .flush = fake_flush };
static const struct fw_read_ops fake_read_ops = { .read = fake_read };

struct fx {
	struct fake_fw fake;
	struct fw *fw;
	char dir[64];
	char cfgpath[128];
	struct cfg *cfg;
	struct event_base *base;
	struct reg *reg;
	struct ctl *ctl;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[200];
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/tmp/apgate-ctlfw-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->cfgpath, sizeof(f->cfgpath), "%s/apgate.conf", f->dir);
	fp = fopen(f->cfgpath, "w");
	/* hostapd is absent: its clients retry in the background */
	fprintf(fp, "[apgated]\nregistry = %s/reg.db\nadmin_socket = %s/admin.sock\noui_dir =\n"
		    "[hostapd]\nctrl_dir = %s/nohostapd\nclient_dir = %s\ndata_dir = %s\n"
		    "[bss ap0]\nzone = work\n[bss ap1]\nzone = guest\n"
		    "[zone work]\ninterface = apgt-w0\naddress = 10.77.0.1/24\n"
		    "[zone guest]\ninterface = apgt-g0\naddress = 10.78.0.1/24\n"
		    "[network]\nuplink = apgt-up0\nfw_check_interval = 5\n[portal]\nenabled = no\n",
		f->dir, f->dir, f->dir, f->dir, f->dir);
	fclose(fp);
	log_open("test_ctl_fw", LOG_LVL_ERR, false);
	if (cfg_load(f->cfgpath, stderr, &f->cfg) < 0)
		return -1;
	f->base = event_base_new();
	snprintf(path, sizeof(path), "%s/reg.db", f->dir);
	if (fw_new(&fake_ops, &f->fake, &f->fw) < 0)
		return -1;
	fw_set_reader(f->fw, &fake_read_ops, &f->fake);
	struct ctl_enforcers enf = { .fw = f->fw };
	if (reg_open(path, &f->reg) < 0 || ctl_new(f->base, f->cfg, f->reg, NULL, &enf, &f->ctl) < 0)
		return -1;
	/* one approved device: APGATE_MARK has a rule for it */
	struct ctl_lease l = { .action = "add", .mac = "02:00:00:00:01:01", .ip = "10.77.0.200",
			       .interface = "apgt-w0" };
	if (ctl_lease(f->ctl, &l) < 0)
		return -1;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS };
	struct reg_actor who = { "test", "unit" };
	if (ctl_approve(f->ctl, "02:00:00:00:01:01", &a, &who) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[200];

	ctl_free(f->ctl);
	fw_free(f->fw);
	reg_close(f->reg);
	event_base_free(f->base);
	cfg_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static struct fw_kchain *kchain(struct fx *f, int family, const char *table, const char *name)
{
	struct fw_ktable *t = fake_table(&f->fake, family, table);

	for (unsigned i = 0; i < t->n; i++)
		if (!strcmp(t->chains[i].name, name))
			return &t->chains[i];
	fail_msg("no %s in %s", name, table);
	return NULL;
}

static unsigned long restores(struct fx *f)
{
	struct ctl_stats st;

	ctl_get_stats(f->ctl, &st);
	return st.fw_restores;
}

/* Every chain present, hooked at 1, with the plan's count, no extra chain. */
static void assert_in_line(struct fx *f)
{
	struct fw_check chk;

	assert_int_equal(fw_check(f->fw, &chk), 0);
	assert_true(chk.n > 0);
	for (unsigned i = 0; i < chk.n; i++) {
		const struct fw_check_chain *k = &chk.chains[i];
		assert_true(k->planned && k->present);
		assert_int_equal(k->rules, k->want_rules);
		if (k->hook)
			assert_int_equal(k->hook_pos, 1);
	}
}

static void test_in_line_costs_no_commit(void **state)
{
	struct fx *f = *state;
	struct ctl_stats st;
	unsigned commits = f->fake.commits;

	assert_int_equal(ctl_check_firewall(f->ctl), 0);
	assert_int_equal(ctl_check_firewall(f->ctl), 0);
	assert_int_equal(f->fake.commits, commits);
	ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.fw_check_interval_s, 5);
	assert_int_equal(st.fw_checks, 2);
	assert_int_equal(st.fw_restores, 0);
	assert_int_equal(st.fw_last_restore_ms, 0);
}

static void test_foreign_edits_restored(void **state)
{
	struct fx *f = *state;
	struct ctl_stats st;
	struct fw_kchain *k;

	/* iptables -D FORWARD -j APGATE_FWD */
	k = kchain(f, AF_INET, "filter", "APGATE_FWD");
	k->hook[0] = 0;
	k->hook_pos = k->hook_jumps = 0;
	assert_int_equal(ctl_check_firewall(f->ctl), 1);
	assert_in_line(f);
	assert_int_equal(restores(f), 1);

	/* iptables -t mangle -D APGATE_MARK 1 (the device's mark) */
	k = kchain(f, AF_INET, "mangle", "APGATE_MARK");
	unsigned n_mark = k->rules;
	assert_true(n_mark > 0);
	k->rules--;
	assert_int_equal(ctl_check_firewall(f->ctl), 1);
	assert_in_line(f);
	assert_int_equal(kchain(f, AF_INET, "mangle", "APGATE_MARK")->rules, n_mark);

	/* ip6tables: APGATE_IN deleted (the last chain of filter) */
	struct fw_ktable *t6 = fake_table(&f->fake, AF_INET6, "filter");
	kchain(f, AF_INET6, "filter", "APGATE_IN");
	for (unsigned i = 0; i < t6->n; i++)
		if (!strcmp(t6->chains[i].name, "APGATE_IN"))
			t6->chains[i] = t6->chains[--t6->n];
	assert_int_equal(ctl_check_firewall(f->ctl), 1);
	assert_in_line(f);

	/* iptables -I FORWARD 1 ...: apgate's jump is rule 2 */
	kchain(f, AF_INET, "filter", "APGATE_FWD")->hook_pos = 2;
	assert_int_equal(ctl_check_firewall(f->ctl), 1);
	assert_int_equal(kchain(f, AF_INET, "filter", "APGATE_FWD")->hook_pos, 1);

	/* a chain named APGATE_ that is not in the plan */
	struct fw_ktable *t4 = fake_table(&f->fake, AF_INET, "filter");
	util_strlcpy(t4->chains[t4->n++].name, "APGATE_OLD", sizeof(t4->chains[0].name));
	assert_int_equal(ctl_check_firewall(f->ctl), 1);
	assert_in_line(f);

	ctl_get_stats(f->ctl, &st);
	assert_int_equal(st.fw_restores, 5);
	assert_true(st.fw_last_restore_ms > 0);
	assert_int_equal(ctl_check_firewall(f->ctl), 0); /* and quiet again */
}

/* The rebuild fails: ctl_enforce_all's retry owns it; the check adds no
 * commit of its own until the retry succeeded. */
static void test_failing_backend_left_to_retry(void **state)
{
	struct fx *f = *state;
	struct fw_kchain *k = kchain(f, AF_INET, "filter", "APGATE_FWD");
	unsigned commits;

	k->hook[0] = 0;
	k->hook_pos = k->hook_jumps = 0;
	f->fake.fail = -EIO;
	assert_int_equal(ctl_check_firewall(f->ctl), -EIO);
	assert_int_equal(restores(f), 0);
	commits = f->fake.commits;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ctl_check_firewall(f->ctl), 0);
	assert_int_equal(f->fake.commits, commits);
	/* the backend works again: the retry (2 s) restores it */
	f->fake.fail = 0;
	long long dl = util_mono_ms() + 4000;
	while (f->fake.commits == commits && util_mono_ms() < dl)
		event_base_loop(f->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_true(f->fake.commits > commits);
	assert_in_line(f);
	assert_int_equal(ctl_check_firewall(f->ctl), 0);
}

/* A restore that leaves the kernel differing is not repeated each round. */
static void test_no_restore_loop(void **state)
{
	struct fx *f = *state;
	unsigned commits;

	f->fake.drop_mark_rule = true;
	kchain(f, AF_INET, "mangle", "APGATE_MARK")->rules--;
	assert_int_equal(ctl_check_firewall(f->ctl), 1);
	commits = f->fake.commits;
	for (int i = 0; i < 3; i++)
		assert_int_equal(ctl_check_firewall(f->ctl), 0);
	assert_int_equal(f->fake.commits, commits);
	assert_int_equal(restores(f), 1);
	/* once it matches again, the check restores again */
	f->fake.drop_mark_rule = false;
	kchain(f, AF_INET, "mangle", "APGATE_MARK")->rules++;
	kchain(f, AF_INET6, "mangle", "APGATE_MARK")->rules++;
	assert_int_equal(ctl_check_firewall(f->ctl), 0);
	kchain(f, AF_INET, "filter", "APGATE_FWD")->hook_pos = 0;
	assert_int_equal(ctl_check_firewall(f->ctl), 1);
	assert_in_line(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_line_costs_no_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_edits_restored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failing_backend_left_to_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_restore_loop, setup, teardown),
	};
	return cmocka_run_group_tests_name("ctl_fw", tests, NULL, NULL);
}
