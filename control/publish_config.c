/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * publish_config.c: publishes a struct sl_config through sl_publish.
 *
 * Role: translate the validated config (host-order ports, config order)
 * into the publisher's input model (sl_pub_vips_from_config, which
 * sluiced's runtime publish uses too) and apply the operator's and health
 * checker's overrides on top. Backends are UP unless an override says
 * otherwise; weight 0 is published as DRAINED by sl_publish. Kept apart
 * from publish.c so the publisher itself never depends on the config
 * format. Called from sluiced's main thread and from tools.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include "config.h"
#include "maglev.h"
#include "publish.h"

void sl_table_params_from_config(const struct sl_config *cfg,
				 struct sl_table_params *params)
{
	const struct sl_config_dataplane *dp = &cfg->dp;

	memset(params, 0, sizeof(*params));
	params->seed = cfg->hash_seed;
	/*
	 * Outer source: dataplane.encap_source(6) when set, whose host bits
	 * vary per flow; else the local address, fixed.
	 */
	if (dp->encap_source_bits) {
		params->encap_src4 = dp->encap_source;
		params->encap_src4_bits = dp->encap_source_bits;
	} else if (dp->local_family == SL_AF_INET) {
		params->encap_src4 = dp->local_address;
		params->encap_src4_bits = 32;
	}
	if (dp->encap_source6_bits) {
		params->encap_src6 = dp->encap_source6;
		params->encap_src6_bits = dp->encap_source6_bits;
	} else if (dp->local6_family == SL_AF_INET6) {
		params->encap_src6 = dp->local_address6;
		params->encap_src6_bits = 128;
	}
	params->gue_port = sl_htons(dp->gue_port);
	params->mtu = dp->mtu;
	params->tcp_timeout = dp->tcp_timeout;
	params->udp_timeout = dp->udp_timeout;
}

void sl_shm_caps_for_config(const struct sl_config *cfg, bool need,
			    struct sl_shm_caps *caps)
{
	sl_u64 m = 0;
	unsigned int i;

	for (i = 0; i < cfg->n_vips; i++)
		m += cfg->vips[i].table_size ? cfg->vips[i].table_size
					     : SL_MAGLEV_M_DEFAULT;
	caps->max_vips = cfg->n_vips ? cfg->n_vips : 1;
	caps->max_backends = sl_config_count_backends(cfg);
	if (!caps->max_backends)
		caps->max_backends = 1;
	caps->max_maglev = m ? (sl_u32)m : 1;
	caps->max_lcores = need ? 1 : SL_MAX_LCORES;
	if (need)
		return;
	caps->max_vips = MAX(2 * caps->max_vips, 64u);
	caps->max_backends = MAX(2 * caps->max_backends, 1024u);
	caps->max_maglev = (sl_u32)MAX(2 * m, 16ULL * SL_MAGLEV_M_DEFAULT);
}

#define PREFETCH_AHEAD 8

int sl_pub_vips_from_config(const struct sl_config *cfg, sl_pub_backend_fn fn,
			    void *arg, struct sl_pub_vip **vips_out,
			    struct sl_pub_backend **bes_out)
{
	struct sl_pub_vip *vips;
	struct sl_pub_backend *bes;
	unsigned int i, j, k = 0;

	*vips_out = NULL;
	*bes_out = NULL;
	vips = calloc(cfg->n_vips + 1, sizeof(*vips));
	bes = calloc(sl_config_count_backends(cfg) + 1, sizeof(*bes));
	if (!vips || !bes) {
		free(vips);
		free(bes);
		return -ENOMEM;
	}
	for (i = 0; i < cfg->n_vips; i++) {
		const struct sl_config_vip *cv = &cfg->vips[i];
		struct sl_pub_vip *v = &vips[i];

		v->name = cv->name;
		v->addr = cv->addr;
		v->family = cv->family;
		v->port = sl_htons(cv->port);
		v->proto = cv->proto;
		v->method = cv->method;
		v->flags = cv->port ? 0 : SL_VIP_F_PORT_ANY;
		if (cfg->dp.fragments == SL_FRAG_DROP)
			v->flags |= SL_VIP_F_FRAG_DROP;
		v->table_size = cv->table_size;
		v->backends = &bes[k];
		v->n_backends = cv->n_backends;
		for (j = 0; j < cv->n_backends; j++, k++) {
			const struct sl_config_backend *cb = &cv->backends[j];
			struct sl_pub_backend *b = &bes[k];

			/*
			 * A config backend is over a kilobyte (its check):
			 * every one is a cache and often a TLB miss, and this
			 * runs on every publish.
			 */
			if (j + PREFETCH_AHEAD < cv->n_backends)
				__builtin_prefetch(
					&cv->backends[j + PREFETCH_AHEAD]);

			b->addr = cb->addr;
			b->family = cb->family;
			b->port = sl_htons(cb->port);
			b->weight = cb->weight;
			b->state = SL_BACKEND_UP;
			if (cb->has_mac)
				memcpy(b->mac, cb->mac, sizeof(b->mac));
			if (fn)
				fn(arg, i, j, b);
		}
	}
	*vips_out = vips;
	*bes_out = bes;
	return 0;
}

struct overrides {
	const struct sl_config *cfg;
	const struct sl_pub_override *ov;
	unsigned int n;
};

static bool override_matches(const struct sl_pub_override *o,
			     const struct sl_config_vip *v,
			     const struct sl_pub_backend *b)
{
	/* The name last: this runs for every backend and override. */
	if (o->family != b->family)
		return false;
	if (o->family == SL_AF_INET ? o->addr.v4 != b->addr.v4
				    : memcmp(&o->addr, &b->addr, 16) != 0)
		return false;
	if (o->port && o->port != b->port)
		return false;
	return !o->vip || strcmp(o->vip, v->name) == 0;
}

/* sl_pub_backend_fn: every matching override, in order, on b. */
static void apply_overrides(void *arg, unsigned int vip, unsigned int be,
			    struct sl_pub_backend *b)
{
	const struct overrides *o = arg;
	unsigned int i;

	for (i = 0; i < o->n; i++) {
		if (!override_matches(&o->ov[i], &o->cfg->vips[vip], b))
			continue;
		if (o->ov[i].state)
			b->state = o->ov[i].state;
		if (o->ov[i].weight >= 0)
			b->weight = (sl_u32)o->ov[i].weight;
	}
}

int sl_publish_config(struct sl_publisher *p, const struct sl_config *cfg,
		      const struct sl_pub_override *ov, unsigned int n_ov,
		      char *err, size_t errlen)
{
	struct overrides o = { cfg, ov, n_ov };
	struct sl_table_params params;
	struct sl_pub_vip *vips;
	struct sl_pub_backend *bes;
	int rc;

	rc = sl_pub_vips_from_config(cfg, apply_overrides, &o, &vips, &bes);
	if (rc) {
		snprintf(err, errlen, "publish: out of memory");
		return rc;
	}
	sl_table_params_from_config(cfg, &params);
	rc = sl_publish(p, vips, cfg->n_vips, &params, err, errlen);
	free(vips);
	free(bes);
	return rc;
}

int sl_pub_override_parse(const char *s, struct sl_pub_override *o)
{
	char buf[128];
	char *port = NULL, *end;
	unsigned long v;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if (buf[0] == '[') {
		end = strchr(buf, ']');
		if (!end)
			return -1;
		*end = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return -1;
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	} else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':')) {
		port = strchr(buf, ':');
		*port++ = '\0';
	}
	memset(&o->addr, 0, sizeof(o->addr));
	if (inet_pton(AF_INET, buf, &o->addr.v4) == 1)
		o->family = SL_AF_INET;
	else if (inet_pton(AF_INET6, buf, o->addr.b) == 1)
		o->family = SL_AF_INET6;
	else
		return -1;
	o->port = 0;
	if (port) {
		v = strtoul(port, &end, 10);
		if (!*port || *end || v == 0 || v > 65535)
			return -1;
		o->port = sl_htons((sl_u16)v);
	}
	return 0;
}
