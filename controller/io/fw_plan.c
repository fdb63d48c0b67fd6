/* fw_plan.c - builds and prints the firewall plan (see fw_plan.h).
 *
 * Layout (Z = each zone that has an interface: W work, G guest, O
 * onboarding; U uplink; marks under FW_MARK_MASK: WORK, GUEST, BLOCKED,
 * none = onboarding). Same chains for IPv4 and IPv6 unless noted.
 *
 * mangle  PREROUTING -> APGATE_MARK
 *   one rule per device, sorted by MAC:  -m mac --mac-source M -j MARK --set-xmark V/MASK
 *   -i Z -j CONNMARK --save-mark          (the device's current mark goes
 *                                          into its connection, for replies)
 * nat (IPv4 only)
 *   PREROUTING -> APGATE_PRE
 *     -i W -p tcp ! mark WORK --dport 80 -j DNAT gwW:captive
 *     -i O -p tcp --dport 80 -j DNAT gwO:captive
 *   POSTROUTING -> APGATE_POST: -o U -j MASQUERADE (if asked; else empty)
 * filter
 *   FORWARD -> APGATE_FWD
 *     mark BLOCKED -j DROP                               (any interface)
 *     -o W ctstate RELATED,ESTABLISHED connmark WORK -j ACCEPT
 *     -o G ctstate RELATED,ESTABLISHED connmark !BLOCKED -j ACCEPT
 *     -o Z -j DROP                                       (no new inbound;
 *                                                         no zone-to-zone)
 *     -i W mark WORK -j APGATE_FWD_WORK
 *     -i G -j APGATE_FWD_GUEST
 *     -i W -j APGATE_FWD_ONB, -i O -j APGATE_FWD_ONB
 *   APGATE_FWD_WORK:  -d LAN -j ACCEPT, -o U -j ACCEPT, -j DROP
 *   APGATE_FWD_GUEST: -d private/LAN/zone subnets -j DROP, -o U -j ACCEPT, -j DROP
 *   APGATE_FWD_ONB:   -p tcp --dport 443 -j REJECT tcp-reset, -j DROP
 *   INPUT -> APGATE_IN
 *     mark BLOCKED -j DROP
 *     -i W mark WORK -j ACCEPT
 *     per Z: ctstate RELATED,ESTABLISHED ACCEPT; DHCP (udp 67 | ICMPv6
 *     RS/NS/NA + udp 547); DNS udp/tcp 53 and the captive port (to gwZ in
 *     IPv4) ACCEPT; -i Z -j DROP
 *
 * Replies: a connection's mark is refreshed from every packet the device
 * sends, so once a device is blocked (or loses its approval) its next
 * packet turns its connections' mark and the replies stop too. A device
 * that sends nothing more can still receive on an open connection until
 * conntrack forgets it; deleting those entries needs the device's IP
 * address and is the controller's job (conntrack by address), not this
 * module's.
 *
 * Only accepts and drops scoped to zone interfaces (or to a device's mark)
 * are written, so traffic that does not belong to a zone returns to the
 * built-in chain untouched.
 */
#include "fw_plan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- building ---- */

struct bld {
	struct fw_table *t;
	int family;
	int err;
	struct fw_rule scratch; /* returned after an allocation failure */
};

static struct fw_chain *chain_add(struct bld *b, const char *name, const char *hook)
{
	struct fw_chain *c = &b->t->chains[b->t->n_chains++];
	c->name = name;
	c->hook = hook;
	return c;
}

static struct fw_rule *rule_add(struct bld *b, struct fw_chain *c)
{
	struct fw_rule *r;

	if (c->n == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 16;
		struct fw_rule *nr = realloc(c->rules, cap * sizeof(*nr));
		if (!nr) {
			b->err = -ENOMEM;
			r = &b->scratch;
			goto init;
		}
		c->rules = nr;
		c->cap = cap;
	}
	r = &c->rules[c->n++];
init:
	memset(r, 0, sizeof(*r));
	r->icmp6_type = -1;
	return r;
}

static void set_if(char dst[IFNAMSIZ], const char *src)
{
	util_strlcpy(dst, src, IFNAMSIZ);
}

static void mask4(struct in_addr *a, unsigned len)
{
	uint32_t m = len ? htonl(~0u << (32 - len)) : 0;
	a->s_addr &= m;
}

static void mask6(struct in6_addr *a, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = len > i * 8 ? len - i * 8 : 0;
		if (bits < 8)
			a->s6_addr[i] &= (uint8_t)(0xff00u >> bits);
	}
}

/* -d addr/len on r, masked. */
static void dst4(struct fw_rule *r, struct in_addr a, unsigned len)
{
	mask4(&a, len);
	r->has_dst = true;
	r->dst.v4 = a;
	r->dst_len = (uint8_t)len;
}

static void dst6(struct fw_rule *r, struct in6_addr a, unsigned len)
{
	mask6(&a, len);
	r->has_dst = true;
	r->dst.v6 = a;
	r->dst_len = (uint8_t)len;
}

static bool zone_on(const struct fw_net *net, enum fw_zone_id z)
{
	return net->zone[z].ifname[0] != '\0';
}

static uint32_t verdict_mark(enum fw_verdict v)
{
	switch (v) {
	case FW_WORK: return FW_MARK_WORK;
	case FW_GUEST: return FW_MARK_GUEST;
	case FW_BLOCKED: return FW_MARK_BLOCKED;
	default: return 0;
	}
}

static void build_mangle(struct bld *b, const struct fw_net *net, const struct fw_dev *devs,
			 unsigned n)
{
	struct fw_chain *c = chain_add(b, "APGATE_MARK", "PREROUTING");

	for (unsigned i = 0; i < n; i++) {
		if (devs[i].v == FW_ONBOARDING)
			continue;
		struct fw_rule *r = rule_add(b, c);
		r->has_mac = true;
		memcpy(r->mac, devs[i].mac, 6);
		r->target = FW_T_MARK;
		r->mark_set = verdict_mark(devs[i].v);
	}
	for (int z = 0; z < FW_ZONE_N; z++) {
		if (!zone_on(net, z))
			continue;
		struct fw_rule *r = rule_add(b, c);
		set_if(r->in, net->zone[z].ifname);
		r->target = FW_T_CONNMARK_SAVE;
	}
}

static void build_nat(struct bld *b, const struct fw_net *net)
{
	struct fw_chain *post = chain_add(b, "APGATE_POST", "POSTROUTING");
	struct fw_chain *pre = chain_add(b, "APGATE_PRE", "PREROUTING");
	static const enum fw_zone_id onb[] = { FW_ZONE_WORK, FW_ZONE_ONBOARDING };

	for (unsigned i = 0; i < ARRAY_SIZE(onb); i++) {
		const struct fw_zone *z = &net->zone[onb[i]];
		if (!zone_on(net, onb[i]))
			continue;
		struct fw_rule *r = rule_add(b, pre);
		set_if(r->in, z->ifname);
		r->proto = IPPROTO_TCP;
		if (onb[i] == FW_ZONE_WORK) {
			r->mark = FW_MM_NE;
			r->mark_val = FW_MARK_WORK;
		}
		r->dport = 80;
		r->target = FW_T_DNAT;
		r->dnat_addr = z->gw4;
		r->dnat_port = net->captive_port;
	}
	if (net->masquerade) {
		struct fw_rule *r = rule_add(b, post);
		set_if(r->out, net->uplink);
		r->target = FW_T_MASQUERADE;
	}
}

static bool covered4(const struct fw_cidr4 *list, unsigned n, struct in_addr a, unsigned len)
{
	for (unsigned i = 0; i < n; i++) {
		struct in_addr x = a;
		if (list[i].len > len)
			continue;
		mask4(&x, list[i].len);
		struct in_addr y = list[i].addr;
		mask4(&y, list[i].len);
		if (x.s_addr == y.s_addr)
			return true;
	}
	return false;
}

static bool covered6(const struct fw_cidr6 *list, unsigned n, struct in6_addr a, unsigned len)
{
	for (unsigned i = 0; i < n; i++) {
		struct in6_addr x = a, y = list[i].addr;
		if (list[i].len > len)
			continue;
		mask6(&x, list[i].len);
		mask6(&y, list[i].len);
		if (memcmp(&x, &y, sizeof(x)) == 0)
			return true;
	}
	return false;
}

#define PRIV_MAX (8 + FW_ZONE_N)

/* Every destination a guest must not reach, without entries that an
 * earlier one already covers. Appends DROP rules to c. */
static void guest_drops(struct bld *b, struct fw_chain *c, const struct fw_net *net)
{
	if (b->family == AF_INET) {
		static const char *const priv[] = { "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
						    "100.64.0.0/10", "169.254.0.0/16" };
		struct fw_cidr4 seen[PRIV_MAX];
		unsigned ns = 0;
		for (unsigned i = 0; i < ARRAY_SIZE(priv); i++) {
			char a[20];
			util_strlcpy(a, priv[i], sizeof(a));
			char *slash = strchr(a, '/');
			*slash = '\0';
			inet_pton(AF_INET, a, &seen[ns].addr);
			seen[ns++].len = (uint8_t)atoi(slash + 1);
		}
		for (int z = 0; z < FW_ZONE_N; z++) {
			if (zone_on(net, z) && !covered4(seen, ns, net->zone[z].gw4, net->zone[z].len4)) {
				seen[ns].addr = net->zone[z].gw4;
				seen[ns++].len = net->zone[z].len4;
			}
		}
		for (unsigned i = 0; i < ns; i++)
			dst4(rule_add(b, c), seen[i].addr, seen[i].len);
		for (unsigned i = 0; i < net->n_lan4; i++) {
			if (covered4(seen, ns, net->lan4[i].addr, net->lan4[i].len) ||
			    covered4(net->lan4, i, net->lan4[i].addr, net->lan4[i].len))
				continue;
			dst4(rule_add(b, c), net->lan4[i].addr, net->lan4[i].len);
		}
	} else {
		struct fw_cidr6 seen[PRIV_MAX];
		unsigned ns = 0;
		inet_pton(AF_INET6, "fc00::", &seen[ns].addr);
		seen[ns++].len = 7;
		inet_pton(AF_INET6, "fe80::", &seen[ns].addr);
		seen[ns++].len = 10;
		for (int z = 0; z < FW_ZONE_N; z++) {
			const struct fw_cidr6 *p = &net->zone[z].net6;
			if (zone_on(net, z) && p->len && !covered6(seen, ns, p->addr, p->len))
				seen[ns++] = *p;
		}
		for (unsigned i = 0; i < ns; i++)
			dst6(rule_add(b, c), seen[i].addr, seen[i].len);
		for (unsigned i = 0; i < net->n_lan6; i++) {
			if (covered6(seen, ns, net->lan6[i].addr, net->lan6[i].len) ||
			    covered6(net->lan6, i, net->lan6[i].addr, net->lan6[i].len))
				continue;
			dst6(rule_add(b, c), net->lan6[i].addr, net->lan6[i].len);
		}
	}
	for (unsigned i = 0; i < c->n; i++)
		c->rules[i].target = FW_T_DROP;
}

static void build_filter_fwd(struct bld *b, const struct fw_net *net)
{
	struct fw_chain *fwd = chain_add(b, "APGATE_FWD", "FORWARD");
	const char *wif = net->zone[FW_ZONE_WORK].ifname;
	const char *gif = net->zone[FW_ZONE_GUEST].ifname;
	const char *oif = net->zone[FW_ZONE_ONBOARDING].ifname;
	/* created in name order: iptables-save lists user chains sorted */
	struct fw_chain *guest = gif[0] ? chain_add(b, "APGATE_FWD_GUEST", NULL) : NULL;
	struct fw_chain *onb = chain_add(b, "APGATE_FWD_ONB", NULL);
	struct fw_chain *work = chain_add(b, "APGATE_FWD_WORK", NULL);
	struct fw_rule *r;

	r = rule_add(b, fwd);
	r->mark = FW_MM_EQ;
	r->mark_val = FW_MARK_BLOCKED;
	r->target = FW_T_DROP;

	/* replies toward devices whose connection mark allows them */
	r = rule_add(b, fwd);
	set_if(r->out, wif);
	r->ctstate = FW_CT_ESTREL;
	r->connmark = FW_MM_EQ;
	r->connmark_val = FW_MARK_WORK;
	r->target = FW_T_ACCEPT;
	if (gif[0]) {
		r = rule_add(b, fwd);
		set_if(r->out, gif);
		r->ctstate = FW_CT_ESTREL;
		r->connmark = FW_MM_NE;
		r->connmark_val = FW_MARK_BLOCKED;
		r->target = FW_T_ACCEPT;
	}
	for (int z = 0; z < FW_ZONE_N; z++) {
		if (!zone_on(net, z))
			continue;
		r = rule_add(b, fwd);
		set_if(r->out, net->zone[z].ifname);
		r->target = FW_T_DROP;
	}

	/* dispatch by interface and mark */
	r = rule_add(b, fwd);
	set_if(r->in, wif);
	r->mark = FW_MM_EQ;
	r->mark_val = FW_MARK_WORK;
	r->target = FW_T_JUMP;
	r->jump = work->name;
	if (gif[0]) {
		r = rule_add(b, fwd);
		set_if(r->in, gif);
		r->target = FW_T_JUMP;
		r->jump = guest->name;
	}
	r = rule_add(b, fwd);
	set_if(r->in, wif);
	r->target = FW_T_JUMP;
	r->jump = onb->name;
	if (oif[0]) {
		r = rule_add(b, fwd);
		set_if(r->in, oif);
		r->target = FW_T_JUMP;
		r->jump = onb->name;
	}

	/* work: the LAN destinations and the internet */
	if (b->family == AF_INET) {
		for (unsigned i = 0; i < net->n_lan4; i++) {
			r = rule_add(b, work);
			dst4(r, net->lan4[i].addr, net->lan4[i].len);
			r->target = FW_T_ACCEPT;
		}
	} else {
		for (unsigned i = 0; i < net->n_lan6; i++) {
			r = rule_add(b, work);
			dst6(r, net->lan6[i].addr, net->lan6[i].len);
			r->target = FW_T_ACCEPT;
		}
	}
	r = rule_add(b, work);
	set_if(r->out, net->uplink);
	r->target = FW_T_ACCEPT;
	rule_add(b, work)->target = FW_T_DROP;

	/* guest: the internet only */
	if (gif[0]) {
		guest_drops(b, guest, net);
		r = rule_add(b, guest);
		set_if(r->out, net->uplink);
		r->target = FW_T_ACCEPT;
		rule_add(b, guest)->target = FW_T_DROP;
	}

	/* onboarding: a reset for HTTPS (captive-portal detection), nothing else */
	r = rule_add(b, onb);
	r->proto = IPPROTO_TCP;
	r->dport = 443;
	r->target = FW_T_REJECT_RST;
	rule_add(b, onb)->target = FW_T_DROP;
}

static void in_accept(struct bld *b, struct fw_chain *c, const struct fw_zone *z, uint8_t proto,
		      uint16_t dport, bool to_gw)
{
	struct fw_rule *r = rule_add(b, c);
	set_if(r->in, z->ifname);
	if (to_gw && b->family == AF_INET)
		dst4(r, z->gw4, 32);
	r->proto = proto;
	r->dport = dport;
	r->target = FW_T_ACCEPT;
}

static void build_filter_in(struct bld *b, const struct fw_net *net)
{
	struct fw_chain *in = chain_add(b, "APGATE_IN", "INPUT");
	struct fw_rule *r;

	r = rule_add(b, in);
	r->mark = FW_MM_EQ;
	r->mark_val = FW_MARK_BLOCKED;
	r->target = FW_T_DROP;

	r = rule_add(b, in);
	set_if(r->in, net->zone[FW_ZONE_WORK].ifname);
	r->mark = FW_MM_EQ;
	r->mark_val = FW_MARK_WORK;
	r->target = FW_T_ACCEPT;

	for (int zi = 0; zi < FW_ZONE_N; zi++) {
		const struct fw_zone *z = &net->zone[zi];
		if (!zone_on(net, zi))
			continue;
		r = rule_add(b, in);
		set_if(r->in, z->ifname);
		r->ctstate = FW_CT_ESTREL;
		r->target = FW_T_ACCEPT;
		if (b->family == AF_INET) {
			in_accept(b, in, z, IPPROTO_UDP, 67, false);
		} else {
			static const int nd[] = { 133, 135, 136 }; /* RS, NS, NA */
			for (unsigned i = 0; i < ARRAY_SIZE(nd); i++) {
				r = rule_add(b, in);
				set_if(r->in, z->ifname);
				r->proto = IPPROTO_ICMPV6;
				r->icmp6_type = nd[i];
				r->target = FW_T_ACCEPT;
			}
			in_accept(b, in, z, IPPROTO_UDP, 547, false);
		}
		in_accept(b, in, z, IPPROTO_UDP, 53, true);
		in_accept(b, in, z, IPPROTO_TCP, 53, true);
		in_accept(b, in, z, IPPROTO_TCP, net->captive_port, true);
		r = rule_add(b, in);
		set_if(r->in, z->ifname);
		r->target = FW_T_DROP;
	}
}

static const char *const tid_names[FW_TID_N] = { "mangle", "nat", "filter" };

const char *fw_tid_name(enum fw_tid tid)
{
	return tid < FW_TID_N ? tid_names[tid] : NULL;
}

void fw_table_clear(struct fw_table *t)
{
	for (unsigned i = 0; i < t->n_chains; i++)
		free(t->chains[i].rules);
	memset(t, 0, sizeof(*t));
}

int fw_plan_table(struct fw_table *t, int family, enum fw_tid tid, const struct fw_net *net,
		  const struct fw_dev *devs, unsigned n)
{
	struct bld b = { .t = t, .family = family };

	memset(t, 0, sizeof(*t));
	t->family = family;
	t->name = tid_names[tid];
	switch (tid) {
	case FW_TID_MANGLE:
		build_mangle(&b, net, devs, n);
		break;
	case FW_TID_NAT:
		if (family == AF_INET)
			build_nat(&b, net);
		break;
	case FW_TID_FILTER:
		build_filter_fwd(&b, net);
		build_filter_in(&b, net);
		break;
	default:
		return -EINVAL;
	}
	if (b.err) {
		fw_table_clear(t);
		return b.err;
	}
	return 0;
}

/* ---- checking ---- */

static bool ifname_ok(const char *s)
{
	size_t len = strnlen(s, IFNAMSIZ);
	if (len == 0 || len >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		/* '+' would read as a wildcard in iptables syntax */
		if (ch <= ' ' || ch == '/' || ch == ':' || ch == '+' || ch >= 0x7f)
			return false;
	}
	return true;
}

int fw_net_check(const struct fw_net *net)
{
	if (!net || !ifname_ok(net->uplink) || !ifname_ok(net->zone[FW_ZONE_WORK].ifname) ||
	    net->captive_port == 0)
		return -EINVAL;
	for (int z = 0; z < FW_ZONE_N; z++) {
		const struct fw_zone *zz = &net->zone[z];
		if (!zone_on(net, z))
			continue;
		if (!ifname_ok(zz->ifname) || zz->len4 < 1 || zz->len4 > 32 || zz->net6.len > 128 ||
		    zz->gw4.s_addr == 0)
			return -EINVAL;
		if (strcmp(zz->ifname, net->uplink) == 0)
			return -EINVAL;
		for (int o = 0; o < z; o++)
			if (zone_on(net, o) && strcmp(zz->ifname, net->zone[o].ifname) == 0)
				return -EINVAL;
	}
	if ((net->n_lan4 && !net->lan4) || (net->n_lan6 && !net->lan6))
		return -EINVAL;
	for (unsigned i = 0; i < net->n_lan4; i++)
		if (net->lan4[i].len > 32)
			return -EINVAL;
	for (unsigned i = 0; i < net->n_lan6; i++)
		if (net->lan6[i].len > 128)
			return -EINVAL;
	return 0;
}

/* ---- printing, as iptables-save 1.8.9 prints ---- */

static void print_addr(FILE *out, int family, const union fw_addr *a, unsigned len)
{
	char buf[INET6_ADDRSTRLEN];
	inet_ntop(family, a, buf, sizeof(buf));
	fprintf(out, "%s/%u", buf, len);
}

static void print_mark(FILE *out, const char *m, enum fw_match_mark k, uint32_t v)
{
	fprintf(out, " -m %s %s--mark 0x%x/0x%x", m, k == FW_MM_NE ? "! " : "", v, FW_MARK_MASK);
}

void fw_rule_print(const struct fw_rule *r, int family, FILE *out)
{
	if (r->has_src) {
		fputs(" -s ", out);
		print_addr(out, family, &r->src, r->src_len);
	}
	if (r->has_dst) {
		fputs(" -d ", out);
		print_addr(out, family, &r->dst, r->dst_len);
	}
	if (r->in[0])
		fprintf(out, " -i %s", r->in);
	if (r->out[0])
		fprintf(out, " -o %s", r->out);
	if (r->proto)
		fprintf(out, " -p %s", r->proto == IPPROTO_TCP ? "tcp" :
				       r->proto == IPPROTO_UDP ? "udp" : "ipv6-icmp");
	if (r->has_mac)
		fprintf(out, " -m mac --mac-source %02x:%02x:%02x:%02x:%02x:%02x", r->mac[0],
			r->mac[1], r->mac[2], r->mac[3], r->mac[4], r->mac[5]);
	if (r->mark)
		print_mark(out, "mark", r->mark, r->mark_val);
	if (r->ctstate & FW_CT_ESTREL)
		fputs(" -m conntrack --ctstate RELATED,ESTABLISHED", out);
	if (r->connmark)
		print_mark(out, "connmark", r->connmark, r->connmark_val);
	if (r->dport)
		fprintf(out, " -m %s --dport %u", r->proto == IPPROTO_TCP ? "tcp" : "udp", r->dport);
	if (r->icmp6_type >= 0)
		fprintf(out, " -m icmp6 --icmpv6-type %d", r->icmp6_type);
	switch (r->target) {
	case FW_T_ACCEPT: fputs(" -j ACCEPT", out); break;
	case FW_T_DROP: fputs(" -j DROP", out); break;
	case FW_T_RETURN: fputs(" -j RETURN", out); break;
	case FW_T_JUMP: fprintf(out, " -j %s", r->jump); break;
	case FW_T_MARK:
		fprintf(out, " -j MARK --set-xmark 0x%x/0x%x", r->mark_set, FW_MARK_MASK);
		break;
	case FW_T_CONNMARK_SAVE:
		fprintf(out, " -j CONNMARK --save-mark --nfmask 0x%x --ctmask 0x%x", FW_MARK_MASK,
			FW_MARK_MASK);
		break;
	case FW_T_REJECT_RST: fputs(" -j REJECT --reject-with tcp-reset", out); break;
	case FW_T_DNAT: {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &r->dnat_addr, a, sizeof(a));
		fprintf(out, " -j DNAT --to-destination %s:%u", a, r->dnat_port);
		break;
	}
	case FW_T_MASQUERADE: fputs(" -j MASQUERADE", out); break;
	}
}

/* Built-in chains in iptables-save's order, for the hook jumps. */
static const char *const builtin_order[] = { "PREROUTING", "INPUT", "FORWARD", "OUTPUT",
					     "POSTROUTING" };

int fw_table_print(const struct fw_table *t, FILE *out)
{
	if (t->n_chains == 0)
		return 0;
	fprintf(out, "*%s\n", t->name);
	for (unsigned i = 0; i < t->n_chains; i++)
		fprintf(out, ":%s - [0:0]\n", t->chains[i].name);
	for (unsigned h = 0; h < ARRAY_SIZE(builtin_order); h++)
		for (unsigned i = 0; i < t->n_chains; i++)
			if (t->chains[i].hook && strcmp(t->chains[i].hook, builtin_order[h]) == 0)
				fprintf(out, "-A %s -j %s\n", t->chains[i].hook, t->chains[i].name);
	for (unsigned i = 0; i < t->n_chains; i++) {
		const struct fw_chain *c = &t->chains[i];
		for (unsigned j = 0; j < c->n; j++) {
			fprintf(out, "-A %s", c->name);
			fw_rule_print(&c->rules[j], t->family, out);
			fputc('\n', out);
		}
	}
	fputs("COMMIT\n", out);
	return ferror(out) ? -EIO : 0;
}
