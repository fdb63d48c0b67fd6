/* hapd_peer.h - a test double for one hostapd 2.10 BSS control socket.
 *
 * It speaks the per-BSS control-interface protocol byte for byte
 * (shared/reference/platform-notes.md A1, A5, A6, B): an AF_UNIX datagram
 * socket at <dir>/<ifname> (mode 0770), one command per datagram, one reply
 * datagram to the sender's address, events "<3>TEXT" to every attached
 * monitor. It exists for what this machine cannot produce with the real
 * hostapd (driver=wired has no Wi-Fi stations, VLANs, keyid or BSS-TM).
 *
 * Commands and replies, as hostapd 2.10 gives them:
 *   PING                        PONG\n
 *   ATTACH[ opts] / DETACH      OK\n (DETACH of an unknown monitor: FAIL\n)
 *   LEVEL <n>                   OK\n (FAIL\n if the sender is not attached)
 *   STA-FIRST / STA-NEXT <mac>  the station's MIB text, an empty datagram
 *                               after the last one, FAIL\n for an unknown MAC
 *   STA <mac>                   MIB text, FAIL\n for unknown or bad MAC
 *   NEW_STA <mac>               OK\n, adds an authorized station and emits
 *                               AP-STA-CONNECTED (as on an open BSS)
 *   DEAUTHENTICATE / DISASSOCIATE <mac>[ reason=][ tx=0]
 *                               OK\n even for unknown MACs, FAIL\n for a bad
 *                               one; an authorized station gets
 *                               AP-STA-DISCONNECTED at once and stays
 *                               listed (flags=, timeout_next=REMOVE) for the
 *                               remove delay; ff:ff:ff:ff:ff:ff flushes all
 *   ACCEPT_ACL / DENY_ACL ADD_MAC <mac>[ VLAN_ID=<n>] | DEL_MAC <mac> |
 *                         SHOW | CLEAR
 *                               2.10 semantics: ADD_MAC of a listed MAC is a
 *                               no-op, SHOW prints "<mac> VLAN_ID=<n>\n"
 *                               sorted, unknown sub-commands answer OK\n;
 *                               ACCEPT_ACL DEL_MAC/CLEAR kick stations no
 *                               longer allowed when macaddr_acl=1, DENY_ACL
 *                               ADD_MAC kicks a matching station
 *   BSS_TM_REQ <mac> ...        OK\n, FAIL\n for an unknown station;
 *                               optionally answered with BSS-TM-RESP
 *   STATUS                      hostapd 2.10's status text (driver=wired
 *                               layout) with this BSS as bss[0]
 *   RELOAD_WPA_PSK              OK\n (no PSKs are kept here)
 *   anything else               UNKNOWN COMMAND\n
 *
 * Events go out without blocking the loop: each monitor has a queue that
 * drains as fast as its socket accepts (a full socket is retried every
 * millisecond), so a test can run the client and the peer in one process.
 * Replies that meet a full send buffer wait in a queue of their own, in
 * order (hostapd would block in sendto() until they fit, not lose them).
 * hostapd 2.10 itself sends with a blocking sendmsg() and freezes while a
 * monitor does not read; peer_set_blocking(true) reproduces that, for a peer
 * running in a process of its own (fakehapd --blocking). As in hostapd, a
 * monitor whose socket file is gone (ENOENT) is dropped at once, one that
 * fails more than 10 sends in a row is dropped too.
 *
 * Single-threaded, on the caller's libevent loop. No global state.
 */
#ifndef APGATE_HAPD_PEER_H
#define APGATE_HAPD_PEER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct hapd_peer;

/* Binds <dir>/<ifname> like hostapd: dir is created (0770) if missing, a
 * leftover socket nobody answers on is replaced, a live one gives
 * -EADDRINUSE; the socket is chmod 0770. dir and ifname are copied.
 * Returns 0 and *out, owned by the caller (peer_free()), or -errno. */
int peer_new(struct event_base *base, const char *dir, const char *ifname,
	     struct hapd_peer **out);
/* Closes and unlinks the socket without a word to the monitors, as when
 * hostapd is killed. Queued events are lost. NULL is allowed. */
void peer_free(struct hapd_peer *p);
/* hostapd's SIGTERM path: AP-STA-DISCONNECTED for every authorized station,
 * "AP-DISABLED ", "CTRL-EVENT-TERMINATING ", a best-effort flush of the
 * queues, then peer_free(). */
void peer_terminate(struct hapd_peer *p);

const char *peer_ifname(const struct hapd_peer *p);
/* The socket path (valid until peer_free). */
const char *peer_path(const struct hapd_peer *p);

/* ---- stations (listed newest first, as hostapd's sta_list) ---- */

/* Adds an authorized station silently (no event). vlan_id 0 = none; keyid
 * NULL or "" = none, else at most 31 characters. -EINVAL for a bad MAC or
 * keyid, -EEXIST if listed. */
int peer_add_sta(struct hapd_peer *p, const char *mac, int vlan_id, const char *keyid);
/* peer_add_sta() followed by AP-STA-CONNECTED <mac>[ keyid=<keyid>]. */
int peer_connect_sta(struct hapd_peer *p, const char *mac, int vlan_id, const char *keyid);
/* Whether the station advertises BSS Transition (802.11v) in its STA
 * reply's ext_capab= (default no). -ENOENT if not listed. */
int peer_set_sta_btm(struct hapd_peer *p, const char *mac, bool btm);
/* What STATUS reports: the BSSID (default 02:00:00:00:ff:00), frequency
 * and channel (default 0 and 0, as on driver=wired), ieee80211n. */
void peer_set_radio(struct hapd_peer *p, const char *bssid, unsigned freq, unsigned channel, bool ht);
/* Removes a station: silently, or with AP-STA-DISCONNECTED <mac> if it was
 * authorized. -ENOENT if not listed. */
int peer_del_sta(struct hapd_peer *p, const char *mac);
int peer_disconnect_sta(struct hapd_peer *p, const char *mac);
/* Makes the station an 802.1X one: its MIB text then carries the dot1x
 * lines with dot1xAuthSessionUserName=<identity> printed verbatim, as
 * hostapd does (the identity may contain newlines). Copied. */
int peer_set_sta_identity(struct hapd_peer *p, const char *mac, const char *identity);
unsigned peer_n_stas(const struct hapd_peer *p);
/* 1 if MAC is listed and authorized, 0 if listed but not (kicked, waiting
 * for removal), -ENOENT if not listed or not a MAC. */
int peer_sta_authorized(const struct hapd_peer *p, const char *mac);

/* ---- events ---- */

/* Queues "<3>" + text (no newline added) for every attached monitor whose
 * level admits MSG_INFO. Returns the number of monitors it was queued for. */
int peer_emit(struct hapd_peer *p, const char *text);
/* Queues exactly these bytes for every monitor (for malformed input). */
int peer_emit_raw(struct hapd_peer *p, const void *buf, size_t len);
unsigned peer_n_monitors(const struct hapd_peer *p);
/* Called after every ATTACH from a new address (not on a re-ATTACH), once
 * the OK went out. cb must not free the peer. */
void peer_set_attach_cb(struct hapd_peer *p, void (*cb)(struct hapd_peer *p, void *ud),
			void *ud);
/* Called with every command before it is handled, so a test can change the
 * peer's state at an exact point of a conversation. cb must not free the
 * peer. */
void peer_set_command_cb(struct hapd_peer *p,
			 void (*cb)(struct hapd_peer *p, const char *cmd, void *ud), void *ud);

/* ---- behaviour ---- */

/* true: stop reading commands (they wait in the socket) and stop sending
 * events (they wait in the queues), like a hostapd busy in a long
 * computation; false: resume, answering what waited, in order. */
void peer_set_stall(struct hapd_peer *p, bool stall);
/* Blocking event sends, as hostapd 2.10. Only for a peer in its own process:
 * in the client's process it would deadlock. */
void peer_set_blocking(struct hapd_peer *p, bool blocking);
/* macaddr_acl: 0 = accept unless denied (default), 1 = deny unless accepted. */
void peer_set_macaddr_acl(struct hapd_peer *p, int macaddr_acl);
/* How long a deauthenticated station stays listed (default 5000 ms). */
void peer_set_remove_delay(struct hapd_peer *p, unsigned ms);
/* status >= 0: answer every accepted BSS_TM_REQ with
 * "BSS-TM-RESP <mac> status_code=<status> bss_termination_delay=0"
 * (+ " target_bssid=<bssid>" for status 0); -1 (default): no answer. */
void peer_set_bss_tm_resp(struct hapd_peer *p, int status);

/* ---- what the peer saw ---- */

/* Every command received, in order, as hostapd reads it (up to the first
 * NUL). The array and strings stay valid until the next command is read,
 * peer_clear_commands() or peer_free(). */
const char *const *peer_commands(const struct hapd_peer *p, size_t *n);
void peer_clear_commands(struct hapd_peer *p);

struct peer_stats {
	unsigned long commands;        /* datagrams read */
	unsigned long events_queued;   /* datagrams queued for monitors */
	unsigned long events_sent;     /* accepted by a monitor's socket */
	unsigned long events_dropped;  /* lost: send error or monitor dropped */
	unsigned long events_pending;  /* still queued */
	unsigned monitors;
};
void peer_get_stats(const struct hapd_peer *p, struct peer_stats *st);

#endif
