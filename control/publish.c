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
 *
 * Cost follows what changed (a health verdict on one backend of 100k):
 *  - ids: the input's identities, in input order, are compared with the
 *    last committed ones (struct plan); when they are the same, ids and the
 *    identity order of each VIP's backends are reused and nothing is
 *    sorted. Otherwise the input is sorted and merged with the old records.
 *  - slot: the slot of gen + 1 still holds generation gen - 1. The
 *    publisher keeps what it last wrote for every VIP id (entry, Maglev
 *    region) and backend id, with the generation it last changed; it
 *    writes only what differs from that or changed at gen, i.e. what
 *    differs from gen - 1. The first two publishes of a publisher write
 *    everything, since it does not know what either slot holds.
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

/* A backend's own identity, as the input lists it. Zeroed before filling. */
struct be_key {
	union sl_addr addr;
	sl_be16 port;
	sl_u8 family;
	sl_u8 pad;
};

/* A backend's identity: its VIP's, then its own. */
struct be_ident {
	struct sl_vip_key vip;
	struct be_key be;
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

/*
 * What the slot of the last publish holds for a VIP id: its entry, and
 * its Maglev region (offset, reserved size, table version; version 0 is a
 * region of zeros), each with the generation it last changed at.
 */
struct vip_pub {
	struct sl_vip_entry ent;
	sl_u64 ent_gen;
	sl_u64 mg_gen;
	sl_u64 mg_ver;
	sl_u32 mg_off;
	sl_u32 mg_m;
	bool mg_used;
};

/* Likewise for a backend id; and a backend entry about to change. */
struct be_pub {
	struct sl_backend_entry ent;
	sl_u64 gen;
};

struct be_chg {
	sl_u32 id;
	struct sl_backend_entry ent;
};

/* The last table built for a VIP id, keyed by everything it depends on. */
struct mg_cache {
	void *sig;
	size_t sig_len;
	sl_u32 *table;
	sl_u64 ver;     /* unique per build, 0: none */
};

/*
 * The identities of an input in its order, and the ids they got: when the
 * next input lists the same identities in the same order, its ids are
 * these, and each VIP's backends in identity order are sorted[first ..
 * first + n_backends) (flat input indices), so nothing is sorted again.
 */
struct plan_vip {
	struct sl_vip_key key;
	sl_u32 n_backends;
	sl_u32 first;     /* flat index of its first backend */
	sl_u32 id;
};

struct plan {
	bool valid;
	unsigned int n_vin;
	size_t n_bin;
	struct plan_vip *vip; /* n_vin, input order */
	struct be_key *bkey;  /* n_bin, input order, VIP after VIP */
	sl_u32 *bid;          /* n_bin: backend ids */
	sl_u32 *sorted;       /* n_bin: per VIP, its flat indices sorted */
};

struct sl_publisher {
	struct sl_shm *shm;
	struct sl_shm_header *h;
	unsigned int wait_ms;
	struct vip_rec *vip;    /* max_vips */
	struct be_rec *be;      /* max_backends */
	sl_u32 vip_hw, be_hw;   /* high-water marks: n_vips / n_backends */
	struct mg_cache *cache; /* max_vips */
	sl_u64 ver_next;        /* last table version handed out */
	struct sl_maglev_scratch *scratch;
	struct plan plan;       /* of the last committed input */
	/* What the active slot holds (see struct vip_pub). */
	struct vip_pub *vpub;   /* max_vips */
	struct be_pub *bpub;    /* max_backends */
	struct be_chg *chg;     /* max_backends: this publish's changes */
	struct be_chg *prev;    /* max_backends: the last commit's */
	size_t n_chg, n_prev;
	struct sl_vip_slot *idx, *idx_new; /* max_vip_index each */
	sl_u32 idx_size;
	sl_u64 idx_gen;
	struct sl_hash_key seed;
	bool seed_valid;
	sl_u64 last_gen;        /* generation of the last commit */
	unsigned int full_left; /* publishes still to write in full */
	struct sl_publish_info info;
};

/* One input VIP / backend while identities are sorted and merged. */
struct vin {
	struct sl_vip_key key;
	const struct sl_pub_vip *v;
	sl_u32 pos;      /* in the input */
	sl_u32 id;
};

struct bin {
	struct be_ident key;
	struct vin *vin;
	sl_u32 f;        /* flat input index */
	sl_u32 id;
};

/* A VIP id's new entry and Maglev region. */
struct vout {
	bool used;
	bool ent_changed, mg_changed;
	sl_u32 in;       /* input position */
	sl_u32 mg_off, mg_m;
	sl_u64 ver;
	struct sl_vip_entry ent;
};

/* Everything one publish builds before it commits. */
struct build {
	bool reuse;              /* identities as in p->plan */
	/* Only when identities changed: */
	struct vin *vin;
	struct bin *bin;
	unsigned int n_vin;
	size_t n_bin;
	struct vip_rec *vip;
	struct be_rec *be;
	struct plan plan;
	/* Always: */
	const struct plan *pl;
	const struct be_rec *brec; /* id records in force */
	sl_u32 vip_hw, be_hw;
	sl_u32 maglev_used;
	struct vout *vout;       /* vip_hw */
	bool *dirty;             /* per input VIP: table inputs may differ */
	const struct sl_vip_slot *idx;
	sl_u32 idx_size;
	bool idx_changed;
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

static void plan_free(struct plan *pl)
{
	free(pl->vip);
	free(pl->bkey);
	free(pl->bid);
	free(pl->sorted);
	memset(pl, 0, sizeof(*pl));
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
		r->id.be.addr = be[i].addr;
		r->id.be.port = be[i].port;
		r->id.be.family = be[i].family;
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
	p->vpub = calloc(h->max_vips, sizeof(*p->vpub));
	p->bpub = calloc(h->max_backends, sizeof(*p->bpub));
	p->chg = calloc(h->max_backends, sizeof(*p->chg));
	p->prev = calloc(h->max_backends, sizeof(*p->prev));
	p->idx = calloc(h->max_vip_index, sizeof(*p->idx));
	p->idx_new = calloc(h->max_vip_index, sizeof(*p->idx_new));
	p->scratch = sl_maglev_scratch_new();
	if (!p->vip || !p->be || !p->cache || !p->vpub || !p->bpub ||
	    !p->chg || !p->prev || !p->idx || !p->idx_new || !p->scratch)
		goto nomem;
	recover(p);
	p->info.gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	/* Neither slot's contents are known to vpub/bpub yet. */
	p->last_gen = p->info.gen;
	p->full_left = 2;
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
static bool same_identities(const struct plan *pl,
			    const struct sl_pub_vip *vips, unsigned int n)
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
			fail(err, errlen,
			     "vip %s: same address, port and protocol as vip %s",
			     vname(bd->vin[i].v), vname(bd->vin[i - 1].v));
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
			fail(err, errlen,
			     "vip %s: two backends with the same address, port "
			     "and family", vname(bd->bin[k].vin->v));
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
			     "%zu backends exceed the shared memory's capacity "
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

/* ---- backend entries ---- */

/*
 * Every input backend's new entry; those that differ from what the active
 * slot holds go to p->chg, and mark their VIP's table inputs dirty when
 * the backend is or was in the table. With identities unchanged only
 * state, weight and MAC can differ, so only they are compared.
 */
static void diff_backends(struct sl_publisher *p, struct build *bd,
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
		fail(err, errlen, "vip %s: cannot build its Maglev table: %s",
		     vname(v), strerror(-rc));
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
static int build_tables(struct sl_publisher *p, struct build *bd,
			const struct sl_pub_vip *vips, unsigned int n,
			const struct sl_hash_key *seed, char *err,
			size_t errlen)
{
	const struct plan *pl = bd->pl;
	bool seed_changed = !p->seed_valid ||
			    memcmp(seed, &p->seed, sizeof(*seed));
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
		fail(err, errlen,
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
static int make_index(struct build *bd, struct sl_vip_slot *idx,
		      sl_u32 max_index, sl_u32 *size_out)
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
static void write_slot(struct sl_publisher *p, struct build *bd,
		       const struct sl_table_params *params, sl_u64 gen,
		       bool full)
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

/* Identities differ from the last commit's: sort, merge, plan, index. */
static int new_identities(struct sl_publisher *p, struct build *bd,
			  const struct sl_pub_vip *vips, unsigned int n,
			  size_t nb, char *err, size_t errlen)
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
		rc = make_index(bd, p->idx_new, h->max_vip_index,
				&bd->idx_size);
	if (rc)
		return rc;
	bd->pl = &bd->plan;
	bd->brec = bd->be;
	bd->idx_changed =
		bd->idx_size != p->idx_size ||
		memcmp(p->idx_new, p->idx,
		       (size_t)bd->idx_size * sizeof(*p->idx));
	bd->idx = bd->idx_changed ? p->idx_new : p->idx;
	return 0;
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
		fail(err, errlen, "publish: no VIP array");
		return -EINVAL;
	}
	if (n > p->h->max_vips) {
		fail(err, errlen,
		     "%u VIPs exceed the shared memory's capacity of %u; "
		     "nothing published", n, p->h->max_vips);
		return -ENOSPC;
	}
	memset(&bd, 0, sizeof(bd));
	rc = check_input(vips, n, &nb, err, errlen);
	if (rc)
		return rc;
	bd.reuse = same_identities(&p->plan, vips, n);
	if (bd.reuse) {
		bd.pl = &p->plan;
		bd.brec = p->be;
		bd.vip_hw = p->vip_hw;
		bd.be_hw = p->be_hw;
		bd.idx = p->idx;
		bd.idx_size = p->idx_size;
	} else {
		rc = new_identities(p, &bd, vips, n, nb, err, errlen);
	}
	if (rc == 0) {
		bd.vout = calloc(bd.vip_hw + 1, sizeof(*bd.vout));
		bd.dirty = calloc(n + 1, sizeof(*bd.dirty));
		if (!bd.vout || !bd.dirty)
			rc = -ENOMEM;
	}
	if (rc == 0) {
		diff_backends(p, &bd, vips, n);
		rc = build_tables(p, &bd, vips, n, &params->seed, err, errlen);
	}
	if (rc == 0)
		rc = wait_quiescent(p, err, errlen);
	if (rc == -ENOMEM)
		fail(err, errlen, "publish: out of memory");
	if (rc) {
		build_free(&bd);
		return rc;
	}
	gen = __atomic_load_n(&p->h->gen, __ATOMIC_ACQUIRE) + 1;
	/* A generation not ours: neither slot is what we last wrote. */
	if (gen != p->last_gen + 1)
		p->full_left = 2;
	full = p->full_left > 0;
	write_slot(p, &bd, params, gen, full);
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
