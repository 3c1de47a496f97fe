/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xdp.h: XDP mode of sluiced: the XDP program (bpf/sluice_xdp.bpf.c), its
 * maps, and the tables published into them.
 *
 * The tables are built by the same publisher as in DPDK mode (publish.h),
 * into a private file (/run/sluice/<instance>.xdp-tables) that no dataplane
 * maps; its active slot is then copied into the BPF maps. The file keeps the
 * publisher's VIP and backend ids and epochs across a restart of sluiced,
 * and the maps are pinned under /sys/fs/bpf/sluice/<instance>/, so a
 * restarted sluiced finds the flow table and ids the running program uses.
 *
 * Two levels:
 *  - struct sl_xdp: the program, its maps and the table file, without a
 *    daemon (tests and benchmarks use it directly);
 *  - sl_xdp_open/publish/close: sluiced's entry points, state in d->xdp.
 *
 * Threads: one (sluiced's event loop); nothing here is on the packet path.
 */
#ifndef SLUICE_CONTROL_XDP_H
#define SLUICE_CONTROL_XDP_H

#include <stdbool.h>
#include <stddef.h>

#include <sluice/table.h>

struct sl_config;
struct sl_daemon;
struct sl_pub_override;
struct sl_shm_header;

/* ---- sluiced ---- */

/*
 * Load the program (reusing pinned maps of a previous run when they fit),
 * create or re-attach the table file, attach on every interface of
 * d->cfg->dp.interfaces in dataplane.xdp_mode. An interface that already
 * runs sluice_xdp (a sluiced that crashed or was restarted) gets the new
 * program atomically in its place: it is never detached, and flows keep
 * their backends. Returns 0 or -errno with one line in err, e.g.
 * "Failed to attach XDP program to eth1: Operation not supported (driver
 * has no native XDP; set dataplane.xdp_mode = "generic")".
 */
int sl_xdp_open(struct sl_daemon *d, char *err, size_t errlen);

/*
 * Publish the VIPs of d->cfg with every backend's health and operator
 * state, then copy the tables into the maps. Sets the published ids in
 * d->vips[].vip_id / backends[].backend_id and d->gen. Same returns as
 * sl_publish().
 */
int sl_xdp_publish(struct sl_daemon *d, char *err, size_t errlen);

/*
 * Clean shutdown: detach from the interfaces, unpin and close the maps,
 * remove the table file. (A crash leaves the program attached with its
 * pinned maps, and it goes on forwarding with the last tables.)
 */
void sl_xdp_close(struct sl_daemon *d);

/*
 * Counters summed over the CPUs: total, vips[0 .. nv) by VIP id,
 * bes[0 .. nb) by backend id (either array may be NULL). total->table_gen
 * is the generation last copied into the maps. Returns 0 or -errno.
 */
int sl_xdp_read_stats(struct sl_daemon *d, struct sl_lcore_stats *total,
		      struct sl_vip_stats *vips, unsigned int nv,
		      struct sl_backend_stats *bes, unsigned int nb);

/* The table file's header (the daemon's tables_fn in XDP mode). */
struct sl_shm_header *sl_xdp_daemon_tables(struct sl_daemon *d);

/* Packets handed to the kernel (XDP_PASS), by reason, summed over CPUs. */
int sl_xdp_read_passed(struct sl_daemon *d, struct sl_xdp_pass_stats *out);

/* ---- the program and its maps, without a daemon ---- */

struct sl_xdp;

struct sl_xdp_opts {
	const void *obj; /* BPF ELF; NULL: the built-in sluice_xdp */
	size_t obj_len;
	const char *prog_name;	 /* the XDP entry; NULL: "sluice_xdp" */
	const char *pin_dir;	 /* NULL: no pinning, fresh maps */
	const char *tables_path; /* the private table file (publish.h) */
	struct sl_xdp_conf conf; /* the program's .rodata.conf */
};

/* Settings sluiced uses: next hop by FIB, sluice-dp's ICMP rate. */
void sl_xdp_opts_default(struct sl_xdp_opts *o);

/*
 * Open the table file for cfg (capacities as sl_shm_caps_for_config, or
 * the existing file's) and load the program with maps sized from it and
 * from dataplane.flow_table.size. Nothing is attached. NULL + errno, with
 * a message in err.
 */
struct sl_xdp *sl_xdp_new(const struct sl_config *cfg,
			  const struct sl_xdp_opts *o, char *err,
			  size_t errlen);

/*
 * Detach from every interface attached through x (detach), unpin the maps
 * (unpin), remove the table file (unpin too), free. NULL is a no-op.
 */
void sl_xdp_free(struct sl_xdp *x, bool detach, bool unpin);

/*
 * Publish cfg with the overrides (publish.h) into the table file and copy
 * the active slot into the maps. Returns 0 or -errno with err.
 */
int sl_xdp_apply(struct sl_xdp *x, const struct sl_config *cfg,
		 const struct sl_pub_override *ov, unsigned int n_ov, char *err,
		 size_t errlen);

/*
 * Copy the active slot of a table file into the maps: params, backends,
 * per-VIP Maglev tables (new inner map, filled, then one update of
 * maglev_map), vip_map updates and deletes, in an order that never shows
 * the program a VIP without its Maglev table.
 */
int sl_xdp_sync(struct sl_xdp *x, const struct sl_shm_header *h, char *err,
		size_t errlen);

/* Outer source when the config sets none (XDP: the interface's address). */
void sl_xdp_set_default_source(struct sl_xdp *x, sl_u8 family,
			       const union sl_addr *addr);

/*
 * Attach on ifname (generic: SKB mode, else driver mode); replaces a
 * sluice_xdp program already there atomically, refuses any other one.
 */
int sl_xdp_attach(struct sl_xdp *x, const char *ifname, bool generic, char *err,
		  size_t errlen);

/* Whether the maps were found pinned and reused. */
bool sl_xdp_reused(const struct sl_xdp *x);

/* File descriptor of a program or map of the object by name; -ENOENT. */
int sl_xdp_prog_fd(const struct sl_xdp *x, const char *name);
int sl_xdp_map_fd(const struct sl_xdp *x, const char *name);

/* The table file's header (valid until sl_xdp_free). */
struct sl_shm_header *sl_xdp_tables(const struct sl_xdp *x);
struct sl_publisher *sl_xdp_publisher(const struct sl_xdp *x);

/* The counters of sl_xdp_read_stats / sl_xdp_read_passed. */
int sl_xdp_stats(const struct sl_xdp *x, struct sl_lcore_stats *total,
		 struct sl_vip_stats *vips, unsigned int nv,
		 struct sl_backend_stats *bes, unsigned int nb);
int sl_xdp_passed(const struct sl_xdp *x, struct sl_xdp_pass_stats *out);

/*
 * Forget every flow (e.g. when the ids were reset): the flow table is
 * cleared through a mapping of its maps. Returns how many flows it held,
 * or -errno.
 */
int sl_xdp_flush_flows(struct sl_xdp *x);

#endif /* SLUICE_CONTROL_XDP_H */
