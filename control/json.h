/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json.h: a growable text buffer, a JSON writer into it, and a small JSON
 * parser (RFC 8259: objects, arrays, strings, numbers, true/false/null).
 *
 * The writer is what sluiced's control socket answers with; the parser is
 * what sluicectl reads those answers with. No dependency beyond libc.
 *
 * Buffer: on allocation failure it sets oom and ignores further output, so
 * a writer can run to the end and check once. The writer always produces
 * valid JSON for any input: strings are escaped, bytes that are not valid
 * UTF-8 become U+FFFD, non-finite doubles become null.
 *
 * Parser: builds a tree (struct sl_json) owned by the caller; rejects
 * trailing text, raw control characters in strings, bad escapes and lone
 * surrogates, nesting deeper than SL_JSON_DEPTH_MAX. Not thread-safe per
 * value; no global state.
 */
#ifndef SLUICE_CONTROL_JSON_H
#define SLUICE_CONTROL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- buffer ---- */

struct sl_buf {
	char *data; /* NUL-terminated when len > 0 */
	size_t len;
	size_t cap;
	bool oom;
};

void sl_buf_init(struct sl_buf *b);
void sl_buf_free(struct sl_buf *b);
void sl_buf_reset(struct sl_buf *b);
void sl_buf_add(struct sl_buf *b, const void *p, size_t n);
void sl_buf_puts(struct sl_buf *b, const char *s);
void sl_buf_printf(struct sl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append s[0..n) as a quoted JSON string. */
void sl_json_escape(struct sl_buf *b, const char *s, size_t n);

/* ---- writer ---- */

#define SL_JSON_DEPTH_MAX 32

/*
 * Commas are placed by the writer: call sl_jw_key() before each value
 * inside an object, nothing before values inside an array.
 */
struct sl_jw {
	struct sl_buf *b;
	unsigned int depth;
	bool need_comma[SL_JSON_DEPTH_MAX + 1];
	bool after_key;
};

void sl_jw_init(struct sl_jw *w, struct sl_buf *b);
void sl_jw_obj_begin(struct sl_jw *w);
void sl_jw_obj_end(struct sl_jw *w);
void sl_jw_arr_begin(struct sl_jw *w);
void sl_jw_arr_end(struct sl_jw *w);
void sl_jw_key(struct sl_jw *w, const char *key);
void sl_jw_str(struct sl_jw *w, const char *s);
void sl_jw_u64(struct sl_jw *w, uint64_t v);
void sl_jw_s64(struct sl_jw *w, int64_t v);
void sl_jw_double(struct sl_jw *w, double v);
void sl_jw_bool(struct sl_jw *w, bool v);
void sl_jw_null(struct sl_jw *w);
/* Insert already-valid JSON text as one value. */
void sl_jw_raw(struct sl_jw *w, const char *json, size_t n);

/* key + value in one call */
void sl_jw_kstr(struct sl_jw *w, const char *key, const char *s);
void sl_jw_kstr_or_null(struct sl_jw *w, const char *key, const char *s);
void sl_jw_ku64(struct sl_jw *w, const char *key, uint64_t v);
void sl_jw_ks64(struct sl_jw *w, const char *key, int64_t v);
void sl_jw_kdouble(struct sl_jw *w, const char *key, double v);
void sl_jw_kbool(struct sl_jw *w, const char *key, bool v);
void sl_jw_knull(struct sl_jw *w, const char *key);

/* ---- parser ---- */

enum sl_json_type {
	SL_JSON_NULL,
	SL_JSON_BOOL,
	SL_JSON_NUMBER,
	SL_JSON_STRING,
	SL_JSON_ARRAY,
	SL_JSON_OBJECT,
};

struct sl_json {
	enum sl_json_type type;
	bool boolean;
	double num;
	/* Integers without fraction or exponent that fit are exact here. */
	bool is_int;
	int64_t i;	       /* valid when is_int and num >= INT64_MIN */
	uint64_t u;	       /* valid when is_int and not negative */
	char *str;	       /* strings: UTF-8, NUL-terminated ... */
	size_t len;	       /* ... but may hold NUL bytes (\u0000) */
	size_t n;	       /* array elements / object members */
	struct sl_json *items; /* n values */
	char **keys;	       /* objects: n keys, NUL-terminated */
};

/*
 * Parse text[0..len). Returns a new tree, or NULL with a message in err
 * ("offset 17: expected ':' after object key") and errno EINVAL / ENOMEM.
 */
struct sl_json *sl_json_parse(const char *text, size_t len, char *err,
			      size_t errlen);
void sl_json_free(struct sl_json *v);

/* Object member by key (the first one), or NULL (also for non-objects). */
const struct sl_json *sl_json_get(const struct sl_json *obj, const char *key);
/* The member's string, or NULL when it is absent or not a string. */
const char *sl_json_get_str(const struct sl_json *obj, const char *key);
/*
 * The member as a non-negative integer into *out; false when absent, null,
 * negative or not an integer.
 */
bool sl_json_get_u64(const struct sl_json *obj, const char *key, uint64_t *out);
/* The member's boolean; false when absent or not a boolean. */
bool sl_json_get_bool(const struct sl_json *obj, const char *key);

#endif /* SLUICE_CONTROL_JSON_H */
