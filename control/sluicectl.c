/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sluicectl.c: the operator's command-line tool.
 *
 * Commands come from two tables: local_cmds[] (help, check-config: no
 * daemon needed) and daemon_cmds[], generated from SL_CTL_COMMANDS in
 * include/sluice/ctl.h, the same list sluiced serves. `sluicectl help`
 * prints both, so the help cannot drift from what is implemented.
 *
 * A daemon command sends one request line over the control socket and
 * reads one JSON reply (protocol in ctl.h). --json prints that reply as it
 * came; otherwise render_<command>() turns it into aligned tables, so the
 * daemon has a single output format.
 *
 * Exit status: 0 success, 1 the command failed (cannot connect, the daemon
 * answered with an error, check-config found the file invalid), 2 usage
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <sluice/ctl.h>

#include "config.h"
#include "json.h"

#define DEFAULT_SOCKET "/run/sluice/default.sock"
#define REPLY_TIMEOUT_S 30

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct opts {
	const char *socket;
	const char *config;
	bool json;
};

struct cmd;
typedef int (*local_fn)(const struct opts *o, int argc, char **argv);
typedef void (*render_fn)(const struct sl_json *result);

struct cmd {
	const char *name;
	const char *args; /* usage of the arguments */
	const char *help;
	int min_args, max_args;
	local_fn run;	  /* local commands */
	render_fn render; /* daemon commands */
};

static int cmd_help(const struct opts *o, int argc, char **argv);
static int cmd_check_config(const struct opts *o, int argc, char **argv);

static const struct cmd local_cmds[] = {
	{ "help", "[COMMAND]", "show this help, or one command's", 0, 1,
	  cmd_help, NULL },
	{ "check-config", "FILE", "validate a config file offline", 1, 1,
	  cmd_check_config, NULL },
};

#define RENDER_DECL(id, name, args, min, max, help) \
	static void render_##id(const struct sl_json *result);
SL_CTL_COMMANDS(RENDER_DECL)
#undef RENDER_DECL

static const struct cmd daemon_cmds[] = {
#define DAEMON_ROW(id, name, args, min, max, help) \
	{ name, args, help, min, max, NULL, render_##id },
	SL_CTL_COMMANDS(DAEMON_ROW)
#undef DAEMON_ROW
};

/* Local commands first: the local "help" shadows the daemon's. */
static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < SL_ARRAY_SIZE(local_cmds); i++)
		if (!strcmp(local_cmds[i].name, name))
			return &local_cmds[i];
	for (i = 0; i < SL_ARRAY_SIZE(daemon_cmds); i++)
		if (!strcmp(daemon_cmds[i].name, name))
			return &daemon_cmds[i];
	return NULL;
}

static void print_cmd(FILE *f, const char *name, const char *args,
		      const char *help)
{
	char lhs[64];

	snprintf(lhs, sizeof(lhs), "%s%s%s", name, args[0] ? " " : "", args);
	fprintf(f, "  %-28s %s\n", lhs, help);
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sluicectl [-s SOCKET | -c CONFIG] [--json] COMMAND "
		   "[ARGS]\n\ncommands:\n");
	for (i = 0; i < SL_ARRAY_SIZE(local_cmds); i++)
		print_cmd(f, local_cmds[i].name, local_cmds[i].args,
			  local_cmds[i].help);
	for (i = 0; i < SL_ARRAY_SIZE(daemon_cmds); i++)
		if (find_cmd(daemon_cmds[i].name) == &daemon_cmds[i])
			print_cmd(f, daemon_cmds[i].name, daemon_cmds[i].args,
				  daemon_cmds[i].help);
	fprintf(f,
		"\noptions:\n"
		"  -s, --socket SOCKET          control socket of sluiced "
		"(default " DEFAULT_SOCKET ")\n"
		"  -c, --config CONFIG          use the control.socket of "
		"this config file\n"
		"      --json                   print the daemon's JSON reply "
		"as it is\n"
		"  -h, --help                   show this help\n");
}

static int cmd_help(const struct opts *o, int argc, char **argv)
{
	const struct cmd *c;

	if (argc == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	c = find_cmd(argv[0]);
	if (!c) {
		fprintf(stderr,
			"sluicectl: unknown command '%s' "
			"(try 'sluicectl help')\n",
			argv[0]);
		return EXIT_USAGE;
	}
	printf("usage: sluicectl %s%s%s\n", c->name, c->args[0] ? " " : "",
	       c->args);
	printf("  %s\n", c->help);
	return EXIT_OK;
}

/* ---- check-config (offline) -------------------------------------------- */

static void check_config_json(const char *file, const struct sl_config *cfg,
			      const char *err)
{
	struct sl_buf b;
	struct sl_jw w;
	unsigned int i;

	sl_buf_init(&b);
	sl_jw_init(&w, &b);
	sl_jw_obj_begin(&w);
	sl_jw_kstr(&w, "file", file);
	sl_jw_kbool(&w, "ok", cfg != NULL);
	if (cfg)
		sl_jw_knull(&w, "error");
	else
		sl_jw_kstr(&w, "error", err);
	sl_jw_key(&w, "warnings");
	sl_jw_arr_begin(&w);
	for (i = 0; cfg && i < cfg->n_warnings; i++)
		sl_jw_str(&w, cfg->warnings[i]);
	sl_jw_arr_end(&w);
	if (cfg) {
		sl_jw_ku64(&w, "vips", cfg->n_vips);
		sl_jw_ku64(&w, "backends", sl_config_count_backends(cfg));
	}
	sl_jw_obj_end(&w);
	if (b.data)
		printf("%s\n", b.data);
	sl_buf_free(&b);
}

static int cmd_check_config(const struct opts *o, int argc, char **argv)
{
	const char *file = argv[0];
	struct sl_config *cfg;
	char err[1024];
	unsigned int i, nb;

	cfg = sl_config_load(file, err, sizeof(err));
	if (o->json) {
		check_config_json(file, cfg, err);
	} else if (!cfg) {
		fprintf(stderr, "%s\n", err);
	} else {
		nb = sl_config_count_backends(cfg);
		for (i = 0; i < cfg->n_warnings; i++)
			fprintf(stderr, "warning: %s\n", cfg->warnings[i]);
		printf("%s: OK: %u VIP%s, %u backend%s\n", file, cfg->n_vips,
		       cfg->n_vips == 1 ? "" : "s", nb, nb == 1 ? "" : "s");
	}
	if (!cfg)
		return EXIT_FAILED;
	sl_config_free(cfg);
	return EXIT_OK;
}

/* ---- talking to sluiced ------------------------------------------------- */

/*
 * Send line, read the reply until EOF into *reply. EXIT_OK, or
 * EXIT_FAILED with the message printed.
 */
static int exchange(const char *path, const char *line, struct sl_buf *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = REPLY_TIMEOUT_S };
	size_t off = 0, len = strlen(line);
	char chunk[65536];
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr,
			"sluicectl: %s: socket path longer than %zu "
			"bytes\n",
			path, sizeof(sa.sun_path) - 1);
		return EXIT_FAILED;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "sluicectl: socket: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr,
			"sluicectl: cannot connect to %s: %s "
			"(is sluiced running?)\n",
			path, strerror(errno));
		close(fd);
		return EXIT_FAILED;
	}
	while (off < len) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr,
				"sluicectl: %s: sending the request: "
				"%s\n",
				path, strerror(errno));
			close(fd);
			return EXIT_FAILED;
		}
		off += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr,
				"sluicectl: %s: reading the reply: %s\n", path,
				errno == EAGAIN ? "timed out"
						: strerror(errno));
			close(fd);
			return EXIT_FAILED;
		}
		if (n == 0)
			break;
		if (reply->len + (size_t)n > SL_CTL_REPLY_MAX) {
			fprintf(stderr,
				"sluicectl: %s: reply larger than %d "
				"bytes\n",
				path, SL_CTL_REPLY_MAX);
			close(fd);
			return EXIT_FAILED;
		}
		sl_buf_add(reply, chunk, (size_t)n);
	}
	close(fd);
	if (reply->oom) {
		fprintf(stderr, "sluicectl: out of memory\n");
		return EXIT_FAILED;
	}
	if (!reply->len) {
		fprintf(stderr,
			"sluicectl: %s: the daemon closed the "
			"connection without a reply\n",
			path);
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

static int run_daemon_cmd(const struct opts *o, const struct cmd *c, int argc,
			  char **argv)
{
	const struct sl_json *code, *result;
	struct sl_buf req, reply;
	struct sl_json *root = NULL;
	char err[256];
	int i, rc;

	sl_buf_init(&req);
	sl_buf_init(&reply);
	sl_buf_puts(&req, c->name);
	for (i = 0; i < argc; i++) {
		if (!argv[i][0] || strpbrk(argv[i], " \t\r\n")) {
			fprintf(stderr,
				"sluicectl: %s: argument '%s' may not "
				"be empty or hold spaces\n",
				c->name, argv[i]);
			rc = EXIT_USAGE;
			goto out;
		}
		sl_buf_printf(&req, " %s", argv[i]);
	}
	sl_buf_puts(&req, "\n");
	if (req.len > SL_CTL_REQUEST_MAX) {
		fprintf(stderr, "sluicectl: %s: request longer than %d bytes\n",
			c->name, SL_CTL_REQUEST_MAX);
		rc = EXIT_USAGE;
		goto out;
	}
	rc = exchange(o->socket, req.data, &reply);
	if (rc)
		goto out;
	rc = EXIT_FAILED;
	root = sl_json_parse(reply.data, reply.len, err, sizeof(err));
	code = sl_json_get(root, "code");
	if (!root || !code || code->type != SL_JSON_NUMBER) {
		fprintf(stderr, "sluicectl: %s: not a sluiced reply: %s\n",
			o->socket, root ? "no \"code\"" : err);
		goto out;
	}
	if (o->json) {
		fwrite(reply.data, 1, reply.len, stdout);
		if (reply.data[reply.len - 1] != '\n')
			putchar('\n');
		rc = code->num == SL_CTL_OK ? EXIT_OK : EXIT_FAILED;
		goto out;
	}
	if (code->num != SL_CTL_OK) {
		const char *e = sl_json_get_str(root, "error");

		fprintf(stderr, "sluicectl: %s\n", e ? e : "command failed");
		goto out;
	}
	result = sl_json_get(root, "result");
	if (!result) {
		fprintf(stderr, "sluicectl: %s: reply without a result\n",
			o->socket);
		goto out;
	}
	c->render(result);
	rc = EXIT_OK;
out:
	sl_json_free(root);
	sl_buf_free(&req);
	sl_buf_free(&reply);
	return rc;
}

/* ---- human output ------------------------------------------------------- */

#define TABLE_COLS_MAX 16

/* Rows of text cells, printed with every column as wide as its widest. */
struct table {
	unsigned int ncols, nrows;
	const char *head[TABLE_COLS_MAX];
	bool right[TABLE_COLS_MAX]; /* numbers align right */
	char **cells;		    /* nrows * ncols */
	unsigned int cur;	    /* cells filled in the current row */
};

static void t_col(struct table *t, const char *head, bool right)
{
	t->head[t->ncols] = head;
	t->right[t->ncols] = right;
	t->ncols++;
}

static void __attribute__((format(printf, 2, 3)))
t_cell(struct table *t, const char *fmt, ...)
{
	char **cells;
	va_list ap;
	char *s;

	if (t->cur == 0 || t->cur == t->ncols) {
		cells = realloc(t->cells, (size_t)(t->nrows + 1) * t->ncols *
						  sizeof(*cells));
		if (!cells) {
			fprintf(stderr, "sluicectl: out of memory\n");
			exit(EXIT_FAILED);
		}
		t->cells = cells;
		t->nrows++;
		t->cur = 0;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		fprintf(stderr, "sluicectl: out of memory\n");
		exit(EXIT_FAILED);
	}
	va_end(ap);
	t->cells[(size_t)(t->nrows - 1) * t->ncols + t->cur++] = s;
}

static void t_print(struct table *t)
{
	size_t w[TABLE_COLS_MAX];
	unsigned int r, c;
	const char *s;

	for (c = 0; c < t->ncols; c++)
		w[c] = strlen(t->head[c]);
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			s = t->cells[(size_t)r * t->ncols + c];
			if (strlen(s) > w[c])
				w[c] = strlen(s);
		}
	for (r = 0; r <= t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			s = r == 0 ? t->head[c]
				   : t->cells[(size_t)(r - 1) * t->ncols + c];
			if (c == t->ncols - 1 && !t->right[c])
				printf("%s", s);
			else
				printf(t->right[c] ? "%*s" : "%-*s", (int)w[c],
				       s);
			if (c < t->ncols - 1)
				fputs("  ", stdout);
		}
		putchar('\n');
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* A member as text: numbers as integers, null/absent as "-". */
static const char *txt(const struct sl_json *o, const char *key, char *buf,
		       size_t len)
{
	const struct sl_json *v = sl_json_get(o, key);

	if (!v || v->type == SL_JSON_NULL)
		return "-";
	switch (v->type) {
	case SL_JSON_STRING:
		return v->str[0] ? v->str : "-";
	case SL_JSON_BOOL:
		return v->boolean ? "yes" : "no";
	case SL_JSON_NUMBER:
		if (v->is_int && v->num >= 0)
			snprintf(buf, len, "%" PRIu64, v->u);
		else if (v->is_int)
			snprintf(buf, len, "%" PRId64, v->i);
		else
			snprintf(buf, len, "%g", v->num);
		return buf;
	default:
		return "?";
	}
}

static uint64_t num(const struct sl_json *o, const char *key)
{
	uint64_t v = 0;

	sl_json_get_u64(o, key, &v);
	return v;
}

static void print_duration(char *buf, size_t len, uint64_t s)
{
	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h%02" PRIu64 "m",
			 s / 86400, s / 3600 % 24, s / 60 % 60);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s",
			 s / 3600, s / 60 % 60, s % 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
			 s % 60);
	else
		snprintf(buf, len, "%" PRIu64 "s", s);
}

static void render_help(const struct sl_json *r)
{
	const struct sl_json *cmds = sl_json_get(r, "commands");
	size_t i;

	printf("commands served by sluiced:\n");
	for (i = 0; cmds && cmds->type == SL_JSON_ARRAY && i < cmds->n; i++) {
		const char *name = sl_json_get_str(&cmds->items[i], "name");
		const char *args = sl_json_get_str(&cmds->items[i], "args");
		const char *help = sl_json_get_str(&cmds->items[i], "help");

		print_cmd(stdout, name ? name : "?", args ? args : "",
			  help ? help : "");
	}
}

static void render_status(const struct sl_json *r)
{
	const struct sl_json *dp = sl_json_get(r, "dataplane");
	const struct sl_json *be = sl_json_get(r, "backends");
	char a[64], b[64], up[32];
	const char *e;

	print_duration(up, sizeof(up), num(r, "uptime_s"));
	printf("%-12s %s (pid %s, up %s)\n", "instance",
	       txt(r, "instance", a, sizeof(a)), txt(r, "pid", b, sizeof(b)),
	       up);
	printf("%-12s %s\n", "mode", txt(r, "mode", a, sizeof(a)));
	printf("%-12s %s\n", "config", txt(r, "config_file", a, sizeof(a)));
	printf("%-12s %" PRIu64 " (%" PRIu64 " published, %" PRIu64
	       " failed%s)\n",
	       "generation", num(r, "generation"), num(r, "publishes"),
	       num(r, "publish_failures"),
	       sl_json_get_bool(r, "publish_pending") ? ", change pending"
						      : "");
	printf("%-12s %" PRIu64 " ok, %" PRIu64 " failed\n", "reloads",
	       num(r, "reloads"), num(r, "reload_failures"));
	e = sl_json_get_str(r, "last_reload_error");
	if (e)
		printf("%-12s %s\n", "last error", e);
	printf("%-12s ", "dataplane");
	if (!sl_json_get_bool(dp, "attached")) {
		printf("not attached\n");
	} else {
		printf("%s", sl_json_get_bool(dp, "alive") ? "alive" : "DEAD");
		if (sl_json_get_u64(dp, "pid", &(uint64_t){ 0 }))
			printf(", pid %s", txt(dp, "pid", a, sizeof(a)));
		if (sl_json_get_u64(dp, "heartbeat_age_ms", &(uint64_t){ 0 }))
			printf(", heartbeat %s ms ago",
			       txt(dp, "heartbeat_age_ms", a, sizeof(a)));
		if (sl_json_get_u64(dp, "lcores", &(uint64_t){ 0 }))
			printf(", %s lcores", txt(dp, "lcores", a, sizeof(a)));
		if (sl_json_get_u64(dp, "table_generation", &(uint64_t){ 0 }))
			printf(", using generation %s",
			       txt(dp, "table_generation", a, sizeof(a)));
		putchar('\n');
	}
	printf("%-12s %" PRIu64 "\n", "vips", num(r, "vips"));
	printf("%-12s %" PRIu64 " (%" PRIu64 " up, %" PRIu64 " down, %" PRIu64
	       " drained)\n",
	       "backends", num(be, "total"), num(be, "up"), num(be, "down"),
	       num(be, "drained"));
}

static void render_vips(const struct sl_json *r)
{
	const struct sl_json *vips = sl_json_get(r, "vips");
	struct table t = { 0 };
	char b[64];
	size_t i;

	t_col(&t, "NAME", false);
	t_col(&t, "ADDRESS", false);
	t_col(&t, "PORT", true);
	t_col(&t, "PROTO", false);
	t_col(&t, "METHOD", false);
	t_col(&t, "TABLE", true);
	t_col(&t, "UP/TOTAL", true);
	t_col(&t, "PACKETS", true);
	t_col(&t, "BYTES", true);
	t_col(&t, "NEW_FLOWS", true);
	t_col(&t, "DROPS", true);
	for (i = 0; vips && vips->type == SL_JSON_ARRAY && i < vips->n; i++) {
		const struct sl_json *v = &vips->items[i];

		t_cell(&t, "%s", txt(v, "name", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "address", b, sizeof(b)));
		t_cell(&t, "%s",
		       num(v, "port") ? txt(v, "port", b, sizeof(b)) : "*");
		t_cell(&t, "%s", txt(v, "proto", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "method", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "table_size", b, sizeof(b)));
		t_cell(&t, "%" PRIu64 "/%" PRIu64, num(v, "backends_up"),
		       num(v, "backends_total"));
		t_cell(&t, "%s", txt(v, "packets", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "bytes", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "new_flows", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "drops", b, sizeof(b)));
	}
	t_print(&t);
}

static void render_backends(const struct sl_json *r)
{
	const struct sl_json *bes = sl_json_get(r, "backends");
	struct table t = { 0 };
	uint64_t lat;
	char b[128];
	size_t i;

	t_col(&t, "VIP", false);
	t_col(&t, "BACKEND", false);
	t_col(&t, "WEIGHT", true);
	t_col(&t, "STATE", false);
	t_col(&t, "HEALTH", false);
	t_col(&t, "CHECKS_OK/FAILED", true);
	t_col(&t, "LATENCY", true);
	t_col(&t, "PACKETS", true);
	t_col(&t, "BYTES", true);
	t_col(&t, "NEW_FLOWS", true);
	t_col(&t, "LAST_ERROR", false);
	for (i = 0; bes && bes->type == SL_JSON_ARRAY && i < bes->n; i++) {
		const struct sl_json *v = &bes->items[i];

		t_cell(&t, "%s", txt(v, "vip", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "backend", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "weight", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "state", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "health", b, sizeof(b)));
		t_cell(&t, "%" PRIu64 "/%" PRIu64, num(v, "checks_ok"),
		       num(v, "checks_failed"));
		if (sl_json_get_u64(v, "last_latency_us", &lat))
			t_cell(&t, "%.1fms", lat / 1000.0);
		else
			t_cell(&t, "-");
		t_cell(&t, "%s", txt(v, "packets", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "bytes", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "new_flows", b, sizeof(b)));
		t_cell(&t, "%s", txt(v, "last_error", b, sizeof(b)));
	}
	t_print(&t);
}

static void render_stats(const struct sl_json *r)
{
	static const char *const keys[] = {
		"rx_packets",	     "rx_bytes",
		"tx_packets",	     "tx_bytes",
		"flow_hits",	     "flow_misses",
		"flow_evictions",    "flow_repicks",
		"arp_replies",	     "icmp_echo_replies",
		"icmp_too_big_sent", "icmp_errors_forwarded",
		"drops_total",
	};
	const struct sl_json *drops = sl_json_get(r, "drops");
	struct table t = { 0 };
	char b[64];
	uint64_t v;
	size_t i;

	if (!sl_json_get_bool(r, "available")) {
		printf("no dataplane counters (no dataplane attached)\n");
		return;
	}
	t_col(&t, "COUNTER", false);
	t_col(&t, "VALUE", true);
	t_cell(&t, "lcores");
	t_cell(&t, "%s", txt(r, "lcores", b, sizeof(b)));
	for (i = 0; i < SL_ARRAY_SIZE(keys); i++) {
		t_cell(&t, "%s", keys[i]);
		t_cell(&t, "%s", txt(r, keys[i], b, sizeof(b)));
	}
	/* zero drop reasons are noise here; --json has every one */
	for (i = 0; drops && drops->type == SL_JSON_OBJECT && i < drops->n; i++)
		if (sl_json_get_u64(drops, drops->keys[i], &v) && v) {
			t_cell(&t, "  drops.%s", drops->keys[i]);
			t_cell(&t, "%" PRIu64, v);
		}
	t_print(&t);
}

static void render_drain_common(const struct sl_json *r)
{
	char a[64], b[80], s[32];

	printf("vip %s: backend %s %s (state %s)\n",
	       txt(r, "vip", a, sizeof(a)), txt(r, "backend", b, sizeof(b)),
	       sl_json_get_bool(r, "drained") ? "drained" : "undrained",
	       txt(r, "state", s, sizeof(s)));
}

static void render_drain(const struct sl_json *r)
{
	render_drain_common(r);
}

static void render_undrain(const struct sl_json *r)
{
	render_drain_common(r);
}

static void render_weight(const struct sl_json *r)
{
	char a[64], b[80], w[32];

	printf("vip %s: backend %s weight %s\n", txt(r, "vip", a, sizeof(a)),
	       txt(r, "backend", b, sizeof(b)), txt(r, "weight", w, sizeof(w)));
}

static void render_reload(const struct sl_json *r)
{
	const struct sl_json *warn = sl_json_get(r, "warnings");
	char f[256];
	size_t i;

	for (i = 0; warn && warn->type == SL_JSON_ARRAY && i < warn->n; i++)
		if (warn->items[i].type == SL_JSON_STRING)
			fprintf(stderr, "warning: %s\n", warn->items[i].str);
	printf("reloaded %s: %" PRIu64 " VIP%s, %" PRIu64 " backend%s\n",
	       txt(r, "config_file", f, sizeof(f)), num(r, "vips"),
	       num(r, "vips") == 1 ? "" : "s", num(r, "backends"),
	       num(r, "backends") == 1 ? "" : "s");
}

/* ---- main --------------------------------------------------------------- */

/* -c CONFIG: the socket its control.socket names. */
static int socket_from_config(struct opts *o, char *buf, size_t len)
{
	struct sl_config *cfg;
	char err[1024];

	cfg = sl_config_load(o->config, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "sluicectl: %s\n", err);
		return EXIT_FAILED;
	}
	snprintf(buf, len, "%s", cfg->ctl.socket);
	sl_config_free(cfg);
	o->socket = buf;
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .socket = NULL };
	char sockbuf[SL_CONFIG_SOCKET_LEN];
	const struct cmd *c;
	int opt, nargs, rc;

	while ((opt = getopt_long(argc, argv, "s:c:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.socket = optarg;
			break;
		case 'c':
			o.config = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (o.socket && o.config) {
		fprintf(stderr, "sluicectl: -s and -c both name the socket; "
				"give one\n");
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	c = find_cmd(argv[optind]);
	if (!c) {
		fprintf(stderr,
			"sluicectl: unknown command '%s' "
			"(try 'sluicectl help')\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	nargs = argc - optind - 1;
	if (nargs < c->min_args || nargs > c->max_args) {
		fprintf(stderr, "usage: sluicectl %s%s%s\n", c->name,
			c->args[0] ? " " : "", c->args);
		return EXIT_USAGE;
	}
	if (c->run)
		return c->run(&o, nargs, argv + optind + 1);
	if (o.config) {
		rc = socket_from_config(&o, sockbuf, sizeof(sockbuf));
		if (rc)
			return rc;
	}
	if (!o.socket)
		o.socket = DEFAULT_SOCKET;
	return run_daemon_cmd(&o, c, nargs, argv + optind + 1);
}
