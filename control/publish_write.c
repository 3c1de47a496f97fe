/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * publish_write.c: backend entries, Maglev tables and the VIP index of one
 * publish, and writing them into the inactive slot.
 *
 * Invariants:
 *  - each VIP reserves table_size Maglev entries whatever its backends'
 *    state, so a health change can never overflow the capacity;
 *  - a VIP's Maglev table is rebuilt only when its inputs (M, seed, the
 *    in-table backends' identities, weights and ids) changed; otherwise the
 *    last built table is copied;
 *  - everything is built before pub_write_slot(), which cannot fail.
 *
 * Cost: the slot of gen + 1 still holds generation gen - 1. The publisher
 * keeps what it last wrote for every VIP id (entry, Maglev region) and
 * backend id, with the generation it last changed; it writes only what
 * differs from that or changed at gen, i.e. what differs from gen - 1. The
 * first two publishes of a publisher write everything, since it does not
 * know what either slot holds.
 * Called from sluiced's main thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "publish_int.h"

/* The state published: UP with weight 0 takes no new flows, as drained. */
static sl_u8 pub_state(const struct sl_pub_backend *b)
{
	return (b->state == SL_BACKEND_UP && !b->weight) ? SL_BACKEND_DRAINED
							 : (sl_u8)b->state;
}

static sl_u32 vip_m(const struct sl_pub_vip *v)
{
	return v->table_size ? v->table_size : SL_MAGLEV_M_DEFAULT;
}

/* ---- backend entries ---- */

/*
 * Every input backend's new entry; those that differ from what the active
 * slot holds go to p->chg, and mark their VIP's table inputs dirty when
 * the backend is or was in the table. With identities unchanged only
 * state, weight and MAC can differ, so only they are compared.
 */
void pub_diff_backends(struct sl_publisher *p, struct build *bd,
		       const struct sl_pub_vip *vips, unsigned int n)
{
	const struct plan *pl = bd->pl;
	struct sl_backend_entry e;
	unsigned int i, j;
	size_t f = 0;
	sl_u32 id;

	p->n_chg = 0;
	for (i = 0; i < n; i++) {
		const struct sl_pub_vip *v = &vips[i];

		bd->dirty[i] = !bd->reuse;
		for (j = 0; j < v->n_backends; j++, f++) {
			const struct sl_pub_backend *b = &v->backends[j];
			const struct sl_backend_entry *old;
			sl_u8 st = pub_state(b);

			id = pl->bid[f];
			old = &p->bpub[id].ent;
			if (bd->reuse && old->state == st &&
			    old->weight == b->weight &&
			    !memcmp(old->mac, b->mac, sizeof(old->mac)))
				continue;
			memset(&e, 0, sizeof(e));
			e.addr = pl->bkey[f].addr;
			e.family = pl->bkey[f].family;
			e.state = st;
			e.port = pl->bkey[f].port;
			e.epoch = bd->brec[id].epoch;
			e.vip_id = (sl_u16)pl->vip[i].id;
			memcpy(e.mac, b->mac, sizeof(e.mac));
			e.weight = b->weight;
			if (!memcmp(&e, old, sizeof(e)))
				continue;
			if (old->state == SL_BACKEND_UP || st == SL_BACKEND_UP)
				bd->dirty[i] = true;
			p->chg[p->n_chg].id = id;
			p->chg[p->n_chg++].ent = e;
		}
	}
	if (bd->reuse)
		return;
	/* Ids no input backend holds: unused, keeping their epoch. */
	for (id = 0; id < bd->be_hw; id++) {
		if (bd->be[id].used)
			continue;
		memset(&e, 0, sizeof(e));
		e.epoch = bd->be[id].epoch;
		if (!memcmp(&e, &p->bpub[id].ent, sizeof(e)))
			continue;
		p->chg[p->n_chg].id = id;
		p->chg[p->n_chg++].ent = e;
	}
}

/* ---- Maglev ---- */

/* Everything a VIP's table depends on, as bytes to compare. */
struct sig_head {
	sl_u32 m;
	sl_u32 n;
	struct sl_hash_key seed;
};

struct sig_be {
	union sl_addr addr;
	sl_be16 port;
	sl_u8 family;
	sl_u8 pad;
	sl_u32 weight;
	sl_u32 id;
};

/*
 * Build (or find in the cache) the table of input VIP i with id vid. Its
 * in-table backends, in identity order, go into the signature; *ver gets
 * the cached table's version (0 when none is in the table), *n_in their
 * count.
 */
static int vip_table(struct sl_publisher *p, struct build *bd,
		     const struct sl_pub_vip *vips, unsigned int i, sl_u32 vid,
		     const struct sl_hash_key *seed, sl_u64 *ver, sl_u32 *n_in,
		     char *err, size_t errlen)
{
	const struct plan *pl = bd->pl;
	const struct sl_pub_vip *v = &vips[i];
	const struct plan_vip *pv = &pl->vip[i];
	struct mg_cache *c = &p->cache[vid];
	sl_u32 m = vip_m(v), *in, *order = NULL, *table = NULL, j, n = 0;
	struct sl_maglev_backend *mb = NULL;
	struct sig_head *sh;
	struct sig_be *sb;
	sl_u16 *t16 = NULL;
	void *sig = NULL;
	size_t len;
	int rc = -ENOMEM;

	*ver = 0;
	in = calloc(pv->n_backends + 1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	for (j = 0; j < pv->n_backends; j++) {
		sl_u32 f = pl->sorted[pv->first + j];

		if (pub_state(&v->backends[f - pv->first]) == SL_BACKEND_UP)
			in[n++] = f;
	}
	*n_in = n;
	if (!n) {
		rc = 0;
		goto out;
	}
	len = sizeof(struct sig_head) + n * sizeof(struct sig_be);
	sig = calloc(1, len);
	if (!sig)
		goto out;
	sh = sig;
	sh->m = m;
	sh->n = n;
	sh->seed = *seed;
	sb = (struct sig_be *)(sh + 1);
	for (j = 0; j < n; j++) {
		sb[j].addr = pl->bkey[in[j]].addr;
		sb[j].port = pl->bkey[in[j]].port;
		sb[j].family = pl->bkey[in[j]].family;
		sb[j].weight = v->backends[in[j] - pv->first].weight;
		sb[j].id = pl->bid[in[j]];
	}
	if (c->table && c->sig_len == len && !memcmp(c->sig, sig, len)) {
		*ver = c->ver;
		bd->copied++;
		rc = 0;
		goto out;
	}
	mb = calloc(n, sizeof(*mb));
	order = calloc(n, sizeof(*order));
	t16 = malloc(m * sizeof(*t16));
	table = malloc(m * sizeof(*table));
	if (!mb || !order || !t16 || !table)
		goto out;
	for (j = 0; j < n; j++) {
		mb[j].addr = sb[j].addr;
		mb[j].family = sb[j].family;
		mb[j].port = sb[j].port;
		mb[j].weight = sb[j].weight;
	}
	rc = sl_maglev_build_with(p->scratch, mb, n, m, seed, t16, order);
	if (rc) {
		pub_fail(err, errlen,
			 "vip %s: cannot build its Maglev table: %s",
			 pub_vname(v), strerror(-rc));
		goto out;
	}
	for (j = 0; j < m; j++)
		table[j] = sb[order[t16[j]]].id;
	free(c->sig);
	free(c->table);
	c->sig = sig;
	c->sig_len = len;
	c->table = table;
	c->ver = ++p->ver_next;
	*ver = c->ver;
	sig = NULL;
	table = NULL;
	bd->built++;
out:
	free(in);
	free(sig);
	free(mb);
	free(order);
	free(t16);
	free(table);
	return rc;
}

/* The new entry of VIP id vid, input VIP i. */
static void vip_entry(struct vout *vo, const struct sl_pub_vip *v,
		      const struct sl_vip_key *k, sl_u32 vid, sl_u32 n_in)
{
	struct sl_vip_entry *e = &vo->ent;

	memset(e, 0, sizeof(*e));
	e->addr = k->addr;
	e->port = k->port;
	e->proto = k->proto;
	e->family = k->family;
	e->method = v->method;
	e->flags = v->flags | (k->port ? 0 : SL_VIP_F_PORT_ANY);
	e->id = (sl_u16)vid;
	e->maglev_off = vo->mg_off;
	e->maglev_size = vo->ver ? vo->mg_m : 0;
	e->n_backends = n_in;
	if (v->name)
		strncpy(e->name, v->name, sizeof(e->name) - 1);
}

/*
 * Lay out the Maglev regions (in id order, each VIP reserving its M),
 * get each VIP's table and new entry, and note what differs from the
 * active slot. A VIP's table is looked at only when its inputs may have
 * changed: identities, M, seed, in-table backends, or a cache entry a
 * failed publish replaced.
 */
int pub_build_tables(struct sl_publisher *p, struct build *bd,
		     const struct sl_pub_vip *vips, unsigned int n,
		     const struct sl_hash_key *seed, char *err, size_t errlen)
{
	const struct plan *pl = bd->pl;
	bool seed_changed =
		!p->seed_valid || memcmp(seed, &p->seed, sizeof(*seed));
	sl_u64 off = 0;
	unsigned int i;
	sl_u32 id;
	int rc;

	for (i = 0; i < n; i++) {
		bd->vout[pl->vip[i].id].used = true;
		bd->vout[pl->vip[i].id].in = i;
	}
	for (id = 0; id < bd->vip_hw; id++) {
		struct vout *vo = &bd->vout[id];

		if (!vo->used)
			continue;
		vo->mg_off = (sl_u32)off;
		vo->mg_m = vip_m(&vips[vo->in]);
		off += vo->mg_m;
	}
	if (off > p->h->max_maglev) {
		pub_fail(err, errlen,
			 "Maglev tables need %llu entries, over the shared "
			 "memory's capacity of %u; nothing published",
			 (unsigned long long)off, p->h->max_maglev);
		return -ENOSPC;
	}
	bd->maglev_used = (sl_u32)off;
	for (id = 0; id < bd->vip_hw; id++) {
		struct vout *vo = &bd->vout[id];
		const struct vip_pub *vp = &p->vpub[id];
		sl_u32 n_in;

		if (vo->used) {
			i = vo->in;
			if (bd->dirty[i] || seed_changed || !vp->mg_used ||
			    vo->mg_m != vp->mg_m ||
			    (vp->mg_ver && p->cache[id].ver != vp->mg_ver)) {
				rc = vip_table(p, bd, vips, i, id, seed,
					       &vo->ver, &n_in, err, errlen);
				if (rc)
					return rc;
			} else {
				vo->ver = vp->mg_ver;
				n_in = vp->ent.n_backends;
				bd->copied += vo->ver != 0;
			}
			vip_entry(vo, &vips[i], &pl->vip[i].key, id, n_in);
		}
		vo->ent_changed = memcmp(&vo->ent, &vp->ent, sizeof(vo->ent));
		vo->mg_changed = vo->used != vp->mg_used ||
				 (vo->used && (vo->mg_off != vp->mg_off ||
					       vo->mg_m != vp->mg_m ||
					       vo->ver != vp->mg_ver));
	}
	return 0;
}

/* ---- the VIP index ---- */

static void index_put(struct sl_vip_slot *idx, sl_u32 size,
		      const struct sl_vip_key *k, sl_u16 id)
{
	sl_u32 i = sl_vip_key_hash(k) & (size - 1);

	while (idx[i].vip_id != SL_VIP_EMPTY)
		i = (i + 1) & (size - 1);
	idx[i].key = *k;
	idx[i].vip_id = id;
}

/* Fragments of (addr, proto, family) group VIPs; port sorts last. */
static int cmp_frag(const void *a, const void *b)
{
	const struct sl_vip_key *x = &(*(const struct vin *const *)a)->key;
	const struct sl_vip_key *y = &(*(const struct vin *const *)b)->key;
	int c = memcmp(&x->addr, &y->addr, sizeof(x->addr));

	if (c)
		return c;
	if (x->family != y->family)
		return x->family - y->family;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	return (int)x->port - (int)y->port;
}

static bool same_frag_group(const struct vin *a, const struct vin *b)
{
	return !memcmp(&a->key.addr, &b->key.addr, sizeof(a->key.addr)) &&
	       a->key.family == b->key.family && a->key.proto == b->key.proto;
}

/*
 * The index of the sorted VIPs into idx (max_index slots); *size gets its
 * size. Only when identities changed; otherwise the last one stands.
 */
int pub_make_index(struct build *bd, struct sl_vip_slot *idx, sl_u32 max_index,
		   sl_u32 *size_out)
{
	struct vin **g = calloc(bd->n_vin + 1, sizeof(*g));
	unsigned int k, e, groups = 0;
	sl_u32 size, i;

	if (!g)
		return -ENOMEM;
	for (k = 0; k < bd->n_vin; k++)
		g[k] = &bd->vin[k];
	qsort(g, bd->n_vin, sizeof(*g), cmp_frag);
	for (k = 0; k < bd->n_vin; k++)
		groups += !k || !same_frag_group(g[k - 1], g[k]);
	size = 2;
	while (size < 2 * (bd->n_vin + groups))
		size <<= 1;
	if (size > max_index) { /* cannot happen: sized for 2 keys per VIP */
		free(g);
		return -ENOSPC;
	}
	memset(idx, 0, (size_t)size * sizeof(*idx));
	for (i = 0; i < size; i++)
		idx[i].vip_id = SL_VIP_EMPTY;
	/* VIP keys in key order, then fragment keys in group order. */
	for (k = 0; k < bd->n_vin; k++)
		index_put(idx, size, &bd->vin[k].key, (sl_u16)bd->vin[k].id);
	for (k = 0; k < bd->n_vin; k = e) {
		struct sl_vip_key fk = g[k]->key;
		sl_u16 owner;

		for (e = k + 1; e < bd->n_vin && same_frag_group(g[k], g[e]);
		     e++)
			;
		/* Port 0 sorts first: a port-agnostic VIP owns them. */
		if (g[k]->key.port == 0 || e - k == 1)
			owner = (sl_u16)g[k]->id;
		else
			owner = SL_VIP_AMBIGUOUS;
		fk.port = 0;
		fk.proto |= SL_VIP_KEY_FRAG;
		index_put(idx, size, &fk, owner);
	}
	*size_out = size;
	free(g);
	return 0;
}

/* ---- writing the slot ---- */

/*
 * The slot of gen holds gen - 2. Write what differs from gen - 1 (the
 * changed flags) and what changed at gen - 1 (the *_gen marks), or
 * everything when full. Cannot fail: all was built before.
 */
void pub_write_slot(struct sl_publisher *p, struct build *bd,
		    const struct sl_table_params *params, sl_u64 gen, bool full)
{
	struct sl_shm_header *h = p->h;
	struct sl_table_hdr *t = sl_table_slot(h, gen);
	struct sl_vip_entry *ve;
	struct sl_backend_entry *be;
	unsigned int vw = 0, bw = 0, mw = 0;
	sl_u32 *mg;
	size_t k;
	sl_u32 id;

	memset(t, 0, sizeof(*t));
	sl_shm_slot_layout(h, t);
	t->gen = gen;
	t->params = *params;
	t->n_vips = bd->vip_hw;
	t->n_backends = bd->be_hw;
	t->vip_index_size = bd->idx_size;
	t->maglev_used = bd->maglev_used;
	ve = sl_table_vips(t);
	be = sl_table_backends(t);
	mg = sl_table_maglev(t);
	for (id = 0; id < bd->vip_hw; id++) {
		const struct vout *vo = &bd->vout[id];
		const struct vip_pub *vp = &p->vpub[id];

		if (full || vo->ent_changed || vp->ent_gen + 1 >= gen) {
			ve[id] = vo->ent;
			vw++;
		}
		if (!vo->used ||
		    !(full || vo->mg_changed || vp->mg_gen + 1 >= gen))
			continue;
		if (vo->ver)
			memcpy(mg + vo->mg_off, p->cache[id].table,
			       (size_t)vo->mg_m * sizeof(*mg));
		else
			memset(mg + vo->mg_off, 0,
			       (size_t)vo->mg_m * sizeof(*mg));
		mw++;
	}
	if (full) {
		for (id = 0; id < bd->be_hw; id++)
			be[id] = p->bpub[id].ent;
		bw = bd->be_hw;
	} else {
		for (k = 0; k < p->n_prev; k++) {
			id = p->prev[k].id;
			if (p->bpub[id].gen + 1 >= gen) {
				be[id] = p->bpub[id].ent;
				bw++;
			}
		}
	}
	for (k = 0; k < p->n_chg; k++)
		be[p->chg[k].id] = p->chg[k].ent;
	bw += full ? 0 : (unsigned int)p->n_chg;
	if (full || bd->idx_changed || p->idx_gen + 1 >= gen)
		memcpy(sl_table_vip_index(t), bd->idx,
		       (size_t)bd->idx_size * sizeof(struct sl_vip_slot));
	p->info.vips_written = vw;
	p->info.backends_written = bw;
	p->info.maglev_written = mw;
	__atomic_store_n(&h->gen, gen, __ATOMIC_RELEASE);
}
