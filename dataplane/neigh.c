/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * neigh.c: the next-hop table of sluice-dp (see neigh.h for the threading
 * rules). Entries are only ever appended; the MAC of an entry is one 64-bit
 * word so workers can learn and read it without a lock.
 */
#include <errno.h>
#include <string.h>

#include "fastpath.h"
#include "neigh.h"
#include "sluice/csum.h"
#include "sluice/parse.h"

#define MAC_VALID (1ull << 63)

static sl_u64 mac_pack(const sl_u8 mac[6])
{
	sl_u64 v = 0;
	int i;

	for (i = 0; i < 6; i++)
		v |= (sl_u64)mac[i] << (8 * i);
	return v | MAC_VALID;
}

static void mac_unpack(sl_u64 v, sl_u8 mac[6])
{
	int i;

	for (i = 0; i < 6; i++)
		mac[i] = (sl_u8)(v >> (8 * i));
}

void sl_neigh_init(struct sl_neigh *n)
{
	memset(n, 0, sizeof(*n));
}

static sl_u32 index_slot(const union sl_addr *addr, sl_u8 family, sl_u16 port)
{
	sl_u64 a, b, h;

	memcpy(&a, addr->b, 8);
	memcpy(&b, addr->b + 8, 8);
	h = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ ((sl_u64)family << 16 | port)) *
	    0xff51afd7ed558ccdull;
	return (sl_u32)(h >> 40) & (SL_NEIGH_INDEX - 1);
}

static bool entry_is(const struct sl_neigh_entry *e, const union sl_addr *addr,
		     sl_u8 family, sl_u16 port)
{
	return e->family == family && e->port == port &&
	       memcmp(&e->addr, addr, sizeof(*addr)) == 0;
}

int sl_neigh_find_port(const struct sl_neigh *n, const union sl_addr *addr,
		       sl_u8 family, sl_u16 port)
{
	sl_u32 s = index_slot(addr, family, port), k;

	for (k = 0; k < SL_NEIGH_INDEX;
	     k++, s = (s + 1) & (SL_NEIGH_INDEX - 1)) {
		sl_u16 v = __atomic_load_n(&n->index[s], __ATOMIC_ACQUIRE);

		if (v == 0)
			return -1;
		if (entry_is(&n->e[v - 1], addr, family, port))
			return v - 1;
	}
	return -1;
}

/* Only one thread adds (the main lcore at start, then the first worker). */
int sl_neigh_add(struct sl_neigh *n, const union sl_addr *addr, sl_u8 family,
		 sl_u16 port, const sl_u8 *static_mac)
{
	int i = sl_neigh_find_port(n, addr, family, port);
	struct sl_neigh_entry *e;
	sl_u32 s;

	if (i >= 0)
		return i;
	if (n->nb >= SL_NEIGH_MAX) {
		__atomic_store_n(&n->refused, n->refused + 1, __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	e = &n->e[n->nb];
	memset(e, 0, sizeof(*e));
	e->addr = *addr;
	e->family = family;
	e->port = port;
	if (static_mac) {
		e->is_static = 1;
		e->mac = mac_pack(static_mac);
	}
	/* At most half full: a free slot is always found. */
	for (s = index_slot(addr, family, port); n->index[s] != 0;
	     s = (s + 1) & (SL_NEIGH_INDEX - 1))
		;
	__atomic_store_n(&n->index[s], (sl_u16)(n->nb + 1), __ATOMIC_RELEASE);
	__atomic_store_n(&n->nb, n->nb + 1, __ATOMIC_RELEASE);
	return (int)(n->nb - 1);
}

bool sl_neigh_get(const struct sl_neigh *n, int i, sl_u8 mac[6])
{
	sl_u64 v;

	if (i < 0)
		return false;
	v = __atomic_load_n(&n->e[i].mac, __ATOMIC_RELAXED);
	if (!(v & MAC_VALID))
		return false;
	mac_unpack(v, mac);
	return true;
}

void sl_neigh_learn(struct sl_neigh *n, sl_u16 port, const union sl_addr *addr,
		    sl_u8 family, const sl_u8 mac[6], sl_u64 now_ns)
{
	int i = sl_neigh_find_port(n, addr, family, port);
	struct sl_neigh_entry *e;
	sl_u64 v;

	if (i < 0)
		return;
	e = &n->e[i];
	if (e->is_static)
		return;
	v = mac_pack(mac);
	if (__atomic_load_n(&e->mac, __ATOMIC_RELAXED) != v)
		__atomic_store_n(&e->mac, v, __ATOMIC_RELAXED);
	__atomic_store_n(&e->updated_ns, now_ns, __ATOMIC_RELAXED);
}

/* Solicited-node multicast address ff02::1:ffXX:XXXX and its MAC. */
static void solicited_node(const union sl_addr *target, union sl_addr *ip,
			   sl_u8 mac[6])
{
	memset(ip, 0, sizeof(*ip));
	ip->b[0] = 0xff;
	ip->b[1] = 0x02;
	ip->b[11] = 0x01;
	ip->b[12] = 0xff;
	memcpy(&ip->b[13], &target->b[13], 3);
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(&mac[2], &ip->b[12], 4);
}

static int build_arp_request(const struct sl_fp_conf *conf, sl_u16 port,
			     const struct sl_neigh_entry *e, sl_u8 *buf,
			     sl_u32 room)
{
	struct sl_ethhdr *eth = (struct sl_ethhdr *)buf;
	struct sl_arphdr *arp = (struct sl_arphdr *)(eth + 1);
	sl_u32 len = sizeof(*eth) + sizeof(*arp);

	if (room < 60)
		return 0;
	memset(buf, 0, 60); /* minimum frame, zero padding */
	memset(eth->dst, 0xff, SL_ETH_ALEN);
	memcpy(eth->src, conf->port_mac[port], SL_ETH_ALEN);
	eth->proto = SL_BE16(SL_ETH_P_ARP);
	arp->htype = SL_BE16(SL_ARP_HTYPE_ETHER);
	arp->ptype = SL_BE16(SL_ETH_P_IP);
	arp->hlen = SL_ETH_ALEN;
	arp->plen = 4;
	arp->oper = SL_BE16(SL_ARP_OP_REQUEST);
	memcpy(arp->sha, conf->port_mac[port], SL_ETH_ALEN);
	memcpy(arp->spa, &conf->local4.v4, 4);
	memcpy(arp->tpa, &e->addr.v4, 4);
	return len < 60 ? 60 : (int)len;
}

static int build_ns(const struct sl_fp_conf *conf, sl_u16 port,
		    const struct sl_neigh_entry *e, sl_u8 *buf, sl_u32 room)
{
	struct sl_ethhdr *eth = (struct sl_ethhdr *)buf;
	struct sl_ip6hdr *ip6 = (struct sl_ip6hdr *)(eth + 1);
	struct sl_nd_msg *ns = (struct sl_nd_msg *)(ip6 + 1);
	sl_u8 *opt = (sl_u8 *)(ns + 1);
	sl_u32 plen = sizeof(*ns) + 8;
	sl_u32 len = sizeof(*eth) + sizeof(*ip6) + plen;
	union sl_addr dst;

	if (room < len || !conf->has_local6)
		return 0;
	memset(buf, 0, len);
	solicited_node(&e->addr, &dst, eth->dst);
	ip6->daddr = dst;
	memcpy(eth->src, conf->port_mac[port], SL_ETH_ALEN);
	eth->proto = SL_BE16(SL_ETH_P_IPV6);
	ip6->ver_tc_flow = SL_BE32(0x60000000u);
	ip6->payload_len = sl_htons((sl_u16)plen);
	ip6->nexthdr = SL_IPPROTO_ICMPV6;
	ip6->hop_limit = 255;
	ip6->saddr = conf->local6;
	ns->icmp.type = SL_ICMP6_ND_NEIGH_SOLICIT;
	ns->target = e->addr;
	opt[0] = 1; /* source link-layer address */
	opt[1] = 1; /* 8 bytes */
	memcpy(&opt[2], conf->port_mac[port], SL_ETH_ALEN);
	ns->icmp.checksum = sl_csum_l4_ip6(ip6, (const sl_u8 *)ns, plen);
	return (int)len;
}

int sl_neigh_solicit(struct sl_neigh *n, const struct sl_fp_conf *conf,
		     sl_u16 port, sl_u64 now_ns, sl_u8 *buf, sl_u32 room)
{
	sl_u32 nb = __atomic_load_n(&n->nb, __ATOMIC_ACQUIRE);
	sl_u32 i;

	for (i = 0; i < nb; i++) {
		struct sl_neigh_entry *e = &n->e[i];
		sl_u64 mac = __atomic_load_n(&e->mac, __ATOMIC_RELAXED);
		sl_u64 upd = __atomic_load_n(&e->updated_ns, __ATOMIC_RELAXED);
		sl_u64 wait;

		if (e->is_static || e->port != port)
			continue;
		/* A MAC nobody confirmed for long is forgotten. */
		if ((mac & MAC_VALID) && now_ns - upd > SL_NEIGH_STALE_NS)
			__atomic_store_n(&e->mac, 0, __ATOMIC_RELAXED);
		wait = (mac & MAC_VALID) && now_ns - upd < SL_NEIGH_REFRESH_NS
			       ? SL_NEIGH_REFRESH_NS
			       : SL_NEIGH_RETRY_NS;
		if (e->asked_ns && now_ns - e->asked_ns < wait)
			continue;
		if ((mac & MAC_VALID) && now_ns - upd < SL_NEIGH_REFRESH_NS)
			continue;
		e->asked_ns = now_ns;
		if (e->family == SL_AF_INET)
			return build_arp_request(conf, port, e, buf, room);
		return build_ns(conf, port, e, buf, room);
	}
	return 0;
}
