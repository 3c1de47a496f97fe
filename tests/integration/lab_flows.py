#!/usr/bin/python3
"""lab_flows.py: timed TCP clients for the control-plane lab test (client netns).

  lab_flows.py probe VIP PORT GAP SECONDS --out FILE [--stop FILE] [--src ADDR]
      Opens a new HTTP/1.0 connection every GAP seconds for SECONDS (or
      until the stop file exists). Writes a JSON list, one element per
      attempt: {"t": wall-clock start (s), "backend": "be1" | null,
      "error": null | text, "sport": client port}. Wall-clock so that a shell's `date +%s.%N`
      in another namespace compares with it. --src: the client address
      (a fresh one guarantees 5-tuples the LB has never seen).

  lab_flows.py hold VIP PORT N --out FILE --stop FILE [--max SECONDS]
      N long-lived HTTP/1.1 keep-alive connections, each sending a request
      every 0.1 s until the stop file exists (or SECONDS). Rewrites FILE
      (atomically) every 0.5 s and at the end:
      {"running": bool, "conns": [{"backend", "requests", "last_ok",
      "failed_at": null | wall-clock s, "error"}]}.

  lab_flows.py watch SLUICECTL SOCKET VIP BACKEND STATE --out FILE [--max S]
      Runs `SLUICECTL -s SOCKET --json backends VIP` every 10 ms until
      BACKEND's state is STATE, then `status` until the dataplane has
      switched to a generation that includes it (publish_pending false and
      dataplane.table_generation >= generation). Writes {"t_state",
      "t_dataplane", "generation", "polls"} (wall clock; null if not seen).

Only the standard library; every socket has a timeout; nothing retried.
"""
import json
import os
import socket
import sys
import subprocess
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcp_client import backend_of, http_get  # noqa: E402


def dump(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def probe(vip, port, gap, seconds, out, stop, src):
    res = []
    end = time.monotonic() + seconds
    nxt = time.monotonic()
    while time.monotonic() < end and not (stop and os.path.exists(stop)):
        t = time.time()
        try:
            # 2 s: a refused connection (RST from a dead server) returns at
            # once; a lost SYN would be retransmitted after 1 s.
            with socket.create_connection((vip, port), timeout=2,
                                          source_address=(src, 0) if src else None) as s:
                sport = s.getsockname()[1]
                be = backend_of(http_get(s, False))
            res.append({"t": t, "backend": be, "error": None, "sport": sport})
        except Exception as e:  # noqa: BLE001 - every failure is recorded
            res.append({"t": t, "backend": None, "error": str(e)})
        nxt += gap
        time.sleep(max(0.0, nxt - time.monotonic()))
    dump(out, res)


def hold(vip, port, n, out, stop, seconds):
    conns = []
    for _ in range(n):
        s = socket.create_connection((vip, port), timeout=3)
        be = backend_of(http_get(s, True))
        conns.append({"sock": s, "backend": be, "requests": 1,
                      "last_ok": time.time(), "failed_at": None,
                      "error": None})

    def state(running):
        return {"running": running,
                "conns": [{k: v for k, v in c.items() if k != "sock"}
                          for c in conns]}

    end = time.monotonic() + seconds
    last_dump = 0.0
    while time.monotonic() < end and not os.path.exists(stop):
        for c in conns:
            if c["failed_at"] is not None:
                continue
            try:
                be = backend_of(http_get(c["sock"], True))
                if be != c["backend"]:
                    raise ConnectionError(f"moved from {c['backend']} to {be}")
                c["requests"] += 1
                c["last_ok"] = time.time()
            except Exception as e:  # noqa: BLE001
                c["failed_at"] = time.time()
                c["error"] = str(e)
        if time.monotonic() - last_dump >= 0.5:
            dump(out, state(True))
            last_dump = time.monotonic()
        time.sleep(0.1)
    for c in conns:
        c["sock"].close()
    dump(out, state(False))


def ctl_json(ctl, sock, *cmd):
    out = subprocess.run([ctl, "-s", sock, "--json", *cmd], capture_output=True,
                         timeout=5, check=False).stdout
    return json.loads(out)["result"]


def watch(ctl, sock, vip, backend, want, out, seconds):
    res = {"t_state": None, "t_dataplane": None, "generation": None, "polls": 0}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        res["polls"] += 1
        t = time.time()
        if res["t_state"] is None:
            bes = ctl_json(ctl, sock, "backends", vip)["backends"]
            if any(b["address"] == backend and b["state"] == want for b in bes):
                res["t_state"] = t
        if res["t_state"] is not None:
            st = ctl_json(ctl, sock, "status")
            dp = st.get("dataplane") or {}
            if not st["publish_pending"] and (dp.get("table_generation") or 0) >= st["generation"]:
                res["t_dataplane"] = time.time()
                res["generation"] = st["generation"]
                break
        time.sleep(0.01)
    dump(out, res)


def main():
    args = sys.argv[1:]
    opts = {}
    for name in ("--out", "--stop", "--max", "--src"):
        if name in args:
            i = args.index(name)
            opts[name] = args[i + 1]
            del args[i:i + 2]
    if len(args) == 5 and args[0] == "probe" and "--out" in opts:
        probe(args[1], int(args[2]), float(args[3]), float(args[4]),
              opts["--out"], opts.get("--stop"), opts.get("--src"))
    elif len(args) == 4 and args[0] == "hold" and "--out" in opts and "--stop" in opts:
        hold(args[1], int(args[2]), int(args[3]), opts["--out"],
             opts["--stop"], float(opts.get("--max", 300)))
    elif len(args) == 6 and args[0] == "watch" and "--out" in opts:
        watch(*args[1:6], opts["--out"], float(opts.get("--max", 10)))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
