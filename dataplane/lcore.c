/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lcore.c: the worker loop of sluice-dp (one per worker lcore) and its setup.
 *
 * Each iteration: pick up a new shared-memory mapping if the main lcore
 * handed one over, start the burst (tables, quiescent state, clock), then
 * for every RX queue of this worker receive up to 32 packets, hand the
 * burst to sl_fp_process_burst() (the mbufs as they are: struct sl_mbuf
 * mirrors them) and send what it returns out of the same port; every ~100 us flush the TX buffers (l2fwd's drain timer), and every
 * ~100 ms worker 0 sends the ARP/NDP requests the neighbour table wants.
 *
 * Counting: the fast path counts RX and every drop; this file counts only
 * what reaches the NIC (tx_packets/tx_bytes, once a TX buffer is flushed)
 * and what the NIC refused (SL_DROP_TX_FULL).
 * No lock, allocation (other than ARP/NDP requests), log line or system
 * call inside the loop.
 */
/* rte_vect_get_max_simd_bitwidth() is still marked experimental in 22.11. */
#define ALLOW_EXPERIMENTAL_API

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_vect.h>

#include "lcore.h"
#include "neigh.h"
#include "shm.h"

#define LOG(...) fprintf(stderr, "sluice-dp: " __VA_ARGS__)

#define DRAIN_US 100
#define SOLICIT_US (100 * 1000)

volatile sig_atomic_t sl_lcore_quit;

/* TSC -> CLOCK_MONOTONIC ns: mono0 + (tsc - tsc0) * mult >> 32. */
static uint64_t tsc0, mono0, tsc_mult;

static void clock_init(void)
{
	tsc_mult = (uint64_t)(((unsigned __int128)1000000000ull << 32) /
			      rte_get_tsc_hz());
	mono0 = sl_dpshm_mono_ns();
	tsc0 = rte_rdtsc();
}

static inline uint64_t tsc_to_ns(uint64_t tsc)
{
	return mono0 +
	       (uint64_t)(((unsigned __int128)(tsc - tsc0) * tsc_mult) >> 32);
}

/* ---- transmit ---- */

static inline void tx_commit(struct sl_txq *t)
{
	struct sl_lcore_stats *st = t->w->fp.stats;

	st->tx_packets += t->pend_pkts;
	st->tx_bytes += t->pend_bytes;
	t->pend_pkts = 0;
	t->pend_bytes = 0;
}

/* rte_eth_tx_buffer's error callback: the NIC took only part of a flush. */
static void tx_unsent(struct rte_mbuf **pkts, uint16_t unsent, void *userdata)
{
	struct sl_txq *t = userdata;
	uint64_t bytes = 0;
	uint16_t i;

	for (i = 0; i < unsent; i++) {
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
		rte_pktmbuf_free(pkts[i]);
	}
	t->pend_pkts -= unsent;
	t->pend_bytes -= bytes;
	t->w->fp.stats->drops[SL_DROP_TX_FULL] += unsent;
}

static inline void tx_one(struct sl_txq *t, struct rte_mbuf *m)
{
	t->pend_pkts++;
	t->pend_bytes += rte_pktmbuf_pkt_len(m);
	rte_eth_tx_buffer(t->port_id, t->queue, t->buf, m);
	if (t->buf->length == 0) /* it flushed */
		tx_commit(t);
}

/* Extra rte_eth_tx_burst calls for what a full queue did not take. */
#define TX_RETRIES 4

/*
 * Send a burst the fast path returned: everything a burst yields leaves by
 * the port it came in on. A queue that takes only part of it gets a few
 * more tries (a virtual port's ring, e.g. memif or vhost, drains in steps
 * while its peer polls; a NIC's ring frees descriptors as it sends), then
 * whatever it still does not take is freed and counted (tx_full). The
 * buffered path (tx_one) serves the rare packets sluice-dp makes itself.
 */
static inline void tx_burst(struct sl_txq *t, struct rte_mbuf **m, uint16_t n,
			    uint64_t bytes)
{
	struct sl_lcore_stats *st = t->w->fp.stats;
	uint16_t sent;

	if (unlikely(t->buf->length != 0)) {
		rte_eth_tx_buffer_flush(t->port_id, t->queue, t->buf);
		tx_commit(t);
	}
	sent = rte_eth_tx_burst(t->port_id, t->queue, m, n);
	if (unlikely(sent < n)) {
		uint16_t i;
		int tries;

		for (tries = 0; tries < TX_RETRIES && sent < n; tries++)
			sent += rte_eth_tx_burst(t->port_id, t->queue, m + sent,
						 n - sent);

		for (i = sent; i < n; i++) {
			bytes -= rte_pktmbuf_pkt_len(m[i]);
			rte_pktmbuf_free(m[i]);
		}
		st->drops[SL_DROP_TX_FULL] += n - sent;
	}
	st->tx_packets += sent;
	st->tx_bytes += bytes;
}

static void tx_drain(struct sl_worker *w)
{
	uint16_t p;

	for (p = 0; p < SL_FP_MAX_PORTS; p++) {
		struct sl_txq *t = &w->txq[p];

		if (t->buf == NULL || t->buf->length == 0)
			continue;
		rte_eth_tx_buffer_flush(t->port_id, t->queue, t->buf);
		tx_commit(t);
	}
}

/* Worker 0: ARP requests / neighbour solicitations the table asks for. */
static void solicit(struct sl_worker *w, uint64_t now_ns,
		    struct sl_neigh *neigh)
{
	uint16_t p;
	int i;

	for (p = 0; p < SL_FP_MAX_PORTS; p++) {
		if (!(w->solicit_ports & (1u << p)))
			continue;
		for (i = 0; i < SL_NEIGH_MAX; i++) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool[p]);
			int len;

			if (m == NULL)
				break;
			len = sl_neigh_solicit(neigh, w->fp.conf, p, now_ns,
					       rte_pktmbuf_mtod(m, sl_u8 *),
					       rte_pktmbuf_tailroom(m));
			if (len <= 0) {
				rte_pktmbuf_free(m);
				break;
			}
			m->data_len = (uint16_t)len;
			m->pkt_len = (uint32_t)len;
			tx_one(&w->txq[p], m);
		}
	}
}

/* ---- receive ---- */

/* The rte_mbuf fields struct sl_mbuf (fastpath.h) mirrors. */
#define SL_MBUF_SAME(f)                                                 \
	(offsetof(struct rte_mbuf, f) == offsetof(struct sl_mbuf, f) && \
	 sizeof(((struct rte_mbuf *)0)->f) ==                           \
		 sizeof(((struct sl_mbuf *)0)->f))
SL_STATIC_ASSERT(SL_MBUF_SAME(buf_addr) && SL_MBUF_SAME(data_off) &&
			 SL_MBUF_SAME(nb_segs) && SL_MBUF_SAME(pkt_len) &&
			 SL_MBUF_SAME(data_len) && SL_MBUF_SAME(buf_len),
		 "struct sl_mbuf does not match this DPDK's struct rte_mbuf");

/*
 * One burst of a queue through the fast path, and out of the port it came
 * in by. The fast path also takes care of chained mbufs (dropped as
 * unhandled: scatter is never enabled, so only a misbehaving PMD sends
 * one).
 */
static inline uint16_t rx_poll(struct sl_worker *w, const struct sl_rxq *q,
			       uint16_t burst)
{
	struct rte_mbuf *pkts[SL_PORT_BURST];
	enum sl_drop why[SL_PORT_BURST];
	uint64_t bytes;
	uint16_t n, i, k;

	SL_STATIC_ASSERT(SL_PORT_BURST <= SL_FP_BURST_MAX, "burst too large");
	SL_STATIC_ASSERT(SL_BSZ_LARGE <= SL_PORT_BURST, "burst too large");
	/* A PMD may give at most 32 a call (vector RX): ask twice. */
	n = rte_eth_rx_burst(q->port_id, q->queue, pkts, burst);
	if (n == 0)
		return 0;
	if (n < burst)
		n += rte_eth_rx_burst(q->port_id, q->queue, pkts + n,
				      burst - n);
	/* The headers, for a NIC that wrote them to memory, not the cache
	 * (no cost measured when they are in it: net_pcap). */
	for (i = 0; i < n; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	k = (uint16_t)sl_fp_process_burst(
		&w->fp, q->port, (struct sl_mbuf **)pkts, n, why, &bytes);
	if (k)
		tx_burst(&w->txq[q->port], pkts, k, bytes);
	for (i = k; i < n; i++)
		rte_pktmbuf_free(pkts[i]);
	return n;
}

/* rx_poll() timed, for the burst-size probe (burstsize.h). */
static __rte_noinline void rx_poll_timed(struct sl_worker *w,
					 const struct sl_rxq *q)
{
	uint64_t t0 = rte_rdtsc(), t1;
	uint16_t n = rx_poll(w, q, w->bsz.size);

	t1 = rte_rdtsc();
	sl_bsz_sample(&w->bsz, n, t1 - t0, t1);
}

/* ---- the loop ---- */

/* Move to the mapping the main lcore handed over (see lcore.h). */
static void switch_table(struct sl_lcores *lc, struct sl_worker *w,
			 uint64_t version)
{
	struct sl_shm_header *h =
		__atomic_load_n(&lc->view_hdr, __ATOMIC_ACQUIRE);

	if (h != w->hdr) {
		if (w->hdr != NULL) {
			sl_fp_detach(&w->fp);
			/* Backend ids and epochs of another file mean nothing. */
			sl_flowtab_clear(&w->ft);
		}
		if (h != NULL) {
			/* online, then a full fence, then read gen (in
			 * begin_burst): see sl_dpshm_lcore_online(). */
			sl_dpshm_lcore_online(h, w->row);
			if (sl_fp_attach(&w->fp, h) != 0)
				h = NULL; /* rows checked at attach; cannot happen */
		}
		w->hdr = h;
	}
	__atomic_store_n(&w->view_ack, version, __ATOMIC_RELEASE);
}

static int worker_main(void *arg)
{
	struct sl_worker *w = arg;
	struct sl_lcores *lc = w->lc;
	const uint64_t drain_tsc =
		(rte_get_tsc_hz() + 999999) / 1000000 * DRAIN_US;
	const uint64_t solicit_tsc =
		(rte_get_tsc_hz() + 999999) / 1000000 * SOLICIT_US;
	uint64_t last_drain = 0, last_solicit = 0;
	uint16_t i;

	sl_bsz_init(&w->bsz, rte_get_tsc_hz(), rte_rdtsc());
	while (!sl_lcore_quit) {
		uint64_t v =
			__atomic_load_n(&lc->view_version, __ATOMIC_ACQUIRE);
		uint64_t tsc = rte_rdtsc();

		if (unlikely(v != w->view_ack))
			switch_table(lc, w, v);
		sl_fp_begin_burst(&w->fp, tsc_to_ns(tsc));
		sl_bsz_tick(&w->bsz, tsc);
		if (likely(!sl_bsz_probing(&w->bsz))) {
			for (i = 0; i < w->nb_rxq; i++)
				rx_poll(w, &w->rxq[i], w->bsz.size);
		} else {
			for (i = 0; i < w->nb_rxq; i++)
				rx_poll_timed(w, &w->rxq[i]);
		}
		if (unlikely(tsc - last_drain > drain_tsc)) {
			if (w->solicit_ports &&
			    tsc - last_solicit > solicit_tsc) {
				solicit(w, tsc_to_ns(tsc), lc->neigh);
				last_solicit = tsc;
			}
			tx_drain(w);
			last_drain = tsc;
		}
	}
	tx_drain(w);
	if (w->hdr != NULL)
		sl_dpshm_lcore_offline(w->hdr, w->row);
	return 0;
}

/* ---- setup ---- */

static int worker_alloc(struct sl_lcores *lc, unsigned int lcore,
			unsigned int row, const struct sl_lcores_params *p,
			char *err, size_t errlen)
{
	int socket = (int)rte_lcore_to_socket_id(lcore);
	size_t ft_bytes = sl_flowtab_mem_size(p->ft_size);
	struct sl_worker *w;
	uint16_t i;
	int ret;

	w = rte_zmalloc_socket("sluice_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
			       socket);
	if (w == NULL) {
		snprintf(err, errlen,
			 "lcore %u: worker state from hugepages failed "
			 "(give more hugepages: scripts/deps.sh --hugepages)",
			 lcore);
		return -ENOMEM;
	}
	lc->w[row] = w;
	w->lc = lc;
	w->lcore_id = lcore;
	w->row = row;
	w->ft_mem = rte_zmalloc_socket("sluice_flowtab", ft_bytes,
				       RTE_CACHE_LINE_SIZE, socket);
	if (w->ft_mem == NULL) {
		snprintf(err, errlen,
			 "flow table for lcore %u: %zu MiB from hugepages "
			 "failed: give more "
			 "hugepages (scripts/deps.sh --hugepages) or reduce "
			 "dataplane.flow_table.size (%s)",
			 lcore, (ft_bytes + (1u << 20) - 1) >> 20,
			 p->config_file);
		return -ENOMEM;
	}
	ret = sl_flowtab_init(&w->ft, w->ft_mem, p->ft_size, p->tcp_timeout,
			      p->udp_timeout);
	if (ret != 0) {
		snprintf(err, errlen, "flow table for lcore %u: %s", lcore,
			 strerror(-ret));
		return ret;
	}
	for (i = 0; i < p->ports->nb; i++) {
		const struct sl_port *pt = &p->ports->p[i];
		struct sl_txq *t = &w->txq[i];

		if (row >= pt->nb_queues)
			continue;
		w->rxq[w->nb_rxq].port = i;
		w->rxq[w->nb_rxq].port_id = pt->port_id;
		w->rxq[w->nb_rxq].queue = (uint16_t)row;
		w->nb_rxq++;
		w->pool[i] = pt->pool;
		if (row == 0)
			w->solicit_ports |= 1u << i;
		t->w = w;
		t->port_id = pt->port_id;
		t->queue = (uint16_t)row;
		t->buf = rte_zmalloc_socket(
			"sluice_txbuf", RTE_ETH_TX_BUFFER_SIZE(SL_PORT_BURST),
			0, socket);
		if (t->buf == NULL) {
			snprintf(err, errlen,
				 "lcore %u: TX buffer from hugepages failed",
				 lcore);
			return -ENOMEM;
		}
		rte_eth_tx_buffer_init(t->buf, SL_PORT_BURST);
		rte_eth_tx_buffer_set_err_callback(t->buf, tx_unsent, t);
	}
	/* Also adds the gateways to the neighbour table: main lcore only. */
	ret = sl_fp_init(&w->fp, NULL, (sl_u16)row, p->conf, &w->ft, p->neigh);
	if (ret != 0) {
		snprintf(err, errlen, "lcore %u: fast path init: %s", lcore,
			 strerror(-ret));
		return ret;
	}
	/* DPDK's SIMD width limit (--force-max-simd-bitwidth; 256 unless
	 * raised) holds for the express path's AVX-512 stage too. */
	sl_fp_simd512(&w->fp,
		      rte_vect_get_max_simd_bitwidth() >= RTE_VECT_SIMD_512);
	return 0;
}

static void log_workers(const struct sl_lcores *lc, const struct sl_ports *ps)
{
	unsigned int i, q;

	for (i = 0; i < lc->nb_workers; i++) {
		const struct sl_worker *w = lc->w[i];
		char buf[256];
		int n = 0;

		for (q = 0; q < w->nb_rxq && n < (int)sizeof(buf); q++)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n,
				      "%s%s queue %u", q ? ", " : "",
				      ps->p[w->rxq[q].port].name,
				      w->rxq[q].queue);
		LOG("lcore %u: worker %u polls %s; flow table %u entries, %zu "
		    "bytes\n",
		    w->lcore_id, i, buf, w->ft.nb_buckets * SL_FT_WAYS,
		    sl_flowtab_mem_size(w->ft.nb_buckets * SL_FT_WAYS));
	}
	if (lc->nb_workers && lc->w[0]->fp.simd512)
		LOG("express path: AVX-512\n");
	else if (sl_fp_simd512_cpu())
		LOG("express path: scalar; the CPU has AVX-512: give EAL "
		    "--force-max-simd-bitwidth=512 to use it\n");
}

int sl_lcores_init(struct sl_lcores *lc, const struct sl_lcores_params *p,
		   char *err, size_t errlen)
{
	unsigned int lcore, max_q = 0, row = 0, i;
	char idle[256] = "";
	int n = 0, ret;

	memset(lc, 0, sizeof(*lc));
	pthread_mutex_init(&lc->lock, NULL);
	lc->conf = p->conf;
	lc->neigh = p->neigh;
	clock_init();
	if (rte_lcore_count() < 2) {
		snprintf(err, errlen,
			 "need at least 2 lcores (-l 0-1): lcore %u runs "
			 "housekeeping, the rest forward",
			 rte_get_main_lcore());
		return -EINVAL;
	}
	for (i = 0; i < p->ports->nb; i++)
		if (p->ports->p[i].nb_queues > max_q)
			max_q = p->ports->p[i].nb_queues;
	if (max_q > SL_MAX_LCORES)
		max_q = SL_MAX_LCORES;
	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (row >= max_q) {
			n += snprintf(idle + n, sizeof(idle) - (size_t)n,
				      "%s%u", n ? "," : "", lcore);
			if (n >= (int)sizeof(idle))
				n = (int)sizeof(idle) - 1;
			continue;
		}
		lc->nb_workers = row + 1;
		ret = worker_alloc(lc, lcore, row, p, err, errlen);
		if (ret != 0)
			return ret;
		row++;
	}
	if (idle[0] != '\0')
		LOG("idle lcores: %s (the ports offer only %u queue%s)\n", idle,
		    max_q, max_q == 1 ? "" : "s");
	log_workers(lc, p->ports);
	return 0;
}

int sl_lcores_launch(struct sl_lcores *lc, char *err, size_t errlen)
{
	unsigned int i;
	int ret;

	for (i = 0; i < lc->nb_workers; i++) {
		ret = rte_eal_remote_launch(worker_main, lc->w[i],
					    lc->w[i]->lcore_id);
		if (ret != 0) {
			snprintf(err, errlen, "lcore %u: launch failed: %s",
				 lc->w[i]->lcore_id, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void sl_lcores_set_table(struct sl_lcores *lc, struct sl_shm_header *hdr)
{
	__atomic_store_n(&lc->view_hdr, hdr, __ATOMIC_RELEASE);
	__atomic_fetch_add(&lc->view_version, 1, __ATOMIC_RELEASE);
}

bool sl_lcores_switched(const struct sl_lcores *lc)
{
	uint64_t v = __atomic_load_n(&lc->view_version, __ATOMIC_ACQUIRE);
	unsigned int i;

	for (i = 0; i < lc->nb_workers; i++)
		if (__atomic_load_n(&lc->w[i]->view_ack, __ATOMIC_ACQUIRE) != v)
			return false;
	return true;
}

void sl_lcores_stop(struct sl_lcores *lc)
{
	unsigned int i;

	sl_lcore_quit = 1;
	for (i = 0; i < lc->nb_workers; i++)
		rte_eal_wait_lcore(lc->w[i]->lcore_id);
}

void sl_lcores_sum(const struct sl_lcores *lc, struct sl_lcore_stats *out)
{
	unsigned int i;
	size_t k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < lc->nb_workers; i++) {
		const sl_u64 *src = (const sl_u64 *)__atomic_load_n(
			&lc->w[i]->fp.stats, __ATOMIC_ACQUIRE);
		sl_u64 *dst = (sl_u64 *)out;

		for (k = 0; k < sizeof(*out) / sizeof(sl_u64); k++)
			dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
	}
	/* table_gen is not a sum: report the newest generation in use. */
	out->table_gen = 0;
	for (i = 0; i < lc->nb_workers; i++)
		if (__atomic_load_n(&lc->w[i]->fp.gen, __ATOMIC_RELAXED) >
		    out->table_gen)
			out->table_gen = __atomic_load_n(&lc->w[i]->fp.gen,
							 __ATOMIC_RELAXED);
}

void sl_lcores_free(struct sl_lcores *lc)
{
	unsigned int i;
	uint16_t p;

	for (i = 0; i < SL_MAX_LCORES; i++) {
		struct sl_worker *w = lc->w[i];

		if (w == NULL)
			continue;
		for (p = 0; p < SL_FP_MAX_PORTS; p++)
			rte_free(w->txq[p].buf);
		rte_free(w->ft_mem);
		rte_free(w);
		lc->w[i] = NULL;
	}
	lc->nb_workers = 0;
}
