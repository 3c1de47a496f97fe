/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flow.h: the flow key, identical for IPv4 and IPv6.
 *
 * The key has a fixed size and is zero-padded: an IPv4 address sits in the
 * first 4 bytes of its 16-byte slot and the other 12 are zero. Every producer
 * (parser, tests, control plane) must zero the whole key before filling it,
 * because the hash reads all 40 bytes and the BPF flow map compares them.
 */
#ifndef SLUICE_FLOW_H
#define SLUICE_FLOW_H

#include "types.h"

enum sl_family {
	SL_AF_INET = 4,
	SL_AF_INET6 = 6,
};

/* IANA protocol numbers used in keys and VIP identities. */
enum sl_proto {
	SL_IPPROTO_ICMP = 1,
	SL_IPPROTO_IPIP = 4,
	SL_IPPROTO_TCP = 6,
	SL_IPPROTO_UDP = 17,
	SL_IPPROTO_IPV6 = 41,
	SL_IPPROTO_ICMPV6 = 58,
};

/* An IPv4 or IPv6 address; IPv4 in v4 (network order) with the rest zero. */
union sl_addr {
	sl_be32 v4;
	sl_be32 w[4];
	sl_u8 b[16];
};
SL_STATIC_ASSERT(sizeof(union sl_addr) == 16, "sl_addr is 16 bytes");

struct sl_flow_key {
	union sl_addr src;
	union sl_addr dst;
	sl_be16 sport;
	sl_be16 dport;
	sl_u8 proto;  /* enum sl_proto */
	sl_u8 family; /* enum sl_family */
	sl_u8 pad[2]; /* always zero */
};
SL_STATIC_ASSERT(sizeof(struct sl_flow_key) == 40, "flow key ABI is 40 bytes");
SL_STATIC_ASSERT(__builtin_offsetof(struct sl_flow_key, sport) == 32,
		 "flow key ABI: ports follow addresses");

/*
 * Signature of a flow in a flow-table bucket, both dataplanes' (sluice-dp's
 * dataplane/flowtab.h, XDP's bpf/flowtab.h): bits of its index hash, with
 * bit 0 set (a signature is never 0, which marks an empty way) and
 * SL_FLOW_SIG_UDP set for a flow that is not TCP, so a way's timeout (and
 * so its expiry) is read from the bucket line alone.
 */
#define SL_FLOW_SIG_UDP 2u

static SL_ALWAYS_INLINE sl_u32 sl_flow_sig(sl_u32 hash_bits, sl_u8 proto)
{
	return (hash_bits & ~3u) | 1u |
	       (proto == SL_IPPROTO_TCP ? 0u : SL_FLOW_SIG_UDP);
}

#endif /* SLUICE_FLOW_H */
