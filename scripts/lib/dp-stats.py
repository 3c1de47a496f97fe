#!/usr/bin/env python3
# dp-stats.py: sluice-dp's forwarding rate from DPDK telemetry, for
# scripts/bench.sh dpdk. Standard library only.
#
#   dp-stats.py PREFIX [--warmup S] [--samples N] [--wait S] [--cmd CMD]
#               [--source sluice|ethdev] [--pid PID]
#
# Connects to /var/run/dpdk/PREFIX/dpdk_telemetry.v2 (SOCK_SEQPACKET; the
# server sends a JSON greeting first, then answers one command per message),
# waits until /sluice/stats shows shared memory attached and packets
# arriving, lets WARMUP seconds pass, then reads the counters every second
# N times. Prints one line of key=value pairs:
#   rx_mpps     median of the per-second RX rates (Mpps)
#   tx_mpps     median of the per-second TX rates
#   samples     the per-second RX rates, comma-separated
#   rx tx dropped   counter deltas over the whole sampled window
#   hits misses evictions   flow-table deltas over the window
#   drops       the non-zero drop reasons of the window, reason:count,...
#   rx_burst    sluice-dp only: each worker's RX burst at the end (32 or 64,
#               picked by measurement: dataplane/burstsize.h), and
#               burst_switches, how often the workers changed it so far
#   cpu_mpps    packets per second of CPU time of the forwarding thread
#               (rte-worker-* or lcore-worker-*, from /proc/.../schedstat) over the window,
#               with --pid (the process or its parent, e.g. `timeout`):
#               time the thread lost to other processes on a shared CPU
#               does not count, so this is the steadier number there
#   cpu_share   that CPU time / wall time
# --source ethdev reads a plain DPDK application (testpmd) instead:
# rx = port 0's ipackets, tx = every port's opackets, dropped = imissed +
# rx_nombuf + oerrors of every port.
# With --cmd CMD it prints the reply to CMD as JSON and exits.
# Exit status 1 when the socket never answers or no packet arrives.
import argparse
import json
import os
import socket
import statistics
import sys
import time


def connect(path, deadline):
    while True:
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.connect(path)
            greeting = json.loads(s.recv(1 << 16).decode())
            return s, int(greeting.get("max_output_len", 1 << 16))
        except (OSError, ValueError):
            s.close()
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def query(s, maxlen, cmd):
    s.send(cmd.encode())
    reply = json.loads(s.recv(maxlen).decode())
    return reply.get(cmd.split(",")[0])


def ethdev_stats(s, maxlen):
    ports = query(s, maxlen, "/ethdev/list") or []
    st = {"rx_packets": 0, "tx_packets": 0, "dropped": 0, "drops": {},
          "shm_attached": 1}
    for p in ports:
        e = query(s, maxlen, f"/ethdev/stats,{p}") or {}
        if p == ports[0]:
            st["rx_packets"] = e.get("ipackets", 0)
        st["tx_packets"] += e.get("opackets", 0)
        for k in ("imissed", "rx_nombuf", "oerrors"):
            st["dropped"] += e.get(k, 0)
            st["drops"][f"{k}_{p}"] = st["drops"].get(f"{k}_{p}", 0) + e.get(k, 0)
    return st


def worker_tasks(pid):
    """schedstat paths of the lcore-worker threads of pid or its children."""
    todo, out = [pid], []
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/comm") as f:
                    if f.read().startswith(("lcore-worker", "rte-worker")):
                        out.append(f"/proc/{p}/task/{t}/schedstat")
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
    return out


def cpu_ns(paths):
    n = 0
    for p in paths:
        try:
            with open(p) as f:
                n += int(f.read().split()[0])
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prefix")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--samples", type=int, default=5)
    ap.add_argument("--wait", type=float, default=60.0,
                    help="seconds to wait for the socket and first packets")
    ap.add_argument("--cmd")
    ap.add_argument("--source", choices=("sluice", "ethdev"), default="sluice")
    ap.add_argument("--pid", type=int)
    a = ap.parse_args()

    path = os.path.join("/var/run/dpdk", a.prefix, "dpdk_telemetry.v2")
    deadline = time.monotonic() + a.wait
    try:
        s, maxlen = connect(path, deadline)
    except (OSError, ValueError) as e:
        print(f"dp-stats: {path}: {e}", file=sys.stderr)
        return 1
    if a.cmd:
        print(json.dumps(query(s, maxlen, a.cmd)))
        return 0

    if a.source == "ethdev":
        def stats():
            return ethdev_stats(s, maxlen)
    else:
        def stats():
            return query(s, maxlen, "/sluice/stats")

    # Up and forwarding: table attached, packets counted.
    st = None
    while time.monotonic() < deadline:
        st = stats()
        if st and st.get("shm_attached") and st.get("rx_packets", 0) > 0:
            break
        time.sleep(0.2)
    else:
        print(f"dp-stats: no traffic counted within {a.wait:.0f} s: {st}",
              file=sys.stderr)
        return 1
    time.sleep(a.warmup)
    tasks = worker_tasks(a.pid) if a.pid else []

    snaps = []
    t_next = time.monotonic()
    for _ in range(a.samples + 1):
        now = time.monotonic()
        if now < t_next:
            time.sleep(t_next - now)
        st = stats()
        snaps.append((time.monotonic(), st, cpu_ns(tasks)))
        t_next += 1.0
    rx_rates, tx_rates = [], []
    for (t0, s0, _), (t1, s1, _) in zip(snaps, snaps[1:]):
        dt = t1 - t0
        rx_rates.append((s1["rx_packets"] - s0["rx_packets"]) / dt / 1e6)
        tx_rates.append((s1["tx_packets"] - s0["tx_packets"]) / dt / 1e6)
    first, last = snaps[0][1], snaps[-1][1]
    wall = snaps[-1][0] - snaps[0][0]
    cpu = (snaps[-1][2] - snaps[0][2]) / 1e9

    def delta(k):
        return last.get(k, 0) - first.get(k, 0)

    drops = {k: v - first["drops"].get(k, 0) for k, v in last["drops"].items()}
    drops = ",".join(f"{k}:{v}" for k, v in drops.items() if v) or "none"
    rx = last["rx_packets"] - first["rx_packets"]
    cpu_part = (f"cpu_mpps={rx / cpu / 1e6:.3f} cpu_share={cpu / wall:.2f} "
                if cpu > 0 else "cpu_mpps=nan cpu_share=nan ")
    print(f"rx_mpps={statistics.median(rx_rates):.3f} {cpu_part}"
          f"tx_mpps={statistics.median(tx_rates):.3f} "
          f"samples={','.join(f'{r:.2f}' for r in rx_rates)} "
          f"rx={delta('rx_packets')} tx={delta('tx_packets')} "
          f"dropped={delta('dropped')} hits={delta('flow_hits')} "
          f"misses={delta('flow_misses')} evictions={delta('flow_evictions')} "
          f"drops={drops}"
          + (f" rx_burst={'/'.join(str(b) for b in last['rx_burst'])}"
             f" burst_switches={last.get('rx_burst_switches', 0)}"
             if last.get("rx_burst") else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
