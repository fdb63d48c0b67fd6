#include "front/auth.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

struct auth_sess {
	char token[AUTH_TOKEN_LEN + 1];
	char csrf[AUTH_TOKEN_LEN + 1];
	char user[33];
	enum reg_role role;
	int64_t created, used;
	bool live;
};

/* Failed logins of one address or one user name. */
struct strike {
	char key[72];        /* "ip:1.2.3.4" or "user:name" */
	unsigned fails;      /* since the last success */
	int64_t last;        /* last failure */
	int64_t until;       /* locked out until */
};

struct auth {
	struct auth_cfg cfg;
	struct auth_sess sess[AUTH_MAX_SESSIONS];
	struct strike strikes[AUTH_MAX_TRACKED];
	unsigned char key[crypto_auth_KEYBYTES];
	char dummy_hash[crypto_pwhash_STRBYTES];
};

static void b64url(const unsigned char *bin, size_t len, char *out, size_t size)
{
	sodium_bin2base64(out, size, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void auth_random_token(char *out)
{
	unsigned char r[32];

	randombytes_buf(r, sizeof(r));
	b64url(r, sizeof(r), out, AUTH_TOKEN_LEN + 1);
}

int auth_new(const struct auth_cfg *cfg, struct auth **out)
{
	struct auth *a;
	char pw[AUTH_TOKEN_LEN + 1];

	if (sodium_init() < 0)
		return -EIO;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->cfg = *cfg;
	crypto_auth_keygen(a->key);
	/* a hash of a random password with the parameters apgatectl uses, for
	 * logins of users that do not exist (same cost as a real check) */
	auth_random_token(pw);
	if (crypto_pwhash_str(a->dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	sodium_memzero(a, sizeof(*a));
	free(a);
}

/* ---- throttling ---- */

static struct strike *strike_find(struct auth *a, const char *kind, const char *v, bool create, int64_t now)
{
	char key[72];
	struct strike *pick = NULL;

	snprintf(key, sizeof(key), "%s:%s", kind, v ? v : "");
	for (unsigned i = 0; i < AUTH_MAX_TRACKED; i++)
		if (a->strikes[i].key[0] && !strcmp(a->strikes[i].key, key))
			return &a->strikes[i];
	if (!create)
		return NULL;
	/* a free slot, else the unlocked one whose last failure is oldest,
	 * else (all locked: someone is spraying) the oldest of all */
	for (unsigned i = 0; i < AUTH_MAX_TRACKED; i++) {
		struct strike *s = &a->strikes[i];
		if (!s->key[0]) {
			pick = s;
			break;
		}
		bool s_free = s->until <= now, p_free = pick && pick->until <= now;
		if (!pick || (s_free && !p_free) || (s_free == p_free && s->last < pick->last))
			pick = s;
	}
	memset(pick, 0, sizeof(*pick));
	util_strlcpy(pick->key, key, sizeof(pick->key));
	return pick;
}

static unsigned left_s(const struct strike *s, int64_t now)
{
	return s && s->until > now ? (unsigned)((s->until - now + 999) / 1000) : 0;
}

int auth_throttled(struct auth *a, const char *ip, const char *user, int64_t now, unsigned *retry_s)
{
	unsigned l1 = left_s(strike_find(a, "ip", ip, false, now), now);
	unsigned l2 = user && *user ? left_s(strike_find(a, "user", user, false, now), now) : 0;
	unsigned l = l1 > l2 ? l1 : l2;

	if (retry_s)
		*retry_s = l;
	return l ? -EAGAIN : 0;
}

static void strike(struct auth *a, const char *kind, const char *v, int64_t now)
{
	struct strike *s = strike_find(a, kind, v, true, now);

	/* failures older than the lockout period are forgiven */
	if (s->last && now - s->last > (int64_t)a->cfg.lockout_s * 1000 * 16)
		s->fails = 0;
	s->fails++;
	s->last = now;
	if (s->fails >= a->cfg.failures) {
		unsigned extra = s->fails - a->cfg.failures, mult = 1u << (extra > 4 ? 4 : extra);
		s->until = now + (int64_t)a->cfg.lockout_s * 1000 * mult;
	}
}

static void clear_strikes(struct auth *a, const char *kind, const char *v, int64_t now)
{
	struct strike *s = strike_find(a, kind, v, false, now);

	if (s)
		memset(s, 0, sizeof(*s));
}

bool auth_check_password(struct auth *a, const char *ip, const char *user, const char *hash,
			 const char *password, int64_t now)
{
	bool ok = false;

	if (!password)
		password = "";
	if (hash && strlen(hash) < crypto_pwhash_STRBYTES)
		ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	else if (crypto_pwhash_str_verify(a->dummy_hash, password, strlen(password)) == 0)
		log_err("portal: a random password matched its own hash"); /* cannot happen; keeps the cost */
	if (ok) {
		clear_strikes(a, "ip", ip, now);
		clear_strikes(a, "user", user, now);
	} else {
		strike(a, "ip", ip, now);
		if (user && *user)
			strike(a, "user", user, now);
	}
	return ok;
}

/* ---- sessions ---- */

static bool expired(const struct auth *a, const struct auth_sess *s, int64_t now)
{
	return now - s->used > (int64_t)a->cfg.idle_s * 1000 || now - s->created > (int64_t)a->cfg.max_s * 1000;
}

const struct auth_sess *auth_login(struct auth *a, const char *user, enum reg_role role, int64_t now)
{
	struct auth_sess *slot = NULL;

	for (unsigned i = 0; i < AUTH_MAX_SESSIONS; i++) {
		struct auth_sess *s = &a->sess[i];
		if (s->live && expired(a, s, now))
			s->live = false;
		if (!s->live) {
			slot = s;
			break;
		}
		if (!slot || s->used < slot->used)
			slot = s; /* full: the least recently used goes */
	}
	memset(slot, 0, sizeof(*slot));
	auth_random_token(slot->token);
	auth_random_token(slot->csrf);
	util_strlcpy(slot->user, user, sizeof(slot->user));
	slot->role = role;
	slot->created = slot->used = now;
	slot->live = true;
	return slot;
}

static struct auth_sess *find(struct auth *a, const char *token)
{
	if (!token || strlen(token) != AUTH_TOKEN_LEN)
		return NULL;
	for (unsigned i = 0; i < AUTH_MAX_SESSIONS; i++)
		if (a->sess[i].live && sodium_memcmp(a->sess[i].token, token, AUTH_TOKEN_LEN) == 0)
			return &a->sess[i];
	return NULL;
}

const struct auth_sess *auth_lookup(struct auth *a, const char *token, int64_t now)
{
	struct auth_sess *s = find(a, token);

	if (!s)
		return NULL;
	if (expired(a, s, now)) {
		memset(s, 0, sizeof(*s));
		return NULL;
	}
	s->used = now;
	return s;
}

const struct auth_sess *auth_peek(struct auth *a, const char *token, int64_t now)
{
	struct auth_sess *s = find(a, token);

	return s && !expired(a, s, now) ? s : NULL;
}

void auth_logout(struct auth *a, const char *token)
{
	struct auth_sess *s = find(a, token);

	if (s)
		memset(s, 0, sizeof(*s));
}

unsigned auth_drop_user(struct auth *a, const char *user)
{
	unsigned n = 0;

	for (unsigned i = 0; i < AUTH_MAX_SESSIONS; i++)
		if (a->sess[i].live && !strcmp(a->sess[i].user, user)) {
			memset(&a->sess[i], 0, sizeof(a->sess[i]));
			n++;
		}
	return n;
}

void auth_set_role(struct auth *a, const char *user, enum reg_role role)
{
	for (unsigned i = 0; i < AUTH_MAX_SESSIONS; i++)
		if (a->sess[i].live && !strcmp(a->sess[i].user, user))
			a->sess[i].role = role;
}

const char *auth_sess_token(const struct auth_sess *s) { return s->token; }
const char *auth_sess_user(const struct auth_sess *s) { return s->user; }
enum reg_role auth_sess_role(const struct auth_sess *s) { return s->role; }
const char *auth_sess_csrf(const struct auth_sess *s) { return s->csrf; }

bool auth_csrf_ok(const struct auth_sess *s, const char *token)
{
	return s && token && strlen(token) == AUTH_TOKEN_LEN && sodium_memcmp(s->csrf, token, AUTH_TOKEN_LEN) == 0;
}

/* ---- bound tokens ---- */

void auth_bind(const struct auth *a, const char *value, char *out)
{
	unsigned char mac[crypto_auth_BYTES];

	crypto_auth(mac, (const unsigned char *)value, strlen(value), a->key);
	b64url(mac, 32, out, AUTH_TOKEN_LEN + 1);
}

bool auth_bind_ok(const struct auth *a, const char *value, const char *token)
{
	char want[AUTH_TOKEN_LEN + 1];

	if (!value || !token || strlen(token) != AUTH_TOKEN_LEN)
		return false;
	auth_bind(a, value, want);
	return sodium_memcmp(want, token, AUTH_TOKEN_LEN) == 0;
}
