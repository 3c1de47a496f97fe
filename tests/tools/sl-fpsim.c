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
 */
#include <errno.h>
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
	fprintf(stderr,
		"usage: sl-fpsim -c CONFIG -i IN.pcap -o OUT.pcap "
		"[--port-mac MAC] [--down ADDR]... [--drain ADDR]...\n");
	exit(2);
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
	pcap_t *in, *dead;
	pcap_dumper_t *out;
	void *ft_mem;
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
	if (!cfg_path || !in_path || !out_path)
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

	ft_mem =
		aligned_alloc(64, sl_flowtab_mem_size(cfg->dp.flow_table_size));
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

	in = pcap_open_offline(in_path, errbuf);
	if (!in) {
		fprintf(stderr, "sl-fpsim: %s: %s\n", in_path, errbuf);
		goto out_fp;
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
	free(ft_mem);
out_pub:
	sl_publisher_free(pub);
out_shm:
	sl_shm_close(shm, true);
out_dir:
	rmdir(dir);
	sl_config_free(cfg);
	return rc;
}
