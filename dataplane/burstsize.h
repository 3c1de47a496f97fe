/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * burstsize.h: a worker's RX burst, 32 or 64 packets, picked by measuring
 * its own cycles per packet. No DPDK in here (tests/dpdk/test_burstsize.c).
 *
 * Which is faster depends on the traffic, not on anything a config could
 * say: with a flow table whose live entries miss the caches (1M flows),
 * 64 packets a burst keep twice the misses in flight and are ~13% faster;
 * with flows that fit the caches (1k), 32 leave the L1 cache the packets,
 * mbufs and flow entries of a burst and are ~5% faster (bench.sh dpdk).
 * So once a second, while the worker is saturated, it times full bursts
 * of each size in turn (small, large, small, large: a change of traffic
 * during the probe falls on both) and keeps the size with fewer cycles
 * per packet; the other one has to win by SL_BSZ_MARGIN_PCT to replace
 * it, so noise does not make it flap. A probe that does not get its full
 * bursts within SL_BSZ_TIMEOUT_MS (the worker is not saturated, and then
 * the size hardly matters) is abandoned and the size stays.
 *
 * The caller times rx-to-tx of a poll with the TSC only while
 * sl_bsz_probing() and hands the result to sl_bsz_sample().
 */
#ifndef SLUICE_DP_BURSTSIZE_H
#define SLUICE_DP_BURSTSIZE_H

#include <stdbool.h>
#include <stdint.h>

#define SL_BSZ_SMALL 32
#define SL_BSZ_LARGE 64
#define SL_BSZ_PHASES 4		/* small, large, small, large */
#define SL_BSZ_PHASE_PKTS 16384 /* full-burst packets timed per phase */
#define SL_BSZ_MARGIN_PCT 2	/* the other size must be this much faster */
#define SL_BSZ_PERIOD_MS 1000	/* between probes */
#define SL_BSZ_FIRST_MS 200	/* to the first probe */
#define SL_BSZ_TIMEOUT_MS 50	/* a probe's longest */

struct sl_bsz {
	uint16_t size;	  /* the burst asked of rx now */
	uint16_t chosen;  /* the size kept between probes */
	uint8_t phase;	  /* of the probe; SL_BSZ_PHASES: none running */
	uint32_t left;	  /* full bursts still to time in this phase */
	uint64_t cyc[2];  /* cycles timed: small, large */
	uint64_t pkts[2]; /* packets timed */
	uint64_t start;	  /* TSC at the probe's start */
	uint64_t next;	  /* TSC of the next probe */
	uint64_t period, first, timeout; /* in TSC cycles */
	uint64_t probes;		 /* probes completed */
	uint64_t switches;		 /* times the chosen size changed */
};

static inline uint16_t sl_bsz__phase_size(unsigned int phase)
{
	return (phase & 1) ? SL_BSZ_LARGE : SL_BSZ_SMALL;
}

static inline void sl_bsz_init(struct sl_bsz *b, uint64_t tsc_hz, uint64_t now)
{
	*b = (struct sl_bsz){
		.size = SL_BSZ_LARGE,
		.chosen = SL_BSZ_LARGE,
		.phase = SL_BSZ_PHASES,
		.period = tsc_hz / 1000 * SL_BSZ_PERIOD_MS,
		.first = tsc_hz / 1000 * SL_BSZ_FIRST_MS,
		.timeout = tsc_hz / 1000 * SL_BSZ_TIMEOUT_MS,
	};
	b->next = now + b->first;
}

static inline bool sl_bsz_probing(const struct sl_bsz *b)
{
	return b->phase < SL_BSZ_PHASES;
}

static inline void sl_bsz__enter(struct sl_bsz *b, unsigned int phase)
{
	b->phase = (uint8_t)phase;
	b->size = sl_bsz__phase_size(phase);
	b->left = SL_BSZ_PHASE_PKTS / b->size;
}

/* Once a loop: starts a probe when one is due. */
static inline void sl_bsz_tick(struct sl_bsz *b, uint64_t now)
{
	if (now < b->next || sl_bsz_probing(b))
		return;
	b->cyc[0] = b->cyc[1] = b->pkts[0] = b->pkts[1] = 0;
	b->start = now;
	sl_bsz__enter(b, 0);
}

static inline void sl_bsz__end(struct sl_bsz *b, uint64_t now, bool done)
{
	if (done) {
		/* cycles per packet: small cyc0/pkts0, large cyc1/pkts1; the
		 * challenger's must be below (100 - margin)% of the holder's. */
		unsigned int hold = b->chosen == SL_BSZ_LARGE;
		unsigned int chal = !hold;
		unsigned __int128 c =
			(unsigned __int128)b->cyc[chal] * b->pkts[hold] * 100;
		unsigned __int128 h = (unsigned __int128)b->cyc[hold] *
				      b->pkts[chal] * (100 - SL_BSZ_MARGIN_PCT);

		if (c < h) {
			b->chosen = chal ? SL_BSZ_LARGE : SL_BSZ_SMALL;
			b->switches++;
		}
		b->probes++;
	}
	b->size = b->chosen;
	b->phase = SL_BSZ_PHASES;
	b->next = now + b->period;
}

/*
 * A poll of `got` packets, asked for b->size, that took `cycles` from RX to
 * TX, ending at TSC now. Only full bursts count: a partial one measures
 * the traffic, not the burst.
 */
static inline void sl_bsz_sample(struct sl_bsz *b, unsigned int got,
				 uint64_t cycles, uint64_t now)
{
	unsigned int k;

	if (!sl_bsz_probing(b))
		return;
	if (now - b->start > b->timeout) {
		sl_bsz__end(b, now, false);
		return;
	}
	if (got != b->size)
		return;
	k = b->phase & 1;
	b->cyc[k] += cycles;
	b->pkts[k] += got;
	if (--b->left)
		return;
	if (b->phase + 1u < SL_BSZ_PHASES)
		sl_bsz__enter(b, b->phase + 1u);
	else
		sl_bsz__end(b, now, true);
}

#endif /* SLUICE_DP_BURSTSIZE_H */
