/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flowtab.h: the per-lcore flow table (one per worker lcore, no locks).
 *
 * Fixed size, set-associative: a bucket is one cache line of 8 signatures
 * and 8 last-seen stamps; entries live in a parallel array. A lookup reads
 * the bucket line and, on a signature match, one entry line. An insert takes
 * an empty or expired way, else evicts the least recently seen way of the
 * bucket (LRU-like), so a SYN flood cannot grow the table, only churn it.
 * Memory comes from the caller (hugepages in sluice-dp, malloc in tests).
 *
 * The table is indexed by sl_flowtab_hash(), a keyed multiply-xorshift (a
 * few cycles), not by the keyed SipHash that picks backends: the index
 * only decides where a flow is remembered. A client who aims flows at one
 * bucket can evict entries, and an evicted flow is re-picked by the same
 * Maglev table, so it keeps its backend unless the backend set changed in
 * between. The SipHash is computed on a miss and kept in the entry.
 */
#ifndef SLUICE_DP_FLOWTAB_H
#define SLUICE_DP_FLOWTAB_H

#include <stdbool.h>
#include <stddef.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "sluice/flow.h"
#include "sluice/types.h"

#define SL_FT_WAYS 8

/*
 * A remembered flow. An IPv4 flow's key is its words 0, 2 and 4 (flow.h:
 * 1 and 3 of an IPv4 key are zero); in the entry those two words are the
 * express path's to keep what it computed for the flow, valid while
 * fx_gen holds (express.h, fx_valid()): lookups compare only the key
 * proper (sl_flowtab_key_eq()).
 */
struct sl_flow_entry {
	struct sl_flow_key key;
	sl_u32 backend_id;
	sl_u32 epoch;
	sl_u64 flow_hash; /* sl_flow_hash() of key: hits reuse it for encap */
	sl_u16 vip_id;
	sl_u8 pad[2];
	/*
	 * The express path's generation (struct sl_fp fx_gen) in which it
	 * found backend_id, epoch and vip_id valid, or 0: until the next
	 * table generation it trusts them without asking the backend table
	 * again. Whoever writes those fields (or the key) sets it to 0.
	 */
	sl_u32 fx_gen;
};
SL_STATIC_ASSERT(sizeof(struct sl_flow_entry) == 64, "one cache line");

struct sl_flow_bucket {
	sl_u32 sig[SL_FT_WAYS];	 /* 0 = empty way */
	sl_u32 seen[SL_FT_WAYS]; /* seconds; 0 = never */
};
SL_STATIC_ASSERT(sizeof(struct sl_flow_bucket) == 64, "one cache line");

struct sl_flowtab {
	sl_u32 nb_buckets; /* power of two */
	sl_u32 mask;
	sl_u32 tcp_timeout;
	sl_u32 udp_timeout;
	struct sl_flow_bucket *buckets;
	struct sl_flow_entry *entries; /* nb_buckets * SL_FT_WAYS */
};

/* Bytes needed for a table of `size` entries (rounded up to a power of two). */
size_t sl_flowtab_mem_size(sl_u32 size);

/*
 * Lay a table of `size` entries over mem (sl_flowtab_mem_size(size) bytes,
 * 64-byte aligned, zeroed by this call). Returns 0 or -EINVAL.
 */
int sl_flowtab_init(struct sl_flowtab *ft, void *mem, sl_u32 size,
		    sl_u32 tcp_timeout, sl_u32 udp_timeout);

/* Forget every flow (e.g. after a restart of the table). */
void sl_flowtab_clear(struct sl_flowtab *ft);

/*
 * The index hash of a flow key, keyed with the table's hash_seed (k0,
 * k1): bucket index in the low 32 bits, its signature (sl_flow_sig,
 * include/sluice/flow.h) in the high 32, computed once per packet.
 *
 * A keyed multiply-xorshift, cheap in scalar code and in eight SIMD
 * lanes at once (express512.h): an IPv4 key is two words (the addresses;
 * ports, protocol and family: its words 1 and 3 are zero, flow.h), each
 * xored with a key and multiplied by an odd constant; the sum goes
 * through a splitmix64-style finalizer, so every input bit reaches the
 * bucket bits and the signature. An IPv6 key is five such words. Not a
 * PRF: it only decides where a flow is remembered (a client who aims
 * flows at one bucket makes it evict, and an evicted flow is picked again
 * by the same Maglev table); SipHash picks the backend.
 */
#define SL_FT_M1 0x9e3779b97f4a7c15ull
#define SL_FT_M2 0xc2b2ae3d27d4eb4full
#define SL_FT_M3 0xbf58476d1ce4e5b9ull
#define SL_FT_M4 0x94d049bb133111ebull
#define SL_FT_M5 0xd6e8feb86659fd93ull

static SL_ALWAYS_INLINE sl_u64 sl_flowtab_fin(sl_u64 h, sl_u32 udp_bit)
{
	h ^= h >> 31;
	h *= SL_FT_M3;
	h ^= h >> 32;
	/* sl_flow_sig(): bit 0 set, SL_FLOW_SIG_UDP for a flow not TCP. */
	return (h & ~(3ull << 32)) | 1ull << 32 | (sl_u64)udp_bit << 32;
}

/*
 * sl_flowtab_hash() of an IPv4 TCP or UDP key given as its words 0, 2 and
 * 4 (source address, destination address, then ports, proto and family).
 */
static SL_ALWAYS_INLINE sl_u64 sl_flowtab_hash4(sl_u64 w0, sl_u64 w2, sl_u64 w4,
						sl_u64 k0, sl_u64 k1)
{
	sl_u64 h = ((w0 | w2 << 32) ^ k0) * SL_FT_M1 + (w4 ^ k1) * SL_FT_M2;

	/* SL_FLOW_SIG_UDP for UDP (17), not for TCP (6): bit 4 of proto. */
	return sl_flowtab_fin(h, (sl_u32)(w4 >> 35) & SL_FLOW_SIG_UDP);
}

static SL_ALWAYS_INLINE sl_u64 sl_flowtab_hash(const struct sl_flow_key *k,
					       sl_u64 k0, sl_u64 k1)
{
	const sl_u64_any *w = (const sl_u64_any *)k;
	sl_u32 udp = sl_flow_sig(0, k->proto) & SL_FLOW_SIG_UDP;
	sl_u64 h;

	if (k->family == SL_AF_INET)
		h = ((w[0] | w[2] << 32) ^ k0) * SL_FT_M1 +
		    (w[4] ^ k1) * SL_FT_M2;
	else
		h = (w[0] ^ k0) * SL_FT_M1 + (w[1] ^ k1) * SL_FT_M2 +
		    (w[2] ^ k0) * SL_FT_M4 + (w[3] ^ k1) * SL_FT_M5 +
		    (w[4] ^ k0 ^ k1) * SL_FT_M3;
	return sl_flowtab_fin(h, udp);
}

/* Signature of a flow: the high half of its index hash. */
static SL_ALWAYS_INLINE sl_u32 sl_flowtab_sig(sl_u64 hash)
{
	return (sl_u32)(hash >> 32);
}

static SL_ALWAYS_INLINE bool sl_flowtab_expired(const struct sl_flowtab *ft,
						sl_u32 sig, sl_u32 seen,
						sl_u32 now)
{
	sl_u32 timeout =
		(sig & SL_FLOW_SIG_UDP) ? ft->udp_timeout : ft->tcp_timeout;

	return now - seen > timeout;
}

/*
 * Does entry key a hold lookup key b? An IPv4 key is words 0, 2 and 4
 * (struct sl_flow_entry); the family, in word 4, tells b's kind, and
 * word 4 must match anyway.
 */
static SL_ALWAYS_INLINE bool sl_flowtab_key_eq(const struct sl_flow_key *a,
					       const struct sl_flow_key *b)
{
	const sl_u64_any *x = (const sl_u64_any *)a, *y = (const sl_u64_any *)b;

	if (b->family == SL_AF_INET)
		return ((x[0] ^ y[0]) | (x[2] ^ y[2]) | (x[4] ^ y[4])) == 0;
#if defined(__SSE2__)
	__m128i e = _mm_and_si128(
		_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)x),
			       _mm_loadu_si128((const __m128i *)y)),
		_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(x + 2)),
			       _mm_loadu_si128((const __m128i *)(y + 2))));

	return _mm_movemask_epi8(e) == 0xffff && x[4] == y[4];
#else
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) |
		(x[4] ^ y[4])) == 0;
#endif
}

static SL_ALWAYS_INLINE void sl_flowtab_prefetch(const struct sl_flowtab *ft,
						 sl_u64 hash)
{
	__builtin_prefetch(&ft->buckets[hash & ft->mask]);
}

/* Bit w set where way w of bk holds signature sig. */
static SL_ALWAYS_INLINE unsigned int
sl_flowtab_sig_mask(const struct sl_flow_bucket *bk, sl_u32 sig)
{
#if defined(__SSE2__)
	__m128i s = _mm_set1_epi32((int)sig);
	__m128i lo =
		_mm_cmpeq_epi32(_mm_load_si128((const __m128i *)bk->sig), s);
	__m128i hi = _mm_cmpeq_epi32(
		_mm_load_si128((const __m128i *)&bk->sig[4]), s);

	return (unsigned int)_mm_movemask_ps(_mm_castsi128_ps(lo)) |
	       ((unsigned int)_mm_movemask_ps(_mm_castsi128_ps(hi)) << 4);
#else
	unsigned int m = 0;
	int w;

	for (w = 0; w < SL_FT_WAYS; w++)
		m |= (unsigned int)(bk->sig[w] == sig) << w;
	return m;
#endif
}

/*
 * First way of key's bucket whose signature matches, or -1; prefetches that
 * entry. For burst pipelines: call after the bucket line has arrived.
 */
static SL_ALWAYS_INLINE int sl_flowtab_match(const struct sl_flowtab *ft,
					     sl_u64 hash)
{
	sl_u32 b = (sl_u32)hash & ft->mask;
	unsigned int m =
		sl_flowtab_sig_mask(&ft->buckets[b], sl_flowtab_sig(hash));
	int w;

	if (!m)
		return -1;
	w = __builtin_ctz(m);
	__builtin_prefetch(&ft->entries[b * SL_FT_WAYS + w]);
	return w;
}

/*
 * Stamp way w as seen now. The store is skipped when the stamp already says
 * now (every hit but the first in a second): the bucket line then stays
 * clean, and a table larger than the caches is not written back to DRAM
 * for every packet.
 */
static SL_ALWAYS_INLINE void sl_flowtab_touch(struct sl_flow_bucket *bk,
					      unsigned int w, sl_u32 now)
{
	if (bk->seen[w] != now)
		bk->seen[w] = now;
}

/*
 * Find a live entry for key and refresh it; NULL when absent or expired.
 * way is a hint from sl_flowtab_match() (or -1): tried first, and the
 * bucket is scanned when it does not hold key. The entry stays valid until
 * this lcore's next insert into the bucket.
 */
static SL_ALWAYS_INLINE struct sl_flow_entry *
sl_flowtab_lookup(struct sl_flowtab *ft, const struct sl_flow_key *key,
		  sl_u64 hash, int way, sl_u32 now)
{
	sl_u32 b = (sl_u32)hash & ft->mask;
	struct sl_flow_bucket *bk = &ft->buckets[b];
	sl_u32 sig = sl_flowtab_sig(hash);
	unsigned int m;

	if (way >= 0 && bk->sig[way] == sig &&
	    sl_flowtab_key_eq(&ft->entries[b * SL_FT_WAYS + way].key, key)) {
		if (sl_flowtab_expired(ft, sig, bk->seen[way], now))
			return NULL;
		sl_flowtab_touch(bk, (unsigned int)way, now);
		return &ft->entries[b * SL_FT_WAYS + way];
	}
	for (m = sl_flowtab_sig_mask(bk, sig); m; m &= m - 1) {
		unsigned int w = (unsigned int)__builtin_ctz(m);
		struct sl_flow_entry *e;

		e = &ft->entries[b * SL_FT_WAYS + w];
		if (!sl_flowtab_key_eq(&e->key, key))
			continue;
		if (sl_flowtab_expired(ft, sig, bk->seen[w], now))
			return NULL;
		sl_flowtab_touch(bk, w, now);
		return e;
	}
	return NULL;
}

/*
 * Take a way for key: the expired entry of the same key, an empty way, an
 * expired way, else the least recently seen one (*evicted = true). The
 * caller fills backend_id, epoch and vip_id.
 */
static SL_ALWAYS_INLINE struct sl_flow_entry *
sl_flowtab_insert(struct sl_flowtab *ft, const struct sl_flow_key *key,
		  sl_u64 hash, sl_u32 now, bool *evicted)
{
	sl_u32 b = (sl_u32)hash & ft->mask;
	struct sl_flow_bucket *bk = &ft->buckets[b];
	sl_u32 sig = sl_flowtab_sig(hash);
	unsigned int w, pick = 0;
	sl_u32 oldest = 0xffffffffu;
	struct sl_flow_entry *e;

	*evicted = false;
	for (w = 0; w < SL_FT_WAYS; w++) {
		if (bk->sig[w] == 0) {
			pick = w;
			goto take;
		}
		if (sl_flowtab_expired(ft, bk->sig[w], bk->seen[w], now) ||
		    (bk->sig[w] == sig &&
		     sl_flowtab_key_eq(&ft->entries[b * SL_FT_WAYS + w].key,
				       key))) {
			pick = w;
			goto take;
		}
		if (bk->seen[w] < oldest) {
			oldest = bk->seen[w];
			pick = w;
		}
	}
	*evicted = true;
take:
	bk->sig[pick] = sig;
	bk->seen[pick] = now;
	e = &ft->entries[b * SL_FT_WAYS + pick];
	e->key = *key;
	e->fx_gen = 0;
	return e;
}

#endif /* SLUICE_DP_FLOWTAB_H */
