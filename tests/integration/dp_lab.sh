#!/usr/bin/env bash
# dp_lab.sh: sluice-dp end to end in the namespace lab (suite integration).
#
# A client, a router, the LB (sluice-dp on net_af_packet over a veth) and
# three backends with the decap program and nginx. Checks:
#   1. hundreds of real TCP connections complete, spread across backends;
#   2. after a backend is marked down in a newly published table, it gets no
#      new flows, and established connections to the other backends, which
#      exchange data throughout, carry on.
# Needs root and hugepages; skips (77) with the reason otherwise.
#
# usage: dp_lab.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
build=$(cd "${1:-build}" && pwd)

skip() { echo "SKIP: $*"; exit 77; }
fail() {
	echo "FAIL: $*"
	# Stop sluice-dp first so its exit line (counters by drop reason) is in the log.
	[ -n "${dp_pid:-}" ] && kill -TERM "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
	dp_pid=
	[ -f "${log:-}" ] && { echo "--- sluice-dp log"; grep -v '^EAL: ' "$log" | tail -20; }
	exit 1
}
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, AF_PACKET)"
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
[ "$free" -ge 64 ] || skip "needs 64 free 2 MiB hugepages (scripts/deps.sh --hugepages), have $free"
mountpoint -q /dev/hugepages || skip "hugetlbfs not mounted on /dev/hugepages"

export SLUICE_LAB=sl-it$$
export SLUICE_DECAP=$build/bpf/sluice-decap
export SLUICE_LAB_RUN=/run/sluice/$SLUICE_LAB
shm=/dev/shm/sluice-$SLUICE_LAB
work=$(mktemp -d /tmp/sluice-dp-lab.XXXXXX)
log=$work/sluice-dp.log
prefix=$SLUICE_LAB
dp_pid=

cleanup() {
	set +e
	[ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
	scripts/lab.sh down >/dev/null 2>&1
	rm -f "$shm" /dev/hugepages/"$prefix"*
	rm -rf /var/run/dpdk/"$prefix" "$work"
}
trap cleanup EXIT

client() { ip netns exec "$SLUICE_LAB-client" timeout 120 /usr/bin/python3 \
	tests/integration/tcp_client.py "$@"; }
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

scripts/lab.sh up >/dev/null

"$build/tests/tools/sl-publish" -c configs/lab.conf --shm "$shm" >/dev/null ||
	fail "sl-publish could not publish configs/lab.conf"

ip netns exec "$SLUICE_LAB-lb" timeout 300 "$build/dataplane/sluice-dp" \
	-l 0-1 --no-pci --file-prefix "$prefix" \
	--vdev net_af_packet0,iface=lb0 -- -c configs/lab.conf --shm "$shm" \
	>"$log" 2>&1 &
dp_pid=$!

# The first connection also waits for sluice-dp to come up and resolve the
# router's MAC; bounded at 30 s.
for i in $(seq 1 60); do
	kill -0 "$dp_pid" 2>/dev/null || fail "sluice-dp exited early"
	if ip netns exec "$SLUICE_LAB-client" timeout 2 \
		curl -s -o /dev/null http://192.0.2.10/ 2>/dev/null; then
		break
	fi
	[ "$i" -eq 60 ] && fail "no HTTP answer through the VIP within 30 s"
	sleep 0.5
done

# 1. Spread: 300 sequential connections, every one must complete.
client spread 192.0.2.10 80 300 --out "$work/spread.json" >/dev/null
ok=$(jget "$work/spread.json" 'd["ok"]')
echo "spread over 3 equal backends: $(jget "$work/spread.json" 'd["by_backend"]')"
[ "$ok" -eq 300 ] || fail "only $ok of 300 connections completed: $(jget "$work/spread.json" 'd["errors"]')"
for be in be1 be2 be3; do
	n=$(jget "$work/spread.json" "d['by_backend'].get('$be', 0)")
	# Expected 100 each; 300 flows over 3 equal backends stay well inside 50..150.
	[ "$n" -ge 50 ] && [ "$n" -le 150 ] || fail "$be got $n of 300 connections (expected about 100)"
done

# 2. Long-lived connections exchanging data while be2 is marked down.
client hold 192.0.2.10 80 24 8 --out "$work/hold.json" >/dev/null &
hold_pid=$!
sleep 2
"$build/tests/tools/sl-publish" -c configs/lab.conf --shm "$shm" \
	--down 203.0.113.12 >/dev/null || fail "republish with be2 down failed"
client spread 192.0.2.10 80 150 --out "$work/after.json" >/dev/null
wait "$hold_pid" || fail "hold client failed"

ok=$(jget "$work/after.json" 'd["ok"]')
be2=$(jget "$work/after.json" "d['by_backend'].get('be2', 0)")
echo "after be2 down: $(jget "$work/after.json" 'd["by_backend"]')"
[ "$ok" -eq 150 ] || fail "only $ok of 150 connections completed after be2 went down"
[ "$be2" -eq 0 ] || fail "be2 is down but got $be2 new connections"

survivors=$(jget "$work/hold.json" 'sum(1 for c in d["conns"] if c["backend"] != "be2" and c["failed_at"] is None)')
others=$(jget "$work/hold.json" 'sum(1 for c in d["conns"] if c["backend"] != "be2")')
moved=$(jget "$work/hold.json" 'sum(1 for c in d["conns"] if c["backend"] == "be2" and c["failed_at"] is not None)')
on_be2=$(jget "$work/hold.json" 'sum(1 for c in d["conns"] if c["backend"] == "be2")')
echo "long-lived connections to healthy backends that carried on: $survivors of $others"
# A down backend's flows are re-picked: their connections land on another
# backend, which resets them.
echo "long-lived connections to be2 re-picked (reset): $moved of $on_be2"
[ "$moved" -eq "$on_be2" ] || fail "flows of the down backend were not re-picked"
[ "$others" -gt 0 ] || fail "no long-lived connection landed on be1/be3"
[ "$survivors" -eq "$others" ] ||
	fail "established connections to healthy backends broke: $(jget "$work/hold.json" '[c for c in d["conns"] if c["failed_at"] is not None]')"

# Clean shutdown on SIGTERM.
kill -TERM "$dp_pid"
rc=0
wait "$dp_pid" || rc=$?
dp_pid=
[ "$rc" -eq 0 ] || fail "sluice-dp exited with $rc on SIGTERM"
grep -q . "$log" || fail "sluice-dp logged nothing"
echo "sluice-dp: $(tail -1 "$log")"
echo "PASS"
