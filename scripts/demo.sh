#!/usr/bin/env bash
# demo.sh: sluice in front of three real nginx backends, in network namespaces.
#
#   scripts/demo.sh
#
# Installs what is missing, builds, brings the lab up (scripts/lab.sh) with
# configs/lab.conf, runs sluiced (health checks, tables) and sluice-dp (the
# DPDK dataplane on an AF_PACKET vdev), then:
#   1. sends real HTTP requests from the client and shows their spread;
#   2. shows sluicectl's view (status, VIPs, backends);
#   3. kills one backend's server while the client keeps sending: sluiced
#      marks it down, traffic moves to the others, and no request fails
#      once the failure is detected;
#   4. brings the server back and shows it taking traffic again;
# and tears everything down. Bounded in time; leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (namespaces, hugepages)" >&2; exit 1; }
scripts/deps.sh --hugepages
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null

export SLUICE_LAB=sl-demo
export SLUICE_LAB_RUN=/run/sluice/$SLUICE_LAB
export SLUICE_DECAP=$top/build/bpf/sluice-decap
CONF=configs/lab.conf
SOCK=/run/sluice/lab.sock
NS_LB=$SLUICE_LAB-lb
NS_C=$SLUICE_LAB-client
VIP=192.0.2.10
work=$(mktemp -d /tmp/sluice-demo.XXXXXX)
sluiced_pid=
dp_pid=

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
ctl() { build/control/sluicectl -s "$SOCK" "$@"; }

cleanup() {
	set +e
	[ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
	[ -n "$sluiced_pid" ] && kill "$sluiced_pid" 2>/dev/null && wait "$sluiced_pid" 2>/dev/null
	scripts/lab.sh down >/dev/null 2>&1
	rm -f /dev/hugepages/sluice-lab* /dev/shm/sluice-lab "$SOCK"
	rm -rf /var/run/dpdk/sluice-lab "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Leftovers of an interrupted earlier run.
scripts/lab.sh down >/dev/null 2>&1 || true
rm -f /dev/hugepages/sluice-lab* /dev/shm/sluice-lab

# HTTP/1.0 GETs from the client, one new connection each; prints one line per
# request: "<seconds since start> <backend or FAIL>".
requests() { # requests COUNT INTERVAL
	ip netns exec "$NS_C" timeout 120 /usr/bin/python3 - "$VIP" "$1" "$2" <<'PY'
import socket, sys, time
vip, n, gap = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
t0 = time.monotonic()
for i in range(n):
    try:
        with socket.create_connection((vip, 80), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: vip\r\n\r\n")
            data = b""
            while True:
                c = s.recv(4096)
                if not c:
                    break
                data += c
        body = data.split(b"\r\n\r\n", 1)[1].decode().split()
        print(f"{time.monotonic() - t0:.2f} {body[0]}", flush=True)
    except Exception as e:
        print(f"{time.monotonic() - t0:.2f} FAIL {e}", flush=True)
    time.sleep(gap)
PY
}

spread() { # spread FILE
	awk '{n[$2]++} END {for (b in n) printf "  %-6s %4d requests\n", b, n[b]}' "$1" | sort
}

bold "lab: client -> router -> LB (sluice-dp) -> 3 nginx backends (DSR)"
scripts/lab.sh up

bold "starting sluiced (health checks, tables) and sluice-dp (dataplane) in $NS_LB"
ip netns exec "$NS_LB" timeout 600 build/control/sluiced -c "$CONF" -f \
	>"$work/sluiced.log" 2>&1 &
sluiced_pid=$!
for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$work/sluiced.log"; echo "demo.sh: sluiced did not start" >&2; exit 1; }
ip netns exec "$NS_LB" timeout 600 build/dataplane/sluice-dp -- -c "$CONF" \
	>"$work/sluice-dp.log" 2>&1 &
dp_pid=$!
for i in $(seq 1 60); do
	ip netns exec "$NS_C" curl -s -m 1 -o /dev/null "http://$VIP/" && break
	kill -0 "$dp_pid" 2>/dev/null || { cat "$work/sluice-dp.log"; exit 1; }
	[ "$i" -eq 60 ] && { tail "$work/sluice-dp.log"; echo "demo.sh: no answer from the VIP" >&2; exit 1; }
	sleep 0.5
done
grep '^sluice-dp:' "$work/sluice-dp.log" | sed 's/^/  /'

bold "1. 90 HTTP requests from the client to http://$VIP/"
requests 90 0.01 >"$work/phase1.txt"
spread "$work/phase1.txt"

bold "2. sluicectl status / vips / backends"
ctl status
echo
ctl vips
echo
ctl backends

bold "3. killing be2's nginx while the client sends a request every 50 ms"
requests 120 0.05 >"$work/phase3.txt" &
req_pid=$!
sleep 1
kill "$(cat "$SLUICE_LAB_RUN/be2/nginx.pid")"
killed_at=$(date +%s.%N)
down_at=
for _ in $(seq 1 100); do
	if ctl --json backends web | grep -q '"state": *"down"'; then
		down_at=$(date +%s.%N)
		break
	fi
	sleep 0.05
done
wait "$req_pid"
[ -n "$down_at" ] || { echo "demo.sh: sluiced never marked be2 down" >&2; exit 1; }
awk -v a="$killed_at" -v b="$down_at" \
	'BEGIN { printf "  be2 marked down %.2f s after its server died\n", b - a }'
grep "down (" "$work/sluiced.log" | sed 's/^/  sluiced: /' || true
ctl backends web
echo "  requests during the change:"
spread "$work/phase3.txt"
fails=$(grep -c FAIL "$work/phase3.txt" || true)
echo "  failed: $fails (only while be2 was dead and not yet detected)"
echo "  requests after detection:"
requests 60 0.01 >"$work/after.txt"
spread "$work/after.txt"
after_fail=$(grep -c FAIL "$work/after.txt" || true)
after_be2=$(grep -c ' be2' "$work/after.txt" || true)
echo "  after detection: $after_fail failed, $after_be2 to be2"

bold "4. be2's nginx back: sluiced marks it up, it takes traffic again"
ip netns exec "$SLUICE_LAB-be2" nginx -c "$SLUICE_LAB_RUN/be2/nginx.conf" -p "$SLUICE_LAB_RUN/be2"
for _ in $(seq 1 100); do
	ctl --json backends web | grep -q '"state": *"down"' || break
	sleep 0.05
done
ctl backends web
requests 90 0.01 >"$work/phase4.txt"
spread "$work/phase4.txt"

bold "dataplane counters (sluicectl stats)"
ctl stats

if [ "$after_fail" -ne 0 ] || [ "$after_be2" -ne 0 ]; then
	echo "demo.sh: requests failed or reached be2 after it was marked down" >&2
	exit 1
fi
bold "done: tearing the lab down"
