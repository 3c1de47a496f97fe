#!/usr/bin/env bash
# dp_pcap.sh: sluice-dp end to end over net_pcap files (suite dpdk).
#
# A generated pcap (tests/dpdk/dp_pcap.py gen: ~2300 frames of TCP, UDP and
# IPv6 flows to the VIPs of tests/fixtures/pcap.conf, traffic that must be
# dropped for each reason, ARP and ICMP echo to be answered, too-big
# packets) goes through sluice-dp once (net_pcap rx_pcap, one worker), and
# its tx_pcap must:
#   1. equal sl-fpsim's prediction for the same config and input, frame for
#      frame (the DPDK shell around the fast path adds and loses nothing);
#   2. decode, independently, as the generator expects: encapsulation,
#      outer headers, inner packet byte for byte, one backend per flow,
#      spread by weight;
#   3. match in counters: sluice-dp's exit line = sl-fpsim's drop lines =
#      the generator's expected drops by reason;
# and the same again with backend 203.0.113.3 marked down (no frame to it,
# the other flows stay where they were).
# Needs root and hugepages; skips (77) with the reason otherwise.
#
# usage: dp_pcap.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
conf=tests/fixtures/pcap.conf
py="timeout 120 /usr/bin/python3 tests/dpdk/dp_pcap.py"

skip() { echo "SKIP: $*"; exit 77; }
fail() {
	echo "FAIL: $*"
	stop_dp
	[ -f "${log:-}" ] && { echo "--- sluice-dp log"; grep -v '^EAL: ' "$log" | tail -20; }
	exit 1
}
[ "$(id -u)" -eq 0 ] || skip "needs root (hugepages, DPDK runtime directory)"
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
[ "$free" -ge 64 ] || skip "needs 64 free 2 MiB hugepages (scripts/deps.sh --hugepages), have $free"
mountpoint -q /dev/hugepages || skip "hugetlbfs not mounted on /dev/hugepages"
/usr/bin/python3 -c 'import scapy' 2>/dev/null ||
	skip "needs scapy for /usr/bin/python3 (scripts/deps.sh)"

prefix=sl-pcap$$
work=$(mktemp -d /tmp/sluice-dp-pcap.XXXXXX)
log=
dp_pid=

stop_dp() {
	if [ -n "${dp_pid:-}" ]; then
		kill -INT "$dp_pid" 2>/dev/null
		wait "$dp_pid" 2>/dev/null || true
		dp_pid=
	fi
}
cleanup() {
	set +e
	stop_dp
	# A helper still running in the foreground when a signal ended us.
	pkill -TERM -P $$ 2>/dev/null
	rm -f /dev/hugepages/"$prefix"*
	rm -rf /var/run/dpdk/"$prefix" "$work"
}
trap cleanup EXIT

in=$work/in.pcap
$py gen "$in" "$work/meta.json" || fail "generator failed"
n_in=$($py count "$in")

# run_round NAME [--down ADDR]...: one pass of the input through sluice-dp.
run_round() {
	local name=$1 shm=$work/$1.shm out=$work/$1.out.pcap
	local pred=$work/$1.pred.pcap mac rc=0
	shift
	log=$work/$name.log

	# Publish first: sluice-dp attaches before its worker starts polling,
	# so no frame meets an empty table.
	"$build/tests/tools/sl-publish" -c "$conf" --shm "$shm" "$@" >/dev/null ||
		fail "$name: sl-publish failed"
	timeout 120 "$build/dataplane/sluice-dp" -l 0-1 --no-pci \
		--file-prefix "$prefix" --vdev "net_pcap0,rx_pcap=$in,tx_pcap=$out" \
		-- -c "$conf" --shm "$shm" >"$log" 2>&1 &
	dp_pid=$!
	$py wait "/var/run/dpdk/$prefix/dpdk_telemetry.v2" "$n_in" "$out" 60 \
		>"$work/$name.stats" || fail "$name: $(cat "$work/$name.stats")"
	kill -0 "$dp_pid" 2>/dev/null || fail "$name: sluice-dp exited early"
	kill -INT "$dp_pid"
	wait "$dp_pid" || rc=$?
	dp_pid=
	[ "$rc" -eq 0 ] || fail "$name: sluice-dp exited with $rc on SIGINT"
	grep -q "shared memory .*: attached" "$log" ||
		fail "$name: sluice-dp did not attach $shm"

	mac=$(sed -n 's/.*port 0 (net_pcap0):.* mac \([0-9a-f:]\{17\}\),.*/\1/p' "$log")
	[ -n "$mac" ] || fail "$name: no port MAC in the sluice-dp log"
	timeout 60 "$build/tests/tools/sl-fpsim" -c "$conf" -i "$in" -o "$pred" \
		--port-mac "$mac" "$@" >"$work/$name.fpsim" ||
		fail "$name: sl-fpsim failed"

	# 1. The prediction, frame for frame.
	$py same "$out" "$pred" >"$work/$name.same" ||
		fail "$name: sluice-dp's output is not sl-fpsim's prediction: $(cat "$work/$name.same")"
	# 3. Counters.
	$py counters "$log" "$work/$name.fpsim" "$work/meta.json" "$n_in" \
		>"$work/$name.counters" || fail "$name: $(cat "$work/$name.counters")"
	# 2. Independent decode.
	$py check "$in" "$work/meta.json" "$out" "$mac" "$work/$name.flows.json" \
		"$@" >"$work/$name.check" || fail "$name: $(cat "$work/$name.check")"

	echo "$name: $n_in frames in, $($py count "$out") out (port mac $mac); output = sl-fpsim prediction"
	sed 's/^/  /' "$work/$name.counters"
	echo "  backends used (flows):"
	sed 's/^/  /' "$work/$name.check"
}

run_round all-up
run_round one-down --down 203.0.113.3

# Maglev moves few flows of the backends that stayed up; the flow table is
# new in the second run, so this is the table alone.
moved=$($py moved "$work/all-up.flows.json" "$work/one-down.flows.json" \
	203.0.113.3) || fail "comparing the two rounds' flows failed"
read -r moved kept <<<"$moved"
echo "flows not on 203.0.113.3 that changed backend after it went down: $moved of $kept"
if [ "$kept" -eq 0 ] || [ $((moved * 20)) -gt "$kept" ]; then
	fail "$moved of $kept flows of healthy backends moved (at most 5% expected)"
fi
echo "PASS"
