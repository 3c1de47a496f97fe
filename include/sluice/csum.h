/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csum.h: Internet checksum helpers (RFC 1071, RFC 1624) for the fast path.
 *
 * Byte-order neutral: 16-bit words are loaded in host order and the result
 * is returned in the same representation, so it is stored as-is into a
 * sl_be16 checksum field (RFC 1071 section 2(B)). Loops have compile-time
 * bounds, so the BPF verifier accepts them.
 */
#ifndef SLUICE_CSUM_H
#define SLUICE_CSUM_H

#include "types.h"

/* Fold a 32-bit one's complement sum to 16 bits and complement it. */
static SL_ALWAYS_INLINE sl_u16 sl_csum_fold(sl_u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (sl_u16)~sum;
}

/* One's complement add with end-around carry. */
static SL_ALWAYS_INLINE sl_u32 sl_csum_add(sl_u32 sum, sl_u32 addend)
{
	sum += addend;
	return sum + (sum < addend);
}

/*
 * Unfolded sum of len bytes (len even; in BPF a compile-time constant) added
 * to sum. Words are read through memcpy, so buf needs no alignment.
 */
static SL_ALWAYS_INLINE sl_u32 sl_csum_partial(const void *buf,
					       unsigned long len, sl_u32 sum)
{
	const sl_u8 *b = (const sl_u8 *)buf;
	unsigned long i;

	SL_UNROLL
	for (i = 0; i + 1 < len; i += 2) {
		sl_u16 w;

		__builtin_memcpy(&w, b + i, 2);
		sum = sl_csum_add(sum, w);
	}
	return sum;
}

/*
 * Checksum of a 20-byte IPv4 header (no options). With the check field
 * zeroed this is the value to store; over a header with a correct check
 * field it is 0.
 */
static SL_ALWAYS_INLINE sl_be16 sl_csum_ip4_hdr(const void *iph)
{
	const sl_u8 *b = (const sl_u8 *)iph;
	sl_u64 sum = 0;
	int i;

	/* Five 32-bit words summed in 64 bits: the same one's complement sum
	 * as 16-bit words (RFC 1071 2(C)), in a third of the instructions. */
	SL_UNROLL
	for (i = 0; i < 20; i += 4) {
		sl_u32 w;

		__builtin_memcpy(&w, b + i, 4);
		sum += w;
	}
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	return (sl_be16)sl_csum_fold((sl_u32)sum);
}

/*
 * RFC 1624 eqn. 3 incremental update: HC' = ~(~HC + ~m + m') for a 16-bit
 * field changing from old to new. Never yields 0xffff from a non-0xffff
 * check, unlike the eqn. 2 form (RFC 1624 section 3).
 */
static SL_ALWAYS_INLINE sl_be16 sl_csum_update16(sl_be16 check, sl_be16 old,
						 sl_be16 new_)
{
	sl_u32 sum = (sl_u16)~check;

	sum = sl_csum_add(sum, (sl_u16)~old);
	sum = sl_csum_add(sum, new_);
	return (sl_be16)sl_csum_fold(sum);
}

/* The same for a 32-bit field (an IPv4 address, one word of an IPv6 one). */
static SL_ALWAYS_INLINE sl_be16 sl_csum_update32(sl_be16 check, sl_be32 old,
						 sl_be32 new_)
{
	sl_u32 sum = (sl_u16)~check;

	sum = sl_csum_add(sum, (sl_u16) ~(old & 0xffff));
	sum = sl_csum_add(sum, (sl_u16) ~(old >> 16));
	sum = sl_csum_add(sum, new_ & 0xffff);
	sum = sl_csum_add(sum, new_ >> 16);
	return (sl_be16)sl_csum_fold(sum);
}

/*
 * Checksum of an IPv4 header of len bytes (options included, len = ihl * 4)
 * with the check field zeroed: the value to store. Host use; in BPF only
 * with a compile-time constant len.
 */
static SL_ALWAYS_INLINE sl_be16 sl_csum_ip4_hdr_len(const void *iph,
						    unsigned long len)
{
	return (sl_be16)sl_csum_fold(sl_csum_partial(iph, len, 0));
}

/*
 * Unfolded sum of len bytes, odd lengths too: a trailing byte counts as the
 * first byte of a word padded with zero (RFC 1071). Host use (runtime len).
 */
static SL_ALWAYS_INLINE sl_u32 sl_csum_partial_odd(const void *buf,
						   unsigned long len,
						   sl_u32 sum)
{
	sum = sl_csum_partial(buf, len & ~1ul, sum);
	if (len & 1) {
		sl_u8 last[2] = { ((const sl_u8 *)buf)[len - 1], 0 };
		sl_u16 w;

		__builtin_memcpy(&w, last, 2);
		sum = sl_csum_add(sum, w);
	}
	return sum;
}

/* Checksum of len bytes (any length) whose check field is zero. */
static SL_ALWAYS_INLINE sl_be16 sl_csum_buf(const void *buf, unsigned long len)
{
	return (sl_be16)sl_csum_fold(sl_csum_partial_odd(buf, len, 0));
}

/*
 * ICMPv6 / UDP checksum over IPv6: the pseudo-header (source, destination,
 * upper-layer length, next header) of ip6 (struct sl_ip6hdr, whose nexthdr
 * must be the upper-layer protocol: no extension headers) and len bytes of
 * the upper-layer packet at l4, whose check field is zero. A UDP result of
 * 0 is sent as 0xffff (RFC 8200 8.1).
 */
static SL_ALWAYS_INLINE sl_be16 sl_csum_l4_ip6(const void *ip6, const void *l4,
					       unsigned long len)
{
	const sl_u8 *h = (const sl_u8 *)ip6;
	sl_u8 tail[8] = { (sl_u8)(len >> 24),
			  (sl_u8)(len >> 16),
			  (sl_u8)(len >> 8),
			  (sl_u8)len,
			  0,
			  0,
			  0,
			  h[6] };
	sl_u32 sum;
	sl_be16 c;

	sum = sl_csum_partial(h + 8, 32, 0); /* saddr, daddr */
	sum = sl_csum_partial(tail, 8, sum);
	sum = sl_csum_partial_odd(l4, len, sum);
	c = (sl_be16)sl_csum_fold(sum);
	if (c == 0 && h[6] == 17)
		c = 0xffff;
	return c;
}

#endif /* SLUICE_CSUM_H */
