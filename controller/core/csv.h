/* csv.h - fields of comma-separated text for the spreadsheets people open
 * the inventory in (apgatectl inventory --csv, the portal's download).
 *
 * RFC 4180: a field holding a comma, a double quote or leading/trailing
 * blanks is quoted, its quotes doubled. Device data is hostile, so a field
 * is also made harmless: control characters (CR and LF too: one record is
 * one line) become '?', bytes that are not valid UTF-8 become U+FFFD, and a
 * field that a spreadsheet would run as a formula (it starts with = + - @)
 * gets a leading apostrophe. Records end with CRLF (csv_eol).
 */
#ifndef APGATE_CSV_H
#define APGATE_CSV_H

#define CSV_EOL "\r\n"

/* s as one field (NULL = empty). Returns a new string the caller frees,
 * or NULL when out of memory. */
char *csv_field(const char *s);

#endif
