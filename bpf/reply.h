/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reply.h: the packets sluice_xdp.bpf.c answers itself, as sluice-dp does:
 * ICMP "fragmentation needed" / ICMPv6 "packet too big" for a VIP packet
 * that would not fit the MTU once encapsulated (rate-limited per CPU), and
 * echo replies from a VIP.
 *
 * Both are global functions (verified once, whatever the paths into them),
 * defined here and included once, by sluice_xdp.bpf.c: rare packets, so
 * their call costs nothing that matters and keeps them out of the fast
 * path's frame.
 */
#ifndef SLUICE_BPF_REPLY_H
#define SLUICE_BPF_REPLY_H

#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "frame.h"
#include "maps.h"
#include "stats.h"
#include "sluice/csum.h"
#include "sluice/encap.h"
#include "sluice/parse.h"

#define SL_ICMP4_QUOTE_MAX (576 - 20 - 8)
#define SL_L4_OFF_MAX 2048

/* One token of the per-CPU too-big budget (sluice-dp's icmp_token). */
static __always_inline bool icmp_token(void)
{
	struct sl_xdp_icmp_bucket *b;
	__u64 cap = (__u64)xdp_conf.icmp_burst * SL_NS_PER_S;
	__u64 now = bpf_ktime_get_ns(), credit;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&icmp_rate_map, &zero);
	if (!b || xdp_conf.icmp_rate == 0)
		return false;
	credit = b->tokens_ns + (now - b->last_ns) * xdp_conf.icmp_rate;
	b->last_ns = now;
	if (credit > cap)
		credit = cap;
	if (credit < SL_NS_PER_S) {
		b->tokens_ns = credit;
		return false;
	}
	b->tokens_ns = credit - SL_NS_PER_S;
	return true;
}

/* Unfolded one's complement sum of the first len bytes of the IP packet. */
static __always_inline int quote_sum(struct xdp_md *ctx, __u32 off, __u32 len,
				     __u32 *sum)
{
	struct sl_xdp_scratch *s;
	__u32 zero = 0, done, n;
	__s64 r;
	int i;

	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s || len == 0 || len > SL_XDP_QUOTE_MAX)
		return -1;
	if (bpf_xdp_load_bytes(ctx, off, s->buf, len))
		return -1;
	/* A trailing odd byte is summed as a word padded with zero. */
	*(__u32 *)&s->buf[len & 0x7fc] =
		len & 3 ? *(__u32 *)&s->buf[len & 0x7fc] &
				  ~(0xffffffffu << 8 * (len & 3))
			: 0;
	SL_UNROLL
	for (i = 0; i < 3; i++) {
		done = (__u32)i * 512;
		if (done >= len)
			break;
		n = (len - done + 3) & ~3u;
		if (n > 512)
			n = 512;
		SL_PARSE_WIDEN(n, 0x3fc); /* the verifier's bound: 0 .. 1020 */
		if (n > 512)
			break;
		r = bpf_csum_diff(NULL, 0, (__be32 *)&s->buf[i * 512], n, *sum);
		if (r < 0)
			return -1;
		*sum = (__u32)r;
	}
	return 0;
}

/*
 * One's complement sum of an address added to sum, from its 32-bit words
 * (RFC 1071: the same checksum as its 16-bit words once folded), read
 * where they are aligned rather than byte by byte from the frame.
 */
static __always_inline __u32 csum_addr(const union sl_addr *a, __u32 sum)
{
	__u64 s = (__u64)sum + a->w[0] + a->w[1] + a->w[2] + a->w[3];

	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (__u32)s;
}

/*
 * ICMP "fragmentation needed" / ICMPv6 "packet too big" back to the client,
 * from the VIP, quoting the start of the packet (sluice-dp's too_big).
 */
__noinline int sl_xdp_too_big(struct xdp_md *ctx, struct sl_pkt *p,
			      __u32 mtu_left)
{
	sl_u8 *data, *end, *l3;
	struct sl_icmphdr *icmp;
	struct sl_lcore_stats *st;
	__u32 hdr, quote, sum = 0;
	int l2, v4;

	if (!p)
		return XDP_DROP;
	l2 = l2_len(p);
	v4 = p->family == SL_AF_INET;
	hdr = v4 ? 20 + 8 : 40 + 8;
	quote = p->l3_len;
	if (l2 < 0)
		return drop(SL_DROP_TOO_BIG);
	if ((p->flags & SL_PKT_F_ICMP_INNER) ||
	    (v4 && !(p->flags & SL_PKT_F_DF)))
		return drop(SL_DROP_TOO_BIG);
	if (!icmp_token())
		return drop(SL_DROP_TOO_BIG_RATELIMIT);
	if (quote > (v4 ? SL_ICMP4_QUOTE_MAX : SL_XDP_QUOTE_MAX))
		quote = v4 ? SL_ICMP4_QUOTE_MAX : SL_XDP_QUOTE_MAX;
	if (quote_sum(ctx, (__u32)l2, quote, &sum))
		return drop(SL_DROP_TRUNCATED);
	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return drop(SL_DROP_NO_HEADROOM);
	data = (sl_u8 *)(long)ctx->data;
	end = (sl_u8 *)(long)ctx->data_end;
	if (data + SL_L2_MAX > end || move_l2(data, end, l2, hdr))
		return drop(SL_DROP_NO_HEADROOM);
	__builtin_memcpy(data, data + hdr, 12);
	eth_swap((struct sl_ethhdr *)data);
	l3 = data + l2;
	if (v4) {
		struct sl_iphdr *ip = (struct sl_iphdr *)l3;

		icmp = (struct sl_icmphdr *)(l3 + 20);
		if ((sl_u8 *)(icmp + 1) > end)
			return drop(SL_DROP_NO_HEADROOM);
		__builtin_memset(icmp, 0, sizeof(*icmp));
		icmp->type = SL_ICMP_DEST_UNREACH;
		icmp->code = SL_ICMP_FRAG_NEEDED;
		icmp->rest.frag.mtu = sl_htons((sl_u16)mtu_left);
		sum = sl_csum_partial(icmp, 8, sum);
		icmp->checksum = (sl_be16)sl_csum_fold(sum);
		sl_encap_ip4(ip, 0, (sl_u16)(hdr + quote), SL_IPPROTO_ICMP, 0,
			     p->key.dst.v4, p->key.src.v4);
	} else {
		struct sl_ip6hdr *ip6 = (struct sl_ip6hdr *)l3;
		__u32 len = 8 + quote;
		sl_u8 tail[8] = { 0, 0, (sl_u8)(len >> 8), (sl_u8)len, 0,
				  0, 0, SL_IPPROTO_ICMPV6 };

		icmp = (struct sl_icmphdr *)(l3 + 40);
		if ((sl_u8 *)(icmp + 1) > end)
			return drop(SL_DROP_NO_HEADROOM);
		sl_encap_ip6(ip6, 0, 0, (sl_u16)len, SL_IPPROTO_ICMPV6,
			     &p->key.dst, &p->key.src);
		__builtin_memset(icmp, 0, sizeof(*icmp));
		icmp->type = SL_ICMP6_PKT_TOOBIG;
		icmp->rest.mtu6 = sl_htonl(mtu_left);
		sum = csum_addr(&p->key.dst, sum); /* ip6's saddr, daddr */
		sum = csum_addr(&p->key.src, sum);
		sum = sl_csum_partial(tail, 8, sum);
		sum = sl_csum_partial(icmp, 8, sum);
		icmp->checksum = (sl_be16)sl_csum_fold(sum);
	}
	if (trim_to(ctx, (__u32)l2 + hdr + quote))
		return drop(SL_DROP_NO_HEADROOM);
	st = lcore_stats();
	if (st)
		st->icmp_too_big_sent++;
	return XDP_TX;
}

/* IPv4 header checksum over ihl words, options included (<= 60 bytes). */
static __always_inline sl_be16 ip4_csum(const sl_u8 *ip, const sl_u8 *end,
					__u32 ihl)
{
	__u32 sum = 0;
	int i;

	/* A bounded loop: clang cannot unroll it with the early exit. */
	for (i = 0; i < 15; i++) {
		sl_u16 w[2];

		if ((__u32)i >= ihl || ip + 4 * i + 4 > end)
			break;
		__builtin_memcpy(w, ip + 4 * i, 4);
		sum = sl_csum_add(sum, w[0]);
		sum = sl_csum_add(sum, w[1]);
	}
	return (sl_be16)sl_csum_fold(sum);
}

/* Echo request to a VIP: turned around in place (sluice-dp's echo_reply). */
__noinline int sl_xdp_echo(struct xdp_md *ctx, struct sl_pkt *p)
{
	sl_u8 *data = (sl_u8 *)(long)ctx->data;
	sl_u8 *end = (sl_u8 *)(long)ctx->data_end;
	struct sl_lcore_stats *st;
	struct sl_icmphdr *icmp;
	__u32 l4;
	sl_u8 *l3;
	int l2;

	if (!p)
		return XDP_PASS;
	/* The LB's own addresses belong to the kernel, which answers them. */
	if (!is_vip_addr(&p->key.dst, p->family))
		return pass(SL_DROP_NOT_VIP);
	l2 = l2_len(p);
	l4 = p->l4_off;
	if (l2 < 0 || l4 > SL_L4_OFF_MAX || data + SL_L2_MAX > end)
		return pass(SL_DROP_TRUNCATED);
	l3 = data + l2;
	icmp = (struct sl_icmphdr *)(data + l4);
	if ((sl_u8 *)(icmp + 1) > end)
		return pass(SL_DROP_TRUNCATED);
	eth_swap((struct sl_ethhdr *)data);
	if (p->family == SL_AF_INET) {
		struct sl_iphdr *ip = (struct sl_iphdr *)l3;
		sl_be32 a;

		if ((sl_u8 *)(ip + 1) > end)
			return pass(SL_DROP_TRUNCATED);
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->ttl = SL_ENCAP_TTL;
		ip->check = 0;
		ip->check = ip4_csum(l3, end, SL_IP4_IHL(ip));
		icmp->checksum = sl_csum_update16(
			icmp->checksum, sl_htons(SL_ICMP_ECHO << 8),
			sl_htons(SL_ICMP_ECHOREPLY << 8));
		icmp->type = SL_ICMP_ECHOREPLY;
	} else {
		struct sl_ip6hdr *ip6 = (struct sl_ip6hdr *)l3;
		union sl_addr a;

		if ((sl_u8 *)(ip6 + 1) > end)
			return pass(SL_DROP_TRUNCATED);
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->hop_limit = SL_ENCAP_TTL;
		icmp->checksum = sl_csum_update16(
			icmp->checksum, sl_htons(SL_ICMP6_ECHO_REQUEST << 8),
			sl_htons(SL_ICMP6_ECHO_REPLY << 8));
		icmp->type = SL_ICMP6_ECHO_REPLY;
	}
	if (trim_to(ctx, (__u32)l2 + p->l3_len))
		return drop(SL_DROP_NO_HEADROOM);
	st = lcore_stats();
	if (st)
		st->icmp_echo_replies++;
	return XDP_TX;
}

#endif /* SLUICE_BPF_REPLY_H */
