/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pktbuild.h: small packet builders for the tests, and the packet corpus
 * that test_parse (host) and test_parse_bpf (BPF_PROG_TEST_RUN) share.
 *
 * Layers are pushed outermost first; each push writes its ethertype or
 * protocol number into the layer below. pb_finish() then sets every length
 * field (IPv4 tot_len, IPv6 payload_len, UDP len) to "the rest of the
 * buffer" and the IPv4 header checksums. Tests that want a bogus length
 * patch the bytes after pb_finish(), using the recorded layer offsets.
 */
#ifndef SLUICE_TEST_PKTBUILD_H
#define SLUICE_TEST_PKTBUILD_H

#include <stdio.h>
#include <string.h>

#include <sluice/csum.h>
#include <sluice/parse.h>

#define PB_MAX 2048
#define PB_MAX_LAYERS 16

enum pb_layer {
	PB_ETH,
	PB_VLAN,
	PB_IP4,
	PB_IP6,
	PB_IP6_EXT,
	PB_IP6_FRAG,
	PB_TCP,
	PB_UDP,
	PB_ICMP,
	PB_ARP,
	PB_DATA,
};

struct pb {
	sl_u8 buf[PB_MAX];
	unsigned int len;
	unsigned int nl;
	enum pb_layer type[PB_MAX_LAYERS];
	unsigned int off[PB_MAX_LAYERS];
	char name[96];
};

static inline void pb_init(struct pb *b)
{
	memset(b, 0, sizeof(*b));
}

static inline sl_u8 *pb_push(struct pb *b, enum pb_layer t, unsigned int n)
{
	sl_u8 *h = b->buf + b->len;

	b->type[b->nl] = t;
	b->off[b->nl++] = b->len;
	b->len += n;
	memset(h, 0, n);
	return h;
}

/* Offset of the n-th layer of type t (0: first), or -1. */
static inline int pb_off(const struct pb *b, enum pb_layer t, int n)
{
	unsigned int i;

	for (i = 0; i < b->nl; i++)
		if (b->type[i] == t && n-- == 0)
			return (int)b->off[i];
	return -1;
}

/* Write a next-protocol value into the top layer. */
static inline void pb_set_next(struct pb *b, sl_u16 ethertype, sl_u8 proto)
{
	sl_u8 *h;

	if (!b->nl)
		return;
	h = b->buf + b->off[b->nl - 1];
	switch (b->type[b->nl - 1]) {
	case PB_ETH:
		((struct sl_ethhdr *)h)->proto = sl_htons(ethertype);
		break;
	case PB_VLAN:
		((struct sl_vlanhdr *)h)->proto = sl_htons(ethertype);
		break;
	case PB_IP4:
		((struct sl_iphdr *)h)->protocol = proto;
		break;
	case PB_IP6:
		((struct sl_ip6hdr *)h)->nexthdr = proto;
		break;
	case PB_IP6_EXT:
	case PB_IP6_FRAG:
		h[0] = proto;
		break;
	default:
		break;
	}
}

/* Family of the innermost IP layer pushed so far (4, 6 or 0). */
static inline int pb_family(const struct pb *b)
{
	int i;

	for (i = (int)b->nl - 1; i >= 0; i--) {
		if (b->type[i] == PB_IP4)
			return 4;
		if (b->type[i] == PB_IP6)
			return 6;
	}
	return 0;
}

static inline void pb_eth(struct pb *b, sl_u16 ethertype)
{
	static const sl_u8 dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const sl_u8 src[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	struct sl_ethhdr *e =
		(struct sl_ethhdr *)pb_push(b, PB_ETH, sizeof(*e));

	memcpy(e->dst, dst, 6);
	memcpy(e->src, src, 6);
	e->proto = sl_htons(ethertype);
}

static inline void pb_vlan(struct pb *b, sl_u16 tpid, sl_u16 tci)
{
	struct sl_vlanhdr *v;

	pb_set_next(b, tpid, 0);
	v = (struct sl_vlanhdr *)pb_push(b, PB_VLAN, sizeof(*v));
	v->tci = sl_htons(tci);
}

/* optlen: bytes of IPv4 options (multiple of 4), filled with NOPs + EOL. */
static inline void pb_ip4_ex(struct pb *b, sl_u32 saddr, sl_u32 daddr,
			     unsigned int optlen, sl_u16 frag_off)
{
	struct sl_iphdr *ip;

	pb_set_next(b, SL_ETH_P_IP, SL_IPPROTO_IPIP);
	ip = (struct sl_iphdr *)pb_push(b, PB_IP4, sizeof(*ip) + optlen);
	ip->ver_ihl = (sl_u8)(0x40 | ((sizeof(*ip) + optlen) / 4));
	ip->id = sl_htons(0x1234);
	ip->frag_off = sl_htons(frag_off);
	ip->ttl = 64;
	ip->saddr = sl_htonl(saddr);
	ip->daddr = sl_htonl(daddr);
	if (optlen) {
		memset(ip + 1, 1, optlen);	     /* NOP */
		((sl_u8 *)(ip + 1))[optlen - 1] = 0; /* EOL */
	}
}

static inline void pb_ip4(struct pb *b, sl_u32 saddr, sl_u32 daddr)
{
	pb_ip4_ex(b, saddr, daddr, 0, SL_IP4_DF);
}

/* An IPv6 address 2001:db8::<last>. */
static inline union sl_addr pb_a6(sl_u8 last)
{
	union sl_addr a;

	memset(&a, 0, sizeof(a));
	a.b[0] = 0x20;
	a.b[1] = 0x01;
	a.b[2] = 0x0d;
	a.b[3] = 0xb8;
	a.b[15] = last;
	return a;
}

static inline void pb_ip6(struct pb *b, union sl_addr src, union sl_addr dst)
{
	struct sl_ip6hdr *ip6;

	pb_set_next(b, SL_ETH_P_IPV6, SL_IPPROTO_IPV6);
	ip6 = (struct sl_ip6hdr *)pb_push(b, PB_IP6, sizeof(*ip6));
	ip6->ver_tc_flow = sl_htonl(0x60012345);
	ip6->hop_limit = 64;
	ip6->saddr = src;
	ip6->daddr = dst;
}

/* Options-type extension header (0, 43, 60) of len bytes, or AH (51). */
static inline void pb_ip6_ext(struct pb *b, sl_u8 type, unsigned int len)
{
	sl_u8 *h;

	pb_set_next(b, 0, type);
	h = pb_push(b, PB_IP6_EXT, len);
	h[0] = SL_IP6_NH_NONE;
	if (type == SL_IP6_NH_AH)
		h[1] = (sl_u8)(len / 4 - 2);
	else
		h[1] = (sl_u8)(len / 8 - 1);
	if (type != SL_IP6_NH_AH && type != SL_IP6_NH_ROUTING && len > 2) {
		h[2] = 1; /* PadN over the rest */
		h[3] = (sl_u8)(len - 4);
	}
}

/* offset in bytes (multiple of 8). */
static inline void pb_ip6_frag(struct pb *b, unsigned int offset, int more)
{
	struct sl_ip6_fraghdr *f;

	pb_set_next(b, 0, SL_IP6_NH_FRAGMENT);
	f = (struct sl_ip6_fraghdr *)pb_push(b, PB_IP6_FRAG, sizeof(*f));
	f->nexthdr = SL_IP6_NH_NONE;
	f->frag_off = sl_htons((sl_u16)(offset | (more ? SL_IP6_FRAG_MF : 0)));
	f->id = sl_htonl(0xabcdef);
}

/* optlen: TCP option bytes (multiple of 4), NOPs. */
static inline void pb_tcp(struct pb *b, sl_u16 sport, sl_u16 dport, sl_u8 flags,
			  unsigned int optlen)
{
	struct sl_tcphdr *th;

	pb_set_next(b, 0, SL_IPPROTO_TCP);
	th = (struct sl_tcphdr *)pb_push(b, PB_TCP, sizeof(*th) + optlen);
	th->source = sl_htons(sport);
	th->dest = sl_htons(dport);
	th->seq = sl_htonl(1000);
	th->doff_res = (sl_u8)(((sizeof(*th) + optlen) / 4) << 4);
	th->flags = flags;
	th->window = sl_htons(65535);
	memset(th + 1, 1, optlen);
}

static inline void pb_udp(struct pb *b, sl_u16 sport, sl_u16 dport)
{
	struct sl_udphdr *uh;

	pb_set_next(b, 0, SL_IPPROTO_UDP);
	uh = (struct sl_udphdr *)pb_push(b, PB_UDP, sizeof(*uh));
	uh->source = sl_htons(sport);
	uh->dest = sl_htons(dport);
}

/* ICMP in IPv4, ICMPv6 in IPv6, chosen by the enclosing IP layer. */
static inline void pb_icmp(struct pb *b, sl_u8 type, sl_u8 code)
{
	struct sl_icmphdr *ih;

	pb_set_next(b, 0,
		    pb_family(b) == 6 ? SL_IPPROTO_ICMPV6 : SL_IPPROTO_ICMP);
	ih = (struct sl_icmphdr *)pb_push(b, PB_ICMP, sizeof(*ih));
	ih->type = type;
	ih->code = code;
	ih->rest.echo.id = sl_htons(7);
	ih->rest.echo.seq = sl_htons(1);
}

static inline void pb_data(struct pb *b, unsigned int n)
{
	sl_u8 *d = pb_push(b, PB_DATA, n);
	unsigned int i;

	for (i = 0; i < n; i++)
		d[i] = (sl_u8)(0xa0 + i);
}

static inline void pb_arp(struct pb *b, sl_u16 op)
{
	static const sl_u8 mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	struct sl_arphdr *a;

	pb_set_next(b, SL_ETH_P_ARP, 0);
	a = (struct sl_arphdr *)pb_push(b, PB_ARP, sizeof(*a));
	a->htype = sl_htons(SL_ARP_HTYPE_ETHER);
	a->ptype = sl_htons(SL_ETH_P_IP);
	a->hlen = 6;
	a->plen = 4;
	a->oper = sl_htons(op);
	memcpy(a->sha, mac, 6);
	a->spa[0] = 192;
	a->spa[1] = 0;
	a->spa[2] = 2;
	a->spa[3] = 1;
	a->tpa[0] = 192;
	a->tpa[1] = 0;
	a->tpa[2] = 2;
	a->tpa[3] = 10;
}

/* Lengths to "rest of buffer", IPv4 header checksums. */
static inline void pb_finish(struct pb *b)
{
	int i;

	for (i = (int)b->nl - 1; i >= 0; i--) {
		sl_u8 *h = b->buf + b->off[i];
		unsigned int rest = b->len - b->off[i];

		if (b->type[i] == PB_IP4) {
			struct sl_iphdr *ip = (struct sl_iphdr *)h;

			ip->tot_len = sl_htons((sl_u16)rest);
			ip->check = 0;
			ip->check = (sl_be16)sl_csum_fold(
				sl_csum_partial(ip, SL_IP4_IHL(ip) * 4u, 0));
		} else if (b->type[i] == PB_IP6) {
			((struct sl_ip6hdr *)h)->payload_len = sl_htons(
				(sl_u16)(rest - sizeof(struct sl_ip6hdr)));
		} else if (b->type[i] == PB_UDP) {
			((struct sl_udphdr *)h)->len = sl_htons((sl_u16)rest);
		}
	}
}

/* Re-checksum IPv4 headers after a test patched one. */
static inline void pb_fix_ip4_csum(struct pb *b)
{
	unsigned int i;

	for (i = 0; i < b->nl; i++) {
		struct sl_iphdr *ip = (struct sl_iphdr *)(b->buf + b->off[i]);
		unsigned int ihl = SL_IP4_IHL(ip) * 4u;

		if (b->type[i] != PB_IP4 || ihl < 20)
			continue;
		ip->check = 0;
		ip->check = (sl_be16)sl_csum_fold(sl_csum_partial(ip, ihl, 0));
	}
}

/*
 * The corpus: every combination of L2 (untagged, 802.1Q, QinQ) x L3 (IPv4,
 * IPv4 + options, IPv6, IPv6 + extension headers) x L4 (TCP, UDP, ICMP
 * echo, ICMP error quoting TCP, ICMP error quoting UDP), then fragments,
 * ARP, NDP and non-IP frames.
 */
enum { PB_L2_N = 3, PB_L3_N = 4, PB_L4_N = 5 };
#define PB_COMBOS (PB_L2_N * PB_L3_N * PB_L4_N)

/* Addresses and ports the corpus uses: client -> VIP. */
#define PB_CLIENT4 0xc6336401u /* 198.51.100.1 */
#define PB_VIP4 0xc000020au    /* 192.0.2.10 */
#define PB_ROUTER4 0xcb007101u /* 203.0.113.1 */
#define PB_CLIENT6 0x01
#define PB_VIP6 0x0a
#define PB_ROUTER6 0xfe
#define PB_SPORT 40000
#define PB_DPORT 443

static inline void pb_l2(struct pb *b, int l2)
{
	pb_eth(b, 0);
	if (l2 >= 1)
		pb_vlan(b, l2 == 2 ? SL_ETH_P_8021AD : SL_ETH_P_8021Q, 100);
	if (l2 >= 2)
		pb_vlan(b, SL_ETH_P_8021Q, 200);
}

/* An IP header of kind l3 from src to dst (v4 or v6 picked by l3). */
static inline void pb_l3(struct pb *b, int l3, int from_client)
{
	if (l3 < 2) {
		sl_u32 c = PB_CLIENT4, v = PB_VIP4;

		pb_ip4_ex(b, from_client ? c : v, from_client ? v : c,
			  l3 == 1 ? 12 : 0, SL_IP4_DF);
	} else {
		union sl_addr c = pb_a6(PB_CLIENT6), v = pb_a6(PB_VIP6);

		pb_ip6(b, from_client ? c : v, from_client ? v : c);
		if (l3 == 3) {
			pb_ip6_ext(b, SL_IP6_NH_HOPOPTS, 8);
			pb_ip6_ext(b, SL_IP6_NH_DSTOPTS, 16);
			pb_ip6_ext(b, SL_IP6_NH_ROUTING, 24);
			pb_ip6_ext(b, SL_IP6_NH_AH, 24);
		}
	}
}

/* Combination i (0 <= i < PB_COMBOS) into b; fields decoded for the test. */
static inline void pb_combo(struct pb *b, int i, int *l2, int *l3, int *l4)
{
	static const char *l2n[] = { "untagged", "vlan", "qinq" };
	static const char *l3n[] = { "ip4", "ip4opt", "ip6", "ip6ext" };
	static const char *l4n[] = { "tcp", "udp", "echo", "err-tcp",
				     "err-udp" };
	int v6;

	*l4 = i % PB_L4_N;
	*l3 = (i / PB_L4_N) % PB_L3_N;
	*l2 = i / (PB_L4_N * PB_L3_N);
	v6 = *l3 >= 2;
	pb_init(b);
	snprintf(b->name, sizeof(b->name), "%s/%s/%s", l2n[*l2], l3n[*l3],
		 l4n[*l4]);
	pb_l2(b, *l2);
	switch (*l4) {
	case 0:
		pb_l3(b, *l3, 1);
		pb_tcp(b, PB_SPORT, PB_DPORT, SL_TCP_SYN, 12);
		pb_data(b, 10);
		break;
	case 1:
		pb_l3(b, *l3, 1);
		pb_udp(b, PB_SPORT, PB_DPORT);
		pb_data(b, 33);
		break;
	case 2:
		pb_l3(b, *l3, 1);
		pb_icmp(b, v6 ? SL_ICMP6_ECHO_REQUEST : SL_ICMP_ECHO, 0);
		pb_data(b, 56);
		break;
	default:
		/* A router tells the VIP that its reply to the client failed. */
		if (v6) {
			pb_ip6(b, pb_a6(PB_ROUTER6), pb_a6(PB_VIP6));
			if (*l3 == 3)
				pb_ip6_ext(b, SL_IP6_NH_HOPOPTS, 8);
			pb_icmp(b, SL_ICMP6_PKT_TOOBIG, 0);
		} else {
			pb_ip4_ex(b, PB_ROUTER4, PB_VIP4, *l3 == 1 ? 8 : 0, 0);
			pb_icmp(b, SL_ICMP_DEST_UNREACH, SL_ICMP_FRAG_NEEDED);
		}
		pb_l3(b, *l3, 0);
		if (*l4 == 3)
			pb_tcp(b, PB_DPORT, PB_SPORT, SL_TCP_ACK, 0);
		else
			pb_udp(b, PB_DPORT, PB_SPORT);
		pb_data(b, 8);
		break;
	}
	pb_finish(b);
}

/* Extra corpus entries after the combinations. */
enum pb_extra {
	PB_X_IP4_FRAG_FIRST,
	PB_X_IP4_FRAG_LATER,
	PB_X_IP6_FRAG_FIRST,
	PB_X_IP6_FRAG_LATER,
	PB_X_IP4_UDP_FRAG_FIRST,
	PB_X_ARP,
	PB_X_NDP_NS,
	PB_X_NDP_NA,
	PB_X_NON_IP,
	PB_X_IP4_PADDED,
	PB_X_IP4_GRE,
	PB_X_ICMP4_ECHOREPLY,
	PB_X_IP4_ICMP_ERR_ICMP,
	PB_X_IP6_ICMP_ERR_FRAG,
	PB_X_N,
};

static inline void pb_extra(struct pb *b, int x)
{
	static const char *names[] = {
		"ip4-frag-first",
		"ip4-frag-later",
		"ip6-frag-first",
		"ip6-frag-later",
		"ip4-udp-frag-first",
		"arp",
		"ndp-ns",
		"ndp-na",
		"non-ip",
		"ip4-padded",
		"ip4-gre",
		"icmp4-echoreply",
		"icmp4-err-icmp",
		"icmp6-err-quoting-frag",
	};
	union sl_addr nd_target = pb_a6(PB_VIP6);

	pb_init(b);
	snprintf(b->name, sizeof(b->name), "%s", names[x]);
	pb_eth(b, 0);
	switch (x) {
	case PB_X_IP4_FRAG_FIRST:
		pb_ip4_ex(b, PB_CLIENT4, PB_VIP4, 0, SL_IP4_MF);
		pb_tcp(b, PB_SPORT, PB_DPORT, SL_TCP_ACK, 0);
		pb_data(b, 40);
		break;
	case PB_X_IP4_FRAG_LATER:
		pb_ip4_ex(b, PB_CLIENT4, PB_VIP4, 0, 185);
		pb_set_next(b, 0, SL_IPPROTO_TCP);
		pb_data(b, 40);
		break;
	case PB_X_IP6_FRAG_FIRST:
		pb_ip6(b, pb_a6(PB_CLIENT6), pb_a6(PB_VIP6));
		pb_ip6_frag(b, 0, 1);
		pb_udp(b, PB_SPORT, PB_DPORT);
		pb_data(b, 40);
		break;
	case PB_X_IP6_FRAG_LATER:
		pb_ip6(b, pb_a6(PB_CLIENT6), pb_a6(PB_VIP6));
		pb_ip6_ext(b, SL_IP6_NH_DSTOPTS, 8);
		pb_ip6_frag(b, 1448, 0);
		pb_set_next(b, 0, SL_IPPROTO_UDP);
		pb_data(b, 40);
		break;
	case PB_X_IP4_UDP_FRAG_FIRST:
		pb_ip4_ex(b, PB_CLIENT4, PB_VIP4, 0, SL_IP4_MF);
		pb_udp(b, PB_SPORT, PB_DPORT);
		pb_data(b, 40);
		break;
	case PB_X_ARP:
		pb_arp(b, SL_ARP_OP_REQUEST);
		break;
	case PB_X_NDP_NS:
	case PB_X_NDP_NA:
		pb_ip6(b, pb_a6(PB_CLIENT6), pb_a6(PB_VIP6));
		((struct sl_ip6hdr *)(b->buf + b->off[1]))->hop_limit = 255;
		pb_icmp(b,
			x == PB_X_NDP_NS ? SL_ICMP6_ND_NEIGH_SOLICIT
					 : SL_ICMP6_ND_NEIGH_ADVERT,
			0);
		memcpy(pb_push(b, PB_DATA, 16), &nd_target, 16);
		break;
	case PB_X_NON_IP:
		pb_set_next(b, 0x88cc, 0); /* LLDP */
		pb_data(b, 46);
		break;
	case PB_X_IP4_PADDED:
		pb_ip4(b, PB_CLIENT4, PB_VIP4);
		pb_tcp(b, PB_SPORT, PB_DPORT, SL_TCP_ACK, 0);
		pb_finish(b);
		memset(b->buf + b->len, 0, 60 - b->len); /* Ethernet minimum */
		b->len = 60;
		return;
	case PB_X_IP4_GRE:
		pb_ip4(b, PB_CLIENT4, PB_VIP4);
		pb_set_next(b, 0, 47);
		pb_data(b, 24);
		break;
	case PB_X_ICMP4_ECHOREPLY:
		pb_ip4(b, PB_CLIENT4, PB_VIP4);
		pb_icmp(b, SL_ICMP_ECHOREPLY, 0);
		pb_data(b, 8);
		break;
	case PB_X_IP4_ICMP_ERR_ICMP:
		pb_ip4(b, PB_ROUTER4, PB_VIP4);
		pb_icmp(b, SL_ICMP_TIME_EXCEEDED, 0);
		pb_ip4(b, PB_VIP4, PB_CLIENT4);
		pb_icmp(b, SL_ICMP_ECHOREPLY, 0);
		break;
	case PB_X_IP6_ICMP_ERR_FRAG:
		pb_ip6(b, pb_a6(PB_ROUTER6), pb_a6(PB_VIP6));
		pb_icmp(b, SL_ICMP6_DEST_UNREACH, 4);
		pb_ip6(b, pb_a6(PB_VIP6), pb_a6(PB_CLIENT6));
		pb_ip6_frag(b, 0, 1);
		pb_udp(b, 53, PB_SPORT);
		pb_data(b, 8);
		break;
	default:
		break;
	}
	pb_finish(b);
}

#define PB_CORPUS_N (PB_COMBOS + PB_X_N)

/* Corpus entry i, 0 <= i < PB_CORPUS_N. */
static inline void pb_corpus(struct pb *b, int i)
{
	int l2, l3, l4;

	if (i < PB_COMBOS)
		pb_combo(b, i, &l2, &l3, &l4);
	else
		pb_extra(b, i - PB_COMBOS);
}

#endif /* SLUICE_TEST_PKTBUILD_H */
