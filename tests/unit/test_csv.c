/* core/csv: one field of the inventory's CSV, RFC 4180 and harmless. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "csv.h"

static void expect(const char *in, const char *out)
{
	char *f = csv_field(in);

	assert_non_null(f);
	assert_string_equal(f, out);
	free(f);
}

static void test_plain(void **state)
{
	(void)state;
	expect(NULL, "");
	expect("", "");
	expect("Front printer", "Front printer");
	expect("02:00:00:00:00:01", "02:00:00:00:00:01");
	expect("10.0.0.1", "10.0.0.1");
	expect("受付のプリンター", "受付のプリンター"); /* UTF-8 kept */
}

static void test_quoting(void **state)
{
	(void)state;
	expect("Bob, the boss", "\"Bob, the boss\"");
	expect("say \"hi\"", "\"say \"\"hi\"\"\"");
	expect("\"", "\"\"\"\"");
	expect(" padded", "\" padded\"");
	expect("padded ", "\"padded \"");
}

static void test_controls_and_bad_utf8(void **state)
{
	(void)state;
	expect("a\r\nb", "a??b");          /* one record stays one line */
	expect("evil\x1b[31mred\x07", "evil?[31mred?");
	expect("tab\there", "tab?here");
	expect("del\x7f", "del?");
	expect("caf\xff\xfe", "caf\xef\xbf\xbd\xef\xbf\xbd");
	expect("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");   /* overlong '/' */
	expect("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate */
}

static void test_formulas(void **state)
{
	(void)state;
	expect("=1+1", "'=1+1");
	expect("+49 30 1234", "'+49 30 1234");
	expect("-2", "'-2");
	expect("@SUM(A1)", "'@SUM(A1)");
	expect("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
	expect("a=b", "a=b"); /* only at the start */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_controls_and_bad_utf8),
		cmocka_unit_test(test_formulas),
	};
	return cmocka_run_group_tests_name("csv", tests, NULL, NULL);
}
