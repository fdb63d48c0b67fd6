/* apgated - wiring only: arguments, configuration, the module table, the
 * event loop and signals. Modules start in table order and stop in reverse
 * (STYLE 2); each start-up failure has its own exit code.
 */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "ctl/ctl.h"
#include "front/adm.h"
#include "front/auth.h"
#include "front/captive.h"
#include "front/staff.h"
#include "front/web.h"
#include "io/fw.h"
#include "io/nl.h"
#include "io/sdnotify.h"
#include "log.h"
#include "model/oui.h"
#include "model/reg.h"
#include "priv/priv.h"
#include "util.h"

/* Exit codes (documented in the README and apgated --help). */
enum {
	EXIT_OK = 0,
	EXIT_FAILURE_RUN = 1, /* failure while running */
	EXIT_USAGE = 2,
	EXIT_CONFIG = 3,
	EXIT_REGISTRY = 4,
	EXIT_SOCKET = 5,
	EXIT_INIT = 6,
	EXIT_FIREWALL = 7,
};

struct apgated {
	const char *cfg_path;
	bool foreground;
	bool use_syslog;
	struct priv *priv;
	bool verbose;
	struct cfg *cfg;
	struct event_base *base;
	struct sdn *sdn;
	struct reg *reg;
	struct oui *oui;
	struct fw *fw;
	struct brport *brport;
	struct ctl *ctl;
	struct adm *adm;
	struct web_assets *assets;
	struct web_i18n *i18n;
	struct auth *auth;
	struct captive *captive;
	struct staff *staff;
	struct event *sig[3];
};

/* ---- modules ---- */

/* The privilege split (priv/priv.h), before anything that reads outside
 * input: with zones, the helper that alone keeps CAP_NET_ADMIN and
 * CAP_NET_RAW (the firewall, guest port isolation, wired port moves);
 * then apgated drops both capabilities for good, zones or not. */
static int privsep_init(struct apgated *d)
{
	int r;

	if (d->cfg->enforce) {
		r = priv_start(d->cfg_path, d->use_syslog, &d->priv);
		if (r < 0)
			return r;
	}
	r = priv_drop_caps();
	if (r < 0)
		log_err("cannot drop CAP_NET_ADMIN/CAP_NET_RAW: %s", strerror(-r));
	return r;
}

static void privsep_exit(struct apgated *d)
{
	priv_free(d->priv);
}

static int loop_init(struct apgated *d)
{
	d->base = event_base_new();
	return d->base ? 0 : -ENOMEM;
}

static void loop_exit(struct apgated *d)
{
	event_base_free(d->base);
}

/* systemd's notification socket and watchdog (no-op without NOTIFY_SOCKET) */
static int notify_init(struct apgated *d)
{
	return sdn_new(d->base, NULL, &d->sdn);
}

static void notify_exit(struct apgated *d)
{
	sdn_free(d->sdn);
}

static int registry_init(struct apgated *d)
{
	int r = reg_open(d->cfg->registry, &d->reg);

	if (r < 0)
		log_err("cannot open the registry %s: %s", d->cfg->registry, strerror(-r));
	else
		log_info("registry %s (schema %d)", d->cfg->registry, reg_schema_version(d->reg));
	return r;
}

static void registry_exit(struct apgated *d)
{
	reg_close(d->reg);
}

static int oui_init(struct apgated *d)
{
	static const char *const names[] = { "oui.txt", "mam.txt", "oui36.txt" };
	char paths[ARRAY_SIZE(names)][PATH_MAX];
	const char *p[ARRAY_SIZE(names)];
	int r;

	if (!*d->cfg->oui_dir)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(paths[i], sizeof(paths[i]), "%s/%s", d->cfg->oui_dir, names[i]);
		p[i] = paths[i];
	}
	r = oui_load_files(p, ARRAY_SIZE(p), &d->oui);
	if (r < 0) /* not fatal: devices are then shown without a vendor */
		log_warn("no vendor names: cannot read the IEEE tables in %s: %s", d->cfg->oui_dir, strerror(-r));
	else
		log_info("%u vendor prefixes from %s", oui_count(d->oui), d->cfg->oui_dir);
	return 0;
}

static void oui_exit(struct apgated *d)
{
	oui_free(d->oui);
}

/* Client sockets are named apgated-<pid>-...; those of a process that no
 * longer exists (an apgated killed with -9) are removed. */
static void remove_stale_client_sockets(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *de;

	if (!dh)
		return;
	while ((de = readdir(dh))) {
		char path[PATH_MAX];
		long pid;
		int n = 0;

		if (sscanf(de->d_name, "apgated-%ld-%n", &pid, &n) != 1 || n == 0 || pid <= 0 ||
		    pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			log_debug("removed stale client socket %s", path);
	}
	closedir(dh);
}

static int controller_init(struct apgated *d)
{
	if (mkdir(d->cfg->client_dir, 0750) < 0 && errno != EEXIST) {
		int r = -errno;
		log_err("cannot create %s for the hostapd client sockets: %s", d->cfg->client_dir, strerror(-r));
		return r;
	}
	remove_stale_client_sockets(d->cfg->client_dir);
	struct ctl_enforcers enf = { .fw = d->fw, .dnsmasq = d->cfg->enforce,
				     .links = d->priv ? &priv_link_ops : NULL, .links_ud = d->priv };
	return ctl_new(d->base, d->cfg, d->reg, d->oui, &enf, &d->ctl);
}

static void controller_exit(struct apgated *d)
{
	ctl_free(d->ctl);
}

/* The firewall module exists only when zones are configured; its rules
 * outlive the daemon (the network stays closed if apgated dies). */
static int firewall_init(struct apgated *d)
{
	if (!d->cfg->enforce) {
		log_info("no [zone] sections: observing only, nothing enforced");
		return 0;
	}
	/* the rules are built and committed by the privileged helper */
	return fw_new_remote(&priv_fw_ops, d->priv, &d->fw);
}

static void firewall_exit(struct apgated *d)
{
	fw_free(d->fw);
}

/* Guests never reach each other: on a wired guest bridge every port is
 * isolated, now and when plugged in later (on Wi-Fi hostapd's ap_isolate
 * does it and the module stays idle). The flags outlive the daemon. */
static int bridges_init(struct apgated *d)
{
	const struct cfg_zone_net *g = &d->cfg->zones[CFG_ZONE_GUEST];

	if (!d->cfg->enforce || !g->present)
		return 0;
	return brport_new_with(d->base, g->ifname, &priv_link_ops, d->priv, &d->brport);
}

static void bridges_exit(struct apgated *d)
{
	brport_free(d->brport);
}

/* The portal's files (portal/static, portal/i18n) and sign-in state,
 * shared by the captive and the staff face. */
static int portal_files_init(struct apgated *d)
{
	char path[PATH_MAX];
	int r;

	/* needed when there is a face: the captive one (zones) or the staff
	 * one (a work zone or management addresses) */
	if (!d->cfg->enforce && !(d->cfg->portal.enabled && d->cfg->portal.n_staff_listen))
		return 0;
	snprintf(path, sizeof(path), "%s/static", d->cfg->portal.dir);
	r = web_assets_load(path, &d->assets);
	if (r < 0) {
		log_err("portal: cannot read %s: %s ([portal] dir)", path, strerror(-r));
		return r;
	}
	snprintf(path, sizeof(path), "%s/i18n", d->cfg->portal.dir);
	r = web_i18n_load(path, &d->i18n);
	if (r < 0)
		return r;
	struct auth_cfg ac = {
		.idle_s = d->cfg->portal.session_idle_s,
		.max_s = d->cfg->portal.session_max_s,
		.failures = d->cfg->portal.login_failures,
		.lockout_s = d->cfg->portal.login_lockout_s,
	};
	return auth_new(&ac, &d->auth);
}

static void portal_files_exit(struct apgated *d)
{
	auth_free(d->auth);
	web_i18n_free(d->i18n);
	web_assets_free(d->assets);
}

/* The guest network shown (with its QR code) to personal devices: the
 * first guest BSS with an SSID. */
static void guest_network(const struct cfg *cfg, struct captive_cfg *cc, char pass[64])
{
	for (unsigned i = 0; i < cfg->n_bss; i++) {
		const struct cfg_bss *b = &cfg->bss[i];
		if (b->zone != CFG_ZONE_GUEST || !b->ssid)
			continue;
		cc->guest_ssid = b->ssid;
		if (b->passphrase) {
			cc->guest_passphrase = b->passphrase;
		} else if (b->passphrase_file) {
			int r = cfg_read_passphrase(b, pass, NULL);
			if (r < 0) {
				log_warn("portal: no guest passphrase from %s (%s); the captive page shows no QR code",
					 b->passphrase_file, r == -EINVAL ? "not a WPA passphrase" : strerror(-r));
				cc->guest_ssid = NULL;
			} else {
				cc->guest_passphrase = pass;
			}
		}
		return;
	}
}

/* The captive page listens on the gateways of the zones whose devices may
 * be waiting for approval: onboarding and work. */
static int captive_init(struct apgated *d)
{
	struct captive_cfg cc = { .port = d->cfg->captive_port };
	static const enum cfg_zone zones[] = { CFG_ZONE_ONBOARDING, CFG_ZONE_WORK };
	char pass[64];
	int r;

	if (!d->cfg->enforce)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(zones); i++)
		if (d->cfg->zones[zones[i]].present)
			cc.addrs[cc.n_addrs++] = d->cfg->zones[zones[i]].gateway.addr;
	guest_network(d->cfg, &cc, pass);
	r = captive_new(d->base, d->ctl, d->auth, d->assets, d->i18n, &cc, &d->captive);
	explicit_bzero(pass, sizeof(pass));
	return r;
}

static void captive_exit(struct apgated *d)
{
	captive_free(d->captive);
}

/* The staff face: HTTPS on the work gateway and the management addresses,
 * never on the guest or onboarding gateways. */
static int staff_init(struct apgated *d)
{
	const struct cfg *c = d->cfg;
	struct staff_cfg sc = {
		.https_port = c->portal.https_port,
		.http_port = c->portal.http_port,
		.cert = c->portal.cert,
		.key = c->portal.key,
	};

	if (!c->portal.enabled)
		return 0;
	if (c->zones[CFG_ZONE_WORK].present)
		sc.addrs[sc.n_addrs++] = c->zones[CFG_ZONE_WORK].gateway.addr;
	for (unsigned i = 0; i < c->portal.n_staff_listen && sc.n_addrs < STAFF_MAX_ADDRS; i++)
		sc.addrs[sc.n_addrs++] = c->portal.staff_listen[i];
	if (!sc.n_addrs) {
		log_info("staff portal off: no [zone work] and no [portal] staff_listen");
		return 0;
	}
	return staff_new(d->base, d->ctl, d->auth, d->assets, d->i18n, &sc, &d->staff);
}

static void staff_exit(struct apgated *d)
{
	staff_free(d->staff);
}

/* apgatectl status shows what the portal listens on (it stops first). */
static int status_init(struct apgated *d)
{
	adm_set_portal(d->adm, d->captive, d->staff);
	return 0;
}

static void status_exit(struct apgated *d)
{
	adm_set_portal(d->adm, NULL, NULL);
}

static int admin_init(struct apgated *d)
{
	struct adm_cfg ac = {
		.path = d->cfg->admin_socket,
		.mode = d->cfg->admin_socket_mode,
		.group = d->cfg->admin_socket_group,
		.cfg_path = d->cfg->path,
	};

	return adm_new(d->base, d->ctl, &ac, &d->adm);
}

static void admin_exit(struct apgated *d)
{
	adm_free(d->adm);
}

/* SIGHUP: build a new snapshot, validate it, then swap it in (STYLE 14).
 * 0, or -EINVAL when the file was refused. */
static int reload(struct apgated *d)
{
	struct cfg *n = NULL;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef = open_memstream(&errs, &errlen);
	int r = cfg_load(d->cfg_path, ef, &n);

	if (ef)
		fclose(ef);
	if (r < 0) {
		log_err("reload: %s is not valid; keeping the running configuration", d->cfg_path);
		for (char *line = errs ? strtok(errs, "\n") : NULL; line; line = strtok(NULL, "\n"))
			log_err("reload: %s", line);
		free(errs);
		return -EINVAL;
	}
	free(errs);
	static const struct {
		const char *key;
		size_t off;
	} restart_only[] = {
		{ "registry", offsetof(struct cfg, registry) },
		{ "admin_socket", offsetof(struct cfg, admin_socket) },
		{ "ctrl_dir", offsetof(struct cfg, ctrl_dir) },
		{ "client_dir", offsetof(struct cfg, client_dir) },
		{ "oui_dir", offsetof(struct cfg, oui_dir) },
	};
	/* The firewall and dnsmasq's files are rebuilt from the new zones
	 * below; the listeners and watchers bound to zone interfaces and
	 * addresses are set up at start-up only. */
	bool zones_moved = n->enforce != d->cfg->enforce || n->captive_port != d->cfg->captive_port;
	for (int z = 0; z < CFG_N_ZONES; z++) {
		const struct cfg_zone_net *a = &d->cfg->zones[z], *b = &n->zones[z];
		zones_moved |= a->present != b->present ||
			       (a->present && (strcmp(a->ifname, b->ifname) || a->gateway.addr.s_addr != b->gateway.addr.s_addr));
	}
	if (!d->cfg->enforce && n->enforce)
		log_warn("reload: zones added; enforcement starts at the next restart");
	else if (d->cfg->enforce && !n->enforce)
		log_warn("reload: zones removed; apgate's firewall rules stay until a restart and `apgated --flush`");
	else if (zones_moved)
		log_warn("reload: zones changed; the firewall and dnsmasq's files follow now, the captive page "
			 "and guest bridge isolation at the next restart (and dnsmasq must be restarted to read its "
			 "new configuration)");
	for (size_t i = 0; i < ARRAY_SIZE(restart_only); i++) {
		const char *a = *(char **)((char *)d->cfg + restart_only[i].off);
		const char *b = *(char **)((char *)n + restart_only[i].off);
		if (strcmp(a, b) != 0)
			log_warn("reload: %s changed; it takes effect at the next restart", restart_only[i].key);
	}
	if (n->portal.enabled != d->cfg->portal.enabled || n->portal.https_port != d->cfg->portal.https_port ||
	    n->portal.http_port != d->cfg->portal.http_port || strcmp(n->portal.dir, d->cfg->portal.dir) ||
	    strcmp(n->portal.cert, d->cfg->portal.cert) || strcmp(n->portal.key, d->cfg->portal.key) ||
	    n->portal.n_staff_listen != d->cfg->portal.n_staff_listen ||
	    memcmp(n->portal.staff_listen, d->cfg->portal.staff_listen, sizeof(n->portal.staff_listen)) ||
	    n->portal.session_idle_s != d->cfg->portal.session_idle_s ||
	    n->portal.session_max_s != d->cfg->portal.session_max_s ||
	    n->portal.login_failures != d->cfg->portal.login_failures ||
	    n->portal.login_lockout_s != d->cfg->portal.login_lockout_s)
		log_warn("reload: [portal] changed; the portal follows at the next restart");
	if (!d->verbose)
		log_set_level(n->log_level);
	/* the helper builds the firewall from its own copy of the file */
	if (d->priv && (r = priv_reload(d->priv)) < 0)
		log_err("reload: the privileged helper could not re-read %s: %s", d->cfg_path, strerror(-r));
	r = ctl_set_cfg(d->ctl, n);
	if (r < 0)
		log_warn("reload: some hostapd clients could not be started: %s", strerror(-r));
	/* ctl now refers to n; the old snapshot keeps the paths of sockets and
	 * files that stay open until restart. */
	struct cfg *old = d->cfg;
	d->cfg = n;
	/* Keep restart-only values from the running snapshot so status and the
	 * next comparison describe what is really in use. */
	for (size_t i = 0; i < ARRAY_SIZE(restart_only); i++) {
		char **a = (char **)((char *)old + restart_only[i].off);
		char **b = (char **)((char *)n + restart_only[i].off);
		char *t = *a;
		*a = *b;
		*b = t;
	}
	cfg_free(old);
	log_info("reload: configuration %s applied (%u BSS)", d->cfg_path, n->n_bss);
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
	struct apgated *d = ud;

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: reloading %s", d->cfg_path);
		sdn_reloading(d->sdn);
		sdn_ready(d->sdn, reload(d) < 0 ? "reload refused (see the log); running on the previous configuration"
						: "running; configuration reloaded");
		return;
	}
	log_info("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	sdn_stopping(d->sdn);
	event_base_loopbreak(d->base);
}

static int signals_init(struct apgated *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		d->sig[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		if (!d->sig[i] || evsignal_add(d->sig[i], NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void signals_exit(struct apgated *d)
{
	for (size_t i = 0; i < ARRAY_SIZE(d->sig); i++)
		if (d->sig[i])
			event_free(d->sig[i]);
}

static const struct module {
	const char *name;
	int (*init)(struct apgated *d);
	void (*exit)(struct apgated *d);
	int exit_code; /* when init fails */
} modules[] = {
	{ "privsep", privsep_init, privsep_exit, EXIT_INIT },
	{ "loop", loop_init, loop_exit, EXIT_INIT },
	{ "notify", notify_init, notify_exit, EXIT_INIT },
	{ "registry", registry_init, registry_exit, EXIT_REGISTRY },
	{ "oui", oui_init, oui_exit, EXIT_INIT },
	{ "firewall", firewall_init, firewall_exit, EXIT_FIREWALL },
	{ "bridges", bridges_init, bridges_exit, EXIT_FIREWALL },
	{ "controller", controller_init, controller_exit, EXIT_INIT },
	{ "admin", admin_init, admin_exit, EXIT_SOCKET },
	{ "portal files", portal_files_init, portal_files_exit, EXIT_INIT },
	{ "captive", captive_init, captive_exit, EXIT_SOCKET },
	{ "staff portal", staff_init, staff_exit, EXIT_SOCKET },
	{ "status", status_init, status_exit, EXIT_INIT },
	{ "signals", signals_init, signals_exit, EXIT_INIT },
};

static const char usage_text[] =
	"usage: apgated [-c FILE] [-f] [-d] [-n] [--flush]\n"
	"  -c FILE   configuration (default /etc/apgate/apgate.conf)\n"
	"  -f        stay in the foreground, log to stderr\n"
	"  -d        debug detail (overrides log_level)\n"
	"  -n        check the configuration and exit\n"
	"  --flush   remove every firewall rule and chain apgate owns, and exit\n"
	"exit status: 0 ok, 1 failure while running, 2 usage, 3 configuration,\n"
	"             4 registry, 5 admin or portal socket, 6 other start-up failure,\n"
	"             7 firewall\n";

/* apgated --flush: what apgate put into netfilter, removed. */
static int flush_firewall(void)
{
	struct fw *fw = NULL;
	int r = fw_new(&fw_ops_iptc, NULL, &fw);

	if (r == 0)
		r = fw_flush(fw);
	fw_free(fw);
	if (r < 0) {
		fprintf(stderr, "apgated: --flush failed: %s\n", strerror(-r));
		return EXIT_FIREWALL;
	}
	printf("apgated: every APGATE_ chain and jump removed (IPv4 and IPv6)\n");
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct apgated d = { .cfg_path = "/etc/apgate/apgate.conf" };
	static const struct option lo[] = { { "flush", no_argument, NULL, 'F' },
					     { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 } };
	bool check_only = false, flush = false;
	size_t started = 0;
	int opt, r, rc = EXIT_OK;

	while ((opt = getopt_long(argc, argv, "c:fdnh", lo, NULL)) != -1) {
		switch (opt) {
		case 'F': flush = true; break;
		case 'c': d.cfg_path = optarg; break;
		case 'f': d.foreground = true; break;
		case 'd': d.verbose = true; break;
		case 'n': check_only = true; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		default: fputs(usage_text, stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	if (flush) /* needs no configuration: it removes only what apgate owns */
		return flush_firewall();
	r = cfg_load(d.cfg_path, stderr, &d.cfg);
	if (r < 0) {
		fprintf(stderr, "apgated: configuration %s refused; not starting\n", d.cfg_path);
		return EXIT_CONFIG;
	}
	if (check_only) {
		printf("%s: configuration ok (%u BSS)\n", d.cfg_path, d.cfg->n_bss);
		cfg_free(d.cfg);
		return EXIT_OK;
	}
	d.use_syslog = d.cfg->syslog || !d.foreground;
	log_open("apgated", d.verbose ? LOG_LVL_DEBUG : d.cfg->log_level, d.use_syslog);
	if (!d.foreground && daemon(0, 0) < 0) {
		log_err("cannot daemonize: %s", strerror(errno));
		cfg_free(d.cfg);
		return EXIT_INIT;
	}
	for (started = 0; started < ARRAY_SIZE(modules); started++) {
		sdn_status(d.sdn, "starting: %s", modules[started].name);
		r = modules[started].init(&d);
		if (r < 0) {
			log_err("start-up failed in %s: %s", modules[started].name, strerror(-r));
			sdn_status(d.sdn, "start-up failed in %s: %s", modules[started].name, strerror(-r));
			rc = modules[started].exit_code;
			break;
		}
	}
	if (rc == EXIT_OK) {
		log_info("apgated %s running (pid %d, config %s)", APGATE_VERSION, (int)getpid(), d.cfg_path);
		sdn_ready(d.sdn, d.cfg->enforce ? "running; enforcing the zones" : "running; observing only");
		if (event_base_dispatch(d.base) < 0) {
			log_err("event loop failed");
			rc = EXIT_FAILURE_RUN;
		}
	}
	/* Stop in reverse order; modules[started] itself did not start. */
	while (started-- > 0)
		modules[started].exit(&d);
	log_info("apgated stopped");
	cfg_free(d.cfg);
	log_close();
	return rc;
}
