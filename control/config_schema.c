/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_schema.c: the schema of the sluice config file and the walker that
 * applies it (config.c lists the defaults and the order of errors).
 *
 * Each group of the file has a table of struct key (the keys it may hold,
 * their types, ranges, defaults and where the value goes); one walker applies
 * a table to a group, so an unknown key, a wrong type, a value out of range
 * or a missing required key is reported the same way at every level. The
 * checkers here look at one value at a time (names, addresses, MACs,
 * prefixes, the hash seed, primes, socket and HTTP paths, the metrics
 * address); rules that span several keys are in config_rules.c. Only
 * constant tables; no global state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"
#include "maglev.h"

/* ---- value parsers ------------------------------------------------------ */

static int parse_addr(const char *s, union sl_addr *a, sl_u8 *family)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a) == 1)
		*family = SL_AF_INET;
	else if (inet_pton(AF_INET6, s, a) == 1)
		*family = SL_AF_INET6;
	else
		return -1;
	return 0;
}

/* Exactly six colon-separated pairs of hex digits. */
static int parse_mac(const char *s, sl_u8 mac[6])
{
	unsigned int v[6];
	char end;
	int i;

	if (strlen(s) != 17)
		return -1;
	for (i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':'
			       : !strchr("0123456789abcdefABCDEF", s[i]))
			return -1;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &end) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (sl_u8)v[i];
	return 0;
}

/* Not unspecified, loopback, multicast, broadcast, reserved or v4-mapped. */
static bool is_unicast(sl_u8 family, const union sl_addr *a)
{
	static const sl_u8 zero[16],
		v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family == SL_AF_INET) {
		sl_u8 b0 = a->b[0];

		return b0 != 0 && b0 != 127 && b0 < 224;
	}
	if (!memcmp(a->b, zero, 16) || a->b[0] == 0xff ||
	    !memcmp(a->b, v4mapped, 12))
		return false;
	return !(!memcmp(a->b, zero, 15) && a->b[15] == 1);
}

/* ---- the schema walker -------------------------------------------------- */

static void put_uint(void *p, size_t size, unsigned long long v)
{
	if (size == 1)
		*(sl_u8 *)p = (sl_u8)v;
	else if (size == 2)
		*(sl_u16 *)p = (sl_u16)v;
	else
		*(sl_u32 *)p = (sl_u32)v;
}

static const char *enum_list(char *buf, size_t len, const struct enum_name *e)
{
	size_t n = 0;

	buf[0] = '\0';
	for (; e->name && n < len; e++)
		n += snprintf(buf + n, len - n, "%s\"%s\"", n ? ", " : "",
			      e->name);
	return buf;
}

const char *cfg_enum_name(const struct enum_name *e, sl_u8 val)
{
	for (; e->name; e++)
		if (e->val == val)
			return e->name;
	return "?";
}

static int check_len(struct ctx *c, const config_setting_t *s, const char *str,
		     size_t max)
{
	size_t n = strlen(str);

	if (n == 0)
		return fail(c, s, "must not be empty");
	if (n > max)
		return fail(c, s, "is too long: %zu characters, at most %zu", n,
			    max);
	return 0;
}

static int store_strs(struct ctx *c, const config_setting_t *s,
		      const struct key *k, void *obj)
{
	unsigned int n = (unsigned int)config_setting_length(s), i;
	char *dst = (char *)obj + k->off;
	int r = 0;

	if (n < k->min)
		return fail(c, s, "must not be empty");
	if (n > k->nmax)
		return fail(c, s, "has %u elements, at most %u", n, k->nmax);
	for (i = 0; i < n && !r; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		size_t old = cfg_path_push_index(c, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			r = fail(c, e, "expected a string, not %s",
				 cfg_type_name(e));
		else
			r = check_len(c, e, config_setting_get_string(e),
				      k->size - 1);
		if (!r && k->check)
			r = k->check(c, e, obj);
		if (!r)
			strcpy(dst + i * k->size, config_setting_get_string(e));
		cfg_path_pop(c, old);
	}
	*(unsigned int *)((char *)obj + k->off2) = n;
	return r;
}

static int store_str(struct ctx *c, const config_setting_t *s,
		     const struct key *k, void *obj)
{
	const char *str = config_setting_get_string(s);
	char *dst = (char *)obj + k->off;
	const struct enum_name *e;
	char buf[128];
	int r;

	switch (k->type) {
	case KT_STR:
		r = check_len(c, s, str, k->size - 1);
		if (r)
			return r;
		strcpy(dst, str);
		break;
	case KT_ENUM:
		for (e = k->names; e->name && strcmp(e->name, str); e++)
			;
		if (!e->name)
			return fail(c, s, "\"%s\" is not one of %s", str,
				    enum_list(buf, sizeof(buf), k->names));
		put_uint(dst, k->size, e->val);
		break;
	case KT_ADDR:
		if (parse_addr(str, (union sl_addr *)dst,
			       (sl_u8 *)obj + k->off2))
			return fail(c, s,
				    "\"%s\" is not an IPv4 or IPv6 address",
				    str);
		if (k->fam && *((sl_u8 *)obj + k->off2) != k->fam)
			return fail(c, s, "\"%s\" is not an %s address", str,
				    k->fam == SL_AF_INET ? "IPv4" : "IPv6");
		if (!is_unicast(*((sl_u8 *)obj + k->off2),
				(union sl_addr *)dst))
			return fail(c, s, "\"%s\" is not a unicast address",
				    str);
		break;
	case KT_MAC:
		if (parse_mac(str, (sl_u8 *)dst))
			return fail(c, s,
				    "\"%s\" is not a MAC address "
				    "(like \"02:00:00:00:00:01\")",
				    str);
		if ((dst[0] & 1) || !memcmp(dst, "\0\0\0\0\0\0", 6))
			return fail(c, s, "\"%s\" is not a unicast MAC address",
				    str);
		*(bool *)((char *)obj + k->off2) = true;
		break;
	}
	return 0;
}

static int store(struct ctx *c, const config_setting_t *s, const struct key *k,
		 void *obj)
{
	int t = config_setting_type(s), r = 0;
	long long v;

	switch (k->type) {
	case KT_INT:
		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
			return fail(c, s, "expected an integer, not %s",
				    cfg_type_name(s));
		v = config_setting_get_int64(s);
		if (v < k->min || v > k->max)
			return fail(c, s, "%lld is out of range %lld..%lld", v,
				    k->min, k->max);
		if (k->check)
			r = k->check(c, s, obj);
		if (!r)
			put_uint((char *)obj + k->off, k->size,
				 (unsigned long long)v);
		return r;
	case KT_STRS:
		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
			return fail(c, s,
				    "expected an array of strings "
				    "[ \"...\", ... ], not %s",
				    cfg_type_name(s));
		return store_strs(c, s, k, obj);
	case KT_GROUP:
		if (t != CONFIG_TYPE_GROUP)
			return fail(c, s, "expected a group { ... }, not %s",
				    cfg_type_name(s));
		return 0;
	case KT_LIST:
		/* "x = [];" is how some write an empty list */
		if (t != CONFIG_TYPE_LIST &&
		    !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
			return fail(c, s,
				    "expected a list ( { ... }, ... ), "
				    "not %s",
				    cfg_type_name(s));
		return 0;
	}
	if (t != CONFIG_TYPE_STRING)
		return fail(c, s, "expected a string, not %s",
			    cfg_type_name(s));
	if (k->type == KT_CUSTOM)
		return k->check(c, s, obj);
	if (k->check)
		r = k->check(c, s, obj);
	return r ? r : store_str(c, s, k, obj);
}

static int fail_unknown(struct ctx *c, const config_setting_t *s,
			const struct key *keys, unsigned int n)
{
	char list[256];
	size_t len = 0;
	unsigned int i;

	list[0] = '\0';
	for (i = 0; i < n && len < sizeof(list); i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%s",
				i ? ", " : "", keys[i].name);
	return fail(c, s, "unknown setting (valid here: %s)", list);
}

int cfg_require(struct ctx *c, const config_setting_t *g,
		const struct key *keys, unsigned int n,
		const config_setting_t **seen)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (keys[i].required && !seen[i])
			return cfg_failk(c, g, keys[i].name,
					 "required setting is missing");
	return 0;
}

/*
 * Apply keys[] to group g (NULL: absent, defaults only) into obj, in file
 * order. seen[i] is the setting that gave keys[i], or NULL. c->path is g's.
 * cfg_walk_keys() leaves the check for missing keys to the caller.
 */
int cfg_walk_keys(struct ctx *c, const config_setting_t *g,
		  const struct key *keys, unsigned int n, void *obj,
		  const config_setting_t **seen)
{
	unsigned int i, len;
	int r;

	for (i = 0; i < n; i++) {
		seen[i] = NULL;
		if (keys[i].has_def)
			put_uint((char *)obj + keys[i].off, keys[i].size,
				 (unsigned long long)keys[i].def);
	}
	if (!g)
		return 0;
	len = (unsigned int)config_setting_length(g);
	for (i = 0; i < len; i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s);
		size_t old = cfg_path_push(c, name);
		unsigned int k;

		for (k = 0; k < n && strcmp(keys[k].name, name); k++)
			;
		if (k == n) {
			r = fail_unknown(c, s, keys, n);
		} else {
			seen[k] = s;
			r = store(c, s, &keys[k], obj);
		}
		cfg_path_pop(c, old);
		if (r)
			return r;
	}
	return 0;
}

int cfg_walk(struct ctx *c, const config_setting_t *g, const struct key *keys,
	     unsigned int n, void *obj, const config_setting_t **seen)
{
	int r = cfg_walk_keys(c, g, keys, n, obj, seen);

	return r || !g ? r : cfg_require(c, g, keys, n, seen);
}

/* ---- rules for single values -------------------------------------------- */

static int check_charset(struct ctx *c, const config_setting_t *s,
			 const char *allowed, const char *what)
{
	const char *str = config_setting_get_string(s);

	if (str[strspn(str, allowed)] != '\0')
		return fail(c, s, "\"%s\" may hold only %s", str, what);
	return 0;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"

static int check_instance(struct ctx *c, const config_setting_t *s, void *obj)
{
	return check_charset(c, s, LOWER_DIGITS "_-", "a-z, 0-9, '_' and '-'");
}

static int check_vip_name(struct ctx *c, const config_setting_t *s, void *obj)
{
	return check_charset(c, s, LOWER_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-",
			     "letters, digits, '_', '.' and '-'");
}

static int check_ifname(struct ctx *c, const config_setting_t *s, void *obj)
{
	const char *str = config_setting_get_string(s);
	const char *p;

	for (p = str; *p; p++)
		if (*p <= ' ' || *p == '/' || *p == 0x7f)
			return fail(c, s, "\"%s\" is not an interface name",
				    str);
	return 0;
}

/* The seed is a secret: messages never echo it. */
static int check_seed(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct sl_config *cfg = obj;
	const char *str = config_setting_get_string(s);

	if (strlen(str) != 32 || sl_hash_key_parse(str, &cfg->hash_seed))
		return fail(c, s, "must be exactly 32 hex digits (128 bits)");
	strcpy(cfg->hash_seed_hex, str);
	return 0;
}

/* "ADDR/LEN": the outer source prefix of encapsulated packets. */
static int check_prefix(struct ctx *c, const config_setting_t *s,
			union sl_addr *addr, sl_u8 *bits, int af)
{
	const char *str = config_setting_get_string(s);
	const char *slash = strchr(str, '/');
	int max = af == AF_INET ? 32 : 128;
	char host[INET6_ADDRSTRLEN];
	unsigned long len;
	char *end;

	if (!slash || (size_t)(slash - str) >= sizeof(host))
		goto bad;
	memcpy(host, str, (size_t)(slash - str));
	host[slash - str] = '\0';
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(af, host, addr) != 1 || slash[1] < '0' || slash[1] > '9')
		goto bad;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (*end || errno || len > (unsigned long)max)
		goto bad;
	if (len < (unsigned long)(af == AF_INET ? 16 : 96))
		return fail(c, s,
			    "prefix /%lu is too short: at most the last %d "
			    "bits vary (use /%d or longer)",
			    len, af == AF_INET ? 16 : 32,
			    af == AF_INET ? 16 : 96);
	*bits = (sl_u8)len;
	return 0;
bad:
	return fail(c, s, "\"%s\" is not an %s prefix ADDR/LEN (LEN 0..%d)",
		    str, af == AF_INET ? "IPv4" : "IPv6", max);
}

static int check_encap4(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct sl_config_dataplane *dp = obj;

	return check_prefix(c, s, &dp->encap_source, &dp->encap_source_bits,
			    AF_INET);
}

static int check_encap6(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct sl_config_dataplane *dp = obj;

	return check_prefix(c, s, &dp->encap_source6, &dp->encap_source6_bits,
			    AF_INET6);
}

static int check_pow2(struct ctx *c, const config_setting_t *s, void *obj)
{
	long long v = config_setting_get_int64(s);

	if (v & (v - 1))
		return fail(c, s, "%lld is not a power of two", v);
	return 0;
}

static int check_prime(struct ctx *c, const config_setting_t *s, void *obj)
{
	sl_u32 v = (sl_u32)config_setting_get_int64(s), p = v;

	if (sl_maglev_is_prime(v))
		return 0;
	while (!sl_maglev_is_prime(p))
		p++;
	return fail(c, s, "%u is not a prime (the next prime is %u)", v, p);
}

static int check_socket(struct ctx *c, const config_setting_t *s, void *obj)
{
	if (config_setting_get_string(s)[0] != '/')
		return fail(c, s, "must be an absolute path");
	return 0;
}

static int check_http_path(struct ctx *c, const config_setting_t *s, void *obj)
{
	const char *str = config_setting_get_string(s);
	const char *p;

	for (p = str; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			break;
	if (str[0] != '/' || *p)
		return fail(c, s,
			    "must start with '/' and hold no spaces or "
			    "control characters");
	return 0;
}

/* "ADDRESS:PORT" or "[IPV6]:PORT"; any address, 0.0.0.0 included. */
static int check_metrics(struct ctx *c, const config_setting_t *s, void *obj)
{
	struct sl_config_control *ctl = obj;
	const char *str = config_setting_get_string(s);
	const char *colon = strrchr(str, ':');
	char host[INET6_ADDRSTRLEN + 2], *end;
	size_t hlen = colon ? (size_t)(colon - str) : 0;
	unsigned long port;

	if (!colon || hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, str, hlen);
	host[hlen] = '\0';
	if (host[0] == '[') {
		if (host[hlen - 1] != ']')
			goto bad;
		host[hlen - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &ctl->metrics_addr) != 1)
			goto bad;
		ctl->metrics_family = SL_AF_INET6;
	} else {
		if (inet_pton(AF_INET, host, &ctl->metrics_addr) != 1)
			goto bad;
		ctl->metrics_family = SL_AF_INET;
	}
	if (colon[1] < '0' || colon[1] > '9')
		goto bad;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port < 1 || port > 65535)
		goto bad;
	ctl->metrics_port = (sl_u16)port;
	return 0;
bad:
	memset(&ctl->metrics_addr, 0, sizeof(ctl->metrics_addr));
	ctl->metrics_family = 0;
	return fail(c, s,
		    "\"%s\" is not IPV4:PORT or [IPV6]:PORT (port 1..65535)",
		    str);
}

/* ---- the schema --------------------------------------------------------- */

#define FSZ(st, f) sizeof(((st *)0)->f)
#define REQ .required = true
#define DEF(d) .has_def = true, .def = (d)
#define CHECK(fn) .check = (fn)
#define K_STR(n, st, f, ...)                                         \
	{                                                            \
		.name = (n), .type = KT_STR, .off = offsetof(st, f), \
		.size = FSZ(st, f), __VA_ARGS__                      \
	}
#define K_INT(n, st, f, lo, hi, ...)                                      \
	{                                                                 \
		.name = (n), .type = KT_INT, .off = offsetof(st, f),      \
		.size = FSZ(st, f), .min = (lo), .max = (hi), __VA_ARGS__ \
	}
#define K_ENUM(n, st, f, tab, ...)                                    \
	{                                                             \
		.name = (n), .type = KT_ENUM, .off = offsetof(st, f), \
		.size = FSZ(st, f), .names = (tab), __VA_ARGS__       \
	}
#define K_ADDR(n, st, f, ff, family, ...)                              \
	{                                                              \
		.name = (n), .type = KT_ADDR, .off = offsetof(st, f),  \
		.off2 = offsetof(st, ff), .fam = (family), __VA_ARGS__ \
	}
#define K_MAC(n, st, f, has, ...)                                    \
	{                                                            \
		.name = (n), .type = KT_MAC, .off = offsetof(st, f), \
		.off2 = offsetof(st, has), __VA_ARGS__               \
	}
#define K_STRS(n, st, f, cnt, lo, ...)                                        \
	{                                                                     \
		.name = (n), .type = KT_STRS, .off = offsetof(st, f),         \
		.off2 = offsetof(st, cnt), .size = FSZ(st, f[0]),             \
		.nmax = SL_ARRAY_SIZE(((st *)0)->f), .min = (lo), __VA_ARGS__ \
	}
#define K_CUSTOM(n, fn, ...)                                               \
	{                                                                  \
		.name = (n), .type = KT_CUSTOM, .check = (fn), __VA_ARGS__ \
	}
#define K_GROUP(n, ...)                                    \
	{                                                  \
		.name = (n), .type = KT_GROUP, __VA_ARGS__ \
	}
#define K_LIST(n, ...)                                    \
	{                                                 \
		.name = (n), .type = KT_LIST, __VA_ARGS__ \
	}

static const struct enum_name mode_names[] = { { "dpdk", SL_DP_DPDK },
					       { "xdp", SL_DP_XDP },
					       { NULL, 0 } };
static const struct enum_name xdp_mode_names[] = {
	{ "native", SL_XDP_NATIVE }, { "generic", SL_XDP_GENERIC }, { NULL, 0 }
};
static const struct enum_name frag_names[] = { { "hash", SL_FRAG_HASH },
					       { "drop", SL_FRAG_DROP },
					       { NULL, 0 } };
const struct enum_name cfg_proto_names[] = { { "tcp", SL_IPPROTO_TCP },
					     { "udp", SL_IPPROTO_UDP },
					     { NULL, 0 } };
const struct enum_name cfg_method_names[] = { { "ipip", SL_METHOD_IPIP },
					      { "gue", SL_METHOD_GUE },
					      { "l2dsr", SL_METHOD_L2DSR },
					      { NULL, 0 } };
const struct enum_name cfg_hc_type_names[] = { { "none", SL_HC_NONE },
					       { "tcp", SL_HC_TCP },
					       { "http", SL_HC_HTTP },
					       { "udp", SL_HC_UDP },
					       { NULL, 0 } };

#define CFG struct sl_config
const struct key cfg_root_keys[R_N] = {
	[R_INSTANCE] =
		K_STR("instance", CFG, instance, REQ, CHECK(check_instance)),
	[R_HASH_SEED] = K_CUSTOM("hash_seed", check_seed, REQ),
	[R_DATAPLANE] = K_GROUP("dataplane", REQ),
	[R_CONTROL] = K_GROUP("control"),
	[R_VIPS] = K_LIST("vips", REQ),
};

#define DP struct sl_config_dataplane
const struct key cfg_dp_keys[D_N] = {
	[D_MODE] = K_ENUM("mode", DP, mode, mode_names, REQ),
	[D_EAL] = K_STRS("eal", DP, eal, n_eal, 0),
	[D_INTERFACES] = K_STRS("interfaces", DP, interfaces, n_interfaces, 1,
				REQ, CHECK(check_ifname)),
	[D_XDP_MODE] = K_ENUM("xdp_mode", DP, xdp_mode, xdp_mode_names),
	[D_GATEWAY] =
		K_ADDR("gateway", DP, gateway, gateway_family, SL_AF_INET),
	[D_GATEWAY_MAC] =
		K_MAC("gateway_mac", DP, gateway_mac, has_gateway_mac),
	[D_GATEWAY6] =
		K_ADDR("gateway6", DP, gateway6, gateway6_family, SL_AF_INET6),
	[D_LOCAL] = K_ADDR("local_address", DP, local_address, local_family,
			   SL_AF_INET),
	[D_LOCAL6] = K_ADDR("local_address6", DP, local_address6, local6_family,
			    SL_AF_INET6),
	[D_ENCAP4] = K_CUSTOM("encap_source", check_encap4),
	[D_ENCAP6] = K_CUSTOM("encap_source6", check_encap6),
	[D_MTU] = K_INT("mtu", DP, mtu, 576, 9000, DEF(1500)),
	[D_FRAGMENTS] = K_ENUM("fragments", DP, fragments, frag_names,
			       DEF(SL_FRAG_HASH)),
	[D_GUE_PORT] = K_INT("gue_port", DP, gue_port, 1, 65535, DEF(6080)),
	[D_FLOW_TABLE] = K_GROUP("flow_table"),
};

const struct key cfg_flow_keys[F_N] = {
	[F_SIZE] = K_INT("size", DP, flow_table_size, 1024, 1 << 27,
			 DEF(1 << 20), CHECK(check_pow2)),
	[F_TCP] = K_INT("tcp_timeout", DP, tcp_timeout, 1, 86400, DEF(900)),
	[F_UDP] = K_INT("udp_timeout", DP, udp_timeout, 1, 86400, DEF(30)),
};

#define CTL struct sl_config_control
const struct key cfg_control_keys[C_N] = {
	[C_SOCKET] = K_STR("socket", CTL, socket, CHECK(check_socket)),
	[C_METRICS] = K_CUSTOM("metrics", check_metrics),
};

#define VIP struct sl_config_vip
const struct key cfg_vip_keys[V_N] = {
	[V_NAME] = K_STR("name", VIP, name, REQ, CHECK(check_vip_name)),
	[V_ADDRESS] = K_ADDR("address", VIP, addr, family, 0, REQ),
	[V_PORT] = K_INT("port", VIP, port, 0, 65535, REQ),
	[V_PROTOCOL] = K_ENUM("protocol", VIP, proto, cfg_proto_names, REQ),
	[V_METHOD] = K_ENUM("method", VIP, method, cfg_method_names,
			    DEF(SL_METHOD_IPIP)),
	[V_TABLE_SIZE] = K_INT("table_size", VIP, table_size, 2,
			       SL_CONFIG_TABLE_SIZE_MAX,
			       DEF(SL_MAGLEV_M_DEFAULT), CHECK(check_prime)),
	[V_HEALTHCHECK] = K_GROUP("healthcheck"),
	[V_BACKENDS] = K_LIST("backends", REQ),
};

#define BE struct sl_config_backend
const struct key cfg_backend_keys[B_N] = {
	[B_ADDRESS] = K_ADDR("address", BE, addr, family, 0, REQ),
	[B_PORT] = K_INT("port", BE, port, 1, 65535),
	[B_WEIGHT] = K_INT("weight", BE, weight, 0, 65535, DEF(100)),
	[B_MAC] = K_MAC("mac", BE, mac, has_mac),
	[B_HEALTHCHECK] = K_GROUP("healthcheck"),
};

/* No defaults here: they are applied after the VIP's and backend's merge. */
#define HC struct sl_config_hc
const struct key cfg_hc_keys[H_N] = {
	[H_TYPE] = K_ENUM("type", HC, type, cfg_hc_type_names),
	[H_PORT] = K_INT("port", HC, port, 1, 65535),
	[H_PATH] = K_STR("path", HC, path, CHECK(check_http_path)),
	[H_EXPECT] = K_INT("expect", HC, expect, 100, 599),
	[H_PAYLOAD] = K_STR("payload", HC, payload),
	[H_EXPECT_PAYLOAD] = K_STR("expect_payload", HC, expect_payload),
	[H_INTERVAL] = K_INT("interval_ms", HC, interval_ms, 100, 3600000),
	[H_TIMEOUT] = K_INT("timeout_ms", HC, timeout_ms, 10, 3600000),
	[H_RISE] = K_INT("rise", HC, rise, 1, 100),
	[H_FALL] = K_INT("fall", HC, fall, 1, 100),
};
