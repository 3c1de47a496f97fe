/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xdp_load.c: the XDP program and its maps (struct sl_xdp, see xdp.h),
 * without any daemon state; the tables are copied into the maps by
 * xdp_sync.c.
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
#include "publish.h"
#include "sluice_xdp.skel.h"
#include "xdp.h"
#include "xdp_int.h"

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11

static const char *const map_names[M_COUNT] = {
	[M_VIP] = "vip_map",	       [M_BACKEND] = "backend_map",
	[M_MAGLEV] = "maglev_map",     [M_MAGLEVF] = "maglev_fixed_map",
	[M_PARAMS] = "params_map",     [M_FLOW] = "flow_map",
	[M_FLOWB] = "flow_bucket_map", [M_LCORE] = "lcore_stats_map",
	[M_VIPST] = "vip_stats_map",   [M_BEST] = "backend_stats_map",
	[M_PASS] = "pass_stats_map",   [M_VIPGEN] = "vip_gen_map",
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
