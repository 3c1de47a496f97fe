/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c: DPDK telemetry commands of sluice-dp (see stats.h).
 *
 * Runs on the telemetry thread, never on a worker. Workers write their
 * counters without atomics or locks; a reader sums the rows and may see a
 * burst half counted, which is what every per-lcore counter scheme accepts.
 * lc->lock keeps the main lcore from unmapping shared memory mid-read.
 * Telemetry names may hold only [A-Za-z0-9_/]; other characters of VIP
 * names become '_'.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "lcore.h"
#include "shm.h"
#include "stats.h"

static struct sl_lcores *g_lc;

static const char *const drop_names[] = {
#define SL_DROP_NAME(id, name, help) [SL_DROP_##id] = name,
	SL_DROP_LIST(SL_DROP_NAME)
#undef SL_DROP_NAME
};

static void tel_name(char *out, size_t outlen, const char *in)
{
	size_t i;

	for (i = 0; i + 1 < outlen && in[i] != '\0'; i++) {
		char c = in[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					 (c >= '0' && c <= '9') || c == '_'
				 ? c
				 : '_';
	}
	out[i] = '\0';
}

static void fmt_addr(char *out, size_t outlen, const union sl_addr *a,
		     sl_u8 family, sl_be16 port)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family == SL_AF_INET6 ? AF_INET6 : AF_INET, a, ip,
		  sizeof(ip));
	if (family == SL_AF_INET6)
		snprintf(out, outlen, "[%s]:%u", ip, sl_ntohs(port));
	else
		snprintf(out, outlen, "%s:%u", ip, sl_ntohs(port));
}

/* The published slot, if any and if its counts fit the mapping. */
static const struct sl_table_hdr *active_table(const struct sl_shm_header *h)
{
	sl_u64 gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	const struct sl_table_hdr *t;

	if (gen == 0)
		return NULL;
	t = sl_table_slot(h, gen);
	if (t->n_vips > h->max_vips || t->n_backends > h->max_backends ||
	    t->vips_off + (sl_u64)t->n_vips * sizeof(struct sl_vip_entry) >
		    h->slot_size ||
	    t->backends_off + (sl_u64)t->n_backends *
				      sizeof(struct sl_backend_entry) >
		    h->slot_size)
		return NULL;
	return t;
}

/* ---- /sluice/stats ---- */

static int cmd_stats(const char *cmd, const char *params,
		     struct rte_tel_data *d)
{
	struct rte_tel_data *drops, *bursts;
	struct sl_lcore_stats s;
	sl_u64 dropped = 0, probes = 0, switches = 0;
	uint16_t burst[SL_MAX_LCORES];
	unsigned int nb_workers, w;
	int attached, i;

	pthread_mutex_lock(&g_lc->lock);
	if (g_lc->closing) {
		pthread_mutex_unlock(&g_lc->lock);
		return -EAGAIN;
	}
	sl_lcores_sum(g_lc, &s);
	attached = g_lc->shm != NULL;
	nb_workers = g_lc->nb_workers;
	/* Written by the workers as they go: a glimpse, not a snapshot. */
	for (w = 0; w < nb_workers; w++) {
		const struct sl_bsz *b = &g_lc->w[w]->bsz;

		burst[w] = __atomic_load_n(&b->chosen, __ATOMIC_RELAXED);
		probes += __atomic_load_n(&b->probes, __ATOMIC_RELAXED);
		switches += __atomic_load_n(&b->switches, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&g_lc->lock);

	bursts = rte_tel_data_alloc();
	if (bursts == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(bursts, RTE_TEL_U64_VAL);
	for (w = 0; w < nb_workers; w++)
		rte_tel_data_add_array_u64(bursts, burst[w]);
	drops = rte_tel_data_alloc();
	if (drops == NULL) {
		rte_tel_data_free(bursts);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(drops);
	for (i = 1; i < SL_DROP_MAX; i++) {
		rte_tel_data_add_dict_u64(drops, drop_names[i], s.drops[i]);
		dropped += s.drops[i];
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "workers", nb_workers);
	rte_tel_data_add_dict_u64(d, "shm_attached", (uint64_t)attached);
	rte_tel_data_add_dict_u64(d, "table_gen", s.table_gen);
	rte_tel_data_add_dict_u64(d, "rx_packets", s.rx_packets);
	rte_tel_data_add_dict_u64(d, "rx_bytes", s.rx_bytes);
	rte_tel_data_add_dict_u64(d, "tx_packets", s.tx_packets);
	rte_tel_data_add_dict_u64(d, "tx_bytes", s.tx_bytes);
	rte_tel_data_add_dict_u64(d, "dropped", dropped);
	rte_tel_data_add_dict_u64(d, "flow_hits", s.flow_hits);
	rte_tel_data_add_dict_u64(d, "flow_misses", s.flow_misses);
	rte_tel_data_add_dict_u64(d, "flow_evictions", s.flow_evictions);
	rte_tel_data_add_dict_u64(d, "flow_repicks", s.flow_repicks);
	rte_tel_data_add_dict_u64(d, "arp_replies", s.arp_replies);
	rte_tel_data_add_dict_u64(d, "icmp_echo_replies", s.icmp_echo_replies);
	rte_tel_data_add_dict_u64(d, "icmp_too_big_sent", s.icmp_too_big_sent);
	rte_tel_data_add_dict_u64(d, "icmp_errors_forwarded",
				  s.icmp_errors_forwarded);
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
	rte_tel_data_add_dict_container(d, "rx_burst", bursts, 0);
	rte_tel_data_add_dict_u64(d, "rx_burst_probes", probes);
	rte_tel_data_add_dict_u64(d, "rx_burst_switches", switches);
	return 0;
}

/* ---- /sluice/vips ---- */

static void sum_vip(const struct sl_shm_header *h, unsigned int nb_rows,
		    unsigned int id, struct sl_vip_stats *out)
{
	unsigned int r;

	memset(out, 0, sizeof(*out));
	for (r = 0; r < nb_rows; r++) {
		const struct sl_vip_stats *v =
			&sl_dpshm_vip_stats((struct sl_shm_header *)h, r)[id];

		out->packets += v->packets;
		out->bytes += v->bytes;
		out->new_flows += v->new_flows;
		out->drops += v->drops;
	}
}

static const char *method_name(sl_u8 m)
{
	switch (m) {
	case SL_METHOD_IPIP:
		return "ipip";
	case SL_METHOD_GUE:
		return "gue";
	case SL_METHOD_L2DSR:
		return "l2dsr";
	default:
		return "?";
	}
}

static struct rte_tel_data *vip_dict(const struct sl_shm_header *h,
				     unsigned int nb_rows,
				     const struct sl_vip_entry *v)
{
	struct rte_tel_data *c = rte_tel_data_alloc();
	struct sl_vip_stats s;
	char addr[64], buf[80];

	if (c == NULL)
		return NULL;
	sum_vip(h, nb_rows, v->id, &s);
	fmt_addr(addr, sizeof(addr), &v->addr, v->family, v->port);
	snprintf(buf, sizeof(buf), "%s/%s%s", addr,
		 v->proto == SL_IPPROTO_UDP ? "udp" : "tcp",
		 v->flags & SL_VIP_F_PORT_ANY ? " (any port)" : "");
	rte_tel_data_start_dict(c);
	rte_tel_data_add_dict_u64(c, "id", v->id);
	rte_tel_data_add_dict_string(c, "address", buf);
	rte_tel_data_add_dict_string(c, "method", method_name(v->method));
	rte_tel_data_add_dict_u64(c, "backends", v->n_backends);
	rte_tel_data_add_dict_u64(c, "packets", s.packets);
	rte_tel_data_add_dict_u64(c, "bytes", s.bytes);
	rte_tel_data_add_dict_u64(c, "new_flows", s.new_flows);
	rte_tel_data_add_dict_u64(c, "drops", s.drops);
	return c;
}

static int vip_used(const struct sl_vip_entry *v)
{
	return v->proto != 0;
}

static int cmd_vips(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct sl_table_hdr *t;
	const struct sl_vip_entry *vips;
	unsigned int i, n = 0;
	int ret = 0;

	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&g_lc->lock);
	if (g_lc->closing || g_lc->shm == NULL ||
	    (t = active_table(g_lc->shm)) == NULL)
		goto out;
	vips = sl_table_vips(t);
	for (i = 0; i < t->n_vips && n < RTE_TEL_MAX_DICT_ENTRIES; i++) {
		char name[SL_VIP_NAME_LEN + 8], key[SL_VIP_NAME_LEN + 8];
		struct rte_tel_data *c;

		if (!vip_used(&vips[i]))
			continue;
		snprintf(name, sizeof(name), "%.*s", SL_VIP_NAME_LEN - 1,
			 vips[i].name);
		if (params != NULL && params[0] != '\0' &&
		    strcmp(params, name) != 0)
			continue;
		if (name[0] == '\0')
			snprintf(name, sizeof(name), "vip%u", vips[i].id);
		tel_name(key, sizeof(key), name);
		c = vip_dict(g_lc->shm, g_lc->nb_workers, &vips[i]);
		if (c == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		if (rte_tel_data_add_dict_container(d, key, c, 0) != 0)
			rte_tel_data_free(c);
		n++;
	}
out:
	pthread_mutex_unlock(&g_lc->lock);
	return ret;
}

/* ---- /sluice/backends ---- */

static const char *state_name(sl_u8 s)
{
	switch (s) {
	case SL_BACKEND_UP:
		return "up";
	case SL_BACKEND_DRAINED:
		return "drained";
	case SL_BACKEND_DOWN:
		return "down";
	default:
		return "unused";
	}
}

static struct rte_tel_data *backend_dict(const struct sl_shm_header *h,
					 unsigned int nb_rows,
					 const struct sl_table_hdr *t,
					 unsigned int id)
{
	const struct sl_backend_entry *b = &sl_table_backends(t)[id];
	struct rte_tel_data *c = rte_tel_data_alloc();
	struct sl_backend_stats s;
	char addr[64], vip[SL_VIP_NAME_LEN];
	unsigned int r;

	if (c == NULL)
		return NULL;
	memset(&s, 0, sizeof(s));
	for (r = 0; r < nb_rows; r++) {
		const struct sl_backend_stats *x = &sl_dpshm_backend_stats(
			(struct sl_shm_header *)h, r)[id];

		s.packets += x->packets;
		s.bytes += x->bytes;
		s.new_flows += x->new_flows;
	}
	fmt_addr(addr, sizeof(addr), &b->addr, b->family, b->port);
	vip[0] = '\0';
	if (b->vip_id < t->n_vips)
		snprintf(vip, sizeof(vip), "%.*s", SL_VIP_NAME_LEN - 1,
			 sl_table_vips(t)[b->vip_id].name);
	rte_tel_data_start_dict(c);
	rte_tel_data_add_dict_string(c, "vip", vip);
	rte_tel_data_add_dict_string(c, "address", addr);
	rte_tel_data_add_dict_string(c, "state", state_name(b->state));
	rte_tel_data_add_dict_u64(c, "weight", b->weight);
	rte_tel_data_add_dict_u64(c, "packets", s.packets);
	rte_tel_data_add_dict_u64(c, "bytes", s.bytes);
	rte_tel_data_add_dict_u64(c, "new_flows", s.new_flows);
	return c;
}

static int cmd_backends(const char *cmd, const char *params,
			struct rte_tel_data *d)
{
	const struct sl_table_hdr *t;
	const struct sl_backend_entry *bes;
	const struct sl_vip_entry *vips;
	unsigned int i, n = 0;
	int ret = 0;

	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&g_lc->lock);
	if (g_lc->closing || g_lc->shm == NULL ||
	    (t = active_table(g_lc->shm)) == NULL)
		goto out;
	bes = sl_table_backends(t);
	vips = sl_table_vips(t);
	for (i = 0; i < t->n_backends && n < RTE_TEL_MAX_DICT_ENTRIES; i++) {
		struct rte_tel_data *c;
		char key[16];

		if (bes[i].state == SL_BACKEND_UNUSED)
			continue;
		if (params != NULL && params[0] != '\0' &&
		    (bes[i].vip_id >= t->n_vips ||
		     strncmp(params, vips[bes[i].vip_id].name,
			     SL_VIP_NAME_LEN) != 0))
			continue;
		c = backend_dict(g_lc->shm, g_lc->nb_workers, t, i);
		if (c == NULL) {
			ret = -ENOMEM;
			goto out;
		}
		snprintf(key, sizeof(key), "%u", i);
		if (rte_tel_data_add_dict_container(d, key, c, 0) != 0)
			rte_tel_data_free(c);
		n++;
	}
out:
	pthread_mutex_unlock(&g_lc->lock);
	return ret;
}

int sl_stats_register(struct sl_lcores *lc)
{
	int ret;

	g_lc = lc;
	ret = rte_telemetry_register_cmd(
		"/sluice/stats", cmd_stats,
		"sluice-dp counters summed over the workers, drops by reason. "
		"No parameters");
	if (ret == 0)
		ret = rte_telemetry_register_cmd(
			"/sluice/vips", cmd_vips,
			"Per-VIP counters of the active table. Parameter: VIP "
			"name (optional)");
	if (ret == 0)
		ret = rte_telemetry_register_cmd(
			"/sluice/backends", cmd_backends,
			"Per-backend counters, keyed by backend id. Parameter: "
			"VIP name (optional)");
	return ret;
}

void sl_stats_unregister(void)
{
	if (g_lc == NULL)
		return;
	pthread_mutex_lock(&g_lc->lock);
	g_lc->closing = true;
	pthread_mutex_unlock(&g_lc->lock);
}
