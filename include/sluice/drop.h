/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * drop.h: every reason a packet is dropped, in one X-macro list.
 *
 * The enum indexes the per-lcore / per-CPU drop counters in shared memory and
 * in BPF maps, and the names become metric labels, so append only: never
 * reorder or reuse a value (it is part of the stats ABI).
 */
#ifndef SLUICE_DROP_H
#define SLUICE_DROP_H

#include "types.h"

#define SL_DROP_LIST(X)                                                       \
	X(NONE, "none", "not dropped")                                        \
	X(TRUNCATED, "truncated", "packet shorter than its headers claim")    \
	X(BAD_L2, "bad_l2", "malformed Ethernet or VLAN header")              \
	X(VLAN_DEPTH, "vlan_depth", "more than two VLAN tags")                \
	X(BAD_IP_VERSION, "bad_ip_version",                                   \
	  "IP version does not match ethertype")                              \
	X(BAD_IP_HDR, "bad_ip_hdr",                                           \
	  "IPv4 header length or total length invalid")                       \
	X(BAD_IP6_EXT, "bad_ip6_ext",                                         \
	  "IPv6 extension header chain too long or malformed")                \
	X(BAD_L4, "bad_l4", "malformed TCP, UDP or ICMP header")              \
	X(NOT_VIP, "not_vip", "destination is not a configured VIP")          \
	X(NO_BACKEND, "no_backend", "VIP has no usable backend")              \
	X(FRAGMENT, "fragment", "IP fragment of a VIP with fragments = drop") \
	X(FRAG_AMBIGUOUS, "frag_ambiguous",                                   \
	  "fragment of an address served by several VIPs")                    \
	X(TOO_BIG, "too_big",                                                 \
	  "encapsulated packet over the egress MTU (ICMP sent)")              \
	X(TOO_BIG_RATELIMIT, "too_big_ratelimit",                             \
	  "over MTU, ICMP reply rate-limited")                                \
	X(NO_NEXTHOP, "no_nexthop", "next-hop MAC address not resolved")      \
	X(NO_HEADROOM, "no_headroom", "no room to prepend the encapsulation") \
	X(TX_FULL, "tx_full", "transmit queue full")                          \
	X(NON_IP, "non_ip", "neither IP nor ARP")                             \
	X(UNHANDLED, "unhandled", "not VIP traffic and no exception path")    \
	X(ICMP_UNMATCHED, "icmp_unmatched",                                   \
	  "ICMP error for no known VIP flow")                                 \
	X(NO_TABLE, "no_table", "no table published yet")

enum sl_drop {
#define SL_DROP_ENUM(id, name, help) SL_DROP_##id,
	SL_DROP_LIST(SL_DROP_ENUM)
#undef SL_DROP_ENUM
		SL_DROP_MAX
};

/* Room for growth without changing the stats layout. */
#define SL_DROP_SLOTS 32
SL_STATIC_ASSERT(SL_DROP_MAX <= SL_DROP_SLOTS, "grow SL_DROP_SLOTS (ABI bump)");

#endif /* SLUICE_DROP_H */
