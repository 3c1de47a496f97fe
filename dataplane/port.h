/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port.h: the DPDK ports of sluice-dp, their queues and mbuf pools.
 *
 * Ports are numbered by sluice in EAL order, 0 .. nb-1 (the index passed to
 * sl_fp_process and used in sl_fp_conf.port_mac); each remembers its DPDK
 * port id. Worker w serves RX/TX queue w of every port that has more than w
 * queues. Main lcore only: setup before launch, close after the workers
 * have stopped.
 */
#ifndef SLUICE_DP_PORT_H
#define SLUICE_DP_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "fastpath.h"

struct rte_mempool;

#define SL_PORT_RX_DESC 1024
#define SL_PORT_TX_DESC 1024
#define SL_PORT_BURST 64

struct sl_port {
	uint16_t port_id;   /* DPDK's */
	uint16_t nb_queues; /* RX = TX queue pairs */
	uint16_t nb_rxd;
	uint16_t nb_txd;
	int socket;
	int started;
	uint8_t queues_ok; /* every queue set up: safe to close */
	struct rte_mempool *pool;
	char name[64];
};

struct sl_ports {
	uint16_t nb;
	struct sl_port p[SL_FP_MAX_PORTS];
	struct rte_mempool *pools[8]; /* per NUMA socket, shared by its ports */
};

/* Mbuf pool overrides (sluice-dp --mbufs, --mbuf-size); 0 = automatic. */
struct sl_pool_opts {
	unsigned int
		nb_mbufs;   /* mbufs per pool, at least what the rings need */
	uint16_t data_room; /* bytes per mbuf incl. RTE_PKTMBUF_HEADROOM */
};

/*
 * Configure and start every port EAL found for nb_workers worker lcores
 * (queues capped by what each device supports), with MTU mtu (0: keep the
 * device's), and write the port MACs into conf. po (may be NULL) overrides
 * the mbuf pool's size and data room. Returns 0 or -errno with a message
 * naming the port in err; on error everything set up is undone.
 */
int sl_ports_setup(struct sl_ports *ps, unsigned int nb_workers, uint16_t mtu,
		   const struct sl_pool_opts *po, struct sl_fp_conf *conf,
		   char *err, size_t errlen);

/* Stop and close all ports, free the pools. */
void sl_ports_close(struct sl_ports *ps);

#endif /* SLUICE_DP_PORT_H */
