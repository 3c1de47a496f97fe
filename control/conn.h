/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn.h: a "one request, one reply" stream server on the event loop, the
 * connection handling the control socket (ctlsock.c) and the metrics
 * endpoint (metrics.c) share.
 *
 * Each accepted connection reads until its protocol says the request is
 * complete (or EOF, or the size bound), gets one reply built into an
 * sl_buf, is sent that reply and closed. Loop thread only; callbacks run
 * in it to completion.
 */
#ifndef SLUICE_CONTROL_CONN_H
#define SLUICE_CONTROL_CONN_H

#include <stddef.h>
#include <sys/types.h>

struct sl_buf;
struct sl_loop;
struct sl_conn_server;

/* Why a request ended. */
enum sl_conn_end {
	SL_CONN_COMPLETE, /* complete() found its end */
	SL_CONN_EOF,	  /* the client shut down its side first */
	SL_CONN_TOO_BIG,  /* request_max bytes and not complete */
};

/*
 * A protocol: its bounds and two callbacks, arg being sl_conn_open's.
 *
 * complete: the length of the request in req[0..len) to hand to reply
 * (terminator excluded if the protocol likes), or -1 while incomplete;
 * bytes from `from` on arrived with this read.
 *
 * reply: build the reply into out (empty on entry). req is NUL-terminated
 * at len: complete()'s length, or all that arrived for SL_CONN_EOF and
 * SL_CONN_TOO_BIG. An empty out closes the connection without a reply, as
 * does out->oom.
 */
struct sl_conn_proto {
	unsigned int clients_max; /* connections served at once */
	size_t request_max;	  /* bytes of request */
	unsigned int timeout_ms;  /* per connection, accept to last byte */
	const char *busy;	  /* sent, best effort, to a connection over
				     * clients_max before it is closed; NULL:
				     * just close */
	ssize_t (*complete)(void *arg, const char *req, size_t len,
			    size_t from);
	void (*reply)(void *arg, enum sl_conn_end end, char *req, size_t len,
		      struct sl_buf *out);
};

/*
 * Serve connections on fd, a non-blocking listening stream socket; proto
 * (static, not copied) and arg must outlive the server. On success the
 * server owns fd. NULL + errno on failure, fd then still the caller's.
 */
struct sl_conn_server *sl_conn_open(struct sl_loop *l, int fd,
				    const struct sl_conn_proto *proto,
				    void *arg);

/* Drop every connection, unregister and close the listening fd. */
void sl_conn_close(struct sl_conn_server *s);

#endif /* SLUICE_CONTROL_CONN_H */
