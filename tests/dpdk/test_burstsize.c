/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_burstsize.c: a worker's RX burst size (dataplane/burstsize.h) goes
 * to the size that takes fewer cycles per packet, only when it wins by the
 * margin, only on full bursts, and stays put when the worker is not busy
 * enough to finish a probe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "burstsize.h"

#define HZ 1000000000ull /* a 1 GHz TSC: one cycle a nanosecond */
#define MS (HZ / 1000)

/*
 * Feeds full bursts until the probe ends: small ones at small_cpp cycles
 * a packet, large ones at large_cpp, 1 us apart. Returns the TSC at the
 * end.
 */
static uint64_t run_probe(struct sl_bsz *b, uint64_t now, uint64_t small_cpp,
			  uint64_t large_cpp)
{
	unsigned int guard = 0;

	while (sl_bsz_probing(b)) {
		uint64_t cpp = b->size == SL_BSZ_SMALL ? small_cpp : large_cpp;

		now += 1000;
		sl_bsz_sample(b, b->size, cpp * b->size, now);
		assert_true(++guard < 10000);
	}
	return now;
}

static void test_first_probe_waits_then_starts_small(void **state)
{
	struct sl_bsz b;

	(void)state;
	sl_bsz_init(&b, HZ, 0);
	assert_int_equal(b.size, SL_BSZ_LARGE);
	sl_bsz_tick(&b, SL_BSZ_FIRST_MS * MS - 1);
	assert_false(sl_bsz_probing(&b));
	sl_bsz_tick(&b, SL_BSZ_FIRST_MS * MS);
	assert_true(sl_bsz_probing(&b));
	assert_int_equal(b.size, SL_BSZ_SMALL);
}

static void test_switches_to_the_size_with_fewer_cycles(void **state)
{
	struct sl_bsz b;
	uint64_t now = SL_BSZ_FIRST_MS * MS;

	(void)state;
	sl_bsz_init(&b, HZ, 0);
	sl_bsz_tick(&b, now);
	/* Small 10% cheaper: switch to it. */
	now = run_probe(&b, now, 90, 100);
	assert_int_equal(b.size, SL_BSZ_SMALL);
	assert_int_equal(b.chosen, SL_BSZ_SMALL);
	assert_int_equal(b.switches, 1);
	assert_int_equal(b.probes, 1);
	/* Nothing until the period has passed. */
	sl_bsz_tick(&b, now + SL_BSZ_PERIOD_MS * MS - 1);
	assert_false(sl_bsz_probing(&b));
	now += SL_BSZ_PERIOD_MS * MS;
	sl_bsz_tick(&b, now);
	assert_true(sl_bsz_probing(&b));
	/* The traffic changed: large 13% cheaper, back to it. */
	now = run_probe(&b, now, 100, 87);
	assert_int_equal(b.size, SL_BSZ_LARGE);
	assert_int_equal(b.switches, 2);
	assert_int_equal(b.probes, 2);
}

static void test_a_small_difference_does_not_switch(void **state)
{
	struct sl_bsz b;
	uint64_t now = SL_BSZ_FIRST_MS * MS;

	(void)state;
	sl_bsz_init(&b, HZ, 0);
	sl_bsz_tick(&b, now);
	/* 1% better is within the margin: the size stays. */
	now = run_probe(&b, now, 99, 100);
	assert_int_equal(b.chosen, SL_BSZ_LARGE);
	assert_int_equal(b.size, SL_BSZ_LARGE);
	assert_int_equal(b.switches, 0);
	assert_int_equal(b.probes, 1);
	/* Nor does equal. */
	sl_bsz_tick(&b, now + SL_BSZ_PERIOD_MS * MS);
	run_probe(&b, now + SL_BSZ_PERIOD_MS * MS, 100, 100);
	assert_int_equal(b.switches, 0);
}

static void test_partial_bursts_do_not_count(void **state)
{
	struct sl_bsz b;
	uint64_t now = SL_BSZ_FIRST_MS * MS;
	unsigned int i, left;

	(void)state;
	sl_bsz_init(&b, HZ, 0);
	sl_bsz_tick(&b, now);
	left = b.left;
	/* Short bursts, even very cheap ones, leave the probe where it is. */
	for (i = 0; i < 1000; i++)
		sl_bsz_sample(&b, b.size - 1, 1, ++now);
	assert_true(sl_bsz_probing(&b));
	assert_int_equal(b.left, left);
	assert_int_equal(b.pkts[0], 0);
	/* Full ones then decide: large cheaper, no switch (it holds). */
	run_probe(&b, now, 100, 80);
	assert_int_equal(b.chosen, SL_BSZ_LARGE);
	assert_int_equal(b.switches, 0);
}

static void test_a_probe_that_cannot_finish_is_abandoned(void **state)
{
	struct sl_bsz b;
	uint64_t now = SL_BSZ_FIRST_MS * MS;

	(void)state;
	sl_bsz_init(&b, HZ, 0);
	sl_bsz_tick(&b, now);
	/* A few full bursts, then the traffic thins out. */
	sl_bsz_sample(&b, b.size, 10 * b.size, now + 1000);
	sl_bsz_sample(&b, 3, 50, now + SL_BSZ_TIMEOUT_MS * MS + 1);
	assert_false(sl_bsz_probing(&b));
	assert_int_equal(b.size, SL_BSZ_LARGE);
	assert_int_equal(b.probes, 0);
	assert_int_equal(b.switches, 0);
	/* And the next one comes a period later. */
	now += SL_BSZ_TIMEOUT_MS * MS + 1;
	sl_bsz_tick(&b, now + SL_BSZ_PERIOD_MS * MS - 1);
	assert_false(sl_bsz_probing(&b));
	sl_bsz_tick(&b, now + SL_BSZ_PERIOD_MS * MS);
	assert_true(sl_bsz_probing(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_probe_waits_then_starts_small),
		cmocka_unit_test(test_switches_to_the_size_with_fewer_cycles),
		cmocka_unit_test(test_a_small_difference_does_not_switch),
		cmocka_unit_test(test_partial_bursts_do_not_count),
		cmocka_unit_test(test_a_probe_that_cannot_finish_is_abandoned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
