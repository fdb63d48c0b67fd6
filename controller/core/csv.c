#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

char *csv_field(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	/* worst case: every byte U+FFFD (3) or a doubled quote, plus the
	 * apostrophe, two quotes and the NUL */
	char *out = malloc(n * 3 + 4), *o;
	bool quote;

	if (!out)
		return NULL;
	o = out + 1; /* room for an opening quote */
	if (s && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@'))
		*o++ = '\'';
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
		size_t k = utf8_len(p);
		if (k == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else if (k == 1 && (*p < 0x20 || *p == 0x7f)) {
			*o++ = '?';
			p++;
		} else {
			memcpy(o, p, k);
			o += k;
			p += k;
		}
	}
	*o = '\0';
	const char *body = out + 1;
	size_t len = (size_t)(o - body);
	quote = strpbrk(body, ",\"") || (len && (body[0] == ' ' || body[len - 1] == ' '));
	if (!quote) {
		memmove(out, body, len + 1);
		return out;
	}
	size_t quotes = 0;
	for (const char *q = body; *q; q++)
		quotes += *q == '"';
	char *r = malloc(len + quotes + 3);
	if (!r) {
		free(out);
		return NULL;
	}
	char *w = r;
	*w++ = '"';
	for (const char *q = body; *q; q++) {
		if (*q == '"')
			*w++ = '"';
		*w++ = *q;
	}
	*w++ = '"';
	*w = '\0';
	free(out);
	return r;
}
