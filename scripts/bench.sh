#!/usr/bin/env bash
# bench.sh: install what is missing, build (release), and run a benchmark.
#   scripts/bench.sh [maglev|dpdk|xdp|control|all]    default: all
# Each section prints a table and exits non-zero when a target is missed.
# Tables are also saved under $build/bench/<section>.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: scripts/bench.sh [maglev|dpdk|xdp|control|all]" >&2
	exit 2
}

section=${1:-all}
case "$section" in
maglev | dpdk | xdp | control | all) ;;
-h | --help) usage ;;
*) usage ;;
esac

if [ "$(id -u)" -eq 0 ]; then
	scripts/deps.sh
else
	scripts/deps.sh || true
fi

build=${SLUICE_BUILD:-build}
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" --buildtype=release >/dev/null
fi
ninja -C "$build" >/dev/null || { ninja -C "$build" -j1; exit 1; }
mkdir -p "$build/bench"

# Table build time and quality: N backends x M slots (control/bench_maglev.c).
bench_maglev() {
	echo "== maglev"
	"$build/control/sluice-bench-maglev" | tee "$build/bench/maglev.txt"
}

bench_dpdk() {
	echo "== dpdk: not implemented yet" >&2
	return 1
}

bench_xdp() {
	echo "== xdp: not implemented yet" >&2
	return 1
}

bench_control() {
	echo "== control: not implemented yet" >&2
	return 1
}

rc=0
if [ "$section" = all ]; then
	for s in maglev dpdk xdp control; do
		"bench_$s" || rc=1
	done
else
	"bench_$section" || rc=1
fi
exit $rc
