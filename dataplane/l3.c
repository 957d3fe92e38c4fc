/* Layer 2 and 3 of the data plane: Ethernet in, ARP, IPv4, ICMP echo, and
 * the IPv4 output path (route, neighbour, transmit buffer).
 *
 * Every received frame is checked with the parsers in lib/pkt.h, which
 * verify checksums in software: offload flags from a driver are never
 * trusted. A dropped packet costs one counter increment, never a log line.
 */
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <string.h>

#include "dp.h"
#include "neigh.h"
#include "pkt.h"

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff};

static void drop(struct hg_worker *w, struct rte_mbuf *m, enum hg_drop why,
		 unsigned port)
{
	hg_worker_count_drop(w, m, why, port);
}

void hg_tx_frame(struct hg_worker *w, unsigned port, struct rte_mbuf *m)
{
	struct hg_tx_buf *b = &w->tx[port];

	b->pkts[b->n++] = m;
	if (b->n == w->dp->cfg.dataplane.burst)
		hg_tx_flush(w);
}

void hg_tx_flush(struct hg_worker *w)
{
	for (unsigned p = 0; p < w->dp->n_ports; p++) {
		struct hg_tx_buf *b = &w->tx[p];
		uint64_t bytes = 0;
		uint16_t sent;

		if (b->n == 0)
			continue;
		for (uint16_t i = 0; i < b->n; i++)
			bytes += rte_pktmbuf_pkt_len(b->pkts[i]);
		sent = rte_eth_tx_burst(w->dp->ports[p].port_id, w->id,
					b->pkts, b->n);
		for (uint16_t i = sent; i < b->n; i++) {
			bytes -= rte_pktmbuf_pkt_len(b->pkts[i]);
			w->drops[HG_DROP_tx_full]++;
			w->port_ctr[p][HG_PC_tx_dropped]++;
			rte_pktmbuf_free(b->pkts[i]);
		}
		w->ctr[HG_WC_tx_packets] += sent;
		w->ctr[HG_WC_tx_bytes] += bytes;
		w->port_ctr[p][HG_PC_tx_packets] += sent;
		w->port_ctr[p][HG_PC_tx_bytes] += bytes;
		b->n = 0;
	}
}

static void send_arp(struct hg_worker *w, unsigned port, uint16_t op,
		     const uint8_t eth_dst[6], const uint8_t tha[6],
		     uint32_t tpa)
{
	struct hg_dp_port *p = &w->dp->ports[port];
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->dp->pool);
	uint8_t *buf;
	size_t len;

	if (m == NULL) {
		w->drops[HG_DROP_no_mbuf]++;
		return;
	}
	buf = (uint8_t *)rte_pktmbuf_append(m, 42);
	len = hg_build_arp(buf, 42, op, eth_dst, p->mac, p->addr, tha, tpa);
	RTE_ASSERT(len == 42);
	(void)len;
	w->ctr[op == HG_ARP_OP_REQUEST ? HG_WC_arp_requests_out
				       : HG_WC_arp_replies_out]++;
	hg_tx_frame(w, port, m);
}

static void send_arp_request(struct hg_worker *w, unsigned port, uint32_t ip)
{
	static const uint8_t zero_mac[6];

	send_arp(w, port, HG_ARP_OP_REQUEST, broadcast_mac, zero_mac, ip);
}

/* Hands packets waiting for `ip` to the transmit buffer. */
static void release_pending(struct hg_worker *w, uint32_t ip,
			    const uint8_t mac[6])
{
	unsigned keep = 0;

	for (unsigned i = 0; i < w->n_pending; i++) {
		struct hg_pending *pd = &w->pending[i];

		if (pd->next_hop != ip) {
			w->pending[keep++] = *pd;
			continue;
		}
		uint8_t *eth = rte_pktmbuf_mtod(pd->m, uint8_t *);
		memcpy(eth, mac, 6);
		w->ctr[HG_WC_arp_queue_released]++;
		hg_tx_frame(w, pd->port, pd->m);
	}
	w->n_pending = keep;
}

static void arp_input(struct hg_worker *w, struct hg_dp_port *port,
		      struct rte_mbuf *m, size_t off)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint64_t now = rte_rdtsc();
	struct hg_arp arp;
	enum hg_drop why;

	why = hg_parse_arp(p + off, rte_pktmbuf_data_len(m) - off, &arp);
	if (why != HG_DROP_NONE)
		return drop(w, m, why, port->index);
	w->ctr[arp.op == HG_ARP_OP_REQUEST ? HG_WC_arp_requests_in
					   : HG_WC_arp_replies_in]++;
	if (arp.spa == port->addr)
		/* Someone else claims our address: never learn it. */
		return drop(w, m, HG_DROP_arp_bad_source, port->index);
	if (arp.spa != 0 && (arp.spa & port->mask) != (port->addr & port->mask))
		return drop(w, m, HG_DROP_arp_bad_source, port->index);

	/* RFC 826: update a known sender always, create only when the
	 * packet is for us. */
	bool for_us = arp.tpa == port->addr;
	if (arp.spa != 0 &&
	    hg_neigh_learn(w->dp->neigh, arp.spa, port->index, arp.sha, now,
			   for_us)) {
		w->ctr[HG_WC_arp_learned]++;
		release_pending(w, arp.spa, arp.sha);
	}
	if (!for_us)
		return drop(w, m, HG_DROP_arp_not_for_us, port->index);
	if (arp.op == HG_ARP_OP_REQUEST) {
		send_arp(w, port->index, HG_ARP_OP_REPLY, arp.sha, arp.sha,
			 arp.spa);
	}
	rte_pktmbuf_free(m);
}

static void icmp_input(struct hg_worker *w, struct hg_dp_port *port,
		       struct rte_mbuf *m, const struct hg_ipv4 *ip,
		       size_t ip_off)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct hg_icmp icmp;
	enum hg_drop why;

	w->ctr[HG_WC_icmp_in]++;
	why = hg_parse_icmp(p + ip_off + ip->payload_off, ip->payload_len,
			    &icmp);
	if (why != HG_DROP_NONE)
		return drop(w, m, why, port->index);
	if (icmp.type != HG_ICMP_ECHO_REQUEST || icmp.code != 0)
		return drop(w, m, HG_DROP_icmp_unhandled_type, port->index);
	w->ctr[HG_WC_icmp_echo_requests]++;
	/* Answer in the same buffer: drop Ethernet padding first. */
	rte_pktmbuf_trim(m, rte_pktmbuf_data_len(m) - ip_off - ip->total_len);
	hg_icmp_echo_reply_inplace(p + ip_off, ip->total_len);
	w->ctr[HG_WC_icmp_echo_replies]++;
	hg_ipv4_output(w, m, ip->src);
}

/* Connections live on one worker: a segment for an active open whose
 * local port another worker owns goes there (RSS or af_packet's fanout
 * cannot know which worker chose the port). */
static void tcp_input(struct hg_worker *w, struct hg_dp_port *port,
		      struct rte_mbuf *m, const struct hg_ipv4 *ip, size_t off)
{
	const struct hg_tcp_cfg *tc = &w->tcp.cfg;
	const uint8_t *th = rte_pktmbuf_mtod(m, const uint8_t *) + off +
			    ip->hlen;

	if (w->dp->n_workers > 1 && ip->payload_len >= 4) {
		uint16_t dport = (uint16_t)(th[2] << 8 | th[3]);
		unsigned owner = hg_tcp_port_owner(dport, w->dp->n_workers);

		if (dport >= tc->ephemeral_low && dport <= tc->ephemeral_high &&
		    owner != w->id)
			return hg_worker_steer(w, owner, m, port->index);
	}
	hg_tcp_input(&w->tcp, port->index, m, off, ip->src, ip->dst,
		     ip->payload_len, ip->hlen);
}

static void ipv4_input(struct hg_worker *w, struct hg_dp_port *port,
		       struct rte_mbuf *m, size_t off)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	struct hg_ipv4 ip;
	enum hg_drop why;

	w->ctr[HG_WC_ipv4_in]++;
	why = hg_parse_ipv4(p + off, rte_pktmbuf_data_len(m) - off, &ip);
	if (why != HG_DROP_NONE)
		return drop(w, m, why, port->index);
	/* Strict host model: a port answers for its own address only. */
	if (ip.dst != port->addr)
		return drop(w, m, HG_DROP_ipv4_not_for_us, port->index);
	if (ip.src == port->addr)
		return drop(w, m, HG_DROP_ipv4_bad_source, port->index);
	switch (ip.proto) {
	case HG_IPPROTO_ICMP:
		return icmp_input(w, port, m, &ip, off);
	case HG_IPPROTO_TCP:
		return tcp_input(w, port, m, &ip, off);
	default:
		return drop(w, m, HG_DROP_ipv4_unknown_proto, port->index);
	}
}

void hg_l3_input(struct hg_worker *w, struct hg_dp_port *port,
		 struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	struct hg_eth eth;
	enum hg_drop why;

	/* Frames arrive whole in one segment from every PMD we configure
	 * (mbuf data room > MTU + headers); anything else is refused. */
	if (m->nb_segs != 1)
		return drop(w, m, HG_DROP_eth_truncated, port->index);
	why = hg_parse_eth(p, rte_pktmbuf_data_len(m), &eth);
	if (why != HG_DROP_NONE)
		return drop(w, m, why, port->index);
	if (!hg_eth_accept(eth.dst, port->mac))
		return drop(w, m, HG_DROP_eth_not_for_us, port->index);
	switch (eth.ethertype) {
	case HG_ETHERTYPE_ARP:
		return arp_input(w, port, m, eth.l3_off);
	case HG_ETHERTYPE_IPV4:
		return ipv4_input(w, port, m, eth.l3_off);
	default:
		return drop(w, m, HG_DROP_eth_unknown_type, port->index);
	}
}

int hg_route(const struct hg_dp *dp, uint32_t dst, uint32_t *next_hop)
{
	for (unsigned i = 0; i < dp->n_ports; i++) {
		const struct hg_dp_port *p = &dp->ports[i];

		if ((dst & p->mask) == (p->addr & p->mask)) {
			*next_hop = dst;
			return (int)i;
		}
	}
	for (unsigned i = 0; i < dp->n_ports; i++) {
		if (dp->ports[i].gateway != 0) {
			*next_hop = dp->ports[i].gateway;
			return (int)i;
		}
	}
	return -1;
}

void hg_ipv4_output(struct hg_worker *w, struct rte_mbuf *m, uint32_t dst)
{
	uint8_t *eth = rte_pktmbuf_mtod(m, uint8_t *);
	uint32_t nh;
	uint8_t mac[6];
	int port = hg_route(w->dp, dst, &nh);

	if (port < 0)
		return drop(w, m, HG_DROP_no_route, 0);
	memcpy(eth + 6, w->dp->ports[port].mac, 6);
	eth[12] = HG_ETHERTYPE_IPV4 >> 8;
	eth[13] = HG_ETHERTYPE_IPV4 & 0xff;

	switch (hg_neigh_resolve(w->dp->neigh, nh, (uint8_t)port, rte_rdtsc(),
				 mac)) {
	case HG_NEIGH_FOUND_REFRESH:
		send_arp_request(w, (unsigned)port, nh);
		/* fall through */
	case HG_NEIGH_FOUND:
		memcpy(eth, mac, 6);
		return hg_tx_frame(w, (unsigned)port, m);
	case HG_NEIGH_MISSING:
		send_arp_request(w, (unsigned)port, nh);
		break;
	case HG_NEIGH_WAITING:
		break;
	case HG_NEIGH_FULL:
		return drop(w, m, HG_DROP_arp_queue_full, (unsigned)port);
	}
	if (w->n_pending == w->dp->cfg.arp.pending_max)
		return drop(w, m, HG_DROP_arp_queue_full, (unsigned)port);
	w->pending[w->n_pending++] = (struct hg_pending){
		.m = m,
		.next_hop = nh,
		.port = (uint8_t)port,
		.since_tsc = rte_rdtsc(),
	};
	w->ctr[HG_WC_arp_queued]++;
}

void hg_l3_timer(struct hg_worker *w, uint64_t now)
{
	const struct hg_arp_config *arp = &w->dp->cfg.arp;
	uint64_t give_up = (uint64_t)arp->retries * arp->retry_ms *
			   w->dp->tsc_hz / 1000;
	unsigned keep = 0;
	uint8_t mac[6];

	for (unsigned i = 0; i < w->n_pending; i++) {
		struct hg_pending *pd = &w->pending[i];

		switch (hg_neigh_resolve(w->dp->neigh, pd->next_hop, pd->port,
					 now, mac)) {
		case HG_NEIGH_FOUND_REFRESH:
		case HG_NEIGH_FOUND:
			memcpy(rte_pktmbuf_mtod(pd->m, uint8_t *), mac, 6);
			w->ctr[HG_WC_arp_queue_released]++;
			hg_tx_frame(w, pd->port, pd->m);
			continue;
		case HG_NEIGH_MISSING:
			send_arp_request(w, pd->port, pd->next_hop);
			break;
		case HG_NEIGH_WAITING:
		case HG_NEIGH_FULL:
			break;
		}
		if (now - pd->since_tsc >= give_up) {
			drop(w, pd->m, HG_DROP_arp_timeout, pd->port);
			continue;
		}
		w->pending[keep++] = *pd;
	}
	w->n_pending = keep;
}
