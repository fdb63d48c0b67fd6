/* fuzz_http - libFuzzer target for HTTP requests as the portal receives
 * them: each input is the raw bytes a browser would send, written to a
 * real evhttp server (web_server_new(): the portal's limits and methods)
 * listening with web_listen() on 127.0.0.1 (a port the kernel picks), made
 * once in LLVMFuzzerInitialize. evhttp parses the request line, headers
 * and body; the handler then runs the portal's helpers on what it parsed:
 * web_path(), web_query(), web_lang_pick(), web_cookie(), web_form(),
 * web_peer()/web_local(), web_esc() of each value, and answers with
 * web_reply(). The client half-closes after the input and reads until
 * the server closes. (fuzz_web covers the same helpers on any bytes,
 * without evhttp's parser in front.) */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "front/web.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry points carry no user data: the server lives here. */
static struct {
	struct event_base *base;
	struct evhttp *http;
	struct sockaddr_in addr;
} srv;

static void esc_all(struct evbuffer *b, struct evkeyvalq *q)
{
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, q, next) {
		web_esc(b, kv->key, 0);
		web_esc(b, kv->value, 64);
	}
}

static void on_request(struct evhttp_request *req, void *ud)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq q;
	struct in_addr a;
	unsigned port;
	char path[256], c[64];

	(void)ud;
	if (!b)
		abort();
	if (web_path(req, path, sizeof(path)) == 0) {
		if (strlen(path) >= sizeof(path))
			abort();
		web_esc(b, path, 0);
	}
	if (web_query(req, &q) == 0) {
		esc_all(b, &q);
		evhttp_clear_headers(&q);
	}
	enum web_lang l = web_lang_pick(req);
	if ((int)l < 0 || l >= WEB_N_LANGS)
		abort();
	if (web_cookie(req, "apgate_session", c, sizeof(c)))
		web_esc(b, c, 0);
	if (web_form(req, &q) == 0) {
		esc_all(b, &q);
		evhttp_clear_headers(&q);
	}
	if (web_peer(req, &a) < 0 || web_local(req, &a, &port) < 0)
		abort(); /* a TCP connection always has both */
	web_reply(req, 200, "OK", "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

static void first_fd(struct evhttp_bound_socket *s, void *ud)
{
	*(int *)ud = evhttp_bound_socket_get_fd(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct in_addr lo = { htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(srv.addr);
	int fd = -1;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	log_open("fuzz_http", LOG_LVL_ERR, false);
	srv.base = event_base_new();
	srv.http = srv.base ? web_server_new(srv.base) : NULL;
	if (!srv.http || web_listen(srv.http, &lo, 0) < 0)
		abort();
	evhttp_set_gencb(srv.http, on_request, NULL);
	evhttp_foreach_bound_socket(srv.http, first_fd, &fd);
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&srv.addr, &alen) < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[1 << 16];
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	size_t off = 0;
	bool wr_done = false;
	long long deadline = util_mono_ms() + 5000;

	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&srv.addr, sizeof(srv.addr)) < 0 && errno != EINPROGRESS)
		abort();
	for (;;) {
		if (!wr_done) {
			ssize_t w = off < size ? write(fd, data + off, size - off) : 0;
			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != ENOTCONN)
				wr_done = true; /* the server closed early: fine */
			if (off == size && !wr_done) {
				shutdown(fd, SHUT_WR);
				wr_done = true;
			}
		}
		event_base_loop(srv.base, EVLOOP_NONBLOCK);
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != ENOTCONN))
			break; /* the server closed: the exchange is over */
		if (util_mono_ms() > deadline)
			break; /* an incomplete request: evhttp waits for more (the idle timeout is 15 s) */
	}
	close(fd);
	event_base_loop(srv.base, EVLOOP_NONBLOCK);
	return 0;
}
