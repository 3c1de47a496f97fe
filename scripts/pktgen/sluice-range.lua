-- sluice-range.lua: Pktgen-DPDK throughput run against a sluice VIP.
--
-- For each protocol (TCP, UDP) and flow count (about 1k and 1M), sets up a
-- range stream on the TX port, sends for SLUICE_SECONDS after a warm-up,
-- averages the per-second rates Pktgen reports (portStats "rate") on the TX
-- and RX ports, and prints a table; the same rows go to a CSV file.
--
--   pktgen -l 0-2 -n 4 -a 0000:03:00.0 -- -P \
--       -m "[1:2].0" -f scripts/pktgen/sluice-range.lua
--
-- Settings come from the environment (defaults in brackets):
--   SLUICE_DST_MAC   MAC of the LB's receiving NIC or of the router in front
--                    of it [02:00:00:00:00:01]; Pktgen does not ARP here
--   SLUICE_VIP       VIP address [192.0.2.1]
--   SLUICE_VPORT     VIP port [80]
--   SLUICE_PROTOS    "tcp,udp", "tcp" or "udp" [tcp,udp]
--   SLUICE_FLOWS     "1k,1M", "1k" or "1M" [1k,1M]
--   SLUICE_SIZE      frame size incl. 4-byte FCS [64]
--   SLUICE_RATE      percent of line rate [100]
--   SLUICE_SECONDS   measured seconds per row [10]
--   SLUICE_WARMUP    seconds sent before measuring [2]
--   SLUICE_TX_PORT   [0]
--   SLUICE_RX_PORT   port the LB's traffic comes back on, "" for none [0]:
--                    sluice-dp is one-armed and sends back out of the port
--                    the packets came in on, to dataplane.gateway_mac
--   SLUICE_OUT       CSV file [sluice-range.csv]
--   SLUICE_QUIT      1: quit Pktgen at the end [0]
--
-- Flows: in range mode each field with a non-zero increment steps once per
-- packet and wraps independently, so the number of distinct 5-tuples is the
-- lcm of the cycle lengths. Clients come from 198.18.0.0/15 (RFC 2544):
--   1k: 1024 source addresses x 1 source port            =     1,024 flows
--   1M: 1024 source addresses x 1025 source ports (coprime) = 1,049,600 flows

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		return default
	end
	return v
end

local dst_mac = env("SLUICE_DST_MAC", "02:00:00:00:00:01")
local vip = env("SLUICE_VIP", "192.0.2.1")
local vport = tonumber(env("SLUICE_VPORT", "80"))
local size = tonumber(env("SLUICE_SIZE", "64"))
local rate = tonumber(env("SLUICE_RATE", "100"))
local seconds = tonumber(env("SLUICE_SECONDS", "10"))
local warmup = tonumber(env("SLUICE_WARMUP", "2"))
local txp = env("SLUICE_TX_PORT", "0")
local rxp = os.getenv("SLUICE_RX_PORT")
if rxp == nil then
	rxp = "0"
end
local out = env("SLUICE_OUT", "sluice-range.csv")

local profiles = {
	["1k"] = { flows = 1024, ip_max = "198.18.4.0", sport_max = 1024, sport_inc = 0 },
	["1M"] = { flows = 1024 * 1025, ip_max = "198.18.4.0", sport_max = 2048, sport_inc = 1 },
}

local function split(s)
	local t = {}
	for w in string.gmatch(s, "[^,%s]+") do
		t[#t + 1] = w
	end
	return t
end

local function setup(proto, prof)
	pktgen.stop(txp)
	pktgen.set_range(txp, "off")
	pktgen.range.ip_proto(txp, proto)

	pktgen.range.dst_mac(txp, "start", dst_mac)
	pktgen.range.dst_mac(txp, "min", dst_mac)
	pktgen.range.dst_mac(txp, "max", dst_mac)
	pktgen.range.dst_mac(txp, "inc", "00:00:00:00:00:00")

	pktgen.range.src_ip(txp, "start", "198.18.0.1")
	pktgen.range.src_ip(txp, "min", "198.18.0.1")
	pktgen.range.src_ip(txp, "max", prof.ip_max)
	pktgen.range.src_ip(txp, "inc", "0.0.0.1")

	pktgen.range.dst_ip(txp, "start", vip)
	pktgen.range.dst_ip(txp, "min", vip)
	pktgen.range.dst_ip(txp, "max", vip)
	pktgen.range.dst_ip(txp, "inc", "0.0.0.0")

	pktgen.range.src_port(txp, "start", 1024)
	pktgen.range.src_port(txp, "min", 1024)
	pktgen.range.src_port(txp, "max", prof.sport_max)
	pktgen.range.src_port(txp, "inc", prof.sport_inc)

	pktgen.range.dst_port(txp, "start", vport)
	pktgen.range.dst_port(txp, "min", vport)
	pktgen.range.dst_port(txp, "max", vport)
	pktgen.range.dst_port(txp, "inc", 0)

	pktgen.range.pkt_size(txp, "start", size)
	pktgen.range.pkt_size(txp, "min", size)
	pktgen.range.pkt_size(txp, "max", size)
	pktgen.range.pkt_size(txp, "inc", 0)

	pktgen.set(txp, "rate", rate)
	pktgen.set(txp, "count", 0)
	pktgen.set_range(txp, "on")
end

-- One row: mean TX and RX packets/s over `seconds` one-second samples, and
-- the share of sent packets that did not come back (totals, after a drain).
local function measure()
	local t, r = tonumber(txp), tonumber(rxp)
	local ports = txp
	if r ~= nil and r ~= t then
		ports = txp .. "," .. rxp
	end
	local sum_tx, sum_rx = 0, 0

	pktgen.clr()
	pktgen.start(txp)
	pktgen.delay(warmup * 1000)
	for _ = 1, seconds do
		pktgen.delay(1000)
		local s = pktgen.portStats(ports, "rate")
		sum_tx = sum_tx + s[t].opackets
		if r ~= nil then
			sum_rx = sum_rx + s[r].ipackets
		end
	end
	pktgen.stop(txp)
	pktgen.delay(1000)

	local loss = nil
	if r ~= nil then
		local s = pktgen.portStats(ports, "port")
		if s[t].opackets > 0 then
			loss = 100 * (s[t].opackets - s[r].ipackets) / s[t].opackets
		end
	end
	return sum_tx / seconds, (r ~= nil) and sum_rx / seconds or nil, loss
end

local function fmt_mpps(v)
	if v == nil then
		return "-"
	end
	return string.format("%.3f", v / 1e6)
end

local function main()
	local rows = {}
	local csv = io.open(out, "w")
	if csv then
		csv:write("proto,flows,size,rate_pct,tx_mpps,rx_mpps,loss_pct\n")
	end
	pktgen.page("range")
	for _, proto in ipairs(split(env("SLUICE_PROTOS", "tcp,udp"))) do
		for _, name in ipairs(split(env("SLUICE_FLOWS", "1k,1M"))) do
			local prof = profiles[name]
			if prof == nil then
				print("sluice-range: unknown flow profile " .. name .. " (want 1k or 1M)")
			else
				setup(proto, prof)
				local tx, rx, loss = measure()
				local row = string.format("%-5s %-9d %5d %8s %8s %8s",
					proto, prof.flows, size, fmt_mpps(tx), fmt_mpps(rx),
					loss and string.format("%.2f", loss) or "-")
				rows[#rows + 1] = row
				if csv then
					csv:write(string.format("%s,%d,%d,%s,%s,%s,%s\n", proto,
						prof.flows, size, rate, fmt_mpps(tx),
						rx and fmt_mpps(rx) or "",
						loss and string.format("%.4f", loss) or ""))
					csv:flush()
				end
			end
		end
	end
	pktgen.set_range(txp, "off")
	if csv then
		csv:close()
	end

	print(string.format("\nsluice-range: VIP %s:%d, %d s per row, rate %s%%, TX port %s, RX port %s",
		vip, vport, seconds, rate, txp, (rxp ~= "" and rxp or "none")))
	print("proto flows      size  tx_Mpps  rx_Mpps loss_%")
	for _, row in ipairs(rows) do
		print(row)
	end
	print("CSV: " .. out)
	if env("SLUICE_QUIT", "0") == "1" then
		pktgen.quit()
	end
end

main()
