/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_daemon.c: sluiced's runtime state (control/daemon.c, reload.c):
 * operator drain and weight, backend specs, reload (carry of state by
 * identity, an invalid file keeps the running config), and a restart that
 * re-attaches to the shared memory and takes every backend's state from
 * the published table, so the next publish moves no flow.
 *
 * Shared memory is a temporary file under /tmp (path_override). Health
 * checks are aimed at 127.0.0.1 with a long interval; the tests never wait
 * for them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "health.h"
#include "publish.h"

#define MS 1000000ULL

static char conf_path[128];
static char shm_path[128];
static const char *extra_vip = ""; /* ", { ... }" appended to vips */

static const char *conf_head =
	"instance = \"%s\";\n"
	"hash_seed = \"00112233445566778899aabbccddeeff\";\n"
	"dataplane = { mode = \"dpdk\"; interfaces = [ \"lb0\" ];\n"
	"  gateway = \"198.51.100.1\"; local_address = \"198.51.100.2\";\n"
	"  gateway6 = \"2001:db8:1::1\"; local_address6 = \"2001:db8:1::2\"; "
	"};\n"
	"control = { socket = \"/tmp/sl-test-daemon.sock\"; };\n";

/* VIP "web" with backends .11 .12 .13 (+ extra), VIP "dns" unless !dns. */
static void write_conf(const char *instance, const char *web_backends, bool dns)
{
	FILE *f = fopen(conf_path, "w");

	assert_non_null(f);
	fprintf(f, conf_head, instance);
	fprintf(f,
		"vips = ( { name = \"web\"; address = \"192.0.2.10\";\n"
		"  port = 80; protocol = \"tcp\";\n"
		"  healthcheck = { type = \"tcp\"; port = 9; "
		"interval_ms = 3600000; };\n"
		"  backends = ( %s ); }%s%s );\n",
		web_backends,
		dns ? ", { name = \"dns\"; address = \"192.0.2.53\"; port = "
		      "53;\n"
		      "  protocol = \"udp\"; healthcheck = { type = \"none\"; "
		      "};\n"
		      "  backends = ( { address = \"203.0.113.53\"; } ); }"
		    : "",
		extra_vip);
	fclose(f);
}

#define WEB3                                \
	"{ address = \"203.0.113.11\"; }, " \
	"{ address = \"203.0.113.12\"; }, { address = \"203.0.113.13\"; }"

struct env {
	struct sl_daemon d;
	int publishes;
};

static int stub_publish(struct sl_daemon *d, char *err, size_t errlen)
{
	((struct env *)d)->publishes++;
	return 0;
}

static void quiet(int prio, const char *line, void *arg)
{
}

static struct env *env_new(bool with_shm)
{
	struct env *e = calloc(1, sizeof(*e));
	char err[512] = "";

	snprintf(e->d.config_path, sizeof(e->d.config_path), "%s", conf_path);
	e->d.cfg = sl_config_load(conf_path, err, sizeof(err));
	if (!e->d.cfg)
		fail_msg("%s", err);
	e->d.loop = sl_loop_new();
	if (with_shm) {
		struct sl_shm_caps caps;

		sl_shm_caps_for_config(e->d.cfg, false, &caps);
		caps.max_lcores = 2;
		e->d.shm =
			sl_shm_create("t", &caps, shm_path, err, sizeof(err));
		if (!e->d.shm)
			fail_msg("%s", err);
		e->d.pub = sl_publisher_new(e->d.shm, err, sizeof(err));
		assert_non_null(e->d.pub);
		sl_publisher_set_wait(e->d.pub, 0);
	} else {
		e->d.publish_fn = stub_publish;
	}
	sl_log_set_hook(quiet, NULL);
	assert_int_equal(sl_daemon_start(&e->d, err, sizeof(err)), 0);
	/* No check before the test is over (interval is an hour). */
	sl_health_stop(e->d.health);
	return e;
}

static void env_free(struct env *e)
{
	sl_daemon_stop(&e->d);
	sl_publisher_free(e->d.pub);
	sl_shm_close(e->d.shm, false);
	sl_loop_free(e->d.loop);
	free(e);
}

static void settle(struct env *e)
{
	uint64_t end = sl_loop_now_ns() + 2000 * MS;

	while (e->d.publish_pending && sl_loop_now_ns() < end)
		sl_loop_run_once(e->d.loop, 20);
	assert_false(e->d.publish_pending);
}

static struct sl_backend_rt *be(struct env *e, const char *vip,
				const char *spec)
{
	struct sl_vip_rt *v = sl_daemon_find_vip(&e->d, vip);

	assert_non_null(v);
	return sl_daemon_find_backend(v, spec);
}

static void test_backend_specs_name_address_and_optional_port(void **state)
{
	struct env *e;

	extra_vip = ", { name = \"v6\"; address = \"2001:db8::10\"; "
		    "port = 80; protocol = \"tcp\"; backends = ( "
		    "{ address = \"2001:db8::1\"; } ); }";
	write_conf("t",
		   "{ address = \"203.0.113.11\"; }, "
		   "{ address = \"203.0.113.11\"; port = 8080; }",
		   true);
	extra_vip = "";
	e = env_new(false);
	assert_non_null(be(e, "web", "203.0.113.11"));
	assert_int_equal(be(e, "web", "203.0.113.11:8080")->cfg->port, 8080);
	assert_int_equal(be(e, "web", "203.0.113.11:80")->cfg->port, 80);
	assert_null(be(e, "web", "203.0.113.11:81"));
	assert_null(be(e, "web", "203.0.113.11:x"));
	assert_non_null(be(e, "v6", "2001:db8::1"));
	assert_non_null(be(e, "v6", "[2001:db8::1]:80"));
	assert_null(be(e, "v6", "[2001:db8::1]:81"));
	assert_null(be(e, "web", "nonsense"));
	assert_null(sl_daemon_find_vip(&e->d, "nope"));
	env_free(e);
	unlink(conf_path);
}

static void test_drain_and_weight_change_the_published_state(void **state)
{
	struct env *e;
	char err[256];
	int n;

	write_conf("t", WEB3, true);
	e = env_new(false);
	settle(e);
	n = e->publishes;
	assert_int_equal(sl_daemon_drain(&e->d, "web", "203.0.113.12", true,
					 err, sizeof(err)),
			 0);
	assert_int_equal(sl_daemon_backend_state(be(e, "web", "203.0.113.12")),
			 SL_BACKEND_DRAINED);
	assert_true(e->d.publish_pending);
	settle(e);
	assert_int_equal(e->publishes, n + 1);
	/* Draining again changes nothing and publishes nothing. */
	assert_int_equal(sl_daemon_drain(&e->d, "web", "203.0.113.12", true,
					 err, sizeof(err)),
			 0);
	assert_false(e->d.publish_pending);
	assert_int_equal(sl_daemon_set_weight(&e->d, "web", "203.0.113.13:80",
					      7, err, sizeof(err)),
			 0);
	assert_int_equal(sl_daemon_backend_weight(be(e, "web", "203.0.113.13")),
			 7);
	assert_int_equal(sl_daemon_set_weight(&e->d, "web", "203.0.113.13", 100,
					      err, sizeof(err)),
			 0);
	assert_int_equal(be(e, "web", "203.0.113.13")->weight_override, -1);
	assert_int_equal(sl_daemon_set_weight(&e->d, "web", "203.0.113.13",
					      70000, err, sizeof(err)),
			 -ERANGE);
	assert_int_equal(sl_daemon_drain(&e->d, "nope", "203.0.113.13", true,
					 err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "no VIP named \"nope\"");
	assert_int_equal(sl_daemon_drain(&e->d, "web", "203.0.113.99", true,
					 err, sizeof(err)),
			 -ENOENT);
	assert_string_equal(err, "vip web has no backend 203.0.113.99");
	/* Health down wins over drained. */
	be(e, "web", "203.0.113.12")->health = SL_HC_DOWN;
	assert_int_equal(sl_daemon_backend_state(be(e, "web", "203.0.113.12")),
			 SL_BACKEND_DOWN);
	env_free(e);
	unlink(conf_path);
}

static void test_reload_carries_state_of_unchanged_backends(void **state)
{
	struct env *e;
	char err[512];

	write_conf("t", WEB3, true);
	e = env_new(false);
	be(e, "web", "203.0.113.12")->health = SL_HC_DOWN;
	be(e, "web", "203.0.113.12")->checks_failed = 5;
	be(e, "web", "203.0.113.13")->drained = true;
	be(e, "web", "203.0.113.11")->weight_override = 3;
	/* .11 goes, .14 comes, dns goes, the check's interval changes. */
	write_conf("t",
		   "{ address = \"203.0.113.12\"; }, "
		   "{ address = \"203.0.113.13\"; }, "
		   "{ address = \"203.0.113.14\"; }",
		   false);
	assert_int_equal(sl_daemon_reload(&e->d, err, sizeof(err)), 0);
	sl_health_stop(e->d.health);
	assert_int_equal(e->d.cfg->n_vips, 1);
	assert_null(be(e, "web", "203.0.113.11"));
	assert_int_equal(be(e, "web", "203.0.113.12")->health, SL_HC_DOWN);
	assert_int_equal(be(e, "web", "203.0.113.12")->checks_failed, 5);
	assert_true(be(e, "web", "203.0.113.13")->drained);
	assert_int_equal(be(e, "web", "203.0.113.14")->health, SL_HC_UNKNOWN);
	assert_false(be(e, "web", "203.0.113.14")->drained);
	assert_int_equal(be(e, "web", "203.0.113.14")->weight_override, -1);
	assert_true(be(e, "web", "203.0.113.12")->cfg ==
		    &e->d.cfg->vips[0].backends[0]);
	assert_int_equal(e->d.reloads, 1);
	assert_true(e->d.publish_pending);
	env_free(e);
	unlink(conf_path);
}

static void test_invalid_reload_keeps_the_running_config(void **state)
{
	struct env *e;
	const struct sl_config *before;
	char err[512];
	FILE *f;

	write_conf("t", WEB3, true);
	e = env_new(false);
	before = e->d.cfg;
	f = fopen(conf_path, "a");
	fputs("vips = 3;\n", f);
	fclose(f);
	assert_int_equal(sl_daemon_reload(&e->d, err, sizeof(err)), -EINVAL);
	assert_true(e->d.cfg == before);
	assert_int_equal(e->d.reload_failures, 1);
	assert_non_null(strstr(err, conf_path));
	assert_string_equal(e->d.last_reload_error, err);
	/* Instance cannot change without a restart. */
	write_conf("other", WEB3, true);
	assert_int_equal(sl_daemon_reload(&e->d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "instance"));
	assert_true(e->d.cfg == before);
	/* A good file clears the kept error. */
	write_conf("t", WEB3, true);
	assert_int_equal(sl_daemon_reload(&e->d, err, sizeof(err)), 0);
	assert_string_equal(e->d.last_reload_error, "");
	env_free(e);
	unlink(conf_path);
}

static void
test_restart_takes_backend_state_from_the_published_table(void **state)
{
	struct sl_table_hdr *t;
	struct env *e;
	char err[256];
	size_t len;
	void *copy;
	sl_u64 gen;

	unlink(shm_path);
	write_conf("t", WEB3, true);
	e = env_new(true);
	assert_false(e->d.restored);
	be(e, "web", "203.0.113.12")->health = SL_HC_DOWN;
	assert_int_equal(sl_daemon_drain(&e->d, "web", "203.0.113.13", true,
					 err, sizeof(err)),
			 0);
	assert_int_equal(sl_daemon_set_weight(&e->d, "web", "203.0.113.11", 50,
					      err, sizeof(err)),
			 0);
	settle(e);
	assert_true(be(e, "web", "203.0.113.11")->backend_id >= 0);
	assert_true(sl_daemon_find_vip(&e->d, "dns")->vip_id >= 0);
	gen = e->d.gen;
	assert_true(gen >= 1);
	t = sl_table_slot(sl_shm_header(e->d.shm), gen);
	len = e->d.shm ? sl_shm_header(e->d.shm)->slot_size : 0;
	copy = malloc(len);
	memcpy(copy, t, len);
	env_free(e); /* as if killed: the file stays */

	e = env_new(true);
	assert_true(e->d.restored);
	assert_int_equal(be(e, "web", "203.0.113.12")->health, SL_HC_DOWN);
	assert_true(be(e, "web", "203.0.113.13")->drained);
	assert_int_equal(be(e, "web", "203.0.113.11")->weight_override, 50);
	assert_int_equal(be(e, "web", "203.0.113.11")->health, SL_HC_UP);
	settle(e);
	assert_int_equal(e->d.gen, gen + 1);
	/* The same tables again: nothing moves. */
	t = sl_table_slot(sl_shm_header(e->d.shm), gen + 1);
	assert_int_equal(t->gen, gen + 1);
	assert_memory_equal((char *)t + sizeof(t->gen),
			    (char *)copy + sizeof(t->gen),
			    len - sizeof(t->gen));
	free(copy);
	env_free(e);
	unlink(shm_path);
	unlink(conf_path);
}

/*
 * A dataplane lcore that has not moved to the current generation: the
 * publish is retried on a short timer, the loop never blocks on it, and
 * the change goes out once the lcore catches up.
 */
static void
test_publish_retries_while_the_dataplane_lags_without_blocking(void **state)
{
	struct sl_shm_header *h;
	struct env *e;
	char err[256];
	sl_u64 gen, t0;
	int k;

	unlink(shm_path);
	write_conf("t", WEB3, true);
	e = env_new(true);
	settle(e);
	gen = e->d.gen;
	h = sl_shm_header(e->d.shm);
	h->dp_pid = (sl_u64)getpid();
	h->dp_nb_lcores = 1;
	h->qs[0].seen = gen - 1;
	h->qs[0].online = 1;
	assert_int_equal(sl_daemon_drain(&e->d, "web", "203.0.113.12", true,
					 err, sizeof(err)),
			 0);
	for (k = 0; k < 10; k++) {
		h->dp_heartbeat_ns = sl_now_ns();
		t0 = sl_now_ns();
		sl_loop_run_once(e->d.loop, 10);
		assert_true(sl_now_ns() - t0 < 50 * MS);
	}
	assert_true(e->d.publish_pending);
	assert_true(e->d.publish_retries > 0);
	assert_int_equal(e->d.gen, gen);
	h->qs[0].seen = gen;
	h->dp_heartbeat_ns = sl_now_ns();
	settle(e);
	assert_int_equal(e->d.gen, gen + 1);
	assert_int_equal(
		sl_table_backends(sl_table_slot(
			h, gen + 1))[be(e, "web", "203.0.113.12")->backend_id]
			.state,
		SL_BACKEND_DRAINED);
	env_free(e);
	unlink(shm_path);
	unlink(conf_path);
}

int main(void)
{
	snprintf(conf_path, sizeof(conf_path), "/tmp/sl-test-daemon-%d.conf",
		 (int)getpid());
	snprintf(shm_path, sizeof(shm_path), "/tmp/sl-test-daemon-%d.shm",
		 (int)getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_backend_specs_name_address_and_optional_port),
		cmocka_unit_test(
			test_drain_and_weight_change_the_published_state),
		cmocka_unit_test(
			test_reload_carries_state_of_unchanged_backends),
		cmocka_unit_test(test_invalid_reload_keeps_the_running_config),
		cmocka_unit_test(
			test_restart_takes_backend_state_from_the_published_table),
		cmocka_unit_test(
			test_publish_retries_while_the_dataplane_lags_without_blocking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
