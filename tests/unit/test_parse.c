/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_parse.c: sl_parse on every header combination, on every truncation
 * of every corpus packet, on bogus lengths; and the checksum helpers.
 *
 * Truncated copies live in malloc'd buffers of exactly the truncated size,
 * so an out-of-bounds read shows up under ASan or valgrind
 * (`meson test -C build parse --wrap='valgrind --error-exitcode=1'`).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "pktbuild.h"

static int parse_buf(const struct pb *b, unsigned int len, struct sl_pkt *p)
{
	sl_u8 *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, b->buf, len);
	ret = sl_parse(copy, copy + len, p);
	free(copy);
	return ret;
}

static int parse(const struct pb *b, struct sl_pkt *p)
{
	return parse_buf(b, b->len, p);
}

static void assert_addr4(const union sl_addr *a, sl_u32 host)
{
	union sl_addr e;

	memset(&e, 0, sizeof(e));
	e.v4 = sl_htonl(host);
	assert_memory_equal(a, &e, sizeof(e));
}

static void assert_addr6(const union sl_addr *a, sl_u8 last)
{
	union sl_addr e = pb_a6(last);

	assert_memory_equal(a, &e, sizeof(e));
}

static void assert_addr(const union sl_addr *a, int v6, sl_u32 a4, sl_u8 a6)
{
	if (v6)
		assert_addr6(a, a6);
	else
		assert_addr4(a, a4);
}

static void
test_parse_every_combination_fills_kind_offsets_and_key(void **state)
{
	int i;

	for (i = 0; i < PB_COMBOS; i++) {
		struct pb b;
		struct sl_pkt p;
		int l2, l3, l4, v6, ret, err;
		unsigned int l3_off;

		pb_combo(&b, i, &l2, &l3, &l4);
		v6 = l3 >= 2;
		err = l4 >= 3;
		ret = parse(&b, &p);
		l3_off = 14 + 4 * (unsigned int)l2;
		assert_int_equal(p.nvlan, l2);
		if (l2 >= 1)
			assert_int_equal(p.vlan_tci[0], 100);
		if (l2 >= 2)
			assert_int_equal(p.vlan_tci[1], 200);
		assert_int_equal(p.ethertype, v6 ? SL_ETH_P_IPV6 : SL_ETH_P_IP);
		assert_int_equal(p.l3_off, l3_off);
		assert_int_equal(p.l3_len, b.len - l3_off);
		assert_int_equal(p.family, v6 ? SL_AF_INET6 : SL_AF_INET);
		assert_int_equal(p.key.family, p.family);
		assert_int_equal(p.ttl, 64);
		assert_memory_equal(p.key.pad, "\0\0", 2);
		/* The key always reads client -> VIP. */
		assert_addr(&p.key.src, v6, PB_CLIENT4, PB_CLIENT6);
		assert_addr(&p.key.dst, v6, PB_VIP4, PB_VIP6);
		switch (l4) {
		case 0:
			assert_int_equal(ret, SL_PKT_L4);
			assert_int_equal(p.l4_off, pb_off(&b, PB_TCP, 0));
			assert_int_equal(p.key.proto, SL_IPPROTO_TCP);
			assert_int_equal(p.tcp_flags, SL_TCP_SYN);
			break;
		case 1:
			assert_int_equal(ret, SL_PKT_L4);
			assert_int_equal(p.l4_off, pb_off(&b, PB_UDP, 0));
			assert_int_equal(p.key.proto, SL_IPPROTO_UDP);
			break;
		case 2:
			assert_int_equal(ret, SL_PKT_ICMP_ECHO);
			assert_int_equal(p.l4_off, pb_off(&b, PB_ICMP, 0));
			assert_int_equal(p.key.proto, v6 ? SL_IPPROTO_ICMPV6
							 : SL_IPPROTO_ICMP);
			assert_int_equal(p.icmp_type, v6 ? SL_ICMP6_ECHO_REQUEST
							 : SL_ICMP_ECHO);
			assert_int_equal(p.key.sport, 0);
			assert_int_equal(p.key.dport, 0);
			break;
		default:
			assert_int_equal(ret, SL_PKT_ICMP_ERR);
			assert_int_equal(p.l4_off, pb_off(&b, PB_ICMP, 0));
			assert_int_equal(p.l4proto, v6 ? SL_IPPROTO_ICMPV6
						       : SL_IPPROTO_ICMP);
			assert_int_equal(p.key.proto, l4 == 3 ? SL_IPPROTO_TCP
							      : SL_IPPROTO_UDP);
			assert_true(p.flags & SL_PKT_F_ICMP_INNER);
			assert_int_equal(p.inner_l3_off,
					 pb_off(&b, v6 ? PB_IP6 : PB_IP4, 1));
			assert_int_equal(
				p.inner_l4_off,
				pb_off(&b, l4 == 3 ? PB_TCP : PB_UDP, 0));
			assert_addr(&p.outer_src, v6, PB_ROUTER4, PB_ROUTER6);
			assert_addr(&p.outer_dst, v6, PB_VIP4, PB_VIP6);
			break;
		}
		if (l4 != 2) {
			assert_int_equal(sl_ntohs(p.key.sport), PB_SPORT);
			assert_int_equal(sl_ntohs(p.key.dport), PB_DPORT);
		}
		assert_int_equal(
			p.flags & (SL_PKT_F_FRAG | SL_PKT_F_FRAG_LATER), 0);
		assert_int_equal(!!(p.flags & SL_PKT_F_DF), !v6 && !err);
	}
}

/* What a prefix of len bytes of b must parse to. */
static int expected_prefix_result(const struct pb *b, unsigned int len,
				  int full)
{
	if (len < 14)
		return -SL_DROP_TRUNCATED;
	if (full == SL_PKT_NON_IP)
		return SL_PKT_NON_IP;
	if (!strcmp(b->name, "ip4-padded") && len >= 14 + 40)
		return full;
	return len == b->len ? full : -SL_DROP_TRUNCATED;
}

static void test_parse_truncated_at_every_byte_is_truncated(void **state)
{
	int i;

	for (i = 0; i < PB_CORPUS_N; i++) {
		struct pb b;
		struct sl_pkt p;
		unsigned int len;
		int full;

		pb_corpus(&b, i);
		full = parse(&b, &p);
		assert_true(full >= 0);
		for (len = 0; len <= b.len; len++) {
			int ret = parse_buf(&b, len, &p);

			if (ret != expected_prefix_result(&b, len, full))
				fail_msg("%s cut at %u: got %d", b.name, len,
					 ret);
		}
	}
}

/*
 * sl_parse_fast4() and sl_parse_fast6_end() on exactly len bytes (a heap
 * copy of that size, so a read past the end is caught under valgrind/ASan)
 * must agree with sl_parse(): whatever one takes is SL_PKT_L4 with a
 * byte-identical result, and each takes every packet of its kind
 * (untagged IPv4 without options, or IPv6 without extension headers; not
 * a fragment; TCP/UDP).
 */
static void check_fast4(const sl_u8 *data, unsigned int len, const char *name)
{
	sl_u8 *copy = malloc(len ? len : 1);
	struct sl_pkt slow, fast, fast6;
	int kind, took, took6, eligible, eligible6;

	assert_non_null(copy);
	memcpy(copy, data, len);
	kind = sl_parse(copy, copy + len, &slow);
	took = sl_parse_fast4(copy, len, &fast);
	took6 = sl_parse_fast6_end(copy, copy + len, &fast6);
	eligible = kind == SL_PKT_L4 && slow.nvlan == 0 &&
		   !(slow.flags & SL_PKT_F_FRAG);
	eligible6 = eligible && slow.ethertype == SL_ETH_P_IPV6 &&
		    slow.l4_off == 14 + 40;
	eligible = eligible && slow.ethertype == SL_ETH_P_IP &&
		   slow.l4_off == 14 + 20;
	free(copy);
	if (took && (kind != SL_PKT_L4 || memcmp(&slow, &fast, sizeof(fast))))
		fail_msg("%s (%u bytes): fast parser differs from sl_parse "
			 "(kind %d)",
			 name, len, kind);
	if (took6 &&
	    (kind != SL_PKT_L4 || memcmp(&slow, &fast6, sizeof(fast6))))
		fail_msg("%s (%u bytes): fast IPv6 parser differs from "
			 "sl_parse (kind %d)",
			 name, len, kind);
	if (eligible && !took)
		fail_msg("%s (%u bytes): fast parser missed a plain packet",
			 name, len);
	if (eligible6 && !took6)
		fail_msg("%s (%u bytes): fast IPv6 parser missed a plain "
			 "packet",
			 name, len);
}

static void test_fast4_parser_agrees_with_sl_parse(void **state)
{
	sl_u64 x = 0x9e3779b97f4a7c15ull;
	unsigned int len;
	int i, k;

	(void)state;
	for (i = 0; i < PB_CORPUS_N; i++) {
		struct pb b;

		pb_corpus(&b, i);
		for (len = 0; len <= b.len; len++)
			check_fast4(b.buf, len, b.name);
	}
	/* Every IPv4 total length near the headers' sizes, the frame cut
	 * right after it: the header must not be read beyond the packet. */
	for (i = 0; i < PB_CORPUS_N; i++) {
		struct pb b;
		sl_u16 tot;

		pb_corpus(&b, i);
		if (b.len < 34 || b.buf[12] != 0x08 || b.buf[13] != 0 ||
		    b.buf[14] != 0x45)
			continue;
		for (tot = 20; tot <= 60 && 14u + tot <= b.len; tot++) {
			b.buf[16] = (sl_u8)(tot >> 8);
			b.buf[17] = (sl_u8)tot;
			check_fast4(b.buf, 14u + tot, b.name);
		}
	}
	/* The same for every IPv6 payload length near the L4 headers'. */
	for (i = 0; i < PB_CORPUS_N; i++) {
		struct pb b;
		sl_u16 pl;

		pb_corpus(&b, i);
		if (b.len < 54 || b.buf[12] != 0x86 || b.buf[13] != 0xdd)
			continue;
		for (pl = 0; pl <= 40 && 54u + pl <= b.len; pl++) {
			b.buf[18] = (sl_u8)(pl >> 8);
			b.buf[19] = (sl_u8)pl;
			check_fast4(b.buf, 54u + pl, b.name);
		}
	}
	/* Mutated headers: lengths, version, flags, ports, protocol. */
	for (k = 0; k < 50000; k++) {
		struct pb b;
		int flips;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		pb_corpus(&b, (int)(x % PB_CORPUS_N));
		for (flips = 0; flips < 1 + (int)(x >> 60 & 3); flips++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (b.len > 0)
				b.buf[x % (b.len < 64 ? b.len : 64)] ^=
					(sl_u8)(1u << (x >> 32 & 7));
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		check_fast4(b.buf,
			    (x & 1) ? b.len : (unsigned int)(x % (b.len + 1)),
			    b.name);
	}
}

static void test_parse_ipv4_options_are_skipped(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip4_ex(&b, PB_CLIENT4, PB_VIP4, 40, 0);
	pb_udp(&b, 1, 2);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), SL_PKT_L4);
	assert_int_equal(p.l4_off, 14 + 60);
	assert_int_equal(sl_ntohs(p.key.dport), 2);
}

static void test_parse_ipv6_extension_headers_are_walked(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip6(&b, pb_a6(1), pb_a6(2));
	pb_ip6_ext(&b, SL_IP6_NH_HOPOPTS, 8);
	pb_ip6_ext(&b, SL_IP6_NH_ROUTING, 24);
	pb_ip6_frag(&b, 0, 0); /* atomic fragment: offset 0, no MF */
	pb_ip6_ext(&b, SL_IP6_NH_AH, 16);
	pb_ip6_ext(&b, SL_IP6_NH_DSTOPTS, 8);
	pb_ip6_ext(&b, SL_IP6_NH_DSTOPTS, 8);
	pb_tcp(&b, 5, 6, SL_TCP_ACK, 0);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), SL_PKT_L4);
	assert_int_equal(p.l4_off, pb_off(&b, PB_TCP, 0));
	assert_int_equal(p.l4proto, SL_IPPROTO_TCP);
	/* An atomic fragment is no fragment (RFC 6946): the ports stay in the key. */
	assert_int_equal(p.flags & (SL_PKT_F_FRAG | SL_PKT_F_FRAG_LATER), 0);
	assert_int_equal(sl_ntohs(p.key.sport), 5);
}

static void test_parse_more_than_max_ipv6_extension_headers_is_bad(void **state)
{
	struct pb b;
	struct sl_pkt p;
	int i;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip6(&b, pb_a6(1), pb_a6(2));
	for (i = 0; i < SL_IP6_MAX_EXT + 1; i++)
		pb_ip6_ext(&b, SL_IP6_NH_DSTOPTS, 8);
	pb_udp(&b, 1, 2);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_IP6_EXT);
}

static void test_parse_ipv6_no_next_header_is_ip_other(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip6(&b, pb_a6(1), pb_a6(2));
	pb_ip6_ext(&b, SL_IP6_NH_DSTOPTS, 8); /* nexthdr 59 */
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), SL_PKT_IP_OTHER);
	assert_int_equal(p.l4proto, SL_IP6_NH_NONE);
}

static void test_parse_fragments_hash_on_addresses_only(void **state)
{
	static const struct {
		int x;
		int kind;
		sl_u8 flags;
		sl_u8 proto;
	} cases[] = {
		{ PB_X_IP4_FRAG_FIRST, SL_PKT_L4, SL_PKT_F_FRAG,
		  SL_IPPROTO_TCP },
		{ PB_X_IP4_FRAG_LATER, SL_PKT_L4,
		  SL_PKT_F_FRAG | SL_PKT_F_FRAG_LATER, SL_IPPROTO_TCP },
		{ PB_X_IP6_FRAG_FIRST, SL_PKT_L4, SL_PKT_F_FRAG,
		  SL_IPPROTO_UDP },
		{ PB_X_IP6_FRAG_LATER, SL_PKT_L4,
		  SL_PKT_F_FRAG | SL_PKT_F_FRAG_LATER, SL_IPPROTO_UDP },
		{ PB_X_IP4_UDP_FRAG_FIRST, SL_PKT_L4, SL_PKT_F_FRAG,
		  SL_IPPROTO_UDP },
	};
	unsigned int i;

	for (i = 0; i < SL_ARRAY_SIZE(cases); i++) {
		struct pb b;
		struct sl_pkt p;

		pb_extra(&b, cases[i].x);
		assert_int_equal(parse(&b, &p), cases[i].kind);
		assert_int_equal(p.flags & ~SL_PKT_F_DF, cases[i].flags);
		assert_int_equal(p.key.proto, cases[i].proto);
		assert_int_equal(p.key.sport, 0);
		assert_int_equal(p.key.dport, 0);
		if (p.family == SL_AF_INET) {
			assert_addr4(&p.key.src, PB_CLIENT4);
			assert_addr4(&p.key.dst, PB_VIP4);
		} else {
			assert_addr6(&p.key.src, PB_CLIENT6);
			assert_addr6(&p.key.dst, PB_VIP6);
		}
		if (!(cases[i].flags & SL_PKT_F_FRAG_LATER))
			assert_int_equal(p.l4_off,
					 pb_off(&b,
						cases[i].proto == SL_IPPROTO_TCP
							? PB_TCP
							: PB_UDP,
						0));
		else
			assert_int_equal(p.l4_off, pb_off(&b, PB_DATA, 0));
	}
}

static void test_parse_later_icmp_fragment_is_ip_other(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip4_ex(&b, PB_CLIENT4, PB_VIP4, 0, 100);
	pb_set_next(&b, 0, SL_IPPROTO_ICMP);
	pb_data(&b, 3); /* not even an ICMP header's worth */
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), SL_PKT_IP_OTHER);
	assert_true(p.flags & SL_PKT_F_FRAG_LATER);
}

static void test_parse_arp_ndp_and_non_ip_are_classified(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_extra(&b, PB_X_ARP);
	assert_int_equal(parse(&b, &p), SL_PKT_ARP);
	assert_int_equal(p.l3_off, 14);
	assert_int_equal(p.ethertype, SL_ETH_P_ARP);
	assert_int_equal(p.family, 0);

	pb_extra(&b, PB_X_NDP_NS);
	assert_int_equal(parse(&b, &p), SL_PKT_NDP);
	assert_int_equal(p.icmp_type, SL_ICMP6_ND_NEIGH_SOLICIT);
	assert_int_equal(p.ttl, 255);
	pb_extra(&b, PB_X_NDP_NA);
	assert_int_equal(parse(&b, &p), SL_PKT_NDP);
	assert_int_equal(p.icmp_type, SL_ICMP6_ND_NEIGH_ADVERT);

	pb_extra(&b, PB_X_NON_IP);
	assert_int_equal(parse(&b, &p), SL_PKT_NON_IP);
	assert_int_equal(p.ethertype, 0x88cc);
	assert_int_equal(p.family, 0);
}

static void test_parse_arp_for_other_hardware_is_non_ip(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_extra(&b, PB_X_ARP);
	b.buf[14 + 1] = 6; /* htype IEEE 802 */
	assert_int_equal(parse(&b, &p), SL_PKT_NON_IP);
}

static void test_parse_ndp_without_target_is_truncated(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip6(&b, pb_a6(1), pb_a6(2));
	pb_icmp(&b, SL_ICMP6_ND_NEIGH_SOLICIT, 0);
	pb_data(&b, 8);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), -SL_DROP_TRUNCATED);
}

static void test_parse_other_ip_and_icmp_are_classified(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_extra(&b, PB_X_IP4_GRE);
	assert_int_equal(parse(&b, &p), SL_PKT_IP_OTHER);
	assert_int_equal(p.l4proto, 47);
	assert_int_equal(p.key.proto, 47);
	assert_int_equal(p.l4_off, 34);

	pb_extra(&b, PB_X_ICMP4_ECHOREPLY);
	assert_int_equal(parse(&b, &p), SL_PKT_ICMP_OTHER);
	assert_int_equal(p.icmp_type, SL_ICMP_ECHOREPLY);
}

static void test_parse_icmp_of_wrong_family_is_ip_other(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip6(&b, pb_a6(1), pb_a6(2));
	pb_set_next(&b, 0, SL_IPPROTO_ICMP);
	pb_data(&b, 8);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), SL_PKT_IP_OTHER);
}

static void test_parse_icmp_error_quoting_icmp_has_no_ports(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_extra(&b, PB_X_IP4_ICMP_ERR_ICMP);
	assert_int_equal(parse(&b, &p), SL_PKT_ICMP_ERR);
	assert_int_equal(p.key.proto, SL_IPPROTO_ICMP);
	assert_addr4(&p.key.src, PB_CLIENT4);
	assert_addr4(&p.key.dst, PB_VIP4);
	assert_int_equal(p.key.sport, 0);
	assert_int_equal(p.key.dport, 0);
}

static void
test_parse_icmp6_error_quoting_first_fragment_has_ports(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_extra(&b, PB_X_IP6_ICMP_ERR_FRAG);
	assert_int_equal(parse(&b, &p), SL_PKT_ICMP_ERR);
	assert_int_equal(p.key.proto, SL_IPPROTO_UDP);
	assert_int_equal(sl_ntohs(p.key.sport), PB_SPORT);
	assert_int_equal(sl_ntohs(p.key.dport), 53);
	assert_int_equal(p.inner_l4_off, pb_off(&b, PB_UDP, 0));
	/* The outer packet is no fragment; the quoted one's flags stay inside. */
	assert_int_equal(p.flags, SL_PKT_F_ICMP_INNER);
}

static void
test_parse_icmp_error_quoting_wrong_family_is_bad_version(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip4(&b, PB_ROUTER4, PB_VIP4);
	pb_icmp(&b, SL_ICMP_DEST_UNREACH, 3);
	pb_ip6(&b, pb_a6(1), pb_a6(2));
	pb_udp(&b, 1, 2);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_IP_VERSION);
}

static void
test_parse_icmp_error_without_quoted_ports_is_truncated(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip4(&b, PB_ROUTER4, PB_VIP4);
	pb_icmp(&b, SL_ICMP_DEST_UNREACH, 3);
	pb_ip4(&b, PB_VIP4, PB_CLIENT4);
	pb_set_next(&b, 0, SL_IPPROTO_TCP);
	pb_data(&b, 3);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), -SL_DROP_TRUNCATED);
}

static void test_parse_ethernet_padding_is_ignored(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_extra(&b, PB_X_IP4_PADDED);
	assert_int_equal(b.len, 60);
	assert_int_equal(parse(&b, &p), SL_PKT_L4);
	assert_int_equal(p.l3_len, 40);
}

/* A plain IPv4/TCP or IPv4/UDP packet for the bogus-length tests. */
static struct sl_iphdr *plain4(struct pb *b, int udp)
{
	pb_init(b);
	pb_eth(b, 0);
	pb_ip4(b, PB_CLIENT4, PB_VIP4);
	if (udp)
		pb_udp(b, 1, 2);
	else
		pb_tcp(b, 1, 2, SL_TCP_SYN, 0);
	pb_data(b, 20);
	pb_finish(b);
	return (struct sl_iphdr *)(b->buf + 14);
}

static void test_parse_ipv4_bogus_lengths_are_rejected(void **state)
{
	struct pb b;
	struct sl_pkt p;
	struct sl_iphdr *ip;

	ip = plain4(&b, 0);
	ip->ver_ihl = 0x44;
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_IP_HDR);

	ip = plain4(&b, 0);
	ip->ver_ihl = 0x46;
	ip->tot_len = sl_htons(20);
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_IP_HDR);

	ip = plain4(&b, 0);
	ip->tot_len = sl_htons((sl_u16)(b.len - 14 + 1));
	assert_int_equal(parse(&b, &p), -SL_DROP_TRUNCATED);

	/* tot_len shorter than the TCP header it carries. */
	ip = plain4(&b, 0);
	ip->tot_len = sl_htons(20 + 12);
	assert_int_equal(parse(&b, &p), -SL_DROP_TRUNCATED);

	ip = plain4(&b, 0);
	ip->ver_ihl = 0x65;
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_IP_VERSION);
}

static void test_parse_l4_bogus_lengths_are_rejected(void **state)
{
	struct pb b;
	struct sl_pkt p;
	struct sl_tcphdr *th;
	struct sl_udphdr *uh;

	plain4(&b, 0);
	th = (struct sl_tcphdr *)(b.buf + 34);
	th->doff_res = 4 << 4;
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_L4);
	th->doff_res = 15 << 4; /* 60 bytes, only 40 present */
	assert_int_equal(parse(&b, &p), -SL_DROP_TRUNCATED);

	plain4(&b, 1);
	uh = (struct sl_udphdr *)(b.buf + 34);
	uh->len = sl_htons(7);
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_L4);
	uh->len = sl_htons(8 + 20 + 1);
	assert_int_equal(parse(&b, &p), -SL_DROP_TRUNCATED);
	uh->len = sl_htons(8); /* shorter than the IP payload: allowed */
	assert_int_equal(parse(&b, &p), SL_PKT_L4);
}

static void test_parse_ipv6_bogus_lengths_are_rejected(void **state)
{
	struct pb b;
	struct sl_pkt p;
	struct sl_ip6hdr *ip6;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_ip6(&b, pb_a6(1), pb_a6(2));
	pb_udp(&b, 1, 2);
	pb_finish(&b);
	ip6 = (struct sl_ip6hdr *)(b.buf + 14);
	ip6->payload_len = sl_htons(9);
	assert_int_equal(parse(&b, &p), -SL_DROP_TRUNCATED);
	ip6->payload_len = sl_htons(7); /* UDP header past the payload */
	assert_int_equal(parse(&b, &p), -SL_DROP_TRUNCATED);
	ip6->payload_len = sl_htons(8);
	ip6->ver_tc_flow = sl_htonl(0x40000000);
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_IP_VERSION);
}

static void test_parse_vlan_depth_is_limited_to_two(void **state)
{
	struct pb b;
	struct sl_pkt p;

	pb_init(&b);
	pb_eth(&b, 0);
	pb_vlan(&b, SL_ETH_P_8021AD, 1);
	pb_vlan(&b, SL_ETH_P_8021Q, 2);
	pb_vlan(&b, SL_ETH_P_8021Q, 3);
	pb_ip4(&b, PB_CLIENT4, PB_VIP4);
	pb_udp(&b, 1, 2);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), -SL_DROP_VLAN_DEPTH);

	/* An S-tag is only valid outermost. */
	pb_init(&b);
	pb_eth(&b, 0);
	pb_vlan(&b, SL_ETH_P_8021Q, 1);
	pb_vlan(&b, SL_ETH_P_8021AD, 2);
	pb_ip4(&b, PB_CLIENT4, PB_VIP4);
	pb_udp(&b, 1, 2);
	pb_finish(&b);
	assert_int_equal(parse(&b, &p), -SL_DROP_BAD_L2);
}

static void test_parse_key_is_zero_padded(void **state)
{
	struct pb b;
	struct sl_pkt p;
	int i;

	plain4(&b, 0);
	memset(&p, 0xff, sizeof(p));
	assert_int_equal(parse(&b, &p), SL_PKT_L4);
	for (i = 4; i < 16; i++) {
		assert_int_equal(p.key.src.b[i], 0);
		assert_int_equal(p.key.dst.b[i], 0);
	}
	assert_int_equal(p.key.pad[0] | p.key.pad[1], 0);
}

/* Checksums. */

static void test_csum_rfc1071_example(void **state)
{
	/* RFC 1071 section 3: sum of these words is ddf2 (after fold). */
	static const sl_u8 data[8] = { 0x00, 0x01, 0xf2, 0x03,
				       0xf4, 0xf5, 0xf6, 0xf7 };
	sl_u16 c = sl_csum_fold(sl_csum_partial(data, sizeof(data), 0));
	sl_u8 out[2];

	memcpy(out, &c, 2);
	assert_int_equal(out[0], 0x22); /* ~ddf2 = 220d, in memory order */
	assert_int_equal(out[1], 0x0d);
}

static void test_csum_known_ipv4_header(void **state)
{
	/* 192.168.0.1 -> 192.168.0.199, UDP, tot_len 115: checksum b861. */
	sl_u8 h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
			0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
			0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	assert_int_equal(sl_csum_ip4_hdr(h), 0);
	h[10] = h[11] = 0;
	assert_int_equal(sl_ntohs(sl_csum_ip4_hdr(h)), 0xb861);
}

static void test_csum_incremental_update_matches_recompute(void **state)
{
	unsigned int seed = 12345, n;
	sl_u8 h[20];

	for (n = 0; n < 10000; n++) {
		struct sl_iphdr *ip = (struct sl_iphdr *)h;
		sl_be16 check, old16, new16;
		sl_be32 old32, new32;
		unsigned int i;

		for (i = 0; i < sizeof(h); i++)
			h[i] = (sl_u8)rand_r(&seed);
		ip->check = 0;
		ip->check = sl_csum_ip4_hdr(h);

		/* TTL decrement: the 16-bit word holding ttl and protocol. */
		memcpy(&old16, &h[8], 2);
		h[8]--;
		memcpy(&new16, &h[8], 2);
		check = sl_csum_update16(ip->check, old16, new16);
		ip->check = 0;
		assert_int_equal(check, sl_csum_ip4_hdr(h));
		ip->check = check;

		/* Address rewrite. */
		old32 = ip->daddr;
		new32 = (sl_be32)(((sl_u32)rand_r(&seed) << 16) ^
				  (sl_u32)rand_r(&seed));
		ip->daddr = new32;
		check = sl_csum_update32(ip->check, old32, new32);
		ip->check = 0;
		assert_int_equal(check, sl_csum_ip4_hdr(h));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_parse_every_combination_fills_kind_offsets_and_key),
		cmocka_unit_test(
			test_parse_truncated_at_every_byte_is_truncated),
		cmocka_unit_test(test_parse_ipv4_options_are_skipped),
		cmocka_unit_test(test_fast4_parser_agrees_with_sl_parse),
		cmocka_unit_test(test_parse_ipv6_extension_headers_are_walked),
		cmocka_unit_test(
			test_parse_more_than_max_ipv6_extension_headers_is_bad),
		cmocka_unit_test(test_parse_ipv6_no_next_header_is_ip_other),
		cmocka_unit_test(test_parse_fragments_hash_on_addresses_only),
		cmocka_unit_test(test_parse_later_icmp_fragment_is_ip_other),
		cmocka_unit_test(test_parse_arp_ndp_and_non_ip_are_classified),
		cmocka_unit_test(test_parse_arp_for_other_hardware_is_non_ip),
		cmocka_unit_test(test_parse_ndp_without_target_is_truncated),
		cmocka_unit_test(test_parse_other_ip_and_icmp_are_classified),
		cmocka_unit_test(test_parse_icmp_of_wrong_family_is_ip_other),
		cmocka_unit_test(
			test_parse_icmp_error_quoting_icmp_has_no_ports),
		cmocka_unit_test(
			test_parse_icmp6_error_quoting_first_fragment_has_ports),
		cmocka_unit_test(
			test_parse_icmp_error_quoting_wrong_family_is_bad_version),
		cmocka_unit_test(
			test_parse_icmp_error_without_quoted_ports_is_truncated),
		cmocka_unit_test(test_parse_ethernet_padding_is_ignored),
		cmocka_unit_test(test_parse_ipv4_bogus_lengths_are_rejected),
		cmocka_unit_test(test_parse_l4_bogus_lengths_are_rejected),
		cmocka_unit_test(test_parse_ipv6_bogus_lengths_are_rejected),
		cmocka_unit_test(test_parse_vlan_depth_is_limited_to_two),
		cmocka_unit_test(test_parse_key_is_zero_padded),
		cmocka_unit_test(test_csum_rfc1071_example),
		cmocka_unit_test(test_csum_known_ipv4_header),
		cmocka_unit_test(
			test_csum_incremental_update_matches_recompute),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
