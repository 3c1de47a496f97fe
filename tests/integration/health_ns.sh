#!/usr/bin/env bash
# health_ns.sh: sluiced's health checks against real servers (suite
# integration). Two namespaces joined by a veth: sluiced in one (DPDK mode,
# no dataplane: only its checks and control socket matter here), five
# backend addresses in the other, each checked a different way:
#   203.0.113.21  http GET /healthz on nginx             -> up
#   203.0.113.22  tcp to port 81, nothing listens         -> down, connection refused
#   203.0.113.23  http GET /fail, nginx returns 503       -> down, status 503
#   203.0.113.24  http to port 8080, a server that
#                 accepts and never answers               -> down, timed out
#   203.0.113.25  tcp to port 80                          -> up
# Then a listener appears on port 81 (.22 rises after 2 checks) and nginx
# stops (.21 falls with "connection refused"). Needs root; skips (77)
# otherwise.
#
# usage: health_ns.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
command -v nginx >/dev/null || skip "needs nginx (scripts/deps.sh)"
[ -x "$build/control/sluiced" ] || skip "$build/control/sluiced not built"

lab=sl-hc$$
NS_LB=$lab-lb
NS_BE=$lab-be
inst=hc$$
work=$(mktemp -d /tmp/sluice-health-ns.XXXXXX)
conf=$work/hc.conf
sock=$work/ctl.sock
sd_pid=
bg_pids=()

cleanup() {
	set +e
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$sd_pid" ] && kill "$sd_pid" 2>/dev/null && wait "$sd_pid" 2>/dev/null
	[ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
	for ns in "$NS_LB" "$NS_BE"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -f /dev/hugepages/sluice-"$inst" /dev/shm/sluice-"$inst"
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*"
	[ -f "$work/sluiced.log" ] && { echo "--- sluiced log"; tail -20 "$work/sluiced.log"; }
	exit 1
}
ctl() { timeout 10 "$build/control/sluicectl" -s "$sock" "$@"; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ---- namespaces: sluiced 203.0.113.1, backends .21 to .25 ----
ip netns add "$NS_LB"
ip netns add "$NS_BE"
ip link add hc0 netns "$NS_LB" type veth peer name hc1 netns "$NS_BE"
nsx "$NS_LB" ip link set lo up
nsx "$NS_BE" ip link set lo up
nsx "$NS_LB" ip link set hc0 up
nsx "$NS_BE" ip link set hc1 up
nsx "$NS_LB" ip addr add 203.0.113.1/24 dev hc0
for i in 21 22 23 24 25; do nsx "$NS_BE" ip addr add "203.0.113.$i/24" dev hc1; done

cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $work;
	proxy_temp_path $work;
	fastcgi_temp_path $work;
	uwsgi_temp_path $work;
	scgi_temp_path $work;
	server {
		listen 80;
		location = /healthz { return 200 "ok\n"; }
		location = /fail { return 503; }
	}
}
EOF
nsx "$NS_BE" nginx -c "$work/nginx.conf" -p "$work" 2>/dev/null || fail "nginx did not start"

# Accepts every connection and never answers (nor closes).
nsx "$NS_BE" timeout 120 /usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.24", 8080)); s.listen(64)
held = []
while True:
    held.append(s.accept()[0])
' &
bg_pids+=($!)

cat >"$conf" <<EOF
instance = "$inst";
hash_seed = "00112233445566778899aabbccddeeff";
dataplane = {
	mode = "dpdk";
	eal = [ "-l", "0-1", "--no-pci" ];
	interfaces = [ "lb0" ];
	gateway = "198.51.100.1";
	local_address = "198.51.100.2";
};
control = { socket = "$sock"; };
vips = (
	{
		name = "hc"; address = "192.0.2.50"; port = 80; protocol = "tcp";
		healthcheck = { type = "http"; port = 80; path = "/healthz";
			expect = 200; interval_ms = 500; timeout_ms = 300;
			rise = 2; fall = 2; };
		backends = (
			{ address = "203.0.113.21"; },
			{ address = "203.0.113.22"; healthcheck = { type = "tcp"; port = 81; }; },
			{ address = "203.0.113.23"; healthcheck = { path = "/fail"; }; },
			{ address = "203.0.113.24"; healthcheck = { port = 8080; }; },
			{ address = "203.0.113.25"; healthcheck = { type = "tcp"; }; }
		);
	}
);
EOF
"$build/control/sluicectl" check-config "$conf" >/dev/null || fail "the test config is invalid"
nsx "$NS_LB" timeout 120 "$build/control/sluiced" -c "$conf" -f >"$work/sluiced.log" 2>&1 &
sd_pid=$!

# row ADDR: "state|check|last_error" of that backend, from --json.
row() {
	ctl --json backends hc | /usr/bin/python3 -c '
import json, sys
for b in json.load(sys.stdin)["result"]["backends"]:
    if b["address"] == sys.argv[1]:
        print("%s|%s|%s" % (b["state"], b["check"], b["last_error"]))' "$1"
}
# expect ADDR STATE CHECK ERROR_PATTERN: within 5 s (fall/rise 2 x 500 ms
# plus the first check's random phase).
expect() {
	local got= i
	for i in $(seq 1 50); do
		got=$(row "$1" 2>/dev/null || true)
		# shellcheck disable=SC2053
		[[ $got == "$2|$3|"$4 ]] && { printf '  %-13s %-7s %-4s %s\n' "$1" "$2" "$3" "${got##*|}"; return 0; }
		sleep 0.1
	done
	fail "backend $1: expected $2|$3|$4, have '$got'"
}

echo "== checks against real servers"
expect 203.0.113.21 up http None
expect 203.0.113.22 down tcp "*connection refused*"
expect 203.0.113.23 down http "*status 503*"
expect 203.0.113.24 down http "*timed out after 300 ms*"
expect 203.0.113.25 up tcp None
ctl --json status | /usr/bin/python3 -c '
import json, sys
b = json.load(sys.stdin)["result"]["backends"]
assert (b["up"], b["down"]) == (2, 3), b' || fail "status does not count 2 up, 3 down"

echo "== a listener on port 81 appears, nginx stops"
nsx "$NS_BE" timeout 60 /usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("203.0.113.22", 81)); s.listen(64); time.sleep(60)' &
bg_pids+=($!)
kill "$(cat "$work/nginx.pid")"
expect 203.0.113.22 up tcp None
expect 203.0.113.21 down http "*connection refused*"
expect 203.0.113.23 down http "*connection refused*"
grep -q "203.0.113.22:80 up (2/2 checks passed)" "$work/sluiced.log" || fail "no log line for .22 up"
grep -q "203.0.113.21:80 down (2/2 checks failed: connection refused)" "$work/sluiced.log" ||
	fail "no log line for .21 down"
echo "--- sluiced log"
grep -v '^sluiced ' "$work/sluiced.log" | sed 's/^/  /'
echo "PASS"
