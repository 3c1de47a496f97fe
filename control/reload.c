/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reload.c: SIGHUP and `sluicectl reload`: re-read the config file and
 * apply the difference.
 *
 * A new file is loaded and validated whole; an invalid one, or one that
 * changes what only a restart can (instance, dataplane mode, shared-memory
 * capacities), leaves everything running as it was and the error is kept
 * in d->last_reload_error for `status`. A valid one gets a new runtime
 * array in which every backend whose (VIP identity, address, port) is
 * unchanged carries its health, drain and weight state, so the publisher,
 * which keys ids on the same identities, leaves the flows of untouched
 * VIPs and backends where they are. Loop thread only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon.h"
#include "health.h"
#include "publish.h"

/* ---- reload ---- */

/* (owner, family, address, port, proto): a VIP's or a backend's identity. */
struct ident {
	union sl_addr addr;
	sl_u32 owner; /* backends: index of their VIP in the old config */
	sl_u16 port;
	sl_u8 family;
	sl_u8 proto;
};

struct ident_map {
	struct ident *keys;
	sl_u32 *val; /* value + 1, 0 = empty */
	sl_u32 mask;
};

static sl_u32 ident_hash(const struct ident *k)
{
	sl_u32 h = k->addr.w[0] ^ k->addr.w[1] ^ k->addr.w[2] ^ k->addr.w[3];

	h ^= k->owner * 0x85ebca6bu ^ ((sl_u32)k->port << 16) ^
	     ((sl_u32)k->proto << 8) ^ k->family;
	h *= 0x9e3779b1u;
	return h ^ (h >> 16);
}

static int ident_map_init(struct ident_map *m, unsigned int n)
{
	sl_u32 size = 16;

	while (size < 2 * n)
		size *= 2;
	m->keys = calloc(size, sizeof(*m->keys));
	m->val = calloc(size, sizeof(*m->val));
	m->mask = size - 1;
	return m->keys && m->val ? 0 : -ENOMEM;
}

static void ident_map_free(struct ident_map *m)
{
	free(m->keys);
	free(m->val);
}

static void ident_map_put(struct ident_map *m, const struct ident *k, sl_u32 v)
{
	sl_u32 j;

	for (j = ident_hash(k) & m->mask; m->val[j]; j = (j + 1) & m->mask)
		if (!memcmp(&m->keys[j], k, sizeof(*k)))
			return; /* duplicates are refused by the config */
	m->keys[j] = *k;
	m->val[j] = v + 1;
}

static int ident_map_get(const struct ident_map *m, const struct ident *k)
{
	sl_u32 j;

	for (j = ident_hash(k) & m->mask; m->val[j]; j = (j + 1) & m->mask)
		if (!memcmp(&m->keys[j], k, sizeof(*k)))
			return (int)m->val[j] - 1;
	return -1;
}

static void vip_ident(const struct sl_config_vip *v, struct ident *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = v->addr;
	k->port = v->port;
	k->family = v->family;
	k->proto = v->proto;
}

static void be_ident(const struct sl_config_backend *b, sl_u32 owner,
		     struct ident *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = b->addr;
	k->port = b->port;
	k->family = b->family;
	k->owner = owner;
}

struct diff {
	unsigned int vips_kept, vips_added, backends_kept, backends_added;
};

/*
 * Carry the health, drain and weight state of every backend whose (VIP
 * identity, address, port) is in both configs. A changed check keeps the
 * verdict but restarts its counting.
 */
static int carry(const struct sl_config *oc, struct sl_vip_rt *ov,
		 struct sl_vip_rt *nv, const struct sl_config *nc,
		 struct diff *df)
{
	struct ident_map vm, bm;
	unsigned int i, j;
	struct ident k;
	int o, rc;

	rc = ident_map_init(&vm, oc->n_vips);
	if (!rc)
		rc = ident_map_init(&bm, sl_config_count_backends(oc));
	if (rc) {
		ident_map_free(&vm);
		return rc;
	}
	for (i = 0; i < oc->n_vips; i++) {
		vip_ident(&oc->vips[i], &k);
		ident_map_put(&vm, &k, i);
		for (j = 0; j < oc->vips[i].n_backends; j++) {
			be_ident(&oc->vips[i].backends[j], i, &k);
			ident_map_put(&bm, &k, j);
		}
	}
	for (i = 0; i < nc->n_vips; i++) {
		vip_ident(&nc->vips[i], &k);
		o = ident_map_get(&vm, &k);
		if (o < 0) {
			df->vips_added++;
			df->backends_added += nc->vips[i].n_backends;
			continue;
		}
		df->vips_kept++;
		nv[i].vip_id = ov[o].vip_id;
		for (j = 0; j < nc->vips[i].n_backends; j++) {
			struct sl_backend_rt *nb = &nv[i].backends[j];
			const struct sl_backend_rt *ob;
			int ob_i;

			be_ident(nb->cfg, (sl_u32)o, &k);
			ob_i = ident_map_get(&bm, &k);
			if (ob_i < 0) {
				df->backends_added++;
				continue;
			}
			df->backends_kept++;
			ob = &ov[o].backends[ob_i];
			*nb = *ob;
			nb->cfg = &nc->vips[i].backends[j];
			if (memcmp(&nb->cfg->hc, &ob->cfg->hc,
				   sizeof(nb->cfg->hc))) {
				nb->ok_in_row = 0;
				nb->fail_in_row = 0;
			}
		}
	}
	ident_map_free(&vm);
	ident_map_free(&bm);
	return 0;
}

/* What a reload cannot change without a restart. */
static int check_reloadable(const struct sl_daemon *d,
			    const struct sl_config *nc, char *err,
			    size_t errlen)
{
	const struct sl_config *oc = d->cfg;
	struct sl_shm_caps need;
	const struct sl_shm_header *h;

	if (strcmp(oc->instance, nc->instance) != 0) {
		snprintf(err, errlen,
			 "%s: instance: \"%s\" cannot change on "
			 "reload (running \"%s\"); restart sluiced",
			 nc->file, nc->instance, oc->instance);
		return -EINVAL;
	}
	if (oc->dp.mode != nc->dp.mode) {
		snprintf(err, errlen,
			 "%s: dataplane.mode cannot change on "
			 "reload; restart sluiced",
			 nc->file);
		return -EINVAL;
	}
	if (!d->shm)
		return 0;
	h = sl_shm_header(d->shm);
	sl_shm_caps_for_config(nc, true, &need);
	if (need.max_vips > h->max_vips ||
	    need.max_backends > h->max_backends ||
	    need.max_maglev > h->max_maglev) {
		snprintf(
			err, errlen,
			"%s: needs %u VIPs, %u backends and %u "
			"Maglev entries; the shared memory %s holds %u, %u and "
			"%u; restart sluiced and sluice-dp to resize it",
			nc->file, need.max_vips, need.max_backends,
			need.max_maglev, sl_shm_path(d->shm), h->max_vips,
			h->max_backends, h->max_maglev);
		return -ENOSPC;
	}
	return 0;
}

int sl_daemon_reload(struct sl_daemon *d, char *err, size_t errlen)
{
	struct sl_config *nc, *oc = d->cfg;
	struct sl_vip_rt *nv = NULL, *ov = d->vips;
	struct diff df = { 0 };
	unsigned int i;
	int rc;

	nc = sl_config_load(d->config_path, err, errlen);
	if (!nc) {
		rc = errno == ENOMEM ? -ENOMEM : -EINVAL;
		goto fail;
	}
	rc = check_reloadable(d, nc, err, errlen);
	if (rc)
		goto fail;
	nv = sl_daemon_rt_new(nc);
	rc = nv ? carry(oc, ov, nv, nc, &df) : -ENOMEM;
	if (rc) {
		snprintf(err, errlen, "reload: out of memory");
		goto fail;
	}
	d->cfg = nc;
	d->vips = nv;
	rc = sl_health_start(d->health);
	if (rc) {
		d->cfg = oc;
		d->vips = ov;
		sl_health_start(d->health);
		snprintf(err, errlen, "reload: out of memory");
		goto fail;
	}
	if (d->reloaded)
		d->reloaded(d, oc);
	sl_daemon_rt_free(ov, oc->n_vips);
	sl_config_free(oc);
	d->reloads++;
	d->last_reload_error[0] = 0;
	for (i = 0; i < nc->n_warnings; i++)
		sl_log(LOG_WARNING, "warning: %s", nc->warnings[i]);
	sl_log(LOG_NOTICE,
	       "reloaded %s: %u VIPs (%u new), %u backends "
	       "(%u new, state of %u carried)",
	       d->config_path, nc->n_vips, df.vips_added,
	       sl_config_count_backends(nc), df.backends_added,
	       df.backends_kept);
	sl_daemon_schedule_publish(d);
	return 0;
fail:
	if (nc && nv)
		sl_daemon_rt_free(nv, nc->n_vips);
	sl_config_free(nc);
	d->reload_failures++;
	snprintf(d->last_reload_error, sizeof(d->last_reload_error), "%s", err);
	sl_log(LOG_ERR, "reload failed, keeping the running config: %s", err);
	return rc;
}
