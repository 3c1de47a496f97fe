/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * forward.h: steps 4 and 5 of sluice_xdp.bpf.c: the outer header by the
 * VIP's method (include/sluice/encap.h, the bytes sluice-dp writes) and
 * the next hop (bpf_fib_lookup, or the static MACs of the tests), then
 * XDP_TX or bpf_redirect.
 */
#ifndef SLUICE_BPF_FORWARD_H
#define SLUICE_BPF_FORWARD_H

#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "frame.h"
#include "maps.h"
#include "select.h"
#include "stats.h"
#include "sluice/encap.h"

#define SL_AF_INET_KERNEL 2
#define SL_AF_INET6_KERNEL 10
#define SL_XDP_TOO_BIG 0x10000 /* forward(): + MTU left, see there */

/*
 * The next hop towards dst, from bpf_fib_lookup (*fib keeps its MACs for
 * put_macs()); with use_fib false (tests) the static MACs of xdp_conf.
 * Returns 0 with *ifindex set (0: back out the receiving interface, XDP_TX),
 * or an XDP action for the caller to return as is: XDP_PASS (neighbour not
 * resolved yet) or XDP_DROP (counted as no_nexthop). Writes nothing to the
 * frame.
 */
static __always_inline int next_hop(struct xdp_md *ctx, bool use_fib,
				    const union sl_addr *dst,
				    const union sl_addr *src, sl_u8 family,
				    struct bpf_fib_lookup *fib, __u32 *ifindex)
{
	__u32 in_if;
	long rc;

	*ifindex = 0;
	if (!use_fib)
		return 0;
	in_if = ctx->ingress_ifindex;
	__asm__ volatile("" : "+r"(in_if)); /* no ctx pointer kept for later */
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->ifindex = in_if;
	if (family == SL_AF_INET) {
		fib->family = SL_AF_INET_KERNEL;
		fib->ipv4_src = src->v4;
		fib->ipv4_dst = dst->v4;
	} else {
		fib->family = SL_AF_INET6_KERNEL;
		__builtin_memcpy(fib->ipv6_src, src, 16);
		__builtin_memcpy(fib->ipv6_dst, dst, 16);
	}
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return pass(SL_DROP_NO_NEXTHOP);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return drop(SL_DROP_NO_NEXTHOP);
	if (fib->ifindex != in_if)
		*ifindex = fib->ifindex;
	return 0;
}

/* A MAC address as three 16-bit words (d and s 2-byte aligned). */
static __always_inline void put_mac(sl_u8 *d, const void *s)
{
	__builtin_memcpy((__u16 *)d, (const __u16 *)s, 6);
}

/* The same from .rodata.conf: volatile reads (the loader writes it). */
static __always_inline void put_conf_mac(sl_u8 *d, const volatile sl_u8 *s)
{
	const volatile __u16 *w = (const volatile __u16 *)s;
	__u16 *o = (__u16 *)d;

	o[0] = w[0];
	o[1] = w[1];
	o[2] = w[2];
}

/*
 * The next hop's MAC addresses (next_hop()) at the start of the frame,
 * whose first 12 bytes the caller checked.
 */
static __always_inline void put_macs(sl_u8 *data, bool use_fib,
				     const struct bpf_fib_lookup *fib)
{
	if (use_fib) {
		put_mac(data, fib->dmac);
		put_mac(data + 6, fib->smac);
	} else {
		put_conf_mac(data, xdp_conf.gw_mac);
		put_conf_mac(data + 6, xdp_conf.src_mac);
	}
}

static __always_inline int send(__u32 ifindex)
{
	if (ifindex)
		return (int)bpf_redirect(ifindex, 0);
	return XDP_TX;
}

/* One's complement sum of two 64-bit words, end-around carry. */
static __always_inline __u64 csum_add64(__u64 a, __u64 b)
{
	a += b;
	return a + (a < b);
}

/* A 64-bit one's complement sum folded to the 16-bit checksum field. */
static __always_inline __u16 csum_fold64(__u64 sum)
{
	__u32 s = (__u32)(sum >> 32) + (__u32)sum;

	s += s < (__u32)sum; /* the carry out of the 32-bit add */
	return sl_csum_fold(s);
}

/*
 * The outer header sl_encap_write() writes for a constant method and
 * family, at out in front of the inner packet (inner = out + enc): built
 * as 64- and 32-bit words in registers, the IPv4 checksum summed from
 * those words (RFC 1071: a one's complement sum of 64-bit words folds to
 * the same 16-bit sum), each word one store, as sluice-dp's encap4 does.
 * Field by field, the checksum's loads of the header would each wait for
 * the narrower stores under it. The same bytes as sl_encap_write: the
 * fixtures and test_parity hold them to sluice-dp's. src is the outer
 * source, sl_encap_src() of the flow hash. Constant arguments fold the
 * branches, so the verifier sees stores at constant offsets under one
 * bounds check. Returns -1 if the frame is too short.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "outer_header() composes header words in little-endian order"
#endif
static __always_inline int
outer_header(sl_u8 *out, const sl_u8 *end, const struct sl_pkt *p,
	     const struct sl_backend_entry *be, const union sl_addr *src,
	     const struct sl_table_params *prm, __u64 hash, const sl_u8 method,
	     const sl_u8 family)
{
	const __u32 udp = method == SL_METHOD_GUE ? 8 : 0;
	const __u32 ip = family == SL_AF_INET ? 20 : 40;
	__u64 inner_len = p->l3_len, proto, tos, w0, w1, w2;
	sl_u8 *inner = out + ip + udp;

	if (inner + 2 > end)
		return -1;
	tos = sl_encap_inner_tos(inner, p->family);
	proto = udp			  ? SL_IPPROTO_UDP
		: p->family == SL_AF_INET ? SL_IPPROTO_IPIP
					  : SL_IPPROTO_IPV6;
	if (family == SL_AF_INET) {
		__u64 df = p->family == SL_AF_INET6 || (p->flags & SL_PKT_F_DF)
				   ? SL_BE16(SL_IP4_DF)
				   : 0;

		/* Version/IHL, TOS, total length, ID 0, DF. */
		w0 = 0x45 | tos << 8 |
		     (__u64)sl_htons((sl_u16)(20 + udp + inner_len)) << 16 |
		     df << 48;
		/* TTL, protocol, checksum (0 while summed). */
		w1 = SL_ENCAP_TTL | proto << 8;
		w2 = (__u64)src->v4 | (__u64)be->addr.v4 << 32;
		w1 |= (__u64)csum_fold64(csum_add64(csum_add64(w0, w2), w1))
		      << 16;
		*(__u64 *)out = w0;
		*(__u32 *)(out + 8) = (__u32)w1;
		*(__u64 *)(out + 12) = w2;
	} else {
		/* Version, traffic class, flow label; payload length, next
		 * header, hop limit. */
		w0 = (__u64)sl_htonl(6u << 28 | (__u32)tos << 20 |
				     ((__u32)hash & 0xfffffu)) |
		     (__u64)sl_htons((sl_u16)(udp + inner_len)) << 32 |
		     proto << 48 | (__u64)SL_ENCAP_TTL << 56;
		*(__u64 *)out = w0;
		*(__u32 *)(out + 8) = src->w[0];
		*(__u32 *)(out + 12) = src->w[1];
		*(__u32 *)(out + 16) = src->w[2];
		*(__u32 *)(out + 20) = src->w[3];
		*(__u32 *)(out + 24) = be->addr.w[0];
		*(__u32 *)(out + 28) = be->addr.w[1];
		*(__u32 *)(out + 32) = be->addr.w[2];
		*(__u32 *)(out + 36) = be->addr.w[3];
	}
	if (udp)
		*(__u64 *)(out + ip) = (__u64)sl_encap_gue_sport(hash) |
				       (__u64)prm->gue_port << 16 |
				       (__u64)sl_htons((sl_u16)(8 + inner_len))
					       << 32;
	return 0;
}

/*
 * Forward the packet of a VIP flow to the backend sel chose, by the VIP's
 * method (sluice-dp's forward). Returns an XDP action, or SL_XDP_TOO_BIG +
 * the MTU left for the inner packet when it does not fit: the caller
 * answers with sl_xdp_too_big.
 */
static __always_inline int forward(struct xdp_md *ctx, const struct sl_pkt *p,
				   const struct sl_table_params *prm,
				   const struct sl_xdp_sel *sel)
{
	const struct sl_backend_entry *be = sel->be;
	__u32 vip_id = sel->vip_id, method = sel->method;
	/* One read of the setting: two reads of a volatile could differ, as
	 * far as clang knows, and leave fib unset on a path that reads it. */
	const bool use_fib = xdp_conf.use_fib;
	__u32 enc, l3_len, mtu, ifindex;
	struct bpf_fib_lookup fib;
	__u64 hash = sel->hash;
	sl_u8 *data, *end, *out;
	union sl_addr src;
	int l2, rc;

	l2 = l2_len(p);
	if (l2 < 0)
		return drop(SL_DROP_NO_BACKEND);
	l3_len = p->l3_len;

	if (method == SL_METHOD_L2DSR) {
		const bool static_mac = be->mac[0] | be->mac[1] | be->mac[2] |
					be->mac[3] | be->mac[4] | be->mac[5];

		if (!use_fib && !static_mac)
			return drop(SL_DROP_NO_NEXTHOP);
		__builtin_memset(&src, 0, sizeof(src));
		rc = next_hop(ctx, use_fib, &be->addr, &src, be->family, &fib,
			      &ifindex);
		if (rc)
			return rc;
		data = (sl_u8 *)(long)ctx->data;
		end = (sl_u8 *)(long)ctx->data_end;
		if (data + sizeof(struct sl_ethhdr) > end)
			return drop(SL_DROP_TRUNCATED);
		put_macs(data, use_fib, &fib);
		if (static_mac)
			put_mac(data, be->mac);
		if (trim_to(ctx, (__u32)l2 + l3_len))
			return drop(SL_DROP_NO_HEADROOM);
		count_forward(sel->vs, sel->bs, l3_len);
		return send(ifindex);
	}

	sl_encap_src(be->family == SL_AF_INET ? &prm->encap_src4
					      : &prm->encap_src6,
		     be->family == SL_AF_INET ? prm->encap_src4_bits
					      : prm->encap_src6_bits,
		     be->family, hash, &src);
	rc = next_hop(ctx, use_fib, &be->addr, &src, be->family, &fib,
		      &ifindex);
	if (rc)
		return rc;
	enc = sl_encap_len((sl_u8)method, be->family);
	mtu = prm->mtu;
	if (l3_len + enc > mtu) {
		vip_drop(vip_id);
		return SL_XDP_TOO_BIG + (int)((mtu - enc) & 0xffff);
	}
	if (bpf_xdp_adjust_head(ctx, -(int)enc))
		return drop(SL_DROP_NO_HEADROOM);
	data = (sl_u8 *)(long)ctx->data;
	end = (sl_u8 *)(long)ctx->data_end;
	if (data + SL_L2_MAX > end || move_l2(data, end, l2, enc))
		return drop(SL_DROP_NO_HEADROOM);
	put_macs(data, use_fib, &fib);
	set_ethertype(data, l2,
		      be->family == SL_AF_INET ? SL_BE16(SL_ETH_P_IP)
					       : SL_BE16(SL_ETH_P_IPV6));
	out = data + l2;
	if (method == SL_METHOD_IPIP && be->family == SL_AF_INET)
		rc = outer_header(out, end, p, be, &src, prm, hash,
				  SL_METHOD_IPIP, SL_AF_INET);
	else if (method == SL_METHOD_IPIP)
		rc = outer_header(out, end, p, be, &src, prm, hash,
				  SL_METHOD_IPIP, SL_AF_INET6);
	else if (be->family == SL_AF_INET)
		rc = outer_header(out, end, p, be, &src, prm, hash,
				  SL_METHOD_GUE, SL_AF_INET);
	else
		rc = outer_header(out, end, p, be, &src, prm, hash,
				  SL_METHOD_GUE, SL_AF_INET6);
	if (rc)
		return drop(SL_DROP_NO_HEADROOM);
	if (trim_to(ctx, (__u32)l2 + enc + l3_len))
		return drop(SL_DROP_NO_HEADROOM);
	count_forward(sel->vs, sel->bs, l3_len);
	return send(ifindex);
}

#endif /* SLUICE_BPF_FORWARD_H */
