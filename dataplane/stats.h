/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.h: sluice-dp's counters over DPDK telemetry
 * (/var/run/dpdk/<file-prefix>/dpdk_telemetry.v2, dpdk-telemetry.py):
 *
 *   /sluice/stats            worker counters summed, drops by reason
 *   /sluice/vips[,NAME]      per-VIP counters of the active table
 *   /sluice/backends[,VIP]   per-backend counters, optionally of one VIP
 *
 * The callbacks run on DPDK's telemetry thread and read under lc->lock.
 */
#ifndef SLUICE_DP_STATS_H
#define SLUICE_DP_STATS_H

struct sl_lcores;

/* Register the commands for lc (once, after sl_lcores_init). 0 or -errno. */
int sl_stats_register(struct sl_lcores *lc);

/* Stop answering with data from lc (before it is freed). */
void sl_stats_unregister(void);

#endif /* SLUICE_DP_STATS_H */
