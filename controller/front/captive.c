#include "front/captive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "front/auth.h"
#include "front/web.h"
#include "log.h"
#include "model/policy.h"
#include "model/reg.h"
#include "qr.h"
#include "util.h"

#define MAX_CLAIM_TEXT 64 /* bytes of name and owner */

/* One server per gateway address: the redirect target is known without
 * asking the socket (the hot path of every redirected request). */
struct listener {
	struct captive *c;
	struct evhttp *http;
	char gw[INET_ADDRSTRLEN];
	size_t gw_len;
	char self[64];         /* "http://<gw>:<port>/" */
	char body[160];        /* the redirect's HTML, made once */
	size_t body_len;
};

/* The hot path: every request the firewall redirects ends here. The body is
 * made once per gateway; the headers are the CSP (every answer has one),
 * no caching, the type and the Location. */
static void redirect_home(struct listener *l, struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b = evbuffer_new();

	evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Security-Policy", WEB_CSP);
	evhttp_add_header(h, "Location", l->self);
	if (b)
		evbuffer_add_reference(b, l->body, l->body_len, NULL, NULL);
	evhttp_send_reply(req, 302, "Found", b);
	if (b)
		evbuffer_free(b);
}

struct captive {
	struct listener l[CAPTIVE_MAX_ADDRS];
	unsigned n_l;
	struct ctl *ctl;
	const struct auth *auth;
	const struct web_assets *assets;
	const struct web_i18n *i18n;
	unsigned port;
	char *guest_ssid, *guest_pass;
	char *qr_svg; /* the guest network's QR code, made once */
};

/* What the page needs to know about the device behind a request. */
struct who {
	bool known;
	char mac[18];
	enum reg_state state;
	enum reg_class cls;
	enum policy_access access;
	bool held;
	char *claim_name, *claim_owner;
	enum reg_class claim_cls;
};

static void who_clear(struct who *w)
{
	free(w->claim_name);
	free(w->claim_owner);
	memset(w, 0, sizeof(*w));
}

/* The device whose DHCP lease is the request's source address. */
static void who_of(struct captive *c, struct evhttp_request *req, struct who *w)
{
	struct in_addr peer;
	char ip[INET_ADDRSTRLEN];
	struct reg_device *d = NULL;

	memset(w, 0, sizeof(*w));
	if (web_peer(req, &peer) < 0 || !inet_ntop(AF_INET, &peer, ip, sizeof(ip)) ||
	    reg_find_ip(ctl_reg(c->ctl), ip, w->mac) < 0 || reg_get(ctl_reg(c->ctl), w->mac, &d) < 0)
		return;
	w->known = true;
	w->state = d->state;
	w->cls = d->cls;
	w->access = policy_access(d);
	w->held = d->held_at != 0;
	w->claim_cls = d->claim_cls;
	w->claim_name = d->claim_name ? strdup(d->claim_name) : NULL;
	w->claim_owner = d->claim_owner ? strdup(d->claim_owner) : NULL;
	reg_device_free(d);
}

/* Free to use the network: the OS probes get their normal answers. */
static bool is_free(const struct who *w)
{
	return w->known && (w->access == POLICY_WORK || w->access == POLICY_GUEST);
}

static bool shows_guest(const struct captive *c, const struct who *w)
{
	return c->guest_ssid && w->known && w->state != REG_BLOCKED &&
	       (w->access == POLICY_GUEST || w->cls == REG_CLASS_PERSONAL || w->claim_cls == REG_CLASS_PERSONAL);
}

static const char *state_name(const struct who *w)
{
	if (!w->known)
		return "unknown";
	if (w->held)
		return "pending";
	return reg_state_name(w->state);
}


/* ---- the operating systems' connectivity probes ---- */

struct probe {
	const char *path;
	int code;          /* when free */
	const char *type;
	const char *body;
};

static const struct probe probes[] = {
	/* Apple (captive.apple.com, www.apple.com/library/test/success.html) */
	{ "/hotspot-detect.html", 200, "text/html",
	  "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>" },
	{ "/library/test/success.html", 200, "text/html",
	  "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>" },
	/* Android (connectivitycheck.gstatic.com, clients3.google.com) */
	{ "/generate_204", 204, NULL, NULL },
	{ "/gen_204", 204, NULL, NULL },
	/* Windows NCSI (www.msftconnecttest.com, www.msftncsi.com) */
	{ "/connecttest.txt", 200, "text/plain", "Microsoft Connect Test" },
	{ "/ncsi.txt", 200, "text/plain", "Microsoft NCSI" },
	/* Firefox (detectportal.firefox.com) */
	{ "/canonical.html", 200, "text/html",
	  "<meta http-equiv=\"refresh\" content=\"0;url=https://support.mozilla.org/kb/captive-portal\"/>" },
	{ "/success.txt", 200, "text/plain", "success\n" },
};

static const struct probe *probe_of(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
		if (!strcmp(path, probes[i].path))
			return &probes[i];
	return NULL;
}

static void probe_answer(struct evhttp_request *req, const struct probe *p)
{
	struct evbuffer *b = evbuffer_new();

	/* the shared headers too (CSP, nosniff, ...); a 204 has no body */
	web_headers(req, p->type ? p->type : "text/plain");
	if (b && p->body)
		evbuffer_add(b, p->body, strlen(p->body));
	evhttp_send_reply(req, p->code, p->code == 204 ? "No Content" : "OK", b);
	if (b)
		evbuffer_free(b);
}

/* ---- the page ---- */

static void t(struct evbuffer *b, const struct captive *c, enum web_lang l, const char *key)
{
	web_esc(b, web_t(c->i18n, l, key), 0);
}

static void page_head(struct evbuffer *b, const struct captive *c, enum web_lang l)
{
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n"
			       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
			    web_lang_code(l));
	t(b, c, l, "captive.title");
	evbuffer_add_printf(b, "</title>\n<link rel=\"stylesheet\" href=\"/static/app.css\"><link rel=\"icon\" href=\"data:,\">\n"
			       "<script src=\"/static/captive.js\" defer></script>\n"
			       "<noscript><meta http-equiv=\"refresh\" content=\"20\"></noscript>\n"
			       "</head>\n<body class=\"captive\"><main>\n<header class=\"bar\"><h1>");
	t(b, c, l, "captive.heading");
	evbuffer_add_printf(b, "</h1><nav class=\"langs\"><a id=\"lang-en\" href=\"/?lang=en\" lang=\"en\">English</a> "
			       "<a id=\"lang-ja\" href=\"/?lang=ja\" lang=\"ja\">日本語</a></nav></header>\n");
}

static void guest_block(struct evbuffer *b, const struct captive *c, enum web_lang l)
{
	evbuffer_add_printf(b, "<section id=\"guest-info\" class=\"card\"><h2>");
	t(b, c, l, "captive.guest.title");
	evbuffer_add_printf(b, "</h2><p>");
	t(b, c, l, "captive.guest.explain");
	evbuffer_add_printf(b, "</p>\n<p id=\"guest-ssid\"><span class=\"k\">");
	t(b, c, l, "captive.guest.ssid");
	evbuffer_add_printf(b, "</span> <strong>");
	web_esc(b, c->guest_ssid, 0);
	evbuffer_add_printf(b, "</strong></p>\n");
	if (c->guest_pass) {
		evbuffer_add_printf(b, "<p id=\"guest-pass\"><span class=\"k\">");
		t(b, c, l, "captive.guest.passphrase");
		evbuffer_add_printf(b, "</span> <code>");
		web_esc(b, c->guest_pass, 0);
		evbuffer_add_printf(b, "</code></p>\n");
	}
	if (c->qr_svg) {
		evbuffer_add_printf(b, "<p><img id=\"guest-qr\" class=\"qr\" src=\"/guest-qr.svg\" width=\"240\" height=\"240\" alt=\"");
		t(b, c, l, "captive.guest.qr_alt");
		evbuffer_add_printf(b, "\"></p><p class=\"hint\">");
		t(b, c, l, "captive.guest.qr_hint");
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "</section>\n");
}

static void claim_form(struct evbuffer *b, const struct captive *c, enum web_lang l, const struct who *w)
{
	char token[AUTH_TOKEN_LEN + 1];

	auth_bind(c->auth, w->mac, token);
	if (w->claim_name || w->claim_owner || w->claim_cls) {
		evbuffer_add_printf(b, "<p id=\"claim-saved\" class=\"ok\">");
		t(b, c, l, "captive.claim.saved");
		evbuffer_add_printf(b, "</p>\n");
	}
	evbuffer_add_printf(b, "<form id=\"claim-form\" class=\"card\" method=\"post\" action=\"/claim\">\n<h2>");
	t(b, c, l, "captive.claim.title");
	evbuffer_add_printf(b, "</h2>\n<input type=\"hidden\" name=\"token\" value=\"%s\">\n<label>", token);
	t(b, c, l, "captive.claim.name");
	evbuffer_add_printf(b, "<input name=\"name\" maxlength=\"%d\" autocomplete=\"off\" value=\"", MAX_CLAIM_TEXT);
	web_esc(b, w->claim_name, 0);
	evbuffer_add_printf(b, "\"></label>\n<label>");
	t(b, c, l, "captive.claim.owner");
	evbuffer_add_printf(b, "<input name=\"owner\" maxlength=\"%d\" autocomplete=\"name\" value=\"", MAX_CLAIM_TEXT);
	web_esc(b, w->claim_owner, 0);
	evbuffer_add_printf(b, "\"></label>\n<fieldset><legend>");
	t(b, c, l, "captive.claim.kind");
	evbuffer_add_printf(b, "</legend>\n<label class=\"radio\"><input type=\"radio\" name=\"kind\" value=\"business\"%s> ",
			    w->claim_cls == REG_CLASS_BUSINESS ? " checked" : "");
	t(b, c, l, "captive.claim.business");
	evbuffer_add_printf(b, "</label>\n<label class=\"radio\"><input type=\"radio\" name=\"kind\" value=\"personal\"%s> ",
			    w->claim_cls == REG_CLASS_PERSONAL ? " checked" : "");
	t(b, c, l, "captive.claim.personal");
	evbuffer_add_printf(b, "</label></fieldset>\n<button id=\"claim-submit\" type=\"submit\">");
	t(b, c, l, "captive.claim.submit");
	evbuffer_add_printf(b, "</button>\n</form>\n");
}

static void send_page(struct captive *c, struct evhttp_request *req, const struct who *w)
{
	struct evbuffer *b = evbuffer_new();
	enum web_lang l = web_lang_pick(req);
	const char *st = state_name(w);

	if (!b) {
		web_error(req, HTTP_INTERNAL, "Internal Server Error");
		return;
	}
	page_head(b, c, l);
	evbuffer_add_printf(b, "<section id=\"state\" class=\"state state-%s\" data-state=\"%s\" data-class=\"%s\"><p>",
			    st, st, w->known && w->cls ? reg_class_name(w->cls) : "");
	if (!w->known) {
		t(b, c, l, "captive.state.unknown");
	} else if (w->state == REG_BLOCKED) {
		t(b, c, l, "captive.state.blocked");
	} else if (w->access == POLICY_WORK) {
		t(b, c, l, "captive.state.approved");
	} else if (w->access == POLICY_GUEST) {
		t(b, c, l, "captive.state.guest");
	} else {
		t(b, c, l, "captive.state.pending");
	}
	evbuffer_add_printf(b, "</p></section>\n");
	if (w->known && w->access == POLICY_ONBOARDING && w->state != REG_BLOCKED) {
		evbuffer_add_printf(b, "<p class=\"explain\">");
		t(b, c, l, "captive.pending.explain");
		evbuffer_add_printf(b, "</p>\n");
		claim_form(b, c, l, w);
	}
	if (shows_guest(c, w))
		guest_block(b, c, l);
	evbuffer_add_printf(b, "<footer><p class=\"hint\">");
	t(b, c, l, "captive.footer");
	evbuffer_add_printf(b, "</p></footer>\n</main></body></html>\n");
	web_reply(req, HTTP_OK, "OK", "text/html; charset=utf-8", b);
	evbuffer_free(b);
}

/* ---- JSON answers ---- */

static void send_json(struct evhttp_request *req, const char *type, json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (!b || !s) {
		web_error(req, HTTP_INTERNAL, "Internal Server Error");
	} else {
		evbuffer_add(b, s, strlen(s));
		web_reply(req, HTTP_OK, "OK", type, b);
	}
	free(s);
	if (b)
		evbuffer_free(b);
	json_decref(j);
}

/* RFC 8908 section 5: captive, user-portal-url; sessions here do not
 * expire, so there is nothing to extend. */
static void send_api(const struct listener *l, struct evhttp_request *req, const struct who *w)
{
	send_json(req, "application/captive+json",
		  json_pack("{s:b, s:s, s:b}", "captive", !is_free(w), "user-portal-url", l->self, "can-extend-session", 0));
}

static void send_status(struct evhttp_request *req, const struct captive *c, const struct who *w)
{
	send_json(req, "application/json; charset=utf-8",
		  json_pack("{s:s, s:s?, s:b, s:b}", "state", state_name(w),
			    "class", w->known ? reg_class_name(w->cls) : NULL, "captive", !is_free(w),
			    "guest", shows_guest(c, w)));
}

/* POST /claim: name, owner, kind, token. */
static void post_claim(struct captive *c, const struct listener *l, struct evhttp_request *req, const struct who *w)
{
	struct evkeyvalq form;
	struct reg_claim cl = { 0 };
	const char *kind;
	int r;

	if (!w->known) {
		web_error(req, HTTP_NOTFOUND, "This device is not known yet: ask for an address by DHCP first");
		return;
	}
	if (web_form(req, &form) < 0) {
		web_error(req, HTTP_BADREQUEST, "Bad form");
		return;
	}
	if (!auth_bind_ok(c->auth, w->mac, evhttp_find_header(&form, "token"))) {
		evhttp_clear_headers(&form);
		web_error(req, 403, "Forbidden: the form is not from this page (reload it)");
		return;
	}
	cl.name = evhttp_find_header(&form, "name");
	cl.owner = evhttp_find_header(&form, "owner");
	kind = evhttp_find_header(&form, "kind");
	if (kind && *kind && reg_class_parse(kind, &cl.cls) < 0)
		cl.cls = (enum reg_class)-1;
	if ((cl.name && strlen(cl.name) > MAX_CLAIM_TEXT) || (cl.owner && strlen(cl.owner) > MAX_CLAIM_TEXT) ||
	    cl.cls == (enum reg_class)-1) {
		evhttp_clear_headers(&form);
		web_error(req, HTTP_BADREQUEST, "Bad form: name and owner up to 64 bytes, kind business or personal");
		return;
	}
	r = ctl_claim(c->ctl, w->mac, &cl);
	evhttp_clear_headers(&form);
	if (r < 0) {
		log_warn("captive: claim of %s not stored: %s", w->mac, strerror(-r));
		web_error(req, r == -EINVAL ? HTTP_BADREQUEST : HTTP_INTERNAL, "Not stored");
		return;
	}
	web_redirect(req, 303, l->self);
}

static void send_qr(struct captive *c, struct evhttp_request *req, const struct who *w)
{
	struct evbuffer *b;

	if (!c->qr_svg || !shows_guest(c, w)) {
		web_error(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	b = evbuffer_new();
	if (!b) {
		web_error(req, HTTP_INTERNAL, "Internal Server Error");
		return;
	}
	evbuffer_add_reference(b, c->qr_svg, strlen(c->qr_svg), NULL, NULL);
	web_reply(req, HTTP_OK, "OK", "image/svg+xml", b);
	evbuffer_free(b);
}

/* A path that needs no decoding is compared as it came (the hot path);
 * anything with a '%' is decoded first. */
static int req_path(struct evhttp_request *req, char *out, size_t size)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *p = u ? evhttp_uri_get_path(u) : NULL;

	if (p && !strchr(p, '%')) {
		if (!*p)
			p = "/";
		return util_strlcpy(out, p, size) < size ? 0 : -EINVAL;
	}
	return web_path(req, out, size);
}

static void on_request(struct evhttp_request *req, void *ud)
{
	struct listener *l = ud;
	struct captive *c = l->c;
	const char *host = evhttp_request_get_host(req);
	char path[256];
	struct who w;
	const struct probe *p;

	if (req_path(req, path, sizeof(path)) < 0) {
		web_error(req, HTTP_BADREQUEST, "Bad Request");
		return;
	}
	/* ours: the gateway's address, with or without the port */
	bool ours = host && !strncmp(host, l->gw, l->gw_len) &&
		    (host[l->gw_len] == '\0' ||
		     (host[l->gw_len] == ':' && (unsigned)atoi(host + l->gw_len + 1) == c->port));
	p = probe_of(path);
	if (p) {
		who_of(c, req, &w);
		if (is_free(&w))
			probe_answer(req, p);
		else
			redirect_home(l, req);
		who_clear(&w);
		return;
	}
	if (!ours) { /* some other site: the firewall redirected it here */
		redirect_home(l, req);
		return;
	}
	if (!strncmp(path, "/static/", 8)) {
		if (!web_assets_serve(c->assets, req, path + 8))
			web_error(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	who_of(c, req, &w);
	if (!strcmp(path, "/claim") && m == EVHTTP_REQ_POST)
		post_claim(c, l, req, &w);
	else if (m == EVHTTP_REQ_POST)
		web_error(req, 405, "Method Not Allowed");
	else if (!strcmp(path, "/"))
		send_page(c, req, &w);
	else if (!strcmp(path, "/captive-portal/api"))
		send_api(l, req, &w);
	else if (!strcmp(path, "/status"))
		send_status(req, c, &w);
	else if (!strcmp(path, "/guest-qr.svg"))
		send_qr(c, req, &w);
	else
		redirect_home(l, req);
	who_clear(&w);
}

static char *guest_qr(const char *ssid, const char *pass)
{
	char *uri = qr_wifi_uri(ssid, pass), *svg = NULL;

	if (uri && qr_render_svg(uri, &svg) < 0)
		svg = NULL;
	free(uri);
	return svg;
}

int captive_new(struct event_base *base, struct ctl *ctl, const struct auth *auth,
		const struct web_assets *assets, const struct web_i18n *i18n,
		const struct captive_cfg *cfg, struct captive **out)
{
	struct captive *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->ctl = ctl;
	c->auth = auth;
	c->assets = assets;
	c->i18n = i18n;
	c->port = cfg->port;
	if ((cfg->guest_ssid && !(c->guest_ssid = strdup(cfg->guest_ssid))) ||
	    (cfg->guest_passphrase && !(c->guest_pass = strdup(cfg->guest_passphrase)))) {
		captive_free(c);
		return -ENOMEM;
	}
	if (c->guest_ssid && !(c->qr_svg = guest_qr(c->guest_ssid, c->guest_pass)))
		log_warn("captive portal: no QR code for the guest network");
	for (unsigned i = 0; i < cfg->n_addrs && i < CAPTIVE_MAX_ADDRS; i++) {
		struct listener *l = &c->l[c->n_l];
		int r;

		l->c = c;
		inet_ntop(AF_INET, &cfg->addrs[i], l->gw, sizeof(l->gw));
		l->gw_len = strlen(l->gw);
		char self[sizeof(l->self)];
		snprintf(self, sizeof(self), "http://%s:%u/", l->gw, cfg->port);
		memcpy(l->self, self, sizeof(self));
		l->body_len = (size_t)snprintf(l->body, sizeof(l->body),
					       "<!DOCTYPE html><title>Redirect</title><a href=\"%s\">Continue</a>\n", self);
		l->http = web_server_new(base);
		if (!l->http) {
			captive_free(c);
			return -ENOMEM;
		}
		c->n_l++;
		evhttp_set_gencb(l->http, on_request, l);
		r = web_listen(l->http, &cfg->addrs[i], cfg->port);
		if (r < 0) {
			log_err("captive portal: cannot listen on %s:%u: %s", l->gw, cfg->port, strerror(-r));
			captive_free(c);
			return r;
		}
		log_info("captive portal listening on %s:%u", l->gw, cfg->port);
	}
	*out = c;
	return 0;
}

void captive_free(struct captive *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n_l; i++)
		evhttp_free(c->l[i].http);
	free(c->guest_ssid);
	free(c->guest_pass);
	free(c->qr_svg);
	free(c);
}

/* ---- status ---- */

struct listening {
	captive_listen_cb cb;
	void *ud;
};

static void listening_one(struct evhttp_bound_socket *bs, void *arg)
{
	struct listening *l = arg;
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sa, &len) == 0 &&
	    sa.sin_family == AF_INET)
		l->cb(&sa, l->ud);
}

void captive_listening(const struct captive *c, captive_listen_cb cb, void *ud)
{
	struct listening l = { cb, ud };

	for (unsigned i = 0; c && i < c->n_l; i++)
		if (c->l[i].http)
			evhttp_foreach_bound_socket(c->l[i].http, listening_one, &l);
}
