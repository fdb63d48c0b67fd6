/* oui.h - vendor names from the IEEE registry (Debian's ieee-data).
 *
 * Loads oui.txt (MA-L, 24-bit prefixes) and optionally mam.txt (MA-M, 28
 * bits) and oui36.txt (MA-S, 36 bits) into one read-only index; a lookup
 * returns the longest matching prefix's organisation name. Names are
 * returned verbatim (UTF-8 as the IEEE publishes them, e.g. "Private" for
 * undisclosed blocks).
 *
 * Measured on ieee-data 20220827 (Debian 12), gcc -O2, x86-64 VM, file in
 * the page cache (load = oui_load_files() wall time; heap = mallinfo2()
 * in use afterwards; peak = growth of max RSS during the load):
 *   oui.txt alone                 32,527 prefixes, load 16-25 ms,
 *                                 heap 0.66 MB, peak +2.6 MB
 *   oui.txt + mam.txt + oui36.txt 41,946 prefixes, load 29-32 ms,
 *                                 heap 0.90 MB, peak +3.6 MB
 *   oui_lookup()                  ~60 ns (three binary searches)
 * Kept: 8 bytes per prefix plus the deduplicated name pool. The peak is the
 * parse's temporary array and hash table, freed before oui_load returns.
 */
#ifndef APGATE_OUI_H
#define APGATE_OUI_H

#include "mac.h"

struct oui;

/* Parses the IEEE registry text file at path ("00-22-72   (hex)\t\tName"
 * lines; a following "B00000-BFFFFF   (base 16)" range line, as in mam.txt
 * and oui36.txt, makes the entry a 28- or 36-bit prefix). Malformed lines
 * are skipped. On success *out is a new index the caller frees with
 * oui_free(). -ENOENT if the file does not exist (the daemon then runs
 * without vendor names), another negative errno if it cannot be read,
 * -ENOMEM. Where a prefix is listed twice, the first listing wins. */
int oui_load(const char *path, struct oui **out);

/* Like oui_load() for several files merged into one index, e.g.
 * { ".../oui.txt", ".../mam.txt", ".../oui36.txt" }. Files that do not
 * exist are skipped; -ENOENT only if none exists. */
int oui_load_files(const char *const *paths, unsigned n, struct oui **out);

/* The organisation owning m's longest listed prefix, or NULL when unknown
 * and always for locally administered (randomised) or multicast addresses.
 * The string belongs to o and lives until oui_free(). o may be NULL. */
const char *oui_lookup(const struct oui *o, const struct mac *m);

/* Number of prefixes in the index (0 for NULL). */
unsigned oui_count(const struct oui *o);

/* NULL is fine. */
void oui_free(struct oui *o);

#endif
