/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * loop.h: sluiced's single event loop (epoll for file descriptors, a timer
 * heap for deadlines, signalfd for signals). One thread; callbacks run to
 * completion and must not block.
 */
#ifndef SLUICE_CONTROL_LOOP_H
#define SLUICE_CONTROL_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct sl_loop;

typedef void (*sl_fd_cb)(struct sl_loop *l, int fd, uint32_t events, void *arg);
typedef void (*sl_timer_cb)(struct sl_loop *l, void *arg);
typedef void (*sl_signal_cb)(struct sl_loop *l, int signo, void *arg);

/* A timer lives in the caller's struct; the loop only links it. */
struct sl_timer {
	uint64_t when_ns; /* CLOCK_MONOTONIC deadline */
	sl_timer_cb cb;
	void *arg;
	uint64_t seq;	       /* arming order: equal deadlines fire FIFO */
	unsigned int heap_idx; /* 0 = not armed */
};

struct sl_loop *sl_loop_new(void);
void sl_loop_free(struct sl_loop *l);

/* events are EPOLLIN/EPOLLOUT/...; 0 or -errno. */
int sl_loop_add_fd(struct sl_loop *l, int fd, uint32_t events, sl_fd_cb cb,
		   void *arg);
int sl_loop_mod_fd(struct sl_loop *l, int fd, uint32_t events);
void sl_loop_del_fd(struct sl_loop *l, int fd);

void sl_timer_init(struct sl_timer *t, sl_timer_cb cb, void *arg);
/* (Re)arm t to fire once, delay_ns from now. */
void sl_timer_start(struct sl_loop *l, struct sl_timer *t, uint64_t delay_ns);
/* (Re)arm t for an absolute CLOCK_MONOTONIC deadline (past: next pass). */
void sl_timer_start_at(struct sl_loop *l, struct sl_timer *t, uint64_t when_ns);
void sl_timer_stop(struct sl_loop *l, struct sl_timer *t);
bool sl_timer_armed(const struct sl_timer *t);

/* Deliver signo through the loop (blocked for the process, via signalfd). */
int sl_loop_add_signal(struct sl_loop *l, int signo, sl_signal_cb cb,
		       void *arg);

/* CLOCK_MONOTONIC nanoseconds, the clock of every timer. */
uint64_t sl_loop_now_ns(void);

/* Armed timers and registered descriptors (tests and metrics). */
unsigned int sl_loop_timers(const struct sl_loop *l);
unsigned int sl_loop_fds(const struct sl_loop *l);

/*
 * Run until sl_loop_stop(); returns 0 or -errno. sl_loop_run_once() runs
 * one iteration, waiting at most timeout_ms (-1: until the next timer).
 */
int sl_loop_run_once(struct sl_loop *l, int timeout_ms);
int sl_loop_run(struct sl_loop *l);
void sl_loop_stop(struct sl_loop *l);

#endif /* SLUICE_CONTROL_LOOP_H */
