/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lcore.h: the worker lcores of sluice-dp and how the main lcore hands
 * them a shared-memory mapping.
 *
 * Worker i (0 .. nb_workers-1) polls RX queue i of every port that has more
 * than i queues, transmits on TX queue i of the same port, and owns row i of
 * the quiescent-state and stats arrays. Lcores beyond the largest queue
 * count are not launched.
 *
 * Handing over a mapping (main lcore): sl_lcores_set_table() stores the
 * header and bumps a version; each worker notices at the top of its loop,
 * detaches from the old mapping (row offline) and attaches to the new one
 * (row online, counts carried over), then acknowledges the version. Only
 * when sl_lcores_switched() is true may the main lcore unmap the old one,
 * and only with `lock` held, which stats.c also holds while it reads.
 */
#ifndef SLUICE_DP_LCORE_H
#define SLUICE_DP_LCORE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "burstsize.h"
#include "fastpath.h"
#include "flowtab.h"
#include "port.h"

struct rte_eth_dev_tx_buffer;
struct rte_mempool;
struct sl_lcores;
struct sl_worker;

/* Set by the SIGINT/SIGTERM handler; every lcore polls it. */
extern volatile sig_atomic_t sl_lcore_quit;

/* One TX queue of a worker, with what it buffered but has not sent yet. */
struct sl_txq {
	struct rte_eth_dev_tx_buffer *buf; /* NULL: no queue on this port */
	struct sl_worker *w;
	uint16_t port_id;
	uint16_t queue;
	uint32_t pend_pkts;
	uint64_t pend_bytes;
};

struct sl_rxq {
	uint16_t port; /* sluice index */
	uint16_t port_id;
	uint16_t queue;
};

struct sl_worker {
	struct sl_fp fp; /* first: cache aligned, hot */
	struct sl_lcores *lc;
	unsigned int lcore_id;
	unsigned int row;
	uint16_t nb_rxq;
	struct sl_rxq rxq[SL_FP_MAX_PORTS];
	struct sl_txq txq[SL_FP_MAX_PORTS]; /* by sluice port index */
	struct rte_mempool *pool[SL_FP_MAX_PORTS];
	uint32_t solicit_ports;	   /* bit p: this worker asks on port p */
	uint64_t view_ack;	   /* atomic: version it switched to */
	struct sl_shm_header *hdr; /* mapping it uses, or NULL */
	struct sl_flowtab ft;
	void *ft_mem;
	struct sl_bsz bsz; /* its RX burst (burstsize.h) */
};

struct sl_lcores {
	unsigned int nb_workers;
	struct sl_worker *w[SL_MAX_LCORES];
	const struct sl_fp_conf *conf;
	struct sl_neigh *neigh;
	/* Handed over by the main lcore (see above). */
	struct sl_shm_header *view_hdr;
	uint64_t view_version;
	/* Held by the main lcore to unmap, by telemetry to read. */
	pthread_mutex_t lock;
	struct sl_shm_header *shm; /* the main lcore's current mapping */
	bool closing;
};

struct sl_lcores_params {
	const struct sl_ports *ports;
	const struct sl_fp_conf *conf;
	struct sl_neigh *neigh;
	uint32_t ft_size;
	uint32_t tcp_timeout;
	uint32_t udp_timeout;
	const char *config_file; /* for messages */
};

/*
 * Allocate the workers (on their sockets), their flow tables and TX
 * buffers, and bind queues. Main lcore, before launch. 0 or -errno + err.
 */
int sl_lcores_init(struct sl_lcores *lc, const struct sl_lcores_params *p,
		   char *err, size_t errlen);

/* Start every worker on its lcore. */
int sl_lcores_launch(struct sl_lcores *lc, char *err, size_t errlen);

/* Hand the workers a mapping (NULL: none). Main lcore. */
void sl_lcores_set_table(struct sl_lcores *lc, struct sl_shm_header *hdr);

/* Whether every worker has moved to the last mapping handed over. */
bool sl_lcores_switched(const struct sl_lcores *lc);

/* Set the quit flag and wait for every worker to return. */
void sl_lcores_stop(struct sl_lcores *lc);

/* Sum of the workers' counters (any thread; with lock held, or stopped). */
void sl_lcores_sum(const struct sl_lcores *lc, struct sl_lcore_stats *out);

/* Free what sl_lcores_init allocated; workers must have stopped. */
void sl_lcores_free(struct sl_lcores *lc);

#endif /* SLUICE_DP_LCORE_H */
