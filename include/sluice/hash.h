/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hash.h: the keyed flow hash, SipHash-1-3 with a 128-bit key.
 *
 * Why SipHash: it is a keyed PRF, so a client who does not know hash_seed
 * cannot choose 5-tuples that pile onto one backend or one flow-table bucket
 * (hash flooding), unlike jhash/CRC/Toeplitz. Why 1-3 rounds: the flow key is
 * 40 bytes, 5 words plus the final length word, so SipHash-2-4 costs
 * 6 * 2 + 4 = 16 SipRounds per packet and 1-3 costs 6 + 3 = 9; 1-3 is the
 * variant Rust's std HashMap and CPython 3.11 ship for exactly this threat.
 * The code is the reference algorithm with the rounds as
 * parameters; tests pin it to the published SipHash-2-4 vectors and to golden
 * SipHash-1-3 vectors of flow keys.
 *
 * Freestanding and loop-bounded, so the verifier accepts it in BPF and the
 * DPDK build gets the same bits. Words are read little-endian as SipHash
 * specifies, on any host.
 *
 * hash_seed "00112233445566778899aabbccddeeff" is k0 = bytes 0..7 and
 * k1 = bytes 8..15, each read little-endian (the reference's key layout).
 */
#ifndef SLUICE_HASH_H
#define SLUICE_HASH_H

#include "flow.h"
#include "types.h"

struct sl_hash_key {
	sl_u64 k0;
	sl_u64 k1;
};
SL_STATIC_ASSERT(sizeof(struct sl_hash_key) == 16, "hash key ABI is 16 bytes");

#define SL_ROTL64(x, b) (sl_u64)(((x) << (b)) | ((x) >> (64 - (b))))

#define SL_SIPROUND(v0, v1, v2, v3)     \
	do {                            \
		v0 += v1;               \
		v1 = SL_ROTL64(v1, 13); \
		v1 ^= v0;               \
		v0 = SL_ROTL64(v0, 32); \
		v2 += v3;               \
		v3 = SL_ROTL64(v3, 16); \
		v3 ^= v2;               \
		v0 += v3;               \
		v3 = SL_ROTL64(v3, 21); \
		v3 ^= v0;               \
		v2 += v1;               \
		v1 = SL_ROTL64(v1, 17); \
		v1 ^= v2;               \
		v2 = SL_ROTL64(v2, 32); \
	} while (0)

static SL_ALWAYS_INLINE sl_u64 sl_le64(const sl_u8 *p)
{
	sl_u64 v;

	__builtin_memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/*
 * Generic SipHash-c-d over len bytes. len is bounded by the caller; in BPF use
 * only with a compile-time constant len (the loops then unroll).
 */
static SL_ALWAYS_INLINE sl_u64 sl_siphash_cd(const void *data,
					     unsigned long len,
					     const struct sl_hash_key *key,
					     int c_rounds, int d_rounds)
{
	const sl_u8 *p = (const sl_u8 *)data;
	sl_u64 v0 = 0x736f6d6570736575ULL ^ key->k0;
	sl_u64 v1 = 0x646f72616e646f6dULL ^ key->k1;
	sl_u64 v2 = 0x6c7967656e657261ULL ^ key->k0;
	sl_u64 v3 = 0x7465646279746573ULL ^ key->k1;
	unsigned long nwords = len / 8, i;
	sl_u64 b = ((sl_u64)len) << 56;
	int r;

	SL_UNROLL
	for (i = 0; i < nwords; i++) {
		sl_u64 m = sl_le64(p + i * 8);

		v3 ^= m;
		SL_UNROLL
		for (r = 0; r < c_rounds; r++)
			SL_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	p += nwords * 8;
	switch (len & 7) {
	case 7:
		b |= ((sl_u64)p[6]) << 48; /* fallthrough */
	case 6:
		b |= ((sl_u64)p[5]) << 40; /* fallthrough */
	case 5:
		b |= ((sl_u64)p[4]) << 32; /* fallthrough */
	case 4:
		b |= ((sl_u64)p[3]) << 24; /* fallthrough */
	case 3:
		b |= ((sl_u64)p[2]) << 16; /* fallthrough */
	case 2:
		b |= ((sl_u64)p[1]) << 8; /* fallthrough */
	case 1:
		b |= ((sl_u64)p[0]); /* fallthrough */
	default:
		break;
	}
	v3 ^= b;
	SL_UNROLL
	for (r = 0; r < c_rounds; r++)
		SL_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	SL_UNROLL
	for (r = 0; r < d_rounds; r++)
		SL_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

static SL_ALWAYS_INLINE sl_u64 sl_siphash13(const void *data, unsigned long len,
					    const struct sl_hash_key *key)
{
	return sl_siphash_cd(data, len, key, 1, 3);
}

/* The flow hash: SipHash-1-3 over the whole 40-byte key, padding included. */
static SL_ALWAYS_INLINE sl_u64 sl_flow_hash(const struct sl_flow_key *fk,
					    const struct sl_hash_key *key)
{
	return sl_siphash13(fk, sizeof(*fk), key);
}

/*
 * Parse a 32-hex-digit seed into a key. Returns 0, or -1 if the string is not
 * exactly 32 hex digits. Not for the fast path.
 */
static inline int sl_hash_key_parse(const char *hex, struct sl_hash_key *key)
{
	sl_u8 b[16];
	int i;

	for (i = 0; i < 32; i++) {
		char c = hex[i];
		int v;

		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -1;
		if (i & 1)
			b[i / 2] |= (sl_u8)v;
		else
			b[i / 2] = (sl_u8)(v << 4);
	}
	if (hex[32] != '\0')
		return -1;
	key->k0 = sl_le64(b);
	key->k1 = sl_le64(b + 8);
	return 0;
}

#endif /* SLUICE_HASH_H */
