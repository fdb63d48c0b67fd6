/* hfiles_tool - renders and writes hostapd's list and key files with
 * controller/io/hfiles, for tests/system/test_hostapd_files.sh.
 *
 *   hfiles_tool accept FILE [MAC[,VLAN]]...              accept_mac_file (0640)
 *   hfiles_tool deny FILE [MAC]...                       deny_mac_file (0640)
 *   hfiles_tool psk FILE SSID [KEYID[,VLAN]=PASSPHRASE]... wpa_psk_file (0600),
 *                                                         hex PSKs computed here
 *   hfiles_tool ensure FILE                              empty list if missing
 *   hfiles_tool newkey                                   "KEYID PASSPHRASE"
 * Prints "written", "unchanged" (or "created", "exists"); exit 0, or 1 with
 * the error on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/hfiles.h"

static int fail(const char *what, int r)
{
	fprintf(stderr, "hfiles_tool: %s: %s\n", what, strerror(-r));
	return 1;
}

static unsigned split_vlan(char *s)
{
	char *comma = strchr(s, ',');

	if (!comma)
		return 0;
	*comma = '\0';
	return (unsigned)strtoul(comma + 1, NULL, 10);
}

static int put(const char *path, const char *text, mode_t mode)
{
	int r = hfiles_write(path, text, mode);

	if (r < 0)
		return fail(path, r);
	puts(r ? "written" : "unchanged");
	return 0;
}

int main(int argc, char **argv)
{
	char *text = NULL;
	int r, n;

	if (argc == 2 && !strcmp(argv[1], "newkey")) {
		char id[32], pw[32];
		if ((r = hfiles_new_key(id, pw)) < 0)
			return fail("newkey", r);
		printf("%s %s\n", id, pw);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "ensure")) {
		if ((r = hfiles_ensure(argv[2], HFILES_MODE_LIST)) < 0)
			return fail(argv[2], r);
		puts(r ? "created" : "exists");
		return 0;
	}
	if (argc >= 3 && (!strcmp(argv[1], "accept") || !strcmp(argv[1], "deny"))) {
		bool accept = !strcmp(argv[1], "accept");
		struct hfiles_acl *a = calloc((size_t)argc, sizeof(*a));
		n = argc - 3;
		for (int i = 0; i < n; i++) {
			a[i].vlan = split_vlan(argv[3 + i]);
			a[i].mac = argv[3 + i];
		}
		r = hfiles_render_acl(a, (unsigned)n, accept, &text);
		free(a);
		if (r < 0)
			return fail("render", r);
		r = put(argv[2], text, HFILES_MODE_LIST);
		free(text);
		return r;
	}
	if (argc >= 4 && !strcmp(argv[1], "psk")) {
		struct hfiles_psk *p = calloc((size_t)argc, sizeof(*p));
		char (*hex)[65] = calloc((size_t)argc, sizeof(*hex));
		const char *ssid = argv[3];
		n = argc - 4;
		for (int i = 0; i < n; i++) {
			char *eq = strchr(argv[4 + i], '=');
			if (!eq) {
				fprintf(stderr, "hfiles_tool: %s: want KEYID[,VLAN]=PASSPHRASE\n", argv[4 + i]);
				return 1;
			}
			*eq = '\0';
			p[i].vlan = split_vlan(argv[4 + i]);
			p[i].keyid = argv[4 + i];
			if ((r = hfiles_psk_hex(eq + 1, ssid, strlen(ssid), hex[i])) < 0)
				return fail("passphrase", r);
			p[i].psk_hex = hex[i];
		}
		r = hfiles_render_psk(p, (unsigned)n, &text);
		free(p);
		free(hex);
		if (r < 0)
			return fail("render", r);
		r = put(argv[2], text, HFILES_MODE_PSK);
		free(text);
		return r;
	}
	fprintf(stderr, "usage: hfiles_tool accept|deny FILE MAC[,VLAN]... | psk FILE SSID KEYID[,VLAN]=PASS... |"
			" ensure FILE | newkey\n");
	return 2;
}
