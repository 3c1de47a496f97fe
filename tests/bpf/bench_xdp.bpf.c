// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench_xdp.bpf.c: sluice_xdp plus the programs tests/bpf/bench_xdp.c times
 * with BPF_PROG_TEST_RUN.
 *
 * With repeat > 1 the kernel runs a program again on the same buffer and
 * does not restore it, so an encapsulating program would see its own output
 * from the second iteration on. bench_real therefore wraps the real fast
 * path (sl_xdp_process, the body sluice_xdp has inline): before it, vary the
 * flow as bench_map says; after it, move the data start back to where it
 * was (undoing the encapsulation; the inner packet is untouched) and write
 * the original Ethernet header back. bench_nop is the same wrapper around a
 * function that does nothing, so its time is the harness's own, to
 * subtract (its call of a global function included, the call that
 * sluice_xdp, with the body inline, does not make). bench_pass (XDP_PASS) and bench_macswap (XDP_TX) are the usual
 * reference points, without any wrapper.
 */
#include "sluice_xdp.bpf.c"

/* What the wrappers do around each run; written by the harness. */
struct sl_bench_state {
	__u64 iter;	 /* runs so far */
	__u32 mode;	 /* enum sl_bench_mode */
	__u32 nflows;	 /* SL_BENCH_ROTATE: flows to cycle through */
	__u32 orig_len;	 /* frame length to restore */
	__u32 sport_off; /* offset of the L4 source port */
	__u32 saddr_off; /* offset of the source address's last 4 bytes */
	__u32 pad;
	__u8 eth[16]; /* the original Ethernet header (14 bytes) */
};

enum sl_bench_mode {
	SL_BENCH_FIXED = 0,  /* the same packet every run */
	SL_BENCH_ROTATE = 1, /* source port cycles over nflows values */
	SL_BENCH_UNIQUE = 2, /* a new flow every run (port, then address) */
};

/* bench_map: [0] the wrapper's settings and iteration count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_bench_state);
} bench_map SEC(".maps");

static __always_inline struct sl_bench_state *bench_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&bench_map, &zero);
}

static __always_inline void vary(struct xdp_md *ctx, struct sl_bench_state *st)
{
	sl_u8 *data = (sl_u8 *)(long)ctx->data;
	sl_u8 *end = (sl_u8 *)(long)ctx->data_end;
	__u32 sp = st->sport_off & 0xff, sa = st->saddr_off & 0xff;
	__u64 i = st->iter;
	sl_be16 port;
	sl_be32 addr;

	if (st->mode == SL_BENCH_FIXED || data + sp + 2 > end ||
	    data + sa + 4 > end)
		return;
	if (st->mode == SL_BENCH_ROTATE) {
		port = sl_htons((sl_u16)(1024 + i % st->nflows)); /* >= 1 */
		__builtin_memcpy(data + sp, &port, 2);
		return;
	}
	port = sl_htons((sl_u16)i);
	addr = sl_htonl(0x0a000000u + (__u32)(i >> 16));
	__builtin_memcpy(data + sp, &port, 2);
	__builtin_memcpy(data + sa, &addr, 4);
}

/* Undo what the program did to the frame's start; the inner packet stays. */
static __always_inline void restore(struct xdp_md *ctx,
				    struct sl_bench_state *st)
{
	__u32 len = frame_len(ctx);
	sl_u8 *data, *end;

	bpf_xdp_adjust_head(ctx, (int)(len - st->orig_len));
	data = (sl_u8 *)(long)ctx->data;
	end = (sl_u8 *)(long)ctx->data_end;
	if (data + 14 <= end)
		__builtin_memcpy(data, st->eth, 14);
	st->iter++;
}

/* The fast path's stand-in for measuring the harness. */
__noinline int sl_bench_nop(struct xdp_md *ctx)
{
	return ctx ? XDP_TX : XDP_ABORTED;
}

SEC("xdp")
int bench_real(struct xdp_md *ctx)
{
	struct sl_bench_state *st = bench_state();
	int act;

	if (!st)
		return XDP_ABORTED;
	vary(ctx, st);
	act = sl_xdp_process(ctx);
	restore(ctx, st);
	return act;
}

SEC("xdp")
int bench_nop(struct xdp_md *ctx)
{
	struct sl_bench_state *st = bench_state();
	int act;

	if (!st)
		return XDP_ABORTED;
	vary(ctx, st);
	act = sl_bench_nop(ctx);
	restore(ctx, st);
	return act;
}

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bench_macswap(struct xdp_md *ctx)
{
	sl_u8 *data = (sl_u8 *)(long)ctx->data;
	sl_u8 *end = (sl_u8 *)(long)ctx->data_end;

	if (data + sizeof(struct sl_ethhdr) > end)
		return XDP_DROP;
	eth_swap((struct sl_ethhdr *)data);
	return XDP_TX;
}
