/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xdp_int.h: struct sl_xdp, what xdp_load.c (the program and its maps) and
 * xdp_sync.c (the tables copied into them) share; private to them (the
 * rest of sluice includes xdp.h only). Single-threaded: sluiced's loop, or
 * a test.
 */
#ifndef SLUICE_CONTROL_XDP_INT_H
#define SLUICE_CONTROL_XDP_INT_H

#include <stdbool.h>

#include <net/if.h>

#include "config.h"
#include "sluice/table.h"

#define MAX_IFACES SL_CONFIG_IFACES_MAX

struct bpf_object;
struct bpf_program;
struct sl_publisher;
struct sl_shm;

/* The program's maps that sluiced uses, by name in xdp_load.c. */
enum map_idx {
	M_VIP,
	M_BACKEND,
	M_MAGLEV,
	M_MAGLEVF,
	M_PARAMS,
	M_FLOW,
	M_FLOWB,
	M_LCORE,
	M_VIPST,
	M_BEST,
	M_PASS,
	M_VIPGEN,
	M_COUNT
};

/*
 * What a VIP id's Maglev table is now: in maglev_fixed_map when m is
 * SL_XDP_MAGLEV_FIXED_M, else in maglev_map.
 */
struct installed {
	sl_u32 m;      /* 0: nothing */
	sl_u32 *table; /* copy of what was written, m entries */
	/* The other map's slot may hold an older table: it moved maps, or
	 * it is a first install (pinned maps of a previous run). */
	bool clear_other;
	bool first;
};

struct sl_xdp {
	struct bpf_object *obj;
	struct bpf_program *prog;
	int prog_fd;
	int fd[M_COUNT];
	char prog_name[64];
	char pin_dir[256];
	bool reused;
	bool pins_replaced; /* pinned maps that did not fit were removed */

	struct sl_shm *shm;
	struct sl_publisher *pub;
	sl_u32 max_vips, max_backends, max_vip_index;
	sl_u32 flow_buckets;  /* flow_bucket_map entries */
	struct installed *mg; /* [max_vips] */
	sl_u32 *keys_buf;     /* 0 .. max M - 1, for batch updates */
	sl_u32 keys_len;
	sl_u64 synced_gen;

	union sl_addr src4, src6; /* default outer sources */
	bool has_src4, has_src6;

	int ifindex[MAX_IFACES];
	char ifname[MAX_IFACES][IF_NAMESIZE];
	sl_u32 if_flags[MAX_IFACES];
	unsigned int n_if;
};

#endif /* SLUICE_CONTROL_XDP_INT_H */
