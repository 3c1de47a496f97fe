/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daemon.h: the state of sluiced shared by its modules (main.c, health.c,
 * ctlsock.c, metrics.c, xdp.c).
 *
 * Everything here is owned by the one event-loop thread; no locks. The
 * config is immutable once committed: a reload builds a new struct sl_config
 * and a new runtime array, carries the health and operator state of every
 * backend whose identity is unchanged across, and then swaps both.
 */
#ifndef SLUICE_CONTROL_DAEMON_H
#define SLUICE_CONTROL_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"

struct sl_loop;
struct sl_publisher;
struct sl_shm;
struct sl_health;
struct sl_ctlsock;
struct sl_metrics;
struct sl_stats_snap;
struct sl_lcore_stats;
struct sl_vip_stats;
struct sl_backend_stats;
struct sl_pub_vip;
struct sl_pub_backend;

enum sl_hc_verdict {
	SL_HC_UNKNOWN = 0, /* not checked yet since start or reload */
	SL_HC_UP = 1,
	SL_HC_DOWN = 2,
};

/* Health and operator state of one backend. */
struct sl_backend_rt {
	const struct sl_config_backend *cfg; /* into the committed config */
	sl_u8 health;			     /* enum sl_hc_verdict */
	bool drained;		/* by the operator (sluicectl drain) */
	sl_s64 weight_override; /* -1: use the config's weight */
	sl_u32 ok_in_row;	/* consecutive successes */
	sl_u32 fail_in_row;	/* consecutive failures */
	sl_u64 checks_ok;
	sl_u64 checks_failed;
	sl_u64 last_check_ns; /* CLOCK_MONOTONIC */
	sl_u64 last_change_ns;
	sl_u32 last_latency_us; /* of the last completed check */
	char last_error[96];	/* "connection refused", "status 503", ... */
	int backend_id;		/* in the published table, -1 before publish */
};

struct sl_vip_rt {
	const struct sl_config_vip *cfg;
	struct sl_backend_rt *backends; /* cfg->n_backends, config order */
	int vip_id;			/* in the published table, -1 before */
};

struct sl_daemon {
	char config_path[4096];
	struct sl_config *cfg;
	struct sl_vip_rt *vips; /* cfg->n_vips */

	struct sl_loop *loop;
	struct sl_health *health;
	struct sl_ctlsock *ctl;
	struct sl_metrics *metrics;

	/* DPDK mode: shared memory and its publisher; XDP mode: xdp.c. */
	struct sl_shm *shm;
	struct sl_publisher *pub;
	void *xdp;

	/*
	 * XDP mode: publishes the runtime state into the BPF maps (set by
	 * main.c to sl_xdp_publish). NULL: the shm publisher above, or
	 * nothing when there is none (tests). Same returns as sl_publish;
	 * -EAGAIN is retried on a short timer.
	 */
	int (*publish_fn)(struct sl_daemon *d, char *err, size_t errlen);
	/*
	 * Called by a successful reload after the swap, while the old config
	 * is still allocated (main.c reopens the control socket or metrics
	 * listener when their address changed). May be NULL.
	 */
	void (*reloaded)(struct sl_daemon *d, const struct sl_config *old);
	/*
	 * Dataplane counters when there is no shared memory (XDP mode: set to
	 * sl_xdp_read_stats by main.c). Same arguments and returns.
	 */
	int (*stats_fn)(struct sl_daemon *d, struct sl_lcore_stats *total,
			struct sl_vip_stats *vips, unsigned int nv,
			struct sl_backend_stats *bes, unsigned int nb);
	/*
	 * The published tables when there is no shared memory (XDP mode: the
	 * private table file, set by main.c), so a restarted daemon takes
	 * health, drain and weights from what it published last.
	 */
	struct sl_shm_header *(*tables_fn)(struct sl_daemon *d);
	/* report.c's snapshot of stats_fn, reused for 200 ms. */
	struct sl_stats_snap *snap;

	bool publish_pending; /* a change waits to be published */
	sl_u64 gen;	      /* last published generation */
	sl_u64 last_publish_ns;
	sl_u64 publishes;
	sl_u64 publish_failures;
	sl_u64 reloads;
	sl_u64 reload_failures;
	char last_reload_error[512];
	sl_u64 start_ns;
	bool stopping;

	/* daemon.c's own; ctlsock.c and metrics.c only read. */
	bool restored;		      /* states taken from the shm table */
	sl_u64 publish_retries;	      /* -EAGAIN: dataplane not quiescent */
	sl_u64 pending_since_ns;      /* first unpublished change */
	sl_u64 publish_min_gap_ns;    /* rate limit; default 10 ms */
	char last_publish_error[256]; /* "" after a successful publish */
	bool publish_stall_logged;
	struct sl_timer publish_timer;
	struct sl_timer heartbeat_timer;
	struct sl_pub_vip *pub_vips; /* scratch of the last publish */
	struct sl_pub_backend *pub_bes;
};

/* ---- lifecycle (main.c) ---- */

/*
 * d->cfg, d->loop and (DPDK mode) d->shm and d->pub are set. Builds the
 * runtime state (from the published table when the shm file was
 * re-attached, else every backend optimistic UP), starts the health
 * checks, the heartbeat and the first publish. 0 or -errno with err.
 */
int sl_daemon_start(struct sl_daemon *d, char *err, size_t errlen);

/* Stop checks and timers, free the runtime and the config. */
void sl_daemon_stop(struct sl_daemon *d);

/*
 * Runtime arrays for cfg: every backend not yet checked, no override
 * (reload.c builds the new array with these). NULL when out of memory.
 */
struct sl_vip_rt *sl_daemon_rt_new(const struct sl_config *cfg);
void sl_daemon_rt_free(struct sl_vip_rt *vips, unsigned int n);

/* A change waits to be published: publish soon, coalesced, rate limited. */
void sl_daemon_schedule_publish(struct sl_daemon *d);

/* ---- logging: stderr (sluiced -f) or syslog, one line per call ---- */

void sl_log_init(bool use_syslog);
void sl_log(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Tests: every line also goes to fn (NULL to stop). */
void sl_log_set_hook(void (*fn)(int prio, const char *line, void *arg),
		     void *arg);

/*
 * "192.0.2.10:80", "[2001:db8::1]:80", "192.0.2.10:*" (port-agnostic VIP).
 * Return buf.
 */
const char *sl_daemon_vip_str(const struct sl_vip_rt *v, char *buf, size_t len);
const char *sl_daemon_backend_str(const struct sl_backend_rt *b, char *buf,
				  size_t len);
/* "up", "down", "unknown"; the dataplane state: "up", "drained", "down". */
const char *sl_daemon_health_name(sl_u8 health);
const char *sl_daemon_state_name(sl_u8 state);

/*
 * Operator actions (control socket). vip is a VIP name; backend is an
 * address, optionally with :port ("203.0.113.11", "[2001:db8::1]:80").
 * Return 0, or -errno with one line in err naming what is wrong.
 */
int sl_daemon_drain(struct sl_daemon *d, const char *vip, const char *backend,
		    bool drain, char *err, size_t errlen);
int sl_daemon_set_weight(struct sl_daemon *d, const char *vip,
			 const char *backend, long weight, char *err,
			 size_t errlen);

/*
 * Re-read the config file; if invalid keep everything and return -EINVAL
 * with the config error in err; else apply the difference and publish.
 */
int sl_daemon_reload(struct sl_daemon *d, char *err, size_t errlen);

/* Health module reports a verdict change; schedules a publish. */
void sl_daemon_backend_changed(struct sl_daemon *d, struct sl_vip_rt *v,
			       struct sl_backend_rt *b);

/* The state the dataplane gets for a backend: UP, DRAINED or DOWN. */
sl_u8 sl_daemon_backend_state(const struct sl_backend_rt *b);

/* Effective weight: the override, else the config's. */
sl_u32 sl_daemon_backend_weight(const struct sl_backend_rt *b);

/* Find a VIP by name, a backend of it by "addr" or "addr:port"; NULL if none. */
struct sl_vip_rt *sl_daemon_find_vip(struct sl_daemon *d, const char *name);
struct sl_backend_rt *sl_daemon_find_backend(struct sl_vip_rt *v,
					     const char *spec);

/* Monotonic nanoseconds. */
sl_u64 sl_now_ns(void);

#endif /* SLUICE_CONTROL_DAEMON_H */
