/* fw_iptc.c - the kernel backend of fw: libiptc (IPv4) and libip6tc (IPv6).
 *
 * One table change = iptc_init, edits, iptc_commit: the kernel replaces the
 * whole table in one setsockopt, atomically for packets. The xtables lock
 * (flock on /run/xtables.lock, as iptables-legacy takes it) is held from
 * init to commit; the kernel still answers EAGAIN when someone who ignores
 * the lock changed the rule count meanwhile, and then the whole step is
 * redone on a fresh snapshot.
 *
 * Edits, always the same: every jump to an APGATE_ chain is removed from
 * the built-in chains, every APGATE_ chain is flushed, those the plan does
 * not have are deleted, the plan's chains are created where missing and
 * filled, and each hook jump is inserted at position 1. Nothing else in the
 * table is touched.
 *
 * Rules are encoded with the match/target revisions iptables 1.8.9 itself
 * uses, so that iptables-legacy-save prints them normally: mac 0, mark 1,
 * conntrack 3, connmark 1, tcp/udp 0, icmp6 0, MARK 2, CONNMARK 2, REJECT 0,
 * DNAT 2, MASQUERADE 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>

#include <libiptc/libip6tc.h>
#include <libiptc/libiptc.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/xt_connmark.h>
#include <linux/netfilter/xt_conntrack.h>
#include <linux/netfilter/xt_mac.h>
#include <linux/netfilter/xt_mark.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/netfilter_ipv6/ip6t_REJECT.h>

#include "fw.h"
#include "fw_plan.h"
#include "log.h"
#include "util.h"

#define LOCK_PATH "/run/xtables.lock"
#define LOCK_WAIT_MS 5000  /* then -ETIMEDOUT */
#define EAGAIN_RETRIES 10
#define ENTRY_MAX 1024     /* one encoded rule; the largest is ~500 bytes */

/* ---- the two libraries behind one table of functions ---- */

struct fam {
	int family;
	size_t entry_size;
	struct xtc_handle *(*init)(const char *);
	void (*free)(struct xtc_handle *);
	int (*commit)(struct xtc_handle *);
	int (*is_chain)(const char *, struct xtc_handle *const);
	int (*builtin)(const char *, struct xtc_handle *const);
	const char *(*first_chain)(struct xtc_handle *);
	const char *(*next_chain)(struct xtc_handle *);
	const void *(*first_rule)(const char *, struct xtc_handle *);
	const void *(*next_rule)(const void *, struct xtc_handle *);
	const char *(*get_target)(const void *, struct xtc_handle *);
	int (*create_chain)(const xt_chainlabel, struct xtc_handle *);
	int (*delete_chain)(const xt_chainlabel, struct xtc_handle *);
	int (*flush_entries)(const xt_chainlabel, struct xtc_handle *);
	int (*insert_entry)(const xt_chainlabel, const void *, unsigned, struct xtc_handle *);
	int (*append_entry)(const xt_chainlabel, const void *, struct xtc_handle *);
	int (*delete_num_entry)(const xt_chainlabel, unsigned, struct xtc_handle *);
	const char *(*strerror)(int);
};

/* Wrappers for the functions whose entry type differs between families. */
#define FAM_WRAPPERS(P, E)                                                                      \
	static const void *P##_first_rule_w(const char *c, struct xtc_handle *h)                \
	{                                                                                       \
		return P##_first_rule(c, h);                                                    \
	}                                                                                       \
	static const void *P##_next_rule_w(const void *e, struct xtc_handle *h)                 \
	{                                                                                       \
		return P##_next_rule(e, h);                                                     \
	}                                                                                       \
	static const char *P##_get_target_w(const void *e, struct xtc_handle *h)                \
	{                                                                                       \
		return P##_get_target(e, h);                                                    \
	}                                                                                       \
	static int P##_insert_entry_w(const xt_chainlabel c, const void *e, unsigned n,         \
				      struct xtc_handle *h)                                     \
	{                                                                                       \
		return P##_insert_entry(c, e, n, h);                                            \
	}                                                                                       \
	static int P##_append_entry_w(const xt_chainlabel c, const void *e, struct xtc_handle *h) \
	{                                                                                       \
		return P##_append_entry(c, e, h);                                               \
	}
FAM_WRAPPERS(iptc, struct ipt_entry)
FAM_WRAPPERS(ip6tc, struct ip6t_entry)

#define FAM(P, F, E)                                                                            \
	{                                                                                       \
		.family = F, .entry_size = sizeof(E), .init = P##_init, .free = P##_free,       \
		.commit = P##_commit, .is_chain = P##_is_chain, .builtin = P##_builtin,         \
		.first_chain = P##_first_chain, .next_chain = P##_next_chain,                   \
		.first_rule = P##_first_rule_w, .next_rule = P##_next_rule_w,                   \
		.get_target = P##_get_target_w, .create_chain = P##_create_chain,               \
		.delete_chain = P##_delete_chain, .flush_entries = P##_flush_entries,           \
		.insert_entry = P##_insert_entry_w, .append_entry = P##_append_entry_w,         \
		.delete_num_entry = P##_delete_num_entry, .strerror = P##_strerror,             \
	}

static const struct fam fam4 = FAM(iptc, AF_INET, struct ipt_entry);
static const struct fam fam6 = FAM(ip6tc, AF_INET6, struct ip6t_entry);

static const struct fam *fam_of(int family)
{
	return family == AF_INET ? &fam4 : family == AF_INET6 ? &fam6 : NULL;
}

/* Chain names go through a full xt_chainlabel: the library may read 32 bytes. */
static void label(xt_chainlabel out, const char *s)
{
	memset(out, 0, sizeof(xt_chainlabel));
	util_strlcpy(out, s, sizeof(xt_chainlabel));
}

static bool ours(const char *chain)
{
	return strncmp(chain, FW_CHAIN_PREFIX, strlen(FW_CHAIN_PREFIX)) == 0;
}

/* ---- the xtables lock ---- */

static int lock_take(void)
{
	const char *path = getenv("XTABLES_LOCKFILE");
	int fd = open(path && *path ? path : LOCK_PATH, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	long long deadline;

	if (fd < 0)
		return -errno;
	deadline = util_mono_ms() + LOCK_WAIT_MS;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;
		if (e != EWOULDBLOCK && e != EINTR) {
			close(fd);
			return -e;
		}
		if (util_mono_ms() >= deadline) {
			close(fd);
			return -ETIMEDOUT;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	return fd; /* closing it releases the lock */
}

/* ---- encoding ---- */

struct enc {
	unsigned char buf[ENTRY_MAX] __attribute__((aligned(8)));
	size_t len;
};

/* Appends a match or the target (xt_entry_match and xt_entry_target share
 * their header layout) with data bytes of payload; returns the payload. */
static void *enc_add(struct enc *e, const char *name, uint8_t rev, size_t data)
{
	size_t size = XT_ALIGN(sizeof(struct xt_entry_match)) + XT_ALIGN(data);
	struct xt_entry_match *m = (void *)(e->buf + e->len);

	m->u.match_size = (uint16_t)size;
	util_strlcpy(m->u.user.name, name, sizeof(m->u.user.name));
	m->u.user.revision = rev;
	e->len += size;
	return m->data;
}

static void mark_info(void *p, enum fw_match_mark k, uint32_t v)
{
	struct xt_mark_mtinfo1 *mi = p; /* same layout as xt_connmark_mtinfo1 */
	mi->mark = v;
	mi->mask = FW_MARK_MASK;
	mi->invert = k == FW_MM_NE;
}

static void set_iface(const char *name, char iface[IFNAMSIZ], unsigned char mask[IFNAMSIZ])
{
	size_t len = strlen(name);
	if (!len)
		return;
	memcpy(iface, name, len);
	memset(mask, 0xff, len + 1); /* exact name, NUL included (no '+' wildcard) */
}

static void mask6_of(struct in6_addr *m, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;
		m->s6_addr[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00u >> bits);
	}
}

/* Encodes r into e (zeroed by the caller). Returns 0 or -EINVAL. */
static int encode(const struct fam *f, const struct fw_rule *r, struct enc *e)
{
	if (f->family == AF_INET) {
		struct ipt_entry *ie = (void *)e->buf;
		if (r->has_src) {
			ie->ip.src = r->src.v4;
			ie->ip.smsk.s_addr = r->src_len ? htonl(~0u << (32 - r->src_len)) : 0;
		}
		if (r->has_dst) {
			ie->ip.dst = r->dst.v4;
			ie->ip.dmsk.s_addr = r->dst_len ? htonl(~0u << (32 - r->dst_len)) : 0;
		}
		set_iface(r->in, ie->ip.iniface, ie->ip.iniface_mask);
		set_iface(r->out, ie->ip.outiface, ie->ip.outiface_mask);
		ie->ip.proto = r->proto;
	} else {
		struct ip6t_entry *ie = (void *)e->buf;
		if (r->has_src) {
			ie->ipv6.src = r->src.v6;
			mask6_of(&ie->ipv6.smsk, r->src_len);
		}
		if (r->has_dst) {
			ie->ipv6.dst = r->dst.v6;
			mask6_of(&ie->ipv6.dmsk, r->dst_len);
		}
		set_iface(r->in, ie->ipv6.iniface, ie->ipv6.iniface_mask);
		set_iface(r->out, ie->ipv6.outiface, ie->ipv6.outiface_mask);
		if (r->proto) {
			ie->ipv6.proto = r->proto;
			ie->ipv6.flags |= IP6T_F_PROTO;
		}
	}
	e->len = f->entry_size;

	if (r->has_mac) {
		struct xt_mac_info *mi = enc_add(e, "mac", 0, sizeof(*mi));
		memcpy(mi->srcaddr, r->mac, 6);
	}
	if (r->mark)
		mark_info(enc_add(e, "mark", 1, sizeof(struct xt_mark_mtinfo1)), r->mark,
			  r->mark_val);
	if (r->ctstate & FW_CT_ESTREL) {
		struct xt_conntrack_mtinfo3 *ci = enc_add(e, "conntrack", 3, sizeof(*ci));
		ci->match_flags = XT_CONNTRACK_STATE;
		ci->state_mask = XT_CONNTRACK_STATE_BIT(IP_CT_ESTABLISHED) |
				 XT_CONNTRACK_STATE_BIT(IP_CT_RELATED);
	}
	if (r->connmark)
		mark_info(enc_add(e, "connmark", 1, sizeof(struct xt_connmark_mtinfo1)),
			  r->connmark, r->connmark_val);
	if (r->dport) {
		if (r->proto == IPPROTO_TCP) {
			struct xt_tcp *t = enc_add(e, "tcp", 0, sizeof(*t));
			t->spts[1] = 0xffff;
			t->dpts[0] = t->dpts[1] = r->dport;
		} else if (r->proto == IPPROTO_UDP) {
			struct xt_udp *u = enc_add(e, "udp", 0, sizeof(*u));
			u->spts[1] = 0xffff;
			u->dpts[0] = u->dpts[1] = r->dport;
		} else {
			return -EINVAL;
		}
	}
	if (r->icmp6_type >= 0) {
		struct ip6t_icmp *ic;
		if (f->family != AF_INET6 || r->proto != IPPROTO_ICMPV6)
			return -EINVAL;
		ic = enc_add(e, "icmp6", 0, sizeof(*ic));
		ic->type = (uint8_t)r->icmp6_type;
		ic->code[1] = 0xff;
	}

	size_t toff = e->len;
	switch (r->target) {
	case FW_T_ACCEPT:
	case FW_T_DROP:
	case FW_T_RETURN:
	case FW_T_JUMP: {
		const char *name = r->target == FW_T_ACCEPT ? "ACCEPT" :
				   r->target == FW_T_DROP   ? "DROP" :
				   r->target == FW_T_RETURN ? "RETURN" : r->jump;
		/* xt_standard_target: libiptc turns the name into a verdict or jump */
		enc_add(e, name, 0, sizeof(int));
		break;
	}
	case FW_T_MARK: {
		struct xt_mark_tginfo2 *mt = enc_add(e, "MARK", 2, sizeof(*mt));
		mt->mark = r->mark_set;
		mt->mask = FW_MARK_MASK;
		break;
	}
	case FW_T_CONNMARK_SAVE: {
		struct xt_connmark_tginfo2 *ct = enc_add(e, "CONNMARK", 2, sizeof(*ct));
		ct->ctmask = FW_MARK_MASK;
		ct->nfmask = FW_MARK_MASK;
		ct->mode = XT_CONNMARK_SAVE;
		break;
	}
	case FW_T_REJECT_RST:
		if (f->family == AF_INET) {
			struct ipt_reject_info *ri = enc_add(e, "REJECT", 0, sizeof(*ri));
			ri->with = IPT_TCP_RESET;
		} else {
			struct ip6t_reject_info *ri = enc_add(e, "REJECT", 0, sizeof(*ri));
			ri->with = IP6T_TCP_RESET;
		}
		break;
	case FW_T_DNAT: {
		struct nf_nat_range2 *nr;
		if (f->family != AF_INET)
			return -EINVAL;
		nr = enc_add(e, "DNAT", 2, sizeof(*nr));
		nr->flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
		nr->min_addr.ip = nr->max_addr.ip = r->dnat_addr.s_addr;
		nr->min_proto.tcp.port = nr->max_proto.tcp.port = htons(r->dnat_port);
		break;
	}
	case FW_T_MASQUERADE: {
		struct nf_nat_ipv4_multi_range_compat *mr;
		if (f->family != AF_INET)
			return -EINVAL;
		mr = enc_add(e, "MASQUERADE", 0, sizeof(*mr));
		mr->rangesize = 1;
		break;
	}
	default:
		return -EINVAL;
	}
	if (f->family == AF_INET) {
		struct ipt_entry *ie = (void *)e->buf;
		ie->target_offset = (uint16_t)toff;
		ie->next_offset = (uint16_t)e->len;
	} else {
		struct ip6t_entry *ie = (void *)e->buf;
		ie->target_offset = (uint16_t)toff;
		ie->next_offset = (uint16_t)e->len;
	}
	return 0;
}

/* ---- editing one snapshot ---- */

static int lib_err(const struct fam *f, const char *what, const char *chain)
{
	int e = errno ? errno : EPROTO;
	log_debug("fw: %s %s: %s", what, chain ? chain : "", f->strerror(errno));
	return -e;
}

/* Removes every jump to an APGATE_ chain from the built-in chains. */
static int unhook(const struct fam *f, struct xtc_handle *h, bool *changed)
{
	static const char *const builtins[] = { "PREROUTING", "INPUT", "FORWARD", "OUTPUT",
						"POSTROUTING" };
	for (unsigned b = 0; b < ARRAY_SIZE(builtins); b++) {
		xt_chainlabel cl;
		unsigned num = 0, del[16], nd = 0;

		if (!f->is_chain(builtins[b], h))
			continue;
		label(cl, builtins[b]);
		for (const void *e = f->first_rule(cl, h); e; e = f->next_rule(e, h)) {
			const char *t = f->get_target(e, h);
			if (t && ours(t)) {
				if (nd == ARRAY_SIZE(del))
					return -E2BIG;
				del[nd++] = num;
			}
			num++;
		}
		while (nd) /* from the end, so the numbers stay valid */
			if (!f->delete_num_entry(cl, del[--nd], h))
				return lib_err(f, "delete hook in", builtins[b]);
		*changed = *changed || nd > 0;
	}
	return 0;
}

/* Names of the APGATE_ chains in the snapshot (caller frees the array). */
static int our_chains(const struct fam *f, struct xtc_handle *h, xt_chainlabel **out, unsigned *n)
{
	xt_chainlabel *v = NULL;
	unsigned k = 0, cap = 0;

	for (const char *c = f->first_chain(h); c; c = f->next_chain(h)) {
		if (!ours(c))
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 16;
			xt_chainlabel *nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		label(v[k++], c);
	}
	*out = v;
	*n = k;
	return 0;
}

static const struct fw_chain *plan_chain(const struct fw_table *t, const char *name)
{
	for (unsigned i = 0; t && i < t->n_chains; i++)
		if (strcmp(t->chains[i].name, name) == 0)
			return &t->chains[i];
	return NULL;
}

/* Makes the snapshot's APGATE_ part equal t (t NULL: remove it all).
 * *changed tells whether there is anything to commit. */
static int edit(const struct fam *f, struct xtc_handle *h, const struct fw_table *t, bool *changed)
{
	_cleanup_free_ xt_chainlabel *have = NULL;
	unsigned nhave = 0;
	int r;

	r = unhook(f, h, changed);
	if (r < 0)
		return r;
	r = our_chains(f, h, &have, &nhave);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < nhave; i++) {
		if (!f->flush_entries(have[i], h))
			return lib_err(f, "flush", have[i]);
		*changed = true;
	}
	for (unsigned i = 0; i < nhave; i++)
		if (!plan_chain(t, have[i]) && !f->delete_chain(have[i], h))
			return lib_err(f, "delete chain", have[i]);
	if (!t)
		return 0;

	for (unsigned i = 0; i < t->n_chains; i++) {
		xt_chainlabel cl;
		label(cl, t->chains[i].name);
		if (!f->is_chain(cl, h) && !f->create_chain(cl, h))
			return lib_err(f, "create chain", cl);
	}
	*changed = true;
	struct enc e;
	for (unsigned i = 0; i < t->n_chains; i++) {
		const struct fw_chain *c = &t->chains[i];
		xt_chainlabel cl;
		label(cl, c->name);
		for (unsigned j = 0; j < c->n; j++) {
			memset(&e, 0, sizeof(e));
			r = encode(f, &c->rules[j], &e);
			if (r < 0)
				return r;
			if (!f->append_entry(cl, e.buf, h))
				return lib_err(f, "append to", cl);
		}
	}
	for (unsigned i = 0; i < t->n_chains; i++) {
		const struct fw_chain *c = &t->chains[i];
		struct fw_rule jump = { .target = FW_T_JUMP, .jump = c->name, .icmp6_type = -1 };
		xt_chainlabel hook;
		if (!c->hook)
			continue;
		memset(&e, 0, sizeof(e));
		r = encode(f, &jump, &e);
		if (r < 0)
			return r;
		label(hook, c->hook);
		if (!f->insert_entry(hook, e.buf, 0, h))
			return lib_err(f, "insert hook in", hook);
	}
	return 0;
}

/* One locked init-edit-commit of (family, table), redone on EAGAIN. */
static int run(int family, const char *table, const struct fw_table *t)
{
	const struct fam *f = fam_of(family);
	int r = 0;

	if (!f)
		return -EINVAL;
	for (int attempt = 0; attempt <= EAGAIN_RETRIES; attempt++) {
		_cleanup_close_ int lock = lock_take();
		struct xtc_handle *h;
		bool changed = false;

		if (lock < 0)
			return lock;
		h = f->init(table);
		if (!h) {
			r = -(errno ? errno : EPROTO);
			/* flushing a table the kernel does not have: nothing of ours there */
			if (!t && (r == -ENOENT || r == -EINVAL))
				return 0;
			log_debug("fw: init %s: %s", table, f->strerror(errno));
			return r;
		}
		r = edit(f, h, t, &changed);
		if (r == 0 && changed && !f->commit(h)) {
			r = -(errno ? errno : EPROTO);
			log_debug("fw: commit %s: %s", table, f->strerror(errno));
		}
		f->free(h);
		if (r != -EAGAIN)
			return r;
		log_warn("fw: %s changed under us (EAGAIN), retrying", table);
	}
	return r;
}

static int iptc_commit_table(void *ud, const struct fw_table *t)
{
	(void)ud;
	return run(t->family, t->name, t);
}

static int iptc_flush_table(void *ud, int family, const char *table)
{
	(void)ud;
	return run(family, table, NULL);
}

/* Read-back for status: one snapshot (iptc_init is a copy of the table
 * taken by the kernel in one go), no lock, no commit. */
static struct fw_kchain *kchain(struct fw_ktable *out, const char *name)
{
	for (unsigned i = 0; i < out->n; i++)
		if (strcmp(out->chains[i].name, name) == 0)
			return &out->chains[i];
	return NULL;
}

static int iptc_read_table(void *ud, int family, const char *table, struct fw_ktable *out)
{
	const struct fam *f = fam_of(family);
	struct xtc_handle *h = NULL;

	(void)ud;
	memset(out, 0, sizeof(*out));
	if (!f)
		return -EINVAL;
	for (int attempt = 0; attempt <= EAGAIN_RETRIES && !h; attempt++) {
		errno = 0;
		h = f->init(table);
		if (!h && errno != EAGAIN) {
			int r = -(errno ? errno : EPROTO);
			if (r == -ENOENT || r == -EINVAL) /* no such table: nothing of ours */
				return 0;
			log_debug("fw: read %s: %s", table, f->strerror(errno));
			return r;
		}
	}
	if (!h)
		return -EAGAIN;
	for (const char *c = f->first_chain(h); c; c = f->next_chain(h)) {
		struct fw_kchain *k;
		xt_chainlabel cl;

		if (!ours(c))
			continue;
		if (out->n == FW_KCHAINS_MAX) {
			out->truncated = true;
			continue;
		}
		k = &out->chains[out->n++];
		util_strlcpy(k->name, c, sizeof(k->name));
		label(cl, c);
		for (const void *e = f->first_rule(cl, h); e; e = f->next_rule(e, h))
			k->rules++;
	}
	static const char *const builtins[] = { "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING" };
	for (unsigned b = 0; b < ARRAY_SIZE(builtins); b++) {
		xt_chainlabel cl;
		unsigned pos = 0;

		if (!f->is_chain(builtins[b], h))
			continue;
		label(cl, builtins[b]);
		for (const void *e = f->first_rule(cl, h); e; e = f->next_rule(e, h)) {
			const char *t = f->get_target(e, h);
			struct fw_kchain *k;

			pos++;
			if (!t || !ours(t) || !(k = kchain(out, t)))
				continue;
			if (!k->hook_jumps++) {
				util_strlcpy(k->hook, builtins[b], sizeof(k->hook));
				k->hook_pos = pos;
			}
		}
	}
	f->free(h);
	return 0;
}

const struct fw_ops fw_ops_iptc = {
	.name = "iptables-legacy (libiptc)",
	.commit = iptc_commit_table,
	.flush = iptc_flush_table,
};

const struct fw_read_ops fw_read_ops_iptc = {
	.read = iptc_read_table,
};
