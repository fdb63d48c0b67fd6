/* hfiles: hostapd's accept/deny/psk files byte for byte, sorting,
 * validation, the IEEE 802.11i PBKDF2 vectors, key format and alphabet,
 * atomic writes (unchanged content is not rewritten; a failed write leaves
 * the old file), ensure never overwrites, paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/hfiles.h"

#define HDR "# Written by apgated; do not edit: it rewrites this file from its registry.\n"
#define PSK_A "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"
#define PSK_B "0dc0d6eb90555ed6419756b9a15ec3e3209b63df707dd508d14581f8982721af"

static char dir[] = "/tmp/apgate-hfiles-XXXXXX";

static void every_line_fits(const char *text)
{
	for (const char *s = text; *s;) {
		const char *nl = strchr(s, '\n');
		assert_non_null(nl); /* every line ends in a newline */
		assert_true((size_t)(nl - s) + 1 <= HFILES_MAX_LINE);
		s = nl + 1;
	}
}

static void test_acl_format_sorted(void **state)
{
	const struct hfiles_acl a[] = {
		{ "02:00:00:00:0b:0b", 10 },
		{ "02:00:00:00:0a:0a", 0 },
		{ "00:11:22:33:44:55", 4094 },
	};
	const struct hfiles_acl rev[] = { a[2], a[0], a[1] };
	char *t = NULL, *t2 = NULL;

	(void)state;
	assert_int_equal(hfiles_render_acl(a, 3, true, &t), 0);
	assert_string_equal(t, HDR "# hostapd accept_mac_file: \"<mac> [<vlan id>]\" per line, sorted by MAC.\n"
			       "00:11:22:33:44:55 4094\n"
			       "02:00:00:00:0a:0a\n"
			       "02:00:00:00:0b:0b 10\n");
	every_line_fits(t);
	assert_int_equal(hfiles_render_acl(rev, 3, true, &t2), 0);
	assert_string_equal(t, t2); /* same set, same bytes */
	free(t);
	free(t2);

	assert_int_equal(hfiles_render_acl(a, 3, false, &t), 0);
	assert_string_equal(t, HDR "# hostapd deny_mac_file: \"<mac>\" per line, sorted by MAC.\n"
			       "00:11:22:33:44:55\n02:00:00:00:0a:0a\n02:00:00:00:0b:0b\n");
	free(t);

	assert_int_equal(hfiles_render_acl(NULL, 0, true, &t), 0);
	assert_string_equal(t, HDR "# hostapd accept_mac_file: \"<mac> [<vlan id>]\" per line, sorted by MAC.\n");
	free(t);
}

static void test_acl_invalid(void **state)
{
	struct hfiles_acl bad[][2] = {
		{ { "02:00:00:00:0A:0A", 0 }, { "02:00:00:00:0b:0b", 0 } }, /* upper case */
		{ { "02-00-00-00-0a-0a", 0 }, { "02:00:00:00:0b:0b", 0 } }, /* not canonical */
		{ { "02:00:00:00:0a", 0 }, { "02:00:00:00:0b:0b", 0 } },
		{ { NULL, 0 }, { "02:00:00:00:0b:0b", 0 } },
		{ { "02:00:00:00:0a:0a", 4095 }, { "02:00:00:00:0b:0b", 0 } },
		{ { "02:00:00:00:0b:0b", 1 }, { "02:00:00:00:0b:0b", 2 } }, /* twice */
	};
	char *t = (char *)"untouched";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hfiles_render_acl(bad[i], 2, true, &t), -EINVAL);
		assert_null(t);
	}
}

static void test_psk_format(void **state)
{
	const struct hfiles_psk p[] = {
		{ "apg-0000beef", 30, PSK_B },
		{ "apg-00000001", 0, "F42C6FC52DF0EBEF9EBB4B90B38A5F902E83FE1B135A70E23AED762E9710A12E" },
		{ "Staff_phone.1-x", 4094, PSK_A },
	};
	char *t = NULL;

	(void)state;
	assert_int_equal(hfiles_render_psk(p, 3, &t), 0);
	assert_string_equal(t, HDR "# hostapd wpa_psk_file: one per-device key per line, any MAC, hex PSK.\n"
			       "keyid=Staff_phone.1-x vlanid=4094 00:00:00:00:00:00 " PSK_A "\n"
			       "keyid=apg-00000001 00:00:00:00:00:00 " PSK_A "\n"
			       "keyid=apg-0000beef vlanid=30 00:00:00:00:00:00 " PSK_B "\n");
	every_line_fits(t);
	free(t);
	assert_int_equal(hfiles_render_psk(NULL, 0, &t), 0);
	assert_string_equal(t, HDR "# hostapd wpa_psk_file: one per-device key per line, any MAC, hex PSK.\n");
	free(t);
}

static void test_psk_line_limit(void **state)
{
	/* 25-char keyid + vlanid=4094: 127 bytes with the newline, the most hostapd reads */
	struct hfiles_psk p = { "abcdefghijklmnopqrstuvwxy", 4094, PSK_A };
	char *t = NULL;

	(void)state;
	assert_int_equal(hfiles_render_psk(&p, 1, &t), 0);
	every_line_fits(t);
	assert_non_null(strstr(t, "\nkeyid=abcdefghijklmnopqrstuvwxy vlanid=4094 00:00:00:00:00:00 " PSK_A "\n"));
	assert_int_equal(strlen(strstr(t, "\nkeyid=") + 1), HFILES_MAX_LINE);
	free(t);
	p.keyid = "abcdefghijklmnopqrstuvwxyz"; /* 128: hostapd would split it */
	assert_int_equal(hfiles_render_psk(&p, 1, &t), -EINVAL);
	p.vlan = 999;                           /* 127 again */
	assert_int_equal(hfiles_render_psk(&p, 1, &t), 0);
	free(t);
	p.vlan = 0;
	p.keyid = "abcdefghijklmnopqrstuvwxyz01234"; /* 31, no VLAN: fits */
	assert_int_equal(hfiles_render_psk(&p, 1, &t), 0);
	every_line_fits(t);
	free(t);
}

static void test_psk_invalid(void **state)
{
	const struct hfiles_psk good = { "apg-1", 0, PSK_A };
	struct hfiles_psk bad[] = {
		{ "", 0, PSK_A },
		{ NULL, 0, PSK_A },
		{ "abcdefghijklmnopqrstuvwxyz012345", 0, PSK_A }, /* 32 */
		{ "has space", 0, PSK_A },
		{ "a=b", 0, PSK_A },
		{ "caf\xc3\xa9", 0, PSK_A },
		{ "k", 0, NULL },
		{ "k", 0, "f42c" },
		{ "k", 0, PSK_A "00" },
		{ "k", 0, "g42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e" },
		{ "k", 0, "correct horse battery staple" }, /* a passphrase is not accepted */
		{ "k", 4095, PSK_A },
		{ "apg-1", 0, PSK_B },                      /* keyid twice (with good) */
	};
	char *t = (char *)"untouched";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hfiles_psk two[2] = { good, bad[i] };
		assert_int_equal(hfiles_render_psk(two, 2, &t), -EINVAL);
		assert_null(t);
	}
}

static void test_pbkdf2_vectors(void **state)
{
	char hex[65];

	(void)state;
	/* IEEE 802.11i-2004, H.4.3 */
	assert_int_equal(hfiles_psk_hex("password", "IEEE", 4, hex), 0);
	assert_string_equal(hex, PSK_A);
	assert_int_equal(hfiles_psk_hex("ThisIsAPassword", "ThisIsASSID", 11, hex), 0);
	assert_string_equal(hex, PSK_B);
	/* the SSID is bytes with a length, not a C string */
	assert_int_equal(hfiles_psk_hex("password", "IEEE-and-more", 4, hex), 0);
	assert_string_equal(hex, PSK_A);
	assert_int_equal(hfiles_psk_hex("short", "IEEE", 4, hex), -EINVAL);
	assert_int_equal(hfiles_psk_hex("0123456789012345678901234567890123456789012345678901234567890123", "IEEE", 4,
					hex), -EINVAL); /* 64 */
	assert_int_equal(hfiles_psk_hex("pass\tword", "IEEE", 4, hex), -EINVAL);
	assert_int_equal(hfiles_psk_hex("password", "", 0, hex), -EINVAL);
	assert_int_equal(hfiles_psk_hex("password", "0123456789012345678901234567890123", 33, hex), -EINVAL);
}

static void test_new_key(void **state)
{
	enum { N = 2000 };
	static char ids[N][32], pws[N][32];
	unsigned seen[128] = { 0 };

	(void)state;
	for (int i = 0; i < N; i++) {
		char *k = ids[i], *p = pws[i];
		assert_int_equal(hfiles_new_key(k, p), 0);
		assert_int_equal(strlen(k), 12);
		assert_memory_equal(k, "apg-", 4);
		for (int j = 4; j < 12; j++)
			assert_non_null(strchr("0123456789abcdef", k[j]));
		assert_int_equal(strlen(p), 23);
		for (int j = 0; j < 23; j++) {
			if (j % 6 == 5) {
				assert_int_equal(p[j], '-');
				continue;
			}
			assert_non_null(strchr(HFILES_PASS_ALPHABET, p[j]));
			assert_null(strchr("0Oo1lI", p[j]));
			seen[(unsigned char)p[j]]++;
		}
		/* a usable WPA passphrase, and the key fits a psk line */
		char hex[65];
		if (i < 3)
			assert_int_equal(hfiles_psk_hex(p, "Office", 6, hex), 0);
		struct hfiles_psk e = { k, 4094, PSK_A };
		char *t;
		assert_int_equal(hfiles_render_psk(&e, 1, &t), 0);
		free(t);
	}
	/* unique over the draws: passphrases (116 bits) over all of them; keyids
	 * (32 bits: the caller checks for clashes) over the first 200, where a
	 * clash has probability 5e-6 (over 2000 it would be 5e-4, a flaky test) */
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++) {
			assert_string_not_equal(pws[i], pws[j]);
			if (j < 200)
				assert_string_not_equal(ids[i], ids[j]);
		}
	/* every character of the alphabet shows up, roughly uniformly:
	 * 40000 draws / 56 = 714 each on average */
	for (const char *a = HFILES_PASS_ALPHABET; *a; a++) {
		assert_true(seen[(unsigned char)*a] > 500);
		assert_true(seen[(unsigned char)*a] < 950);
	}
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int ch;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(m);
	fclose(f);
	return buf;
}

static unsigned count_entries(const char *d)
{
	char cmd[PATH_MAX + 32];
	unsigned n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", d);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%u", &n), 1);
	pclose(p);
	return n;
}

static void test_write_atomic(void **state)
{
	char d[256], path[PATH_MAX];
	struct stat st1, st2;
	char *s;

	(void)state;
	snprintf(d, sizeof(d), "%s/w", dir);
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(path, sizeof(path), "%s/wlan0.accept", d);

	assert_int_equal(hfiles_write(path, "one\n", 0640), 1);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 07777, 0640);
	assert_string_equal(s = slurp(path), "one\n");
	free(s);
	assert_int_equal(count_entries(d), 1); /* no temporary file left */

	/* the same bytes: not rewritten, same inode and mtime */
	usleep(20000);
	assert_int_equal(hfiles_write(path, "one\n", 0640), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_sec, st2.st_mtim.tv_sec);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);
	/* same bytes, other mode: mode fixed in place, still "unchanged" */
	assert_int_equal(hfiles_write(path, "one\n", 0600), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st2.st_mode & 07777, 0600);
	assert_int_equal(st1.st_ino, st2.st_ino);
	/* a prefix or an extension of the content is a change */
	assert_int_equal(hfiles_write(path, "one", 0600), 1);
	/* replaced by rename, not rewritten in place: a reader holding the old
	 * file keeps reading the whole old content */
	int fd = open(path, O_RDONLY);
	char old[8] = "";
	assert_true(fd >= 0);
	assert_int_equal(hfiles_write(path, "one\ntwo\n", 0600), 1);
	assert_int_equal(fstat(fd, &st2), 0);
	assert_int_equal(st2.st_nlink, 0);
	assert_int_equal(read(fd, old, sizeof(old) - 1), 3);
	assert_string_equal(old, "one");
	close(fd);
	assert_string_equal(s = slurp(path), "one\ntwo\n");
	free(s);
	/* empty text */
	assert_int_equal(hfiles_write(path, "", 0600), 1);
	assert_int_equal(hfiles_write(path, "", 0600), 0);
	assert_int_equal(hfiles_write(path, "one\n", 0640), 1);

	/* a read-only directory: the write fails, the old file stays, no temp */
	assert_int_equal(chmod(d, 0555), 0);
	if (geteuid() == 0) {
		/* root ignores directory modes; a missing directory fails instead */
		char p2[PATH_MAX];
		snprintf(p2, sizeof(p2), "%s/no-such-dir/wlan0.accept", dir);
		assert_int_equal(hfiles_write(p2, "two\n", 0640), -ENOENT);
	} else {
		assert_int_equal(hfiles_write(path, "two\n", 0640), -EACCES);
	}
	assert_int_equal(chmod(d, 0755), 0);
	assert_string_equal(s = slurp(path), "one\n");
	free(s);
	assert_int_equal(count_entries(d), 1);

	/* a directory where the file should be: rename fails, temp removed */
	snprintf(path, sizeof(path), "%s/sub", d);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_true(hfiles_write(path, "x\n", 0640) < 0);
	assert_int_equal(count_entries(d), 2);
}

/* As root a read-only directory does not stop writes: check it in a child
 * that drops to nobody, so the -EACCES path runs in CI too. */
static void test_write_readonly_dir_unprivileged(void **state)
{
	char d[256], path[PATH_MAX];
	char *s;
	pid_t pid;
	int status;

	(void)state;
	if (geteuid() != 0)
		skip(); /* covered by test_write_atomic */
	snprintf(d, sizeof(d), "%s/ro", dir);
	assert_int_equal(mkdir(d, 0755), 0);
	snprintf(path, sizeof(path), "%s/wlan0.deny", d);
	assert_int_equal(hfiles_write(path, "old\n", 0644), 1);
	assert_int_equal(chown(d, 65534, 65534), 0);
	assert_int_equal(chmod(d, 0555), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		_exit(hfiles_write(path, "new\n", 0644) == -EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(s = slurp(path), "old\n");
	free(s);
	assert_int_equal(count_entries(d), 1);
	assert_int_equal(chmod(d, 0755), 0);
}

static void test_ensure(void **state)
{
	char path[PATH_MAX];
	struct stat st;
	char *s;

	(void)state;
	snprintf(path, sizeof(path), "%s/wlan0.psk", dir);
	assert_int_equal(hfiles_ensure(path, 0600), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_string_equal(s = slurp(path), HDR);
	free(s);
	assert_int_equal(hfiles_ensure(path, 0600), 0);

	/* never overwrites, whatever the file holds or its mode */
	assert_int_equal(hfiles_write(path, "keyid=x 00:00:00:00:00:00 " PSK_A "\n", 0640), 1);
	assert_int_equal(hfiles_ensure(path, 0600), 0);
	assert_string_equal(s = slurp(path), "keyid=x 00:00:00:00:00:00 " PSK_A "\n");
	free(s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	snprintf(path, sizeof(path), "%s/missing/wlan0.psk", dir);
	assert_int_equal(hfiles_ensure(path, 0600), -ENOENT);
}

static void test_path(void **state)
{
	char *p, big[PATH_MAX + 10];

	(void)state;
	assert_string_equal(p = hfiles_path("/var/lib/apgate/hostapd", "wlan0_1", "deny"),
			    "/var/lib/apgate/hostapd/wlan0_1.deny");
	free(p);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = '/';
	errno = 0;
	assert_null(hfiles_path(big, "wlan0", "psk"));
	assert_int_equal(errno, ENAMETOOLONG);
	big[PATH_MAX - 1 - strlen("/w.psk")] = '\0'; /* exactly PATH_MAX - 1 bytes */
	assert_non_null(p = hfiles_path(big, "w", "psk"));
	assert_int_equal(strlen(p), PATH_MAX - 1);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+w '%s'; rm -rf '%s'", dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acl_format_sorted),
		cmocka_unit_test(test_acl_invalid),
		cmocka_unit_test(test_psk_format),
		cmocka_unit_test(test_psk_line_limit),
		cmocka_unit_test(test_psk_invalid),
		cmocka_unit_test(test_pbkdf2_vectors),
		cmocka_unit_test(test_new_key),
		cmocka_unit_test(test_write_atomic),
		cmocka_unit_test(test_write_readonly_dir_unprivileged),
		cmocka_unit_test(test_ensure),
		cmocka_unit_test(test_path),
	};
	return cmocka_run_group_tests_name("hfiles", tests, setup, teardown);
}
