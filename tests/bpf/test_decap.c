/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_decap.c: the backend-side decapsulation program
 * (bpf/sluice_decap.bpf.c), both entry points, through BPF_PROG_TEST_RUN.
 *
 * Each case is a whole Ethernet frame built here byte by byte (not with the
 * program's own parser), the verdict it must get, the exact bytes it must
 * come out as, and the one counter that must move. Every case runs through
 * the XDP program and the tc program alike. Needs root (BPF_PROG_TEST_RUN);
 * exits 77, "skipped", otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "sluice/decap.h"
#include "sluice_decap.skel.h"

#define MAX_FRAME 512

struct frame {
	uint8_t b[MAX_FRAME];
	size_t len;
};

enum expect {
	E_DECAP, /* output = Ethernet (inner type) + inner packet */
	E_PASS,	 /* output = input, untouched */
	E_DROP,
};

/* ---- frame builders ---------------------------------------------------- */

static void put(struct frame *f, const void *p, size_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = { v >> 8, v & 0xff };

	put(f, b, 2);
}

static void put_eth(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0xbb,
					  0x02, 0, 0, 0, 0, 0xaa };

	put(f, macs, sizeof(macs));
	put16(f, type);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* IPv4 header, 20 bytes; @tot_len includes the header. */
static void put_ip4(struct frame *f, uint8_t proto, uint8_t last_src,
		    uint8_t last_dst, uint16_t tot_len, uint16_t frag_off)
{
	uint8_t h[20] = { 0x45,
			  0,
			  (uint8_t)(tot_len >> 8),
			  (uint8_t)tot_len,
			  0x12,
			  0x34,
			  (uint8_t)(frag_off >> 8),
			  (uint8_t)frag_off,
			  64,
			  proto,
			  0,
			  0,
			  203,
			  0,
			  113,
			  last_src,
			  192,
			  0,
			  2,
			  last_dst };
	uint16_t c = csum(h, sizeof(h));

	h[10] = c >> 8;
	h[11] = c & 0xff;
	put(f, h, sizeof(h));
}

static void put_ip6(struct frame *f, uint8_t nexthdr, uint16_t plen)
{
	uint8_t h[40] = { 0x60,		 0,	  0, 0, (uint8_t)(plen >> 8),
			  (uint8_t)plen, nexthdr, 64 };

	h[8] = 0x20;
	h[9] = 0x01;
	h[10] = 0x0d;
	h[11] = 0xb8; /* 2001:db8:: */
	h[23] = 1;
	h[24] = 0x20;
	h[25] = 0x01;
	h[26] = 0x0d;
	h[27] = 0xb8;
	h[39] = 2;
	put(f, h, sizeof(h));
}

static void put_udp(struct frame *f, uint16_t dport, uint16_t payload)
{
	put16(f, 40000);
	put16(f, dport);
	put16(f, (uint16_t)(8 + payload));
	put16(f, 0);
}

/* A TCP SYN to port 8080 with a recognisable sequence number. */
static void put_tcp_syn(struct frame *f)
{
	uint8_t h[20] = { 0xc3, 0x50, 0x1f, 0x90, 0xde, 0xad, 0xbe, 0xef,
			  0,	0,    0,    0,	  0x50, 0x02, 0xff, 0xff };

	put(f, h, sizeof(h));
}

/* The client's packet, as the load balancer received it: 40 or 60 bytes. */
static void put_inner(struct frame *f, int v6)
{
	if (v6)
		put_ip6(f, 6, 20);
	else
		put_ip4(f, 6, 2, 10, 40, 0);
	put_tcp_syn(f);
}

static size_t inner_len(int v6)
{
	return v6 ? 60 : 40;
}

/* ---- cases ------------------------------------------------------------- */

enum outer { O_IPIP, O_GUE };

struct tcase {
	const char *name;
	struct frame in;
	struct frame out; /* E_DECAP only */
	enum expect want;
	int stat; /* counter that must move by one */
};

/* Ethernet / outer IPv@outer_v6 / [UDP] / inner IPv@inner_v6. */
static void build_encap(struct tcase *t, int outer_v6, int inner_v6,
			enum outer kind, uint16_t port)
{
	uint16_t ilen = (uint16_t)inner_len(inner_v6);
	uint16_t plen = (uint16_t)(ilen + (kind == O_GUE ? 8 : 0));
	uint8_t proto = kind == O_GUE ? 17 : inner_v6 ? 41 : 4;

	put_eth(&t->in, outer_v6 ? 0x86dd : 0x0800);
	if (outer_v6)
		put_ip6(&t->in, proto, plen);
	else
		put_ip4(&t->in, proto, 1, 2, (uint16_t)(20 + plen), 0);
	if (kind == O_GUE)
		put_udp(&t->in, port, ilen);
	put_inner(&t->in, inner_v6);

	put_eth(&t->out, inner_v6 ? 0x86dd : 0x0800);
	put_inner(&t->out, inner_v6);
}

static void case_decap(struct tcase *t, const char *name, int outer_v6,
		       int inner_v6, enum outer kind, int stat)
{
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->want = E_DECAP;
	t->stat = stat;
	build_encap(t, outer_v6, inner_v6, kind, SL_DECAP_GUE_PORT);
}

/* ---- running ----------------------------------------------------------- */

static struct sluice_decap *skel;

static uint64_t counter(struct sluice_decap *s, int idx)
{
	int fd = bpf_map__fd(s->maps.stats_map);
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu], sum = 0;
	uint32_t k = (uint32_t)idx;
	int c;

	assert_int_equal(bpf_map_lookup_elem(fd, &k, vals), 0);
	for (c = 0; c < ncpu; c++)
		sum += vals[c];
	return sum;
}

static int retval_for(int tc, enum expect e)
{
	if (tc)
		return e == E_DECAP  ? TC_ACT_OK
		       : e == E_PASS ? TC_ACT_UNSPEC
				     : TC_ACT_SHOT;
	return e == E_DROP ? XDP_DROP : XDP_PASS;
}

static void run_case(struct sluice_decap *s, const struct tcase *t, int tc,
		     enum expect want)
{
	struct bpf_program *prog =
		tc ? s->progs.sluice_decap_tc : s->progs.sluice_decap_xdp;
	uint8_t out[MAX_FRAME + 64];
	uint64_t before[SL_DECAP_NSTATS];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = t->in.b,
		    .data_size_in = (uint32_t)t->in.len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	int i, err;

	for (i = 0; i < SL_DECAP_NSTATS; i++)
		before[i] = counter(s, i);
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
	if (err)
		fail_msg("%s (%s): test run failed: %s", t->name,
			 tc ? "tc" : "xdp", strerror(-err));
	if ((int)o.retval != retval_for(tc, want))
		fail_msg("%s (%s): verdict %d, want %d", t->name,
			 tc ? "tc" : "xdp", (int)o.retval,
			 retval_for(tc, want));

	if (want == E_DECAP) {
		if (o.data_size_out != t->out.len ||
		    memcmp(out, t->out.b, t->out.len))
			fail_msg("%s (%s): output differs (%u bytes, want %zu)",
				 t->name, tc ? "tc" : "xdp", o.data_size_out,
				 t->out.len);
	} else if (want == E_PASS) {
		if (o.data_size_out != t->in.len ||
		    memcmp(out, t->in.b, t->in.len))
			fail_msg("%s (%s): passed packet was changed", t->name,
				 tc ? "tc" : "xdp");
	}

	for (i = 0; i < SL_DECAP_NSTATS; i++) {
		uint64_t d = counter(s, i) - before[i];

		if (d != (uint64_t)(i == t->stat))
			fail_msg("%s (%s): counter %d moved by %llu", t->name,
				 tc ? "tc" : "xdp", i, (unsigned long long)d);
	}
}

static void run_both(const struct tcase *t)
{
	run_case(skel, t, 0, t->want);
	run_case(skel, t, 1, t->want);
}

/* ---- tests ------------------------------------------------------------- */

static void
test_decap_each_encapsulation_yields_ethernet_plus_inner(void **state)
{
	struct tcase t;

	case_decap(&t, "ipip v4-in-v4", 0, 0, O_IPIP, SL_DECAP_IPIP4);
	run_both(&t);
	case_decap(&t, "ipip v6-in-v6", 1, 1, O_IPIP, SL_DECAP_IPIP6);
	run_both(&t);
	case_decap(&t, "ipip v4-in-v6", 1, 0, O_IPIP, SL_DECAP_IP4IN6);
	run_both(&t);
	case_decap(&t, "ipip v6-in-v4", 0, 1, O_IPIP, SL_DECAP_IP6IN4);
	run_both(&t);
	case_decap(&t, "gue v4 over v4", 0, 0, O_GUE, SL_DECAP_GUE4);
	run_both(&t);
	case_decap(&t, "gue v6 over v4", 0, 1, O_GUE, SL_DECAP_GUE4);
	run_both(&t);
	case_decap(&t, "gue v4 over v6", 1, 0, O_GUE, SL_DECAP_GUE6);
	run_both(&t);
	case_decap(&t, "gue v6 over v6", 1, 1, O_GUE, SL_DECAP_GUE6);
	run_both(&t);
}

/* Ethernet padding after a short outer packet is not part of the inner. */
static void test_decap_ignores_ethernet_padding(void **state)
{
	struct tcase t;

	case_decap(&t, "ipip v4-in-v4 padded", 0, 0, O_IPIP, SL_DECAP_IPIP4);
	put(&t.in, "\0\0\0\0\0\0", 6);
	put(&t.out, "\0\0\0\0\0\0", 6);
	run_both(&t);
}

/*
 * XDP sees an 802.1Q tag in the frame and keeps it; tc never does on a real
 * interface (the kernel moves it to skb->vlan_tci first), so a tag in the
 * data there is a second one and the frame is left alone.
 */
static void test_decap_keeps_one_vlan_tag_in_xdp(void **state)
{
	static const uint8_t tag[4] = { 0x00, 0x64, 0x08, 0x00 };
	struct tcase t = { .name = "ipip v4-in-v4 vlan 100",
			   .want = E_DECAP,
			   .stat = SL_DECAP_IPIP4 };
	struct frame plain = {};

	build_encap(&t, 0, 0, O_IPIP, 0);
	/* Insert the tag after the MACs in both frames. */
	plain = t.in;
	t.in.len = 12;
	put16(&t.in, 0x8100);
	put(&t.in, tag, 2);
	put(&t.in, plain.b + 12, plain.len - 12);
	plain = t.out;
	t.out.len = 12;
	put16(&t.out, 0x8100);
	put(&t.out, tag, 2);
	put(&t.out, plain.b + 12, plain.len - 12);
	run_case(skel, &t, 0, E_DECAP);

	/* Outer v6 with an inner v4: the tag's type must change too. */
	memset(&t, 0, sizeof(t));
	t.name = "ipip v4-in-v6 vlan 100";
	t.stat = SL_DECAP_IP4IN6;
	build_encap(&t, 1, 0, O_IPIP, 0);
	plain = t.in;
	t.in.len = 12;
	put16(&t.in, 0x8100);
	put(&t.in, tag, 2);
	put16(&t.in, 0x86dd);
	put(&t.in, plain.b + 14, plain.len - 14);
	plain = t.out;
	t.out.len = 12;
	put16(&t.out, 0x8100);
	put(&t.out, tag, 2);
	put(&t.out, plain.b + 12, plain.len - 12);
	run_case(skel, &t, 0, E_DECAP);

	t.stat = SL_DECAP_PASSED;
	run_case(skel, &t, 1, E_PASS);
}

static void test_decap_leaves_other_traffic_untouched(void **state)
{
	struct tcase t = { .want = E_PASS, .stat = SL_DECAP_PASSED };

	t.name = "plain tcp v4";
	put_eth(&t.in, 0x0800);
	put_inner(&t.in, 0);
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "plain tcp v6";
	put_eth(&t.in, 0x86dd);
	put_inner(&t.in, 1);
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "udp to another port";
	put_eth(&t.in, 0x0800);
	put_ip4(&t.in, 17, 1, 2, 20 + 8 + 40, 0);
	put_udp(&t.in, 53, 40);
	put_inner(&t.in, 0);
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "udp v6 to another port";
	put_eth(&t.in, 0x86dd);
	put_ip6(&t.in, 17, 8 + 60);
	put_udp(&t.in, SL_DECAP_GUE_PORT + 1, 60);
	put_inner(&t.in, 1);
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "arp";
	put_eth(&t.in, 0x0806);
	put(&t.in, "\0\x01\x08\0\x06\x04\0\x01", 8);
	put(&t.in, t.in.b, 20);
	run_both(&t);
}

/* The kernel reassembles; we cannot decapsulate a piece alone. */
static void test_decap_passes_outer_fragments_and_counts_them(void **state)
{
	struct tcase t = { .name = "ipip v4 first fragment",
			   .want = E_PASS,
			   .stat = SL_DECAP_FRAGS };

	put_eth(&t.in, 0x0800);
	put_ip4(&t.in, 4, 1, 2, 60, 0x2000); /* MF */
	put_inner(&t.in, 0);
	run_both(&t);
}

static void test_decap_drops_malformed_and_counts_errors(void **state)
{
	struct tcase t = { .want = E_DROP, .stat = SL_DECAP_ERRORS };

	t.name = "ipip outer total length beyond the frame";
	put_eth(&t.in, 0x0800);
	put_ip4(&t.in, 4, 1, 2, 20 + 40, 0);
	put(&t.in, "\x45\0\0\x28\0\0\0\0", 8); /* inner cut short */
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "ipip outer with nothing inside";
	put_eth(&t.in, 0x0800);
	put_ip4(&t.in, 4, 1, 2, 20, 0);
	put(&t.in, "\0\0\0\0\0\0", 6); /* Ethernet padding only */
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "ipip v6 outer cut short";
	put_eth(&t.in, 0x86dd);
	put_ip6(&t.in, 4, 40);
	put(&t.in, "\x45\0\0\x28", 4);
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "protocol 4 carrying IPv6";
	put_eth(&t.in, 0x0800);
	put_ip4(&t.in, 4, 1, 2, 20 + 60, 0);
	put_inner(&t.in, 1);
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "next header 41 carrying IPv4";
	put_eth(&t.in, 0x86dd);
	put_ip6(&t.in, 41, 40);
	put_inner(&t.in, 0);
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "gue carrying no IP packet";
	put_eth(&t.in, 0x0800);
	put_ip4(&t.in, 17, 1, 2, 20 + 8 + 40, 0);
	put_udp(&t.in, SL_DECAP_GUE_PORT, 40);
	put(&t.in, "\x01\0\0\0", 4); /* a GUE variant 0 header */
	put(&t.in, t.in.b + 14, 36);
	run_both(&t);

	memset(&t.in, 0, sizeof(t.in));
	t.name = "gue with a truncated inner header";
	put_eth(&t.in, 0x86dd);
	put_ip6(&t.in, 17, 8 + 12);
	put_udp(&t.in, SL_DECAP_GUE_PORT, 12);
	put(&t.in, "\x45\0\0\x28\0\0\0\0\x40\x06\0\0", 12);
	run_both(&t);
}

/* The loader's --gue-port reaches the program through .rodata. */
static void test_decap_gue_port_is_configurable(void **state)
{
	struct sluice_decap *s = sluice_decap__open();
	struct tcase t;

	assert_non_null(s);
	s->rodata->gue_port = 7777;
	assert_int_equal(sluice_decap__load(s), 0);

	memset(&t, 0, sizeof(t));
	t.name = "gue to port 7777";
	t.stat = SL_DECAP_GUE4;
	build_encap(&t, 0, 0, O_GUE, 7777);
	run_case(s, &t, 0, E_DECAP);
	run_case(s, &t, 1, E_DECAP);

	memset(&t, 0, sizeof(t));
	t.name = "gue to the default port, not configured";
	t.stat = SL_DECAP_PASSED;
	build_encap(&t, 0, 0, O_GUE, SL_DECAP_GUE_PORT);
	run_case(s, &t, 0, E_PASS);
	run_case(s, &t, 1, E_PASS);

	sluice_decap__destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_decap_each_encapsulation_yields_ethernet_plus_inner),
		cmocka_unit_test(test_decap_ignores_ethernet_padding),
		cmocka_unit_test(test_decap_keeps_one_vlan_tag_in_xdp),
		cmocka_unit_test(test_decap_leaves_other_traffic_untouched),
		cmocka_unit_test(
			test_decap_passes_outer_fragments_and_counts_them),
		cmocka_unit_test(test_decap_drops_malformed_and_counts_errors),
		cmocka_unit_test(test_decap_gue_port_is_configurable),
	};
	int err;

	if (geteuid() != 0) {
		printf("SKIP: test_decap needs root for BPF_PROG_TEST_RUN\n");
		return 77;
	}
	skel = sluice_decap__open_and_load();
	if (!skel) {
		err = errno;
		fprintf(stderr, "test_decap: loading sluice_decap.bpf.o: %s\n",
			strerror(err));
		return 1;
	}
	err = cmocka_run_group_tests(tests, NULL, NULL);
	sluice_decap__destroy(skel);
	return err;
}
