/* priv.h - apgated's privilege split, the unprivileged side.
 *
 * priv_start() forks the privileged helper (privd.h) before apgated
 * parses any outside input: the helper keeps CAP_NET_ADMIN and
 * CAP_NET_RAW (and drops every other capability), is named apgated-priv
 * (ps, the log), closes every file
 * descriptor but its end of a SOCK_SEQPACKET socketpair and stdin/out/err,
 * sets no_new_privs, is not dumpable, and exits when the socket closes or
 * apgated dies. priv_drop_caps() then removes CAP_NET_ADMIN and
 * CAP_NET_RAW from apgated's effective, permitted, inheritable and (given
 * CAP_SETPCAP) bounding sets and sets no_new_privs: the portal, the
 * hostapd client, the admin socket and the lease events run in a process
 * that cannot change the firewall or the links.
 *
 * The firewall (fw.h, through fw_new_remote()) and the link writes
 * (linkw.h: guest port isolation, wired port moves) use the tables below
 * with a struct priv * as ud. Requests are synchronous with a bounded wait
 * (PRIV_WAIT_MS: the helper may wait up to 5 s for the xtables lock).
 *
 * A dead helper is not restarted (apgated has no CAP_NET_ADMIN left to
 * give a new one): it is logged once at error, every request then fails
 * with -EPIPE (the firewall's retry and status health report it), the
 * rules already in the kernel stay, and apgated keeps serving; restarting
 * apgated (systemd: Restart=on-failure does not apply, `systemctl restart
 * apgated`) starts a new helper. priv_alive() tells.
 *
 * Errors are negative errno. Not thread-safe; no global state.
 */
#ifndef APGATE_PRIV_H
#define APGATE_PRIV_H

#include <stdbool.h>

#include "io/fw.h"
#include "io/linkw.h"

#define PRIV_WAIT_MS 15000

struct priv;

/* Forks the helper for the configuration at cfg_path (it reads the file
 * itself). use_syslog as log_open's. 0 and *out (free with priv_free(),
 * which closes the socket: the helper exits), or a negative errno. */
int priv_start(const char *cfg_path, bool use_syslog, struct priv **out);
void priv_free(struct priv *p);

/* Drops CAP_NET_ADMIN and CAP_NET_RAW from this process for good and sets
 * no_new_privs. 0 or a negative errno. */
int priv_drop_caps(void);

/* The helper re-reads the configuration (SIGHUP) and takes this process's
 * log level. 0 or negative errno. */
int priv_reload(struct priv *p);
/* One round trip: 0, or -EPIPE (dead), -ETIMEDOUT. */
int priv_ping(struct priv *p);
bool priv_alive(const struct priv *p);
int priv_pid(const struct priv *p);

extern const struct fw_remote_ops priv_fw_ops;  /* ud: struct priv * */
extern const struct linkw_ops priv_link_ops;    /* ud: struct priv * */

#endif
