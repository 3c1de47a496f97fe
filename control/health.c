/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * health.c: non-blocking health checks on the daemon's event loop.
 *
 * One struct check per backend, in an array parallel to d->vips. A check
 * is a small state machine driven by the loop: tick timer -> socket +
 * connect (EINPROGRESS) -> EPOLLOUT + SO_ERROR -> (http: send the request,
 * read the status line; udp: send the payload, read one reply) -> verdict;
 * a deadline timer bounds every check to timeout_ms. TCP sockets close with
 * SO_LINGER 0 (an RST, as HAProxy's checks do), so thousands of checks a
 * second leave no TIME_WAIT sockets to exhaust the ephemeral ports.
 *
 * Invariants: a check has a socket only between start and verdict; after
 * the verdict its tick timer is armed again (interval +-10%), its deadline
 * timer is not. rise/fall counting lives in struct sl_backend_rt so a
 * reload, which rebuilds this array, keeps it. Loop thread only.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon.h"
#include "health.h"

enum phase {
	PH_IDLE = 0,
	PH_CONNECT, /* waiting for EPOLLOUT */
	PH_SEND,    /* http: request partly sent */
	PH_READ,    /* http: status line; udp: the reply */
};

struct check {
	struct sl_health *h;
	struct sl_vip_rt *v;
	struct sl_backend_rt *b;
	const struct sl_config_hc *hc;
	struct sl_timer tick;
	struct sl_timer deadline;
	uint64_t start_ns;
	int64_t first_delay_ns;
	int fd;
	sl_u8 phase;
	sl_u16 sent;   /* http: bytes of the request sent */
	sl_u16 got;    /* http: bytes of the status line read */
	char line[32]; /* http: "HTTP/1.1 200" is all we need */
};

struct sl_health {
	struct sl_daemon *d;
	struct check *checks;
	unsigned int n;
	unsigned int in_flight;
	uint64_t rng;
};

static void finish(struct check *c, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- jitter ---- */

static uint64_t rnd(struct sl_health *h)
{
	/* xorshift64*: quality is plenty for spreading timers. */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static uint64_t rnd_below(struct sl_health *h, uint64_t n)
{
	return n ? rnd(h) % n : 0;
}

/* interval +-10% */
static uint64_t next_delay_ns(struct sl_health *h,
			      const struct sl_config_hc *hc)
{
	uint64_t iv = (uint64_t)hc->interval_ms * 1000000ULL;

	return iv - iv / 10 + rnd_below(h, iv / 5 + 1);
}

void sl_health_seed(struct sl_health *h, uint64_t seed)
{
	h->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

/* ---- verdicts ---- */

static void log_change(struct check *c, const char *what)
{
	char vs[64], bs[64];

	sl_log(LOG_NOTICE, "vip %s %s: backend %s %s", c->v->cfg->name,
	       sl_daemon_vip_str(c->v, vs, sizeof(vs)),
	       sl_daemon_backend_str(c->b, bs, sizeof(bs)), what);
}

static void verdict(struct check *c, bool ok, const char *reason)
{
	struct sl_backend_rt *b = c->b;
	const struct sl_config_hc *hc = c->hc;
	char what[160];

	if (ok) {
		b->checks_ok++;
		b->ok_in_row++;
		b->fail_in_row = 0;
		b->last_error[0] = 0;
	} else {
		b->checks_failed++;
		b->fail_in_row++;
		b->ok_in_row = 0;
		snprintf(b->last_error, sizeof(b->last_error), "%s", reason);
	}
	/* Not yet checked counts as up (optimistic start): one pass says so. */
	if (ok && b->health == SL_HC_UNKNOWN) {
		b->health = SL_HC_UP;
		return;
	}
	if (ok && b->health == SL_HC_DOWN && b->ok_in_row >= hc->rise) {
		b->health = SL_HC_UP;
		snprintf(what, sizeof(what), "up (%u/%u checks passed)",
			 b->ok_in_row, hc->rise);
	} else if (!ok && b->health != SL_HC_DOWN &&
		   b->fail_in_row >= hc->fall) {
		b->health = SL_HC_DOWN;
		snprintf(what, sizeof(what), "down (%u/%u checks failed: %s)",
			 b->fail_in_row, hc->fall, reason);
	} else {
		return;
	}
	log_change(c, what);
	sl_daemon_backend_changed(c->h->d, c->v, b);
}

static void close_fd(struct check *c)
{
	struct sl_loop *l = c->h->d->loop;

	if (c->fd < 0)
		return;
	sl_loop_del_fd(l, c->fd);
	if (c->hc->type != SL_HC_UDP) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(c->fd);
	c->fd = -1;
	c->h->in_flight--;
}

static void finish(struct check *c, bool ok, const char *fmt, ...)
{
	struct sl_loop *l = c->h->d->loop;
	uint64_t now = sl_loop_now_ns();
	char reason[96] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	close_fd(c);
	sl_timer_stop(l, &c->deadline);
	c->phase = PH_IDLE;
	c->b->last_check_ns = now;
	c->b->last_latency_us = (sl_u32)((now - c->start_ns) / 1000);
	verdict(c, ok, reason);
	sl_timer_start(l, &c->tick, next_delay_ns(c->h, c->hc));
}

/* "connection refused": strerror, lower-cased as in the log lines. */
static void finish_errno(struct check *c, const char *what, int e)
{
	char s[80];

	snprintf(s, sizeof(s), "%s", strerror(e));
	s[0] = (char)tolower((unsigned char)s[0]);
	if (what)
		finish(c, false, "%s: %s", what, s);
	else
		finish(c, false, "%s", s);
}

/* ---- the protocols ---- */

static int build_request(const struct check *c, char *buf, size_t len)
{
	const struct sl_config_backend *cb = c->b->cfg;
	char a[INET6_ADDRSTRLEN], host[80];

	inet_ntop(cb->family == SL_AF_INET ? AF_INET : AF_INET6, &cb->addr, a,
		  sizeof(a));
	snprintf(host, sizeof(host), cb->family == SL_AF_INET ? "%s" : "[%s]",
		 a);
	if (c->hc->port != 80)
		snprintf(host + strlen(host), sizeof(host) - strlen(host),
			 ":%u", c->hc->port);
	return snprintf(buf, len,
			"GET %s HTTP/1.0\r\nHost: %s\r\n"
			"User-Agent: sluiced\r\nConnection: close\r\n\r\n",
			c->hc->path, host);
}

static void http_send(struct check *c)
{
	char req[512];
	int n = build_request(c, req, sizeof(req));
	ssize_t w;

	w = send(c->fd, req + c->sent, (size_t)n - c->sent,
		 MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->phase = PH_SEND;
		sl_loop_mod_fd(c->h->d->loop, c->fd, EPOLLOUT);
		return;
	}
	if (w < 0)
		return finish_errno(c, "send", errno);
	c->sent = (sl_u16)(c->sent + w);
	if (c->sent < n) {
		c->phase = PH_SEND;
		sl_loop_mod_fd(c->h->d->loop, c->fd, EPOLLOUT);
		return;
	}
	c->phase = PH_READ;
	sl_loop_mod_fd(c->h->d->loop, c->fd, EPOLLIN);
}

/* "HTTP/1.1 200 ..." -> 200, or -1 when it is not a status line. */
static int status_code(const char *s, size_t n)
{
	size_t i = 5;

	if (n < 12 || memcmp(s, "HTTP/", 5) != 0)
		return -1;
	while (i < n && (isdigit((unsigned char)s[i]) || s[i] == '.'))
		i++;
	if (i + 4 > n || s[i] != ' ' || !isdigit((unsigned char)s[i + 1]) ||
	    !isdigit((unsigned char)s[i + 2]) ||
	    !isdigit((unsigned char)s[i + 3]))
		return -1;
	return (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + s[i + 3] - '0';
}

static void http_read(struct check *c)
{
	ssize_t r;
	int st;

	r = recv(c->fd, c->line + c->got, sizeof(c->line) - 1 - c->got,
		 MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r < 0)
		return finish_errno(c, "recv", errno);
	c->got = (sl_u16)(c->got + r);
	c->line[c->got] = 0;
	/* Decide once a status line could be complete, or at EOF. */
	if (r > 0 && c->got < 16 && !memchr(c->line, '\n', c->got))
		return;
	st = status_code(c->line, c->got);
	if (st < 0 && r == 0 && !c->got)
		return finish(c, false, "connection closed without a response");
	if (st < 0)
		return finish(c, false, "no HTTP status line");
	if (st != c->hc->expect)
		return finish(c, false, "status %d", st);
	finish(c, true, "status %d", st);
}

static void udp_read(struct check *c)
{
	char buf[SL_CONFIG_HC_PAYLOAD_LEN + 64];
	size_t want = strlen(c->hc->expect_payload);
	ssize_t r;

	r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (r < 0)
		return finish_errno(c, NULL, errno);
	if (want &&
	    ((size_t)r < want || memcmp(buf, c->hc->expect_payload, want) != 0))
		return finish(c, false, "unexpected reply (%zd bytes)", r);
	finish(c, true, "reply");
}

static void udp_send(struct check *c)
{
	size_t n = strlen(c->hc->payload);

	if (send(c->fd, c->hc->payload, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return finish_errno(c, "send", errno);
	c->phase = PH_READ;
	sl_loop_mod_fd(c->h->d->loop, c->fd, EPOLLIN);
}

/* The connection is up (tcp, http) or connected (udp). */
static void connected(struct check *c)
{
	switch (c->hc->type) {
	case SL_HC_TCP:
		finish(c, true, "connected");
		break;
	case SL_HC_HTTP:
		http_send(c);
		break;
	case SL_HC_UDP:
		udp_send(c);
		break;
	}
}

static void on_io(struct sl_loop *l, int fd, uint32_t events, void *arg)
{
	struct check *c = arg;
	socklen_t sl = sizeof(int);
	int e = 0;

	switch (c->phase) {
	case PH_CONNECT:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
			e = errno;
		if (e)
			return finish_errno(c, NULL, e);
		connected(c);
		break;
	case PH_SEND:
		http_send(c);
		break;
	case PH_READ:
		if (c->hc->type == SL_HC_UDP)
			udp_read(c);
		else
			http_read(c);
		break;
	}
}

static void on_deadline(struct sl_loop *l, void *arg)
{
	struct check *c = arg;

	finish(c, false, "timed out after %u ms", c->hc->timeout_ms);
}

static socklen_t backend_sockaddr(const struct check *c,
				  struct sockaddr_storage *ss)
{
	const struct sl_config_backend *cb = c->b->cfg;

	memset(ss, 0, sizeof(*ss));
	if (cb->family == SL_AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(c->hc->port);
		memcpy(&s4->sin_addr, &cb->addr, 4);
		return sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(c->hc->port);
		memcpy(&s6->sin6_addr, &cb->addr, 16);
		return sizeof(*s6);
	}
}

static void on_tick(struct sl_loop *l, void *arg)
{
	struct check *c = arg;
	struct sockaddr_storage ss;
	socklen_t sl = backend_sockaddr(c, &ss);
	int type = c->hc->type == SL_HC_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int rc;

	c->start_ns = sl_loop_now_ns();
	c->sent = c->got = 0;
	c->line[0] = 0;
	c->phase = PH_CONNECT;
	sl_timer_start(l, &c->deadline,
		       (uint64_t)c->hc->timeout_ms * 1000000ULL);
	c->fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return finish_errno(c, "socket", errno);
	c->h->in_flight++;
	rc = sl_loop_add_fd(l, c->fd, EPOLLOUT, on_io, c);
	if (rc)
		return finish_errno(c, "epoll", -rc);
	if (connect(c->fd, (struct sockaddr *)&ss, sl) == 0)
		return connected(c);
	if (errno != EINPROGRESS)
		return finish_errno(c, NULL, errno);
}

/* ---- setup ---- */

struct sl_health *sl_health_new(struct sl_daemon *d)
{
	struct sl_health *h = calloc(1, sizeof(*h));
	uint64_t seed = 0;

	if (!h)
		return NULL;
	h->d = d;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = sl_loop_now_ns() ^ (uint64_t)getpid() << 32;
	sl_health_seed(h, seed);
	return h;
}

void sl_health_stop(struct sl_health *h)
{
	unsigned int i;

	for (i = 0; i < h->n; i++) {
		struct check *c = &h->checks[i];

		close_fd(c);
		sl_timer_stop(h->d->loop, &c->tick);
		sl_timer_stop(h->d->loop, &c->deadline);
	}
	free(h->checks);
	h->checks = NULL;
	h->n = 0;
}

void sl_health_free(struct sl_health *h)
{
	if (!h)
		return;
	sl_health_stop(h);
	free(h);
}

/* A backend whose check is "none" is up, whatever it was before. */
static void check_none(struct check *c)
{
	struct sl_backend_rt *b = c->b;
	bool was_down = b->health == SL_HC_DOWN;

	b->health = SL_HC_UP;
	b->ok_in_row = b->fail_in_row = 0;
	b->last_error[0] = 0;
	if (was_down) {
		log_change(c, "up (health check none)");
		sl_daemon_backend_changed(c->h->d, c->v, b);
	}
}

int sl_health_start(struct sl_health *h)
{
	struct sl_daemon *d = h->d;
	unsigned int i, j, k = 0, n = 0;

	sl_health_stop(h);
	if (d->cfg)
		n = sl_config_count_backends(d->cfg);
	h->checks = calloc(n + 1, sizeof(*h->checks));
	if (!h->checks)
		return -ENOMEM;
	h->n = n;
	for (i = 0; d->cfg && i < d->cfg->n_vips; i++) {
		for (j = 0; j < d->vips[i].cfg->n_backends; j++, k++) {
			struct check *c = &h->checks[k];
			uint64_t iv;

			c->h = h;
			c->v = &d->vips[i];
			c->b = &d->vips[i].backends[j];
			c->hc = &c->b->cfg->hc;
			c->fd = -1;
			c->first_delay_ns = -1;
			sl_timer_init(&c->tick, on_tick, c);
			sl_timer_init(&c->deadline, on_deadline, c);
			if (c->hc->type == SL_HC_NONE) {
				check_none(c);
				continue;
			}
			iv = (uint64_t)c->hc->interval_ms * 1000000ULL;
			c->first_delay_ns = (int64_t)rnd_below(h, iv);
			sl_timer_start(d->loop, &c->tick,
				       (uint64_t)c->first_delay_ns);
		}
	}
	return 0;
}

unsigned int sl_health_in_flight(const struct sl_health *h)
{
	return h->in_flight;
}

int64_t sl_health_first_delay_ns(const struct sl_health *h, unsigned int v,
				 unsigned int i)
{
	unsigned int k, x = 0;

	for (k = 0; k < v && k < h->d->cfg->n_vips; k++)
		x += h->d->vips[k].cfg->n_backends;
	if (v >= h->d->cfg->n_vips || i >= h->d->vips[v].cfg->n_backends ||
	    x + i >= h->n)
		return -1;
	return h->checks[x + i].first_delay_ns;
}
