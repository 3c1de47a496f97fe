#!/usr/bin/python3
"""tcp_client.py: real TCP clients for the namespace lab (run in the client netns).

  tcp_client.py spread VIP PORT N [--out FILE]
      N sequential HTTP/1.0 connections (new flow each); prints a JSON object
      {"ok": n, "failed": n, "by_backend": {"be1": n, ...}, "errors": [...]}.

  tcp_client.py hold VIP PORT N SECONDS [--out FILE]
      N long-lived HTTP/1.1 keep-alive connections that each send a request
      every 0.1 s for SECONDS; prints {"conns": [{"backend": "be1",
      "requests": n, "failed_at": null | seconds}, ...]}.

Only standard library; bounded in time; never retries silently.
"""
import json
import socket
import sys
import time


def backend_of(body):
    word = body.strip().split(b" ")[0].decode(errors="replace")
    return word or "?"


def http_get(sock, keepalive):
    req = b"GET / HTTP/1.1\r\nHost: vip\r\n"
    req += b"Connection: keep-alive\r\n\r\n" if keepalive else b"Connection: close\r\n\r\n"
    sock.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed before headers")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
        raise ConnectionError("status " + head.split(b"\r\n")[0].decode(errors="replace"))
    if length is None:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
    else:
        while len(body) < length:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("short body")
            body += chunk
    return body


def spread(vip, port, n):
    res = {"ok": 0, "failed": 0, "by_backend": {}, "errors": []}
    for i in range(n):
        try:
            # 10 s lets TCP retransmit a lost SYN twice (1 s, 3 s): a busy
            # 2-core machine drops the odd frame at the veth, like any network.
            with socket.create_connection((vip, port), timeout=10) as s:
                be = backend_of(http_get(s, False))
            res["ok"] += 1
            res["by_backend"][be] = res["by_backend"].get(be, 0) + 1
        except Exception as e:  # noqa: BLE001 - every failure is reported
            res["failed"] += 1
            if len(res["errors"]) < 10:
                res["errors"].append(f"conn {i}: {e}")
    return res


def hold(vip, port, n, seconds):
    conns = []
    for _ in range(n):
        s = socket.create_connection((vip, port), timeout=3)
        be = backend_of(http_get(s, True))
        conns.append({"sock": s, "backend": be, "requests": 1, "failed_at": None})
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        for c in conns:
            if c["failed_at"] is not None:
                continue
            try:
                be = backend_of(http_get(c["sock"], True))
                if be != c["backend"]:
                    raise ConnectionError(f"moved from {c['backend']} to {be}")
                c["requests"] += 1
            except Exception as e:  # noqa: BLE001
                c["failed_at"] = round(time.monotonic() - start, 2)
                c["error"] = str(e)
        time.sleep(0.1)
    for c in conns:
        c["sock"].close()
        del c["sock"]
    return {"conns": conns}


def main():
    args = sys.argv[1:]
    out = None
    if "--out" in args:
        i = args.index("--out")
        out = args[i + 1]
        del args[i:i + 2]
    if len(args) >= 4 and args[0] == "spread":
        res = spread(args[1], int(args[2]), int(args[3]))
    elif len(args) >= 5 and args[0] == "hold":
        res = hold(args[1], int(args[2]), int(args[3]), float(args[4]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    text = json.dumps(res)
    if out:
        with open(out, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
