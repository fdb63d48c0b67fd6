/* fw.h - the zones enforced in netfilter (iptables legacy, through libiptc).
 *
 * Input is a plain description, no policy: the network (struct fw_net: the
 * zones' interfaces and addresses, the uplink, LAN destinations, the
 * captive port) and the devices apgate has decided about (struct fw_dev:
 * MAC -> verdict). Devices not listed get onboarding treatment on the work
 * and onboarding interfaces; on the guest interface every MAC that is not
 * blocked gets guest treatment; a blocked MAC is dropped everywhere.
 *
 * apgate owns only chains named APGATE_*, each hooked from a built-in chain
 * by exactly one jump at position 1. Nothing else is flushed or edited:
 * other rules and chains survive fw_sync() and fw_flush(). The rule layout
 * (one plan, rendered by fw_render() and applied by the kernel backend from
 * the same structures) is described in fw.c; tests/fw/ holds golden files.
 *
 * Per-device state lives in ONE chain per family, mangle APGATE_MARK: one
 * `-m mac --mac-source X -j MARK --set-xmark V/FW_MARK_MASK` rule per device.
 * The marks are saved into the connection (CONNMARK) for packets coming from
 * zone interfaces, so replies toward a device are accepted only while its
 * connection carries a mark that allows them.
 *
 * Every change of a table is one commit (whole-table replace, atomic for
 * packets) taken under the xtables lock (/run/xtables.lock, flock, as
 * iptables-legacy does), retried when the kernel says EAGAIN. fw_free()
 * leaves the rules in place: the network stays closed if the daemon dies.
 *
 * Errors are negative errno. Not thread-safe; no global state except the
 * lock file, which is shared with iptables-legacy by design.
 */
#ifndef APGATE_FW_H
#define APGATE_FW_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define FW_CHAIN_PREFIX "APGATE_"

/* The packet/connection mark bits apgate uses; other bits are left alone. */
#define FW_MARK_MASK    0x00ff0000u
#define FW_MARK_WORK    0x00010000u
#define FW_MARK_GUEST   0x00020000u
#define FW_MARK_BLOCKED 0x00030000u
/* no mark (0) = onboarding */

enum fw_verdict {
	FW_ONBOARDING = 0, /* not approved: in fw_update_device() = forget the MAC */
	FW_WORK,
	FW_GUEST,
	FW_BLOCKED,
};

struct fw_cidr4 {
	struct in_addr addr; /* host bits are ignored */
	uint8_t len;         /* 0..32 */
};

struct fw_cidr6 {
	struct in6_addr addr;
	uint8_t len;         /* 0..128; 0 in fw_zone.net6 = no IPv6 prefix */
};

enum fw_zone_id { FW_ZONE_WORK, FW_ZONE_GUEST, FW_ZONE_ONBOARDING, FW_ZONE_N };

struct fw_zone {
	char ifname[IFNAMSIZ]; /* "" = the zone has no interface of its own
				* (guest, onboarding only; work is required) */
	struct in_addr gw4;    /* the AP's address in the zone (DNS, portal) */
	uint8_t len4;          /* its prefix length, 1..32 */
	struct fw_cidr6 net6;  /* optional IPv6 prefix of the zone */
};

struct fw_net {
	struct fw_zone zone[FW_ZONE_N];
	char uplink[IFNAMSIZ];      /* required */
	bool masquerade;            /* MASQUERADE out of the uplink (IPv4) */
	uint16_t captive_port;      /* TCP port of the portal on each gateway */
	const struct fw_cidr4 *lan4; /* destinations work devices may reach */
	unsigned n_lan4;
	const struct fw_cidr6 *lan6;
	unsigned n_lan6;
};

/* The firewall's view of apgate.conf's zones and [network] (IPv4):
 * apgated's controller and the privileged helper both build it so. lan
 * (CFG_MAX_LAN entries) holds the LAN destinations net->lan4 points at. */
struct cfg;
struct fw_cidr4;
void fw_net_from_cfg(const struct cfg *cfg, struct fw_net *net, struct fw_cidr4 *lan);

struct fw_dev {
	uint8_t mac[6];
	enum fw_verdict v;
};

struct fw_table; /* one table's plan: see fw_plan.h (backends and tests) */
struct fw_check;

/* One table as read back from the kernel (fw_ops.read, for fw_check()). */
#define FW_KCHAINS_MAX 16
struct fw_kchain {
	char name[32];       /* APGATE_... */
	unsigned rules;      /* rules in it */
	char hook[16];       /* first built-in chain jumping to it, "" = none */
	unsigned hook_pos;   /* 1-based position of that jump in hook */
	unsigned hook_jumps; /* jumps to it from built-in chains, in all */
};
struct fw_ktable {
	struct fw_kchain chains[FW_KCHAINS_MAX];
	unsigned n;
	bool truncated;      /* more APGATE_ chains than FW_KCHAINS_MAX */
};

/* The side effects (STYLE 8). fw_ops_iptc is the kernel backend; tests
 * install fakes. Both functions return 0 or a negative errno. */
struct fw_ops {
	const char *name;
	/* Makes everything apgate owns in table t->name of family t->family
	 * exactly t: its APGATE_ chains with their rules, one jump from each
	 * hook at position 1; other APGATE_ chains of that table are removed.
	 * One commit. */
	int (*commit)(void *ud, const struct fw_table *t);
	/* Removes every APGATE_ chain and every jump to one from a table
	 * (family AF_INET/AF_INET6, table "mangle"/"nat"/"filter"). A table
	 * the kernel does not have is not an error. */
	int (*flush)(void *ud, int family, const char *table);
};

/* The read-back side (status), a table of its own so that backends and
 * fakes without it need not change: reads what the kernel's table holds
 * of apgate's into out: each APGATE_ chain, its rule count and the jumps to
 * it from built-in chains. Changes nothing, takes no lock (one snapshot).
 * A table the kernel does not have reads as empty. 0 or negative errno. */
struct fw_read_ops {
	int (*read)(void *ud, int family, const char *table, struct fw_ktable *out);
};

/* libiptc v4/v6; ud unused (NULL). The lock file is XTABLES_LOCKFILE from
 * the environment, else /run/xtables.lock (as iptables-legacy). */
extern const struct fw_ops fw_ops_iptc;
extern const struct fw_read_ops fw_read_ops_iptc;

struct fw;

/* Creates the module; nothing is applied until fw_sync(). ops is kept by
 * reference (a static table); ud is passed to it. Returns 0 or -ENOMEM;
 * *out is owned by the caller, freed with fw_free(). */
int fw_new(const struct fw_ops *ops, void *ud, struct fw **out);
/* Frees the module; the rules stay in place. NULL is allowed. */
void fw_free(struct fw *fw);

/* A firewall applied by another process (apgated's privileged helper,
 * priv/priv.h): the module checks its input and keeps the device list as
 * fw_new()'s does, but hands over decisions, never rules: the other side
 * builds the plan from its own network description (its copy of the
 * configuration), so the net given to fw_sync() is checked here and not
 * sent. Each function returns 0 or a negative errno. */
struct fw_remote_ops {
	/* rebuild everything from this list (sorted by MAC, no duplicates,
	 * no FW_ONBOARDING entries) */
	int (*sync)(void *ud, const struct fw_dev *devs, unsigned n);
	/* one decision, as fw_update_device() */
	int (*update)(void *ud, const struct fw_dev *dev);
	/* fw_check() on the other side */
	int (*check)(void *ud, struct fw_check *out);
};
/* As fw_new() with a remote (ops kept by reference, ud passed to it).
 * fw_flush() is -ENOTSUP on such a module; fw_set_reader() is not needed
 * (fw_check() asks the other side). */
int fw_new_remote(const struct fw_remote_ops *ops, void *ud, struct fw **out);
/* Installs the read-back used by fw_check() (rd kept by reference, a
 * static table; ud passed to it). Without it fw_check() is -ENOTSUP. */
void fw_set_reader(struct fw *fw, const struct fw_read_ops *rd, void *ud);

/* Full idempotent rebuild of everything apgate owns, IPv4 and IPv6: one
 * commit per table (mangle first, so devices are marked before the rules
 * that read the marks change). net and devs are copied (devs in any order;
 * they are sorted by MAC, so the result does not depend on it). Returns 0,
 * -EINVAL (bad net: missing work/uplink interface, bad interface name or
 * prefix, two zones on one interface, port 0; a MAC listed twice; a
 * verdict out of range), -ENOMEM, or the backend's error. On a backend
 * error the tables already committed stay committed; sync again. */
int fw_sync(struct fw *fw, const struct fw_net *net, const struct fw_dev *devs, unsigned n);

/* The fast path for one decision: sets (FW_WORK/GUEST/BLOCKED) or forgets
 * (FW_ONBOARDING) one MAC and rewrites only the mangle tables' APGATE_MARK
 * (one commit each for IPv4 and IPv6). Returns 0, -ENOENT (no successful
 * fw_sync() yet), -EINVAL, -ENOMEM or the backend's error; on an error the
 * module's device list is left as it was. */
int fw_update_device(struct fw *fw, const struct fw_dev *dev);

/* Removes every APGATE_ chain and jump (both families, mangle, nat and
 * filter): what `apgated --flush` does. Afterwards fw_update_device()
 * returns -ENOENT until the next fw_sync(). */
int fw_flush(struct fw *fw);

/* Status (apgatectl status): the kernel's rules read back through
 * ops->read and compared with the plan of the last successful fw_sync().
 * One entry per chain of the plan (both families, in commit order), then
 * one per APGATE_ chain the kernel has and the plan does not. */
struct fw_check_chain {
	int family;          /* AF_INET, AF_INET6 */
	const char *table;   /* "mangle", "nat", "filter" (static) */
	char chain[32];
	const char *hook;    /* built-in chain that must jump to it, or NULL (static) */
	bool planned;        /* in the plan (false: a leftover the kernel has) */
	bool present;        /* in the kernel */
	unsigned rules;      /* in the kernel */
	unsigned want_rules; /* in the plan */
	unsigned hook_pos;   /* position of the jump in hook, 1 = first; 0 = none */
	unsigned hook_jumps; /* jumps to it from built-in chains */
};
#define FW_CHECK_MAX 48
struct fw_check {
	struct fw_check_chain chains[FW_CHECK_MAX];
	unsigned n;
};
/* Fills out (nothing is changed). Returns 0, -ENOENT (no successful
 * fw_sync() since new/flush: nothing to compare with), -ENOTSUP (no
 * reader installed: fw_set_reader()), -ENOMEM, or the reader's error;
 * with the privileged helper (fw_new_remote()) -EPIPE when it is gone,
 * also before the first successful sync. */
int fw_check(struct fw *fw, struct fw_check *out);

/* Number of devices the module holds (after the last sync/update). */
unsigned fw_device_count(const struct fw *fw);

/* Writes the plan for one family (AF_INET or AF_INET6) in iptables-save
 * syntax, table by table ("*mangle", ":APGATE_X - [0:0]", the hook jumps,
 * the chains' rules in iptables-save's order, "COMMIT"). This is exactly
 * what the kernel backend applies. Returns 0, -EINVAL (as fw_sync, or a bad
 * family), -ENOMEM or -EIO (write error). */
int fw_render(const struct fw_net *net, const struct fw_dev *devs, unsigned n,
	      int family, FILE *out);

#endif
