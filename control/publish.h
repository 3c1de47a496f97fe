/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * publish.h: the shared-memory file and the table publisher (sluiced side).
 *
 * sl_shm_create() makes or re-attaches the file described in
 * include/sluice/table.h; struct sl_publisher turns a list of VIPs and their
 * backends into a table slot and publishes it with one atomic store. The
 * input model (struct sl_pub_vip) is independent of the config struct so
 * tests and tools can publish without a config file; sl_publish_config()
 * adapts a struct sl_config.
 *
 * Layout decisions the dataplane relies on (all offsets in the header):
 *  - header at 0, slot 0 and slot 1 page aligned, stats area page aligned;
 *  - inside a slot: sl_table_hdr, vips[max_vips], vip index[max_vip_index],
 *    backends[max_backends], maglev[max_maglev], each 64-byte aligned;
 *  - stats: lcore[max_lcores], vip[max_lcores][max_vips],
 *    backend[max_lcores][max_backends], contiguous as table.h says;
 *    max_vips and max_backends are rounded up to even numbers so each
 *    lcore's row starts on its own cache line.
 *
 * Threads: one publisher per file (an flock on the file enforces it),
 * called from one thread. Nothing here is used on the fast path.
 */
#ifndef SLUICE_CONTROL_PUBLISH_H
#define SLUICE_CONTROL_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/table.h>

struct sl_config;

/* Capacities fixed when the file is created. */
struct sl_shm_caps {
	sl_u32 max_vips;
	sl_u32 max_backends; /* all VIPs together */
	sl_u32 max_maglev;   /* Maglev entries per slot, all VIPs together */
	sl_u32 max_lcores;   /* stats rows, 1 .. SL_MAX_LCORES */
};

struct sl_shm;

/*
 * Create, or re-attach to, the file of instance: path_override when not
 * NULL, else /dev/hugepages/sluice-<instance> when hugetlbfs is mounted
 * there (or that file already exists), else /dev/shm/sluice-<instance>.
 * instance: [A-Za-z0-9_.-]{1,32}, not starting with a dot; hdr->instance
 * holds it NUL-padded (not terminated when it is 32 bytes long).
 * A file that exists with this magic and ABI and capacities at least caps
 * is re-attached untouched (generation, tables, stats kept), so a
 * restarted sluiced does not disturb a running dataplane. A file with
 * smaller capacities is recreated only when no dataplane is alive.
 * NULL + errno on failure, with a message in err: EPROTO (magic or ABI
 * mismatch), ENOSPC (capacities, dataplane alive), EBUSY (another
 * publisher holds the file), EINVAL (caps), or the system call's errno.
 */
struct sl_shm *sl_shm_create(const char *instance,
			     const struct sl_shm_caps *caps,
			     const char *path_override, char *err,
			     size_t errlen);

/*
 * Map an existing file without changing it (for sluicectl-like readers and
 * tests). Same errors as above; ENOENT when there is none.
 */
struct sl_shm *sl_shm_attach(const char *instance, const char *path_override,
			     char *err, size_t errlen);

/* Unmap and close; remove the file too when unlink_file. NULL is a no-op. */
void sl_shm_close(struct sl_shm *shm, bool unlink_file);

/* The mapping; valid until sl_shm_close(). */
struct sl_shm_header *sl_shm_header(const struct sl_shm *shm);
const char *sl_shm_path(const struct sl_shm *shm);
/* True when sl_shm_create found a usable file and kept its contents. */
bool sl_shm_reattached(const struct sl_shm *shm);
bool sl_shm_on_hugepages(const struct sl_shm *shm);

/*
 * The array offsets of a table slot of this file (vips_off, vip_index_off,
 * backends_off, maglev_off); the same for both slots and every generation.
 */
void sl_shm_slot_layout(const struct sl_shm_header *h, struct sl_table_hdr *t);

/* Store the publisher's pid and CLOCK_MONOTONIC heartbeat. */
void sl_shm_heartbeat(struct sl_shm *shm);

/*
 * Whether a dataplane is attached and alive: dp_pid set, the process
 * exists, and dp_heartbeat_ns is less than SL_DP_STALE_NS old.
 */
#define SL_DP_STALE_NS 1000000000ULL
bool sl_shm_dp_alive(const struct sl_shm_header *h);

/* ---- input model ---- */

struct sl_pub_backend {
	union sl_addr addr;
	sl_u8 family; /* SL_AF_INET / SL_AF_INET6 */
	sl_be16 port;
	sl_u32 weight;		     /* 0: no new flows (as drained) */
	enum sl_backend_state state; /* UP, DRAINED or DOWN */
	sl_u8 mac[6];		     /* l2dsr static MAC, or zero */
};

struct sl_pub_vip {
	const char *name; /* may be NULL; truncated to SL_VIP_NAME_LEN-1 */
	union sl_addr addr;
	sl_u8 family;
	sl_be16 port;	   /* 0 (or flag SL_VIP_F_PORT_ANY): any port */
	sl_u8 proto;	   /* SL_IPPROTO_TCP / SL_IPPROTO_UDP */
	sl_u8 method;	   /* enum sl_method */
	sl_u8 flags;	   /* enum sl_vip_flags */
	sl_u32 table_size; /* Maglev M, prime; 0: SL_MAGLEV_M_DEFAULT */
	const struct sl_pub_backend *backends;
	unsigned int n_backends;
};

/* ---- publisher ---- */

struct sl_publisher;

/*
 * A publisher for shm (which must outlive it). On a re-attached file the
 * VIP and backend ids and epochs are recovered from the active slot.
 * NULL + errno (ENOMEM) on failure.
 */
struct sl_publisher *sl_publisher_new(struct sl_shm *shm, char *err,
				      size_t errlen);
void sl_publisher_free(struct sl_publisher *p);

/* How long sl_publish waits for the dataplane to quiesce; default 100 ms. */
void sl_publisher_set_wait(struct sl_publisher *p, unsigned int ms);

/*
 * True when the inactive slot may be written now: every online lcore has
 * seen the current generation, or no dataplane is alive. For event loops:
 * poll this, then call sl_publish, which then does not wait.
 */
bool sl_publish_ready(const struct sl_publisher *p);

/*
 * Build the tables for vips[0..n) and publish them as generation gen + 1.
 * VIP and backend ids are stable while their identities are; Maglev tables
 * of VIPs whose backend set did not change are copied, not rebuilt.
 * The cost follows what changed since the last publish: an input listing
 * the same identities in the same order reuses the ids without sorting,
 * and only the entries and tables that differ from those the slot holds
 * (generation gen - 1) are written. The first two publishes of a
 * publisher write everything.
 * Returns 0, or -errno with a message in err, and then nothing is
 * published and the ids are as before: -EAGAIN (the dataplane did not
 * quiesce within the wait), -ENOSPC (a capacity is exceeded), -EINVAL
 * (duplicate identity, bad family/proto/method/state, M not prime),
 * -ENOMEM.
 */
int sl_publish(struct sl_publisher *p, const struct sl_pub_vip *vips,
	       unsigned int n, const struct sl_table_params *params, char *err,
	       size_t errlen);

/* What the last successful sl_publish did. */
struct sl_publish_info {
	sl_u64 gen;
	unsigned int vips;
	unsigned int backends;
	unsigned int maglev_built;  /* tables computed */
	unsigned int maglev_copied; /* tables reused from the cache */
	/* What the slot write cost (the slot held generation gen - 2): */
	bool ids_reused; /* identities as last time: nothing sorted */
	bool full_write; /* everything written (first two publishes) */
	unsigned int vips_written;     /* VIP entries */
	unsigned int backends_written; /* backend entries */
	unsigned int maglev_written;   /* Maglev regions (tables or zeros) */
};
void sl_publisher_info(const struct sl_publisher *p,
		       struct sl_publish_info *info);

/*
 * Ids the last successful publish gave a VIP / a backend of a VIP, by
 * identity; -ENOENT when there is none.
 */
int sl_publisher_vip_id(const struct sl_publisher *p,
			const struct sl_pub_vip *v);
int sl_publisher_backend_id(const struct sl_publisher *p,
			    const struct sl_pub_vip *v,
			    const struct sl_pub_backend *b);

/* ---- from the config ---- */

/*
 * An operator's or health checker's word on backends: every backend whose
 * address (and port, when port != 0) matches, in the VIP named vip (or in
 * every VIP when vip is NULL), gets state (when state != 0) and weight
 * (when weight >= 0). Later overrides win.
 */
struct sl_pub_override {
	const char *vip;
	union sl_addr addr;
	sl_u8 family;
	sl_be16 port;
	enum sl_backend_state state; /* 0: keep */
	long weight;		     /* < 0: keep */
};

/*
 * Fill o->addr/family/port from "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT"
 * (port 0 = any). Returns 0 or -1 when spec is not such a string.
 */
int sl_pub_override_parse(const char *spec, struct sl_pub_override *o);

/*
 * Sets b's weight and state (they come in as the config's weight and
 * SL_BACKEND_UP) for backend be of VIP vip, indices into cfg->vips and
 * cfg->vips[vip].backends.
 */
typedef void (*sl_pub_backend_fn)(void *arg, unsigned int vip, unsigned int be,
				  struct sl_pub_backend *b);

/*
 * The publisher's input for cfg, the one conversion of config VIPs and
 * backends: *vips gets cfg->n_vips entries, each pointing at its run of
 * *bes (config order, ports to network order, fragments policy in flags).
 * fn (may be NULL) is called once per backend, in order. Both arrays are
 * the caller's to free; they point into cfg (names), so cfg must outlive
 * them. 0, or -ENOMEM with both set to NULL.
 */
int sl_pub_vips_from_config(const struct sl_config *cfg, sl_pub_backend_fn fn,
			    void *arg, struct sl_pub_vip **vips,
			    struct sl_pub_backend **bes);

/*
 * Publish cfg's VIPs. Backends are UP unless overridden; weight 0 makes
 * an UP backend DRAINED. Params come from cfg (seed, MTU, GUE port,
 * timeouts, encapsulation sources). Same returns as sl_publish.
 */
int sl_publish_config(struct sl_publisher *p, const struct sl_config *cfg,
		      const struct sl_pub_override *ov, unsigned int n_ov,
		      char *err, size_t errlen);

/*
 * Capacities for cfg. need: exactly what cfg uses (for re-attaching to a
 * file someone else sized); else with headroom for reloads that add VIPs
 * and backends: twice the need, at least 64 VIPs, 1024 backends and 16
 * default-sized Maglev tables, and SL_MAX_LCORES stats rows.
 */
void sl_shm_caps_for_config(const struct sl_config *cfg, bool need,
			    struct sl_shm_caps *caps);

/* The same params sl_publish_config passes, for callers that build vips. */
void sl_table_params_from_config(const struct sl_config *cfg,
				 struct sl_table_params *params);

/* ---- stats readers (sum the per-lcore rows) ---- */

static inline struct sl_lcore_stats *
sl_shm_stats_lcore(const struct sl_shm_header *h, unsigned int lcore)
{
	return (struct sl_lcore_stats *)((sl_u8 *)h + h->stats_off) + lcore;
}

static inline struct sl_vip_stats *
sl_shm_stats_vip(const struct sl_shm_header *h, unsigned int lcore)
{
	return (struct sl_vip_stats *)(sl_shm_stats_lcore(h, h->max_lcores)) +
	       (size_t)lcore * h->max_vips;
}

static inline struct sl_backend_stats *
sl_shm_stats_backend(const struct sl_shm_header *h, unsigned int lcore)
{
	return (struct sl_backend_stats *)(sl_shm_stats_vip(h, h->max_lcores)) +
	       (size_t)lcore * h->max_backends;
}

void sl_shm_sum_lcore(const struct sl_shm_header *h,
		      struct sl_lcore_stats *out);
/* Return -ENOENT when the id is out of range. */
int sl_shm_sum_vip(const struct sl_shm_header *h, unsigned int vip_id,
		   struct sl_vip_stats *out);
int sl_shm_sum_backend(const struct sl_shm_header *h, unsigned int backend_id,
		       struct sl_backend_stats *out);

#endif /* SLUICE_CONTROL_PUBLISH_H */
