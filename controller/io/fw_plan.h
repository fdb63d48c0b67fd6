/* fw_plan.h - the firewall plan: the rules of one table as plain structures.
 *
 * fw.c builds it from a struct fw_net and the device list; fw_render() prints
 * it in iptables-save syntax and the kernel backend (fw_iptc.c) encodes the
 * same structures into ipt_entry/ip6t_entry. A rule holds only what apgate
 * uses, and its matches are always emitted (and printed) in one order:
 * mac, mark, conntrack, connmark, tcp/udp, icmp6 — so rendered text and
 * `iptables-legacy-save` output agree line by line.
 *
 * For backends and tests; callers of the module use fw.h only.
 */
#ifndef APGATE_FW_PLAN_H
#define APGATE_FW_PLAN_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fw.h"

enum fw_target {
	FW_T_ACCEPT,
	FW_T_DROP,
	FW_T_RETURN,
	FW_T_JUMP,          /* to rule.jump */
	FW_T_MARK,          /* MARK rev 2 --set-xmark tval/FW_MARK_MASK */
	FW_T_CONNMARK_SAVE, /* CONNMARK rev 2 --save-mark, masks FW_MARK_MASK */
	FW_T_REJECT_RST,    /* REJECT --reject-with tcp-reset */
	FW_T_DNAT,          /* DNAT rev 2 --to-destination dnat_addr:dnat_port */
	FW_T_MASQUERADE,
};

enum fw_match_mark { FW_MM_NONE, FW_MM_EQ, FW_MM_NE };

#define FW_CT_ESTREL 1 /* conntrack --ctstate RELATED,ESTABLISHED */

union fw_addr {
	struct in_addr v4;
	struct in6_addr v6;
};

struct fw_rule {
	/* the ip/ip6 header part */
	bool has_src, has_dst;
	union fw_addr src, dst; /* already masked */
	uint8_t src_len, dst_len;
	char in[IFNAMSIZ], out[IFNAMSIZ]; /* "" = any */
	uint8_t proto;                     /* 0 = any, IPPROTO_TCP/UDP/ICMPV6 */
	/* matches, in this order */
	bool has_mac;
	uint8_t mac[6];
	enum fw_match_mark mark;           /* mark rev 1 */
	uint32_t mark_val;                 /* under FW_MARK_MASK */
	uint8_t ctstate;                   /* conntrack rev 3, FW_CT_* */
	enum fw_match_mark connmark;       /* connmark rev 1 */
	uint32_t connmark_val;
	uint16_t dport;                    /* tcp/udp rev 0 (needs proto); 0 = none */
	int icmp6_type;                    /* icmp6 rev 0; -1 = none */
	/* target */
	enum fw_target target;
	const char *jump;                  /* FW_T_JUMP: a chain of the same table */
	uint32_t mark_set;                 /* FW_T_MARK */
	struct in_addr dnat_addr;          /* FW_T_DNAT */
	uint16_t dnat_port;
};

#define FW_CHAINS_MAX 8

struct fw_chain {
	const char *name;      /* APGATE_..., static storage */
	const char *hook;      /* built-in chain that jumps here, or NULL */
	struct fw_rule *rules;
	unsigned n, cap;
};

struct fw_table {
	int family;            /* AF_INET, AF_INET6 */
	const char *name;      /* "mangle", "nat", "filter" */
	struct fw_chain chains[FW_CHAINS_MAX]; /* sorted by name (iptables-save order) */
	unsigned n_chains;
};

/* The tables apgate writes, in commit order. */
enum fw_tid { FW_TID_MANGLE, FW_TID_NAT, FW_TID_FILTER, FW_TID_N };

/* Builds table tid of family from net and devs (devs sorted by MAC, no
 * duplicates: fw.c checks). An IPv6 nat table is built empty (apgate uses
 * no IPv6 NAT). Returns 0 or -ENOMEM; release with fw_table_clear(). */
int fw_plan_table(struct fw_table *t, int family, enum fw_tid tid, const struct fw_net *net,
		  const struct fw_dev *devs, unsigned n);
void fw_table_clear(struct fw_table *t);
/* Checks net: 0 or -EINVAL. */
int fw_net_check(const struct fw_net *net);
/* Prints t in iptables-save syntax ("*name" ... "COMMIT"). */
int fw_table_print(const struct fw_table *t, FILE *out);
/* Prints one rule as iptables-save does, after "-A <chain> ". */
void fw_rule_print(const struct fw_rule *r, int family, FILE *out);
/* Table names by id. */
const char *fw_tid_name(enum fw_tid tid);

#endif
