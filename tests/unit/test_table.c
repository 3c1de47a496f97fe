/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_table.c: properties of the table ABI's inline helpers (table.h).
 *
 * The VIP index is open addressing with linear probing at load <= 1/2, so
 * its lookups are only as fast as sl_vip_key_hash spreads realistic VIP
 * sets: addresses that differ in one byte, many ports on one address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sluice/table.h"

#define INDEX_SIZE 512

/* Insert n keys into an index of INDEX_SIZE; the longest probe sequence. */
static unsigned int longest_probe(const struct sl_vip_key *keys, unsigned int n)
{
	static char used[INDEX_SIZE];
	unsigned int i, worst = 0;

	memset(used, 0, sizeof(used));
	for (i = 0; i < n; i++) {
		sl_u32 h = sl_vip_key_hash(&keys[i]) & (INDEX_SIZE - 1);
		unsigned int probes = 1;

		while (used[h]) {
			h = (h + 1) & (INDEX_SIZE - 1);
			probes++;
		}
		used[h] = 1;
		if (probes > worst)
			worst = probes;
	}
	return worst;
}

static void key4(struct sl_vip_key *k, sl_u8 a, sl_u8 b, sl_u8 c, sl_u8 d,
		 sl_u16 port, sl_u8 proto)
{
	memset(k, 0, sizeof(*k));
	k->addr.b[0] = a;
	k->addr.b[1] = b;
	k->addr.b[2] = c;
	k->addr.b[3] = d;
	k->port = sl_htons(port);
	k->proto = proto;
	k->family = SL_AF_INET;
}

static void test_vip_hash_spreads_addresses_differing_in_the_last_byte(void **s)
{
	struct sl_vip_key keys[200];
	unsigned int i;

	(void)s;
	/* 100 VIPs 192.0.2.1..100:80/tcp and their fragment keys. */
	for (i = 0; i < 100; i++) {
		key4(&keys[i], 192, 0, 2, (sl_u8)(i + 1), 80, SL_IPPROTO_TCP);
		key4(&keys[100 + i], 192, 0, 2, (sl_u8)(i + 1), 0,
		     SL_IPPROTO_TCP | SL_VIP_KEY_FRAG);
	}
	/* Ideal linear probing at load 0.4 has a longest run of about 6. */
	assert_true(longest_probe(keys, 200) <= 12);
}

static void test_vip_hash_spreads_ports_of_one_address(void **s)
{
	struct sl_vip_key keys[200];
	unsigned int i;

	(void)s;
	for (i = 0; i < 200; i++)
		key4(&keys[i], 192, 0, 2, 10, (sl_u16)(8000 + i),
		     i & 1 ? SL_IPPROTO_UDP : SL_IPPROTO_TCP);
	assert_true(longest_probe(keys, 200) <= 12);
}

static void test_vip_hash_spreads_ipv6_vips(void **s)
{
	struct sl_vip_key keys[200];
	unsigned int i;

	(void)s;
	for (i = 0; i < 200; i++) {
		memset(&keys[i], 0, sizeof(keys[i]));
		keys[i].addr.b[0] = 0x20;
		keys[i].addr.b[1] = 0x01;
		keys[i].addr.b[2] = 0x0d;
		keys[i].addr.b[3] = 0xb8;
		keys[i].addr.b[14] = (sl_u8)(i >> 8);
		keys[i].addr.b[15] = (sl_u8)i;
		keys[i].port = sl_htons(443);
		keys[i].proto = SL_IPPROTO_TCP;
		keys[i].family = SL_AF_INET6;
	}
	assert_true(longest_probe(keys, 200) <= 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_vip_hash_spreads_addresses_differing_in_the_last_byte),
		cmocka_unit_test(test_vip_hash_spreads_ports_of_one_address),
		cmocka_unit_test(test_vip_hash_spreads_ipv6_vips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
