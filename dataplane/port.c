/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port.c: bring up the DPDK ports for sluice-dp (main lcore, before the
 * workers launch) and take them down after the workers have stopped.
 *
 * One RX/TX queue pair per worker lcore, capped by what the device offers;
 * RSS spreads flows over the queues when there are several. A worker with
 * no queue on a port simply does not poll it (net_pcap and friends have a
 * single queue; two lcores may never share one). Mbufs come from one pool
 * per NUMA socket, sized for every descriptor ring plus what the workers
 * hold in bursts, TX buffers and mempool caches; sluice-dp --mbufs makes it
 * bigger (net_pcap with infinite_rx=1 keeps every packet of its file in an
 * mbuf of this pool) and --mbuf-size smaller (a replay of short frames).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "port.h"

#define LOG(...) fprintf(stderr, "sluice-dp: " __VA_ARGS__)

#define SL_POOL_CACHE 256
#define SL_POOL_MIN 8191 /* 2^n - 1 is what rte_mempool sizes best */

/* Encapsulation moves data back into the headroom; it must be there. */
_Static_assert(RTE_PKTMBUF_HEADROOM >= SL_FP_HEADROOM,
	       "RTE_PKTMBUF_HEADROOM too small for the encapsulation");

static int port_fail(char *err, size_t errlen, const struct sl_port *p,
		     const char *what, int ret)
{
	snprintf(err, errlen, "port %u (%s): %s failed: %s", p->port_id,
		 p->name, what, strerror(ret < 0 ? -ret : ret));
	return ret < 0 ? ret : -ret;
}

/* Largest frame for an MTU: Ethernet + two VLAN tags + CRC around it. */
static uint32_t frame_len(uint16_t mtu)
{
	return (uint32_t)(mtu ? mtu : RTE_ETHER_MTU) + RTE_ETHER_HDR_LEN +
	       2 * RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN;
}

static int configure(struct sl_port *p, unsigned int nb_workers, uint16_t mtu,
		     uint64_t *tx_offloads, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint16_t cur = 0;
	unsigned int q;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(p->port_id, &info);
	if (ret != 0)
		return port_fail(err, errlen, p, "rte_eth_dev_info_get", ret);

	q = nb_workers;
	if (q > info.max_rx_queues)
		q = info.max_rx_queues;
	if (q > info.max_tx_queues)
		q = info.max_tx_queues;
	if (q == 0) {
		snprintf(err, errlen,
			 "port %u (%s): device offers no RX/TX queue pair",
			 p->port_id, p->name);
		return -ENODEV;
	}
	p->nb_queues = (uint16_t)q;
	if (q > 1) {
		uint64_t hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;

		if (hf != 0) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = hf;
		} else {
			LOG("port %u (%s): no RSS for IP/TCP/UDP: queues other "
			    "than 0 may stay idle\n",
			    p->port_id, p->name);
		}
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	*tx_offloads = conf.txmode.offloads;

	ret = rte_eth_dev_configure(p->port_id, (uint16_t)q, (uint16_t)q,
				    &conf);
	if (ret != 0)
		return port_fail(err, errlen, p, "rte_eth_dev_configure", ret);
	p->nb_rxd = SL_PORT_RX_DESC;
	p->nb_txd = SL_PORT_TX_DESC;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &p->nb_rxd,
					       &p->nb_txd);
	if (ret != 0)
		return port_fail(err, errlen, p,
				 "rte_eth_dev_adjust_nb_rx_tx_desc", ret);
	if (mtu != 0 &&
	    (rte_eth_dev_get_mtu(p->port_id, &cur) != 0 || cur != mtu)) {
		ret = rte_eth_dev_set_mtu(p->port_id, mtu);
		if (ret != 0)
			LOG("port %u (%s): cannot set MTU %u: %s (keeping the "
			    "device's)\n",
			    p->port_id, p->name, mtu, strerror(-ret));
	}
	return 0;
}

static struct rte_mempool *pool_for(struct sl_ports *ps, int socket,
				    unsigned int n, uint16_t mtu,
				    const struct sl_pool_opts *po, char *err,
				    size_t errlen)
{
	uint32_t room = RTE_PKTMBUF_HEADROOM + frame_len(mtu);
	struct rte_mempool *mp;
	char name[RTE_MEMPOOL_NAMESIZE];
	unsigned int size = SL_POOL_MIN;

	if (ps->pools[socket] != NULL)
		return ps->pools[socket];
	if (room < RTE_MBUF_DEFAULT_BUF_SIZE)
		room = RTE_MBUF_DEFAULT_BUF_SIZE;
	if (po != NULL && po->data_room != 0) {
		if (po->data_room < room)
			LOG("mbuf data room %u bytes (--mbuf-size): frames "
			    "over %u bytes "
			    "do not fit one mbuf (mtu %u needs %u)\n",
			    po->data_room, po->data_room - RTE_PKTMBUF_HEADROOM,
			    mtu ? mtu : RTE_ETHER_MTU, room);
		room = po->data_room;
	}
	if (po != NULL && po->nb_mbufs != 0) {
		if (po->nb_mbufs < n)
			LOG("--mbufs %u is below the %u mbufs the rings and "
			    "lcores "
			    "need: using %u\n",
			    po->nb_mbufs, n, n);
		size = po->nb_mbufs > n ? po->nb_mbufs : n;
	} else {
		while (size < n)
			size = size * 2 + 1;
	}
	snprintf(name, sizeof(name), "sluice_mbuf_s%d", socket);
	mp = rte_pktmbuf_pool_create(name, size, SL_POOL_CACHE, 0,
				     (uint16_t)room, socket);
	if (mp == NULL) {
		snprintf(err, errlen,
			 "mbuf pool for socket %d: %u mbufs (%u MiB) from "
			 "hugepages failed: %s "
			 "(give more hugepages: scripts/deps.sh --hugepages%s)",
			 socket, size,
			 (unsigned int)(((uint64_t)size *
					 (room + sizeof(struct rte_mbuf))) >>
					20),
			 rte_strerror(rte_errno),
			 po != NULL && po->nb_mbufs != 0 ? ", or lower --mbufs"
							 : "");
		return NULL;
	}
	if (po != NULL && (po->nb_mbufs != 0 || po->data_room != 0))
		LOG("mbuf pool for socket %d: %u mbufs of %u bytes (%u MiB)\n",
		    socket, size, room,
		    (unsigned int)(((uint64_t)size *
				    (room + sizeof(struct rte_mbuf))) >>
				   20));
	ps->pools[socket] = mp;
	return mp;
}

static int start(struct sl_port *p, uint64_t tx_offloads, char *err,
		 size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_txconf txc;
	uint16_t q;
	int ret;

	ret = rte_eth_dev_info_get(p->port_id, &info);
	if (ret != 0)
		return port_fail(err, errlen, p, "rte_eth_dev_info_get", ret);
	txc = info.default_txconf;
	txc.offloads = tx_offloads;
	for (q = 0; q < p->nb_queues; q++) {
		ret = rte_eth_rx_queue_setup(p->port_id, q, p->nb_rxd,
					     (unsigned int)p->socket, NULL,
					     p->pool);
		if (ret != 0)
			return port_fail(err, errlen, p,
					 "rte_eth_rx_queue_setup", ret);
		ret = rte_eth_tx_queue_setup(p->port_id, q, p->nb_txd,
					     (unsigned int)p->socket, &txc);
		if (ret != 0)
			return port_fail(err, errlen, p,
					 "rte_eth_tx_queue_setup", ret);
	}
	p->queues_ok = 1;
	ret = rte_eth_dev_start(p->port_id);
	if (ret != 0)
		return port_fail(err, errlen, p, "rte_eth_dev_start", ret);
	p->started = 1;
	/* VIP traffic is addressed to a router's idea of our MAC; vdevs
	 * (net_pcap, net_null) only see it in promiscuous mode. */
	ret = rte_eth_promiscuous_enable(p->port_id);
	if (ret != 0)
		LOG("port %u (%s): promiscuous mode: %s (only frames to its "
		    "own MAC arrive)\n",
		    p->port_id, p->name, strerror(-ret));
	return 0;
}

static void log_port(const struct sl_port *p, const uint8_t mac[6])
{
	struct rte_eth_link link;
	uint16_t mtu = 0;
	char ls[64] = "link unknown";

	memset(&link, 0, sizeof(link));
	if (rte_eth_link_get_nowait(p->port_id, &link) == 0) {
		if (link.link_status == RTE_ETH_LINK_DOWN)
			snprintf(ls, sizeof(ls), "link down");
		else if (link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ||
			 link.link_speed == RTE_ETH_SPEED_NUM_NONE)
			snprintf(ls, sizeof(ls), "link up");
		else
			snprintf(ls, sizeof(ls), "link up %u Mbps",
				 link.link_speed);
	}
	rte_eth_dev_get_mtu(p->port_id, &mtu);
	LOG("port %u (%s): %u queue%s, %u/%u descriptors, mac "
	    "%02x:%02x:%02x:%02x:%02x:%02x, "
	    "mtu %u, socket %d, %s\n",
	    p->port_id, p->name, p->nb_queues, p->nb_queues == 1 ? "" : "s",
	    p->nb_rxd, p->nb_txd, mac[0], mac[1], mac[2], mac[3], mac[4],
	    mac[5], mtu, p->socket, ls);
}

int sl_ports_setup(struct sl_ports *ps, unsigned int nb_workers, uint16_t mtu,
		   const struct sl_pool_opts *po, struct sl_fp_conf *conf,
		   char *err, size_t errlen)
{
	uint64_t tx_offloads[SL_FP_MAX_PORTS];
	struct rte_ether_addr mac;
	unsigned int need[RTE_DIM(ps->pools)] = { 0 };
	uint16_t pid, i;
	int ret;

	memset(ps, 0, sizeof(*ps));
	if (rte_eth_dev_count_avail() == 0) {
		snprintf(err, errlen,
			 "no ports: give -a PCI or --vdev (see README)");
		return -ENODEV;
	}
	if (rte_eth_dev_count_avail() > SL_FP_MAX_PORTS) {
		snprintf(err, errlen,
			 "%u ports: sluice-dp drives at most %d (use -a to "
			 "pick)",
			 rte_eth_dev_count_avail(), SL_FP_MAX_PORTS);
		return -E2BIG;
	}
	RTE_ETH_FOREACH_DEV(pid)
	{
		struct sl_port *p = &ps->p[ps->nb];
		int s = rte_eth_dev_socket_id(pid);

		p->port_id = pid;
		p->socket = s < 0 || s >= (int)RTE_DIM(ps->pools) ? 0 : s;
		if (rte_eth_dev_get_name_by_port(pid, p->name) != 0)
			snprintf(p->name, sizeof(p->name), "?");
		ps->nb++;
		ret = configure(p, nb_workers, mtu, &tx_offloads[ps->nb - 1],
				err, errlen);
		if (ret != 0)
			goto fail;
		/* Rings full, plus per port each worker's burst and TX buffer. */
		need[p->socket] +=
			(unsigned int)p->nb_queues * (p->nb_rxd + p->nb_txd) +
			nb_workers * 2 * SL_PORT_BURST;
	}
	for (i = 0; i < ps->nb; i++) {
		struct sl_port *p = &ps->p[i];

		/* Each lcore's mempool cache may hold up to 1.5 x its size. */
		p->pool = pool_for(ps, p->socket,
				   need[p->socket] + (nb_workers + 1) *
							     SL_POOL_CACHE * 3 /
							     2,
				   mtu, po, err, errlen);
		if (p->pool == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		ret = start(p, tx_offloads[i], err, errlen);
		if (ret != 0)
			goto fail;
		ret = rte_eth_macaddr_get(p->port_id, &mac);
		if (ret != 0) {
			ret = port_fail(err, errlen, p, "rte_eth_macaddr_get",
					ret);
			goto fail;
		}
		memcpy(conf->port_mac[i], mac.addr_bytes,
		       sizeof(conf->port_mac[i]));
		log_port(p, conf->port_mac[i]);
	}
	conf->nb_ports = ps->nb;
	return 0;
fail:
	sl_ports_close(ps);
	return ret;
}

void sl_ports_close(struct sl_ports *ps)
{
	unsigned int i;

	for (i = 0; i < ps->nb; i++) {
		struct sl_port *p = &ps->p[i];

		if (p->started) {
			int ret = rte_eth_dev_stop(p->port_id);

			if (ret != 0)
				LOG("port %u (%s): rte_eth_dev_stop: %s\n",
				    p->port_id, p->name, strerror(-ret));
			p->started = 0;
		}
		/*
		 * net_pcap (22.11) crashes in close when a queue setup failed
		 * (infinite_rx without enough mbufs); the process is exiting
		 * then, so leave such a port to the OS.
		 */
		if (p->queues_ok)
			rte_eth_dev_close(p->port_id);
	}
	ps->nb = 0;
	for (i = 0; i < RTE_DIM(ps->pools); i++) {
		rte_mempool_free(ps->pools[i]);
		ps->pools[i] = NULL;
	}
}
