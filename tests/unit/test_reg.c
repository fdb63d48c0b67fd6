/* test_reg.c - the device registry, as its callers see it.
 *
 * Every test opens a fresh registry file in its own temporary directory.
 * A pass-through SQLite VFS, registered as the default, counts fsyncs (to
 * see that decisions are durable and observations are not synced) and can
 * make writes fail (disk full, I/O error) - this works as root, where
 * chmod-based tricks do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "model/reg.h"
#include "util.h"

/* ---- fault-injecting VFS ---- */

static struct {
	sqlite3_vfs vfs;
	sqlite3_vfs *real;
	unsigned syncs;      /* xSync calls on any file */
	int write_error;     /* SQLite code xWrite returns, 0 = pass through */
	bool readonly;       /* open database files read-only, as SQLite does
			      * when the OS refuses write access */
} shim;

struct shim_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
};

#define REAL(f) (((struct shim_file *)(f))->real)

static int s_close(sqlite3_file *f)
{
	int rc = REAL(f)->pMethods ? REAL(f)->pMethods->xClose(REAL(f)) : SQLITE_OK;
	return rc;
}
static int s_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o)
{
	return REAL(f)->pMethods->xRead(REAL(f), b, n, o);
}
static int s_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	if (shim.write_error)
		return shim.write_error;
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int s_truncate(sqlite3_file *f, sqlite3_int64 n)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), n);
}
static int s_sync(sqlite3_file *f, int flags)
{
	shim.syncs++;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int s_size(sqlite3_file *f, sqlite3_int64 *n)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), n);
}
static int s_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int s_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int s_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int s_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int s_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int s_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int s_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p);
}
static int s_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void s_shmbarrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int s_shmunmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int s_fetch(sqlite3_file *f, sqlite3_int64 o, int n, void **p)
{
	return REAL(f)->pMethods->xFetch(REAL(f), o, n, p);
}
static int s_unfetch(sqlite3_file *f, sqlite3_int64 o, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), o, p);
}

static const sqlite3_io_methods shim_io = {
	3, s_close, s_read, s_write, s_truncate, s_sync, s_size, s_lock, s_unlock,
	s_reserved, s_fcntl, s_sector, s_devchar, s_shmmap, s_shmlock, s_shmbarrier,
	s_shmunmap, s_fetch, s_unfetch,
};

static int s_open(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *oflags)
{
	struct shim_file *sf = (struct shim_file *)f;
	int rc;

	(void)v;
	sf->real = (sqlite3_file *)(sf + 1);
	if (shim.readonly && (flags & SQLITE_OPEN_MAIN_DB) && (flags & SQLITE_OPEN_READWRITE))
		flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
	rc = shim.real->xOpen(shim.real, name, sf->real, flags, oflags);
	/* xClose is called even after a failed open when pMethods is set. */
	f->pMethods = sf->real->pMethods ? &shim_io : NULL;
	return rc;
}
static int s_delete(sqlite3_vfs *v, const char *n, int sync)
{
	(void)v;
	return shim.real->xDelete(shim.real, n, sync);
}
static int s_access(sqlite3_vfs *v, const char *n, int flags, int *out)
{
	(void)v;
	return shim.real->xAccess(shim.real, n, flags, out);
}
static int s_fullpath(sqlite3_vfs *v, const char *n, int len, char *out)
{
	(void)v;
	return shim.real->xFullPathname(shim.real, n, len, out);
}
static int s_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return shim.real->xRandomness(shim.real, n, out);
}
static int s_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return shim.real->xSleep(shim.real, us);
}
static int s_time(sqlite3_vfs *v, double *t)
{
	(void)v;
	return shim.real->xCurrentTime(shim.real, t);
}
static int s_lasterr(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return shim.real->xGetLastError(shim.real, n, out);
}
static int s_time64(sqlite3_vfs *v, sqlite3_int64 *t)
{
	(void)v;
	return shim.real->xCurrentTimeInt64(shim.real, t);
}

static void shim_install(void)
{
	shim.real = sqlite3_vfs_find(NULL);
	assert_non_null(shim.real);
	shim.vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct shim_file) + shim.real->szOsFile,
		.mxPathname = shim.real->mxPathname,
		.zName = "apgate-test-shim",
		.xOpen = s_open, .xDelete = s_delete, .xAccess = s_access,
		.xFullPathname = s_fullpath, .xRandomness = s_random, .xSleep = s_sleep,
		.xCurrentTime = s_time, .xGetLastError = s_lasterr,
		.xCurrentTimeInt64 = s_time64,
	};
	assert_int_equal(sqlite3_vfs_register(&shim.vfs, 1), SQLITE_OK);
}

/* ---- fixture ---- */

struct fx {
	char dir[64];
	char path[96];
	struct reg *r;
};

static const struct reg_actor anna = { .who = "anna", .via = "portal" };
static const struct reg_actor it = { .who = "it", .via = "cli" };

#define MAC_A "00:22:72:00:00:0a"
#define MAC_B "00:22:72:00:00:0b"
#define MAC_C "00:22:72:00:00:0c"
#define MAC_D "00:22:72:00:00:0d"

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_reg.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/registry.db", f->dir);
	shim.write_error = 0;
	shim.readonly = false;
	assert_int_equal(reg_open(f->path, &f->r), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	reg_close(f->r);
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

static void reopen(struct fx *f)
{
	reg_close(f->r);
	f->r = NULL;
	assert_int_equal(reg_open(f->path, &f->r), 0);
}

static int observe(struct reg *r, enum reg_obs_kind kind, const char *mac, const char *bss,
		   int64_t now, bool *created)
{
	struct reg_obs o = { .kind = kind, .mac = mac, .bss = bss, .now = now,
			     .initial = REG_PENDING };
	return reg_observe(r, &o, created);
}

static struct reg_device *get(struct reg *r, const char *mac)
{
	struct reg_device *d = NULL;

	assert_int_equal(reg_get(r, mac, &d), 0);
	assert_non_null(d);
	return d;
}

/* Copies of the events reg_events() delivers. */
struct ev {
	int64_t id, ts;
	char *kind, *action, *mac, *bss, *actor, *via, *detail;
};
struct evs {
	size_t n;
	struct ev e[256];
};

static char *dup_or_null(const char *s)
{
	char *d = s ? strdup(s) : NULL;
	if (s)
		assert_non_null(d);
	return d;
}

static int collect(const struct reg_event *e, void *ud)
{
	struct evs *v = ud;

	assert_true(v->n < ARRAY_SIZE(v->e));
	v->e[v->n++] = (struct ev){
		.id = e->id, .ts = e->ts, .kind = dup_or_null(e->kind),
		.action = dup_or_null(e->action), .mac = dup_or_null(e->mac),
		.bss = dup_or_null(e->bss), .actor = dup_or_null(e->actor),
		.via = dup_or_null(e->via), .detail = dup_or_null(e->detail),
	};
	return 0;
}

static void evs_free(struct evs *v)
{
	for (size_t i = 0; i < v->n; i++) {
		struct ev *e = &v->e[i];
		free(e->kind); free(e->action); free(e->mac); free(e->bss);
		free(e->actor); free(e->via); free(e->detail);
	}
	v->n = 0;
}

/* The audit entries among all events. */
static size_t audit_entries(struct reg *r, struct evs *out)
{
	struct evs all = { 0 };

	assert_int_equal(reg_events(r, 0, 0, collect, &all), 0);
	out->n = 0;
	for (size_t i = 0; i < all.n; i++) {
		if (strcmp(all.e[i].kind, "audit") == 0) {
			out->e[out->n++] = all.e[i];
			all.e[i] = (struct ev){ 0 };
		}
	}
	evs_free(&all);
	return out->n;
}

static int raw_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static int64_t raw_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ---- tests ---- */

static void open_creates_schema_v1(void **state)
{
	struct fx *f = *state;

	/* A new file goes straight to the newest schema (v1 tables are all
	 * still there). */
	assert_int_equal(reg_schema_version(f->r), REG_SCHEMA_VERSION);
	assert_string_equal(reg_path(f->r), f->path);
	assert_int_equal(access(f->path, F_OK), 0);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), REG_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE"
				 " (type = 'table' AND name IN ('devices', 'events', 'device_types'))"
				 " OR (type = 'view' AND name = 'audit')"), 4);
	/* WAL is a property of the file: another connection sees it. */
	assert_int_equal(raw_int(f->path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	/* Opening again does not migrate twice. */
	reopen(f);
	assert_int_equal(reg_schema_version(f->r), REG_SCHEMA_VERSION);
}

static void observe_connected_creates_pending(void **state)
{
	struct fx *f = *state;
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = MAC_A, .bss = "wlan0",
			     .vlan = 10, .vendor = "American Micro-Fuel Device Corp.",
			     .initial = REG_PENDING, .now = 1000 };
	struct reg_device *d;
	bool created = false;

	assert_int_equal(reg_observe(f->r, &o, &created), 0);
	assert_true(created);
	d = get(f->r, MAC_A);
	assert_string_equal(d->mac, MAC_A);
	assert_int_equal(d->state, REG_PENDING);
	assert_int_equal(d->cls, REG_CLASS_NONE);
	assert_int_equal(d->type, REG_TYPE_NONE);
	assert_string_equal(d->bss, "wlan0");
	assert_int_equal(d->vlan, 10);
	assert_true(d->connected);
	assert_int_equal(d->first_seen, 1000);
	assert_int_equal(d->last_seen, 1000);
	assert_string_equal(d->vendor, "American Micro-Fuel Device Corp.");
	assert_null(d->label);
	assert_null(d->decided_by);
	assert_int_equal(d->decided_at, 0);
	reg_device_free(d);

	/* Seen again later, elsewhere: not new; vendor stays the first one. */
	o.now = 2000;
	o.bss = "wlan1";
	o.vlan = 0;
	o.vendor = "Someone Else";
	assert_int_equal(reg_observe(f->r, &o, &created), 0);
	assert_false(created);
	d = get(f->r, MAC_A);
	assert_int_equal(d->first_seen, 1000);
	assert_int_equal(d->last_seen, 2000);
	assert_string_equal(d->bss, "wlan1");
	assert_int_equal(d->vlan, 10); /* 0 = unknown keeps the last one */
	assert_string_equal(d->vendor, "American Micro-Fuel Device Corp.");
	reg_device_free(d);

	/* The controller's initial state is used for a new device. */
	o.mac = MAC_B;
	o.initial = REG_GUEST;
	assert_int_equal(reg_observe(f->r, &o, NULL), 0);
	d = get(f->r, MAC_B);
	assert_int_equal(d->state, REG_GUEST);
	reg_device_free(d);
}

static void observations_write_connection_events(void **state)
{
	struct fx *f = *state;
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = MAC_A, .bss = "wlan0",
			     .vlan = 20, .keyid = "staff", .now = 500 };
	struct evs v = { 0 };

	assert_int_equal(reg_observe(f->r, &o, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_DISCONNECTED, MAC_A, "wlan0", 600, NULL), 0);
	assert_int_equal(reg_events(f->r, 0, 0, collect, &v), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.e[0].kind, "conn");
	assert_string_equal(v.e[0].action, "connected");
	assert_string_equal(v.e[0].mac, MAC_A);
	assert_string_equal(v.e[0].bss, "wlan0");
	assert_string_equal(v.e[0].detail, "vlan=20, keyid=staff");
	assert_int_equal(v.e[0].ts, 500);
	assert_null(v.e[0].actor);
	assert_string_equal(v.e[1].action, "disconnected");
	assert_null(v.e[1].detail);
	assert_true(v.e[1].id > v.e[0].id);
	assert_int_equal(reg_last_event_id(f->r), v.e[1].id);
	evs_free(&v);
}

static void disconnected_clears_connected(void **state)
{
	struct fx *f = *state;
	struct reg_device *d;
	bool created = true;

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1000, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_DISCONNECTED, MAC_A, "wlan0", 1500, &created), 0);
	assert_false(created);
	d = get(f->r, MAC_A);
	assert_false(d->connected);
	assert_int_equal(d->last_seen, 1500);
	assert_string_equal(d->bss, "wlan0"); /* where it was last seen */
	reg_device_free(d);

	/* Roaming: connected on wlan1 before wlan0 reports it left. */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 2000, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan1", 2001, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_DISCONNECTED, MAC_A, "wlan0", 2002, NULL), 0);
	d = get(f->r, MAC_A);
	assert_true(d->connected);
	assert_string_equal(d->bss, "wlan1");
	reg_device_free(d);

	/* Leaving an unknown MAC records the event but creates nothing. */
	assert_int_equal(observe(f->r, REG_OBS_DISCONNECTED, MAC_B, "wlan0", 3000, &created), 0);
	assert_false(created);
	assert_int_equal(reg_get(f->r, MAC_B, &d), -ENOENT);
	assert_int_equal(observe(f->r, REG_OBS_EAP_FAILURE, MAC_B, "wlan0", 3001, &created), 0);
	assert_false(created);
	assert_int_equal(reg_get(f->r, MAC_B, &d), -ENOENT);
	struct evs v = { 0 };
	assert_int_equal(reg_events_mac(f->r, MAC_B, 0, collect, &v), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.e[0].action, "disconnected");
	assert_string_equal(v.e[1].action, "eap_failure");
	evs_free(&v);
}

static void eap_success_creates_not_yet_connected(void **state)
{
	struct fx *f = *state;
	struct reg_device *d;
	bool created = false;

	assert_int_equal(observe(f->r, REG_OBS_EAP_SUCCESS, MAC_C, "wlan0", 100, &created), 0);
	assert_true(created);
	d = get(f->r, MAC_C);
	assert_false(d->connected);
	assert_string_equal(d->bss, "wlan0");
	reg_device_free(d);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_C, "wlan0", 101, &created), 0);
	assert_false(created);
	d = get(f->r, MAC_C);
	assert_true(d->connected);
	reg_device_free(d);
}

static void approve_records_decision_and_audit(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Till 1",
				  .owner = "Anna", .type = REG_TYPE_POS };
	struct reg_device *d;
	struct evs v = { 0 };

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1000, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 5000), 0);
	d = get(f->r, MAC_A);
	assert_int_equal(d->state, REG_APPROVED);
	assert_int_equal(d->cls, REG_CLASS_BUSINESS);
	assert_int_equal(d->type, REG_TYPE_POS);
	assert_string_equal(d->label, "Till 1");
	assert_string_equal(d->owner, "Anna");
	assert_string_equal(d->decided_by, "anna");
	assert_string_equal(d->decided_via, "portal");
	assert_int_equal(d->decided_at, 5000);
	assert_true(d->connected); /* a decision does not touch what was observed */
	reg_device_free(d);

	assert_int_equal(audit_entries(f->r, &v), 1);
	assert_string_equal(v.e[0].action, "approve");
	assert_string_equal(v.e[0].mac, MAC_A);
	assert_string_equal(v.e[0].actor, "anna");
	assert_string_equal(v.e[0].via, "portal");
	assert_string_equal(v.e[0].detail, "as business, label=Till 1, owner=Anna, type=pos");
	assert_int_equal(v.e[0].ts, 5000);
	evs_free(&v);

	/* Re-approval as personal with only a new owner keeps label and type. */
	struct reg_approval b = { .cls = REG_CLASS_PERSONAL, .owner = "Ben" };
	assert_int_equal(reg_approve(f->r, MAC_A, &b, &it, 6000), 0);
	d = get(f->r, MAC_A);
	assert_int_equal(d->state, REG_APPROVED);
	assert_int_equal(d->cls, REG_CLASS_PERSONAL);
	assert_string_equal(d->label, "Till 1");
	assert_string_equal(d->owner, "Ben");
	assert_int_equal(d->type, REG_TYPE_POS);
	assert_string_equal(d->decided_by, "it");
	assert_string_equal(d->decided_via, "cli");
	reg_device_free(d);
	assert_int_equal(audit_entries(f->r, &v), 2);
	assert_string_equal(v.e[1].detail, "as personal, owner=Ben");
	evs_free(&v);
}

static void approve_rejects_unknown_and_bad_input(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Till 1" };
	struct reg_approval none = { .cls = REG_CLASS_NONE };
	struct reg_actor nobody = { .who = NULL, .via = "cli" };
	struct evs v = { 0 };

	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 1), -ENOENT);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_A, &none, &anna, 1), -EINVAL);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &nobody, 1), -EINVAL);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, NULL, 1), -EINVAL);
	assert_int_equal(reg_approve(f->r, "00:22:72:00:00:0A", &a, &anna, 1), -EINVAL);
	assert_int_equal(reg_approve(f->r, "not a mac", &a, &anna, 1), -EINVAL);
	/* Nothing was decided, nothing audited. */
	assert_int_equal(audit_entries(f->r, &v), 0);
	struct reg_device *d = get(f->r, MAC_A);
	assert_int_equal(d->state, REG_PENDING);
	reg_device_free(d);
}

static void block_unknown_creates_blocked(void **state)
{
	struct fx *f = *state;
	struct reg_device *d;
	struct evs v = { 0 };

	assert_int_equal(reg_block(f->r, MAC_D, &it, 7000), 0);
	d = get(f->r, MAC_D);
	assert_int_equal(d->state, REG_BLOCKED);
	assert_int_equal(d->first_seen, 7000);
	assert_int_equal(d->last_seen, 0); /* never observed */
	assert_false(d->connected);
	assert_string_equal(d->decided_by, "it");
	assert_string_equal(d->decided_via, "cli");
	assert_int_equal(d->decided_at, 7000);
	assert_null(d->vendor);
	reg_device_free(d);

	/* When it shows up it stays blocked and gets its vendor. */
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = MAC_D, .bss = "wlan0",
			     .vendor = "Cisco Systems, Inc", .now = 8000 };
	bool created = true;
	assert_int_equal(reg_observe(f->r, &o, &created), 0);
	assert_false(created);
	d = get(f->r, MAC_D);
	assert_int_equal(d->state, REG_BLOCKED);
	assert_string_equal(d->vendor, "Cisco Systems, Inc");
	assert_int_equal(d->last_seen, 8000);
	reg_device_free(d);

	/* Blocking a known device says what it was. */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 8100, NULL), 0);
	assert_int_equal(reg_block(f->r, MAC_A, &anna, 8200), 0);
	assert_int_equal(audit_entries(f->r, &v), 2);
	assert_string_equal(v.e[0].action, "block");
	assert_string_equal(v.e[0].mac, MAC_D);
	assert_string_equal(v.e[0].detail, "not seen before");
	assert_string_equal(v.e[1].mac, MAC_A);
	assert_string_equal(v.e[1].detail, "was pending");
	assert_string_equal(v.e[1].actor, "anna");
	evs_free(&v);
}

static void forget_removes_device_keeps_audit(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Printer 2" };
	struct reg_device *d;
	struct evs v = { 0 };
	bool created = false;

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 100, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 200), 0);
	assert_int_equal(reg_forget(f->r, MAC_A, &it, 300), 0);
	assert_int_equal(reg_get(f->r, MAC_A, &d), -ENOENT);
	assert_int_equal(reg_forget(f->r, MAC_A, &it, 301), -ENOENT);

	assert_int_equal(audit_entries(f->r, &v), 2);
	assert_string_equal(v.e[0].action, "approve");
	assert_string_equal(v.e[1].action, "forget");
	assert_string_equal(v.e[1].actor, "it");
	assert_string_equal(v.e[1].detail, "was approved, label=Printer 2");
	evs_free(&v);
	/* The device's own history still has them. */
	assert_int_equal(reg_events_mac(f->r, MAC_A, 0, collect, &v), 0);
	assert_int_equal(v.n, 3);
	assert_string_equal(v.e[0].action, "connected");
	assert_string_equal(v.e[2].action, "forget");
	evs_free(&v);
	assert_int_equal(reg_events_mac(f->r, MAC_A, 1, collect, &v), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.e[0].action, "forget");
	evs_free(&v);

	/* Seen again: a new device, pending again. */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 400, &created), 0);
	assert_true(created);
	d = get(f->r, MAC_A);
	assert_int_equal(d->state, REG_PENDING);
	assert_int_equal(d->first_seen, 400);
	assert_null(d->label);
	reg_device_free(d);
}

struct walk {
	size_t n;
	char macs[8][18];
	int stop_after;
	struct reg *r;
	int nested, got, blocked;
};

static int walk_cb(const struct reg_device *d, void *ud)
{
	struct walk *w = ud;

	assert_true(w->n < ARRAY_SIZE(w->macs));
	strcpy(w->macs[w->n++], d->mac);
	if (w->r) {
		struct reg_device *g = NULL;
		w->nested = reg_list(w->r, NULL, walk_cb, w);
		w->got = reg_get(w->r, d->mac, &g);
		reg_device_free(g);
		w->blocked = reg_block(w->r, MAC_D, &it, 1);
		w->r = NULL;
	}
	return w->stop_after && (int)w->n == w->stop_after ? 42 : 0;
}

static void list_filters_by_state_in_order(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS };
	enum reg_state pending = REG_PENDING, approved = REG_APPROVED, guest = REG_GUEST;
	struct walk w = { 0 };

	/* Seen at 300, 100, 200, and two at 100: first_seen, then MAC. */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 300, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_C, "wlan0", 100, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 200, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_D, "wlan0", 100, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_B, &a, &anna, 400), 0);

	assert_int_equal(reg_list(f->r, NULL, walk_cb, &w), 0);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.macs[0], MAC_C);
	assert_string_equal(w.macs[1], MAC_D);
	assert_string_equal(w.macs[2], MAC_B);
	assert_string_equal(w.macs[3], MAC_A);

	memset(&w, 0, sizeof(w));
	assert_int_equal(reg_list(f->r, &pending, walk_cb, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.macs[0], MAC_C);
	assert_string_equal(w.macs[2], MAC_A);

	memset(&w, 0, sizeof(w));
	assert_int_equal(reg_list(f->r, &approved, walk_cb, &w), 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.macs[0], MAC_B);

	memset(&w, 0, sizeof(w));
	assert_int_equal(reg_list(f->r, &guest, walk_cb, &w), 0);
	assert_int_equal(w.n, 0);

	/* A non-zero return stops the walk and is passed back. */
	memset(&w, 0, sizeof(w));
	w.stop_after = 2;
	assert_int_equal(reg_list(f->r, NULL, walk_cb, &w), 42);
	assert_int_equal(w.n, 2);

	/* From the callback: other calls work, a nested walk is refused. */
	memset(&w, 0, sizeof(w));
	w.r = f->r;
	assert_int_equal(reg_list(f->r, NULL, walk_cb, &w), 0);
	assert_int_equal(w.nested, -EBUSY);
	assert_int_equal(w.got, 0);
	assert_int_equal(w.blocked, 0);
	struct reg_device *d = get(f->r, MAC_D);
	assert_int_equal(d->state, REG_BLOCKED);
	reg_device_free(d);

	enum reg_state bogus = (enum reg_state)17;
	assert_int_equal(reg_list(f->r, &bogus, walk_cb, &w), -EINVAL);
}

/* Pages of the same order, newest first or oldest first, filtered by state. */
static void list_page_in_order(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS };
	enum reg_state pending = REG_PENDING;
	struct walk w = { 0 };

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 300, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_C, "wlan0", 100, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 200, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_D, "wlan0", 100, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_B, &a, &anna, 400), 0);

	/* oldest first: C D B A; page 2 of 2 */
	assert_int_equal(reg_list_page(f->r, NULL, false, 2, 2, walk_cb, &w), 0);
	assert_int_equal(w.n, 2);
	assert_string_equal(w.macs[0], MAC_B);
	assert_string_equal(w.macs[1], MAC_A);
	/* newest first: A B D C; the first 3 */
	memset(&w, 0, sizeof(w));
	assert_int_equal(reg_list_page(f->r, NULL, true, 0, 3, walk_cb, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.macs[0], MAC_A);
	assert_string_equal(w.macs[1], MAC_B);
	assert_string_equal(w.macs[2], MAC_D);
	/* pending only, newest first: A D C */
	memset(&w, 0, sizeof(w));
	assert_int_equal(reg_list_page(f->r, &pending, true, 0, 10, walk_cb, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.macs[0], MAC_A);
	assert_string_equal(w.macs[2], MAC_C);
	/* past the end: nothing; limit 0 is refused */
	memset(&w, 0, sizeof(w));
	assert_int_equal(reg_list_page(f->r, NULL, false, 4, 10, walk_cb, &w), 0);
	assert_int_equal(w.n, 0);
	assert_int_equal(reg_list_page(f->r, NULL, false, 0, 0, walk_cb, &w), -EINVAL);
}

static void count_by_state(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS };
	unsigned c[REG_STATE_COUNT] = { 9, 9, 9, 9 };
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = MAC_C, .bss = "wlan1",
			     .initial = REG_GUEST, .now = 1 };

	assert_int_equal(reg_count(f->r, c), 0);
	assert_int_equal(c[REG_PENDING] + c[REG_APPROVED] + c[REG_BLOCKED] + c[REG_GUEST], 0);

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 1, NULL), 0);
	assert_int_equal(reg_observe(f->r, &o, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_B, &a, &anna, 2), 0);
	assert_int_equal(reg_block(f->r, MAC_D, &anna, 3), 0);
	assert_int_equal(reg_count(f->r, c), 0);
	assert_int_equal(c[REG_PENDING], 1);
	assert_int_equal(c[REG_APPROVED], 1);
	assert_int_equal(c[REG_BLOCKED], 1);
	assert_int_equal(c[REG_GUEST], 1);
}

static void resync_marks_missing_disconnected(void **state)
{
	struct fx *f = *state;
	const char *present[] = { MAC_B };
	struct reg_device *d;
	struct evs v = { 0 };
	int64_t last;

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 1, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_C, "wlan0", 1, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_D, "wlan1", 1, NULL), 0);
	last = reg_last_event_id(f->r);

	assert_int_equal(reg_resync_bss(f->r, "wlan0", present, 1, 50), 2);
	d = get(f->r, MAC_A);
	assert_false(d->connected);
	reg_device_free(d);
	d = get(f->r, MAC_C);
	assert_false(d->connected);
	reg_device_free(d);
	d = get(f->r, MAC_B);
	assert_true(d->connected);
	reg_device_free(d);
	d = get(f->r, MAC_D); /* another BSS: untouched */
	assert_true(d->connected);
	reg_device_free(d);

	assert_int_equal(reg_events(f->r, last, 0, collect, &v), 0);
	assert_int_equal(v.n, 2);
	for (size_t i = 0; i < v.n; i++) {
		assert_string_equal(v.e[i].action, "disconnected");
		assert_string_equal(v.e[i].detail, "resync");
		assert_string_equal(v.e[i].bss, "wlan0");
		assert_int_equal(v.e[i].ts, 50);
		assert_true(strcmp(v.e[i].mac, MAC_A) == 0 || strcmp(v.e[i].mac, MAC_C) == 0);
	}
	evs_free(&v);

	/* Nothing left to change; an empty station list clears the rest. */
	assert_int_equal(reg_resync_bss(f->r, "wlan0", present, 1, 60), 0);
	assert_int_equal(reg_resync_bss(f->r, "wlan0", NULL, 0, 70), 1);
	assert_int_equal(reg_resync_bss(f->r, "wlan9", NULL, 0, 70), 0);
	assert_int_equal(reg_resync_bss(f->r, NULL, NULL, 0, 70), -EINVAL);
}

static void data_survives_restart(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Claims PC",
				  .type = REG_TYPE_PC };
	struct reg_device *d;
	struct evs v = { 0 };
	int64_t last;

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 100, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 200), 0);
	assert_int_equal(reg_block(f->r, MAC_B, &it, 300), 0);
	last = reg_last_event_id(f->r);
	reopen(f);

	d = get(f->r, MAC_A);
	assert_int_equal(d->state, REG_APPROVED);
	assert_string_equal(d->label, "Claims PC");
	assert_int_equal(d->type, REG_TYPE_PC);
	assert_int_equal(d->first_seen, 100);
	assert_string_equal(d->decided_by, "anna");
	reg_device_free(d);
	d = get(f->r, MAC_B);
	assert_int_equal(d->state, REG_BLOCKED);
	reg_device_free(d);
	assert_int_equal(reg_last_event_id(f->r), last);
	assert_int_equal(audit_entries(f->r, &v), 2);
	evs_free(&v);
	/* New events continue the sequence. */
	assert_int_equal(observe(f->r, REG_OBS_DISCONNECTED, MAC_A, "wlan0", 400, NULL), 0);
	assert_true(reg_last_event_id(f->r) > last);
}

static void hostile_strings_round_trip(void **state)
{
	struct fx *f = *state;
	static const char *const nasty[] = {
		"Robert'); DROP TABLE devices;--",
		"\"double\" 'single' `back`",
		"<script>alert(1)</script>&amp;",
		"$(reboot); `id` | rm -rf / && echo > /etc/passwd",
		"\xff\xfe\xc0\x80 not utf-8 \xed\xa0\x80",
		"line\nbreak\r\ttab %s %n %x",
		"",
	};
	char *big = malloc(10 * 1024 + 1);
	struct reg_device *d;
	struct evs v = { 0 };

	assert_non_null(big);
	for (size_t i = 0; i < 10 * 1024; i++)
		big[i] = (char)(' ' + i % 95);
	big[10 * 1024] = '\0';

	for (size_t i = 0; i < ARRAY_SIZE(nasty) + 1; i++) {
		const char *s = i < ARRAY_SIZE(nasty) ? nasty[i] : big;
		char mac[18];
		snprintf(mac, sizeof(mac), "00:22:72:00:01:%02zx", i);
		struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = mac, .bss = s,
				     .vendor = s, .keyid = s, .now = 10 };
		struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = s, .owner = s };
		struct reg_actor who = { .who = s, .via = s };

		assert_int_equal(reg_observe(f->r, &o, NULL), 0);
		assert_int_equal(reg_approve(f->r, mac, &a, &who, 20), 0);
		d = get(f->r, mac);
		assert_string_equal(d->label, s);
		assert_string_equal(d->owner, s);
		assert_string_equal(d->vendor, s);
		assert_string_equal(d->bss, s);
		assert_string_equal(d->decided_by, s);
		assert_string_equal(d->decided_via, s);
		reg_device_free(d);

		assert_int_equal(reg_events_mac(f->r, mac, 0, collect, &v), 0);
		assert_int_equal(v.n, 2);
		assert_string_equal(v.e[0].bss, s);
		assert_true(strlen(v.e[0].detail) == strlen("keyid=") + strlen(s));
		assert_string_equal(v.e[0].detail + strlen("keyid="), s);
		assert_string_equal(v.e[1].actor, s);
		assert_string_equal(v.e[1].via, s);
		assert_true(strstr(v.e[1].detail, s) != NULL);
		evs_free(&v);
	}
	/* The tables are all still there. */
	unsigned c[REG_STATE_COUNT];
	assert_int_equal(reg_count(f->r, c), 0);
	assert_int_equal(c[REG_APPROVED], ARRAY_SIZE(nasty) + 1);
	free(big);

	/* Beyond REG_STR_MAX is refused, not truncated. */
	char *huge = malloc(REG_STR_MAX + 2);
	assert_non_null(huge);
	memset(huge, 'x', REG_STR_MAX + 1);
	huge[REG_STR_MAX + 1] = '\0';
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = huge };
	assert_int_equal(reg_approve(f->r, "00:22:72:00:01:00", &a, &anna, 30), -EINVAL);
	huge[REG_STR_MAX] = '\0';
	assert_int_equal(reg_approve(f->r, "00:22:72:00:01:00", &a, &anna, 30), 0);
	d = get(f->r, "00:22:72:00:01:00");
	assert_int_equal(strlen(d->label), REG_STR_MAX);
	reg_device_free(d);
	free(huge);
}

/* An admin reserves a fixed address: stored durably, audited, at most one
 * device per address, cleared again on request. */
static void reserve_ip(void **state)
{
	struct fx *f = *state;
	const struct reg_actor who = { "anna", "cli" };
	struct reg_device *d = NULL;
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .bss = "wlan0", .initial = REG_PENDING, .now = 10 };

	o.mac = "02:00:00:00:00:01";
	assert_int_equal(reg_observe(f->r, &o, NULL), 0);
	o.mac = "02:00:00:00:00:02";
	assert_int_equal(reg_observe(f->r, &o, NULL), 0);

	assert_int_equal(reg_reserve(f->r, "02:00:00:00:00:09", "10.77.0.50", &who, 20), -ENOENT);
	assert_int_equal(reg_reserve(f->r, "02:00:00:00:00:01", "10.77.0.500", &who, 20), -EINVAL);
	assert_int_equal(reg_reserve(f->r, "02:00:00:00:00:01", "10.77.0.50", &who, 20), 0);
	assert_int_equal(reg_reserve(f->r, "02:00:00:00:00:02", "10.77.0.50", &who, 21), -EEXIST);
	/* the same device may re-reserve its own address */
	assert_int_equal(reg_reserve(f->r, "02:00:00:00:00:01", "10.77.0.50", &who, 22), 0);

	reopen(f);
	assert_int_equal(reg_get(f->r, "02:00:00:00:00:01", &d), 0);
	assert_string_equal(d->reserved_ip, "10.77.0.50");
	reg_device_free(d);

	struct evs v = { 0 };
	assert_int_equal(audit_entries(f->r, &v), 2);
	assert_string_equal(v.e[0].action, "reserve");
	assert_string_equal(v.e[0].detail, "ip=10.77.0.50");
	assert_string_equal(v.e[0].actor, "anna");
	evs_free(&v);

	assert_int_equal(reg_reserve(f->r, "02:00:00:00:00:01", NULL, &who, 30), 0);
	assert_int_equal(reg_get(f->r, "02:00:00:00:00:01", &d), 0);
	assert_null(d->reserved_ip);
	reg_device_free(d);
	/* now free for the other device */
	assert_int_equal(reg_reserve(f->r, "02:00:00:00:00:02", "10.77.0.50", &who, 31), 0);
}

static void newer_schema_is_refused(void **state)
{
	struct fx *f = *state;
	struct reg *r = (struct reg *)0x1;
	char junk[128];

	reg_close(f->r);
	f->r = NULL;
	snprintf(junk, sizeof(junk), "PRAGMA user_version = %d", REG_SCHEMA_VERSION + 1);
	assert_int_equal(raw_exec(f->path, junk), SQLITE_OK);
	assert_int_equal(reg_open(f->path, &r), -EPROTO);
	assert_ptr_equal(r, (struct reg *)0x1);
	/* Left alone: still the newer version, data intact. */
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), REG_SCHEMA_VERSION + 1);
	snprintf(junk, sizeof(junk), "PRAGMA user_version = %d", REG_SCHEMA_VERSION);
	assert_int_equal(raw_exec(f->path, junk), SQLITE_OK);
	assert_int_equal(reg_open(f->path, &f->r), 0);

	/* Not a database at all. */
	snprintf(junk, sizeof(junk), "%s/junk.db", f->dir);
	FILE *fp = fopen(junk, "w");
	assert_non_null(fp);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database, just text\n", fp);
	fclose(fp);
	assert_int_equal(reg_open(junk, &r), -EIO);
	unlink(junk);

	/* A file the OS lets us read but not write (root ignores chmod, so the
	 * VFS plays the OS here). */
	shim.readonly = true;
	assert_int_equal(reg_open(f->path, &r), -EROFS);
	shim.readonly = false;
	assert_ptr_equal(r, (struct reg *)0x1);

	/* A directory that does not exist. */
	snprintf(junk, sizeof(junk), "%s/no/such/dir.db", f->dir);
	assert_int_equal(reg_open(junk, &r), -EIO);
	assert_int_equal(reg_open(NULL, &r), -EINVAL);
	assert_ptr_equal(r, (struct reg *)0x1);
}

static void events_since_and_limit(void **state)
{
	struct fx *f = *state;
	struct evs v = { 0 };
	int64_t ids[10];

	assert_int_equal(reg_last_event_id(f->r), 0);
	assert_int_equal(reg_events(f->r, 0, 0, collect, &v), 0);
	assert_int_equal(v.n, 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(observe(f->r, i % 2 ? REG_OBS_DISCONNECTED : REG_OBS_CONNECTED,
					 MAC_A, "wlan0", 100 + i, NULL), 0);
		ids[i] = reg_last_event_id(f->r);
		assert_true(i == 0 || ids[i] > ids[i - 1]);
	}
	/* The newest 3, oldest first. */
	assert_int_equal(reg_events(f->r, 0, 3, collect, &v), 0);
	assert_int_equal(v.n, 3);
	assert_int_equal(v.e[0].id, ids[7]);
	assert_int_equal(v.e[2].id, ids[9]);
	assert_int_equal(v.e[0].ts, 107);
	evs_free(&v);
	/* Everything after the 5th. */
	assert_int_equal(reg_events(f->r, ids[4], 0, collect, &v), 0);
	assert_int_equal(v.n, 5);
	assert_int_equal(v.e[0].id, ids[5]);
	assert_int_equal(v.e[4].id, ids[9]);
	evs_free(&v);
	/* After the 5th but at most 2: the newest 2. */
	assert_int_equal(reg_events(f->r, ids[4], 2, collect, &v), 0);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.e[0].id, ids[8]);
	evs_free(&v);
	/* Nothing newer than the newest. */
	assert_int_equal(reg_events(f->r, ids[9], 0, collect, &v), 0);
	assert_int_equal(v.n, 0);

	/* Ids never come back, even when the newest rows are gone (here an
	 * administrator cleared the connection log by hand). */
	reg_close(f->r);
	f->r = NULL;
	assert_int_equal(raw_exec(f->path, "DELETE FROM events WHERE kind = 'conn'"), SQLITE_OK);
	assert_int_equal(reg_open(f->path, &f->r), 0);
	assert_int_equal(reg_last_event_id(f->r), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 200, NULL), 0);
	assert_true(reg_last_event_id(f->r) > ids[9]);
}

static void connection_events_are_pruned_audit_kept(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS };
	struct evs v = { 0 };
	size_t conn = 0, audit = 0;

	assert_int_equal(reg_set_conn_keep(f->r, 0), -EINVAL);
	assert_int_equal(reg_set_conn_keep(f->r, 20), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 2), 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(observe(f->r, i % 2 ? REG_OBS_CONNECTED : REG_OBS_DISCONNECTED,
					 MAC_A, "wlan0", 10 + i, NULL), 0);
	assert_int_equal(reg_events(f->r, 0, 0, collect, &v), 0);
	for (size_t i = 0; i < v.n; i++) {
		if (strcmp(v.e[i].kind, "audit") == 0)
			audit++;
		else
			conn++;
		assert_true(i == 0 || v.e[i].id > v.e[i - 1].id);
	}
	assert_int_equal(audit, 1);
	assert_true(conn >= 18 && conn <= 22);
	/* The newest are the ones kept. */
	assert_int_equal(v.e[v.n - 1].ts, 209);
	evs_free(&v);
}

static void decisions_are_synced_observations_are_not(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS };

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1, NULL), 0);
	shim.syncs = 0;
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 2, NULL), 0);
	assert_int_equal(shim.syncs, 0);

	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 3), 0);
	assert_true(shim.syncs >= 1);
	shim.syncs = 0;
	assert_int_equal(reg_block(f->r, MAC_A, &anna, 4), 0);
	assert_true(shim.syncs >= 1);
	shim.syncs = 0;
	assert_int_equal(reg_forget(f->r, MAC_A, &anna, 5), 0);
	assert_true(shim.syncs >= 1);

	/* Back to unsynced observations afterwards, also after a failed one. */
	assert_int_equal(reg_approve(f->r, MAC_B, &a, &anna, 6), -ENOENT);
	shim.syncs = 0;
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 7, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_DISCONNECTED, MAC_A, "wlan0", 8, NULL), 0);
	assert_int_equal(shim.syncs, 0);
}

static void disk_full_and_io_errors_surface(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS, .label = "Till 1" };
	struct reg_device *d;
	struct evs v = { 0 };

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1, NULL), 0);
	int64_t last = reg_last_event_id(f->r);

	shim.write_error = SQLITE_FULL;
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 2, NULL), -ENOSPC);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 3), -ENOSPC);
	assert_int_equal(reg_block(f->r, MAC_C, &anna, 3), -ENOSPC);
	shim.write_error = SQLITE_IOERR_WRITE;
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 2, NULL), -EIO);
	assert_int_equal(reg_forget(f->r, MAC_A, &anna, 3), -EIO);
	/* Reads still work while writes fail. */
	d = get(f->r, MAC_A);
	assert_int_equal(d->state, REG_PENDING);
	reg_device_free(d);

	/* Space again: nothing half-written, and the handle carries on. */
	shim.write_error = 0;
	assert_int_equal(reg_get(f->r, MAC_B, &d), -ENOENT);
	assert_int_equal(reg_get(f->r, MAC_C, &d), -ENOENT);
	assert_int_equal(reg_last_event_id(f->r), last);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 4), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 5, NULL), 0);
	reopen(f);
	d = get(f->r, MAC_A);
	assert_int_equal(d->state, REG_APPROVED);
	reg_device_free(d);
	assert_int_equal(audit_entries(f->r, &v), 1);
	evs_free(&v);
}

static void locked_database_is_ebusy_not_a_hang(void **state)
{
	struct fx *f = *state;
	struct reg_approval a = { .cls = REG_CLASS_BUSINESS };
	struct reg_device *d;
	sqlite3 *other = NULL;
	long long t0, ms;

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1, NULL), 0);
	/* Another process (say, the sqlite3 shell) holds the write lock. */
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	t0 = util_mono_ms();
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 2, NULL), -EBUSY);
	ms = util_mono_ms() - t0;
	assert_true(ms >= 100 && ms < 1000);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 3), -EBUSY);
	assert_int_equal(reg_resync_bss(f->r, "wlan0", NULL, 0, 3), -EBUSY);
	/* Readers are not blocked by a writer (WAL). */
	d = get(f->r, MAC_A);
	assert_int_equal(d->last_seen, 1);
	reg_device_free(d);

	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 4, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_A, &a, &anna, 5), 0);
	/* And the failed decision did not leave synchronous=FULL behind. */
	shim.syncs = 0;
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 6, NULL), 0);
	assert_int_equal(shim.syncs, 0);
}

static void bad_arguments_are_einval(void **state)
{
	struct fx *f = *state;
	struct reg_obs o = { .kind = REG_OBS_CONNECTED, .mac = MAC_A, .bss = "wlan0", .now = 1 };
	struct reg_device *d = NULL;

	assert_int_equal(reg_observe(NULL, &o, NULL), -EINVAL);
	assert_int_equal(reg_observe(f->r, NULL, NULL), -EINVAL);
	o.mac = "00-22-72-00-00-0a"; /* not canonical */
	assert_int_equal(reg_observe(f->r, &o, NULL), -EINVAL);
	o.mac = NULL;
	assert_int_equal(reg_observe(f->r, &o, NULL), -EINVAL);
	o.mac = MAC_A;
	o.vlan = 4096;
	assert_int_equal(reg_observe(f->r, &o, NULL), -EINVAL);
	o.vlan = 0;
	o.kind = (enum reg_obs_kind)9;
	assert_int_equal(reg_observe(f->r, &o, NULL), -EINVAL);
	o.kind = REG_OBS_CONNECTED;
	o.initial = (enum reg_state)9;
	assert_int_equal(reg_observe(f->r, &o, NULL), -EINVAL);
	assert_int_equal(reg_get(f->r, "00:22:72:00:00:0A", &d), -EINVAL);
	assert_int_equal(reg_get(f->r, MAC_A, &d), -ENOENT);
	assert_null(d);
	assert_int_equal(reg_last_event_id(f->r), 0);
}

static void names_round_trip(void **state)
{
	(void)state;
	for (int s = 0; s < REG_STATE_COUNT; s++) {
		enum reg_state out;
		assert_non_null(reg_state_name((enum reg_state)s));
		assert_int_equal(reg_state_parse(reg_state_name((enum reg_state)s), &out), 0);
		assert_int_equal(out, s);
	}
	enum reg_class c;
	assert_null(reg_class_name(REG_CLASS_NONE));
	assert_int_equal(reg_class_parse("personal", &c), 0);
	assert_int_equal(c, REG_CLASS_PERSONAL);
	assert_int_equal(reg_class_parse("Personal", &c), -EINVAL);
	enum reg_type t;
	assert_null(reg_type_name(REG_TYPE_NONE));
	assert_int_equal(reg_type_parse("signage", &t), 0);
	assert_int_equal(t, REG_TYPE_SIGNAGE);
	assert_int_equal(reg_type_parse(NULL, &t), -EINVAL);
	assert_string_equal(reg_obs_name(REG_OBS_EAP_SUCCESS), "eap_success");
	assert_null(reg_state_name((enum reg_state)REG_STATE_COUNT));
}

/* ---- DHCP leases and schema v2 ---- */

static int lease(struct reg *r, enum reg_lease_action action, const char *mac, const char *ip,
		 bool seen, int64_t now, bool *created)
{
	struct reg_lease l = { .action = action, .mac = mac, .ip = ip, .seen = seen,
			       .initial = REG_PENDING, .now = now };
	return reg_lease(r, &l, created);
}

static void lease_add_creates_device_with_fingerprint(void **state)
{
	struct fx *f = *state;
	struct reg_lease l = {
		.action = REG_LEASE_ADD, .mac = MAC_A, .ip = "10.78.0.33",
		.hostname = "guestphone", .dhcp_hostname = "staffphone",
		.vendor_class = "android-dhcp-13", .options = "1,3,6,12,15,28,42,114,252",
		.iface = "rap1", .seen = true, .initial = REG_GUEST, .now = 1000,
	};
	struct evs v = { 0 };
	struct reg_device *d;
	bool created = false;

	assert_int_equal(reg_lease(f->r, &l, &created), 0);
	assert_true(created);
	d = get(f->r, MAC_A);
	assert_int_equal(d->state, REG_GUEST);
	assert_string_equal(d->ip, "10.78.0.33");
	assert_string_equal(d->hostname, "guestphone");
	assert_string_equal(d->dhcp_hostname, "staffphone");
	assert_string_equal(d->dhcp_vendor_class, "android-dhcp-13");
	assert_string_equal(d->dhcp_options, "1,3,6,12,15,28,42,114,252");
	assert_false(d->connected); /* DHCP is not association */
	assert_null(d->bss);
	assert_int_equal(d->first_seen, 1000);
	assert_int_equal(d->last_seen, 1000);
	reg_device_free(d);

	assert_int_equal(reg_events(f->r, 0, 0, collect, &v), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.e[0].kind, "conn");
	assert_string_equal(v.e[0].action, "dhcp_add");
	assert_string_equal(v.e[0].mac, MAC_A);
	assert_null(v.e[0].bss);
	assert_string_equal(v.e[0].detail, "ip=10.78.0.33, interface=rap1");
	evs_free(&v);

	/* A known device: not created again, its state untouched. */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 1500, NULL), 0);
	l.mac = MAC_B;
	l.now = 2000;
	l.iface = NULL;
	assert_int_equal(reg_lease(f->r, &l, &created), 0);
	assert_false(created);
	d = get(f->r, MAC_B);
	assert_int_equal(d->state, REG_PENDING);
	assert_true(d->connected);
	assert_string_equal(d->bss, "wlan0");
	assert_string_equal(d->ip, "10.78.0.33");
	assert_int_equal(d->first_seen, 1500);
	assert_int_equal(d->last_seen, 2000);
	reg_device_free(d);
	assert_int_equal(reg_events_mac(f->r, MAC_B, 0, collect, &v), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.e[1].action, "dhcp_add");
	assert_string_equal(v.e[1].detail, "ip=10.78.0.33");
	evs_free(&v);
}

static void lease_old_without_data_keeps_fingerprint(void **state)
{
	struct fx *f = *state;
	struct reg_lease l = {
		.action = REG_LEASE_ADD, .mac = MAC_A, .ip = "10.78.0.33",
		.hostname = "till", .dhcp_hostname = "till", .vendor_class = "MSFT 5.0",
		.options = "1,3,6,15", .seen = true, .now = 1000,
	};
	struct reg_device *d;
	bool created = true;

	assert_int_equal(reg_lease(f->r, &l, NULL), 0);
	/* dnsmasq restarted: "old" with DNSMASQ_DATA_MISSING, no fingerprint. */
	l = (struct reg_lease){ .action = REG_LEASE_OLD, .mac = MAC_A, .ip = "10.78.0.33",
				.iface = "rap0", .seen = false, .now = 5000 };
	assert_int_equal(reg_lease(f->r, &l, &created), 0);
	assert_false(created);
	d = get(f->r, MAC_A);
	assert_string_equal(d->ip, "10.78.0.33");
	assert_string_equal(d->hostname, "till");
	assert_string_equal(d->dhcp_hostname, "till");
	assert_string_equal(d->dhcp_vendor_class, "MSFT 5.0");
	assert_string_equal(d->dhcp_options, "1,3,6,15");
	assert_int_equal(d->last_seen, 1000); /* not a sighting */
	reg_device_free(d);

	/* A renewal (script-on-renewal) carries the data and is a sighting. */
	l.seen = true;
	l.now = 6000;
	l.vendor_class = "MSFT 5.0 updated";
	assert_int_equal(reg_lease(f->r, &l, NULL), 0);
	d = get(f->r, MAC_A);
	assert_string_equal(d->dhcp_vendor_class, "MSFT 5.0 updated");
	assert_string_equal(d->dhcp_options, "1,3,6,15");
	assert_int_equal(d->last_seen, 6000);
	reg_device_free(d);
}

static void lease_del_clears_only_the_current_ip(void **state)
{
	struct fx *f = *state;
	struct reg_device *d;
	struct evs v = { 0 };
	bool created = true;

	/* Moved to another reserved address: dnsmasq may report the new
	 * lease before the old one is deleted. */
	assert_int_equal(lease(f->r, REG_LEASE_ADD, MAC_A, "10.78.0.33", true, 1000, NULL), 0);
	assert_int_equal(lease(f->r, REG_LEASE_ADD, MAC_A, "10.78.0.44", true, 2000, NULL), 0);
	assert_int_equal(lease(f->r, REG_LEASE_DEL, MAC_A, "10.78.0.33", false, 3000, NULL), 0);
	d = get(f->r, MAC_A);
	assert_string_equal(d->ip, "10.78.0.44");
	assert_int_equal(d->last_seen, 2000);
	reg_device_free(d);
	assert_int_equal(lease(f->r, REG_LEASE_DEL, MAC_A, "10.78.0.44", false, 4000, NULL), 0);
	d = get(f->r, MAC_A);
	assert_null(d->ip);
	assert_int_equal(d->last_seen, 2000);
	reg_device_free(d);

	/* A release of an unknown device writes the event only. */
	assert_int_equal(lease(f->r, REG_LEASE_DEL, MAC_B, "10.78.0.55", true, 5000, &created), 0);
	assert_false(created);
	struct reg_device *none = NULL;
	assert_int_equal(reg_get(f->r, MAC_B, &none), -ENOENT);
	assert_int_equal(reg_events(f->r, 0, 0, collect, &v), 0);
	assert_int_equal(v.n, 5);
	assert_string_equal(v.e[2].action, "dhcp_del");
	assert_string_equal(v.e[4].action, "dhcp_del");
	assert_string_equal(v.e[4].mac, MAC_B);
	assert_string_equal(v.e[4].detail, "ip=10.78.0.55");
	evs_free(&v);
}

static void lease_hostile_values_are_data(void **state)
{
	struct fx *f = *state;
	static const char hostile[] = "<img src=x onerror=alert(1)>\"; rm -rf / #\xff'); DROP TABLE devices;--";
	struct reg_lease l = { .action = REG_LEASE_ADD, .mac = MAC_A, .ip = "10.0.0.2",
			       .hostname = hostile, .dhcp_hostname = hostile,
			       .vendor_class = hostile, .options = hostile, .iface = hostile,
			       .seen = true, .now = 1 };
	struct reg_device *d;
	struct evs v = { 0 };

	assert_int_equal(reg_lease(f->r, &l, NULL), 0);
	d = get(f->r, MAC_A);
	assert_string_equal(d->hostname, hostile);
	assert_string_equal(d->dhcp_hostname, hostile);
	assert_string_equal(d->dhcp_vendor_class, hostile);
	assert_string_equal(d->dhcp_options, hostile);
	reg_device_free(d);
	assert_int_equal(reg_events(f->r, 0, 0, collect, &v), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.e[0].detail + strlen("ip=10.0.0.2, interface="), hostile);
	evs_free(&v);
}

static void lease_bad_arguments_are_einval(void **state)
{
	struct fx *f = *state;
	struct reg_lease l = { .action = REG_LEASE_ADD, .mac = MAC_A, .ip = "10.0.0.2", .now = 1 };
	bool created = true;

	assert_int_equal(reg_lease(NULL, &l, NULL), -EINVAL);
	assert_int_equal(reg_lease(f->r, NULL, &created), -EINVAL);
	assert_false(created);
	l.mac = "00:22:72:00:00:0A";
	assert_int_equal(reg_lease(f->r, &l, NULL), -EINVAL);
	l.mac = MAC_A;
	static const char *const bad_ips[] = { NULL, "", "10.0.0.256", "10.0.0.2 ", "host", "10.0.0.2; id" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_ips); i++) {
		l.ip = bad_ips[i];
		assert_int_equal(reg_lease(f->r, &l, NULL), -EINVAL);
	}
	l.ip = "fd00::5"; /* DHCPv6 leases have IPv6 addresses */
	assert_int_equal(reg_lease(f->r, &l, NULL), 0);
	l.action = (enum reg_lease_action)3;
	assert_int_equal(reg_lease(f->r, &l, NULL), -EINVAL);
	l.action = REG_LEASE_OLD;
	l.initial = (enum reg_state)REG_STATE_COUNT;
	assert_int_equal(reg_lease(f->r, &l, NULL), -EINVAL);
	assert_string_equal(reg_lease_name(REG_LEASE_OLD), "dhcp_old");
	assert_null(reg_lease_name((enum reg_lease_action)3));
	assert_int_equal(reg_last_event_id(f->r), 1);
}

/* `sqlite3 .dump` of a registry written by the v1 code (commit 02ee42e:
 * reg_observe x3, reg_approve, reg_block ahead), plus its user_version,
 * which .dump leaves out. Frozen: v1 never changes. */
static const char v1_dump[] =
	"PRAGMA foreign_keys=OFF;\n"
	"BEGIN TRANSACTION;\n"
	"CREATE TABLE device_types (\n"
	"  name TEXT PRIMARY KEY NOT NULL\n"
	") WITHOUT ROWID;\n"
	"INSERT INTO device_types VALUES('other');\n"
	"INSERT INTO device_types VALUES('payment');\n"
	"INSERT INTO device_types VALUES('pc');\n"
	"INSERT INTO device_types VALUES('phone');\n"
	"INSERT INTO device_types VALUES('pos');\n"
	"INSERT INTO device_types VALUES('printer');\n"
	"INSERT INTO device_types VALUES('signage');\n"
	"INSERT INTO device_types VALUES('tablet');\n"
	"CREATE TABLE devices (\n"
	"  mac         TEXT PRIMARY KEY NOT NULL CHECK (mac GLOB\n"
	"    '[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:"
	"[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]'),\n"
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
	"INSERT INTO devices VALUES('00:22:72:00:00:0a','approved','business','pos','Till 1',"
	"'Anna','Acme',NULL,NULL,'wlan0',10,1,1700000000000,1700000000000,'anna','portal',"
	"1700000002000);\n"
	"INSERT INTO devices VALUES('00:22:72:00:00:0b','pending',NULL,NULL,NULL,NULL,NULL,"
	"NULL,NULL,'wlan0',0,0,1700000001000,1700000004000,NULL,NULL,0);\n"
	"INSERT INTO devices VALUES('00:22:72:00:00:0c','blocked',NULL,NULL,NULL,NULL,NULL,"
	"NULL,NULL,NULL,0,0,1700000003000,0,'it','cli',1700000003000);\n"
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
	"INSERT INTO events VALUES(1,1700000000000,'conn','connected','00:22:72:00:00:0a',"
	"'wlan0',NULL,NULL,'vlan=10, keyid=staff');\n"
	"INSERT INTO events VALUES(2,1700000001000,'conn','connected','00:22:72:00:00:0b',"
	"'wlan0',NULL,NULL,NULL);\n"
	"INSERT INTO events VALUES(3,1700000002000,'audit','approve','00:22:72:00:00:0a',NULL,"
	"'anna','portal','as business, label=Till 1, owner=Anna, type=pos');\n"
	"INSERT INTO events VALUES(4,1700000003000,'audit','block','00:22:72:00:00:0c',NULL,"
	"'it','cli','not seen before');\n"
	"INSERT INTO events VALUES(5,1700000004000,'conn','disconnected','00:22:72:00:00:0b',"
	"'wlan0',NULL,NULL,NULL);\n"
	"DELETE FROM sqlite_sequence;\n"
	"INSERT INTO sqlite_sequence VALUES('events',5);\n"
	"CREATE INDEX devices_by_first_seen ON devices(first_seen, mac);\n"
	"CREATE INDEX events_audit ON events(id) WHERE kind = 'audit';\n"
	"CREATE TRIGGER events_audit_no_delete BEFORE DELETE ON events\n"
	"  WHEN old.kind = 'audit'\n"
	"  BEGIN SELECT RAISE(ABORT, 'audit entries are kept'); END;\n"
	"CREATE TRIGGER events_audit_no_update BEFORE UPDATE ON events\n"
	"  WHEN old.kind = 'audit'\n"
	"  BEGIN SELECT RAISE(ABORT, 'audit entries are kept'); END;\n"
	"CREATE VIEW audit AS\n"
	"  SELECT id, ts, action, mac, actor, via, detail FROM events\n"
	"  WHERE kind = 'audit';\n"
	"COMMIT;\n"
	"PRAGMA user_version = 1;\n";

static void v1_file_migrates_to_v2_keeping_everything(void **state)
{
	struct fx *f = *state;
	char path[128];
	struct reg *r = NULL;
	struct reg_device *d;
	struct evs all = { 0 }, audit = { 0 };
	unsigned c[REG_STATE_COUNT];

	snprintf(path, sizeof(path), "%s/v1.db", f->dir);
	assert_int_equal(raw_exec(path, v1_dump), SQLITE_OK);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 1);

	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(reg_schema_version(r), REG_SCHEMA_VERSION);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), REG_SCHEMA_VERSION);

	assert_int_equal(reg_count(r, c), 0);
	assert_int_equal(c[REG_APPROVED], 1);
	assert_int_equal(c[REG_PENDING], 1);
	assert_int_equal(c[REG_BLOCKED], 1);
	assert_int_equal(reg_get(r, MAC_A, &d), 0);
	assert_int_equal(d->state, REG_APPROVED);
	assert_int_equal(d->cls, REG_CLASS_BUSINESS);
	assert_int_equal(d->type, REG_TYPE_POS);
	assert_string_equal(d->label, "Till 1");
	assert_string_equal(d->owner, "Anna");
	assert_string_equal(d->vendor, "Acme");
	assert_string_equal(d->bss, "wlan0");
	assert_int_equal(d->vlan, 10);
	assert_true(d->connected);
	assert_int_equal(d->first_seen, 1700000000000);
	assert_string_equal(d->decided_by, "anna");
	assert_int_equal(d->decided_at, 1700000002000);
	assert_null(d->dhcp_vendor_class);
	assert_null(d->dhcp_options);
	assert_null(d->dhcp_hostname);
	reg_device_free(d);
	assert_int_equal(reg_get(r, MAC_C, &d), 0);
	assert_int_equal(d->state, REG_BLOCKED);
	assert_int_equal(d->last_seen, 0);
	reg_device_free(d);

	assert_int_equal(reg_events(r, 0, 0, collect, &all), 0);
	assert_int_equal(all.n, 5);
	assert_string_equal(all.e[0].detail, "vlan=10, keyid=staff");
	assert_string_equal(all.e[4].action, "disconnected");
	evs_free(&all);
	assert_int_equal(audit_entries(r, &audit), 2);
	assert_string_equal(audit.e[0].action, "approve");
	assert_string_equal(audit.e[0].detail, "as business, label=Till 1, owner=Anna, type=pos");
	assert_string_equal(audit.e[1].action, "block");
	assert_string_equal(audit.e[1].actor, "it");
	evs_free(&audit);

	/* The migrated file takes leases; event ids go on from 5; the audit
	 * triggers still hold. */
	assert_int_equal(lease(r, REG_LEASE_ADD, MAC_B, "10.77.0.9", true, 1700000005000, NULL), 0);
	assert_int_equal(reg_last_event_id(r), 6);
	assert_int_equal(reg_get(r, MAC_B, &d), 0);
	assert_string_equal(d->ip, "10.77.0.9");
	reg_device_free(d);
	assert_int_not_equal(raw_exec(path, "DELETE FROM events WHERE kind = 'audit'"), SQLITE_OK);
	reg_close(r);

	/* Opening again does not migrate again. */
	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(reg_schema_version(r), REG_SCHEMA_VERSION);
	reg_close(r);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
}


/* ---- v4: hold, keys, readdress, ports, alerts ---- */



struct alerts {
	size_t n;
	char kind[8][32], mac[8][18], msg[8][256];
	int64_t id[8], acked[8];
};

static int alert_cb(const struct reg_alert *a, void *ud)
{
	struct alerts *v = ud;

	assert_true(v->n < 8);
	snprintf(v->kind[v->n], sizeof(v->kind[0]), "%s", a->kind);
	snprintf(v->mac[v->n], sizeof(v->mac[0]), "%s", a->mac ? a->mac : "");
	snprintf(v->msg[v->n], sizeof(v->msg[0]), "%s", a->message);
	v->id[v->n] = a->id;
	v->acked[v->n] = a->acked_at;
	v->n++;
	return 0;
}

static void hold_alerts_and_decisions_clear_it(void **state)
{
	struct fx *f = *state;
	struct reg_approval biz = { .cls = REG_CLASS_BUSINESS, .label = "Till 1" };
	struct alerts al = { 0 };
	struct evs audit = { 0 };
	struct reg_device *d;

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1000, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_A, &biz, &anna, 2000), 0);
	assert_int_equal(reg_hold(f->r, MAC_A, "3 fixes in 600 s", 3000), 0);
	d = get(f->r, MAC_A);
	assert_int_equal(d->held_at, 3000);
	assert_int_equal(d->state, REG_APPROVED); /* the decision stays; policy holds it */
	reg_device_free(d);
	assert_int_equal(reg_alerts(f->r, false, 0, alert_cb, &al), 0);
	assert_int_equal(al.n, 1);
	assert_string_equal(al.kind[0], "repair_loop");
	assert_string_equal(al.mac[0], MAC_A);
	assert_non_null(strstr(al.msg[0], "Till 1"));
	assert_non_null(strstr(al.msg[0], "3 fixes in 600 s"));
	assert_int_equal(audit_entries(f->r, &audit), 2);
	assert_string_equal(audit.e[1].action, "hold");
	assert_string_equal(audit.e[1].actor, "apgated");
	assert_string_equal(audit.e[1].via, "repair");
	evs_free(&audit);

	/* release: audited; twice is -EALREADY */
	assert_int_equal(reg_release(f->r, MAC_A, &anna, 4000), 0);
	assert_int_equal(reg_release(f->r, MAC_A, &anna, 4001), -EALREADY);
	d = get(f->r, MAC_A);
	assert_int_equal(d->held_at, 0);
	reg_device_free(d);
	/* a decision clears a hold too */
	assert_int_equal(reg_hold(f->r, MAC_A, "again", 5000), 0);
	assert_int_equal(reg_block(f->r, MAC_A, &anna, 6000), 0);
	d = get(f->r, MAC_A);
	assert_int_equal(d->held_at, 0);
	reg_device_free(d);
	assert_int_equal(reg_hold(f->r, MAC_B, "x", 1), -ENOENT);

	/* acknowledging */
	al.n = 0;
	assert_int_equal(reg_alerts(f->r, false, 0, alert_cb, &al), 0);
	assert_int_equal(al.n, 2);
	assert_int_equal(reg_alert_ack(f->r, al.id[0], &anna, 7000), 1);
	assert_int_equal(reg_alert_ack(f->r, al.id[0], &anna, 7000), -ENOENT);
	al.n = 0;
	assert_int_equal(reg_alerts(f->r, false, 0, alert_cb, &al), 0);
	assert_int_equal(al.n, 1);
	al.n = 0;
	assert_int_equal(reg_alerts(f->r, true, 0, alert_cb, &al), 0);
	assert_int_equal(al.n, 2);
	assert_int_equal(al.acked[0], 7000);
	assert_true(reg_alert_add(f->r, "other", NULL, "no device", 8000) > 0);
	assert_int_equal(reg_alert_ack(f->r, 0, &anna, 9000), 2);
	assert_int_equal(reg_alert_add(f->r, "x", "not-a-mac", "m", 1), -EINVAL);
}

#define HEX_A "f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e"

static void keys_are_unique_revocable_and_follow_a_new_address(void **state)
{
	struct fx *f = *state;
	struct reg_approval biz = { .cls = REG_CLASS_BUSINESS, .label = "Tablet" };
	struct evs audit = { 0 };
	struct reg_device *d;
	char mac[18], kid[32];

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1000, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 1000, NULL), 0);
	assert_int_equal(reg_approve(f->r, MAC_A, &biz, &anna, 2000), 0);
	assert_int_equal(reg_set_key(f->r, MAC_A, "apg-0001", "Shop", HEX_A, &anna, 3000), 0);
	assert_int_equal(reg_set_key(f->r, MAC_B, "apg-0001", "Shop", HEX_A, &anna, 3000), -EEXIST);
	assert_int_equal(reg_set_key(f->r, MAC_B, "bad key", "Shop", HEX_A, &anna, 3000), -EINVAL);
	assert_int_equal(reg_set_key(f->r, MAC_B, "k", "Shop", "abc", &anna, 3000), -EINVAL);
	assert_int_equal(reg_key_owner(f->r, "apg-0001", mac), 0);
	assert_string_equal(mac, MAC_A);
	assert_int_equal(reg_key_owner(f->r, "apg-9999", mac), -ENOENT);
	d = get(f->r, MAC_A);
	assert_string_equal(d->psk_keyid, "apg-0001");
	assert_string_equal(d->psk_ssid, "Shop");
	assert_string_equal(d->psk_hex, HEX_A);
	reg_device_free(d);

	/* the tablet shows up with a new private address, after a DHCP stub
	 * was made for it: the record moves, the stub goes */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_C, "wlan0", 4000, NULL), 0);
	assert_int_equal(reg_readdress(f->r, MAC_A, MAC_C, "recognised by its key apg-0001", 5000), 0);
	assert_int_equal(reg_get(f->r, MAC_A, &d), -ENOENT);
	d = get(f->r, MAC_C);
	assert_int_equal(d->state, REG_APPROVED);
	assert_string_equal(d->label, "Tablet");
	assert_string_equal(d->psk_keyid, "apg-0001");
	reg_device_free(d);
	assert_int_equal(reg_key_owner(f->r, "apg-0001", mac), 0);
	assert_string_equal(mac, MAC_C);
	/* a decided record does not give way */
	assert_int_equal(reg_block(f->r, MAC_D, &anna, 5500), 0);
	assert_int_equal(reg_readdress(f->r, MAC_C, MAC_D, "x", 6000), -EEXIST);
	assert_int_equal(reg_readdress(f->r, MAC_A, MAC_B, "x", 6000), -ENOENT);

	/* revoke */
	assert_int_equal(reg_revoke_key(f->r, MAC_C, &anna, 7000, kid), 0);
	assert_string_equal(kid, "apg-0001");
	assert_int_equal(reg_revoke_key(f->r, MAC_C, &anna, 7000, NULL), -EALREADY);
	assert_int_equal(reg_key_owner(f->r, "apg-0001", mac), -ENOENT);
	assert_int_equal(audit_entries(f->r, &audit), 5);
	assert_string_equal(audit.e[1].action, "key");
	assert_string_equal(audit.e[1].detail, "keyid=apg-0001, ssid=Shop"); /* never the key */
	assert_string_equal(audit.e[2].action, "readdress");
	assert_string_equal(audit.e[2].mac, MAC_C);
	assert_string_equal(audit.e[2].detail, "was " MAC_A ", recognised by its key apg-0001");
	assert_string_equal(audit.e[4].action, "revoke");
	evs_free(&audit);
}

static void wired_port_is_recorded(void **state)
{
	struct fx *f = *state;
	struct reg_obs o = { .kind = REG_OBS_PRESENT, .mac = MAC_A, .port = "eth1", .now = 1000,
			     .initial = REG_PENDING };
	struct reg_device *d;
	bool created = false;
	struct evs all = { 0 };

	assert_int_equal(reg_observe(f->r, &o, &created), 0);
	assert_true(created);
	d = get(f->r, MAC_A);
	assert_string_equal(d->port, "eth1");
	assert_null(d->bss);
	assert_true(d->connected);
	reg_device_free(d);
	o.port = "eth2";
	o.now = 2000;
	assert_int_equal(reg_observe(f->r, &o, &created), 0);
	assert_false(created);
	d = get(f->r, MAC_A);
	assert_string_equal(d->port, "eth2");
	reg_device_free(d);
	/* a Wi-Fi observation keeps the port */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 3000, NULL), 0);
	d = get(f->r, MAC_A);
	assert_string_equal(d->port, "eth2");
	assert_string_equal(d->bss, "wlan0");
	reg_device_free(d);
	assert_int_equal(reg_events(f->r, 0, 0, collect, &all), 0);
	assert_string_equal(all.e[0].bss, "eth1");
	evs_free(&all);
}

/* ---- v5: captive claims, address lookup, portal users ---- */

/* A real crypto_pwhash_str() output shape (the registry only checks the
 * prefix and the characters; it never verifies). */
#define HASH1 "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4WqSZnZfTgDA7Mx0dh/9rN5XfXaQ7AGTjMoM7vJjbqs"
#define HASH2 "$argon2id$v=19$m=65536,t=2,p=1$b3RoZXJzYWx0b3RoZXJzYQ$Zk4V7qDMRZkxZcxWq+V8SZYKFpmCEwr7V0YJ0r7cJ5A"

static void claim_is_a_statement_not_a_decision(void **state)
{
	struct fx *f = *state;
	struct reg_claim c = { .name = "Anna's laptop", .owner = "Anna", .cls = REG_CLASS_PERSONAL };
	struct reg_device *d;
	struct evs all = { 0 };
	int64_t last;

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1000, NULL), 0);
	d = get(f->r, MAC_A);
	assert_null(d->claim_name);
	assert_null(d->claim_owner);
	assert_int_equal(d->claim_cls, REG_CLASS_NONE);
	assert_int_equal(d->claim_at, 0);
	reg_device_free(d);

	assert_int_equal(reg_claim(f->r, MAC_A, &c, 2000), 0);
	d = get(f->r, MAC_A);
	assert_string_equal(d->claim_name, "Anna's laptop");
	assert_string_equal(d->claim_owner, "Anna");
	assert_int_equal(d->claim_cls, REG_CLASS_PERSONAL);
	assert_int_equal(d->claim_at, 2000);
	/* staff decide: nothing else moved */
	assert_int_equal(d->state, REG_PENDING);
	assert_int_equal(d->cls, REG_CLASS_NONE);
	assert_null(d->label);
	assert_null(d->owner);
	assert_null(d->decided_by);
	assert_int_equal(d->last_seen, 1000);
	reg_device_free(d);
	assert_int_equal(reg_events(f->r, 0, 0, collect, &all), 0);
	assert_int_equal(all.n, 2);
	assert_string_equal(all.e[1].kind, "conn");
	assert_string_equal(all.e[1].action, "claim");
	assert_string_equal(all.e[1].mac, MAC_A);
	assert_null(all.e[1].bss);
	assert_null(all.e[1].actor);
	assert_string_equal(all.e[1].detail, "name=Anna's laptop, owner=Anna, as personal");
	assert_int_equal(all.e[1].ts, 2000);
	evs_free(&all);

	/* A new claim replaces the old one; "" is "not said". */
	c = (struct reg_claim){ .name = "", .owner = "Bob", .cls = REG_CLASS_NONE };
	assert_int_equal(reg_claim(f->r, MAC_A, &c, 3000), 0);
	d = get(f->r, MAC_A);
	assert_null(d->claim_name);
	assert_string_equal(d->claim_owner, "Bob");
	assert_int_equal(d->claim_cls, REG_CLASS_NONE);
	assert_int_equal(d->claim_at, 3000);
	reg_device_free(d);
	c = (struct reg_claim){ .cls = REG_CLASS_BUSINESS };
	assert_int_equal(reg_claim(f->r, MAC_A, &c, 4000), 0);
	c = (struct reg_claim){ 0 };
	assert_int_equal(reg_claim(f->r, MAC_A, &c, 5000), 0);
	assert_int_equal(reg_events(f->r, 0, 0, collect, &all), 0);
	assert_int_equal(all.n, 5);
	assert_string_equal(all.e[2].detail, "owner=Bob");
	assert_string_equal(all.e[3].detail, "as business");
	assert_null(all.e[4].detail);
	evs_free(&all);

	/* Unknown devices and bad arguments change nothing. */
	last = reg_last_event_id(f->r);
	c = (struct reg_claim){ .name = "x" };
	assert_int_equal(reg_claim(f->r, MAC_B, &c, 6000), -ENOENT);
	assert_int_equal(reg_get(f->r, MAC_B, &d), -ENOENT);
	assert_int_equal(reg_claim(f->r, "00:22:72:00:00:0A", &c, 6000), -EINVAL);
	assert_int_equal(reg_claim(f->r, MAC_A, NULL, 6000), -EINVAL);
	c.cls = (enum reg_class)7;
	assert_int_equal(reg_claim(f->r, MAC_A, &c, 6000), -EINVAL);
	assert_int_equal(reg_last_event_id(f->r), last);

	/* The claim survives a restart and shows in the list. */
	c = (struct reg_claim){ .name = "Kasse 2", .cls = REG_CLASS_BUSINESS };
	assert_int_equal(reg_claim(f->r, MAC_A, &c, 7000), 0);
	reopen(f);
	d = get(f->r, MAC_A);
	assert_string_equal(d->claim_name, "Kasse 2");
	assert_null(d->claim_owner);
	assert_int_equal(d->claim_cls, REG_CLASS_BUSINESS);
	assert_int_equal(d->claim_at, 7000);
	reg_device_free(d);
}

static int claim_of_list(const struct reg_device *d, void *ud)
{
	util_strlcpy(ud, d->claim_name ? d->claim_name : "(none)", 32);
	return d->claim_cls == REG_CLASS_PERSONAL && d->claim_at == 2 ? 0 : -1;
}

static void claim_shows_in_list(void **state)
{
	struct fx *f = *state;
	struct reg_claim c = { .name = "Tablet", .cls = REG_CLASS_PERSONAL };
	char name[32] = "";

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1, NULL), 0);
	assert_int_equal(reg_claim(f->r, MAC_A, &c, 2), 0);
	assert_int_equal(reg_list(f->r, NULL, claim_of_list, name), 0);
	assert_string_equal(name, "Tablet");
}

static void find_ip_last_seen_wins(void **state)
{
	struct fx *f = *state;
	char mac[18];

	assert_int_equal(reg_find_ip(f->r, "10.78.0.20", mac), -ENOENT);
	assert_int_equal(lease(f->r, REG_LEASE_ADD, MAC_A, "10.78.0.20", true, 1000, NULL), 0);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.20", mac), 0);
	assert_string_equal(mac, MAC_A);
	/* a second record carries the address (A's lease is stale) */
	assert_int_equal(lease(f->r, REG_LEASE_ADD, MAC_B, "10.78.0.20", true, 2000, NULL), 0);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.20", mac), 0);
	assert_string_equal(mac, MAC_B);
	/* A seen later: A wins */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 3000, NULL), 0);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.20", mac), 0);
	assert_string_equal(mac, MAC_A);
	/* A's lease ends: B again */
	assert_int_equal(lease(f->r, REG_LEASE_DEL, MAC_A, "10.78.0.20", false, 4000, NULL), 0);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.20", mac), 0);
	assert_string_equal(mac, MAC_B);
	assert_int_equal(lease(f->r, REG_LEASE_DEL, MAC_B, "10.78.0.20", false, 5000, NULL), 0);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.20", mac), -ENOENT);
	/* IPv6 leases too; other addresses are nobody's */
	assert_int_equal(lease(f->r, REG_LEASE_ADD, MAC_C, "fd00::20", true, 6000, NULL), 0);
	assert_int_equal(reg_find_ip(f->r, "fd00::20", mac), 0);
	assert_string_equal(mac, MAC_C);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.21", mac), -ENOENT);
	/* a reservation is not a lease */
	assert_int_equal(reg_reserve(f->r, MAC_A, "10.78.0.22", &it, 7000), 0);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.22", mac), -ENOENT);
	/* bad addresses */
	assert_int_equal(reg_find_ip(f->r, "10.78.0.256", mac), -EINVAL);
	assert_int_equal(reg_find_ip(f->r, "", mac), -EINVAL);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.20' OR 1=1 --", mac), -EINVAL);
	assert_int_equal(reg_find_ip(f->r, NULL, mac), -EINVAL);
	assert_int_equal(reg_find_ip(f->r, "10.78.0.20", NULL), -EINVAL);
	/* the lookup uses the v5 index */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
				 " AND name = 'devices_by_ip'"), 1);
}

/* Copies of the users reg_users() delivers. */
struct users {
	size_t n;
	struct {
		char name[40], hash[160];
		enum reg_role role;
		int64_t created_at, last_login;
	} u[8];
	int stop_after; /* > 0: return 42 after that many */
	struct reg *nest; /* != NULL: call reg_users() from the callback */
	int nested_ret;
};

static int user_cb(const struct reg_user *u, void *ud)
{
	struct users *v = ud;

	assert_true(v->n < ARRAY_SIZE(v->u));
	util_strlcpy(v->u[v->n].name, u->name, sizeof(v->u[0].name));
	util_strlcpy(v->u[v->n].hash, u->hash, sizeof(v->u[0].hash));
	v->u[v->n].role = u->role;
	v->u[v->n].created_at = u->created_at;
	v->u[v->n].last_login = u->last_login;
	v->n++;
	if (v->nest)
		v->nested_ret = reg_users(v->nest, user_cb, &(struct users){ 0 });
	return v->stop_after && (int)v->n == v->stop_after ? 42 : 0;
}

static void users_add_list_get_login(void **state)
{
	struct fx *f = *state;
	struct users v = { 0 };
	struct evs audit = { 0 };

	assert_int_equal(reg_users(f->r, user_cb, &v), 0);
	assert_int_equal(v.n, 0);
	assert_int_equal(reg_user_add(f->r, "it", REG_ROLE_ADMIN, HASH1, &it, 1000), 0);
	assert_int_equal(reg_user_add(f->r, "anna.k-2_", REG_ROLE_APPROVER, HASH2, &it, 2000), 0);
	assert_int_equal(reg_users(f->r, user_cb, &v), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.u[0].name, "anna.k-2_"); /* ordered by name */
	assert_int_equal(v.u[0].role, REG_ROLE_APPROVER);
	assert_string_equal(v.u[0].hash, HASH2);
	assert_int_equal(v.u[0].created_at, 2000);
	assert_int_equal(v.u[0].last_login, 0);
	assert_string_equal(v.u[1].name, "it");
	assert_int_equal(v.u[1].role, REG_ROLE_ADMIN);
	assert_string_equal(v.u[1].hash, HASH1);

	assert_int_equal(reg_user_login(f->r, "anna.k-2_", 3000), 0);
	v.n = 0;
	assert_int_equal(reg_user_get(f->r, "anna.k-2_", user_cb, &v), 0);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.u[0].last_login, 3000);
	assert_int_equal(v.u[0].created_at, 2000);
	/* names are case-sensitive; unknown and impossible names are -ENOENT */
	assert_int_equal(reg_user_get(f->r, "IT", user_cb, &v), -ENOENT);
	assert_int_equal(reg_user_get(f->r, "nobody", user_cb, &v), -ENOENT);
	assert_int_equal(reg_user_get(f->r, "no body", user_cb, &v), -ENOENT);
	assert_int_equal(reg_user_get(f->r, "", user_cb, &v), -ENOENT);
	assert_int_equal(reg_user_login(f->r, "nobody", 3000), -ENOENT);
	assert_int_equal(reg_user_login(f->r, "it' OR '1'='1", 3000), -ENOENT);
	assert_int_equal(reg_user_get(f->r, NULL, user_cb, &v), -EINVAL);
	assert_int_equal(reg_user_get(f->r, "it", NULL, &v), -EINVAL);
	assert_int_equal(v.n, 1);

	/* a callback's non-zero return stops the walk; nesting is -EBUSY */
	v = (struct users){ .stop_after = 1 };
	assert_int_equal(reg_users(f->r, user_cb, &v), 42);
	assert_int_equal(v.n, 1);
	v = (struct users){ .nest = f->r };
	assert_int_equal(reg_users(f->r, user_cb, &v), 0);
	assert_int_equal(v.nested_ret, -EBUSY);

	/* audited with mac '' and the actor; logins are not */
	assert_int_equal(audit_entries(f->r, &audit), 2);
	assert_string_equal(audit.e[0].action, "user_add");
	assert_string_equal(audit.e[0].mac, "");
	assert_string_equal(audit.e[0].actor, "it");
	assert_string_equal(audit.e[0].via, "cli");
	assert_string_equal(audit.e[0].detail, "user=it, role=admin");
	assert_int_equal(audit.e[0].ts, 1000);
	assert_string_equal(audit.e[1].detail, "user=anna.k-2_, role=approver");
	evs_free(&audit);

	/* stored in the users table, survives a restart */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM users WHERE hash LIKE '$argon2id$%'"), 2);
	reopen(f);
	v = (struct users){ 0 };
	assert_int_equal(reg_user_get(f->r, "it", user_cb, &v), 0);
	assert_string_equal(v.u[0].hash, HASH1);
}

static void users_passwd_role_del(void **state)
{
	struct fx *f = *state;
	struct users v = { 0 };
	struct evs audit = { 0 }, all = { 0 };

	assert_int_equal(reg_user_add(f->r, "it", REG_ROLE_ADMIN, HASH1, &it, 1000), 0);
	assert_int_equal(reg_user_add(f->r, "anna", REG_ROLE_APPROVER, HASH1, &it, 1000), 0);
	shim.syncs = 0;
	assert_int_equal(reg_user_set_hash(f->r, "anna", HASH2, &anna, 2000), 0);
	assert_true(shim.syncs >= 1); /* durable */
	assert_int_equal(reg_user_get(f->r, "anna", user_cb, &v), 0);
	assert_string_equal(v.u[0].hash, HASH2);
	assert_int_equal(reg_user_set_role(f->r, "anna", REG_ROLE_ADMIN, &it, 3000), 0);
	/* the same role again: nothing to do, nothing audited */
	assert_int_equal(reg_user_set_role(f->r, "anna", REG_ROLE_ADMIN, &it, 3500), 0);
	v.n = 0;
	assert_int_equal(reg_user_get(f->r, "anna", user_cb, &v), 0);
	assert_int_equal(v.u[0].role, REG_ROLE_ADMIN);
	assert_int_equal(reg_user_del(f->r, "it", &anna, 4000), 0);
	assert_int_equal(reg_user_get(f->r, "it", user_cb, &v), -ENOENT);
	/* a user may come back under the same name */
	assert_int_equal(reg_user_add(f->r, "it", REG_ROLE_APPROVER, HASH2, &anna, 5000), 0);

	assert_int_equal(audit_entries(f->r, &audit), 6);
	assert_string_equal(audit.e[2].action, "user_passwd");
	assert_string_equal(audit.e[2].detail, "user=anna");
	assert_string_equal(audit.e[2].actor, "anna");
	assert_string_equal(audit.e[2].via, "portal");
	assert_string_equal(audit.e[3].action, "user_role");
	assert_string_equal(audit.e[3].detail, "user=anna, role=admin");
	assert_string_equal(audit.e[4].action, "user_del");
	assert_string_equal(audit.e[4].detail, "user=it, role=admin");
	assert_string_equal(audit.e[4].mac, "");
	assert_int_equal(audit.e[4].ts, 4000);
	assert_string_equal(audit.e[5].action, "user_add");
	evs_free(&audit);
	/* no hash in any event */
	assert_int_equal(reg_events(f->r, 0, 0, collect, &all), 0);
	for (size_t i = 0; i < all.n; i++)
		assert_null(all.e[i].detail ? strstr(all.e[i].detail, "argon2") : NULL);
	evs_free(&all);
	/* audit entries for users are kept like the others */
	assert_int_not_equal(raw_exec(f->path, "DELETE FROM events WHERE action = 'user_del'"), SQLITE_OK);
}

static void users_bad_input_changes_nothing(void **state)
{
	struct fx *f = *state;
	char longname[34], longhash[160];
	const struct reg_actor noone = { .who = NULL, .via = "cli" };
	static const char *const bad_names[] = { "", "a b", "a/b", "anna\n", "\xc3\xa4nna", "a'b", "a:b" };
	static const char *const bad_hashes[] = {
		"", "secret", "$argon2i$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
		"$2b$12$abcdefghijklmnopqrstuu", "$argon2id$", "$argon2id$v=19 m=65536",
		"$argon2id$v=19$m=65536\n", " $argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
	};
	int64_t last;

	memset(longname, 'a', 33);
	longname[33] = '\0';
	memcpy(longhash, HASH1, strlen(HASH1));
	memset(longhash + strlen(HASH1), 'A', sizeof(longhash) - strlen(HASH1) - 1);
	longhash[sizeof(longhash) - 1] = '\0';

	assert_int_equal(reg_user_add(f->r, "it", REG_ROLE_ADMIN, HASH1, &it, 1), 0);
	last = reg_last_event_id(f->r);
	for (size_t i = 0; i < ARRAY_SIZE(bad_names); i++) {
		assert_int_equal(reg_user_add(f->r, bad_names[i], REG_ROLE_ADMIN, HASH1, &it, 2), -EINVAL);
		assert_int_equal(reg_user_set_hash(f->r, bad_names[i], HASH1, &it, 2), -EINVAL);
		assert_int_equal(reg_user_set_role(f->r, bad_names[i], REG_ROLE_ADMIN, &it, 2), -EINVAL);
		assert_int_equal(reg_user_del(f->r, bad_names[i], &it, 2), -EINVAL);
	}
	assert_int_equal(reg_user_add(f->r, longname, REG_ROLE_ADMIN, HASH1, &it, 2), -EINVAL);
	longname[32] = '\0'; /* 32 is fine */
	assert_int_equal(reg_user_add(f->r, longname, REG_ROLE_APPROVER, HASH1, &it, 2), 0);
	assert_int_equal(reg_user_del(f->r, longname, &it, 2), 0);
	last = reg_last_event_id(f->r);
	assert_int_equal(reg_user_add(f->r, NULL, REG_ROLE_ADMIN, HASH1, &it, 2), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(bad_hashes); i++) {
		assert_int_equal(reg_user_add(f->r, "anna", REG_ROLE_ADMIN, bad_hashes[i], &it, 2), -EINVAL);
		assert_int_equal(reg_user_set_hash(f->r, "it", bad_hashes[i], &it, 2), -EINVAL);
	}
	assert_int_equal(reg_user_add(f->r, "anna", REG_ROLE_ADMIN, longhash, &it, 2), -EINVAL);
	assert_int_equal(reg_user_add(f->r, "anna", REG_ROLE_ADMIN, NULL, &it, 2), -EINVAL);
	assert_int_equal(reg_user_set_hash(f->r, "it", NULL, &it, 2), -EINVAL);
	assert_int_equal(reg_user_add(f->r, "anna", (enum reg_role)2, HASH1, &it, 2), -EINVAL);
	assert_int_equal(reg_user_set_role(f->r, "it", (enum reg_role)-1, &it, 2), -EINVAL);
	assert_int_equal(reg_user_add(f->r, "anna", REG_ROLE_ADMIN, HASH1, NULL, 2), -EINVAL);
	assert_int_equal(reg_user_add(f->r, "anna", REG_ROLE_ADMIN, HASH1, &noone, 2), -EINVAL);
	assert_int_equal(reg_user_set_hash(f->r, "it", HASH2, &noone, 2), -EINVAL);
	assert_int_equal(reg_user_set_role(f->r, "it", REG_ROLE_ADMIN, NULL, 2), -EINVAL);
	assert_int_equal(reg_user_del(f->r, "it", &noone, 2), -EINVAL);
	/* duplicate: -EEXIST, the first one stays as it was */
	assert_int_equal(reg_user_add(f->r, "it", REG_ROLE_APPROVER, HASH2, &anna, 3), -EEXIST);
	/* unknown users */
	assert_int_equal(reg_user_set_hash(f->r, "anna", HASH2, &it, 3), -ENOENT);
	assert_int_equal(reg_user_set_role(f->r, "anna", REG_ROLE_ADMIN, &it, 3), -ENOENT);
	assert_int_equal(reg_user_del(f->r, "anna", &it, 3), -ENOENT);
	assert_int_equal(reg_last_event_id(f->r), last);

	struct users v = { 0 };
	assert_int_equal(reg_users(f->r, user_cb, &v), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.u[0].name, "it");
	assert_int_equal(v.u[0].role, REG_ROLE_ADMIN);
	assert_string_equal(v.u[0].hash, HASH1);
	assert_int_equal(v.u[0].created_at, 1);
	/* the schema refuses other roles even to raw SQL */
	assert_int_not_equal(raw_exec(f->path, "UPDATE users SET role = 'root'"), SQLITE_OK);
}

static void last_admin_is_kept(void **state)
{
	struct fx *f = *state;
	struct users v = { 0 };
	int64_t last;

	/* approvers alone: no admin to keep */
	assert_int_equal(reg_user_add(f->r, "anna", REG_ROLE_APPROVER, HASH1, &it, 1), 0);
	assert_int_equal(reg_user_add(f->r, "bob", REG_ROLE_APPROVER, HASH1, &it, 1), 0);
	assert_int_equal(reg_user_del(f->r, "bob", &it, 2), 0);
	assert_int_equal(reg_user_add(f->r, "it", REG_ROLE_ADMIN, HASH1, &it, 3), 0);

	last = reg_last_event_id(f->r);
	assert_int_equal(reg_user_set_role(f->r, "it", REG_ROLE_APPROVER, &it, 4), -EPERM);
	assert_int_equal(reg_user_del(f->r, "it", &it, 4), -EPERM);
	assert_int_equal(reg_last_event_id(f->r), last);
	assert_int_equal(reg_user_get(f->r, "it", user_cb, &v), 0);
	assert_int_equal(v.u[0].role, REG_ROLE_ADMIN);

	/* with a second admin, either may go */
	assert_int_equal(reg_user_set_role(f->r, "anna", REG_ROLE_ADMIN, &it, 5), 0);
	assert_int_equal(reg_user_set_role(f->r, "it", REG_ROLE_APPROVER, &it, 6), 0);
	assert_int_equal(reg_user_del(f->r, "anna", &it, 7), -EPERM); /* now the last one */
	assert_int_equal(reg_user_set_role(f->r, "anna", REG_ROLE_APPROVER, &it, 7), -EPERM);
	assert_int_equal(reg_user_del(f->r, "it", &it, 8), 0); /* an approver */
	assert_int_equal(reg_user_add(f->r, "it", REG_ROLE_ADMIN, HASH1, &it, 9), 0);
	assert_int_equal(reg_user_del(f->r, "anna", &it, 10), 0);
	v.n = 0;
	assert_int_equal(reg_users(f->r, user_cb, &v), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.u[0].name, "it");
}

static void role_names_round_trip(void **state)
{
	enum reg_role r;

	(void)state;
	assert_string_equal(reg_role_name(REG_ROLE_APPROVER), "approver");
	assert_string_equal(reg_role_name(REG_ROLE_ADMIN), "admin");
	assert_null(reg_role_name((enum reg_role)2));
	assert_int_equal(reg_role_parse("admin", &r), 0);
	assert_int_equal(r, REG_ROLE_ADMIN);
	assert_int_equal(reg_role_parse("approver", &r), 0);
	assert_int_equal(r, REG_ROLE_APPROVER);
	assert_int_equal(reg_role_parse("Admin", &r), -EINVAL);
	assert_int_equal(reg_role_parse("", &r), -EINVAL);
	assert_int_equal(reg_role_parse(NULL, &r), -EINVAL);
}

/* tests/unit/data/registry-v4.db was written by the v4 build (commit
 * 736bade) with tests/unit/data/make-registry-v4.c: three devices (an
 * approved till with a lease, fingerprint, key and reservation; a held
 * guest; a device blocked ahead), 8 events (5 audit), one open alert. */
#define V4_FIXTURE "tests/unit/data/registry-v4.db"

static void copy_file(const char *from, const char *to)
{
	char buf[8192];
	size_t n;
	FILE *in = fopen(from, "rb"), *out;

	if (!in)
		fail_msg("cannot open %s (run the test from the source tree's top directory)", from);
	out = fopen(to, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(ferror(in), 0);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static int count_alert(const struct reg_alert *a, void *ud)
{
	(void)a;
	(*(int *)ud)++;
	return 0;
}

static void v4_file_migrates_to_v5_keeping_everything(void **state)
{
	struct fx *f = *state;
	char path[128], mac[18];
	struct reg *r = NULL;
	struct reg_device *d;
	struct evs all = { 0 }, audit = { 0 };
	struct users v = { 0 };
	unsigned c[REG_STATE_COUNT];
	int alerts = 0;

	snprintf(path, sizeof(path), "%s/v4.db", f->dir);
	copy_file(V4_FIXTURE, path);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 4);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'users'"), 0);

	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(reg_schema_version(r), REG_SCHEMA_VERSION);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), REG_SCHEMA_VERSION);

	assert_int_equal(reg_count(r, c), 0);
	assert_int_equal(c[REG_APPROVED], 1);
	assert_int_equal(c[REG_GUEST], 1);
	assert_int_equal(c[REG_BLOCKED], 1);
	assert_int_equal(c[REG_PENDING], 0);
	assert_int_equal(reg_get(r, MAC_A, &d), 0);
	assert_int_equal(d->state, REG_APPROVED);
	assert_int_equal(d->cls, REG_CLASS_BUSINESS);
	assert_int_equal(d->type, REG_TYPE_POS);
	assert_string_equal(d->label, "Till 1");
	assert_string_equal(d->owner, "Anna");
	assert_string_equal(d->vendor, "Epson");
	assert_string_equal(d->hostname, "till-1");
	assert_string_equal(d->ip, "192.168.50.20");
	assert_string_equal(d->reserved_ip, "192.168.50.20");
	assert_string_equal(d->dhcp_vendor_class, "MSFT 5.0");
	assert_string_equal(d->dhcp_options, "1,3,6,15");
	assert_string_equal(d->psk_keyid, "till1");
	assert_string_equal(d->psk_ssid, "Shop");
	assert_int_equal(d->vlan, 10);
	assert_int_equal(d->first_seen, 1000);
	assert_int_equal(d->last_seen, 2000);
	assert_string_equal(d->decided_by, "it");
	assert_int_equal(d->decided_at, 3000);
	assert_null(d->claim_name);
	assert_null(d->claim_owner);
	assert_int_equal(d->claim_cls, REG_CLASS_NONE);
	assert_int_equal(d->claim_at, 0);
	reg_device_free(d);
	assert_int_equal(reg_get(r, MAC_B, &d), 0);
	assert_int_equal(d->state, REG_GUEST);
	assert_int_equal(d->held_at, 4500);
	assert_null(d->claim_name);
	assert_int_equal(d->claim_at, 0);
	reg_device_free(d);
	assert_int_equal(reg_get(r, MAC_C, &d), 0);
	assert_int_equal(d->state, REG_BLOCKED);
	assert_int_equal(d->last_seen, 0);
	reg_device_free(d);

	assert_int_equal(reg_events(r, 0, 0, collect, &all), 0);
	assert_int_equal(all.n, 8);
	assert_string_equal(all.e[0].detail, "vlan=10");
	assert_string_equal(all.e[1].detail, "ip=192.168.50.20, interface=br-work");
	evs_free(&all);
	assert_int_equal(audit_entries(r, &audit), 5);
	assert_string_equal(audit.e[0].action, "approve");
	assert_string_equal(audit.e[0].detail, "as business, label=Till 1, owner=Anna, type=pos");
	assert_string_equal(audit.e[1].action, "key");
	assert_string_equal(audit.e[2].action, "hold");
	assert_string_equal(audit.e[3].action, "block");
	assert_string_equal(audit.e[4].action, "reserve");
	evs_free(&audit);
	assert_int_equal(reg_alerts(r, false, 0, count_alert, &alerts), 0);
	assert_int_equal(alerts, 1);
	assert_int_equal(reg_users(r, user_cb, &v), 0);
	assert_int_equal(v.n, 0);

	/* The new parts work on the migrated file; ids go on from 8. */
	assert_int_equal(reg_find_ip(r, "192.168.50.20", mac), 0);
	assert_string_equal(mac, MAC_A);
	struct reg_claim cl = { .name = "Anna's phone", .cls = REG_CLASS_PERSONAL };
	assert_int_equal(reg_claim(r, MAC_B, &cl, 7000), 0);
	assert_int_equal(reg_last_event_id(r), 9);
	assert_int_equal(reg_user_add(r, "it", REG_ROLE_ADMIN, HASH1, &it, 8000), 0);
	assert_int_equal(reg_last_event_id(r), 10);
	reg_close(r);

	/* Opening again does not migrate again, and keeps the new data. */
	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(reg_schema_version(r), REG_SCHEMA_VERSION);
	assert_int_equal(reg_get(r, MAC_B, &d), 0);
	assert_string_equal(d->claim_name, "Anna's phone");
	reg_device_free(d);
	reg_close(r);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	/* the fixture itself is untouched */
	assert_int_equal(raw_int(V4_FIXTURE, "PRAGMA user_version"), 4);
}

/* ---- v6: risky-service findings, unmanaged MACs, blocked look-ups ---- */

struct fnds {
	size_t n;
	struct { char mac[18]; unsigned port; char service[16]; char detail[64]; int64_t at; } f[16];
	bool nested;
	struct reg *r;
};

static int collect_finding(const struct reg_finding *fi, void *ud)
{
	struct fnds *v = ud;

	assert_true(v->n < ARRAY_SIZE(v->f));
	util_strlcpy(v->f[v->n].mac, fi->mac, sizeof(v->f[0].mac));
	v->f[v->n].port = fi->port;
	util_strlcpy(v->f[v->n].service, fi->service, sizeof(v->f[0].service));
	util_strlcpy(v->f[v->n].detail, fi->detail ? fi->detail : "(null)", sizeof(v->f[0].detail));
	v->f[v->n].at = fi->found_at;
	v->n++;
	if (v->nested)
		assert_int_equal(reg_findings(v->r, NULL, collect_finding, ud), -EBUSY);
	return 0;
}

static void findings_replace_count_and_go_with_the_device(void **state)
{
	struct fx *f = *state;
	struct reg_device *d;
	struct fnds got = { 0 };
	struct evs all = { 0 };
	const struct reg_finding two[] = {
		{ .port = 23, .service = "telnet", .detail = "login: \x1b[31m<b>" },
		{ .port = 21, .service = "ftp" },
	};
	const struct reg_finding one[] = { { .port = 3389, .service = "rdp" } };

	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_A, "wlan0", 1000, NULL), 0);
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_B, "wlan0", 1000, NULL), 0);
	d = get(f->r, MAC_A);
	assert_int_equal(d->checked_at, 0);
	assert_int_equal(d->n_findings, 0);
	reg_device_free(d);

	assert_int_equal(reg_set_findings(f->r, MAC_A, two, 2, 2000), 0);
	assert_int_equal(reg_set_findings(f->r, MAC_B, one, 1, 2100), 0);
	d = get(f->r, MAC_A);
	assert_int_equal(d->checked_at, 2000);
	assert_int_equal(d->n_findings, 2);
	reg_device_free(d);
	/* by MAC, then port; strings verbatim */
	got.nested = true;
	got.r = f->r;
	assert_int_equal(reg_findings(f->r, NULL, collect_finding, &got), 0);
	assert_int_equal(got.n, 3);
	assert_string_equal(got.f[0].mac, MAC_A);
	assert_int_equal(got.f[0].port, 21);
	assert_string_equal(got.f[0].detail, "(null)");
	assert_int_equal(got.f[1].port, 23);
	assert_string_equal(got.f[1].service, "telnet");
	assert_string_equal(got.f[1].detail, "login: \x1b[31m<b>");
	assert_int_equal(got.f[1].at, 2000);
	assert_string_equal(got.f[2].mac, MAC_B);
	got = (struct fnds){ 0 };
	assert_int_equal(reg_findings(f->r, MAC_B, collect_finding, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.f[0].port, 3389);

	/* a fresh check replaces everything, also with nothing open */
	assert_int_equal(reg_set_findings(f->r, MAC_A, NULL, 0, 3000), 0);
	d = get(f->r, MAC_A);
	assert_int_equal(d->checked_at, 3000);
	assert_int_equal(d->n_findings, 0);
	reg_device_free(d);
	got = (struct fnds){ 0 };
	assert_int_equal(reg_findings(f->r, MAC_A, collect_finding, &got), 0);
	assert_int_equal(got.n, 0);

	/* each check is a conn event */
	assert_int_equal(reg_events_mac(f->r, MAC_A, 0, collect, &all), 0);
	assert_int_equal(all.n, 3);
	assert_string_equal(all.e[1].action, "check");
	assert_string_equal(all.e[1].kind, "conn");
	assert_string_equal(all.e[1].detail, "open: telnet/23, ftp/21");
	assert_string_equal(all.e[2].detail, "nothing open");
	evs_free(&all);

	/* unknown device, bad findings: nothing changes */
	assert_int_equal(reg_set_findings(f->r, MAC_C, one, 1, 4000), -ENOENT);
	const struct reg_finding bad_port[] = { { .port = 0, .service = "x" } };
	const struct reg_finding big_port[] = { { .port = 65536, .service = "x" } };
	const struct reg_finding no_svc[] = { { .port = 80 } };
	const struct reg_finding dup[] = { { .port = 80, .service = "http-admin" },
					   { .port = 80, .service = "http-admin" } };
	assert_int_equal(reg_set_findings(f->r, MAC_B, bad_port, 1, 4000), -EINVAL);
	assert_int_equal(reg_set_findings(f->r, MAC_B, big_port, 1, 4000), -EINVAL);
	assert_int_equal(reg_set_findings(f->r, MAC_B, no_svc, 1, 4000), -EINVAL);
	assert_int_equal(reg_set_findings(f->r, MAC_B, dup, 2, 4000), -EINVAL);
	assert_int_equal(reg_set_findings(f->r, MAC_B, NULL, 1, 4000), -EINVAL);
	assert_int_equal(reg_set_findings(f->r, "00:22:72:00:00:0B", one, 1, 4000), -EINVAL);
	assert_int_equal(reg_findings(f->r, "nope", collect_finding, &got), -EINVAL);
	d = get(f->r, MAC_B);
	assert_int_equal(d->checked_at, 2100);
	assert_int_equal(d->n_findings, 1);
	reg_device_free(d);

	/* the findings follow a new address and go with a forgotten device */
	assert_int_equal(reg_readdress(f->r, MAC_B, MAC_D, "same key", 5000), 0);
	got = (struct fnds){ 0 };
	assert_int_equal(reg_findings(f->r, NULL, collect_finding, &got), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.f[0].mac, MAC_D);
	assert_int_equal(reg_forget(f->r, MAC_D, &it, 6000), 0);
	got = (struct fnds){ 0 };
	assert_int_equal(reg_findings(f->r, NULL, collect_finding, &got), 0);
	assert_int_equal(got.n, 0);
	/* a device seen again after forget starts without findings */
	assert_int_equal(observe(f->r, REG_OBS_CONNECTED, MAC_D, "wlan0", 7000, NULL), 0);
	d = get(f->r, MAC_D);
	assert_int_equal(d->n_findings, 0);
	assert_int_equal(d->checked_at, 0);
	reg_device_free(d);
	reopen(f);
	d = get(f->r, MAC_A);
	assert_int_equal(d->checked_at, 3000);
	reg_device_free(d);
}

struct ums {
	size_t n;
	struct { char mac[18]; char where[32]; char ip[48]; int64_t first, last; } u[8];
	struct reg *r;
};

static int collect_unmanaged(const struct reg_unmanaged *u, void *ud)
{
	struct ums *v = ud;

	assert_true(v->n < ARRAY_SIZE(v->u));
	util_strlcpy(v->u[v->n].mac, u->mac, sizeof(v->u[0].mac));
	util_strlcpy(v->u[v->n].where, u->where, sizeof(v->u[0].where));
	util_strlcpy(v->u[v->n].ip, u->ip ? u->ip : "(null)", sizeof(v->u[0].ip));
	v->u[v->n].first = u->first_seen;
	v->u[v->n].last = u->last_seen;
	v->n++;
	if (v->r)
		assert_int_equal(reg_unmanaged_list(v->r, collect_unmanaged, ud), -EBUSY);
	return 0;
}

static void unmanaged_seen_listed_and_dropped(void **state)
{
	struct fx *f = *state;
	struct ums got = { 0 };
	struct reg_device *d = NULL;

	assert_int_equal(reg_unmanaged_seen(f->r, MAC_A, "br-work", NULL, 1000), 1);
	assert_int_equal(reg_unmanaged_seen(f->r, MAC_B, "br-work", "10.77.0.99", 2000), 1);
	assert_int_equal(reg_unmanaged_seen(f->r, MAC_A, "eth1", "192.0.2.7", 3000), 0);
	/* a NULL ip keeps the stored one */
	assert_int_equal(reg_unmanaged_seen(f->r, MAC_B, "br-work", NULL, 2500), 0);
	got.r = f->r;
	assert_int_equal(reg_unmanaged_list(f->r, collect_unmanaged, &got), 0);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.u[0].mac, MAC_A); /* newest last_seen first */
	assert_string_equal(got.u[0].where, "eth1");
	assert_string_equal(got.u[0].ip, "192.0.2.7");
	assert_int_equal(got.u[0].first, 1000);
	assert_int_equal(got.u[0].last, 3000);
	assert_string_equal(got.u[1].mac, MAC_B);
	assert_string_equal(got.u[1].ip, "10.77.0.99");
	assert_int_equal(got.u[1].last, 2500);
	/* not devices: nobody decided anything */
	assert_int_equal(reg_get(f->r, MAC_A, &d), -ENOENT);

	assert_int_equal(reg_unmanaged_del(f->r, MAC_A), 0);
	assert_int_equal(reg_unmanaged_del(f->r, MAC_A), -ENOENT);
	reopen(f);
	got = (struct ums){ 0 };
	assert_int_equal(reg_unmanaged_list(f->r, collect_unmanaged, &got), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.u[0].mac, MAC_B);
	/* bad input */
	assert_int_equal(reg_unmanaged_seen(f->r, "00-22-72-00-00-0a", "br-work", NULL, 1), -EINVAL);
	assert_int_equal(reg_unmanaged_seen(f->r, MAC_C, NULL, NULL, 1), -EINVAL);
	assert_int_equal(reg_unmanaged_seen(f->r, MAC_C, "", NULL, 1), -EINVAL);
	assert_int_equal(reg_unmanaged_seen(f->r, MAC_C, "br-work", "10.77.0.999", 1), -EINVAL);
	assert_int_equal(reg_unmanaged_del(f->r, NULL), -EINVAL);
	assert_int_equal(reg_unmanaged_list(f->r, NULL, NULL), -EINVAL);
}

struct dbs {
	size_t n;
	struct { char mac[18]; char ip[48]; char domain[64]; int64_t first, last; unsigned count; } b[8];
};

static int collect_dns_block(const struct reg_dns_block *b, void *ud)
{
	struct dbs *v = ud;

	assert_true(v->n < ARRAY_SIZE(v->b));
	util_strlcpy(v->b[v->n].mac, b->mac ? b->mac : "(null)", sizeof(v->b[0].mac));
	util_strlcpy(v->b[v->n].ip, b->ip, sizeof(v->b[0].ip));
	util_strlcpy(v->b[v->n].domain, b->domain, sizeof(v->b[0].domain));
	v->b[v->n].first = b->first_at;
	v->b[v->n].last = b->last_at;
	v->b[v->n].count = b->count;
	v->n++;
	return 0;
}

static void dns_blocks_counted_per_device_and_domain(void **state)
{
	struct fx *f = *state;
	struct dbs got = { 0 };
	bool first = false;

	assert_int_equal(reg_dns_block(f->r, MAC_A, "10.77.0.20", "evil.example", 1000, &first), 0);
	assert_true(first);
	assert_int_equal(reg_dns_block(f->r, MAC_A, "10.77.0.21", "evil.example", 2000, &first), 0);
	assert_false(first);
	assert_int_equal(reg_dns_block(f->r, MAC_A, "10.77.0.21", "phish.example", 2500, &first), 0);
	assert_true(first);
	/* no device: keyed by the address */
	assert_int_equal(reg_dns_block(f->r, NULL, "10.77.0.99", "evil.example", 3000, &first), 0);
	assert_true(first);
	assert_int_equal(reg_dns_block(f->r, NULL, "10.77.0.99", "evil.example", 3500, NULL), 0);
	assert_int_equal(reg_dns_block(f->r, NULL, "10.77.0.98", "evil.example", 3600, &first), 0);
	assert_true(first);

	assert_int_equal(reg_dns_blocks(f->r, NULL, 0, collect_dns_block, &got), 0);
	assert_int_equal(got.n, 4);
	assert_string_equal(got.b[0].ip, "10.77.0.98"); /* newest first */
	assert_string_equal(got.b[1].mac, "(null)");
	assert_string_equal(got.b[1].ip, "10.77.0.99");
	assert_int_equal(got.b[1].count, 2);
	assert_int_equal(got.b[1].first, 3000);
	assert_int_equal(got.b[1].last, 3500);
	assert_string_equal(got.b[2].domain, "phish.example");
	assert_string_equal(got.b[3].mac, MAC_A);
	assert_string_equal(got.b[3].domain, "evil.example");
	assert_string_equal(got.b[3].ip, "10.77.0.21"); /* the latest asking address */
	assert_int_equal(got.b[3].count, 2);
	got = (struct dbs){ 0 };
	assert_int_equal(reg_dns_blocks(f->r, MAC_A, 1, collect_dns_block, &got), 0);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.b[0].domain, "phish.example");

	assert_int_equal(reg_dns_block(f->r, MAC_A, NULL, "x.example", 1, NULL), -EINVAL);
	assert_int_equal(reg_dns_block(f->r, MAC_A, "10.77.0.20", "", 1, NULL), -EINVAL);
	assert_int_equal(reg_dns_block(f->r, MAC_A, "10.77.0.20", NULL, 1, NULL), -EINVAL);
	assert_int_equal(reg_dns_block(f->r, "zz", "10.77.0.20", "x.example", 1, NULL), -EINVAL);
	assert_int_equal(reg_dns_blocks(f->r, "zz", 0, collect_dns_block, &got), -EINVAL);
}

/* tests/unit/data/registry-v5.db was written by the v5 build (commit
 * fd21c4f) with tests/unit/data/make-registry-v5.c: an approved till with
 * lease and reservation, a pending phone with a claim, a forgotten printer
 * (9 events, 4 of them audit), an admin user, one open alert. */
#define V5_FIXTURE "tests/unit/data/registry-v5.db"

static void v5_file_migrates_to_v6_keeping_everything(void **state)
{
	struct fx *f = *state;
	char path[128], mac[18];
	struct reg *r = NULL;
	struct reg_device *d;
	struct evs all = { 0 };
	struct users v = { 0 };
	struct fnds got = { 0 };
	int alerts = 0;
	const struct reg_finding tn[] = { { .port = 23, .service = "telnet" } };

	snprintf(path, sizeof(path), "%s/v5.db", f->dir);
	copy_file(V5_FIXTURE, path);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 5);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'findings'"), 0);

	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(reg_schema_version(r), 6);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 6);

	assert_int_equal(reg_get(r, MAC_A, &d), 0);
	assert_int_equal(d->state, REG_APPROVED);
	assert_string_equal(d->label, "Till 1");
	assert_string_equal(d->ip, "10.77.0.20");
	assert_string_equal(d->reserved_ip, "10.77.0.20");
	assert_string_equal(d->dhcp_hostname, "TILL-1");
	assert_int_equal(d->checked_at, 0);
	assert_int_equal(d->n_findings, 0);
	reg_device_free(d);
	assert_int_equal(reg_get(r, MAC_B, &d), 0);
	assert_int_equal(d->state, REG_PENDING);
	assert_string_equal(d->claim_name, "Ben's phone");
	assert_string_equal(d->claim_owner, "Ben");
	assert_int_equal(d->claim_cls, REG_CLASS_PERSONAL);
	assert_int_equal(d->claim_at, 4500);
	reg_device_free(d);
	assert_int_equal(reg_get(r, MAC_C, &d), -ENOENT); /* forgotten */
	assert_int_equal(reg_find_ip(r, "10.77.9.30", mac), 0);
	assert_string_equal(mac, MAC_B);
	assert_int_equal(reg_events(r, 0, 0, collect, &all), 0);
	assert_int_equal(all.n, 9);
	assert_string_equal(all.e[5].action, "claim");
	assert_string_equal(all.e[5].detail, "name=Ben's phone, owner=Ben, as personal");
	assert_string_equal(all.e[7].action, "forget");
	assert_string_equal(all.e[7].detail, "was pending");
	assert_string_equal(all.e[8].action, "user_add");
	evs_free(&all);
	assert_int_equal(reg_alerts(r, false, 0, count_alert, &alerts), 0);
	assert_int_equal(alerts, 1);
	assert_int_equal(reg_alert_open(r, "repair_loop", MAC_B), 1);
	assert_int_equal(reg_users(r, user_cb, &v), 0);
	assert_int_equal(v.n, 1);

	/* the v6 parts work on the migrated file; ids go on from 9 */
	assert_int_equal(reg_set_findings(r, MAC_A, tn, 1, 8000), 0);
	assert_int_equal(reg_last_event_id(r), 10);
	assert_int_equal(reg_unmanaged_seen(r, MAC_D, "br-work", NULL, 8100), 1);
	assert_int_equal(reg_dns_block(r, MAC_A, "10.77.0.20", "evil.example", 8200, NULL), 0);
	reg_close(r);

	/* opening again does not migrate again, and keeps the new data */
	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(reg_schema_version(r), 6);
	assert_int_equal(reg_findings(r, MAC_A, collect_finding, &got), 0);
	assert_int_equal(got.n, 1);
	assert_int_equal(reg_get(r, MAC_A, &d), 0);
	assert_int_equal(d->n_findings, 1);
	assert_int_equal(d->checked_at, 8000);
	reg_device_free(d);
	reg_close(r);
	static const char *const suffix[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		char p[160];
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	assert_int_equal(raw_int(V5_FIXTURE, "PRAGMA user_version"), 5);
}

/* ---- files written by every earlier schema version ----
 *
 * tests/unit/data/registry-v1.db, -v2.db and -v3.db were written by the
 * registry of that version (commits 7322b33, 0ec67d4 and 54e9024, the last
 * ones before the next migration) with tests/unit/data/make-registry-v1-3.c:
 * one story, told with what each version could record (leases and the DHCP
 * fingerprint from v2, reservations from v3). The values below are the ones
 * that program wrote. registry-v4.db is checked above. A new schema version
 * brings a fixture of the one before it (fixture_for_every_older_version). */
#define DATA_DIR "tests/unit/data"
#define TS(n) (1700000000000LL + (n) * 1000LL)
#define MAC_E "00:22:72:00:00:0e"
#define MAC_F "00:22:72:00:00:0f"
#define MAC_G "00:22:72:00:00:10"

#define assert_str_or_null(got, want) do { \
		const char *_g = (got), *_w = (want); \
		if (!_w) \
			assert_null(_g); \
		else { \
			assert_non_null(_g); \
			assert_string_equal(_g, _w); \
		} \
	} while (0)

/* A whole file in memory; the caller frees it. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (!fp)
		fail_msg("cannot open %s (run the test from the source tree's top directory)", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static bool same_bytes(const char *path, const char *want, size_t want_len)
{
	size_t n;
	char *got = slurp(path, &n);
	bool same = n == want_len && memcmp(got, want, n) == 0;

	free(got);
	return same;
}

/* PRAGMA user_version read from the file header (4 bytes big-endian at
 * offset 60) without letting SQLite near the file. */
static int header_user_version(const char *path)
{
	unsigned char h[64];
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	assert_int_equal(fread(h, 1, sizeof(h), fp), sizeof(h));
	fclose(fp);
	return (int)((uint32_t)h[60] << 24 | (uint32_t)h[61] << 16 | (uint32_t)h[62] << 8 | h[63]);
}

/* The text of the first column of sql's first row (caller frees), or NULL. */
static char *raw_text(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = dup_or_null((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

#define SCHEMA_SQL "SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), " \
		   "char(10)) FROM (SELECT * FROM sqlite_schema ORDER BY name)"

static void unlink_db(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };

	for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
		char p[192];
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
}

struct want_dev {
	const char *mac;
	enum reg_state state;
	enum reg_class cls;
	enum reg_type type;
	const char *label, *owner, *vendor, *hostname, *ip, *bss;
	int vlan;
	bool connected;
	int64_t first_seen, last_seen;
	const char *decided_by, *decided_via;
	int64_t decided_at;
	const char *dhcp_vendor_class, *dhcp_options, *dhcp_hostname, *reserved_ip;
};

static int collect_mac(const struct reg_device *d, void *ud)
{
	struct evs *v = ud; /* only .mac used */

	assert_true(v->n < ARRAY_SIZE(v->e));
	v->e[v->n++].mac = dup_or_null(d->mac);
	return 0;
}

/* Every device of the story as version v wrote it, in reg_list() order,
 * with the columns of later versions at their defaults. */
static void old_devices_are_there(struct reg *r, int v)
{
	const bool dhcp = v >= 2, rsv = v >= 3;
	const struct want_dev want[] = {
		{ .mac = MAC_A, .state = REG_APPROVED, .cls = REG_CLASS_BUSINESS,
		  .type = REG_TYPE_POS, .label = "Till 1", .owner = "Anna", .vendor = "Epson",
		  .hostname = dhcp ? "till-1" : NULL, .ip = dhcp ? "10.77.0.20" : NULL,
		  .bss = "wlan0", .vlan = 10, .connected = true,
		  .first_seen = TS(1), .last_seen = dhcp ? TS(2) : TS(1),
		  .decided_by = "anna", .decided_via = "portal", .decided_at = TS(3),
		  .dhcp_vendor_class = dhcp ? "MSFT 5.0" : NULL,
		  .dhcp_options = dhcp ? "1,3,6,15,31,33" : NULL,
		  .dhcp_hostname = dhcp ? "TILL-1" : NULL,
		  .reserved_ip = rsv ? "10.77.0.20" : NULL },
		{ .mac = MAC_B, .state = REG_APPROVED, .cls = REG_CLASS_PERSONAL,
		  .bss = "wlan1", .vlan = 20, .connected = false,
		  .first_seen = TS(4), .last_seen = TS(6),
		  .decided_by = "it", .decided_via = "cli", .decided_at = TS(5) },
		{ .mac = MAC_C, .state = REG_BLOCKED, .first_seen = TS(7), .last_seen = 0,
		  .decided_by = "it", .decided_via = "cli", .decided_at = TS(7) },
		{ .mac = MAC_D, .state = REG_PENDING, .bss = "wlan0", .connected = false,
		  .first_seen = TS(8), .last_seen = TS(8) },
		{ .mac = MAC_E, .state = REG_BLOCKED, .vendor = "Apple", .bss = "wlan0",
		  .connected = false, .first_seen = TS(10), .last_seen = TS(10),
		  .decided_by = "anna", .decided_via = "portal", .decided_at = TS(11) },
		{ .mac = MAC_G, .state = REG_PENDING, .hostname = "android-5f2a", .ip = NULL,
		  .first_seen = TS(16), .last_seen = TS(16),
		  .dhcp_vendor_class = "android-dhcp-13",
		  .dhcp_options = "1,3,6,15,26,28,51,58,59,43,114",
		  .dhcp_hostname = "android-5f2a" },
	};
	const size_t n = dhcp ? ARRAY_SIZE(want) : ARRAY_SIZE(want) - 1; /* G: v2+ */
	struct evs macs = { 0 };
	struct reg_device *d = NULL;
	unsigned c[REG_STATE_COUNT];

	assert_int_equal(reg_count(r, c), 0);
	assert_int_equal(c[REG_APPROVED], 2);
	assert_int_equal(c[REG_BLOCKED], 2);
	assert_int_equal(c[REG_PENDING], dhcp ? 2 : 1);
	assert_int_equal(c[REG_GUEST], 0);
	assert_int_equal(reg_list(r, NULL, collect_mac, &macs), 0);
	assert_int_equal(macs.n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(macs.e[i].mac, want[i].mac);
	evs_free(&macs);
	/* forgotten: gone (its audit entries are checked with the events) */
	assert_int_equal(reg_get(r, MAC_F, &d), -ENOENT);
	if (!dhcp)
		assert_int_equal(reg_get(r, MAC_G, &d), -ENOENT);

	for (size_t i = 0; i < n; i++) {
		const struct want_dev *w = &want[i];

		assert_int_equal(reg_get(r, w->mac, &d), 0);
		assert_string_equal(d->mac, w->mac);
		assert_int_equal(d->state, w->state);
		assert_int_equal(d->cls, w->cls);
		assert_int_equal(d->type, w->type);
		assert_str_or_null(d->label, w->label);
		assert_str_or_null(d->owner, w->owner);
		assert_str_or_null(d->vendor, w->vendor);
		assert_str_or_null(d->hostname, w->hostname);
		assert_str_or_null(d->ip, w->ip);
		assert_str_or_null(d->bss, w->bss);
		assert_int_equal(d->vlan, w->vlan);
		assert_int_equal(d->connected, w->connected);
		assert_int_equal(d->first_seen, w->first_seen);
		assert_int_equal(d->last_seen, w->last_seen);
		assert_str_or_null(d->decided_by, w->decided_by);
		assert_str_or_null(d->decided_via, w->decided_via);
		assert_int_equal(d->decided_at, w->decided_at);
		assert_str_or_null(d->dhcp_vendor_class, w->dhcp_vendor_class);
		assert_str_or_null(d->dhcp_options, w->dhcp_options);
		assert_str_or_null(d->dhcp_hostname, w->dhcp_hostname);
		assert_str_or_null(d->reserved_ip, w->reserved_ip);
		/* v4 and v5 columns: not held, no port, no key, no claim */
		assert_int_equal(d->held_at, 0);
		assert_null(d->port);
		assert_null(d->psk_keyid);
		assert_null(d->psk_ssid);
		assert_null(d->psk_hex);
		assert_null(d->claim_name);
		assert_null(d->claim_owner);
		assert_int_equal(d->claim_cls, REG_CLASS_NONE);
		assert_int_equal(d->claim_at, 0);
		reg_device_free(d);
		d = NULL;
	}
}

struct want_ev {
	int since; /* first version that wrote it */
	int64_t ts;
	const char *kind, *action, *mac, *bss, *actor, *via, *detail;
};

static const struct want_ev old_events[] = {
	{ 1, TS(1), "conn", "connected", MAC_A, "wlan0", NULL, NULL, "vlan=10, keyid=staff" },
	{ 2, TS(2), "conn", "dhcp_add", MAC_A, NULL, NULL, NULL, "ip=10.77.0.20, interface=br-work" },
	{ 1, TS(3), "audit", "approve", MAC_A, NULL, "anna", "portal",
	  "as business, label=Till 1, owner=Anna, type=pos" },
	{ 1, TS(4), "conn", "connected", MAC_B, "wlan1", NULL, NULL, "vlan=20" },
	{ 1, TS(5), "audit", "approve", MAC_B, NULL, "it", "cli", "as personal" },
	{ 1, TS(6), "conn", "disconnected", MAC_B, "wlan1", NULL, NULL, NULL },
	{ 1, TS(7), "audit", "block", MAC_C, NULL, "it", "cli", "not seen before" },
	{ 1, TS(8), "conn", "eap_success", MAC_D, "wlan0", NULL, NULL, NULL },
	{ 3, TS(9), "audit", "reserve", MAC_A, NULL, "it", "cli", "ip=10.77.0.20" },
	{ 1, TS(10), "conn", "connected", MAC_E, "wlan0", NULL, NULL, NULL },
	{ 1, TS(11), "audit", "block", MAC_E, NULL, "anna", "portal", "was pending" },
	{ 1, TS(12), "conn", "disconnected", MAC_E, "wlan0", NULL, NULL, "resync" },
	{ 1, TS(13), "conn", "connected", MAC_F, "wlan1", NULL, NULL, "vlan=30" },
	{ 1, TS(14), "audit", "approve", MAC_F, NULL, "it", "cli",
	  "as business, label=Old printer, type=printer" },
	{ 1, TS(15), "audit", "forget", MAC_F, NULL, "it", "cli", "was approved, label=Old printer" },
	{ 2, TS(16), "conn", "dhcp_add", MAC_G, NULL, NULL, NULL, "ip=10.77.0.30, interface=br-onb" },
	{ 3, TS(17), "audit", "reserve", MAC_G, NULL, "anna", "portal", "ip=10.77.0.31" },
	{ 3, TS(18), "audit", "unreserve", MAC_G, NULL, "anna", "portal", "cleared" },
	{ 2, TS(19), "conn", "dhcp_del", MAC_G, NULL, NULL, NULL, "ip=10.77.0.30, interface=br-onb" },
};

/* got[0..n) are exactly the events of version v that match mac (NULL =
 * any) and kind (NULL = any), in id order (reverse: newest first); ids
 * are 1, 2, ... in the order the old version wrote them. */
static void events_match(const struct evs *got, int v, const char *mac, const char *kind,
			 bool reverse)
{
	size_t want_n = 0;
	int64_t id = 0;
	struct { int64_t id; const struct want_ev *w; } sel[ARRAY_SIZE(old_events)];

	for (size_t i = 0; i < ARRAY_SIZE(old_events); i++) {
		const struct want_ev *w = &old_events[i];

		if (w->since > v)
			continue;
		id++;
		if ((mac && strcmp(w->mac, mac) != 0) || (kind && strcmp(w->kind, kind) != 0))
			continue;
		sel[want_n].id = id;
		sel[want_n++].w = w;
	}
	assert_int_equal(got->n, want_n);
	for (size_t i = 0; i < want_n; i++) {
		const struct ev *e = &got->e[reverse ? want_n - 1 - i : i];
		const struct want_ev *w = sel[i].w;

		assert_int_equal(e->id, sel[i].id);
		assert_int_equal(e->ts, w->ts);
		assert_string_equal(e->kind, w->kind);
		assert_string_equal(e->action, w->action);
		assert_string_equal(e->mac, w->mac);
		assert_str_or_null(e->bss, w->bss);
		assert_str_or_null(e->actor, w->actor);
		assert_str_or_null(e->via, w->via);
		assert_str_or_null(e->detail, w->detail);
	}
}

static int64_t old_event_count(int v)
{
	int64_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(old_events); i++)
		n += old_events[i].since <= v;
	return n;
}

static void old_events_are_there(struct reg *r, int v)
{
	static const char *const macs[] = { MAC_A, MAC_B, MAC_C, MAC_D, MAC_E, MAC_F, MAC_G };
	struct evs got = { 0 };

	assert_int_equal(reg_last_event_id(r), old_event_count(v));
	assert_int_equal(reg_events(r, 0, 0, collect, &got), 0);
	events_match(&got, v, NULL, NULL, false);
	evs_free(&got);
	audit_entries(r, &got);
	events_match(&got, v, NULL, "audit", false);
	evs_free(&got);
	assert_int_equal(reg_audit_page(r, 0, 100, collect, &got), 0);
	events_match(&got, v, NULL, "audit", true);
	evs_free(&got);
	/* per device, also the forgotten one */
	for (size_t i = 0; i < ARRAY_SIZE(macs); i++) {
		assert_int_equal(reg_events_mac(r, macs[i], 0, collect, &got), 0);
		events_match(&got, v, macs[i], NULL, false);
		evs_free(&got);
	}
}

static int count_alerts(const struct reg_alert *a, void *ud)
{
	(void)a;
	(*(int *)ud)++;
	return 0;
}

/* Copies the fixture of version v to the test's directory, opens it (which
 * migrates it to REG_SCHEMA_VERSION) and checks everything the old version
 * wrote; opens it again (nothing to do: the file stays byte for byte the
 * same) and uses the parts later versions added. The fixture itself is
 * never touched. */
static void old_file_migrates(struct fx *f, int v)
{
	char fixture[64], path[128], mac[18];
	char *orig, *schema, *schema2, *migrated;
	size_t orig_len, migrated_len;
	struct reg *r = NULL;
	struct reg_device *d = NULL;
	struct users u = { 0 };
	int alerts = 0;
	const int64_t last = old_event_count(v);

	snprintf(fixture, sizeof(fixture), DATA_DIR "/registry-v%d.db", v);
	snprintf(path, sizeof(path), "%s/v%d.db", f->dir, v);
	orig = slurp(fixture, &orig_len);
	assert_int_equal(header_user_version(fixture), v);
	copy_file(fixture, path);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), v);
	/* it really is the old schema: no column of the next version yet */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_table_info('devices')"
				 " WHERE name IN ('dhcp_options', 'reserved_ip', 'held_at')"),
			 v - 1);

	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(reg_schema_version(r), REG_SCHEMA_VERSION);
	old_devices_are_there(r, v);
	old_events_are_there(r, v);
	assert_int_equal(reg_alerts(r, true, 0, count_alerts, &alerts), 0);
	assert_int_equal(alerts, 0);
	assert_int_equal(reg_users(r, user_cb, &u), 0);
	assert_int_equal(u.n, 0);
	reg_close(r);
	r = NULL;
	assert_int_equal(raw_int(path, "PRAGMA user_version"), REG_SCHEMA_VERSION);

	/* The same schema as a new file gets. */
	schema = raw_text(path, SCHEMA_SQL);
	schema2 = raw_text(f->path, SCHEMA_SQL);
	assert_non_null(schema);
	assert_non_null(schema2);
	free(schema2);

	/* A second open is a no-op. */
	migrated = slurp(path, &migrated_len);
	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(reg_schema_version(r), REG_SCHEMA_VERSION);
	old_devices_are_there(r, v);
	old_events_are_there(r, v);
	reg_close(r);
	r = NULL;
	assert_true(same_bytes(path, migrated, migrated_len));
	schema2 = raw_text(path, SCHEMA_SQL);
	assert_string_equal(schema2, schema);
	free(schema2);
	free(schema);
	free(migrated);

	/* The migrated file works with what later versions added. */
	assert_int_equal(reg_open(path, &r), 0);
	assert_int_equal(observe(r, REG_OBS_CONNECTED, MAC_D, "wlan0", TS(30), NULL), 0);
	assert_int_equal(reg_last_event_id(r), last + 1);            /* ids go on */
	if (v < 3)
		assert_int_equal(reg_reserve(r, MAC_A, "10.77.0.20", &it, TS(31)), 0);
	assert_int_equal(reg_reserve(r, MAC_B, "10.77.0.20", &it, TS(31)), -EEXIST); /* v3 */
	assert_int_equal(reg_set_key(r, MAC_A, "till1", "Shop", HEX_A, &it, TS(32)), 0);
	assert_int_equal(reg_set_key(r, MAC_B, "till1", "Shop", HEX_A, &it, TS(32)), -EEXIST);
	assert_int_equal(reg_hold(r, MAC_D, "keeps landing in the wrong zone", TS(33)), 0);
	struct reg_claim cl = { .name = "Ben's phone", .cls = REG_CLASS_PERSONAL };
	assert_int_equal(reg_claim(r, MAC_B, &cl, TS(34)), 0);
	if (v >= 2) {
		assert_int_equal(reg_find_ip(r, "10.77.0.20", mac), 0);     /* v5 */
		assert_string_equal(mac, MAC_A);
	} else {
		assert_int_equal(reg_find_ip(r, "10.77.0.20", mac), -ENOENT);
	}
	assert_int_equal(reg_user_add(r, "it", REG_ROLE_ADMIN, HASH1, &it, TS(35)), 0);
	assert_int_equal(reg_get(r, MAC_B, &d), 0);
	assert_string_equal(d->claim_name, "Ben's phone");
	assert_int_equal(d->claim_cls, REG_CLASS_PERSONAL);
	assert_int_equal(d->claim_at, TS(34));
	reg_device_free(d);
	/* audit entries are still kept by the v1 triggers */
	assert_int_not_equal(raw_exec(path, "DELETE FROM events WHERE kind = 'audit'"), SQLITE_OK);
	assert_int_not_equal(raw_exec(path, "UPDATE events SET detail = 'x' WHERE kind = 'audit'"),
			     SQLITE_OK);
	reg_close(r);

	unlink_db(path);
	assert_true(same_bytes(fixture, orig, orig_len));
	free(orig);
}

static void v1_file_migrates_keeping_everything(void **state)
{
	old_file_migrates(*state, 1);
}

static void v2_file_migrates_keeping_everything(void **state)
{
	old_file_migrates(*state, 2);
}

static void v3_file_migrates_keeping_everything(void **state)
{
	old_file_migrates(*state, 3);
}

/* reg_open(path) as a user the OS holds to file permissions: in-process
 * when not root, else in a child that became nobody. Returns reg_open's
 * result (the handle, if any, closed), or 1 when nobody cannot be
 * become. */
static int open_unprivileged(const char *path)
{
	struct reg *r = (struct reg *)0x1;
	int ret, st;
	pid_t pid;

	if (geteuid() != 0) {
		ret = reg_open(path, &r);
		if (ret == 0)
			reg_close(r);
		else
			assert_ptr_equal(r, (struct reg *)0x1);
		return ret;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(200);
		ret = reg_open(path, &r);
		if (ret == 0)
			reg_close(r);
		else if (r != (struct reg *)0x1)
			_exit(201);
		_exit(ret <= 0 && ret > -200 ? -ret : 202);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	if (WEXITSTATUS(st) == 200)
		return 1;
	assert_true(WEXITSTATUS(st) < 200);
	return -WEXITSTATUS(st);
}

/* An old file in a directory the daemon cannot write (a read-only mount,
 * wrong ownership) is refused without migrating anything: read-only itself,
 * it is -EROFS (reg.h); writable but in a read-only directory, SQLite can
 * only read it too (no -wal can be made): refused as well. */
static void old_file_in_read_only_directory_is_refused(void **state)
{
	struct fx *f = *state;
	char dir[96], fixture[64], path[128];

	assert_int_equal(chmod(f->dir, 0711), 0); /* nobody may pass */
	snprintf(dir, sizeof(dir), "%s/ro", f->dir);
	for (int v = 1; v < REG_SCHEMA_VERSION; v++) {
		size_t len;
		char *orig;
		int ret;

		snprintf(fixture, sizeof(fixture), DATA_DIR "/registry-v%d.db", v);
		snprintf(path, sizeof(path), "%s/v%d.db", dir, v);
		orig = slurp(fixture, &len);
		assert_int_equal(mkdir(dir, 0755), 0);
		copy_file(fixture, path);

		/* file and directory read-only */
		assert_int_equal(chmod(path, 0444), 0);
		assert_int_equal(chmod(dir, 0555), 0);
		ret = open_unprivileged(path);
		if (ret == 1) {
			chmod(dir, 0755);
			unlink_db(path);
			rmdir(dir);
			free(orig);
			skip();
		}
		assert_int_equal(ret, -EROFS);
		assert_true(same_bytes(path, orig, len));

		/* the file writable by its user, the directory not */
		assert_int_equal(chmod(path, 0644), 0);
		if (geteuid() == 0)
			assert_int_equal(chown(path, 65534, 65534), 0);
		ret = open_unprivileged(path);
		/* a file that can only be opened read-only: -EROFS (reg.h),
		 * also when it is the directory that is read-only */
		assert_int_equal(ret, -EROFS);
		assert_true(same_bytes(path, orig, len));
		assert_int_equal(header_user_version(path), v);

		assert_int_equal(chmod(dir, 0755), 0);
		unlink_db(path);
		assert_int_equal(rmdir(dir), 0);
		free(orig);
	}
}

/* An old fixture claiming a schema newer than this build (user_version 99,
 * as a later apgate would leave it) is refused with -EPROTO and left
 * exactly as it was. */
static void fixture_from_newer_build_is_refused(void **state)
{
	struct fx *f = *state;
	char fixture[64], path[128];

	for (int v = 1; v < REG_SCHEMA_VERSION; v++) {
		struct reg *r = (struct reg *)0x1;
		size_t len;
		char *before;

		snprintf(fixture, sizeof(fixture), DATA_DIR "/registry-v%d.db", v);
		snprintf(path, sizeof(path), "%s/v%d.db", f->dir, v);
		copy_file(fixture, path);
		assert_int_equal(raw_exec(path, "PRAGMA user_version = 99"), SQLITE_OK);
		before = slurp(path, &len);
		assert_int_equal(header_user_version(path), 99);
		assert_int_equal(reg_open(path, &r), -EPROTO);
		assert_ptr_equal(r, (struct reg *)0x1);
		assert_true(same_bytes(path, before, len));
		assert_int_equal(raw_int(path, "PRAGMA user_version"), 99);
		free(before);
		unlink_db(path);
	}
}

/* Every schema version before this build's has a file written by that
 * version in tests/unit/data (registry-vN.db, user_version N), and each
 * migrates to REG_SCHEMA_VERSION with its devices and events. Whoever adds
 * schema v6 commits registry-v5.db made by the v5 build (see
 * make-registry-v4.c for how) and a test of what it holds. */
static void fixture_for_every_older_version(void **state)
{
	struct fx *f = *state;
	bool have[REG_SCHEMA_VERSION + 1] = { false };
	DIR *dir = opendir(DATA_DIR);
	struct dirent *de;

	if (!dir)
		fail_msg("cannot open %s (run the test from the source tree's top directory)",
			 DATA_DIR);
	while ((de = readdir(dir))) {
		char name[64];
		int v;

		if (sscanf(de->d_name, "registry-v%d.db", &v) != 1 || v < 1)
			continue;
		snprintf(name, sizeof(name), "registry-v%d.db", v);
		if (strcmp(name, de->d_name) != 0)
			continue; /* registry-v1.db-wal and the like */
		if (v < REG_SCHEMA_VERSION)
			have[v] = true;
	}
	closedir(dir);

	for (int v = 1; v < REG_SCHEMA_VERSION; v++) {
		char fixture[64], path[128];
		struct reg *r = NULL;
		int64_t devices, events;

		if (!have[v])
			fail_msg("%s/registry-v%d.db is missing: schema v%d has no file written "
				 "by its own build to test the migration to v%d with",
				 DATA_DIR, v, v, REG_SCHEMA_VERSION);
		snprintf(fixture, sizeof(fixture), DATA_DIR "/registry-v%d.db", v);
		assert_int_equal(header_user_version(fixture), v);
		snprintf(path, sizeof(path), "%s/v%d.db", f->dir, v);
		copy_file(fixture, path);
		devices = raw_int(path, "SELECT count(*) FROM devices");
		events = raw_int(path, "SELECT count(*) FROM events");
		assert_true(devices > 0);
		assert_true(events > 0);
		assert_int_equal(reg_open(path, &r), 0);
		assert_int_equal(reg_schema_version(r), REG_SCHEMA_VERSION);
		assert_int_equal(reg_last_event_id(r), events);
		reg_close(r);
		assert_int_equal(raw_int(path, "SELECT count(*) FROM devices"), devices);
		assert_int_equal(raw_int(path, "SELECT count(*) FROM events"), events);
		unlink_db(path);
	}
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(open_creates_schema_v1),
		T(list_page_in_order),
		T(observe_connected_creates_pending),
		T(observations_write_connection_events),
		T(disconnected_clears_connected),
		T(eap_success_creates_not_yet_connected),
		T(approve_records_decision_and_audit),
		T(approve_rejects_unknown_and_bad_input),
		T(block_unknown_creates_blocked),
		T(forget_removes_device_keeps_audit),
		T(list_filters_by_state_in_order),
		T(count_by_state),
		T(resync_marks_missing_disconnected),
		T(data_survives_restart),
		T(hostile_strings_round_trip),
		T(reserve_ip),
		T(newer_schema_is_refused),
		T(events_since_and_limit),
		T(connection_events_are_pruned_audit_kept),
		T(decisions_are_synced_observations_are_not),
		T(disk_full_and_io_errors_surface),
		T(locked_database_is_ebusy_not_a_hang),
		T(bad_arguments_are_einval),
		T(lease_add_creates_device_with_fingerprint),
		T(lease_old_without_data_keeps_fingerprint),
		T(lease_del_clears_only_the_current_ip),
		T(lease_hostile_values_are_data),
		T(lease_bad_arguments_are_einval),
		T(v1_file_migrates_to_v2_keeping_everything),
		T(hold_alerts_and_decisions_clear_it),
		T(keys_are_unique_revocable_and_follow_a_new_address),
		T(wired_port_is_recorded),
		T(claim_is_a_statement_not_a_decision),
		T(claim_shows_in_list),
		T(find_ip_last_seen_wins),
		T(users_add_list_get_login),
		T(users_passwd_role_del),
		T(users_bad_input_changes_nothing),
		T(last_admin_is_kept),
		T(v4_file_migrates_to_v5_keeping_everything),
		T(findings_replace_count_and_go_with_the_device),
		T(unmanaged_seen_listed_and_dropped),
		T(dns_blocks_counted_per_device_and_domain),
		T(v5_file_migrates_to_v6_keeping_everything),
		T(v1_file_migrates_keeping_everything),
		T(v2_file_migrates_keeping_everything),
		T(v3_file_migrates_keeping_everything),
		T(old_file_in_read_only_directory_is_refused),
		T(fixture_from_newer_build_is_refused),
		T(fixture_for_every_older_version),
		cmocka_unit_test(names_round_trip),
		cmocka_unit_test(role_names_round_trip),
	};
	shim_install();
	return cmocka_run_group_tests_name("reg", tests, NULL, NULL);
}
