/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_int.h: what config.c, config_schema.c and config_rules.c share;
 * private to them (the rest of sluice includes config.h only).
 *
 * One struct ctx lives for one load, on the loader's stack; every helper
 * here takes it and nothing keeps it afterwards. The cfg_fail* helpers
 * write the one error line into c->err and return -EINVAL, for the caller
 * to return at once (the first error wins).
 */
#ifndef SLUICE_CONTROL_CONFIG_INT_H
#define SLUICE_CONTROL_CONFIG_INT_H

#include <libconfig.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* ---- context and messages (config.c) ------------------------------------ */

struct ctx {
	const char *file; /* FILE for settings of the main text */
	const char *dir;  /* its directory, "" or ending in '/' */
	char name[512];	  /* an included file's name, for messages */
	struct sl_config *cfg;
	char *err;
	size_t errlen;
	bool nomem;
	char path[256]; /* path of the group being walked */
};

/* "FILE:LINE: PATH: text", or "FILE: PATH: text" for the root (no line). */
int cfg_vfailp(struct ctx *c, const config_setting_t *s, const char *path,
	       const char *fmt, va_list ap);
int __attribute__((format(printf, 4, 5)))
cfg_failp(struct ctx *c, const config_setting_t *s, const char *path,
	  const char *fmt, ...);

/* An error about s, whose path is the current one. */
#define fail(c, s, ...) cfg_failp((c), (s), (c)->path, __VA_ARGS__)

/* An error about key name of the current group, at the line of s. */
int __attribute__((format(printf, 4, 5)))
cfg_failk(struct ctx *c, const config_setting_t *s, const char *name,
	  const char *fmt, ...);

/* A warning in the same format, kept in c->cfg->warnings[]. */
void __attribute__((format(printf, 4, 5)))
cfg_warnp(struct ctx *c, const config_setting_t *s, const char *path,
	  const char *fmt, ...);

/* "path.name" into buf, or "name" when path is empty. */
const char *cfg_join(char *buf, size_t len, const char *path, const char *name);

/* Extend c->path by ".name" or "[i]"; each returns what cfg_path_pop()
 * takes to restore it. */
size_t cfg_path_push(struct ctx *c, const char *name);
size_t cfg_path_push_index(struct ctx *c, unsigned int i);
void cfg_path_pop(struct ctx *c, size_t old);

/* "an integer", "a string", ...: what s is, for messages. */
const char *cfg_type_name(const config_setting_t *s);

/* ---- the schema (config_schema.c) --------------------------------------- */

enum key_type {
	KT_STR,	   /* string into char[size] */
	KT_INT,	   /* integer into an unsigned field of 1, 2 or 4 bytes */
	KT_ENUM,   /* one of names[] into an integer field */
	KT_ADDR,   /* address: union sl_addr at off, family byte at off2 */
	KT_MAC,	   /* MAC: sl_u8[6] at off, bool at off2 */
	KT_STRS,   /* array or list of strings: char[nmax][size] at off,
			 * the count (unsigned int) at off2 */
	KT_CUSTOM, /* string that check() parses and stores */
	KT_GROUP,  /* { ... }, walked by the caller */
	KT_LIST,   /* ( { ... }, ... ), walked by the caller */
};

struct enum_name {
	const char *name;
	sl_u8 val;
};

struct key {
	const char *name;
	sl_u8 type; /* enum key_type */
	bool required;
	bool has_def;
	sl_u8 fam; /* KT_ADDR: required family, or 0 */
	size_t off, off2, size;
	unsigned int nmax;  /* KT_STRS: most elements */
	long long min, max; /* KT_INT: range; KT_STRS: min elements */
	long long def;	    /* KT_INT, KT_ENUM, when has_def */
	const struct enum_name *names; /* KT_ENUM, NULL-terminated */
	/* Extra rule for the value of s; KT_CUSTOM: also stores it. */
	int (*check)(struct ctx *c, const config_setting_t *s, void *obj);
};

/* Each table's keys, by index into it (and into the seen[] of a walk). */
enum { R_INSTANCE, R_HASH_SEED, R_DATAPLANE, R_CONTROL, R_VIPS, R_N };
enum {
	D_MODE,
	D_EAL,
	D_INTERFACES,
	D_XDP_MODE,
	D_GATEWAY,
	D_GATEWAY_MAC,
	D_GATEWAY6,
	D_LOCAL,
	D_LOCAL6,
	D_ENCAP4,
	D_ENCAP6,
	D_MTU,
	D_FRAGMENTS,
	D_GUE_PORT,
	D_FLOW_TABLE,
	D_N
};
enum { F_SIZE, F_TCP, F_UDP, F_N };
enum { C_SOCKET, C_METRICS, C_N };
enum {
	V_NAME,
	V_ADDRESS,
	V_PORT,
	V_PROTOCOL,
	V_METHOD,
	V_TABLE_SIZE,
	V_HEALTHCHECK,
	V_BACKENDS,
	V_N
};
enum { B_ADDRESS, B_PORT, B_WEIGHT, B_MAC, B_HEALTHCHECK, B_N };
enum {
	H_TYPE,
	H_PORT,
	H_PATH,
	H_EXPECT,
	H_PAYLOAD,
	H_EXPECT_PAYLOAD,
	H_INTERVAL,
	H_TIMEOUT,
	H_RISE,
	H_FALL,
	H_N
};

extern const struct key cfg_root_keys[R_N];
extern const struct key cfg_dp_keys[D_N];   /* dataplane */
extern const struct key cfg_flow_keys[F_N]; /* dataplane.flow_table */
extern const struct key cfg_control_keys[C_N];
extern const struct key cfg_vip_keys[V_N];
extern const struct key cfg_backend_keys[B_N];
extern const struct key cfg_hc_keys[H_N]; /* healthcheck, no defaults */

extern const struct enum_name cfg_proto_names[];
extern const struct enum_name cfg_method_names[];
extern const struct enum_name cfg_hc_type_names[];

/* The name of val in e[], or "?". */
const char *cfg_enum_name(const struct enum_name *e, sl_u8 val);

/*
 * Apply keys[] to group g (NULL: absent, defaults only) into obj, in file
 * order. seen[i] is the setting that gave keys[i], or NULL. c->path is g's.
 * cfg_walk_keys() leaves the check for missing keys to the caller
 * (cfg_require()); cfg_walk() does both.
 */
int cfg_walk_keys(struct ctx *c, const config_setting_t *g,
		  const struct key *keys, unsigned int n, void *obj,
		  const config_setting_t **seen);
int cfg_require(struct ctx *c, const config_setting_t *g,
		const struct key *keys, unsigned int n,
		const config_setting_t **seen);
int cfg_walk(struct ctx *c, const config_setting_t *g, const struct key *keys,
	     unsigned int n, void *obj, const config_setting_t **seen);

/* ---- the walk and the cross-setting rules (config_rules.c) -------------- */

/* Fill c->cfg from the root group of a parsed file; 0 or -errno. */
int cfg_parse_root(struct ctx *c, const config_setting_t *root);

#endif /* SLUICE_CONTROL_CONFIG_INT_H */
