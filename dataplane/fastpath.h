/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fastpath.h: the per-packet path of sluice-dp, independent of DPDK.
 *
 * It works on a plain buffer (struct sl_buf) so the same code runs on an
 * rte_mbuf's data in lcore.c and on byte arrays in the fixture tests. One
 * struct sl_fp per worker lcore; nothing in it is shared for writing with
 * another lcore except the neighbour table, whose entries are single 64-bit
 * words written atomically.
 *
 * Per packet: parse -> classify (VIP / ARP / ICMP / other) -> select (flow
 * table, else Maglev) -> encapsulate -> verdict. No lock, no allocation, no
 * system call, no log line.
 */
#ifndef SLUICE_DP_FASTPATH_H
#define SLUICE_DP_FASTPATH_H

#include <stdbool.h>
#include <stdint.h>

#include "sluice/drop.h"
#include "sluice/table.h"

struct sl_flowtab;
struct sl_neigh;

#define SL_FP_MAX_PORTS 8

/* A packet: data[0 .. len) with headroom bytes before and tailroom after. */
struct sl_buf {
	sl_u8 *data;
	sl_u32 len;
	sl_u32 headroom;
	sl_u32 tailroom;
};

/*
 * A packet buffer as sl_fp_process_burst() sees it: the fields of DPDK's
 * struct rte_mbuf (22.11) that it reads and writes, at rte_mbuf's offsets
 * (lcore.c asserts them), so sluice-dp hands over its mbufs as they are;
 * tests and sl-fpsim lay one over a byte array. One segment: data_len
 * bytes at buf_addr + data_off in a buffer of buf_len bytes. On TX the
 * burst moves data_off and sets data_len and pkt_len; nothing else.
 */
struct sl_mbuf {
	sl_u8 *buf_addr;
	sl_u8 buf_iova[8]; /* rte_mbuf's; the fast path leaves them alone */
	sl_u16 data_off;
	sl_u16 refcnt_;
	sl_u16 nb_segs; /* 1: the caller keeps chained mbufs away */
	sl_u16 port_;
	sl_u8 ol_flags[8];
	sl_u32 packet_type;
	sl_u32 pkt_len;
	sl_u16 data_len;
	sl_u16 vlan_tci;
	sl_u8 hash[8];
	sl_u16 vlan_tci_outer;
	sl_u16 buf_len;
};
SL_STATIC_ASSERT(__builtin_offsetof(struct sl_mbuf, data_off) == 16 &&
			 __builtin_offsetof(struct sl_mbuf, nb_segs) == 20 &&
			 __builtin_offsetof(struct sl_mbuf, pkt_len) == 36 &&
			 __builtin_offsetof(struct sl_mbuf, data_len) == 40 &&
			 __builtin_offsetof(struct sl_mbuf, buf_len) == 54,
		 "struct sl_mbuf mirrors rte_mbuf's first cache line");

enum sl_verdict {
	SL_VERDICT_DROP = 0, /* counted under the returned drop reason */
	SL_VERDICT_TX =
		1, /* send buf (possibly moved/resized) out the port it came in */
};

/* Addresses the dataplane answers for and sends from; per process. */
struct sl_fp_conf {
	sl_u8 port_mac[SL_FP_MAX_PORTS][6];
	sl_u16 nb_ports;
	union sl_addr local4; /* LB's own IPv4 address (ARP, ICMP src) */
	union sl_addr local6; /* LB's own IPv6 address, or zero */
	bool has_local6;
	union sl_addr gateway4; /* next hop for encapsulated IPv4 */
	sl_u8 gw_mac[6];	/* static MAC of both gateways (config) */
	bool has_gw_mac;
	union sl_addr gateway6;
	bool has_gateway6;
	sl_u32 icmp_rate; /* too-big replies per second per lcore */
	sl_u32 icmp_burst;
};

#define SL_FP_VIP4_SLOTS 4096 /* most slots of struct sl_fp vip4 */

/* Per-lcore fast-path state; cache-aligned, owned by one lcore. */
struct sl_fp {
	/* Tables: switched at burst start, read-only during a burst. */
	struct sl_shm_header *shm;
	struct sl_table_hdr *table; /* NULL until something is published */
	sl_u64 gen;
	sl_u16 qs_row; /* this lcore's row in shm->qs and stats */

	struct sl_flowtab *ft;
	struct sl_neigh *neigh;
	const struct sl_fp_conf *conf;

	struct sl_lcore_stats *stats;
	struct sl_vip_stats *vip_stats; /* [max_vips] of this lcore */
	struct sl_backend_stats
		*backend_stats; /* [max_backends] of this lcore */
	sl_u32 max_vips;
	sl_u32 max_backends;

	sl_u32 now;	       /* seconds (from 1), for flow timeouts */
	sl_u64 now_ns;	       /* monotonic, for ICMP rate and neighbours */
	sl_u64 icmp_tokens_ns; /* token bucket: credit in ns x rate */
	sl_u64 icmp_last_ns;

	int gw4_idx
		[SL_FP_MAX_PORTS]; /* neighbour entry of the gateway per port */
	int gw6_idx[SL_FP_MAX_PORTS];
	/* The gateways' MACs as of this burst (refreshed per burst, not read
	 * from the shared neighbour table per packet); valid flags beside. */
	sl_u8 gw4_mac[SL_FP_MAX_PORTS][6];
	sl_u8 gw6_mac[SL_FP_MAX_PORTS][6];
	bool gw4_ok[SL_FP_MAX_PORTS];
	bool gw6_ok[SL_FP_MAX_PORTS];

	/* Outer Ethernet header towards the IPv4 gateway per port (dst, src,
	 * type IPv4), refreshed with gw4_mac; 16 bytes so one copy writes it. */
	sl_u8 eth4_tmpl[SL_FP_MAX_PORTS][16];
	/* Outer IPv4 source of this table: net | (flow hash & host). */
	sl_u32 src4_net; /* host order */
	sl_u32 src4_host;

	/*
	 * The IPv4 VIPs of this table generation (rebuilt when it changes):
	 * (address, port, protocol) -> VIP id, exactly the non-fragment keys
	 * of the table's VIP index, open addressing with linear probing at a
	 * load of at most 1/4 in the first vip4_mask + 1 slots. A miss is a
	 * packet for no IPv4 VIP, unless vip4_partial (more IPv4 VIPs than
	 * fit): then classify() decides. One 8-byte compare per packet
	 * instead of building a 20-byte key, hashing and probing the shared
	 * index. key 0 = empty (vip4_key() never gives 0).
	 */
	struct sl_fp_vip4 {
		sl_u64 key;
		sl_u16 vid;
		/* The express path's outer header length for the VIP's
		 * IPv4 backends (ipip 20, gue 28); 0: not express. */
		sl_u8 enc4;
		sl_u8 pad[5];
	} vip4[SL_FP_VIP4_SLOTS];
	sl_u32 vip4_mask;
	sl_u8 vip4_shift; /* 64 - log2(vip4_mask + 1) */
	bool vip4_partial;

	/* Tests only: every packet takes the general path (express.h). */
	bool express_off;
	/* The express path's stage 1 in AVX-512 (express512.h). */
	bool simd512;
	/* Packets forwarded by the express path, for tests and sl-fpsim. */
	sl_u64 fx_packets;
	/* The express path's generation: changes with the table's (never 0;
	 * struct sl_flow_entry fx_gen). */
	sl_u32 fx_gen;

	/* Counters while no shared memory is attached (carried over on attach). */
	struct sl_lcore_stats own_stats;
} __attribute__((aligned(64)));

/*
 * Set up fp for the lcore using row qs_row of the quiescent-state and stats
 * arrays. conf, ft and neigh must outlive fp. shm may be NULL (not created
 * yet): packets are then dropped as NO_TABLE and counted in fp->own_stats.
 * Adds the gateways of conf to neigh for every port, so call it from one
 * thread before the workers start. Returns 0 or -errno.
 */
int sl_fp_init(struct sl_fp *fp, struct sl_shm_header *shm, sl_u16 qs_row,
	       const struct sl_fp_conf *conf, struct sl_flowtab *ft,
	       struct sl_neigh *neigh);

/*
 * Switch fp to a shared-memory mapping (the lcore's own thread, or before
 * it runs): marks the row online and moves counts to the shared stats row.
 * Returns -EINVAL when the row is beyond shm->max_lcores.
 */
int sl_fp_attach(struct sl_fp *fp, struct sl_shm_header *shm);

/*
 * Let the express path use AVX-512 where the CPU has it (allow), or not.
 * sl_fp_init() allows it; sluice-dp follows DPDK's SIMD width limit
 * (--force-max-simd-bitwidth). Returns whether it is used.
 */
bool sl_fp_simd512(struct sl_fp *fp, bool allow);

/* Does this CPU have what the AVX-512 express stage needs? */
bool sl_fp_simd512_cpu(void);

/* Mark the row offline and stop using the mapping (before unmapping it). */
void sl_fp_detach(struct sl_fp *fp);

/*
 * Start of a burst: pick up a newly published generation and report the
 * quiescent state; set the clock. Cheap when nothing changed.
 */
void sl_fp_begin_burst(struct sl_fp *fp, sl_u64 now_ns);

/*
 * Process one packet received on port. On SL_VERDICT_TX, buf->data and
 * buf->len describe the frame to send (encapsulation moves data back into
 * the headroom; replies are written in place). On SL_VERDICT_DROP, *reason
 * is the counted drop reason. Counters are updated here, never by callers.
 */
enum sl_verdict sl_fp_process(struct sl_fp *fp, sl_u16 port, struct sl_buf *buf,
			      enum sl_drop *reason);

/* ICMP too-big replies per second per lcore, and burst (sluice-dp's). */
#define SL_FP_ICMP_RATE 100
#define SL_FP_ICMP_BURST 20

/* Most packets sl_fp_process_burst() takes at once. */
#define SL_FP_BURST_MAX 64

/*
 * Process the n (<= SL_FP_BURST_MAX) packets pkts[] received on port, as
 * n calls of sl_fp_process() would, with the flow-table lookups of the
 * burst overlapped. Returns how many to send, k: pkts[0 .. k) are those,
 * in their order, with their new data_off, data_len and pkt_len, and
 * *tx_bytes their length in all; pkts[k .. n) are the dropped ones, in
 * order, for the caller to free, and reasons[k .. n) why (each counted).
 */
unsigned int sl_fp_process_burst(struct sl_fp *fp, sl_u16 port,
				 struct sl_mbuf **pkts, unsigned int n,
				 enum sl_drop *reasons, sl_u64 *tx_bytes);

/* Headroom a buffer needs for the largest encapsulation (IPv6 + UDP). */
#define SL_FP_HEADROOM 64

#endif /* SLUICE_DP_FASTPATH_H */
