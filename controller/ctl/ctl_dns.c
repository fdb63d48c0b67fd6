/* ctl_dns.c - DNS protection ([policies] dns_blocking): the blocklist
 * applied through dnsmasq, and blocked look-ups recorded per device and
 * alerted.
 *
 * The list is <[policies] dir>/blocklist.txt (shipped) plus [policies]
 * blocklist_local (the admin's), read into one set (dnsm_blocklist) and
 * written as dnsmasq's servers-file <[dnsmasq] conf_file>.blocklist
 * ("server=/DOMAIN/": the domain and every name under it get NXDOMAIN).
 * The files are looked at every BL_POLL_S seconds (and on apgated's
 * reload): when one changed, the set is read again and dnsmasq is sent
 * SIGHUP if the servers-file changed (it re-reads servers-files then; no
 * restart of anything).
 *
 * dnsmasq logs each query (log-queries=extra) to [dnsmasq] query_log;
 * io/dnslog follows it and reports "config NAME is NXDOMAIN" answers. A
 * name under a listed domain is a blocked look-up: the asking address is
 * mapped to a device (reg_find_ip), counted (reg_dns_block, one row per
 * device and listed domain) and, the first time that device asks for that
 * domain, raised as a "dns_blocked" alert naming the device.
 *
 * Nothing here runs without dnsmasq enforcement (ctl_enforcers.dnsmasq).
 */
#include "ctl_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "io/dnslog.h"
#include "io/dnsm.h"
#include "log.h"
#include "util.h"

#define BL_POLL_S 2
#define BL_FILE "blocklist.txt"

/* What a list file looks like now: changes when it is written, replaced,
 * created or removed. */
static unsigned long long stamp_of(const char *path)
{
	struct stat st;
	unsigned long long h = 1469598103934665603ull;
	unsigned long long v[5];

	if (!path || stat(path, &st) < 0)
		return 0;
	v[0] = st.st_dev;
	v[1] = st.st_ino;
	v[2] = (unsigned long long)st.st_size;
	v[3] = (unsigned long long)st.st_mtim.tv_sec;
	v[4] = (unsigned long long)st.st_mtim.tv_nsec;
	for (int i = 0; i < 5; i++)
		h = (h ^ v[i]) * 1099511628211ull;
	return h | 1;
}

static char *shipped_path(const struct cfg *cfg)
{
	char *p = NULL;

	if (!cfg->policies.dir || asprintf(&p, "%s/%s", cfg->policies.dir, BL_FILE) < 0)
		return NULL;
	return p;
}

/* Reads both files into a new set; NULL on ENOMEM. */
static struct dnsm_blocklist *load(struct ctl *c, unsigned long long stamps[2])
{
	struct dnsm_blocklist *bl = dnsm_blocklist_new();
	_cleanup_free_ char *shipped = shipped_path(c->cfg);
	const char *paths[2] = { shipped, c->cfg->policies.blocklist_local };

	if (!bl)
		return NULL;
	for (int i = 0; i < 2; i++) {
		stamps[i] = stamp_of(paths[i]);
		if (!paths[i])
			continue;
		int r = dnsm_blocklist_read(bl, paths[i]);
		if (r == -ENOENT && i == 0)
			log_warn("DNS blocklist: %s is missing; only the local list applies", paths[i]);
		else if (r < 0 && r != -ENOENT)
			log_err("DNS blocklist: reading %s: %s", paths[i], strerror(-r));
		else if (r == -ENOMEM) {
			dnsm_blocklist_free(bl);
			return NULL;
		}
	}
	return bl;
}

/* Reads the lists and hands them to dnsmasq (SIGHUP when the servers-file
 * changed). */
static void apply(struct ctl *c)
{
	struct dnsblk *d = &c->dns;
	struct dnsm_blocklist *bl = load(c, d->stamps);
	int r;

	if (!bl) {
		log_err("DNS blocklist: out of memory; keeping the list in force");
		return;
	}
	dnsm_blocklist_free(d->bl);
	d->bl = bl;
	r = dnsm_update_blocklist(NULL, d->servers_file, c->cfg->dnsmasq_pid, bl);
	if (r == 1)
		log_info("DNS blocklist: %u domains; dnsmasq told", dnsm_blocklist_count(bl));
	else if (r == -ENOENT) /* dnsmasq not running: it reads the file when it starts */
		log_info("DNS blocklist: %u domains written to %s", dnsm_blocklist_count(bl),
			 d->servers_file);
	else if (r < 0)
		log_err("DNS blocklist: cannot apply to dnsmasq (%s): %s", d->servers_file,
			strerror(-r));
}

static void on_poll(evutil_socket_t fd, short what, void *ud)
{
	struct ctl *c = ud;
	_cleanup_free_ char *shipped = shipped_path(c->cfg);

	(void)fd;
	(void)what;
	if (stamp_of(shipped) != c->dns.stamps[0] ||
	    stamp_of(c->cfg->policies.blocklist_local) != c->dns.stamps[1])
		apply(c);
}

/* "The POS terminal (Till 1, 10.77.0.23)" / "A device (10.77.0.23)" */
static void describe(const struct reg_device *dev, const char *ip, char *out, size_t size)
{
	const char *type = dev ? reg_type_name(dev->type) : NULL;
	const char *name = dev ? (dev->label ? dev->label : dev->hostname) : NULL;
	static const struct { const char *type, *words; } words[] = {
		{ "pc", "The PC" }, { "phone", "The phone" }, { "tablet", "The tablet" },
		{ "printer", "The printer" }, { "pos", "The POS terminal" },
		{ "payment", "The payment terminal" }, { "signage", "The signage display" },
	};
	const char *what = dev ? "The device" : "A device not in the registry";

	for (size_t i = 0; type && i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(type, words[i].type))
			what = words[i].words;
	if (name && *name) {
		char clean[65];
		size_t i;
		for (i = 0; name[i] && i < sizeof(clean) - 1; i++) /* a DHCP name is data */
			clean[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
		clean[i] = '\0';
		snprintf(out, size, "%s (%s, %s)", what, clean, ip);
	}
	else if (dev)
		snprintf(out, size, "%s %s (%s)", what, dev->mac, ip);
	else
		snprintf(out, size, "%s (%s)", what, ip);
}

static void on_blocked(const char *client, const char *name, const char *qtype, void *ud)
{
	struct ctl *c = ud;
	const char *entry = NULL;
	char mac[MAC_STR_LEN], who[160];
	struct reg_device *dev = NULL;
	bool first = false, known;
	int r;

	if (!c->dns.bl || !dnsm_blocklist_match(c->dns.bl, name, &entry))
		return; /* NXDOMAIN from other local configuration */
	known = reg_find_ip(c->reg, client, mac) == 0;
	c->dns.blocked++;
	r = reg_dns_block(c->reg, known ? mac : NULL, client, entry, util_now_ms(), &first);
	if (r < 0)
		log_err("DNS blocklist: recording %s asking for %s: %s", client, name, strerror(-r));
	log_debug("DNS blocklist: %s (%s) asked for %s (%s): NXDOMAIN", client, known ? mac : "unknown",
		  name, qtype);
	if (r == 0 && first) {
		if (known && reg_get(c->reg, mac, &dev) < 0)
			dev = NULL;
		describe(dev, client, who, sizeof(who));
		if (strcmp(name, entry) == 0)
			ctl_alert(c, "dns_blocked", known ? mac : NULL,
				  "%s tried to reach a blocked domain: %s", who, entry);
		else
			ctl_alert(c, "dns_blocked", known ? mac : NULL,
				  "%s tried to reach a blocked domain: %s (listed as %s)", who, name, entry);
	}
	reg_device_free(dev);
}

/* <conf_file>.blocklist */
static char *servers_path(const struct cfg *cfg)
{
	char *p = NULL;

	if (!cfg->dnsmasq_conf || asprintf(&p, "%s.blocklist", cfg->dnsmasq_conf) < 0)
		return NULL;
	return p;
}

static void stop(struct ctl *c)
{
	struct dnsblk *d = &c->dns;

	dnslog_free(d->log);
	if (d->poll)
		event_free(d->poll);
	dnsm_blocklist_free(d->bl);
	free(d->servers_file);
	free(d->log_path);
	*d = (struct dnsblk){ .blocked = d->blocked };
}

int dnsblk_init(struct ctl *c)
{
	struct dnsblk *d = &c->dns;
	struct timeval tv = { BL_POLL_S, 0 };
	int r;

	if (!c->enf.dnsmasq || !c->cfg->enforce || !c->cfg->policies.dns_blocking)
		return 0;
	d->servers_file = servers_path(c->cfg);
	d->poll = event_new(c->base, -1, EV_PERSIST, on_poll, c);
	if (!d->servers_file || !d->poll || event_add(d->poll, &tv) < 0) {
		stop(c);
		return -ENOMEM;
	}
	apply(c);
	if (c->cfg->dnsmasq_query_log) {
		d->log_path = strdup(c->cfg->dnsmasq_query_log);
		r = d->log_path ? dnslog_new(c->base, d->log_path, on_blocked, c, &d->log) : -ENOMEM;
		if (r < 0)
			log_err("DNS blocklist: cannot follow %s: %s; blocked look-ups are not recorded",
				c->cfg->dnsmasq_query_log, strerror(-r));
	}
	return 0;
}

void dnsblk_free(struct ctl *c)
{
	stop(c);
}

void dnsblk_reload(struct ctl *c)
{
	bool same_log = c->dns.log_path && c->cfg->dnsmasq_query_log &&
			!strcmp(c->dns.log_path, c->cfg->dnsmasq_query_log);

	if (same_log && c->dns.poll && c->cfg->policies.dns_blocking) {
		/* the log follower keeps its place; the lists are read again */
		char *sp = servers_path(c->cfg);
		if (sp) {
			free(c->dns.servers_file);
			c->dns.servers_file = sp;
		}
		apply(c);
		return;
	}
	stop(c);
	dnsblk_init(c);
}

const char *dnsblk_servers_file(const struct ctl *c)
{
	return c->dns.servers_file;
}

const char *dnsblk_query_log(const struct ctl *c)
{
	char dir[PATH_MAX];
	struct stat st;
	const char *q = c->cfg->dnsmasq_query_log;

	if (!c->dns.servers_file || !q || util_dir_of(q, dir) < 0)
		return NULL;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_warn("DNS blocklist: %s does not exist; dnsmasq gets no query log and blocked "
			 "look-ups are not recorded", dir);
		return NULL;
	}
	return q;
}

void ctl_dns_status(struct ctl *c, struct ctl_dns_status *st)
{
	struct dnslog_stats ls;

	dnslog_get_stats(c->dns.log, &ls);
	*st = (struct ctl_dns_status){
		.blocking = c->dns.bl != NULL,
		.domains = dnsm_blocklist_count(c->dns.bl),
		.blocked = c->dns.blocked,
		.following = c->dns.log != NULL,
		.log_lines = ls.lines,
		.log_truncations = ls.truncations,
	};
}
