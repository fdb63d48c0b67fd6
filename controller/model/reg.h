/* reg.h - the device registry: every device apgate has seen, its state and
 * the decisions people made about it, in SQLite (WAL).
 *
 * The registry stores; it does not decide. The controller (ctl/) chooses a
 * new device's initial state and calls reg_observe(); people's decisions go
 * through reg_approve()/reg_block()/reg_forget(), which also write the audit
 * trail and are committed durably (synchronous=FULL) before they return.
 *
 * All functions return 0 (or a count where stated) on success and a negative
 * errno on failure: -ENOENT unknown device, -EINVAL bad argument (also a
 * write the schema's constraints refuse), -EIO for a database error (logged
 * with SQLite's message), -ENOSPC disk full, -EBUSY database locked by
 * another process for more than 200 ms (the longest the registry waits for
 * a lock), -ENOMEM.
 *
 * MACs passed in must already be canonical (mac_canon()); anything else is
 * -EINVAL. Timestamps are milliseconds since the epoch, supplied by the
 * caller (the registry never reads the clock, so tests control time).
 * Strings are stored and returned verbatim (bound, never spliced into SQL;
 * no encoding check), up to REG_STR_MAX bytes each; longer is -EINVAL. Whoever
 * shows them (portal, CLI, logs) escapes them.
 *
 * A handle belongs to one thread. Several processes may open the same file
 * (WAL); writers wait at most 200 ms for each other.
 */
#ifndef APGATE_REG_H
#define APGATE_REG_H

#include <stdbool.h>
#include <stdint.h>

struct reg;

enum reg_state { REG_PENDING = 0, REG_APPROVED, REG_BLOCKED, REG_GUEST };
enum reg_class { REG_CLASS_NONE = 0, REG_CLASS_BUSINESS, REG_CLASS_PERSONAL };
enum reg_type {
	REG_TYPE_NONE = 0, /* not set */
	REG_TYPE_PC, REG_TYPE_PHONE, REG_TYPE_TABLET, REG_TYPE_PRINTER,
	REG_TYPE_POS, REG_TYPE_PAYMENT, REG_TYPE_SIGNAGE, REG_TYPE_OTHER,
};
#define REG_STATE_COUNT 4

#define REG_SCHEMA_VERSION 6         /* the newest schema this build writes */
#define REG_STR_MAX 65536              /* bytes per stored string */
#define REG_CONN_KEEP_DEFAULT 100000u  /* see reg_set_conn_keep() */

/* Names as stored and shown ("pending", "business", "printer", ...). The
 * *_parse functions return 0 or -EINVAL. */
const char *reg_state_name(enum reg_state s);
int reg_state_parse(const char *s, enum reg_state *out);
const char *reg_class_name(enum reg_class c); /* NONE -> NULL */
int reg_class_parse(const char *s, enum reg_class *out);
const char *reg_type_name(enum reg_type t);   /* NONE -> NULL */
int reg_type_parse(const char *s, enum reg_type *out);

/* A device record. Strings are NULL when unknown. Owned by whoever got it
 * from reg_get(); free with reg_device_free(). Records passed to a
 * reg_list() callback are owned by the registry and valid only during it. */
struct reg_device {
	char mac[18];
	enum reg_state state;
	enum reg_class cls;
	enum reg_type type;
	char *label;
	char *owner;
	char *vendor;
	char *hostname;  /* the name shown: dnsmasq's name for the lease */
	char *ip;        /* IPv4 of its current DHCP lease */
	char *bss;       /* BSS (hostapd interface) last seen on */
	int vlan;        /* VLAN last seen in, 0 = unknown */
	bool connected;  /* currently associated per hostapd */
	int64_t first_seen; /* when the registry first heard of it */
	int64_t last_seen;  /* last observation; 0 = never (blocked ahead) */
	char *decided_by;   /* who made the last decision (approve/block) */
	char *decided_via;  /* "cli" or "portal" */
	int64_t decided_at; /* 0 = never */
	/* DHCP fingerprint, from the client's last full DHCP request: */
	char *dhcp_vendor_class; /* option 60 */
	char *dhcp_options;      /* option 55 as "1,3,6,15,..." */
	char *dhcp_hostname;     /* option 12, the client's own name */
	char *reserved_ip;       /* fixed DHCP address (reg_reserve()), or NULL */
	int64_t held_at;         /* repair gave up at (reg_hold()); 0 = not held */
	char *port;              /* wired port last seen behind, or NULL */
	char *psk_keyid;         /* its own key (reg_set_key()), or NULL */
	char *psk_ssid;          /* the SSID that key was derived for */
	char *psk_hex;           /* the 64-hex WPA2 PSK hostapd reads (a secret) */
	/* What the device's user said on the captive page (reg_claim()); a
	 * statement, not a decision: staff see it next to the device. */
	char *claim_name;        /* "Anna's laptop" */
	char *claim_owner;       /* "Anna" */
	enum reg_class claim_cls; /* BUSINESS / PERSONAL, NONE = not said */
	int64_t claim_at;        /* 0 = never */
	/* The risky-service check (v6) */
	int64_t checked_at;      /* last check; 0 = never */
	unsigned n_findings;     /* open risky ports found by it */
};
void reg_device_free(struct reg_device *d);

/* Opens (creating if needed) the registry at path and migrates its schema
 * to the newest version (PRAGMA user_version; each step in its own
 * transaction). On success *out is a new handle the caller closes with
 * reg_close(). A file whose schema is newer than this build is refused
 * with -EPROTO, one that can only be opened read-only with -EROFS; a file
 * that is not a database gives -EIO. */
int reg_open(const char *path, struct reg **out);
void reg_close(struct reg *r); /* NULL is fine */
int reg_schema_version(struct reg *r);
const char *reg_path(const struct reg *r); /* owned by r */

/* Connection events are pruned so that only those among the newest `keep`
 * event ids remain (audit entries are never pruned, but count towards the
 * window): at most keep + keep/10 (capped at 1000) conn events are stored.
 * Pruning runs every keep/10 observations (at most 1000) and at open.
 * Default REG_CONN_KEEP_DEFAULT; -EINVAL for 0. */
int reg_set_conn_keep(struct reg *r, unsigned keep);

/* --- Observations (from hostapd): not audited. --- */
enum reg_obs_kind {
	REG_OBS_CONNECTED,     /* station authorized on bss */
	REG_OBS_DISCONNECTED,  /* station left bss */
	REG_OBS_EAP_SUCCESS,
	REG_OBS_EAP_FAILURE,
	REG_OBS_PRESENT,       /* seen in a resync station list */
};
/* "connected", "disconnected", "eap_success", "eap_failure", "present" */
const char *reg_obs_name(enum reg_obs_kind k);

struct reg_obs {
	enum reg_obs_kind kind;
	const char *mac;
	const char *bss;
	int vlan;                  /* 0 = unknown */
	const char *vendor;        /* stored only if the device has none yet */
	const char *keyid;         /* may be NULL; kept in the event detail */
	const char *port;          /* wired port (CONNECTED, PRESENT): stored in
				    * the device's port; the event's bss column
				    * shows it when bss is NULL */
	enum reg_state initial;    /* state if this creates the device */
	int64_t now;
};
/* Records one observation in one transaction: creates the device if unknown
 * (for CONNECTED, PRESENT and EAP_SUCCESS; a DISCONNECTED or EAP_FAILURE of
 * an unknown MAC only writes the event), updates it, and appends a
 * connection event (detail "vlan=N, keyid=K" when given). *created (may be
 * NULL) tells whether the device is new. Per kind:
 *   CONNECTED, PRESENT  bss, vlan (if > 0), connected = true, last_seen
 *   EAP_SUCCESS         bss, vlan (if > 0), last_seen (connected follows
 *                       with CONNECTED; a device it creates starts false)
 *   DISCONNECTED        connected = false unless the device has meanwhile
 *                       connected to another bss (roaming), last_seen
 *   EAP_FAILURE         last_seen
 * Committed with synchronous=NORMAL: survives a crash of the daemon, and
 * the database stays consistent on power loss (the last observations may
 * be lost). */
int reg_observe(struct reg *r, const struct reg_obs *o, bool *created);

/* Resynchronisation after (re)attaching to a BSS: every device marked
 * connected on bss whose MAC is not in macs[0..n) is marked disconnected
 * (and gets a "disconnected" event with detail "resync"). macs are compared
 * as canonical strings; the ones present are best recorded with
 * REG_OBS_PRESENT. One transaction. Returns the number of devices changed,
 * or a negative errno. */
int reg_resync_bss(struct reg *r, const char *bss, const char *const *macs,
		   unsigned n, int64_t now);

/* --- DHCP leases (from dnsmasq's lease script): not audited. --- */
enum reg_lease_action {
	REG_LEASE_ADD,   /* new lease */
	REG_LEASE_OLD,   /* existing lease: renewal, or dnsmasq restart/SIGHUP */
	REG_LEASE_DEL,   /* released or expired */
};
/* "dhcp_add", "dhcp_old", "dhcp_del" (the conn event's action) */
const char *reg_lease_name(enum reg_lease_action a);

struct reg_lease {
	enum reg_lease_action action;
	const char *mac;
	const char *ip;            /* required: an IPv4 or IPv6 address */
	const char *hostname;      /* dnsmasq's name for the lease; NULL = keep */
	const char *dhcp_hostname; /* client's own (SUPPLIED_HOSTNAME); NULL = keep */
	const char *vendor_class;  /* NULL = keep */
	const char *options;       /* requested options "1,3,6"; NULL = keep */
	const char *iface;         /* interface dnsmasq saw it on; event detail only */
	bool seen;                 /* the device itself just spoke DHCP */
	enum reg_state initial;    /* state if this creates the device */
	int64_t now;
};
/* Records one lease change in one transaction, with a conn event named by
 * reg_lease_name() and detail "ip=A[, interface=I]" (bss NULL):
 *   ADD, OLD  create the device if unknown (first_seen = last_seen = now,
 *             not connected); set ip; hostname and the fingerprint fields
 *             where given (NULL keeps the stored value, so an "old" from
 *             dnsmasq's restart, which carries no fingerprint, erases
 *             nothing); last_seen = now when seen.
 *   DEL       clears ip if it is still this lease's ip (the device may
 *             already hold a newer lease); never creates; last_seen only
 *             when seen (an expiry is dnsmasq's timer, not the device).
 * ctl sets seen = the device spoke: true for add, for an old that carries
 * the client's data (renewal with script-on-renewal), false for an old
 * with DNSMASQ_DATA_MISSING (restart, SIGHUP) and for expiries.
 * *created (may be NULL) tells whether the device is new. Committed like
 * reg_observe() (synchronous=NORMAL). */
int reg_lease(struct reg *r, const struct reg_lease *l, bool *created);

/* --- Decisions by people: audited and durable. --- */
struct reg_actor {
	const char *who;  /* user name */
	const char *via;  /* "cli" or "portal" */
};
struct reg_approval {
	enum reg_class cls;   /* BUSINESS or PERSONAL (required) */
	const char *label;    /* NULL = keep */
	const char *owner;    /* NULL = keep */
	enum reg_type type;   /* NONE = keep */
};
/* Sets state approved (for either class: which zone an approved personal
 * device belongs in is the policy's business), the class, the given
 * label/owner/type and decided_by/via/at, and writes an audit entry
 * "approve" with detail "as business, label=Till 1, owner=Anna, type=pos"
 * (only the fields given). -ENOENT for an unknown MAC, -EINVAL for cls NONE
 * or a missing actor. who->who and who->via are required by all decisions.
 * Decisions are committed with synchronous=FULL: on disk when they return. */
int reg_approve(struct reg *r, const char *mac, const struct reg_approval *a,
		const struct reg_actor *who, int64_t now);
/* Sets state blocked and decided_*; audit detail "was <state>". Blocking an
 * unknown MAC creates it as blocked (an admin may block ahead; last_seen 0,
 * audit detail "not seen before"). */
int reg_block(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now);
/* Removes the device; its audit entries stay, and a "forget" entry with
 * detail "was <state>[, label=<label>]" is added. -ENOENT if unknown. */
int reg_forget(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now);
/* Reserves the IPv4 address ip for the device's DHCP leases, or clears the
 * reservation (ip NULL); audited and durable like the decisions above
 * ("reserve"/"unreserve"). -ENOENT for an unknown device, -EINVAL for a
 * bad address, -EEXIST when another device holds that reservation. Which
 * addresses make sense (inside a zone, not a gateway) is the caller's rule. */
int reg_reserve(struct reg *r, const char *mac, const char *ip, const struct reg_actor *who,
		int64_t now);

/* --- Repair (ctl's automatic fixes): audited as actor "apgated" via "repair". --- */
/* Holds the device: repair gave up on it (policy then keeps it in
 * onboarding) until a person decides (approve, block and forget clear the
 * hold) or releases it. Audit "hold" with detail reason, and an alert of
 * kind "repair_loop" in the same durable transaction. -ENOENT unknown. */
int reg_hold(struct reg *r, const char *mac, const char *reason, int64_t now);
/* Clears a hold; audit "release". -ENOENT unknown, -EALREADY not held. */
int reg_release(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now);
/* An audit entry for something apgated did by itself (action "repair",
 * "steer", ...; detail says what and why). synchronous=NORMAL. */
int reg_audit_auto(struct reg *r, const char *mac, const char *bss, const char *action,
		   const char *detail, int64_t now);

/* --- Per-device keys (PPSK) --- */
/* Gives the device its key: keyid (1-31 of [A-Za-z0-9_.-], unique: -EEXIST
 * when another device has it), the SSID it was derived for and the 64-hex
 * PSK. Replaces an earlier key. Audit "key" (detail "keyid=K, ssid=S";
 * never the key). Durable. -ENOENT unknown device. */
int reg_set_key(struct reg *r, const char *mac, const char *keyid, const char *ssid,
		const char *psk_hex, const struct reg_actor *who, int64_t now);
/* Removes the device's key; audit "revoke" (detail "keyid=K"); the keyid
 * is copied to keyid (may be NULL). -ENOENT unknown, -EALREADY no key. */
int reg_revoke_key(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now,
		   char keyid[32]);
/* The MAC of the device that holds keyid. -ENOENT if nobody does. */
int reg_key_owner(struct reg *r, const char *keyid, char mac[18]);
/* The device old_mac showed up as new_mac (recognised by its key: phones
 * rotate private addresses). Its record, decisions and key move to
 * new_mac; a record new_mac already had is dropped if nobody decided about
 * it (pending or guest), else -EEXIST. Audit "readdress" under new_mac,
 * detail "was OLD, <why>". -ENOENT old_mac unknown. Durable. */
int reg_readdress(struct reg *r, const char *old_mac, const char *new_mac, const char *why,
		  int64_t now);

/* --- Alerts: what an admin should look at --- */
struct reg_alert {
	int64_t id;
	int64_t ts;
	const char *kind;     /* "repair_loop", ... */
	const char *mac;      /* may be NULL */
	const char *message;  /* plain words for people */
	int64_t acked_at;     /* 0 = open */
	const char *acked_by;
};
typedef int (*reg_alert_cb)(const struct reg_alert *a, void *ud);
/* Returns the new alert's id (> 0) or a negative errno. mac may be NULL. */
int64_t reg_alert_add(struct reg *r, const char *kind, const char *mac, const char *message,
		      int64_t now);
/* The newest `limit` alerts (0 = all), oldest first; only open ones unless
 * all. Strings valid during the callback; nested calls -EBUSY. */
int reg_alerts(struct reg *r, bool all, unsigned limit, reg_alert_cb cb, void *ud);
/* Acknowledges alert id (0 = every open one). Returns how many were
 * acknowledged; -ENOENT for an id that is unknown or already acknowledged. */
int reg_alert_ack(struct reg *r, int64_t id, const struct reg_actor *who, int64_t now);

/* The id of the newest open alert of kind about mac (mac NULL: about no
 * device), 0 when there is none, or a negative errno. */
int64_t reg_alert_open(struct reg *r, const char *kind, const char *mac);

/* --- Findings of the risky-service check (v6 table findings) --- */
struct reg_finding {
	const char *mac;
	unsigned port;         /* TCP port found open */
	const char *service;   /* "telnet", "ftp", "smb", "rdp", "vnc", "http-admin", "upnp" */
	const char *detail;    /* may be NULL: e.g. a banner's first line */
	int64_t found_at;
};
/* Replaces the device's findings by f[0..n) (a fresh check's result; n 0 =
 * nothing open), sets its checked_at = now and appends a conn-kind event
 * "check" (detail "open: telnet/23, ftp/21" or "nothing open"). One
 * transaction, synchronous=NORMAL. -ENOENT unknown device. */
int reg_set_findings(struct reg *r, const char *mac, const struct reg_finding *f, unsigned n,
		     int64_t now);
typedef int (*reg_finding_cb)(const struct reg_finding *f, void *ud);
/* The findings of one device (mac NULL: of every device), by MAC then
 * port. Strings valid during the callback; nested -EBUSY. */
int reg_findings(struct reg *r, const char *mac, reg_finding_cb cb, void *ud);

/* --- Unmanaged devices (v6 table unmanaged): MACs seen on a zone's
 * bridge or the uplink segment that never came through hostapd or a
 * managed wired port. Kept apart from devices: nobody decided anything. */
struct reg_unmanaged {
	const char *mac;
	const char *where;     /* "BRIDGE port PORT" (e.g. "br-work port eth3")
				* or the uplink interface's name */
	const char *ip;        /* from the neighbour table, may be NULL */
	int64_t first_seen, last_seen;
};
/* Records or refreshes one (where and a non-NULL ip replace the stored
 * ones). Returns 1 when it is new, 0 when it was known, or a negative
 * errno. synchronous=NORMAL. */
int reg_unmanaged_seen(struct reg *r, const char *mac, const char *where, const char *ip,
		       int64_t now);
/* Drops it (it became a managed device). 0, or -ENOENT when not listed. */
int reg_unmanaged_del(struct reg *r, const char *mac);
typedef int (*reg_unmanaged_cb)(const struct reg_unmanaged *u, void *ud);
/* Every unmanaged MAC, newest last_seen first. Nested -EBUSY. */
int reg_unmanaged_list(struct reg *r, reg_unmanaged_cb cb, void *ud);

/* --- Blocked DNS look-ups (v6 table dns_blocks), one row per device
 * and domain --- */
struct reg_dns_block {
	const char *mac;       /* NULL when the asking address had no device */
	const char *ip;        /* the address that asked */
	const char *domain;
	int64_t first_at, last_at;
	unsigned count;
};
/* Counts one blocked look-up of domain by mac (NULL: unknown, then keyed
 * by ip). *first (may be NULL) tells whether this device had not looked
 * it up before. synchronous=NORMAL. */
int reg_dns_block(struct reg *r, const char *mac, const char *ip, const char *domain, int64_t now,
		  bool *first);
typedef int (*reg_dns_block_cb)(const struct reg_dns_block *b, void *ud);
/* The newest `limit` (0 = all) rows by last_at, newest first; of one
 * device when mac is not NULL. Nested -EBUSY. */
int reg_dns_blocks(struct reg *r, const char *mac, unsigned limit, reg_dns_block_cb cb, void *ud);

/* --- Statements made on the captive page (not decisions) --- */
struct reg_claim {
	const char *name;     /* device name the user gave; NULL/"" = not said */
	const char *owner;    /* who they are; NULL/"" = not said */
	enum reg_class cls;   /* business device or personal phone; NONE = not said */
};
/* Stores the claim on the device (replacing an earlier one; claim_at =
 * now) and appends a conn-kind event "claim" (bss NULL, detail
 * "name=N, owner=O, as personal" with the fields given). Does not change
 * state, class, label or owner: staff decide. No detail when nothing was
 * said. -ENOENT unknown device. synchronous=NORMAL; the event is pruned
 * like the other connection events. */
int reg_claim(struct reg *r, const char *mac, const struct reg_claim *c, int64_t now);

/* The device whose current DHCP lease is ip (devices.ip, indexed since v5).
 * mac gets its canonical MAC. -ENOENT nobody, -EINVAL bad address. When
 * several records carry the address (a stale lease), the one seen last
 * wins. */
int reg_find_ip(struct reg *r, const char *ip, char mac[18]);

/* --- Portal users (v5 table users) --- */
enum reg_role { REG_ROLE_APPROVER = 0, REG_ROLE_ADMIN };
const char *reg_role_name(enum reg_role role);       /* "approver", "admin" */
int reg_role_parse(const char *s, enum reg_role *out); /* 0 or -EINVAL */

/* A user name is 1-32 of [A-Za-z0-9._-] (-EINVAL otherwise). The hash is
 * a libsodium crypto_pwhash_str() string (argon2id: starts with
 * "$argon2id$", printable ASCII, at most 127 bytes; -EINVAL otherwise) and
 * is stored as given: the registry never sees a password. Each change
 * writes an audit entry (mac '' - the events table needs one -, detail
 * "user=NAME[, role=R]": the new role for user_add and user_role, the role
 * the user had for user_del, none for user_passwd; never the hash; actions
 * "user_add", "user_passwd", "user_role", "user_del"). A missing actor is
 * -EINVAL. Durable (synchronous=FULL). */
int reg_user_add(struct reg *r, const char *name, enum reg_role role, const char *hash,
		 const struct reg_actor *who, int64_t now); /* -EEXIST */
int reg_user_set_hash(struct reg *r, const char *name, const char *hash,
		      const struct reg_actor *who, int64_t now); /* -ENOENT */
/* -ENOENT unknown user. Changing the role of, or deleting, the last admin
 * is -EPERM (there is always one admin once any exists). Setting the role
 * a user already has changes nothing and writes no audit entry. */
int reg_user_set_role(struct reg *r, const char *name, enum reg_role role,
		      const struct reg_actor *who, int64_t now);
int reg_user_del(struct reg *r, const char *name, const struct reg_actor *who, int64_t now);
/* Records a successful login (last_login = now; not audited: the portal
 * logs it). -ENOENT unknown (also for a name nobody can have).
 * synchronous=NORMAL. */
int reg_user_login(struct reg *r, const char *name, int64_t now);

struct reg_user {
	const char *name;
	enum reg_role role;
	const char *hash;
	int64_t created_at;
	int64_t last_login;   /* 0 = never */
};
typedef int (*reg_user_cb)(const struct reg_user *u, void *ud);
/* Calls cb for every user ordered by name (strings valid during the
 * callback; nested reg_users() is -EBUSY); a non-zero return stops and is
 * returned. */
int reg_users(struct reg *r, reg_user_cb cb, void *ud);
/* One user: cb called once (its non-zero return is returned), or -ENOENT
 * (also for a name nobody can have, so a login form needs no check of its
 * own). Nested in its own callback -EBUSY. */
int reg_user_get(struct reg *r, const char *name, reg_user_cb cb, void *ud);

/* --- Queries --- */
/* On success *out is a new record the caller frees with reg_device_free(). */
int reg_get(struct reg *r, const char *mac, struct reg_device **out);
typedef int (*reg_device_cb)(const struct reg_device *d, void *ud);
/* Calls cb for every device (only those in *state when state != NULL),
 * ordered by first_seen then MAC. A non-zero return from cb stops the walk
 * and is returned. cb may call any other reg_ function, but not reg_list()
 * itself (-EBUSY). */
int reg_list(struct reg *r, const enum reg_state *state, reg_device_cb cb, void *ud);
/* One page of that list: devices in *state (all when state is NULL) by
 * first_seen then MAC, newest first when newest_first, skipping offset and
 * at most limit (> 0, else -EINVAL) of them - the work is proportional to
 * offset + limit, not to the registry. Same callback rules as reg_list()
 * (nested in its own callback: -EBUSY). */
int reg_list_page(struct reg *r, const enum reg_state *state, bool newest_first, unsigned offset,
		  unsigned limit, reg_device_cb cb, void *ud);
/* counts[state] = number of devices in that state. */
int reg_count(struct reg *r, unsigned counts[REG_STATE_COUNT]);

/* The timeline: connection events and audit entries in one sequence. */
struct reg_event {
	int64_t id;          /* increasing */
	int64_t ts;
	const char *kind;    /* "conn" or "audit" */
	const char *action;  /* conn: reg_obs_name() or reg_lease_name();
			      * audit: "approve", "block", "forget" */
	const char *mac;
	const char *bss;     /* may be NULL */
	const char *actor;   /* audit only */
	const char *via;     /* audit only */
	const char *detail;  /* may be NULL; e.g. "as business, label=Till 1" */
};
typedef int (*reg_event_cb)(const struct reg_event *e, void *ud);
/* Calls cb, oldest first, for the newest `limit` events with id > since_id
 * (limit 0 = all). Strings valid only during the callback. Ids never repeat,
 * even after forget and pruning, so since_id = the last id seen follows
 * the timeline. A non-zero return from cb stops and is returned; cb must
 * not call reg_events() itself (-EBUSY). */
int reg_events(struct reg *r, int64_t since_id, unsigned limit, reg_event_cb cb, void *ud);
/* Calls cb, oldest first, for the newest `limit` events of one device
 * (limit 0 = all): its connection events not yet pruned and all its audit
 * entries, also after it was forgotten. Same callback rules as reg_events();
 * nested in its own callback -EBUSY. There is no per-MAC index (it halved
 * the observation rate): this scans the events table, ~7 ms at 100,000
 * events, so it suits an admin view, not the event path. */
int reg_events_mac(struct reg *r, const char *mac, unsigned limit, reg_event_cb cb, void *ud);
/* Audit entries only, newest first: the `limit` (> 0) newest with id <
 * before_id (0 = from the newest). Same callback rules as reg_events(). */
int reg_audit_page(struct reg *r, int64_t before_id, unsigned limit, reg_event_cb cb, void *ud);
/* Id of the newest event, 0 if none, or a negative errno. */
int64_t reg_last_event_id(struct reg *r);

#endif
