/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xdp_test.h: what the XDP tests and the benchmark share: the root check
 * (skip, 77), pinning to one CPU (the flow table and counters are per
 * CPU), loading sluice_xdp through the loader sluiced uses (control/
 * xdp_load.c) with static MACs instead of the FIB, and one test run.
 */
#ifndef SLUICE_TEST_XDP_TEST_H
#define SLUICE_TEST_XDP_TEST_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "xdp.h"

#define XT_SKIP 77
#define XT_MAX_FRAME 4096

/* The fixtures' MACs: sluice-dp's port and the static gateway. */
static const sl_u8 xt_port_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const sl_u8 xt_gw_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };

static inline void xt_require_root(const char *what)
{
	if (geteuid() != 0) {
		printf("SKIP: %s needs root (BPF_PROG_TEST_RUN)\n", what);
		exit(XT_SKIP);
	}
}

/* Per-CPU flow table: every run must land on the same CPU. */
static inline void xt_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "warning: cannot pin to CPU %d: %s\n", cpu,
			strerror(errno));
}

static inline int xt_quiet_print(enum libbpf_print_level lvl, const char *fmt,
				 va_list ap)
{
	if (lvl == LIBBPF_WARN || getenv("LIBBPF_LOG"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

/*
 * sluice_xdp (or obj) loaded for cfg with the fixtures' static MACs and
 * the test's ICMP budget; tables in dir/tables. Exits on failure.
 */
static inline struct sl_xdp *xt_load(const struct sl_config *cfg,
				     const char *dir, const void *obj,
				     size_t obj_len, const char *prog)
{
	char path[256], err[512];
	struct sl_xdp_opts o;
	struct sl_xdp *x;

	libbpf_set_print(xt_quiet_print);
	snprintf(path, sizeof(path), "%s/tables", dir);
	sl_xdp_opts_default(&o);
	o.obj = obj;
	o.obj_len = obj_len;
	o.prog_name = prog;
	o.tables_path = path;
	o.conf.use_fib = 0;
	memcpy(o.conf.src_mac, xt_port_mac, 6);
	memcpy(o.conf.gw_mac, xt_gw_mac, 6);
	o.conf.icmp_rate = 1000; /* as test_fastpath's lcore */
	o.conf.icmp_burst = 100;
	x = sl_xdp_new(cfg, &o, err, sizeof(err));
	if (!x) {
		fprintf(stderr, "FAIL: %s\n", err);
		exit(1);
	}
	return x;
}

static inline struct sl_config *xt_config(const char *path)
{
	char err[512];
	struct sl_config *cfg = sl_config_load(path, err, sizeof(err));

	if (!cfg) {
		fprintf(stderr, "FAIL: %s\n", err);
		exit(1);
	}
	return cfg;
}

static inline void xt_apply(struct sl_xdp *x, const struct sl_config *cfg,
			    const struct sl_pub_override *ov, unsigned int n)
{
	char err[512];

	if (sl_xdp_apply(x, cfg, ov, n, err, sizeof(err))) {
		fprintf(stderr, "FAIL: publish: %s\n", err);
		exit(1);
	}
}

/* One frame through the program; returns the XDP action, out filled. */
static inline int xt_run(int prog_fd, const sl_u8 *in, size_t len, sl_u8 *out,
			 size_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = XT_MAX_FRAME, .repeat = 1);

	if (bpf_prog_test_run_opts(prog_fd, &opts)) {
		fprintf(stderr, "FAIL: test run: %s\n", strerror(errno));
		exit(1);
	}
	*out_len = opts.data_size_out;
	return (int)opts.retval;
}

static inline const char *xt_action(int a)
{
	static const char *const n[] = { "aborted", "drop", "pass", "tx",
					 "redirect" };

	return a >= 0 && a <= 4 ? n[a] : "?";
}

#endif /* SLUICE_TEST_XDP_TEST_H */
