/* The captive face over real TCP: foreign hosts and OS probes are sent to
 * the gateway's page, the page itself is served with a strict CSP, and bad
 * or oversized requests get 4xx while the server keeps serving.
 *
 * The device behind 127.0.0.1 is made known by a DHCP lease through ctl and
 * decided about through ctl, as staff would: the probes, the RFC 8908 API,
 * /status and the page then follow its state; the claim form stores what
 * its user says (with the page's token only); the guest Wi-Fi and its QR
 * code are shown to personal devices; languages; hostile text escaped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl/ctl.h"
#include "front/auth.h"
#include "front/captive.h"
#include "front/web.h"
#include "log.h"
#include "model/reg.h"
#include "util.h"

struct fx {
	char dir[64];
	struct cfg *cfg;
	struct reg *reg;
	struct ctl *ctl;
	struct auth *auth;
	struct web_assets *assets;
	struct web_i18n *i18n;
	struct event_base *base;
	struct captive *cap;
	unsigned port;
};

/* Sends req, runs the server's loop until the peer closes or a full
 * response head + body arrived; returns the response text (static). */
static const char *exchange(struct fx *f, const char *req, size_t len)
{
	static char buf[65536];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)f->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0, sent = 0;
	long long deadline = util_mono_ms() + 5000;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		if (sent < len) {
			ssize_t w = write(fd, req + sent, len - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			break;
		if (r > 0)
			got += (size_t)r;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		const char *cl = strstr(buf, "Content-Length: ");
		if (end && cl && got >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
			break;
		assert_true(util_mono_ms() < deadline);
	}
	close(fd);
	buf[got] = '\0';
	return buf;
}

static const char *get(struct fx *f, const char *path, const char *host)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
	return exchange(f, req, (size_t)n);
}

/* ---- reading answers ---- */

static int status_of(const char *r)
{
	int code = 0;

	return sscanf(r, "HTTP/1.1 %d ", &code) == 1 ? code : 0;
}

static const char *body_of(const char *r)
{
	const char *e = strstr(r, "\r\n\r\n");

	assert_non_null(e);
	return e + 4;
}

/* The value of header name (case as libevent writes it) into out; false
 * when the answer has no such header. */
static bool header_of(const char *r, const char *name, char *out, size_t size)
{
	const char *end = strstr(r, "\r\n\r\n");
	size_t nl = strlen(name);

	for (const char *h = strstr(r, "\r\n"); h && end && h < end; h = strstr(h + 2, "\r\n")) {
		if (!strncasecmp(h + 2, name, nl) && h[2 + nl] == ':') {
			const char *v = h + 2 + nl + 1, *e = strstr(v, "\r\n");
			while (*v == ' ')
				v++;
			snprintf(out, size, "%.*s", (int)(e - v), v);
			return true;
		}
	}
	return false;
}

/* Every answer the portal makes carries a CSP that allows scripts only
 * from the portal itself. */
static void assert_csp(const char *r)
{
	char csp[512];

	assert_true(header_of(r, "Content-Security-Policy", csp, sizeof(csp)));
	assert_non_null(strstr(csp, "script-src 'self'"));
	assert_null(strstr(csp, "unsafe-inline"));
	assert_null(strstr(csp, "unsafe-eval"));
}

static json_t *json_of(const char *r)
{
	json_error_t err;
	json_t *j = json_loads(body_of(r), 0, &err);

	if (!j)
		fail_msg("not JSON: %s in %s", err.text, r);
	return j;
}

/* ---- requests as the device behind 127.0.0.1 ---- */

#define DEV_MAC "02:aa:bb:cc:dd:01"
#define HOSTILE "<img src=x onerror=alert(1)>"

static const char *self_host(struct fx *f)
{
	static char host[64];

	snprintf(host, sizeof(host), "127.0.0.1:%u", f->port);
	return host;
}

static const char *self_url(struct fx *f)
{
	static char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", f->port);
	return url;
}

/* GET on the gateway itself with extra header lines (each ending \r\n). */
static const char *get_h(struct fx *f, const char *path, const char *extra)
{
	static char req[2048];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path,
			 self_host(f), extra ? extra : "");
	return exchange(f, req, (size_t)n);
}

static const char *post_form(struct fx *f, const char *path, const char *body)
{
	static char req[8192];
	int n = snprintf(req, sizeof(req),
			 "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
			 path, self_host(f), strlen(body), body);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	return exchange(f, req, (size_t)n);
}

/* The device gets its DHCP lease for 127.0.0.1: known to the registry,
 * pending. hostname is what it sent as its own name. */
static void lease(struct fx *f, const char *hostname)
{
	struct ctl_lease l = { .action = "add", .mac = DEV_MAC, .ip = "127.0.0.1",
			       .hostname = "dev", .supplied_hostname = hostname };
	struct reg_device *d = NULL;

	assert_int_equal(ctl_lease(f->ctl, &l), 0);
	assert_int_equal(reg_get(ctl_reg(f->ctl), DEV_MAC, &d), 0);
	assert_int_equal(d->state, REG_PENDING);
	reg_device_free(d);
}

static void approve(struct fx *f, enum reg_class cls)
{
	struct reg_approval ap = { .cls = cls };
	struct reg_actor who = { "tester", "cli" };

	assert_int_equal(ctl_approve(f->ctl, DEV_MAC, &ap, &who), 0);
}

static void block(struct fx *f)
{
	struct reg_actor who = { "tester", "cli" };

	assert_int_equal(ctl_block(f->ctl, DEV_MAC, &who), 0);
}

/* The claim form's token, read from the page. */
static void page_token(struct fx *f, char out[AUTH_TOKEN_LEN + 1])
{
	const char *r = get_h(f, "/", NULL), *p;

	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "<form id=\"claim-form\""));
	p = strstr(r, "name=\"token\" value=\"");
	assert_non_null(p);
	p += strlen("name=\"token\" value=\"");
	assert_true(strlen(p) > AUTH_TOKEN_LEN && p[AUTH_TOKEN_LEN] == '"');
	memcpy(out, p, AUTH_TOKEN_LEN);
	out[AUTH_TOKEN_LEN] = '\0';
}

/* POST /claim with the page's token; returns the HTTP status. */
static int claim(struct fx *f, const char *fields)
{
	char tok[AUTH_TOKEN_LEN + 1], body[4096];
	const char *r;

	page_token(f, tok);
	snprintf(body, sizeof(body), "token=%s&%s", tok, fields);
	r = post_form(f, "/claim", body);
	assert_csp(r);
	return status_of(r);
}

static void assert_no_claim(struct fx *f)
{
	struct reg_device *d = NULL;

	assert_int_equal(reg_get(ctl_reg(f->ctl), DEV_MAC, &d), 0);
	assert_null(d->claim_name);
	assert_null(d->claim_owner);
	assert_int_equal(d->claim_cls, REG_CLASS_NONE);
	assert_int_equal(d->claim_at, 0);
	reg_device_free(d);
}

/* The OS probes with the hosts the OSes send them to. */
static const struct {
	const char *path, *host;
} probes[] = {
	{ "/hotspot-detect.html", "captive.apple.com" },
	{ "/library/test/success.html", "www.apple.com" },
	{ "/generate_204", "connectivitycheck.gstatic.com" },
	{ "/gen_204", "clients3.google.com" },
	{ "/connecttest.txt", "www.msftconnecttest.com" },
	{ "/ncsi.txt", "www.msftncsi.com" },
	{ "/canonical.html", "detectportal.firefox.com" },
	{ "/success.txt", "detectportal.firefox.com" },
};

/* Every probe goes to the captive page. */
static void assert_probes_captive(struct fx *f)
{
	char loc[128];

	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		const char *r = get(f, probes[i].path, probes[i].host);
		if (status_of(r) != 302)
			fail_msg("%s on %s: %s", probes[i].path, probes[i].host, r);
		assert_true(header_of(r, "Location", loc, sizeof(loc)));
		assert_string_equal(loc, self_url(f));
		assert_csp(r);
	}
}

static void assert_body(const char *r, int code, const char *type, const char *body)
{
	char ct[128];

	if (status_of(r) != code)
		fail_msg("wanted %d: %s", code, r);
	if (type) {
		assert_true(header_of(r, "Content-Type", ct, sizeof(ct)));
		assert_non_null(strstr(ct, type));
	}
	assert_string_equal(body_of(r), body);
	assert_csp(r);
}

/* Every probe gets the answer its OS takes for "online". */
static void assert_probes_free(struct fx *f)
{
	static const char apple[] = "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>";

	assert_body(get(f, "/hotspot-detect.html", "captive.apple.com"), 200, "text/html", apple);
	assert_body(get(f, "/library/test/success.html", "www.apple.com"), 200, "text/html", apple);
	assert_body(get(f, "/generate_204", "connectivitycheck.gstatic.com"), 204, NULL, "");
	assert_body(get(f, "/gen_204", "clients3.google.com"), 204, NULL, "");
	assert_body(get(f, "/connecttest.txt", "www.msftconnecttest.com"), 200, "text/plain",
		    "Microsoft Connect Test");
	assert_body(get(f, "/ncsi.txt", "www.msftncsi.com"), 200, "text/plain", "Microsoft NCSI");
	assert_body(get(f, "/success.txt", "detectportal.firefox.com"), 200, "text/plain", "success\n");
	assert_body(get(f, "/canonical.html", "detectportal.firefox.com"), 200, "text/html",
		    "<meta http-equiv=\"refresh\" content=\"0;url=https://support.mozilla.org/kb/captive-portal\"/>");
}

/* RFC 8908 API as the device sees it. */
static void assert_api(struct fx *f, bool captive)
{
	const char *r = get_h(f, "/captive-portal/api", NULL);
	char ct[128];
	json_t *j;

	assert_int_equal(status_of(r), 200);
	assert_true(header_of(r, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "application/captive+json");
	assert_csp(r);
	j = json_of(r);
	assert_true(json_is_boolean(json_object_get(j, "captive")));
	assert_int_equal(json_is_true(json_object_get(j, "captive")), captive);
	assert_string_equal(json_string_value(json_object_get(j, "user-portal-url")), self_url(f));
	json_decref(j);
}

/* GET /status; state, class (NULL = null/absent), captive, guest. */
static void assert_status(struct fx *f, const char *state, const char *cls, bool captive, bool guest)
{
	const char *r = get_h(f, "/status", NULL);
	json_t *j;

	assert_int_equal(status_of(r), 200);
	assert_csp(r);
	j = json_of(r);
	assert_string_equal(json_string_value(json_object_get(j, "state")), state);
	if (cls)
		assert_string_equal(json_string_value(json_object_get(j, "class")), cls);
	else
		assert_null(json_string_value(json_object_get(j, "class")));
	assert_true(json_is_boolean(json_object_get(j, "captive")));
	assert_int_equal(json_is_true(json_object_get(j, "captive")), captive);
	assert_true(json_is_boolean(json_object_get(j, "guest")));
	assert_int_equal(json_is_true(json_object_get(j, "guest")), guest);
	json_decref(j);
}

static void assert_page_state(struct fx *f, const char *state)
{
	char want[64];
	const char *r = get_h(f, "/", NULL);

	assert_int_equal(status_of(r), 200);
	assert_csp(r);
	snprintf(want, sizeof(want), "data-state=\"%s\"", state);
	assert_non_null(strstr(r, "id=\"state\""));
	if (!strstr(r, want))
		fail_msg("no %s in %s", want, r);
}

/* The text of key in portal/i18n/<lang>.json, escaped as the page shows
 * it (the texts compared here have nothing to escape). */
static char *i18n_text(const char *lang, const char *key)
{
	char path[64];
	json_error_t err;
	json_t *j;
	char *s;

	snprintf(path, sizeof(path), "portal/i18n/%s.json", lang);
	j = json_load_file(path, 0, &err);
	assert_non_null(j);
	assert_non_null(json_string_value(json_object_get(j, key)));
	s = strdup(json_string_value(json_object_get(j, key)));
	json_decref(j);
	assert_null(strpbrk(s, "&<>\"'"));
	return s;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct captive_cfg cfg = { .n_addrs = 1, .guest_ssid = "Shop Guest", .guest_passphrase = "guest-pass-1" };
	struct auth_cfg ac = { 1800, 43200, 5, 300 };
	char path[128];
	FILE *fp;

	log_open("test_captive", LOG_LVL_ERR, false);
	snprintf(f->dir, sizeof(f->dir), "/tmp/apgate-cap-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/apgate.conf", f->dir);
	fp = fopen(path, "w");
	fprintf(fp, "[apgated]\nregistry = %s/reg.db\nadmin_socket = %s/admin.sock\noui_dir =\n"
		    "[hostapd]\nctrl_dir = %s/nohostapd\nclient_dir = %s\n[bss ap0]\nzone = work\n",
		f->dir, f->dir, f->dir, f->dir);
	fclose(fp);
	if (cfg_load(path, stderr, &f->cfg) < 0)
		return -1;
	f->base = event_base_new();
	snprintf(path, sizeof(path), "%s/reg.db", f->dir);
	if (reg_open(path, &f->reg) < 0 || ctl_new(f->base, f->cfg, f->reg, NULL, NULL, &f->ctl) < 0 ||
	    auth_new(&ac, &f->auth) < 0 || web_assets_load("portal/static", &f->assets) < 0 ||
	    web_i18n_load("portal/i18n", &f->i18n) < 0)
		return -1;
	inet_pton(AF_INET, "127.0.0.1", &cfg.addrs[0]);
	for (unsigned tries = 0; tries < 50; tries++) {
		cfg.port = 20000 + (unsigned)((getpid() * 7 + tries * 131) % 30000);
		if (captive_new(f->base, f->ctl, f->auth, f->assets, f->i18n, &cfg, &f->cap) == 0)
			break;
	}
	if (!f->cap)
		return -1;
	f->port = cfg.port;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	captive_free(f->cap);
	ctl_free(f->ctl);
	reg_close(f->reg);
	auth_free(f->auth);
	web_assets_free(f->assets);
	web_i18n_free(f->i18n);
	event_base_free(f->base);
	cfg_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void test_foreign_host_redirected(void **state)
{
	struct fx *f = *state;
	char loc[64];
	const char *r;

	snprintf(loc, sizeof(loc), "Location: http://127.0.0.1:%u/\r\n", f->port);
	r = get(f, "/", "any-name.test");
	assert_non_null(strstr(r, "HTTP/1.1 302 Found\r\n"));
	assert_non_null(strstr(r, loc));
	/* the operating systems' probes land on the page too */
	r = get(f, "/hotspot-detect.html", "captive.apple.com");
	assert_non_null(strstr(r, "HTTP/1.1 302"));
	assert_non_null(strstr(r, loc));
	r = get(f, "/generate_204", "connectivitycheck.gstatic.com");
	assert_non_null(strstr(r, "HTTP/1.1 302"));
	r = get(f, "/connecttest.txt", "www.msftconnecttest.com");
	assert_non_null(strstr(r, "HTTP/1.1 302"));
	r = get(f, "/canonical.html", "detectportal.firefox.com");
	assert_non_null(strstr(r, "HTTP/1.1 302"));
}

static void test_page_served(void **state)
{
	struct fx *f = *state;
	char host[64];
	const char *r;

	snprintf(host, sizeof(host), "127.0.0.1:%u", f->port);
	r = get(f, "/", host);
	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r, "This device is waiting for approval"));
	assert_non_null(strstr(r, "Content-Security-Policy: default-src 'none'"));
	assert_non_null(strstr(r, "Cache-Control: no-store"));
}

static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	char host[64], *big;
	const char *r;
	size_t n = 32 * 1024;

	r = exchange(f, "GARBAGE\r\n\r\n", 11);

	assert_non_null(strstr(r, "HTTP/1.1 4"));
	/* a method the portal never takes: libevent answers 501 */
	r = exchange(f, "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n", 30);
	assert_non_null(strstr(r, "HTTP/1.1 501 Not Implemented"));

	big = malloc(n + 64);
	int k = snprintf(big, 64, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + k, 'a', n);
	memcpy(big + k + n, "\r\n\r\n", 4);
	r = exchange(f, big, (size_t)k + n + 4);
	free(big);
	assert_true(r[0] == '\0' || strstr(r, "HTTP/1.1 4") != NULL); /* 4xx or closed */

	/* and it still serves */
	snprintf(host, sizeof(host), "127.0.0.1:%u", f->port);
	r = get(f, "/", host);
	assert_non_null(strstr(r, "HTTP/1.1 200 OK"));
}

/* ---- the device's states ---- */

static void test_probes_pending_captive(void **state)
{
	struct fx *f = *state;

	lease(f, "laptop");
	assert_probes_captive(f);
	assert_api(f, true);
	assert_status(f, "pending", NULL, true, false);
	assert_page_state(f, "pending");
}

static void test_approved_business_free(void **state)
{
	struct fx *f = *state;
	const char *r;

	lease(f, "laptop");
	approve(f, REG_CLASS_BUSINESS);
	assert_probes_free(f);
	assert_api(f, false);
	assert_status(f, "approved", "business", false, false);
	assert_page_state(f, "approved");
	r = get_h(f, "/", NULL);
	assert_null(strstr(r, "id=\"claim-form\"")); /* nothing left to say */
	assert_null(strstr(r, "id=\"guest-info\""));
	assert_int_equal(status_of(get_h(f, "/guest-qr.svg", NULL)), 404);
}

static void test_approved_personal_guest_free(void **state)
{
	struct fx *f = *state;
	const char *r;

	lease(f, "phone");
	approve(f, REG_CLASS_PERSONAL);
	assert_probes_free(f);
	assert_api(f, false);
	assert_status(f, "approved", "personal", false, true);
	r = get_h(f, "/", NULL);
	assert_non_null(strstr(r, "id=\"guest-info\""));
	assert_non_null(strstr(r, "Shop Guest"));
	assert_int_equal(status_of(get_h(f, "/guest-qr.svg", NULL)), 200);
}

static void test_blocked_captive_again(void **state)
{
	struct fx *f = *state;
	const char *r;

	lease(f, "laptop");
	approve(f, REG_CLASS_BUSINESS);
	assert_probes_free(f);
	block(f);
	assert_probes_captive(f);
	assert_api(f, true);
	assert_status(f, "blocked", "business", true, false);
	assert_page_state(f, "blocked");
	r = get_h(f, "/", NULL);
	assert_null(strstr(r, "id=\"claim-form\""));
	assert_null(strstr(r, "id=\"guest-info\""));
	assert_int_equal(status_of(get_h(f, "/guest-qr.svg", NULL)), 404);
}

/* A blocked device that said "personal" is not shown the guest Wi-Fi. */
static void test_blocked_personal_no_guest(void **state)
{
	struct fx *f = *state;

	lease(f, "phone");
	assert_int_equal(claim(f, "name=p&kind=personal"), 303);
	assert_status(f, "pending", NULL, true, true);
	block(f);
	assert_status(f, "blocked", NULL, true, false);
	assert_null(strstr(get_h(f, "/", NULL), "id=\"guest-info\""));
	assert_int_equal(status_of(get_h(f, "/guest-qr.svg", NULL)), 404);
	assert_probes_captive(f);
}

static void test_unknown_device(void **state)
{
	struct fx *f = *state;
	const char *r;

	/* no lease for 127.0.0.1 */
	assert_api(f, true);
	assert_status(f, "unknown", NULL, true, false);
	assert_page_state(f, "unknown");
	assert_probes_captive(f);
	r = post_form(f, "/claim", "token=x&name=a&kind=business");
	assert_int_equal(status_of(r), 404);
	assert_csp(r);
	assert_int_equal(status_of(get_h(f, "/guest-qr.svg", NULL)), 404);
}

/* ---- the claim form ---- */

static void test_claim_stored(void **state)
{
	struct fx *f = *state;
	struct reg_device *d = NULL;
	char loc[128];
	char tok[AUTH_TOKEN_LEN + 1], body[256];
	const char *r;

	lease(f, "laptop");
	assert_no_claim(f);
	page_token(f, tok);
	snprintf(body, sizeof(body), "token=%s&name=Reception+PC&owner=Anna+K%%C3%%B6hler&kind=business", tok);
	r = post_form(f, "/claim", body);
	assert_int_equal(status_of(r), 303);
	assert_true(header_of(r, "Location", loc, sizeof(loc)));
	assert_string_equal(loc, self_url(f));
	assert_csp(r);
	assert_int_equal(reg_get(ctl_reg(f->ctl), DEV_MAC, &d), 0);
	assert_string_equal(d->claim_name, "Reception PC");
	assert_string_equal(d->claim_owner, "Anna K\xc3\xb6hler");
	assert_int_equal(d->claim_cls, REG_CLASS_BUSINESS);
	assert_int_equal(d->state, REG_PENDING); /* a claim decides nothing */
	assert_true(d->claim_at > 0);
	reg_device_free(d);
	/* the page says it was saved and fills the form in */
	r = get_h(f, "/", NULL);
	assert_non_null(strstr(r, "id=\"claim-saved\""));
	assert_non_null(strstr(r, "value=\"Reception PC\""));
	assert_non_null(strstr(r, "value=\"business\" checked"));
	assert_status(f, "pending", NULL, true, false);
	/* exactly 64 bytes is still a name */
	char name64[65];
	memset(name64, 'n', 64);
	name64[64] = '\0';
	snprintf(body, sizeof(body), "name=%s&kind=", name64);
	assert_int_equal(claim(f, body), 303);
	assert_int_equal(reg_get(ctl_reg(f->ctl), DEV_MAC, &d), 0);
	assert_string_equal(d->claim_name, name64);
	reg_device_free(d);
}

static void test_claim_refused(void **state)
{
	struct fx *f = *state;
	char tok[AUTH_TOKEN_LEN + 1], body[512], name65[66];
	const char *r;

	lease(f, "laptop");
	page_token(f, tok);
	/* missing token */
	r = post_form(f, "/claim", "name=x&owner=y&kind=business");
	assert_int_equal(status_of(r), 403);
	assert_csp(r);
	/* wrong token: one character changed */
	tok[5] = tok[5] == 'A' ? 'B' : 'A';
	snprintf(body, sizeof(body), "token=%s&name=x&owner=y&kind=business", tok);
	assert_int_equal(status_of(post_form(f, "/claim", body)), 403);
	/* a token of the right length made for another device */
	auth_bind(f->auth, "02:aa:bb:cc:dd:02", tok);
	snprintf(body, sizeof(body), "token=%s&name=x&owner=y&kind=business", tok);
	assert_int_equal(status_of(post_form(f, "/claim", body)), 403);
	assert_no_claim(f);
	/* the right token with bad fields */
	assert_int_equal(claim(f, "name=x&owner=y&kind=other"), 400);
	assert_no_claim(f);
	memset(name65, 'n', 65);
	name65[65] = '\0';
	snprintf(body, sizeof(body), "name=%s&owner=y&kind=business", name65);
	assert_int_equal(claim(f, body), 400);
	snprintf(body, sizeof(body), "name=x&owner=%s&kind=business", name65);
	assert_int_equal(claim(f, body), 400);
	assert_no_claim(f);
	/* not a form */
	page_token(f, tok);
	char req[512];
	int n = snprintf(req, sizeof(req),
			 "POST /claim HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: 2\r\nConnection: close\r\n\r\n{}", self_host(f));
	r = exchange(f, req, (size_t)n);
	assert_int_equal(status_of(r), 400);
	assert_no_claim(f);
}

static void test_hostile_text_escaped(void **state)
{
	struct fx *f = *state;
	struct reg_device *d = NULL;
	const char *r;

	lease(f, HOSTILE);
	/* the name as a browser sends it */
	assert_int_equal(claim(f, "name=%3Cimg+src%3Dx+onerror%3Dalert%281%29%3E&owner=%22%3E%3Cb%3E&kind=business"),
			 303);
	assert_int_equal(reg_get(ctl_reg(f->ctl), DEV_MAC, &d), 0);
	assert_string_equal(d->claim_name, HOSTILE);
	assert_string_equal(d->claim_owner, "\"><b>");
	reg_device_free(d);
	r = get_h(f, "/", NULL);
	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "&lt;img src=x onerror=alert(1)&gt;"));
	assert_non_null(strstr(r, "&quot;&gt;&lt;b&gt;"));
	assert_null(strstr(r, "<img src=x"));
	assert_null(strstr(r, "\"><b>"));
}

static void test_personal_guest_info(void **state)
{
	struct fx *f = *state;
	const char *r;
	char ct[64];

	lease(f, "phone");
	/* nothing said yet: no guest Wi-Fi, no QR code */
	r = get_h(f, "/", NULL);
	assert_null(strstr(r, "id=\"guest-info\""));
	assert_int_equal(status_of(get_h(f, "/guest-qr.svg", NULL)), 404);
	assert_status(f, "pending", NULL, true, false);

	assert_int_equal(claim(f, "name=My+phone&owner=Bo&kind=personal"), 303);
	r = get_h(f, "/", NULL);
	assert_non_null(strstr(r, "<section id=\"guest-info\""));
	assert_non_null(strstr(r, "<strong>Shop Guest</strong>"));
	assert_non_null(strstr(r, "<img id=\"guest-qr\""));
	assert_non_null(strstr(r, "src=\"/guest-qr.svg\""));
	assert_non_null(strstr(r, "value=\"personal\" checked"));
	assert_status(f, "pending", NULL, true, true);

	r = get_h(f, "/guest-qr.svg", NULL);
	assert_int_equal(status_of(r), 200);
	assert_true(header_of(r, "Content-Type", ct, sizeof(ct)));
	assert_string_equal(ct, "image/svg+xml");
	assert_csp(r);
	assert_true(!strncmp(body_of(r), "<svg", 4) || !strncmp(body_of(r), "<?xml", 5));
	assert_non_null(strstr(body_of(r), "</svg>"));
	/* still captive: saying "personal" opens nothing */
	assert_probes_captive(f);
}

static void test_business_claim_no_qr(void **state)
{
	struct fx *f = *state;
	const char *r;

	lease(f, "laptop");
	assert_int_equal(claim(f, "name=Till&owner=Bo&kind=business"), 303);
	r = get_h(f, "/guest-qr.svg", NULL);
	assert_int_equal(status_of(r), 404);
	assert_csp(r);
	assert_null(strstr(get_h(f, "/", NULL), "id=\"guest-info\""));
	assert_status(f, "pending", NULL, true, false);
}

/* ---- languages ---- */

static void test_language(void **state)
{
	struct fx *f = *state;
	char *ja = i18n_text("ja", "captive.state.pending"), *en = i18n_text("en", "captive.state.pending");
	char *ja_t = i18n_text("ja", "captive.claim.title");
	char cookie[128];
	const char *r;

	lease(f, "laptop");
	r = get_h(f, "/", "Accept-Language: ja,en;q=0.5\r\n");
	assert_non_null(strstr(r, "<html lang=\"ja\">"));
	assert_non_null(strstr(r, ja));
	assert_non_null(strstr(r, ja_t));
	assert_null(strstr(r, en));
	assert_false(header_of(r, "Set-Cookie", cookie, sizeof(cookie)));
	/* English first */
	r = get_h(f, "/", "Accept-Language: en-US,ja;q=0.5\r\n");
	assert_non_null(strstr(r, "<html lang=\"en\">"));
	assert_non_null(strstr(r, en));
	/* ?lang=en wins over the header and is kept in a cookie */
	r = get_h(f, "/?lang=en", "Accept-Language: ja\r\n");
	assert_non_null(strstr(r, "<html lang=\"en\">"));
	assert_non_null(strstr(r, en));
	assert_true(header_of(r, "Set-Cookie", cookie, sizeof(cookie)));
	assert_true(!strncmp(cookie, "lang=en;", 8) || !strcmp(cookie, "lang=en"));
	r = get_h(f, "/", "Accept-Language: ja\r\nCookie: lang=en\r\n");
	assert_non_null(strstr(r, "<html lang=\"en\">"));
	assert_non_null(strstr(r, en));
	assert_null(strstr(r, ja));
	/* and the other way round */
	r = get_h(f, "/?lang=ja", NULL);
	assert_true(header_of(r, "Set-Cookie", cookie, sizeof(cookie)));
	assert_true(!strncmp(cookie, "lang=ja;", 8) || !strcmp(cookie, "lang=ja"));
	r = get_h(f, "/", "Cookie: lang=ja\r\n");
	assert_non_null(strstr(r, "<html lang=\"ja\">"));
	assert_non_null(strstr(r, ja));
	free(ja);
	free(en);
	free(ja_t);
}

/* ---- bad input ---- */

static void assert_still_serves(struct fx *f)
{
	const char *r = get_h(f, "/", NULL);

	assert_int_equal(status_of(r), 200);
	assert_non_null(strstr(r, "id=\"state\""));
}

static void test_bad_input(void **state)
{
	struct fx *f = *state;
	size_t n = 20 * 1024;
	char *big = malloc(n + 4096);
	char tok[AUTH_TOKEN_LEN + 1];
	const char *r;
	int k, code;

	lease(f, "laptop");
	/* a request line of 20 KB */
	k = sprintf(big, "GET /");
	memset(big + k, 'a', n);
	k += (int)n;
	k += sprintf(big + k, " HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", self_host(f));
	r = exchange(f, big, (size_t)k);
	code = status_of(r);
	assert_true(r[0] == '\0' || (code >= 400 && code < 500));
	assert_still_serves(f);

	/* a claim with a body over 16 KB */
	page_token(f, tok);
	char prefix[128];
	int pl = snprintf(prefix, sizeof(prefix), "token=%s&kind=business&name=", tok);
	k = sprintf(big, "POST /claim HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    self_host(f), (size_t)pl + n, prefix);
	memset(big + k, 'n', n);
	k += (int)n;
	r = exchange(f, big, (size_t)k);
	code = status_of(r);
	assert_true(r[0] == '\0' || code == 413);
	assert_no_claim(f);
	assert_still_serves(f);
	free(big);

	/* malformed URIs */
	static const char *const bad[] = {
		"GET /%00 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		"GET http://[::1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
		"GET HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		r = exchange(f, bad[i], strlen(bad[i]));
		code = status_of(r);
		if (!(r[0] == '\0' || (code >= 400 && code < 500) || code == 302))
			fail_msg("malformed URI %zu: %s", i, r);
		assert_still_serves(f);
	}
	/* a NUL in the path never reaches a handler */
	r = exchange(f, bad[0], strlen(bad[0]));
	assert_true(r[0] == '\0' || status_of(r) == 400);
}

/* ---- headers ---- */

static void test_csp_everywhere(void **state)
{
	struct fx *f = *state;
	const char *r;

	assert_csp(get(f, "/", "any-name.test"));
	assert_csp(get(f, "/x/y", self_host(f)));
	lease(f, "laptop");
	assert_csp(get_h(f, "/", NULL));
	assert_csp(get_h(f, "/captive-portal/api", NULL));
	assert_csp(get_h(f, "/status", NULL));
	r = get_h(f, "/static/app.css", NULL);
	assert_int_equal(status_of(r), 200);
	assert_csp(r);
	r = get_h(f, "/static/nothing.css", NULL);
	assert_int_equal(status_of(r), 404);
	assert_csp(r);
	assert_csp(post_form(f, "/claim", "token=bad"));
	assert_csp(post_form(f, "/", "a=b"));
	/* the page loads its script from a file, never inline */
	r = get_h(f, "/", NULL);
	assert_non_null(strstr(r, "<script src=\"/static/captive.js\""));
	assert_null(strstr(r, "<script>"));
	assert_null(strstr(r, " onclick="));
	assert_null(strstr(r, " onload="));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_foreign_host_redirected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probes_pending_captive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approved_business_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approved_personal_guest_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_captive_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blocked_personal_no_guest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_device, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_stored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_text_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_personal_guest_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_business_claim_no_qr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_language, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csp_everywhere, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN); /* a server that hangs up on a big request */
	return cmocka_run_group_tests_name("captive", tests, NULL, NULL);
}
