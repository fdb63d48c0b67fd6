/* fakehapd - hostapd 2.10 control sockets played by hapd_peer, for tests and
 * benchmarks that need Wi-Fi events this machine cannot produce.
 *
 *   fakehapd -d DIR -i IFNAME [-i IFNAME2 ...] [--replay FILE [--rate N]
 *            [--exit-after-replay]] [--stations N] [--sta MAC[,VLAN[,KEYID]]]
 *            [--macaddr-acl 0|1] [--bss-tm-resp STATUS] [--blocking] [-v]
 *            [--churn N [--churn-rate R] [--churn-secs S] [--churn-state FILE]
 *             [--churn-on-usr1] [--seed S]]
 *   fakehapd --gen-events N --macs M --ifname X [--ifname Y ...] [--seed S]
 *
 * Replay file: one event per line, "IFNAME<TAB>event text" or just the event
 * text (for the first -i); "<3>" is prepended unless the text starts with
 * '<' (then it is sent as it is). Empty lines and lines starting with '#'
 * are skipped. The replay starts once every BSS named in the file has a
 * monitor attached. --exit-after-replay exits once every event is in the
 * monitors' sockets and no command has come for 200 ms (so a client's
 * STA-FIRST/STA-NEXT walk ends first); the summary goes to stdout.
 *
 * Churn (the soak test, tests/lab/test_soak.sh): N stations
 * 02:c0:00:xx:xx:xx (station i on BSS i % number of BSSes) connect and
 * leave through the peer's real station table, so STA-FIRST/STA-NEXT and
 * STA answer what the events said: AP-STA-CONNECTED <mac> when a station
 * joins, AP-STA-DISCONNECTED <mac> when it leaves. It starts once every BSS
 * has a monitor (with --churn-on-usr1: and SIGUSR1 has come). The first N steps connect every station once (shuffled
 * order); after that each step picks a station at random and toggles it.
 * R steps per second (default 50) for S seconds (default: until a signal).
 * When it stops, FILE (if given) gets one line per station, "IFNAME MAC
 * 1|0" (authorized or not, as the peer holds it), written to FILE.tmp and
 * renamed, and stdout a line "churn: steps=... connects=... disconnects=...".
 * The events apgated got are the peer's events_sent (its summary and
 * FILE's trailer "# IFNAME events_sent=N events_dropped=N").
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "hapd_peer.h"
#include "util.h"

#define MAX_BSS 16

struct replay_line {
	unsigned bss;
	char *text;
};

struct app {
	struct event_base *base;
	struct hapd_peer *peer[MAX_BSS];
	const char *ifname[MAX_BSS];
	unsigned n_bss;
	bool verbose;
	/* replay */
	struct replay_line *lines;
	size_t n_lines, next_line;
	bool bss_used[MAX_BSS];
	unsigned long rate;
	bool exit_after;
	bool started, done;
	long long t_start, t_end;
	unsigned long cmds_seen;   /* commands, all BSSes, at the last tick */
	long long quiet_since;     /* when that number last changed */
	struct event *tick;
	size_t seen_cmds[MAX_BSS];
	/* churn */
	unsigned long churn_n, churn_rate, churn_secs;
	const char *churn_state;
	unsigned long *churn_perm;
	unsigned long churn_steps, churn_connects, churn_disconnects, churn_skipped;
	uint64_t churn_rnd;
	bool churn_started, churn_done, churn_wait_usr1;
	long long churn_t0;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fakehapd -d DIR -i IFNAME [-i IFNAME ...] [options]\n"
		"       fakehapd --gen-events N --macs M --ifname X [--ifname Y ...] [--seed S]\n"
		"\n"
		"  -d, --dir DIR            hostapd's ctrl_interface directory\n"
		"  -i, --ifname IFNAME      a BSS (socket DIR/IFNAME); up to %d\n"
		"      --replay FILE        send FILE's events once monitors are attached\n"
		"      --rate N             at most N events per second (default: as fast as read)\n"
		"      --exit-after-replay  exit once the replay is delivered and clients are quiet\n"
		"      --stations N         N stations present from the start, spread over the BSSes\n"
		"      --sta MAC[,VLAN[,KEYID]]  one more station on the first BSS\n"
		"      --macaddr-acl 0|1    hostapd's macaddr_acl (ACL kicks)\n"
		"      --bss-tm-resp STATUS answer BSS_TM_REQ with BSS-TM-RESP status_code=STATUS\n"
		"      --blocking           blocking event sends, as hostapd 2.10 (freezes while a\n"
		"                           monitor does not read)\n"
		"      --churn N            N stations connecting and leaving (see the source)\n"
		"      --churn-rate R       R connects/disconnects per second (default 50)\n"
		"      --churn-secs S       stop the churn after S seconds (default: never)\n"
		"      --churn-state FILE   final station states, written when the churn stops\n"
		"      --churn-on-usr1      the churn waits for SIGUSR1\n"
		"  -v, --verbose            print every command received\n"
		"\n"
		"  --gen-events N --macs M  write N AP-STA-CONNECTED/DISCONNECTED lines for M MACs\n"
		"                           (each MAC connects before it disconnects; deterministic)\n",
		MAX_BSS);
}

/* MAC number i (0-based) of generated stations: 02:00:00:xx:xx:xx. */
static void gen_mac(unsigned long i, char out[18])
{
	unsigned long v = i + 1;

	snprintf(out, 18, "02:00:00:%02lx:%02lx:%02lx", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

static uint64_t rnd_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static int gen_events(unsigned long n, unsigned long m, const char *const *ifn, unsigned k,
		      unsigned long seed)
{
	static const char *const keyids[] = { " keyid=staff", " keyid=pos", "", "" };
	uint64_t s = seed ? seed : 1;
	unsigned long *perm;
	bool *up;

	if (m == 0 || m > 0xfffffe || k == 0) {
		fprintf(stderr, "fakehapd: --macs must be 1..16777214 and --ifname given\n");
		return 2;
	}
	perm = malloc(m * sizeof(*perm));
	up = calloc(m, sizeof(*up));
	if (!perm || !up) {
		free(perm);
		free(up);
		return 1;
	}
	for (unsigned long i = 0; i < m; i++)
		perm[i] = i;
	for (unsigned long i = m - 1; i > 0; i--) {
		unsigned long j = (unsigned long)(rnd_next(&s) % (i + 1));
		unsigned long t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	/* every MAC appears once (in shuffled order) before any repeats */
	for (unsigned long i = 0; i < n; i++) {
		unsigned long mi = i < m ? perm[i] : (unsigned long)(rnd_next(&s) % m);
		char mac[18];

		gen_mac(mi, mac);
		if (!up[mi])
			printf("%s\tAP-STA-CONNECTED %s%s\n", ifn[mi % k], mac, keyids[mi % 4]);
		else
			printf("%s\tAP-STA-DISCONNECTED %s\n", ifn[mi % k], mac);
		up[mi] = !up[mi];
	}
	free(perm);
	free(up);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int load_replay(struct app *a, const char *file)
{
	_cleanup_fclose_ FILE *f = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t len;
	unsigned lineno = 0;

	if (!f) {
		fprintf(stderr, "fakehapd: %s: %s\n", file, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *text = line, *tab;
		unsigned bss = 0;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		if (tab) {
			*tab = '\0';
			text = tab + 1;
			for (bss = 0; bss < a->n_bss; bss++)
				if (strcmp(a->ifname[bss], line) == 0)
					break;
			if (bss == a->n_bss) {
				fprintf(stderr, "fakehapd: %s:%u: %s is not a BSS of this fakehapd\n",
					file, lineno, line);
				free(line);
				return -1;
			}
		}
		if (a->n_lines == alloc) {
			size_t na = alloc ? 2 * alloc : 1024;
			struct replay_line *nl = realloc(a->lines, na * sizeof(*nl));
			if (!nl) {
				free(line);
				return -1;
			}
			a->lines = nl;
			alloc = na;
		}
		a->lines[a->n_lines].bss = bss;
		a->lines[a->n_lines].text = strdup(text);
		if (!a->lines[a->n_lines].text) {
			free(line);
			return -1;
		}
		a->bss_used[bss] = true;
		a->n_lines++;
	}
	free(line);
	return 0;
}

static void emit_line(struct app *a, const struct replay_line *l)
{
	struct hapd_peer *p = a->peer[l->bss];

	if (l->text[0] == '<')
		peer_emit_raw(p, l->text, strlen(l->text));
	else
		peer_emit(p, l->text);
}

static unsigned long pending(const struct app *a)
{
	unsigned long n = 0;

	for (unsigned i = 0; i < a->n_bss; i++) {
		struct peer_stats st;

		peer_get_stats(a->peer[i], &st);
		n += st.events_pending;
	}
	return n;
}

static void print_verbose(struct app *a)
{
	for (unsigned i = 0; i < a->n_bss && a->verbose; i++) {
		size_t n;
		const char *const *cmds = peer_commands(a->peer[i], &n);

		for (; a->seen_cmds[i] < n; a->seen_cmds[i]++)
			fprintf(stderr, "fakehapd: %s: <- %s\n", a->ifname[i], cmds[a->seen_cmds[i]]);
		if (n > 4096) {
			/* keep memory flat in long runs */
			peer_clear_commands(a->peer[i]);
			a->seen_cmds[i] = 0;
		}
	}
}

/* ---- churn ---- */

static void churn_mac(unsigned long i, char out[18])
{
	unsigned long v = i + 1;

	snprintf(out, 18, "02:c0:00:%02lx:%02lx:%02lx", (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

static int churn_init(struct app *a, unsigned long seed)
{
	a->churn_perm = malloc(a->churn_n * sizeof(*a->churn_perm));
	if (!a->churn_perm)
		return -ENOMEM;
	a->churn_rnd = seed ? seed : 1;
	for (unsigned long i = 0; i < a->churn_n; i++)
		a->churn_perm[i] = i;
	for (unsigned long i = a->churn_n - 1; i > 0; i--) {
		unsigned long j = (unsigned long)(rnd_next(&a->churn_rnd) % (i + 1));
		unsigned long t = a->churn_perm[i];

		a->churn_perm[i] = a->churn_perm[j];
		a->churn_perm[j] = t;
	}
	return 0;
}

static void churn_step(struct app *a)
{
	unsigned long i = a->churn_steps < a->churn_n ? a->churn_perm[a->churn_steps]
						     : (unsigned long)(rnd_next(&a->churn_rnd) % a->churn_n);
	struct hapd_peer *p = a->peer[i % a->n_bss];
	char mac[18];
	int st;

	churn_mac(i, mac);
	a->churn_steps++;
	st = peer_sta_authorized(p, mac);
	if (st == 1) {
		peer_disconnect_sta(p, mac);
		a->churn_disconnects++;
	} else if (st == -ENOENT) {
		if (peer_connect_sta(p, mac, 0, NULL) == 0)
			a->churn_connects++;
	} else {
		a->churn_skipped++; /* kicked by the client, still listed: leave it */
	}
}

static int churn_write_state(const struct app *a)
{
	char tmp[4096];
	FILE *f;

	if (!a->churn_state)
		return 0;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", a->churn_state) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	for (unsigned long i = 0; i < a->churn_n; i++) {
		struct hapd_peer *p = a->peer[i % a->n_bss];
		char mac[18];

		churn_mac(i, mac);
		fprintf(f, "%s %s %d\n", a->ifname[i % a->n_bss], mac, peer_sta_authorized(p, mac) == 1);
	}
	for (unsigned i = 0; i < a->n_bss; i++) {
		struct peer_stats st;

		peer_get_stats(a->peer[i], &st);
		fprintf(f, "# %s events_sent=%lu events_dropped=%lu events_pending=%lu\n", a->ifname[i],
			st.events_sent, st.events_dropped, st.events_pending);
	}
	if (fclose(f) != 0 || rename(tmp, a->churn_state) != 0)
		return -errno;
	return 0;
}

static void churn_tick(struct app *a)
{
	long long el;

	if (!a->churn_n || a->churn_done)
		return;
	if (!a->churn_started) {
		if (a->churn_wait_usr1)
			return;
		for (unsigned i = 0; i < a->n_bss; i++)
			if (peer_n_monitors(a->peer[i]) == 0)
				return;
		a->churn_started = true;
		a->churn_t0 = util_mono_ms();
		fprintf(stderr, "fakehapd: churn of %lu stations starts, %lu/s\n", a->churn_n, a->churn_rate);
	}
	el = util_mono_ms() - a->churn_t0;
	if (a->churn_secs && el >= (long long)a->churn_secs * 1000) {
		/* the last events must be out before the state is written */
		if (pending(a) != 0)
			return;
		a->churn_done = true;
		int r = churn_write_state(a);
		if (r < 0)
			fprintf(stderr, "fakehapd: %s: %s\n", a->churn_state, strerror(-r));
		printf("churn: steps=%lu connects=%lu disconnects=%lu skipped=%lu ms=%lld\n", a->churn_steps,
		       a->churn_connects, a->churn_disconnects, a->churn_skipped, el);
		fflush(stdout);
		return;
	}
	long long due = el * (long long)a->churn_rate / 1000 + 1;
	while ((long long)a->churn_steps < due)
		churn_step(a);
}

/* Exit after the replay only once the clients have been quiet for a while:
 * a client that was walking the station list should finish it first. */
#define QUIET_MS 200

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct app *a = arg;
	unsigned long cmds = 0;

	(void)fd;
	(void)what;
	print_verbose(a);
	churn_tick(a);
	for (unsigned i = 0; i < a->n_bss; i++) {
		struct peer_stats st;

		peer_get_stats(a->peer[i], &st);
		cmds += st.commands;
	}
	if (cmds != a->cmds_seen) {
		a->cmds_seen = cmds;
		a->quiet_since = util_mono_ms();
	}
	if (a->done && a->exit_after && util_mono_ms() - a->quiet_since >= QUIET_MS)
		event_base_loopexit(a->base, NULL);
	if (!a->started || a->done)
		return;
	if (a->rate && a->next_line < a->n_lines) {
		long long due = (util_mono_ms() - a->t_start) * (long long)a->rate / 1000 + 1;

		while (a->next_line < a->n_lines && (long long)a->next_line < due)
			emit_line(a, &a->lines[a->next_line++]);
	}
	if (a->next_line == a->n_lines && pending(a) == 0) {
		double ms;

		a->done = true;
		a->t_end = util_mono_ms();
		ms = (double)(a->t_end - a->t_start);
		printf("replay: events=%zu ms=%.0f rate=%.0f/s\n", a->n_lines, ms,
		       ms > 0 ? (double)a->n_lines * 1000.0 / ms : 0.0);
		fflush(stdout);
	}
}

static void maybe_start(struct app *a)
{
	if (a->started || !a->lines)
		return;
	for (unsigned i = 0; i < a->n_bss; i++)
		if (a->bss_used[i] && peer_n_monitors(a->peer[i]) == 0)
			return;
	a->started = true;
	a->t_start = util_mono_ms();
	fprintf(stderr, "fakehapd: monitor attached, replaying %zu events\n", a->n_lines);
	if (!a->rate)
		while (a->next_line < a->n_lines)
			emit_line(a, &a->lines[a->next_line++]);
}

static void on_attach(struct hapd_peer *p, void *ud)
{
	struct app *a = ud;

	fprintf(stderr, "fakehapd: %s: monitor attached\n", peer_ifname(p));
	maybe_start(a);
}

static void summary(const struct app *a);

static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct app *a = arg;

	(void)sig;
	(void)what;
	a->churn_wait_usr1 = false;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct app *a = arg;

	(void)what;
	fprintf(stderr, "fakehapd: signal %d, terminating\n", (int)sig);
	print_verbose(a);
	summary(a);
	/* hostapd's SIGTERM path: AP-STA-DISCONNECTED..., AP-DISABLED,
	 * CTRL-EVENT-TERMINATING */
	for (unsigned i = 0; i < a->n_bss; i++) {
		peer_terminate(a->peer[i]);
		a->peer[i] = NULL;
	}
	event_base_loopexit(a->base, NULL);
}

static void summary(const struct app *a)
{
	for (unsigned i = 0; i < a->n_bss; i++) {
		struct peer_stats st;

		if (!a->peer[i])
			continue;
		peer_get_stats(a->peer[i], &st);
		printf("%s: commands=%lu events_sent=%lu events_dropped=%lu pending=%lu "
		       "monitors=%u stations=%u\n",
		       a->ifname[i], st.commands, st.events_sent, st.events_dropped,
		       st.events_pending, st.monitors, peer_n_stas(a->peer[i]));
	}
}

static int add_sta_arg(struct hapd_peer *p, const char *arg)
{
	char buf[128], *vlan, *keyid = NULL;
	long v = 0;
	int r;

	if (util_strlcpy(buf, arg, sizeof(buf)) >= sizeof(buf))
		return -EINVAL;
	vlan = strchr(buf, ',');
	if (vlan) {
		*vlan++ = '\0';
		keyid = strchr(vlan, ',');
		if (keyid)
			*keyid++ = '\0';
		if (util_parse_long(vlan, 0, 4094, &v) < 0)
			return -EINVAL;
	}
	r = peer_add_sta(p, buf, (int)v, keyid);
	return r;
}

enum {
	OPT_REPLAY = 256, OPT_RATE, OPT_EXIT, OPT_STATIONS, OPT_STA, OPT_ACL, OPT_BTM,
	OPT_BLOCKING, OPT_GEN, OPT_MACS, OPT_SEED, OPT_CHURN, OPT_CHURN_RATE, OPT_CHURN_SECS,
	OPT_CHURN_STATE, OPT_CHURN_USR1,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "exit-after-replay", no_argument, NULL, OPT_EXIT },
		{ "stations", required_argument, NULL, OPT_STATIONS },
		{ "sta", required_argument, NULL, OPT_STA },
		{ "macaddr-acl", required_argument, NULL, OPT_ACL },
		{ "bss-tm-resp", required_argument, NULL, OPT_BTM },
		{ "blocking", no_argument, NULL, OPT_BLOCKING },
		{ "gen-events", required_argument, NULL, OPT_GEN },
		{ "macs", required_argument, NULL, OPT_MACS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "churn", required_argument, NULL, OPT_CHURN },
		{ "churn-rate", required_argument, NULL, OPT_CHURN_RATE },
		{ "churn-secs", required_argument, NULL, OPT_CHURN_SECS },
		{ "churn-state", required_argument, NULL, OPT_CHURN_STATE },
		{ "churn-on-usr1", no_argument, NULL, OPT_CHURN_USR1 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct app a = { 0 };
	const char *dir = NULL, *replay = NULL;
	const char *stas[64];
	unsigned n_stas = 0;
	long gen = -1, macs = 0, seed = 1, stations = 0, acl = 0, btm = -1, rate = 0;
	long churn = 0, churn_rate = 50, churn_secs = 0;
	bool blocking = false;
	struct event *sig_int = NULL, *sig_term = NULL, *sig_usr1 = NULL;
	int o, rc = 1;

	while ((o = getopt_long(argc, argv, "d:i:vh", opts, NULL)) != -1) {
		int bad = 0;

		switch (o) {
		case 'd': dir = optarg; break;
		case 'i':
			if (a.n_bss == MAX_BSS) {
				fprintf(stderr, "fakehapd: at most %d BSSes\n", MAX_BSS);
				return 2;
			}
			a.ifname[a.n_bss++] = optarg;
			break;
		case OPT_REPLAY: replay = optarg; break;
		case OPT_RATE: bad = util_parse_long(optarg, 1, 100000000, &rate); break;
		case OPT_EXIT: a.exit_after = true; break;
		case OPT_STATIONS: bad = util_parse_long(optarg, 0, 0xfffffe, &stations); break;
		case OPT_STA:
			if (n_stas == ARRAY_SIZE(stas)) {
				fprintf(stderr, "fakehapd: too many --sta\n");
				return 2;
			}
			stas[n_stas++] = optarg;
			break;
		case OPT_ACL: bad = util_parse_long(optarg, 0, 1, &acl); break;
		case OPT_BTM: bad = util_parse_long(optarg, 0, 255, &btm); break;
		case OPT_BLOCKING: blocking = true; break;
		case OPT_GEN: bad = util_parse_long(optarg, 0, 100000000, &gen); break;
		case OPT_MACS: bad = util_parse_long(optarg, 1, 0xfffffe, &macs); break;
		case OPT_SEED: bad = util_parse_long(optarg, 0, 0x7fffffff, &seed); break;
		case OPT_CHURN: bad = util_parse_long(optarg, 1, 0xfffffe, &churn); break;
		case OPT_CHURN_RATE: bad = util_parse_long(optarg, 1, 1000000, &churn_rate); break;
		case OPT_CHURN_SECS: bad = util_parse_long(optarg, 1, 31 * 86400, &churn_secs); break;
		case OPT_CHURN_STATE: a.churn_state = optarg; break;
		case OPT_CHURN_USR1: a.churn_wait_usr1 = true; break;
		case 'v': a.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (bad) {
			fprintf(stderr, "fakehapd: bad value for %s: %s\n", argv[optind - 1], optarg);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (gen >= 0)
		return gen_events((unsigned long)gen, (unsigned long)macs, a.ifname, a.n_bss,
				  (unsigned long)seed);
	if (!dir || a.n_bss == 0) {
		usage(stderr);
		return 2;
	}
	a.rate = (unsigned long)rate;
	signal(SIGPIPE, SIG_IGN);
	a.base = event_base_new();
	if (!a.base)
		return 1;
	for (unsigned i = 0; i < a.n_bss; i++) {
		int r = peer_new(a.base, dir, a.ifname[i], &a.peer[i]);

		if (r < 0) {
			fprintf(stderr, "fakehapd: %s/%s: %s\n", dir, a.ifname[i], strerror(-r));
			goto out;
		}
		peer_set_attach_cb(a.peer[i], on_attach, &a);
		peer_set_macaddr_acl(a.peer[i], (int)acl);
		peer_set_bss_tm_resp(a.peer[i], (int)btm);
		peer_set_blocking(a.peer[i], blocking);
	}
	for (long i = 0; i < stations; i++) {
		char mac[18];

		gen_mac((unsigned long)i, mac);
		peer_add_sta(a.peer[(unsigned long)i % a.n_bss], mac, 0, NULL);
	}
	for (unsigned i = 0; i < n_stas; i++) {
		if (add_sta_arg(a.peer[0], stas[i]) < 0) {
			fprintf(stderr, "fakehapd: bad --sta %s\n", stas[i]);
			rc = 2;
			goto out;
		}
	}
	a.churn_n = (unsigned long)churn;
	a.churn_rate = (unsigned long)churn_rate;
	a.churn_secs = (unsigned long)churn_secs;
	if (a.churn_n && churn_init(&a, (unsigned long)seed) < 0)
		goto out;
	if (replay && load_replay(&a, replay) < 0) {
		rc = 2;
		goto out;
	}
	a.tick = event_new(a.base, -1, EV_PERSIST, on_tick, &a);
	sig_int = evsignal_new(a.base, SIGINT, on_signal, &a);
	sig_term = evsignal_new(a.base, SIGTERM, on_signal, &a);
	sig_usr1 = evsignal_new(a.base, SIGUSR1, on_usr1, &a);
	if (!a.tick || !sig_int || !sig_term || !sig_usr1)
		goto out;
	{
		struct timeval tv = { 0, 5000 };
		event_add(a.tick, &tv);
	}
	event_add(sig_int, NULL);
	event_add(sig_term, NULL);
	event_add(sig_usr1, NULL);
	for (unsigned i = 0; i < a.n_bss; i++)
		fprintf(stderr, "fakehapd: listening on %s\n", peer_path(a.peer[i]));
	event_base_dispatch(a.base);
	print_verbose(&a);
	summary(&a); /* (what is still running; on a signal it was printed) */
	rc = 0;
out:
	if (a.tick)
		event_free(a.tick);
	if (sig_int)
		event_free(sig_int);
	if (sig_term)
		event_free(sig_term);
	if (sig_usr1)
		event_free(sig_usr1);
	for (unsigned i = 0; i < a.n_bss; i++)
		peer_free(a.peer[i]);
	for (size_t i = 0; i < a.n_lines; i++)
		free(a.lines[i].text);
	free(a.lines);
	free(a.churn_perm);
	event_base_free(a.base);
	return rc;
}
