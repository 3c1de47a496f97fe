/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_express.c: sluice-dp's express path (dataplane/express.h) gives
 * exactly what the general path gives, and takes exactly the packets it
 * claims.
 *
 * 1. Every fixture of tests/fixtures/fastpath.fix, run a second time (its
 *    flow now remembered), gives the fixture's verdict and bytes again; the
 *    second run is express exactly when the fixture is an IPv4 TCP/UDP
 *    packet without options or fragmentation, forwarded IPv4 in IPv4 (as
 *    the frames themselves say, not as the code decides).
 * 2. Random traffic (valid and malformed frames, VIP and not, repeating
 *    flows, bursts of random sizes, backends drained, downed and restored
 *    in between, the clock jumping past the UDP timeout) through two
 *    lcores, one with the express path and one without: the same verdict,
 *    reason and bytes for every packet, the same counters at the end, and
 *    most packets express on the first.
 */
#include "fixture.h"
#include "fp_world.h"

/* ---- 1. the fixtures, twice ---- */

/* Does the fixture describe a packet the express path must take on a
 * remembered flow? Judged from its input and output bytes alone. */
static bool express_shape(const sl_u8 *in, size_t in_len, const sl_u8 *out,
			  size_t out_len, bool tx)
{
	sl_u32 tot;

	if (!tx || in_len < 14 + 20 + 20 || out_len < 14 + 20 + 20)
		return false;
	if (in[12] != 0x08 || in[13] != 0x00 || in[14] != 0x45 ||
	    (in[20] & 0x3f) || in[21] || (in[23] != 6 && in[23] != 17))
		return false;
	tot = (sl_u32)in[16] << 8 | in[17];
	if (14 + tot > in_len)
		return false;
	/* Out: IPv4 whose payload (after ipip, or GUE's UDP) is the packet. */
	return out[12] == 0x08 && out[13] == 0x00 && out[14] == 0x45 &&
	       (out[23] == SL_IPPROTO_IPIP ||
		(out[23] == SL_IPPROTO_UDP && out_len == 14 + 28 + tot));
}

static void test_fixtures_again_give_the_same_bytes_express(void **state)
{
	struct world *w = world_new(true);
	unsigned int n, i, bad = 0, shaped = 0, runs;
	char err[512];
	struct sl_fixture *fx =
		sl_fixtures_load(FIXDIR "fastpath.fix", &n, err, sizeof(err));
	static sl_u8 out[HEADROOM + MAX_FRAME + TAILROOM];

	(void)state;
	if (!fx)
		fail_msg("%s", err);
	for (i = 0; i < n; i++) {
		const struct sl_fixture *f = &fx[i];
		bool want_fx = express_shape(f->in, f->in_len, f->out,
					     f->out_len, f->tx);
		enum sl_drop reason;
		size_t out_len = 0;
		enum sl_verdict v;
		sl_u64 before;

		if (strcmp(f->config, w->cfg_name) != 0) {
			load_config(w, f->config);
			publish(w, NULL, 0);
		}
		shaped += want_fx;
		for (runs = 0; runs < 2; runs++) {
			before = w->fp.fx_packets;
			v = run(w, f->in, f->in_len, &reason, out, &out_len);
			if (reason == SL_DROP_MAX ||
			    (v == SL_VERDICT_TX) != f->tx ||
			    (v == SL_VERDICT_DROP && reason != f->reason) ||
			    (v == SL_VERDICT_TX &&
			     (out_len != f->out_len ||
			      memcmp(out, f->out, out_len) != 0))) {
				print_error("%s: run %u differs from the "
					    "fixture\n",
					    f->name, runs + 1);
				bad++;
			}
			if (runs == 1 &&
			    (w->fp.fx_packets - before == 1) != want_fx) {
				print_error("%s: second run %s express\n",
					    f->name, want_fx ? "not" : "went");
				bad++;
			}
		}
	}
	if (bad)
		fail_msg("%u mismatches over %u fixtures", bad, n);
	/* The fixtures do exercise it: ipip and gue, TCP and UDP. */
	assert_true(shaped >= 4);
	sl_fixtures_free(fx, n);
	world_free(w);
}

/* ---- 2. random traffic through both paths ---- */

static sl_u64 rng = 0x9e3779b97f4a7c15ull;

static sl_u32 rnd(sl_u32 n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (sl_u32)(rng >> 32) % n;
}

struct target {
	sl_u32 addr; /* 192.0.2.x or 0 for IPv6 */
	sl_u16 port; /* 0: any */
	sl_u8 proto;
};

/* The fixture config's IPv4 VIPs of every method and backend family, and
 * a few destinations that are no VIP. */
static const struct target targets[] = {
	{ 0xc000020a, 80, 6 },	{ 0xc000020b, 53, 17 }, { 0xc000020b, 53, 6 },
	{ 0xc000020c, 80, 6 },	{ 0xc000020c, 443, 6 }, { 0xc000020d, 80, 6 },
	{ 0xc000020e, 0, 17 },	{ 0xc000020f, 80, 6 },	{ 0xc000020f, 80, 6 },
	{ 0xc000020f, 80, 6 },	{ 0xc000020a, 81, 6 },	{ 0xc0000263, 80, 6 },
	{ 0xc000020b, 53, 17 }, { 0xc000020a, 80, 17 },
};

static void put16(sl_u8 *p, sl_u32 v)
{
	p[0] = (sl_u8)(v >> 8);
	p[1] = (sl_u8)v;
}

static void put32(sl_u8 *p, sl_u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* A random Ethernet frame into f (2048 bytes); returns its length. */
static size_t random_frame(sl_u8 *f)
{
	const struct target *t = &targets[rnd(SL_ARRAY_SIZE(targets))];
	sl_u32 pay = rnd(5) ? rnd(48) : rnd(1400), hl = 20, l4, tot, len;
	sl_u8 proto = t->proto, *ip = f + 14, *l4p;
	sl_u16 dport = t->port ? t->port : (sl_u16)(1 + rnd(3));

	memset(f, 0, 64);
	memcpy(f, port_mac, 6);
	f[6] = 0x02;
	f[11] = 0x33;
	put16(f + 12, 0x0800);
	if (rnd(40) == 0)
		hl = 24; /* an option: the general path */
	l4 = proto == SL_IPPROTO_TCP ? 20 : 8;
	tot = hl + l4 + pay;
	ip[0] = (sl_u8)(0x40 | hl / 4);
	ip[1] = (sl_u8)rnd(256); /* TOS goes to the outer header */
	put16(ip + 2, tot);
	put16(ip + 4, rnd(65536));
	put16(ip + 6, rnd(2) ? 0x4000 : 0);
	ip[8] = (sl_u8)(1 + rnd(255));
	ip[9] = proto;
	put32(ip + 12, 0x0a000000u | rnd(16)); /* flows repeat */
	put32(ip + 16, t->addr);
	if (hl == 24)
		memset(ip + 20, 1, 4);
	l4p = ip + hl;
	put16(l4p, 1024 + rnd(12));
	put16(l4p + 2, dport);
	if (proto == SL_IPPROTO_TCP) {
		l4p[12] = 0x50;
		l4p[13] = rnd(8) == 0 ? 0x02 : 0x10; /* SYN or ACK */
	} else {
		put16(l4p + 4, l4 + pay);
	}
	memset(l4p + l4, (int)rnd(256), pay);
	len = 14 + tot;
	/* Ethernet pads to 60 bytes (most of the time here: short frames
	 * are the general path's) and may carry more padding. */
	if (len < 60 && rnd(8))
		len = 60;
	if (rnd(8) == 0)
		len += rnd(20);
	switch (rnd(24)) { /* now and then, something wrong */
	case 0:
		put16(ip + 6, 0x2000); /* MF: a first fragment */
		break;
	case 1:
		put16(ip + 6, 0x0010); /* a later fragment */
		break;
	case 2:
		if (proto == SL_IPPROTO_TCP)
			l4p[12] = (sl_u8)(rnd(16) << 4); /* any data offset */
		else
			put16(l4p + 4, rnd(l4 + pay + 8)); /* any UDP length */
		break;
	case 3:
		len = 14 + rnd(tot); /* cut short */
		break;
	case 4:
		put16(ip + 2, rnd(tot + 4)); /* a wrong total length */
		break;
	case 5:
		memmove(f + 18, f + 12, len - 12); /* one VLAN tag */
		put16(f + 12, 0x8100);
		put16(f + 14, 7);
		len += 4;
		break;
	case 6:
		put16(f + 12, 0x0806); /* not IPv4 */
		break;
	default:
		break;
	}
	return len;
}

struct side {
	struct world *w;
	sl_u8 *mem; /* SL_FP_BURST_MAX buffers */
	struct sl_mbuf mb[SL_FP_BURST_MAX], *p[SL_FP_BURST_MAX];
	enum sl_drop why[SL_FP_BURST_MAX]; /* by position in p after */
	/* By packet, after: what mb describes, verdict and reason. */
	struct sl_buf b[SL_FP_BURST_MAX];
	enum sl_verdict v[SL_FP_BURST_MAX];
	enum sl_drop r[SL_FP_BURST_MAX];
};

#define BUF (HEADROOM + MAX_FRAME + TAILROOM)

/* Frames whose mbuf claims a second segment (a misbehaving PMD's). */
static bool chained[SL_FP_BURST_MAX];

static void load_burst(struct side *s, sl_u8 (*frames)[MAX_FRAME],
		       const size_t *lens, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		sl_u8 *m = s->mem + (size_t)i * BUF;

		memset(m, 0xa5, BUF);
		memcpy(m + HEADROOM, frames[i], lens[i]);
		memset(&s->mb[i], 0, sizeof(s->mb[i]));
		s->mb[i].buf_addr = m;
		s->mb[i].data_off = HEADROOM;
		s->mb[i].nb_segs = chained[i] ? 2 : 1;
		s->mb[i].data_len = (sl_u16)lens[i];
		s->mb[i].pkt_len = (sl_u32)lens[i];
		s->mb[i].buf_len = BUF;
		s->p[i] = &s->mb[i];
	}
}

/*
 * Back from the burst's partition (sent, then dropped, each in order) to
 * each packet's verdict, reason and buffer; the partition must keep the
 * order and tx_bytes must be what was sent.
 */
static void unload(struct side *s, unsigned int n, unsigned int k,
		   sl_u64 tx_bytes)
{
	sl_u64 bytes = 0;
	unsigned int j;
	int last[2] = { -1, -1 };

	assert_true(k <= n);
	for (j = 0; j < n; j++) {
		const struct sl_mbuf *m = s->p[j];
		unsigned int i = (unsigned int)(m - s->mb);
		bool sent = j < k;

		assert_true(i < n);
		assert_true((int)i > last[sent]);
		last[sent] = (int)i;
		assert_int_equal(m->pkt_len, m->data_len);
		assert_true((sl_u32)m->data_off + m->data_len <= m->buf_len);
		s->v[i] = sent ? SL_VERDICT_TX : SL_VERDICT_DROP;
		s->r[i] = sent ? SL_DROP_NONE : s->why[j];
		s->b[i].data = m->buf_addr + m->data_off;
		s->b[i].len = m->data_len;
		s->b[i].headroom = m->data_off;
		s->b[i].tailroom =
			(sl_u32)m->buf_len - m->data_off - m->data_len;
		if (sent)
			bytes += m->data_len;
	}
	assert_int_equal(bytes, tx_bytes);
}

/* The sides of the comparison: the express path with AVX-512 (where the
 * CPU has it), without, and the general path alone. */
enum { S_X512, S_XSCALAR, S_GENERAL, SIDES };
static const char *const side_name[SIDES] = { "express (AVX-512)",
					      "express (scalar)", "general" };

static void all_publish(struct side *s, const struct sl_pub_override *ov,
			unsigned int n_ov)
{
	unsigned int k;

	for (k = 0; k < SIDES; k++)
		publish(s[k].w, ov, n_ov);
}

static void backend_state(struct sl_pub_override *o, sl_u32 backend,
			  enum sl_backend_state state)
{
	memset(o, 0, sizeof(*o));
	o->vip = "multi";
	o->family = SL_AF_INET;
	o->addr.v4 = sl_htonl(backend);
	o->state = state;
	o->weight = -1;
}

static void compare_counters(struct world *a, struct world *b)
{
	struct sl_lcore_stats sa, sb;
	struct sl_vip_stats va, vb;
	struct sl_backend_stats ba, bb;
	sl_u32 i;

	sl_shm_sum_lcore(a->h, &sa);
	sl_shm_sum_lcore(b->h, &sb);
	assert_memory_equal(&sa, &sb, sizeof(sa));
	for (i = 0; i < a->fp.table->n_vips; i++) {
		assert_int_equal(sl_shm_sum_vip(a->h, i, &va), 0);
		assert_int_equal(sl_shm_sum_vip(b->h, i, &vb), 0);
		assert_memory_equal(&va, &vb, sizeof(va));
	}
	for (i = 0; i < a->fp.table->n_backends; i++) {
		assert_int_equal(sl_shm_sum_backend(a->h, i, &ba), 0);
		assert_int_equal(sl_shm_sum_backend(b->h, i, &bb), 0);
		assert_memory_equal(&ba, &bb, sizeof(ba));
	}
}

static void test_express_and_general_paths_agree_on_random_traffic(void **state)
{
	static sl_u8 frames[SL_FP_BURST_MAX][MAX_FRAME];
	size_t lens[SL_FP_BURST_MAX];
	struct side s[SIDES];
	struct sl_pub_override ov;
	sl_u64 now = NOW_NS, pkts = 0, tx = 0, shaped = 0;
	unsigned int burst, i, k;
	const struct sl_buf *g;

	(void)state;
	memset(s, 0, sizeof(s));
	for (k = 0; k < SIDES; k++) {
		s[k].w = world_new(true);
		s[k].mem = malloc((size_t)SL_FP_BURST_MAX * BUF);
		assert_non_null(s[k].mem);
	}
	if (!sl_fp_simd512(&s[S_X512].w->fp, true))
		print_message("no AVX-512 on this CPU: its side is scalar\n");
	sl_fp_simd512(&s[S_XSCALAR].w->fp, false);
	s[S_GENERAL].w->fp.express_off = true;
	for (burst = 0; burst < 3000; burst++) {
		unsigned int n = 1 + rnd(SL_FP_BURST_MAX);

		if (burst == 1000) {
			backend_state(&ov, 0xcb007116u, SL_BACKEND_DRAINED);
			all_publish(s, &ov, 1);
		} else if (burst == 1500) {
			backend_state(&ov, 0xcb007115u, SL_BACKEND_DOWN);
			all_publish(s, &ov, 1);
		} else if (burst == 2000) {
			all_publish(s, NULL, 0);
		}
		/* Mostly milliseconds; now and then past the UDP timeout. */
		now += rnd(1000) == 0 ? 31ull * 1000000000 : rnd(1000000);
		for (i = 0; i < n; i++) {
			lens[i] = random_frame(frames[i]);
			chained[i] = rnd(300) == 0;
		}
		for (k = 0; k < SIDES; k++) {
			sl_u64 bytes;
			unsigned int sent;

			load_burst(&s[k], frames, lens, n);
			sl_fp_begin_burst(&s[k].w->fp, now);
			sent = sl_fp_process_burst(&s[k].w->fp, 0, s[k].p, n,
						   s[k].why, &bytes);
			unload(&s[k], n, sent, bytes);
		}
		for (i = 0; i < n; i++) {
			g = &s[S_GENERAL].b[i];
			if (g->len > MAX_FRAME + 64)
				fail_msg("burst %u packet %u: %u bytes", burst,
					 i, g->len);
			for (k = 0; k < S_GENERAL; k++) {
				const struct sl_buf *a = &s[k].b[i];

				if (s[k].v[i] == s[S_GENERAL].v[i] &&
				    s[k].r[i] == s[S_GENERAL].r[i] &&
				    a->headroom == g->headroom &&
				    a->len == g->len &&
				    a->tailroom == g->tailroom &&
				    memcmp(a->data, g->data, a->len) == 0)
					continue;
				print_error("burst %u packet %u (%zu bytes): "
					    "%s %d/%s, general %d/%s\n",
					    burst, i, lens[i], side_name[k],
					    s[k].v[i], sl_drop_name(s[k].r[i]),
					    s[S_GENERAL].v[i],
					    sl_drop_name(s[S_GENERAL].r[i]));
				fail();
			}
			if (chained[i] &&
			    (s[S_GENERAL].v[i] != SL_VERDICT_DROP ||
			     s[S_GENERAL].r[i] != SL_DROP_UNHANDLED))
				fail_msg("burst %u packet %u: a chained mbuf "
					 "not dropped as unhandled",
					 burst, i);
			tx += s[S_GENERAL].v[i] == SL_VERDICT_TX;
			shaped += express_shape(
				frames[i], lens[i], g->data, g->len,
				s[S_GENERAL].v[i] == SL_VERDICT_TX);
		}
		pkts += n;
	}
	for (k = 0; k < S_GENERAL; k++)
		compare_counters(s[k].w, s[S_GENERAL].w);
	print_message("%llu packets, %llu forwarded, %llu IPv4 in IPv4 from "
		      "a plain frame, %llu express\n",
		      (unsigned long long)pkts, (unsigned long long)tx,
		      (unsigned long long)shaped,
		      (unsigned long long)s[S_X512].w->fp.fx_packets);
	assert_int_equal(s[S_GENERAL].w->fp.fx_packets, 0);
	/* Of those, all but a flow's first packets (and re-picks after a
	 * backend change or an idle timeout, and drained flows) go express,
	 * the same ones either way. */
	assert_int_equal(s[S_X512].w->fp.fx_packets,
			 s[S_XSCALAR].w->fp.fx_packets);
	assert_true(s[S_X512].w->fp.fx_packets <= shaped);
	assert_true(s[S_X512].w->fp.fx_packets > shaped * 3 / 4);
	for (k = 0; k < SIDES; k++) {
		free(s[k].mem);
		world_free(s[k].w);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_fixtures_again_give_the_same_bytes_express),
		cmocka_unit_test(
			test_express_and_general_paths_agree_on_random_traffic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
