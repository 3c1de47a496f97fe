/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctlsock.c: sluiced's control socket. Accepts unix stream connections on
 * the event loop, reads one request line per connection, answers with one
 * JSON object and closes (protocol and reply fields: include/sluice/ctl.h).
 *
 * Commands come from SL_CTL_COMMANDS, the list sluicectl renders from too;
 * each has one handler here that writes the "result" value, or returns a
 * reply code with one line in err. Handlers run in the loop thread and read
 * struct sl_daemon directly.
 *
 * Bounds: SL_CTL_CLIENTS_MAX connections, SL_CTL_REQUEST_MAX bytes of
 * request, SL_CTL_TIMEOUT_MS per connection from accept to the last byte of
 * the reply; a client that stalls is dropped, so none can hold the loop or
 * grow memory. The connections themselves are conn.c's; this file frames
 * requests (one line) and builds replies.
 */
#include "ctlsock.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sluice/ctl.h>

#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "json.h"
#include "report.h"

struct sl_ctlsock {
	struct sl_conn_server *srv;
	dev_t dev; /* of the socket file we bound, so close */
	ino_t ino; /* unlinks only our own */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* ---- command handlers --------------------------------------------------- */

typedef int (*ctl_fn)(struct sl_daemon *d, int argc, char **argv,
		      struct sl_jw *w, char *err, size_t errlen);

#define CTL_DECL(id, name, args, min, max, help)                        \
	static int ctl_##id(struct sl_daemon *d, int argc, char **argv, \
			    struct sl_jw *w, char *err, size_t errlen);
SL_CTL_COMMANDS(CTL_DECL)
#undef CTL_DECL

struct ctl_cmd {
	const char *name;
	const char *args;
	const char *help;
	int min_args, max_args;
	ctl_fn fn;
};

static const struct ctl_cmd ctl_cmds[] = {
#define CTL_ROW(id, name, args, min, max, help) \
	{ name, args, help, min, max, ctl_##id },
	SL_CTL_COMMANDS(CTL_ROW)
#undef CTL_ROW
};

static int ctl_help(struct sl_daemon *d, int argc, char **argv, struct sl_jw *w,
		    char *err, size_t errlen)
{
	size_t i;

	sl_jw_obj_begin(w);
	sl_jw_key(w, "commands");
	sl_jw_arr_begin(w);
	for (i = 0; i < SL_ARRAY_SIZE(ctl_cmds); i++) {
		sl_jw_obj_begin(w);
		sl_jw_kstr(w, "name", ctl_cmds[i].name);
		sl_jw_kstr(w, "args", ctl_cmds[i].args);
		sl_jw_kstr(w, "help", ctl_cmds[i].help);
		sl_jw_obj_end(w);
	}
	sl_jw_arr_end(w);
	sl_jw_obj_end(w);
	return SL_CTL_OK;
}

static void write_dataplane(struct sl_daemon *d, struct sl_jw *w)
{
	struct sl_report_dp dp;

	sl_report_dataplane(d, &dp);
	sl_jw_key(w, "dataplane");
	sl_jw_obj_begin(w);
	sl_jw_kbool(w, "attached", dp.attached);
	sl_jw_kbool(w, "alive", dp.alive);
	if (dp.pid)
		sl_jw_ku64(w, "pid", dp.pid);
	else
		sl_jw_knull(w, "pid");
	if (dp.has_heartbeat)
		sl_jw_ku64(w, "heartbeat_age_ms",
			   dp.heartbeat_age_ns / 1000000);
	else
		sl_jw_knull(w, "heartbeat_age_ms");
	if (dp.pid)
		sl_jw_ku64(w, "lcores", dp.lcores);
	else
		sl_jw_knull(w, "lcores");
	if (dp.has_table_gen)
		sl_jw_ku64(w, "table_generation", dp.table_gen);
	else
		sl_jw_knull(w, "table_generation");
	sl_jw_obj_end(w);
}

static int ctl_status(struct sl_daemon *d, int argc, char **argv,
		      struct sl_jw *w, char *err, size_t errlen)
{
	struct sl_report_counts c;
	sl_u64 now = sl_now_ns();

	sl_report_count(d, NULL, &c);
	sl_jw_obj_begin(w);
	sl_jw_kstr(w, "instance", d->cfg->instance);
	sl_jw_ku64(w, "pid", (sl_u64)getpid());
	sl_jw_ku64(w, "uptime_s",
		   now > d->start_ns ? (now - d->start_ns) / 1000000000ULL : 0);
	sl_jw_kstr(w, "mode", sl_report_mode_name(d->cfg->dp.mode));
	sl_jw_kstr(w, "config_file", d->config_path);
	sl_jw_ku64(w, "generation", d->gen);
	sl_jw_ku64(w, "publishes", d->publishes);
	sl_jw_ku64(w, "publish_failures", d->publish_failures);
	sl_jw_kbool(w, "publish_pending", d->publish_pending);
	sl_jw_ku64(w, "reloads", d->reloads);
	sl_jw_ku64(w, "reload_failures", d->reload_failures);
	sl_jw_kstr_or_null(w, "last_reload_error", d->last_reload_error);
	write_dataplane(d, w);
	sl_jw_ku64(w, "vips", d->cfg->n_vips);
	sl_jw_key(w, "backends");
	sl_jw_obj_begin(w);
	sl_jw_ku64(w, "total", c.total);
	sl_jw_ku64(w, "up", c.up);
	sl_jw_ku64(w, "down", c.down);
	sl_jw_ku64(w, "drained", c.drained);
	sl_jw_obj_end(w);
	sl_jw_obj_end(w);
	return SL_CTL_OK;
}

/* A counter, or null when the dataplane has none to give. */
static void kcounter(struct sl_jw *w, const char *key, bool have, sl_u64 v)
{
	if (have)
		sl_jw_ku64(w, key, v);
	else
		sl_jw_knull(w, key);
}

static int ctl_vips(struct sl_daemon *d, int argc, char **argv, struct sl_jw *w,
		    char *err, size_t errlen)
{
	char addr[64];
	unsigned int i;

	sl_jw_obj_begin(w);
	sl_jw_key(w, "vips");
	sl_jw_arr_begin(w);
	for (i = 0; i < d->cfg->n_vips; i++) {
		const struct sl_vip_rt *v = &d->vips[i];
		const struct sl_config_vip *c = v->cfg;
		struct sl_report_counts n;
		struct sl_vip_stats st;
		bool have = sl_report_vip_stats(d, v, &st);

		sl_report_count(d, v, &n);
		sl_jw_obj_begin(w);
		sl_jw_kstr(w, "name", c->name);
		sl_jw_kstr(w, "address",
			   sl_report_addr(addr, sizeof(addr), c->family,
					  &c->addr));
		sl_jw_ku64(w, "port", c->port);
		sl_jw_kstr(w, "proto", sl_config_proto_name(c->proto));
		sl_jw_kstr(w, "method", sl_config_method_name(c->method));
		sl_jw_ku64(w, "table_size", c->table_size);
		sl_jw_ku64(w, "backends_up", n.up);
		sl_jw_ku64(w, "backends_total", n.total);
		kcounter(w, "packets", have, st.packets);
		kcounter(w, "bytes", have, st.bytes);
		kcounter(w, "new_flows", have, st.new_flows);
		kcounter(w, "drops", have, st.drops);
		sl_jw_obj_end(w);
	}
	sl_jw_arr_end(w);
	sl_jw_obj_end(w);
	return SL_CTL_OK;
}

static void write_backend(struct sl_daemon *d, const struct sl_vip_rt *v,
			  const struct sl_backend_rt *b, sl_u64 now,
			  struct sl_jw *w)
{
	const struct sl_config_backend *c = b->cfg;
	struct sl_backend_stats st;
	bool have = sl_report_backend_stats(d, b, &st);
	bool checked = b->checks_ok + b->checks_failed > 0;
	char name[80], addr[64];

	sl_jw_obj_begin(w);
	sl_jw_kstr(w, "vip", v->cfg->name);
	sl_jw_kstr(w, "backend", sl_daemon_backend_str(b, name, sizeof(name)));
	sl_jw_kstr(w, "address",
		   sl_report_addr(addr, sizeof(addr), c->family, &c->addr));
	sl_jw_ku64(w, "port", c->port);
	sl_jw_ku64(w, "weight", sl_daemon_backend_weight(b));
	sl_jw_ku64(w, "config_weight", c->weight);
	sl_jw_kstr(w, "state",
		   sl_daemon_state_name(sl_daemon_backend_state(b)));
	sl_jw_kstr(w, "health", sl_daemon_health_name(b->health));
	sl_jw_kbool(w, "drained", b->drained);
	sl_jw_kstr(w, "check", sl_config_hc_type_name(c->hc.type));
	sl_jw_ku64(w, "checks_ok", b->checks_ok);
	sl_jw_ku64(w, "checks_failed", b->checks_failed);
	kcounter(w, "last_latency_us", checked, b->last_latency_us);
	kcounter(w, "last_check_age_ms",
		 b->last_check_ns && now >= b->last_check_ns,
		 (now - b->last_check_ns) / 1000000);
	sl_jw_kstr_or_null(w, "last_error", b->last_error);
	kcounter(w, "packets", have, st.packets);
	kcounter(w, "bytes", have, st.bytes);
	kcounter(w, "new_flows", have, st.new_flows);
	sl_jw_obj_end(w);
}

static int ctl_backends(struct sl_daemon *d, int argc, char **argv,
			struct sl_jw *w, char *err, size_t errlen)
{
	const struct sl_vip_rt *only = NULL;
	sl_u64 now = sl_now_ns();
	unsigned int i, j;

	if (argc == 1) {
		only = sl_daemon_find_vip(d, argv[0]);
		if (!only) {
			snprintf(err, errlen, "no VIP named \"%s\"", argv[0]);
			return SL_CTL_NOT_FOUND;
		}
	}
	sl_jw_obj_begin(w);
	sl_jw_key(w, "backends");
	sl_jw_arr_begin(w);
	for (i = 0; i < d->cfg->n_vips; i++) {
		const struct sl_vip_rt *v = &d->vips[i];

		if (only && v != only)
			continue;
		for (j = 0; j < v->cfg->n_backends; j++)
			write_backend(d, v, &v->backends[j], now, w);
	}
	sl_jw_arr_end(w);
	sl_jw_obj_end(w);
	return SL_CTL_OK;
}

static int ctl_stats(struct sl_daemon *d, int argc, char **argv,
		     struct sl_jw *w, char *err, size_t errlen)
{
	struct sl_lcore_stats st;
	struct sl_report_dp dp;
	sl_u64 total = 0;
	unsigned int i;

	sl_jw_obj_begin(w);
	if (!sl_report_lcore_totals(d, &st)) {
		sl_jw_kbool(w, "available", false);
		sl_jw_obj_end(w);
		return SL_CTL_OK;
	}
	sl_report_dataplane(d, &dp);
	sl_jw_kbool(w, "available", true);
	sl_jw_ku64(w, "lcores", dp.lcores);
	sl_jw_ku64(w, "rx_packets", st.rx_packets);
	sl_jw_ku64(w, "rx_bytes", st.rx_bytes);
	sl_jw_ku64(w, "tx_packets", st.tx_packets);
	sl_jw_ku64(w, "tx_bytes", st.tx_bytes);
	sl_jw_ku64(w, "flow_hits", st.flow_hits);
	sl_jw_ku64(w, "flow_misses", st.flow_misses);
	sl_jw_ku64(w, "flow_evictions", st.flow_evictions);
	sl_jw_ku64(w, "flow_repicks", st.flow_repicks);
	sl_jw_ku64(w, "arp_replies", st.arp_replies);
	sl_jw_ku64(w, "icmp_echo_replies", st.icmp_echo_replies);
	sl_jw_ku64(w, "icmp_too_big_sent", st.icmp_too_big_sent);
	sl_jw_ku64(w, "icmp_errors_forwarded", st.icmp_errors_forwarded);
	/* SL_DROP_NONE is "not dropped": never a drop, so not reported */
	for (i = SL_DROP_NONE + 1; i < SL_DROP_MAX; i++)
		total += st.drops[i];
	sl_jw_ku64(w, "drops_total", total);
	sl_jw_key(w, "drops");
	sl_jw_obj_begin(w);
	for (i = SL_DROP_NONE + 1; i < SL_DROP_MAX; i++)
		sl_jw_ku64(w, sl_report_drop_name(i), st.drops[i]);
	sl_jw_obj_end(w);
	sl_jw_obj_end(w);
	return SL_CTL_OK;
}

/* -errno of an operator action to a reply code. */
static int action_code(int rc, char *err, size_t errlen)
{
	if (!err[0])
		snprintf(err, errlen, "%s", strerror(-rc));
	switch (rc) {
	case -ENOENT:
		return SL_CTL_NOT_FOUND;
	case -EINVAL:
	case -ERANGE:
		return SL_CTL_INVALID;
	default:
		return SL_CTL_INTERNAL;
	}
}

/* The result of drain/undrain/weight: the backend as it is now. */
static void write_action(struct sl_daemon *d, const char *vip, const char *spec,
			 struct sl_jw *w, bool weight)
{
	struct sl_vip_rt *v = sl_daemon_find_vip(d, vip);
	struct sl_backend_rt *b = v ? sl_daemon_find_backend(v, spec) : NULL;
	char name[80];

	sl_jw_obj_begin(w);
	sl_jw_kstr(w, "vip", vip);
	sl_jw_kstr(w, "backend",
		   b ? sl_daemon_backend_str(b, name, sizeof(name)) : spec);
	if (b && weight) {
		sl_jw_ku64(w, "weight", sl_daemon_backend_weight(b));
	} else if (b) {
		sl_jw_kbool(w, "drained", b->drained);
		sl_jw_kstr(w, "state",
			   sl_daemon_state_name(sl_daemon_backend_state(b)));
	}
	sl_jw_obj_end(w);
}

static int drain(struct sl_daemon *d, char **argv, bool on, struct sl_jw *w,
		 char *err, size_t errlen)
{
	int rc = sl_daemon_drain(d, argv[0], argv[1], on, err, errlen);

	if (rc < 0)
		return action_code(rc, err, errlen);
	write_action(d, argv[0], argv[1], w, false);
	return SL_CTL_OK;
}

static int ctl_drain(struct sl_daemon *d, int argc, char **argv,
		     struct sl_jw *w, char *err, size_t errlen)
{
	return drain(d, argv, true, w, err, errlen);
}

static int ctl_undrain(struct sl_daemon *d, int argc, char **argv,
		       struct sl_jw *w, char *err, size_t errlen)
{
	return drain(d, argv, false, w, err, errlen);
}

static int ctl_weight(struct sl_daemon *d, int argc, char **argv,
		      struct sl_jw *w, char *err, size_t errlen)
{
	char *end;
	long n;
	int rc;

	errno = 0;
	n = strtol(argv[2], &end, 10);
	if (end == argv[2] || *end) {
		snprintf(err, errlen, "weight %s: not a number", argv[2]);
		return SL_CTL_INVALID;
	}
	if (errno == ERANGE) {
		snprintf(err, errlen, "weight %s is not in 0..%d", argv[2],
			 SL_CTL_WEIGHT_MAX);
		return SL_CTL_INVALID;
	}
	/* the range itself is sl_daemon_set_weight's to check */
	rc = sl_daemon_set_weight(d, argv[0], argv[1], n, err, errlen);
	if (rc < 0)
		return action_code(rc, err, errlen);
	write_action(d, argv[0], argv[1], w, true);
	return SL_CTL_OK;
}

static int ctl_reload(struct sl_daemon *d, int argc, char **argv,
		      struct sl_jw *w, char *err, size_t errlen)
{
	unsigned int i;
	int rc;

	rc = sl_daemon_reload(d, err, errlen);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: %s", d->config_path,
				 strerror(-rc));
		return rc == -ENOMEM ? SL_CTL_INTERNAL : SL_CTL_RELOAD_FAILED;
	}
	sl_jw_obj_begin(w);
	sl_jw_kstr(w, "config_file", d->config_path);
	/*
	 * The new tables go out with the next publish, after this reply:
	 * "generation" is still the running one while publish_pending is
	 * true; a script waits for status to show a higher generation.
	 */
	sl_jw_ku64(w, "generation", d->gen);
	sl_jw_kbool(w, "publish_pending", d->publish_pending);
	sl_jw_ku64(w, "reloads", d->reloads);
	sl_jw_ku64(w, "vips", d->cfg->n_vips);
	sl_jw_ku64(w, "backends", sl_config_count_backends(d->cfg));
	sl_jw_key(w, "warnings");
	sl_jw_arr_begin(w);
	for (i = 0; i < d->cfg->n_warnings; i++)
		sl_jw_str(w, d->cfg->warnings[i]);
	sl_jw_arr_end(w);
	sl_jw_obj_end(w);
	return SL_CTL_OK;
}

/* ---- dispatch ----------------------------------------------------------- */

static void reply_error(struct sl_buf *reply, int code, const char *msg)
{
	struct sl_jw w;

	sl_buf_reset(reply);
	sl_jw_init(&w, reply);
	sl_jw_obj_begin(&w);
	sl_jw_ku64(&w, "code", (sl_u64)code);
	sl_jw_kstr(&w, "error", msg);
	sl_jw_obj_end(&w);
}

void sl_ctlsock_handle(struct sl_daemon *d, const char *line,
		       struct sl_buf *reply)
{
	char copy[SL_CTL_REQUEST_MAX + 1], err[1024] = "";
	char *argv[SL_CTL_ARGS_MAX + 1], *save = NULL, *tok;
	const struct ctl_cmd *c = NULL;
	struct sl_buf result;
	struct sl_jw w;
	int argc = 0, code;
	size_t i;

	if (strlen(line) > SL_CTL_REQUEST_MAX) {
		reply_error(reply, SL_CTL_BAD_REQUEST, "request too long");
		return;
	}
	strcpy(copy, line);
	for (tok = strtok_r(copy, " \t\r", &save); tok;
	     tok = strtok_r(NULL, " \t\r", &save)) {
		if (argc == SL_CTL_ARGS_MAX) {
			snprintf(err, sizeof(err),
				 "too many words in the request (at most %d)",
				 SL_CTL_ARGS_MAX);
			reply_error(reply, SL_CTL_BAD_REQUEST, err);
			return;
		}
		argv[argc++] = tok;
	}
	if (argc == 0) {
		reply_error(reply, SL_CTL_BAD_REQUEST,
			    "empty request (try 'help')");
		return;
	}
	for (i = 0; i < SL_ARRAY_SIZE(ctl_cmds); i++)
		if (!strcmp(ctl_cmds[i].name, argv[0]))
			c = &ctl_cmds[i];
	if (!c) {
		snprintf(err, sizeof(err),
			 "unknown command '%.64s' (try 'help')", argv[0]);
		reply_error(reply, SL_CTL_BAD_REQUEST, err);
		return;
	}
	if (argc - 1 < c->min_args || argc - 1 > c->max_args) {
		snprintf(err, sizeof(err), "usage: %s%s%s", c->name,
			 c->args[0] ? " " : "", c->args);
		reply_error(reply, SL_CTL_BAD_REQUEST, err);
		return;
	}

	sl_buf_init(&result);
	sl_jw_init(&w, &result);
	code = c->fn(d, argc - 1, argv + 1, &w, err, sizeof(err));
	if (code == SL_CTL_OK && result.oom) {
		code = SL_CTL_INTERNAL;
		snprintf(err, sizeof(err), "%s: out of memory", c->name);
	}
	if (code != SL_CTL_OK) {
		reply_error(reply, code, err[0] ? err : "failed");
	} else {
		sl_buf_reset(reply);
		sl_buf_puts(reply, "{\"code\":0,\"result\":");
		sl_buf_add(reply, result.data, result.len);
		sl_buf_puts(reply, "}");
	}
	sl_buf_free(&result);
}

/* ---- connections (conn.c) ----------------------------------------------- */

/* A request ends at its first newline, or at EOF. */
static ssize_t request_complete(void *arg, const char *req, size_t len,
				size_t from)
{
	const char *nl = memchr(req + from, '\n', len - from);

	return nl ? nl - req : -1;
}

static void request_reply(void *arg, enum sl_conn_end end, char *req,
			  size_t len, struct sl_buf *out)
{
	char msg[96];

	if (end == SL_CONN_TOO_BIG) {
		snprintf(msg, sizeof(msg), "request longer than %d bytes",
			 SL_CTL_REQUEST_MAX);
		reply_error(out, SL_CTL_BAD_REQUEST, msg);
	} else if (end == SL_CONN_EOF && !len) {
		reply_error(out, SL_CTL_BAD_REQUEST,
			    "empty request (try 'help')");
	} else {
		sl_ctlsock_handle(arg, req, out);
	}
	sl_buf_add(out, "\n", 1);
}

SL_STATIC_ASSERT(SL_CTL_INTERNAL == 5, "busy reply below");

static const struct sl_conn_proto ctl_proto = {
	.clients_max = SL_CTL_CLIENTS_MAX,
	.request_max = SL_CTL_REQUEST_MAX,
	.timeout_ms = SL_CTL_TIMEOUT_MS,
	.busy = "{\"code\":5,\"error\":\"too many control connections\"}\n",
	.complete = request_complete,
	.reply = request_reply,
};

/* ---- open / close ------------------------------------------------------- */

static int mkdir_parents(const char *path)
{
	char dir[PATH_MAX], *p;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* 0 when path is free (or was a stale socket, now removed), else -errno. */
static int clear_stale(const char *path, const struct sockaddr_un *sa,
		       char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "control socket %s: exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0) {
		snprintf(err, errlen,
			 "control socket %s: in use by another "
			 "process (is another sluiced running?)",
			 path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED && errno != ENOENT)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

struct sl_ctlsock *sl_ctlsock_open(struct sl_daemon *d, const char *path,
				   char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sl_ctlsock *cs;
	const char *what;
	struct stat st;
	mode_t old;
	int fd = -1, rc;

	err[0] = '\0';
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
			 "control socket %s: path longer than %zu "
			 "bytes",
			 path, sizeof(sa.sun_path) - 1);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cs = calloc(1, sizeof(*cs));
	if (!cs) {
		snprintf(err, errlen, "control socket %s: out of memory", path);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(cs->path, sa.sun_path, sizeof(cs->path));

	what = "cannot create its directory";
	rc = mkdir_parents(path);
	if (rc < 0)
		goto fail;
	what = "cannot replace the old socket";
	rc = clear_stale(path, &sa, err, errlen);
	if (rc < 0)
		goto fail;
	what = "socket";
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail_errno;
	/* no window in which the socket is open to others: umask, then chmod */
	what = "bind";
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0)
		goto fail_errno;
	what = "chmod";
	if (chmod(path, 0600) < 0 || stat(path, &st) < 0)
		goto fail_unlink;
	cs->dev = st.st_dev;
	cs->ino = st.st_ino;
	what = "listen";
	if (listen(fd, SOMAXCONN) < 0)
		goto fail_unlink;
	what = "cannot add it to the event loop";
	cs->srv = sl_conn_open(d->loop, fd, &ctl_proto, d);
	if (!cs->srv) {
		rc = -errno;
		unlink(path);
		goto fail;
	}
	return cs;

fail_unlink:
	rc = -errno;
	unlink(path);
	goto fail;
fail_errno:
	rc = -errno;
fail:
	if (!err[0])
		snprintf(err, errlen, "control socket %s: %s: %s", path, what,
			 strerror(-rc));
	if (fd >= 0)
		close(fd);
	free(cs);
	errno = -rc;
	return NULL;
}

void sl_ctlsock_close(struct sl_ctlsock *cs)
{
	struct stat st;

	if (!cs)
		return;
	sl_conn_close(cs->srv);
	/* a newer sluiced may have replaced the file: leave that one alone */
	if (stat(cs->path, &st) == 0 && st.st_dev == cs->dev &&
	    st.st_ino == cs->ino)
		unlink(cs->path);
	free(cs);
}
