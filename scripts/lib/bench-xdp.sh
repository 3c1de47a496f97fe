# shellcheck shell=bash
# shellcheck disable=SC2317 # cleanup and the helpers of sl_bench_xdp_veth run from traps and by name
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
#   SL_BENCH_XDP_FLOWS=1048576    flow-table size (flow_table.size); each
#                                 new-flow case first fills it with 2 x FLOWS
#                                 flows, then inserts REPEAT x ROUNDS more,
#                                 so every timed insert evicts and a large
#                                 table is cache-cold: those rows are
#                                 printed but not judged ("n/j": one DRAM
#                                 access per new flow, through a nested page
#                                 walk, that no table design avoids)
#   SL_BENCH_XDP_SMALL=4096       then the two new-flow cases again with a
#                                 table this small (it stays in the CPU
#                                 caches), judged (bench_xdp -j): the SYN
#                                 path's own cost, the SYN target's rows;
#                                 0: skip (the SYN target goes unjudged)

sl_bench_xdp() {
	local build=${1:-${SLUICE_BUILD:-build}}

	if [ "$(id -u)" -ne 0 ]; then
		echo "bench xdp: needs root (BPF_PROG_TEST_RUN)" >&2
		return 77
	fi
	ninja -C "$build" tests/bpf/bench_xdp >&2 || return 1
	local small=${SL_BENCH_XDP_SMALL:-4096} rc
	"$build/tests/bpf/bench_xdp" -n "${SL_BENCH_XDP_REPEAT:-1000000}" \
		-r "${SL_BENCH_XDP_ROUNDS:-5}" -f "${SL_BENCH_XDP_FLOWS:-1048576}"
	rc=$?
	[ "$small" -gt 0 ] || return "$rc"
	echo
	echo "The new-flow cases again, flow table of $small entries (cache-resident: the SYN target is judged on these rows):"
	"$build/tests/bpf/bench_xdp" -n "${SL_BENCH_XDP_REPEAT:-1000000}" \
		-r "${SL_BENCH_XDP_ROUNDS:-5}" -f "$small" -c 1,7 -j || rc=$?
	return "$rc"
}

#   sl_bench_xdp_veth [BUILD_DIR]   the veth row: real packets through
#       sluiced in XDP mode on a veth, driven by an AF_XDP generator
#       (dpdk-testpmd, net_af_xdp), beside a MAC-swap XDP_TX program on the
#       same veth under the same generator in the same run. Prints a 2-row
#       table (Mpps, ratio) on stdout, or one "veth row: skipped: REASON"
#       line when the topology or the generator cannot be set up; returns 0
#       either way (it judges no target).
#
# Topology (namespaces and a veth pair of its own, all removed on exit):
#   gen ns: xg0 198.51.100.1, dpdk-testpmd on an AF_XDP socket (copy mode)
#     | veth
#   lb ns:  xl0 198.51.100.2, sluice_xdp (sluiced, native) or the baseline
#           (tests/bpf/xdp_macswap.bpf.o); route to the backend via xg0.
# The generator is dpdk-testpmd --forward-mode=txonly --txonly-multi-flow
# with the net_af_xdp vdev on xg0 (xdp-trafficgen, the first choice, does
# not load on kernels without the xdp_redirect_map_err tracepoint, and its
# UDP mode is IPv6-only). It sends 64-byte UDP/IPv4 packets to the VIP
# 198.18.0.10:4242 (ipip to 203.0.113.11). testpmd 22.11's multi-flow
# derives the source address from the destination: (dst | n << 8) + lcore
# for n = 0..255, i.e. 198.18.n.11, 256 flows; the VIP is in 198.18.0.0/15
# so that every n gives its own address (with 192.0.2.x the OR would keep
# only 128). net_af_xdp registers testpmd's mbuf pool as the UMEM, sized
# as if the objects were packed; with --no-huge the pool leaves gaps at
# every 4 KiB page, most mbufs fall outside the UMEM and their frames never
# reach the veth (tried: a few of millions did), so testpmd runs on hugepages:
# SL_BENCH_VETH_HUGEPAGES (16) 2 MiB pages are added to nr_hugepages for
# the run and taken off again on exit, testpmd is capped to them
# (--socket-limit), uses a hugetlbfs mount of its own and --in-memory (no
# files in it), 3072 mbufs (a UMEM of about 7 MiB: AF_XDP pins it, keep it
# small), --no-telemetry and a --file-prefix of its own, whose /var/run/dpdk
# directory is removed on exit.
# The LB sends the encapsulated packet back out of xl0 with XDP_TX
# (bpf_fib_lookup: the backend's route is via the generator). A veth
# delivers XDP_TX frames only to a peer with an XDP program: on xg0 that is
# net_af_xdp's own (redirect to its socket); txonly never reads its RX
# ring, so after the first few hundred frames xg0 drops them. Rates over
# SL_BENCH_VETH_SECONDS (5) after 1 s of warm-up:
#   gen Mpps: what crossed the veth from the generator (xg0's tx_packets,
#     which counts what xl0's XDP program received);
#   fwd Mpps: the LB side's forwarded packets: sluicectl --json stats
#     (the program's counters, tx) for sluice, xl0's XDP_TX count
#     (ethtool -S rx_queue_*_xdp_tx) for the baseline;
#   back Mpps: what came back into xg0's XDP program (rx_queue_*_xdp_packets);
#   cpu Mpps: fwd per CPU-second of testpmd's forwarding thread (from
#     /proc/.../schedstat) plus ksoftirqd/1: with the veth, that thread also
#     runs both XDP programs, in the softirqs of its sends. ratio = fwd
#     Mpps / the baseline's, cpu_r = cpu Mpps / the baseline's: time that
#     other processes take from the CPU cancels out of cpu_r, not of ratio.
# The notes give fwd/rx at xl0 (rx: sluice's rx_packets, or xl0's XDP
# packet count for the baseline), the program's drops, and for sluice the
# flows it saw (flow_misses since sluiced started: every flow misses once).
# Generator and both XDP programs share one CPU (the veth's NAPI runs in
# the softirq of the sending CPU), so Mpps says little in absolute terms;
# the ratios to the baseline are the numbers: they compare sluice_xdp's
# cost per packet, plus the generator's, with the MAC swap's.
sl_bench_xdp_veth() (
	set +e
	build=$(cd "${1:-${SLUICE_BUILD:-build}}" 2>/dev/null && pwd)
	secs=${SL_BENCH_VETH_SECONDS:-5}
	tag=sl-xv$$
	gns=$tag-gen lns=$tag-lb inst=xv$$ prefix=$tag
	work='' pid='' gpid='' gtask='' bpfroot='' dpdkrun='' hugedir='' hp_got=0
	hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	hp_want=${SL_BENCH_VETH_HUGEPAGES:-16}
	vip=198.18.0.10 vport=4242
	skip() { echo "veth row: skipped: $*"; exit 0; }

	cleanup() {
		[ -n "$gpid" ] && gen_stop
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
		ip netns del "$gns" 2>/dev/null
		ip netns del "$lns" 2>/dev/null
		rm -rf "/run/sluice/$inst.xdp-tables"
		[ -n "$dpdkrun" ] && rm -rf "$dpdkrun"
		[ -n "$hugedir" ] && mountpoint -q "$hugedir" && umount "$hugedir"
		# Give back exactly the pages this run added.
		[ "$hp_got" -gt 0 ] && echo $(($(cat "$hp") - hp_got)) 2>/dev/null >"$hp"
		[ -n "$bpfroot" ] && mountpoint -q "$bpfroot" && umount -l "$bpfroot"
		[ -n "$work" ] && rm -rf "$work"
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, XDP, AF_XDP)"
	[ -n "$build" ] || skip "no build directory ${1:-${SLUICE_BUILD:-build}}"
	command -v dpdk-testpmd >/dev/null || skip "dpdk-testpmd is not installed (dpdk)"
	command -v ethtool >/dev/null || skip "ethtool is not installed"
	[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs (testpmd: a main and a forwarding lcore)"
	for f in control/sluiced control/sluicectl tests/bpf/xdp_macswap.bpf.o; do
		[ -e "$build/$f" ] || ninja -C "$build" "$f" >&2 || skip "cannot build $f"
	done

	work=$(mktemp -d /tmp/sluice-xdp-veth.XXXXXX) || skip "mktemp failed"
	bpfroot=$work/bpf
	mkdir -p "$bpfroot"
	# ip netns exec gives each command a /sys without the host's bpffs.
	mount -t bpf bpf "$bpfroot" || { bpfroot=; skip "cannot mount bpffs"; }
	export SLUICE_BPF_ROOT=$bpfroot
	hp0=$(cat "$hp" 2>/dev/null) || skip "no 2 MiB hugepages ($hp)"
	echo $((hp0 + hp_want)) 2>/dev/null >"$hp"
	hp_got=$(($(cat "$hp") - hp0))
	[ "$hp_got" -ge "$hp_want" ] ||
		skip "asked the kernel for $hp_want more 2 MiB hugepages, got $hp_got"
	hugedir=$work/huge
	mkdir -p "$hugedir"
	mount -t hugetlbfs -o pagesize=2M none "$hugedir" || { hugedir=; skip "cannot mount hugetlbfs"; }
	conf=$work/veth.conf sock=$work/sluiced.sock log=$work/sluiced.log
	cat >"$conf" <<-CONF
	instance = "$inst";
	hash_seed = "00112233445566778899aabbccddeeff";
	dataplane = {
		mode = "xdp";
		xdp_mode = "native";
		interfaces = [ "xl0" ];
		local_address = "198.51.100.2";
		mtu = 1600;
		flow_table = { size = 65536; };
	};
	control = { socket = "$sock"; };
	vips = (
		{
			name = "udp4";
			address = "$vip";
			port = $vport;
			protocol = "udp";
			method = "ipip";
			healthcheck = { type = "none"; };
			backends = ( { address = "203.0.113.11"; } );
		}
	);
	CONF
	"$build/control/sluicectl" check-config "$conf" >"$work/check.log" 2>&1 ||
		skip "config does not validate: $(tr '\n' ' ' <"$work/check.log")"

	gx() { ip netns exec "$gns" "$@"; }
	lx() { ip netns exec "$lns" "$@"; }
	{ ip netns add "$gns" && ip netns add "$lns"; } || skip "cannot create namespaces"
	ip link add xg0 netns "$gns" type veth peer name xl0 netns "$lns" ||
		skip "cannot create the veth pair"
	for n in "$gns" "$lns"; do
		ip -n "$n" link set lo up
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	ip -n "$gns" link set xg0 mtu 1600 up
	ip -n "$lns" link set xl0 mtu 1600 up
	ip -n "$gns" addr add 198.51.100.1/24 dev xg0
	ip -n "$lns" addr add 198.51.100.2/24 dev xl0
	lmac=$(lx cat /sys/class/net/xl0/address)
	gmac=$(gx cat /sys/class/net/xg0/address)
	# The backend is behind the generator; a static neighbour, since the
	# generator side answers no ARP while its XDP program holds xg0.
	ip -n "$lns" route add 203.0.113.0/24 via 198.51.100.1 dev xl0
	ip -n "$lns" neigh replace 198.51.100.1 lladdr "$gmac" dev xl0 nud permanent

	# qsum NSFN DEV NAME...: sums of ethtool -S's per-queue counters NAME...
	# (rx_queue_*_NAME) from one read, space-separated.
	qsum() {
		local ns=$1 dev=$2
		shift 2
		"$ns" ethtool -S "$dev" 2>/dev/null | awk -v keys="$*" '
			{ sub(":", "", $1); n = $1; sub(/^rx_queue_[0-9]+_/, "", n); s[n] += $2 }
			END { k = split(keys, a, " "); for (i = 1; i <= k; i++) printf "%d%s", s[a[i]], (i < k ? " " : "\n") }'
	}
	txp() { "$1" cat "/sys/class/net/$2/statistics/$3"; }
	# sluice_stats KEY...: the values of sluicectl --json stats' top-level
	# counters, space-separated.
	sluice_stats() {
		"$build/control/sluicectl" -s "$sock" --json stats 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)["result"]
print(" ".join(str(int(d[k])) for k in sys.argv[1:]))' "$@" 2>/dev/null
	}

	# gen_start NAME: dpdk-testpmd in the background, returns once its
	# packets cross the veth; gen_stop. SIGINT makes testpmd stop its
	# port (which detaches its XDP program) and print its totals.
	dpdkrun=/var/run/dpdk/$prefix
	gen_start() {
		local g0 i
		g0=$(txp gx xg0 tx_packets)
		ip netns exec "$gns" timeout -s INT -k 5 $((secs + 30)) \
			dpdk-testpmd --no-pci --in-memory --huge-dir="$hugedir" \
			--socket-limit=$((hp_want * 2)) --no-telemetry --file-prefix="$prefix" -l 0-1 \
			--vdev "net_af_xdp0,iface=xg0,start_queue=0,queue_count=1" -- \
			--forward-mode=txonly --txonly-multi-flow \
			--tx-ip="198.18.0.1,$vip" --tx-udp="1000,$vport" --eth-peer="0,$lmac" \
			--total-num-mbufs=3072 --rxd=256 --txd=256 --stats-period=1 \
			>"$work/gen-$1.log" 2>&1 </dev/null &
		gpid=$!
		for i in $(seq 1 100); do
			if ! kill -0 "$gpid" 2>/dev/null; then
				wait "$gpid"
				i=$?
				gpid=
				skip "dpdk-testpmd (net_af_xdp on xg0) exited ($i):" \
					"$(grep -v -e '^$' -e '^EAL: Detected' "$work/gen-$1.log" | tail -3 | tr '\n' ' ')"
			fi
			if [ "$(txp gx xg0 tx_packets)" -gt $((g0 + 10000)) ]; then
				gtask=$(grep -l worker /proc/"$(pgrep -P "$gpid")"/task/*/comm 2>/dev/null | head -1)
				gtask=${gtask%/comm}
				return 0
			fi
			sleep 0.1
		done
		skip "dpdk-testpmd (net_af_xdp on xg0) sent nothing within 10 s:" \
			"$(grep -v '^$' "$work/gen-$1.log" | tail -3 | tr '\n' ' ')"
	}
	gen_stop() {
		local kids
		kids=$(pgrep -P "$gpid")	# testpmd, the child of timeout
		kill -INT "$gpid" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.1; done
		# shellcheck disable=SC2086 # a list of pids
		kill -0 "$gpid" 2>/dev/null && kill -KILL $kids "$gpid" 2>/dev/null
		wait "$gpid" 2>/dev/null
		gpid=
	}
	# cpu_ns: ns on a CPU so far of testpmd's forwarding thread, which runs
	# the veths' NAPI (both XDP programs) in its softirqs, plus ksoftirqd on
	# its CPU (1), where softirqs go when they pile up; "" if unknown.
	ksoft=$(pgrep -x ksoftirqd/1 | head -1)
	cpu_ns() {
		local a b
		[ -n "$gtask" ] && read -r a _ 2>/dev/null <"$gtask/schedstat" || return 0
		b=0
		[ -n "$ksoft" ] && read -r b _ <"/proc/$ksoft/schedstat"
		echo $((a + b))
	}
	# measure NAME LB_FN: sets m_gen m_fwd m_back m_cpu (Mpps; m_cpu: fwd
	# per CPU-second of cpu_ns, "-" if unknown) and m_rx m_fx m_drop
	# (packets): LB_FN prints "FORWARDED RECEIVED DROPPED" counts of the
	# LB's program. Not in a $(...): skip must end the function.
	measure() {
		local g0 f0 r0 x0 b0 c0 t0 g1 f1 r1 x1 b1 c1 t1
		gen_start "$1"
		sleep 1
		c0=$(cpu_ns); g0=$(txp gx xg0 tx_packets); read -r f0 r0 x0 <<<"$($2)"
		b0=$(qsum gx xg0 xdp_packets); t0=$(date +%s.%N)
		sleep "$secs"
		c1=$(cpu_ns); g1=$(txp gx xg0 tx_packets); read -r f1 r1 x1 <<<"$($2)"
		b1=$(qsum gx xg0 xdp_packets); t1=$(date +%s.%N)
		gen_stop
		m_fx=$((f1 - f0)) m_rx=$((r1 - r0)) m_drop=$((x1 - x0))
		read -r m_gen m_fwd m_back m_cpu <<<"$(awk -v g="$((g1 - g0))" -v f="$m_fx" \
			-v b="$((b1 - b0))" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" 'BEGIN {
			t = t1 - t0; c = (c0 != "" && c1 != "" ? (c1 - c0) / 1e9 : 0)
			printf "%.3f %.3f %.3f %s\n", g / t / 1e6, f / t / 1e6, b / t / 1e6,
				(c > 0 ? sprintf("%.3f", f / c / 1e6) : "-") }')"
	}
	# fwd_note: "fwd/rx R, N dropped" for the last measure.
	fwd_note() {
		awk -v f="$m_fx" -v r="$m_rx" -v d="$m_drop" \
			'BEGIN { printf "fwd/rx %.4f, %d dropped", (r > 0 ? f / r : 0), d }'
	}

	# Baseline: MAC swap on xl0.
	lx ip link set dev xl0 xdpdrv obj "$build/tests/bpf/xdp_macswap.bpf.o" sec xdp ||
		skip "cannot attach the MAC-swap program in native mode on the LB's veth"
	base_lb() { qsum lx xl0 xdp_tx xdp_packets xdp_drops; }
	measure macswap base_lb
	bg=$m_gen bf=$m_fwd bb=$m_back bc=$m_cpu bnote=$(fwd_note)
	lx ip link set dev xl0 xdp off

	# sluiced in XDP mode on xl0.
	ip netns exec "$lns" "$build/control/sluiced" -c "$conf" -f >"$log" 2>&1 &
	pid=$!
	for i in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || { pid=; skip "sluiced exited: $(tail -3 "$log" | tr '\n' ' ')"; }
		[ -n "$(sluice_stats tx_packets 2>/dev/null)" ] && lx ip -d link show xl0 | grep -q 'prog/xdp' && break
		[ "$i" -eq 40 ] && skip "sluiced did not attach within 20 s: $(tail -3 "$log" | tr '\n' ' ')"
		sleep 0.5
	done
	sl_lb() { sluice_stats tx_packets rx_packets drops_total; }
	measure sluice sl_lb
	kill -0 "$pid" 2>/dev/null || { pid=; skip "sluiced exited during the run: $(tail -3 "$log" | tr '\n' ' ')"; }
	sg=$m_gen sf=$m_fwd sb=$m_back sc=$m_cpu snote=$(fwd_note)
	flows=$(sluice_stats flow_misses)
	# Name the drop reasons when the program did not forward what it got.
	if [ "$m_rx" -eq 0 ] || [ $((m_fx * 100)) -lt $((m_rx * 99)) ]; then
		snote="$snote, NOT ALL FORWARDED, drops since start: $("$build/control/sluicectl" -s "$sock" --json stats 2>/dev/null |
			/usr/bin/python3 -c 'import json, sys
d = json.load(sys.stdin)["result"]["drops"]
print(" ".join("%s=%d" % kv for kv in d.items() if kv[1]) or "no drop reason counted (passed to the kernel?)")')"
	fi

	fmt='%-22s %9s %9s %9s %9s %6s %6s %s\n'
	# shellcheck disable=SC2059
	printf "$fmt" "veth row (AF_XDP gen)" gen_Mpps fwd_Mpps back_Mpps cpu_Mpps ratio cpu_r notes
	bcr=1.00
	[ "$bc" = - ] && bcr=-
	# shellcheck disable=SC2059
	printf "$fmt" xdp-macswap-veth "$bg" "$bf" "$bb" "$bc" 1.00 "$bcr" "XDP_TX MAC swap on xl0 (baseline); $bnote"
	ratio=$(awk -v a="$sf" -v b="$bf" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	cratio=$(awk -v a="$sc" -v b="$bc" 'BEGIN { print (a == "-" || b == "-" || b <= 0 ? "-" : sprintf("%.2f", a / b)) }')
	# shellcheck disable=SC2059
	printf "$fmt" sluice-xdp-veth-udp4 "$sg" "$sf" "$sb" "$sc" "$ratio" "$cratio" \
		"sluiced native XDP, UDP/IPv4 -> ipip, ${flows:-?} flows; fwd = sluicectl stats tx_packets; $snote"
	echo "gen = xg0 tx (dpdk-testpmd txonly on net_af_xdp, 64-byte UDP to $vip:$vport), fwd = forwarded by the LB's veth program," \
		"back = returned into xg0's XDP program; cpu_Mpps = fwd per CPU-second of the generator's thread (+ ksoftirqd/1)," \
		"which runs both XDP programs too; cpu_r = its ratio (time taken by other processes cancels out); ${secs} s each, $(nproc) CPUs"
)
