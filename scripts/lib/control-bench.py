#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""control-bench.py: helpers of scripts/bench.sh control (bench-control.sh).

  control-bench.py detect SLUICED CONFIG N PER KILL ROUNDS
      Run inside the bench's network namespace. Opens N listening TCP
      sockets (backend k on 203.0.113.(k // PER + 1), port 20000 + k % PER,
      the layout sl_bench_health's config uses), starts `SLUICED -f -c
      CONFIG` with its log on a pipe, and stamps every log line with
      CLOCK_MONOTONIC as it arrives. After a warm-up, ROUNDS times: closes
      KILL listeners spread over all backends, notes the time, waits for a
      "backend ADDR:PORT down (" line for each, then reopens them and waits
      for their "up (" lines before the next round. Prints one line:
        samples= med_ms= p90_ms= max_ms= min_ms= missed= cpu_pct=
      (detection time from close to the log line; cpu_pct: sluiced's CPU
      over the whole run, percent of one core).

  control-bench.py e2e SOCKET SHM VIP BACKEND ROUNDS
      Against a running sluiced (control socket SOCKET) and a sluice-dp
      attached to the shared memory file SHM: ROUNDS times, alternately
      "drain VIP BACKEND" and "undrain VIP BACKEND" over the control
      socket, timing from just before the request is sent until the
      published generation is higher (pub) and every online lcore row
      reports it (seen), spin-polling the file's header. Prints:
        samples= lcores= reply_med_ms= pub_med_ms= pub_p99_ms= pub_max_ms=
        seen_med_ms= seen_p99_ms= seen_max_ms= timeouts=

Times are CLOCK_MONOTONIC (time.monotonic_ns()).
"""
import mmap
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

# include/sluice/table.h: struct sl_shm_header
OFF_GEN = 128
OFF_DP_PID = 192
OFF_QS = 256
QS_SIZE = 64
MAX_LCORES = 64


def pct(v, p):
    """Nearest-rank percentile of a sorted list."""
    if not v:
        return float("nan")
    k = max(1, -(-len(v) * p // 100))
    return v[int(k) - 1]


def median(v):
    n = len(v)
    if not n:
        return float("nan")
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


# ---- detect ----

DOWN = re.compile(r"backend (\S+) down \(")
UP = re.compile(r"backend (\S+) up \(")


def detect(sluiced, config, n, per, kill, rounds):
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def addr(k):
        return ("203.0.113.%d" % (k // per + 1), 20000 + k % per)

    def listen(k):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(addr(k))
        s.listen(4096)
        return s

    socks = [listen(k) for k in range(n)]
    events = {}  # (kind, "addr:port") -> first time seen after `since`
    cond = threading.Condition()
    log = []

    proc = subprocess.Popen([sluiced, "-f", "-c", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def reader():
        for raw in proc.stderr:
            t = time.monotonic_ns()
            line = raw.decode(errors="replace").rstrip("\n")
            log.append(line)
            for kind, rx in (("down", DOWN), ("up", UP)):
                m = rx.search(line)
                if m:
                    with cond:
                        events.setdefault((kind, m.group(1)), t)
                        cond.notify_all()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    t_start = time.monotonic()
    c0 = None
    samples, missed = [], 0
    try:
        time.sleep(3.0)  # every backend checked once (first checks spread)
        if proc.poll() is not None:
            sys.stderr.write("detect: sluiced exited:\n%s\n" % "\n".join(log))
            return 1
        c0 = cpu_ticks(proc.pid)
        t_cpu0 = time.monotonic()
        step = max(1, n // kill)
        for r in range(rounds):
            victims = [(r * 7 + i * step) % n for i in range(kill)]
            keys = ["%s:%d" % addr(k) for k in victims]
            with cond:
                for k in keys:
                    events.pop(("down", k), None)
                    events.pop(("up", k), None)
            t_kill = time.monotonic_ns()
            for k in victims:
                socks[k].close()
            deadline = time.monotonic() + 15
            with cond:
                while (not all(("down", k) in events for k in keys)
                       and time.monotonic() < deadline):
                    cond.wait(0.1)
                got = [events.get(("down", k)) for k in keys]
            for t in got:
                if t is None:
                    missed += 1
                else:
                    samples.append((t - t_kill) / 1e6)
            for k in victims:
                socks[k] = listen(k)
            deadline = time.monotonic() + 15
            with cond:
                while (not all(("up", k) in events for k in keys)
                       and time.monotonic() < deadline):
                    cond.wait(0.1)
            time.sleep(0.5)
        c1 = cpu_ticks(proc.pid)
        cpu = 100.0 * (c1 - c0) / os.sysconf("SC_CLK_TCK") / \
            (time.monotonic() - t_cpu0)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    samples.sort()
    sys.stderr.write("detect: %d backends, %d rounds of %d closed in %.0f s;"
                     " %d detected, %d missed\n"
                     % (n, rounds, kill, time.monotonic() - t_start,
                        len(samples), missed))
    print("samples=%d med_ms=%.0f p90_ms=%.0f max_ms=%.0f min_ms=%.0f "
          "missed=%d cpu_pct=%.2f"
          % (len(samples), median(samples), pct(samples, 90),
             samples[-1] if samples else float("nan"),
             samples[0] if samples else float("nan"), missed, cpu))
    return 0 if samples and not missed else 1


# ---- e2e ----

def ctl(path, line):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall((line + "\n").encode())
    out = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        out += b
    s.close()
    return out.decode(errors="replace")


def e2e(sock, shm, vip, backend, rounds):
    fd = os.open(shm, os.O_RDONLY)
    mm = mmap.mmap(fd, OFF_QS + MAX_LCORES * QS_SIZE, mmap.MAP_SHARED,
                   mmap.PROT_READ)
    u64 = struct.Struct("<Q")

    def gen():
        return u64.unpack_from(mm, OFF_GEN)[0]

    def lagging(g):
        n, lag = 0, 0
        for i in range(MAX_LCORES):
            seen, online = struct.unpack_from("<QQ", mm, OFF_QS + i * QS_SIZE)
            if online:
                n += 1
                if seen < g:
                    lag += 1
        return n, lag

    reply, pub, seen = [], [], []
    lcores, timeouts = MAX_LCORES, 0
    for r in range(rounds):
        time.sleep(0.02 + 0.02 * (r % 5) / 5)  # past publish_min_gap (10 ms)
        g0 = gen()
        cmd = "%s %s %s" % ("drain" if r % 2 == 0 else "undrain", vip, backend)
        t0 = time.monotonic_ns()
        out = ctl(sock, cmd)
        t1 = time.monotonic_ns()
        if not out.startswith('{"code":0'):
            sys.stderr.write("e2e: %s: %s\n" % (cmd, out.strip()))
        tp = None
        while True:
            now = time.monotonic_ns()
            g = gen()
            if g > g0:
                if tp is None:
                    tp = now
                n, lag = lagging(g)
                if not lag:
                    break
            if now - t0 > 2e9:
                timeouts += 1
                break
        if tp is None:
            continue
        lcores = min(lcores, n)
        reply.append((t1 - t0) / 1e6)
        pub.append((tp - t0) / 1e6)
        seen.append((now - t0) / 1e6)
    for v in (reply, pub, seen):
        v.sort()
    print("samples=%d lcores=%d reply_med_ms=%.2f pub_med_ms=%.2f "
          "pub_p99_ms=%.2f pub_max_ms=%.2f seen_med_ms=%.2f seen_p99_ms=%.2f "
          "seen_max_ms=%.2f timeouts=%d"
          % (len(seen), lcores if seen else 0, median(reply), median(pub),
             pct(pub, 99), pub[-1] if pub else float("nan"), median(seen),
             pct(seen, 99), seen[-1] if seen else float("nan"), timeouts))
    return 0 if seen and not timeouts else 1


def main(argv):
    if len(argv) == 8 and argv[1] == "detect":
        return detect(argv[2], argv[3], int(argv[4]), int(argv[5]),
                      int(argv[6]), int(argv[7]))
    if len(argv) == 7 and argv[1] == "e2e":
        return e2e(argv[2], argv[3], argv[4], argv[5], int(argv[6]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
