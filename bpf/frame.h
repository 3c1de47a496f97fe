/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * frame.h: small operations on the frame of an XDP program (its length,
 * its L2 header, trimming), shared by the forwarding step (bpf/forward.h)
 * and the replies (bpf/reply.h) of sluice_xdp.bpf.c.
 *
 * Every write is at a constant offset from data under one bounds check
 * against data_end, so the verifier follows it without loops.
 */
#ifndef SLUICE_BPF_FRAME_H
#define SLUICE_BPF_FRAME_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice/parse.h"

#define SL_L2_MAX 22 /* Ethernet and two VLAN tags */

/*
 * The frame's length. The empty asm keeps the difference 64-bit: with
 * -mcpu=v3 clang would subtract the two 32-bit ctx fields in 32 bits,
 * which the verifier refuses for packet pointers.
 */
static __always_inline __u32 frame_len(const struct xdp_md *ctx)
{
	const sl_u8 *data = (const sl_u8 *)(long)ctx->data;
	const sl_u8 *end = (const sl_u8 *)(long)ctx->data_end;
	__u64 n = (__u64)(end - data);

	__asm__ volatile("" : "+r"(n));
	return (__u32)n;
}

/* The frame's L2 length, proven to the verifier to be 14, 18 or 22. */
static __always_inline int l2_len(const struct sl_pkt *p)
{
	__u32 l2 = p->l3_off;

	if (l2 != 14 && l2 != 18 && l2 != 22)
		return -1;
	return (int)l2;
}

/* Cut the frame to len bytes (Ethernet padding after the IP packet). */
static __always_inline int trim_to(struct xdp_md *ctx, __u32 len)
{
	__u32 cur = frame_len(ctx);

	if (cur > len)
		return bpf_xdp_adjust_tail(ctx, -(int)(cur - len));
	return 0;
}

/* Replies go back where the packet came from: swap the MAC addresses. */
static __always_inline void eth_swap(struct sl_ethhdr *eth)
{
	sl_u8 tmp[SL_ETH_ALEN];

	__builtin_memcpy(tmp, eth->dst, SL_ETH_ALEN);
	__builtin_memcpy(eth->dst, eth->src, SL_ETH_ALEN);
	__builtin_memcpy(eth->src, tmp, SL_ETH_ALEN);
}

/*
 * Move the L2 header's bytes after the MACs (VLAN tags, ethertype) from
 * data + shift to data, front to back (dst < src, so overlap is safe).
 */
static __always_inline int move_l2(sl_u8 *data, const sl_u8 *end, int l2,
				   __u32 shift)
{
	sl_u8 *src = data + shift;

	if (shift > 64 || src + SL_L2_MAX > end)
		return -1;
	__builtin_memcpy(data + 12, src + 12, 2);
	if (l2 >= 18)
		__builtin_memcpy(data + 14, src + 14, 4);
	if (l2 >= 22)
		__builtin_memcpy(data + 18, src + 18, 4);
	return 0;
}

/* The ethertype after the tags; data + SL_L2_MAX was checked. */
static __always_inline void set_ethertype(sl_u8 *data, int l2, sl_be16 type)
{
	if (l2 == 14)
		__builtin_memcpy(data + 12, &type, 2);
	else if (l2 == 18)
		__builtin_memcpy(data + 16, &type, 2);
	else
		__builtin_memcpy(data + 20, &type, 2);
}

#endif /* SLUICE_BPF_FRAME_H */
