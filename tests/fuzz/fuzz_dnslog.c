/* fuzz_dnslog - libFuzzer target for the dnsmasq query-log line parser
 * (controller/io/dnslog.c): any bytes as one line. The result must be a
 * known kind; a name holds only [A-Za-z0-9._?-], within DNSLOG_NAME_MAX;
 * the client of a query or blocked line is a valid address; qtype is
 * bounded and clean. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/dnslog.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_open("fuzz_dnslog", LOG_LVL_ERR, false);
	return 0;
}

static void clean(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n > max)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-?", s[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: reads past the line are caught by ASan */
	char *line = malloc(size ? size : 1);
	struct dnslog_line l;
	unsigned char bin[16];

	if (!line)
		return 0;
	memcpy(line, data, size);
	int r = dnslog_parse(line, size, &l);
	if (r < 0 && l.kind != DNSLOG_OTHER)
		abort();
	switch (l.kind) {
	case DNSLOG_OTHER:
		break;
	case DNSLOG_QUERY:
		clean(l.qtype, sizeof(l.qtype) - 1);
		/* fall through */
	case DNSLOG_BLOCKED:
		clean(l.name, DNSLOG_NAME_MAX);
		if (!l.name[0])
			abort();
		if (inet_pton(AF_INET, l.client, bin) != 1 && inet_pton(AF_INET6, l.client, bin) != 1)
			abort();
		break;
	default:
		abort();
	}
	free(line);
	return 0;
}
