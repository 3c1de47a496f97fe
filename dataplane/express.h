/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * express.h: the express path of sluice-dp's fast path, for the packets
 * that make up nearly all of a load balancer's traffic, in as few
 * instructions as it takes. Private to fastpath.c; worker lcore only.
 *
 * A packet is express when it is an untagged IPv4 TCP or UDP packet
 * without options and not a fragment (exactly the frames sl_parse_fast4()
 * takes), for a VIP in the lcore's IPv4 VIP map, whose flow is in the flow
 * table, unexpired, on a backend that is UP, IPv4 and reached by ipip or
 * gue through a resolved gateway, and that fits the MTU. Such a packet is
 * decided and encapsulated from a few header words kept in registers; no
 * struct sl_pkt is filled.
 *
 * Any other packet, and any packet the express path is not sure of at any
 * step, goes the general way (fastpath.c), which decides again from the
 * start. The express path writes nothing into a packet, the flow table or
 * a counter until it has decided to forward, so leaving it at any step is
 * exact: the two paths give the same bytes and counters (test_fastpath
 * runs its fixtures and random traffic through both and compares).
 */
#ifndef SLUICE_DP_EXPRESS_H
#define SLUICE_DP_EXPRESS_H

#include "burst.h"
#include "sluice/parse.h"

/*
 * What stage 1 learns of the burst's express candidates, for stages 2 and
 * 3, by packet index; arrays of one field each, so that stage 1 can fill
 * eight packets' at once (express512.h).
 */
struct fx_burst {
	/* Words 0, 2 and 4 of the flow key (sl_flowtab_hash4); 1 and 3 of
	 * an IPv4 key are zero. */
	sl_u64 w0[SL_FP_BURST_MAX], w2[SL_FP_BURST_MAX], w4[SL_FP_BURST_MAX];
	sl_u64 ih[SL_FP_BURST_MAX]; /* flow-table index hash */
	/* Stage 2: the first way of the bucket whose signature matches
	 * (the general path's way hint), its entry and seen stamp. */
	struct sl_flow_entry *e[SL_FP_BURST_MAX]; /* NULL: no way matches */
	sl_u32 *seen[SL_FP_BURST_MAX];
	sl_s32 way[SL_FP_BURST_MAX];
	/*
	 * What of the outer headers (encap4()) stage 1 can tell: where they
	 * start (data - enc); the outer IPv4 header's bytes 0..7 (version,
	 * IHL, TOS, length, ID 0, DF) and their one's complement sum with
	 * bytes 8..11 (TTL, protocol, checksum 0): stage 3 adds the
	 * addresses; GUE's UDP header without its source port.
	 */
	sl_u8 *frame[SL_FP_BURST_MAX];
	sl_u64 ip0[SL_FP_BURST_MAX], sum0[SL_FP_BURST_MAX];
	sl_u64 udph[SL_FP_BURST_MAX];
	/* The small fields, two 8-byte words a packet (fx_meta()). */
	struct fx_meta {
		sl_u16 vid;
		sl_u8 enc;  /* outer header length (fp->vip4) */
		sl_u8 udp;  /* 1: UDP, 0: TCP (which idle timeout) */
		sl_u16 tot; /* the IPv4 total length */
		sl_u16 off; /* data_off after encapsulation */
		sl_u16 len; /* data_len after it */
		sl_u16 ttl; /* outer bytes 8, 9: TTL, protocol (FX_TTL_*) */
		sl_u32 pad;
	} meta[SL_FP_BURST_MAX];
};
SL_STATIC_ASSERT(sizeof(struct fx_meta) == 16, "fx_meta is two words");

/* struct fx_meta's first word as stage 1 stores it (little-endian). */
static SL_ALWAYS_INLINE sl_u64 fx_meta(sl_u64 vid, sl_u64 enc, sl_u64 udp,
				       sl_u64 tot, sl_u64 off)
{
	return vid | enc << 16 | udp << 24 | tot << 32 | off << 48;
}

/* Bytes 8..11 of the outer IPv4 header before its checksum: TTL, protocol
 * (IPIP for an enc of 20, UDP for GUE's 28). */
#define FX_TTL_IPIP (SL_ENCAP_TTL | SL_IPPROTO_IPIP << 8)
#define FX_TTL_UDP (SL_ENCAP_TTL | SL_IPPROTO_UDP << 8)

/* The outer IPv4 header's bytes 0..7 (encap4()'s w0). */
static SL_ALWAYS_INLINE sl_u64 fx_ip0(sl_u64 tos, sl_u32 enc, sl_u32 tot,
				      sl_u64 df)
{
	return 0x45 | tos << 8 | (sl_u64)sl_htons((sl_u16)(enc + tot)) << 16 |
	       df << 48;
}

/* The shortest frame the express path takes: Ethernet, IPv4, TCP. */
#define FX_MIN_LEN (14 + 20 + 20)

/* What stage 1 reads of the lcore's state, loaded once per burst. */
struct fx_ctx {
	sl_u64 k0, k1; /* the table's params.seed (sl_flowtab_hash4) */
	const struct sl_fp_vip4 *vip4;
	sl_u32 vip4_mask;
	sl_u8 vip4_shift;
	bool vip4_partial;
	const struct sl_flow_bucket *buckets;
	sl_u32 mask;
	sl_u32 mtu;	  /* the table's params.mtu */
	sl_be16 gue_port; /* and its gue_port */
};

/*
 * Stage 1: is m, packet i of the burst, an express candidate of the
 * table? Then fx's fields i are filled and the flow's bucket prefetched.
 * The frame tests are those of sl_parse_fast4(), on words loaded once; the
 * VIP from fp->vip4.
 */
static SL_ALWAYS_INLINE bool fx_classify(const struct fx_ctx *fc,
					 const struct sl_mbuf *m,
					 struct fx_burst *fx, unsigned int i)
{
	const sl_u8 *d = m->buf_addr + m->data_off;
	const struct sl_fp_vip4 *v;
	sl_u32 len = m->data_len, tot, proto, l4, lo, src;
	sl_u64 h0, h1, q, key;
	sl_be16 ulen;

	/* Shorter frames (UDP only: Ethernet pads to 60) go the general
	 * way; with this length byte 46 (TCP's data offset) is readable.
	 * So do chained mbufs, which it drops. */
	if (SL_UNLIKELY(len < FX_MIN_LEN || m->nb_segs != 1))
		return false;
	memcpy(&h0, d + 12, 8); /* ethertype, version/IHL, TOS, length, ID */
	memcpy(&h1, d + 20, 8); /* fragment, TTL, protocol, checksum, ... */
	/* IPv4 with a 20-byte header; neither MF nor a fragment offset. */
	if ((((sl_u32)h0 & 0xffffff) ^ 0x450008) | ((sl_u32)h1 & 0xff3f))
		return false;
	tot = __builtin_bswap16((sl_u16)(h0 >> 32));
	if (14 + tot > len)
		return false;
	/*
	 * The L4 header within the packet: 20 + its length (TCP's data
	 * offset, UDP's length field) between 20 + its minimum and tot,
	 * which sl_parse_fast_l4() asks as three tests each.
	 */
	proto = (sl_u8)(h1 >> 24);
	if (proto == SL_IPPROTO_TCP) {
		l4 = 20 + (sl_u32)(d[34 + 12] >> 4) * 4;
		lo = 20 + 20;
	} else if (proto == SL_IPPROTO_UDP) {
		memcpy(&ulen, d + 34 + 4, 2);
		l4 = 20 + (sl_u32)sl_ntohs(ulen);
		lo = 20 + 8;
	} else {
		return false;
	}
	if (l4 < lo || l4 > tot)
		return false;
	/* Destination address and ports; with the protocol for the source
	 * port it is the VIP's key (vip4_key()); a port-agnostic VIP's has
	 * port 0. */
	memcpy(&q, d + 30, 8);
	key = (q & 0xffff0000ffffffffull) | (sl_u64)(proto | 0x100u) << 32;
	v = vip4_find(fc->vip4, fc->vip4_mask, fc->vip4_shift, key);
	if (SL_UNLIKELY(!v)) {
		if (fc->vip4_partial)
			return false;
		v = vip4_find(fc->vip4, fc->vip4_mask, fc->vip4_shift,
			      key & 0x0000ffffffffffffull);
		if (!v)
			return false;
	}
	/* enc4 is 0 for VIPs the express path leaves to the general one;
	 * the outer header must fit the MTU and the headroom. */
	if (v->enc4 == 0 || tot + v->enc4 > fc->mtu || m->data_off < v->enc4)
		return false;
	memcpy(&src, d + 26, 4);
	{
		sl_u64 w = fx_meta(v->vid, v->enc4, proto == SL_IPPROTO_UDP,
				   tot, m->data_off - v->enc4);

		memcpy(&fx->meta[i], &w, 8);
	}
	fx->meta[i].len = (sl_u16)(14 + v->enc4 + tot);
	fx->meta[i].ttl = v->enc4 == 20 ? FX_TTL_IPIP : FX_TTL_UDP;
	fx->frame[i] = (sl_u8 *)d - v->enc4;
	fx->ip0[i] = fx_ip0(d[15], v->enc4, tot, h1 & 0x40);
	/* No carry: ip0 is below 2^55. */
	fx->sum0[i] = fx->ip0[i] + fx->meta[i].ttl;
	fx->udph[i] = (sl_u64)fc->gue_port << 16 |
		      (sl_u64)sl_htons((sl_u16)(8 + tot)) << 32;
	fx->w0[i] = src;
	fx->w2[i] = (sl_u32)q;
	fx->w4[i] = (q >> 32) | (sl_u64)(proto | SL_AF_INET << 8) << 32;
	fx->ih[i] = sl_flowtab_hash4(fx->w0[i], fx->w2[i], fx->w4[i], fc->k0,
				     fc->k1);
	__builtin_prefetch(&fc->buckets[(sl_u32)fx->ih[i] & fc->mask]);
	return true;
}

/* The bytes of struct sl_backend_entry that fx_forward() reads as a word. */
SL_STATIC_ASSERT(__builtin_offsetof(struct sl_backend_entry, family) == 16 &&
			 __builtin_offsetof(struct sl_backend_entry, state) ==
				 17 &&
			 __builtin_offsetof(struct sl_backend_entry, epoch) ==
				 20,
		 "family, state, port, epoch are one 8-byte word");

/*
 * Stage 2: the way of packet i's bucket that the general path would try
 * first (sl_flowtab_match()), with the addresses stage 3 reads.
 */
static SL_ALWAYS_INLINE void fx_match(const struct sl_flowtab *ft,
				      struct fx_burst *fx, unsigned int i)
{
	sl_u32 b = (sl_u32)fx->ih[i] & ft->mask;
	int w = sl_flowtab_match(ft, fx->ih[i]);

	fx->way[i] = w;
	fx->e[i] = w >= 0 ? &ft->entries[b * SL_FT_WAYS + (sl_u32)w] : NULL;
	fx->seen[i] = &ft->buckets[b].seen[w & (SL_FT_WAYS - 1)];
}

/*
 * What the express path keeps of a flow in its entry, in the IPv4 key's
 * spare words 1 and 3 (struct sl_flow_entry): the outer IPv4 source and
 * destination as the header holds them (encap4()'s third word), and GUE's
 * source port. Valid while the entry's fx_gen is the burst's.
 */
#define FX_CACHE_W3 1  /* key word: outer source | destination << 32 */
#define FX_CACHE_GUE 3 /* key word: GUE source port (its low 16 bits) */

/*
 * flow_valid() for an entry whose backend is IPv4 and UP: that backend
 * still has the entry's identity (epoch) and serves the packet's VIP vid,
 * as does the entry. Its family, state and epoch are one word (the port in
 * between does not matter). Then the entry's cache is filled, for this
 * generation's table and parameters.
 */
static SL_ALWAYS_INLINE bool fx_valid(const struct fp_burst *bc,
				      struct sl_flow_entry *e, sl_u32 vid)
{
	sl_u64_any *k = (sl_u64_any *)&e->key;
	const struct sl_backend_entry *be;
	sl_u32 id = e->backend_id, src;
	sl_u64 bw;

	if (id >= bc->n_backends || e->vip_id != vid)
		return false;
	be = &bc->bes[id];
	memcpy(&bw, &be->family, 8);
	if ((bw & 0xffffffff0000ffffull) != (SL_AF_INET | SL_BACKEND_UP << 8 |
					     (sl_u64)e->epoch << 32) ||
	    be->vip_id != vid)
		return false;
	src = sl_htonl(bc->src4_net | ((sl_u32)e->flow_hash & bc->src4_host));
	k[FX_CACHE_W3] = src | (sl_u64)be->addr.v4 << 32;
	k[FX_CACHE_GUE] = sl_encap_gue_sport(e->flow_hash);
	return true;
}

/*
 * Stage 3: forward packet i, m, if it is express all the way (see the top
 * of this file): true with m moved over its new outer headers and the
 * packet counted per VIP and backend (the caller counts the flow hit);
 * false with nothing written, for the general path.
 *
 * The way of stage 2 is trusted only with its key, compared in full: an
 * earlier packet of the burst may have taken it on the general path. The
 * outer header's fit (MTU, headroom) was settled in stage 1.
 */
static SL_ALWAYS_INLINE bool fx_forward(const struct fp_burst *bc,
					struct sl_mbuf *m,
					const struct fx_burst *fx,
					unsigned int i)
{
	struct sl_flow_entry *e = fx->e[i];
	const struct fx_meta *x = &fx->meta[i];
	sl_u32 id, vid = x->vid, seen;
	sl_u64 w2, w3;
	sl_u8 *frame;

	/* An IPv4 key is words 0, 2 and 4 (struct sl_flow_entry). */
	if (!e || ((const sl_u64_any *)&e->key)[0] != fx->w0[i] ||
	    ((const sl_u64_any *)&e->key)[2] != fx->w2[i] ||
	    ((const sl_u64_any *)&e->key)[4] != fx->w4[i])
		return false;
	seen = *fx->seen[i];
	if (bc->now - seen > bc->timeout[x->udp])
		return false;
	/* flow_valid() for an IPv4 backend that is UP, asked once a table
	 * generation (fx_valid()). */
	if (SL_UNLIKELY(e->fx_gen != bc->fx_gen)) {
		if (!fx_valid(bc, e, vid))
			return false;
		e->fx_gen = bc->fx_gen;
	}
	id = e->backend_id;

	if (seen != bc->now)
		*fx->seen[i] = bc->now; /* sl_flowtab_touch() */
	/* encap4(): the addresses (the entry's cache) and the checksum;
	 * stage 1 did the rest. */
	frame = fx->frame[i];
	w3 = ((const sl_u64_any *)&e->key)[FX_CACHE_W3];
	w2 = x->ttl | (sl_u64)csum_fold64(csum_add64(fx->sum0[i], w3)) << 16;
	memcpy(frame, bc->eth4, 16);
	memcpy(frame + 14, &fx->ip0[i], 8);
	memcpy(frame + 14 + 8, &w2, 4);
	memcpy(frame + 14 + 12, &w3, 8);
	if (x->enc != 20) {
		/* GUE: its source port from the flow hash. */
		sl_u64 u = fx->udph[i] |
			   (sl_u16)((const sl_u64_any *)&e->key)[FX_CACHE_GUE];

		memcpy(frame + 14 + 20, &u, 8);
	}
	m->data_off = x->off;
	m->data_len = x->len;
	m->pkt_len = x->len;
	bc->vip_stats[vid].packets++;
	bc->vip_stats[vid].bytes += x->tot;
	bc->backend_stats[id].packets++;
	bc->backend_stats[id].bytes += x->tot;
	return true;
}

#endif /* SLUICE_DP_EXPRESS_H */
