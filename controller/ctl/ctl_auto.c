/* ctl_auto.c - automatic decisions ([policies] auto_rules; off when
 * unset). The rules (format in policies/auto-rules.example; parsed by
 * model/guess.c) are tried, first match wins, when a pending device is
 * created and each time its fingerprint, port or vendor may have become
 * known (a lease, a wired port's FDB entry). An "approve" rule goes
 * through the same path as a person's approval (ctl_approve(), actor
 * "apgated" via "auto-rule"), so it is stored durably, audited and
 * enforced like one; an audit entry "auto_rule" names the rule (FILE:LINE
 * and its text) and the guess it matched.
 *
 * Never for a device that is not pending, that a person already decided
 * about (decided_at set: blocked, approved, or moved back by a person) or
 * that repair holds.
 *
 * A rule file with any bad line is refused whole, every error logged as
 * FILE:LINE: at start apgated does not start; on reload the rules in use
 * stay.
 */
#include "ctl_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mac.h"
#include "model/guess.h"
#include "util.h"

int auto_load(struct ctl *c, bool starting)
{
	const char *path = c->cfg->policies.auto_rules;
	struct guess_rules *rs = NULL;
	char *errs = NULL;
	size_t errlen = 0;
	FILE *ef;
	int r;

	if (!path) {
		if (c->ident.rules)
			log_info("auto-rules: off ([policies] auto_rules unset)");
		guess_rules_free(c->ident.rules);
		c->ident.rules = NULL;
		return 0;
	}
	ef = open_memstream(&errs, &errlen);
	r = guess_rules_load(path, ef, &rs);
	if (ef)
		fclose(ef);
	for (char *save = NULL, *line = errs ? strtok_r(errs, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save))
		log_err("auto-rules: %s", line);
	free(errs);
	if (r < 0) {
		if (starting)
			log_err("auto-rules: %s refused; fix it or unset [policies] auto_rules", path);
		else
			log_err("auto-rules: %s refused; %s", path,
				c->ident.rules ? "the rules loaded before stay in use" : "no automatic decisions");
		return starting ? -EINVAL : 0;
	}
	guess_rules_free(c->ident.rules);
	c->ident.rules = rs;
	log_info("auto-rules: %u rule(s) from %s", guess_rules_count(rs), path);
	return 0;
}

void auto_on_device(struct ctl *c, const char *mac)
{
	struct reg_device *d = NULL;
	struct guess_verdict v;
	struct guess g;
	char canon[MAC_STR_LEN], detail[640];

	if (!c->ident.rules || mac_canon(mac, canon) < 0)
		return;
	if (reg_get(c->reg, canon, &d) < 0)
		return;
	if (d->state != REG_PENDING || d->decided_at || d->held_at) {
		reg_device_free(d);
		return;
	}
	guess_device(c->ident.tables, d, &g);
	if (!guess_rules_match(c->ident.rules, d, &g, &v)) {
		reg_device_free(d);
		return;
	}
	if (!v.approve) {
		log_debug("auto-rules: %s: %s matches \"%s\" (ask): left to a person", canon, v.where, v.text);
		reg_device_free(d);
		return;
	}
	struct reg_approval a = { .cls = v.cls, .type = d->type ? REG_TYPE_NONE : g.type };
	const struct reg_actor who = { .who = "apgated", .via = "auto-rule" };
	char bss[64];
	util_strlcpy(bss, d->bss ? d->bss : "", sizeof(bss));
	snprintf(detail, sizeof(detail), "rule %s: %s; guess: %s", v.where, v.text,
		 g.summary[0] ? g.summary : "none");
	reg_device_free(d);
	int r = ctl_approve(c, canon, &a, &who);
	if (r < 0) {
		log_err("auto-rules: %s matches %s, but approving it failed: %s", canon, v.where, strerror(-r));
		return;
	}
	c->ident.auto_approved++;
	r = reg_audit_auto(c->reg, canon, bss[0] ? bss : NULL, "auto_rule", detail, util_now_ms());
	if (r < 0)
		log_err("auto-rules: %s: the audit entry naming %s was not stored: %s", canon, v.where, strerror(-r));
	log_info("auto-rules: approved %s as %s by %s (%s)", canon, reg_class_name(v.cls), v.where, v.text);
	ctl_notify(c);
}
