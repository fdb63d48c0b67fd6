#include "front/web.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* ---- servers ---- */

struct evhttp *web_server_new(struct event_base *base)
{
	struct evhttp *http = evhttp_new(base);

	if (!http)
		return NULL;
	evhttp_set_max_headers_size(http, WEB_MAX_HEADERS);
	evhttp_set_max_body_size(http, WEB_MAX_BODY);
	evhttp_set_timeout(http, WEB_IDLE_TIMEOUT_S);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
	return http;
}

int web_listen(struct evhttp *http, const struct in_addr *addr, unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = *addr, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* TCP_NODELAY (inherited by accepted sockets): evhttp writes the head
	 * and the body of an answer separately, and TLS cuts records; with
	 * Nagle the last piece waits for the peer's delayed ACK (40 ms). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 256) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	if (!evhttp_accept_socket_with_handle(http, fd)) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

/* ---- answers ---- */

void web_headers(struct evhttp_request *req, const char *type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Security-Policy", WEB_CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
}

void web_reply(struct evhttp_request *req, int code, const char *reason, const char *type,
	       struct evbuffer *body)
{
	web_headers(req, type);
	evhttp_send_reply(req, code, reason, body);
}

void web_redirect(struct evhttp_request *req, int code, const char *location)
{
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
	if (b) {
		evbuffer_add_printf(b, "<!DOCTYPE html><title>Redirect</title><a href=\"");
		web_esc(b, location, 0);
		evbuffer_add_printf(b, "\">Continue</a>\n");
	}
	web_reply(req, code, code == 301 ? "Moved Permanently" : code == 303 ? "See Other" : "Found",
		  "text/html; charset=utf-8", b);
	if (b)
		evbuffer_free(b);
}

void web_error(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b) {
		evbuffer_add_printf(b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%d</title>"
				       "<link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main><h1>%d</h1><p>",
				    code, code);
		web_esc(b, text, 0);
		evbuffer_add_printf(b, "</p></main></body></html>\n");
	}
	web_reply(req, code, text, "text/html; charset=utf-8", b);
	if (b)
		evbuffer_free(b);
}

/* ---- escaping ---- */

void web_esc(struct evbuffer *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len, i = 0, run = 0;

	if (!s)
		return;
	len = strlen(s);
	bool cut = max && len > max;
	if (cut) {
		/* cut at a character boundary: drop a partial UTF-8 sequence */
		len = max;
		while (len > 0 && (p[len] & 0xc0) == 0x80)
			len--;
	}
	while (i < len) {
		const char *rep = NULL;
		size_t n = 1;
		switch (p[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if (p[i] < 0x20 || p[i] == 0x7f) {
				rep = p[i] == '\n' || p[i] == '\t' ? " " : "\xef\xbf\xbd";
			} else if (p[i] >= 0x80) {
				n = util_utf8_len(p + i, len - i);
				if (!n) {
					rep = "\xef\xbf\xbd";
					n = 1;
				}
			}
		}
		if (rep) {
			if (run)
				evbuffer_add(b, p + i - run, run);
			run = 0;
			evbuffer_add(b, rep, strlen(rep));
		} else {
			run += n;
		}
		i += n;
	}
	if (run)
		evbuffer_add(b, p + i - run, run);
	if (cut)
		evbuffer_add(b, "\xe2\x80\xa6", 3);
}

/* ---- request details ---- */

static int sock_addr(struct evhttp_request *req, bool local, struct in_addr *out, unsigned *port)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = bev ? bufferevent_getfd(bev) : -1;

	if (fd < 0 || (local ? getsockname(fd, (struct sockaddr *)&sin, &len)
			     : getpeername(fd, (struct sockaddr *)&sin, &len)) < 0 ||
	    sin.sin_family != AF_INET)
		return -EINVAL;
	*out = sin.sin_addr;
	if (port)
		*port = ntohs(sin.sin_port);
	return 0;
}

int web_peer(struct evhttp_request *req, struct in_addr *out)
{
	return sock_addr(req, false, out, NULL);
}

int web_local(struct evhttp_request *req, struct in_addr *out, unsigned *port)
{
	return sock_addr(req, true, out, port);
}

bool web_cookie(struct evhttp_request *req, const char *name, char *out, size_t size)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
	size_t nl = strlen(name);

	while (h && *h) {
		while (*h == ' ' || *h == ';')
			h++;
		const char *end = strchr(h, ';');
		size_t len = end ? (size_t)(end - h) : strlen(h);
		if (len > nl && !strncmp(h, name, nl) && h[nl] == '=') {
			size_t vl = len - nl - 1;
			if (vl >= size)
				return false;
			memcpy(out, h + nl + 1, vl);
			out[vl] = '\0';
			return true;
		}
		h = end;
	}
	return false;
}

int web_form(struct evhttp_request *req, struct evkeyvalq *out)
{
	const char *type = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body;
	int r;

	TAILQ_INIT(out);
	if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 || len > WEB_MAX_BODY)
		return -EINVAL;
	body = malloc(len + 1);
	if (!body)
		return -ENOMEM;
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	r = strlen(body) == len && evhttp_parse_query_str(body, out) == 0 ? 0 : -EINVAL;
	free(body);
	if (r < 0)
		evhttp_clear_headers(out);
	return r;
}

int web_query(struct evhttp_request *req, struct evkeyvalq *out)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *q = u ? evhttp_uri_get_query(u) : NULL;

	TAILQ_INIT(out);
	if (!q)
		return 0;
	if (evhttp_parse_query_str(q, out) < 0) {
		evhttp_clear_headers(out);
		return -EINVAL;
	}
	return 0;
}

int web_path(struct evhttp_request *req, char *out, size_t size)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *p = u ? evhttp_uri_get_path(u) : NULL;
	size_t n = 0;
	char *dec;

	if (!p || !*p)
		p = "/";
	dec = evhttp_uridecode(p, 0, &n);
	if (!dec)
		return -EINVAL;
	if (n >= size || strlen(dec) != n) {
		free(dec);
		return -EINVAL;
	}
	memcpy(out, dec, n + 1);
	free(dec);
	return 0;
}

/* ---- static files ---- */

#define MAX_ASSETS 64
#define MAX_ASSET_SIZE (1024 * 1024)

struct asset {
	char name[64];
	const char *type;
	char *data;
	size_t len;
};

struct web_assets {
	struct asset a[MAX_ASSETS];
	unsigned n;
};

static const char *type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".css", "text/css; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
		{ ".svg", "image/svg+xml" },          { ".png", "image/png" },
		{ ".ico", "image/x-icon" },           { ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return NULL;
}

static int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) < 0 || st.st_size > MAX_ASSET_SIZE) {
		fclose(f);
		return -EFBIG;
	}
	*data = malloc((size_t)st.st_size + 1);
	if (!*data) {
		fclose(f);
		return -ENOMEM;
	}
	*len = fread(*data, 1, (size_t)st.st_size, f);
	(*data)[*len] = '\0';
	fclose(f);
	return 0;
}

int web_assets_load(const char *dir, struct web_assets **out)
{
	struct web_assets *a = calloc(1, sizeof(*a));
	DIR *dh;
	struct dirent *de;
	int r = 0;

	if (!a)
		return -ENOMEM;
	dh = opendir(dir);
	if (!dh) {
		r = -errno;
		free(a);
		return r;
	}
	while ((de = readdir(dh)) && a->n < MAX_ASSETS) {
		char path[4096];
		struct asset *x = &a->a[a->n];
		const char *type = type_of(de->d_name);
		if (de->d_name[0] == '.' || !type || strlen(de->d_name) >= sizeof(x->name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		r = read_file(path, &x->data, &x->len);
		if (r < 0) {
			log_err("portal: cannot read %s: %s", path, strerror(-r));
			break;
		}
		util_strlcpy(x->name, de->d_name, sizeof(x->name));
		x->type = type;
		a->n++;
	}
	closedir(dh);
	if (r < 0) {
		web_assets_free(a);
		return r;
	}
	*out = a;
	return 0;
}

void web_assets_free(struct web_assets *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->n; i++)
		free(a->a[i].data);
	free(a);
}

bool web_assets_serve(const struct web_assets *a, struct evhttp_request *req, const char *name)
{
	for (unsigned i = 0; a && i < a->n; i++) {
		if (strcmp(a->a[i].name, name) != 0)
			continue;
		struct evbuffer *b = evbuffer_new();
		if (!b)
			return false;
		evbuffer_add_reference(b, a->a[i].data, a->a[i].len, NULL, NULL);
		web_headers(req, a->a[i].type);
		evhttp_remove_header(evhttp_request_get_output_headers(req), "Cache-Control");
		evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "max-age=604800");
		evhttp_send_reply(req, HTTP_OK, "OK", b);
		evbuffer_free(b);
		return true;
	}
	return false;
}

/* ---- translations ---- */

static const char *const lang_codes[WEB_N_LANGS] = { "en", "ja" };

struct web_i18n {
	json_t *t[WEB_N_LANGS];
};

const char *web_lang_code(enum web_lang l)
{
	return l < WEB_N_LANGS ? lang_codes[l] : "en";
}

int web_lang_parse(const char *s, enum web_lang *out)
{
	for (int i = 0; s && i < WEB_N_LANGS; i++)
		if (!strcasecmp(s, lang_codes[i])) {
			*out = (enum web_lang)i;
			return 0;
		}
	return -EINVAL;
}

int web_i18n_load(const char *dir, struct web_i18n **out)
{
	struct web_i18n *t = calloc(1, sizeof(*t));
	int r = 0;

	if (!t)
		return -ENOMEM;
	for (int i = 0; i < WEB_N_LANGS; i++) {
		char path[4096];
		json_error_t err;
		const char *key;
		json_t *v;
		snprintf(path, sizeof(path), "%s/%s.json", dir, lang_codes[i]);
		t->t[i] = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
		if (!t->t[i] || !json_is_object(t->t[i])) {
			log_err("portal: %s:%d: %s", path, err.line, t->t[i] ? "not a JSON object" : err.text);
			r = -EINVAL;
			break;
		}
		json_object_foreach(t->t[i], key, v)
			if (!json_is_string(v)) {
				log_err("portal: %s: \"%s\" is not a string", path, key);
				r = -EINVAL;
			}
	}
	if (r < 0) {
		web_i18n_free(t);
		return r;
	}
	*out = t;
	return 0;
}

void web_i18n_free(struct web_i18n *t)
{
	if (!t)
		return;
	for (int i = 0; i < WEB_N_LANGS; i++)
		json_decref(t->t[i]);
	free(t);
}

const char *web_t(const struct web_i18n *t, enum web_lang lang, const char *key)
{
	const char *s = NULL;

	if (t && lang < WEB_N_LANGS)
		s = json_string_value(json_object_get(t->t[lang], key));
	if (!s && t)
		s = json_string_value(json_object_get(t->t[WEB_LANG_EN], key));
	if (!s)
		log_debug("portal: no translation for \"%s\"", key);
	return s ? s : key;
}

/* The best language of an Accept-Language header ("ja-JP,ja;q=0.9,en;q=0.8"). */
static enum web_lang accept_language(const char *h)
{
	enum web_lang best = WEB_LANG_EN;
	double best_q = -1;

	while (h && *h) {
		const char *end = strchr(h, ',');
		size_t len = end ? (size_t)(end - h) : strlen(h);
		char item[64];
		if (len < sizeof(item)) {
			memcpy(item, h, len);
			item[len] = '\0';
			char *semi = strchr(item, ';'), *tag = item;
			double q = 1.0;
			if (semi) {
				*semi = '\0';
				char *qp = strstr(semi + 1, "q=");
				if (qp)
					q = strtod(qp + 2, NULL);
			}
			while (*tag == ' ')
				tag++;
			char *dash = strchr(tag, '-');
			if (dash)
				*dash = '\0';
			for (char *e = tag + strlen(tag); e > tag && e[-1] == ' ';)
				*--e = '\0';
			enum web_lang l;
			/* q=0 means "not acceptable" (RFC 9110 12.4.2) */
			if (q > 0 && q > best_q && web_lang_parse(tag, &l) == 0) {
				best = l;
				best_q = q;
			}
		}
		h = end ? end + 1 : NULL;
	}
	return best;
}

enum web_lang web_lang_pick(struct evhttp_request *req)
{
	struct evkeyvalq q;
	enum web_lang l;
	char c[8];

	if (web_query(req, &q) == 0) {
		int r = web_lang_parse(evhttp_find_header(&q, "lang"), &l);
		evhttp_clear_headers(&q);
		if (r == 0) {
			char hdr[64];
			snprintf(hdr, sizeof(hdr), "lang=%s; Path=/; Max-Age=31536000; SameSite=Lax", lang_codes[l]);
			evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", hdr);
			return l;
		}
	}
	if (web_cookie(req, "lang", c, sizeof(c)) && web_lang_parse(c, &l) == 0)
		return l;
	return accept_language(evhttp_find_header(evhttp_request_get_input_headers(req), "Accept-Language"));
}
