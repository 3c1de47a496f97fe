/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sl-pcapgen: write a pcap (DLT_EN10MB) of synthetic client->VIP packets for
 * the benchmarks and the DPDK tests (net_pcap rx_pcap=..., infinite_rx=1).
 *
 * Packet i belongs to flow i % FLOWS. A flow is (client, client port, VIP,
 * VIP port, protocol); distinct flow indices always give distinct 5-tuples:
 * the flow index is split into a VIP index and a rank, and the rank goes
 * through an affine bijection over (client address x client port), so even a
 * small flow count spreads over many clients and ports, and the seed picks
 * the bijection. Same options, same bytes: timestamps are synthetic.
 *
 * Frame size convention (as DPDK, Pktgen-DPDK and RFC 2544 count): --size
 * includes the 4-byte FCS, which a pcap does not store. --size 64 writes
 * 60-byte frames. Padding is L4 payload (inside the IP length and the L4
 * checksum) unless --eth-pad asks for an Ethernet trailer after a
 * payload-less IP packet, as a NIC pads a short frame on a real wire (a
 * parser must then trust the IP length, not the frame length). Where the
 * headers need more than size - 4 bytes (IPv6 + TCP = 74) the frame is the
 * headers alone.
 *
 * Checksums are computed here with local helpers so the tool does not depend
 * on the code under test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	ETH_HLEN = 14,
	IP4_HLEN = 20,
	IP6_HLEN = 40,
	TCP_HLEN = 20,
	UDP_HLEN = 8,
	FCS_LEN = 4,
	MIN_SIZE = 64,	 /* incl. FCS */
	MAX_SIZE = 9018, /* jumbo, incl. FCS */
	ETHERTYPE_IPV4 = 0x0800,
	ETHERTYPE_IPV6 = 0x86dd,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	TCP_SYN = 0x02,
	TCP_ACK = 0x10,
};

/* Clients: 198.18.0.1 .. 198.19.255.254 (RFC 2544 benchmark range). */
#define CLIENT_HOSTS 131070ull
/* Client ports 1024 .. 65535. */
#define CLIENT_PORTS 64512ull
#define CLIENT_SPACE (CLIENT_HOSTS * CLIENT_PORTS)

enum proto_mode { MODE_TCP, MODE_UDP, MODE_MIX };

struct opts {
	const char *out;
	uint64_t packets;
	uint64_t flows;
	enum proto_mode mode;
	uint32_t nvips;
	bool vip_set;
	bool ipv6;
	uint8_t vip[16]; /* first VIP; IPv4 in the first 4 bytes */
	uint16_t vport;
	unsigned size;
	bool syn;
	bool eth_pad;
	uint8_t dmac[6];
	uint8_t smac[6];
	uint64_t seed;
};

/* One flow, resolved from its index. */
struct flow {
	uint8_t saddr[16];
	uint8_t daddr[16];
	uint16_t sport;
	uint8_t proto;
	uint32_t seq0;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sl-pcapgen -o FILE [options]\n"
		"  -o, --out FILE        pcap to write (DLT_EN10MB)\n"
		"  -n, --packets N       packets (default 1024)\n"
		"  -f, --flows N         distinct 5-tuples; packet i uses flow "
		"i %% N (default 1024)\n"
		"      --proto P         tcp | udp | mix (half the flows each; "
		"default tcp)\n"
		"      --vips N          N consecutive VIPs from the first "
		"(default 1)\n"
		"      --vip ADDR        first VIP (default 192.0.2.1, or "
		"2001:db8:100::1 with --ipv6)\n"
		"      --vport PORT      VIP port (default 80)\n"
		"      --ipv6            IPv6: clients 2001:db8:200::/64\n"
		"      --size N          frame size incl. 4-byte FCS, %d..%d "
		"(default 64 ->\n"
		"                        60 bytes stored; never smaller than "
		"the headers)\n"
		"      --syn             TCP SYN (default ACK)\n"
		"      --eth-pad         pad with an Ethernet trailer, not L4 "
		"payload\n"
		"      --dst-mac MAC     default 02:00:00:00:00:01\n"
		"      --src-mac MAC     default 02:00:00:00:00:02\n"
		"      --seed N          picks the flow->client mapping "
		"(default 1)\n"
		"  -h, --help\n"
		"IPv4 clients come from 198.18.0.0/15, ports 1024-65535.\n",
		MIN_SIZE, MAX_SIZE);
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	char *end;

	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || x < lo || x > hi)
		return -EINVAL;
	*v = x;
	return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned m[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (m[i] > 0xff)
			return -EINVAL;
		mac[i] = (uint8_t)m[i];
	}
	return 0;
}

/* One's-complement sum of a byte run, unfolded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Affine bijection x -> (a*x + b) mod CLIENT_SPACE, a coprime to it. */
struct mixer {
	uint64_t a, b;
};

static void mixer_init(struct mixer *m, uint64_t seed)
{
	uint64_t s = seed;

	m->a = splitmix64(&s) % CLIENT_SPACE;
	while (m->a < CLIENT_SPACE / 4 || gcd(m->a, CLIENT_SPACE) != 1)
		m->a = (m->a + 1) % CLIENT_SPACE;
	m->b = splitmix64(&s) % CLIENT_SPACE;
}

static uint64_t mixer_apply(const struct mixer *m, uint64_t x)
{
	unsigned __int128 y = (unsigned __int128)m->a * x + m->b;

	return (uint64_t)(y % CLIENT_SPACE);
}

/* Adds n to a big-endian address of len bytes. */
static void addr_add(uint8_t *a, size_t len, uint64_t n)
{
	for (size_t i = len; i-- > 0 && n;) {
		uint64_t v = a[i] + (n & 0xff);
		a[i] = v & 0xff;
		n = (n >> 8) + (v >> 8);
	}
}

static void flow_resolve(const struct opts *o, const struct mixer *m,
			 uint64_t idx, struct flow *f)
{
	uint64_t vip = idx % o->nvips;
	uint64_t x = mixer_apply(m, idx / o->nvips);
	uint64_t host = x % CLIENT_HOSTS + 1;

	memset(f, 0, sizeof(*f));
	f->sport = (uint16_t)(1024 + x / CLIENT_HOSTS);
	if (o->ipv6) {
		static const uint8_t net[8] = { 0x20, 0x01, 0x0d, 0xb8,
						0x02, 0x00, 0,	  0 };
		memcpy(f->saddr, net, sizeof(net));
		put32(f->saddr + 12, (uint32_t)host);
		memcpy(f->daddr, o->vip, 16);
		addr_add(f->daddr, 16, vip);
	} else {
		put32(f->saddr, 0xc6120000u + (uint32_t)host); /* 198.18.0.0 */
		memcpy(f->daddr, o->vip, 4);
		addr_add(f->daddr, 4, vip);
	}
	/* By rank, not index: with an even VIP count every VIP gets both. */
	if (o->mode == MODE_MIX)
		f->proto = ((idx / o->nvips) & 1) ? PROTO_UDP : PROTO_TCP;
	else
		f->proto = o->mode == MODE_UDP ? PROTO_UDP : PROTO_TCP;
	f->seq0 = (uint32_t)(x * 2654435761u);
}

static unsigned hdr_len(const struct opts *o, uint8_t proto)
{
	return ETH_HLEN + (o->ipv6 ? IP6_HLEN : IP4_HLEN) +
	       (proto == PROTO_TCP ? TCP_HLEN : UDP_HLEN);
}

/* Builds packet number n_in_flow of flow f into buf; returns its length. */
static unsigned build(const struct opts *o, const struct flow *f,
		      uint64_t n_in_flow, uint64_t pkt, uint8_t *buf)
{
	unsigned len = o->size - FCS_LEN;
	unsigned hl = hdr_len(o, f->proto);
	unsigned alen = o->ipv6 ? 16 : 4;
	uint8_t *l3 = buf + ETH_HLEN, *l4;
	unsigned l4len, iplen;
	uint32_t sum;

	if (len < hl)
		len = hl;
	memset(buf, 0, len);
	iplen = (o->eth_pad ? hl : len) - ETH_HLEN;
	memcpy(buf, o->dmac, 6);
	memcpy(buf + 6, o->smac, 6);
	put16(buf + 12, o->ipv6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);

	if (o->ipv6) {
		l4 = l3 + IP6_HLEN;
		l4len = iplen - IP6_HLEN;
		put32(l3, 6u << 28);
		put16(l3 + 4, (uint16_t)l4len);
		l3[6] = f->proto;
		l3[7] = 64;
		memcpy(l3 + 8, f->saddr, 16);
		memcpy(l3 + 24, f->daddr, 16);
	} else {
		l4 = l3 + IP4_HLEN;
		l4len = iplen - IP4_HLEN;
		l3[0] = 0x45;
		put16(l3 + 2, (uint16_t)(IP4_HLEN + l4len));
		put16(l3 + 4, (uint16_t)pkt);
		put16(l3 + 6, 0x4000); /* DF */
		l3[8] = 64;
		l3[9] = f->proto;
		memcpy(l3 + 12, f->saddr, 4);
		memcpy(l3 + 16, f->daddr, 4);
		put16(l3 + 10, csum_fold(csum_add(0, l3, IP4_HLEN)));
	}

	put16(l4, f->sport);
	put16(l4 + 2, o->vport);
	if (f->proto == PROTO_TCP) {
		unsigned plen = l4len - TCP_HLEN;
		if (o->syn) {
			put32(l4 + 4, f->seq0);
			l4[13] = TCP_SYN;
		} else {
			put32(l4 + 4,
			      f->seq0 + 1 + (uint32_t)(n_in_flow * plen));
			put32(l4 + 8, f->seq0 ^ 0x5a5a5a5au);
			l4[13] = TCP_ACK;
		}
		l4[12] = (TCP_HLEN / 4) << 4;
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, (uint16_t)l4len);
	}

	/* Pseudo-header: addresses, protocol, L4 length. */
	sum = csum_add(0, f->saddr, alen);
	sum = csum_add(sum, f->daddr, alen);
	sum += f->proto + (l4len & 0xffff) + (l4len >> 16);
	sum = csum_add(sum, l4, l4len);
	uint16_t c = csum_fold(sum);
	if (f->proto == PROTO_UDP && c == 0)
		c = 0xffff; /* 0 means "no checksum" in UDP */
	put16(l4 + (f->proto == PROTO_TCP ? 16 : 6), c);
	return len;
}

enum {
	OPT_PROTO = 256,
	OPT_VIPS,
	OPT_VIP,
	OPT_VPORT,
	OPT_IPV6,
	OPT_SIZE,
	OPT_SYN,
	OPT_ETH_PAD,
	OPT_DMAC,
	OPT_SMAC,
	OPT_SEED,
};

static const struct option long_opts[] = {
	{ "out", required_argument, NULL, 'o' },
	{ "packets", required_argument, NULL, 'n' },
	{ "flows", required_argument, NULL, 'f' },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "vips", required_argument, NULL, OPT_VIPS },
	{ "vip", required_argument, NULL, OPT_VIP },
	{ "vport", required_argument, NULL, OPT_VPORT },
	{ "ipv6", no_argument, NULL, OPT_IPV6 },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "syn", no_argument, NULL, OPT_SYN },
	{ "eth-pad", no_argument, NULL, OPT_ETH_PAD },
	{ "dst-mac", required_argument, NULL, OPT_DMAC },
	{ "src-mac", required_argument, NULL, OPT_SMAC },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *opt, const char *arg, const char *why)
{
	fprintf(stderr, "sl-pcapgen: %s %s: %s\n", opt, arg, why);
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	const char *vip_arg = NULL;
	uint64_t v;
	int c;

	*o = (struct opts){
		.packets = 1024,
		.flows = 1024,
		.mode = MODE_TCP,
		.nvips = 1,
		.vport = 80,
		.size = 64,
		.seed = 1,
		.dmac = { 0x02, 0, 0, 0, 0, 0x01 },
		.smac = { 0x02, 0, 0, 0, 0, 0x02 },
	};
	while ((c = getopt_long(argc, argv, "o:n:f:h", long_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'o':
			o->out = optarg;
			break;
		case 'n':
			if (parse_u64(optarg, 1, UINT64_MAX, &o->packets))
				return bad("--packets", optarg,
					   "want a count >= 1");
			break;
		case 'f':
			if (parse_u64(optarg, 1, UINT64_MAX, &o->flows))
				return bad("--flows", optarg,
					   "want a count >= 1");
			break;
		case OPT_PROTO:
			if (!strcmp(optarg, "tcp"))
				o->mode = MODE_TCP;
			else if (!strcmp(optarg, "udp"))
				o->mode = MODE_UDP;
			else if (!strcmp(optarg, "mix"))
				o->mode = MODE_MIX;
			else
				return bad("--proto", optarg,
					   "want tcp, udp or mix");
			break;
		case OPT_VIPS:
			if (parse_u64(optarg, 1, 65536, &v))
				return bad("--vips", optarg, "want 1..65536");
			o->nvips = (uint32_t)v;
			break;
		case OPT_VIP:
			vip_arg = optarg;
			break;
		case OPT_VPORT:
			if (parse_u64(optarg, 1, 65535, &v))
				return bad("--vport", optarg, "want 1..65535");
			o->vport = (uint16_t)v;
			break;
		case OPT_IPV6:
			o->ipv6 = true;
			break;
		case OPT_SIZE:
			if (parse_u64(optarg, MIN_SIZE, MAX_SIZE, &v))
				return bad("--size", optarg,
					   "want 64..9018 bytes incl. FCS");
			o->size = (unsigned)v;
			break;
		case OPT_SYN:
			o->syn = true;
			break;
		case OPT_ETH_PAD:
			o->eth_pad = true;
			break;
		case OPT_DMAC:
			if (parse_mac(optarg, o->dmac))
				return bad("--dst-mac", optarg,
					   "want xx:xx:xx:xx:xx:xx");
			break;
		case OPT_SMAC:
			if (parse_mac(optarg, o->smac))
				return bad("--src-mac", optarg,
					   "want xx:xx:xx:xx:xx:xx");
			break;
		case OPT_SEED:
			if (parse_u64(optarg, 0, UINT64_MAX, &o->seed))
				return bad("--seed", optarg, "want an integer");
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc)
		return bad("argument", argv[optind], "unexpected");
	if (!o->out) {
		usage(stderr);
		return -EINVAL;
	}
	if (vip_arg) {
		if (inet_pton(AF_INET, vip_arg, o->vip) == 1) {
			if (o->ipv6)
				return bad("--vip", vip_arg,
					   "IPv4 VIP with --ipv6");
		} else if (inet_pton(AF_INET6, vip_arg, o->vip) == 1) {
			o->ipv6 = true;
		} else {
			return bad("--vip", vip_arg,
				   "not an IPv4 or IPv6 address");
		}
	} else if (o->ipv6) {
		inet_pton(AF_INET6, "2001:db8:100::1", o->vip);
	} else {
		inet_pton(AF_INET, "192.0.2.1", o->vip);
	}
	if (o->flows / o->nvips > CLIENT_SPACE)
		return bad("--flows", "",
			   "more than the client address x port space");
	return 0;
}

int main(int argc, char **argv)
{
	uint8_t buf[MAX_SIZE];
	struct mixer mix;
	struct opts o;
	pcap_t *dead;
	pcap_dumper_t *d;

	if (parse_args(argc, argv, &o))
		return 2;
	mixer_init(&mix, o.seed);

	dead = pcap_open_dead(DLT_EN10MB, MAX_SIZE);
	if (!dead) {
		fprintf(stderr, "sl-pcapgen: pcap_open_dead failed\n");
		return 1;
	}
	d = pcap_dump_open(dead, o.out);
	if (!d) {
		fprintf(stderr, "sl-pcapgen: %s: %s\n", o.out,
			pcap_geterr(dead));
		pcap_close(dead);
		return 1;
	}

	if (o.size - FCS_LEN < hdr_len(&o, PROTO_TCP) && o.mode != MODE_UDP)
		fprintf(stderr,
			"sl-pcapgen: --size %u is below the headers; "
			"TCP frames are %u bytes stored\n",
			o.size, hdr_len(&o, PROTO_TCP));

	uint64_t bytes = 0;
	for (uint64_t i = 0; i < o.packets; i++) {
		struct flow f;
		struct pcap_pkthdr h;
		unsigned len;

		flow_resolve(&o, &mix, i % o.flows, &f);
		len = build(&o, &f, i / o.flows, i, buf);
		/* 1 us apart from a fixed epoch: same options, same file. */
		h.ts.tv_sec = 1700000000 + (time_t)(i / 1000000);
		h.ts.tv_usec = (suseconds_t)(i % 1000000);
		h.caplen = h.len = len;
		pcap_dump((u_char *)d, &h, buf);
		bytes += len;
	}
	if (pcap_dump_flush(d)) {
		fprintf(stderr, "sl-pcapgen: %s: write failed: %s\n", o.out,
			strerror(errno));
		pcap_dump_close(d);
		pcap_close(dead);
		return 1;
	}
	pcap_dump_close(d);
	pcap_close(dead);

	uint64_t distinct = o.flows < o.packets ? o.flows : o.packets;
	fprintf(stderr,
		"sl-pcapgen: %s: %" PRIu64 " packets, %" PRIu64
		" flows, %u VIP(s), %" PRIu64 " bytes stored\n",
		o.out, o.packets, distinct, o.nvips, bytes);
	return 0;
}
