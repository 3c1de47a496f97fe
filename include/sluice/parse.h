/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parse.h: header-only, bounds-checked packet parser shared by the DPDK fast
 * path (rte_mbuf data), the XDP program (xdp_md data/data_end) and the tests
 * (byte arrays).
 *
 * Invariants, so the same code passes the BPF verifier and never reads out of
 * bounds on the host:
 *  - every read is preceded by a check of the header's last byte against
 *    `end`, in the form `if ((const sl_u8 *)(h + 1) > end)`;
 *  - positions are integer offsets from `data` and pointers are only ever
 *    formed as data + offset: no pointer subtraction or pointer-to-pointer
 *    comparison other than against `end`, which an XDP program loaded
 *    without CAP_PERFMON may not do;
 *  - loops have constant bounds (VLAN tags, IPv6 extension headers);
 *  - everything is static always_inline; no recursion, no libc.
 *
 * Header structs are packed on the host: an IPv4 address in a frame sits at
 * offset 26, so no field may be assumed aligned. In BPF they have the same
 * layout (every field already sits at a multiple of its size; the size
 * asserts hold either way) but their natural alignment (SL_PKT_HDR), since
 * clang's BPF backend reads a packed field byte by byte and an aligned one
 * with one load of its width. The verifier allows such a load at any
 * packet offset on CPUs with efficient unaligned access (x86-64, arm64),
 * and the JIT emits a plain load. Field types carry the byte order.
 *
 * Fragment rule (DESIGN.md, fast path step 1): the key of any IP fragment,
 * first or later, has sport = dport = 0, so every fragment of a datagram
 * hashes on (addresses, protocol) alone and reaches the same backend. The
 * first fragment's real ports are still readable at l4_off.
 */
#ifndef SLUICE_PARSE_H
#define SLUICE_PARSE_H

#include "drop.h"
#include "flow.h"
#include "types.h"

/* Ethertypes, host order; compare against sl_ntohs(eth->proto). */
enum sl_ethertype {
	SL_ETH_P_IP = 0x0800,
	SL_ETH_P_ARP = 0x0806,
	SL_ETH_P_8021Q = 0x8100,
	SL_ETH_P_IPV6 = 0x86DD,
	SL_ETH_P_8021AD = 0x88A8,
};

#if defined(__bpf__)
#define SL_PKT_HDR
#else
#define SL_PKT_HDR SL_PACKED
#endif

#define SL_ETH_ALEN 6
#define SL_VLAN_MAX 2	 /* 802.1ad outer + 802.1Q inner */
#define SL_IP6_MAX_EXT 6 /* extension headers walked before giving up */
#ifndef SL_IP6_MAX_EXT_QUOTED
#define SL_IP6_MAX_EXT_QUOTED 6
#endif

struct sl_ethhdr {
	sl_u8 dst[SL_ETH_ALEN];
	sl_u8 src[SL_ETH_ALEN];
	sl_be16 proto;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_ethhdr) == 14, "Ethernet header is 14 bytes");

/* The 4 bytes after a TPID: tag control and the encapsulated ethertype. */
struct sl_vlanhdr {
	sl_be16 tci;
	sl_be16 proto;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_vlanhdr) == 4, "VLAN tag is 4 bytes");

#define SL_VLAN_VID_MASK 0x0fff

struct sl_iphdr {
	sl_u8 ver_ihl; /* version << 4 | header length in 32-bit words */
	sl_u8 tos;
	sl_be16 tot_len;
	sl_be16 id;
	sl_be16 frag_off; /* flags (host order SL_IP4_DF/MF) | offset in 8 bytes */
	sl_u8 ttl;
	sl_u8 protocol;
	sl_be16 check;
	sl_be32 saddr;
	sl_be32 daddr;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_iphdr) == 20, "IPv4 header is 20 bytes");

/* Host-order bits of sl_ntohs(ip->frag_off). */
enum sl_ip4_frag {
	SL_IP4_DF = 0x4000,
	SL_IP4_MF = 0x2000,
	SL_IP4_OFFMASK = 0x1fff,
};

#define SL_IP4_VERSION(ip) ((ip)->ver_ihl >> 4)
#define SL_IP4_IHL(ip) ((ip)->ver_ihl & 0x0f)

struct sl_ip6hdr {
	sl_be32 ver_tc_flow; /* version 4 bits, traffic class 8, flow label 20 */
	sl_be16 payload_len;
	sl_u8 nexthdr;
	sl_u8 hop_limit;
	union sl_addr saddr;
	union sl_addr daddr;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_ip6hdr) == 40, "IPv6 header is 40 bytes");

#define SL_IP6_VERSION(ip6) (((const sl_u8 *)(ip6))[0] >> 4)

/* IPv6 next-header values that are extension headers or chain terminators. */
enum sl_ip6_nexthdr {
	SL_IP6_NH_HOPOPTS = 0,
	SL_IP6_NH_ROUTING = 43,
	SL_IP6_NH_FRAGMENT = 44,
	SL_IP6_NH_ESP = 50,
	SL_IP6_NH_AH = 51,
	SL_IP6_NH_NONE = 59,
	SL_IP6_NH_DSTOPTS = 60,
};

/*
 * Common prefix of hop-by-hop, routing and destination options headers
 * (length (hdrlen + 1) * 8) and of AH (length (hdrlen + 2) * 4).
 */
struct sl_ip6_exthdr {
	sl_u8 nexthdr;
	sl_u8 hdrlen;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_ip6_exthdr) == 2,
		 "ext header prefix is 2 bytes");

struct sl_ip6_fraghdr {
	sl_u8 nexthdr;
	sl_u8 reserved;
	sl_be16 frag_off; /* offset in 8 bytes << 3 | SL_IP6_FRAG_MF */
	sl_be32 id;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_ip6_fraghdr) == 8,
		 "fragment header is 8 bytes");

/* Host-order bits of sl_ntohs(fh->frag_off). */
enum sl_ip6_frag {
	SL_IP6_FRAG_MF = 0x0001,
	SL_IP6_FRAG_OFFMASK = 0xfff8,
};

struct sl_tcphdr {
	sl_be16 source;
	sl_be16 dest;
	sl_be32 seq;
	sl_be32 ack_seq;
	sl_u8 doff_res; /* data offset in 32-bit words << 4 */
	sl_u8 flags;	/* enum sl_tcp_flag */
	sl_be16 window;
	sl_be16 check;
	sl_be16 urg_ptr;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_tcphdr) == 20, "TCP header is 20 bytes");

#define SL_TCP_DOFF(th) ((th)->doff_res >> 4)

enum sl_tcp_flag {
	SL_TCP_FIN = 0x01,
	SL_TCP_SYN = 0x02,
	SL_TCP_RST = 0x04,
	SL_TCP_PSH = 0x08,
	SL_TCP_ACK = 0x10,
	SL_TCP_URG = 0x20,
	SL_TCP_ECE = 0x40,
	SL_TCP_CWR = 0x80,
};

struct sl_udphdr {
	sl_be16 source;
	sl_be16 dest;
	sl_be16 len;
	sl_be16 check;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_udphdr) == 8, "UDP header is 8 bytes");

/* ICMP and ICMPv6 share this 8-byte header. */
struct sl_icmphdr {
	sl_u8 type;
	sl_u8 code;
	sl_be16 checksum;
	union {
		sl_be32 data;
		struct {
			sl_be16 id;
			sl_be16 seq;
		} SL_PKT_HDR echo;
		struct {
			sl_be16 unused;
			sl_be16 mtu;
		} SL_PKT_HDR frag; /* ICMPv4 fragmentation needed */
		sl_be32 mtu6;	   /* ICMPv6 packet too big */
	} SL_PKT_HDR rest;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_icmphdr) == 8, "ICMP header is 8 bytes");

enum sl_icmp_type {
	SL_ICMP_ECHOREPLY = 0,
	SL_ICMP_DEST_UNREACH = 3,
	SL_ICMP_ECHO = 8,
	SL_ICMP_TIME_EXCEEDED = 11,
	SL_ICMP_PARAMETERPROB = 12,
};

enum sl_icmp_code {
	SL_ICMP_FRAG_NEEDED = 4, /* with SL_ICMP_DEST_UNREACH */
};

enum sl_icmp6_type {
	SL_ICMP6_DEST_UNREACH = 1,
	SL_ICMP6_PKT_TOOBIG = 2,
	SL_ICMP6_TIME_EXCEED = 3,
	SL_ICMP6_PARAMPROB = 4,
	SL_ICMP6_ECHO_REQUEST = 128,
	SL_ICMP6_ECHO_REPLY = 129,
	SL_ICMP6_ND_NEIGH_SOLICIT = 135,
	SL_ICMP6_ND_NEIGH_ADVERT = 136,
};

/* Neighbor solicitation / advertisement body up to the target (RFC 4861). */
struct sl_nd_msg {
	struct sl_icmphdr icmp; /* rest.data: NA flags, else reserved */
	union sl_addr target;
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_nd_msg) == 24,
		 "NS/NA up to target is 24 bytes");

/* ARP for Ethernet and IPv4, the only kind sluice answers. */
struct sl_arphdr {
	sl_be16 htype;
	sl_be16 ptype;
	sl_u8 hlen;
	sl_u8 plen;
	sl_be16 oper;
	sl_u8 sha[SL_ETH_ALEN];
	sl_u8 spa[4];
	sl_u8 tha[SL_ETH_ALEN];
	sl_u8 tpa[4];
} SL_PKT_HDR;
SL_STATIC_ASSERT(sizeof(struct sl_arphdr) == 28,
		 "Ethernet/IPv4 ARP is 28 bytes");

enum sl_arp_op {
	SL_ARP_HTYPE_ETHER = 1,
	SL_ARP_OP_REQUEST = 1,
	SL_ARP_OP_REPLY = 2,
};

/* What sl_parse found; negative returns are -enum sl_drop instead. */
enum sl_pkt_kind {
	SL_PKT_NON_IP = 0, /* neither IP nor Ethernet/IPv4 ARP */
	SL_PKT_ARP,	   /* ARP, htype Ethernet, ptype IPv4, lengths 6/4 */
	SL_PKT_IP_OTHER, /* IP with another protocol, or a later ICMP fragment */
	SL_PKT_L4,	 /* TCP or UDP: key filled (ports 0 if fragment) */
	SL_PKT_ICMP_ECHO, /* echo request, v4 or v6: key has addresses */
	SL_PKT_ICMP_ERR, /* error quoting a packet: key is the quoted flow, reversed */
	SL_PKT_ICMP_OTHER, /* any other ICMP / ICMPv6 message */
	SL_PKT_NDP,	   /* ICMPv6 neighbor solicitation / advertisement */
	SL_PKT_KIND_MAX,
};

enum sl_pkt_flag {
	SL_PKT_F_FRAG = 0x01,	    /* any fragment (MF set or offset != 0) */
	SL_PKT_F_FRAG_LATER = 0x02, /* offset != 0: there is no L4 header */
	SL_PKT_F_DF = 0x04,	    /* IPv4 don't-fragment */
	SL_PKT_F_ICMP_INNER =
		0x08, /* key comes from the packet an ICMP error quotes */
};

/*
 * The parse result. Zeroed whole by sl_parse, so it has no uninitialised
 * bytes (tests compare it byte for byte between BPF and the host).
 *
 * key: for IP, src/dst/proto/family of the packet; ports for TCP/UDP that
 * are not fragments. For SL_PKT_ICMP_ERR it is the quoted packet's flow
 * turned around: the quoted packet went VIP -> client, so key.src is its
 * destination, key.dst its source, key.sport its dport, key.dport its sport
 * and key.proto its protocol: the key of the client -> VIP flow it belongs
 * to. outer_src / outer_dst then hold the ICMP packet's own addresses.
 */
struct sl_pkt {
	struct sl_flow_key key;
	union sl_addr outer_src;
	union sl_addr outer_dst;
	sl_u16 l3_off; /* IP or ARP header, from frame start */
	sl_u16 l4_off; /* upper-layer header (payload of a later fragment) */
	sl_u16 l3_len; /* per header: IPv4 tot_len, IPv6 40 + payload_len */
	sl_u16 inner_l3_off;	      /* ICMP errors: quoted IP header */
	sl_u16 inner_l4_off;	      /* ICMP errors: quoted L4 header */
	sl_u16 ethertype;	      /* host order, after the VLAN tags */
	sl_u16 vlan_tci[SL_VLAN_MAX]; /* host order, outer first */
	sl_u8 nvlan;
	sl_u8 family;  /* SL_AF_INET / SL_AF_INET6, 0 if not IP */
	sl_u8 l4proto; /* upper-layer protocol of the (outer) packet */
	sl_u8 flags;   /* enum sl_pkt_flag */
	sl_u8 ttl;     /* or hop limit */
	sl_u8 tcp_flags;
	sl_u8 icmp_type;
	sl_u8 icmp_code;
};
SL_STATIC_ASSERT(sizeof(struct sl_pkt) == 96, "sl_pkt has no hidden padding");

/*
 * Header offsets never exceed 22 (L2) + 40 + 6 * 2048 (outer IPv6 chain) +
 * 8 (ICMP) + 40 + 6 * 2048 (quoted chain) = 24,686, so masking one with
 * SL_PARSE_OFF_MASK changes nothing. It does widen what the BPF verifier
 * knows about the offset to one range, so the states reached through
 * different extension-header chains compare equal and are pruned; without
 * it the unrolled walks explode past the 1M-instruction limit. The empty asm
 * keeps the compiler from proving the mask redundant and dropping it.
 */
#define SL_PARSE_OFF_MASK 0x7fffu
#define SL_PARSE_WIDEN(v, mask)                 \
	do {                                    \
		__asm__ volatile("" : "+r"(v)); \
		(v) &= (mask);                  \
	} while (0)
#define SL_PARSE_OFF_WIDEN(off) SL_PARSE_WIDEN(off, SL_PARSE_OFF_MASK)
/* Same for an end offset: at most 22 + 40 + 65535, so below 0x1ffff. */
#define SL_PARSE_END_MASK 0x1ffffu

/* One IP header and its extension headers, outer or quoted. */
struct sl_l3 {
	union sl_addr src;
	union sl_addr dst;
	sl_u32 l4_off;	/* upper-layer header */
	sl_u32 end_off; /* one past the IP packet, per its length field */
	sl_u32 len;	/* length field: tot_len or 40 + payload_len */
	sl_u8 family;
	sl_u8 proto;
	sl_u8 flags;
	sl_u8 ttl;
};

/*
 * Ethernet and up to two VLAN tags (0x88A8 or 0x8100 outer, 0x8100 inner).
 * Returns the offset of the L3 header, or -drop.
 */
static SL_ALWAYS_INLINE int sl_parse_l2(const sl_u8 *data, const sl_u8 *end,
					struct sl_pkt *p)
{
	const struct sl_ethhdr *eth = (const struct sl_ethhdr *)data;
	sl_u32 off = sizeof(*eth);
	sl_u16 proto;
	int i;

	if ((const sl_u8 *)(eth + 1) > end)
		return -SL_DROP_TRUNCATED;
	proto = sl_ntohs(eth->proto);
	SL_UNROLL
	for (i = 0; i < SL_VLAN_MAX; i++) {
		const struct sl_vlanhdr *vh;

		if (proto != SL_ETH_P_8021Q && proto != SL_ETH_P_8021AD)
			break;
		if (i > 0 && proto == SL_ETH_P_8021AD)
			return -SL_DROP_BAD_L2; /* S-tag inside a tag */
		vh = (const struct sl_vlanhdr *)(data + off);
		if ((const sl_u8 *)(vh + 1) > end)
			return -SL_DROP_TRUNCATED;
		p->vlan_tci[i] = sl_ntohs(vh->tci);
		p->nvlan = (sl_u8)(i + 1);
		proto = sl_ntohs(vh->proto);
		off += sizeof(*vh);
	}
	if (proto == SL_ETH_P_8021Q || proto == SL_ETH_P_8021AD)
		return -SL_DROP_VLAN_DEPTH;
	p->ethertype = proto;
	SL_PARSE_OFF_WIDEN(off);
	return (int)off;
}

/*
 * IPv4 header at off. Checks version, ihl >= 5, the header with options
 * present, tot_len >= header. Does not compare tot_len with the bytes
 * present: a quoted header in an ICMP error describes a longer original.
 */
static SL_ALWAYS_INLINE int sl_parse_ip4(const sl_u8 *data, const sl_u8 *end,
					 sl_u32 off, struct sl_l3 *l3)
{
	const struct sl_iphdr *ip = (const struct sl_iphdr *)(data + off);
	sl_u32 hlen, tot_len;
	sl_u16 frag;

	if ((const sl_u8 *)(ip + 1) > end)
		return -SL_DROP_TRUNCATED;
	if (SL_IP4_VERSION(ip) != 4)
		return -SL_DROP_BAD_IP_VERSION;
	hlen = (sl_u32)SL_IP4_IHL(ip) * 4;
	if (hlen < sizeof(*ip))
		return -SL_DROP_BAD_IP_HDR;
	tot_len = sl_ntohs(ip->tot_len);
	if (tot_len < hlen)
		return -SL_DROP_BAD_IP_HDR;
	if (data + off + hlen > end)
		return -SL_DROP_TRUNCATED;
	frag = sl_ntohs(ip->frag_off);
	if (frag & SL_IP4_DF)
		l3->flags |= SL_PKT_F_DF;
	if (frag & (SL_IP4_MF | SL_IP4_OFFMASK))
		l3->flags |= SL_PKT_F_FRAG;
	if (frag & SL_IP4_OFFMASK)
		l3->flags |= SL_PKT_F_FRAG_LATER;
	l3->family = SL_AF_INET;
	l3->src.v4 = ip->saddr;
	l3->dst.v4 = ip->daddr;
	l3->proto = ip->protocol;
	l3->ttl = ip->ttl;
	l3->len = tot_len;
	l3->l4_off = off + hlen;
	l3->end_off = off + tot_len;
	return 0;
}

/*
 * IPv6 header at off and its extension headers, at most SL_IP6_MAX_EXT of
 * them, none past lim (an offset; 0: this packet's own end). A fragment
 * header with offset != 0 ends the walk: what follows is not a header.
 */
static SL_ALWAYS_INLINE int sl_parse_ip6(const sl_u8 *data, const sl_u8 *end,
					 sl_u32 off, sl_u32 lim, int max_ext,
					 struct sl_l3 *l3)
{
	const struct sl_ip6hdr *ip6 = (const struct sl_ip6hdr *)(data + off);
	sl_u8 nh;
	int i;

	if ((const sl_u8 *)(ip6 + 1) > end)
		return -SL_DROP_TRUNCATED;
	if (SL_IP6_VERSION(ip6) != 6)
		return -SL_DROP_BAD_IP_VERSION;
	l3->family = SL_AF_INET6;
	l3->src = ip6->saddr;
	l3->dst = ip6->daddr;
	l3->ttl = ip6->hop_limit;
	l3->len = sizeof(*ip6) + (sl_u32)sl_ntohs(ip6->payload_len);
	l3->end_off = off + l3->len;
	if (!lim)
		lim = l3->end_off;
	nh = ip6->nexthdr;
	off += sizeof(*ip6);
	SL_UNROLL
	for (i = 0; i < max_ext; i++) {
		const struct sl_ip6_exthdr *eh;
		const struct sl_ip6_fraghdr *fh;
		sl_u16 frag;
		sl_u32 hlen;

		switch (nh) {
		case SL_IP6_NH_HOPOPTS:
		case SL_IP6_NH_ROUTING:
		case SL_IP6_NH_DSTOPTS:
		case SL_IP6_NH_AH:
			eh = (const struct sl_ip6_exthdr *)(data + off);
			if ((const sl_u8 *)(eh + 1) > end)
				return -SL_DROP_TRUNCATED;
			if (nh == SL_IP6_NH_AH)
				hlen = ((sl_u32)eh->hdrlen + 2) * 4;
			else
				hlen = ((sl_u32)eh->hdrlen + 1) * 8;
			if (off + hlen > lim || data + off + hlen > end)
				return -SL_DROP_TRUNCATED;
			nh = eh->nexthdr;
			off += hlen;
			SL_PARSE_OFF_WIDEN(off);
			break;
		case SL_IP6_NH_FRAGMENT:
			fh = (const struct sl_ip6_fraghdr *)(data + off);
			if ((const sl_u8 *)(fh + 1) > end ||
			    off + sizeof(*fh) > lim)
				return -SL_DROP_TRUNCATED;
			frag = sl_ntohs(fh->frag_off);
			/* An atomic fragment (offset 0, no MF) is a whole packet (RFC 6946). */
			if (frag & (SL_IP6_FRAG_OFFMASK | SL_IP6_FRAG_MF))
				l3->flags |= SL_PKT_F_FRAG;
			nh = fh->nexthdr;
			off += sizeof(*fh);
			SL_PARSE_OFF_WIDEN(off);
			if (frag & SL_IP6_FRAG_OFFMASK) {
				l3->flags |= SL_PKT_F_FRAG_LATER;
				goto done;
			}
			break;
		default:
			goto done;
		}
	}
	if (nh == SL_IP6_NH_HOPOPTS || nh == SL_IP6_NH_ROUTING ||
	    nh == SL_IP6_NH_DSTOPTS || nh == SL_IP6_NH_AH ||
	    nh == SL_IP6_NH_FRAGMENT)
		return -SL_DROP_BAD_IP6_EXT;
done:
	l3->proto = nh;
	l3->l4_off = off;
	return 0;
}

static SL_ALWAYS_INLINE int sl_parse_tcp(const sl_u8 *data, const sl_u8 *end,
					 const struct sl_l3 *l3,
					 struct sl_pkt *p)
{
	const struct sl_tcphdr *th =
		(const struct sl_tcphdr *)(data + l3->l4_off);
	sl_u32 hlen;

	if ((const sl_u8 *)(th + 1) > end ||
	    l3->l4_off + sizeof(*th) > l3->end_off)
		return -SL_DROP_TRUNCATED;
	hlen = (sl_u32)SL_TCP_DOFF(th) * 4;
	if (hlen < sizeof(*th))
		return -SL_DROP_BAD_L4;
	if (l3->l4_off + hlen > l3->end_off || data + l3->l4_off + hlen > end)
		return -SL_DROP_TRUNCATED;
	p->tcp_flags = th->flags;
	if (!(l3->flags & SL_PKT_F_FRAG)) {
		p->key.sport = th->source;
		p->key.dport = th->dest;
	}
	return SL_PKT_L4;
}

static SL_ALWAYS_INLINE int sl_parse_udp(const sl_u8 *data, const sl_u8 *end,
					 const struct sl_l3 *l3,
					 struct sl_pkt *p)
{
	const struct sl_udphdr *uh =
		(const struct sl_udphdr *)(data + l3->l4_off);
	sl_u32 len;

	if ((const sl_u8 *)(uh + 1) > end ||
	    l3->l4_off + sizeof(*uh) > l3->end_off)
		return -SL_DROP_TRUNCATED;
	len = sl_ntohs(uh->len);
	if (len < sizeof(*uh))
		return -SL_DROP_BAD_L4;
	/* A first fragment carries only part of the datagram uh->len covers. */
	if (l3->flags & SL_PKT_F_FRAG)
		return SL_PKT_L4;
	if (l3->l4_off + len > l3->end_off)
		return -SL_DROP_TRUNCATED;
	p->key.sport = uh->source;
	p->key.dport = uh->dest;
	return SL_PKT_L4;
}

/*
 * The packet an ICMP error quotes: its IP header (same family as the error)
 * and the first 8 bytes of its TCP/UDP header, which hold the ports. The
 * quote may be shorter than its own length fields claim but must lie inside
 * the ICMP packet (outer->end_off).
 */
static SL_ALWAYS_INLINE int sl_parse_quoted(const sl_u8 *data, const sl_u8 *end,
					    const struct sl_l3 *outer,
					    sl_u32 off, struct sl_pkt *p)
{
	struct sl_l3 in;
	const struct sl_udphdr *uh;
	sl_u32 lim = outer->end_off;
	int ret;

	sl_memzero(&in, sizeof(in));
	if (outer->family == SL_AF_INET) {
		ret = sl_parse_ip4(data, end, off, &in);
		if (ret < 0)
			return ret;
		if (in.l4_off > lim)
			return -SL_DROP_TRUNCATED;
	} else {
		ret = sl_parse_ip6(data, end, off, lim, SL_IP6_MAX_EXT_QUOTED,
				   &in);
		if (ret < 0)
			return ret;
	}
	p->inner_l3_off = (sl_u16)off;
	p->inner_l4_off = (sl_u16)in.l4_off;
	p->flags |= SL_PKT_F_ICMP_INNER;
	p->outer_src = outer->src;
	p->outer_dst = outer->dst;
	p->key.src = in.dst;
	p->key.dst = in.src;
	p->key.proto = in.proto;
	if ((in.proto == SL_IPPROTO_TCP || in.proto == SL_IPPROTO_UDP) &&
	    !(in.flags & SL_PKT_F_FRAG_LATER)) {
		/* TCP and UDP both start with the two ports. */
		uh = (const struct sl_udphdr *)(data + in.l4_off);
		if ((const sl_u8 *)(uh + 1) > end ||
		    in.l4_off + sizeof(*uh) > lim)
			return -SL_DROP_TRUNCATED;
		p->key.sport = uh->dest;
		p->key.dport = uh->source;
	}
	return SL_PKT_ICMP_ERR;
}

static SL_ALWAYS_INLINE int sl_icmp_is_error(sl_u8 family, sl_u8 type)
{
	if (family == SL_AF_INET)
		return type == SL_ICMP_DEST_UNREACH ||
		       type == SL_ICMP_TIME_EXCEEDED ||
		       type == SL_ICMP_PARAMETERPROB;
	return type == SL_ICMP6_DEST_UNREACH || type == SL_ICMP6_PKT_TOOBIG ||
	       type == SL_ICMP6_TIME_EXCEED || type == SL_ICMP6_PARAMPROB;
}

/* ICMP in IPv4 or ICMPv6 in IPv6 (the caller checked the pairing). */
static SL_ALWAYS_INLINE int sl_parse_icmp(const sl_u8 *data, const sl_u8 *end,
					  const struct sl_l3 *l3,
					  struct sl_pkt *p)
{
	const struct sl_icmphdr *ih =
		(const struct sl_icmphdr *)(data + l3->l4_off);
	const struct sl_nd_msg *nd;
	sl_u8 type;

	if ((const sl_u8 *)(ih + 1) > end ||
	    l3->l4_off + sizeof(*ih) > l3->end_off)
		return -SL_DROP_TRUNCATED;
	type = ih->type;
	p->icmp_type = type;
	p->icmp_code = ih->code;
	if (sl_icmp_is_error(l3->family, type))
		return sl_parse_quoted(data, end, l3, l3->l4_off + sizeof(*ih),
				       p);
	if (l3->family == SL_AF_INET)
		return type == SL_ICMP_ECHO ? SL_PKT_ICMP_ECHO
					    : SL_PKT_ICMP_OTHER;
	if (type == SL_ICMP6_ECHO_REQUEST)
		return SL_PKT_ICMP_ECHO;
	if (type == SL_ICMP6_ND_NEIGH_SOLICIT ||
	    type == SL_ICMP6_ND_NEIGH_ADVERT) {
		nd = (const struct sl_nd_msg *)ih;
		if ((const sl_u8 *)(nd + 1) > end ||
		    l3->l4_off + sizeof(*nd) > l3->end_off)
			return -SL_DROP_TRUNCATED;
		return SL_PKT_NDP;
	}
	return SL_PKT_ICMP_OTHER;
}

static SL_ALWAYS_INLINE int sl_parse_arp(const sl_u8 *data, const sl_u8 *end,
					 sl_u32 off, struct sl_pkt *p)
{
	const struct sl_arphdr *arp = (const struct sl_arphdr *)(data + off);

	if ((const sl_u8 *)(arp + 1) > end)
		return -SL_DROP_TRUNCATED;
	if (arp->htype != SL_BE16(SL_ARP_HTYPE_ETHER) ||
	    arp->ptype != SL_BE16(SL_ETH_P_IP) || arp->hlen != SL_ETH_ALEN ||
	    arp->plen != 4)
		return SL_PKT_NON_IP;
	p->l3_len = sizeof(*arp);
	return SL_PKT_ARP;
}

/*
 * Parse the frame [data, end). Returns an enum sl_pkt_kind (>= 0) with *p
 * filled, or -SL_DROP_* (TRUNCATED, BAD_L2, VLAN_DEPTH, BAD_IP_VERSION,
 * BAD_IP_HDR, BAD_IP6_EXT, BAD_L4) with *p partly filled. Bytes after the
 * IP packet (Ethernet padding) are ignored; a packet shorter than its IP
 * length is TRUNCATED.
 */
static SL_ALWAYS_INLINE int sl_parse(const sl_u8 *data, const sl_u8 *end,
				     struct sl_pkt *p)
{
	struct sl_l3 l3;
	int ret;

	sl_memzero(p, sizeof(*p));
	sl_memzero(&l3, sizeof(l3));
	ret = sl_parse_l2(data, end, p);
	if (ret < 0)
		return ret;
	p->l3_off = (sl_u16)ret;
	switch (p->ethertype) {
	case SL_ETH_P_IP:
		ret = sl_parse_ip4(data, end, p->l3_off, &l3);
		break;
	case SL_ETH_P_IPV6:
		ret = sl_parse_ip6(data, end, p->l3_off, 0, SL_IP6_MAX_EXT,
				   &l3);
		break;
	case SL_ETH_P_ARP:
		return sl_parse_arp(data, end, p->l3_off, p);
	default:
		return SL_PKT_NON_IP;
	}
	if (ret < 0)
		return ret;
	if (data + l3.end_off > end)
		return -SL_DROP_TRUNCATED;
	p->l4_off = (sl_u16)l3.l4_off;
	p->l3_len = (sl_u16)l3.len;
	p->family = l3.family;
	p->l4proto = l3.proto;
	p->flags = l3.flags;
	p->ttl = l3.ttl;
	p->key.family = l3.family;
	p->key.proto = l3.proto;
	p->key.src = l3.src;
	p->key.dst = l3.dst;

	if (l3.proto == SL_IPPROTO_TCP || l3.proto == SL_IPPROTO_UDP) {
		if (l3.flags & SL_PKT_F_FRAG_LATER)
			return SL_PKT_L4;
		if (l3.proto == SL_IPPROTO_TCP)
			return sl_parse_tcp(data, end, &l3, p);
		return sl_parse_udp(data, end, &l3, p);
	}
	if ((l3.family == SL_AF_INET && l3.proto == SL_IPPROTO_ICMP) ||
	    (l3.family == SL_AF_INET6 && l3.proto == SL_IPPROTO_ICMPV6)) {
		if (l3.flags & SL_PKT_F_FRAG_LATER)
			return SL_PKT_IP_OTHER;
		return sl_parse_icmp(data, end, &l3, p);
	}
	return SL_PKT_IP_OTHER;
}

/*
 * The fast parsers' L4 part: the TCP or UDP header at l4, after an IP
 * header of hl bytes, in an IP packet of tot bytes (its length field) that
 * lies inside the frame; the caller has checked that 8 bytes from l4 do.
 * The tests are sl_parse_tcp/udp's, narrowed. Returns 1 (*tcp_flags set
 * for TCP), or 0 for anything sl_parse() must judge.
 */
static SL_ALWAYS_INLINE int sl_parse_fast_l4(const sl_u8 *l4, const sl_u8 *end,
					     sl_u32 hl, sl_u32 tot, sl_u8 proto,
					     sl_u8 *tcp_flags)
{
	const struct sl_tcphdr *th = (const struct sl_tcphdr *)l4;
	const struct sl_udphdr *uh = (const struct sl_udphdr *)l4;
	sl_u32 len;

	if (proto == SL_IPPROTO_TCP) {
		/* tot covers the TCP header before it is read; the pointer
		 * test says the same to the BPF verifier. */
		if (tot < hl + 20 || (const sl_u8 *)(th + 1) > end)
			return 0;
		len = (sl_u32)SL_TCP_DOFF(th) * 4;
		if (len < 20 || hl + len > tot)
			return 0;
		*tcp_flags = th->flags;
		return 1;
	}
	if (proto == SL_IPPROTO_UDP) {
		if (tot < hl + 8)
			return 0;
		len = sl_ntohs(uh->len);
		return len >= 8 && hl + len <= tot;
	}
	return 0;
}

/* The rest of *p as sl_parse() leaves it for a plain TCP/UDP packet. */
static SL_ALWAYS_INLINE void sl_parse_fast_fill(struct sl_pkt *p,
						const sl_u8 *l4, sl_u8 family,
						sl_u16 ethertype, sl_u32 hl,
						sl_u32 tot, sl_u8 proto)
{
	const struct sl_udphdr *uh = (const struct sl_udphdr *)l4;

	p->key.sport = uh->source; /* TCP and UDP both start with the ports */
	p->key.dport = uh->dest;
	p->key.proto = proto;
	p->key.family = family;
	p->l3_off = 14;
	p->l4_off = (sl_u16)(14 + hl);
	p->l3_len = (sl_u16)tot;
	p->ethertype = ethertype;
	p->family = family;
	p->l4proto = proto;
}

/*
 * sl_parse() for the common case only: untagged Ethernet, IPv4 without
 * options, not a fragment, TCP or UDP with its header inside the packet.
 * Fills *p with the same bytes sl_parse() would and returns 1 (the packet
 * is then SL_PKT_L4); returns 0 for anything else, before writing to *p
 * (sl_parse() then handles it, drops included). Each test is one of
 * sl_parse_ip4/tcp/udp's, narrowed. Both dataplanes take it first: the BPF
 * program sees its bounds checks as pointer comparisons with end.
 */
static SL_ALWAYS_INLINE int sl_parse_fast4_end(const sl_u8 *d, const sl_u8 *end,
					       struct sl_pkt *p)
{
	const struct sl_ethhdr *eth = (const struct sl_ethhdr *)d;
	const struct sl_iphdr *ip = (const struct sl_iphdr *)(d + 14);
	sl_u8 tcp_flags = 0;
	sl_u32 tot;

	if (SL_UNLIKELY(d + 14 + 20 + 8 > end))
		return 0;
	if (eth->proto != SL_BE16(SL_ETH_P_IP) || ip->ver_ihl != 0x45 ||
	    (ip->frag_off & SL_BE16(SL_IP4_MF | SL_IP4_OFFMASK)))
		return 0;
	tot = sl_ntohs(ip->tot_len);
	if (d + 14 + tot > end ||
	    !sl_parse_fast_l4(d + 34, end, 20, tot, ip->protocol, &tcp_flags))
		return 0;
	sl_memzero(p, sizeof(*p));
	p->key.src.v4 = ip->saddr;
	p->key.dst.v4 = ip->daddr;
	sl_parse_fast_fill(p, d + 34, SL_AF_INET, SL_ETH_P_IP, 20, tot,
			   ip->protocol);
	p->flags = (ip->frag_off & SL_BE16(SL_IP4_DF)) ? SL_PKT_F_DF : 0;
	p->ttl = ip->ttl;
	p->tcp_flags = tcp_flags;
	return 1;
}

/* sl_parse_fast4_end() on the len bytes at d. */
static SL_ALWAYS_INLINE int sl_parse_fast4(const sl_u8 *d, sl_u32 len,
					   struct sl_pkt *p)
{
	return sl_parse_fast4_end(d, d + len, p);
}

/*
 * The same for IPv6: untagged Ethernet, an IPv6 header whose next header
 * is TCP or UDP (no extension headers), the L4 header inside the packet.
 * Same bytes as sl_parse(); 0 for anything else, before writing to *p.
 */
static SL_ALWAYS_INLINE int sl_parse_fast6_end(const sl_u8 *d, const sl_u8 *end,
					       struct sl_pkt *p)
{
	const struct sl_ethhdr *eth = (const struct sl_ethhdr *)d;
	const struct sl_ip6hdr *ip6 = (const struct sl_ip6hdr *)(d + 14);
	sl_u8 tcp_flags = 0;
	sl_u32 tot;

	if (SL_UNLIKELY(d + 14 + 40 + 8 > end))
		return 0;
	if (eth->proto != SL_BE16(SL_ETH_P_IPV6) || SL_IP6_VERSION(ip6) != 6)
		return 0;
	tot = 40 + (sl_u32)sl_ntohs(ip6->payload_len);
	if (d + 14 + tot > end ||
	    !sl_parse_fast_l4(d + 54, end, 40, tot, ip6->nexthdr, &tcp_flags))
		return 0;
	sl_memzero(p, sizeof(*p));
	p->key.src = ip6->saddr;
	p->key.dst = ip6->daddr;
	sl_parse_fast_fill(p, d + 54, SL_AF_INET6, SL_ETH_P_IPV6, 40, tot,
			   ip6->nexthdr);
	p->ttl = ip6->hop_limit;
	p->tcp_flags = tcp_flags;
	return 1;
}

/*
 * A TCP SYN without ACK opens a new connection. Both dataplanes let such a
 * packet reuse a remembered flow only while its backend is UP: clients
 * reuse ephemeral ports, so an old flow-table entry for the same 5-tuple
 * must not carry a new connection to a drained backend (IPVS does the same
 * with conn_reuse_mode).
 */
static SL_ALWAYS_INLINE int sl_pkt_opens_conn(const struct sl_pkt *p)
{
	return p->key.proto == SL_IPPROTO_TCP &&
	       !(p->flags & SL_PKT_F_ICMP_INNER) &&
	       (p->tcp_flags & (SL_TCP_SYN | SL_TCP_ACK)) == SL_TCP_SYN;
}

#endif /* SLUICE_PARSE_H */
