/* apgate-dhcp-script - dnsmasq's lease-change script (--dhcp-script): hands
 * each lease change to apgated as one JSON line on the admin socket.
 *
 *   apgate-dhcp-script add|old|del MAC IP [HOSTNAME]     (+ DNSMASQ_* env)
 *
 * sends
 *
 *   {"cmd":"lease","action":"add","mac":"..","ip":"..","hostname":..,
 *    "supplied_hostname":..,"vendor_class":..,"requested_options":..,
 *    "interface":..,"client_id":..,"tags":..,"data_missing":false}
 *
 * (absent values are null) and waits for the one-line reply.
 *
 * dnsmasq runs one script at a time and queues the rest, so this program
 * must never hang: the whole exchange has a 1 s deadline (an alarm ends
 * it regardless after 2 s), and it always exits 0 - a failure is one line
 * on stderr, which dnsmasq logs. Other actions dnsmasq may pass (init,
 * tftp, arp-add, arp-del, relay-snoop) are ignored. No shell anywhere.
 *
 * Everything in argv and the environment is device data (the client
 * chooses its hostname, vendor class and client id): it is only ever put
 * into JSON strings, which jansson escapes. jansson refuses strings that
 * are not UTF-8, so each byte that is not part of a valid UTF-8 sequence
 * becomes U+FFFD first; each value is cut at VALUE_MAX bytes (on a
 * character boundary) so the line stays under the admin socket's 64 KiB.
 *
 * The socket: dnsmasq passes no options to the script, but it runs it with
 * dnsmasq's own environment plus the DNSMASQ_* variables (helper.c: setenv
 * then execl). So APGATE_SOCKET set in dnsmasq's environment (systemd
 * drop-in Environment=, or apgated when it starts dnsmasq) is honoured;
 * without it the compile-time default APGATE_ADMIN_SOCKET, the same as
 * the daemon's default admin_socket, is used.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef APGATE_ADMIN_SOCKET
#define APGATE_ADMIN_SOCKET "/run/apgate/admin.sock"
#endif

#define DEADLINE_MS 1000
#define ALARM_S 2
#define VALUE_MAX 4096       /* bytes per value after repair */
#define LINE_MAX_OUT (64 * 1024 - 1)
#define REPLY_MAX 4096

static const char *prog = "apgate-dhcp-script";

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. Rejects
 * overlong forms, surrogates and code points above U+10FFFF, as jansson
 * does. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* s as a JSON string (null when s is NULL): invalid bytes become U+FFFD,
 * and the result is cut to VALUE_MAX bytes at a character boundary. */
static json_t *text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, o = 0;
	char *buf;
	json_t *j;

	if (!s)
		return json_null();
	n = strlen(s);
	buf = malloc(VALUE_MAX + 1);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq(p + i, n - i);
		const char *src = len ? s + i : "\xef\xbf\xbd";
		size_t out = len ? len : 3;
		if (o + out > VALUE_MAX)
			break;
		memcpy(buf + o, src, out);
		o += out;
		i += len ? len : 1;
	}
	j = json_stringn(buf, o);
	free(buf);
	return j;
}

static json_t *env_text(const char *name)
{
	return text(getenv(name));
}

static json_t *build(int argc, char **argv)
{
	json_t *o = json_object();
	const char *missing = getenv("DNSMASQ_DATA_MISSING");

	if (!o)
		return NULL;
	/* json_object_set_new takes the value even when it fails; a NULL
	 * value (allocation failure) makes it fail, caught below. */
	int bad = 0;
	bad |= json_object_set_new(o, "cmd", json_string("lease"));
	bad |= json_object_set_new(o, "action", text(argv[1]));
	bad |= json_object_set_new(o, "mac", text(argv[2]));
	bad |= json_object_set_new(o, "ip", text(argv[3]));
	bad |= json_object_set_new(o, "hostname", text(argc > 4 ? argv[4] : NULL));
	bad |= json_object_set_new(o, "supplied_hostname", env_text("DNSMASQ_SUPPLIED_HOSTNAME"));
	bad |= json_object_set_new(o, "vendor_class", env_text("DNSMASQ_VENDOR_CLASS"));
	bad |= json_object_set_new(o, "requested_options", env_text("DNSMASQ_REQUESTED_OPTIONS"));
	bad |= json_object_set_new(o, "interface", env_text("DNSMASQ_INTERFACE"));
	bad |= json_object_set_new(o, "client_id", env_text("DNSMASQ_CLIENT_ID"));
	bad |= json_object_set_new(o, "tags", env_text("DNSMASQ_TAGS"));
	bad |= json_object_set_new(o, "data_missing", json_boolean(missing && *missing && strcmp(missing, "0")));
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int remaining(long long deadline)
{
	long long left = deadline - mono_ms();
	return left > 0 ? (int)left : 0;
}

/* Waits for ev on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_for(int fd, short ev, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		int ms = remaining(deadline);
		if (ms == 0)
			return 0;
		int r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r > 0;
	}
}

/* Sends line (with its '\n') and reads the reply line into reply. 0 ok,
 * else -1 with a message printed. */
static int exchange(const char *path, const char *line, char *reply, size_t size,
		    long long deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(line), off = 0, got = 0;
	int fd, r;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		warn("socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		warn("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		/* a full backlog answers EAGAIN on UNIX sockets: wait once */
		if (errno != EAGAIN && errno != EINPROGRESS) {
			warn("connect %s: %s", path, strerror(errno));
			goto fail;
		}
		if (wait_for(fd, POLLOUT, deadline) != 1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			if (errno != EISCONN) {
				warn("connect %s: timed out or failed", path);
				goto fail;
			}
		}
	}
	while (off < len) {
		r = wait_for(fd, POLLOUT, deadline);
		if (r != 1) {
			warn("send to %s: %s", path, r == 0 ? "timed out" : strerror(errno));
			goto fail;
		}
		ssize_t w = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w < 0) {
			warn("send to %s: %s", path, strerror(errno));
			goto fail;
		}
		off += (size_t)w;
	}
	for (;;) {
		r = wait_for(fd, POLLIN, deadline);
		if (r != 1) {
			warn("no reply from %s: %s", path, r == 0 ? "timed out" : strerror(errno));
			goto fail;
		}
		ssize_t n = recv(fd, reply + got, size - 1 - got, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			warn("no reply from %s: %s", path, n == 0 ? "connection closed" : strerror(errno));
			goto fail;
		}
		got += (size_t)n;
		reply[got] = '\0';
		if (memchr(reply, '\n', got) || got == size - 1)
			break;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "apgate-dhcp-script: giving up (deadline)\n";
	ssize_t w = write(2, msg, sizeof(msg) - 1);
	(void)w;
	_exit(0);
}

int main(int argc, char **argv)
{
	long long deadline = mono_ms() + DEADLINE_MS;
	const char *path = getenv("APGATE_SOCKET");
	char reply[REPLY_MAX];
	json_t *req, *rep;
	char *line;

	signal(SIGALRM, on_alarm);
	alarm(ALARM_S);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return 0;
	if (strcmp(argv[1], "add") && strcmp(argv[1], "old") && strcmp(argv[1], "del"))
		return 0; /* init, tftp, arp-add, arp-del, relay-snoop: not ours */
	if (argc < 4) {
		warn("usage: %s add|old|del MAC IP [HOSTNAME]", prog);
		return 0;
	}
	if (!path || !*path)
		path = APGATE_ADMIN_SOCKET;

	req = build(argc, argv);
	if (!req) {
		warn("out of memory");
		return 0;
	}
	line = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (!line) {
		warn("cannot encode the lease");
		return 0;
	}
	if (strlen(line) >= LINE_MAX_OUT) {
		warn("lease for %.17s too large to send (%zu bytes)", argv[2], strlen(line));
		free(line);
		return 0;
	}
	size_t n = strlen(line);
	char *msg = malloc(n + 2);
	if (!msg) {
		free(line);
		return 0;
	}
	memcpy(msg, line, n);
	msg[n] = '\n';
	msg[n + 1] = '\0';
	free(line);

	if (exchange(path, msg, reply, sizeof(reply), deadline) == 0) {
		rep = json_loads(reply, JSON_DISABLE_EOF_CHECK, NULL);
		if (!json_is_true(json_object_get(rep, "ok"))) {
			json_t *e = json_object_get(rep, "error");
			const char *m = json_string_value(json_object_get(e, "message"));
			warn("apgated refused the %s lease: %s", argv[1], m ? m : "bad reply");
		}
		json_decref(rep);
	}
	free(msg);
	return 0;
}
