/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * maps.h: the maps of the XDP fast path (sluice_xdp.bpf.c).
 *
 * Key and value types come from include/sluice/table.h, the one definition
 * shared with sluiced. Sizes marked "loader" are placeholders: control/
 * xdp_load.c sets them from the table file's capacities and the config's
 * flow_table.size before load, and reuses the pinned maps of a previous run
 * (/sys/fs/bpf/sluice/<instance>/<name>) when they are compatible.
 *
 * Writers: sluiced writes vip, backend, maglev and params (one thread, in
 * an order that never lets the program see a VIP without its Maglev
 * table); the program writes the flow table (shared by all CPUs, no locks:
 * bpf/flowtab.h) and the stats maps (per CPU, no atomics).
 */
#ifndef SLUICE_BPF_MAPS_H
#define SLUICE_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "sluice/table.h"

#define SL_NS_PER_S 1000000000ull

/*
 * Load-time settings: to libbpf the map .rodata.conf, which the loader
 * (control/xdp_load.c) fills before load and the kernel freezes, so the
 * verifier knows the values and prunes the branches they rule out. The
 * defaults are sluiced's.
 */
const volatile struct sl_xdp_conf xdp_conf SEC(".rodata.conf") = {
	.use_fib = 1,
	.flow_mask = 127, /* the loader: flow_bucket_map entries - 1 */
	.icmp_rate = 100, /* sluice-dp's SL_FP_ICMP_RATE */
	.icmp_burst = 20, /* SL_FP_ICMP_BURST */
};

/* Largest Maglev table a VIP may have (config table_size limit). */
#define SL_XDP_MAGLEV_MAX 655373

/* vip_map: (address, port, proto[|FRAG], family) -> the VIP, copied whole. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128); /* loader: the table file's max_vip_index */
	__type(key, struct sl_vip_key);
	__type(value, struct sl_vip_entry);
} vip_map SEC(".maps");

/*
 * vip_gen_map: [0] how many times sluiced has changed vip_map; bumped after
 * each change, before a Maglev table shrinks. Pinned, so a program that a
 * restarted sluiced is about to replace sees the changes too.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} vip_gen_map SEC(".maps");

/* backend_map: stable backend id -> backend (address, state, epoch, VIP). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024); /* loader: max_backends */
	__type(key, __u32);
	__type(value, struct sl_backend_entry);
} backend_map SEC(".maps");

/*
 * maglev_map: VIP id -> that VIP's Maglev table, an array of M backend ids.
 * BPF_F_INNER_MAP lets every inner array have its own M; a table is
 * replaced by creating a new inner map, filling it, then one update here.
 */
struct sl_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 251); /* template only; each inner map has its M */
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 64); /* loader: max_vips */
	__type(key, __u32);
	__array(values, struct sl_maglev_inner);
} maglev_map SEC(".maps");

/*
 * maglev_fixed_map: the same for the VIPs whose table has the default size,
 * SL_XDP_MAGLEV_FIXED_M (most of them): every inner array has that size and
 * no BPF_F_INNER_MAP, so the verifier inlines the lookup in it (a few
 * loads, where a lookup in maglev_map's arrays is a call, about 8 ns here).
 * A VIP's table is in the map its M says; sluiced installs a table in the
 * other map before the VIP's entry changes M, and removes the old one
 * after (control/xdp_load.c).
 */
struct sl_maglev_fixed_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SL_XDP_MAGLEV_FIXED_M);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 64); /* loader: max_vips */
	__type(key, __u32);
	__array(values, struct sl_maglev_fixed_inner);
} maglev_fixed_map SEC(".maps");

/* params_map: [0] hash seed, encapsulation sources, GUE port, MTU, timeouts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_table_params);
} params_map SEC(".maps");

/*
 * The flow table (bpf/flowtab.h, layout in include/sluice/table.h): one for
 * all CPUs, so a flow keeps its backend when the NIC (or a veth, or generic
 * XDP) does not keep it on one CPU. Set-associative, SL_XDP_FLOW_WAYS ways
 * per bucket; flow_table.size entries for all CPUs together (sluice-dp:
 * per lcore), rounded up to a power of two of buckets. BPF_F_MMAPABLE: the
 * value area is page-aligned, so every bucket and every entry is exactly
 * one cache line (a plain array's values start 56 bytes into a line), and
 * sluiced clears the table through a mapping.
 */

/* flow_bucket_map: bucket -> signatures and last-seen ticks of its ways. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 128); /* loader: flow_table.size / WAYS */
	__type(key, __u32);
	__type(value, struct sl_xdp_flow_bucket);
} flow_bucket_map SEC(".maps");

/* flow_map: bucket * WAYS + way -> the flow in that way (key, backend). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1024); /* loader: flow_bucket_map's x WAYS */
	__type(key, __u32);
	__type(value, struct sl_xdp_flow);
} flow_map SEC(".maps");

/* lcore_stats_map: [0] this CPU's counters, the XDP twin of an lcore's row. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_lcore_stats);
} lcore_stats_map SEC(".maps");

/* vip_stats_map: VIP id -> this CPU's packets, bytes, new flows, drops. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64); /* loader: max_vips */
	__type(key, __u32);
	__type(value, struct sl_vip_stats);
} vip_stats_map SEC(".maps");

/* backend_stats_map: backend id -> this CPU's packets, bytes, new flows. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1024); /* loader: max_backends */
	__type(key, __u32);
	__type(value, struct sl_backend_stats);
} backend_stats_map SEC(".maps");

/* pass_stats_map: [0] this CPU's XDP_PASS counts by reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_xdp_pass_stats);
} pass_stats_map SEC(".maps");

/* Program-private state, never read by sluiced. */

/*
 * classify()'s answer for a packet that is not a fragment, by (address,
 * port, protocol, family), as of vip_gen_map generation gen: the VIP's
 * fields the fast path uses, or no VIP (sluice-dp's per-lcore vip_cache).
 */
struct sl_xdp_vip_cache {
	union sl_addr addr;
	__u32 pp; /* port | proto << 16 | family << 24; 0: empty */
	__u32 gen;
	__u32 maglev_size;
	__u16 id; /* SL_VIP_EMPTY: no VIP */
	__u8 method;
	__u8 flags;
};

#define SL_XDP_VIP_CACHE 256 /* per CPU, direct-mapped */

/* vip_cache_map: this CPU's classify() answers, by a hash of the key. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SL_XDP_VIP_CACHE);
	__type(key, __u32);
	__type(value, struct sl_xdp_vip_cache);
} vip_cache_map SEC(".maps");

/* The flow table's clock, cached per CPU (sluice_xdp.bpf.c now_ticks). */
struct sl_xdp_clock {
	__u64 jiffies; /* bpf_jiffies64() when ticks was read */
	__u32 ticks;   /* bpf_ktime_get_coarse_ns() >> SL_FT_TICK_SHIFT */
	__u32 pad;
};

/* clock_map: [0] this CPU's cached flow-table time. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_xdp_clock);
} clock_map SEC(".maps");

/* Token bucket of ICMP too-big replies: credit in ns x rate, last refill. */
struct sl_xdp_icmp_bucket {
	__u64 tokens_ns;
	__u64 last_ns;
};

/* icmp_rate_map: [0] this CPU's too-big token bucket. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_xdp_icmp_bucket);
} icmp_rate_map SEC(".maps");

/*
 * The packet an ICMPv6 too-big quotes, at most 1232 bytes, checksummed in
 * three bpf_csum_diff calls of at most 512 bytes each.
 */
#define SL_XDP_QUOTE_MAX (1280 - 40 - 8)
struct sl_xdp_scratch {
	__u8 buf[3 * 512];
};

/* scratch_map: [0] per-CPU buffer the too-big quote is checksummed in. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_xdp_scratch);
} scratch_map SEC(".maps");

#endif /* SLUICE_BPF_MAPS_H */
