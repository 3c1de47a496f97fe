/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fp_world.h: one lcore's fast path over a real publisher, without DPDK,
 * for the dpdk suite's cmocka tests (test_fastpath.c, test_express.c).
 *
 * world_new() loads tests/fixtures/fastpath.conf, creates its shared
 * memory in a temporary directory, publishes it with the real publisher
 * and sets up one struct sl_fp as sluice-dp sets up a worker lcore (row 1,
 * port 0, a static gateway MAC). run() feeds it one frame in a buffer with
 * 128 bytes of headroom and 256 of tailroom. Single-threaded: the test is
 * the lcore and the control plane at once. Header-only, static functions:
 * each test binary includes it once.
 */
#ifndef SLUICE_TEST_FP_WORLD_H
#define SLUICE_TEST_FP_WORLD_H

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fastpath.h"
#include "flowtab.h"
#include "neigh.h"
#include "publish.h"

#ifndef SL_SOURCE_ROOT
#define SL_SOURCE_ROOT "."
#endif
#define FIXDIR SL_SOURCE_ROOT "/tests/fixtures/"

#define HEADROOM 128
#define TAILROOM 256
#define MAX_FRAME 2048
#define NOW_NS (1000ull * 1000 * 1000 * 1000) /* 1000 s */

static const sl_u8 port_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const sl_u8 gw_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };

/* ---- the world: config, shared memory, one lcore ---- */

struct world {
	char dir[64];
	char shm_path[96];
	struct sl_config *cfg;
	char cfg_name[64];
	struct sl_shm *shm;
	struct sl_shm_header *h;
	struct sl_publisher *pub;
	struct sl_fp_conf conf;
	void *ft_mem;
	struct sl_flowtab ft;
	struct sl_neigh neigh;
	struct sl_fp fp;
};

static void set_addr(union sl_addr *a, int v6, const char *s)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, s, a), 1);
}

static void load_config(struct world *w, const char *name)
{
	char path[512], err[512];

	sl_config_free(w->cfg);
	snprintf(path, sizeof(path), FIXDIR "%s", name);
	w->cfg = sl_config_load(path, err, sizeof(err));
	if (!w->cfg)
		fail_msg("%s", err);
	snprintf(w->cfg_name, sizeof(w->cfg_name), "%s", name);
}

static void publish(struct world *w, const struct sl_pub_override *ov,
		    unsigned int n_ov)
{
	char err[512];

	if (sl_publish_config(w->pub, w->cfg, ov, n_ov, err, sizeof(err)))
		fail_msg("publish: %s", err);
	sl_fp_begin_burst(&w->fp, NOW_NS);
}

static struct world *world_new(bool publish_now)
{
	struct world *w = calloc(1, sizeof(*w));
	struct sl_shm_caps caps;
	char err[512];

	assert_non_null(w);
	snprintf(w->dir, sizeof(w->dir), "/tmp/sl-fastpath-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(w->shm_path, sizeof(w->shm_path), "%s/shm", w->dir);
	load_config(w, "fastpath.conf");
	sl_shm_caps_for_config(w->cfg, false, &caps);
	caps.max_lcores = 4;
	w->shm = sl_shm_create(w->cfg->instance, &caps, w->shm_path, err,
			       sizeof(err));
	if (!w->shm)
		fail_msg("shm: %s", err);
	w->h = sl_shm_header(w->shm);
	w->pub = sl_publisher_new(w->shm, err, sizeof(err));
	if (!w->pub)
		fail_msg("publisher: %s", err);

	memcpy(w->conf.port_mac[0], port_mac, 6);
	w->conf.nb_ports = 1;
	w->conf.local4 = w->cfg->dp.local_address;
	w->conf.local6 = w->cfg->dp.local_address6;
	w->conf.has_local6 = true;
	w->conf.gateway4 = w->cfg->dp.gateway;
	memcpy(w->conf.gw_mac, gw_mac, 6);
	w->conf.has_gw_mac = true;
	w->conf.gateway6 = w->cfg->dp.gateway6;
	w->conf.has_gateway6 = true;
	w->conf.icmp_rate = 1000;
	w->conf.icmp_burst = 100;
	{
		union sl_addr a;

		set_addr(&a, 0, "198.51.100.2");
		assert_memory_equal(&a, &w->conf.local4, sizeof(a));
		set_addr(&a, 0, "198.51.100.1");
		assert_memory_equal(&a, &w->conf.gateway4, sizeof(a));
	}

	w->ft_mem = aligned_alloc(64, sl_flowtab_mem_size(4096));
	assert_non_null(w->ft_mem);
	assert_int_equal(sl_flowtab_init(&w->ft, w->ft_mem, 4096,
					 w->cfg->dp.tcp_timeout,
					 w->cfg->dp.udp_timeout),
			 0);
	sl_neigh_init(&w->neigh);
	assert_int_equal(
		sl_fp_init(&w->fp, w->h, 1, &w->conf, &w->ft, &w->neigh), 0);
	sl_fp_begin_burst(&w->fp, NOW_NS);
	if (publish_now)
		publish(w, NULL, 0);
	return w;
}

static void world_free(struct world *w)
{
	sl_fp_detach(&w->fp);
	sl_publisher_free(w->pub);
	sl_shm_close(w->shm, true);
	sl_config_free(w->cfg);
	free(w->ft_mem);
	rmdir(w->dir);
	free(w);
}

/* Run one frame; the output (on TX) is copied to out. */
static enum sl_verdict run(struct world *w, const sl_u8 *frame, size_t len,
			   enum sl_drop *reason, sl_u8 *out, size_t *out_len)
{
	static sl_u8 mem[HEADROOM + MAX_FRAME + TAILROOM];
	struct sl_buf b;
	enum sl_verdict v;

	assert_true(len <= MAX_FRAME);
	memset(mem, 0xa5, sizeof(mem));
	memcpy(mem + HEADROOM, frame, len);
	b.data = mem + HEADROOM;
	b.len = (sl_u32)len;
	b.headroom = HEADROOM;
	b.tailroom = TAILROOM + MAX_FRAME - (sl_u32)len;
	*reason = SL_DROP_NONE;
	v = sl_fp_process(&w->fp, 0, &b, reason);
	if (v == SL_VERDICT_TX) {
		/* The buffer accounting must still describe mem exactly. */
		if (b.data - b.headroom != mem ||
		    b.headroom + b.len + b.tailroom != sizeof(mem)) {
			print_error(
				"buffer accounting: headroom %u len %u "
				"tailroom %u, data at %td, over %zu bytes\n",
				b.headroom, b.len, b.tailroom, b.data - mem,
				sizeof(mem));
			*reason = SL_DROP_MAX; /* flags the mismatch */
		}
		memcpy(out, b.data, b.len);
		*out_len = b.len;
	}
	return v;
}

#endif /* SLUICE_TEST_FP_WORLD_H */
