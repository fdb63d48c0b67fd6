#include "qr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "util.h"

static void qrcode_freep(QRcode **q)
{
	if (*q)
		QRcode_free(*q);
}
#define _cleanup_qrcode_ _cleanup_(qrcode_freep)

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (strchr("\\;,:\"", *s))
			fputc('\\', f);
		fputc(*s, f);
	}
}

char *qr_wifi_uri(const char *ssid, const char *passphrase)
{
	char *buf = NULL;
	size_t len;
	FILE *f;

	if (!ssid || !*ssid || !passphrase) {
		errno = EINVAL;
		return NULL;
	}
	if (!(f = open_memstream(&buf, &len)))
		return NULL;
	fputs("WIFI:T:WPA;S:", f);
	put_escaped(f, ssid);
	fputs(";P:", f);
	put_escaped(f, passphrase);
	fputs(";;", f);
	if (fclose(f) != 0) {
		free(buf);
		errno = ENOMEM;
		return NULL;
	}
	return buf;
}

static int encode(const char *data, QRcode **q)
{
	if (!data)
		return -EINVAL;
	errno = 0;
	*q = QRcode_encodeString(data, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!*q)
		return errno == ENOMEM ? -ENOMEM : -EINVAL; /* ERANGE: too long */
	return 0;
}

/* Dark module at (x, y) of the symbol with its quiet zone, in modules. */
static bool dark(const QRcode *q, int x, int y)
{
	x -= QR_QUIET;
	y -= QR_QUIET;
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return false;
	return q->data[y * q->width + x] & 1;
}

int qr_render_text(const char *data, FILE *out)
{
	_cleanup_qrcode_ QRcode *q = NULL;
	int r = encode(data, &q), n;

	if (r < 0)
		return r;
	n = q->width + 2 * QR_QUIET;
	for (int y = 0; y < n; y += 2) {
		fputs("\033[30;107m", out);
		for (int x = 0; x < n; x++) {
			bool top = dark(q, x, y), bottom = y + 1 < n && dark(q, x, y + 1);
			fputs(top ? (bottom ? "\u2588" : "\u2580") : (bottom ? "\u2584" : " "), out);
		}
		fputs("\033[0m\n", out);
	}
	return ferror(out) ? -EIO : 0;
}

int qr_render_svg(const char *data, char **out)
{
	_cleanup_qrcode_ QRcode *q = NULL;
	char *buf = NULL;
	size_t len;
	FILE *f;
	int r = encode(data, &q), n;

	*out = NULL;
	if (r < 0)
		return r;
	n = q->width + 2 * QR_QUIET;
	if (!(f = open_memstream(&buf, &len)))
		return -ENOMEM;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">"
		   "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"", n, n, n, n);
	for (int y = 0; y < n; y++)
		for (int x = 0; x < n;) {
			int run = 0;
			while (x + run < n && dark(q, x + run, y))
				run++;
			if (run)
				fprintf(f, "M%d %dh%dv1h-%dz", x, y, run, run);
			x += run ? run : 1;
		}
	fputs("\"/></svg>\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
