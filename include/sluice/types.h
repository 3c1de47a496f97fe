/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * types.h: fixed-width types with byte order in the name, shared by the
 * dataplane, the control plane, the BPF programs and the tests.
 *
 * Freestanding: no libc, no linux/ headers, so the same file compiles with
 * gcc for the host and with clang -target bpf. Byte order is carried in the
 * type name (sl_be16 is network order) so a reader never has to guess.
 */
#ifndef SLUICE_TYPES_H
#define SLUICE_TYPES_H

typedef __UINT8_TYPE__ sl_u8;
typedef __UINT16_TYPE__ sl_u16;
typedef __UINT32_TYPE__ sl_u32;
typedef __UINT64_TYPE__ sl_u64;
typedef __INT32_TYPE__ sl_s32;
typedef __INT64_TYPE__ sl_s64;

/*
 * Words that may alias any object: for reading a struct (a flow key) as
 * 8- or 4-byte words. Through a plain sl_u64 pointer such reads break
 * C's aliasing rules, and an optimizing compiler may then move them
 * ahead of the stores that filled the struct's narrower fields.
 */
typedef sl_u64 __attribute__((__may_alias__)) sl_u64_any;
typedef sl_u32 __attribute__((__may_alias__)) sl_u32_any;

/* Network (big-endian) order; only ever converted through the helpers below. */
typedef sl_u16 sl_be16;
typedef sl_u32 sl_be32;

#define SL_ALWAYS_INLINE inline __attribute__((always_inline))
#define SL_PACKED __attribute__((packed))
#define SL_ALIGNED(n) __attribute__((aligned(n)))
#define SL_LIKELY(x) __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x) __builtin_expect(!!(x), 0)
/*
 * Loops in shared code have constant bounds; BPF needs them unrolled (the
 * verifier of older kernels rejects back-edges). On the host the compiler
 * decides, and a runtime-bounded loop is not an error.
 */
#if defined(__bpf__)
#define SL_UNROLL _Pragma("unroll")
#else
#define SL_UNROLL
#endif
#define SL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__cplusplus)
#define SL_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define SL_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define sl_htons(x) ((sl_be16)__builtin_bswap16((sl_u16)(x)))
#define sl_ntohs(x) ((sl_u16)__builtin_bswap16((sl_be16)(x)))
#define sl_htonl(x) ((sl_be32)__builtin_bswap32((sl_u32)(x)))
#define sl_ntohl(x) ((sl_u32)__builtin_bswap32((sl_be32)(x)))
/* For constants in switch labels and static initialisers. */
#define SL_BE16(x) ((sl_be16)((((x)&0xffu) << 8) | (((x) >> 8) & 0xffu)))
#define SL_BE32(x)                                              \
	((sl_be32)((((x)&0xffu) << 24) | (((x)&0xff00u) << 8) | \
		   (((x) >> 8) & 0xff00u) | (((x) >> 24) & 0xffu)))
#elif __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define sl_htons(x) ((sl_be16)(x))
#define sl_ntohs(x) ((sl_u16)(x))
#define sl_htonl(x) ((sl_be32)(x))
#define sl_ntohl(x) ((sl_u32)(x))
#define SL_BE16(x) ((sl_be16)(x))
#define SL_BE32(x) ((sl_be32)(x))
#else
#error "unknown byte order"
#endif

/*
 * Freestanding byte helpers (no libc in BPF). Sizes are compile-time small.
 * Macros, so that the builtins see the caller's pointer type and with it
 * the alignment: through a void * clang's BPF backend assumes none and
 * clears a struct sl_pkt with 96 one-byte stores instead of 24 words.
 */
#define sl_memzero(p, n) __builtin_memset((p), 0, (n))
#define sl_memcpy(d, s, n) __builtin_memcpy((d), (s), (n))

#endif /* SLUICE_TYPES_H */
