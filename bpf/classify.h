/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * classify.h: step 2 of sluice_xdp.bpf.c, the VIP of a packet (vip_map,
 * keys and values from include/sluice/table.h, written by sluiced's
 * control/xdp.c), through a per-CPU cache of the answers.
 */
#ifndef SLUICE_BPF_CLASSIFY_H
#define SLUICE_BPF_CLASSIFY_H

#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "sluice/parse.h"

/* An address of a VIP, whatever its port and protocol. */
static __always_inline bool is_vip_addr(const union sl_addr *a, sl_u8 family)
{
	struct sl_vip_key k;

	__builtin_memset(&k, 0, sizeof(k));
	k.addr = *a;
	k.family = family;
	k.proto = SL_IPPROTO_TCP | SL_VIP_KEY_FRAG;
	if (bpf_map_lookup_elem(&vip_map, &k))
		return true;
	k.proto = SL_IPPROTO_UDP | SL_VIP_KEY_FRAG;
	return bpf_map_lookup_elem(&vip_map, &k) != NULL;
}

/*
 * The VIP of a packet: exact, then port-agnostic; fragments by address.
 *
 * The fragment key of (address, proto) comes first: the publisher writes
 * one for every (address, proto, family) that has a VIP, so its absence
 * says "no VIP here" after one lookup (all traffic that is not a VIP's).
 * Its owner (control/publish.c write_index) is the port-agnostic VIP of
 * the address if there is one, else the only VIP, else SL_VIP_AMBIGUOUS;
 * an owner with a port is therefore the only VIP of the address and needs
 * no second lookup. The result is the exact-then-port-agnostic one.
 */
static __always_inline struct sl_vip_entry *classify(const struct sl_pkt *p)
{
	struct sl_vip_entry *own, *vip;
	struct sl_vip_key k;

	__builtin_memset(&k, 0, sizeof(k));
	k.addr = p->key.dst;
	k.family = p->key.family;
	k.proto = p->key.proto | SL_VIP_KEY_FRAG;
	own = bpf_map_lookup_elem(&vip_map, &k);
	if (!own || (p->flags & SL_PKT_F_FRAG))
		return own;
	if (own->id != SL_VIP_AMBIGUOUS && own->port != 0)
		return own->port == p->key.dport ? own : NULL;
	k.proto = p->key.proto;
	k.port = p->key.dport;
	vip = bpf_map_lookup_elem(&vip_map, &k);
	if (vip)
		return vip;
	/* own is the port-agnostic VIP, or there is none. */
	return own->id == SL_VIP_AMBIGUOUS ? NULL : own;
}

/* What the fast path needs of a packet's VIP. */
struct vip_sel {
	__u32 maglev_size;
	__u16 id; /* or SL_VIP_AMBIGUOUS: a fragment of no single VIP */
	__u8 method;
	__u8 flags;
};

static __always_inline void vip_sel_of(struct vip_sel *v,
				       const struct sl_vip_entry *e)
{
	v->maglev_size = e->maglev_size;
	v->id = e->id;
	v->method = e->method;
	v->flags = e->flags;
}

/*
 * classify() through this CPU's cache, for every packet that is not a
 * fragment: classify() is a pure function of the destination address,
 * port, protocol and vip_map, so an answer, "no VIP" included, holds until
 * sluiced changes vip_map and bumps vip_gen_map, which is read before
 * vip_map. A hit costs a few loads where a miss costs one or two hash map
 * lookups (jhash over 20 bytes each). False: no VIP.
 */
static __always_inline bool classify_cached(const struct sl_pkt *p,
					    struct vip_sel *v)
{
	const union sl_addr *a = &p->key.dst;
	const struct sl_vip_entry *vip;
	struct sl_xdp_vip_cache *c;
	__u32 zero = 0, i, g, pp;
	const __u32 *gen;

	gen = bpf_map_lookup_elem(&vip_gen_map, &zero);
	if (!gen || (p->flags & SL_PKT_F_FRAG)) {
		vip = classify(p);
		if (vip)
			vip_sel_of(v, vip);
		return vip != NULL;
	}
	g = *gen;
	pp = (__u32)p->key.dport | (__u32)p->key.proto << 16 |
	     (__u32)p->key.family << 24;
	i = (__u32)((((__u64)(a->w[0] ^ a->w[1] ^ a->w[2] ^ a->w[3]) << 32 |
		      pp) *
		     0x9e3779b97f4a7c15ull) >>
		    56);
	c = bpf_map_lookup_elem(&vip_cache_map, &i);
	if (c && c->pp == pp && c->gen == g && c->addr.w[0] == a->w[0] &&
	    c->addr.w[1] == a->w[1] && c->addr.w[2] == a->w[2] &&
	    c->addr.w[3] == a->w[3]) {
		v->maglev_size = c->maglev_size;
		v->id = c->id;
		v->method = c->method;
		v->flags = c->flags;
		return c->id != SL_VIP_EMPTY;
	}
	vip = classify(p);
	if (vip)
		vip_sel_of(v, vip);
	if (c) {
		c->addr = *a;
		c->pp = pp;
		c->gen = g;
		c->maglev_size = vip ? vip->maglev_size : 0;
		c->id = vip ? vip->id : SL_VIP_EMPTY;
		c->method = vip ? vip->method : 0;
		c->flags = vip ? vip->flags : 0;
	}
	return vip != NULL;
}

#endif /* SLUICE_BPF_CLASSIFY_H */
