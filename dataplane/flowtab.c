/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flowtab.c: set-up of the per-lcore flow table; the lookups are inline in
 * flowtab.h. Called by the main lcore before workers start, and by tests.
 */
#include <errno.h>
#include <string.h>

#include "flowtab.h"

static sl_u32 round_buckets(sl_u32 size)
{
	sl_u32 n = 1;

	while (n * SL_FT_WAYS < size && n < (1u << 27))
		n <<= 1;
	return n;
}

size_t sl_flowtab_mem_size(sl_u32 size)
{
	size_t nb = round_buckets(size);

	return nb * sizeof(struct sl_flow_bucket) +
	       nb * SL_FT_WAYS * sizeof(struct sl_flow_entry);
}

int sl_flowtab_init(struct sl_flowtab *ft, void *mem, sl_u32 size,
		    sl_u32 tcp_timeout, sl_u32 udp_timeout)
{
	if (!mem || size == 0 || ((unsigned long)mem & 63))
		return -EINVAL;
	ft->nb_buckets = round_buckets(size);
	ft->mask = ft->nb_buckets - 1;
	ft->tcp_timeout = tcp_timeout;
	ft->udp_timeout = udp_timeout;
	ft->buckets = mem;
	ft->entries = (struct sl_flow_entry *)(ft->buckets + ft->nb_buckets);
	sl_flowtab_clear(ft);
	return 0;
}

void sl_flowtab_clear(struct sl_flowtab *ft)
{
	memset(ft->buckets, 0,
	       sl_flowtab_mem_size(ft->nb_buckets * SL_FT_WAYS));
}
