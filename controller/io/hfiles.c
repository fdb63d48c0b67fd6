#include "hfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mac.h"
#include "util.h"

/* Every header line stays well under HFILES_MAX_LINE (checked by the tests). */
#define HDR_DO_NOT_EDIT "# Written by apgated; do not edit: it rewrites this file from its registry.\n"

static bool mac_is_canonical(const char *s)
{
	char c[MAC_STR_LEN];

	return s && mac_canon(s, c) == 0 && strcmp(c, s) == 0;
}

static int cmp_acl(const void *x, const void *y)
{
	const struct hfiles_acl *a = *(const struct hfiles_acl *const *)x;
	const struct hfiles_acl *b = *(const struct hfiles_acl *const *)y;

	return strcmp(a->mac, b->mac);
}

static int cmp_psk(const void *x, const void *y)
{
	const struct hfiles_psk *a = *(const struct hfiles_psk *const *)x;
	const struct hfiles_psk *b = *(const struct hfiles_psk *const *)y;

	return strcmp(a->keyid, b->keyid);
}

static int close_mem(FILE *f, char **buf, char **out)
{
	if (fclose(f) != 0) {
		free(*buf);
		*buf = NULL;
		return -ENOMEM;
	}
	*out = steal_ptr(buf);
	return 0;
}

int hfiles_render_acl(const struct hfiles_acl *a, unsigned n, bool with_vlan, char **out)
{
	_cleanup_free_ const struct hfiles_acl **v = NULL;
	char *buf = NULL;
	size_t len;
	FILE *f;

	*out = NULL;
	if (n && !(v = calloc(n, sizeof(*v))))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		if (!mac_is_canonical(a[i].mac) || a[i].vlan > HFILES_MAX_VLAN)
			return -EINVAL;
		v[i] = &a[i];
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_acl);
	for (unsigned i = 1; i < n; i++)
		if (strcmp(v[i - 1]->mac, v[i]->mac) == 0)
			return -EINVAL;
	if (!(f = open_memstream(&buf, &len)))
		return -ENOMEM;
	fputs(HDR_DO_NOT_EDIT, f);
	if (with_vlan)
		fputs("# hostapd accept_mac_file: \"<mac> [<vlan id>]\" per line, sorted by MAC.\n", f);
	else
		fputs("# hostapd deny_mac_file: \"<mac>\" per line, sorted by MAC.\n", f);
	for (unsigned i = 0; i < n; i++) {
		if (with_vlan && v[i]->vlan)
			fprintf(f, "%s %u\n", v[i]->mac, v[i]->vlan);
		else
			fprintf(f, "%s\n", v[i]->mac);
	}
	return close_mem(f, &buf, out);
}

static bool keyid_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > HFILES_KEYID_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '.' || *s == '-'))
			return false;
	return true;
}

static bool psk_hex_ok(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (util_hexval(*s) < 0)
			return false;
	return true;
}

#define WILDCARD_MAC "00:00:00:00:00:00"

/* Bytes of the entry's line, newline included. */
static size_t psk_line_len(const struct hfiles_psk *p)
{
	char vl[24] = "";

	if (p->vlan)
		snprintf(vl, sizeof(vl), " vlanid=%u", p->vlan);
	return strlen("keyid=") + strlen(p->keyid) + strlen(vl) + 1 + strlen(WILDCARD_MAC) + 1 + 64 + 1;
}

int hfiles_render_psk(const struct hfiles_psk *p, unsigned n, char **out)
{
	_cleanup_free_ const struct hfiles_psk **v = NULL;
	char *buf = NULL;
	size_t len;
	FILE *f;

	*out = NULL;
	if (n && !(v = calloc(n, sizeof(*v))))
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		if (!keyid_ok(p[i].keyid) || !psk_hex_ok(p[i].psk_hex) || p[i].vlan > HFILES_MAX_VLAN ||
		    psk_line_len(&p[i]) > HFILES_MAX_LINE)
			return -EINVAL;
		v[i] = &p[i];
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_psk);
	for (unsigned i = 1; i < n; i++)
		if (strcmp(v[i - 1]->keyid, v[i]->keyid) == 0)
			return -EINVAL;
	if (!(f = open_memstream(&buf, &len)))
		return -ENOMEM;
	fputs(HDR_DO_NOT_EDIT, f);
	fputs("# hostapd wpa_psk_file: one per-device key per line, any MAC, hex PSK.\n", f);
	for (unsigned i = 0; i < n; i++) {
		fprintf(f, "keyid=%s", v[i]->keyid);
		if (v[i]->vlan)
			fprintf(f, " vlanid=%u", v[i]->vlan);
		fputs(" " WILDCARD_MAC " ", f);
		for (const char *h = v[i]->psk_hex; *h; h++)
			fputc("0123456789abcdef"[util_hexval(*h)], f);
		fputc('\n', f);
	}
	return close_mem(f, &buf, out);
}

int hfiles_psk_hex(const char *passphrase, const char *ssid, size_t ssid_len, char hex[65])
{
	unsigned char pmk[32];
	size_t n = passphrase ? strlen(passphrase) : 0;

	hex[0] = '\0';
	if (n < 8 || n > 63 || !ssid || ssid_len < 1 || ssid_len > 32)
		return -EINVAL;
	for (const char *s = passphrase; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return -EINVAL;
	if (PKCS5_PBKDF2_HMAC_SHA1(passphrase, (int)n, (const unsigned char *)ssid, (int)ssid_len, 4096,
				   (int)sizeof(pmk), pmk) != 1)
		return -EIO;
	for (size_t i = 0; i < sizeof(pmk); i++) {
		hex[2 * i] = "0123456789abcdef"[pmk[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[pmk[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

static int fill_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t r = getrandom(p, len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int hfiles_new_key(char keyid[32], char passphrase[32])
{
	static const char alpha[] = HFILES_PASS_ALPHABET;
	const unsigned na = sizeof(alpha) - 1;                /* 56 */
	const unsigned limit = 256 - 256 % na;                /* 224: no modulo bias */
	unsigned char id[4], rnd[64];
	unsigned used = sizeof(rnd), k = 0;
	int r;

	_Static_assert(sizeof(HFILES_PASS_ALPHABET) - 1 == 56, "alphabet size is in hfiles.h");
	keyid[0] = passphrase[0] = '\0';
	if ((r = fill_random(id, sizeof(id))) < 0)
		return r;
	snprintf(keyid, 32, "apg-%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
	while (k < 23) {
		if (k % 6 == 5) {
			passphrase[k++] = '-';
			continue;
		}
		if (used == sizeof(rnd)) {
			if ((r = fill_random(rnd, sizeof(rnd))) < 0) {
				keyid[0] = passphrase[0] = '\0';
				return r;
			}
			used = 0;
		}
		unsigned b = rnd[used++];
		if (b >= limit)
			continue;
		passphrase[k++] = alpha[b % na];
	}
	passphrase[k] = '\0';
	return 0;
}



/* 1 when path holds exactly text (mode fixed if different), 0 when not or unreadable. */
static int same_content(const char *path, const char *text, size_t len, mode_t mode)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t off = 0;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len)
		return 0;
	if (!(buf = malloc(len + 1)))
		return 0;
	while (off < len + 1) { /* one byte more: the file may have grown */
		ssize_t r = read(fd, buf + off, len + 1 - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	if (off != len || (len && memcmp(buf, text, len) != 0))
		return 0;
	if ((st.st_mode & 07777) != (mode & 07777) && fchmod(fd, mode) < 0)
		return 0; /* rewrite: that sets the mode */
	return 1;
}

static int write_all(int fd, const char *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

/* A synced temporary file beside path holding text; its name in tmp. fd or -errno. */
static int make_temp(const char *path, const char *text, mode_t mode, char tmp[PATH_MAX])
{
	char dir[PATH_MAX];
	const char *base = strrchr(path, '/');
	int fd, r;

	base = base ? base + 1 : path;
	if ((r = util_dir_of(path, dir)) < 0)
		return r;
	if ((size_t)snprintf(tmp, PATH_MAX, "%s/.%s.XXXXXX", dir, base) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || (r = write_all(fd, text, strlen(text))) < 0 || fsync(fd) < 0) {
		r = r < 0 ? r : -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	return fd;
}

int hfiles_write(const char *path, const char *text, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, r;

	if ((r = util_dir_of(path, dir)) < 0)
		return r;
	if (same_content(path, text, strlen(text), mode))
		return 0;
	if ((fd = make_temp(path, text, mode, tmp)) < 0)
		return fd;
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	r = util_fsync_dir(dir);
	return r < 0 ? r : 1;
}

int hfiles_ensure(const char *path, mode_t mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd, r;

	if ((r = util_dir_of(path, dir)) < 0)
		return r;
	if (access(path, F_OK) == 0)
		return 0;
	if ((fd = make_temp(path, HDR_DO_NOT_EDIT, mode, tmp)) < 0)
		return fd;
	close(fd);
	r = link(tmp, path) < 0 ? -errno : 1;
	unlink(tmp);
	if (r == -EEXIST)
		return 0; /* created meanwhile by someone else: theirs stays */
	if (r < 0)
		return r;
	r = util_fsync_dir(dir);
	return r < 0 ? r : 1;
}

char *hfiles_path(const char *data_dir, const char *ifname, const char *ext)
{
	int n = snprintf(NULL, 0, "%s/%s.%s", data_dir, ifname, ext);
	char *p;

	if (n < 0 || n >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (!(p = malloc((size_t)n + 1)))
		return NULL;
	snprintf(p, (size_t)n + 1, "%s/%s.%s", data_dir, ifname, ext);
	return p;
}
