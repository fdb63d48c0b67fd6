/* privd.h - apgated's privileged helper: the only part of apgated that
 * keeps CAP_NET_ADMIN and CAP_NET_RAW after start-up.
 *
 * It serves the fixed messages of priv_msg.h on one socket, one at a time
 * (a blocking loop: the requests are short kernel calls), and does only
 * what they name: rebuild the firewall from a device table, set one
 * device's access, read the rules back, isolate a port of the guest
 * bridge, move a configured wired port into a configured zone's bridge.
 * The firewall plan is built here, from the helper's own copy of the
 * configuration file (read at start and on PRIV_RELOAD) and the device
 * table: apgated never sends rules, addresses or arbitrary interfaces.
 *
 * A malformed request (wrong size, unknown type, non-zero padding, bad
 * MAC, unconfigured interface, out-of-range access or flag) is refused
 * with -EINVAL or -EBADMSG in the reply and a logged reason; the helper
 * keeps serving. Errors are negative errno. Not thread-safe.
 */
#ifndef APGATE_PRIVD_H
#define APGATE_PRIVD_H

#include <stddef.h>

#include "io/fw.h"
#include "io/linkw.h"
#include "priv/priv_msg.h"

struct privd;

/* Reads the configuration at cfg_path (copied) and creates the firewall
 * module on fw (and rd for PRIV_FW_CHECK; may be NULL); link writes go to
 * lw with lw_ud (borrowed). The tables are kept by reference. 0 and *out
 * (free with privd_free()), -EINVAL (configuration refused), -ENOMEM. */
int privd_new(const char *cfg_path, const struct fw_ops *fw, const struct fw_read_ops *rd,
	      const struct linkw_ops *lw, void *lw_ud, struct privd **out);
void privd_free(struct privd *p);

/* Checks and runs one request of len bytes; fills *rep (its length is
 * always sizeof(*rep)). Returns rep->result. */
int privd_handle(struct privd *p, const void *req, size_t len, struct priv_rep *rep);

/* Requests refused as malformed so far. */
unsigned long privd_refused(const struct privd *p);

/* Serves requests on fd until the other end closes it (returns 0) or the
 * socket fails (negative errno). */
int privd_serve(struct privd *p, int fd);

#endif
