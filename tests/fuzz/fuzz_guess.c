/* fuzz_guess - libFuzzer target for the policy parsers of
 * controller/model/guess.c and for what a device sends that guess reads.
 * The first byte of an input chooses (modulo 3), the rest is the data:
 *   0  a fingerprint table (policies/fingerprints.conf format), read with
 *      guess_tables_read() as the shipped file, then the same bytes as the
 *      admin's file; every device below is guessed against the result
 *   1  an auto-rule file (policies/auto-rules.example format), read with
 *      guess_rules_read(); a file it accepts is matched against every
 *      device below
 *   2  a device: the data split at '\n' into option 55 ("1,3,6"), option
 *      60, option 12, the OUI vendor and the MAC; guessed against a small
 *      fixed table and matched against fixed rules
 * Files are read from memory (fmemopen); errors go to /dev/null. The
 * guess's strings must stay NUL-terminated within their arrays. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/guess.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char table_text[] =
	"\"iOS\" iOS phone - options=1,121,3,6,15,119,252\n"
	"\"Android 11+\" Android phone - options=1,3,6,15,26,28,51,58,59,43,114,*\n"
	"\"NM\" Linux pc - option_set=1,2,3,6,12,15,17,26,28,33,40,41,42,119,121,249,252\n"
	"\"HP JetDirect\" printer printer business vendor_class=\"Hewlett-Packard JetDirect\"\n"
	"\"Epson printer\" printer printer business vendor=\"Seiko Epson\" hostname=EPSON*\n";
static const char rules_text[] =
	"ask type=printer vendor=Brother\n"
	"approve business type=printer vendor=\"Seiko Epson\" wired=yes\n"
	"approve personal os=iOS private=yes hostname=*phone* mac=f2:11\n"
	"approve business fingerprint=\"HP JetDirect\" port=p1 bss=ap0 vendor_class=Jet\n";

static struct guess_tables *fixed_table;
static struct guess_rules *fixed_rules;
static FILE *devnull;

static struct reg_device fixed_devs[4];

static void check_guess(const struct guess *g)
{
	if (memchr(g->os, 0, sizeof(g->os)) == NULL || memchr(g->summary, 0, sizeof(g->summary)) == NULL ||
	    memchr(g->fingerprint, 0, sizeof(g->fingerprint)) == NULL || g->n_reasons > GUESS_MAX_REASONS)
		abort();
	for (unsigned i = 0; i < g->n_reasons; i++)
		if (!memchr(g->reasons[i].arg, 0, sizeof(g->reasons[i].arg)) || !guess_reason_name(g->reasons[i].code))
			abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	FILE *f = fmemopen((void *)table_text, sizeof(table_text) - 1, "r");
	fixed_table = guess_tables_new();
	if (!devnull || !f || !fixed_table || guess_tables_read(fixed_table, f, "table", 0, devnull) != 0)
		abort();
	fclose(f);
	f = fmemopen((void *)rules_text, sizeof(rules_text) - 1, "r");
	if (!f || guess_rules_read(f, "rules", devnull, &fixed_rules) != 0)
		abort();
	fclose(f);
	static const struct {
		const char *mac, *opts, *vc, *host, *vendor, *port;
	} d[] = {
		{ "f2:11:22:33:44:55", "1,121,3,6,15,119,252", NULL, "Annas-iPhone", NULL, NULL },
		{ "64:eb:8c:00:00:01", "1,3,6,15", NULL, "EPSON000001", "Seiko Epson Corporation", "p1" },
		{ "00:21:cc:00:00:03", "1,3,6,15,31,33,43,44,46,47,119,121,249,252", "MSFT 5.0", "FRONT", NULL, NULL },
		{ "a0:d3:c1:00:00:04", "1,3,44,6,7,12,15,22,54,58,59,69,18,144", "Hewlett-Packard JetDirect",
		  "NPI000004", "Hewlett Packard", "p1" },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		struct reg_device *x = &fixed_devs[i];
		snprintf(x->mac, sizeof(x->mac), "%s", d[i].mac);
		x->dhcp_options = (char *)d[i].opts;
		x->dhcp_vendor_class = (char *)d[i].vc;
		x->dhcp_hostname = (char *)d[i].host;
		x->vendor = (char *)d[i].vendor;
		x->port = (char *)d[i].port;
		x->bss = (char *)"ap0";
	}
	return 0;
}

/* The next '\n'-separated field of [*p, end) as a new string (NULL when
 * empty); *p moves past it. */
static char *field(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *s = *p, *nl = memchr(s, '\n', (size_t)(end - s));
	size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
	char *out = NULL;

	*p = nl ? nl + 1 : end;
	if (n && (out = malloc(n + 1))) {
		memcpy(out, s, n);
		out[n] = 0;
	}
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guess g;
	struct guess_verdict v;

	if (size < 1)
		return 0;
	unsigned mode = data[0] % 3;
	data++;
	size--;
	if (mode == 0 || mode == 1) {
		if (!size)
			return 0;
		FILE *f = fmemopen((void *)data, size, "r");
		if (!f)
			return 0;
		if (mode == 0) {
			struct guess_tables *t = guess_tables_new();
			if (!t)
				abort();
			int r = guess_tables_read(t, f, "shipped", 0, devnull);
			if (r == -ENOMEM)
				abort();
			rewind(f);
			guess_tables_read(t, f, "local", 1, devnull);
			for (size_t i = 0; i < sizeof(fixed_devs) / sizeof(fixed_devs[0]); i++) {
				guess_device(t, &fixed_devs[i], &g);
				check_guess(&g);
			}
			guess_tables_free(t);
		} else {
			struct guess_rules *rs = NULL;
			if (guess_rules_read(f, "rules", devnull, &rs) == 0) {
				for (size_t i = 0; i < sizeof(fixed_devs) / sizeof(fixed_devs[0]); i++) {
					guess_device(fixed_table, &fixed_devs[i], &g);
					if (guess_rules_match(rs, &fixed_devs[i], &g, &v) &&
					    (!memchr(v.where, 0, sizeof(v.where)) || !memchr(v.text, 0, sizeof(v.text))))
						abort();
				}
				guess_rules_free(rs);
			} else if (rs) {
				abort(); /* a refused file leaves *out alone */
			}
		}
		fclose(f);
		return 0;
	}
	/* a device's own strings */
	const uint8_t *p = data, *end = data + size;
	struct reg_device d = { 0 };
	char *mac = NULL;
	d.dhcp_options = field(&p, end);
	d.dhcp_vendor_class = field(&p, end);
	d.dhcp_hostname = field(&p, end);
	d.vendor = field(&p, end);
	mac = field(&p, end);
	snprintf(d.mac, sizeof(d.mac), "%s", mac ? mac : "");
	d.hostname = d.dhcp_hostname;
	guess_device(fixed_table, &d, &g);
	check_guess(&g);
	guess_rules_match(fixed_rules, &d, &g, &v);
	guess_type(&d, NULL);
	free(d.dhcp_options);
	free(d.dhcp_vendor_class);
	free(d.dhcp_hostname);
	free(d.vendor);
	free(mac);
	return 0;
}
