/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_rules.c: walks a parsed libconfig tree from the root with the
 * schema of config_schema.c and checks the rules that span several
 * settings: dpdk-only and xdp-only settings, the address families a VIP may
 * forward to, duplicate interfaces, VIPs and backends, what dpdk mode needs
 * for IPv6 backends, and the size of each VIP's table against its backends.
 * It also merges each VIP's health-check template with a backend's override
 * and applies the health-check defaults.
 *
 * The first error wins, in the order config.c describes; within a group,
 * its rules come after its own settings. Called through cfg_parse_root()
 * from config.c; no global state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "maglev.h"

/* ---- dataplane and control ---------------------------------------------- */

static int dataplane_rules(struct ctx *c, const config_setting_t *g,
			   const config_setting_t **seen)
{
	static const int dpdk_only[] = { D_EAL, D_GATEWAY, D_GATEWAY6,
					 D_GATEWAY_MAC };
	struct sl_config_dataplane *dp = &c->cfg->dp;
	unsigned int i, j;

	for (i = 1; i < dp->n_interfaces; i++)
		for (j = 0; j < i; j++)
			if (!strcmp(dp->interfaces[i], dp->interfaces[j])) {
				size_t old = cfg_path_push(c, "interfaces");
				int r;

				cfg_path_push_index(c, i);
				r = fail(c,
					 config_setting_get_elem(
						 seen[D_INTERFACES], i),
					 "\"%s\" is listed twice",
					 dp->interfaces[i]);
				cfg_path_pop(c, old);
				return r;
			}
	if (dp->mode == SL_DP_XDP) {
		for (i = 0; i < SL_ARRAY_SIZE(dpdk_only); i++)
			if (seen[dpdk_only[i]])
				return cfg_failk(
					c, seen[dpdk_only[i]],
					cfg_dp_keys[dpdk_only[i]].name,
					"only used in dpdk mode (xdp mode "
					"finds next hops with the kernel's "
					"FIB)");
		if (!seen[D_XDP_MODE])
			dp->xdp_mode = SL_XDP_NATIVE;
		return 0;
	}
	if (seen[D_XDP_MODE])
		return cfg_failk(c, seen[D_XDP_MODE], "xdp_mode",
				 "only used in xdp mode");
	if (!seen[D_GATEWAY])
		return cfg_failk(c, g, "gateway", "required in dpdk mode");
	if (!seen[D_LOCAL])
		return cfg_failk(c, g, "local_address",
				 "required in dpdk mode");
	return 0;
}

static int parse_dataplane(struct ctx *c, const config_setting_t *g)
{
	const config_setting_t *seen[D_N], *fseen[F_N];
	size_t old = cfg_path_push(c, "dataplane");
	int r;

	r = cfg_walk(c, g, cfg_dp_keys, D_N, &c->cfg->dp, seen);
	if (!r) {
		size_t old2 = cfg_path_push(c, "flow_table");

		r = cfg_walk(c, seen[D_FLOW_TABLE], cfg_flow_keys, F_N,
			     &c->cfg->dp, fseen);
		cfg_path_pop(c, old2);
	}
	if (!r)
		r = dataplane_rules(c, g, seen);
	cfg_path_pop(c, old);
	return r;
}

static int parse_control(struct ctx *c, const config_setting_t *g)
{
	struct sl_config_control *ctl = &c->cfg->ctl;
	const config_setting_t *seen[C_N];
	size_t old = cfg_path_push(c, "control");
	int r;

	r = cfg_walk(c, g, cfg_control_keys, C_N, ctl, seen);
	if (!r && !seen[C_SOCKET])
		snprintf(ctl->socket, sizeof(ctl->socket),
			 "/run/sluice/%s.sock", c->cfg->instance);
	cfg_path_pop(c, old);
	return r;
}

/* ---- health checks: the VIP's template, each backend's override ---------- */

/* One level of health-check settings, as written. */
struct hc_layer {
	struct sl_config_hc v;
	const config_setting_t *seen[H_N];
	const config_setting_t *anchor; /* the group, or the one that would
					 * hold it */
	bool present;
	char path[300];
};

static int hc_parse_layer(struct ctx *c, const config_setting_t *g,
			  const config_setting_t *parent, struct hc_layer *l)
{
	size_t old = cfg_path_push(c, "healthcheck");
	int r;

	memset(&l->v, 0, sizeof(l->v));
	snprintf(l->path, sizeof(l->path), "%s", c->path);
	l->anchor = g ? g : parent;
	l->present = g != NULL;
	r = cfg_walk(c, g, cfg_hc_keys, H_N, &l->v, l->seen);
	cfg_path_pop(c, old);
	return r;
}

static int __attribute__((format(printf, 4, 5)))
hc_fail(struct ctx *c, const struct hc_layer *l, int key, const char *fmt, ...)
{
	const config_setting_t *s = l->seen[key] ? l->seen[key] : l->anchor;
	char path[320];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cfg_vfailp(
		c, s,
		cfg_join(path, sizeof(path), l->path, cfg_hc_keys[key].name),
		fmt, ap);
	va_end(ap);
	return r;
}

static bool hc_key_applies(int key, sl_u8 type)
{
	if (key == H_TYPE)
		return true;
	if (type == SL_HC_NONE)
		return false;
	if (key == H_PATH || key == H_EXPECT)
		return type == SL_HC_HTTP;
	if (key == H_PAYLOAD || key == H_EXPECT_PAYLOAD)
		return type == SL_HC_UDP;
	return true;
}

/*
 * Merge layers[0..n) (the later wins key by key), apply the defaults, check
 * what the last layer says against the result, and write the effective check
 * to out. be is the backend the check is for (port resolution), or NULL for
 * the VIP's template.
 */
static int hc_resolve(struct ctx *c, const struct sl_config_vip *v,
		      const struct hc_layer *const *layers, int n,
		      const struct sl_config_backend *be,
		      const config_setting_t *be_g, struct sl_config_hc *out)
{
	const struct hc_layer *top = layers[n - 1];
	struct sl_config_hc h;
	int i, k;

	memset(&h, 0, sizeof(h));
	for (i = 0; i < n; i++)
		for (k = 0; k < H_N; k++)
			if (layers[i]->seen[k])
				memcpy((char *)&h + cfg_hc_keys[k].off,
				       (const char *)&layers[i]->v +
					       cfg_hc_keys[k].off,
				       cfg_hc_keys[k].size);
	if (!h.type) {
		if (v->proto == SL_IPPROTO_UDP && top->present)
			return hc_fail(c, top, H_TYPE,
				       "required for a udp VIP");
		if (v->proto == SL_IPPROTO_UDP)
			return cfg_failp(
				c, top->anchor, top->path,
				"required for a udp VIP (type \"udp\" "
				"with a payload, \"tcp\" or \"none\")");
		h.type = SL_HC_TCP;
	}
	for (k = 0; k < H_N; k++)
		if (top->seen[k] && !hc_key_applies(k, h.type))
			return hc_fail(
				c, top, k,
				"not used by health checks of "
				"type \"%s\"",
				cfg_enum_name(cfg_hc_type_names, h.type));
	if (h.type == SL_HC_NONE) {
		memset(&h, 0, sizeof(h));
		h.type = SL_HC_NONE;
		*out = h;
		return 0;
	}
	if (!h.interval_ms)
		h.interval_ms = 1000;
	if (!h.timeout_ms)
		h.timeout_ms = h.interval_ms < 500 ? h.interval_ms : 500;
	if (!h.rise)
		h.rise = 2;
	if (!h.fall)
		h.fall = 3;
	if (h.timeout_ms > h.interval_ms) {
		if (top->seen[H_TIMEOUT] || !top->seen[H_INTERVAL])
			return hc_fail(c, top, H_TIMEOUT,
				       "%u is more than "
				       "interval_ms %u",
				       h.timeout_ms, h.interval_ms);
		return hc_fail(c, top, H_INTERVAL,
			       "%u is less than timeout_ms %u", h.interval_ms,
			       h.timeout_ms);
	}
	if (h.type == SL_HC_HTTP) {
		if (!h.path[0])
			strcpy(h.path, "/");
		if (!h.expect)
			h.expect = 200;
	} else {
		memset(h.path, 0, sizeof(h.path));
		h.expect = 0;
	}
	if (h.type == SL_HC_UDP) {
		if (!h.payload[0])
			return hc_fail(c, top, H_PAYLOAD,
				       "required for type \"udp\"");
	} else {
		memset(h.payload, 0, sizeof(h.payload));
		memset(h.expect_payload, 0, sizeof(h.expect_payload));
	}
	if (be && !h.port && !(h.port = be->port))
		return fail(c, be_g,
			    "no port to health-check: the VIP is "
			    "port-agnostic, so set port or healthcheck.port");
	*out = h;
	return 0;
}

/* ---- VIPs and backends -------------------------------------------------- */

static const char *fmt_addr(char *buf, size_t len, sl_u8 family,
			    const union sl_addr *a, sl_u16 port)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family == SL_AF_INET6 ? AF_INET6 : AF_INET, a, ip,
		  sizeof(ip));
	if (family == SL_AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
	return buf;
}

static bool same_addr(sl_u8 fa, const union sl_addr *a, sl_u8 fb,
		      const union sl_addr *b)
{
	return fa == fb && !memcmp(a, b, sizeof(*a));
}

/* The address families a VIP may forward to, see DESIGN.md "ipip". */
static int backend_family(struct ctx *c, const struct sl_config_vip *v,
			  unsigned int j, const config_setting_t *as)
{
	const struct sl_config_backend *b = &v->backends[j];

	if (v->family == SL_AF_INET6 && b->family == SL_AF_INET)
		return cfg_failk(c, as, "address",
				 "IPv4 backend for an IPv6 VIP "
				 "(IPv6-in-IPv4 is not supported)");
	if (v->method == SL_METHOD_L2DSR && b->family != v->family)
		return cfg_failk(c, as, "address",
				 "IPv6 backend for an IPv4 VIP: "
				 "l2dsr backends must be in the VIP's family");
	if (j > 0 && b->family != v->backends[0].family)
		return cfg_failk(
			c, as, "address",
			"%s backend, but backends[0] is "
			"%s: all backends of a VIP must share one family",
			b->family == SL_AF_INET ? "IPv4" : "IPv6",
			b->family == SL_AF_INET ? "IPv6" : "IPv4");
	return 0;
}

static int parse_backend(struct ctx *c, struct sl_config_vip *v, unsigned int j,
			 const config_setting_t *g, const struct hc_layer *tmpl)
{
	struct sl_config_backend *b = &v->backends[j];
	const config_setting_t *seen[B_N];
	const struct hc_layer *layers[2] = { tmpl, NULL };
	struct hc_layer own;
	char buf[64];
	unsigned int k;
	int r;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "expected a group { ... }, not %s",
			    cfg_type_name(g));
	r = cfg_walk(c, g, cfg_backend_keys, B_N, b, seen);
	if (r)
		return r;
	if (!seen[B_PORT])
		b->port = v->port;
	if (seen[B_MAC] && v->method != SL_METHOD_L2DSR)
		return cfg_failk(c, seen[B_MAC], "mac",
				 "only used by method "
				 "\"l2dsr\" (this VIP uses \"%s\")",
				 cfg_enum_name(cfg_method_names, v->method));
	r = backend_family(c, v, j, seen[B_ADDRESS]);
	if (r)
		return r;
	for (k = 0; k < j; k++)
		if (same_addr(b->family, &b->addr, v->backends[k].family,
			      &v->backends[k].addr) &&
		    b->port == v->backends[k].port)
			return fail(c, g,
				    "same address and port as backends[%u] "
				    "(%s)",
				    k,
				    fmt_addr(buf, sizeof(buf), b->family,
					     &b->addr, b->port));
	if (!seen[B_HEALTHCHECK])
		return hc_resolve(c, v, layers, 1, b, g, &b->hc);
	r = hc_parse_layer(c, seen[B_HEALTHCHECK], g, &own);
	layers[1] = &own;
	return r ? r : hc_resolve(c, v, layers, 2, b, g, &b->hc);
}

static int parse_backends(struct ctx *c, struct sl_config_vip *v,
			  const config_setting_t *list,
			  const struct hc_layer *tmpl)
{
	unsigned int n = (unsigned int)config_setting_length(list), j;
	size_t old = cfg_path_push(c, "backends");
	int r = 0;

	if (n > SL_MAGLEV_N_MAX) {
		r = fail(c, list, "%u backends, at most %u", n,
			 SL_MAGLEV_N_MAX);
		goto out;
	}
	v->backends = calloc(n ? n : 1, sizeof(*v->backends));
	if (!v->backends) {
		c->nomem = true;
		r = -ENOMEM;
		goto out;
	}
	for (j = 0; j < n && !r; j++) {
		size_t old2 = cfg_path_push_index(c, j);

		r = parse_backend(c, v, j, config_setting_get_elem(list, j),
				  tmpl);
		cfg_path_pop(c, old2);
	}
	v->n_backends = n;
out:
	cfg_path_pop(c, old);
	return r;
}

/* Another VIP with this name or identity is an error at this one. */
static int vip_unique(struct ctx *c, unsigned int i, const config_setting_t *g,
		      const config_setting_t **seen)
{
	const struct sl_config_vip *v = &c->cfg->vips[i], *w;
	char buf[64];
	unsigned int k;

	for (k = 0; k < i; k++) {
		w = &c->cfg->vips[k];
		if (!strcmp(v->name, w->name))
			return cfg_failk(c, seen[V_NAME], "name",
					 "\"%s\" is already "
					 "the name of vips[%u]",
					 v->name, k);
		if (same_addr(v->family, &v->addr, w->family, &w->addr) &&
		    v->port == w->port && v->proto == w->proto)
			return fail(c, g,
				    "same address, port and protocol as "
				    "vips[%u] \"%s\" (%s %s)",
				    k, w->name,
				    fmt_addr(buf, sizeof(buf), v->family,
					     &v->addr, v->port),
				    cfg_enum_name(cfg_proto_names, v->proto));
	}
	return 0;
}

static void vip_warnings(struct ctx *c, const struct sl_config_vip *v,
			 const config_setting_t *g,
			 const config_setting_t **seen)
{
	const config_setting_t *at =
		seen[V_TABLE_SIZE] ? seen[V_TABLE_SIZE] : g;
	char path[320];
	sl_u32 m;

	if (v->n_backends == 0) {
		cfg_warnp(c, seen[V_BACKENDS],
			  cfg_join(path, sizeof(path), c->path, "backends"),
			  "no backends: traffic to this VIP is dropped");
		return;
	}
	if (sl_maglev_size_ok(v->table_size, v->n_backends))
		return;
	for (m = 100 * v->n_backends; !sl_maglev_is_prime(m); m++)
		;
	cfg_warnp(
		c, at, cfg_join(path, sizeof(path), c->path, "table_size"),
		"%u is less than 100 x the number of backends (%u): shares may "
		"stray more than 1%% from the weights (a prime >= %u fixes "
		"that)",
		v->table_size, v->n_backends, m);
}

static int parse_vip(struct ctx *c, unsigned int i, const config_setting_t *g)
{
	struct sl_config_vip *v = &c->cfg->vips[i];
	const config_setting_t *seen[V_N];
	struct hc_layer tmpl;
	int r;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "expected a group { ... }, not %s",
			    cfg_type_name(g));
	r = cfg_walk(c, g, cfg_vip_keys, V_N, v, seen);
	if (!r)
		r = vip_unique(c, i, g, seen);
	if (!r)
		r = hc_parse_layer(c, seen[V_HEALTHCHECK], g, &tmpl);
	if (!r) {
		const struct hc_layer *layers[1] = { &tmpl };

		r = hc_resolve(c, v, layers, 1, NULL, g, &v->hc);
	}
	if (!r)
		r = parse_backends(c, v, seen[V_BACKENDS], &tmpl);
	if (r)
		return r;
	if (v->n_backends > v->table_size)
		return cfg_failk(c, seen[V_TABLE_SIZE] ? seen[V_TABLE_SIZE] : g,
				 "table_size",
				 "%u is less than the number of "
				 "backends (%u)",
				 v->table_size, v->n_backends);
	vip_warnings(c, v, g, seen);
	return 0;
}

static int parse_vips(struct ctx *c, const config_setting_t *list)
{
	struct sl_config *cfg = c->cfg;
	unsigned int n = (unsigned int)config_setting_length(list), i;
	size_t old = cfg_path_push(c, "vips");
	int r = 0;

	if (n > SL_CONFIG_VIPS_MAX) {
		r = fail(c, list, "%u VIPs, at most %u", n, SL_CONFIG_VIPS_MAX);
		goto out;
	}
	cfg->vips = calloc(n ? n : 1, sizeof(*cfg->vips));
	if (!cfg->vips) {
		c->nomem = true;
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n && !r; i++) {
		size_t old2 = cfg_path_push_index(c, i);

		cfg->n_vips = i + 1; /* so that free() finds its backends */
		r = parse_vip(c, i, config_setting_get_elem(list, i));
		cfg_path_pop(c, old2);
	}
out:
	cfg_path_pop(c, old);
	return r;
}

/*
 * In dpdk mode the dataplane builds outer IPv6 headers itself, so a VIP that
 * encapsulates to IPv6 backends needs an IPv6 source and next hop.
 */
static int encap_needs(struct ctx *c, const config_setting_t *dpg)
{
	const struct sl_config *cfg = c->cfg;
	unsigned int i;

	if (cfg->dp.mode != SL_DP_DPDK)
		return 0;
	for (i = 0; i < cfg->n_vips; i++) {
		const struct sl_config_vip *v = &cfg->vips[i];

		if (v->method == SL_METHOD_L2DSR || !v->n_backends ||
		    v->backends[0].family != SL_AF_INET6)
			continue;
		if (!cfg->dp.local6_family)
			return cfg_failp(
				c, dpg, "dataplane.local_address6",
				"required in dpdk mode: vips[%u] \"%s\" "
				"sends to IPv6 backends",
				i, v->name);
		if (!cfg->dp.gateway6_family)
			return cfg_failp(
				c, dpg, "dataplane.gateway6",
				"required in dpdk mode: vips[%u] \"%s\" "
				"sends to IPv6 backends",
				i, v->name);
	}
	return 0;
}

int cfg_parse_root(struct ctx *c, const config_setting_t *root)
{
	const config_setting_t *seen[R_N];
	int r;

	/* Groups first, so that an error inside one is not hidden by a
	 * missing setting further down. */
	r = cfg_walk_keys(c, root, cfg_root_keys, R_N, c->cfg, seen);
	if (!r && seen[R_DATAPLANE])
		r = parse_dataplane(c, seen[R_DATAPLANE]);
	if (!r)
		r = parse_control(c, seen[R_CONTROL]);
	if (!r && seen[R_VIPS])
		r = parse_vips(c, seen[R_VIPS]);
	if (!r)
		r = cfg_require(c, root, cfg_root_keys, R_N, seen);
	if (!r)
		r = encap_needs(c, seen[R_DATAPLANE]);
	return r;
}
