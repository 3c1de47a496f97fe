/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * maglev.c: builds weighted Maglev lookup tables.
 *
 * Role: turn a VIP's backend set into the M-entry table the dataplanes index
 * with hash(5-tuple) % M. Invariants: the table depends only on the set of
 * (identity, weight) pairs, M and the seed (the input is sorted by identity
 * first); every entry is filled when some weight is > 0; a backend of weight 0
 * owns no entry. Called from sluiced's main thread; a scratch is used by one
 * build at a time.
 *
 * Cost: the paper's fill takes about M ln M probes. Probing tests a bitmap of
 * used slots (8 KiB for M = 65537, so it stays in L1) rather than the table,
 * and walks each permutation by addition with one conditional subtraction, so
 * the loop has no division. Per-backend state (slot cursor, skip, schedule)
 * sits in one 32-byte struct.
 *
 * Weights (see maglev.h for the rule): a backend's turns fall in rounds
 * floor(k * wmax / w), computed incrementally without division. Two
 * schedules give the same turns in the same order: the dense one visits
 * every backend in every round, which is the fastest for equal or similar
 * weights but costs rounds x N, quadratic when one weight dwarfs the rest;
 * the calendar one keeps each backend in the bucket of the round of its next
 * turn, O(M + N + rounds) besides the probing. Within a round turns go in
 * sorted order; buckets are appended in order and sorted only when an append
 * broke the order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

#define NONE 0xffffffffu

/* One backend's state while filling, in sorted-position space. */
struct perm {
	sl_u32 pos; /* next preferred slot to try */
	sl_u32 skip;
	sl_u32 w;
	sl_u32 q;     /* wmax / w */
	sl_u32 r;     /* wmax % w */
	sl_u32 acc;   /* (turns * r) % w, for the next round without dividing */
	sl_u32 round; /* round of the next turn; NONE once past the last */
	sl_u32 link;  /* next backend in the same round's bucket */
};
SL_STATIC_ASSERT(sizeof(struct perm) == 32, "two backends per cache line");

struct ent {
	sl_u8 id[SL_MAGLEV_ID_LEN];
	sl_u32 idx; /* caller's index */
};

struct sl_maglev_scratch {
	unsigned int n_cap;
	struct perm *perm; /* n_cap; one block with ent and cur */
	struct ent *ent;   /* n_cap, sorted by identity */
	sl_u32 *cur;	   /* n_cap: the backends of the current round */
	sl_u32 m_cap;
	sl_u64 *used; /* bitmap of filled slots, m_cap bits */
	sl_u32 r_cap;
	sl_u32 *head;	 /* r_cap: first backend of each round's bucket; */
	sl_u32 *tail;	 /* one block with tail and unsorted */
	sl_u8 *unsorted; /* r_cap: an append broke sorted order */
};

struct sl_maglev_scratch *sl_maglev_scratch_new(void)
{
	return calloc(1, sizeof(struct sl_maglev_scratch));
}

void sl_maglev_scratch_free(struct sl_maglev_scratch *s)
{
	if (!s)
		return;
	free(s->perm);
	free(s->used);
	free(s->head);
	free(s->unsorted);
	free(s);
}

/* A cache-line aligned block replacing old (freed on success only). */
static void *regrow(void *old, size_t bytes)
{
	void *p = aligned_alloc(64, (bytes + 64) & ~(size_t)63);

	if (p)
		free(old);
	return p;
}

/* Grow the scratch for n backends, m slots, nr rounds; contents are lost. */
static int reserve(struct sl_maglev_scratch *s, unsigned int n, sl_u32 m,
		   sl_u32 nr)
{
	void *p;

	if (n > s->n_cap) {
		p = regrow(s->perm, n * (sizeof(struct perm) +
					 sizeof(struct ent) + sizeof(sl_u32)));
		if (!p)
			return -ENOMEM;
		s->perm = p;
		s->ent = (struct ent *)(s->perm + n);
		s->cur = (sl_u32 *)(s->ent + n);
		s->n_cap = n;
	}
	if (m > s->m_cap) {
		p = regrow(s->used, (m + 63) / 64 * sizeof(sl_u64));
		if (!p)
			return -ENOMEM;
		s->used = p;
		s->m_cap = m;
	}
	if (nr > s->r_cap) {
		p = regrow(s->head, nr * 2 * sizeof(sl_u32));
		if (!p)
			return -ENOMEM;
		s->head = p;
		s->tail = s->head + nr;
		p = regrow(s->unsorted, nr);
		if (!p)
			return -ENOMEM;
		s->unsorted = p;
		s->r_cap = nr;
	}
	return 0;
}

void sl_maglev_identity(const struct sl_maglev_backend *b,
			sl_u8 id[SL_MAGLEV_ID_LEN])
{
	memset(id, 0, SL_MAGLEV_ID_LEN);
	id[0] = b->family;
	memcpy(id + 1, b->addr.b, b->family == SL_AF_INET ? 4 : 16);
	memcpy(id + 17, &b->port, 2);
}

bool sl_maglev_is_prime(sl_u32 m)
{
	sl_u32 d;

	if (m < 4)
		return m >= 2;
	if (m % 2 == 0 || m % 3 == 0)
		return false;
	for (d = 5; (sl_u64)d * d <= m; d += 6)
		if (m % d == 0 || m % (d + 2) == 0)
			return false;
	return true;
}

bool sl_maglev_size_ok(sl_u32 m, unsigned int n)
{
	return (sl_u64)m >= 100 * (sl_u64)n;
}

static int cmp_ent(const void *a, const void *b)
{
	return memcmp(((const struct ent *)a)->id, ((const struct ent *)b)->id,
		      SL_MAGLEV_ID_LEN);
}

static int cmp_u32(const void *a, const void *b)
{
	sl_u32 x = *(const sl_u32 *)a, y = *(const sl_u32 *)b;

	return (x > y) - (x < y);
}

/* Sort the input by identity into s->ent; -EINVAL on a bad or repeated one. */
static int sort_backends(struct sl_maglev_scratch *s,
			 const struct sl_maglev_backend *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (b[i].family != SL_AF_INET && b[i].family != SL_AF_INET6)
			return -EINVAL;
		sl_maglev_identity(&b[i], s->ent[i].id);
		s->ent[i].idx = i;
	}
	qsort(s->ent, n, sizeof(*s->ent), cmp_ent);
	for (i = 1; i < n; i++)
		if (!cmp_ent(&s->ent[i - 1], &s->ent[i]))
			return -EINVAL;
	return 0;
}

/* Set up a backend's permutation; its first turn is in round 0. */
static void perm_init(struct perm *p, const sl_u8 *id, sl_u32 w, sl_u32 wmax,
		      sl_u32 m, const struct sl_hash_key *seed)
{
	struct sl_hash_key ko = { seed->k0 ^ SL_MAGLEV_TWEAK_OFFSET, seed->k1 };
	struct sl_hash_key ks = { seed->k0 ^ SL_MAGLEV_TWEAK_SKIP, seed->k1 };

	p->pos = (sl_u32)(sl_siphash13(id, SL_MAGLEV_ID_LEN, &ko) % m);
	p->skip =
		(sl_u32)(sl_siphash13(id, SL_MAGLEV_ID_LEN, &ks) % (m - 1)) + 1;
	p->w = w;
	p->q = wmax / w;
	p->r = wmax % w;
	p->acc = 0;
	p->round = 0;
	p->link = NONE;
}

/*
 * Advance to the round of the next turn: floor(k * wmax / w) for turn k is
 * k * q + floor(k * r / w), kept incrementally. Rounds >= nr are never run.
 */
static void perm_reschedule(struct perm *p, sl_u32 nr)
{
	sl_u64 round = (sl_u64)p->round + p->q;

	if (p->acc >= p->w - p->r) {
		p->acc -= p->w - p->r;
		round++;
	} else {
		p->acc += p->r;
	}
	p->round = round < nr ? (sl_u32)round : NONE;
}

/* Backend k's turn: claim its next free preferred slot. */
static SL_ALWAYS_INLINE void take_turn(struct perm *p, sl_u32 k, sl_u64 *used,
				       sl_u16 *table, sl_u32 m)
{
	sl_u32 pos = p->pos, skip = p->skip;

	while (used[pos >> 6] & (1ULL << (pos & 63))) {
		pos += skip;
		if (pos >= m)
			pos -= m;
	}
	used[pos >> 6] |= 1ULL << (pos & 63);
	table[pos] = (sl_u16)k;
	pos += skip;
	if (pos >= m)
		pos -= m;
	p->pos = pos;
}

static void enqueue(struct sl_maglev_scratch *s, sl_u32 k, sl_u32 round)
{
	s->perm[k].link = NONE;
	if (s->head[round] == NONE) {
		s->head[round] = k;
	} else {
		s->perm[s->tail[round]].link = k;
		if (k < s->tail[round])
			s->unsorted[round] = 1;
	}
	s->tail[round] = k;
}

/*
 * Dense schedule: every round visits the c active backends (s->cur, sorted)
 * and those due take their turn. Cheapest when most are due every round.
 */
static int fill_dense(struct sl_maglev_scratch *s, sl_u32 c, sl_u16 *table,
		      sl_u32 m, sl_u32 nr)
{
	sl_u32 filled = 0, r, i;

	for (r = 0; r < nr; r++) {
		for (i = 0; i < c; i++) {
			struct perm *p = &s->perm[s->cur[i]];

			if (p->round != r)
				continue;
			take_turn(p, s->cur[i], s->used, table, m);
			if (++filled == m)
				return 0;
			perm_reschedule(p, nr);
		}
	}
	/* Unreachable: by round nr - 1 at least m turns have been taken. */
	return -EINVAL;
}

/*
 * Calendar schedule: each backend waits in the bucket of the round of its
 * next turn, so a round costs only the backends due in it.
 */
static int fill_calendar(struct sl_maglev_scratch *s, sl_u32 c, sl_u16 *table,
			 sl_u32 m, sl_u32 nr)
{
	sl_u32 filled = 0, r, i, k;

	memset(s->head, 0xff, nr * sizeof(*s->head));
	memset(s->unsorted, 0, nr);
	for (i = 0; i < c; i++)
		enqueue(s, s->cur[i], 0);
	for (r = 0; r < nr; r++) {
		for (c = 0, k = s->head[r]; k != NONE; k = s->perm[k].link)
			s->cur[c++] = k;
		if (s->unsorted[r])
			qsort(s->cur, c, sizeof(*s->cur), cmp_u32);
		for (i = 0; i < c; i++) {
			struct perm *p = &s->perm[s->cur[i]];

			take_turn(p, s->cur[i], s->used, table, m);
			if (++filled == m)
				return 0;
			perm_reschedule(p, nr);
			if (p->round != NONE)
				enqueue(s, s->cur[i], p->round);
		}
	}
	return -EINVAL;
}

int sl_maglev_build_with(struct sl_maglev_scratch *s,
			 const struct sl_maglev_backend *b, unsigned int n,
			 sl_u32 m, const struct sl_hash_key *seed,
			 sl_u16 *table, sl_u32 *order)
{
	sl_u64 wsum = 0;
	sl_u32 wmax = 0, nr, i, c;
	bool calendar;
	int err;

	if (!s || (n && !b) || !seed || !table || n > SL_MAGLEV_N_MAX ||
	    m > SL_MAGLEV_M_MAX || !sl_maglev_is_prime(m))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		wsum += b[i].weight;
		if (b[i].weight > wmax)
			wmax = b[i].weight;
	}
	/*
	 * By the end of round r at least (r + 1) * wsum / wmax turns are taken,
	 * so ceil(m * wmax / wsum) rounds fill the table; at most m, since the
	 * heaviest backend takes a turn every round.
	 */
	nr = wsum ? (sl_u32)(((sl_u64)m * wmax + wsum - 1) / wsum) : 0;
	/*
	 * The dense schedule costs nr x active visits, which is about
	 * m * wmax / mean weight: fine for equal or similar weights, quadratic
	 * when one weight dwarfs the rest. Past 4 m visits use the calendar.
	 */
	calendar = (sl_u64)nr * n > 4 * (sl_u64)m;
	err = reserve(s, n, m, calendar ? nr : 0);
	if (err)
		return err;
	err = sort_backends(s, b, n);
	if (err)
		return err;
	if (order)
		for (i = 0; i < n; i++)
			order[i] = s->ent[i].idx;
	if (!wsum) {
		for (i = 0; i < m; i++)
			table[i] = SL_MAGLEV_EMPTY;
		return 0;
	}

	memset(s->used, 0, (m + 63) / 64 * sizeof(*s->used));
	for (c = 0, i = 0; i < n; i++) {
		sl_u32 w = b[s->ent[i].idx].weight;

		if (!w)
			continue;
		perm_init(&s->perm[i], s->ent[i].id, w, wmax, m, seed);
		s->cur[c++] = i;
	}
	if (calendar)
		return fill_calendar(s, c, table, m, nr);
	return fill_dense(s, c, table, m, nr);
}

int sl_maglev_build(const struct sl_maglev_backend *b, unsigned int n, sl_u32 m,
		    const struct sl_hash_key *seed, sl_u16 *table,
		    sl_u32 *order)
{
	struct sl_maglev_scratch *s = sl_maglev_scratch_new();
	int err;

	if (!s)
		return -ENOMEM;
	err = sl_maglev_build_with(s, b, n, m, seed, table, order);
	sl_maglev_scratch_free(s);
	return err;
}
