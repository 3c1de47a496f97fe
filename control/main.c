/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c: sluiced, the control-plane daemon. Only wiring: arguments, the
 * config, daemonizing, the shared memory (DPDK mode) or the XDP loader,
 * the control socket and metrics listener, signals, the event loop.
 *
 * Without -f it daemonizes the traditional way (fork, setsid, fork, chdir
 * /, umask, stdio to /dev/null, pidfile, syslog) and the first process
 * exits only once the daemon is ready, 0, or with its start error and 1,
 * so `sluiced -c FILE && ...` and init scripts see failures. With -f it
 * stays in the foreground and logs to stderr (systemd Type=simple).
 *
 * On exit (SIGTERM, SIGINT) the published table stays in shared memory and
 * the dataplane keeps forwarding with it; a restarted sluiced re-attaches
 * and carries on from what is published. One thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "ctlsock.h"
#include "daemon.h"
#include "metrics.h"
#include "publish.h"
#include "xdp.h"

#define PIDFILE_DIR "/run/sluice"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

struct opts {
	const char *config;
	bool foreground;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluiced -c FILE [-f]\n"
		"  -c FILE   the config file (see configs/)\n"
		"  -f        stay in the foreground and log to stderr "
		"(systemd); else daemonize,\n"
		"            write " PIDFILE_DIR "/<instance>.pid and log to "
		"syslog\n"
		"  -h        this help\n"
		"signals: SIGHUP re-reads the config file; SIGTERM/SIGINT "
		"exit, leaving the\n"
		"published tables to the dataplane\n");
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	while ((c = getopt(argc, argv, "c:fh")) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_OK);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!o->config || optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* A socket and a few timers per backend: thousands of descriptors. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---- daemonizing ---- */

/*
 * Returns in the daemon with *ready the pipe to report on; the first
 * process waits there and exits with the daemon's verdict.
 */
static int daemonize(int *ready)
{
	char msg[1024];
	ssize_t n, got = 0;
	int p[2], null, st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		waitpid(pid, &st, 0);
		while ((n = read(p[0], msg + got, sizeof(msg) - 1 - got)) > 0)
			got += n;
		msg[got] = 0;
		if (got > 0 && msg[0] == 0)
			exit(EXIT_OK);
		fprintf(stderr, "%s\n",
			got ? msg
			    : "sluiced: the daemon exited "
			      "during start");
		exit(EXIT_FAILED);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(EXIT_FAILED);
	pid = fork();
	if (pid < 0)
		_exit(EXIT_FAILED);
	if (pid > 0)
		_exit(EXIT_OK); /* not a session leader: never gets a tty */
	/* Descriptors inherited from whoever started us are not ours. */
	if (p[1] > 3)
		close_range(3, (unsigned int)p[1] - 1, 0);
	close_range((unsigned int)p[1] + 1, ~0U, 0);
	umask(022);
	if (chdir("/") < 0)
		_exit(EXIT_FAILED);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	*ready = p[1];
	return 0;
}

/* Tell the waiting first process: "" for ready, else the error line. */
static void report_ready(int *ready, const char *msg)
{
	ssize_t rc;

	if (*ready < 0)
		return;
	rc = write(*ready, msg, strlen(msg) + (msg[0] ? 0 : 1));
	(void)rc;
	close(*ready);
	*ready = -1;
}

/* Locked for the daemon's life: a second sluiced of the instance fails. */
static int write_pidfile(const char *instance, char *path, size_t len,
			 char *err, size_t errlen)
{
	char buf[32];
	int fd, n;

	snprintf(path, len, PIDFILE_DIR "/%s.pid", instance);
	if (mkdir(PIDFILE_DIR, 0755) < 0 && errno != EEXIST)
		goto fail;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen,
			 "pidfile %s: another sluiced of instance "
			 "%s is running",
			 path, instance);
		close(fd);
		return -EBUSY;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, buf, (size_t)n) != n) {
		close(fd);
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
	path[0] = 0;
	return -errno;
}

/* ---- the daemon ---- */

static struct sl_daemon daemon_state;

static void on_stop(struct sl_loop *l, int signo, void *arg)
{
	struct sl_daemon *d = arg;

	sl_log(LOG_NOTICE, "%s: exiting; the dataplane keeps generation %llu",
	       strsignal(signo), (unsigned long long)d->gen);
	d->stopping = true;
	sl_loop_stop(l);
}

static void on_hup(struct sl_loop *l, int signo, void *arg)
{
	char err[512];

	sl_daemon_reload(arg, err, sizeof(err)); /* logs either way */
}

/* The control socket or metrics address changed with a reload. */
static void on_reloaded(struct sl_daemon *d, const struct sl_config *old)
{
	const struct sl_config_control *o = &old->ctl, *n = &d->cfg->ctl;
	char err[512];

	if (strcmp(o->socket, n->socket) != 0) {
		sl_ctlsock_close(d->ctl);
		d->ctl = sl_ctlsock_open(d, n->socket, err, sizeof(err));
		if (!d->ctl)
			sl_log(LOG_ERR, "%s", err);
	}
	if (o->metrics_family != n->metrics_family ||
	    o->metrics_port != n->metrics_port ||
	    memcmp(&o->metrics_addr, &n->metrics_addr,
		   sizeof(o->metrics_addr)) != 0) {
		sl_metrics_close(d->metrics);
		d->metrics = sl_metrics_open(d, err, sizeof(err));
		if (!d->metrics && err[0])
			sl_log(LOG_ERR, "%s", err);
	}
}

/* Shared memory and publisher (DPDK mode), or the XDP loader. */
static int open_dataplane(struct sl_daemon *d, char *err, size_t errlen)
{
	struct sl_shm_caps caps;
	int rc;

	if (d->cfg->dp.mode == SL_DP_XDP) {
		rc = sl_xdp_open(d, err, errlen);
		if (rc)
			return rc;
		d->publish_fn = sl_xdp_publish;
		d->stats_fn = sl_xdp_read_stats;
		d->tables_fn = sl_xdp_daemon_tables;
		return 0;
	}
	sl_shm_caps_for_config(d->cfg, false, &caps);
	d->shm = sl_shm_create(d->cfg->instance, &caps, NULL, err, errlen);
	if (!d->shm)
		return -errno;
	d->pub = sl_publisher_new(d->shm, err, errlen);
	if (!d->pub)
		return -errno;
	/* Never block the loop on the dataplane: -EAGAIN is retried. */
	sl_publisher_set_wait(d->pub, 0);
	return 0;
}

static void close_all(struct sl_daemon *d)
{
	sl_metrics_close(d->metrics);
	d->metrics = NULL;
	sl_ctlsock_close(d->ctl);
	d->ctl = NULL;
	if (d->cfg && d->cfg->dp.mode == SL_DP_XDP)
		sl_xdp_close(d);
	sl_daemon_stop(d);
	sl_publisher_free(d->pub);
	d->pub = NULL;
	sl_shm_close(d->shm, false); /* the dataplane keeps the tables */
	d->shm = NULL;
	sl_loop_free(d->loop);
	d->loop = NULL;
}

static void log_start(const struct sl_daemon *d)
{
	char where[600];

	if (d->shm)
		snprintf(where, sizeof(where), "shared memory %s (%s)",
			 sl_shm_path(d->shm),
			 d->restored ? "re-attached; backend states taken "
				       "from the published table"
				     : "new");
	else
		snprintf(where, sizeof(where), "XDP (%s)",
			 d->restored ? "table file re-attached; backend "
				       "states taken from the published table"
				     : "new tables");
	sl_log(LOG_NOTICE,
	       "sluiced %s: instance %s, %u VIPs, %u backends, "
	       "%s, control socket %s",
	       SLUICE_VERSION, d->cfg->instance, d->cfg->n_vips,
	       sl_config_count_backends(d->cfg), where, d->cfg->ctl.socket);
}

static int run(struct sl_daemon *d, int *ready, bool foreground)
{
	char err[1024] = "", pidpath[PATH_MAX] = "";
	int pidfd = -1, rc;

	d->loop = sl_loop_new();
	if (!d->loop) {
		snprintf(err, sizeof(err), "event loop: %s", strerror(errno));
		goto fail;
	}
	if ((rc = sl_loop_add_signal(d->loop, SIGTERM, on_stop, d)) ||
	    (rc = sl_loop_add_signal(d->loop, SIGINT, on_stop, d)) ||
	    (rc = sl_loop_add_signal(d->loop, SIGHUP, on_hup, d))) {
		snprintf(err, sizeof(err), "signals: %s", strerror(-rc));
		goto fail;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!foreground) {
		pidfd = write_pidfile(d->cfg->instance, pidpath,
				      sizeof(pidpath), err, sizeof(err));
		if (pidfd < 0)
			goto fail;
	}
	if (open_dataplane(d, err, sizeof(err)) < 0)
		goto fail;
	if (sl_daemon_start(d, err, sizeof(err)) < 0)
		goto fail;
	d->ctl = sl_ctlsock_open(d, d->cfg->ctl.socket, err, sizeof(err));
	if (!d->ctl)
		goto fail;
	d->metrics = sl_metrics_open(d, err, sizeof(err));
	if (!d->metrics && err[0])
		goto fail;
	d->reloaded = on_reloaded;
	log_start(d);
	report_ready(ready, "");
	rc = sl_loop_run(d->loop);
	if (rc)
		sl_log(LOG_ERR, "event loop: %s", strerror(-rc));
	if (d->publish_pending)
		sl_log(LOG_WARNING, "exiting with changes not yet published");
	close_all(d);
	if (pidfd >= 0) {
		unlink(pidpath);
		close(pidfd);
	}
	return rc ? EXIT_FAILED : EXIT_OK;
fail:
	sl_log(LOG_ERR, "%s", err);
	report_ready(ready, err);
	close_all(d);
	if (pidfd >= 0) {
		unlink(pidpath);
		close(pidfd);
	}
	return EXIT_FAILED;
}

int main(int argc, char **argv)
{
	struct sl_daemon *d = &daemon_state;
	struct opts o = { 0 };
	char err[1024];
	unsigned int i;
	int ready = -1;

	if (parse_args(argc, argv, &o))
		return EXIT_USAGE;
	raise_nofile();
	d->cfg = sl_config_load(o.config, err, sizeof(err));
	if (!d->cfg) {
		fprintf(stderr, "%s\n", err);
		return EXIT_FAILED;
	}
	for (i = 0; i < d->cfg->n_warnings; i++)
		fprintf(stderr, "warning: %s\n", d->cfg->warnings[i]);
	/* Reloads run after chdir("/"): keep an absolute path. */
	if (!realpath(o.config, d->config_path))
		snprintf(d->config_path, sizeof(d->config_path), "%s",
			 o.config);
	if (!o.foreground && daemonize(&ready) < 0) {
		fprintf(stderr, "sluiced: daemonize: %s\n", strerror(errno));
		return EXIT_FAILED;
	}
	sl_log_init(!o.foreground);
	return run(d, &ready, o.foreground);
}
