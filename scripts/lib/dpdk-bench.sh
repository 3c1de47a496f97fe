# shellcheck shell=bash
# dpdk-bench.sh: the testpmd side of the harness of scripts/bench.sh dpdk,
# which sources this file (and dp-bench.sh after it); it only defines
# functions and never exits. dp-bench.sh runs the testpmd baselines and
# sluice-dp and measures both over telemetry.
#
#   sl_memif_gen_start SOURCE / sl_memif_gen_stop / sl_memif_client_vdev
#       a generator process: testpmd io forwarding a pcap SOURCE (net_pcap,
#       replayed forever from memory; bench.sh uses sl-pcapgen's) into a
#       net_memif server port on
#       SL_BENCH_GEN_CPU, so a receiver (sluice-dp, or testpmd as its
#       baseline) can sit behind it on SL_BENCH_RX_CPU with
#       --vdev "$(sl_memif_client_vdev)". What the receiver sends back over
#       the memif goes to the pcap port, which frees it. Call
#       sl_memif_gen_start in the current shell, not inside $(...), so that
#       its variables (SL_MEMIF_SOCK, the pid) stay set for the others;
#       sl_memif_gen_stop prints the generator's median TX rate (Mpps).
#       SOURCE "flowgen" or "flowgen:N" runs testpmd's flowgen instead:
#       60-byte UDP frames from 198.18.0.1 to 198.18.0.2+N (N flows,
#       default 1024), which is no VIP, so only for a testpmd receiver.
#   sl_pcap_info PCAP          "PACKETS MAXLEN" of a pcap, to size pools.
#   sl_testpmd_log_mpps LOG [PORT [Rx|Tx [NONZERO]]]   the median of the
#       per-second rates testpmd printed (--stats-period 1).
#   sl_dpdk_bench_cleanup   stops what these functions started and removes
#       their hugepage files; call it from the caller's EXIT trap.
#
# Memory: net_pcap holds every packet of the file in an mbuf of testpmd's
# pool, so the pool is sized from the file (packets + 16k, data room
# rounded up from the largest frame, at least 256 B): 1M 60-byte packets
# take about 500 MB of hugepages.
#
# Environment (defaults):
#   SL_BENCH_SECONDS=5      samples per measurement
#   SL_BENCH_GEN_CPU=0      memif generator's forwarding CPU
#   SL_BENCH_RX_CPU=1       forwarding CPU of the baseline and memif receiver
#   SL_BENCH_MAIN_CPU=0     baseline's main lcore (sleeps while forwarding)
#   SL_BENCH_LOGDIR         keeps testpmd logs there (default: a temp dir)
#   SL_TESTPMD=dpdk-testpmd
#   SL_BENCH_EAL_ARGS       extra EAL arguments for every DPDK process of the
#                           harness, testpmd and sluice-dp alike (e.g.
#                           --no-huge -m 2048)
#
# CPU layout, found on a 2-CPU VM: testpmd needs a main lcore plus a
# forwarding lcore. The baseline uses -l 0-1 (main 0, forwarding 1). The two
# memif processes each map lcore 0 (main, asleep in non-interactive mode) and
# lcore 1 (forwarding) onto crossed CPUs with --lcores: the generator
# '0@RX_CPU,1@GEN_CPU', the receiver '0@GEN_CPU,1@RX_CPU', so each polling
# loop owns one CPU.

SL_BENCH_SECONDS=${SL_BENCH_SECONDS:-5}
SL_BENCH_GEN_CPU=${SL_BENCH_GEN_CPU:-0}
SL_BENCH_RX_CPU=${SL_BENCH_RX_CPU:-1}
SL_BENCH_MAIN_CPU=${SL_BENCH_MAIN_CPU:-0}
SL_TESTPMD=${SL_TESTPMD:-dpdk-testpmd}
SL_BENCH_PREFIXES=()
SL_BENCH_PIDS=()
SL_MEMIF_SOCK=
SL_MEMIF_GEN_PID=
SL_MEMIF_GEN_LOG=
SL_MEMIF_GEN_PREFIX=
SL_MEMIF_GEN_PORT=0
SL_MEMIF_GEN_SRC=

# Directory for logs and sockets of this shell.
sl__bench_dir() {
	if [ -z "${SL_BENCH_LOGDIR:-}" ]; then
		SL_BENCH_LOGDIR=$(mktemp -d /tmp/sluice-bench.XXXXXX) || return 1
	fi
	mkdir -p "$SL_BENCH_LOGDIR" && echo "$SL_BENCH_LOGDIR"
}

# A --file-prefix unique to this shell and call, remembered for cleanup.
sl__prefix() {
	local p="slb-$1-$$-${RANDOM}"
	SL_BENCH_PREFIXES+=("$p")
	echo "$p"
}

sl__prefix_cleanup() {
	[ -n "$1" ] || return 0
	rm -f /dev/hugepages/"$1"map_* /dev/hugepages/"$1"* 2>/dev/null
	rm -rf /var/run/dpdk/"$1" 2>/dev/null
	return 0
}

# Prints "PACKETS MAXLEN" of a classic pcap (either byte order); for another
# format an upper bound on the count and a full-size length.
sl_pcap_info() {
	local f=$1
	[ -r "$f" ] || { echo "dpdk-bench: $f: cannot read" >&2; return 1; }
	/usr/bin/python3 - "$f" <<'EOF' 2>/dev/null && return 0
import os, struct, sys
f = sys.argv[1]
with open(f, 'rb') as fh:
    d = fh.read()
m = d[:4]
if m in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
    e = '<'
elif m in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
    e = '>'
else:
    print(max(1, len(d) // 58), 2048)
    sys.exit(0)
off, n, mx = 24, 0, 0
unpack = struct.Struct(e + 'I').unpack_from
while off + 16 <= len(d):
    cl = unpack(d, off + 8)[0]
    off += 16 + cl
    n += 1
    mx = max(mx, cl)
print(n, mx)
EOF
	# No python: a 42-byte frame is the smallest TCP/UDP one.
	echo "$(($(stat -c %s "$f") / 58 + 1)) 2048"
}

# Median of port PORT's DIR-pps samples in LOG (first sample skipped), in
# Mpps. With NONZERO=1 idle periods are left out too (a generator's samples
# from before the receiver connected and after it left).
sl_testpmd_log_mpps() {
	local log=$1 port=${2:-0} dir=${3:-Rx} nonzero=${4:-0}
	awk -v want="$port" -v key="$dir-pps:" -v nz="$nonzero" '
		/NIC statistics for port/ { p = $6 + 0; in_blk = 1; next }
		in_blk && $1 == key { if (p == want) s[n++] = $2; }
		END {
			if (n < 2) { print "nan"; exit 1 }
			m = 0
			for (i = 1; i < n; i++) if (!nz || s[i] > 0) v[m++] = s[i]
			if (m == 0) { print "nan"; exit 1 }
			# insertion sort: a handful of samples
			for (i = 1; i < m; i++) {
				x = v[i]
				for (j = i - 1; j >= 0 && v[j] > x; j--) v[j + 1] = v[j]
				v[j + 1] = x
			}
			med = (m % 2) ? v[int(m / 2)] : (v[m / 2 - 1] + v[m / 2]) / 2
			printf "%.3f\n", med / 1e6
		}' "$log"
}

# True when testpmd's LOG shows that it forwarded in MODE (an unknown mode
# only draws a warning and testpmd falls back to io).
sl__ran_mode() {
	grep -q "^$2 packet forwarding - ports=" "$1" 2>/dev/null
}

# The vdev string a receiver uses to reach the running generator.
sl_memif_client_vdev() {
	echo "net_memif0,role=client,socket=$SL_MEMIF_SOCK,socket-abstract=no"
}

# sl_memif_gen_start [SOURCE]: generator on SL_BENCH_GEN_CPU, memif server.
sl_memif_gen_start() {
	local src=${1:-flowgen} dir flows n len ports fwd
	dir=$(sl__bench_dir) || return 1
	SL_MEMIF_GEN_PREFIX=$(sl__prefix gen)
	# One socket per generator: a stopping generator removes its socket
	# file on exit, which must not be the next generator's.
	SL_MEMIF_SOCK=$dir/memif-$SL_MEMIF_GEN_PREFIX.sock
	rm -f "$SL_MEMIF_SOCK"
	case $src in
	flowgen | flowgen:*)
		flows=${src#flowgen}
		flows=${flows#:}
		ports=()
		SL_MEMIF_GEN_PORT=0
		SL_MEMIF_GEN_SRC=flowgen${flows:+-$flows}
		fwd=(--forward-mode=flowgen --flowgen-flows="${flows:-1024}"
			--txpkts=64 --total-num-mbufs=16384)
		;;
	*)
		src=$(readlink -f "$src") || return 1
		read -r n len <<<"$(sl_pcap_info "$src")" || return 1
		ports=(--vdev "net_pcap0,rx_pcap=$src,infinite_rx=1")
		SL_MEMIF_GEN_PORT=1 # vdevs are numbered in command-line order
		SL_MEMIF_GEN_SRC=$(basename "$src" .pcap)
		fwd=(--forward-mode=io --total-num-mbufs=$((n + 16384))
			--mbuf-size=$(((len + 128 + 63) / 64 * 64 < 256 ? 256 : (len + 128 + 63) / 64 * 64)))
		;;
	esac
	SL_MEMIF_GEN_LOG=$dir/memif-gen-$SL_MEMIF_GEN_SRC.log
	# shellcheck disable=SC2086
	timeout -s INT -k 10 600 \
		"$SL_TESTPMD" --lcores "0@$SL_BENCH_RX_CPU,1@$SL_BENCH_GEN_CPU" \
		--no-pci --file-prefix "$SL_MEMIF_GEN_PREFIX" ${SL_BENCH_EAL_ARGS:-} \
		"${ports[@]}" \
		--vdev "net_memif0,role=server,socket=$SL_MEMIF_SOCK,socket-abstract=no" \
		-- "${fwd[@]}" --nb-cores=1 --stats-period 1 \
		>"$SL_MEMIF_GEN_LOG" 2>&1 &
	SL_MEMIF_GEN_PID=$!
	SL_BENCH_PIDS+=("$SL_MEMIF_GEN_PID")
	local _
	for _ in $(seq 300); do
		[ -S "$SL_MEMIF_SOCK" ] && return 0
		kill -0 "$SL_MEMIF_GEN_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "dpdk-bench: memif generator did not create $SL_MEMIF_SOCK; see $SL_MEMIF_GEN_LOG" >&2
	sl_memif_gen_stop >/dev/null
	return 1
}

# Stops the generator; prints its median TX rate on the memif port (Mpps)
# over the periods in which it sent anything.
sl_memif_gen_stop() {
	[ -n "$SL_MEMIF_GEN_PID" ] || return 0
	kill -INT "$SL_MEMIF_GEN_PID" 2>/dev/null || true
	# Callers run this in $(...), where wait cannot reap the generator:
	# poll until it has gone (timeout kills it 10 s after SIGINT at most).
	local _
	for _ in $(seq 150); do
		kill -0 "$SL_MEMIF_GEN_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$SL_MEMIF_GEN_PID" 2>/dev/null || true
	# net_memif of DPDK 22.11 unmaps a connection's rings while the other
	# side's forwarding thread may still be in its burst function: the
	# generator (the server) now and then dies of SIGSEGV once its client
	# has gone, and bash reports it. Its samples up to then are in its log.
	SL_MEMIF_GEN_PID=
	sl__prefix_cleanup "$SL_MEMIF_GEN_PREFIX"
	rm -f "$SL_MEMIF_SOCK"
	sl_testpmd_log_mpps "$SL_MEMIF_GEN_LOG" "$SL_MEMIF_GEN_PORT" Tx 1
}

sl_dpdk_bench_cleanup() {
	local pid p
	for pid in "${SL_BENCH_PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null || true
	done
	for pid in "${SL_BENCH_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	SL_BENCH_PIDS=()
	for p in "${SL_BENCH_PREFIXES[@]}"; do
		sl__prefix_cleanup "$p"
	done
	SL_BENCH_PREFIXES=()
	[ -z "$SL_MEMIF_SOCK" ] || rm -f "$SL_MEMIF_SOCK"
	return 0
}
