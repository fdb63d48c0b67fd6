/* What both web faces share: escaping of hostile text, the language of a
 * request (real requests through evhttp on 127.0.0.1), the translation
 * files (the same keys in en and ja, every key the C code uses present),
 * and the static files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <fcntl.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front/web.h"
#include "log.h"
#include "util.h"

/* ---- web_esc ---- */

/* web_esc(s, max) as a string (static). */
static const char *esc(const char *s, size_t max)
{
	static char out[1024];
	struct evbuffer *b = evbuffer_new();
	size_t n;

	assert_non_null(b);
	web_esc(b, s, max);
	n = evbuffer_get_length(b);
	assert_true(n < sizeof(out));
	evbuffer_copyout(b, out, n);
	out[n] = '\0';
	evbuffer_free(b);
	return out;
}

#define FFFD "\xef\xbf\xbd"
#define ELLIPSIS "\xe2\x80\xa6"

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		if (!n || (n == 2 && *p < 0xc2) || (n == 4 && *p > 0xf4))
			return false;
		for (size_t i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
		    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
			return false;
		p += n;
	}
	return true;
}

static void test_esc_markup(void **state)
{
	(void)state;
	assert_string_equal(esc("plain text 123", 0), "plain text 123");
	assert_string_equal(esc("&", 0), "&amp;");
	assert_string_equal(esc("<", 0), "&lt;");
	assert_string_equal(esc(">", 0), "&gt;");
	assert_string_equal(esc("\"", 0), "&quot;");
	assert_string_equal(esc("'", 0), "&#39;");
	assert_string_equal(esc("<img src=x onerror=alert(1)>", 0), "&lt;img src=x onerror=alert(1)&gt;");
	assert_string_equal(esc("\"><script>alert('x')</script>", 0),
			    "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
	assert_string_equal(esc("a&amp;b", 0), "a&amp;amp;b"); /* no double meaning */
	assert_string_equal(esc("", 0), "");
	assert_string_equal(esc(NULL, 0), "");
}

static void test_esc_control_and_utf8(void **state)
{
	(void)state;
	/* control characters never reach the page as such */
	assert_string_equal(esc("a\x01" "b", 0), "a" FFFD "b");
	assert_string_equal(esc("a\x1b[31mb", 0), "a" FFFD "[31mb");
	assert_string_equal(esc("a\x7f" "b", 0), "a" FFFD "b");
	assert_string_equal(esc("a\r\nb", 0), "a" FFFD " b");
	assert_string_equal(esc("a\tb", 0), "a b");
	/* invalid UTF-8 becomes U+FFFD */
	assert_string_equal(esc("a\xff" "b", 0), "a" FFFD "b");
	assert_string_equal(esc("\xc0\xbc", 0), FFFD FFFD);          /* overlong '<' */
	assert_string_equal(esc("\xe0\x80\xbc", 0), FFFD FFFD FFFD); /* overlong '<' */
	assert_string_equal(esc("\xed\xa0\x80", 0), FFFD FFFD FFFD); /* a surrogate */
	assert_string_equal(esc("\xf4\x90\x80\x80", 0), FFFD FFFD FFFD FFFD); /* past U+10FFFF */
	assert_string_equal(esc("ab\xe3\x81", 0), "ab" FFFD FFFD);   /* cut short */
	assert_string_equal(esc("\x80x", 0), FFFD "x");              /* lone continuation */
	/* valid UTF-8 is kept: Japanese, accents, emoji */
	assert_string_equal(esc("受付のパソコン", 0), "受付のパソコン");
	assert_string_equal(esc("K\xc3\xb6hler", 0), "K\xc3\xb6hler");
	assert_string_equal(esc("\xf0\x9f\x93\xb1 phone", 0), "\xf0\x9f\x93\xb1 phone");
	assert_string_equal(esc("田中<さん>", 0), "田中&lt;さん&gt;");
	assert_true(valid_utf8(esc("\xff\xfe<\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc", 0)));
}

static void test_esc_max(void **state)
{
	(void)state;
	assert_string_equal(esc("abcdef", 3), "abc" ELLIPSIS);
	assert_string_equal(esc("abcdef", 6), "abcdef");     /* fits: no ellipsis */
	assert_string_equal(esc("abcdef", 100), "abcdef");
	assert_string_equal(esc("<<<<", 2), "&lt;&lt;" ELLIPSIS); /* max counts input bytes */
	assert_string_equal(esc("受付のパソコン", 6), "受付" ELLIPSIS);
	/* a cut inside a character still gives valid UTF-8 */
	assert_true(valid_utf8(esc("受付のパソコン", 7)));
	/* cut inside a character: that character goes, no U+FFFD */
	assert_string_equal(esc("受付のパソコン", 7), "受付" ELLIPSIS);
	assert_string_equal(esc("受付のパソコン", 8), "受付" ELLIPSIS);
}

/* ---- a real server for requests ---- */

struct srv {
	struct event_base *base;
	struct evhttp *http;
	struct web_assets *assets;
	unsigned port;
};

static void on_request(struct evhttp_request *req, void *ud)
{
	struct srv *s = ud;
	char path[256];

	if (web_path(req, path, sizeof(path)) < 0) {
		web_error(req, 400, "Bad Request");
	} else if (!strcmp(path, "/lang")) {
		struct evbuffer *b = evbuffer_new();
		evbuffer_add_printf(b, "%s", web_lang_code(web_lang_pick(req)));
		web_reply(req, 200, "OK", "text/plain", b);
		evbuffer_free(b);
	} else if (!strncmp(path, "/static/", 8)) {
		if (!web_assets_serve(s->assets, req, path + 8))
			web_error(req, 404, "Not Found");
	} else {
		web_error(req, 404, "Not Found");
	}
}

static int srv_setup(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct in_addr lo;

	log_open("test_web", LOG_LVL_ERR, false);
	inet_pton(AF_INET, "127.0.0.1", &lo);
	s->base = event_base_new();
	s->http = web_server_new(s->base);
	if (!s->http)
		return -1;
	evhttp_set_gencb(s->http, on_request, s);
	for (unsigned tries = 0; tries < 50; tries++) {
		unsigned port = 20000 + (unsigned)((getpid() * 11 + tries * 137) % 30000);
		if (web_listen(s->http, &lo, port) == 0) {
			s->port = port;
			break;
		}
	}
	if (!s->port)
		return -1;
	*state = s;
	return 0;
}

static int srv_teardown(void **state)
{
	struct srv *s = *state;

	evhttp_free(s->http);
	event_base_free(s->base);
	web_assets_free(s->assets);
	free(s);
	return 0;
}

/* Sends a GET with extra header lines; the answer (static) once the server
 * closed (Connection: close). */
static const char *get(struct srv *s, const char *path, const char *extra)
{
	static char buf[65536];
	char req[2048];
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t got = 0, sent = 0, len;
	long long deadline = util_mono_ms() + 5000;

	len = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n",
			       path, extra ? extra : "");
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		if (sent < len) {
			ssize_t w = write(fd, req + sent, len - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		event_base_loop(s->base, EVLOOP_NONBLOCK);
		ssize_t r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r == 0 || (r < 0 && errno != EAGAIN))
			break;
		if (r > 0)
			got += (size_t)r;
		assert_true(util_mono_ms() < deadline);
	}
	close(fd);
	buf[got] = '\0';
	return buf;
}

static const char *body_of(const char *r)
{
	const char *e = strstr(r, "\r\n\r\n");

	assert_non_null(e);
	return e + 4;
}

static const char *lang(struct srv *s, const char *path, const char *extra)
{
	const char *r = get(s, path, extra);

	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	return body_of(r);
}

static void test_lang_pick(void **state)
{
	struct srv *s = *state;
	const char *r;

	/* nothing said: English */
	assert_string_equal(lang(s, "/lang", NULL), "en");
	assert_string_equal(lang(s, "/lang", "Accept-Language: fr, de;q=0.8\r\n"), "en");
	/* q=0: not acceptable */
	assert_string_equal(lang(s, "/lang", "Accept-Language: ja;q=0\r\n"), "en");
	assert_string_equal(lang(s, "/lang", "Accept-Language: ja;q=0, en;q=0.1\r\n"), "en");
	/* Accept-Language with q-values and region tags */
	assert_string_equal(lang(s, "/lang", "Accept-Language: ja\r\n"), "ja");
	assert_string_equal(lang(s, "/lang", "Accept-Language: ja,en;q=0.5\r\n"), "ja");
	assert_string_equal(lang(s, "/lang", "Accept-Language: ja-JP\r\n"), "ja");
	assert_string_equal(lang(s, "/lang", "Accept-Language: ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7\r\n"), "ja");
	assert_string_equal(lang(s, "/lang", "Accept-Language: en-US,en;q=0.9,ja;q=0.8\r\n"), "en");
	assert_string_equal(lang(s, "/lang", "Accept-Language: en;q=0.4, ja;q=0.8\r\n"), "ja");
	assert_string_equal(lang(s, "/lang", "Accept-Language: fr-FR, fr;q=0.9, ja;q=0.5, en;q=0.3\r\n"), "ja");
	assert_string_equal(lang(s, "/lang", "Accept-Language: de, en-GB;q=0.2, ja-JP;q=0.1\r\n"), "en");
	assert_string_equal(lang(s, "/lang", "Accept-Language: JA-jp\r\n"), "ja");
	assert_string_equal(lang(s, "/lang", "Accept-Language: jav, ja-\r\n"), "ja");
	/* the cookie beats the header */
	assert_string_equal(lang(s, "/lang", "Accept-Language: ja\r\nCookie: lang=en\r\n"), "en");
	assert_string_equal(lang(s, "/lang", "Cookie: theme=dark; lang=ja; x=1\r\n"), "ja");
	assert_string_equal(lang(s, "/lang", "Cookie: xlang=ja\r\n"), "en");
	assert_string_equal(lang(s, "/lang", "Cookie: lang=fr\r\nAccept-Language: ja\r\n"), "ja");
	/* ?lang= beats both and is set as a cookie */
	r = get(s, "/lang?lang=ja", "Accept-Language: en\r\nCookie: lang=en\r\n");
	assert_string_equal(body_of(r), "ja");
	assert_non_null(strstr(r, "\r\nSet-Cookie: lang=ja;"));
	assert_non_null(strstr(r, "Path=/"));
	r = get(s, "/lang?x=1&lang=en", "Accept-Language: ja\r\n");
	assert_string_equal(body_of(r), "en");
	assert_non_null(strstr(r, "\r\nSet-Cookie: lang=en;"));
	/* an unknown ?lang= sets nothing */
	r = get(s, "/lang?lang=xx", "Accept-Language: ja\r\n");
	assert_string_equal(body_of(r), "ja");
	assert_null(strstr(r, "Set-Cookie"));
	r = get(s, "/lang", "Accept-Language: ja\r\n");
	assert_null(strstr(r, "Set-Cookie"));
}

static void test_headers(void **state)
{
	struct srv *s = *state;
	const char *r = get(s, "/lang", NULL);

	assert_non_null(strstr(r, "\r\nContent-Security-Policy: "));
	assert_non_null(strstr(r, "script-src 'self'"));
	assert_null(strstr(r, "unsafe-inline"));
	assert_non_null(strstr(r, "\r\nX-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strstr(r, "\r\nCache-Control: no-store\r\n"));
	r = get(s, "/<script>", NULL);
	assert_non_null(strstr(r, "HTTP/1.1 404"));
	assert_null(strstr(r, "<script>"));
}

/* ---- static files ---- */

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_assets(void **state)
{
	struct srv *s = *state;
	struct web_assets *a = (struct web_assets *)1;
	char dir[] = "/tmp/apgate-web-XXXXXX", cmd[128];
	const char *r;

	assert_int_equal(web_assets_load("/nonexistent/apgate-portal-static", &a), -ENOENT);
	assert_ptr_equal(a, (struct web_assets *)1); /* untouched */

	assert_non_null(mkdtemp(dir));
	write_file(dir, "site.css", "body { color: red }\n");
	write_file(dir, "app.js", "console.log(1);\n");
	write_file(dir, "logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
	write_file(dir, "notes.md", "not served\n");
	write_file(dir, ".hidden.css", "hidden\n");
	assert_int_equal(web_assets_load(dir, &s->assets), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0); /* read once at start-up */

	r = get(s, "/static/site.css", NULL);
	assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(r, "\r\nContent-Type: text/css; charset=utf-8\r\n"));
	assert_non_null(strstr(r, "\r\nCache-Control: max-age=604800\r\n"));
	assert_null(strstr(r, "no-store"));
	assert_non_null(strstr(r, "\r\nContent-Security-Policy: "));
	assert_string_equal(body_of(r), "body { color: red }\n");
	r = get(s, "/static/app.js", NULL);
	assert_non_null(strstr(r, "\r\nContent-Type: text/javascript; charset=utf-8\r\n"));
	assert_string_equal(body_of(r), "console.log(1);\n");
	r = get(s, "/static/logo.svg", NULL);
	assert_non_null(strstr(r, "\r\nContent-Type: image/svg+xml\r\n"));
	/* unknown types, hidden files, paths and missing files: nothing */
	assert_non_null(strstr(get(s, "/static/notes.md", NULL), "HTTP/1.1 404"));
	assert_non_null(strstr(get(s, "/static/.hidden.css", NULL), "HTTP/1.1 404"));
	assert_non_null(strstr(get(s, "/static/../site.css", NULL), "HTTP/1.1 404"));
	assert_non_null(strstr(get(s, "/static/missing.css", NULL), "HTTP/1.1 404"));

	/* the real folder loads */
	struct web_assets *real = NULL;
	assert_int_equal(web_assets_load("portal/static", &real), 0);
	web_assets_free(real);
}

/* ---- translations ---- */

static json_t *load_json(const char *path)
{
	json_error_t err;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);

	if (!j)
		fail_msg("%s:%d: %s", path, err.line, err.text);
	assert_true(json_is_object(j));
	return j;
}

static void test_i18n_same_keys(void **state)
{
	json_t *en = load_json("portal/i18n/en.json"), *ja = load_json("portal/i18n/ja.json");
	const char *key;
	json_t *v;
	unsigned missing = 0;

	(void)state;
	assert_true(json_object_size(en) > 50);
	json_object_foreach(en, key, v) {
		assert_true(json_is_string(v));
		assert_true(json_string_length(v) > 0);
		if (!json_is_string(json_object_get(ja, key))) {
			print_error("ja.json lacks \"%s\"\n", key);
			missing++;
		}
	}
	json_object_foreach(ja, key, v) {
		assert_true(json_is_string(v));
		if (!json_object_get(en, key)) {
			print_error("en.json lacks \"%s\" (in ja.json)\n", key);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
	assert_int_equal(json_object_size(en), json_object_size(ja));
	json_decref(en);
	json_decref(ja);
}

/* The string literals of a C file, with comments and character constants
 * skipped; cb gets each literal's raw text (escapes left as written). */
static void c_strings(const char *text, void (*cb)(const char *lit, size_t len, void *ud), void *ud)
{
	const char *p = text;

	while (*p) {
		if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");
			p = e ? e + 2 : p + strlen(p);
		} else if (p[0] == '/' && p[1] == '/') {
			while (*p && *p != '\n')
				p++;
		} else if (*p == '\'' || *p == '"') {
			char q = *p++;
			const char *start = p;
			while (*p && *p != q) {
				if (*p == '\\' && p[1])
					p++;
				p++;
			}
			if (q == '"')
				cb(start, (size_t)(p - start), ud);
			if (*p)
				p++;
		} else {
			p++;
		}
	}
}

struct scan {
	regex_t re;
	json_t *en;
	const char *file;
	unsigned found, missing;
};

static void check_literal(const char *lit, size_t len, void *ud)
{
	struct scan *sc = ud;
	char s[128];

	if (len >= sizeof(s))
		return;
	memcpy(s, lit, len);
	s[len] = '\0';
	if (regexec(&sc->re, s, 0, NULL, 0) != 0)
		return;
	sc->found++;
	if (!json_is_string(json_object_get(sc->en, s))) {
		print_error("%s: \"%s\" is not in portal/i18n/en.json\n", sc->file, s);
		sc->missing++;
	}
}

static void test_i18n_keys_used_exist(void **state)
{
	struct scan sc = { .en = load_json("portal/i18n/en.json") };
	DIR *d = opendir("controller/front");
	struct dirent *de;
	unsigned files = 0;

	(void)state;
	assert_non_null(d);
	assert_int_equal(regcomp(&sc.re, "^(captive|staff|type|zone|state|role)\\.[a-z_.]+$", REG_EXTENDED | REG_NOSUB), 0);
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[512];
		if (n < 3 || strcmp(de->d_name + n - 2, ".c") != 0)
			continue;
		snprintf(path, sizeof(path), "controller/front/%s", de->d_name);
		FILE *f = fopen(path, "r");
		assert_non_null(f);
		struct stat st;
		assert_int_equal(fstat(fileno(f), &st), 0);
		char *text = calloc(1, (size_t)st.st_size + 1);
		assert_int_equal(fread(text, 1, (size_t)st.st_size, f), (size_t)st.st_size);
		fclose(f);
		sc.file = path;
		c_strings(text, check_literal, &sc);
		free(text);
		files++;
	}
	closedir(d);
	regfree(&sc.re);
	json_decref(sc.en);
	assert_true(files >= 3);
	assert_true(sc.found >= 50); /* the scan sees the pages' keys at all */
	assert_int_equal(sc.missing, 0);
}

static void test_i18n_load_and_fallback(void **state)
{
	struct web_i18n *t = NULL;
	char dir[] = "/tmp/apgate-i18n-XXXXXX", cmd[128];
	enum web_lang l;

	(void)state;
	assert_int_equal(web_i18n_load("portal/i18n", &t), 0);
	assert_string_equal(web_t(t, WEB_LANG_EN, "captive.title"), "Waiting for approval");
	assert_string_not_equal(web_t(t, WEB_LANG_JA, "captive.title"), "Waiting for approval");
	web_i18n_free(t);

	assert_non_null(mkdtemp(dir));
	write_file(dir, "en.json", "{\"a.b\": \"A\", \"c.d\": \"C\"}");
	write_file(dir, "ja.json", "{\"a.b\": \"\xe3\x81\x82\"}");
	assert_int_equal(web_i18n_load(dir, &t), 0);
	assert_string_equal(web_t(t, WEB_LANG_JA, "a.b"), "\xe3\x81\x82");
	assert_string_equal(web_t(t, WEB_LANG_JA, "c.d"), "C");          /* English fallback */
	assert_string_equal(web_t(t, WEB_LANG_EN, "no.such"), "no.such"); /* the key itself */
	web_i18n_free(t);
	/* broken files are refused */
	t = NULL;
	write_file(dir, "ja.json", "{\"a.b\": ");
	assert_int_equal(web_i18n_load(dir, &t), -EINVAL);
	write_file(dir, "ja.json", "{\"a.b\": 1}");
	assert_int_equal(web_i18n_load(dir, &t), -EINVAL);
	write_file(dir, "ja.json", "[\"a.b\"]");
	assert_int_equal(web_i18n_load(dir, &t), -EINVAL);
	write_file(dir, "ja.json", "{\"a.b\": \"x\", \"a.b\": \"y\"}");
	assert_int_equal(web_i18n_load(dir, &t), -EINVAL);
	assert_null(t);
	snprintf(cmd, sizeof(cmd), "rm -f '%s/en.json'", dir);
	assert_int_equal(system(cmd), 0);
	write_file(dir, "ja.json", "{}");
	assert_int_equal(web_i18n_load(dir, &t), -EINVAL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);

	assert_int_equal(web_lang_parse("ja", &l), 0);
	assert_int_equal(l, WEB_LANG_JA);
	assert_int_equal(web_lang_parse("EN", &l), 0);
	assert_int_equal(l, WEB_LANG_EN);
	assert_int_equal(web_lang_parse("jp", &l), -EINVAL);
	assert_int_equal(web_lang_parse(NULL, &l), -EINVAL);
	assert_string_equal(web_lang_code(WEB_LANG_JA), "ja");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esc_markup),
		cmocka_unit_test(test_esc_control_and_utf8),
		cmocka_unit_test(test_esc_max),
		cmocka_unit_test_setup_teardown(test_lang_pick, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_headers, srv_setup, srv_teardown),
		cmocka_unit_test_setup_teardown(test_assets, srv_setup, srv_teardown),
		cmocka_unit_test(test_i18n_same_keys),
		cmocka_unit_test(test_i18n_keys_used_exist),
		cmocka_unit_test(test_i18n_load_and_fallback),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("web", tests, NULL, NULL);
}
