/* repair_bench - repair of misplaced stations, measured from the hostapd
 * side: the real apgated (a child process, in a private network namespace
 * made with `unshare -n`, which goes away with it) drives two in-process
 * hostapd 2.10 doubles (tests/peer/hapd_peer.h) on this program's libevent
 * loop: ap0 (work zone, VLAN 10) and ap1 (guest zone).
 *
 *   repair_bench APGATED [N] [STORM]     (root; exit 77 = skipped)
 *
 * Preparation: N + STORM devices are made known (connected once on ap0 and
 * removed) and approved as business over the admin socket.
 *
 * 1. Mismatch detected -> fix commands sent, one station at a time: each of
 *    the N devices connects on ap0 without a VLAN (it belongs in VLAN 10).
 *    apgated asks "STA <mac>" and sends the fix (ACL corrections, then
 *    DEAUTHENTICATE <mac>). Measured in the peer's command callback: from
 *    the moment the peer reads "STA <mac>" (its reply goes out right after)
 *    to the moment it reads "DEAUTHENTICATE <mac>", the last fix command:
 *    an upper bound of detection -> commands sent. Also the time to the
 *    first fix command, and apgated's own figure (status "repair") when its
 *    admin socket reports one.
 * 2. Reconnect storm: STORM stations connect on ap0 in one loop turn, half
 *    of them without a VLAN (misplaced), half in VLAN 10 (well placed).
 *    Meanwhile an admin client on the same loop sends {"cmd":"ping"} every
 *    5 ms (pipelined, non-blocking) and records the round trips. Waited
 *    for: 2 s without a new DEAUTHENTICATE (60 s cap). Reported: events the
 *    peers emitted vs events apgated applied (status "events"), how many
 *    DEAUTHENTICATEs each station got (misplaced: exactly 1, well placed:
 *    0), the ping round trips during the storm and its wall time.
 * Figures only: no pass/fail on timing; the goals are printed beside them.
 * Exit 1 if apgated cannot be driven (start-up, admin errors).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "../peer/hapd_peer.h"
#include "util.h"

#define MAC_PREFIX "02:00:00:a"   /* set A (phase 1): 02:00:00:a1:.., set B (storm): 02:00:00:a2:.. */
#define PING_MS 5
#define QUIET_MS 2000
#define STORM_CAP_MS 60000
#define RING 16384
#define APPROVE_WINDOW 64

struct sta {
	long long t_sta, t_first_fix, t_deauth; /* first of each, monotonic ns */
	unsigned n_sta, n_fix, n_deauth;
};

enum req_kind { REQ_KEEP, REQ_PING };

struct req {
	enum req_kind kind;
	long long t;     /* sent, ns */
	json_t **out;    /* REQ_KEEP: the parsed reply */
	bool *done;
};

static struct bench {
	struct event_base *base;
	struct event *tick, *ping_ev;
	struct hapd_peer *ap0, *ap1;
	char dir[64], ctrl[96], conf[128], log[128], sock[128];
	pid_t daemon;
	unsigned n, storm;
	struct sta *a, *b;  /* per station, sets A and B */
	bool rec;           /* recording commands into a/b */
	long long last_cmd_ns, last_deauth_ns;
	unsigned long deauth_total;
	char first_cmds[1024]; /* the commands of the first measured station */
	const char *first_mac;
	/* the admin client */
	struct bufferevent *adm;
	bool adm_dead;
	struct req ring[RING];
	unsigned head, tail;    /* pop at head, push at tail */
	bool ping_rec;
	bool exiting;           /* in atexit: no more loop turns */
	long long ping_until;   /* pings sent after this are not counted (0: no limit) */
	double *rtt;            /* ms */
	size_t n_rtt, cap_rtt;
	unsigned long pings_sent, pings_skipped;
} B;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "repair_bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (B.log[0]) { /* the directory goes at exit: show the end of apgated's log */
		FILE *f = fopen(B.log, "r");
		char line[512], tail[20][512];
		unsigned n = 0;
		while (f && fgets(line, sizeof(line), f))
			util_strlcpy(tail[n++ % 20], line, sizeof(tail[0]));
		for (unsigned i = n > 20 ? n - 20 : 0; i < n; i++)
			fprintf(stderr, "  apgated: %s", tail[i % 20]);
		if (f)
			fclose(f);
	}
	exit(1);
}

static void mac_of(char *buf, size_t len, int set, unsigned i)
{
	snprintf(buf, len, MAC_PREFIX "%x:%02x:%02x", set, (i >> 8) & 255, i & 255);
}

static struct sta *sta_of(const char *m)
{
	unsigned o[6];
	unsigned i;

	if (sscanf(m, "%2x:%2x:%2x:%2x:%2x:%2x", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5]) != 6)
		return NULL;
	i = o[4] << 8 | o[5];
	if (o[3] == 0xa1 && i < B.n)
		return &B.a[i];
	if (o[3] == 0xa2 && i < B.storm)
		return &B.b[i];
	return NULL;
}

/* ---- the peers' command callback ---- */

static void on_cmd(struct hapd_peer *p, const char *cmd, void *ud)
{
	long long now = util_mono_ns();
	const char *m;
	struct sta *s;

	(void)ud;
	B.last_cmd_ns = now;
	if (!B.rec || !(m = strstr(cmd, MAC_PREFIX)) || !(s = sta_of(m)))
		return;
	if (B.first_mac && !strncmp(m, B.first_mac, strlen(B.first_mac)) && strncmp(cmd, "STA ", 4)) {
		size_t k = strlen(B.first_cmds);
		snprintf(B.first_cmds + k, sizeof(B.first_cmds) - k, "%s%s: %s", k ? "; " : "",
			 peer_ifname(p), cmd);
	}
	if (!strncmp(cmd, "STA ", 4)) {
		s->n_sta++;
		if (!s->t_sta)
			s->t_sta = now;
	} else if (!strncmp(cmd, "DEAUTHENTICATE ", 15)) {
		s->n_deauth++;
		if (!s->t_deauth)
			s->t_deauth = now;
		B.last_deauth_ns = now;
		B.deauth_total++;
	} else {
		s->n_fix++;
		if (!s->t_first_fix)
			s->t_first_fix = now;
	}
}

/* ---- the admin client (JSON lines, pipelined, replies in order) ---- */

static void adm_read(struct bufferevent *bev, void *ud)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;

	(void)ud;
	while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		long long now = util_mono_ns();
		struct req *r;

		if (B.head == B.tail)
			die("admin: a reply nobody asked for: %s", line);
		r = &B.ring[B.head++ % RING];
		if (r->kind == REQ_PING) {
			if (!strstr(line, "\"pong\""))
				die("admin: ping answered with %s", line);
			if (B.ping_rec && (!B.ping_until || r->t <= B.ping_until)) {
				if (B.n_rtt == B.cap_rtt) {
					B.cap_rtt = B.cap_rtt ? B.cap_rtt * 2 : 4096;
					B.rtt = realloc(B.rtt, B.cap_rtt * sizeof(*B.rtt));
					if (!B.rtt)
						die("out of memory");
				}
				B.rtt[B.n_rtt++] = (double)(now - r->t) / 1e6;
			}
		} else {
			json_error_t e;
			if (r->out && !(*r->out = json_loads(line, 0, &e)))
				die("admin: not JSON (%s): %s", e.text, line);
			if (r->done)
				*r->done = true;
		}
		free(line);
	}
}

static void adm_event(struct bufferevent *bev, short what, void *ud)
{
	(void)bev;
	(void)ud;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		B.adm_dead = true;
}

static int adm_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	util_strlcpy(sa.sun_path, B.sock, sizeof(sa.sun_path));
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	evutil_make_socket_nonblocking(fd);
	B.adm = bufferevent_socket_new(B.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!B.adm)
		die("bufferevent_socket_new failed");
	bufferevent_setcb(B.adm, adm_read, NULL, adm_event, NULL);
	bufferevent_enable(B.adm, EV_READ | EV_WRITE);
	return 0;
}

static bool adm_send(const char *line, enum req_kind kind, json_t **out, bool *done)
{
	if (B.tail - B.head >= RING)
		return false;
	B.ring[B.tail++ % RING] = (struct req){ kind, util_mono_ns(), out, done };
	evbuffer_add_printf(bufferevent_get_output(B.adm), "%s\n", line);
	return true;
}

static void run_once(void)
{
	if (B.adm_dead)
		die("admin socket closed by apgated (see %s)", B.log);
	event_base_loop(B.base, EVLOOP_ONCE);
}

/* One request, the loop running (the peers must answer apgated meanwhile). */
static json_t *adm_call(const char *fmt, ...)
{
	char line[512];
	json_t *j = NULL;
	bool done = false;
	long long dl = util_mono_ms() + 30000;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!adm_send(line, REQ_KEEP, &j, &done))
		die("admin: too many requests in flight");
	while (!done && util_mono_ms() < dl)
		run_once();
	if (!done)
		die("admin: no reply to %s within 30 s", line);
	if (!json_is_true(json_object_get(j, "ok")))
		die("admin: %s -> %s", line, json_dumps(j, JSON_COMPACT));
	return j;
}

static json_t *status(void)
{
	return adm_call("{\"cmd\":\"status\"}");
}

static long long jint(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(j, a), b);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

static double jnum(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(j, a), b);
	return json_is_number(v) ? json_number_value(v) : -1;
}

static void ping_cb(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	(void)ud;
	if (adm_send("{\"cmd\":\"ping\"}", REQ_PING, NULL, NULL))
		B.pings_sent++;
	else
		B.pings_skipped++;
}

static void tick_cb(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	(void)ud;
}

/* ---- the loop ---- */

static void spin_ms(long long ms)
{
	long long dl = util_mono_ms() + ms;

	while (util_mono_ms() < dl)
		event_base_loop(B.base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
}

static unsigned long pending_events(void)
{
	struct peer_stats s0, s1;

	peer_get_stats(B.ap0, &s0);
	peer_get_stats(B.ap1, &s1);
	return s0.events_pending + s1.events_pending;
}

/* Until neither peer has read a command for ms. */
static void settle(long long ms, long long cap_ms)
{
	long long dl = util_mono_ms() + cap_ms;

	B.last_cmd_ns = util_mono_ns();
	while (util_mono_ms() < dl && (util_mono_ns() - B.last_cmd_ns < ms * 1000000LL || pending_events()))
		event_base_loop(B.base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
}

/* ---- apgated ---- */

static void write_conf(const char *apgated)
{
	char script[512], portal[512];
	const char *slash = strrchr(apgated, '/');
	FILE *f = fopen(B.conf, "w");

	if (!f)
		die("%s: %s", B.conf, strerror(errno));
	snprintf(script, sizeof(script), "%.*sapgate-dhcp-script", slash ? (int)(slash - apgated + 1) : 0, apgated);
	/* the captive face's files: the source tree's portal/, next to the build directory */
	snprintf(portal, sizeof(portal), "%.*s../portal", slash ? (int)(slash - apgated + 1) : 0, apgated);
	fprintf(f,
		"[apgated]\nregistry = %1$s/registry.db\nadmin_socket = %2$s\nlog_level = info\noui_dir =\n"
		"[hostapd]\nctrl_dir = %3$s\nclient_dir = %1$s/client\ndata_dir = %1$s/lists\nping_interval_ms = 1000\n"
		"[bss ap0]\nzone = work\n"
		"[bss ap1]\nzone = guest\n"
		"[zone work]\ninterface = brwork\naddress = 10.77.0.1/24\nvlan = 10\n"
		"[zone guest]\ninterface = brguest\naddress = 10.78.0.1/24\n"
		"[zone onboarding]\ninterface = bronb\naddress = 10.79.0.1/24\n"
		"[network]\nuplink = up0\n"
		"[dnsmasq]\nconf_file = %1$s/dnsmasq.conf\nhosts_file = %1$s/dhcp-hosts\npid_file = %1$s/dnsmasq.pid\n"
		"lease_file = %1$s/dnsmasq.leases\nscript = %4$s\n"
		"[repair]\nmax_fixes = 3\n"
		"[portal]\nenabled = no\ndir = %5$s\n",
		B.dir, B.sock, B.ctrl, script, portal);
	fclose(f);
}

/* apgated -f in a network namespace of its own: unshare(1) execs it, so the
 * child's PID is apgated's; the namespace goes with the process. */
static void start_daemon(const char *apgated)
{
	char *const argv[] = { "unshare", "-n", "--", (char *)apgated, "-f", "-c", B.conf, NULL };
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(B.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* if this program dies first */
		execvp(argv[0], argv);
		_exit(127);
	}
	B.daemon = pid;
}

static void stop_daemon(void)
{
	long long dl = util_mono_ms() + 5000;
	int st;

	if (B.daemon <= 0)
		return;
	kill(B.daemon, SIGTERM);
	while (waitpid(B.daemon, &st, WNOHANG) == 0) {
		if (util_mono_ms() > dl) {
			kill(B.daemon, SIGKILL);
			waitpid(B.daemon, &st, 0);
			break;
		}
		if (B.exiting)
			usleep(10000);
		else
			spin_ms(10); /* the peers answer while it shuts down */
	}
	B.daemon = 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	B.exiting = true;
	stop_daemon();
	if (B.dir[0])
		nftw(B.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void wait_ready(void)
{
	long long dl = util_mono_ms() + 30000;
	int st;

	while (!B.adm) {
		if (waitpid(B.daemon, &st, WNOHANG) == B.daemon) {
			B.daemon = 0;
			die("apgated exited at start-up (see %s)", B.log);
		}
		if (util_mono_ms() > dl)
			die("apgated's admin socket did not open within 30 s (see %s)", B.log);
		if (adm_connect() < 0)
			spin_ms(20);
	}
	for (;;) {
		json_t *s = status(), *bss = json_object_get(s, "bss"), *v;
		size_t i, up = 0;
		json_array_foreach(bss, i, v)
			up += json_is_true(json_object_get(v, "attached"));
		json_decref(s);
		if (up == 2 && peer_n_monitors(B.ap0) && peer_n_monitors(B.ap1))
			break;
		if (util_mono_ms() > dl)
			die("apgated did not attach to ap0 and ap1 within 30 s (see %s)", B.log);
		spin_ms(20);
	}
}

static long long registry_total(void)
{
	json_t *s = status(), *devs = json_object_get(json_object_get(s, "registry"), "devices"), *v;
	const char *k;
	long long n = 0;

	json_object_foreach(devs, k, v)
		n += json_integer_value(v);
	json_decref(s);
	return n;
}

/* ---- preparation ---- */

static void prepare(void)
{
	char mac[32], line[160];
	unsigned total = B.n + B.storm, sent = 0, answered = 0;
	long long t0 = util_mono_ns(), dl;
	bool *done = calloc(total, sizeof(*done));
	json_t **rep = calloc(total, sizeof(*rep));

	if (!done || !rep)
		die("out of memory");
	/* known: connected once on ap0 (the work BSS: pending), then gone */
	for (unsigned i = 0; i < total; i++) {
		int set = i < B.n ? 1 : 2;
		mac_of(mac, sizeof(mac), set, set == 1 ? i : i - B.n);
		if (peer_connect_sta(B.ap0, mac, 0, NULL) < 0 || peer_del_sta(B.ap0, mac) < 0)
			die("peer: cannot connect %s", mac);
		if (i % 50 == 49)
			settle(0, 5000);
	}
	dl = util_mono_ms() + 60000;
	while (registry_total() < total) {
		if (util_mono_ms() > dl)
			die("only %lld of %u devices in the registry after 60 s", registry_total(), total);
		spin_ms(50);
	}
	/* approved as business, APPROVE_WINDOW requests in flight */
	while (answered < total) {
		while (sent < total && sent - answered < APPROVE_WINDOW) {
			int set = sent < B.n ? 1 : 2;
			mac_of(mac, sizeof(mac), set, set == 1 ? sent : sent - B.n);
			snprintf(line, sizeof(line), "{\"cmd\":\"approve\",\"mac\":\"%s\",\"as\":\"business\",\"label\":\"bench\"}", mac);
			adm_send(line, REQ_KEEP, &rep[sent], &done[sent]);
			sent++;
		}
		run_once();
		while (answered < sent && done[answered]) {
			if (!json_is_true(json_object_get(rep[answered], "ok")))
				die("approve #%u: %s", answered, json_dumps(rep[answered], JSON_COMPACT));
			json_decref(rep[answered]);
			answered++;
		}
	}
	settle(300, 30000);
	printf("%-44s %8.2f s  (%u devices: connected once on ap0, approved as business over the admin socket)\n",
	       "preparation", (double)(util_mono_ns() - t0) / 1e9, total);
	free(done);
	free(rep);
}

/* ---- figures ---- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double q)
{
	if (!n)
		return 0;
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

/* ---- 1. one station at a time ---- */

static void phase_latency(void)
{
	double *fix = calloc(B.n, sizeof(*fix)), *first = calloc(B.n, sizeof(*first));
	size_t nf = 0, n1 = 0;
	unsigned missing = 0, dup = 0, none = 0;
	char mac[32];
	json_t *s;

	if (!fix || !first)
		die("out of memory");
	memset(B.a, 0, B.n * sizeof(*B.a));
	B.rec = true;
	for (unsigned i = 0; i < B.n; i++) {
		struct sta *st = &B.a[i];
		long long dl = util_mono_ms() + 2000;

		mac_of(mac, sizeof(mac), 1, i);
		if (i == 0)
			B.first_mac = mac;
		if (peer_connect_sta(B.ap0, mac, 0 /* no VLAN: wrong, it belongs in 10 */, NULL) < 0)
			die("peer: cannot connect %s", mac);
		while (!st->t_deauth && util_mono_ms() < dl)
			event_base_loop(B.base, EVLOOP_NONBLOCK | EVLOOP_ONCE);
		if (st->t_sta && st->t_deauth) {
			fix[nf++] = (double)(st->t_deauth - st->t_sta) / 1e3;
			if (st->t_first_fix)
				first[n1++] = (double)(st->t_first_fix - st->t_sta) / 1e3;
		} else {
			missing++;
		}
		/* its AP-STA-DISCONNECTED goes out, apgated reads it; then gone */
		settle(1, 1000);
		peer_del_sta(B.ap0, mac);
		if (i == 0)
			B.first_mac = NULL;
	}
	settle(500, 5000); /* a late duplicate would show here */
	B.rec = false;
	for (unsigned i = 0; i < B.n; i++) {
		dup += B.a[i].n_deauth > 1;
		none += B.a[i].n_deauth == 0;
	}
	qsort(fix, nf, sizeof(*fix), cmp_d);
	qsort(first, n1, sizeof(*first), cmp_d);

	printf("\n-- 1. mismatch detected -> fix commands sent (%u approved business devices, one at a time, each\n"
	       "      connecting on ap0 without VLAN; measured at the peer: \"STA <mac>\" read -> \"DEAUTHENTICATE <mac>\" read)\n",
	       B.n);
	printf("   fix commands seen for one station: %s\n", B.first_cmds);
	printf("%-44s %8.0f us   goal < 2000 us\n", "STA -> DEAUTHENTICATE p50", pct(fix, nf, 0.5));
	printf("%-44s %8.0f us\n", "STA -> DEAUTHENTICATE p99", pct(fix, nf, 0.99));
	printf("%-44s %8.0f us\n", "STA -> DEAUTHENTICATE max", nf ? fix[nf - 1] : 0);
	printf("%-44s %8.0f us  p99 %.0f us\n", "STA -> first fix command p50", pct(first, n1, 0.5), pct(first, n1, 0.99));
	s = status();
	if (json_object_get(s, "repair") && jnum(s, "repair", "fix_p50_us") >= 0)
		printf("%-44s %8.0f us  p99 %.0f us  (inside apgated: STA reply parsed -> fix handed to its hostapd client)\n",
		       "apgated's own figure p50", jnum(s, "repair", "fix_p50_us"), jnum(s, "repair", "fix_p99_us"));
	else
		printf("%-44s %11s  (this apgated's status has no repair figures)\n", "apgated's own figure", "-");
	json_decref(s);
	printf("%-44s %8u of %u   (no DEAUTHENTICATE within 2 s: %u; more than one: %u)\n",
	       "stations fixed exactly once", B.n - dup - none, B.n, none, dup);
	if (missing)
		printf("   !! %u stations without a STA/DEAUTHENTICATE pair within 2 s\n", missing);
	free(fix);
	free(first);
}

/* ---- 2. the storm ---- */

static void phase_storm(void)
{
	struct peer_stats p0a, p1a, p0b, p1b;
	struct timeval tv = { 0, PING_MS * 1000 };
	unsigned mis[3] = { 0 }, well[2] = { 0 }, sta_q[3] = { 0 };
	unsigned n_mis = 0, n_well = 0, expect_seen = 0;
	long long applied0, failed0, fixes0, checks0, t_start, t_end = 0, dl;
	char mac[32];
	json_t *s;

	settle(200, 5000);
	s = status();
	applied0 = jint(s, "events", "applied");
	failed0 = jint(s, "events", "failed");
	fixes0 = jint(s, "repair", "fixes");
	checks0 = jint(s, "repair", "checks");
	json_decref(s);
	peer_get_stats(B.ap0, &p0a);
	peer_get_stats(B.ap1, &p1a);
	memset(B.b, 0, B.storm * sizeof(*B.b));
	B.rec = true;
	B.last_deauth_ns = 0;
	B.n_rtt = 0;
	B.ping_rec = true;
	B.ping_until = 0;

	t_start = util_mono_ns();
	B.ping_ev = event_new(B.base, -1, EV_PERSIST, ping_cb, NULL);
	event_add(B.ping_ev, &tv);
	ping_cb(-1, 0, NULL);
	/* even: no VLAN (misplaced, belongs in 10); odd: VLAN 10 (well placed) */
	for (unsigned i = 0; i < B.storm; i++) {
		mac_of(mac, sizeof(mac), 2, i);
		if (peer_connect_sta(B.ap0, mac, i % 2 ? 10 : 0, NULL) < 0)
			die("peer: cannot connect %s", mac);
	}
	n_mis = (B.storm + 1) / 2;
	n_well = B.storm / 2;
	dl = util_mono_ms() + STORM_CAP_MS;
	for (;;) {
		long long now = util_mono_ns(), last = B.last_deauth_ns ? B.last_deauth_ns : t_start;
		event_base_loop(B.base, EVLOOP_ONCE);
		if (!t_end) {
			expect_seen = 0;
			for (unsigned i = 0; i < B.storm; i += 2)
				expect_seen += B.b[i].n_deauth > 0;
			if (expect_seen == n_mis) {
				t_end = B.last_deauth_ns;
				B.ping_until = t_end;
			}
		}
		if (now - last >= QUIET_MS * 1000000LL || util_mono_ms() > dl)
			break;
	}
	if (!t_end) { /* not all arrived: the storm ends at the last one seen (or the cap) */
		t_end = B.last_deauth_ns ? B.last_deauth_ns : util_mono_ns();
		B.ping_until = t_end;
	}
	event_free(B.ping_ev);
	B.ping_ev = NULL;
	while (B.head != B.tail) /* the pings still in flight */
		run_once();
	B.ping_rec = false;
	settle(200, 5000);
	B.rec = false;

	peer_get_stats(B.ap0, &p0b);
	peer_get_stats(B.ap1, &p1b);
	s = status();
	unsigned long emitted = (p0b.events_sent - p0a.events_sent) + (p1b.events_sent - p1a.events_sent);
	unsigned long dropped = (p0b.events_dropped - p0a.events_dropped) + (p1b.events_dropped - p1a.events_dropped);
	unsigned long pending = p0b.events_pending + p1b.events_pending;
	long long applied = jint(s, "events", "applied") - applied0, failed = jint(s, "events", "failed") - failed0;
	for (unsigned i = 0; i < B.storm; i++) {
		struct sta *st = &B.b[i];
		if (i % 2 == 0)
			mis[st->n_deauth > 1 ? 2 : st->n_deauth]++;
		else
			well[st->n_deauth > 0]++;
		sta_q[st->n_sta > 1 ? 2 : st->n_sta]++;
	}
	qsort(B.rtt, B.n_rtt, sizeof(*B.rtt), cmp_d);

	printf("\n-- 2. reconnect storm (%u approved business stations connect on ap0 in one loop turn: %u without VLAN =\n"
	       "      misplaced, %u in VLAN 10 = well placed; admin ping every %d ms on the same loop)\n",
	       B.storm, n_mis, n_well, PING_MS);
	printf("%-44s %8.1f ms   (first connect -> last DEAUTHENTICATE%s)\n", "storm wall time",
	       (double)(t_end - t_start) / 1e6, expect_seen == n_mis ? "" : "; NOT all arrived");
	printf("%-44s %8lu    (AP-STA-CONNECTED + AP-STA-DISCONNECTED after each deauth)\n",
	       "events sent by the peers", emitted);
	printf("%-44s %8lld    goal = events sent (failed %lld, dropped by the peers %lu, still queued %lu)\n",
	       "events applied by apgated (status)", applied, failed, dropped, pending);
	printf("%-44s %8u of %u   goal: all (0 fixes: %u, more than 1: %u)\n",
	       "misplaced stations deauthenticated once", mis[1], n_mis, mis[0], mis[2]);
	printf("%-44s %8u of %u   goal: all (deauthenticated: %u)\n", "well-placed stations left alone",
	       well[0], n_well, well[1]);
	printf("%-44s %8u of %u   (none: %u, more than one: %u)\n", "stations asked \"STA <mac>\" once",
	       sta_q[1], B.storm, sta_q[0], sta_q[2]);
	if (fixes0 >= 0 && checks0 >= 0)
		printf("%-44s %8lld    (checks %lld; apgated's status \"repair\")\n", "fixes counted by apgated",
		       jint(s, "repair", "fixes") - fixes0, jint(s, "repair", "checks") - checks0);
	printf("%-44s %8.2f ms   (%zu pings sent during the storm)\n", "admin ping p50", pct(B.rtt, B.n_rtt, 0.5),
	       B.n_rtt);
	printf("%-44s %8.2f ms   goal < 50 ms\n", "admin ping p99", pct(B.rtt, B.n_rtt, 0.99));
	printf("%-44s %8.2f ms\n", "admin ping max", B.n_rtt ? B.rtt[B.n_rtt - 1] : 0);
	if (B.pings_skipped)
		printf("   !! %lu pings not sent: %d requests already in flight\n", B.pings_skipped, RING);
	json_decref(s);
}

int main(int argc, char **argv)
{
	char *apgated;
	struct timeval tick = { 0, 100000 };

	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: repair_bench APGATED [N=500] [STORM=500]\n");
		return 2;
	}
	if (geteuid() != 0) {
		printf("skip - repair_bench needs root (apgated runs in a network namespace of its own)\n");
		return 77;
	}
	apgated = realpath(argv[1], NULL); /* the config wants absolute paths */
	if (!apgated)
		die("%s: %s", argv[1], strerror(errno));
	B.n = argc > 2 ? (unsigned)atoi(argv[2]) : 500;
	B.storm = argc > 3 ? (unsigned)atoi(argv[3]) : 500;
	if (!B.n || B.n > 65536 || B.storm < 2 || B.storm > 65536)
		die("N must be 1..65536, STORM 2..65536");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	B.a = calloc(B.n, sizeof(*B.a));
	B.b = calloc(B.storm, sizeof(*B.b));
	if (!B.a || !B.b)
		die("out of memory");

	snprintf(B.dir, sizeof(B.dir), "/tmp/apgate-rbench-XXXXXX");
	if (!mkdtemp(B.dir))
		die("mkdtemp: %s", strerror(errno));
	atexit(cleanup);
	snprintf(B.ctrl, sizeof(B.ctrl), "%s/ctrl", B.dir);
	snprintf(B.conf, sizeof(B.conf), "%s/apgate.conf", B.dir);
	snprintf(B.log, sizeof(B.log), "%s/apgated.log", B.dir);
	snprintf(B.sock, sizeof(B.sock), "%s/admin.sock", B.dir);

	B.base = event_base_new();
	if (!B.base)
		die("event_base_new failed");
	B.tick = event_new(B.base, -1, EV_PERSIST, tick_cb, NULL); /* EVLOOP_ONCE never sleeps long */
	event_add(B.tick, &tick);
	if (peer_new(B.base, B.ctrl, "ap0", &B.ap0) < 0 || peer_new(B.base, B.ctrl, "ap1", &B.ap1) < 0)
		die("cannot create the hostapd peers in %s", B.ctrl);
	peer_set_radio(B.ap0, "02:00:00:00:b0:00", 2437, 6, true);
	peer_set_radio(B.ap1, "02:00:00:00:b1:00", 2437, 6, true);
	peer_set_command_cb(B.ap0, on_cmd, NULL);
	peer_set_command_cb(B.ap1, on_cmd, NULL);

	write_conf(apgated);
	start_daemon(apgated);
	wait_ready();

	printf("== repair of misplaced stations (real apgated in a private network namespace, two in-process hostapd 2.10\n"
	       "   peers: ap0 work zone VLAN 10, ap1 guest zone; log_level info)\n");
	prepare();
	phase_latency();
	phase_storm();

	stop_daemon();
	if (B.adm)
		bufferevent_free(B.adm);
	peer_free(B.ap0);
	peer_free(B.ap1);
	event_free(B.tick);
	event_base_free(B.base);
	free(B.a);
	free(B.b);
	free(B.rtt);
	free(apgated);
	printf("(machine: %ld cores; reproduce: make bench, or as root: build/repair_bench build/apgated %u %u)\n",
	       sysconf(_SC_NPROCESSORS_ONLN), B.n, B.storm);
	return 0;
}
