/* fuzz_blocklist - libFuzzer target for the DNS blocklist reader
 * (controller/io/dnsm.c: dnsm_blocklist_read(), dnsm_blocklist_match(),
 * dnsm_render_blocklist()): any bytes as a list file, as an admin's
 * blocklist_local or a downloaded feed may look. Everything that gets in
 * must be a valid domain (lower case, labels of [a-z0-9_-] of 1..63 bytes,
 * 253 at most), must match itself and a name under it, and must render as
 * one "server=/DOMAIN/" line that dnsmasq reads as nothing but that. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/dnsm.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	log_open("fuzz_blocklist", LOG_LVL_ERR, false);
	snprintf(path, sizeof(path), "/tmp/fuzz_blocklist.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	return 0;
}

static void valid_domain(const char *d)
{
	size_t n = strlen(d), label = 0;

	if (n == 0 || n > 253)
		abort();
	for (size_t i = 0; i <= n; i++) {
		char c = d[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
				abort();
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			abort();
		label++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dnsm_blocklist *bl = dnsm_blocklist_new();
	FILE *f = fopen(path, "w");
	char *out = NULL, *line, *save = NULL;
	size_t out_len = 0;
	unsigned lines = 0;
	int n;

	if (!bl || !f)
		abort();
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	n = dnsm_blocklist_read(bl, path);
	if (n < 0 || (unsigned)n != dnsm_blocklist_count(bl))
		abort();
	f = open_memstream(&out, &out_len);
	if (!f || dnsm_render_blocklist(bl, f) != 0 || fclose(f) != 0)
		abort();
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char sub[300];
		const char *entry = NULL;
		size_t len;

		if (line[0] == '#')
			continue;
		len = strlen(line);
		if (strncmp(line, "server=/", 8) != 0 || len < 10 || line[len - 1] != '/')
			abort();
		line[len - 1] = '\0';
		valid_domain(line + 8);
		if (!dnsm_blocklist_match(bl, line + 8, &entry) || !entry)
			abort();
		snprintf(sub, sizeof(sub), "x.%s.", line + 8);
		if (!dnsm_blocklist_match(bl, sub, NULL))
			abort();
		lines++;
	}
	if (lines != dnsm_blocklist_count(bl))
		abort();
	free(out);
	dnsm_blocklist_free(bl);
	return 0;
}
