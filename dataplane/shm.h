/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shm.h: sluice-dp's side of the shared memory that sluiced publishes
 * tables into (layout in include/sluice/table.h).
 *
 * Only the main lcore calls these functions (attach, heartbeat, detach).
 * Worker lcores touch the mapping through their struct sl_fp and through
 * sl_dpshm_lcore_online()/sl_dpshm_lcore_offline() on their own qs row.
 */
#ifndef SLUICE_DP_SHM_H
#define SLUICE_DP_SHM_H

#include <stddef.h>
#include <sys/types.h>

#include "sluice/table.h"

struct sl_dpshm {
	struct sl_shm_header *hdr; /* NULL while detached */
	size_t map_len;
	dev_t dev; /* identity of the mapped file */
	ino_t ino;
	char path[256];
};

/*
 * Find the file: `path` when given (--shm), else
 * /dev/hugepages/sluice-<instance> if it exists, else
 * /dev/shm/sluice-<instance>. Writes the chosen path into out.
 */
void sl_dpshm_locate(const char *path, const char *instance, char *out,
		     size_t outlen);

/*
 * Map the file at `path` and validate it for a dataplane of nb_rows worker
 * lcores. Returns 0, -ENOENT when the file does not exist (the caller
 * retries), or another -errno with a one-line reason in err.
 */
int sl_dpshm_attach(struct sl_dpshm *s, const char *path, unsigned int nb_rows,
		    char *err, size_t errlen);

/* Whether the file at s->path is still the one mapped (same dev/inode). */
int sl_dpshm_same_file(const struct sl_dpshm *s, const char *path);

/* Claim the mapping for this process: dp_pid, dp_start_ns, dp_nb_lcores. */
void sl_dpshm_claim(struct sl_dpshm *s, unsigned int nb_rows, sl_u64 start_ns);

/* Refresh dp_heartbeat_ns (CLOCK_MONOTONIC). */
void sl_dpshm_heartbeat(struct sl_dpshm *s);

/* Worker side: mark this lcore's quiescent-state row (on)offline. */
void sl_dpshm_lcore_online(struct sl_shm_header *hdr, unsigned int row);
void sl_dpshm_lcore_offline(struct sl_shm_header *hdr, unsigned int row);

/*
 * Mark rows [0, nb_rows) offline, clear dp_pid when it is ours, and unmap.
 * Only after every worker has stopped reading the mapping.
 */
void sl_dpshm_detach(struct sl_dpshm *s, unsigned int nb_rows);

/* Stats area of the mapping (table.h "Stats area"), for one row. */
struct sl_lcore_stats *sl_dpshm_lcore_stats(struct sl_shm_header *hdr,
					    unsigned int row);
struct sl_vip_stats *sl_dpshm_vip_stats(struct sl_shm_header *hdr,
					unsigned int row);
struct sl_backend_stats *sl_dpshm_backend_stats(struct sl_shm_header *hdr,
						unsigned int row);

/* CLOCK_MONOTONIC in nanoseconds. */
sl_u64 sl_dpshm_mono_ns(void);

#endif /* SLUICE_DP_SHM_H */
