/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * publish.c: turns VIPs and backends into a table slot and publishes it.
 *
 * Invariants:
 *  - only the slot of gen + 1 is ever written, and only after every online
 *    lcore reported gen (or the dataplane is gone); the new generation
 *    becomes visible with one release store of hdr->gen;
 *  - a failed publish changes nothing the dataplane can see and leaves the
 *    id maps as they were (the new maps are built aside, then committed);
 *  - ids: a VIP keeps its id while (addr, port, proto, family) stays; a
 *    backend while (its VIP's identity, addr, port, family) stays; new ids
 *    are the lowest free ones, handed out in identity order, so the same
 *    input in any order gives the same bytes; an id handed out again gets
 *    epoch + 1; unused backend ids keep their epoch in the slot (n_backends
 *    is a high-water mark), which is how a restarted publisher recovers them;
 *  - each VIP reserves table_size Maglev entries whatever its backends'
 *    state, so a health change can never overflow the capacity;
 *  - a VIP's Maglev table is rebuilt only when its inputs (M, seed, the
 *    in-table backends' identities, weights and ids) changed; otherwise the
 *    last built table is copied.
 * Called from sluiced's main thread.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "maglev.h"
#include "publish.h"

/* A backend's identity: its VIP's, then its own. Zeroed before filling. */
struct be_ident {
	struct sl_vip_key vip;
	union sl_addr addr;
	sl_be16 port;
	sl_u8 family;
	sl_u8 pad;
};

struct vip_rec {
	bool used;
	struct sl_vip_key key;
};

struct be_rec {
	bool used;
	struct be_ident id;
	sl_u32 epoch;
};

/* The last table built for a VIP id, keyed by everything it depends on. */
struct mg_cache {
	void *sig;
	size_t sig_len;
	sl_u32 *table;
};

struct sl_publisher {
	struct sl_shm *shm;
	struct sl_shm_header *h;
	unsigned int wait_ms;
	struct vip_rec *vip;    /* max_vips */
	struct be_rec *be;      /* max_backends */
	sl_u32 vip_hw, be_hw;   /* high-water marks: n_vips / n_backends */
	struct mg_cache *cache; /* max_vips */
	struct sl_maglev_scratch *scratch;
	struct sl_publish_info info;
};

/* One input VIP / backend while a publish is built. */
struct vin {
	struct sl_vip_key key;
	const struct sl_pub_vip *v;
	sl_u32 id;
	sl_u32 mg_off;
	sl_u32 n_in;     /* backends in its Maglev table */
	bool has_table;
};

struct bin {
	struct be_ident key;
	const struct sl_pub_backend *b;
	struct vin *vin;
	sl_u32 id;
	sl_u8 state;
};

/* Everything one publish builds before it commits. */
struct build {
	struct vin *vin;
	struct bin *bin;
	unsigned int n_vin, n_bin;
	struct vip_rec *vip;
	struct be_rec *be;
	sl_u32 vip_hw, be_hw;
	sl_u32 maglev_used;
	unsigned int built, copied;
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
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

static const char *vname(const struct sl_pub_vip *v)
{
	return v->name ? v->name : "(unnamed)";
}

static void normalize_addr(union sl_addr *a, sl_u8 family)
{
	if (family == SL_AF_INET)
		a->w[1] = a->w[2] = a->w[3] = 0;
}

/* ---- recovering ids from a re-attached file ---- */

static void recover(struct sl_publisher *p)
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
		r->id.addr = be[i].addr;
		r->id.port = be[i].port;
		r->id.family = be[i].family;
	}
	p->be_hw = t->n_backends;
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
	p->scratch = sl_maglev_scratch_new();
	if (!p->vip || !p->be || !p->cache || !p->scratch)
		goto nomem;
	recover(p);
	p->info.gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	return p;
nomem:
	sl_publisher_free(p);
	fail(err, errlen, "publisher: out of memory");
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
	return lagging_row(p->h, __atomic_load_n(&p->h->gen,
						 __ATOMIC_ACQUIRE)) < 0;
}

static int wait_quiescent(struct sl_publisher *p, char *err, size_t errlen)
{
	sl_u64 gen = __atomic_load_n(&p->h->gen, __ATOMIC_ACQUIRE);
	sl_u64 deadline = now_ms() + p->wait_ms;
	const struct timespec nap = { 0, 200000 };
	int row;

	while ((row = lagging_row(p->h, gen)) >= 0) {
		if (now_ms() >= deadline) {
			fail(err, errlen,
			     "sluice-dp (pid %llu) lcore row %d is still on "
			     "generation %llu, not %llu, after %u ms; "
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

/* ---- validating and sorting the input ---- */

static int check_vip(const struct sl_pub_vip *v, char *err, size_t errlen)
{
	unsigned int j;

	if (v->family != SL_AF_INET && v->family != SL_AF_INET6) {
		fail(err, errlen, "vip %s: bad address family %u", vname(v),
		     v->family);
		return -EINVAL;
	}
	if (v->proto != SL_IPPROTO_TCP && v->proto != SL_IPPROTO_UDP) {
		fail(err, errlen, "vip %s: protocol %u is not tcp or udp",
		     vname(v), v->proto);
		return -EINVAL;
	}
	if (v->method < SL_METHOD_IPIP || v->method > SL_METHOD_L2DSR) {
		fail(err, errlen, "vip %s: bad method %u", vname(v),
		     v->method);
		return -EINVAL;
	}
	if (v->table_size && !sl_maglev_is_prime(v->table_size)) {
		fail(err, errlen, "vip %s: table_size %u is not a prime",
		     vname(v), v->table_size);
		return -EINVAL;
	}
	if (v->n_backends && !v->backends) {
		fail(err, errlen, "vip %s: no backend array", vname(v));
		return -EINVAL;
	}
	for (j = 0; j < v->n_backends; j++) {
		const struct sl_pub_backend *b = &v->backends[j];

		if (b->family != SL_AF_INET && b->family != SL_AF_INET6) {
			fail(err, errlen,
			     "vip %s: backend %u: bad address family %u",
			     vname(v), j, b->family);
			return -EINVAL;
		}
		if (b->state < SL_BACKEND_UP || b->state > SL_BACKEND_DOWN) {
			fail(err, errlen, "vip %s: backend %u: bad state %d",
			     vname(v), j, (int)b->state);
			return -EINVAL;
		}
	}
	return 0;
}

static int sort_input(struct build *bd, const struct sl_pub_vip *vips,
		      unsigned int n, char *err, size_t errlen)
{
	unsigned int i, j, k = 0;
	int rc;

	for (i = 0; i < n; i++) {
		const struct sl_pub_vip *v = &vips[i];
		struct vin *vi = &bd->vin[i];

		rc = check_vip(v, err, errlen);
		if (rc)
			return rc;
		memset(vi, 0, sizeof(*vi));
		vi->v = v;
		vi->key.addr = v->addr;
		normalize_addr(&vi->key.addr, v->family);
		vi->key.port = (v->flags & SL_VIP_F_PORT_ANY) ? 0 : v->port;
		vi->key.proto = v->proto;
		vi->key.family = v->family;
	}
	qsort(bd->vin, n, sizeof(*bd->vin), cmp_vin);
	for (i = 1; i < n; i++)
		if (!cmp_vin(&bd->vin[i - 1], &bd->vin[i])) {
			fail(err, errlen,
			     "vip %s: same address, port and protocol as vip %s",
			     vname(bd->vin[i].v), vname(bd->vin[i - 1].v));
			return -EINVAL;
		}
	for (i = 0; i < n; i++) {
		struct vin *vi = &bd->vin[i];

		for (j = 0; j < vi->v->n_backends; j++) {
			const struct sl_pub_backend *b = &vi->v->backends[j];
			struct bin *bi = &bd->bin[k++];

			memset(bi, 0, sizeof(*bi));
			bi->key.vip = vi->key;
			bi->key.addr = b->addr;
			normalize_addr(&bi->key.addr, b->family);
			bi->key.port = b->port;
			bi->key.family = b->family;
			bi->b = b;
			bi->vin = vi;
			bi->state = (b->state == SL_BACKEND_UP && !b->weight)
					    ? SL_BACKEND_DRAINED
					    : (sl_u8)b->state;
		}
	}
	qsort(bd->bin, k, sizeof(*bd->bin), cmp_bin);
	for (i = 1; i < k; i++)
		if (!cmp_bin(&bd->bin[i - 1], &bd->bin[i])) {
			fail(err, errlen,
			     "vip %s: two backends with the same address, port "
			     "and family", vname(bd->bin[i].vin->v));
			return -EINVAL;
		}
	bd->n_vin = n;
	bd->n_bin = k;
	return 0;
}

/* ---- ids ---- */

static sl_u32 find_vip(const struct vip_rec *r, sl_u32 hw,
		       const struct sl_vip_key *k)
{
	sl_u32 i;

	for (i = 0; i < hw; i++)
		if (r[i].used && !memcmp(&r[i].key, k, sizeof(*k)))
			return i;
	return ~0u;
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
	unsigned int k;

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
			fail(err, errlen,
			     "%u VIPs exceed the shared memory's capacity of "
			     "%u; nothing published", bd->n_vin, h->max_vips);
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
			fail(err, errlen,
			     "%u backends exceed the shared memory's capacity "
			     "of %u; nothing published",
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
 * Build (or copy from the cache) the table of VIP vi, whose in-table
 * backends are in[0..n), sorted by identity. Leaves it in p->cache.
 */
static int vip_table(struct sl_publisher *p, struct build *bd, struct vin *vi,
		     struct bin **in, unsigned int n,
		     const struct sl_hash_key *seed, char *err, size_t errlen)
{
	struct mg_cache *c = &p->cache[vi->id];
	sl_u32 m = vi->v->table_size ? vi->v->table_size : SL_MAGLEV_M_DEFAULT;
	size_t len = sizeof(struct sig_head) + n * sizeof(struct sig_be);
	struct sl_maglev_backend *mb = NULL;
	struct sig_head *sh;
	struct sig_be *sb;
	sl_u16 *t16 = NULL;
	sl_u32 *order = NULL, *table = NULL, j;
	void *sig;
	int rc = -ENOMEM;

	sig = calloc(1, len);
	if (!sig)
		goto out;
	sh = sig;
	sh->m = m;
	sh->n = n;
	sh->seed = *seed;
	sb = (struct sig_be *)(sh + 1);
	for (j = 0; j < n; j++) {
		sb[j].addr = in[j]->key.addr;
		sb[j].port = in[j]->key.port;
		sb[j].family = in[j]->key.family;
		sb[j].weight = in[j]->b->weight;
		sb[j].id = in[j]->id;
	}
	if (c->table && c->sig_len == len && !memcmp(c->sig, sig, len)) {
		bd->copied++;
		rc = 0;
		goto out;
	}
	mb = calloc(n ? n : 1, sizeof(*mb));
	order = calloc(n ? n : 1, sizeof(*order));
	t16 = malloc(m * sizeof(*t16));
	table = malloc(m * sizeof(*table));
	if (!mb || !order || !t16 || !table)
		goto out;
	for (j = 0; j < n; j++) {
		mb[j].addr = in[j]->key.addr;
		mb[j].family = in[j]->key.family;
		mb[j].port = in[j]->key.port;
		mb[j].weight = in[j]->b->weight;
	}
	rc = sl_maglev_build_with(p->scratch, mb, n, m, seed, t16, order);
	if (rc) {
		fail(err, errlen, "vip %s: cannot build its Maglev table: %s",
		     vname(vi->v), strerror(-rc));
		goto out;
	}
	for (j = 0; j < m; j++)
		table[j] = in[order[t16[j]]]->id;
	free(c->sig);
	free(c->table);
	c->sig = sig;
	c->sig_len = len;
	c->table = table;
	sig = NULL;
	table = NULL;
	bd->built++;
out:
	free(sig);
	free(mb);
	free(order);
	free(t16);
	free(table);
	return rc;
}

static int build_tables(struct sl_publisher *p, struct build *bd,
			const struct sl_hash_key *seed, char *err,
			size_t errlen)
{
	struct bin **in = calloc(bd->n_bin + 1, sizeof(*in));
	struct vin **by_id = calloc(bd->vip_hw + 1, sizeof(*by_id));
	sl_u64 off = 0;
	unsigned int k, b, n;
	sl_u32 id;
	int rc = -ENOMEM;

	if (!in || !by_id)
		goto out;
	for (k = 0; k < bd->n_vin; k++)
		by_id[bd->vin[k].id] = &bd->vin[k];
	/* Maglev regions in id order; each VIP reserves its M. */
	for (id = 0; id < bd->vip_hw; id++) {
		struct vin *vi = by_id[id];

		if (!vi)
			continue;
		vi->mg_off = (sl_u32)off;
		off += vi->v->table_size ? vi->v->table_size
					 : SL_MAGLEV_M_DEFAULT;
	}
	if (off > p->h->max_maglev) {
		fail(err, errlen,
		     "Maglev tables need %llu entries, over the shared "
		     "memory's capacity of %u; nothing published",
		     (unsigned long long)off, p->h->max_maglev);
		rc = -ENOSPC;
		goto out;
	}
	bd->maglev_used = (sl_u32)off;
	/* bin[] is sorted by VIP key first, so a VIP's backends are a run. */
	for (k = 0, b = 0; k < bd->n_vin; k++) {
		struct vin *vi = &bd->vin[k];

		for (n = 0; b < bd->n_bin && bd->bin[b].vin == vi; b++)
			if (bd->bin[b].state == SL_BACKEND_UP)
				in[n++] = &bd->bin[b];
		vi->n_in = n;
		vi->has_table = n > 0;
		if (!n)
			continue;
		rc = vip_table(p, bd, vi, in, n, seed, err, errlen);
		if (rc)
			goto out;
	}
	rc = 0;
out:
	free(in);
	free(by_id);
	return rc;
}

/* ---- writing the slot ---- */

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

static int write_index(struct sl_table_hdr *t, struct build *bd,
		       sl_u32 max_index)
{
	struct vin **g = calloc(bd->n_vin + 1, sizeof(*g));
	struct sl_vip_slot *idx = sl_table_vip_index(t);
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
	t->vip_index_size = size;
	free(g);
	return 0;
}

static int write_slot(struct sl_publisher *p, struct build *bd,
		      const struct sl_table_params *params, sl_u64 gen)
{
	struct sl_shm_header *h = p->h;
	struct sl_table_hdr *t = sl_table_slot(h, gen);
	struct sl_vip_entry *ve;
	struct sl_backend_entry *be;
	sl_u32 *mg;
	unsigned int k;
	int rc;

	memset(t, 0, sizeof(*t));
	sl_shm_slot_layout(h, t);
	t->gen = gen;
	t->params = *params;
	t->n_vips = bd->vip_hw;
	t->n_backends = bd->be_hw;
	t->maglev_used = bd->maglev_used;
	ve = sl_table_vips(t);
	be = sl_table_backends(t);
	mg = sl_table_maglev(t);
	memset(ve, 0, (size_t)bd->vip_hw * sizeof(*ve));
	for (k = 0; k < bd->n_vin; k++) {
		const struct vin *vi = &bd->vin[k];
		struct sl_vip_entry *e = &ve[vi->id];
		sl_u32 m = vi->v->table_size ? vi->v->table_size
					     : SL_MAGLEV_M_DEFAULT;

		e->addr = vi->key.addr;
		e->port = vi->key.port;
		e->proto = vi->key.proto;
		e->family = vi->key.family;
		e->method = vi->v->method;
		e->flags = vi->v->flags | (vi->key.port ? 0 : SL_VIP_F_PORT_ANY);
		e->id = (sl_u16)vi->id;
		e->maglev_off = vi->mg_off;
		e->maglev_size = vi->has_table ? m : 0;
		e->n_backends = vi->n_in;
		if (vi->v->name)
			strncpy(e->name, vi->v->name, sizeof(e->name) - 1);
		if (vi->has_table)
			memcpy(mg + vi->mg_off, p->cache[vi->id].table,
			       (size_t)m * sizeof(*mg));
		else
			memset(mg + vi->mg_off, 0, (size_t)m * sizeof(*mg));
	}
	memset(be, 0, (size_t)bd->be_hw * sizeof(*be));
	for (k = 0; k < bd->be_hw; k++)
		be[k].epoch = bd->be[k].epoch; /* unused ids keep theirs */
	for (k = 0; k < bd->n_bin; k++) {
		const struct bin *bi = &bd->bin[k];
		struct sl_backend_entry *e = &be[bi->id];

		e->addr = bi->key.addr;
		e->family = bi->key.family;
		e->state = bi->state;
		e->port = bi->key.port;
		e->vip_id = (sl_u16)bi->vin->id;
		memcpy(e->mac, bi->b->mac, sizeof(e->mac));
		e->weight = bi->b->weight;
	}
	rc = write_index(t, bd, h->max_vip_index);
	if (rc)
		return rc;
	__atomic_store_n(&h->gen, gen, __ATOMIC_RELEASE);
	return 0;
}

static void build_free(struct build *bd)
{
	free(bd->vin);
	free(bd->bin);
	free(bd->vip);
	free(bd->be);
}

static int build_alloc(struct sl_publisher *p, struct build *bd,
		       const struct sl_pub_vip *vips, unsigned int n)
{
	size_t nb = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		nb += vips[i].n_backends;
	memset(bd, 0, sizeof(*bd));
	bd->vin = calloc(n + 1, sizeof(*bd->vin));
	bd->bin = calloc(nb + 1, sizeof(*bd->bin));
	bd->vip = calloc(p->h->max_vips, sizeof(*bd->vip));
	bd->be = calloc(p->h->max_backends, sizeof(*bd->be));
	if (!bd->vin || !bd->bin || !bd->vip || !bd->be)
		return -ENOMEM;
	/* Epochs carry over; used flags are recomputed. */
	for (i = 0; i < p->be_hw; i++)
		bd->be[i].epoch = p->be[i].epoch;
	bd->vip_hw = p->vip_hw;
	bd->be_hw = p->be_hw;
	return 0;
}

int sl_publish(struct sl_publisher *p, const struct sl_pub_vip *vips,
	       unsigned int n, const struct sl_table_params *params, char *err,
	       size_t errlen)
{
	struct build bd;
	sl_u64 gen;
	int rc;

	if (n && !vips) {
		fail(err, errlen, "publish: no VIP array");
		return -EINVAL;
	}
	if (n > p->h->max_vips) {
		fail(err, errlen,
		     "%u VIPs exceed the shared memory's capacity of %u; "
		     "nothing published", n, p->h->max_vips);
		return -ENOSPC;
	}
	rc = build_alloc(p, &bd, vips, n);
	if (rc == 0)
		rc = sort_input(&bd, vips, n, err, errlen);
	if (rc == 0)
		rc = assign_ids(p, &bd, err, errlen);
	if (rc == 0)
		rc = build_tables(p, &bd, &params->seed, err, errlen);
	if (rc == 0)
		rc = wait_quiescent(p, err, errlen);
	if (rc == 0) {
		gen = __atomic_load_n(&p->h->gen, __ATOMIC_ACQUIRE) + 1;
		rc = write_slot(p, &bd, params, gen);
	}
	if (rc == -ENOMEM)
		fail(err, errlen, "publish: out of memory");
	if (rc) {
		build_free(&bd);
		return rc;
	}
	memcpy(p->vip, bd.vip, (size_t)p->h->max_vips * sizeof(*p->vip));
	memcpy(p->be, bd.be, (size_t)p->h->max_backends * sizeof(*p->be));
	p->vip_hw = bd.vip_hw;
	p->be_hw = bd.be_hw;
	p->info.gen = gen;
	p->info.vips = bd.n_vin;
	p->info.backends = bd.n_bin;
	p->info.maglev_built = bd.built;
	p->info.maglev_copied = bd.copied;
	build_free(&bd);
	sl_shm_heartbeat(p->shm);
	return 0;
}

/* ---- lookups by identity ---- */

int sl_publisher_vip_id(const struct sl_publisher *p,
			const struct sl_pub_vip *v)
{
	struct sl_vip_key k;
	sl_u32 id;

	memset(&k, 0, sizeof(k));
	k.addr = v->addr;
	normalize_addr(&k.addr, v->family);
	k.port = (v->flags & SL_VIP_F_PORT_ANY) ? 0 : v->port;
	k.proto = v->proto;
	k.family = v->family;
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
	k.addr = b->addr;
	normalize_addr(&k.addr, b->family);
	k.port = b->port;
	k.family = b->family;
	for (i = 0; i < p->be_hw; i++)
		if (p->be[i].used && !memcmp(&p->be[i].id, &k, sizeof(k)))
			return (int)i;
	return -ENOENT;
}
