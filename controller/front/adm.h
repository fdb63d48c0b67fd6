/* adm.h - the admin socket: a UNIX stream socket speaking one JSON object
 * per line in each direction. apgatectl (and later the dnsmasq helper) use
 * it; every decision goes through ctl_*() like the portal's.
 *
 * Request:  {"cmd":"approve","mac":"02:..","as":"business","label":"Till 1"}
 * Reply:    {"ok":true,...}  or  {"ok":false,"error":{"code":"not_found","message":"..."}}
 * Verbs: ping, status, devices, show (with the suggestion, findings and
 * blocked look-ups), approve, block, forget, events, alerts, ack, check,
 * unmanaged, dns_blocks, inventory, users, and
 * lease (from dnsmasq's lease helper, root only).
 * "events" with "follow":true keeps the connection and sends one
 * {"event":{...}} line per new timeline entry.
 * "status" carries "health": {"status":"ok"|"warn"|"problem", "problems":N,
 * "warnings":N, "checks":[{"name","level","message",...details}]}: one
 * check per hostapd BSS, dnsmasq and the firewall (when enforcing; the
 * rules are read back from the kernel), the registry, the portal's faces,
 * guest isolation and misconfigurations seen from here (README, "apgatectl").
 *
 * Bad JSON, unknown verbs, bad arguments and lines over ADM_MAX_LINE get an
 * error reply; the connection stays usable. The person behind a request is
 * taken from the socket's peer credentials (SO_PEERCRED), never from the
 * request.
 */
#ifndef APGATE_ADM_H
#define APGATE_ADM_H

struct event_base;
struct ctl;
struct adm;

#define ADM_MAX_LINE (64 * 1024)
#define ADM_MAX_CLIENTS 64

struct adm_cfg {
	const char *path;     /* socket path */
	unsigned mode;        /* e.g. 0660 */
	const char *group;    /* group name or NULL */
	const char *cfg_path; /* shown by status */
};

/* Creates the socket (refusing with -EADDRINUSE when another daemon
 * answers on path; a stale socket file is replaced) and serves it on base.
 * ctl is borrowed. *out is freed with adm_free(), which closes every
 * connection and removes the socket file. */
int adm_new(struct event_base *base, struct ctl *ctl, const struct adm_cfg *cfg, struct adm **out);
void adm_free(struct adm *a);

/* The portal's faces, for the health part of status (what they listen
 * on); either may be NULL (not running). Borrowed: call again with NULL
 * before freeing them. */
struct captive;
struct staff;
void adm_set_portal(struct adm *a, const struct captive *c, const struct staff *s);

#endif
