/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * neigh.h: next-hop MAC resolution for sluice-dp (ARP and IPv6 NDP).
 *
 * A small fixed table shared by all worker lcores of the process. Entries
 * are added at start (gateway, static MACs from config) and by the first
 * worker when a published table names new l2dsr backends. Any worker that
 * receives an ARP/NDP message from a tracked address stores the MAC with one
 * atomic 64-bit store; readers load it atomically, so no lock is needed.
 * The first worker calls sl_neigh_solicit() on a timer to build requests for
 * entries that are unresolved or due a refresh.
 */
#ifndef SLUICE_DP_NEIGH_H
#define SLUICE_DP_NEIGH_H

#include <stdbool.h>

#include "sluice/flow.h"
#include "sluice/types.h"

struct sl_fp_conf;

#define SL_NEIGH_MAX 256
#define SL_NEIGH_RETRY_NS (1000ull * 1000 * 1000)	 /* unresolved: 1 s */
#define SL_NEIGH_REFRESH_NS (30ull * 1000 * 1000 * 1000) /* resolved: 30 s */
#define SL_NEIGH_STALE_NS \
	(120ull * 1000 * 1000 * 1000) /* no answer: drop MAC */

struct sl_neigh_entry {
	union sl_addr addr;
	sl_u8 family;
	sl_u8 is_static;
	sl_u16 port;
	sl_u32 pad;
	sl_u64 mac; /* atomic: bits 0..47 MAC (byte 0 lowest), bit 63 valid */
	sl_u64 updated_ns; /* atomic: when mac was last confirmed */
	sl_u64 asked_ns;   /* solicit timer; written by the first worker only */
};

/* Slots of the lookup index: a power of two, at least twice SL_NEIGH_MAX. */
#define SL_NEIGH_INDEX 512

struct sl_neigh {
	sl_u32 nb;	/* atomic: entries in use, only grows */
	sl_u32 refused; /* atomic: sl_neigh_add calls refused, table full */
	/*
	 * (address, family, port) -> entry, open addressing with linear
	 * probing: slot = entry index + 1, 0 = empty. The writer fills an entry,
	 * then publishes its slot (release); readers load slots (acquire).
	 * Entries are never removed, so a probe ends at the first empty slot.
	 */
	sl_u16 index[SL_NEIGH_INDEX];
	struct sl_neigh_entry e[SL_NEIGH_MAX];
};
SL_STATIC_ASSERT(SL_NEIGH_INDEX >= 2 * SL_NEIGH_MAX &&
			 (SL_NEIGH_INDEX & (SL_NEIGH_INDEX - 1)) == 0,
		 "neighbour index: power of two, at most half full");

void sl_neigh_init(struct sl_neigh *n);

/*
 * Track addr on port (returns its index, the existing one if tracked),
 * optionally with a static MAC. -ENOSPC when full (counted in refused,
 * which sluice-dp's main lcore logs). One writer at a time.
 */
int sl_neigh_add(struct sl_neigh *n, const union sl_addr *addr, sl_u8 family,
		 sl_u16 port, const sl_u8 *static_mac);

/* Index of a tracked address on a port, or -1. O(1): the fast path asks
 * it per packet of an l2dsr backend without a static MAC. */
int sl_neigh_find_port(const struct sl_neigh *n, const union sl_addr *addr,
		       sl_u8 family, sl_u16 port);

/* The MAC of entry i if resolved (true) or false. Fast path. */
bool sl_neigh_get(const struct sl_neigh *n, int i, sl_u8 mac[6]);

/*
 * Record that addr is at mac, as an ARP/NDP message received on port says;
 * untracked addresses are ignored.
 */
void sl_neigh_learn(struct sl_neigh *n, sl_u16 port, const union sl_addr *addr,
		    sl_u8 family, const sl_u8 mac[6], sl_u64 now_ns);

/*
 * If an entry on `port` is due a request, write an ARP request or an NDP
 * neighbour solicitation into buf (room bytes) and return its length;
 * 0 when nothing is due. Call repeatedly until 0.
 */
int sl_neigh_solicit(struct sl_neigh *n, const struct sl_fp_conf *conf,
		     sl_u16 port, sl_u64 now_ns, sl_u8 *buf, sl_u32 room);

#endif /* SLUICE_DP_NEIGH_H */
