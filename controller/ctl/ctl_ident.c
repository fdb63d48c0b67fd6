/* ctl_ident.c - identification: the DHCP fingerprint tables of [policies]
 * (dir's fingerprints.conf, then the admin's fingerprints_local), loaded
 * at start and on every reload, and the classification suggestion
 * (ctl_guess()) the portal, the CLI and the auto-rules use.
 *
 * A table that cannot be read is not fatal: a missing shipped file is
 * logged once (guesses then come from the vendor, the host name and the
 * address alone); bad lines are logged as FILE:LINE and skipped. A reload
 * builds new tables and swaps them in; when the shipped file cannot be
 * read then, the tables in use are kept.
 */
#include "ctl_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model/guess.h"
#include "util.h"

/* Logs each line of a memstream's text at level. */
static void log_lines(enum log_level level, const char *prefix, char *text)
{
	for (char *save = NULL, *line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		log_msg(level, "%s%s", prefix, line);
}

static void ident_load_tables(struct ctl *c)
{
	const struct cfg *cfg = c->cfg;
	char path[PATH_MAX];
	char *errs = NULL;
	size_t errlen = 0;
	struct guess_tables *t = NULL;
	FILE *ef;
	int r;

	if (!cfg->policies.dir)
		return; /* a configuration built by hand (tests): no tables */
	if (snprintf(path, sizeof(path), "%s/fingerprints.conf", cfg->policies.dir) >= (int)sizeof(path)) {
		log_err("identification: [policies] dir is too long");
		return;
	}
	ef = open_memstream(&errs, &errlen);
	r = guess_load(path, cfg->policies.fingerprints_local, ef, &t);
	if (ef)
		fclose(ef);
	log_lines(LOG_LVL_WARN, "identification: ", errs);
	free(errs);
	if (r < 0) {
		if (!c->ident.warned_missing)
			log_warn("identification: cannot read %s: %s; DHCP fingerprints give no hints (vendor, "
				 "host name and address still do)", path, strerror(-r));
		c->ident.warned_missing = true;
		return; /* keep what was loaded before, if anything */
	}
	guess_tables_free(c->ident.tables);
	c->ident.tables = t;
	log_info("identification: %u fingerprint(s) from %s%s%s", guess_tables_count(t), path,
		 cfg->policies.fingerprints_local ? " and " : "",
		 cfg->policies.fingerprints_local ? cfg->policies.fingerprints_local : "");
}

int ident_init(struct ctl *c)
{
	ident_load_tables(c);
	return auto_load(c, true);
}

void ident_reload(struct ctl *c)
{
	ident_load_tables(c);
	auto_load(c, false);
}

void ident_free(struct ctl *c)
{
	guess_tables_free(c->ident.tables);
	c->ident.tables = NULL;
	guess_rules_free(c->ident.rules);
	c->ident.rules = NULL;
}

void ctl_guess(struct ctl *c, const struct reg_device *d, struct guess *out)
{
	guess_device(c ? c->ident.tables : NULL, d, out);
}
