# shellcheck shell=bash
# bench-xdp.sh: the XDP fast path's benchmark for scripts/bench.sh, which
# sources this file; it only defines functions and never exits.
#
#   sl_bench_xdp [BUILD_DIR]   builds tests/bpf/bench_xdp if needed and
#       runs it: ns per packet under BPF_PROG_TEST_RUN for a TCP SYN to a
#       VIP (Maglev, flow-table miss), a TCP ACK hitting the flow table (one
#       flow and 1024 flows), UDP (GUE), IPv6, and non-VIP traffic passed to
#       the kernel, beside an empty XDP_PASS program and a MAC-swap XDP_TX
#       program measured in the same run. Prints the table on stdout; the
#       return status is bench_xdp's: 0, 1 when a timed packet did not take
#       its case's path (the program's counters tell), 77 without root.
#
# How: BPF_PROG_TEST_RUN with repeat > 1 does not restore the packet, so
# the fast path runs inside a wrapper program (tests/bpf/bench_xdp.bpf.c)
# that undoes the encapsulation after each run; the same wrapper around a
# no-op is timed too and its cost subtracted ("net"). The next hop is the
# static one of the tests (no bpf_fib_lookup, which BPF_PROG_TEST_RUN has
# no routes for); in sluiced the FIB lookup adds to every forwarded packet.
# The process is pinned to CPU 0; the VM clock ticks in ~10 ns steps, so
# each number is a mean over ROUNDS x REPEAT packets.
#
# Environment (defaults):
#   SL_BENCH_XDP_REPEAT=1000000   packets per timed run
#   SL_BENCH_XDP_ROUNDS=5         timed runs per case
#   SL_BENCH_XDP_FLOWS=1048576    flow-table size (flow_table.size); the
#                                 new-flow cases insert REPEAT x ROUNDS flows
#                                 into it, so a large table is cache-cold

sl_bench_xdp() {
	local build=${1:-${SLUICE_BUILD:-build}}

	if [ "$(id -u)" -ne 0 ]; then
		echo "bench xdp: needs root (BPF_PROG_TEST_RUN)" >&2
		return 77
	fi
	ninja -C "$build" tests/bpf/bench_xdp >&2 || return 1
	"$build/tests/bpf/bench_xdp" -n "${SL_BENCH_XDP_REPEAT:-1000000}" \
		-r "${SL_BENCH_XDP_ROUNDS:-5}" -f "${SL_BENCH_XDP_FLOWS:-1048576}"
}
