#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# decap_e2e.sh SLUICE_DECAP: sluice-decap on a real backend stack.
#
# Two network namespaces joined by a veth pair:
#   a ("load balancer + client"): 203.0.113.1/24, 2001:db8::1/64, and the
#                                 client addresses 198.18.0.2/32,
#                                 2001:db8:c::2/128
#   b ("backend"):                203.0.113.2/24, 2001:db8::2/64, VIPs
#                                 192.0.2.10/32 and 2001:db8:a::10/128 on
#                                 lo, HTTP listeners on port 8080 of both,
#                                 sluice-decap on its veth
# From a, scapy sends a TCP SYN client -> VIP:8080 wrapped as the load
# balancer wraps it (IPv4-in-IPv4, IPv6-in-IPv6, IPv4-in-IPv6, GUE over IPv4
# and IPv6 with either inner family). A SYN-ACK from the VIP coming back to a
# proves that the program
# stripped the outer header and the backend's own TCP stack answered. The
# same SYN with nothing attached must get no answer (b's kernel has no ipip
# module), which shows the check means something. Runs in tc mode, then in
# XDP mode with a non-default GUE port.
#
# Needs root, /usr/bin/python3 with scapy; exits 77 (skipped) otherwise.
# Everything it creates is removed on any exit.
set -u

DECAP=${1:?usage: decap_e2e.sh PATH/TO/sluice-decap}
PY=/usr/bin/python3
NS_A=sl-dcp-$$-a
NS_B=sl-dcp-$$-b
VETH_A=sldcp$$a
VETH_B=sldcp$$b
VIP=192.0.2.10
VIP6=2001:db8:a::10
PORT=8080
TMP=
SERVER_PID=
SERVER6_PID=

skip() { echo "SKIP: decap_e2e: $*"; exit 77; }
fail() { echo "FAIL: decap_e2e: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, BPF)"
[ -x "$PY" ] && "$PY" -c 'import scapy.all' 2>/dev/null ||
	skip "needs $PY with scapy (python3-scapy)"
[ -x "$DECAP" ] || fail "$DECAP: not an executable"

cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
	[ -n "$SERVER6_PID" ] && kill "$SERVER6_PID" 2>/dev/null
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

a() { ip netns exec "$NS_A" "$@"; }
b() { ip netns exec "$NS_B" "$@"; }

TMP=$(mktemp -d /tmp/sl-dcp-$$.XXXXXX) || fail "mktemp"

ip netns add "$NS_A" || fail "cannot create netns $NS_A"
ip netns add "$NS_B" || fail "cannot create netns $NS_B"
ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" \
	netns "$NS_B" || fail "cannot create veth pair"

a ip link set lo up
a ip addr add 203.0.113.1/24 dev "$VETH_A"
a ip addr add 198.18.0.2/32 dev "$VETH_A"
a ip addr add 2001:db8::1/64 dev "$VETH_A" nodad
a ip addr add 2001:db8:c::2/128 dev "$VETH_A" nodad
a ip link set "$VETH_A" up
# a answers the SYN-ACK with a RST, so b keeps no half-open connection that
# would retransmit SYN-ACKs into a later check.
a ip route add "$VIP/32" via 203.0.113.2
a ip -6 route add "$VIP6/128" via 2001:db8::2

b ip link set lo up
b ip addr add "$VIP/32" dev lo
b ip addr add "$VIP6/128" dev lo nodad
b ip addr add 203.0.113.2/24 dev "$VETH_B"
b ip addr add 2001:db8::2/64 dev "$VETH_B" nodad
b ip link set "$VETH_B" up
b ip route add 198.18.0.0/15 via 203.0.113.1
b ip -6 route add 2001:db8:c::/48 via 2001:db8::1
for k in all default "$VETH_B" lo; do
	b sysctl -qw "net.ipv4.conf.$k.rp_filter=0"
done

MAC_A=$(a cat "/sys/class/net/$VETH_A/address")
MAC_B=$(b cat "/sys/class/net/$VETH_B/address")

mkdir "$TMP/www"
# Not through b(): a backgrounded function runs in a subshell, and $! would
# name that subshell instead of the server that cleanup() must stop.
ip netns exec "$NS_B" timeout 300 "$PY" -m http.server --bind "$VIP" \
	--directory "$TMP/www" "$PORT" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
ip netns exec "$NS_B" timeout 300 "$PY" -m http.server --bind "$VIP6" \
	--directory "$TMP/www" "$PORT" >"$TMP/server6.log" 2>&1 &
SERVER6_PID=$!
for l in "$VIP:$PORT" "[$VIP6]:$PORT"; do
	for _ in $(seq 50); do
		b ss -Hltn "src $l" | grep -q . && break
		sleep 0.1
	done
	b ss -Hltn "src $l" | grep -q . || fail "listener on $l did not start"
done

# syn KIND GUE_PORT TRIES: one encapsulated SYN (retried TRIES times); exit 0
# when the VIP's SYN-ACK comes back to a. Each call uses a new source port.
cat >"$TMP/syn.py" <<'EOF'
import sys
from scapy.all import AsyncSniffer, Ether, IP, IPv6, UDP, TCP, sendp, conf
conf.verb = 0
iface, mac_a, mac_b, kind, gue_port, tries, sport = sys.argv[1:8]
gue_port, tries, sport = int(gue_port), int(tries), int(sport)
o4 = IP(src="203.0.113.1", dst="203.0.113.2")
o6 = IPv6(src="2001:db8::1", dst="2001:db8::2")
udp = UDP(sport=50000, dport=gue_port)
# kind: (outer, inner family)
outer, v6 = {"ipip4": (o4, 0), "ipip6": (o6, 1), "ip4in6": (o6, 0),
             "gue4": (o4 / udp, 0), "gue6in4": (o4 / udp, 1),
             "gue6": (o6 / udp, 1), "gue4in6": (o6 / udp, 0)}[kind]
L3 = IPv6 if v6 else IP
client, vip = (("2001:db8:c::2", "2001:db8:a::10") if v6 else
               ("198.18.0.2", "192.0.2.10"))
inner = L3(src=client, dst=vip) / \
    TCP(sport=sport, dport=8080, flags="S", seq=0x5eed)
frame = Ether(src=mac_a, dst=mac_b) / outer / inner

def synack(p):
    return (L3 in p and TCP in p and p[L3].src == vip and
            p[L3].dst == client and p[TCP].sport == 8080 and
            p[TCP].dport == sport and (p[TCP].flags & 0x12) == 0x12 and
            p[TCP].ack == 0x5eed + 1)

sn = AsyncSniffer(iface=iface, lfilter=synack, count=1, store=True)
sn.start()
import time
time.sleep(0.3)
for _ in range(tries):
    sendp(frame, iface=iface)
    for _ in range(10):
        time.sleep(0.1)
        if sn.results:
            break
    if sn.results:
        break
if sn.running:
    sn.stop()
sys.exit(0 if sn.results else 1)
EOF

SPORT=40000
syn() { # KIND GUE_PORT TRIES
	SPORT=$((SPORT + 1))
	a timeout 30 "$PY" "$TMP/syn.py" "$VETH_A" "$MAC_A" "$MAC_B" "$@" "$SPORT"
}

# stat NAME: one counter from `sluice-decap stats`.
stat() {
	b "$DECAP" stats "$VETH_B" | awk -v n="$1" '$1 == n { print $2 }'
}

# Without decapsulation b's kernel cannot read these: no SYN-ACK.
for kind in ipip4 ipip6 gue4; do
	syn "$kind" 6080 2 && fail "$kind: SYN-ACK without sluice-decap attached; the test proves nothing"
done
echo "ok: no answer without sluice-decap"

run_round() { # MODE GUE_PORT
	local mode=$1 port=$2 kind kc before n
	local args=(--mode "$mode")

	[ "$port" = 6080 ] || args+=(--gue-port "$port")
	b timeout 20 "$DECAP" attach "$VETH_B" "${args[@]}" ||
		fail "$mode: attach failed"
	# Attaching again replaces our own program instead of failing.
	b timeout 20 "$DECAP" attach "$VETH_B" "${args[@]}" >/dev/null ||
		fail "$mode: re-attach failed"
	# KIND:COUNTER; the GUE counters go by the outer family.
	for kc in ipip4:ipip4 ipip6:ipip6 ip4in6:ip4in6 gue4:gue4 \
		  gue6in4:gue4 gue6:gue6 gue4in6:gue6; do
		kind=${kc%%:*}
		before=$(stat "${kc#*:}")
		syn "$kind" "$port" 5 || fail "$mode: $kind: no SYN-ACK from the VIP"
		n=$(stat "${kc#*:}")
		[ "${n:-0}" -gt "${before:-0}" ] ||
			fail "$mode: $kind: counter ${kc#*:} did not move (${before:-} -> ${n:-})"
		echo "ok: $mode: $kind SYN decapsulated, backend answered (${kc#*:} $n)"
	done
	n=$(stat errors)
	[ "${n:-1}" = 0 ] || fail "$mode: errors counter is '${n:-}'"
	b timeout 20 "$DECAP" stats "$VETH_B"
	b timeout 20 "$DECAP" detach "$VETH_B" --mode "$mode" ||
		fail "$mode: detach failed"
	b "$DECAP" stats "$VETH_B" >/dev/null 2>&1 &&
		fail "$mode: still attached after detach"
	syn ipip4 "$port" 1 && fail "$mode: SYN-ACK after detach"
	echo "ok: $mode: detached"
}

run_round tc 6080
run_round xdp 7777
echo "PASS: decap_e2e"
