/* dnsm.h - dnsmasq glue: apgate writes dnsmasq's configuration for its
 * zones and a dhcp-hostsfile (one line per known device), and tells a
 * running dnsmasq to re-read the hostsfile.
 *
 * Inputs are plain structs filled by the controller from the config and the
 * registry; nothing here knows either. Everything rendered is validated
 * first (interface names, tags, paths, addresses): a value dnsmasq would
 * read differently from what was meant is -EINVAL, never written.
 *
 * Reload rules (dnsmasq 2.90): the hostsfile is re-read on SIGHUP
 * (dnsm_update_hosts() does write + SIGHUP); the main config is read only
 * at start, so a changed config (dnsm_write_conf() returning 1) needs a
 * restart of dnsmasq by whoever runs it (systemd).
 *
 * Captive DNS (onboarding): the answer-everything trick `address=/#/GW` +
 * `local=/#/` applies to every query dnsmasq receives; dnsmasq has no
 * per-interface DNS rules, so inside ONE instance it cannot be limited to
 * the onboarding interface. dnsm_render_conf() therefore writes it only
 * when every zone of the instance is captive (an instance of its own for
 * the onboarding interface). An instance that mixes zones gets normal DNS
 * everywhere, option 114 only on the captive zone, and relies on the
 * firewall redirecting the onboarding zone's HTTP to the portal.
 *
 * Errors are negative errno values.
 */
#ifndef APGATE_DNSM_H
#define APGATE_DNSM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* One zone's segment served by the instance. */
struct dnsm_zone {
	const char *name;        /* "work", "guest", "onboarding": [a-z0-9_-]{1,32};
				  * the range sets tag "net-<name>" */
	const char *ifname;      /* bridge or interface; also dnsmasq's tag for it */
	struct in_addr gateway;  /* the AP's address in the zone (router, DNS) */
	unsigned prefix;         /* subnet length, 8..30 */
	struct in_addr range_lo; /* DHCP pool; both 0 = derived like the config */
	struct in_addr range_hi; /* does: the upper half of the subnet less the last address */
	unsigned lease_s;        /* 0 = dnsmasq's default (1 h); else >= 120 */
	bool captive;            /* onboarding: option 114 (+ wildcard DNS, see above) */
};

struct dnsm_net {
	const struct dnsm_zone *zones;
	unsigned n_zones;        /* 1.. ; names and interfaces distinct */
	const char *script;      /* absolute paths: the lease helper, */
	const char *hostsfile;   /* the dhcp-hostsfile, */
	const char *leasefile;   /* dnsmasq's lease database, */
	const char *pidfile;     /* its pid-file */
	unsigned portal_port;    /* captive portal port on the gateway (needed
				  * when a zone is captive): option 114 is
				  * "http://GW:PORT/captive-portal/api" */
	const char *servers_file; /* absolute: the DNS blocklist as a servers-file
				  * (dnsm_write_blocklist()), or NULL = no blocking */
	const char *query_log;   /* absolute: log-queries=extra + log-facility
				  * there (read by dnslog.c), or NULL = no query log */
};

/* Writes the dnsmasq configuration (conf-file syntax) for net to out.
 * Returns 0, -EINVAL for a bad net (logged, nothing meaningful written),
 * -EIO when out fails. */
int dnsm_render_conf(const struct dnsm_net *net, FILE *out);

/* One device known to apgate. */
struct dnsm_host {
	const char *mac;   /* any usual spelling; written canonical */
	const char *tag;   /* e.g. "work", "guest": [a-z0-9_-]{1,32}, or NULL;
			    * must not be an interface name (those are tags
			    * too). dnsmasq 2.86-2.90 crashes on SIGHUP once a
			    * tagged line is replaced while leases exist. */
	const char *ip;    /* reserved IPv4 address, or NULL */
	bool ignore;       /* blocked: dnsmasq does not answer it at all */
};
/* Writes a dhcp-hostsfile, one line per host ordered by MAC so that the same
 * set always gives the same bytes: "<mac>,ignore", or "<mac>[,set:<tag>]
 * [,<ip>]" (a tag, an address or both). Returns 0, -EINVAL (bad MAC, tag or
 * address, neither tag nor address, the same MAC twice), -ENOMEM, -EIO. */
int dnsm_render_hosts(const struct dnsm_host *hosts, unsigned n, FILE *out);

/* Renders into memory with render(out, ud) and, when the bytes differ from
 * path's, replaces path atomically: a temp file in the same directory,
 * written, fsynced, mode 0644, renamed over path, directory fsynced
 * (STYLE 15). Readers see the old file or the new one, never a part.
 * Returns 1 written, 0 unchanged (file untouched), or a negative errno
 * (render's own error included); on error path is untouched. */
typedef int (*dnsm_render_fn)(FILE *out, const void *ud);
int dnsm_write_atomic(const char *path, dnsm_render_fn render, const void *ud);

/* dnsm_write_atomic() with dnsm_render_conf() / dnsm_render_hosts(). */
int dnsm_write_conf(const char *path, const struct dnsm_net *net);
int dnsm_write_hosts(const char *path, const struct dnsm_host *hosts, unsigned n);

/* The side effect, behind a table so unit tests can fake it (STYLE 8). */
struct dnsm_ops {
	/* Sends sig to the process pidfd refers to (pid is for messages;
	 * pidfd is -1 on kernels without pidfd_open). 0 or negative errno. */
	int (*send_signal)(int pidfd, pid_t pid, int sig, void *ud);
	void *ud;
};
extern const struct dnsm_ops dnsm_ops_real;

/* Tells the dnsmasq whose pid is in pidfile to re-read its hosts files
 * (SIGHUP). The pid-file must hold one positive decimal number, and
 * /proc/<pid>/comm must be exactly "dnsmasq"; the process is pinned with
 * pidfd_open() before its name is checked, so a recycled pid is never
 * signalled. ops NULL = dnsm_ops_real. Returns 0, -ENOENT (no pid-file:
 * dnsmasq not started; it reads the files when it starts), -EINVAL
 * (malformed pid-file), -ESRCH (no such process: stale pid-file), -EPERM
 * (the pid is not dnsmasq's: refused, logged), or the errno of reading or
 * signalling. */
int dnsm_reload(const struct dnsm_ops *ops, const char *pidfile);

/* dnsm_write_hosts() then, only when the file changed, dnsm_reload().
 * Returns 1 written and signalled, 0 unchanged, or a negative errno; after
 * a reload error the new file is in place (a dnsmasq that is not running
 * reads it when it starts; for a live one, call dnsm_reload() again). */
int dnsm_update_hosts(const struct dnsm_ops *ops, const char *path, const char *pidfile,
		      const struct dnsm_host *hosts, unsigned n);

/* ---- DNS blocklist ----
 * A set of domains whose names (the domain and every name under it) get
 * NXDOMAIN from dnsmasq. Applied as a servers-file of "server=/DOMAIN/"
 * lines ("answer from local data only": no upstream is asked, so a name
 * that is neither in /etc/hosts nor a DHCP name is NXDOMAIN). Measured with
 * dnsmasq 2.90: bad.example and a.b.bad.example are NXDOMAIN, xbad.example
 * resolves; a servers-file is re-read on SIGHUP (a conf-file is not, and
 * addn-hosts cannot cover subdomains), so dnsm_update_blocklist() takes
 * effect without restarting dnsmasq. */
struct dnsm_blocklist;

/* A new empty list; NULL on ENOMEM. Free with dnsm_blocklist_free(). */
struct dnsm_blocklist *dnsm_blocklist_new(void);
void dnsm_blocklist_free(struct dnsm_blocklist *bl);

/* Adds the domains of one list file: one a line, '#' starts a comment,
 * blank lines skipped; a hosts-file line "0.0.0.0 DOMAIN" (or 127.0.0.1,
 * ::, ::1) counts as DOMAIN, so common feeds can be used as they are.
 * Domains are lower-cased; a line that is not a domain name (labels of
 * [a-z0-9_-], 1..63 bytes, not starting or ending with '-', 253 bytes at
 * most) is skipped with a warning naming file:line (the first 10 of a
 * file; then a count). At most DNSM_BLOCKLIST_MAX domains in all.
 * Returns the number of domains added, or a negative errno of opening or
 * reading (-ENOENT missing file; the list keeps what it had). */
#define DNSM_BLOCKLIST_MAX 500000
int dnsm_blocklist_read(struct dnsm_blocklist *bl, const char *path);
/* Adds one domain (validated and lower-cased as above); 1 added, 0
 * already listed, -EINVAL not a domain, -ENOSPC full, -ENOMEM. */
int dnsm_blocklist_add(struct dnsm_blocklist *bl, const char *domain);
unsigned dnsm_blocklist_count(const struct dnsm_blocklist *bl);

/* Whether name (any case, an optional final '.') is a listed domain or
 * lies under one. *entry (may be NULL) gets the listed domain, valid
 * until the list changes. */
bool dnsm_blocklist_match(const struct dnsm_blocklist *bl, const char *name, const char **entry);

/* "server=/DOMAIN/" lines, sorted, after a comment header. 0 or -EIO. */
int dnsm_render_blocklist(const struct dnsm_blocklist *bl, FILE *out);
/* dnsm_write_atomic() with dnsm_render_blocklist(). */
int dnsm_write_blocklist(const char *path, const struct dnsm_blocklist *bl);
/* dnsm_write_blocklist() then, only when the file changed, dnsm_reload().
 * Returns like dnsm_update_hosts(). */
int dnsm_update_blocklist(const struct dnsm_ops *ops, const char *path, const char *pidfile,
			  const struct dnsm_blocklist *bl);

#endif
