#!/usr/bin/env bash
# xdp_lab.sh: sluiced in XDP mode end to end in the namespace lab (suite
# integration).
#
# The lab of dp_lab.sh (client, router, LB, three backends with the decap
# program and an HTTP server), brought up with --mode xdp: the router's end
# of lb0 gets an XDP program so that XDP_TX frames reach it. In XDP mode the
# kernel keeps lb0: it gets the LB address 198.51.100.2 and answers ARP for
# it, and the route to the backends goes through lb0, so bpf_fib_lookup
# returns lb0 and the program answers with XDP_TX. sluiced runs in the LB
# namespace with configs/lab.conf turned into XDP mode (native XDP on the
# veth). Checks:
#   1. hundreds of real TCP connections complete, spread across backends;
#   2. a drained backend (sluicectl drain) gets no new connections while
#      long-lived ones to the others carry on;
#   3. sluiced killed with SIGKILL leaves the program attached and
#      forwarding; a new sluiced re-attaches (maps reused, program swapped
#      in place) and serves;
#   4. SIGTERM detaches the program and removes its pins.
# Needs root; skips (77) with the reason otherwise.
#
# usage: xdp_lab.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; [ -f "${log:-}" ] && { echo "--- sluiced log"; tail -40 "$log"; }; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, XDP)"
[ -x "$build/control/sluiced" ] || skip "sluiced is not built in $build"
[ -x "$build/control/sluicectl" ] || skip "sluicectl is not built in $build"
[ -f "$build/tests/bpf/xdp_pass.bpf.o" ] || skip "xdp_pass.bpf.o is not built in $build"
command -v curl >/dev/null || skip "needs curl"

export SLUICE_LAB=sl-xt$$
export SLUICE_DECAP=$build/bpf/sluice-decap
export SLUICE_LAB_RUN=/run/sluice/$SLUICE_LAB
instance=xlab$$
work=$(mktemp -d /tmp/sluice-xdp-lab.XXXXXX)
log=$work/sluiced.log
conf=$work/lab-xdp.conf
sock=$work/sluiced.sock
# `ip netns exec` mounts a /sys of its own for every command, without the
# host's bpffs: pin on a bpffs of the test's own, which every command sees.
bpfroot=$work/bpf
export SLUICE_BPF_ROOT=$bpfroot
pins=$bpfroot/$instance
ns_lb=$SLUICE_LAB-lb
pid=

cleanup() {
	set +e
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns exec "$ns_lb" ip link set dev lb0 xdp off 2>/dev/null
	scripts/lab.sh down >/dev/null 2>&1
	rm -rf "$pins" "/run/sluice/$instance.xdp-tables"
	mountpoint -q "$bpfroot" && umount "$bpfroot"
	rm -rf "$work"
}
trap cleanup EXIT

# configs/lab.conf in XDP mode: no EAL, no gateway (the FIB finds it).
/usr/bin/python3 - configs/lab.conf "$conf" "$instance" "$sock" <<'EOF'
import re, sys
src, dst, inst, sock = sys.argv[1:]
t = open(src).read()
t = re.sub(r'instance = "[^"]*";', 'instance = "%s";' % inst, t)
t = t.replace('mode = "dpdk";', 'mode = "xdp";\n\txdp_mode = "native";')
t = re.sub(r'\teal = \[[^\]]*\];\n', '', t, flags=re.S)
t = re.sub(r'\tgateway = "[^"]*";[^\n]*\n', '', t)
t = re.sub(r'socket = "[^"]*";', 'socket = "%s";' % sock, t)
t = re.sub(r'metrics = "[^"]*";[^\n]*\n', '', t)
open(dst, 'w').write(t)
EOF
mkdir -p "$bpfroot"
mount -t bpf bpf "$bpfroot" || skip "cannot mount bpffs"
"$build/control/sluicectl" check-config "$conf" >/dev/null ||
	fail "the XDP variant of lab.conf does not validate: $("$build/control/sluicectl" check-config "$conf" 2>&1)"

# lab.sh --mode xdp puts an XDP_PASS program on the router's end of lb0
# and gives lb0 the LB address in the kernel.
SLUICE_XDP_PASS=$build/tests/bpf/xdp_pass.bpf.o scripts/lab.sh up --mode xdp >/dev/null
lbx() { ip netns exec "$ns_lb" "$@"; }
# Resolve the router on lb0 (the FIB lookup passes packets until it is).
lbx /usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("203.0.113.11", 9))'

client() { ip netns exec "$SLUICE_LAB-client" timeout 120 /usr/bin/python3 \
	tests/integration/tcp_client.py "$@"; }
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
ctl() { "$build/control/sluicectl" -s "$sock" "$@"; }
start() {
	# No `timeout` or shell function in between: $pid must be sluiced
	# itself (SIGKILL below); the trap and meson's timeout bound the run.
	ip netns exec "$ns_lb" "$build/control/sluiced" -c "$conf" -f \
		>>"$log" 2>&1 &
	pid=$!
}
xdp_id() { lbx ip -d link show lb0 | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p' | head -1; }
wait_http() {
	for i in $(seq 1 60); do
		kill -0 "$pid" 2>/dev/null || fail "sluiced exited early"
		if ip netns exec "$SLUICE_LAB-client" timeout 2 \
			curl -s -o /dev/null http://192.0.2.10/ 2>/dev/null; then
			return 0
		fi
		sleep 0.5
	done
	fail "no HTTP answer through the VIP within 30 s"
}

start
wait_http
[ -n "$(xdp_id)" ] || fail "no XDP program on lb0"
[ -e "$pins/flow_map" ] || fail "maps not pinned under $pins"

# 1. Spread.
client spread 192.0.2.10 80 300 --out "$work/spread.json" >/dev/null
ok=$(jget "$work/spread.json" 'd["ok"]')
echo "spread over 3 equal backends: $(jget "$work/spread.json" 'd["by_backend"]')"
[ "$ok" -eq 300 ] || fail "only $ok of 300 connections completed"
for be in be1 be2 be3; do
	n=$(jget "$work/spread.json" "d['by_backend'].get('$be', 0)")
	[ "$n" -ge 50 ] && [ "$n" -le 150 ] || fail "$be got $n of 300 connections"
done
# sluicectl reads the program's per-CPU counters: the VIP's new flows and
# every backend's packets must show the 300 connections.
ctl --json vips >"$work/vips.json" || fail "sluicectl vips failed"
ctl --json backends web >"$work/bes.json" || fail "sluicectl backends failed"
flows=$(jget "$work/vips.json" 'd["result"]["vips"][0]["new_flows"]')
bepk=$(jget "$work/bes.json" 'min(b["packets"] or 0 for b in d["result"]["backends"])')
echo "sluicectl from the BPF counters: web new_flows $flows, fewest packets of a backend $bepk"
[ "$flows" != None ] && [ "$flows" -ge 300 ] || fail "sluicectl vips: new_flows $flows, want >= 300"
[ "$bepk" -gt 0 ] || fail "sluicectl backends: a backend shows no packets"

# 2. Drain be2 while long-lived connections exchange data.
client hold 192.0.2.10 80 12 8 --out "$work/hold.json" >/dev/null &
hold_pid=$!
sleep 2
ctl drain web 203.0.113.12 >/dev/null || fail "sluicectl drain failed"
sleep 0.5
client spread 192.0.2.10 80 150 --out "$work/after.json" >/dev/null
wait "$hold_pid" || fail "hold client failed"
be2=$(jget "$work/after.json" "d['by_backend'].get('be2', 0)")
echo "after draining be2: $(jget "$work/after.json" 'd["by_backend"]')"
[ "$be2" -eq 0 ] || fail "be2 is drained but got $be2 new connections"
broken=$(jget "$work/hold.json" 'sum(1 for c in d["conns"] if c["failed_at"] is not None)')
[ "$broken" -eq 0 ] || fail "$broken long-lived connections broke"

# 3. A crash keeps forwarding; a restart re-attaches in place.
id1=$(xdp_id)
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=
[ "$(xdp_id)" = "$id1" ] || fail "the program went away with sluiced"
client spread 192.0.2.10 80 30 --out "$work/crash.json" >/dev/null
[ "$(jget "$work/crash.json" 'd["ok"]')" -eq 30 ] || fail "no forwarding while sluiced is down"
start
# Up when its control socket answers (the old program forwards meanwhile).
for i in $(seq 1 60); do
	kill -0 "$pid" 2>/dev/null || fail "sluiced exited early after the crash"
	ctl status >/dev/null 2>&1 && break
	[ "$i" -eq 60 ] && fail "restarted sluiced did not answer within 30 s"
	sleep 0.5
done
wait_http
id2=$(xdp_id)
[ -n "$id2" ] && [ "$id2" != "$id1" ] || fail "restart did not swap the program in (ids $id1 -> $id2)"
client spread 192.0.2.10 80 60 --out "$work/restart.json" >/dev/null
[ "$(jget "$work/restart.json" 'd["ok"]')" -eq 60 ] || fail "connections failed after the restart"
# The operator's drain of be2 survives the crash: the restarted daemon
# takes it from the tables it published last.
[ "$(jget "$work/restart.json" "d['by_backend'].get('be2', 0)")" -eq 0 ] ||
	fail "be2 got new connections after the restart: its drain was lost"
ctl --json backends web >"$work/bes2.json"
st=$(jget "$work/bes2.json" '[b["state"] for b in d["result"]["backends"] if b["address"] == "203.0.113.12"][0]')
[ "$st" = drained ] || fail "be2 is $st after the restart, want drained"
echo "crash and restart: program $id1 kept forwarding, $id2 swapped in, be2 still drained"

# 4. Clean shutdown detaches and unpins.
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" -eq 0 ] || fail "sluiced exited with $rc on SIGTERM"
[ -z "$(xdp_id)" ] || fail "XDP program still attached after SIGTERM"
[ ! -e "$pins/flow_map" ] || fail "pins left in $pins"
echo "PASS"
