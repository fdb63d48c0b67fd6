/* fuzz_adm - libFuzzer target for the admin socket's request handling
 * (controller/front/adm.c). The JSON line parser is static, so each input
 * goes where apgatectl's lines go: a real adm on a UNIX socket in a temp
 * directory, over a ctl with a real registry (observe-only: no zones, no
 * firewall, hostapd absent), all made once in LLVMFuzzerInitialize.
 *
 * Per input: a fresh connection, the input up to its first newline as one
 * request line, then the daemon's loop runs until the one reply line
 * arrives; that reply must be a JSON object with a boolean "ok". A request
 * that keeps the connection ("events" with "follow") still answers first.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl/ctl.h"
#include "front/adm.h"
#include "log.h"
#include "model/reg.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fx {
	char dir[64];
	char sock[128];
	char cfgpath[128];
	struct cfg *cfg;
	struct event_base *base;
	struct reg *reg;
	struct ctl *ctl;
	struct adm *adm;
};

/* libFuzzer's entry points carry no user data: the fixture lives here. */
static struct fx fx;

static void cleanup(void)
{
	char path[512];
	DIR *d;
	struct dirent *e;

	adm_free(fx.adm);
	ctl_free(fx.ctl);
	reg_close(fx.reg);
	event_base_free(fx.base);
	cfg_free(fx.cfg);
	/* the registry, the config, the socket, the lists and keys the
	 * decisions wrote: all plain files directly in the directory */
	d = opendir(fx.dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", fx.dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(fx.dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[200];
	FILE *fp;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/apgate-fuzz-adm-XXXXXX");
	if (!mkdtemp(fx.dir))
		abort();
	snprintf(fx.sock, sizeof(fx.sock), "%s/admin.sock", fx.dir);
	snprintf(fx.cfgpath, sizeof(fx.cfgpath), "%s/apgate.conf", fx.dir);
	fp = fopen(fx.cfgpath, "w");
	if (!fp)
		abort();
	fprintf(fp, "[apgated]\nregistry = %s/reg.db\nadmin_socket = %s\noui_dir =\n"
		    "[hostapd]\nctrl_dir = %s/nohostapd\nclient_dir = %s\ndata_dir = %s\n[bss ap0]\nzone = work\n",
		fx.dir, fx.sock, fx.dir, fx.dir, fx.dir);
	fclose(fp);
	log_open("fuzz_adm", LOG_LVL_ERR, false);
	log_set_level(LOG_LVL_ERR);
	if (cfg_load(fx.cfgpath, stderr, &fx.cfg) < 0)
		abort();
	fx.base = event_base_new();
	snprintf(path, sizeof(path), "%s/reg.db", fx.dir);
	struct ctl_enforcers enf = { 0 };
	if (!fx.base || reg_open(path, &fx.reg) < 0 ||
	    ctl_new(fx.base, fx.cfg, fx.reg, NULL, &enf, &fx.ctl) < 0)
		abort();
	struct adm_cfg ac = { fx.sock, 0600, NULL, fx.cfgpath };
	if (adm_new(fx.base, fx.ctl, &ac, &fx.adm) < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static int connect_adm(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		abort();
	util_strlcpy(sun.sun_path, fx.sock, sizeof(sun.sun_path));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		abort();
	return fd;
}

/* The reply line number k (0-based) in buf, parsed; aborts unless it is
 * an object with a boolean "ok". */
static json_t *reply_at(const char *buf, size_t len, int k)
{
	const char *p = buf, *nl;
	json_error_t e;

	for (;;) {
		nl = memchr(p, '\n', len - (size_t)(p - buf));
		if (!nl)
			abort();
		if (k-- == 0)
			break;
		p = nl + 1;
	}
	json_t *j = json_loadb(p, (size_t)(nl - p), 0, &e);
	if (!json_is_object(j) || !json_is_boolean(json_object_get(j, "ok"))) {
		fprintf(stderr, "bad reply: %.*s\n", (int)(nl - p), p);
		abort();
	}
	return j;
}

static int count_lines(const char *buf, size_t len)
{
	int n = 0;

	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char ping[] = "{\"cmd\":\"ping\"}\n";
	/* grows: "events" may answer with up to 100,000 entries on one line */
	static char *reply;
	static size_t cap;
	const uint8_t *nl = memchr(data, '\n', size);
	size_t n = nl ? (size_t)(nl - data) : size;
	size_t total = n + 1 + sizeof(ping) - 1, got = 0, off = 0;
	/* an empty line is skipped without a reply; any other gets one */
	int want = n ? 2 : 1;
	char *out = malloc(total);
	int fd = connect_adm();
	long long deadline = util_mono_ms() + 10000;

	if (!out)
		abort();
	memcpy(out, data, n);
	out[n] = '\n';
	memcpy(out + n + 1, ping, sizeof(ping) - 1);
	if (!reply && !(reply = malloc(cap = 2 * ADM_MAX_LINE)))
		abort();
	int lines = 0;
	while (lines < want) {
		if (got == cap) {
			if (cap >= 256u << 20 || !(reply = realloc(reply, cap *= 2)))
				abort(); /* a reply line without end */
		}
		if (off < total) {
			ssize_t w = write(fd, out + off, total - off);
			if (w > 0)
				off += (size_t)w;
			else if (errno != EAGAIN)
				abort();
		}
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
		ssize_t r = read(fd, reply + got, cap - got);
		if (r > 0) {
			lines += count_lines(reply + got, (size_t)r);
			got += (size_t)r;
		} else if (r == 0 || errno != EAGAIN) {
			abort(); /* the daemon closed the connection */
		}
		if (util_mono_ms() > deadline)
			abort(); /* no reply */
	}
	if (n)
		json_decref(reply_at(reply, got, 0));
	/* and the connection still serves: the ping that followed is answered
	 * (a follower's event lines could come between; none do here, as
	 * nothing else happens meanwhile) */
	json_t *p = reply_at(reply, got, want - 1);
	if (!json_is_true(json_object_get(p, "ok")))
		abort();
	json_decref(p);
	close(fd);
	/* let the daemon see the close before the next input */
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
	free(out);
	return 0;
}
