#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "util.h"

#define DEFAULT_DAYS 825
#define MAX_DAYS 36500
#define FP_LEN (32 * 3) /* "AB:" per byte of SHA-256, the last ':' is the NUL */

struct tls {
	SSL_CTX *ctx;
	bool generated;
	char fp[FP_LEN];
};

static void pkey_freep(EVP_PKEY **p) { EVP_PKEY_free(*p); }
static void x509_freep(X509 **p) { X509_free(*p); }
static void bio_freep(BIO **p) { BIO_free(*p); }
static void bn_freep(BIGNUM **p) { BN_free(*p); }
static void gens_freep(GENERAL_NAMES **p) { GENERAL_NAMES_free(*p); }
static void ctx_freep(SSL_CTX **p) { SSL_CTX_free(*p); }

/* OpenSSL's first (root-cause) queued error as text; the queue is cleared. */
static const char *ssl_reason(char *buf, size_t size)
{
	unsigned long e = ERR_get_error();

	if (e)
		ERR_error_string_n(e, buf, size);
	else
		util_strlcpy(buf, "unknown OpenSSL error", size);
	ERR_clear_error();
	return buf;
}

static int fingerprint(X509 *x, char out[FP_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (X509_digest(x, EVP_sha256(), md, &len) != 1 || len != 32)
		return -ENOMEM;
	for (unsigned i = 0; i < len; i++)
		snprintf(out + 3 * i, 4, "%02X%s", md[i], i + 1 < len ? ":" : "");
	return 0;
}

/* 1 exists, 0 does not, -errno when it cannot be told. */
static int file_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

/* ---- generation ---- */

static bool dns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 253)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '.' || *s == '_' || *s == '*'))
			return false;
	return true;
}

/* The subjectAltName list, built as objects (a name is never parsed as
 * OpenSSL config text). NULL with *err set on failure. */
static GENERAL_NAMES *make_sans(const struct tls_cfg *cfg, int *err)
{
	_cleanup_(gens_freep) GENERAL_NAMES *gens = GENERAL_NAMES_new();

	*err = -ENOMEM;
	if (!gens)
		return NULL;
	for (unsigned i = 0; i < cfg->n_names; i++) {
		const char *name = cfg->names[i];
		GENERAL_NAME *gn;
		ASN1_OCTET_STRING *ip = name ? a2i_IPADDRESS(name) : NULL;

		ERR_clear_error(); /* a2i_IPADDRESS queues nothing useful on "not an address" */
		if (ip) {
			if (!(gn = GENERAL_NAME_new())) {
				ASN1_OCTET_STRING_free(ip);
				return NULL;
			}
			GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
		} else {
			ASN1_IA5STRING *dns;

			if (!name || !dns_name_ok(name)) {
				log_err("portal: certificate name \"%s\" is neither an IP address nor a DNS name",
					name ? name : "(null)");
				*err = -EINVAL;
				return NULL;
			}
			if (!(dns = ASN1_IA5STRING_new()) || !ASN1_STRING_set(dns, name, (int)strlen(name)) ||
			    !(gn = GENERAL_NAME_new())) {
				ASN1_IA5STRING_free(dns);
				return NULL;
			}
			GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
		}
		if (!sk_GENERAL_NAME_push(gens, gn)) {
			GENERAL_NAME_free(gn);
			return NULL;
		}
	}
	*err = 0;
	return steal_ptr(&gens);
}

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1);

	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

static int make_cert(const struct tls_cfg *cfg, EVP_PKEY *pkey, X509 **out)
{
	_cleanup_(x509_freep) X509 *x = X509_new();
	_cleanup_(bn_freep) BIGNUM *serial = BN_new();
	_cleanup_(gens_freep) GENERAL_NAMES *gens = NULL;
	long days = cfg->days ? (long)cfg->days : DEFAULT_DAYS;
	X509_NAME *name;
	X509V3_CTX v3;
	int r;

	if (!x || !serial)
		return -ENOMEM;
	if (days > MAX_DAYS) {
		log_err("portal: certificate validity of %ld days is too long (at most %d)", days, MAX_DAYS);
		return -EINVAL;
	}
	if (!(gens = make_sans(cfg, &r)))
		return r;
	/* A positive serial of exactly 128 random bits. */
	if (!X509_set_version(x, X509_VERSION_3) || !BN_rand(serial, 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)))
		return -ENOMEM;
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL))
		return -ENOMEM;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"apgate", -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, pkey))
		return -ENOMEM;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((r = add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE")) < 0 ||
	    (r = add_ext(x, &v3, NID_key_usage, "critical,digitalSignature")) < 0 ||
	    (r = add_ext(x, &v3, NID_ext_key_usage, "serverAuth")) < 0 ||
	    (r = add_ext(x, &v3, NID_subject_key_identifier, "hash")) < 0)
		return r;
	if (sk_GENERAL_NAME_num(gens) > 0 && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1)
		return -ENOMEM;
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		return -ENOMEM;
	*out = steal_ptr(&x);
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes the PEM in bio to "<path>.tmp.<pid>" with mode, synced; the name in tmp. */
static int write_temp(const char *path, BIO *bio, mode_t mode, char tmp[PATH_MAX])
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	int fd, r;

	if ((size_t)snprintf(tmp, PATH_MAX, "%s.tmp.%ld", path, (long)getpid()) >= PATH_MAX)
		return -ENAMETOOLONG;
	unlink(tmp); /* a leftover of an earlier process with our pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0) { /* umask must not matter */
		r = -errno;
		goto fail;
	}
	if ((r = write_all(fd, data, (size_t)len)) < 0)
		goto fail;
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}


/* fsync of the directory path is in */
static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	int r = util_dir_of(path, dir);

	return r < 0 ? r : util_fsync_dir(dir);
}

/* Both files appear or neither: both are written to temporary names first,
 * then renamed, the key first. */
static int write_pair(const struct tls_cfg *cfg, EVP_PKEY *pkey, X509 *x)
{
	_cleanup_(bio_freep) BIO *kb = BIO_new(BIO_s_mem());
	_cleanup_(bio_freep) BIO *cb = BIO_new(BIO_s_mem());
	char ktmp[PATH_MAX], ctmp[PATH_MAX];
	int r;

	if (!kb || !cb || !PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL) || !PEM_write_bio_X509(cb, x))
		return -ENOMEM;
	if ((r = write_temp(cfg->key_path, kb, 0600, ktmp)) < 0)
		goto fail_none;
	if ((r = write_temp(cfg->cert_path, cb, 0644, ctmp)) < 0)
		goto fail_key_tmp;
	if (rename(ktmp, cfg->key_path) < 0) {
		r = -errno;
		goto fail_tmps;
	}
	if (rename(ctmp, cfg->cert_path) < 0) {
		r = -errno;
		unlink(cfg->key_path);
		goto fail_cert_tmp;
	}
	if ((r = fsync_dir(cfg->key_path)) < 0 || (r = fsync_dir(cfg->cert_path)) < 0) {
		log_err("portal: syncing the directory of %s: %s", cfg->cert_path, strerror(-r));
		return r;
	}
	return 0;
fail_tmps:
	unlink(ktmp);
fail_cert_tmp:
	unlink(ctmp);
	goto fail_none;
fail_key_tmp:
	unlink(ktmp);
fail_none:
	log_err("portal: cannot write a certificate to %s and %s: %s", cfg->cert_path, cfg->key_path, strerror(-r));
	return r;
}

static int generate(const struct tls_cfg *cfg)
{
	_cleanup_(pkey_freep) EVP_PKEY *pkey = NULL;
	_cleanup_(x509_freep) X509 *x = NULL;
	char err[256];
	int r;

	if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
		log_err("portal: generating a key: %s", ssl_reason(err, sizeof(err)));
		return -ENOMEM;
	}
	if ((r = make_cert(cfg, pkey, &x)) < 0) {
		if (r == -ENOMEM)
			log_err("portal: making a certificate: %s", ssl_reason(err, sizeof(err)));
		return r;
	}
	return write_pair(cfg, pkey, x);
}

/* ---- the server context ---- */

static int load(const struct tls_cfg *cfg, SSL_CTX **out)
{
	_cleanup_(ctx_freep) SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	char err[256];

	if (!ctx) {
		log_err("portal: TLS context: %s", ssl_reason(err, sizeof(err)));
		return -ENOMEM;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		log_err("portal: TLS context: %s", ssl_reason(err, sizeof(err)));
		return -ENOMEM;
	}
	/* Session tickets stay on (SSL_OP_NO_TICKET is not set). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_path) != 1) {
		log_err("portal: certificate %s: %s", cfg->cert_path, ssl_reason(err, sizeof(err)));
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_path, SSL_FILETYPE_PEM) != 1) {
		log_err("portal: private key %s: %s", cfg->key_path, ssl_reason(err, sizeof(err)));
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_err("portal: private key %s does not match certificate %s: %s", cfg->key_path, cfg->cert_path,
			ssl_reason(err, sizeof(err)));
		return -EINVAL;
	}
	*out = steal_ptr(&ctx);
	return 0;
}

static void log_generated(const struct tls_cfg *cfg, const char *fp)
{
	char names[512] = "";
	size_t used = 0;

	for (unsigned i = 0; i < cfg->n_names && used < sizeof(names); i++) {
		int n = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", cfg->names[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	log_info("portal: generated a self-signed certificate for %s (SHA-256 %s)", cfg->n_names ? names : "no names",
		 fp);
}

int tls_new(const struct tls_cfg *cfg, struct tls **out)
{
	struct tls *t;
	int has_cert, has_key, r;

	*out = NULL;
	if (!cfg->cert_path || !cfg->key_path || (cfg->n_names && !cfg->names))
		return -EINVAL;
	if ((has_cert = file_exists(cfg->cert_path)) < 0 || (has_key = file_exists(cfg->key_path)) < 0) {
		r = has_cert < 0 ? has_cert : has_key;
		log_err("portal: certificate %s or key %s: %s", cfg->cert_path, cfg->key_path, strerror(-r));
		return r;
	}
	if (has_cert != has_key) {
		log_err("portal: %s exists but %s does not: give both the certificate and its key, or neither "
			"to have a self-signed pair generated",
			has_cert ? cfg->cert_path : cfg->key_path, has_cert ? cfg->key_path : cfg->cert_path);
		return -EINVAL;
	}
	if (!(t = calloc(1, sizeof(*t))))
		return -ENOMEM;
	if (!has_cert) {
		if ((r = generate(cfg)) < 0)
			goto fail;
		t->generated = true;
	}
	if ((r = load(cfg, &t->ctx)) < 0)
		goto fail;
	if ((r = fingerprint(SSL_CTX_get0_certificate(t->ctx), t->fp)) < 0)
		goto fail;
	if (t->generated)
		log_generated(cfg, t->fp);
	else
		log_info("portal: certificate %s (SHA-256 %s)", cfg->cert_path, t->fp);
	*out = t;
	return 0;
fail:
	tls_free(t);
	return r;
}

void tls_free(struct tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

/* evhttp asks for a bufferevent for every accepted connection. When this
 * returns NULL (only when memory runs out) libevent falls back to a plain
 * bufferevent for that one connection, which cannot parse a ClientHello
 * as HTTP and answers with a plain-text error. */
static struct bufferevent *tls_bevcb(struct event_base *base, void *arg)
{
	struct tls *t = arg;
	struct bufferevent *bev;
	SSL *ssl = SSL_new(t->ctx);
	char err[256];

	if (!ssl) {
		log_err("portal: new TLS connection: %s", ssl_reason(err, sizeof(err)));
		return NULL;
	}
	/* The bufferevent owns ssl from here (BEV_OPT_CLOSE_ON_FREE), except on failure. */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		SSL_free(ssl);
		log_err("portal: new TLS connection: out of memory");
		return NULL;
	}
	/* Browsers often close without close_notify; that is not an error here. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

void tls_attach(struct tls *t, struct evhttp *http)
{
	evhttp_set_bevcb(http, tls_bevcb, t);
}

const char *tls_fingerprint(const struct tls *t) { return t->fp; }

bool tls_generated(const struct tls *t) { return t->generated; }
