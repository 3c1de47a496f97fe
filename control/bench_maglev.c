/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_maglev.c: sluice-bench-maglev, the Maglev table builder's cost and
 * quality for the sizes operators use, as one table (scripts/bench.sh maglev).
 *
 * Per row (N backends x M slots, equal weights): median build time over RUNS
 * builds with a reused scratch (what sluiced does) and with a one-shot
 * sl_maglev_build (allocates per call); max/mean and min/mean slot counts;
 * the share of M that changes owner when one backend is removed or added,
 * not counting the slots of that backend itself. Targets: N = 1000,
 * M = 65537 in <= 2 ms; max/mean <= 1.01 and min/mean >= 0.99 when
 * M >= 100 N; <= 1% of M moved besides the changed backend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maglev.h"

enum { RUNS = 31, N_MAX = 1001 };

static const struct sl_hash_key seed = { 0x0706050403020100ULL,
					 0x0f0e0d0c0b0a0908ULL };

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Backend i is 10.(i >> 8).(i & 255).1:80; the same i is the same backend. */
static void backend(struct sl_maglev_backend *b, unsigned int i, sl_u32 w)
{
	memset(b, 0, sizeof(*b));
	b->family = SL_AF_INET;
	b->addr.v4 = sl_htonl(0x0a000001u | (i << 8));
	b->port = sl_htons(80);
	b->weight = w;
}

static int same(const struct sl_maglev_backend *a,
		const struct sl_maglev_backend *b)
{
	return a->addr.v4 == b->addr.v4 && a->port == b->port;
}

struct tables {
	sl_u16 *t[2];
	sl_u32 *o[2];
};

/* Percent of m that changes owner between t[0] over b0 and t[1] over b1,
 * not counting slots the changed backend owns in either. */
static double moved_pct(const struct tables *x,
			const struct sl_maglev_backend *b0,
			const struct sl_maglev_backend *b1, sl_u32 m,
			const struct sl_maglev_backend *changed)
{
	sl_u32 i, moved = 0;

	for (i = 0; i < m; i++) {
		const struct sl_maglev_backend *p = &b0[x->o[0][x->t[0][i]]];
		const struct sl_maglev_backend *q = &b1[x->o[1][x->t[1][i]]];

		if (!same(p, q) && !same(p, changed) && !same(q, changed))
			moved++;
	}
	return 100.0 * moved / m;
}

static double median_build_ms(struct sl_maglev_scratch *s,
			      const struct sl_maglev_backend *b, unsigned int n,
			      sl_u32 m, sl_u16 *t, sl_u32 *o)
{
	double ms[RUNS], t0;
	int i;

	for (i = 0; i < RUNS; i++) {
		t0 = now_ms();
		if (s)
			sl_maglev_build_with(s, b, n, m, &seed, t, o);
		else
			sl_maglev_build(b, n, m, &seed, t, o);
		ms[i] = now_ms() - t0;
	}
	qsort(ms, RUNS, sizeof(ms[0]), cmp_double);
	return ms[RUNS / 2];
}

static int row(struct sl_maglev_scratch *s, unsigned int n, sl_u32 m,
	       struct tables *x)
{
	static struct sl_maglev_backend b[N_MAX], rest[N_MAX];
	static sl_u32 cnt[N_MAX];
	sl_u32 i, mx = 0, mn = 0xffffffffu;
	double ms, ms1, hi, lo, rm, add, mean = (double)m / n;
	int err, ok = 1;
	char why[64] = "";

	for (i = 0; i < n + 1; i++)
		backend(&b[i], i, 1);
	err = sl_maglev_build_with(s, b, n, m, &seed, x->t[0], x->o[0]);
	if (err)
		return err;
	ms = median_build_ms(s, b, n, m, x->t[0], x->o[0]);
	ms1 = median_build_ms(NULL, b, n, m, x->t[0], x->o[0]);

	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < m; i++)
		cnt[x->o[0][x->t[0][i]]]++;
	for (i = 0; i < n; i++) {
		mx = cnt[i] > mx ? cnt[i] : mx;
		mn = cnt[i] < mn ? cnt[i] : mn;
	}
	hi = mx / mean;
	lo = mn / mean;

	/* remove backend n / 2 (the last one takes its place in the array) */
	memcpy(rest, b, n * sizeof(*b));
	rest[n / 2] = b[n - 1];
	err = sl_maglev_build_with(s, rest, n - 1, m, &seed, x->t[1], x->o[1]);
	if (err)
		return err;
	rm = moved_pct(x, b, rest, m, &b[n / 2]);
	/* add backend n */
	err = sl_maglev_build_with(s, b, n + 1, m, &seed, x->t[1], x->o[1]);
	if (err)
		return err;
	add = moved_pct(x, b, b, m, &b[n]);

	if (n == 1000 && m == 65537 && ms > 2.0) {
		ok = 0;
		strcat(why, " time");
	}
	if (sl_maglev_size_ok(m, n) && (hi > 1.01 || lo < 0.99)) {
		ok = 0;
		strcat(why, " balance");
	}
	if (rm > 1.0 || add > 1.0) {
		ok = 0;
		strcat(why, " moved");
	}
	printf("| %5u | %7u | %8.3f | %8.3f | %8.4f | %8.4f | %9.3f | %9.3f | "
	       "%-3s%s |\n",
	       n, m, ms, ms1, hi, lo, rm, add, ok ? "yes" : "no", why);
	return ok ? 0 : 1;
}

/*
 * Worst |share - want| / want over n backends weighted 1, 2, 3, 4, 1, ...
 * or, skewed, all 1 but backend 0 at n (the calendar schedule).
 */
static int weights_row(struct sl_maglev_scratch *s, unsigned int n, sl_u32 m,
		       int skewed, struct tables *x)
{
	static struct sl_maglev_backend b[N_MAX];
	static sl_u32 cnt[N_MAX];
	double worst = 0, ms;
	sl_u64 wsum = 0;
	sl_u32 i;
	int err;

	for (i = 0; i < n; i++) {
		backend(&b[i], i, skewed ? (i ? 1 : n) : 1 + i % 4);
		wsum += b[i].weight;
	}
	err = sl_maglev_build_with(s, b, n, m, &seed, x->t[0], x->o[0]);
	if (err)
		return err;
	ms = median_build_ms(s, b, n, m, x->t[0], x->o[0]);
	memset(cnt, 0, sizeof(cnt));
	for (i = 0; i < m; i++)
		cnt[x->o[0][x->t[0][i]]]++;
	for (i = 0; i < n; i++) {
		double want = (double)m * b[i].weight / wsum;
		double dev =
			(cnt[i] > want ? cnt[i] - want : want - cnt[i]) / want;

		worst = dev > worst ? dev : worst;
	}
	printf("| weights %s x %u, M = %u: build %.3f ms, worst deviation from "
	       "weight share %.3f%% | %s |\n",
	       skewed ? "N,1,1,..." : "1,2,3,4,...", n, m, ms, 100 * worst,
	       worst <= 0.01 ? "yes" : "no");
	return worst <= 0.01 ? 0 : 1;
}

int main(void)
{
	static const unsigned int ns[] = { 10, 100, 1000 };
	static const sl_u32 ms[] = { 65537, 655373 };
	struct sl_maglev_scratch *s = sl_maglev_scratch_new();
	struct tables x;
	unsigned int i, j;
	int err, fails = 0;

	x.t[0] = malloc(655373 * sizeof(sl_u16));
	x.t[1] = malloc(655373 * sizeof(sl_u16));
	x.o[0] = malloc(N_MAX * sizeof(sl_u32));
	x.o[1] = malloc(N_MAX * sizeof(sl_u32));
	if (!s || !x.t[0] || !x.t[1] || !x.o[0] || !x.o[1]) {
		fprintf(stderr, "sluice-bench-maglev: %s\n", strerror(ENOMEM));
		return 2;
	}
	printf("Maglev table build: equal weights, median of %d builds\n"
	       "(build ms: reused scratch, as sluiced does; one-shot ms: "
	       "sl_maglev_build, allocating)\n\n",
	       RUNS);
	printf("| N     | M       | build ms | one-shot | max/mean | min/mean "
	       "| %% mv rm   | %% mv add  | target met |\n");
	printf("|-------|---------|----------|----------|----------|----------|"
	       "-----------|-----------|------------|\n");
	for (i = 0; i < SL_ARRAY_SIZE(ns); i++) {
		for (j = 0; j < SL_ARRAY_SIZE(ms); j++) {
			err = row(s, ns[i], ms[j], &x);
			if (err < 0) {
				fprintf(stderr,
					"sluice-bench-maglev: N %u M %u: %s\n",
					ns[i], ms[j], strerror(-err));
				return 2;
			}
			fails += err;
		}
	}
	printf("\n");
	fails += weights_row(s, 4, 65537, 0, &x) != 0;
	fails += weights_row(s, 100, 65537, 0, &x) != 0;
	fails += weights_row(s, 1000, 655373, 1, &x) != 0;
	printf("\n%% mv rm / add: share of M that changes owner when one "
	       "backend is removed / added,\n"
	       "besides that backend's own slots.\n"
	       "Targets: N=1000 M=65537 <= 2 ms; max/mean <= 1.01 and min/mean "
	       ">= 0.99 when M >= 100 N;\n"
	       "<= 1%% of M moved; weight share within 1%%.\n");
	sl_maglev_scratch_free(s);
	free(x.t[0]);
	free(x.t[1]);
	free(x.o[0]);
	free(x.o[1]);
	return fails ? 1 : 0;
}
