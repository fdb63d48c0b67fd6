/* The hostapd client against the hostapd 2.10 test peer, over real AF_UNIX
 * sockets in a temporary directory, on one libevent loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "io/hapd.h"
#include "log.h"
#include "util.h"
#include "../peer/hapd_peer.h"

#define IFNAME "wlan0"
#define MAX_EVENTS 4096
#define MAX_LOG 64

struct fx {
	struct event_base *base;
	struct event *tick;
	char dir[32];
	char ctrl[48];
	char client[48];
	struct hapd_peer *peer;
	struct hapd_conn *conn;
	struct hapd_conn_cfg cfg;

	unsigned link_up, link_down, resyncs;
	struct hapd_sta stas[64];
	unsigned n_stas;
	struct hapd_ev *evs;
	unsigned n_evs;
	char log[MAX_LOG][64];  /* order of callbacks: "link:1", "resync:3", "ev:<name> <mac>" */
	unsigned n_log;

	/* behaviour switches for callbacks */
	bool free_on_event;
	const char *request_on_resync;
	int request_on_resync_rc;
};

struct reply {
	bool done;
	int err;
	char text[4097];
	size_t len;
};

static void note(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct fx *f, const char *fmt, ...)
{
	va_list ap;

	if (f->n_log == MAX_LOG)
		return;
	va_start(ap, fmt);
	vsnprintf(f->log[f->n_log++], sizeof(f->log[0]), fmt, ap);
	va_end(ap);
}

static void on_reply(int err, const char *reply, size_t len, void *ud)
{
	struct reply *r = ud;

	r->done = true;
	r->err = err;
	r->len = len;
	assert_non_null(reply);
	assert_true(len < sizeof(r->text));
	memcpy(r->text, reply, len + 1);
}

static void cb_event(struct hapd_conn *c, const struct hapd_ev *ev, void *ud)
{
	struct fx *f = ud;

	(void)c;
	if (f->n_evs < MAX_EVENTS)
		f->evs[f->n_evs++] = *ev;
	note(f, "ev:%s%s%s", ev->name, ev->mac[0] ? " " : "", ev->mac);
	if (f->free_on_event) {
		hapd_conn_free(f->conn);
		f->conn = NULL;
	}
}

static void cb_link(struct hapd_conn *c, bool attached, void *ud)
{
	struct fx *f = ud;

	(void)c;
	if (attached)
		f->link_up++;
	else
		f->link_down++;
	note(f, "link:%d", attached);
}

static void cb_resync(struct hapd_conn *c, const struct hapd_sta *stas, unsigned n, void *ud)
{
	struct fx *f = ud;

	f->resyncs++;
	f->n_stas = n < 64 ? n : 64;
	memcpy(f->stas, stas, f->n_stas * sizeof(*stas));
	note(f, "resync:%u", n);
	if (f->request_on_resync)
		f->request_on_resync_rc = hapd_request(c, f->request_on_resync, NULL, NULL);
}

static const struct hapd_callbacks cbs = { cb_event, cb_link, cb_resync };

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Runs the loop until cond holds; fails the test after ms. The 5 ms tick
 * bounds each loop pass. */
#define WAIT_FOR(f, cond, ms)                                                        \
	do {                                                                         \
		long long end_ = util_mono_ms() + (ms);                              \
		while (!(cond)) {                                                    \
			if (util_mono_ms() > end_)                                   \
				fail_msg("line %d: still not %s after %d ms", __LINE__, \
					 #cond, (int)(ms));                          \
			event_base_loop((f)->base, EVLOOP_ONCE);                     \
		}                                                                    \
	} while (0)

/* Runs the loop for ms (to see that something does NOT happen). */
static void spin(struct fx *f, unsigned ms)
{
	long long end = util_mono_ms() + ms;

	while (util_mono_ms() < end)
		event_base_loop(f->base, EVLOOP_ONCE);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct timeval tv = { 0, 5000 };

	assert_non_null(f);
	f->evs = calloc(MAX_EVENTS, sizeof(*f->evs));
	assert_non_null(f->evs);
	strcpy(f->dir, "/tmp/apgate-hapd-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->ctrl, sizeof(f->ctrl), "%s/hostapd", f->dir);
	snprintf(f->client, sizeof(f->client), "%s/client", f->dir);
	assert_int_equal(mkdir(f->client, 0700), 0);
	f->base = event_base_new();
	assert_non_null(f->base);
	f->tick = event_new(f->base, -1, EV_PERSIST, on_tick, NULL);
	event_add(f->tick, &tv);
	f->cfg = (struct hapd_conn_cfg){
		.ctrl_dir = f->ctrl,
		.ifname = IFNAME,
		.client_dir = f->client,
		.ping_interval_ms = 100,
		.request_timeout_ms = 200,
		.backoff_min_ms = 20,
		.backoff_max_ms = 160,
	};
	log_set_level(getenv("HAPD_TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERR);
	*state = f;
	return 0;
}

static unsigned count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR)
			remove_tree(path);
		else
			unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	unsigned left;

	hapd_conn_free(f->conn);
	peer_free(f->peer);
	left = count_entries(f->client);
	remove_tree(f->dir);
	event_free(f->tick);
	event_base_free(f->base);
	free(f->evs);
	free(f);
	/* the client removes its own sockets */
	assert_int_equal(left, 0);
	return 0;
}

static void start_peer(struct fx *f)
{
	assert_int_equal(peer_new(f->base, f->ctrl, IFNAME, &f->peer), 0);
}

static void start_conn(struct fx *f)
{
	assert_int_equal(hapd_conn_new(f->base, &f->cfg, &cbs, f, &f->conn), 0);
}

static void attach(struct fx *f)
{
	unsigned r = f->resyncs;

	start_conn(f);
	WAIT_FOR(f, f->resyncs > r, 2000);
}

/* The i-th command the peer received that is not a PING (keepalives come
 * at any time). */
static const char *cmd_at(struct fx *f, struct hapd_peer *p, size_t i)
{
	size_t n;
	const char *const *cmds = peer_commands(p, &n);

	(void)f;
	for (size_t k = 0; k < n; k++) {
		if (strcmp(cmds[k], "PING") == 0)
			continue;
		if (i-- == 0)
			return cmds[k];
	}
	return "(none)";
}

static unsigned count_cmd(struct hapd_peer *p, const char *cmd)
{
	size_t n;
	const char *const *cmds = peer_commands(p, &n);
	unsigned c = 0;

	for (size_t k = 0; k < n; k++)
		c += strcmp(cmds[k], cmd) == 0;
	return c;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void request(struct fx *f, const char *cmd, struct reply *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(hapd_request(f->conn, cmd, on_reply, r), 0);
}

/* ------------------------------------------------------------- tests */

static void test_attach_and_resync(void **state)
{
	struct fx *f = *state;
	struct hapd_stats st;
	char path[160];
	struct stat sb;

	start_peer(f);
	assert_int_equal(peer_add_sta(f->peer, "02:00:00:00:01:01", 0, NULL), 0);
	assert_int_equal(peer_add_sta(f->peer, "02:00:00:00:01:02", 20, "staff"), 0);
	assert_int_equal(peer_add_sta(f->peer, "02:00:00:00:01:03", 0, NULL), 0);
	attach(f);

	assert_int_equal(f->link_up, 1);
	assert_int_equal(f->resyncs, 1);
	assert_string_equal(f->log[0], "link:1");
	assert_string_equal(f->log[1], "resync:3");
	/* hostapd's order: newest first */
	assert_int_equal(f->n_stas, 3);
	assert_string_equal(f->stas[0].mac, "02:00:00:00:01:03");
	assert_string_equal(f->stas[1].mac, "02:00:00:00:01:02");
	assert_int_equal(f->stas[1].vlan_id, 20);
	assert_string_equal(f->stas[1].keyid, "staff");
	assert_true(f->stas[1].authorized);
	assert_string_equal(f->stas[2].mac, "02:00:00:00:01:01");
	assert_int_equal(f->stas[2].vlan_id, 0);

	/* what hostapd saw: ATTACH, then the walk */
	assert_string_equal(cmd_at(f, f->peer, 0), "ATTACH");
	assert_string_equal(cmd_at(f, f->peer, 1), "STA-FIRST");
	assert_string_equal(cmd_at(f, f->peer, 2), "STA-NEXT 02:00:00:00:01:03");
	assert_string_equal(cmd_at(f, f->peer, 3), "STA-NEXT 02:00:00:00:01:02");
	assert_string_equal(cmd_at(f, f->peer, 4), "STA-NEXT 02:00:00:00:01:01");
	assert_string_equal(cmd_at(f, f->peer, 5), "(none)");
	assert_int_equal(peer_n_monitors(f->peer), 1);

	hapd_conn_stats(f->conn, &st);
	assert_true(st.attached);
	assert_int_equal(st.stations, 3);
	assert_int_equal(st.reconnects, 0);
	assert_string_equal(hapd_conn_ifname(f->conn), IFNAME);

	/* the client's own sockets: absolute paths under client_dir */
	snprintf(path, sizeof(path), "%s/apgated-%d-%s-ev", f->client, (int)getpid(), IFNAME);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(count_entries(f->client), 2);

	/* keepalive */
	WAIT_FOR(f, count_cmd(f->peer, "PING") >= 2, 1000);
	assert_int_equal(f->link_down, 0);
}

/* hapd_conn_resync(): the list is walked again after the delay, once for
 * several calls, with what hostapd holds then; nothing while not attached. */
static void test_resync_on_request(void **state)
{
	struct fx *f = *state;
	unsigned walks;

	start_peer(f);
	assert_int_equal(peer_add_sta(f->peer, "02:00:00:00:01:01", 0, NULL), 0);
	attach(f);
	assert_int_equal(f->resyncs, 1);
	assert_int_equal(f->n_stas, 1);
	assert_int_equal(peer_add_sta(f->peer, "02:00:00:00:01:02", 0, NULL), 0);
	walks = count_cmd(f->peer, "STA-FIRST");
	hapd_conn_resync(f->conn, 100);
	hapd_conn_resync(f->conn, 100); /* pending already: nothing more */
	assert_int_equal(f->resyncs, 1); /* never from inside */
	WAIT_FOR(f, f->resyncs == 2, 2000);
	assert_int_equal(f->n_stas, 2);
	assert_string_equal(f->stas[0].mac, "02:00:00:00:01:02");
	spin(f, 300);
	assert_int_equal(f->resyncs, 2);
	assert_int_equal(count_cmd(f->peer, "STA-FIRST"), walks + 1);
	assert_int_equal(f->link_down, 0);
	hapd_conn_resync(NULL, 0);
}

static void test_events_typed(void **state)
{
	struct fx *f = *state;
	struct hapd_stats st;

	start_peer(f);
	attach(f);
	assert_int_equal(peer_connect_sta(f->peer, "02:00:00:00:02:01", 30, "pos"), 0);
	assert_int_equal(peer_emit(f->peer, "AP-ENABLED "), 1);
	assert_int_equal(peer_emit(f->peer, "WPS-PBC-ACTIVE"), 1);   /* unknown */
	assert_int_equal(peer_emit(f->peer, "BSS-TM-RESP 02:00:00:00:02:01 status_code=6 "
				   "bss_termination_delay=0"), 1);
	assert_int_equal(peer_disconnect_sta(f->peer, "02:00:00:00:02:01"), 0);
	WAIT_FOR(f, f->n_evs == 4, 1000);

	assert_int_equal(f->evs[0].type, HAPD_EV_STA_CONNECTED);
	assert_string_equal(f->evs[0].mac, "02:00:00:00:02:01");
	assert_string_equal(f->evs[0].keyid, "pos");
	assert_int_equal(f->evs[0].level, 3);
	assert_int_equal(f->evs[1].type, HAPD_EV_AP_ENABLED);
	assert_int_equal(f->evs[2].type, HAPD_EV_BSS_TM_RESP);
	assert_int_equal(f->evs[2].status_code, 6);
	assert_int_equal(f->evs[3].type, HAPD_EV_STA_DISCONNECTED);

	hapd_conn_stats(f->conn, &st);
	assert_int_equal(st.events, 4);
	assert_int_equal(st.unknown, 1);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.stations, 0);
}

static void test_station_count_follows_events(void **state)
{
	struct fx *f = *state;
	struct hapd_stats st;

	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:03:01", 0, NULL);
	attach(f);
	peer_connect_sta(f->peer, "02:00:00:00:03:02", 0, NULL);
	peer_connect_sta(f->peer, "02:00:00:00:03:03", 0, NULL);
	/* a repeated CONNECTED (re-key, roaming back) is not a new station */
	peer_emit(f->peer, "AP-STA-CONNECTED 02:00:00:00:03:01");
	peer_disconnect_sta(f->peer, "02:00:00:00:03:02");
	peer_emit(f->peer, "AP-STA-DISCONNECTED 02:00:00:00:09:09"); /* never counted */
	WAIT_FOR(f, f->n_evs == 5, 1000);
	hapd_conn_stats(f->conn, &st);
	assert_int_equal(st.stations, 2);
}

static void test_malformed_counted_link_kept(void **state)
{
	struct fx *f = *state;
	struct hapd_stats st;
	struct reply r;
	static const char nul[] = "<3>AP-STA-CONNECTED 02:00:00:00:01:01\0x";

	start_peer(f);
	attach(f);
	peer_emit_raw(f->peer, "\x81\xfe\xff garbage", 12);
	peer_emit(f->peer, "AP-STA-CONNECTED 02:00:00:00:0");
	peer_emit_raw(f->peer, nul, sizeof(nul) - 1);
	peer_emit(f->peer, "AP-STA-CONNECTED 02:00:00:00:04:01");
	WAIT_FOR(f, f->n_evs == 1, 1000);
	assert_string_equal(f->evs[0].mac, "02:00:00:00:04:01");
	hapd_conn_stats(f->conn, &st);
	assert_int_equal(st.malformed, 3);
	assert_int_equal(st.events, 1);
	assert_true(st.attached);
	assert_int_equal(f->link_down, 0);

	request(f, "PING", &r);
	WAIT_FOR(f, r.done, 1000);
	assert_int_equal(r.err, 0);
	assert_string_equal(r.text, "PONG\n");
}

static void test_requests(void **state)
{
	struct fx *f = *state;
	struct reply r1, r2, r3, r4;
	char big[4097];

	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:05:01", 20, "k1");
	start_conn(f);
	/* not attached yet */
	assert_int_equal(hapd_request(f->conn, "PING", on_reply, &r1), -ENOTCONN);
	WAIT_FOR(f, f->resyncs == 1, 2000);

	/* queued together, answered in order, each with its own reply */
	request(f, "STA 02:00:00:00:05:01", &r1);
	request(f, "ACCEPT_ACL ADD_MAC 02:00:00:00:05:01 VLAN_ID=20", &r2);
	request(f, "ACCEPT_ACL SHOW", &r3);
	request(f, "FROBNICATE", &r4);
	/* the callback never runs inside hapd_request() */
	assert_false(r1.done);
	WAIT_FOR(f, r4.done, 1000);
	assert_int_equal(r1.err, 0);
	assert_true(starts_with(r1.text, "02:00:00:00:05:01\nflags=[AUTH][ASSOC][AUTHORIZED]"));
	assert_non_null(strstr(r1.text, "\nvlan_id=20\n"));
	assert_string_equal(r2.text, "OK\n");
	assert_string_equal(r3.text, "02:00:00:00:05:01 VLAN_ID=20\n");
	assert_int_equal(r3.len, 29);
	assert_string_equal(r4.text, "UNKNOWN COMMAND\n");

	/* a command that makes an event: DEAUTHENTICATE */
	request(f, "DEAUTHENTICATE 02:00:00:00:05:01", &r1);
	WAIT_FOR(f, r1.done && f->n_evs == 1, 1000);
	assert_string_equal(r1.text, "OK\n");
	assert_int_equal(f->evs[0].type, HAPD_EV_STA_DISCONNECTED);
	assert_string_equal(f->evs[0].mac, "02:00:00:00:05:01");

	/* an empty reply is a reply */
	request(f, "DENY_ACL SHOW", &r1);
	WAIT_FOR(f, r1.done, 1000);
	assert_int_equal(r1.err, 0);
	assert_int_equal(r1.len, 0);
	assert_string_equal(r1.text, "");

	/* hostapd reads at most 4095 bytes */
	memset(big, 'A', sizeof(big) - 1);
	big[4096] = '\0';
	assert_int_equal(hapd_request(f->conn, big, NULL, NULL), -EMSGSIZE);
	big[4095] = '\0';
	request(f, big, &r1);
	WAIT_FOR(f, r1.done, 1000);
	assert_string_equal(r1.text, "UNKNOWN COMMAND\n");
	assert_int_equal(hapd_request(f->conn, "", NULL, NULL), -EINVAL);
	/* cb may be NULL */
	assert_int_equal(hapd_request(f->conn, "PING", NULL, NULL), 0);
	spin(f, 20);
	assert_int_equal(f->link_down, 0);
}

static void test_stalled_peer_times_out(void **state)
{
	struct fx *f = *state;
	struct reply r1, r2;
	struct hapd_stats st;
	long long t0;

	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:06:01", 0, NULL);
	peer_add_sta(f->peer, "02:00:00:00:06:02", 0, NULL);
	attach(f);

	peer_set_stall(f->peer, true);
	t0 = util_mono_ms();
	request(f, "STA 02:00:00:00:06:01", &r1);
	WAIT_FOR(f, r1.done, 1000);
	assert_int_equal(r1.err, -ETIMEDOUT);
	assert_true(util_mono_ms() - t0 >= 190);
	assert_int_equal(r1.len, 0);

	/* hostapd wakes up and answers the old question late; the next
	 * request must get its own answer */
	peer_set_stall(f->peer, false);
	request(f, "STA 02:00:00:00:06:02", &r2);
	WAIT_FOR(f, r2.done, 1000);
	assert_int_equal(r2.err, 0);
	assert_true(starts_with(r2.text, "02:00:00:00:06:02\n"));
	/* the late answer went somewhere: the peer did read the old command */
	assert_int_equal(count_cmd(f->peer, "STA 02:00:00:00:06:01"), 1);

	hapd_conn_stats(f->conn, &st);
	assert_int_equal(st.timeouts, 1);
	assert_true(st.attached);
	assert_int_equal(f->link_down, 0);
	/* still two sockets: the old command socket is gone */
	assert_int_equal(count_entries(f->client), 2);
}

static void test_stalled_peer_is_link_loss(void **state)
{
	struct fx *f = *state;

	start_peer(f);
	attach(f);
	/* hostapd stuck for good: no PONG -> link down -> retried */
	peer_set_stall(f->peer, true);
	WAIT_FOR(f, f->link_down == 1, 2000);
	assert_int_equal(hapd_request(f->conn, "PING", NULL, NULL), -ENOTCONN);
	peer_set_stall(f->peer, false);
	WAIT_FOR(f, f->resyncs == 2, 3000);
	assert_int_equal(f->link_up, 2);
}

static void test_hostapd_restart(void **state)
{
	struct fx *f = *state;
	struct reply r;
	struct hapd_stats st;

	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:07:01", 0, NULL);
	attach(f);

	/* killed: the socket goes, nobody says a word */
	request(f, "STA 02:00:00:00:07:01", &r);
	peer_free(f->peer);
	f->peer = NULL;
	WAIT_FOR(f, f->link_down == 1 && r.done, 2000);
	assert_int_equal(r.err, -ENOTCONN);
	hapd_conn_stats(f->conn, &st);
	assert_false(st.attached);
	spin(f, 100); /* a few failed attempts */
	assert_int_equal(f->link_up, 1);

	/* a new hostapd on the same path, with other stations */
	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:07:02", 0, NULL);
	peer_add_sta(f->peer, "02:00:00:00:07:03", 0, NULL);
	WAIT_FOR(f, f->resyncs == 2, 3000);
	assert_int_equal(f->link_up, 2);
	assert_int_equal(f->n_stas, 2);
	assert_string_equal(f->stas[0].mac, "02:00:00:00:07:03");
	assert_string_equal(f->stas[1].mac, "02:00:00:00:07:02");
	assert_string_equal(cmd_at(f, f->peer, 0), "ATTACH");
	assert_string_equal(cmd_at(f, f->peer, 1), "STA-FIRST");
	hapd_conn_stats(f->conn, &st);
	assert_true(st.attached);
	assert_int_equal(st.reconnects, 1);
	assert_int_equal(st.stations, 2);

	/* and events flow again */
	peer_connect_sta(f->peer, "02:00:00:00:07:04", 0, NULL);
	WAIT_FOR(f, f->n_evs == 1, 1000);
	assert_string_equal(f->evs[0].mac, "02:00:00:00:07:04");
}

/* client_dir removed while attached, hostapd restarted: the client makes
 * the directory again and re-attaches (no restart of the daemon). */
static void test_client_dir_removed(void **state)
{
	struct fx *f = *state;
	struct stat sb;

	start_peer(f);
	attach(f);
	remove_tree(f->client);
	assert_int_not_equal(stat(f->client, &sb), 0);
	peer_free(f->peer);
	f->peer = NULL;
	WAIT_FOR(f, f->link_down == 1, 2000);
	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:08:01", 0, NULL);
	WAIT_FOR(f, f->resyncs == 2, 3000);
	assert_int_equal(stat(f->client, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(f->n_stas, 1);
	peer_connect_sta(f->peer, "02:00:00:00:08:02", 0, NULL);
	WAIT_FOR(f, f->n_evs == 1, 1000);
}

static void test_terminating_event(void **state)
{
	struct fx *f = *state;

	f->cfg.ping_interval_ms = 60000; /* only the event can tell */
	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:08:01", 0, NULL);
	attach(f);
	peer_terminate(f->peer);
	f->peer = NULL;
	WAIT_FOR(f, f->link_down == 1, 1000);
	assert_int_equal(f->n_evs, 3);
	assert_string_equal(f->log[2], "ev:AP-STA-DISCONNECTED 02:00:00:00:08:01");
	assert_string_equal(f->log[3], "ev:AP-DISABLED");
	assert_string_equal(f->log[4], "ev:CTRL-EVENT-TERMINATING");
	assert_string_equal(f->log[5], "link:0");

	start_peer(f);
	WAIT_FOR(f, f->resyncs == 2, 3000);
	assert_int_equal(f->n_stas, 0);
}

static void test_burst_in_order(void **state)
{
	struct fx *f = *state;
	struct hapd_stats st;
	struct peer_stats ps;
	char text[64];

	start_peer(f);
	attach(f);
	for (unsigned i = 0; i < 2000; i++) {
		snprintf(text, sizeof(text), "AP-STA-%s 02:00:00:00:%02x:%02x",
			 i % 2 ? "DISCONNECTED" : "CONNECTED", (i / 2) >> 8, (i / 2) & 0xff);
		assert_int_equal(peer_emit(f->peer, text), 1);
	}
	WAIT_FOR(f, f->n_evs == 2000, 5000);
	for (unsigned i = 0; i < 2000; i++) {
		char mac[18];

		snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x", (i / 2) >> 8, (i / 2) & 0xff);
		assert_int_equal(f->evs[i].type,
				 i % 2 ? HAPD_EV_STA_DISCONNECTED : HAPD_EV_STA_CONNECTED);
		assert_string_equal(f->evs[i].mac, mac);
	}
	hapd_conn_stats(f->conn, &st);
	assert_int_equal(st.events, 2000);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(st.stations, 0);
	peer_get_stats(f->peer, &ps);
	assert_int_equal(ps.events_dropped, 0);
	assert_int_equal(ps.events_pending, 0);
}

/* Events that hostapd sends while the client walks the station list. */
static void emit_during_walk(struct hapd_peer *p, void *ud)
{
	(void)ud;
	peer_connect_sta(p, "02:00:00:00:09:99", 0, NULL);
	peer_disconnect_sta(p, "02:00:00:00:09:02");
}

static void test_events_during_walk_follow_resync(void **state)
{
	struct fx *f = *state;
	struct hapd_stats st;

	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:09:01", 0, NULL);
	peer_add_sta(f->peer, "02:00:00:00:09:02", 0, NULL);
	peer_add_sta(f->peer, "02:00:00:00:09:03", 0, NULL);
	peer_set_attach_cb(f->peer, emit_during_walk, NULL);
	attach(f);
	WAIT_FOR(f, f->n_evs == 2, 1000);
	assert_string_equal(f->log[0], "link:1");
	assert_string_equal(f->log[1], "resync:3");
	assert_string_equal(f->log[2], "ev:AP-STA-CONNECTED 02:00:00:00:09:99");
	assert_string_equal(f->log[3], "ev:AP-STA-DISCONNECTED 02:00:00:00:09:02");
	hapd_conn_stats(f->conn, &st);
	assert_int_equal(st.stations, 3); /* 09:99, 09:03, 09:01 */
}

/* A burst of events just before hostapd answers STA-FIRST: the reply shares
 * the socket's send buffer with the events and must still get through. */
static void flood_before_reply(struct hapd_peer *p, const char *cmd, void *ud)
{
	(void)ud;
	if (strcmp(cmd, "STA-FIRST") != 0)
		return;
	for (unsigned i = 0; i < 3000; i++)
		peer_emit(p, i % 2 ? "AP-DISABLED " : "AP-ENABLED ");
}

static void test_walk_during_event_flood(void **state)
{
	struct fx *f = *state;

	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:0d:01", 0, NULL);
	peer_add_sta(f->peer, "02:00:00:00:0d:02", 0, NULL);
	peer_set_command_cb(f->peer, flood_before_reply, NULL);
	attach(f);
	assert_int_equal(f->n_stas, 2);
	WAIT_FOR(f, f->n_evs == 3000, 3000);
	assert_string_equal(f->log[1], "resync:2");
	assert_int_equal(f->link_down, 0);
}

/* A station leaves while the walk stands on it. */
static void leave_during_walk(struct hapd_peer *p, const char *cmd, void *ud)
{
	bool *done = ud;

	if (!*done && strcmp(cmd, "STA-NEXT 02:00:00:00:0a:03") == 0) {
		*done = true;
		peer_disconnect_sta(p, "02:00:00:00:0a:03");
	}
}

static void test_walk_survives_station_leaving(void **state)
{
	struct fx *f = *state;
	struct hapd_stats st;
	bool done = false;

	start_peer(f);
	for (int i = 1; i <= 5; i++) {
		char mac[18];

		snprintf(mac, sizeof(mac), "02:00:00:00:0a:%02x", i);
		peer_add_sta(f->peer, mac, 0, NULL);
	}
	peer_set_command_cb(f->peer, leave_during_walk, &done);
	attach(f);
	assert_true(done);
	/* hostapd answered FAIL for 0a:03; the walk went on from 0a:04 */
	assert_int_equal(f->n_stas, 5);
	assert_string_equal(f->stas[3].mac, "02:00:00:00:0a:02");
	assert_string_equal(f->stas[4].mac, "02:00:00:00:0a:01");
	assert_int_equal(count_cmd(f->peer, "STA-NEXT 02:00:00:00:0a:04"), 2);
	/* and the departure is not lost */
	WAIT_FOR(f, f->n_evs == 1, 1000);
	assert_string_equal(f->log[2], "ev:AP-STA-DISCONNECTED 02:00:00:00:0a:03");
	hapd_conn_stats(f->conn, &st);
	assert_int_equal(st.stations, 4);
}

static void test_identity_does_not_inject(void **state)
{
	struct fx *f = *state;

	start_peer(f);
	peer_add_sta(f->peer, "02:00:00:00:0b:01", 0, NULL);
	peer_set_sta_identity(f->peer, "02:00:00:00:0b:01", "mallory\nvlan_id=10\nkeyid=admin");
	attach(f);
	assert_int_equal(f->n_stas, 1);
	assert_int_equal(f->stas[0].vlan_id, 0);
	assert_string_equal(f->stas[0].keyid, "");
}

static void test_free_completes_pending(void **state)
{
	struct fx *f = *state;
	struct reply r1, r2;

	start_peer(f);
	attach(f);
	peer_set_stall(f->peer, true);
	request(f, "PING", &r1);
	request(f, "STA-FIRST", &r2);
	spin(f, 20); /* r1 in flight, r2 waiting */
	hapd_conn_free(f->conn);
	f->conn = NULL;
	assert_true(r1.done && r2.done);
	assert_int_equal(r1.err, -ECANCELED);
	assert_int_equal(r2.err, -ECANCELED);
	/* sockets gone at once; hostapd hears DETACH */
	assert_int_equal(count_entries(f->client), 0);
	peer_set_stall(f->peer, false);
	WAIT_FOR(f, peer_n_monitors(f->peer) == 0, 1000);
	assert_int_equal(count_cmd(f->peer, "DETACH"), 1);
	assert_int_equal(f->link_down, 0);
}

static void test_reentrant_callbacks(void **state)
{
	struct fx *f = *state;

	start_peer(f);
	f->request_on_resync = "ACCEPT_ACL SHOW";
	attach(f);
	assert_int_equal(f->request_on_resync_rc, 0);
	WAIT_FOR(f, count_cmd(f->peer, "ACCEPT_ACL SHOW") == 1, 1000);

	/* freed from inside on_event, with more events queued behind */
	f->free_on_event = true;
	peer_emit(f->peer, "AP-ENABLED ");
	peer_emit(f->peer, "AP-DISABLED ");
	WAIT_FOR(f, f->conn == NULL, 1000);
	spin(f, 50);
	assert_int_equal(f->n_evs, 1);
	assert_int_equal(count_entries(f->client), 0);
}

static void test_no_hostapd_yet(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	/* a leftover client socket from an earlier run with our pid */
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/apgated-%d-%s-ev", f->client,
		 (int)getpid(), IFNAME);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);

	start_conn(f);
	spin(f, 150);
	assert_int_equal(f->link_up + f->link_down + f->resyncs, 0);
	assert_int_equal(hapd_request(f->conn, "PING", NULL, NULL), -ENOTCONN);
	start_peer(f);
	WAIT_FOR(f, f->resyncs == 1, 2000);
	assert_int_equal(f->link_up, 1);
}

static void test_bad_config(void **state)
{
	struct fx *f = *state;
	struct hapd_conn_cfg cfg = f->cfg;
	struct hapd_conn *c = NULL;
	char longdir[120];

	cfg.client_dir = "relative/dir";
	assert_int_equal(hapd_conn_new(f->base, &cfg, &cbs, f, &c), -EINVAL);
	cfg = f->cfg;
	cfg.ifname = "";
	assert_int_equal(hapd_conn_new(f->base, &cfg, &cbs, f, &c), -EINVAL);
	cfg = f->cfg;
	cfg.backoff_min_ms = 500;
	cfg.backoff_max_ms = 100;
	assert_int_equal(hapd_conn_new(f->base, &cfg, &cbs, f, &c), -EINVAL);
	cfg = f->cfg;
	memset(longdir, 'd', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	cfg.client_dir = longdir;
	assert_int_equal(hapd_conn_new(f->base, &cfg, &cbs, f, &c), -ENAMETOOLONG);
	cfg = f->cfg;
	cfg.ctrl_dir = longdir;
	assert_int_equal(hapd_conn_new(f->base, &cfg, &cbs, f, &c), -ENAMETOOLONG);
	assert_null(c);
	hapd_conn_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attach_and_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resync_on_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_typed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_station_count_follows_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_counted_link_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_peer_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stalled_peer_is_link_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostapd_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_dir_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_terminating_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_during_walk_follow_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_during_event_flood, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_survives_station_leaving, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identity_does_not_inject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_completes_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reentrant_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_hostapd_yet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
