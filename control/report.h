/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * report.h: sluiced's state as the operator sees it, shared by the control
 * socket (ctlsock.c) and the Prometheus endpoint (metrics.c) so both name
 * and count things the same way.
 *
 * Dataplane counters come from the shared memory (DPDK mode, d->shm) and are
 * indexed with the ids the last publish gave each VIP and backend. Where
 * there is no source (XDP mode until xdp.c provides its reader, or nothing
 * published yet) the readers return false and callers report null / omit
 * the sample; they never report zeros they do not know.
 *
 * Event-loop thread only, like struct sl_daemon.
 */
#ifndef SLUICE_CONTROL_REPORT_H
#define SLUICE_CONTROL_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/table.h>

struct sl_daemon;
struct sl_vip_rt;
struct sl_backend_rt;

struct sl_report_dp {
	bool attached; /* a dataplane source exists (shm or xdp) */
	bool alive;    /* its process answers and beats */
	sl_u64 pid;    /* 0 when unknown */
	bool has_heartbeat;
	sl_u64 heartbeat_age_ns;
	unsigned int lcores; /* lcores (or CPUs) reporting */
	bool has_table_gen;
	sl_u64 table_gen; /* oldest generation an online lcore uses */
};

void sl_report_dataplane(const struct sl_daemon *d, struct sl_report_dp *dp);

/* Sums over every lcore; false when there is no dataplane counter source. */
bool sl_report_lcore_totals(const struct sl_daemon *d,
			    struct sl_lcore_stats *out);
bool sl_report_vip_stats(const struct sl_daemon *d, const struct sl_vip_rt *v,
			 struct sl_vip_stats *out);
bool sl_report_backend_stats(const struct sl_daemon *d,
			     const struct sl_backend_rt *b,
			     struct sl_backend_stats *out);

struct sl_report_counts {
	unsigned int total, up, down, drained;
};

/* Backends of v by dataplane state; of every VIP when v is NULL. */
void sl_report_count(const struct sl_daemon *d, const struct sl_vip_rt *v,
		     struct sl_report_counts *c);

/* "192.0.2.10", "2001:db8::1" */
const char *sl_report_addr(char *buf, size_t len, sl_u8 family,
			   const union sl_addr *a);
const char *sl_report_mode_name(sl_u8 mode); /* dpdk, xdp */

/* The name of a drop reason (SL_DROP_LIST), a metric label; NULL if none. */
const char *sl_report_drop_name(unsigned int reason);

/* Free report.c's counter snapshot (daemon shutdown). */
void sl_report_free(struct sl_daemon *d);

#endif /* SLUICE_CONTROL_REPORT_H */
