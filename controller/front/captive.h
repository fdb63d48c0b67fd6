/* captive.h - the captive face: plain HTTP on each zone gateway's captive
 * port, where the firewall redirects the web traffic of devices that wait
 * for approval (TCP 80 to anywhere -> gateway:captive_port).
 *
 * Today it answers every request for a foreign host with a redirect to the
 * gateway's own page, which tells the user the device is waiting for
 * approval; the portal issue (#5) grows this into the full captive page,
 * the RFC 8908 API and the staff portal on the same libevent HTTP server.
 * Request line, headers and body are size-bounded and idle connections
 * time out.
 */
#ifndef APGATE_CAPTIVE_H
#define APGATE_CAPTIVE_H

#include <netinet/in.h>

struct event_base;
struct captive;

#define CAPTIVE_MAX_ADDRS 4

struct captive_cfg {
	struct in_addr addrs[CAPTIVE_MAX_ADDRS]; /* gateway addresses to listen on */
	unsigned n_addrs;
	unsigned port;
};

/* Listens on every address (-errno of the first bind that fails, with the
 * address logged). *out is freed with captive_free(). */
int captive_new(struct event_base *base, const struct captive_cfg *cfg, struct captive **out);
void captive_free(struct captive *c);

#endif
