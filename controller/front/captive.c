#include "front/captive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define MAX_HEADERS (8 * 1024)
#define MAX_BODY (16 * 1024)
#define IDLE_TIMEOUT_S 10

struct captive {
	struct evhttp *http;
	unsigned port;
};

static const char page[] =
	"<!DOCTYPE html>\n"
	"<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	"<title>Waiting for approval</title></head>\n"
	"<body><h1>This device is waiting for approval</h1>\n"
	"<p>A member of staff has to approve this device before it can use the network.\n"
	"Staff phones and visitors: please join the guest Wi-Fi instead.</p>\n"
	"</body></html>\n";

/* The gateway address the request arrived on (the firewall's DNAT target). */
static int local_addr(struct evhttp_request *req, char *out, size_t size)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (!bev || getsockname(bufferevent_getfd(bev), (struct sockaddr *)&sin, &len) < 0 ||
	    sin.sin_family != AF_INET)
		return -EINVAL;
	return inet_ntop(AF_INET, &sin.sin_addr, out, (socklen_t)size) ? 0 : -EINVAL;
}

static void common_headers(struct evhttp_request *req, const char *type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'self'");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
}

static void on_request(struct evhttp_request *req, void *ud)
{
	struct captive *c = ud;
	struct evhttp_uri *uri = NULL;
	const char *host = evhttp_request_get_host(req);
	char gw[INET_ADDRSTRLEN], self[INET_ADDRSTRLEN + 8];
	struct evbuffer *body = evbuffer_new();

	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (local_addr(req, gw, sizeof(gw)) < 0) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		evbuffer_free(body);
		return;
	}
	snprintf(self, sizeof(self), "%s:%u", gw, c->port);
	uri = evhttp_uri_parse_with_flags(evhttp_request_get_uri(req), EVHTTP_URI_NONCONFORMANT);
	if (!uri) {
		evhttp_send_error(req, HTTP_BADREQUEST, NULL);
		evbuffer_free(body);
		return;
	}
	/* Asked for some other site (the firewall redirected it here), or for
	 * any path but "/": send the browser to the gateway's own page. Apple's,
	 * Android's, Windows' and Firefox's connectivity probes all land here,
	 * which is what makes them show their captive-portal sheet. */
	const char *path = evhttp_uri_get_path(uri);
	bool ours = host && (!strcmp(host, gw) || !strcmp(host, self));
	if (!ours || !path || strcmp(path, "/") != 0) {
		char loc[64];
		snprintf(loc, sizeof(loc), "http://%s/", self);
		common_headers(req, "text/html; charset=utf-8");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
		evbuffer_add_printf(body, "<!DOCTYPE html><title>Redirect</title><a href=\"%s\">Continue</a>\n", loc);
		evhttp_send_reply(req, 302, "Found", body);
	} else {
		common_headers(req, "text/html; charset=utf-8");
		evbuffer_add(body, page, sizeof(page) - 1);
		evhttp_send_reply(req, HTTP_OK, "OK", body);
	}
	evhttp_uri_free(uri);
	evbuffer_free(body);
}

/* IP_FREEBIND: on an access point the zone bridges may get their
 * addresses after apgated starts; the listener is ready either way. */
static int listen_on(struct captive *c, const struct in_addr *addr, unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = *addr, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0 ||
	    evhttp_accept_socket(c->http, fd) < 0) {
		int r = errno ? -errno : -EIO;
		close(fd);
		return r;
	}
	return 0;
}

int captive_new(struct event_base *base, const struct captive_cfg *cfg, struct captive **out)
{
	struct captive *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->port = cfg->port;
	c->http = evhttp_new(base);
	if (!c->http) {
		free(c);
		return -ENOMEM;
	}
	evhttp_set_max_headers_size(c->http, MAX_HEADERS);
	evhttp_set_max_body_size(c->http, MAX_BODY);
	evhttp_set_timeout(c->http, IDLE_TIMEOUT_S);
	evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	evhttp_set_gencb(c->http, on_request, c);
	for (unsigned i = 0; i < cfg->n_addrs; i++) {
		char ip[INET_ADDRSTRLEN];
		int r;

		inet_ntop(AF_INET, &cfg->addrs[i], ip, sizeof(ip));
		r = listen_on(c, &cfg->addrs[i], cfg->port);
		if (r < 0) {
			log_err("captive portal: cannot listen on %s:%u: %s", ip, cfg->port, strerror(-r));
			captive_free(c);
			return r;
		}
		log_info("captive portal listening on %s:%u", ip, cfg->port);
	}
	*out = c;
	return 0;
}

void captive_free(struct captive *c)
{
	if (!c)
		return;
	evhttp_free(c->http);
	free(c);
}
