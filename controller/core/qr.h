/* qr.h - QR codes (libqrencode) for joining the Wi-Fi: the "WIFI:" URI that
 * phone cameras understand, drawn on a terminal (apgatectl) or as SVG (the
 * web portal).
 *
 * Symbols are encoded in 8-bit mode, error correction level M (15 %),
 * smallest version that fits. Every rendering has the 4-module quiet zone
 * the standard asks for.
 */
#ifndef APGATE_QR_H
#define APGATE_QR_H

#include <stdio.h>

#define QR_QUIET 4      /* modules of light margin on each side */

/* "WIFI:T:WPA;S:<ssid>;P:<passphrase>;;" with \ ; , : " backslash-escaped
 * in ssid and passphrase (ZXing's MECARD-style escaping, what Android and
 * iOS cameras read). T:WPA covers WPA2/WPA3-personal. malloc'd (caller
 * frees); NULL with errno EINVAL (NULL or empty ssid, NULL passphrase) or
 * ENOMEM. */
char *qr_wifi_uri(const char *ssid, const char *passphrase);

/* Draws the symbol of data on out as UTF-8 text: two module rows per text
 * line with the half blocks U+2580 / U+2584 / U+2588 (so the symbol is about
 * square in a terminal font). Colours are set explicitly, black foreground
 * on white background (SGR 30;107), on every line and reset at its end: the
 * code is dark-on-light whatever the terminal's theme (a light-on-dark
 * terminal would otherwise show a negative, which many phone scanners
 * refuse), and a copy cut at any line leaves no colour behind.
 * 0, -EINVAL (data too long for a QR symbol), -ENOMEM, or -EIO (write). */
int qr_render_text(const char *data, FILE *out);

/* The symbol of data as a standalone SVG document: a white background
 * <rect> and one <path> of the dark modules (one subpath per horizontal
 * run), viewBox "0 0 N N" where N = width + 2 * QR_QUIET, one unit per
 * module, no external assets. *out is malloc'd (caller frees). 0, -EINVAL
 * (data too long), or -ENOMEM. */
int qr_render_svg(const char *data, char **out);

#endif
