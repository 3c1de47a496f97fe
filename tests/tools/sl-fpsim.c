/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sl-fpsim: run the sluice-dp fast path over a pcap, without DPDK.
 *
 *   sl-fpsim -c CONFIG -i IN.pcap -o OUT.pcap [--port-mac MAC]
 *            [--down ADDR]... [--drain ADDR]...
 *
 * Publishes CONFIG's tables (as sluiced would) into a private shared-memory
 * file, then feeds every frame of IN.pcap to sl_fp_process() in order, as
 * one lcore would, and writes the frames it transmits to OUT.pcap. Prints
 * one line per drop reason seen ("drop not_vip 3"), then "tx N".
 *
 * The end-to-end tests use it to predict what sluice-dp must emit for the
 * same input: the fast path itself is pinned by the fixture table, so this
 * checks that the DPDK shell around it (mbufs, queues, TX) adds nothing and
 * loses nothing.
 *
 *   sl-fpsim -c CONFIG -i IN.pcap --bench PASSES [--burst N]
 *            [--simd 0|512] [--general]
 *
 * Profiles the fast path alone (no DPDK): holds IN.pcap in memory and feeds
 * it through sl_fp_process_burst() in bursts of N (default 64, as
 * sluice-dp), each frame first copied into its own buffer as a NIC would
 * write it: one untimed pass that fills the flow table, then PASSES timed
 * ones.
 * The copies are timed alone too and subtracted. Prints ns per packet; meant
 * for `valgrind --tool=callgrind` and for splitting sluice-dp's cost
 * between the fast path and the DPDK shell around it. --simd 0 keeps the
 * express path off AVX-512 (valgrind cannot run it, so it never sees it),
 * --general keeps every packet on the general path.
 */
#include <errno.h>
#include <sys/mman.h>
#include <time.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fastpath.h"
#include "flowtab.h"
#include "neigh.h"
#include "publish.h"

#define HEADROOM 128
#define BUF_SIZE 2048
#define NS_PER_S 1000000000ull

static const char *const drop_names[] = {
#define SL_DROP_NAME(id, name, help) [SL_DROP_##id] = name,
	SL_DROP_LIST(SL_DROP_NAME)
#undef SL_DROP_NAME
};

static int parse_mac(const char *s, sl_u8 mac[6])
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (sl_u8)b[i];
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: sl-fpsim -c CONFIG -i IN.pcap -o OUT.pcap "
			"[--port-mac MAC] [--down ADDR]... [--drain ADDR]...\n"
			"       sl-fpsim -c CONFIG -i IN.pcap --bench PASSES "
			"[--burst N] [--port-mac MAC]\n"
			"       (either: [--simd 0|512] [--general])\n");
	exit(2);
}

static sl_u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sl_u64)ts.tv_sec * NS_PER_S + (sl_u64)ts.tv_nsec;
}

/* The frames of a pcap, back to back in memory. */
struct frames {
	sl_u8 *data;
	sl_u32 *off;
	sl_u32 *len;
	size_t n;
};

static int load_frames(pcap_t *in, struct frames *f)
{
	size_t cap = 0, bytes = 0, room = 0;
	struct pcap_pkthdr *ph;
	const u_char *pkt;

	memset(f, 0, sizeof(*f));
	while (pcap_next_ex(in, &ph, &pkt) == 1) {
		if (ph->caplen > BUF_SIZE)
			continue;
		if (f->n == cap) {
			cap = cap ? 2 * cap : 4096;
			f->off = realloc(f->off, cap * sizeof(*f->off));
			f->len = realloc(f->len, cap * sizeof(*f->len));
			if (!f->off || !f->len)
				return -1;
		}
		if (bytes + ph->caplen > room) {
			room = room ? 2 * room : 1 << 20;
			f->data = realloc(f->data, room);
			if (!f->data)
				return -1;
		}
		memcpy(f->data + bytes, pkt, ph->caplen);
		f->off[f->n] = (sl_u32)bytes;
		f->len[f->n++] = ph->caplen;
		bytes += ph->caplen;
	}
	return f->n ? 0 : -1;
}

/* Copy frames [i, i + n) into bufs, as a NIC's DMA would. */
/*
 * Frames i.. into n buffers as a NIC and its PMD would leave them: the
 * frame at HEADROOM in mem, an mbuf header (as sluice-dp's) describing it.
 */
static __attribute__((noinline)) void fill(struct sl_mbuf *mb,
					   struct sl_mbuf **pkts, sl_u8 *mem,
					   const struct frames *f, size_t i,
					   unsigned int n)
{
	for (unsigned int k = 0; k < n; k++) {
		struct sl_mbuf *m = &mb[k];

		m->buf_addr = mem + (size_t)k * (HEADROOM + BUF_SIZE);
		m->data_off = HEADROOM;
		m->nb_segs = 1;
		m->data_len = (sl_u16)f->len[i + k];
		m->pkt_len = f->len[i + k];
		m->buf_len = HEADROOM + BUF_SIZE;
		memcpy(m->buf_addr + HEADROOM, f->data + f->off[i + k],
		       f->len[i + k]);
		pkts[k] = m;
	}
}

/*
 * PASSES runs over the frames: timed with the fast path, then the copies
 * alone. Returns 0, or 1 when a pass transmitted nothing (a config that
 * does not match the pcap is no benchmark).
 */
static int bench(struct sl_fp *fp, const struct frames *f, unsigned long passes,
		 unsigned int burst)
{
	static sl_u8 mem[SL_FP_BURST_MAX * (HEADROOM + BUF_SIZE)];
	static struct sl_mbuf mb[SL_FP_BURST_MAX], *bp[SL_FP_BURST_MAX];
	enum sl_drop why[SL_FP_BURST_MAX];
	sl_u64 now_ns = 1000 * NS_PER_S, t0 = 0, t_fp, t_copy, tx = 0, pkts;
	sl_u64 bytes;
	sl_u64 hits0 = 0, fx0 = 0;
	unsigned long p;
	unsigned int k;
	size_t i;

	/* One untimed pass first: every flow in the table, as after the
	 * warm-up of scripts/bench.sh dpdk; then the timed passes. */
	for (p = 0; p <= passes; p++) {
		if (p == 1) {
			hits0 = fp->stats->flow_hits;
			fx0 = fp->fx_packets;
			t0 = mono_ns();
		}
		for (i = 0; i < f->n; i += burst) {
			unsigned int n =
				(unsigned int)(f->n - i < burst ? f->n - i
								: burst);

			fill(mb, bp, mem, f, i, n);
			sl_fp_begin_burst(fp, now_ns);
			k = sl_fp_process_burst(fp, 0, bp, n, why, &bytes);
			if (p)
				tx += k;
		}
	}
	t_fp = mono_ns() - t0;
	t0 = mono_ns();
	for (p = 0; p < passes; p++)
		for (i = 0; i < f->n; i += burst)
			fill(mb, bp, mem, f, i,
			     (unsigned int)(f->n - i < burst ? f->n - i
							     : burst));
	t_copy = mono_ns() - t0;
	pkts = (sl_u64)passes * f->n;
	printf("bench %llu packets, burst %u: fast path %.1f ns/packet "
	       "(with copies %.1f, copies alone %.1f), tx %llu, "
	       "flow hits %.1f%%, express %.1f%%\n",
	       (unsigned long long)pkts, burst,
	       (double)(t_fp > t_copy ? t_fp - t_copy : 0) / (double)pkts,
	       (double)t_fp / (double)pkts, (double)t_copy / (double)pkts,
	       (unsigned long long)tx,
	       100.0 * (double)(fp->stats->flow_hits - hits0) / (double)pkts,
	       100.0 * (double)(fp->fx_packets - fx0) / (double)pkts);
	return tx ? 0 : 1;
}

static int add_override(struct sl_pub_override *ov, unsigned int *n,
			const char *addr, sl_u8 state)
{
	struct sl_pub_override *o = &ov[*n];

	memset(o, 0, sizeof(*o));
	if (sl_pub_override_parse(addr, o) < 0) {
		fprintf(stderr, "sl-fpsim: bad address '%s'\n", addr);
		return -1;
	}
	o->state = state;
	(*n)++;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port-mac", required_argument, NULL, 'm' },
		{ "down", required_argument, NULL, 'd' },
		{ "drain", required_argument, NULL, 'r' },
		{ "bench", required_argument, NULL, 'b' },
		{ "burst", required_argument, NULL, 'n' },
		{ "simd", required_argument, NULL, 's' },
		{ "general", no_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfg_path = NULL, *in_path = NULL, *out_path = NULL;
	sl_u8 port_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
	struct sl_pub_override ov[64];
	unsigned int n_ov = 0;
	char err[512], errbuf[PCAP_ERRBUF_SIZE], dir[] = "/tmp/sl-fpsim-XXXXXX";
	char shm_path[64];
	sl_u64 drops[SL_DROP_MAX] = { 0 }, tx = 0, now_ns = 1000 * NS_PER_S;
	struct pcap_pkthdr *ph;
	const u_char *pkt;
	struct sl_config *cfg;
	struct sl_shm_caps caps;
	struct sl_shm *shm;
	struct sl_publisher *pub;
	static struct sl_fp fp;
	static struct sl_fp_conf conf;
	static struct sl_neigh neigh;
	struct sl_flowtab ft;
	static sl_u8 buf[HEADROOM + BUF_SIZE];
	unsigned long passes = 0;
	unsigned int burst = SL_FP_BURST_MAX, simd = 512;
	bool general = false;
	pcap_t *in, *dead;
	pcap_dumper_t *out;
	void *ft_mem;
	size_t ft_len;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "c:i:o:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfg_path = optarg;
			break;
		case 'i':
			in_path = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'm':
			if (parse_mac(optarg, port_mac))
				usage();
			break;
		case 'b':
			passes = strtoul(optarg, NULL, 10);
			if (!passes)
				usage();
			break;
		case 'n':
			burst = (unsigned int)strtoul(optarg, NULL, 10);
			if (!burst || burst > SL_FP_BURST_MAX)
				usage();
			break;
		case 's':
			simd = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			general = true;
			break;
		case 'd':
		case 'r':
			if (n_ov == SL_ARRAY_SIZE(ov) ||
			    add_override(ov, &n_ov, optarg,
					 c == 'd' ? SL_BACKEND_DOWN
						  : SL_BACKEND_DRAINED))
				return 2;
			break;
		default:
			usage();
		}
	}
	if (!cfg_path || !in_path || (!out_path && !passes))
		usage();

	cfg = sl_config_load(cfg_path, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("sl-fpsim: mkdtemp");
		return 1;
	}
	snprintf(shm_path, sizeof(shm_path), "%s/shm", dir);
	sl_shm_caps_for_config(cfg, false, &caps);
	caps.max_lcores = 1;
	shm = sl_shm_create(cfg->instance, &caps, shm_path, err, sizeof(err));
	if (!shm) {
		fprintf(stderr, "sl-fpsim: %s\n", err);
		goto out_dir;
	}
	pub = sl_publisher_new(shm, err, sizeof(err));
	if (!pub || sl_publish_config(pub, cfg, ov, n_ov, err, sizeof(err))) {
		fprintf(stderr, "sl-fpsim: publish: %s\n", err);
		goto out_shm;
	}

	memcpy(conf.port_mac[0], port_mac, 6);
	conf.nb_ports = 1;
	conf.local4 = cfg->dp.local_address;
	conf.local6 = cfg->dp.local_address6;
	conf.has_local6 = cfg->dp.local6_family != 0;
	conf.gateway4 = cfg->dp.gateway;
	conf.gateway6 = cfg->dp.gateway6;
	conf.has_gateway6 = cfg->dp.gateway6_family != 0;
	conf.has_gw_mac = cfg->dp.has_gateway_mac;
	memcpy(conf.gw_mac, cfg->dp.gateway_mac, 6);
	conf.icmp_rate = SL_FP_ICMP_RATE;
	conf.icmp_burst = SL_FP_ICMP_BURST;

	/* sluice-dp's flow table lives in hugepages: ask for them (THP). */
	ft_len = sl_flowtab_mem_size(cfg->dp.flow_table_size);
	ft_mem = mmap(NULL, ft_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ft_mem == MAP_FAILED)
		ft_mem = NULL;
	else
		madvise(ft_mem, ft_len, MADV_HUGEPAGE);
	if (!ft_mem ||
	    sl_flowtab_init(&ft, ft_mem, cfg->dp.flow_table_size,
			    cfg->dp.tcp_timeout, cfg->dp.udp_timeout)) {
		fprintf(stderr, "sl-fpsim: flow table: out of memory\n");
		goto out_pub;
	}
	sl_neigh_init(&neigh);
	if (sl_fp_init(&fp, sl_shm_header(shm), 0, &conf, &ft, &neigh)) {
		fprintf(stderr, "sl-fpsim: fast path init failed\n");
		goto out_ft;
	}
	sl_fp_simd512(&fp, simd >= 512);
	fp.express_off = general;

	in = pcap_open_offline(in_path, errbuf);
	if (!in) {
		fprintf(stderr, "sl-fpsim: %s: %s\n", in_path, errbuf);
		goto out_fp;
	}
	if (passes) {
		struct frames f;

		if (load_frames(in, &f)) {
			fprintf(stderr, "sl-fpsim: %s: no frames\n", in_path);
		} else {
			rc = bench(&fp, &f, passes, burst);
			if (rc)
				fprintf(stderr,
					"sl-fpsim: nothing was transmitted: "
					"does %s match %s?\n",
					cfg_path, in_path);
		}
		free(f.data);
		free(f.off);
		free(f.len);
		goto out_in;
	}
	dead = pcap_open_dead(DLT_EN10MB, 65535);
	out = pcap_dump_open(dead, out_path);
	if (!out) {
		fprintf(stderr, "sl-fpsim: %s: %s\n", out_path,
			pcap_geterr(dead));
		goto out_in;
	}
	while (pcap_next_ex(in, &ph, &pkt) == 1) {
		struct sl_buf b = {
			.data = buf + HEADROOM,
			.len = ph->caplen,
			.headroom = HEADROOM,
			.tailroom = BUF_SIZE - ph->caplen,
		};
		enum sl_drop why = SL_DROP_NONE;
		struct pcap_pkthdr oh = *ph;

		if (ph->caplen > BUF_SIZE)
			continue;
		memcpy(b.data, pkt, ph->caplen);
		sl_fp_begin_burst(&fp, now_ns);
		if (sl_fp_process(&fp, 0, &b, &why) == SL_VERDICT_TX) {
			oh.caplen = oh.len = b.len;
			pcap_dump((u_char *)out, &oh, b.data);
			tx++;
		} else {
			drops[why]++;
		}
	}
	for (c = 0; c < SL_DROP_MAX; c++)
		if (drops[c])
			printf("drop %s %llu\n", drop_names[c],
			       (unsigned long long)drops[c]);
	printf("tx %llu\n", (unsigned long long)tx);
	rc = 0;
	pcap_dump_close(out);
	pcap_close(dead);
out_in:
	pcap_close(in);
out_fp:
	sl_fp_detach(&fp);
out_ft:
	if (ft_mem)
		munmap(ft_mem, ft_len);
out_pub:
	sl_publisher_free(pub);
out_shm:
	sl_shm_close(shm, true);
out_dir:
	rmdir(dir);
	sl_config_free(cfg);
	return rc;
}
