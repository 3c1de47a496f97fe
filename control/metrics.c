/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.c: a minimal HTTP/1.0 server on the event loop that answers
 * GET /metrics with Prometheus text exposition format 0.0.4.
 *
 * Every family is written with its HELP and TYPE lines and all its samples
 * together (the format requires the grouping). Dataplane counters are
 * emitted only when there is a source for them (report.h): a scrape of a
 * daemon without a dataplane shows no samples rather than false zeros.
 *
 * Bounds as for the control socket: METRICS_CLIENTS_MAX connections,
 * METRICS_REQUEST_MAX bytes of request head, METRICS_TIMEOUT_MS per
 * connection. One request per connection (HTTP/1.0, Connection: close),
 * served by conn.c. Loop thread only.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "daemon.h"
#include "json.h"
#include "report.h"

enum {
	METRICS_REQUEST_MAX = 8192,
	METRICS_TIMEOUT_MS = 10000,
	METRICS_CLIENTS_MAX = 32,
};

struct sl_metrics {
	struct sl_conn_server *srv;
	unsigned int port;
};

/* ---- exposition --------------------------------------------------------- */

static void family(struct sl_buf *b, const char *name, const char *type,
		   const char *help)
{
	sl_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		      type);
}

/* A label value with \\, \" and \n escaped, as the format asks. */
static void label(struct sl_buf *b, const char *key, const char *val,
		  bool first)
{
	const char *p;

	sl_buf_printf(b, "%s%s=\"", first ? "" : ",", key);
	for (p = val; *p; p++) {
		if (*p == '\\')
			sl_buf_puts(b, "\\\\");
		else if (*p == '"')
			sl_buf_puts(b, "\\\"");
		else if (*p == '\n')
			sl_buf_puts(b, "\\n");
		else
			sl_buf_add(b, p, 1);
	}
	sl_buf_puts(b, "\"");
}

static void sample_u64(struct sl_buf *b, const char *name, const char *labels,
		       sl_u64 v)
{
	sl_buf_printf(b, "%s%s%s%s %" PRIu64 "\n", name, labels[0] ? "{" : "",
		      labels, labels[0] ? "}" : "", v);
}

static void sample_f(struct sl_buf *b, const char *name, const char *labels,
		     double v)
{
	sl_buf_printf(b, "%s%s%s%s %.9g\n", name, labels[0] ? "{" : "", labels,
		      labels[0] ? "}" : "", v);
}

/* labels for a VIP / a backend into a scratch buffer */
static const char *vip_labels(struct sl_buf *s, const struct sl_vip_rt *v)
{
	sl_buf_reset(s);
	label(s, "vip", v->cfg->name, true);
	return s->data ? s->data : "";
}

static const char *backend_labels(struct sl_buf *s, const struct sl_vip_rt *v,
				  const struct sl_backend_rt *be,
				  const char *extra_key, const char *extra)
{
	char name[80];

	sl_buf_reset(s);
	label(s, "vip", v->cfg->name, true);
	label(s, "backend", sl_daemon_backend_str(be, name, sizeof(name)),
	      false);
	if (extra_key)
		label(s, extra_key, extra, false);
	return s->data ? s->data : "";
}

enum vfield { V_PACKETS, V_BYTES, V_NEW_FLOWS, V_DROPS };

static const struct {
	const char *name, *help;
	enum vfield f;
} vip_counters[] = {
	{ "sluice_vip_packets_total",
	  "Packets of the VIP forwarded by the "
	  "dataplane.",
	  V_PACKETS },
	{ "sluice_vip_bytes_total",
	  "Bytes of the VIP forwarded by the "
	  "dataplane.",
	  V_BYTES },
	{ "sluice_vip_new_flows_total",
	  "Flows of the VIP given a backend by "
	  "Maglev.",
	  V_NEW_FLOWS },
	{ "sluice_vip_drops_total",
	  "Packets of the VIP dropped (no backend, "
	  "too big, fragments).",
	  V_DROPS },
};

static void render_vips(struct sl_daemon *d, struct sl_buf *b, struct sl_buf *s)
{
	static const char *const states[] = { "up", "down", "drained" };
	struct sl_report_counts c;
	struct sl_vip_stats st;
	unsigned int i, k, n;
	sl_u64 v;

	for (k = 0; k < SL_ARRAY_SIZE(vip_counters); k++) {
		family(b, vip_counters[k].name, "counter",
		       vip_counters[k].help);
		for (i = 0; i < d->cfg->n_vips; i++) {
			if (!sl_report_vip_stats(d, &d->vips[i], &st))
				continue;
			v = vip_counters[k].f == V_PACKETS     ? st.packets
			    : vip_counters[k].f == V_BYTES     ? st.bytes
			    : vip_counters[k].f == V_NEW_FLOWS ? st.new_flows
							       : st.drops;
			sample_u64(b, vip_counters[k].name,
				   vip_labels(s, &d->vips[i]), v);
		}
	}
	family(b, "sluice_vip_backends", "gauge",
	       "Backends of the VIP by dataplane state.");
	for (i = 0; i < d->cfg->n_vips; i++) {
		sl_report_count(d, &d->vips[i], &c);
		for (k = 0; k < SL_ARRAY_SIZE(states); k++) {
			n = k == 0 ? c.up : k == 1 ? c.down : c.drained;
			sl_buf_reset(s);
			label(s, "vip", d->vips[i].cfg->name, true);
			label(s, "state", states[k], false);
			sample_u64(b, "sluice_vip_backends", s->data, n);
		}
	}
}

enum bfield {
	B_PACKETS,
	B_BYTES,
	B_NEW_FLOWS,
	B_UP,
	B_DRAINED,
	B_WEIGHT,
	B_LATENCY
};

static const struct {
	const char *name, *type, *help;
	enum bfield f;
} backend_metrics[] = {
	{ "sluice_backend_packets_total", "counter",
	  "Packets sent to the backend.", B_PACKETS },
	{ "sluice_backend_bytes_total", "counter", "Bytes sent to the backend.",
	  B_BYTES },
	{ "sluice_backend_new_flows_total", "counter",
	  "Flows given to the backend by Maglev.", B_NEW_FLOWS },
	{ "sluice_backend_up", "gauge",
	  "1 when the backend's health check passes.", B_UP },
	{ "sluice_backend_drained", "gauge",
	  "1 when an operator drained the backend.", B_DRAINED },
	{ "sluice_backend_weight", "gauge",
	  "Effective Maglev weight of the backend.", B_WEIGHT },
	{ "sluice_backend_check_latency_seconds", "gauge",
	  "Duration of the backend's last completed health check.", B_LATENCY },
};

/*
 * The value of one backend metric: an integer in *u, or a float in *f with
 * *is_f set; false when there is none to report.
 */
static bool backend_value(struct sl_daemon *d, const struct sl_backend_rt *be,
			  enum bfield f, sl_u64 *u, double *fv, bool *is_f)
{
	struct sl_backend_stats st;

	*is_f = false;
	switch (f) {
	case B_PACKETS:
	case B_BYTES:
	case B_NEW_FLOWS:
		if (!sl_report_backend_stats(d, be, &st))
			return false;
		*u = f == B_PACKETS ? st.packets
		     : f == B_BYTES ? st.bytes
				    : st.new_flows;
		return true;
	case B_UP:
		*u = be->health == SL_HC_UP;
		return true;
	case B_DRAINED:
		*u = be->drained;
		return true;
	case B_WEIGHT:
		*u = sl_daemon_backend_weight(be);
		return true;
	case B_LATENCY:
		if (be->checks_ok + be->checks_failed == 0)
			return false;
		*fv = be->last_latency_us / 1e6;
		*is_f = true;
		return true;
	}
	return false;
}

static void render_backends(struct sl_daemon *d, struct sl_buf *b,
			    struct sl_buf *s)
{
	unsigned int i, j, k;
	const char *l;
	bool is_f;
	double fv;
	sl_u64 u;

	for (k = 0; k < SL_ARRAY_SIZE(backend_metrics); k++) {
		family(b, backend_metrics[k].name, backend_metrics[k].type,
		       backend_metrics[k].help);
		for (i = 0; i < d->cfg->n_vips; i++) {
			const struct sl_vip_rt *v = &d->vips[i];

			for (j = 0; j < v->cfg->n_backends; j++) {
				const struct sl_backend_rt *be =
					&v->backends[j];

				if (!backend_value(d, be, backend_metrics[k].f,
						   &u, &fv, &is_f))
					continue;
				l = backend_labels(s, v, be, NULL, NULL);
				if (is_f)
					sample_f(b, backend_metrics[k].name, l,
						 fv);
				else
					sample_u64(b, backend_metrics[k].name,
						   l, u);
			}
		}
	}
	family(b, "sluice_backend_checks_total", "counter",
	       "Health checks of the backend by result.");
	for (i = 0; i < d->cfg->n_vips; i++) {
		const struct sl_vip_rt *v = &d->vips[i];

		for (j = 0; j < v->cfg->n_backends; j++) {
			const struct sl_backend_rt *be = &v->backends[j];

			sample_u64(b, "sluice_backend_checks_total",
				   backend_labels(s, v, be, "result", "ok"),
				   be->checks_ok);
			sample_u64(b, "sluice_backend_checks_total",
				   backend_labels(s, v, be, "result", "failed"),
				   be->checks_failed);
		}
	}
}

#define LCORE_COUNTERS(X)                                                   \
	X(rx_packets, "Packets received by the dataplane.")                 \
	X(rx_bytes, "Bytes received by the dataplane.")                     \
	X(tx_packets, "Packets sent by the dataplane.")                     \
	X(tx_bytes, "Bytes sent by the dataplane.")                         \
	X(flow_hits, "Packets that found their flow in the flow table.")    \
	X(flow_misses, "New flows given a backend by Maglev.")              \
	X(flow_evictions, "Live flow-table entries evicted to make room.")  \
	X(flow_repicks, "Flows re-picked because their backend went away.") \
	X(arp_replies, "ARP and NDP answers sent.")                         \
	X(icmp_echo_replies, "ICMP echo replies sent for VIPs.")            \
	X(icmp_too_big_sent,                                                \
	  "ICMP fragmentation-needed / packet-too-big sent.")               \
	X(icmp_errors_forwarded, "ICMP errors forwarded to a flow's backend.")

static void render_dataplane(struct sl_daemon *d, struct sl_buf *b,
			     struct sl_buf *s)
{
	struct sl_lcore_stats st;
	struct sl_report_dp dp;
	bool have = sl_report_lcore_totals(d, &st);
	unsigned int i;

#define LCORE_FAMILY(field, help)                              \
	family(b, "sluice_" #field "_total", "counter", help); \
	if (have)                                              \
		sample_u64(b, "sluice_" #field "_total", "", st.field);
	LCORE_COUNTERS(LCORE_FAMILY)
#undef LCORE_FAMILY

	family(b, "sluice_drops_total", "counter",
	       "Packets dropped by the dataplane, by reason.");
	/* SL_DROP_NONE means "not dropped"; it is no reason */
	for (i = SL_DROP_NONE + 1; have && i < SL_DROP_MAX; i++) {
		sl_buf_reset(s);
		label(s, "reason", sl_report_drop_name(i), true);
		sample_u64(b, "sluice_drops_total", s->data, st.drops[i]);
	}

	sl_report_dataplane(d, &dp);
	family(b, "sluice_dataplane_up", "gauge",
	       "1 while the dataplane is attached and alive.");
	sample_u64(b, "sluice_dataplane_up", "", dp.alive);
	family(b, "sluice_dataplane_heartbeat_age_seconds", "gauge",
	       "Age of the dataplane's last heartbeat.");
	if (dp.has_heartbeat)
		sample_f(b, "sluice_dataplane_heartbeat_age_seconds", "",
			 dp.heartbeat_age_ns / 1e9);
	family(b, "sluice_dataplane_lcores", "gauge",
	       "Lcores of the dataplane reporting.");
	if (dp.pid)
		sample_u64(b, "sluice_dataplane_lcores", "", dp.lcores);
	family(b, "sluice_dataplane_table_generation", "gauge",
	       "Oldest table generation an online lcore uses.");
	if (dp.has_table_gen)
		sample_u64(b, "sluice_dataplane_table_generation", "",
			   dp.table_gen);
}

static void render_daemon(struct sl_daemon *d, struct sl_buf *b)
{
	sl_u64 now = sl_now_ns();

	family(b, "sluice_table_generation", "gauge",
	       "Generation of the last table sluiced published.");
	sample_u64(b, "sluice_table_generation", "", d->gen);
	family(b, "sluice_table_publishes_total", "counter",
	       "Table publications by result.");
	sample_u64(b, "sluice_table_publishes_total", "result=\"ok\"",
		   d->publishes);
	sample_u64(b, "sluice_table_publishes_total", "result=\"failed\"",
		   d->publish_failures);
	family(b, "sluice_config_reloads_total", "counter",
	       "Config reloads by result.");
	sample_u64(b, "sluice_config_reloads_total", "result=\"ok\"",
		   d->reloads);
	sample_u64(b, "sluice_config_reloads_total", "result=\"failed\"",
		   d->reload_failures);
	family(b, "sluice_uptime_seconds", "gauge",
	       "Seconds since sluiced started.");
	sample_f(b, "sluice_uptime_seconds", "",
		 now > d->start_ns ? (now - d->start_ns) / 1e9 : 0.0);
}

void sl_metrics_render(struct sl_daemon *d, struct sl_buf *out)
{
	struct sl_buf scratch;

	sl_buf_init(&scratch);
	render_vips(d, out, &scratch);
	render_backends(d, out, &scratch);
	render_dataplane(d, out, &scratch);
	render_daemon(d, out);
	if (scratch.oom)
		out->oom = true;
	sl_buf_free(&scratch);
}

/* ---- HTTP (connections: conn.c) ------------------------------------------ */

static void respond(struct sl_buf *out, int status, const char *reason,
		    const char *ctype, const char *extra, const char *body,
		    size_t len, bool head)
{
	sl_buf_reset(out);
	sl_buf_printf(out,
		      "HTTP/1.0 %d %s\r\nContent-Type: %s\r\n"
		      "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
		      status, reason, ctype, len, extra);
	if (!head)
		sl_buf_add(out, body, len);
}

static void respond_text(struct sl_buf *out, int status, const char *reason,
			 const char *extra, const char *text)
{
	respond(out, status, reason, "text/plain; charset=utf-8", extra, text,
		strlen(text), false);
}

/* req holds a complete head (or as much as the client sent). */
static void handle_request(struct sl_daemon *d, const char *req,
			   struct sl_buf *out)
{
	char method[16], target[256], *q;
	struct sl_buf body;
	bool head;

	if (sscanf(req, "%15s %255s", method, target) != 2) {
		respond_text(out, 400, "Bad Request", "", "bad request\n");
		return;
	}
	head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head) {
		respond_text(out, 405, "Method Not Allowed",
			     "Allow: GET, HEAD\r\n", "method not allowed\n");
		return;
	}
	q = strchr(target, '?');
	if (q)
		*q = '\0';
	if (strcmp(target, "/metrics")) {
		respond_text(out, 404, "Not Found", "",
			     "not found; try /metrics\n");
		return;
	}
	sl_buf_init(&body);
	sl_metrics_render(d, &body);
	if (body.oom)
		respond_text(out, 500, "Internal Server Error", "",
			     "out of memory\n");
	else
		respond(out, 200, "OK",
			"text/plain; version=0.0.4; charset=utf-8", "",
			body.data ? body.data : "", body.len, head);
	sl_buf_free(&body);
}

/* The head ends at the first empty line; the request is all of it. */
static ssize_t head_complete(void *arg, const char *req, size_t len,
			     size_t from)
{
	return memmem(req, len, "\r\n\r\n", 4) || memmem(req, len, "\n\n", 2)
		       ? (ssize_t)len
		       : -1;
}

static void http_reply(void *arg, enum sl_conn_end end, char *req, size_t len,
		       struct sl_buf *out)
{
	if (end == SL_CONN_TOO_BIG)
		respond_text(out, 431, "Request Header Fields Too Large", "",
			     "request too large\n");
	else if (len) /* EOF before any byte: close without a reply */
		handle_request(arg, req, out);
}

static const struct sl_conn_proto http_proto = {
	.clients_max = METRICS_CLIENTS_MAX,
	.request_max = METRICS_REQUEST_MAX,
	.timeout_ms = METRICS_TIMEOUT_MS,
	.complete = head_complete,
	.reply = http_reply,
};

/* ---- open / close ------------------------------------------------------- */

struct sl_metrics *sl_metrics_open(struct sl_daemon *d, char *err,
				   size_t errlen)
{
	const struct sl_config_control *ctl = &d->cfg->ctl;
	struct sockaddr_storage ss;
	struct sl_metrics *m;
	char ip[INET6_ADDRSTRLEN], where[80];
	const char *what;
	socklen_t sl;
	int one = 1, fd, e;

	err[0] = '\0';
	if (!ctl->metrics_family) {
		errno = 0;
		return NULL;
	}
	memset(&ss, 0, sizeof(ss));
	inet_ntop(ctl->metrics_family == SL_AF_INET6 ? AF_INET6 : AF_INET,
		  &ctl->metrics_addr, ip, sizeof(ip));
	if (ctl->metrics_family == SL_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ctl->metrics_port);
		memcpy(&s6->sin6_addr, &ctl->metrics_addr, 16);
		sl = sizeof(*s6);
		snprintf(where, sizeof(where), "[%s]:%u", ip,
			 ctl->metrics_port);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(ctl->metrics_port);
		memcpy(&s4->sin_addr, &ctl->metrics_addr, 4);
		sl = sizeof(*s4);
		snprintf(where, sizeof(where), "%s:%u", ip, ctl->metrics_port);
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "metrics %s: out of memory", where);
		errno = ENOMEM;
		return NULL;
	}
	what = "socket";
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	what = "bind";
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	what = "listen";
	if (listen(fd, SOMAXCONN) < 0)
		goto fail;
	what = "getsockname";
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		goto fail;
	m->port = ntohs(ss.ss_family == AF_INET6
				? ((struct sockaddr_in6 *)&ss)->sin6_port
				: ((struct sockaddr_in *)&ss)->sin_port);
	what = "cannot add it to the event loop";
	m->srv = sl_conn_open(d->loop, fd, &http_proto, d);
	if (!m->srv)
		goto fail;
	return m;
fail:
	e = errno;
	snprintf(err, errlen, "metrics %s: %s: %s", where, what, strerror(e));
	if (fd >= 0)
		close(fd);
	free(m);
	errno = e;
	return NULL;
}

unsigned int sl_metrics_port(const struct sl_metrics *m)
{
	return m->port;
}

void sl_metrics_close(struct sl_metrics *m)
{
	if (!m)
		return;
	sl_conn_close(m->srv);
	free(m);
}
