/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fastpath.c: the fast path of sluice-dp against the packet-fixture
 * table, without DPDK.
 *
 * tests/fixtures/fastpath.fix (generated with scapy by gen_fastpath.py from
 * the rules in encap.h, independently of this code) lists input frames and
 * the verdict, drop reason and output bytes each must give. The test loads
 * the fixture config, publishes it into a shared-memory file in a temporary
 * directory with the real publisher, sets up one struct sl_fp as an lcore
 * would, and runs every fixture through sl_fp_process() on a buffer with
 * 128 bytes of headroom and 256 of tailroom. Then it checks the counters the
 * run must have left, and the flow table's promises across republication:
 * a drained backend keeps its flows, a down one loses them, and an lcore
 * switches tables at the start of a burst and reports it.
 *
 * Single-threaded: the test is the lcore and the control plane at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "fp_world.h"
#include "sluice/csum.h"

static void hexdump_diff(const char *name, const sl_u8 *want, size_t wlen,
			 const sl_u8 *got, size_t glen)
{
	size_t n = wlen > glen ? wlen : glen, i, j;

	print_error("%s: output differs (want %zu bytes, got %zu)\n", name,
		    wlen, glen);
	for (i = 0; i < n; i += 16) {
		char a[64], b[64], mark[20];
		size_t pa = 0, pb = 0;
		bool differs = false;

		for (j = i; j < i + 16 && j < n; j++) {
			bool hw = j < wlen, hg = j < glen;

			pa += (size_t)snprintf(a + pa, sizeof(a) - pa,
					       hw ? "%02x" : "  ",
					       hw ? want[j] : 0);
			pb += (size_t)snprintf(b + pb, sizeof(b) - pb,
					       hg ? "%02x" : "  ",
					       hg ? got[j] : 0);
			mark[j - i] = hw && hg && want[j] == got[j] ? ' ' : '^';
			differs |= mark[j - i] == '^';
		}
		mark[j - i] = '\0';
		print_error("  %04zx want %-32s\n  %04zx got  %-32s%s\n", i, a,
			    i, b, differs ? "  <--" : "");
		if (differs) {
			print_error("            ");
			for (j = 0; mark[j]; j++)
				print_error("%s", mark[j] == '^' ? "^^" : "  ");
			print_error("\n");
		}
	}
}

/* ---- 1. the fixture table ---- */

static int vip_id_by_name(const struct sl_table_hdr *t, const char *name)
{
	const struct sl_vip_entry *v = sl_table_vips(t);
	sl_u32 i;

	for (i = 0; i < t->n_vips; i++)
		if (strcmp(v[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void test_every_fixture_gives_its_verdict_reason_and_bytes(void **state)
{
	struct world *w = world_new(true);
	unsigned int n, i, failed = 0, ran = 0;
	char err[512];
	struct sl_fixture *fx =
		sl_fixtures_load(FIXDIR "fastpath.fix", &n, err, sizeof(err));
	sl_u64 want_drops[SL_DROP_SLOTS] = { 0 };
	sl_u64 want_replies = 0, want_echo = 0, want_too_big = 0;
	struct sl_lcore_stats st;
	static sl_u8 out[HEADROOM + MAX_FRAME + TAILROOM];

	(void)state;
	if (!fx)
		fail_msg("%s", err);
	assert_true(n >= 40);
	for (i = 0; i < n; i++)
		if (fx[i].in_len > MAX_FRAME)
			fail_msg("%s: %zu-byte frame, over %d", fx[i].name,
				 fx[i].in_len, MAX_FRAME);
	for (i = 0; i < n; i++) {
		const struct sl_fixture *f = &fx[i];
		enum sl_drop reason;
		size_t out_len = 0;
		enum sl_verdict v;

		if (strcmp(f->config, w->cfg_name) != 0) {
			load_config(w, f->config);
			publish(w, NULL, 0);
		}
		v = run(w, f->in, f->in_len, &reason, out, &out_len);
		ran++;
		if (reason == SL_DROP_MAX) {
			print_error("%s: bad buffer accounting\n", f->name);
			failed++;
		} else if ((v == SL_VERDICT_TX) != f->tx ||
			   (v == SL_VERDICT_DROP && reason != f->reason)) {
			print_error("%s: got %s/%s, want %s/%s\n", f->name,
				    v == SL_VERDICT_TX ? "tx" : "drop",
				    v == SL_VERDICT_TX ? "-"
						       : sl_drop_name(reason),
				    f->tx ? "tx" : "drop",
				    f->tx ? "-" : sl_drop_name(f->reason));
			failed++;
		} else if (v == SL_VERDICT_TX &&
			   (out_len != f->out_len ||
			    memcmp(out, f->out, out_len) != 0)) {
			hexdump_diff(f->name, f->out, f->out_len, out, out_len);
			failed++;
		}
		/* Answers are told apart by name; forwarded ones name a VIP. */
		if (!f->tx)
			want_drops[f->reason]++;
		else if (f->vip[0])
			continue;
		else if (strstr(f->name, "arp_request") ||
			 strstr(f->name, "ndp_ns"))
			want_replies++;
		else if (strstr(f->name, "icmp_echo"))
			want_echo++;
		else if (strstr(f->name, "too_big"))
			want_too_big++;
	}
	if (failed)
		fail_msg("%u of %u fixtures failed", failed, ran);

	/* Counters: every drop under its reason, every answer counted. */
	sl_shm_sum_lcore(w->h, &st);
	assert_int_equal(st.rx_packets, ran);
	for (i = 0; i < SL_DROP_SLOTS; i++)
		if (st.drops[i] != want_drops[i])
			fail_msg("drops[%s]: %llu, want %llu", sl_drop_name(i),
				 (unsigned long long)st.drops[i],
				 (unsigned long long)want_drops[i]);
	assert_int_equal(st.arp_replies, want_replies);
	assert_int_equal(st.icmp_echo_replies, want_echo);
	assert_int_equal(st.icmp_too_big_sent, want_too_big);
	assert_int_equal(st.table_gen, w->h->gen);

	/* Per VIP and per backend: the forwarded fixtures, no more. */
	{
		const struct sl_table_hdr *t = w->fp.table;
		sl_u32 id;

		for (id = 0; id < t->n_vips; id++) {
			const struct sl_vip_entry *ve = &sl_table_vips(t)[id];
			struct sl_vip_stats vs;
			struct sl_backend_stats bs;
			sl_u64 want = 0, want_bytes = 0;
			sl_u32 be;

			for (i = 0; i < n; i++)
				if (strcmp(fx[i].vip, ve->name) == 0 &&
				    fx[i].tx) {
					want++;
					want_bytes += fx[i].out_len;
				}
			assert_int_equal(vip_id_by_name(t, ve->name), (int)id);
			assert_int_equal(sl_shm_sum_vip(w->h, id, &vs), 0);
			if (vs.packets != want)
				fail_msg("vip %s: %llu packets, want %llu",
					 ve->name,
					 (unsigned long long)vs.packets,
					 (unsigned long long)want);
			if (ve->n_backends != 1 || !want)
				continue;
			be = sl_table_maglev(t)[ve->maglev_off];
			assert_int_equal(sl_shm_sum_backend(w->h, be, &bs), 0);
			assert_int_equal(bs.packets, want);
			assert_int_equal(bs.bytes, vs.bytes);
			assert_true(vs.bytes > 0 && vs.bytes < want_bytes);
		}
	}
	sl_fixtures_free(fx, n);
	world_free(w);
}

/* ---- 2. flow table across republication ---- */

/* TCP client:sport -> 192.0.2.<vip>:80 with DF and pay zero bytes of data. */
static size_t tcp4_frame(sl_u8 *f, sl_u32 client, sl_u16 sport, sl_u8 vip,
			 size_t pay)
{
	static const sl_u8 hdr[] = {
		0x02, 0,    0,	  0,	0,    0x01, 0x02, 0, 0,	  0,	0,
		0xaa, 0x08, 0x00, 0x45, 0,    0,    40,	  0, 1,	  0x40, 0,
		64,   6,    0,	  0,	0,    0,    0,	  0, 192, 0,	2,
		15,   0,    0,	  0,	80,   0,    0,	  0, 1,	  0,	0,
		0,    0,    0x50, 0x02, 0xff, 0xff, 0,	  0, 0,	  0,
	};
	sl_be32 c = sl_htonl(client);
	sl_be16 p = sl_htons(sport);
	sl_be16 tot = sl_htons((sl_u16)(40 + pay));

	memcpy(f, hdr, sizeof(hdr));
	memcpy(f + 16, &tot, 2);
	memcpy(f + 26, &c, 4);
	f[33] = vip;
	memcpy(f + 34, &p, 2);
	memset(f + sizeof(hdr), 0, pay);
	return sizeof(hdr) + pay;
}

/* TCP flags of the frames backend_of() sends: SYN (new connection) or ACK. */
static sl_u8 probe_flags = 0x02;

/* A TCP segment client:sport -> 192.0.2.15:80 (the VIP "multi"). */
static size_t syn_to_multi(sl_u8 *f, sl_u32 client, sl_u16 sport)
{
	size_t len = tcp4_frame(f, client, sport, 15, 0);

	f[14 + 20 + 13] = probe_flags;
	return len;
}

/* The backend (outer IPv4 destination) a flow is sent to, or 0 on drop. */
static sl_u32 backend_of(struct world *w, sl_u32 client, sl_u16 sport)
{
	static sl_u8 in[64], out[HEADROOM + MAX_FRAME + TAILROOM];
	size_t len = syn_to_multi(in, client, sport), out_len;
	enum sl_drop reason;
	sl_be32 dst;

	if (run(w, in, len, &reason, out, &out_len) != SL_VERDICT_TX)
		return 0;
	assert_int_equal(out_len, 14 + 20 + len - 14);
	memcpy(&dst, out + 14 + 16, 4);
	return sl_ntohl(dst);
}

#define N_FLOWS 300
#define CLIENT 0x0a140001u /* 10.20.0.1 */

static void override(struct sl_pub_override *o, sl_u32 backend,
		     enum sl_backend_state state)
{
	memset(o, 0, sizeof(*o));
	o->vip = "multi";
	o->family = SL_AF_INET;
	o->addr.v4 = sl_htonl(backend);
	o->state = state;
	o->weight = -1;
}

static void
test_drained_backend_keeps_flows_down_backend_loses_them(void **state)
{
	struct world *w = world_new(true);
	static sl_u32 before[N_FLOWS];
	sl_u32 x = 0, hits = 0, xflows = 0;
	struct sl_pub_override ov;
	struct sl_lcore_stats st0, st1;
	sl_u64 gen;
	int i;

	(void)state;
	for (i = 0; i < N_FLOWS; i++) {
		before[i] = backend_of(w, CLIENT, (sl_u16)(1000 + i));
		assert_true(before[i] >= 0xcb007115u &&
			    before[i] <= 0xcb007117u);
		if (!x)
			x = before[i];
		xflows += before[i] == x;
	}
	/* Maglev spreads 300 flows over all three backends. */
	assert_true(xflows > 30 && xflows < 270);

	/* Drained: its flows stay, new flows go elsewhere. */
	gen = w->h->gen;
	override(&ov, x, SL_BACKEND_DRAINED);
	publish(w, &ov, 1);
	assert_int_equal(w->h->gen, gen + 1);
	assert_int_equal(w->h->qs[1].seen, gen + 1);
	assert_int_equal(sl_shm_stats_lcore(w->h, 1)->table_gen, gen + 1);
	probe_flags = 0x10; /* ACK: established connections */
	for (i = 0; i < N_FLOWS; i++)
		assert_int_equal(backend_of(w, CLIENT, (sl_u16)(1000 + i)),
				 before[i]);
	probe_flags = 0x02; /* SYN: new connections, fresh 5-tuples */
	for (i = 0; i < N_FLOWS; i++)
		assert_true(backend_of(w, CLIENT + 1, (sl_u16)(1000 + i)) != x);
	/* A SYN that reuses a remembered 5-tuple of the drained backend (a
	 * client reusing its port) opens a new connection: not to x. */
	for (i = 0; i < N_FLOWS; i++)
		if (before[i] == x)
			assert_true(backend_of(w, CLIENT, (sl_u16)(1000 + i)) !=
				    x);
	/* Those flows now stay where the SYN put them; put the rest back. */
	for (i = 0; i < N_FLOWS; i++)
		if (before[i] == x)
			before[i] = backend_of(w, CLIENT, (sl_u16)(1000 + i));
	x = 0;
	for (i = 0; i < N_FLOWS; i++)
		if (!x && before[i] != 0)
			x = before[i];

	/* Down: its flows are re-picked, the others stay. */
	sl_shm_sum_lcore(w->h, &st0);
	override(&ov, x, SL_BACKEND_DOWN);
	publish(w, &ov, 1);
	assert_int_equal(w->h->qs[1].seen, gen + 2);
	for (i = 0; i < N_FLOWS; i++) {
		sl_u32 b = backend_of(w, CLIENT, (sl_u16)(1000 + i));

		assert_true(b != 0 && b != x);
		if (before[i] != x)
			assert_int_equal(b, before[i]);
		hits += before[i] == x;
	}
	sl_shm_sum_lcore(w->h, &st1);
	assert_int_equal(st1.flow_repicks - st0.flow_repicks, hits);
	world_free(w);
}

static void test_flow_kept_when_its_backend_comes_back_up(void **state)
{
	struct world *w = world_new(true);
	struct sl_pub_override ov;
	sl_u32 x = backend_of(w, CLIENT, 7), y;

	(void)state;
	override(&ov, x, SL_BACKEND_DOWN);
	publish(w, &ov, 1);
	y = backend_of(w, CLIENT, 7);
	assert_true(y != 0 && y != x);
	/* Back up: the flow stays where it was re-picked, no flapping. */
	publish(w, NULL, 0);
	assert_int_equal(backend_of(w, CLIENT, 7), y);
	world_free(w);
}

static void test_all_backends_down_drops_no_backend(void **state)
{
	struct world *w = world_new(true);
	struct sl_pub_override ov[3];
	static sl_u8 in[64], out[HEADROOM + MAX_FRAME + TAILROOM];
	size_t len = syn_to_multi(in, CLIENT, 9), out_len;
	enum sl_drop reason;

	(void)state;
	override(&ov[0], 0xcb007115u, SL_BACKEND_DOWN);
	override(&ov[1], 0xcb007116u, SL_BACKEND_DOWN);
	override(&ov[2], 0xcb007117u, SL_BACKEND_DOWN);
	publish(w, ov, 3);
	assert_int_equal(run(w, in, len, &reason, out, &out_len),
			 SL_VERDICT_DROP);
	assert_int_equal(reason, SL_DROP_NO_BACKEND);
	world_free(w);
}

static void test_too_big_replies_are_rate_limited(void **state)
{
	struct world *w = world_new(true);
	static sl_u8 in[MAX_FRAME], out[HEADROOM + MAX_FRAME + TAILROOM];
	size_t len = tcp4_frame(in, CLIENT, 5, 10, 1450), out_len;
	enum sl_drop reason;

	(void)state;
	w->conf.icmp_rate = 1;
	w->conf.icmp_burst = 1;
	assert_int_equal(run(w, in, len, &reason, out, &out_len),
			 SL_VERDICT_TX);
	assert_int_equal(run(w, in, len, &reason, out, &out_len),
			 SL_VERDICT_DROP);
	assert_int_equal(reason, SL_DROP_TOO_BIG_RATELIMIT);
	/* One second later there is a token again. */
	sl_fp_begin_burst(&w->fp, NOW_NS + 1000000000ull);
	assert_int_equal(run(w, in, len, &reason, out, &out_len),
			 SL_VERDICT_TX);
	w->conf.icmp_rate = 0;
	assert_int_equal(run(w, in, len, &reason, out, &out_len),
			 SL_VERDICT_DROP);
	assert_int_equal(reason, SL_DROP_TOO_BIG_RATELIMIT);
	world_free(w);
}

static void test_nothing_published_drops_no_table(void **state)
{
	struct world *w = world_new(false);
	static sl_u8 in[64], out[HEADROOM + MAX_FRAME + TAILROOM];
	size_t len = syn_to_multi(in, CLIENT, 9), out_len;
	enum sl_drop reason;

	(void)state;
	assert_null(w->fp.table);
	assert_int_equal(run(w, in, len, &reason, out, &out_len),
			 SL_VERDICT_DROP);
	assert_int_equal(reason, SL_DROP_NO_TABLE);
	assert_int_equal(sl_shm_stats_lcore(w->h, 1)->drops[SL_DROP_NO_TABLE],
			 1);
	/* The first publish is picked up at the next burst. */
	publish(w, NULL, 0);
	assert_non_null(w->fp.table);
	assert_int_equal(w->h->qs[1].seen, w->h->gen);
	assert_true(backend_of(w, CLIENT, 9) != 0);
	world_free(w);
}

/* ---- 3. the checksum helpers the replies are built with ---- */

/* RFC 1071 the plain way: big-endian 16-bit words, odd byte padded. */
static sl_u16 naive_csum(const sl_u8 *pre, size_t plen, const sl_u8 *b,
			 size_t len)
{
	sl_u64 sum = 0;
	size_t i;

	for (i = 0; i < plen; i += 2)
		sum += (sl_u32)pre[i] << 8 | pre[i + 1];
	for (i = 0; i < len; i++)
		sum += i & 1 ? b[i] : (sl_u32)b[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (sl_u16)~sum;
}

static void
test_csum_helpers_match_rfc1071_on_odd_and_even_lengths(void **state)
{
	sl_u8 buf[301], ip6[40], pre[40];
	sl_u32 x = 12345;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (sl_u8)(x >> 16);
	}
	for (i = 0; i < sizeof(ip6); i++)
		ip6[i] = buf[300 - i];
	ip6[6] = SL_IPPROTO_ICMPV6;
	for (len = 0; len <= 300; len++) {
		sl_be16 c = sl_csum_buf(buf, len);

		assert_int_equal(sl_ntohs(c), naive_csum(NULL, 0, buf, len));
		/* Pseudo-header: addresses, 32-bit length, 3 zeros, next header. */
		memcpy(pre, ip6 + 8, 32);
		pre[32] = 0;
		pre[33] = 0;
		pre[34] = (sl_u8)(len >> 8);
		pre[35] = (sl_u8)len;
		pre[36] = pre[37] = pre[38] = 0;
		pre[39] = SL_IPPROTO_ICMPV6;
		c = sl_csum_l4_ip6(ip6, buf, len);
		assert_int_equal(sl_ntohs(c), naive_csum(pre, 40, buf, len));
	}
	for (len = 20; len <= 60; len += 4)
		assert_int_equal(sl_ntohs(sl_csum_ip4_hdr_len(buf, len)),
				 naive_csum(NULL, 0, buf, len));
}

/* ---- 4. the neighbour table's index ---- */

/* Address k of a family: IPv4 198.18.x.y or IPv6 2001:db8::x:y. */
static void neigh_addr(unsigned int k, sl_u8 family, union sl_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (family == SL_AF_INET) {
		a->b[0] = 198;
		a->b[1] = 18;
		a->b[2] = (sl_u8)(k >> 8);
		a->b[3] = (sl_u8)k;
	} else {
		a->b[0] = 0x20;
		a->b[1] = 0x01;
		a->b[2] = 0x0d;
		a->b[3] = 0xb8;
		a->b[14] = (sl_u8)(k >> 8);
		a->b[15] = (sl_u8)k;
	}
}

static void test_neigh_index_finds_every_entry_and_only_those(void **state)
{
	static struct sl_neigh n;
	static const sl_u8 mac[6] = { 2, 0, 0, 0, 0, 9 };
	union sl_addr a;
	sl_u8 got[6];
	unsigned int k;

	(void)state;
	sl_neigh_init(&n);
	/* The same address in both families and on two ports: 4 entries. */
	for (k = 0; k < SL_NEIGH_MAX; k++) {
		sl_u8 fam = (k & 1) ? SL_AF_INET6 : SL_AF_INET;

		neigh_addr(k / 4, fam, &a);
		assert_int_equal(sl_neigh_add(&n, &a, fam,
					      (sl_u16)((k >> 1) & 1),
					      k % 7 ? NULL : mac),
				 (int)k);
	}
	neigh_addr(0, SL_AF_INET, &a);
	assert_int_equal(sl_neigh_add(&n, &a, SL_AF_INET, 0, NULL), 0);
	neigh_addr(SL_NEIGH_MAX, SL_AF_INET, &a);
	assert_int_equal(n.refused, 0);
	assert_int_equal(sl_neigh_add(&n, &a, SL_AF_INET, 0, NULL), -ENOSPC);
	assert_int_equal(n.refused, 1);
	for (k = 0; k < SL_NEIGH_MAX; k++) {
		sl_u8 fam = (k & 1) ? SL_AF_INET6 : SL_AF_INET;
		sl_u16 port = (sl_u16)((k >> 1) & 1);

		neigh_addr(k / 4, fam, &a);
		assert_int_equal(sl_neigh_find_port(&n, &a, fam, port), (int)k);
		assert_int_equal(sl_neigh_get(&n, (int)k, got), k % 7 == 0);
		/* Not tracked: another port, another address. */
		assert_int_equal(sl_neigh_find_port(&n, &a, fam, 2), -1);
		neigh_addr(k / 4 + SL_NEIGH_MAX, fam, &a);
		assert_int_equal(sl_neigh_find_port(&n, &a, fam, port), -1);
	}
	/* Learning goes to the entry the index names. */
	neigh_addr(6, SL_AF_INET6, &a); /* entries 25 and 27: no static MAC */
	sl_neigh_learn(&n, 1, &a, SL_AF_INET6, mac, 1);
	assert_true(sl_neigh_get(&n, sl_neigh_find_port(&n, &a, SL_AF_INET6, 1),
				 got));
	assert_memory_equal(got, mac, 6);
	assert_false(sl_neigh_get(
		&n, sl_neigh_find_port(&n, &a, SL_AF_INET6, 0), got));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_every_fixture_gives_its_verdict_reason_and_bytes),
		cmocka_unit_test(
			test_drained_backend_keeps_flows_down_backend_loses_them),
		cmocka_unit_test(test_flow_kept_when_its_backend_comes_back_up),
		cmocka_unit_test(test_all_backends_down_drops_no_backend),
		cmocka_unit_test(test_too_big_replies_are_rate_limited),
		cmocka_unit_test(test_nothing_published_drops_no_table),
		cmocka_unit_test(
			test_csum_helpers_match_rfc1071_on_odd_and_even_lengths),
		cmocka_unit_test(
			test_neigh_index_finds_every_entry_and_only_those),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
