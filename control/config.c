/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.c: load a sluice config file, validate all of it, hand back a new
 * struct sl_config (BIRD's way: parse into a new struct, validate whole, the
 * caller commits). Nothing here touches the running daemon.
 *
 * The work is split three ways, sharing struct ctx and the message helpers
 * through config_int.h:
 *
 *   config.c         reading the file (and the scan libconfig needs first),
 *                    the message helpers, freeing, the public API
 *   config_schema.c  the schema tables, the walker that applies one to a
 *                    group, and the checkers of single values
 *   config_rules.c   the walk from the root, the rules that span several
 *                    keys (mode-dependent settings, address families,
 *                    duplicates) and health-check inheritance
 *
 * The first error wins and the load stops there: one line, the offending
 * setting's file:line and path. Order: a group's settings in file order,
 * then its missing required settings, then the cross-setting rules; at the
 * top level the groups come before the missing settings, so that a mistake
 * inside dataplane is not hidden by a missing vips further down. Called from
 * sluiced's main thread and from sluicectl; no global state.
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
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_int.h"

/* ---- context and messages ----------------------------------------------- */

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
		n = snprintf(buf, len, "%s:%u: %s: ", src_file(c, s), line,
			     path);
	else
		n = snprintf(buf, len, "%s: %s: ", src_file(c, s), path);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(buf + n, len - n, fmt, ap);
}

int cfg_vfailp(struct ctx *c, const config_setting_t *s, const char *path,
	       const char *fmt, va_list ap)
{
	vformat(c, c->err, c->errlen, s, path, fmt, ap);
	return -EINVAL;
}

int __attribute__((format(printf, 4, 5)))
cfg_failp(struct ctx *c, const config_setting_t *s, const char *path,
	  const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cfg_vfailp(c, s, path, fmt, ap);
	va_end(ap);
	return r;
}

const char *cfg_join(char *buf, size_t len, const char *path, const char *name)
{
	snprintf(buf, len, "%s%s%s", path, path[0] ? "." : "", name);
	return buf;
}

/* An error about key name of the current group, at the line of s. */
int __attribute__((format(printf, 4, 5)))
cfg_failk(struct ctx *c, const config_setting_t *s, const char *name,
	  const char *fmt, ...)
{
	char path[320];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = cfg_vfailp(c, s, cfg_join(path, sizeof(path), c->path, name), fmt,
		       ap);
	va_end(ap);
	return r;
}

void __attribute__((format(printf, 4, 5)))
cfg_warnp(struct ctx *c, const config_setting_t *s, const char *path,
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

size_t cfg_path_push(struct ctx *c, const char *name)
{
	size_t old = strlen(c->path);

	snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "",
		 name);
	return old;
}

size_t cfg_path_push_index(struct ctx *c, unsigned int i)
{
	size_t old = strlen(c->path);

	snprintf(c->path + old, sizeof(c->path) - old, "[%u]", i);
	return old;
}

void cfg_path_pop(struct ctx *c, size_t old)
{
	c->path[old] = '\0';
}

const char *cfg_type_name(const config_setting_t *s)
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

	for (q = p + (hex ? 2 : 0);
	     hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q);
	     q++)
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
		return scan_fail(c, line,
				 "integer %.*s does not fit in 32 bits",
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
					return scan_fail(
						c, line,
						"\\x00 in a "
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
		} else if (isalpha((unsigned char)*p) || *p == '_' ||
			   *p == '*') {
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
	struct ctx c = { .file = name,
			 .dir = include_dir ? include_dir : "",
			 .err = err,
			 .errlen = errlen };
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
		r = cfg_parse_root(&c, config_root_setting(&lc));
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
		errno = EILSEQ; /* a NUL byte: not a text file */
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
	return cfg_enum_name(cfg_method_names, method);
}

const char *sl_config_proto_name(sl_u8 proto)
{
	return cfg_enum_name(cfg_proto_names, proto);
}

const char *sl_config_hc_type_name(sl_u8 type)
{
	return cfg_enum_name(cfg_hc_type_names, type);
}
