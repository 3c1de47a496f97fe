// SPDX-License-Identifier: BSD-3-Clause
/*
 * sluice_xdp.bpf.c: the XDP fast path, the same decisions and the same output
 * bytes as sluice-dp's dataplane/fastpath.c, for NICs without a DPDK driver.
 *
 * Per packet: parse (include/sluice/parse.h) -> classify (exact VIP, then
 * the port-agnostic VIP of the address; fragments by (address, proto|FRAG))
 * -> select (flow table, valid while the backend keeps its epoch, VIP and
 * an UP/DRAINED state, reusing the flow hash stored there; else SipHash
 * and Maglev maglev[hash % M]) -> encapsulate
 * (include/sluice/encap.h) -> send (XDP_TX, or bpf_redirect to the FIB's
 * egress interface).
 *
 * Where XDP mode differs from sluice-dp, on purpose (DESIGN.md: "everything
 * that is not VIP traffic ... XDP_PASS"):
 *  - the kernel owns the interface: ARP, NDP, echo requests to the LB's own
 *    addresses and all traffic that is not for a VIP are passed untouched
 *    and counted in pass_stats_map under the reason sluice-dp would have
 *    dropped them for. Echo requests to a VIP are answered here (XDP_TX),
 *    as sluice-dp does;
 *  - a malformed packet is dropped (under sluice-dp's reason) only when its
 *    IP header was read and its destination is a VIP address; any other
 *    malformed frame may be the host's and is passed: the kernel validates
 *    and drops it itself;
 *  - next hop: bpf_fib_lookup on the outer destination (the backend; for
 *    l2dsr the backend itself) gives the MACs and the egress interface.
 *    BPF_FIB_LKUP_RET_NO_NEIGH passes the original packet to the kernel,
 *    which routes it and so resolves the neighbour; later packets of the
 *    flow find it. Other lookup failures drop as no_nexthop. With
 *    xdp_conf.use_fib == 0 (fixture tests, BPF_PROG_TEST_RUN) the MACs are
 *    static and the packet always leaves by XDP_TX;
 *  - the flow table is one table for all CPUs (bpf/flowtab.h), where
 *    sluice-dp has one per lcore: veths, generic XDP and some NICs do not
 *    keep a flow on one CPU, and a flow (on a drained backend too) must
 *    keep its backend there as well. Otherwise it is sluice-dp's kind of
 *    table: set-associative, 8 ways, the least recently seen way evicted
 *    and counted (flow_evictions). No locks: an entry another CPU is
 *    rewriting fails its check word and is a miss, picked again by Maglev;
 *  - the answers of classify() are cached per CPU (vip_cache_map) until
 *    sluiced changes vip_map, as sluice-dp caches them per lcore until
 *    the table generation changes.
 *
 * Verifier: every step is a global (non-static, __noinline) function, so
 * each is verified once, whatever the paths into it; sl_parse in particular
 * (most of the instruction count) is verified only inside sl_xdp_parse.
 * flow_hash() is a static subprogram only to keep SipHash's spills out of
 * sl_xdp_select's frame (the 512-byte stack of the call chain).
 * Packet offsets coming back from a step are re-checked against data_end.
 *
 * Counters are per CPU and plain increments: one CPU runs the program for a
 * packet from start to end.
 */
#include <stdbool.h>

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "flowtab.h"
#include "maps.h"
#include "sluice/csum.h"
#include "sluice/encap.h"
#include "sluice/hash.h"
#include "sluice/parse.h"

#define SL_AF_INET_KERNEL 2
#define SL_AF_INET6_KERNEL 10
#define SL_ICMP4_QUOTE_MAX (576 - 20 - 8)
#define SL_NS_PER_S 1000000000ull
#define SL_L2_MAX 22 /* Ethernet and two VLAN tags */
#define SL_L4_OFF_MAX 2048
#define SL_XDP_TOO_BIG 0x10000 /* sl_xdp_forward: + MTU left, see there */
#define SL_XDP_FORWARD 0x100   /* sl_xdp_select: go on to sl_xdp_forward */

/* Load-time settings; the defaults are sluiced's. */
const volatile struct sl_xdp_conf xdp_conf SEC(".rodata.conf") = {
	.use_fib = 1,
	.flow_mask = 127, /* the loader: flow_bucket_map entries - 1 */
	.icmp_rate = 100, /* sluice-dp's SL_FP_ICMP_RATE */
	.icmp_burst = 20, /* SL_FP_ICMP_BURST */
};

/* ---- counters ---- */

/*
 * The frame's length. The empty asm keeps the difference 64-bit: with
 * -mcpu=v3 clang would subtract the two 32-bit ctx fields in 32 bits,
 * which the verifier refuses for packet pointers.
 */
static __always_inline __u32 frame_len(const struct xdp_md *ctx)
{
	const sl_u8 *data = (const sl_u8 *)(long)ctx->data;
	const sl_u8 *end = (const sl_u8 *)(long)ctx->data_end;
	__u64 n = (__u64)(end - data);

	__asm__ volatile("" : "+r"(n));
	return (__u32)n;
}

static __always_inline struct sl_lcore_stats *lcore_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lcore_stats_map, &zero);
}

static __always_inline int drop(enum sl_drop why)
{
	struct sl_lcore_stats *st = lcore_stats();

	if (st)
		st->drops[why & (SL_DROP_SLOTS - 1)]++;
	return XDP_DROP;
}

static __always_inline int pass(enum sl_drop why)
{
	struct sl_xdp_pass_stats *ps;
	__u32 zero = 0;

	ps = bpf_map_lookup_elem(&pass_stats_map, &zero);
	if (ps)
		ps->passed[why & (SL_DROP_SLOTS - 1)]++;
	return XDP_PASS;
}

static __always_inline void vip_drop(__u32 vip_id)
{
	struct sl_vip_stats *vs = bpf_map_lookup_elem(&vip_stats_map, &vip_id);

	if (vs)
		vs->drops++;
}

/* ---- small helpers ---- */

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

/* The frame's L2 length, proven to the verifier to be 14, 18 or 22. */
static __always_inline int l2_len(const struct sl_pkt *p)
{
	__u32 l2 = p->l3_off;

	if (l2 != 14 && l2 != 18 && l2 != 22)
		return -1;
	return (int)l2;
}

/* Cut the frame to len bytes (Ethernet padding after the IP packet). */
static __always_inline int trim_to(struct xdp_md *ctx, __u32 len)
{
	__u32 cur = frame_len(ctx);

	if (cur > len)
		return bpf_xdp_adjust_tail(ctx, -(int)(cur - len));
	return 0;
}

/* Replies go back where the packet came from: swap the MAC addresses. */
static __always_inline void eth_swap(struct sl_ethhdr *eth)
{
	sl_u8 tmp[SL_ETH_ALEN];

	__builtin_memcpy(tmp, eth->dst, SL_ETH_ALEN);
	__builtin_memcpy(eth->dst, eth->src, SL_ETH_ALEN);
	__builtin_memcpy(eth->src, tmp, SL_ETH_ALEN);
}

/*
 * Move the L2 header's bytes after the MACs (VLAN tags, ethertype) from
 * data + shift to data, front to back (dst < src, so overlap is safe).
 */
static __always_inline int move_l2(sl_u8 *data, const sl_u8 *end, int l2,
				   __u32 shift)
{
	sl_u8 *src = data + shift;

	if (shift > 64 || src + SL_L2_MAX > end)
		return -1;
	__builtin_memcpy(data + 12, src + 12, 2);
	if (l2 >= 18)
		__builtin_memcpy(data + 14, src + 14, 4);
	if (l2 >= 22)
		__builtin_memcpy(data + 18, src + 18, 4);
	return 0;
}

/* The ethertype after the tags; data + SL_L2_MAX was checked. */
static __always_inline void set_ethertype(sl_u8 *data, int l2, sl_be16 type)
{
	if (l2 == 14)
		__builtin_memcpy(data + 12, &type, 2);
	else if (l2 == 18)
		__builtin_memcpy(data + 16, &type, 2);
	else
		__builtin_memcpy(data + 20, &type, 2);
}

/* ---- step 1: parse ---- */

/*
 * sl_parse on the frame: enum sl_pkt_kind, or -enum sl_drop. A global
 * function, so the verifier walks sl_parse once, whatever the caller.
 */
__noinline int sl_xdp_parse_full(struct xdp_md *ctx, struct sl_pkt *p)
{
	const sl_u8 *data = (const sl_u8 *)(long)ctx->data;
	const sl_u8 *end = (const sl_u8 *)(long)ctx->data_end;

	if (!p)
		return -SL_DROP_TRUNCATED;
	return sl_parse(data, end, p);
}

/*
 * The same, the plain IPv4 or IPv6 TCP/UDP frame first (sl_parse_fast4_end,
 * sl_parse_fast6_end; sluice-dp takes the first too): a third of the cost
 * of sl_parse on such a frame.
 */
__noinline int sl_xdp_parse(struct xdp_md *ctx, struct sl_pkt *p)
{
	const sl_u8 *data = (const sl_u8 *)(long)ctx->data;
	const sl_u8 *end = (const sl_u8 *)(long)ctx->data_end;

	if (!p)
		return -SL_DROP_TRUNCATED;
	if (sl_parse_fast4_end(data, end, p) ||
	    sl_parse_fast6_end(data, end, p))
		return SL_PKT_L4;
	return sl_xdp_parse_full(ctx, p);
}

/* ---- replies ---- */

/* One token of the per-CPU too-big budget (sluice-dp's icmp_token). */
static __always_inline bool icmp_token(void)
{
	struct sl_xdp_icmp_bucket *b;
	__u64 cap = (__u64)xdp_conf.icmp_burst * SL_NS_PER_S;
	__u64 now = bpf_ktime_get_ns(), credit;
	__u32 zero = 0;

	b = bpf_map_lookup_elem(&icmp_rate_map, &zero);
	if (!b || xdp_conf.icmp_rate == 0)
		return false;
	credit = b->tokens_ns + (now - b->last_ns) * xdp_conf.icmp_rate;
	b->last_ns = now;
	if (credit > cap)
		credit = cap;
	if (credit < SL_NS_PER_S) {
		b->tokens_ns = credit;
		return false;
	}
	b->tokens_ns = credit - SL_NS_PER_S;
	return true;
}

/* Unfolded one's complement sum of the first len bytes of the IP packet. */
static __always_inline int quote_sum(struct xdp_md *ctx, __u32 off, __u32 len,
				     __u32 *sum)
{
	struct sl_xdp_scratch *s;
	__u32 zero = 0, done, n;
	__s64 r;
	int i;

	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s || len == 0 || len > SL_XDP_QUOTE_MAX)
		return -1;
	if (bpf_xdp_load_bytes(ctx, off, s->buf, len))
		return -1;
	/* A trailing odd byte is summed as a word padded with zero. */
	*(__u32 *)&s->buf[len & 0x7fc] =
		len & 3 ? *(__u32 *)&s->buf[len & 0x7fc] &
				  ~(0xffffffffu << 8 * (len & 3))
			: 0;
	SL_UNROLL
	for (i = 0; i < 3; i++) {
		done = (__u32)i * 512;
		if (done >= len)
			break;
		n = (len - done + 3) & ~3u;
		if (n > 512)
			n = 512;
		SL_PARSE_WIDEN(n, 0x3fc); /* the verifier's bound: 0 .. 1020 */
		if (n > 512)
			break;
		r = bpf_csum_diff(NULL, 0, (__be32 *)&s->buf[i * 512], n, *sum);
		if (r < 0)
			return -1;
		*sum = (__u32)r;
	}
	return 0;
}

/*
 * ICMP "fragmentation needed" / ICMPv6 "packet too big" back to the client,
 * from the VIP, quoting the start of the packet (sluice-dp's too_big).
 */
__noinline int sl_xdp_too_big(struct xdp_md *ctx, struct sl_pkt *p,
			      __u32 mtu_left)
{
	sl_u8 *data, *end, *l3;
	struct sl_icmphdr *icmp;
	struct sl_lcore_stats *st;
	__u32 hdr, quote, sum = 0;
	int l2, v4;

	if (!p)
		return XDP_DROP;
	l2 = l2_len(p);
	v4 = p->family == SL_AF_INET;
	hdr = v4 ? 20 + 8 : 40 + 8;
	quote = p->l3_len;
	if (l2 < 0)
		return drop(SL_DROP_TOO_BIG);
	if ((p->flags & SL_PKT_F_ICMP_INNER) ||
	    (v4 && !(p->flags & SL_PKT_F_DF)))
		return drop(SL_DROP_TOO_BIG);
	if (!icmp_token())
		return drop(SL_DROP_TOO_BIG_RATELIMIT);
	if (quote > (v4 ? SL_ICMP4_QUOTE_MAX : SL_XDP_QUOTE_MAX))
		quote = v4 ? SL_ICMP4_QUOTE_MAX : SL_XDP_QUOTE_MAX;
	if (quote_sum(ctx, (__u32)l2, quote, &sum))
		return drop(SL_DROP_TRUNCATED);
	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return drop(SL_DROP_NO_HEADROOM);
	data = (sl_u8 *)(long)ctx->data;
	end = (sl_u8 *)(long)ctx->data_end;
	if (data + SL_L2_MAX > end || move_l2(data, end, l2, hdr))
		return drop(SL_DROP_NO_HEADROOM);
	__builtin_memcpy(data, data + hdr, 12);
	eth_swap((struct sl_ethhdr *)data);
	l3 = data + l2;
	if (v4) {
		struct sl_iphdr *ip = (struct sl_iphdr *)l3;

		icmp = (struct sl_icmphdr *)(l3 + 20);
		if ((sl_u8 *)(icmp + 1) > end)
			return drop(SL_DROP_NO_HEADROOM);
		__builtin_memset(icmp, 0, sizeof(*icmp));
		icmp->type = SL_ICMP_DEST_UNREACH;
		icmp->code = SL_ICMP_FRAG_NEEDED;
		icmp->rest.frag.mtu = sl_htons((sl_u16)mtu_left);
		sum = sl_csum_partial(icmp, 8, sum);
		icmp->checksum = (sl_be16)sl_csum_fold(sum);
		sl_encap_ip4(ip, 0, (sl_u16)(hdr + quote), SL_IPPROTO_ICMP, 0,
			     p->key.dst.v4, p->key.src.v4);
	} else {
		struct sl_ip6hdr *ip6 = (struct sl_ip6hdr *)l3;
		__u32 len = 8 + quote;
		sl_u8 tail[8] = { 0, 0, (sl_u8)(len >> 8), (sl_u8)len, 0,
				  0, 0, SL_IPPROTO_ICMPV6 };

		icmp = (struct sl_icmphdr *)(l3 + 40);
		if ((sl_u8 *)(icmp + 1) > end)
			return drop(SL_DROP_NO_HEADROOM);
		sl_encap_ip6(ip6, 0, 0, (sl_u16)len, SL_IPPROTO_ICMPV6,
			     &p->key.dst, &p->key.src);
		__builtin_memset(icmp, 0, sizeof(*icmp));
		icmp->type = SL_ICMP6_PKT_TOOBIG;
		icmp->rest.mtu6 = sl_htonl(mtu_left);
		sum = sl_csum_partial(l3 + 8, 32, sum);
		sum = sl_csum_partial(tail, 8, sum);
		sum = sl_csum_partial(icmp, 8, sum);
		icmp->checksum = (sl_be16)sl_csum_fold(sum);
	}
	if (trim_to(ctx, (__u32)l2 + hdr + quote))
		return drop(SL_DROP_NO_HEADROOM);
	st = lcore_stats();
	if (st)
		st->icmp_too_big_sent++;
	return XDP_TX;
}

/* IPv4 header checksum over ihl words, options included (<= 60 bytes). */
static __always_inline sl_be16 ip4_csum(const sl_u8 *ip, const sl_u8 *end,
					__u32 ihl)
{
	__u32 sum = 0;
	int i;

	/* A bounded loop: clang cannot unroll it with the early exit. */
	for (i = 0; i < 15; i++) {
		sl_u16 w[2];

		if ((__u32)i >= ihl || ip + 4 * i + 4 > end)
			break;
		__builtin_memcpy(w, ip + 4 * i, 4);
		sum = sl_csum_add(sum, w[0]);
		sum = sl_csum_add(sum, w[1]);
	}
	return (sl_be16)sl_csum_fold(sum);
}

/* Echo request to a VIP: turned around in place (sluice-dp's echo_reply). */
__noinline int sl_xdp_echo(struct xdp_md *ctx, struct sl_pkt *p)
{
	sl_u8 *data = (sl_u8 *)(long)ctx->data;
	sl_u8 *end = (sl_u8 *)(long)ctx->data_end;
	struct sl_lcore_stats *st;
	struct sl_icmphdr *icmp;
	__u32 l4;
	sl_u8 *l3;
	int l2;

	if (!p)
		return XDP_PASS;
	/* The LB's own addresses belong to the kernel, which answers them. */
	if (!is_vip_addr(&p->key.dst, p->family))
		return pass(SL_DROP_NOT_VIP);
	l2 = l2_len(p);
	l4 = p->l4_off;
	if (l2 < 0 || l4 > SL_L4_OFF_MAX || data + SL_L2_MAX > end)
		return pass(SL_DROP_TRUNCATED);
	l3 = data + l2;
	icmp = (struct sl_icmphdr *)(data + l4);
	if ((sl_u8 *)(icmp + 1) > end)
		return pass(SL_DROP_TRUNCATED);
	eth_swap((struct sl_ethhdr *)data);
	if (p->family == SL_AF_INET) {
		struct sl_iphdr *ip = (struct sl_iphdr *)l3;
		sl_be32 a;

		if ((sl_u8 *)(ip + 1) > end)
			return pass(SL_DROP_TRUNCATED);
		a = ip->saddr;
		ip->saddr = ip->daddr;
		ip->daddr = a;
		ip->ttl = SL_ENCAP_TTL;
		ip->check = 0;
		ip->check = ip4_csum(l3, end, SL_IP4_IHL(ip));
		icmp->checksum = sl_csum_update16(
			icmp->checksum, sl_htons(SL_ICMP_ECHO << 8),
			sl_htons(SL_ICMP_ECHOREPLY << 8));
		icmp->type = SL_ICMP_ECHOREPLY;
	} else {
		struct sl_ip6hdr *ip6 = (struct sl_ip6hdr *)l3;
		union sl_addr a;

		if ((sl_u8 *)(ip6 + 1) > end)
			return pass(SL_DROP_TRUNCATED);
		a = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = a;
		ip6->hop_limit = SL_ENCAP_TTL;
		icmp->checksum = sl_csum_update16(
			icmp->checksum, sl_htons(SL_ICMP6_ECHO_REQUEST << 8),
			sl_htons(SL_ICMP6_ECHO_REPLY << 8));
		icmp->type = SL_ICMP6_ECHO_REPLY;
	}
	if (trim_to(ctx, (__u32)l2 + p->l3_len))
		return drop(SL_DROP_NO_HEADROOM);
	st = lcore_stats();
	if (st)
		st->icmp_echo_replies++;
	return XDP_TX;
}

/* ---- step 5: send (next hop) ---- */

/* Volatile reads: the loader writes .rodata.conf after compilation. */
static __always_inline void conf_mac(sl_u8 *d, const volatile sl_u8 *s)
{
	int i;

	SL_UNROLL
	for (i = 0; i < 6; i++)
		d[i] = s[i];
}

struct nexthop {
	sl_u8 dmac[6];
	sl_u8 smac[6];
	__u32 ifindex; /* 0: back out the receiving interface (XDP_TX) */
};

/*
 * MACs and egress interface towards dst. Returns 0, or an XDP action for
 * the caller to return as is: XDP_PASS (neighbour not resolved yet) or
 * XDP_DROP (counted as no_nexthop).
 */
static __always_inline int next_hop(struct xdp_md *ctx,
				    const union sl_addr *dst,
				    const union sl_addr *src, sl_u8 family,
				    struct nexthop *nh)
{
	struct bpf_fib_lookup fib;
	__u32 in_if;
	long rc;

	if (!xdp_conf.use_fib) {
		conf_mac(nh->dmac, xdp_conf.gw_mac);
		conf_mac(nh->smac, xdp_conf.src_mac);
		nh->ifindex = 0;
		return 0;
	}
	in_if = ctx->ingress_ifindex;
	__asm__ volatile("" : "+r"(in_if)); /* no ctx pointer kept for later */
	__builtin_memset(&fib, 0, sizeof(fib));
	fib.ifindex = in_if;
	if (family == SL_AF_INET) {
		fib.family = SL_AF_INET_KERNEL;
		fib.ipv4_src = src->v4;
		fib.ipv4_dst = dst->v4;
	} else {
		fib.family = SL_AF_INET6_KERNEL;
		__builtin_memcpy(fib.ipv6_src, src, 16);
		__builtin_memcpy(fib.ipv6_dst, dst, 16);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return pass(SL_DROP_NO_NEXTHOP);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return drop(SL_DROP_NO_NEXTHOP);
	__builtin_memcpy(nh->dmac, fib.dmac, 6);
	__builtin_memcpy(nh->smac, fib.smac, 6);
	nh->ifindex = fib.ifindex == in_if ? 0 : fib.ifindex;
	return 0;
}

static __always_inline int send(const struct nexthop *nh)
{
	if (nh->ifindex)
		return (int)bpf_redirect(nh->ifindex, 0);
	return XDP_TX;
}

static __always_inline void count_forward(__u32 vip_id, __u32 be_id,
					  __u32 bytes)
{
	struct sl_vip_stats *vs = bpf_map_lookup_elem(&vip_stats_map, &vip_id);
	struct sl_backend_stats *bs;

	if (vs) {
		vs->packets++;
		vs->bytes += bytes;
	}
	bs = bpf_map_lookup_elem(&backend_stats_map, &be_id);
	if (bs) {
		bs->packets++;
		bs->bytes += bytes;
	}
}

/* ---- step 4: encapsulate ---- */

/*
 * Outer header of a constant method and family at data + l2. Constant
 * arguments let the compiler fold sl_encap_write's branches, so the
 * verifier sees writes at constant offsets under one bounds check.
 */
static __always_inline int
encap_const(sl_u8 *data, const sl_u8 *end, int l2, const struct sl_pkt *p,
	    struct sl_backend_entry *b, const struct sl_table_params *prm,
	    __u64 hash, const sl_u8 method, const sl_u8 family)
{
	sl_u32 enc = sl_encap_len(method, family);
	sl_u8 *out = data + l2;

	if (out + enc + 2 > end)
		return -1;
	b->family = family; /* b is a stack copy: the store folds away */
	sl_encap_write(out, out + enc, p->l3_len, p->family,
		       (p->flags & SL_PKT_F_DF) != 0, method, b, prm, hash);
	return 0;
}

/*
 * Forward the packet of a VIP flow to backend be_id by the VIP's method
 * (sluice-dp's forward). vip = VIP id | method << 16. Returns an XDP
 * action, or SL_XDP_TOO_BIG + the MTU left for the inner packet when it
 * does not fit: the caller answers with sl_xdp_too_big (called from there,
 * not from here, to keep the call chain within the 512-byte stack).
 */
__noinline int sl_xdp_forward(struct xdp_md *ctx, struct sl_pkt *p, __u32 vip,
			      __u32 be_id, __u64 hash)
{
	const struct sl_table_params *prm;
	const struct sl_backend_entry *be;
	__u32 vip_id = vip & 0xffff, method = vip >> 16, zero = 0;
	struct sl_backend_entry b;
	__u32 enc, l3_len, mtu;
	struct nexthop nh;
	union sl_addr src;
	sl_u8 *data, *end;
	int l2, rc;

	if (!p)
		return XDP_DROP;
	be = bpf_map_lookup_elem(&backend_map, &be_id);
	prm = bpf_map_lookup_elem(&params_map, &zero);
	l2 = l2_len(p);
	if (!be || !prm || l2 < 0)
		return drop(SL_DROP_NO_BACKEND);
	l3_len = p->l3_len;

	if (method == SL_METHOD_L2DSR) {
		/* One read of the setting, and nh set whole on every path
		 * that reaches its use: clang may otherwise copy the unset
		 * bytes around, which the verifier refuses. */
		const bool fib = xdp_conf.use_fib;
		const bool static_mac = be->mac[0] | be->mac[1] | be->mac[2] |
					be->mac[3] | be->mac[4] | be->mac[5];

		if (fib) {
			__builtin_memset(&src, 0, sizeof(src));
			rc = next_hop(ctx, &be->addr, &src, be->family, &nh);
			if (rc)
				return rc;
		} else if (static_mac) {
			conf_mac(nh.smac, xdp_conf.src_mac);
			nh.ifindex = 0;
		} else {
			return drop(SL_DROP_NO_NEXTHOP);
		}
		if (static_mac)
			__builtin_memcpy(nh.dmac, be->mac, 6);
		data = (sl_u8 *)(long)ctx->data;
		end = (sl_u8 *)(long)ctx->data_end;
		if (data + sizeof(struct sl_ethhdr) > end)
			return drop(SL_DROP_TRUNCATED);
		__builtin_memcpy(data, nh.dmac, 6);
		__builtin_memcpy(data + 6, nh.smac, 6);
		if (trim_to(ctx, (__u32)l2 + l3_len))
			return drop(SL_DROP_NO_HEADROOM);
		count_forward(vip_id, be_id, l3_len);
		return send(&nh);
	}

	sl_encap_src(be->family == SL_AF_INET ? &prm->encap_src4
					      : &prm->encap_src6,
		     be->family == SL_AF_INET ? prm->encap_src4_bits
					      : prm->encap_src6_bits,
		     be->family, hash, &src);
	rc = next_hop(ctx, &be->addr, &src, be->family, &nh);
	if (rc)
		return rc;
	enc = sl_encap_len((sl_u8)method, be->family);
	mtu = prm->mtu;
	if (l3_len + enc > mtu) {
		vip_drop(vip_id);
		return SL_XDP_TOO_BIG + (int)((mtu - enc) & 0xffff);
	}
	if (bpf_xdp_adjust_head(ctx, -(int)enc))
		return drop(SL_DROP_NO_HEADROOM);
	data = (sl_u8 *)(long)ctx->data;
	end = (sl_u8 *)(long)ctx->data_end;
	if (data + SL_L2_MAX > end || move_l2(data, end, l2, enc))
		return drop(SL_DROP_NO_HEADROOM);
	__builtin_memcpy(data, nh.dmac, 6);
	__builtin_memcpy(data + 6, nh.smac, 6);
	set_ethertype(data, l2,
		      be->family == SL_AF_INET ? SL_BE16(SL_ETH_P_IP)
					       : SL_BE16(SL_ETH_P_IPV6));
	b = *be;
	if (method == SL_METHOD_IPIP && be->family == SL_AF_INET)
		rc = encap_const(data, end, l2, p, &b, prm, hash,
				 SL_METHOD_IPIP, SL_AF_INET);
	else if (method == SL_METHOD_IPIP)
		rc = encap_const(data, end, l2, p, &b, prm, hash,
				 SL_METHOD_IPIP, SL_AF_INET6);
	else if (be->family == SL_AF_INET)
		rc = encap_const(data, end, l2, p, &b, prm, hash, SL_METHOD_GUE,
				 SL_AF_INET);
	else
		rc = encap_const(data, end, l2, p, &b, prm, hash, SL_METHOD_GUE,
				 SL_AF_INET6);
	if (rc)
		return drop(SL_DROP_NO_HEADROOM);
	if (trim_to(ctx, (__u32)l2 + enc + l3_len))
		return drop(SL_DROP_NO_HEADROOM);
	count_forward(vip_id, be_id, l3_len);
	return send(&nh);
}

/* ---- step 2: classify ---- */

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

/* ---- step 3: select ---- */

/*
 * Flow-table time: ticks of 2^20 ns (about 1 ms), modulo 2^32 (49 days;
 * flowtab.h ft_age takes differences as signed, idle timeouts are at most
 * a day). Fine enough that the least recently seen way of a bucket is
 * told apart from a flow that just arrived (sluice-dp, per lcore, counts
 * in seconds).
 */
#define SL_FT_TICK_SHIFT 20

/*
 * The coarse clock moves once a jiffy, so each CPU keeps its last reading
 * and reads it again only when jiffies (one load, inlined by the verifier)
 * has moved: a helper call less per packet.
 */
static __always_inline __u32 now_ticks(void)
{
	struct sl_xdp_clock *c;
	__u64 j = bpf_jiffies64();
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&clock_map, &zero);
	if (!c)
		return (__u32)(bpf_ktime_get_coarse_ns() >> SL_FT_TICK_SHIFT);
	if (c->jiffies != j) {
		c->jiffies = j;
		c->ticks =
			(__u32)(bpf_ktime_get_coarse_ns() >> SL_FT_TICK_SHIFT);
	}
	return c->ticks;
}

/* An idle timeout of s seconds in ticks, rounded up. */
static __always_inline __u32 ticks(__u64 s)
{
	return (__u32)((s * SL_NS_PER_S + (1u << SL_FT_TICK_SHIFT) - 1) >>
		       SL_FT_TICK_SHIFT);
}

static __always_inline bool flow_valid(const struct sl_xdp_flow *e,
				       __u32 vip_id, bool opens_conn)
{
	__u32 id = e->backend_id;
	const struct sl_backend_entry *be;

	if (e->vip_id != vip_id)
		return false;
	be = bpf_map_lookup_elem(&backend_map, &id);
	return be && be->epoch == e->epoch && be->vip_id == vip_id &&
	       (be->state == SL_BACKEND_UP ||
		(be->state == SL_BACKEND_DRAINED && !opens_conn));
}

/*
 * The keyed flow hash, sl_flow_hash() (SipHash-1-3 over the 40-byte key),
 * for a flow's first packet only. The same bits, read as 32-bit words:
 * the key is 4-byte aligned, and through hash.h's byte pointer clang
 * assembles every word from 8 byte loads. test_parity holds the two
 * equal (sluice-dp calls sl_flow_hash). A subprogram of its own: inlined,
 * its spills would be in sl_xdp_select's frame and the call chain's stack
 * would pass 512 bytes.
 */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "flow_hash reads the key's words little-endian, as SipHash does"
#endif
static __noinline __u64 flow_hash(const struct sl_flow_key *key,
				  const struct sl_table_params *prm)
{
	const __u32 *w = (const __u32 *)key;
	__u64 k0 = prm->seed.k0, k1 = prm->seed.k1, m;
	__u64 v0 = 0x736f6d6570736575ull ^ k0;
	__u64 v1 = 0x646f72616e646f6dull ^ k1;
	__u64 v2 = 0x6c7967656e657261ull ^ k0;
	__u64 v3 = 0x7465646279746573ull ^ k1;
	int i;

	SL_UNROLL
	for (i = 0; i < 5; i++) {
		m = (__u64)w[2 * i] | (__u64)w[2 * i + 1] << 32;
		v3 ^= m;
		SL_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	m = (__u64)sizeof(*key) << 56;
	v3 ^= m;
	SL_SIPROUND(v0, v1, v2, v3);
	v0 ^= m;
	v2 ^= 0xff;
	SL_SIPROUND(v0, v1, v2, v3);
	SL_SIPROUND(v0, v1, v2, v3);
	SL_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Maglev's backend for flow hash h: maglev[h % M], or NULL (*id set). */
static __always_inline const struct sl_backend_entry *
maglev_pick(const struct vip_sel *vip, __u64 h, __u32 *id)
{
	const struct sl_backend_entry *be;
	__u32 vip_id = vip->id, idx;
	const __u32 *slot;
	void *table;

	if (vip->maglev_size == 0)
		return NULL;
	table = bpf_map_lookup_elem(&maglev_map, &vip_id);
	if (!table)
		return NULL;
	idx = (__u32)(h % vip->maglev_size);
	slot = bpf_map_lookup_elem(table, &idx);
	if (!slot)
		return NULL;
	*id = *slot;
	be = bpf_map_lookup_elem(&backend_map, id);
	/* Another VIP's backend only while a republication is half done. */
	if (!be || be->vip_id != vip_id)
		return NULL;
	return be;
}

/*
 * The backend for a flow of vip: the flow table's choice while it is still
 * valid, else Maglev's (remembered). Returns the backend id or -1, and the
 * flow hash in *hash: a hit or a re-pick reuses the one stored with the
 * flow, as sluice-dp does, so SipHash runs only for a flow's first packet.
 *
 * SipHash and Maglev run after the table has answered, for a TCP SYN too:
 * computing them first, while a cold bucket line is on its way, gained
 * nothing measurable with a cold 1M-entry table (bench_xdp: 297 against
 * 299 ns) and cost a SYN that hits the table 30 ns (78 against 108 ns).
 */
static __always_inline __s64 select_backend(const struct vip_sel *vip,
					    const struct sl_flow_key *key,
					    const struct sl_table_params *prm,
					    bool opens_conn,
					    struct sl_lcore_stats *st,
					    __u64 *hash)
{
	const struct sl_backend_entry *be;
	__u32 vip_id = vip->id, id = 0, w;
	struct sl_xdp_flow *e = NULL;
	struct sl_backend_stats *bs;
	struct sl_vip_stats *vs;
	bool evicted = false;
	struct ft_ref r;
	struct ft_ttl t;
	__u64 h = 0;
	int found;

	if (!ft_ref(&r, key, &prm->seed, xdp_conf.flow_mask))
		return -1;
	t.now = now_ticks();
	/* The key's own timeout, all a hit needs; a miss takes both. */
	t.tcp = ticks(key->proto == SL_IPPROTO_TCP ? prm->tcp_timeout
						   : prm->udp_timeout);
	t.udp = t.tcp;
	found = ft_find(&r, key, &e);
	if (found >= 0 && e) {
		w = (__u32)found & (SL_XDP_FLOW_WAYS - 1);
		if (!ft_expired(&t, r.sig, r.bk->seen[w])) {
			if (r.bk->seen[w] != t.now)
				r.bk->seen[w] = t.now;
			if (flow_valid(e, vip_id, opens_conn)) {
				st->flow_hits++;
				*hash = e->hash;
				return e->backend_id;
			}
			st->flow_repicks++;
		}
		h = e->hash;
	} else {
		h = flow_hash(key, prm);
		t.tcp = ticks(prm->tcp_timeout);
		t.udp = ticks(prm->udp_timeout);
		w = ft_victim(&r, &t, &evicted);
		e = ft_entry(&r, w);
	}
	*hash = h;
	be = maglev_pick(vip, h, &id);
	if (!be || !e)
		return -1;
	ft_write(&r, w, e, key, t.now, h, id, be->epoch, (__u16)vip_id);
	if (evicted)
		st->flow_evictions++;
	st->flow_misses++;
	vs = bpf_map_lookup_elem(&vip_stats_map, &vip_id);
	if (vs)
		vs->new_flows++;
	bs = bpf_map_lookup_elem(&backend_stats_map, &id);
	if (bs)
		bs->new_flows++;
	return id;
}

/* A VIP packet's backend, from sl_xdp_select to sl_xdp_forward. */
struct sl_xdp_sel {
	__u64 hash;
	__u32 vip; /* VIP id | method << 16 */
	__u32 be_id;
};

/*
 * Classify and select for a packet of a VIP flow (TCP/UDP, or an ICMP
 * error quoting one): SL_XDP_FORWARD with *sel filled, or the XDP action
 * for a packet that is passed or dropped (counted). The caller forwards,
 * so the call chain stays three frames deep (the 512-byte stack limit).
 */
__noinline int sl_xdp_select(struct sl_pkt *p, struct sl_xdp_sel *sel)
{
	const struct sl_table_params *prm;
	struct sl_lcore_stats *st;
	__u32 zero = 0, vip_id;
	struct vip_sel vip;
	__u64 hash = 0;
	__s64 be;

	if (!p || !sel)
		return XDP_PASS;
	if (!classify_cached(p, &vip))
		return pass(p->flags & SL_PKT_F_ICMP_INNER
				    ? SL_DROP_ICMP_UNMATCHED
				    : SL_DROP_NOT_VIP);
	vip_id = vip.id;
	if (vip_id == SL_VIP_AMBIGUOUS)
		return drop(SL_DROP_FRAG_AMBIGUOUS);
	if ((p->flags & SL_PKT_F_FRAG) && (vip.flags & SL_VIP_F_FRAG_DROP)) {
		vip_drop(vip_id);
		return drop(SL_DROP_FRAGMENT);
	}
	prm = bpf_map_lookup_elem(&params_map, &zero);
	st = lcore_stats();
	if (!prm || !st)
		return XDP_PASS;
	be = select_backend(&vip, &p->key, prm, sl_pkt_opens_conn(p), st,
			    &hash);
	if (be < 0) {
		vip_drop(vip_id);
		return drop(SL_DROP_NO_BACKEND);
	}
	if (p->flags & SL_PKT_F_ICMP_INNER)
		st->icmp_errors_forwarded++;
	sel->hash = hash;
	sel->vip = vip_id | (__u32)vip.method << 16;
	sel->be_id = (__u32)be;
	return SL_XDP_FORWARD;
}

/* ---- the program ---- */

/*
 * A frame sl_parse rejected: dropped under its reason when it is IP to a
 * VIP address, else left to the kernel.
 */
static __always_inline int malformed(const struct sl_pkt *p, enum sl_drop why)
{
	if (p->family && is_vip_addr(&p->key.dst, p->family))
		return drop(why);
	return pass(why);
}

/* The whole fast path; an XDP action. Global so a test wrapper can call it. */
__noinline int sl_xdp_process(struct xdp_md *ctx)
{
	struct sl_lcore_stats *st = lcore_stats();
	struct sl_xdp_sel sel;
	struct sl_pkt p;
	int kind, act;

	if (!st)
		return XDP_PASS;
	st->rx_packets++;
	st->rx_bytes += frame_len(ctx);
	kind = sl_xdp_parse(ctx, &p);
	if (kind < 0)
		return malformed(&p, (enum sl_drop) - kind);
	switch (kind) {
	case SL_PKT_L4:
	case SL_PKT_ICMP_ERR:
		act = sl_xdp_select(&p, &sel);
		if (act != SL_XDP_FORWARD)
			return act;
		act = sl_xdp_forward(ctx, &p, sel.vip, sel.be_id, sel.hash);
		if (act >= SL_XDP_TOO_BIG)
			act = sl_xdp_too_big(ctx, &p,
					     (__u32)(act - SL_XDP_TOO_BIG));
		break;
	case SL_PKT_ICMP_ECHO:
		act = sl_xdp_echo(ctx, &p);
		break;
	case SL_PKT_NON_IP:
		return pass(SL_DROP_NON_IP);
	default: /* ARP and NDP are the kernel's in XDP mode */
		return pass(SL_DROP_UNHANDLED);
	}
	if (act == XDP_TX || act == XDP_REDIRECT) {
		st = lcore_stats();
		if (st) {
			st->tx_packets++;
			st->tx_bytes += frame_len(ctx);
		}
	}
	return act;
}

SEC("xdp")
int sluice_xdp(struct xdp_md *ctx)
{
	return sl_xdp_process(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
