/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flowtab.h: the XDP flow table (flow_bucket_map + flow_map, bpf/maps.h;
 * layout and hashes in include/sluice/table.h), the twin of sluice-dp's
 * dataplane/flowtab.h, for sluice_xdp.bpf.c.
 *
 * Set-associative, SL_XDP_FLOW_WAYS ways per bucket (as sluice-dp's); the
 * bucket is the low bits of sl_xdp_flow_ihash(key), a cheap keyed hash
 * (SipHash runs only to pick a backend). A bucket line holds each way's
 * signature and last-seen tick: a lookup reads it, and reads an entry line
 * only on a signature match. A miss chooses its way from the bucket line
 * alone: the way of the same key, else an empty or expired one, else the
 * least recently seen one (counted as an eviction), so a SYN flood churns
 * the table and cannot grow it. The bucket lines are dense (8 MiB for 1M
 * flows, apart from the 64 MiB of entries): a new flow reads one line of
 * them, and writes one entry line.
 *
 * Measured (tests/bpf/bench_xdp, 1M flows, every bucket full and cold):
 * the entry write of a new flow is most of its cost, a store to a line
 * that is not in any cache; reading all of a bucket's entry lines instead
 * (the ways' keys in the bucket) was slower still, as was one page per
 * bucket for its line and its entries. A hit that has to pass over other
 * ways costs a mispredicted branch; the branch-free choice of the way was
 * slower for the flows that sit in the first way.
 *
 * One table for all CPUs, no locks. A CPU may read an entry while another
 * CPU rewrites it. Every entry carries a check word over its fields and its
 * key's index hash, written last as one aligned 4-byte store; a reader
 * recomputes it from what it read and its own key, and anything that does
 * not match (a torn or half-visible entry, whatever the store order) is a
 * miss: the flow is picked by Maglev again and rewritten. No ordering
 * argument is needed, the snapshot validates itself. seen is outside the
 * check: a 4-byte tick, updated in place, at worst a little stale. Two
 * CPUs inserting the same new flow at once may both write it, into the
 * same way or two; both hold the same Maglev choice, and the spare one
 * ages out.
 */
#ifndef SLUICE_BPF_FLOWTAB_H
#define SLUICE_BPF_FLOWTAB_H

#include <stdbool.h>

#include "maps.h"

/* Where a key lives, or will: its bucket and what identifies it there. */
struct ft_ref {
	struct sl_xdp_flow_bucket *bk;
	__u64 ih;  /* sl_xdp_flow_ihash() */
	__u32 b;   /* bucket index */
	__u32 sig; /* sl_xdp_flow_sig() */
};

/* The bucket of key; false when flow_bucket_map is smaller than mask. */
static __always_inline bool ft_ref(struct ft_ref *r,
				   const struct sl_flow_key *key,
				   const struct sl_hash_key *seed, __u32 mask)
{
	r->ih = sl_xdp_flow_ihash(key, seed);
	r->b = (__u32)r->ih & mask;
	r->sig = sl_xdp_flow_sig(r->ih, key->proto);
	r->bk = bpf_map_lookup_elem(&flow_bucket_map, &r->b);
	return r->bk != NULL;
}

static __always_inline struct sl_xdp_flow *ft_entry(const struct ft_ref *r,
						    __u32 way)
{
	__u32 i = r->b * SL_XDP_FLOW_WAYS + way;

	return bpf_map_lookup_elem(&flow_map, &i);
}

/* Entry e holds key, untorn (its check word is that of what was read). */
static __always_inline bool ft_holds(const struct sl_xdp_flow *e,
				     const struct sl_flow_key *key, __u64 ih)
{
	const __u32 *a = (const __u32 *)&e->key, *k = (const __u32 *)key;
	__u32 d = 0;
	int i;

	SL_UNROLL
	for (i = 0; i < 10; i++)
		d |= a[i] ^ k[i];
	return d == 0 &&
	       e->check == sl_xdp_flow_check(ih, e->hash, e->backend_id,
					     e->epoch, e->vip_id);
}

/* The way of r's bucket that holds key, or -1; *ep: its entry. */
static __always_inline int ft_find(const struct ft_ref *r,
				   const struct sl_flow_key *key,
				   struct sl_xdp_flow **ep)
{
	struct sl_xdp_flow *e;
	__u32 w;

	SL_UNROLL
	for (w = 0; w < SL_XDP_FLOW_WAYS; w++) {
		if (r->bk->sig[w] != r->sig)
			continue;
		e = ft_entry(r, w);
		if (e && ft_holds(e, key, r->ih)) {
			*ep = e;
			return (int)w;
		}
	}
	return -1;
}

/* Now and the idle timeouts, in the program's ticks (now_ticks()). */
struct ft_ttl {
	__u32 now;
	__u32 tcp;
	__u32 udp; /* every flow that is not TCP */
};

/* Most a CPU's clock may run ahead of another's, in ticks (~68 s). */
#define SL_FT_SKEW_TICKS (1u << 16)

/*
 * Ticks since a way was last seen. CPUs read the clock at slightly
 * different times, so another CPU may just have written a tick this CPU
 * has not reached: an age a little below 0 counts as 0, not as 2^32 - 1.
 * Further below 0 it is a way left alone for more than 2^31 ticks (24
 * days) whose tick wrapped: as old as can be. (One left alone for a
 * multiple of 2^32 ticks, 49 days, in a bucket nothing touched meanwhile
 * looks recent again; it still holds only while its backend's epoch
 * does.)
 */
static __always_inline __u32 ft_age(const struct ft_ttl *t, __u32 seen)
{
	__s32 age = (__s32)(t->now - seen);

	if (age >= 0)
		return (__u32)age;
	return age >= -(__s32)SL_FT_SKEW_TICKS ? 0 : 0xffffffffu;
}

static __always_inline bool ft_expired(const struct ft_ttl *t, __u32 sig,
				       __u32 seen)
{
	return ft_age(t, seen) > (sig & SL_FLOW_SIG_UDP ? t->udp : t->tcp);
}

/*
 * The way a key not in the bucket goes to: the first empty or expired
 * way, else the least recently seen one (*evicted set).
 */
static __always_inline __u32 ft_victim(const struct ft_ref *r,
				       const struct ft_ttl *t, bool *evicted)
{
	__u32 pick = 0, oldest = 0, sig, age;
	int w;

	SL_UNROLL
	for (w = 0; w < SL_XDP_FLOW_WAYS; w++) {
		sig = r->bk->sig[w];
		age = ft_age(t, r->bk->seen[w]);
		if (sig == 0 || age > (sig & SL_FLOW_SIG_UDP ? t->udp : t->tcp))
			return (__u32)w;
		if (age > oldest) {
			oldest = age;
			pick = (__u32)w;
		}
	}
	*evicted = true;
	return pick;
}

/* Write the flow into way w (entry e): entry first, check word last. */
static __always_inline void ft_write(const struct ft_ref *r, __u32 w,
				     struct sl_xdp_flow *e,
				     const struct sl_flow_key *key, __u32 now,
				     __u64 hash, __u32 backend_id, __u32 epoch,
				     __u16 vip_id)
{
	e->key = *key;
	e->hash = hash;
	e->backend_id = backend_id;
	e->epoch = epoch;
	e->vip_id = vip_id;
	e->pad = 0;
	e->check = sl_xdp_flow_check(r->ih, hash, backend_id, epoch, vip_id);
	w &= SL_XDP_FLOW_WAYS - 1;
	r->bk->seen[w] = now;
	r->bk->sig[w] = r->sig;
}

#endif /* SLUICE_BPF_FLOWTAB_H */
