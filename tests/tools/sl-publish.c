/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sl-publish: publish a config's tables into shared memory without sluiced.
 *
 *   sl-publish -c CONFIG [--shm PATH] [--down ADDR]... [--drain ADDR]...
 *              [--weight ADDR=N]... [--wait-ms MS] [--hold SECONDS] [--dump]
 *
 * For the dataplane's tests: mark a backend down or drained, change a
 * weight, and look at what the dataplane reads. ADDR is 10.0.0.3,
 * 10.0.0.3:80, 2001:db8::3 or [2001:db8::3]:80, and matches that backend in
 * every VIP. Publishes once (waiting up to 2 s for the dataplane's lcores to
 * leave the old slot), prints "published generation N: V vips, B backends",
 * then with --hold stays alive (heartbeat updated) for SECONDS, or until
 * SIGTERM/SIGINT when SECONDS is 0. --dump prints the active slot.
 * Re-attaches to an existing file when it is large enough, so it can run
 * beside a running sluice-dp. Exit status 0, 1 on any error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "publish.h"

#define MAX_OV 256

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *fmt_ep(char *buf, size_t len, sl_u8 family,
			  const union sl_addr *a, sl_be16 port)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family == SL_AF_INET ? AF_INET : AF_INET6, a->b, ip,
		  sizeof(ip));
	if (family == SL_AF_INET)
		snprintf(buf, len, "%s:%u", ip, sl_ntohs(port));
	else
		snprintf(buf, len, "[%s]:%u", ip, sl_ntohs(port));
	return buf;
}

static const char *state_name(sl_u8 s)
{
	static const char *const names[] = { "unused", "up", "drained",
					     "down" };

	return s < SL_ARRAY_SIZE(names) ? names[s] : "?";
}

static void dump(const struct sl_shm_header *h)
{
	sl_u64 gen = __atomic_load_n(&h->gen, __ATOMIC_ACQUIRE);
	const struct sl_table_hdr *t;
	const struct sl_vip_entry *ve;
	const struct sl_backend_entry *be;
	const sl_u32 *mg;
	sl_u32 *count;
	sl_u32 i, j;
	char ep[80];

	printf("generation %llu (slot %llu), dataplane pid %llu %s\n",
	       (unsigned long long)gen, (unsigned long long)(gen & 1),
	       (unsigned long long)h->dp_pid,
	       sl_shm_dp_alive(h) ? "alive" : "not alive");
	if (!gen)
		return;
	t = sl_table_slot(h, gen);
	ve = sl_table_vips(t);
	be = sl_table_backends(t);
	mg = sl_table_maglev(t);
	count = calloc(t->n_backends + 1, sizeof(*count));
	if (!count)
		return;
	for (i = 0; i < t->n_vips; i++) {
		const struct sl_vip_entry *v = &ve[i];

		if (!v->proto)
			continue;
		printf("vip %u %s %s %s %s%s%s table %u backends %u\n", v->id,
		       v->name,
		       fmt_ep(ep, sizeof(ep), v->family, &v->addr, v->port),
		       sl_config_proto_name(v->proto),
		       sl_config_method_name(v->method),
		       (v->flags & SL_VIP_F_PORT_ANY) ? " port-any" : "",
		       (v->flags & SL_VIP_F_FRAG_DROP) ? " frag-drop" : "",
		       v->maglev_size, v->n_backends);
		memset(count, 0, (t->n_backends + 1) * sizeof(*count));
		for (j = 0; j < v->maglev_size; j++)
			if (mg[v->maglev_off + j] < t->n_backends)
				count[mg[v->maglev_off + j]]++;
		for (j = 0; j < t->n_backends; j++) {
			const struct sl_backend_entry *b = &be[j];

			if (b->state == SL_BACKEND_UNUSED || b->vip_id != i)
				continue;
			printf("  backend %u %s %s weight %u epoch %u share "
			       "%.2f%%\n",
			       j,
			       fmt_ep(ep, sizeof(ep), b->family, &b->addr,
				      b->port),
			       state_name(b->state), b->weight, b->epoch,
			       v->maglev_size
				       ? 100.0 * count[j] / v->maglev_size
				       : 0.0);
		}
	}
	free(count);
}

/* An override that matches nothing is almost always a typo in a test. */
static void warn_unmatched(const struct sl_config *cfg,
			   const struct sl_pub_override *ov, unsigned int n_ov)
{
	unsigned int o, i, j;
	char ep[80];

	for (o = 0; o < n_ov; o++) {
		bool hit = false;

		for (i = 0; i < cfg->n_vips && !hit; i++)
			for (j = 0; j < cfg->vips[i].n_backends; j++) {
				const struct sl_config_backend *b =
					&cfg->vips[i].backends[j];

				if (b->family == ov[o].family &&
				    !memcmp(&b->addr, &ov[o].addr,
					    sizeof(b->addr)) &&
				    (!ov[o].port ||
				     ov[o].port == sl_htons(b->port)))
					hit = true;
			}
		if (!hit)
			fprintf(stderr,
				"sl-publish: warning: %s matches no "
				"backend\n",
				fmt_ep(ep, sizeof(ep), ov[o].family,
				       &ov[o].addr, ov[o].port));
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sl-publish -c CONFIG [--shm PATH] [--down ADDR]... "
		   "[--drain ADDR]...\n"
		   "                  [--weight ADDR=N]... [--wait-ms MS] "
		   "[--hold SECONDS] [--dump]\n");
}

/* Re-attach with what cfg needs when a file is there, else create roomy. */
static struct sl_shm *open_shm(const struct sl_config *cfg, const char *path,
			       char *err, size_t errlen)
{
	struct sl_shm_caps caps;
	struct sl_shm *s = sl_shm_attach(cfg->instance, path, err, errlen);

	sl_shm_caps_for_config(cfg, s != NULL, &caps);
	sl_shm_close(s, false);
	s = sl_shm_create(cfg->instance, &caps, path, err, errlen);
	if (!s && errno == ENOSPC) {
		sl_shm_caps_for_config(cfg, false, &caps);
		s = sl_shm_create(cfg->instance, &caps, path, err, errlen);
	}
	return s;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "shm", required_argument, NULL, 's' },
		{ "down", required_argument, NULL, 'D' },
		{ "drain", required_argument, NULL, 'd' },
		{ "weight", required_argument, NULL, 'w' },
		{ "wait-ms", required_argument, NULL, 'W' },
		{ "hold", required_argument, NULL, 'H' },
		{ "dump", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sl_pub_override ov[MAX_OV];
	const char *cfg_path = NULL, *shm_path = NULL;
	unsigned int n_ov = 0, wait_ms = 2000;
	long hold = -1;
	bool do_dump = false;
	struct sl_config *cfg = NULL;
	struct sl_shm *shm = NULL;
	struct sl_publisher *pub = NULL;
	struct sl_publish_info info;
	char err[512];
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		char *eq, *end;

		switch (opt) {
		case 'c':
			cfg_path = optarg;
			break;
		case 's':
			shm_path = optarg;
			break;
		case 'W':
			wait_ms = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'H':
			hold = strtol(optarg, NULL, 10);
			break;
		case 'p':
			do_dump = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'D':
		case 'd':
		case 'w':
			if (n_ov == MAX_OV) {
				fprintf(stderr,
					"sl-publish: too many overrides\n");
				return 1;
			}
			memset(&ov[n_ov], 0, sizeof(ov[n_ov]));
			ov[n_ov].weight = -1;
			eq = opt == 'w' ? strrchr(optarg, '=') : NULL;
			if (opt == 'w') {
				if (!eq || !eq[1]) {
					fprintf(stderr,
						"sl-publish: --weight "
						"%s: expected ADDR=N\n",
						optarg);
					return 1;
				}
				*eq = '\0';
				ov[n_ov].weight = strtol(eq + 1, &end, 10);
				if (*end || ov[n_ov].weight < 0) {
					fprintf(stderr,
						"sl-publish: --weight: "
						"bad weight '%s'\n",
						eq + 1);
					return 1;
				}
			} else {
				ov[n_ov].state = opt == 'D'
							 ? SL_BACKEND_DOWN
							 : SL_BACKEND_DRAINED;
			}
			if (sl_pub_override_parse(optarg, &ov[n_ov]) < 0) {
				fprintf(stderr,
					"sl-publish: bad address '%s'\n",
					optarg);
				return 1;
			}
			n_ov++;
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!cfg_path || optind != argc) {
		usage(stderr);
		return 1;
	}
	cfg = sl_config_load(cfg_path, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "sl-publish: %s\n", err);
		return 1;
	}
	warn_unmatched(cfg, ov, n_ov);
	shm = open_shm(cfg, shm_path, err, sizeof(err));
	if (!shm)
		goto fail;
	pub = sl_publisher_new(shm, err, sizeof(err));
	if (!pub)
		goto fail;
	sl_publisher_set_wait(pub, wait_ms);
	if (sl_publish_config(pub, cfg, ov, n_ov, err, sizeof(err)) < 0)
		goto fail;
	sl_publisher_info(pub, &info);
	printf("published generation %llu: %u vips, %u backends\n",
	       (unsigned long long)info.gen, info.vips, info.backends);
	if (do_dump)
		dump(sl_shm_header(shm));
	fflush(stdout);
	if (hold >= 0) {
		struct timespec nap = { 0, 100000000 };
		long ticks = hold * 10;

		signal(SIGTERM, on_signal);
		signal(SIGINT, on_signal);
		while (!stop && (hold == 0 || ticks-- > 0)) {
			sl_shm_heartbeat(shm);
			nanosleep(&nap, NULL);
		}
	}
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "sl-publish: %s\n", err);
out:
	sl_publisher_free(pub);
	sl_shm_close(shm, false);
	sl_config_free(cfg);
	return rc;
}
