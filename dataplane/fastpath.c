/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fastpath.c: the per-packet path of sluice-dp (see fastpath.h).
 *
 * Called only by the worker lcore that owns the struct sl_fp. Each packet is
 * parsed, classified, given a backend (flow table, else Maglev), then
 * encapsulated or answered in place. Every drop is counted under its reason
 * here and nowhere else; callers count only what they transmit.
 *
 * Invariants: the table pointer changes only in sl_fp_begin_burst(), so a
 * packet never sees two generations; flow entries hold (backend id, epoch)
 * and are trusted only while the published backend at that id still has
 * that epoch, belongs to the same VIP and is not down.
 */
#include <errno.h>
#include <string.h>

#include "burst.h"
#include "express.h"
#include "express512.h"
#include "fastpath.h"
#include "flowtab.h"
#include "neigh.h"
#include "sluice/csum.h"
#include "sluice/encap.h"
#include "sluice/hash.h"
#include "sluice/parse.h"

#define ICMP4_QUOTE_MAX (576 - 20 - 8)
#define ICMP6_QUOTE_MAX (1280 - 40 - 8)
#define NS_PER_S 1000000000ull

int sl_fp_init(struct sl_fp *fp, struct sl_shm_header *shm, sl_u16 qs_row,
	       const struct sl_fp_conf *conf, struct sl_flowtab *ft,
	       struct sl_neigh *neigh)
{
	memset(fp, 0, sizeof(*fp));
	fp->qs_row = qs_row;
	fp->conf = conf;
	fp->ft = ft;
	fp->neigh = neigh;
	fp->stats = &fp->own_stats;
	fp->fx_gen = 1;
	sl_fp_simd512(fp, true);
	for (sl_u16 port = 0; port < SL_FP_MAX_PORTS; port++) {
		fp->gw4_idx[port] = -1;
		fp->gw6_idx[port] = -1;
		if (port >= conf->nb_ports)
			continue;
		fp->gw4_idx[port] =
			sl_neigh_add(neigh, &conf->gateway4, SL_AF_INET, port,
				     conf->has_gw_mac ? conf->gw_mac : NULL);
		if (conf->has_gateway6)
			fp->gw6_idx[port] = sl_neigh_add(
				neigh, &conf->gateway6, SL_AF_INET6, port,
				conf->has_gw_mac ? conf->gw_mac : NULL);
		if (fp->gw4_idx[port] < 0)
			return fp->gw4_idx[port];
	}
	if (shm)
		return sl_fp_attach(fp, shm);
	return 0;
}

int sl_fp_attach(struct sl_fp *fp, struct sl_shm_header *shm)
{
	sl_u8 *stats;

	if (!shm || fp->qs_row >= shm->max_lcores)
		return -EINVAL;
	stats = (sl_u8 *)shm + shm->stats_off;
	fp->max_vips = shm->max_vips;
	fp->max_backends = shm->max_backends;
	fp->vip_stats =
		(struct sl_vip_stats *)(stats +
					shm->max_lcores *
						sizeof(struct sl_lcore_stats)) +
		(sl_u64)fp->qs_row * shm->max_vips;
	fp->backend_stats =
		(struct sl_backend_stats
			 *)(stats +
			    shm->max_lcores * sizeof(struct sl_lcore_stats) +
			    (sl_u64)shm->max_lcores * shm->max_vips *
				    sizeof(struct sl_vip_stats)) +
		(sl_u64)fp->qs_row * shm->max_backends;
	/* Carry what was counted before the shared memory appeared. */
	fp->stats = (struct sl_lcore_stats *)stats + fp->qs_row;
	if (fp->stats != &fp->own_stats) {
		const sl_u64 *src = (const sl_u64 *)&fp->own_stats;
		sl_u64 *dst = (sl_u64 *)fp->stats;
		size_t i;

		for (i = 0; i < sizeof(fp->own_stats) / 8; i++)
			dst[i] += src[i];
		memset(&fp->own_stats, 0, sizeof(fp->own_stats));
	}
	fp->table = NULL;
	fp->gen = 0;
	__atomic_store_n(&shm->qs[fp->qs_row].online, 1, __ATOMIC_RELEASE);
	/*
	 * Store online, then load gen (next burst): without a full fence x86
	 * may load gen first, and a publisher that read online == 0 would not
	 * wait for us while we read an old slot. Pairs with the publisher's
	 * fence between storing gen and reading the online flags.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	fp->shm = shm;
	return 0;
}

void sl_fp_detach(struct sl_fp *fp)
{
	if (!fp->shm)
		return;
	__atomic_store_n(&fp->shm->qs[fp->qs_row].online, 0, __ATOMIC_RELEASE);
	fp->shm = NULL;
	fp->table = NULL;
	fp->stats = &fp->own_stats;
	fp->vip_stats = NULL;
	fp->backend_stats = NULL;
}

/* The first worker makes sure l2dsr backends of a new table are tracked. */
static void track_l2dsr_backends(struct sl_fp *fp)
{
	const struct sl_table_hdr *t = fp->table;
	const struct sl_vip_entry *vips = sl_table_vips(t);
	const struct sl_backend_entry *bes = sl_table_backends(t);
	sl_u32 i;

	for (i = 0; i < t->n_backends; i++) {
		const struct sl_backend_entry *be = &bes[i];

		if (be->state == SL_BACKEND_UNUSED || be->vip_id >= t->n_vips ||
		    vips[be->vip_id].method != SL_METHOD_L2DSR)
			continue;
		if (be->mac[0] | be->mac[1] | be->mac[2] | be->mac[3] |
		    be->mac[4] | be->mac[5])
			continue;
		/* Every port: an l2dsr backend sits on the segment of some port. */
		for (sl_u16 p = 0; p < fp->conf->nb_ports; p++)
			if (sl_neigh_find_port(fp->neigh, &be->addr, be->family,
					       p) < 0)
				sl_neigh_add(fp->neigh, &be->addr, be->family,
					     p, NULL);
	}
}

/*
 * A new express generation: the flow entries' fx_gen stamps of the last
 * one no longer count. After 2^32 of them (a year and more of publishing
 * every 10 ms) the stamps are cleared, so an old one cannot match again.
 */
static void fx_gen_next(struct sl_fp *fp)
{
	sl_u32 i, n = fp->ft->nb_buckets * SL_FT_WAYS;

	if (++fp->fx_gen != 0)
		return;
	for (i = 0; i < n; i++)
		fp->ft->entries[i].fx_gen = 0;
	fp->fx_gen = 1;
}

/* Is slot i of the VIP index an IPv4 key of a VIP, not of fragments? */
static bool vip4_indexed(const struct sl_vip_slot *idx)
{
	return idx->vip_id != SL_VIP_EMPTY && idx->key.family == SL_AF_INET &&
	       !(idx->key.proto & SL_VIP_KEY_FRAG);
}

/* Build fp->vip4 (fastpath.h) from the new table's VIP index. */
static void vip4_build(struct sl_fp *fp)
{
	const struct sl_table_hdr *t = fp->table;
	const struct sl_vip_slot *idx = sl_table_vip_index(t);
	const struct sl_vip_entry *vips = sl_table_vips(t);
	sl_u32 i, n = 0, size = 16, bits = 4;

	for (i = 0; i < t->vip_index_size; i++)
		n += vip4_indexed(&idx[i]);
	while (size < 4 * n && size < SL_FP_VIP4_SLOTS) {
		size <<= 1;
		bits++;
	}
	memset(fp->vip4, 0, sizeof(fp->vip4));
	fp->vip4_mask = size - 1;
	fp->vip4_shift = (sl_u8)(64 - bits);
	fp->vip4_partial = false;
	for (i = 0, n = 0; i < t->vip_index_size; i++) {
		const struct sl_vip_key *k = &idx[i].key;
		sl_u16 vid = idx[i].vip_id;
		sl_u8 method = vid < t->n_vips ? vips[vid].method : 0;
		sl_u64 key;
		sl_u32 j;

		if (!vip4_indexed(&idx[i]))
			continue;
		if (n == size / 4) {
			fp->vip4_partial = true;
			break;
		}
		key = vip4_key(k->addr.v4, k->port, k->proto);
		j = (sl_u32)((key * 0x9e3779b97f4a7c15ull) >> fp->vip4_shift);
		while (fp->vip4[j].key != 0)
			j = (j + 1) & fp->vip4_mask;
		fp->vip4[j].key = key;
		fp->vip4[j].vid = vid;
		fp->vip4[j].enc4 =
			method == SL_METHOD_IPIP || method == SL_METHOD_GUE
				? (sl_u8)sl_encap_len(method, SL_AF_INET)
				: 0;
		n++;
	}
}

void sl_fp_begin_burst(struct sl_fp *fp, sl_u64 now_ns)
{
	sl_u64 gen;
	sl_u16 port;

	fp->now_ns = now_ns;
	fp->now = (sl_u32)(now_ns / NS_PER_S) + 1;
	for (port = 0; port < fp->conf->nb_ports; port++) {
		sl_u8 *eth = fp->eth4_tmpl[port];

		fp->gw4_ok[port] = sl_neigh_get(fp->neigh, fp->gw4_idx[port],
						fp->gw4_mac[port]);
		fp->gw6_ok[port] = sl_neigh_get(fp->neigh, fp->gw6_idx[port],
						fp->gw6_mac[port]);
		memcpy(eth, fp->gw4_mac[port], 6);
		memcpy(eth + 6, fp->conf->port_mac[port], 6);
		eth[12] = SL_ETH_P_IP >> 8;
		eth[13] = SL_ETH_P_IP & 0xff;
	}
	if (!fp->shm)
		return;
	gen = __atomic_load_n(&fp->shm->gen, __ATOMIC_ACQUIRE);
	if (SL_LIKELY(gen == fp->gen))
		return;
	fp->table = gen ? sl_table_slot(fp->shm, gen) : NULL;
	fp->gen = gen;
	fx_gen_next(fp);
	if (fp->table) {
		const struct sl_table_params *prm = &fp->table->params;
		sl_u8 bits = prm->encap_src4_bits;

		/* As sl_encap_src() computes it per packet. */
		fp->src4_host = bits >= 32 ? 0 : (0xffffffffu >> bits);
		fp->src4_net = sl_ntohl(prm->encap_src4.v4) & ~fp->src4_host;
		vip4_build(fp);
	}
	fp->stats->table_gen = gen;
	__atomic_store_n(&fp->shm->qs[fp->qs_row].seen, gen, __ATOMIC_RELEASE);
	if (fp->qs_row == 0 && fp->table)
		track_l2dsr_backends(fp);
}

static SL_ALWAYS_INLINE enum sl_verdict drop(struct sl_fp *fp, enum sl_drop why,
					     enum sl_drop *reason)
{
	fp->stats->drops[why]++;
	*reason = why;
	return SL_VERDICT_DROP;
}

static SL_ALWAYS_INLINE void vip_drop(struct sl_fp *fp, sl_u16 vip_id)
{
	if (vip_id < fp->max_vips)
		fp->vip_stats[vip_id].drops++;
}

/* Is addr one of the published VIP addresses (any port, TCP or UDP)? */
static bool is_vip_addr(const struct sl_table_hdr *t, const union sl_addr *a,
			sl_u8 family)
{
	struct sl_vip_key k;

	if (!t)
		return false;
	memset(&k, 0, sizeof(k));
	k.addr = *a;
	k.family = family;
	k.proto = SL_IPPROTO_TCP | SL_VIP_KEY_FRAG;
	if (sl_table_vip_lookup(t, &k) != SL_VIP_EMPTY)
		return true;
	k.proto = SL_IPPROTO_UDP | SL_VIP_KEY_FRAG;
	return sl_table_vip_lookup(t, &k) != SL_VIP_EMPTY;
}

static bool addr_eq(const union sl_addr *a, const union sl_addr *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) |
		(a->w[2] ^ b->w[2]) | (a->w[3] ^ b->w[3])) == 0;
}

/* ---- classify ---- */

/*
 * The VIP a packet belongs to: exact (address, port, protocol), then the
 * port-agnostic VIP of that address; fragments by (address, protocol).
 */
static sl_u16 classify(const struct sl_table_hdr *t, const struct sl_pkt *p)
{
	struct sl_vip_key k;
	sl_u16 id;

	memset(&k, 0, sizeof(k));
	k.addr = p->key.dst;
	k.family = p->key.family;
	if (p->flags & SL_PKT_F_FRAG) {
		k.proto = p->key.proto | SL_VIP_KEY_FRAG;
		return sl_table_vip_lookup(t, &k);
	}
	k.proto = p->key.proto;
	k.port = p->key.dport;
	id = sl_table_vip_lookup(t, &k);
	if (id != SL_VIP_EMPTY)
		return id;
	k.port = 0;
	return sl_table_vip_lookup(t, &k);
}

/*
 * classify() for an IPv4 packet that is not a fragment, from fp->vip4,
 * which holds exactly the answers of the table's VIP index for it.
 */
static SL_ALWAYS_INLINE sl_u16 classify4(const struct sl_fp *fp,
					 const struct sl_pkt *p)
{
	const struct sl_fp_vip4 *v;

	v = vip4_find(fp->vip4, fp->vip4_mask, fp->vip4_shift,
		      vip4_key(p->key.dst.v4, p->key.dport, p->key.proto));
	if (!v && !fp->vip4_partial && p->key.dport != 0)
		v = vip4_find(fp->vip4, fp->vip4_mask, fp->vip4_shift,
			      vip4_key(p->key.dst.v4, 0, p->key.proto));
	if (v)
		return v->vid;
	return fp->vip4_partial ? classify(fp->table, p) : SL_VIP_EMPTY;
}

/* ---- select ---- */

/* A remembered flow still holds while its backend is the same identity,
 * serves this VIP and takes its packets (a new connection: only if UP).
 * Whether p opens a connection is asked only of a drained backend. */
static SL_ALWAYS_INLINE bool flow_valid(const struct fp_burst *bc,
					const struct sl_flow_entry *e,
					sl_u16 vip_id, const struct sl_pkt *p)
{
	const struct sl_backend_entry *be;

	if (e->backend_id >= bc->n_backends || e->vip_id != vip_id)
		return false;
	be = &bc->bes[e->backend_id];
	if (be->epoch != e->epoch || be->vip_id != vip_id)
		return false;
	return SL_LIKELY(be->state == SL_BACKEND_UP) ||
	       (be->state == SL_BACKEND_DRAINED && !sl_pkt_opens_conn(p));
}

/*
 * The backend for a flow of vip: the flow table's choice while it is still
 * valid, else Maglev's (remembered). ih is the flow-table index hash, way
 * the hint of the burst's second stage. Sets *hash to the keyed flow hash
 * (from the entry on a hit, computed on a miss). Returns the backend id or
 * -1.
 */
static SL_ALWAYS_INLINE sl_s64 select_backend(struct sl_fp *fp,
					      struct fp_burst *bc,
					      const struct sl_vip_entry *vip,
					      const struct sl_pkt *p, sl_u64 ih,
					      int way, sl_u64 *hash)
{
	const struct sl_flow_key *key = &p->key;
	const struct sl_table_hdr *t = bc->t;
	struct sl_flow_entry *e;
	bool evicted;
	sl_u32 id;

	e = sl_flowtab_lookup(&bc->ft, key, ih, way, bc->now);
	if (SL_LIKELY(e != NULL)) {
		*hash = e->flow_hash;
		if (SL_LIKELY(flow_valid(bc, e, vip->id, p))) {
			bc->flow_hits++;
			return e->backend_id;
		}
		fp->stats->flow_repicks++;
	} else {
		*hash = sl_flow_hash(key, &t->params.seed);
	}
	if (vip->maglev_size == 0)
		return -1;
	id = sl_table_maglev(t)[vip->maglev_off + *hash % vip->maglev_size];
	if (id >= bc->n_backends)
		return -1;
	if (!e) {
		e = sl_flowtab_insert(&bc->ft, key, ih, bc->now, &evicted);
		fp->stats->flow_evictions += evicted;
		e->flow_hash = *hash;
	}
	e->backend_id = id;
	e->epoch = bc->bes[id].epoch;
	e->vip_id = vip->id;
	e->fx_gen = 0;
	fp->stats->flow_misses++;
	fp->vip_stats[vip->id].new_flows++;
	bc->backend_stats[id].new_flows++;
	return id;
}

/* ---- replies written in place ---- */

static void eth_reply(sl_u8 *frame, const sl_u8 *port_mac)
{
	struct sl_ethhdr *eth = (struct sl_ethhdr *)frame;

	memcpy(eth->dst, eth->src, SL_ETH_ALEN);
	memcpy(eth->src, port_mac, SL_ETH_ALEN);
}

static bool icmp_token(struct sl_fp *fp)
{
	const struct sl_fp_conf *c = fp->conf;
	sl_u64 cap = (sl_u64)c->icmp_burst * NS_PER_S;
	sl_u64 credit;

	if (c->icmp_rate == 0)
		return false;
	/* Tokens are kept as nanoseconds of credit times the rate. */
	credit = fp->icmp_tokens_ns +
		 (fp->now_ns - fp->icmp_last_ns) * (sl_u64)c->icmp_rate;
	fp->icmp_last_ns = fp->now_ns;
	if (credit > cap)
		credit = cap;
	if (credit < NS_PER_S) {
		fp->icmp_tokens_ns = credit;
		return false;
	}
	fp->icmp_tokens_ns = credit - NS_PER_S;
	return true;
}

/*
 * ICMP "fragmentation needed" / ICMPv6 "packet too big" back to the client,
 * from the VIP, quoting the start of the packet. Built in place: the L2
 * header moves back into the headroom to make room for the new IP + ICMP
 * headers before the quoted packet.
 */
static enum sl_verdict too_big(struct sl_fp *fp, sl_u16 port, struct sl_buf *b,
			       const struct sl_pkt *p, sl_u32 mtu_left,
			       enum sl_drop *reason)
{
	sl_u32 l2 = p->l3_off;
	bool v4 = p->family == SL_AF_INET;
	sl_u32 hdr = v4 ? 20 + 8 : 40 + 8;
	sl_u32 quote = p->l3_len;
	sl_u8 *frame, *l3;
	struct sl_icmphdr *icmp;

	/* No ICMP about ICMP errors; IPv4 without DF is not fragmented here. */
	if ((p->flags & SL_PKT_F_ICMP_INNER) ||
	    (v4 && !(p->flags & SL_PKT_F_DF)))
		return drop(fp, SL_DROP_TOO_BIG, reason);
	if (!icmp_token(fp))
		return drop(fp, SL_DROP_TOO_BIG_RATELIMIT, reason);
	if (b->headroom < hdr)
		return drop(fp, SL_DROP_NO_HEADROOM, reason);
	if (quote > (v4 ? ICMP4_QUOTE_MAX : ICMP6_QUOTE_MAX))
		quote = v4 ? ICMP4_QUOTE_MAX : ICMP6_QUOTE_MAX;

	frame = b->data - hdr;
	memmove(frame, b->data, l2);
	eth_reply(frame, fp->conf->port_mac[port]);
	l3 = frame + l2;
	icmp = (struct sl_icmphdr *)(l3 + hdr - 8);
	memset(icmp, 0, sizeof(*icmp));
	if (v4) {
		struct sl_iphdr *ip = (struct sl_iphdr *)l3;
		const struct sl_iphdr *orig =
			(const struct sl_iphdr *)(l3 + hdr);

		icmp->type = SL_ICMP_DEST_UNREACH;
		icmp->code = SL_ICMP_FRAG_NEEDED;
		icmp->rest.frag.mtu = sl_htons((sl_u16)mtu_left);
		icmp->checksum = sl_csum_buf(icmp, 8 + quote);
		sl_encap_ip4(ip, 0, (sl_u16)(hdr + quote), SL_IPPROTO_ICMP, 0,
			     orig->daddr, orig->saddr);
	} else {
		struct sl_ip6hdr *ip6 = (struct sl_ip6hdr *)l3;
		const struct sl_ip6hdr *orig =
			(const struct sl_ip6hdr *)(l3 + hdr);
		union sl_addr src = orig->daddr, dst = orig->saddr;

		icmp->type = SL_ICMP6_PKT_TOOBIG;
		icmp->rest.mtu6 = sl_htonl(mtu_left);
		sl_encap_ip6(ip6, 0, 0, (sl_u16)(8 + quote), SL_IPPROTO_ICMPV6,
			     &src, &dst);
		icmp->checksum =
			sl_csum_l4_ip6(ip6, (const sl_u8 *)icmp, 8 + quote);
	}
	b->headroom -= hdr;
	b->tailroom += b->len + hdr - (l2 + hdr + quote);
	b->data = frame;
	b->len = l2 + hdr + quote;
	fp->stats->icmp_too_big_sent++;
	return SL_VERDICT_TX;
}

/* Echo request to a VIP: turn it around in place. */
static enum sl_verdict echo_reply(struct sl_fp *fp, sl_u16 port,
				  struct sl_buf *b, const struct sl_pkt *p,
				  enum sl_drop *reason)
{
	sl_u8 *l3 = b->data + p->l3_off;
	struct sl_icmphdr *icmp = (struct sl_icmphdr *)(b->data + p->l4_off);

	if (!is_vip_addr(fp->table, &p->key.dst, p->family) &&
	    !(p->family == SL_AF_INET &&
	      addr_eq(&p->key.dst, &fp->conf->local4)) &&
	    !(p->family == SL_AF_INET6 && fp->conf->has_local6 &&
	      addr_eq(&p->key.dst, &fp->conf->local6)))
		return drop(fp, SL_DROP_NOT_VIP, reason);
	eth_reply(b->data, fp->conf->port_mac[port]);
	if (p->family == SL_AF_INET) {
		struct sl_iphdr *ip = (struct sl_iphdr *)l3;
		sl_be32 a = ip->saddr;

		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->ttl = SL_ENCAP_TTL;
		ip->check = 0;
		ip->check = sl_csum_ip4_hdr_len(ip, (sl_u32)SL_IP4_IHL(ip) * 4);
		icmp->checksum = sl_csum_update16(
			icmp->checksum, sl_htons(SL_ICMP_ECHO << 8),
			sl_htons(SL_ICMP_ECHOREPLY << 8));
		icmp->type = SL_ICMP_ECHOREPLY;
	} else {
		struct sl_ip6hdr *ip6 = (struct sl_ip6hdr *)l3;
		union sl_addr a = ip6->saddr;

		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->hop_limit = SL_ENCAP_TTL;
		icmp->checksum = sl_csum_update16(
			icmp->checksum, sl_htons(SL_ICMP6_ECHO_REQUEST << 8),
			sl_htons(SL_ICMP6_ECHO_REPLY << 8));
		icmp->type = SL_ICMP6_ECHO_REPLY;
	}
	b->tailroom += b->len - (p->l3_off + p->l3_len);
	b->len = p->l3_off + p->l3_len;
	fp->stats->icmp_echo_replies++;
	return SL_VERDICT_TX;
}

static enum sl_verdict arp_in(struct sl_fp *fp, sl_u16 port, struct sl_buf *b,
			      const struct sl_pkt *p, enum sl_drop *reason)
{
	struct sl_arphdr *arp = (struct sl_arphdr *)(b->data + p->l3_off);
	union sl_addr spa, tpa;

	memset(&spa, 0, sizeof(spa));
	memset(&tpa, 0, sizeof(tpa));
	memcpy(&spa.v4, arp->spa, 4);
	memcpy(&tpa.v4, arp->tpa, 4);
	sl_neigh_learn(fp->neigh, port, &spa, SL_AF_INET, arp->sha, fp->now_ns);
	if (arp->oper != SL_BE16(SL_ARP_OP_REQUEST) ||
	    (!addr_eq(&tpa, &fp->conf->local4) &&
	     !is_vip_addr(fp->table, &tpa, SL_AF_INET)))
		return drop(fp, SL_DROP_UNHANDLED, reason);
	eth_reply(b->data, fp->conf->port_mac[port]);
	arp->oper = SL_BE16(SL_ARP_OP_REPLY);
	memcpy(arp->tha, arp->sha, SL_ETH_ALEN);
	memcpy(arp->tpa, arp->spa, 4);
	memcpy(arp->sha, fp->conf->port_mac[port], SL_ETH_ALEN);
	memcpy(arp->spa, &tpa.v4, 4);
	fp->stats->arp_replies++;
	return SL_VERDICT_TX;
}

/* NDP: learn from NS/NA, answer an NS for our address or a VIP with an NA. */
static enum sl_verdict ndp_in(struct sl_fp *fp, sl_u16 port, struct sl_buf *b,
			      const struct sl_pkt *p, enum sl_drop *reason)
{
	struct sl_ip6hdr *ip6 = (struct sl_ip6hdr *)(b->data + p->l3_off);
	struct sl_nd_msg *nd = (struct sl_nd_msg *)(b->data + p->l4_off);
	sl_u32 nd_len = p->l3_off + p->l3_len - p->l4_off;
	sl_u8 *opt = (sl_u8 *)(nd + 1);
	sl_u32 off = sizeof(*nd);
	union sl_addr target = nd->target;
	union sl_addr from = ip6->saddr;
	sl_u8 *out_opt;

	/* Learn from a link-layer address option (source in NS, target in NA). */
	while (off + 8 <= nd_len && opt[1] != 0) {
		sl_u32 olen = (sl_u32)opt[1] * 8;

		if (off + olen > nd_len)
			break;
		if ((opt[0] == 1 || opt[0] == 2) && olen >= 8)
			sl_neigh_learn(fp->neigh, port,
				       nd->icmp.type == SL_ICMP6_ND_NEIGH_ADVERT
					       ? &target
					       : &from,
				       SL_AF_INET6, &opt[2], fp->now_ns);
		off += olen;
		opt += olen;
	}
	if (nd->icmp.type != SL_ICMP6_ND_NEIGH_SOLICIT ||
	    ((!fp->conf->has_local6 || !addr_eq(&target, &fp->conf->local6)) &&
	     !is_vip_addr(fp->table, &target, SL_AF_INET6)))
		return drop(fp, SL_DROP_UNHANDLED, reason);
	if ((sl_u8 *)nd + 32 > b->data + b->len + b->tailroom)
		return drop(fp, SL_DROP_NO_HEADROOM, reason);

	eth_reply(b->data, fp->conf->port_mac[port]);
	/* An unspecified source (DAD) is answered to all-nodes. */
	if ((ip6->saddr.w[0] | ip6->saddr.w[1] | ip6->saddr.w[2] |
	     ip6->saddr.w[3]) == 0) {
		memset(&ip6->daddr, 0, sizeof(ip6->daddr));
		ip6->daddr.b[0] = 0xff;
		ip6->daddr.b[1] = 0x02;
		ip6->daddr.b[15] = 0x01;
		memcpy(((struct sl_ethhdr *)b->data)->dst,
		       "\x33\x33\x00\x00\x00\x01", 6);
	} else {
		ip6->daddr = ip6->saddr;
	}
	ip6->saddr = target;
	ip6->payload_len = SL_BE16(32);
	ip6->hop_limit = 255;
	nd->icmp.type = SL_ICMP6_ND_NEIGH_ADVERT;
	nd->icmp.code = 0;
	/* Router 0, solicited (unless DAD), override. */
	nd->icmp.rest.data = ip6->daddr.b[0] == 0xff ? SL_BE32(0x20000000u)
						     : SL_BE32(0x60000000u);
	out_opt = (sl_u8 *)(nd + 1);
	out_opt[0] = 2; /* target link-layer address */
	out_opt[1] = 1;
	memcpy(&out_opt[2], fp->conf->port_mac[port], SL_ETH_ALEN);
	nd->icmp.checksum = 0;
	nd->icmp.checksum = sl_csum_l4_ip6(ip6, (const sl_u8 *)nd, 32);
	b->tailroom = b->tailroom + b->len - (p->l4_off + 32);
	b->len = p->l4_off + 32;
	fp->stats->arp_replies++;
	return SL_VERDICT_TX;
}

/* ---- encapsulate ---- */

/*
 * fast: p came through sl_parse_fast4() (untagged IPv4 without options,
 * not a fragment, TCP or UDP): the tests that settles are left out.
 */
static SL_ALWAYS_INLINE enum sl_verdict
forward(struct sl_fp *fp, struct fp_burst *bc, sl_u16 port, struct sl_buf *b,
	const struct sl_pkt *p, bool fast, const struct sl_vip_entry *vip,
	sl_u32 be_id, sl_u64 hash, enum sl_drop *reason)
{
	const struct sl_table_hdr *t = bc->t;
	const struct sl_backend_entry *be = &bc->bes[be_id];
	struct sl_ethhdr *eth;
	sl_u32 l2 = fast ? sizeof(struct sl_ethhdr) : p->l3_off;
	sl_u32 l3_len = p->l3_len;
	sl_u32 enc, mtu = bc->mtu;
	sl_u8 mac[6];
	sl_u8 *frame;

	if (SL_UNLIKELY(vip->method == SL_METHOD_L2DSR)) {
		if (be->mac[0] | be->mac[1] | be->mac[2] | be->mac[3] |
		    be->mac[4] | be->mac[5])
			memcpy(mac, be->mac, 6);
		else if (!sl_neigh_get(fp->neigh,
				       sl_neigh_find_port(fp->neigh, &be->addr,
							  be->family, port),
				       mac))
			return drop(fp, SL_DROP_NO_NEXTHOP, reason);
		eth = (struct sl_ethhdr *)b->data;
		memcpy(eth->dst, mac, 6);
		memcpy(eth->src, fp->conf->port_mac[port], 6);
		b->tailroom += b->len - (l2 + l3_len);
		b->len = l2 + l3_len;
		goto sent;
	}

	if (be->family == SL_AF_INET ? !bc->gw4_ok : !fp->gw6_ok[port])
		return drop(fp, SL_DROP_NO_NEXTHOP, reason);
	enc = sl_encap_len(vip->method, be->family);
	if (SL_UNLIKELY(l3_len + enc > mtu)) {
		vip_drop(fp, vip->id);
		return too_big(fp, port, b, p, mtu - enc, reason);
	}
	if (SL_UNLIKELY(b->headroom < enc))
		return drop(fp, SL_DROP_NO_HEADROOM, reason);
	frame = b->data - enc;
	if (SL_LIKELY(l2 == sizeof(struct sl_ethhdr) &&
		      (fast || p->family == SL_AF_INET) &&
		      be->family == SL_AF_INET)) {
		encap4(bc, b, l3_len, (p->flags & SL_PKT_F_DF) != 0,
		       vip->method == SL_METHOD_GUE, be->addr.v4, hash, enc);
		goto moved;
	}
	memcpy(mac,
	       be->family == SL_AF_INET ? fp->gw4_mac[port] : fp->gw6_mac[port],
	       6);
	/* Keep the L2 header (and any VLAN tags) in front of the new outer
	 * header. Untagged (the common case) cannot overlap: enc >= 20. */
	if (SL_LIKELY(l2 == sizeof(struct sl_ethhdr)))
		memcpy(frame, b->data, sizeof(struct sl_ethhdr));
	else
		memmove(frame, b->data, l2);
	eth = (struct sl_ethhdr *)frame;
	memcpy(eth->dst, mac, 6);
	memcpy(eth->src, fp->conf->port_mac[port], 6);
	if (fast || p->nvlan == 0)
		eth->proto = be->family == SL_AF_INET ? SL_BE16(SL_ETH_P_IP)
						      : SL_BE16(SL_ETH_P_IPV6);
	else
		((struct sl_vlanhdr *)(frame + l2 - 4))->proto =
			be->family == SL_AF_INET ? SL_BE16(SL_ETH_P_IP)
						 : SL_BE16(SL_ETH_P_IPV6);
	sl_encap_write(frame + l2, frame + l2 + enc, l3_len, p->family,
		       (p->flags & SL_PKT_F_DF) != 0, vip->method, be,
		       &t->params, hash);
moved:
	b->headroom -= enc;
	b->tailroom += b->len - (l2 + l3_len);
	b->data = frame;
	b->len = l2 + enc + l3_len;
sent:
	bc->vip_stats[vip->id].packets++;
	bc->vip_stats[vip->id].bytes += l3_len;
	bc->backend_stats[be_id].packets++;
	bc->backend_stats[be_id].bytes += l3_len;
	return SL_VERDICT_TX;
}

/* What the stages of a burst learn about one packet. */
struct fp_pkt {
	struct sl_pkt p;
	sl_u64 ih;  /* flow-table index hash, when vid is a VIP */
	int kind;   /* sl_parse() result */
	sl_u16 vid; /* VIP id, SL_VIP_EMPTY or SL_VIP_AMBIGUOUS */
	bool fast;  /* parsed by sl_parse_fast4() */
	sl_s32 way; /* flow-table way hint, -1 none */
};

/* A packet of kind SL_PKT_L4 or SL_PKT_ICMP_ERR; fast as for forward(). */
static SL_ALWAYS_INLINE enum sl_verdict
vip_packet(struct sl_fp *fp, struct fp_burst *bc, sl_u16 port, struct sl_buf *b,
	   const struct fp_pkt *st, bool fast, enum sl_drop *reason)
{
	const struct sl_pkt *p = &st->p;
	const struct sl_vip_entry *vip;
	/* For the ICMP_INNER and FRAG tests only: fast has neither. */
	sl_u8 flags = fast ? 0 : p->flags;
	sl_u64 hash;
	sl_s64 be;
	sl_u16 id = st->vid;

	if (SL_UNLIKELY(id >= SL_VIP_AMBIGUOUS)) {
		if (id == SL_VIP_AMBIGUOUS)
			return drop(fp, SL_DROP_FRAG_AMBIGUOUS, reason);
		return drop(fp,
			    flags & SL_PKT_F_ICMP_INNER ? SL_DROP_ICMP_UNMATCHED
							: SL_DROP_NOT_VIP,
			    reason);
	}
	vip = &bc->vips[id];
	if ((flags & SL_PKT_F_FRAG) && (vip->flags & SL_VIP_F_FRAG_DROP)) {
		vip_drop(fp, id);
		return drop(fp, SL_DROP_FRAGMENT, reason);
	}
	be = select_backend(fp, bc, vip, p, st->ih, st->way, &hash);
	if (SL_UNLIKELY(be < 0)) {
		vip_drop(fp, id);
		return drop(fp, SL_DROP_NO_BACKEND, reason);
	}
	if (flags & SL_PKT_F_ICMP_INNER)
		fp->stats->icmp_errors_forwarded++;
	return forward(fp, bc, port, b, p, fast, vip, (sl_u32)be, hash, reason);
}

/*
 * Stage 1: parse, find the VIP, hash for the flow table, prefetch the
 * bucket. Not inlined, as stage_finish(): the burst loops then keep the
 * express path's state in registers.
 */
static __attribute__((noinline)) void
stage_classify(struct sl_fp *fp, const struct sl_buf *b, struct fp_pkt *st)
{
	const struct sl_table_hdr *t = fp->table;

	/* way is set by stage 2 for every packet that reaches the table. */
	st->vid = SL_VIP_EMPTY;
	st->fast = sl_parse_fast4(b->data, b->len, &st->p);
	if (SL_LIKELY(st->fast)) {
		st->kind = SL_PKT_L4;
		if (SL_UNLIKELY(!t))
			return;
		st->vid = classify4(fp, &st->p);
	} else {
		st->kind = sl_parse(b->data, b->data + b->len, &st->p);
		if ((st->kind != SL_PKT_L4 && st->kind != SL_PKT_ICMP_ERR) ||
		    !t)
			return;
		st->vid = classify(t, &st->p);
	}
	if (st->vid >= SL_VIP_AMBIGUOUS)
		return;
	st->ih = sl_flowtab_hash(&st->p.key, t->params.seed.k0,
				 t->params.seed.k1);
	sl_flowtab_prefetch(fp->ft, st->ih);
}

/* A chained mbuf: dropped as unhandled, unread (one segment only). */
static void chained(struct fp_pkt *st)
{
	st->kind = -(int)SL_DROP_UNHANDLED;
	st->vid = SL_VIP_EMPTY;
	st->fast = false;
}

/* Stage 3 for a packet that is not VIP traffic (ARP, NDP, echo, drops). */
static enum sl_verdict other_packet(struct sl_fp *fp, sl_u16 port,
				    struct sl_buf *b, const struct fp_pkt *st,
				    enum sl_drop *reason)
{
	switch (st->kind) {
	case SL_PKT_ICMP_ECHO:
		return echo_reply(fp, port, b, &st->p, reason);
	case SL_PKT_ARP:
		return arp_in(fp, port, b, &st->p, reason);
	case SL_PKT_NDP:
		return ndp_in(fp, port, b, &st->p, reason);
	case SL_PKT_NON_IP:
		return drop(fp, SL_DROP_NON_IP, reason);
	default:
		if (st->kind < 0)
			return drop(fp, (enum sl_drop) - st->kind, reason);
		return drop(fp, SL_DROP_UNHANDLED, reason);
	}
}

static SL_ALWAYS_INLINE bool is_vip_kind(const struct fp_pkt *st)
{
	return st->kind == SL_PKT_L4 || st->kind == SL_PKT_ICMP_ERR;
}

/* Stage 3: everything else, one packet at a time. */
static __attribute__((noinline)) enum sl_verdict
stage_finish(struct sl_fp *fp, struct fp_burst *bc, sl_u16 port,
	     struct sl_buf *b, const struct fp_pkt *st, enum sl_drop *reason)
{
	if (SL_LIKELY(st->fast))
		return vip_packet(fp, bc, port, b, st, true, reason);
	if (is_vip_kind(st))
		return vip_packet(fp, bc, port, b, st, false, reason);
	return other_packet(fp, port, b, st, reason);
}

SL_STATIC_ASSERT(SL_FP_BURST_MAX <= 64, "a burst's packets fit a 64-bit mask");

/* The general path's view of an mbuf, and the mbuf after it. */
static SL_ALWAYS_INLINE void buf_of(const struct sl_mbuf *m, struct sl_buf *b)
{
	b->data = m->buf_addr + m->data_off;
	b->len = m->data_len;
	b->headroom = m->data_off;
	b->tailroom = (sl_u32)m->buf_len - m->data_off - m->data_len;
}

static SL_ALWAYS_INLINE void buf_to(struct sl_mbuf *m, const struct sl_buf *b)
{
	m->data_off = (sl_u16)(b->data - m->buf_addr);
	m->data_len = (sl_u16)b->len;
	m->pkt_len = b->len;
}

/*
 * Stage 1 on the express path for the n packets of a burst (fp's table
 * not NULL): the mask of those that are not express candidates, which
 * take the general path; *rx_bytes gets their lengths. Without calls, as
 * fx_stage3().
 */
static __attribute__((noinline)) sl_u64
fx_stage1(struct sl_fp *fp, struct sl_mbuf *const *pkts, unsigned int n,
	  struct fx_burst *fx, sl_u64 *rx_bytes)
{
	struct fx_ctx c = {
		.k0 = fp->table->params.seed.k0,
		.k1 = fp->table->params.seed.k1,
		.vip4 = fp->vip4,
		.vip4_mask = fp->vip4_mask,
		.vip4_shift = fp->vip4_shift,
		.vip4_partial = fp->vip4_partial,
		.buckets = fp->ft->buckets,
		.mask = fp->ft->mask,
		.mtu = fp->table->params.mtu,
		.gue_port = fp->table->params.gue_port,
	};
	sl_u64 bytes = 0, slow = 0;
	unsigned int i;

#if defined(SL_FX512)
	if (fp->simd512)
		return fx_stage1_512(&c, pkts, n, fx, rx_bytes);
#endif
	for (i = 0; i < n; i++) {
		bytes += pkts[i]->data_len;
		if (!fx_classify(&c, pkts[i], fx, i))
			slow |= 1ull << i;
	}
	*rx_bytes = bytes;
	return slow;
}

bool sl_fp_simd512_cpu(void)
{
#if defined(SL_FX512)
	return fx512_cpu_ok();
#else
	return false;
#endif
}

bool sl_fp_simd512(struct sl_fp *fp, bool allow)
{
	fp->simd512 = allow && sl_fp_simd512_cpu();
	return fp->simd512;
}

/*
 * Stage 3 on the express path for packets first.. of the burst while they
 * are express (bit clear in slow) all the way; returns the first one that
 * is not (or n). A function of its own, without calls, so that its loop
 * keeps the burst's state in registers: a call inside would leave it only
 * the callee-saved ones.
 */
/*
 * Where a burst's packets go, in order: those to send to the front of
 * pkts (in place: never ahead of the packet being decided), with their
 * bytes; those dropped aside with their reasons.
 */
struct fp_out {
	struct sl_mbuf **tx; /* the burst's pkts */
	unsigned int n_tx, n_drop;
	sl_u64 tx_bytes;
	struct sl_mbuf *drop[SL_FP_BURST_MAX];
	enum sl_drop why[SL_FP_BURST_MAX];
};

static SL_ALWAYS_INLINE void out_verdict(struct fp_out *o, struct sl_mbuf *m,
					 enum sl_verdict v, enum sl_drop why)
{
	if (v == SL_VERDICT_TX) {
		o->tx[o->n_tx++] = m;
		o->tx_bytes += m->data_len;
	} else {
		o->drop[o->n_drop] = m;
		o->why[o->n_drop++] = why;
	}
}

/* The partition of the burst, dropped packets after the sent ones. */
static unsigned int out_done(struct fp_out *o, enum sl_drop *reasons,
			     sl_u64 *tx_bytes)
{
	unsigned int i;

	for (i = 0; i < o->n_drop; i++) {
		o->tx[o->n_tx + i] = o->drop[i];
		reasons[o->n_tx + i] = o->why[i];
	}
	*tx_bytes = o->tx_bytes;
	return o->n_tx;
}

/*
 * Stage 3 on the express path for packets first.. of the burst while they
 * are express (bit clear in slow) all the way; returns the first one that
 * is not (or n). A function of its own, without calls, so that its loop
 * keeps the burst's state in registers: a call inside would leave it only
 * the callee-saved ones.
 */
static __attribute__((noinline)) unsigned int
fx_stage3(struct fp_burst *bc, struct sl_mbuf **pkts, const struct fx_burst *fx,
	  unsigned int first, unsigned int n, sl_u64 slow, struct fp_out *o)
{
	struct sl_mbuf **tx = o->tx + o->n_tx;
	sl_u64 bytes = 0;
	unsigned int i;

	for (i = first; i < n; i++) {
		struct sl_mbuf *m = pkts[i];

		if ((slow >> i) & 1 || !fx_forward(bc, m, fx, i))
			break;
		*tx++ = m;
		bytes += fx->meta[i].len;
	}
	o->n_tx += i - first;
	o->tx_bytes += bytes;
	bc->flow_hits += i - first;
	bc->fx_packets += i - first;
	return i;
}

/*
 * A burst goes through in three stages so that the flow table's two cache
 * misses per packet (bucket, then entry) overlap across packets instead of
 * stalling each one in turn (as DPDK's l3fwd does for its lookups). Each
 * stage runs over the whole burst before the next starts: running stage 2
 * only a few packets ahead of stage 3 (8 or 16) was slower with 1M flows,
 * as it keeps fewer entry misses in flight at once; and the more packets a
 * burst, the fewer its two waits cost each (sl-fpsim, 1M flows: 66.6, 47.8,
 * 32.8 and 26.3 ns a packet in bursts of 8, 16, 32 and 64). A packet starts
 * on the express path (express.h) when it can, and moves to the general
 * one at the first doubt.
 */
unsigned int sl_fp_process_burst(struct sl_fp *fp, sl_u16 port,
				 struct sl_mbuf **pkts, unsigned int n,
				 enum sl_drop *reasons, sl_u64 *tx_bytes)
{
	struct fp_pkt st[SL_FP_BURST_MAX];
	struct fx_burst fx;
	struct sl_buf bufs[SL_FP_BURST_MAX]; /* the general path's */
	sl_u64 slow = 0; /* bit i: packet i takes the general path */
	struct fp_out o = { .tx = pkts };
	struct fp_burst bc;
	sl_u64 rx_bytes = 0;
	enum sl_drop why;
	enum sl_verdict v;
	unsigned int i;
	sl_u64 m;

	if (n > SL_FP_BURST_MAX)
		n = SL_FP_BURST_MAX;
	/* Express needs the gateway's MAC (for every IPv4 backend). */
	if (fp->table && fp->gw4_ok[port] && !fp->express_off) {
		slow = fx_stage1(fp, pkts, n, &fx, &rx_bytes);
	} else {
		for (i = 0; i < n; i++)
			rx_bytes += pkts[i]->data_len;
		slow = n == 64 ? ~0ull : (1ull << n) - 1;
	}
	for (m = slow; m; m &= m - 1) {
		i = (unsigned int)__builtin_ctzll(m);
		buf_of(pkts[i], &bufs[i]);
		if (SL_UNLIKELY(pkts[i]->nb_segs != 1))
			chained(&st[i]);
		else
			stage_classify(fp, &bufs[i], &st[i]);
	}
	fp->stats->rx_packets += n;
	fp->stats->rx_bytes += rx_bytes;
	if (SL_UNLIKELY(!fp->table)) {
		for (i = 0; i < n; i++) {
			why = SL_DROP_NONE;
			v = is_vip_kind(&st[i])
				    ? drop(fp, SL_DROP_NO_TABLE, &why)
				    : other_packet(fp, port, &bufs[i], &st[i],
						   &why);
			if (v == SL_VERDICT_TX)
				buf_to(pkts[i], &bufs[i]);
			out_verdict(&o, pkts[i], v, why);
		}
		return out_done(&o, reasons, tx_bytes);
	}
	for (i = 0; i < n; i++) {
		if (!((slow >> i) & 1))
			fx_match(fp->ft, &fx, i);
		else if (st[i].vid < SL_VIP_AMBIGUOUS)
			st[i].way = sl_flowtab_match(fp->ft, st[i].ih);
	}
	burst_start(&bc, fp, port);
	for (i = 0; i < n; i++) {
		i = fx_stage3(&bc, pkts, &fx, i, n, slow, &o);
		if (i == n)
			break;
		if (!((slow >> i) & 1)) {
			/* Left the express path: the same bucket and
			 * signature, so its way hint holds. */
			buf_of(pkts[i], &bufs[i]);
			stage_classify(fp, &bufs[i], &st[i]);
			st[i].way = fx.way[i];
		}
		why = SL_DROP_NONE;
		v = stage_finish(fp, &bc, port, &bufs[i], &st[i], &why);
		if (v == SL_VERDICT_TX)
			buf_to(pkts[i], &bufs[i]);
		out_verdict(&o, pkts[i], v, why);
	}
	burst_end(&bc, fp);
	return out_done(&o, reasons, tx_bytes);
}

enum sl_verdict sl_fp_process(struct sl_fp *fp, sl_u16 port, struct sl_buf *buf,
			      enum sl_drop *reason)
{
	struct sl_mbuf m, *mp = &m;
	sl_u64 bytes;
	unsigned int tx;

	memset(&m, 0, sizeof(m));
	m.buf_addr = buf->data - buf->headroom;
	m.data_off = (sl_u16)buf->headroom;
	m.nb_segs = 1;
	m.data_len = (sl_u16)buf->len;
	m.pkt_len = buf->len;
	m.buf_len = (sl_u16)(buf->headroom + buf->len + buf->tailroom);
	tx = sl_fp_process_burst(fp, port, &mp, 1, reason, &bytes);
	buf_of(&m, buf);
	if (tx)
		*reason = SL_DROP_NONE;
	return tx ? SL_VERDICT_TX : SL_VERDICT_DROP;
}
