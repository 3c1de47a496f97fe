/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daemon.c: sluiced's runtime state and what changes it: health verdicts
 * and operator actions (drain, weight), and publishing the result (reloads
 * are in reload.c).
 *
 * Invariants:
 *  - d->vips[i] belongs to d->cfg->vips[i] and .backends[j] to its
 *    backends[j]; both are replaced together, by a reload, after the health
 *    checks of the new array are running and before the old one is freed;
 *  - what the dataplane gets for a backend is a pure function of its
 *    runtime state (sl_daemon_backend_state/_weight), so a publish can be
 *    rebuilt from scratch at any time; the publisher keeps ids stable and
 *    rebuilds only the Maglev tables whose inputs changed;
 *  - changes are coalesced: a change arms publish_timer (at most one publish
 *    per publish_min_gap_ns); a publish never waits for the dataplane
 *    (wait 0): -EAGAIN re-arms the timer a few ms later, and a dataplane
 *    that is gone is not waited for by the publisher at all.
 * Loop thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "daemon.h"
#include "report.h"
#include "health.h"
#include "publish.h"

#define MS 1000000ULL
#define PUBLISH_RETRY_NS (2 * MS)
#define PUBLISH_RETRY_SLOW_NS (20 * MS)
#define PUBLISH_STALL_LOG_NS (1000 * MS)
#define PUBLISH_FAIL_RETRY_NS (1000 * MS)
#define HEARTBEAT_NS (500 * MS)

/* ---- logging ---- */

static bool log_syslog;
static void (*log_hook)(int prio, const char *line, void *arg);
static void *log_hook_arg;

void sl_log_init(bool use_syslog)
{
	log_syslog = use_syslog;
	if (use_syslog)
		openlog("sluiced", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void sl_log_set_hook(void (*fn)(int prio, const char *line, void *arg),
		     void *arg)
{
	log_hook = fn;
	log_hook_arg = arg;
}

void sl_log(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_hook)
		log_hook(prio, line, log_hook_arg);
	if (log_syslog)
		syslog(prio, "%s", line);
	else
		fprintf(stderr, "%s\n", line);
}

sl_u64 sl_now_ns(void)
{
	return sl_loop_now_ns();
}

/* ---- names ---- */

static const char *addr_port(sl_u8 family, const union sl_addr *a, sl_u16 port,
			     bool any, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == SL_AF_INET6 ? AF_INET6 : AF_INET, a, s, sizeof(s));
	if (any)
		snprintf(buf, len, family == SL_AF_INET6 ? "[%s]:*" : "%s:*",
			 s);
	else
		snprintf(buf, len, family == SL_AF_INET6 ? "[%s]:%u" : "%s:%u",
			 s, port);
	return buf;
}

const char *sl_daemon_vip_str(const struct sl_vip_rt *v, char *buf, size_t len)
{
	return addr_port(v->cfg->family, &v->cfg->addr, v->cfg->port,
			 !v->cfg->port, buf, len);
}

const char *sl_daemon_backend_str(const struct sl_backend_rt *b, char *buf,
				  size_t len)
{
	return addr_port(b->cfg->family, &b->cfg->addr, b->cfg->port,
			 !b->cfg->port, buf, len);
}

const char *sl_daemon_health_name(sl_u8 health)
{
	switch (health) {
	case SL_HC_UP:
		return "up";
	case SL_HC_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

const char *sl_daemon_state_name(sl_u8 state)
{
	switch (state) {
	case SL_BACKEND_UP:
		return "up";
	case SL_BACKEND_DRAINED:
		return "drained";
	case SL_BACKEND_DOWN:
		return "down";
	default:
		return "unused";
	}
}

/* ---- state ---- */

sl_u8 sl_daemon_backend_state(const struct sl_backend_rt *b)
{
	if (b->health == SL_HC_DOWN)
		return SL_BACKEND_DOWN;
	if (b->drained)
		return SL_BACKEND_DRAINED;
	return SL_BACKEND_UP; /* unknown counts as up: optimistic start */
}

sl_u32 sl_daemon_backend_weight(const struct sl_backend_rt *b)
{
	return b->weight_override >= 0 ? (sl_u32)b->weight_override
				       : b->cfg->weight;
}

static void log_backend(const struct sl_vip_rt *v,
			const struct sl_backend_rt *b, const char *what)
{
	char vs[64], bs[64];

	sl_log(LOG_NOTICE, "vip %s %s: backend %s %s", v->cfg->name,
	       sl_daemon_vip_str(v, vs, sizeof(vs)),
	       sl_daemon_backend_str(b, bs, sizeof(bs)), what);
}

void sl_daemon_backend_changed(struct sl_daemon *d, struct sl_vip_rt *v,
			       struct sl_backend_rt *b)
{
	b->last_change_ns = sl_now_ns();
	sl_daemon_schedule_publish(d);
}

/* ---- the published table: ids and restart ---- */

/* Identity of a backend in a slot: (vip id, family, address, port). */
struct be_key {
	union sl_addr addr;
	sl_u32 vip_id;
	sl_be16 port;
	sl_u8 family;
	sl_u8 pad;
};

struct id_map {
	sl_u32 *slot; /* backend id + 1, 0 = empty */
	sl_u32 mask;
	const struct sl_backend_entry *be;
};

static sl_u32 be_key_hash(const struct be_key *k)
{
	sl_u32 h = k->addr.w[0] ^ k->addr.w[1] ^ k->addr.w[2] ^ k->addr.w[3];

	h ^= k->vip_id * 0x85ebca6bu ^ ((sl_u32)k->port << 16) ^ k->family;
	h *= 0x9e3779b1u;
	return h ^ (h >> 16);
}

static void be_key_of(const struct sl_backend_entry *e, struct be_key *k)
{
	memset(k, 0, sizeof(*k));
	k->addr = e->addr;
	k->vip_id = e->vip_id;
	k->port = e->port;
	k->family = e->family;
}

static int id_map_build(struct id_map *m, const struct sl_table_hdr *t)
{
	const struct sl_backend_entry *be = sl_table_backends(t);
	sl_u32 size = 16, i, j;
	struct be_key k;

	while (size < 2 * t->n_backends)
		size *= 2;
	m->slot = calloc(size, sizeof(*m->slot));
	if (!m->slot)
		return -ENOMEM;
	m->mask = size - 1;
	m->be = be;
	for (i = 0; i < t->n_backends; i++) {
		if (be[i].state == SL_BACKEND_UNUSED)
			continue;
		be_key_of(&be[i], &k);
		for (j = be_key_hash(&k) & m->mask; m->slot[j];
		     j = (j + 1) & m->mask)
			;
		m->slot[j] = i + 1;
	}
	return 0;
}

static int id_map_find(const struct id_map *m, const struct be_key *k)
{
	struct be_key o;
	sl_u32 j;

	for (j = be_key_hash(k) & m->mask; m->slot[j]; j = (j + 1) & m->mask) {
		be_key_of(&m->be[m->slot[j] - 1], &o);
		if (!memcmp(&o, k, sizeof(o)))
			return (int)m->slot[j] - 1;
	}
	return -1;
}

static int vip_id_in(const struct sl_table_hdr *t, const struct sl_vip_rt *v)
{
	struct sl_vip_key k;
	sl_u16 id;

	memset(&k, 0, sizeof(k));
	k.addr = v->cfg->addr;
	k.port = sl_htons(v->cfg->port);
	k.proto = v->cfg->proto;
	k.family = v->cfg->family;
	id = sl_table_vip_lookup(t, &k);
	return id >= SL_VIP_AMBIGUOUS ? -1 : id;
}

/*
 * Ids of every VIP and backend in the active slot (after a publish, or
 * the state of a restarted daemon). restore: take health, drain and
 * weight from the table too, so a restart publishes what was published.
 */
/* The published tables: shared memory, or XDP mode's table file. */
static struct sl_shm_header *tables(struct sl_daemon *d)
{
	if (d->shm)
		return sl_shm_header(d->shm);
	return d->tables_fn ? d->tables_fn(d) : NULL;
}

static int read_slot(struct sl_daemon *d, bool restore)
{
	struct sl_shm_header *h = tables(d);
	sl_u64 gen = h ? __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE) : 0;
	const struct sl_table_hdr *t;
	struct id_map m;
	unsigned int i, j;
	struct be_key k;
	int rc;

	if (!gen)
		return 0;
	t = sl_table_slot(h, gen);
	rc = id_map_build(&m, t);
	if (rc)
		return rc;
	for (i = 0; i < d->cfg->n_vips; i++) {
		struct sl_vip_rt *v = &d->vips[i];

		v->vip_id = vip_id_in(t, v);
		for (j = 0; j < v->cfg->n_backends; j++) {
			struct sl_backend_rt *b = &v->backends[j];
			const struct sl_backend_entry *e;

			b->backend_id = -1;
			if (v->vip_id < 0)
				continue;
			memset(&k, 0, sizeof(k));
			k.addr = b->cfg->addr;
			k.vip_id = (sl_u32)v->vip_id;
			k.port = sl_htons(b->cfg->port);
			k.family = b->cfg->family;
			b->backend_id = id_map_find(&m, &k);
			if (!restore || b->backend_id < 0)
				continue;
			e = &m.be[b->backend_id];
			if (e->weight != b->cfg->weight)
				b->weight_override = e->weight;
			if (e->state == SL_BACKEND_DOWN) {
				b->health = SL_HC_DOWN;
				b->fail_in_row = b->cfg->hc.fall;
			} else if (e->state == SL_BACKEND_UP) {
				b->health = SL_HC_UP;
				b->ok_in_row = b->cfg->hc.rise;
			} else if (e->state == SL_BACKEND_DRAINED &&
				   e->weight) {
				b->drained = true; /* by the operator */
			}
		}
	}
	free(m.slot);
	return 0;
}

/* ---- publishing ---- */

/* sl_pub_backend_fn: the backend's runtime weight and state. */
static void pub_backend_rt(void *arg, unsigned int vip, unsigned int be,
			   struct sl_pub_backend *b)
{
	const struct sl_daemon *d = arg;
	const struct sl_backend_rt *rb = &d->vips[vip].backends[be];

	b->weight = sl_daemon_backend_weight(rb);
	b->state = sl_daemon_backend_state(rb);
}

/* The publisher's input from the runtime state, O(backends). */
static int build_pub(struct sl_daemon *d)
{
	free(d->pub_vips);
	free(d->pub_bes);
	return sl_pub_vips_from_config(d->cfg, pub_backend_rt, d, &d->pub_vips,
				       &d->pub_bes);
}

static int publish_once(struct sl_daemon *d, char *err, size_t errlen)
{
	struct sl_table_params params;
	int rc;

	if (d->publish_fn)
		return d->publish_fn(d, err, errlen);
	if (!d->pub)
		return 0;
	if (!sl_publish_ready(d->pub)) {
		snprintf(err, errlen,
			 "the dataplane has not yet moved to "
			 "generation %llu",
			 (unsigned long long)d->gen);
		return -EAGAIN;
	}
	rc = build_pub(d);
	if (rc) {
		snprintf(err, errlen, "publish: out of memory");
		return rc;
	}
	sl_table_params_from_config(d->cfg, &params);
	rc = sl_publish(d->pub, d->pub_vips, d->cfg->n_vips, &params, err,
			errlen);
	if (rc)
		return rc;
	return read_slot(d, false);
}

static void on_publish(struct sl_loop *l, void *arg)
{
	struct sl_daemon *d = arg;
	char err[512] = "";
	sl_u64 now = sl_now_ns();
	int rc;

	if (!d->publish_pending)
		return;
	rc = publish_once(d, err, sizeof(err));
	if (!rc) {
		if (d->pub) {
			struct sl_publish_info info;

			sl_publisher_info(d->pub, &info);
			d->gen = info.gen;
		} else {
			d->gen++;
		}
		if (d->publish_stall_logged || d->last_publish_error[0])
			sl_log(LOG_NOTICE,
			       "published generation %llu after "
			       "%llu ms",
			       (unsigned long long)d->gen,
			       (unsigned long long)((now -
						     d->pending_since_ns) /
						    MS));
		d->publish_pending = false;
		d->publish_stall_logged = false;
		d->last_publish_error[0] = 0;
		d->publishes++;
		d->last_publish_ns = now;
		return;
	}
	if (rc == -EAGAIN) {
		/* The dataplane is between generations: normal, brief. */
		d->publish_retries++;
		if (!d->publish_stall_logged &&
		    now - d->pending_since_ns >= PUBLISH_STALL_LOG_NS) {
			sl_log(LOG_WARNING, "publish delayed: %s", err);
			d->publish_stall_logged = true;
		}
		sl_timer_start(l, &d->publish_timer,
			       now - d->pending_since_ns < 100 * MS
				       ? PUBLISH_RETRY_NS
				       : PUBLISH_RETRY_SLOW_NS);
		return;
	}
	d->publish_failures++;
	if (strcmp(err, d->last_publish_error) != 0)
		sl_log(LOG_ERR,
		       "publish failed, the dataplane keeps generation "
		       "%llu: %s",
		       (unsigned long long)d->gen, err);
	snprintf(d->last_publish_error, sizeof(d->last_publish_error), "%s",
		 err);
	sl_timer_start(l, &d->publish_timer, PUBLISH_FAIL_RETRY_NS);
}

void sl_daemon_schedule_publish(struct sl_daemon *d)
{
	sl_u64 now = sl_now_ns(), next;

	if (!d->publish_pending) {
		d->publish_pending = true;
		d->pending_since_ns = now;
	}
	if (sl_timer_armed(&d->publish_timer) || d->stopping)
		return;
	next = d->last_publish_ns + d->publish_min_gap_ns;
	sl_timer_start(d->loop, &d->publish_timer,
		       d->publishes && next > now ? next - now : 0);
}

static void on_heartbeat(struct sl_loop *l, void *arg)
{
	struct sl_daemon *d = arg;

	sl_shm_heartbeat(d->shm);
	sl_timer_start(l, &d->heartbeat_timer, HEARTBEAT_NS);
}

/* ---- runtime arrays ---- */

void sl_daemon_rt_free(struct sl_vip_rt *vips, unsigned int n)
{
	unsigned int i;

	if (!vips)
		return;
	for (i = 0; i < n; i++)
		free(vips[i].backends);
	free(vips);
}

struct sl_vip_rt *sl_daemon_rt_new(const struct sl_config *cfg)
{
	struct sl_vip_rt *vips = calloc(cfg->n_vips + 1, sizeof(*vips));
	unsigned int i, j;

	if (!vips)
		return NULL;
	for (i = 0; i < cfg->n_vips; i++) {
		const struct sl_config_vip *cv = &cfg->vips[i];

		vips[i].cfg = cv;
		vips[i].vip_id = -1;
		vips[i].backends =
			calloc(cv->n_backends + 1, sizeof(*vips[i].backends));
		if (!vips[i].backends) {
			sl_daemon_rt_free(vips, i + 1);
			return NULL;
		}
		for (j = 0; j < cv->n_backends; j++) {
			struct sl_backend_rt *b = &vips[i].backends[j];

			b->cfg = &cv->backends[j];
			b->health = SL_HC_UNKNOWN;
			b->weight_override = -1;
			b->backend_id = -1;
		}
	}
	return vips;
}

int sl_daemon_start(struct sl_daemon *d, char *err, size_t errlen)
{
	int rc;

	if (!d->publish_min_gap_ns)
		d->publish_min_gap_ns = 10 * MS;
	d->start_ns = sl_now_ns();
	sl_timer_init(&d->publish_timer, on_publish, d);
	sl_timer_init(&d->heartbeat_timer, on_heartbeat, d);
	d->vips = sl_daemon_rt_new(d->cfg);
	if (!d->vips)
		goto nomem;
	/* Shared memory that outlived us, or XDP mode's table file (removed
	 * on a clean exit, so present only after a crash or SIGKILL). */
	if (((d->shm && sl_shm_reattached(d->shm)) || (!d->shm && tables(d))) &&
	    __atomic_load_n(&tables(d)->gen, __ATOMIC_ACQUIRE)) {
		if (read_slot(d, true))
			goto nomem;
		d->restored = true;
		d->gen = tables(d)->gen;
	}
	d->health = sl_health_new(d);
	if (!d->health)
		goto nomem;
	rc = sl_health_start(d->health);
	if (rc)
		goto nomem;
	if (d->shm) {
		sl_shm_heartbeat(d->shm);
		sl_timer_start(d->loop, &d->heartbeat_timer, HEARTBEAT_NS);
	}
	sl_daemon_schedule_publish(d);
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

void sl_daemon_stop(struct sl_daemon *d)
{
	d->stopping = true;
	if (d->health)
		sl_health_free(d->health);
	d->health = NULL;
	if (d->loop) {
		sl_timer_stop(d->loop, &d->publish_timer);
		sl_timer_stop(d->loop, &d->heartbeat_timer);
	}
	if (d->cfg)
		sl_daemon_rt_free(d->vips, d->cfg->n_vips);
	d->vips = NULL;
	sl_config_free(d->cfg);
	d->cfg = NULL;
	free(d->pub_vips);
	free(d->pub_bes);
	d->pub_vips = NULL;
	d->pub_bes = NULL;
	sl_report_free(d);
}

/* ---- operator actions ---- */

struct sl_vip_rt *sl_daemon_find_vip(struct sl_daemon *d, const char *name)
{
	unsigned int i;

	for (i = 0; d->cfg && i < d->cfg->n_vips; i++)
		if (!strcmp(d->vips[i].cfg->name, name))
			return &d->vips[i];
	return NULL;
}

struct backend_spec {
	union sl_addr addr;
	sl_u8 family;
	int port; /* -1: any */
};

/* "203.0.113.11", "203.0.113.11:80", "2001:db8::1", "[2001:db8::1]:80" */
static int parse_spec(const char *spec, struct backend_spec *s)
{
	char a[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *colon = strchr(spec, ':');
	char *end;
	size_t n;

	memset(s, 0, sizeof(*s));
	s->port = -1;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');

		if (!rb || (rb[1] && rb[1] != ':'))
			return -EINVAL;
		n = (size_t)(rb - spec - 1);
		if (rb[1] == ':')
			port = rb + 2;
		spec++;
	} else if (colon && !strchr(colon + 1, ':')) {
		n = (size_t)(colon - spec);
		port = colon + 1;
	} else {
		n = strlen(spec);
	}
	if (n >= sizeof(a))
		return -EINVAL;
	memcpy(a, spec, n);
	a[n] = 0;
	if (inet_pton(AF_INET, a, &s->addr) == 1)
		s->family = SL_AF_INET;
	else if (inet_pton(AF_INET6, a, &s->addr) == 1)
		s->family = SL_AF_INET6;
	else
		return -EINVAL;
	if (port) {
		long p = strtol(port, &end, 10);

		if (!*port || *end || p < 0 || p > 65535)
			return -EINVAL;
		s->port = (int)p;
	}
	return 0;
}

static bool spec_matches(const struct backend_spec *s,
			 const struct sl_backend_rt *b)
{
	return b->cfg->family == s->family &&
	       !memcmp(&b->cfg->addr, &s->addr, sizeof(s->addr)) &&
	       (s->port < 0 || s->port == b->cfg->port);
}

struct sl_backend_rt *sl_daemon_find_backend(struct sl_vip_rt *v,
					     const char *spec)
{
	struct backend_spec s;
	unsigned int j;

	if (parse_spec(spec, &s))
		return NULL;
	for (j = 0; j < v->cfg->n_backends; j++)
		if (spec_matches(&s, &v->backends[j]))
			return &v->backends[j];
	return NULL;
}

/*
 * The backends of vip that spec names (all ports of an address when spec
 * has none), through fn; 0 or -errno with err.
 */
static int for_backends(struct sl_daemon *d, const char *vip, const char *spec,
			char *err, size_t errlen,
			void (*fn)(struct sl_daemon *d, struct sl_vip_rt *v,
				   struct sl_backend_rt *b, long arg),
			long arg)
{
	struct sl_vip_rt *v = sl_daemon_find_vip(d, vip);
	struct backend_spec s;
	unsigned int j, n = 0;

	if (!v) {
		snprintf(err, errlen, "no VIP named \"%s\"", vip);
		return -ENOENT;
	}
	if (parse_spec(spec, &s)) {
		snprintf(err, errlen, "\"%s\" is not ADDRESS or ADDRESS:PORT",
			 spec);
		return -EINVAL;
	}
	for (j = 0; j < v->cfg->n_backends; j++)
		if (spec_matches(&s, &v->backends[j])) {
			fn(d, v, &v->backends[j], arg);
			n++;
		}
	if (!n) {
		snprintf(err, errlen, "vip %s has no backend %s", vip, spec);
		return -ENOENT;
	}
	return 0;
}

static void do_drain(struct sl_daemon *d, struct sl_vip_rt *v,
		     struct sl_backend_rt *b, long drain)
{
	if (b->drained == !!drain)
		return;
	b->drained = !!drain;
	log_backend(v, b,
		    drain ? "drained by the operator"
			  : "undrained by the operator");
	sl_daemon_backend_changed(d, v, b);
}

int sl_daemon_drain(struct sl_daemon *d, const char *vip, const char *backend,
		    bool drain, char *err, size_t errlen)
{
	return for_backends(d, vip, backend, err, errlen, do_drain, drain);
}

static void do_weight(struct sl_daemon *d, struct sl_vip_rt *v,
		      struct sl_backend_rt *b, long w)
{
	char what[64];
	sl_s64 ov = w == (long)b->cfg->weight ? -1 : w;

	if (sl_daemon_backend_weight(b) == (sl_u32)w &&
	    b->weight_override == ov)
		return;
	b->weight_override = ov;
	snprintf(what, sizeof(what), "weight %ld by the operator%s", w,
		 ov < 0 ? " (the config's)" : "");
	log_backend(v, b, what);
	sl_daemon_backend_changed(d, v, b);
}

int sl_daemon_set_weight(struct sl_daemon *d, const char *vip,
			 const char *backend, long weight, char *err,
			 size_t errlen)
{
	if (weight < 0 || weight > 65535) {
		snprintf(err, errlen, "weight %ld is not in 0..65535", weight);
		return -ERANGE;
	}
	return for_backends(d, vip, backend, err, errlen, do_weight, weight);
}
