# shellcheck shell=bash
# bench-control.sh: control-plane benchmarks for scripts/bench.sh, which
# sources this file; it only defines functions and never exits.
#
#   sl_bench_health N [INTERVAL_MS] [SECONDS]
#       N backends (default interval 1000 ms, measured over 20 s), each a
#       listening TCP socket, health-checked by one sluiced. Prints sluiced's
#       CPU use in percent of one core (utime+stime from /proc/PID/stat over
#       the measured window) alone on stdout; diagnostics, checks per second
#       and backends down on stderr.
#
# Everything runs in a network namespace of its own (sl-bench-hc-PID) whose
# loopback holds 203.0.113.1-.20 (documentation addresses), so no packet
# leaves it; needs root (ip netns). The listeners never accept: a check
# connects and resets (SO_LINGER 0), so each backlog grows by one entry per
# check, far below somaxconn over a run. Backends are spread over VIPs of
# 500, the shared memory is /dev/shm (or hugepages) sluice-benchhc; no
# dataplane is attached, so every publish goes through at once.
#
# Environment: SL_BUILD (default build) holds control/sluiced.

sl_bench_health() {
	local n=${1:?usage: sl_bench_health N [INTERVAL_MS] [SECONDS]}
	local iv=${2:-1000} secs=${3:-20}
	local build=${SL_BUILD:-build} ns="sl-bench-hc-$$"
	local dir conf lpid spid t0 t1 hz down rc=0 v i b per=500
	dir=$(mktemp -d /tmp/sl-bench-hc.XXXXXX) || return 1
	conf="$dir/bench.conf"

	if [ ! -x "$build/control/sluiced" ]; then
		echo "sl_bench_health: $build/control/sluiced not built" >&2
		return 1
	fi
	{
		echo 'instance = "benchhc";'
		echo 'hash_seed = "00112233445566778899aabbccddeeff";'
		echo 'dataplane = { mode = "dpdk"; interfaces = [ "lb0" ];'
		echo '  gateway = "198.51.100.1"; local_address = "198.51.100.2"; };'
		echo "control = { socket = \"$dir/ctl.sock\"; };"
		echo 'vips = ('
		for ((v = 0; v * per < n; v++)); do
			[ "$v" -gt 0 ] && echo ','
			echo "{ name = \"v$v\"; address = \"192.0.2.$((v + 1))\";"
			echo '  port = 80; protocol = "tcp";'
			echo "  healthcheck = { type = \"tcp\"; interval_ms = $iv; };"
			echo -n '  backends = ('
			for ((i = 0; i < per && v * per + i < n; i++)); do
				[ "$i" -gt 0 ] && echo -n ','
				echo -n "{ address = \"203.0.113.$((v + 1))\"; port = $((20000 + i)); }"
			done
			echo '); }'
		done
		echo ');'
	} >"$conf"

	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	for ((v = 0; v * per < n; v++)); do
		ip -n "$ns" addr add "203.0.113.$((v + 1))/32" dev lo
	done
	# The listeners: one process, N sockets, never accepting.
	ip netns exec "$ns" python3 -c '
import resource, socket, sys, time
n, per = int(sys.argv[1]), int(sys.argv[2])
h = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (h, h))
socks = []
for k in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("203.0.113.%d" % (k // per + 1), 20000 + k % per))
    s.listen(4096)
    socks.append(s)
print("listening", flush=True)
time.sleep(3600)
' "$n" "$per" >"$dir/listen.log" 2>&1 &
	lpid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q listening "$dir/listen.log" && break
		sleep 0.1
	done

	ip netns exec "$ns" "$build/control/sluiced" -f -c "$conf" \
		>"$dir/sluiced.log" 2>&1 &
	spid=$!
	hz=$(getconf CLK_TCK)
	sleep 3 # first checks spread over one interval, then steady state
	if ! kill -0 "$spid" 2>/dev/null; then
		echo "sl_bench_health: sluiced exited:" >&2
		cat "$dir/sluiced.log" >&2
		rc=1
	else
		t0=$(awk '{ print $14 + $15 }' "/proc/$spid/stat")
		sleep "$secs"
		t1=$(awk '{ print $14 + $15 }' "/proc/$spid/stat")
		down=$(grep -c ' down (' "$dir/sluiced.log")
		echo "sl_bench_health: $n backends, interval $iv ms:" \
			"$((n * 1000 / iv)) checks/s, $down went down," \
			"$((t1 - t0)) ticks in $secs s" >&2
		awk -v d="$((t1 - t0))" -v hz="$hz" -v s="$secs" \
			'BEGIN { printf "%.2f\n", 100 * d / hz / s }'
	fi
	kill -TERM "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	ip netns del "$ns"
	rm -f /dev/shm/sluice-benchhc /dev/hugepages/sluice-benchhc
	rm -rf "$dir"
	return "$rc"
}

# ---- failure detection, table updates (scripts/bench.sh control) ----
#
#   sl_bench_detect N KILL ROUNDS
#       N backends checked by tcp at 1 s (timeout 500 ms, rise 2, fall 3),
#       laid out as sl_bench_health's, in a namespace of their own; ROUNDS
#       times KILL listeners are closed and the time until sluiced logs
#       each "down" is measured (scripts/lib/control-bench.py detect).
#       Prints its key=value line (samples= med_ms= p90_ms= max_ms= ...).
#   sl_bench_update_conf FILE VIPS BACKENDS_PER_VIP [INSTANCE] [SOCKET]
#       a config of VIPS tcp VIPs (192.0.2.1 ..), each with its own
#       BACKENDS_PER_VIP backends (10.V.B/250.B%250+1), default Maglev M
#       (65537), healthcheck none.
#   sl_bench_update CONF [ROUNDS]
#       sluice-dp (one worker lcore, net_null0 generating packets) attached
#       to a shared memory file that tests/tools/sl-bench-publish creates
#       for CONF; prints sl-bench-publish's key=value line.
#   sl_bench_e2e CONF [ROUNDS]
#       sluiced on CONF (made with a SOCKET) and sluice-dp on its shared
#       memory; sluicectl-style drain/undrain over the control socket until
#       every lcore reports the new generation (control-bench.py e2e).
#
# sluice-dp runs with -l 0-1 (main lcore 0, worker 1, --no-pci, its own
# --file-prefix, removed afterwards) under `timeout`; needs hugepages
# (scripts/deps.sh --hugepages). Environment: SL_BUILD (default build).

sl__cb_py() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/control-bench.py" "$@"
}

sl_bench_detect() {
	local n=${1:?usage: sl_bench_detect N KILL ROUNDS} kill=${2:-50} rounds=${3:-3}
	local build=${SL_BUILD:-build} ns="sl-bench-dt-$$" per=500
	local dir conf v i out rc=0
	dir=$(mktemp -d /tmp/sl-bench-dt.XXXXXX) || return 1
	conf="$dir/detect.conf"
	{
		echo 'instance = "benchdt";'
		echo 'hash_seed = "00112233445566778899aabbccddeeff";'
		echo 'dataplane = { mode = "dpdk"; interfaces = [ "lb0" ];'
		echo '  gateway = "198.51.100.1"; local_address = "198.51.100.2"; };'
		echo "control = { socket = \"$dir/ctl.sock\"; };"
		echo 'vips = ('
		for ((v = 0; v * per < n; v++)); do
			[ "$v" -gt 0 ] && echo ','
			echo "{ name = \"v$v\"; address = \"192.0.2.$((v + 1))\";"
			echo '  port = 80; protocol = "tcp";'
			echo '  healthcheck = { type = "tcp"; interval_ms = 1000;'
			echo '    timeout_ms = 500; rise = 2; fall = 3; };'
			echo -n '  backends = ('
			for ((i = 0; i < per && v * per + i < n; i++)); do
				[ "$i" -gt 0 ] && echo -n ','
				echo -n "{ address = \"203.0.113.$((v + 1))\"; port = $((20000 + i)); }"
			done
			echo '); }'
		done
		echo ');'
	} >"$conf"
	ip netns add "$ns" || { rm -rf "$dir"; return 1; }
	ip -n "$ns" link set lo up
	for ((v = 0; v * per < n; v++)); do
		ip -n "$ns" addr add "203.0.113.$((v + 1))/32" dev lo
	done
	out=$(ip netns exec "$ns" timeout 300 python3 \
		"$(dirname "${BASH_SOURCE[0]}")/control-bench.py" detect \
		"$(readlink -f "$build/control/sluiced")" "$conf" "$n" "$per" \
		"$kill" "$rounds") || rc=1
	echo "$out"
	ip netns del "$ns"
	rm -f /dev/shm/sluice-benchdt /dev/hugepages/sluice-benchdt
	rm -rf "$dir"
	return "$rc"
}

sl_bench_update_conf() {
	local f=$1 nv=$2 nb=$3 inst=${4:-benchup} sock=${5:-}
	awk -v nv="$nv" -v nb="$nb" -v inst="$inst" -v sock="$sock" 'BEGIN {
		printf "# Generated by scripts/bench.sh control: %d VIP(s) x %d backends.\n", nv, nb
		printf "instance = \"%s\";\n", inst
		print "hash_seed = \"00112233445566778899aabbccddeeff\";"
		print "dataplane = { mode = \"dpdk\"; interfaces = [ \"bench0\" ];"
		print "  gateway = \"198.51.100.1\"; gateway_mac = \"02:00:00:00:00:fe\";"
		print "  local_address = \"198.51.100.2\"; encap_source = \"198.51.100.64/26\";"
		print "  flow_table = { size = 65536; }; };"
		if (sock != "")
			printf "control = { socket = \"%s\"; };\n", sock
		print "vips = ("
		for (v = 0; v < nv; v++) {
			printf "{ name = \"v%d\"; address = \"192.0.%d.%d\"; port = 80; protocol = \"tcp\";\n",
				v, 2 + int(v / 250), v % 250 + 1
			printf "  method = \"ipip\"; healthcheck = { type = \"none\"; };\n  backends = ("
			for (b = 0; b < nb; b++)
				printf "%s{ address = \"10.%d.%d.%d\"; }", (b ? "," : ""),
					v % 250, int(b / 250), b % 250 + 1
			printf " ); }%s\n", (v + 1 < nv ? "," : "")
		}
		print ");"
	}' >"$f"
}

# sl__cb_dp_start CONF SHM LOG: sluice-dp in the background; sets
# SL_CB_DP_PID and SL_CB_DP_PREFIX.
sl__cb_dp_start() {
	local conf=$1 shm=$2 log=$3 build=${SL_BUILD:-build}
	SL_CB_DP_PREFIX="slb-cb-$$-$RANDOM"
	timeout -s INT -k 10 600 "$build/dataplane/sluice-dp" -l 0-1 --main-lcore 0 \
		--no-pci --vdev net_null0 --file-prefix "$SL_CB_DP_PREFIX" -- \
		-c "$conf" --shm "$shm" >"$log" 2>&1 &
	SL_CB_DP_PID=$!
}

sl__cb_dp_stop() {
	[ -n "${SL_CB_DP_PID:-}" ] || return 0
	kill -INT "$SL_CB_DP_PID" 2>/dev/null
	wait "$SL_CB_DP_PID" 2>/dev/null
	rm -f /dev/hugepages/"$SL_CB_DP_PREFIX"* 2>/dev/null
	rm -rf /var/run/dpdk/"$SL_CB_DP_PREFIX" 2>/dev/null
	SL_CB_DP_PID=
	return 0
}

sl_bench_update() {
	local conf=${1:?usage: sl_bench_update CONF [ROUNDS]} rounds=${2:-200}
	local build=${SL_BUILD:-build} shm="/dev/shm/sl-bench-up-$$" log out rc=0
	log="${conf%.conf}-dp.log"
	rm -f "$shm"
	sl__cb_dp_start "$conf" "$shm" "$log"
	# The tool on the main lcore's CPU (the main lcore sleeps); the worker
	# polls on CPU 1.
	out=$(taskset -c 0 timeout 300 "$build/tests/tools/sl-bench-publish" \
		-c "$conf" --shm "$shm" -n "$rounds" 2>"${conf%.conf}-publish.log") || rc=1
	sl__cb_dp_stop
	rm -f "$shm"
	if [ $rc -ne 0 ] || [ -z "$out" ]; then
		echo "sl_bench_update: $conf:" >&2
		tail -3 "${conf%.conf}-publish.log" >&2
		grep -v '^EAL: ' "$log" | tail -5 >&2
		return 1
	fi
	echo "$out"
}

sl_bench_e2e() {
	local conf=${1:?usage: sl_bench_e2e CONF [ROUNDS]} rounds=${2:-100}
	local build=${SL_BUILD:-build} inst sock shm spid i out rc=0 be
	inst=$(sed -n 's/^instance = "\(.*\)";/\1/p' "$conf")
	sock=$(sed -n 's/^control = { socket = "\(.*\)"; };/\1/p' "$conf")
	be=$(grep -o 'address = "10\.[0-9.]*"' "$conf" | head -1 | cut -d'"' -f2)
	rm -f "/dev/hugepages/sluice-$inst" "/dev/shm/sluice-$inst"
	# sluiced beside the main lcore, off the worker's CPU, as in production.
	taskset -c 0 "$build/control/sluiced" -f -c "$conf" >"${conf%.conf}-sluiced.log" 2>&1 &
	spid=$!
	shm=
	for ((i = 0; i < 100; i++)); do
		for f in "/dev/hugepages/sluice-$inst" "/dev/shm/sluice-$inst"; do
			[ -e "$f" ] && shm=$f
		done
		[ -n "$shm" ] && [ -S "$sock" ] && break
		sleep 0.1
	done
	if [ -z "$shm" ]; then
		echo "sl_bench_e2e: sluiced made no shared memory:" >&2
		tail -5 "${conf%.conf}-sluiced.log" >&2
		kill -TERM "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		return 1
	fi
	sl__cb_dp_start "$conf" "$shm" "${conf%.conf}-dp.log"
	# Until the dataplane reports sluiced's generation.
	for ((i = 0; i < 200; i++)); do
		"$build/control/sluicectl" -s "$sock" --json status 2>/dev/null |
			python3 -c 'import json, sys
r = json.load(sys.stdin)["result"]
d = r["dataplane"]
sys.exit(0 if d["alive"] and d["table_generation"] == r["generation"] else 1)' && break
		sleep 0.1
	done
	out=$(taskset -c 0 timeout 300 python3 \
		"$(dirname "${BASH_SOURCE[0]}")/control-bench.py" e2e \
		"$sock" "$shm" v0 "$be" "$rounds") || rc=1
	sl__cb_dp_stop
	kill -TERM "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	rm -f "$shm"
	echo "$out"
	return "$rc"
}
