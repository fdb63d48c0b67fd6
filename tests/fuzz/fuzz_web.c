/* fuzz_web - libFuzzer target for the portal's HTTP helpers
 * (controller/front/web.c). One input is up to five NUL-separated parts:
 *
 *   TEXT \0 COOKIE \0 ACCEPT-LANGUAGE \0 CONTENT-TYPE \0 BODY...
 *
 * TEXT goes through web_esc() (whole, and cut at a length from its first
 * byte), and its output must be valid UTF-8 without control characters
 * or a raw < > " ' (an & only starting an entity). The middle parts
 * become request headers of an evhttp request made with
 * evhttp_request_new() (a value evhttp refuses is left out, as it would
 * be on the wire); BODY (which may hold NULs) is
 * the request's body for web_form(). web_cookie() and web_lang_pick() read
 * the headers. The path and query helpers need a URI only evhttp's own
 * request parser sets, so they are not reached here. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front/web.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_web", LOG_LVL_ERR, false);
	return 0;
}

/* The next NUL-terminated part of data (a fresh copy) or, for the last,
 * everything left. */
static char *part(const uint8_t **data, size_t *size, size_t *len, int last)
{
	const uint8_t *nul = last ? NULL : memchr(*data, 0, *size);
	size_t n = nul ? (size_t)(nul - *data) : *size;
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, *data, n);
	s[n] = '\0';
	*len = n;
	*data += nul ? n + 1 : n;
	*size -= nul ? n + 1 : n;
	return s;
}

/* Checks web_esc's promise: valid UTF-8, no raw markup characters. */
static void check_escaped(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	const unsigned char *p = evbuffer_pullup(b, -1);

	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t len;
		if (c == '<' || c == '>' || c == '"' || c == '\'' || c < 0x20 || c == 0x7f)
			abort();
		if (c == '&') { /* an entity: &name; or &#N; */
			const unsigned char *semi = memchr(p + i, ';', n - i);
			if (!semi || semi - (p + i) > 10)
				abort();
		}
		if (c < 0x80)
			len = 1;
		else if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4;
		else
			abort();
		if (i + len > n)
			abort();
		for (size_t k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				abort();
		/* no overlong forms, surrogates or code points past U+10FFFF */
		if (len > 1 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
				(c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f)))
			abort();
		i += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t tlen, clen, alen, ylen, blen;
	char *text = part(&data, &size, &tlen, 0);
	char *cookie = part(&data, &size, &clen, 0);
	char *lang = part(&data, &size, &alen, 0);
	char *type = part(&data, &size, &ylen, 0);
	char *body = part(&data, &size, &blen, 1);
	struct evbuffer *b = evbuffer_new();
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct evkeyvalq form;
	char out[64];

	if (!b || !req)
		abort();
	web_esc(b, text, 0);
	check_escaped(b);
	evbuffer_drain(b, evbuffer_get_length(b));
	web_esc(b, text, tlen ? (unsigned char)text[0] : 0);
	check_escaped(b);

	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	if (clen)
		evhttp_add_header(h, "Cookie", cookie);
	if (alen)
		evhttp_add_header(h, "Accept-Language", lang);
	if (ylen)
		evhttp_add_header(h, "Content-Type", type);
	evbuffer_add(evhttp_request_get_input_buffer(req), body, blen);

	for (size_t sz = 1; sz <= sizeof(out); sz *= 4)
		if (web_cookie(req, "lang", out, sz) && strlen(out) >= sz)
			abort();
	web_cookie(req, "apgate_session", out, sizeof(out));
	web_cookie(req, "", out, sizeof(out));
	enum web_lang l = web_lang_pick(req);
	if ((int)l < 0 || l >= WEB_N_LANGS)
		abort();
	if (web_form(req, &form) == 0) {
		struct evkeyval *kv;
		TAILQ_FOREACH(kv, &form, next)
			web_esc(b, kv->value, 0);
		evhttp_clear_headers(&form);
	}

	evhttp_request_free(req);
	evbuffer_free(b);
	free(text);
	free(cookie);
	free(lang);
	free(type);
	free(body);
	return 0;
}
