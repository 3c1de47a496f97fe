/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sluicectl.c: the operator's command-line tool.
 *
 * Every command is one row of cmds[] (name, arguments, help, handler, whether
 * it talks to sluiced); `sluicectl help` prints that table, so the help can
 * not drift from what is implemented. check-config works offline with the
 * same loader sluiced uses. The commands that need the daemon's control
 * socket are listed but not wired yet.
 *
 * Exit status: 0 success, 1 the command failed (for check-config: the file is
 * invalid), 2 usage error or command not available.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define DEFAULT_SOCKET "/run/sluice/default.sock"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct opts {
	const char *socket;
	bool json;
};

struct cmd {
	const char *name;
	const char *args;		/* usage of the arguments */
	const char *help;
	int (*run)(const struct opts *o, const struct cmd *cmd, int argc,
		   char **argv);
	bool needs_daemon;
	int min_args, max_args;
};

static int cmd_help(const struct opts *o, const struct cmd *cmd, int argc,
		    char **argv);
static int cmd_check_config(const struct opts *o, const struct cmd *cmd,
			    int argc, char **argv);
static int cmd_daemon(const struct opts *o, const struct cmd *cmd, int argc,
		      char **argv);

static const struct cmd cmds[] = {
	{ "help", "[COMMAND]", "show this help, or one command's",
	  cmd_help, false, 0, 1 },
	{ "check-config", "FILE", "validate a config file offline",
	  cmd_check_config, false, 1, 1 },
	{ "status", "", "daemon and dataplane state, config generation",
	  cmd_daemon, true, 0, 0 },
	{ "vips", "", "list VIPs with method, backends up and flows",
	  cmd_daemon, true, 0, 0 },
	{ "backends", "[VIP]", "list backends with health, weight and flows",
	  cmd_daemon, true, 0, 1 },
	{ "stats", "", "packet, byte and drop counters",
	  cmd_daemon, true, 0, 0 },
	{ "drain", "VIP BACKEND", "stop new flows to BACKEND (ADDR[:PORT]); "
	  "existing flows stay", cmd_daemon, true, 2, 2 },
	{ "undrain", "VIP BACKEND", "give BACKEND new flows again",
	  cmd_daemon, true, 2, 2 },
	{ "weight", "VIP BACKEND N", "set BACKEND's weight (0..65535)",
	  cmd_daemon, true, 3, 3 },
	{ "reload", "", "re-read the config file (as SIGHUP)",
	  cmd_daemon, true, 0, 0 },
};

static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static void print_cmd(FILE *f, const struct cmd *c)
{
	char lhs[64];

	snprintf(lhs, sizeof(lhs), "%s%s%s", c->name, c->args[0] ? " " : "",
		 c->args);
	fprintf(f, "  %-28s %s\n", lhs, c->help);
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: sluicectl [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
		"commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		print_cmd(f, &cmds[i]);
	fprintf(f, "\noptions:\n"
		"  -s, --socket SOCKET          control socket of sluiced "
		"(default " DEFAULT_SOCKET ")\n"
		"      --json                   machine-readable output\n"
		"  -h, --help                   show this help\n");
}

static int cmd_help(const struct opts *o, const struct cmd *cmd, int argc,
		    char **argv)
{
	const struct cmd *c;

	if (argc == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	c = find_cmd(argv[0]);
	if (!c) {
		fprintf(stderr, "sluicectl: unknown command '%s' "
			"(try 'sluicectl help')\n", argv[0]);
		return EXIT_USAGE;
	}
	printf("usage: sluicectl %s%s%s\n", c->name, c->args[0] ? " " : "",
	       c->args);
	printf("  %s\n", c->help);
	return EXIT_OK;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void check_config_json(const char *file, const struct sl_config *cfg,
			      const char *err)
{
	unsigned int i;

	fputs("{\"file\":", stdout);
	json_string(stdout, file);
	printf(",\"ok\":%s,\"error\":", cfg ? "true" : "false");
	if (cfg)
		fputs("null", stdout);
	else
		json_string(stdout, err);
	fputs(",\"warnings\":[", stdout);
	for (i = 0; cfg && i < cfg->n_warnings; i++) {
		if (i)
			fputc(',', stdout);
		json_string(stdout, cfg->warnings[i]);
	}
	fputc(']', stdout);
	if (cfg)
		printf(",\"vips\":%u,\"backends\":%u", cfg->n_vips,
		       sl_config_count_backends(cfg));
	fputs("}\n", stdout);
}

static int cmd_check_config(const struct opts *o, const struct cmd *cmd,
			    int argc, char **argv)
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
			fprintf(stderr, "warning: %s\n",
				cfg->warnings[i]);
		printf("%s: OK: %u VIP%s, %u backend%s\n", file, cfg->n_vips,
		       cfg->n_vips == 1 ? "" : "s", nb, nb == 1 ? "" : "s");
	}
	if (!cfg)
		return EXIT_FAILED;
	sl_config_free(cfg);
	return EXIT_OK;
}

static int cmd_daemon(const struct opts *o, const struct cmd *cmd, int argc,
		      char **argv)
{
	fprintf(stderr, "sluicectl: %s: no daemon support yet\n", cmd->name);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .socket = DEFAULT_SOCKET };
	const struct cmd *c;
	int opt, nargs;

	while ((opt = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.socket = optarg;
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
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	c = find_cmd(argv[optind]);
	if (!c) {
		fprintf(stderr, "sluicectl: unknown command '%s' "
			"(try 'sluicectl help')\n", argv[optind]);
		return EXIT_USAGE;
	}
	nargs = argc - optind - 1;
	if (nargs < c->min_args || nargs > c->max_args) {
		fprintf(stderr, "usage: sluicectl %s%s%s\n", c->name,
			c->args[0] ? " " : "", c->args);
		return EXIT_USAGE;
	}
	return c->run(&o, c, nargs, argv + optind + 1);
}
