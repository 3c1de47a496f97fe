/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * report.c: read the daemon's runtime state and the dataplane counters for
 * the control socket and the metrics endpoint (see report.h).
 *
 * The only place that knows where dataplane counters live: shared memory in
 * DPDK mode; in XDP mode xdp.c's reader goes here when it exists (until
 * then XDP mode reports no counters). Event-loop thread only.
 */
#include <stdlib.h>
#include "report.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "publish.h"

void sl_report_dataplane(const struct sl_daemon *d, struct sl_report_dp *dp)
{
	const struct sl_shm_header *h;
	sl_u64 now, gen = 0;
	bool any = false;
	unsigned int i, n;

	memset(dp, 0, sizeof(*dp));
	if (!d->shm) {
		/* XDP: the program is the dataplane; no pid, no heartbeat. */
		dp->attached = d->xdp != NULL;
		dp->alive = dp->attached;
		return;
	}
	h = sl_shm_header(d->shm);
	dp->attached = true;
	dp->alive = sl_shm_dp_alive(h);
	dp->pid = __atomic_load_n(&h->dp_pid, __ATOMIC_RELAXED);
	now = sl_now_ns();
	n = __atomic_load_n(&h->dp_nb_lcores, __ATOMIC_RELAXED);
	if (n > h->max_lcores)
		n = h->max_lcores;
	if (n > SL_MAX_LCORES)
		n = SL_MAX_LCORES;
	if (dp->pid) {
		sl_u64 hb =
			__atomic_load_n(&h->dp_heartbeat_ns, __ATOMIC_RELAXED);

		if (hb) {
			dp->has_heartbeat = true;
			dp->heartbeat_age_ns = now > hb ? now - hb : 0;
		}
		dp->lcores = n;
	}
	for (i = 0; i < n; i++) {
		sl_u64 seen;

		if (!__atomic_load_n(&h->qs[i].online, __ATOMIC_RELAXED))
			continue;
		seen = __atomic_load_n(&h->qs[i].seen, __ATOMIC_ACQUIRE);
		if (!any || seen < gen)
			gen = seen;
		any = true;
	}
	dp->has_table_gen = any && dp->alive;
	dp->table_gen = gen;
}

/*
 * Without shared memory (XDP mode) the counters come from d->stats_fn,
 * which sums per-CPU maps: one read serves every VIP and backend of a
 * request (and of requests within SNAP_NS), not one read per row.
 */
#define SNAP_NS (200ull * 1000 * 1000)

struct sl_stats_snap {
	sl_u64 when_ns;
	bool ok;
	unsigned int nv, nb;
	struct sl_lcore_stats total;
	struct sl_vip_stats *vips;
	struct sl_backend_stats *bes;
};

static const struct sl_stats_snap *snapshot(const struct sl_daemon *cd)
{
	struct sl_daemon *d = (struct sl_daemon *)cd; /* the cache only */
	struct sl_stats_snap *s = d->snap;
	unsigned int nv = 0, nb = 0, i, j;
	sl_u64 now = sl_now_ns();

	if (!d->stats_fn)
		return NULL;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		d->snap = s;
	}
	if (s->ok && now - s->when_ns < SNAP_NS)
		return s;
	for (i = 0; d->cfg && i < d->cfg->n_vips; i++) {
		const struct sl_vip_rt *v = &d->vips[i];

		if (v->vip_id >= 0 && (unsigned int)v->vip_id + 1 > nv)
			nv = (unsigned int)v->vip_id + 1;
		for (j = 0; j < v->cfg->n_backends; j++)
			if (v->backends[j].backend_id >= 0 &&
			    (unsigned int)v->backends[j].backend_id + 1 > nb)
				nb = (unsigned int)v->backends[j].backend_id +
				     1;
	}
	if (nv > s->nv || nb > s->nb) {
		struct sl_vip_stats *vs =
			realloc(s->vips, (nv + 1) * sizeof(*vs));
		struct sl_backend_stats *bs;

		if (vs)
			s->vips = vs;
		bs = realloc(s->bes, (nb + 1) * sizeof(*bs));
		if (bs)
			s->bes = bs;
		if (!vs || !bs)
			return NULL;
		s->nv = nv;
		s->nb = nb;
	}
	s->ok = d->stats_fn(d, &s->total, s->vips, s->nv, s->bes, s->nb) == 0;
	s->when_ns = now;
	return s->ok ? s : NULL;
}

void sl_report_free(struct sl_daemon *d)
{
	if (d->snap) {
		free(d->snap->vips);
		free(d->snap->bes);
		free(d->snap);
		d->snap = NULL;
	}
}

bool sl_report_lcore_totals(const struct sl_daemon *d,
			    struct sl_lcore_stats *out)
{
	const struct sl_stats_snap *s;

	memset(out, 0, sizeof(*out));
	if (!d->shm) {
		s = snapshot(d);
		if (!s)
			return false;
		*out = s->total;
		return true;
	}
	sl_shm_sum_lcore(sl_shm_header(d->shm), out);
	return true;
}

bool sl_report_vip_stats(const struct sl_daemon *d, const struct sl_vip_rt *v,
			 struct sl_vip_stats *out)
{
	const struct sl_stats_snap *s;

	memset(out, 0, sizeof(*out));
	if (v->vip_id < 0)
		return false;
	if (!d->shm) {
		s = snapshot(d);
		if (!s || (unsigned int)v->vip_id >= s->nv)
			return false;
		*out = s->vips[v->vip_id];
		return true;
	}
	return sl_shm_sum_vip(sl_shm_header(d->shm), (unsigned int)v->vip_id,
			      out) == 0;
}

bool sl_report_backend_stats(const struct sl_daemon *d,
			     const struct sl_backend_rt *b,
			     struct sl_backend_stats *out)
{
	const struct sl_stats_snap *s;

	memset(out, 0, sizeof(*out));
	if (b->backend_id < 0)
		return false;
	if (!d->shm) {
		s = snapshot(d);
		if (!s || (unsigned int)b->backend_id >= s->nb)
			return false;
		*out = s->bes[b->backend_id];
		return true;
	}
	return sl_shm_sum_backend(sl_shm_header(d->shm),
				  (unsigned int)b->backend_id, out) == 0;
}

static void count_vip(const struct sl_vip_rt *v, struct sl_report_counts *c)
{
	unsigned int i;

	for (i = 0; i < v->cfg->n_backends; i++) {
		c->total++;
		switch (sl_daemon_backend_state(&v->backends[i])) {
		case SL_BACKEND_UP:
			c->up++;
			break;
		case SL_BACKEND_DRAINED:
			c->drained++;
			break;
		default:
			c->down++;
			break;
		}
	}
}

void sl_report_count(const struct sl_daemon *d, const struct sl_vip_rt *v,
		     struct sl_report_counts *c)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	if (v) {
		count_vip(v, c);
		return;
	}
	for (i = 0; d->vips && i < d->cfg->n_vips; i++)
		count_vip(&d->vips[i], c);
}

const char *sl_report_addr(char *buf, size_t len, sl_u8 family,
			   const union sl_addr *a)
{
	if (!inet_ntop(family == SL_AF_INET6 ? AF_INET6 : AF_INET, a, buf,
		       (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

const char *sl_report_mode_name(sl_u8 mode)
{
	return mode == SL_DP_XDP ? "xdp" : mode == SL_DP_DPDK ? "dpdk" : "?";
}

#define DROP_NAME(id, name, help) name,
static const char *const drop_names[] = { SL_DROP_LIST(DROP_NAME) };
#undef DROP_NAME

const char *sl_report_drop_name(unsigned int reason)
{
	return reason < SL_DROP_MAX ? drop_names[reason] : NULL;
}
