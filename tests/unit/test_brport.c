/* test_brport - bridge-port isolation against the real kernel bridge, in a
 * private network namespace (unshare(CLONE_NEWNET): the host's interfaces
 * are never seen). Skipped when not root. Interfaces are made with `ip` and
 * read back with `bridge -d link show` (fork/exec with an argument vector),
 * so the check does not share code with the module under test.
 */
#include <net/if.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "io/nl.h"
#include "log.h"
#include "util.h"

static bool in_netns;

/* Runs argv (NULL-terminated), returns its exit status; stdout into out. */
static int run_argv(char *const argv[], char *out, size_t outsz)
{
	int p[2];
	pid_t pid;
	int st;
	size_t n = 0;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		char tmp[512];
		ssize_t r = read(p[0], out && n < outsz - 1 ? out + n : tmp,
				 out && n < outsz - 1 ? outsz - 1 - n : sizeof(tmp));
		if (r <= 0)
			break;
		if (out && n < outsz - 1)
			n += (size_t)r;
	}
	if (out)
		out[n] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define RUN(...) run_argv((char *const[]){ __VA_ARGS__, NULL }, NULL, 0)

static void add_bridge(const char *br)
{
	assert_int_equal(RUN("ip", "link", "add", (char *)br, "type", "bridge"), 0);
	assert_int_equal(RUN("ip", "link", "set", (char *)br, "up"), 0);
}

/* A veth pair "port"/"port-x"; port is enslaved to br. */
static void add_port(const char *br, const char *port)
{
	char peer[IFNAMSIZ + 4];

	snprintf(peer, sizeof(peer), "%s-x", port);
	assert_int_equal(RUN("ip", "link", "add", (char *)port, "type", "veth", "peer", "name", peer), 0);
	assert_int_equal(RUN("ip", "link", "set", (char *)port, "master", (char *)br, "up"), 0);
	assert_int_equal(RUN("ip", "link", "set", peer, "up"), 0);
}

static void del_link(const char *dev)
{
	RUN("ip", "link", "del", (char *)dev);
}

/* 1 isolated, 0 not, -1 not a bridge port / no such device */
static int isolated(const char *dev)
{
	char out[4096];

	if (run_argv((char *const[]){ "bridge", "-d", "link", "show", "dev", (char *)dev, NULL }, out,
		     sizeof(out)) != 0 || !strstr(out, "isolated "))
		return -1;
	return strstr(out, "isolated on") ? 1 : 0;
}

static void set_isolated_off(const char *dev)
{
	assert_int_equal(RUN("bridge", "link", "set", "dev", (char *)dev, "isolated", "off"), 0);
	assert_int_equal(isolated(dev), 0);
}

/* Runs the loop until dev is isolated or ms pass; returns the time taken
 * in ms, or -1. */
static long run_until_isolated(struct event_base *base, const char *dev, long ms)
{
	long long t0 = util_mono_ms();

	while (util_mono_ms() - t0 < ms) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (isolated(dev) == 1)
			return (long)(util_mono_ms() - t0);
		usleep(2000);
	}
	return -1;
}

static struct brport_stats stats(const struct brport *b)
{
	struct brport_stats s;

	brport_get_stats(b, &s);
	return s;
}

#define NEED_NETNS() do { if (!in_netns) skip(); } while (0)

static void test_isolates_current_ports(void **state)
{
	struct event_base *base = event_base_new();
	struct brport *b = NULL;

	(void)state;
	NEED_NETNS();
	add_bridge("tb1");
	add_port("tb1", "tb1a");
	add_port("tb1", "tb1b");
	assert_int_equal(isolated("tb1a"), 0);
	assert_int_equal(isolated("tb1b"), 0);

	assert_int_equal(brport_new(base, "tb1", &b), 0);
	assert_int_equal(isolated("tb1a"), 1);
	assert_int_equal(isolated("tb1b"), 1);
	assert_int_equal(isolated("tb1a-x"), -1); /* the peer is no port: untouched */
	struct brport_stats s = stats(b);
	assert_true(s.active);
	assert_int_equal(s.ports, 2);
	assert_int_equal(s.isolated, 2);
	assert_int_equal(s.reconciles, 1);

	/* idempotent: a second instance finds nothing to write */
	struct brport *b2 = NULL;
	assert_int_equal(brport_new(base, "tb1", &b2), 0);
	assert_int_equal(stats(b2).isolated, 0);
	assert_int_equal(stats(b2).ports, 2);
	brport_free(b2);

	/* our own notifications (isolated on) cause no further request */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(stats(b).isolated, 2);
	assert_int_equal(stats(b).failed, 0);

	brport_free(b);
	assert_int_equal(isolated("tb1a"), 1); /* the flags outlive the module */
	del_link("tb1a");
	del_link("tb1b");
	del_link("tb1");
	event_base_free(base);
}

static void test_port_added_later(void **state)
{
	struct event_base *base = event_base_new();
	struct brport *b = NULL;

	(void)state;
	NEED_NETNS();
	add_bridge("tb2");
	add_port("tb2", "tb2a");
	add_port("tb2", "tb2b");
	assert_int_equal(brport_new(base, "tb2", &b), 0);
	add_port("tb2", "tb2c");
	long ms = run_until_isolated(base, "tb2c", 2000);
	assert_true(ms >= 0);
	print_message("    a port enslaved later was isolated %ld ms after `ip link set master` returned\n", ms);
	assert_int_equal(stats(b).ports, 3);
	assert_int_equal(stats(b).isolated, 3);
	assert_int_equal(stats(b).restored, 0); /* a new port is not reported as tampered with */

	/* a port that leaves the bridge is forgotten */
	assert_int_equal(RUN("ip", "link", "set", "tb2c", "nomaster"), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(stats(b).ports, 2);

	brport_free(b);
	del_link("tb2a");
	del_link("tb2b");
	del_link("tb2c");
	del_link("tb2");
	event_base_free(base);
}

/* Someone clears a port's flag: while apgated runs it is set again (with a
 * warning, counted as restored), and a restart reconciles what was cleared
 * while it was not running. */
static void test_cleared_flag(void **state)
{
	struct event_base *base = event_base_new();
	struct brport *b = NULL;

	(void)state;
	NEED_NETNS();
	add_bridge("tb3");
	add_port("tb3", "tb3a");
	add_port("tb3", "tb3b");
	assert_int_equal(brport_new(base, "tb3", &b), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);

	set_isolated_off("tb3a");
	assert_true(run_until_isolated(base, "tb3a", 2000) >= 0);
	assert_int_equal(stats(b).restored, 1);

	brport_free(b);
	set_isolated_off("tb3b"); /* while "apgated" is not running */
	b = NULL;
	assert_int_equal(brport_new(base, "tb3", &b), 0);
	assert_int_equal(isolated("tb3b"), 1);
	assert_int_equal(isolated("tb3a"), 1);
	assert_int_equal(stats(b).isolated, 1);

	brport_free(b);
	del_link("tb3a");
	del_link("tb3b");
	del_link("tb3");
	event_base_free(base);
}

/* Not a bridge (the Wi-Fi case, here a veth): nothing done, nothing
 * followed. */
static void test_not_a_bridge(void **state)
{
	struct event_base *base = event_base_new();
	struct brport *b = NULL;

	(void)state;
	NEED_NETNS();
	assert_int_equal(RUN("ip", "link", "add", "tw4", "type", "veth", "peer", "name", "tw4-x"), 0);
	assert_int_equal(brport_new(base, "tw4", &b), 0);
	assert_non_null(b);
	assert_false(stats(b).active);
	assert_int_equal(stats(b).isolated, 0);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	brport_free(b);
	del_link("tw4");
	/* missing at start, then it appears as a veth: checked once, then left alone */
	b = NULL;
	assert_int_equal(brport_new(base, "tw8", &b), 0);
	assert_int_equal(RUN("ip", "link", "add", "tw8", "type", "veth", "peer", "name", "tw8-x"), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(stats(b).reconciles, 2);
	assert_int_equal(RUN("ip", "link", "set", "tw8", "up"), 0);
	assert_int_equal(RUN("ip", "link", "set", "tw8", "mtu", "1400"), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(stats(b).reconciles, 2);
	assert_false(stats(b).active);
	brport_free(b);
	del_link("tw8");
	assert_int_equal(brport_new(base, "", &b), -EINVAL);
	assert_int_equal(brport_new(base, "a-name-longer-than-ifnamsiz", &b), -EINVAL);
	event_base_free(base);
}

/* The bridge appears (or is re-created) while the module runs. */
static void test_bridge_created_later(void **state)
{
	struct event_base *base = event_base_new();
	struct brport *b = NULL;

	(void)state;
	NEED_NETNS();
	assert_int_equal(brport_new(base, "tb5", &b), 0);
	assert_false(stats(b).active);
	add_bridge("tb5");
	add_port("tb5", "tb5a");
	assert_true(run_until_isolated(base, "tb5a", 2000) >= 0);
	assert_true(stats(b).active);

	del_link("tb5a");
	del_link("tb5");
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_false(stats(b).active);
	add_bridge("tb5");
	add_port("tb5", "tb5b");
	assert_true(run_until_isolated(base, "tb5b", 2000) >= 0);

	brport_free(b);
	del_link("tb5b");
	del_link("tb5");
	event_base_free(base);
}

/* Many ports at once (one notification each) while the loop is not
 * running: all isolated once it runs. */
static void test_many_ports(void **state)
{
	struct event_base *base = event_base_new();
	struct brport *b = NULL;
	char name[IFNAMSIZ];
	enum { N = 64 };

	(void)state;
	NEED_NETNS();
	add_bridge("tb6");
	assert_int_equal(brport_new(base, "tb6", &b), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "tb6p%d", i);
		add_port("tb6", name);
	}
	long long t0 = util_mono_ms();
	assert_true(run_until_isolated(base, "tb6p63", 5000) >= 0);
	for (int i = 0; i < 50 && stats(b).ports < N; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "tb6p%d", i);
		assert_int_equal(isolated(name), 1);
	}
	print_message("    %d ports enslaved with the loop stopped: all isolated %lld ms after it ran "
		      "(overruns %lu, reconciles %lu)\n", N, util_mono_ms() - t0, stats(b).overruns,
		      stats(b).reconciles);
	assert_int_equal(stats(b).ports, N);
	brport_free(b);
	del_link("tb6");
	event_base_free(base);
}

/* The module's notification socket (the one netlink socket of this process
 * joined to RTNLGRP_LINK), found without a hook in the module's API. */
static int find_event_socket(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		int dom = 0;
		uint32_t groups[4] = { 0 };
		socklen_t l = sizeof(dom);

		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_NETLINK)
			continue;
		l = sizeof(groups);
		if (getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &l) == 0 &&
		    (groups[(RTNLGRP_LINK - 1) / 32] & (1u << ((RTNLGRP_LINK - 1) % 32))))
			return fd;
	}
	return -1;
}

/* Notifications lost (the receive buffer shrunk to the kernel's minimum,
 * then many ports enslaved with the loop stopped): the overrun is noticed
 * and a reconcile isolates every port anyway. */
static void test_overrun_reconciles(void **state)
{
	struct event_base *base = event_base_new();
	struct brport *b = NULL;
	char name[IFNAMSIZ];
	enum { N = 40 };
	int fd, tiny = 1;

	(void)state;
	NEED_NETNS();
	add_bridge("tb7");
	assert_int_equal(brport_new(base, "tb7", &b), 0);
	fd = find_event_socket();
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "tb7p%d", i);
		add_port("tb7", name);
	}
	for (int i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "tb7p%d", i);
		assert_int_equal(isolated(name), 1);
	}
	struct brport_stats s = stats(b);
	assert_true(s.overruns >= 1);
	assert_true(s.reconciles >= 2);
	assert_int_equal(s.ports, N);
	print_message("    %d ports, receive buffer at the kernel minimum: %lu overrun(s), %lu reconcile(s), all isolated\n",
		      N, s.overruns, s.reconciles);
	brport_free(b);
	del_link("tb7");
	event_base_free(base);
}

static int group_setup(void **state)
{
	(void)state;
	log_open("test_brport", LOG_LVL_DEBUG, false);
	if (geteuid() != 0) {
		print_message("not root: kernel tests skipped\n");
		return 0;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		print_message("unshare(CLONE_NEWNET): %s: kernel tests skipped\n", strerror(errno));
		return 0;
	}
	if (RUN("bridge", "-V") != 0 || RUN("ip", "-V") != 0) {
		print_message("no ip/bridge (iproute2): kernel tests skipped\n");
		return 0;
	}
	in_netns = true;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_isolates_current_ports),
		cmocka_unit_test(test_port_added_later),
		cmocka_unit_test(test_cleared_flag),
		cmocka_unit_test(test_not_a_bridge),
		cmocka_unit_test(test_bridge_created_later),
		cmocka_unit_test(test_many_ports),
		cmocka_unit_test(test_overrun_reconciles),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
