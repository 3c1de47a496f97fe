#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""
dp_pcap.py: the Python half of tests/dpdk/dp_pcap.sh (scapy; run it with
/usr/bin/python3, the interpreter that has scapy).

  gen IN.pcap META.json          the input frames and what each must become
  tel SOCKET CMD                 one DPDK telemetry request, JSON reply printed
  check IN.pcap META.json OUT.pcap PORT_MAC FLOWS.json [--down ADDR]...
                                 decode sluice-dp's output on its own terms

The generator knows tests/fixtures/pcap.conf (VIPs, backends, weights) and
writes, per input frame, the verdict it expects: forwarded to a VIP, an
ARP/echo/too-big answer, or a drop with its reason. The checker reads only
the input, that list and the output: it never looks at sl-fpsim's
prediction, so a bug shared by sluice-dp and the fast-path library that
sl-fpsim links shows up here.
"""
import ipaddress
import json
import random
import socket
import struct
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, ICMPv6EchoRequest,
                       IPv6, Raw, rdpcap, wrpcap)

CLIENT_MAC = "02:00:00:00:00:c1"
ROUTER_MAC = "02:00:00:00:00:fe"   # dataplane.gateway_mac
LB_MAC_SEEN = "02:00:00:00:00:01"  # what the router addresses frames to
ENCAP_NET4 = ipaddress.ip_network("198.51.100.64/26")
LOCAL6 = "2001:db8:ff::2"          # outer IPv6 source (no encap_source6)
MTU = 1500
GUE_PORT = 6080

WEB = ("192.0.2.10", 80, "tcp")
DNS = ("192.0.2.11", 53, "udp")
TLS6 = ("2001:db8:100::10", 443, "tcp")
VIPS = {
    "web": {"key": WEB, "method": "ipip",
            "backends": {"203.0.113.%d" % i: (200 if i % 2 == 0 else 100)
                         for i in range(1, 17)}},
    "dns": {"key": DNS, "method": "gue",
            "backends": {"203.0.113.%d" % i: 100 for i in range(21, 25)}},
    "tls6": {"key": TLS6, "method": "ipip",
             "backends": {"2001:db8:300::%d" % i: 100 for i in range(1, 5)}},
}

N_WEB_FLOWS = 600
N_DNS_FLOWS = 100
N_TLS6_FLOWS = 50


def eth(t=None):
    e = Ether(src=CLIENT_MAC, dst=LB_MAC_SEEN)
    if t is not None:
        e.type = t
    return e


class Gen:
    def __init__(self, seed):
        self.rnd = random.Random(seed)
        self.flows = []       # [(meta-per-packet list, frames)]
        self.singles = []     # (frame, meta)
        self.used = set()

    def sport(self, src):
        while True:
            p = self.rnd.randrange(1024, 65536)
            if (src, p) not in self.used:
                self.used.add((src, p))
                return p

    def client4(self):
        return "198.18.%d.%d" % (self.rnd.randrange(0, 256),
                                 self.rnd.randrange(1, 255))

    def client6(self):
        return "2001:db8:c000::%x" % self.rnd.randrange(1, 0xffff)

    def payload(self, n):
        return bytes(self.rnd.randrange(256) for _ in range(n))

    def tcp_flow(self, vip, n_acks, sizes, v6=False, df=None, tos=0):
        addr, port, _ = VIPS[vip]["key"]
        src = self.client6() if v6 else self.client4()
        sp = self.sport(src)
        if df is None:
            df = self.rnd.random() < 0.5
        if v6:
            ip = IPv6(src=src, dst=addr, tc=tos, hlim=60)
        else:
            ip = IP(src=src, dst=addr, tos=tos, ttl=60,
                    flags="DF" if df else 0,
                    id=self.rnd.randrange(65536))
        seq = self.rnd.randrange(1 << 32)
        frames = [eth() / ip / TCP(sport=sp, dport=port, flags="S", seq=seq)]
        for i in range(n_acks):
            frames.append(eth() / ip / TCP(sport=sp, dport=port, flags="PA",
                                           seq=seq + 1, ack=1) /
                          Raw(self.payload(sizes[i % len(sizes)])))
        flow = "%s|%d|%s|%d|tcp" % (src, sp, addr, port)
        self.flows.append([(f, {"v": "fwd", "vip": vip, "flow": flow})
                           for f in frames])

    def udp_flow(self, n):
        addr, port, _ = VIPS["dns"]["key"]
        src = self.client4()
        sp = self.sport(src)
        ip = IP(src=src, dst=addr, ttl=60, tos=self.rnd.choice([0, 0x10]))
        flow = "%s|%d|%s|%d|udp" % (src, sp, addr, port)
        self.flows.append([
            (eth() / ip / UDP(sport=sp, dport=port) /
             Raw(self.payload(self.rnd.choice([12, 40, 300]))),
             {"v": "fwd", "vip": "dns", "flow": flow}) for _ in range(n)])

    def single(self, frame, **meta):
        self.singles.append((frame, meta))

    def drops(self):
        r = self.rnd
        # Not a VIP: unknown address, wrong port, wrong protocol.
        for _ in range(40):
            self.single(eth() / IP(src=self.client4(), dst="192.0.2.99") /
                        TCP(sport=r.randrange(1024, 65536), dport=80,
                            flags="S"), v="drop", why="not_vip")
        for _ in range(20):
            self.single(eth() / IP(src=self.client4(), dst=WEB[0]) /
                        TCP(sport=r.randrange(1024, 65536), dport=8080,
                            flags="S"), v="drop", why="not_vip")
        for _ in range(10):
            self.single(eth() / IP(src=self.client4(), dst=DNS[0]) /
                        UDP(sport=r.randrange(1024, 65536), dport=54) /
                        Raw(b"x" * 20), v="drop", why="not_vip")
        for _ in range(5):
            self.single(eth() / IP(src=self.client4(), dst=DNS[0]) /
                        TCP(sport=r.randrange(1024, 65536), dport=53,
                            flags="S"), v="drop", why="not_vip")
        for _ in range(10):
            self.single(eth() / IPv6(src=self.client6(),
                                     dst="2001:db8:100::99") /
                        TCP(sport=r.randrange(1024, 65536), dport=443,
                            flags="S"), v="drop", why="not_vip")
        self.single(eth() / IP(src=self.client4(), dst="192.0.2.99") /
                    ICMP(type=8, id=7, seq=1) / Raw(b"ping"),
                    v="drop", why="not_vip")
        # Malformed.
        syn = bytes(eth() / IP(src=self.client4(), dst=WEB[0]) /
                    TCP(sport=4000, dport=80, flags="S"))
        for cut in (14 + 10, 14 + 30, len(syn) - 1):   # short IP / TCP
            self.single(Ether(syn[:cut]), v="drop", why="truncated")
        big = bytes(eth() / IP(src=self.client4(), dst=WEB[0]) /
                    TCP(sport=4001, dport=80, flags="PA") /
                    Raw(self.payload(200)))
        self.single(Ether(big[:100]), v="drop", why="truncated")
        self.single(Raw(b"\x02\x00\x00\x00\x00\x01\x02\x00"),
                    v="drop", why="truncated")
        for ihl in (0, 3, 4):
            f = bytearray(syn)
            f[14] = 0x40 | ihl
            self.single(Ether(bytes(f)), v="drop", why="bad_ip_hdr")
        f = bytearray(syn)
        f[16:18] = struct.pack("!H", 12)     # tot_len < header
        self.single(Ether(bytes(f)), v="drop", why="bad_ip_hdr")
        f = bytearray(syn)
        f[14] = 0x65                         # version 6 under 0x0800
        self.single(Ether(bytes(f)), v="drop", why="bad_ip_version")
        f = bytearray(syn)
        f[14 + 20 + 12] = 0x20               # TCP data offset 2
        self.single(Ether(bytes(f)), v="drop", why="bad_l4")
        self.single(eth() / IP(src=self.client4(), dst=DNS[0]) /
                    UDP(sport=5000, dport=53, len=4), v="drop",
                    why="bad_l4")
        for t in (0x88b5, 0x88cc, 0x8847):
            self.single(eth(t) / Raw(self.payload(46)), v="drop",
                        why="non_ip")
        # Not TCP/UDP/ICMP, and ARP for an address that is not ours.
        self.single(eth() / IP(src=self.client4(), dst=WEB[0], proto=47) /
                    Raw(self.payload(40)), v="drop", why="unhandled")
        self.single(eth(0x0806) / ARP(op=1, hwsrc=CLIENT_MAC,
                                      psrc="198.51.100.7",
                                      pdst="192.0.2.99"),
                    v="drop", why="unhandled")
        # Over the MTU once encapsulated, without DF: dropped, no ICMP.
        self.single(eth() / IP(src=self.client4(), dst=WEB[0]) /
                    TCP(sport=4002, dport=80, flags="PA") /
                    Raw(self.payload(MTU - 40)), v="drop", why="too_big")

    def answers(self):
        self.single(Ether(src=CLIENT_MAC, dst="ff:ff:ff:ff:ff:ff") /
                    ARP(op=1, hwsrc=CLIENT_MAC, psrc="198.51.100.7",
                        pdst=WEB[0]), v="arp", vip=WEB[0])
        self.single(eth() / IP(src="198.18.200.1", dst=WEB[0]) /
                    ICMP(type=8, id=0x1234, seq=1) / Raw(self.payload(56)),
                    v="echo")
        self.single(eth() / IP(src="198.18.200.2", dst=DNS[0]) /
                    ICMP(type=8, id=0x1235, seq=9) / Raw(self.payload(1000)),
                    v="echo")
        self.single(eth() / IPv6(src=self.client6(), dst=TLS6[0]) /
                    ICMPv6EchoRequest(id=5, seq=1, data=self.payload(32)),
                    v="echo")
        # DF and over the MTU once encapsulated: ICMP fragmentation needed.
        for i in range(3):
            self.single(eth() / IP(src="198.18.201.%d" % (i + 1), dst=WEB[0],
                                   flags="DF") /
                        TCP(sport=4100 + i, dport=80, flags="PA") /
                        Raw(self.payload(MTU - 40 - i)), v="toobig")

    def build(self):
        r = self.rnd
        for i in range(N_WEB_FLOWS):
            # One in ten flows carries a 1400-byte payload.
            sizes = [1400] if i % 10 == 0 else [0, 64, 512, 1]
            self.tcp_flow("web", r.randrange(1, 4), sizes,
                          tos=r.choice([0, 0, 0x28, 0xb8]))
        for _ in range(N_DNS_FLOWS):
            self.udp_flow(2)
        for i in range(N_TLS6_FLOWS):
            self.tcp_flow("tls6", 2, [100, 1400] if i % 5 == 0 else [33],
                          v6=True, tos=r.choice([0, 0x28]))
        self.drops()
        self.answers()
        # Interleave: flows keep their own order, everything else anywhere.
        queues = [list(f) for f in self.flows] + [[s] for s in self.singles]
        out = []
        while queues:
            i = r.randrange(len(queues))
            out.append(queues[i].pop(0))
            if not queues[i]:
                queues.pop(i)
        # Ethernet padding after a forwarded packet is not forwarded.
        for k, (f, m) in enumerate(out):
            if m["v"] == "fwd" and len(f) < 60 and IP in f:
                out[k] = (Ether(bytes(f) + b"\x00" * (60 - len(f))), m)
                break
        return out


def cmd_gen(argv):
    pcap, meta = argv
    frames = Gen(20240611).build()
    wrpcap(pcap, [bytes(f) for f, _ in frames], linktype=1)
    with open(meta, "w") as fh:
        json.dump([m for _, m in frames], fh)
    kinds = {}
    for _, m in frames:
        k = m["v"] if m["v"] != "drop" else "drop " + m["why"]
        kinds[k] = kinds.get(k, 0) + 1
    print("generated %d frames: %s" % (len(frames), ", ".join(
        "%s %d" % kv for kv in sorted(kinds.items()))))


def cmd_tel(argv):
    path, cmd = argv
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(2)
    s.connect(path)
    hello = json.loads(s.recv(16384).decode())
    s.send(cmd.encode())
    print(s.recv(hello.get("max_output_len", 16384)).decode())
    s.close()


def csum16(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip_packet(frame):
    """The IP packet of an Ethernet frame, without Ethernet padding."""
    raw = bytes(frame)
    if raw[12:14] == b"\x08\x00":
        return raw[14:14 + struct.unpack("!H", raw[16:18])[0]]
    return raw[14:14 + 40 + struct.unpack("!H", raw[18:20])[0]]


class Check:
    def __init__(self, port_mac, down):
        self.port_mac = port_mac.lower()
        self.down = set(down)
        self.errors = []

    def need(self, ok, n, what):
        if not ok and len(self.errors) < 20:
            self.errors.append("output frame %d: %s" % (n, what))
        return ok

    def eth_ok(self, n, raw, dst, etype):
        self.need(raw[0:6] == bytes.fromhex(dst.replace(":", "")), n,
                  "ethernet dst %s, expected %s" % (raw[0:6].hex(":"), dst))
        self.need(raw[6:12] == bytes.fromhex(self.port_mac.replace(":", "")),
                  n, "ethernet src %s is not the port's %s" %
                  (raw[6:12].hex(":"), self.port_mac))
        self.need(raw[12:14] == struct.pack("!H", etype), n,
                  "ethertype %s, expected %04x" % (raw[12:14].hex(), etype))

    def encap(self, n, out, inp, m):
        """Forwarded VIP packet; returns the backend address or None."""
        vip = VIPS[m["vip"]]
        inner = ip_packet(inp)
        o = bytes(out)
        v6 = o[12:14] == b"\x86\xdd"
        self.eth_ok(n, o, ROUTER_MAC, 0x86dd if v6 else 0x0800)
        if v6:
            hdr = o[14:54]
            plen = struct.unpack("!H", hdr[4:6])[0]
            ver_tc = struct.unpack("!I", hdr[0:4])[0]
            self.need(ver_tc >> 28 == 6, n, "outer version")
            self.need(hdr[6] == 41 and vip["method"] == "ipip", n,
                      "outer next header %d, expected 41" % hdr[6])
            self.need(hdr[7] == 64, n, "outer hop limit %d" % hdr[7])
            self.need(plen == len(inner) and len(o) == 54 + plen, n,
                      "outer payload length %d for inner %d" %
                      (plen, len(inner)))
            src = str(ipaddress.ip_address(hdr[8:24]))
            dst = str(ipaddress.ip_address(hdr[24:40]))
            self.need(src == LOCAL6, n, "outer source %s" % src)
            tc_in = ((inner[0] & 0xf) << 4) | (inner[1] >> 4)
            self.need((ver_tc >> 20) & 0xff == tc_in, n,
                      "outer traffic class not copied")
            got = o[54:]
        else:
            hdr = o[14:34]
            self.need(hdr[0] == 0x45, n, "outer version/ihl %02x" % hdr[0])
            self.need(csum16(hdr) == 0, n, "outer IPv4 checksum wrong")
            self.need(hdr[8] == 64, n, "outer TTL %d" % hdr[8])
            self.need(hdr[1] == inner[1], n, "outer TOS not copied")
            frag = struct.unpack("!H", hdr[6:8])[0]
            in_df = bool(struct.unpack("!H", inner[6:8])[0] & 0x4000)
            self.need(frag == (0x4000 if in_df else 0), n,
                      "outer frag field %04x, inner DF %d" % (frag, in_df))
            tot = struct.unpack("!H", hdr[2:4])[0]
            self.need(tot == len(o) - 14, n, "outer total length %d" % tot)
            src = str(ipaddress.ip_address(hdr[12:16]))
            dst = str(ipaddress.ip_address(hdr[16:20]))
            self.need(ipaddress.ip_address(src) in ENCAP_NET4, n,
                      "outer source %s outside %s" % (src, ENCAP_NET4))
            if vip["method"] == "gue":
                self.need(hdr[9] == 17, n, "outer protocol %d, expected "
                          "UDP" % hdr[9])
                sp, dp, ulen, uck = struct.unpack("!HHHH", o[34:42])
                self.need(dp == GUE_PORT, n, "GUE port %d" % dp)
                self.need(sp >= 49152, n, "GUE source port %d" % sp)
                self.need(ulen == 8 + len(inner), n, "UDP length %d" % ulen)
                self.need(uck == 0, n, "UDP checksum %04x, expected 0" % uck)
                got = o[42:]
            else:
                self.need(hdr[9] == 4, n, "outer protocol %d, expected 4"
                          % hdr[9])
                got = o[34:]
        self.need(got == inner, n, "inner packet differs from input "
                  "(%d vs %d bytes)" % (len(got), len(inner)))
        self.need(dst in vip["backends"], n, "outer destination %s is not "
                  "a backend of %s" % (dst, m["vip"]))
        self.need(dst not in self.down, n, "sent to %s, which is down" % dst)
        return dst

    def arp(self, n, out, inp, m):
        o = out
        self.eth_ok(n, bytes(o), CLIENT_MAC, 0x0806)
        a = o[ARP] if ARP in o else None
        if not self.need(a is not None and a.op == 2, n, "not an ARP reply"):
            return
        self.need(a.psrc == m["vip"] and a.hwsrc == self.port_mac and
                  a.pdst == inp[ARP].psrc and a.hwdst == CLIENT_MAC, n,
                  "ARP reply fields %s" % a.summary())

    def echo(self, n, out, inp, m):
        o = bytes(out)
        req = ip_packet(inp)
        if IP in inp:
            self.eth_ok(n, o, CLIENT_MAC, 0x0800)
            rep = o[14:]
            self.need(len(rep) == len(req), n, "echo reply length")
            self.need(csum16(rep[:20]) == 0 and csum16(rep[20:]) == 0, n,
                      "echo reply checksum")
            self.need(rep[12:16] == req[16:20] and rep[16:20] == req[12:16],
                      n, "echo reply addresses not swapped")
            self.need(rep[20] == 0 and rep[24:] == req[24:], n,
                      "echo reply type/body")
        else:
            self.eth_ok(n, o, CLIENT_MAC, 0x86dd)
            rep = o[14:]
            self.need(len(rep) == len(req) and rep[40] == 129, n,
                      "not an ICMPv6 echo reply")
            pseudo = rep[8:40] + struct.pack("!IxxxB", len(rep) - 40, 58)
            self.need(csum16(pseudo + rep[40:]) == 0, n,
                      "ICMPv6 echo reply checksum")
            self.need(rep[8:24] == req[24:40] and rep[44:] == req[44:], n,
                      "ICMPv6 echo reply addresses/body")

    def toobig(self, n, out, inp, m):
        o = bytes(out)
        req = ip_packet(inp)
        self.eth_ok(n, o, CLIENT_MAC, 0x0800)
        ip = o[14:34]
        self.need(csum16(ip) == 0 and ip[9] == 1, n, "ICMP IPv4 header")
        self.need(ip[12:16] == req[16:20] and ip[16:20] == req[12:16], n,
                  "ICMP from the VIP to the client")
        icmp = o[34:]
        self.need(icmp[0] == 3 and icmp[1] == 4, n, "not frag-needed")
        self.need(struct.unpack("!H", icmp[6:8])[0] == MTU - 20, n,
                  "next-hop MTU %d" % struct.unpack("!H", icmp[6:8])[0])
        self.need(csum16(icmp) == 0, n, "ICMP checksum")
        self.need(icmp[8:] == req[:len(icmp) - 8] and len(icmp) - 8 >= 28,
                  n, "quote is not the start of the packet")


def cmd_check(argv):
    down = []
    while "--down" in argv:
        i = argv.index("--down")
        down.append(argv[i + 1])
        del argv[i:i + 2]
    in_pcap, meta_path, out_pcap, port_mac, flows_path = argv
    inp = rdpcap(in_pcap)
    meta = json.load(open(meta_path))
    out = rdpcap(out_pcap)
    c = Check(port_mac, down)
    want = [(f, m) for f, m in zip(inp, meta) if m["v"] != "drop"]
    if len(out) != len(want):
        c.errors.append("%d frames out, %d expected from the generator" %
                        (len(out), len(want)))
    flows = {}
    for n, (o, (f, m)) in enumerate(zip(out, want)):
        if m["v"] == "fwd":
            be = c.encap(n, o, f, m)
            flows.setdefault(m["flow"], set()).add(be)
        else:
            getattr(c, m["v"])(n, o, f, m)
    split = [k for k, v in flows.items() if len(v) != 1]
    if split:
        c.errors.append("%d flows went to several backends, e.g. %s -> %s"
                        % (len(split), split[0], sorted(flows[split[0]])))
    # Spread: flows per backend against the weights (loose bounds).
    used = {}
    for name, vip in VIPS.items():
        cnt = {b: 0 for b in vip["backends"]}
        for k, v in flows.items():
            if k.split("|")[2] == vip["key"][0] and len(v) == 1:
                cnt[next(iter(v))] += 1
        live = {b: w for b, w in vip["backends"].items() if b not in down}
        total = sum(cnt.values())
        wsum = sum(live.values())
        for b, w in live.items():
            exp = total * w / wsum
            if not 0.3 * exp <= cnt[b] <= 2.5 * exp:
                c.errors.append("%s: backend %s got %d of %d flows, about "
                                "%.0f expected (weight %d)" %
                                (name, b, cnt[b], total, exp, w))
        if name == "web":
            heavy = sum(cnt[b] for b, w in live.items() if w == 200)
            light = sum(cnt[b] for b, w in live.items() if w == 100)
            exp = sum(w for w in live.values() if w == 200) / \
                sum(w for w in live.values() if w == 100)
            if light == 0 or not 0.75 * exp <= heavy / light <= 1.35 * exp:
                c.errors.append("web: weight-200 backends got %d flows, "
                                "weight-100 ones %d (ratio %.2f expected)" %
                                (heavy, light, exp))
        used[name] = cnt
    with open(flows_path, "w") as fh:
        json.dump({k: sorted(v)[0] for k, v in flows.items()}, fh)
    for name, cnt in used.items():
        print("  %s: %s" % (name, " ".join(
            "%s=%d" % (b.rsplit(".", 1)[-1] if "." in b else
                       b.rsplit(":", 1)[-1], n) for b, n in cnt.items())))
    if c.errors:
        for e in c.errors:
            print("decode: " + e)
        return 1
    print("decode: %d frames out, all as the generator expects; %d flows, "
          "each on one backend" % (len(out), len(flows)))
    return 0


def tel_query(s, cmd, maxlen):
    s.send(cmd.encode())
    return json.loads(s.recv(maxlen).decode())


def cmd_wait(argv):
    """Wait until sluice-dp has received N frames and its TX is quiet.

    Polls /sluice/stats over the telemetry socket; where the socket never
    appears, falls back to the TX pcap's size standing still for 1 s.
    Gives up after DEADLINE seconds. Prints the last stats (JSON)."""
    import os
    import time
    sock, n, txfile, deadline = argv[0], int(argv[1]), argv[2], float(argv[3])
    end = time.monotonic() + deadline
    s, stats, last, still = None, None, None, time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.1)
        if s is None and os.path.exists(sock):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.settimeout(2)
                s.connect(sock)
                maxlen = json.loads(s.recv(16384).decode()).get(
                    "max_output_len", 16384)
            except OSError:
                s = None
        if s is not None:
            try:
                stats = tel_query(s, "/sluice/stats", maxlen)["/sluice/stats"]
            except (OSError, ValueError, KeyError):
                s, stats = None, None
                continue
            cur = (stats["rx_packets"], stats["tx_packets"],
                   stats["dropped"])
            if cur != last:
                last, still = cur, time.monotonic()
            elif cur[0] >= n and time.monotonic() - still > 0.5:
                print(json.dumps(stats))
                return 0
            continue
        size = os.path.getsize(txfile) if os.path.exists(txfile) else -1
        if size != last:
            last, still = size, time.monotonic()
        elif size > 0 and time.monotonic() - still > 1.0 and \
                time.monotonic() > end - deadline + 10:
            print(json.dumps({"fallback": "tx pcap size stable"}))
            return 0
    print("wait: gave up after %.0f s; last stats %s" % (deadline, stats))
    return 1


def cmd_same(argv):
    """Frame-for-frame equality of two pcaps (timestamps ignored)."""
    a, b = rdpcap(argv[0]), rdpcap(argv[1])
    for i, (x, y) in enumerate(zip(a, b)):
        if bytes(x) != bytes(y):
            print("frame %d differs:\n  %s\n  %s" % (i, bytes(x).hex(),
                                                      bytes(y).hex()))
            return 1
    if len(a) != len(b):
        print("%s has %d frames, %s has %d" % (argv[0], len(a), argv[1],
                                               len(b)))
        return 1
    return 0


def cmd_counters(argv):
    """sluice-dp's exit line against sl-fpsim's lines and the generator."""
    import re
    log, fpsim, meta_path, n_in = argv[0], argv[1], argv[2], int(argv[3])
    line = [x for x in open(log) if "exiting: rx" in x]
    if not line:
        print("counters: no exit line in the sluice-dp log")
        return 1
    m = re.search(r"rx (\d+) packets, tx (\d+), dropped (\d+)(?: \((.*)\))?",
                  line[-1])
    dp = {"rx": int(m.group(1)), "tx": int(m.group(2))}
    for part in (m.group(4) or "").split(", "):
        if part:
            k, v = part.rsplit(" ", 1)
            dp["drop " + k] = int(v)
    sim = {"rx": n_in}
    for x in open(fpsim):
        k, v = x.strip().rsplit(" ", 1)
        sim[k] = int(v)
    gen = {"rx": n_in, "tx": 0}
    for mt in json.load(open(meta_path)):
        if mt["v"] == "drop":
            gen["drop " + mt["why"]] = gen.get("drop " + mt["why"], 0) + 1
        else:
            gen["tx"] += 1
    rc = 0
    for name, other in (("sl-fpsim", sim), ("the generator", gen)):
        if dp != other:
            keys = sorted(set(dp) | set(other))
            print("counters: sluice-dp and %s differ: %s" % (name, ", ".join(
                "%s %s/%s" % (k, dp.get(k, 0), other.get(k, 0))
                for k in keys if dp.get(k, 0) != other.get(k, 0))))
            rc = 1
    if rc == 0:
        print("counters: rx %d, tx %d, drops %s (sluice-dp = sl-fpsim = "
              "generator)" % (dp["rx"], dp["tx"], ", ".join(
                  "%s %d" % (k[5:], v) for k, v in sorted(dp.items())
                  if k.startswith("drop "))))
    return rc


def cmd_count(argv):
    print(len(rdpcap(argv[0])))


def cmd_moved(argv):
    """Flows of round 1 not on a down backend that moved in round 2."""
    a, b, down = json.load(open(argv[0])), json.load(open(argv[1])), argv[2]
    keep = [k for k in a if a[k] != down and k in b]
    moved = [k for k in keep if a[k] != b[k]]
    print("%d %d" % (len(moved), len(keep)))


def main():
    cmds = {"gen": cmd_gen, "tel": cmd_tel, "check": cmd_check,
            "moved": cmd_moved, "wait": cmd_wait, "same": cmd_same,
            "counters": cmd_counters, "count": cmd_count}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: dp_pcap.py gen|tel|wait|same|counters|check|"
                 "moved|count ...")
    sys.exit(cmds[sys.argv[1]](sys.argv[2:]) or 0)


if __name__ == "__main__":
    main()
