#!/usr/bin/env bash
# dp_errors.sh: sluice-dp's startup errors name what is wrong (suite dpdk).
#
# No ports, too few lcores, a broken config, missing hugepages: each exits 1
# with one clear line. A shared-memory file of another ABI version is not
# fatal: sluice-dp says so once and keeps running (dropping as no_table);
# nor is a table with more l2dsr backends to resolve than the neighbour
# table holds (said once, naming the config).
# Needs root and hugepages; skips (77) with the reason otherwise.
#
# usage: dp_errors.sh BUILD_DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
dp=$build/dataplane/sluice-dp

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (DPDK EAL with hugepages)"
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
[ "$free" -ge 64 ] || skip "needs 64 free 2 MiB hugepages (scripts/deps.sh --hugepages), have $free"

work=$(mktemp -d /tmp/sluice-dp-err.XXXXXX)
prefix=sl-err$$
fails=0
cleanup() {
	pkill -f -- "--file-prefix $prefix" 2>/dev/null
	rm -rf "$work" /dev/hugepages/"$prefix"* /var/run/dpdk/"$prefix"*
}
trap cleanup EXIT

# expect NAME WANT_RC REGEX -- sluice-dp args...
expect() {
	local name=$1 want=$2 re=$3 rc
	shift 4
	timeout 30 "$dp" "$@" >"$work/out" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" "$work/out"; then
		echo "ok: $name: $(grep -E -- "$re" "$work/out" | head -1)"
	else
		echo "FAIL: $name: exit $rc (want $want), output:"
		sed 's/^/    /' "$work/out" | tail -8
		fails=$((fails + 1))
	fi
	rm -rf /dev/hugepages/"$prefix"* /var/run/dpdk/"$prefix"*
}

conf=configs/lab.conf
eal=(-l 0-1 --no-pci --file-prefix "$prefix")

expect "no ports" 1 '^sluice-dp: no ports: give -a PCI or --vdev' -- \
	"${eal[@]}" -- -c "$conf" --shm "$work/shm"
expect "one lcore" 1 'need at least 2 lcores' -- \
	-l 0 --no-pci --file-prefix "$prefix" --vdev net_null0 -- -c "$conf" --shm "$work/shm"
printf 'instance = "x";\nhash_seed = "zz";\n' >"$work/bad.conf"
expect "bad config" 1 "$work/bad.conf:2: hash_seed: must be exactly 32 hex digits" -- \
	"${eal[@]}" --vdev net_null0 -- -c "$work/bad.conf" --shm "$work/shm"
expect "missing config" 1 "$work/none.conf: cannot open: No such file or directory" -- \
	"${eal[@]}" --vdev net_null0 -- -c "$work/none.conf" --shm "$work/shm"
expect "no hugepages" 1 'EAL init failed: .*are hugepages reserved\? scripts/deps.sh --hugepages' -- \
	"${eal[@]}" --huge-dir "$work/nohuge" --vdev net_null0 -- -c "$conf" --shm "$work/shm"

# Another ABI: publish a real file, then change its ABI version in place.
"$build/tests/tools/sl-publish" -c "$conf" --shm "$work/shm" >/dev/null || {
	echo "FAIL: sl-publish"; exit 1; }
/usr/bin/python3 - "$work/shm" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(8)                      # struct sl_shm_header.abi_version
    f.write(struct.pack("<I", 99))
PY
timeout -s INT 4 "$dp" "${eal[@]}" --vdev net_null0,no-rx=1 -- -c "$conf" \
	--shm "$work/shm" >"$work/out" 2>&1
rc=$?
n=$(grep -c 'ABI version 99, sluice-dp speaks 2 (upgrade both together)' "$work/out")
# timeout exits 124 whenever it had to send the signal: the clean exit is
# sluice-dp's own "exiting:" summary line.
if [ "$rc" -eq 124 ] && [ "$n" -eq 1 ] && grep -q '^sluice-dp: exiting:' "$work/out"; then
	echo "ok: ABI mismatch: reported once, kept running, clean exit on SIGINT"
else
	echo "FAIL: ABI mismatch: exit $rc, message seen $n times (want once):"
	sed 's/^/    /' "$work/out" | tail -8
	fails=$((fails + 1))
fi

# More l2dsr backends without a static MAC than the neighbour table holds:
# said once per table, naming the config, and forwarding goes on.
{
	printf '%s\n' 'instance = "nf";' \
		'hash_seed = "00112233445566778899aabbccddeeff";' \
		'dataplane = { mode = "dpdk"; interfaces = [ "n0" ];' \
		'	gateway = "198.51.100.1"; gateway_mac = "02:00:00:00:00:fe";' \
		'	local_address = "198.51.100.2"; encap_source = "198.51.100.64/26";' \
		'	flow_table = { size = 1024; }; };' \
		'vips = ( { name = "dsr"; address = "192.0.2.10"; port = 80; protocol = "tcp";' \
		'	method = "l2dsr"; healthcheck = { type = "none"; }; backends = ('
	for i in $(seq 0 299); do
		printf '\t{ address = "198.18.%d.%d"; }%s\n' $((i / 250)) $((i % 250 + 1)) \
			"$([ "$i" -lt 299 ] && echo ,)"
	done
	echo '); } );'
} >"$work/full.conf"
rm -f "$work/shm"
"$build/tests/tools/sl-publish" -c "$work/full.conf" --shm "$work/shm" >"$work/pub" 2>&1 || {
	echo "FAIL: sl-publish $work/full.conf:"; sed 's/^/    /' "$work/pub"; exit 1; }
timeout -s INT 4 "$dp" "${eal[@]}" --vdev net_null0,no-rx=1 -- -c "$work/full.conf" \
	--shm "$work/shm" >"$work/out" 2>&1
rc=$?
re="neighbour table full \(256 entries.*\): [0-9]+ more not tracked;.*Set those backends' mac in $work/full.conf"
n=$(grep -Ec "$re" "$work/out")
if [ "$rc" -eq 124 ] && [ "$n" -eq 1 ] && grep -q '^sluice-dp: exiting:' "$work/out"; then
	echo "ok: neighbour table full: $(grep -o 'neighbour table full.*tracked' "$work/out")"
else
	echo "FAIL: neighbour table full: exit $rc, message seen $n times (want once):"
	sed 's/^/    /' "$work/out" | tail -8
	fails=$((fails + 1))
fi

[ "$fails" -eq 0 ] || exit 1
echo PASS
