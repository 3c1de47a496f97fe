// SPDX-License-Identifier: BSD-3-Clause
/*
 * sluice_decap.bpf.c: backend-side decapsulation for backends whose kernel
 * has no ipip/fou module.
 *
 * The load balancer sends a client packet to a backend wrapped in one outer
 * header: IPv4-in-IPv4, IPv6-in-IPv6, IPv4-in-IPv6 (IP protocol 4 or 41), or
 * GUE "variant 1": outer IP / UDP to gue_port / inner IP, no GUE header.
 * This program strips the outer IP (+UDP) header so the frame becomes
 * Ethernet + inner IP, with the Ethernet type taken from the inner version,
 * and hands it to the stack, which delivers it to the VIP held on lo.
 *
 * Two entry points share one parser: sluice_decap_xdp (XDP) and
 * sluice_decap_tc (tc ingress, direct action). Anything that is not
 * encapsulated for us is left untouched. The outer destination is not
 * checked: everything that matches is decapsulated.
 *
 * Invariants: a packet is changed only after the whole outer header and the
 * start of the inner header were checked; an encapsulated packet that cannot
 * be delivered is dropped and counted, never passed half-decapsulated.
 * Counters are per CPU and written without atomics.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "sluice/decap.h"

/*
 * uapi since Linux 6.3; Debian 12's headers are 6.1. Needed by tc when the
 * inner IP version differs from the outer one (skb->protocol must follow).
 */
#define SL_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define SL_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)

#define SL_ETH_P_8021Q 0x8100
#define SL_ETH_P_8021AD 0x88a8
#define SL_IP_MF 0x2000
#define SL_IP_OFFSET 0x1fff

/* Outer IP + UDP and the inner header's first 40 bytes: what tc must read. */
#define SL_TC_PULL_LEN (ETH_HLEN + 4 + 60 + 8 + 40)

/* UDP destination port of GUE, host order; set by the loader before load. */
const volatile __u16 gue_port = SL_DECAP_GUE_PORT;

/* Per-CPU counters, indexed by enum sl_decap_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_DECAP_NSTATS);
	__type(key, __u32);
	__type(value, __u64);
} stats_map SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

enum verdict {
	V_PASS,	 /* not ours: leave untouched */
	V_DECAP, /* strip d->outer_len bytes after the L2 header */
	V_DROP,	 /* ours, but malformed */
};

struct decap {
	__u32 l2_len;	   /* Ethernet, + 4 with an 802.1Q tag */
	__u32 outer_len;   /* outer IP (+ UDP) bytes to remove */
	__be16 inner_type; /* Ethernet type of the inner packet */
	__u8 outer_v6;
	__u8 stat; /* enum sl_decap_stat to count if not dropped */
};

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats_map, &idx);

	if (v)
		(*v)++;
}

/*
 * Checks the inner packet that starts at @inner: its version must be
 * @want_ver (0: either 4 or 6, for GUE) and its fixed header must fit both
 * in the frame and in the @avail bytes that the outer header says it carries.
 */
static __always_inline enum verdict
check_inner(struct decap *d, void *inner, void *end, __u32 avail, __u8 want_ver)
{
	__u8 ver;

	if (inner + 1 > end)
		return V_DROP;
	ver = *(__u8 *)inner >> 4;
	if (want_ver && ver != want_ver)
		return V_DROP;
	if (ver == 4) {
		struct iphdr *ip = inner;

		if ((void *)(ip + 1) > end || avail < sizeof(*ip) ||
		    ip->ihl < 5)
			return V_DROP;
		d->inner_type = bpf_htons(ETH_P_IP);
	} else if (ver == 6) {
		if (inner + sizeof(struct ipv6hdr) > end ||
		    avail < sizeof(struct ipv6hdr))
			return V_DROP;
		d->inner_type = bpf_htons(ETH_P_IPV6);
	} else {
		return V_DROP;
	}
	return V_DECAP;
}

/*
 * Classifies what follows the outer IP header: IPIP, IPv6-in-IP, or GUE
 * (the caller matched the port). @avail: outer payload length by the outer
 * header's own length field, already checked against the frame.
 */
static __always_inline enum verdict parse_l4(struct decap *d, __u8 proto,
					     void *l4, void *end, __u32 avail)
{
	bool v6 = d->outer_v6;

	if (proto == IPPROTO_IPIP) {
		d->stat = v6 ? SL_DECAP_IP4IN6 : SL_DECAP_IPIP4;
		return check_inner(d, l4, end, avail, 4);
	}
	if (proto == IPPROTO_IPV6) {
		d->stat = v6 ? SL_DECAP_IPIP6 : SL_DECAP_IP6IN4;
		return check_inner(d, l4, end, avail, 6);
	}
	d->stat = v6 ? SL_DECAP_GUE6 : SL_DECAP_GUE4;
	if (avail < sizeof(struct udphdr))
		return V_DROP;
	d->outer_len += sizeof(struct udphdr);
	return check_inner(d, l4 + sizeof(struct udphdr), end,
			   avail - sizeof(struct udphdr), 0);
}

static __always_inline bool is_gue(void *l4, void *end)
{
	struct udphdr *udp = l4;

	return (void *)(udp + 1) <= end && udp->dest == bpf_htons(gue_port);
}

/* @pkt_len: bytes from @ip_start to the end of the frame, linear or not. */
static __always_inline enum verdict parse_ip4(struct decap *d, void *ip_start,
					      void *end, __u64 pkt_len)
{
	struct iphdr *ip = ip_start;
	__u32 hlen, tot_len;
	void *l4;

	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
		return V_PASS;
	if (ip->protocol != IPPROTO_IPIP && ip->protocol != IPPROTO_IPV6 &&
	    ip->protocol != IPPROTO_UDP)
		return V_PASS;
	hlen = ip->ihl * 4;
	l4 = ip_start + hlen;
	if (l4 > end)
		return V_PASS;
	if (ip->protocol == IPPROTO_UDP && !is_gue(l4, end))
		return V_PASS;
	/* Ours from here on. A fragment cannot be decapsulated alone. */
	if (ip->frag_off & bpf_htons(SL_IP_MF | SL_IP_OFFSET)) {
		d->stat = SL_DECAP_FRAGS;
		return V_PASS;
	}
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len > pkt_len || tot_len < hlen)
		return V_DROP;
	d->outer_v6 = 0;
	d->outer_len = hlen;
	return parse_l4(d, ip->protocol, l4, end, tot_len - hlen);
}

/*
 * Only encapsulation right after the fixed IPv6 header is ours: the load
 * balancer adds no extension header, so any other next header passes.
 */
static __always_inline enum verdict parse_ip6(struct decap *d, void *ip_start,
					      void *end, __u64 pkt_len)
{
	struct ipv6hdr *ip6 = ip_start;
	void *l4 = ip6 + 1;
	__u32 plen;

	if (l4 > end || ip6->version != 6)
		return V_PASS;
	if (ip6->nexthdr != IPPROTO_IPIP && ip6->nexthdr != IPPROTO_IPV6 &&
	    ip6->nexthdr != IPPROTO_UDP)
		return V_PASS;
	if (ip6->nexthdr == IPPROTO_UDP && !is_gue(l4, end))
		return V_PASS;
	plen = bpf_ntohs(ip6->payload_len);
	/* payload_len 0 is a jumbogram, which needs a hop-by-hop header. */
	if (plen == 0 || sizeof(*ip6) + plen > pkt_len)
		return V_DROP;
	d->outer_v6 = 1;
	d->outer_len = sizeof(*ip6);
	return parse_l4(d, ip6->nexthdr, l4, end, plen);
}

/*
 * @allow_vlan: XDP sees an 802.1Q/802.1ad tag in the frame; tc ingress does
 * not (the kernel moves it into skb->vlan_tci before tc runs), so a tag
 * still in the data there is a second one (QinQ), which we leave alone.
 */
static __always_inline enum verdict
parse(struct decap *d, void *data, void *end, __u64 pkt_len, bool allow_vlan)
{
	struct ethhdr *eth = data;
	__be16 type;

	d->stat = SL_DECAP_PASSED;
	if ((void *)(eth + 1) > end)
		return V_PASS;
	type = eth->h_proto;
	d->l2_len = sizeof(*eth);
	if (type == bpf_htons(SL_ETH_P_8021Q) ||
	    type == bpf_htons(SL_ETH_P_8021AD)) {
		struct vlan_hdr *vh = (void *)(eth + 1);

		if (!allow_vlan || (void *)(vh + 1) > end)
			return V_PASS;
		type = vh->proto;
		d->l2_len += sizeof(*vh);
	}
	if (type == bpf_htons(ETH_P_IP))
		return parse_ip4(d, data + d->l2_len, end, pkt_len - d->l2_len);
	if (type == bpf_htons(ETH_P_IPV6))
		return parse_ip6(d, data + d->l2_len, end, pkt_len - d->l2_len);
	return V_PASS;
}

/*
 * Moves the L2 header forward over the outer header, then drops the bytes
 * in front of it. The two regions cannot overlap: outer_len >= 20 > l2_len.
 */
static __always_inline int xdp_strip(struct xdp_md *ctx, struct decap *d)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u8 l2[ETH_HLEN + sizeof(struct vlan_hdr)];
	__u32 l2_len = d->l2_len;

	if (data + sizeof(l2) > end)
		return -1;
	__builtin_memcpy(l2, data, sizeof(l2));
	/* The innermost Ethernet type is the last two bytes of the L2 header. */
	if (l2_len == ETH_HLEN)
		*(__be16 *)&l2[ETH_HLEN - 2] = d->inner_type;
	else
		*(__be16 *)&l2[sizeof(l2) - 2] = d->inner_type;

	if (bpf_xdp_adjust_head(ctx, (int)d->outer_len))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(l2) > end)
		return -1;
	if (l2_len == ETH_HLEN)
		__builtin_memcpy(data, l2, ETH_HLEN);
	else
		__builtin_memcpy(data, l2, sizeof(l2));
	return 0;
}

SEC("xdp")
int sluice_decap_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct decap d = {};
	enum verdict v;

	v = parse(&d, data, end, end - data, true);
	if (v == V_PASS) {
		count(d.stat);
		return XDP_PASS;
	}
	if (v == V_DROP) {
		count(SL_DECAP_ERRORS);
		return XDP_DROP;
	}
	if (xdp_strip(ctx, &d)) {
		count(SL_DECAP_FAILED);
		return XDP_DROP;
	}
	count(d.stat);
	return XDP_PASS;
}

/*
 * bpf_skb_adjust_room(BPF_ADJ_ROOM_MAC) removes bytes right after the MAC
 * header and, with a DECAP_L3 flag, switches skb->protocol when the inner
 * version differs from the outer one. The Ethernet type in the frame is
 * ours to fix.
 */
static __always_inline int tc_strip(struct __sk_buff *skb, struct decap *d)
{
	bool inner_v6 = d->inner_type == bpf_htons(ETH_P_IPV6);
	__u64 flags = 0;

	if (inner_v6 != (bool)d->outer_v6)
		flags = inner_v6 ? SL_ADJ_ROOM_DECAP_L3_IPV6
				 : SL_ADJ_ROOM_DECAP_L3_IPV4;
	if (bpf_skb_adjust_room(skb, -(__s32)d->outer_len, BPF_ADJ_ROOM_MAC,
				flags))
		return -1;
	return bpf_skb_store_bytes(skb, 2 * ETH_ALEN, &d->inner_type,
				   sizeof(d->inner_type), 0);
}

/*
 * Returns TC_ACT_UNSPEC, not TC_ACT_OK, for packets it leaves alone, so
 * that another filter on the same hook still sees them.
 */
SEC("tc")
int sluice_decap_tc(struct __sk_buff *skb)
{
	__u32 want = skb->len < SL_TC_PULL_LEN ? skb->len : SL_TC_PULL_LEN;
	struct decap d = {};
	enum verdict v;
	void *data, *end;

	/*
	 * Headers may sit in paged data; make the part we parse linear. Only
	 * when needed: pulling also unclones, a copy. If it fails (no memory),
	 * a header left in paged data reads as truncated.
	 */
	if (skb->data_end - skb->data < want)
		bpf_skb_pull_data(skb, want);
	data = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;

	v = parse(&d, data, end, skb->len, false);
	if (v == V_PASS) {
		count(d.stat);
		return TC_ACT_UNSPEC;
	}
	if (v == V_DROP) {
		count(SL_DECAP_ERRORS);
		return TC_ACT_SHOT;
	}
	if (tc_strip(skb, &d)) {
		count(SL_DECAP_FAILED);
		return TC_ACT_SHOT;
	}
	count(d.stat);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
