// SPDX-License-Identifier: BSD-3-Clause
/*
 * xdp_drop.bpf.c: XDP_DROP and nothing else. The veth row of scripts/bench.sh
 * xdp attaches it on the generator's veth: the LB's XDP_TX frames reach
 * that veth only when it has an XDP program (ENVIRONMENT.md), and dropping
 * them there keeps the kernel's stack out of the measurement. veth counts
 * them as rx_queue_N_xdp_drops (ethtool -S).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
