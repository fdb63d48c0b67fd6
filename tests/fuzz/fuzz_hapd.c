/* fuzz_hapd - libFuzzer target for hostapd's control-interface text
 * (controller/io/hapd_ev.c): each input goes, unchanged and without a
 * terminating NUL, through the event parser, the STA reply parser and the
 * STATUS reply parser, which all promise never to read past len. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/hapd_ev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size heap copy: ASan sees any read past len */
	char *buf = malloc(size ? size : 1);
	struct hapd_ev ev;
	struct hapd_sta sta;
	struct hapd_status st;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (hapd_ev_parse(buf, size, &ev) == 0 && !hapd_ev_type_name(ev.type))
		abort();
	hapd_sta_parse(buf, size, &sta);
	hapd_status_parse(buf, size, "wlan0", &st);
	free(buf);
	return 0;
}
