/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_publish.c: the shared-memory file and the table publisher
 * (control/shm.c, control/publish.c, control/publish_config.c).
 *
 * Every test maps a temporary file under /tmp (path_override), so no root
 * and no hugetlbfs are needed. A "dataplane" is simulated by writing
 * dp_pid, dp_heartbeat_ns and qs rows into the header as sluice-dp would.
 * The VIP index is checked against a naive scan on random VIP sets from a
 * fixed seed; Maglev entries against sl_maglev_build called directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "maglev.h"
#include "publish.h"

#define M1 251
#define M2 257

static char path_buf[128];
static int path_seq;

static const char *tmp_path(void)
{
	snprintf(path_buf, sizeof(path_buf), "/tmp/sl-test-publish-%d-%d",
		 (int)getpid(), path_seq++);
	unlink(path_buf);
	return path_buf;
}

static const struct sl_shm_caps small_caps = {
	.max_vips = 15,
	.max_backends = 31,
	.max_maglev = 8 * M2,
	.max_lcores = 4,
};

static struct sl_shm *mk_shm(const char *path, const struct sl_shm_caps *c)
{
	char err[256] = "";
	struct sl_shm *s = sl_shm_create("test", c, path, err, sizeof(err));

	if (!s)
		fail_msg("sl_shm_create: %s", err);
	return s;
}

static struct sl_publisher *mk_pub(struct sl_shm *s)
{
	char err[256] = "";
	struct sl_publisher *p = sl_publisher_new(s, err, sizeof(err));

	if (!p)
		fail_msg("sl_publisher_new: %s", err);
	sl_publisher_set_wait(p, 30);
	return p;
}

static union sl_addr a4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	union sl_addr x;

	memset(&x, 0, sizeof(x));
	x.b[0] = (sl_u8)a;
	x.b[1] = (sl_u8)b;
	x.b[2] = (sl_u8)c;
	x.b[3] = (sl_u8)d;
	return x;
}

static union sl_addr a6(unsigned last)
{
	union sl_addr x;

	memset(&x, 0, sizeof(x));
	x.b[0] = 0x20;
	x.b[1] = 0x01;
	x.b[2] = 0x0d;
	x.b[3] = 0xb8;
	x.b[15] = (sl_u8)last;
	return x;
}

static struct sl_pub_backend be4(unsigned d, unsigned port)
{
	struct sl_pub_backend b;

	memset(&b, 0, sizeof(b));
	b.addr = a4(203, 0, 113, d);
	b.family = SL_AF_INET;
	b.port = sl_htons((sl_u16)port);
	b.weight = 1;
	b.state = SL_BACKEND_UP;
	return b;
}

static struct sl_pub_vip vip4(const char *name, unsigned d, unsigned port,
			      sl_u8 proto, const struct sl_pub_backend *b,
			      unsigned n)
{
	struct sl_pub_vip v;

	memset(&v, 0, sizeof(v));
	v.name = name;
	v.addr = a4(192, 0, 2, d);
	v.family = SL_AF_INET;
	v.port = sl_htons((sl_u16)port);
	v.proto = proto;
	v.method = SL_METHOD_IPIP;
	v.table_size = M1;
	v.backends = b;
	v.n_backends = n;
	return v;
}

static struct sl_table_params params(void)
{
	struct sl_table_params p;

	memset(&p, 0, sizeof(p));
	p.seed.k0 = 0x0706050403020100ULL;
	p.seed.k1 = 0x0f0e0d0c0b0a0908ULL;
	p.mtu = 1500;
	p.gue_port = sl_htons(6080);
	p.tcp_timeout = 900;
	p.udp_timeout = 30;
	return p;
}

static int publish(struct sl_publisher *p, const struct sl_pub_vip *v,
		   unsigned n)
{
	struct sl_table_params tp = params();
	char err[256] = "";
	int rc = sl_publish(p, v, n, &tp, err, sizeof(err));

	if (rc && rc != -EAGAIN && rc != -ENOSPC)
		fail_msg("sl_publish: %d %s", rc, err);
	return rc;
}

static struct sl_table_hdr *active(struct sl_shm *s)
{
	struct sl_shm_header *h = sl_shm_header(s);

	return sl_table_slot(h, h->gen);
}

static struct sl_vip_key key_of(const struct sl_pub_vip *v, bool frag)
{
	struct sl_vip_key k;

	memset(&k, 0, sizeof(k));
	k.addr = v->addr;
	k.port = frag ? 0 : v->port;
	k.proto = v->proto | (frag ? SL_VIP_KEY_FRAG : 0);
	k.family = v->family;
	return k;
}

static sl_u16 lookup(struct sl_shm *s, const struct sl_pub_vip *v, bool frag)
{
	struct sl_vip_key k = key_of(v, frag);

	return sl_table_vip_lookup(active(s), &k);
}

static sl_u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sl_u64)ts.tv_sec * 1000000000ULL + (sl_u64)ts.tv_nsec;
}

/* ---- the file ---- */

static void test_create_fills_header_with_aligned_layout(void **state)
{
	const char *path = tmp_path();
	struct sl_shm *s = mk_shm(path, &small_caps);
	struct sl_shm_header *h = sl_shm_header(s);
	struct sl_table_hdr t;
	struct stat st;

	(void)state;
	assert_int_equal(h->magic, SL_SHM_MAGIC);
	assert_int_equal(h->abi_version, SL_TABLE_ABI_VERSION);
	assert_int_equal(h->header_size, sizeof(struct sl_shm_header));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(h->total_size, (sl_u64)st.st_size);
	assert_int_equal(h->slot_off[0] % 4096, 0);
	assert_int_equal(h->slot_off[1] % 4096, 0);
	assert_int_equal(h->stats_off % 4096, 0);
	assert_true(h->slot_off[0] >= sizeof(*h));
	assert_int_equal(h->slot_off[1], h->slot_off[0] + h->slot_size);
	assert_true(h->stats_off >= h->slot_off[1] + h->slot_size);
	assert_true(h->stats_off + h->stats_size <= h->total_size);
	/* Odd capacities round up so each lcore's stats row is aligned. */
	assert_int_equal(h->max_vips, 16);
	assert_int_equal(h->max_backends, 32);
	assert_int_equal(h->max_maglev, 8 * M2);
	assert_int_equal(h->max_lcores, 4);
	assert_int_equal(h->max_vip_index, 64);
	assert_int_equal(h->gen, 0);
	assert_int_equal(h->cp_pid, (sl_u64)getpid());
	assert_true(h->cp_heartbeat_ns > 0);
	assert_string_equal(h->instance, "test");
	assert_false(sl_shm_reattached(s));
	assert_false(sl_shm_dp_alive(h));

	sl_shm_slot_layout(h, &t);
	assert_int_equal(t.vips_off % SL_CACHE_LINE, 0);
	assert_int_equal(t.vip_index_off % SL_CACHE_LINE, 0);
	assert_int_equal(t.backends_off % SL_CACHE_LINE, 0);
	assert_int_equal(t.maglev_off % SL_CACHE_LINE, 0);
	assert_true(t.maglev_off + 4ULL * h->max_maglev <= h->slot_size);
	assert_int_equal((uintptr_t)sl_shm_stats_vip(h, 1) % SL_CACHE_LINE, 0);
	assert_int_equal((uintptr_t)sl_shm_stats_backend(h, 1) % SL_CACHE_LINE,
			 0);
	assert_true((sl_u8 *)(sl_shm_stats_backend(h, h->max_lcores)) ==
		    (sl_u8 *)h + h->stats_off + h->stats_size);
	sl_shm_close(s, true);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_second_publisher_on_one_file_is_refused(void **state)
{
	const char *path = tmp_path();
	struct sl_shm *s = mk_shm(path, &small_caps);
	char err[256] = "";

	(void)state;
	assert_null(sl_shm_create("test", &small_caps, path, err, sizeof(err)));
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(err, "another publisher"));
	sl_shm_close(s, true);
}

static void test_bad_caps_and_instance_are_refused(void **state)
{
	struct sl_shm_caps c = small_caps;
	char err[256] = "";

	(void)state;
	c.max_lcores = SL_MAX_LCORES + 1;
	assert_null(sl_shm_create("test", &c, tmp_path(), err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "lcores"));
	assert_null(
		sl_shm_create("../etc", &small_caps, NULL, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
}

static void test_abi_or_magic_mismatch_is_a_clear_error(void **state)
{
	const char *path = tmp_path();
	struct sl_shm *s = mk_shm(path, &small_caps);
	char err[256] = "";
	int fd;

	(void)state;
	sl_shm_header(s)->abi_version = 99;
	sl_shm_close(s, false);
	assert_null(sl_shm_create("test", &small_caps, path, err, sizeof(err)));
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(err, "ABI version 99"));
	assert_non_null(strstr(err, path));
	assert_null(sl_shm_attach("test", path, err, sizeof(err)));
	assert_int_equal(errno, EPROTO);
	unlink(path);

	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd,
			       "not sluice, not sluice, not sluice, "
			       "not sluice, not sluice, not sluice",
			       70),
			 70);
	assert_int_equal(ftruncate(fd, 65536), 0);
	close(fd);
	assert_null(sl_shm_create("test", &small_caps, path, err, sizeof(err)));
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(err, "not a sluice shared-memory file"));
	unlink(path);
}

static void test_attach_to_missing_file_says_so(void **state)
{
	char err[256] = "";

	(void)state;
	assert_null(sl_shm_attach("test", tmp_path(), err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
}

/* ---- publishing ---- */

static void test_publish_fills_slot_1_and_index_finds_each_vip(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_shm_header *h = sl_shm_header(s);
	struct sl_pub_backend b[3] = { be4(1, 80), be4(2, 80), be4(3, 80) };
	struct sl_pub_vip v[5];
	struct sl_vip_key k;
	struct sl_table_hdr *t;
	struct sl_publish_info info;
	unsigned i;

	(void)state;
	v[0] = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 3);
	v[1] = vip4("tls", 10, 443, SL_IPPROTO_TCP, b, 2);
	v[2] = vip4("dns", 11, 53, SL_IPPROTO_UDP, b, 1);
	v[3] = vip4("any", 12, 0, SL_IPPROTO_TCP, b + 2, 1);
	v[4] = vip4("any80", 12, 80, SL_IPPROTO_TCP, b + 1, 1);
	assert_int_equal(publish(p, v, 5), 0);
	assert_int_equal(h->gen, 1);
	t = active(s);
	assert_ptr_equal(t, (sl_u8 *)h + h->slot_off[1]);
	assert_int_equal(t->gen, 1);
	assert_int_equal(t->n_vips, 5);
	assert_int_equal(t->n_backends, 8);
	assert_int_equal(t->params.mtu, 1500);
	assert_int_equal(t->params.seed.k1, 0x0f0e0d0c0b0a0908ULL);
	/* 5 VIP keys and 3 fragment keys at load <= 1/2. */
	assert_int_equal(t->vip_index_size, 16);
	assert_int_equal(t->maglev_used, 5 * M1);
	sl_publisher_info(p, &info);
	assert_int_equal(info.gen, 1);
	assert_int_equal(info.vips, 5);
	assert_int_equal(info.backends, 8);

	for (i = 0; i < 5; i++) {
		sl_u16 id = lookup(s, &v[i], false);
		const struct sl_vip_entry *e = &sl_table_vips(t)[id];

		assert_int_equal(id, sl_publisher_vip_id(p, &v[i]));
		assert_int_equal(e->id, id);
		assert_string_equal(e->name, v[i].name);
		assert_int_equal(e->port, v[i].port);
		assert_int_equal(e->maglev_size, M1);
		assert_int_equal(e->n_backends, v[i].n_backends);
		assert_int_equal(!!(e->flags & SL_VIP_F_PORT_ANY),
				 v[i].port == 0);
	}
	/* Fragments: two VIPs on .10 -> ambiguous; .11 alone; .12 port-any. */
	assert_int_equal(lookup(s, &v[0], true), SL_VIP_AMBIGUOUS);
	assert_int_equal(lookup(s, &v[2], true), lookup(s, &v[2], false));
	assert_int_equal(lookup(s, &v[4], true), lookup(s, &v[3], false));
	/* Not VIPs: another address, another port, another protocol. */
	k = key_of(&v[0], false);
	k.addr = a4(192, 0, 2, 99);
	assert_int_equal(sl_table_vip_lookup(t, &k), SL_VIP_EMPTY);
	k = key_of(&v[0], false);
	k.port = sl_htons(81);
	assert_int_equal(sl_table_vip_lookup(t, &k), SL_VIP_EMPTY);
	k = key_of(&v[0], false);
	k.proto = SL_IPPROTO_UDP;
	assert_int_equal(sl_table_vip_lookup(t, &k), SL_VIP_EMPTY);
	k = key_of(&v[0], true);
	k.proto = SL_IPPROTO_UDP | SL_VIP_KEY_FRAG;
	assert_int_equal(sl_table_vip_lookup(t, &k), SL_VIP_EMPTY);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

static void test_maglev_entries_map_only_to_up_backends(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[6];
	struct sl_maglev_backend mb[2];
	struct sl_pub_vip v;
	struct sl_table_hdr *t;
	const struct sl_vip_entry *e;
	const struct sl_backend_entry *be;
	sl_u16 ref[M2];
	sl_u32 order[2], j;
	int id[6], i;

	(void)state;
	for (i = 0; i < 6; i++)
		b[i] = be4(20 + i, 8080);
	b[1].weight = 0; /* UP, weight 0: drained */
	b[2].state = SL_BACKEND_DRAINED;
	b[3].state = SL_BACKEND_DOWN;
	b[4].weight = 3;
	b[5].state = SL_BACKEND_DOWN;
	v = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 6);
	v.table_size = M2;
	assert_int_equal(publish(p, &v, 1), 0);
	t = active(s);
	e = &sl_table_vips(t)[lookup(s, &v, false)];
	be = sl_table_backends(t);
	for (i = 0; i < 6; i++) {
		id[i] = sl_publisher_backend_id(p, &v, &b[i]);
		assert_true(id[i] >= 0);
		assert_int_equal(be[id[i]].vip_id, e->id);
		assert_int_equal(be[id[i]].epoch, 1);
		assert_int_equal(be[id[i]].port, sl_htons(8080));
		assert_int_equal(be[id[i]].weight, b[i].weight);
	}
	assert_int_equal(be[id[0]].state, SL_BACKEND_UP);
	assert_int_equal(be[id[1]].state, SL_BACKEND_DRAINED);
	assert_int_equal(be[id[2]].state, SL_BACKEND_DRAINED);
	assert_int_equal(be[id[3]].state, SL_BACKEND_DOWN);
	assert_int_equal(be[id[4]].state, SL_BACKEND_UP);
	assert_int_equal(be[id[5]].state, SL_BACKEND_DOWN);
	assert_int_equal(e->maglev_size, M2);
	assert_int_equal(e->n_backends, 2);

	/* The same table as Maglev itself builds from the two UP backends. */
	memset(mb, 0, sizeof(mb));
	for (i = 0; i < 2; i++) {
		const struct sl_pub_backend *x = &b[i ? 4 : 0];

		mb[i].addr = x->addr;
		mb[i].family = x->family;
		mb[i].port = x->port;
		mb[i].weight = x->weight;
	}
	{
		struct sl_table_params tp = params();

		assert_int_equal(
			sl_maglev_build(mb, 2, M2, &tp.seed, ref, order), 0);
	}
	for (j = 0; j < M2; j++) {
		sl_u32 got = sl_table_maglev(t)[e->maglev_off + j];
		sl_u32 want = (sl_u32)id[order[ref[j]] ? 4 : 0];

		assert_int_equal(got, want);
	}
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

static void test_vip_without_up_backend_has_no_table(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[1] = { be4(1, 80) };
	struct sl_pub_vip v[2];
	const struct sl_vip_entry *e;

	(void)state;
	b[0].state = SL_BACKEND_DOWN;
	v[0] = vip4("down", 10, 80, SL_IPPROTO_TCP, b, 1);
	v[1] = vip4("empty", 11, 80, SL_IPPROTO_TCP, NULL, 0);
	assert_int_equal(publish(p, v, 2), 0);
	e = &sl_table_vips(active(s))[lookup(s, &v[0], false)];
	assert_int_equal(e->maglev_size, 0);
	assert_int_equal(e->n_backends, 0);
	e = &sl_table_vips(active(s))[lookup(s, &v[1], false)];
	assert_int_equal(e->maglev_size, 0);
	/* Each VIP still reserves its M, so health changes cannot overflow. */
	assert_int_equal(active(s)->maglev_used, 2 * M1);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

static void
test_ids_stay_across_republish_adding_vip_removing_backend(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[3] = { be4(1, 80), be4(2, 80), be4(3, 80) };
	struct sl_pub_backend b2[2] = { be4(1, 80), be4(3, 80) };
	struct sl_pub_backend c[1] = { be4(9, 53) };
	struct sl_pub_vip v1[1], v2[2];
	const struct sl_backend_entry *be;
	int vid, id[3], idc;

	(void)state;
	v1[0] = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 3);
	assert_int_equal(publish(p, v1, 1), 0);
	vid = sl_publisher_vip_id(p, &v1[0]);
	for (int i = 0; i < 3; i++)
		id[i] = sl_publisher_backend_id(p, &v1[0], &b[i]);
	assert_int_equal(id[0], 0);
	assert_int_equal(id[1], 1);
	assert_int_equal(id[2], 2);

	/* A new VIP listed first (its key sorts first too), b[1] removed. */
	v2[0] = vip4("dns", 9, 53, SL_IPPROTO_UDP, c, 1);
	v2[1] = vip4("web", 10, 80, SL_IPPROTO_TCP, b2, 2);
	assert_int_equal(publish(p, v2, 2), 0);
	assert_int_equal(sl_shm_header(s)->gen, 2);
	assert_int_equal(sl_publisher_vip_id(p, &v2[1]), vid);
	assert_int_equal(sl_publisher_vip_id(p, &v2[0]), 1);
	assert_int_equal(sl_publisher_backend_id(p, &v2[1], &b2[0]), id[0]);
	assert_int_equal(sl_publisher_backend_id(p, &v2[1], &b2[1]), id[2]);
	assert_int_equal(sl_publisher_backend_id(p, &v2[1], &b[1]), -ENOENT);
	/* The freed id goes to the new backend, with the next epoch. */
	idc = sl_publisher_backend_id(p, &v2[0], &c[0]);
	assert_int_equal(idc, id[1]);
	be = sl_table_backends(active(s));
	assert_int_equal(be[idc].epoch, 2);
	assert_int_equal(be[idc].vip_id, 1);
	assert_int_equal(be[id[0]].epoch, 1);
	assert_int_equal(be[id[2]].epoch, 1);
	assert_int_equal(active(s)->n_backends, 3);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

static void test_removed_backend_leaves_unused_id_with_its_epoch(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[3] = { be4(1, 80), be4(2, 80), be4(3, 80) };
	struct sl_pub_backend nb[3] = { be4(1, 80), be4(3, 80), be4(4, 80) };
	struct sl_pub_vip v = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 3);
	const struct sl_backend_entry *be;
	int i;

	(void)state;
	assert_int_equal(publish(p, &v, 1), 0);
	v.n_backends = 2;
	b[1] = b[2]; /* drop 203.0.113.2 (id 1) */
	assert_int_equal(publish(p, &v, 1), 0);
	be = sl_table_backends(active(s));
	assert_int_equal(active(s)->n_backends, 3);
	assert_int_equal(be[1].state, SL_BACKEND_UNUSED);
	assert_int_equal(be[1].epoch, 1);
	/* Reused three times over: the epoch counts each new holder. */
	for (i = 0; i < 3; i++) {
		v.backends = nb;
		v.n_backends = 3;
		nb[2] = be4(40 + i, 80);
		assert_int_equal(publish(p, &v, 1), 0);
		be = sl_table_backends(active(s));
		assert_int_equal(sl_publisher_backend_id(p, &v, &nb[2]), 1);
		assert_int_equal(be[1].epoch, 2 + i);
		assert_int_equal(be[1].state, SL_BACKEND_UP);
		v.n_backends = 2;
		assert_int_equal(publish(p, &v, 1), 0);
	}
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

/* ---- quiescence ---- */

static void dp_attach(struct sl_shm_header *h, sl_u64 pid, sl_u64 hb)
{
	h->dp_pid = pid;
	h->dp_heartbeat_ns = hb;
	h->dp_nb_lcores = 4;
}

static bool slot_is_zero(struct sl_shm *s, int slot)
{
	struct sl_shm_header *h = sl_shm_header(s);
	const sl_u8 *b = (const sl_u8 *)h + h->slot_off[slot];
	sl_u64 i;

	for (i = 0; i < h->slot_size; i++)
		if (b[i])
			return false;
	return true;
}

static void test_lagging_lcore_blocks_publish_until_it_reports(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_shm_header *h = sl_shm_header(s);
	struct sl_pub_backend b[2] = { be4(1, 80), be4(2, 80) };
	struct sl_pub_vip v = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 2);
	struct sl_table_params tp = params();
	char err[256] = "";

	(void)state;
	dp_attach(h, (sl_u64)getpid(), mono_ns());
	assert_true(sl_shm_dp_alive(h));
	h->qs[3].online = 1;
	h->qs[3].seen = 0;
	h->qs[5].online = 0; /* offline rows never block */
	h->qs[5].seen = 0;
	/* Generation 1 goes to slot 1, which nobody can be reading. */
	assert_true(sl_publish_ready(p));
	assert_int_equal(publish(p, &v, 1), 0);
	assert_int_equal(h->gen, 1);

	/* Row 3 still reads slot 0's generation: slot 0 must not be touched. */
	h->dp_heartbeat_ns = mono_ns();
	assert_false(sl_publish_ready(p));
	b[1].state = SL_BACKEND_DOWN;
	assert_int_equal(sl_publish(p, &v, 1, &tp, err, sizeof(err)), -EAGAIN);
	assert_non_null(strstr(err, "row 3"));
	assert_int_equal(h->gen, 1);
	assert_true(slot_is_zero(s, 0));
	/* Nothing committed: the backend is still UP in the active slot. */
	assert_int_equal(sl_table_backends(active(s))[1].state, SL_BACKEND_UP);

	/* The lcore moves on. */
	__atomic_store_n(&h->qs[3].seen, 1, __ATOMIC_RELEASE);
	h->dp_heartbeat_ns = mono_ns();
	assert_true(sl_publish_ready(p));
	assert_int_equal(publish(p, &v, 1), 0);
	assert_int_equal(h->gen, 2);
	assert_int_equal(sl_table_slot(h, 2)->gen, 2);
	assert_int_equal(sl_table_backends(active(s))[1].state,
			 SL_BACKEND_DOWN);
	/* And the next one waits for generation 2 again. */
	h->dp_heartbeat_ns = mono_ns();
	assert_false(sl_publish_ready(p));
	assert_int_equal(publish(p, &v, 1), -EAGAIN);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

static void test_dead_or_stale_dataplane_does_not_block(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_shm_header *h = sl_shm_header(s);
	struct sl_pub_backend b[1] = { be4(1, 80) };
	struct sl_pub_vip v = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 1);
	pid_t child;
	int st;

	(void)state;
	sl_publisher_set_wait(p, 5000);
	h->qs[0].online = 1;
	h->qs[0].seen = 0;
	assert_int_equal(publish(p, &v, 1), 0);

	/* A dataplane whose process has exited: fresh heartbeat or not. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, &st, 0), child);
	dp_attach(h, (sl_u64)child, mono_ns());
	assert_false(sl_shm_dp_alive(h));
	assert_true(sl_publish_ready(p));
	assert_int_equal(publish(p, &v, 1), 0);
	assert_int_equal(h->gen, 2);

	/* A live process whose heartbeat is over a second old. */
	dp_attach(h, (sl_u64)getpid(), mono_ns() - 2 * SL_DP_STALE_NS);
	assert_false(sl_shm_dp_alive(h));
	assert_int_equal(publish(p, &v, 1), 0);
	assert_int_equal(h->gen, 3);

	/* No dataplane at all. */
	dp_attach(h, 0, mono_ns());
	assert_int_equal(publish(p, &v, 1), 0);
	assert_int_equal(h->gen, 4);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

/* ---- restart ---- */

static void test_reattach_keeps_gen_tables_stats_and_ids(void **state)
{
	const char *path = tmp_path();
	struct sl_shm *s = mk_shm(path, &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[3] = { be4(1, 80), be4(2, 80), be4(3, 80) };
	struct sl_pub_backend b2[3] = { be4(1, 80), be4(3, 80), be4(7, 80) };
	struct sl_pub_vip v[2];
	struct sl_shm_caps smaller = small_caps;
	sl_u8 *copy;
	sl_u64 slot_size;
	int id1, id3, idw, idd;

	(void)state;
	v[0] = vip4("dns", 9, 53, SL_IPPROTO_UDP, b, 1);
	v[1] = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 3);
	assert_int_equal(publish(p, v, 2), 0);
	v[1].n_backends = 2;
	v[1].backends = b2; /* 203.0.113.2 removed: its id is free */
	assert_int_equal(publish(p, v, 2), 0);
	id1 = sl_publisher_backend_id(p, &v[1], &b2[0]);
	id3 = sl_publisher_backend_id(p, &v[1], &b2[1]);
	idd = sl_publisher_vip_id(p, &v[0]);
	idw = sl_publisher_vip_id(p, &v[1]);
	sl_shm_stats_vip(sl_shm_header(s), 2)[idw].packets = 42;
	slot_size = sl_shm_header(s)->slot_size;
	copy = malloc(slot_size);
	assert_non_null(copy);
	memcpy(copy, active(s), slot_size);
	sl_publisher_free(p);
	sl_shm_close(s, false);

	/* A restarted sluiced asking for less re-attaches untouched. */
	smaller.max_vips = 2;
	s = mk_shm(path, &smaller);
	assert_true(sl_shm_reattached(s));
	assert_int_equal(sl_shm_header(s)->gen, 2);
	assert_int_equal(sl_shm_header(s)->max_vips, 16);
	assert_memory_equal(active(s), copy, slot_size);
	{
		struct sl_vip_stats vs;

		assert_int_equal(sl_shm_sum_vip(sl_shm_header(s), idw, &vs), 0);
		assert_int_equal(vs.packets, 42);
	}
	p = mk_pub(s);
	assert_int_equal(sl_publisher_vip_id(p, &v[0]), idd);
	assert_int_equal(sl_publisher_vip_id(p, &v[1]), idw);
	assert_int_equal(sl_publisher_backend_id(p, &v[1], &b2[0]), id1);
	assert_int_equal(sl_publisher_backend_id(p, &v[1], &b2[1]), id3);
	/* Republishing the same input gives the same slot bytes. */
	assert_int_equal(publish(p, v, 2), 0);
	assert_int_equal(sl_shm_header(s)->gen, 3);
	sl_table_slot(sl_shm_header(s), 3)->gen = 2;
	assert_memory_equal(active(s), copy, slot_size);
	sl_table_slot(sl_shm_header(s), 3)->gen = 3;
	/* The freed id (recovered epoch 1) goes to a new backend as epoch 2. */
	v[1].n_backends = 3;
	assert_int_equal(publish(p, v, 2), 0);
	{
		int idn = sl_publisher_backend_id(p, &v[1], &b2[2]);
		const struct sl_backend_entry *be =
			sl_table_backends(active(s));

		assert_int_equal(idn, 2);
		assert_int_equal(be[idn].epoch, 2);
	}
	free(copy);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

static void
test_reattach_to_smaller_file_recreates_only_without_dataplane(void **state)
{
	const char *path = tmp_path();
	struct sl_shm *s = mk_shm(path, &small_caps);
	struct sl_shm_caps bigger = small_caps;
	char err[256] = "";

	(void)state;
	dp_attach(sl_shm_header(s), (sl_u64)getpid(), mono_ns());
	sl_shm_close(s, false);
	bigger.max_backends = 100;
	assert_null(sl_shm_create("test", &bigger, path, err, sizeof(err)));
	assert_int_equal(errno, ENOSPC);
	assert_non_null(strstr(err, "restart"));

	s = sl_shm_attach("test", path, err, sizeof(err));
	assert_non_null(s);
	dp_attach(sl_shm_header(s), 0, 0);
	sl_shm_close(s, false);
	s = mk_shm(path, &bigger);
	assert_false(sl_shm_reattached(s));
	assert_int_equal(sl_shm_header(s)->max_backends, 100);
	sl_shm_close(s, true);
}

/* ---- refusals ---- */

static void
test_capacity_overflow_is_an_error_and_publishes_nothing(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[40];
	struct sl_pub_vip v[20];
	struct sl_table_params tp = params();
	char err[256] = "";
	unsigned i;

	(void)state;
	for (i = 0; i < 40; i++)
		b[i] = be4(i + 1, 80);
	for (i = 0; i < 20; i++)
		v[i] = vip4("v", 100 + i, 80, SL_IPPROTO_TCP, b, 1);
	assert_int_equal(publish(p, v, 2), 0);

	/* 17 VIPs > 16. */
	assert_int_equal(sl_publish(p, v, 17, &tp, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "capacity of 16"));
	assert_int_equal(sl_shm_header(s)->gen, 1);
	/* 33 backends > 32. */
	v[0].n_backends = 33;
	assert_int_equal(sl_publish(p, v, 2, &tp, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "backends"));
	/* 9 tables of 251 entries > 8 * 257. */
	v[0].n_backends = 1;
	assert_int_equal(sl_publish(p, v, 9, &tp, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "Maglev"));
	assert_int_equal(sl_shm_header(s)->gen, 1);
	assert_true(slot_is_zero(s, 0));
	/* The ids are as before the refused publishes. */
	assert_int_equal(sl_publisher_vip_id(p, &v[2]), -ENOENT);
	assert_int_equal(publish(p, v + 1, 1), 0);
	assert_int_equal(sl_publisher_vip_id(p, &v[1]), 1);
	assert_int_equal(active(s)->n_vips, 2);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

static void test_bad_input_is_refused_with_its_name(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[2] = { be4(1, 80), be4(1, 80) };
	struct sl_pub_vip v[2];
	struct sl_table_params tp = params();
	char err[256] = "";

	(void)state;
	v[0] = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 1);
	v[1] = vip4("web2", 10, 80, SL_IPPROTO_TCP, b, 1);
	assert_int_equal(sl_publish(p, v, 2, &tp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "web2"));
	v[1].n_backends = 0;
	v[0].n_backends = 2;
	v[1].port = sl_htons(81);
	assert_int_equal(sl_publish(p, v, 2, &tp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "same address"));
	v[0].n_backends = 1;
	v[0].table_size = 250;
	assert_int_equal(sl_publish(p, v, 2, &tp, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "prime"));
	v[0].table_size = M1;
	v[0].proto = SL_IPPROTO_ICMP;
	assert_int_equal(sl_publish(p, v, 2, &tp, err, sizeof(err)), -EINVAL);
	assert_int_equal(sl_shm_header(s)->gen, 0);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

/* ---- determinism and caching ---- */

static void test_same_input_in_any_order_gives_identical_slots(void **state)
{
	struct sl_shm *s1 = mk_shm(tmp_path(), &small_caps);
	struct sl_shm *s2 = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p1 = mk_pub(s1), *p2 = mk_pub(s2);
	struct sl_pub_backend b[4] = { be4(1, 80), be4(2, 80), be4(3, 81),
				       be4(4, 80) };
	struct sl_pub_backend r[4] = { b[3], b[1], b[0], b[2] };
	struct sl_pub_backend c[2] = { be4(5, 53), be4(6, 53) };
	struct sl_pub_backend rc[2] = { c[1], c[0] };
	struct sl_pub_vip v[3], w[3];
	sl_u64 size;

	(void)state;
	b[2].state = SL_BACKEND_DRAINED;
	r[3].state = SL_BACKEND_DRAINED;
	b[1].weight = r[1].weight = 5;
	v[0] = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 4);
	v[1] = vip4("dns", 11, 53, SL_IPPROTO_UDP, c, 2);
	v[2] = vip4("any", 10, 0, SL_IPPROTO_TCP, c, 1);
	v[2].addr = a6(1);
	v[2].family = SL_AF_INET6;
	w[0] = v[2];
	w[1] = v[1];
	w[1].backends = rc;
	w[2] = v[0];
	w[2].backends = r;
	assert_int_equal(publish(p1, v, 3), 0);
	assert_int_equal(publish(p2, w, 3), 0);
	size = sl_shm_header(s1)->slot_size;
	assert_memory_equal(active(s1), active(s2), size);
	/* And again, now writing slot 0 over a history of one publish. */
	assert_int_equal(publish(p1, v, 3), 0);
	assert_int_equal(publish(p2, w, 3), 0);
	assert_memory_equal(active(s1), active(s2), size);
	sl_publisher_free(p1);
	sl_publisher_free(p2);
	sl_shm_close(s1, true);
	sl_shm_close(s2, true);
}

static void test_only_the_changed_vip_table_is_rebuilt(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[3] = { be4(1, 80), be4(2, 80), be4(3, 80) };
	struct sl_pub_backend c[3] = { be4(1, 443), be4(2, 443), be4(3, 443) };
	struct sl_pub_vip v[2];
	struct sl_publish_info info;
	struct sl_table_hdr *t;
	const struct sl_vip_entry *e;
	sl_u32 *before;
	sl_u32 j;

	(void)state;
	v[0] = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 3);
	v[1] = vip4("tls", 10, 443, SL_IPPROTO_TCP, c, 3);
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_int_equal(info.maglev_built, 2);
	assert_int_equal(info.maglev_copied, 0);
	t = active(s);
	e = &sl_table_vips(t)[lookup(s, &v[0], false)];
	before = malloc(M1 * sizeof(*before));
	assert_non_null(before);
	memcpy(before, sl_table_maglev(t) + e->maglev_off, M1 * 4);

	c[1].state = SL_BACKEND_DOWN;
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_int_equal(info.maglev_built, 1);
	assert_int_equal(info.maglev_copied, 1);
	t = active(s);
	e = &sl_table_vips(t)[lookup(s, &v[0], false)];
	assert_memory_equal(sl_table_maglev(t) + e->maglev_off, before, M1 * 4);
	e = &sl_table_vips(t)[lookup(s, &v[1], false)];
	for (j = 0; j < M1; j++)
		assert_int_not_equal(sl_table_maglev(t)[e->maglev_off + j],
				     sl_publisher_backend_id(p, &v[1], &c[1]));
	/* A drained backend's state change does not touch the table. */
	c[1].state = SL_BACKEND_DRAINED;
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_int_equal(info.maglev_built, 0);
	assert_int_equal(info.maglev_copied, 2);
	/* A weight change does. */
	b[0].weight = 2;
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_int_equal(info.maglev_built, 1);
	free(before);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

/* ---- VIP index against a naive reference ---- */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dULL;
}

/* Owner of fragments of v's (addr, proto, family), by scanning. */
static sl_u16 naive_frag_owner(struct sl_publisher *p,
			       const struct sl_pub_vip *v, unsigned n,
			       const struct sl_pub_vip *q)
{
	unsigned i, count = 0;
	int any = -1, only = -1;

	for (i = 0; i < n; i++) {
		if (memcmp(&v[i].addr, &q->addr, 16) ||
		    v[i].proto != q->proto || v[i].family != q->family)
			continue;
		count++;
		only = sl_publisher_vip_id(p, &v[i]);
		if (v[i].port == 0)
			any = only;
	}
	if (any >= 0)
		return (sl_u16)any;
	return count == 1 ? (sl_u16)only : SL_VIP_AMBIGUOUS;
}

static void test_vip_index_matches_naive_scan_on_random_sets(void **state)
{
	static const struct sl_shm_caps caps = {
		.max_vips = 64,
		.max_backends = 64,
		.max_maglev = 64 * 7,
		.max_lcores = 1,
	};
	struct sl_shm *s = mk_shm(tmp_path(), &caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_vip v[64];
	uint64_t x = 0x5eed5eed12345678ULL;
	unsigned round, n, i, j;

	(void)state;
	for (round = 0; round < 200; round++) {
		n = 1 + (unsigned)(rng_next(&x) % 64);
		for (i = 0; i < n; i++) {
			bool dup;

			do {
				uint64_t r = rng_next(&x);

				v[i] = vip4("r", 1 + r % 6, (r >> 8) % 4 * 80,
					    (r >> 16) & 1 ? SL_IPPROTO_TCP
							  : SL_IPPROTO_UDP,
					    NULL, 0);
				v[i].table_size = 7;
				if ((r >> 20) & 1) {
					v[i].addr = a6(1 + r % 6);
					v[i].family = SL_AF_INET6;
				}
				for (dup = false, j = 0; j < i; j++)
					dup |= !memcmp(&v[j].addr, &v[i].addr,
						       16) &&
					       v[j].port == v[i].port &&
					       v[j].proto == v[i].proto &&
					       v[j].family == v[i].family;
			} while (dup);
		}
		assert_int_equal(publish(p, v, n), 0);
		for (i = 0; i < n; i++) {
			assert_int_equal(lookup(s, &v[i], false),
					 sl_publisher_vip_id(p, &v[i]));
			assert_int_equal(lookup(s, &v[i], true),
					 naive_frag_owner(p, v, n, &v[i]));
		}
		assert_true(active(s)->vip_index_size <=
			    sl_shm_header(s)->max_vip_index);
	}
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

/* ---- incremental publishing against a from-scratch publish ---- */

static void test_state_change_writes_only_what_changed(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_publisher *p = mk_pub(s);
	struct sl_pub_backend b[4] = { be4(1, 80), be4(2, 80), be4(3, 80),
				       be4(4, 80) };
	struct sl_pub_backend c[4] = { be4(1, 443), be4(2, 443), be4(3, 443),
				       be4(4, 443) };
	struct sl_pub_vip v[2], w[2];
	struct sl_publish_info info;

	(void)state;
	v[0] = vip4("web", 10, 80, SL_IPPROTO_TCP, b, 4);
	v[1] = vip4("tls", 10, 443, SL_IPPROTO_TCP, c, 4);
	/* The first two publishes write both slots in full. */
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_true(info.full_write);
	assert_false(info.ids_reused);
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_true(info.full_write);
	assert_true(info.ids_reused);
	assert_int_equal(info.backends_written, 8);
	assert_int_equal(info.maglev_written, 2);
	/* Nothing changed: nothing to write. */
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_false(info.full_write);
	assert_true(info.ids_reused);
	assert_int_equal(info.vips_written, 0);
	assert_int_equal(info.backends_written, 0);
	assert_int_equal(info.maglev_written, 0);
	assert_int_equal(info.maglev_copied, 2);
	/* One verdict: its entry, its VIP's entry and table, here ... */
	c[2].state = SL_BACKEND_DOWN;
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_int_equal(info.maglev_built, 1);
	assert_int_equal(info.vips_written, 1);
	assert_int_equal(info.backends_written, 1);
	assert_int_equal(info.maglev_written, 1);
	assert_int_equal(sl_table_backends(active(
				 s))[sl_publisher_backend_id(p, &v[1], &c[2])]
				 .state,
			 SL_BACKEND_DOWN);
	/* ... and again in the other slot, which still holds the old ones. */
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_int_equal(info.maglev_built, 0);
	assert_int_equal(info.vips_written, 1);
	assert_int_equal(info.backends_written, 1);
	assert_int_equal(info.maglev_written, 1);
	assert_int_equal(publish(p, v, 2), 0);
	sl_publisher_info(p, &info);
	assert_int_equal(info.backends_written, 0);
	assert_int_equal(info.maglev_written, 0);
	/* The same identities in another order: sorted again, same ids. */
	w[0] = v[1];
	w[1] = v[0];
	assert_int_equal(publish(p, w, 2), 0);
	sl_publisher_info(p, &info);
	assert_false(info.ids_reused);
	assert_int_equal(info.vips_written, 0);
	assert_int_equal(info.backends_written, 0);
	assert_int_equal(info.maglev_written, 0);
	assert_int_equal(publish(p, w, 2), 0);
	sl_publisher_info(p, &info);
	assert_true(info.ids_reused);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

enum { RV = 10, RB = 8 }; /* VIP identities, backend identities per VIP */

/* A random input: identities from fixed pools, listed in a chosen order. */
struct rmodel {
	struct sl_pub_backend pool[RV][RB];
	struct sl_pub_vip vpool[RV];
	bool vip_on[RV], be_on[RV][RB];
	unsigned vorder[RV], border[RV][RB];
	struct sl_pub_backend bes[RV][RB];
	struct sl_pub_vip in[RV];
	unsigned n;
	struct sl_table_params tp;
};

static void shuffle(unsigned *a, unsigned n, uint64_t *x)
{
	unsigned i, j, t;

	for (i = n; i > 1; i--) {
		j = (unsigned)(rng_next(x) % i);
		t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void rmodel_init(struct rmodel *m, uint64_t *x)
{
	static const char *names[RV] = { "a", "b", "c", "d", "e",
					 "f", "g", "h", "i", "j" };
	unsigned i, j;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < RV; i++) {
		m->vpool[i] =
			vip4(names[i], 10 + i % 4, i < 8 ? 80 + i : 0,
			     i % 3 ? SL_IPPROTO_TCP : SL_IPPROTO_UDP, NULL, 0);
		if (i % 4 == 3) {
			m->vpool[i].addr = a6(i);
			m->vpool[i].family = SL_AF_INET6;
		}
		if (i >= 8)
			m->vpool[i].flags = SL_VIP_F_PORT_ANY;
		m->vip_on[i] = rng_next(x) % 4 != 0;
		m->vorder[i] = i;
		for (j = 0; j < RB; j++) {
			m->pool[i][j] = be4(1 + j, 8000 + i);
			if (j % 3 == 2) {
				m->pool[i][j].addr = a6(100 + j);
				m->pool[i][j].family = SL_AF_INET6;
			}
			m->be_on[i][j] = rng_next(x) % 4 != 0;
			m->border[i][j] = j;
		}
	}
	m->tp = params();
}

/* Rebuild m->in from the pools, the on flags and the orders. */
static void rmodel_input(struct rmodel *m)
{
	unsigned i, j, k, n = 0;

	for (i = 0; i < RV; i++) {
		unsigned vi = m->vorder[i];

		if (!m->vip_on[vi])
			continue;
		m->in[n] = m->vpool[vi];
		m->in[n].backends = m->bes[vi];
		for (j = 0, k = 0; j < RB; j++) {
			unsigned bj = m->border[vi][j];

			if (m->be_on[vi][bj])
				m->bes[vi][k++] = m->pool[vi][bj];
		}
		m->in[n++].n_backends = k;
	}
	m->n = n;
}

/* One random change, mostly what health checks and operators do; the VIP. */
static unsigned rmodel_change(struct rmodel *m, uint64_t *x)
{
	uint64_t r = rng_next(x);
	unsigned vi = (unsigned)(r % RV), bj = (unsigned)((r >> 8) % RB);
	struct sl_pub_backend *b = &m->pool[vi][bj];

	switch ((r >> 16) % 20) {
	case 0:
	case 1:
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
	case 7:
		b->state =
			(enum sl_backend_state)(SL_BACKEND_UP + (r >> 24) % 3);
		break;
	case 8:
	case 9:
	case 10:
		b->weight = (sl_u32)((r >> 24) % 4);
		break;
	case 11:
		b->mac[(r >> 24) % 6] ^= 1;
		break;
	case 12:
	case 13:
		m->vip_on[vi] = !m->vip_on[vi];
		break;
	case 14:
	case 15:
		m->be_on[vi][bj] = !m->be_on[vi][bj];
		break;
	case 16:
		m->vpool[vi].table_size =
			m->vpool[vi].table_size == M1 ? M2 : M1;
		break;
	case 17:
		m->vpool[vi].method = (sl_u8)(SL_METHOD_IPIP + (r >> 24) % 3);
		m->vpool[vi].flags ^= SL_VIP_F_FRAG_DROP;
		m->vpool[vi].name = (r >> 26) & 1 ? "renamed" : "x";
		break;
	case 18:
		if ((r >> 24) & 1)
			shuffle(m->vorder, RV, x);
		else
			shuffle(m->border[vi], RB, x);
		break;
	default:
		m->tp.seed.k0 ^= 1ULL << ((r >> 24) % 64);
		break;
	}
	return vi;
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	unlink(to);
	out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/*
 * A publish that fails after building its tables (the dataplane lags)
 * leaves the publisher's Maglev cache ahead of the slot; the publishes
 * after it must not mistake the cached table for the published one.
 * Flips every backend of VIP vi for that publish, then flips them back.
 */
static void fail_one_publish(struct sl_shm *s, struct sl_publisher *p,
			     struct rmodel *m, unsigned vi)
{
	struct sl_shm_header *h = sl_shm_header(s);
	unsigned bj;
	struct sl_pub_backend saved[RB];
	char err[256] = "";

	memcpy(saved, m->pool[vi], sizeof(saved));
	for (bj = 0; bj < RB; bj++)
		m->pool[vi][bj].state = m->pool[vi][bj].state == SL_BACKEND_UP
						? SL_BACKEND_DOWN
						: SL_BACKEND_UP;
	rmodel_input(m);
	dp_attach(h, (sl_u64)getpid(), mono_ns());
	h->qs[0].online = 1;
	h->qs[0].seen = h->gen - 1;
	sl_publisher_set_wait(p, 0);
	assert_int_equal(sl_publish(p, m->in, m->n, &m->tp, err, sizeof(err)),
			 -EAGAIN);
	h->qs[0].online = 0;
	dp_attach(h, 0, 0);
	sl_publisher_set_wait(p, 30);
	memcpy(m->pool[vi], saved, sizeof(saved));
}

static void test_incremental_slots_equal_a_from_scratch_publish(void **state)
{
	static const struct sl_shm_caps caps = {
		.max_vips = 16,
		.max_backends = 96,
		.max_maglev = RV * M2,
		.max_lcores = 1,
	};
	char path[128], ref_path[160];
	struct sl_shm *s, *rs;
	struct sl_publisher *p, *rp;
	struct sl_publish_info info;
	struct rmodel *m = malloc(sizeof(*m));
	uint64_t x = 0x1c4e3e27a1b2c3d4ULL;
	unsigned round, k, reused = 0, partial = 0, last_vi = 0;
	char err[256] = "";
	sl_u64 slot_size;

	(void)state;
	assert_non_null(m);
	snprintf(path, sizeof(path), "%s", tmp_path());
	snprintf(ref_path, sizeof(ref_path), "%s-ref", path);
	s = mk_shm(path, &caps);
	p = mk_pub(s);
	slot_size = sl_shm_header(s)->slot_size;
	rmodel_init(m, &x);
	for (round = 0; round < 400; round++) {
		/* Fail one on the VIP changed last, then republish that
		 * input: the changed tables are written again, this time
		 * into the other slot, while the cache holds another. */
		k = 1 + (unsigned)(rng_next(&x) % 3);
		if (round > 2 && rng_next(&x) % 6 == 0) {
			fail_one_publish(s, p, m, last_vi);
			k = 0;
		}
		for (; k; k--)
			last_vi = rmodel_change(m, &x);
		rmodel_input(m);
		/* The reference: a new publisher on a copy of the file as
		 * it is now, which recovers the ids and writes it all. */
		copy_file(path, ref_path);
		assert_int_equal(
			sl_publish(p, m->in, m->n, &m->tp, err, sizeof(err)),
			0);
		sl_publisher_info(p, &info);
		reused += info.ids_reused;
		partial += !info.full_write;
		rs = mk_shm(ref_path, &caps);
		assert_true(sl_shm_reattached(rs));
		rp = mk_pub(rs);
		assert_int_equal(
			sl_publish(rp, m->in, m->n, &m->tp, err, sizeof(err)),
			0);
		assert_int_equal(sl_shm_header(rs)->gen, sl_shm_header(s)->gen);
		assert_memory_equal(active(rs), active(s), slot_size);
		for (k = 0; k < m->n; k++)
			assert_int_equal(sl_publisher_vip_id(rp, &m->in[k]),
					 sl_publisher_vip_id(p, &m->in[k]));
		sl_publisher_free(rp);
		sl_shm_close(rs, true);
	}
	/* Most rounds took the incremental paths this test is about. */
	assert_true(reused > 200);
	assert_true(partial > 390);
	free(m);
	sl_publisher_free(p);
	sl_shm_close(s, true);
}

/* ---- stats and config ---- */

static void test_stats_readers_sum_the_lcore_rows(void **state)
{
	struct sl_shm *s = mk_shm(tmp_path(), &small_caps);
	struct sl_shm_header *h = sl_shm_header(s);
	struct sl_lcore_stats ls;
	struct sl_vip_stats vs;
	struct sl_backend_stats bs;
	unsigned l;

	(void)state;
	for (l = 0; l < 4; l++) {
		sl_shm_stats_lcore(h, l)->rx_packets = 10 + l;
		sl_shm_stats_lcore(h, l)->drops[SL_DROP_NOT_VIP] = 1;
		sl_shm_stats_lcore(h, l)->table_gen = 5 + l;
		sl_shm_stats_vip(h, l)[3].bytes = 100;
		sl_shm_stats_backend(h, l)[31].new_flows = l;
	}
	sl_shm_sum_lcore(h, &ls);
	assert_int_equal(ls.rx_packets, 46);
	assert_int_equal(ls.drops[SL_DROP_NOT_VIP], 4);
	assert_int_equal(ls.table_gen, 5);
	assert_int_equal(sl_shm_sum_vip(h, 3, &vs), 0);
	assert_int_equal(vs.bytes, 400);
	assert_int_equal(vs.packets, 0);
	assert_int_equal(sl_shm_sum_backend(h, 31, &bs), 0);
	assert_int_equal(bs.new_flows, 6);
	assert_int_equal(sl_shm_sum_backend(h, 32, &bs), -ENOENT);
	assert_int_equal(sl_shm_sum_vip(h, 16, &vs), -ENOENT);
	sl_shm_close(s, true);
}

static const char *cfg_text =
	"instance = \"t\";\n"
	"hash_seed = \"000102030405060708090a0b0c0d0e0f\";\n"
	"dataplane = { mode = \"dpdk\"; eal = [ \"-l\", \"0\" ];\n"
	"  interfaces = [ \"lb0\" ]; gateway = \"198.51.100.1\";\n"
	"  local_address = \"198.51.100.2\"; mtu = 1600;\n"
	"  fragments = \"drop\";\n"
	"  flow_table = { size = 1024; tcp_timeout = 60; udp_timeout = 5; }; "
	"};\n"
	"vips = ( { name = \"web\"; address = \"192.0.2.10\"; port = 80;\n"
	"  protocol = \"tcp\"; method = \"ipip\"; table_size = 251;\n"
	"  healthcheck = { type = \"none\"; };\n"
	"  backends = ( { address = \"203.0.113.11\"; weight = 1; },\n"
	"               { address = \"203.0.113.12\"; weight = 1; },\n"
	"               { address = \"203.0.113.13\"; weight = 0; } ); } );\n";

static void test_publish_config_applies_overrides(void **state)
{
	struct sl_config *cfg;
	struct sl_shm *s;
	struct sl_publisher *p;
	struct sl_pub_override ov[2];
	struct sl_shm_caps caps;
	const struct sl_backend_entry *be;
	const struct sl_vip_entry *e;
	struct sl_table_hdr *t;
	char err[512] = "";

	(void)state;
	cfg = sl_config_load_string(cfg_text, "t.conf", err, sizeof(err));
	if (!cfg)
		fail_msg("config: %s", err);
	sl_shm_caps_for_config(cfg, false, &caps);
	assert_int_equal(caps.max_vips, 64);
	assert_int_equal(caps.max_lcores, SL_MAX_LCORES);
	sl_shm_caps_for_config(cfg, true, &caps);
	assert_int_equal(caps.max_vips, 1);
	assert_int_equal(caps.max_backends, 3);
	assert_int_equal(caps.max_maglev, 251);
	s = mk_shm(tmp_path(), &caps);
	p = mk_pub(s);
	memset(ov, 0, sizeof(ov));
	ov[0].addr = a4(203, 0, 113, 12);
	ov[0].family = SL_AF_INET;
	ov[0].state = SL_BACKEND_DOWN;
	ov[0].weight = -1;
	ov[1].vip = "web";
	ov[1].addr = a4(203, 0, 113, 11);
	ov[1].family = SL_AF_INET;
	ov[1].port = sl_htons(80);
	ov[1].weight = 7;
	assert_int_equal(sl_publish_config(p, cfg, ov, 2, err, sizeof(err)), 0);
	t = active(s);
	assert_int_equal(t->params.mtu, 1600);
	assert_int_equal(t->params.tcp_timeout, 60);
	assert_int_equal(t->params.udp_timeout, 5);
	assert_int_equal(t->params.seed.k0, cfg->hash_seed.k0);
	assert_int_equal(t->params.encap_src4.v4, a4(198, 51, 100, 2).v4);
	assert_int_equal(t->params.gue_port, sl_htons(cfg->dp.gue_port));
	e = &sl_table_vips(t)[0];
	assert_string_equal(e->name, "web");
	assert_int_equal(e->port, sl_htons(80));
	assert_true(e->flags & SL_VIP_F_FRAG_DROP);
	assert_int_equal(e->n_backends, 1);
	be = sl_table_backends(t);
	assert_int_equal(be[0].state, SL_BACKEND_UP);
	assert_int_equal(be[0].weight, 7);
	assert_int_equal(be[0].port, sl_htons(80));
	assert_int_equal(be[1].state, SL_BACKEND_DOWN);
	assert_int_equal(be[2].state, SL_BACKEND_DRAINED);
	sl_publisher_free(p);
	sl_shm_close(s, true);
	sl_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_fills_header_with_aligned_layout),
		cmocka_unit_test(test_second_publisher_on_one_file_is_refused),
		cmocka_unit_test(test_bad_caps_and_instance_are_refused),
		cmocka_unit_test(test_abi_or_magic_mismatch_is_a_clear_error),
		cmocka_unit_test(test_attach_to_missing_file_says_so),
		cmocka_unit_test(
			test_publish_fills_slot_1_and_index_finds_each_vip),
		cmocka_unit_test(test_maglev_entries_map_only_to_up_backends),
		cmocka_unit_test(test_vip_without_up_backend_has_no_table),
		cmocka_unit_test(
			test_ids_stay_across_republish_adding_vip_removing_backend),
		cmocka_unit_test(
			test_removed_backend_leaves_unused_id_with_its_epoch),
		cmocka_unit_test(
			test_lagging_lcore_blocks_publish_until_it_reports),
		cmocka_unit_test(test_dead_or_stale_dataplane_does_not_block),
		cmocka_unit_test(test_reattach_keeps_gen_tables_stats_and_ids),
		cmocka_unit_test(
			test_reattach_to_smaller_file_recreates_only_without_dataplane),
		cmocka_unit_test(
			test_capacity_overflow_is_an_error_and_publishes_nothing),
		cmocka_unit_test(test_bad_input_is_refused_with_its_name),
		cmocka_unit_test(
			test_same_input_in_any_order_gives_identical_slots),
		cmocka_unit_test(test_only_the_changed_vip_table_is_rebuilt),
		cmocka_unit_test(
			test_vip_index_matches_naive_scan_on_random_sets),
		cmocka_unit_test(test_state_change_writes_only_what_changed),
		cmocka_unit_test(
			test_incremental_slots_equal_a_from_scratch_publish),
		cmocka_unit_test(test_stats_readers_sum_the_lcore_rows),
		cmocka_unit_test(test_publish_config_applies_overrides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
