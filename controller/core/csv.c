#include "csv.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

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
		size_t k = util_utf8_len(p, SIZE_MAX);
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
