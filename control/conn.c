/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn.c: the "one request, one reply" stream server of conn.h.
 *
 * A connection reads (EPOLLIN) until the request is complete, at EOF or at
 * the size bound, then switches to writing (EPOLLOUT) and is freed once
 * the reply is sent, on a send error, or when its timer fires: a client
 * that stalls is dropped, so none can hold the loop or grow memory beyond
 * clients_max * request_max. Before close, unread input is read away so
 * the client sees EOF after the reply rather than a reset. Loop thread
 * only.
 */
#include "conn.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "json.h"
#include "loop.h"

struct conn {
	struct sl_conn_server *s;
	int fd;
	struct sl_timer timer;
	bool writing;
	size_t req_len;
	struct sl_buf out;
	size_t sent;
	struct conn *prev, *next;
	char req[]; /* proto->request_max + 1 */
};

struct sl_conn_server {
	struct sl_loop *loop;
	const struct sl_conn_proto *proto;
	void *arg;
	int fd;
	unsigned int n_conns;
	struct conn *conns;
};

static void conn_free(struct conn *c)
{
	struct sl_conn_server *s = c->s;
	char junk[512];

	sl_timer_stop(s->loop, &c->timer);
	sl_loop_del_fd(s->loop, c->fd);
	/*
	 * Unread request bytes would turn the client's EOF after our reply
	 * into ECONNRESET; read them away first (bounded by the socket
	 * buffer, the socket is non-blocking).
	 */
	while (recv(c->fd, junk, sizeof(junk), 0) > 0)
		;
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	sl_buf_free(&c->out);
	free(c);
}

static void conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->sent < c->out.len) {
		n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent,
			 MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return; /* EPOLLOUT brings us back */
		if (n <= 0)
			break;
		c->sent += (size_t)n;
	}
	conn_free(c);
}

static void conn_reply(struct conn *c, enum sl_conn_end end, size_t len)
{
	struct sl_conn_server *s = c->s;

	c->req[len] = '\0';
	s->proto->reply(s->arg, end, c->req, len, &c->out);
	if (c->out.oom || !c->out.len) {
		conn_free(c);
		return;
	}
	c->writing = true;
	sl_loop_mod_fd(s->loop, c->fd, EPOLLOUT);
	conn_flush(c);
}

static void conn_read(struct conn *c)
{
	const struct sl_conn_proto *p = c->s->proto;
	ssize_t n, len;

	for (;;) {
		if (c->req_len == p->request_max) {
			conn_reply(c, SL_CONN_TOO_BIG, c->req_len);
			return;
		}
		n = recv(c->fd, c->req + c->req_len,
			 p->request_max - c->req_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			conn_free(c);
			return;
		}
		if (n == 0) {
			conn_reply(c, SL_CONN_EOF, c->req_len);
			return;
		}
		c->req_len += (size_t)n;
		len = p->complete(c->s->arg, c->req, c->req_len,
				  c->req_len - (size_t)n);
		if (len >= 0) {
			conn_reply(c, SL_CONN_COMPLETE, (size_t)len);
			return;
		}
	}
}

static void on_conn(struct sl_loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	if (!c->writing)
		conn_read(c);
	else if (events & (EPOLLERR | EPOLLHUP))
		conn_free(c);
	else
		conn_flush(c);
}

static void on_conn_timeout(struct sl_loop *l, void *arg)
{
	conn_free(arg);
}

static void on_listen(struct sl_loop *l, int fd, uint32_t events, void *arg)
{
	struct sl_conn_server *s = arg;
	const struct sl_conn_proto *p = s->proto;
	struct conn *c;
	int cfd;

	for (;;) {
		cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			return; /* EAGAIN, or an error the next accept sees */
		if (s->n_conns >= p->clients_max) {
			/* best effort: the client is dropped anyway */
			if (p->busy)
				(void)!send(cfd, p->busy, strlen(p->busy),
					    MSG_NOSIGNAL);
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c) + p->request_max + 1);
		if (!c || sl_loop_add_fd(l, cfd, EPOLLIN, on_conn, c) < 0) {
			free(c);
			close(cfd);
			continue;
		}
		c->s = s;
		c->fd = cfd;
		sl_buf_init(&c->out);
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->n_conns++;
		sl_timer_init(&c->timer, on_conn_timeout, c);
		sl_timer_start(l, &c->timer,
			       (uint64_t)p->timeout_ms * 1000000ULL);
	}
}

struct sl_conn_server *sl_conn_open(struct sl_loop *l, int fd,
				    const struct sl_conn_proto *proto,
				    void *arg)
{
	struct sl_conn_server *s;
	int rc;

	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = l;
	s->proto = proto;
	s->arg = arg;
	s->fd = fd;
	rc = sl_loop_add_fd(l, fd, EPOLLIN, on_listen, s);
	if (rc < 0) {
		free(s);
		errno = -rc;
		return NULL;
	}
	return s;
}

void sl_conn_close(struct sl_conn_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_free(s->conns);
	sl_loop_del_fd(s->loop, s->fd);
	close(s->fd);
	free(s);
}
