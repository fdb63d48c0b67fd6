/* apgate-hostapd-conf - writes hostapd's configuration for the two-SSID
 * access point from apgate's configuration.
 *
 *   apgate-hostapd-conf -c apgate.conf -o DIR [-d DIR2]   writes DIR/hostapd.{conf,vlan}
 *   apgate-hostapd-conf -c apgate.conf -n [-o DIR|-d DIR2] prints them instead
 *
 * hostapd.conf names hostapd.vlan under DIR2 (default DIR, made absolute)
 * and each BSS's MAC lists (and PPSK file) in [hostapd] data_dir:
 * <data_dir>/<ifname>.accept, .deny, .psk. apgated owns those and rewrites
 * them at run time; this program only creates data_dir (0750) and the
 * lists that are missing, empty (hostapd refuses to start without them),
 * and never overwrites one. Each file is written to a temporary file in its
 * directory, synced and renamed over the old one (controller/io/hfiles), so
 * hostapd never reads half a file; hostapd.conf last, so it never names a
 * missing file. Exit: 0 done, 1 cannot write, 2 usage, 3 configuration errors.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "gen.h"
#include "io/hfiles.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: apgate-hostapd-conf -c APGATE.CONF (-o DIR | -n) [-d DIR]\n"
		   "  -c FILE  apgate's configuration\n"
		   "  -o DIR   write DIR/" HCONF_CONF " and DIR/" HCONF_VLAN "; create [hostapd] data_dir and\n"
		   "           the per-BSS lists hostapd.conf names there (IFNAME.accept, .deny, .psk) when\n"
		   "           missing, empty; existing lists are apgated's and are never overwritten\n"
		   "  -n       print the files (and the lists' paths) to stdout instead of writing them\n"
		   "  -d DIR   directory that hostapd.conf names " HCONF_VLAN " in (default: -o DIR)\n");
}

/* mkdir -p with mode for the components it creates. 0 or -errno. */
static int make_dirs(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	struct stat st;

	if (util_strlcpy(p, path, sizeof(p)) >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = c;
		if (!c)
			break;
	}
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static int put(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	int r;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		r = -ENAMETOOLONG;
	else
		r = hfiles_write(path, text, mode);
	if (r < 0)
		fprintf(stderr, "apgate-hostapd-conf: %s/%s: %s\n", dir, name, strerror(-r));
	return r;
}

/* Creates data_dir and the missing lists. 0 or -1 (said on stderr). */
static int ensure_lists(const char *data_dir, const struct hconf_ap *ap)
{
	struct hconf_list l[HCONF_MAX_LISTS];
	unsigned n = hconf_lists(ap, l);
	int r;

	if ((r = make_dirs(data_dir, 0750)) < 0) {
		fprintf(stderr, "apgate-hostapd-conf: %s: %s\n", data_dir, strerror(-r));
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		_cleanup_free_ char *path = hfiles_path(data_dir, l[i].ifname, l[i].ext);
		if (!path) {
			fprintf(stderr, "apgate-hostapd-conf: %s/%s.%s: %s\n", data_dir, l[i].ifname, l[i].ext,
				strerror(errno));
			return -1;
		}
		r = hfiles_ensure(path, strcmp(l[i].ext, "psk") ? HFILES_MODE_LIST : HFILES_MODE_PSK);
		if (r < 0) {
			fprintf(stderr, "apgate-hostapd-conf: %s: %s\n", path, strerror(-r));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *cfg_path = NULL, *out_dir = NULL, *ref_dir = NULL;
	char abs_dir[PATH_MAX];
	bool dry = false;
	struct cfg *c = NULL;
	struct hconf_ap ap;
	struct hconf_files files;
	int opt, r;

	while ((opt = getopt(argc, argv, "c:o:d:nh")) != -1) {
		switch (opt) {
		case 'c': cfg_path = optarg; break;
		case 'o': out_dir = optarg; break;
		case 'd': ref_dir = optarg; break;
		case 'n': dry = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !cfg_path || (!out_dir && !dry) || (dry && !out_dir && !ref_dir)) {
		usage(stderr);
		return 2;
	}
	if (!ref_dir) {
		if (!realpath(out_dir, abs_dir)) {
			fprintf(stderr, "apgate-hostapd-conf: %s: %s\n", out_dir, strerror(errno));
			return 1;
		}
		ref_dir = abs_dir;
	}
	r = cfg_load(cfg_path, stderr, &c);
	if (r == -EINVAL)
		return 3;
	if (r < 0)
		return r == -ENOMEM ? 1 : 3;
	if (hconf_prepare(c, &ap, stderr) < 0 || (r = hconf_render(c, &ap, ref_dir, &files, stderr)) == -EINVAL) {
		cfg_free(c);
		return 3;
	}
	if (r < 0) {
		fprintf(stderr, "apgate-hostapd-conf: out of memory\n");
		cfg_free(c);
		return 1;
	}
	r = 0;
	if (dry) {
		struct hconf_list l[HCONF_MAX_LISTS];
		unsigned n = hconf_lists(&ap, l);

		printf("### %s\n%s### %s\n%s", HCONF_CONF, files.conf, HCONF_VLAN, files.vlan);
		printf("### lists kept by apgated (created empty when missing)\n");
		for (unsigned i = 0; i < n; i++)
			printf("%s/%s.%s\n", c->data_dir, l[i].ifname, l[i].ext);
	} else {
		/* the lists and the VLAN file first: hostapd.conf names them and
		 * must never point at a missing file. hostapd.conf holds the
		 * passphrases. */
		if (ensure_lists(c->data_dir, &ap) < 0 || put(out_dir, HCONF_VLAN, files.vlan, 0644) < 0 ||
		    put(out_dir, HCONF_CONF, files.conf, 0600) < 0)
			r = 1;
	}
	cfg_free(c); /* ap points into it */
	hconf_files_free(&files);
	return r;
}
