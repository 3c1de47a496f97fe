#!/usr/bin/env bash
# lab.sh: the namespace lab that the demo and the integration tests run in.
#
#   scripts/lab.sh up [--mode dpdk|xdp] [--http nginx|python]
#   scripts/lab.sh down
#   scripts/lab.sh status
#
# Topology (every address a documentation/benchmark range, never private):
#
#   client ─c0──────rt-c─ router ─br-lb(198.51.100.1)─┬─ lb0  (LB data port, no kernel IP:
#   198.18.0.2        198.18.0.1   │                  │        sluice-dp owns 198.51.100.2)
#                                  │                  └─ lbm  198.51.100.3 (LB kernel:
#                                  │                           sluiced, health checks)
#                                  └─br-be(203.0.113.1)─┬─ be1 203.0.113.11 ┐ VIP 192.0.2.10 on lo,
#                                                       ├─ be2 203.0.113.12 ├ sluice-decap on eth0,
#                                                       └─ be3 203.0.113.13 ┘ HTTP server on :80
#
# The router sends VIP traffic (192.0.2.0/24) to 198.51.100.2; the LB
# encapsulates it to a backend through the router (its gateway); backends
# answer the client directly (direct server return). Links behind the LB
# have MTU 1600 so an encapsulated 1500-byte packet fits.
#
# Namespace names start with $SLUICE_LAB (default "sl-lab") so tests can run
# labs side by side. Offloads are off on every lab link: veth would otherwise
# hand AF_PACKET GSO super-packets and packets with partial checksums.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

LAB=${SLUICE_LAB:-sl-lab}
NS_C=$LAB-client
NS_R=$LAB-router
NS_LB=$LAB-lb
NS_BE=("$LAB-be1" "$LAB-be2" "$LAB-be3")
BE_ADDR=(203.0.113.11 203.0.113.12 203.0.113.13)
VIP=192.0.2.10
RUN=${SLUICE_LAB_RUN:-/run/sluice/$LAB}
DECAP=${SLUICE_DECAP:-$top/build/bpf/sluice-decap}
XDP_PASS=${SLUICE_XDP_PASS:-$(dirname "$DECAP")/../tests/bpf/xdp_pass.bpf.o}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

quiet_offloads() {
	local ns=$1 dev=$2
	nsx "$ns" ethtool -K "$dev" tx off rx off tso off gso off gro off \
		>/dev/null 2>&1 || true
}

link() { # link NS_A DEV_A NS_B DEV_B MTU
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	nsx "$1" ip link set "$2" mtu "$5" up
	nsx "$3" ip link set "$4" mtu "$5" up
	quiet_offloads "$1" "$2"
	quiet_offloads "$3" "$4"
}

sysctls() {
	local ns=$1
	nsx "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
}

start_http() { # start_http NS NAME ADDR
	local ns=$1 name=$2 addr=$3 dir=$RUN/$2
	mkdir -p "$dir"
	if [ "$HTTP" = nginx ] && command -v nginx >/dev/null; then
		cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $dir;
	proxy_temp_path $dir;
	fastcgi_temp_path $dir;
	uwsgi_temp_path $dir;
	scgi_temp_path $dir;
	keepalive_timeout 30s;
	server {
		listen 80 reuseport;
		location = /healthz { return 200 "ok\n"; }
		location / { return 200 "$name $addr\n"; }
	}
}
EOF
		nsx "$ns" nginx -c "$dir/nginx.conf" -p "$dir" 2>/dev/null
	else
		mkdir -p "$dir/www"
		echo "$name $addr" >"$dir/www/index.html"
		echo ok >"$dir/www/healthz"
		nsx "$ns" setsid /usr/bin/python3 -m http.server 80 \
			--directory "$dir/www" >/dev/null 2>&1 &
		echo $! >"$dir/http.pid"
	fi
}

stop_http() { # stop_http NAME
	local dir=$RUN/$1
	[ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
	[ -f "$dir/http.pid" ] && kill "$(cat "$dir/http.pid")" 2>/dev/null || true
	rm -f "$dir/nginx.pid" "$dir/http.pid"
}

up() {
	MODE=dpdk
	HTTP=nginx
	while [ $# -gt 0 ]; do
		case $1 in
		--mode) MODE=$2; shift 2 ;;
		--http) HTTP=$2; shift 2 ;;
		*) echo "lab.sh: unknown option $1" >&2; exit 2 ;;
		esac
	done
	if ip netns list | grep -q "^$NS_R\b"; then
		echo "lab.sh: lab $LAB is already up (scripts/lab.sh down first)" >&2
		exit 1
	fi
	[ -x "$DECAP" ] || { echo "lab.sh: $DECAP not built (ninja -C build)" >&2; exit 1; }
	mkdir -p "$RUN"
	for ns in "$NS_C" "$NS_R" "$NS_LB" "${NS_BE[@]}"; do
		ip netns add "$ns"
		nsx "$ns" ip link set lo up
		sysctls "$ns"
	done
	nsx "$NS_R" sysctl -qw net.ipv4.ip_forward=1

	# client <-> router
	link "$NS_C" c0 "$NS_R" rt-c 1500
	nsx "$NS_C" ip addr add 198.18.0.2/24 dev c0
	nsx "$NS_C" ip route add default via 198.18.0.1
	nsx "$NS_R" ip addr add 198.18.0.1/24 dev rt-c

	# router bridges toward the LB and toward the backends
	nsx "$NS_R" ip link add br-lb mtu 1600 type bridge
	nsx "$NS_R" ip link add br-be mtu 1600 type bridge
	nsx "$NS_R" ip link set br-lb up
	nsx "$NS_R" ip link set br-be up
	nsx "$NS_R" ip addr add 198.51.100.1/24 dev br-lb
	nsx "$NS_R" ip addr add 203.0.113.1/24 dev br-be

	link "$NS_LB" lb0 "$NS_R" rt-lb0 1600
	link "$NS_LB" lbm "$NS_R" rt-lbm 1600
	nsx "$NS_R" ip link set rt-lb0 master br-lb
	nsx "$NS_R" ip link set rt-lbm master br-lb
	nsx "$NS_LB" ip addr add 198.51.100.3/24 dev lbm
	nsx "$NS_LB" ip route add 203.0.113.0/24 via 198.51.100.1
	nsx "$NS_LB" ip route add 198.18.0.0/15 via 198.51.100.1
	nsx "$NS_R" ip route add 192.0.2.0/24 via 198.51.100.2

	for i in 0 1 2; do
		ns=${NS_BE[$i]}
		link "$ns" eth0 "$NS_R" "rt-be$((i + 1))" 1600
		nsx "$NS_R" ip link set "rt-be$((i + 1))" master br-be
		nsx "$ns" ip addr add "${BE_ADDR[$i]}/24" dev eth0
		nsx "$ns" ip addr add "$VIP/32" dev lo
		nsx "$ns" ip route add default via 203.0.113.1
		nsx "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
			net.ipv4.conf.all.arp_announce=2
		nsx "$ns" "$DECAP" attach eth0 --mode tc >/dev/null
		start_http "$ns" "be$((i + 1))" "${BE_ADDR[$i]}"
	done

	if [ "$MODE" = xdp ]; then
		# XDP mode: the kernel of the LB keeps lb0 and its address
		# (sluiced's XDP program forwards from it; bpf_fib_lookup needs
		# the routes). XDP_TX on lb0 reaches the router only if the
		# router's end has an XDP program of its own (ENVIRONMENT.md):
		# a plain XDP_PASS one.
		[ -f "$XDP_PASS" ] || { echo "lab.sh: $XDP_PASS not built" >&2; exit 1; }
		nsx "$NS_R" ip link set dev rt-lb0 xdpdrv obj "$XDP_PASS" sec xdp
		nsx "$NS_LB" ip addr add 198.51.100.2/24 dev lb0
		nsx "$NS_LB" ip route replace 203.0.113.0/24 via 198.51.100.1 dev lb0
	fi
	echo "lab $LAB up ($MODE): client $NS_C, LB $NS_LB (data lb0, mgmt lbm), backends ${NS_BE[*]}"
}

down() {
	for i in 1 2 3; do
		stop_http "be$i"
	done
	for ns in "$NS_C" "$NS_R" "$NS_LB" "${NS_BE[@]}"; do
		if ip netns list | grep -q "^$ns\b"; then
			# Anything still running inside (sluice-dp, servers) goes first.
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill "$pid" 2>/dev/null || true
			done
			sleep 0.2
			for pid in $(ip netns pids "$ns" 2>/dev/null); do
				kill -9 "$pid" 2>/dev/null || true
			done
			ip netns del "$ns"
		fi
	done
	rm -rf "$RUN"
}

status() {
	ip netns list | grep "^$LAB-" || echo "lab $LAB is down"
}

case ${1:-} in
up) shift; up "$@" ;;
down) down ;;
status) status ;;
*) echo "usage: scripts/lab.sh up [--mode dpdk|xdp] [--http nginx|python] | down | status" >&2; exit 2 ;;
esac
