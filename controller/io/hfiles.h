/* hfiles.h - the files hostapd reads from apgated's data directory: per-BSS
 * MAC lists (accept_mac_file, deny_mac_file) and per-device keys
 * (wpa_psk_file), rendered and written atomically. No daemon state.
 *
 * Layout: <data_dir>/<ifname>.accept  approved business devices, "<mac> <vlan>"
 *         <data_dir>/<ifname>.deny    blocked devices, "<mac>"
 *         <data_dir>/<ifname>.psk     work BSS with ppsk = yes, one line per key:
 *                                     "keyid=<id> [vlanid=<vid>] 00:00:00:00:00:00 <64 hex>"
 * The PSK lines use the wildcard MAC (phones that rotate their private
 * address keep their key) and the precomputed hex PSK: hostapd runs PBKDF2
 * (4096 rounds) for every passphrase line inside its event loop on
 * RELOAD_WPA_PSK, 1000 lines = 2.6 s stall; hex lines cost nothing.
 *
 * hostapd 2.10 reads all three formats with fgets() into a 128-byte buffer:
 * a longer line is split and its tail read as a line of its own, so every
 * line rendered here (comments too) is at most HFILES_MAX_LINE bytes with
 * its newline. A '#' line is a comment in all three formats.
 *
 * Modes the generator uses (hostapd runs as root and reads them anyway):
 * HFILES_MODE_LIST for .accept/.deny, HFILES_MODE_PSK for .psk (keys).
 *
 * Errors are negative errno values; nothing here logs.
 */
#ifndef APGATE_HFILES_H
#define APGATE_HFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define HFILES_MAX_LINE 127     /* bytes with the '\n': fgets(buf, 128) in hostapd 2.10 */
#define HFILES_KEYID_MAX 31     /* hostapd's keyid[32] */
#define HFILES_MAX_VLAN 4094
#define HFILES_MODE_LIST 0640
#define HFILES_MODE_PSK 0600

struct hfiles_acl {
	const char *mac;   /* canonical: "aa:bb:cc:dd:ee:ff", lower case */
	unsigned vlan;     /* 1..4094, 0 = none */
};

/* hostapd's accept/deny file: a header comment (written by apgated, do not
 * edit), then "<mac>\n", or "<mac> <vlan>\n" when with_vlan and vlan > 0,
 * sorted by MAC, so the same set always gives the same bytes (the order of a
 * is irrelevant; a is not modified). n = 0 gives the header only, a valid
 * empty list. Returns 0 and *out (caller frees with free()), -EINVAL when a
 * MAC is not canonical, appears twice or a VLAN is above 4094 (nothing
 * rendered), -ENOMEM. */
int hfiles_render_acl(const struct hfiles_acl *a, unsigned n, bool with_vlan, char **out);

struct hfiles_psk {
	const char *keyid;   /* 1..31 of [A-Za-z0-9_.-], unique in the file */
	unsigned vlan;       /* 1..4094, 0 = none (the BSS's bridge) */
	const char *psk_hex; /* 64 hex digits (either case; written lower case) */
};

/* hostapd's wpa_psk_file: a header comment, then for each entry, sorted by
 * keyid: "keyid=<id>[ vlanid=<vid>] 00:00:00:00:00:00 <psk hex>\n".
 * Every entry is checked first; -EINVAL (nothing rendered) if any keyid,
 * psk_hex or vlan is out of the rules above, a keyid repeats, or a line
 * would not fit HFILES_MAX_LINE (only a keyid over 25 characters with a
 * 4-digit VLAN can: such a line is 102 bytes + the keyid's). Returns 0 and *out (caller frees),
 * or -ENOMEM. */
int hfiles_render_psk(const struct hfiles_psk *p, unsigned n, char **out);

/* WPA2 PSK = PBKDF2-HMAC-SHA1(passphrase, ssid, 4096 rounds, 32 bytes),
 * written as 64 lower-case hex digits + NUL. passphrase: 8..63 printable
 * ASCII; ssid: 1..32 bytes (any). 0, -EINVAL, or -EIO (libcrypto failed).
 * Costs a few milliseconds: do it once per issued key, not per reload. */
int hfiles_psk_hex(const char *passphrase, const char *ssid, size_t ssid_len, char hex[65]);

/* A new per-device key from getrandom():
 *   keyid      "apg-" + 8 lower-case hex digits (32 random bits: the caller
 *              must still check it against the keyids it already issued);
 *   passphrase 4 groups of 5 characters joined by '-', e.g.
 *              "Kp7xq-M3raZ-9hWcd-tn4Ue" (23 characters), drawn without
 *              bias from the 56 characters 2-9 A-Z a-z minus 0 O o 1 l I:
 *              20 * log2(56) = 116 bits of entropy.
 * 0, or the negative errno of getrandom(). */
#define HFILES_PASS_ALPHABET "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
int hfiles_new_key(char keyid[32], char passphrase[32]);

/* Writes text to path atomically: a temporary file in the same directory,
 * fchmod(mode), write, fsync, rename over path, fsync of the directory.
 * Returns 1 when written, 0 when path already held exactly these bytes
 * (nothing rewritten, so hostapd need not be told; its mode is set to mode
 * if it differed), or a negative errno with the old file untouched and no
 * temporary file left. Exception: if only the final directory fsync fails,
 * the new file is in place and that error is returned. */
int hfiles_write(const char *path, const char *text, mode_t mode);

/* Creates path as a valid empty list (one comment line; valid as accept,
 * deny and psk file) with mode, atomically (link() of a synced temporary
 * file: never a half file, never overwrites). Returns 1 created, 0 it
 * already existed (left as it is, whatever it holds), or a negative errno. */
int hfiles_ensure(const char *path, mode_t mode);

/* "<data_dir>/<ifname>.<ext>", malloc'd (caller frees); NULL with errno
 * ENAMETOOLONG when longer than PATH_MAX - 1, or ENOMEM. */
char *hfiles_path(const char *data_dir, const char *ifname, const char *ext);

#endif
