/* hopgate-dp: the data plane process.
 *
 *   hopgate-dp -c CONFIG [--check]
 *
 * Loads the config (nothing starts if it is invalid), builds the EAL
 * arguments from it (never probing PCI unless a port names a PCI device),
 * creates the shared-memory channel, sets up the ports and runs one worker
 * per configured lcore. The main lcore only keeps house: heartbeat into the
 * channel, link state, signals. It runs whether or not a control plane is
 * attached.
 */
#include <errno.h>
#include <getopt.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_version.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dp.h"
#include "hg_version.h"
#include "neigh.h"
#include "tcp_svc.h"
#include <rte_ring.h>
#include "pkt.h"

#define EAL_ARGS_MAX (16 + 2 * HG_MAX_PORTS)

static struct hg_dp the_dp;

static void on_signal(int sig)
{
	(void)sig;
	the_dp.quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hopgate-dp -c CONFIG [--check]\n"
		   "  -c, --config FILE  instance configuration (JSON)\n"
		   "      --check        validate the config and exit\n");
}

/* "(0-3)"-style list of the CPUs this process may run on. */
static void allowed_cpus(char *buf, size_t len)
{
	cpu_set_t set;
	size_t off = 0;

	buf[0] = '\0';
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int c = 0; c < CPU_SETSIZE && off + 8 < len; c++) {
		if (CPU_ISSET(c, &set))
			off += (size_t)snprintf(buf + off, len - off, "%s%d",
						off ? "," : "", c);
	}
}

struct eal_args {
	int argc;
	char *argv[EAL_ARGS_MAX];
	char store[EAL_ARGS_MAX][320];
};

/* Appends the argument `opt` followed by `val`. */
static void eal_add(struct eal_args *a, const char *opt, const char *val)
{
	snprintf(a->store[a->argc], sizeof(a->store[0]), "%s%s", opt, val);
	a->argv[a->argc] = a->store[a->argc];
	a->argc++;
}

static void build_eal_args(const struct hg_config *cfg, const char *prog,
			   struct eal_args *a)
{
	const struct hg_dataplane_config *d = &cfg->dataplane;
	char cpus[256], lcores[256], mem[16];
	size_t off;

	a->argc = 0;
	eal_add(a, prog, "");
	/* Lcore 0 keeps house and floats; worker i is lcore i + 1, pinned
	 * when dataplane.cpus says where. */
	allowed_cpus(cpus, sizeof(cpus));
	off = (size_t)snprintf(lcores, sizeof(lcores), "0@(%s)", cpus);
	for (unsigned i = 0; i < d->workers && off < sizeof(lcores); i++) {
		if (d->n_cpus > 0)
			off += (size_t)snprintf(lcores + off,
						sizeof(lcores) - off,
						",%u@%d", i + 1, d->cpus[i]);
		else
			off += (size_t)snprintf(lcores + off,
						sizeof(lcores) - off,
						",%u@(%s)", i + 1, cpus);
	}
	eal_add(a, "--lcores=", lcores);
	eal_add(a, "--file-prefix=hopgate-", cfg->instance);
	eal_add(a, "--no-telemetry", "");
	eal_add(a, "--log-level=lib.eal:notice", "");
	/* No files shared with secondary processes: the control plane is
	 * not a DPDK process. (--in-memory would say the same with
	 * hugepages, but --no-huge implies legacy memory, which excludes it.) */
	if (d->hugepages) {
		eal_add(a, "--in-memory", "");
	} else {
		eal_add(a, "--no-huge", "");
		eal_add(a, "--no-shconf", "");
	}
	snprintf(mem, sizeof(mem), "%u", d->memory_mb);
	eal_add(a, "-m", mem);
	if (!hg_config_has_pci(cfg))
		eal_add(a, "--no-pci", "");
	for (unsigned i = 0; i < cfg->n_ports; i++) {
		if (cfg->ports[i].pci[0] != '\0')
			eal_add(a, "--allow=", cfg->ports[i].pci);
		else
			eal_add(a, "--vdev=", cfg->ports[i].device);
	}
}

static int workers_start(struct hg_dp *dp)
{
	unsigned lcore, w = 0;

	RTE_LCORE_FOREACH_WORKER(lcore)
	{
		if (w == dp->n_workers)
			break;
		struct hg_worker *wk = &dp->workers[w];

		wk->id = w;
		wk->lcore = lcore;
		wk->dp = dp;
		char name[32];

		wk->pending = rte_zmalloc("pending",
					  sizeof(struct hg_pending) *
						  dp->cfg.arp.pending_max,
					  RTE_CACHE_LINE_SIZE);
		snprintf(name, sizeof(name), "steer%u", w);
		wk->steer = rte_ring_create(name, 4096, (int)rte_socket_id(),
					    RING_F_SC_DEQ);
		if (wk->pending == NULL || wk->steer == NULL ||
		    hg_worker_tcp_init(wk) < 0) {
			fprintf(stderr, "hopgate-dp: worker %u: out of "
					"memory (tcp.max_conns?)\n",
				w);
			return -1;
		}
		w++;
	}
	if (w != dp->n_workers)
		return -1;
	for (w = 0; w < dp->n_workers; w++) {
		if (rte_eal_remote_launch(hg_worker_main, &dp->workers[w],
					  dp->workers[w].lcore) != 0)
			return -1;
	}
	return 0;
}

static void housekeeping(struct hg_dp *dp)
{
	unsigned tick = 0;

	while (!dp->quit) {
		atomic_store(&dp->chan.hdr->dp_heartbeat_ns,
			     hg_monotonic_ns());
		if (++tick % 10 == 0)
			hg_ports_publish(dp);
		usleep(100 * 1000);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hg_dp *dp = &the_dp;
	const char *config_path = NULL;
	bool check_only = false;
	struct eal_args eal;
	char err[512];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (config_path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (hg_config_load_file(config_path, &dp->cfg, err, sizeof(err)) <
	    0) {
		fprintf(stderr, "hopgate-dp: %s: %s\n", config_path, err);
		return 1;
	}
	if (check_only) {
		printf("%s: valid\n", config_path);
		return 0;
	}

	build_eal_args(&dp->cfg, argv[0], &eal);
	rc = rte_eal_init(eal.argc, eal.argv);
	if (rc < 0) {
		fprintf(stderr, "hopgate-dp: EAL: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	dp->n_workers = dp->cfg.dataplane.workers;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->start_tsc = rte_rdtsc();
	hg_svc_init();
	rc = hg_chan_create(&dp->chan, dp->cfg.channel.name, dp->n_workers,
			    dp->cfg.channel.ring_slots);
	if (rc < 0) {
		fprintf(stderr, "hopgate-dp: channel %s: %s\n",
			dp->cfg.channel.name, strerror(-rc));
		goto out_eal;
	}
	dp->chan.hdr->n_vs = dp->cfg.n_vs;
	snprintf(dp->chan.hdr->dp_version, sizeof(dp->chan.hdr->dp_version),
		 "%s", HG_VERSION);
	snprintf(dp->chan.hdr->dpdk_version,
		 sizeof(dp->chan.hdr->dpdk_version), "%s", rte_version());

	dp->pool = rte_pktmbuf_pool_create("hg_mbufs", dp->cfg.dataplane.mbufs,
					   256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	dp->neigh = hg_neigh_create(&dp->cfg.arp, dp->tsc_hz,
				    (int)rte_socket_id());
	if (dp->pool == NULL || dp->neigh == NULL) {
		fprintf(stderr, "hopgate-dp: out of memory (dataplane."
				"memory_mb, dataplane.mbufs)\n");
		rc = -1;
		goto out_chan;
	}
	if (hg_ports_init(dp) < 0 || workers_start(dp) < 0) {
		rc = -1;
		dp->quit = 1;
		rte_eal_mp_wait_lcore();
		goto out_ports;
	}
	printf("hopgate-dp %s: instance %s, %u worker(s), %u port(s), "
	       "channel /dev/shm/%s\n",
	       HG_VERSION, dp->cfg.instance, dp->n_workers, dp->n_ports,
	       dp->cfg.channel.name);
	for (unsigned i = 0; i < dp->n_ports; i++) {
		const uint8_t *m = dp->ports[i].mac;
		char a[16];

		hg_ipv4_format(dp->ports[i].addr, a);
		printf("  port %s: %s/%u mac %02x:%02x:%02x:%02x:%02x:%02x\n",
		       dp->cfg.ports[i].name, a, dp->cfg.ports[i].prefix_len,
		       m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	fflush(stdout);

	housekeeping(dp);
	rte_eal_mp_wait_lcore();
	printf("hopgate-dp: stopped\n");
	rc = 0;
out_ports:
	hg_ports_close(dp);
out_chan:
	hg_chan_destroy(&dp->chan);
out_eal:
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
