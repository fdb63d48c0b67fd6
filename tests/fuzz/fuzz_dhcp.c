/* fuzz_dhcp - libFuzzer target for the dnsmasq lease helper's handling of
 * device data (controller/cli/apgate-dhcp-script.c): argv and the
 * DNSMASQ_* environment become one JSON line. Its build() is static in a
 * program's single file, so this file includes that file (its main
 * renamed) and calls build() directly: nothing is sent anywhere.
 *
 * One input is NUL-separated parts: MAC, IP, HOSTNAME, then the values of
 * DNSMASQ_SUPPLIED_HOSTNAME, _VENDOR_CLASS, _REQUESTED_OPTIONS,
 * _INTERFACE, _CLIENT_ID, _TAGS, _DATA_MISSING (an absent part: the
 * argument or variable is absent). The helper promises that whatever the
 * bytes, the request encodes (every value repaired to UTF-8, which jansson
 * requires); this checks that, and that the line parses back to an object
 * of its 12 members. (A line over 64 KiB is main()'s to refuse.) */
#include <stddef.h>
#include <stdint.h>

int dhcp_script_main(int argc, char **argv);
#define main dhcp_script_main
#include "cli/apgate-dhcp-script.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const env_names[] = {
	"DNSMASQ_SUPPLIED_HOSTNAME", "DNSMASQ_VENDOR_CLASS", "DNSMASQ_REQUESTED_OPTIONS", "DNSMASQ_INTERFACE",
	"DNSMASQ_CLIENT_ID",         "DNSMASQ_TAGS",         "DNSMASQ_DATA_MISSING",
};
#define N_ENV (sizeof(env_names) / sizeof(env_names[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);
	char *parts[3 + N_ENV] = { 0 };
	size_t np = 0, i = 0;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	copy[size] = '\0';
	while (np < 3 + N_ENV && i <= size) {
		parts[np++] = copy + i;
		i += strlen(copy + i) + 1;
		if (i > size)
			break;
	}
	for (size_t k = 0; k < N_ENV; k++) {
		if (parts[3 + k])
			setenv(env_names[k], parts[3 + k], 1);
		else
			unsetenv(env_names[k]);
	}
	char *argv[] = { "apgate-dhcp-script", "add", parts[0] ? parts[0] : "", parts[1] ? parts[1] : "",
			 parts[2], NULL };
	int argc = parts[2] ? 5 : 4;

	json_t *req = build(argc, argv);
	if (!req)
		abort();
	char *line = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (!line)
		abort(); /* a value that jansson could not encode: not repaired */
	json_error_t e;
	json_t *back = json_loads(line, 0, &e);
	if (!json_is_object(back) || json_object_size(back) != 12)
		abort();
	json_decref(back);
	free(line);
	free(copy);
	return 0;
}
