/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * table.h: the table ABI shared by sluiced, sluice-dp and the BPF program.
 *
 * Shared memory is one file named from the config's instance
 * (/dev/hugepages/sluice-<instance> when hugetlbfs is mounted, else
 * /dev/shm/sluice-<instance>), created by the publisher and mapped by both
 * processes. Layout, all offsets from the start of the mapping:
 *
 *   struct sl_shm_header             magic, ABI, sizes, the published
 *                                    generation, per-lcore quiescent state,
 *                                    heartbeats
 *   slot 0, slot 1                   struct sl_table_hdr + VIPs + VIP index +
 *                                    backends + Maglev entries
 *   stats area                       written only by the dataplane
 *
 * Publication (sluiced): write the slot of generation gen+1, which is
 * (gen+1) & 1, then store gen+1 into hdr->gen with release order. Before
 * writing that slot again (for gen+2) it waits until every online lcore has
 * reported qs[i].seen >= gen+1, i.e. has stopped reading the old slot.
 * Reading (each lcore): at the start of a burst load hdr->gen with acquire
 * order; if it changed, switch to slot gen & 1; store it into qs[lcore].seen
 * (release). An lcore that is idle still polls, so it still reports.
 * A dataplane that is gone (its pid dead or heartbeat stale) is not waited for.
 *
 * Identity and stability: backends and VIPs carry stable ids (indices into
 * the backend and VIP arrays, and into the stats arrays) that survive
 * republication; a flow-table entry remembers (backend id, epoch) and is
 * valid only while the backend at that id has the same epoch. The publisher
 * bumps the epoch whenever an id is given to a different identity.
 *
 * Every struct here has a size assert; changing a layout means bumping
 * SL_TABLE_ABI_VERSION.
 */
#ifndef SLUICE_TABLE_H
#define SLUICE_TABLE_H

#include "drop.h"
#include "flow.h"
#include "hash.h"
#include "types.h"

#define SL_SHM_MAGIC 0x31454349554c53ULL /* "SLUICE1\0" little-endian */
/* 2: the VIP index hash mixes all bits (VIPs differing in one byte no longer
 * share a probe chain); version 1 indexes are laid out differently. */
#define SL_TABLE_ABI_VERSION 2

#define SL_MAX_LCORES 64 /* quiescent-state and stats rows */
#define SL_VIP_NAME_LEN 32
#define SL_CACHE_LINE 64

enum sl_method {
	SL_METHOD_IPIP = 1,
	SL_METHOD_GUE = 2,
	SL_METHOD_L2DSR = 3,
};

enum sl_backend_state {
	SL_BACKEND_UNUSED = 0,	/* id not allocated */
	SL_BACKEND_UP = 1,	/* in the Maglev table, keeps its flows */
	SL_BACKEND_DRAINED = 2, /* out of the Maglev table, keeps its flows */
	SL_BACKEND_DOWN = 3,	/* out of the table, its flows are re-picked */
};

enum sl_vip_flags {
	SL_VIP_F_PORT_ANY = 1 << 0, /* port-agnostic: matches every port */
	SL_VIP_F_FRAG_DROP = 1
			     << 1, /* drop fragments (else hash on addresses) */
};

/* A VIP's identity and forwarding parameters. */
struct sl_vip_entry {
	union sl_addr addr;
	sl_be16 port; /* 0 for a port-agnostic VIP */
	sl_u8 proto;  /* SL_IPPROTO_TCP / SL_IPPROTO_UDP */
	sl_u8 family;
	sl_u8 method;	   /* enum sl_method */
	sl_u8 flags;	   /* enum sl_vip_flags */
	sl_u16 id;	   /* stable: index in the slot's vips[] and in stats */
	sl_u32 maglev_off; /* first entry of its Maglev table in maglev[] */
	sl_u32 maglev_size; /* M (prime); 0 when the VIP has no table */
	sl_u32 n_backends;  /* backends in its Maglev table (UP, weight > 0) */
	sl_u32 reserved;
	char name[SL_VIP_NAME_LEN];
};
SL_STATIC_ASSERT(sizeof(struct sl_vip_entry) == 72, "sl_vip_entry ABI");

/* A backend, indexed by its stable id in the slot's backends[]. */
struct sl_backend_entry {
	union sl_addr addr;
	sl_u8 family;
	sl_u8 state;   /* enum sl_backend_state */
	sl_be16 port;  /* l2dsr/health only; encapsulation ignores it */
	sl_u32 epoch;  /* changes when this id is reused for another identity */
	sl_u16 vip_id; /* the VIP this backend serves */
	sl_u8 mac[6];  /* l2dsr: static MAC from config, or zero (resolve) */
	sl_u32 weight;
};
SL_STATIC_ASSERT(sizeof(struct sl_backend_entry) == 36, "sl_backend_entry ABI");

/*
 * VIP index: open addressing, power-of-two size, linear probing, load <= 1/2.
 * A fragment key (SL_VIP_KEY_FRAG in proto) maps (address, proto) to the one
 * VIP that owns fragments of that address, or to SL_VIP_AMBIGUOUS.
 */
#define SL_VIP_KEY_FRAG 0x80
#define SL_VIP_EMPTY 0xffff
#define SL_VIP_AMBIGUOUS 0xfffe

struct sl_vip_key {
	union sl_addr addr;
	sl_be16 port;
	sl_u8 proto; /* | SL_VIP_KEY_FRAG for fragment lookups */
	sl_u8 family;
};
SL_STATIC_ASSERT(sizeof(struct sl_vip_key) == 20, "sl_vip_key ABI");

struct sl_vip_slot {
	struct sl_vip_key key;
	sl_u16 vip_id; /* SL_VIP_EMPTY, SL_VIP_AMBIGUOUS or an index */
	sl_u16 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_vip_slot) == 24, "sl_vip_slot ABI");

/* Dataplane settings the publisher passes along with the tables. */
struct sl_table_params {
	struct sl_hash_key seed;
	union sl_addr encap_src4; /* outer source base for IPv4 outer headers */
	union sl_addr encap_src6; /* outer source base for IPv6 outer headers */
	sl_u8 encap_src4_bits;	  /* prefix length: host bits vary per flow */
	sl_u8 encap_src6_bits;
	sl_be16 gue_port; /* destination port of GUE packets */
	sl_u16 mtu;	  /* egress MTU for the too-big check */
	sl_u16 pad;
	sl_u32 tcp_timeout; /* seconds */
	sl_u32 udp_timeout;
};
SL_STATIC_ASSERT(sizeof(struct sl_table_params) == 64, "sl_table_params ABI");

/* One table slot; the arrays follow at the offsets given (from the slot). */
struct sl_table_hdr {
	sl_u64 gen; /* generation this slot was written for */
	struct sl_table_params params;
	sl_u32 n_vips;	       /* vips[0 .. n_vips): ids, some may be unused */
	sl_u32 n_backends;     /* backends[0 .. n_backends) */
	sl_u32 vip_index_size; /* power of two */
	sl_u32 maglev_used;    /* entries of maglev[] in use */
	sl_u32 vips_off;
	sl_u32 vip_index_off;
	sl_u32 backends_off;
	sl_u32 maglev_off;
};
SL_STATIC_ASSERT(sizeof(struct sl_table_hdr) == 104, "sl_table_hdr ABI");

/* Per-lcore quiescent state: one cache line each, written by that lcore. */
struct sl_qs {
	sl_u64 seen; /* last generation this lcore switched to */
	sl_u64 online; /* 1 while the lcore polls; 0 before start and after stop */
	sl_u64 pad[6];
};
SL_STATIC_ASSERT(sizeof(struct sl_qs) == SL_CACHE_LINE, "sl_qs ABI");

struct sl_shm_header {
	sl_u64 magic;
	sl_u32 abi_version;
	sl_u32 header_size;
	sl_u64 total_size;
	sl_u64 slot_off[2];
	sl_u64 slot_size;
	sl_u64 stats_off;
	sl_u64 stats_size;
	/* Capacities fixed at creation; a table that does not fit is refused. */
	sl_u32 max_vips;
	sl_u32 max_backends;
	sl_u32 max_vip_index;
	sl_u32 max_maglev; /* Maglev entries per slot, all VIPs together */
	sl_u32 max_lcores; /* rows of the stats area (<= SL_MAX_LCORES) */
	sl_u32 pad0;
	char instance[32];
	/* Written by the publisher, on its own cache line. */
	sl_u64 gen SL_ALIGNED(SL_CACHE_LINE); /* published; slot gen & 1 */
	sl_u64 cp_pid;
	sl_u64 cp_heartbeat_ns; /* CLOCK_MONOTONIC */
	/* Written by the dataplane, on its own cache line. */
	sl_u64 dp_pid SL_ALIGNED(SL_CACHE_LINE);
	sl_u64 dp_heartbeat_ns; /* CLOCK_MONOTONIC, updated every ~100 ms */
	sl_u64 dp_start_ns;
	sl_u32 dp_nb_lcores; /* qs rows in use */
	sl_u32 pad3;
	struct sl_qs qs[SL_MAX_LCORES] SL_ALIGNED(SL_CACHE_LINE);
};
SL_STATIC_ASSERT(__builtin_offsetof(struct sl_shm_header, gen) == 128,
		 "sl_shm_header ABI: gen");
SL_STATIC_ASSERT(__builtin_offsetof(struct sl_shm_header, dp_pid) == 192,
		 "sl_shm_header ABI: dp_pid");
SL_STATIC_ASSERT(sizeof(struct sl_shm_header) ==
			 4 * SL_CACHE_LINE + SL_MAX_LCORES * SL_CACHE_LINE,
		 "sl_shm_header ABI");

/*
 * Stats area, written only by the dataplane, one row per lcore so no
 * counter is shared between cores:
 *   struct sl_lcore_stats lcore[max_lcores]
 *   struct sl_vip_stats   vip[max_lcores][max_vips]
 *   struct sl_backend_stats backend[max_lcores][max_backends]
 * Readers sum the rows. Counters only grow (64-bit, no wrap in practice).
 */
struct sl_lcore_stats {
	sl_u64 rx_packets;
	sl_u64 rx_bytes;
	sl_u64 tx_packets;
	sl_u64 tx_bytes;
	sl_u64 flow_hits;
	sl_u64 flow_misses;    /* new flows picked by Maglev */
	sl_u64 flow_evictions; /* live entries evicted to make room */
	sl_u64 flow_repicks;   /* entries whose backend went down/away */
	sl_u64 arp_replies;    /* ARP/NDP answers sent */
	sl_u64 icmp_echo_replies;
	sl_u64 icmp_too_big_sent;
	sl_u64 icmp_errors_forwarded;
	sl_u64 table_gen; /* generation in use */
	sl_u64 pad[3];
	sl_u64 drops[SL_DROP_SLOTS];
};
SL_STATIC_ASSERT(sizeof(struct sl_lcore_stats) == 16 * 8 + SL_DROP_SLOTS * 8,
		 "sl_lcore_stats ABI");

struct sl_vip_stats {
	sl_u64 packets;
	sl_u64 bytes;
	sl_u64 new_flows;
	sl_u64 drops; /* no backend, too big, fragments dropped */
};
SL_STATIC_ASSERT(sizeof(struct sl_vip_stats) == 32, "sl_vip_stats ABI");

struct sl_backend_stats {
	sl_u64 packets;
	sl_u64 bytes;
	sl_u64 new_flows;
	sl_u64 pad;
};
SL_STATIC_ASSERT(sizeof(struct sl_backend_stats) == 32, "sl_backend_stats ABI");

/* ---- XDP mode: BPF map values and program settings (bpf/maps.h) ---- */

/*
 * XDP flow table (bpf/flowtab.h): set-associative, one table for all CPUs,
 * in two BPF arrays. flow_bucket_map holds one cache line per bucket: the
 * signature and last-seen tick of each of its SL_XDP_FLOW_WAYS ways, so a
 * lookup that misses, and the choice of a way to replace, read that line
 * only. flow_map holds the entries, bucket b's way w at b * WAYS + w, read
 * on a signature match and written on an insert. Only the program reads
 * them; sluiced sizes them (a power of two of buckets) and clears them.
 */
#define SL_XDP_FLOW_WAYS 8

struct sl_xdp_flow_bucket {
	sl_u32 sig[SL_XDP_FLOW_WAYS];  /* sl_xdp_flow_sig(); 0 = empty way */
	sl_u32 seen[SL_XDP_FLOW_WAYS]; /* tick (2^20 ns) of its last packet */
};
SL_STATIC_ASSERT(sizeof(struct sl_xdp_flow_bucket) == SL_CACHE_LINE,
		 "sl_xdp_flow_bucket ABI: one cache line");

/*
 * flow_map value: the XDP counterpart of sluice-dp's flow-table entry.
 * check is sl_xdp_flow_check() of the other fields and of the key's index
 * hash, stored last in one aligned 4-byte write: a reader recomputes it
 * from what it read and from its own key, so an entry torn by another CPU's
 * write is seen as a miss, whatever order the stores became visible in.
 */
struct sl_xdp_flow {
	struct sl_flow_key key;
	sl_u64 hash; /* sl_flow_hash() of the key: hits reuse it for encap */
	sl_u32 backend_id;
	sl_u32 epoch; /* of the backend when the flow was placed */
	sl_u16 vip_id;
	sl_u16 pad;
	sl_u32 check;
};
SL_STATIC_ASSERT(sizeof(struct sl_xdp_flow) == SL_CACHE_LINE,
		 "sl_xdp_flow ABI: one cache line");

/*
 * Index hash of a flow key: bucket (low bits) and signature (high bits).
 * Cheap (five independent 32 x 32 -> 64-bit products, NH-style, and a
 * finalizer) rather than SipHash: it only decides where a flow is
 * remembered. Keyed with hash_seed, but not a PRF: a client who aims many
 * flows at one bucket only makes it evict, and an evicted flow is picked
 * again by the same Maglev table (sluice-dp's seeded CRC32c, the same
 * stance). Reads the key as ten 32-bit words (the key is 4-byte aligned).
 */
static SL_ALWAYS_INLINE sl_u64 sl_xdp_flow_ihash(const struct sl_flow_key *k,
						 const struct sl_hash_key *s)
{
	const sl_u32 *w = (const sl_u32 *)k;
	sl_u64 a = s->k0, b = s->k1, h;

	h = ((sl_u64)(sl_u32)(w[0] + (sl_u32)a) *
	     (sl_u64)(sl_u32)(w[1] + (sl_u32)(a >> 32))) +
	    ((sl_u64)(sl_u32)(w[2] + (sl_u32)b) *
	     (sl_u64)(sl_u32)(w[3] + (sl_u32)(b >> 32))) +
	    ((sl_u64)(sl_u32)(w[4] + (sl_u32)a + 0x9e3779b9u) *
	     (sl_u64)(sl_u32)(w[5] + (sl_u32)(a >> 32) + 0x7f4a7c15u)) +
	    ((sl_u64)(sl_u32)(w[6] + (sl_u32)b + 0x85ebca6bu) *
	     (sl_u64)(sl_u32)(w[7] + (sl_u32)(b >> 32) + 0xc2b2ae35u)) +
	    ((sl_u64)(sl_u32)(w[8] + (sl_u32)a + 0x27d4eb2fu) *
	     (sl_u64)(sl_u32)(w[9] + (sl_u32)(b >> 32) + 0x165667b1u));
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 29;
	return h;
}

/* Signature of a flow in its bucket (sl_flow_sig, flow.h): high bits. */
static SL_ALWAYS_INLINE sl_u32 sl_xdp_flow_sig(sl_u64 ih, sl_u8 proto)
{
	return sl_flow_sig((sl_u32)(ih >> 32), proto);
}

/*
 * The check word of an entry (not of seen, which is updated in place): the
 * high half of one odd multiply over a sum that changes when any field
 * does, so a torn combination of two entries, or another key's entry,
 * matches with a chance of about 2^-32.
 */
static SL_ALWAYS_INLINE sl_u32 sl_xdp_flow_check(sl_u64 ih, sl_u64 hash,
						 sl_u32 backend_id,
						 sl_u32 epoch, sl_u16 vip_id)
{
	sl_u64 c = (ih ^ hash) + ((sl_u64)epoch << 32 | backend_id) +
		   ((sl_u64)vip_id << 16);

	return (sl_u32)((c * 0x9e3779b97f4a7c15ull) >> 32);
}

/*
 * The Maglev table size of maglev_fixed_map's inner arrays (bpf/maps.h):
 * the default M (control/maglev.h SL_MAGLEV_M_DEFAULT). Tables of any other
 * size are in maglev_map.
 */
#define SL_XDP_MAGLEV_FIXED_M 65537

/*
 * pass_stats_map value: packets the XDP program handed to the kernel
 * (XDP_PASS), by the reason sluice-dp would have dropped them for. Kept
 * apart from sl_lcore_stats.drops, which in XDP mode counts XDP_DROP only.
 */
struct sl_xdp_pass_stats {
	sl_u64 passed[SL_DROP_SLOTS];
};
SL_STATIC_ASSERT(sizeof(struct sl_xdp_pass_stats) == SL_DROP_SLOTS * 8,
		 "sl_xdp_pass_stats ABI");

/*
 * The XDP program's load-time settings (its .rodata.conf section, frozen at
 * load, so the verifier prunes the branches not taken).
 */
struct sl_xdp_conf {
	sl_u8 use_fib; /* 1: next hop from bpf_fib_lookup (sluiced) */
	sl_u8 pad;
	sl_u8 src_mac[6]; /* use_fib == 0 (tests): static source MAC ... */
	sl_u8 gw_mac[6];  /* ... and next-hop MAC, always XDP_TX */
	sl_u16 pad2;
	sl_u32 icmp_rate; /* too-big replies per second per CPU */
	sl_u32 icmp_burst;
	sl_u32 flow_mask; /* flow_bucket_map entries - 1 (the loader sets it) */
	sl_u32 pad3;
};
SL_STATIC_ASSERT(sizeof(struct sl_xdp_conf) == 32, "sl_xdp_conf ABI");

/* ---- fast-path accessors (no locks, no system calls) ---- */

static SL_ALWAYS_INLINE struct sl_table_hdr *
sl_table_slot(const struct sl_shm_header *h, sl_u64 gen)
{
	return (struct sl_table_hdr *)((sl_u8 *)h + h->slot_off[gen & 1]);
}

static SL_ALWAYS_INLINE struct sl_vip_entry *
sl_table_vips(const struct sl_table_hdr *t)
{
	return (struct sl_vip_entry *)((sl_u8 *)t + t->vips_off);
}

static SL_ALWAYS_INLINE struct sl_vip_slot *
sl_table_vip_index(const struct sl_table_hdr *t)
{
	return (struct sl_vip_slot *)((sl_u8 *)t + t->vip_index_off);
}

static SL_ALWAYS_INLINE struct sl_backend_entry *
sl_table_backends(const struct sl_table_hdr *t)
{
	return (struct sl_backend_entry *)((sl_u8 *)t + t->backends_off);
}

static SL_ALWAYS_INLINE sl_u32 *sl_table_maglev(const struct sl_table_hdr *t)
{
	return (sl_u32 *)((sl_u8 *)t + t->maglev_off);
}

/*
 * Hash for the VIP index: the VIP set is not chosen by clients, so no key;
 * but every input bit must reach the low bits the index uses (VIPs often
 * differ only in an address's last byte), hence a full avalanche finalizer
 * (murmur3's fmix32) rather than a single multiply.
 */
static SL_ALWAYS_INLINE sl_u32 sl_vip_key_hash(const struct sl_vip_key *k)
{
	sl_u32 h = k->addr.w[0] ^ (k->addr.w[1] * 0x85ebca6bu) ^
		   (k->addr.w[2] * 0xc2b2ae35u) ^ (k->addr.w[3] * 0x27d4eb2fu);

	h ^= ((sl_u32)k->port << 16) ^ ((sl_u32)k->proto << 8) ^ k->family;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static SL_ALWAYS_INLINE int sl_vip_key_eq(const struct sl_vip_key *a,
					  const struct sl_vip_key *b)
{
	return a->addr.w[0] == b->addr.w[0] && a->addr.w[1] == b->addr.w[1] &&
	       a->addr.w[2] == b->addr.w[2] && a->addr.w[3] == b->addr.w[3] &&
	       a->port == b->port && a->proto == b->proto &&
	       a->family == b->family;
}

/*
 * Look up a VIP key; returns the vip id, SL_VIP_AMBIGUOUS, or SL_VIP_EMPTY.
 * The index always has an empty slot (load <= 1/2), so probing ends.
 */
static SL_ALWAYS_INLINE sl_u16 sl_table_vip_lookup(const struct sl_table_hdr *t,
						   const struct sl_vip_key *k)
{
	const struct sl_vip_slot *idx = sl_table_vip_index(t);
	sl_u32 mask = t->vip_index_size - 1;
	sl_u32 i = sl_vip_key_hash(k) & mask;
	sl_u32 n;

	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		if (idx[i].vip_id == SL_VIP_EMPTY)
			return SL_VIP_EMPTY;
		if (sl_vip_key_eq(&idx[i].key, k))
			return idx[i].vip_id;
	}
	return SL_VIP_EMPTY;
}

#endif /* SLUICE_TABLE_H */
