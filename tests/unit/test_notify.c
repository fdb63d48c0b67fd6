/* test_notify.c - alert delivery's pure parts: the retry back-off, the
 * webhook's JSON body and the e-mail handed to sendmail (headers that data
 * cannot extend, RFC 2047 subjects), and the DNS blocklist set (io/dnsm.c):
 * domains and hosts-file lines in, bad lines out, a name and its parents
 * matched, the servers-file rendered sorted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "io/dnsm.h"
#include "io/notify.h"
#include "log.h"

static void backoff_doubles_up_to_the_cap(void **state)
{
	(void)state;
	assert_int_equal(notify_backoff_s(1, 600), 1);
	assert_int_equal(notify_backoff_s(2, 600), 2);
	assert_int_equal(notify_backoff_s(3, 600), 4);
	assert_int_equal(notify_backoff_s(10, 600), 512);
	assert_int_equal(notify_backoff_s(11, 600), 600);
	assert_int_equal(notify_backoff_s(1000000, 600), 600);
	assert_int_equal(notify_backoff_s(5, 2), 2);
	assert_int_equal(notify_backoff_s(0, 2), 1);
	assert_int_equal(notify_backoff_s(3, 0), 1); /* max 0 is taken as 1 */
	assert_int_equal(notify_backoff_s(40, 86400), 86400);
	for (unsigned i = 1; i < 100; i++) /* never shorter than the one before */
		assert_true(notify_backoff_s(i + 1, 700) >= notify_backoff_s(i, 700));
}

static void json_body(void **state)
{
	struct notify_alert a = { .id = 7, .ts = 1763913138000, .kind = "dns_blocked",
				  .mac = "02:00:00:00:01:01", .message = "The POS \"Till 1\"\n tried",
				  .label = "Till 1", .ip = "10.77.0.23", .zone = "work" };
	json_error_t err;
	char *s;
	json_t *j;

	(void)state;
	s = notify_json(&a, "ap-1");
	j = json_loads(s, 0, &err);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "id")), 7);
	assert_int_equal(json_integer_value(json_object_get(j, "ts")), 1763913138000);
	assert_string_equal(json_string_value(json_object_get(j, "kind")), "dns_blocked");
	assert_string_equal(json_string_value(json_object_get(j, "mac")), "02:00:00:00:01:01");
	assert_string_equal(json_string_value(json_object_get(j, "message")), "The POS \"Till 1\"\n tried");
	assert_string_equal(json_string_value(json_object_get(j, "ap")), "ap-1");
	json_t *d = json_object_get(j, "device");
	assert_string_equal(json_string_value(json_object_get(d, "label")), "Till 1");
	assert_string_equal(json_string_value(json_object_get(d, "ip")), "10.77.0.23");
	assert_string_equal(json_string_value(json_object_get(d, "zone")), "work");
	json_decref(j);
	free(s);

	/* no device: mac null, no "device"; invalid UTF-8 still gives JSON */
	struct notify_alert b = { .id = 1, .ts = 1, .kind = "unmanaged", .message = "bad \xff\xfe name" };
	s = notify_json(&b, "ap");
	j = json_loads(s, 0, &err);
	assert_non_null(j);
	assert_true(json_is_null(json_object_get(j, "mac")));
	assert_null(json_object_get(j, "device"));
	assert_string_equal(json_string_value(json_object_get(j, "message")), "bad ?? name");
	json_decref(j);
	free(s);
}

/* The header block of a mail (up to the blank line) and its body. */
static void split_mail(const char *m, char **head, const char **body)
{
	const char *sep = strstr(m, "\n\n");

	assert_non_null(sep);
	*head = strndup(m, (size_t)(sep - m) + 1);
	*body = sep + 2;
}

static void mail_headers_cannot_be_extended(void **state)
{
	struct notify_alert a = { .id = 3, .ts = 1763913138000, .kind = "new_device", .mac = "02:00:00:00:7e:02",
				  .message = "A new device is waiting for approval: evil\r\nBcc: victim@evil.example\r\n\r\nhi",
				  .label = "evil\nTo: x@y", .ip = "10.79.0.222", .zone = "onboarding" };
	char *m = notify_mail(&a, "it@shop.example", "ap\n1", 1763913138), *head;
	const char *body;
	unsigned lines = 0;

	(void)state;
	assert_non_null(m);
	split_mail(m, &head, &body);
	for (char *p = head; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 8); /* exactly the headers apgated writes */
	assert_non_null(strstr(head, "To: it@shop.example\n"));
	assert_null(strstr(head, "\nBcc:"));
	assert_non_null(strstr(head, "Subject: [apgate ap 1] A new device is waiting for approval: evil  Bcc: victim@evil.example    hi\n"));
	assert_non_null(strstr(head, "Date: Sun, 23 Nov 2025 15:52:18 +0000\n"));
	assert_non_null(strstr(head, "Content-Type: text/plain; charset=UTF-8\n"));
	assert_non_null(strstr(head, "X-Apgate-Alert: new_device\n"));
	assert_null(strchr(m, '\r'));
	assert_non_null(strstr(body, "Name:         evil To: x@y\n"));
	assert_non_null(strstr(body, "Address:      10.79.0.222\n"));
	assert_non_null(strstr(body, "Alert:        #3\n"));
	free(head);
	free(m);
}

static void mail_subject_utf8_is_encoded(void **state)
{
	struct notify_alert a = { .id = 4, .ts = 0, .kind = "new_device",
				  .message = "新しい端末が承認を待っています: レジ1 (02:00:00:00:01:01)" };
	char *m = notify_mail(&a, "it@shop.example", "ap", 0), *head;
	const char *body;

	(void)state;
	split_mail(m, &head, &body);
	assert_non_null(strstr(head, "Subject: =?UTF-8?B?"));
	/* encoded words are short and every continuation line is folded */
	for (char *line = head; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		size_t n = strcspn(line, "\n");
		assert_true(n <= 78);
		for (size_t i = 0; i < n; i++)
			assert_true((unsigned char)line[i] < 0x80);
	}
	assert_non_null(strstr(body, "レジ1"));
	free(head);
	free(m);
}

static void blocklist_reads_and_matches(void **state)
{
	char path[] = "/tmp/test_notify_bl.XXXXXX";
	int fd = mkstemp(path);
	struct dnsm_blocklist *bl = dnsm_blocklist_new();
	const char *entry = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	dprintf(fd, "# comment\n\nBad.Example\n  phish.example.   # trailing comment\n"
		    "0.0.0.0 ads.example\n127.0.0.1\tmal.example\n"
		    "not a domain\n-bad.example\nbad-.example\na..b\nx_y.example\n"
		    "1.2.3.4 other.example\nbad.example\n%s\n", "averyveryveryveryveryveryveryveryveryveryveryveryveryverylonglabel.example");
	close(fd);
	assert_int_equal(dnsm_blocklist_read(bl, path), 5); /* bad.example twice */
	assert_int_equal(dnsm_blocklist_count(bl), 5);
	assert_int_equal(dnsm_blocklist_read(bl, "/nonexistent/list"), -ENOENT);
	assert_int_equal(dnsm_blocklist_add(bl, "evil.example"), 1);
	assert_int_equal(dnsm_blocklist_add(bl, "EVIL.example."), 0);
	assert_int_equal(dnsm_blocklist_add(bl, "evil example"), -EINVAL);
	assert_int_equal(dnsm_blocklist_add(bl, ""), -EINVAL);
	/* two final dots leave an empty label: refused, not taken as the TLD
	 * "be" (which would block every .be name; found by fuzz_blocklist) */
	assert_int_equal(dnsm_blocklist_add(bl, "be.."), -EINVAL);
	assert_int_equal(dnsm_blocklist_add(bl, "."), -EINVAL);

	assert_true(dnsm_blocklist_match(bl, "bad.example", &entry));
	assert_string_equal(entry, "bad.example");
	assert_true(dnsm_blocklist_match(bl, "a.b.BAD.example.", &entry));
	assert_string_equal(entry, "bad.example");
	assert_true(dnsm_blocklist_match(bl, "we?ird.mal.example", &entry));
	assert_string_equal(entry, "mal.example");
	assert_false(dnsm_blocklist_match(bl, "notbad.example", NULL));
	assert_false(dnsm_blocklist_match(bl, "example", NULL));
	assert_false(dnsm_blocklist_match(bl, "bad.example.org", NULL));
	assert_false(dnsm_blocklist_match(bl, "", NULL));

	/* sorted "server=/D/" lines after the header */
	f = open_memstream(&out, &len);
	assert_int_equal(dnsm_render_blocklist(bl, f), 0);
	fclose(f);
	const char *lines = strstr(out, "server=");
	assert_string_equal(lines, "server=/ads.example/\nserver=/bad.example/\nserver=/evil.example/\n"
				   "server=/mal.example/\nserver=/phish.example/\nserver=/x_y.example/\n");
	free(out);
	dnsm_blocklist_free(bl);
	unlink(path);
}

static void blocklist_grows(void **state)
{
	struct dnsm_blocklist *bl = dnsm_blocklist_new();
	char d[64];

	(void)state;
	for (int i = 0; i < 5000; i++) {
		snprintf(d, sizeof(d), "host%d.example", i);
		assert_int_equal(dnsm_blocklist_add(bl, d), 1);
	}
	assert_int_equal(dnsm_blocklist_count(bl), 5000);
	assert_true(dnsm_blocklist_match(bl, "www.host4999.example", NULL));
	assert_false(dnsm_blocklist_match(bl, "host5000.example", NULL));
	dnsm_blocklist_free(bl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_doubles_up_to_the_cap),
		cmocka_unit_test(json_body),
		cmocka_unit_test(mail_headers_cannot_be_extended),
		cmocka_unit_test(mail_subject_utf8_is_encoded),
		cmocka_unit_test(blocklist_reads_and_matches),
		cmocka_unit_test(blocklist_grows),
	};
	log_open("test_notify", LOG_LVL_ERR, false);
	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
