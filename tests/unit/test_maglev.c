/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_maglev.c: the Maglev table builder against a naive reference written
 * straight from the paper (full permutation arrays, one backend per turn),
 * plus the properties operators rely on: input order does not matter, every
 * slot is filled, weights are honoured, few flows move when the set changes.
 *
 * Random backend sets come from a fixed-seed PRNG, so failures reproduce.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

static const struct sl_hash_key test_seed = { 0x0706050403020100ULL,
					      0x0f0e0d0c0b0a0908ULL };

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	/* xorshift64*: fixed seed, reproducible sets */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static bool same_identity(const struct sl_maglev_backend *a,
			  const struct sl_maglev_backend *b)
{
	unsigned int len = a->family == SL_AF_INET ? 4 : 16;

	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->addr.b, b->addr.b, len);
}

/* n distinct random backends, IPv4 and IPv6 mixed, all of weight w. */
static void random_backends(struct sl_maglev_backend *b, unsigned int n,
			    sl_u32 w)
{
	unsigned int i, j;

	for (i = 0; i < n; i++) {
	again:
		memset(&b[i], 0, sizeof(b[i]));
		b[i].family = rng() & 1 ? SL_AF_INET : SL_AF_INET6;
		if (b[i].family == SL_AF_INET) {
			b[i].addr.v4 = sl_htonl(0x0a000000u | (rng() & 0xffff));
		} else {
			b[i].addr.w[0] = sl_htonl(0x20010db8u);
			b[i].addr.w[3] = (sl_u32)rng();
		}
		b[i].port = sl_htons(rng() & 1 ? 80 : 8080);
		b[i].weight = w;
		for (j = 0; j < i; j++)
			if (same_identity(&b[i], &b[j]))
				goto again;
	}
}

/*
 * The reference, deliberately naive. Identity bytes, seed tweaks and the
 * ordering rule are written out again from maglev.h's contract (literals,
 * not the header's macros), so a change to the contract fails here.
 */
struct ref_be {
	sl_u8 id[20];
	sl_u32 weight;
};

static int ref_cmp(const void *a, const void *b)
{
	return memcmp(((const struct ref_be *)a)->id,
		      ((const struct ref_be *)b)->id, 20);
}

static void ref_build(const struct sl_maglev_backend *b, unsigned int n,
		      sl_u32 m, sl_u16 *table)
{
	struct sl_hash_key ko = { test_seed.k0 ^ 0x7366666f766c676dULL,
				  test_seed.k1 }; /* "mglvoffs" */
	struct sl_hash_key ks = { test_seed.k0 ^ 0x70696b73766c676dULL,
				  test_seed.k1 }; /* "mglvskip" */
	struct ref_be *be = calloc(n, sizeof(*be));
	sl_u32 *perm = calloc((size_t)n * m, sizeof(*perm));
	sl_u32 *next = calloc(n, sizeof(*next));
	sl_u32 *turns = calloc(n, sizeof(*turns));
	sl_u32 i, j, filled = 0, wmax = 0, r;
	int *entry = malloc(m * sizeof(*entry));

	assert_non_null(be);
	assert_non_null(perm);
	assert_non_null(entry);
	for (i = 0; i < n; i++) {
		be[i].id[0] = b[i].family;
		memcpy(be[i].id + 1, b[i].addr.b,
		       b[i].family == SL_AF_INET ? 4 : 16);
		be[i].id[17] = ((const sl_u8 *)&b[i].port)[0];
		be[i].id[18] = ((const sl_u8 *)&b[i].port)[1];
		be[i].weight = b[i].weight;
		if (b[i].weight > wmax)
			wmax = b[i].weight;
	}
	qsort(be, n, sizeof(*be), ref_cmp);
	for (i = 0; i < n; i++) {
		sl_u64 offset = sl_siphash13(be[i].id, 20, &ko) % m;
		sl_u64 skip = sl_siphash13(be[i].id, 20, &ks) % (m - 1) + 1;

		for (j = 0; j < m; j++)
			perm[(size_t)i * m + j] =
				(sl_u32)((offset + j * skip) % m);
	}
	for (j = 0; j < m; j++)
		entry[j] = -1;
	/*
	 * The paper's loop, with one change for weights: in round r backend i
	 * takes a turn only while it has taken fewer than
	 * ceil((r + 1) * w_i / wmax); with equal weights that is every round.
	 */
	for (r = 0; wmax && filled < m; r++) {
		for (i = 0; i < n && filled < m; i++) {
			sl_u64 due =
				((sl_u64)(r + 1) * be[i].weight + wmax - 1) /
				wmax;
			sl_u32 c;

			if (turns[i] >= due)
				continue;
			turns[i]++;
			c = perm[(size_t)i * m + next[i]];
			while (entry[c] >= 0) {
				next[i]++;
				c = perm[(size_t)i * m + next[i]];
			}
			entry[c] = (int)i;
			next[i]++;
			filled++;
		}
	}
	for (j = 0; j < m; j++)
		table[j] = entry[j] < 0 ? SL_MAGLEV_EMPTY : (sl_u16)entry[j];
	free(be);
	free(perm);
	free(next);
	free(turns);
	free(entry);
}

/* Build; return the table (caller frees), order into *order if asked. */
static sl_u16 *build(const struct sl_maglev_backend *b, unsigned int n,
		     sl_u32 m, sl_u32 **order)
{
	sl_u16 *t = malloc(m * sizeof(*t));
	sl_u32 *o = malloc((n ? n : 1) * sizeof(*o));

	assert_non_null(t);
	assert_non_null(o);
	assert_int_equal(sl_maglev_build(b, n, m, &test_seed, t, o), 0);
	if (order)
		*order = o;
	else
		free(o);
	return t;
}

/* Slots per caller index. */
static void count_slots(const sl_u16 *t, sl_u32 m, const sl_u32 *order,
			unsigned int n, sl_u32 *cnt)
{
	sl_u32 i;

	memset(cnt, 0, n * sizeof(*cnt));
	for (i = 0; i < m; i++) {
		assert_int_not_equal(t[i], SL_MAGLEV_EMPTY);
		assert_true(t[i] < n);
		cnt[order[t[i]]]++;
	}
}

static const sl_u32 small_primes[] = { 2, 7, 13, 101, 251, 1009, 4099, 65537 };

static void
test_maglev_matches_naive_paper_reference_for_equal_weights(void **st)
{
	struct sl_maglev_backend b[64];
	sl_u16 *ref = malloc(65537 * sizeof(*ref));
	int iter;

	for (iter = 0; iter < 60; iter++) {
		sl_u32 m = small_primes[iter % SL_ARRAY_SIZE(small_primes)];
		unsigned int n = 1 + rng() % SL_ARRAY_SIZE(b);
		sl_u16 *t;

		random_backends(b, n, 1 + iter % 3);
		t = build(b, n, m, NULL);
		ref_build(b, n, m, ref);
		assert_memory_equal(t, ref, m * sizeof(*t));
		free(t);
	}
	free(ref);
}

static void test_maglev_matches_naive_reference_for_unequal_weights(void **st)
{
	struct sl_maglev_backend b[40];
	sl_u16 *ref = malloc(65537 * sizeof(*ref));
	int iter;

	for (iter = 0; iter < 60; iter++) {
		sl_u32 m = small_primes[iter % SL_ARRAY_SIZE(small_primes)];
		unsigned int n = 1 + rng() % SL_ARRAY_SIZE(b), i;
		sl_u16 *t;

		random_backends(b, n, 0);
		for (i = 0; i < n; i++) {
			/* small weights, zeros, and sometimes one giant */
			b[i].weight = rng() % 11;
			if (iter % 4 == 3 && i == 0)
				b[i].weight = 1000000;
		}
		t = build(b, n, m, NULL);
		ref_build(b, n, m, ref);
		assert_memory_equal(t, ref, m * sizeof(*t));
		free(t);
	}
	free(ref);
}

static void test_maglev_table_is_identical_for_any_input_order(void **st)
{
	struct sl_maglev_backend b[200], sh[200];
	sl_u32 *o1, *o2, k, m = 65537;
	sl_u16 *t1, *t2;
	unsigned int n = 200, i;
	int round;

	random_backends(b, n, 1);
	for (i = 0; i < n; i++)
		b[i].weight = 1 + rng() % 5;
	t1 = build(b, n, m, &o1);
	for (round = 0; round < 5; round++) {
		memcpy(sh, b, sizeof(b));
		for (i = n - 1; i > 0; i--) {
			unsigned int j = rng() % (i + 1);
			struct sl_maglev_backend tmp = sh[i];

			sh[i] = sh[j];
			sh[j] = tmp;
		}
		t2 = build(sh, n, m, &o2);
		assert_memory_equal(t1, t2, m * sizeof(*t1));
		for (k = 0; k < n; k++)
			assert_true(same_identity(&b[o1[k]], &sh[o2[k]]));
		free(t2);
		free(o2);
	}
	free(t1);
	free(o1);
}

static void test_maglev_ipv4_identity_ignores_bytes_past_the_address(void **st)
{
	struct sl_maglev_backend b[20];
	sl_u16 *t1, *t2;
	unsigned int i;

	random_backends(b, 20, 1);
	t1 = build(b, 20, 4099, NULL);
	for (i = 0; i < 20; i++)
		if (b[i].family == SL_AF_INET)
			memset(b[i].addr.b + 4, 0xa5, 12);
	t2 = build(b, 20, 4099, NULL);
	assert_memory_equal(t1, t2, 4099 * sizeof(*t1));
	free(t1);
	free(t2);
}

static void test_maglev_fills_every_slot_when_some_weight_is_positive(void **st)
{
	struct sl_maglev_backend b[50];
	sl_u32 *o, cnt[50];
	sl_u16 *t;
	unsigned int i;

	random_backends(b, 50, 0);
	b[17].weight = 1;
	t = build(b, 50, 65537, &o);
	count_slots(t, 65537, o, 50, cnt); /* asserts no EMPTY */
	for (i = 0; i < 50; i++)
		assert_int_equal(cnt[i], i == 17 ? 65537 : 0);
	free(t);
	free(o);
}

static void test_maglev_all_zero_weights_leave_every_slot_empty(void **st)
{
	struct sl_maglev_backend b[10];
	sl_u16 t[251];
	sl_u32 o[10], i;

	random_backends(b, 10, 0);
	assert_int_equal(sl_maglev_build(b, 10, 251, &test_seed, t, o), 0);
	for (i = 0; i < 251; i++)
		assert_int_equal(t[i], SL_MAGLEV_EMPTY);
	memset(t, 0, sizeof(t));
	assert_int_equal(sl_maglev_build(NULL, 0, 251, &test_seed, t, NULL), 0);
	for (i = 0; i < 251; i++)
		assert_int_equal(t[i], SL_MAGLEV_EMPTY);
}

static void test_maglev_zero_weight_backend_gets_no_slots(void **st)
{
	struct sl_maglev_backend b[30];
	sl_u32 *o, cnt[30];
	sl_u16 *t;
	unsigned int i;

	random_backends(b, 30, 1);
	b[3].weight = 0;
	b[29].weight = 0;
	t = build(b, 30, 65537, &o);
	count_slots(t, 65537, o, 30, cnt);
	for (i = 0; i < 30; i++) {
		if (i == 3 || i == 29)
			assert_int_equal(cnt[i], 0);
		else
			assert_true(cnt[i] > 0);
	}
	free(t);
	free(o);
}

/* max/mean and min/mean of slot counts over backends of weight > 0. */
static void balance(unsigned int n, sl_u32 m, double *hi, double *lo)
{
	struct sl_maglev_backend *b = calloc(n, sizeof(*b));
	sl_u32 *cnt = calloc(n, sizeof(*cnt)), *o, mx = 0, mn = UINT32_MAX;
	double mean = (double)m / n;
	unsigned int i;
	sl_u16 *t;

	random_backends(b, n, 1);
	t = build(b, n, m, &o);
	count_slots(t, m, o, n, cnt);
	for (i = 0; i < n; i++) {
		if (cnt[i] > mx)
			mx = cnt[i];
		if (cnt[i] < mn)
			mn = cnt[i];
	}
	*hi = mx / mean;
	*lo = mn / mean;
	free(b);
	free(cnt);
	free(t);
	free(o);
}

static void
test_maglev_equal_weights_balance_within_1_percent_when_m_ge_100n(void **st)
{
	static const unsigned int ns[] = { 10, 100, 655 };
	double hi, lo;
	unsigned int i;

	for (i = 0; i < SL_ARRAY_SIZE(ns); i++) {
		assert_true(sl_maglev_size_ok(65537, ns[i]));
		balance(ns[i], 65537, &hi, &lo);
		assert_true(hi <= 1.01);
		assert_true(lo >= 0.99);
	}
}

static void
test_maglev_equal_weights_balance_within_2_percent_for_600_of_65537(void **st)
{
	double hi, lo;

	balance(600, 65537, &hi, &lo);
	assert_true(hi <= 1.02);
	assert_true(lo >= 0.98);
	/* 1000 backends: ~65.5 slots each, so one slot is 1.5% */
	balance(1000, 65537, &hi, &lo);
	assert_true(hi <= 1.02);
	assert_true(lo >= 0.98);
}

/* Every backend's share within 1% (relative) of its weight share. */
static void check_weights(const sl_u32 *w, unsigned int n, sl_u32 m)
{
	struct sl_maglev_backend b[16];
	sl_u32 cnt[16], *o;
	sl_u64 wsum = 0;
	unsigned int i;
	sl_u16 *t;

	random_backends(b, n, 0);
	for (i = 0; i < n; i++) {
		b[i].weight = w[i];
		wsum += w[i];
	}
	t = build(b, n, m, &o);
	count_slots(t, m, o, n, cnt);
	for (i = 0; i < n; i++) {
		double want = (double)m * w[i] / wsum;

		if (!w[i]) {
			assert_int_equal(cnt[i], 0);
			continue;
		}
		double tol = want * 0.01 > 1 ? want * 0.01 : 1;

		/* a share under 100 slots cannot be within 1%: one slot then */
		assert_true(cnt[i] >= want - tol && cnt[i] <= want + tol);
	}
	free(t);
	free(o);
}

static void test_maglev_slot_shares_follow_weights_within_1_percent(void **st)
{
	static const sl_u32 w1[] = { 1, 2, 3, 4 };
	static const sl_u32 w2[] = { 100, 100, 50 };
	static const sl_u32 w3[] = { 1, 10, 10, 10, 10, 10, 10, 10, 10, 10 };
	static const sl_u32 w4[] = { 7, 0, 13, 1000, 250, 3 };
	static const sl_u32 w5[] = { 4000000000u, 1000000000u, 3 };

	check_weights(w1, 4, 65537);
	check_weights(w1, 4, 655373);
	check_weights(w2, 3, 65537);
	check_weights(w3, 10, 65537);
	check_weights(w4, 6, 655373);
	check_weights(w5, 3, 655373);
}

/*
 * Slots that change owner, not counting those the changed backend (gone or
 * new) owned before or owns after; owners compared by identity.
 */
static sl_u32 moved_besides(const sl_u16 *t1, const sl_u32 *o1,
			    const struct sl_maglev_backend *b1,
			    const sl_u16 *t2, const sl_u32 *o2,
			    const struct sl_maglev_backend *b2, sl_u32 m,
			    const struct sl_maglev_backend *changed)
{
	sl_u32 i, moved = 0;

	for (i = 0; i < m; i++) {
		const struct sl_maglev_backend *x = &b1[o1[t1[i]]];
		const struct sl_maglev_backend *y = &b2[o2[t2[i]]];

		if (!same_identity(x, y) && !same_identity(x, changed) &&
		    !same_identity(y, changed))
			moved++;
	}
	return moved;
}

static void test_maglev_removing_one_of_n_moves_about_1_over_n(void **st)
{
	struct sl_maglev_backend b[100], rest[99];
	sl_u32 *o1, *o2, m = 65537, moved, i, own = 0;
	sl_u16 *t1, *t2;

	random_backends(b, 100, 1);
	memcpy(rest, b, 42 * sizeof(*b));
	memcpy(rest + 42, b + 43, 57 * sizeof(*b));
	t1 = build(b, 100, m, &o1);
	t2 = build(rest, 99, m, &o2);
	for (i = 0; i < m; i++)
		own += o1[t1[i]] == 42;
	/* the removed backend's 1/N of the slots move, and few others */
	assert_true(own >= m / 100 && own <= m / 100 + 1);
	moved = moved_besides(t1, o1, b, t2, o2, rest, m, &b[42]);
	assert_true(moved <= m / 100);
	free(t1);
	free(t2);
	free(o1);
	free(o2);
}

static void test_maglev_adding_one_to_n_moves_about_1_over_n(void **st)
{
	struct sl_maglev_backend b[101];
	sl_u32 *o1, *o2, m = 65537, moved;
	sl_u16 *t1, *t2;

	random_backends(b, 101, 1);
	t1 = build(b, 100, m, &o1);
	t2 = build(b, 101, m, &o2);
	moved = moved_besides(t1, o1, b, t2, o2, b, m, &b[100]);
	assert_true(moved <= m / 100);
	free(t1);
	free(t2);
	free(o1);
	free(o2);
}

static void test_maglev_rejects_non_prime_m(void **st)
{
	struct sl_maglev_backend b[2];
	static sl_u16 t[65537];

	random_backends(b, 2, 1);
	assert_int_equal(sl_maglev_build(b, 2, 65536, &test_seed, t, NULL),
			 -EINVAL);
	assert_int_equal(sl_maglev_build(b, 2, 1, &test_seed, t, NULL),
			 -EINVAL);
	assert_int_equal(sl_maglev_build(b, 2, 0, &test_seed, t, NULL),
			 -EINVAL);
	assert_int_equal(sl_maglev_build(b, 2, 65535, &test_seed, t, NULL),
			 -EINVAL);
	assert_int_equal(sl_maglev_build(b, 2, 65537, &test_seed, t, NULL), 0);
}

static void test_maglev_rejects_bad_family_duplicates_and_too_many(void **st)
{
	struct sl_maglev_backend b[3];
	static sl_u16 t[4099];

	random_backends(b, 3, 1);
	b[1].family = 0;
	assert_int_equal(sl_maglev_build(b, 3, 4099, &test_seed, t, NULL),
			 -EINVAL);
	random_backends(b, 3, 1);
	b[2] = b[0];
	b[2].weight = 5;
	assert_int_equal(sl_maglev_build(b, 3, 4099, &test_seed, t, NULL),
			 -EINVAL);
	assert_int_equal(sl_maglev_build(b, SL_MAGLEV_N_MAX + 1, 4099,
					 &test_seed, t, NULL),
			 -EINVAL);
	assert_int_equal(sl_maglev_build(b, 1, 16777259, &test_seed, t, NULL),
			 -EINVAL); /* prime, above SL_MAGLEV_M_MAX */
}

static void test_maglev_prime_check_agrees_with_a_sieve(void **st)
{
	const sl_u32 lim = 200000;
	char *composite = calloc(lim, 1);
	sl_u32 i, j;

	for (i = 2; i < lim; i++)
		if (!composite[i])
			for (j = i * 2; j < lim; j += i)
				composite[j] = 1;
	for (i = 0; i < lim; i++)
		assert_int_equal(sl_maglev_is_prime(i),
				 i >= 2 && !composite[i]);
	free(composite);
	assert_true(sl_maglev_is_prime(65537));
	assert_true(sl_maglev_is_prime(655373));
	assert_false(sl_maglev_is_prime(65536));
	assert_true(sl_maglev_is_prime(4294967291u)); /* largest 32-bit prime */
	assert_false(sl_maglev_is_prime(4294967295u));
	assert_false(sl_maglev_is_prime(65521u * 65521u));
}

static void test_maglev_size_ok_wants_100_slots_per_backend(void **st)
{
	assert_true(sl_maglev_size_ok(65537, 655));
	assert_false(sl_maglev_size_ok(65537, 656));
	assert_true(sl_maglev_size_ok(655373, 6553));
	assert_true(sl_maglev_size_ok(7, 0));
}

static void test_maglev_reused_scratch_gives_the_one_shot_table(void **st)
{
	static const unsigned int ns[] = { 5, 300, 1, 1000, 40 };
	static const sl_u32 ms[] = { 65537, 251, 655373, 65537, 7 };
	struct sl_maglev_scratch *s = sl_maglev_scratch_new();
	struct sl_maglev_backend *b = calloc(1000, sizeof(*b));
	sl_u16 *t = malloc(655373 * sizeof(*t)), *ref;
	unsigned int i, k;

	assert_non_null(s);
	for (i = 0; i < SL_ARRAY_SIZE(ns); i++) {
		random_backends(b, ns[i], 1);
		for (k = 0; k < ns[i]; k++)
			b[k].weight = rng() % 4;
		b[0].weight = 3;
		assert_int_equal(sl_maglev_build_with(s, b, ns[i], ms[i],
						      &test_seed, t, NULL),
				 0);
		ref = build(b, ns[i], ms[i], NULL);
		assert_memory_equal(t, ref, ms[i] * sizeof(*t));
		free(ref);
	}
	sl_maglev_scratch_free(s);
	free(b);
	free(t);
}

/*
 * Pins the cross-node contract: a fixed config must map to this table on
 * every build and every host, forever (changing it moves every flow).
 */
static void test_maglev_table_for_a_fixed_config_never_changes(void **st)
{
	struct sl_maglev_backend b[3];
	sl_u16 t[13];
	static const sl_u16 want[13] = {
		0, 1, 0, 2, 1, 0, 1, 1, 2, 1, 2, 1, 0
	};

	memset(b, 0, sizeof(b));
	b[0].family = SL_AF_INET;
	b[0].addr.v4 = SL_BE32(0x0a000001); /* 10.0.0.1:80 */
	b[0].port = SL_BE16(80);
	b[0].weight = 1;
	b[1] = b[0];
	b[1].addr.v4 = SL_BE32(0x0a000002); /* 10.0.0.2:80, weight 2 */
	b[1].weight = 2;
	b[2].family = SL_AF_INET6;
	b[2].addr.w[0] = SL_BE32(0x20010db8); /* [2001:db8::1]:443 */
	b[2].addr.w[3] = SL_BE32(1);
	b[2].port = SL_BE16(443);
	b[2].weight = 1;
	/* sorted: 10.0.0.1 is 0, 10.0.0.2 is 1, 2001:db8::1 is 2; 4:6:3 slots */
	assert_int_equal(sl_maglev_build(b, 3, 13, &test_seed, t, NULL), 0);
	assert_memory_equal(t, want, sizeof(t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_maglev_matches_naive_paper_reference_for_equal_weights),
		cmocka_unit_test(
			test_maglev_matches_naive_reference_for_unequal_weights),
		cmocka_unit_test(
			test_maglev_table_is_identical_for_any_input_order),
		cmocka_unit_test(
			test_maglev_ipv4_identity_ignores_bytes_past_the_address),
		cmocka_unit_test(
			test_maglev_fills_every_slot_when_some_weight_is_positive),
		cmocka_unit_test(
			test_maglev_all_zero_weights_leave_every_slot_empty),
		cmocka_unit_test(test_maglev_zero_weight_backend_gets_no_slots),
		cmocka_unit_test(
			test_maglev_equal_weights_balance_within_1_percent_when_m_ge_100n),
		cmocka_unit_test(
			test_maglev_equal_weights_balance_within_2_percent_for_600_of_65537),
		cmocka_unit_test(
			test_maglev_slot_shares_follow_weights_within_1_percent),
		cmocka_unit_test(
			test_maglev_removing_one_of_n_moves_about_1_over_n),
		cmocka_unit_test(
			test_maglev_adding_one_to_n_moves_about_1_over_n),
		cmocka_unit_test(test_maglev_rejects_non_prime_m),
		cmocka_unit_test(
			test_maglev_rejects_bad_family_duplicates_and_too_many),
		cmocka_unit_test(test_maglev_prime_check_agrees_with_a_sieve),
		cmocka_unit_test(
			test_maglev_size_ok_wants_100_slots_per_backend),
		cmocka_unit_test(
			test_maglev_reused_scratch_gives_the_one_shot_table),
		cmocka_unit_test(
			test_maglev_table_for_a_fixed_config_never_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
