#include "mac.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Reads 12 hex digits; with sep != 0 a separator stands after every
 * `group` digits (positions group, 2*group+1, ...). */
static int parse_grouped(const char *s, char sep, int group, struct mac *out)
{
	int digits = 0;
	uint8_t b[6] = { 0 };

	for (int i = 0; s[i]; i++) {
		if (sep && (i + 1) % (group + 1) == 0) {
			if (s[i] != sep)
				return -EINVAL;
			continue;
		}
		int v = util_hexval(s[i]);
		if (v < 0 || digits >= 12)
			return -EINVAL;
		b[digits / 2] = (uint8_t)(b[digits / 2] << 4 | v);
		digits++;
	}
	if (digits != 12)
		return -EINVAL;
	memcpy(out->b, b, 6);
	return 0;
}

int mac_parse(const char *s, struct mac *out)
{
	size_t n;

	if (!s)
		return -EINVAL;
	n = strlen(s);
	if (n == 17 && (s[2] == ':' || s[2] == '-'))
		return parse_grouped(s, s[2], 2, out);
	if (n == 14 && s[4] == '.')
		return parse_grouped(s, '.', 4, out);
	if (n == 12)
		return parse_grouped(s, 0, 12, out);
	return -EINVAL;
}

void mac_format(const struct mac *m, char out[MAC_STR_LEN])
{
	snprintf(out, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m->b[0], m->b[1], m->b[2], m->b[3], m->b[4], m->b[5]);
}

int mac_canon(const char *s, char out[MAC_STR_LEN])
{
	struct mac m;
	int r = mac_parse(s, &m);
	if (r < 0)
		return r;
	mac_format(&m, out);
	return 0;
}

bool mac_is_local(const struct mac *m) { return m->b[0] & 0x02; }
bool mac_is_multicast(const struct mac *m) { return m->b[0] & 0x01; }
