/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c: sluice-dp, the DPDK dataplane. Wires the pieces together:
 * config -> EAL -> ports -> workers -> telemetry, then the main lcore keeps
 * house (shared-memory attach and retry, heartbeat) until SIGINT/SIGTERM.
 *
 *   sluice-dp [EAL options] -- -c FILE [--shm PATH] [--mbufs N] [--mbuf-size B]
 *   sluice-dp -c FILE [--shm PATH]      EAL options from dataplane.eal
 *
 * The main lcore never forwards. It never waits for sluiced either: without
 * shared memory the workers run and drop everything as no_table, and the
 * main lcore retries the attach every second.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include "config.h"
#include "lcore.h"
#include "neigh.h"
#include "port.h"
#include "shm.h"
#include "stats.h"

#define LOG(...) fprintf(stderr, "sluice-dp: " __VA_ARGS__)

#define HOUSEKEEPING_NS (100ull * 1000 * 1000)
#define ATTACH_RETRY_NS (1000ull * 1000 * 1000)

struct dp_args {
	const char *config;
	const char *shm;
	struct sl_pool_opts pool;
	int eal_argc;
	char **eal_argv; /* argv[0] and the EAL options, for rte_eal_init */
	bool eal_from_config;
};

/* Shared-memory state of the main lcore. */
struct dp_shm {
	struct sl_dpshm cur; /* handed to the workers */
	struct sl_dpshm old; /* still mapped until every worker has moved */
	char last_err[600];  /* last message logged, to log each one once */
	sl_u64 start_ns;
};

static void on_signal(int sig)
{
	(void)sig;
	sl_lcore_quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice-dp [EAL options] -- -c FILE [--shm PATH] "
		"[--mbufs N] [--mbuf-size B]\n"
		"       sluice-dp -c FILE [--shm PATH]   (EAL options from "
		"dataplane.eal)\n"
		"  -c, --config FILE  sluice config file\n"
		"  --shm PATH         shared memory file (default: "
		"/dev/hugepages/sluice-INSTANCE\n"
		"                     if it exists, else "
		"/dev/shm/sluice-INSTANCE)\n"
		"  --mbufs N          mbufs per pool (default: sized from the "
		"rings and lcores;\n"
		"                     net_pcap infinite_rx=1 needs one per "
		"packet of its file)\n"
		"  --mbuf-size B      mbuf data room incl. %u bytes of "
		"headroom (default: fits\n"
		"                     dataplane.mtu; smaller only for replays "
		"of short frames)\n",
		RTE_PKTMBUF_HEADROOM);
}

/* Split argv at "--": before it EAL's, after it ours. */
static int parse_args(int argc, char **argv, struct dp_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "shm", required_argument, NULL, 's' },
		{ "mbufs", required_argument, NULL, 'm' },
		{ "mbuf-size", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int dd = 0, i, c;
	unsigned long v;
	char *end;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dd = i;
			break;
		}
	a->eal_argc = dd ? dd : 1; /* argv[0] plus what precedes "--" */
	if (dd) {
		argv[dd] = argv[0]; /* getopt's argv[0] */
		argc -= dd;
		argv += dd;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->config = optarg;
			break;
		case 's':
			a->shm = optarg;
			break;
		case 'm':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || end == optarg || *end ||
			    optarg[0] == '-' || v == 0 || v > (1ul << 30)) {
				LOG("--mbufs %s: want a count from 1 to %lu\n",
				    optarg, 1ul << 30);
				return -EINVAL;
			}
			a->pool.nb_mbufs = (unsigned int)v;
			break;
		case 'b':
			errno = 0;
			v = strtoul(optarg, &end, 0);
			if (errno || end == optarg || *end ||
			    optarg[0] == '-' ||
			    v < RTE_PKTMBUF_HEADROOM + 128u || v > UINT16_MAX) {
				LOG("--mbuf-size %s: want bytes from %u to %u "
				    "(headroom %u included)\n",
				    optarg, RTE_PKTMBUF_HEADROOM + 128u,
				    UINT16_MAX, RTE_PKTMBUF_HEADROOM);
				return -EINVAL;
			}
			a->pool.data_room = (uint16_t)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		LOG("unexpected argument \"%s\" (EAL options go before "
		    "\"--\")\n",
		    argv[optind]);
		return -EINVAL;
	}
	if (a->config == NULL) {
		LOG("no config file: give -c FILE\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* argv for rte_eal_init: the command line's, else the config's eal list. */
static int eal_argv(int argc0, char **argv0, struct dp_args *a,
		    const struct sl_config *cfg)
{
	unsigned int i, n = a->eal_argc > 1 ? (unsigned int)a->eal_argc
					    : cfg->dp.n_eal + 1;

	(void)argc0;
	a->eal_from_config = a->eal_argc <= 1;
	a->eal_argv = calloc(n + 1, sizeof(char *));
	if (a->eal_argv == NULL)
		return -ENOMEM;
	a->eal_argv[0] = argv0[0];
	for (i = 1; i < n; i++)
		a->eal_argv[i] =
			a->eal_argc > 1 ? argv0[i] : (char *)cfg->dp.eal[i - 1];
	a->eal_argc = (int)n;
	return 0;
}

static void fill_conf(struct sl_fp_conf *conf, const struct sl_config *cfg)
{
	const struct sl_config_dataplane *dp = &cfg->dp;

	memset(conf, 0, sizeof(*conf));
	if (dp->local_family == SL_AF_INET)
		conf->local4 = dp->local_address;
	if (dp->local6_family == SL_AF_INET6) {
		conf->local6 = dp->local_address6;
		conf->has_local6 = true;
	}
	if (dp->gateway_family == SL_AF_INET)
		conf->gateway4 = dp->gateway;
	if (dp->has_gateway_mac) {
		memcpy(conf->gw_mac, dp->gateway_mac, sizeof(conf->gw_mac));
		conf->has_gw_mac = true;
	}
	if (dp->gateway6_family == SL_AF_INET6) {
		conf->gateway6 = dp->gateway6;
		conf->has_gateway6 = true;
	}
	/* The values sl-fpsim and the XDP program use too (fastpath.h). */
	conf->icmp_rate = SL_FP_ICMP_RATE;
	conf->icmp_burst = SL_FP_ICMP_BURST;
}

/* ---- housekeeping (main lcore) ---- */

/* Retried every second: log a reason when it changes, not every time. */
static void log_once(struct dp_shm *s, const char *msg)
{
	if (strcmp(s->last_err, msg) == 0)
		return;
	snprintf(s->last_err, sizeof(s->last_err), "%s", msg);
	LOG("%s\n", msg);
}

/* Attach when there is no mapping, or re-attach when the file was replaced. */
static void try_attach(struct dp_shm *s, struct sl_lcores *lc,
		       const struct dp_args *a, const struct sl_config *cfg)
{
	char path[256], err[256], msg[sizeof(s->last_err)];
	struct sl_dpshm next;
	int ret;

	if (s->old.hdr != NULL)
		return; /* the last hand-over is still in progress */
	sl_dpshm_locate(a->shm, cfg->instance, path, sizeof(path));
	if (s->cur.hdr != NULL && strcmp(path, s->cur.path) == 0 &&
	    sl_dpshm_same_file(&s->cur, path))
		return;
	ret = sl_dpshm_attach(&next, path, lc->nb_workers, err, sizeof(err));
	if (ret != 0) {
		snprintf(msg, sizeof(msg), "shared memory %s: %s", path, err);
		log_once(s, msg);
		return;
	}
	sl_dpshm_claim(&next, lc->nb_workers, s->start_ns);
	pthread_mutex_lock(&lc->lock);
	s->old = s->cur;
	s->cur = next;
	lc->shm = next.hdr;
	pthread_mutex_unlock(&lc->lock);
	sl_lcores_set_table(lc, next.hdr);
	LOG("shared memory %s: %s (generation %" PRIu64
	    ", %u VIPs / %u backends max, %u lcore rows)\n",
	    path,
	    s->old.hdr != NULL ? "file replaced, re-attached" : "attached",
	    (uint64_t)__atomic_load_n(&next.hdr->gen, __ATOMIC_ACQUIRE),
	    next.hdr->max_vips, next.hdr->max_backends, next.hdr->max_lcores);
	s->last_err[0] = '\0';
}

static void housekeeping(struct dp_shm *s, struct sl_lcores *lc,
			 const struct dp_args *a, const struct sl_config *cfg)
{
	sl_u64 next_attach = 0;
	sl_u32 refused = 0;

	while (!sl_lcore_quit) {
		struct timespec ts = { 0, HOUSEKEEPING_NS };
		sl_u64 now = sl_dpshm_mono_ns();
		sl_u32 r =
			__atomic_load_n(&lc->neigh->refused, __ATOMIC_RELAXED);

		/* Once per table that brought addresses it had no room for. */
		if (r != refused) {
			LOG("neighbour table full (%u entries: gateways and "
			    "l2dsr "
			    "backends without a static MAC, per port): %u more "
			    "not tracked; their packets drop as no_nexthop. "
			    "Set "
			    "those backends' mac in %s\n",
			    SL_NEIGH_MAX, r - refused, cfg->file);
			refused = r;
		}

		sl_dpshm_heartbeat(&s->cur);
		if (s->old.hdr != NULL && sl_lcores_switched(lc)) {
			pthread_mutex_lock(&lc->lock);
			sl_dpshm_detach(&s->old, lc->nb_workers);
			pthread_mutex_unlock(&lc->lock);
		}
		if (now >= next_attach) {
			try_attach(s, lc, a, cfg);
			next_attach = now + ATTACH_RETRY_NS;
		}
		nanosleep(&ts, NULL); /* a signal cuts it short */
	}
}

static void summary(const struct sl_lcores *lc)
{
	static const char *const names[] = {
#define SL_DROP_NAME(id, name, help) [SL_DROP_##id] = name,
		SL_DROP_LIST(SL_DROP_NAME)
#undef SL_DROP_NAME
	};
	struct sl_lcore_stats s;
	char why[512] = "";
	sl_u64 dropped = 0;
	int i, n = 0;

	sl_lcores_sum(lc, &s);
	for (i = 1; i < SL_DROP_MAX; i++) {
		if (s.drops[i] == 0)
			continue;
		dropped += s.drops[i];
		if (n < (int)sizeof(why))
			n += snprintf(why + n, sizeof(why) - (size_t)n,
				      "%s%s %" PRIu64, n ? ", " : " (",
				      names[i], (uint64_t)s.drops[i]);
	}
	if (n > 0 && n < (int)sizeof(why) - 1)
		strcat(why, ")");
	LOG("exiting: rx %" PRIu64 " packets, tx %" PRIu64 ", dropped %" PRIu64
	    "%s\n",
	    (uint64_t)s.rx_packets, (uint64_t)s.tx_packets, (uint64_t)dropped,
	    why);
}

int main(int argc, char **argv)
{
	struct dp_args args = { 0 };
	struct sl_lcores_params lp;
	struct sl_config *cfg;
	static struct sl_lcores lc;
	static struct dp_shm shm;
	struct sl_ports ports;
	struct sl_fp_conf conf;
	struct sl_neigh *neigh = NULL;
	char err[512];
	int ret, rc = 1;

	if (parse_args(argc, argv, &args) != 0)
		return 1;
	cfg = sl_config_load(args.config, err, sizeof(err));
	if (cfg == NULL) {
		LOG("%s\n", err);
		return 1;
	}
	for (unsigned int i = 0; i < cfg->n_warnings; i++)
		LOG("warning: %s\n", cfg->warnings[i]);
	if (cfg->dp.mode != SL_DP_DPDK) {
		LOG("%s: dataplane.mode is not \"dpdk\": sluice-dp has nothing "
		    "to do "
		    "(in xdp mode sluiced runs the dataplane)\n",
		    cfg->file);
		goto out_cfg;
	}
	if (eal_argv(argc, argv, &args, cfg) != 0) {
		LOG("out of memory\n");
		goto out_cfg;
	}
	ret = rte_eal_init(args.eal_argc, args.eal_argv);
	if (ret < 0) {
		if (rte_errno == EINVAL)
			LOG("EAL init failed: invalid EAL options (from "
			    "%s%s)\n",
			    args.eal_from_config ? "dataplane.eal in "
						 : "the command line",
			    args.eal_from_config ? cfg->file : "");
		else
			LOG("EAL init failed: %s (are hugepages reserved? "
			    "scripts/deps.sh --hugepages)\n",
			    rte_strerror(rte_errno));
		goto out_cfg;
	}
	if (rte_lcore_count() < 2) {
		LOG("need at least 2 lcores (-l 0-1): lcore %u runs "
		    "housekeeping, "
		    "the rest forward\n",
		    rte_get_main_lcore());
		goto out_eal;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	shm.start_ns = sl_dpshm_mono_ns();

	fill_conf(&conf, cfg);
	/* One queue pair per worker; more workers than stats rows stay idle. */
	ret = sl_ports_setup(
		&ports,
		RTE_MIN(rte_lcore_count() - 1, (unsigned int)SL_MAX_LCORES),
		cfg->dp.mtu, &args.pool, &conf, err, sizeof(err));
	if (ret != 0) {
		LOG("%s\n", err);
		goto out_eal;
	}
	neigh = rte_zmalloc("sluice_neigh", sizeof(*neigh),
			    RTE_CACHE_LINE_SIZE);
	if (neigh == NULL) {
		LOG("neighbour table from hugepages failed (give more "
		    "hugepages: "
		    "scripts/deps.sh --hugepages)\n");
		goto out_ports;
	}
	sl_neigh_init(neigh);
	lp = (struct sl_lcores_params){
		.ports = &ports,
		.conf = &conf,
		.neigh = neigh,
		.ft_size = cfg->dp.flow_table_size,
		.tcp_timeout = cfg->dp.tcp_timeout,
		.udp_timeout = cfg->dp.udp_timeout,
		.config_file = cfg->file,
	};
	ret = sl_lcores_init(&lc, &lp, err, sizeof(err));
	if (ret != 0) {
		LOG("%s\n", err);
		goto out_lcores;
	}
	ret = sl_stats_register(&lc);
	if (ret != 0)
		LOG("telemetry commands not registered: %s\n", strerror(-ret));
	try_attach(&shm, &lc, &args, cfg);
	ret = sl_lcores_launch(&lc, err, sizeof(err));
	if (ret != 0) {
		LOG("%s\n", err);
		sl_lcores_stop(&lc);
		goto out_stats;
	}
	LOG("forwarding on %u worker lcore%s, %u port%s (instance %s); Ctrl-C "
	    "stops\n",
	    lc.nb_workers, lc.nb_workers == 1 ? "" : "s", ports.nb,
	    ports.nb == 1 ? "" : "s", cfg->instance);

	housekeeping(&shm, &lc, &args, cfg);

	sl_lcores_stop(&lc);
	summary(&lc);
	rc = 0;
out_stats:
	sl_stats_unregister();
	pthread_mutex_lock(&lc.lock);
	lc.shm = NULL;
	sl_dpshm_detach(&shm.old, lc.nb_workers);
	sl_dpshm_detach(&shm.cur, lc.nb_workers);
	pthread_mutex_unlock(&lc.lock);
out_lcores:
	sl_lcores_free(&lc);
	rte_free(neigh);
out_ports:
	sl_ports_close(&ports);
out_eal:
	rte_eal_cleanup();
out_cfg:
	free(args.eal_argv);
	sl_config_free(cfg);
	return rc;
}
