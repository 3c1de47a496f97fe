/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_health.c: sluiced's health checks (control/health.c) against real
 * servers on 127.0.0.1 (ephemeral ports), all driven by the real event
 * loop: the servers' sockets are registered on the same loop as the
 * checks, so a test is one thread and needs no privileges.
 *
 * The config is loaded from text with documentation addresses (the loader
 * refuses loopback backends, rightly for a load balancer); the test then
 * points each backend's address and check port at its local server before
 * the daemon starts. Publishing goes to a stub that counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "health.h"

#define MS 1000000ULL

/* ---- servers on the loop ---- */

enum srv_kind { SRV_TCP, SRV_HTTP, SRV_SLOW, SRV_UDP_ECHO };

struct srv {
	enum srv_kind kind;
	int fd;
	int port;
	const char *reply; /* http */
	int held[64];	   /* slow: accepted, never answered */
	int n_held;
	struct sl_loop *l;
};

static void srv_on_conn(struct sl_loop *l, int fd, uint32_t ev, void *arg)
{
	struct srv *s = arg;
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && errno == EAGAIN)
		return;
	/* The request (or its first part) is in: answer and close. */
	if (n > 0)
		assert_true(send(fd, s->reply, strlen(s->reply), MSG_NOSIGNAL) >
			    0);
	sl_loop_del_fd(l, fd);
	close(fd);
}

static void srv_on_accept(struct sl_loop *l, int fd, uint32_t ev, void *arg)
{
	struct srv *s = arg;
	int c;

	while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >=
	       0) {
		if (s->kind == SRV_HTTP) {
			assert_int_equal(
				sl_loop_add_fd(l, c, EPOLLIN, srv_on_conn, s),
				0);
		} else if (s->kind == SRV_SLOW && s->n_held < 64) {
			s->held[s->n_held++] = c;
		} else {
			close(c);
		}
	}
}

static void srv_on_udp(struct sl_loop *l, int fd, uint32_t ev, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char buf[1024];
	ssize_t n;

	while ((n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT,
			     (struct sockaddr *)&ss, &sl)) >= 0) {
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, sl);
		sl = sizeof(ss);
	}
}

static int bound_socket(int type, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int one = 1,
	    fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)*port);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void srv_start(struct srv *s, struct sl_loop *l, enum srv_kind kind,
		      int port)
{
	const char *reply = kind == SRV_HTTP ? s->reply : NULL;

	memset(s, 0, sizeof(*s));
	s->reply = reply;
	s->kind = kind;
	s->l = l;
	s->port = port;
	if (kind == SRV_UDP_ECHO) {
		s->fd = bound_socket(SOCK_DGRAM, &s->port);
		assert_int_equal(
			sl_loop_add_fd(l, s->fd, EPOLLIN, srv_on_udp, s), 0);
		return;
	}
	s->fd = bound_socket(SOCK_STREAM, &s->port);
	assert_int_equal(listen(s->fd, 128), 0);
	assert_int_equal(sl_loop_add_fd(l, s->fd, EPOLLIN, srv_on_accept, s),
			 0);
}

static void srv_stop(struct srv *s)
{
	int i;

	if (s->fd < 0)
		return;
	sl_loop_del_fd(s->l, s->fd);
	close(s->fd);
	s->fd = -1;
	for (i = 0; i < s->n_held; i++)
		close(s->held[i]);
	s->n_held = 0;
}

/* A port nobody listens on: bound, then closed. */
static int closed_port(int type)
{
	int port = 0, fd = bound_socket(type, &port);

	close(fd);
	return port;
}

/* ---- the daemon under test ---- */

struct env {
	struct sl_daemon d;
	int publishes;
	char log[16][256];
	int n_log;
};

static int stub_publish(struct sl_daemon *d, char *err, size_t errlen)
{
	struct env *e = (struct env *)d; /* d is the first member */

	e->publishes++;
	return 0;
}

static void log_hook(int prio, const char *line, void *arg)
{
	struct env *e = arg;

	if (e->n_log < 16)
		snprintf(e->log[e->n_log++], sizeof(e->log[0]), "%s", line);
}

/*
 * A config with one VIP whose n backends all use check hc (the body of a
 * libconfig healthcheck group); backends are 203.0.113.1.. until pointed
 * at 127.0.0.1.
 */
static struct env *env_new(const char *hc, unsigned int n)
{
	struct env *e = calloc(1, sizeof(*e));
	char *text = malloc(4096 + 64 * n), err[512] = "";
	size_t off;
	unsigned int i;

	assert_non_null(e);
	off = (size_t)sprintf(
		text,
		"instance = \"hc\";\n"
		"hash_seed = \"00112233445566778899aabbccddeeff\";\n"
		"dataplane = { mode = \"dpdk\"; interfaces = [ \"lb0\" ];\n"
		"  gateway = \"198.51.100.1\"; local_address = "
		"\"198.51.100.2\"; };\n"
		"vips = ( { name = \"web\"; address = \"192.0.2.10\"; port = "
		"80;\n"
		"  protocol = \"tcp\"; healthcheck = { %s };\n"
		"  backends = (",
		hc);
	for (i = 0; i < n; i++)
		off += (size_t)sprintf(
			text + off, "%s{ address = \"203.0.%u.%u\"; }",
			i ? ", " : "", 113 + i / 250, 1 + i % 250);
	sprintf(text + off, "); } );\n");
	e->d.cfg = sl_config_load_string(text, "test.conf", err, sizeof(err));
	if (!e->d.cfg)
		fail_msg("config: %s", err);
	free(text);
	e->d.loop = sl_loop_new();
	assert_non_null(e->d.loop);
	e->d.publish_fn = stub_publish;
	sl_log_set_hook(log_hook, e);
	return e;
}

/* Point backend i at 127.0.0.1:port (address and check). */
static void aim(struct env *e, unsigned int i, int port)
{
	struct sl_config_backend *b = &e->d.cfg->vips[0].backends[i];

	memset(&b->addr, 0, sizeof(b->addr));
	b->addr.v4 = htonl(INADDR_LOOPBACK);
	b->port = 80;
	b->hc.port = (sl_u16)port;
}

static void env_start(struct env *e, uint64_t seed)
{
	char err[256];

	assert_int_equal(sl_daemon_start(&e->d, err, sizeof(err)), 0);
	sl_health_seed(e->d.health, seed);
	/* re-run the schedule with the fixed seed */
	assert_int_equal(sl_health_start(e->d.health), 0);
}

static void env_free(struct env *e)
{
	sl_log_set_hook(NULL, NULL);
	sl_daemon_stop(&e->d);
	sl_loop_free(e->d.loop);
	free(e);
}

static struct sl_backend_rt *be(struct env *e, unsigned int i)
{
	return &e->d.vips[0].backends[i];
}

/* Run the loop until backend i has done `checks` checks in all, or fail. */
static void run_checks(struct env *e, unsigned int i, uint64_t checks,
		       unsigned int limit_ms)
{
	uint64_t end = sl_loop_now_ns() + limit_ms * MS;

	while (be(e, i)->checks_ok + be(e, i)->checks_failed < checks) {
		if (sl_loop_now_ns() > end)
			fail_msg("backend %u: %llu checks after %u ms, want "
				 "%llu",
				 i,
				 (unsigned long long)(be(e, i)->checks_ok +
						      be(e, i)->checks_failed),
				 limit_ms, (unsigned long long)checks);
		sl_loop_run_once(e->d.loop, 50);
	}
}

static void run_until_health(struct env *e, unsigned int i, sl_u8 health,
			     unsigned int limit_ms)
{
	uint64_t end = sl_loop_now_ns() + limit_ms * MS;

	while (be(e, i)->health != health) {
		if (sl_loop_now_ns() > end)
			fail_msg("backend %u: health %s after %u ms (last: %s)",
				 i, sl_daemon_health_name(be(e, i)->health),
				 limit_ms, be(e, i)->last_error);
		sl_loop_run_once(e->d.loop, 50);
	}
}

/* ---- tests ---- */

static void test_tcp_check_against_a_listener_is_up(void **state)
{
	struct env *e = env_new("type = \"tcp\"; interval_ms = 100; "
				"timeout_ms = 100; rise = 2; fall = 3;",
				1);
	struct srv s;

	srv_start(&s, e->d.loop, SRV_TCP, 0);
	aim(e, 0, s.port);
	env_start(e, 1);
	assert_int_equal(be(e, 0)->health, SL_HC_UNKNOWN);
	run_checks(e, 0, 3, 2000);
	assert_int_equal(be(e, 0)->health, SL_HC_UP);
	assert_int_equal(be(e, 0)->checks_failed, 0);
	assert_string_equal(be(e, 0)->last_error, "");
	assert_int_equal(sl_daemon_backend_state(be(e, 0)), SL_BACKEND_UP);
	assert_int_equal(e->n_log, 0); /* optimistic start: nothing to say */
	srv_stop(&s);
	env_free(e);
}

static void test_tcp_check_against_a_closed_port_goes_down(void **state)
{
	struct env *e = env_new("type = \"tcp\"; interval_ms = 100; "
				"timeout_ms = 100; rise = 2; fall = 3;",
				1);
	int port = closed_port(SOCK_STREAM);
	char want[256];
	int before;

	aim(e, 0, port);
	env_start(e, 2);
	before = e->publishes;
	run_until_health(e, 0, SL_HC_DOWN, 2000);
	assert_int_equal(be(e, 0)->fail_in_row, 3);
	assert_string_equal(be(e, 0)->last_error, "connection refused");
	assert_int_equal(sl_daemon_backend_state(be(e, 0)), SL_BACKEND_DOWN);
	snprintf(want, sizeof(want),
		 "vip web 192.0.2.10:80: backend "
		 "127.0.0.1:80 down (3/3 checks failed: connection refused)");
	assert_int_equal(e->n_log, 1);
	assert_string_equal(e->log[0], want);
	/* The change is published (coalesced on a 0-delay timer). */
	sl_loop_run_once(e->d.loop, 20);
	assert_true(e->publishes > before);
	assert_false(e->d.publish_pending);
	env_free(e);
}

static void test_http_check_passes_on_the_expected_status(void **state)
{
	struct env *e = env_new("type = \"http\"; path = \"/healthz\"; "
				"expect = 200; interval_ms = 100; "
				"timeout_ms = 100; rise = 1; fall = 1;",
				2);
	struct srv ok, bad;

	ok.reply = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	bad.reply = "HTTP/1.1 503 Service Unavailable\r\n\r\n";
	srv_start(&ok, e->d.loop, SRV_HTTP, 0);
	srv_start(&bad, e->d.loop, SRV_HTTP, 0);
	aim(e, 0, ok.port);
	aim(e, 1, bad.port);
	env_start(e, 3);
	run_checks(e, 0, 3, 2000);
	run_until_health(e, 1, SL_HC_DOWN, 2000);
	assert_int_equal(be(e, 0)->health, SL_HC_UP);
	assert_int_equal(be(e, 0)->checks_failed, 0);
	assert_string_equal(be(e, 1)->last_error, "status 503");
	assert_int_equal(e->n_log, 1);
	assert_non_null(strstr(e->log[0], "127.0.0.1:80 down (1/1 checks "
					  "failed: status 503)"));
	srv_stop(&ok);
	srv_stop(&bad);
	env_free(e);
}

static void
test_http_check_times_out_on_a_server_that_never_answers(void **state)
{
	struct env *e = env_new("type = \"http\"; interval_ms = 400; "
				"timeout_ms = 300; rise = 1; fall = 1;",
				1);
	struct srv slow;
	uint64_t t0;

	srv_start(&slow, e->d.loop, SRV_SLOW, 0);
	aim(e, 0, slow.port);
	env_start(e, 4);
	t0 = sl_loop_now_ns();
	run_until_health(e, 0, SL_HC_DOWN, 3000);
	assert_string_equal(be(e, 0)->last_error, "timed out after 300 ms");
	assert_true(be(e, 0)->last_latency_us >= 300000);
	assert_true(be(e, 0)->last_latency_us < 600000);
	assert_true(sl_loop_now_ns() - t0 >= 300 * MS);
	assert_int_equal(slow.n_held, 1); /* it did connect */
	assert_int_equal(sl_health_in_flight(e->d.health), 0);
	srv_stop(&slow);
	env_free(e);
}

static void
test_udp_check_up_with_an_echo_server_down_on_a_closed_port(void **state)
{
	struct env *e = env_new("type = \"udp\"; payload = \"ping\"; "
				"interval_ms = 100; timeout_ms = 100; "
				"rise = 1; fall = 2;",
				2);
	struct srv echo;

	srv_start(&echo, e->d.loop, SRV_UDP_ECHO, 0);
	aim(e, 0, echo.port);
	aim(e, 1, closed_port(SOCK_DGRAM));
	env_start(e, 5);
	run_until_health(e, 1, SL_HC_DOWN, 2000);
	run_checks(e, 0, 3, 2000);
	assert_int_equal(be(e, 0)->health, SL_HC_UP);
	assert_int_equal(be(e, 0)->checks_failed, 0);
	assert_string_equal(be(e, 1)->last_error, "connection refused");
	srv_stop(&echo);
	env_free(e);
}

static void test_udp_check_compares_the_reply_prefix(void **state)
{
	struct env *e = env_new("type = \"udp\"; payload = \"ping\"; "
				"expect_payload = \"pong\"; interval_ms = 100; "
				"timeout_ms = 100; rise = 1; fall = 1;",
				1);
	struct srv echo;

	srv_start(&echo, e->d.loop, SRV_UDP_ECHO, 0); /* answers "ping" */
	aim(e, 0, echo.port);
	env_start(e, 6);
	run_until_health(e, 0, SL_HC_DOWN, 2000);
	assert_string_equal(be(e, 0)->last_error, "unexpected reply (4 bytes)");
	srv_stop(&echo);
	env_free(e);
}

/*
 * fall 3: two failures keep it up, the third takes it down; rise 2: one
 * success keeps it down, the second brings it up. The server is stopped
 * and restarted on the same port between checks.
 */
static void test_rise_and_fall_count_exactly(void **state)
{
	struct env *e = env_new("type = \"tcp\"; interval_ms = 100; "
				"timeout_ms = 50; rise = 2; fall = 3;",
				1);
	struct srv s;
	uint64_t n;
	int port;

	srv_start(&s, e->d.loop, SRV_TCP, 0);
	port = s.port;
	aim(e, 0, port);
	env_start(e, 7);
	run_checks(e, 0, 1, 2000);
	assert_int_equal(be(e, 0)->health, SL_HC_UP);
	srv_stop(&s);
	n = be(e, 0)->checks_ok + be(e, 0)->checks_failed;
	run_checks(e, 0, n + 1, 2000);
	assert_int_equal(be(e, 0)->fail_in_row, 1);
	assert_int_equal(be(e, 0)->health, SL_HC_UP);
	run_checks(e, 0, n + 2, 2000);
	assert_int_equal(be(e, 0)->fail_in_row, 2);
	assert_int_equal(be(e, 0)->health, SL_HC_UP);
	run_checks(e, 0, n + 3, 2000);
	assert_int_equal(be(e, 0)->health, SL_HC_DOWN);
	assert_int_equal(e->n_log, 1);
	srv_start(&s, e->d.loop, SRV_TCP, port);
	run_checks(e, 0, n + 4, 2000);
	assert_int_equal(be(e, 0)->ok_in_row, 1);
	assert_int_equal(be(e, 0)->health, SL_HC_DOWN);
	run_checks(e, 0, n + 5, 2000);
	assert_int_equal(be(e, 0)->health, SL_HC_UP);
	assert_int_equal(e->n_log, 2);
	assert_non_null(
		strstr(e->log[1], "127.0.0.1:80 up (2/2 checks passed)"));
	srv_stop(&s);
	env_free(e);
}

static void test_jitter_spreads_first_checks_over_the_interval(void **state)
{
	enum { N = 1000, BUCKETS = 10 };
	struct env *e = env_new("type = \"tcp\"; interval_ms = 1000;", N);
	unsigned int i, count[BUCKETS] = { 0 };
	int64_t d;

	env_start(e, 8); /* not run: only the schedule is looked at */
	for (i = 0; i < N; i++) {
		d = sl_health_first_delay_ns(e->d.health, 0, i);
		assert_true(d >= 0 && d < (int64_t)(1000 * MS));
		count[d / (100 * MS)]++;
	}
	for (i = 0; i < BUCKETS; i++) {
		assert_true(count[i] > N / BUCKETS / 2);
		assert_true(count[i] < N / BUCKETS * 2);
	}
	assert_int_equal(sl_loop_timers(e->d.loop), N + 1); /* + publish */
	env_free(e);
}

static void test_next_checks_come_every_interval_within_10_percent(void **state)
{
	struct env *e = env_new("type = \"tcp\"; interval_ms = 100; "
				"timeout_ms = 50;",
				1);
	uint64_t last = 0, gap, min = ~0ULL, max = 0;
	struct srv s;
	unsigned int k;

	srv_start(&s, e->d.loop, SRV_TCP, 0);
	aim(e, 0, s.port);
	env_start(e, 9);
	for (k = 1; k <= 12; k++) {
		run_checks(e, 0, k, 2000);
		if (k > 1) {
			gap = be(e, 0)->last_check_ns - last;
			/* the check's own latency adds to the delay */
			assert_true(gap >= 90 * MS);
			assert_true(gap < 150 * MS);
			min = gap < min ? gap : min;
			max = gap > max ? gap : max;
		}
		last = be(e, 0)->last_check_ns;
	}
	assert_true(max - min >= 2 * MS); /* jittered, not a fixed period */
	srv_stop(&s);
	env_free(e);
}

static void test_check_none_is_up_without_a_socket(void **state)
{
	struct env *e = env_new("type = \"none\";", 3);

	env_start(e, 10);
	assert_int_equal(be(e, 0)->health, SL_HC_UP);
	assert_int_equal(sl_loop_timers(e->d.loop), 1); /* the publish */
	sl_loop_run_once(e->d.loop, 20);
	assert_int_equal(sl_health_in_flight(e->d.health), 0);
	assert_int_equal(e->publishes, 1);
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_check_against_a_listener_is_up),
		cmocka_unit_test(
			test_tcp_check_against_a_closed_port_goes_down),
		cmocka_unit_test(test_http_check_passes_on_the_expected_status),
		cmocka_unit_test(
			test_http_check_times_out_on_a_server_that_never_answers),
		cmocka_unit_test(
			test_udp_check_up_with_an_echo_server_down_on_a_closed_port),
		cmocka_unit_test(test_udp_check_compares_the_reply_prefix),
		cmocka_unit_test(test_rise_and_fall_count_exactly),
		cmocka_unit_test(
			test_jitter_spreads_first_checks_over_the_interval),
		cmocka_unit_test(
			test_next_checks_come_every_interval_within_10_percent),
		cmocka_unit_test(test_check_none_is_up_without_a_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
