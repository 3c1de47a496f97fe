/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * publish_ids.c: identities of VIPs and backends, and the ids and epochs
 * they get; lookups by identity.
 *
 * Invariants:
 *  - a VIP keeps its id while (addr, port, proto, family) stays; a
 *    backend while (its VIP's identity, addr, port, family) stays; new ids
 *    are the lowest free ones, handed out in identity order, so the same
 *    input in any order gives the same bytes; an id handed out again gets
 *    epoch + 1; unused backend ids keep their epoch in the slot (n_backends
 *    is a high-water mark), which is how a restarted publisher recovers them;
 *  - new ids, epochs and the plan go into struct build; p's are replaced
 *    only by commit() in publish.c.
 *
 * Cost: the input's identities, in input order, are compared with the last
 * committed ones (struct plan); when they are the same, ids and the
 * identity order of each VIP's backends are reused and nothing is sorted.
 * Otherwise the input is sorted and merged with the old records.
 * Called from sluiced's main thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "publish_int.h"

static int cmp_vin(const void *a, const void *b)
{
	return memcmp(&((const struct vin *)a)->key,
		      &((const struct vin *)b)->key, sizeof(struct sl_vip_key));
}

static int cmp_bin(const void *a, const void *b)
{
	return memcmp(&((const struct bin *)a)->key,
		      &((const struct bin *)b)->key, sizeof(struct be_ident));
}

static void normalize_addr(union sl_addr *a, sl_u8 family)
{
	if (family == SL_AF_INET)
		a->w[1] = a->w[2] = a->w[3] = 0;
}

static void vip_key_of(const struct sl_pub_vip *v, struct sl_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = v->addr;
	normalize_addr(&k->addr, v->family);
	k->port = (v->flags & SL_VIP_F_PORT_ANY) ? 0 : v->port;
	k->proto = v->proto;
	k->family = v->family;
}

static void be_key_of(const struct sl_pub_backend *b, struct be_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = b->addr;
	normalize_addr(&k->addr, b->family);
	k->port = b->port;
	k->family = b->family;
}

/* ---- recovering ids from a re-attached file ---- */

void pub_recover(struct sl_publisher *p)
{
	struct sl_shm_header *h = p->h;
	sl_u64 gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	const struct sl_table_hdr *t;
	const struct sl_vip_entry *ve;
	const struct sl_backend_entry *be;
	sl_u32 i;

	if (gen == 0)
		return;
	t = sl_table_slot(h, gen);
	if (t->n_vips > h->max_vips || t->n_backends > h->max_backends)
		return;
	ve = sl_table_vips(t);
	be = sl_table_backends(t);
	for (i = 0; i < t->n_vips; i++) {
		if (!ve[i].proto)
			continue;
		p->vip[i].used = true;
		memset(&p->vip[i].key, 0, sizeof(p->vip[i].key));
		p->vip[i].key.addr = ve[i].addr;
		p->vip[i].key.port = ve[i].port;
		p->vip[i].key.proto = ve[i].proto;
		p->vip[i].key.family = ve[i].family;
	}
	p->vip_hw = t->n_vips;
	for (i = 0; i < t->n_backends; i++) {
		struct be_rec *r = &p->be[i];

		r->epoch = be[i].epoch;
		if (be[i].state == SL_BACKEND_UNUSED ||
		    be[i].vip_id >= t->n_vips || !p->vip[be[i].vip_id].used)
			continue;
		r->used = true;
		memset(&r->id, 0, sizeof(r->id));
		r->id.vip = p->vip[be[i].vip_id].key;
		r->id.be.addr = be[i].addr;
		r->id.be.port = be[i].port;
		r->id.be.family = be[i].family;
	}
	p->be_hw = t->n_backends;
}

/* ---- identities as the last commit's (ids reused) ---- */

/*
 * b's identity is k (normalized). Compared field by field: building a
 * be_key on the stack and memcmp'ing it stalls on store forwarding, and
 * this runs for every backend of every publish.
 */
static bool be_key_eq(const struct sl_pub_backend *b, const struct be_key *k)
{
	if (b->family != k->family || b->port != k->port)
		return false;
	if (b->family == SL_AF_INET)
		return b->addr.w[0] == k->addr.w[0];
	return b->addr.w[0] == k->addr.w[0] && b->addr.w[1] == k->addr.w[1] &&
	       b->addr.w[2] == k->addr.w[2] && b->addr.w[3] == k->addr.w[3];
}

/* True when vips lists the identities of pl in the same order. */
bool pub_same_identities(const struct plan *pl, const struct sl_pub_vip *vips,
			 unsigned int n)
{
	struct sl_vip_key k;
	unsigned int i, j;

	if (!pl->valid || n != pl->n_vin)
		return false;
	for (i = 0; i < n; i++) {
		const struct sl_pub_vip *v = &vips[i];
		const struct plan_vip *pv = &pl->vip[i];

		vip_key_of(v, &k);
		if (v->n_backends != pv->n_backends ||
		    memcmp(&k, &pv->key, sizeof(k)))
			return false;
		for (j = 0; j < v->n_backends; j++)
			if (!be_key_eq(&v->backends[j],
				       &pl->bkey[pv->first + j]))
				return false;
	}
	return true;
}

/* ---- sorting the input and assigning ids (identities changed) ---- */

static int sort_input(struct build *bd, const struct sl_pub_vip *vips,
		      unsigned int n, char *err, size_t errlen)
{
	unsigned int i, j;
	size_t k = 0;

	for (i = 0; i < n; i++) {
		struct vin *vi = &bd->vin[i];

		memset(vi, 0, sizeof(*vi));
		vi->v = &vips[i];
		vi->pos = i;
		vip_key_of(&vips[i], &vi->key);
	}
	qsort(bd->vin, n, sizeof(*bd->vin), cmp_vin);
	for (i = 1; i < n; i++)
		if (!cmp_vin(&bd->vin[i - 1], &bd->vin[i])) {
			pub_fail(err, errlen,
				 "vip %s: same address, port and protocol as "
				 "vip %s",
				 pub_vname(bd->vin[i].v),
				 pub_vname(bd->vin[i - 1].v));
			return -EINVAL;
		}
	for (i = 0; i < n; i++) {
		struct vin *vi = &bd->vin[i];

		for (j = 0; j < vi->v->n_backends; j++) {
			struct bin *bi = &bd->bin[k++];

			memset(bi, 0, sizeof(*bi));
			bi->key.vip = vi->key;
			be_key_of(&vi->v->backends[j], &bi->key.be);
			bi->vin = vi;
			bi->f = j; /* in its VIP; made flat by make_plan */
		}
	}
	qsort(bd->bin, k, sizeof(*bd->bin), cmp_bin);
	bd->n_bin = k;
	for (k = 1; k < bd->n_bin; k++)
		if (!cmp_bin(&bd->bin[k - 1], &bd->bin[k])) {
			pub_fail(err, errlen,
				 "vip %s: two backends with the same address, "
				 "port and family",
				 pub_vname(bd->bin[k].vin->v));
			return -EINVAL;
		}
	bd->n_vin = n;
	return 0;
}

static int cmp_vip_rec_ptr(const void *a, const void *b)
{
	const struct vip_rec *x = *(const struct vip_rec *const *)a;
	const struct vip_rec *y = *(const struct vip_rec *const *)b;

	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* Old backend records sorted by identity, for a merge with the input. */
static int cmp_be_rec_ptr(const void *a, const void *b)
{
	const struct be_rec *x = *(const struct be_rec *const *)a;
	const struct be_rec *y = *(const struct be_rec *const *)b;

	return memcmp(&x->id, &y->id, sizeof(x->id));
}

static int assign_ids(struct sl_publisher *p, struct build *bd, char *err,
		      size_t errlen)
{
	const struct sl_shm_header *h = p->h;
	struct vip_rec **oldv;
	struct be_rec **old;
	sl_u32 i, n_old = 0, o, next;
	size_t k;

	/* VIPs: merge the sorted input with the sorted old records. */
	oldv = malloc(((size_t)p->vip_hw + 1) * sizeof(*oldv));
	if (!oldv)
		return -ENOMEM;
	for (i = 0; i < p->vip_hw; i++)
		if (p->vip[i].used)
			oldv[n_old++] = &p->vip[i];
	qsort(oldv, n_old, sizeof(*oldv), cmp_vip_rec_ptr);
	for (k = 0, o = 0; k < bd->n_vin; k++) {
		struct vin *vi = &bd->vin[k];
		int c = 1;

		while (o < n_old && (c = memcmp(&oldv[o]->key, &vi->key,
						sizeof(vi->key))) < 0)
			o++;
		vi->id = ~0u;
		if (o < n_old && c == 0) {
			vi->id = (sl_u32)(oldv[o] - p->vip);
			bd->vip[vi->id].used = true;
		}
	}
	free(oldv);
	for (k = 0, next = 0; k < bd->n_vin; k++) {
		if (bd->vin[k].id != ~0u)
			continue;
		while (next < h->max_vips && bd->vip[next].used)
			next++;
		if (next >= h->max_vips) {
			pub_fail(err, errlen,
				 "%u VIPs exceed the shared memory's "
				 "capacity of %u; nothing published",
				 bd->n_vin, h->max_vips);
			return -ENOSPC;
		}
		bd->vin[k].id = next;
		bd->vip[next].used = true;
	}
	for (k = 0; k < bd->n_vin; k++) {
		bd->vip[bd->vin[k].id].key = bd->vin[k].key;
		if (bd->vin[k].id >= bd->vip_hw)
			bd->vip_hw = bd->vin[k].id + 1;
	}

	/* Backends: merge the sorted input with the sorted old records. */
	old = malloc(((size_t)p->be_hw + 1) * sizeof(*old));
	if (!old)
		return -ENOMEM;
	n_old = 0;
	for (i = 0; i < p->be_hw; i++)
		if (p->be[i].used)
			old[n_old++] = &p->be[i];
	qsort(old, n_old, sizeof(*old), cmp_be_rec_ptr);
	for (k = 0, o = 0; k < bd->n_bin; k++) {
		struct bin *bi = &bd->bin[k];
		int c = 1;

		while (o < n_old &&
		       (c = memcmp(&old[o]->id, &bi->key, sizeof(bi->key))) < 0)
			o++;
		bi->id = ~0u;
		if (o < n_old && c == 0) {
			bi->id = (sl_u32)(old[o] - p->be);
			bd->be[bi->id].used = true;
		}
	}
	free(old);
	for (k = 0, next = 0; k < bd->n_bin; k++) {
		struct bin *bi = &bd->bin[k];

		if (bi->id != ~0u)
			continue;
		while (next < h->max_backends && bd->be[next].used)
			next++;
		if (next >= h->max_backends) {
			pub_fail(err, errlen,
				 "%zu backends exceed the shared memory's "
				 "capacity of %u; nothing published",
				 bd->n_bin, h->max_backends);
			return -ENOSPC;
		}
		bi->id = next;
		bd->be[next].used = true;
		/* Another identity may have held it: old flows must not match. */
		if (++bd->be[next].epoch == 0)
			bd->be[next].epoch = 1;
	}
	for (k = 0; k < bd->n_bin; k++) {
		bd->be[bd->bin[k].id].id = bd->bin[k].key;
		if (bd->bin[k].id >= bd->be_hw)
			bd->be_hw = bd->bin[k].id + 1;
	}
	return 0;
}

/* The plan of this input, from its sorted VIPs and backends with ids. */
static int make_plan(struct build *bd, const struct sl_pub_vip *vips,
		     unsigned int n)
{
	struct plan *pl = &bd->plan;
	sl_u32 *cur = calloc(n + 1, sizeof(*cur));
	sl_u32 first = 0;
	unsigned int i;
	size_t k;

	pl->vip = calloc(n + 1, sizeof(*pl->vip));
	pl->bkey = calloc(bd->n_bin + 1, sizeof(*pl->bkey));
	pl->bid = calloc(bd->n_bin + 1, sizeof(*pl->bid));
	pl->sorted = calloc(bd->n_bin + 1, sizeof(*pl->sorted));
	if (!cur || !pl->vip || !pl->bkey || !pl->bid || !pl->sorted) {
		free(cur);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		pl->vip[i].n_backends = vips[i].n_backends;
		pl->vip[i].first = first;
		cur[i] = first;
		first += vips[i].n_backends;
	}
	for (k = 0; k < bd->n_vin; k++) {
		pl->vip[bd->vin[k].pos].key = bd->vin[k].key;
		pl->vip[bd->vin[k].pos].id = bd->vin[k].id;
	}
	/* bin[] is in identity order, so each VIP's run comes out sorted. */
	for (k = 0; k < bd->n_bin; k++) {
		struct bin *bi = &bd->bin[k];
		sl_u32 pos = bi->vin->pos;
		sl_u32 f = pl->vip[pos].first + bi->f;

		pl->bkey[f] = bi->key.be;
		pl->bid[f] = bi->id;
		pl->sorted[cur[pos]++] = f;
	}
	free(cur);
	pl->n_vin = n;
	pl->n_bin = bd->n_bin;
	pl->valid = true;
	return 0;
}

/* Identities differ from the last commit's: sort, merge, plan, index. */
int pub_new_identities(struct sl_publisher *p, struct build *bd,
		       const struct sl_pub_vip *vips, unsigned int n, size_t nb,
		       char *err, size_t errlen)
{
	const struct sl_shm_header *h = p->h;
	sl_u32 i;
	int rc;

	bd->vin = calloc(n + 1, sizeof(*bd->vin));
	bd->bin = calloc(nb + 1, sizeof(*bd->bin));
	bd->vip = calloc(h->max_vips, sizeof(*bd->vip));
	bd->be = calloc(h->max_backends, sizeof(*bd->be));
	if (!bd->vin || !bd->bin || !bd->vip || !bd->be)
		return -ENOMEM;
	/* Epochs carry over; used flags are recomputed. */
	for (i = 0; i < p->be_hw; i++)
		bd->be[i].epoch = p->be[i].epoch;
	bd->vip_hw = p->vip_hw;
	bd->be_hw = p->be_hw;
	rc = sort_input(bd, vips, n, err, errlen);
	if (rc == 0)
		rc = assign_ids(p, bd, err, errlen);
	if (rc == 0)
		rc = make_plan(bd, vips, n);
	if (rc == 0)
		rc = pub_make_index(bd, p->idx_new, h->max_vip_index,
				    &bd->idx_size);
	if (rc)
		return rc;
	bd->pl = &bd->plan;
	bd->brec = bd->be;
	bd->idx_changed = bd->idx_size != p->idx_size ||
			  memcmp(p->idx_new, p->idx,
				 (size_t)bd->idx_size * sizeof(*p->idx));
	bd->idx = bd->idx_changed ? p->idx_new : p->idx;
	return 0;
}

/* ---- lookups by identity ---- */

static sl_u32 find_vip(const struct vip_rec *r, sl_u32 hw,
		       const struct sl_vip_key *k)
{
	sl_u32 i;

	for (i = 0; i < hw; i++)
		if (r[i].used && !memcmp(&r[i].key, k, sizeof(*k)))
			return i;
	return ~0u;
}

int sl_publisher_vip_id(const struct sl_publisher *p,
			const struct sl_pub_vip *v)
{
	struct sl_vip_key k;
	sl_u32 id;

	vip_key_of(v, &k);
	id = find_vip(p->vip, p->vip_hw, &k);
	return id == ~0u ? -ENOENT : (int)id;
}

int sl_publisher_backend_id(const struct sl_publisher *p,
			    const struct sl_pub_vip *v,
			    const struct sl_pub_backend *b)
{
	struct be_ident k;
	int vid = sl_publisher_vip_id(p, v);
	sl_u32 i;

	if (vid < 0)
		return vid;
	memset(&k, 0, sizeof(k));
	k.vip = p->vip[vid].key;
	be_key_of(b, &k.be);
	for (i = 0; i < p->be_hw; i++)
		if (p->be[i].used && !memcmp(&p->be[i].id, &k, sizeof(k)))
			return (int)i;
	return -ENOENT;
}
