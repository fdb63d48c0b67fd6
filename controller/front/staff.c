#include "front/staff.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "ctl/ctl.h"
#include "front/auth.h"
#include "front/tls.h"
#include "front/web.h"
#include "log.h"
#include "mac.h"
#include "model/guess.h"
#include "model/oui.h"
#include "model/policy.h"
#include "model/reg.h"
#include "util.h"

#define COOKIE_SESS "apgate_session"
#define COOKIE_PRE "apgate_pre"
#define PAGE_SIZE 100       /* inventory rows per page */
#define PENDING_SHOWN 50    /* newest pending devices on the pending page */
#define AUDIT_PAGE 50
#define HISTORY_MAX 100
#define MAX_STREAMS 32      /* server-sent event streams at once */
#define HEARTBEAT_S 10
#define MIN_PASSWORD 10

struct stream {
	struct staff *s;
	struct evhttp_request *req;
	struct evhttp_connection *conn;
	char token[AUTH_TOKEN_LEN + 1];
	struct stream *next;
};

enum { Z_WORK, Z_GUEST, Z_ONB, Z_BLOCKED, Z_N };

/* Counts for the charts, over every device. Kept until the timeline grows
 * (every registry change adds an event): a page view does not walk 5,000
 * records again. */
struct staff_counts {
	bool valid;
	unsigned total;
	unsigned by_type[REG_TYPE_OTHER + 1];
	unsigned by_zone[Z_N];
	unsigned by_state[REG_STATE_COUNT];
};

struct staff {
	struct event_base *base;
	struct evhttp *https, *http;
	struct tls *tls;
	struct ctl *ctl;
	struct auth *auth;
	const struct web_assets *assets;
	const struct web_i18n *i18n;
	unsigned https_port;
	struct stream *streams;
	unsigned n_streams;
	unsigned watch;
	struct event *heartbeat;
	struct staff_counts counts;
};

/* One request being answered. */
struct rq {
	struct staff *s;
	struct evhttp_request *req;
	enum web_lang lang;
	const struct auth_sess *sess;
	char path[256];
	char ip[INET_ADDRSTRLEN];
};

#define T(key) web_esc(b, web_t(q->s->i18n, q->lang, (key)), 0)

static int64_t now_ms(void)
{
	return util_mono_ms();
}

static void fmt_time(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !localtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%d %H:%M", &tm))
		util_strlcpy(out, "-", size);
}

static void iso_time(int64_t ms, char *out, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		util_strlcpy(out, "", size);
}

static void time_el(struct evbuffer *b, const char *cls, int64_t ms)
{
	char iso[32], txt[32];

	iso_time(ms, iso, sizeof(iso));
	fmt_time(ms, txt, sizeof(txt));
	evbuffer_add_printf(b, "<time class=\"%s\" datetime=\"%s\">%s</time>", cls, iso, txt);
}

/* ---- page frame ---- */

static unsigned alerts_open(struct staff *s);
struct guess;
static void suggestion_line(struct rq *q, struct evbuffer *b, const struct guess *g);


static void page_begin(struct rq *q, struct evbuffer *b, const char *title_key, const char *active)
{
	static const struct {
		const char *id, *href, *key;
		bool admin;
	} nav[] = {
		{ "nav-pending", "/", "staff.nav.pending", false },
		{ "nav-devices", "/devices", "staff.nav.devices", false },
		{ "nav-alerts", "/alerts", "staff.nav.alerts", false },
		{ "nav-audit", "/audit", "staff.nav.audit", false },
		{ "nav-users", "/users", "staff.nav.users", true },
	};

	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n"
			       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
			    web_lang_code(q->lang));
	T(title_key);
	evbuffer_add_printf(b, " - apgate</title>\n<link rel=\"stylesheet\" href=\"/static/app.css\"><link rel=\"icon\" href=\"data:,\">\n"
			       "<script src=\"/static/staff.js\" defer></script>\n</head>\n<body class=\"staff\">\n"
			       "<header class=\"bar\"><span class=\"brand\">apgate</span>");
	if (q->sess) {
		evbuffer_add_printf(b, "<nav>");
		for (size_t i = 0; i < ARRAY_SIZE(nav); i++) {
			if (nav[i].admin && auth_sess_role(q->sess) != REG_ROLE_ADMIN)
				continue;
			evbuffer_add_printf(b, "<a id=\"%s\" href=\"%s\"%s>", nav[i].id, nav[i].href,
					    active && !strcmp(active, nav[i].id) ? " aria-current=\"page\"" : "");
			T(nav[i].key);
			if (!strcmp(nav[i].id, "nav-pending"))
				evbuffer_add_printf(b, " <span id=\"pending-count\" class=\"badge\"></span>");
			if (!strcmp(nav[i].id, "nav-alerts")) {
				unsigned n = alerts_open(q->s);
				if (n)
					evbuffer_add_printf(b, " <span id=\"alert-count\" class=\"badge\">%u</span>", n);
				else
					evbuffer_add_printf(b, " <span id=\"alert-count\" class=\"badge\"></span>");
			}
			evbuffer_add_printf(b, "</a>");
		}
		evbuffer_add_printf(b, "</nav><form class=\"logout\" method=\"post\" action=\"/logout\">"
				       "<input type=\"hidden\" name=\"csrf\" value=\"%s\"><span class=\"user\">",
				    auth_sess_csrf(q->sess));
		web_esc(b, auth_sess_user(q->sess), 0);
		evbuffer_add_printf(b, "</span> <button id=\"logout\" type=\"submit\">");
		T("staff.logout");
		evbuffer_add_printf(b, "</button></form>");
	}
	evbuffer_add_printf(b, "<nav class=\"langs\"><a id=\"lang-en\" href=\"?lang=en\" lang=\"en\">English</a> "
			       "<a id=\"lang-ja\" href=\"?lang=ja\" lang=\"ja\">日本語</a></nav></header>\n<main>\n<h1>");
	T(title_key);
	evbuffer_add_printf(b, "</h1>\n");
}

static void page_end(struct rq *q, struct evbuffer *b)
{
	(void)q;
	evbuffer_add_printf(b, "</main>\n</body></html>\n");
}

static void send_page(struct rq *q, int code, struct evbuffer *b)
{
	web_reply(q->req, code, code == 200 ? "OK" : "Error", "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

static void fail(struct rq *q, int code, const char *key)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		web_error(q->req, HTTP_INTERNAL, "Internal Server Error");
		return;
	}
	page_begin(q, b, "staff.error.title", NULL);
	evbuffer_add_printf(b, "<p class=\"error\" id=\"error\">");
	T(key);
	evbuffer_add_printf(b, "</p><p><a href=\"/\">");
	T("staff.back");
	evbuffer_add_printf(b, "</a></p>\n");
	page_end(q, b);
	send_page(q, code, b);
}

/* negative errno -> HTTP status (STYLE 5) */
static void fail_errno(struct rq *q, int r)
{
	switch (r) {
	case -ENOENT: fail(q, HTTP_NOTFOUND, "staff.error.unknown_device"); break;
	case -EINVAL: fail(q, HTTP_BADREQUEST, "staff.error.bad_request"); break;
	case -EEXIST: fail(q, 409, "staff.error.exists"); break;
	case -EPERM: fail(q, 409, "staff.error.last_admin"); break;
	case -ENOSPC: fail(q, HTTP_SERVUNAVAIL, "staff.error.registry_full"); break;
	case -EBUSY: fail(q, HTTP_SERVUNAVAIL, "staff.error.registry_busy"); break;
	default: fail(q, HTTP_INTERNAL, "staff.error.internal"); break;
	}
}

/* ---- device lists ---- */

static const char *type_key(enum reg_type t)
{
	static char buf[32];

	snprintf(buf, sizeof(buf), "type.%s", t ? reg_type_name(t) : "unknown");
	return buf;
}

static const char *display_name(const struct reg_device *d)
{
	if (d->label && *d->label)
		return d->label;
	if (d->claim_name && *d->claim_name)
		return d->claim_name;
	if (d->hostname && *d->hostname)
		return d->hostname;
	if (d->dhcp_hostname && *d->dhcp_hostname)
		return d->dhcp_hostname;
	return NULL;
}

static void decision_buttons(struct rq *q, struct evbuffer *b, const char *mac, const char *back, bool forget)
{
	const char *csrf = auth_sess_csrf(q->sess);

	evbuffer_add_printf(b, "<div class=\"actions\">");
	evbuffer_add_printf(b, "<form method=\"post\" action=\"/device/%s/approve\"><input type=\"hidden\" name=\"csrf\" "
			       "value=\"%s\"><input type=\"hidden\" name=\"as\" value=\"business\"><input type=\"hidden\" "
			       "name=\"back\" value=\"%s\"><button class=\"approve-business\" type=\"submit\">",
			    mac, csrf, back);
	T("staff.approve.business");
	evbuffer_add_printf(b, "</button></form><form method=\"post\" action=\"/device/%s/approve\"><input type=\"hidden\" "
			       "name=\"csrf\" value=\"%s\"><input type=\"hidden\" name=\"as\" value=\"personal\"><input "
			       "type=\"hidden\" name=\"back\" value=\"%s\"><button class=\"approve-personal\" type=\"submit\">",
			    mac, csrf, back);
	T("staff.approve.personal");
	evbuffer_add_printf(b, "</button></form><form method=\"post\" action=\"/device/%s/block\"><input type=\"hidden\" "
			       "name=\"csrf\" value=\"%s\"><input type=\"hidden\" name=\"back\" value=\"%s\"><button "
			       "class=\"block danger\" type=\"submit\" data-confirm=\"",
			    mac, csrf, back);
	T("staff.confirm.block");
	evbuffer_add_printf(b, "\">");
	T("staff.block");
	evbuffer_add_printf(b, "</button></form>");
	if (forget) {
		evbuffer_add_printf(b, "<form method=\"post\" action=\"/device/%s/forget\"><input type=\"hidden\" "
				       "name=\"csrf\" value=\"%s\"><button class=\"forget danger\" type=\"submit\" data-confirm=\"",
				    mac, csrf);
		T("staff.confirm.forget");
		evbuffer_add_printf(b, "\">");
		T("staff.forget");
		evbuffer_add_printf(b, "</button></form>");
	}
	evbuffer_add_printf(b, "</div>");
}

static unsigned zone_of(const struct reg_device *d)
{
	switch (policy_access(d)) {
	case POLICY_WORK: return Z_WORK;
	case POLICY_GUEST: return Z_GUEST;
	case POLICY_BLOCKED: return Z_BLOCKED;
	default: return Z_ONB;
	}
}

/* The type people set, else the suggestion's (what the inventory counts). */
static enum reg_type type_or_guess(struct ctl *ctl, const struct reg_device *d)
{
	struct guess g;

	if (d->type)
		return d->type;
	memset(&g, 0, sizeof(g));
	ctl_guess(ctl, d, &g);
	return g.type;
}

struct count_walk {
	struct staff_counts c;
	struct ctl *ctl;
};

static int count_item(const struct reg_device *d, void *ud)
{
	struct count_walk *w = ud;
	struct staff_counts *c = &w->c;
	enum reg_type t = type_or_guess(w->ctl, d);

	c->by_type[t <= REG_TYPE_OTHER ? t : 0]++;
	c->by_zone[zone_of(d)]++;
	c->by_state[d->state < REG_STATE_COUNT ? d->state : 0]++;
	c->total++;
	return 0;
}

static int counts_get(struct staff *s, const struct staff_counts **out)
{
	if (!s->counts.valid) {
		struct count_walk w = { .c = { .valid = true }, .ctl = s->ctl };
		int r = reg_list(ctl_reg(s->ctl), NULL, count_item, &w);
		if (r < 0)
			return r;
		s->counts = w.c;
	}
	*out = &s->counts;
	return 0;
}

struct pending_walk {
	struct rq *q;
	struct evbuffer *list;
	unsigned n;
};

static int pending_item(const struct reg_device *d, void *ud)
{
	struct pending_walk *w = ud;
	struct rq *q = w->q;
	struct evbuffer *b = evbuffer_new();
	const char *name = display_name(d);
	struct guess g;
	enum reg_type guess;

	if (!b)
		return -ENOMEM;
	/* the same suggestion as the device page and the inventory */
	memset(&g, 0, sizeof(g));
	if (!d->type)
		ctl_guess(q->s->ctl, d, &g);
	guess = d->type ? d->type : g.type;
	evbuffer_add_printf(b, "<li class=\"device card\" data-mac=\"%s\">\n<a class=\"dev-name\" href=\"/device/%s\">",
			    d->mac, d->mac);
	if (name)
		web_esc(b, name, 80);
	else
		T("staff.unnamed");
	evbuffer_add_printf(b, "</a>\n");
	if (!d->type && (g.type || g.cls || g.n_reasons)) {
		evbuffer_add_printf(b, "<p class=\"suggestion\">");
		suggestion_line(q, b, &g);
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "<dl class=\"facts\"><dt>");
	T("staff.field.type");
	evbuffer_add_printf(b, "</dt><dd class=\"dev-type\">");
	T(type_key(guess));
	if (!d->type && guess)
		evbuffer_add_printf(b, "?");
	evbuffer_add_printf(b, "</dd><dt>");
	T("staff.field.vendor");
	evbuffer_add_printf(b, "</dt><dd class=\"dev-vendor\">");
	if (d->vendor)
		web_esc(b, d->vendor, 80);
	else
		T("staff.unknown");
	evbuffer_add_printf(b, "</dd><dt>");
	T("staff.field.hostname");
	evbuffer_add_printf(b, "</dt><dd class=\"dev-host\">");
	if (d->dhcp_hostname || d->hostname)
		web_esc(b, d->dhcp_hostname ? d->dhcp_hostname : d->hostname, 80);
	else
		evbuffer_add_printf(b, "-");
	evbuffer_add_printf(b, "</dd><dt>");
	T("staff.field.seen");
	evbuffer_add_printf(b, "</dt><dd>");
	time_el(b, "dev-seen", d->first_seen);
	evbuffer_add_printf(b, "</dd><dt>MAC</dt><dd class=\"dev-mac\"><code>%s</code></dd>", d->mac);
	if (d->claim_at) {
		evbuffer_add_printf(b, "<dt>");
		T("staff.field.claim");
		evbuffer_add_printf(b, "</dt><dd class=\"dev-claim\">");
		if (d->claim_name && *d->claim_name) {
			evbuffer_add_printf(b, "&ldquo;");
			web_esc(b, d->claim_name, 64);
			evbuffer_add_printf(b, "&rdquo; ");
		}
		if (d->claim_owner && *d->claim_owner) {
			T("staff.claim.owner");
			evbuffer_add_printf(b, " ");
			web_esc(b, d->claim_owner, 64);
			evbuffer_add_printf(b, " ");
		}
		if (d->claim_cls)
			T(d->claim_cls == REG_CLASS_PERSONAL ? "staff.claim.personal" : "staff.claim.business");
		evbuffer_add_printf(b, "</dd>");
	}
	evbuffer_add_printf(b, "</dl>\n");
	decision_buttons(q, b, d->mac, "/", false);
	evbuffer_add_printf(b, "\n</li>\n");
	evbuffer_add_buffer(w->list, b);
	evbuffer_free(b);
	w->n++;
	return 0;
}

/* The inside of #pending: the newest PENDING_SHOWN, and how many wait. */
static int pending_list(struct rq *q, struct evbuffer *b)
{
	enum reg_state st = REG_PENDING;
	struct pending_walk w = { .q = q, .list = evbuffer_new() };
	const struct staff_counts *c = NULL;
	int r;

	if (!w.list)
		return -ENOMEM;
	r = counts_get(q->s, &c);
	if (r == 0)
		r = reg_list_page(ctl_reg(q->s->ctl), &st, true, 0, PENDING_SHOWN, pending_item, &w);
	if (r < 0) {
		evbuffer_free(w.list);
		return r;
	}
	unsigned n = c->by_state[REG_PENDING];
	evbuffer_add_printf(b, "<p class=\"count\" data-count=\"%u\">", n);
	if (n == 0)
		T("staff.pending.none");
	else
		evbuffer_add_printf(b, "%u", n);
	evbuffer_add_printf(b, "</p>\n<ul class=\"devices\">\n");
	evbuffer_add_buffer(b, w.list);
	evbuffer_add_printf(b, "</ul>\n");
	if (n > w.n) {
		evbuffer_add_printf(b, "<p class=\"more\"><a id=\"pending-more\" href=\"/devices?state=pending\">");
		T("staff.pending.more");
		evbuffer_add_printf(b, " (%u)</a></p>\n", n - w.n);
	}
	evbuffer_free(w.list);
	return 0;
}

/* A page whose list section follows the SSE stream (staff.js swaps in
 * /fragment/<id>), or with fragment only that list. */
static void get_live(struct rq *q, bool fragment, const char *id, const char *title, const char *explain,
		     const char *nav, int (*list)(struct rq *q, struct evbuffer *b))
{
	struct evbuffer *b = evbuffer_new();
	int r;

	if (!b)
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	if (!fragment) {
		page_begin(q, b, title, nav);
		evbuffer_add_printf(b, "<p class=\"explain\">");
		T(explain);
		evbuffer_add_printf(b, "</p>\n<section id=\"%s\" data-live=\"/fragment/%s\">\n", id, id);
	}
	r = list(q, b);
	if (r < 0) {
		evbuffer_free(b);
		return fail_errno(q, r);
	}
	if (!fragment) {
		evbuffer_add_printf(b, "</section>\n");
		page_end(q, b);
	}
	send_page(q, HTTP_OK, b);
}

/* ---- inventory ---- */

static const char *const zone_keys[Z_N] = { "zone.work", "zone.guest", "zone.onboarding", "zone.blocked" };
static const char *const zone_cls[Z_N] = { "z-work", "z-guest", "z-onb", "z-blocked" };

struct inv_walk {
	struct rq *q;
	struct evbuffer *rows;
};


static int inv_item(const struct reg_device *d, void *ud)
{
	struct inv_walk *w = ud;
	struct rq *q = w->q;
	struct evbuffer *b = w->rows;
	enum reg_type t = type_or_guess(q->s->ctl, d);
	unsigned z = zone_of(d);
	const char *name = display_name(d);

	evbuffer_add_printf(b, "<tr data-mac=\"%s\"><td><a href=\"/device/%s\">", d->mac, d->mac);
	if (name)
		web_esc(b, name, 60);
	else
		evbuffer_add_printf(b, "<code>%s</code>", d->mac);
	evbuffer_add_printf(b, "</a></td><td>");
	T(type_key(t));
	if (!d->type && t)
		evbuffer_add_printf(b, "?");
	evbuffer_add_printf(b, "</td><td><span class=\"tag %s\">", zone_cls[z]);
	T(zone_keys[z]);
	evbuffer_add_printf(b, "</span>%s</td><td>", d->connected ? " <span class=\"on\" title=\"connected\">&#9679;</span>" : "");
	web_esc(b, d->vendor, 40);
	evbuffer_add_printf(b, "</td><td>");
	web_esc(b, d->ip, 0);
	evbuffer_add_printf(b, "</td><td>");
	time_el(b, "seen", d->last_seen);
	evbuffer_add_printf(b, "</td></tr>\n");
	return 0;
}

/* A horizontal bar chart as inline SVG (no script, no external asset). */
static void chart(struct rq *q, struct evbuffer *b, const char *id, const char *title_key, const char *const *keys,
		  const char *const *classes, const unsigned *counts, unsigned n)
{
	unsigned max = 1, rows = 0, y = 0;
	const unsigned row_h = 26, label_w = 120, bar_w = 170;

	for (unsigned i = 0; i < n; i++) {
		if (counts[i] > max)
			max = counts[i];
		rows += counts[i] > 0;
	}
	evbuffer_add_printf(b, "<figure class=\"chart\"><figcaption>");
	T(title_key);
	evbuffer_add_printf(b, "</figcaption><svg id=\"%s\" role=\"img\" viewBox=\"0 0 340 %u\" "
			       "xmlns=\"http://www.w3.org/2000/svg\">",
			    id, rows ? rows * row_h : row_h);
	for (unsigned i = 0; i < n; i++) {
		if (!counts[i])
			continue;
		unsigned w = counts[i] * bar_w / max;
		evbuffer_add_printf(b, "<g class=\"row %s\" data-count=\"%u\"><text x=\"0\" y=\"%u\" class=\"label\">",
				    classes ? classes[i] : "", counts[i], y + 17);
		T(keys[i]);
		evbuffer_add_printf(b, "</text><rect class=\"bar\" x=\"%u\" y=\"%u\" width=\"%u\" height=\"18\" rx=\"3\"/>"
				       "<text x=\"%u\" y=\"%u\" class=\"value\">%u</text></g>",
				    label_w, y + 4, w ? w : 1, label_w + (w ? w : 1) + 6, y + 17, counts[i]);
		y += row_h;
	}
	evbuffer_add_printf(b, "</svg></figure>\n");
}

static void get_devices(struct rq *q)
{
	struct evbuffer *b = evbuffer_new();
	struct inv_walk w = { .q = q, .rows = evbuffer_new() };
	const struct staff_counts *c = NULL;
	unsigned total;
	struct evkeyvalq qs;
	enum reg_state st;
	bool filter = false;
	long page = 1;
	int r;

	if (!b || !w.rows) {
		if (b)
			evbuffer_free(b);
		if (w.rows)
			evbuffer_free(w.rows);
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	}
	if (web_query(q->req, &qs) == 0) {
		const char *p = evhttp_find_header(&qs, "page");
		if (p && util_parse_long(p, 1, 100000, &page) < 0)
			page = 1;
		filter = reg_state_parse(evhttp_find_header(&qs, "state"), &st) == 0;
		evhttp_clear_headers(&qs);
	}
	r = counts_get(q->s, &c);
	if (r == 0)
		r = reg_list_page(ctl_reg(q->s->ctl), filter ? &st : NULL, false, (unsigned)(page - 1) * PAGE_SIZE, PAGE_SIZE,
				  inv_item, &w);
	if (r < 0) {
		evbuffer_free(b);
		evbuffer_free(w.rows);
		return fail_errno(q, r);
	}
	total = filter ? c->by_state[st] : c->total;
	page_begin(q, b, "staff.devices.title", "nav-devices");
	evbuffer_add_printf(b, "<p class=\"count\" id=\"devices-total\" data-count=\"%u\">", c->total);
	T("staff.devices.total");
	evbuffer_add_printf(b, " %u</p>\n<p class=\"links\"><a id=\"unmanaged-link\" href=\"/unmanaged\">", c->total);
	T("staff.unmanaged.title");
	evbuffer_add_printf(b, "</a> &middot; <a id=\"inventory-print\" href=\"/inventory/print\">");
	T("staff.inventory.title");
	evbuffer_add_printf(b, "</a> &middot; <a id=\"inventory-csv\" href=\"/inventory.csv\" download>");
	T("staff.inventory.csv");
	evbuffer_add_printf(b, "</a></p>\n<div class=\"charts\">");
	static const char *const tkeys[] = { "type.unknown", "type.pc", "type.phone", "type.tablet", "type.printer",
					     "type.pos", "type.payment", "type.signage", "type.other" };
	chart(q, b, "chart-type", "staff.chart.type", tkeys, NULL, c->by_type, ARRAY_SIZE(tkeys));
	chart(q, b, "chart-zone", "staff.chart.zone", zone_keys, zone_cls, c->by_zone, Z_N);
	evbuffer_add_printf(b, "</div>\n");
	if (filter) {
		evbuffer_add_printf(b, "<p class=\"filter\" data-state=\"%s\">", reg_state_name(st));
		T(st == REG_PENDING ? "state.pending" : st == REG_APPROVED ? "state.approved" :
		  st == REG_BLOCKED ? "state.blocked" : "state.guest");
		evbuffer_add_printf(b, " (%u) &middot; <a href=\"/devices\">", total);
		T("staff.devices.all");
		evbuffer_add_printf(b, "</a></p>\n");
	}
	evbuffer_add_printf(b, "<div class=\"scroll\"><table id=\"devices\"><thead><tr><th>");
	T("staff.field.name");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.type");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.zone");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.vendor");
	evbuffer_add_printf(b, "</th><th>IP</th><th>");
	T("staff.field.last_seen");
	evbuffer_add_printf(b, "</th></tr></thead><tbody>\n");
	evbuffer_add_buffer(b, w.rows);
	evbuffer_add_printf(b, "</tbody></table></div>\n<nav class=\"pages\">");
	const char *sq = filter ? "state=" : "", *sv = filter ? reg_state_name(st) : "", *amp = filter ? "&amp;" : "";
	if (page > 1)
		evbuffer_add_printf(b, "<a rel=\"prev\" href=\"/devices?%s%s%spage=%ld\">&larr;</a> ", sq, sv, amp, page - 1);
	evbuffer_add_printf(b, "<span>%ld / %u</span>", page, total ? (total + PAGE_SIZE - 1) / PAGE_SIZE : 1);
	if ((unsigned long)page * PAGE_SIZE < total)
		evbuffer_add_printf(b, " <a rel=\"next\" href=\"/devices?%s%s%spage=%ld\">&rarr;</a>", sq, sv, amp, page + 1);
	evbuffer_add_printf(b, "</nav>\n");
	evbuffer_free(w.rows);
	page_end(q, b);
	send_page(q, HTTP_OK, b);
}

static void on_change(void *ud);

/* ---- issue 8: suggestions, findings, alerts, unmanaged MACs, the
 * printable inventory ---- */

static const char *const alert_kinds[] = { "new_device", "blocked", "risky_service", "repair_loop", "unmanaged",
					   "dns_blocked" };
static const char *const advice_services[] = { "telnet", "ftp", "smb", "rdp", "vnc", "http-admin", "upnp" };

/* "alert.kind.<kind>" for the kinds ctl.h lists, else NULL. */
static const char *alert_kind_key(const char *kind, char *buf, size_t size)
{
	for (size_t i = 0; kind && i < ARRAY_SIZE(alert_kinds); i++)
		if (!strcmp(kind, alert_kinds[i])) {
			snprintf(buf, size, "alert.kind.%s", kind);
			return buf;
		}
	return NULL;
}

static const char *advice_key(const char *service, char *buf, size_t size)
{
	for (size_t i = 0; service && i < ARRAY_SIZE(advice_services); i++)
		if (!strcmp(service, advice_services[i])) {
			snprintf(buf, size, "advice.%s", service);
			return buf;
		}
	return "advice.other";
}

/* "Probably a phone (personal): DHCP fingerprint iOS, private address";
 * nothing when the guess has nothing to say. */
static void suggestion_line(struct rq *q, struct evbuffer *b, const struct guess *g)
{
	char key[48];

	if (!g->type && !g->cls && !g->n_reasons)
		return;
	evbuffer_add_printf(b, "<span class=\"suggest-type\" data-type=\"%s\">", g->type ? reg_type_name(g->type) : "");
	T("staff.suggest.probably");
	evbuffer_add_printf(b, " ");
	if (g->type)
		T(type_key(g->type));
	if (g->type && g->cls)
		evbuffer_add_printf(b, " (");
	if (g->cls)
		T(g->cls == REG_CLASS_PERSONAL ? "staff.suggest.personal" : "staff.suggest.business");
	if (g->type && g->cls)
		evbuffer_add_printf(b, ")");
	if (!g->type && !g->cls)
		T("type.unknown");
	evbuffer_add_printf(b, "</span>");
	for (unsigned i = 0; i < g->n_reasons && i < GUESS_MAX_REASONS; i++) {
		const char *name = guess_reason_name(g->reasons[i].code), *arg = g->reasons[i].arg;
		evbuffer_add_printf(b, "%s<span class=\"reason\" data-code=\"%s\">", i ? ", " : ": ", name ? name : "");
		snprintf(key, sizeof(key), "reason.%s", name ? name : "unknown");
		T(key);
		if (g->reasons[i].code == GUESS_R_CLAIM) {
			evbuffer_add_printf(b, " ");
			T(!strcmp(arg, "personal") ? "staff.suggest.personal" : "staff.suggest.business");
		} else if (arg[0]) {
			evbuffer_add_printf(b, " <q>");
			web_esc(b, arg, 64);
			evbuffer_add_printf(b, "</q>");
		}
		evbuffer_add_printf(b, "</span>");
	}
}

/* ---- alerts ---- */

static int count_open(const struct reg_alert *a, void *ud)
{
	(void)a;
	(*(unsigned *)ud)++;
	return 0;
}

/* Open alerts, for the badge. Counted each time (open ones are few: one
 * per kind and device until acknowledged), because apgatectl ack changes
 * them without growing the timeline. */
static unsigned alerts_open(struct staff *s)
{
	unsigned n = 0;

	return reg_alerts(ctl_reg(s->ctl), false, 0, count_open, &n) < 0 ? 0 : n;
}

struct alert_walk {
	struct rq *q;
	struct evbuffer *list;
	unsigned n;
};

static int alert_item(const struct reg_alert *a, void *ud)
{
	struct alert_walk *w = ud;
	struct rq *q = w->q;
	struct evbuffer *b = evbuffer_new();
	char key[48], m[MAC_STR_LEN];
	const char *k = alert_kind_key(a->kind, key, sizeof(key));

	if (!b)
		return -ENOMEM;
	evbuffer_add_printf(b, "<li class=\"alert card\" data-id=\"%lld\" data-kind=\"", (long long)a->id);
	web_esc(b, a->kind, 32);
	evbuffer_add_printf(b, "\"><p><span class=\"tag alert-kind\">");
	if (k)
		T(k);
	else
		web_esc(b, a->kind, 32);
	evbuffer_add_printf(b, "</span> ");
	time_el(b, "ts", a->ts);
	if (a->mac && mac_canon(a->mac, m) == 0) {
		struct reg_device *d = NULL;
		const char *name = NULL;
		/* the device by the name people know it by, when it is one */
		if (reg_get(ctl_reg(q->s->ctl), m, &d) == 0)
			name = display_name(d);
		evbuffer_add_printf(b, " <a class=\"alert-device\" href=\"/device/%s\">", m);
		if (name) {
			web_esc(b, name, 60);
			evbuffer_add_printf(b, " ");
		}
		evbuffer_add_printf(b, "<code>%s</code></a>", m);
		reg_device_free(d);
	}
	evbuffer_add_printf(b, "</p><p class=\"alert-msg\">");
	web_esc(b, a->message, 400);
	evbuffer_add_printf(b, "</p><form method=\"post\" action=\"/alerts/%lld/ack\"><input type=\"hidden\" name=\"csrf\" "
			       "value=\"%s\"><button class=\"ack\" type=\"submit\">",
			    (long long)a->id, auth_sess_csrf(q->sess));
	T("staff.alerts.ack");
	evbuffer_add_printf(b, "</button></form></li>\n");
	evbuffer_prepend_buffer(w->list, b); /* newest first */
	evbuffer_free(b);
	w->n++;
	return 0;
}

/* The inside of #alerts: open alerts, newest first. */
static int alerts_list(struct rq *q, struct evbuffer *b)
{
	struct alert_walk w = { .q = q, .list = evbuffer_new() };
	int r;

	if (!w.list)
		return -ENOMEM;
	r = reg_alerts(ctl_reg(q->s->ctl), false, 200, alert_item, &w);
	if (r < 0) {
		evbuffer_free(w.list);
		return r;
	}
	evbuffer_add_printf(b, "<p class=\"count\" id=\"alerts-open\" data-count=\"%u\">", w.n);
	if (!w.n)
		T("staff.alerts.none");
	else
		evbuffer_add_printf(b, "%u", w.n);
	evbuffer_add_printf(b, "</p>\n");
	if (w.n) {
		evbuffer_add_printf(b, "<form id=\"ack-all\" method=\"post\" action=\"/alerts/ack-all\"><input type=\"hidden\" "
				       "name=\"csrf\" value=\"%s\"><button class=\"ack-all\" type=\"submit\" data-confirm=\"",
				    auth_sess_csrf(q->sess));
		T("staff.alerts.confirm_all");
		evbuffer_add_printf(b, "\">");
		T("staff.alerts.ack_all");
		evbuffer_add_printf(b, "</button></form>\n");
	}
	evbuffer_add_printf(b, "<ul class=\"alerts devices\">\n");
	evbuffer_add_buffer(b, w.list);
	evbuffer_add_printf(b, "</ul>\n");
	evbuffer_free(w.list);
	return 0;
}

static void get_alert_count(struct rq *q)
{
	struct evbuffer *b = evbuffer_new();

	if (!b)
		return web_error(q->req, HTTP_INTERNAL, "Internal Server Error");
	evbuffer_add_printf(b, "%u", alerts_open(q->s));
	web_reply(q->req, HTTP_OK, "OK", "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

/* POST /alerts/<id>/ack or /alerts/ack-all (approvers and admins). */
static void post_alert_ack(struct rq *q, const char *what)
{
	struct reg_actor who = { .who = auth_sess_user(q->sess), .via = "portal" };
	long id = 0;
	char idbuf[24];
	const char *end = strstr(what, "/ack");
	int r;

	if (strcmp(what, "ack-all")) {
		size_t n = end ? (size_t)(end - what) : 0;
		if (!end || strcmp(end, "/ack") || !n || n >= sizeof(idbuf))
			return fail(q, HTTP_NOTFOUND, "staff.error.not_found");
		memcpy(idbuf, what, n);
		idbuf[n] = '\0';
		if (util_parse_long(idbuf, 1, LONG_MAX, &id) < 0)
			return fail(q, HTTP_NOTFOUND, "staff.error.not_found");
	}
	r = reg_alert_ack(ctl_reg(q->s->ctl), id, &who, util_now_ms());
	if (r < 0 && r != -ENOENT) /* already acknowledged: nothing to do */
		return fail_errno(q, r);
	if (r > 0) {
		log_info("portal: %s acknowledged %s", who.who, id ? idbuf : "every open alert");
		on_change(q->s); /* other pages' badges */
	}
	web_redirect(q->req, 303, "/alerts");
}

/* ---- device detail: suggestion, findings, blocked look-ups ---- */

struct find_walk {
	struct rq *q;
	struct evbuffer *b;
	unsigned n;
};

static int finding_item(const struct reg_finding *f, void *ud)
{
	struct find_walk *w = ud;
	struct rq *q = w->q;
	struct evbuffer *b = w->b;
	char key[48];

	evbuffer_add_printf(b, "<li class=\"finding\" data-service=\"");
	web_esc(b, f->service, 32);
	evbuffer_add_printf(b, "\" data-port=\"%u\"><strong>", f->port);
	web_esc(b, f->service, 32);
	evbuffer_add_printf(b, "</strong> (");
	T("staff.findings.port");
	evbuffer_add_printf(b, " %u)", f->port);
	if (f->detail && *f->detail) {
		evbuffer_add_printf(b, " <q class=\"banner\">");
		web_esc(b, f->detail, 80);
		evbuffer_add_printf(b, "</q>");
	}
	evbuffer_add_printf(b, "<br><span class=\"advice\">");
	T(advice_key(f->service, key, sizeof(key)));
	evbuffer_add_printf(b, "</span></li>\n");
	w->n++;
	return 0;
}

static int dns_block_item(const struct reg_dns_block *d, void *ud)
{
	struct find_walk *w = ud;
	struct evbuffer *b = w->b;

	evbuffer_add_printf(b, "<tr class=\"dns-block\"><td class=\"domain\">");
	web_esc(b, d->domain, 120);
	evbuffer_add_printf(b, "</td><td class=\"times\">%u</td><td>", d->count);
	time_el(b, "last", d->last_at);
	evbuffer_add_printf(b, "</td></tr>\n");
	w->n++;
	return 0;
}

/* The sections under a device's facts. Returns 0 or a negative errno. */
static int device_extra(struct rq *q, struct evbuffer *b, const struct reg_device *d)
{
	struct guess g;
	struct evbuffer *tmp = evbuffer_new();
	struct find_walk w = { .q = q, .b = tmp };
	int r;

	if (!tmp)
		return -ENOMEM;
	memset(&g, 0, sizeof(g));
	ctl_guess(q->s->ctl, d, &g);
	evbuffer_add_printf(b, "<section id=\"suggestion\" class=\"card\"><h2>");
	T("staff.suggest.title");
	evbuffer_add_printf(b, "</h2><p class=\"suggestion\">");
	if (g.type || g.cls || g.n_reasons)
		suggestion_line(q, b, &g);
	else
		T("staff.suggest.none");
	evbuffer_add_printf(b, "</p></section>\n<section id=\"findings\" class=\"card\"><h2>");
	T("staff.findings.title");
	evbuffer_add_printf(b, "</h2>\n");
	r = reg_findings(ctl_reg(q->s->ctl), d->mac, finding_item, &w);
	if (r < 0)
		goto out;
	evbuffer_add_printf(b, "<p class=\"checked\" data-checked=\"%s\">", d->checked_at ? "yes" : "no");
	if (d->checked_at) {
		T("staff.findings.checked");
		evbuffer_add_printf(b, " ");
		time_el(b, "dev-checked", d->checked_at);
		evbuffer_add_printf(b, ". ");
		T(w.n ? "staff.findings.some" : "staff.findings.none");
	} else {
		T("staff.findings.never");
	}
	evbuffer_add_printf(b, "</p>\n");
	if (w.n) {
		evbuffer_add_printf(b, "<ul class=\"findings\">\n");
		evbuffer_add_buffer(b, tmp);
		evbuffer_add_printf(b, "</ul>\n");
	}
	evbuffer_add_printf(b, "<form id=\"check-now\" method=\"post\" action=\"/device/%s/check\"><input type=\"hidden\" "
			       "name=\"csrf\" value=\"%s\"><button class=\"check\" type=\"submit\">",
			    d->mac, auth_sess_csrf(q->sess));
	T("staff.findings.check_now");
	evbuffer_add_printf(b, "</button></form></section>\n");
	evbuffer_drain(tmp, evbuffer_get_length(tmp));
	w.n = 0;
	r = reg_dns_blocks(ctl_reg(q->s->ctl), d->mac, 50, dns_block_item, &w);
	if (r < 0)
		goto out;
	if (w.n) {
		evbuffer_add_printf(b, "<section id=\"dns-blocks\" class=\"card\"><h2>");
		T("staff.dns.title");
		evbuffer_add_printf(b, "</h2><p class=\"explain\">");
		T("staff.dns.explain");
		evbuffer_add_printf(b, "</p><div class=\"scroll\"><table><thead><tr><th>");
		T("staff.dns.domain");
		evbuffer_add_printf(b, "</th><th>");
		T("staff.dns.times");
		evbuffer_add_printf(b, "</th><th>");
		T("staff.field.last_seen");
		evbuffer_add_printf(b, "</th></tr></thead><tbody>\n");
		evbuffer_add_buffer(b, tmp);
		evbuffer_add_printf(b, "</tbody></table></div></section>\n");
	}
out:
	evbuffer_free(tmp);
	return r;
}

static void post_check(struct rq *q, const char *mac)
{
	struct reg_actor who = { .who = auth_sess_user(q->sess), .via = "portal" };
	char back[64];
	int r = ctl_check_device(q->s->ctl, mac, &who);

	switch (r) {
	case 0:
	case -EALREADY: /* queued already: the page shows the result when it is in */
		break;
	case -EADDRNOTAVAIL:
		return fail(q, 409, "staff.findings.no_address");
	case -ENOTSUP:
		return fail(q, 409, "staff.findings.disabled");
	default:
		return fail_errno(q, r);
	}
	if (r == 0)
		log_info("portal: %s asked for a check of %s", who.who, mac);
	snprintf(back, sizeof(back), "/device/%s", mac);
	web_redirect(q->req, 303, back);
}

/* ---- unmanaged devices ---- */

static int unmanaged_row(const struct reg_unmanaged *u, void *ud)
{
	struct find_walk *w = ud;
	struct evbuffer *b = w->b;
	struct mac m;
	const char *vendor = mac_parse(u->mac, &m) == 0 ? oui_lookup(ctl_oui(w->q->s->ctl), &m) : NULL;

	evbuffer_add_printf(b, "<tr class=\"unmanaged\" data-mac=\"");
	web_esc(b, u->mac, 20);
	evbuffer_add_printf(b, "\"><td><code>");
	web_esc(b, u->mac, 20);
	evbuffer_add_printf(b, "</code></td><td>");
	web_esc(b, vendor, 60);
	evbuffer_add_printf(b, "</td><td>");
	web_esc(b, u->where, 32);
	evbuffer_add_printf(b, "</td><td>");
	web_esc(b, u->ip, 48);
	evbuffer_add_printf(b, "</td><td>");
	time_el(b, "first", u->first_seen);
	evbuffer_add_printf(b, "</td><td>");
	time_el(b, "last", u->last_seen);
	evbuffer_add_printf(b, "</td></tr>\n");
	w->n++;
	return 0;
}

static void get_unmanaged(struct rq *q)
{
	struct evbuffer *b = evbuffer_new(), *rows = evbuffer_new();
	struct find_walk w = { .q = q, .b = rows };
	int r;

	if (!b || !rows) {
		if (b)
			evbuffer_free(b);
		if (rows)
			evbuffer_free(rows);
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	}
	r = reg_unmanaged_list(ctl_reg(q->s->ctl), unmanaged_row, &w);
	if (r < 0) {
		evbuffer_free(b);
		evbuffer_free(rows);
		return fail_errno(q, r);
	}
	page_begin(q, b, "staff.unmanaged.title", "nav-devices");
	evbuffer_add_printf(b, "<p class=\"explain\">");
	T("staff.unmanaged.explain");
	evbuffer_add_printf(b, "</p>\n<p class=\"count\" id=\"unmanaged-count\" data-count=\"%u\">", w.n);
	if (w.n)
		evbuffer_add_printf(b, "%u", w.n);
	else
		T("staff.unmanaged.none");
	evbuffer_add_printf(b, "</p>\n<div class=\"scroll\"><table id=\"unmanaged\"><thead><tr><th>MAC</th><th>");
	T("staff.field.vendor");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.unmanaged.where");
	evbuffer_add_printf(b, "</th><th>IP</th><th>");
	T("staff.field.seen");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.last_seen");
	evbuffer_add_printf(b, "</th></tr></thead><tbody>\n");
	evbuffer_add_buffer(b, rows);
	evbuffer_add_printf(b, "</tbody></table></div>\n");
	evbuffer_free(rows);
	page_end(q, b);
	send_page(q, HTTP_OK, b);
}

/* ---- the inventory for print and as CSV ---- */

struct print_walk {
	struct rq *q;
	struct evbuffer *rows;
	bool csv;
	unsigned by_type[REG_TYPE_OTHER + 1];
	unsigned by_zone[Z_N];
	unsigned unmanaged, total;
	char services[512]; /* findings of the device being walked */
};

static int services_item(const struct reg_finding *f, void *ud)
{
	struct print_walk *w = ud;
	size_t n = strlen(w->services);

	snprintf(w->services + n, sizeof(w->services) - n, "%s%.40s/%u", n ? " " : "", f->service ? f->service : "?",
		 f->port);
	return 0;
}

static void csv_put(struct evbuffer *b, const char *s, bool last)
{
	char *f = csv_field(s);

	if (f)
		evbuffer_add_printf(b, "%s%s", f, last ? CSV_EOL : ",");
	else
		evbuffer_add_printf(b, "%s", last ? CSV_EOL : ",");
	free(f);
}

static void print_cell(struct evbuffer *b, const char *cls, const char *s, size_t max)
{
	evbuffer_add_printf(b, "<td class=\"%s\">", cls);
	if (s && *s)
		web_esc(b, s, max);
	else
		evbuffer_add_printf(b, "-");
	evbuffer_add_printf(b, "</td>");
}

static int print_item(const struct reg_device *d, void *ud)
{
	struct print_walk *w = ud;
	struct rq *q = w->q;
	struct evbuffer *b = w->rows;
	enum reg_type t = d->type;
	bool guessed = false;
	unsigned z = zone_of(d);
	char first[32], last[32], type[40];
	int r;

	if (!t) {
		struct guess g;
		memset(&g, 0, sizeof(g));
		ctl_guess(q->s->ctl, d, &g);
		t = g.type <= REG_TYPE_OTHER ? g.type : REG_TYPE_NONE;
		guessed = t != REG_TYPE_NONE;
	}
	w->services[0] = '\0';
	if (d->n_findings && (r = reg_findings(ctl_reg(q->s->ctl), d->mac, services_item, w)) < 0)
		return r;
	w->by_type[t]++;
	w->by_zone[z]++;
	w->total++;
	iso_time(d->first_seen, first, sizeof(first));
	iso_time(d->last_seen, last, sizeof(last));
	if (w->csv) {
		char nf[16];
		snprintf(type, sizeof(type), "%s%s", t ? reg_type_name(t) : "unknown", guessed ? "?" : "");
		snprintf(nf, sizeof(nf), "%u", d->n_findings);
		csv_put(b, d->label, false);
		csv_put(b, d->hostname ? d->hostname : d->dhcp_hostname, false);
		csv_put(b, d->mac, false);
		csv_put(b, type, false);
		csv_put(b, policy_access_name(policy_access(d)), false);
		csv_put(b, reg_state_name(d->state), false);
		csv_put(b, d->vendor, false);
		csv_put(b, d->ip, false);
		csv_put(b, first, false);
		csv_put(b, last, false);
		csv_put(b, w->services, false);
		csv_put(b, nf, false);
		csv_put(b, d->owner, false);
		csv_put(b, "yes", true);
		return 0;
	}
	evbuffer_add_printf(b, "<tr data-mac=\"%s\" data-zone=\"%s\">", d->mac, policy_access_name(policy_access(d)));
	print_cell(b, "name", display_name(d), 60);
	evbuffer_add_printf(b, "<td><code>%s</code></td><td class=\"type\">", d->mac);
	T(type_key(t));
	if (guessed)
		evbuffer_add_printf(b, "?");
	evbuffer_add_printf(b, "</td><td class=\"zone\">");
	T(zone_keys[z]);
	evbuffer_add_printf(b, "</td>");
	print_cell(b, "vendor", d->vendor, 40);
	print_cell(b, "ip", d->ip, 48);
	evbuffer_add_printf(b, "<td>");
	time_el(b, "first", d->first_seen);
	evbuffer_add_printf(b, "</td><td>");
	time_el(b, "last", d->last_seen);
	evbuffer_add_printf(b, "</td>");
	print_cell(b, "findings", w->services, 0);
	print_cell(b, "owner", d->owner, 60);
	evbuffer_add_printf(b, "</tr>\n");
	return 0;
}

static int print_unmanaged(const struct reg_unmanaged *u, void *ud)
{
	struct print_walk *w = ud;
	struct rq *q = w->q;
	struct evbuffer *b = w->rows;
	struct mac m;
	const char *vendor = mac_parse(u->mac, &m) == 0 ? oui_lookup(ctl_oui(q->s->ctl), &m) : NULL;
	char first[32], last[32];

	w->unmanaged++;
	w->total++;
	w->by_type[REG_TYPE_NONE]++;
	iso_time(u->first_seen, first, sizeof(first));
	iso_time(u->last_seen, last, sizeof(last));
	if (w->csv) {
		const char *vals[] = { NULL, NULL, u->mac, "unknown", "unmanaged", "unmanaged", vendor, u->ip,
				       first, last, "", "0", NULL, "no" };
		for (size_t i = 0; i < ARRAY_SIZE(vals); i++)
			csv_put(b, vals[i], i + 1 == ARRAY_SIZE(vals));
		return 0;
	}
	evbuffer_add_printf(b, "<tr class=\"unmanaged\" data-zone=\"unmanaged\"><td class=\"name\">");
	T("staff.unmanaged.one");
	evbuffer_add_printf(b, "</td><td><code>");
	web_esc(b, u->mac, 20);
	evbuffer_add_printf(b, "</code></td><td class=\"type\">");
	T("type.unknown");
	evbuffer_add_printf(b, "</td><td class=\"zone\">");
	T("zone.unmanaged");
	evbuffer_add_printf(b, "</td>");
	print_cell(b, "vendor", vendor, 40);
	print_cell(b, "ip", u->ip, 48);
	evbuffer_add_printf(b, "<td>");
	time_el(b, "first", u->first_seen);
	evbuffer_add_printf(b, "</td><td>");
	time_el(b, "last", u->last_seen);
	evbuffer_add_printf(b, "</td><td>-</td><td>-</td></tr>\n");
	return 0;
}

static void count_table(struct rq *q, struct evbuffer *b, const char *id, const char *title_key,
			const char *const *keys, const unsigned *counts, unsigned n, unsigned extra,
			const char *extra_key)
{
	evbuffer_add_printf(b, "<table class=\"counts\" id=\"%s\"><caption>", id);
	T(title_key);
	evbuffer_add_printf(b, "</caption><tbody>");
	for (unsigned i = 0; i < n; i++) {
		if (!counts[i])
			continue;
		evbuffer_add_printf(b, "<tr><th>");
		T(keys[i]);
		evbuffer_add_printf(b, "</th><td data-count=\"%u\">%u</td></tr>", counts[i], counts[i]);
	}
	if (extra) {
		evbuffer_add_printf(b, "<tr><th>");
		T(extra_key);
		evbuffer_add_printf(b, "</th><td data-count=\"%u\">%u</td></tr>", extra, extra);
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
}

static void get_inventory(struct rq *q, bool csv)
{
	static const char *const tkeys[] = { "type.unknown", "type.pc", "type.phone", "type.tablet", "type.printer",
					     "type.pos", "type.payment", "type.signage", "type.other" };
	struct evbuffer *b = evbuffer_new();
	struct print_walk *w = calloc(1, sizeof(*w));
	char now[32];
	int r;

	if (!b || !w || !(w->rows = evbuffer_new())) {
		if (b)
			evbuffer_free(b);
		free(w);
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	}
	w->q = q;
	w->csv = csv;
	if (csv)
		evbuffer_add_printf(w->rows, "label,hostname,mac,type,zone,state,vendor,ip,first_seen,last_seen,findings,"
					     "n_findings,owner,managed" CSV_EOL);
	r = reg_list(ctl_reg(q->s->ctl), NULL, print_item, w);
	if (r == 0)
		r = reg_unmanaged_list(ctl_reg(q->s->ctl), print_unmanaged, w);
	if (r < 0) {
		evbuffer_free(b);
		evbuffer_free(w->rows);
		free(w);
		return fail_errno(q, r);
	}
	if (csv) {
		evhttp_add_header(evhttp_request_get_output_headers(q->req), "Content-Disposition",
				  "attachment; filename=\"apgate-inventory.csv\"");
		web_reply(q->req, HTTP_OK, "OK", "text/csv; charset=utf-8", w->rows);
		evbuffer_free(w->rows);
		evbuffer_free(b);
		free(w);
		return;
	}
	page_begin(q, b, "staff.inventory.title", "nav-devices");
	fmt_time(util_now_ms(), now, sizeof(now));
	evbuffer_add_printf(b, "<p class=\"printed\">");
	T("staff.inventory.as_of");
	evbuffer_add_printf(b, " %s &middot; <span id=\"inventory-total\" data-count=\"%u\">", now, w->total);
	T("staff.devices.total");
	evbuffer_add_printf(b, " %u</span></p>\n<p class=\"no-print\"><a id=\"inventory-csv\" href=\"/inventory.csv\" "
			       "download>", w->total);
	T("staff.inventory.csv");
	evbuffer_add_printf(b, "</a> &middot; ");
	T("staff.inventory.print_hint");
	evbuffer_add_printf(b, "</p>\n<div class=\"count-tables\">");
	count_table(q, b, "count-type", "staff.chart.type", tkeys, w->by_type, ARRAY_SIZE(tkeys), 0, NULL);
	count_table(q, b, "count-zone", "staff.chart.zone", zone_keys, w->by_zone, Z_N, w->unmanaged, "zone.unmanaged");
	evbuffer_add_printf(b, "</div>\n<table id=\"inventory\" class=\"print\"><thead><tr><th>");
	T("staff.field.name");
	evbuffer_add_printf(b, "</th><th>MAC</th><th>");
	T("staff.field.type");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.zone");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.vendor");
	evbuffer_add_printf(b, "</th><th>IP</th><th>");
	T("staff.field.seen");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.last_seen");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.findings.title");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.owner");
	evbuffer_add_printf(b, "</th></tr></thead><tbody>\n");
	evbuffer_add_buffer(b, w->rows);
	evbuffer_add_printf(b, "</tbody></table>\n");
	evbuffer_free(w->rows);
	free(w);
	page_end(q, b);
	send_page(q, HTTP_OK, b);
}

/* ---- one device ---- */

static void fact(struct rq *q, struct evbuffer *b, const char *key, const char *value, const char *cls)
{
	evbuffer_add_printf(b, "<dt>");
	T(key);
	evbuffer_add_printf(b, "</dt><dd class=\"%s\">", cls);
	if (value && *value)
		web_esc(b, value, 0);
	else
		evbuffer_add_printf(b, "-");
	evbuffer_add_printf(b, "</dd>");
}

struct hist_walk {
	struct rq *q;
	struct evbuffer *list;
};

static int hist_item(const struct reg_event *e, void *ud)
{
	struct hist_walk *w = ud;
	struct evbuffer *b = evbuffer_new();

	if (!b)
		return -ENOMEM;
	evbuffer_add_printf(b, "<li class=\"ev %s\">", e->kind);
	time_el(b, "ts", e->ts);
	evbuffer_add_printf(b, " <span class=\"action\">");
	web_esc(b, e->action, 0);
	evbuffer_add_printf(b, "</span>");
	if (e->actor) {
		evbuffer_add_printf(b, " <span class=\"actor\">");
		web_esc(b, e->actor, 0);
		if (e->via) {
			evbuffer_add_printf(b, " (");
			web_esc(b, e->via, 0);
			evbuffer_add_printf(b, ")");
		}
		evbuffer_add_printf(b, "</span>");
	}
	if (e->bss) {
		evbuffer_add_printf(b, " <span class=\"bss\">");
		web_esc(b, e->bss, 0);
		evbuffer_add_printf(b, "</span>");
	}
	if (e->detail) {
		evbuffer_add_printf(b, " <span class=\"detail\">");
		web_esc(b, e->detail, 200);
		evbuffer_add_printf(b, "</span>");
	}
	evbuffer_add_printf(b, "</li>\n");
	evbuffer_prepend_buffer(w->list, b);
	evbuffer_free(b);
	return 0;
}

static void get_device(struct rq *q, const char *mac)
{
	struct reg_device *d = NULL;
	struct evbuffer *b;
	struct hist_walk w = { .q = q };
	char back[64], m[MAC_STR_LEN];
	int r;

	if (mac_canon(mac, m) < 0)
		return fail(q, HTTP_NOTFOUND, "staff.error.unknown_device");
	r = reg_get(ctl_reg(q->s->ctl), m, &d);
	if (r < 0)
		return fail_errno(q, r);
	b = evbuffer_new();
	w.list = evbuffer_new();
	if (!b || !w.list || reg_events_mac(ctl_reg(q->s->ctl), m, HISTORY_MAX, hist_item, &w) < 0) {
		if (b)
			evbuffer_free(b);
		if (w.list)
			evbuffer_free(w.list);
		reg_device_free(d);
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	}
	struct guess g;
	memset(&g, 0, sizeof(g));
	ctl_guess(q->s->ctl, d, &g);
	enum reg_type guess = g.type;
	unsigned z = zone_of(d);
	page_begin(q, b, "staff.device.title", NULL);
	evbuffer_add_printf(b, "<section id=\"device\" class=\"card\" data-mac=\"%s\" data-state=\"%s\"><h2 class=\"dev-name\">",
			    d->mac, reg_state_name(d->state));
	if (display_name(d))
		web_esc(b, display_name(d), 0);
	else
		T("staff.unnamed");
	evbuffer_add_printf(b, "</h2>\n<p><span class=\"tag %s\">", zone_cls[z]);
	T(zone_keys[z]);
	evbuffer_add_printf(b, "</span> <span class=\"state\">");
	T(d->held_at ? "state.held" : d->state == REG_PENDING ? "state.pending" : d->state == REG_APPROVED ? "state.approved"
			  : d->state == REG_BLOCKED ? "state.blocked" : "state.guest");
	evbuffer_add_printf(b, "</span></p>\n<dl class=\"facts\">");
	fact(q, b, "staff.field.mac", d->mac, "dev-mac");
	fact(q, b, "staff.field.ip", d->ip, "dev-ip");
	fact(q, b, "staff.field.label", d->label, "dev-label");
	fact(q, b, "staff.field.owner", d->owner, "dev-owner");
	evbuffer_add_printf(b, "<dt>");
	T("staff.field.type");
	evbuffer_add_printf(b, "</dt><dd class=\"dev-type\">");
	if (d->type) {
		T(type_key(d->type));
	} else if (guess) {
		T(type_key(guess));
		evbuffer_add_printf(b, "? <small>(<a href=\"#suggestion\">");
		T("staff.suggest.title");
		evbuffer_add_printf(b, "</a>)</small>");
	} else {
		T("type.unknown");
	}
	evbuffer_add_printf(b, "</dd>");
	fact(q, b, "staff.field.vendor", d->vendor, "dev-vendor");
	fact(q, b, "staff.field.hostname", d->hostname, "dev-host");
	fact(q, b, "staff.field.dhcp_hostname", d->dhcp_hostname, "dev-dhcp-host");
	fact(q, b, "staff.field.dhcp_vendor", d->dhcp_vendor_class, "dev-dhcp-vendor");
	fact(q, b, "staff.field.bss", d->bss, "dev-bss");
	fact(q, b, "staff.field.port", d->port, "dev-port");
	if (d->claim_at) {
		fact(q, b, "staff.field.claim_name", d->claim_name, "dev-claim-name");
		fact(q, b, "staff.field.claim_owner", d->claim_owner, "dev-claim-owner");
		evbuffer_add_printf(b, "<dt>");
		T("staff.field.claim_kind");
		evbuffer_add_printf(b, "</dt><dd class=\"dev-claim-kind\">");
		if (d->claim_cls)
			T(d->claim_cls == REG_CLASS_PERSONAL ? "staff.claim.personal" : "staff.claim.business");
		else
			evbuffer_add_printf(b, "-");
		evbuffer_add_printf(b, "</dd>");
	}
	evbuffer_add_printf(b, "<dt>");
	T("staff.field.seen");
	evbuffer_add_printf(b, "</dt><dd>");
	time_el(b, "dev-seen", d->first_seen);
	evbuffer_add_printf(b, "</dd><dt>");
	T("staff.field.last_seen");
	evbuffer_add_printf(b, "</dt><dd>");
	time_el(b, "dev-last", d->last_seen);
	evbuffer_add_printf(b, "</dd>");
	if (d->decided_at) {
		evbuffer_add_printf(b, "<dt>");
		T("staff.field.decided");
		evbuffer_add_printf(b, "</dt><dd class=\"dev-decided\">");
		web_esc(b, d->decided_by, 0);
		evbuffer_add_printf(b, " (");
		web_esc(b, d->decided_via, 0);
		evbuffer_add_printf(b, ") ");
		time_el(b, "at", d->decided_at);
		evbuffer_add_printf(b, "</dd>");
	}
	evbuffer_add_printf(b, "</dl>\n");
	snprintf(back, sizeof(back), "/device/%s", d->mac);
	decision_buttons(q, b, d->mac, back, true);
	evbuffer_add_printf(b, "</section>\n");
	r = device_extra(q, b, d);
	if (r < 0)
		log_warn("portal: the checks of %s could not be read: %s", d->mac, strerror(-r));
	evbuffer_add_printf(b, "<h2>");
	T("staff.device.history");
	evbuffer_add_printf(b, "</h2>\n<ol id=\"history\" class=\"events\">\n");
	evbuffer_add_buffer(b, w.list);
	evbuffer_add_printf(b, "</ol>\n");
	evbuffer_free(w.list);
	reg_device_free(d);
	page_end(q, b);
	send_page(q, HTTP_OK, b);
}

/* Only a local path: "/..." but not "//host" (no open redirect). */
static const char *safe_back(const char *back)
{
	if (!back || back[0] != '/' || back[1] == '/' || back[1] == '\\' || strlen(back) > 64 || strpbrk(back, "\r\n"))
		return "/";
	return back;
}

static void post_device(struct rq *q, const char *mac, const char *verb, struct evkeyvalq *form)
{
	struct reg_actor who = { .who = auth_sess_user(q->sess), .via = "portal" };
	char m[MAC_STR_LEN];
	int r;

	if (mac_canon(mac, m) < 0)
		return fail(q, HTTP_NOTFOUND, "staff.error.unknown_device");
	if (!strcmp(verb, "approve")) {
		struct reg_approval a = { 0 };
		if (reg_class_parse(evhttp_find_header(form, "as"), &a.cls) < 0)
			return fail(q, HTTP_BADREQUEST, "staff.error.bad_request");
		r = ctl_approve(q->s->ctl, m, &a, &who);
	} else if (!strcmp(verb, "block")) {
		r = ctl_block(q->s->ctl, m, &who);
	} else if (!strcmp(verb, "forget")) {
		r = ctl_forget(q->s->ctl, m, &who);
	} else if (!strcmp(verb, "check")) {
		return post_check(q, m);
	} else {
		return fail(q, HTTP_NOTFOUND, "staff.error.not_found");
	}
	if (r < 0)
		return fail_errno(q, r);
	web_redirect(q->req, 303, !strcmp(verb, "forget") ? "/" : safe_back(evhttp_find_header(form, "back")));
}

/* ---- audit ---- */

struct audit_walk {
	struct rq *q;
	struct evbuffer *b;
	int64_t min_id;
	unsigned n;
};

static int audit_item(const struct reg_event *e, void *ud)
{
	struct audit_walk *w = ud;
	struct evbuffer *b = w->b;

	evbuffer_add_printf(b, "<tr data-id=\"%lld\"><td>", (long long)e->id);
	time_el(b, "ts", e->ts);
	evbuffer_add_printf(b, "</td><td class=\"actor\">");
	web_esc(b, e->actor, 0);
	if (e->via) {
		evbuffer_add_printf(b, " <small>");
		web_esc(b, e->via, 0);
		evbuffer_add_printf(b, "</small>");
	}
	evbuffer_add_printf(b, "</td><td class=\"action\">");
	web_esc(b, e->action, 0);
	evbuffer_add_printf(b, "</td><td>");
	char m[MAC_STR_LEN];
	if (e->mac && mac_canon(e->mac, m) == 0)
		evbuffer_add_printf(b, "<a href=\"/device/%s\"><code>%s</code></a>", m, m);
	evbuffer_add_printf(b, "</td><td class=\"detail\">");
	web_esc(b, e->detail, 200);
	evbuffer_add_printf(b, "</td></tr>\n");
	w->min_id = e->id;
	w->n++;
	return 0;
}

static void get_audit(struct rq *q)
{
	struct evbuffer *b = evbuffer_new();
	struct audit_walk w = { .q = q };
	struct evkeyvalq qs;
	long before = 0;
	int r;

	if (!b)
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	if (web_query(q->req, &qs) == 0) {
		const char *p = evhttp_find_header(&qs, "before");
		if (p && util_parse_long(p, 1, INT64_MAX / 2, &before) < 0)
			before = 0;
		evhttp_clear_headers(&qs);
	}
	page_begin(q, b, "staff.audit.title", "nav-audit");
	evbuffer_add_printf(b, "<div class=\"scroll\"><table id=\"audit\"><thead><tr><th>");
	T("staff.field.when");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.who");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.action");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.device");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.detail");
	evbuffer_add_printf(b, "</th></tr></thead><tbody>\n");
	w.b = b;
	r = reg_audit_page(ctl_reg(q->s->ctl), before, AUDIT_PAGE, audit_item, &w);
	if (r < 0) {
		evbuffer_free(b);
		return fail_errno(q, r);
	}
	evbuffer_add_printf(b, "</tbody></table></div>\n");
	if (w.n == AUDIT_PAGE)
		evbuffer_add_printf(b, "<nav class=\"pages\"><a rel=\"next\" href=\"/audit?before=%lld\">&rarr;</a></nav>\n",
				    (long long)w.min_id);
	page_end(q, b);
	send_page(q, HTTP_OK, b);
}

/* ---- users (admins) ---- */

static int user_row(const struct reg_user *u, void *ud)
{
	struct rq *q = ((void **)ud)[0];
	struct evbuffer *b = ((void **)ud)[1];

	evbuffer_add_printf(b, "<tr data-user=\"");
	web_esc(b, u->name, 0);
	evbuffer_add_printf(b, "\"><td>");
	web_esc(b, u->name, 0);
	evbuffer_add_printf(b, "</td><td>");
	T(u->role == REG_ROLE_ADMIN ? "role.admin" : "role.approver");
	evbuffer_add_printf(b, "</td><td>");
	time_el(b, "login", u->last_login);
	evbuffer_add_printf(b, "</td><td><form method=\"post\" action=\"/users/");
	web_esc(b, u->name, 0);
	evbuffer_add_printf(b, "/delete\"><input type=\"hidden\" name=\"csrf\" value=\"%s\"><button class=\"danger "
			       "delete-user\" type=\"submit\" data-confirm=\"",
			    auth_sess_csrf(q->sess));
	T("staff.confirm.delete_user");
	evbuffer_add_printf(b, "\">");
	T("staff.users.delete");
	evbuffer_add_printf(b, "</button></form></td></tr>\n");
	return 0;
}

static void get_users(struct rq *q, const char *error_key)
{
	struct evbuffer *b = evbuffer_new();
	void *ud[2] = { q, b };
	int r;

	if (!b)
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	page_begin(q, b, "staff.users.title", "nav-users");
	if (error_key) {
		evbuffer_add_printf(b, "<p class=\"error\" id=\"users-error\">");
		T(error_key);
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "<div class=\"scroll\"><table id=\"users\"><thead><tr><th>");
	T("staff.field.user");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.role");
	evbuffer_add_printf(b, "</th><th>");
	T("staff.field.last_login");
	evbuffer_add_printf(b, "</th><th></th></tr></thead><tbody>\n");
	r = reg_users(ctl_reg(q->s->ctl), user_row, ud);
	if (r < 0) {
		evbuffer_free(b);
		return fail_errno(q, r);
	}
	evbuffer_add_printf(b, "</tbody></table></div>\n<form id=\"user-add\" class=\"card\" method=\"post\" "
			       "action=\"/users\"><h2>");
	T("staff.users.add");
	evbuffer_add_printf(b, "</h2><input type=\"hidden\" name=\"csrf\" value=\"%s\"><label>", auth_sess_csrf(q->sess));
	T("staff.field.user");
	evbuffer_add_printf(b, "<input name=\"name\" maxlength=\"32\" pattern=\"[A-Za-z0-9._\\-]{1,32}\" required "
			       "autocomplete=\"off\"></label><label>");
	T("staff.field.password");
	evbuffer_add_printf(b, "<input name=\"password\" type=\"password\" minlength=\"%d\" required "
			       "autocomplete=\"new-password\"></label><label>",
			    MIN_PASSWORD);
	T("staff.field.role");
	evbuffer_add_printf(b, "<select name=\"role\"><option value=\"approver\">");
	T("role.approver");
	evbuffer_add_printf(b, "</option><option value=\"admin\">");
	T("role.admin");
	evbuffer_add_printf(b, "</option></select></label><button type=\"submit\">");
	T("staff.users.add");
	evbuffer_add_printf(b, "</button></form>\n");
	page_end(q, b);
	send_page(q, error_key ? HTTP_BADREQUEST : HTTP_OK, b);
}

static void post_users(struct rq *q, struct evkeyvalq *form)
{
	struct reg_actor who = { .who = auth_sess_user(q->sess), .via = "portal" };
	const char *name = evhttp_find_header(form, "name");
	const char *pw = evhttp_find_header(form, "password");
	enum reg_role role;
	char hash[crypto_pwhash_STRBYTES];
	int r;

	if (reg_role_parse(evhttp_find_header(form, "role"), &role) < 0 || !name)
		return get_users(q, "staff.error.bad_request");
	if (!pw || strlen(pw) < MIN_PASSWORD)
		return get_users(q, "staff.users.short_password");
	/* argon2id with apgatectl's parameters; blocks the loop for about
	 * 0.1 s (an admin action, rare) */
	if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	r = reg_user_add(ctl_reg(q->s->ctl), name, role, hash, &who, util_now_ms());
	sodium_memzero(hash, sizeof(hash));
	if (r == -EEXIST)
		return get_users(q, "staff.error.exists");
	if (r == -EINVAL)
		return get_users(q, "staff.users.bad_name");
	if (r < 0)
		return fail_errno(q, r);
	log_info("portal: %s added user %s (%s)", who.who, name, reg_role_name(role));
	web_redirect(q->req, 303, "/users");
}

static void post_user_delete(struct rq *q, const char *name)
{
	struct reg_actor who = { .who = auth_sess_user(q->sess), .via = "portal" };
	int r = reg_user_del(ctl_reg(q->s->ctl), name, &who, util_now_ms());

	if (r == -EPERM)
		return get_users(q, "staff.error.last_admin");
	if (r < 0)
		return fail_errno(q, r);
	auth_drop_user(q->s->auth, name);
	log_info("portal: %s deleted user %s", who.who, name);
	web_redirect(q->req, 303, "/users");
}

/* ---- sign-in ---- */

static void set_cookie(struct rq *q, const char *name, const char *value, bool clear)
{
	char h[160];

	snprintf(h, sizeof(h), "%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict%s", name, value,
		 clear ? "; Max-Age=0" : "");
	evhttp_add_header(evhttp_request_get_output_headers(q->req), "Set-Cookie", h);
}

static void login_page(struct rq *q, int code, const char *error_key, unsigned retry_s)
{
	struct evbuffer *b = evbuffer_new();
	char pre[AUTH_TOKEN_LEN + 1], csrf[AUTH_TOKEN_LEN + 1];

	if (!b)
		return web_error(q->req, HTTP_INTERNAL, "Internal Server Error");
	if (!web_cookie(q->req, COOKIE_PRE, pre, sizeof(pre)) || strlen(pre) != AUTH_TOKEN_LEN) {
		auth_random_token(pre);
		set_cookie(q, COOKIE_PRE, pre, false);
	}
	auth_bind(q->s->auth, pre, csrf);
	page_begin(q, b, "staff.login.title", NULL);
	if (error_key) {
		evbuffer_add_printf(b, "<p class=\"error\" id=\"login-error\">");
		T(error_key);
		if (retry_s)
			evbuffer_add_printf(b, " (%u s)", retry_s);
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "<form id=\"login-form\" class=\"card\" method=\"post\" action=\"/login\">"
			       "<input type=\"hidden\" name=\"csrf\" value=\"%s\"><label>", csrf);
	T("staff.field.user");
	evbuffer_add_printf(b, "<input name=\"user\" autocomplete=\"username\" autocapitalize=\"none\" required></label><label>");
	T("staff.field.password");
	evbuffer_add_printf(b, "<input name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
			       "</label><button id=\"login-submit\" type=\"submit\">");
	T("staff.login.submit");
	evbuffer_add_printf(b, "</button></form>\n");
	page_end(q, b);
	if (retry_s) {
		char ra[16];
		snprintf(ra, sizeof(ra), "%u", retry_s);
		evhttp_add_header(evhttp_request_get_output_headers(q->req), "Retry-After", ra);
	}
	send_page(q, code, b);
}

struct found_user {
	char *hash;
	enum reg_role role;
};

static int got_user(const struct reg_user *u, void *ud)
{
	struct found_user *f = ud;

	f->hash = strdup(u->hash);
	f->role = u->role;
	return f->hash ? 0 : -ENOMEM;
}

static void post_login(struct rq *q)
{
	struct evkeyvalq form;
	struct found_user f = { 0 };
	char pre[AUTH_TOKEN_LEN + 1];
	const char *user, *pw;
	unsigned retry = 0;
	int64_t now = now_ms();

	if (web_form(q->req, &form) < 0)
		return login_page(q, HTTP_BADREQUEST, "staff.error.bad_request", 0);
	if (!web_cookie(q->req, COOKIE_PRE, pre, sizeof(pre)) ||
	    !auth_bind_ok(q->s->auth, pre, evhttp_find_header(&form, "csrf"))) {
		evhttp_clear_headers(&form);
		return login_page(q, 403, "staff.login.expired", 0);
	}
	user = evhttp_find_header(&form, "user");
	pw = evhttp_find_header(&form, "password");
	if (!user)
		user = "";
	if (auth_throttled(q->s->auth, q->ip, user, now, &retry) < 0) {
		log_warn("portal: login of \"%.32s\" from %s refused: locked out for %u s", user, q->ip, retry);
		evhttp_clear_headers(&form);
		return login_page(q, 429, "staff.login.throttled", retry);
	}
	if (strlen(user) <= 32)
		(void)reg_user_get(ctl_reg(q->s->ctl), user, got_user, &f);
	if (!auth_check_password(q->s->auth, q->ip, user, f.hash, pw, now)) {
		log_warn("portal: failed login for \"%.32s\" from %s", user, q->ip);
		free(f.hash);
		evhttp_clear_headers(&form);
		return login_page(q, 401, "staff.login.failed", 0);
	}
	free(f.hash);
	q->sess = auth_login(q->s->auth, user, f.role, now);
	(void)reg_user_login(ctl_reg(q->s->ctl), user, util_now_ms());
	log_info("portal: %s signed in from %s", user, q->ip);
	evhttp_clear_headers(&form);
	if (!q->sess)
		return fail(q, HTTP_INTERNAL, "staff.error.internal");
	set_cookie(q, COOKIE_SESS, auth_sess_token(q->sess), false);
	set_cookie(q, COOKIE_PRE, "", true);
	web_redirect(q->req, 303, "/");
}

/* ---- server-sent events ---- */

static void stream_free(struct stream *st)
{
	struct staff *s = st->s;

	for (struct stream **p = &s->streams; *p; p = &(*p)->next)
		if (*p == st) {
			*p = st->next;
			s->n_streams--;
			break;
		}
	free(st);
}

/* The browser went away. libevent detaches a request whose answer is still
 * being streamed from its connection and leaves it to us to free. */
static void on_stream_closed(struct evhttp_connection *conn, void *ud)
{
	struct stream *st = ud;
	struct evhttp_request *req = st->req;

	(void)conn;
	stream_free(st);
	if (!evhttp_request_get_connection(req))
		evhttp_request_free(req);
}

static void stream_end(struct stream *st)
{
	evhttp_connection_set_closecb(st->conn, NULL, NULL);
	evhttp_send_reply_end(st->req);
	stream_free(st);
}

static void stream_send(struct stream *st, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (!b)
		return;
	evbuffer_add(b, text, strlen(text));
	evhttp_send_reply_chunk(st->req, b);
	evbuffer_free(b);
}

/* Tells every stream the timeline grew; ends the streams whose session ended. */
static void streams_tell(struct staff *s, const char *text)
{
	int64_t now = now_ms();

	for (struct stream *st = s->streams, *next; st; st = next) {
		next = st->next;
		if (!auth_peek(s->auth, st->token, now))
			stream_end(st);
		else
			stream_send(st, text);
	}
}

static void on_change(void *ud)
{
	struct staff *s = ud;
	char msg[64];

	s->counts.valid = false;
	if (!s->streams)
		return;
	snprintf(msg, sizeof(msg), "event: change\ndata: %lld\n\n", (long long)reg_last_event_id(ctl_reg(s->ctl)));
	streams_tell(s, msg);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	streams_tell(ud, ": keep-alive\n\n");
}

static void get_events(struct rq *q)
{
	struct staff *s = q->s;
	struct stream *st;
	struct evkeyvalq *h = evhttp_request_get_output_headers(q->req);

	if (s->n_streams >= MAX_STREAMS)
		return web_error(q->req, HTTP_SERVUNAVAIL, "Too many live pages");
	st = calloc(1, sizeof(*st));
	if (!st)
		return web_error(q->req, HTTP_INTERNAL, "Internal Server Error");
	st->s = s;
	st->req = q->req;
	st->conn = evhttp_request_get_connection(q->req);
	util_strlcpy(st->token, auth_sess_token(q->sess), sizeof(st->token));
	st->next = s->streams;
	s->streams = st;
	s->n_streams++;
	evhttp_connection_set_closecb(st->conn, on_stream_closed, st);
	web_headers(q->req, "text/event-stream; charset=utf-8");
	evhttp_add_header(h, "X-Accel-Buffering", "no");
	evhttp_send_reply_start(q->req, HTTP_OK, "OK");
	stream_send(st, "retry: 3000\n\n");
}

/* ---- routing ---- */

static bool is_tls(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;

	return bev && bufferevent_openssl_get_ssl(bev) != NULL;
}

/* "/device/<mac>/<verb>" -> mac, verb ("" for the page). */
static bool device_path(const char *path, char *mac, size_t msize, const char **verb)
{
	const char *p = path + strlen("/device/"), *slash;

	if (strncmp(path, "/device/", 8) != 0)
		return false;
	slash = strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : strlen(p);
	if (!n || n >= msize)
		return false;
	memcpy(mac, p, n);
	mac[n] = '\0';
	*verb = slash ? slash + 1 : "";
	return true;
}

static void route_post(struct rq *q)
{
	struct evkeyvalq form;
	char mac[32];
	const char *verb;

	if (web_form(q->req, &form) < 0)
		return fail(q, HTTP_BADREQUEST, "staff.error.bad_request");
	if (!auth_csrf_ok(q->sess, evhttp_find_header(&form, "csrf"))) {
		log_warn("portal: %s from %s (%s) without a valid CSRF token refused", q->path, q->ip,
			 auth_sess_user(q->sess));
		evhttp_clear_headers(&form);
		return fail(q, 403, "staff.error.csrf");
	}
	if (!strcmp(q->path, "/logout")) {
		auth_logout(q->s->auth, auth_sess_token(q->sess));
		set_cookie(q, COOKIE_SESS, "", true);
		web_redirect(q->req, 303, "/login");
	} else if (device_path(q->path, mac, sizeof(mac), &verb) && *verb) {
		post_device(q, mac, verb, &form);
	} else if (!strncmp(q->path, "/alerts/", 8)) {
		post_alert_ack(q, q->path + 8);
	} else if (!strcmp(q->path, "/users") || !strncmp(q->path, "/users/", 7)) {
		const char *name = q->path + 7, *end;
		if (auth_sess_role(q->sess) != REG_ROLE_ADMIN)
			fail(q, 403, "staff.error.admin_only");
		else if (!strcmp(q->path, "/users"))
			post_users(q, &form);
		else if ((end = strstr(name, "/delete")) && !strcmp(end, "/delete") && end > name) {
			char user[40];
			size_t n = (size_t)(end - name);
			if (n < sizeof(user)) {
				memcpy(user, name, n);
				user[n] = '\0';
				post_user_delete(q, user);
			} else {
				fail(q, HTTP_NOTFOUND, "staff.error.not_found");
			}
		} else {
			fail(q, HTTP_NOTFOUND, "staff.error.not_found");
		}
	} else {
		fail(q, HTTP_NOTFOUND, "staff.error.not_found");
	}
	evhttp_clear_headers(&form);
}

static void on_request(struct evhttp_request *req, void *ud)
{
	struct rq q = { .s = ud, .req = req };
	struct in_addr peer;
	char token[AUTH_TOKEN_LEN + 1], mac[32];
	const char *verb;
	bool post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;

	if (!is_tls(req)) { /* only if TLS could not be set up for this connection */
		evhttp_connection_free(evhttp_request_get_connection(req));
		return;
	}
	if (web_path(req, q.path, sizeof(q.path)) < 0)
		return web_error(req, HTTP_BADREQUEST, "Bad Request");
	if (web_peer(req, &peer) == 0)
		inet_ntop(AF_INET, &peer, q.ip, sizeof(q.ip));
	if (!strncmp(q.path, "/static/", 8)) {
		if (!web_assets_serve(q.s->assets, req, q.path + 8))
			web_error(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	q.lang = web_lang_pick(req);
	if (web_cookie(req, COOKIE_SESS, token, sizeof(token)))
		q.sess = strcmp(q.path, "/events") ? auth_lookup(q.s->auth, token, now_ms())
						   : auth_peek(q.s->auth, token, now_ms());
	if (!strcmp(q.path, "/login")) {
		if (post)
			return post_login(&q);
		if (q.sess)
			return web_redirect(req, 303, "/");
		return login_page(&q, HTTP_OK, NULL, 0);
	}
	if (!q.sess) {
		if (post || !strcmp(q.path, "/events") || !strncmp(q.path, "/fragment/", 10))
			return fail(&q, 401, "staff.error.signed_out");
		return web_redirect(req, 303, "/login");
	}
	if (post)
		return route_post(&q);
	if (!strcmp(q.path, "/"))
		get_live(&q, false, "pending", "staff.pending.title", "staff.pending.explain", "nav-pending",
			 pending_list);
	else if (!strcmp(q.path, "/fragment/pending"))
		get_live(&q, true, "pending", "staff.pending.title", "staff.pending.explain", "nav-pending",
			 pending_list);
	else if (!strcmp(q.path, "/devices"))
		get_devices(&q);
	else if (!strcmp(q.path, "/audit"))
		get_audit(&q);
	else if (!strcmp(q.path, "/alerts"))
		get_live(&q, false, "alerts", "staff.alerts.title", "staff.alerts.explain", "nav-alerts",
			 alerts_list);
	else if (!strcmp(q.path, "/fragment/alerts"))
		get_live(&q, true, "alerts", "staff.alerts.title", "staff.alerts.explain", "nav-alerts",
			 alerts_list);
	else if (!strcmp(q.path, "/fragment/alert-count"))
		get_alert_count(&q);
	else if (!strcmp(q.path, "/unmanaged"))
		get_unmanaged(&q);
	else if (!strcmp(q.path, "/inventory/print"))
		get_inventory(&q, false);
	else if (!strcmp(q.path, "/inventory.csv"))
		get_inventory(&q, true);
	else if (!strcmp(q.path, "/users"))
		auth_sess_role(q.sess) == REG_ROLE_ADMIN ? get_users(&q, NULL) : fail(&q, 403, "staff.error.admin_only");
	else if (!strcmp(q.path, "/events"))
		get_events(&q);
	else if (device_path(q.path, mac, sizeof(mac), &verb) && !*verb)
		get_device(&q, mac);
	else
		fail(&q, HTTP_NOTFOUND, "staff.error.not_found");
}

/* Plain HTTP: everything moves to HTTPS on the same address. */
static void on_plain(struct evhttp_request *req, void *ud)
{
	struct staff *s = ud;
	struct in_addr la;
	char ip[INET_ADDRSTRLEN] = "0.0.0.0", loc[320], path[256];

	if (web_local(req, &la, NULL) == 0)
		inet_ntop(AF_INET, &la, ip, sizeof(ip));
	if (web_path(req, path, sizeof(path)) < 0 || strpbrk(path, "\r\n\"<>"))
		util_strlcpy(path, "/", sizeof(path));
	snprintf(loc, sizeof(loc), "https://%s:%u%s", ip, s->https_port, path);
	web_redirect(req, 301, loc);
}

static int listen_all(struct evhttp *http, const struct staff_cfg *cfg, unsigned port, const char *what)
{
	for (unsigned i = 0; i < cfg->n_addrs; i++) {
		char ip[INET_ADDRSTRLEN];
		int r = web_listen(http, &cfg->addrs[i], port);

		inet_ntop(AF_INET, &cfg->addrs[i], ip, sizeof(ip));
		if (r < 0) {
			log_err("staff portal: cannot listen on %s:%u (%s): %s", ip, port, what, strerror(-r));
			return r;
		}
		log_info("staff portal (%s) listening on %s:%u", what, ip, port);
	}
	return 0;
}

int staff_new(struct event_base *base, struct ctl *ctl, struct auth *auth,
	      const struct web_assets *assets, const struct web_i18n *i18n,
	      const struct staff_cfg *cfg, struct staff **out)
{
	struct staff *s = calloc(1, sizeof(*s));
	char names[STAFF_MAX_ADDRS][INET_ADDRSTRLEN];
	const char *np[STAFF_MAX_ADDRS];
	struct tls_cfg tc = { .cert_path = cfg->cert, .key_path = cfg->key, .names = np, .n_names = cfg->n_addrs };
	struct timeval hb = { HEARTBEAT_S, 0 };
	int r;

	if (!s)
		return -ENOMEM;
	s->base = base;
	s->ctl = ctl;
	s->auth = auth;
	s->assets = assets;
	s->i18n = i18n;
	s->https_port = cfg->https_port;
	for (unsigned i = 0; i < cfg->n_addrs; i++) {
		inet_ntop(AF_INET, &cfg->addrs[i], names[i], sizeof(names[i]));
		np[i] = names[i];
	}
	r = tls_new(&tc, &s->tls);
	if (r < 0)
		goto fail;
	s->https = web_server_new(base);
	s->heartbeat = event_new(base, -1, EV_PERSIST, on_heartbeat, s);
	if (!s->https || !s->heartbeat) {
		r = -ENOMEM;
		goto fail;
	}
	tls_attach(s->tls, s->https);
	evhttp_set_gencb(s->https, on_request, s);
	r = listen_all(s->https, cfg, cfg->https_port, "HTTPS");
	if (r < 0)
		goto fail;
	if (cfg->http_port) {
		s->http = web_server_new(base);
		if (!s->http) {
			r = -ENOMEM;
			goto fail;
		}
		evhttp_set_gencb(s->http, on_plain, s);
		r = listen_all(s->http, cfg, cfg->http_port, "HTTP, redirects to HTTPS");
		if (r < 0)
			goto fail;
	}
	s->watch = ctl_watch_add(ctl, on_change, s, NULL);
	if (!s->watch) {
		r = -ENOMEM;
		goto fail;
	}
	event_add(s->heartbeat, &hb);
	*out = s;
	return 0;
fail:
	staff_free(s);
	return r;
}

void staff_free(struct staff *s)
{
	if (!s)
		return;
	if (s->watch)
		ctl_watch_remove(s->ctl, s->watch);
	for (struct stream *st = s->streams; st; st = st->next)
		evhttp_connection_set_closecb(st->conn, NULL, NULL);
	while (s->streams)
		stream_free(s->streams);
	if (s->heartbeat)
		event_free(s->heartbeat);
	if (s->https)
		evhttp_free(s->https);
	if (s->http)
		evhttp_free(s->http);
	tls_free(s->tls);
	free(s);
}

/* ---- status (for apgatectl status, front/adm.c) ---- */

struct listening {
	staff_listen_cb cb;
	bool tls;
	void *ud;
};

static void listening_one(struct evhttp_bound_socket *bs, void *arg)
{
	struct listening *l = arg;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len) == 0 &&
	    sa.sin_family == AF_INET)
		l->cb(&sa, l->tls, l->ud);
}

void staff_listening(const struct staff *s, staff_listen_cb cb, void *ud)
{
	struct listening l = { cb, true, ud };

	if (!s)
		return;
	if (s->https)
		evhttp_foreach_bound_socket(s->https, listening_one, &l);
	l.tls = false;
	if (s->http)
		evhttp_foreach_bound_socket(s->http, listening_one, &l);
}
