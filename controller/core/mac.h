/* mac.h - Ethernet addresses: parsing in the usual spellings, one canonical form. */
#ifndef APGATE_MAC_H
#define APGATE_MAC_H

#include <stdbool.h>
#include <stdint.h>

#define MAC_STR_LEN 18 /* "aa:bb:cc:dd:ee:ff" + NUL */

struct mac {
	uint8_t b[6];
};

/* Accepts aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff and
 * aabbccddeeff, any case. Returns 0, or -EINVAL for anything else. */
int mac_parse(const char *s, struct mac *out);
/* Writes the canonical lower-case colon form into out. */
void mac_format(const struct mac *m, char out[MAC_STR_LEN]);
/* Parses s and writes its canonical form; -EINVAL if s is not a MAC. */
int mac_canon(const char *s, char out[MAC_STR_LEN]);
/* Locally administered (randomised/private addresses set this bit). */
bool mac_is_local(const struct mac *m);
bool mac_is_multicast(const struct mac *m);

#endif
