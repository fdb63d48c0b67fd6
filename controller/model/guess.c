/* guess.c - what a device probably is (see guess.h): the fingerprint table
 * of policies/fingerprints.conf, the combination of the clues into a type,
 * a class suggestion, reasons and a sentence, and the auto-rule parser and
 * matcher (policies/auto-rules.example). Pure: files are read only by
 * guess_load() and guess_rules_load().
 */
#include "model/guess.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define LINE_MAX_LEN 1024 /* longer lines are an error */
#define MAX_TOKENS 24
#define MAX_OPTS 255

/* ---- tokens: words, "quoted strings" (\" and \\ inside), key=value ---- */

struct tok {
	char *key;   /* NULL for a plain word */
	char *val;
};

/* Splits line in place into at most MAX_TOKENS tokens; a # where a word
 * would start opens a comment (inside a word or quotes it is a character).
 * Returns the count or -1 with *why set. */
static int tokenize(char *line, struct tok *t, const char **why)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == MAX_TOKENS) {
			*why = "too many words";
			return -1;
		}
		char *start = p, *out = p;
		t[n].key = NULL;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			if (*p == '=' && !t[n].key && out != start) {
				*out++ = 0;
				t[n].key = start;
				p++;
				start = out; /* the value starts here */
				continue;
			}
			if (*p == '"') {
				p++;
				while (*p && *p != '"') {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					*out++ = *p++;
				}
				if (*p != '"') {
					*why = "unterminated quote";
					return -1;
				}
				p++;
				continue;
			}
			if ((unsigned char)*p < 0x20) {
				*why = "control character";
				return -1;
			}
			*out++ = *p++;
		}
		bool end = !*p;
		*out = 0;
		t[n].val = start;
		n++;
		if (end)
			return n;
		p++;
	}
}

static void report(FILE *errs, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report(FILE *errs, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (!errs)
		return;
	fprintf(errs, "%s:%u: ", file, line);
	va_start(ap, fmt);
	vfprintf(errs, fmt, ap);
	va_end(ap);
	fputc('\n', errs);
}

/* Reads one line into buf; 1 ok, 0 end of file, -1 too long (the rest of
 * the line is skipped). */
static int read_line(FILE *f, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, f))
		return 0;
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		return 1;
	if (feof(f))
		return 1;
	int ch;
	while ((ch = fgetc(f)) != EOF && ch != '\n')
		;
	return -1;
}

/* The next line of a table or rule file with words in it, tokenized into
 * tk: the number of tokens (> 0), or 0 at the end of the file. Lines too
 * long or that do not tokenize are reported as FILE:LINE, counted in *bad
 * and skipped; blank and comment lines are skipped. copy (may be NULL)
 * gets the line as read, before tokenize() cuts it up. */
static int next_tokens(FILE *f, char *line, size_t size, char *copy, struct tok *tk, const char *name,
		       unsigned *lineno, FILE *errs, int *bad)
{
	int r;

	while ((r = read_line(f, line, size)) != 0) {
		const char *why = NULL;
		int n;

		++*lineno;
		if (r < 0) {
			report(errs, name, *lineno, "line longer than %d characters", LINE_MAX_LEN);
			++*bad;
			continue;
		}
		if (copy)
			util_strlcpy(copy, line, size);
		n = tokenize(line, tk, &why);
		if (n < 0) {
			report(errs, name, *lineno, "%s", why);
			++*bad;
		}
		if (n > 0)
			return n;
	}
	return 0;
}

/* ---- option lists ("1,3,6,15") ---- */

enum opt_mode { OPT_NONE = 0, OPT_EXACT, OPT_PREFIX, OPT_SET };

struct optlist {
	uint8_t v[MAX_OPTS];
	unsigned n;
};

/* Strict: codes 1-254 separated by commas; prefix (may be NULL) allows a
 * last ",*" and tells whether it was there. */
static int opts_parse(const char *s, struct optlist *o, bool *prefix, const char **why)
{
	o->n = 0;
	if (prefix)
		*prefix = false;
	if (!*s) {
		*why = "empty option list";
		return -1;
	}
	for (;;) {
		if (*s == '*' && prefix && !s[1] && o->n) {
			*prefix = true;
			return 0;
		}
		if (!isdigit((unsigned char)*s)) {
			*why = "option codes are numbers 1-254 separated by commas";
			return -1;
		}
		unsigned v = 0;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (unsigned)(*s++ - '0');
			if (v > 254)
				break;
		}
		if (v < 1 || v > 254) {
			*why = "option codes are numbers 1-254";
			return -1;
		}
		if (o->n == MAX_OPTS) {
			*why = "too many option codes";
			return -1;
		}
		o->v[o->n++] = (uint8_t)v;
		if (!*s)
			return 0;
		if (*s != ',') {
			*why = "option codes are numbers 1-254 separated by commas";
			return -1;
		}
		s++;
	}
}

/* The device's stored list, leniently (spaces allowed); false if unusable. */
static bool opts_of_device(const char *s, struct optlist *o)
{
	char buf[1024];
	size_t k = 0;
	const char *why;

	if (!s || !*s)
		return false;
	for (; *s && k + 1 < sizeof(buf); s++)
		if (*s != ' ')
			buf[k++] = *s;
	if (*s)
		return false;
	buf[k] = 0;
	return opts_parse(buf, o, NULL, &why) == 0;
}

static bool opts_match(enum opt_mode m, const struct optlist *want, const struct optlist *have)
{
	switch (m) {
	case OPT_EXACT:
		return want->n == have->n && !memcmp(want->v, have->v, want->n);
	case OPT_PREFIX:
		return have->n >= want->n && !memcmp(want->v, have->v, want->n);
	case OPT_SET: {
		bool a[256] = { false }, b[256] = { false };
		for (unsigned i = 0; i < want->n; i++)
			a[want->v[i]] = true;
		for (unsigned i = 0; i < have->n; i++)
			b[have->v[i]] = true;
		return !memcmp(a, b, sizeof(a));
	}
	default:
		return true;
	}
}

static bool has_word(const char *hay, const char *needle)
{
	return hay && needle && strcasestr(hay, needle);
}

static bool glob_match(const char *pattern, const char *s)
{
	return s && fnmatch(pattern, s, FNM_CASEFOLD) == 0;
}

static bool mac_private(const char *mac)
{
	int v = mac ? util_hexval(mac[1]) : -1;
	return mac && mac[0] && v >= 0 && (v & 0x2);
}

/* ---- the fingerprint table ---- */

struct fp_entry {
	char name[48];
	char os[32];
	enum reg_type type;
	enum reg_class cls;
	enum opt_mode mode;
	struct optlist opts;
	char *vendor_class; /* substring of option 60 */
	char *vendor;       /* substring of the OUI vendor */
	char *hostname;     /* glob (fnmatch, case-insensitive) on the host names */
	bool local;
};

struct guess_tables {
	struct fp_entry *e;
	unsigned n, cap;
};

struct guess_tables *guess_tables_new(void)
{
	return calloc(1, sizeof(struct guess_tables));
}

unsigned guess_tables_count(const struct guess_tables *t)
{
	return t ? t->n : 0;
}

static void entry_clear(struct fp_entry *e)
{
	free(e->vendor_class);
	free(e->vendor);
	free(e->hostname);
}

void guess_tables_free(struct guess_tables *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->n; i++)
		entry_clear(&t->e[i]);
	free(t->e);
	free(t);
}

static const char *type_list = "pc, phone, tablet, printer, pos, payment, signage, other or -";

/* One table line into e; NULL or what is wrong (why may point into buf). */
static const char *parse_entry(struct tok *t, int n, struct fp_entry *e, char *buf, size_t size)
{
	const char *why = NULL;

	memset(e, 0, sizeof(*e));
	if (n < 5 || t[0].key || t[1].key || t[2].key || t[3].key)
		return "expected NAME OS TYPE CLASS and at least one match key (options=, option_set=, "
		       "vendor_class=, vendor=, hostname=)";
	if (!*t[0].val || strlen(t[0].val) >= sizeof(e->name))
		return "NAME must be 1-47 characters";
	util_strlcpy(e->name, t[0].val, sizeof(e->name));
	if (strlen(t[1].val) >= sizeof(e->os) || !*t[1].val)
		return "OS must be 1-31 characters (- for none)";
	if (strcmp(t[1].val, "-"))
		util_strlcpy(e->os, t[1].val, sizeof(e->os));
	if (strcmp(t[2].val, "-") && reg_type_parse(t[2].val, &e->type) < 0) {
		snprintf(buf, size, "unknown device type '%.40s' (%s)", t[2].val, type_list);
		return buf;
	}
	if (strcmp(t[3].val, "-") && reg_class_parse(t[3].val, &e->cls) < 0) {
		snprintf(buf, size, "unknown class '%.40s' (business, personal or -)", t[3].val);
		return buf;
	}
	for (int i = 4; i < n; i++) {
		const char *k = t[i].key, *v = t[i].val;
		char **str = NULL;
		if (!k) {
			snprintf(buf, size, "'%.40s' is not KEY=VALUE (quote a NAME or OS with spaces)", v);
			return buf;
		}
		if (!strcmp(k, "options") || !strcmp(k, "option_set")) {
			bool prefix = false;
			if (e->mode) {
				snprintf(buf, size, "%s: only one option list per line", k);
				return buf;
			}
			bool set = !strcmp(k, "option_set");
			if (opts_parse(v, &e->opts, set ? NULL : &prefix, &why) < 0) {
				snprintf(buf, size, "%s: %s%s", k, why, set ? "" : " (a last ,* matches any continuation)");
				return buf;
			}
			e->mode = set ? OPT_SET : prefix ? OPT_PREFIX : OPT_EXACT;
			continue;
		} else if (!strcmp(k, "vendor_class")) {
			str = &e->vendor_class;
		} else if (!strcmp(k, "vendor")) {
			str = &e->vendor;
		} else if (!strcmp(k, "hostname")) {
			str = &e->hostname;
		} else {
			snprintf(buf, size, "unknown key '%.40s' (options, option_set, vendor_class, vendor, hostname)", k);
			return buf;
		}
		if (*str) {
			snprintf(buf, size, "%s given twice", k);
			return buf;
		}
		if (!*v || strlen(v) > 200) {
			snprintf(buf, size, "%s: the value must be 1-200 characters", k);
			return buf;
		}
		if (!(*str = strdup(v)))
			return "out of memory";
	}
	if (!e->mode && !e->vendor_class && !e->vendor && !e->hostname)
		return "no match key (options=, option_set=, vendor_class=, vendor=, hostname=)";
	return NULL;
}

int guess_tables_read(struct guess_tables *t, FILE *f, const char *name, int local, FILE *errs)
{
	char line[LINE_MAX_LEN + 2], buf[256];
	struct tok tk[MAX_TOKENS];
	unsigned lineno = 0;
	int bad = 0, n;

	while ((n = next_tokens(f, line, sizeof(line), NULL, tk, name, &lineno, errs, &bad)) > 0) {
		const char *why;
		struct fp_entry e;

		why = parse_entry(tk, n, &e, buf, sizeof(buf));
		if (why) {
			report(errs, name, lineno, "%s; line skipped", why);
			entry_clear(&e);
			bad++;
			continue;
		}
		e.local = local != 0;
		if (t->n == t->cap) {
			unsigned cap = t->cap ? t->cap * 2 : 64;
			struct fp_entry *ne = realloc(t->e, cap * sizeof(*ne));
			if (!ne) {
				entry_clear(&e);
				return -ENOMEM;
			}
			t->e = ne;
			t->cap = cap;
		}
		t->e[t->n++] = e;
	}
	return bad;
}

static int load_one(struct guess_tables *t, const char *path, bool local, FILE *errs)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f)
		return -errno;
	r = guess_tables_read(t, f, path, local, errs);
	fclose(f);
	return r < 0 ? r : 0;
}

int guess_load(const char *path, const char *local, FILE *errs, struct guess_tables **out)
{
	struct guess_tables *t = guess_tables_new();
	int r;

	if (!t)
		return -ENOMEM;
	r = load_one(t, path, false, errs);
	if (r < 0) {
		guess_tables_free(t);
		return r;
	}
	if (local) {
		r = load_one(t, local, true, errs);
		if (r == -ENOMEM) {
			guess_tables_free(t);
			return r;
		}
		if (r < 0 && errs)
			fprintf(errs, "%s: cannot read: %s\n", local, strerror(-r));
	}
	*out = t;
	return 0;
}

/* How specific a matching entry is: 0 = it does not match. */
static unsigned entry_score(const struct fp_entry *e, const struct reg_device *d, const struct optlist *have,
			    bool have_ok)
{
	unsigned s = 0;

	if (e->mode) {
		if (!have_ok || !opts_match(e->mode, &e->opts, have))
			return 0;
		s += e->mode == OPT_EXACT ? 16 : e->mode == OPT_SET ? 12 : 4 + (e->opts.n > 8 ? 8 : e->opts.n);
	}
	if (e->vendor_class) {
		if (!has_word(d->dhcp_vendor_class, e->vendor_class))
			return 0;
		s += 6;
	}
	if (e->vendor) {
		if (!has_word(d->vendor, e->vendor))
			return 0;
		s += 3;
	}
	if (e->hostname) {
		if (!glob_match(e->hostname, d->dhcp_hostname) && !glob_match(e->hostname, d->hostname))
			return 0;
		s += 2;
	}
	return s;
}

/* The admin's lines first (any match of theirs wins), then the shipped
 * ones; within each, the most specific, the first line on a tie. */
static const struct fp_entry *best_entry(const struct guess_tables *t, const struct reg_device *d)
{
	const struct fp_entry *best = NULL;
	unsigned best_s = 0;
	struct optlist have;
	bool have_ok;

	if (!t)
		return NULL;
	have_ok = opts_of_device(d->dhcp_options, &have);
	for (int pass = 0; pass < 2 && !best; pass++) {
		for (unsigned i = 0; i < t->n; i++) {
			const struct fp_entry *e = &t->e[i];
			if (e->local != (pass == 0))
				continue;
			unsigned s = entry_score(e, d, &have, have_ok);
			if (s > best_s) {
				best = e;
				best_s = s;
			}
		}
	}
	return best;
}

/* ---- built-in clues (used when no table line matched, and always for
 * the vendor and host name) ---- */

struct clue {
	const char *word; /* matched case-insensitively as a substring */
	enum reg_type type;
	const char *os;   /* may be NULL */
};

/* DHCP option 60 as the common client stacks send it. */
static const struct clue vendor_class_clues[] = {
	{ "android-dhcp", REG_TYPE_PHONE, "Android" }, { "MSFT", REG_TYPE_PC, "Windows" },
	{ "JetDirect", REG_TYPE_PRINTER, "printer" },
};

/* Words in host names; order matters (first match wins). */
static const struct clue host_words[] = {
	{ "ipad", REG_TYPE_TABLET, "iOS" },    { "tablet", REG_TYPE_TABLET, NULL }, { "galaxy-tab", REG_TYPE_TABLET, "Android" },
	{ "iphone", REG_TYPE_PHONE, "iOS" },   { "android", REG_TYPE_PHONE, "Android" }, { "galaxy", REG_TYPE_PHONE, "Android" },
	{ "pixel", REG_TYPE_PHONE, "Android" }, { "phone", REG_TYPE_PHONE, NULL },  { "xperia", REG_TYPE_PHONE, "Android" },
	{ "printer", REG_TYPE_PRINTER, NULL }, { "epson", REG_TYPE_PRINTER, NULL }, { "brother", REG_TYPE_PRINTER, NULL },
	{ "canon", REG_TYPE_PRINTER, NULL },  { "ricoh", REG_TYPE_PRINTER, NULL }, { "kyocera", REG_TYPE_PRINTER, NULL },
	{ "xerox", REG_TYPE_PRINTER, NULL },  { "mfp", REG_TYPE_PRINTER, NULL },   { "npi", REG_TYPE_PRINTER, NULL },
	{ "pos", REG_TYPE_POS, NULL },        { "till", REG_TYPE_POS, NULL },      { "register", REG_TYPE_POS, NULL },
	{ "payment", REG_TYPE_PAYMENT, NULL }, { "verifone", REG_TYPE_PAYMENT, NULL }, { "ingenico", REG_TYPE_PAYMENT, NULL },
	{ "signage", REG_TYPE_SIGNAGE, NULL }, { "display", REG_TYPE_SIGNAGE, NULL }, { "chromecast", REG_TYPE_SIGNAGE, NULL },
	{ "desktop", REG_TYPE_PC, NULL },     { "laptop", REG_TYPE_PC, NULL },     { "macbook", REG_TYPE_PC, "macOS" },
	{ "imac", REG_TYPE_PC, "macOS" },     { "thinkpad", REG_TYPE_PC, NULL },   { "-pc", REG_TYPE_PC, NULL },
};

/* Vendor names of the IEEE registry. */
static const struct clue vendor_words[] = {
	{ "Seiko Epson", REG_TYPE_PRINTER, NULL }, { "Brother", REG_TYPE_PRINTER, NULL }, { "Canon", REG_TYPE_PRINTER, NULL },
	{ "Ricoh", REG_TYPE_PRINTER, NULL },      { "Kyocera", REG_TYPE_PRINTER, NULL }, { "Xerox", REG_TYPE_PRINTER, NULL },
	{ "Lexmark", REG_TYPE_PRINTER, NULL },    { "Ingenico", REG_TYPE_PAYMENT, NULL }, { "VeriFone", REG_TYPE_PAYMENT, NULL },
	{ "PAX Computer", REG_TYPE_PAYMENT, NULL }, { "Castles", REG_TYPE_PAYMENT, NULL },
};

static const struct clue *clue_match(const char *s, const struct clue *c, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcasestr(s, c[i].word))
			return &c[i];
	return NULL;
}

/* ---- the guess ---- */

static const char *const reason_names[] = {
	[GUESS_R_FINGERPRINT] = "fingerprint", [GUESS_R_VENDOR_CLASS] = "vendor_class",
	[GUESS_R_VENDOR] = "vendor",           [GUESS_R_PRIVATE_MAC] = "private_mac",
	[GUESS_R_HOSTNAME] = "hostname",       [GUESS_R_CLAIM] = "claim",
};

const char *guess_reason_name(enum guess_reason_code c)
{
	return (unsigned)c < ARRAY_SIZE(reason_names) ? reason_names[c] : "unknown";
}

static void add_reason(struct guess *g, enum guess_reason_code code, const char *arg)
{
	if (g->n_reasons == GUESS_MAX_REASONS)
		return;
	g->reasons[g->n_reasons].code = code;
	util_strlcpy(g->reasons[g->n_reasons].arg, arg ? arg : "", sizeof(g->reasons[0].arg));
	g->n_reasons++;
}

static bool is_handheld(enum reg_type t)
{
	return t == REG_TYPE_PHONE || t == REG_TYPE_TABLET;
}

static bool is_business_kind(enum reg_type t)
{
	return t == REG_TYPE_PRINTER || t == REG_TYPE_POS || t == REG_TYPE_PAYMENT || t == REG_TYPE_SIGNAGE;
}

/* "an iPhone", "a Windows PC", "a printer", ... */
static const char *noun_of(const struct guess *g, bool type_from_private_only)
{
	const char *os = g->os;

	if (type_from_private_only)
		return "a phone or tablet";
	if (!strcasecmp(os, "iOS") || !strcasecmp(os, "iPadOS"))
		return g->type == REG_TYPE_TABLET ? "an iPad" : g->type == REG_TYPE_PHONE ? "an iPhone" : "an Apple device";
	if (!strcasecmp(os, "Android"))
		return g->type == REG_TYPE_TABLET ? "an Android tablet" : g->type == REG_TYPE_PHONE ? "an Android phone"
									 : "an Android device";
	if (!strcasecmp(os, "Windows"))
		return "a Windows PC";
	if (!strcasecmp(os, "macOS"))
		return "a Mac";
	if (!strcasecmp(os, "ChromeOS"))
		return "a Chromebook";
	if (!strcasecmp(os, "Linux"))
		return "a Linux computer";
	switch (g->type) {
	case REG_TYPE_PC: return "a computer";
	case REG_TYPE_PHONE: return "a phone";
	case REG_TYPE_TABLET: return "a tablet";
	case REG_TYPE_PRINTER: return "a printer";
	case REG_TYPE_POS: return "a POS terminal";
	case REG_TYPE_PAYMENT: return "a payment terminal";
	case REG_TYPE_SIGNAGE: return "a display (signage)";
	case REG_TYPE_OTHER: return "a device";
	default: return "an unknown device";
	}
}

void guess_device(const struct guess_tables *t, const struct reg_device *d, struct guess *out)
{
	const struct fp_entry *fp = best_entry(t, d);
	const struct clue *c;
	struct guess g;
	bool from_private = false, cls_from_claim = false;

	memset(&g, 0, sizeof(g));
	if (fp) {
		g.type = fp->type;
		g.cls = fp->cls;
		util_strlcpy(g.os, fp->os, sizeof(g.os));
		util_strlcpy(g.fingerprint, fp->name, sizeof(g.fingerprint));
		add_reason(&g, GUESS_R_FINGERPRINT, fp->name);
		c = clue_match(d->dhcp_vendor_class, vendor_class_clues, ARRAY_SIZE(vendor_class_clues));
		if (fp->vendor_class || (c && c->type == g.type)) /* option 60 agrees */
			add_reason(&g, GUESS_R_VENDOR_CLASS, d->dhcp_vendor_class);
	} else if ((c = clue_match(d->dhcp_vendor_class, vendor_class_clues, ARRAY_SIZE(vendor_class_clues)))) {
		g.type = c->type;
		util_strlcpy(g.os, c->os ? c->os : "", sizeof(g.os));
		add_reason(&g, GUESS_R_VENDOR_CLASS, d->dhcp_vendor_class);
	}
	/* the vendor: printers and payment terminals are made by few */
	if ((c = clue_match(d->vendor, vendor_words, ARRAY_SIZE(vendor_words))) &&
	    (!g.type || g.type == c->type)) {
		g.type = c->type;
		add_reason(&g, GUESS_R_VENDOR, d->vendor);
	}
	/* the host name (the client's own first) */
	const char *host = d->dhcp_hostname ? d->dhcp_hostname : d->hostname;
	c = clue_match(d->dhcp_hostname, host_words, ARRAY_SIZE(host_words));
	if (!c) {
		c = clue_match(d->hostname, host_words, ARRAY_SIZE(host_words));
		host = d->hostname;
	}
	if (c && (!g.type || g.type == c->type || (g.type == REG_TYPE_PHONE && c->type == REG_TYPE_TABLET))) {
		g.type = c->type;
		if (!g.os[0] && c->os)
			util_strlcpy(g.os, c->os, sizeof(g.os));
		add_reason(&g, GUESS_R_HOSTNAME, host);
	}
	/* a locally administered address: phones and tablets randomise theirs
	 * per network; fixed devices keep the vendor's */
	g.private_mac = mac_private(d->mac);
	if (g.private_mac) {
		add_reason(&g, GUESS_R_PRIVATE_MAC, "");
		if (!g.type && d->claim_cls != REG_CLASS_BUSINESS) {
			g.type = REG_TYPE_PHONE;
			from_private = true;
		}
		if ((is_handheld(g.type) || !g.type) && g.cls != REG_CLASS_BUSINESS)
			g.cls = REG_CLASS_PERSONAL;
	}
	if (!g.cls && is_business_kind(g.type))
		g.cls = REG_CLASS_BUSINESS;
	/* what its user said on the captive page outweighs the rest */
	if (d->claim_cls != REG_CLASS_NONE) {
		add_reason(&g, GUESS_R_CLAIM, reg_class_name(d->claim_cls));
		g.cls = d->claim_cls;
		cls_from_claim = true;
		if (d->claim_cls == REG_CLASS_PERSONAL && !g.type)
			g.type = REG_TYPE_PHONE;
	}
	/* the sentence */
	if (g.n_reasons) {
		const char *end = "";
		if (cls_from_claim)
			end = g.cls == REG_CLASS_PERSONAL ? ": its user says it is personal"
							  : ": its user says it is a business device";
		else if (g.cls == REG_CLASS_PERSONAL)
			end = g.type == REG_TYPE_PHONE ? ": probably a staff phone"
			      : g.type == REG_TYPE_TABLET ? ": probably a personal tablet"
							  : ": probably a personal device";
		else if (g.cls == REG_CLASS_BUSINESS)
			end = ": probably a business device";
		char vend[64] = "";
		if (d->vendor && is_business_kind(g.type) && !g.private_mac)
			snprintf(vend, sizeof(vend), " (%.40s)", d->vendor);
		snprintf(g.summary, sizeof(g.summary), "%s%s%s%s", noun_of(&g, from_private), vend,
			 g.private_mac ? " with a private address" : "", end);
	}
	*out = g;
}

enum reg_type guess_type(const struct reg_device *d, const char **why)
{
	struct guess g;

	guess_device(NULL, d, &g);
	if (why)
		*why = g.type && g.n_reasons ? guess_reason_name(g.reasons[0].code) : NULL;
	return g.type;
}

/* ---- auto-rules ---- */

struct rule {
	int approve;
	enum reg_class cls;
	enum reg_type type;      /* NONE = any */
	char *os, *fingerprint;  /* equal, case-insensitive */
	char *vendor, *vendor_class; /* substrings */
	char *hostname;          /* glob */
	char *mac;               /* prefix, case-insensitive */
	char *port, *bss;        /* equal */
	int wired, private_mac;  /* -1 any, 0 no, 1 yes */
	char where[160];
	char text[256];
};

struct guess_rules {
	struct rule *r;
	unsigned n;
};

static void rule_clear(struct rule *r)
{
	free(r->os);
	free(r->fingerprint);
	free(r->vendor);
	free(r->vendor_class);
	free(r->hostname);
	free(r->mac);
	free(r->port);
	free(r->bss);
}

void guess_rules_free(struct guess_rules *rs)
{
	if (!rs)
		return;
	for (unsigned i = 0; i < rs->n; i++)
		rule_clear(&rs->r[i]);
	free(rs->r);
	free(rs);
}

unsigned guess_rules_count(const struct guess_rules *r)
{
	return r ? r->n : 0;
}

static int parse_yesno(const char *v)
{
	if (!strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "no"))
		return 0;
	return -1;
}

static const char *parse_rule(struct tok *t, int n, struct rule *r, char *buf, size_t size)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->wired = r->private_mac = -1;
	if (t[0].key)
		return "a rule starts with its action: approve business|personal, or ask";
	if (!strcmp(t[0].val, "approve")) {
		r->approve = 1;
		if (n < 2 || t[1].key || reg_class_parse(t[1].val, &r->cls) < 0)
			return "approve needs a class: approve business ... or approve personal ...";
		i = 2;
	} else if (!strcmp(t[0].val, "ask")) {
		i = 1;
	} else {
		snprintf(buf, size, "unknown action '%.40s' (approve business|personal, or ask)", t[0].val);
		return buf;
	}
	if (i == n)
		return "a rule needs at least one condition (KEY=VALUE); approving every device is not a rule";
	for (; i < n; i++) {
		const char *k = t[i].key, *v = t[i].val;
		char **str = NULL;
		if (!k) {
			snprintf(buf, size, "'%.40s' is not KEY=VALUE", v);
			return buf;
		}
		if (!*v) {
			snprintf(buf, size, "%.40s: empty value", k);
			return buf;
		}
		if (strlen(v) > 200) {
			snprintf(buf, size, "%.40s: value longer than 200 characters", k);
			return buf;
		}
		if (!strcmp(k, "type")) {
			if (r->type) {
				snprintf(buf, size, "type given twice");
				return buf;
			}
			if (reg_type_parse(v, &r->type) < 0) {
				snprintf(buf, size, "type: unknown device type '%.40s' (pc, phone, tablet, printer, pos, "
					 "payment, signage, other)", v);
				return buf;
			}
			continue;
		}
		if (!strcmp(k, "wired") || !strcmp(k, "private")) {
			int *p = !strcmp(k, "wired") ? &r->wired : &r->private_mac;
			if (*p != -1) {
				snprintf(buf, size, "%s given twice", k);
				return buf;
			}
			if ((*p = parse_yesno(v)) < 0) {
				snprintf(buf, size, "%s: '%.40s' is not yes or no", k, v);
				return buf;
			}
			continue;
		}
		if (!strcmp(k, "os"))
			str = &r->os;
		else if (!strcmp(k, "fingerprint"))
			str = &r->fingerprint;
		else if (!strcmp(k, "vendor"))
			str = &r->vendor;
		else if (!strcmp(k, "vendor_class"))
			str = &r->vendor_class;
		else if (!strcmp(k, "hostname"))
			str = &r->hostname;
		else if (!strcmp(k, "mac"))
			str = &r->mac;
		else if (!strcmp(k, "port"))
			str = &r->port;
		else if (!strcmp(k, "bss"))
			str = &r->bss;
		else {
			snprintf(buf, size, "unknown key '%.40s' (type, os, fingerprint, vendor, vendor_class, hostname, "
				 "mac, wired, private, port, bss)", k);
			return buf;
		}
		if (*str) {
			snprintf(buf, size, "%s given twice", k);
			return buf;
		}
		if (str == &r->mac) {
			size_t len = strlen(v);
			for (size_t j = 0; j < len; j++)
				if (!(j % 3 == 2 ? v[j] == ':' : isxdigit((unsigned char)v[j])))
					len = 0;
			if (len < 2 || len > 17 || len % 3 == 0) {
				snprintf(buf, size, "mac: '%.40s' is not a MAC prefix like 64:eb:8c", v);
				return buf;
			}
		}
		if (!(*str = strdup(v)))
			return "out of memory";
	}
	return NULL;
}

int guess_rules_read(FILE *f, const char *name, FILE *errs, struct guess_rules **out)
{
	char line[LINE_MAX_LEN + 2], copy[LINE_MAX_LEN + 2], buf[256];
	struct tok tk[MAX_TOKENS];
	struct guess_rules *rs = calloc(1, sizeof(*rs));
	unsigned lineno = 0, cap = 0;
	int bad = 0, n;

	if (!rs)
		return -ENOMEM;
	while ((n = next_tokens(f, line, sizeof(line), copy, tk, name, &lineno, errs, &bad)) > 0) {
		const char *why;
		struct rule ru;

		why = parse_rule(tk, n, &ru, buf, sizeof(buf));
		if (why) {
			report(errs, name, lineno, "%s", why);
			rule_clear(&ru);
			bad++;
			continue;
		}
		snprintf(ru.where, sizeof(ru.where), "%.140s:%u", name, lineno);
		/* the rule as written, without the comment and the line end */
		char *hash = NULL;
		bool q = false;
		for (char *p = copy; *p && !hash; p++) {
			if (*p == '\\' && q && p[1])
				p++;
			else if (*p == '"')
				q = !q;
			else if (*p == '#' && !q && (p == copy || p[-1] == ' ' || p[-1] == '\t'))
				hash = p; /* as tokenize(): # opens a comment where a word starts */
		}
		if (hash)
			*hash = 0;
		size_t len = strlen(copy);
		while (len && strchr(" \t\r\n", copy[len - 1]))
			copy[--len] = 0;
		const char *text = copy + strspn(copy, " \t");
		util_strlcpy(ru.text, text, sizeof(ru.text));
		if (rs->n == cap) {
			unsigned nc = cap ? cap * 2 : 16;
			struct rule *nr = realloc(rs->r, nc * sizeof(*nr));
			if (!nr) {
				rule_clear(&ru);
				guess_rules_free(rs);
				return -ENOMEM;
			}
			rs->r = nr;
			cap = nc;
		}
		rs->r[rs->n++] = ru;
	}
	if (bad) {
		if (errs)
			fprintf(errs, "%s: %d bad line%s: no automatic decisions from this file\n", name, bad,
				bad > 1 ? "s" : "");
		guess_rules_free(rs);
		return -EINVAL;
	}
	*out = rs;
	return 0;
}

int guess_rules_load(const char *path, FILE *errs, struct guess_rules **out)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		r = -errno;
		if (errs)
			fprintf(errs, "%s: cannot read: %s\n", path, strerror(-r));
		return r;
	}
	r = guess_rules_read(f, path, errs, out);
	fclose(f);
	return r;
}

static bool rule_matches(const struct rule *r, const struct reg_device *d, const struct guess *g)
{
	enum reg_type type = d->type ? d->type : g->type;

	if (r->type && r->type != type)
		return false;
	if (r->os && strcasecmp(r->os, g->os))
		return false;
	if (r->fingerprint && strcasecmp(r->fingerprint, g->fingerprint))
		return false;
	if (r->vendor && !has_word(d->vendor, r->vendor))
		return false;
	if (r->vendor_class && !has_word(d->dhcp_vendor_class, r->vendor_class))
		return false;
	if (r->hostname && !glob_match(r->hostname, d->dhcp_hostname) && !glob_match(r->hostname, d->hostname))
		return false;
	if (r->mac && strncasecmp(d->mac, r->mac, strlen(r->mac)))
		return false;
	if (r->port && (!d->port || strcmp(r->port, d->port)))
		return false;
	if (r->bss && (!d->bss || strcmp(r->bss, d->bss)))
		return false;
	if (r->wired != -1 && r->wired != (d->port != NULL))
		return false;
	if (r->private_mac != -1 && r->private_mac != mac_private(d->mac))
		return false;
	return true;
}

int guess_rules_match(const struct guess_rules *rs, const struct reg_device *d, const struct guess *g,
		      struct guess_verdict *out)
{
	for (unsigned i = 0; rs && i < rs->n; i++) {
		const struct rule *r = &rs->r[i];
		if (!rule_matches(r, d, g))
			continue;
		memset(out, 0, sizeof(*out));
		out->approve = r->approve;
		out->cls = r->cls;
		util_strlcpy(out->where, r->where, sizeof(out->where));
		util_strlcpy(out->text, r->text, sizeof(out->text));
		return 1;
	}
	return 0;
}
