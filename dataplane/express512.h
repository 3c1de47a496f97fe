/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * express512.h: the express path's stage 1 (fx_classify(), express.h) for
 * eight packets at once, with AVX-512. Private to fastpath.c; worker
 * lcore only.
 *
 * The same decisions and the same fields as fx_classify(), packet for
 * packet (test_express compares the two on random traffic): each packet's
 * bytes 8..47 are loaded into one register (none when the frame is
 * shorter than FX_MIN_LEN), the eight registers are transposed so that
 * each holds one 8-byte word of the header for all eight packets, and
 * the tests, the VIP map probe, the flow hash and the fields are then
 * computed for the eight together. A packet whose VIP the first probe of
 * the map does not find is handed to fx_classify() (a port-agnostic VIP,
 * a probe chain, or no VIP), and so is a burst's last packets when fewer
 * than eight are left.
 *
 * Built for the AVX-512 F, BW, DQ and VL subsets (Skylake-SP, Ice Lake,
 * AMD Zen 4 and later) by a target attribute; fastpath.c calls it only
 * where the CPU has them and the caller allows it (sl_fp_simd512()).
 */
#ifndef SLUICE_DP_EXPRESS512_H
#define SLUICE_DP_EXPRESS512_H

#if defined(__x86_64__)
#define SL_FX512 1

#include <immintrin.h>

#include "express.h"

#define FX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl")))

/* fx_classify()'s tests on the frame for eight packets: the lanes that
 * pass. V1..V5: bytes 8..47 of each frame, by 8-byte word. */
static FX512 SL_ALWAYS_INLINE __mmask8 fx512_frame_ok(__m512i len, __m512i h0,
						      __m512i h1, __m512i v4,
						      __m512i v5, __m512i *tot,
						      __m512i *proto)
{
	const __m512i b8 = _mm512_set1_epi64(0xff);
	__m512i l4t, l4u, l4, lo;
	__mmask8 ok, tcp, udp;

	/* IPv4 with a 20-byte header (ethertype, version/IHL in h0); no MF,
	 * no fragment offset (h1's first two bytes). */
	ok = _mm512_cmpeq_epi64_mask(
		_mm512_and_si512(h0, _mm512_set1_epi64(0xffffff)),
		_mm512_set1_epi64(0x450008));
	ok &= _mm512_testn_epi64_mask(h1, _mm512_set1_epi64(0xff3f));
	/* Total length (bytes 16, 17: h0's fifth and sixth), big-endian. */
	*tot = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(h0, 24),
						_mm512_set1_epi64(0xff00)),
			       _mm512_and_si512(_mm512_srli_epi64(h0, 40), b8));
	ok &= _mm512_cmple_epu64_mask(
		_mm512_add_epi64(*tot, _mm512_set1_epi64(14)), len);
	*proto = _mm512_and_si512(_mm512_srli_epi64(h1, 24), b8);
	tcp = _mm512_cmpeq_epi64_mask(*proto,
				      _mm512_set1_epi64(SL_IPPROTO_TCP));
	udp = _mm512_cmpeq_epi64_mask(*proto,
				      _mm512_set1_epi64(SL_IPPROTO_UDP));
	/* 20 + TCP's header length (data offset: byte 46, the top nibble of
	 * V5's seventh byte) or UDP's length (bytes 38, 39: V4's last two). */
	l4t = _mm512_add_epi64(
		_mm512_slli_epi64(_mm512_and_si512(_mm512_srli_epi64(v5, 52),
						   _mm512_set1_epi64(0xf)),
				  2),
		_mm512_set1_epi64(20));
	l4u = _mm512_add_epi64(
		_mm512_or_si512(_mm512_and_si512(_mm512_srli_epi64(v4, 40),
						 _mm512_set1_epi64(0xff00)),
				_mm512_srli_epi64(v4, 56)),
		_mm512_set1_epi64(20));
	l4 = _mm512_mask_blend_epi64(tcp, l4u, l4t);
	lo = _mm512_mask_blend_epi64(tcp, _mm512_set1_epi64(20 + 8),
				     _mm512_set1_epi64(20 + 20));
	ok &= tcp | udp;
	ok &= _mm512_cmpge_epu64_mask(l4, lo);
	ok &= _mm512_cmple_epu64_mask(l4, *tot);
	return ok;
}

/*
 * Stage 1 for the n packets of a burst (fx_stage1() in fastpath.c, for a
 * CPU with AVX-512): the mask of the packets that are not express
 * candidates; *bytes gets the sum of their lengths.
 */
static FX512 __attribute__((noinline)) sl_u64
fx_stage1_512(const struct fx_ctx *c, struct sl_mbuf *const *pkts,
	      unsigned int n, struct fx_burst *fx, sl_u64 *bytes)
{
	/* Lane j of a transposed word takes word k of packet j. */
	const __m512i pair_lo = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
	const __m512i pair_hi = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
	const __m512i quad_lo = _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0);
	const __m512i quad_hi = _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4);
	const __m512i oct_lo = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
	const __m512i oct_hi = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
	const __m512i lo32 = _mm512_set1_epi64(0xffffffff);
	/* Each group of eight frames' header words, transposed, and its
	 * lengths and offsets. */
	struct {
		__m512i v[5], len, off, data;
		__mmask8 single;
	} in[SL_FP_BURST_MAX / 8];
	__m512i sum = _mm512_setzero_si512();
	sl_u64 slow = 0;
	unsigned int i, j, g;

	/* The loads, for all groups of eight first: each group's work then
	 * does not wait on its own loads (the loads of the next are already
	 * in flight). */
	for (g = 0, i = 0; i + 8 <= n; i += 8, g++) {
		__m512i r[8], len = _mm512_setzero_si512();
		__m512i a[4], b[4], q01, q23, q45, q67, e03, e47;
		__m512i off = _mm512_setzero_si512();
		__m512i data = _mm512_setzero_si512();
		unsigned int single =
			0; /* bit j: packet i + j is one segment */

		for (j = 0; j < 8; j++) {
			const struct sl_mbuf *m = pkts[i + j];
			const sl_u8 *d = m->buf_addr + m->data_off;
			sl_u32 l = m->data_len;

			/* Bytes 8..47, none of a frame too short. */
			r[j] = _mm512_maskz_loadu_epi8(
				l >= FX_MIN_LEN && m->nb_segs == 1
					? 0xffffffffffull
					: 0,
				d + 8);
			len = _mm512_mask_set1_epi64(len, (__mmask8)(1u << j),
						     l);
			single |= (unsigned int)(m->nb_segs == 1) << j;
			off = _mm512_mask_set1_epi64(off, (__mmask8)(1u << j),
						     m->data_off);
			data = _mm512_mask_set1_epi64(data, (__mmask8)(1u << j),
						      (long long)d);
		}
		sum = _mm512_add_epi64(sum, len);
		/* Transpose: vK lane j = word K (bytes 8K..8K+7) of packet
		 * j, for K = 1..5; r[j] holds words 1..5 in lanes 0..4. */
		for (j = 0; j < 4; j++) {
			a[j] = _mm512_permutex2var_epi64(r[2 * j], pair_lo,
							 r[2 * j + 1]);
			b[j] = _mm512_permutex2var_epi64(r[2 * j], pair_hi,
							 r[2 * j + 1]);
		}
		q01 = _mm512_permutex2var_epi64(a[0], quad_lo, a[1]);
		q23 = _mm512_permutex2var_epi64(a[0], quad_hi, a[1]);
		q45 = _mm512_permutex2var_epi64(a[2], quad_lo, a[3]);
		q67 = _mm512_permutex2var_epi64(a[2], quad_hi, a[3]);
		e03 = _mm512_permutex2var_epi64(b[0], quad_lo, b[1]);
		e47 = _mm512_permutex2var_epi64(b[2], quad_lo, b[3]);
		in[g].v[0] = _mm512_permutex2var_epi64(q01, oct_lo, q45);
		in[g].v[1] = _mm512_permutex2var_epi64(q01, oct_hi, q45);
		in[g].v[2] = _mm512_permutex2var_epi64(q23, oct_lo, q67);
		in[g].v[3] = _mm512_permutex2var_epi64(q23, oct_hi, q67);
		in[g].v[4] = _mm512_permutex2var_epi64(e03, oct_lo, e47);
		in[g].len = len;
		in[g].off = off;
		in[g].data = data;
		in[g].single = (__mmask8)single;
	}
	for (g = 0, i = 0; i + 8 <= n; i += 8, g++) {
		__m512i v1 = in[g].v[0], v2 = in[g].v[1], v3 = in[g].v[2];
		__m512i v4 = in[g].v[3], v5 = in[g].v[4], len = in[g].len;
		__m512i off = in[g].off, data = in[g].data;
		__m512i h0, h1, tot, proto, src, dst, q;
		__m512i key, w4, idx, mkey, meta, h, ih, badr, enc, ip0, x, y;
		__m512i ttl;
		sl_u64 addr[8];
		__mmask8 ok, hit;

		/* Bytes 12..19 and 20..27, as fx_classify()'s h0 and h1. */
		h0 = _mm512_or_si512(_mm512_srli_epi64(v1, 32),
				     _mm512_slli_epi64(v2, 32));
		h1 = _mm512_or_si512(_mm512_srli_epi64(v2, 32),
				     _mm512_slli_epi64(v3, 32));
		ok = _mm512_mask_cmpge_epu64_mask(
			in[g].single, len, _mm512_set1_epi64(FX_MIN_LEN));
		ok &= fx512_frame_ok(len, h0, h1, v4, v5, &tot, &proto);

		/* Source address (bytes 26..29), then bytes 30..37:
		 * destination address and ports. */
		src = _mm512_and_si512(_mm512_srli_epi64(v3, 16), lo32);
		q = _mm512_or_si512(_mm512_srli_epi64(v3, 48),
				    _mm512_slli_epi64(v4, 16));
		dst = _mm512_and_si512(q, lo32);
		key = _mm512_or_si512(
			_mm512_and_si512(
				q, _mm512_set1_epi64(0xffff0000ffffffffull)),
			_mm512_slli_epi64(
				_mm512_or_si512(proto,
						_mm512_set1_epi64(0x100)),
				32));
		w4 = _mm512_or_si512(
			_mm512_srli_epi64(q, 32),
			_mm512_slli_epi64(
				_mm512_or_si512(
					proto,
					_mm512_set1_epi64(SL_AF_INET << 8)),
				32));

		/* The VIP map's first probe (vip4_find()); a slot is two
		 * words: key, then vid and enc4. */
		idx = _mm512_srl_epi64(
			_mm512_mullo_epi64(
				key, _mm512_set1_epi64(0x9e3779b97f4a7c15ll)),
			_mm_cvtsi32_si128(c->vip4_shift));
		idx = _mm512_slli_epi64(idx, 1);
		/* Both words at once, neither waiting for the other, and for
		 * every lane, so they need not wait for the frame tests
		 * (idx is a slot of the map, whatever the lane holds). */
		mkey = _mm512_i64gather_epi64(idx, c->vip4, 8);
		meta = _mm512_mask_i64gather_epi64(
			_mm512_setzero_si512(), 0xff,
			_mm512_add_epi64(idx, _mm512_set1_epi64(1)), c->vip4,
			8);
		hit = _mm512_mask_cmpeq_epi64_mask(ok, mkey, key);
		hit &= _mm512_test_epi64_mask(meta,
					      _mm512_set1_epi64(0xff0000));
		/* The outer header fits the MTU and the headroom. */
		enc = _mm512_and_si512(_mm512_srli_epi64(meta, 16),
				       _mm512_set1_epi64(0xff));
		hit &= _mm512_cmple_epu64_mask(_mm512_add_epi64(tot, enc),
					       _mm512_set1_epi64(c->mtu));
		hit &= _mm512_cmpge_epu64_mask(off, enc);

		/* sl_flowtab_hash4(). */
		h = _mm512_add_epi64(
			_mm512_mullo_epi64(
				_mm512_xor_si512(
					_mm512_or_si512(src, _mm512_slli_epi64(
								     dst, 32)),
					_mm512_set1_epi64((long long)c->k0)),
				_mm512_set1_epi64((long long)SL_FT_M1)),
			_mm512_mullo_epi64(
				_mm512_xor_si512(w4, _mm512_set1_epi64(
							     (long long)c->k1)),
				_mm512_set1_epi64((long long)SL_FT_M2)));
		h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 31));
		h = _mm512_mullo_epi64(h,
				       _mm512_set1_epi64((long long)SL_FT_M3));
		h = _mm512_xor_si512(h, _mm512_srli_epi64(h, 32));
		/* sl_flowtab_fin()'s signature bits: bit 0 set, bit 1 for
		 * UDP (bit 4 of the protocol, in w4's bit 36). */
		ih = _mm512_or_si512(
			_mm512_and_si512(h, _mm512_set1_epi64(~(3ll << 32))),
			_mm512_or_si512(_mm512_set1_epi64(1ll << 32),
					_mm512_and_si512(
						_mm512_srli_epi64(w4, 3),
						_mm512_set1_epi64(2ll << 32))));

		/* The fields of the packets that hit, then their buckets. */
		_mm512_storeu_si512(&fx->w0[i], src);
		_mm512_storeu_si512(&fx->w2[i], dst);
		_mm512_storeu_si512(&fx->w4[i], w4);
		_mm512_storeu_si512(&fx->ih[i], ih);
		/* fx_meta(): vid and enc4 as the map has them (its word
		 * 1: vid, enc4, zeros), UDP, the total length, data_off
		 * after encapsulation. */
		x = _mm512_and_si512(meta, _mm512_set1_epi64(0xffffff));
		x = _mm512_or_si512(
			x, _mm512_slli_epi64(
				   _mm512_and_si512(_mm512_srli_epi64(proto, 4),
						    _mm512_set1_epi64(1)),
				   24));
		x = _mm512_or_si512(x, _mm512_slli_epi64(tot, 32));
		x = _mm512_or_si512(
			x, _mm512_slli_epi64(_mm512_sub_epi64(off, enc), 48));
		ttl = _mm512_mask_blend_epi64(
			_mm512_cmpeq_epi64_mask(enc, _mm512_set1_epi64(20)),
			_mm512_set1_epi64(FX_TTL_UDP),
			_mm512_set1_epi64(FX_TTL_IPIP));
		/* Its second word: data_len after, the outer TTL/protocol. */
		y = _mm512_or_si512(_mm512_add_epi64(_mm512_add_epi64(enc, tot),
						     _mm512_set1_epi64(14)),
				    _mm512_slli_epi64(ttl, 16));
		_mm512_storeu_si512(fx->meta + i,
				    _mm512_permutex2var_epi64(x, pair_lo, y));
		_mm512_storeu_si512(fx->meta + i + 4,
				    _mm512_permutex2var_epi64(x, pair_hi, y));
		/* The outer headers' parts (fx_ip0() and the rest): TOS is
		 * byte 15, V1's last. */
		_mm512_storeu_si512(fx->frame + i, _mm512_sub_epi64(data, enc));
		x = _mm512_add_epi64(enc, tot);
		ip0 = _mm512_or_si512(
			_mm512_or_si512(_mm512_set1_epi64(0x45),
					_mm512_slli_epi64(
						_mm512_srli_epi64(v1, 56), 8)),
			_mm512_or_si512(
				_mm512_slli_epi64(
					_mm512_or_si512(
						_mm512_and_si512(
							_mm512_srli_epi64(x, 8),
							_mm512_set1_epi64(
								0xff)),
						_mm512_slli_epi64(
							_mm512_and_si512(
								x,
								_mm512_set1_epi64(
									0xff)),
							8)),
					16),
				_mm512_slli_epi64(
					_mm512_and_si512(
						h1, _mm512_set1_epi64(0x40)),
					48)));
		_mm512_storeu_si512(fx->ip0 + i, ip0);
		_mm512_storeu_si512(fx->sum0 + i, _mm512_add_epi64(ip0, ttl));
		x = _mm512_add_epi64(tot, _mm512_set1_epi64(8));
		_mm512_storeu_si512(
			fx->udph + i,
			_mm512_or_si512(
				_mm512_set1_epi64((sl_u64)c->gue_port << 16),
				_mm512_slli_epi64(
					_mm512_or_si512(
						_mm512_and_si512(
							_mm512_srli_epi64(x, 8),
							_mm512_set1_epi64(
								0xff)),
						_mm512_slli_epi64(
							_mm512_and_si512(
								x,
								_mm512_set1_epi64(
									0xff)),
							8)),
					32)));
		badr = _mm512_add_epi64(
			_mm512_set1_epi64((long long)(sl_u64)c->buckets),
			_mm512_slli_epi64(
				_mm512_and_si512(ih,
						 _mm512_set1_epi64(c->mask)),
				6));
		_mm512_storeu_si512(addr, badr);
		for (j = 0; j < 8; j++)
			if ((hit >> j) & 1)
				__builtin_prefetch((const void *)addr[j]);
		/* What passed the frame tests but not the first probe: the
		 * scalar stage decides (and fills its fields). */
		for (j = 0; j < 8; j++) {
			if ((hit >> j) & 1)
				continue;
			if (!((ok >> j) & 1) ||
			    !fx_classify(c, pkts[i + j], fx, i + j))
				slow |= 1ull << (i + j);
		}
	}
	*bytes = (sl_u64)_mm512_reduce_add_epi64(sum);
	for (; i < n; i++) {
		*bytes += pkts[i]->data_len;
		if (!fx_classify(c, pkts[i], fx, i))
			slow |= 1ull << i;
	}
	return slow;
}

/* Does this CPU have what fx_stage1_512() is built for? */
static SL_ALWAYS_INLINE bool fx512_cpu_ok(void)
{
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vl");
}

#endif /* __x86_64__ */

#endif /* SLUICE_DP_EXPRESS512_H */
