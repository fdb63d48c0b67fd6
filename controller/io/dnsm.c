/* dnsm.c - dnsmasq configuration, hostsfile and reload (contract in dnsm.h). */
#include "dnsm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mac.h"
#include "util.h"

#define TAG_MAX 32
#define IFNAME_MAX 15
#define PATH_MAX_LEN 4095
#define FILE_MAX (16 * 1024 * 1024) /* larger existing files count as changed */
#define LEASE_MIN_S 120             /* dnsmasq's own minimum */

/* ---- validation ---- */

/* Logs why a request is refused; returns -EINVAL. */
static int invalid(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int invalid(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_warn("dnsm: %s", buf);
	return -EINVAL;
}

static bool tag_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > TAG_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Interface names as dnsmasq's tag system and conf parser take them
 * verbatim: letters, digits, '.', '_', '-', not starting with '-'. */
static bool ifname_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > IFNAME_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

/* Absolute, and nothing dnsmasq's option parser treats specially
 * (whitespace, ',', quotes, '#', '\\', control bytes). */
static bool path_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n > PATH_MAX_LEN || s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || strchr(",\"'#\\", c))
			return false;
	}
	return true;
}

static uint32_t mask_of(unsigned prefix)
{
	return prefix ? 0xffffffffu << (32 - prefix) : 0;
}

/* A zone's pool in host order, derived when not given. */
static void zone_range(const struct dnsm_zone *z, uint32_t *lo, uint32_t *hi)
{
	uint32_t mask = mask_of(z->prefix), net = ntohl(z->gateway.s_addr) & mask;
	uint32_t size = ~mask + 1;

	if (!z->range_lo.s_addr && !z->range_hi.s_addr) {
		*lo = net + size / 2;
		*hi = net + size - 2;
	} else {
		*lo = ntohl(z->range_lo.s_addr);
		*hi = ntohl(z->range_hi.s_addr);
	}
}

static int zone_check(const struct dnsm_zone *z)
{
	uint32_t mask, net, bcast, gw, lo, hi;

	if (!tag_ok(z->name))
		return invalid("zone name must be [a-z0-9_-]{1,%d}", TAG_MAX);
	if (!ifname_ok(z->ifname))
		return invalid("zone %s: bad interface name", z->name);
	if (z->prefix < 8 || z->prefix > 30)
		return invalid("zone %s: prefix /%u not in 8..30", z->name, z->prefix);
	if (z->lease_s && z->lease_s < LEASE_MIN_S)
		return invalid("zone %s: lease %u s below %d s", z->name, z->lease_s,
			       LEASE_MIN_S);
	if ((z->range_lo.s_addr == 0) != (z->range_hi.s_addr == 0))
		return invalid("zone %s: give both ends of the range or neither", z->name);
	mask = mask_of(z->prefix);
	gw = ntohl(z->gateway.s_addr);
	net = gw & mask;
	bcast = net | ~mask;
	if (gw == net || gw == bcast)
		return invalid("zone %s: gateway is the subnet's network or broadcast address",
			       z->name);
	zone_range(z, &lo, &hi);
	if (lo > hi || (lo & mask) != net || (hi & mask) != net || lo == net || hi == bcast)
		return invalid("zone %s: range outside the subnet's hosts", z->name);
	if (gw >= lo && gw <= hi)
		return invalid("zone %s: gateway inside the DHCP range", z->name);
	return 0;
}

static int net_check(const struct dnsm_net *net, unsigned *n_captive)
{
	int ret;

	*n_captive = 0;
	if (!net || !net->zones || net->n_zones == 0)
		return -EINVAL;
	if (!path_ok(net->script) || !path_ok(net->hostsfile) || !path_ok(net->leasefile) ||
	    !path_ok(net->pidfile))
		return invalid("script, hostsfile, leasefile and pidfile must be absolute paths"
				" without spaces, commas, quotes or '#'");
	for (unsigned i = 0; i < net->n_zones; i++) {
		const struct dnsm_zone *z = &net->zones[i];
		if ((ret = zone_check(z)) < 0)
			return ret;
		for (unsigned j = 0; j < i; j++)
			if (strcmp(z->name, net->zones[j].name) == 0 ||
			    strcmp(z->ifname, net->zones[j].ifname) == 0)
				return invalid("zone %s: name or interface used twice", z->name);
		if (z->captive)
			(*n_captive)++;
	}
	if ((net->servers_file && !path_ok(net->servers_file)) ||
	    (net->query_log && !path_ok(net->query_log)))
		return invalid("servers_file and query_log must be absolute paths"
				" without spaces, commas, quotes or '#'");
	if (*n_captive && (net->portal_port == 0 || net->portal_port > 65535))
		return invalid("a captive zone needs the portal port");
	/* address=/#/ has one answer per instance. */
	if (*n_captive > 1)
		return invalid("one captive zone per dnsmasq instance");
	return 0;
}

/* ---- rendering ---- */

static const char *ip4(uint32_t host, char buf[INET_ADDRSTRLEN])
{
	struct in_addr a = { .s_addr = htonl(host) };
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static void render_zone(const struct dnsm_net *net, const struct dnsm_zone *z, FILE *out)
{
	char gw[INET_ADDRSTRLEN], lo[INET_ADDRSTRLEN], hi[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN];
	uint32_t l, h;

	zone_range(z, &l, &h);
	ip4(ntohl(z->gateway.s_addr), gw);
	ip4(l, lo);
	ip4(h, hi);
	ip4(mask_of(z->prefix), mask);
	fprintf(out, "\n# zone %s on %s: %s/%u\n", z->name, z->ifname, gw, z->prefix);
	fprintf(out, "interface=%s\n", z->ifname);
	fprintf(out, "dhcp-range=set:net-%s,%s,%s,%s", z->name, lo, hi, mask);
	if (z->lease_s)
		fprintf(out, ",%u", z->lease_s);
	fputc('\n', out);
	fprintf(out, "dhcp-option=tag:%s,option:router,%s\n", z->ifname, gw);
	fprintf(out, "dhcp-option=tag:%s,option:dns-server,%s\n", z->ifname, gw);
	if (z->captive)
		/* RFC 8910 captive-portal API URI; 2.90 knows no name for 114 */
		fprintf(out, "dhcp-option=tag:%s,114,\"http://%s:%u/captive-portal/api\"\n",
			z->ifname, gw, net->portal_port);
}

int dnsm_render_conf(const struct dnsm_net *net, FILE *out)
{
	unsigned n_captive;
	int ret;

	if (!out)
		return -EINVAL;
	ret = net_check(net, &n_captive);
	if (ret < 0)
		return ret;

	fputs("# Written by apgated from its configuration: edits here are lost.\n"
	      "# dnsmasq reads this file only when it starts (the hostsfile on SIGHUP).\n"
	      "\n"
	      "# Only the zone interfaces below; not loopback, so that a second\n"
	      "# instance (or the host's own resolver) can run beside this one.\n"
	      "bind-interfaces\n"
	      "except-interface=lo\n"
	      "# The only DHCP server on these segments: NAK foreign leases at once\n"
	      "# (a device moved to another zone gets its new address quickly).\n"
	      "dhcp-authoritative\n"
	      "# Offer at once (the ping check delays every offer by about 3 s).\n"
	      "no-ping\n", out);
	fprintf(out, "dhcp-leasefile=%s\n", net->leasefile);
	fprintf(out, "pid-file=%s\n", net->pidfile);
	fprintf(out, "dhcp-hostsfile=%s\n", net->hostsfile);
	fprintf(out, "dhcp-script=%s\n", net->script);
	if (net->servers_file)
		fprintf(out, "# DNS blocklist: server=/DOMAIN/ lines (NXDOMAIN), re-read on SIGHUP\n"
			"servers-file=%s\n", net->servers_file);
	if (net->query_log)
		fprintf(out, "# Each query with its serial and client (apgated reads blocked look-ups)\n"
			"log-queries=extra\n"
			"log-facility=%s\n", net->query_log);
	fputs("# Renewals run the script too (\"old\" with the client's data), so a\n"
	      "# device that only renews still counts as seen.\n"
	      "script-on-renewal\n"
	      "# No IPv6: no enable-ra and no IPv6 dhcp-range, so no RA and no DHCPv6\n"
	      "# from apgate in any zone (unapproved devices get no IPv6 route).\n", out);

	if (n_captive == net->n_zones) {
		char gw[INET_ADDRSTRLEN];
		ip4(ntohl(net->zones[0].gateway.s_addr), gw);
		fprintf(out, "\n# Captive DNS: every name is the gateway (A); every other type\n"
			"# gets an empty answer instead of being forwarded; no upstream.\n"
			"address=/#/%s\n"
			"local=/#/\n"
			"no-resolv\n"
			"no-hosts\n", gw);
	} else {
		fputs("\n# Normal DNS for every zone of this instance: wildcard captive DNS\n"
		      "# cannot be limited to one interface inside one dnsmasq; the\n"
		      "# onboarding zone's web traffic is redirected by the firewall.\n"
		      "domain-needed\n"
		      "bogus-priv\n", out);
	}
	for (unsigned i = 0; i < net->n_zones; i++)
		render_zone(net, &net->zones[i], out);
	return ferror(out) ? -EIO : 0;
}

struct host_line {
	char mac[MAC_STR_LEN];
	const struct dnsm_host *h;
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct host_line *)a)->mac, ((const struct host_line *)b)->mac);
}

int dnsm_render_hosts(const struct dnsm_host *hosts, unsigned n, FILE *out)
{
	_cleanup_free_ struct host_line *v = NULL;

	if (!out || (n && !hosts))
		return -EINVAL;
	if (n) {
		v = calloc(n, sizeof(*v));
		if (!v)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (mac_canon(hosts[i].mac, v[i].mac) < 0)
			return invalid("host %u: not a MAC", i);
		struct in_addr a;
		if (!hosts[i].ignore && hosts[i].tag && !tag_ok(hosts[i].tag))
			return invalid("host %s: tag must be [a-z0-9_-]{1,%d}", v[i].mac,
					TAG_MAX);
		if (!hosts[i].ignore && hosts[i].ip && inet_pton(AF_INET, hosts[i].ip, &a) != 1)
			return invalid("host %s: '%s' is not an IPv4 address", v[i].mac, hosts[i].ip);
		if (!hosts[i].ignore && !hosts[i].tag && !hosts[i].ip)
			return invalid("host %s: a line needs a tag, an address or ignore", v[i].mac);
		v[i].h = &hosts[i];
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_line);
	for (unsigned i = 0; i < n; i++) {
		if (i && strcmp(v[i].mac, v[i - 1].mac) == 0)
			return invalid("host %s listed twice", v[i].mac);
		if (v[i].h->ignore) {
			fprintf(out, "%s,ignore\n", v[i].mac);
			continue;
		}
		fputs(v[i].mac, out);
		if (v[i].h->tag)
			fprintf(out, ",set:%s", v[i].h->tag);
		if (v[i].h->ip)
			fprintf(out, ",%s", v[i].h->ip);
		fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- atomic files ---- */

/* 1 when path holds exactly buf[0..len), 0 when not (or missing), <0 error. */
static int same_content(const char *path, const char *buf, size_t len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *have = NULL;
	struct stat st;
	size_t got = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size != len || len > FILE_MAX)
		return 0;
	have = malloc(len + 1);
	if (!have)
		return -ENOMEM;
	while (got < len) {
		ssize_t r = read(fd, have + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		got += (size_t)r;
	}
	return memcmp(have, buf, len) == 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int fd = -1;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

static int replace_file(const char *path, const char *buf, size_t len)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int ret;

	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write_all(fd, buf, len);
	if (ret == 0 && fchmod(fd, 0644) < 0)
		ret = -errno;
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (ret == 0 && close(steal_fd(&fd)) < 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		return ret;
	}
	ret = fsync_dir_of(path);
	if (ret < 0)
		log_warn("dnsm: %s: syncing its directory: %s", path, strerror(-ret));
	return 0;
}

int dnsm_write_atomic(const char *path, dnsm_render_fn render, const void *ud)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	int ret, same;

	if (!path || !*path || !render)
		return -EINVAL;
	mem = open_memstream(&buf, &len);
	if (!mem)
		return -ENOMEM;
	ret = render(mem, ud);
	if (fclose(mem) != 0 && ret == 0)
		ret = -ENOMEM;
	if (ret < 0)
		return ret;
	same = same_content(path, buf, len);
	if (same < 0)
		return same;
	if (same)
		return 0;
	ret = replace_file(path, buf, len);
	if (ret < 0) {
		log_err("dnsm: writing %s: %s", path, strerror(-ret));
		return ret;
	}
	log_debug("dnsm: wrote %s (%zu bytes)", path, len);
	return 1;
}

static int render_conf_fn(FILE *out, const void *ud)
{
	return dnsm_render_conf(ud, out);
}

int dnsm_write_conf(const char *path, const struct dnsm_net *net)
{
	return dnsm_write_atomic(path, render_conf_fn, net);
}

struct hosts_arg {
	const struct dnsm_host *hosts;
	unsigned n;
};

static int render_hosts_fn(FILE *out, const void *ud)
{
	const struct hosts_arg *a = ud;
	return dnsm_render_hosts(a->hosts, a->n, out);
}

int dnsm_write_hosts(const char *path, const struct dnsm_host *hosts, unsigned n)
{
	struct hosts_arg a = { hosts, n };
	return dnsm_write_atomic(path, render_hosts_fn, &a);
}

/* ---- reload ---- */

static int real_send_signal(int pidfd, pid_t pid, int sig, void *ud)
{
	(void)ud;
	if (pidfd >= 0)
		return pidfd_send_signal(pidfd, sig, NULL, 0) < 0 ? -errno : 0;
	return kill(pid, sig) < 0 ? -errno : 0;
}

const struct dnsm_ops dnsm_ops_real = { .send_signal = real_send_signal, .ud = NULL };

static int read_pidfile(const char *path, pid_t *out)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char buf[32];
	ssize_t n;
	long v;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* digits only: strtol alone would take " 12" or "+12" */
	if (n == 0 || n == (ssize_t)sizeof(buf) - 1 || strspn(buf, "0123456789") != (size_t)n ||
	    util_parse_long(buf, 1, 0x7fffffff, &v) < 0)
		return -EINVAL;
	*out = (pid_t)v;
	return 0;
}

/* /proc/<pid>/comm without its newline. */
static int proc_comm(pid_t pid, char *out, size_t size)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, out, size - 1);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	if (n > 0 && out[n - 1] == '\n')
		out[n - 1] = '\0';
	return 0;
}

int dnsm_reload(const struct dnsm_ops *ops, const char *pidfile)
{
	_cleanup_close_ int pidfd = -1;
	char comm[32];
	pid_t pid = 0;
	int ret;

	if (!pidfile)
		return -EINVAL;
	if (!ops)
		ops = &dnsm_ops_real;
	ret = read_pidfile(pidfile, &pid);
	if (ret == -EINVAL)
		log_warn("dnsm: %s does not hold a pid; not signalling", pidfile);
	if (ret < 0)
		return ret;
	/* Pin the process first: if the pid is recycled after this, the
	 * signal goes nowhere (ESRCH) instead of to the newcomer. */
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0 && errno != ENOSYS)
		return -errno;
	ret = proc_comm(pid, comm, sizeof(comm));
	if (ret < 0)
		return ret;
	if (strcmp(comm, "dnsmasq") != 0) {
		log_warn("dnsm: %s names pid %ld, which is '%s', not dnsmasq; not signalling",
			 pidfile, (long)pid, comm);
		return -EPERM;
	}
	ret = ops->send_signal(pidfd, pid, SIGHUP, ops->ud);
	if (ret < 0)
		log_warn("dnsm: SIGHUP to dnsmasq (pid %ld): %s", (long)pid, strerror(-ret));
	return ret;
}

int dnsm_update_hosts(const struct dnsm_ops *ops, const char *path, const char *pidfile,
		      const struct dnsm_host *hosts, unsigned n)
{
	int ret = dnsm_write_hosts(path, hosts, n), r;

	if (ret <= 0)
		return ret;
	r = dnsm_reload(ops, pidfile);
	return r < 0 ? r : 1;
}

/* ---- DNS blocklist ---- */

#define DOMAIN_MAX 253
#define LABEL_MAX 63
#define WARN_LINES 10
#define LINE_MAX_LEN 4096

struct dnsm_blocklist {
	char **slot;    /* open addressing; NULL = empty */
	unsigned cap;   /* power of two */
	unsigned n;
};

struct dnsm_blocklist *dnsm_blocklist_new(void)
{
	struct dnsm_blocklist *bl = calloc(1, sizeof(*bl));

	if (!bl)
		return NULL;
	bl->cap = 64;
	bl->slot = calloc(bl->cap, sizeof(*bl->slot));
	if (!bl->slot) {
		free(bl);
		return NULL;
	}
	return bl;
}

void dnsm_blocklist_free(struct dnsm_blocklist *bl)
{
	if (!bl)
		return;
	for (unsigned i = 0; i < bl->cap; i++)
		free(bl->slot[i]);
	free(bl->slot);
	free(bl);
}

unsigned dnsm_blocklist_count(const struct dnsm_blocklist *bl)
{
	return bl ? bl->n : 0;
}

static uint32_t hash_n(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* The slot holding s[0..n) or the empty slot where it would go. */
static char **bl_slot(const struct dnsm_blocklist *bl, const char *s, size_t n)
{
	unsigned i = hash_n(s, n) & (bl->cap - 1);

	while (bl->slot[i] && !(strlen(bl->slot[i]) == n && memcmp(bl->slot[i], s, n) == 0))
		i = (i + 1) & (bl->cap - 1);
	return &bl->slot[i];
}

static int bl_grow(struct dnsm_blocklist *bl)
{
	struct dnsm_blocklist nb = { .cap = bl->cap * 2 };

	nb.slot = calloc(nb.cap, sizeof(*nb.slot));
	if (!nb.slot)
		return -ENOMEM;
	for (unsigned i = 0; i < bl->cap; i++)
		if (bl->slot[i])
			*bl_slot(&nb, bl->slot[i], strlen(bl->slot[i])) = bl->slot[i];
	free(bl->slot);
	bl->slot = nb.slot;
	bl->cap = nb.cap;
	return 0;
}

/* Lower-cases and checks a domain name into out (DOMAIN_MAX + 1 bytes);
 * drops one final '.'. */
static int domain_norm(const char *in, size_t n, char *out)
{
	size_t label = 0;

	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n > DOMAIN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch == '.') {
			if (label == 0 || out[i - 1] == '-')
				return -EINVAL;
			label = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
			   (ch == '-' && label > 0)) {
			if (++label > LABEL_MAX)
				return -EINVAL;
		} else {
			return -EINVAL;
		}
		out[i] = ch;
	}
	if (label == 0 || out[n - 1] == '-') /* "be..": an empty last label, not the TLD be */
		return -EINVAL;
	out[n] = '\0';
	return (int)n;
}

static int bl_add_n(struct dnsm_blocklist *bl, const char *domain, size_t len)
{
	char d[DOMAIN_MAX + 1];
	char **slot;
	int n = domain_norm(domain, len, d);

	if (n < 0)
		return n;
	slot = bl_slot(bl, d, (size_t)n);
	if (*slot)
		return 0;
	if (bl->n >= DNSM_BLOCKLIST_MAX)
		return -ENOSPC;
	if ((bl->n + 1) * 2 > bl->cap) {
		if (bl_grow(bl) < 0)
			return -ENOMEM;
		slot = bl_slot(bl, d, (size_t)n);
	}
	*slot = strdup(d);
	if (!*slot)
		return -ENOMEM;
	bl->n++;
	return 1;
}

int dnsm_blocklist_add(struct dnsm_blocklist *bl, const char *domain)
{
	if (!bl || !domain)
		return -EINVAL;
	return bl_add_n(bl, domain, strlen(domain));
}

bool dnsm_blocklist_match(const struct dnsm_blocklist *bl, const char *name, const char **entry)
{
	char d[DOMAIN_MAX + 1];
	size_t n;

	if (!bl || !name || bl->n == 0)
		return false;
	n = strlen(name);
	if (n && name[n - 1] == '.')
		n--;
	if (n == 0 || n > DOMAIN_MAX)
		return false;
	/* lower-case only: labels outside the list's alphabet simply never
	 * match, while their parent domains still may */
	for (size_t i = 0; i < n; i++)
		d[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
	d[n] = '\0';
	for (size_t off = 0; off < n;) {
		char **slot = bl_slot(bl, d + off, n - off);
		if (*slot) {
			if (entry)
				*entry = *slot;
			return true;
		}
		const char *dot = memchr(d + off, '.', n - off);
		if (!dot)
			break;
		off = (size_t)(dot - d) + 1;
	}
	return false;
}

static bool sink_addr(const char *s, size_t n)
{
	static const char *const sinks[] = { "0.0.0.0", "127.0.0.1", "::", "::1" };

	for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
		if (strlen(sinks[i]) == n && memcmp(sinks[i], s, n) == 0)
			return true;
	return false;
}

int dnsm_blocklist_read(struct dnsm_blocklist *bl, const char *path)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0, bad = 0;
	int added = 0;
	ssize_t len;

	if (!bl || !path)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) >= 0) {
		const char *tok[3];
		size_t tlen[3];
		unsigned nt = 0;
		char *p = line;
		int r;

		lineno++;
		if (len > LINE_MAX_LEN) {
			bad++;
			continue;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		while (*p && nt < 3) {
			p += strspn(p, " \t\r\n");
			if (!*p)
				break;
			tok[nt] = p;
			tlen[nt] = strcspn(p, " \t\r\n");
			p += tlen[nt];
			nt++;
		}
		if (nt == 0)
			continue;
		if (nt == 2 && sink_addr(tok[0], tlen[0])) {
			tok[0] = tok[1];
			tlen[0] = tlen[1];
			nt = 1;
		}
		r = nt == 1 ? bl_add_n(bl, tok[0], tlen[0]) : -EINVAL;
		if (r == -EINVAL) {
			if (++bad <= WARN_LINES)
				log_warn("%s:%u: not a domain name; line skipped", path, lineno);
			continue;
		}
		if (r == -ENOSPC) {
			log_warn("%s:%u: more than %d blocked domains; the rest is ignored", path, lineno,
				 DNSM_BLOCKLIST_MAX);
			break;
		}
		if (r < 0)
			return r;
		added += r;
	}
	if (ferror(f))
		return -EIO;
	if (bad > WARN_LINES)
		log_warn("%s: %u lines in all were skipped", path, bad);
	return added;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int dnsm_render_blocklist(const struct dnsm_blocklist *bl, FILE *out)
{
	_cleanup_free_ char **v = NULL;
	unsigned k = 0;

	if (!bl || !out)
		return -EINVAL;
	fputs("# Written by apgated from [policies] blocklist files: edits here are lost.\n"
	      "# dnsmasq re-reads this servers-file on SIGHUP; each domain and every name\n"
	      "# under it are answered from local data only, i.e. NXDOMAIN.\n", out);
	if (bl->n) {
		v = malloc(bl->n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (unsigned i = 0; i < bl->cap; i++)
			if (bl->slot[i])
				v[k++] = bl->slot[i];
		qsort(v, k, sizeof(*v), cmp_str);
	}
	for (unsigned i = 0; i < k; i++)
		fprintf(out, "server=/%s/\n", v[i]);
	return ferror(out) ? -EIO : 0;
}

static int render_blocklist_fn(FILE *out, const void *ud)
{
	return dnsm_render_blocklist(ud, out);
}

int dnsm_write_blocklist(const char *path, const struct dnsm_blocklist *bl)
{
	return dnsm_write_atomic(path, render_blocklist_fn, bl);
}

int dnsm_update_blocklist(const struct dnsm_ops *ops, const char *path, const char *pidfile,
			  const struct dnsm_blocklist *bl)
{
	int ret = dnsm_write_blocklist(path, bl), r;

	if (ret <= 0)
		return ret;
	r = dnsm_reload(ops, pidfile);
	return r < 0 ? r : 1;
}
