/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xdp_load.c: the XDP program, its maps and the tables copied into them
 * (struct sl_xdp, see xdp.h), without any daemon state.
 *
 * Load: the object (built-in skeleton bytes, or the caller's ELF) is opened,
 * its .rodata.conf written, map sizes set from the table file's capacities,
 * and with a pin directory every map gets a pin path: libbpf then reuses a
 * compatible pinned map of a previous run, or creates and pins a new one.
 * Pinned maps that do not fit (a capacity or flow_table.size changed, or
 * an older layout, such as the LRU hash flow_map of earlier versions) are
 * found before the load, named in the log, unpinned, and new maps are
 * made: the flow table starts empty, nothing else is lost (the tables are
 * re-sent). A load that still fails with pins present is retried once
 * without them.
 *
 * Sync order (the program may run on any CPU during it): params, backends,
 * Maglev tables that grow, are new or change maps, vip_map updates,
 * vip_map deletes, vip_gen_map bumped (the program's per-CPU caches of
 * vip_map answers expire), Maglev tables that shrink, the slots of the
 * maps tables left (after a first install over pinned maps, only once
 * our program is attached: a previous run's may read them until then),
 * Maglev tables of VIPs that are gone. A table is in
 * maglev_fixed_map when its M is SL_XDP_MAGLEV_FIXED_M, else in
 * maglev_map (bpf/maps.h). So a VIP key is only ever visible with a
 * Maglev table, in the map its M names, whose size covers that M, and a
 * backend id is in backend_map before any table names it.
 * A backend entry is rewritten in place (36 bytes, not atomic): a packet
 * racing the write of an id given to a new identity may see it torn; the
 * epoch check makes such a flow re-pick at its next packet.
 *
 * Single-threaded: sluiced's loop, or a test.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <syslog.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "config.h"
#include "daemon.h"
#include "maglev.h"
#include "publish.h"
#include "sluice_xdp.skel.h"
#include "xdp.h"

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11

/* The default M is the common one: its tables get the inlined lookup. */
SL_STATIC_ASSERT(SL_XDP_MAGLEV_FIXED_M == SL_MAGLEV_M_DEFAULT,
		 "maglev_fixed_map holds tables of the default size");
#define MAX_IFACES SL_CONFIG_IFACES_MAX

enum map_idx {
	M_VIP,
	M_BACKEND,
	M_MAGLEV,
	M_MAGLEVF,
	M_PARAMS,
	M_FLOW,
	M_FLOWB,
	M_LCORE,
	M_VIPST,
	M_BEST,
	M_PASS,
	M_VIPGEN,
	M_COUNT
};

static const char *const map_names[M_COUNT] = {
	[M_VIP] = "vip_map",	       [M_BACKEND] = "backend_map",
	[M_MAGLEV] = "maglev_map",     [M_MAGLEVF] = "maglev_fixed_map",
	[M_PARAMS] = "params_map",     [M_FLOW] = "flow_map",
	[M_FLOWB] = "flow_bucket_map", [M_LCORE] = "lcore_stats_map",
	[M_VIPST] = "vip_stats_map",   [M_BEST] = "backend_stats_map",
	[M_PASS] = "pass_stats_map",   [M_VIPGEN] = "vip_gen_map",
};

/*
 * What a VIP id's Maglev table is now: in maglev_fixed_map when m is
 * SL_XDP_MAGLEV_FIXED_M, else in maglev_map.
 */
struct installed {
	sl_u32 m;      /* 0: nothing */
	sl_u32 *table; /* copy of what was written, m entries */
	/* The other map's slot may hold an older table: it moved maps, or
	 * it is a first install (pinned maps of a previous run). */
	bool clear_other;
	bool first;
};

struct sl_xdp {
	struct bpf_object *obj;
	struct bpf_program *prog;
	int prog_fd;
	int fd[M_COUNT];
	char prog_name[64];
	char pin_dir[256];
	bool reused;
	bool pins_replaced; /* pinned maps that did not fit were removed */

	struct sl_shm *shm;
	struct sl_publisher *pub;
	sl_u32 max_vips, max_backends, max_vip_index;
	sl_u32 flow_buckets;  /* flow_bucket_map entries */
	struct installed *mg; /* [max_vips] */
	sl_u32 *keys_buf;     /* 0 .. max M - 1, for batch updates */
	sl_u32 keys_len;
	sl_u64 synced_gen;

	union sl_addr src4, src6; /* default outer sources */
	bool has_src4, has_src6;

	int ifindex[MAX_IFACES];
	char ifname[MAX_IFACES][IF_NAMESIZE];
	sl_u32 if_flags[MAX_IFACES];
	unsigned int n_if;
};

static int ncpus(void)
{
	static int n;

	if (!n)
		n = libbpf_num_possible_cpus();
	return n;
}

void sl_xdp_opts_default(struct sl_xdp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->conf.use_fib = 1;
	o->conf.icmp_rate = 100; /* sluice-dp's SL_FP_ICMP_RATE */
	o->conf.icmp_burst = 20; /* SL_FP_ICMP_BURST */
}

/* ---- load ---- */

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* bpffs at /sys/fs/bpf is not mounted by default on every system. */
static int ensure_bpffs(const char *pin_dir, char *err, size_t errlen)
{
	struct statfs st;

	if (strncmp(pin_dir, "/sys/fs/bpf/", 12) != 0)
		return 0;
	if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC_NUMBER)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL)) {
		snprintf(err, errlen, "cannot mount bpffs on /sys/fs/bpf: %s",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static void unpin_all(const char *dir)
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < M_COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, map_names[i]);
		unlink(path);
	}
}

static bool pins_present(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, map_names[M_VIP]);
	return access(path, F_OK) == 0;
}

static int set_rodata(struct bpf_object *obj, const struct sl_xdp_conf *conf)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, ".rodata.conf");
	size_t sz = 0;
	void *v;

	if (!m)
		return -ENOENT;
	/* Writable before load; libbpf 1.1 declares it const. */
	v = (void *)bpf_map__initial_value(m, &sz);
	if (!v || sz < sizeof(*conf))
		return -EINVAL;
	memcpy(v, conf, sizeof(*conf));
	return 0;
}

/* Buckets of a flow table of size entries: a power of two, >= size / WAYS. */
static sl_u32 flow_buckets(sl_u32 size)
{
	sl_u32 n = 1;

	while ((sl_u64)n * SL_XDP_FLOW_WAYS < size && n < (1u << 26))
		n <<= 1;
	return n;
}

static void set_size(struct bpf_object *obj, const char *name, sl_u32 n)
{
	bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, name), n);
}

/*
 * Whether the maps pinned in x->pin_dir fit the object's (libbpf's reuse
 * test: type, sizes, entries, flags). When one does not, says which and
 * why in msg: the caller starts afresh rather than fail the load.
 */
static bool pins_fit(const struct sl_xdp *x, char *msg, size_t len)
{
	struct bpf_map_info info;
	char path[PATH_MAX];
	struct bpf_map *m;
	__u32 ilen;
	int i, fd;
	bool fit;

	for (i = 0; i < M_COUNT; i++) {
		m = bpf_object__find_map_by_name(x->obj, map_names[i]);
		snprintf(path, sizeof(path), "%s/%s", x->pin_dir, map_names[i]);
		fd = bpf_obj_get(path);
		if (!m || fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		ilen = sizeof(info);
		fit = bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0 &&
		      info.type == bpf_map__type(m) &&
		      info.key_size == bpf_map__key_size(m) &&
		      info.value_size == bpf_map__value_size(m) &&
		      info.max_entries == bpf_map__max_entries(m) &&
		      info.map_flags == bpf_map__map_flags(m);
		close(fd);
		if (fit)
			continue;
		snprintf(msg, len,
			 "%s (%s, %u entries of %u bytes, flags %#x) does not "
			 "fit this program's (%s, %u entries of %u bytes, "
			 "flags %#x)",
			 map_names[i],
			 libbpf_bpf_map_type_str(info.type) ?: "?",
			 info.max_entries, info.value_size, info.map_flags,
			 libbpf_bpf_map_type_str(bpf_map__type(m)) ?: "?",
			 bpf_map__max_entries(m), bpf_map__value_size(m),
			 bpf_map__map_flags(m));
		return false;
	}
	return true;
}

static int load_once(struct sl_xdp *x, const struct sl_xdp_opts *o,
		     sl_u32 flow_size, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "sluice_xdp");
	const void *elf = o->obj;
	size_t len = o->obj_len;
	struct sl_xdp_conf conf;
	struct bpf_map *m;
	char path[PATH_MAX], stale[512];
	int i, rc;

	if (!elf)
		elf = sluice_xdp__elf_bytes(&len);
	x->obj = bpf_object__open_mem(elf, len, &oo);
	if (!x->obj) {
		rc = -errno;
		snprintf(err, errlen, "XDP program: cannot open object: %s",
			 strerror(-rc));
		return rc;
	}
	conf = o->conf;
	x->flow_buckets = flow_buckets(flow_size);
	conf.flow_mask = x->flow_buckets - 1;
	rc = set_rodata(x->obj, &conf);
	if (rc) {
		snprintf(err, errlen, "XDP program: no .rodata.conf section");
		return rc;
	}
	set_size(x->obj, "vip_map", x->max_vip_index);
	set_size(x->obj, "backend_map", x->max_backends);
	set_size(x->obj, "maglev_map", x->max_vips);
	set_size(x->obj, "maglev_fixed_map", x->max_vips);
	set_size(x->obj, "flow_bucket_map", x->flow_buckets);
	set_size(x->obj, "flow_map", x->flow_buckets * SL_XDP_FLOW_WAYS);
	set_size(x->obj, "vip_stats_map", x->max_vips);
	set_size(x->obj, "backend_stats_map", x->max_backends);
	if (x->pin_dir[0]) {
		for (i = 0; i < M_COUNT; i++) {
			m = bpf_object__find_map_by_name(x->obj, map_names[i]);
			if (!m)
				continue;
			snprintf(path, sizeof(path), "%s/%s", x->pin_dir,
				 map_names[i]);
			bpf_map__set_pin_path(m, path);
		}
		if (pins_present(x->pin_dir) &&
		    !pins_fit(x, stale, sizeof(stale))) {
			/* Another size or layout (an older sluiced's LRU
			 * flow_map): start afresh, flows are picked again. */
			sl_log(LOG_NOTICE,
			       "XDP: pinned map %s; replacing the pinned maps "
			       "of the previous run in %s (its flow table and "
			       "counters start empty)",
			       stale, x->pin_dir);
			unpin_all(x->pin_dir);
			x->pins_replaced = true;
		}
	}
	/* Quiet: a failed reuse is expected and retried; the caller reports. */
	rc = bpf_object__load(x->obj);
	if (rc) {
		snprintf(err, errlen,
			 "XDP program: load failed: %s "
			 "(run with LIBBPF_LOG=1 for the verifier log)",
			 strerror(-rc));
		return rc;
	}
	x->prog = bpf_object__find_program_by_name(x->obj, x->prog_name);
	if (!x->prog) {
		snprintf(err, errlen, "XDP program: no program %s",
			 x->prog_name);
		return -ENOENT;
	}
	x->prog_fd = bpf_program__fd(x->prog);
	for (i = 0; i < M_COUNT; i++) {
		x->fd[i] =
			bpf_object__find_map_fd_by_name(x->obj, map_names[i]);
		if (x->fd[i] < 0) {
			snprintf(err, errlen, "XDP program: no map %s",
				 map_names[i]);
			return -ENOENT;
		}
	}
	return 0;
}

static int open_tables(struct sl_xdp *x, const struct sl_config *cfg,
		       const char *path, char *err, size_t errlen)
{
	struct sl_shm_caps caps;
	struct sl_shm_header *h;

	sl_shm_caps_for_config(cfg, false, &caps);
	caps.max_lcores = 1; /* no dataplane reads the file */
	x->shm = sl_shm_create(cfg->instance, &caps, path, err, errlen);
	if (!x->shm)
		return -errno;
	x->pub = sl_publisher_new(x->shm, err, errlen);
	if (!x->pub)
		return -errno;
	h = sl_shm_header(x->shm);
	x->max_vips = h->max_vips;
	x->max_backends = h->max_backends;
	x->max_vip_index = h->max_vip_index;
	return 0;
}

struct sl_xdp *sl_xdp_new(const struct sl_config *cfg,
			  const struct sl_xdp_opts *o, char *err, size_t errlen)
{
	struct sl_xdp *x = calloc(1, sizeof(*x));
	bool had_pins;
	int rc;

	if (!x) {
		snprintf(err, errlen, "XDP: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	snprintf(x->prog_name, sizeof(x->prog_name), "%.63s",
		 o->prog_name ? o->prog_name : "sluice_xdp");
	rc = open_tables(x, cfg, o->tables_path, err, errlen);
	if (rc)
		goto fail;
	x->mg = calloc(x->max_vips, sizeof(*x->mg));
	if (!x->mg) {
		rc = -ENOMEM;
		snprintf(err, errlen, "XDP: out of memory");
		goto fail;
	}
	if (o->pin_dir) {
		snprintf(x->pin_dir, sizeof(x->pin_dir), "%s", o->pin_dir);
		rc = ensure_bpffs(x->pin_dir, err, errlen);
		if (rc)
			goto fail;
		rc = mkdir_p(x->pin_dir);
		if (rc) {
			snprintf(err, errlen, "%s: %s", x->pin_dir,
				 strerror(-rc));
			goto fail;
		}
	}
	had_pins = x->pin_dir[0] && pins_present(x->pin_dir);
	rc = load_once(x, o, cfg->dp.flow_table_size, err, errlen);
	if (rc && had_pins && !x->pins_replaced) {
		/* Pinned maps libbpf would not reuse: start them afresh. */
		sl_log(LOG_NOTICE,
		       "XDP: %s; replacing the pinned maps of the previous run "
		       "in %s (its flow table and counters start empty)",
		       err, x->pin_dir);
		bpf_object__close(x->obj);
		x->obj = NULL;
		unpin_all(x->pin_dir);
		had_pins = false;
		rc = load_once(x, o, cfg->dp.flow_table_size, err, errlen);
	}
	if (rc)
		goto fail;
	x->reused = had_pins && !x->pins_replaced;
	/*
	 * Pinned maps but a new table file: ids and epochs start over, so a
	 * remembered (id, epoch) could name another backend. Forget the flows.
	 */
	if (x->reused && !sl_shm_reattached(x->shm))
		sl_xdp_flush_flows(x);
	return x;
fail:
	sl_xdp_free(x, false, false);
	errno = -rc;
	return NULL;
}

/* ---- attach ---- */

static bool prog_is_ours(__u32 id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);
	bool ours;

	if (fd < 0)
		return false;
	memset(&info, 0, sizeof(info));
	ours = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
	       strcmp(info.name, "sluice_xdp") == 0;
	close(fd);
	return ours;
}

int sl_xdp_attach(struct sl_xdp *x, const char *ifname, bool generic, char *err,
		  size_t errlen)
{
	__u32 mode = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	__u32 cur = 0;
	int ifindex = (int)if_nametoindex(ifname), rc, old_fd = -1;
	LIBBPF_OPTS(bpf_xdp_attach_opts, ao);

	if (!ifindex) {
		snprintf(err, errlen, "Failed to attach XDP program to %s: %s",
			 ifname, strerror(errno));
		return -errno;
	}
	if (x->n_if >= MAX_IFACES)
		return -E2BIG;
	bpf_xdp_query_id(ifindex, (int)mode, &cur);
	if (cur && !prog_is_ours(cur)) {
		snprintf(err, errlen,
			 "Failed to attach XDP program to %s: "
			 "XDP program id %u, not sluice_xdp, is attached "
			 "(remove it first)",
			 ifname, cur);
		return -EBUSY;
	}
	if (cur) {
		/* A previous sluiced's program: swap in ours, never detach. */
		old_fd = bpf_prog_get_fd_by_id(cur);
		ao.old_prog_fd = old_fd;
		rc = bpf_xdp_attach(ifindex, x->prog_fd,
				    mode | XDP_FLAGS_REPLACE, &ao);
		close(old_fd);
	} else {
		rc = bpf_xdp_attach(ifindex, x->prog_fd,
				    mode | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	}
	if (rc) {
		snprintf(err, errlen,
			 "Failed to attach XDP program to %s: %s%s", ifname,
			 strerror(-rc),
			 rc == -EOPNOTSUPP && !generic
				 ? " (driver has no native XDP; set "
				   "dataplane.xdp_mode = \"generic\")"
			 : rc == -EBUSY || rc == -EEXIST
				 ? " (another XDP program is attached in the "
				   "other mode)"
				 : "");
		return rc;
	}
	x->ifindex[x->n_if] = ifindex;
	x->if_flags[x->n_if] = mode;
	snprintf(x->ifname[x->n_if], IF_NAMESIZE, "%s", ifname);
	x->n_if++;
	return 0;
}

void sl_xdp_free(struct sl_xdp *x, bool detach, bool unpin)
{
	unsigned int i;

	if (!x)
		return;
	for (i = 0; detach && i < x->n_if; i++) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = x->prog_fd);

		/* Only our program: a newer sluiced may have replaced it. */
		bpf_xdp_detach(x->ifindex[i],
			       x->if_flags[i] | XDP_FLAGS_REPLACE, &ao);
	}
	if (unpin && x->pin_dir[0]) {
		unpin_all(x->pin_dir);
		rmdir(x->pin_dir);
	}
	bpf_object__close(x->obj);
	for (i = 0; x->mg && i < x->max_vips; i++)
		free(x->mg[i].table);
	free(x->mg);
	free(x->keys_buf);
	sl_publisher_free(x->pub);
	sl_shm_close(x->shm, unpin);
	free(x);
}

/* ---- sync ---- */

static int grow_keys(struct sl_xdp *x, sl_u32 m)
{
	sl_u32 *k, i;

	if (m <= x->keys_len)
		return 0;
	k = realloc(x->keys_buf, (size_t)m * sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (i = x->keys_len; i < m; i++)
		k[i] = i;
	x->keys_buf = k;
	x->keys_len = m;
	return 0;
}

/* The map a table of m entries goes in (bpf/maps.h). */
static int maglev_map_of(sl_u32 m)
{
	return m == SL_XDP_MAGLEV_FIXED_M ? M_MAGLEVF : M_MAGLEV;
}

/*
 * A new inner map with table[0 .. m), swapped in with one update of the
 * map for its size. The other map's slot is cleared later (sync_maglev),
 * once no VIP entry gives the old M any more.
 */
static int install_maglev(struct sl_xdp *x, sl_u32 vip_id, const sl_u32 *table,
			  sl_u32 m, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo,
		    .map_flags =
			    maglev_map_of(m) == M_MAGLEV ? BPF_F_INNER_MAP : 0);
	struct installed *in = &x->mg[vip_id];
	sl_u32 count = m, *copy;
	int fd, rc;

	rc = grow_keys(x, m);
	copy = malloc((size_t)m * sizeof(*copy));
	if (rc || !copy) {
		free(copy);
		snprintf(err, errlen, "XDP: out of memory");
		return -ENOMEM;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sl_maglev", 4, 4, m, &mo);
	if (fd < 0) {
		free(copy);
		snprintf(err, errlen, "XDP: Maglev table of VIP %u (M %u): %s",
			 vip_id, m, strerror(errno));
		return -errno;
	}
	rc = bpf_map_update_batch(fd, x->keys_buf, table, &count, NULL);
	if (!rc)
		rc = bpf_map_update_elem(x->fd[maglev_map_of(m)], &vip_id, &fd,
					 BPF_ANY);
	close(fd); /* maglev_map holds the reference now */
	if (rc) {
		free(copy);
		snprintf(err, errlen, "XDP: Maglev table of VIP %u: %s", vip_id,
			 strerror(errno));
		return -errno;
	}
	memcpy(copy, table, (size_t)m * sizeof(*copy));
	if (!in->m || maglev_map_of(in->m) != maglev_map_of(m)) {
		in->clear_other = true;
		in->first = !in->m;
	}
	free(in->table);
	in->table = copy;
	in->m = m;
	return 0;
}

/*
 * The slot of the map that does not hold the VIP's table, if need be.
 * After a first install only once our program is attached: until then a
 * previous run's program may run, and one of an older sluiced knows only
 * maglev_map.
 */
static void clear_other_maglev(struct sl_xdp *x, sl_u32 vip_id)
{
	struct installed *in = &x->mg[vip_id];

	if (!in->clear_other || (in->first && !x->n_if))
		return;
	/* ENOENT when it was empty already. */
	bpf_map_delete_elem(
		x->fd[maglev_map_of(in->m) == M_MAGLEV ? M_MAGLEVF : M_MAGLEV],
		&vip_id);
	in->clear_other = false;
}

/* After the VIP's entries are gone: both maps' slots. */
static void remove_maglev(struct sl_xdp *x, sl_u32 vip_id)
{
	struct installed *in = &x->mg[vip_id];

	bpf_map_delete_elem(x->fd[M_MAGLEV], &vip_id);
	bpf_map_delete_elem(x->fd[M_MAGLEVF], &vip_id);
	free(in->table);
	in->table = NULL;
	in->m = 0;
	in->clear_other = false;
}

/*
 * Install the Maglev tables that differ from what is installed: grow
 * (M >= installed, new, or a table that changes maps) before the VIP
 * entries change, !grow after, and then clear the slots of the maps the
 * VIPs' tables left.
 */
static int sync_maglev(struct sl_xdp *x, const struct sl_table_hdr *t,
		       bool grow, char *err, size_t errlen)
{
	const struct sl_vip_entry *vips = sl_table_vips(t);
	const sl_u32 *mg = sl_table_maglev(t);
	sl_u32 i;
	int rc;

	for (i = 0; i < t->n_vips && i < x->max_vips; i++) {
		const struct sl_vip_entry *v = &vips[i];
		struct installed *in = &x->mg[i];
		bool moves = in->m && maglev_map_of(in->m) !=
					      maglev_map_of(v->maglev_size);

		if (v->maglev_size == 0 ||
		    (moves || v->maglev_size >= in->m) != grow)
			continue;
		if (in->m == v->maglev_size &&
		    memcmp(in->table, mg + v->maglev_off,
			   (size_t)in->m * sizeof(sl_u32)) == 0)
			continue;
		rc = install_maglev(x, i, mg + v->maglev_off, v->maglev_size,
				    err, errlen);
		if (rc)
			return rc;
	}
	for (i = 0; !grow && i < x->max_vips; i++)
		if (x->mg[i].m)
			clear_other_maglev(x, i);
	return 0;
}

/*
 * After vip_map has changed: the program's cached classifications (one
 * cache per CPU, vip_cache_map) are of an older generation from now on.
 */
static int bump_vip_gen(struct sl_xdp *x, char *err, size_t errlen)
{
	sl_u32 zero = 0, gen = 0;

	if (bpf_map_lookup_elem(x->fd[M_VIPGEN], &zero, &gen))
		gen = 0;
	gen++;
	if (bpf_map_update_elem(x->fd[M_VIPGEN], &zero, &gen, BPF_ANY)) {
		snprintf(err, errlen, "XDP: vip_gen_map update: %s",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static int sync_vips(struct sl_xdp *x, const struct sl_table_hdr *t, char *err,
		     size_t errlen)
{
	const struct sl_vip_slot *idx = sl_table_vip_index(t);
	const struct sl_vip_entry *vips = sl_table_vips(t);
	struct sl_vip_key *stale, k, next;
	unsigned int n_stale = 0, i;
	struct sl_vip_entry e;
	int rc = 0;

	for (i = 0; i < t->vip_index_size; i++) {
		if (idx[i].vip_id == SL_VIP_EMPTY)
			continue;
		if (idx[i].vip_id == SL_VIP_AMBIGUOUS) {
			memset(&e, 0, sizeof(e));
			e.id = SL_VIP_AMBIGUOUS;
		} else {
			e = vips[idx[i].vip_id];
		}
		if (bpf_map_update_elem(x->fd[M_VIP], &idx[i].key, &e,
					BPF_ANY)) {
			snprintf(err, errlen, "XDP: vip_map update: %s",
				 strerror(errno));
			return -errno;
		}
	}
	/* Keys no longer in the index: collect, then delete. */
	stale = calloc(x->max_vip_index + 1, sizeof(*stale));
	if (!stale) {
		snprintf(err, errlen, "XDP: out of memory");
		return -ENOMEM;
	}
	if (bpf_map_get_next_key(x->fd[M_VIP], NULL, &next) == 0) {
		do {
			k = next;
			if (sl_table_vip_lookup(t, &k) == SL_VIP_EMPTY &&
			    n_stale <= x->max_vip_index)
				stale[n_stale++] = k;
		} while (bpf_map_get_next_key(x->fd[M_VIP], &k, &next) == 0);
	}
	for (i = 0; i < n_stale; i++)
		bpf_map_delete_elem(x->fd[M_VIP], &stale[i]);
	free(stale);
	if (!rc)
		rc = bump_vip_gen(x, err, errlen);
	return rc;
}

static int sync_backends(struct sl_xdp *x, const struct sl_table_hdr *t,
			 char *err, size_t errlen)
{
	struct sl_backend_entry *all;
	sl_u32 count = x->max_backends, n = t->n_backends;
	int rc;

	all = calloc(x->max_backends, sizeof(*all));
	if (!all || grow_keys(x, x->max_backends)) {
		free(all);
		snprintf(err, errlen, "XDP: out of memory");
		return -ENOMEM;
	}
	if (n > x->max_backends)
		n = x->max_backends;
	memcpy(all, sl_table_backends(t), (size_t)n * sizeof(*all));
	rc = bpf_map_update_batch(x->fd[M_BACKEND], x->keys_buf, all, &count,
				  NULL);
	free(all);
	if (rc) {
		snprintf(err, errlen, "XDP: backend_map update: %s",
			 strerror(errno));
		return -errno;
	}
	return 0;
}

int sl_xdp_sync(struct sl_xdp *x, const struct sl_shm_header *h, char *err,
		size_t errlen)
{
	sl_u64 gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	const struct sl_table_hdr *t;
	struct sl_table_params prm;
	sl_u32 zero = 0, i;
	int rc;

	if (!gen)
		return 0;
	t = sl_table_slot(h, gen);
	prm = t->params;
	if (!prm.encap_src4_bits && x->has_src4) {
		prm.encap_src4 = x->src4;
		prm.encap_src4_bits = 32;
	}
	if (!prm.encap_src6_bits && x->has_src6) {
		prm.encap_src6 = x->src6;
		prm.encap_src6_bits = 128;
	}
	if (bpf_map_update_elem(x->fd[M_PARAMS], &zero, &prm, BPF_ANY)) {
		snprintf(err, errlen, "XDP: params_map update: %s",
			 strerror(errno));
		return -errno;
	}
	rc = sync_backends(x, t, err, errlen);
	if (!rc)
		rc = sync_maglev(x, t, true, err, errlen);
	if (!rc)
		rc = sync_vips(x, t, err, errlen);
	if (!rc)
		rc = sync_maglev(x, t, false, err, errlen);
	if (rc)
		return rc;
	for (i = 0; i < x->max_vips; i++) {
		const struct sl_vip_entry *v = &sl_table_vips(t)[i];

		if ((i >= t->n_vips || v->maglev_size == 0) && x->mg[i].m)
			remove_maglev(x, i);
	}
	x->synced_gen = gen;
	return 0;
}

int sl_xdp_apply(struct sl_xdp *x, const struct sl_config *cfg,
		 const struct sl_pub_override *ov, unsigned int n_ov, char *err,
		 size_t errlen)
{
	int rc = sl_publish_config(x->pub, cfg, ov, n_ov, err, errlen);

	if (rc)
		return rc;
	return sl_xdp_sync(x, sl_shm_header(x->shm), err, errlen);
}

void sl_xdp_set_default_source(struct sl_xdp *x, sl_u8 family,
			       const union sl_addr *addr)
{
	if (family == SL_AF_INET) {
		x->src4 = *addr;
		x->has_src4 = true;
	} else {
		x->src6 = *addr;
		x->has_src6 = true;
	}
}

/* ---- accessors and counters ---- */

bool sl_xdp_reused(const struct sl_xdp *x)
{
	return x->reused;
}

int sl_xdp_prog_fd(const struct sl_xdp *x, const char *name)
{
	struct bpf_program *p = bpf_object__find_program_by_name(x->obj, name);

	return p ? bpf_program__fd(p) : -ENOENT;
}

int sl_xdp_map_fd(const struct sl_xdp *x, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(x->obj, name);

	return fd < 0 ? -ENOENT : fd;
}

struct sl_shm_header *sl_xdp_tables(const struct sl_xdp *x)
{
	return sl_shm_header(x->shm);
}

struct sl_publisher *sl_xdp_publisher(const struct sl_xdp *x)
{
	return x->pub;
}

/* Sum a per-CPU value of n 64-bit counters at key into out. */
static int sum_percpu(int fd, sl_u32 key, sl_u64 *out, size_t n)
{
	int cpus = ncpus(), c;
	sl_u64 *v;
	size_t i;

	if (cpus <= 0)
		return -EINVAL;
	v = calloc((size_t)cpus, n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v)) {
		free(v);
		return -errno;
	}
	memset(out, 0, n * sizeof(*out));
	for (c = 0; c < cpus; c++)
		for (i = 0; i < n; i++)
			out[i] += v[(size_t)c * n + i];
	free(v);
	return 0;
}

int sl_xdp_stats(const struct sl_xdp *x, struct sl_lcore_stats *total,
		 struct sl_vip_stats *vips, unsigned int nv,
		 struct sl_backend_stats *bes, unsigned int nb)
{
	unsigned int i;
	int rc = 0;

	if (total) {
		rc = sum_percpu(x->fd[M_LCORE], 0, (sl_u64 *)total,
				sizeof(*total) / 8);
		if (rc)
			return rc;
		total->table_gen = x->synced_gen;
	}
	for (i = 0; vips && i < nv && i < x->max_vips && !rc; i++)
		rc = sum_percpu(x->fd[M_VIPST], i, (sl_u64 *)&vips[i],
				sizeof(*vips) / 8);
	for (i = 0; bes && i < nb && i < x->max_backends && !rc; i++)
		rc = sum_percpu(x->fd[M_BEST], i, (sl_u64 *)&bes[i],
				sizeof(*bes) / 8);
	return rc;
}

int sl_xdp_passed(const struct sl_xdp *x, struct sl_xdp_pass_stats *out)
{
	return sum_percpu(x->fd[M_PASS], 0, out->passed, SL_DROP_SLOTS);
}

int sl_xdp_flush_flows(struct sl_xdp *x)
{
	size_t len =
		(size_t)x->flow_buckets * sizeof(struct sl_xdp_flow_bucket);
	struct sl_xdp_flow_bucket *bk;
	sl_u32 i, w;
	int n = 0;

	/* An empty signature is an empty way: the entries need no clearing. */
	bk = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, x->fd[M_FLOWB],
		  0);
	if (bk == MAP_FAILED)
		return -errno;
	for (i = 0; i < x->flow_buckets; i++)
		for (w = 0; w < SL_XDP_FLOW_WAYS; w++)
			n += bk[i].sig[w] != 0;
	memset(bk, 0, len);
	munmap(bk, len);
	return n;
}
