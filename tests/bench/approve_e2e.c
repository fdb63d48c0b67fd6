/* approve_e2e - approve-to-enforced, end to end: from the `approve` line
 * written to apgated's admin socket to the first probe packet from that
 * device that crosses the firewall to the uplink side.
 *
 * Runs in the topology tests/bench/run.sh builds (section 3): apgated in
 * namespace AP (work zone on ap0, uplink up0, masquerade), the probe device
 * in namespace DEV (its veth peer of ap0, fixed MAC), a receiver in
 * namespace INET on the far side of up0. One process holds sockets in all
 * three namespaces (setns() on /var/run/netns/NAME, socket(), setns() back).
 *
 *   approve_e2e AP DEV INET ADMIN_SOCKET N SAMPLES REGISTER
 *
 * REGISTER = admin: N-1 fake devices are registered first over the admin
 * socket (one lease and one approve each: every approve is a real firewall
 * commit) and the time is printed; preloaded: they are already in the
 * registry (run.sh inserted them with sqlite3 before apgated started).
 *
 * Each sample: the probe device is pending (forgotten, then given a lease).
 * Probes (UDP, sequence number + send time) go out every PROBE_US from a
 * fresh source port; for PRECHECK_MS none may arrive (it is pending). Then
 * the approve line is written (t0) and probes keep going until the first
 * one arrives at the receiver: enforced = arrival - t0. The time of the
 * admin reply is recorded too. Figures only, no pass/fail on timing.
 *
 * E2E_RAW=FILE appends every sample to FILE, one line "ENFORCED_MS
 * REPLY_MS" (the soak test, tests/lab/test_soak.sh, pools them over a run).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#define PROBE_MAC "02:00:00:00:ee:01"
#define PROBE_IP "10.77.0.2"
#define DST_IP "198.51.100.10"
#define DST_PORT 47000
#define PROBE_US 100
#define PRECHECK_MS 20
#define SAMPLE_TIMEOUT_MS 3000
#define BATCH 64
#define MAGIC 0x61707065u

struct probe {
	uint32_t magic, sample, seq, pad;
	int64_t sent_ns;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "approve_e2e: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int ns_fd(const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "/var/run/netns/%s", name);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(p);
	return fd;
}

static int self_ns = -1;

static int socket_in(int nsfd, int type)
{
	if (setns(nsfd, CLONE_NEWNET) < 0)
		die("setns");
	int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	int e = errno;
	if (setns(self_ns, CLONE_NEWNET) < 0)
		die("setns back");
	errno = e;
	if (s < 0)
		die("socket");
	return s;
}

/* ---- admin socket: one JSON object per line ---- */

static int adm_fd;
static char rbuf[1 << 16];
static size_t rlen;

static void adm_write(const char *line)
{
	size_t n = strlen(line), off = 0;
	while (off < n) {
		ssize_t w = write(adm_fd, line + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("admin write");
		off += (size_t)w;
	}
}

/* One complete reply line if buffered (copied to out), else 0. */
static int adm_take(char *out, size_t cap)
{
	char *nl = memchr(rbuf, '\n', rlen);
	if (!nl)
		return 0;
	size_t l = (size_t)(nl - rbuf);
	snprintf(out, cap, "%.*s", (int)l, rbuf);
	memmove(rbuf, nl + 1, rlen - l - 1);
	rlen -= l + 1;
	return 1;
}

static int adm_fill(int flags)
{
	ssize_t r = recv(adm_fd, rbuf + rlen, sizeof(rbuf) - rlen, flags);
	if (r == 0) {
		fprintf(stderr, "approve_e2e: apgated closed the admin socket\n");
		exit(1);
	}
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		die("admin read");
	}
	rlen += (size_t)r;
	return 1;
}

static void adm_read(char *out, size_t cap)
{
	while (!adm_take(out, cap))
		adm_fill(0);
}

static int reply_ok(const char *r)
{
	return strstr(r, "\"ok\":true") || strstr(r, "\"ok\": true");
}

static void adm_call(const char *line, int must_ok)
{
	char r[4096];
	adm_write(line);
	adm_read(r, sizeof(r));
	if (must_ok && !reply_ok(r)) {
		fprintf(stderr, "approve_e2e: %s-> %s\n", line, r);
		exit(1);
	}
}

static void lease_line(char *b, size_t cap, const char *mac, const char *ip)
{
	snprintf(b, cap, "{\"cmd\":\"lease\",\"action\":\"add\",\"mac\":\"%s\",\"ip\":\"%s\",\"interface\":\"ap0\"}\n",
		 mac, ip);
}

static void approve_line(char *b, size_t cap, const char *mac)
{
	snprintf(b, cap, "{\"cmd\":\"approve\",\"mac\":\"%s\",\"as\":\"business\"}\n", mac);
}

/* n requests, pipelined BATCH at a time; every reply must be ok */
static void pipelined(unsigned n, void (*mk)(unsigned, char *, size_t))
{
	char line[512], r[4096];
	for (unsigned i = 0; i < n; i += BATCH) {
		unsigned m = n - i < BATCH ? n - i : BATCH;
		for (unsigned j = 0; j < m; j++) {
			mk(i + j, line, sizeof(line));
			adm_write(line);
		}
		for (unsigned j = 0; j < m; j++) {
			adm_read(r, sizeof(r));
			if (!reply_ok(r)) {
				fprintf(stderr, "approve_e2e: registering device %u: %s\n", i + j, r);
				exit(1);
			}
		}
	}
}

static void fake_mac(unsigned i, char *b, size_t cap)
{
	snprintf(b, cap, "02:00:00:01:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
}

static void mk_lease(unsigned i, char *b, size_t cap)
{
	char mac[18], ip[20];
	fake_mac(i, mac, sizeof(mac));
	snprintf(ip, sizeof(ip), "10.77.%u.%u", (1 + i / 250) & 0xff, 2 + i % 250);
	lease_line(b, cap, mac, ip);
}

static void mk_approve(unsigned i, char *b, size_t cap)
{
	char mac[18];
	fake_mac(i, mac, sizeof(mac));
	approve_line(b, cap, mac);
}

/* ---- figures ---- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, unsigned n, double p) /* nearest rank; v sorted */
{
	unsigned k = (unsigned)(p * n + 0.999999);
	return v[k ? k - 1 : 0];
}

static void row(const char *label, double *v, unsigned n, const char *goal)
{
	qsort(v, n, sizeof(*v), cmp_d);
	printf("%-40s p50 %6.2f  p90 %6.2f  p99 %6.2f  max %6.2f ms   %s\n", label, pct(v, n, 0.5),
	       pct(v, n, 0.9), pct(v, n, 0.99), v[n - 1], goal);
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: approve_e2e AP DEV INET ADMIN_SOCKET N SAMPLES admin|preloaded\n");
		return 2;
	}
	unsigned n = (unsigned)atoi(argv[5]), k = (unsigned)atoi(argv[6]);
	int preloaded = !strcmp(argv[7], "preloaded");
	if (n < 1 || k < 1)
		return 2;
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	self_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_ns < 0)
		die("/proc/self/ns/net");
	(void)ns_fd(argv[1]); /* AP: only checked; apgated lives there */
	int dev_ns = ns_fd(argv[2]), inet_ns = ns_fd(argv[3]);

	struct sockaddr_un su = { .sun_family = AF_UNIX };
	snprintf(su.sun_path, sizeof(su.sun_path), "%s", argv[4]);
	adm_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (adm_fd < 0 || connect(adm_fd, (struct sockaddr *)&su, sizeof(su)) < 0)
		die("admin socket");

	/* receiver in INET */
	int rx = socket_in(inet_ns, SOCK_DGRAM | SOCK_NONBLOCK);
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(DST_PORT) };
	inet_pton(AF_INET, DST_IP, &dst.sin_addr);
	if (bind(rx, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		die("bind receiver");

	/* N-1 other devices */
	double reg_lease_s = 0, reg_approve_s = 0;
	if (!preloaded && n > 1) {
		int64_t t = now_ns();
		pipelined(n - 1, mk_lease);
		int64_t t1 = now_ns();
		pipelined(n - 1, mk_approve);
		int64_t t2 = now_ns();
		reg_lease_s = (double)(t1 - t) / 1e9;
		reg_approve_s = (double)(t2 - t1) / 1e9;
	}

	char lease[512], forget[256], approve[256], r[4096];
	lease_line(lease, sizeof(lease), PROBE_MAC, PROBE_IP);
	approve_line(approve, sizeof(approve), PROBE_MAC);
	snprintf(forget, sizeof(forget), "{\"cmd\":\"forget\",\"mac\":\"%s\"}\n", PROBE_MAC);
	adm_call(forget, 0); /* may not exist yet */
	adm_call(lease, 1);

	double *enf = calloc(k, sizeof(double)), *rep = calloc(k, sizeof(double)),
	       *sendlat = calloc(k, sizeof(double));
	unsigned reply_after_probe = 0;
	uint64_t probes_total = 0;
	for (unsigned s = 0; s < k; s++) {
		int tx = socket_in(dev_ns, SOCK_DGRAM | SOCK_NONBLOCK);
		/* a fresh source port per sample: a new flow, never conntrack's
		 * ESTABLISHED from the previous sample */
		struct sockaddr_in src = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(40000 + s + 1000 * (n % 7))) };
		inet_pton(AF_INET, PROBE_IP, &src.sin_addr);
		int one = 1;
		setsockopt(tx, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(tx, (struct sockaddr *)&src, sizeof(src)) < 0)
			die("bind sender");
		if (connect(tx, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			die("connect sender");
		struct probe pr = { .magic = MAGIC, .sample = s };
		struct probe in;
		while (recv(rx, &in, sizeof(in), 0) > 0) /* stale */
			;

		/* pending: nothing may pass */
		int64_t until = now_ns() + PRECHECK_MS * 1000000LL;
		while (now_ns() < until) {
			pr.sent_ns = now_ns();
			send(tx, &pr, sizeof(pr), 0); /* ENOBUFS/EAGAIN: just a lost probe */
			pr.seq++;
			struct timespec ts = { 0, PROBE_US * 1000 };
			nanosleep(&ts, NULL);
		}
		usleep(2000);
		while (recv(rx, &in, sizeof(in), 0) == (ssize_t)sizeof(in)) {
			if (in.magic == MAGIC && in.sample == s) {
				fprintf(stderr, "approve_e2e: a probe from the pending device passed (sample %u)\n", s);
				return 1;
			}
		}

		/* approve, and probe until one passes */
		int64_t t0 = now_ns(), t_reply = 0, t_arr = 0, t_sent = 0, next = t0;
		adm_write(approve);
		struct pollfd pf[2] = { { .fd = rx, .events = POLLIN }, { .fd = adm_fd, .events = POLLIN } };
		while (!t_arr) {
			int64_t t = now_ns();
			if (t - t0 > SAMPLE_TIMEOUT_MS * 1000000LL) {
				fprintf(stderr, "approve_e2e: no probe passed within %d ms of approve (sample %u)\n",
					SAMPLE_TIMEOUT_MS, s);
				return 1;
			}
			if (t >= next) {
				pr.sent_ns = t;
				send(tx, &pr, sizeof(pr), 0);
				pr.seq++;
				probes_total++;
				next += PROBE_US * 1000;
				if (next < t)
					next = t + PROBE_US * 1000;
			}
			int64_t wait = next - now_ns();
			struct timespec ts = { 0, wait > 0 ? wait : 0 };
			pf[1].fd = t_reply ? -1 : adm_fd;
			if (ppoll(pf, 2, &ts, NULL) < 0 && errno != EINTR)
				die("ppoll");
			int64_t ta = now_ns();
			if (pf[1].revents) {
				adm_fill(MSG_DONTWAIT);
				if (adm_take(r, sizeof(r))) {
					t_reply = ta;
					if (!reply_ok(r)) {
						fprintf(stderr, "approve_e2e: approve -> %s\n", r);
						return 1;
					}
				}
			}
			if (pf[0].revents & POLLIN) {
				while (recv(rx, &in, sizeof(in), 0) == (ssize_t)sizeof(in)) {
					if (in.magic == MAGIC && in.sample == s && !t_arr) {
						t_arr = ta;
						t_sent = in.sent_ns;
					}
				}
			}
		}
		if (!t_reply) {
			reply_after_probe++;
			adm_read(r, sizeof(r));
			t_reply = now_ns();
			if (!reply_ok(r)) {
				fprintf(stderr, "approve_e2e: approve -> %s\n", r);
				return 1;
			}
		}
		enf[s] = (double)(t_arr - t0) / 1e6;
		rep[s] = (double)(t_reply - t0) / 1e6;
		sendlat[s] = (double)(t_sent - t0) / 1e6;
		close(tx);
		/* back to pending: forget removes its rule, the lease brings it back */
		adm_call(forget, 1);
		adm_call(lease, 1);
	}

	const char *raw = getenv("E2E_RAW");
	if (raw && *raw) {
		FILE *f = fopen(raw, "a");
		if (!f)
			die(raw);
		for (unsigned s = 0; s < k; s++)
			fprintf(f, "%.3f %.3f\n", enf[s], rep[s]);
		if (fclose(f) != 0)
			die(raw);
	}
	char label[64];
	if (preloaded)
		printf("%u devices registered before apgated started (sqlite3; see its rebuild line)\n", n - 1);
	else if (n > 1)
		printf("%u devices registered over the admin socket: leases %.2f s, approves %.2f s (%.2f ms each, one firewall commit each)\n",
		       n - 1, reg_lease_s, reg_approve_s, reg_approve_s * 1000 / (n - 1));
	snprintf(label, sizeof(label), "approve-to-enforced, %u registered", n);
	row(label, enf, k, n == 1000 ? "goal p50 < 5 ms" : "");
	snprintf(label, sizeof(label), "  send time of that first probe");
	row(label, sendlat, k, "");
	snprintf(label, sizeof(label), "  approve reply on the admin socket");
	row(label, rep, k, "");
	printf("  (%u samples, probe every %d us, %llu probes after approve; reply came after the probe in %u)\n", k,
	       PROBE_US, (unsigned long long)probes_total, reply_after_probe);
	adm_call(forget, 1);
	free(enf);
	free(rep);
	free(sendlat);
	return 0;
}
