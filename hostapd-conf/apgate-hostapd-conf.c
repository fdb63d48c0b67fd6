/* apgate-hostapd-conf - writes hostapd's configuration for the two-SSID
 * access point from apgate's configuration.
 *
 *   apgate-hostapd-conf -c apgate.conf -o DIR [-d DIR2]   writes DIR/hostapd.{conf,accept,deny,vlan}
 *   apgate-hostapd-conf -c apgate.conf -n [-o DIR|-d DIR2] prints them instead
 *
 * hostapd.conf names the other files under DIR2 (default DIR, made
 * absolute). Each file is written to a temporary file in DIR, synced and
 * renamed over the old one, so hostapd never reads half a file.
 * Exit: 0 done, 1 cannot write, 2 usage, 3 configuration errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "gen.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: apgate-hostapd-conf -c APGATE.CONF (-o DIR | -n) [-d DIR]\n"
		   "  -c FILE  apgate's configuration\n"
		   "  -o DIR   write DIR/" HCONF_CONF ", " HCONF_ACCEPT ", " HCONF_DENY ", " HCONF_VLAN "\n"
		   "  -n       print the files to stdout instead of writing them\n"
		   "  -d DIR   directory that hostapd.conf names the other files in (default: -o DIR)\n");
}

static int write_atomic(const char *dir, const char *name, const char *text)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	size_t len = strlen(text), off = 0;
	int fd;

	if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= sizeof(dst) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp)) {
		fprintf(stderr, "apgate-hostapd-conf: %s/%s: path too long\n", dir, name);
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "apgate-hostapd-conf: %s: %s\n", tmp, strerror(errno));
		return -1;
	}
	/* hostapd.conf holds the passphrases */
	if (fchmod(fd, strcmp(name, HCONF_CONF) == 0 ? 0600 : 0644) < 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "apgate-hostapd-conf: %s: %s\n", dst, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
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
	cfg_free(c);
	if (r < 0) {
		fprintf(stderr, "apgate-hostapd-conf: out of memory\n");
		return 1;
	}
	r = 0;
	if (dry) {
		printf("### %s\n%s### %s\n%s### %s\n%s### %s\n%s", HCONF_CONF, files.conf, HCONF_ACCEPT, files.accept,
		       HCONF_DENY, files.deny, HCONF_VLAN, files.vlan);
	} else {
		/* the lists first: hostapd.conf names them and must never point at a missing file */
		if (write_atomic(out_dir, HCONF_ACCEPT, files.accept) < 0 || write_atomic(out_dir, HCONF_DENY, files.deny) < 0 ||
		    write_atomic(out_dir, HCONF_VLAN, files.vlan) < 0 || write_atomic(out_dir, HCONF_CONF, files.conf) < 0)
			r = 1;
	}
	hconf_files_free(&files);
	return r;
}
