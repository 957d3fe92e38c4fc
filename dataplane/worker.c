/* A worker's run-to-completion loop.
 *
 * Each iteration: receive a burst on every port (the worker owns queue
 * `id` of each), hand each frame to L3, serve the control plane's requests
 * on this worker's ring, run the timers when due, flush transmit buffers.
 * An idle worker spins `idle_spin_loops` times, then sleeps, doubling the
 * sleep from idle_sleep_min_us up to idle_sleep_max_us, so an idle gateway
 * leaves the CPU to everything else on the machine; any packet or message
 * resets it. With busy_poll it never sleeps (benchmarks).
 *
 * Cycles spent in iterations that did work are counted in busy_cycles,
 * from which cycles per packet or per byte are derived.
 */
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <time.h>

#include "dp.h"
#include "msg.h"
#include "neigh.h"

#define TIMER_US 1000          /* L3 timer period */
#define NEIGH_EXPIRE_MS 100    /* worker 0 sweeps the neighbour table */

void hg_worker_count_drop(struct hg_worker *w, struct rte_mbuf *m,
			  enum hg_drop why, unsigned port)
{
	w->drops[why]++;
	w->port_ctr[port][HG_PC_rx_dropped]++;
	rte_pktmbuf_free(m);
}

static void fill_stats(struct hg_worker *w, struct hg_stats_reply *r)
{
	struct hg_dp *dp = w->dp;

	memset(r, 0, sizeof(*r));
	r->worker = w->id;
	r->n_ports = dp->n_ports;
	r->tsc_hz = dp->tsc_hz;
	memcpy(r->worker_ctr, w->ctr, sizeof(r->worker_ctr));
	memcpy(r->drops, w->drops, sizeof(r->drops));
	memcpy(r->port_ctr, w->port_ctr, sizeof(r->port_ctr));
	if (w->id != 0)
		return;
	for (unsigned p = 0; p < dp->n_ports; p++) {
		struct rte_eth_stats st;
		uint64_t *c = r->pmd_ctr[p];

		if (rte_eth_stats_get(dp->ports[p].port_id, &st) != 0)
			continue;
		c[HG_PMD_ipackets] = st.ipackets;
		c[HG_PMD_opackets] = st.opackets;
		c[HG_PMD_ibytes] = st.ibytes;
		c[HG_PMD_obytes] = st.obytes;
		c[HG_PMD_imissed] = st.imissed;
		c[HG_PMD_ierrors] = st.ierrors;
		c[HG_PMD_oerrors] = st.oerrors;
		c[HG_PMD_rx_nombuf] = st.rx_nombuf;
	}
}

/* Serves the control plane's requests. Returns how many it handled. */
static unsigned serve_channel(struct hg_worker *w)
{
	struct hg_chan *ch = &w->dp->chan;
	struct hg_ring *in = hg_chan_to_dp(ch, w->id);
	struct hg_ring *out = hg_chan_to_cp(ch, w->id);
	unsigned n = 0;
	void *slot;

	while ((slot = hg_ring_peek(in)) != NULL && n < 16) {
		const struct hg_msg *m = hg_msg_check(slot);
		struct hg_stats_reply reply;

		n++;
		w->ctr[HG_WC_chan_msgs_in]++;
		if (m != NULL && m->type == HG_MSG_STATS_REQ) {
			fill_stats(w, &reply);
			if (hg_msg_send(out, HG_MSG_STATS_REPLY, m->seq,
					&reply, sizeof(reply)) == 0)
				w->ctr[HG_WC_chan_msgs_out]++;
			else
				w->ctr[HG_WC_chan_full]++;
		}
		/* A malformed message is consumed and ignored: the control
		 * plane's request times out; the data plane carries on. */
		hg_ring_release(in);
	}
	if (n > 0)
		hg_chan_ring_bell(ch);
	return n;
}

static void idle_backoff(struct hg_worker *w)
{
	const struct hg_dataplane_config *c = &w->dp->cfg.dataplane;
	struct timespec ts;

	if (c->busy_poll || ++w->idle_loops < c->idle_spin_loops)
		return;
	if (w->sleep_us == 0)
		w->sleep_us = c->idle_sleep_min_us;
	ts.tv_sec = w->sleep_us / 1000000;
	ts.tv_nsec = (long)(w->sleep_us % 1000000) * 1000;
	nanosleep(&ts, NULL);
	w->ctr[HG_WC_idle_sleeps]++;
	w->sleep_us *= 2;
	if (w->sleep_us > c->idle_sleep_max_us)
		w->sleep_us = c->idle_sleep_max_us;
}

int hg_worker_main(void *arg)
{
	struct hg_worker *w = arg;
	struct hg_dp *dp = w->dp;
	const unsigned burst = dp->cfg.dataplane.burst;
	const uint64_t timer_tsc = dp->tsc_hz * TIMER_US / 1000000;
	const uint64_t expire_tsc = dp->tsc_hz * NEIGH_EXPIRE_MS / 1000;
	uint64_t next_expire = rte_rdtsc() + expire_tsc;
	struct rte_mbuf *pkts[HG_MAX_BURST];

	w->next_timer_tsc = rte_rdtsc() + timer_tsc;
	while (!dp->quit) {
		uint64_t start = rte_rdtsc(), now;
		unsigned work = 0;

		w->ctr[HG_WC_loops]++;
		for (unsigned p = 0; p < dp->n_ports; p++) {
			struct hg_dp_port *port = &dp->ports[p];
			uint16_t n = rte_eth_rx_burst(port->port_id, w->id,
						      pkts, burst);
			if (n == 0)
				continue;
			work += n;
			w->ctr[HG_WC_rx_packets] += n;
			w->port_ctr[p][HG_PC_rx_packets] += n;
			for (uint16_t i = 0; i < n; i++) {
				uint32_t len = rte_pktmbuf_pkt_len(pkts[i]);

				w->ctr[HG_WC_rx_bytes] += len;
				w->port_ctr[p][HG_PC_rx_bytes] += len;
			}
			for (uint16_t i = 0; i < n; i++) {
				if (i + 3 < n)
					rte_prefetch0(rte_pktmbuf_mtod(
						pkts[i + 3], void *));
				hg_l3_input(w, port, pkts[i]);
			}
		}
		work += serve_channel(w);
		now = rte_rdtsc();
		if (now >= w->next_timer_tsc) {
			w->next_timer_tsc = now + timer_tsc;
			if (w->n_pending > 0)
				hg_l3_timer(w, now);
			if (w->id == 0 && now >= next_expire) {
				next_expire = now + expire_tsc;
				hg_neigh_expire(dp->neigh, now);
			}
		}
		hg_tx_flush(w);
		if (work > 0) {
			w->idle_loops = 0;
			w->sleep_us = 0;
			w->ctr[HG_WC_busy_loops]++;
			w->ctr[HG_WC_busy_cycles] += rte_rdtsc() - start;
		} else {
			idle_backoff(w);
		}
	}
	hg_tx_flush(w);
	return 0;
}
