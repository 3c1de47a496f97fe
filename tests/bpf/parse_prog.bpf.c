/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * parse_prog.bpf.c: test-only XDP program that runs sl_parse on the frame and
 * stores the verdict and the struct sl_pkt in result_map, then passes the
 * packet. Proves that parse.h passes the verifier, and lets
 * test_parse_bpf.c compare the BPF result with the host's byte for byte.
 * sl_parse_fast_prog does what sluice_xdp's sl_xdp_parse does: the plain
 * IPv4 or IPv6 TCP/UDP frame through sl_parse_fast4_end or
 * sl_parse_fast6_end, the rest through sl_parse; pad says which (1: a fast
 * parser took it).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "parse_result.h"

/* result_map: the last frame's sl_parse return value and struct sl_pkt. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sl_parse_result);
} result_map SEC(".maps");

/* result_map's value, pad cleared; NULL only if the map is missing. */
static __always_inline struct sl_parse_result *result(void)
{
	struct sl_parse_result *r;
	__u32 zero = 0;

	r = bpf_map_lookup_elem(&result_map, &zero);
	if (r)
		r->pad = 0;
	return r;
}

SEC("xdp")
int sl_parse_prog(struct xdp_md *ctx)
{
	const sl_u8 *data = (const sl_u8 *)(unsigned long)ctx->data;
	const sl_u8 *end = (const sl_u8 *)(unsigned long)ctx->data_end;
	struct sl_parse_result *r = result();

	if (r)
		r->ret = sl_parse(data, end, &r->pkt);
	return XDP_PASS;
}

SEC("xdp")
int sl_parse_fast_prog(struct xdp_md *ctx)
{
	const sl_u8 *data = (const sl_u8 *)(unsigned long)ctx->data;
	const sl_u8 *end = (const sl_u8 *)(unsigned long)ctx->data_end;
	struct sl_parse_result *r = result();

	if (!r)
		return XDP_PASS;
	if (sl_parse_fast4_end(data, end, &r->pkt) ||
	    sl_parse_fast6_end(data, end, &r->pkt)) {
		r->pad = 1;
		r->ret = SL_PKT_L4;
	} else {
		r->ret = sl_parse(data, end, &r->pkt);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
