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
#define SL_XDP_TOO_BIG 0x10000 /* sl_xdp_forward: + MTU left, see there */

/* Volatile reads: the loader writes .rodata.conf after compilation. */
static __always_inline void conf_mac(sl_u8 *d, const volatile sl_u8 *s)
{
	int i;

	SL_UNROLL
	for (i = 0; i < 6; i++)
		d[i] = s[i];
}

struct nexthop {
	sl_u8 dmac[6];
	sl_u8 smac[6];
	__u32 ifindex; /* 0: back out the receiving interface (XDP_TX) */
};

/*
 * MACs and egress interface towards dst. Returns 0, or an XDP action for
 * the caller to return as is: XDP_PASS (neighbour not resolved yet) or
 * XDP_DROP (counted as no_nexthop).
 */
static __always_inline int next_hop(struct xdp_md *ctx,
				    const union sl_addr *dst,
				    const union sl_addr *src, sl_u8 family,
				    struct nexthop *nh)
{
	struct bpf_fib_lookup fib;
	__u32 in_if;
	long rc;

	if (!xdp_conf.use_fib) {
		conf_mac(nh->dmac, xdp_conf.gw_mac);
		conf_mac(nh->smac, xdp_conf.src_mac);
		nh->ifindex = 0;
		return 0;
	}
	in_if = ctx->ingress_ifindex;
	__asm__ volatile("" : "+r"(in_if)); /* no ctx pointer kept for later */
	__builtin_memset(&fib, 0, sizeof(fib));
	fib.ifindex = in_if;
	if (family == SL_AF_INET) {
		fib.family = SL_AF_INET_KERNEL;
		fib.ipv4_src = src->v4;
		fib.ipv4_dst = dst->v4;
	} else {
		fib.family = SL_AF_INET6_KERNEL;
		__builtin_memcpy(fib.ipv6_src, src, 16);
		__builtin_memcpy(fib.ipv6_dst, dst, 16);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return pass(SL_DROP_NO_NEXTHOP);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return drop(SL_DROP_NO_NEXTHOP);
	__builtin_memcpy(nh->dmac, fib.dmac, 6);
	__builtin_memcpy(nh->smac, fib.smac, 6);
	nh->ifindex = fib.ifindex == in_if ? 0 : fib.ifindex;
	return 0;
}

static __always_inline int send(const struct nexthop *nh)
{
	if (nh->ifindex)
		return (int)bpf_redirect(nh->ifindex, 0);
	return XDP_TX;
}

/*
 * Outer header of a constant method and family at data + l2. Constant
 * arguments let the compiler fold sl_encap_write's branches, so the
 * verifier sees writes at constant offsets under one bounds check.
 */
static __always_inline int
encap_const(sl_u8 *data, const sl_u8 *end, int l2, const struct sl_pkt *p,
	    struct sl_backend_entry *b, const struct sl_table_params *prm,
	    __u64 hash, const sl_u8 method, const sl_u8 family)
{
	sl_u32 enc = sl_encap_len(method, family);
	sl_u8 *out = data + l2;

	if (out + enc + 2 > end)
		return -1;
	b->family = family; /* b is a stack copy: the store folds away */
	sl_encap_write(out, out + enc, p->l3_len, p->family,
		       (p->flags & SL_PKT_F_DF) != 0, method, b, prm, hash);
	return 0;
}

/*
 * Forward the packet of a VIP flow to backend be_id by the VIP's method
 * (sluice-dp's forward). vip = VIP id | method << 16. Returns an XDP
 * action, or SL_XDP_TOO_BIG + the MTU left for the inner packet when it
 * does not fit: the caller answers with sl_xdp_too_big (called from there,
 * not from here, to keep the call chain within the 512-byte stack).
 */
__noinline int sl_xdp_forward(struct xdp_md *ctx, struct sl_pkt *p, __u32 vip,
			      __u32 be_id, __u64 hash)
{
	const struct sl_table_params *prm;
	const struct sl_backend_entry *be;
	__u32 vip_id = vip & 0xffff, method = vip >> 16, zero = 0;
	struct sl_backend_entry b;
	__u32 enc, l3_len, mtu;
	struct nexthop nh;
	union sl_addr src;
	sl_u8 *data, *end;
	int l2, rc;

	if (!p)
		return XDP_DROP;
	be = bpf_map_lookup_elem(&backend_map, &be_id);
	prm = bpf_map_lookup_elem(&params_map, &zero);
	l2 = l2_len(p);
	if (!be || !prm || l2 < 0)
		return drop(SL_DROP_NO_BACKEND);
	l3_len = p->l3_len;

	if (method == SL_METHOD_L2DSR) {
		/* One read of the setting, and nh set whole on every path
		 * that reaches its use: clang may otherwise copy the unset
		 * bytes around, which the verifier refuses. */
		const bool fib = xdp_conf.use_fib;
		const bool static_mac = be->mac[0] | be->mac[1] | be->mac[2] |
					be->mac[3] | be->mac[4] | be->mac[5];

		if (fib) {
			__builtin_memset(&src, 0, sizeof(src));
			rc = next_hop(ctx, &be->addr, &src, be->family, &nh);
			if (rc)
				return rc;
		} else if (static_mac) {
			conf_mac(nh.smac, xdp_conf.src_mac);
			nh.ifindex = 0;
		} else {
			return drop(SL_DROP_NO_NEXTHOP);
		}
		if (static_mac)
			__builtin_memcpy(nh.dmac, be->mac, 6);
		data = (sl_u8 *)(long)ctx->data;
		end = (sl_u8 *)(long)ctx->data_end;
		if (data + sizeof(struct sl_ethhdr) > end)
			return drop(SL_DROP_TRUNCATED);
		__builtin_memcpy(data, nh.dmac, 6);
		__builtin_memcpy(data + 6, nh.smac, 6);
		if (trim_to(ctx, (__u32)l2 + l3_len))
			return drop(SL_DROP_NO_HEADROOM);
		count_forward(vip_id, be_id, l3_len);
		return send(&nh);
	}

	sl_encap_src(be->family == SL_AF_INET ? &prm->encap_src4
					      : &prm->encap_src6,
		     be->family == SL_AF_INET ? prm->encap_src4_bits
					      : prm->encap_src6_bits,
		     be->family, hash, &src);
	rc = next_hop(ctx, &be->addr, &src, be->family, &nh);
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
	__builtin_memcpy(data, nh.dmac, 6);
	__builtin_memcpy(data + 6, nh.smac, 6);
	set_ethertype(data, l2,
		      be->family == SL_AF_INET ? SL_BE16(SL_ETH_P_IP)
					       : SL_BE16(SL_ETH_P_IPV6));
	b = *be;
	if (method == SL_METHOD_IPIP && be->family == SL_AF_INET)
		rc = encap_const(data, end, l2, p, &b, prm, hash,
				 SL_METHOD_IPIP, SL_AF_INET);
	else if (method == SL_METHOD_IPIP)
		rc = encap_const(data, end, l2, p, &b, prm, hash,
				 SL_METHOD_IPIP, SL_AF_INET6);
	else if (be->family == SL_AF_INET)
		rc = encap_const(data, end, l2, p, &b, prm, hash, SL_METHOD_GUE,
				 SL_AF_INET);
	else
		rc = encap_const(data, end, l2, p, &b, prm, hash, SL_METHOD_GUE,
				 SL_AF_INET6);
	if (rc)
		return drop(SL_DROP_NO_HEADROOM);
	if (trim_to(ctx, (__u32)l2 + enc + l3_len))
		return drop(SL_DROP_NO_HEADROOM);
	count_forward(vip_id, be_id, l3_len);
	return send(&nh);
}

#endif /* SLUICE_BPF_FORWARD_H */
