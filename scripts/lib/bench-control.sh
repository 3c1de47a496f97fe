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
