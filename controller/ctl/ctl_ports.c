/* ctl_ports.c - the wired ports of a mini-PC access point ([network]
 * wired_ports): each port sits in the bridge of the zone of the devices
 * behind it.
 *
 * A device the bridge learns on a port is recorded with that port (new
 * ones are pending). The port's bridge follows from the devices whose
 * record names it: all approved business -> the work zone's bridge, all
 * guest -> the guest bridge, anything else (nobody known yet, pending,
 * held, blocked, or a mix behind a small switch) -> the onboarding bridge,
 * where the firewall lets nothing but DHCP, DNS and the captive portal
 * through. Moves are idempotent (wport_move writes nothing when the port is
 * already there), so start-up simply places every port again: a restart
 * does not flap the links. After a real move the port is taken down and up
 * ([network] bounce_on_move) so the device asks for a new DHCP lease.
 */
#include "ctl_int.h"

#include <errno.h>
#include <string.h>

#include "io/wport.h"
#include "log.h"
#include "model/oui.h"
#include "util.h"

static bool is_port(const struct ctl *c, const char *port)
{
	for (unsigned i = 0; port && i < c->cfg->n_wired_ports; i++)
		if (!strcmp(c->cfg->wired_ports[i], port))
			return true;
	return false;
}

struct port_walk {
	const char *port;
	unsigned n, work, guest;
};

static int count_on_port(const struct reg_device *d, void *ud)
{
	struct port_walk *w = ud;
	enum policy_access a;

	if (!d->port || strcmp(d->port, w->port))
		return 0;
	a = policy_access(d);
	w->n++;
	w->work += a == POLICY_WORK;
	w->guest += a == POLICY_GUEST;
	return 0;
}

void ports_place(struct ctl *c, const char *port)
{
	struct port_walk w = { .port = port };
	enum cfg_zone z = CFG_ZONE_ONBOARDING;
	const char *br;
	int r;

	if (!c->ports.w || !is_port(c, port))
		return;
	r = reg_list(c->reg, NULL, count_on_port, &w);
	if (r < 0) {
		log_err("ports: cannot list the devices behind %s: %s", port, strerror(-r));
		return;
	}
	if (w.n && w.work == w.n)
		z = CFG_ZONE_WORK;
	else if (w.n && w.guest == w.n)
		z = CFG_ZONE_GUEST;
	if (!c->cfg->zones[z].present)
		z = CFG_ZONE_ONBOARDING;
	br = c->cfg->zones[z].ifname;
	r = wport_move(c->ports.w, port, br, c->cfg->bounce_on_move);
	if (r == 1) {
		c->ports.moves++;
		log_info("ports: %s now in %s (%s zone; %u device(s) behind it)", port, br, cfg_zone_name(z), w.n);
	} else if (r < 0 && r != -ENODEV) {
		log_err("ports: cannot put %s into %s: %s", port, br, strerror(-r));
	}
}

static void on_port(const char *port, bool present, void *ud)
{
	struct ctl *c = ud;

	if (present)
		ports_place(c, port);
	else
		log_warn("ports: %s is gone", port);
}

static void on_station(const char *port, const char *mac, void *ud)
{
	struct ctl *c = ud;
	const char *vendor = NULL;
	struct mac m;
	bool created = false;
	struct reg_device *d = NULL;
	int r;

	/* only what the registry does not know yet, or knows elsewhere */
	if (reg_get(c->reg, mac, &d) == 0 && d->port && !strcmp(d->port, port) && d->connected) {
		reg_device_free(d);
		ports_place(c, port);
		return;
	}
	reg_device_free(d);
	if (c->oui && mac_parse(mac, &m) == 0)
		vendor = oui_lookup(c->oui, &m);
	struct reg_obs o = { .kind = REG_OBS_PRESENT, .mac = mac, .port = port, .vendor = vendor,
			     .initial = REG_PENDING, .now = util_now_ms() };
	r = reg_observe(c->reg, &o, &created);
	if (r < 0) {
		log_err("ports: cannot record %s behind %s: %s", mac, port, strerror(-r));
		return;
	}
	if (created)
		log_info("new device %s behind wired port %s (vendor %s): pending", mac, port, vendor ? vendor : "unknown");
	auto_on_device(c, mac); /* its port is known now */
	ports_place(c, port);
	ctl_notify(c);
}

int ports_init(struct ctl *c)
{
	static const struct wport_cbs cbs = { .on_station = on_station, .on_port = on_port };
	struct wport *w = NULL;
	int r;

	if (!c->cfg->enforce || !c->cfg->n_wired_ports)
		return 0;
	r = wport_new(c->base, (const char *const *)c->cfg->wired_ports, c->cfg->n_wired_ports, &cbs, c, &w);
	if (r < 0) {
		log_err("ports: cannot follow the wired ports: %s", strerror(-r));
		return r;
	}
	c->ports.w = w;
	if (c->enf.links)
		wport_set_writer(w, c->enf.links, c->enf.links_ud);
	/* the callbacks during wport_new could not move anything yet */
	for (unsigned i = 0; i < c->cfg->n_wired_ports; i++)
		ports_place(c, c->cfg->wired_ports[i]);
	return 0;
}

void ports_free(struct ctl *c)
{
	wport_free(c->ports.w);
	c->ports.w = NULL;
}

void ports_on_device(struct ctl *c, const struct reg_device *d)
{
	if (d->port)
		ports_place(c, d->port);
}
