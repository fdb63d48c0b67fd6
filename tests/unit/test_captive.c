/* The captive face over real TCP: foreign hosts and OS probes are sent to
 * the gateway's page, the page itself is served with a strict CSP, and bad
 * or oversized requests get 4xx while the server keeps serving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_foreign_host_redirected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
	};
	return cmocka_run_group_tests_name("captive", tests, NULL, NULL);
}
