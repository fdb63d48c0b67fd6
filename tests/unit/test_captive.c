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

#include "front/captive.h"
#include "log.h"
#include "util.h"

struct fx {
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
	struct captive_cfg cfg = { .n_addrs = 1 };

	log_open("test_captive", LOG_LVL_ERR, false);
	inet_pton(AF_INET, "127.0.0.1", &cfg.addrs[0]);
	f->base = event_base_new();
	for (unsigned tries = 0; tries < 50; tries++) {
		cfg.port = 20000 + (unsigned)((getpid() * 7 + tries * 131) % 30000);
		if (captive_new(f->base, &cfg, &f->cap) == 0)
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

	captive_free(f->cap);
	event_base_free(f->base);
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
