/* tls: the generated certificate as a browser would read it (SANs, CN,
 * validity, key usage, fingerprint), the key file's mode, loading it again,
 * refusals (one file missing, a foreign key, garbage, an unwritable
 * directory) that create nothing, and real HTTPS exchanges with evhttp:
 * a verifying client gets 200 "hello", a TLS 1.1 client and a plain-HTTP
 * client get no answer and the server keeps serving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/util.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "front/tls.h"

static char dir[] = "/tmp/apgate-tls-XXXXXX";
static const char *const names[] = { "127.0.0.1", "fd00:ab::1", "portal.shop.example" };

static char *path(const char *sub, const char *name)
{
	static char buf[4][512];
	static unsigned i;
	char *p = buf[i++ % 4];

	snprintf(p, sizeof(buf[0]), "%s%s%s/%s", dir, *sub ? "/" : "", sub, name);
	return p;
}

/* A fresh subdirectory of dir; its path. */
static const char *subdir(const char *sub)
{
	static char p[4][512];
	static unsigned i;
	char *s = p[i++ % 4];

	snprintf(s, sizeof(p[0]), "%s/%s", dir, sub);
	assert_int_equal(mkdir(s, 0755), 0);
	return s;
}

static unsigned count_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	unsigned n = 0;

	assert_non_null(dp);
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

static X509 *read_cert(const char *p)
{
	FILE *f = fopen(p, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void fp_of(X509 *x, char out[96])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int len = i2d_X509(x, &der);

	assert_true(len > 0);
	assert_int_equal(EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL), 1);
	OPENSSL_free(der);
	assert_int_equal(mdlen, 32);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 3 * i, 4, "%02X%s", md[i], i < 31 ? ":" : "");
}

static struct tls_cfg cfg_in(const char *sub, const char *cert, const char *key)
{
	struct tls_cfg c = {
		.cert_path = strdup(path(sub, cert)),
		.key_path = strdup(path(sub, key)),
		.names = names,
		.n_names = 3,
	};
	return c;
}

static void cfg_free(struct tls_cfg *c)
{
	free((char *)c->cert_path);
	free((char *)c->key_path);
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return timegm(&tm);
}

/* (1) and (2): generate, inspect, load again. */
static void test_generate_then_load(void **state)
{
	struct tls_cfg c = cfg_in("", "portal.crt", "portal.key");
	struct tls *t = NULL, *t2 = NULL;
	struct stat st;
	X509 *x;
	GENERAL_NAMES *gens;
	BIGNUM *serial;
	char fp[96], *cn;
	unsigned char ip4[4], ip6[16];
	int day, sec, found = 0;
	time_t now = time(NULL);

	(void)state;
	assert_int_equal(tls_new(&c, &t), 0);
	assert_non_null(t);
	assert_true(tls_generated(t));
	assert_int_equal(count_entries(dir), 2); /* nothing else: no temporaries left */
	assert_int_equal(stat(c.key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(c.cert_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	x = read_cert(c.cert_path);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	cn = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
	assert_string_equal(cn, "/CN=apgate");
	OPENSSL_free(cn);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)), 0);

	/* validity: from an hour ago, 825 days on from now */
	assert_true(llabs((long long)(asn1_to_time(X509_get0_notBefore(x)) - (now - 3600))) < 60);
	assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
	assert_int_equal(day, 825);
	assert_int_equal(sec, 3600);

	/* SANs: the IPv4, the IPv6 and the DNS name, in that order */
	assert_int_equal(inet_pton(AF_INET, names[0], ip4), 1);
	assert_int_equal(inet_pton(AF_INET6, names[1], ip6), 1);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 3);
	for (int i = 0; i < 3; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		int type;
		ASN1_STRING *v = GENERAL_NAME_get0_value(g, &type);

		if (i == 0) {
			assert_int_equal(type, GEN_IPADD);
			assert_int_equal(ASN1_STRING_length(v), 4);
			assert_memory_equal(ASN1_STRING_get0_data(v), ip4, 4);
		} else if (i == 1) {
			assert_int_equal(type, GEN_IPADD);
			assert_int_equal(ASN1_STRING_length(v), 16);
			assert_memory_equal(ASN1_STRING_get0_data(v), ip6, 16);
		} else {
			assert_int_equal(type, GEN_DNS);
			assert_int_equal(ASN1_STRING_length(v), (int)strlen(names[2]));
			assert_memory_equal(ASN1_STRING_get0_data(v), names[2], strlen(names[2]));
		}
		found++;
	}
	assert_int_equal(found, 3);
	GENERAL_NAMES_free(gens);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(x, "fd00:ab::1", 0), 1);
	assert_int_equal(X509_check_host(x, "portal.shop.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(x, "apgate", 0, 0, NULL), 0); /* CN is not a name */

	/* a leaf for a web server, EC P-256, signed with SHA-256, 128-bit serial */
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_extension_flags(x) & EXFLAG_BCONS);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_true(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 256);
	assert_true(EVP_PKEY_is_a(X509_get0_pubkey(x), "EC"));
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_int_equal(BN_num_bits(serial), 128);
	assert_false(BN_is_negative(serial));
	BN_free(serial);

	fp_of(x, fp);
	assert_string_equal(tls_fingerprint(t), fp);
	X509_free(x);

	/* (2) the next start loads the same pair */
	assert_int_equal(tls_new(&c, &t2), 0);
	assert_false(tls_generated(t2));
	assert_string_equal(tls_fingerprint(t2), tls_fingerprint(t));
	assert_int_equal(count_entries(dir), 2);
	tls_free(t2);
	tls_free(t);
	tls_free(NULL);

	/* a second pair in another place has another key and serial */
	{
		struct tls_cfg c2 = cfg_in("", "b.crt", "b.key");
		c2.days = 30;
		assert_int_equal(tls_new(&c2, &t2), 0);
		assert_string_not_equal(tls_fingerprint(t2), fp);
		x = read_cert(c2.cert_path);
		assert_int_equal(ASN1_TIME_diff(&day, &sec, X509_get0_notBefore(x), X509_get0_notAfter(x)), 1);
		assert_int_equal(day, 30);
		X509_free(x);
		tls_free(t2);
		unlink(c2.cert_path);
		unlink(c2.key_path);
		cfg_free(&c2);
	}
	cfg_free(&c);
}

static void write_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
	char buf[8192];
	FILE *f = fopen(from, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	buf[n] = '\0';
	write_file(to, buf);
}

/* (3) refusals: -EINVAL or -errno, and nothing is created. */
static void test_refusals(void **state)
{
	struct tls_cfg a, b, c;
	struct tls *t = (struct tls *)&t; /* must be reset to NULL */
	const char *d;

	(void)state;
	/* only one file: the other one is not created */
	d = subdir("one");
	a = cfg_in("one", "x.crt", "x.key");
	write_file(a.cert_path, "");
	assert_int_equal(tls_new(&a, &t), -EINVAL);
	assert_null(t);
	assert_int_equal(access(a.key_path, F_OK), -1);
	assert_int_equal(count_entries(d), 1);
	unlink(a.cert_path);
	write_file(a.key_path, "");
	assert_int_equal(tls_new(&a, &t), -EINVAL);
	assert_int_equal(access(a.cert_path, F_OK), -1);
	assert_int_equal(count_entries(d), 1);
	unlink(a.key_path);

	/* a key that belongs to another certificate */
	subdir("p1");
	subdir("p2");
	b = cfg_in("p1", "c.crt", "c.key");
	c = cfg_in("p2", "c.crt", "c.key");
	assert_int_equal(tls_new(&b, &t), 0);
	tls_free(t);
	assert_int_equal(tls_new(&c, &t), 0);
	tls_free(t);
	copy_file(b.key_path, a.key_path);
	copy_file(c.cert_path, a.cert_path);
	assert_int_equal(tls_new(&a, &t), -EINVAL);
	assert_null(t);

	/* garbage in the certificate, then in the key */
	write_file(a.cert_path, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
	copy_file(b.key_path, a.key_path);
	assert_int_equal(tls_new(&a, &t), -EINVAL);
	write_file(a.cert_path, "hello\n");
	assert_int_equal(tls_new(&a, &t), -EINVAL);
	copy_file(b.cert_path, a.cert_path);
	assert_int_equal(tls_new(&a, &t), 0); /* the right pair, copied: fine */
	assert_false(tls_generated(t));
	tls_free(t);
	write_file(a.key_path, "garbage\n");
	assert_int_equal(tls_new(&a, &t), -EINVAL);
	assert_null(t);
	/* a certificate file that cannot be read (a directory) */
	unlink(a.cert_path);
	assert_int_equal(mkdir(a.cert_path, 0755), 0);
	assert_int_equal(tls_new(&a, &t), -EINVAL);
	rmdir(a.cert_path);
	unlink(a.key_path);
	assert_int_equal(count_entries(d), 0);
	cfg_free(&a);
	cfg_free(&b);
	cfg_free(&c);

	/* a directory that does not exist */
	a = cfg_in("missing", "x.crt", "x.key");
	assert_int_equal(tls_new(&a, &t), -ENOENT);
	assert_null(t);
	cfg_free(&a);

	/* an unwritable directory, as an unprivileged user */
	d = subdir("ro");
	assert_int_equal(chmod(d, 0555), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	a = cfg_in("ro", "x.crt", "x.key");
	{
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			int r;

			if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
				_exit(100);
			r = tls_new(&a, &t);
			tls_free(t);
			_exit(r < 0 ? -r : 101);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), EACCES);
	}
	assert_int_equal(count_entries(d), 0);
	cfg_free(&a);
	assert_int_equal(chmod(dir, 0700), 0);

	/* a name that is neither an address nor a DNS name */
	{
		const char *bad[] = { "127.0.0.1", "a b,DNS:evil" };
		a = cfg_in("one", "x.crt", "x.key");
		a.names = bad;
		a.n_names = 2;
		assert_int_equal(tls_new(&a, &t), -EINVAL);
		assert_int_equal(count_entries(path("one", "")), 0);
		cfg_free(&a);
	}
}

/* ---- HTTPS through evhttp ---- */

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct tls *tls;
	unsigned short port;
	unsigned requests;
	struct tls_cfg cfg;
};

static void hello_cb(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	struct evbuffer *b = evbuffer_new();

	s->requests++;
	evbuffer_add_printf(b, "hello");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void server_start(struct server *s)
{
	struct evhttp_bound_socket *h;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->cfg = cfg_in("", "portal.crt", "portal.key"); /* made by test_generate_then_load or now */
	assert_int_equal(tls_new(&s->cfg, &s->tls), 0);
	assert_non_null(s->base = event_base_new());
	assert_non_null(s->http = evhttp_new(s->base));
	tls_attach(s->tls, s->http);
	evhttp_set_gencb(s->http, hello_cb, s);
	assert_non_null(h = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0));
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
}

static void server_stop(struct server *s)
{
	evhttp_free(s->http);
	event_base_free(s->base);
	tls_free(s->tls);
	cfg_free(&s->cfg);
}

static int connect_nb(unsigned short port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 || errno == EINPROGRESS);
	return fd;
}

/* Lets the server run a little while the client waits for fd. */
static void pump(struct server *s, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	event_base_loop(s->base, EVLOOP_NONBLOCK);
	poll(&p, 1, 5);
	event_base_loop(s->base, EVLOOP_NONBLOCK);
}

#define DEADLINE_MS 5000

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs op (SSL_connect/read/write) until it neither wants to read nor to write. */
#define SSL_RUN(s, ssl, fd, call)                                                                \
	({                                                                                       \
		long long end_ = mono_ms() + DEADLINE_MS;                                        \
		int r_;                                                                          \
		for (;;) {                                                                       \
			int e_;                                                                  \
			r_ = (call);                                                             \
			if (r_ > 0)                                                              \
				break;                                                           \
			e_ = SSL_get_error(ssl, r_);                                             \
			if ((e_ != SSL_ERROR_WANT_READ && e_ != SSL_ERROR_WANT_WRITE) ||         \
			    mono_ms() > end_)                                                    \
				break;                                                           \
			pump(s, fd, e_ == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);               \
		}                                                                                \
		r_;                                                                              \
	})

static SSL_CTX *client_ctx(const char *ca_file)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca_file, NULL), 1);
	assert_int_equal(X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

/* A verifying HTTPS GET; the whole answer (headers and body) in out. 0 or -1. */
static int https_get(struct server *s, SSL_CTX *ctx, const char *ip, char *out, size_t size)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	int fd = connect_nb(s->port);
	SSL *ssl = SSL_new(ctx);
	size_t got = 0;
	int r = -1;

	assert_non_null(ssl);
	assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), ip), 1);
	SSL_set_fd(ssl, fd);
	if (SSL_RUN(s, ssl, fd, SSL_connect(ssl)) != 1)
		goto out;
	assert_int_equal(SSL_get_verify_result(ssl), X509_V_OK);
	assert_true(SSL_version(ssl) >= TLS1_2_VERSION);
	if (SSL_RUN(s, ssl, fd, SSL_write(ssl, req, (int)strlen(req))) != (int)strlen(req))
		goto out;
	while (got + 1 < size) {
		int n = SSL_RUN(s, ssl, fd, SSL_read(ssl, out + got, (int)(size - 1 - got)));
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r = 0;
out:
	out[got] = '\0';
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	return r;
}

static void assert_hello(const char *answer)
{
	size_t n = strlen(answer);

	assert_true(strncmp(answer, "HTTP/1.1 200", 12) == 0);
	assert_non_null(strstr(answer, "\r\n\r\n"));
	assert_true(n >= 5 && strcmp(answer + n - 5, "hello") == 0);
	assert_string_equal(strstr(answer, "\r\n\r\n") + 4, "hello");
}

/* (4) a verifying client gets the page; TLS 1.1 and a wrong IP do not. */
static void test_https(void **state)
{
	struct server s;
	SSL_CTX *ctx;
	char answer[4096];

	(void)state;
	server_start(&s);
	ctx = client_ctx(s.cfg.cert_path);
	assert_int_equal(https_get(&s, ctx, "127.0.0.1", answer, sizeof(answer)), 0);
	assert_hello(answer);
	assert_int_equal(s.requests, 1);

	/* the same certificate does not pass for another address */
	assert_int_equal(https_get(&s, ctx, "127.0.0.2", answer, sizeof(answer)), -1);
	assert_string_equal(answer, "");
	SSL_CTX_free(ctx);

	/* a client that speaks TLS 1.1 at most (its own security level lowered so
	 * that it does offer TLS 1.1) is refused by the server */
	ctx = client_ctx(s.cfg.cert_path);
	SSL_CTX_set_security_level(ctx, 0);
	assert_int_equal(SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0"), 1);
	assert_int_equal(SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION), 1);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION), 1);
	assert_int_equal(https_get(&s, ctx, "127.0.0.1", answer, sizeof(answer)), -1);
	assert_string_equal(answer, "");
	SSL_CTX_free(ctx);
	assert_int_equal(s.requests, 1);

	/* TLS 1.2 exactly still works */
	ctx = client_ctx(s.cfg.cert_path);
	assert_int_equal(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION), 1);
	assert_int_equal(https_get(&s, ctx, "127.0.0.1", answer, sizeof(answer)), 0);
	assert_hello(answer);
	SSL_CTX_free(ctx);
	assert_int_equal(s.requests, 2);
	server_stop(&s);
}

/* (5) plain HTTP to the TLS port gets no HTTP answer; TLS still works after. */
static void test_plain_http_refused(void **state)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
	struct server s;
	SSL_CTX *ctx;
	char answer[4096];
	size_t got = 0;
	bool closed = false;
	long long end;
	int fd;

	(void)state;
	server_start(&s);
	fd = connect_nb(s.port);
	end = mono_ms() + DEADLINE_MS;
	for (size_t off = 0; off < strlen(req) && mono_ms() < end;) {
		ssize_t n = send(fd, req + off, strlen(req) - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else
			pump(&s, fd, POLLOUT);
	}
	while (!closed && mono_ms() < end && got + 1 < sizeof(answer)) {
		ssize_t n = recv(fd, answer + got, sizeof(answer) - 1 - got, 0);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			closed = true;
		else
			pump(&s, fd, POLLIN);
	}
	answer[got] = '\0';
	close(fd);
	assert_true(closed); /* the server hung up rather than waiting */
	assert_null(strstr(answer, "HTTP/"));
	assert_int_equal(s.requests, 0);

	ctx = client_ctx(s.cfg.cert_path);
	assert_int_equal(https_get(&s, ctx, "127.0.0.1", answer, sizeof(answer)), 0);
	assert_hello(answer);
	SSL_CTX_free(ctx);
	assert_int_equal(s.requests, 1);
	server_stop(&s);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	chmod(p, 0700); /* the read-only directory */
	return remove(p);
}

static int teardown(void **state)
{
	(void)state;
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_then_load),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_https),
		cmocka_unit_test(test_plain_http_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
