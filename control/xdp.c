/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xdp.c: sluiced's XDP mode (xdp.h): open, publish, close, counters.
 *
 * Role: the daemon side of struct sl_xdp (xdp_load.c). It names the files
 * (/run/sluice/<instance>.xdp-tables, /sys/fs/bpf/sluice/<instance>/),
 * attaches on the configured interfaces, turns the runtime state of every
 * backend (health, drain, weight) into publisher overrides, and records the
 * published ids in d->vips.
 *
 * Restart: a crashed or restarted sluiced finds the program still attached
 * and its maps pinned; sl_xdp_open loads the new program on the same maps
 * (the table file keeps ids and epochs) and swaps it in atomically. A clean
 * shutdown (sl_xdp_close) detaches and removes pins and the table file.
 *
 * Called from the event-loop thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>

#include "daemon.h"
#include "publish.h"
#include "xdp.h"

#define SL_XDP_RUN_DIR "/run/sluice"
#define SL_XDP_PIN_ROOT "/sys/fs/bpf/sluice"

/*
 * bpf_fib_lookup answers BPF_FIB_LKUP_RET_FWD_DISABLED unless forwarding
 * is on for the receiving interface: XDP mode routes, so turn it on (the
 * kernel itself then also forwards what the program passes to it).
 */
static void enable_forwarding(const char *ifname)
{
	static const char *const fmt[] = {
		"/proc/sys/net/ipv4/conf/%s/forwarding",
		"/proc/sys/net/ipv6/conf/%s/forwarding",
	};
	char path[128], cur = '0';
	unsigned int i;
	FILE *f;

	for (i = 0; i < SL_ARRAY_SIZE(fmt); i++) {
		snprintf(path, sizeof(path), fmt[i], ifname);
		f = fopen(path, "r+");
		if (!f)
			continue;
		if (fread(&cur, 1, 1, f) == 1 && cur == '0') {
			rewind(f);
			fputs("1\n", f);
			sl_log(LOG_NOTICE,
			       "%s: enabled %s forwarding (needed by "
			       "bpf_fib_lookup)",
			       ifname, i ? "IPv6" : "IPv4");
		}
		fclose(f);
	}
}

/* The first address of ifname of family, for the default outer source. */
static bool if_address(const char *ifname, int af, union sl_addr *out)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != af ||
		    strcmp(i->ifa_name, ifname) != 0)
			continue;
		memset(out, 0, sizeof(*out));
		if (af == AF_INET) {
			out->v4 = ((struct sockaddr_in *)i->ifa_addr)
					  ->sin_addr.s_addr;
			found = true;
		} else {
			const struct in6_addr *a =
				&((struct sockaddr_in6 *)i->ifa_addr)
					 ->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(a))
				continue;
			memcpy(out->b, a, 16);
			found = true;
		}
	}
	freeifaddrs(ifa);
	return found;
}

int sl_xdp_open(struct sl_daemon *d, char *err, size_t errlen)
{
	const struct sl_config *cfg = d->cfg;
	char tables[256], pins[256];
	struct sl_xdp_opts o;
	struct sl_xdp *x;
	union sl_addr a;
	unsigned int i;
	int rc;

	if (mkdir(SL_XDP_RUN_DIR, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", SL_XDP_RUN_DIR,
			 strerror(errno));
		return -errno;
	}
	snprintf(tables, sizeof(tables), SL_XDP_RUN_DIR "/%s.xdp-tables",
		 cfg->instance);
	/* SLUICE_BPF_ROOT: another bpffs (tests under `ip netns exec`, which
	 * mounts a /sys of its own per command, without bpffs). */
	snprintf(pins, sizeof(pins), "%s/%s",
		 getenv("SLUICE_BPF_ROOT") ? getenv("SLUICE_BPF_ROOT")
					   : SL_XDP_PIN_ROOT,
		 cfg->instance);
	sl_xdp_opts_default(&o);
	o.tables_path = tables;
	o.pin_dir = pins;
	x = sl_xdp_new(cfg, &o, err, errlen);
	if (!x)
		return -errno;
	if (cfg->dp.n_interfaces) {
		const char *ifn = cfg->dp.interfaces[0];

		if (if_address(ifn, AF_INET, &a))
			sl_xdp_set_default_source(x, SL_AF_INET, &a);
		if (if_address(ifn, AF_INET6, &a))
			sl_xdp_set_default_source(x, SL_AF_INET6, &a);
	}
	/*
	 * Tables before attach. The runtime state does not exist yet at
	 * start (sl_daemon_start schedules the first publish): send what the
	 * table file holds, i.e. what a previous run published last, so a
	 * restart changes nothing. A fresh file holds nothing, and until the
	 * first publish the program passes all traffic to the kernel.
	 */
	d->xdp = x;
	if (d->vips)
		rc = sl_xdp_publish(d, err, errlen);
	else
		rc = sl_xdp_sync(x, sl_xdp_tables(x), err, errlen);
	if (rc)
		goto fail;
	for (i = 0; i < cfg->dp.n_interfaces; i++) {
		enable_forwarding(cfg->dp.interfaces[i]);
		rc = sl_xdp_attach(x, cfg->dp.interfaces[i],
				   cfg->dp.xdp_mode == SL_XDP_GENERIC, err,
				   errlen);
		if (rc)
			goto fail;
	}
	return 0;
fail:
	/* Keep pins and files: a program of a previous run may use them. */
	sl_xdp_free(x, true, false);
	d->xdp = NULL;
	return rc;
}

/* Record the ids the publisher gave every VIP and backend. */
static void record_ids(struct sl_daemon *d, struct sl_xdp *x)
{
	const struct sl_publisher *p = sl_xdp_publisher(x);
	unsigned int i, j;

	for (i = 0; i < d->cfg->n_vips; i++) {
		struct sl_vip_rt *v = &d->vips[i];
		const struct sl_config_vip *cv = v->cfg;
		struct sl_pub_vip pv;

		memset(&pv, 0, sizeof(pv));
		pv.addr = cv->addr;
		pv.family = cv->family;
		pv.port = htons(cv->port);
		pv.proto = cv->proto;
		pv.flags = cv->port ? 0 : SL_VIP_F_PORT_ANY;
		v->vip_id = sl_publisher_vip_id(p, &pv);
		if (v->vip_id < 0)
			v->vip_id = -1;
		for (j = 0; j < cv->n_backends; j++) {
			struct sl_backend_rt *b = &v->backends[j];
			struct sl_pub_backend pb;

			memset(&pb, 0, sizeof(pb));
			pb.addr = b->cfg->addr;
			pb.family = b->cfg->family;
			pb.port = htons(b->cfg->port);
			b->backend_id = sl_publisher_backend_id(p, &pv, &pb);
			if (b->backend_id < 0)
				b->backend_id = -1;
		}
	}
}

int sl_xdp_publish(struct sl_daemon *d, char *err, size_t errlen)
{
	struct sl_xdp *x = d->xdp;
	struct sl_pub_override *ov;
	unsigned int i, j, n = 0;
	int rc;

	if (!x)
		return 0;
	ov = calloc(sl_config_count_backends(d->cfg) + 1, sizeof(*ov));
	if (!ov) {
		snprintf(err, errlen, "publish: out of memory");
		return -ENOMEM;
	}
	/* Every backend's state and weight, exactly (port included). */
	for (i = 0; i < d->cfg->n_vips; i++) {
		const struct sl_vip_rt *v = &d->vips[i];

		for (j = 0; j < v->cfg->n_backends; j++) {
			const struct sl_backend_rt *b = &v->backends[j];
			struct sl_pub_override *o = &ov[n++];

			o->vip = v->cfg->name;
			o->addr = b->cfg->addr;
			o->family = b->cfg->family;
			o->port = htons(b->cfg->port);
			o->state = sl_daemon_backend_state(b);
			o->weight = sl_daemon_backend_weight(b);
		}
	}
	rc = sl_xdp_apply(x, d->cfg, ov, n, err, errlen);
	free(ov);
	if (rc)
		return rc;
	record_ids(d, x);
	return 0;
}

void sl_xdp_close(struct sl_daemon *d)
{
	sl_xdp_free(d->xdp, true, true);
	d->xdp = NULL;
}

int sl_xdp_read_stats(struct sl_daemon *d, struct sl_lcore_stats *total,
		      struct sl_vip_stats *vips, unsigned int nv,
		      struct sl_backend_stats *bes, unsigned int nb)
{
	if (!d->xdp)
		return -ENODEV;
	return sl_xdp_stats(d->xdp, total, vips, nv, bes, nb);
}

int sl_xdp_read_passed(struct sl_daemon *d, struct sl_xdp_pass_stats *out)
{
	if (!d->xdp)
		return -ENODEV;
	return sl_xdp_passed(d->xdp, out);
}

struct sl_shm_header *sl_xdp_daemon_tables(struct sl_daemon *d)
{
	return d->xdp ? sl_xdp_tables(d->xdp) : NULL;
}
