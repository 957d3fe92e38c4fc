/* hopgate-dp: the state every part of the data plane shares.
 *
 * One struct hg_dp per process, built at start-up and read-only afterwards
 * except where marked. Each worker owns a struct hg_worker (cache aligned,
 * written only by that worker's lcore): its counters, transmit buffers and
 * packets waiting for ARP. The neighbour table is the only structure that
 * workers write in common (see neigh.h).
 */
#ifndef HG_DP_H
#define HG_DP_H

#include <rte_common.h>
#include <rte_mbuf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "channel.h"
#include "config.h"
#include "counters.h"
#include "relay.h"
#include "tcp.h"

struct hg_neigh_table;

struct hg_dp_port {
	uint16_t port_id;
	uint8_t index; /* position in cfg.ports and the counters */
	uint8_t mac[6];
	uint32_t addr; /* host order */
	uint32_t mask;
	uint32_t gateway; /* 0: none */
	uint16_t mtu;
};

struct hg_tx_buf {
	uint16_t n;
	struct rte_mbuf *pkts[HG_MAX_BURST];
};

/* A packet waiting for its next hop's MAC address. */
struct hg_pending {
	struct rte_mbuf *m;
	uint32_t next_hop;
	uint8_t port;
	uint64_t since_tsc;
};

struct hg_worker {
	unsigned id;
	unsigned lcore;
	struct hg_dp *dp;
	uint64_t ctr[HG_WC_COUNT];
	uint64_t drops[HG_DROP_COUNT];
	uint64_t port_ctr[HG_MAX_PORTS][HG_PC_COUNT];
	struct hg_tx_buf tx[HG_MAX_PORTS];
	struct hg_pending *pending; /* cfg.arp.pending_max entries */
	unsigned n_pending;
	uint64_t next_timer_tsc;
	unsigned idle_loops;
	unsigned sleep_us;
	struct hg_tcp_stack tcp;
	struct hg_relay relay;
	struct rte_ring *steer; /* frames other workers received for us */
	bool bell; /* messages for the control plane since the last ring */
} __rte_cache_aligned;

struct hg_dp {
	struct hg_config cfg;
	struct hg_chan chan;
	struct rte_mempool *pool;
	struct hg_dp_port ports[HG_MAX_PORTS];
	unsigned n_ports;
	struct hg_neigh_table *neigh;
	struct hg_worker workers[HG_MAX_WORKERS];
	unsigned n_workers;
	uint64_t tsc_hz;
	uint64_t start_tsc;
	volatile sig_atomic_t quit;
};

/* Microseconds since the data plane started, from the TSC. */
static inline uint64_t hg_dp_now_us(const struct hg_dp *dp, uint64_t tsc)
{
	uint64_t t = tsc - dp->start_tsc;

	return t / dp->tsc_hz * 1000000 + t % dp->tsc_hz * 1000000 / dp->tsc_hz;
}

/* worker.c */
int hg_worker_main(void *arg);
void hg_worker_count_drop(struct hg_worker *w, struct rte_mbuf *m,
			  enum hg_drop why, unsigned port);

/* l3.c: receive and send at L2/L3 */
void hg_l3_input(struct hg_worker *w, struct hg_dp_port *port,
		 struct rte_mbuf *m);
/* Sends the IPv4 packet in `m` (Ethernet header space in front, IPv4
 * header at offset 14, complete) towards `dst`: routes, resolves the next
 * hop, queues while ARP resolves. Takes ownership of `m`. */
void hg_ipv4_output(struct hg_worker *w, struct rte_mbuf *m, uint32_t dst);
/* The port and next hop for dst: a directly connected subnet first, then
 * the first port with a gateway. Returns -1 when there is no route. */
int hg_route(const struct hg_dp *dp, uint32_t dst, uint32_t *next_hop);
/* Queues a complete frame on a port's transmit buffer. */
void hg_tx_frame(struct hg_worker *w, unsigned port, struct rte_mbuf *m);
void hg_tx_flush(struct hg_worker *w);
/* Called every millisecond or so: retries ARP, releases and expires
 * pending packets. */
void hg_l3_timer(struct hg_worker *w, uint64_t now);

/* worker.c: the TCP stack's setup for a worker (listeners from the
 * config) and its output hook. */
int hg_worker_tcp_init(struct hg_worker *w);
/* Hands a frame to the worker that owns its connection. */
void hg_worker_steer(struct hg_worker *w, unsigned owner, struct rte_mbuf *m,
		     unsigned port);

/* port.c */
int hg_ports_init(struct hg_dp *dp);
void hg_ports_publish(struct hg_dp *dp); /* link state into the channel */
void hg_ports_close(struct hg_dp *dp);

#endif
