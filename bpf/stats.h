/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.h: the counters of sluice_xdp.bpf.c (lcore_stats_map,
 * pass_stats_map, vip_stats_map, backend_stats_map in bpf/maps.h), which
 * sluiced sums over the CPUs (control/xdp.c).
 *
 * Per CPU and plain increments: one CPU runs the program for a packet from
 * start to end. Every packet the program drops is counted under its reason
 * in lcore_stats_map, every one it passes to the kernel in pass_stats_map.
 * The array lookups are inlined by the verifier (a few loads each).
 */
#ifndef SLUICE_BPF_STATS_H
#define SLUICE_BPF_STATS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"

static __always_inline struct sl_lcore_stats *lcore_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lcore_stats_map, &zero);
}

static __always_inline int drop(enum sl_drop why)
{
	struct sl_lcore_stats *st = lcore_stats();

	if (st)
		st->drops[why & (SL_DROP_SLOTS - 1)]++;
	return XDP_DROP;
}

static __always_inline int pass(enum sl_drop why)
{
	struct sl_xdp_pass_stats *ps;
	__u32 zero = 0;

	ps = bpf_map_lookup_elem(&pass_stats_map, &zero);
	if (ps)
		ps->passed[why & (SL_DROP_SLOTS - 1)]++;
	return XDP_PASS;
}

static __always_inline void vip_drop(__u32 vip_id)
{
	struct sl_vip_stats *vs = bpf_map_lookup_elem(&vip_stats_map, &vip_id);

	if (vs)
		vs->drops++;
}

/*
 * A packet forwarded for a VIP to one of its backends: vs and bs are
 * their counters on this CPU (vip_stats_map, backend_stats_map), or NULL.
 */
static __always_inline void
count_forward(struct sl_vip_stats *vs, struct sl_backend_stats *bs, __u32 bytes)
{
	if (vs) {
		vs->packets++;
		vs->bytes += bytes;
	}
	if (bs) {
		bs->packets++;
		bs->bytes += bytes;
	}
}

#endif /* SLUICE_BPF_STATS_H */
