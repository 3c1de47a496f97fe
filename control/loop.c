/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * loop.c: sluiced's event loop: epoll for descriptors, a binary min-heap of
 * timers, signalfd for signals.
 *
 * Invariants:
 *  - fds[] is indexed by descriptor; each registration carries a generation
 *    that is also in the epoll event's data, so an event that was already
 *    fetched for a descriptor that a callback closed (and that a later one
 *    may have reopened under the same number) is dropped, not delivered to
 *    the new owner;
 *  - heap[1..n] holds armed timers ordered by (when_ns, seq); a timer's
 *    heap_idx is its position, 0 when it is not armed, so stop and re-arm
 *    are O(log n) and need no search;
 *  - timers due in one pass are those due at the pass's start: a callback
 *    that re-arms with delay 0 runs in the next pass, after I/O.
 * One thread, no locks; callbacks run to completion.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

struct fd_reg {
	sl_fd_cb cb;
	void *arg;
	uint32_t gen; /* bumped at every add and del */
	bool used;
};

struct sl_loop {
	int epfd;
	struct fd_reg *fds;
	unsigned int fds_cap;
	unsigned int n_fds;
	struct sl_timer **heap; /* heap[0] unused */
	unsigned int n_timers, heap_cap;
	uint64_t seq;
	int sigfd;
	sigset_t sigmask;
	struct {
		sl_signal_cb cb;
		void *arg;
	} sig[_NSIG];
	bool stop;
};

uint64_t sl_loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct sl_loop *sl_loop_new(void)
{
	struct sl_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->sigfd = -1;
	sigemptyset(&l->sigmask);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int e = errno;

		free(l);
		errno = e;
		return NULL;
	}
	return l;
}

void sl_loop_free(struct sl_loop *l)
{
	if (!l)
		return;
	if (l->sigfd >= 0) {
		close(l->sigfd);
		sigprocmask(SIG_UNBLOCK, &l->sigmask, NULL);
	}
	close(l->epfd);
	free(l->fds);
	free(l->heap);
	free(l);
}

/* ---- descriptors ---- */

static int fds_reserve(struct sl_loop *l, int fd)
{
	unsigned int cap = l->fds_cap ? l->fds_cap : 64;
	struct fd_reg *n;

	if ((unsigned int)fd < l->fds_cap)
		return 0;
	while (cap <= (unsigned int)fd)
		cap *= 2;
	n = realloc(l->fds, cap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + l->fds_cap, 0, (cap - l->fds_cap) * sizeof(*n));
	l->fds = n;
	l->fds_cap = cap;
	return 0;
}

static uint64_t ev_data(int fd, uint32_t gen)
{
	return (uint64_t)gen << 32 | (uint32_t)fd;
}

int sl_loop_add_fd(struct sl_loop *l, int fd, uint32_t events, sl_fd_cb cb,
		   void *arg)
{
	struct epoll_event ev = { 0 };
	struct fd_reg *r;
	int rc;

	if (fd < 0 || !cb)
		return -EINVAL;
	rc = fds_reserve(l, fd);
	if (rc)
		return rc;
	r = &l->fds[fd];
	if (r->used)
		return -EEXIST;
	ev.events = events;
	ev.data.u64 = ev_data(fd, r->gen + 1);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	r->gen++;
	r->cb = cb;
	r->arg = arg;
	r->used = true;
	l->n_fds++;
	return 0;
}

int sl_loop_mod_fd(struct sl_loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { 0 };

	if (fd < 0 || (unsigned int)fd >= l->fds_cap || !l->fds[fd].used)
		return -ENOENT;
	ev.events = events;
	ev.data.u64 = ev_data(fd, l->fds[fd].gen);
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

void sl_loop_del_fd(struct sl_loop *l, int fd)
{
	struct fd_reg *r;

	if (fd < 0 || (unsigned int)fd >= l->fds_cap || !l->fds[fd].used)
		return;
	r = &l->fds[fd];
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	r->used = false;
	r->gen++;
	r->cb = NULL;
	r->arg = NULL;
	l->n_fds--;
}

unsigned int sl_loop_fds(const struct sl_loop *l)
{
	return l->n_fds;
}

/* ---- timers ---- */

static bool earlier(const struct sl_timer *a, const struct sl_timer *b)
{
	return a->when_ns < b->when_ns ||
	       (a->when_ns == b->when_ns && a->seq < b->seq);
}

static void heap_set(struct sl_loop *l, unsigned int i, struct sl_timer *t)
{
	l->heap[i] = t;
	t->heap_idx = i;
}

static void sift_up(struct sl_loop *l, unsigned int i)
{
	struct sl_timer *t = l->heap[i];

	while (i > 1 && earlier(t, l->heap[i / 2])) {
		heap_set(l, i, l->heap[i / 2]);
		i /= 2;
	}
	heap_set(l, i, t);
}

static void sift_down(struct sl_loop *l, unsigned int i)
{
	struct sl_timer *t = l->heap[i];
	unsigned int c;

	while ((c = 2 * i) <= l->n_timers) {
		if (c < l->n_timers && earlier(l->heap[c + 1], l->heap[c]))
			c++;
		if (!earlier(l->heap[c], t))
			break;
		heap_set(l, i, l->heap[c]);
		i = c;
	}
	heap_set(l, i, t);
}

void sl_timer_init(struct sl_timer *t, sl_timer_cb cb, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

bool sl_timer_armed(const struct sl_timer *t)
{
	return t->heap_idx != 0;
}

void sl_timer_stop(struct sl_loop *l, struct sl_timer *t)
{
	unsigned int i = t->heap_idx;
	struct sl_timer *last;

	if (!i)
		return;
	t->heap_idx = 0;
	last = l->heap[l->n_timers--];
	if (last == t)
		return;
	heap_set(l, i, last);
	if (i > 1 && earlier(last, l->heap[i / 2]))
		sift_up(l, i);
	else
		sift_down(l, i);
}

/*
 * The heap can only grow when memory allows; a timer that cannot be armed
 * would silently stop a health check, so growth failure aborts: it means
 * the process is out of memory for a few pointers.
 */
void sl_timer_start_at(struct sl_loop *l, struct sl_timer *t, uint64_t when_ns)
{
	sl_timer_stop(l, t);
	if (l->n_timers + 1 >= l->heap_cap) {
		unsigned int cap = l->heap_cap ? 2 * l->heap_cap : 64;
		struct sl_timer **n = realloc(l->heap, cap * sizeof(*n));

		if (!n)
			abort();
		l->heap = n;
		l->heap_cap = cap;
	}
	t->when_ns = when_ns;
	t->seq = ++l->seq;
	l->heap[++l->n_timers] = t;
	t->heap_idx = l->n_timers;
	sift_up(l, l->n_timers);
}

void sl_timer_start(struct sl_loop *l, struct sl_timer *t, uint64_t delay_ns)
{
	sl_timer_start_at(l, t, sl_loop_now_ns() + delay_ns);
}

unsigned int sl_loop_timers(const struct sl_loop *l)
{
	return l->n_timers;
}

static void run_timers(struct sl_loop *l)
{
	uint64_t now = sl_loop_now_ns();
	uint64_t last_seq = l->seq;
	struct sl_timer *t;

	while (l->n_timers && !l->stop) {
		t = l->heap[1];
		if (t->when_ns > now || t->seq > last_seq)
			break;
		sl_timer_stop(l, t);
		t->cb(l, t->arg);
	}
}

/* ---- signals ---- */

static void on_signalfd(struct sl_loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;
	unsigned int signo;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		signo = si.ssi_signo;
		if (signo < _NSIG && l->sig[signo].cb)
			l->sig[signo].cb(l, (int)signo, l->sig[signo].arg);
	}
}

int sl_loop_add_signal(struct sl_loop *l, int signo, sl_signal_cb cb, void *arg)
{
	sigset_t one;
	int fd, rc;

	if (signo <= 0 || signo >= _NSIG || !cb)
		return -EINVAL;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) < 0)
		return -errno;
	sigaddset(&l->sigmask, signo);
	fd = signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (l->sigfd < 0) {
		rc = sl_loop_add_fd(l, fd, EPOLLIN, on_signalfd, NULL);
		if (rc) {
			close(fd);
			return rc;
		}
		l->sigfd = fd;
	}
	l->sig[signo].cb = cb;
	l->sig[signo].arg = arg;
	return 0;
}

/* ---- running ---- */

static int next_timeout_ms(const struct sl_loop *l)
{
	uint64_t now, when;

	if (!l->n_timers)
		return -1;
	when = l->heap[1]->when_ns;
	now = sl_loop_now_ns();
	if (when <= now)
		return 0;
	/* Round up: waking early would spin until the deadline. */
	when = (when - now + 999999) / 1000000;
	return when > 60000 ? 60000 : (int)when;
}

int sl_loop_run_once(struct sl_loop *l, int timeout_ms)
{
	struct epoll_event ev[256];
	int n, i, t = next_timeout_ms(l);

	if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
		t = timeout_ms;
	n = epoll_wait(l->epfd, ev, 256, t);
	if (n < 0 && errno != EINTR)
		return -errno;
	for (i = 0; i < n && !l->stop; i++) {
		int fd = (int)(uint32_t)ev[i].data.u64;
		uint32_t gen = (uint32_t)(ev[i].data.u64 >> 32);
		struct fd_reg *r = &l->fds[fd];

		if (!r->used || r->gen != gen)
			continue;
		r->cb(l, fd, ev[i].events, r->arg);
	}
	run_timers(l);
	return 0;
}

int sl_loop_run(struct sl_loop *l)
{
	int rc = 0;

	l->stop = false;
	while (!l->stop && !rc)
		rc = sl_loop_run_once(l, -1);
	l->stop = false;
	return rc;
}

void sl_loop_stop(struct sl_loop *l)
{
	l->stop = true;
}
