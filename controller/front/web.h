/* web.h - what both web faces (captive.c, staff.c) share on top of
 * libevent's evhttp: bounded servers and listeners, security headers,
 * escaping, forms and cookies, the files of portal/static and the
 * translations of portal/i18n.
 *
 * Everything that came from a device or a person goes through web_esc()
 * before it is written into a page.
 */
#ifndef APGATE_WEB_H
#define APGATE_WEB_H

#include <event2/http.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct evbuffer;
struct event_base;

/* Request limits of every web server: request line and headers, body,
 * idle connections. */
#define WEB_MAX_HEADERS (8 * 1024)
#define WEB_MAX_BODY (16 * 1024)
#define WEB_IDLE_TIMEOUT_S 15

/* A new evhttp on base with the limits above and only GET, HEAD and POST
 * allowed (others: 405). NULL on allocation failure. */
struct evhttp *web_server_new(struct event_base *base);
/* Listens on addr:port (IP_FREEBIND: the zone bridges may get their
 * addresses after apgated starts). 0 or -errno. */
int web_listen(struct evhttp *http, const struct in_addr *addr, unsigned port);

/* The Content-Security-Policy of every answer: scripts and styles only
 * from the portal itself, never inline. */
#define WEB_CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

/* Content-Type plus the headers every answer carries: no caching, a
 * Content-Security-Policy without inline scripts (script-src 'self'),
 * nosniff, no referrer, no framing. */
void web_headers(struct evhttp_request *req, const char *type);
/* Sends body (may be NULL) with web_headers(type). */
void web_reply(struct evhttp_request *req, int code, const char *reason, const char *type,
	       struct evbuffer *body);
/* A redirect with a small HTML body; location is escaped in the body. */
void web_redirect(struct evhttp_request *req, int code, const char *location);
/* A plain error page with the status line's text. */
void web_error(struct evhttp_request *req, int code, const char *text);

/* Appends s HTML-escaped (& < > " ' and control characters) and with
 * invalid UTF-8 replaced by U+FFFD: safe in text and in quoted attributes.
 * NULL appends nothing. At most max bytes of s are used (0 = all); a cut
 * string ends with an ellipsis. */
void web_esc(struct evbuffer *b, const char *s, size_t max);

/* The address the connection came from / arrived at. 0 or -EINVAL. */
int web_peer(struct evhttp_request *req, struct in_addr *out);
int web_local(struct evhttp_request *req, struct in_addr *out, unsigned *port);

/* The value of cookie name (at most size-1 bytes, else not found) into
 * out; false when absent. */
bool web_cookie(struct evhttp_request *req, const char *name, char *out, size_t size);
/* Parses an application/x-www-form-urlencoded body (POST) into out (free
 * with evhttp_clear_headers()). -EINVAL for another content type or a body
 * that does not parse. */
int web_form(struct evhttp_request *req, struct evkeyvalq *out);
/* Parses the query of the request URI into out (freed likewise); 0 or -EINVAL. */
int web_query(struct evhttp_request *req, struct evkeyvalq *out);
/* The path of the request URI, decoded, into out; -EINVAL if none or too long. */
int web_path(struct evhttp_request *req, char *out, size_t size);

/* ---- the files of portal/static, read once at start-up ---- */
struct web_assets;
/* Reads every regular file of dir (not recursive, at most 64, 1 MiB each);
 * its type from the extension (.css .js .svg .png .ico .txt). *out is
 * freed with web_assets_free(). -ENOENT when dir does not exist. */
int web_assets_load(const char *dir, struct web_assets **out);
void web_assets_free(struct web_assets *a);
/* Serves name (a file name, no '/') with a week of caching; false when
 * there is no such file (nothing sent). */
bool web_assets_serve(const struct web_assets *a, struct evhttp_request *req, const char *name);

/* ---- translations: portal/i18n/<lang>.json, {"key": "text"} ---- */
enum web_lang { WEB_LANG_EN = 0, WEB_LANG_JA, WEB_N_LANGS };
struct web_i18n;
/* Reads en.json (required) and ja.json from dir. Each problem (missing
 * file, bad JSON, a value that is not a string) is logged with the file and
 * gives -EINVAL. */
int web_i18n_load(const char *dir, struct web_i18n **out);
void web_i18n_free(struct web_i18n *t);
/* The text of key in lang; English when lang lacks it; the key itself when
 * both lack it (logged once at warn). Owned by t. */
const char *web_t(const struct web_i18n *t, enum web_lang lang, const char *key);
/* "en", "ja"; and back (-EINVAL for anything else). */
const char *web_lang_code(enum web_lang l);
int web_lang_parse(const char *s, enum web_lang *out);
/* The language for a request: ?lang= (then also set as a cookie on the
 * answer), else the "lang" cookie, else the best Accept-Language match
 * (q-values honoured), else English. */
enum web_lang web_lang_pick(struct evhttp_request *req);

#endif
