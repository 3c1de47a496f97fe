/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.h: the sluice configuration file, parsed and validated.
 *
 * sl_config_load() reads a libconfig file into a new struct sl_config and
 * validates all of it before returning; a caller (sluiced at start and on
 * reload, sluicectl check-config) commits it only when it is returned whole.
 * On error it returns NULL and writes ONE line into err, the first error
 * found (each group's settings in file order, then its missing settings, then
 * the rules that span several settings):
 *
 *   FILE:LINE: SETTING: what is wrong      e.g. lab.conf:21: vips[0].port: ...
 *   FILE:LINE: syntax error: TEXT          (libconfig's parser)
 *   FILE: cannot open: STRERROR
 *
 * LINE is the line of the offending setting; for a missing setting, the
 * line of the group that should hold it (a missing top-level setting has no
 * line: "FILE: instance: ..."). SETTING is a path such as
 * vips[0].backends[1].address. Warnings (valid but probably unintended) use
 * the same format and are kept in cfg->warnings[] for the caller to print.
 *
 * The structs are plain data so that reload can diff two configs: no
 * pointers into libconfig, fixed-size zero-padded strings, allocated with
 * calloc so padding is zero. struct sl_config_hc, sl_config_backend,
 * sl_config_dataplane and sl_config_control may be compared with memcmp;
 * compare VIPs field by field (they hold the backends pointer).
 *
 * All ports are in host byte order; addresses are union sl_addr (network
 * order, IPv4 in the first 4 bytes, the rest zero) with a family of
 * SL_AF_INET / SL_AF_INET6, or 0 where an optional address is not set.
 *
 * Control-plane code; not thread-safe, no global state.
 */
#ifndef SLUICE_CONTROL_CONFIG_H
#define SLUICE_CONTROL_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

#include <sluice/flow.h>
#include <sluice/hash.h>
#include <sluice/table.h>
#include <sluice/types.h>

enum {
	SL_CONFIG_INSTANCE_MAX = 32,		      /* [a-z0-9_-]{1,32} */
	SL_CONFIG_VIP_NAME_MAX = SL_VIP_NAME_LEN - 1, /* [A-Za-z0-9_.-]{1,31} */
	SL_CONFIG_IFACES_MAX = 8,
	SL_CONFIG_EAL_ARGS_MAX = 64,
	SL_CONFIG_EAL_ARG_LEN = 256, /* bytes, NUL included */
	SL_CONFIG_HC_PATH_LEN = 256,
	SL_CONFIG_HC_PAYLOAD_LEN = 512,
	SL_CONFIG_SOCKET_LEN = 108, /* sizeof(sun_path) */
	SL_CONFIG_VIPS_MAX = 4096,
	SL_CONFIG_TABLE_SIZE_MAX = 655373, /* a prime, 10 x the default */
};

enum sl_dp_mode {
	SL_DP_DPDK = 1,
	SL_DP_XDP = 2,
};

enum sl_xdp_attach {
	SL_XDP_NATIVE = 1,  /* driver mode */
	SL_XDP_GENERIC = 2, /* skb mode: any driver, slower */
};

enum sl_frag_policy {
	SL_FRAG_HASH = 1, /* fragments of a VIP hash on addresses only */
	SL_FRAG_DROP = 2,
};

enum sl_hc_type {
	SL_HC_NONE = 1, /* always up */
	SL_HC_TCP = 2,	/* connect() succeeds */
	SL_HC_HTTP = 3, /* GET path answers with status expect */
	SL_HC_UDP = 4,	/* payload sent, any reply (or one that starts
				 * with expect_payload) received */
};

/*
 * A health check. In a VIP it is the template (port 0 = each backend's
 * port); in a backend it is the effective check: the defaults, then the
 * VIP's settings, then the backend's own, with port resolved. Fields that do
 * not apply to the type are zero / "".
 */
struct sl_config_hc {
	sl_u8 type;    /* enum sl_hc_type */
	sl_u16 port;   /* host order */
	sl_u16 expect; /* http: expected status */
	sl_u32 interval_ms;
	sl_u32 timeout_ms;		  /* <= interval_ms */
	sl_u32 rise;			  /* successes in a row to go up */
	sl_u32 fall;			  /* failures in a row to go down */
	char path[SL_CONFIG_HC_PATH_LEN]; /* http */
	char payload[SL_CONFIG_HC_PAYLOAD_LEN]; /* udp: the request; text,
						 * libconfig strings hold no
						 * NUL byte */
	char expect_payload[SL_CONFIG_HC_PAYLOAD_LEN]; /* udp: "" = any reply */
};

struct sl_config_backend {
	union sl_addr addr;
	sl_u8 family;
	bool has_mac;
	sl_u8 mac[6];		/* l2dsr: static MAC, else resolved */
	sl_u16 port;		/* host order; default the VIP's port */
	sl_u32 weight;		/* 0 = drained: no new flows */
	struct sl_config_hc hc; /* effective check for this backend */
};

struct sl_config_vip {
	char name[SL_VIP_NAME_LEN];
	union sl_addr addr;
	sl_u8 family;
	sl_u8 proto;		/* SL_IPPROTO_TCP / SL_IPPROTO_UDP */
	sl_u8 method;		/* enum sl_method */
	sl_u16 port;		/* host order; 0 = port-agnostic */
	sl_u32 table_size;	/* Maglev M, prime */
	struct sl_config_hc hc; /* template, see struct sl_config_hc */
	unsigned int n_backends;
	struct sl_config_backend *backends; /* n_backends, config order */
};

struct sl_config_dataplane {
	sl_u8 mode;	    /* enum sl_dp_mode */
	sl_u8 xdp_mode;	    /* enum sl_xdp_attach; 0 in dpdk mode */
	sl_u8 fragments;    /* enum sl_frag_policy */
	unsigned int n_eal; /* dpdk: EAL arguments, argv[0] not included */
	char eal[SL_CONFIG_EAL_ARGS_MAX][SL_CONFIG_EAL_ARG_LEN];
	unsigned int n_interfaces;
	char interfaces[SL_CONFIG_IFACES_MAX][IFNAMSIZ];
	union sl_addr gateway;	/* dpdk: IPv4 next hop */
	sl_u8 gateway_family;	/* SL_AF_INET, or 0 when not set */
	union sl_addr gateway6; /* dpdk: IPv6 next hop */
	sl_u8 gateway6_family;	/* SL_AF_INET6, or 0 when not set */
	bool has_gateway_mac;	/* dpdk: static next-hop MAC, no ARP/NDP */
	sl_u8 gateway_mac[6];
	union sl_addr local_address; /* the LB's IPv4 address, outer source */
	sl_u8 local_family;	     /* SL_AF_INET, or 0 when not set */
	union sl_addr local_address6;
	sl_u8 local6_family;	     /* SL_AF_INET6, or 0 when not set */
	union sl_addr encap_source;  /* outer IPv4 source prefix: host bits */
	sl_u8 encap_source_bits;     /* vary per flow; 0 = not set */
	union sl_addr encap_source6; /* the same for IPv6 outer headers */
	sl_u8 encap_source6_bits;
	sl_u16 mtu;		/* egress MTU for the too-big check */
	sl_u16 gue_port;	/* host order: GUE destination port */
	sl_u32 flow_table_size; /* entries per lcore / CPU, power of 2 */
	sl_u32 tcp_timeout;	/* seconds idle */
	sl_u32 udp_timeout;
};

struct sl_config_control {
	char socket[SL_CONFIG_SOCKET_LEN]; /* absolute path */
	union sl_addr metrics_addr;	   /* Prometheus listener */
	sl_u8 metrics_family;		   /* 0 = no metrics listener */
	sl_u16 metrics_port;		   /* host order */
};

struct sl_config {
	char file[256]; /* as given to load, for messages */
	char instance[SL_CONFIG_INSTANCE_MAX + 1];
	char hash_seed_hex[33]; /* as written, 32 hex digits */
	struct sl_hash_key hash_seed;
	struct sl_config_dataplane dp;
	struct sl_config_control ctl;
	unsigned int n_vips;
	struct sl_config_vip *vips; /* n_vips, config order */
	unsigned int n_warnings;
	char **warnings; /* "FILE:LINE: SETTING: text" */
};

/*
 * Load and validate path. Returns a new config, or NULL with one line in
 * err (see above) and errno set (EINVAL, ENOENT..., ENOMEM).
 * @include directives are resolved relative to the file's directory.
 */
struct sl_config *sl_config_load(const char *path, char *err, size_t errlen);

/* The same for a config held in memory; name stands for FILE in messages. */
struct sl_config *sl_config_load_string(const char *text, const char *name,
					char *err, size_t errlen);

void sl_config_free(struct sl_config *cfg);

/* Backends over all VIPs. */
unsigned int sl_config_count_backends(const struct sl_config *cfg);

/* Names for enum values, e.g. "ipip", "tcp", "http"; "?" when unknown. */
const char *sl_config_method_name(sl_u8 method);
const char *sl_config_proto_name(sl_u8 proto);
const char *sl_config_hc_type_name(sl_u8 type);

#endif /* SLUICE_CONTROL_CONFIG_H */
