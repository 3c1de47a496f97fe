/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_config.c: the config loader (control/config.c).
 *
 * The core is a table of broken configs, one mistake each, with the exact
 * one-line message each must give ("@" stands for the temporary file's
 * name): the message is the interface an operator sees, so it is pinned
 * word for word, line number included. Then the good side: every file in
 * configs/ loads, the lab config has the values the demo and integration
 * tests rely on, defaults and health-check inheritance are applied, warnings
 * come out in the same format, and two loads of one file compare equal with
 * memcmp (what reload's diff relies on).
 *
 * Runs from any directory; files are written into a mkdtemp() directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#ifndef SL_SOURCE_ROOT
#define SL_SOURCE_ROOT "."
#endif

/* ---- helpers ------------------------------------------------------------ */

static char tmpdir[64];

static int setup_dir(void **state)
{
	strcpy(tmpdir, "/tmp/sl_test_config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Write text to tmpdir/name and load it. */
static struct sl_config *load_text(const char *name, const char *text,
				   char *path, size_t plen, char *err,
				   size_t elen)
{
	snprintf(path, plen, "%s/%s", tmpdir, name);
	write_file(path, text);
	err[0] = '\0';
	return sl_config_load(path, err, elen);
}

/* expect with every "@" replaced by file. */
static void expand(char *out, size_t len, const char *expect, const char *file)
{
	size_t n = 0;

	for (; *expect && n + 1 < len; expect++) {
		if (*expect == '@')
			n += (size_t)snprintf(out + n, len - n, "%s", file);
		else
			out[n++] = *expect;
	}
	out[n < len ? n : len - 1] = '\0';
}

static struct sl_config *load_ok(const char *text)
{
	char path[256], err[512];
	struct sl_config *cfg = load_text("ok.conf", text, path, sizeof(path),
					  err, sizeof(err));

	if (!cfg)
		fail_msg("expected a valid config, got: %s", err);
	return cfg;
}

static union sl_addr addr(const char *s)
{
	union sl_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, &a) != 1)
		assert_int_equal(inet_pton(AF_INET6, s, &a), 1);
	return a;
}

/* ---- building blocks of the test configs (line numbers matter) ---------- */

/* Lines 1-2. */
#define HEAD                  \
	"instance = \"t\";\n" \
	"hash_seed = \"00112233445566778899aabbccddeeff\";\n"
/* Line 3. */
#define XDP "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ]; };\n"
#define DPDK                                                       \
	"dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ]; " \
	"gateway = \"198.51.100.1\"; local_address = \"198.51.100.2\"; };\n"
/* vips = ( on line 4, each VIP on one line from line 5. */
#define VIPS(...) "vips = (\n" __VA_ARGS__ ");\n"
#define BE1 "backends = ( { address = \"203.0.113.11\"; } );"
#define VIP_A(extra)                                            \
	"{ name = \"a\"; address = \"192.0.2.10\"; port = 80; " \
	"protocol = \"tcp\"; " extra " }\n"
/* An xdp config whose only VIP has extra settings and one backend. */
#define ONE_VIP(extra) HEAD XDP VIPS(VIP_A(extra " " BE1))

/* ---- errors: one mistake, one exact line -------------------------------- */

struct bad {
	const char *what;
	const char *text;
	const char *expect;
};

static const struct bad bad_cases[] = {
	/* syntax, as libconfig reports it */
	{ "syntax error", HEAD "dataplane = {\n mode = ;\n};\n",
	  "@:4: syntax error" },
	{ "key given twice", HEAD "instance = \"u\";\n",
	  "@:3: syntax error: duplicate setting name" },
	{ "integer libconfig would wrap",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\"; "
			      "weight = 4294967396; } );")),
	  "@:5: syntax error: integer 4294967396 does not fit in 32 bits" },
	{ "NUL byte in a string", HEAD XDP VIPS("{ name = \"a\\x00b\"; }\n"),
	  "@:5: syntax error: \\x00 in a string: libconfig strings end at a "
	  "NUL byte" },

	/* top level */
	{ "missing instance",
	  "hash_seed = \"00112233445566778899aabbccddeeff\";\n" XDP
	  "vips = ();\n",
	  "@: instance: required setting is missing" },
	{ "missing hash_seed", "instance = \"t\";\n" XDP "vips = ();\n",
	  "@: hash_seed: required setting is missing" },
	{ "missing dataplane", HEAD "vips = ();\n",
	  "@: dataplane: required setting is missing" },
	{ "missing vips", HEAD XDP, "@: vips: required setting is missing" },
	{ "unknown top-level key", HEAD XDP "vips = ();\nvip = ();\n",
	  "@:5: vip: unknown setting (valid here: instance, hash_seed, "
	  "dataplane, control, vips)" },
	{ "instance of the wrong type", "instance = 5;\n",
	  "@:1: instance: expected a string, not an integer" },
	{ "instance with capitals", "instance = \"Lab\";\n",
	  "@:1: instance: \"Lab\" may hold only a-z, 0-9, '_' and '-'" },
	{ "instance too long",
	  "instance = \"abcdefghijklmnopqrstuvwxyz0123456\";\n",
	  "@:1: instance: is too long: 33 characters, at most 32" },
	{ "empty instance", "instance = \"\";\n",
	  "@:1: instance: must not be empty" },
	{ "hash_seed one digit short",
	  "instance = \"t\";\nhash_seed = "
	  "\"00112233445566778899aabbccddeef\";\n",
	  "@:2: hash_seed: must be exactly 32 hex digits (128 bits)" },
	{ "hash_seed not hex",
	  "instance = \"t\";\nhash_seed = "
	  "\"00112233445566778899aabbccddeefg\";\n",
	  "@:2: hash_seed: must be exactly 32 hex digits (128 bits)" },
	{ "hash_seed as a number", "instance = \"t\";\nhash_seed = 0x1234;\n",
	  "@:2: hash_seed: expected a string, not an integer" },

	/* dataplane */
	{ "dataplane not a group", HEAD "dataplane = \"dpdk\";\n",
	  "@:3: dataplane: expected a group { ... }, not a string" },
	{ "missing mode",
	  HEAD "dataplane = {\n interfaces = [ \"eth0\" ];\n};\n"
	       "vips = ();\n",
	  "@:3: dataplane.mode: required setting is missing" },
	{ "unknown mode", HEAD "dataplane = { mode = \"afxdp\"; };\n",
	  "@:3: dataplane.mode: \"afxdp\" is not one of \"dpdk\", \"xdp\"" },
	{ "missing interfaces",
	  HEAD "dataplane = { mode = \"xdp\"; };\n"
	       "vips = ();\n",
	  "@:3: dataplane.interfaces: required setting is missing" },
	{ "no interfaces",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = []; };\n",
	  "@:3: dataplane.interfaces: must not be empty" },
	{ "nine interfaces",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"a\", \"b\", "
	       "\"c\", \"d\", \"e\", \"f\", \"g\", \"h\", \"i\" ]; };\n",
	  "@:3: dataplane.interfaces: has 9 elements, at most 8" },
	{ "interfaces as a string",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = \"eth0\"; };\n",
	  "@:3: dataplane.interfaces: expected an array of strings "
	  "[ \"...\", ... ], not a string" },
	{ "interface name too long",
	  HEAD "dataplane = { mode = \"xdp\";\n interfaces = [ \"eth0\",\n"
	       " \"abcdefghijklmnop\" ]; };\n",
	  "@:5: dataplane.interfaces[1]: is too long: 16 characters, at most "
	  "15" },
	{ "interface name with a slash",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"a/b\" ]; };\n",
	  "@:3: dataplane.interfaces[0]: \"a/b\" is not an interface name" },
	{ "interface listed twice",
	  HEAD "dataplane = { mode = \"xdp\";\n interfaces = [ \"eth0\",\n"
	       " \"eth0\" ]; };\nvips = ();\n",
	  "@:5: dataplane.interfaces[1]: \"eth0\" is listed twice" },
	{ "eal in xdp mode",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " eal = [ \"-l\", \"0-1\" ]; };\nvips = ();\n",
	  "@:4: dataplane.eal: only used in dpdk mode (xdp mode finds next "
	  "hops with the kernel's FIB)" },
	{ "gateway in xdp mode",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " gateway = \"198.51.100.1\"; };\nvips = ();\n",
	  "@:4: dataplane.gateway: only used in dpdk mode (xdp mode finds "
	  "next hops with the kernel's FIB)" },
	{ "xdp_mode in dpdk mode",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " xdp_mode = \"native\"; };\nvips = ();\n",
	  "@:4: dataplane.xdp_mode: only used in xdp mode" },
	{ "unknown xdp_mode",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " xdp_mode = \"skb\"; };\n",
	  "@:4: dataplane.xdp_mode: \"skb\" is not one of \"native\", "
	  "\"generic\"" },
	{ "dpdk without gateway",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " local_address = \"198.51.100.2\"; };\nvips = ();\n",
	  "@:3: dataplane.gateway: required in dpdk mode" },
	{ "dpdk without local_address",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " gateway = \"198.51.100.1\"; };\nvips = ();\n",
	  "@:3: dataplane.local_address: required in dpdk mode" },
	{ "IPv6 gateway in gateway",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " gateway = \"2001:db8::1\"; };\n",
	  "@:4: dataplane.gateway: \"2001:db8::1\" is not an IPv4 address" },
	{ "IPv4 gateway in gateway6",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " gateway6 = \"198.51.100.1\"; };\n",
	  "@:4: dataplane.gateway6: \"198.51.100.1\" is not an IPv6 address" },
	{ "gateway not an address",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " gateway = \"router1\"; };\n",
	  "@:4: dataplane.gateway: \"router1\" is not an IPv4 or IPv6 "
	  "address" },
	{ "short gateway_mac",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " gateway_mac = \"02:00:00:00:00\"; };\n",
	  "@:4: dataplane.gateway_mac: \"02:00:00:00:00\" is not a MAC "
	  "address (like \"02:00:00:00:00:01\")" },
	{ "multicast gateway_mac",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " gateway_mac = \"01:00:5e:00:00:01\"; };\n",
	  "@:4: dataplane.gateway_mac: \"01:00:5e:00:00:01\" is not a unicast "
	  "MAC address" },
	{ "loopback local_address",
	  HEAD "dataplane = { mode = \"dpdk\"; interfaces = [ \"p0\" ];\n"
	       " local_address = \"127.0.0.1\"; };\n",
	  "@:4: dataplane.local_address: \"127.0.0.1\" is not a unicast "
	  "address" },
	{ "mtu too big",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " mtu = 9001; };\n",
	  "@:4: dataplane.mtu: 9001 is out of range 576..9000" },
	{ "mtu as a string",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " mtu = \"1500\"; };\n",
	  "@:4: dataplane.mtu: expected an integer, not a string" },
	{ "unknown fragments policy",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " fragments = \"reassemble\"; };\n",
	  "@:4: dataplane.fragments: \"reassemble\" is not one of \"hash\", "
	  "\"drop\"" },
	{ "gue_port 0",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " gue_port = 0; };\n",
	  "@:4: dataplane.gue_port: 0 is out of range 1..65535" },
	{ "unknown dataplane key",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " queues = 4; };\n",
	  "@:4: dataplane.queues: unknown setting (valid here: mode, eal, "
	  "interfaces, xdp_mode, gateway, gateway_mac, gateway6, "
	  "local_address, local_address6, encap_source, encap_source6, mtu, "
	  "fragments, gue_port, flow_table)" },
	{ "encap_source without a length",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " encap_source = \"198.51.100.0\"; };\n",
	  "@:4: dataplane.encap_source: \"198.51.100.0\" is not an IPv4 "
	  "prefix ADDR/LEN (LEN 0..32)" },
	{ "encap_source prefix too short",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " encap_source = \"198.51.0.0/8\"; };\n",
	  "@:4: dataplane.encap_source: prefix /8 is too short: at most the "
	  "last 16 bits vary (use /16 or longer)" },
	{ "encap_source6 given an IPv4 prefix",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " encap_source6 = \"198.51.100.0/24\"; };\n",
	  "@:4: dataplane.encap_source6: \"198.51.100.0/24\" is not an IPv6 "
	  "prefix ADDR/LEN (LEN 0..128)" },
	{ "flow table size not a power of two",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " flow_table = {\n size = 1000000; }; };\n",
	  "@:5: dataplane.flow_table.size: 1000000 is not a power of two" },
	{ "flow table too small",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " flow_table = { size = 512; }; };\n",
	  "@:4: dataplane.flow_table.size: 512 is out of range "
	  "1024..134217728" },
	{ "flow table timeout 0",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " flow_table = { tcp_timeout = 0; }; };\n",
	  "@:4: dataplane.flow_table.tcp_timeout: 0 is out of range 1..86400" },
	{ "unknown flow table key",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " flow_table = { sise = 1024; }; };\n",
	  "@:4: dataplane.flow_table.sise: unknown setting (valid here: size, "
	  "tcp_timeout, udp_timeout)" },
	{ "flow table not a group",
	  HEAD "dataplane = { mode = \"xdp\"; interfaces = [ \"eth0\" ];\n"
	       " flow_table = 1024; };\n",
	  "@:4: dataplane.flow_table: expected a group { ... }, not an "
	  "integer" },
	{ "IPv6 encapsulation without local_address6 in dpdk mode",
	  HEAD DPDK VIPS("{ name = \"v6\"; address = \"2001:db8::10\"; "
			 "port = 80; protocol = \"tcp\"; backends = ( "
			 "{ address = \"2001:db8:1::11\"; } ); }\n"),
	  "@:3: dataplane.local_address6: required in dpdk mode: vips[0] "
	  "\"v6\" sends to IPv6 backends" },

	/* control */
	{ "relative socket",
	  HEAD XDP "control = { socket = \"sluice.sock\"; };\n",
	  "@:4: control.socket: must be an absolute path" },
	{ "socket path too long",
	  HEAD XDP "control = { socket = \"/run/sluice/"
		   "0123456789012345678901234567890123456789"
		   "0123456789012345678901234567890123456789"
		   "01234567890.sock\"; };\n",
	  "@:4: control.socket: is too long: 108 characters, at most 107" },
	{ "metrics by host name",
	  HEAD XDP "control = { metrics = \"localhost:9700\"; };\n",
	  "@:4: control.metrics: \"localhost:9700\" is not IPV4:PORT or "
	  "[IPV6]:PORT (port 1..65535)" },
	{ "metrics IPv6 without brackets",
	  HEAD XDP "control = { metrics = \"::1:9700\"; };\n",
	  "@:4: control.metrics: \"::1:9700\" is not IPV4:PORT or "
	  "[IPV6]:PORT (port 1..65535)" },
	{ "metrics port 0", HEAD XDP "control = { metrics = \"[::1]:0\"; };\n",
	  "@:4: control.metrics: \"[::1]:0\" is not IPV4:PORT or "
	  "[IPV6]:PORT (port 1..65535)" },
	{ "unknown control key",
	  HEAD XDP "control = { listen = \"/run/x\"; };\n",
	  "@:4: control.listen: unknown setting (valid here: socket, "
	  "metrics)" },

	/* VIPs */
	{ "vips as a group", HEAD XDP "vips = { };\n",
	  "@:4: vips: expected a list ( { ... }, ... ), not a group" },
	{ "a VIP that is not a group", HEAD XDP VIPS("5\n"),
	  "@:5: vips[0]: expected a group { ... }, not an integer" },
	{ "VIP without a name",
	  HEAD XDP VIPS("{ address = \"192.0.2.10\"; port = 80; "
			"protocol = \"tcp\"; " BE1 " }\n"),
	  "@:5: vips[0].name: required setting is missing" },
	{ "VIP name with a space", HEAD XDP VIPS("{ name = \"web site\"; }\n"),
	  "@:5: vips[0].name: \"web site\" may hold only letters, digits, '_', "
	  "'.' and '-'" },
	{ "VIP name too long",
	  HEAD XDP VIPS("{ name = \"abcdefghijklmnopqrstuvwxyz012345\"; }\n"),
	  "@:5: vips[0].name: is too long: 32 characters, at most 31" },
	{ "VIP address out of range",
	  HEAD XDP VIPS("{ name = \"a\"; address = \"192.0.2.300\"; }\n"),
	  "@:5: vips[0].address: \"192.0.2.300\" is not an IPv4 or IPv6 "
	  "address" },
	{ "multicast VIP",
	  HEAD XDP VIPS("{ name = \"a\"; address = \"224.0.0.1\"; }\n"),
	  "@:5: vips[0].address: \"224.0.0.1\" is not a unicast address" },
	{ "IPv4-mapped VIP",
	  HEAD XDP VIPS("{ name = \"a\"; address = \"::ffff:192.0.2.1\"; }\n"),
	  "@:5: vips[0].address: \"::ffff:192.0.2.1\" is not a unicast "
	  "address" },
	{ "VIP port negative", HEAD XDP VIPS("{ name = \"a\"; port = -1; }\n"),
	  "@:5: vips[0].port: -1 is out of range 0..65535" },
	{ "VIP port as a boolean",
	  HEAD XDP VIPS("{ name = \"a\"; port = true; }\n"),
	  "@:5: vips[0].port: expected an integer, not a boolean" },
	{ "VIP without a port",
	  HEAD XDP VIPS("{ name = \"a\"; address = \"192.0.2.10\";\n"
			"protocol = \"tcp\"; " BE1 " }\n"),
	  "@:5: vips[0].port: required setting is missing" },
	{ "unknown method", ONE_VIP("method = \"nat\";"),
	  "@:5: vips[0].method: \"nat\" is not one of \"ipip\", \"gue\", "
	  "\"l2dsr\"" },
	{ "table_size not prime", ONE_VIP("table_size = 65536;"),
	  "@:5: vips[0].table_size: 65536 is not a prime (the next prime is "
	  "65537)" },
	{ "table_size too big", ONE_VIP("table_size = 655379;"),
	  "@:5: vips[0].table_size: 655379 is out of range 2..655373" },
	{ "table_size smaller than the backends",
	  HEAD XDP VIPS(VIP_A("table_size = 3;\nbackends = ( "
			      "{ address = \"203.0.113.11\"; }, "
			      "{ address = \"203.0.113.12\"; }, "
			      "{ address = \"203.0.113.13\"; }, "
			      "{ address = \"203.0.113.14\"; } );")),
	  "@:5: vips[0].table_size: 3 is less than the number of backends "
	  "(4)" },
	{ "unknown VIP key", ONE_VIP("weight = 5;"),
	  "@:5: vips[0].weight: unknown setting (valid here: name, address, "
	  "port, protocol, method, table_size, healthcheck, backends)" },
	{ "VIP without backends", HEAD XDP VIPS(VIP_A("")),
	  "@:5: vips[0].backends: required setting is missing" },
	{ "backends as a group", HEAD XDP VIPS(VIP_A("backends = { };")),
	  "@:5: vips[0].backends: expected a list ( { ... }, ... ), not a "
	  "group" },
	{ "two VIPs with one identity",
	  HEAD XDP VIPS(VIP_A(
		  BE1) ",\n"
		       "{ name = \"b\"; address = \"192.0.2.10\"; port = 80; "
		       "protocol = \"tcp\"; " BE1 " }\n"),
	  "@:7: vips[1]: same address, port and protocol as vips[0] \"a\" "
	  "(192.0.2.10:80 tcp)" },
	{ "two IPv6 VIPs with one identity",
	  HEAD XDP VIPS(
		  "{ name = \"a\"; address = \"2001:db8::10\"; port = 53; "
		  "protocol = \"udp\"; healthcheck = { type = \"none\"; }; "
		  "backends = (); },\n"
		  "{ name = \"b\"; address = \"2001:DB8:0::10\"; port = 53; "
		  "protocol = \"udp\"; healthcheck = { type = \"none\"; }; "
		  "backends = (); }\n"),
	  "@:6: vips[1]: same address, port and protocol as vips[0] \"a\" "
	  "([2001:db8::10]:53 udp)" },
	{ "two VIPs with one name",
	  HEAD XDP VIPS(VIP_A(
		  BE1) ",\n"
		       "{ name = \"a\"; address = \"192.0.2.11\"; port = 80; "
		       "protocol = \"tcp\"; " BE1 " }\n"),
	  "@:7: vips[1].name: \"a\" is already the name of vips[0]" },

	/* health checks */
	{ "healthcheck not a group", ONE_VIP("healthcheck = \"http\";"),
	  "@:5: vips[0].healthcheck: expected a group { ... }, not a string" },
	{ "unknown healthcheck key",
	  ONE_VIP("healthcheck = { type = \"http\"; host = \"x\"; };"),
	  "@:5: vips[0].healthcheck.host: unknown setting (valid here: type, "
	  "port, path, expect, payload, expect_payload, interval_ms, "
	  "timeout_ms, rise, fall)" },
	{ "unknown healthcheck type",
	  ONE_VIP("healthcheck = { type = \"icmp\"; };"),
	  "@:5: vips[0].healthcheck.type: \"icmp\" is not one of \"none\", "
	  "\"tcp\", \"http\", \"udp\"" },
	{ "interval too short", ONE_VIP("healthcheck = { interval_ms = 50; };"),
	  "@:5: vips[0].healthcheck.interval_ms: 50 is out of range "
	  "100..3600000" },
	{ "timeout longer than interval",
	  HEAD XDP VIPS(VIP_A("healthcheck = {\n interval_ms = 500;\n"
			      " timeout_ms = 800; }; " BE1)),
	  "@:7: vips[0].healthcheck.timeout_ms: 800 is more than interval_ms "
	  "500" },
	{ "rise 0", ONE_VIP("healthcheck = { rise = 0; };"),
	  "@:5: vips[0].healthcheck.rise: 0 is out of range 1..100" },
	{ "fall 101", ONE_VIP("healthcheck = { fall = 101; };"),
	  "@:5: vips[0].healthcheck.fall: 101 is out of range 1..100" },
	{ "HTTP status 99",
	  ONE_VIP("healthcheck = { type = \"http\"; expect = 99; };"),
	  "@:5: vips[0].healthcheck.expect: 99 is out of range 100..599" },
	{ "path without a slash",
	  ONE_VIP("healthcheck = { type = \"http\"; path = \"healthz\"; };"),
	  "@:5: vips[0].healthcheck.path: must start with '/' and hold no "
	  "spaces or control characters" },
	{ "path for a tcp check",
	  ONE_VIP("healthcheck = { type = \"tcp\"; path = \"/\"; };"),
	  "@:5: vips[0].healthcheck.path: not used by health checks of type "
	  "\"tcp\"" },
	{ "interval for type none",
	  ONE_VIP("healthcheck = { type = \"none\"; interval_ms = 1000; };"),
	  "@:5: vips[0].healthcheck.interval_ms: not used by health checks of "
	  "type \"none\"" },
	{ "udp VIP without a healthcheck",
	  HEAD XDP VIPS("{ name = \"d\"; address = \"192.0.2.53\"; port = 53; "
			"protocol = \"udp\"; " BE1 " }\n"),
	  "@:5: vips[0].healthcheck: required for a udp VIP (type \"udp\" with "
	  "a payload, \"tcp\" or \"none\")" },
	{ "udp VIP healthcheck without a type",
	  HEAD XDP VIPS(
		  "{ name = \"d\"; address = \"192.0.2.53\"; port = 53; "
		  "protocol = \"udp\";\n healthcheck = { port = 53; }; " BE1
		  " }\n"),
	  "@:6: vips[0].healthcheck.type: required for a udp VIP" },
	{ "udp check without payload",
	  HEAD XDP VIPS("{ name = \"d\"; address = \"192.0.2.53\"; port = 53; "
			"protocol = \"udp\";\n healthcheck = { type = \"udp\"; "
			"}; " BE1 " }\n"),
	  "@:6: vips[0].healthcheck.payload: required for type \"udp\"" },
	{ "port-agnostic VIP with nothing to check",
	  HEAD XDP VIPS("{ name = \"any\"; address = \"192.0.2.10\"; port = 0; "
			"protocol = \"tcp\";\n backends = (\n"
			" { address = \"203.0.113.11\"; } ); }\n"),
	  "@:7: vips[0].backends[0]: no port to health-check: the VIP is "
	  "port-agnostic, so set port or healthcheck.port" },

	/* backends */
	{ "backend not a group", HEAD XDP VIPS(VIP_A("backends = ( 5 );")),
	  "@:5: vips[0].backends[0]: expected a group { ... }, not an "
	  "integer" },
	{ "backend without address",
	  HEAD XDP VIPS(VIP_A("backends = ( { weight = 5; } );")),
	  "@:5: vips[0].backends[0].address: required setting is missing" },
	{ "backend address as a number",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = 10; } );")),
	  "@:5: vips[0].backends[0].address: expected a string, not an "
	  "integer" },
	{ "backend address with a prefix",
	  HEAD XDP VIPS(
		  VIP_A("backends = (\n { address = \"203.0.113.0/24\"; } );")),
	  "@:6: vips[0].backends[0].address: \"203.0.113.0/24\" is not an IPv4 "
	  "or IPv6 address" },
	{ "weight too big",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\"; "
			      "weight = 65536; } );")),
	  "@:5: vips[0].backends[0].weight: 65536 is out of range 0..65535" },
	{ "weight as a float",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\"; "
			      "weight = 1.5; } );")),
	  "@:5: vips[0].backends[0].weight: expected an integer, not a float" },
	{ "backend port 0",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\"; "
			      "port = 0; } );")),
	  "@:5: vips[0].backends[0].port: 0 is out of range 1..65535" },
	{ "unknown backend key",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\"; "
			      "wieght = 5; } );")),
	  "@:5: vips[0].backends[0].wieght: unknown setting (valid here: "
	  "address, port, weight, mac, healthcheck)" },
	{ "backend listed twice",
	  HEAD XDP VIPS(
		  VIP_A("backends = (\n"
			" { address = \"203.0.113.11\"; },\n"
			" { address = \"203.0.113.11\"; port = 80; } );")),
	  "@:7: vips[0].backends[1]: same address and port as backends[0] "
	  "(203.0.113.11:80)" },
	{ "mac with ipip",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\"; "
			      "mac = \"02:00:00:00:00:01\"; } );")),
	  "@:5: vips[0].backends[0].mac: only used by method \"l2dsr\" (this "
	  "VIP uses \"ipip\")" },
	{ "bad backend mac",
	  HEAD XDP VIPS(
		  VIP_A("method = \"l2dsr\"; backends = ( { address = "
			"\"203.0.113.11\"; mac = \"02-00-00-00-00-01\"; } );")),
	  "@:5: vips[0].backends[0].mac: \"02-00-00-00-00-01\" is not a MAC "
	  "address (like \"02:00:00:00:00:01\")" },
	{ "IPv4 backend for an IPv6 VIP",
	  HEAD XDP VIPS(
		  "{ name = \"v6\"; address = \"2001:db8::10\"; port = 80; "
		  "protocol = \"tcp\"; " BE1 " }\n"),
	  "@:5: vips[0].backends[0].address: IPv4 backend for an IPv6 VIP "
	  "(IPv6-in-IPv4 is not supported)" },
	{ "IPv6 backend for an IPv4 l2dsr VIP",
	  HEAD XDP VIPS(VIP_A("method = \"l2dsr\"; backends = ( { address = "
			      "\"2001:db8:1::11\"; } );")),
	  "@:5: vips[0].backends[0].address: IPv6 backend for an IPv4 VIP: "
	  "l2dsr backends must be in the VIP's family" },
	{ "backends of two families",
	  HEAD XDP VIPS(VIP_A("backends = (\n"
			      " { address = \"2001:db8:1::11\"; },\n"
			      " { address = \"203.0.113.11\"; } );")),
	  "@:7: vips[0].backends[1].address: IPv4 backend, but backends[0] is "
	  "IPv6: all backends of a VIP must share one family" },
	{ "unknown key in a backend's healthcheck",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\";\n"
			      " healthcheck = { intervall_ms = 5; }; } );")),
	  "@:6: vips[0].backends[0].healthcheck.intervall_ms: unknown setting "
	  "(valid here: type, port, path, expect, payload, expect_payload, "
	  "interval_ms, timeout_ms, rise, fall)" },
	{ "backend's timeout over the VIP's interval",
	  HEAD XDP VIPS(VIP_A(
		  "healthcheck = { interval_ms = 500; timeout_ms = 400; };\n"
		  "backends = ( { address = \"203.0.113.11\";\n"
		  " healthcheck = { timeout_ms = 800; }; } );")),
	  "@:7: vips[0].backends[0].healthcheck.timeout_ms: 800 is more than "
	  "interval_ms 500" },
	{ "backend's interval under the VIP's timeout",
	  HEAD XDP VIPS(VIP_A("healthcheck = { timeout_ms = 400; };\n"
			      "backends = ( { address = \"203.0.113.11\";\n"
			      " healthcheck = { interval_ms = 300; }; } );")),
	  "@:7: vips[0].backends[0].healthcheck.interval_ms: 300 is less than "
	  "timeout_ms 400" },
	{ "backend's path when the check is tcp",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\";\n"
			      " healthcheck = { path = \"/x\"; }; } );")),
	  "@:6: vips[0].backends[0].healthcheck.path: not used by health "
	  "checks of type \"tcp\"" },
	{ "backend switching to udp without a payload",
	  HEAD XDP VIPS(VIP_A("backends = ( { address = \"203.0.113.11\";\n"
			      " healthcheck = { type = \"udp\"; }; } );")),
	  "@:6: vips[0].backends[0].healthcheck.payload: required for type "
	  "\"udp\"" },
};

/* Multi-line VIPs and included files. */
static const struct bad more_cases[] = {
	{ "VIP port too big",
	  HEAD XDP VIPS("{ name = \"a\"; address = \"192.0.2.10\";\n"
			"  port = 70000; }\n"),
	  "@:6: vips[0].port: 70000 is out of range 0..65535" },
	{ "unknown protocol",
	  HEAD XDP VIPS("{ name = \"b\"; address = \"192.0.2.10\";\n"
			" protocol = \"sctp\"; }\n"),
	  "@:6: vips[0].protocol: \"sctp\" is not one of \"tcp\", \"udp\"" },
	{ "backends inside an include",
	  HEAD XDP VIPS(VIP_A("backends = (\n@include \"inc-bad.conf\"\n);")),
	  "@DIR/inc-bad.conf:2: vips[0].backends[0].weight: -1 is out of "
	  "range 0..65535" },
	{ "missing include", HEAD "@include \"nope.conf\"\n",
	  "@:3: syntax error: cannot open include file" },
};

/* Returns 1 when the case fails, after printing why. */
static int run_bad(const struct bad *b, unsigned int i)
{
	char path[256], err[1024], want[1024];
	struct sl_config *cfg;
	char name[32];

	snprintf(name, sizeof(name), "bad%03u.conf", i);
	cfg = load_text(name, b->text, path, sizeof(path), err, sizeof(err));
	if (!strncmp(b->expect, "@DIR/", 5))
		snprintf(want, sizeof(want), "%s/%s", tmpdir, b->expect + 5);
	else
		expand(want, sizeof(want), b->expect, path);
	if (cfg || strcmp(err, want) || errno != EINVAL) {
		print_error("case \"%s\":\n  got:  %s\n  want: %s\n", b->what,
			    cfg ? "(accepted)" : err, want);
		sl_config_free(cfg);
		return 1;
	}
	return 0;
}

static void test_config_each_mistake_gives_its_exact_line(void **state)
{
	unsigned int i, failed = 0;
	char inc[300];

	snprintf(inc, sizeof(inc), "%s/inc-bad.conf", tmpdir);
	write_file(inc, "{ address = \"203.0.113.11\";\n  weight = -1; }\n");
	for (i = 0; i < SL_ARRAY_SIZE(bad_cases); i++)
		failed += run_bad(&bad_cases[i], i);
	for (i = 0; i < SL_ARRAY_SIZE(more_cases); i++)
		failed += run_bad(&more_cases[i], 500 + i);
	assert_int_equal(failed, 0);
}

static void test_config_error_table_is_large(void **state)
{
	assert_true(SL_ARRAY_SIZE(bad_cases) + SL_ARRAY_SIZE(more_cases) >= 30);
}

static void test_config_missing_file_says_why(void **state)
{
	char err[512], want[512];
	struct sl_config *cfg;

	snprintf(want, sizeof(want), "%s/absent.conf", tmpdir);
	cfg = sl_config_load(want, err, sizeof(err));
	assert_null(cfg);
	assert_int_equal(errno, ENOENT);
	strcat(want, ": cannot open: No such file or directory");
	assert_string_equal(err, want);
}

static void test_config_error_is_truncated_not_overflowed(void **state)
{
	char err[16];
	struct sl_config *cfg;

	memset(err, 'x', sizeof(err));
	cfg = sl_config_load_string("instance = 5;\n", "a-long-file-name.conf",
				    err, 12);
	assert_null(cfg);
	assert_int_equal(strlen(err), 11);
	assert_int_equal(err[12], 'x');
}

static void test_config_load_string_names_the_source(void **state)
{
	char err[256];

	assert_null(sl_config_load_string("instance = \"T\";\n", "<test>", err,
					  sizeof(err)));
	assert_string_equal(err, "<test>:1: instance: \"T\" may hold only "
				 "a-z, 0-9, '_' and '-'");
}

/* ---- the shipped configs ------------------------------------------------ */

static void test_config_every_shipped_config_loads(void **state)
{
	char pattern[512], err[1024];
	glob_t g;
	size_t i;

	snprintf(pattern, sizeof(pattern), "%s/configs/*.conf", SL_SOURCE_ROOT);
	assert_int_equal(glob(pattern, 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 3);
	for (i = 0; i < g.gl_pathc; i++) {
		struct sl_config *cfg =
			sl_config_load(g.gl_pathv[i], err, sizeof(err));

		if (!cfg)
			fail_msg("%s", err);
		if (cfg->n_warnings)
			fail_msg("%s", cfg->warnings[0]);
		assert_true(cfg->n_vips >= 1);
		sl_config_free(cfg);
	}
	globfree(&g);
}

static void test_config_lab_has_the_values_the_tests_rely_on(void **state)
{
	static const char *const eal[] = {
		"-l",	      "0-1",
		"--no-pci",   "--file-prefix",
		"sluice-lab", "--force-max-simd-bitwidth=512",
		"--vdev",     "net_af_packet0,iface=lb0"
	};
	const struct sl_config_dataplane *dp;
	const struct sl_config_vip *v;
	struct sl_config *cfg;
	union sl_addr a;
	char err[1024];
	unsigned int i;

	cfg = sl_config_load(SL_SOURCE_ROOT "/configs/lab.conf", err,
			     sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_string_equal(cfg->instance, "lab");
	assert_string_equal(cfg->hash_seed_hex,
			    "00112233445566778899aabbccddeeff");
	assert_true(cfg->hash_seed.k0 == 0x7766554433221100ULL);
	assert_true(cfg->hash_seed.k1 == 0xffeeddccbbaa9988ULL);
	dp = &cfg->dp;
	assert_int_equal(dp->mode, SL_DP_DPDK);
	assert_int_equal(dp->xdp_mode, 0);
	assert_int_equal(dp->n_eal, SL_ARRAY_SIZE(eal));
	for (i = 0; i < SL_ARRAY_SIZE(eal); i++)
		assert_string_equal(dp->eal[i], eal[i]);
	assert_int_equal(dp->n_interfaces, 1);
	assert_string_equal(dp->interfaces[0], "lb0");
	a = addr("198.51.100.1");
	assert_int_equal(dp->gateway_family, SL_AF_INET);
	assert_memory_equal(&dp->gateway, &a, sizeof(a));
	a = addr("198.51.100.2");
	assert_int_equal(dp->local_family, SL_AF_INET);
	assert_memory_equal(&dp->local_address, &a, sizeof(a));
	assert_int_equal(dp->gateway6_family, 0);
	assert_int_equal(dp->local6_family, 0);
	assert_false(dp->has_gateway_mac);
	assert_int_equal(dp->mtu, 1600);
	assert_int_equal(dp->fragments, SL_FRAG_HASH);
	assert_int_equal(dp->gue_port, 6080);
	assert_int_equal(dp->flow_table_size, 65536);
	assert_int_equal(dp->tcp_timeout, 900);
	assert_int_equal(dp->udp_timeout, 30);
	assert_string_equal(cfg->ctl.socket, "/run/sluice/lab.sock");
	a = addr("127.0.0.1");
	assert_int_equal(cfg->ctl.metrics_family, SL_AF_INET);
	assert_memory_equal(&cfg->ctl.metrics_addr, &a, sizeof(a));
	assert_int_equal(cfg->ctl.metrics_port, 9700);

	assert_int_equal(cfg->n_vips, 1);
	v = &cfg->vips[0];
	assert_string_equal(v->name, "web");
	a = addr("192.0.2.10");
	assert_int_equal(v->family, SL_AF_INET);
	assert_memory_equal(&v->addr, &a, sizeof(a));
	assert_int_equal(v->port, 80);
	assert_int_equal(v->proto, SL_IPPROTO_TCP);
	assert_int_equal(v->method, SL_METHOD_IPIP);
	assert_int_equal(v->table_size, 65537);
	assert_int_equal(v->hc.type, SL_HC_HTTP);
	assert_int_equal(v->hc.port, 80);
	assert_string_equal(v->hc.path, "/healthz");
	assert_int_equal(v->hc.expect, 200);
	assert_int_equal(v->hc.interval_ms, 500);
	assert_int_equal(v->hc.timeout_ms, 300);
	assert_int_equal(v->hc.rise, 2);
	assert_int_equal(v->hc.fall, 2);
	assert_int_equal(v->n_backends, 3);
	for (i = 0; i < 3; i++) {
		const struct sl_config_backend *b = &v->backends[i];
		char ip[32];

		snprintf(ip, sizeof(ip), "203.0.113.%u", 11 + i);
		a = addr(ip);
		assert_int_equal(b->family, SL_AF_INET);
		assert_memory_equal(&b->addr, &a, sizeof(a));
		assert_int_equal(b->port, 80);
		assert_int_equal(b->weight, 100);
		assert_false(b->has_mac);
		assert_memory_equal(&b->hc, &v->hc, sizeof(b->hc));
	}
	assert_int_equal(sl_config_count_backends(cfg), 3);
	assert_int_equal(cfg->n_warnings, 0);
	sl_config_free(cfg);
}

/* ---- defaults, inheritance, warnings ------------------------------------ */

static void test_config_defaults_fill_what_is_left_out(void **state)
{
	struct sl_config *cfg = load_ok(ONE_VIP(""));
	const struct sl_config_vip *v = &cfg->vips[0];
	const struct sl_config_backend *b = &v->backends[0];

	assert_int_equal(cfg->dp.mode, SL_DP_XDP);
	assert_int_equal(cfg->dp.xdp_mode, SL_XDP_NATIVE);
	assert_int_equal(cfg->dp.n_eal, 0);
	assert_int_equal(cfg->dp.mtu, 1500);
	assert_int_equal(cfg->dp.fragments, SL_FRAG_HASH);
	assert_int_equal(cfg->dp.gue_port, 6080);
	assert_int_equal(cfg->dp.flow_table_size, 1u << 20);
	assert_int_equal(cfg->dp.tcp_timeout, 900);
	assert_int_equal(cfg->dp.udp_timeout, 30);
	assert_int_equal(cfg->dp.gateway_family, 0);
	assert_int_equal(cfg->dp.local_family, 0);
	assert_string_equal(cfg->ctl.socket, "/run/sluice/t.sock");
	assert_int_equal(cfg->ctl.metrics_family, 0);
	assert_int_equal(v->method, SL_METHOD_IPIP);
	assert_int_equal(v->table_size, 65537);
	/* tcp VIP without healthcheck: TCP connect to the backend's port */
	assert_int_equal(v->hc.type, SL_HC_TCP);
	assert_int_equal(v->hc.port, 0);
	assert_int_equal(v->hc.interval_ms, 1000);
	assert_int_equal(v->hc.timeout_ms, 500);
	assert_int_equal(v->hc.rise, 2);
	assert_int_equal(v->hc.fall, 3);
	assert_int_equal(b->port, 80);
	assert_int_equal(b->weight, 100);
	assert_int_equal(b->hc.type, SL_HC_TCP);
	assert_int_equal(b->hc.port, 80);
	assert_int_equal(b->hc.expect, 0);
	assert_string_equal(b->hc.path, "");
	sl_config_free(cfg);
}

static void test_config_default_timeout_fits_a_short_interval(void **state)
{
	struct sl_config *cfg = load_ok(ONE_VIP(
		"healthcheck = { type = \"http\"; interval_ms = 200; };"));

	assert_int_equal(cfg->vips[0].hc.timeout_ms, 200);
	assert_string_equal(cfg->vips[0].hc.path, "/");
	assert_int_equal(cfg->vips[0].hc.expect, 200);
	sl_config_free(cfg);
}

static void test_config_backend_healthcheck_overrides_key_by_key(void **state)
{
	struct sl_config *cfg = load_ok(HEAD XDP VIPS(
		"{ name = \"dns\"; address = \"192.0.2.53\"; port = 0; "
		"protocol = \"udp\"; method = \"gue\";\n"
		"healthcheck = { type = \"udp\"; port = 53; payload = "
		"\"ping\"; "
		"expect_payload = \"pong\"; interval_ms = 2000; rise = 5; };\n"
		"backends = (\n"
		"{ address = \"2001:db8:1::1\"; },\n"
		"{ address = \"2001:db8:1::2\"; port = 5353; "
		"healthcheck = { rise = 1; timeout_ms = 1500; }; },\n"
		"{ address = \"2001:db8:1::3\"; "
		"healthcheck = { type = \"http\"; port = 8080; }; },\n"
		"{ address = \"2001:db8:1::4\"; weight = 0; "
		"healthcheck = { type = \"none\"; }; }\n"
		"); }\n"));
	const struct sl_config_vip *v = &cfg->vips[0];
	const struct sl_config_hc *h;

	assert_int_equal(v->family, SL_AF_INET);
	assert_int_equal(v->backends[0].family, SL_AF_INET6);
	assert_int_equal(v->backends[0].port, 0); /* port-agnostic */
	h = &v->backends[0].hc;
	assert_int_equal(h->type, SL_HC_UDP);
	assert_int_equal(h->port, 53);
	assert_string_equal(h->payload, "ping");
	assert_string_equal(h->expect_payload, "pong");
	assert_int_equal(h->interval_ms, 2000);
	assert_int_equal(h->timeout_ms, 500);
	assert_int_equal(h->rise, 5);
	assert_int_equal(h->fall, 3);

	h = &v->backends[1].hc;
	assert_int_equal(v->backends[1].port, 5353);
	assert_int_equal(h->port, 53); /* the VIP's check port wins */
	assert_int_equal(h->rise, 1);
	assert_int_equal(h->timeout_ms, 1500);
	assert_int_equal(h->interval_ms, 2000);
	assert_string_equal(h->payload, "ping");

	h = &v->backends[2].hc; /* type changed: udp keys go */
	assert_int_equal(h->type, SL_HC_HTTP);
	assert_int_equal(h->port, 8080);
	assert_string_equal(h->path, "/");
	assert_int_equal(h->expect, 200);
	assert_string_equal(h->payload, "");
	assert_string_equal(h->expect_payload, "");
	assert_int_equal(h->rise, 5);

	h = &v->backends[3].hc;
	assert_int_equal(h->type, SL_HC_NONE);
	assert_int_equal(h->port, 0);
	assert_int_equal(h->interval_ms, 0);
	assert_int_equal(v->backends[3].weight, 0);
	sl_config_free(cfg);
}

static void test_config_ipv4_vip_may_use_ipv6_backends_for_ipip(void **state)
{
	struct sl_config *cfg = load_ok(HEAD XDP VIPS(
		VIP_A("backends = ( { address = \"2001:db8:1::11\"; } );")));

	assert_int_equal(cfg->vips[0].backends[0].family, SL_AF_INET6);
	sl_config_free(cfg);
}

static void test_config_zero_vips_is_valid(void **state)
{
	struct sl_config *cfg = load_ok(HEAD XDP "vips = ();\n");

	assert_int_equal(cfg->n_vips, 0);
	assert_int_equal(sl_config_count_backends(cfg), 0);
	sl_config_free(cfg);
	cfg = load_ok(HEAD XDP "vips = [];\n");
	assert_int_equal(cfg->n_vips, 0);
	sl_config_free(cfg);
}

static void test_config_vips_may_share_an_address(void **state)
{
	/* same address: another port, another protocol, port-agnostic */
	struct sl_config *cfg = load_ok(HEAD XDP VIPS(VIP_A(
		BE1) ",\n"
		     "{ name = \"b\"; address = \"192.0.2.10\"; port = 443; "
		     "protocol = \"tcp\"; " BE1 " },\n"
		     "{ name = \"c\"; address = \"192.0.2.10\"; port = 80; "
		     "protocol = \"udp\"; healthcheck = { type = \"none\"; "
		     "}; " BE1 " },\n"
		     "{ name = \"d\"; address = \"192.0.2.10\"; port = 0; "
		     "protocol = \"tcp\"; healthcheck = { port = 22; }; " BE1
		     " }\n"));

	assert_int_equal(cfg->n_vips, 4);
	assert_int_equal(cfg->vips[3].backends[0].hc.port, 22);
	sl_config_free(cfg);
}

static void test_config_warnings_use_the_error_format(void **state)
{
	char path[256], err[512], want[512];
	struct sl_config *cfg;

	cfg = load_text("warn.conf",
			HEAD XDP VIPS(VIP_A("table_size = 257;\nbackends = ( "
					    "{ address = \"203.0.113.11\"; }, "
					    "{ address = \"203.0.113.12\"; }, "
					    "{ address = \"203.0.113.13\"; } "
					    ");") ",\n"
						  "{ name = \"b\"; address = "
						  "\"192.0.2.11\"; port = 80; "
						  "protocol = \"tcp\";\n "
						  "backends = (); }\n"),
			path, sizeof(path), err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->n_warnings, 2);
	snprintf(want, sizeof(want),
		 "%s:5: vips[0].table_size: 257 is less "
		 "than 100 x the number of backends (3): shares may stray more "
		 "than 1%% from the weights (a prime >= 307 fixes that)",
		 path);
	assert_string_equal(cfg->warnings[0], want);
	snprintf(want, sizeof(want),
		 "%s:9: vips[1].backends: no backends: "
		 "traffic to this VIP is dropped",
		 path);
	assert_string_equal(cfg->warnings[1], want);
	sl_config_free(cfg);
}

static void test_config_two_loads_compare_equal(void **state)
{
	char err[1024];
	struct sl_config *a, *b;
	unsigned int i, j;

	a = sl_config_load(SL_SOURCE_ROOT "/configs/dpdk-baremetal.conf", err,
			   sizeof(err));
	if (!a)
		fail_msg("%s", err);
	b = sl_config_load(SL_SOURCE_ROOT "/configs/dpdk-baremetal.conf", err,
			   sizeof(err));
	assert_non_null(b);
	assert_memory_equal(&a->dp, &b->dp, sizeof(a->dp));
	assert_memory_equal(&a->ctl, &b->ctl, sizeof(a->ctl));
	assert_int_equal(a->n_vips, b->n_vips);
	for (i = 0; i < a->n_vips; i++) {
		assert_memory_equal(&a->vips[i].hc, &b->vips[i].hc,
				    sizeof(a->vips[i].hc));
		assert_int_equal(a->vips[i].n_backends, b->vips[i].n_backends);
		for (j = 0; j < a->vips[i].n_backends; j++)
			assert_memory_equal(&a->vips[i].backends[j],
					    &b->vips[i].backends[j],
					    sizeof(a->vips[i].backends[j]));
	}
	sl_config_free(a);
	sl_config_free(b);
}

static void test_config_include_is_relative_to_the_file(void **state)
{
	char sub[300], path[256], err[512];
	struct sl_config *cfg;

	snprintf(sub, sizeof(sub), "%s/backends.inc", tmpdir);
	write_file(sub, "{ address = \"203.0.113.21\"; },\n"
			"{ address = \"203.0.113.22\"; }\n");
	cfg = load_text("inc.conf",
			HEAD XDP VIPS(VIP_A(
				"backends = (\n@include \"backends.inc\"\n);")),
			path, sizeof(path), err, sizeof(err));
	if (!cfg)
		fail_msg("%s", err);
	assert_int_equal(cfg->vips[0].n_backends, 2);
	sl_config_free(cfg);
}

static void test_config_names_of_values(void **state)
{
	assert_string_equal(sl_config_method_name(SL_METHOD_GUE), "gue");
	assert_string_equal(sl_config_proto_name(SL_IPPROTO_UDP), "udp");
	assert_string_equal(sl_config_hc_type_name(SL_HC_HTTP), "http");
	assert_string_equal(sl_config_method_name(99), "?");
	sl_config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_each_mistake_gives_its_exact_line),
		cmocka_unit_test(test_config_error_table_is_large),
		cmocka_unit_test(test_config_missing_file_says_why),
		cmocka_unit_test(test_config_error_is_truncated_not_overflowed),
		cmocka_unit_test(test_config_load_string_names_the_source),
		cmocka_unit_test(test_config_every_shipped_config_loads),
		cmocka_unit_test(
			test_config_lab_has_the_values_the_tests_rely_on),
		cmocka_unit_test(test_config_defaults_fill_what_is_left_out),
		cmocka_unit_test(
			test_config_default_timeout_fits_a_short_interval),
		cmocka_unit_test(
			test_config_backend_healthcheck_overrides_key_by_key),
		cmocka_unit_test(
			test_config_ipv4_vip_may_use_ipv6_backends_for_ipip),
		cmocka_unit_test(test_config_zero_vips_is_valid),
		cmocka_unit_test(test_config_vips_may_share_an_address),
		cmocka_unit_test(test_config_warnings_use_the_error_format),
		cmocka_unit_test(test_config_two_loads_compare_equal),
		cmocka_unit_test(test_config_include_is_relative_to_the_file),
		cmocka_unit_test(test_config_names_of_values),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
