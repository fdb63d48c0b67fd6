/* hapd_ev.h - hostapd 2.10 control-interface text: unsolicited events and
 * STA replies, parsed into typed structs. Pure functions, no I/O.
 *
 * Event datagrams look like "<3>AP-STA-CONNECTED 02:00:00:00:01:01 keyid=k1",
 * optionally prefixed "IFNAME=wlan0 " (global control interface).
 * See shared/reference/platform-notes.md A5/A6 for the formats.
 */
#ifndef APGATE_HAPD_EV_H
#define APGATE_HAPD_EV_H

#include <stdbool.h>
#include <stddef.h>

#define HAPD_EV_MAX 4096     /* hostapd never sends a larger datagram */
#define HAPD_KEYID_MAX 32    /* keyid is at most 31 chars + NUL */

enum hapd_ev_type {
	HAPD_EV_STA_CONNECTED,     /* AP-STA-CONNECTED <mac>[ p2p_dev_addr=][ ip_addr=][ keyid=] */
	HAPD_EV_STA_DISCONNECTED,  /* AP-STA-DISCONNECTED <mac>[ p2p_dev_addr=] */
	HAPD_EV_EAP_STARTED,       /* CTRL-EVENT-EAP-STARTED <mac> */
	HAPD_EV_EAP_SUCCESS,       /* CTRL-EVENT-EAP-SUCCESS(2) <mac> */
	HAPD_EV_EAP_FAILURE,       /* CTRL-EVENT-EAP-FAILURE(2) / -TIMEOUT-FAILURE(2) <mac> */
	HAPD_EV_AP_ENABLED,        /* AP-ENABLED */
	HAPD_EV_AP_DISABLED,       /* AP-DISABLED */
	HAPD_EV_TERMINATING,       /* CTRL-EVENT-TERMINATING */
	HAPD_EV_BSS_TM_RESP,       /* BSS-TM-RESP <mac> status_code= bss_termination_delay=[ target_bssid=] */
	HAPD_EV_REJECTED_BLOCKED,  /* AP-REJECTED-BLOCKED-STA <mac> */
	HAPD_EV_REJECTED_MAX,      /* AP-REJECTED-MAX-STA <mac> */
	HAPD_EV_PSK_MISMATCH,      /* AP-STA-POSSIBLE-PSK-MISMATCH <mac> */
	HAPD_EV_4WAY_DONE,         /* EAPOL-4WAY-HS-COMPLETED <mac> */
	HAPD_EV_IGNORED,           /* well-formed and known, of no use to apgate
				      (EAP-PROPOSED-METHOD, INTERFACE-ENABLED, ...) */
};

struct hapd_ev {
	enum hapd_ev_type type;
	int level;                  /* the <N> priority */
	char ifname[32];            /* from an "IFNAME=" prefix, else "" */
	char name[48];              /* event name as received, e.g. "AP-STA-CONNECTED" */
	char mac[18];               /* canonical; "" for events without a MAC */
	char p2p_dev_addr[18];      /* "" if absent */
	char ip_addr[16];           /* "" if absent */
	char keyid[HAPD_KEYID_MAX]; /* "" if absent */
	int status_code;            /* BSS-TM-RESP */
	int bss_termination_delay;  /* BSS-TM-RESP */
	char target_bssid[18];      /* BSS-TM-RESP, "" if absent */
};

/* Parses one datagram (not necessarily NUL-terminated, may end in '\n').
 * Returns 0 and fills *ev; -ENOMSG for a well-formed event apgate does not
 * know; -EINVAL for a malformed one (no "<N>" prefix, bad MAC, bad field,
 * embedded NUL or other control character); -EMSGSIZE when len >
 * HAPD_EV_MAX. Never reads past len.
 * On -ENOMSG, and on -EINVAL for a known event name, ev->name (truncated to
 * fit), ev->level and ev->ifname are still set, for the caller's log line.
 * Events of known names are checked strictly; unknown key=value fields are
 * ignored only where later hostapd versions add some (AP-STA-CONNECTED,
 * AP-STA-DISCONNECTED, BSS-TM-RESP). */
int hapd_ev_parse(const char *buf, size_t len, struct hapd_ev *ev);
const char *hapd_ev_type_name(enum hapd_ev_type t);

/* One station from a STA / STA-FIRST / STA-NEXT reply. */
struct hapd_sta {
	char mac[18];
	bool authorized;            /* flags=[...AUTHORIZED...] */
	int vlan_id;                /* 0 when the reply has no vlan_id= line */
	char keyid[HAPD_KEYID_MAX]; /* "" if absent */
	bool btm;                   /* ext_capab= has bit 19: BSS Transition (802.11v) */
};
/* Parses a STA reply. Returns 0; -ENOENT for an empty reply (end of the
 * STA-NEXT walk) or "FAIL"; -EINVAL for anything malformed. On -EINVAL
 * sta->mac still holds the MAC when the first line was one, so a STA-NEXT
 * walk can step over a station it cannot read.
 * The EAP identity hostapd prints in dot1xAuthSessionUserName= is the
 * station's own text and may contain newlines; lines between it and
 * hostapd's following last_eap_type_as= line are never taken as fields. */
int hapd_sta_parse(const char *buf, size_t len, struct hapd_sta *sta);

/* One BSS's radio as a STATUS reply shows it. */
struct hapd_status {
	char bssid[18];     /* of the BSS named ifname ("bss[i]=" / "bssid[i]=") */
	unsigned freq;      /* MHz, 0 on driver=wired */
	unsigned channel;
	bool ht, vht;       /* ieee80211n=1, ieee80211ac=1 */
};
/* Parses a STATUS reply for the BSS ifname. 0; -ENOENT when ifname is not
 * among the reply's bss[i] lines; -EINVAL for anything malformed. */
int hapd_status_parse(const char *buf, size_t len, const char *ifname, struct hapd_status *st);

#endif
