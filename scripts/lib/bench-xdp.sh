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

#   sl_bench_xdp_veth [BUILD_DIR]   the veth row: real packets through
#       sluiced in XDP mode on a veth, driven by xdp-trafficgen, beside a
#       MAC-swap XDP_TX program on the same veth under the same generator in
#       the same run. Prints a 2-row table (Mpps, ratio) on stdout, or one
#       "veth row: skipped: REASON" line when the topology or the generator
#       cannot be set up; returns 0 either way (it judges no target).
#
# Topology (namespaces and a veth pair of its own, all removed on exit):
#   gen ns: xg0 2001:db8:f0::1, XDP_DROP (tests/bpf/xdp_drop.bpf.o)
#     | veth
#   lb ns:  xl0 2001:db8:f0::2, sluice_xdp (sluiced, native) or the baseline
#           (tests/bpf/xdp_macswap.bpf.o); route to the backend via xg0.
# xdp-trafficgen udp in the gen ns sends 64-byte UDP/IPv6 packets to the
# VIP 2001:db8:f1::10 (port-agnostic UDP, ipip to 2001:db8:f2::11, i.e.
# IPv6-in-IPv6), varying the destination port over SL_BENCH_VETH_PORTS
# (1024) ports, i.e. that many flows. The LB sends the encapsulated packet
# back out of xl0 with XDP_TX (bpf_fib_lookup: the backend's route is via
# the generator), where xg0's XDP_DROP frees it (a veth delivers XDP_TX
# frames only to a peer with an XDP program). Rates over
# SL_BENCH_VETH_SECONDS (5) after 1 s of warm-up:
#   gen Mpps: the generator's own count (xg0's tx_packets, which is what
#     xdp-trafficgen sends through the veth);
#   fwd Mpps: the LB side's forwarded packets: sluicectl --json stats
#     (the program's counters, tx) for sluice, xl0's XDP_TX count
#     (ethtool -S rx_queue_*_xdp_tx) for the baseline; both checked
#     against xg0's XDP_DROP count (what came back).
# On a 2-vCPU VM generator and forwarder share the CPUs, so Mpps says
# little in absolute terms; the ratio to the baseline is the number.
sl_bench_xdp_veth() (
	set +e
	build=$(cd "${1:-${SLUICE_BUILD:-build}}" 2>/dev/null && pwd)
	secs=${SL_BENCH_VETH_SECONDS:-5}
	ports=${SL_BENCH_VETH_PORTS:-1024}
	tag=sl-xv$$
	gns=$tag-gen lns=$tag-lb inst=xv$$
	work='' pid='' gpid='' bpfroot=''
	skip() { echo "veth row: skipped: $*"; exit 0; }

	cleanup() {
		[ -n "$gpid" ] && kill -INT "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
		ip netns del "$gns" 2>/dev/null
		ip netns del "$lns" 2>/dev/null
		rm -rf "/run/sluice/$inst.xdp-tables"
		[ -n "$bpfroot" ] && mountpoint -q "$bpfroot" && umount -l "$bpfroot"
		[ -n "$work" ] && rm -rf "$work"
	}
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, XDP)"
	[ -n "$build" ] || skip "no build directory ${1:-${SLUICE_BUILD:-build}}"
	command -v xdp-trafficgen >/dev/null || skip "xdp-trafficgen is not installed (xdp-tools)"
	command -v ethtool >/dev/null || skip "ethtool is not installed"
	for f in control/sluiced control/sluicectl tests/bpf/xdp_drop.bpf.o tests/bpf/xdp_macswap.bpf.o; do
		[ -e "$build/$f" ] || ninja -C "$build" "$f" >&2 || skip "cannot build $f"
	done

	work=$(mktemp -d /tmp/sluice-xdp-veth.XXXXXX) || skip "mktemp failed"
	bpfroot=$work/bpf
	mkdir -p "$bpfroot"
	# ip netns exec gives each command a /sys without the host's bpffs.
	mount -t bpf bpf "$bpfroot" || { bpfroot=; skip "cannot mount bpffs"; }
	export SLUICE_BPF_ROOT=$bpfroot
	conf=$work/veth.conf sock=$work/sluiced.sock log=$work/sluiced.log
	cat >"$conf" <<-CONF
	instance = "$inst";
	hash_seed = "00112233445566778899aabbccddeeff";
	dataplane = {
		mode = "xdp";
		xdp_mode = "native";
		interfaces = [ "xl0" ];
		local_address6 = "2001:db8:f0::2";
		mtu = 1600;
		flow_table = { size = 65536; };
	};
	control = { socket = "$sock"; };
	vips = (
		{
			name = "udp6";
			address = "2001:db8:f1::10";
			port = 0;
			protocol = "udp";
			method = "ipip";
			healthcheck = { type = "none"; };
			backends = ( { address = "2001:db8:f2::11"; } );
		}
	);
	CONF
	"$build/control/sluicectl" check-config "$conf" >"$work/check.log" 2>&1 ||
		skip "config does not validate: $(tr '\n' ' ' <"$work/check.log")"

	gx() { ip netns exec "$gns" "$@"; }
	lx() { ip netns exec "$lns" "$@"; }
	ip netns add "$gns" && ip netns add "$lns" || skip "cannot create namespaces"
	ip link add xg0 netns "$gns" type veth peer name xl0 netns "$lns" ||
		skip "cannot create the veth pair"
	for n in "$gns" "$lns"; do
		ip -n "$n" link set lo up
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	ip -n "$gns" link set xg0 mtu 1600 up
	ip -n "$lns" link set xl0 mtu 1600 up
	ip -n "$gns" addr add 2001:db8:f0::1/64 dev xg0 nodad
	ip -n "$lns" addr add 2001:db8:f0::2/64 dev xl0 nodad
	lmac=$(lx cat /sys/class/net/xl0/address)
	gmac=$(gx cat /sys/class/net/xg0/address)
	# The backend is behind the generator; a static neighbour, since the
	# generator side drops everything (NDP included) in XDP.
	ip -n "$lns" -6 route add 2001:db8:f2::/64 via 2001:db8:f0::1 dev xl0
	ip -n "$lns" -6 neigh replace 2001:db8:f0::1 lladdr "$gmac" dev xl0 nud permanent
	gx ip link set dev xg0 xdpdrv obj "$build/tests/bpf/xdp_drop.bpf.o" sec xdp ||
		skip "cannot attach XDP_DROP in native mode on the generator's veth"

	# ethtool -S sum of the per-queue counters named NAME.
	qsum() { "$1" ethtool -S "$2" 2>/dev/null | awk -v k="$3" \
		'{ sub(":", "", $1); n = $1; sub(/^rx_queue_[0-9]+_/, "", n) } n == k { s += $2 } END { print s + 0 }'; }
	txp() { "$1" cat "/sys/class/net/$2/statistics/tx_packets"; }
	sluice_tx() {
		"$build/control/sluicectl" -s "$sock" --json stats 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)["result"]
def walk(o, k):
    if isinstance(o, dict):
        for a, b in o.items():
            if a == k and isinstance(b, (int, float)): yield b
            else: yield from walk(b, k)
    elif isinstance(o, list):
        for b in o: yield from walk(b, k)
print(sum(walk(d, sys.argv[1])))' "$1"
	}

	# gen_start: xdp-trafficgen in the background; gen_stop.
	gen_start() {
		ip netns exec "$gns" timeout $((secs + 30)) xdp-trafficgen udp \
			-m "$lmac" -M "$gmac" -a 2001:db8:f1::10 -A 2001:db8:f0::1 \
			-p 1000 -P 4242 -d "$ports" -t 1 -I 1 xg0 >"$work/gen-$1.log" 2>&1 &
		gpid=$!
		sleep 1.5
		kill -0 "$gpid" 2>/dev/null || {
			wait "$gpid"; local rc=$?; gpid=
			if grep -q "find kernel BTF type ID of 'xdp_redirect_map_err'" "$work/gen-$1.log"; then
				skip "xdp-trafficgen $(xdp-trafficgen udp --version 2>/dev/null | sed -n 's/^xdp-trafficgen version \([0-9.]*\).*/\1/p') cannot load on kernel $(uname -r):" \
					"its BPF object has a tp_btf program on the tracepoint xdp_redirect_map_err, which this kernel" \
					"no longer has (only xdp_redirect/xdp_redirect_err); libbpf fails with ESRCH before sending"
			fi
			skip "xdp-trafficgen exited ($rc): $(grep -v '^$' "$work/gen-$1.log" | tail -3 | tr '\n' ' ')"
		}
	}
	gen_stop() {
		kill -INT "$gpid" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$gpid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$gpid" 2>/dev/null
		wait "$gpid" 2>/dev/null
		gpid=
	}
	# measure NAME FWD_FN: sets m_gen m_fwd m_back (Mpps). Not in a $(...):
	# skip must end the function.
	measure() {
		local g0 f0 d0 t0 g1 f1 d1 t1
		gen_start "$1"
		g0=$(txp gx xg0); f0=$($2); d0=$(qsum gx xg0 xdp_drops); t0=$(date +%s.%N)
		sleep "$secs"
		g1=$(txp gx xg0); f1=$($2); d1=$(qsum gx xg0 xdp_drops); t1=$(date +%s.%N)
		gen_stop
		read -r m_gen m_fwd m_back <<<"$(awk -v g="$((g1 - g0))" -v f="$((f1 - f0))" \
			-v d="$((d1 - d0))" -v t0="$t0" -v t1="$t1" 'BEGIN { t = t1 - t0;
			printf "%.3f %.3f %.3f\n", g / t / 1e6, f / t / 1e6, d / t / 1e6 }')"
	}

	# Baseline: MAC swap on xl0.
	lx ip link set dev xl0 xdpdrv obj "$build/tests/bpf/xdp_macswap.bpf.o" sec xdp ||
		skip "cannot attach the MAC-swap program in native mode on the LB's veth"
	base_fwd() { qsum lx xl0 xdp_tx; }
	measure macswap base_fwd
	bg=$m_gen bf=$m_fwd bd=$m_back
	lx ip link set dev xl0 xdp off

	# sluiced in XDP mode on xl0.
	ip netns exec "$lns" "$build/control/sluiced" -c "$conf" -f >"$log" 2>&1 &
	pid=$!
	for i in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || { pid=; skip "sluiced exited: $(tail -3 "$log" | tr '\n' ' ')"; }
		[ "$(sluice_tx tx_packets 2>/dev/null)" != "" ] && lx ip -d link show xl0 | grep -q 'prog/xdp' && break
		[ "$i" -eq 40 ] && skip "sluiced did not attach within 20 s: $(tail -3 "$log" | tr '\n' ' ')"
		sleep 0.5
	done
	sl_fwd() { sluice_tx tx_packets; }
	measure sluice sl_fwd
	sg=$m_gen sf=$m_fwd sd=$m_back

	fmt='%-22s %9s %9s %9s %6s %s\n'
	# shellcheck disable=SC2059
	printf "$fmt" "veth row ($ports flows)" gen_Mpps fwd_Mpps back_Mpps ratio notes
	# shellcheck disable=SC2059
	printf "$fmt" xdp-macswap-veth "$bg" "$bf" "$bd" 1.00 "XDP_TX MAC swap on xl0 (baseline)"
	ratio=$(awk -v a="$sf" -v b="$bf" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	# shellcheck disable=SC2059
	printf "$fmt" sluice-xdp-veth-udp6 "$sg" "$sf" "$sd" "$ratio" \
		"sluiced native XDP, UDP/IPv6 -> ip6ip6; fwd = sluicectl stats tx_packets"
	echo "gen = xg0 tx, fwd = forwarded by the LB's veth program, back = XDP_DROPped on xg0; ${secs} s each, $(nproc) CPUs shared by generator and forwarder"
)
