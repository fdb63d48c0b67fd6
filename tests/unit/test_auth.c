/* Staff sign-in: sessions with idle and absolute expiry on a clock the test
 * controls, the 256-session cap, CSRF and bound tokens, real argon2id
 * password checks, and the throttling of failed logins per address and per
 * user name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/auth.h"
#include "log.h"

#define S 1000 /* ms */
#define T0 1000000

/* idle 60 s, at most 300 s, 3 failures, 10 s lockout */
static const struct auth_cfg cfg = { .idle_s = 60, .max_s = 300, .failures = 3, .lockout_s = 10 };

static int setup(void **state)
{
	struct auth *a = NULL;

	log_open("test_auth", LOG_LVL_ERR, false);
	if (auth_new(&cfg, &a) < 0)
		return -1;
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	auth_free(*state);
	return 0;
}

static bool b64url_only(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_'))
			return false;
	return true;
}

/* ---- sessions ---- */

static void test_login_lookup(void **state)
{
	struct auth *a = *state;
	const struct auth_sess *s, *s2;
	char tok[AUTH_TOKEN_LEN + 1], tok2[AUTH_TOKEN_LEN + 1];

	s = auth_login(a, "anna", REG_ROLE_ADMIN, T0);
	assert_non_null(s);
	assert_string_equal(auth_sess_user(s), "anna");
	assert_int_equal(auth_sess_role(s), REG_ROLE_ADMIN);
	assert_int_equal(strlen(auth_sess_token(s)), AUTH_TOKEN_LEN);
	assert_int_equal(strlen(auth_sess_csrf(s)), AUTH_TOKEN_LEN);
	assert_true(b64url_only(auth_sess_token(s)));
	assert_true(b64url_only(auth_sess_csrf(s)));
	assert_string_not_equal(auth_sess_token(s), auth_sess_csrf(s));
	strcpy(tok, auth_sess_token(s));

	s2 = auth_login(a, "bo", REG_ROLE_APPROVER, T0);
	strcpy(tok2, auth_sess_token(s2));
	assert_string_not_equal(tok, tok2);

	assert_ptr_equal(auth_lookup(a, tok, T0 + 1), s);
	assert_string_equal(auth_sess_user(auth_lookup(a, tok2, T0 + 1)), "bo");
	/* unknown, wrong length, NULL */
	char bad[AUTH_TOKEN_LEN + 1];
	strcpy(bad, tok);
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	assert_null(auth_lookup(a, bad, T0 + 2));
	bad[AUTH_TOKEN_LEN - 1] = '\0';
	assert_null(auth_lookup(a, bad, T0 + 2));
	memcpy(bad, tok, AUTH_TOKEN_LEN - 1);
	assert_null(auth_lookup(a, bad, T0 + 2)); /* a prefix of a real token */
	assert_null(auth_lookup(a, "", T0 + 2));
	assert_null(auth_lookup(a, NULL, T0 + 2));
	assert_null(auth_peek(a, NULL, T0 + 2));

	auth_set_role(a, "bo", REG_ROLE_ADMIN);
	assert_int_equal(auth_sess_role(auth_lookup(a, tok2, T0 + 3)), REG_ROLE_ADMIN);
	assert_int_equal(auth_sess_role(auth_lookup(a, tok, T0 + 3)), REG_ROLE_ADMIN);
}

static void test_idle_expiry(void **state)
{
	struct auth *a = *state;
	char tok[AUTH_TOKEN_LEN + 1];

	strcpy(tok, auth_sess_token(auth_login(a, "anna", REG_ROLE_APPROVER, T0)));
	/* each lookup refreshes the idle time: 59 s steps go on past 60 s */
	assert_non_null(auth_lookup(a, tok, T0 + 59 * S));
	assert_non_null(auth_lookup(a, tok, T0 + 118 * S));
	assert_non_null(auth_lookup(a, tok, T0 + 177 * S));
	/* exactly the idle time is still fine, one ms more is not */
	assert_non_null(auth_peek(a, tok, T0 + 237 * S));
	assert_null(auth_peek(a, tok, T0 + 237 * S + 1));
	assert_null(auth_lookup(a, tok, T0 + 237 * S + 1));
	/* and it is gone for good, even for a clock that went back */
	assert_null(auth_lookup(a, tok, T0 + 200 * S));
}

static void test_absolute_expiry(void **state)
{
	struct auth *a = *state;
	char tok[AUTH_TOKEN_LEN + 1];
	int64_t t;

	strcpy(tok, auth_sess_token(auth_login(a, "anna", REG_ROLE_APPROVER, T0)));
	for (t = T0 + 50 * S; t <= T0 + 300 * S; t += 50 * S)
		assert_non_null(auth_lookup(a, tok, t));
	/* used a moment ago, but 300 s after login it ends */
	assert_null(auth_lookup(a, tok, T0 + 300 * S + 1));
	assert_null(auth_lookup(a, tok, T0 + 300 * S + 2));
}

static void test_peek_does_not_refresh(void **state)
{
	struct auth *a = *state;
	char tok[AUTH_TOKEN_LEN + 1];
	const struct auth_sess *s;

	strcpy(tok, auth_sess_token(auth_login(a, "anna", REG_ROLE_APPROVER, T0)));
	s = auth_peek(a, tok, T0 + 50 * S);
	assert_non_null(s);
	assert_string_equal(auth_sess_user(s), "anna");
	/* had the peek refreshed it, this would be 20 s idle */
	assert_null(auth_peek(a, tok, T0 + 70 * S));
	assert_null(auth_lookup(a, tok, T0 + 70 * S));
}

static void test_logout_and_drop(void **state)
{
	struct auth *a = *state;
	char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1], t3[AUTH_TOKEN_LEN + 1], t4[AUTH_TOKEN_LEN + 1];

	strcpy(t1, auth_sess_token(auth_login(a, "anna", REG_ROLE_APPROVER, T0)));
	strcpy(t2, auth_sess_token(auth_login(a, "anna", REG_ROLE_APPROVER, T0)));
	strcpy(t3, auth_sess_token(auth_login(a, "anna", REG_ROLE_APPROVER, T0)));
	strcpy(t4, auth_sess_token(auth_login(a, "bo", REG_ROLE_ADMIN, T0)));

	auth_logout(a, t1);
	assert_null(auth_lookup(a, t1, T0 + 1));
	assert_non_null(auth_lookup(a, t2, T0 + 1));
	auth_logout(a, t1);   /* twice: nothing */
	auth_logout(a, NULL);
	auth_logout(a, "short");

	assert_int_equal(auth_drop_user(a, "anna"), 2);
	assert_null(auth_lookup(a, t2, T0 + 2));
	assert_null(auth_lookup(a, t3, T0 + 2));
	assert_non_null(auth_lookup(a, t4, T0 + 2));
	assert_int_equal(auth_drop_user(a, "anna"), 0);
	assert_int_equal(auth_drop_user(a, "an"), 0);
	assert_non_null(auth_lookup(a, t4, T0 + 3));
}

static void test_session_cap(void **state)
{
	struct auth *a = *state;
	static char tok[AUTH_MAX_SESSIONS + 1][AUTH_TOKEN_LEN + 1];
	char name[16];
	int64_t now = T0;

	for (unsigned i = 0; i < AUTH_MAX_SESSIONS; i++) {
		snprintf(name, sizeof(name), "u%u", i);
		const struct auth_sess *s = auth_login(a, name, REG_ROLE_APPROVER, now++);
		assert_non_null(s);
		strcpy(tok[i], auth_sess_token(s));
	}
	for (unsigned i = 0; i < AUTH_MAX_SESSIONS; i++)
		assert_non_null(auth_peek(a, tok[i], now));
	/* session 0 is used again: session 1 is now the least recently used */
	assert_non_null(auth_lookup(a, tok[0], now++));
	strcpy(tok[AUTH_MAX_SESSIONS], auth_sess_token(auth_login(a, "new", REG_ROLE_APPROVER, now++)));
	assert_null(auth_peek(a, tok[1], now));
	assert_non_null(auth_peek(a, tok[0], now));
	assert_non_null(auth_peek(a, tok[AUTH_MAX_SESSIONS], now));
	for (unsigned i = 2; i < AUTH_MAX_SESSIONS; i++)
		assert_non_null(auth_peek(a, tok[i], now));
	/* the next one pushes out session 2 */
	auth_login(a, "newer", REG_ROLE_APPROVER, now++);
	assert_null(auth_peek(a, tok[2], now));
	assert_non_null(auth_peek(a, tok[3], now));
}

/* ---- CSRF and bound tokens ---- */

static void test_csrf(void **state)
{
	struct auth *a = *state;
	const struct auth_sess *s = auth_login(a, "anna", REG_ROLE_APPROVER, T0);
	const struct auth_sess *s2 = auth_login(a, "bo", REG_ROLE_APPROVER, T0);
	char c[AUTH_TOKEN_LEN + 2];

	strcpy(c, auth_sess_csrf(s));
	assert_true(auth_csrf_ok(s, c));
	assert_false(auth_csrf_ok(s2, c));              /* another session's */
	assert_false(auth_csrf_ok(s, auth_sess_token(s))); /* the cookie is not the CSRF token */
	c[10] = c[10] == 'x' ? 'y' : 'x';
	assert_false(auth_csrf_ok(s, c));
	strcpy(c, auth_sess_csrf(s));
	c[AUTH_TOKEN_LEN - 1] = '\0';                   /* too short */
	assert_false(auth_csrf_ok(s, c));
	strcpy(c, auth_sess_csrf(s));
	strcat(c, "A");                                 /* too long */
	assert_false(auth_csrf_ok(s, c));
	assert_false(auth_csrf_ok(s, ""));
	assert_false(auth_csrf_ok(s, NULL));
	assert_false(auth_csrf_ok(NULL, auth_sess_csrf(s)));
}

static void test_bind(void **state)
{
	struct auth *a = *state, *other = NULL;
	char t1[AUTH_TOKEN_LEN + 1], t2[AUTH_TOKEN_LEN + 1], t3[AUTH_TOKEN_LEN + 1], x[AUTH_TOKEN_LEN + 2];

	auth_bind(a, "02:00:00:00:00:01", t1);
	auth_bind(a, "02:00:00:00:00:01", t2);
	auth_bind(a, "02:00:00:00:00:02", t3);
	assert_int_equal(strlen(t1), AUTH_TOKEN_LEN);
	assert_true(b64url_only(t1));
	assert_string_equal(t1, t2);   /* the same value, the same token */
	assert_string_not_equal(t1, t3);
	assert_true(auth_bind_ok(a, "02:00:00:00:00:01", t1));
	assert_false(auth_bind_ok(a, "02:00:00:00:00:02", t1));
	assert_false(auth_bind_ok(a, "02:00:00:00:00:01", t3));
	strcpy(x, t1);
	x[20] = x[20] == 'Q' ? 'R' : 'Q';
	assert_false(auth_bind_ok(a, "02:00:00:00:00:01", x));
	strcpy(x, t1);
	x[AUTH_TOKEN_LEN - 1] = '\0';
	assert_false(auth_bind_ok(a, "02:00:00:00:00:01", x));
	strcpy(x, t1);
	strcat(x, "A");
	assert_false(auth_bind_ok(a, "02:00:00:00:00:01", x));
	assert_false(auth_bind_ok(a, "02:00:00:00:00:01", NULL));
	assert_false(auth_bind_ok(a, NULL, t1));
	assert_false(auth_bind_ok(a, "02:00:00:00:00:01", ""));

	/* another start-up, another key: old tokens no longer pass */
	assert_int_equal(auth_new(&cfg, &other), 0);
	assert_false(auth_bind_ok(other, "02:00:00:00:00:01", t1));
	auth_free(other);

	auth_random_token(t2);
	auth_random_token(t3);
	assert_int_equal(strlen(t2), AUTH_TOKEN_LEN);
	assert_true(b64url_only(t2));
	assert_string_not_equal(t2, t3);
}

/* ---- passwords and throttling ---- */

static char hash[crypto_pwhash_STRBYTES];

static int setup_hash(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	/* what apgatectl stores */
	return crypto_pwhash_str(hash, "correct horse battery", strlen("correct horse battery"),
				 crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static void test_password(void **state)
{
	struct auth *a = *state;

	assert_true(auth_check_password(a, "10.0.0.1", "anna", hash, "correct horse battery", T0));
	assert_false(auth_check_password(a, "10.0.0.1", "anna", hash, "correct horse batterx", T0));
	assert_false(auth_check_password(a, "10.0.0.1", "anna", hash, "", T0));
	assert_false(auth_check_password(a, "10.0.0.1", "anna", hash, NULL, T0));
	/* no such user: false, whatever the password */
	assert_false(auth_check_password(a, "10.0.0.2", "ghost", NULL, "correct horse battery", T0));
	assert_false(auth_check_password(a, "10.0.0.2", "ghost", NULL, "", T0));
	/* a hash that is not one */
	assert_false(auth_check_password(a, "10.0.0.3", "odd", "$argon2id$nonsense", "x", T0));
	/* and the right one still works */
	assert_true(auth_check_password(a, "10.0.0.4", "anna", hash, "correct horse battery", T0));
}

static void fail_n(struct auth *a, const char *ip, const char *user, unsigned n, int64_t now)
{
	for (unsigned i = 0; i < n; i++)
		assert_false(auth_check_password(a, ip, user, hash, "wrong password", now));
}

static void test_throttle_lockout(void **state)
{
	struct auth *a = *state;
	unsigned retry = 99;

	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", T0, &retry), 0);
	assert_int_equal(retry, 0);
	fail_n(a, "10.0.0.1", "anna", 2, T0);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", T0, &retry), 0);
	fail_n(a, "10.0.0.1", "anna", 1, T0);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", T0, &retry), -EAGAIN);
	assert_int_equal(retry, 10);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", T0 + 4 * S, &retry), -EAGAIN);
	assert_int_equal(retry, 6);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", T0 + 10 * S - 1, &retry), -EAGAIN);
	assert_int_equal(retry, 1);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", T0, NULL), -EAGAIN);
	/* the address is locked for any user, the user from any address */
	assert_int_equal(auth_throttled(a, "10.0.0.1", "bo", T0, &retry), -EAGAIN);
	assert_int_equal(auth_throttled(a, "10.0.0.1", NULL, T0, &retry), -EAGAIN);
	assert_int_equal(auth_throttled(a, "10.0.0.9", "anna", T0, &retry), -EAGAIN);
	assert_int_equal(retry, 10);
	/* others are not */
	assert_int_equal(auth_throttled(a, "10.0.0.9", "bo", T0, &retry), 0);
	assert_int_equal(retry, 0);
	/* the lockout is over when its time has passed */
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", T0 + 10 * S, &retry), 0);
	assert_int_equal(retry, 0);
}

static void test_throttle_per_address(void **state)
{
	struct auth *a = *state;
	unsigned retry;

	/* one address tries three names */
	fail_n(a, "10.0.0.1", "u1", 1, T0);
	fail_n(a, "10.0.0.1", "u2", 1, T0);
	fail_n(a, "10.0.0.1", "u3", 1, T0);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "u4", T0, &retry), -EAGAIN);
	assert_int_equal(retry, 10);
	/* the names themselves are not locked from elsewhere */
	assert_int_equal(auth_throttled(a, "10.0.0.2", "u1", T0, &retry), 0);
	assert_int_equal(auth_throttled(a, "10.0.0.2", "u3", T0, &retry), 0);
	/* an unknown user name counts against the address too */
	for (int i = 0; i < 3; i++)
		assert_false(auth_check_password(a, "10.0.0.5", "ghost", NULL, "x", T0));
	assert_int_equal(auth_throttled(a, "10.0.0.5", "anna", T0, &retry), -EAGAIN);
}

static void test_throttle_per_user(void **state)
{
	struct auth *a = *state;
	unsigned retry;

	/* three addresses try one name */
	fail_n(a, "10.0.0.1", "anna", 1, T0);
	fail_n(a, "10.0.0.2", "anna", 1, T0);
	fail_n(a, "10.0.0.3", "anna", 1, T0);
	assert_int_equal(auth_throttled(a, "10.0.0.4", "anna", T0, &retry), -EAGAIN);
	assert_int_equal(retry, 10);
	/* the addresses may still sign in as someone else */
	assert_int_equal(auth_throttled(a, "10.0.0.1", "bo", T0, &retry), 0);
	assert_int_equal(auth_throttled(a, "10.0.0.3", "bo", T0, &retry), 0);
	assert_int_equal(auth_throttled(a, "10.0.0.3", NULL, T0, &retry), 0);
}

static void test_throttle_doubling(void **state)
{
	struct auth *a = *state;
	unsigned retry;
	int64_t now = T0;

	fail_n(a, "10.0.0.1", "anna", 3, now);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", now, &retry), -EAGAIN);
	assert_int_equal(retry, 10);
	/* each further failure (after waiting) doubles the lockout, up to 16x */
	static const unsigned want[] = { 20, 40, 80, 160, 160 };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		now += (int64_t)retry * S;
		assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", now, &retry), 0);
		fail_n(a, "10.0.0.1", "anna", 1, now);
		assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", now, &retry), -EAGAIN);
		assert_int_equal(retry, want[i]);
	}
}

static void test_throttle_success_clears(void **state)
{
	struct auth *a = *state;
	unsigned retry;
	int64_t now = T0;

	fail_n(a, "10.0.0.1", "anna", 2, now);
	assert_true(auth_check_password(a, "10.0.0.1", "anna", hash, "correct horse battery", now));
	/* two more failures would have been four: nothing locked */
	fail_n(a, "10.0.0.1", "anna", 2, now);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", now, &retry), 0);
	fail_n(a, "10.0.0.1", "anna", 1, now);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", now, &retry), -EAGAIN);
	/* after the lockout, a good password clears the count: the next
	 * failure starts from one again, not 2x */
	now += 10 * S;
	assert_true(auth_check_password(a, "10.0.0.1", "anna", hash, "correct horse battery", now));
	fail_n(a, "10.0.0.1", "anna", 2, now);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", now, &retry), 0);
	fail_n(a, "10.0.0.1", "anna", 1, now);
	assert_int_equal(auth_throttled(a, "10.0.0.1", "anna", now, &retry), -EAGAIN);
	assert_int_equal(retry, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absolute_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peek_does_not_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logout_and_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csrf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_lockout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_per_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_per_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_doubling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle_success_clears, setup, teardown),
	};

	return cmocka_run_group_tests_name("auth", tests, setup_hash, NULL);
}
