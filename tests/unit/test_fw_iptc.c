/* The kernel backend for real: every test runs in a fresh private network
 * namespace (unshare(CLONE_NEWNET)), applies plans through libiptc and reads
 * them back with iptables-legacy-save / ip6tables-legacy-save run in the
 * same namespace (fork/exec, no shell). Skipped when not root or when
 * namespaces are not available. The host's firewall is never touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/fw.h"
#include "log.h"
#include "util.h"

static char lockfile[] = "/tmp/apgate-fw-lock-XXXXXX";

/* ---- helpers ---- */

/* Runs argv (no shell) with stdin from in_text (may be NULL); returns its
 * stdout (caller frees) and stores the exit status. */
static char *run(char *const argv[], const char *in_text, int *status)
{
	int out[2], in[2];
	char *buf = NULL;
	size_t len = 0;
	pid_t pid;

	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(in), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (in_text) {
		size_t n = strlen(in_text), off = 0;
		while (off < n) {
			ssize_t w = write(in[1], in_text + off, n - off);
			assert_true(w > 0);
			off += (size_t)w;
		}
	}
	close(in[1]);
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	ssize_t r;
	while ((r = read(out[0], chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)r, m);
	fclose(m);
	close(out[0]);
	assert_int_equal(waitpid(pid, status, 0), pid);
	return buf;
}

static void ipt(int family, const char *a0, ...)
{
	char *argv[32];
	int n = 0, st;
	va_list ap;

	argv[n++] = (char *)(family == AF_INET ? "iptables-legacy" : "ip6tables-legacy");
	argv[n++] = (char *)"-w";
	va_start(ap, a0);
	for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	free(run(argv, NULL, &st));
	assert_int_equal(st, 0);
}

/* iptables-save output of one table (NULL: all), without the comment lines
 * and with every counter as [0:0]. */
static char *save(int family, const char *table)
{
	char *argv[] = { (char *)(family == AF_INET ? "iptables-legacy-save" : "ip6tables-legacy-save"),
			 (char *)"-t", (char *)table, NULL };
	int st;
	if (!table)
		argv[1] = NULL;
	char *raw = run(argv, NULL, &st);
	assert_int_equal(st, 0);

	char *buf = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);
	char *save_p = NULL;
	for (char *line = strtok_r(raw, "\n", &save_p); line; line = strtok_r(NULL, "\n", &save_p)) {
		if (line[0] == '#')
			continue;
		char *c = strrchr(line, '[');
		if (line[0] == ':' && c)
			fprintf(m, "%.*s[0:0]\n", (int)(c - line), line);
		else
			fprintf(m, "%s\n", line);
	}
	fclose(m);
	free(raw);
	return buf;
}

/* Lines of text that contain (want=true) or do not contain "APGATE_". */
static char *grep_apgate(const char *text, bool want)
{
	char *copy = strdup(text), *buf = NULL, *sp = NULL;
	size_t len;
	FILE *m = open_memstream(&buf, &len);
	for (char *l = strtok_r(copy, "\n", &sp); l; l = strtok_r(NULL, "\n", &sp))
		if ((strstr(l, "APGATE_") != NULL) == want)
			fprintf(m, "%s\n", l);
	fclose(m);
	free(copy);
	return buf;
}

/* The rendered plan's section for one table ("" if none). */
static char *render_table(const struct fw_net *n, const struct fw_dev *d, unsigned nd, int family,
			  const char *table)
{
	char *all = NULL, *buf = NULL, *sp = NULL;
	size_t len;
	FILE *f = open_memstream(&all, &len);
	assert_int_equal(fw_render(n, d, nd, family, f), 0);
	fclose(f);
	FILE *m = open_memstream(&buf, &len);
	bool in = false;
	for (char *l = strtok_r(all, "\n", &sp); l; l = strtok_r(NULL, "\n", &sp)) {
		if (l[0] == '*')
			in = strcmp(l + 1, table) == 0;
		else if (in && strcmp(l, "COMMIT") != 0)
			fprintf(m, "%s\n", l);
	}
	fclose(m);
	free(all);
	return buf;
}

static struct in_addr ip4(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static struct fw_cidr4 lan4[2];
static struct fw_cidr6 lan6[1];

static struct fw_net net_shop(void)
{
	struct fw_net n = { 0 };
	util_strlcpy(n.zone[FW_ZONE_WORK].ifname, "wlan0", IFNAMSIZ);
	n.zone[FW_ZONE_WORK].gw4 = ip4("10.10.0.1");
	n.zone[FW_ZONE_WORK].len4 = 24;
	util_strlcpy(n.zone[FW_ZONE_GUEST].ifname, "wlan0_1", IFNAMSIZ);
	n.zone[FW_ZONE_GUEST].gw4 = ip4("10.20.0.1");
	n.zone[FW_ZONE_GUEST].len4 = 24;
	inet_pton(AF_INET6, "fd00:20::", &n.zone[FW_ZONE_GUEST].net6.addr);
	n.zone[FW_ZONE_GUEST].net6.len = 64;
	util_strlcpy(n.zone[FW_ZONE_ONBOARDING].ifname, "onb0", IFNAMSIZ);
	n.zone[FW_ZONE_ONBOARDING].gw4 = ip4("10.30.0.1");
	n.zone[FW_ZONE_ONBOARDING].len4 = 24;
	util_strlcpy(n.uplink, "eth0", IFNAMSIZ);
	n.masquerade = true;
	n.captive_port = 8080;
	lan4[0] = (struct fw_cidr4){ ip4("192.168.1.10"), 32 };
	lan4[1] = (struct fw_cidr4){ ip4("203.0.113.0"), 28 };
	inet_pton(AF_INET6, "2001:db8:99::", &lan6[0].addr);
	lan6[0].len = 48;
	n.lan4 = lan4;
	n.n_lan4 = 2;
	n.lan6 = lan6;
	n.n_lan6 = 1;
	return n;
}

static const struct fw_dev devs[] = {
	{ { 0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc }, FW_WORK },
	{ { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b }, FW_BLOCKED },
	{ { 0x8a, 0x11, 0x22, 0x33, 0x44, 0x55 }, FW_GUEST },
};

static const char *const tables[] = { "mangle", "nat", "filter" };

/* A private network namespace for each test (a new one every time: fresh
 * tables); the test skips where there is none. */
static bool ns_ok;

static int ns_setup(void **state)
{
	(void)state;
	ns_ok = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
	return 0;
}

#define NEED_NS()                 \
	do {                      \
		if (!ns_ok)       \
			skip();   \
	} while (0)

/* Foreign rules and a foreign chain in every table we use. */
static void foreign_rules(void)
{
	for (int fam = AF_INET; fam <= AF_INET6; fam += AF_INET6 - AF_INET) {
		ipt(fam, "-t", "filter", "-N", "FOREIGN", NULL);
		ipt(fam, "-t", "filter", "-A", "FOREIGN", "-p", "tcp", "--dport", "22", "-j", "ACCEPT", NULL);
		ipt(fam, "-t", "filter", "-A", "INPUT", "-j", "FOREIGN", NULL);
		ipt(fam, "-t", "filter", "-A", "FORWARD", "-i", "eth9", "-j", "ACCEPT", NULL);
		ipt(fam, "-t", "mangle", "-A", "PREROUTING", "-i", "eth9", "-j", "MARK", "--set-mark", "7", NULL);
		ipt(fam, "-t", "nat", "-A", "POSTROUTING", "-o", "eth9", "-j", "MASQUERADE", NULL);
	}
}

static char *save_all(void)
{
	char *a = save(AF_INET, NULL), *b = save(AF_INET6, NULL), *r = NULL;
	assert_true(asprintf(&r, "%s%s", a, b) > 0);
	free(a);
	free(b);
	return r;
}

/* ---- tests ---- */

/* What the kernel holds, read back by iptables-legacy-save, is the
 * rendered plan line for line; and the saved rules restore. */
static void test_apply_equals_render(void **state)
{
	struct fw *fw = NULL;
	struct fw_net n = net_shop();
	(void)state;
	NEED_NS();

	assert_int_equal(fw_new(&fw_ops_iptc, NULL, &fw), 0);
	assert_int_equal(fw_sync(fw, &n, devs, ARRAY_SIZE(devs)), 0);
	for (int fam = AF_INET; fam <= AF_INET6; fam += AF_INET6 - AF_INET)
		for (unsigned t = 0; t < ARRAY_SIZE(tables); t++) {
			char *s = save(fam, tables[t]);
			char *got = grep_apgate(s, true);
			char *want = render_table(&n, devs, ARRAY_SIZE(devs), fam, tables[t]);
			if (strcmp(got, want) != 0)
				fprintf(stderr, "kernel (%d %s):\n%s\nplan:\n%s", fam, tables[t], got, want);
			assert_string_equal(got, want);
			assert_null(strstr(s, "unsupported"));
			free(s);
			free(got);
			free(want);
		}
	/* what iptables-legacy-save printed, iptables-legacy-restore takes */
	for (int fam = AF_INET; fam <= AF_INET6; fam += AF_INET6 - AF_INET) {
		char *s = save(fam, NULL);
		char *argv[] = { (char *)(fam == AF_INET ? "iptables-legacy-restore" : "ip6tables-legacy-restore"),
				 (char *)"--test", NULL };
		int st;
		free(run(argv, s, &st));
		assert_int_equal(st, 0);
		free(s);
	}
	fw_free(fw);
}

/* Sync twice, and sync from a new instance (a restart) with the devices in
 * another order: byte-identical save output. fw_free() leaves the rules. */
static void test_sync_idempotent(void **state)
{
	struct fw *fw = NULL;
	struct fw_net n = net_shop();
	struct fw_dev rev[ARRAY_SIZE(devs)];
	(void)state;
	NEED_NS();

	for (unsigned i = 0; i < ARRAY_SIZE(devs); i++)
		rev[i] = devs[ARRAY_SIZE(devs) - 1 - i];
	foreign_rules();
	assert_int_equal(fw_new(&fw_ops_iptc, NULL, &fw), 0);
	assert_int_equal(fw_sync(fw, &n, devs, ARRAY_SIZE(devs)), 0);
	char *s1 = save_all();
	assert_non_null(strstr(s1, "-A APGATE_MARK -m mac --mac-source 00:1b:21:aa:bb:cc"));
	assert_int_equal(fw_sync(fw, &n, devs, ARRAY_SIZE(devs)), 0);
	char *s2 = save_all();
	assert_string_equal(s1, s2);
	fw_free(fw);
	char *s3 = save_all(); /* rules stay after free */
	assert_string_equal(s1, s3);
	fw = NULL;
	assert_int_equal(fw_new(&fw_ops_iptc, NULL, &fw), 0);
	assert_int_equal(fw_sync(fw, &n, rev, ARRAY_SIZE(rev)), 0);
	char *s4 = save_all();
	assert_string_equal(s1, s4);
	fw_free(fw);
	free(s1);
	free(s2);
	free(s3);
	free(s4);
}

/* Foreign rules and chains, added before and after, survive sync and
 * flush; our hook goes back to position 1; a stale APGATE_ chain goes;
 * flush leaves exactly the foreign rules. */
static void test_foreign_survive(void **state)
{
	struct fw *fw = NULL;
	struct fw_net n = net_shop();
	(void)state;
	NEED_NS();

	foreign_rules();
	char *before = save_all();
	assert_int_equal(fw_new(&fw_ops_iptc, NULL, &fw), 0);
	assert_int_equal(fw_sync(fw, &n, devs, ARRAY_SIZE(devs)), 0);

	/* afterwards: a rule in front of our hook, a new chain, a stale chain of ours */
	ipt(AF_INET, "-I", "FORWARD", "1", "-p", "udp", "--dport", "5353", "-j", "DROP", NULL);
	ipt(AF_INET, "-N", "LATER", NULL);
	ipt(AF_INET, "-A", "LATER", "-j", "RETURN", NULL);
	ipt(AF_INET6, "-t", "mangle", "-A", "PREROUTING", "-i", "eth8", "-j", "RETURN", NULL);
	ipt(AF_INET, "-N", "APGATE_OLD", NULL);
	ipt(AF_INET, "-A", "APGATE_OLD", "-j", "DROP", NULL);
	ipt(AF_INET, "-A", "OUTPUT", "-j", "APGATE_OLD", NULL);
	assert_int_equal(fw_sync(fw, &n, devs, ARRAY_SIZE(devs)), 0);

	char *f = save(AF_INET, "filter");
	assert_null(strstr(f, "APGATE_OLD"));
	assert_non_null(strstr(f, ":LATER - [0:0]\n"));
	assert_non_null(strstr(f, "-A FORWARD -j APGATE_FWD\n-A FORWARD -p udp -m udp --dport 5353 -j DROP\n"
				  "-A FORWARD -i eth9 -j ACCEPT\n"));
	assert_non_null(strstr(f, "-A INPUT -j APGATE_IN\n-A INPUT -j FOREIGN\n"));
	free(f);
	char *m6 = save(AF_INET6, "mangle");
	assert_non_null(strstr(m6, "-A PREROUTING -j APGATE_MARK\n"
				   "-A PREROUTING -i eth9 -j MARK --set-xmark 0x7/0xffffffff\n"
				   "-A PREROUTING -i eth8 -j RETURN\n"));
	free(m6);

	/* flush: exactly the foreign rules remain */
	char *synced = save_all();
	char *expect = grep_apgate(synced, false);
	assert_int_equal(fw_flush(fw), 0);
	char *after = save_all();
	assert_string_equal(after, expect);
	assert_int_equal(fw_update_device(fw, &devs[0]), -ENOENT);
	/* flushing again finds nothing and changes nothing */
	assert_int_equal(fw_flush(fw), 0);
	char *again = save_all();
	assert_string_equal(again, expect);
	assert_non_null(strstr(after, "-A FOREIGN -p tcp -m tcp --dport 22 -j ACCEPT"));
	assert_null(strstr(before, "APGATE_"));
	fw_free(fw);
	free(before);
	free(synced);
	free(expect);
	free(after);
	free(again);
}

/* One decision changes the mangle tables only, and exactly as planned. */
static void test_update_only_mangle(void **state)
{
	struct fw *fw = NULL;
	struct fw_net n = net_shop();
	struct fw_dev all[ARRAY_SIZE(devs) + 1];
	struct fw_dev d = { { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a }, FW_WORK };
	char *before[2][3], *after[2][3];
	(void)state;
	NEED_NS();

	foreign_rules();
	assert_int_equal(fw_new(&fw_ops_iptc, NULL, &fw), 0);
	assert_int_equal(fw_sync(fw, &n, devs, ARRAY_SIZE(devs)), 0);
	for (int f = 0; f < 2; f++)
		for (int t = 0; t < 3; t++)
			before[f][t] = save(f ? AF_INET6 : AF_INET, tables[t]);
	assert_int_equal(fw_update_device(fw, &d), 0);
	for (int f = 0; f < 2; f++)
		for (int t = 0; t < 3; t++)
			after[f][t] = save(f ? AF_INET6 : AF_INET, tables[t]);
	memcpy(all, devs, sizeof(devs));
	all[ARRAY_SIZE(devs)] = d;
	for (int f = 0; f < 2; f++) {
		int fam = f ? AF_INET6 : AF_INET;
		assert_string_not_equal(before[f][0], after[f][0]);
		assert_string_equal(before[f][1], after[f][1]);
		assert_string_equal(before[f][2], after[f][2]);
		char *got = grep_apgate(after[f][0], true);
		char *want = render_table(&n, all, ARRAY_SIZE(all), fam, "mangle");
		assert_string_equal(got, want);
		assert_non_null(strstr(got, "--mac-source 02:00:00:00:00:0a -j MARK --set-xmark 0x10000/0xff0000"));
		free(got);
		free(want);
		assert_non_null(strstr(after[f][0], "-i eth9 -j MARK")); /* the foreign rule */
	}
	/* block it, then forget it: back to the synced state */
	d.v = FW_BLOCKED;
	assert_int_equal(fw_update_device(fw, &d), 0);
	char *m = save(AF_INET, "mangle");
	assert_non_null(strstr(m, "--mac-source 02:00:00:00:00:0a -j MARK --set-xmark 0x30000/0xff0000"));
	free(m);
	d.v = FW_ONBOARDING;
	assert_int_equal(fw_update_device(fw, &d), 0);
	m = save(AF_INET, "mangle");
	assert_string_equal(m, before[0][0]);
	free(m);
	for (int f = 0; f < 2; f++)
		for (int t = 0; t < 3; t++) {
			free(before[f][t]);
			free(after[f][t]);
		}
	fw_free(fw);
}

/* The xtables lock is taken: a holder delays the sync until it lets go. */
static void test_lock_waits(void **state)
{
	struct fw *fw = NULL;
	struct fw_net n = net_shop();
	int pfd[2];
	(void)state;
	NEED_NS();

	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) { /* its own open file: the lock goes when it exits */
		int fd = open(lockfile, O_RDWR);
		flock(fd, LOCK_EX);
		(void)!write(pfd[1], "x", 1);
		usleep(300 * 1000);
		_exit(0);
	}
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	assert_int_equal(fw_new(&fw_ops_iptc, NULL, &fw), 0);
	long long t0 = util_mono_ms();
	assert_int_equal(fw_sync(fw, &n, devs, ARRAY_SIZE(devs)), 0);
	long long waited = util_mono_ms() - t0;
	int st;
	waitpid(pid, &st, 0);
	assert_true(waited >= 250);
	fw_free(fw);
	close(pfd[0]);
	close(pfd[1]);
}

static int group_setup(void **state)
{
	int fd;
	(void)state;
	log_open("test_fw_iptc", LOG_LVL_WARN, false);
	fd = mkstemp(lockfile);
	if (fd < 0)
		return -1;
	close(fd);
	/* our own lock file: iptables-legacy run by the tests honours it too,
	 * and the tests never hold up iptables elsewhere on the machine */
	setenv("XTABLES_LOCKFILE", lockfile, 1);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(lockfile);
	return 0;
}

#define NS_TEST(f) cmocka_unit_test_setup(f, ns_setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		NS_TEST(test_apply_equals_render),
		NS_TEST(test_sync_idempotent),
		NS_TEST(test_foreign_survive),
		NS_TEST(test_update_only_mangle),
		NS_TEST(test_lock_waits),
	};
	return cmocka_run_group_tests_name("fw_iptc", tests, group_setup, group_teardown);
}
