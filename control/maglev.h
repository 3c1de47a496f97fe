/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * maglev.h: weighted Maglev consistent hashing (Eisenbud et al., NSDI 2016).
 *
 * The table is a function of the set of backend identities (family, address,
 * port), their weights, M and the hash seed, never of the order the caller
 * lists the backends in: two LB nodes with the same config build
 * byte-identical tables. Entries index the identity-sorted order; order[]
 * maps them back to the caller's array.
 *
 * Control-plane code: called from sluiced's main thread when a table is
 * (re)built; not thread-safe on one scratch, reentrant otherwise.
 */
#ifndef SLUICE_CONTROL_MAGLEV_H
#define SLUICE_CONTROL_MAGLEV_H

#include <stdbool.h>

#include <sluice/flow.h>
#include <sluice/hash.h>
#include <sluice/types.h>

struct sl_maglev_backend {
	union sl_addr addr; /* identity: family + address + port */
	sl_u8 family;	    /* SL_AF_INET / SL_AF_INET6 */
	sl_be16 port;
	sl_u32 weight; /* 0 = takes no slots (drained / no new flows) */
};

enum {
	SL_MAGLEV_EMPTY = 0xffff, /* table entry when no backend has weight */
	SL_MAGLEV_N_MAX = 65534,  /* indices 0..65533 fit, 0xffff is EMPTY */
	SL_MAGLEV_M_DEFAULT = 65537,
	SL_MAGLEV_M_MAX = 1 << 24, /* bounds scratch memory and arithmetic */
};

/*
 * The permutation of backend b is offset(b) + j * skip(b) (mod M) with
 *   offset = SipHash-1-3(id, {k0 ^ SL_MAGLEV_TWEAK_OFFSET, k1}) % M
 *   skip   = SipHash-1-3(id, {k0 ^ SL_MAGLEV_TWEAK_SKIP,   k1}) % (M - 1) + 1
 * where {k0, k1} is the config's hash_seed and id is the 20-byte identity:
 * byte 0 family, bytes 1..16 the address (IPv4 in 1..4, 5..16 zero), bytes
 * 17..18 the port in network order, byte 19 zero. The tweaks keep the
 * permutations independent of the flow hash, which uses the seed as is.
 * Part of the cross-node contract: a change here moves every flow.
 */
#define SL_MAGLEV_TWEAK_OFFSET 0x7366666f766c676dULL /* "mglvoffs", LE */
#define SL_MAGLEV_TWEAK_SKIP 0x70696b73766c676dULL   /* "mglvskip", LE */
#define SL_MAGLEV_ID_LEN 20

/* Reusable working memory, so repeated builds do not allocate. */
struct sl_maglev_scratch;

/* NULL + errno (ENOMEM) on failure. Grows on demand inside builds. */
struct sl_maglev_scratch *sl_maglev_scratch_new(void);
void sl_maglev_scratch_free(struct sl_maglev_scratch *s);

/*
 * Fill table[0..m-1] with indices into the identity-sorted order of b[0..n-1]
 * (ascending by the identity bytes above: family, address, port), and, when
 * order is not NULL, order[k] = caller index of sorted position k (n entries).
 *
 * Weights: each backend takes turns in rounds; with wmax the largest weight,
 * backend i takes its k-th turn (k = 0, 1, ...) in round floor(k * wmax / w_i),
 * so it takes ceil((r + 1) * w_i / wmax) turns by the end of round r. Within a
 * round backends go in sorted order; a turn fills the backend's next free
 * preferred slot exactly as in the paper. With equal weights this is the
 * paper's algorithm; unequal weights get shares proportional to weight (to
 * about one slot). Changing the largest weight reschedules every backend.
 * Weight 0 takes no slots; if every weight is 0 (or n == 0) every entry is
 * SL_MAGLEV_EMPTY.
 *
 * Returns 0, -EINVAL (m not prime or > SL_MAGLEV_M_MAX, n > SL_MAGLEV_N_MAX,
 * bad family, two backends with one identity, NULL pointers) or -ENOMEM.
 * sl_maglev_build allocates its scratch for the call; sl_maglev_build_with
 * reuses s (which may grow, hence -ENOMEM).
 */
int sl_maglev_build(const struct sl_maglev_backend *b, unsigned int n, sl_u32 m,
		    const struct sl_hash_key *seed, sl_u16 *table,
		    sl_u32 *order);
int sl_maglev_build_with(struct sl_maglev_scratch *s,
			 const struct sl_maglev_backend *b, unsigned int n,
			 sl_u32 m, const struct sl_hash_key *seed,
			 sl_u16 *table, sl_u32 *order);

/* The identity bytes hashed and compared for backend b (see above). */
void sl_maglev_identity(const struct sl_maglev_backend *b,
			sl_u8 id[SL_MAGLEV_ID_LEN]);

bool sl_maglev_is_prime(sl_u32 m);

/*
 * False when m < 100 * n: shares then drift by more than 1% from the weights
 * (the paper's sizing rule). Callers print the warning.
 */
bool sl_maglev_size_ok(sl_u32 m, unsigned int n);

#endif /* SLUICE_CONTROL_MAGLEV_H */
