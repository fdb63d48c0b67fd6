/* hapd_ev.c - parser for hostapd 2.10 control-interface events and STA
 * replies (formats: shared/reference/platform-notes.md A5/A6).
 *
 * Everything is copied into a bounded local buffer first, so the input need
 * not be NUL-terminated and is never read past len.
 */
#include "hapd_ev.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "mac.h"
#include "util.h"

/* What follows the event name. */
enum ev_args {
	ARGS_NONE,         /* nothing (a trailing space is allowed) */
	ARGS_MAC,          /* exactly one MAC */
	ARGS_CONNECTED,    /* MAC[ p2p_dev_addr=][ ip_addr=][ keyid=][ future key=value] */
	ARGS_DISCONNECTED, /* MAC[ p2p_dev_addr=][ future key=value] */
	ARGS_BSS_TM,       /* MAC status_code= bss_termination_delay=[ target_bssid=] */
	ARGS_ANY,          /* not looked at */
};

static const struct ev_def {
	const char *name;
	enum hapd_ev_type type;
	enum ev_args args;
} ev_defs[] = {
	{ "AP-STA-CONNECTED", HAPD_EV_STA_CONNECTED, ARGS_CONNECTED },
	{ "AP-STA-DISCONNECTED", HAPD_EV_STA_DISCONNECTED, ARGS_DISCONNECTED },
	{ "CTRL-EVENT-EAP-STARTED", HAPD_EV_EAP_STARTED, ARGS_MAC },
	{ "CTRL-EVENT-EAP-SUCCESS", HAPD_EV_EAP_SUCCESS, ARGS_MAC },
	{ "CTRL-EVENT-EAP-SUCCESS2", HAPD_EV_EAP_SUCCESS, ARGS_MAC },
	{ "CTRL-EVENT-EAP-FAILURE", HAPD_EV_EAP_FAILURE, ARGS_MAC },
	{ "CTRL-EVENT-EAP-FAILURE2", HAPD_EV_EAP_FAILURE, ARGS_MAC },
	{ "CTRL-EVENT-EAP-TIMEOUT-FAILURE", HAPD_EV_EAP_FAILURE, ARGS_MAC },
	{ "CTRL-EVENT-EAP-TIMEOUT-FAILURE2", HAPD_EV_EAP_FAILURE, ARGS_MAC },
	{ "AP-ENABLED", HAPD_EV_AP_ENABLED, ARGS_NONE },
	{ "AP-DISABLED", HAPD_EV_AP_DISABLED, ARGS_NONE },
	{ "CTRL-EVENT-TERMINATING", HAPD_EV_TERMINATING, ARGS_NONE },
	{ "BSS-TM-RESP", HAPD_EV_BSS_TM_RESP, ARGS_BSS_TM },
	{ "AP-REJECTED-BLOCKED-STA", HAPD_EV_REJECTED_BLOCKED, ARGS_MAC },
	{ "AP-REJECTED-MAX-STA", HAPD_EV_REJECTED_MAX, ARGS_MAC },
	{ "AP-STA-POSSIBLE-PSK-MISMATCH", HAPD_EV_PSK_MISMATCH, ARGS_MAC },
	{ "EAPOL-4WAY-HS-COMPLETED", HAPD_EV_4WAY_DONE, ARGS_MAC },
	/* known, of no use to apgate */
	{ "CTRL-EVENT-EAP-RETRANSMIT", HAPD_EV_IGNORED, ARGS_MAC },
	{ "CTRL-EVENT-EAP-RETRANSMIT2", HAPD_EV_IGNORED, ARGS_MAC },
	{ "CTRL-EVENT-EAP-PROPOSED-METHOD", HAPD_EV_IGNORED, ARGS_ANY },
	{ "AP-STA-POLL-OK", HAPD_EV_IGNORED, ARGS_MAC },
	{ "INTERFACE-ENABLED", HAPD_EV_IGNORED, ARGS_NONE },
	{ "INTERFACE-DISABLED", HAPD_EV_IGNORED, ARGS_NONE },
};

static const char *const type_names[] = {
	[HAPD_EV_STA_CONNECTED] = "sta_connected",
	[HAPD_EV_STA_DISCONNECTED] = "sta_disconnected",
	[HAPD_EV_EAP_STARTED] = "eap_started",
	[HAPD_EV_EAP_SUCCESS] = "eap_success",
	[HAPD_EV_EAP_FAILURE] = "eap_failure",
	[HAPD_EV_AP_ENABLED] = "ap_enabled",
	[HAPD_EV_AP_DISABLED] = "ap_disabled",
	[HAPD_EV_TERMINATING] = "terminating",
	[HAPD_EV_BSS_TM_RESP] = "bss_tm_resp",
	[HAPD_EV_REJECTED_BLOCKED] = "rejected_blocked",
	[HAPD_EV_REJECTED_MAX] = "rejected_max",
	[HAPD_EV_PSK_MISMATCH] = "psk_mismatch",
	[HAPD_EV_4WAY_DONE] = "4way_done",
	[HAPD_EV_IGNORED] = "ignored",
};

const char *hapd_ev_type_name(enum hapd_ev_type t)
{
	if ((unsigned)t < ARRAY_SIZE(type_names) && type_names[t])
		return type_names[t];
	return "?";
}

/* hostapd prints MACSTR: exactly "xx:xx:xx:xx:xx:xx". Anything else in a
 * MAC position is malformed, even spellings mac_parse() would accept. */
static int parse_mac17(const char *s, char out[MAC_STR_LEN])
{
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 2; i < 17; i += 3)
		if (s[i] != ':')
			return -EINVAL;
	return mac_canon(s, out);
}

/* Splits off the next space-separated token (runs of spaces count as one).
 * Returns NULL at the end. */
static char *next_token(char **pos)
{
	char *s = *pos, *e;

	while (*s == ' ')
		s++;
	if (!*s) {
		*pos = s;
		return NULL;
	}
	e = strchr(s, ' ');
	if (e) {
		*e = '\0';
		*pos = e + 1;
	} else {
		*pos = s + strlen(s);
	}
	return s;
}

static int parse_uint(const char *s, long max, int *out)
{
	long v;

	/* util_parse_long accepts a sign; hostapd prints %u */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	if (util_parse_long(s, 0, max, &v) < 0)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int copy_keyid(const char *v, char out[HAPD_KEYID_MAX])
{
	size_t n = strlen(v);

	if (n == 0 || n >= HAPD_KEYID_MAX)
		return -EINVAL;
	memcpy(out, v, n + 1);
	return 0;
}

/* The key=value fields after the MAC. */
static int parse_fields(char *pos, enum ev_args args, struct hapd_ev *ev)
{
	bool have_status = false, have_delay = false;
	char *tok;

	while ((tok = next_token(&pos))) {
		char *val = strchr(tok, '=');

		if (!val || val == tok)
			return -EINVAL;
		*val++ = '\0';
		if (strcmp(tok, "p2p_dev_addr") == 0 &&
		    (args == ARGS_CONNECTED || args == ARGS_DISCONNECTED)) {
			if (ev->p2p_dev_addr[0] || parse_mac17(val, ev->p2p_dev_addr) < 0)
				return -EINVAL;
		} else if (strcmp(tok, "ip_addr") == 0 && args == ARGS_CONNECTED) {
			struct in_addr a;

			if (ev->ip_addr[0] || strlen(val) >= sizeof(ev->ip_addr) ||
			    inet_pton(AF_INET, val, &a) != 1)
				return -EINVAL;
			strcpy(ev->ip_addr, val);
		} else if (strcmp(tok, "keyid") == 0 && args == ARGS_CONNECTED) {
			if (ev->keyid[0] || copy_keyid(val, ev->keyid) < 0)
				return -EINVAL;
		} else if (strcmp(tok, "status_code") == 0 && args == ARGS_BSS_TM) {
			if (have_status || parse_uint(val, 255, &ev->status_code) < 0)
				return -EINVAL;
			have_status = true;
		} else if (strcmp(tok, "bss_termination_delay") == 0 && args == ARGS_BSS_TM) {
			if (have_delay || parse_uint(val, 255, &ev->bss_termination_delay) < 0)
				return -EINVAL;
			have_delay = true;
		} else if (strcmp(tok, "target_bssid") == 0 && args == ARGS_BSS_TM) {
			if (ev->target_bssid[0] || parse_mac17(val, ev->target_bssid) < 0)
				return -EINVAL;
		}
		/* else: a field a later hostapd added (2.11 dpp_pkhash=,
		 * vlanid= upstream since 2025, vendor extras): ignored */
	}
	if (args == ARGS_BSS_TM && !(have_status && have_delay))
		return -EINVAL;
	return 0;
}

static int parse_args(char *pos, enum ev_args args, struct hapd_ev *ev)
{
	char *tok;

	if (args == ARGS_ANY)
		return 0;
	tok = next_token(&pos);
	if (args == ARGS_NONE)
		return tok ? -EINVAL : 0;
	if (!tok || parse_mac17(tok, ev->mac) < 0)
		return -EINVAL;
	if (args == ARGS_MAC)
		return next_token(&pos) ? -EINVAL : 0;
	return parse_fields(pos, args, ev);
}

int hapd_ev_parse(const char *buf, size_t len, struct hapd_ev *ev)
{
	char s[HAPD_EV_MAX + 1];
	char *p, *name;
	size_t n = len;
	int level = 0, digits = 0;

	memset(ev, 0, sizeof(*ev));
	if (len > HAPD_EV_MAX)
		return -EMSGSIZE;
	if (!buf || len == 0 || memchr(buf, '\0', len))
		return -EINVAL;
	/* trailing newline(s) and the trailing space of "AP-ENABLED " */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\r'))
		n--;
	memcpy(s, buf, n);
	s[n] = '\0';
	/* control characters inside a line: not something hostapd sends */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -EINVAL;

	p = s;
	if (strncmp(p, "IFNAME=", 7) == 0) {
		char *sp = strchr(p + 7, ' ');
		size_t il;

		if (!sp)
			return -EINVAL;
		il = (size_t)(sp - (p + 7));
		if (il == 0 || il >= sizeof(ev->ifname))
			return -EINVAL;
		memcpy(ev->ifname, p + 7, il);
		ev->ifname[il] = '\0';
		p = sp + 1;
	}
	if (*p++ != '<')
		return -EINVAL;
	while (*p >= '0' && *p <= '9' && digits < 2) {
		level = level * 10 + (*p++ - '0');
		digits++;
	}
	if (digits == 0 || *p++ != '>')
		return -EINVAL;
	ev->level = level;

	name = p;
	p = strchr(name, ' ');
	if (p)
		*p++ = '\0';
	else
		p = name + strlen(name);
	if (!*name)
		return -EINVAL;
	util_strlcpy(ev->name, name, sizeof(ev->name));

	for (size_t i = 0; i < ARRAY_SIZE(ev_defs); i++) {
		if (strcmp(name, ev_defs[i].name) != 0)
			continue;
		int r;

		ev->type = ev_defs[i].type;
		r = parse_args(p, ev_defs[i].args, ev);
		if (r < 0) {
			/* keep level, ifname and name for the caller's log line */
			struct hapd_ev head = { .level = ev->level };
			memcpy(head.ifname, ev->ifname, sizeof(head.ifname));
			memcpy(head.name, ev->name, sizeof(head.name));
			*ev = head;
		}
		return r;
	}
	return -ENOMSG;
}

/* ---- STA / STA-FIRST / STA-NEXT replies ---- */

/* Finds the line that starts with key (key includes the '='), at or after
 * from; returns a pointer to the line or NULL. */
static const char *find_line(const char *s, const char *from, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = from; p && *p; ) {
		if ((p == s || p[-1] == '\n') && strncmp(p, key, kl) == 0)
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static const char *find_last_line(const char *s, const char *from, const char *key)
{
	const char *last = NULL, *p = from;

	while ((p = find_line(s, p, key))) {
		last = p;
		p += strlen(key);
	}
	return last;
}

int hapd_sta_parse(const char *buf, size_t len, struct hapd_sta *sta)
{
	char s[HAPD_EV_MAX + 1];
	const char *user, *skip_to = NULL, *end;
	char *line, *next;
	bool have_flags = false, have_vlan = false, have_keyid = false;

	memset(sta, 0, sizeof(*sta));
	if (!buf || len == 0)
		return -ENOENT;
	if (len > HAPD_EV_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	memcpy(s, buf, len);
	s[len] = '\0';
	if (strcmp(s, "FAIL\n") == 0 || strcmp(s, "FAIL") == 0)
		return -ENOENT;
	/* A reply of the full 4096 bytes was cut by hostapd: its last line
	 * may be incomplete and is not used. */
	if (len == HAPD_EV_MAX && s[len - 1] != '\n') {
		char *nl = strrchr(s, '\n');
		if (nl)
			nl[1] = '\0';
	}

	/* "dot1xAuthSessionUserName=%s\n" prints the station's EAP identity
	 * verbatim, so a station can put lines such as "vlan_id=99" into this
	 * reply. What hostapd prints after the identity starts with its own
	 * "last_eap_type_as=" line; the last such line is hostapd's, everything
	 * between the user name and it is the station's text. */
	user = find_line(s, s, "dot1xAuthSessionUserName=");
	if (user)
		skip_to = find_last_line(s, user, "last_eap_type_as=");

	end = s + strlen(s);
	line = s;
	next = strchr(line, '\n');
	if (next)
		*next++ = '\0';
	if (parse_mac17(line, sta->mac) < 0) {
		sta->mac[0] = '\0';
		return -EINVAL;
	}
	if (user && !skip_to)
		return -EINVAL; /* cannot tell the station's text from hostapd's */
	for (line = next; line && line < end; line = next) {
		char *val;

		if (user && line > user && line < skip_to) {
			next = (char *)skip_to;
			continue;
		}
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		val = strchr(line, '=');
		if (!val)
			return -EINVAL;
		*val++ = '\0';
		if (strcmp(line, "flags") == 0) {
			if (have_flags)
				return -EINVAL;
			have_flags = true;
			sta->authorized = strstr(val, "[AUTHORIZED]") != NULL;
		} else if (strcmp(line, "vlan_id") == 0) {
			if (have_vlan || parse_uint(val, INT_MAX, &sta->vlan_id) < 0)
				return -EINVAL;
			have_vlan = true;
		} else if (strcmp(line, "keyid") == 0) {
			if (have_keyid || copy_keyid(val, sta->keyid) < 0)
				return -EINVAL;
			have_keyid = true;
		} else if (strcmp(line, "ext_capab") == 0) {
			/* octets in hex, bit 19 = octet 2, bit 3 */
			size_t n = strlen(val);
			if (n % 2)
				return -EINVAL;
			for (size_t i = 0; i < n; i++)
				if (util_hexval(val[i]) < 0)
					return -EINVAL;
			sta->btm = n >= 6 && (util_hexval(val[5]) & 0x8);
		}
	}
	if (!have_flags)
		return -EINVAL;
	return 0;
}

int hapd_status_parse(const char *buf, size_t len, const char *ifname, struct hapd_status *st)
{
	char s[HAPD_EV_MAX + 1], *line, *next;
	long idx = -1;
	bool have_bssid = false;

	memset(st, 0, sizeof(*st));
	if (!buf || !ifname || len == 0 || len > HAPD_EV_MAX || memchr(buf, '\0', len))
		return -EINVAL;
	memcpy(s, buf, len);
	s[len] = '\0';
	if (strncmp(s, "state=", 6) != 0)
		return -EINVAL;
	/* first pass: which index is ours */
	for (line = s; line && *line; line = next) {
		char *eq, *end;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (!eq)
			return -EINVAL;
		*eq = '\0';
		const char *val = eq + 1;
		if (!strncmp(line, "bss[", 4) && !strcmp(val, ifname)) {
			idx = strtol(line + 4, &end, 10);
			if (*end != ']')
				return -EINVAL;
		} else if (!strcmp(line, "freq")) {
			int v;
			if (parse_uint(val, 1000000, &v) < 0)
				return -EINVAL;
			st->freq = (unsigned)v;
		} else if (!strcmp(line, "channel")) {
			int v;
			if (parse_uint(val, 1000, &v) < 0)
				return -EINVAL;
			st->channel = (unsigned)v;
		} else if (!strcmp(line, "ieee80211n")) {
			st->ht = !strcmp(val, "1");
		} else if (!strcmp(line, "ieee80211ac")) {
			st->vht = !strcmp(val, "1");
		}
		*eq = '=';
		if (next)
			next[-1] = '\n';
	}
	if (idx < 0)
		return -ENOENT;
	char key[32];
	snprintf(key, sizeof(key), "bssid[%ld]=", idx);
	for (line = s; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!strncmp(line, key, strlen(key))) {
			if (parse_mac17(line + strlen(key), st->bssid) < 0)
				return -EINVAL;
			have_bssid = true;
		}
	}
	return have_bssid ? 0 : -EINVAL;
}
