/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * decap.h: the ABI between the backend-side decapsulation program
 * (bpf/sluice_decap.bpf.c), its loader (bpf/decap.c, sluice-decap) and its
 * tests: the index of each counter in stats_map and where tc attaches it.
 *
 * stats_map is a BPF_MAP_TYPE_PERCPU_ARRAY of SL_DECAP_NSTATS sl_u64
 * entries; a reader sums each entry over all possible CPUs.
 */
#ifndef SLUICE_DECAP_H
#define SLUICE_DECAP_H

#include "types.h"

enum sl_decap_stat {
	SL_DECAP_IPIP4,	 /* IPv4 in IPv4 (protocol 4), decapsulated */
	SL_DECAP_IPIP6,	 /* IPv6 in IPv6 (next header 41), decapsulated */
	SL_DECAP_IP4IN6, /* IPv4 in IPv6 (next header 4), decapsulated */
	SL_DECAP_IP6IN4, /* IPv6 in IPv4 (protocol 41), decapsulated */
	SL_DECAP_GUE4,	 /* GUE (IP in UDP) over outer IPv4, decapsulated */
	SL_DECAP_GUE6,	 /* GUE (IP in UDP) over outer IPv6, decapsulated */
	SL_DECAP_PASSED, /* not encapsulated for us: left untouched */
	SL_DECAP_FRAGS,	 /* encapsulated but the outer packet is a fragment:
			  * left untouched, the kernel cannot decapsulate it */
	SL_DECAP_ERRORS, /* malformed outer or inner packet: dropped */
	SL_DECAP_FAILED, /* well-formed, but the kernel refused to strip the
			  * header (xdp_adjust_head / skb_adjust_room): dropped */
	SL_DECAP_NSTATS,
};

/* Default UDP destination port of GUE, as in Katran. */
#define SL_DECAP_GUE_PORT 6080

/*
 * The tc filter's identity on the ingress hook. Fixed so that detach and
 * stats find it again after the loader has exited, and so that re-attaching
 * replaces it instead of stacking a second copy.
 */
#define SL_DECAP_TC_HANDLE 0x51dc
#define SL_DECAP_TC_PRIORITY 0x51

#endif /* SLUICE_DECAP_H */
