/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * publish.c: the publisher's life (new, free, info), validating the input,
 * waiting for quiescence and committing a generation; sl_publish() runs
 * the steps that publish_ids.c and publish_write.c implement.
 *
 * Invariants:
 *  - only the slot of gen + 1 is ever written, and only after every online
 *    lcore reported gen (or the dataplane is gone); the new generation
 *    becomes visible with one release store of hdr->gen;
 *  - a failed publish changes nothing the dataplane can see and leaves the
 *    id maps as they were (the new maps are built aside, then committed);
 *  - commit() makes what was written the publisher's view of the active
 *    slot; a generation not written by this publisher, and the first two
 *    publishes of a publisher, write the slot in full.
 * Called from sluiced's main thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maglev.h"
#include "publish_int.h"

void pub_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static sl_u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sl_u64)ts.tv_sec * 1000 + (sl_u64)ts.tv_nsec / 1000000;
}

const char *pub_vname(const struct sl_pub_vip *v)
{
	return v->name ? v->name : "(unnamed)";
}

static void plan_free(struct plan *pl)
{
	free(pl->vip);
	free(pl->bkey);
	free(pl->bid);
	free(pl->sorted);
	memset(pl, 0, sizeof(*pl));
}

struct sl_publisher *sl_publisher_new(struct sl_shm *shm, char *err,
				      size_t errlen)
{
	struct sl_publisher *p = calloc(1, sizeof(*p));
	struct sl_shm_header *h = sl_shm_header(shm);

	if (!p)
		goto nomem;
	p->shm = shm;
	p->h = h;
	p->wait_ms = 100;
	p->vip = calloc(h->max_vips, sizeof(*p->vip));
	p->be = calloc(h->max_backends, sizeof(*p->be));
	p->cache = calloc(h->max_vips, sizeof(*p->cache));
	p->vpub = calloc(h->max_vips, sizeof(*p->vpub));
	p->bpub = calloc(h->max_backends, sizeof(*p->bpub));
	p->chg = calloc(h->max_backends, sizeof(*p->chg));
	p->prev = calloc(h->max_backends, sizeof(*p->prev));
	p->idx = calloc(h->max_vip_index, sizeof(*p->idx));
	p->idx_new = calloc(h->max_vip_index, sizeof(*p->idx_new));
	p->scratch = sl_maglev_scratch_new();
	if (!p->vip || !p->be || !p->cache || !p->vpub || !p->bpub || !p->chg ||
	    !p->prev || !p->idx || !p->idx_new || !p->scratch)
		goto nomem;
	pub_recover(p);
	p->info.gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	/* Neither slot's contents are known to vpub/bpub yet. */
	p->last_gen = p->info.gen;
	p->full_left = 2;
	return p;
nomem:
	sl_publisher_free(p);
	pub_fail(err, errlen, "publisher: out of memory");
	errno = ENOMEM;
	return NULL;
}

void sl_publisher_free(struct sl_publisher *p)
{
	sl_u32 i;

	if (!p)
		return;
	if (p->cache)
		for (i = 0; i < p->h->max_vips; i++) {
			free(p->cache[i].sig);
			free(p->cache[i].table);
		}
	free(p->cache);
	free(p->vip);
	free(p->be);
	free(p->vpub);
	free(p->bpub);
	free(p->chg);
	free(p->prev);
	free(p->idx);
	free(p->idx_new);
	plan_free(&p->plan);
	sl_maglev_scratch_free(p->scratch);
	free(p);
}

void sl_publisher_set_wait(struct sl_publisher *p, unsigned int ms)
{
	p->wait_ms = ms;
}

void sl_publisher_info(const struct sl_publisher *p,
		       struct sl_publish_info *info)
{
	*info = p->info;
}

/* ---- quiescence ---- */

/* Row of an online lcore still on an older generation, or -1. */
static int lagging_row(const struct sl_shm_header *h, sl_u64 gen)
{
	int i;

	/* Our store of gen before the loads of online: pairs with the fence
	 * in sl_fp_attach() (store online, then load gen). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!sl_shm_dp_alive(h))
		return -1;
	for (i = 0; i < SL_MAX_LCORES; i++)
		if (__atomic_load_n(&h->qs[i].online, __ATOMIC_ACQUIRE) &&
		    __atomic_load_n(&h->qs[i].seen, __ATOMIC_ACQUIRE) < gen)
			return i;
	return -1;
}

bool sl_publish_ready(const struct sl_publisher *p)
{
	return lagging_row(p->h,
			   __atomic_load_n(&p->h->gen, __ATOMIC_ACQUIRE)) < 0;
}

static int wait_quiescent(struct sl_publisher *p, char *err, size_t errlen)
{
	sl_u64 gen = __atomic_load_n(&p->h->gen, __ATOMIC_ACQUIRE);
	sl_u64 deadline = now_ms() + p->wait_ms;
	const struct timespec nap = { 0, 200000 };
	int row;

	while ((row = lagging_row(p->h, gen)) >= 0) {
		if (now_ms() >= deadline) {
			pub_fail(err, errlen,
				 "sluice-dp (pid %llu) lcore row %d is still "
				 "on generation %llu, not %llu, after %u ms; "
				 "nothing published",
				 (unsigned long long)p->h->dp_pid, row,
				 (unsigned long long)p->h->qs[row].seen,
				 (unsigned long long)gen, p->wait_ms);
			return -EAGAIN;
		}
		nanosleep(&nap, NULL);
	}
	/* The loads above were acquires: our slot writes come after them. */
	return 0;
}

/* ---- validating the input ---- */

static int check_vip(const struct sl_pub_vip *v, char *err, size_t errlen)
{
	unsigned int j;

	if (v->family != SL_AF_INET && v->family != SL_AF_INET6) {
		pub_fail(err, errlen, "vip %s: bad address family %u",
			 pub_vname(v), v->family);
		return -EINVAL;
	}
	if (v->proto != SL_IPPROTO_TCP && v->proto != SL_IPPROTO_UDP) {
		pub_fail(err, errlen, "vip %s: protocol %u is not tcp or udp",
			 pub_vname(v), v->proto);
		return -EINVAL;
	}
	if (v->method < SL_METHOD_IPIP || v->method > SL_METHOD_L2DSR) {
		pub_fail(err, errlen, "vip %s: bad method %u", pub_vname(v),
			 v->method);
		return -EINVAL;
	}
	if (v->table_size && !sl_maglev_is_prime(v->table_size)) {
		pub_fail(err, errlen, "vip %s: table_size %u is not a prime",
			 pub_vname(v), v->table_size);
		return -EINVAL;
	}
	if (v->n_backends && !v->backends) {
		pub_fail(err, errlen, "vip %s: no backend array", pub_vname(v));
		return -EINVAL;
	}
	for (j = 0; j < v->n_backends; j++) {
		const struct sl_pub_backend *b = &v->backends[j];

		if (b->family != SL_AF_INET && b->family != SL_AF_INET6) {
			pub_fail(err, errlen,
				 "vip %s: backend %u: bad address family %u",
				 pub_vname(v), j, b->family);
			return -EINVAL;
		}
		if (b->state < SL_BACKEND_UP || b->state > SL_BACKEND_DOWN) {
			pub_fail(err, errlen,
				 "vip %s: backend %u: bad state %d",
				 pub_vname(v), j, (int)b->state);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_input(const struct sl_pub_vip *vips, unsigned int n,
		       size_t *n_bin, char *err, size_t errlen)
{
	unsigned int i;
	int rc;

	*n_bin = 0;
	for (i = 0; i < n; i++) {
		rc = check_vip(&vips[i], err, errlen);
		if (rc)
			return rc;
		*n_bin += vips[i].n_backends;
	}
	return 0;
}

/* ---- committing ---- */

/* Make what was written the publisher's view of the active slot. */
static void commit(struct sl_publisher *p, struct build *bd,
		   const struct sl_table_params *params, sl_u64 gen)
{
	struct sl_vip_slot *ti;
	struct be_chg *tc;
	size_t k;
	sl_u32 id;

	for (id = 0; id < bd->vip_hw; id++) {
		const struct vout *vo = &bd->vout[id];
		struct vip_pub *vp = &p->vpub[id];

		if (vo->ent_changed) {
			vp->ent = vo->ent;
			vp->ent_gen = gen;
		}
		if (vo->mg_changed) {
			vp->mg_used = vo->used;
			vp->mg_off = vo->mg_off;
			vp->mg_m = vo->mg_m;
			vp->mg_ver = vo->ver;
			vp->mg_gen = gen;
		}
	}
	for (k = 0; k < p->n_chg; k++) {
		p->bpub[p->chg[k].id].ent = p->chg[k].ent;
		p->bpub[p->chg[k].id].gen = gen;
	}
	tc = p->prev;
	p->prev = p->chg;
	p->chg = tc;
	p->n_prev = p->n_chg;
	p->n_chg = 0;
	if (bd->idx_changed) {
		ti = p->idx;
		p->idx = p->idx_new;
		p->idx_new = ti;
		p->idx_size = bd->idx_size;
		p->idx_gen = gen;
	}
	if (!bd->reuse) {
		memcpy(p->vip, bd->vip,
		       (size_t)p->h->max_vips * sizeof(*p->vip));
		memcpy(p->be, bd->be,
		       (size_t)p->h->max_backends * sizeof(*p->be));
		p->vip_hw = bd->vip_hw;
		p->be_hw = bd->be_hw;
		plan_free(&p->plan);
		p->plan = bd->plan;
		memset(&bd->plan, 0, sizeof(bd->plan));
	}
	p->seed = params->seed;
	p->seed_valid = true;
	p->last_gen = gen;
	if (p->full_left)
		p->full_left--;
}

static void build_free(struct build *bd)
{
	free(bd->vin);
	free(bd->bin);
	free(bd->vip);
	free(bd->be);
	plan_free(&bd->plan);
	free(bd->vout);
	free(bd->dirty);
}

int sl_publish(struct sl_publisher *p, const struct sl_pub_vip *vips,
	       unsigned int n, const struct sl_table_params *params, char *err,
	       size_t errlen)
{
	struct build bd;
	size_t nb = 0;
	sl_u64 gen;
	bool full;
	int rc;

	if (n && !vips) {
		pub_fail(err, errlen, "publish: no VIP array");
		return -EINVAL;
	}
	if (n > p->h->max_vips) {
		pub_fail(err, errlen,
			 "%u VIPs exceed the shared memory's capacity of %u; "
			 "nothing published",
			 n, p->h->max_vips);
		return -ENOSPC;
	}
	memset(&bd, 0, sizeof(bd));
	rc = check_input(vips, n, &nb, err, errlen);
	if (rc)
		return rc;
	bd.reuse = pub_same_identities(&p->plan, vips, n);
	if (bd.reuse) {
		bd.pl = &p->plan;
		bd.brec = p->be;
		bd.vip_hw = p->vip_hw;
		bd.be_hw = p->be_hw;
		bd.idx = p->idx;
		bd.idx_size = p->idx_size;
	} else {
		rc = pub_new_identities(p, &bd, vips, n, nb, err, errlen);
	}
	if (rc == 0) {
		bd.vout = calloc(bd.vip_hw + 1, sizeof(*bd.vout));
		bd.dirty = calloc(n + 1, sizeof(*bd.dirty));
		if (!bd.vout || !bd.dirty)
			rc = -ENOMEM;
	}
	if (rc == 0) {
		pub_diff_backends(p, &bd, vips, n);
		rc = pub_build_tables(p, &bd, vips, n, &params->seed, err,
				      errlen);
	}
	if (rc == 0)
		rc = wait_quiescent(p, err, errlen);
	if (rc == -ENOMEM)
		pub_fail(err, errlen, "publish: out of memory");
	if (rc) {
		build_free(&bd);
		return rc;
	}
	gen = __atomic_load_n(&p->h->gen, __ATOMIC_ACQUIRE) + 1;
	/* A generation not ours: neither slot is what we last wrote. */
	if (gen != p->last_gen + 1)
		p->full_left = 2;
	full = p->full_left > 0;
	pub_write_slot(p, &bd, params, gen, full);
	commit(p, &bd, params, gen);
	p->info.gen = gen;
	p->info.vips = n;
	p->info.backends = (unsigned int)nb;
	p->info.maglev_built = bd.built;
	p->info.maglev_copied = bd.copied;
	p->info.ids_reused = bd.reuse;
	p->info.full_write = full;
	build_free(&bd);
	sl_shm_heartbeat(p->shm);
	return 0;
}
