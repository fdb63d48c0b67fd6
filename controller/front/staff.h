/* staff.h - the staff face of the portal: HTTPS on the work gateway and
 * the management addresses ([portal] staff_listen), never on the guest or
 * onboarding gateways (the firewall refuses those zones too). Plain HTTP on
 * [portal] http_port answers 301 to HTTPS.
 *
 * Sign-in with the registry's portal users (auth.h), then: pending devices
 * with one-tap decisions, the inventory with charts, device detail and
 * history, the audit log, and (admins) the users. Decisions go through
 * ctl_approve()/ctl_block()/ctl_forget() with via "portal": the same code
 * path as apgatectl's. Pages follow the timeline live through server-sent
 * events (/events). URLs, form fields and element ids: portal/README.md.
 */
#ifndef APGATE_STAFF_H
#define APGATE_STAFF_H

#include <netinet/in.h>
#include <stdbool.h>

struct event_base;
struct ctl;
struct auth;
struct web_assets;
struct web_i18n;
struct staff;

#define STAFF_MAX_ADDRS 5

struct staff_cfg {
	struct in_addr addrs[STAFF_MAX_ADDRS]; /* where to listen */
	unsigned n_addrs;
	unsigned https_port;
	unsigned http_port;     /* 0 = no redirect listener */
	const char *cert, *key; /* PEM; generated (self-signed, for addrs) when neither exists */
};

/* ctl, auth, assets and i18n are borrowed and must outlive the staff face.
 * -errno of the first listener that fails or of the certificate (logged).
 * *out is freed with staff_free(). */
int staff_new(struct event_base *base, struct ctl *ctl, struct auth *auth,
	      const struct web_assets *assets, const struct web_i18n *i18n,
	      const struct staff_cfg *cfg, struct staff **out);
void staff_free(struct staff *s);

/* For apgatectl status (front/adm.c): calls cb once per socket the staff
 * face listens on, with the IPv4 address and port it is bound to; tls is
 * true for HTTPS, false for the plain HTTP redirect listener. */
typedef void (*staff_listen_cb)(const struct sockaddr_in *addr, bool tls, void *ud);
void staff_listening(const struct staff *s, staff_listen_cb cb, void *ud);

#endif
