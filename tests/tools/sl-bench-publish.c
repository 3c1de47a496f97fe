/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sl-bench-publish: how long a table update takes to reach every lcore of a
 * running sluice-dp (scripts/bench.sh control).
 *
 *   sl-bench-publish -c CONFIG --shm PATH [-n ITERATIONS] [--vip NAME]
 *                    [--lcores ROWS] [--wait-dp SECONDS] [--gap-us US]
 *
 * Creates (or re-attaches to) the shared memory at PATH, sized for exactly
 * what CONFIG needs and ROWS quiescent-state rows (default 4), publishes
 * CONFIG, then waits up to --wait-dp seconds (default 20) for a dataplane
 * to attach and report that generation from every online lcore. Then, ITERATIONS times
 * (default 200): marks one backend of VIP NAME (default: the first VIP; the
 * backend in the middle of its list) down, or up again on the next round,
 * as a health verdict would, and measures with CLOCK_MONOTONIC
 *
 *   build        the sl_publish_config() call: publisher input from the
 *                config, ids, the Maglev rebuild of the changed VIP (the
 *                others are copied from the publisher's cache), writing the
 *                inactive slot, and the release store of the generation;
 *   propagation  from its return (the store is its last shared write) until
 *                every online qs row reports seen >= the new generation,
 *                spin-polled;
 *   total        build + propagation.
 *
 * Between rounds it sleeps --gap-us (default 2000) plus up to as much again
 * at random, so the store lands anywhere in the lcore's loop.
 *
 * Prints one line of key=value pairs on stdout (times in microseconds):
 *   samples= lcores= vips= backends= init_ms= built= copied=
 *   build_med= build_p99= build_max= prop_med= prop_p99= prop_max=
 *   total_med= total_p99= total_max= timeouts=
 * and a summary on stderr. A round whose propagation takes over 1 s counts
 * as a timeout (and in the maxima as 1 s). Exit status 0, 1 on error
 * (including no dataplane attached).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "publish.h"

#define PROP_TIMEOUT_NS 1000000000ULL

static sl_u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sl_u64)ts.tv_sec * 1000000000ULL + (sl_u64)ts.tv_nsec;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Online rows; *lagging = rows still before gen. */
static unsigned int rows(const struct sl_shm_header *h, sl_u64 gen,
			 unsigned int *lagging)
{
	unsigned int i, n = 0;

	*lagging = 0;
	for (i = 0; i < SL_MAX_LCORES; i++) {
		if (!__atomic_load_n(&h->qs[i].online, __ATOMIC_ACQUIRE))
			continue;
		n++;
		if (__atomic_load_n(&h->qs[i].seen, __ATOMIC_ACQUIRE) < gen)
			(*lagging)++;
	}
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	sl_u64 x = *(const sl_u64 *)a, y = *(const sl_u64 *)b;

	return x < y ? -1 : x > y;
}

/* Sorts v; median, p99 (nearest rank), max in microseconds. */
static void stats(sl_u64 *v, unsigned int n, double *med, double *p99,
		  double *max)
{
	unsigned int r;

	qsort(v, n, sizeof(*v), cmp_u64);
	*med = (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) / 1e3;
	r = (99 * n + 99) / 100; /* ceil(0.99 n) */
	*p99 = v[(r ? r : 1) - 1] / 1e3;
	*max = v[n - 1] / 1e3;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sl-bench-publish -c CONFIG --shm PATH [-n ITERATIONS] "
		"[--vip NAME]\n"
		"                        [--lcores ROWS] [--wait-dp SECONDS] "
		"[--gap-us US]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "shm", required_argument, NULL, 's' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "vip", required_argument, NULL, 'v' },
		{ "lcores", required_argument, NULL, 'l' },
		{ "wait-dp", required_argument, NULL, 'w' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg_path = NULL, *shm_path = NULL, *vip_name = NULL;
	unsigned int iters = 200, n_rows = 4, wait_dp = 20, gap_us = 2000;
	struct sl_config *cfg = NULL;
	struct sl_shm *shm = NULL;
	struct sl_publisher *pub = NULL;
	struct sl_shm_header *h;
	struct sl_shm_caps caps;
	struct sl_publish_info info;
	struct sl_pub_override ov;
	const struct sl_config_vip *cv = NULL;
	const struct sl_config_backend *cb;
	sl_u64 *build = NULL, *prop = NULL, *total = NULL, t0, t1, t2, gen;
	sl_u64 built = 0, copied = 0, init_ns;
	unsigned int i, online = 0, lag, timeouts = 0, min_online = ~0u;
	double bm, bp, bx, pm, pp, px, tm, tp, tx;
	char err[512];
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "c:n:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cfg_path = optarg;
			break;
		case 's':
			shm_path = optarg;
			break;
		case 'n':
			iters = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'v':
			vip_name = optarg;
			break;
		case 'l':
			n_rows = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			wait_dp = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			gap_us = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!cfg_path || !shm_path || optind != argc || !iters || !n_rows ||
	    n_rows > SL_MAX_LCORES) {
		usage(stderr);
		return 1;
	}
	cfg = sl_config_load(cfg_path, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "sl-bench-publish: %s\n", err);
		return 1;
	}
	for (i = 0; i < cfg->n_vips && !cv; i++)
		if (!vip_name || !strcmp(cfg->vips[i].name, vip_name))
			cv = &cfg->vips[i];
	if (!cv || !cv->n_backends) {
		fprintf(stderr, "sl-bench-publish: no VIP %s with backends\n",
			vip_name ? vip_name : "");
		goto out;
	}
	cb = &cv->backends[cv->n_backends / 2];
	memset(&ov, 0, sizeof(ov));
	ov.vip = cv->name;
	ov.addr = cb->addr;
	ov.family = cb->family;
	ov.port = sl_htons(cb->port);
	ov.weight = -1;

	sl_shm_caps_for_config(cfg, true, &caps);
	caps.max_lcores = n_rows;
	shm = sl_shm_create(cfg->instance, &caps, shm_path, err, sizeof(err));
	if (!shm)
		goto fail;
	h = sl_shm_header(shm);
	pub = sl_publisher_new(shm, err, sizeof(err));
	if (!pub)
		goto fail;
	sl_publisher_set_wait(pub, 2000);
	t0 = mono_ns();
	if (sl_publish_config(pub, cfg, NULL, 0, err, sizeof(err)) < 0)
		goto fail;
	init_ns = mono_ns() - t0;
	sl_publisher_info(pub, &info);
	fprintf(stderr,
		"sl-bench-publish: %s: %u vips, %u backends, first "
		"publish %.1f ms (%u Maglev tables built); waiting for a "
		"dataplane\n",
		cfg_path, info.vips, info.backends, init_ns / 1e6,
		info.maglev_built);

	/* A dataplane attached, with every online row on our generation. */
	t0 = mono_ns();
	for (;;) {
		struct timespec nap = { 0, 10000000 };

		sl_shm_heartbeat(shm);
		gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
		if (sl_shm_dp_alive(h)) {
			online = rows(h, gen, &lag);
			if (online && !lag)
				break;
		}
		if (mono_ns() - t0 > (sl_u64)wait_dp * 1000000000ULL) {
			snprintf(err, sizeof(err),
				 "no dataplane reported generation %llu within "
				 "%u s (dp pid %llu, %u online rows)",
				 (unsigned long long)gen, wait_dp,
				 (unsigned long long)h->dp_pid, online);
			goto fail;
		}
		nanosleep(&nap, NULL);
	}
	fprintf(stderr,
		"sl-bench-publish: dataplane pid %llu, %u online "
		"lcore rows; %u rounds flipping %s backend %u of %u\n",
		(unsigned long long)h->dp_pid, online, iters, cv->name,
		cv->n_backends / 2, cv->n_backends);

	build = calloc(iters, sizeof(*build));
	prop = calloc(iters, sizeof(*prop));
	total = calloc(iters, sizeof(*total));
	if (!build || !prop || !total) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	srand((unsigned int)mono_ns());
	for (i = 0; i < iters; i++) {
		struct timespec gap;
		sl_u64 us = gap_us + (gap_us ? (sl_u64)rand() % gap_us : 0);

		gap.tv_sec = (time_t)(us / 1000000);
		gap.tv_nsec = (long)(us % 1000000) * 1000;
		nanosleep(&gap, NULL);
		ov.state = (i % 2) ? SL_BACKEND_UP : SL_BACKEND_DOWN;
		t0 = mono_ns();
		if (sl_publish_config(pub, cfg, &ov, 1, err, sizeof(err)) < 0)
			goto fail;
		t1 = mono_ns();
		sl_publisher_info(pub, &info);
		gen = info.gen;
		built += info.maglev_built;
		copied += info.maglev_copied;
		for (;;) {
			online = rows(h, gen, &lag);
			t2 = mono_ns();
			if (!lag)
				break;
			if (t2 - t1 > PROP_TIMEOUT_NS) {
				timeouts++;
				break;
			}
			cpu_relax();
		}
		if (online < min_online)
			min_online = online;
		build[i] = t1 - t0;
		prop[i] = t2 - t1;
		total[i] = t2 - t0;
	}
	if (!min_online) {
		snprintf(err, sizeof(err),
			 "the dataplane went away during the "
			 "run");
		goto fail;
	}
	stats(build, iters, &bm, &bp, &bx);
	stats(prop, iters, &pm, &pp, &px);
	stats(total, iters, &tm, &tp, &tx);
	fprintf(stderr,
		"sl-bench-publish: build med %.1f p99 %.1f max %.1f us;"
		" propagation med %.1f p99 %.1f max %.1f us; total med %.1f "
		"p99 %.1f max %.1f us; %llu Maglev tables built, %llu copied "
		"in %u rounds; %u timeouts\n",
		bm, bp, bx, pm, pp, px, tm, tp, tx, (unsigned long long)built,
		(unsigned long long)copied, iters, timeouts);
	printf("samples=%u lcores=%u vips=%u backends=%u init_ms=%.1f "
	       "built=%.2f copied=%.2f build_med=%.1f build_p99=%.1f "
	       "build_max=%.1f prop_med=%.1f prop_p99=%.1f prop_max=%.1f "
	       "total_med=%.1f total_p99=%.1f total_max=%.1f timeouts=%u\n",
	       iters, min_online, info.vips, info.backends, init_ns / 1e6,
	       (double)built / iters, (double)copied / iters, bm, bp, bx, pm,
	       pp, px, tm, tp, tx, timeouts);
	rc = timeouts ? 1 : 0;
	goto out;
fail:
	fprintf(stderr, "sl-bench-publish: %s\n", err);
out:
	free(build);
	free(prop);
	free(total);
	sl_publisher_free(pub);
	sl_shm_close(shm, false);
	sl_config_free(cfg);
	return rc;
}
