/* priv_msg.h - the messages between apgated and its privileged helper.
 *
 * A SOCK_SEQPACKET socketpair: one datagram = one message. Every message
 * is a fixed C struct starting with struct priv_hdr; its length (the
 * datagram's and hdr.len, which must agree) must be exactly the size of
 * its type's struct. Every request gets exactly one struct priv_rep with
 * the request's seq. No field carries rule text or a free-form string:
 * interface names are fixed 16-byte fields (NUL-terminated, zero-padded)
 * that the helper accepts only when they are configured ones; MACs are 6
 * bytes; accesses and flags are small enums checked by range.
 *
 * The firewall table is sent in pieces: SYNC_BEGIN(total), SYNC_DEVS
 * (up to PRIV_DEVS_PER_MSG entries each) until total entries arrived,
 * SYNC_END, which rebuilds. Any other request in between drops the
 * unfinished table.
 */
#ifndef APGATE_PRIV_MSG_H
#define APGATE_PRIV_MSG_H

#include <stdint.h>

#include "io/fw.h"

enum priv_type {
	PRIV_PING = 1,        /* struct priv_empty */
	PRIV_RELOAD,          /* struct priv_reload: re-read the configuration */
	PRIV_FW_SYNC_BEGIN,   /* struct priv_fw_sync_begin */
	PRIV_FW_SYNC_DEVS,    /* struct priv_fw_sync_devs */
	PRIV_FW_SYNC_END,     /* struct priv_empty */
	PRIV_FW_UPDATE,       /* struct priv_fw_update */
	PRIV_FW_CHECK,        /* struct priv_empty; the reply carries chains */
	PRIV_BR_ISOLATE,      /* struct priv_br_isolate */
	PRIV_PORT_MOVE,       /* struct priv_port_move */
	PRIV_TYPE_END,
	PRIV_REP = 0x100,     /* struct priv_rep (helper -> apgated) */
};

struct priv_hdr {
	uint32_t type;        /* enum priv_type */
	uint32_t len;         /* the whole message, bytes */
	uint32_t seq;         /* echoed in the reply */
	uint32_t zero;        /* must be 0 */
};

#define PRIV_IFNAMSIZ 16
#define PRIV_DEVS_MAX 65536    /* devices in one table */
#define PRIV_DEVS_PER_MSG 256

struct priv_dev {
	uint8_t mac[6];       /* unicast */
	uint8_t access;       /* enum fw_verdict: FW_ONBOARDING..FW_BLOCKED */
	uint8_t zero;
};

struct priv_empty {
	struct priv_hdr h;
};

struct priv_reload {
	struct priv_hdr h;
	uint32_t log_level;   /* enum log_level, apgated's after the reload */
	uint32_t zero;
};

struct priv_fw_sync_begin {
	struct priv_hdr h;
	uint32_t total;       /* 0..PRIV_DEVS_MAX */
	uint32_t zero;
};

struct priv_fw_sync_devs {
	struct priv_hdr h;
	uint32_t n;           /* 1..PRIV_DEVS_PER_MSG; entries past n are zero */
	uint32_t zero;
	struct priv_dev dev[PRIV_DEVS_PER_MSG];
};

struct priv_fw_update {
	struct priv_hdr h;
	struct priv_dev dev;
};

struct priv_br_isolate {
	struct priv_hdr h;
	char bridge[PRIV_IFNAMSIZ]; /* the configured guest zone's interface */
	int32_t ifindex;            /* > 0: a port of that bridge */
	uint32_t zero;
};

struct priv_port_move {
	struct priv_hdr h;
	char port[PRIV_IFNAMSIZ];   /* one of [network] wired_ports */
	char bridge[PRIV_IFNAMSIZ]; /* one of the configured zones' interfaces */
	uint8_t bounce;             /* 0 or 1 */
	uint8_t zero[7];
};

/* One chain of fw_check(); the static strings of struct fw_check_chain
 * travel as indexes. */
struct priv_chain {
	uint8_t family;       /* 4 or 6 */
	uint8_t table;        /* enum fw_tid */
	uint8_t hook;         /* 0 none, else index + 1 into the built-in chain names */
	uint8_t planned, present;
	uint8_t zero[3];
	char chain[32];
	uint32_t rules, want_rules, hook_pos, hook_jumps;
};

struct priv_rep {
	struct priv_hdr h;    /* type PRIV_REP, seq of the request */
	int32_t result;       /* 0, 1 (a move that moved) or a negative errno */
	uint32_t n;           /* PRIV_FW_CHECK: chains[0..n) */
	struct priv_chain chains[FW_CHECK_MAX];
};

#endif
