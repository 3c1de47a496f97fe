/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_parse_bpf.c: parse.h compiled for BPF must give the host's answer.
 *
 * Loads parse_prog.bpf.o (so the verifier must accept sl_parse), then runs
 * every packet of the shared corpus (tests/unit/pktbuild.h), and every
 * truncation of it down to 14 bytes (BPF_PROG_TEST_RUN refuses shorter XDP
 * frames), through BPF_PROG_TEST_RUN, and compares the verdict and the whole
 * struct sl_pkt with the host's sl_parse byte for byte. Needs root; exits 77
 * ("skipped" to meson) otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "parse_result.h"
#include "pktbuild.h"

#define SKIP 77

/*
 * Frame b cut to len through prog: its result must be the host's
 * sl_parse, byte for byte. With fast (sl_parse_fast_prog), pad must also
 * say that sl_parse_fast4_end took the frame exactly when it does on the
 * host (which test_parse holds equal to sl_parse's judgement).
 */
static int run_one(int prog_fd, int map_fd, const struct pb *b,
		   unsigned int len, bool fast)
{
	struct sl_pkt scratch;
	struct sl_parse_result host, got;
	sl_u8 out[PB_MAX];
	__u32 zero = 0;
	int err;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = b->buf,
		    .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	memset(&got, 0xa5, sizeof(got));
	if (bpf_map_update_elem(map_fd, &zero, &got, BPF_ANY)) {
		fprintf(stderr, "result_map update: %s\n", strerror(errno));
		return -1;
	}
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	if (err || opts.retval != 2 /* XDP_PASS */) {
		fprintf(stderr, "%s len %u: test run failed: %s, retval %u\n",
			b->name, len, strerror(errno), opts.retval);
		return -1;
	}
	if (bpf_map_lookup_elem(map_fd, &zero, &got)) {
		fprintf(stderr, "result_map lookup: %s\n", strerror(errno));
		return -1;
	}
	memset(&host, 0, sizeof(host));
	host.ret = sl_parse(b->buf, b->buf + len, &host.pkt);
	if (fast)
		host.pad = (sl_u32)(sl_parse_fast4_end(b->buf, b->buf + len,
						       &scratch) ||
				    sl_parse_fast6_end(b->buf, b->buf + len,
						       &scratch));
	if (memcmp(&host, &got, sizeof(host))) {
		fprintf(stderr,
			"%s len %u%s: BPF ret %d (fast %u), host ret %d "
			"(fast %u), sl_pkt %s\n",
			b->name, len, fast ? " (fast prog)" : "", got.ret,
			got.pad, host.ret, host.pad,
			memcmp(&host.pkt, &got.pkt, sizeof(host.pkt))
				? "differs"
				: "equal");
		return -1;
	}
	return 0;
}

int main(void)
{
	struct bpf_object *obj;
	struct bpf_program *prog, *fast;
	struct bpf_map *map;
	int i, err, runs = 0, failed = 0, took4 = 0, took6 = 0, ret = 1;

	if (geteuid() != 0) {
		printf("SKIP: BPF_PROG_TEST_RUN needs root\n");
		return SKIP;
	}
	obj = bpf_object__open_file(SL_PARSE_BPF_OBJ, NULL);
	if (!obj) {
		fprintf(stderr, "%s: open failed: %s\n", SL_PARSE_BPF_OBJ,
			strerror(errno));
		return 1;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "%s: load (verifier) failed: %s\n",
			SL_PARSE_BPF_OBJ, strerror(-err));
		ret = err == -EPERM ? SKIP : 1;
		goto out;
	}
	prog = bpf_object__find_program_by_name(obj, "sl_parse_prog");
	fast = bpf_object__find_program_by_name(obj, "sl_parse_fast_prog");
	map = bpf_object__find_map_by_name(obj, "result_map");
	if (!prog || !fast || !map) {
		fprintf(stderr, "a parse program or result_map missing\n");
		goto out;
	}
	for (i = 0; i < PB_CORPUS_N; i++) {
		struct pb b;
		unsigned int len;

		pb_corpus(&b, i);
		for (len = sizeof(struct sl_ethhdr); len <= b.len; len++) {
			struct sl_pkt scratch;

			runs++;
			if (run_one(bpf_program__fd(prog), bpf_map__fd(map), &b,
				    len, false))
				failed++;
			if (run_one(bpf_program__fd(fast), bpf_map__fd(map), &b,
				    len, true))
				failed++;
			took4 += sl_parse_fast4_end(b.buf, b.buf + len,
						    &scratch);
			took6 += sl_parse_fast6_end(b.buf, b.buf + len,
						    &scratch);
		}
	}
	printf("%d cuts of %d corpus packets through both programs (taken by "
	       "the fast parsers: %d IPv4, %d IPv6), %d runs differ\n",
	       runs, PB_CORPUS_N, took4, took6, failed);
	/* The corpus has plain TCP and UDP frames of both families. */
	ret = failed || took4 == 0 || took6 == 0 ? 1 : 0;
out:
	bpf_object__close(obj);
	return ret;
}
