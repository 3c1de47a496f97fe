/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_json.c: the JSON writer and parser (control/json.c) that the
 * control socket and sluicectl speak.
 *
 * The writer must produce valid JSON for any bytes it is given (a health
 * check's last_error can quote what a backend sent); the parser must give
 * back exactly what the writer wrote, and refuse malformed input with an
 * offset rather than crash or accept it. Random strings come from a fixed
 * seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static char *write_string(const char *s, size_t n)
{
	struct sl_buf b;

	sl_buf_init(&b);
	sl_json_escape(&b, s, n);
	assert_false(b.oom);
	return b.data;
}

static void test_writer_escapes_quotes_backslashes_and_controls(void **state)
{
	char *s = write_string("a\"b\\c\nd\te\r\b\f\x01\x1f\x7f", 15);

	assert_string_equal(s, "\"a\\\"b\\\\c\\nd\\te\\r\\b\\f\\u0001\\u001f"
			       "\\u007f\"");
	free(s);
}

static void test_writer_keeps_utf8_and_replaces_invalid_bytes(void **state)
{
	/* é, €, 😀 pass; a lone continuation byte, a truncated sequence,
	 * an overlong '/' and an encoded surrogate become U+FFFD */
	static const char in[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|\x80|"
				 "\xe2\x82|\xc0\xaf|\xed\xa0\x80";
	char *s = write_string(in, sizeof(in) - 1);

	assert_string_equal(s, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80|"
			       "\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd|"
			       "\\ufffd\\ufffd\\ufffd\"");
	free(s);
}

static void test_writer_places_commas_and_keys(void **state)
{
	struct sl_buf b;
	struct sl_jw w;

	sl_buf_init(&b);
	sl_jw_init(&w, &b);
	sl_jw_obj_begin(&w);
	sl_jw_kstr(&w, "name", "web");
	sl_jw_ku64(&w, "n", 18446744073709551615ULL);
	sl_jw_ks64(&w, "neg", -5);
	sl_jw_key(&w, "list");
	sl_jw_arr_begin(&w);
	sl_jw_u64(&w, 1);
	sl_jw_obj_begin(&w);
	sl_jw_obj_end(&w);
	sl_jw_arr_begin(&w);
	sl_jw_arr_end(&w);
	sl_jw_null(&w);
	sl_jw_arr_end(&w);
	sl_jw_kbool(&w, "t", true);
	sl_jw_kstr_or_null(&w, "e", "");
	sl_jw_kdouble(&w, "x", 0.5);
	sl_jw_kdouble(&w, "inf", 1.0 / 0.0);
	sl_jw_obj_end(&w);
	assert_false(b.oom);
	assert_string_equal(b.data,
			    "{\"name\":\"web\",\"n\":18446744073709551615,"
			    "\"neg\":-5,\"list\":[1,{},[],null],\"t\":true,"
			    "\"e\":null,\"x\":0.5,\"inf\":null}");
	sl_buf_free(&b);
}

static struct sl_json *parse_ok(const char *text)
{
	char err[128] = "";
	struct sl_json *v = sl_json_parse(text, strlen(text), err, sizeof(err));

	if (!v)
		fail_msg("'%s' refused: %s", text, err);
	return v;
}

static void test_parser_reads_every_type(void **state)
{
	struct sl_json *v = parse_ok(
		" {\"s\":\"a\\u00e9\\ud83d\\ude00\\n\\/\",\"i\":42,\"neg\":-7,"
		"\"big\":18446744073709551615,\"f\":-1.5e3,\"t\":true,"
		"\"f2\":false,\"z\":null,\"a\":[1,[2],{}],\"o\":{\"k\":\"v\"}}"
		" ");
	const struct sl_json *x;
	uint64_t u;

	assert_int_equal(v->type, SL_JSON_OBJECT);
	assert_int_equal(v->n, 10);
	assert_string_equal(sl_json_get_str(v, "s"),
			    "a\xc3\xa9\xf0\x9f\x98\x80\n/");
	assert_true(sl_json_get_u64(v, "i", &u));
	assert_int_equal(u, 42);
	x = sl_json_get(v, "neg");
	assert_true(x->is_int);
	assert_int_equal(x->i, -7);
	assert_false(sl_json_get_u64(v, "neg", &u));
	assert_true(sl_json_get_u64(v, "big", &u));
	assert_true(u == UINT64_MAX);
	x = sl_json_get(v, "f");
	assert_false(x->is_int);
	assert_true(x->num == -1500.0);
	assert_false(sl_json_get_u64(v, "f", &u));
	assert_true(sl_json_get_bool(v, "t"));
	assert_false(sl_json_get_bool(v, "f2"));
	assert_int_equal(sl_json_get(v, "z")->type, SL_JSON_NULL);
	x = sl_json_get(v, "a");
	assert_int_equal(x->type, SL_JSON_ARRAY);
	assert_int_equal(x->n, 3);
	assert_int_equal(x->items[1].type, SL_JSON_ARRAY);
	assert_int_equal(x->items[1].items[0].u, 2);
	assert_string_equal(sl_json_get_str(sl_json_get(v, "o"), "k"), "v");
	assert_null(sl_json_get(v, "missing"));
	assert_null(sl_json_get_str(v, "i"));
	sl_json_free(v);
}

/* A writer object {"S":"S"} for s[0..n), parsed back. */
static struct sl_json *round_trip(const char *s, size_t n, unsigned int round)
{
	struct sl_json *v;
	struct sl_buf b;
	struct sl_jw w;
	char err[128];

	sl_buf_init(&b);
	sl_jw_init(&w, &b);
	sl_jw_obj_begin(&w);
	sl_json_escape(&b, s, n); /* key: sl_jw_key takes C strings */
	sl_buf_add(&b, ":", 1);
	sl_json_escape(&b, s, n);
	sl_jw_obj_end(&w);
	assert_false(b.oom);
	v = sl_json_parse(b.data, b.len, err, sizeof(err));
	if (!v)
		fail_msg("round %u: writer output refused: %s: %s", round, err,
			 b.data);
	sl_buf_free(&b);
	assert_int_equal(v->type, SL_JSON_OBJECT);
	assert_int_equal(v->n, 1);
	return v;
}

static void test_parser_returns_what_the_writer_wrote(void **state)
{
	/* pieces of valid UTF-8, controls and JSON metacharacters */
	static const char *const alphabet[] = {
		"a",
		"Z",
		"0",
		" ",
		"\"",
		"\\",
		"/",
		"\n",
		"\t",
		"\x01",
		"\x1f",
		"\x7f",
		"{",
		"]",
		":",
		",",
		"\xc3\xa9",
		"\xe2\x82\xac",
		"\xf0\x9f\x98\x80",
		"\\u0041",
	};
	char s[256];
	struct sl_json *v;
	unsigned int round, i, n;
	size_t len;

	srand(12345);
	for (round = 0; round < 2000; round++) {
		n = (unsigned int)rand() % 40;
		len = 0;
		for (i = 0; i < n; i++) {
			const char *p = alphabet[rand() % 20];

			memcpy(s + len, p, strlen(p));
			len += strlen(p);
		}
		v = round_trip(s, len, round);
		assert_int_equal(v->items[0].len, len);
		assert_memory_equal(v->items[0].str, s, len);
		assert_int_equal(strlen(v->keys[0]), len);
		assert_memory_equal(v->keys[0], s, len);
		sl_json_free(v);
	}
	/* arbitrary bytes: whatever they are, the output is valid JSON */
	for (round = 0; round < 2000; round++) {
		n = (unsigned int)rand() % 64;
		for (i = 0; i < n; i++)
			s[i] = (char)(1 + rand() % 255);
		sl_json_free(round_trip(s, n, round));
	}
}

static void test_parser_rejects_malformed_input(void **state)
{
	static const char *const bad[] = {
		"",
		" ",
		"{",
		"}",
		"[1,]",
		"[1 2]",
		"{\"a\" 1}",
		"{\"a\":}",
		"{a:1}",
		"{\"a\":1,}",
		"'a'",
		"\"abc",
		"\"a\\x\"",
		"\"\\u12\"",
		"\"\\u12zz\"",
		"\"\\ud800\"",
		"\"\\udc00\"",
		"\"\\ud800\\u0041\"",
		"\"a\nb\"",
		"\"\xff\"",
		"01",
		"-",
		"1.",
		".5",
		"1e",
		"+1",
		"tru",
		"nul",
		"falsey",
		"NaN",
		"Infinity",
		"{} {}",
		"[]]",
		"1 2",
		"\"\xc0\xaf\"",
	};
	char err[128];
	struct sl_json *v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		errno = 0;
		v = sl_json_parse(bad[i], strlen(bad[i]), err, sizeof(err));
		if (v)
			fail_msg("accepted malformed '%s'", bad[i]);
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(err, "offset "));
	}
}

static void test_parser_bounds_nesting_depth(void **state)
{
	char text[2 * SL_JSON_DEPTH_MAX + 8], err[128];
	struct sl_json *v;
	unsigned int i, d;

	/* exactly the limit parses, one more is refused */
	for (d = SL_JSON_DEPTH_MAX; d <= SL_JSON_DEPTH_MAX + 1; d++) {
		for (i = 0; i < d; i++) {
			text[i] = '[';
			text[2 * d - 1 - i] = ']';
		}
		v = sl_json_parse(text, 2 * d, err, sizeof(err));
		if (d == SL_JSON_DEPTH_MAX) {
			assert_non_null(v);
		} else {
			assert_null(v);
			assert_non_null(strstr(err, "nested deeper"));
		}
		sl_json_free(v);
	}
	/* 100000 opening brackets: no stack overflow, an error */
	{
		size_t n = 100000;
		char *deep = malloc(n);

		assert_non_null(deep);
		memset(deep, '[', n);
		assert_null(sl_json_parse(deep, n, err, sizeof(err)));
		free(deep);
	}
}

static void test_parser_keeps_embedded_nul(void **state)
{
	struct sl_json *v = parse_ok("\"a\\u0000b\"");

	assert_int_equal(v->len, 3);
	assert_memory_equal(v->str, "a\0b", 3);
	sl_json_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_writer_escapes_quotes_backslashes_and_controls),
		cmocka_unit_test(
			test_writer_keeps_utf8_and_replaces_invalid_bytes),
		cmocka_unit_test(test_writer_places_commas_and_keys),
		cmocka_unit_test(test_parser_reads_every_type),
		cmocka_unit_test(test_parser_returns_what_the_writer_wrote),
		cmocka_unit_test(test_parser_rejects_malformed_input),
		cmocka_unit_test(test_parser_bounds_nesting_depth),
		cmocka_unit_test(test_parser_keeps_embedded_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
