#!/usr/bin/env bash
# control_lab.sh: sluiced + sluice-dp together in the namespace lab (suite
# integration). Real TCP clients, real nginx backends, the config of
# configs/lab.conf (http checks every 500 ms, timeout 300 ms, rise 2,
# fall 2) plus a second VIP, web2 192.0.2.20:80, on the same backends with
# other weights. Long-lived keep-alive connections exchange data through
# every step. In order:
#   1. failover: be2's nginx is killed; measured from the kill: when
#      sluicectl shows it down, when the dataplane runs a table without it,
#      and, from the data path, the last new connection (one every 20 ms)
#      that still reached be2 or failed: at most interval x fall + timeout
#      + 100 ms = 1400 ms. Connections to be1/be3 survive.
#   2. be2's nginx restarts: up after rise checks, new flows again.
#   3. drain be1: its connections carry on, new flows avoid it; undrain.
#   4. reload of a broken file: refused with FILE:LINE, last_reload_error,
#      generation and tables unchanged, traffic unaffected; then a good file
#      that changes only web2's weights: web's Maglev table is identical
#      (no flow moves, no connection reset), web2's shares change.
#   5. SIGKILL sluiced: forwarding goes on (held connections, new ones);
#      a restarted sluiced re-attaches and moves no flow.
# Prints a table of the measurements. Needs root and hugepages; skips (77)
# with the reason otherwise.
#
# usage: control_lab.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
build=$(cd "${1:-build}" && pwd)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, AF_PACKET)"
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
[ "$free" -ge 64 ] || skip "needs 64 free 2 MiB hugepages (scripts/deps.sh --hugepages), have $free"
mountpoint -q /dev/hugepages || skip "hugetlbfs not mounted on /dev/hugepages"
command -v nginx >/dev/null || skip "needs nginx (scripts/deps.sh)"
for b in control/sluiced control/sluicectl dataplane/sluice-dp bpf/sluice-decap; do
	[ -x "$build/$b" ] || skip "$build/$b not built"
done

export SLUICE_LAB=sl-ct$$
export SLUICE_DECAP=$build/bpf/sluice-decap
export SLUICE_LAB_RUN=/run/sluice/$SLUICE_LAB
NS_C=$SLUICE_LAB-client
NS_LB=$SLUICE_LAB-lb
inst=ct$$
prefix=sluice-$inst
work=$(mktemp -d /tmp/sluice-control-lab.XXXXXX)
conf=$work/lab.conf
sock=$work/ctl.sock
shm=/dev/hugepages/sluice-$inst
ctl_bin=$build/control/sluicectl
dp_pid=
sd_pid=     # the timeout wrapper around sluiced
bg_pids=()
VIP=192.0.2.10
VIP2=192.0.2.20
# Health check of configs/lab.conf: interval x fall + timeout + 100 ms.
BOUND_MS=$((500 * 2 + 300 + 100))

cleanup() {
	set +e
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$dp_pid" ] && kill "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
	[ -n "$sd_pid" ] && kill "$sd_pid" 2>/dev/null && wait "$sd_pid" 2>/dev/null
	scripts/lab.sh down >/dev/null 2>&1
	rm -f /dev/hugepages/"$prefix"* /dev/hugepages/sluice-"$inst" /dev/shm/sluice-"$inst"
	rm -rf /var/run/dpdk/"$prefix" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*"
	for f in "$work"/sluiced*.log; do
		[ -f "$f" ] && { echo "--- $(basename "$f")"; tail -25 "$f"; }
	done
	if [ -n "$dp_pid" ]; then
		kill -TERM "$dp_pid" 2>/dev/null && wait "$dp_pid" 2>/dev/null
		dp_pid=
		echo "--- sluice-dp log"; grep -v '^EAL: ' "$work/sluice-dp.log" | tail -10
	fi
	exit 1
}

ctl() { timeout 10 "$ctl_bin" -s "$sock" "$@"; }
py() { /usr/bin/python3 "$@"; }
# jget FILE EXPR: EXPR over the JSON in FILE as d.
jget() { py -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
flows() { ip netns exec "$NS_C" timeout "$1" /usr/bin/python3 tests/integration/lab_flows.py "${@:2}"; }
spread() { # spread VIP N OUT
	ip netns exec "$NS_C" timeout 120 /usr/bin/python3 tests/integration/tcp_client.py \
		spread "$1" 80 "$2" --out "$3" >/dev/null
}
tables() { py tests/integration/shm_tables.py "$shm" >"$1"; }

# hold_start NAME VIP N: long-lived connections in the background, until
# hold_stop NAME. Returns once they are all established.
hold_start() {
	rm -f "$work/$1.stop" "$work/$1.json"
	flows 300 hold "$2" 80 "$3" --out "$work/$1.json" --stop "$work/$1.stop" --max 280 &
	eval "hold_$1=$!"
	bg_pids+=($!)
	for _ in $(seq 1 100); do [ -f "$work/$1.json" ] && return 0; sleep 0.1; done
	fail "hold $1: connections not established within 10 s"
}
hold_stop() {
	local pid
	eval "pid=\$hold_$1"
	touch "$work/$1.stop"
	wait "$pid" || fail "hold $1: client exited with an error"
}
# hold_check NAME [EXCEPT_BACKEND]: every connection (but those to
# EXCEPT_BACKEND) is still alive.
hold_check() {
	local bad
	bad=$(jget "$work/$1.json" "[c for c in d['conns'] if c['failed_at'] is not None and c['backend'] != '${2:-}']")
	[ "$bad" = "[]" ] || fail "hold $1: long-lived connections broke: $bad"
}
hold_requests() { jget "$work/$1.json" "sum(c['requests'] for c in d['conns'])"; }

# wait_state VIP BACKEND STATE OUT: until sluicectl shows it and the
# dataplane runs a generation that includes it.
wait_state() {
	py tests/integration/lab_flows.py watch "$ctl_bin" "$sock" "$1" "$2" "$3" \
		--out "$4" --max 10
	[ "$(jget "$4" 'd["t_dataplane"] is not None')" = True ] ||
		fail "backend $2 of $1 not $3 in the dataplane within 10 s: $(cat "$4")"
}

# wait_published GEN OUT: until a generation above GEN is published and
# the dataplane runs it; OUT gets the status.
wait_published() {
	local i
	for i in $(seq 1 50); do
		ctl --json status >"$2"
		[ "$(jget "$2" 'not d["result"]["publish_pending"] and d["result"]["generation"] > '"$1"' and (d["result"]["dataplane"]["table_generation"] or 0) >= d["result"]["generation"]')" = True ] && return 0
		sleep 0.1
	done
	fail "no generation above $1 reached the dataplane within 5 s: $(cat "$2")"
}

# write_conf W1 W2 W3 [BAD_ADDR]: the test's config, web2's weights, and
# optionally a broken backend address in web2.
write_conf() {
	local bad=${4:-203.0.113.13}
	sed -e "s/^instance = \"lab\";/instance = \"$inst\";/" \
		-e "s/\"sluice-lab\"/\"$prefix\"/" \
		-e "s#\"/run/sluice/lab.sock\"#\"$sock\"#" \
		-e 's/127.0.0.1:9700/127.0.0.1:9711/' \
		-e '$d' configs/lab.conf >"$conf.new"
	cat >>"$conf.new" <<EOF
	,
	{
		name = "web2";
		address = "$VIP2";
		port = 80;
		protocol = "tcp";
		method = "ipip";
		table_size = 65537;
		healthcheck = { type = "http"; port = 80; path = "/healthz";
			expect = 200; interval_ms = 500; timeout_ms = 300;
			rise = 2; fall = 2; };
		backends = (
			{ address = "203.0.113.11"; weight = $1; },
			{ address = "203.0.113.12"; weight = $2; },
			{ address = "$bad"; weight = $3; }
		);
	}
);
EOF
	tail -1 configs/lab.conf | grep -q '^);$' || fail "configs/lab.conf no longer ends with ');'"
	mv "$conf.new" "$conf" # in place, as an operator's editor would
}

# ---- the lab, sluiced, sluice-dp ----
scripts/lab.sh up >/dev/null
for i in 1 2 3; do
	ip netns exec "$SLUICE_LAB-be$i" ip addr add "$VIP2/32" dev lo
done
write_conf 200 100 100
"$ctl_bin" check-config "$conf" >/dev/null || fail "the test config is invalid"

start_sluiced() { # start_sluiced LOG
	ip netns exec "$NS_LB" timeout 380 "$build/control/sluiced" -c "$conf" -f \
		>"$1" 2>&1 &
	sd_pid=$!
	for _ in $(seq 1 50); do
		ctl status >/dev/null 2>&1 && return 0
		kill -0 "$sd_pid" 2>/dev/null || fail "sluiced exited at start"
		sleep 0.1
	done
	fail "sluiced: no control socket within 5 s"
}
start_sluiced "$work/sluiced.log"
ip netns exec "$NS_LB" timeout 380 "$build/dataplane/sluice-dp" -- -c "$conf" \
	>"$work/sluice-dp.log" 2>&1 &
dp_pid=$!
for i in $(seq 1 60); do
	kill -0 "$dp_pid" 2>/dev/null || fail "sluice-dp exited early"
	ip netns exec "$NS_C" timeout 2 curl -s -o /dev/null "http://$VIP/" 2>/dev/null && break
	[ "$i" -eq 60 ] && fail "no HTTP answer through the VIP within 30 s"
	sleep 0.5
done
# Every backend up (rise 2) before measuring anything.
for _ in $(seq 1 50); do
	ctl --json status >"$work/st.json"
	[ "$(jget "$work/st.json" 'd["result"]["backends"]["up"]')" -eq 6 ] && break
	sleep 0.1
done
[ "$(jget "$work/st.json" 'd["result"]["backends"]["up"]')" -eq 6 ] ||
	fail "not every backend up after 5 s: $(cat "$work/st.json")"
[ "$(jget "$work/st.json" 'd["result"]["dataplane"]["attached"]')" = True ] ||
	fail "sluiced does not see the dataplane: $(cat "$work/st.json")"
[ -f "$shm" ] || fail "no shared memory at $shm"

# ---- 1. failover timing ----
echo "== 1. be2's nginx killed under load"
hold_start h1 "$VIP" 24
flows 30 probe "$VIP" 80 0.02 7 --out "$work/probe1.json" &
probe_pid=$!
bg_pids+=("$probe_pid")
sleep 2
py tests/integration/lab_flows.py watch "$ctl_bin" "$sock" web 203.0.113.12 down \
	--out "$work/down.json" --max 10 &
watch_pid=$!
be2_nginx=$(cat "$SLUICE_LAB_RUN/be2/nginx.pid")
t_kill=$(now) # just before: the bound below is measured conservatively
kill "$be2_nginx"
wait "$watch_pid" || fail "watching for be2 down failed"
wait "$probe_pid" || fail "probe client failed"
hold_stop h1
[ "$(jget "$work/down.json" 'd["t_dataplane"] is not None')" = True ] ||
	fail "be2 not down in the dataplane within 10 s: $(cat "$work/down.json")"
down_ms=$(ms "$t_kill" "$(jget "$work/down.json" 'd["t_state"]')")
dp_ms=$(ms "$t_kill" "$(jget "$work/down.json" 'd["t_dataplane"]')")
# The data path's view: the last attempt that reached be2 or failed.
read -r n_probe n_bad last_bad_ms early_bad <<<"$(py - "$work/probe1.json" "$t_kill" 2>"$work/early.txt" <<'PY'
import json, sys
p, t0 = json.load(open(sys.argv[1])), float(sys.argv[2])
bad = [a for a in p if a["backend"] == "be2" or a["error"]]
last = max((a["t"] for a in bad), default=t0)
# A connection opened up to 100 ms before the kill may still be talking
# to be2's nginx when it dies; earlier failures have nothing to do with it.
early = [a for a in bad if a["t"] < t0 - 0.1 and a["error"]]
print(len(p), sum(1 for a in bad if a["t"] >= t0 - 0.1 and a["error"]),
      int((last - t0) * 1000), len(early))
for a in early:
    print(f"{a['t'] - t0:+.3f} s: {a['error']}", file=sys.stderr)
PY
)"
be2_after_kill=$(jget "$work/probe1.json" "sum(1 for a in d if a['backend'] == 'be2' and a['t'] >= $t_kill)")
h1_other=$(jget "$work/h1.json" "sum(1 for c in d['conns'] if c['backend'] != 'be2')")
h1_be2=$(jget "$work/h1.json" "sum(1 for c in d['conns'] if c['backend'] == 'be2')")
echo "   sluicectl down after ${down_ms} ms, dataplane on the new table after ${dp_ms} ms"
echo "   data path: $n_probe new connections, $n_bad failed, $be2_after_kill reached be2 after the kill; last such ${last_bad_ms} ms after the kill (bound ${BOUND_MS} ms)"
echo "   long-lived: $h1_other on be1/be3 (all must survive), $h1_be2 on be2 (lost with its server)"
[ "$early_bad" -eq 0 ] || fail "$early_bad connections failed before be2 was killed: $(cat "$work/early.txt")"
[ "$last_bad_ms" -le "$BOUND_MS" ] ||
	fail "new flows reached be2 or failed until ${last_bad_ms} ms after the kill (bound ${BOUND_MS} ms)"
[ "$dp_ms" -le $((BOUND_MS + 100)) ] ||
	fail "the dataplane switched ${dp_ms} ms after the kill (bound ${BOUND_MS} ms + 100 ms of polling)"
hold_check h1 be2
[ "$h1_other" -gt 0 ] || fail "no long-lived connection landed on be1/be3"
grep -q "203.0.113.12:80 down" "$work/sluiced.log" || fail "sluiced did not log be2 down"

# ---- 2. be2 back ----
echo "== 2. be2's nginx restarted"
ip netns exec "$SLUICE_LAB-be2" nginx -c "$SLUICE_LAB_RUN/be2/nginx.conf" -p "$SLUICE_LAB_RUN/be2"
t_start=$(now)
wait_state web 203.0.113.12 up "$work/up.json"
up_ms=$(ms "$t_start" "$(jget "$work/up.json" 'd["t_state"]')")
spread "$VIP" 300 "$work/spread2.json"
spread2=$(jget "$work/spread2.json" 'd["by_backend"]')
be2_new=$(jget "$work/spread2.json" "d['by_backend'].get('be2', 0)")
echo "   be2 up ${up_ms} ms after its server started (rise 2 x 500 ms); 300 new connections: $spread2"
[ "$(jget "$work/spread2.json" 'd["ok"]')" -eq 300 ] || fail "connections failed after be2 came back: $(jget "$work/spread2.json" 'd["errors"]')"
[ "$be2_new" -ge 50 ] && [ "$be2_new" -le 150 ] || fail "be2 got $be2_new of 300 new connections (expected about 100)"

# ---- 3. drain ----
echo "== 3. drain be1"
hold_start h3 "$VIP" 24
sleep 0.5
ctl drain web 203.0.113.11 >/dev/null || fail "sluicectl drain failed"
wait_state web 203.0.113.11 drained "$work/drained.json"
t_drained=$(jget "$work/drained.json" 'd["t_dataplane"]')
# From an address of its own: after a few thousand connections the client
# reuses ports, and a reused 5-tuple still in the flow table (tcp_timeout
# 900 s) goes to its remembered backend, drained or not (reported to the
# dataplane's owners). New connections here are new 5-tuples.
ip netns exec "$NS_C" ip addr add 198.18.0.3/24 dev c0
flows 30 probe "$VIP" 80 0.01 3 --out "$work/probe3.json" --src 198.18.0.3
tables "$work/tab_drained.json"
sleep 0.5 # the held connections make a few more requests
n3=$(jget "$work/probe3.json" 'len(d)')
py -c 'import json,sys,collections; p=json.load(open(sys.argv[1])); print(json.dumps({"ok": sum(1 for a in p if not a["error"]), "by_backend": dict(collections.Counter(a["backend"] for a in p if a["backend"])), "errors": [a["error"] for a in p if a["error"]][:5]}))' "$work/probe3.json" >"$work/spread3.json"
be1_drained=$(jget "$work/spread3.json" "d['by_backend'].get('be1', 0)")
h3_be1=$(jget "$work/h3.json" "sum(1 for c in d['conns'] if c['backend'] == 'be1')")
h3_be1_live=$(jget "$work/h3.json" "sum(1 for c in d['conns'] if c['backend'] == 'be1' and c['failed_at'] is None and c['last_ok'] > $t_drained + 0.5)")
echo "   while drained: $n3 new connections $(jget "$work/spread3.json" 'd["by_backend"]'); long-lived on be1 still exchanging: $h3_be1_live of $h3_be1"
[ "$(jget "$work/spread3.json" 'd["ok"]')" -eq "$n3" ] || fail "connections failed while be1 was drained"
[ "$be1_drained" -eq 0 ] || fail "be1 is drained but got $be1_drained new connections: $(jget "$work/probe3.json" "[(round(a['t'] - $t_drained, 3), a['sport']) for a in d if a['backend'] == 'be1']"); tables $(cat "$work/tab_drained.json"); $(ctl --json status)"
[ "$h3_be1" -gt 0 ] || fail "no long-lived connection on be1 to watch"
[ "$h3_be1_live" -eq "$h3_be1" ] || fail "long-lived connections on be1 stopped after the drain: $(cat "$work/h3.json")"
ctl undrain web 203.0.113.11 >/dev/null || fail "sluicectl undrain failed"
wait_state web 203.0.113.11 up "$work/undrained.json"
spread "$VIP" 150 "$work/spread3b.json"
be1_back=$(jget "$work/spread3b.json" "d['by_backend'].get('be1', 0)")
echo "   undrained: 150 new connections $(jget "$work/spread3b.json" 'd["by_backend"]')"
[ "$be1_back" -gt 0 ] || fail "be1 undrained but got no new connections"
hold_stop h3
hold_check h3

# ---- 4. reload: a broken file, then a change of web2 only ----
echo "== 4. reload"
hold_start h4 "$VIP" 24
hold_start h4b "$VIP2" 12
spread "$VIP2" 300 "$work/web2_before.json"
tables "$work/tab_before.json"
ctl --json status >"$work/st_before.json"
gen_before=$(jget "$work/st_before.json" 'd["result"]["generation"]')
fails_before=$(jget "$work/st_before.json" 'd["result"]["reload_failures"]')
write_conf 200 100 100 203.0.113.999
bad_line=$(grep -n '203.0.113.999' "$conf" | cut -d: -f1)
rc=0
ctl reload >"$work/reload_bad.out" 2>&1 || rc=$?
reload_msg=$(cat "$work/reload_bad.out")
echo "   broken file: sluicectl reload exit $rc: $reload_msg"
[ "$rc" -ne 0 ] || fail "reload of a broken file succeeded"
grep -qF "$conf:$bad_line" "$work/reload_bad.out" || fail "reload error does not cite $conf:$bad_line"
kill -HUP "$(jget "$work/st_before.json" 'd["result"]["pid"]')"
sleep 0.5
spread "$VIP" 150 "$work/spread4bad.json"
ctl --json status >"$work/st_bad.json"
tables "$work/tab_bad.json"
last_err=$(jget "$work/st_bad.json" 'd["result"]["last_reload_error"]')
[ "$(jget "$work/st_bad.json" 'd["result"]["generation"]')" -eq "$gen_before" ] ||
	fail "a refused reload changed the generation"
[ "$(jget "$work/st_bad.json" 'd["result"]["reload_failures"]')" -eq $((fails_before + 2)) ] ||
	fail "reload_failures did not count the sluicectl reload and the SIGHUP"
case $last_err in *"$conf:$bad_line"*) ;; *) fail "status last_reload_error is '$last_err'" ;; esac
cmp -s <(jget "$work/tab_before.json" 'd["vips"]') <(jget "$work/tab_bad.json" 'd["vips"]') ||
	fail "a refused reload changed the published tables"
[ "$(jget "$work/spread4bad.json" 'd["ok"]')" -eq 150 ] || fail "connections failed after a refused reload"
echo "   status: generation $gen_before unchanged, last_reload_error: $last_err"

write_conf 100 100 400
ctl --json reload >"$work/reload_good.json" || fail "reload of the good file failed: $(cat "$work/reload_good.json")"
# The reply comes before the publish: it says so with publish_pending.
[ "$(jget "$work/reload_good.json" 'd["result"]["generation"] > '"$gen_before"' or d["result"]["publish_pending"]')" = True ] ||
	fail "reload reply shows neither a new generation nor a pending publish: $(cat "$work/reload_good.json")"
wait_published "$gen_before" "$work/st_after.json"
gen_after=$(jget "$work/st_after.json" 'd["result"]["generation"]')
tables "$work/tab_after.json"
[ -z "$(jget "$work/st_after.json" 'd["result"]["last_reload_error"] or ""')" ] ||
	fail "last_reload_error not cleared by a good reload"
spread "$VIP" 300 "$work/spread4.json"
spread "$VIP2" 300 "$work/web2_after.json"
hold_stop h4
hold_stop h4b
web_same=$(jget "$work/tab_before.json" "d['vips']['web']['digest'] == $(jget "$work/tab_after.json" "repr(d['vips']['web']['digest'])")")
web2_b=$(jget "$work/tab_before.json" "d['vips']['web2']['shares']")
web2_a=$(jget "$work/tab_after.json" "d['vips']['web2']['shares']")
echo "   good file: generation $gen_before -> $gen_after; web's Maglev table identical: $web_same"
echo "   web  new connections after: $(jget "$work/spread4.json" 'd["by_backend"]')"
echo "   web2 table shares $web2_b -> $web2_a"
echo "   web2 new connections $(jget "$work/web2_before.json" 'd["by_backend"]') -> $(jget "$work/web2_after.json" 'd["by_backend"]')"
[ "$gen_after" -gt "$gen_before" ] || fail "a good reload did not publish"
[ "$web_same" = True ] || fail "a reload that changed only web2 changed web's table"
[ "$web2_b" != "$web2_a" ] || fail "web2's table did not change with its weights"
[ "$(jget "$work/spread4.json" 'd["ok"]')" -eq 300 ] || fail "web connections failed after the reload"
[ "$(jget "$work/web2_after.json" 'd["ok"]')" -eq 300 ] || fail "web2 connections failed after the reload"
for be in be1 be2 be3; do
	n=$(jget "$work/spread4.json" "d['by_backend'].get('$be', 0)")
	[ "$n" -ge 50 ] && [ "$n" -le 150 ] || fail "web: $be got $n of 300 after the reload (expected about 100)"
done
# web2: 200/100/100 -> 100/100/400: be1 from about 1/2 to 1/6, be3 from 1/4 to 2/3.
w2_be1=$(jget "$work/web2_after.json" "d['by_backend'].get('be1', 0)")
w2_be3=$(jget "$work/web2_after.json" "d['by_backend'].get('be3', 0)")
[ "$w2_be1" -le 90 ] && [ "$w2_be3" -ge 150 ] ||
	fail "web2's new connections do not follow its new weights: $(jget "$work/web2_after.json" 'd["by_backend"]')"
hold_check h4
hold_check h4b
echo "   long-lived: $(jget "$work/h4.json" 'len(d["conns"])') on web and $(jget "$work/h4b.json" 'len(d["conns"])') on web2 survived both reloads"

# ---- 5. sluiced killed and restarted ----
echo "== 5. SIGKILL sluiced"
hold_start h5 "$VIP" 24
ctl --json backends >"$work/be_before.json"
tables "$work/tab5_before.json"
sd_real=$(jget "$work/st_after.json" 'd["result"]["pid"]')
sleep 0.5
r0=$(hold_requests h5)
disown "$sd_pid" # its wrapper dies of the same signal: no job notice
kill -KILL "$sd_real"
t_dead=$(now)
for _ in $(seq 1 50); do kill -0 "$sd_pid" 2>/dev/null || break; sleep 0.1; done
sd_pid=
ctl status >/dev/null 2>&1 && fail "sluicectl still answers after sluiced was killed"
spread "$VIP" 100 "$work/spread5.json"
sleep 1
r1=$(hold_requests h5)
dead_s=$(awk -v a="$t_dead" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
echo "   sluiced dead ${dead_s} s: 100 new connections $(jget "$work/spread5.json" 'd["by_backend"]'), $((r1 - r0)) requests on the held connections"
[ "$(jget "$work/spread5.json" 'd["ok"]')" -eq 100 ] || fail "new connections failed while sluiced was dead"
[ "$((r1 - r0))" -gt 100 ] || fail "held connections stalled while sluiced was dead ($((r1 - r0)) requests)"
hold_check h5
start_sluiced "$work/sluiced2.log"
grep -q "re-attached" "$work/sluiced2.log" || fail "restarted sluiced did not re-attach: $(cat "$work/sluiced2.log")"
sleep 2 # rise 2 x 500 ms: every backend checked again
ctl --json backends >"$work/be_after.json"
tables "$work/tab5_after.json"
ctl --json status >"$work/st5.json"
states() { jget "$1" "sorted((b['vip'], b['backend'], b['state'], b['weight']) for b in d['result']['backends'])"; }
checked=$(jget "$work/be_after.json" "all(b['checks_ok'] > 0 for b in d['result']['backends'])")
spread "$VIP" 150 "$work/spread5b.json"
hold_stop h5
hold_check h5
echo "   restarted: $(grep -o 'shared memory [^,]*' "$work/sluiced2.log" | head -1)"
echo "   generation $(jget "$work/tab5_before.json" 'd["gen"]') -> $(jget "$work/tab5_after.json" 'd["gen"]'); backend states identical: $([ "$(states "$work/be_before.json")" = "$(states "$work/be_after.json")" ] && echo yes || echo no); checks resumed: $checked"
[ "$(states "$work/be_before.json")" = "$(states "$work/be_after.json")" ] ||
	fail "backend states changed across the restart: $(states "$work/be_before.json") vs $(states "$work/be_after.json")"
[ "$checked" = True ] || fail "health checks did not resume: $(cat "$work/be_after.json")"
cmp -s <(jget "$work/tab5_before.json" '{k: v["digest"] for k, v in d["vips"].items()}') \
	<(jget "$work/tab5_after.json" '{k: v["digest"] for k, v in d["vips"].items()}') ||
	fail "the restart changed a Maglev table"
[ "$(jget "$work/st5.json" 'd["result"]["dataplane"]["attached"]')" = True ] ||
	fail "restarted sluiced does not see the dataplane"
[ "$(jget "$work/spread5b.json" 'd["ok"]')" -eq 150 ] || fail "connections failed after sluiced restarted"

# ---- summary ----
cat <<EOF

measurement                                              value        bound
------------------------------------------------------------------------------
1 kill be2 -> sluicectl shows down                       $(printf '%6d ms' "$down_ms")
1 kill be2 -> dataplane on a table without be2           $(printf '%6d ms' "$dp_ms")    $((BOUND_MS + 100)) ms
1 kill be2 -> last new flow to be2 or failed             $(printf '%6d ms' "$last_bad_ms")    $BOUND_MS ms
1 new connections failed / reached be2 after the kill    $(printf '%6s' "$n_bad/$be2_after_kill")
1 long-lived on be1/be3 surviving                        $(printf '%6s' "$h1_other/$h1_other")
2 be2 restarted -> up                                    $(printf '%6d ms' "$up_ms")
2 new connections to be2 of 300 after                    $(printf '%6d' "$be2_new")
3 new connections to drained be1 of $n3                  $(printf '%6d' "$be1_drained")       0
3 long-lived on be1 exchanging after the drain           $(printf '%6s' "$h3_be1_live/$h3_be1")
4 broken reload: exit code, generation                   $(printf '%6s' "$rc, $gen_before")
4 good reload: web table identical, web2 be1/be3 of 300  $(printf '%6s' "$web_same, $w2_be1/$w2_be3")
5 requests on held connections while sluiced dead        $(printf '%6d' "$((r1 - r0))")
5 backend states identical after re-attach              yes
EOF
echo "PASS"
