/* ctl_check.c - the risky-service check (contract in ctl.h,
 * ctl_check_device()): a bounded TCP connect check of one device's own
 * address, on the event loop, never blocking it.
 *
 * A check is a job: queued (bounded, CHECK_QUEUE_MAX), started when the
 * per-minute token bucket ([checks] per_minute; the bucket holds as many
 * tokens as that, refilled evenly over the minute) has a token, then its
 * ports are tried with non-blocking connects, at most [checks] concurrency
 * of them in flight over all jobs, each given [checks] timeout_ms (EV_WRITE
 * with a timeout, then SO_ERROR). A port is "open" when the TCP handshake
 * completes; the connection is then reset at once (SO_LINGER 0): nothing
 * is sent, no login is tried. A refused, unreachable or silent port is not
 * open.
 *
 * Where it may connect: only to the address the registry holds for the
 * device, and only when that address lies inside a configured zone's
 * subnet and is none of its gateway, network and broadcast addresses
 * (checked when queued and again when the job starts: the lease may have
 * changed meanwhile). Everything else is refused (-EADDRNOTAVAIL): the
 * check never reaches the uplink, the internet or [network] lan.
 *
 * The automatic check of a device's first lease ([checks] on_first_seen,
 * once per device: until checked_at is set) waits CHECK_FIRST_DELAY_MS
 * before it joins the queue, so the device has configured the address.
 *
 * The result replaces the device's findings (reg_set_findings(), which
 * also stamps checked_at and writes a "check" event) and, when anything
 * risky is open, raises one "risky_service" alert naming every service
 * with advice in plain words (ctl_alert() keeps one open alert per kind
 * and device, so a device is announced once until someone acknowledges).
 */
#include "ctl_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"

/* The ports tried, and why each is risky on a shop's business network.
 * TCP only (a connect check); each is a service that is either cleartext
 * with passwords, a common way in for worms, or a remote-control/admin
 * surface that shop devices (printers, POS, signage players, NAS, PCs)
 * often leave on from the factory:
 *   23 telnet       cleartext logins; printers, routers, POS boxes, IoT
 *   21 ftp          cleartext logins; scan-to-folder printers, NAS
 *   445, 139 smb    file sharing; the way ransomware (WannaCry) spreads
 *   3389 rdp        remote desktop of a PC; brute-forced, BlueKeep
 *   5900 vnc        remote screen, often without or with a weak password
 *   80, 8080 http   admin web pages over plain HTTP (passwords in clear),
 *                   often with factory passwords
 *   443, 8443 https admin web pages: encrypted, but still an admin page
 *                   anyone on the network can try factory passwords on
 *   1900, 5000, 49152 upnp  UPnP description/control servers (TCP): lets
 *                   any program on the network reconfigure the device or
 *                   open ports on routers
 * Not tried: SSH (22) is the safe replacement people should use; SNMP and
 * UPnP discovery are UDP, which a connect check cannot see. */
static const struct check_port {
	unsigned port;
	const char *service;   /* reg_finding.service */
	const char *name;      /* for people */
	const char *why;       /* plain words */
} check_ports[] = {
	{ 23, "telnet", "telnet", "telnet sends passwords unencrypted" },
	{ 21, "ftp", "FTP", "FTP sends passwords unencrypted" },
	{ 445, "smb", "Windows file sharing (SMB)", "file sharing is how ransomware spreads between machines" },
	{ 139, "smb", "Windows file sharing (SMB over NetBIOS)", "old file sharing is how ransomware spreads between machines" },
	{ 3389, "rdp", "remote desktop (RDP)", "anyone on the network can try to log in to it" },
	{ 5900, "vnc", "remote screen access (VNC)", "anyone on the network can try to take over the screen" },
	{ 80, "http-admin", "a web page (HTTP)", "admin pages over HTTP send passwords unencrypted and often keep factory passwords" },
	{ 8080, "http-admin", "a web page (HTTP)", "admin pages over HTTP send passwords unencrypted and often keep factory passwords" },
	{ 443, "http-admin", "an admin web page (HTTPS)", "anyone on the network can try factory passwords on it" },
	{ 8443, "http-admin", "an admin web page (HTTPS)", "anyone on the network can try factory passwords on it" },
	{ 1900, "upnp", "UPnP", "any program on the network can change the device's settings through it" },
	{ 5000, "upnp", "UPnP", "any program on the network can change the device's settings through it" },
	{ 49152, "upnp", "UPnP", "any program on the network can change the device's settings through it" },
};
#define N_PORTS ARRAY_SIZE(check_ports)
#define CHECK_QUEUE_MAX 256   /* jobs waiting for a token */
/* The first-seen check waits this long after the lease: dnsmasq tells
 * apgated at the DHCPACK, before the device has configured the address
 * (until then its ARP does not answer and every port looks closed). */
#define CHECK_FIRST_DELAY_MS 3000

struct chk_job;

struct chk_probe {
	struct chk_job *job;
	unsigned idx;          /* into check_ports */
	int fd;
	struct event *ev;
};

struct chk_job {
	struct chk_job *next;
	struct ctl *ctl;
	struct event *delay;   /* on the waiting list until it fires */
	char mac[MAC_STR_LEN];
	char who[64];          /* for the log */
	struct in_addr addr;
	unsigned next_port;    /* not yet started */
	unsigned pending;      /* connects in flight */
	bool open[N_PORTS];
	struct chk_probe probe[N_PORTS];
};

/* The zone whose subnet holds a (host part only: not its gateway, network
 * or broadcast address), or -1. */
static int zone_of_host(const struct cfg *cfg, struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	for (int z = 0; z < CFG_N_ZONES; z++) {
		const struct cfg_zone_net *zn = &cfg->zones[z];
		uint32_t mask, gw, net;

		if (!zn->present || zn->gateway.len == 0 || zn->gateway.len > 30)
			continue;
		mask = 0xffffffffu << (32 - zn->gateway.len);
		gw = ntohl(zn->gateway.addr.s_addr);
		net = gw & mask;
		if ((h & mask) != net)
			continue;
		if (h == gw || h == net || h == (net | ~mask))
			return -1;
		return z;
	}
	return -1;
}

/* The device's checkable address: 0, -ENOENT, -EADDRNOTAVAIL. */
static int device_addr(struct ctl *c, const char *mac, struct in_addr *out, struct reg_device **dp)
{
	struct reg_device *d = NULL;
	int r = reg_get(c->reg, mac, &d);

	if (r < 0)
		return r;
	if (!d->ip || inet_pton(AF_INET, d->ip, out) != 1 || zone_of_host(c->cfg, *out) < 0)
		r = -EADDRNOTAVAIL;
	if (dp && r == 0)
		*dp = d;
	else
		reg_device_free(d);
	return r;
}

static struct chk_job *find_job(struct chk_job *list, const char *mac)
{
	for (; list; list = list->next)
		if (!strcmp(list->mac, mac))
			return list;
	return NULL;
}

static void unlink_job(struct chk_job **list, struct chk_job *j)
{
	for (; *list; list = &(*list)->next)
		if (*list == j) {
			*list = j->next;
			return;
		}
}

static void probe_close(struct chk_probe *p)
{
	if (p->ev) {
		event_free(p->ev);
		p->ev = NULL;
	}
	if (p->fd >= 0) {
		/* reset, not a FIN: the device's service is not kept waiting */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };
		setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(p->fd);
		p->fd = -1;
	}
}

static void job_free(struct chk_job *j)
{
	if (j->delay)
		event_free(j->delay);
	for (unsigned i = 0; i < N_PORTS; i++)
		probe_close(&j->probe[i]);
	free(j);
}

/* What people call the device in an alert. */
static void device_name(const struct reg_device *d, char *buf, size_t len)
{
	const char *n = d->label ? d->label : d->claim_name ? d->claim_name
		      : d->hostname ? d->hostname : NULL;

	if (n)
		snprintf(buf, len, "The device \"%s\"", n);
	else if (d->vendor)
		snprintf(buf, len, "The %s device %s", d->vendor, d->mac);
	else
		snprintf(buf, len, "The device %s", d->mac);
}

static void job_finish(struct ctl *c, struct chk_job *j)
{
	struct reg_finding f[N_PORTS];
	struct reg_device *d = NULL;
	char ip[INET_ADDRSTRLEN], name[160], list[400] = "";
	unsigned n = 0, nsvc = 0;
	size_t off = 0;
	int r;

	inet_ntop(AF_INET, &j->addr, ip, sizeof(ip));
	for (unsigned i = 0; i < N_PORTS; i++) {
		if (!j->open[i])
			continue;
		f[n++] = (struct reg_finding){ .mac = j->mac, .port = check_ports[i].port,
					       .service = check_ports[i].service };
	}
	c->checks.done++;
	r = reg_set_findings(c->reg, j->mac, f, n, util_now_ms());
	if (r < 0) {
		if (r != -ENOENT) /* forgotten meanwhile: nothing to record */
			log_err("check of %s (%s): cannot record the result: %s", j->mac, ip, strerror(-r));
		return;
	}
	log_info("check of %s (%s) by %s: %u risky port(s) open", j->mac, ip, j->who, n);
	ctl_notify(c);
	if (n == 0 || reg_get(c->reg, j->mac, &d) < 0)
		return;
	device_name(d, name, sizeof(name));
	/* "telnet on port 23 (telnet sends passwords unencrypted)" per port */
	for (unsigned i = 0; i < N_PORTS && off < sizeof(list); i++) {
		int w;
		if (!j->open[i])
			continue;
		w = snprintf(list + off, sizeof(list) - off, "%s%s on port %u (%s)",
			     nsvc ? "; " : "", check_ports[i].name, check_ports[i].port,
			     check_ports[i].why);
		if (w < 0)
			break;
		off += (size_t)w;
		nsvc++;
	}
	if (off >= sizeof(list)) /* cut: keep the sentence readable */
		util_strlcpy(list + sizeof(list) - 5, "...", 5);
	ctl_alert(c, "risky_service", j->mac,
		  "%s (%s) accepts %s. Turn %s off in the device's settings or ask its supplier to.",
		  name, ip, list, nsvc > 1 ? "these services" : "this service");
	reg_device_free(d);
}

static void pump(struct ctl *c);

static void probe_done(struct chk_probe *p, bool open)
{
	struct chk_job *j = p->job;
	struct ctl *c = j->ctl;

	probe_close(p);
	j->open[p->idx] = open;
	j->pending--;
	c->checks.inflight--;
	if (j->pending == 0 && j->next_port == N_PORTS) {
		unlink_job(&c->checks.running, j);
		job_finish(c, j);
		job_free(j);
	}
	pump(c);
}

static void on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct chk_probe *p = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	if (what & EV_TIMEOUT) {
		probe_done(p, false);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	probe_done(p, err == 0);
}

/* Starts the connect of j's next port. false when it could not be started
 * (the port counts as not open). */
static bool probe_start(struct ctl *c, struct chk_job *j)
{
	unsigned i = j->next_port++;
	struct chk_probe *p = &j->probe[i];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = j->addr,
				  .sin_port = htons((uint16_t)check_ports[i].port) };
	struct timeval tv = { .tv_sec = c->cfg->checks.timeout_ms / 1000,
			      .tv_usec = (c->cfg->checks.timeout_ms % 1000) * 1000 };

	*p = (struct chk_probe){ .job = j, .idx = i, .fd = -1 };
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		log_warn("check of %s: socket: %s", j->mac, strerror(errno));
		return false;
	}
	if (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		j->open[i] = true; /* at once (unusual off loopback) */
		probe_close(p);
		return false;
	}
	if (errno != EINPROGRESS) {
		probe_close(p); /* refused or unreachable at once: not open */
		return false;
	}
	p->ev = event_new(c->base, p->fd, EV_WRITE, on_probe, p);
	if (!p->ev || event_add(p->ev, &tv) < 0) {
		probe_close(p);
		return false;
	}
	j->pending++;
	c->checks.inflight++;
	return true;
}

/* Refills the token bucket: per_minute tokens a minute, at most per_minute. */
static void refill(struct ctl *c)
{
	long long now = util_mono_ms();
	double cap = c->cfg->checks.per_minute;

	if (c->checks.tok_ms)
		c->checks.tokens += (double)(now - c->checks.tok_ms) * cap / 60000.0;
	else
		c->checks.tokens = cap;
	if (c->checks.tokens > cap)
		c->checks.tokens = cap;
	c->checks.tok_ms = now;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pump(arg);
}

/* Starts what the token bucket and the concurrency allow. */
static void pump(struct ctl *c)
{
	struct checks *k = &c->checks;

	refill(c);
	while (k->queue && k->tokens >= 1.0) {
		struct chk_job *j = k->queue;
		struct reg_device *d = NULL;

		k->queue = j->next;
		k->n_queued--;
		/* the lease may have changed while it waited */
		int r = device_addr(c, j->mac, &j->addr, &d);
		reg_device_free(d);
		if (r < 0) {
			log_info("check of %s dropped: %s", j->mac,
				 r == -ENOENT ? "forgotten" : "no address inside the zones any more");
			job_free(j);
			continue;
		}
		k->tokens -= 1.0;
		/* to the running list's tail: its ports go out oldest job first */
		struct chk_job **tail = &k->running;
		while (*tail)
			tail = &(*tail)->next;
		j->next = NULL;
		*tail = j;
	}
	/* connects, oldest job first; a job whose ports all failed at once
	 * finishes here */
	for (struct chk_job *j = k->running, *next; j; j = next) {
		next = j->next;
		while (j->next_port < N_PORTS && k->inflight < c->cfg->checks.concurrency)
			probe_start(c, j);
		if (j->next_port == N_PORTS && j->pending == 0) {
			unlink_job(&k->running, j);
			job_finish(c, j);
			job_free(j);
			pump(c);
			return;
		}
	}
	if (k->queue && k->tick && !evtimer_pending(k->tick, NULL)) {
		double need = 1.0 - k->tokens;
		long long ms = (long long)(need * 60000.0 / c->cfg->checks.per_minute) + 1;
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
		evtimer_add(k->tick, &tv);
	}
}

/* To the queue's tail: first come, first checked. */
static void enqueue(struct ctl *c, struct chk_job *j)
{
	struct chk_job **tail = &c->checks.queue;

	while (*tail)
		tail = &(*tail)->next;
	j->next = NULL;
	*tail = j;
	c->checks.n_queued++;
	c->checks.queued++;
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
	struct chk_job *j = arg;
	struct ctl *c = j->ctl;

	(void)fd;
	(void)what;
	unlink_job(&c->checks.waiting, j);
	event_free(j->delay);
	j->delay = NULL;
	enqueue(c, j);
	pump(c);
}

static int queue_check(struct ctl *c, const char *mac, const struct reg_actor *who, unsigned delay_ms)
{
	struct checks *k = &c->checks;
	char m[MAC_STR_LEN];
	struct in_addr a;
	struct chk_job *j;
	int r;

	if (!mac || mac_canon(mac, m) < 0)
		return -EINVAL;
	if (!c->cfg->checks.enabled)
		return -ENOTSUP;
	r = device_addr(c, m, &a, NULL);
	if (r < 0)
		return r;
	if (find_job(k->queue, m) || find_job(k->running, m) || find_job(k->waiting, m))
		return -EALREADY;
	if (k->n_queued >= CHECK_QUEUE_MAX)
		return -EBUSY;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	for (unsigned i = 0; i < N_PORTS; i++)
		j->probe[i].fd = -1;
	j->ctl = c;
	util_strlcpy(j->mac, m, sizeof(j->mac));
	util_strlcpy(j->who, who && who->who ? who->who : "apgated", sizeof(j->who));
	j->addr = a;
	if (delay_ms) {
		struct timeval tv = { .tv_sec = delay_ms / 1000, .tv_usec = (delay_ms % 1000) * 1000 };
		j->delay = evtimer_new(c->base, on_delay, j);
		if (j->delay && evtimer_add(j->delay, &tv) == 0) {
			j->next = k->waiting;
			k->waiting = j;
			return 0;
		}
		job_free(j);
		return -ENOMEM;
	}
	enqueue(c, j);
	pump(c);
	return 0;
}

int ctl_check_device(struct ctl *c, const char *mac, const struct reg_actor *who)
{
	return queue_check(c, mac, who, 0);
}

void check_on_lease(struct ctl *c, const char *canon)
{
	struct reg_device *d = NULL;
	static const struct reg_actor first = { "apgated", "first-seen" };
	int r;

	if (!c->cfg->checks.enabled || !c->cfg->checks.on_first_seen)
		return;
	if (reg_get(c->reg, canon, &d) < 0)
		return;
	/* once per device (checked_at stays 0 until a check completed);
	 * visitors' own phones on the guest network are not probed */
	bool want = d->checked_at == 0 && d->state != REG_GUEST && d->state != REG_BLOCKED;
	reg_device_free(d);
	if (!want)
		return;
	r = queue_check(c, canon, &first, CHECK_FIRST_DELAY_MS);
	if (r < 0 && r != -EALREADY && r != -EADDRNOTAVAIL)
		log_warn("check of %s not queued: %s", canon, strerror(-r));
}

void check_init(struct ctl *c)
{
	c->checks.tick = evtimer_new(c->base, on_tick, c);
	if (!c->checks.tick)
		log_warn("checks: no timer: queued checks wait for the next one");
}

void check_free(struct ctl *c)
{
	struct chk_job *j;

	while ((j = c->checks.queue)) {
		c->checks.queue = j->next;
		job_free(j);
	}
	while ((j = c->checks.running)) {
		c->checks.running = j->next;
		job_free(j);
	}
	while ((j = c->checks.waiting)) {
		c->checks.waiting = j->next;
		job_free(j);
	}
	if (c->checks.tick)
		event_free(c->checks.tick);
	c->checks = (struct checks){ 0 };
}
