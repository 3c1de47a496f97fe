/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_xdp_fixtures.c: the XDP program against the packet-fixture table
 * that tests/dpdk/test_fastpath.c runs through sluice-dp.
 *
 * The program is loaded (not attached) by the loader sluiced uses, with
 * static MACs instead of bpf_fib_lookup; the fixture config is published
 * through sl_xdp_apply (sl_xdp_publish's code path) into a table file in a
 * temporary directory and copied into the maps. Every fixture runs once
 * through BPF_PROG_TEST_RUN (repeat 1), on one CPU.
 *
 * XDP mode hands to the kernel what sluice-dp drops or answers as a host,
 * so the fixture's DPDK verdict maps to an XDP one by this rule (the same
 * as in bpf/sluice_xdp.bpf.c):
 *   tx, forwarded to a VIP's backend     -> XDP_TX, the same bytes
 *   tx, echo reply from a VIP            -> XDP_TX, the same bytes
 *   tx, echo reply from the LB's address -> XDP_PASS, unchanged (kernel's)
 *   tx, ICMP too big to the client       -> XDP_TX, the same bytes
 *   only dpdk, ARP or NDP                -> XDP_PASS, unchanged (kernel's)
 *   only dpdk, anything else             -> not run (DPDK neighbour table)
 *   drop no_backend, fragment, frag_ambiguous, too_big, too_big_ratelimit,
 *        no_nexthop, no_headroom         -> XDP_DROP, same reason
 *   drop truncated, bad_l2, vlan_depth, bad_ip_version, bad_ip_hdr,
 *        bad_ip6_ext, bad_l4             -> XDP_DROP if the IP header was
 *        read and its destination is a VIP address, else XDP_PASS
 *   drop not_vip, non_ip, unhandled, icmp_unmatched -> XDP_PASS, unchanged
 * Frames shorter than 14 bytes are not run: BPF_PROG_TEST_RUN refuses them.
 * Then the counters: rx, tx, every drop and pass under its reason, echo and
 * too-big replies, per-VIP and per-backend packets.
 *
 * Needs root; exits 77 otherwise.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "publish.h"
#include "sluice/parse.h"
#include "xdp_test.h"

#ifndef SL_SOURCE_ROOT
#define SL_SOURCE_ROOT "."
#endif
#define FIXDIR SL_SOURCE_ROOT "/tests/fixtures/"

static void die(const char *fmt, const char *a, unsigned int n)
{
	fprintf(stderr, "FAIL: ");
	fprintf(stderr, fmt, a, n);
	fprintf(stderr, "\n");
	exit(1);
}

/* ---- the mapping rule ---- */

enum expect { E_SKIP, E_TX, E_PASS, E_DROP };

static bool is_vip_addr(const struct sl_shm_header *h, const union sl_addr *a,
			sl_u8 family)
{
	const struct sl_table_hdr *t = sl_table_slot(h, h->gen);
	struct sl_vip_key k;

	memset(&k, 0, sizeof(k));
	k.addr = *a;
	k.family = family;
	k.proto = SL_IPPROTO_TCP | SL_VIP_KEY_FRAG;
	if (sl_table_vip_lookup(t, &k) != SL_VIP_EMPTY)
		return true;
	k.proto = SL_IPPROTO_UDP | SL_VIP_KEY_FRAG;
	return sl_table_vip_lookup(t, &k) != SL_VIP_EMPTY;
}

/* What XDP mode does with a fixture; *why: the reason counted. */
static enum expect expect(const struct sl_fixture *f,
			  const struct sl_shm_header *h, int *why)
{
	struct sl_pkt p;
	int kind = sl_parse(f->in, f->in + f->in_len, &p);

	*why = f->reason;
	if (f->in_len < 14)
		return E_SKIP;
	if (strcmp(f->only, "dpdk") == 0) {
		*why = SL_DROP_UNHANDLED;
		return kind == SL_PKT_ARP || kind == SL_PKT_NDP ? E_PASS
								: E_SKIP;
	}
	if (f->tx) {
		if (kind == SL_PKT_ICMP_ECHO &&
		    !is_vip_addr(h, &p.key.dst, p.family)) {
			*why = SL_DROP_NOT_VIP;
			return E_PASS;
		}
		return E_TX;
	}
	switch (f->reason) {
	case SL_DROP_NO_BACKEND:
	case SL_DROP_FRAGMENT:
	case SL_DROP_FRAG_AMBIGUOUS:
	case SL_DROP_TOO_BIG:
	case SL_DROP_TOO_BIG_RATELIMIT:
	case SL_DROP_NO_NEXTHOP:
	case SL_DROP_NO_HEADROOM:
		return E_DROP;
	case SL_DROP_TRUNCATED:
	case SL_DROP_BAD_L2:
	case SL_DROP_VLAN_DEPTH:
	case SL_DROP_BAD_IP_VERSION:
	case SL_DROP_BAD_IP_HDR:
	case SL_DROP_BAD_IP6_EXT:
	case SL_DROP_BAD_L4:
		return kind < 0 && p.family &&
				       is_vip_addr(h, &p.key.dst, p.family)
			       ? E_DROP
			       : E_PASS;
	default:
		return E_PASS;
	}
}

static void hexdiff(const char *name, const sl_u8 *want, size_t wl,
		    const sl_u8 *got, size_t gl)
{
	size_t i;

	fprintf(stderr, "%s: output differs (want %zu bytes, got %zu)\n", name,
		wl, gl);
	for (i = 0; i < wl || i < gl; i++)
		if (i >= wl || i >= gl || want[i] != got[i]) {
			fprintf(stderr,
				"  first difference at byte %zu: want "
				"%02x got %02x\n",
				i, i < wl ? want[i] : 0, i < gl ? got[i] : 0);
			break;
		}
}

int main(void)
{
	static sl_u8 out[XT_MAX_FRAME];
	sl_u64 want_drop[SL_DROP_SLOTS] = { 0 },
	       want_pass[SL_DROP_SLOTS] = { 0 };
	sl_u64 want_echo = 0, want_too_big = 0, want_tx = 0, ran = 0;
	unsigned int n, i, failed = 0, skipped = 0, by[4] = { 0 };
	char dir[] = "/tmp/sl-xdp-fix-XXXXXX", cfg_name[64], path[512],
	     err[512];
	struct sl_lcore_stats st;
	struct sl_xdp_pass_stats ps;
	struct sl_config *cfg;
	struct sl_fixture *fx;
	struct sl_xdp *x;
	int prog;

	xt_require_root("test_xdp_fixtures");
	xt_pin_cpu(0);
	fx = sl_fixtures_load(FIXDIR "fastpath.fix", &n, err, sizeof(err));
	if (!fx)
		die("%s%.0u", err, 0);
	if (n < 40 || !mkdtemp(dir))
		die("%s: %u fixtures", FIXDIR "fastpath.fix", n);
	cfg = xt_config(FIXDIR "fastpath.conf");
	snprintf(cfg_name, sizeof(cfg_name), "fastpath.conf");
	x = xt_load(cfg, dir, NULL, 0, NULL);
	xt_apply(x, cfg, NULL, 0);
	prog = sl_xdp_prog_fd(x, "sluice_xdp");

	for (i = 0; i < n; i++) {
		const struct sl_fixture *f = &fx[i];
		enum expect e;
		size_t out_len = 0;
		int act, why, want_act;

		if (strcmp(f->config, cfg_name) != 0) {
			sl_config_free(cfg);
			snprintf(path, sizeof(path), FIXDIR "%s", f->config);
			cfg = xt_config(path);
			xt_apply(x, cfg, NULL, 0);
			snprintf(cfg_name, sizeof(cfg_name), "%s", f->config);
		}
		e = expect(f, sl_xdp_tables(x), &why);
		by[e]++;
		if (e == E_SKIP) {
			skipped++;
			continue;
		}
		act = xt_run(prog, f->in, f->in_len, out, &out_len);
		ran++;
		want_act = e == E_TX	 ? XDP_TX
			   : e == E_PASS ? XDP_PASS
					 : XDP_DROP;
		if (act != want_act) {
			fprintf(stderr, "%s: XDP %s, want %s (DPDK %s%s%s)\n",
				f->name, xt_action(act), xt_action(want_act),
				f->tx ? "tx" : "drop", f->tx ? "" : " ",
				f->tx ? "" : sl_drop_name(f->reason));
			failed++;
		} else if (e == E_TX && (out_len != f->out_len ||
					 memcmp(out, f->out, out_len))) {
			hexdiff(f->name, f->out, f->out_len, out, out_len);
			failed++;
		} else if (e == E_PASS && (out_len != f->in_len ||
					   memcmp(out, f->in, out_len))) {
			hexdiff(f->name, f->in, f->in_len, out, out_len);
			failed++;
		}
		if (e == E_DROP)
			want_drop[why]++;
		if (e == E_PASS)
			want_pass[why]++;
		if (e != E_TX)
			continue;
		want_tx++;
		if (!f->vip[0] && strstr(f->name, "icmp_echo"))
			want_echo++;
		else if (!f->vip[0] && strstr(f->name, "too_big"))
			want_too_big++;
	}
	printf("fixtures: %u, run %llu (tx %u, pass %u, drop %u), not run %u "
	       "(DPDK neighbour table or < 14 bytes), failed %u\n",
	       n, (unsigned long long)ran, by[E_TX], by[E_PASS], by[E_DROP],
	       skipped, failed);

	/* Counters: every packet, every drop and pass under its reason. */
	if (sl_xdp_stats(x, &st, NULL, 0, NULL, 0) || sl_xdp_passed(x, &ps))
		die("%s: cannot read the counters%.0u", "stats", 0);
	if (st.rx_packets != ran || st.tx_packets != want_tx ||
	    st.icmp_echo_replies != want_echo ||
	    st.icmp_too_big_sent != want_too_big) {
		fprintf(stderr,
			"counters: rx %llu/%llu tx %llu/%llu echo "
			"%llu/%llu too_big %llu/%llu (got/want)\n",
			(unsigned long long)st.rx_packets,
			(unsigned long long)ran,
			(unsigned long long)st.tx_packets,
			(unsigned long long)want_tx,
			(unsigned long long)st.icmp_echo_replies,
			(unsigned long long)want_echo,
			(unsigned long long)st.icmp_too_big_sent,
			(unsigned long long)want_too_big);
		failed++;
	}
	for (i = 0; i < SL_DROP_SLOTS; i++) {
		if (st.drops[i] != want_drop[i] ||
		    ps.passed[i] != want_pass[i]) {
			fprintf(stderr,
				"%s: dropped %llu want %llu, passed %llu "
				"want %llu\n",
				sl_drop_name(i),
				(unsigned long long)st.drops[i],
				(unsigned long long)want_drop[i],
				(unsigned long long)ps.passed[i],
				(unsigned long long)want_pass[i]);
			failed++;
		}
	}
	/* Per VIP (by name, in the last table): the forwarded fixtures. */
	{
		const struct sl_shm_header *h = sl_xdp_tables(x);
		const struct sl_table_hdr *t = sl_table_slot(h, h->gen);
		struct sl_vip_stats *vs = calloc(t->n_vips, sizeof(*vs));
		struct sl_backend_stats *bs =
			calloc(t->n_backends, sizeof(*bs));
		sl_u32 id;

		if (!vs || !bs ||
		    sl_xdp_stats(x, NULL, vs, t->n_vips, bs, t->n_backends))
			die("%s: cannot read the counters%.0u", "stats", 0);
		for (id = 0; id < t->n_vips; id++) {
			const struct sl_vip_entry *ve = &sl_table_vips(t)[id];
			sl_u64 want = 0;
			sl_u32 be;

			for (i = 0; i < n; i++)
				want += fx[i].tx &&
					strcmp(fx[i].vip, ve->name) == 0;
			if (vs[id].packets != want) {
				fprintf(stderr,
					"vip %s: %llu packets, want %llu\n",
					ve->name,
					(unsigned long long)vs[id].packets,
					(unsigned long long)want);
				failed++;
			}
			if (ve->n_backends != 1 || !want)
				continue;
			be = sl_table_maglev(t)[ve->maglev_off];
			if (bs[be].packets != want ||
			    bs[be].bytes != vs[id].bytes) {
				fprintf(stderr,
					"backend of %s: %llu packets, "
					"want %llu\n",
					ve->name,
					(unsigned long long)bs[be].packets,
					(unsigned long long)want);
				failed++;
			}
		}
		free(vs);
		free(bs);
	}
	sl_xdp_free(x, false, true);
	sl_config_free(cfg);
	rmdir(dir);
	sl_fixtures_free(fx, n);
	if (failed) {
		printf("FAIL: %u failures\n", failed);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
