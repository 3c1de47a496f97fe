/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * shm.c: attach sluice-dp to the shared memory that sluiced creates.
 *
 * Called from the main lcore only (housekeeping), never from the fast path.
 * A file that is missing, still being created or of another ABI is not
 * fatal: the caller logs the reason and retries every second, because the
 * dataplane must never wait for the control plane. Everything read from the
 * file is validated before a worker is pointed at it, so a bad file is an
 * error message, not a crash.
 *
 * Writes: dp_pid, dp_start_ns, dp_nb_lcores, dp_heartbeat_ns (main lcore),
 * qs[row].online (the worker of that row, and the main lcore at detach).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shm.h"

/* A dataplane whose heartbeat is older than this is considered dead. */
#define SL_DPSHM_STALE_NS (2ull * 1000 * 1000 * 1000)

sl_u64 sl_dpshm_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (sl_u64)ts.tv_sec * 1000000000ull + (sl_u64)ts.tv_nsec;
}

void sl_dpshm_locate(const char *path, const char *instance, char *out,
		     size_t outlen)
{
	if (path != NULL && path[0] != '\0') {
		snprintf(out, outlen, "%s", path);
		return;
	}
	snprintf(out, outlen, "/dev/hugepages/sluice-%s", instance);
	if (access(out, F_OK) == 0)
		return;
	snprintf(out, outlen, "/dev/shm/sluice-%s", instance);
}

static size_t stats_bytes(const struct sl_shm_header *h)
{
	return (size_t)h->max_lcores * sizeof(struct sl_lcore_stats) +
	       (size_t)h->max_lcores * h->max_vips *
		       sizeof(struct sl_vip_stats) +
	       (size_t)h->max_lcores * h->max_backends *
		       sizeof(struct sl_backend_stats);
}

static int region_ok(sl_u64 off, sl_u64 len, sl_u64 total)
{
	return off <= total && len <= total - off;
}

/* Another live sluice-dp already owns this mapping? */
static int other_dp_alive(const struct sl_shm_header *h)
{
	sl_u64 pid = __atomic_load_n(&h->dp_pid, __ATOMIC_ACQUIRE);
	sl_u64 hb = __atomic_load_n(&h->dp_heartbeat_ns, __ATOMIC_RELAXED);

	if (pid == 0 || pid == (sl_u64)getpid())
		return 0;
	if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
		return 0;
	return sl_dpshm_mono_ns() - hb < SL_DPSHM_STALE_NS;
}

static int validate(const struct sl_shm_header *h, sl_u64 file_size,
		    unsigned int nb_rows, char *err, size_t errlen)
{
	sl_u64 magic = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);

	if (magic != SL_SHM_MAGIC) {
		snprintf(err, errlen,
			 "bad magic 0x%016" PRIx64
			 ", not a sluice table (or sluiced is still creating "
			 "it)",
			 (uint64_t)magic);
		return -EPROTO;
	}
	if (h->abi_version != SL_TABLE_ABI_VERSION) {
		snprintf(err, errlen,
			 "ABI version %u, sluice-dp speaks %d (upgrade both "
			 "together)",
			 h->abi_version, SL_TABLE_ABI_VERSION);
		return -EPROTO;
	}
	if (h->header_size != sizeof(*h)) {
		snprintf(err, errlen,
			 "header is %u bytes, sluice-dp expects %zu (upgrade "
			 "both together)",
			 h->header_size, sizeof(*h));
		return -EPROTO;
	}
	if (h->total_size > file_size) {
		snprintf(err, errlen,
			 "total_size %" PRIu64 " exceeds the file size %" PRIu64
			 " (truncated?)",
			 (uint64_t)h->total_size, (uint64_t)file_size);
		return -EPROTO;
	}
	if (!region_ok(h->slot_off[0], h->slot_size, h->total_size) ||
	    !region_ok(h->slot_off[1], h->slot_size, h->total_size) ||
	    h->slot_size < sizeof(struct sl_table_hdr) ||
	    !region_ok(h->stats_off, h->stats_size, h->total_size) ||
	    h->max_lcores > SL_MAX_LCORES || h->stats_off % 8 != 0 ||
	    h->stats_size < stats_bytes(h)) {
		snprintf(err, errlen,
			 "layout out of bounds (slots at %" PRIu64 "/%" PRIu64
			 " size %" PRIu64 ", stats at %" PRIu64 " size %" PRIu64
			 ", total %" PRIu64 ")",
			 (uint64_t)h->slot_off[0], (uint64_t)h->slot_off[1],
			 (uint64_t)h->slot_size, (uint64_t)h->stats_off,
			 (uint64_t)h->stats_size, (uint64_t)h->total_size);
		return -EPROTO;
	}
	if (nb_rows > h->max_lcores) {
		snprintf(err, errlen,
			 "has rows for %u lcores, sluice-dp runs %u workers "
			 "(use fewer lcores or raise the limit in sluiced)",
			 h->max_lcores, nb_rows);
		return -ENOSPC;
	}
	if (other_dp_alive(h)) {
		snprintf(err, errlen,
			 "in use by another sluice-dp (pid %" PRIu64 ")",
			 (uint64_t)h->dp_pid);
		return -EBUSY;
	}
	return 0;
}

int sl_dpshm_attach(struct sl_dpshm *s, const char *path, unsigned int nb_rows,
		    char *err, size_t errlen)
{
	struct stat st;
	void *map;
	int fd, ret;

	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", path);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			snprintf(err, errlen,
				 "not found: is sluiced running? (waiting)");
		else
			snprintf(err, errlen, "open: %s", strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) != 0) {
		ret = -errno;
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		close(fd);
		return ret;
	}
	if ((sl_u64)st.st_size < sizeof(struct sl_shm_header)) {
		snprintf(err, errlen,
			 "file is %lld bytes, smaller than the header (sluiced "
			 "still creating it?)",
			 (long long)st.st_size);
		close(fd);
		return -EAGAIN;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_POPULATE, fd, 0);
	ret = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret != 0) {
		snprintf(err, errlen, "mmap %lld bytes: %s",
			 (long long)st.st_size, strerror(-ret));
		return ret;
	}
	ret = validate(map, (sl_u64)st.st_size, nb_rows, err, errlen);
	if (ret != 0) {
		munmap(map, (size_t)st.st_size);
		return ret;
	}
	s->hdr = map;
	s->map_len = (size_t)st.st_size;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	return 0;
}

int sl_dpshm_same_file(const struct sl_dpshm *s, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return errno == ENOENT ? 1 : 0; /* gone: keep what we have */
	return st.st_dev == s->dev && st.st_ino == s->ino;
}

void sl_dpshm_claim(struct sl_dpshm *s, unsigned int nb_rows, sl_u64 start_ns)
{
	struct sl_shm_header *h = s->hdr;

	__atomic_store_n(&h->dp_start_ns, start_ns, __ATOMIC_RELAXED);
	__atomic_store_n(&h->dp_nb_lcores, nb_rows, __ATOMIC_RELAXED);
	__atomic_store_n(&h->dp_heartbeat_ns, sl_dpshm_mono_ns(),
			 __ATOMIC_RELAXED);
	__atomic_store_n(&h->dp_pid, (sl_u64)getpid(), __ATOMIC_RELEASE);
}

void sl_dpshm_heartbeat(struct sl_dpshm *s)
{
	if (s->hdr != NULL)
		__atomic_store_n(&s->hdr->dp_heartbeat_ns, sl_dpshm_mono_ns(),
				 __ATOMIC_RELEASE);
}

/*
 * online = 1 is stored before the lcore reads hdr->gen, with a full fence
 * between, as rte_rcu_qsbr_thread_online does: a publisher that misses the
 * online flag is then guaranteed that this lcore reads the newer generation.
 */
void sl_dpshm_lcore_online(struct sl_shm_header *hdr, unsigned int row)
{
	__atomic_store_n(&hdr->qs[row].online, 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void sl_dpshm_lcore_offline(struct sl_shm_header *hdr, unsigned int row)
{
	__atomic_store_n(&hdr->qs[row].online, 0, __ATOMIC_RELEASE);
}

void sl_dpshm_detach(struct sl_dpshm *s, unsigned int nb_rows)
{
	struct sl_shm_header *h = s->hdr;
	sl_u64 me = (sl_u64)getpid();
	unsigned int i;

	if (h == NULL)
		return;
	for (i = 0; i < nb_rows && i < SL_MAX_LCORES; i++)
		sl_dpshm_lcore_offline(h, i);
	__atomic_compare_exchange_n(&h->dp_pid, &me, 0, 0, __ATOMIC_RELEASE,
				    __ATOMIC_RELAXED);
	munmap(h, s->map_len);
	s->hdr = NULL;
}

struct sl_lcore_stats *sl_dpshm_lcore_stats(struct sl_shm_header *hdr,
					    unsigned int row)
{
	struct sl_lcore_stats *l =
		(struct sl_lcore_stats *)((sl_u8 *)hdr + hdr->stats_off);

	return &l[row];
}

struct sl_vip_stats *sl_dpshm_vip_stats(struct sl_shm_header *hdr,
					unsigned int row)
{
	struct sl_vip_stats *v = (struct sl_vip_stats *)(sl_dpshm_lcore_stats(
		hdr, hdr->max_lcores));

	return &v[(size_t)row * hdr->max_vips];
}

struct sl_backend_stats *sl_dpshm_backend_stats(struct sl_shm_header *hdr,
						unsigned int row)
{
	struct sl_backend_stats *b =
		(struct sl_backend_stats *)sl_dpshm_vip_stats(hdr,
							      hdr->max_lcores);

	return &b[(size_t)row * hdr->max_backends];
}
