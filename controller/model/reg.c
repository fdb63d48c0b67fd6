/* reg.c - the device registry on SQLite (contract in reg.h).
 *
 * One connection per handle, every statement prepared once in reg_open().
 * Observations commit with synchronous=NORMAL (WAL: consistent, not synced
 * per commit); decisions switch the connection to synchronous=FULL around
 * their transaction, so the WAL is fsynced before reg_approve()/reg_block()/
 * reg_forget() return.
 */
#include "reg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "mac.h"
#include "util.h"

#define REG_BUSY_TIMEOUT_MS 200
#define REG_PRUNE_EVERY_MAX 1000u

/* ---- schema ----
 *
 * Migrations run in order, each in its own transaction that also sets
 * PRAGMA user_version to the step's number. Never edit a released step;
 * append a new one (new columns: ALTER TABLE devices ADD COLUMN ...; keyid
 * and DHCP fingerprint fields are expected to arrive that way).
 *
 * Design notes for v1:
 * - devices is keyed by the canonical MAC (WITHOUT ROWID: the key is the
 *   row). state and class are CHECKed; device types live in a lookup table
 *   referenced by a foreign key, because a CHECK cannot be altered in SQLite
 *   and new types are the likeliest change (a migration just INSERTs them).
 * - events holds connection events ('conn', pruned to a bounded number) and
 *   audit entries ('audit', kept forever, enforced by triggers). The ids come
 *   from AUTOINCREMENT so they never repeat after a forget or a prune.
 * - No foreign key from events to devices: audit entries outlive devices.
 * - No index on events(mac): it costs every observation a random index page
 *   (in the WAL and again at checkpoint) and halved the observation rate in
 *   the benchmark (10k -> 20k/s without it). reg_events_mac() scans the
 *   bounded table instead: 6.5 ms at 100,000 events, for a rare admin view.
 */
static const char schema_v1[] =
	"CREATE TABLE device_types (\n"
	"  name TEXT PRIMARY KEY NOT NULL\n"
	") WITHOUT ROWID;\n"
	"INSERT INTO device_types(name) VALUES ('pc'), ('phone'), ('tablet'),\n"
	"  ('printer'), ('pos'), ('payment'), ('signage'), ('other');\n"
	"CREATE TABLE devices (\n"
	"  mac         TEXT PRIMARY KEY NOT NULL CHECK (mac GLOB\n"
	"    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:"
	"[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),\n"
	"  state       TEXT NOT NULL\n"
	"              CHECK (state IN ('pending', 'approved', 'blocked', 'guest')),\n"
	"  class       TEXT CHECK (class IN ('business', 'personal')),\n"
	"  type        TEXT REFERENCES device_types(name),\n"
	"  label       TEXT,\n"
	"  owner       TEXT,\n"
	"  vendor      TEXT,\n"
	"  hostname    TEXT,\n"
	"  ip          TEXT,\n"
	"  bss         TEXT,\n"
	"  vlan        INTEGER NOT NULL DEFAULT 0 CHECK (vlan BETWEEN 0 AND 4095),\n"
	"  connected   INTEGER NOT NULL DEFAULT 0 CHECK (connected IN (0, 1)),\n"
	"  first_seen  INTEGER NOT NULL,\n"
	"  last_seen   INTEGER NOT NULL,\n"
	"  decided_by  TEXT,\n"
	"  decided_via TEXT,\n"
	"  decided_at  INTEGER NOT NULL DEFAULT 0\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX devices_by_first_seen ON devices(first_seen, mac);\n"
	"CREATE TABLE events (\n"
	"  id     INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  ts     INTEGER NOT NULL,\n"
	"  kind   TEXT NOT NULL CHECK (kind IN ('conn', 'audit')),\n"
	"  action TEXT NOT NULL,\n"
	"  mac    TEXT NOT NULL,\n"
	"  bss    TEXT,\n"
	"  actor  TEXT,\n"
	"  via    TEXT,\n"
	"  detail TEXT\n"
	");\n"
	"CREATE INDEX events_audit ON events(id) WHERE kind = 'audit';\n"
	"CREATE TRIGGER events_audit_no_delete BEFORE DELETE ON events\n"
	"  WHEN old.kind = 'audit'\n"
	"  BEGIN SELECT RAISE(ABORT, 'audit entries are kept'); END;\n"
	"CREATE TRIGGER events_audit_no_update BEFORE UPDATE ON events\n"
	"  WHEN old.kind = 'audit'\n"
	"  BEGIN SELECT RAISE(ABORT, 'audit entries are kept'); END;\n"
	"CREATE VIEW audit AS\n"
	"  SELECT id, ts, action, mac, actor, via, detail FROM events\n"
	"  WHERE kind = 'audit';\n";

/* v2: the DHCP fingerprint of each device, as dnsmasq's lease script
 * reports it (reg_lease()). hostname and ip already exist since v1. */
static const char schema_v2[] =
	"ALTER TABLE devices ADD COLUMN dhcp_vendor_class TEXT;\n"
	"ALTER TABLE devices ADD COLUMN dhcp_options TEXT;\n"
	"ALTER TABLE devices ADD COLUMN dhcp_hostname TEXT;\n";

/* v3: a fixed DHCP address an admin reserved for a device (reg_reserve());
 * at most one device per address. */
static const char schema_v3[] =
	"ALTER TABLE devices ADD COLUMN reserved_ip TEXT;\n"
	"CREATE UNIQUE INDEX devices_by_reserved_ip ON devices(reserved_ip)\n"
	"  WHERE reserved_ip IS NOT NULL;\n";

/* v4 (issue 4): held_at - when repair stopped fixing a device that kept
 * landing in the wrong place (0 = not held); port - the wired port it was
 * last seen behind; psk_keyid/psk_ssid/psk_hex - its own WPA2 key (PPSK):
 * the keyid hostapd reports, the SSID the key was derived for and the
 * 64-hex PSK hostapd reads (the passphrase itself is never stored: it is
 * shown once). alerts - things an admin should look at, kept until
 * acknowledged (and afterwards, with who acknowledged them). */
static const char schema_v4[] =
	"ALTER TABLE devices ADD COLUMN held_at INTEGER NOT NULL DEFAULT 0;\n"
	"ALTER TABLE devices ADD COLUMN port TEXT;\n"
	"ALTER TABLE devices ADD COLUMN psk_keyid TEXT;\n"
	"ALTER TABLE devices ADD COLUMN psk_ssid TEXT;\n"
	"ALTER TABLE devices ADD COLUMN psk_hex TEXT;\n"
	"CREATE UNIQUE INDEX devices_by_psk_keyid ON devices(psk_keyid)\n"
	"  WHERE psk_keyid IS NOT NULL;\n"
	"CREATE TABLE alerts (\n"
	"  id       INTEGER PRIMARY KEY AUTOINCREMENT,\n"
	"  ts       INTEGER NOT NULL,\n"
	"  kind     TEXT NOT NULL,\n"
	"  mac      TEXT,\n"
	"  message  TEXT NOT NULL,\n"
	"  acked_at INTEGER NOT NULL DEFAULT 0,\n"
	"  acked_by TEXT\n"
	");\n"
	"CREATE INDEX alerts_open ON alerts(id) WHERE acked_at = 0;\n";

/* v5: what a device's user said on the captive page (claim_*: a
 * statement for staff to see, never a decision; claim_at 0 = nothing said);
 * an index on the lease address, so the portal finds the device behind a
 * request's source address (reg_find_ip()); and the portal's users with
 * their role and libsodium argon2id password hash (never a password). */
static const char schema_v5[] =
	"ALTER TABLE devices ADD COLUMN claim_name TEXT;\n"
	"ALTER TABLE devices ADD COLUMN claim_owner TEXT;\n"
	"ALTER TABLE devices ADD COLUMN claim_class TEXT\n"
	"  CHECK (claim_class IN ('business', 'personal'));\n"
	"ALTER TABLE devices ADD COLUMN claim_at INTEGER NOT NULL DEFAULT 0;\n"
	"CREATE INDEX devices_by_ip ON devices(ip) WHERE ip IS NOT NULL;\n"
	"CREATE TABLE users (\n"
	"  name       TEXT PRIMARY KEY NOT NULL,\n"
	"  role       TEXT NOT NULL CHECK (role IN ('approver', 'admin')),\n"
	"  hash       TEXT NOT NULL,\n"
	"  created_at INTEGER NOT NULL,\n"
	"  last_login INTEGER NOT NULL DEFAULT 0\n"
	");\n";

/* v6 (issue 8): checked_at - when the risky-service check last ran on the
 * device (0 = never); findings - what that check found open, one row per
 * device and port, replaced as a whole by each check (reg_set_findings())
 * and removed with the device; unmanaged - MACs seen on a zone's bridge or
 * the uplink that never came through hostapd or a managed port (kept apart
 * from devices: nobody decided anything about them); dns_blocks - blocked
 * look-ups counted per asker and domain, the asker being the device's MAC
 * or, for an address with no device, the address (asker). */
static const char schema_v6[] =
	"ALTER TABLE devices ADD COLUMN checked_at INTEGER NOT NULL DEFAULT 0;\n"
	"CREATE TABLE findings (\n"
	"  mac      TEXT NOT NULL,\n"
	"  port     INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),\n"
	"  service  TEXT NOT NULL,\n"
	"  detail   TEXT,\n"
	"  found_at INTEGER NOT NULL,\n"
	"  PRIMARY KEY (mac, port)\n"
	") WITHOUT ROWID;\n"
	"CREATE TABLE unmanaged (\n"
	"  mac        TEXT PRIMARY KEY NOT NULL,\n"
	"  seen_on    TEXT NOT NULL,\n"
	"  ip         TEXT,\n"
	"  first_seen INTEGER NOT NULL,\n"
	"  last_seen  INTEGER NOT NULL\n"
	") WITHOUT ROWID;\n"
	"CREATE INDEX unmanaged_by_last_seen ON unmanaged(last_seen);\n"
	"CREATE TABLE dns_blocks (\n"
	"  id       INTEGER PRIMARY KEY,\n"
	"  asker    TEXT NOT NULL,\n"
	"  mac      TEXT,\n"
	"  ip       TEXT NOT NULL,\n"
	"  domain   TEXT NOT NULL,\n"
	"  first_at INTEGER NOT NULL,\n"
	"  last_at  INTEGER NOT NULL,\n"
	"  count    INTEGER NOT NULL DEFAULT 1,\n"
	"  UNIQUE (asker, domain)\n"
	");\n"
	"CREATE INDEX dns_blocks_by_last_at ON dns_blocks(last_at);\n";

static const char *const migrations[] = {
	schema_v1, /* v1 */
	schema_v2, /* v2 */
	schema_v3, /* v3 */
	schema_v4, /* v4 */
	schema_v5, /* v5 */
	schema_v6, /* v6 */
};
#define REG_SCHEMA_LATEST ((int)ARRAY_SIZE(migrations))
_Static_assert(ARRAY_SIZE(migrations) == REG_SCHEMA_VERSION, "reg.h: REG_SCHEMA_VERSION is the newest migration");

/* ---- prepared statements ---- */

#define DEV_COLS "mac, state, class, type, label, owner, vendor, hostname, ip, bss, " \
		 "vlan, connected, first_seen, last_seen, decided_by, decided_via, decided_at, " \
		 "dhcp_vendor_class, dhcp_options, dhcp_hostname, reserved_ip, " \
		 "held_at, port, psk_keyid, psk_ssid, psk_hex, " \
		 "claim_name, claim_owner, claim_class, claim_at, checked_at, " \
		 "(SELECT count(*) FROM findings f WHERE f.mac = devices.mac)"
#define EV_COLS "id, ts, kind, action, mac, bss, actor, via, detail"

enum st {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_DEV_TOUCH, ST_DEV_CREATE, ST_DEV_STATE, ST_DEV_APPROVE, ST_DEV_BLOCK,
	ST_DEV_CREATE_BLOCKED, ST_DEV_DELETE, ST_DEV_GET, ST_DEV_LIST, ST_DEV_PAGE_OLD, ST_DEV_PAGE_NEW, ST_DEV_COUNT,
	ST_DEV_ON_BSS, ST_DEV_DISCONNECT, ST_DEV_LEASE, ST_DEV_LEASE_CREATE, ST_DEV_UNLEASE,
	ST_DEV_RESERVE, ST_DEV_RESERVED_BY,
	ST_DEV_HOLD, ST_DEV_KEY, ST_DEV_KEY_OWNER, ST_DEV_REMAC,
	ST_AL_INSERT, ST_AL_LIST, ST_AL_ACK, ST_AL_ACK_ALL, ST_AL_OPEN,
	ST_DEV_CLAIM, ST_DEV_BY_IP,
	ST_USER_ADD, ST_USER_HASH, ST_USER_ROLE, ST_USER_DEL, ST_USER_LOGIN, ST_USER_LIST,
	ST_USER_GET, ST_USER_ADMINS,
	ST_FI_CLEAR, ST_FI_INSERT, ST_FI_LIST, ST_FI_REMAC, ST_DEV_CHECKED,
	ST_UM_INSERT, ST_UM_UPDATE, ST_UM_DEL, ST_UM_LIST,
	ST_DB_GET, ST_DB_INSERT, ST_DB_UPDATE, ST_DB_LIST,
	ST_EV_INSERT, ST_EV_LIST, ST_EV_LIST_MAC, ST_EV_AUDIT, ST_EV_LAST, ST_EV_PRUNE,
	ST__COUNT
};

static const char *const st_sql[ST__COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	/* ?2 bss (NULL = keep), ?3 vlan (0 = keep), ?4 now, ?5 vendor (fills
	 * only an empty one), ?6 connected: 1 set, 0 clear if on bss ?7 (or
	 * bss unknown), NULL keep. SET expressions see the old row. */
	[ST_DEV_TOUCH] =
		"UPDATE devices SET bss = coalesce(?2, bss),"
		" vlan = CASE WHEN ?3 > 0 THEN ?3 ELSE vlan END,"
		" connected = CASE ?6 WHEN 1 THEN 1"
		"  WHEN 0 THEN (CASE WHEN ?7 IS NULL OR bss IS NULL OR bss = ?7"
		"   THEN 0 ELSE connected END)"
		"  ELSE connected END,"
		" last_seen = ?4, vendor = coalesce(vendor, ?5),"
		" port = coalesce(?8, port)"
		" WHERE mac = ?1",
	[ST_DEV_CREATE] =
		"INSERT INTO devices (mac, state, vendor, bss, vlan, connected,"
		" first_seen, last_seen, port) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
	[ST_DEV_STATE] = "SELECT state, label FROM devices WHERE mac = ?1",
	[ST_DEV_APPROVE] =
		"UPDATE devices SET state = 'approved', class = ?2,"
		" label = coalesce(?3, label), owner = coalesce(?4, owner),"
		" type = coalesce(?5, type), decided_by = ?6, decided_via = ?7,"
		" decided_at = ?8, held_at = 0 WHERE mac = ?1",
	[ST_DEV_BLOCK] =
		"UPDATE devices SET state = 'blocked', decided_by = ?2,"
		" decided_via = ?3, decided_at = ?4, held_at = 0 WHERE mac = ?1",
	[ST_DEV_CREATE_BLOCKED] =
		"INSERT INTO devices (mac, state, first_seen, last_seen, decided_by,"
		" decided_via, decided_at) VALUES (?1, 'blocked', ?4, 0, ?2, ?3, ?4)",
	[ST_DEV_DELETE] = "DELETE FROM devices WHERE mac = ?1",
	[ST_DEV_GET] = "SELECT " DEV_COLS " FROM devices WHERE mac = ?1",
	[ST_DEV_LIST] = "SELECT " DEV_COLS " FROM devices"
		" WHERE ?1 IS NULL OR state = ?1 ORDER BY first_seen, mac",
	/* pages in first_seen order, through devices_by_first_seen */
	[ST_DEV_PAGE_OLD] = "SELECT " DEV_COLS " FROM devices"
		" WHERE ?1 IS NULL OR state = ?1 ORDER BY first_seen, mac LIMIT ?3 OFFSET ?2",
	[ST_DEV_PAGE_NEW] = "SELECT " DEV_COLS " FROM devices"
		" WHERE ?1 IS NULL OR state = ?1 ORDER BY first_seen DESC, mac DESC LIMIT ?3 OFFSET ?2",
	[ST_DEV_COUNT] = "SELECT state, count(*) FROM devices GROUP BY state",
	[ST_DEV_ON_BSS] = "SELECT mac FROM devices WHERE bss = ?1 AND connected = 1",
	[ST_DEV_DISCONNECT] = "UPDATE devices SET connected = 0 WHERE mac = ?1",
	/* ?2 ip, ?3 hostname, ?4 dhcp_vendor_class, ?5 dhcp_options,
	 * ?6 dhcp_hostname (NULL = keep each), ?7 last_seen (NULL = keep) */
	[ST_DEV_LEASE] =
		"UPDATE devices SET ip = ?2, hostname = coalesce(?3, hostname),"
		" dhcp_vendor_class = coalesce(?4, dhcp_vendor_class),"
		" dhcp_options = coalesce(?5, dhcp_options),"
		" dhcp_hostname = coalesce(?6, dhcp_hostname),"
		" last_seen = coalesce(?7, last_seen) WHERE mac = ?1",
	[ST_DEV_LEASE_CREATE] =
		"INSERT INTO devices (mac, state, ip, hostname, dhcp_vendor_class,"
		" dhcp_options, dhcp_hostname, first_seen, last_seen)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
	/* ?2 the released ip, ?3 last_seen (NULL = keep) */
	[ST_DEV_UNLEASE] =
		"UPDATE devices SET ip = CASE WHEN ip = ?2 THEN NULL ELSE ip END,"
		" last_seen = coalesce(?3, last_seen) WHERE mac = ?1",
	[ST_DEV_RESERVE] = "UPDATE devices SET reserved_ip = ?2 WHERE mac = ?1",
	[ST_DEV_RESERVED_BY] = "SELECT mac FROM devices WHERE reserved_ip = ?1 AND mac != ?2",
	[ST_DEV_HOLD] = "UPDATE devices SET held_at = ?2 WHERE mac = ?1",
	[ST_DEV_KEY] = "UPDATE devices SET psk_keyid = ?2, psk_ssid = ?3, psk_hex = ?4 WHERE mac = ?1",
	[ST_DEV_KEY_OWNER] = "SELECT mac FROM devices WHERE psk_keyid = ?1",
	[ST_DEV_REMAC] = "UPDATE devices SET mac = ?2 WHERE mac = ?1",
	[ST_AL_INSERT] = "INSERT INTO alerts (ts, kind, mac, message) VALUES (?1, ?2, ?3, ?4)",
	[ST_AL_LIST] = "SELECT id, ts, kind, mac, message, acked_at, acked_by FROM"
		" (SELECT * FROM alerts WHERE ?1 OR acked_at = 0 ORDER BY id DESC LIMIT ?2)"
		" ORDER BY id",
	[ST_AL_ACK] = "UPDATE alerts SET acked_at = ?2, acked_by = ?3 WHERE id = ?1 AND acked_at = 0",
	[ST_AL_ACK_ALL] = "UPDATE alerts SET acked_at = ?1, acked_by = ?2 WHERE acked_at = 0",
	[ST_AL_OPEN] = "SELECT id FROM alerts WHERE acked_at = 0 AND kind = ?1 AND mac IS ?2 ORDER BY id DESC LIMIT 1",
	[ST_DEV_CLAIM] = "UPDATE devices SET claim_name = ?2, claim_owner = ?3, claim_class = ?4,"
		" claim_at = ?5 WHERE mac = ?1",
	/* the partial index devices_by_ip needs "ip IS NOT NULL" spelled out */
	[ST_DEV_BY_IP] = "SELECT mac FROM devices WHERE ip = ?1 AND ip IS NOT NULL"
		" ORDER BY last_seen DESC, mac LIMIT 1",
	[ST_USER_ADD] = "INSERT INTO users (name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
	[ST_USER_HASH] = "UPDATE users SET hash = ?2 WHERE name = ?1",
	[ST_USER_ROLE] = "UPDATE users SET role = ?2 WHERE name = ?1",
	[ST_USER_DEL] = "DELETE FROM users WHERE name = ?1",
	[ST_USER_LOGIN] = "UPDATE users SET last_login = ?2 WHERE name = ?1",
	[ST_USER_LIST] = "SELECT name, role, hash, created_at, last_login FROM users ORDER BY name",
	[ST_USER_GET] = "SELECT name, role, hash, created_at, last_login FROM users WHERE name = ?1",
	[ST_USER_ADMINS] = "SELECT count(*) FROM users WHERE role = 'admin'",
	[ST_FI_CLEAR] = "DELETE FROM findings WHERE mac = ?1",
	[ST_FI_INSERT] = "INSERT INTO findings (mac, port, service, detail, found_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_FI_LIST] = "SELECT mac, port, service, detail, found_at FROM findings"
		" WHERE ?1 IS NULL OR mac = ?1 ORDER BY mac, port",
	[ST_FI_REMAC] = "UPDATE findings SET mac = ?2 WHERE mac = ?1",
	[ST_DEV_CHECKED] = "UPDATE devices SET checked_at = ?2 WHERE mac = ?1",
	[ST_UM_INSERT] = "INSERT INTO unmanaged (mac, seen_on, ip, first_seen, last_seen)"
		" VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (mac) DO NOTHING",
	[ST_UM_UPDATE] = "UPDATE unmanaged SET seen_on = ?2, ip = coalesce(?3, ip),"
		" last_seen = ?4 WHERE mac = ?1",
	[ST_UM_DEL] = "DELETE FROM unmanaged WHERE mac = ?1",
	[ST_UM_LIST] = "SELECT mac, seen_on, ip, first_seen, last_seen FROM unmanaged"
		" ORDER BY last_seen DESC, mac",
	[ST_DB_GET] = "SELECT id FROM dns_blocks WHERE asker = ?1 AND domain = ?2",
	[ST_DB_INSERT] = "INSERT INTO dns_blocks (asker, mac, ip, domain, first_at, last_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
	[ST_DB_UPDATE] = "UPDATE dns_blocks SET ip = ?2, last_at = max(last_at, ?3),"
		" count = count + 1 WHERE id = ?1",
	[ST_DB_LIST] = "SELECT mac, ip, domain, first_at, last_at, count FROM dns_blocks"
		" WHERE ?1 IS NULL OR mac = ?1 ORDER BY last_at DESC, id DESC LIMIT ?2",
	[ST_EV_INSERT] =
		"INSERT INTO events (ts, kind, action, mac, bss, actor, via, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_EV_LIST] = "SELECT " EV_COLS " FROM (SELECT " EV_COLS " FROM events"
		" WHERE id > ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
	/* newest first, through the partial index events_audit */
	[ST_EV_AUDIT] = "SELECT " EV_COLS " FROM events WHERE kind = 'audit' AND id < ?1"
			" ORDER BY id DESC LIMIT ?2",
	[ST_EV_LIST_MAC] = "SELECT " EV_COLS " FROM (SELECT " EV_COLS " FROM events"
		" WHERE mac = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
	[ST_EV_LAST] = "SELECT coalesce(max(id), 0) FROM events",
	[ST_EV_PRUNE] = "DELETE FROM events WHERE id > ?1 AND id <= ?2 AND kind = 'conn'",
};

struct reg {
	sqlite3 *db;
	char *path;
	int version;
	unsigned conn_keep;     /* conn events kept within the newest ids */
	unsigned prune_every;   /* prune after this many observations */
	unsigned since_prune;
	int64_t pruned_upto;    /* ids <= this hold no conn events any more */
	sqlite3_stmt *st[ST__COUNT];
};

/* ---- names ---- */

static const char *const state_names[REG_STATE_COUNT] = {
	[REG_PENDING] = "pending", [REG_APPROVED] = "approved",
	[REG_BLOCKED] = "blocked", [REG_GUEST] = "guest",
};
static const char *const class_names[] = {
	[REG_CLASS_NONE] = NULL, [REG_CLASS_BUSINESS] = "business",
	[REG_CLASS_PERSONAL] = "personal",
};
static const char *const type_names[] = {
	[REG_TYPE_NONE] = NULL, [REG_TYPE_PC] = "pc", [REG_TYPE_PHONE] = "phone",
	[REG_TYPE_TABLET] = "tablet", [REG_TYPE_PRINTER] = "printer",
	[REG_TYPE_POS] = "pos", [REG_TYPE_PAYMENT] = "payment",
	[REG_TYPE_SIGNAGE] = "signage", [REG_TYPE_OTHER] = "other",
};
static const char *const obs_names[] = {
	[REG_OBS_CONNECTED] = "connected", [REG_OBS_DISCONNECTED] = "disconnected",
	[REG_OBS_EAP_SUCCESS] = "eap_success", [REG_OBS_EAP_FAILURE] = "eap_failure",
	[REG_OBS_PRESENT] = "present",
};
static const char *const lease_names[] = {
	[REG_LEASE_ADD] = "dhcp_add", [REG_LEASE_OLD] = "dhcp_old",
	[REG_LEASE_DEL] = "dhcp_del",
};

static const char *name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n ? names[v] : NULL;
}

static int parse_name(const char *const *names, size_t n, const char *s, unsigned *out)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (names[i] && strcmp(names[i], s) == 0) {
			*out = (unsigned)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *reg_state_name(enum reg_state s)
{
	return name_of(state_names, ARRAY_SIZE(state_names), s);
}

int reg_state_parse(const char *s, enum reg_state *out)
{
	unsigned v;
	int r = parse_name(state_names, ARRAY_SIZE(state_names), s, &v);
	if (r == 0)
		*out = (enum reg_state)v;
	return r;
}

const char *reg_class_name(enum reg_class c)
{
	return name_of(class_names, ARRAY_SIZE(class_names), c);
}

int reg_class_parse(const char *s, enum reg_class *out)
{
	unsigned v;
	int r = parse_name(class_names, ARRAY_SIZE(class_names), s, &v);
	if (r == 0)
		*out = (enum reg_class)v;
	return r;
}

const char *reg_type_name(enum reg_type t)
{
	return name_of(type_names, ARRAY_SIZE(type_names), t);
}

int reg_type_parse(const char *s, enum reg_type *out)
{
	unsigned v;
	int r = parse_name(type_names, ARRAY_SIZE(type_names), s, &v);
	if (r == 0)
		*out = (enum reg_type)v;
	return r;
}

const char *reg_obs_name(enum reg_obs_kind k)
{
	return name_of(obs_names, ARRAY_SIZE(obs_names), k);
}

const char *reg_lease_name(enum reg_lease_action a)
{
	return name_of(lease_names, ARRAY_SIZE(lease_names), a);
}

/* ---- errors and small helpers ---- */

static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		return -EINVAL;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY: /* file or directory not writable (reg.h: -EROFS) */
		return -EROFS;
	default:
		return -EIO;
	}
}

/* Logs SQLite's message for a failed operation and returns the errno. */
static int db_fail(struct reg *r, int rc, const char *what)
{
	int sys = sqlite3_system_errno(r->db);

	log_err("reg: %s: %s: %s (sqlite %d%s%s)", r->path, what, sqlite3_errmsg(r->db), rc,
		sys ? ", " : "", sys ? strerror(sys) : "");
	return map_rc(rc);
}

static void st_resetp(sqlite3_stmt **st)
{
	if (*st) {
		sqlite3_reset(*st);
		sqlite3_clear_bindings(*st);
	}
}
/* A statement borrowed from the handle, reset when it leaves scope. */
#define _cleanup_reset_ _cleanup_(st_resetp)

static void sqlite_freep(char **p) { sqlite3_free(*p); }
#define _cleanup_sqlite_free_ _cleanup_(sqlite_freep)

static int bind_str(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

static int bind_fail(struct reg *r)
{
	return db_fail(r, sqlite3_errcode(r->db), "bind");
}

/* Steps a statement that returns no rows (or whose rows are ignored). */
static int st_done(struct reg *r, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_fail(r, rc, what);
}

static int st_run(struct reg *r, enum st id, const char *what)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[id];
	return st_done(r, st, what);
}

static bool mac_ok(const char *mac)
{
	char canon[MAC_STR_LEN];
	return mac && mac_canon(mac, canon) == 0 && strcmp(canon, mac) == 0;
}

static bool str_ok(const char *s)
{
	return !s || strnlen(s, REG_STR_MAX + 1) <= REG_STR_MAX;
}

static const char *col_str(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* ---- transactions ----
 * tx_begin(durable) ... tx_end(ret, durable): commits when ret is 0, rolls
 * back otherwise, and puts synchronous back to NORMAL after a durable one.
 * Statements used inside must be reset before tx_end (helpers do that on
 * their way out with _cleanup_reset_). */

static void tx_rollback(struct reg *r)
{
	/* Some errors (FULL, IOERR, NOMEM) roll back on their own. */
	if (!sqlite3_get_autocommit(r->db))
		st_run(r, ST_ROLLBACK, "rollback");
}

/* PRAGMA synchronous acts when the statement is compiled, not when it is
 * stepped, so it cannot live among the prepared statements: it is run
 * through sqlite3_exec() each time (decisions are rare). */
static int set_sync(struct reg *r, bool full)
{
	const char *sql = full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
	int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_fail(r, rc, sql);
}

static int tx_begin(struct reg *r, bool durable)
{
	int ret;

	if (durable && (ret = set_sync(r, true)) < 0)
		return ret;
	ret = st_run(r, ST_BEGIN, "begin");
	if (ret < 0 && durable)
		set_sync(r, false);
	return ret;
}

static int tx_end(struct reg *r, int ret, bool durable)
{
	if (ret == 0)
		ret = st_run(r, ST_COMMIT, "commit");
	if (ret < 0)
		tx_rollback(r);
	if (durable)
		set_sync(r, false);
	return ret;
}

/* ---- events ---- */

static int ev_insert(struct reg *r, int64_t ts, const char *kind, const char *action,
		     const char *mac, const char *bss, const struct reg_actor *who,
		     const char *detail)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_EV_INSERT];

	if (sqlite3_bind_int64(st, 1, ts) || bind_str(st, 2, kind) ||
	    bind_str(st, 3, action) || bind_str(st, 4, mac) || bind_str(st, 5, bss) ||
	    bind_str(st, 6, who ? who->who : NULL) || bind_str(st, 7, who ? who->via : NULL) ||
	    bind_str(st, 8, detail))
		return bind_fail(r);
	return st_done(r, st, "insert event");
}

static int64_t last_event_id(struct reg *r)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_EV_LAST];
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW)
		return db_fail(r, rc, "last event id");
	return sqlite3_column_int64(st, 0);
}

/* Drops conn events more than conn_keep ids below the newest one. Only the
 * ids added since the previous prune are visited, so a prune costs about
 * prune_every row deletions. Runs in its own (autocommit) transaction. */
static int prune(struct reg *r)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_EV_PRUNE];
	int64_t last = last_event_id(r), upto;
	int ret;

	if (last < 0)
		return (int)last;
	upto = last - (int64_t)r->conn_keep;
	r->since_prune = 0;
	if (upto <= r->pruned_upto)
		return 0;
	if (sqlite3_bind_int64(st, 1, r->pruned_upto) || sqlite3_bind_int64(st, 2, upto))
		return bind_fail(r);
	ret = st_done(r, st, "prune events");
	if (ret == 0)
		r->pruned_upto = upto;
	return ret;
}

static void maybe_prune(struct reg *r)
{
	if (++r->since_prune < r->prune_every)
		return;
	if (prune(r) < 0)
		log_warn("reg: pruning connection events failed; will retry");
}

int reg_set_conn_keep(struct reg *r, unsigned keep)
{
	if (!r || keep == 0)
		return -EINVAL;
	r->conn_keep = keep;
	r->prune_every = keep / 10 ? keep / 10 : 1;
	if (r->prune_every > REG_PRUNE_EVERY_MAX)
		r->prune_every = REG_PRUNE_EVERY_MAX;
	return 0;
}

/* ---- open / close / migrations ---- */

static int exec_sql(struct reg *r, const char *sql, const char *what)
{
	int rc = sqlite3_exec(r->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_fail(r, rc, what);
}

static int pragma_int(struct reg *r, const char *sql, int *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(r->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int(st, 0);
			rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK) {
		int ret = db_fail(r, rc, sql);
		sqlite3_finalize(st);
		return ret;
	}
	sqlite3_finalize(st);
	return 0;
}

static int set_wal(struct reg *r)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(r->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	int ret = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		ret = db_fail(r, rc, "journal_mode=WAL");
	else if (sqlite3_stricmp(col_str(st, 0) ? col_str(st, 0) : "", "wal") != 0)
		log_warn("reg: %s: journal mode is %s, not WAL", r->path, col_str(st, 0));
	sqlite3_finalize(st);
	return ret;
}

/* Applies step `to` (1-based) in its own transaction, unless another
 * process got there first. */
static int migrate_step(struct reg *r, int to)
{
	char sql[64];
	int ret, cur = 0;

	ret = exec_sql(r, "BEGIN IMMEDIATE", "begin migration");
	if (ret < 0)
		return ret;
	ret = pragma_int(r, "PRAGMA user_version", &cur);
	if (ret == 0 && cur < to) {
		ret = exec_sql(r, migrations[to - 1], "migration");
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", to);
		if (ret == 0)
			ret = exec_sql(r, sql, "set user_version");
	}
	if (ret == 0)
		ret = exec_sql(r, "COMMIT", "commit migration");
	if (ret < 0) {
		if (!sqlite3_get_autocommit(r->db))
			exec_sql(r, "ROLLBACK", "rollback migration");
		log_err("reg: %s: migration to schema v%d failed", r->path, to);
		return ret;
	}
	if (cur < to)
		log_info("reg: %s: schema migrated to v%d", r->path, to);
	return 0;
}

static int migrate(struct reg *r)
{
	int ret, v = 0;

	ret = pragma_int(r, "PRAGMA user_version", &v);
	if (ret < 0)
		return ret;
	if (v > REG_SCHEMA_LATEST || v < 0) {
		log_err("reg: %s: schema version %d is newer than this build (%d)",
			r->path, v, REG_SCHEMA_LATEST);
		return -EPROTO;
	}
	for (int to = v + 1; to <= REG_SCHEMA_LATEST; to++) {
		ret = migrate_step(r, to);
		if (ret < 0)
			return ret;
	}
	return pragma_int(r, "PRAGMA user_version", &r->version);
}

static int reg_setup(struct reg *r)
{
	int ret, rc;

	rc = sqlite3_open_v2(r->path, &r->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		if (!r->db)
			return -ENOMEM;
		return db_fail(r, rc, "open");
	}
	/* SQLite falls back to read-only when the file cannot be written; the
	 * daemon would then fail every observation, so say so now. */
	if (sqlite3_db_readonly(r->db, "main") == 1) {
		log_err("reg: %s: can only be opened read-only", r->path);
		return -EROFS;
	}
	sqlite3_busy_timeout(r->db, REG_BUSY_TIMEOUT_MS);
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(r->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);

	/* cache_size: 2 MB of pages is plenty for thousands of devices and
	 * keeps the daemon's RSS small; migrations run synchronous=FULL. */
	ret = exec_sql(r, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -2000;"
		       " PRAGMA synchronous = FULL;", "pragmas");
	if (ret == 0)
		ret = set_wal(r);
	if (ret == 0)
		ret = migrate(r);
	/* The default auto-checkpoint (1000 pages, ~330 observations) measured
	 * best: larger ones made each checkpoint's stall longer and the WAL
	 * slower to search. The WAL file is cut back to 4 MB after one. */
	if (ret == 0)
		ret = exec_sql(r, "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 1000;"
			       " PRAGMA journal_size_limit = 4194304;", "pragmas");
	if (ret < 0)
		return ret;

	for (int i = 0; i < ST__COUNT; i++) {
		rc = sqlite3_prepare_v3(r->db, st_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&r->st[i], NULL);
		if (rc != SQLITE_OK)
			return db_fail(r, rc, "prepare");
	}
	return 0;
}

int reg_open(const char *path, struct reg **out)
{
	struct reg *r;
	int ret;

	if (!path || !*path || !out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->path = strdup(path);
	if (!r->path) {
		free(r);
		return -ENOMEM;
	}
	reg_set_conn_keep(r, REG_CONN_KEEP_DEFAULT);

	ret = reg_setup(r);
	if (ret == 0 && prune(r) < 0)
		log_warn("reg: %s: pruning connection events failed", path);
	if (ret < 0) {
		reg_close(r);
		return ret;
	}
	*out = r;
	return 0;
}

void reg_close(struct reg *r)
{
	if (!r)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(r->st[i]);
	if (r->db && sqlite3_close(r->db) != SQLITE_OK)
		log_err("reg: %s: close: %s", r->path, sqlite3_errmsg(r->db));
	free(r->path);
	free(r);
}

int reg_schema_version(struct reg *r)
{
	return r ? r->version : -EINVAL;
}

const char *reg_path(const struct reg *r)
{
	return r ? r->path : NULL;
}

/* ---- observations ---- */

static int observe_tx(struct reg *r, const struct reg_obs *o, bool *created)
{
	_cleanup_sqlite_free_ char *detail = NULL;
	const char *bss = o->bss;
	int vlan = o->vlan, conn = -1, ret;
	bool creates = false;

	switch (o->kind) {
	case REG_OBS_CONNECTED:
	case REG_OBS_PRESENT:
		conn = 1;
		creates = true;
		break;
	case REG_OBS_EAP_SUCCESS:
		creates = true;
		break;
	case REG_OBS_DISCONNECTED:
		conn = 0;
		bss = NULL;
		vlan = 0;
		break;
	case REG_OBS_EAP_FAILURE:
		bss = NULL;
		vlan = 0;
		break;
	}

	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_TOUCH];
		if (bind_str(st, 1, o->mac) || bind_str(st, 2, bss) ||
		    sqlite3_bind_int(st, 3, vlan) || sqlite3_bind_int64(st, 4, o->now) ||
		    bind_str(st, 5, o->vendor) ||
		    (conn < 0 ? sqlite3_bind_null(st, 6) : sqlite3_bind_int(st, 6, conn)) ||
		    bind_str(st, 7, o->bss) || bind_str(st, 8, conn == 1 ? o->port : NULL))
			return bind_fail(r);
		ret = st_done(r, st, "update device");
		if (ret < 0)
			return ret;
	}
	if (sqlite3_changes(r->db) == 0 && creates) {
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_CREATE];
		if (bind_str(st, 1, o->mac) || bind_str(st, 2, reg_state_name(o->initial)) ||
		    bind_str(st, 3, o->vendor) || bind_str(st, 4, o->bss) ||
		    sqlite3_bind_int(st, 5, o->vlan) || sqlite3_bind_int(st, 6, conn == 1) ||
		    sqlite3_bind_int64(st, 7, o->now) || bind_str(st, 8, o->port))
			return bind_fail(r);
		ret = st_done(r, st, "create device");
		if (ret < 0)
			return ret;
		*created = true;
	}

	if (o->vlan || o->keyid) {
		sqlite3_str *s = sqlite3_str_new(r->db);
		if (o->vlan)
			sqlite3_str_appendf(s, "vlan=%d", o->vlan);
		if (o->keyid)
			sqlite3_str_appendf(s, "%skeyid=%s", o->vlan ? ", " : "", o->keyid);
		if (sqlite3_str_errcode(s) != SQLITE_OK) {
			sqlite3_free(sqlite3_str_finish(s));
			return -ENOMEM;
		}
		detail = sqlite3_str_finish(s);
	}
	return ev_insert(r, o->now, "conn", reg_obs_name(o->kind), o->mac, o->bss ? o->bss : o->port,
			 NULL, detail);
}

int reg_observe(struct reg *r, const struct reg_obs *o, bool *created)
{
	bool made = false;
	int ret;

	if (created)
		*created = false;
	if (!r || !o || !mac_ok(o->mac) || (unsigned)o->kind > REG_OBS_PRESENT ||
	    (unsigned)o->initial >= REG_STATE_COUNT || o->vlan < 0 || o->vlan > 4095 ||
	    !str_ok(o->bss) || !str_ok(o->vendor) || !str_ok(o->keyid) || !str_ok(o->port))
		return -EINVAL;

	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	ret = tx_end(r, observe_tx(r, o, &made), false);
	if (ret < 0)
		return ret;
	if (created)
		*created = made;
	maybe_prune(r);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Canonical MACs of the devices marked connected on bss. */
static int connected_on(struct reg *r, const char *bss, char (**out)[MAC_STR_LEN], size_t *n)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_ON_BSS];
	_cleanup_free_ char (*v)[MAC_STR_LEN] = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (bind_str(st, 1, bss))
		return bind_fail(r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *mac = col_str(st, 0);
		if (!mac)
			continue;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			void *p = reallocarray(v, ncap, sizeof(*v));
			if (!p)
				return -ENOMEM;
			v = p;
			cap = ncap;
		}
		util_strlcpy(v[len++], mac, MAC_STR_LEN);
	}
	if (rc != SQLITE_DONE)
		return db_fail(r, rc, "list connected");
	*out = steal_ptr(&v);
	*n = len;
	return 0;
}

static int disconnect_one(struct reg *r, const char *mac, const char *bss, int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_DISCONNECT];
	int ret;

	if (bind_str(st, 1, mac))
		return bind_fail(r);
	ret = st_done(r, st, "disconnect device");
	if (ret < 0)
		return ret;
	return ev_insert(r, now, "conn", reg_obs_name(REG_OBS_DISCONNECTED), mac, bss,
			 NULL, "resync");
}

static int resync_tx(struct reg *r, const char *bss, const char *const *macs, unsigned n,
		     int64_t now)
{
	_cleanup_free_ const char **sorted = NULL;
	_cleanup_free_ char (*conn)[MAC_STR_LEN] = NULL;
	size_t nconn = 0;
	int ret, changed = 0;

	if (n) {
		sorted = malloc(n * sizeof(*sorted));
		if (!sorted)
			return -ENOMEM;
		memcpy(sorted, macs, n * sizeof(*sorted));
		qsort(sorted, n, sizeof(*sorted), cmp_str);
	}
	ret = connected_on(r, bss, &conn, &nconn);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < nconn; i++) {
		const char *key = conn[i];
		if (n && bsearch(&key, sorted, n, sizeof(*sorted), cmp_str))
			continue;
		ret = disconnect_one(r, conn[i], bss, now);
		if (ret < 0)
			return ret;
		changed++;
	}
	return changed;
}

int reg_resync_bss(struct reg *r, const char *bss, const char *const *macs,
		   unsigned n, int64_t now)
{
	int ret, changed;

	if (!r || !bss || (n && !macs))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!macs[i])
			return -EINVAL;
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	changed = resync_tx(r, bss, macs, n, now);
	ret = tx_end(r, changed < 0 ? changed : 0, false);
	return ret < 0 ? ret : changed;
}

/* ---- leases ---- */

static bool ip_ok(const char *ip)
{
	unsigned char buf[sizeof(struct in6_addr)];
	return ip && (inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1);
}

static int bind_seen(sqlite3_stmt *st, int i, const struct reg_lease *l)
{
	return l->seen ? sqlite3_bind_int64(st, i, l->now) : sqlite3_bind_null(st, i);
}

static int lease_tx(struct reg *r, const struct reg_lease *l, bool *created)
{
	_cleanup_sqlite_free_ char *detail = NULL;
	int ret;

	if (l->action == REG_LEASE_DEL) {
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_UNLEASE];
		if (bind_str(st, 1, l->mac) || bind_str(st, 2, l->ip) || bind_seen(st, 3, l))
			return bind_fail(r);
		ret = st_done(r, st, "release lease");
		if (ret < 0)
			return ret;
	} else {
		{
			_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_LEASE];
			if (bind_str(st, 1, l->mac) || bind_str(st, 2, l->ip) ||
			    bind_str(st, 3, l->hostname) || bind_str(st, 4, l->vendor_class) ||
			    bind_str(st, 5, l->options) || bind_str(st, 6, l->dhcp_hostname) ||
			    bind_seen(st, 7, l))
				return bind_fail(r);
			ret = st_done(r, st, "record lease");
			if (ret < 0)
				return ret;
		}
		if (sqlite3_changes(r->db) == 0) {
			_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_LEASE_CREATE];
			if (bind_str(st, 1, l->mac) || bind_str(st, 2, reg_state_name(l->initial)) ||
			    bind_str(st, 3, l->ip) || bind_str(st, 4, l->hostname) ||
			    bind_str(st, 5, l->vendor_class) || bind_str(st, 6, l->options) ||
			    bind_str(st, 7, l->dhcp_hostname) || sqlite3_bind_int64(st, 8, l->now))
				return bind_fail(r);
			ret = st_done(r, st, "create device");
			if (ret < 0)
				return ret;
			*created = true;
		}
	}
	detail = l->iface ? sqlite3_mprintf("ip=%s, interface=%s", l->ip, l->iface)
			  : sqlite3_mprintf("ip=%s", l->ip);
	if (!detail)
		return -ENOMEM;
	return ev_insert(r, l->now, "conn", reg_lease_name(l->action), l->mac, NULL, NULL, detail);
}

int reg_lease(struct reg *r, const struct reg_lease *l, bool *created)
{
	bool made = false;
	int ret;

	if (created)
		*created = false;
	if (!r || !l || !mac_ok(l->mac) || !reg_lease_name(l->action) || !ip_ok(l->ip) ||
	    (unsigned)l->initial >= REG_STATE_COUNT || !str_ok(l->hostname) ||
	    !str_ok(l->dhcp_hostname) || !str_ok(l->vendor_class) || !str_ok(l->options) ||
	    !str_ok(l->iface))
		return -EINVAL;

	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	ret = tx_end(r, lease_tx(r, l, &made), false);
	if (ret < 0)
		return ret;
	if (created)
		*created = made;
	maybe_prune(r);
	return 0;
}

/* ---- decisions ---- */

static bool actor_ok(const struct reg_actor *who)
{
	return who && who->who && who->via && str_ok(who->who) && str_ok(who->via);
}

/* Current state and label of mac: 1 found, 0 unknown, or a negative errno.
 * The label is copied (caller frees with sqlite3_free). */
static int dev_state(struct reg *r, const char *mac, char **state, char **label)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_STATE];
	int rc;

	if (bind_str(st, 1, mac))
		return bind_fail(r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(r, rc, "device state");
	*state = sqlite3_mprintf("%s", col_str(st, 0) ? col_str(st, 0) : "?");
	*label = col_str(st, 1) ? sqlite3_mprintf("%s", col_str(st, 1)) : NULL;
	if (!*state || (col_str(st, 1) && !*label))
		return -ENOMEM;
	return 1;
}

static int approve_tx(struct reg *r, const char *mac, const struct reg_approval *a,
		      const struct reg_actor *who, int64_t now)
{
	_cleanup_sqlite_free_ char *detail = NULL;
	int ret;

	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_APPROVE];
		if (bind_str(st, 1, mac) || bind_str(st, 2, reg_class_name(a->cls)) ||
		    bind_str(st, 3, a->label) || bind_str(st, 4, a->owner) ||
		    bind_str(st, 5, reg_type_name(a->type)) || bind_str(st, 6, who->who) ||
		    bind_str(st, 7, who->via) || sqlite3_bind_int64(st, 8, now))
			return bind_fail(r);
		ret = st_done(r, st, "approve");
		if (ret < 0)
			return ret;
	}
	if (sqlite3_changes(r->db) == 0)
		return -ENOENT;

	sqlite3_str *s = sqlite3_str_new(r->db);
	sqlite3_str_appendf(s, "as %s", reg_class_name(a->cls));
	if (a->label)
		sqlite3_str_appendf(s, ", label=%s", a->label);
	if (a->owner)
		sqlite3_str_appendf(s, ", owner=%s", a->owner);
	if (a->type != REG_TYPE_NONE)
		sqlite3_str_appendf(s, ", type=%s", reg_type_name(a->type));
	if (sqlite3_str_errcode(s) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(s));
		return -ENOMEM;
	}
	detail = sqlite3_str_finish(s);
	return ev_insert(r, now, "audit", "approve", mac, NULL, who, detail);
}

int reg_approve(struct reg *r, const char *mac, const struct reg_approval *a,
		const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || !a || !actor_ok(who) || !str_ok(a->label) ||
	    !str_ok(a->owner) || !reg_class_name(a->cls) ||
	    (a->type != REG_TYPE_NONE && !reg_type_name(a->type)))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, approve_tx(r, mac, a, who, now), true);
}

static int block_tx(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now)
{
	_cleanup_sqlite_free_ char *state = NULL, *label = NULL, *detail = NULL;
	int found, ret;

	found = dev_state(r, mac, &state, &label);
	if (found < 0)
		return found;
	{
		_cleanup_reset_ sqlite3_stmt *st =
			r->st[found ? ST_DEV_BLOCK : ST_DEV_CREATE_BLOCKED];
		if (bind_str(st, 1, mac) || bind_str(st, 2, who->who) ||
		    bind_str(st, 3, who->via) || sqlite3_bind_int64(st, 4, now))
			return bind_fail(r);
		ret = st_done(r, st, "block");
		if (ret < 0)
			return ret;
	}
	detail = found ? sqlite3_mprintf("was %s", state) : sqlite3_mprintf("not seen before");
	if (!detail)
		return -ENOMEM;
	return ev_insert(r, now, "audit", "block", mac, NULL, who, detail);
}

int reg_block(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, block_tx(r, mac, who, now), true);
}

/* Removes every finding of mac (forget, readdress, a new check). */
static int findings_clear(struct reg *r, const char *mac)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_FI_CLEAR];

	if (bind_str(st, 1, mac))
		return bind_fail(r);
	return st_done(r, st, "clear findings");
}

static int forget_tx(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now)
{
	_cleanup_sqlite_free_ char *state = NULL, *label = NULL, *detail = NULL;
	int found, ret;

	found = dev_state(r, mac, &state, &label);
	if (found <= 0)
		return found < 0 ? found : -ENOENT;
	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_DELETE];
		if (bind_str(st, 1, mac))
			return bind_fail(r);
		ret = st_done(r, st, "forget");
		if (ret < 0)
			return ret;
	}
	if ((ret = findings_clear(r, mac)) < 0)
		return ret;
	detail = label ? sqlite3_mprintf("was %s, label=%s", state, label)
		       : sqlite3_mprintf("was %s", state);
	if (!detail)
		return -ENOMEM;
	return ev_insert(r, now, "audit", "forget", mac, NULL, who, detail);
}

int reg_forget(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, forget_tx(r, mac, who, now), true);
}

static int reserve_tx(struct reg *r, const char *mac, const char *ip, const struct reg_actor *who,
		      int64_t now)
{
	_cleanup_sqlite_free_ char *state = NULL, *label = NULL, *detail = NULL;
	int found, ret;

	found = dev_state(r, mac, &state, &label);
	if (found <= 0)
		return found < 0 ? found : -ENOENT;
	if (ip) {
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_RESERVED_BY];
		if (bind_str(st, 1, ip) || bind_str(st, 2, mac))
			return bind_fail(r);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			return -EEXIST;
		if (rc != SQLITE_DONE)
			return db_fail(r, rc, "reservation lookup");
	}
	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_RESERVE];
		if (bind_str(st, 1, mac) || bind_str(st, 2, ip))
			return bind_fail(r);
		ret = st_done(r, st, "reserve");
		if (ret < 0)
			return ret;
	}
	detail = ip ? sqlite3_mprintf("ip=%s", ip) : sqlite3_mprintf("cleared");
	if (!detail)
		return -ENOMEM;
	return ev_insert(r, now, "audit", ip ? "reserve" : "unreserve", mac, NULL, who, detail);
}

int reg_reserve(struct reg *r, const char *mac, const char *ip, const struct reg_actor *who,
		int64_t now)
{
	struct in_addr a;
	int ret;

	if (!r || !mac_ok(mac) || !actor_ok(who) || (ip && inet_pton(AF_INET, ip, &a) != 1))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, reserve_tx(r, mac, ip, who, now), true);
}

/* ---- repair, keys, addresses ---- */

static const struct reg_actor repair_actor = { "apgated", "repair" };

static int alert_insert(struct reg *r, const char *kind, const char *mac, const char *message,
			int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_AL_INSERT];

	if (sqlite3_bind_int64(st, 1, now) || bind_str(st, 2, kind) || bind_str(st, 3, mac) ||
	    bind_str(st, 4, message))
		return bind_fail(r);
	return st_done(r, st, "insert alert");
}

static int set_held(struct reg *r, const char *mac, int64_t at)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_HOLD];
	int ret;

	if (bind_str(st, 1, mac) || sqlite3_bind_int64(st, 2, at))
		return bind_fail(r);
	ret = st_done(r, st, "hold");
	return ret < 0 ? ret : sqlite3_changes(r->db) ? 0 : -ENOENT;
}

static int hold_tx(struct reg *r, const char *mac, const char *reason, int64_t now)
{
	_cleanup_sqlite_free_ char *state = NULL, *label = NULL, *msg = NULL;
	int found = dev_state(r, mac, &state, &label), ret;

	if (found <= 0)
		return found < 0 ? found : -ENOENT;
	if ((ret = set_held(r, mac, now)) < 0)
		return ret;
	if ((ret = ev_insert(r, now, "audit", "hold", mac, NULL, &repair_actor, reason)) < 0)
		return ret;
	msg = sqlite3_mprintf("%s%s%s%s keeps landing in the wrong place (%s); it is held in onboarding "
			      "until someone approves, blocks, forgets or releases it",
			      label ? label : "", label ? " (" : "", mac, label ? ")" : "", reason);
	if (!msg)
		return -ENOMEM;
	return alert_insert(r, "repair_loop", mac, msg, now);
}

int reg_hold(struct reg *r, const char *mac, const char *reason, int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || !reason || !str_ok(reason))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, hold_tx(r, mac, reason, now), true);
}

static int release_tx(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_GET];
	int rc, ret;

	if (bind_str(st, 1, mac))
		return bind_fail(r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_fail(r, rc, "get device");
	if (sqlite3_column_int64(st, 21) == 0)
		return -EALREADY;
	sqlite3_reset(st);
	if ((ret = set_held(r, mac, 0)) < 0)
		return ret;
	return ev_insert(r, now, "audit", "release", mac, NULL, who, NULL);
}

int reg_release(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, release_tx(r, mac, who, now), true);
}

int reg_audit_auto(struct reg *r, const char *mac, const char *bss, const char *action,
		   const char *detail, int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || !action || !str_ok(bss) || !str_ok(action) || !str_ok(detail))
		return -EINVAL;
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	return tx_end(r, ev_insert(r, now, "audit", action, mac, bss, &repair_actor, detail), false);
}

static bool keyid_ok(const char *k)
{
	size_t n = k ? strlen(k) : 0;

	if (n == 0 || n > 31)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
		      *k == '-' || *k == '_' || *k == '.'))
			return false;
	return true;
}

static bool hex64_ok(const char *h)
{
	if (!h || strlen(h) != 64)
		return false;
	for (; *h; h++)
		if (util_hexval(*h) < 0)
			return false;
	return true;
}

static int set_key(struct reg *r, const char *mac, const char *keyid, const char *ssid,
		   const char *hex)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_KEY];
	int ret;

	if (bind_str(st, 1, mac) || bind_str(st, 2, keyid) || bind_str(st, 3, ssid) ||
	    bind_str(st, 4, hex))
		return bind_fail(r);
	ret = st_done(r, st, "set key");
	if (ret == -EINVAL) /* the unique index: that keyid is taken */
		return -EEXIST;
	return ret < 0 ? ret : sqlite3_changes(r->db) ? 0 : -ENOENT;
}

static int key_tx(struct reg *r, const char *mac, const char *keyid, const char *ssid,
		  const char *hex, const struct reg_actor *who, int64_t now)
{
	_cleanup_sqlite_free_ char *detail = NULL;
	int ret = set_key(r, mac, keyid, ssid, hex);

	if (ret < 0)
		return ret;
	detail = sqlite3_mprintf("keyid=%s, ssid=%s", keyid, ssid);
	if (!detail)
		return -ENOMEM;
	return ev_insert(r, now, "audit", "key", mac, NULL, who, detail);
}

int reg_set_key(struct reg *r, const char *mac, const char *keyid, const char *ssid,
		const char *psk_hex, const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || !keyid_ok(keyid) || !ssid || !*ssid || strlen(ssid) > 32 ||
	    !hex64_ok(psk_hex) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, key_tx(r, mac, keyid, ssid, psk_hex, who, now), true);
}

static int revoke_tx(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now,
		     char *keyid_out)
{
	struct reg_device *d = NULL;
	_cleanup_sqlite_free_ char *detail = NULL;
	int ret = reg_get(r, mac, &d);

	if (ret < 0)
		return ret;
	if (!d->psk_keyid) {
		reg_device_free(d);
		return -EALREADY;
	}
	detail = sqlite3_mprintf("keyid=%s", d->psk_keyid);
	if (keyid_out)
		util_strlcpy(keyid_out, d->psk_keyid, 32);
	reg_device_free(d);
	if (!detail)
		return -ENOMEM;
	if ((ret = set_key(r, mac, NULL, NULL, NULL)) < 0)
		return ret;
	return ev_insert(r, now, "audit", "revoke", mac, NULL, who, detail);
}

int reg_revoke_key(struct reg *r, const char *mac, const struct reg_actor *who, int64_t now,
		   char keyid[32])
{
	int ret;

	if (!r || !mac_ok(mac) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, revoke_tx(r, mac, who, now, keyid), true);
}

int reg_key_owner(struct reg *r, const char *keyid, char mac[18])
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !keyid || !mac)
		return -EINVAL;
	if (!keyid_ok(keyid))
		return -ENOENT;
	st = r->st[ST_DEV_KEY_OWNER];
	if (bind_str(st, 1, keyid))
		return bind_fail(r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_fail(r, rc, "key owner");
	util_strlcpy(mac, col_str(st, 0) ? col_str(st, 0) : "", 18);
	return 0;
}

static int readdress_tx(struct reg *r, const char *old_mac, const char *new_mac, const char *why,
			int64_t now)
{
	_cleanup_sqlite_free_ char *state = NULL, *label = NULL, *nstate = NULL, *nlabel = NULL;
	_cleanup_sqlite_free_ char *detail = NULL;
	int found, ret;

	found = dev_state(r, old_mac, &state, &label);
	if (found <= 0)
		return found < 0 ? found : -ENOENT;
	found = dev_state(r, new_mac, &nstate, &nlabel);
	if (found < 0)
		return found;
	if (found) {
		/* only a record nobody decided about gives way */
		if (strcmp(nstate, "pending") && strcmp(nstate, "guest"))
			return -EEXIST;
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_DELETE];
		if (bind_str(st, 1, new_mac))
			return bind_fail(r);
		if ((ret = st_done(r, st, "drop placeholder")) < 0)
			return ret;
	}
	if ((ret = findings_clear(r, new_mac)) < 0)
		return ret;
	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_FI_REMAC];
		if (bind_str(st, 1, old_mac) || bind_str(st, 2, new_mac))
			return bind_fail(r);
		if ((ret = st_done(r, st, "move findings")) < 0)
			return ret;
	}
	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_REMAC];
		if (bind_str(st, 1, old_mac) || bind_str(st, 2, new_mac))
			return bind_fail(r);
		if ((ret = st_done(r, st, "readdress")) < 0)
			return ret;
	}
	detail = sqlite3_mprintf("was %s, %s", old_mac, why);
	if (!detail)
		return -ENOMEM;
	return ev_insert(r, now, "audit", "readdress", new_mac, NULL, &repair_actor, detail);
}

int reg_readdress(struct reg *r, const char *old_mac, const char *new_mac, const char *why,
		  int64_t now)
{
	int ret;

	if (!r || !mac_ok(old_mac) || !mac_ok(new_mac) || !why || !str_ok(why) ||
	    !strcmp(old_mac, new_mac))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, readdress_tx(r, old_mac, new_mac, why, now), true);
}

/* ---- alerts ---- */

int64_t reg_alert_add(struct reg *r, const char *kind, const char *mac, const char *message,
		      int64_t now)
{
	int ret;

	if (!r || !kind || !*kind || !message || (mac && !mac_ok(mac)) || !str_ok(kind) ||
	    !str_ok(message))
		return -EINVAL;
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	ret = tx_end(r, alert_insert(r, kind, mac, message, now), false);
	return ret < 0 ? ret : sqlite3_last_insert_rowid(r->db);
}

int64_t reg_alert_open(struct reg *r, const char *kind, const char *mac)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !kind || (mac && !mac_ok(mac)))
		return -EINVAL;
	st = r->st[ST_AL_OPEN];
	if (sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC) ||
	    (mac ? sqlite3_bind_text(st, 2, mac, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 2)))
		return bind_fail(r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	return rc == SQLITE_DONE ? 0 : db_fail(r, rc, "find an open alert");
}

int reg_alerts(struct reg *r, bool all, unsigned limit, reg_alert_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !cb)
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_AL_LIST]))
		return -EBUSY;
	st = r->st[ST_AL_LIST];
	if (sqlite3_bind_int(st, 1, all) || sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1))
		return bind_fail(r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_alert a = {
			.id = sqlite3_column_int64(st, 0), .ts = sqlite3_column_int64(st, 1),
			.kind = col_str(st, 2), .mac = col_str(st, 3), .message = col_str(st, 4),
			.acked_at = sqlite3_column_int64(st, 5), .acked_by = col_str(st, 6),
		};
		int ret = cb(&a, ud);
		if (ret)
			return ret;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(r, rc, "list alerts");
}

int reg_alert_ack(struct reg *r, int64_t id, const struct reg_actor *who, int64_t now)
{
	int ret, n;

	if (!r || id < 0 || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[id ? ST_AL_ACK : ST_AL_ACK_ALL];
		if (id ? (sqlite3_bind_int64(st, 1, id) || sqlite3_bind_int64(st, 2, now) ||
			  bind_str(st, 3, who->who))
		       : (sqlite3_bind_int64(st, 1, now) || bind_str(st, 2, who->who)))
			ret = bind_fail(r);
		else
			ret = st_done(r, st, "acknowledge alert");
	}
	n = sqlite3_changes(r->db);
	ret = tx_end(r, ret, false);
	if (ret < 0)
		return ret;
	return id && n == 0 ? -ENOENT : n;
}

/* ---- risky-service findings, unmanaged MACs, blocked look-ups (v6) ---- */

static bool port_ok(unsigned port)
{
	return port >= 1 && port <= 65535;
}

static int set_findings_tx(struct reg *r, const char *mac, const struct reg_finding *f, unsigned n,
			   int64_t now)
{
	_cleanup_sqlite_free_ char *detail = NULL;
	sqlite3_str *s;
	int ret;

	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_CHECKED];
		if (bind_str(st, 1, mac) || sqlite3_bind_int64(st, 2, now))
			return bind_fail(r);
		if ((ret = st_done(r, st, "record check")) < 0)
			return ret;
	}
	if (sqlite3_changes(r->db) == 0)
		return -ENOENT;
	if ((ret = findings_clear(r, mac)) < 0)
		return ret;
	s = sqlite3_str_new(r->db);
	sqlite3_str_appendall(s, n ? "open: " : "nothing open");
	for (unsigned i = 0; i < n; i++) {
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_FI_INSERT];
		if (bind_str(st, 1, mac) || sqlite3_bind_int(st, 2, (int)f[i].port) ||
		    bind_str(st, 3, f[i].service) || bind_str(st, 4, f[i].detail) ||
		    sqlite3_bind_int64(st, 5, now)) {
			sqlite3_free(sqlite3_str_finish(s));
			return bind_fail(r);
		}
		if ((ret = st_done(r, st, "insert finding")) < 0) {
			sqlite3_free(sqlite3_str_finish(s));
			return ret;
		}
		sqlite3_str_appendf(s, "%s%s/%u", i ? ", " : "", f[i].service, f[i].port);
	}
	if (sqlite3_str_errcode(s) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(s));
		return -ENOMEM;
	}
	detail = sqlite3_str_finish(s);
	return ev_insert(r, now, "conn", "check", mac, NULL, NULL, detail);
}

int reg_set_findings(struct reg *r, const char *mac, const struct reg_finding *f, unsigned n,
		     int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || (n && !f))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		if (!port_ok(f[i].port) || !f[i].service || !*f[i].service ||
		    !str_ok(f[i].service) || !str_ok(f[i].detail))
			return -EINVAL;
		for (unsigned j = 0; j < i; j++)
			if (f[j].port == f[i].port)
				return -EINVAL;
	}
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	ret = tx_end(r, set_findings_tx(r, mac, f, n, now), false);
	if (ret == 0)
		maybe_prune(r);
	return ret;
}

int reg_findings(struct reg *r, const char *mac, reg_finding_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !cb || (mac && !mac_ok(mac)))
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_FI_LIST]))
		return -EBUSY;
	st = r->st[ST_FI_LIST];
	if (bind_str(st, 1, mac))
		return bind_fail(r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_finding fi = {
			.mac = col_str(st, 0), .port = (unsigned)sqlite3_column_int(st, 1),
			.service = col_str(st, 2), .detail = col_str(st, 3),
			.found_at = sqlite3_column_int64(st, 4),
		};
		int ret = cb(&fi, ud);
		if (ret)
			return ret;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(r, rc, "list findings");
}

static int unmanaged_tx(struct reg *r, const char *mac, const char *where, const char *ip,
			int64_t now)
{
	int ret;

	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_UM_INSERT];
		if (bind_str(st, 1, mac) || bind_str(st, 2, where) || bind_str(st, 3, ip) ||
		    sqlite3_bind_int64(st, 4, now))
			return bind_fail(r);
		if ((ret = st_done(r, st, "insert unmanaged")) < 0)
			return ret;
	}
	if (sqlite3_changes(r->db) == 1)
		return 1;
	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_UM_UPDATE];
		if (bind_str(st, 1, mac) || bind_str(st, 2, where) || bind_str(st, 3, ip) ||
		    sqlite3_bind_int64(st, 4, now))
			return bind_fail(r);
		return st_done(r, st, "update unmanaged");
	}
}

int reg_unmanaged_seen(struct reg *r, const char *mac, const char *where, const char *ip,
		       int64_t now)
{
	int ret, res;

	if (!r || !mac_ok(mac) || !where || !*where || !str_ok(where) || (ip && !ip_ok(ip)))
		return -EINVAL;
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	res = unmanaged_tx(r, mac, where, ip, now);
	ret = tx_end(r, res < 0 ? res : 0, false);
	return ret < 0 ? ret : res;
}

int reg_unmanaged_del(struct reg *r, const char *mac)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int ret;

	if (!r || !mac_ok(mac))
		return -EINVAL;
	st = r->st[ST_UM_DEL];
	if (bind_str(st, 1, mac))
		return bind_fail(r);
	ret = st_done(r, st, "drop unmanaged");
	return ret < 0 ? ret : sqlite3_changes(r->db) ? 0 : -ENOENT;
}

int reg_unmanaged_list(struct reg *r, reg_unmanaged_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !cb)
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_UM_LIST]))
		return -EBUSY;
	st = r->st[ST_UM_LIST];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_unmanaged u = {
			.mac = col_str(st, 0), .where = col_str(st, 1), .ip = col_str(st, 2),
			.first_seen = sqlite3_column_int64(st, 3),
			.last_seen = sqlite3_column_int64(st, 4),
		};
		int ret = cb(&u, ud);
		if (ret)
			return ret;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(r, rc, "list unmanaged");
}

static int dns_block_tx(struct reg *r, const char *mac, const char *ip, const char *domain,
			int64_t now, bool *first)
{
	const char *asker = mac ? mac : ip;
	int64_t id = 0;
	int rc;

	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DB_GET];
		if (bind_str(st, 1, asker) || bind_str(st, 2, domain))
			return bind_fail(r);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			id = sqlite3_column_int64(st, 0);
		else if (rc != SQLITE_DONE)
			return db_fail(r, rc, "find blocked look-up");
	}
	*first = id == 0;
	if (id) {
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DB_UPDATE];
		if (sqlite3_bind_int64(st, 1, id) || bind_str(st, 2, ip) ||
		    sqlite3_bind_int64(st, 3, now))
			return bind_fail(r);
		return st_done(r, st, "count blocked look-up");
	}
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DB_INSERT];
	if (bind_str(st, 1, asker) || bind_str(st, 2, mac) || bind_str(st, 3, ip) ||
	    bind_str(st, 4, domain) || sqlite3_bind_int64(st, 5, now))
		return bind_fail(r);
	return st_done(r, st, "insert blocked look-up");
}

int reg_dns_block(struct reg *r, const char *mac, const char *ip, const char *domain, int64_t now,
		  bool *first)
{
	bool is_first = false;
	int ret;

	if (!r || (mac && !mac_ok(mac)) || !ip_ok(ip) || !domain || !*domain || !str_ok(domain))
		return -EINVAL;
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	ret = tx_end(r, dns_block_tx(r, mac, ip, domain, now, &is_first), false);
	if (ret == 0 && first)
		*first = is_first;
	return ret;
}

int reg_dns_blocks(struct reg *r, const char *mac, unsigned limit, reg_dns_block_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !cb || (mac && !mac_ok(mac)))
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_DB_LIST]))
		return -EBUSY;
	st = r->st[ST_DB_LIST];
	if (bind_str(st, 1, mac) || sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1))
		return bind_fail(r);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_dns_block b = {
			.mac = col_str(st, 0), .ip = col_str(st, 1), .domain = col_str(st, 2),
			.first_at = sqlite3_column_int64(st, 3), .last_at = sqlite3_column_int64(st, 4),
			.count = (unsigned)sqlite3_column_int64(st, 5),
		};
		int ret = cb(&b, ud);
		if (ret)
			return ret;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(r, rc, "list blocked look-ups");
}

/* ---- captive claims, addresses ---- */

/* NULL or "" (not said) is stored as NULL. */
static const char *said(const char *s)
{
	return s && *s ? s : NULL;
}

static int claim_tx(struct reg *r, const char *mac, const struct reg_claim *c, int64_t now)
{
	const char *name = said(c->name), *owner = said(c->owner), *sep = "";
	_cleanup_sqlite_free_ char *detail = NULL;
	int ret;

	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_DEV_CLAIM];
		if (bind_str(st, 1, mac) || bind_str(st, 2, name) || bind_str(st, 3, owner) ||
		    bind_str(st, 4, reg_class_name(c->cls)) || sqlite3_bind_int64(st, 5, now))
			return bind_fail(r);
		ret = st_done(r, st, "claim");
		if (ret < 0)
			return ret;
	}
	if (sqlite3_changes(r->db) == 0)
		return -ENOENT;
	if (name || owner || c->cls != REG_CLASS_NONE) {
		sqlite3_str *s = sqlite3_str_new(r->db);
		if (name) {
			sqlite3_str_appendf(s, "name=%s", name);
			sep = ", ";
		}
		if (owner) {
			sqlite3_str_appendf(s, "%sowner=%s", sep, owner);
			sep = ", ";
		}
		if (c->cls != REG_CLASS_NONE)
			sqlite3_str_appendf(s, "%sas %s", sep, reg_class_name(c->cls));
		if (sqlite3_str_errcode(s) != SQLITE_OK) {
			sqlite3_free(sqlite3_str_finish(s));
			return -ENOMEM;
		}
		detail = sqlite3_str_finish(s);
	}
	return ev_insert(r, now, "conn", "claim", mac, NULL, NULL, detail);
}

int reg_claim(struct reg *r, const char *mac, const struct reg_claim *c, int64_t now)
{
	int ret;

	if (!r || !mac_ok(mac) || !c || !str_ok(c->name) || !str_ok(c->owner) ||
	    (c->cls != REG_CLASS_NONE && !reg_class_name(c->cls)))
		return -EINVAL;
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	ret = tx_end(r, claim_tx(r, mac, c, now), false);
	if (ret == 0)
		maybe_prune(r);
	return ret;
}

int reg_find_ip(struct reg *r, const char *ip, char mac[18])
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !ip_ok(ip) || !mac)
		return -EINVAL;
	st = r->st[ST_DEV_BY_IP];
	if (bind_str(st, 1, ip))
		return bind_fail(r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_fail(r, rc, "find address");
	util_strlcpy(mac, col_str(st, 0) ? col_str(st, 0) : "", 18);
	return 0;
}

/* ---- portal users ---- */

static const char *const role_names[] = {
	[REG_ROLE_APPROVER] = "approver", [REG_ROLE_ADMIN] = "admin",
};

const char *reg_role_name(enum reg_role role)
{
	return name_of(role_names, ARRAY_SIZE(role_names), role);
}

int reg_role_parse(const char *s, enum reg_role *out)
{
	unsigned v;
	int r = parse_name(role_names, ARRAY_SIZE(role_names), s, &v);
	if (r == 0)
		*out = (enum reg_role)v;
	return r;
}

#define USER_NAME_MAX 32
#define HASH_PREFIX "$argon2id$"
#define HASH_MAX 127 /* libsodium's crypto_pwhash_STRBYTES (128) less the NUL */

static bool user_name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;

	if (len == 0 || len > USER_NAME_MAX)
		return false;
	for (; *n; n++)
		if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
		      *n == '-' || *n == '_' || *n == '.'))
			return false;
	return true;
}

/* An encoded argon2id hash: the prefix, printable ASCII, no spaces. */
static bool hash_ok(const char *h)
{
	size_t len = h ? strlen(h) : 0;

	if (len <= strlen(HASH_PREFIX) || len > HASH_MAX || strncmp(h, HASH_PREFIX, strlen(HASH_PREFIX)))
		return false;
	for (; *h; h++)
		if (*h <= ' ' || *h > '~')
			return false;
	return true;
}

/* The role of user name: 1 found (*role set), 0 unknown, or a negative errno. */
static int user_role(struct reg *r, const char *name, enum reg_role *role)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_USER_GET];
	int rc;

	if (bind_str(st, 1, name))
		return bind_fail(r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return db_fail(r, rc, "get user");
	if (reg_role_parse(col_str(st, 1), role) < 0)
		*role = REG_ROLE_APPROVER; /* the CHECK allows nothing else */
	return 1;
}

static int admin_count(struct reg *r)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_USER_ADMINS];
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW)
		return db_fail(r, rc, "count admins");
	return sqlite3_column_int(st, 0);
}

/* Runs a user statement (?1 name, ?2 text if it has one) and writes the
 * audit entry `action` with detail "user=NAME[, role=ROLE]". */
static int user_write(struct reg *r, enum st id, const char *name, const char *text,
		      const char *action, const char *role, const struct reg_actor *who, int64_t now)
{
	_cleanup_sqlite_free_ char *detail = NULL;
	int ret;

	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[id];
		if (bind_str(st, 1, name) ||
		    (sqlite3_bind_parameter_count(st) >= 2 && bind_str(st, 2, text)))
			return bind_fail(r);
		ret = st_done(r, st, action);
		if (ret < 0)
			return ret;
	}
	if (sqlite3_changes(r->db) == 0)
		return -ENOENT;
	detail = role ? sqlite3_mprintf("user=%s, role=%s", name, role) : sqlite3_mprintf("user=%s", name);
	if (!detail)
		return -ENOMEM;
	return ev_insert(r, now, "audit", action, "", NULL, who, detail);
}

static int user_add_tx(struct reg *r, const char *name, enum reg_role role, const char *hash,
		       const struct reg_actor *who, int64_t now)
{
	_cleanup_reset_ sqlite3_stmt *st = r->st[ST_USER_ADD];
	_cleanup_sqlite_free_ char *detail = NULL;
	enum reg_role had;
	int ret = user_role(r, name, &had);

	if (ret != 0)
		return ret < 0 ? ret : -EEXIST;
	if (bind_str(st, 1, name) || bind_str(st, 2, reg_role_name(role)) || bind_str(st, 3, hash) ||
	    sqlite3_bind_int64(st, 4, now))
		return bind_fail(r);
	if ((ret = st_done(r, st, "add user")) < 0)
		return ret;
	detail = sqlite3_mprintf("user=%s, role=%s", name, reg_role_name(role));
	if (!detail)
		return -ENOMEM;
	return ev_insert(r, now, "audit", "user_add", "", NULL, who, detail);
}

int reg_user_add(struct reg *r, const char *name, enum reg_role role, const char *hash,
		 const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !user_name_ok(name) || !reg_role_name(role) || !hash_ok(hash) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, user_add_tx(r, name, role, hash, who, now), true);
}

int reg_user_set_hash(struct reg *r, const char *name, const char *hash,
		      const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !user_name_ok(name) || !hash_ok(hash) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, user_write(r, ST_USER_HASH, name, hash, "user_passwd", NULL, who, now), true);
}

/* The role user name has (*had); -ENOENT unknown; -EPERM when it is the
 * last admin, which may not stop being one. */
static int may_stop_being_admin(struct reg *r, const char *name, enum reg_role *had)
{
	int ret = user_role(r, name, had);

	if (ret <= 0)
		return ret < 0 ? ret : -ENOENT;
	if (*had != REG_ROLE_ADMIN)
		return 0;
	ret = admin_count(r);
	return ret < 0 ? ret : ret <= 1 ? -EPERM : 0;
}

static int user_role_tx(struct reg *r, const char *name, enum reg_role role,
			const struct reg_actor *who, int64_t now)
{
	enum reg_role had;
	int ret = user_role(r, name, &had);

	if (ret <= 0)
		return ret < 0 ? ret : -ENOENT;
	if (had == role)
		return 0; /* nothing changes, nothing to audit */
	if ((ret = may_stop_being_admin(r, name, &had)) < 0)
		return ret;
	return user_write(r, ST_USER_ROLE, name, reg_role_name(role), "user_role", reg_role_name(role),
			  who, now);
}

int reg_user_set_role(struct reg *r, const char *name, enum reg_role role,
		      const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !user_name_ok(name) || !reg_role_name(role) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, user_role_tx(r, name, role, who, now), true);
}

static int user_del_tx(struct reg *r, const char *name, const struct reg_actor *who, int64_t now)
{
	enum reg_role had;
	int ret = may_stop_being_admin(r, name, &had);

	if (ret < 0)
		return ret;
	return user_write(r, ST_USER_DEL, name, NULL, "user_del", reg_role_name(had), who, now);
}

int reg_user_del(struct reg *r, const char *name, const struct reg_actor *who, int64_t now)
{
	int ret;

	if (!r || !user_name_ok(name) || !actor_ok(who))
		return -EINVAL;
	ret = tx_begin(r, true);
	if (ret < 0)
		return ret;
	return tx_end(r, user_del_tx(r, name, who, now), true);
}

int reg_user_login(struct reg *r, const char *name, int64_t now)
{
	int ret;

	if (!r || !name)
		return -EINVAL;
	if (!user_name_ok(name))
		return -ENOENT; /* nobody can be called that */
	ret = tx_begin(r, false);
	if (ret < 0)
		return ret;
	{
		_cleanup_reset_ sqlite3_stmt *st = r->st[ST_USER_LOGIN];
		if (bind_str(st, 1, name) || sqlite3_bind_int64(st, 2, now))
			ret = bind_fail(r);
		else
			ret = st_done(r, st, "record login");
		if (ret == 0 && sqlite3_changes(r->db) == 0)
			ret = -ENOENT;
	}
	return tx_end(r, ret, false);
}

/* Walks a user statement whose parameters are bound. */
static int walk_users(struct reg *r, sqlite3_stmt *st, reg_user_cb cb, void *ud, bool one)
{
	int rc, n = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_user u = {
			.name = col_str(st, 0), .role = REG_ROLE_APPROVER, .hash = col_str(st, 2),
			.created_at = sqlite3_column_int64(st, 3),
			.last_login = sqlite3_column_int64(st, 4),
		};
		reg_role_parse(col_str(st, 1), &u.role);
		n++;
		int ret = cb(&u, ud);
		if (ret)
			return ret;
	}
	if (rc != SQLITE_DONE)
		return db_fail(r, rc, "list users");
	return one && n == 0 ? -ENOENT : 0;
}

int reg_users(struct reg *r, reg_user_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (!r || !cb)
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_USER_LIST]))
		return -EBUSY; /* called from its own callback */
	st = r->st[ST_USER_LIST];
	return walk_users(r, st, cb, ud, false);
}

int reg_user_get(struct reg *r, const char *name, reg_user_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (!r || !name || !cb)
		return -EINVAL;
	if (!user_name_ok(name))
		return -ENOENT; /* nobody can be called that */
	if (sqlite3_stmt_busy(r->st[ST_USER_GET]))
		return -EBUSY;
	st = r->st[ST_USER_GET];
	if (bind_str(st, 1, name))
		return bind_fail(r);
	return walk_users(r, st, cb, ud, true);
}

/* ---- queries ---- */

/* Fills d from a DEV_COLS row; strings point into the statement. */
static void row_device(sqlite3_stmt *st, struct reg_device *d)
{
	enum reg_state state = REG_PENDING;
	enum reg_class cls = REG_CLASS_NONE;
	enum reg_type type = REG_TYPE_NONE;

	memset(d, 0, sizeof(*d));
	util_strlcpy(d->mac, col_str(st, 0) ? col_str(st, 0) : "", sizeof(d->mac));
	reg_state_parse(col_str(st, 1), &state);
	if (col_str(st, 2))
		reg_class_parse(col_str(st, 2), &cls);
	/* A type this build does not know (added by a later migration and
	 * then downgraded) reads as "other" rather than as unset. */
	if (col_str(st, 3) && reg_type_parse(col_str(st, 3), &type) < 0)
		type = REG_TYPE_OTHER;
	d->state = state;
	d->cls = cls;
	d->type = type;
	d->label = (char *)col_str(st, 4);
	d->owner = (char *)col_str(st, 5);
	d->vendor = (char *)col_str(st, 6);
	d->hostname = (char *)col_str(st, 7);
	d->ip = (char *)col_str(st, 8);
	d->bss = (char *)col_str(st, 9);
	d->vlan = sqlite3_column_int(st, 10);
	d->connected = sqlite3_column_int(st, 11) != 0;
	d->first_seen = sqlite3_column_int64(st, 12);
	d->last_seen = sqlite3_column_int64(st, 13);
	d->decided_by = (char *)col_str(st, 14);
	d->decided_via = (char *)col_str(st, 15);
	d->decided_at = sqlite3_column_int64(st, 16);
	d->dhcp_vendor_class = (char *)col_str(st, 17);
	d->dhcp_options = (char *)col_str(st, 18);
	d->dhcp_hostname = (char *)col_str(st, 19);
	d->reserved_ip = (char *)col_str(st, 20);
	d->held_at = sqlite3_column_int64(st, 21);
	d->port = (char *)col_str(st, 22);
	d->psk_keyid = (char *)col_str(st, 23);
	d->psk_ssid = (char *)col_str(st, 24);
	d->psk_hex = (char *)col_str(st, 25);
	d->claim_name = (char *)col_str(st, 26);
	d->claim_owner = (char *)col_str(st, 27);
	cls = REG_CLASS_NONE;
	if (col_str(st, 28))
		reg_class_parse(col_str(st, 28), &cls);
	d->claim_cls = cls;
	d->claim_at = sqlite3_column_int64(st, 29);
	d->checked_at = sqlite3_column_int64(st, 30);
	d->n_findings = (unsigned)sqlite3_column_int64(st, 31);
}

void reg_device_free(struct reg_device *d)
{
	if (!d)
		return;
	free(d->label);
	free(d->owner);
	free(d->vendor);
	free(d->hostname);
	free(d->ip);
	free(d->bss);
	free(d->decided_by);
	free(d->decided_via);
	free(d->dhcp_vendor_class);
	free(d->dhcp_options);
	free(d->dhcp_hostname);
	free(d->reserved_ip);
	free(d->port);
	free(d->psk_keyid);
	free(d->psk_ssid);
	free(d->psk_hex);
	free(d->claim_name);
	free(d->claim_owner);
	free(d);
}

static int dup_str(char **s)
{
	if (*s && !(*s = strdup(*s)))
		return -ENOMEM;
	return 0;
}

int reg_get(struct reg *r, const char *mac, struct reg_device **out)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	struct reg_device *d;
	int rc;

	if (!r || !mac_ok(mac) || !out)
		return -EINVAL;
	st = r->st[ST_DEV_GET];
	if (bind_str(st, 1, mac))
		return bind_fail(r);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_fail(r, rc, "get device");
	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	row_device(st, d);
	/* Duplicate each borrowed string; on failure the rest are cleared so
	 * reg_device_free() frees only copies. */
	char **strs[] = { &d->label, &d->owner, &d->vendor, &d->hostname, &d->ip,
			  &d->bss, &d->decided_by, &d->decided_via, &d->dhcp_vendor_class,
			  &d->dhcp_options, &d->dhcp_hostname, &d->reserved_ip, &d->port,
			  &d->psk_keyid, &d->psk_ssid, &d->psk_hex, &d->claim_name,
			  &d->claim_owner };
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		if (dup_str(strs[i]) < 0) {
			for (size_t j = i; j < ARRAY_SIZE(strs); j++)
				*strs[j] = NULL;
			reg_device_free(d);
			return -ENOMEM;
		}
	}
	*out = d;
	return 0;
}

/* Steps a bound device query, handing each row to cb; cb's non-zero
 * return stops the walk and is returned. */
static int walk_devices(struct reg *r, sqlite3_stmt *st, reg_device_cb cb, void *ud)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_device d;
		int ret;

		row_device(st, &d);
		ret = cb(&d, ud);
		if (ret)
			return ret;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(r, rc, "list devices");
}

int reg_list(struct reg *r, const enum reg_state *state, reg_device_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (!r || !cb || (state && !reg_state_name(*state)))
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_DEV_LIST]))
		return -EBUSY; /* called from its own callback */
	st = r->st[ST_DEV_LIST];
	if (bind_str(st, 1, state ? reg_state_name(*state) : NULL))
		return bind_fail(r);
	return walk_devices(r, st, cb, ud);
}

int reg_list_page(struct reg *r, const enum reg_state *state, bool newest_first, unsigned offset,
		  unsigned limit, reg_device_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (!r || !cb || !limit || (state && !reg_state_name(*state)))
		return -EINVAL;
	st = r->st[newest_first ? ST_DEV_PAGE_NEW : ST_DEV_PAGE_OLD];
	if (sqlite3_stmt_busy(st))
		return -EBUSY;
	if (bind_str(st, 1, state ? reg_state_name(*state) : NULL) || sqlite3_bind_int64(st, 2, offset) ||
	    sqlite3_bind_int64(st, 3, limit))
		return bind_fail(r);
	return walk_devices(r, st, cb, ud);
}

int reg_count(struct reg *r, unsigned counts[REG_STATE_COUNT])
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !counts)
		return -EINVAL;
	memset(counts, 0, REG_STATE_COUNT * sizeof(counts[0]));
	st = r->st[ST_DEV_COUNT];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		enum reg_state s;
		if (reg_state_parse(col_str(st, 0), &s) == 0)
			counts[s] = (unsigned)sqlite3_column_int64(st, 1);
	}
	return rc == SQLITE_DONE ? 0 : db_fail(r, rc, "count devices");
}

/* Walks an EV_COLS statement whose parameters are bound. */
static int walk_events(struct reg *r, sqlite3_stmt *st, reg_event_cb cb, void *ud)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct reg_event e = {
			.id = sqlite3_column_int64(st, 0),
			.ts = sqlite3_column_int64(st, 1),
			.kind = col_str(st, 2),
			.action = col_str(st, 3),
			.mac = col_str(st, 4),
			.bss = col_str(st, 5),
			.actor = col_str(st, 6),
			.via = col_str(st, 7),
			.detail = col_str(st, 8),
		};
		int ret = cb(&e, ud);
		if (ret)
			return ret;
	}
	return rc == SQLITE_DONE ? 0 : db_fail(r, rc, "list events");
}

int reg_events(struct reg *r, int64_t since_id, unsigned limit, reg_event_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (!r || !cb)
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_EV_LIST]))
		return -EBUSY; /* called from its own callback */
	st = r->st[ST_EV_LIST];
	if (sqlite3_bind_int64(st, 1, since_id) ||
	    sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1))
		return bind_fail(r);
	return walk_events(r, st, cb, ud);
}

int reg_events_mac(struct reg *r, const char *mac, unsigned limit, reg_event_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (!r || !mac_ok(mac) || !cb)
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_EV_LIST_MAC]))
		return -EBUSY;
	st = r->st[ST_EV_LIST_MAC];
	if (bind_str(st, 1, mac) || sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1))
		return bind_fail(r);
	return walk_events(r, st, cb, ud);
}

int reg_audit_page(struct reg *r, int64_t before_id, unsigned limit, reg_event_cb cb, void *ud)
{
	_cleanup_reset_ sqlite3_stmt *st = NULL;

	if (!r || !cb || !limit)
		return -EINVAL;
	if (sqlite3_stmt_busy(r->st[ST_EV_AUDIT]))
		return -EBUSY;
	st = r->st[ST_EV_AUDIT];
	if (sqlite3_bind_int64(st, 1, before_id > 0 ? before_id : INT64_MAX) ||
	    sqlite3_bind_int64(st, 2, (int64_t)limit))
		return bind_fail(r);
	return walk_events(r, st, cb, ud);
}

int64_t reg_last_event_id(struct reg *r)
{
	return r ? last_event_id(r) : -EINVAL;
}
