// SPDX-License-Identifier: BSD-3-Clause
/*
 * decap.c: sluice-decap, the loader of the backend-side decapsulation
 * program (sluice_decap.bpf.c).
 *
 *   sluice-decap attach IFACE [--mode xdp|tc] [--gue-port N]
 *   sluice-decap detach IFACE [--mode xdp|tc]
 *   sluice-decap stats  IFACE [--mode xdp|tc]
 *
 * The program stays attached after this process exits: XDP through the
 * netlink attachment, tc through a clsact ingress filter with a fixed
 * handle and priority (sluice/decap.h). Nothing is pinned; detach and stats
 * find the program again from the interface and check its name, so they
 * never touch a program that is not ours. Single-threaded, one-shot.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "sluice/decap.h"
#include "sluice_decap.skel.h"

#define XDP_PROG_NAME "sluice_decap_xdp"
#define TC_PROG_NAME "sluice_decap_tc"

enum mode {
	MODE_ANY, /* detach, stats: whichever is attached */
	MODE_XDP,
	MODE_TC,
};

struct opts {
	const char *cmd;
	const char *ifname;
	int ifindex;
	enum mode mode;
	unsigned int gue_port;
};

static const char *const stat_names[SL_DECAP_NSTATS] = {
	[SL_DECAP_IPIP4] = "ipip4",   [SL_DECAP_IPIP6] = "ipip6",
	[SL_DECAP_IP4IN6] = "ip4in6", [SL_DECAP_IP6IN4] = "ip6in4",
	[SL_DECAP_GUE4] = "gue4",     [SL_DECAP_GUE6] = "gue6",
	[SL_DECAP_PASSED] = "passed", [SL_DECAP_FRAGS] = "fragments",
	[SL_DECAP_ERRORS] = "errors", [SL_DECAP_FAILED] = "failed",
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sluice-decap attach IFACE [--mode xdp|tc] [--gue-port "
		"N]\n"
		"       sluice-decap detach IFACE [--mode xdp|tc]\n"
		"       sluice-decap stats  IFACE [--mode xdp|tc]\n"
		"\n"
		"Strips sluice's ipip / GUE encapsulation from packets "
		"arriving\n"
		"on IFACE so the inner packet reaches the local stack.\n"
		"  --mode xdp   native XDP, generic XDP if the driver has "
		"none\n"
		"               (default for attach)\n"
		"  --mode tc    tc clsact ingress filter\n"
		"  --gue-port N UDP destination port of GUE (default %d)\n",
		SL_DECAP_GUE_PORT);
}

/*
 * Set around calls whose failure is expected (probing for a qdisc or a
 * filter that may not exist), so libbpf's kernel messages do not alarm.
 */
static int quiet;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (getenv("SLUICE_DECAP_DEBUG"))
		return vfprintf(stderr, fmt, ap);
	if (level == LIBBPF_DEBUG || quiet)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* True when the program with id @id is named @name (kernel names stop at 15). */
static int prog_is(__u32 id, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd, ok;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return 0;
	ok = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
	     !strncmp(info.name, name, sizeof(info.name) - 1);
	close(fd);
	return ok;
}

static void prog_name(__u32 id, char *buf, size_t size)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd;

	snprintf(buf, size, "?");
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		snprintf(buf, size, "%s", info.name);
	close(fd);
}

/*
 * XDP: native first; a driver without native XDP gets generic XDP and a
 * message saying so. Our own program is replaced in place; anyone else's is
 * left alone.
 */
static int attach_xdp(const struct opts *o, struct sluice_decap *skel)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	int fd = bpf_program__fd(skel->progs.sluice_decap_xdp);
	__u32 flags = XDP_FLAGS_DRV_MODE;
	__u32 cur = 0;
	char name[32];
	int err;

	err = bpf_xdp_query(o->ifindex, 0, &q);
	if (err) {
		fprintf(stderr, "Failed to query XDP program on %s: %s\n",
			o->ifname, strerror(-err));
		return err;
	}
	if (q.drv_prog_id) {
		cur = q.drv_prog_id;
	} else if (q.skb_prog_id) {
		cur = q.skb_prog_id;
		flags = XDP_FLAGS_SKB_MODE;
	} else if (q.hw_prog_id) {
		cur = q.hw_prog_id; /* never ours: we do not offload */
	}
	if (cur && !prog_is(cur, XDP_PROG_NAME)) {
		prog_name(cur, name, sizeof(name));
		fprintf(stderr,
			"Failed to attach XDP program to %s: XDP program '%s' "
			"(id %u) is already attached; detach it first\n",
			o->ifname, name, cur);
		return -EBUSY;
	}
	if (cur) {
		a.old_prog_fd = bpf_prog_get_fd_by_id(cur);
		flags |= XDP_FLAGS_REPLACE;
	} else {
		flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
	}
	err = bpf_xdp_attach(o->ifindex, fd, flags, &a);
	if (err == -EOPNOTSUPP && !cur) {
		fprintf(stderr,
			"%s: native XDP not available (%s); using generic "
			"XDP\n",
			o->ifname, strerror(-err));
		flags = XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST;
		err = bpf_xdp_attach(o->ifindex, fd, flags, &a);
	}
	if (a.old_prog_fd > 0)
		close(a.old_prog_fd);
	if (err) {
		fprintf(stderr, "Failed to attach XDP program to %s: %s\n",
			o->ifname, strerror(-err));
		return err;
	}
	printf("%s: %s attached (%s XDP, GUE port %u)\n", o->ifname,
	       XDP_PROG_NAME, flags & XDP_FLAGS_SKB_MODE ? "generic" : "native",
	       o->gue_port);
	return 0;
}

static void tc_ids(const struct opts *o, struct bpf_tc_hook *hook,
		   struct bpf_tc_opts *t)
{
	hook->ifindex = o->ifindex;
	hook->attach_point = BPF_TC_INGRESS;
	t->handle = SL_DECAP_TC_HANDLE;
	t->priority = SL_DECAP_TC_PRIORITY;
}

/* Returns the id of the program in our tc slot, 0 if the slot is empty. */
static __u32 tc_query(const struct opts *o)
{
	LIBBPF_OPTS(bpf_tc_hook, hook);
	LIBBPF_OPTS(bpf_tc_opts, t);
	int err;

	tc_ids(o, &hook, &t);
	quiet = 1;
	err = bpf_tc_query(&hook, &t);
	quiet = 0;
	return err ? 0 : t.prog_id;
}

static int attach_tc(const struct opts *o, struct sluice_decap *skel)
{
	LIBBPF_OPTS(bpf_tc_hook, hook);
	LIBBPF_OPTS(bpf_tc_opts, t);
	__u32 cur = tc_query(o);
	char name[32];
	int err;

	if (cur && !prog_is(cur, TC_PROG_NAME)) {
		prog_name(cur, name, sizeof(name));
		fprintf(stderr,
			"Failed to attach tc program to %s: filter handle 0x%x "
			"priority %u holds '%s' (id %u)\n",
			o->ifname, SL_DECAP_TC_HANDLE, SL_DECAP_TC_PRIORITY,
			name, cur);
		return -EBUSY;
	}
	tc_ids(o, &hook, &t);
	quiet = 1;
	err = bpf_tc_hook_create(&hook);
	quiet = 0;
	if (err && err != -EEXIST) {
		fprintf(stderr, "Failed to create clsact qdisc on %s: %s\n",
			o->ifname, strerror(-err));
		return err;
	}
	t.prog_fd = bpf_program__fd(skel->progs.sluice_decap_tc);
	t.flags = BPF_TC_F_REPLACE;
	err = bpf_tc_attach(&hook, &t);
	if (err) {
		fprintf(stderr, "Failed to attach tc program to %s: %s\n",
			o->ifname, strerror(-err));
		return err;
	}
	printf("%s: %s attached (tc ingress, GUE port %u)\n", o->ifname,
	       TC_PROG_NAME, o->gue_port);
	return 0;
}

static int cmd_attach(const struct opts *o)
{
	struct sluice_decap *skel;
	int err;

	skel = sluice_decap__open();
	if (!skel) {
		err = -errno;
		fprintf(stderr, "Failed to open BPF object: %s\n",
			strerror(errno));
		return err;
	}
	skel->rodata->gue_port = (__u16)o->gue_port;
	/* Load only the program this mode attaches. */
	bpf_program__set_autoload(skel->progs.sluice_decap_xdp,
				  o->mode == MODE_XDP);
	bpf_program__set_autoload(skel->progs.sluice_decap_tc,
				  o->mode == MODE_TC);
	err = sluice_decap__load(skel);
	if (err) {
		fprintf(stderr, "Failed to load BPF program for %s: %s\n",
			o->ifname, strerror(-err));
		goto out;
	}
	err = o->mode == MODE_TC ? attach_tc(o, skel) : attach_xdp(o, skel);
out:
	sluice_decap__destroy(skel);
	return err;
}

/* 1 when detached, 0 when nothing of ours was there, -errno on error. */
static int detach_xdp(const struct opts *o)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	LIBBPF_OPTS(bpf_xdp_attach_opts, a);
	__u32 id, flags;
	int err;

	err = bpf_xdp_query(o->ifindex, 0, &q);
	if (err) {
		fprintf(stderr, "Failed to query XDP program on %s: %s\n",
			o->ifname, strerror(-err));
		return err;
	}
	id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
	flags = q.drv_prog_id ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	if (!id || !prog_is(id, XDP_PROG_NAME))
		return 0;
	a.old_prog_fd = bpf_prog_get_fd_by_id(id);
	err = bpf_xdp_detach(o->ifindex, flags | XDP_FLAGS_REPLACE, &a);
	if (a.old_prog_fd > 0)
		close(a.old_prog_fd);
	if (err) {
		fprintf(stderr, "Failed to detach XDP program from %s: %s\n",
			o->ifname, strerror(-err));
		return err;
	}
	printf("%s: %s detached\n", o->ifname, XDP_PROG_NAME);
	return 1;
}

/* The clsact qdisc stays: other filters may live on it. */
static int detach_tc(const struct opts *o)
{
	LIBBPF_OPTS(bpf_tc_hook, hook);
	LIBBPF_OPTS(bpf_tc_opts, t);
	__u32 id = tc_query(o);
	int err;

	if (!id || !prog_is(id, TC_PROG_NAME))
		return 0;
	tc_ids(o, &hook, &t);
	err = bpf_tc_detach(&hook, &t);
	if (err) {
		fprintf(stderr, "Failed to detach tc program from %s: %s\n",
			o->ifname, strerror(-err));
		return err;
	}
	printf("%s: %s detached\n", o->ifname, TC_PROG_NAME);
	return 1;
}

static int cmd_detach(const struct opts *o)
{
	int found = 0, r;

	if (o->mode != MODE_TC) {
		r = detach_xdp(o);
		if (r < 0)
			return r;
		found += r;
	}
	if (o->mode != MODE_XDP) {
		r = detach_tc(o);
		if (r < 0)
			return r;
		found += r;
	}
	if (!found) {
		fprintf(stderr,
			"Failed to detach from %s: no sluice decap program "
			"attached\n",
			o->ifname);
		return -ENOENT;
	}
	return 0;
}

/* Finds stats_map among the maps that program @prog_id uses. */
static int stats_map_fd(__u32 prog_id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info), ids[16], i;
	int prog_fd, fd = -ENOENT;

	prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (prog_fd < 0)
		return -errno;
	info.nr_map_ids = sizeof(ids) / sizeof(ids[0]);
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		fd = -errno;
		goto out;
	}
	for (i = 0; i < info.nr_map_ids && i < sizeof(ids) / sizeof(ids[0]);
	     i++) {
		struct bpf_map_info m = {};
		__u32 mlen = sizeof(m);
		int mfd = bpf_map_get_fd_by_id(ids[i]);

		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &m, &mlen) &&
		    !strcmp(m.name, "stats_map")) {
			fd = mfd;
			break;
		}
		close(mfd);
	}
out:
	close(prog_fd);
	return fd;
}

static int print_stats(const struct opts *o, const char *what, __u32 prog_id)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 k;
	int fd, c, err = 0;

	if (ncpu < 0)
		return ncpu;
	fd = stats_map_fd(prog_id);
	if (fd < 0) {
		fprintf(stderr, "Failed to read counters of %s on %s: %s\n",
			what, o->ifname, strerror(-fd));
		return fd;
	}
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals) {
		err = -ENOMEM;
		goto out;
	}
	printf("%s %s (prog id %u)\n", o->ifname, what, prog_id);
	for (k = 0; k < SL_DECAP_NSTATS; k++) {
		__u64 sum = 0;

		if (bpf_map_lookup_elem(fd, &k, vals)) {
			err = -errno;
			fprintf(stderr, "Failed to read counter %s on %s: %s\n",
				stat_names[k], o->ifname, strerror(errno));
			break;
		}
		for (c = 0; c < ncpu; c++)
			sum += vals[c];
		printf("  %-10s %llu\n", stat_names[k],
		       (unsigned long long)sum);
	}
	free(vals);
out:
	close(fd);
	return err;
}

static int cmd_stats(const struct opts *o)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int found = 0, err;
	__u32 id;

	if (o->mode != MODE_TC && !bpf_xdp_query(o->ifindex, 0, &q)) {
		id = q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id;
		if (id && prog_is(id, XDP_PROG_NAME)) {
			err = print_stats(o, "xdp", id);
			if (err)
				return err;
			found++;
		}
	}
	if (o->mode != MODE_XDP) {
		id = tc_query(o);
		if (id && prog_is(id, TC_PROG_NAME)) {
			err = print_stats(o, "tc", id);
			if (err)
				return err;
			found++;
		}
	}
	if (!found) {
		fprintf(stderr, "No sluice decap program attached to %s\n",
			o->ifname);
		return -ENOENT;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "gue-port", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *endp;
	long v;
	int c;

	o->gue_port = SL_DECAP_GUE_PORT;
	while ((c = getopt_long(argc, argv, "m:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "xdp"))
				o->mode = MODE_XDP;
			else if (!strcmp(optarg, "tc"))
				o->mode = MODE_TC;
			else {
				fprintf(stderr,
					"sluice-decap: --mode %s: expected xdp "
					"or tc\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'p':
			errno = 0;
			v = strtol(optarg, &endp, 10);
			if (errno || *endp || v < 1 || v > 65535) {
				fprintf(stderr,
					"sluice-decap: --gue-port %s: expected "
					"1-65535\n",
					optarg);
				return -EINVAL;
			}
			o->gue_port = (unsigned int)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return -EINVAL;
	}
	o->cmd = argv[optind];
	o->ifname = argv[optind + 1];
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	int err;

	if (parse_args(argc, argv, &o))
		return 2;
	libbpf_set_print(libbpf_print);
	o.ifindex = (int)if_nametoindex(o.ifname);
	if (!o.ifindex) {
		fprintf(stderr, "sluice-decap: %s: %s\n", o.ifname,
			strerror(errno));
		return 1;
	}
	if (!strcmp(o.cmd, "attach")) {
		if (o.mode == MODE_ANY)
			o.mode = MODE_XDP;
		err = cmd_attach(&o);
	} else if (!strcmp(o.cmd, "detach")) {
		err = cmd_detach(&o);
	} else if (!strcmp(o.cmd, "stats")) {
		err = cmd_stats(&o);
	} else {
		fprintf(stderr, "sluice-decap: unknown command '%s'\n", o.cmd);
		usage(stderr);
		return 2;
	}
	return err ? 1 : 0;
}
