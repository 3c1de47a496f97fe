/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * health.h: sluiced's health checks, all non-blocking on the daemon's one
 * event loop (no thread per backend).
 *
 * Each backend of d->vips gets one check of its effective type (tcp
 * connect, http GET with an expected status, udp request and reply, none)
 * to its real address and the check's port. The first check runs at a
 * random offset within the interval, the next ones interval +-10% after the
 * previous one ended, so thousands of checks do not fire together. The
 * verdicts go through the rise/fall counters of struct sl_backend_rt; a
 * change of verdict is logged with its reason and reported with
 * sl_daemon_backend_changed(). Owned by the event-loop thread.
 */
#ifndef SLUICE_CONTROL_HEALTH_H
#define SLUICE_CONTROL_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

struct sl_daemon;
struct sl_health;

/* Checks for d's backends, run on d->loop. NULL + errno (ENOMEM). */
struct sl_health *sl_health_new(struct sl_daemon *d);
void sl_health_free(struct sl_health *h);

/*
 * (Re)start the checks of every backend in d->vips, dropping any previous
 * ones (their sockets and timers) first; call after the runtime array was
 * replaced, before the old one is freed. 0 or -ENOMEM.
 */
int sl_health_start(struct sl_health *h);

/* Stop all checks; their state in struct sl_backend_rt stays. */
void sl_health_stop(struct sl_health *h);

/* Seed of the jitter (tests; the default comes from getrandom). */
void sl_health_seed(struct sl_health *h, uint64_t seed);

/* Checks with a socket open now. */
unsigned int sl_health_in_flight(const struct sl_health *h);

/*
 * Delay of the first check of backend i of vip v, relative to the start
 * (tests: jitter spreads first checks). -1 when it has no check.
 */
int64_t sl_health_first_delay_ns(const struct sl_health *h, unsigned int v,
				 unsigned int i);

#endif /* SLUICE_CONTROL_HEALTH_H */
