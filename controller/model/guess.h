/* guess.h - what a device probably is, for the people deciding about it:
 * "an iPhone with a private address: probably a staff phone", with the
 * reasons. From what the device told us: its DHCP fingerprint (requested
 * options, option 55, and vendor class, option 60) matched against a
 * table in policies/ an admin can extend, its vendor (OUI), whether its
 * MAC is locally administered (randomised), its host name, and what its
 * user claimed on the captive page. Pure: no I/O except guess_load().
 * A guess is never a decision; the type people set always wins.
 */
#ifndef APGATE_GUESS_H
#define APGATE_GUESS_H

#include <stdio.h>

#include "model/reg.h"

/* The fingerprint table: lines of policies/fingerprints.conf (format in
 * that file's header). Read-only once loaded. */
struct guess_tables;

/* Loads the shipped table (path) and then the admin's (local, may be NULL;
 * its lines win over the shipped ones). Each bad line is reported as
 * "FILE:LINE: what is wrong" to errs (may be NULL) and skipped. *out is
 * freed with guess_tables_free(). -errno when path cannot be read (a
 * local file that cannot be read is reported to errs and skipped). */
int guess_load(const char *path, const char *local, FILE *errs, struct guess_tables **out);
void guess_tables_free(struct guess_tables *t);
/* The parser itself, for one open file: appends f's entries to t (name is
 * what errors call the file; local: the admin's lines, which win). Returns
 * the number of bad lines (reported and skipped), or -ENOMEM. For tests
 * and the fuzzer; guess_load() is built on it. */
struct guess_tables *guess_tables_new(void);
int guess_tables_read(struct guess_tables *t, FILE *f, const char *name, int local, FILE *errs);
unsigned guess_tables_count(const struct guess_tables *t);

/* Why the guess says what it says: a code people's language turns into
 * words (the portal's i18n key "reason.<code>") and its argument. */
enum guess_reason_code {
	GUESS_R_FINGERPRINT = 0, /* arg: the table entry's name, "iOS" */
	GUESS_R_VENDOR_CLASS,    /* arg: option 60 */
	GUESS_R_VENDOR,          /* arg: vendor name */
	GUESS_R_PRIVATE_MAC,     /* arg: "" */
	GUESS_R_HOSTNAME,        /* arg: the host name */
	GUESS_R_CLAIM,           /* arg: "business" or "personal" */
};
const char *guess_reason_name(enum guess_reason_code c); /* "fingerprint", ... */

#define GUESS_MAX_REASONS 6
struct guess {
	enum reg_type type;  /* REG_TYPE_NONE when nothing points anywhere */
	enum reg_class cls;  /* suggested class (business/personal), NONE = no idea */
	char os[32];         /* "iOS", "Android", "Windows", "printer", ...; "" unknown */
	char fingerprint[48]; /* name of the table entry that matched; "" none */
	int private_mac;      /* 1: locally administered (randomised) address */
	char summary[160];   /* English sentence for logs and the CLI:
			      * "an iPhone with a private address: probably a staff phone" */
	unsigned n_reasons;
	struct {
		enum guess_reason_code code;
		char arg[96];
	} reasons[GUESS_MAX_REASONS];
};
/* t may be NULL (no table: fingerprints give no hints). About 4 us per
 * device with the shipped table (x86-64 VM, -O2): 20 ms for 5,000. */
void guess_device(const struct guess_tables *t, const struct reg_device *d, struct guess *out);

/* --- Automatic decisions (policies/auto-rules.example documents the
 * format): "approve business type=printer vendor=\"Seiko Epson\" wired=yes",
 * "ask type=phone"; first match wins. A rule file is all or nothing:
 * guess_rules_read() reports every bad line as "FILE:LINE: what is wrong"
 * to errs and then refuses the file (-EINVAL, *out untouched). */
struct guess_rules;
int guess_rules_load(const char *path, FILE *errs, struct guess_rules **out);
int guess_rules_read(FILE *f, const char *name, FILE *errs, struct guess_rules **out);
void guess_rules_free(struct guess_rules *r);
unsigned guess_rules_count(const struct guess_rules *r);
struct guess_verdict {
	int approve;          /* 1: approve as cls; 0: "ask": leave it to a person */
	enum reg_class cls;
	char where[160];      /* "FILE:LINE" of the rule */
	char text[256];       /* the rule as written (for the audit detail) */
};
/* The first rule matching d (and g = guess_device()'s result for it):
 * 1 and *out filled, or 0 when none matches. r may be NULL (0). */
int guess_rules_match(const struct guess_rules *r, const struct reg_device *d, const struct guess *g,
		      struct guess_verdict *out);

/* Compatibility for callers that only need the type: guess_device()'s
 * type with the first reason's code name in *why (may be NULL). */
enum reg_type guess_type(const struct reg_device *d, const char **why);

#endif
