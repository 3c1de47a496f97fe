/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_parity.c: the XDP program and sluice-dp's fast path choose the same
 * backend, and emit the same bytes, for the same packet.
 *
 * One config (five VIPs: IPv4 TCP and UDP, IPv6, port-agnostic, IPv4 over
 * IPv6; unequal weights; one backend drained and one down by override) is
 * published twice with the real publisher: into shared memory for one
 * struct sl_fp (dataplane/fastpath.c, flowtab.c, neigh.c linked in), and
 * through sl_xdp_apply into the maps of sluice_xdp. 100,000 random flows
 * (fixed seed) go through sl_fp_process and BPF_PROG_TEST_RUN; verdict and
 * output frame must be identical, so the outer destination (the backend)
 * is. Then both republish with two more backends changed (one down, one
 * drained) and the first 20,000 flows run again: flow-table hits, drained
 * backends keeping flows and down ones losing them must agree as well.
 *
 * Needs root; exits 77 otherwise.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastpath.h"
#include "flowtab.h"
#include "neigh.h"
#include "pktbuild.h"
#include "publish.h"
#include "xdp_test.h"

#define N_FLOWS 100000
#define N_AGAIN 20000
/* Both tables: 8-way buckets, no evictions at 100k flows (the config's
 * flow_table.size is the XDP table's). */
#define FT_SIZE (1u << 20)
#define HEADROOM 128
#define NOW_NS (1000ull * 1000 * 1000 * 1000)

static const char config_text[] =
	"instance = \"parity\";\n"
	"hash_seed = \"0f1e2d3c4b5a69788796a5b4c3d2e1f0\";\n"
	"dataplane = { mode = \"dpdk\"; interfaces = [ \"net_null0\" ];\n"
	"  gateway = \"198.51.100.1\"; gateway6 = \"2001:db8:ff::1\";\n"
	"  gateway_mac = \"02:00:00:00:00:fe\";\n"
	"  local_address = \"198.51.100.2\"; local_address6 = "
	"\"2001:db8:ff::2\";\n"
	"  encap_source = \"172.16.0.0/16\"; encap_source6 = "
	"\"2001:db8:e0::/104\";\n"
	"  mtu = 1500; gue_port = 6080;\n"
	"  flow_table = { size = 1048576; tcp_timeout = 900; udp_timeout = 30; "
	"};\n"
	"};\n"
	"vips = (\n"
	" { name = \"w4\"; address = \"192.0.2.10\"; port = 80; protocol = "
	"\"tcp\";\n"
	"   method = \"ipip\"; healthcheck = { type = \"none\"; };\n"
	"   backends = ( { address = \"203.0.113.1\"; weight = 1; },\n"
	"     { address = \"203.0.113.2\"; weight = 2; },\n"
	"     { address = \"203.0.113.3\"; weight = 3; },\n"
	"     { address = \"203.0.113.4\"; weight = 1; },\n"
	"     { address = \"203.0.113.5\"; weight = 1; },\n"
	"     { address = \"203.0.113.6\"; weight = 5; } ); },\n"
	" { name = \"u4\"; address = \"192.0.2.11\"; port = 53; protocol = "
	"\"udp\";\n"
	"   method = \"gue\"; table_size = 1021; healthcheck = { type = "
	"\"none\"; };\n"
	"   backends = ( { address = \"203.0.113.11\"; }, { address = "
	"\"203.0.113.12\"; },\n"
	"     { address = \"203.0.113.13\"; weight = 0; }, { address = "
	"\"203.0.113.14\"; } ); },\n"
	" { name = \"w6\"; address = \"2001:db8:100::10\"; port = 443; "
	"protocol = \"tcp\";\n"
	"   method = \"ipip\"; table_size = 4099; healthcheck = { type = "
	"\"none\"; };\n"
	"   backends = ( { address = \"2001:db8:300::1\"; }, { address = "
	"\"2001:db8:300::2\"; weight = 3; },\n"
	"     { address = \"2001:db8:300::3\"; } ); },\n"
	" { name = \"any\"; address = \"192.0.2.12\"; port = 0; protocol = "
	"\"udp\";\n"
	"   method = \"ipip\"; table_size = 251; healthcheck = { type = "
	"\"none\"; };\n"
	"   backends = ( { address = \"203.0.113.21\"; port = 1; }, { address "
	"= \"203.0.113.22\"; port = 1; },\n"
	"     { address = \"203.0.113.23\"; port = 1; } ); },\n"
	" { name = \"w46\"; address = \"192.0.2.13\"; port = 80; protocol = "
	"\"tcp\";\n"
	"   method = \"gue\"; table_size = 509; healthcheck = { type = "
	"\"none\"; };\n"
	"   backends = ( { address = \"2001:db8:300::21\"; }, { address = "
	"\"2001:db8:300::22\"; } ); }\n"
	");\n";

struct dp {
	struct sl_shm *shm;
	struct sl_publisher *pub;
	struct sl_fp_conf conf;
	void *ft_mem;
	struct sl_flowtab ft;
	struct sl_neigh neigh;
	struct sl_fp fp;
};

static void fail(const char *what, const char *err)
{
	fprintf(stderr, "FAIL: %s: %s\n", what, err);
	exit(1);
}

static void dp_init(struct dp *d, const struct sl_config *cfg, const char *dir)
{
	struct sl_shm_caps caps;
	char path[256], err[512];

	snprintf(path, sizeof(path), "%s/shm", dir);
	sl_shm_caps_for_config(cfg, false, &caps);
	caps.max_lcores = 2;
	d->shm = sl_shm_create(cfg->instance, &caps, path, err, sizeof(err));
	if (!d->shm)
		fail("shm", err);
	d->pub = sl_publisher_new(d->shm, err, sizeof(err));
	if (!d->pub)
		fail("publisher", err);
	memcpy(d->conf.port_mac[0], xt_port_mac, 6);
	d->conf.nb_ports = 1;
	d->conf.local4 = cfg->dp.local_address;
	d->conf.local6 = cfg->dp.local_address6;
	d->conf.has_local6 = true;
	d->conf.gateway4 = cfg->dp.gateway;
	d->conf.gateway6 = cfg->dp.gateway6;
	d->conf.has_gateway6 = true;
	memcpy(d->conf.gw_mac, xt_gw_mac, 6);
	d->conf.has_gw_mac = true;
	d->conf.icmp_rate = 1000;
	d->conf.icmp_burst = 100;
	d->ft_mem = aligned_alloc(64, sl_flowtab_mem_size(FT_SIZE));
	if (!d->ft_mem ||
	    sl_flowtab_init(&d->ft, d->ft_mem, FT_SIZE, cfg->dp.tcp_timeout,
			    cfg->dp.udp_timeout))
		fail("flowtab", "init");
	sl_neigh_init(&d->neigh);
	if (sl_fp_init(&d->fp, sl_shm_header(d->shm), 0, &d->conf, &d->ft,
		       &d->neigh))
		fail("fastpath", "init");
}

static void dp_free(struct dp *d)
{
	sl_fp_detach(&d->fp);
	sl_publisher_free(d->pub);
	sl_shm_close(d->shm, true);
	free(d->ft_mem);
}

static void publish_both(struct dp *d, struct sl_xdp *x,
			 const struct sl_config *cfg,
			 const struct sl_pub_override *ov, unsigned int n)
{
	char err[512];

	if (sl_publish_config(d->pub, cfg, ov, n, err, sizeof(err)))
		fail("publish (shm)", err);
	sl_fp_begin_burst(&d->fp, NOW_NS);
	xt_apply(x, cfg, ov, n);
}

static void override(struct sl_pub_override *o, const char *vip,
		     const char *addr, enum sl_backend_state state)
{
	memset(o, 0, sizeof(*o));
	o->vip = vip;
	o->weight = -1;
	o->state = state;
	if (inet_pton(AF_INET, addr, &o->addr.v4) == 1)
		o->family = SL_AF_INET;
	else if (inet_pton(AF_INET6, addr, o->addr.b) == 1)
		o->family = SL_AF_INET6;
	else
		fail("override", addr);
}

/* xorshift64*, fixed seed: the same flows on every run. */
static sl_u64 rng_state = 0x9e3779b97f4a7c15ull;
static sl_u32 rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (sl_u32)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

struct flow {
	sl_u8 vip;
	sl_u32 client;
	sl_u16 sport, dport;
};

/* The packet of flow f: a SYN, or a UDP datagram with a short payload. */
static void build(struct pb *b, const struct flow *f)
{
	static const sl_u32 vip4[] = { 0xc000020a, 0xc000020b, 0, 0xc000020c,
				       0xc000020d };
	union sl_addr src6 = pb_a6(0), dst6 = pb_a6(0);

	pb_init(b);
	pb_eth(b, 0);
	if (f->vip == 2) {
		src6.b[4] = 0xaa;
		memcpy(&src6.b[12], &f->client, 4);
		dst6.b[4] = 0x01;
		dst6.b[15] = 0x10;
		pb_ip6(b, src6, dst6);
	} else {
		pb_ip4(b, 0x0a000000u | (f->client & 0xffffff), vip4[f->vip]);
	}
	if (f->vip == 1 || f->vip == 3) {
		pb_udp(b, f->sport, f->dport);
		pb_data(b, 1 + f->client % 64);
	} else {
		pb_tcp(b, f->sport, f->dport, SL_TCP_SYN, 0);
	}
	pb_finish(b);
}

static void make_flow(struct flow *f)
{
	static const sl_u16 port[] = { 80, 53, 443, 0, 80 };

	f->vip = (sl_u8)(rnd() % 5);
	f->client = rnd();
	f->sport = (sl_u16)(1024 + rnd() % 64000);
	f->dport = f->vip == 3 ? (sl_u16)(1 + rnd() % 65535) : port[f->vip];
}

/* Run flow f through both; returns false (and says why) on a mismatch. */
static bool same(struct dp *d, int prog, const struct flow *f,
		 unsigned int *by_dst, sl_u64 *tx)
{
	static sl_u8 mem[HEADROOM + PB_MAX + 256], xout[XT_MAX_FRAME];
	static struct pb b;
	struct sl_buf buf;
	enum sl_drop reason = SL_DROP_NONE;
	enum sl_verdict v;
	size_t xlen = 0;
	int act;

	build(&b, f);
	memcpy(mem + HEADROOM, b.buf, b.len);
	buf.data = mem + HEADROOM;
	buf.len = b.len;
	buf.headroom = HEADROOM;
	buf.tailroom = sizeof(mem) - HEADROOM - b.len;
	v = sl_fp_process(&d->fp, 0, &buf, &reason);
	act = xt_run(prog, b.buf, b.len, xout, &xlen);
	if ((v == SL_VERDICT_TX) != (act == XDP_TX) ||
	    (v == SL_VERDICT_TX &&
	     (xlen != buf.len || memcmp(xout, buf.data, xlen)))) {
		fprintf(stderr,
			"flow vip %u client %08x %u -> %u: DPDK %s "
			"(%u bytes), XDP %s (%zu bytes)\n",
			f->vip, f->client, f->sport, f->dport,
			v == SL_VERDICT_TX ? "tx" : "drop", buf.len,
			xt_action(act), xlen);
		return false;
	}
	if (v == SL_VERDICT_TX) {
		/* Last byte of the outer destination tells the backend. */
		by_dst[buf.data[buf.data[12] == 0x86 ? 14 + 39 : 14 + 19]]++;
		(*tx)++;
	}
	return true;
}

static unsigned int run_flows(struct dp *d, int prog, const struct flow *fl,
			      unsigned int n, const char *phase, sl_u64 *tx)
{
	unsigned int by_dst[256] = { 0 }, bad = 0, i;

	for (i = 0; i < n; i++)
		if (!same(d, prog, &fl[i], by_dst, tx) && ++bad > 10)
			break;
	printf("%s: %u flows, %u mismatches; by backend (last byte): ", phase,
	       i, bad);
	for (i = 0; i < 256; i++)
		if (by_dst[i])
			printf("%u:%u ", i, by_dst[i]);
	printf("\n");
	return bad;
}

int main(void)
{
	char dir[] = "/tmp/sl-xdp-parity-XXXXXX", err[512];
	struct sl_pub_override ov[4];
	struct sl_lcore_stats xs, ds;
	struct sl_config *cfg;
	struct sl_xdp *x;
	struct flow *fl;
	struct dp d;
	unsigned int bad = 0, i;
	sl_u64 tx = 0;
	int prog;

	xt_require_root("test_parity");
	xt_pin_cpu(0);
	if (!mkdtemp(dir))
		fail("mkdtemp", dir);
	cfg = sl_config_load_string(config_text, "parity.conf", err,
				    sizeof(err));
	if (!cfg)
		fail("config", err);
	memset(&d, 0, sizeof(d));
	dp_init(&d, cfg, dir);
	x = xt_load(cfg, dir, NULL, 0, NULL);
	prog = sl_xdp_prog_fd(x, "sluice_xdp");

	override(&ov[0], "w4", "203.0.113.4", SL_BACKEND_DRAINED);
	override(&ov[1], "w4", "203.0.113.5", SL_BACKEND_DOWN);
	publish_both(&d, x, cfg, ov, 2);
	fl = calloc(N_FLOWS, sizeof(*fl));
	if (!fl)
		fail("flows", "out of memory");
	for (i = 0; i < N_FLOWS; i++)
		make_flow(&fl[i]);
	bad += run_flows(&d, prog, fl, N_FLOWS, "new flows", &tx);

	/* Two more changes: flows on .1 are re-picked, flows on .2 stay. */
	override(&ov[2], "w4", "203.0.113.1", SL_BACKEND_DOWN);
	override(&ov[3], "w4", "203.0.113.2", SL_BACKEND_DRAINED);
	publish_both(&d, x, cfg, ov, 4);
	bad += run_flows(&d, prog, fl, N_AGAIN, "after republish", &tx);

	/*
	 * The same flows from another CPU: its copies of the flows are empty,
	 * and the program must adopt another CPU's (a drained backend keeps
	 * its flows even where RSS does not keep a flow on one CPU).
	 */
	if (libbpf_num_possible_cpus() > 1 &&
	    sysconf(_SC_NPROCESSORS_ONLN) > 1) {
		struct sl_lcore_stats a, b2;

		sl_shm_sum_lcore(sl_shm_header(d.shm), &a);
		xt_pin_cpu(1);
		bad += run_flows(&d, prog, fl, N_AGAIN, "from CPU 1", &tx);
		sl_shm_sum_lcore(sl_shm_header(d.shm), &b2);
		if (b2.flow_hits - a.flow_hits != N_AGAIN) {
			fprintf(stderr, "FAIL: DPDK reference missed flows\n");
			bad++;
		}
	}
	sl_xdp_stats(x, &xs, NULL, 0, NULL, 0);
	sl_shm_sum_lcore(sl_shm_header(d.shm), &ds);
	printf("XDP: tx %llu hits %llu misses %llu repicks %llu evictions "
	       "%llu; DPDK: hits %llu misses %llu repicks %llu evictions "
	       "%llu\n",
	       (unsigned long long)xs.tx_packets,
	       (unsigned long long)xs.flow_hits,
	       (unsigned long long)xs.flow_misses,
	       (unsigned long long)xs.flow_repicks,
	       (unsigned long long)xs.flow_evictions,
	       (unsigned long long)ds.flow_hits,
	       (unsigned long long)ds.flow_misses,
	       (unsigned long long)ds.flow_repicks,
	       (unsigned long long)ds.flow_evictions);
	if (xs.tx_packets != tx || xs.flow_hits != ds.flow_hits ||
	    xs.flow_misses != ds.flow_misses ||
	    xs.flow_repicks != ds.flow_repicks ||
	    xs.flow_evictions != ds.flow_evictions) {
		fprintf(stderr, "FAIL: flow-table counters differ\n");
		bad++;
	}
	sl_xdp_free(x, false, true);
	dp_free(&d);
	sl_config_free(cfg);
	free(fl);
	rmdir(dir);
	if (bad) {
		printf("FAIL\n");
		return 1;
	}
	printf("PASS\n");
	return 0;
}
