/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xdp_sync.c: the active slot of the table file copied into the XDP
 * program's maps (sl_xdp_sync), and the outer sources it falls back on.
 *
 * Sync order (the program may run on any CPU during it): params, backends,
 * Maglev tables that grow, are new or change maps, vip_map updates,
 * vip_map deletes, vip_gen_map bumped (the program's per-CPU caches of
 * vip_map answers expire), Maglev tables that shrink, the slots of the
 * maps tables left (after a first install over pinned maps, only once
 * our program is attached: a previous run's may read them until then),
 * Maglev tables of VIPs that are gone. A table is in
 * maglev_fixed_map when its M is SL_XDP_MAGLEV_FIXED_M, else in
 * maglev_map (bpf/maps.h). So a VIP key is only ever visible with a
 * Maglev table, in the map its M names, whose size covers that M, and a
 * backend id is in backend_map before any table names it.
 * A backend entry is rewritten in place (36 bytes, not atomic): a packet
 * racing the write of an id given to a new identity may see it torn; the
 * epoch check makes such a flow re-pick at its next packet.
 *
 * Single-threaded: sluiced's loop, or a test.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "maglev.h"
#include "publish.h"
#include "xdp.h"
#include "xdp_int.h"

/* The default M is the common one: its tables get the inlined lookup. */
SL_STATIC_ASSERT(SL_XDP_MAGLEV_FIXED_M == SL_MAGLEV_M_DEFAULT,
		 "maglev_fixed_map holds tables of the default size");

static int grow_keys(struct sl_xdp *x, sl_u32 m)
{
	sl_u32 *k, i;

	if (m <= x->keys_len)
		return 0;
	k = realloc(x->keys_buf, (size_t)m * sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (i = x->keys_len; i < m; i++)
		k[i] = i;
	x->keys_buf = k;
	x->keys_len = m;
	return 0;
}

/* The map a table of m entries goes in (bpf/maps.h). */
static int maglev_map_of(sl_u32 m)
{
	return m == SL_XDP_MAGLEV_FIXED_M ? M_MAGLEVF : M_MAGLEV;
}

/*
 * A new inner map with table[0 .. m), swapped in with one update of the
 * map for its size. The other map's slot is cleared later (sync_maglev),
 * once no VIP entry gives the old M any more.
 */
static int install_maglev(struct sl_xdp *x, sl_u32 vip_id, const sl_u32 *table,
			  sl_u32 m, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo,
		    .map_flags =
			    maglev_map_of(m) == M_MAGLEV ? BPF_F_INNER_MAP : 0);
	struct installed *in = &x->mg[vip_id];
	sl_u32 count = m, *copy;
	int fd, rc;

	rc = grow_keys(x, m);
	copy = malloc((size_t)m * sizeof(*copy));
	if (rc || !copy) {
		free(copy);
		snprintf(err, errlen, "XDP: out of memory");
		return -ENOMEM;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_maglev", 4, 4, m, &mo);
	if (fd < 0) {
		free(copy);
		snprintf(err, errlen, "XDP: Maglev table of VIP %u (M %u): %s",
			 vip_id, m, strerror(errno));
		return -errno;
	}
	rc = bpf_map_update_batch(fd, x->keys_buf, table, &count, NULL);
	if (!rc)
		rc = bpf_map_update_elem(x->fd[maglev_map_of(m)], &vip_id, &fd,
					 BPF_ANY);
	close(fd); /* maglev_map holds the reference now */
	if (rc) {
		free(copy);
		snprintf(err, errlen, "XDP: Maglev table of VIP %u: %s", vip_id,
			 strerror(errno));
		return -errno;
	}
	memcpy(copy, table, (size_t)m * sizeof(*copy));
	if (!in->m || maglev_map_of(in->m) != maglev_map_of(m)) {
		in->clear_other = true;
		in->first = !in->m;
	}
	free(in->table);
	in->table = copy;
	in->m = m;
	return 0;
}

/*
 * The slot of the map that does not hold the VIP's table, if need be.
 * After a first install only once our program is attached: until then a
 * previous run's program may run, and one of an older sluiced knows only
 * maglev_map.
 */
static void clear_other_maglev(struct sl_xdp *x, sl_u32 vip_id)
{
	struct installed *in = &x->mg[vip_id];

	if (!in->clear_other || (in->first && !x->n_if))
		return;
	/* ENOENT when it was empty already. */
	bpf_map_delete_elem(
		x->fd[maglev_map_of(in->m) == M_MAGLEV ? M_MAGLEVF : M_MAGLEV],
		&vip_id);
	in->clear_other = false;
}

/* After the VIP's entries are gone: both maps' slots. */
static void remove_maglev(struct sl_xdp *x, sl_u32 vip_id)
{
	struct installed *in = &x->mg[vip_id];

	bpf_map_delete_elem(x->fd[M_MAGLEV], &vip_id);
	bpf_map_delete_elem(x->fd[M_MAGLEVF], &vip_id);
	free(in->table);
	in->table = NULL;
	in->m = 0;
	in->clear_other = false;
}

/*
 * Install the Maglev tables that differ from what is installed: grow
 * (M >= installed, new, or a table that changes maps) before the VIP
 * entries change, !grow after, and then clear the slots of the maps the
 * VIPs' tables left.
 */
static int sync_maglev(struct sl_xdp *x, const struct sl_table_hdr *t,
		       bool grow, char *err, size_t errlen)
{
	const struct sl_vip_entry *vips = sl_table_vips(t);
	const sl_u32 *mg = sl_table_maglev(t);
	sl_u32 i;
	int rc;

	for (i = 0; i < t->n_vips && i < x->max_vips; i++) {
		const struct sl_vip_entry *v = &vips[i];
		struct installed *in = &x->mg[i];
		bool moves = in->m && maglev_map_of(in->m) !=
					      maglev_map_of(v->maglev_size);

		if (v->maglev_size == 0 ||
		    (moves || v->maglev_size >= in->m) != grow)
			continue;
		if (in->m == v->maglev_size &&
		    memcmp(in->table, mg + v->maglev_off,
			   (size_t)in->m * sizeof(sl_u32)) == 0)
			continue;
		rc = install_maglev(x, i, mg + v->maglev_off, v->maglev_size,
				    err, errlen);
		if (rc)
			return rc;
	}
	for (i = 0; !grow && i < x->max_vips; i++)
		if (x->mg[i].m)
			clear_other_maglev(x, i);
	return 0;
}

/*
 * After vip_map has changed: the program's cached classifications (one
 * cache per CPU, vip_cache_map) are of an older generation from now on.
 */
static int bump_vip_gen(struct sl_xdp *x, char *err, size_t errlen)
{
	sl_u32 zero = 0, gen = 0;

	if (bpf_map_lookup_elem(x->fd[M_VIPGEN], &zero, &gen))
		gen = 0;
	gen++;
	if (bpf_map_update_elem(x->fd[M_VIPGEN], &zero, &gen, BPF_ANY)) {
		snprintf(err, errlen, "XDP: vip_gen_map update: %s",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static int sync_vips(struct sl_xdp *x, const struct sl_table_hdr *t, char *err,
		     size_t errlen)
{
	const struct sl_vip_slot *idx = sl_table_vip_index(t);
	const struct sl_vip_entry *vips = sl_table_vips(t);
	struct sl_vip_key *stale, k, next;
	unsigned int n_stale = 0, i;
	struct sl_vip_entry e;
	int rc = 0;

	for (i = 0; i < t->vip_index_size; i++) {
		if (idx[i].vip_id == SL_VIP_EMPTY)
			continue;
		if (idx[i].vip_id == SL_VIP_AMBIGUOUS) {
			memset(&e, 0, sizeof(e));
			e.id = SL_VIP_AMBIGUOUS;
		} else {
			e = vips[idx[i].vip_id];
		}
		if (bpf_map_update_elem(x->fd[M_VIP], &idx[i].key, &e,
					BPF_ANY)) {
			snprintf(err, errlen, "XDP: vip_map update: %s",
				 strerror(errno));
			return -errno;
		}
	}
	/* Keys no longer in the index: collect, then delete. */
	stale = calloc(x->max_vip_index + 1, sizeof(*stale));
	if (!stale) {
		snprintf(err, errlen, "XDP: out of memory");
		return -ENOMEM;
	}
	if (bpf_map_get_next_key(x->fd[M_VIP], NULL, &next) == 0) {
		do {
			k = next;
			if (sl_table_vip_lookup(t, &k) == SL_VIP_EMPTY &&
			    n_stale <= x->max_vip_index)
				stale[n_stale++] = k;
		} while (bpf_map_get_next_key(x->fd[M_VIP], &k, &next) == 0);
	}
	for (i = 0; i < n_stale; i++)
		bpf_map_delete_elem(x->fd[M_VIP], &stale[i]);
	free(stale);
	if (!rc)
		rc = bump_vip_gen(x, err, errlen);
	return rc;
}

static int sync_backends(struct sl_xdp *x, const struct sl_table_hdr *t,
			 char *err, size_t errlen)
{
	struct sl_backend_entry *all;
	sl_u32 count = x->max_backends, n = t->n_backends;
	int rc;

	all = calloc(x->max_backends, sizeof(*all));
	if (!all || grow_keys(x, x->max_backends)) {
		free(all);
		snprintf(err, errlen, "XDP: out of memory");
		return -ENOMEM;
	}
	if (n > x->max_backends)
		n = x->max_backends;
	memcpy(all, sl_table_backends(t), (size_t)n * sizeof(*all));
	rc = bpf_map_update_batch(x->fd[M_BACKEND], x->keys_buf, all, &count,
				  NULL);
	free(all);
	if (rc) {
		snprintf(err, errlen, "XDP: backend_map update: %s",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int sl_xdp_sync(struct sl_xdp *x, const struct sl_shm_header *h, char *err,
		size_t errlen)
{
	sl_u64 gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	const struct sl_table_hdr *t;
	struct sl_table_params prm;
	sl_u32 zero = 0, i;
	int rc;

	if (!gen)
		return 0;
	t = sl_table_slot(h, gen);
	prm = t->params;
	if (!prm.encap_src4_bits && x->has_src4) {
		prm.encap_src4 = x->src4;
		prm.encap_src4_bits = 32;
	}
	if (!prm.encap_src6_bits && x->has_src6) {
		prm.encap_src6 = x->src6;
		prm.encap_src6_bits = 128;
	}
	if (bpf_map_update_elem(x->fd[M_PARAMS], &zero, &prm, BPF_ANY)) {
		snprintf(err, errlen, "XDP: params_map update: %s",
			 strerror(errno));
		return -errno;
	}
	rc = sync_backends(x, t, err, errlen);
	if (!rc)
		rc = sync_maglev(x, t, true, err, errlen);
	if (!rc)
		rc = sync_vips(x, t, err, errlen);
	if (!rc)
		rc = sync_maglev(x, t, false, err, errlen);
	if (rc)
		return rc;
	for (i = 0; i < x->max_vips; i++) {
		const struct sl_vip_entry *v = &sl_table_vips(t)[i];

		if ((i >= t->n_vips || v->maglev_size == 0) && x->mg[i].m)
			remove_maglev(x, i);
	}
	x->synced_gen = gen;
	return 0;
}

int sl_xdp_apply(struct sl_xdp *x, const struct sl_config *cfg,
		 const struct sl_pub_override *ov, unsigned int n_ov, char *err,
		 size_t errlen)
{
	int rc = sl_publish_config(x->pub, cfg, ov, n_ov, err, errlen);

	if (rc)
		return rc;
	return sl_xdp_sync(x, sl_shm_header(x->shm), err, errlen);
}

void sl_xdp_set_default_source(struct sl_xdp *x, sl_u8 family,
			       const union sl_addr *addr)
{
	if (family == SL_AF_INET) {
		x->src4 = *addr;
		x->has_src4 = true;
	} else {
		x->src6 = *addr;
		x->has_src6 = true;
	}
}
