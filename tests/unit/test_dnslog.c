/* test_dnslog.c - dnsmasq's query log: the line parser on the exact lines
 * dnsmasq 2.90 writes with log-queries=extra (recorded in the lab), hostile
 * and malformed lines, and the follower on a real file (appends, partial
 * lines, over-long lines, truncation by someone else, rotation, and its own
 * truncation once it caught up). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "io/dnslog.h"
#include "log.h"

static int parse(const char *s, struct dnslog_line *l)
{
	return dnslog_parse(s, strlen(s), l);
}

static void parses_dnsmasq_lines(void **state)
{
	struct dnslog_line l;

	(void)state;
	assert_int_equal(parse("Nov 23 15:52:18 dnsmasq[20116]: 2 10.77.0.23/45815 query[A] bad.example from 10.77.0.23", &l), 0);
	assert_int_equal(l.kind, DNSLOG_QUERY);
	assert_int_equal(l.serial, 2);
	assert_string_equal(l.client, "10.77.0.23");
	assert_string_equal(l.qtype, "A");
	assert_string_equal(l.name, "bad.example");

	assert_int_equal(parse("Nov 23 15:52:18 dnsmasq[20116]: 2 10.77.0.23/45815 config bad.example is NXDOMAIN", &l), 0);
	assert_int_equal(l.kind, DNSLOG_BLOCKED);
	assert_int_equal(l.serial, 2);
	assert_string_equal(l.client, "10.77.0.23");
	assert_string_equal(l.name, "bad.example");

	assert_int_equal(parse("Nov 23 15:52:26 dnsmasq[20116]: 7 fd77::23/60033 query[AAAA] a.b.Bad.example from fd77::23", &l), 0);
	assert_int_equal(l.kind, DNSLOG_QUERY);
	assert_string_equal(l.client, "fd77::23");
	assert_string_equal(l.qtype, "AAAA");
	assert_string_equal(l.name, "a.b.Bad.example");

	/* lines of no interest */
	static const char *const other[] = {
		"Nov 23 15:52:17 dnsmasq[20116]: 1 10.77.0.23/49757 forwarded good.example to 198.51.100.10",
		"Nov 23 15:52:17 dnsmasq[20116]: 1 10.77.0.23/49757 reply good.example is 1.2.3.4",
		"Nov 23 15:52:17 dnsmasq[20116]: 3 10.79.0.5/1234 config x.test is 10.79.0.1",
		"Nov 23 15:52:17 dnsmasq[20116]: 3 10.79.0.5/1234 config x.test is NODATA-IPv6",
		"Nov 23 15:52:17 dnsmasq[20116]: using only locally-known addresses for bad.example",
		"Nov 23 15:52:12 dnsmasq[20020]: started, version 2.90 cachesize 150",
		"Nov 23 15:52:12 dnsmasq-dhcp[20020]: DHCPACK(ap2) 10.79.0.144 02:00:00:00:01:01 till-1",
		"", "]: ", "]: 12", "]: 12 ", "garbage",
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(parse(other[i], &l), 0);
		assert_int_equal(l.kind, DNSLOG_OTHER);
	}
}

static void hostile_names_are_data(void **state)
{
	struct dnslog_line l;
	char big[DNSLOG_LINE_MAX];

	(void)state;
	/* what a client may put in a name: quotes, $, spaces, ' from ' */
	assert_int_equal(parse("Nov 23 15:52:26 dnsmasq[1]: 8 10.77.0.9/3 query[A] we\"ird$x <b> from 10.77.0.9 from 10.77.0.9", &l), 0);
	assert_int_equal(l.kind, DNSLOG_QUERY);
	assert_string_equal(l.name, "we?ird?x??b??from?10.77.0.9");
	assert_int_equal(parse("Nov 23 15:52:26 dnsmasq[1]: 8 10.77.0.9/3 config a\x1b[31mb.bad.example is NXDOMAIN", &l), 0);
	assert_int_equal(l.kind, DNSLOG_BLOCKED);
	assert_string_equal(l.name, "a??31mb.bad.example");
	/* a name longer than DNS allows is cut, never overflows */
	memset(big, 'a', sizeof(big));
	memcpy(big, "Nov 1 dnsmasq[1]: 9 10.0.0.1/1 config ", 38);
	snprintf(big + sizeof(big) - 20, 20, " is NXDOMAIN");
	assert_int_equal(dnslog_parse(big, strlen(big), &l), 0);
	assert_int_equal(l.kind, DNSLOG_BLOCKED);
	assert_int_equal(strlen(l.name), DNSLOG_NAME_MAX);
	/* a line need not be NUL-terminated */
	const char *s = "x dnsmasq[1]: 4 10.0.0.2/9 config evil.example is NXDOMAINtrailing";
	assert_int_equal(dnslog_parse(s, strlen(s) - 8, &l), 0);
	assert_int_equal(l.kind, DNSLOG_BLOCKED);
	assert_string_equal(l.name, "evil.example");
}

static void malformed_lines_are_refused(void **state)
{
	struct dnslog_line l;
	static const char *const bad[] = {
		"x dnsmasq[1]: 4 not-an-ip/9 config evil.example is NXDOMAIN",
		"x dnsmasq[1]: 4 10.0.0.2/9 config  is NXDOMAIN",
		"x dnsmasq[1]: 4 /9 config a.example is NXDOMAIN",
		"x dnsmasq[1]: 4 10.0.0.2/9 query[A] from 10.0.0.2",
		"x dnsmasq[1]: 4 10.0.0.2/9 query[A a.example from 10.0.0.2",
		"x dnsmasq[1]: 4 10.0.0.2/9 query[A] a.example",
		"x dnsmasq[1]: 4 10.0.0.2/9 query[AAAAAAAAAAAAAAAAAAAAAAAA] a.example from 10.0.0.2",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &l), -EINVAL);
		assert_int_equal(l.kind, DNSLOG_OTHER);
	}
	/* a serial that does not fit is not a query line */
	assert_int_equal(parse("x dnsmasq[1]: 99999999999999999999999 10.0.0.2/9 config a.example is NXDOMAIN", &l), 0);
	assert_int_equal(l.kind, DNSLOG_OTHER);
}

/* ---- the follower ---- */

struct seen {
	char what[32][300];
	unsigned n;
};

static void on_blocked(const char *client, const char *name, const char *qtype, void *ud)
{
	struct seen *s = ud;

	if (s->n < 32)
		snprintf(s->what[s->n++], sizeof(s->what[0]), "%s %s %s", client, name, qtype);
}

static void append(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

#define Q(serial, ip, name) "Nov 1 00:00:00 dnsmasq[7]: " serial " " ip "/5353 query[A] " name " from " ip "\n"
#define NX(serial, ip, name) "Nov 1 00:00:00 dnsmasq[7]: " serial " " ip "/5353 config " name " is NXDOMAIN\n"

static void follows_the_file(void **state)
{
	char dir[] = "/tmp/test_dnslog.XXXXXX", path[128], rot[128];
	struct event_base *base = event_base_new();
	struct dnslog *l = NULL;
	struct dnslog_stats st;
	struct seen s = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q.log", dir);
	snprintf(rot, sizeof(rot), "%s/q.log.1", dir);
	append(path, Q("1", "10.0.0.1", "old.example") NX("1", "10.0.0.1", "old.example"));
	assert_int_equal(dnslog_new(base, path, on_blocked, &s, &l), 0);
	dnslog_poll(l);
	assert_int_equal(s.n, 0); /* what was there at start is skipped */

	/* a query and its answer, the answer written in two parts */
	append(path, Q("2", "10.0.0.2", "bad.example") "Nov 1 00:00:00 dnsmasq[7]: 2 10.0.0.2/5353 config bad.ex");
	dnslog_poll(l);
	assert_int_equal(s.n, 0);
	append(path, "ample is NXDOMAIN\n");
	dnslog_poll(l);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.what[0], "10.0.0.2 bad.example A");

	/* an answer whose query was not seen; an over-long line is skipped whole */
	char *longl = malloc(3 * DNSLOG_LINE_MAX);
	memset(longl, 'x', 3 * DNSLOG_LINE_MAX - 2);
	longl[3 * DNSLOG_LINE_MAX - 2] = '\n';
	longl[3 * DNSLOG_LINE_MAX - 1] = '\0';
	append(path, longl);
	free(longl);
	append(path, NX("3", "10.0.0.3", "x.bad.example"));
	dnslog_poll(l);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.what[1], "10.0.0.3 x.bad.example ?");
	dnslog_get_stats(l, &st);
	assert_int_equal(st.skipped, 1);

	/* truncated by someone else: read from the start again */
	assert_int_equal(truncate(path, 0), 0);
	append(path, NX("4", "10.0.0.4", "t.example"));
	dnslog_poll(l);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.what[2], "10.0.0.4 t.example ?");

	/* rotated: the rest of the old file, then the new one from its start */
	append(path, NX("5", "10.0.0.5", "before.example"));
	assert_int_equal(rename(path, rot), 0);
	append(path, NX("6", "10.0.0.6", "after.example"));
	dnslog_poll(l);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.what[3], "10.0.0.5 before.example ?");
	assert_string_equal(s.what[4], "10.0.0.6 after.example ?");

	/* past DNSLOG_TRUNCATE_AT and caught up: the file is emptied */
	char *fill = malloc(DNSLOG_TRUNCATE_AT + 1);
	for (size_t i = 0; i < DNSLOG_TRUNCATE_AT; i++)
		fill[i] = (i % 100 == 99 || i == DNSLOG_TRUNCATE_AT - 1) ? '\n' : 'f';
	fill[DNSLOG_TRUNCATE_AT] = '\0';
	append(path, fill);
	free(fill);
	dnslog_poll(l);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	dnslog_get_stats(l, &st);
	assert_int_equal(st.truncations, 1);
	/* and lines written after that are read (O_APPEND writers land at 0) */
	append(path, NX("7", "10.0.0.7", "later.example"));
	dnslog_poll(l);
	assert_int_equal(s.n, 6);
	assert_string_equal(s.what[5], "10.0.0.7 later.example ?");

	dnslog_free(l);
	event_base_free(base);
	unlink(path);
	unlink(rot);
	rmdir(dir);
}

static void refuses_bad_arguments(void **state)
{
	struct event_base *base = event_base_new();
	struct dnslog *l = NULL;

	(void)state;
	assert_int_equal(dnslog_new(base, "relative/q.log", on_blocked, NULL, &l), -EINVAL);
	assert_int_equal(dnslog_new(NULL, "/tmp/q.log", on_blocked, NULL, &l), -EINVAL);
	assert_int_equal(dnslog_new(base, "/tmp/q.log", NULL, NULL, &l), -EINVAL);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_dnsmasq_lines),
		cmocka_unit_test(hostile_names_are_data),
		cmocka_unit_test(malformed_lines_are_refused),
		cmocka_unit_test(follows_the_file),
		cmocka_unit_test(refuses_bad_arguments),
	};
	log_open("test_dnslog", LOG_LVL_ERR, false);
	return cmocka_run_group_tests_name("dnslog", tests, NULL, NULL);
}
