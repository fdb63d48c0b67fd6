/* test_dnsm.c - dnsmasq glue: rendered config and hostsfile against golden
 * files (tests/dnsm/), atomic replacement, and a reload that signals only
 * a process named dnsmasq.
 *
 * Golden files are read relative to the repository root (tests/run.sh runs
 * from there). UPDATE_GOLDEN=1 rewrites them from the current output; read
 * the diff before committing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/dnsm.h"
#include "log.h"
#include "util.h"

#define GOLDEN_DIR "tests/dnsm"

/* ---- helpers ---- */

static struct in_addr ip(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

static const struct dnsm_zone zones_all[] = {
	{ .name = "work", .ifname = "br-work", .prefix = 24, .lease_s = 43200 },
	{ .name = "guest", .ifname = "br-guest", .prefix = 24, .lease_s = 3600 },
	{ .name = "onboarding", .ifname = "br-onb", .prefix = 24, .lease_s = 300, .captive = true },
};

static void fill_zones(struct dnsm_zone z[3])
{
	memcpy(z, zones_all, sizeof(zones_all));
	z[0].gateway = ip("10.77.0.1");
	z[1].gateway = ip("10.78.0.1");
	z[1].range_lo = ip("10.78.0.50"); /* given, not derived */
	z[1].range_hi = ip("10.78.0.99");
	z[2].gateway = ip("10.79.0.1");
}

static struct dnsm_net net_of(const struct dnsm_zone *z, unsigned n)
{
	return (struct dnsm_net){
		.zones = z, .n_zones = n,
		.script = "/usr/libexec/apgate/apgate-dhcp-script",
		.hostsfile = "/run/apgate/dhcp-hosts",
		.leasefile = "/var/lib/apgate/dnsmasq.leases",
		.pidfile = "/run/apgate/dnsmasq.pid",
		.portal_port = 8080,
	};
}

/* Renders into a string; returns the function's result. */
static int render_conf_str(const struct dnsm_net *net, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	assert_non_null(f);
	int r = dnsm_render_conf(net, f);
	assert_int_equal(fclose(f), 0);
	return r;
}

static int render_hosts_str(const struct dnsm_host *h, unsigned n, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	assert_non_null(f);
	int r = dnsm_render_hosts(h, n, f);
	assert_int_equal(fclose(f), 0);
	return r;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void check_golden(const char *name, const char *got)
{
	char path[256];
	char *want;

	snprintf(path, sizeof(path), GOLDEN_DIR "/%s", name);
	if (getenv("UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(got, f);
		fclose(f);
	}
	want = slurp(path);
	if (!want)
		fail_msg("golden file %s missing (run from the repository root)", path);
	if (strcmp(want, got) != 0) {
		fprintf(stderr, "--- %s (golden)\n%s--- rendered\n%s", path, want, got);
		free(want);
		fail_msg("%s differs from the rendered text", path);
	}
	free(want);
}

struct tmp {
	char dir[64];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	strcpy(t->dir, "/tmp/test_dnsm.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	DIR *d = opendir(t->dir);
	struct dirent *e;
	char p[512];

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	assert_int_equal(rmdir(t->dir), 0);
	free(t);
	return 0;
}

static unsigned count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* ---- rendering ---- */

static void conf_mixed_zones_golden(void **state)
{
	struct dnsm_zone z[3];
	char *s = NULL;

	(void)state;
	fill_zones(z);
	struct dnsm_net net = net_of(z, 3);
	assert_int_equal(render_conf_str(&net, &s), 0);
	check_golden("mixed.conf", s);
	/* The captive trick cannot be scoped to one interface: absent here. */
	assert_null(strstr(s, "address=/#/"));
	assert_null(strstr(s, "local=/#/"));
	/* option 114 only on the onboarding interface */
	assert_non_null(strstr(s, "dhcp-option=tag:br-onb,114,\"http://10.79.0.1:8080/captive-portal/api\"\n"));
	const char *first = strstr(s, ",114,");
	assert_null(strstr(first + 1, ",114,"));
	assert_null(strstr(s, "\nenable-ra"));
	assert_null(strstr(s, "\ndhcp-range=::"));
	free(s);
}

static void conf_captive_instance_golden(void **state)
{
	struct dnsm_zone z[3];
	char *s = NULL;

	(void)state;
	fill_zones(z);
	struct dnsm_net net = net_of(&z[2], 1);
	net.pidfile = "/run/apgate/dnsmasq-onboarding.pid";
	net.leasefile = "/var/lib/apgate/dnsmasq-onboarding.leases";
	assert_int_equal(render_conf_str(&net, &s), 0);
	check_golden("captive.conf", s);
	assert_non_null(strstr(s, "\naddress=/#/10.79.0.1\nlocal=/#/\n"));
	free(s);
}

static void conf_refuses_what_dnsmasq_would_misread(void **state)
{
	struct dnsm_zone z[3];
	char *s = NULL;

	(void)state;
#define REFUSED(net_expr) do { \
		fill_zones(z); \
		struct dnsm_net n_ = net_of(z, 3); \
		net_expr; \
		assert_int_equal(render_conf_str(&n_, &s), -EINVAL); \
		free(s); s = NULL; \
	} while (0)
	REFUSED(z[0].ifname = "br0\naddress=/#/6.6.6.6");
	REFUSED(z[0].ifname = "br 0");
	REFUSED(z[0].ifname = "-br0");
	REFUSED(z[0].ifname = "a-very-long-interface");
	REFUSED(z[1].name = "guest,set:work");
	REFUSED(z[1].name = "");
	REFUSED(n_.script = "/usr/lib/apgate/helper --evil");
	REFUSED(n_.hostsfile = "relative/hosts");
	REFUSED(n_.pidfile = "/run/x#y");
	REFUSED(n_.leasefile = NULL);
	REFUSED(z[0].prefix = 31);
	REFUSED(z[0].prefix = 7);
	REFUSED(z[0].lease_s = 60);
	REFUSED(z[0].gateway = ip("10.77.0.0"));        /* network address */
	REFUSED(z[0].gateway = ip("10.77.0.200"));      /* inside the derived pool */
	REFUSED(z[1].range_hi = ip("10.78.1.99"));      /* outside the subnet */
	REFUSED(z[1].range_hi = ip("10.78.0.255"));     /* broadcast */
	REFUSED(z[1].range_lo = ip("10.78.0.100"));     /* lo > hi */
	REFUSED(z[1].range_lo.s_addr = 0);              /* one end only */
	REFUSED(z[1].ifname = "br-work");               /* interface twice */
	REFUSED(z[1].name = "work");                    /* zone twice */
	REFUSED(z[0].captive = true);                   /* two captive zones */
	REFUSED(n_.portal_port = 0);
	REFUSED(n_.n_zones = 0);
#undef REFUSED
	assert_int_equal(dnsm_render_conf(NULL, stdout), -EINVAL);
}

static void hosts_golden_sorted_canonical(void **state)
{
	const struct dnsm_host h[] = {
		{ .mac = "00:22:72:00:00:0B", .tag = "guest" },
		{ .mac = "02-00-00-00-03-03", .tag = "work" },
		{ .mac = "0022.7200.000a", .tag = "work" },
		{ .mac = "00227200000c", .ignore = true }, /* blocked */
		{ .mac = "00:22:72:00:00:0d", .ip = "10.77.0.50" }, /* reservation */
		{ .mac = "00:22:72:00:00:0e", .tag = "work", .ip = "10.77.0.51" },
	};
	const struct dnsm_host shuffled[] = { h[3], h[5], h[1], h[0], h[4], h[2] };
	char *s = NULL, *s2 = NULL;

	(void)state;
	assert_int_equal(render_hosts_str(h, ARRAY_SIZE(h), &s), 0);
	check_golden("hosts", s);
	/* Same set in another order: the same bytes. */
	assert_int_equal(render_hosts_str(shuffled, ARRAY_SIZE(shuffled), &s2), 0);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	/* Nobody known: an empty file. */
	assert_int_equal(render_hosts_str(NULL, 0, &s), 0);
	assert_string_equal(s, "");
	free(s);
}

static void hosts_refuses_bad_entries(void **state)
{
	char *s = NULL;
	const struct dnsm_host bad[][2] = {
		{ { .mac = "00:22:72:00:00:0a\n00:22:72:00:00:0b", .tag = "work" } },
		{ { .mac = "00:22:72:00:00:0a", .tag = "work,10.0.0.1" } },
		{ { .mac = "00:22:72:00:00:0a", .tag = "Work" } },
		{ { .mac = "00:22:72:00:00:0a", .tag = NULL } },
		{ { .mac = NULL, .tag = "work" } },
		{ { .mac = "00:22:72:00:00:0a", .ip = "10.77.0.500" } },
		{ { .mac = "00:22:72:00:00:0a", .ip = "10.77.0.5,set:x" } },
		{ { .mac = "00:22:72:00:00:0a", .tag = "work" },
		  { .mac = "00-22-72-00-00-0A", .ignore = true } }, /* the same MAC twice */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned n = bad[i][1].mac ? 2 : 1;
		assert_int_equal(render_hosts_str(bad[i], n, &s), -EINVAL);
		free(s);
		s = NULL;
	}
}

/* dnsmasq's own parser accepts both renderings. --test only parses: it
 * opens no socket and writes no file (checked with strace -f: no socket(),
 * bind() or pid-file), so it is safe on the host. */
static void real_dnsmasq_accepts_conf(void **state)
{
	struct tmp *t = *state;
	struct dnsm_zone z[3];
	char path[128];

	if (access("/usr/sbin/dnsmasq", X_OK) != 0)
		skip();
	fill_zones(z);
	struct dnsm_net nets[2] = { net_of(z, 3), net_of(&z[2], 1) };
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/dnsmasq-%d.conf", t->dir, i);
		assert_int_equal(dnsm_write_conf(path, &nets[i]), 1);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			execl("/usr/sbin/dnsmasq", "dnsmasq", "--test", "-C", path, (char *)NULL);
			_exit(127);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	/* and refuses a broken line, so the check means something */
	snprintf(path, sizeof(path), "%s/broken.conf", t->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("dhcp-range=set:x,10.0.0.5,10.0.0.9,255.255.255.0,12x\n", f);
	fclose(f);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl("/usr/sbin/dnsmasq", "dnsmasq", "--test", "-C", path, (char *)NULL);
		_exit(127);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}

/* ---- atomic writes ---- */

static int render_text(FILE *out, const void *ud)
{
	fputs(ud, out);
	return 0;
}

static int render_fails(FILE *out, const void *ud)
{
	(void)ud;
	fputs("half a file", out);
	return -EINVAL;
}

static void write_atomic_only_when_changed(void **state)
{
	struct tmp *t = *state;
	char path[128];
	struct stat a, b;
	char *s;

	snprintf(path, sizeof(path), "%s/hosts", t->dir);
	assert_int_equal(dnsm_write_atomic(path, render_text, "one\n"), 1);
	assert_int_equal(stat(path, &a), 0);
	assert_int_equal(a.st_mode & 07777, 0644);
	s = slurp(path);
	assert_string_equal(s, "one\n");
	free(s);

	/* Unchanged: not rewritten (same inode, mtime left in the past). */
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	assert_int_equal(dnsm_write_atomic(path, render_text, "one\n"), 0);
	assert_int_equal(stat(path, &b), 0);
	assert_int_equal(b.st_ino, a.st_ino);
	assert_int_equal(b.st_mtim.tv_sec, 1000000000);

	/* Changed: a new file renamed over the old one. */
	assert_int_equal(dnsm_write_atomic(path, render_text, "two\n"), 1);
	assert_int_equal(stat(path, &b), 0);
	assert_int_not_equal(b.st_ino, a.st_ino);
	s = slurp(path);
	assert_string_equal(s, "two\n");
	free(s);
	/* Same length, other bytes: still a change. */
	assert_int_equal(dnsm_write_atomic(path, render_text, "owt\n"), 1);

	/* A failing render leaves the file alone and no temp file behind. */
	assert_int_equal(dnsm_write_atomic(path, render_fails, NULL), -EINVAL);
	s = slurp(path);
	assert_string_equal(s, "owt\n");
	free(s);
	assert_int_equal(count_entries(t->dir), 1);

	/* A directory that does not exist: an error, nothing created. */
	assert_int_equal(dnsm_write_atomic("/nonexistent-apgate/x", render_text, "x"), -ENOENT);
	assert_int_equal(dnsm_write_atomic(NULL, render_text, "x"), -EINVAL);
}

/* A reader polling the file while it is replaced again and again sees
 * only whole versions. */
static void write_atomic_never_shows_a_partial_file(void **state)
{
	struct tmp *t = *state;
	enum { SIZE = 256 * 1024, ROUNDS = 200 };
	char path[128];
	char *va = malloc(SIZE + 1), *vb = malloc(SIZE + 1);
	int stop[2];

	assert_non_null(va);
	assert_non_null(vb);
	memset(va, 'a', SIZE);
	memset(vb, 'b', SIZE);
	va[SIZE] = vb[SIZE] = '\0';
	snprintf(path, sizeof(path), "%s/big", t->dir);
	assert_int_equal(dnsm_write_atomic(path, render_text, va), 1);
	assert_int_equal(pipe(stop), 0);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(stop[1]);
		char *buf = malloc(SIZE + 2);
		unsigned reads = 0;
		for (;;) {
			struct pollfd p = { .fd = stop[0], .events = POLLIN };
			if (poll(&p, 1, 0) > 0 && reads > 10)
				_exit(0);
			int fd = open(path, O_RDONLY);
			if (fd < 0)
				_exit(2); /* the name was missing for a moment */
			size_t got = 0;
			ssize_t r;
			while ((r = read(fd, buf + got, SIZE + 1 - got)) > 0)
				got += (size_t)r;
			close(fd);
			if (got != SIZE || (memcmp(buf, va, SIZE) != 0 && memcmp(buf, vb, SIZE) != 0))
				_exit(3); /* torn or partial */
			reads++;
		}
	}
	close(stop[0]);
	for (int i = 0; i < ROUNDS; i++)
		assert_int_equal(dnsm_write_atomic(path, render_text, i % 2 ? va : vb), 1);
	close(stop[1]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(count_entries(t->dir), 1); /* no temp files left */
	free(va);
	free(vb);
}

/* ---- reload ---- */

struct fake {
	unsigned calls;
	pid_t pid;
	int sig;
	int ret;
};

static int fake_signal(int pidfd, pid_t pid, int sig, void *ud)
{
	struct fake *f = ud;
	(void)pidfd;
	f->calls++;
	f->pid = pid;
	f->sig = sig;
	return f->ret;
}

static volatile sig_atomic_t got_hup;
static void on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
}

/* A child process named `name` (via prctl, the comm /proc shows) that
 * writes one byte to *report_fd when it gets SIGHUP. */
static pid_t spawn_named(const char *name, int *report_fd)
{
	int p[2], ready[2];
	char c;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(ready), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sigset_t none;
		close(p[0]);
		close(ready[0]);
		prctl(PR_SET_NAME, name, 0, 0, 0);
		signal(SIGHUP, on_hup);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (int i = 0; i < 100 && !got_hup; i++)
			usleep(50 * 1000); /* at most 5 s */
		if (got_hup && write(p[1], "h", 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1); /* named and handling SIGHUP */
	close(ready[0]);
	*report_fd = p[0];
	return pid;
}

static void reap(pid_t pid, int fd)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
}

static void write_pidfile(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void write_pid(const char *path, pid_t pid)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	write_pidfile(path, buf);
}

static void reload_refuses_a_process_not_named_dnsmasq(void **state)
{
	struct tmp *t = *state;
	struct fake fk = { 0 };
	struct dnsm_ops ops = { .send_signal = fake_signal, .ud = &fk };
	char pidfile[128];
	int fd;

	snprintf(pidfile, sizeof(pidfile), "%s/dnsmasq.pid", t->dir);
	static const char *const names[] = { "sleep", "dnsmasqx", "dnsmas", "apgated" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		pid_t pid = spawn_named(names[i], &fd);
		write_pid(pidfile, pid);
		assert_int_equal(dnsm_reload(&ops, pidfile), -EPERM);
		assert_int_equal(fk.calls, 0);
		/* the real ops refuse too: the child never sees SIGHUP */
		assert_int_equal(dnsm_reload(NULL, pidfile), -EPERM);
		reap(pid, fd);
	}
	/* Our own process (the test binary) is not dnsmasq either. */
	write_pid(pidfile, getpid());
	assert_int_equal(dnsm_reload(&ops, pidfile), -EPERM);
	assert_int_equal(fk.calls, 0);
}

static void reload_signals_dnsmasq(void **state)
{
	struct tmp *t = *state;
	struct fake fk = { 0 };
	struct dnsm_ops ops = { .send_signal = fake_signal, .ud = &fk };
	char pidfile[128], c;
	int fd;

	snprintf(pidfile, sizeof(pidfile), "%s/dnsmasq.pid", t->dir);
	pid_t pid = spawn_named("dnsmasq", &fd);
	write_pid(pidfile, pid);
	assert_int_equal(dnsm_reload(&ops, pidfile), 0);
	assert_int_equal(fk.calls, 1);
	assert_int_equal(fk.pid, pid);
	assert_int_equal(fk.sig, SIGHUP);
	fk.ret = -EPERM; /* a failing signal is reported */
	assert_int_equal(dnsm_reload(&ops, pidfile), -EPERM);

	/* The real thing: the child gets SIGHUP. */
	assert_int_equal(dnsm_reload(NULL, pidfile), 0);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 3000), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'h');
	reap(pid, fd);
}

static void reload_bad_pidfiles(void **state)
{
	struct tmp *t = *state;
	struct fake fk = { 0 };
	struct dnsm_ops ops = { .send_signal = fake_signal, .ud = &fk };
	char pidfile[128];

	snprintf(pidfile, sizeof(pidfile), "%s/dnsmasq.pid", t->dir);
	assert_int_equal(dnsm_reload(&ops, pidfile), -ENOENT);
	static const char *const bad[] = { "", "\n", "abc\n", "0\n", "-1\n", "12abc\n",
					   " 12\n", "1 2\n", "99999999999999999999\n",
					   "123456789012345678901234567890123\n", "+12\n", "\t12\n" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_pidfile(pidfile, bad[i]);
		assert_int_equal(dnsm_reload(&ops, pidfile), -EINVAL);
	}
	/* A process that has exited: stale pid-file. */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	write_pid(pidfile, pid);
	assert_int_equal(dnsm_reload(&ops, pidfile), -ESRCH);
	assert_int_equal(fk.calls, 0);
	assert_int_equal(dnsm_reload(&ops, NULL), -EINVAL);
}

static void update_hosts_reloads_only_on_change(void **state)
{
	struct tmp *t = *state;
	struct fake fk = { 0 };
	struct dnsm_ops ops = { .send_signal = fake_signal, .ud = &fk };
	char pidfile[128], hosts[128];
	int fd;
	const struct dnsm_host h[] = {
		{ .mac = "00:22:72:00:00:0a", .tag = "work" },
		{ .mac = "00:22:72:00:00:0b", .tag = "guest" },
	};
	const struct dnsm_host swapped[] = { h[1], h[0] };

	snprintf(pidfile, sizeof(pidfile), "%s/dnsmasq.pid", t->dir);
	snprintf(hosts, sizeof(hosts), "%s/dhcp-hosts", t->dir);
	pid_t pid = spawn_named("dnsmasq", &fd);
	write_pid(pidfile, pid);

	assert_int_equal(dnsm_update_hosts(&ops, hosts, pidfile, h, 2), 1);
	assert_int_equal(fk.calls, 1);
	assert_int_equal(dnsm_update_hosts(&ops, hosts, pidfile, swapped, 2), 0);
	assert_int_equal(fk.calls, 1);
	assert_int_equal(dnsm_update_hosts(&ops, hosts, pidfile, h, 1), 1);
	assert_int_equal(fk.calls, 2);
	/* A bad list changes nothing and signals nobody. */
	const struct dnsm_host bad[] = { { .mac = "nope", .tag = "work" } };
	assert_int_equal(dnsm_update_hosts(&ops, hosts, pidfile, bad, 1), -EINVAL);
	assert_int_equal(fk.calls, 2);
	char *s = slurp(hosts);
	assert_string_equal(s, "00:22:72:00:00:0a,set:work\n");
	free(s);
	reap(pid, fd);

	/* dnsmasq not running: the file is written, the error says so. */
	unlink(pidfile);
	assert_int_equal(dnsm_update_hosts(&ops, hosts, pidfile, h, 2), -ENOENT);
	s = slurp(hosts);
	assert_string_equal(s, "00:22:72:00:00:0a,set:work\n00:22:72:00:00:0b,set:guest\n");
	free(s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_mixed_zones_golden),
		cmocka_unit_test(conf_captive_instance_golden),
		cmocka_unit_test(conf_refuses_what_dnsmasq_would_misread),
		cmocka_unit_test(hosts_golden_sorted_canonical),
		cmocka_unit_test(hosts_refuses_bad_entries),
		T(real_dnsmasq_accepts_conf),
		T(write_atomic_only_when_changed),
		T(write_atomic_never_shows_a_partial_file),
		T(reload_refuses_a_process_not_named_dnsmasq),
		T(reload_signals_dnsmasq),
		T(reload_bad_pidfiles),
		T(update_hosts_reloads_only_on_change),
	};
	log_set_level(getenv("DNSM_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("dnsm", tests, NULL, NULL);
}
