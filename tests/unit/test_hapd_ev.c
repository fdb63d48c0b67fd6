/* hostapd 2.10 event and STA-reply parsing: the exact strings hostapd sends
 * (shared/reference/platform-notes.md A5/A6), and what must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/hapd_ev.h"

/* The string without its NUL, in a heap block of exactly that size, so ASan
 * catches any read past len. Caller frees. */
static char *exact(const char *s, size_t *len)
{
	char *copy;

	*len = strlen(s);
	copy = malloc(*len ? *len : 1);
	assert_non_null(copy);
	memcpy(copy, s, *len);
	return copy;
}

static int parse(const char *s, struct hapd_ev *ev)
{
	size_t len;
	char *copy = exact(s, &len);
	int r = hapd_ev_parse(copy, len, ev);

	free(copy);
	return r;
}

static int parse_sta(const char *s, struct hapd_sta *sta)
{
	size_t len;
	char *copy = exact(s, &len);
	int r = hapd_sta_parse(copy, len, sta);

	free(copy);
	return r;
}

/* ------------------------------------------------------------ events */

static void test_connected_plain(void **state)
{
	struct hapd_ev ev;

	(void)state;
	assert_int_equal(parse("<3>AP-STA-CONNECTED 02:00:00:00:01:01", &ev), 0);
	assert_int_equal(ev.type, HAPD_EV_STA_CONNECTED);
	assert_int_equal(ev.level, 3);
	assert_string_equal(ev.name, "AP-STA-CONNECTED");
	assert_string_equal(ev.mac, "02:00:00:00:01:01");
	assert_string_equal(ev.ifname, "");
	assert_string_equal(ev.keyid, "");
	assert_string_equal(ev.ip_addr, "");
	assert_string_equal(ev.p2p_dev_addr, "");
	assert_string_equal(hapd_ev_type_name(ev.type), "sta_connected");
}

static void test_connected_optional_fields(void **state)
{
	struct hapd_ev ev;

	(void)state;
	/* hostapd's order: p2p_dev_addr, ip_addr, keyid */
	assert_int_equal(parse("<3>AP-STA-CONNECTED 02:00:00:00:01:01 p2p_dev_addr=02:AA:BB:CC:DD:EE "
			       "ip_addr=192.168.49.10 keyid=staff-phone\n", &ev), 0);
	assert_string_equal(ev.mac, "02:00:00:00:01:01");
	assert_string_equal(ev.p2p_dev_addr, "02:aa:bb:cc:dd:ee");
	assert_string_equal(ev.ip_addr, "192.168.49.10");
	assert_string_equal(ev.keyid, "staff-phone");

	/* any order; an upper-case MAC comes out canonical */
	assert_int_equal(parse("<3>AP-STA-CONNECTED 02:00:00:00:AB:CD keyid=pos ip_addr=10.0.0.2", &ev), 0);
	assert_string_equal(ev.mac, "02:00:00:00:ab:cd");
	assert_string_equal(ev.keyid, "pos");
	assert_string_equal(ev.ip_addr, "10.0.0.2");

	/* a keyid of the maximum 31 characters */
	assert_int_equal(parse("<3>AP-STA-CONNECTED 02:00:00:00:01:01 keyid=abcdefghijklmnopqrstuvwxyz01234", &ev), 0);
	assert_string_equal(ev.keyid, "abcdefghijklmnopqrstuvwxyz01234");
}

static void test_connected_later_fields_ignored(void **state)
{
	struct hapd_ev ev;

	(void)state;
	/* 2.11 adds dpp_pkhash=, upstream (2025) vlanid= */
	assert_int_equal(parse("<3>AP-STA-CONNECTED 02:00:00:00:01:01 keyid=k1 "
			       "dpp_pkhash=0123456789abcdef vlanid=20", &ev), 0);
	assert_int_equal(ev.type, HAPD_EV_STA_CONNECTED);
	assert_string_equal(ev.keyid, "k1");
	assert_int_equal(parse("<3>AP-STA-DISCONNECTED 02:00:00:00:01:01 reason=3", &ev), 0);
	assert_int_equal(ev.type, HAPD_EV_STA_DISCONNECTED);
}

static void test_disconnected_and_ifname(void **state)
{
	struct hapd_ev ev;

	(void)state;
	assert_int_equal(parse("<3>AP-STA-DISCONNECTED 02:00:00:00:01:01", &ev), 0);
	assert_int_equal(ev.type, HAPD_EV_STA_DISCONNECTED);
	assert_string_equal(ev.mac, "02:00:00:00:01:01");

	/* as the global control interface sends it */
	assert_int_equal(parse("IFNAME=ap0 <3>AP-STA-DISCONNECTED 02:00:00:00:77:77\n", &ev), 0);
	assert_string_equal(ev.ifname, "ap0");
	assert_int_equal(ev.type, HAPD_EV_STA_DISCONNECTED);
	assert_string_equal(ev.mac, "02:00:00:00:77:77");

	assert_int_equal(parse("IFNAME=wlan0_1 <3>AP-STA-DISCONNECTED 02:00:00:00:01:01 "
			       "p2p_dev_addr=02:00:00:00:02:02", &ev), 0);
	assert_string_equal(ev.ifname, "wlan0_1");
	assert_string_equal(ev.p2p_dev_addr, "02:00:00:00:02:02");
}

static void test_no_argument_events(void **state)
{
	static const struct {
		const char *text;
		enum hapd_ev_type type;
	} cases[] = {
		{ "<3>AP-ENABLED ", HAPD_EV_AP_ENABLED },     /* trailing space, as sent */
		{ "<3>AP-ENABLED", HAPD_EV_AP_ENABLED },
		{ "<3>AP-DISABLED ", HAPD_EV_AP_DISABLED },
		{ "<3>AP-DISABLED \n", HAPD_EV_AP_DISABLED },
		{ "<3>CTRL-EVENT-TERMINATING ", HAPD_EV_TERMINATING },
		{ "IFNAME=rap1 <3>CTRL-EVENT-TERMINATING ", HAPD_EV_TERMINATING },
		{ "<3>INTERFACE-ENABLED ", HAPD_EV_IGNORED },
		{ "<3>INTERFACE-DISABLED ", HAPD_EV_IGNORED },
	};
	struct hapd_ev ev;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].text, &ev), 0);
		assert_int_equal(ev.type, cases[i].type);
		assert_string_equal(ev.mac, "");
	}
	assert_string_equal(hapd_ev_type_name(HAPD_EV_TERMINATING), "terminating");
}

static void test_mac_events(void **state)
{
	static const struct {
		const char *name;
		enum hapd_ev_type type;
	} cases[] = {
		{ "CTRL-EVENT-EAP-STARTED", HAPD_EV_EAP_STARTED },
		{ "CTRL-EVENT-EAP-SUCCESS", HAPD_EV_EAP_SUCCESS },
		{ "CTRL-EVENT-EAP-SUCCESS2", HAPD_EV_EAP_SUCCESS },
		{ "CTRL-EVENT-EAP-FAILURE", HAPD_EV_EAP_FAILURE },
		{ "CTRL-EVENT-EAP-FAILURE2", HAPD_EV_EAP_FAILURE },
		{ "CTRL-EVENT-EAP-TIMEOUT-FAILURE", HAPD_EV_EAP_FAILURE },
		{ "CTRL-EVENT-EAP-TIMEOUT-FAILURE2", HAPD_EV_EAP_FAILURE },
		{ "AP-REJECTED-BLOCKED-STA", HAPD_EV_REJECTED_BLOCKED },
		{ "AP-REJECTED-MAX-STA", HAPD_EV_REJECTED_MAX },
		{ "AP-STA-POSSIBLE-PSK-MISMATCH", HAPD_EV_PSK_MISMATCH },
		{ "EAPOL-4WAY-HS-COMPLETED", HAPD_EV_4WAY_DONE },
		{ "CTRL-EVENT-EAP-RETRANSMIT", HAPD_EV_IGNORED },
		{ "CTRL-EVENT-EAP-RETRANSMIT2", HAPD_EV_IGNORED },
		{ "AP-STA-POLL-OK", HAPD_EV_IGNORED },
	};
	struct hapd_ev ev;
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "<3>%s 02:00:00:00:01:0A", cases[i].name);
		assert_int_equal(parse(buf, &ev), 0);
		assert_int_equal(ev.type, cases[i].type);
		assert_string_equal(ev.name, cases[i].name);
		assert_string_equal(ev.mac, "02:00:00:00:01:0a");
		/* the MAC is required ... */
		snprintf(buf, sizeof(buf), "<3>%s", cases[i].name);
		assert_int_equal(parse(buf, &ev), -EINVAL);
		/* ... and alone */
		snprintf(buf, sizeof(buf), "<3>%s 02:00:00:00:01:0a extra", cases[i].name);
		assert_int_equal(parse(buf, &ev), -EINVAL);
	}
	/* no MAC in this one */
	assert_int_equal(parse("<3>CTRL-EVENT-EAP-PROPOSED-METHOD vendor=0 method=4", &ev), 0);
	assert_int_equal(ev.type, HAPD_EV_IGNORED);
	assert_int_equal(parse("<3>CTRL-EVENT-EAP-PROPOSED-METHOD method=1", &ev), 0);
	assert_int_equal(ev.type, HAPD_EV_IGNORED);
}

static void test_bss_tm_resp(void **state)
{
	struct hapd_ev ev;

	(void)state;
	assert_int_equal(parse("<3>BSS-TM-RESP 02:00:00:00:01:01 status_code=0 "
			       "bss_termination_delay=0 target_bssid=02:00:00:00:FF:01", &ev), 0);
	assert_int_equal(ev.type, HAPD_EV_BSS_TM_RESP);
	assert_string_equal(ev.mac, "02:00:00:00:01:01");
	assert_int_equal(ev.status_code, 0);
	assert_int_equal(ev.bss_termination_delay, 0);
	assert_string_equal(ev.target_bssid, "02:00:00:00:ff:01");

	assert_int_equal(parse("<3>BSS-TM-RESP 02:00:00:00:01:01 status_code=6 bss_termination_delay=3", &ev), 0);
	assert_int_equal(ev.status_code, 6);
	assert_int_equal(ev.bss_termination_delay, 3);
	assert_string_equal(ev.target_bssid, "");

	assert_int_equal(parse("<3>BSS-TM-RESP 02:00:00:00:01:01 bss_termination_delay=0", &ev), -EINVAL);
	assert_int_equal(parse("<3>BSS-TM-RESP 02:00:00:00:01:01 status_code=0", &ev), -EINVAL);
	assert_int_equal(parse("<3>BSS-TM-RESP 02:00:00:00:01:01 status_code=ok bss_termination_delay=0", &ev), -EINVAL);
	assert_int_equal(parse("<3>BSS-TM-RESP 02:00:00:00:01:01 status_code=-1 bss_termination_delay=0", &ev), -EINVAL);
	assert_int_equal(parse("<3>BSS-TM-RESP 02:00:00:00:01:01 status_code= bss_termination_delay=0", &ev), -EINVAL);
	assert_int_equal(parse("<3>BSS-TM-RESP 02:00:00:00:01:01 status_code=0 bss_termination_delay=0 "
			       "target_bssid=nope", &ev), -EINVAL);
}

static void test_unknown_events(void **state)
{
	struct hapd_ev ev;

	(void)state;
	assert_int_equal(parse("<3>WPS-PBC-ACTIVE", &ev), -ENOMSG);
	assert_string_equal(ev.name, "WPS-PBC-ACTIVE");
	assert_int_equal(parse("<3>AP-CSA-FINISHED freq=2437 dfs=0", &ev), -ENOMSG);
	assert_string_equal(ev.name, "AP-CSA-FINISHED");
	/* LEVEL 2 debug lines are well formed, just not events */
	assert_int_equal(parse("<2>CTRL_IFACE DEAUTHENTICATE 02:00:00:00:77:77", &ev), -ENOMSG);
	assert_int_equal(ev.level, 2);
	assert_int_equal(parse("IFNAME=ap0 <3>RRM-BEACON-REP-RECEIVED 02:00:00:00:01:01 token=1", &ev), -ENOMSG);
	assert_string_equal(ev.ifname, "ap0");
	/* a known name is matched exactly, not as a prefix */
	assert_int_equal(parse("<3>AP-STA-CONNECTED-X 02:00:00:00:01:01", &ev), -ENOMSG);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"<3>AP-STA-CONNECTED 02:00:00:00:0",          /* truncated MAC */
		"<3>AP-STA-CONNECTED 02:00:00:00:0g:01",      /* bad hex */
		"<3>AP-STA-CONNECTED 02-00-00-00-01-01",      /* not hostapd's MACSTR */
		"<3>AP-STA-CONNECTED 020000000101",
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01:02",
		"<3>AP-STA-CONNECTED",                        /* missing MAC */
		"<3>AP-STA-CONNECTED ",
		"<3>AP-STA-CONNECTED keyid=k1",
		"AP-STA-CONNECTED 02:00:00:00:01:01",         /* no <N> prefix */
		"3>AP-STA-CONNECTED 02:00:00:00:01:01",
		"<x>AP-STA-CONNECTED 02:00:00:00:01:01",
		"<123>AP-STA-CONNECTED 02:00:00:00:01:01",
		"<>AP-ENABLED",
		"<3",
		"<3>",
		"<3> AP-ENABLED",                             /* no name */
		"<3>AP-ENABLED now",                          /* args on a no-arg event */
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01 keyid=abcdefghijklmnopqrstuvwxyz012345", /* 32 */
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01 keyid=",
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01 keyid=a keyid=b",
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01 ip_addr=300.1.2.3",
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01 p2p_dev_addr=02:00",
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01 garbage",
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01 =x",
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01\nkeyid=x", /* a line break inside */
		"<3>AP-STA-CONNECTED 02:00:00:00:01:01\x01",
		"IFNAME=wlan0",                               /* prefix without event */
		"IFNAME= <3>AP-ENABLED ",
		"IFNAME=abcdefghijklmnopqrstuvwxyz0123456 <3>AP-ENABLED ",
		"\x81\xfe\xff\x01\x02garbage",
		"\n",
		"   ",
		"OK\n",
	};
	struct hapd_ev ev;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse(bad[i], &ev);
		if (r != -EINVAL)
			fail_msg("\"%s\": expected -EINVAL, got %d", bad[i], r);
		assert_string_equal(ev.mac, "");
	}
	/* empty */
	assert_int_equal(hapd_ev_parse("", 0, &ev), -EINVAL);
	/* a known name stays in ev for the log line */
	assert_int_equal(parse("<3>AP-STA-CONNECTED 02:00:00:00:0", &ev), -EINVAL);
	assert_string_equal(ev.name, "AP-STA-CONNECTED");
}

static void test_embedded_nul(void **state)
{
	static const char msg[] = "<3>AP-STA-CONNECTED 02:00:00:00:01:01\0keyid=x";
	static const char msg2[] = "<3>AP-STA-\0CONNECTED 02:00:00:00:01:01";
	struct hapd_ev ev;

	(void)state;
	assert_int_equal(hapd_ev_parse(msg, sizeof(msg) - 1, &ev), -EINVAL);
	assert_int_equal(hapd_ev_parse(msg2, sizeof(msg2) - 1, &ev), -EINVAL);
	/* the same bytes up to the NUL are fine */
	assert_int_equal(hapd_ev_parse(msg, strlen(msg), &ev), 0);
}

static void test_sizes(void **state)
{
	char *big = malloc(5000);
	struct hapd_ev ev;

	(void)state;
	assert_non_null(big);
	memset(big, 'A', 5000);
	memcpy(big, "<3>AP-STA-CONNECTED 02:00:00:00:01:01 x=", 40);
	assert_int_equal(hapd_ev_parse(big, 5000, &ev), -EMSGSIZE);
	assert_int_equal(hapd_ev_parse(big, HAPD_EV_MAX + 1, &ev), -EMSGSIZE);
	/* 4096 bytes is still a datagram hostapd can send */
	assert_int_equal(hapd_ev_parse(big, HAPD_EV_MAX, &ev), 0);
	assert_int_equal(ev.type, HAPD_EV_STA_CONNECTED);
	free(big);
}

static void test_never_reads_past_len(void **state)
{
	/* what follows len would make the datagram valid */
	static const char text[] = "<3>AP-STA-CONNECTED 02:00:00:00:01:01";
	struct hapd_ev ev;

	(void)state;
	assert_int_equal(hapd_ev_parse(text, strlen(text) - 1, &ev), -EINVAL);
	assert_int_equal(hapd_ev_parse(text, 2, &ev), -EINVAL);
	assert_int_equal(hapd_ev_parse(text, strlen(text), &ev), 0);
}

/* -------------------------------------------------------- STA replies */

/* A WPA2-PSK station with a per-device PSK (keyid) and a VLAN, laid out as
 * hostapd_ctrl_iface_sta_mib() prints it. */
static const char wifi_sta[] =
	"02:00:00:00:01:01\n"
	"flags=[AUTH][ASSOC][AUTHORIZED][WMM][HT]\n"
	"aid=1\n"
	"capability=0x431\n"
	"listen_interval=10\n"
	"supported_rates=82 84 8b 96 0c 12 18 24 30 48 60 6c\n"
	"timeout_next=NULLFUNC POLL\n"
	"dot11RSNAStatsSTAAddress=02:00:00:00:01:01\n"
	"dot11RSNAStatsVersion=1\n"
	"dot11RSNAStatsSelectedPairwiseCipher=00-0f-ac-4\n"
	"dot11RSNAStatsTKIPLocalMICFailures=0\n"
	"dot11RSNAStatsTKIPRemoteMICFailures=0\n"
	"wpa=2\n"
	"AKMSuiteSelector=00-0f-ac-2\n"
	"hostapdWPAPTKState=11\n"
	"hostapdWPAPTKGroupState=0\n"
	"rx_packets=139\n"
	"tx_packets=56\n"
	"rx_bytes=16381\n"
	"tx_bytes=10071\n"
	"inactive_msec=1720\n"
	"signal=-43\n"
	"rx_rate_info=650 mcs 7 shortGI\n"
	"tx_rate_info=722 mcs 7 shortGI\n"
	"ht_mcs_bitmask=ffff0000000000000000\n"
	"connected_time=31\n"
	"vlan_id=20\n"
	"supp_op_classes=51515354737475767778797a7b7c7d7e7f808182\n"
	"min_txpower=0\n"
	"max_txpower=20\n"
	"ht_caps_info=0x01ef\n"
	"ext_capab=0400000000000040\n"
	"keyid=staff-phone\n";

/* A wired 802.1X station (EAP-MD5) as driver=wired shows it. */
static const char wired_sta_head[] =
	"02:00:00:00:01:01\n"
	"flags=[AUTHORIZED]\n"
	"aid=0\n"
	"capability=0x0\n"
	"listen_interval=0\n"
	"supported_rates=\n"
	"timeout_next=NULLFUNC POLL\n"
	"dot1xPaePortNumber=1\n"
	"dot1xPaePortProtocolVersion=2\n"
	"dot1xPaePortCapabilities=1\n"
	"dot1xPaePortInitialize=0\n"
	"dot1xPaePortReauthenticate=FALSE\n"
	"dot1xAuthPaeState=5\n"
	"dot1xAuthBackendAuthState=3\n"
	"dot1xAuthSessionId=5D3A1C2B00000001\n"
	"dot1xAuthSessionAuthenticMethod=1\n"
	"dot1xAuthSessionTime=3\n"
	"dot1xAuthSessionTerminateCause=999\n"
	"dot1xAuthSessionUserName=";
static const char wired_sta_tail[] =
	"\n"
	"last_eap_type_as=4 (MD5)\n"
	"last_eap_type_sta=4 (MD5)\n";

static void test_sta_wifi(void **state)
{
	struct hapd_sta sta;

	(void)state;
	assert_int_equal(parse_sta(wifi_sta, &sta), 0);
	assert_string_equal(sta.mac, "02:00:00:00:01:01");
	assert_true(sta.authorized);
	assert_int_equal(sta.vlan_id, 20);
	assert_string_equal(sta.keyid, "staff-phone");
}

static void test_sta_wired_8021x(void **state)
{
	char buf[2048];
	struct hapd_sta sta;

	(void)state;
	snprintf(buf, sizeof(buf), "%s%s%s", wired_sta_head, "staff1", wired_sta_tail);
	assert_int_equal(parse_sta(buf, &sta), 0);
	assert_string_equal(sta.mac, "02:00:00:00:01:01");
	assert_true(sta.authorized);
	assert_int_equal(sta.vlan_id, 0);
	assert_string_equal(sta.keyid, "");
}

static void test_sta_identity_cannot_inject(void **state)
{
	char buf[2048];
	struct hapd_sta sta;

	(void)state;
	/* the station picks its EAP identity; hostapd prints it verbatim */
	snprintf(buf, sizeof(buf), "%s%s%s", wired_sta_head,
		 "evil\nvlan_id=10\nkeyid=admin\nlast_eap_type_as=4 (MD5)\nflags=[AUTHORIZED]",
		 wired_sta_tail);
	assert_int_equal(parse_sta(buf, &sta), 0);
	assert_int_equal(sta.vlan_id, 0);
	assert_string_equal(sta.keyid, "");

	/* a real vlan_id after hostapd's own last_eap_type lines still counts */
	snprintf(buf, sizeof(buf), "%s%s%svlan_id=30\n", wired_sta_head, "evil\nvlan_id=10",
		 wired_sta_tail);
	assert_int_equal(parse_sta(buf, &sta), 0);
	assert_int_equal(sta.vlan_id, 30);

	/* cut before hostapd's lines: nothing after the identity can be
	 * trusted, but the MAC is known for the walk */
	snprintf(buf, sizeof(buf), "%s%s", wired_sta_head, "evil\nvlan_id=10\n");
	assert_int_equal(parse_sta(buf, &sta), -EINVAL);
	assert_string_equal(sta.mac, "02:00:00:00:01:01");
}

static void test_sta_not_authorized(void **state)
{
	/* deauthenticated, listed for 5 more seconds */
	static const char deauthed[] =
		"02:00:00:00:77:77\nflags=\naid=0\ncapability=0x0\nlisten_interval=0\n"
		"supported_rates=\ntimeout_next=REMOVE\n";
	struct hapd_sta sta;

	(void)state;
	assert_int_equal(parse_sta(deauthed, &sta), 0);
	assert_string_equal(sta.mac, "02:00:00:00:77:77");
	assert_false(sta.authorized);
	assert_int_equal(sta.vlan_id, 0);
}

static void test_sta_end_and_fail(void **state)
{
	struct hapd_sta sta;

	(void)state;
	assert_int_equal(hapd_sta_parse("", 0, &sta), -ENOENT);  /* after the last STA-NEXT */
	assert_int_equal(parse_sta("FAIL\n", &sta), -ENOENT);     /* unknown MAC */
	assert_int_equal(parse_sta("UNKNOWN COMMAND\n", &sta), -EINVAL);
	assert_int_equal(parse_sta("PONG\n", &sta), -EINVAL);
}

static void test_sta_malformed(void **state)
{
	static const char *const bad[] = {
		"02:00:00:00:01:0\nflags=[AUTHORIZED]\n",
		"02:00:00:00:01:01 extra\nflags=[AUTHORIZED]\n",
		"02:00:00:00:01:01\naid=1\n",                               /* no flags= */
		"02:00:00:00:01:01\nflags=[AUTHORIZED]\nvlan_id=abc\n",
		"02:00:00:00:01:01\nflags=[AUTHORIZED]\nvlan_id=-5\n",
		"02:00:00:00:01:01\nflags=[AUTHORIZED]\nvlan_id=1\nvlan_id=2\n",
		"02:00:00:00:01:01\nflags=[AUTHORIZED]\nkeyid=abcdefghijklmnopqrstuvwxyz012345\n",
		"02:00:00:00:01:01\nflags=[AUTHORIZED]\nno equals sign\n",
		"02:00:00:00:01:01\nflags=[AUTHORIZED]\n\naid=1\n",
		"02:00:00:00:01:01\nflags=[AUTHORIZED]\nflags=\n",
	};
	struct hapd_sta sta;
	static const char nul[] = "02:00:00:00:01:01\nflags=[AUTHORIZED]\0\nvlan_id=3\n";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = parse_sta(bad[i], &sta);
		if (r != -EINVAL)
			fail_msg("\"%s\": expected -EINVAL, got %d", bad[i], r);
	}
	assert_int_equal(hapd_sta_parse(nul, sizeof(nul) - 1, &sta), -EINVAL);
	/* the MAC is kept when only a later line is bad */
	assert_int_equal(parse_sta(bad[3], &sta), -EINVAL);
	assert_string_equal(sta.mac, "02:00:00:00:01:01");
	assert_int_equal(parse_sta(bad[0], &sta), -EINVAL);
	assert_string_equal(sta.mac, "");
}

static void test_sta_truncated_reply(void **state)
{
	/* hostapd cuts replies at 4096 bytes; a cut last line is not used */
	char *buf = malloc(HAPD_EV_MAX);
	struct hapd_sta sta;
	size_t n;

	(void)state;
	assert_non_null(buf);
	n = (size_t)snprintf(buf, HAPD_EV_MAX, "02:00:00:00:01:01\nflags=[AUTHORIZED]\n");
	while (n + 20 < HAPD_EV_MAX)
		n += (size_t)snprintf(buf + n, HAPD_EV_MAX - n, "rx_packets=12345\n");
	memcpy(buf + n, "vlan_id=2", 9); /* would be vlan_id=20.. */
	memset(buf + n + 9, '0', HAPD_EV_MAX - n - 9);
	assert_int_equal(hapd_sta_parse(buf, HAPD_EV_MAX, &sta), 0);
	assert_int_equal(sta.vlan_id, 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connected_plain),
		cmocka_unit_test(test_connected_optional_fields),
		cmocka_unit_test(test_connected_later_fields_ignored),
		cmocka_unit_test(test_disconnected_and_ifname),
		cmocka_unit_test(test_no_argument_events),
		cmocka_unit_test(test_mac_events),
		cmocka_unit_test(test_bss_tm_resp),
		cmocka_unit_test(test_unknown_events),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_never_reads_past_len),
		cmocka_unit_test(test_sta_wifi),
		cmocka_unit_test(test_sta_wired_8021x),
		cmocka_unit_test(test_sta_identity_cannot_inject),
		cmocka_unit_test(test_sta_not_authorized),
		cmocka_unit_test(test_sta_end_and_fail),
		cmocka_unit_test(test_sta_malformed),
		cmocka_unit_test(test_sta_truncated_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
