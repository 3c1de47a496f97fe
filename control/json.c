/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json.c: text buffer, JSON writer and JSON parser (see json.h).
 *
 * The writer must emit valid JSON whatever the daemon holds: a health
 * check's last_error may quote bytes a backend sent, so strings are checked
 * for UTF-8 and invalid bytes replaced. The parser is a recursive descent
 * bounded by SL_JSON_DEPTH_MAX; it reads replies of the local daemon, but
 * still treats them as untrusted input (sluicectl may be pointed at any
 * socket).
 */
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- buffer ------------------------------------------------------------- */

void sl_buf_init(struct sl_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void sl_buf_free(struct sl_buf *b)
{
	free(b->data);
	sl_buf_init(b);
}

void sl_buf_reset(struct sl_buf *b)
{
	b->len = 0;
	b->oom = false;
	if (b->data)
		b->data[0] = '\0';
}

static bool buf_reserve(struct sl_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return false;
	}
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void sl_buf_add(struct sl_buf *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void sl_buf_puts(struct sl_buf *b, const char *s)
{
	sl_buf_add(b, s, strlen(s));
}

void sl_buf_printf(struct sl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* ---- string escaping ---------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void sl_json_escape(struct sl_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run, l;

	sl_buf_add(b, "\"", 1);
	while (i < n) {
		/* copy runs of plain characters in one go */
		for (run = i; run < n && s[run] >= 0x20 && s[run] < 0x7f &&
			      s[run] != '"' && s[run] != '\\';
		     run++)
			;
		if (run > i) {
			sl_buf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		switch (s[i]) {
		case '"':
			sl_buf_add(b, "\\\"", 2);
			break;
		case '\\':
			sl_buf_add(b, "\\\\", 2);
			break;
		case '\n':
			sl_buf_add(b, "\\n", 2);
			break;
		case '\r':
			sl_buf_add(b, "\\r", 2);
			break;
		case '\t':
			sl_buf_add(b, "\\t", 2);
			break;
		case '\b':
			sl_buf_add(b, "\\b", 2);
			break;
		case '\f':
			sl_buf_add(b, "\\f", 2);
			break;
		default:
			if (s[i] < 0x20 || s[i] == 0x7f) {
				sl_buf_printf(b, "\\u%04x", s[i]);
				break;
			}
			l = utf8_len(s + i, n - i);
			if (l == 0) {
				sl_buf_add(b, "\\ufffd", 6);
				break;
			}
			sl_buf_add(b, s + i, l);
			i += l;
			continue;
		}
		i++;
	}
	sl_buf_add(b, "\"", 1);
}

/* ---- writer ------------------------------------------------------------- */

void sl_jw_init(struct sl_jw *w, struct sl_buf *b)
{
	memset(w, 0, sizeof(*w));
	w->b = b;
}

/* Separator before a value (or a key). */
static void jw_sep(struct sl_jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		sl_buf_add(w->b, ",", 1);
	w->need_comma[w->depth] = true;
}

static void jw_open(struct sl_jw *w, char c)
{
	jw_sep(w);
	sl_buf_add(w->b, &c, 1);
	if (w->depth < SL_JSON_DEPTH_MAX)
		w->depth++;
	else
		w->b->oom = true; /* too deep: refuse rather than corrupt */
	w->need_comma[w->depth] = false;
}

static void jw_close(struct sl_jw *w, char c)
{
	sl_buf_add(w->b, &c, 1);
	if (w->depth)
		w->depth--;
}

void sl_jw_obj_begin(struct sl_jw *w)
{
	jw_open(w, '{');
}
void sl_jw_obj_end(struct sl_jw *w)
{
	jw_close(w, '}');
}
void sl_jw_arr_begin(struct sl_jw *w)
{
	jw_open(w, '[');
}
void sl_jw_arr_end(struct sl_jw *w)
{
	jw_close(w, ']');
}

void sl_jw_key(struct sl_jw *w, const char *key)
{
	jw_sep(w);
	sl_json_escape(w->b, key, strlen(key));
	sl_buf_add(w->b, ":", 1);
	w->after_key = true;
}

void sl_jw_str(struct sl_jw *w, const char *s)
{
	jw_sep(w);
	sl_json_escape(w->b, s, strlen(s));
}

void sl_jw_u64(struct sl_jw *w, uint64_t v)
{
	jw_sep(w);
	sl_buf_printf(w->b, "%" PRIu64, v);
}

void sl_jw_s64(struct sl_jw *w, int64_t v)
{
	jw_sep(w);
	sl_buf_printf(w->b, "%" PRId64, v);
}

void sl_jw_double(struct sl_jw *w, double v)
{
	jw_sep(w);
	if (!isfinite(v))
		sl_buf_puts(w->b, "null");
	else
		sl_buf_printf(w->b, "%.17g", v);
}

void sl_jw_bool(struct sl_jw *w, bool v)
{
	jw_sep(w);
	sl_buf_puts(w->b, v ? "true" : "false");
}

void sl_jw_null(struct sl_jw *w)
{
	jw_sep(w);
	sl_buf_puts(w->b, "null");
}

void sl_jw_raw(struct sl_jw *w, const char *json, size_t n)
{
	jw_sep(w);
	sl_buf_add(w->b, json, n);
}

void sl_jw_kstr(struct sl_jw *w, const char *key, const char *s)
{
	sl_jw_key(w, key);
	sl_jw_str(w, s);
}

void sl_jw_kstr_or_null(struct sl_jw *w, const char *key, const char *s)
{
	sl_jw_key(w, key);
	if (s && *s)
		sl_jw_str(w, s);
	else
		sl_jw_null(w);
}

void sl_jw_ku64(struct sl_jw *w, const char *key, uint64_t v)
{
	sl_jw_key(w, key);
	sl_jw_u64(w, v);
}

void sl_jw_ks64(struct sl_jw *w, const char *key, int64_t v)
{
	sl_jw_key(w, key);
	sl_jw_s64(w, v);
}

void sl_jw_kdouble(struct sl_jw *w, const char *key, double v)
{
	sl_jw_key(w, key);
	sl_jw_double(w, v);
}

void sl_jw_kbool(struct sl_jw *w, const char *key, bool v)
{
	sl_jw_key(w, key);
	sl_jw_bool(w, v);
}

void sl_jw_knull(struct sl_jw *w, const char *key)
{
	sl_jw_key(w, key);
	sl_jw_null(w);
}

/* ---- parser ------------------------------------------------------------- */

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	char *err;
	size_t errlen;
	int errnum;
};

static bool __attribute__((format(printf, 2, 3)))
fail(struct parser *p, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (p->errnum)
		return false; /* keep the first error */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "offset %zu: %s", p->pos, msg);
	p->errnum = EINVAL;
	return false;
}

static bool oom(struct parser *p)
{
	if (!p->errnum) {
		snprintf(p->err, p->errlen, "out of memory");
		p->errnum = ENOMEM;
	}
	return false;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len &&
	       (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
		p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return fail(p, "invalid literal");
	p->pos += n;
	return true;
}

static int hex4(struct parser *p, uint32_t *out)
{
	uint32_t v = 0;
	size_t i;
	char c;

	if (p->len - p->pos < 4)
		return fail(p, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		c = p->s[p->pos + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(p, "bad hex digit in \\u escape");
	}
	p->pos += 4;
	*out = v;
	return true;
}

static void put_utf8(struct sl_buf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xf0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sl_buf_add(b, u, n);
}

static bool parse_escape(struct parser *p, struct sl_buf *b)
{
	uint32_t cp, lo;
	char c = p->s[p->pos++];

	switch (c) {
	case '"':
		sl_buf_add(b, "\"", 1);
		return true;
	case '\\':
		sl_buf_add(b, "\\", 1);
		return true;
	case '/':
		sl_buf_add(b, "/", 1);
		return true;
	case 'b':
		sl_buf_add(b, "\b", 1);
		return true;
	case 'f':
		sl_buf_add(b, "\f", 1);
		return true;
	case 'n':
		sl_buf_add(b, "\n", 1);
		return true;
	case 'r':
		sl_buf_add(b, "\r", 1);
		return true;
	case 't':
		sl_buf_add(b, "\t", 1);
		return true;
	case 'u':
		break;
	default:
		p->pos--;
		return fail(p, "bad escape '\\%c'", c);
	}
	if (!hex4(p, &cp))
		return false;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(p, "lone low surrogate in \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
		    p->s[p->pos + 1] != 'u')
			return fail(p, "high surrogate without a low one");
		p->pos += 2;
		if (!hex4(p, &lo))
			return false;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(p, "high surrogate without a low one");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	put_utf8(b, cp);
	return true;
}

/* At the opening quote; the string goes into *out (malloc'd) / *outlen. */
static bool parse_string(struct parser *p, char **out, size_t *outlen)
{
	struct sl_buf b;
	unsigned char c;
	size_t l;

	sl_buf_init(&b);
	p->pos++;
	for (;;) {
		if (p->pos >= p->len) {
			fail(p, "unterminated string");
			goto err;
		}
		c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c == '\\') {
			p->pos++;
			if (p->pos >= p->len) {
				fail(p, "unterminated string");
				goto err;
			}
			if (!parse_escape(p, &b))
				goto err;
			continue;
		}
		if (c < 0x20) {
			fail(p, "control character in string");
			goto err;
		}
		l = utf8_len((const unsigned char *)p->s + p->pos,
			     p->len - p->pos);
		if (!l) {
			fail(p, "invalid UTF-8 in string");
			goto err;
		}
		sl_buf_add(&b, p->s + p->pos, l);
		p->pos += l;
	}
	if (!b.data)
		sl_buf_add(&b, "", 0);
	if (b.oom) {
		oom(p);
		goto err;
	}
	*out = b.data;
	*outlen = b.len;
	return true;
err:
	sl_buf_free(&b);
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool parse_number(struct parser *p, struct sl_json *v)
{
	size_t start = p->pos;
	bool integer = true, neg = false;
	char tmp[64];
	size_t n;
	char *end;

	if (p->s[p->pos] == '-') {
		neg = true;
		p->pos++;
	}
	if (p->pos >= p->len || !is_digit(p->s[p->pos]))
		return fail(p, "bad number");
	if (p->s[p->pos] == '0')
		p->pos++;
	else
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		integer = false;
		p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
			return fail(p, "bad number: no digit after '.'");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		integer = false;
		p->pos++;
		if (p->pos < p->len &&
		    (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !is_digit(p->s[p->pos]))
			return fail(p, "bad number: no digit in exponent");
		while (p->pos < p->len && is_digit(p->s[p->pos]))
			p->pos++;
	}
	n = p->pos - start;
	if (n >= sizeof(tmp))
		return fail(p, "number too long");
	memcpy(tmp, p->s + start, n);
	tmp[n] = '\0';
	v->type = SL_JSON_NUMBER;
	v->num = strtod(tmp, NULL);
	if (integer) {
		errno = 0;
		if (neg) {
			v->i = strtoll(tmp, &end, 10);
			v->is_int = errno == 0;
		} else {
			v->u = strtoull(tmp, &end, 10);
			v->is_int = errno == 0;
			v->i = v->u <= INT64_MAX ? (int64_t)v->u : INT64_MAX;
		}
	}
	return true;
}

static bool parse_value(struct parser *p, struct sl_json *v,
			unsigned int depth);

static bool grow(struct parser *p, struct sl_json *v, size_t *cap, bool keys)
{
	size_t ncap = *cap ? *cap * 2 : 4;
	struct sl_json *items;
	char **k;

	items = realloc(v->items, ncap * sizeof(*items));
	if (!items)
		return oom(p);
	v->items = items;
	if (keys) {
		k = realloc(v->keys, ncap * sizeof(*k));
		if (!k)
			return oom(p);
		v->keys = k;
	}
	*cap = ncap;
	return true;
}

static bool parse_container(struct parser *p, struct sl_json *v,
			    unsigned int depth)
{
	bool obj = p->s[p->pos] == '{';
	char close = obj ? '}' : ']';
	size_t cap = 0, klen;
	char *key;

	if (depth >= SL_JSON_DEPTH_MAX)
		return fail(p, "nested deeper than %d", SL_JSON_DEPTH_MAX);
	v->type = obj ? SL_JSON_OBJECT : SL_JSON_ARRAY;
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return true;
	}
	for (;;) {
		if (v->n == cap && !grow(p, v, &cap, obj))
			return false;
		skip_ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return fail(p, "expected a string key");
			if (!parse_string(p, &key, &klen))
				return false;
			v->keys[v->n] = key;
			memset(&v->items[v->n], 0, sizeof(v->items[0]));
			v->n++; /* counted now so that free() finds the key */
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return fail(p, "expected ':' after object key");
			p->pos++;
			if (!parse_value(p, &v->items[v->n - 1], depth + 1))
				return false;
		} else {
			memset(&v->items[v->n], 0, sizeof(v->items[0]));
			v->n++;
			if (!parse_value(p, &v->items[v->n - 1], depth + 1))
				return false;
		}
		skip_ws(p);
		if (p->pos >= p->len)
			return fail(p, "unterminated %s",
				    obj ? "object" : "array");
		if (p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->s[p->pos] == close) {
			p->pos++;
			return true;
		}
		return fail(p, "expected ',' or '%c'", close);
	}
}

static bool parse_value(struct parser *p, struct sl_json *v, unsigned int depth)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return fail(p, "expected a value");
	switch (p->s[p->pos]) {
	case '{':
	case '[':
		return parse_container(p, v, depth);
	case '"':
		v->type = SL_JSON_STRING;
		return parse_string(p, &v->str, &v->len);
	case 't':
		v->type = SL_JSON_BOOL;
		v->boolean = true;
		return literal(p, "true");
	case 'f':
		v->type = SL_JSON_BOOL;
		return literal(p, "false");
	case 'n':
		v->type = SL_JSON_NULL;
		return literal(p, "null");
	default:
		if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
			return parse_number(p, v);
		return fail(p, "unexpected character '%c'", p->s[p->pos]);
	}
}

static void free_members(struct sl_json *v)
{
	size_t i;

	free(v->str);
	for (i = 0; i < v->n; i++) {
		free_members(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
}

void sl_json_free(struct sl_json *v)
{
	if (!v)
		return;
	free_members(v);
	free(v);
}

struct sl_json *sl_json_parse(const char *text, size_t len, char *err,
			      size_t errlen)
{
	struct parser p = {
		.s = text, .len = len, .err = err, .errlen = errlen
	};
	struct sl_json *v = calloc(1, sizeof(*v));

	if (!v) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if (parse_value(&p, v, 0)) {
		skip_ws(&p);
		if (p.pos == p.len)
			return v;
		fail(&p, "trailing characters after the value");
	}
	sl_json_free(v);
	errno = p.errnum;
	return NULL;
}

const struct sl_json *sl_json_get(const struct sl_json *obj, const char *key)
{
	size_t i;

	if (!obj || obj->type != SL_JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->n; i++)
		if (!strcmp(obj->keys[i], key))
			return &obj->items[i];
	return NULL;
}

const char *sl_json_get_str(const struct sl_json *obj, const char *key)
{
	const struct sl_json *v = sl_json_get(obj, key);

	return v && v->type == SL_JSON_STRING ? v->str : NULL;
}

bool sl_json_get_u64(const struct sl_json *obj, const char *key, uint64_t *out)
{
	const struct sl_json *v = sl_json_get(obj, key);

	if (!v || v->type != SL_JSON_NUMBER || !v->is_int || v->num < 0)
		return false;
	*out = v->u;
	return true;
}

bool sl_json_get_bool(const struct sl_json *obj, const char *key)
{
	const struct sl_json *v = sl_json_get(obj, key);

	return v && v->type == SL_JSON_BOOL && v->boolean;
}
