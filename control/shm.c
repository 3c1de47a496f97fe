/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shm.c: the shared-memory file sluiced and sluice-dp both map.
 *
 * Role: create the file (hugetlbfs when mounted, /dev/shm otherwise), lay
 * it out, re-attach to it untouched after a restart, tell whether a
 * dataplane is alive, and sum the dataplane's per-lcore counters.
 * Invariants: the magic is stored last (release), so a reader that sees it
 * sees a whole header; a file is never shrunk under a mapping (a file that
 * must be replaced is unlinked and created anew); one publisher per file,
 * held by an flock for the publisher's lifetime.
 * Called from sluiced's main thread; the readers from anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/param.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "publish.h"

#define HUGETLBFS_MAGIC_ 0x958458f6
#define PAGE 4096ULL
#define HUGE_DIR "/dev/hugepages"
#define SHM_DIR "/dev/shm"

struct sl_shm {
	int fd;
	void *base;
	size_t size;
	bool reattached;
	bool huge;
	char path[PATH_MAX];
};

static void fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static sl_u64 align_up(sl_u64 v, sl_u64 a)
{
	return (v + a - 1) / a * a;
}

static sl_u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sl_u64)ts.tv_sec * 1000000000ULL + (sl_u64)ts.tv_nsec;
}

static sl_u32 pow2_at_least(sl_u64 v)
{
	sl_u32 p = 2;

	while (p < v)
		p <<= 1;
	return p;
}

/* ---- layout ---- */

struct layout {
	sl_u32 vips_off, index_off, be_off, mg_off;
	sl_u32 max_vip_index;
	sl_u64 slot_size, stats_size, total;
};

/* Room for every VIP key plus one fragment key per VIP, at load <= 1/2. */
static sl_u32 index_size_for(sl_u32 max_vips)
{
	return pow2_at_least(4ULL * max_vips);
}

static void layout_of(const struct sl_shm_caps *c, struct layout *l)
{
	sl_u64 off = align_up(sizeof(struct sl_table_hdr), SL_CACHE_LINE);

	l->max_vip_index = index_size_for(c->max_vips);
	l->vips_off = (sl_u32)off;
	off = align_up(off + (sl_u64)c->max_vips * sizeof(struct sl_vip_entry),
		       SL_CACHE_LINE);
	l->index_off = (sl_u32)off;
	off = align_up(off + (sl_u64)l->max_vip_index *
				       sizeof(struct sl_vip_slot),
		       SL_CACHE_LINE);
	l->be_off = (sl_u32)off;
	off = align_up(off + (sl_u64)c->max_backends *
				       sizeof(struct sl_backend_entry),
		       SL_CACHE_LINE);
	l->mg_off = (sl_u32)off;
	l->slot_size = align_up(off + (sl_u64)c->max_maglev * 4, PAGE);
	l->stats_size =
		(sl_u64)c->max_lcores *
		(sizeof(struct sl_lcore_stats) +
		 (sl_u64)c->max_vips * sizeof(struct sl_vip_stats) +
		 (sl_u64)c->max_backends * sizeof(struct sl_backend_stats));
	l->total = align_up(sizeof(struct sl_shm_header), PAGE) +
		   2 * l->slot_size + align_up(l->stats_size, PAGE);
}

void sl_shm_slot_layout(const struct sl_shm_header *h, struct sl_table_hdr *t)
{
	struct sl_shm_caps c = {
		.max_vips = h->max_vips,
		.max_backends = h->max_backends,
		.max_maglev = h->max_maglev,
		.max_lcores = h->max_lcores,
	};
	struct layout l;

	layout_of(&c, &l);
	t->vips_off = l.vips_off;
	t->vip_index_off = l.index_off;
	t->backends_off = l.be_off;
	t->maglev_off = l.mg_off;
}

static int check_caps(const struct sl_shm_caps *c, struct sl_shm_caps *out,
		      char *err, size_t errlen)
{
	*out = *c;
	out->max_vips += out->max_vips & 1;
	out->max_backends += out->max_backends & 1;
	if (!c->max_vips || out->max_vips > 0x8000 || !c->max_backends ||
	    c->max_backends > (1u << 24) || !c->max_maglev ||
	    c->max_maglev > (1u << 28) || !c->max_lcores ||
	    c->max_lcores > SL_MAX_LCORES) {
		fail(err, errlen,
		     "shared memory capacities out of range: %u VIPs "
		     "(1..32768), "
		     "%u backends (1..16777216), %u Maglev entries "
		     "(1..268435456), %u lcores (1..%u)",
		     c->max_vips, c->max_backends, c->max_maglev, c->max_lcores,
		     SL_MAX_LCORES);
		return -EINVAL;
	}
	return 0;
}

/* ---- the file ---- */

static bool instance_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	/* As the config allows: up to the 32 bytes of hdr->instance. */
	if (!n || n > sizeof(((struct sl_shm_header *)0)->instance) ||
	    s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static bool is_hugetlbfs(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 &&
	       (unsigned long)sf.f_type == HUGETLBFS_MAGIC_;
}

static bool fd_on_hugetlbfs(int fd, sl_u64 *page_size)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0 ||
	    (unsigned long)sf.f_type != HUGETLBFS_MAGIC_)
		return false;
	if (page_size)
		*page_size = (sl_u64)sf.f_bsize;
	return true;
}

/* The path of instance, and whether a file already exists there. */
static int default_path(const char *instance, char *path, size_t len,
			bool *exists)
{
	struct stat st;

	snprintf(path, len, HUGE_DIR "/sluice-%s", instance);
	if (stat(path, &st) == 0) {
		*exists = true;
		return 0;
	}
	snprintf(path, len, SHM_DIR "/sluice-%s", instance);
	*exists = stat(path, &st) == 0;
	if (!*exists && is_hugetlbfs(HUGE_DIR))
		snprintf(path, len, HUGE_DIR "/sluice-%s", instance);
	return 0;
}

static void shm_free(struct sl_shm *s)
{
	if (s->base && s->base != MAP_FAILED)
		munmap(s->base, s->size);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static struct sl_shm *shm_new(const char *path)
{
	struct sl_shm *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = -1;
	snprintf(s->path, sizeof(s->path), "%s", path);
	return s;
}

/* Map fd's whole file; checks magic, ABI and that the layout fits. */
static int map_existing(struct sl_shm *s, int prot, char *err, size_t errlen)
{
	const struct sl_shm_header *h;
	struct stat st;

	if (fstat(s->fd, &st) < 0) {
		fail(err, errlen, "%s: %s", s->path, strerror(errno));
		return -errno;
	}
	if ((size_t)st.st_size < sizeof(struct sl_shm_header))
		return -ENODATA;
	s->size = (size_t)st.st_size;
	s->base = mmap(NULL, s->size, prot, MAP_SHARED, s->fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		fail(err, errlen, "%s: cannot map: %s", s->path,
		     strerror(errno));
		return -errno;
	}
	h = s->base;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) == 0)
		return -ENODATA; /* a creator died before finishing */
	if (h->magic != SL_SHM_MAGIC) {
		fail(err, errlen,
		     "%s: not a sluice shared-memory file (magic %#llx)",
		     s->path, (unsigned long long)h->magic);
		return -EPROTO;
	}
	if (h->abi_version != SL_TABLE_ABI_VERSION) {
		fail(err, errlen,
		     "%s: table ABI version %u, this build speaks version %u; "
		     "stop sluice-dp and remove the file",
		     s->path, h->abi_version, SL_TABLE_ABI_VERSION);
		return -EPROTO;
	}
	if (h->header_size != sizeof(struct sl_shm_header) ||
	    h->total_size > s->size || h->max_lcores > SL_MAX_LCORES ||
	    h->slot_off[1] + h->slot_size > h->stats_off ||
	    h->stats_off + h->stats_size > h->total_size) {
		fail(err, errlen, "%s: inconsistent header (file size %zu)",
		     s->path, s->size);
		return -EPROTO;
	}
	return 0;
}

/* Size, map and fill a new, empty file. */
static int init_file(struct sl_shm *s, const char *instance,
		     const struct sl_shm_caps *c, char *err, size_t errlen)
{
	struct sl_shm_header *h;
	struct layout l;
	sl_u64 hdr_size = align_up(sizeof(struct sl_shm_header), PAGE);
	sl_u64 hpage;

	layout_of(c, &l);
	s->size = l.total;
	s->huge = fd_on_hugetlbfs(s->fd, &hpage);
	if (s->huge)
		s->size = align_up(l.total, hpage);
	if (ftruncate(s->fd, (off_t)s->size) < 0) {
		fail(err, errlen, "%s: cannot size to %zu bytes: %s", s->path,
		     s->size, strerror(errno));
		return -errno;
	}
	s->base = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
		       0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		fail(err, errlen, "%s: cannot map %zu bytes: %s", s->path,
		     s->size, strerror(errno));
		return -errno;
	}
	h = s->base;
	memset(h, 0, sizeof(*h));
	h->abi_version = SL_TABLE_ABI_VERSION;
	h->header_size = sizeof(*h);
	h->total_size = s->size;
	h->slot_off[0] = hdr_size;
	h->slot_off[1] = hdr_size + l.slot_size;
	h->slot_size = l.slot_size;
	h->stats_off = hdr_size + 2 * l.slot_size;
	h->stats_size = l.stats_size;
	h->max_vips = c->max_vips;
	h->max_backends = c->max_backends;
	h->max_vip_index = l.max_vip_index;
	h->max_maglev = c->max_maglev;
	h->max_lcores = c->max_lcores;
	/* NUL-padded; not terminated when the name is 32 bytes long. */
	memcpy(h->instance, instance,
	       MIN(strlen(instance), sizeof(h->instance)));
	/* Readers check the magic first: it goes last. */
	__atomic_store_n(&h->magic, SL_SHM_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

static bool caps_fit(const struct sl_shm_header *h, const struct sl_shm_caps *c)
{
	return h->max_vips >= c->max_vips &&
	       h->max_backends >= c->max_backends &&
	       h->max_maglev >= c->max_maglev && h->max_lcores >= c->max_lcores;
}

/* Open (creating) path, lock it, then re-attach or initialise it. */
static struct sl_shm *open_create(const char *path, const char *instance,
				  const struct sl_shm_caps *c, char *err,
				  size_t errlen, int *rc)
{
	struct sl_shm *s = shm_new(path);
	int tries;

	if (!s) {
		*rc = -ENOMEM;
		return NULL;
	}
	for (tries = 0;; tries++) {
		s->size = 0;
		s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
		if (s->fd < 0) {
			*rc = -errno;
			fail(err, errlen, "%s: cannot open: %s", path,
			     strerror(errno));
			goto out_free;
		}
		if (flock(s->fd, LOCK_EX | LOCK_NB) < 0) {
			*rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
			fail(err, errlen,
			     "%s: another publisher holds the file: %s", path,
			     strerror(-*rc));
			goto out_free;
		}
		*rc = map_existing(s, PROT_READ | PROT_WRITE, err, errlen);
		if (*rc == 0 && caps_fit(s->base, c)) {
			s->reattached = true;
			s->huge = fd_on_hugetlbfs(s->fd, NULL);
			return s;
		}
		if (*rc == 0 && sl_shm_dp_alive(s->base)) {
			const struct sl_shm_header *h = s->base;

			fail(err, errlen,
			     "%s: holds %u VIPs, %u backends, %u Maglev "
			     "entries, "
			     "%u lcores but %u, %u, %u, %u are needed, and "
			     "sluice-dp (pid %llu) still uses it; restart it",
			     path, h->max_vips, h->max_backends, h->max_maglev,
			     h->max_lcores, c->max_vips, c->max_backends,
			     c->max_maglev, c->max_lcores,
			     (unsigned long long)h->dp_pid);
			*rc = -ENOSPC;
			goto out_free;
		}
		if (*rc != 0 && *rc != -ENODATA)
			goto out_free;
		if (s->base) {
			munmap(s->base, s->size);
			s->base = NULL;
		}
		if (s->size == 0)
			break; /* empty: ours to fill */
		if (tries) {
			fail(err, errlen, "%s: replaced under us, giving up",
			     path);
			*rc = -EAGAIN;
			goto out_free;
		}
		/*
		 * Too small (no dataplane alive) or never finished: start a
		 * new inode so a process that still maps the old one is not
		 * hit by SIGBUS.
		 */
		unlink(path);
		close(s->fd);
		s->fd = -1;
	}
	*rc = init_file(s, instance, c, err, errlen);
	if (*rc == 0)
		return s;
	unlink(path);
out_free:
	shm_free(s);
	return NULL;
}

struct sl_shm *sl_shm_create(const char *instance,
			     const struct sl_shm_caps *caps,
			     const char *path_override, char *err,
			     size_t errlen)
{
	struct sl_shm_caps c;
	struct sl_shm *s;
	char path[PATH_MAX];
	bool exists = false;
	int rc;

	if (!instance_ok(instance)) {
		fail(err, errlen, "shared memory: bad instance name '%s'",
		     instance ? instance : "");
		errno = EINVAL;
		return NULL;
	}
	rc = check_caps(caps, &c, err, errlen);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	if (path_override)
		snprintf(path, sizeof(path), "%s", path_override);
	else
		default_path(instance, path, sizeof(path), &exists);
	s = open_create(path, instance, &c, err, errlen, &rc);
	if (!s && !path_override && !exists &&
	    strncmp(path, HUGE_DIR "/", sizeof(HUGE_DIR)) == 0 &&
	    (rc == -ENOMEM || rc == -ENOSPC || rc == -EINVAL || rc == -EACCES ||
	     rc == -EPERM)) {
		/* hugetlbfs mounted but short of free pages: use /dev/shm. */
		snprintf(path, sizeof(path), SHM_DIR "/sluice-%s", instance);
		s = open_create(path, instance, &c, err, errlen, &rc);
	}
	if (!s) {
		errno = -rc;
		return NULL;
	}
	__atomic_store_n(&sl_shm_header(s)->cp_pid, (sl_u64)getpid(),
			 __ATOMIC_RELAXED);
	sl_shm_heartbeat(s);
	return s;
}

struct sl_shm *sl_shm_attach(const char *instance, const char *path_override,
			     char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct sl_shm *s;
	bool exists = true;
	int rc;

	if (path_override) {
		snprintf(path, sizeof(path), "%s", path_override);
	} else if (!instance_ok(instance)) {
		fail(err, errlen, "shared memory: bad instance name '%s'",
		     instance ? instance : "");
		errno = EINVAL;
		return NULL;
	} else {
		default_path(instance, path, sizeof(path), &exists);
	}
	s = shm_new(path);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->fd = exists ? open(path, O_RDWR | O_CLOEXEC) : -1;
	if (s->fd < 0) {
		rc = exists ? errno : ENOENT;
		fail(err, errlen, "%s: cannot open: %s", path, strerror(rc));
		goto fail;
	}
	rc = -map_existing(s, PROT_READ | PROT_WRITE, err, errlen);
	if (rc == ENODATA)
		fail(err, errlen, "%s: not initialised yet", path);
	if (rc)
		goto fail;
	s->reattached = true;
	s->huge = fd_on_hugetlbfs(s->fd, NULL);
	return s;
fail:
	shm_free(s);
	errno = rc;
	return NULL;
}

void sl_shm_close(struct sl_shm *shm, bool unlink_file)
{
	if (!shm)
		return;
	if (unlink_file)
		unlink(shm->path);
	shm_free(shm);
}

struct sl_shm_header *sl_shm_header(const struct sl_shm *shm)
{
	return shm->base;
}

const char *sl_shm_path(const struct sl_shm *shm)
{
	return shm->path;
}

bool sl_shm_reattached(const struct sl_shm *shm)
{
	return shm->reattached;
}

bool sl_shm_on_hugepages(const struct sl_shm *shm)
{
	return shm->huge;
}

void sl_shm_heartbeat(struct sl_shm *shm)
{
	__atomic_store_n(&sl_shm_header(shm)->cp_heartbeat_ns, now_ns(),
			 __ATOMIC_RELEASE);
}

bool sl_shm_dp_alive(const struct sl_shm_header *h)
{
	sl_u64 pid = __atomic_load_n(&h->dp_pid, __ATOMIC_ACQUIRE);
	sl_u64 hb = __atomic_load_n(&h->dp_heartbeat_ns, __ATOMIC_ACQUIRE);
	sl_u64 now = now_ns();

	if (pid == 0 || pid > INT_MAX)
		return false;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return false;
	return hb + SL_DP_STALE_NS > now;
}

/* ---- stats ---- */

void sl_shm_sum_lcore(const struct sl_shm_header *h, struct sl_lcore_stats *out)
{
	unsigned int l, i;

	memset(out, 0, sizeof(*out));
	for (l = 0; l < h->max_lcores; l++) {
		const sl_u64 *src = (const sl_u64 *)sl_shm_stats_lcore(h, l);
		sl_u64 *dst = (sl_u64 *)out;

		for (i = 0; i < sizeof(*out) / 8; i++)
			dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
	/* A generation is not a sum: report the oldest in use. */
	out->table_gen = ~0ULL;
	for (l = 0; l < h->max_lcores; l++) {
		sl_u64 g = __atomic_load_n(&sl_shm_stats_lcore(h, l)->table_gen,
					   __ATOMIC_RELAXED);

		if (g && g < out->table_gen)
			out->table_gen = g;
	}
	if (out->table_gen == ~0ULL)
		out->table_gen = 0;
}

static void sum_rows(const void *first, size_t row_bytes, unsigned int rows,
		     size_t words, sl_u64 *out)
{
	unsigned int l;
	size_t i;

	memset(out, 0, words * 8);
	for (l = 0; l < rows; l++) {
		const sl_u64 *src =
			(const sl_u64 *)((const sl_u8 *)first + l * row_bytes);

		for (i = 0; i < words; i++)
			out[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
}

int sl_shm_sum_vip(const struct sl_shm_header *h, unsigned int vip_id,
		   struct sl_vip_stats *out)
{
	if (vip_id >= h->max_vips)
		return -ENOENT;
	sum_rows(sl_shm_stats_vip(h, 0) + vip_id,
		 (size_t)h->max_vips * sizeof(*out), h->max_lcores,
		 sizeof(*out) / 8, (sl_u64 *)out);
	return 0;
}

int sl_shm_sum_backend(const struct sl_shm_header *h, unsigned int backend_id,
		       struct sl_backend_stats *out)
{
	if (backend_id >= h->max_backends)
		return -ENOENT;
	sum_rows(sl_shm_stats_backend(h, 0) + backend_id,
		 (size_t)h->max_backends * sizeof(*out), h->max_lcores,
		 sizeof(*out) / 8, (sl_u64 *)out);
	return 0;
}
