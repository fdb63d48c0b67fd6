/* apgatectl - the admin CLI: talks to apgated over its admin socket (one
 * JSON object per line) and prints tables for people or JSON for scripts.
 *
 * Exit codes: 0 success, 1 failure (daemon unreachable, refused, not
 * found), 2 usage (bad arguments, bad MAC), 3 `status --check` when the
 * health part reports a problem (for monitoring).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "csv.h"
#include "mac.h"
#include "qr.h"
#include "util.h"

#define EXIT_USAGE 2
#define EXIT_PROBLEM 3 /* status --check: apgated reports a problem */
#define DEFAULT_SOCKET "/run/apgate/admin.sock"
#define REPLY_TIMEOUT_MS 15000

struct opts {
	const char *socket;
	bool json;
};

static const char usage_text[] =
	"usage: apgatectl [-s SOCKET] [--json] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  status [--check]             health of the daemon and every part it watches;\n"
	"                               --check: exit status 3 when a problem is reported\n"
	"  devices [--state S]          the inventory (S: pending, approved, blocked, guest)\n"
	"  show MAC                     one device: what it probably is and why, the risky\n"
	"                               services found, blocked look-ups, recent history\n"
	"  approve MAC --as business|personal [--label T] [--owner T] [--type T] [--key]\n"
	"                               T for --type: pc, phone, tablet, printer, pos, payment, signage, other;\n"
	"                               --key: also issue its own Wi-Fi key (see key)\n"
	"  block MAC                    deny a device everywhere\n"
	"  forget MAC                   remove a device (it starts over as new)\n"
	"  reserve MAC IP|--clear       give a device a fixed DHCP address in its zone\n"
	"  events [--follow] [--limit N]  connection events and the audit trail\n"
	"  key MAC                      issue (or replace) an approved business device's own\n"
	"                               Wi-Fi key; shown once, as text and QR code\n"
	"  revoke MAC                   take that key away (the device is disconnected)\n"
	"  release MAC                  let repair try again on a device it held\n"
	"  alerts [--all]               what needs a look (--all: acknowledged ones too)\n"
	"  ack ID|--all                 acknowledge an alert, or all open ones\n"
	"  check MAC [--wait[=SECONDS]] check a device for risky services now (telnet, FTP,\n"
	"                               SMB, RDP, VNC, admin pages, UPnP); --wait: wait for\n"
	"                               the result (default 60 s) and print the findings\n"
	"  unmanaged                    devices seen on the LAN that bypass the access point\n"
	"  dns-blocks [MAC]             blocked DNS look-ups (of one device)\n"
	"  inventory [--csv|--json]     every device with type, zone, vendor, first and last\n"
	"                               seen, findings, owner; unmanaged ones too; counts\n"
	"                               by type and zone (--csv: for spreadsheets)\n"
	"  user list                    the portal's users and their roles\n"
	"  user add NAME [--role admin|approver]\n"
	"                               a portal user (default approver: approves devices;\n"
	"                               admin: also manages users); asks for the password\n"
	"  user passwd NAME             set a new password\n"
	"  user role NAME admin|approver\n"
	"  user del NAME                (the last admin can be neither demoted nor deleted)\n"
	"                               Passwords (10 characters or more) are asked twice\n"
	"                               without echo, or read as one line from stdin when it\n"
	"                               is not a terminal; only an argon2id hash is sent.\n"
	"\n"
	"options:\n"
	"  -s, --socket PATH   the daemon's admin socket (default " DEFAULT_SOCKET ",\n"
	"                      or $APGATE_SOCKET)\n"
	"  -j, --json          print JSON (events: one object per line)\n"
	"  -h, --help          this text\n"
	"\n"
	"MAC addresses may be written aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff.\n"
	"Exit status: 0 success, 1 failure, 2 usage error, 3 (status --check) apgated\n"
	"reports a problem.\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("apgatectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(see apgatectl --help)\n", stderr);
	return EXIT_USAGE;
}

/* ---- talking to the daemon ---- */

/* The connection is opened by the first call(), after the command has
 * checked its arguments: a usage error never depends on the daemon. */
struct conn {
	const char *path;
	int fd;
	char *buf;
	size_t len, cap;
};

static int conn_open(struct conn *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = c->path;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "apgatectl: socket path too long: %s\n", path);
		return -1;
	}
	util_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "apgatectl: cannot connect to %s: %s (is apgated running?)\n", path,
			strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		return -1;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
}

static int conn_send(struct conn *c, json_t *req)
{
	char *s = json_dumps(req, JSON_COMPACT);
	size_t n, off = 0;

	json_decref(req);
	if (!s)
		return -1;
	n = strlen(s);
	s[n] = '\n'; /* json_dumps leaves room for exactly the NUL we replace */
	while (off < n + 1) {
		ssize_t w = write(c->fd, s + off, n + 1 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			fprintf(stderr, "apgatectl: cannot send to apgated: %s\n", strerror(errno));
			free(s);
			return -1;
		}
		off += (size_t)w;
	}
	free(s);
	return 0;
}

/* Reads one line; timeout_ms < 0 waits for ever. Returns the parsed JSON
 * object (caller decrefs) or NULL with a message printed. */
static json_t *conn_recv(struct conn *c, int timeout_ms)
{
	for (;;) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl) {
			json_error_t err;
			size_t linelen = (size_t)(nl - c->buf);
			json_t *j = json_loadb(c->buf, linelen, 0, &err);
			memmove(c->buf, nl + 1, c->len - linelen - 1);
			c->len -= linelen + 1;
			if (!j)
				fprintf(stderr, "apgatectl: apgated sent something that is not JSON: %s\n", err.text);
			return j;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *b = realloc(c->buf, cap);
			if (!b) {
				fprintf(stderr, "apgatectl: out of memory\n");
				return NULL;
			}
			c->buf = b;
			c->cap = cap;
		}
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int pr = poll(&pfd, 1, timeout_ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			fprintf(stderr, "apgatectl: no answer from apgated within %d s\n", timeout_ms / 1000);
			return NULL;
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "apgatectl: apgated closed the connection%s%s\n", r < 0 ? ": " : "",
				r < 0 ? strerror(errno) : "");
			return NULL;
		}
		c->len += (size_t)r;
	}
}

/* Sends req, returns the reply if it says ok; prints the error otherwise. */
static json_t *call(struct conn *c, json_t *req)
{
	json_t *rep;

	if (c->fd < 0 && conn_open(c) < 0) {
		json_decref(req);
		return NULL;
	}
	if (conn_send(c, req) < 0)
		return NULL;
	rep = conn_recv(c, REPLY_TIMEOUT_MS);
	if (!rep)
		return NULL;
	if (!json_is_true(json_object_get(rep, "ok"))) {
		json_t *e = json_object_get(rep, "error");
		const char *msg = json_string_value(json_object_get(e, "message"));
		fprintf(stderr, "apgatectl: %s\n", msg ? msg : "request failed");
		json_decref(rep);
		return NULL;
	}
	return rep;
}

/* ---- printing for people ---- */

/* Device data (hostnames, labels) may hold terminal escape sequences:
 * control characters are shown as '?', and text is cut to width columns
 * without splitting a UTF-8 sequence. */
static void put_text(const char *s, int width, bool pad)
{
	int col = 0;

	if (!s || !*s)
		s = "-";
	for (const unsigned char *p = (const unsigned char *)s; *p && (width <= 0 || col < width);) {
		size_t n = 1;
		if (*p >= 0xc0)
			n = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		bool valid = true;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				valid = false;
		if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && *p < 0xc0) || !valid) {
			putchar('?');
			p++;
		} else {
			fwrite(p, 1, n, stdout);
			p += n;
		}
		col++;
	}
	if (pad)
		for (; col < width; col++)
			putchar(' ');
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "2026-11-23T10:37:48.123Z" -> local time in fmt */
static void put_time_fmt(const char *iso, int width, const char *fmt)
{
	struct tm tm = { 0 };
	char buf[32];

	if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm)) {
		put_text(iso, width, true);
		return;
	}
	time_t t = timegm(&tm);
	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), fmt, &tm);
	put_text(buf, width, true);
}

/* "2026-11-23T10:37:48.123Z" -> local "2026-11-23 11:37:48" */
static void put_time(const char *iso, int width)
{
	put_time_fmt(iso, width, "%Y-%m-%d %H:%M:%S");
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));
	if (s) {
		puts(s);
		free(s);
	}
}

static void print_event_line(json_t *e)
{
	put_time(jstr(e, "ts"), 20);
	put_text(jstr(e, "kind"), 6, true);
	put_text(jstr(e, "action"), 13, true);
	put_text(jstr(e, "mac"), 18, true);
	if (strcmp(jstr(e, "kind") ? jstr(e, "kind") : "", "audit") == 0) {
		fputs("by ", stdout);
		put_text(jstr(e, "actor"), 32, false);
		fputs(" via ", stdout);
		put_text(jstr(e, "via"), 8, false);
	} else {
		put_text(jstr(e, "bss"), 16, false);
	}
	if (jstr(e, "detail")) {
		fputs(": ", stdout);
		put_text(jstr(e, "detail"), 200, false);
	}
	putchar('\n');
}

/* One event: a JSON line for scripts, a table row for people. */
static void put_event(json_t *e, bool json)
{
	char *s;

	if (!json) {
		print_event_line(e);
		return;
	}
	s = json_dumps(e, JSON_COMPACT);
	if (s)
		puts(s);
	free(s);
}

/* ---- commands ---- */

/* The health part: one line per check (level, part, sentence), the
 * firewall's chains with their rule counts, then a summary. */
static void print_health(json_t *h)
{
	json_t *ck, *x;
	size_t i, k;

	json_array_foreach(json_object_get(h, "checks"), i, ck) {
		const char *lv = jstr(ck, "level");
		printf("%s%-8s ", i == 0 ? "health    " : "          ",
		       !lv ? "?" : !strcmp(lv, "problem") ? "PROBLEM" : !strcmp(lv, "warn") ? "warn" : "ok");
		put_text(jstr(ck, "name"), 16, true);
		put_text(jstr(ck, "message"), 0, false);
		putchar('\n');
		json_t *issues = json_object_get(ck, "issues");
		json_array_foreach(issues, k, x) {
			if (k == 0)
				continue; /* the first one is the message */
			printf("%35s", "");
			put_text(json_string_value(x), 0, false);
			putchar('\n');
		}
		json_t *chains = json_object_get(ck, "chains");
		if (json_array_size(chains)) { /* "ipv4 filter: APGATE_FWD 12 APGATE_IN 9" */
			char last[32] = "";
			json_array_foreach(chains, k, x) {
				char key[32];
				snprintf(key, sizeof(key), "%s %s", jstr(x, "family"), jstr(x, "table"));
				if (strcmp(key, last)) {
					printf("%s%35s%s:", k ? "\n" : "", "", key);
					util_strlcpy(last, key, sizeof(last));
				}
				printf(" %s %lld%s", jstr(x, "chain"), (long long)json_integer_value(json_object_get(x, "rules")),
				       json_is_true(json_object_get(x, "present")) ? "" : " (missing)");
			}
			putchar('\n');
		}
	}
	long long np = json_integer_value(json_object_get(h, "problems"));
	long long nw = json_integer_value(json_object_get(h, "warnings"));
	if (!np && !nw)
		printf("          all %zu checks ok\n", json_array_size(json_object_get(h, "checks")));
	else
		printf("          %lld problem%s, %lld warning%s\n", np, np == 1 ? "" : "s", nw, nw == 1 ? "" : "s");
}

static int cmd_status(struct conn *c, const struct opts *o, bool check)
{
	json_t *r = call(c, json_pack("{s:s}", "cmd", "status"));
	json_t *reg, *devs, *bss, *b, *ev, *health;
	size_t i;
	int rc;

	if (!r)
		return 1;
	health = json_object_get(r, "health");
	/* --check: a problem reported gives EXIT_PROBLEM (monitoring) */
	rc = check && (!json_is_object(health) || json_integer_value(json_object_get(health, "problems")) > 0)
		     ? EXIT_PROBLEM : 0;
	if (o->json) {
		print_json(r);
		json_decref(r);
		return rc;
	}
	reg = json_object_get(r, "registry");
	devs = json_object_get(reg, "devices");
	ev = json_object_get(r, "events");
	printf("apgated %s (pid %lld), up %llds, config %s\n", jstr(r, "version"),
	       (long long)json_integer_value(json_object_get(r, "pid")),
	       (long long)json_integer_value(json_object_get(r, "uptime_s")),
	       jstr(r, "config") ? jstr(r, "config") : "-");
	printf("registry  %s (schema %lld): %lld pending, %lld approved, %lld blocked, %lld guest\n",
	       jstr(reg, "path"), (long long)json_integer_value(json_object_get(reg, "schema")),
	       (long long)json_integer_value(json_object_get(devs, "pending")),
	       (long long)json_integer_value(json_object_get(devs, "approved")),
	       (long long)json_integer_value(json_object_get(devs, "blocked")),
	       (long long)json_integer_value(json_object_get(devs, "guest")));
	bss = json_object_get(r, "bss");
	json_array_foreach(bss, i, b) {
		bool up = json_is_true(json_object_get(b, "attached"));
		printf("%s", i == 0 ? "hostapd   " : "          ");
		put_text(jstr(b, "ifname"), 16, false);
		printf(" (%s)  %s  events %lld, unknown %lld, malformed %lld, reconnects %lld\n",
		       jstr(b, "zone"), up ? "attached" : "NOT ATTACHED",
		       (long long)json_integer_value(json_object_get(b, "events")),
		       (long long)json_integer_value(json_object_get(b, "unknown")),
		       (long long)json_integer_value(json_object_get(b, "malformed")),
		       (long long)json_integer_value(json_object_get(b, "reconnects")));
	}
	printf("events    %lld applied, %lld failed; latency p50 %.0f us, p99 %.0f us\n",
	       (long long)json_integer_value(json_object_get(ev, "applied")),
	       (long long)json_integer_value(json_object_get(ev, "failed")),
	       json_real_value(json_object_get(ev, "p50_us")),
	       json_real_value(json_object_get(ev, "p99_us")));
	json_t *rep = json_object_get(r, "repair");
	if (rep)
		printf("repair    %lld checked, %lld fixed (%lld steered), %lld held; detection to fix p50 %.0f us, p99 %.0f us\n",
		       (long long)json_integer_value(json_object_get(rep, "checks")),
		       (long long)json_integer_value(json_object_get(rep, "fixes")),
		       (long long)json_integer_value(json_object_get(rep, "steers")),
		       (long long)json_integer_value(json_object_get(rep, "held")),
		       json_real_value(json_object_get(rep, "fix_p50_us")),
		       json_real_value(json_object_get(rep, "fix_p99_us")));
	json_t *fwj = json_object_get(r, "firewall");
	if (json_is_object(fwj) && (json_integer_value(json_object_get(fwj, "check_interval_s")) ||
				    json_integer_value(json_object_get(fwj, "restores")))) {
		long long every = (long long)json_integer_value(json_object_get(fwj, "check_interval_s"));
		long long restores = (long long)json_integer_value(json_object_get(fwj, "restores"));
		if (every)
			printf("firewall  checked every %llds (%lld checks), restored %lld time%s", every,
			       (long long)json_integer_value(json_object_get(fwj, "checks")), restores,
			       restores == 1 ? "" : "s");
		else
			printf("firewall  self-check off, restored %lld time%s", restores, restores == 1 ? "" : "s");
		if (jstr(fwj, "last_restore")) {
			printf(", last at ");
			put_time(jstr(fwj, "last_restore"), 0);
		}
		printf("\n");
	}
	json_t *al = json_object_get(r, "alerts_open");
	if (json_integer_value(al) > 0)
		printf("alerts    %lld open (apgatectl alerts)\n", (long long)json_integer_value(al));
	if (json_is_object(health))
		print_health(health);
	json_decref(r);
	return rc;
}

static void print_device_row(json_t *d)
{
	put_text(jstr(d, "mac"), 18, true);
	put_text(jstr(d, "state"), 9, true);
	put_text(jstr(d, "class"), 9, true);
	put_text(jstr(d, "type"), 8, true);
	put_text(jstr(d, "bss"), 8, true);
	put_text(json_is_true(json_object_get(d, "connected")) ? "yes" : "no", 5, true);
	put_time(jstr(d, "last_seen"), 20);
	put_text(jstr(d, "vendor"), 22, true);
	put_text(jstr(d, "hostname"), 16, true);
	put_text(jstr(d, "label"), 20, false);
	putchar('\n');
}

static int cmd_devices(struct conn *c, const struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = { { "state", required_argument, NULL, 'S' },
					     { "json", no_argument, NULL, 'j' }, { 0, 0, 0, 0 } };
	const char *state = NULL;
	bool json = o->json;
	json_t *req, *r, *arr, *d;
	size_t i;
	int opt;

	optind = 0; /* glibc: full re-initialisation, forgets the '+' of the global parse */
	while ((opt = getopt_long(argc, argv, "+j", lo, NULL)) != -1) {
		if (opt == 'S')
			state = optarg;
		else if (opt == 'j')
			json = true;
		else
			return usage_error("devices takes [--state pending|approved|blocked|guest] [--json]");
	}
	if (optind != argc)
		return usage_error("devices: unexpected argument '%s'", argv[optind]);
	if (state && strcmp(state, "pending") && strcmp(state, "approved") && strcmp(state, "blocked") &&
	    strcmp(state, "guest"))
		return usage_error("'%s' is not a state (pending, approved, blocked, guest)", state);
	req = json_pack("{s:s}", "cmd", "devices");
	if (state)
		json_object_set_new(req, "state", json_string(state));
	r = call(c, req);
	if (!r)
		return 1;
	arr = json_object_get(r, "devices");
	if (json) {
		print_json(arr);
	} else {
		printf("%-18s%-9s%-9s%-8s%-8s%-5s%-20s%-22s%-16s%s\n", "MAC", "STATE", "CLASS", "TYPE", "BSS",
		       "CONN", "LAST SEEN", "VENDOR", "HOSTNAME", "LABEL");
		json_array_foreach(arr, i, d)
			print_device_row(d);
		printf("%zu device(s)\n", json_array_size(arr));
	}
	json_decref(r);
	return 0;
}

static int parse_mac_arg(const char *cmd, int argc, char **argv, int idx, char mac[MAC_STR_LEN])
{
	if (idx >= argc)
		return usage_error("%s needs a MAC address", cmd);
	if (mac_canon(argv[idx], mac) < 0)
		return usage_error("'%s' is not a MAC address (use aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff)",
				   argv[idx]);
	return 0;
}

/* ---- issue 8: the check, suggestions, unmanaged MACs, blocked look-ups,
 * the inventory ---- */

/* Why the suggestion says what it says, in words (guess.h reason codes). */
static void put_reason(json_t *r)
{
	const char *code = jstr(r, "code"), *arg = jstr(r, "arg");

	if (!code)
		code = "";
	if (!strcmp(code, "fingerprint")) {
		fputs("DHCP fingerprint of ", stdout);
		put_text(arg, 60, false);
	} else if (!strcmp(code, "vendor_class")) {
		fputs("DHCP vendor class \"", stdout);
		put_text(arg, 60, false);
		putchar('"');
	} else if (!strcmp(code, "vendor")) {
		fputs("made by ", stdout);
		put_text(arg, 60, false);
	} else if (!strcmp(code, "private_mac")) {
		fputs("private (randomised) address", stdout);
	} else if (!strcmp(code, "hostname")) {
		fputs("host name \"", stdout);
		put_text(arg, 60, false);
		putchar('"');
	} else if (!strcmp(code, "claim")) {
		fputs("its user says it is ", stdout);
		put_text(arg, 20, false);
	} else {
		put_text(code, 30, false);
		if (arg && *arg) {
			fputs(": ", stdout);
			put_text(arg, 60, false);
		}
	}
}

static void put_suggestion(json_t *g)
{
	json_t *r;
	size_t i;

	if (!jstr(g, "summary") && !json_array_size(json_object_get(g, "reasons"))) {
		puts("no idea yet (nothing the device sent points anywhere)");
		return;
	}
	put_text(jstr(g, "summary") ? jstr(g, "summary") : "?", 160, false);
	json_array_foreach(json_object_get(g, "reasons"), i, r) {
		fputs(i == 0 ? " (" : ", ", stdout);
		put_reason(r);
	}
	puts(json_array_size(json_object_get(g, "reasons")) ? ")" : "");
}

/* One finding: "telnet on port 23: advice" (+ what the service said). */
static void put_finding(json_t *f, const char *indent)
{
	fputs(indent, stdout);
	put_text(jstr(f, "service"), 20, false);
	printf(" on port %lld", (long long)json_integer_value(json_object_get(f, "port")));
	if (jstr(f, "detail")) {
		fputs(" (\"", stdout);
		put_text(jstr(f, "detail"), 60, false);
		fputs("\")", stdout);
	}
	printf("\n%s  ", indent);
	put_text(jstr(f, "advice"), 300, false);
	putchar('\n');
}

static void put_dns_block(json_t *b, bool with_mac)
{
	put_time(jstr(b, "last_at"), 20);
	if (with_mac)
		put_text(jstr(b, "mac") ? jstr(b, "mac") : "(no device)", 18, true);
	put_text(jstr(b, "ip"), 16, true);
	printf("%6lld  ", (long long)json_integer_value(json_object_get(b, "count")));
	put_text(jstr(b, "domain"), 120, false);
	putchar('\n');
}

/* The parts "show" gained with issue 8. */
static void print_show_extra(json_t *d)
{
	json_t *x;
	size_t i;

	printf("%-12s ", "suggestion");
	put_suggestion(json_object_get(d, "suggestion"));
	printf("%-12s ", "checked");
	if (jstr(d, "checked_at")) {
		put_time(jstr(d, "checked_at"), 0);
		printf(" (%zu risky service%s found)\n", json_array_size(json_object_get(d, "findings")),
		       json_array_size(json_object_get(d, "findings")) == 1 ? "" : "s");
	} else {
		puts("never (apgatectl check MAC)");
	}
	x = json_object_get(d, "findings");
	if (json_array_size(x)) {
		json_t *f;
		puts("findings:");
		json_array_foreach(x, i, f)
			put_finding(f, "  ");
	}
	x = json_object_get(d, "dns_blocks");
	if (json_array_size(x)) {
		json_t *b;
		printf("blocked DNS look-ups (%zu domain%s):\n", json_array_size(x), json_array_size(x) == 1 ? "" : "s");
		printf("  %-20s%-16s%6s  %s\n", "LAST", "FROM IP", "TIMES", "DOMAIN");
		json_array_foreach(x, i, b) {
			fputs("  ", stdout);
			put_dns_block(b, false);
		}
	}
}

static int cmd_check(struct conn *c, const struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = { { "wait", optional_argument, NULL, 'w' }, { 0, 0, 0, 0 } };
	char mac[MAC_STR_LEN];
	long wait_s = 0;
	json_t *r, *d = NULL;
	int opt, rc;

	optind = 0; /* glibc: full re-initialisation, forgets the '+' of the global parse */
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt == 'w' && !optarg)
			wait_s = 60;
		else if (opt == 'w' && util_parse_long(optarg, 1, 3600, &wait_s) == 0)
			continue;
		else
			return usage_error("check MAC [--wait[=SECONDS]] (1-3600, default 60)");
	}
	if ((rc = parse_mac_arg("check", argc, argv, optind, mac)))
		return rc;
	if (optind + 1 < argc)
		return usage_error("check: unexpected argument '%s'", argv[optind + 1]);
	r = call(c, json_pack("{s:s, s:s}", "cmd", "check", "mac", mac));
	if (!r)
		return 1;
	char *before = jstr(r, "checked_before") ? strdup(jstr(r, "checked_before")) : NULL;
	if (!wait_s) {
		if (o->json)
			print_json(r);
		else
			printf("check of %s queued (see apgatectl show %s, or use --wait)\n", mac, mac);
		json_decref(r);
		free(before);
		return 0;
	}
	json_decref(r);
	if (!o->json) {
		printf("check of %s queued; waiting for the result...\n", mac);
		fflush(stdout);
	}
	long long end = util_mono_ms() + wait_s * 1000;
	for (;;) {
		r = call(c, json_pack("{s:s, s:s}", "cmd", "show", "mac", mac));
		if (!r) {
			free(before);
			return 1;
		}
		d = json_object_get(r, "device");
		const char *now = jstr(d, "checked_at");
		if (now && (!before || strcmp(now, before)))
			break;
		json_decref(r);
		if (util_mono_ms() >= end) {
			fprintf(stderr, "apgatectl: no result for %s within %ld s (the check may still be queued)\n", mac,
				wait_s);
			free(before);
			return 1;
		}
		usleep(200 * 1000);
	}
	free(before);
	json_t *fs = json_object_get(d, "findings"), *f;
	size_t i;
	if (o->json) {
		json_t *out = json_pack("{s:s, s:O, s:O}", "mac", mac, "checked_at", json_object_get(d, "checked_at"),
					"findings", fs);
		print_json(out);
		json_decref(out);
	} else if (!json_array_size(fs)) {
		printf("%s: no risky service found\n", mac);
	} else {
		printf("%s: %zu risky service%s found:\n", mac, json_array_size(fs), json_array_size(fs) == 1 ? "" : "s");
		json_array_foreach(fs, i, f)
			put_finding(f, "  ");
	}
	json_decref(r);
	return 0;
}

static int cmd_unmanaged(struct conn *c, const struct opts *o, int argc, char **argv)
{
	json_t *r, *arr, *u;
	size_t i;

	if (argc > 1)
		return usage_error("unmanaged: unexpected argument '%s'", argv[1]);
	r = call(c, json_pack("{s:s}", "cmd", "unmanaged"));
	if (!r)
		return 1;
	arr = json_object_get(r, "unmanaged");
	if (o->json) {
		print_json(arr);
	} else if (!json_array_size(arr)) {
		puts("no unmanaged devices seen (every MAC came through the access point or a managed port)");
	} else {
		printf("%-18s%-26s%-20s%-16s%-20s%s\n", "MAC", "VENDOR", "WHERE", "IP", "FIRST SEEN", "LAST SEEN");
		json_array_foreach(arr, i, u) {
			put_text(jstr(u, "mac"), 18, true);
			put_text(jstr(u, "vendor") ? jstr(u, "vendor")
			       : json_is_true(json_object_get(u, "private")) ? "(private address)" : NULL, 25, true);
			putchar(' ');
			put_text(jstr(u, "where"), 19, true);
			putchar(' ');
			put_text(jstr(u, "ip"), 16, true);
			put_time(jstr(u, "first_seen"), 20);
			put_time(jstr(u, "last_seen"), 0);
			putchar('\n');
		}
		printf("%zu unmanaged device(s): they bypass the access point (apgatectl alerts)\n", json_array_size(arr));
	}
	json_decref(r);
	return 0;
}

static int cmd_dns_blocks(struct conn *c, const struct opts *o, int argc, char **argv)
{
	char mac[MAC_STR_LEN];
	json_t *req, *r, *arr, *b;
	size_t i;
	int rc;

	if (argc > 2)
		return usage_error("dns-blocks [MAC]: unexpected argument '%s'", argv[2]);
	req = json_pack("{s:s}", "cmd", "dns_blocks");
	if (argc == 2) {
		if ((rc = parse_mac_arg("dns-blocks", argc, argv, 1, mac))) {
			json_decref(req);
			return rc;
		}
		json_object_set_new(req, "mac", json_string(mac));
	}
	r = call(c, req);
	if (!r)
		return 1;
	arr = json_object_get(r, "dns_blocks");
	if (o->json) {
		print_json(arr);
	} else if (!json_array_size(arr)) {
		puts(argc == 2 ? "no blocked look-ups by this device" : "no blocked look-ups");
	} else {
		printf("%-20s%-18s%-16s%6s  %s\n", "LAST", "DEVICE", "FROM IP", "TIMES", "DOMAIN");
		json_array_foreach(arr, i, b)
			put_dns_block(b, true);
		printf("%zu blocked domain look-up(s)\n", json_array_size(arr));
	}
	json_decref(r);
	return 0;
}

/* ---- inventory ---- */

static const char *const inv_cols[] = { "label", "hostname", "mac", "type", "zone", "state", "vendor", "ip",
					"first_seen", "last_seen", "findings", "n_findings", "owner", "managed" };

/* One device's value of an inventory column, as text ("" when none). */
static void inv_value(json_t *d, const char *col, char *buf, size_t size)
{
	json_t *v = json_object_get(d, col);
	size_t i, off = 0;
	json_t *x;

	buf[0] = '\0';
	if (!strcmp(col, "findings")) {
		json_array_foreach(v, i, x)
			off += (size_t)snprintf(buf + off, off < size ? size - off : 0, "%s%s", i ? " " : "",
						json_string_value(x) ? json_string_value(x) : "?");
		if (off >= size && size > 4)
			memcpy(buf + size - 4, "...", 4);
	} else if (json_is_string(v)) {
		util_strlcpy(buf, json_string_value(v), size);
	} else if (json_is_integer(v)) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	} else if (json_is_boolean(v)) {
		util_strlcpy(buf, json_is_true(v) ? "yes" : "no", size);
	}
}

static int inv_csv(json_t *devs)
{
	char buf[4096];
	json_t *d;
	size_t i;

	for (size_t k = 0; k < ARRAY_SIZE(inv_cols); k++)
		printf("%s%s", k ? "," : "", inv_cols[k]);
	fputs(CSV_EOL, stdout);
	json_array_foreach(devs, i, d) {
		for (size_t k = 0; k < ARRAY_SIZE(inv_cols); k++) {
			inv_value(d, inv_cols[k], buf, sizeof(buf));
			char *f = csv_field(buf);
			if (!f) {
				fprintf(stderr, "apgatectl: out of memory\n");
				return 1;
			}
			printf("%s%s", k ? "," : "", f);
			free(f);
		}
		fputs(CSV_EOL, stdout);
	}
	return 0;
}

struct count_kv {
	const char *key;
	long long n;
};

static int count_cmp(const void *a, const void *b)
{
	const struct count_kv *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* "by type:  printer 3, pc 2, unknown 1": the largest first. */
static void put_counts(const char *what, json_t *o)
{
	size_t n = json_object_size(o), i = 0;
	struct count_kv *kv = calloc(n ? n : 1, sizeof(*kv));
	const char *k;
	json_t *v;

	printf("%-9s", what);
	if (!kv) {
		putchar('\n');
		return;
	}
	json_object_foreach(o, k, v)
		kv[i++] = (struct count_kv){ k, (long long)json_integer_value(v) };
	qsort(kv, n, sizeof(*kv), count_cmp);
	for (i = 0; i < n; i++) {
		printf("%s", i ? ", " : " ");
		put_text(kv[i].key, 20, false);
		printf(" %lld", kv[i].n);
	}
	putchar('\n');
	free(kv);
}

static void inv_text(json_t *r)
{
	json_t *devs = json_object_get(r, "devices"), *d, *counts = json_object_get(r, "counts");
	char fnd[256];
	size_t i;

	printf("%-22s%-18s%-10s%-11s%-10s%-22s%-16s%-17s%-17s%-25s%s\n", "NAME", "MAC", "TYPE", "ZONE", "STATE",
	       "VENDOR", "IP", "FIRST SEEN", "LAST SEEN", "FINDINGS", "OWNER");
	json_array_foreach(devs, i, d) {
		const char *name = jstr(d, "label") ? jstr(d, "label") : jstr(d, "hostname");
		if (!json_is_true(json_object_get(d, "managed")))
			name = "(unmanaged)";
		put_text(name, 21, true);
		putchar(' ');
		put_text(jstr(d, "mac"), 18, true);
		put_text(jstr(d, "type"), 10, true);
		put_text(jstr(d, "zone"), 11, true);
		put_text(jstr(d, "state"), 10, true);
		put_text(jstr(d, "vendor"), 21, true);
		putchar(' ');
		put_text(jstr(d, "ip"), 16, true);
		/* minutes are enough to find a device */
		put_time_fmt(jstr(d, "first_seen"), 17, "%Y-%m-%d %H:%M");
		put_time_fmt(jstr(d, "last_seen"), 17, "%Y-%m-%d %H:%M");
		inv_value(d, "findings", fnd, sizeof(fnd));
		put_text(fnd[0] ? fnd : "-", 24, true);
		putchar(' ');
		put_text(jstr(d, "owner"), 30, false);
		putchar('\n');
	}
	printf("%lld device(s), %lld of them unmanaged (bypassing the access point)\n",
	       (long long)json_integer_value(json_object_get(counts, "total")),
	       (long long)json_integer_value(json_object_get(counts, "unmanaged")));
	put_counts("by type:", json_object_get(counts, "by_type"));
	put_counts("by zone:", json_object_get(counts, "by_zone"));
	puts("(a type ending in ? is a guess: nobody has set it yet)");
}

static int cmd_inventory(struct conn *c, const struct opts *o, int argc, char **argv)
{
	bool csv = false, json = o->json;
	json_t *r;
	int rc = 0;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--csv"))
			csv = true;
		else
			return usage_error("inventory [--csv|--json]: unexpected argument '%s'", argv[k]);
	}
	if (csv && json)
		return usage_error("inventory: --csv or --json, not both");
	r = call(c, json_pack("{s:s}", "cmd", "inventory"));
	if (!r)
		return 1;
	json_object_del(r, "ok");
	if (json)
		print_json(r);
	else if (csv)
		rc = inv_csv(json_object_get(r, "devices"));
	else
		inv_text(r);
	json_decref(r);
	return rc;
}

static int cmd_show(struct conn *c, const struct opts *o, int argc, char **argv)
{
	static const char *const fields[] = { "state", "class", "type", "label", "owner", "vendor", "hostname",
					      "ip", "reserved_ip", "bss", "vlan", "connected", "first_seen", "last_seen",
					      "decided_by", "decided_via", "decided_at", "port", "keyid", "held_since",
					      "claim_name", "claim_owner", "claim_class", "claimed_at" };
	char mac[MAC_STR_LEN];
	bool json = o->json;
	json_t *r, *d, *ev, *e;
	size_t i;
	int rc;

	if ((rc = parse_mac_arg("show", argc, argv, 1, mac)))
		return rc;
	if (argc > 2)
		return usage_error("show: unexpected argument '%s'", argv[2]);
	r = call(c, json_pack("{s:s, s:s}", "cmd", "show", "mac", mac));
	if (!r)
		return 1;
	d = json_object_get(r, "device");
	if (json) {
		print_json(d);
		json_decref(r);
		return 0;
	}
	printf("%-12s %s\n", "mac", jstr(d, "mac"));
	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		json_t *v = json_object_get(d, fields[i]);
		printf("%-12s ", fields[i]);
		if (json_is_boolean(v))
			puts(json_is_true(v) ? "yes" : "no");
		else if (json_is_integer(v))
			printf("%lld\n", (long long)json_integer_value(v));
		else if (strstr(fields[i], "_seen") || !strcmp(fields[i], "decided_at") ||
			 !strcmp(fields[i], "held_since") || !strcmp(fields[i], "claimed_at")) {
			put_time(json_string_value(v), 0);
			putchar('\n');
		} else {
			put_text(json_string_value(v), 200, false);
			putchar('\n');
		}
	}
	print_show_extra(d);
	ev = json_object_get(d, "events");
	printf("history (%zu most recent):\n", json_array_size(ev));
	json_array_foreach(ev, i, e) {
		fputs("  ", stdout);
		print_event_line(e);
	}
	json_decref(r);
	return 0;
}

/* A device's own key: shown this once, as text and as a QR code that a
 * phone's camera turns into "join this network". */
static void print_key(json_t *k)
{
	const char *uri = jstr(k, "wifi_uri");

	printf("its own Wi-Fi key (shown only now: write it down or scan the code):\n");
	printf("  network  ");
	put_text(jstr(k, "ssid"), 64, false);
	printf("\n  key      %s\n  key id   %s\n", jstr(k, "passphrase"), jstr(k, "keyid"));
	if (uri && qr_render_text(uri, stdout) < 0)
		printf("(the QR code could not be drawn)\n");
}

static int cmd_approve(struct conn *c, const struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = { { "as", required_argument, NULL, 'a' },
					     { "label", required_argument, NULL, 'l' },
					     { "owner", required_argument, NULL, 'o' },
					     { "type", required_argument, NULL, 't' },
					     { "key", no_argument, NULL, 'k' },
					     { 0, 0, 0, 0 } };
	char mac[MAC_STR_LEN];
	const char *as = NULL;
	json_t *req, *r;
	int opt, rc;

	req = json_pack("{s:s}", "cmd", "approve");
	optind = 0; /* glibc: full re-initialisation, forgets the '+' of the global parse */
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		const char *key = opt == 'a' ? "as" : opt == 'l' ? "label" : opt == 'o' ? "owner" : opt == 't' ? "type" : NULL;
		if (opt == 'k') {
			json_object_set_new(req, "key", json_true());
			continue;
		}
		if (!key) {
			json_decref(req);
			return usage_error("approve MAC --as business|personal [--label T] [--owner T] [--type T] [--key]");
		}
		if (opt == 'a')
			as = optarg;
		json_object_set_new(req, key, json_string(optarg));
		if (!json_is_string(json_object_get(req, key))) {
			json_decref(req);
			return usage_error("--%s: text must be UTF-8", key);
		}
	}
	if ((rc = parse_mac_arg("approve", argc, argv, optind, mac)) ||
	    (optind + 1 < argc && (rc = usage_error("approve: unexpected argument '%s'", argv[optind + 1])))) {
		json_decref(req);
		return rc;
	}
	if (!as || (strcmp(as, "business") && strcmp(as, "personal"))) {
		json_decref(req);
		return usage_error("approve needs --as business or --as personal");
	}
	json_object_set_new(req, "mac", json_string(mac));
	r = call(c, req);
	if (!r)
		return 1;
	if (o->json) {
		print_json(r);
	} else {
		printf("approved %s as %s\n", mac, as);
		if (json_object_get(r, "key"))
			print_key(json_object_get(r, "key"));
		else if (json_object_get(r, "key_error"))
			printf("no key issued: %s\n", jstr(json_object_get(r, "key_error"), "message"));
	}
	json_decref(r);
	return 0;
}

static int cmd_key(struct conn *c, const struct opts *o, int argc, char **argv)
{
	char mac[MAC_STR_LEN];
	json_t *r;
	int rc;

	if ((rc = parse_mac_arg("key", argc, argv, 1, mac)))
		return rc;
	if (argc > 2)
		return usage_error("key: unexpected argument '%s'", argv[2]);
	r = call(c, json_pack("{s:s, s:s}", "cmd", "key", "mac", mac));
	if (!r)
		return 1;
	if (o->json)
		print_json(r);
	else
		print_key(json_object_get(r, "key"));
	json_decref(r);
	return 0;
}

/* An alert's kind in words (ctl.h lists the kinds). */
static const char *alert_kind_text(const char *kind)
{
	static const char *const names[][2] = {
		{ "new_device", "new device" },     { "blocked", "blocked" },
		{ "risky_service", "risky service" }, { "repair_loop", "wrong place" },
		{ "unmanaged", "bypasses AP" },     { "dns_blocked", "blocked domain" },
	};

	for (size_t i = 0; kind && i < ARRAY_SIZE(names); i++)
		if (!strcmp(kind, names[i][0]))
			return names[i][1];
	return kind;
}

static void put_alert(json_t *a)
{
	printf("#%-5lld ", (long long)json_integer_value(json_object_get(a, "id")));
	put_time(jstr(a, "ts"), 0);
	fputs("  ", stdout);
	put_text(alert_kind_text(jstr(a, "kind")), 15, true);
	put_text(jstr(a, "mac") ? jstr(a, "mac") : "", 18, true);
	put_text(jstr(a, "message"), 400, false);
	if (jstr(a, "acked_by")) {
		printf("  (acknowledged by ");
		put_text(jstr(a, "acked_by"), 40, false);
		putchar(')');
	}
	putchar('\n');
}

static int cmd_alerts(struct conn *c, const struct opts *o, int argc, char **argv)
{
	bool all = false;
	json_t *r, *arr, *a;
	size_t i;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--all"))
			all = true;
		else
			return usage_error("alerts [--all]: unexpected argument '%s'", argv[k]);
	}
	r = call(c, json_pack("{s:s, s:b}", "cmd", "alerts", "all", all));
	if (!r)
		return 1;
	arr = json_object_get(r, "alerts");
	if (o->json) {
		print_json(arr);
	} else if (!json_array_size(arr)) {
		puts(all ? "no alerts" : "no open alerts");
	} else {
		json_array_foreach(arr, i, a)
			put_alert(a);
	}
	json_decref(r);
	return 0;
}

static int cmd_ack(struct conn *c, const struct opts *o, int argc, char **argv)
{
	json_t *req, *r;
	long id = 0;

	if (argc != 2)
		return usage_error("ack ID|--all");
	if (!strcmp(argv[1], "--all"))
		req = json_pack("{s:s, s:b}", "cmd", "ack", "all", 1);
	else if (util_parse_long(argv[1], 1, LONG_MAX, &id) == 0)
		req = json_pack("{s:s, s:I}", "cmd", "ack", "id", (json_int_t)id);
	else
		return usage_error("'%s' is not an alert number (see apgatectl alerts)", argv[1]);
	r = call(c, req);
	if (!r)
		return 1;
	if (o->json)
		print_json(r);
	else
		printf("acknowledged %lld alert(s)\n", (long long)json_integer_value(json_object_get(r, "acknowledged")));
	json_decref(r);
	return 0;
}

static int cmd_simple(struct conn *c, const struct opts *o, int argc, char **argv, const char *verb,
		      const char *done)
{
	char mac[MAC_STR_LEN];
	json_t *r;
	int rc;

	if ((rc = parse_mac_arg(verb, argc, argv, 1, mac)))
		return rc;
	if (argc > 2)
		return usage_error("%s: unexpected argument '%s'", verb, argv[2]);
	r = call(c, json_pack("{s:s, s:s}", "cmd", verb, "mac", mac));
	if (!r)
		return 1;
	if (o->json)
		print_json(r);
	else
		printf("%s %s\n", done, mac);
	json_decref(r);
	return 0;
}

static int cmd_reserve(struct conn *c, const struct opts *o, int argc, char **argv)
{
	char mac[MAC_STR_LEN];
	struct in_addr a;
	json_t *req, *r;
	int rc;

	if ((rc = parse_mac_arg("reserve", argc, argv, 1, mac)))
		return rc;
	if (argc != 3)
		return usage_error("reserve MAC IP, or reserve MAC --clear");
	bool clear = !strcmp(argv[2], "--clear");
	if (!clear && inet_pton(AF_INET, argv[2], &a) != 1)
		return usage_error("'%s' is not an IPv4 address", argv[2]);
	req = json_pack("{s:s, s:s, s:o}", "cmd", "reserve", "mac", mac, "ip",
			clear ? json_null() : json_string(argv[2]));
	r = call(c, req);
	if (!r)
		return 1;
	if (o->json)
		print_json(r);
	else if (clear)
		printf("cleared the reservation of %s\n", mac);
	else
		printf("reserved %s for %s (it gets the address at its next DHCP request)\n", argv[2], mac);
	json_decref(r);
	return 0;
}

static int cmd_events(struct conn *c, const struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = { { "follow", no_argument, NULL, 'f' },
					     { "limit", required_argument, NULL, 'n' },
					     { "json", no_argument, NULL, 'j' }, { 0, 0, 0, 0 } };
	bool follow = false, json = o->json;
	long limit = 20;
	json_t *r, *arr, *e;
	size_t i;
	int opt;

	optind = 0; /* glibc: full re-initialisation, forgets the '+' of the global parse */
	while ((opt = getopt_long(argc, argv, "+fn:j", lo, NULL)) != -1) {
		if (opt == 'f')
			follow = true;
		else if (opt == 'j')
			json = true;
		else if (opt == 'n' && util_parse_long(optarg, 0, 100000, &limit) == 0)
			continue;
		else
			return usage_error("events [--follow] [--limit N (0-100000, 0 = all)] [--json]");
	}
	if (optind != argc)
		return usage_error("events: unexpected argument '%s'", argv[optind]);
	r = call(c, json_pack("{s:s, s:I, s:b}", "cmd", "events", "limit", (json_int_t)limit, "follow", follow));
	if (!r)
		return 1;
	arr = json_object_get(r, "events");
	json_array_foreach(arr, i, e)
		put_event(e, json);
	json_decref(r);
	fflush(stdout);
	while (follow) {
		json_t *m = conn_recv(c, -1);
		if (!m)
			return 1;
		e = json_object_get(m, "event");
		if (e) {
			put_event(e, json);
			fflush(stdout);
		}
		json_decref(m);
	}
	return 0;
}

/* ---- portal users ---- */

#define PW_MIN_CHARS 10
#define PW_MAX_BYTES 1024

static bool user_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > 32)
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
		      *n == '-' || *n == '_' || *n == '.'))
			return false;
	return true;
}

/* One line from fd into buf (without the newline; a trailing CR goes too),
 * read a byte at a time so nothing after it is consumed. Returns its length,
 * -1 on a read error, -2 when it does not fit. */
static ssize_t read_secret_line(int fd, char *buf, size_t size)
{
	size_t n = 0;
	bool too_long = false;

	for (;;) {
		char ch;
		ssize_t r = read(fd, &ch, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0 || ch == '\n')
			break;
		if (n + 1 < size)
			buf[n++] = ch;
		else
			too_long = true;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return too_long ? -2 : (ssize_t)n;
}

/* Asks on the terminal without echo (prompt on stderr). */
static ssize_t ask_secret(const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	ssize_t n;

	/* echo goes off before the prompt shows, so nothing typed after it
	 * is echoed or flushed */
	if (tcgetattr(STDIN_FILENO, &old) < 0)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) < 0)
		return -1;
	fputs(prompt, stderr);
	fflush(stderr);
	n = read_secret_line(STDIN_FILENO, buf, size);
	tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputc('\n', stderr);
	return n;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Reads the new password of user (twice without echo on a terminal, else
 * one line from stdin) and writes its crypto_pwhash_str() hash to hash.
 * The password never leaves this function. 0, or an exit code. */
static int new_password_hash(const char *user, char hash[crypto_pwhash_STRBYTES])
{
	char pw[PW_MAX_BYTES], again[PW_MAX_BYTES], prompt[96];
	ssize_t n;
	int rc = 0;

	if (sodium_init() < 0) {
		fprintf(stderr, "apgatectl: libsodium could not be initialised\n");
		return 1;
	}
	if (isatty(STDIN_FILENO)) {
		snprintf(prompt, sizeof(prompt), "new password for %s: ", user);
		n = ask_secret(prompt, pw, sizeof(pw));
		if (n >= 0) {
			ssize_t m = ask_secret("the same again: ", again, sizeof(again));
			if (m < 0 || m != n || sodium_memcmp(pw, again, (size_t)n) != 0) {
				fprintf(stderr, "apgatectl: the two passwords differ; nothing changed\n");
				rc = EXIT_USAGE;
			}
		}
	} else {
		n = read_secret_line(STDIN_FILENO, pw, sizeof(pw));
	}
	if (rc == 0 && n == -2) {
		fprintf(stderr, "apgatectl: a password may be at most %d bytes long\n", PW_MAX_BYTES - 1);
		rc = EXIT_USAGE;
	} else if (rc == 0 && n < 0) {
		fprintf(stderr, "apgatectl: cannot read the password: %s\n", strerror(errno));
		rc = 1;
	} else if (rc == 0 && utf8_chars(pw) < PW_MIN_CHARS) {
		fprintf(stderr, "apgatectl: a password needs at least %d characters; nothing changed\n",
			PW_MIN_CHARS);
		rc = EXIT_USAGE;
	} else if (rc == 0 &&
		   (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
				      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0 ||
		    strncmp(hash, "$argon2id$", 10) != 0)) {
		fprintf(stderr, "apgatectl: the password could not be hashed (out of memory?)\n");
		rc = 1;
	}
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(again, sizeof(again));
	return rc;
}

static int user_list(struct conn *c, const struct opts *o)
{
	json_t *r = call(c, json_pack("{s:s}", "cmd", "user_list")), *arr, *u;
	size_t i;

	if (!r)
		return 1;
	arr = json_object_get(r, "users");
	if (o->json) {
		print_json(arr);
	} else if (!json_array_size(arr)) {
		puts("no portal users (add the first: apgatectl user add NAME --role admin)");
	} else {
		printf("%-33s%-9s%-20s%s\n", "NAME", "ROLE", "CREATED", "LAST LOGIN");
		json_array_foreach(arr, i, u) {
			put_text(jstr(u, "name"), 33, true);
			put_text(jstr(u, "role"), 9, true);
			put_time(jstr(u, "created_at"), 20);
			if (jstr(u, "last_login"))
				put_time(jstr(u, "last_login"), 0);
			else
				fputs("never", stdout);
			putchar('\n');
		}
		printf("%zu user(s)\n", json_array_size(arr));
	}
	json_decref(r);
	return 0;
}

/* apgatectl user add|passwd|role|del|list ...; argv[0] is the subcommand. */
static int cmd_user(struct conn *c, const struct opts *o, int argc, char **argv)
{
	static const char use[] = "user add NAME [--role admin|approver], user passwd NAME, "
				  "user role NAME admin|approver, user del NAME, user list";
	static const struct option lo[] = { { "role", required_argument, NULL, 'r' }, { 0, 0, 0, 0 } };
	char hash[crypto_pwhash_STRBYTES];
	const char *sub, *name, *role = "approver", *done;
	json_t *req, *r;
	int opt, rc;

	if (argc < 1)
		return usage_error("%s", use);
	sub = argv[0];
	if (!strcmp(sub, "list"))
		return argc > 1 ? usage_error("user list: unexpected argument '%s'", argv[1]) : user_list(c, o);
	if (strcmp(sub, "add") && strcmp(sub, "passwd") && strcmp(sub, "role") && strcmp(sub, "del"))
		return usage_error("unknown user command '%s' (%s)", sub, use);
	optind = 0; /* glibc: full re-initialisation, forgets the '+' of the global parse */
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt == 'r' && !strcmp(sub, "add"))
			role = optarg;
		else
			return usage_error("%s", use);
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return usage_error("user %s needs a user name", sub);
	name = argv[0];
	if (!user_name_ok(name))
		return usage_error("'%s' is not a user name (1-32 of A-Z a-z 0-9 . _ -)", name);
	if (!strcmp(sub, "role")) {
		if (argc < 2)
			return usage_error("user role NAME admin|approver");
		role = argv[1];
	}
	if (argc > (!strcmp(sub, "role") ? 2 : 1))
		return usage_error("user %s: unexpected argument '%s'", sub, argv[!strcmp(sub, "role") ? 2 : 1]);
	if (strcmp(role, "admin") && strcmp(role, "approver"))
		return usage_error("'%s' is not a role (admin, approver)", role);

	if (!strcmp(sub, "add") || !strcmp(sub, "passwd")) {
		if ((rc = new_password_hash(name, hash)))
			return rc;
		req = !strcmp(sub, "add")
			      ? json_pack("{s:s, s:s, s:s, s:s}", "cmd", "user_add", "name", name, "role", role,
					  "hash", hash)
			      : json_pack("{s:s, s:s, s:s}", "cmd", "user_passwd", "name", name, "hash", hash);
		sodium_memzero(hash, sizeof(hash));
		done = !strcmp(sub, "add") ? "added user" : "changed the password of";
	} else if (!strcmp(sub, "role")) {
		req = json_pack("{s:s, s:s, s:s}", "cmd", "user_role", "name", name, "role", role);
		done = "changed the role of";
	} else {
		req = json_pack("{s:s, s:s}", "cmd", "user_del", "name", name);
		done = "deleted user";
	}
	r = call(c, req);
	if (!r)
		return 1;
	if (o->json)
		print_json(r);
	else if (!strcmp(sub, "add") || !strcmp(sub, "role"))
		printf("%s %s (%s)\n", done, name, role);
	else
		printf("%s %s\n", done, name);
	json_decref(r);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "socket", required_argument, NULL, 's' },
					     { "json", no_argument, NULL, 'j' },
					     { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 } };
	struct opts o = { .socket = getenv("APGATE_SOCKET") };
	struct conn c;
	const char *cmd;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+s:jh", lo, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.socket = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fputs(usage_text, stderr);
			return EXIT_USAGE;
		}
	}
	if (!o.socket || !*o.socket)
		o.socket = DEFAULT_SOCKET;
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	/* --json may also follow the command ("apgatectl status --json"). */
	for (int i = 1, k = 1; i <= argc; i++) {
		if (i < argc && (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))) {
			o.json = true;
			continue;
		}
		argv[k++] = argv[i]; /* argv[argc] (NULL) moves along too */
		if (i == argc)
			argc = k - 1;
	}
	if (strcmp(cmd, "status") && strcmp(cmd, "devices") && strcmp(cmd, "show") && strcmp(cmd, "approve") &&
	    strcmp(cmd, "block") && strcmp(cmd, "forget") && strcmp(cmd, "events") && strcmp(cmd, "reserve") &&
	    strcmp(cmd, "key") && strcmp(cmd, "revoke") && strcmp(cmd, "release") && strcmp(cmd, "alerts") &&
	    strcmp(cmd, "ack") && strcmp(cmd, "user") && strcmp(cmd, "help") && strcmp(cmd, "check") &&
	    strcmp(cmd, "unmanaged") && strcmp(cmd, "dns-blocks") && strcmp(cmd, "inventory"))
		return usage_error("unknown command '%s'", cmd);
	if (!strcmp(cmd, "help")) {
		fputs(usage_text, stdout);
		return 0;
	}
	c = (struct conn){ .path = o.socket, .fd = -1 };
	if (!strcmp(cmd, "status"))
		rc = argc > 2 || (argc == 2 && strcmp(argv[1], "--check"))
			     ? usage_error("status takes only --check (and --json)")
			     : cmd_status(&c, &o, argc == 2);
	else if (!strcmp(cmd, "devices"))
		rc = cmd_devices(&c, &o, argc, argv);
	else if (!strcmp(cmd, "show"))
		rc = cmd_show(&c, &o, argc, argv);
	else if (!strcmp(cmd, "approve"))
		rc = cmd_approve(&c, &o, argc, argv);
	else if (!strcmp(cmd, "block"))
		rc = cmd_simple(&c, &o, argc, argv, "block", "blocked");
	else if (!strcmp(cmd, "forget"))
		rc = cmd_simple(&c, &o, argc, argv, "forget", "forgot");
	else if (!strcmp(cmd, "reserve"))
		rc = cmd_reserve(&c, &o, argc, argv);
	else if (!strcmp(cmd, "key"))
		rc = cmd_key(&c, &o, argc, argv);
	else if (!strcmp(cmd, "revoke"))
		rc = cmd_simple(&c, &o, argc, argv, "revoke", "revoked the key of");
	else if (!strcmp(cmd, "release"))
		rc = cmd_simple(&c, &o, argc, argv, "release", "released");
	else if (!strcmp(cmd, "alerts"))
		rc = cmd_alerts(&c, &o, argc, argv);
	else if (!strcmp(cmd, "ack"))
		rc = cmd_ack(&c, &o, argc, argv);
	else if (!strcmp(cmd, "user"))
		rc = cmd_user(&c, &o, argc - 1, argv + 1);
	else if (!strcmp(cmd, "check"))
		rc = cmd_check(&c, &o, argc, argv);
	else if (!strcmp(cmd, "unmanaged"))
		rc = cmd_unmanaged(&c, &o, argc, argv);
	else if (!strcmp(cmd, "dns-blocks"))
		rc = cmd_dns_blocks(&c, &o, argc, argv);
	else if (!strcmp(cmd, "inventory"))
		rc = cmd_inventory(&c, &o, argc, argv);
	else
		rc = cmd_events(&c, &o, argc, argv);
	conn_close(&c);
	return rc;
}
