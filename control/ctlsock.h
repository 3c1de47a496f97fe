/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctlsock.h: sluiced's control socket (protocol in include/sluice/ctl.h).
 *
 * Lives on d->loop; every request is served to completion in the loop
 * thread, so handlers read struct sl_daemon without locks.
 */
#ifndef SLUICE_CONTROL_CTLSOCK_H
#define SLUICE_CONTROL_CTLSOCK_H

#include <stddef.h>

struct sl_daemon;
struct sl_ctlsock;
struct sl_buf;

/*
 * Create the directory of path (mode 0755) if needed, replace a stale
 * socket (one nobody answers on), bind with mode 0600, listen and register
 * with d->loop. NULL + errno with one line in err on failure, e.g.
 * "control socket /run/sluice/lab.sock: in use by another process".
 */
struct sl_ctlsock *sl_ctlsock_open(struct sl_daemon *d, const char *path,
				   char *err, size_t errlen);

/* Drop every client, close and unlink the socket (if still ours). */
void sl_ctlsock_close(struct sl_ctlsock *cs);

/*
 * Serve one request line (without the newline) into reply as the socket
 * would; for tests and for a future second transport.
 */
void sl_ctlsock_handle(struct sl_daemon *d, const char *line,
		       struct sl_buf *reply);

#endif /* SLUICE_CONTROL_CTLSOCK_H */
