/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * select.h: step 3 of sluice_xdp.bpf.c, the backend of a VIP packet: the
 * flow table (bpf/flowtab.h) while its entry holds, else SipHash
 * (include/sluice/hash.h) and the VIP's Maglev table (maglev_map, an inner
 * array per VIP that sluiced swaps in whole), remembered in the table.
 */
#ifndef SLUICE_BPF_SELECT_H
#define SLUICE_BPF_SELECT_H

#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "classify.h"
#include "flowtab.h"
#include "maps.h"
#include "stats.h"
#include "sluice/hash.h"
#include "sluice/parse.h"

#define SL_XDP_FORWARD 0x100 /* choose_backend: go on to forward() */

/*
 * Flow-table time: ticks of 2^20 ns (about 1 ms), modulo 2^32 (49 days;
 * flowtab.h ft_age takes differences as signed, idle timeouts are at most
 * a day). Fine enough that the least recently seen way of a bucket is
 * told apart from a flow that just arrived (sluice-dp, per lcore, counts
 * in seconds).
 */
#define SL_FT_TICK_SHIFT 20

/*
 * The coarse clock moves once a jiffy, so each CPU keeps its last reading
 * and reads it again only when jiffies (one load, inlined by the verifier)
 * has moved: a helper call less per packet.
 */
static __always_inline __u32 now_ticks(void)
{
	struct sl_xdp_clock *c;
	__u64 j = bpf_jiffies64();
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&clock_map, &zero);
	if (!c)
		return (__u32)(bpf_ktime_get_coarse_ns() >> SL_FT_TICK_SHIFT);
	if (c->jiffies != j) {
		c->jiffies = j;
		c->ticks =
			(__u32)(bpf_ktime_get_coarse_ns() >> SL_FT_TICK_SHIFT);
	}
	return c->ticks;
}

/* An idle timeout of s seconds in ticks, rounded up. */
static __always_inline __u32 ticks(__u64 s)
{
	return (__u32)((s * SL_NS_PER_S + (1u << SL_FT_TICK_SHIFT) - 1) >>
		       SL_FT_TICK_SHIFT);
}

/* The backend of flow e while it still holds it for a packet, or NULL. */
static __always_inline const struct sl_backend_entry *
flow_backend(const struct sl_xdp_flow *e, __u32 vip_id, bool opens_conn)
{
	__u32 id = e->backend_id;
	const struct sl_backend_entry *be;

	if (e->vip_id != vip_id)
		return NULL;
	be = bpf_map_lookup_elem(&backend_map, &id);
	if (be && be->epoch == e->epoch && be->vip_id == vip_id &&
	    (be->state == SL_BACKEND_UP ||
	     (be->state == SL_BACKEND_DRAINED && !opens_conn)))
		return be;
	return NULL;
}

/*
 * The keyed flow hash, sl_flow_hash() (SipHash-1-3 over the 40-byte key),
 * for a flow's first packet only. The same bits, read as 32-bit words:
 * the key is 4-byte aligned, and through hash.h's byte pointer clang
 * assembles every word from 8 byte loads. test_parity holds the two
 * equal (sluice-dp calls sl_flow_hash).
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "flow_hash reads the key's words little-endian, as SipHash does"
#endif
static __always_inline __u64 flow_hash(const struct sl_flow_key *key,
				       const struct sl_table_params *prm)
{
	const __u32 *w = (const __u32 *)key;
	__u64 k0 = prm->seed.k0, k1 = prm->seed.k1, m;
	__u64 v0 = 0x736f6d6570736575ull ^ k0;
	__u64 v1 = 0x646f72616e646f6dull ^ k1;
	__u64 v2 = 0x6c7967656e657261ull ^ k0;
	__u64 v3 = 0x7465646279746573ull ^ k1;
	int i;

	SL_UNROLL
	for (i = 0; i < 5; i++) {
		m = (__u64)w[2 * i] | (__u64)w[2 * i + 1] << 32;
		v3 ^= m;
		SL_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	m = (__u64)sizeof(*key) << 56;
	v3 ^= m;
	SL_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	SL_SIPROUND(v0, v1, v2, v3);
	SL_SIPROUND(v0, v1, v2, v3);
	SL_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Maglev's backend for flow hash h: maglev[h % M], or NULL (*id set). */
static __always_inline const struct sl_backend_entry *
maglev_pick(const struct vip_sel *vip, __u64 h, __u32 *id)
{
	const struct sl_backend_entry *be;
	__u32 vip_id = vip->id, idx;
	const __u32 *slot;
	void *table;

	if (vip->maglev_size == SL_XDP_MAGLEV_FIXED_M) {
		table = bpf_map_lookup_elem(&maglev_fixed_map, &vip_id);
		if (!table)
			return NULL;
		idx = (__u32)(h % SL_XDP_MAGLEV_FIXED_M);
		slot = bpf_map_lookup_elem(table, &idx); /* inlined */
		/* Kept apart from the lookup below: merged into one call
		 * site of two maps, neither would be inlined. */
		__asm__ volatile("" : "+r"(slot));
	} else {
		if (vip->maglev_size == 0)
			return NULL;
		table = bpf_map_lookup_elem(&maglev_map, &vip_id);
		if (!table)
			return NULL;
		idx = (__u32)(h % vip->maglev_size);
		slot = bpf_map_lookup_elem(table, &idx);
	}
	if (!slot)
		return NULL;
	*id = *slot;
	be = bpf_map_lookup_elem(&backend_map, id);
	/* Another VIP's backend only while a republication is half done. */
	if (!be || be->vip_id != vip_id)
		return NULL;
	return be;
}

/*
 * The backend for a flow of vip: the flow table's choice while it is still
 * valid, else Maglev's (remembered). Returns the backend (its id in
 * *be_id) or NULL, the flow hash in *hash (a hit or a re-pick reuses the
 * one stored with the flow, as sluice-dp does, so SipHash runs only for a
 * flow's first packet) and in *picked whether Maglev chose.
 *
 * SipHash and Maglev run after the table has answered, for a TCP SYN too:
 * computing them first, while a cold bucket line is on its way, gained
 * nothing measurable with a cold 1M-entry table (bench_xdp: 297 against
 * 299 ns) and cost a SYN that hits the table 30 ns (78 against 108 ns);
 * SipHash alone first, with all steps inlined: a new flow 104.9 against
 * 105.1 ns (4096-entry table), a SYN that hits 84.0 against 68.7.
 */
static __always_inline const struct sl_backend_entry *
select_backend(const struct vip_sel *vip, const struct sl_flow_key *key,
	       const struct sl_table_params *prm, bool opens_conn,
	       struct sl_lcore_stats *st, __u32 *be_id, __u64 *hash,
	       bool *picked)
{
	const struct sl_backend_entry *be;
	__u32 vip_id = vip->id, id = 0, w;
	struct sl_xdp_flow *e = NULL;
	bool evicted = false;
	struct ft_ref r;
	struct ft_ttl t;
	__u64 h = 0;
	int found;

	if (!ft_ref(&r, key, &prm->seed, xdp_conf.flow_mask))
		return NULL;
	t.now = now_ticks();
	/* The key's own timeout, all a hit needs; a miss takes both. */
	t.tcp = ticks(key->proto == SL_IPPROTO_TCP ? prm->tcp_timeout
						   : prm->udp_timeout);
	t.udp = t.tcp;
	found = ft_find(&r, key, &e);
	if (found >= 0 && e) {
		w = (__u32)found & (SL_XDP_FLOW_WAYS - 1);
		if (!ft_expired(&t, r.sig, r.bk->seen[w])) {
			if (r.bk->seen[w] != t.now)
				r.bk->seen[w] = t.now;
			be = flow_backend(e, vip_id, opens_conn);
			if (be) {
				st->flow_hits++;
				*hash = e->hash;
				*be_id = e->backend_id;
				return be;
			}
			st->flow_repicks++;
		}
		h = e->hash;
	} else {
		h = flow_hash(key, prm);
		t.tcp = ticks(prm->tcp_timeout);
		t.udp = ticks(prm->udp_timeout);
		w = ft_victim(&r, &t, &evicted);
		e = ft_entry(&r, w);
	}
	*hash = h;
	be = maglev_pick(vip, h, &id);
	if (!be || !e)
		return NULL;
	ft_write(&r, w, e, key, t.now, h, id, be->epoch, (__u16)vip_id);
	if (evicted)
		st->flow_evictions++;
	st->flow_misses++;
	*picked = true;
	*be_id = id;
	return be;
}

/* A VIP packet's backend, from choose_backend() to forward(). */
struct sl_xdp_sel {
	const struct sl_backend_entry *be;
	struct sl_vip_stats *vs;     /* this CPU's counters of the VIP ... */
	struct sl_backend_stats *bs; /* ... and of the backend, or NULL */
	__u64 hash;
	__u32 be_id;
	__u16 vip_id;
	__u8 method;
};

/*
 * Classify and select for a packet of a VIP flow (TCP/UDP, or an ICMP
 * error quoting one): SL_XDP_FORWARD with *sel filled, or the XDP action
 * for a packet that is passed or dropped (counted).
 */
static __always_inline int choose_backend(const struct sl_pkt *p,
					  const struct sl_table_params *prm,
					  struct sl_lcore_stats *st,
					  struct sl_xdp_sel *sel)
{
	const struct sl_backend_entry *be;
	bool picked = false;
	struct vip_sel vip;
	__u32 vip_id, be_id = 0;
	__u64 hash = 0;

	if (!classify_cached(p, &vip))
		return pass(p->flags & SL_PKT_F_ICMP_INNER
				    ? SL_DROP_ICMP_UNMATCHED
				    : SL_DROP_NOT_VIP);
	vip_id = vip.id;
	if (vip_id == SL_VIP_AMBIGUOUS)
		return drop(SL_DROP_FRAG_AMBIGUOUS);
	if ((p->flags & SL_PKT_F_FRAG) && (vip.flags & SL_VIP_F_FRAG_DROP)) {
		vip_drop(vip_id);
		return drop(SL_DROP_FRAGMENT);
	}
	be = select_backend(&vip, &p->key, prm, sl_pkt_opens_conn(p), st,
			    &be_id, &hash, &picked);
	if (!be) {
		vip_drop(vip_id);
		return drop(SL_DROP_NO_BACKEND);
	}
	if (p->flags & SL_PKT_F_ICMP_INNER)
		st->icmp_errors_forwarded++;
	/* One lookup each for the new flow's counters and forward()'s. */
	sel->vs = bpf_map_lookup_elem(&vip_stats_map, &vip_id);
	sel->bs = bpf_map_lookup_elem(&backend_stats_map, &be_id);
	if (picked) {
		if (sel->vs)
			sel->vs->new_flows++;
		if (sel->bs)
			sel->bs->new_flows++;
	}
	sel->be = be;
	sel->hash = hash;
	sel->be_id = be_id;
	sel->vip_id = (__u16)vip_id;
	sel->method = vip.method;
	return SL_XDP_FORWARD;
}

#endif /* SLUICE_BPF_SELECT_H */
