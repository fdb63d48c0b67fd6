/* The privileged helper's message checks (controller/priv/privd.c): every
 * request is a fixed struct of exactly its type's size; malformed ones
 * (short, oversized, unknown type, header/datagram length disagreeing,
 * padding not zero, multicast or zero MAC, access out of range, interface
 * names not NUL-terminated or not configured, bounce not 0/1, a table
 * piece without a beginning or beyond its announced size) are refused
 * with -EBADMSG/-EINVAL and counted, and the helper keeps serving: a good
 * request right after works. The firewall backend and the link writer are
 * fakes; privd_serve runs for real on a socketpair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/fw_plan.h"
#include "log.h"
#include "priv/privd.h"

/* ---- fakes ---- */

static struct {
	unsigned commits, isolates, moves;
	unsigned last_marks;     /* rules in APGATE_MARK at the last mangle commit */
	char bridge[16], port[16];
	int ifindex;
	bool bounce;
} fk;

static int fake_commit(void *ud, const struct fw_table *t)
{
	(void)ud;
	fk.commits++;
	for (unsigned i = 0; i < t->n_chains; i++)
		if (strcmp(t->chains[i].name, "APGATE_MARK") == 0 && t->family == AF_INET)
			fk.last_marks = t->chains[i].n;
	return 0;
}

static int fake_flush(void *ud, int family, const char *table)
{
	(void)ud;
	(void)family;
	(void)table;
	return 0;
}

static const struct fw_ops fake_fw = { .name = "fake", .commit = fake_commit, .flush = fake_flush };

static int fake_isolate(void *ud, const char *bridge, int ifindex)
{
	(void)ud;
	fk.isolates++;
	snprintf(fk.bridge, sizeof(fk.bridge), "%s", bridge);
	fk.ifindex = ifindex;
	return 0;
}

static int fake_move(void *ud, const char *port, const char *bridge, bool bounce)
{
	(void)ud;
	fk.moves++;
	snprintf(fk.port, sizeof(fk.port), "%s", port);
	snprintf(fk.bridge, sizeof(fk.bridge), "%s", bridge);
	fk.bounce = bounce;
	return 1;
}

static const struct linkw_ops fake_link = { .isolate = fake_isolate, .move = fake_move };

/* ---- fixture ---- */

static char dir[64], conf[96];

static int setup(void **state)
{
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/test_privd-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/apgate.conf", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[apgated]\nregistry = %s/r.db\nadmin_socket = %s/a.sock\noui_dir =\n"
		   "[hostapd]\nctrl_dir = %s/ctrl\nclient_dir = %s/client\n"
		   "[bss ap0]\nzone = work\n"
		   "[zone work]\ninterface = br-work\naddress = 10.77.0.1/24\n"
		   "[zone guest]\ninterface = br-guest\naddress = 10.78.0.1/24\n"
		   "[zone onboarding]\ninterface = br-onb\naddress = 10.79.0.1/24\n"
		   "[network]\nuplink = up0\nmasquerade = yes\nwired_ports = lan1 lan2\n",
		dir, dir, dir, dir);
	fclose(f);
	memset(&fk, 0, sizeof(fk));
	struct privd *p = NULL;
	assert_int_equal(privd_new(conf, &fake_fw, NULL, &fake_link, NULL, &p), 0);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	privd_free(*state);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct priv_rep rep;

static int send_msg(struct privd *p, void *m, size_t len, uint32_t type)
{
	struct priv_hdr *h = m;

	h->type = type;
	h->len = (uint32_t)len;
	h->seq = 77;
	h->zero = 0;
	return privd_handle(p, m, len, &rep);
}

static int ping(struct privd *p)
{
	struct priv_empty e = { 0 };
	return send_msg(p, &e, sizeof(e), PRIV_PING);
}

static const uint8_t MAC1[6] = { 0x02, 0, 0, 0, 0, 1 }, MAC2[6] = { 0x02, 0, 0, 0, 0, 2 };

/* BEGIN(n) + one piece + END with devs */
static int sync_table(struct privd *p, const struct priv_dev *d, unsigned n)
{
	struct priv_fw_sync_begin b = { .total = n };
	struct priv_fw_sync_devs *m = calloc(1, sizeof(*m));
	struct priv_empty e = { 0 };
	int r;

	assert_non_null(m);
	r = send_msg(p, &b, sizeof(b), PRIV_FW_SYNC_BEGIN);
	if (r == 0 && n) {
		m->n = n;
		memcpy(m->dev, d, n * sizeof(*d));
		r = send_msg(p, m, sizeof(*m), PRIV_FW_SYNC_DEVS);
	}
	free(m);
	if (r == 0)
		r = send_msg(p, &e, sizeof(e), PRIV_FW_SYNC_END);
	return r;
}

/* ---- tests ---- */

static void test_good_requests(void **state)
{
	struct privd *p = *state;
	struct priv_dev d[2] = { { .access = FW_WORK }, { .access = FW_BLOCKED } };

	memcpy(d[0].mac, MAC1, 6);
	memcpy(d[1].mac, MAC2, 6);
	assert_int_equal(ping(p), 0);
	assert_int_equal(rep.h.type, PRIV_REP);
	assert_int_equal(rep.h.seq, 77);
	assert_int_equal(rep.h.len, sizeof(rep));
	assert_int_equal(sync_table(p, d, 2), 0);
	assert_int_equal(fk.commits, 5); /* 3 tables x 2 families, no IPv6 nat */
	unsigned marks = fk.last_marks; /* the two devices' rules and the chain's own */
	assert_true(marks >= 2);
	struct priv_fw_update u = { .dev = { .access = FW_ONBOARDING } };
	memcpy(u.dev.mac, MAC2, 6);
	assert_int_equal(send_msg(p, &u, sizeof(u), PRIV_FW_UPDATE), 0);
	assert_int_equal(fk.last_marks, marks - 1);
	struct priv_br_isolate i = { .ifindex = 7 };
	strcpy(i.bridge, "br-guest");
	assert_int_equal(send_msg(p, &i, sizeof(i), PRIV_BR_ISOLATE), 0);
	assert_int_equal(fk.isolates, 1);
	assert_int_equal(fk.ifindex, 7);
	struct priv_port_move m = { .bounce = 1 };
	strcpy(m.port, "lan2");
	strcpy(m.bridge, "br-work");
	assert_int_equal(send_msg(p, &m, sizeof(m), PRIV_PORT_MOVE), 1);
	assert_string_equal(fk.port, "lan2");
	assert_string_equal(fk.bridge, "br-work");
	assert_true(fk.bounce);
	struct priv_reload l = { .log_level = LOG_LVL_DEBUG };
	assert_int_equal(send_msg(p, &l, sizeof(l), PRIV_RELOAD), 0);
	assert_int_equal(log_get_level(), LOG_LVL_DEBUG);
	assert_int_equal(privd_refused(p), 0);
}

static void test_size_and_type(void **state)
{
	struct privd *p = *state;
	unsigned char buf[sizeof(struct priv_fw_sync_devs) + 16] = { 0 };
	struct priv_hdr *h = (struct priv_hdr *)buf;

	assert_int_equal(privd_handle(p, buf, 3, &rep), -EBADMSG);                 /* short */
	h->type = PRIV_PING;
	h->len = sizeof(struct priv_empty) + 1;
	assert_int_equal(privd_handle(p, buf, h->len, &rep), -EBADMSG);            /* one byte too many */
	h->len = sizeof(struct priv_empty);
	assert_int_equal(privd_handle(p, buf, h->len + 4, &rep), -EBADMSG);        /* header and datagram disagree */
	h->type = PRIV_FW_UPDATE;
	h->len = sizeof(struct priv_empty);
	assert_int_equal(privd_handle(p, buf, h->len, &rep), -EBADMSG);            /* another type's size */
	h->type = PRIV_TYPE_END;
	assert_int_equal(privd_handle(p, buf, h->len, &rep), -EBADMSG);            /* unknown type */
	h->type = 0;
	assert_int_equal(privd_handle(p, buf, h->len, &rep), -EBADMSG);
	h->type = PRIV_REP;
	assert_int_equal(privd_handle(p, buf, h->len, &rep), -EBADMSG);            /* a reply is no request */
	h->type = PRIV_PING;
	h->zero = 1;
	assert_int_equal(privd_handle(p, buf, h->len, &rep), -EBADMSG);            /* header padding */
	assert_int_equal(privd_refused(p), 8);
	assert_int_equal(ping(p), 0); /* and it keeps serving */
}

static void test_bad_fields(void **state)
{
	struct privd *p = *state;
	struct priv_fw_update u = { .dev = { .access = FW_WORK } };

	u.dev.mac[0] = 0x01; /* multicast */
	assert_int_equal(send_msg(p, &u, sizeof(u), PRIV_FW_UPDATE), -EINVAL);
	memset(u.dev.mac, 0, 6); /* zero */
	assert_int_equal(send_msg(p, &u, sizeof(u), PRIV_FW_UPDATE), -EINVAL);
	memcpy(u.dev.mac, MAC1, 6);
	u.dev.access = FW_BLOCKED + 1; /* enum out of range */
	assert_int_equal(send_msg(p, &u, sizeof(u), PRIV_FW_UPDATE), -EINVAL);
	u.dev.access = 255;
	assert_int_equal(send_msg(p, &u, sizeof(u), PRIV_FW_UPDATE), -EINVAL);
	u.dev.access = FW_WORK;
	u.dev.zero = 1;
	assert_int_equal(send_msg(p, &u, sizeof(u), PRIV_FW_UPDATE), -EINVAL);

	struct priv_br_isolate i = { .ifindex = 7 };
	strcpy(i.bridge, "br-work"); /* configured, but not the guest zone's */
	assert_int_equal(send_msg(p, &i, sizeof(i), PRIV_BR_ISOLATE), -EINVAL);
	strcpy(i.bridge, "eth9");
	assert_int_equal(send_msg(p, &i, sizeof(i), PRIV_BR_ISOLATE), -EINVAL);
	memset(i.bridge, 'b', sizeof(i.bridge)); /* no NUL */
	assert_int_equal(send_msg(p, &i, sizeof(i), PRIV_BR_ISOLATE), -EINVAL);
	memset(i.bridge, 0, sizeof(i.bridge));
	strcpy(i.bridge, "br-guest");
	i.bridge[12] = 'x'; /* junk after the NUL */
	assert_int_equal(send_msg(p, &i, sizeof(i), PRIV_BR_ISOLATE), -EINVAL);
	i.bridge[12] = 0;
	i.ifindex = 0;
	assert_int_equal(send_msg(p, &i, sizeof(i), PRIV_BR_ISOLATE), -EINVAL);
	i.ifindex = -3;
	assert_int_equal(send_msg(p, &i, sizeof(i), PRIV_BR_ISOLATE), -EINVAL);

	struct priv_port_move m = { 0 };
	strcpy(m.port, "eth0"); /* not a configured wired port */
	strcpy(m.bridge, "br-work");
	assert_int_equal(send_msg(p, &m, sizeof(m), PRIV_PORT_MOVE), -EINVAL);
	strcpy(m.port, "lan1");
	strcpy(m.bridge, "up0"); /* an interface, but no zone's */
	assert_int_equal(send_msg(p, &m, sizeof(m), PRIV_PORT_MOVE), -EINVAL);
	strcpy(m.bridge, "br-guest");
	m.bounce = 2;
	assert_int_equal(send_msg(p, &m, sizeof(m), PRIV_PORT_MOVE), -EINVAL);
	m.bounce = 0;
	m.zero[6] = 1;
	assert_int_equal(send_msg(p, &m, sizeof(m), PRIV_PORT_MOVE), -EINVAL);
	struct priv_reload l = { .log_level = LOG_LVL_DEBUG + 1 };
	assert_int_equal(send_msg(p, &l, sizeof(l), PRIV_RELOAD), -EINVAL);
	m.port[0] = 0; /* empty name */
	m.zero[6] = 0;
	assert_int_equal(send_msg(p, &m, sizeof(m), PRIV_PORT_MOVE), -EINVAL);
	assert_int_equal(privd_refused(p), 17);
	assert_int_equal(fk.isolates + fk.moves + fk.commits, 0);
	strcpy(m.port, "lan1");
	assert_int_equal(send_msg(p, &m, sizeof(m), PRIV_PORT_MOVE), 1); /* still serving */
}

static void test_table_pieces(void **state)
{
	struct privd *p = *state;
	struct priv_fw_sync_begin b = { .total = PRIV_DEVS_MAX + 1 };
	struct priv_fw_sync_devs *m = calloc(1, sizeof(*m));
	struct priv_empty e = { 0 };

	assert_non_null(m);
	assert_int_equal(send_msg(p, &b, sizeof(b), PRIV_FW_SYNC_BEGIN), -EINVAL);     /* too large */
	m->n = 1;
	memcpy(m->dev[0].mac, MAC1, 6);
	assert_int_equal(send_msg(p, m, sizeof(*m), PRIV_FW_SYNC_DEVS), -EINVAL);      /* no beginning */
	assert_int_equal(send_msg(p, &e, sizeof(e), PRIV_FW_SYNC_END), -EINVAL);       /* nothing to end */
	b.total = 1;
	assert_int_equal(send_msg(p, &b, sizeof(b), PRIV_FW_SYNC_BEGIN), 0);
	m->n = 2; /* more than announced */
	memcpy(m->dev[1].mac, MAC2, 6);
	assert_int_equal(send_msg(p, m, sizeof(*m), PRIV_FW_SYNC_DEVS), -EINVAL);
	assert_int_equal(send_msg(p, &b, sizeof(b), PRIV_FW_SYNC_BEGIN), 0);
	m->n = 1; /* an entry past n that is not zero */
	assert_int_equal(send_msg(p, m, sizeof(*m), PRIV_FW_SYNC_DEVS), -EINVAL);
	memset(&m->dev[1], 0, sizeof(m->dev[1]));
	m->n = PRIV_DEVS_PER_MSG + 1;
	assert_int_equal(send_msg(p, &b, sizeof(b), PRIV_FW_SYNC_BEGIN), 0);
	assert_int_equal(send_msg(p, m, sizeof(*m), PRIV_FW_SYNC_DEVS), -EINVAL);
	b.total = 2; /* fewer than announced, then END */
	assert_int_equal(send_msg(p, &b, sizeof(b), PRIV_FW_SYNC_BEGIN), 0);
	m->n = 1;
	assert_int_equal(send_msg(p, m, sizeof(*m), PRIV_FW_SYNC_DEVS), 0);
	assert_int_equal(send_msg(p, &e, sizeof(e), PRIV_FW_SYNC_END), -EINVAL);
	assert_int_equal(fk.commits, 0);
	/* the same MAC twice: fw_sync refuses it (not a malformed message) */
	struct priv_dev d[2] = { { .access = FW_WORK }, { .access = FW_GUEST } };
	memcpy(d[0].mac, MAC1, 6);
	memcpy(d[1].mac, MAC1, 6);
	assert_int_equal(sync_table(p, d, 2), -EINVAL);
	assert_int_equal(fk.commits, 0);
	/* an update before any table: nothing to update yet */
	struct priv_fw_update u = { .dev = { .access = FW_WORK } };
	memcpy(u.dev.mac, MAC1, 6);
	assert_int_equal(send_msg(p, &u, sizeof(u), PRIV_FW_UPDATE), -ENOENT);
	/* an empty table is a table */
	assert_int_equal(sync_table(p, NULL, 0), 0);
	assert_int_equal(fk.commits, 5);
	free(m);
}

/* privd_serve on a socketpair: oversized and garbage datagrams get a
 * refusal each, the loop keeps going, and it ends when the peer closes. */
static void test_serve(void **state)
{
	struct privd *p = *state;
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sv[0]);
		_exit(privd_serve(p, sv[1]) == 0 ? 0 : 1);
	}
	close(sv[1]);
	unsigned char *big = calloc(1, 64 * 1024);
	assert_non_null(big);
	((struct priv_hdr *)big)->type = PRIV_FW_SYNC_DEVS;
	((struct priv_hdr *)big)->len = 64 * 1024;
	assert_int_equal(send(sv[0], big, 64 * 1024, 0), 64 * 1024);
	assert_int_equal(recv(sv[0], &rep, sizeof(rep), 0), (ssize_t)sizeof(rep));
	assert_int_equal(rep.result, -EBADMSG);
	assert_int_equal(send(sv[0], "garbage", 7, 0), 7);
	assert_int_equal(recv(sv[0], &rep, sizeof(rep), 0), (ssize_t)sizeof(rep));
	assert_int_equal(rep.result, -EBADMSG);
	struct priv_empty e = { .h = { .type = PRIV_PING, .len = sizeof(e), .seq = 9 } };
	assert_int_equal(send(sv[0], &e, sizeof(e), 0), (ssize_t)sizeof(e));
	assert_int_equal(recv(sv[0], &rep, sizeof(rep), 0), (ssize_t)sizeof(rep));
	assert_int_equal(rep.result, 0);
	assert_int_equal(rep.h.seq, 9);
	free(big);
	close(sv[0]);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_bad_config(void **state)
{
	struct privd *p = NULL;
	(void)state;
	assert_int_equal(privd_new("/nonexistent/apgate.conf", &fake_fw, NULL, &fake_link, NULL, &p), -EINVAL);
	assert_null(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_and_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve, setup, teardown),
		cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
