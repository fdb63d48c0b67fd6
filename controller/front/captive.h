/* captive.h - the captive face: plain HTTP on each zone gateway's captive
 * port, where the firewall redirects the web traffic of devices that wait
 * for approval (TCP 80 to anywhere -> gateway:captive_port).
 *
 *  - any foreign host or path: 302 to http://<gateway>:<port>/, so every
 *    browser and the operating systems' connectivity probes (Apple, Android,
 *    Windows, Firefox) land on the captive page and pop up their sheet;
 *  - the probes of a device that is no longer waiting (approved, guest) get
 *    the answer their OS expects, so the sheet closes;
 *  - GET / : the page - waiting for approval, a form where the user says
 *    what the device is, the guest Wi-Fi with its QR code for personal
 *    devices; it follows the decision by itself (captive.js polls /status);
 *  - GET /captive-portal/api : RFC 8908 (application/captive+json), the URI
 *    that DHCP option 114 announces (io/dnsm.c).
 * The device is found by the source address of the request (its DHCP
 * lease in the registry). Request line, headers and body are bounded and
 * idle connections time out (web.h).
 */
#ifndef APGATE_CAPTIVE_H
#define APGATE_CAPTIVE_H

#include <netinet/in.h>

struct event_base;
struct captive;
struct ctl;
struct auth;
struct web_assets;
struct web_i18n;

#define CAPTIVE_MAX_ADDRS 4

struct captive_cfg {
	struct in_addr addrs[CAPTIVE_MAX_ADDRS]; /* gateway addresses to listen on */
	unsigned n_addrs;
	unsigned port;
	const char *guest_ssid;        /* guest Wi-Fi shown to personal devices; NULL = none */
	const char *guest_passphrase;  /* NULL = an open network */
};

/* Listens on every address (-errno of the first bind that fails, with the
 * address logged). ctl, auth (for the claim form's token), assets and i18n
 * are borrowed and must outlive the captive face; cfg's strings are copied.
 * *out is freed with captive_free(). */
int captive_new(struct event_base *base, struct ctl *ctl, const struct auth *auth,
		const struct web_assets *assets, const struct web_i18n *i18n,
		const struct captive_cfg *cfg, struct captive **out);
void captive_free(struct captive *c);

/* For apgatectl status (front/adm.c): calls cb once per socket the captive
 * face listens on, with the IPv4 address and port it is bound to. */
typedef void (*captive_listen_cb)(const struct sockaddr_in *addr, void *ud);
void captive_listening(const struct captive *c, captive_listen_cb cb, void *ud);

#endif
