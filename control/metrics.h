/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.h: sluiced's Prometheus endpoint, GET /metrics on
 * control.metrics (text exposition format 0.0.4). Runs on d->loop.
 */
#ifndef SLUICE_CONTROL_METRICS_H
#define SLUICE_CONTROL_METRICS_H

#include <stddef.h>

struct sl_daemon;
struct sl_metrics;
struct sl_buf;

/*
 * Listen on d->cfg->ctl.metrics_addr / metrics_port and register with
 * d->loop. With no metrics address configured (metrics_family 0) returns
 * NULL with errno 0 and err "". Otherwise NULL + errno with one line in err
 * ("metrics 127.0.0.1:9700: bind: Address already in use").
 */
struct sl_metrics *sl_metrics_open(struct sl_daemon *d, char *err,
				   size_t errlen);
void sl_metrics_close(struct sl_metrics *m);

/* The port actually bound (useful when the config says port 0). */
unsigned int sl_metrics_port(const struct sl_metrics *m);

/* Append the exposition text for d's current state (tests, the server). */
void sl_metrics_render(struct sl_daemon *d, struct sl_buf *out);

#endif /* SLUICE_CONTROL_METRICS_H */
