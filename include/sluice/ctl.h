/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl.h: the control-socket protocol between sluiced and sluicectl (or any
 * script: `printf 'status\n' | socat - UNIX:/run/sluice/lab.sock`).
 *
 * Transport: a unix stream socket (control.socket in the config, mode 0600,
 * so only root or the daemon's user may talk to it). The client connects,
 * sends ONE request line and reads ONE reply until EOF:
 *
 *   request:  COMMAND [ARG...]\n      words separated by spaces or tabs, at
 *                                     most SL_CTL_REQUEST_MAX bytes; EOF
 *                                     (shutdown(SHUT_WR)) also ends it
 *   reply:    one JSON object, then the daemon closes the connection
 *     {"code":0,"result":VALUE}
 *     {"code":N,"error":"vip web: no backend 203.0.113.99"}
 *
 * The daemon answers within SL_CTL_TIMEOUT_MS or drops the connection. The
 * reply is the one output format of the daemon; sluicectl prints it as-is
 * with --json and renders tables from it otherwise. Field names below are
 * stable: new fields may be added, none is renamed or removed. Counters are
 * integers; a value the daemon does not have (dataplane counters with no
 * dataplane attached, the latency of a backend never checked) is null.
 * Addresses are text ("192.0.2.10", "2001:db8::1"); a backend is
 * "ADDR:PORT" ("203.0.113.11:80", "[2001:db8::1]:80").
 *
 * help     {"commands":[{"name","args","help"}...]}
 * status   {"instance","pid","uptime_s","mode":"dpdk|xdp","config_file",
 *           "generation","publishes","publish_failures","publish_pending",
 *           "reloads","reload_failures","last_reload_error":STR|null,
 *           "dataplane":{"attached","alive","pid","heartbeat_age_ms",
 *                        "lcores","table_generation"},
 *           "vips","backends":{"total","up","down","drained"}}
 * vips     {"vips":[{"name","address","port","proto","method","table_size",
 *           "backends_up","backends_total","packets","bytes","new_flows",
 *           "drops"}...]}                 port 0: port-agnostic
 * backends {"backends":[{"vip","backend","address","port","weight",
 *           "config_weight","state":"up|down|drained",
 *           "health":"unknown|up|down","drained","check":"tcp|http|udp|none",
 *           "checks_ok","checks_failed",
 *           "last_latency_us","last_check_age_ms","last_error":STR|null,
 *           "packets","bytes","new_flows"}...]}    [VIP]: only that VIP's
 * stats    {"available","lcores","rx_packets","rx_bytes","tx_packets",
 *           "tx_bytes","flow_hits","flow_misses","flow_evictions",
 *           "flow_repicks","arp_replies","icmp_echo_replies",
 *           "icmp_too_big_sent","icmp_errors_forwarded","drops_total",
 *           "drops":{"truncated":N,...}}  every reason of SL_DROP_LIST but
 *           "none"; with available false the counters are absent
 * drain VIP BACKEND, undrain VIP BACKEND
 *          {"vip","backend","drained","state"}
 * weight VIP BACKEND N
 *          {"vip","backend","weight"}     N in 0..SL_CTL_WEIGHT_MAX
 * reload   {"config_file","generation","reloads","vips","backends",
 *           "warnings":[STR...],"publish_pending"}   generation is the one
 *           before the reload while publish_pending is true: poll status
 *
 * BACKEND is "ADDR" or "ADDR:PORT" ("[V6ADDR]:PORT"); an address alone
 * names every backend of the VIP with that address.
 *
 * Errors name what is wrong, e.g. code 1 "unknown command 'x' (try
 * 'help')", "usage: drain VIP BACKEND"; code 2 "no VIP named \"x\"",
 * "vip web has no backend 203.0.113.99"; code 3 "weight 70000 is not in
 * 0..65535"; code 4 the config error, "FILE:LINE: SETTING: ...".
 */
#ifndef SLUICE_CTL_H
#define SLUICE_CTL_H

/* The "code" of a reply. Append only: scripts test these numbers. */
enum sl_ctl_code {
	SL_CTL_OK = 0,
	SL_CTL_BAD_REQUEST = 1,	  /* unknown command, wrong arguments */
	SL_CTL_NOT_FOUND = 2,	  /* no such VIP or backend */
	SL_CTL_INVALID = 3,	  /* a value out of range (weight) */
	SL_CTL_RELOAD_FAILED = 4, /* the new config was refused; old one kept */
	SL_CTL_INTERNAL = 5,	  /* out of memory, publish failed, ... */
};

enum {
	SL_CTL_REQUEST_MAX = 4096,   /* bytes, newline included */
	SL_CTL_REPLY_MAX = 64 << 20, /* bytes; a client refuses more */
	SL_CTL_ARGS_MAX = 8,	     /* words in a request */
	SL_CTL_TIMEOUT_MS = 5000,    /* per connection, whole exchange */
	SL_CTL_CLIENTS_MAX = 64,     /* connections served at once */
	SL_CTL_WEIGHT_MAX = 65535,
};

/*
 * The commands served over the socket, one row each:
 * X(id, name, args usage, min args, max args, help). sluiced's handlers and
 * sluicectl's renderers are both generated from this list, so neither can
 * miss a command, and `help` on either side prints the same text.
 */
#define SL_CTL_COMMANDS(X)                                                \
	X(help, "help", "", 0, 0, "list the commands the daemon serves")  \
	X(status, "status", "", 0, 0,                                     \
	  "daemon and dataplane state, config generation, reloads")       \
	X(vips, "vips", "", 0, 0,                                         \
	  "list VIPs with method, backends up, packets and flows")        \
	X(backends, "backends", "[VIP]", 0, 1,                            \
	  "list backends with state, health, weight, checks and flows")   \
	X(stats, "stats", "", 0, 0,                                       \
	  "dataplane totals: packets, bytes, flows, drops by reason")     \
	X(drain, "drain", "VIP BACKEND", 2, 2,                            \
	  "stop new flows to BACKEND (ADDR[:PORT]); existing flows stay") \
	X(undrain, "undrain", "VIP BACKEND", 2, 2,                        \
	  "give BACKEND new flows again")                                 \
	X(weight, "weight", "VIP BACKEND N", 3, 3,                        \
	  "set BACKEND's weight (0..65535; 0 takes no new flows)")        \
	X(reload, "reload", "", 0, 0,                                     \
	  "re-read the config file (as SIGHUP); a bad file changes nothing")

#endif /* SLUICE_CTL_H */
