/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * burst.h: what the general fast path (fastpath.c) and the express path
 * (express.h) share inside one burst: the burst's context, loaded once per
 * burst, and the outer IPv4 header written for IPv4 in IPv4 (ipip, gue).
 * Private to fastpath.c, which includes it once; worker lcore only.
 */
#ifndef SLUICE_DP_BURST_H
#define SLUICE_DP_BURST_H

#include <string.h>

#include "fastpath.h"
#include "flowtab.h"
#include "sluice/encap.h"

/*
 * What stage 3 reads for every packet of a burst, loaded once: its stores
 * into packets may alias fp and the table, so the compiler would otherwise
 * reload each per packet. And the flow-table hit count, added to the shared
 * row once, at the end of the burst. (Counting the per-VIP packets and
 * bytes the same way, per run of packets of one VIP, took more
 * instructions than adding to the row per packet.)
 */
struct fp_burst {
	/* Never NULL: without a table, stage 3 does not start. */
	const struct sl_table_hdr *t;
	const struct sl_vip_entry *vips;
	const struct sl_backend_entry *bes;
	sl_u32 n_backends;
	sl_u32 mtu;
	sl_u32 now;
	sl_u32 timeout[2];   /* the flow table's idle timeouts: TCP, UDP */
	sl_u32 fx_gen;	     /* fp->fx_gen */
	sl_u64 ttl_proto[2]; /* outer IPv4 TTL and protocol: ipip, gue */
	bool gw4_ok;
	sl_be16 gue_port;
	sl_u32 src4_net, src4_host;
	const sl_u8 *eth4;    /* fp->eth4_tmpl of the port */
	struct sl_flowtab ft; /* a copy: its fields are fixed after init */
	struct sl_vip_stats *vip_stats;
	struct sl_backend_stats *backend_stats;
	sl_u64 flow_hits;
	sl_u64 fx_packets; /* forwarded by the express path */
};

static SL_ALWAYS_INLINE void burst_start(struct fp_burst *bc,
					 const struct sl_fp *fp, sl_u16 port)
{
	const struct sl_table_hdr *t = fp->table;

	bc->t = t;
	bc->vips = sl_table_vips(t);
	bc->bes = sl_table_backends(t);
	bc->n_backends = t->n_backends;
	bc->mtu = t->params.mtu;
	bc->now = fp->now;
	bc->gw4_ok = fp->gw4_ok[port];
	bc->gue_port = t->params.gue_port;
	bc->src4_net = fp->src4_net;
	bc->src4_host = fp->src4_host;
	bc->eth4 = fp->eth4_tmpl[port];
	bc->ft = *fp->ft;
	bc->fx_gen = fp->fx_gen;
	bc->timeout[0] = bc->ft.tcp_timeout;
	bc->timeout[1] = bc->ft.udp_timeout;
	bc->ttl_proto[0] = SL_ENCAP_TTL | SL_IPPROTO_IPIP << 8;
	bc->ttl_proto[1] = SL_ENCAP_TTL | SL_IPPROTO_UDP << 8;
	bc->vip_stats = fp->vip_stats;
	bc->backend_stats = fp->backend_stats;
	bc->flow_hits = 0;
	bc->fx_packets = 0;
}

static SL_ALWAYS_INLINE void burst_end(struct fp_burst *bc, struct sl_fp *fp)
{
	fp->stats->flow_hits += bc->flow_hits;
	fp->fx_packets += bc->fx_packets;
}

/*
 * The key of an IPv4 (address, port, protocol) in struct sl_fp vip4: the
 * bytes of the address and the port as an IPv4 frame holds them from its
 * offset 30, the source port replaced by the protocol and a 1 that marks
 * the key as used (never 0, which marks an empty slot).
 */
static SL_ALWAYS_INLINE sl_u64 vip4_key(sl_be32 dst, sl_be16 dport, sl_u8 proto)
{
	return (sl_u64)dst | (sl_u64)(proto | 0x100u) << 32 |
	       (sl_u64)dport << 48;
}

/* The slot of key in vip4 (mask, shift: fp's vip4_mask, vip4_shift), or
 * NULL when no VIP has it. */
static SL_ALWAYS_INLINE const struct sl_fp_vip4 *
vip4_find(const struct sl_fp_vip4 *map, sl_u32 mask, sl_u8 shift, sl_u64 key)
{
	sl_u32 i = (sl_u32)((key * 0x9e3779b97f4a7c15ull) >> shift);

	for (;; i = (i + 1) & mask) {
		if (SL_LIKELY(map[i].key == key))
			return &map[i];
		if (map[i].key == 0)
			return NULL;
	}
}

/* One's complement sum of a and b in 64 bits (end-around carry). */
static SL_ALWAYS_INLINE sl_u64 csum_add64(sl_u64 a, sl_u64 b)
{
	a += b;
	return a + (a < b);
}

/*
 * A 64-bit one's complement sum folded to the 16-bit checksum field (as
 * sl_csum_fold() does for 32 bits). Adding a word to itself rotated by half
 * its width leaves the end-around-carried sum of its halves in the upper
 * half: two rotates instead of four masked adds.
 */
static SL_ALWAYS_INLINE sl_u16 csum_fold64(sl_u64 sum)
{
	sl_u32 s = (sl_u32)((sum + (sum >> 32 | sum << 32)) >> 32);

	return (sl_u16)(~(s + (s >> 16 | s << 16)) >> 16);
}

/*
 * sl_encap_write() plus the Ethernet header for the common case: IPv4 in
 * IPv4 (IPIP or GUE, enc its outer length) behind an untagged Ethernet
 * header, to a gateway whose MAC is known, for the inner IPv4 packet of
 * inner_len bytes at b->data + 14 (df: its DF bit). Writes the same bytes
 * from per-burst templates: the outer IPv4 header as three words (bytes
 * 0-7, 8-11, 12-19) built in registers, its checksum summed from those
 * words (RFC 1071: a one's complement sum of 64-bit words folds to the
 * same 16-bit sum) instead of re-reading the header. Does not move b.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "encap4() composes header words in little-endian order"
#endif
static SL_ALWAYS_INLINE void encap4(const struct fp_burst *bc,
				    const struct sl_buf *b, sl_u32 inner_len,
				    bool df, bool gue, sl_be32 dst, sl_u64 hash,
				    sl_u32 enc)
{
	sl_u8 *frame = b->data - enc;
	sl_u64 tot = sl_htons((sl_u16)(enc + inner_len));
	sl_u64 frag = df ? SL_BE16(SL_IP4_DF) : 0;
	sl_u64 proto = gue ? SL_IPPROTO_UDP : SL_IPPROTO_IPIP;
	sl_u64 src = sl_htonl(bc->src4_net | ((sl_u32)hash & bc->src4_host));
	sl_u64 w0, w2, w3;

	/* Version/IHL, TOS (the inner one's), total length, ID 0, DF. */
	w0 = 0x45 | (sl_u64)b->data[14 + 1] << 8 | tot << 16 | frag << 48;
	/* TTL, protocol, checksum 0 until summed. */
	w2 = SL_ENCAP_TTL | proto << 8;
	w3 = src | (sl_u64)dst << 32;
	w2 |= (sl_u64)csum_fold64(csum_add64(csum_add64(w0, w3), w2)) << 16;
	/* 16 bytes: the last two are the outer IP header's, written next. */
	memcpy(frame, bc->eth4, 16);
	memcpy(frame + 14, &w0, 8);
	memcpy(frame + 14 + 8, &w2, 4);
	memcpy(frame + 14 + 12, &w3, 8);
	if (gue) {
		/* Source port, destination port, length, checksum 0. */
		sl_u64 u = (sl_u64)sl_encap_gue_sport(hash) |
			   (sl_u64)bc->gue_port << 16 |
			   (sl_u64)sl_htons((sl_u16)(8 + inner_len)) << 32;

		memcpy(frame + 14 + 20, &u, 8);
	}
}

#endif /* SLUICE_DP_BURST_H */
