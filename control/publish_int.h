/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * publish_int.h: what publish.c, publish_ids.c and publish_write.c share;
 * private to them (the rest of sluice includes publish.h only).
 *
 * struct sl_publisher keeps the ids and what the active slot holds across
 * publishes; struct build is what one publish builds aside (on sl_publish's
 * stack) before it commits, so a failed publish changes nothing.
 * Helpers that report an error write one line into err (pub_fail) and
 * return -errno. All of it runs on sluiced's main thread.
 */
#ifndef SLUICE_CONTROL_PUBLISH_INT_H
#define SLUICE_CONTROL_PUBLISH_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "publish.h"

struct sl_maglev_scratch;

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
	sl_u64 ver; /* unique per build, 0: none */
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
	sl_u32 first; /* flat index of its first backend */
	sl_u32 id;
};

struct plan {
	bool valid;
	unsigned int n_vin;
	size_t n_bin;
	struct plan_vip *vip; /* n_vin, input order */
	struct be_key *bkey;  /* n_bin, input order, VIP after VIP */
	sl_u32 *bid;	      /* n_bin: backend ids */
	sl_u32 *sorted;	      /* n_bin: per VIP, its flat indices sorted */
};

struct sl_publisher {
	struct sl_shm *shm;
	struct sl_shm_header *h;
	unsigned int wait_ms;
	struct vip_rec *vip;	/* max_vips */
	struct be_rec *be;	/* max_backends */
	sl_u32 vip_hw, be_hw;	/* high-water marks: n_vips / n_backends */
	struct mg_cache *cache; /* max_vips */
	sl_u64 ver_next;	/* last table version handed out */
	struct sl_maglev_scratch *scratch;
	struct plan plan; /* of the last committed input */
	/* What the active slot holds (see struct vip_pub). */
	struct vip_pub *vpub; /* max_vips */
	struct be_pub *bpub;  /* max_backends */
	struct be_chg *chg;   /* max_backends: this publish's changes */
	struct be_chg *prev;  /* max_backends: the last commit's */
	size_t n_chg, n_prev;
	struct sl_vip_slot *idx, *idx_new; /* max_vip_index each */
	sl_u32 idx_size;
	sl_u64 idx_gen;
	struct sl_hash_key seed;
	bool seed_valid;
	sl_u64 last_gen;	/* generation of the last commit */
	unsigned int full_left; /* publishes still to write in full */
	struct sl_publish_info info;
};

/* One input VIP / backend while identities are sorted and merged. */
struct vin {
	struct sl_vip_key key;
	const struct sl_pub_vip *v;
	sl_u32 pos; /* in the input */
	sl_u32 id;
};

struct bin {
	struct be_ident key;
	struct vin *vin;
	sl_u32 f; /* flat input index */
	sl_u32 id;
};

/* A VIP id's new entry and Maglev region. */
struct vout {
	bool used;
	bool ent_changed, mg_changed;
	sl_u32 in; /* input position */
	sl_u32 mg_off, mg_m;
	sl_u64 ver;
	struct sl_vip_entry ent;
};

/* Everything one publish builds before it commits. */
struct build {
	bool reuse; /* identities as in p->plan */
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
	struct vout *vout; /* vip_hw */
	bool *dirty;	   /* per input VIP: table inputs may differ */
	const struct sl_vip_slot *idx;
	sl_u32 idx_size;
	bool idx_changed;
	unsigned int built, copied;
};

/* ---- publish.c ---------------------------------------------------------- */

void pub_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *pub_vname(const struct sl_pub_vip *v);

/* ---- publish_ids.c: identities, ids and epochs -------------------------- */

/* Ids and epochs from the active slot of a re-attached file. */
void pub_recover(struct sl_publisher *p);
/* True when vips lists the identities of pl in the same order. */
bool pub_same_identities(const struct plan *pl, const struct sl_pub_vip *vips,
			 unsigned int n);
/* Identities differ from the last commit's: sort, merge, plan, index. */
int pub_new_identities(struct sl_publisher *p, struct build *bd,
		       const struct sl_pub_vip *vips, unsigned int n, size_t nb,
		       char *err, size_t errlen);

/* ---- publish_write.c: tables, the VIP index, writing the slot ----------- */

int pub_make_index(struct build *bd, struct sl_vip_slot *idx, sl_u32 max_index,
		   sl_u32 *size_out);
void pub_diff_backends(struct sl_publisher *p, struct build *bd,
		       const struct sl_pub_vip *vips, unsigned int n);
int pub_build_tables(struct sl_publisher *p, struct build *bd,
		     const struct sl_pub_vip *vips, unsigned int n,
		     const struct sl_hash_key *seed, char *err, size_t errlen);
void pub_write_slot(struct sl_publisher *p, struct build *bd,
		    const struct sl_table_params *params, sl_u64 gen,
		    bool full);

#endif
