/* auth.h - staff sign-in for the portal: password checks against the
 * registry's argon2id hashes (libsodium), sessions held in memory, CSRF
 * tokens, and throttling of failed logins.
 *
 * No I/O and no clock of its own: callers pass now (ms, monotonic or wall,
 * but always the same kind), so tests control time. Sessions do not
 * survive a restart of apgated (people sign in again).
 *
 * Session and CSRF tokens are 32 random bytes (randombytes_buf) in
 * unpadded base64url (43 characters); comparisons are constant-time.
 */
#ifndef APGATE_AUTH_H
#define APGATE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "model/reg.h"

#define AUTH_TOKEN_LEN 43
#define AUTH_MAX_SESSIONS 256   /* the oldest idle session goes first */
#define AUTH_MAX_TRACKED 1024   /* addresses and names followed for throttling */

struct auth;
struct auth_sess;

struct auth_cfg {
	unsigned idle_s;      /* a session unused this long ends */
	unsigned max_s;       /* and every session ends this long after login */
	unsigned failures;    /* failed logins allowed per address and per user name ... */
	unsigned lockout_s;   /* ... before this lockout (doubling for each further failure, at most 16x) */
};

/* Initialises libsodium. -EIO when it cannot; *out freed with auth_free(). */
int auth_new(const struct auth_cfg *cfg, struct auth **out);
void auth_free(struct auth *a);

/* 0 when a login from ip for user may be tried now; -EAGAIN while either
 * is locked out, with *retry_s set to the seconds left. */
int auth_throttled(struct auth *a, const char *ip, const char *user, int64_t now, unsigned *retry_s);
/* Checks password against hash (crypto_pwhash_str_verify). hash NULL (no
 * such user) still costs one verification of a dummy hash, so the answer
 * time does not tell whether a user exists. A failure is counted against
 * ip and user; a success clears their counters. true = good password. */
bool auth_check_password(struct auth *a, const char *ip, const char *user, const char *hash,
			 const char *password, int64_t now);

/* Starts a session for user (role). Returns it, or NULL (-ENOMEM). The
 * session's token goes into the cookie. */
const struct auth_sess *auth_login(struct auth *a, const char *user, enum reg_role role, int64_t now);
/* The live session of token (refreshing its idle time), or NULL when it
 * is unknown, idle too long or too old (then it is removed). */
const struct auth_sess *auth_lookup(struct auth *a, const char *token, int64_t now);
/* The same without refreshing the idle time (for server-sent event
 * streams, which must not keep a session alive by themselves). */
const struct auth_sess *auth_peek(struct auth *a, const char *token, int64_t now);
void auth_logout(struct auth *a, const char *token);
/* Ends every session of user (deleted, or role changed); returns how many. */
unsigned auth_drop_user(struct auth *a, const char *user);
/* Updates the role of user's live sessions. */
void auth_set_role(struct auth *a, const char *user, enum reg_role role);

const char *auth_sess_token(const struct auth_sess *s);
const char *auth_sess_user(const struct auth_sess *s);
enum reg_role auth_sess_role(const struct auth_sess *s);
const char *auth_sess_csrf(const struct auth_sess *s);
/* true when token is the session's CSRF token (constant-time). */
bool auth_csrf_ok(const struct auth_sess *s, const char *token);

/* A token bound to a value (e.g. a device's MAC, or a pre-login nonce):
 * HMAC (crypto_auth) under a key made at start-up, base64url. out must hold
 * AUTH_TOKEN_LEN + 1 bytes. */
void auth_bind(const struct auth *a, const char *value, char *out);
bool auth_bind_ok(const struct auth *a, const char *value, const char *token);
/* A fresh random token (AUTH_TOKEN_LEN + 1 bytes). */
void auth_random_token(char *out);

#endif
