/* tls.h - TLS for the staff portal: the certificate and key from the
 * configuration, or a self-signed pair generated on first start, an
 * OpenSSL server context, and the bufferevent factory that makes a libevent
 * evhttp server speak HTTPS.
 *
 * A generated certificate: EC P-256 key, X.509 v3, subject CN "apgate",
 * subjectAltName = the names given (IP addresses as iPAddress, anything
 * else as dNSName), valid from an hour ago for `days` days, SHA-256
 * signature. The key file is written 0600 and both files are written to a
 * temporary name and renamed (never a half-written key). Its SHA-256
 * fingerprint is logged at info level so an admin can compare it with what
 * the browser shows.
 *
 * TLS 1.2 and 1.3 only. Errors are negative errno values; OpenSSL's own
 * message is logged.
 */
#ifndef APGATE_TLS_H
#define APGATE_TLS_H

#include <stdbool.h>

struct evhttp;
struct tls;

struct tls_cfg {
	const char *cert_path;        /* PEM certificate (chain allowed) */
	const char *key_path;         /* PEM private key */
	const char *const *names;     /* subjectAltName entries for a generated certificate */
	unsigned n_names;
	unsigned days;                /* validity of a generated certificate; 0 = 825 */
};

/* Loads cert_path and key_path. When neither file exists both are
 * generated (then tls_generated() is true). Errors: only one of the two
 * exists, unreadable or not PEM, or the key does not match the certificate
 * -> -EINVAL (logged with the path and OpenSSL's reason); a directory that
 * cannot be written -> its -errno. *out is freed with tls_free(). */
int tls_new(const struct tls_cfg *cfg, struct tls **out);
void tls_free(struct tls *t); /* NULL is fine */

/* Makes every connection evhttp accepts a TLS server connection (it
 * installs a bufferevent callback with evhttp_set_bevcb). t must outlive
 * http. */
void tls_attach(struct tls *t, struct evhttp *http);

/* "AB:CD:..." SHA-256 of the certificate (DER), owned by t. */
const char *tls_fingerprint(const struct tls *t);
bool tls_generated(const struct tls *t);

#endif
