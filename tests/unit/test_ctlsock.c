/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ctlsock.c: the control socket (control/ctlsock.c) and the Prometheus
 * endpoint (control/metrics.c) against a daemon of known state.
 *
 * The daemon is real where it matters to the replies (daemon.c's actions
 * and reload, the event loop, a real unix socket and TCP listener in a
 * temporary directory, a real shared-memory file for the dataplane
 * counters) and filled in by hand where it would need a network: the
 * health checks are type "none" and each backend's health, check counters,
 * latency and last error are then set by the test, as are the dataplane
 * counters, ids and heartbeat in the shared memory.
 *
 * Clients are non-blocking sockets in this thread; the loop is turned with
 * sl_loop_run_once() until the reply's EOF. If the built sluicectl is found
 * next to this binary it is run against the socket as well.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sluice/ctl.h>

#include "config.h"
#include "ctlsock.h"
#include "daemon.h"
#include "json.h"
#include "loop.h"
#include "metrics.h"
#include "publish.h"

extern char **environ;

static const char conf_text[] =
	"instance = \"ctltest\";\n"
	"hash_seed = \"00112233445566778899aabbccddeeff\";\n"
	"dataplane = {\n"
	"	mode = \"dpdk\";\n"
	"	eal = [ \"--no-pci\" ];\n"
	"	interfaces = [ \"lb0\" ];\n"
	"	gateway = \"198.51.100.1\";\n"
	"	local_address = \"198.51.100.2\";\n"
	"	local_address6 = \"2001:db8:ff::2\";\n"
	"	gateway6 = \"2001:db8:ff::1\";\n"
	"};\n"
	"control = { metrics = \"127.0.0.1:9700\"; };\n"
	"vips = (\n"
	"	{\n"
	"		name = \"web\";\n"
	"		address = \"192.0.2.10\";\n"
	"		port = 80;\n"
	"		protocol = \"tcp\";\n"
	"		method = \"ipip\";\n"
	"		healthcheck = { type = \"none\"; };\n"
	"		backends = (\n"
	"			{ address = \"203.0.113.11\"; weight = 100; "
	"},\n"
	"			{ address = \"203.0.113.12\"; weight = 100; "
	"},\n"
	"			{ address = \"203.0.113.13\"; weight = 50; }\n"
	"		);\n"
	"	},\n"
	"	{\n"
	"		name = \"dns\";\n"
	"		address = \"2001:db8::53\";\n"
	"		port = 53;\n"
	"		protocol = \"udp\";\n"
	"		method = \"gue\";\n"
	"		healthcheck = { type = \"none\"; };\n"
	"		backends = ( { address = \"2001:db8::1:1\"; } );\n"
	"	}\n"
	");\n";

struct fixture {
	char dir[64];
	char sock[128];
	struct sl_daemon d;
	struct sl_loop *loop;
	struct sl_shm *shm;
};

static struct fixture fx;

/* ---- helpers ------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void turn_loop(void)
{
	assert_true(sl_loop_run_once(fx.loop, 5) >= 0);
}

/* Read fd (non-blocking) until EOF, turning the loop; returns malloc'd. */
static char *read_all(int fd, size_t *len)
{
	struct sl_buf b;
	char chunk[4096];
	ssize_t n;
	int i;

	sl_buf_init(&b);
	for (i = 0; i < 2000; i++) {
		n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n > 0) {
			sl_buf_add(&b, chunk, (size_t)n);
			continue;
		}
		if (n == 0)
			break;
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		turn_loop();
	}
	assert_true(i < 2000);
	sl_buf_add(&b, "", 0);
	*len = b.len;
	return b.data;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Send raw bytes, get the raw reply. */
static char *raw_request(const char *bytes, size_t n, bool half_close)
{
	size_t len;
	char *r;
	int fd = connect_unix(fx.sock);

	assert_int_equal(send(fd, bytes, n, MSG_NOSIGNAL), (ssize_t)n);
	if (half_close)
		shutdown(fd, SHUT_WR);
	r = read_all(fd, &len);
	close(fd);
	return r;
}

/* One request line; the reply parsed, its code checked. */
static struct sl_json *request(const char *line, int want_code)
{
	char text[SL_CTL_REQUEST_MAX + 2], err[128];
	const struct sl_json *code;
	struct sl_json *v;
	char *r;

	snprintf(text, sizeof(text), "%s\n", line);
	r = raw_request(text, strlen(text), false);
	v = sl_json_parse(r, strlen(r), err, sizeof(err));
	if (!v)
		fail_msg("'%s': reply is not JSON (%s): %s", line, err, r);
	code = sl_json_get(v, "code");
	assert_non_null(code);
	if (code->u != (uint64_t)want_code || code->num != want_code)
		fail_msg("'%s': code %g, want %d: %s", line, code->num,
			 want_code, r);
	if (want_code == SL_CTL_OK)
		assert_non_null(sl_json_get(v, "result"));
	else
		assert_non_null(sl_json_get_str(v, "error"));
	free(r);
	return v;
}

static void expect_error(const char *line, int code, const char *msg)
{
	struct sl_json *v = request(line, code);

	assert_string_equal(sl_json_get_str(v, "error"), msg);
	sl_json_free(v);
}

static uint64_t u64(const struct sl_json *o, const char *key)
{
	uint64_t v;

	if (!sl_json_get_u64(o, key, &v))
		fail_msg("no integer \"%s\"", key);
	return v;
}

static const struct sl_json *find_backend(const struct sl_json *list,
					  const char *name)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (!strcmp(sl_json_get_str(&list->items[i], "backend"), name))
			return &list->items[i];
	fail_msg("no backend %s", name);
	return NULL;
}

/* ---- fixture ------------------------------------------------------------ */

/* Known state: web .11 up, .12 down (failing), .13 unknown; dns up. */
static void set_state(void)
{
	struct sl_daemon *d = &fx.d;
	struct sl_backend_rt *b;
	unsigned int i, j, id = 0;

	for (i = 0; i < d->cfg->n_vips; i++) {
		d->vips[i].vip_id = (int)i;
		for (j = 0; j < d->cfg->vips[i].n_backends; j++) {
			b = &d->vips[i].backends[j];
			b->backend_id = (int)id++;
			b->health = SL_HC_UP;
			b->checks_ok = 10 + j;
			b->checks_failed = 0;
			b->last_latency_us = 1500;
			b->last_check_ns = sl_now_ns();
			b->last_error[0] = '\0';
		}
	}
	b = &d->vips[0].backends[1];
	b->health = SL_HC_DOWN;
	b->checks_failed = 3;
	snprintf(b->last_error, sizeof(b->last_error),
		 "connection refused \"quoted\"");
	b = &d->vips[0].backends[2];
	b->health = SL_HC_UNKNOWN;
	b->checks_ok = 0;
	b->checks_failed = 0;
}

/* Two lcores' worth of counters; the replies must show the sums. */
static void set_counters(void)
{
	struct sl_shm_header *h = sl_shm_header(fx.shm);
	unsigned int l;

	for (l = 0; l < 2; l++) {
		struct sl_lcore_stats *ls = sl_shm_stats_lcore(h, l);
		struct sl_vip_stats *vs = sl_shm_stats_vip(h, l);
		struct sl_backend_stats *bs = sl_shm_stats_backend(h, l);

		memset(ls, 0, sizeof(*ls));
		ls->rx_packets = 100 + l;
		ls->rx_bytes = 10000;
		ls->tx_packets = 90;
		ls->flow_misses = 7;
		ls->drops[SL_DROP_NOT_VIP] = 4;
		ls->drops[SL_DROP_TOO_BIG] = l;
		vs[0].packets = 15;
		vs[0].bytes = 1500;
		vs[0].new_flows = 3;
		vs[0].drops = 1;
		bs[0].packets = 5 + l;
		bs[0].bytes = 500;
		bs[0].new_flows = 1;
		h->qs[l].online = 1;
		h->qs[l].seen = 1;
	}
	h->dp_pid = (sl_u64)getpid();
	h->dp_nb_lcores = 2;
	h->dp_heartbeat_ns = sl_now_ns();
}

static int setup(void **state)
{
	struct sl_daemon *d = &fx.d;
	struct sl_shm_caps caps;
	char err[512], path[128];

	memset(&fx, 0, sizeof(fx));
	strcpy(fx.dir, "/tmp/sl_test_ctlsock.XXXXXX");
	if (!mkdtemp(fx.dir))
		return -1;
	snprintf(fx.sock, sizeof(fx.sock), "%s/run/sluice/ctl.sock", fx.dir);
	snprintf(d->config_path, sizeof(d->config_path), "%s/test.conf",
		 fx.dir);
	write_file(d->config_path, conf_text);
	d->cfg = sl_config_load(d->config_path, err, sizeof(err));
	if (!d->cfg) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	fx.loop = sl_loop_new();
	if (!fx.loop)
		return -1;
	d->loop = fx.loop;
	sl_shm_caps_for_config(d->cfg, true, &caps);
	caps.max_lcores = 4;
	snprintf(path, sizeof(path), "%s/shm", fx.dir);
	fx.shm = sl_shm_create(d->cfg->instance, &caps, path, err, sizeof(err));
	if (!fx.shm) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	d->shm = fx.shm;
	if (sl_daemon_start(d, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	d->ctl = sl_ctlsock_open(d, fx.sock, err, sizeof(err));
	if (!d->ctl) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	/* let the first publish (no publisher: counted only) happen */
	sl_loop_run_once(fx.loop, 20);
	set_state();
	set_counters();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	sl_metrics_close(fx.d.metrics);
	sl_ctlsock_close(fx.d.ctl);
	sl_daemon_stop(&fx.d);
	sl_shm_close(fx.shm, true);
	sl_loop_free(fx.loop);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- the socket ---------------------------------------------------------- */

static void test_socket_is_0600_in_a_created_directory(void **state)
{
	struct stat st;
	char dir[160];

	assert_int_equal(stat(fx.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(dir, sizeof(dir), "%s/run/sluice", fx.dir);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
}

static void test_stale_socket_is_replaced_live_one_refused(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sl_ctlsock *cs;
	char path[160], err[256];
	struct sl_json *v;
	int fd;

	/* a socket file nobody listens on, as a crashed sluiced leaves */
	snprintf(path, sizeof(path), "%s/stale.sock", fx.dir);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cs = sl_ctlsock_open(&fx.d, path, err, sizeof(err));
	if (!cs)
		fail_msg("stale socket not replaced: %s", err);
	fd = connect_unix(path);
	close(fd);

	/* the same path while cs listens: refused, cs keeps working */
	assert_null(sl_ctlsock_open(&fx.d, path, err, sizeof(err)));
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(err, "in use by another process"));
	assert_non_null(strstr(err, path));
	sl_ctlsock_close(cs);
	assert_int_equal(access(path, F_OK), -1);

	/* a regular file is never removed */
	write_file(path, "not a socket\n");
	assert_null(sl_ctlsock_open(&fx.d, path, err, sizeof(err)));
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(err, "exists and is not a socket"));
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	/* the daemon's own socket still answers */
	v = request("help", SL_CTL_OK);
	sl_json_free(v);
}

static void test_bad_requests_are_answered_with_code_1(void **state)
{
	char big[SL_CTL_REQUEST_MAX + 100];
	struct sl_json *v;
	char err[128], *r;

	expect_error("frobnicate", SL_CTL_BAD_REQUEST,
		     "unknown command 'frobnicate' (try 'help')");
	expect_error("drain web", SL_CTL_BAD_REQUEST,
		     "usage: drain VIP BACKEND");
	expect_error("status extra", SL_CTL_BAD_REQUEST, "usage: status");
	expect_error("   ", SL_CTL_BAD_REQUEST, "empty request (try 'help')");
	expect_error("a b c d e f g h i", SL_CTL_BAD_REQUEST,
		     "too many words in the request (at most 8)");

	memset(big, 'x', sizeof(big));
	r = raw_request(big, sizeof(big), false);
	v = sl_json_parse(r, strlen(r), err, sizeof(err));
	assert_non_null(v);
	assert_int_equal(u64(v, "code"), SL_CTL_BAD_REQUEST);
	assert_string_equal(sl_json_get_str(v, "error"),
			    "request longer than 4096 bytes");
	sl_json_free(v);
	free(r);

	/* EOF ends a request that has no newline */
	r = raw_request("vips", 4, true);
	v = sl_json_parse(r, strlen(r), err, sizeof(err));
	assert_non_null(v);
	assert_int_equal(u64(v, "code"), SL_CTL_OK);
	sl_json_free(v);
	free(r);
}

static void test_clients_are_served_concurrently(void **state)
{
	int fds[5], i;
	size_t len;
	char *r;

	for (i = 0; i < 5; i++)
		fds[i] = connect_unix(fx.sock);
	/* answered in the order they complete, not the order they came */
	for (i = 4; i >= 0; i--) {
		assert_int_equal(send(fds[i], "status\n", 7, 0), 7);
		r = read_all(fds[i], &len);
		assert_non_null(strstr(r, "\"code\":0"));
		free(r);
		close(fds[i]);
	}
	for (i = 0; i < 20; i++)
		turn_loop();
}

/* Open n connections to the control socket and let the loop accept them. */
static void connect_many(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		fds[i] = connect_unix(fx.sock);
	for (i = 0; i < 20; i++)
		turn_loop();
}

static void test_connections_over_the_limit_are_answered_busy(void **state)
{
	int fds[SL_CTL_CLIENTS_MAX], extra, i;
	struct sl_json *v;
	size_t len;
	char *r;

	connect_many(fds, SL_CTL_CLIENTS_MAX);
	extra = connect_unix(fx.sock);
	r = read_all(extra, &len);
	assert_string_equal(r, "{\"code\":5,\"error\":"
			       "\"too many control connections\"}\n");
	free(r);
	close(extra);
	for (i = 0; i < SL_CTL_CLIENTS_MAX; i++)
		close(fds[i]);
	for (i = 0; i < 20; i++)
		turn_loop();

	/* the closed ones freed their places */
	v = request("help", SL_CTL_OK);
	sl_json_free(v);
}

/* ---- commands ----------------------------------------------------------- */

static void test_help_lists_every_command(void **state)
{
	static const char *const names[] = { "help",	 "status", "vips",
					     "backends", "stats",  "drain",
					     "undrain",	 "weight", "reload" };
	struct sl_json *v = request("help", SL_CTL_OK);
	const struct sl_json *cmds =
		sl_json_get(sl_json_get(v, "result"), "commands");
	size_t i;

	assert_non_null(cmds);
	assert_int_equal(cmds->n, sizeof(names) / sizeof(names[0]));
	for (i = 0; i < cmds->n; i++) {
		assert_string_equal(sl_json_get_str(&cmds->items[i], "name"),
				    names[i]);
		assert_non_null(sl_json_get_str(&cmds->items[i], "args"));
		assert_non_null(sl_json_get_str(&cmds->items[i], "help"));
	}
	sl_json_free(v);
}

static void test_status_reports_daemon_dataplane_and_counts(void **state)
{
	struct sl_json *v = request("status", SL_CTL_OK);
	const struct sl_json *r = sl_json_get(v, "result");
	const struct sl_json *dp = sl_json_get(r, "dataplane");
	const struct sl_json *be = sl_json_get(r, "backends");

	assert_string_equal(sl_json_get_str(r, "instance"), "ctltest");
	assert_int_equal(u64(r, "pid"), getpid());
	assert_true(u64(r, "uptime_s") < 60);
	assert_string_equal(sl_json_get_str(r, "mode"), "dpdk");
	assert_string_equal(sl_json_get_str(r, "config_file"),
			    fx.d.config_path);
	assert_int_equal(u64(r, "generation"), fx.d.gen);
	assert_int_equal(u64(r, "publishes"), fx.d.publishes);
	assert_int_equal(u64(r, "publish_failures"), 0);
	assert_non_null(sl_json_get(r, "publish_pending"));
	assert_int_equal(u64(r, "reloads"), 0);
	assert_int_equal(u64(r, "reload_failures"), 0);
	assert_int_equal(sl_json_get(r, "last_reload_error")->type,
			 SL_JSON_NULL);
	assert_true(sl_json_get_bool(dp, "attached"));
	assert_true(sl_json_get_bool(dp, "alive"));
	assert_int_equal(u64(dp, "pid"), getpid());
	assert_true(u64(dp, "heartbeat_age_ms") < 1000);
	assert_int_equal(u64(dp, "lcores"), 2);
	assert_int_equal(u64(dp, "table_generation"), 1);
	assert_int_equal(u64(r, "vips"), 2);
	/* unknown health counts as up (daemon.c: optimistic start) */
	assert_int_equal(u64(be, "total"), 4);
	assert_int_equal(u64(be, "up"), 3);
	assert_int_equal(u64(be, "down"), 1);
	assert_int_equal(u64(be, "drained"), 0);
	sl_json_free(v);
}

static void test_vips_show_config_backends_and_summed_counters(void **state)
{
	struct sl_json *v = request("vips", SL_CTL_OK);
	const struct sl_json *l = sl_json_get(sl_json_get(v, "result"), "vips");
	const struct sl_json *web, *dns;

	assert_int_equal(l->n, 2);
	web = &l->items[0];
	dns = &l->items[1];
	assert_string_equal(sl_json_get_str(web, "name"), "web");
	assert_string_equal(sl_json_get_str(web, "address"), "192.0.2.10");
	assert_int_equal(u64(web, "port"), 80);
	assert_string_equal(sl_json_get_str(web, "proto"), "tcp");
	assert_string_equal(sl_json_get_str(web, "method"), "ipip");
	assert_int_equal(u64(web, "table_size"), fx.d.cfg->vips[0].table_size);
	assert_int_equal(u64(web, "backends_up"), 2);
	assert_int_equal(u64(web, "backends_total"), 3);
	assert_int_equal(u64(web, "packets"), 30);
	assert_int_equal(u64(web, "bytes"), 3000);
	assert_int_equal(u64(web, "new_flows"), 6);
	assert_int_equal(u64(web, "drops"), 2);
	assert_string_equal(sl_json_get_str(dns, "address"), "2001:db8::53");
	assert_string_equal(sl_json_get_str(dns, "proto"), "udp");
	assert_string_equal(sl_json_get_str(dns, "method"), "gue");
	assert_int_equal(u64(dns, "packets"), 0);
	sl_json_free(v);
}

static void test_backends_show_state_health_checks_and_counters(void **state)
{
	struct sl_json *v = request("backends", SL_CTL_OK);
	const struct sl_json *l =
		sl_json_get(sl_json_get(v, "result"), "backends");
	const struct sl_json *b;

	assert_int_equal(l->n, 4);
	b = find_backend(l, "203.0.113.11:80");
	assert_string_equal(sl_json_get_str(b, "vip"), "web");
	assert_string_equal(sl_json_get_str(b, "address"), "203.0.113.11");
	assert_int_equal(u64(b, "port"), 80);
	assert_int_equal(u64(b, "weight"), 100);
	assert_int_equal(u64(b, "config_weight"), 100);
	assert_string_equal(sl_json_get_str(b, "state"), "up");
	assert_string_equal(sl_json_get_str(b, "health"), "up");
	assert_false(sl_json_get_bool(b, "drained"));
	assert_string_equal(sl_json_get_str(b, "check"), "none");
	assert_int_equal(u64(b, "checks_ok"), 10);
	assert_int_equal(u64(b, "checks_failed"), 0);
	assert_int_equal(u64(b, "last_latency_us"), 1500);
	assert_true(u64(b, "last_check_age_ms") < 60000);
	assert_int_equal(sl_json_get(b, "last_error")->type, SL_JSON_NULL);
	assert_int_equal(u64(b, "packets"), 11);
	assert_int_equal(u64(b, "bytes"), 1000);
	assert_int_equal(u64(b, "new_flows"), 2);

	b = find_backend(l, "203.0.113.12:80");
	assert_string_equal(sl_json_get_str(b, "state"), "down");
	assert_string_equal(sl_json_get_str(b, "health"), "down");
	assert_int_equal(u64(b, "checks_failed"), 3);
	assert_string_equal(sl_json_get_str(b, "last_error"),
			    "connection refused \"quoted\"");

	b = find_backend(l, "203.0.113.13:80");
	assert_string_equal(sl_json_get_str(b, "health"), "unknown");
	assert_int_equal(u64(b, "weight"), 50);
	assert_int_equal(sl_json_get(b, "last_latency_us")->type, SL_JSON_NULL);

	b = find_backend(l, "[2001:db8::1:1]:53");
	assert_string_equal(sl_json_get_str(b, "vip"), "dns");
	assert_string_equal(sl_json_get_str(b, "address"), "2001:db8::1:1");
	sl_json_free(v);

	v = request("backends dns", SL_CTL_OK);
	l = sl_json_get(sl_json_get(v, "result"), "backends");
	assert_int_equal(l->n, 1);
	sl_json_free(v);

	expect_error("backends nope", SL_CTL_NOT_FOUND,
		     "no VIP named \"nope\"");
}

static void test_stats_sum_lcores_and_name_every_drop(void **state)
{
	struct sl_json *v = request("stats", SL_CTL_OK);
	const struct sl_json *r = sl_json_get(v, "result");
	const struct sl_json *drops = sl_json_get(r, "drops");

	assert_true(sl_json_get_bool(r, "available"));
	assert_int_equal(u64(r, "lcores"), 2);
	assert_int_equal(u64(r, "rx_packets"), 201);
	assert_int_equal(u64(r, "rx_bytes"), 20000);
	assert_int_equal(u64(r, "tx_packets"), 180);
	assert_int_equal(u64(r, "flow_misses"), 14);
	assert_int_equal(u64(r, "drops_total"), 9);
	assert_int_equal(drops->n, SL_DROP_MAX - 1); /* all but "none" */
	assert_null(sl_json_get(drops, "none"));
	assert_int_equal(u64(drops, "not_vip"), 8);
	assert_int_equal(u64(drops, "too_big"), 1);
	assert_int_equal(u64(drops, "no_table"), 0);
	sl_json_free(v);
}

static void test_without_dataplane_counters_are_null(void **state)
{
	const struct sl_json *r, *x;
	struct sl_json *v;

	fx.d.shm = NULL; /* as in XDP mode until xdp.c reads its maps */
	v = request("stats", SL_CTL_OK);
	r = sl_json_get(v, "result");
	assert_false(sl_json_get_bool(r, "available"));
	assert_null(sl_json_get(r, "rx_packets"));
	sl_json_free(v);

	v = request("vips", SL_CTL_OK);
	x = &sl_json_get(sl_json_get(v, "result"), "vips")->items[0];
	assert_int_equal(sl_json_get(x, "packets")->type, SL_JSON_NULL);
	assert_int_equal(sl_json_get(x, "drops")->type, SL_JSON_NULL);
	sl_json_free(v);

	v = request("status", SL_CTL_OK);
	x = sl_json_get(sl_json_get(v, "result"), "dataplane");
	assert_false(sl_json_get_bool(x, "attached"));
	assert_int_equal(sl_json_get(x, "pid")->type, SL_JSON_NULL);
	sl_json_free(v);
	fx.d.shm = fx.shm;
}

static void test_drain_and_undrain_change_state(void **state)
{
	sl_u64 publishes = fx.d.publishes;
	struct sl_json *v = request("drain web 203.0.113.11", SL_CTL_OK);
	const struct sl_json *r = sl_json_get(v, "result");

	assert_string_equal(sl_json_get_str(r, "vip"), "web");
	assert_string_equal(sl_json_get_str(r, "backend"), "203.0.113.11:80");
	assert_true(sl_json_get_bool(r, "drained"));
	assert_string_equal(sl_json_get_str(r, "state"), "drained");
	assert_true(fx.d.vips[0].backends[0].drained);
	/* a publish is scheduled (or, with no publisher, already done) */
	assert_true(fx.d.publish_pending || fx.d.publishes > publishes);
	sl_json_free(v);

	v = request("status", SL_CTL_OK);
	assert_int_equal(u64(sl_json_get(sl_json_get(v, "result"), "backends"),
			     "drained"),
			 1);
	sl_json_free(v);

	v = request("undrain web 203.0.113.11:80", SL_CTL_OK);
	r = sl_json_get(v, "result");
	assert_false(sl_json_get_bool(r, "drained"));
	assert_string_equal(sl_json_get_str(r, "state"), "up");
	assert_false(fx.d.vips[0].backends[0].drained);
	sl_json_free(v);
}

static void test_drain_of_unknown_vip_or_backend_is_not_found(void **state)
{
	expect_error("drain nope 203.0.113.11", SL_CTL_NOT_FOUND,
		     "no VIP named \"nope\"");
	expect_error("drain web 203.0.113.99", SL_CTL_NOT_FOUND,
		     "vip web has no backend 203.0.113.99");
	expect_error("undrain web 203.0.113.11:81", SL_CTL_NOT_FOUND,
		     "vip web has no backend 203.0.113.11:81");
	expect_error("drain web not-an-address", SL_CTL_INVALID,
		     "\"not-an-address\" is not ADDRESS or ADDRESS:PORT");
}

static void test_weight_sets_override_and_refuses_out_of_range(void **state)
{
	struct sl_json *v = request("weight web 203.0.113.12 7", SL_CTL_OK);
	const struct sl_json *r = sl_json_get(v, "result");

	assert_string_equal(sl_json_get_str(r, "backend"), "203.0.113.12:80");
	assert_int_equal(u64(r, "weight"), 7);
	assert_int_equal(sl_daemon_backend_weight(&fx.d.vips[0].backends[1]),
			 7);
	sl_json_free(v);

	expect_error("weight web 203.0.113.12 65536", SL_CTL_INVALID,
		     "weight 65536 is not in 0..65535");
	expect_error("weight web 203.0.113.12 -1", SL_CTL_INVALID,
		     "weight -1 is not in 0..65535");
	expect_error("weight web 203.0.113.12 99999999999999999999999",
		     SL_CTL_INVALID,
		     "weight 99999999999999999999999 is not in 0..65535");
	expect_error("weight web 203.0.113.12 ten", SL_CTL_INVALID,
		     "weight ten: not a number");
	expect_error("weight web 203.0.113.99 5", SL_CTL_NOT_FOUND,
		     "vip web has no backend 203.0.113.99");

	v = request("weight web 203.0.113.12 100", SL_CTL_OK);
	sl_json_free(v);
	assert_int_equal(fx.d.vips[0].backends[1].weight_override, -1);
}

static void test_reload_applies_a_good_file_and_reports_a_bad_one(void **state)
{
	struct sl_json *v;
	const struct sl_json *r;
	const char *e;
	char *text;

	v = request("reload", SL_CTL_OK);
	r = sl_json_get(v, "result");
	assert_string_equal(sl_json_get_str(r, "config_file"),
			    fx.d.config_path);
	assert_int_equal(u64(r, "reloads"), 1);
	assert_int_equal(u64(r, "vips"), 2);
	assert_int_equal(u64(r, "backends"), 4);
	assert_int_equal(sl_json_get(r, "warnings")->type, SL_JSON_ARRAY);
	sl_json_free(v);

	/* a broken file: the old config stays, the error names file:line */
	text = strdup(conf_text);
	assert_non_null(text);
	strstr(text, "port = 53;")[7] = 'x'; /* "port = x3;" */
	write_file(fx.d.config_path, text);
	free(text);
	v = request("reload", SL_CTL_RELOAD_FAILED);
	e = sl_json_get_str(v, "error");
	assert_non_null(strstr(e, fx.d.config_path));
	assert_non_null(strstr(e, ":"));
	sl_json_free(v);

	v = request("status", SL_CTL_OK);
	r = sl_json_get(v, "result");
	assert_int_equal(u64(r, "reloads"), 1);
	assert_int_equal(u64(r, "reload_failures"), 1);
	assert_non_null(sl_json_get_str(r, "last_reload_error"));
	assert_int_equal(u64(r, "vips"), 2);
	sl_json_free(v);

	write_file(fx.d.config_path, conf_text);
	v = request("reload", SL_CTL_OK);
	sl_json_free(v);
	set_state(); /* the reload made new runtime arrays */
}

/* ---- metrics ------------------------------------------------------------ */

static char *http_get(unsigned int port, const char *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	size_t len;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	{
		char *r = read_all(fd, &len);

		close(fd);
		return r;
	}
}

/* Metric name of a sample line; checks `name{labels} value` syntax. */
static void check_sample(const char *line, char *name, size_t namelen)
{
	const char *p = line, *sp;
	char *end;
	size_t n;

	while (*p && (*p == '_' || *p == ':' || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
		p++;
	n = (size_t)(p - line);
	if (n == 0 || n >= namelen)
		fail_msg("bad metric name: %s", line);
	memcpy(name, line, n);
	name[n] = '\0';
	if (*p == '{') {
		/* label="value" pairs, comma separated, escapes inside */
		p++;
		for (;;) {
			while ((*p >= 'a' && *p <= 'z') || *p == '_')
				p++;
			if (p[0] != '=' || p[1] != '"')
				fail_msg("bad label: %s", line);
			p += 2;
			while (*p && *p != '"')
				p += *p == '\\' ? 2 : 1;
			if (*p != '"')
				fail_msg("unterminated label: %s", line);
			p++;
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p == '}')
				break;
			fail_msg("bad label list: %s", line);
		}
		p++;
	}
	if (*p != ' ')
		fail_msg("no space before the value: %s", line);
	sp = p + 1;
	strtod(sp, &end);
	if (end == sp || *end)
		fail_msg("bad value: %s", line);
}

static void test_metrics_exposition_is_well_formed(void **state)
{
	char err[256], name[128], *r, *body, *line, *save = NULL;
	char help[64][128], type[64][128];
	unsigned int nhelp = 0, ntype = 0, samples = 0, i;
	bool found;

	fx.d.cfg->ctl.metrics_port = 0; /* any free port */
	fx.d.metrics = sl_metrics_open(&fx.d, err, sizeof(err));
	if (!fx.d.metrics)
		fail_msg("%s", err);

	r = http_get(sl_metrics_port(fx.d.metrics),
		     "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
	body = strstr(r, "\r\n\r\n");
	assert_non_null(body);
	body += 4;

	/* expected samples for the fixture's state */
	assert_non_null(
		strstr(body, "\nsluice_vip_packets_total{vip=\"web\"} 30\n"));
	assert_non_null(
		strstr(body, "\nsluice_vip_drops_total{vip=\"web\"} 2\n"));
	assert_non_null(strstr(body,
			       "\nsluice_backend_packets_total{vip=\"web\","
			       "backend=\"203.0.113.11:80\"} 11\n"));
	assert_non_null(strstr(body, "\nsluice_backend_up{vip=\"web\","
				     "backend=\"203.0.113.12:80\"} 0\n"));
	assert_non_null(strstr(body, "\nsluice_backend_up{vip=\"dns\","
				     "backend=\"[2001:db8::1:1]:53\"} 1\n"));
	assert_non_null(strstr(body, "\nsluice_backend_weight{vip=\"web\","
				     "backend=\"203.0.113.13:80\"} 50\n"));
	assert_non_null(strstr(body, "\nsluice_backend_check_latency_seconds{"
				     "vip=\"web\",backend=\"203.0.113.11:80\"} "
				     "0.0015\n"));
	assert_non_null(strstr(
		body, "\nsluice_backend_checks_total{vip=\"web\","
		      "backend=\"203.0.113.12:80\",result=\"failed\"} 3\n"));
	assert_non_null(
		strstr(body, "\nsluice_drops_total{reason=\"not_vip\"} 8\n"));
	assert_non_null(
		strstr(body, "\nsluice_drops_total{reason=\"no_table\"} 0\n"));
	assert_null(strstr(body, "reason=\"none\""));
	assert_non_null(strstr(body, "\nsluice_rx_packets_total 201\n"));
	assert_non_null(strstr(body, "\nsluice_dataplane_up 1\n"));
	assert_non_null(
		strstr(body, "\nsluice_dataplane_heartbeat_age_seconds "));
	assert_non_null(strstr(body, "\nsluice_table_generation "));
	assert_non_null(
		strstr(body, "\nsluice_config_reloads_total{result=\"ok\"} "));
	assert_non_null(strstr(
		body, "\nsluice_config_reloads_total{result=\"failed\"} "));

	/* every sample line parses and follows its family's HELP and TYPE */
	for (line = strtok_r(body, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7)) {
			assert_true(nhelp < 64);
			sscanf(line + 7, "%127s", help[nhelp++]);
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char t[32];

			assert_true(ntype < 64);
			assert_int_equal(
				sscanf(line + 7, "%127s %31s", type[ntype], t),
				2);
			assert_true(!strcmp(t, "counter") ||
				    !strcmp(t, "gauge"));
			/* TYPE right after its HELP */
			assert_string_equal(type[ntype], help[nhelp - 1]);
			ntype++;
			continue;
		}
		assert_true(line[0] != '#');
		check_sample(line, name, sizeof(name));
		/* the family of the sample is the last one declared */
		assert_true(ntype > 0);
		assert_string_equal(name, type[ntype - 1]);
		samples++;
	}
	assert_int_equal(nhelp, ntype);
	assert_true(samples > 30);
	/* no family declared twice */
	for (i = 0; i < ntype; i++) {
		unsigned int j;

		found = false;
		for (j = i + 1; j < ntype; j++)
			found |= !strcmp(type[i], type[j]);
		assert_false(found);
	}
	free(r);

	r = http_get(sl_metrics_port(fx.d.metrics), "GET / HTTP/1.0\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 404 ", 13));
	free(r);
	r = http_get(sl_metrics_port(fx.d.metrics),
		     "POST /metrics HTTP/1.0\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 405 ", 13));
	free(r);
	r = http_get(sl_metrics_port(fx.d.metrics),
		     "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 200 ", 13));
	free(r);
}

static int connect_tcp(unsigned int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_metrics_head_big_request_and_limits(void **state)
{
	char big[8192 + 100], err[256], *r;
	int fds[32], i, fd;
	unsigned int port;
	size_t len;

	if (!fx.d.metrics) {
		fx.d.cfg->ctl.metrics_port = 0;
		fx.d.metrics = sl_metrics_open(&fx.d, err, sizeof(err));
		if (!fx.d.metrics)
			fail_msg("%s", err);
	}
	port = sl_metrics_port(fx.d.metrics);

	/* HEAD: the GET's head, Content-Length included, and no body */
	r = http_get(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	assert_non_null(strstr(r, "Content-Length: "));
	assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\n");
	free(r);

	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	r = http_get(port, big);
	assert_true(!strncmp(r, "HTTP/1.0 431 ", 13));
	free(r);

	/* EOF before a byte: closed without a reply */
	fd = connect_tcp(port);
	shutdown(fd, SHUT_WR);
	r = read_all(fd, &len);
	assert_int_equal(len, 0);
	free(r);
	close(fd);

	/* over the limit: closed without a reply */
	for (i = 0; i < 32; i++)
		fds[i] = connect_tcp(port);
	for (i = 0; i < 20; i++)
		turn_loop();
	fd = connect_tcp(port);
	r = read_all(fd, &len);
	assert_int_equal(len, 0);
	free(r);
	close(fd);
	for (i = 0; i < 32; i++)
		close(fds[i]);
	for (i = 0; i < 20; i++)
		turn_loop();
	r = http_get(port, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_true(!strncmp(r, "HTTP/1.0 200 OK\r\n", 17));
	free(r);
}

static void test_metrics_not_opened_without_address(void **state)
{
	char err[64] = "x";
	sl_u8 fam = fx.d.cfg->ctl.metrics_family;

	fx.d.cfg->ctl.metrics_family = 0;
	errno = 5;
	assert_null(sl_metrics_open(&fx.d, err, sizeof(err)));
	assert_int_equal(errno, 0);
	assert_string_equal(err, "");
	fx.d.cfg->ctl.metrics_family = fam;
}

/* ---- sluicectl against the socket --------------------------------------- */

/* Run the built sluicectl with args; its stdout into out, exit status. */
static int run_sluicectl(const char *exe, char *const args[], char *out,
			 size_t outlen)
{
	posix_spawn_file_actions_t fa;
	char path[160];
	pid_t pid;
	int st, fd, i;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/ctl.out", fx.dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, path,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, path,
					 O_WRONLY | O_CREAT | O_APPEND, 0600);
	assert_int_equal(posix_spawn(&pid, exe, &fa, NULL, args, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	for (i = 0; i < 2000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		turn_loop();
	}
	assert_true(i < 2000);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, out, outlen - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	if (getenv("SL_TEST_SHOW_OUTPUT"))
		print_message("%s", out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_sluicectl_renders_replies(void **state)
{
	char exe[4096], out[16384];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 64);
	char *dir;

	if (n <= 0)
		skip();
	exe[n] = '\0';
	dir = dirname(dirname(dirname(exe))); /* build/tests/unit/x */
	memmove(exe, dir, strlen(dir) + 1);
	strcat(exe, "/control/sluicectl");
	if (access(exe, X_OK))
		skip();

	{
		char *a[] = { exe, "-s", fx.sock, "backends", "web", NULL };

		assert_int_equal(run_sluicectl(exe, a, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "VIP"));
		assert_non_null(strstr(out, "BACKEND"));
		assert_non_null(strstr(out, "203.0.113.12:80"));
		assert_non_null(strstr(out, "connection refused"));
		assert_null(strstr(out, "2001:db8"));
	}
	{
		char *a[] = { exe, "-s", fx.sock, "--json", "vips", NULL };

		assert_int_equal(run_sluicectl(exe, a, out, sizeof(out)), 0);
		assert_true(!strncmp(out, "{\"code\":0,\"result\":{\"vips\":[",
				     28));
	}
	{
		char *a[] = { exe, "-s", fx.sock, "status", NULL };

		assert_int_equal(run_sluicectl(exe, a, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "ctltest"));
		assert_non_null(strstr(out, "alive"));
	}
	{
		char *a[] = { exe, "-s", fx.sock, "stats", NULL };

		assert_int_equal(run_sluicectl(exe, a, out, sizeof(out)), 0);
		assert_non_null(strstr(out, "drops.not_vip"));
		assert_null(strstr(out, "no_table")); /* zero: skipped */
	}
	{
		char *a[] = { exe,   "-s",	     fx.sock, "drain",
			      "web", "203.0.113.99", NULL };

		assert_int_equal(run_sluicectl(exe, a, out, sizeof(out)), 1);
		assert_string_equal(out, "sluicectl: vip web has no backend "
					 "203.0.113.99\n");
	}
	{
		char sock[160];
		char *a[] = { exe, "-s", sock, "status", NULL };

		snprintf(sock, sizeof(sock), "%s/none.sock", fx.dir);
		assert_int_equal(run_sluicectl(exe, a, out, sizeof(out)), 1);
		assert_non_null(strstr(out, "cannot connect to"));
		assert_non_null(strstr(out, "No such file or directory "
					    "(is sluiced running?)"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_is_0600_in_a_created_directory),
		cmocka_unit_test(
			test_stale_socket_is_replaced_live_one_refused),
		cmocka_unit_test(test_bad_requests_are_answered_with_code_1),
		cmocka_unit_test(test_clients_are_served_concurrently),
		cmocka_unit_test(
			test_connections_over_the_limit_are_answered_busy),
		cmocka_unit_test(test_help_lists_every_command),
		cmocka_unit_test(
			test_status_reports_daemon_dataplane_and_counts),
		cmocka_unit_test(
			test_vips_show_config_backends_and_summed_counters),
		cmocka_unit_test(
			test_backends_show_state_health_checks_and_counters),
		cmocka_unit_test(test_stats_sum_lcores_and_name_every_drop),
		cmocka_unit_test(test_without_dataplane_counters_are_null),
		cmocka_unit_test(test_drain_and_undrain_change_state),
		cmocka_unit_test(
			test_drain_of_unknown_vip_or_backend_is_not_found),
		cmocka_unit_test(
			test_weight_sets_override_and_refuses_out_of_range),
		cmocka_unit_test(
			test_reload_applies_a_good_file_and_reports_a_bad_one),
		cmocka_unit_test(test_metrics_exposition_is_well_formed),
		cmocka_unit_test(test_metrics_head_big_request_and_limits),
		cmocka_unit_test(test_metrics_not_opened_without_address),
		cmocka_unit_test(test_sluicectl_renders_replies),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
