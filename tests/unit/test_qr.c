/* qr: the WIFI: URI and its escaping; the text and SVG renderings are
 * decoded back into a module matrix and compared with libqrencode's own
 * symbol (with the 4-module quiet zone); the SVG is one path, well-formed
 * XML (checked with python3's parser when python3 is there). No camera
 * decoder is installed here (zbarimg), so the symbol itself is trusted to
 * libqrencode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <qrencode.h>

#include "qr.h"

static void test_uri(void **state)
{
	char *u;

	(void)state;
	assert_string_equal(u = qr_wifi_uri("Office", "correct horse battery staple"),
			    "WIFI:T:WPA;S:Office;P:correct horse battery staple;;");
	free(u);
	assert_string_equal(u = qr_wifi_uri("a;b,c:d\"e\\f", "p;w,o:r\"d\\x"),
			    "WIFI:T:WPA;S:a\\;b\\,c\\:d\\\"e\\\\f;P:p\\;w\\,o\\:r\\\"d\\\\x;;");
	free(u);
	/* UTF-8 and other punctuation as they are */
	assert_string_equal(u = qr_wifi_uri("B\xc3\xbcro 'Nord'", "Kp7xq-M3raZ-9hWcd-tn4Ue"),
			    "WIFI:T:WPA;S:B\xc3\xbcro 'Nord';P:Kp7xq-M3raZ-9hWcd-tn4Ue;;");
	free(u);
	errno = 0;
	assert_null(qr_wifi_uri("", "x"));
	assert_int_equal(errno, EINVAL);
	assert_null(qr_wifi_uri(NULL, "x"));
	assert_null(qr_wifi_uri("x", NULL));
}

/* libqrencode's symbol for data, with the quiet zone: n*n bytes, 1 = dark */
static unsigned char *reference(const char *data, int *n)
{
	QRcode *q = QRcode_encodeString(data, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	unsigned char *m;

	assert_non_null(q);
	*n = q->width + 2 * QR_QUIET;
	m = calloc((size_t)(*n * *n), 1);
	for (int y = 0; y < q->width; y++)
		for (int x = 0; x < q->width; x++)
			m[(y + QR_QUIET) * *n + x + QR_QUIET] = q->data[y * q->width + x] & 1;
	QRcode_free(q);
	return m;
}

static const char *DATA[] = {
	"WIFI:T:WPA;S:Office;P:correct horse battery staple;;",
	"WIFI:T:WPA;S:B\xc3\xbcro \\\"Nord\\\";P:Kp7xq-M3raZ-9hWcd-tn4Ue;;",
	"x",
};

static void test_svg(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(DATA) / sizeof(DATA[0]); k++) {
		int n, vn, vn2;
		unsigned char *want = reference(DATA[k], &n);
		unsigned char *got = calloc((size_t)(n * n), 1);
		char *svg = NULL;
		const char *d, *p;

		assert_int_equal(qr_render_svg(DATA[k], &svg), 0);
		assert_int_equal(sscanf(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\"", &vn, &vn2), 2);
		assert_int_equal(vn, n); /* width + quiet zone */
		assert_int_equal(vn2, n);
		assert_non_null(p = strstr(svg, "<path"));
		assert_null(strstr(p + 1, "<path")); /* one path */
		assert_null(strstr(svg, "href"));     /* no external assets */
		assert_null(strstr(svg, "<image"));
		assert_string_equal(svg + strlen(svg) - 7, "</svg>\n");
		/* the path, run by run, gives back the symbol */
		assert_non_null(d = strstr(svg, " d=\""));
		d += 4;
		while (*d == 'M') {
			int x, y, run, run2, used;
			assert_int_equal(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &run2, &used), 4);
			assert_int_equal(run, run2);
			assert_true(x >= 0 && y >= 0 && run > 0 && x + run <= n && y < n);
			for (int i = 0; i < run; i++) {
				assert_int_equal(got[y * n + x + i], 0); /* no overlap */
				got[y * n + x + i] = 1;
			}
			d += used;
		}
		assert_memory_equal(d, "\"/>", 3);
		assert_memory_equal(got, want, (size_t)(n * n));

		if (access("/usr/bin/python3", X_OK) == 0) {
			FILE *py = popen("/usr/bin/python3 -c 'import sys, xml.dom.minidom as m; "
					 "m.parseString(sys.stdin.buffer.read())' 2>/dev/null", "w");
			assert_non_null(py);
			fputs(svg, py);
			assert_int_equal(pclose(py), 0); /* well-formed XML */
		}
		free(svg);
		free(got);
		free(want);
	}
}

static void test_text(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof(DATA) / sizeof(DATA[0]); k++) {
		int n, y = 0;
		unsigned char *want = reference(DATA[k], &n);
		unsigned char *got = calloc((size_t)(n * n), 1);
		char *text = NULL, *line, *save = NULL;
		size_t len;
		FILE *f = open_memstream(&text, &len);

		assert_int_equal(qr_render_text(DATA[k], f), 0);
		fclose(f);
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), y += 2) {
			const char *s = line;
			int x = 0;
			/* black on white, set on each line and reset at its end */
			assert_memory_equal(s, "\033[30;107m", 9);
			s += 9;
			assert_string_equal(line + strlen(line) - 4, "\033[0m");
			while (strncmp(s, "\033[0m", 4) != 0) {
				int top = 0, bottom = 0;
				if (*s == ' ')
					top = 0, bottom = 0, s += 1;
				else if (!strncmp(s, "\u2580", 3))
					top = 1, bottom = 0, s += 3;
				else if (!strncmp(s, "\u2584", 3))
					top = 0, bottom = 1, s += 3;
				else if (!strncmp(s, "\u2588", 3))
					top = 1, bottom = 1, s += 3;
				else
					fail_msg("unexpected byte 0x%02x", (unsigned char)*s);
				assert_true(x < n);
				got[y * n + x] = (unsigned char)top;
				if (y + 1 < n)
					got[(y + 1) * n + x] = (unsigned char)bottom;
				else
					assert_int_equal(bottom, 0);
				x++;
			}
			assert_int_equal(x, n);
		}
		assert_int_equal(y, n + (n & 1)); /* ceil(n / 2) lines */
		assert_memory_equal(got, want, (size_t)(n * n));
		free(text);
		free(got);
		free(want);
	}
}

static void test_too_long(void **state)
{
	char *big = malloc(8000), *svg = (char *)"untouched";

	(void)state;
	memset(big, 'a', 7999);
	big[7999] = '\0';
	assert_int_equal(qr_render_svg(big, &svg), -EINVAL);
	assert_null(svg);
	assert_int_equal(qr_render_text(big, stdout), -EINVAL);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_too_long),
	};
	return cmocka_run_group_tests_name("qr", tests, NULL, NULL);
}
