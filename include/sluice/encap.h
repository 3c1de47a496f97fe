/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * encap.h: the outer headers sluice puts on a forwarded packet, written the
 * same way by sluice-dp and by the XDP program so both emit identical bytes.
 *
 * Every field is a function of the packet, the flow hash and the published
 * table; nothing depends on time or on which dataplane runs:
 *   - outer IPv4: TOS copied from the inner packet, ID 0, DF copied from an
 *     IPv4 inner packet (always set for IPv6 inner), TTL 64;
 *   - outer IPv6: traffic class copied, flow label = low 20 bits of the flow
 *     hash, hop limit 64;
 *   - outer source: the configured base address with its host bits taken
 *     from the flow hash, so backends can spread tunnels over RX queues;
 *   - GUE (variant 1, direct IP-in-UDP, as Katran and Linux fou "gue"
 *     direct mode): UDP source port 49152 + (hash >> 20) % 16384, UDP
 *     checksum 0 (RFC 6935/6936 permit it for tunnels; the decap program
 *     does not check it).
 */
#ifndef SLUICE_ENCAP_H
#define SLUICE_ENCAP_H

#include "csum.h"
#include "parse.h"
#include "table.h"
#include "types.h"

#define SL_ENCAP_TTL 64
#define SL_ENCAP_MAX_LEN (40 + 8)

/* Bytes of outer header for a method and the backend's family. */
static SL_ALWAYS_INLINE sl_u32 sl_encap_len(sl_u8 method, sl_u8 outer_family)
{
	sl_u32 ip = outer_family == SL_AF_INET6 ? 40 : 20;

	if (method == SL_METHOD_IPIP)
		return ip;
	if (method == SL_METHOD_GUE)
		return ip + 8;
	return 0;
}

/* base with its low (width - bits) bits replaced from the hash. */
static SL_ALWAYS_INLINE void sl_encap_src(const union sl_addr *base, sl_u8 bits,
					  sl_u8 family, sl_u64 hash,
					  union sl_addr *out)
{
	*out = *base;
	if (family == SL_AF_INET) {
		sl_u32 host = bits >= 32 ? 0 : (0xffffffffu >> bits);

		out->v4 = sl_htonl((sl_ntohl(base->v4) & ~host) |
				   ((sl_u32)hash & host));
	} else {
		/* Vary at most the last 32 bits of an IPv6 source. */
		sl_u32 host = bits >= 128  ? 0
			      : bits <= 96 ? 0xffffffffu
					   : (0xffffffffu >> (bits - 96));

		out->w[3] = sl_htonl((sl_ntohl(base->w[3]) & ~host) |
				     ((sl_u32)hash & host));
	}
}

static SL_ALWAYS_INLINE sl_be16 sl_encap_gue_sport(sl_u64 hash)
{
	return sl_htons((sl_u16)(49152u + ((sl_u32)(hash >> 20) & 16383u)));
}

/* The inner packet's TOS / traffic class byte. */
static SL_ALWAYS_INLINE sl_u8 sl_encap_inner_tos(const sl_u8 *inner,
						 sl_u8 inner_family)
{
	if (inner_family == SL_AF_INET)
		return inner[1];
	return (sl_u8)(((inner[0] & 0x0f) << 4) | (inner[1] >> 4));
}

static SL_ALWAYS_INLINE void sl_encap_ip4(struct sl_iphdr *ip, sl_u8 tos,
					  sl_u16 tot_len, sl_u8 proto, int df,
					  sl_be32 src, sl_be32 dst)
{
	ip->ver_ihl = 0x45;
	ip->tos = tos;
	ip->tot_len = sl_htons(tot_len);
	ip->id = 0;
	ip->frag_off = df ? SL_BE16(SL_IP4_DF) : 0;
	ip->ttl = SL_ENCAP_TTL;
	ip->protocol = proto;
	ip->check = 0;
	ip->saddr = src;
	ip->daddr = dst;
	ip->check = sl_csum_ip4_hdr(ip);
}

static SL_ALWAYS_INLINE void sl_encap_ip6(struct sl_ip6hdr *ip6, sl_u8 tclass,
					  sl_u32 flow_label, sl_u16 payload_len,
					  sl_u8 nexthdr,
					  const union sl_addr *src,
					  const union sl_addr *dst)
{
	ip6->ver_tc_flow = sl_htonl((6u << 28) | ((sl_u32)tclass << 20) |
				    (flow_label & 0xfffffu));
	ip6->payload_len = sl_htons(payload_len);
	ip6->nexthdr = nexthdr;
	ip6->hop_limit = SL_ENCAP_TTL;
	ip6->saddr = *src;
	ip6->daddr = *dst;
}

/*
 * Write the outer IP (+UDP) header at out, in front of an inner IP packet of
 * inner_len bytes of family inner_family whose first bytes are at inner.
 * Returns the outer length written (sl_encap_len()).
 */
static SL_ALWAYS_INLINE sl_u32 sl_encap_write(
	sl_u8 *out, const sl_u8 *inner, sl_u16 inner_len, sl_u8 inner_family,
	int inner_df, sl_u8 method, const struct sl_backend_entry *be,
	const struct sl_table_params *prm, sl_u64 hash)
{
	sl_u8 tos = sl_encap_inner_tos(inner, inner_family);
	sl_u8 ipproto =
		inner_family == SL_AF_INET ? SL_IPPROTO_IPIP : SL_IPPROTO_IPV6;
	sl_u32 udp_len = method == SL_METHOD_GUE ? 8 : 0;
	union sl_addr src;
	sl_u8 proto = udp_len ? SL_IPPROTO_UDP : ipproto;
	struct sl_udphdr *udp;
	sl_u32 ip_len;

	if (be->family == SL_AF_INET) {
		sl_encap_src(&prm->encap_src4, prm->encap_src4_bits, SL_AF_INET,
			     hash, &src);
		ip_len = 20;
		sl_encap_ip4((struct sl_iphdr *)out, tos,
			     (sl_u16)(ip_len + udp_len + inner_len), proto,
			     inner_family == SL_AF_INET6 || inner_df, src.v4,
			     be->addr.v4);
	} else {
		sl_encap_src(&prm->encap_src6, prm->encap_src6_bits,
			     SL_AF_INET6, hash, &src);
		ip_len = 40;
		sl_encap_ip6((struct sl_ip6hdr *)out, tos, (sl_u32)hash,
			     (sl_u16)(udp_len + inner_len), proto, &src,
			     &be->addr);
	}
	if (udp_len) {
		udp = (struct sl_udphdr *)(out + ip_len);
		udp->source = sl_encap_gue_sport(hash);
		udp->dest = prm->gue_port;
		udp->len = sl_htons((sl_u16)(8 + inner_len));
		udp->check = 0;
	}
	return ip_len + udp_len;
}

#endif /* SLUICE_ENCAP_H */
