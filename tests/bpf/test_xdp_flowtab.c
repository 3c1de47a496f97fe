/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_xdp_flowtab.c: the XDP flow table (bpf/flowtab.h) and what sluiced
 * does with it (control/xdp_load.c), through BPF_PROG_TEST_RUN.
 *
 * The program is loaded by the loader sluiced uses, with static MACs; the
 * table's two maps are mapped (BPF_F_MMAPABLE) so a test can find a
 * flow's bucket and way from the key (include/sluice/table.h has the index
 * hash, signature and check word), age a flow or tear an entry the way a
 * write racing on another CPU would, and then send the packet and read
 * the counters. The flow table is small (1024 entries, 128 buckets of 8
 * ways), so keys of one bucket are found by trying source ports.
 *
 * Also: sluiced's per-CPU cache of VIP lookups follows a republication,
 * a VIP's Maglev table moves between maglev_fixed_map and maglev_map when
 * its size changes (a restart over pinned maps leaves the previous run's
 * slot until attached), and pinned maps of an older layout (the LRU
 * flow_map of earlier versions) are replaced with a log line rather than
 * failing the load.
 *
 * Needs root; exits 77 otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "pktbuild.h"
#include "sluice/parse.h"
#include "xdp_test.h"

#define VIP4 0xc000020a /* 192.0.2.10:80/tcp */
#define CLIENT 0x0a000001
#define TCP_TIMEOUT 60
#define TICK_SHIFT 20 /* the program's flow-table ticks: 2^20 ns */

static const char config_head[] =
	"instance = \"flowtab\";\n"
	"hash_seed = \"00112233445566778899aabbccddeeff\";\n"
	"dataplane = { mode = \"dpdk\"; interfaces = [ \"net_null0\" ];\n"
	"  gateway = \"198.51.100.1\"; local_address = \"198.51.100.2\";\n"
	"  encap_source = \"172.16.0.0/16\";\n"
	"  flow_table = { size = 1024; tcp_timeout = 60; udp_timeout = 30; };\n"
	"};\n";

static const char vip_web4[] =
	" { name = \"web4\"; address = \"192.0.2.10\"; port = 80; protocol = "
	"\"tcp\";\n"
	"   method = \"ipip\"; healthcheck = { type = \"none\"; };\n"
	"   backends = ( { address = \"203.0.113.1\"; }, { address = "
	"\"203.0.113.2\"; },\n"
	"     { address = \"203.0.113.3\"; } ); }";

static const char vip_dns4[] =
	" { name = \"dns4\"; address = \"192.0.2.11\"; port = 53; "
	"protocol = \"udp\";\n"
	"   method = \"gue\"; healthcheck = { type = \"none\"; };\n"
	"   backends = ( { address = \"203.0.113.11\"; } ); }";

struct env {
	char dir[64];
	struct sl_config *cfg;
	struct sl_xdp *x;
	int prog;
	struct sl_hash_key seed;
	sl_u32 nb; /* buckets */
	size_t blen, elen;
	struct sl_xdp_flow_bucket *bk;
	struct sl_xdp_flow *ent;
};

static struct env E;

/* The config with web4, dns4 or both. */
static struct sl_config *config(bool web4, bool dns4)
{
	char text[sizeof(config_head) + sizeof(vip_web4) + sizeof(vip_dns4) +
		  32],
		err[512];
	struct sl_config *cfg;

	snprintf(text, sizeof(text), "%svips = (\n%s%s%s\n);\n", config_head,
		 web4 ? vip_web4 : "", web4 && dns4 ? ",\n" : "",
		 dns4 ? vip_dns4 : "");
	cfg = sl_config_load_string(text, "flowtab.conf", err, sizeof(err));
	if (!cfg)
		fail_msg("config: %s", err);
	return cfg;
}

static void *map_whole(int fd, size_t *len)
{
	struct bpf_map_info info;
	__u32 ilen = sizeof(info);
	void *p;

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &ilen), 0);
	*len = (size_t)info.value_size * info.max_entries;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(E.dir, sizeof(E.dir), "/tmp/sl-xdp-ft-XXXXXX");
	assert_non_null(mkdtemp(E.dir));
	E.cfg = config(true, false);
	assert_int_equal(
		sl_hash_key_parse("00112233445566778899aabbccddeeff", &E.seed),
		0);
	E.x = xt_load(E.cfg, E.dir, NULL, 0, NULL);
	xt_apply(E.x, E.cfg, NULL, 0);
	E.prog = sl_xdp_prog_fd(E.x, "sluice_xdp");
	E.bk = map_whole(sl_xdp_map_fd(E.x, "flow_bucket_map"), &E.blen);
	E.ent = map_whole(sl_xdp_map_fd(E.x, "flow_map"), &E.elen);
	E.nb = (sl_u32)(E.blen / sizeof(*E.bk));
	assert_int_equal(E.nb, 1024 / SL_XDP_FLOW_WAYS);
	assert_int_equal(E.elen / sizeof(*E.ent), 1024);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	munmap(E.bk, E.blen);
	munmap(E.ent, E.elen);
	sl_xdp_free(E.x, false, true);
	sl_config_free(E.cfg);
	rmdir(E.dir);
	return 0;
}

/* Forget every flow between tests. */
static int fresh(void **state)
{
	(void)state;
	assert_true(sl_xdp_flush_flows(E.x) >= 0);
	return 0;
}

/* ---- packets, keys, ways ---- */

static void packet(struct pb *b, sl_u16 sport, sl_u8 flags)
{
	pb_init(b);
	pb_eth(b, 0);
	pb_ip4(b, CLIENT, VIP4);
	pb_tcp(b, sport, 80, flags, 0);
	pb_finish(b);
}

static struct sl_flow_key key_of(sl_u16 sport)
{
	struct sl_pkt p;
	struct pb b;

	packet(&b, sport, SL_TCP_SYN);
	assert_int_equal(sl_parse(b.buf, b.buf + b.len, &p), SL_PKT_L4);
	return p.key;
}

static sl_u32 bucket_of(const struct sl_flow_key *k)
{
	return (sl_u32)sl_xdp_flow_ihash(k, &E.seed) & (E.nb - 1);
}

/* The way of bucket b holding k, untorn, or -1. */
static int way_of(const struct sl_flow_key *k)
{
	sl_u64 ih = sl_xdp_flow_ihash(k, &E.seed);
	sl_u32 b = bucket_of(k), sig = sl_xdp_flow_sig(ih, k->proto);
	int w;

	for (w = 0; w < SL_XDP_FLOW_WAYS; w++) {
		const struct sl_xdp_flow *e = &E.ent[b * SL_XDP_FLOW_WAYS + w];

		if (E.bk[b].sig[w] == sig &&
		    memcmp(&e->key, k, sizeof(*k)) == 0 &&
		    e->check == sl_xdp_flow_check(ih, e->hash, e->backend_id,
						  e->epoch, e->vip_id))
			return w;
	}
	return -1;
}

static struct sl_xdp_flow *entry(const struct sl_flow_key *k, int w)
{
	return &E.ent[bucket_of(k) * SL_XDP_FLOW_WAYS + (sl_u32)w];
}

/* n source ports whose flows share one bucket, from port `from` on. */
static void same_bucket(sl_u16 *ports, int n, sl_u16 from)
{
	struct sl_flow_key k = key_of(from);
	sl_u32 b = bucket_of(&k);
	int got = 0;
	sl_u16 p;

	ports[got++] = from;
	for (p = (sl_u16)(from + 1); got < n && p != from; p++) {
		k = key_of(p);
		if (bucket_of(&k) == b)
			ports[got++] = p;
	}
	assert_int_equal(got, n);
}

static sl_u32 now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (sl_u32)(((sl_u64)ts.tv_sec * 1000000000ull +
			 (sl_u64)ts.tv_nsec) >>
			TICK_SHIFT);
}

static sl_u32 timeout_ticks(void)
{
	return (sl_u32)(((sl_u64)TCP_TIMEOUT * 1000000000ull +
			 (1u << TICK_SHIFT) - 1) >>
			TICK_SHIFT);
}

static const struct sl_backend_entry *backend(sl_u32 id)
{
	const struct sl_shm_header *h = sl_xdp_tables(E.x);
	const struct sl_table_hdr *t = sl_table_slot(h, h->gen);

	assert_true(id < t->n_backends);
	return &sl_table_backends(t)[id];
}

struct run {
	int act;
	sl_u8 out[XT_MAX_FRAME];
	size_t len;
	struct sl_lcore_stats d; /* counters moved by the packet */
};

static void xmit(sl_u16 sport, sl_u8 flags, struct run *r)
{
	struct sl_lcore_stats a, b;
	struct pb pk;
	size_t i;

	packet(&pk, sport, flags);
	assert_int_equal(sl_xdp_stats(E.x, &a, NULL, 0, NULL, 0), 0);
	r->act = xt_run(E.prog, pk.buf, pk.len, r->out, &r->len);
	assert_int_equal(sl_xdp_stats(E.x, &b, NULL, 0, NULL, 0), 0);
	for (i = 0; i < sizeof(a) / 8; i++)
		((sl_u64 *)&r->d)[i] = ((sl_u64 *)&b)[i] - ((sl_u64 *)&a)[i];
}

/* ---- the table ---- */

static void test_new_flow_is_one_entry_with_a_valid_check(void **state)
{
	struct sl_flow_key k = key_of(2000);
	struct sl_xdp_flow *e;
	struct run r;
	int w;

	(void)state;
	xmit(2000, SL_TCP_SYN, &r);
	assert_int_equal(r.act, XDP_TX);
	assert_int_equal(r.d.flow_misses, 1);
	w = way_of(&k);
	assert_true(w >= 0);
	e = entry(&k, w);
	assert_int_equal(e->hash, sl_flow_hash(&k, &E.seed));
	assert_int_equal(e->vip_id, 0);
	/* The outer destination is the backend the entry names. */
	assert_memory_equal(r.out + 14 + 16, &backend(e->backend_id)->addr.v4,
			    4);
	xmit(2000, SL_TCP_ACK, &r);
	assert_int_equal(r.d.flow_hits, 1);
	assert_int_equal(r.d.flow_misses, 0);
}

static void test_torn_entry_is_a_miss_and_is_written_again(void **state)
{
	struct sl_flow_key k = key_of(2001);
	struct run first, r;
	struct sl_xdp_flow *e;
	int w;

	(void)state;
	xmit(2001, SL_TCP_SYN, &first);
	w = way_of(&k);
	assert_true(w >= 0);
	e = entry(&k, w);
	/* Another CPU's write of a new backend, seen half done. */
	e->epoch ^= 0x5a5a;
	assert_int_equal(way_of(&k), -1);
	xmit(2001, SL_TCP_ACK, &r);
	assert_int_equal(r.act, XDP_TX);
	assert_int_equal(r.d.flow_hits, 0);
	assert_int_equal(r.d.flow_repicks, 0);
	assert_int_equal(r.d.flow_misses, 1);
	/* Picked again by Maglev: the same backend; written whole again. */
	assert_int_equal(r.out[14 + 19], first.out[14 + 19]);
	assert_true(way_of(&k) >= 0);
	xmit(2001, SL_TCP_ACK, &r);
	assert_int_equal(r.d.flow_hits, 1);
}

static void test_our_key_with_another_flows_fields_is_a_miss(void **state)
{
	struct sl_flow_key k = key_of(2002), o = key_of(2003);
	struct sl_xdp_flow *e, *other;
	struct run r;
	int w;

	(void)state;
	xmit(2002, SL_TCP_SYN, &r);
	xmit(2003, SL_TCP_SYN, &r);
	w = way_of(&k);
	assert_true(w >= 0 && way_of(&o) >= 0);
	e = entry(&k, w);
	other = entry(&o, way_of(&o));
	/* Another CPU writing flow 2003 here, seen with the key unchanged
	 * and everything else (check word included) already 2003's. */
	e->hash = other->hash;
	e->backend_id = other->backend_id;
	e->epoch = other->epoch;
	e->vip_id = other->vip_id;
	e->check = other->check;
	xmit(2002, SL_TCP_ACK, &r);
	assert_int_equal(r.d.flow_hits, 0);
	assert_int_equal(r.d.flow_misses, 1);
	xmit(2002, SL_TCP_ACK, &r);
	assert_int_equal(r.d.flow_hits, 1);
}

static void test_full_bucket_evicts_the_least_recently_seen_way(void **state)
{
	sl_u16 ports[SL_XDP_FLOW_WAYS + 1];
	struct sl_flow_key k;
	sl_u32 now = now_ticks();
	struct run r;
	int i, w;

	(void)state;
	same_bucket(ports, SL_XDP_FLOW_WAYS + 1, 3000);
	for (i = 0; i < SL_XDP_FLOW_WAYS; i++) {
		xmit(ports[i], SL_TCP_SYN, &r);
		assert_int_equal(r.d.flow_evictions, 0);
	}
	/* Make flow 3 the least recently seen, all of them live. */
	for (i = 0; i < SL_XDP_FLOW_WAYS; i++) {
		k = key_of(ports[i]);
		w = way_of(&k);
		assert_true(w >= 0);
		E.bk[bucket_of(&k)].seen[w] = now - (i == 3 ? 500 : 10 + i);
	}
	k = key_of(ports[3]);
	w = way_of(&k);
	xmit(ports[SL_XDP_FLOW_WAYS], SL_TCP_SYN, &r);
	assert_int_equal(r.d.flow_misses, 1);
	assert_int_equal(r.d.flow_evictions, 1);
	k = key_of(ports[SL_XDP_FLOW_WAYS]);
	assert_int_equal(way_of(&k), w);
	k = key_of(ports[3]);
	assert_int_equal(way_of(&k), -1);
	for (i = 0; i < SL_XDP_FLOW_WAYS; i++) {
		if (i == 3)
			continue;
		xmit(ports[i], SL_TCP_ACK, &r);
		assert_int_equal(r.d.flow_hits, 1);
	}
	/* Flow 3 comes back as a new flow (and evicts in its turn). */
	xmit(ports[3], SL_TCP_ACK, &r);
	assert_int_equal(r.d.flow_misses, 1);
	assert_int_equal(r.d.flow_evictions, 1);
}

static void test_expired_way_is_reused_without_an_eviction(void **state)
{
	sl_u16 ports[SL_XDP_FLOW_WAYS + 1];
	struct sl_flow_key k;
	struct run r;
	int i, w;

	(void)state;
	same_bucket(ports, SL_XDP_FLOW_WAYS + 1, 4000);
	for (i = 0; i < SL_XDP_FLOW_WAYS; i++)
		xmit(ports[i], SL_TCP_SYN, &r);
	k = key_of(ports[5]);
	w = way_of(&k);
	assert_true(w >= 0);
	E.bk[bucket_of(&k)].seen[w] = now_ticks() - timeout_ticks() - 10;
	/* The expired flow's own next packet: a miss, not a hit. */
	xmit(ports[5], SL_TCP_ACK, &r);
	assert_int_equal(r.d.flow_hits, 0);
	assert_int_equal(r.d.flow_misses, 1);
	assert_int_equal(r.d.flow_evictions, 0);
	assert_int_equal(way_of(&k), w);
	/* Expired again: a new flow takes its way, no live flow evicted. */
	E.bk[bucket_of(&k)].seen[w] = now_ticks() - timeout_ticks() - 10;
	xmit(ports[SL_XDP_FLOW_WAYS], SL_TCP_SYN, &r);
	assert_int_equal(r.d.flow_evictions, 0);
	k = key_of(ports[SL_XDP_FLOW_WAYS]);
	assert_int_equal(way_of(&k), w);
}

static void
test_way_seen_a_little_ahead_by_another_cpu_is_live_far_ahead_wrapped(
	void **state)
{
	struct sl_flow_key k = key_of(4500);
	struct run r;
	int w;

	(void)state;
	xmit(4500, SL_TCP_SYN, &r);
	w = way_of(&k);
	assert_true(w >= 0);
	/* Another CPU whose clock reading is a few ticks later. */
	E.bk[bucket_of(&k)].seen[w] = now_ticks() + 3;
	xmit(4500, SL_TCP_ACK, &r);
	assert_int_equal(r.d.flow_hits, 1);
	assert_int_equal(r.d.flow_misses, 0);
	/* But a tick far "ahead" is one that wrapped: now - seen is 3 x 2^30
	 * ticks (37 days idle), negative as a signed age. Expired, so the
	 * packet is a new flow. */
	E.bk[bucket_of(&k)].seen[w] = now_ticks() + (1u << 30);
	xmit(4500, SL_TCP_ACK, &r);
	assert_int_equal(r.d.flow_hits, 0);
	assert_int_equal(r.d.flow_misses, 1);
	assert_int_equal(r.d.flow_evictions, 0);
}

/* ---- the VIP cache ---- */

static void test_vip_lookups_follow_a_republication(void **state)
{
	struct sl_config *dns = config(false, true), *both = config(true, true);
	struct sl_xdp_pass_stats p0, p1;
	struct run r;

	(void)state;
	xmit(5000, SL_TCP_SYN, &r);
	assert_int_equal(r.act, XDP_TX);
	/* The VIP goes away: its packets are the kernel's now. */
	xt_apply(E.x, dns, NULL, 0);
	assert_int_equal(sl_xdp_passed(E.x, &p0), 0);
	xmit(5000, SL_TCP_ACK, &r);
	assert_int_equal(sl_xdp_passed(E.x, &p1), 0);
	assert_int_equal(r.act, XDP_PASS);
	assert_int_equal(
		p1.passed[SL_DROP_NOT_VIP] - p0.passed[SL_DROP_NOT_VIP], 1);
	/* And back: forwarded again. */
	xt_apply(E.x, both, NULL, 0);
	xmit(5000, SL_TCP_ACK, &r);
	assert_int_equal(r.act, XDP_TX);
	xt_apply(E.x, E.cfg, NULL, 0);
	sl_config_free(dns);
	sl_config_free(both);
}

/* ---- Maglev tables in two maps ---- */

/* The config with web4 only, its Maglev table m entries. */
static struct sl_config *config_m(unsigned int m)
{
	char web4[sizeof(vip_web4) + 32],
		text[sizeof(config_head) + sizeof(web4) + 32], err[512];
	struct sl_config *cfg;
	size_t n = strlen(vip_web4);

	/* vip_web4 ends with "); }": the table size goes before the "}". */
	snprintf(web4, sizeof(web4), "%.*s table_size = %u; }", (int)(n - 1),
		 vip_web4, m);
	snprintf(text, sizeof(text), "%svips = (\n%s\n);\n", config_head, web4);
	cfg = sl_config_load_string(text, "flowtab.conf", err, sizeof(err));
	if (!cfg)
		fail_msg("config: %s", err);
	return cfg;
}

/* web4's entry in the table x published. */
static const struct sl_vip_entry *web4_of(const struct sl_xdp *x)
{
	const struct sl_shm_header *h = sl_xdp_tables(x);
	const struct sl_table_hdr *t = sl_table_slot(h, h->gen);
	sl_u32 i;

	for (i = 0; i < t->n_vips; i++)
		if (sl_table_vips(t)[i].addr.v4 == sl_htonl(VIP4))
			return &sl_table_vips(t)[i];
	fail_msg("web4 is not published");
	return NULL;
}

/* Whether web4's slot in x's outer map `name` holds a table. */
static bool has_table_of(const struct sl_xdp *x, const char *name)
{
	sl_u32 vip_id = web4_of(x)->id, map_id = 0;

	return bpf_map_lookup_elem(sl_xdp_map_fd(x, name), &vip_id, &map_id) ==
	       0;
}

static bool has_table(const char *name)
{
	return has_table_of(E.x, name);
}

/* A new flow from sport goes to Maglev's backend of the table published. */
static void assert_new_flow_follows_maglev(sl_u16 sport)
{
	const struct sl_shm_header *h = sl_xdp_tables(E.x);
	const struct sl_table_hdr *t = sl_table_slot(h, h->gen);
	const struct sl_vip_entry *v = web4_of(E.x);
	struct sl_flow_key k = key_of(sport);
	sl_u32 id = sl_table_maglev(
		t)[v->maglev_off + sl_flow_hash(&k, &E.seed) % v->maglev_size];
	sl_be32 dst;
	struct run r;

	xmit(sport, SL_TCP_SYN, &r);
	assert_int_equal(r.act, XDP_TX);
	assert_int_equal(r.d.flow_misses, 1);
	memcpy(&dst, r.out + 14 + 16, 4); /* the outer IPv4 destination */
	assert_int_equal(dst, backend(id)->addr.v4);
}

/*
 * A table of the default M is in maglev_fixed_map (its lookup inlined),
 * any other in maglev_map; a VIP whose M changes moves between them and
 * its new flows follow the new table, the old slot cleared.
 */
static void test_maglev_table_moves_between_maps_with_its_size(void **state)
{
	struct sl_config *small = config_m(251),
			 *dflt = config_m(SL_XDP_MAGLEV_FIXED_M);

	(void)state;
	xt_apply(E.x, dflt, NULL, 0);
	assert_true(has_table("maglev_fixed_map"));
	assert_false(has_table("maglev_map"));
	assert_new_flow_follows_maglev(6000);
	xt_apply(E.x, small, NULL, 0);
	assert_false(has_table("maglev_fixed_map"));
	assert_true(has_table("maglev_map"));
	assert_new_flow_follows_maglev(6001);
	xt_apply(E.x, dflt, NULL, 0);
	assert_true(has_table("maglev_fixed_map"));
	assert_false(has_table("maglev_map"));
	assert_new_flow_follows_maglev(6002);
	xt_apply(E.x, E.cfg, NULL, 0);
	sl_config_free(small);
	sl_config_free(dflt);
}

/* ---- pinned maps of an older layout ---- */

static char last_log[1024];

static void log_hook(int prio, const char *line, void *arg)
{
	(void)prio;
	(void)arg;
	snprintf(last_log, sizeof(last_log), "%s", line);
}

static int pin_map(const char *dir, const char *name, enum bpf_map_type type,
		   __u32 ksz, __u32 vsz, __u32 n)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_map_create(type, name, ksz, vsz, n, NULL);
	if (fd < 0 || bpf_obj_pin(fd, path))
		return -1;
	close(fd);
	return 0;
}

static void test_pinned_lru_flow_map_of_an_older_run_is_replaced(void **state)
{
	char root[] = "/tmp/sl-xdp-pins-XXXXXX", pins[128], path[256];
	char tables[128], err[512];
	struct bpf_map_info info;
	struct sl_xdp_opts o;
	struct sl_xdp *x;
	__u32 ilen = sizeof(info);
	int fd;

	(void)state;
	assert_non_null(mkdtemp(root));
	if (mount("bpf", root, "bpf", 0, NULL)) {
		rmdir(root);
		skip();
	}
	snprintf(pins, sizeof(pins), "%s/flowtab", root);
	assert_int_equal(mkdir(pins, 0700), 0);
	/* What an earlier sluiced left: a vip_map that fits, and an LRU
	 * flow_map. */
	fd = sl_xdp_map_fd(E.x, "vip_map");
	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &ilen), 0);
	assert_int_equal(pin_map(pins, "vip_map", BPF_MAP_TYPE_HASH,
				 sizeof(struct sl_vip_key),
				 sizeof(struct sl_vip_entry), info.max_entries),
			 0);
	assert_int_equal(pin_map(pins, "flow_map", BPF_MAP_TYPE_LRU_HASH,
				 sizeof(struct sl_flow_key), 24, 1024),
			 0);
	snprintf(tables, sizeof(tables), "%s/tables-pinned", E.dir);
	sl_xdp_opts_default(&o);
	o.pin_dir = pins;
	o.tables_path = tables;
	o.conf.use_fib = 0;
	sl_log_set_hook(log_hook, NULL);
	x = sl_xdp_new(E.cfg, &o, err, sizeof(err));
	sl_log_set_hook(NULL, NULL);
	if (!x)
		fail_msg("%s", err);
	assert_false(sl_xdp_reused(x));
	assert_non_null(strstr(last_log, "flow_map"));
	assert_non_null(strstr(last_log, "lru_hash"));
	snprintf(path, sizeof(path), "%s/flow_map", pins);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	memset(&info, 0, sizeof(info));
	ilen = sizeof(info);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &ilen), 0);
	assert_int_equal(info.type, BPF_MAP_TYPE_ARRAY);
	close(fd);
	sl_xdp_free(x, false, false);
	/* The next run finds maps that fit, and keeps them. */
	last_log[0] = '\0';
	sl_log_set_hook(log_hook, NULL);
	x = sl_xdp_new(E.cfg, &o, err, sizeof(err));
	sl_log_set_hook(NULL, NULL);
	if (!x)
		fail_msg("%s", err);
	assert_true(sl_xdp_reused(x));
	assert_string_equal(last_log, "");
	sl_xdp_free(x, false, true);
	umount(root);
	rmdir(root);
}

/*
 * Restarted over pinned maps, sluiced installs a default-M table in
 * maglev_fixed_map, but leaves the VIP's slot of maglev_map, where the
 * program of a previous (older) run looks, until its own program is
 * attached.
 */
static void test_previous_runs_maglev_slot_is_kept_until_attached(void **state)
{
	char root[] = "/tmp/sl-xdp-pins-XXXXXX", pins[128], tables[128];
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_INNER_MAP);
	struct sl_xdp_opts o;
	struct sl_xdp *x;
	char err[512];
	sl_u32 vip_id;
	int inner;

	(void)state;
	assert_non_null(mkdtemp(root));
	if (mount("bpf", root, "bpf", 0, NULL)) {
		rmdir(root);
		skip();
	}
	snprintf(pins, sizeof(pins), "%s/flowtab", root);
	assert_int_equal(mkdir(pins, 0700), 0);
	snprintf(tables, sizeof(tables), "%s/tables-restart", E.dir);
	sl_xdp_opts_default(&o);
	o.pin_dir = pins;
	o.tables_path = tables;
	o.conf.use_fib = 0;
	x = sl_xdp_new(E.cfg, &o, err, sizeof(err));
	if (!x)
		fail_msg("%s", err);
	xt_apply(x, E.cfg, NULL, 0);
	/* An older sluiced's table for web4, in the map it knew. */
	vip_id = web4_of(x)->id;
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "old", 4, 4, 251, &mo);
	assert_true(inner >= 0);
	assert_int_equal(bpf_map_update_elem(sl_xdp_map_fd(x, "maglev_map"),
					     &vip_id, &inner, BPF_ANY),
			 0);
	close(inner);
	sl_xdp_free(x, false, false);
	x = sl_xdp_new(E.cfg, &o, err, sizeof(err));
	if (!x)
		fail_msg("%s", err);
	assert_true(sl_xdp_reused(x));
	xt_apply(x, E.cfg, NULL, 0);
	assert_true(has_table_of(x, "maglev_fixed_map"));
	assert_true(has_table_of(x, "maglev_map"));
	sl_xdp_free(x, false, true);
	umount(root);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(
			test_new_flow_is_one_entry_with_a_valid_check, fresh),
		cmocka_unit_test_setup(
			test_torn_entry_is_a_miss_and_is_written_again, fresh),
		cmocka_unit_test_setup(
			test_our_key_with_another_flows_fields_is_a_miss,
			fresh),
		cmocka_unit_test_setup(
			test_full_bucket_evicts_the_least_recently_seen_way,
			fresh),
		cmocka_unit_test_setup(
			test_expired_way_is_reused_without_an_eviction, fresh),
		cmocka_unit_test_setup(
			test_way_seen_a_little_ahead_by_another_cpu_is_live_far_ahead_wrapped,
			fresh),
		cmocka_unit_test_setup(test_vip_lookups_follow_a_republication,
				       fresh),
		cmocka_unit_test_setup(
			test_maglev_table_moves_between_maps_with_its_size,
			fresh),
		cmocka_unit_test(
			test_pinned_lru_flow_map_of_an_older_run_is_replaced),
		cmocka_unit_test(
			test_previous_runs_maglev_slot_is_kept_until_attached),
	};

	xt_require_root("test_xdp_flowtab");
	xt_pin_cpu(0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
