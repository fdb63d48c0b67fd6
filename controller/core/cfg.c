#include "cfg.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "util.h"

enum key_type { K_STR, K_PATH, K_SOCKPATH, K_UINT, K_MODE, K_BOOL, K_LOGLEVEL, K_ZONE };

struct key_def {
	const char *section;   /* "apgated", "hostapd", or "bss" for [bss IFNAME] */
	const char *key;
	enum key_type type;
	size_t off;            /* into struct cfg, or struct cfg_bss for "bss" */
	const char *def;       /* NULL = required */
	long min, max;         /* K_UINT bounds */
};

#define F(field) offsetof(struct cfg, field)
#define B(field) offsetof(struct cfg_bss, field)

static const struct key_def keys[] = {
	{ "apgated", "registry",           K_PATH,     F(registry),           NULL, 0, 0 },
	{ "apgated", "admin_socket",       K_SOCKPATH, F(admin_socket),       "/run/apgate/admin.sock", 0, 0 },
	{ "apgated", "admin_socket_mode",  K_MODE,     F(admin_socket_mode),  "0660", 0, 0777 },
	{ "apgated", "admin_socket_group", K_STR,      F(admin_socket_group), "", 0, 0 },
	{ "apgated", "log_level",          K_LOGLEVEL, F(log_level),          "info", 0, 0 },
	{ "apgated", "syslog",             K_BOOL,     F(syslog),             "no", 0, 0 },
	{ "apgated", "oui_dir",           K_STR,      F(oui_dir),           "/usr/share/ieee-data", 0, 0 },
	{ "hostapd", "ctrl_dir",           K_PATH,     F(ctrl_dir),           "/run/hostapd", 0, 0 },
	{ "hostapd", "client_dir",         K_PATH,     F(client_dir),         "/run/apgate", 0, 0 },
	{ "hostapd", "ping_interval_ms",   K_UINT,     F(ping_interval_ms),   "1000", 100, 60000 },
	{ "hostapd", "request_timeout_ms", K_UINT,     F(request_timeout_ms), "1000", 50, 30000 },
	{ "hostapd", "backoff_max_ms",     K_UINT,     F(backoff_max_ms),     "5000", 100, 600000 },
	{ "bss",     "zone",               K_ZONE,     B(zone),               NULL, 0, 0 },
};

#define MAX_SECTIONS 64

struct section {
	char name[64];
	int line;
	bool is_bss;
	struct cfg_bss *bss;   /* for [bss X] */
	unsigned seen_mask;    /* bit i = keys[i] given */
};

struct parse {
	const char *path;
	FILE *errs;
	FILE *in;
	int lineno;
	int errors;
	struct cfg *cfg;
	struct section sec[MAX_SECTIONS];
	unsigned n_sec;
	unsigned seen_global; /* bit i = keys[i] given in its section */
};

const char *cfg_zone_name(enum cfg_zone z)
{
	return z == CFG_ZONE_GUEST ? "guest" : "work";
}

static void perr(struct parse *p, int line, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void perr(struct parse *p, int line, const char *key, const char *fmt, ...)
{
	va_list ap;

	p->errors++;
	if (!p->errs)
		return;
	fprintf(p->errs, "%s:%d: %s: ", p->path, line, key);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

static const char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static struct section *cur_section(struct parse *p)
{
	return p->n_sec ? &p->sec[p->n_sec - 1] : NULL;
}

/* Called by inih once per line before it parses the line: counts lines and
 * sees section headers itself, so that empty sections, duplicates and
 * syntax errors are all reported with their line. */
static char *reader(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	char copy[512];
	const char *t;

	if (!fgets(buf, size, p->in))
		return NULL;
	p->lineno++;
	util_strlcpy(copy, buf, sizeof(copy));
	t = trim(copy);
	if (*t == '\0' || *t == '#' || *t == ';')
		return buf;
	if (*t == '[') {
		const char *end = strchr(t, ']');
		char name[128];
		size_t n;

		if (!end) {
			perr(p, p->lineno, t, "section header without ']'");
			return buf;
		}
		n = (size_t)(end - t - 1);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, t + 1, n);
		name[n] = '\0';
		if (p->n_sec == MAX_SECTIONS) {
			perr(p, p->lineno, name, "too many sections (at most %d)", MAX_SECTIONS);
			return buf;
		}
		struct section *s = &p->sec[p->n_sec];
		memset(s, 0, sizeof(*s));
		s->line = p->lineno;
		util_strlcpy(s->name, trim(name), sizeof(s->name));
		if (strncmp(s->name, "bss ", 4) == 0 || strcmp(s->name, "bss") == 0) {
			char ifname[64];
			util_strlcpy(ifname, s->name + 3, sizeof(ifname));
			const char *ifn = trim(ifname);
			s->is_bss = true;
			if (!*ifn || strlen(ifn) >= 16 || strpbrk(ifn, "/ \t")) {
				perr(p, p->lineno, s->name, "a BSS section is [bss IFNAME] with an interface name of 1-15 characters");
			} else {
				for (unsigned i = 0; i < p->cfg->n_bss; i++)
					if (strcmp(p->cfg->bss[i].ifname, ifn) == 0)
						perr(p, p->lineno, s->name, "duplicate section (BSS %s is already configured)", ifn);
				struct cfg_bss *nb = realloc(p->cfg->bss, (p->cfg->n_bss + 1) * sizeof(*nb));
				if (nb) {
					p->cfg->bss = nb;
					s->bss = &nb[p->cfg->n_bss];
					s->bss->ifname = strdup(ifn);
					s->bss->zone = CFG_ZONE_WORK;
					p->cfg->n_bss++;
					/* earlier sections' pointers moved with realloc */
					for (unsigned i = 0, k = 0; i < p->n_sec; i++)
						if (p->sec[i].is_bss && p->sec[i].bss)
							p->sec[i].bss = &nb[k++];
				}
			}
		} else if (strcmp(s->name, "apgated") != 0 && strcmp(s->name, "hostapd") != 0) {
			perr(p, p->lineno, s->name, "unknown section (expected [apgated], [hostapd] or [bss IFNAME])");
		} else {
			for (unsigned i = 0; i < p->n_sec; i++)
				if (strcmp(p->sec[i].name, s->name) == 0)
					perr(p, p->lineno, s->name, "duplicate section");
		}
		p->n_sec++;
		return buf;
	}
	if (!strchr(t, '=') && !strchr(t, ':'))
		perr(p, p->lineno, t, "not a 'key = value' line");
	return buf;
}

static int set_value(struct parse *p, const struct key_def *k, void *base, const char *v, int line)
{
	void *field = (char *)base + k->off;
	long n;

	switch (k->type) {
	case K_PATH:
	case K_SOCKPATH:
		if (v[0] != '/') {
			perr(p, line, k->key, "'%s' is not an absolute path", v);
			return -EINVAL;
		}
		if (k->type == K_SOCKPATH && strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			perr(p, line, k->key, "socket path longer than %zu bytes",
			     sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -EINVAL;
		}
		/* fall through */
	case K_STR: {
		char *d = strdup(v);
		if (!d)
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = d;
		return 0;
	}
	case K_UINT:
		if (util_parse_long(v, k->min, k->max, &n) < 0) {
			perr(p, line, k->key, "'%s' is not a whole number from %ld to %ld", v, k->min, k->max);
			return -EINVAL;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	case K_MODE: {
		char *end;
		errno = 0;
		n = strtol(v, &end, 8);
		if (!*v || *end || errno || n < k->min || n > k->max) {
			perr(p, line, k->key, "'%s' is not an octal file mode such as 0660", v);
			return -EINVAL;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	}
	case K_BOOL:
		if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1"))
			*(bool *)field = true;
		else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0"))
			*(bool *)field = false;
		else {
			perr(p, line, k->key, "'%s' is not yes or no", v);
			return -EINVAL;
		}
		return 0;
	case K_LOGLEVEL:
		if (log_level_parse(v, (enum log_level *)field) < 0) {
			perr(p, line, k->key, "'%s' is not one of error, warn, info, debug", v);
			return -EINVAL;
		}
		return 0;
	case K_ZONE:
		if (!strcmp(v, "work"))
			*(enum cfg_zone *)field = CFG_ZONE_WORK;
		else if (!strcmp(v, "guest"))
			*(enum cfg_zone *)field = CFG_ZONE_GUEST;
		else {
			perr(p, line, k->key, "'%s' is not a BSS zone (work or guest)", v);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct section *s = cur_section(p);
	const char *want;
	void *base;

	(void)section; /* the reader tracks sections with their lines */
	if (!s) {
		perr(p, p->lineno, name, "key outside of any section");
		return 1;
	}
	if (s->is_bss) {
		if (!s->bss)
			return 1; /* bad header already reported */
		want = "bss";
		base = s->bss;
	} else {
		want = s->name;
		base = p->cfg;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(keys[i].section, want) != 0 || strcmp(keys[i].key, name) != 0)
			continue;
		if (s->seen_mask & (1u << i))
			perr(p, p->lineno, name, "given twice in [%s]", s->name);
		s->seen_mask |= 1u << i;
		if (!s->is_bss)
			p->seen_global |= 1u << i;
		set_value(p, &keys[i], base, value, p->lineno);
		return 1;
	}
	/* Suggest what the key might have been. */
	const char *hint = NULL;
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].key, name) == 0)
			hint = keys[i].section;
	if (hint)
		perr(p, p->lineno, name, "unknown key in [%s] (it belongs in [%s%s])", s->name, hint,
		     strcmp(hint, "bss") == 0 ? " IFNAME" : "");
	else
		perr(p, p->lineno, name, "unknown key in [%s]", s->name);
	return 1;
}

static int section_line(const struct parse *p, const char *name)
{
	for (unsigned i = 0; i < p->n_sec; i++)
		if (strcmp(p->sec[i].name, name) == 0)
			return p->sec[i].line;
	return p->lineno; /* section absent: point at the end of the file */
}

static void check_after(struct parse *p)
{
	/* Required keys and defaults of the global sections. */
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key_def *k = &keys[i];
		if (strcmp(k->section, "bss") == 0 || (p->seen_global & (1u << i)))
			continue;
		if (!k->def) {
			perr(p, section_line(p, k->section), k->key, "required key missing in [%s]", k->section);
			continue;
		}
		struct parse quiet = *p;
		quiet.errs = NULL;
		set_value(&quiet, k, p->cfg, k->def, 0);
	}
	/* Required keys of each [bss X]. */
	for (unsigned s = 0; s < p->n_sec; s++) {
		if (!p->sec[s].is_bss || !p->sec[s].bss)
			continue;
		for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
			if (strcmp(keys[i].section, "bss") == 0 && !keys[i].def &&
			    !(p->sec[s].seen_mask & (1u << i)))
				perr(p, p->sec[s].line, keys[i].key, "required key missing in [%s]", p->sec[s].name);
	}
	if (p->cfg->n_bss == 0)
		perr(p, p->lineno, "bss", "no [bss IFNAME] section: apgated needs at least one hostapd BSS to watch");
	if (p->cfg->admin_socket_group && !*p->cfg->admin_socket_group) {
		free(p->cfg->admin_socket_group);
		p->cfg->admin_socket_group = NULL;
	}
	if (p->cfg->client_dir && strlen(p->cfg->client_dir) + 40 >= sizeof(((struct sockaddr_un *)0)->sun_path))
		perr(p, section_line(p, "hostapd"), "client_dir", "path too long for the client sockets (at most %zu bytes)",
		     sizeof(((struct sockaddr_un *)0)->sun_path) - 41);
	if (p->cfg->ctrl_dir && strlen(p->cfg->ctrl_dir) + 17 >= sizeof(((struct sockaddr_un *)0)->sun_path))
		perr(p, section_line(p, "hostapd"), "ctrl_dir", "path too long for hostapd's sockets");
}

int cfg_load(const char *path, FILE *errs, struct cfg **out)
{
	struct parse p = { .path = path, .errs = errs };
	int r;

	p.in = fopen(path, "r");
	if (!p.in) {
		r = -errno;
		if (errs)
			fprintf(errs, "%s: cannot open: %s\n", path, strerror(-r));
		return r;
	}
	p.cfg = calloc(1, sizeof(*p.cfg));
	if (!p.cfg) {
		fclose(p.in);
		return -ENOMEM;
	}
	p.cfg->path = strdup(path);
	r = ini_parse_stream(reader, &p, handler, &p);
	fclose(p.in);
	if (r < 0) {
		cfg_free(p.cfg);
		return -ENOMEM;
	}
	if (r > 0 && p.errors == 0) /* inih saw an error the reader did not */
		perr(&p, r, "syntax", "cannot parse this line");
	check_after(&p);
	if (p.errors) {
		cfg_free(p.cfg);
		return -EINVAL;
	}
	*out = p.cfg;
	return 0;
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].section, "bss") != 0 &&
		    (keys[i].type == K_STR || keys[i].type == K_PATH || keys[i].type == K_SOCKPATH))
			free(*(char **)((char *)c + keys[i].off));
	for (unsigned i = 0; i < c->n_bss; i++)
		free(c->bss[i].ifname);
	free(c->bss);
	free(c->path);
	free(c);
}

const struct cfg_bss *cfg_find_bss(const struct cfg *c, const char *ifname)
{
	for (unsigned i = 0; i < c->n_bss; i++)
		if (strcmp(c->bss[i].ifname, ifname) == 0)
			return &c->bss[i];
	return NULL;
}
