/* test_wport - wired ports against the real kernel bridges, in a private
 * network namespace (unshare(CLONE_NEWNET): the host's interfaces are
 * never seen). Skipped when not root.
 *
 * Three zone bridges br-onb, br-work, br-guest; a port is one end of a veth
 * pair ("p1"), the other end ("p1d") plays the device: frames with a chosen
 * source MAC are sent from it on an AF_PACKET socket. Interfaces are made
 * with `ip` and read back with `ip -o link show` / `bridge fdb show`
 * (fork/exec with an argument vector), and link changes are watched on the
 * test's own RTNLGRP_LINK socket, so the checks share no code with the
 * module under test.
 */
#include <net/if.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "io/wport.h"
#include "log.h"
#include "util.h"

static bool in_netns;

/* ---- running ip/bridge ---- */

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

static void del_link(const char *dev)
{
	RUN("ip", "link", "del", (char *)dev);
}

/* A veth pair port/<port>d, both up; port enslaved to br (unless NULL). */
static void add_port(const char *port, const char *br)
{
	char peer[IFNAMSIZ];

	snprintf(peer, sizeof(peer), "%sd", port);
	del_link(port);
	assert_int_equal(RUN("ip", "link", "add", (char *)port, "type", "veth", "peer", "name", peer), 0);
	if (br)
		assert_int_equal(RUN("ip", "link", "set", (char *)port, "master", (char *)br), 0);
	assert_int_equal(RUN("ip", "link", "set", (char *)port, "up"), 0);
	assert_int_equal(RUN("ip", "link", "set", peer, "up"), 0);
}

/* `ip -o link show dev` into out; 0 or -1 (no such device). */
static int link_show(const char *dev, char *out, size_t len)
{
	return run_argv((char *const[]){ "ip", "-o", "link", "show", "dev", (char *)dev, NULL }, out, len) == 0
		       ? 0 : -1;
}

/* The master's name as `ip` shows it ("" none), or "?" if dev is missing. */
static const char *master_of(const char *dev, char buf[IFNAMSIZ])
{
	char out[2048], *m;

	if (link_show(dev, out, sizeof(out)) < 0)
		return "?";
	m = strstr(out, " master ");
	buf[0] = 0;
	if (m)
		sscanf(m + 8, "%15s", buf);
	return buf;
}

/* IFF_UP as `ip` shows it: "UP" among the flags in <...>. */
static bool admin_up(const char *dev)
{
	char out[2048], *a, *b;

	if (link_show(dev, out, sizeof(out)) < 0 || !(a = strchr(out, '<')) || !(b = strchr(a, '>')))
		return false;
	*b = 0;
	for (char *t = strtok(a + 1, ","); t; t = strtok(NULL, ","))
		if (strcmp(t, "UP") == 0)
			return true;
	return false;
}

/* The link's carrier change counter (IFLA_CARRIER_CHANGES, counted by the
 * kernel when the carrier goes off or on), from `ip -j -s -s link show`. */
static long carrier_changes(const char *dev)
{
	char out[8192], *m;

	if (run_argv((char *const[]){ "ip", "-j", "-s", "-s", "link", "show", "dev", (char *)dev, NULL }, out,
		     sizeof(out)) != 0 || !(m = strstr(out, "\"carrier_changes\":")))
		return -1;
	return strtol(m + 18, NULL, 10);
}

static void link_mac(const char *dev, char mac[18])
{
	char out[2048], *m;

	assert_int_equal(link_show(dev, out, sizeof(out)), 0);
	m = strstr(out, "link/ether ");
	assert_non_null(m);
	assert_int_equal(sscanf(m + 11, "%17s", mac), 1);
}

/* The `bridge fdb show dev` line about mac, or NULL. */
static char *fdb_line(const char *dev, const char *mac, char *out, size_t len)
{
	char *l;

	if (run_argv((char *const[]){ "bridge", "fdb", "show", "dev", (char *)dev, NULL }, out, len) != 0)
		return NULL;
	for (l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		if (strncmp(l, mac, 17) == 0 && strstr(l, " master "))
			return l;
	return NULL;
}

/* How many `bridge fdb show dev` lines start with prefix. */
static int fdb_count(const char *dev, const char *prefix)
{
	static char out[1 << 16];
	int n = 0;

	if (run_argv((char *const[]){ "bridge", "fdb", "show", "dev", (char *)dev, NULL }, out, sizeof(out)) != 0)
		return -1;
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		if (strncmp(l, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

/* ---- the device side: frames with a chosen source MAC ---- */

static void send_frame(const char *dev, const char *src)
{
	unsigned char f[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned v[6];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x88b5), .sll_halen = 6 };
	int fd;

	assert_int_equal(sscanf(src, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]), 6);
	for (int i = 0; i < 6; i++)
		f[6 + i] = (unsigned char)v[i];
	f[12] = 0x88; /* IEEE local experimental ethertype */
	f[13] = 0xb5;
	sll.sll_ifindex = (int)if_nametoindex(dev);
	assert_true(sll.sll_ifindex > 0);
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, f, sizeof(f), 0, (struct sockaddr *)&sll, sizeof(sll)), (ssize_t)sizeof(f));
	close(fd);
}

/* ---- the test's own netlink monitor (RTNLGRP_LINK) ---- */

struct mon_count {
	unsigned newlink;    /* RTM_NEWLINK about the link (any family) */
	bool saw_down;       /* one of them without IFF_UP */
	bool saw_up_after_down;
};

static int mon_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads what is queued (after a short pause: notifications are queued by
 * the time the request returns, the pause is a margin) and counts the
 * messages about ifindex. */
static struct mon_count mon_read(int fd, int ifindex)
{
	struct mon_count c = { 0 };
	char buf[32768];
	ssize_t n;

	usleep(50000);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 || (n < 0 && errno == ENOBUFS)) {
		if (n < 0)
			continue;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			struct ifinfomsg *ifi = NLMSG_DATA(h);
			if (h->nlmsg_type != RTM_NEWLINK || ifi->ifi_index != ifindex)
				continue;
			c.newlink++;
			if (!(ifi->ifi_flags & IFF_UP))
				c.saw_down = true;
			else if (c.saw_down)
				c.saw_up_after_down = true;
		}
	}
	return c;
}

/* ---- what the module reports ---- */

#define REC_MAX 1024

struct rec {
	unsigned port_up, port_down;
	char last_port[IFNAMSIZ];
	unsigned n_st;
	char st_port[REC_MAX][IFNAMSIZ];
	char st_mac[REC_MAX][18];
	struct wport **free_on_port; /* frees *free_on_port from on_port, once */
};

static void on_station(const char *port, const char *mac, void *ud)
{
	struct rec *r = ud;

	if (r->n_st < REC_MAX) {
		util_strlcpy(r->st_port[r->n_st], port, IFNAMSIZ);
		util_strlcpy(r->st_mac[r->n_st], mac, 18);
		r->n_st++;
	}
}

static void on_port(const char *port, bool present, void *ud)
{
	struct rec *r = ud;

	if (present)
		r->port_up++;
	else
		r->port_down++;
	util_strlcpy(r->last_port, port, sizeof(r->last_port));
	if (r->free_on_port) {
		wport_free(*r->free_on_port);
		*r->free_on_port = NULL;
		r->free_on_port = NULL;
	}
}

static const struct wport_cbs cbs = { .on_station = on_station, .on_port = on_port };

static unsigned stations(const struct rec *r, const char *port, const char *mac)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->n_st; i++)
		if (strcmp(r->st_port[i], port) == 0 && strcmp(r->st_mac[i], mac) == 0)
			n++;
	return n;
}

/* Runs the loop until *counter >= want or ms pass; true if reached. */
static bool run_until(struct event_base *base, const unsigned *counter, unsigned want, long ms)
{
	long long t0 = util_mono_ms();

	while (util_mono_ms() - t0 < ms) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (*counter >= want)
			return true;
		usleep(2000);
	}
	return false;
}

static struct wport_stats stats(const struct wport *w)
{
	struct wport_stats s;

	wport_get_stats(w, &s);
	return s;
}

#define NEED_NETNS() do { if (!in_netns) skip(); } while (0)

/* ---- tests ---- */

/* A frame from the device is learned by the bridge and reported; the
 * port's own (permanent) and self/multicast entries are not; the start-up
 * dump and wport_rescan() report what is already learned. */
static void test_station_learned(void **state)
{
	static struct rec r;
	struct event_base *base = event_base_new();
	struct wport *w = NULL;
	const char *ports[] = { "p1", "p9" };
	const char *sta = "02:ab:cd:00:00:01";
	char own[18], out[8192];

	(void)state;
	NEED_NETNS();
	memset(&r, 0, sizeof(r));
	add_port("p1", "br-onb");
	assert_int_equal(wport_new(base, ports, 2, &cbs, &r, &w), 0);
	assert_int_equal(r.port_up, 1); /* p1 exists, p9 does not */
	assert_string_equal(r.last_port, "p1");
	assert_int_equal(stats(w).ports, 2);
	assert_int_equal(stats(w).present, 1);
	assert_int_equal(stations(&r, "p1", sta), 0);

	send_frame("p1d", sta);
	assert_true(run_until(base, &r.n_st, 1, 2000));
	for (int i = 0; i < 100 && !stations(&r, "p1", sta); i++) /* p1d's own IPv6 frames may come first */
		run_until(base, &r.n_st, r.n_st + 1, 20);
	assert_int_equal(stations(&r, "p1", sta), 1);
	assert_non_null(fdb_line("p1", sta, out, sizeof(out))); /* the bridge did learn it */

	/* the port's own address is in the FDB as permanent: never reported */
	link_mac("p1", own);
	char *l = fdb_line("p1", own, out, sizeof(out));
	assert_non_null(l);
	assert_non_null(strstr(l, "permanent"));
	char dev_mac[18];
	link_mac("p1d", dev_mac);
	for (unsigned i = 0; i < r.n_st; i++) {
		assert_string_not_equal(r.st_mac[i], own);
		assert_true(strcmp(r.st_mac[i], sta) == 0 || strcmp(r.st_mac[i], dev_mac) == 0);
		assert_string_equal(r.st_port[i], "p1");
	}
	assert_int_equal(stats(w).learned, r.n_st);
	wport_free(w);

	/* start-up dump: what is learned already is reported by wport_new */
	memset(&r, 0, sizeof(r));
	w = NULL;
	assert_int_equal(wport_new(base, ports, 2, &cbs, &r, &w), 0);
	assert_int_equal(stations(&r, "p1", sta), 1);
	unsigned n0 = r.n_st;
	assert_int_equal(wport_rescan(w), 0);
	assert_int_equal(stations(&r, "p1", sta), 2);
	assert_int_equal(r.n_st, 2 * n0);
	assert_int_equal(stats(w).rescans, 2);
	for (unsigned i = 0; i < r.n_st; i++)
		assert_string_not_equal(r.st_mac[i], own);
	wport_free(w);
	del_link("p1");
	event_base_free(base);
}

/* A move writes IFLA_MASTER once; the second call writes nothing (no
 * RTM_NEWLINK for the port on the test's monitor). The FDB entries of the
 * old bridge go; the station is reported again once the new bridge learns
 * it. */
static void test_move_idempotent(void **state)
{
	static struct rec r;
	struct event_base *base = event_base_new();
	struct wport *w = NULL;
	const char *ports[] = { "p1" };
	const char *sta = "02:ab:cd:00:00:02";
	char buf[IFNAMSIZ], out[8192];
	int mon, ifindex;

	(void)state;
	NEED_NETNS();
	memset(&r, 0, sizeof(r));
	add_port("p1", "br-onb");
	ifindex = (int)if_nametoindex("p1");
	assert_int_equal(wport_new(base, ports, 1, &cbs, &r, &w), 0);
	send_frame("p1d", sta);
	assert_true(run_until(base, &r.n_st, 1, 2000));
	assert_non_null(fdb_line("p1", sta, out, sizeof(out)));
	assert_non_null(strstr(out, "master br-onb"));
	assert_int_equal(wport_master(w, "p1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "br-onb");

	mon = mon_open();
	assert_int_equal(wport_move(w, "p1", "br-work", false), 1);
	assert_string_equal(master_of("p1", buf), "br-work");
	assert_true(admin_up("p1"));
	struct mon_count c = mon_read(mon, ifindex);
	assert_true(c.newlink >= 1); /* the monitor does see a move */
	assert_false(c.saw_down);    /* not bounced */
	assert_int_equal(wport_master(w, "p1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "br-work");
	event_base_loop(base, EVLOOP_NONBLOCK); /* the module's own notifications */

	/* again: nothing written, with or without bounce */
	assert_int_equal(wport_move(w, "p1", "br-work", false), 0);
	assert_int_equal(wport_move(w, "p1", "br-work", true), 0);
	c = mon_read(mon, ifindex);
	assert_int_equal(c.newlink, 0);
	assert_string_equal(master_of("p1", buf), "br-work");
	assert_int_equal(stats(w).moves, 1);
	assert_int_equal(stats(w).bounces, 0);
	assert_int_equal(stats(w).failed, 0);

	/* the old bridge's entry for the station is gone with the move ... */
	assert_null(fdb_line("p1", sta, out, sizeof(out)));
	/* ... and the new bridge learns it from the next frame */
	unsigned before = stations(&r, "p1", sta);
	send_frame("p1d", sta);
	for (int i = 0; i < 100 && stations(&r, "p1", sta) == before; i++)
		run_until(base, &r.n_st, r.n_st + 1, 20);
	assert_int_equal(stations(&r, "p1", sta), before + 1);
	assert_non_null(fdb_line("p1", sta, out, sizeof(out)));
	assert_non_null(strstr(out, "master br-work"));

	close(mon);
	wport_free(w);
	assert_string_equal(master_of("p1", buf), "br-work"); /* left where it is */
	del_link("p1");
	event_base_free(base);
}

/* bounce = true: the port goes down and up after the move, and the device
 * (the veth peer) loses its carrier in between. A move of a port that is
 * down sets it up. */
static void test_bounce(void **state)
{
	static struct rec r;
	struct event_base *base = event_base_new();
	struct wport *w = NULL;
	const char *ports[] = { "p1" };
	char buf[IFNAMSIZ];
	int mon, ifindex;

	(void)state;
	NEED_NETNS();
	memset(&r, 0, sizeof(r));
	add_port("p1", "br-onb");
	ifindex = (int)if_nametoindex("p1");
	assert_int_equal(wport_new(base, ports, 1, &cbs, &r, &w), 0);
	long cc0 = carrier_changes("p1d");
	assert_true(cc0 >= 0);
	mon = mon_open();
	assert_int_equal(wport_move(w, "p1", "br-guest", true), 1);
	assert_string_equal(master_of("p1", buf), "br-guest");
	assert_true(admin_up("p1"));
	struct mon_count c = mon_read(mon, ifindex);
	assert_true(c.saw_down);           /* IFF_UP cleared ... */
	assert_true(c.saw_up_after_down);  /* ... and set again */
	long cc1 = carrier_changes("p1d");
	assert_true(cc1 >= cc0 + 2);       /* the device saw its link drop and come back */
	assert_int_equal(stats(w).bounces, 1);
	assert_int_equal(stats(w).moves, 1);

	/* not bounced: no down in between, the device's link stays */
	assert_int_equal(wport_move(w, "p1", "br-work", false), 1);
	c = mon_read(mon, ifindex);
	assert_true(c.newlink >= 1);
	assert_false(c.saw_down);
	assert_int_equal(carrier_changes("p1d"), cc1);
	assert_string_equal(master_of("p1", buf), "br-work");
	assert_int_equal(stats(w).bounces, 1);
	close(mon);

	/* a port that is down is set up by a move, bounced or not */
	assert_int_equal(RUN("ip", "link", "set", "p1", "down"), 0);
	assert_false(admin_up("p1"));
	assert_int_equal(wport_move(w, "p1", "br-onb", false), 1);
	assert_true(admin_up("p1"));
	assert_string_equal(master_of("p1", buf), "br-onb");
	assert_int_equal(stats(w).bounces, 1);
	assert_int_equal(stats(w).moves, 3);

	wport_free(w);
	del_link("p1");
	event_base_free(base);
}

/* Refused moves write nothing and leave the port where it is. */
static void test_errors(void **state)
{
	static struct rec r;
	struct event_base *base = event_base_new();
	struct wport *w = NULL;
	const char *ports[] = { "p1", "p9" };
	char buf[IFNAMSIZ], small[4];
	int mon, ifindex;

	(void)state;
	NEED_NETNS();
	memset(&r, 0, sizeof(r));
	add_port("p1", "br-onb");
	add_port("nb0", NULL); /* a veth: not a bridge */
	ifindex = (int)if_nametoindex("p1");
	assert_int_equal(wport_new(base, ports, 2, &cbs, &r, &w), 0);
	mon = mon_open();

	assert_int_equal(wport_move(w, "p7", "br-work", false), -EINVAL);    /* not configured */
	assert_string_equal(master_of("p1", buf), "br-onb");
	assert_int_equal(wport_move(w, "p1", "br-none", false), -ENODEV);    /* no such bridge */
	assert_string_equal(master_of("p1", buf), "br-onb");
	assert_int_equal(wport_move(w, "p1", "nb0", true), -ENOTTY);         /* not a bridge */
	assert_string_equal(master_of("p1", buf), "br-onb");
	assert_string_equal(master_of("nb0", buf), "");
	assert_int_equal(wport_move(w, "p9", "br-work", false), -ENODEV);    /* configured, missing */
	assert_int_equal(wport_move(w, "p1", NULL, false), -EINVAL);
	assert_int_equal(wport_move(w, "p1", "", false), -EINVAL);
	assert_int_equal(mon_read(mon, ifindex).newlink, 0);
	assert_true(admin_up("p1"));
	struct wport_stats s = stats(w);
	assert_int_equal(s.moves, 0);
	assert_int_equal(s.bounces, 0);
	assert_int_equal(s.failed, 6);
	assert_int_equal(s.present, 1);

	assert_int_equal(wport_master(w, "p9", buf, sizeof(buf)), -ENODEV);
	assert_int_equal(wport_master(w, "p7", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(wport_master(w, "p1", small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(wport_master(w, "p1", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "br-onb");
	close(mon);
	wport_free(w);

	/* bad arguments to wport_new */
	const char *none[] = { "" }, *longname[] = { "a-name-longer-than-ifnamsiz" }, *dup[] = { "p1", "p1" };
	const char *many[WPORT_MAX + 1];
	for (unsigned i = 0; i <= WPORT_MAX; i++)
		many[i] = "p1";
	w = NULL;
	assert_int_equal(wport_new(base, ports, 0, &cbs, &r, &w), -EINVAL);
	assert_int_equal(wport_new(base, many, WPORT_MAX + 1, &cbs, &r, &w), -EINVAL);
	assert_int_equal(wport_new(base, none, 1, &cbs, &r, &w), -EINVAL);
	assert_int_equal(wport_new(base, longname, 1, &cbs, &r, &w), -EINVAL);
	assert_int_equal(wport_new(base, dup, 2, &cbs, &r, &w), -EINVAL);
	assert_null(w);
	wport_free(NULL);
	del_link("p1");
	del_link("nb0");
	event_base_free(base);
}

/* A port created after wport_new, renamed away and back, deleted and
 * re-created; then freed from its own on_port callback. */
static void test_hotplug(void **state)
{
	static struct rec r;
	struct event_base *base = event_base_new();
	struct wport *w = NULL;
	const char *ports[] = { "p2" };
	char buf[IFNAMSIZ] = "x";

	(void)state;
	NEED_NETNS();
	memset(&r, 0, sizeof(r));
	del_link("p2");
	assert_int_equal(wport_new(base, ports, 1, &cbs, &r, &w), 0);
	assert_int_equal(r.port_up, 0);
	assert_int_equal(stats(w).present, 0);
	assert_int_equal(wport_master(w, "p2", buf, sizeof(buf)), -ENODEV);

	add_port("p2", NULL);
	assert_true(run_until(base, &r.port_up, 1, 2000));
	assert_string_equal(r.last_port, "p2");
	assert_int_equal(stats(w).present, 1);
	assert_int_equal(wport_master(w, "p2", buf, sizeof(buf)), 0);
	assert_string_equal(buf, ""); /* no master */

	del_link("p2");
	assert_true(run_until(base, &r.port_down, 1, 2000));
	assert_int_equal(stats(w).present, 0);
	add_port("p2", "br-guest");
	assert_true(run_until(base, &r.port_up, 2, 2000));
	assert_int_equal(wport_master(w, "p2", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "br-guest");

	/* renamed away and back: gone, present again */
	assert_int_equal(RUN("ip", "link", "set", "p2", "down"), 0);
	assert_int_equal(RUN("ip", "link", "set", "p2", "name", "p2z"), 0);
	assert_true(run_until(base, &r.port_down, 2, 2000));
	assert_int_equal(RUN("ip", "link", "set", "p2z", "name", "p2"), 0);
	assert_true(run_until(base, &r.port_up, 3, 2000));
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(r.port_up, 3);
	assert_int_equal(r.port_down, 2);

	/* wport_free from the callback (ASan checks the rest) */
	r.free_on_port = &w;
	del_link("p2");
	for (int i = 0; i < 200 && w; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
	assert_null(w);
	assert_int_equal(r.port_down, 3);
	assert_int_equal(event_base_get_num_events(base, EVENT_BASE_COUNT_ADDED), 0);
	event_base_free(base);
}

/* A netlink socket of this process joined to RTNLGRP_NEIGH. */
static bool is_neigh_socket(int fd)
{
	int dom = 0;
	uint32_t groups[4] = { 0 };
	socklen_t l = sizeof(dom);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 || dom != AF_NETLINK)
		return false;
	l = sizeof(groups);
	return getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, groups, &l) == 0 &&
	       (groups[(RTNLGRP_NEIGH - 1) / 32] & (1u << ((RTNLGRP_NEIGH - 1) % 32)));
}

/* The module's notification socket, found without a hook in the module's
 * API: the RTNLGRP_NEIGH socket that was not there before (before[] marks
 * those; an instance leaked by an earlier failed test must not be taken). */
static int find_event_socket(const bool before[1024])
{
	for (int fd = 3; fd < 1024; fd++)
		if (!before[fd] && is_neigh_socket(fd))
			return fd;
	return -1;
}

/* Notifications lost (receive buffer at the kernel's minimum, many
 * stations learned with the loop stopped): the overrun is noticed and the
 * rescan reports every station anyway. */
static void test_overrun_rescans(void **state)
{
	static struct rec r;
	struct event_base *base = event_base_new();
	struct wport *w = NULL;
	const char *ports[] = { "p3" };
	char mac[18];
	enum { N = 300 };
	int fd, tiny = 1;

	(void)state;
	NEED_NETNS();
	memset(&r, 0, sizeof(r));
	add_port("p3", "br-work");
	static bool before[1024];
	for (int i = 3; i < 1024; i++)
		before[i] = is_neigh_socket(i);
	assert_int_equal(wport_new(base, ports, 1, &cbs, &r, &w), 0);
	fd = find_event_socket(before);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny)), 0);
	for (int i = 0; i < N; i++) {
		snprintf(mac, sizeof(mac), "02:ee:00:00:%02x:%02x", i >> 8, i & 0xff);
		send_frame("p3d", mac);
	}
	/* every notification is generated before the loop runs */
	for (int i = 0; i < 200 && fdb_count("p3", "02:ee:") < N; i++)
		usleep(10000);
	assert_int_equal(fdb_count("p3", "02:ee:"), N);
	for (int i = 0; i < 20; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(2000);
	}
	for (int i = 0; i < N; i++) {
		snprintf(mac, sizeof(mac), "02:ee:00:00:%02x:%02x", i >> 8, i & 0xff);
		assert_true(stations(&r, "p3", mac) >= 1);
	}
	struct wport_stats s = stats(w);
	print_message("    %d stations, receive buffer at the kernel minimum: %lu overrun(s), %lu dump(s), "
		      "%lu on_station calls, all reported\n", N, s.overruns, s.rescans, s.learned);
	assert_true(s.overruns >= 1);
	assert_true(s.rescans >= 2);
	wport_free(w);
	del_link("p3");
	event_base_free(base);
}

static int group_setup(void **state)
{
	(void)state;
	log_open("test_wport", LOG_LVL_DEBUG, false);
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
	static const char *const brs[] = { "br-onb", "br-work", "br-guest" };
	for (unsigned i = 0; i < ARRAY_SIZE(brs); i++) {
		if (RUN("ip", "link", "add", (char *)brs[i], "type", "bridge") != 0 ||
		    RUN("ip", "link", "set", (char *)brs[i], "up") != 0) {
			print_message("cannot create bridge %s: kernel tests skipped\n", brs[i]);
			return 0;
		}
	}
	in_netns = true;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_station_learned),
		cmocka_unit_test(test_move_idempotent),
		cmocka_unit_test(test_bounce),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_hotplug),
		cmocka_unit_test(test_overrun_rescans),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
