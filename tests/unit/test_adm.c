/* The admin socket, end to end over a real UNIX socket with a real registry:
 * bad input gets an error reply and the same connection keeps serving;
 * decisions are stored, audited with the peer's user name, and followers
 * see them as they happen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl/ctl.h"
#include "front/adm.h"
#include "io/fw.h"
#include "io/fw_plan.h"
#include "log.h"
#include "model/reg.h"
#include "util.h"

/* A firewall backend in memory: what was committed is what reads back. */
struct fake_fw {
	struct fw_ktable t[2][FW_TID_N]; /* [ipv4, ipv6][table] */
};

static struct fw_ktable *fake_table(struct fake_fw *k, int family, const char *table)
{
	for (int tid = 0; tid < FW_TID_N; tid++)
		if (strcmp(fw_tid_name(tid), table) == 0)
			return &k->t[family == AF_INET ? 0 : 1][tid];
	return NULL;
}

static int fake_commit(void *ud, const struct fw_table *t)
{
	struct fw_ktable *k = fake_table(ud, t->family, t->name);

	memset(k, 0, sizeof(*k));
	for (unsigned i = 0; i < t->n_chains; i++) {
		struct fw_kchain *c = &k->chains[k->n++];
		util_strlcpy(c->name, t->chains[i].name, sizeof(c->name));
		c->rules = t->chains[i].n;
		if (t->chains[i].hook) {
			util_strlcpy(c->hook, t->chains[i].hook, sizeof(c->hook));
			c->hook_pos = 1;
			c->hook_jumps = 1;
		}
	}
	return 0;
}

static int fake_flush(void *ud, int family, const char *table)
{
	memset(fake_table(ud, family, table), 0, sizeof(struct fw_ktable));
	return 0;
}

static int fake_read(void *ud, int family, const char *table, struct fw_ktable *out)
{
	*out = *fake_table(ud, family, table);
	return 0;
}

static const struct fw_ops fake_ops = { .name = "fake", .commit = fake_commit, .flush = fake_flush };
static const struct fw_read_ops fake_read_ops = { .read = fake_read };

struct fx {
	struct fake_fw fake;
	struct fw *fw;
	char dir[64];
	char sock[128];
	char cfgpath[128];
	struct cfg *cfg;
	struct event_base *base;
	struct reg *reg;
	struct ctl *ctl;
	struct adm *adm;
};

static int client(struct fx *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	util_strlcpy(sun.sun_path, f->sock, sizeof(sun.sun_path));
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void send_all(struct fx *f, int fd, const char *s, size_t n)
{
	size_t off = 0;
	long long deadline = util_mono_ms() + 5000;

	while (off < n) {
		ssize_t w = write(fd, s + off, n - off);
		if (w > 0)
			off += (size_t)w;
		else
			event_base_loop(f->base, EVLOOP_NONBLOCK);
		assert_true(util_mono_ms() < deadline);
	}
}

/* Reads one reply line while running the daemon's loop; returns it parsed. */
static json_t *recv_line(struct fx *f, int fd)
{
	static char buf[1 << 20];
	static size_t len;
	long long deadline = util_mono_ms() + 5000;

	for (;;) {
		char *nl = memchr(buf, '\n', len);
		if (nl) {
			json_error_t e;
			json_t *j = json_loadb(buf, (size_t)(nl - buf), 0, &e);
			len -= (size_t)(nl - buf) + 1;
			memmove(buf, nl + 1, len);
			assert_non_null(j);
			return j;
		}
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		ssize_t r = read(fd, buf + len, sizeof(buf) - len);
		if (r > 0)
			len += (size_t)r;
		else
			assert_true(r < 0 && errno == EAGAIN);
		assert_true(util_mono_ms() < deadline);
	}
}

static json_t *roundtrip(struct fx *f, int fd, const char *line)
{
	send_all(f, fd, line, strlen(line));
	return recv_line(f, fd);
}

static const char *err_code(json_t *rep)
{
	assert_true(json_is_false(json_object_get(rep, "ok")));
	return json_string_value(json_object_get(json_object_get(rep, "error"), "code"));
}

static void assert_ok(json_t *rep)
{
	if (!json_is_true(json_object_get(rep, "ok"))) {
		char *s = json_dumps(rep, 0);
		fail_msg("not ok: %s", s);
	}
}

static int setup_with(void **state, const char *extra);

static int setup(void **state)
{
	return setup_with(state, NULL);
}

/* Zones, and the firewall enforced through the fake backend. */
static int setup_zones(void **state)
{
	return setup_with(state, "[zone work]\ninterface = apgt-w0\naddress = 10.77.0.1/24\n"
				 "[zone guest]\ninterface = apgt-g0\naddress = 10.78.0.1/24\n"
				 "[network]\nuplink = apgt-up0\n[portal]\nenabled = no\n"
				 "[bss ap1]\nzone = guest\n");
}

static int setup_with(void **state, const char *extra)
{
	struct fx *f = calloc(1, sizeof(*f));
	char path[200];
	FILE *fp;

	snprintf(f->dir, sizeof(f->dir), "/tmp/apgate-adm-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/admin.sock", f->dir);
	snprintf(f->cfgpath, sizeof(f->cfgpath), "%s/apgate.conf", f->dir);
	fp = fopen(f->cfgpath, "w");
	/* hostapd is absent: the clients keep retrying in the background,
	 * which the admin socket must not mind. */
	fprintf(fp, "[apgated]\nregistry = %s/reg.db\nadmin_socket = %s\noui_dir =\n"
		    "[hostapd]\nctrl_dir = %s/nohostapd\nclient_dir = %s\ndata_dir = %s\n[bss ap0]\nzone = work\n",
		f->dir, f->sock, f->dir, f->dir, f->dir);
	if (extra)
		fputs(extra, fp);
	fclose(fp);
	log_open("test_adm", LOG_LVL_ERR, false);
	if (cfg_load(f->cfgpath, stderr, &f->cfg) < 0)
		return -1;
	f->base = event_base_new();
	snprintf(path, sizeof(path), "%s/reg.db", f->dir);
	struct ctl_enforcers enf = { 0 };
	if (extra) {
		if (fw_new(&fake_ops, &f->fake, &f->fw) < 0)
			return -1;
		fw_set_reader(f->fw, &fake_read_ops, &f->fake);
		enf.fw = f->fw;
	}
	if (reg_open(path, &f->reg) < 0 || ctl_new(f->base, f->cfg, f->reg, NULL, &enf, &f->ctl) < 0)
		return -1;
	struct adm_cfg ac = { f->sock, 0600, NULL, f->cfgpath };
	if (adm_new(f->base, f->ctl, &ac, &f->adm) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[200];

	adm_free(f->adm);
	ctl_free(f->ctl);
	fw_free(f->fw);
	reg_close(f->reg);
	event_base_free(f->base);
	cfg_free(f->cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void test_bad_input_keeps_connection(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	json_t *r;
	char *big;

	r = roundtrip(f, fd, "{\"cmd\": \"status\"\n"); /* unterminated object */
	assert_string_equal(err_code(r), "bad_json");
	json_decref(r);
	r = roundtrip(f, fd, "[1,2,3]\n");
	assert_string_equal(err_code(r), "bad_request");
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"reboot\"}\n");
	assert_string_equal(err_code(r), "unknown_command");
	json_decref(r);
	r = roundtrip(f, fd, "\xff\xfe{\"cmd\":1}\n");
	assert_string_equal(err_code(r), "bad_json");
	json_decref(r);

	big = malloc(200 * 1024 + 2);
	memset(big, 'a', 200 * 1024);
	big[0] = '{';
	big[200 * 1024] = '\n';
	send_all(f, fd, big, 200 * 1024 + 1);
	free(big);
	r = recv_line(f, fd);
	assert_string_equal(err_code(r), "too_large");
	json_decref(r);

	/* after all that, the very same connection still answers */
	r = roundtrip(f, fd, "{\"cmd\":\"status\"}\n");
	assert_ok(r);
	assert_string_equal(json_string_value(json_object_get(r, "version")), APGATE_VERSION);
	json_t *bss = json_array_get(json_object_get(r, "bss"), 0);
	assert_string_equal(json_string_value(json_object_get(bss, "ifname")), "ap0");
	assert_true(json_is_false(json_object_get(bss, "attached")));
	json_decref(r);
	close(fd);
}

static void test_decisions_audited(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	struct passwd *pw = getpwuid(getuid());
	json_t *r, *d, *ev, *last;

	r = roundtrip(f, fd, "{\"cmd\":\"approve\",\"mac\":\"02:00:00:00:00:99\",\"as\":\"business\"}\n");
	assert_string_equal(err_code(r), "not_found");
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"block\",\"mac\":\"not-a-mac\"}\n");
	assert_string_equal(err_code(r), "invalid_argument");
	json_decref(r);

	/* an admin may block ahead of time: the device is created blocked */
	r = roundtrip(f, fd, "{\"cmd\":\"block\",\"mac\":\"02-00-00-00-00-AA\"}\n");
	assert_ok(r);
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"devices\",\"state\":\"blocked\"}\n");
	assert_ok(r);
	assert_int_equal(json_array_size(json_object_get(r, "devices")), 1);
	d = json_array_get(json_object_get(r, "devices"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "mac")), "02:00:00:00:00:aa");
	assert_string_equal(json_string_value(json_object_get(d, "decided_by")), pw->pw_name);
	assert_string_equal(json_string_value(json_object_get(d, "decided_via")), "cli");
	json_decref(r);

	r = roundtrip(f, fd, "{\"cmd\":\"approve\",\"mac\":\"02:00:00:00:00:aa\",\"as\":\"business\",\"type\":\"toaster\"}\n");
	assert_string_equal(err_code(r), "invalid_argument");
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"approve\",\"mac\":\"02:00:00:00:00:aa\",\"as\":\"staff\"}\n");
	assert_string_equal(err_code(r), "invalid_argument");
	json_decref(r);

	/* hostile text is stored and returned verbatim */
	r = roundtrip(f, fd, "{\"cmd\":\"approve\",\"mac\":\"0200000000aa\",\"as\":\"business\","
			     "\"label\":\"<img src=x onerror=alert(1)>'; DROP TABLE devices;--\",\"type\":\"pos\"}\n");
	assert_ok(r);
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"show\",\"mac\":\"02:00:00:00:00:aa\"}\n");
	assert_ok(r);
	d = json_object_get(r, "device");
	assert_string_equal(json_string_value(json_object_get(d, "state")), "approved");
	assert_string_equal(json_string_value(json_object_get(d, "class")), "business");
	assert_string_equal(json_string_value(json_object_get(d, "type")), "pos");
	assert_string_equal(json_string_value(json_object_get(d, "label")),
			    "<img src=x onerror=alert(1)>'; DROP TABLE devices;--");
	ev = json_object_get(d, "events");
	assert_true(json_array_size(ev) >= 2);
	last = json_array_get(ev, json_array_size(ev) - 1);
	assert_string_equal(json_string_value(json_object_get(last, "kind")), "audit");
	assert_string_equal(json_string_value(json_object_get(last, "action")), "approve");
	assert_string_equal(json_string_value(json_object_get(last, "actor")), pw->pw_name);
	assert_string_equal(json_string_value(json_object_get(last, "via")), "cli");
	json_decref(r);

	r = roundtrip(f, fd, "{\"cmd\":\"forget\",\"mac\":\"02:00:00:00:00:aa\"}\n");
	assert_ok(r);
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"show\",\"mac\":\"02:00:00:00:00:aa\"}\n");
	assert_string_equal(err_code(r), "not_found");
	json_decref(r);
	/* the audit trail outlives the device */
	r = roundtrip(f, fd, "{\"cmd\":\"events\",\"limit\":1}\n");
	assert_ok(r);
	last = json_array_get(json_object_get(r, "events"), 0);
	assert_string_equal(json_string_value(json_object_get(last, "action")), "forget");
	assert_string_equal(json_string_value(json_object_get(last, "mac")), "02:00:00:00:00:aa");
	json_decref(r);
	close(fd);
}

static void test_follow_sees_decisions(void **state)
{
	struct fx *f = *state;
	int follower = client(f), admin = client(f);
	json_t *r, *e;

	r = roundtrip(f, follower, "{\"cmd\":\"events\",\"follow\":true,\"limit\":0}\n");
	assert_ok(r);
	json_decref(r);
	r = roundtrip(f, admin, "{\"cmd\":\"block\",\"mac\":\"02:00:00:00:00:bb\"}\n");
	assert_ok(r);
	json_decref(r);
	r = recv_line(f, follower);
	e = json_object_get(r, "event");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "action")), "block");
	assert_string_equal(json_string_value(json_object_get(e, "mac")), "02:00:00:00:00:bb");
	json_decref(r);

	/* a follower that itself decides is told too, and is not torn down */
	r = roundtrip(f, follower, "{\"cmd\":\"forget\",\"mac\":\"02:00:00:00:00:bb\"}\n");
	if (json_object_get(r, "event")) { /* the event may come before the reply */
		json_decref(r);
		r = recv_line(f, follower);
		assert_ok(r);
	} else {
		assert_ok(r);
		json_decref(r);
		r = recv_line(f, follower);
		assert_string_equal(json_string_value(json_object_get(json_object_get(r, "event"), "action")), "forget");
	}
	json_decref(r);
	close(follower);
	close(admin);
}

/* Device data that is not UTF-8 (a DHCP hostname) is shown with U+FFFD for
 * each bad byte; valid characters around it are kept. */
static void test_invalid_utf8_shown_safely(void **state)
{
	struct fx *f = *state;
	struct reg_lease l = { .action = REG_LEASE_ADD, .mac = "02:00:00:00:00:cc", .ip = "10.77.0.9",
			       .hostname = "caf\xc3\xa9-\xff\xfe<b>", .seen = true,
			       .initial = REG_PENDING, .now = 1700000000000 };
	int fd = client(f);
	json_t *r, *d;

	assert_int_equal(reg_lease(f->reg, &l, NULL), 0);
	r = roundtrip(f, fd, "{\"cmd\":\"show\",\"mac\":\"02:00:00:00:00:cc\"}\n");
	assert_ok(r);
	d = json_object_get(r, "device");
	assert_string_equal(json_string_value(json_object_get(d, "hostname")),
			    "caf\xc3\xa9-\xef\xbf\xbd\xef\xbf\xbd<b>");
	json_decref(r);
	close(fd);
}

/* dnsmasq's lease helper feeds IP, hostname and the DHCP fingerprint; a
 * hostile hostname is stored and returned verbatim, as data. */
static void test_lease_recorded(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	json_t *r, *d;

	if (getuid() != 0)
		skip(); /* the verb is root-only, like dnsmasq's script */
	r = roundtrip(f, fd, "{\"cmd\":\"lease\",\"action\":\"add\",\"mac\":\"02:00:00:00:00:dd\","
			     "\"ip\":\"10.77.0.140\",\"hostname\":null,"
			     "\"supplied_hostname\":\"<img src=x onerror=alert(1)>;$(reboot)\","
			     "\"vendor_class\":\"android-dhcp-13\",\"requested_options\":\"1,3,6,15,26,28,51,58,59,43,114\","
			     "\"interface\":\"ap0\",\"data_missing\":false}\n");
	assert_ok(r);
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"show\",\"mac\":\"02:00:00:00:00:dd\"}\n");
	assert_ok(r);
	d = json_object_get(r, "device");
	assert_string_equal(json_string_value(json_object_get(d, "state")), "pending");
	assert_string_equal(json_string_value(json_object_get(d, "ip")), "10.77.0.140");
	assert_string_equal(json_string_value(json_object_get(d, "hostname")), "<img src=x onerror=alert(1)>;$(reboot)");
	assert_string_equal(json_string_value(json_object_get(d, "dhcp_vendor_class")), "android-dhcp-13");
	assert_string_equal(json_string_value(json_object_get(d, "dhcp_options")), "1,3,6,15,26,28,51,58,59,43,114");
	assert_true(json_is_null(json_object_get(d, "claim_name")));
	assert_true(json_is_null(json_object_get(d, "claimed_at")));
	json_decref(r);
	/* what its user says on the captive page shows up, as said */
	struct reg_claim cl = { .name = "Reception <PC>", .owner = "Aiko", .cls = REG_CLASS_PERSONAL };
	assert_int_equal(ctl_claim(f->ctl, "02:00:00:00:00:dd", &cl), 0);
	r = roundtrip(f, fd, "{\"cmd\":\"show\",\"mac\":\"02:00:00:00:00:dd\"}\n");
	d = json_object_get(r, "device");
	assert_string_equal(json_string_value(json_object_get(d, "claim_name")), "Reception <PC>");
	assert_string_equal(json_string_value(json_object_get(d, "claim_owner")), "Aiko");
	assert_string_equal(json_string_value(json_object_get(d, "claim_class")), "personal");
	assert_true(json_is_string(json_object_get(d, "claimed_at")));
	assert_string_equal(json_string_value(json_object_get(d, "state")), "pending"); /* not a decision */
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"lease\",\"action\":\"grab\",\"mac\":\"02:00:00:00:00:dd\",\"ip\":\"10.77.0.140\"}\n");
	assert_string_equal(err_code(r), "invalid_argument");
	json_decref(r);
	close(fd);
}

/* A device that appears raises "new_device"; once someone decides about
 * it, that alert is no longer open (the badge counts what still waits). */
static size_t open_alerts_about(struct fx *f, int fd, const char *mac, const char *kind)
{
	json_t *r = roundtrip(f, fd, "{\"cmd\":\"alerts\",\"all\":false}\n"), *a;
	size_t i, n = 0;

	assert_ok(r);
	json_array_foreach(json_object_get(r, "alerts"), i, a)
		if (json_is_string(json_object_get(a, "mac")) &&
		    !strcmp(json_string_value(json_object_get(a, "mac")), mac) &&
		    !strcmp(json_string_value(json_object_get(a, "kind")), kind))
			n++;
	json_decref(r);
	return n;
}

static void test_new_device_alert_settled(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	json_t *r;

	if (getuid() != 0)
		skip(); /* the lease verb is root-only */
	for (int i = 0; i < 3; i++) {
		char line[512];
		snprintf(line, sizeof(line), "{\"cmd\":\"lease\",\"action\":\"add\",\"mac\":\"02:00:00:00:0e:0%d\","
			 "\"ip\":\"10.77.0.%d\",\"hostname\":null,\"supplied_hostname\":null,\"vendor_class\":null,"
			 "\"requested_options\":null,\"interface\":\"ap0\",\"data_missing\":false}\n", i, 150 + i);
		r = roundtrip(f, fd, line);
		assert_ok(r);
		json_decref(r);
		assert_int_equal(open_alerts_about(f, fd, i ? "02:00:00:00:0e:01" : "02:00:00:00:0e:00", "new_device"), 1);
	}
	r = roundtrip(f, fd, "{\"cmd\":\"approve\",\"mac\":\"02:00:00:00:0e:00\",\"as\":\"business\"}\n");
	assert_ok(r);
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"block\",\"mac\":\"02:00:00:00:0e:01\"}\n");
	assert_ok(r);
	json_decref(r);
	assert_int_equal(open_alerts_about(f, fd, "02:00:00:00:0e:00", "new_device"), 0);
	assert_int_equal(open_alerts_about(f, fd, "02:00:00:00:0e:01", "new_device"), 0);
	assert_int_equal(open_alerts_about(f, fd, "02:00:00:00:0e:01", "blocked"), 1);
	assert_int_equal(open_alerts_about(f, fd, "02:00:00:00:0e:02", "new_device"), 1); /* still waits */
	r = roundtrip(f, fd, "{\"cmd\":\"alerts\",\"all\":true}\n");
	assert_ok(r); /* the settled one is kept, acknowledged in the decider's name */
	json_t *a;
	size_t i;
	bool seen = false;
	json_array_foreach(json_object_get(r, "alerts"), i, a)
		if (!strcmp(json_string_value(json_object_get(a, "kind")), "new_device") &&
		    !strcmp(json_string_value(json_object_get(a, "mac")), "02:00:00:00:0e:00")) {
			seen = true;
			assert_true(json_is_string(json_object_get(a, "acked_by")));
		}
	assert_true(seen);
	json_decref(r);
	close(fd);
}

/* Anyone else on the admin socket cannot forge leases. */
static void test_lease_refused_for_others(void **state)
{
	struct fx *f = *state;
	pid_t pid;
	int st;

	if (getuid() != 0)
		skip();
	chmod(f->dir, 0755);
	chmod(f->sock, 0666);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		static const char req[] = "{\"cmd\":\"lease\",\"action\":\"add\",\"mac\":\"02:00:00:00:00:ee\",\"ip\":\"10.77.0.9\"}\n";
		char buf[512] = { 0 };
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		util_strlcpy(sun.sun_path, f->sock, sizeof(sun.sun_path));
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || write(fd, req, sizeof(req) - 1) < 0)
			_exit(4);
		if (read(fd, buf, sizeof(buf) - 1) <= 0)
			_exit(5);
		_exit(strstr(buf, "\"permission_denied\"") ? 0 : 6);
	}
	long long deadline = util_mono_ms() + 5000;
	while (waitpid(pid, &st, WNOHANG) == 0) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		assert_true(util_mono_ms() < deadline);
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	struct reg_device *d = NULL;
	assert_int_equal(reg_get(f->reg, "02:00:00:00:00:ee", &d), -ENOENT);
}

static void test_second_daemon_refused(void **state)
{
	struct fx *f = *state;
	struct adm *other = NULL;
	struct adm_cfg ac = { f->sock, 0600, NULL, NULL };

	assert_int_equal(adm_new(f->base, f->ctl, &ac, &other), -EADDRINUSE);
	assert_null(other);
}

/* The health part of status: every check has a name, a level and a
 * sentence; the counts match; hostapd's absence is a problem naming the
 * BSS and its socket path; the registry check carries its figures. */
static json_t *find_check(json_t *health, const char *name)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(health, "checks"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "name")), name))
			return c;
	fail_msg("no check named %s", name);
	return NULL;
}

static void assert_health_shape(json_t *h)
{
	size_t i, probs = 0, warns = 0;
	json_t *c;

	assert_true(json_is_object(h));
	assert_true(json_array_size(json_object_get(h, "checks")) > 0);
	json_array_foreach(json_object_get(h, "checks"), i, c) {
		const char *lv = json_string_value(json_object_get(c, "level"));
		assert_non_null(json_string_value(json_object_get(c, "name")));
		assert_true(json_string_length(json_object_get(c, "message")) > 0);
		assert_non_null(lv);
		assert_true(!strcmp(lv, "ok") || !strcmp(lv, "warn") || !strcmp(lv, "problem"));
		probs += !strcmp(lv, "problem");
		warns += !strcmp(lv, "warn");
	}
	assert_int_equal(json_integer_value(json_object_get(h, "problems")), probs);
	assert_int_equal(json_integer_value(json_object_get(h, "warnings")), warns);
	assert_string_equal(json_string_value(json_object_get(h, "status")),
			    probs ? "problem" : warns ? "warn" : "ok");
}

static void test_health_shape(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	json_t *r, *h, *c;
	char sock[200], want[300];

	r = roundtrip(f, fd, "{\"cmd\":\"status\"}\n");
	assert_ok(r);
	h = json_object_get(r, "health");
	assert_health_shape(h);
	assert_string_equal(json_string_value(json_object_get(h, "status")), "problem");

	c = find_check(h, "hostapd");
	snprintf(sock, sizeof(sock), "%s/nohostapd/ap0", f->dir);
	assert_string_equal(json_string_value(json_object_get(c, "level")), "problem");
	assert_string_equal(json_string_value(json_object_get(c, "bss")), "ap0");
	assert_string_equal(json_string_value(json_object_get(c, "socket")), sock);
	assert_true(json_is_false(json_object_get(c, "attached")));
	snprintf(want, sizeof(want), "ap0 (work BSS): not attached: no hostapd control socket at %s ", sock);
	assert_memory_equal(json_string_value(json_object_get(c, "message")), want, strlen(want));

	c = find_check(h, "registry");
	snprintf(want, sizeof(want), "%s/reg.db", f->dir);
	assert_string_equal(json_string_value(json_object_get(c, "level")), "ok");
	assert_string_equal(json_string_value(json_object_get(c, "path")), want);
	assert_true(json_integer_value(json_object_get(c, "size")) > 0);
	assert_true(json_is_integer(json_object_get(c, "wal_size")));
	assert_int_equal(json_integer_value(json_object_get(c, "schema")), REG_SCHEMA_VERSION);
	assert_int_equal(json_integer_value(json_object_get(c, "devices")), 0);

	/* observing only: no firewall, no dnsmasq, no portal check */
	size_t i;
	json_array_foreach(json_object_get(h, "checks"), i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		assert_true(strcmp(n, "firewall") && strcmp(n, "dnsmasq") && strcmp(n, "portal"));
	}
	json_decref(r);
	close(fd);
}

/* The firewall read back: as committed = ok with the chains' counts; a
 * chain gone, a jump gone, a rule gone = a problem naming it. */
static void test_health_firewall(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	json_t *r, *c;
	struct fw_ktable *filter = &f->fake.t[0][FW_TID_FILTER];

	r = roundtrip(f, fd, "{\"cmd\":\"status\"}\n");
	assert_ok(r);
	assert_health_shape(json_object_get(r, "health"));
	c = find_check(json_object_get(r, "health"), "firewall");
	assert_string_equal(json_string_value(json_object_get(c, "level")), "ok");
	assert_true(json_array_size(json_object_get(c, "chains")) > 4);
	json_t *x = json_array_get(json_object_get(c, "chains"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "family")), "ipv4");
	assert_string_equal(json_string_value(json_object_get(x, "table")), "mangle");
	assert_string_equal(json_string_value(json_object_get(x, "chain")), "APGATE_MARK");
	assert_int_equal(json_integer_value(json_object_get(x, "hook_position")), 1);
	assert_int_equal(json_integer_value(json_object_get(x, "rules")),
			 json_integer_value(json_object_get(x, "planned_rules")));
	/* the uplink and zone interfaces do not exist here */
	c = find_check(json_object_get(r, "health"), "config");
	assert_string_equal(json_string_value(json_object_get(c, "level")), "problem");
	assert_non_null(strstr(json_string_value(json_object_get(c, "message")), "apgt-up0 does not exist"));
	json_decref(r);

	/* the jump to the first filter chain goes away */
	struct fw_kchain *k = &filter->chains[0];
	char name[32];
	util_strlcpy(name, k->name, sizeof(name));
	assert_true(k->hook[0]);
	k->hook[0] = '\0';
	k->hook_pos = k->hook_jumps = 0;
	r = roundtrip(f, fd, "{\"cmd\":\"status\"}\n");
	c = find_check(json_object_get(r, "health"), "firewall");
	assert_string_equal(json_string_value(json_object_get(c, "level")), "problem");
	char want[200];
	snprintf(want, sizeof(want), "%s in filter (IPv4) is not hooked", name);
	assert_memory_equal(json_string_value(json_object_get(c, "message")), want, strlen(want));
	json_decref(r);

	/* the chain goes away altogether */
	filter->chains[0] = filter->chains[--filter->n];
	r = roundtrip(f, fd, "{\"cmd\":\"status\"}\n");
	c = find_check(json_object_get(r, "health"), "firewall");
	snprintf(want, sizeof(want), "%s missing in filter (IPv4): reload apgated", name);
	assert_memory_equal(json_string_value(json_object_get(c, "message")), want, strlen(want));
	json_decref(r);

	/* rebuilt: ok again; then one rule less in ipv6 filter */
	assert_int_equal(ctl_enforce_all(f->ctl), 0);
	f->fake.t[1][FW_TID_FILTER].chains[0].rules--;
	r = roundtrip(f, fd, "{\"cmd\":\"status\"}\n");
	c = find_check(json_object_get(r, "health"), "firewall");
	assert_string_equal(json_string_value(json_object_get(c, "level")), "problem");
	assert_non_null(strstr(json_string_value(json_object_get(c, "message")), "(IPv6) has "));
	assert_int_equal(json_array_size(json_object_get(c, "issues")), 1);
	json_decref(r);
	close(fd);
}

/* Issue 8's verbs: a small shop seeded through the registry. */
static void seed_shop(struct fx *f)
{
	struct reg_actor who = { "it", "cli" };
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = "02:00:00:00:08:01", .bss = "ap0",
			     .vendor = "Seiko Epson Corporation", .initial = REG_PENDING, .now = 1700000000000 };
	struct reg_lease l = { .action = REG_LEASE_ADD, .mac = "02:00:00:00:08:01", .ip = "10.77.0.21",
			       .hostname = "EPSON1234", .seen = true, .initial = REG_PENDING, .now = 1700000000000 };
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Front \xff printer", .owner = "Anna",
				  .type = REG_TYPE_PRINTER };
	struct reg_finding fs[] = { { .mac = "02:00:00:00:08:01", .port = 23, .service = "telnet" },
				    { .mac = "02:00:00:00:08:01", .port = 80, .service = "http-admin", .detail = "Web Config" } };

	assert_int_equal(reg_observe(f->reg, &o, NULL), 0);
	assert_int_equal(reg_lease(f->reg, &l, NULL), 0);
	assert_int_equal(reg_approve(f->reg, "02:00:00:00:08:01", &a, &who, 1700000001000), 0);
	assert_int_equal(reg_set_findings(f->reg, "02:00:00:00:08:01", fs, 2, 1700000002000), 0);
	/* an iPhone nobody decided about: its type is a guess */
	l.mac = "a2:00:00:00:08:02";
	l.ip = "10.77.0.22";
	l.hostname = "iPhone";
	assert_int_equal(reg_lease(f->reg, &l, NULL), 0);
	assert_int_equal(reg_dns_block(f->reg, "a2:00:00:00:08:02", "10.77.0.22", "phish.example", 1700000003000, NULL), 0);
	assert_int_equal(reg_dns_block(f->reg, "a2:00:00:00:08:02", "10.77.0.22", "phish.example", 1700000004000, NULL), 0);
	assert_int_equal(reg_dns_block(f->reg, NULL, "10.77.0.99", "malware.example", 1700000005000, NULL), 0);
	assert_true(reg_unmanaged_seen(f->reg, "00:11:22:33:44:55", "br-work", "10.77.0.99", 1700000006000) >= 0);
}

static void test_inventory(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	json_t *r, *d, *x, *c;
	size_t i;
	long long sum = 0;
	const char *k;

	seed_shop(f);
	r = roundtrip(f, fd, "{\"cmd\":\"inventory\"}\n");
	assert_ok(r);
	c = json_object_get(r, "counts");
	assert_int_equal(json_integer_value(json_object_get(c, "total")), 3);
	assert_int_equal(json_array_size(json_object_get(r, "devices")), 3);
	assert_int_equal(json_integer_value(json_object_get(c, "unmanaged")), 1);
	json_object_foreach(json_object_get(c, "by_type"), k, x)
		sum += json_integer_value(x);
	assert_int_equal(sum, 3);
	sum = 0;
	json_object_foreach(json_object_get(c, "by_zone"), k, x)
		sum += json_integer_value(x);
	assert_int_equal(sum, 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "by_zone"), "work")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "by_zone"), "unmanaged")), 1);
	json_array_foreach(json_object_get(r, "devices"), i, d) {
		const char *mac = json_string_value(json_object_get(d, "mac"));
		if (!strcmp(mac, "02:00:00:00:08:01")) {
			assert_string_equal(json_string_value(json_object_get(d, "type")), "printer");
			assert_true(json_is_false(json_object_get(d, "type_guessed")));
			assert_string_equal(json_string_value(json_object_get(d, "zone")), "work");
			assert_string_equal(json_string_value(json_object_get(d, "label")), "Front \xef\xbf\xbd printer");
			assert_string_equal(json_string_value(json_object_get(d, "vendor")), "Seiko Epson Corporation");
			assert_string_equal(json_string_value(json_object_get(d, "owner")), "Anna");
			x = json_object_get(d, "findings");
			assert_int_equal(json_array_size(x), 2);
			assert_string_equal(json_string_value(json_array_get(x, 0)), "telnet/23");
			assert_string_equal(json_string_value(json_array_get(x, 1)), "http-admin/80");
			assert_int_equal(json_integer_value(json_object_get(d, "n_findings")), 2);
			assert_true(json_is_true(json_object_get(d, "managed")));
		} else if (!strcmp(mac, "a2:00:00:00:08:02")) {
			const char *t = json_string_value(json_object_get(d, "type"));
			/* a guess ends with '?' (a private address at least points to a phone) */
			assert_true(json_is_true(json_object_get(d, "type_guessed")));
			assert_int_equal(t[strlen(t) - 1], '?');
			assert_string_equal(json_string_value(json_object_get(d, "zone")), "onboarding");
			assert_int_equal(json_array_size(json_object_get(d, "findings")), 0);
		} else {
			assert_string_equal(mac, "00:11:22:33:44:55");
			assert_true(json_is_false(json_object_get(d, "managed")));
			assert_string_equal(json_string_value(json_object_get(d, "state")), "unmanaged");
			assert_string_equal(json_string_value(json_object_get(d, "where")), "br-work");
			assert_string_equal(json_string_value(json_object_get(d, "ip")), "10.77.0.99");
		}
	}
	json_decref(r);
	close(fd);
}

static void test_show_check_and_lookups(void **state)
{
	struct fx *f = *state;
	int fd = client(f);
	json_t *r, *d, *x;

	seed_shop(f);
	r = roundtrip(f, fd, "{\"cmd\":\"show\",\"mac\":\"02:00:00:00:08:01\"}\n");
	assert_ok(r);
	d = json_object_get(r, "device");
	assert_true(json_is_string(json_object_get(d, "checked_at")));
	assert_int_equal(json_integer_value(json_object_get(d, "n_findings")), 2);
	x = json_array_get(json_object_get(d, "findings"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "service")), "telnet");
	assert_int_equal(json_integer_value(json_object_get(x, "port")), 23);
	assert_non_null(strstr(json_string_value(json_object_get(x, "advice")), "Telnet sends passwords unencrypted"));
	x = json_array_get(json_object_get(d, "findings"), 1);
	assert_string_equal(json_string_value(json_object_get(x, "detail")), "Web Config");
	assert_true(json_is_object(json_object_get(d, "suggestion")));
	assert_true(json_is_array(json_object_get(json_object_get(d, "suggestion"), "reasons")));
	assert_int_equal(json_array_size(json_object_get(d, "dns_blocks")), 0);
	json_decref(r);

	r = roundtrip(f, fd, "{\"cmd\":\"show\",\"mac\":\"a2:00:00:00:08:02\"}\n");
	assert_ok(r);
	d = json_object_get(r, "device");
	assert_true(json_is_null(json_object_get(d, "checked_at")));
	x = json_object_get(json_object_get(d, "suggestion"), "reasons");
	assert_true(json_array_size(x) >= 1); /* at least its private address */
	assert_true(json_is_string(json_object_get(json_array_get(x, 0), "code")));
	x = json_array_get(json_object_get(d, "dns_blocks"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "domain")), "phish.example");
	assert_int_equal(json_integer_value(json_object_get(x, "count")), 2);
	json_decref(r);

	/* blocked look-ups: all (also the one without a device), or one device's */
	r = roundtrip(f, fd, "{\"cmd\":\"dns_blocks\"}\n");
	assert_ok(r);
	x = json_object_get(r, "dns_blocks");
	assert_int_equal(json_array_size(x), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(x, 0), "domain")), "malware.example");
	assert_true(json_is_null(json_object_get(json_array_get(x, 0), "mac")));
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"dns_blocks\",\"mac\":\"A2-00-00-00-08-02\"}\n");
	assert_ok(r);
	assert_int_equal(json_array_size(json_object_get(r, "dns_blocks")), 1);
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"dns_blocks\",\"mac\":\"nope\"}\n");
	assert_string_equal(err_code(r), "invalid_argument");
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"dns_blocks\",\"limit\":-1}\n");
	assert_string_equal(err_code(r), "invalid_argument");
	json_decref(r);

	r = roundtrip(f, fd, "{\"cmd\":\"unmanaged\"}\n");
	assert_ok(r);
	x = json_array_get(json_object_get(r, "unmanaged"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "mac")), "00:11:22:33:44:55");
	assert_string_equal(json_string_value(json_object_get(x, "where")), "br-work");
	assert_true(json_is_null(json_object_get(x, "vendor"))); /* no OUI table here */
	assert_true(json_is_false(json_object_get(x, "private")));
	json_decref(r);

	/* the check: clear errors; without zones no address may be checked */
	r = roundtrip(f, fd, "{\"cmd\":\"check\",\"mac\":\"02:00:00:00:08:99\"}\n");
	assert_string_equal(err_code(r), "not_found");
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"check\"}\n");
	assert_string_equal(err_code(r), "invalid_argument");
	json_decref(r);
	r = roundtrip(f, fd, "{\"cmd\":\"check\",\"mac\":\"02:00:00:00:08:01\"}\n");
	assert_string_equal(err_code(r), "no_address");
	json_decref(r);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_input_keeps_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decisions_audited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_sees_decisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_utf8_shown_safely, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_refused_for_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_daemon_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_firewall, setup_zones, teardown),
		cmocka_unit_test_setup_teardown(test_inventory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_show_check_and_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_device_alert_settled, setup, teardown),
	};
	return cmocka_run_group_tests_name("adm", tests, NULL, NULL);
}
