// SPDX-License-Identifier: BSD-3-Clause
/*
 * sluice_xdp.bpf.c: the XDP fast path, the same decisions and the same output
 * bytes as sluice-dp's dataplane/fastpath.c, for NICs without a DPDK driver.
 *
 * Per packet: parse (include/sluice/parse.h) -> classify (bpf/classify.h:
 * exact VIP, then the port-agnostic VIP of the address; fragments by
 * (address, proto|FRAG)) -> select (bpf/select.h: flow table, valid while
 * the backend keeps its epoch, VIP and an UP/DRAINED state, reusing the
 * flow hash stored there; else SipHash and Maglev maglev[hash % M]) ->
 * encapsulate (bpf/forward.h, include/sluice/encap.h) -> send (XDP_TX, or
 * bpf_redirect to the FIB's egress interface). Replies: bpf/reply.h.
 *
 * Where XDP mode differs from sluice-dp, on purpose (DESIGN.md: "everything
 * that is not VIP traffic ... XDP_PASS"):
 *  - the kernel owns the interface: ARP, NDP, echo requests to the LB's own
 *    addresses and all traffic that is not for a VIP are passed untouched
 *    and counted in pass_stats_map under the reason sluice-dp would have
 *    dropped them for. Echo requests to a VIP are answered here (XDP_TX),
 *    as sluice-dp does;
 *  - a malformed packet is dropped (under sluice-dp's reason) only when its
 *    IP header was read and its destination is a VIP address; any other
 *    malformed frame may be the host's and is passed: the kernel validates
 *    and drops it itself;
 *  - next hop: bpf_fib_lookup on the outer destination (the backend; for
 *    l2dsr the backend itself) gives the MACs and the egress interface.
 *    BPF_FIB_LKUP_RET_NO_NEIGH passes the original packet to the kernel,
 *    which routes it and so resolves the neighbour; later packets of the
 *    flow find it. Other lookup failures drop as no_nexthop. With
 *    xdp_conf.use_fib == 0 (fixture tests, BPF_PROG_TEST_RUN) the MACs are
 *    static and the packet always leaves by XDP_TX;
 *  - the flow table is one table for all CPUs (bpf/flowtab.h), where
 *    sluice-dp has one per lcore: veths, generic XDP and some NICs do not
 *    keep a flow on one CPU, and a flow (on a drained backend too) must
 *    keep its backend there as well. Otherwise it is sluice-dp's kind of
 *    table: set-associative, 8 ways, the least recently seen way evicted
 *    and counted (flow_evictions). No locks: an entry another CPU is
 *    rewriting fails its check word and is a miss, picked again by Maglev;
 *  - the answers of classify() are cached per CPU (vip_cache_map) until
 *    sluiced changes vip_map, as sluice-dp caches them per lcore until
 *    the table generation changes.
 *
 * Calls: the steps are inlined into one function, so a packet of the fast
 * path makes one call, bpf_xdp_adjust_head to encapsulate (and
 * bpf_xdp_adjust_tail when the frame has padding to trim); a new flow
 * adds the lookup in its VIP's inner Maglev array. A call is dear here:
 * about 8 ns each (four calls of an empty static subprogram cost 31 ns
 * under BPF_PROG_TEST_RUN), because the kernel runs with the SRSO "safe
 * RET" mitigation, whose return thunk makes every return of JIT'd code
 * and of a helper a mispredicted one. Global (__noinline) functions, each
 * verified once whatever the paths into it, remain for the rare paths:
 * sl_parse in full (most of the instruction count), the too-big and echo
 * replies. The fast path's frame and a reply's together stay within the
 * 512-byte stack. Packet offsets coming back from a call are re-checked
 * against data_end.
 *
 * Counters (bpf/stats.h) are per CPU and plain increments: one CPU runs
 * the program for a packet from start to end.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "forward.h"
#include "frame.h"
#include "maps.h"
#include "reply.h"
#include "select.h"
#include "stats.h"
#include "sluice/parse.h"

/* ---- step 1: parse ---- */

/*
 * sl_parse on the frame: enum sl_pkt_kind, or -enum sl_drop. A global
 * function, so the verifier walks sl_parse once, whatever the caller.
 */
__noinline int sl_xdp_parse_full(struct xdp_md *ctx, struct sl_pkt *p)
{
	const sl_u8 *data = (const sl_u8 *)(long)ctx->data;
	const sl_u8 *end = (const sl_u8 *)(long)ctx->data_end;

	if (!p)
		return -SL_DROP_TRUNCATED;
	return sl_parse(data, end, p);
}

/*
 * The same, the plain IPv4 or IPv6 TCP/UDP frame first, inline
 * (sl_parse_fast4_end, sl_parse_fast6_end; sluice-dp takes the first
 * too): a third of the cost of sl_parse on such a frame.
 */
static __always_inline int parse(struct xdp_md *ctx, struct sl_pkt *p)
{
	const sl_u8 *data = (const sl_u8 *)(long)ctx->data;
	const sl_u8 *end = (const sl_u8 *)(long)ctx->data_end;

	if (sl_parse_fast4_end(data, end, p) ||
	    sl_parse_fast6_end(data, end, p))
		return SL_PKT_L4;
	return sl_xdp_parse_full(ctx, p);
}

/* ---- the program ---- */

/*
 * A frame sl_parse rejected: dropped under its reason when it is IP to a
 * VIP address, else left to the kernel.
 */
static __always_inline int malformed(const struct sl_pkt *p, enum sl_drop why)
{
	if (p->family && is_vip_addr(&p->key.dst, p->family))
		return drop(why);
	return pass(why);
}

/* A packet of a VIP flow: choose its backend and forward it. */
static __always_inline int vip_packet(struct xdp_md *ctx, struct sl_pkt *p,
				      struct sl_lcore_stats *st)
{
	const struct sl_table_params *prm;
	struct sl_xdp_sel sel;
	__u32 zero = 0;
	int act;

	prm = bpf_map_lookup_elem(&params_map, &zero);
	if (!prm)
		return XDP_PASS;
	act = choose_backend(p, prm, st, &sel);
	if (act != SL_XDP_FORWARD)
		return act;
	return forward(ctx, p, prm, &sel);
}

/* The whole fast path; an XDP action. */
static __always_inline int process(struct xdp_md *ctx)
{
	struct sl_lcore_stats *st = lcore_stats();
	struct sl_pkt p;
	int kind, act;

	if (!st)
		return XDP_PASS;
	st->rx_packets++;
	st->rx_bytes += frame_len(ctx);
	kind = parse(ctx, &p);
	if (kind < 0)
		return malformed(&p, (enum sl_drop) - kind);
	switch (kind) {
	case SL_PKT_L4:
	case SL_PKT_ICMP_ERR:
		act = vip_packet(ctx, &p, st);
		if (act >= SL_XDP_TOO_BIG)
			act = sl_xdp_too_big(ctx, &p,
					     (__u32)(act - SL_XDP_TOO_BIG));
		break;
	case SL_PKT_ICMP_ECHO:
		act = sl_xdp_echo(ctx, &p);
		break;
	case SL_PKT_NON_IP:
		return pass(SL_DROP_NON_IP);
	default: /* ARP and NDP are the kernel's in XDP mode */
		return pass(SL_DROP_UNHANDLED);
	}
	if (act == XDP_TX || act == XDP_REDIRECT) {
		st->tx_packets++;
		st->tx_bytes += frame_len(ctx);
	}
	return act;
}

/*
 * process() as a function of its own, for a test wrapper to call
 * (tests/bpf/bench_xdp.bpf.c times it). libbpf loads a subprogram only
 * into the programs that call it: sluice_xdp has the body inline.
 */
__noinline int sl_xdp_process(struct xdp_md *ctx)
{
	return process(ctx);
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	return process(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
