// SPDX-License-Identifier: BSD-3-Clause
/*
 * xdp_pass.bpf.c: XDP_PASS and nothing else. The XDP lab attaches it on
 * the router's end of lb0: a veth delivers the LB's XDP_TX frames only to
 * a peer that has an XDP program of its own (ENVIRONMENT.md), and that
 * program must leave the encapsulated packets alone.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
