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

#include <errno.h>
#include <rte_ring.h>

#include "dp.h"
#include "msg.h"
#include "neigh.h"
#include "pkt.h"
#include "tcp_svc.h"

#define TIMER_US 1000          /* L3 timer period */
#define NEIGH_EXPIRE_MS 100    /* worker 0 sweeps the neighbour table */

void hg_worker_count_drop(struct hg_worker *w, struct rte_mbuf *m,
			  enum hg_drop why, unsigned port)
{
	w->drops[why]++;
	w->port_ctr[port][HG_PC_rx_dropped]++;
	rte_pktmbuf_free(m);
}

static void tcp_output(void *ctx, struct rte_mbuf *m, uint32_t dst)
{
	hg_ipv4_output(ctx, m, dst);
}

/* The port and local address towards `dst` (reverse NAT: the gateway's
 * own address on the inside), 0 when there is no route. */
static uint32_t port_addr(void *ctx, uint32_t dst, uint8_t *port)
{
	struct hg_dp *dp = ctx;
	uint32_t nh;
	int p = hg_route(dp, dst, &nh);

	if (p < 0)
		return 0;
	*port = (uint8_t)p;
	return dp->ports[p].addr;
}

/* The relay's messages to the control plane (TLS handshakes); the
 * doorbell rings once per loop, not per message. */
static int relay_to_cp(void *ctx, uint16_t type, const void *hdr,
		       uint32_t hlen, const void *data, uint32_t dlen)
{
	struct hg_worker *w = ctx;

	if (hg_msg_send2(hg_chan_to_cp(&w->dp->chan, w->id), type, 0, hdr,
			 hlen, data, dlen) != 0)
		return -1;
	w->ctr[HG_WC_chan_msgs_out]++;
	w->bell = true;
	return 0;
}

int hg_worker_tcp_init(struct hg_worker *w)
{
	const struct hg_config *cfg = &w->dp->cfg;
	const struct hg_tcp_config *t = &cfg->tcp;
	struct hg_tcp_cfg tc;
	uint16_t mtu = 65535;

	hg_tcp_cfg_default(&tc);
	for (unsigned i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].mtu < mtu)
			mtu = cfg->ports[i].mtu;
	tc.mss = (uint16_t)(mtu - 40);
	tc.max_conns = t->max_conns;
	tc.rcv_buf = t->rcv_buf;
	tc.snd_buf = t->snd_buf;
	tc.rto_min_us = t->rto_min_ms * 1000;
	tc.rto_max_us = t->rto_max_ms * 1000;
	tc.rto_initial_us = t->rto_initial_ms * 1000;
	tc.delack_us = t->delack_ms * 1000;
	tc.timewait_us = t->timewait_s * 1000000;
	tc.timewait_max = t->timewait_max;
	tc.syn_retries = t->syn_retries;
	tc.synack_retries = t->synack_retries;
	tc.max_retries = t->max_retries;
	tc.keepalive_idle_us = t->keepalive_idle_s * 1000000;
	tc.keepalive_intvl_us = t->keepalive_intvl_s * 1000000;
	tc.keepalive_probes = t->keepalive_probes;
	tc.handshake_timeout_us = t->handshake_timeout_s * 1000000;
	if (hg_tcp_stack_init(&w->tcp, &tc, w->dp->pool, w->id,
			      w->dp->n_workers, w->ctr, w->drops) < 0)
		return -1;
	w->tcp.output = tcp_output;
	w->tcp.output_ctx = w;
	w->tcp.now_us = hg_dp_now_us(w->dp, rte_rdtsc());
	for (unsigned i = 0; i < cfg->n_listeners; i++) {
		const struct hg_listener_config *lc = &cfg->listeners[i];
		struct hg_tcp_listener *l = hg_tcp_listen(
			&w->tcp, lc->addr, lc->port,
			hg_svc_ops((enum hg_tcp_service)lc->service),
			(void *)(uintptr_t)lc->source_bytes);

		if (l == NULL)
			return -1;
		l->service = (enum hg_tcp_service)lc->service;
		l->cc = hg_cc_algo_of(lc->cc);
		l->backlog = lc->backlog;
		l->idle_timeout_ms = lc->idle_timeout_s * 1000;
		l->syncookies = lc->syncookies;
	}
	if (hg_relay_init(&w->relay, &w->tcp, cfg, w->ctr, port_addr,
			  w->dp) < 0)
		return -1;
	w->relay.to_cp = relay_to_cp;
	w->relay.cp_ctx = w;
	w->relay.worker = w->id;
	return 0;
}

void hg_worker_steer(struct hg_worker *w, unsigned owner, struct rte_mbuf *m,
		     unsigned port)
{
	m->port = (uint16_t)port;
	if (rte_ring_enqueue(w->dp->workers[owner].steer, m) != 0) {
		hg_worker_count_drop(w, m, HG_DROP_tcp_steer_full, port);
		return;
	}
	w->ctr[HG_WC_tcp_steered]++;
}

/* Active open on the control plane's request. */
static void tcp_connect(struct hg_worker *w, const struct hg_msg *m,
			struct hg_tcp_connect_reply *reply)
{
	const struct hg_tcp_connect_req *rq = (const void *)m->payload;
	struct hg_dp *dp = w->dp;
	struct hg_tcp_conn *c;
	uint8_t port = 0;

	memset(reply, 0, sizeof(*reply));
	reply->worker = w->id;
	if (rq->service == HG_SERVICE_NONE || rq->service > HG_SERVICE_SOURCE) {
		reply->status = -EINVAL;
		return;
	}
	if (port_addr(dp, rq->addr, &port) == 0) {
		reply->status = -EHOSTUNREACH;
		return;
	}
	c = hg_tcp_connect(&w->tcp, port, dp->ports[port].addr,
			   rq->addr, rq->port, hg_cc_algo_of(rq->cc),
			   hg_svc_ops((enum hg_tcp_service)rq->service),
			   (void *)(uintptr_t)rq->bytes);
	if (c == NULL) {
		reply->status = -ENOBUFS;
		return;
	}
	reply->laddr = c->tuple.laddr;
	reply->lport = c->tuple.lport;
}

static void fill_stats(struct hg_worker *w, struct hg_stats_reply *r)
{
	struct hg_dp *dp = w->dp;

	w->ctr[HG_WC_tcp_conns] = w->tcp.n_conns;
	if (w->id == 0)
		w->ctr[HG_WC_mbufs_in_use] = rte_mempool_in_use_count(dp->pool);
	w->ctr[HG_WC_relay_active] = w->relay.table.n_used;
	w->ctr[HG_WC_tcp_timewait] = w->tcp.n_timewait;
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

static void answer(struct hg_worker *w, struct hg_ring *out, uint16_t type,
		   uint64_t seq, const void *p, uint32_t len)
{
	if (hg_msg_send(out, type, seq, p, len) == 0)
		w->ctr[HG_WC_chan_msgs_out]++;
	else
		w->ctr[HG_WC_chan_full]++;
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
			answer(w, out, HG_MSG_STATS_REPLY, m->seq, &reply,
			       sizeof(reply));
			for (unsigned v = 0; v < w->relay.n_vs; v++) {
				struct hg_vs_stats vs;

				hg_relay_vs_stats(&w->relay, v, w->id, &vs);
				answer(w, out, HG_MSG_VS_STATS_REPLY, m->seq,
				       &vs, sizeof(vs));
			}
		} else if (m != NULL && m->type == HG_MSG_FLOWS_REQ) {
			struct hg_flows_reply fr;

			hg_relay_list(&w->relay, (const void *)m->payload,
				      w->id, &fr);
			answer(w, out, HG_MSG_FLOWS_REPLY, m->seq, &fr,
			       sizeof(fr));
		} else if (m != NULL && m->type == HG_MSG_FLOW_KILL) {
			struct hg_flow_kill k;

			memcpy(&k, m->payload, sizeof(k));
			k.status = hg_flow_worker_of(k.id) == w->id
					   ? hg_relay_kill(&w->relay, k.id)
					   : -ENOENT;
			answer(w, out, HG_MSG_FLOW_KILL_REPLY, m->seq, &k,
			       sizeof(k));
		} else if (m != NULL && (m->type == HG_MSG_TLS_HS_OUT ||
					 m->type == HG_MSG_TLS_HS_DONE ||
					 m->type == HG_MSG_TLS_HS_FAIL ||
					 m->type == HG_MSG_FLOW_OUT ||
					 m->type == HG_MSG_FLOW_VERDICT)) {
			/* The slot is ours until released: a DONE's keys are
			 * wiped in it. */
			hg_relay_tls_msg(&w->relay, (struct hg_msg *)slot);
		} else if (m != NULL && m->type == HG_MSG_TCP_CONNECT) {
			struct hg_tcp_connect_reply cr;

			tcp_connect(w, m, &cr);
			answer(w, out, HG_MSG_TCP_CONNECT_REPLY, m->seq, &cr,
			       sizeof(cr));
		}
		/* A malformed message is consumed and ignored: the control
		 * plane's request times out; the data plane carries on. */
		hg_ring_release(in);
	}
	if (n > 0 || w->bell)
		hg_chan_ring_bell(ch);
	w->bell = false;
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
		unsigned work = 0, n_steer;

		w->ctr[HG_WC_loops]++;
		w->tcp.now_us = hg_dp_now_us(dp, start);
		n_steer = rte_ring_dequeue_burst(w->steer, (void **)pkts,
						 burst, NULL);
		for (unsigned i = 0; i < n_steer; i++)
			hg_l3_input(w, &dp->ports[pkts[i]->port], pkts[i]);
		work += n_steer;
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
			w->tcp.now_us = hg_dp_now_us(dp, now);
			hg_tcp_timers(&w->tcp);
			hg_relay_timers(&w->relay);
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
	hg_tcp_stack_free(&w->tcp);
	hg_relay_free(&w->relay);
	hg_tx_flush(w);
	return 0;
}
