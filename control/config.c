/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.c: load a sluice config file, validate all of it, hand back a new
 * struct sl_config (BIRD's way: parse into a new struct, validate whole, the
 * caller commits). Nothing here touches the running daemon.
 *
 * Each group of the file has a schema table (the keys it may hold, their
 * types, ranges, defaults and where the value goes); one walker applies a
 * table to a group, so an unknown key, a wrong type, a value out of range or
 * a missing required key is reported the same way at every level. The rules
 * that span several keys (mode-dependent settings, address families,
 * duplicates, health-check inheritance) are code after the walk.
 *
 * The first error wins and the load stops there: one line, the offending
 * setting's file:line and path. Order: a group's settings in file order,
 * then its missing required settings, then the cross-setting rules; at the
 * top level the groups come before the missing settings, so that a mistake
 * inside dataplane is not hidden by a missing vips further down. Called from sluiced's main thread and from
 * sluicectl; no global state.
 *
 * Defaults of optional settings (the examples in configs/ repeat them):
 *
 *   control.socket            "/run/sluice/<instance>.sock"
 *   control.metrics           not set: no metrics listener
 *   dataplane.eal             [] (dpdk only): EAL's own defaults
 *   dataplane.xdp_mode        "native" (xdp only)
 *   dataplane.gateway         required in dpdk mode; not valid in xdp mode
 *   dataplane.gateway6        not set; required in dpdk mode when a VIP
 *                             encapsulates to IPv6 backends
 *   dataplane.gateway_mac     not set: ARP/NDP resolve the gateways (dpdk)
 *   dataplane.local_address   required in dpdk mode; xdp: the interface's
 *   dataplane.local_address6  like gateway6
 *   dataplane.encap_source    local_address/32: outer IPv4 source of
 *                             ipip/gue; with a shorter prefix the host bits
 *                             vary per flow (backends spread RX queues)
 *   dataplane.encap_source6   local_address6/128, likewise
 *   dataplane.mtu             1500          (576..9000)
 *   dataplane.fragments       "hash"        ("hash" | "drop")
 *   dataplane.gue_port        6080
 *   dataplane.flow_table      size 1048576 (power of two, 1024..2^27),
 *                             tcp_timeout 900, udp_timeout 30 (1..86400 s)
 *   vips[].method             "ipip"        ("ipip" | "gue" | "l2dsr")
 *   vips[].table_size         65537         (prime, 2..655373)
 *   vips[].healthcheck        tcp VIP: { type = "tcp"; }; udp VIP: required
 *   healthcheck.port          the backend's port
 *   healthcheck.path          "/"    (http)
 *   healthcheck.expect        200    (http, 100..599)
 *   healthcheck.payload       required for type udp
 *   healthcheck.expect_payload "": any reply counts (udp)
 *   healthcheck.interval_ms   1000   (100..3600000)
 *   healthcheck.timeout_ms    min(500, interval_ms)  (10..interval_ms)
 *   healthcheck.rise / fall   2 / 3  (1..100)
 *   backends[].port           the VIP's port (0 for a port-agnostic VIP)
 *   backends[].weight         100    (0..65535; 0 = drained)
 *   backends[].healthcheck    the VIP's; keys given here override it
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "maglev.h"

/* ---- context and messages ----------------------------------------------- */

struct ctx {
	const char *file;	/* FILE for settings of the main text */
	const char *dir;	/* its directory, "" or ending in '/' */
	char name[512];		/* an included file's name, for messages */
	struct sl_config *cfg;
	char *err;
	size_t errlen;
	bool nomem;
	char path[256];		/* path of the group being walked */
};

/* Included files are named relative to the including file's directory. */
static const char *file_name(struct ctx *c, const char *f)
{
	if (!f)
		return c->file;
	if (f[0] == '/' || !c->dir[0])
		return f;
	snprintf(c->name, sizeof(c->name), "%s%s", c->dir, f);
	return c->name;
}

static const char *src_file(struct ctx *c, const config_setting_t *s)
{
	return file_name(c, s ? config_setting_source_file(s) : NULL);
}

/* "FILE:LINE: PATH: text", or "FILE: PATH: text" for the root (no line). */
static void vformat(struct ctx *c, char *buf, size_t len,
		    const config_setting_t *s, const char *path,
		    const char *fmt, va_list ap)
{
	unsigned int line = s ? config_setting_source_line(s) : 0;
	int n;

	if (line)
		n = snprintf(buf, len, "%s:%u: %s: ", src_file(c, s), line, path);
	else
		n = snprintf(buf, len, "%s: %s: ", src_file(c, s), path);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(buf + n, len - n, fmt, ap);
}

static int vfailp(struct ctx *c, const config_setting_t *s, const char *path,
		  const char *fmt, va_list ap)
{
	vformat(c, c->err, c->errlen, s, path, fmt, ap);
	return -EINVAL;
}

static int __attribute__((format(printf, 4, 5)))
failp(struct ctx *c, const config_setting_t *s, const char *path,
      const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfailp(c, s, path, fmt, ap);
	va_end(ap);
	return r;
}

/* An error about s, whose path is the current one. */
#define fail(c, s, ...) failp((c), (s), (c)->path, __VA_ARGS__)

static const char *join(char *buf, size_t len, const char *path,
			const char *name)
{
	snprintf(buf, len, "%s%s%s", path, path[0] ? "." : "", name);
	return buf;
}

/* An error about key name of the current group, at the line of s. */
static int __attribute__((format(printf, 4, 5)))
failk(struct ctx *c, const config_setting_t *s, const char *name,
      const char *fmt, ...)
{
	char path[320];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfailp(c, s, join(path, sizeof(path), c->path, name), fmt, ap);
	va_end(ap);
	return r;
}

static void __attribute__((format(printf, 4, 5)))
warnp(struct ctx *c, const config_setting_t *s, const char *path,
      const char *fmt, ...)
{
	struct sl_config *cfg = c->cfg;
	char buf[512], **w;
	va_list ap;

	va_start(ap, fmt);
	vformat(c, buf, sizeof(buf), s, path, fmt, ap);
	va_end(ap);
	w = realloc(cfg->warnings, (cfg->n_warnings + 1) * sizeof(*w));
	if (!w) {
		c->nomem = true;
		return;
	}
	cfg->warnings = w;
	w[cfg->n_warnings] = strdup(buf);
	if (!w[cfg->n_warnings]) {
		c->nomem = true;
		return;
	}
	cfg->n_warnings++;
}

static size_t path_push(struct ctx *c, const char *name)
{
	size_t old = strlen(c->path);

	snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "",
		 name);
	return old;
}

static size_t path_push_index(struct ctx *c, unsigned int i)
{
	size_t old = strlen(c->path);

	snprintf(c->path + old, sizeof(c->path) - old, "[%u]", i);
	return old;
}

static void path_pop(struct ctx *c, size_t old)
{
	c->path[old] = '\0';
}

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "nothing";
}

static const char *fmt_addr(char *buf, size_t len, sl_u8 family,
			    const union sl_addr *a, sl_u16 port)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family == SL_AF_INET6 ? AF_INET6 : AF_INET, a, ip, sizeof(ip));
	if (family == SL_AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, port);
	else
		snprintf(buf, len, "%s:%u", ip, port);
	return buf;
}

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
		if (i % 3 == 2 ? s[i] != ':' : !strchr("0123456789abcdefABCDEF", s[i]))
			return -1;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &end) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (sl_u8)v[i];
	return 0;
}

/* Not unspecified, loopback, multicast, broadcast, reserved or v4-mapped. */
static bool is_unicast(sl_u8 family, const union sl_addr *a)
{
	static const sl_u8 zero[16], v4mapped[12] = { [10] = 0xff, [11] = 0xff };

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

enum key_type {
	KT_STR,		/* string into char[size] */
	KT_INT,		/* integer into an unsigned field of 1, 2 or 4 bytes */
	KT_ENUM,	/* one of names[] into an integer field */
	KT_ADDR,	/* address: union sl_addr at off, family byte at off2 */
	KT_MAC,		/* MAC: sl_u8[6] at off, bool at off2 */
	KT_STRS,	/* array or list of strings: char[nmax][size] at off,
			 * the count (unsigned int) at off2 */
	KT_CUSTOM,	/* string that check() parses and stores */
	KT_GROUP,	/* { ... }, walked by the caller */
	KT_LIST,	/* ( { ... }, ... ), walked by the caller */
};

struct enum_name {
	const char *name;
	sl_u8 val;
};

struct ctx;
struct key {
	const char *name;
	sl_u8 type;		/* enum key_type */
	bool required;
	bool has_def;
	sl_u8 fam;		/* KT_ADDR: required family, or 0 */
	size_t off, off2, size;
	unsigned int nmax;	/* KT_STRS: most elements */
	long long min, max;	/* KT_INT: range; KT_STRS: min elements */
	long long def;		/* KT_INT, KT_ENUM, when has_def */
	const struct enum_name *names;	/* KT_ENUM, NULL-terminated */
	/* Extra rule for the value of s; KT_CUSTOM: also stores it. */
	int (*check)(struct ctx *c, const config_setting_t *s, void *obj);
};

#define FSZ(st, f) sizeof(((st *)0)->f)
#define REQ .required = true
#define DEF(d) .has_def = true, .def = (d)
#define CHECK(fn) .check = (fn)
#define K_STR(n, st, f, ...) { .name = (n), .type = KT_STR, \
	.off = offsetof(st, f), .size = FSZ(st, f), __VA_ARGS__ }
#define K_INT(n, st, f, lo, hi, ...) { .name = (n), .type = KT_INT, \
	.off = offsetof(st, f), .size = FSZ(st, f), .min = (lo), .max = (hi), \
	__VA_ARGS__ }
#define K_ENUM(n, st, f, tab, ...) { .name = (n), .type = KT_ENUM, \
	.off = offsetof(st, f), .size = FSZ(st, f), .names = (tab), __VA_ARGS__ }
#define K_ADDR(n, st, f, ff, family, ...) { .name = (n), .type = KT_ADDR, \
	.off = offsetof(st, f), .off2 = offsetof(st, ff), .fam = (family), \
	__VA_ARGS__ }
#define K_MAC(n, st, f, has, ...) { .name = (n), .type = KT_MAC, \
	.off = offsetof(st, f), .off2 = offsetof(st, has), __VA_ARGS__ }
#define K_STRS(n, st, f, cnt, lo, ...) { .name = (n), .type = KT_STRS, \
	.off = offsetof(st, f), .off2 = offsetof(st, cnt), \
	.size = FSZ(st, f[0]), .nmax = SL_ARRAY_SIZE(((st *)0)->f), .min = (lo), \
	__VA_ARGS__ }
#define K_CUSTOM(n, fn, ...) { .name = (n), .type = KT_CUSTOM, .check = (fn), \
	__VA_ARGS__ }
#define K_GROUP(n, ...) { .name = (n), .type = KT_GROUP, __VA_ARGS__ }
#define K_LIST(n, ...) { .name = (n), .type = KT_LIST, __VA_ARGS__ }

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

static const char *enum_name(const struct enum_name *e, sl_u8 val)
{
	for (; e->name; e++)
		if (e->val == val)
			return e->name;
	return "?";
}

static int check_len(struct ctx *c, const config_setting_t *s,
		     const char *str, size_t max)
{
	size_t n = strlen(str);

	if (n == 0)
		return fail(c, s, "must not be empty");
	if (n > max)
		return fail(c, s, "is too long: %zu characters, at most %zu",
			    n, max);
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
		size_t old = path_push_index(c, i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			r = fail(c, e, "expected a string, not %s", type_name(e));
		else
			r = check_len(c, e, config_setting_get_string(e),
				      k->size - 1);
		if (!r && k->check)
			r = k->check(c, e, obj);
		if (!r)
			strcpy(dst + i * k->size, config_setting_get_string(e));
		path_pop(c, old);
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
			return fail(c, s, "\"%s\" is not an IPv4 or IPv6 address",
				    str);
		if (k->fam && *((sl_u8 *)obj + k->off2) != k->fam)
			return fail(c, s, "\"%s\" is not an %s address", str,
				    k->fam == SL_AF_INET ? "IPv4" : "IPv6");
		if (!is_unicast(*((sl_u8 *)obj + k->off2), (union sl_addr *)dst))
			return fail(c, s, "\"%s\" is not a unicast address", str);
		break;
	case KT_MAC:
		if (parse_mac(str, (sl_u8 *)dst))
			return fail(c, s, "\"%s\" is not a MAC address "
				    "(like \"02:00:00:00:00:01\")", str);
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
				    type_name(s));
		v = config_setting_get_int64(s);
		if (v < k->min || v > k->max)
			return fail(c, s, "%lld is out of range %lld..%lld",
				    v, k->min, k->max);
		if (k->check)
			r = k->check(c, s, obj);
		if (!r)
			put_uint((char *)obj + k->off, k->size,
				 (unsigned long long)v);
		return r;
	case KT_STRS:
		if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
			return fail(c, s, "expected an array of strings "
				    "[ \"...\", ... ], not %s", type_name(s));
		return store_strs(c, s, k, obj);
	case KT_GROUP:
		if (t != CONFIG_TYPE_GROUP)
			return fail(c, s, "expected a group { ... }, not %s",
				    type_name(s));
		return 0;
	case KT_LIST:
		/* "x = [];" is how some write an empty list */
		if (t != CONFIG_TYPE_LIST &&
		    !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
			return fail(c, s, "expected a list ( { ... }, ... ), "
				    "not %s", type_name(s));
		return 0;
	}
	if (t != CONFIG_TYPE_STRING)
		return fail(c, s, "expected a string, not %s", type_name(s));
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

static int require(struct ctx *c, const config_setting_t *g,
		   const struct key *keys, unsigned int n,
		   const config_setting_t **seen)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (keys[i].required && !seen[i])
			return failk(c, g, keys[i].name,
				     "required setting is missing");
	return 0;
}

/*
 * Apply keys[] to group g (NULL: absent, defaults only) into obj, in file
 * order. seen[i] is the setting that gave keys[i], or NULL. c->path is g's.
 * walk_keys() leaves the check for missing keys to the caller.
 */
static int walk_keys(struct ctx *c, const config_setting_t *g,
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
		size_t old = path_push(c, name);
		unsigned int k;

		for (k = 0; k < n && strcmp(keys[k].name, name); k++)
			;
		if (k == n) {
			r = fail_unknown(c, s, keys, n);
		} else {
			seen[k] = s;
			r = store(c, s, &keys[k], obj);
		}
		path_pop(c, old);
		if (r)
			return r;
	}
	return 0;
}

static int walk(struct ctx *c, const config_setting_t *g,
		const struct key *keys, unsigned int n, void *obj,
		const config_setting_t **seen)
{
	int r = walk_keys(c, g, keys, n, obj, seen);

	return r || !g ? r : require(c, g, keys, n, seen);
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
			return fail(c, s, "\"%s\" is not an interface name", str);
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
		return fail(c, s, "prefix /%lu is too short: at most the last %d bits vary (use /%d or longer)",
			    len, af == AF_INET ? 16 : 32, af == AF_INET ? 16 : 96);
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
		return fail(c, s, "must start with '/' and hold no spaces or "
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
	return fail(c, s, "\"%s\" is not IPV4:PORT or [IPV6]:PORT (port 1..65535)",
		    str);
}

/* ---- the schema --------------------------------------------------------- */

static const struct enum_name mode_names[] = {
	{ "dpdk", SL_DP_DPDK }, { "xdp", SL_DP_XDP }, { NULL, 0 } };
static const struct enum_name xdp_mode_names[] = {
	{ "native", SL_XDP_NATIVE }, { "generic", SL_XDP_GENERIC }, { NULL, 0 } };
static const struct enum_name frag_names[] = {
	{ "hash", SL_FRAG_HASH }, { "drop", SL_FRAG_DROP }, { NULL, 0 } };
static const struct enum_name proto_names[] = {
	{ "tcp", SL_IPPROTO_TCP }, { "udp", SL_IPPROTO_UDP }, { NULL, 0 } };
static const struct enum_name method_names[] = {
	{ "ipip", SL_METHOD_IPIP }, { "gue", SL_METHOD_GUE },
	{ "l2dsr", SL_METHOD_L2DSR }, { NULL, 0 } };
static const struct enum_name hc_type_names[] = {
	{ "none", SL_HC_NONE }, { "tcp", SL_HC_TCP }, { "http", SL_HC_HTTP },
	{ "udp", SL_HC_UDP }, { NULL, 0 } };

#define CFG struct sl_config
enum { R_INSTANCE, R_HASH_SEED, R_DATAPLANE, R_CONTROL, R_VIPS, R_N };
static const struct key root_keys[R_N] = {
	[R_INSTANCE] = K_STR("instance", CFG, instance, REQ,
			     CHECK(check_instance)),
	[R_HASH_SEED] = K_CUSTOM("hash_seed", check_seed, REQ),
	[R_DATAPLANE] = K_GROUP("dataplane", REQ),
	[R_CONTROL] = K_GROUP("control"),
	[R_VIPS] = K_LIST("vips", REQ),
};

#define DP struct sl_config_dataplane
enum { D_MODE, D_EAL, D_INTERFACES, D_XDP_MODE, D_GATEWAY, D_GATEWAY_MAC,
       D_GATEWAY6, D_LOCAL, D_LOCAL6, D_ENCAP4, D_ENCAP6, D_MTU, D_FRAGMENTS,
       D_GUE_PORT, D_FLOW_TABLE, D_N };
static const struct key dp_keys[D_N] = {
	[D_MODE] = K_ENUM("mode", DP, mode, mode_names, REQ),
	[D_EAL] = K_STRS("eal", DP, eal, n_eal, 0),
	[D_INTERFACES] = K_STRS("interfaces", DP, interfaces, n_interfaces, 1,
				REQ, CHECK(check_ifname)),
	[D_XDP_MODE] = K_ENUM("xdp_mode", DP, xdp_mode, xdp_mode_names),
	[D_GATEWAY] = K_ADDR("gateway", DP, gateway, gateway_family,
			     SL_AF_INET),
	[D_GATEWAY_MAC] = K_MAC("gateway_mac", DP, gateway_mac,
				has_gateway_mac),
	[D_GATEWAY6] = K_ADDR("gateway6", DP, gateway6, gateway6_family,
			      SL_AF_INET6),
	[D_LOCAL] = K_ADDR("local_address", DP, local_address, local_family,
			   SL_AF_INET),
	[D_LOCAL6] = K_ADDR("local_address6", DP, local_address6,
			    local6_family, SL_AF_INET6),
	[D_ENCAP4] = K_CUSTOM("encap_source", check_encap4),
	[D_ENCAP6] = K_CUSTOM("encap_source6", check_encap6),
	[D_MTU] = K_INT("mtu", DP, mtu, 576, 9000, DEF(1500)),
	[D_FRAGMENTS] = K_ENUM("fragments", DP, fragments, frag_names,
			       DEF(SL_FRAG_HASH)),
	[D_GUE_PORT] = K_INT("gue_port", DP, gue_port, 1, 65535, DEF(6080)),
	[D_FLOW_TABLE] = K_GROUP("flow_table"),
};

enum { F_SIZE, F_TCP, F_UDP, F_N };
static const struct key flow_keys[F_N] = {
	[F_SIZE] = K_INT("size", DP, flow_table_size, 1024, 1 << 27,
			 DEF(1 << 20), CHECK(check_pow2)),
	[F_TCP] = K_INT("tcp_timeout", DP, tcp_timeout, 1, 86400, DEF(900)),
	[F_UDP] = K_INT("udp_timeout", DP, udp_timeout, 1, 86400, DEF(30)),
};

#define CTL struct sl_config_control
enum { C_SOCKET, C_METRICS, C_N };
static const struct key control_keys[C_N] = {
	[C_SOCKET] = K_STR("socket", CTL, socket, CHECK(check_socket)),
	[C_METRICS] = K_CUSTOM("metrics", check_metrics),
};

#define VIP struct sl_config_vip
enum { V_NAME, V_ADDRESS, V_PORT, V_PROTOCOL, V_METHOD, V_TABLE_SIZE,
       V_HEALTHCHECK, V_BACKENDS, V_N };
static const struct key vip_keys[V_N] = {
	[V_NAME] = K_STR("name", VIP, name, REQ, CHECK(check_vip_name)),
	[V_ADDRESS] = K_ADDR("address", VIP, addr, family, 0, REQ),
	[V_PORT] = K_INT("port", VIP, port, 0, 65535, REQ),
	[V_PROTOCOL] = K_ENUM("protocol", VIP, proto, proto_names, REQ),
	[V_METHOD] = K_ENUM("method", VIP, method, method_names,
			    DEF(SL_METHOD_IPIP)),
	[V_TABLE_SIZE] = K_INT("table_size", VIP, table_size, 2,
			       SL_CONFIG_TABLE_SIZE_MAX,
			       DEF(SL_MAGLEV_M_DEFAULT), CHECK(check_prime)),
	[V_HEALTHCHECK] = K_GROUP("healthcheck"),
	[V_BACKENDS] = K_LIST("backends", REQ),
};

#define BE struct sl_config_backend
enum { B_ADDRESS, B_PORT, B_WEIGHT, B_MAC, B_HEALTHCHECK, B_N };
static const struct key backend_keys[B_N] = {
	[B_ADDRESS] = K_ADDR("address", BE, addr, family, 0, REQ),
	[B_PORT] = K_INT("port", BE, port, 1, 65535),
	[B_WEIGHT] = K_INT("weight", BE, weight, 0, 65535, DEF(100)),
	[B_MAC] = K_MAC("mac", BE, mac, has_mac),
	[B_HEALTHCHECK] = K_GROUP("healthcheck"),
};

/* No defaults here: they are applied after the VIP's and backend's merge. */
#define HC struct sl_config_hc
enum { H_TYPE, H_PORT, H_PATH, H_EXPECT, H_PAYLOAD, H_EXPECT_PAYLOAD,
       H_INTERVAL, H_TIMEOUT, H_RISE, H_FALL, H_N };
static const struct key hc_keys[H_N] = {
	[H_TYPE] = K_ENUM("type", HC, type, hc_type_names),
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
				size_t old = path_push(c, "interfaces");
				int r;

				path_push_index(c, i);
				r = fail(c, config_setting_get_elem(seen[D_INTERFACES], i),
					 "\"%s\" is listed twice", dp->interfaces[i]);
				path_pop(c, old);
				return r;
			}
	if (dp->mode == SL_DP_XDP) {
		for (i = 0; i < SL_ARRAY_SIZE(dpdk_only); i++)
			if (seen[dpdk_only[i]])
				return failk(c, seen[dpdk_only[i]],
					     dp_keys[dpdk_only[i]].name,
					     "only used in dpdk mode (xdp mode "
					     "finds next hops with the kernel's FIB)");
		if (!seen[D_XDP_MODE])
			dp->xdp_mode = SL_XDP_NATIVE;
		return 0;
	}
	if (seen[D_XDP_MODE])
		return failk(c, seen[D_XDP_MODE], "xdp_mode",
			     "only used in xdp mode");
	if (!seen[D_GATEWAY])
		return failk(c, g, "gateway", "required in dpdk mode");
	if (!seen[D_LOCAL])
		return failk(c, g, "local_address", "required in dpdk mode");
	return 0;
}

static int parse_dataplane(struct ctx *c, const config_setting_t *g)
{
	const config_setting_t *seen[D_N], *fseen[F_N];
	size_t old = path_push(c, "dataplane");
	int r;

	r = walk(c, g, dp_keys, D_N, &c->cfg->dp, seen);
	if (!r) {
		size_t old2 = path_push(c, "flow_table");

		r = walk(c, seen[D_FLOW_TABLE], flow_keys, F_N, &c->cfg->dp,
			 fseen);
		path_pop(c, old2);
	}
	if (!r)
		r = dataplane_rules(c, g, seen);
	path_pop(c, old);
	return r;
}

static int parse_control(struct ctx *c, const config_setting_t *g)
{
	struct sl_config_control *ctl = &c->cfg->ctl;
	const config_setting_t *seen[C_N];
	size_t old = path_push(c, "control");
	int r;

	r = walk(c, g, control_keys, C_N, ctl, seen);
	if (!r && !seen[C_SOCKET])
		snprintf(ctl->socket, sizeof(ctl->socket), "/run/sluice/%s.sock",
			 c->cfg->instance);
	path_pop(c, old);
	return r;
}

/* ---- health checks: the VIP's template, each backend's override ---------- */

/* One level of health-check settings, as written. */
struct hc_layer {
	struct sl_config_hc v;
	const config_setting_t *seen[H_N];
	const config_setting_t *anchor;	/* the group, or the one that would
					 * hold it */
	bool present;
	char path[300];
};

static int hc_parse_layer(struct ctx *c, const config_setting_t *g,
			  const config_setting_t *parent, struct hc_layer *l)
{
	size_t old = path_push(c, "healthcheck");
	int r;

	memset(&l->v, 0, sizeof(l->v));
	snprintf(l->path, sizeof(l->path), "%s", c->path);
	l->anchor = g ? g : parent;
	l->present = g != NULL;
	r = walk(c, g, hc_keys, H_N, &l->v, l->seen);
	path_pop(c, old);
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
	r = vfailp(c, s, join(path, sizeof(path), l->path, hc_keys[key].name),
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
				memcpy((char *)&h + hc_keys[k].off,
				       (const char *)&layers[i]->v + hc_keys[k].off,
				       hc_keys[k].size);
	if (!h.type) {
		if (v->proto == SL_IPPROTO_UDP && top->present)
			return hc_fail(c, top, H_TYPE, "required for a udp VIP");
		if (v->proto == SL_IPPROTO_UDP)
			return failp(c, top->anchor, top->path,
				     "required for a udp VIP (type \"udp\" "
				     "with a payload, \"tcp\" or \"none\")");
		h.type = SL_HC_TCP;
	}
	for (k = 0; k < H_N; k++)
		if (top->seen[k] && !hc_key_applies(k, h.type))
			return hc_fail(c, top, k, "not used by health checks of "
				       "type \"%s\"", enum_name(hc_type_names, h.type));
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
			return hc_fail(c, top, H_TIMEOUT, "%u is more than "
				       "interval_ms %u", h.timeout_ms, h.interval_ms);
		return hc_fail(c, top, H_INTERVAL, "%u is less than timeout_ms %u",
			       h.interval_ms, h.timeout_ms);
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
			return hc_fail(c, top, H_PAYLOAD, "required for type \"udp\"");
	} else {
		memset(h.payload, 0, sizeof(h.payload));
		memset(h.expect_payload, 0, sizeof(h.expect_payload));
	}
	if (be && !h.port && !(h.port = be->port))
		return fail(c, be_g, "no port to health-check: the VIP is "
			    "port-agnostic, so set port or healthcheck.port");
	*out = h;
	return 0;
}

/* ---- VIPs and backends -------------------------------------------------- */

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
		return failk(c, as, "address", "IPv4 backend for an IPv6 VIP "
			     "(IPv6-in-IPv4 is not supported)");
	if (v->method == SL_METHOD_L2DSR && b->family != v->family)
		return failk(c, as, "address", "IPv6 backend for an IPv4 VIP: "
			     "l2dsr backends must be in the VIP's family");
	if (j > 0 && b->family != v->backends[0].family)
		return failk(c, as, "address", "%s backend, but backends[0] is "
			     "%s: all backends of a VIP must share one family",
			     b->family == SL_AF_INET ? "IPv4" : "IPv6",
			     b->family == SL_AF_INET ? "IPv6" : "IPv4");
	return 0;
}

static int parse_backend(struct ctx *c, struct sl_config_vip *v,
			 unsigned int j, const config_setting_t *g,
			 const struct hc_layer *tmpl)
{
	struct sl_config_backend *b = &v->backends[j];
	const config_setting_t *seen[B_N];
	const struct hc_layer *layers[2] = { tmpl, NULL };
	struct hc_layer own;
	char buf[64];
	unsigned int k;
	int r;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "expected a group { ... }, not %s", type_name(g));
	r = walk(c, g, backend_keys, B_N, b, seen);
	if (r)
		return r;
	if (!seen[B_PORT])
		b->port = v->port;
	if (seen[B_MAC] && v->method != SL_METHOD_L2DSR)
		return failk(c, seen[B_MAC], "mac", "only used by method "
			     "\"l2dsr\" (this VIP uses \"%s\")",
			     enum_name(method_names, v->method));
	r = backend_family(c, v, j, seen[B_ADDRESS]);
	if (r)
		return r;
	for (k = 0; k < j; k++)
		if (same_addr(b->family, &b->addr, v->backends[k].family,
			      &v->backends[k].addr) &&
		    b->port == v->backends[k].port)
			return fail(c, g, "same address and port as backends[%u] "
				    "(%s)", k, fmt_addr(buf, sizeof(buf),
				    b->family, &b->addr, b->port));
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
	size_t old = path_push(c, "backends");
	int r = 0;

	if (n > SL_MAGLEV_N_MAX) {
		r = fail(c, list, "%u backends, at most %u", n, SL_MAGLEV_N_MAX);
		goto out;
	}
	v->backends = calloc(n ? n : 1, sizeof(*v->backends));
	if (!v->backends) {
		c->nomem = true;
		r = -ENOMEM;
		goto out;
	}
	for (j = 0; j < n && !r; j++) {
		size_t old2 = path_push_index(c, j);

		r = parse_backend(c, v, j, config_setting_get_elem(list, j), tmpl);
		path_pop(c, old2);
	}
	v->n_backends = n;
out:
	path_pop(c, old);
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
			return failk(c, seen[V_NAME], "name", "\"%s\" is already "
				     "the name of vips[%u]", v->name, k);
		if (same_addr(v->family, &v->addr, w->family, &w->addr) &&
		    v->port == w->port && v->proto == w->proto)
			return fail(c, g, "same address, port and protocol as "
				    "vips[%u] \"%s\" (%s %s)", k, w->name,
				    fmt_addr(buf, sizeof(buf), v->family,
					     &v->addr, v->port),
				    enum_name(proto_names, v->proto));
	}
	return 0;
}

static void vip_warnings(struct ctx *c, const struct sl_config_vip *v,
			 const config_setting_t *g,
			 const config_setting_t **seen)
{
	const config_setting_t *at = seen[V_TABLE_SIZE] ? seen[V_TABLE_SIZE] : g;
	char path[320];
	sl_u32 m;

	if (v->n_backends == 0) {
		warnp(c, seen[V_BACKENDS], join(path, sizeof(path), c->path,
		      "backends"), "no backends: traffic to this VIP is dropped");
		return;
	}
	if (sl_maglev_size_ok(v->table_size, v->n_backends))
		return;
	for (m = 100 * v->n_backends; !sl_maglev_is_prime(m); m++)
		;
	warnp(c, at, join(path, sizeof(path), c->path, "table_size"),
	      "%u is less than 100 x the number of backends (%u): shares may "
	      "stray more than 1%% from the weights (a prime >= %u fixes that)",
	      v->table_size, v->n_backends, m);
}

static int parse_vip(struct ctx *c, unsigned int i, const config_setting_t *g)
{
	struct sl_config_vip *v = &c->cfg->vips[i];
	const config_setting_t *seen[V_N];
	struct hc_layer tmpl;
	int r;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return fail(c, g, "expected a group { ... }, not %s", type_name(g));
	r = walk(c, g, vip_keys, V_N, v, seen);
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
		return failk(c, seen[V_TABLE_SIZE] ? seen[V_TABLE_SIZE] : g,
			     "table_size", "%u is less than the number of "
			     "backends (%u)", v->table_size, v->n_backends);
	vip_warnings(c, v, g, seen);
	return 0;
}

static int parse_vips(struct ctx *c, const config_setting_t *list)
{
	struct sl_config *cfg = c->cfg;
	unsigned int n = (unsigned int)config_setting_length(list), i;
	size_t old = path_push(c, "vips");
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
		size_t old2 = path_push_index(c, i);

		cfg->n_vips = i + 1;	/* so that free() finds its backends */
		r = parse_vip(c, i, config_setting_get_elem(list, i));
		path_pop(c, old2);
	}
out:
	path_pop(c, old);
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
			return failp(c, dpg, "dataplane.local_address6",
				     "required in dpdk mode: vips[%u] \"%s\" "
				     "sends to IPv6 backends", i, v->name);
		if (!cfg->dp.gateway6_family)
			return failp(c, dpg, "dataplane.gateway6",
				     "required in dpdk mode: vips[%u] \"%s\" "
				     "sends to IPv6 backends", i, v->name);
	}
	return 0;
}

static int parse_root(struct ctx *c, const config_setting_t *root)
{
	const config_setting_t *seen[R_N];
	int r;

	/* Groups first, so that an error inside one is not hidden by a
	 * missing setting further down. */
	r = walk_keys(c, root, root_keys, R_N, c->cfg, seen);
	if (!r && seen[R_DATAPLANE])
		r = parse_dataplane(c, seen[R_DATAPLANE]);
	if (!r)
		r = parse_control(c, seen[R_CONTROL]);
	if (!r && seen[R_VIPS])
		r = parse_vips(c, seen[R_VIPS]);
	if (!r)
		r = require(c, root, root_keys, R_N, seen);
	if (!r)
		r = encap_needs(c, seen[R_DATAPLANE]);
	return r;
}

/* ---- loading ------------------------------------------------------------ */

/*
 * libconfig 1.5 silently wraps an integer literal that does not fit in 32
 * bits (weight = 4294967396 reads as 100) and cuts a string at "\x00", so
 * the main text is scanned for both first. Included files are not scanned.
 */
static int __attribute__((format(printf, 3, 4)))
scan_fail(struct ctx *c, unsigned int line, const char *fmt, ...)
{
	int n = snprintf(c->err, c->errlen, "%s:%u: syntax error: ", c->file,
			 line);
	va_list ap;

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int scan_number(struct ctx *c, const char **pp, unsigned int line)
{
	const char *p = *pp, *q;
	unsigned long long v;
	int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');

	for (q = p + (hex ? 2 : 0); hex ? isxdigit((unsigned char)*q) :
	     isdigit((unsigned char)*q); q++)
		;
	if (!hex && (*q == '.' || *q == 'e' || *q == 'E')) {
		while (isdigit((unsigned char)*q) || strchr(".eE+-", *q))
			q++;
		*pp = q;
		return 0;
	}
	*pp = q + (*q == 'L');
	if (*q == 'L')
		return 0;
	errno = 0;
	v = strtoull(p, NULL, hex ? 16 : 10);
	if (errno || v > INT_MAX)
		return scan_fail(c, line, "integer %.*s does not fit in 32 bits",
				 (int)(q - p), p);
	return 0;
}

static int scan_ints(struct ctx *c, const char *p)
{
	unsigned int line = 1;
	int r;

	while (*p) {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (!strncmp(p, "\\x00", 4))
					return scan_fail(c, line, "\\x00 in a "
							 "string: libconfig strings "
							 "end at a NUL byte");
				if (*p == '\\' && p[1])
					p++;
				line += *p == '\n';
			}
			p += *p == '"';
		} else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
				line += *p == '\n';
			p += *p ? 2 : 0;
		} else if (isalpha((unsigned char)*p) || *p == '_' || *p == '*') {
			while (isalnum((unsigned char)*p) || strchr("_-*", *p))
				p++;
		} else if (isdigit((unsigned char)*p)) {
			r = scan_number(c, &p, line);
			if (r)
				return r;
		} else {
			p++;
		}
	}
	return 0;
}

static struct sl_config *load(const char *text, const char *name,
			      const char *include_dir, char *err, size_t errlen)
{
	struct ctx c = { .file = name, .dir = include_dir ? include_dir : "",
			 .err = err, .errlen = errlen };
	config_t lc;
	int r;

	c.cfg = calloc(1, sizeof(*c.cfg));
	if (!c.cfg) {
		snprintf(err, errlen, "%s: out of memory", name);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(c.cfg->file, sizeof(c.cfg->file), "%s", name);
	r = scan_ints(&c, text);
	if (r)
		goto fail;
	config_init(&lc);
	if (include_dir)
		config_set_include_dir(&lc, include_dir);
	if (config_read_string(&lc, text) != CONFIG_TRUE) {
		const char *what = config_error_text(&lc);

		snprintf(err, errlen, "%s:%d: syntax error%s%s",
			 file_name(&c, config_error_file(&lc)),
			 config_error_line(&lc),
			 strcmp(what, "syntax error") ? ": " : "",
			 strcmp(what, "syntax error") ? what : "");
		r = -EINVAL;
	} else {
		r = parse_root(&c, config_root_setting(&lc));
	}
	config_destroy(&lc);
	if (!r && c.nomem)
		r = -ENOMEM;
	if (!r)
		return c.cfg;
fail:
	if (r == -ENOMEM || c.nomem) {
		snprintf(err, errlen, "%s: out of memory", name);
		r = -ENOMEM;
	}
	sl_config_free(c.cfg);
	errno = -r;
	return NULL;
}

struct sl_config *sl_config_load_string(const char *text, const char *name,
					char *err, size_t errlen)
{
	return load(text, name, NULL, err, errlen);
}

static char *read_all(FILE *f)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;

	do {
		if (cap - len < 4096) {
			if (cap >= 64u << 20) {
				errno = EFBIG;
				goto fail;
			}
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap + 1);
			if (!nb)
				goto fail;
			buf = nb;
		}
		len += fread(buf + len, 1, cap - len, f);
	} while (!feof(f) && !ferror(f));
	if (ferror(f))
		goto fail;
	buf[len] = '\0';
	if (strlen(buf) != len) {
		errno = EILSEQ;	/* a NUL byte: not a text file */
		goto fail;
	}
	return buf;
fail:
	free(buf);
	return NULL;
}

struct sl_config *sl_config_load(const char *path, char *err, size_t errlen)
{
	struct sl_config *cfg;
	char *text, *dir, *slash;
	FILE *f;
	int e;

	f = fopen(path, "r");
	if (!f) {
		e = errno;
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	text = read_all(f);
	e = errno;
	fclose(f);
	if (!text) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	dir = strdup(path);
	if (!dir) {
		free(text);
		snprintf(err, errlen, "%s: out of memory", path);
		errno = ENOMEM;
		return NULL;
	}
	slash = strrchr(dir, '/');
	if (slash)
		slash[1] = '\0';
	cfg = load(text, path, slash ? dir : NULL, err, errlen);
	e = errno;
	free(dir);
	free(text);
	errno = e;
	return cfg;
}

void sl_config_free(struct sl_config *cfg)
{
	unsigned int i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->n_vips; i++)
		free(cfg->vips[i].backends);
	free(cfg->vips);
	for (i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	free(cfg);
}

unsigned int sl_config_count_backends(const struct sl_config *cfg)
{
	unsigned int i, n = 0;

	for (i = 0; i < cfg->n_vips; i++)
		n += cfg->vips[i].n_backends;
	return n;
}

const char *sl_config_method_name(sl_u8 method)
{
	return enum_name(method_names, method);
}

const char *sl_config_proto_name(sl_u8 proto)
{
	return enum_name(proto_names, proto);
}

const char *sl_config_hc_type_name(sl_u8 type)
{
	return enum_name(hc_type_names, type);
}
