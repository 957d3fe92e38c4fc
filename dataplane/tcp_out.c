/* Building and sending TCP segments; the send loop (what the windows
 * allow), ACKs, SYNs, RSTs, retransmissions.
 *
 * A segment is a fresh header mbuf (Ethernet, IPv4, TCP with options)
 * followed by indirect mbufs attached to the send queue's buffers for the
 * payload: nothing is copied, whether the bytes go out the first time or
 * the fifth.
 */
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <string.h>

#include "pkt.h"
#include "tcp.h"

#define HDR_ROOM (HG_ETH_HLEN + 20 + HG_TCP_HLEN + HG_TCP_MAX_OPTLEN)

uint32_t hg_tcp_ts_now(const struct hg_tcp_conn *c)
{
	/* A millisecond clock (RFC 7323 allows 1 ms to 1 s per tick). */
	return (uint32_t)(c->stack->now_us / 1000) + c->ts_offset;
}

/* Free receive space, never less than what we already promised (RFC 9293
 * 3.8.6.2.2: do not shrink the window). */
uint32_t hg_tcp_rcv_window(const struct hg_tcp_conn *c)
{
	uint32_t used = c->rcvq_bytes + c->ooo_bytes;
	uint32_t wnd = used >= c->rcv_buf ? 0 : c->rcv_buf - used;
	uint32_t promised = hg_seq_gt(c->rcv_adv, c->rcv_nxt)
				    ? c->rcv_adv - c->rcv_nxt
				    : 0;
	uint32_t max = (uint32_t)65535 << c->rcv_wscale;

	if (wnd < promised)
		wnd = promised;
	/* Receiver SWS avoidance: do not open by less than an MSS. */
	if (wnd < c->mss && wnd > promised)
		wnd = promised;
	return wnd > max ? max : wnd;
}

/* One's complement sum of a payload chain, any piece lengths: a piece
 * that starts at an odd offset contributes its sum byte-swapped (RFC 1071
 * section 2(B)). DPDK 22.11's rte_raw_cksum_mbuf truncates the unfolded
 * sum before that swap, so it is wrong for such chains. */
static uint32_t chain_sum(const struct rte_mbuf *m)
{
	uint32_t sum = 0, off = 0;

	for (; m != NULL; m = m->next) {
		uint32_t part = hg_csum_add(0, rte_pktmbuf_mtod(m, void *),
					    m->data_len);

		part = (part & 0xffff) + (part >> 16);
		part = (part & 0xffff) + (part >> 16);
		if (off & 1)
			part = (uint32_t)rte_bswap16((uint16_t)part);
		sum += part;
		off += m->data_len;
	}
	return sum;
}

struct seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	struct hg_tcp_opts opts;
};

/* Writes the headers into a new mbuf, chains `payload` (may be NULL),
 * checksums, and hands the packet to the output. */
static void emit(struct hg_tcp_stack *s, const struct hg_tuple *t,
		 const struct seg *g, struct rte_mbuf *payload)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(s->pool);
	struct hg_tcp_hdr h = {
		.sport = t->lport,
		.dport = t->rport,
		.seq = g->seq,
		.ack = g->ack,
		.flags = g->flags,
		.window = g->window,
		.opts = g->opts,
	};
	uint8_t *p, tcp[HG_TCP_HLEN + HG_TCP_MAX_OPTLEN];
	uint16_t ck;
	size_t tcp_len = hg_tcp_hdr_write(tcp, sizeof(tcp), &h);
	uint32_t plen = payload ? payload->pkt_len : 0;
	struct rte_ipv4_hdr *ip;
	uint16_t total = (uint16_t)(20 + tcp_len + plen);

	if (m == NULL || tcp_len == 0) {
		rte_pktmbuf_free(m);
		rte_pktmbuf_free(payload);
		HG_TCP_DROP(s, no_mbuf);
		return;
	}
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(HG_ETH_HLEN + 20 +
							tcp_len));
	ip = (struct rte_ipv4_hdr *)(p + HG_ETH_HLEN);
	*ip = (struct rte_ipv4_hdr){
		.version_ihl = 0x45,
		.total_length = rte_cpu_to_be_16(total),
		.fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = 64,
		.next_proto_id = IPPROTO_TCP,
		.src_addr = rte_cpu_to_be_32(t->laddr),
		.dst_addr = rte_cpu_to_be_32(t->raddr),
	};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ck = hg_tcp_csum(t->laddr, t->raddr, tcp, tcp_len,
			 payload ? chain_sum(payload) : 0, tcp_len + plen);
	tcp[16] = (uint8_t)(ck >> 8);
	tcp[17] = (uint8_t)ck;
	memcpy(p + HG_ETH_HLEN + 20, tcp, tcp_len);
	if (payload != NULL && rte_pktmbuf_chain(m, payload) != 0) {
		rte_pktmbuf_free(m);
		rte_pktmbuf_free(payload);
		HG_TCP_DROP(s, no_mbuf);
		return;
	}
	HG_TCP_COUNT(s, tcp_segs_out);
	s->output(s->output_ctx, m, t->raddr);
}

/* Indirect mbufs for bytes [off, off + len) of the send queue. The walk
 * to `off` starts at the cursor the previous slice left (new data goes
 * out in order, so it is a step or two), or at the head for bytes before
 * it (retransmissions). */
static struct rte_mbuf *sndq_slice(struct hg_tcp_conn *c, uint32_t off,
				   uint32_t len)
{
	struct rte_mbuf *src = c->sndq, *head = NULL, *tail = NULL;
	uint32_t seq = c->snd_una + off, start = c->snd_una;

	if (c->snd_cur != NULL && hg_seq_leq(c->snd_cur_seq, seq)) {
		src = c->snd_cur;
		start = c->snd_cur_seq;
		off = seq - start;
	}
	while (src != NULL && off >= src->data_len) {
		off -= src->data_len;
		start += src->data_len;
		src = src->next;
	}
	c->snd_cur = src;
	c->snd_cur_seq = start;
	while (len > 0 && src != NULL) {
		uint32_t take = src->data_len - off;
		struct rte_mbuf *mi = rte_pktmbuf_alloc(c->stack->pool);

		if (mi == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		if (take > len)
			take = len;
		rte_pktmbuf_attach(mi, src);
		mi->data_off = (uint16_t)(src->data_off + off);
		mi->data_len = (uint16_t)take;
		mi->pkt_len = take;
		if (head == NULL) {
			head = mi;
		} else {
			tail->next = mi;
			head->nb_segs++;
			head->pkt_len += take;
		}
		tail = mi;
		len -= take;
		off = 0;
		if (len > 0) {
			start += src->data_len;
			src = src->next;
			if (src != NULL) {
				c->snd_cur = src;
				c->snd_cur_seq = start;
			}
		}
	}
	return head;
}

/* SACK blocks our segments carry now (RFC 2018: as many as fit, 3
 * beside timestamps). */
static unsigned sack_count(const struct hg_tcp_conn *c)
{
	unsigned n;

	if (!(c->flags & HG_TCPF_SACK) || c->ooo.n == 0)
		return 0;
	n = c->ooo.n < HG_TCP_MAX_SACK ? c->ooo.n : HG_TCP_MAX_SACK;
	if ((c->flags & HG_TCPF_TS) && n > 3)
		n = 3;
	return n;
}

/* The payload a data segment may carry now: the MSS (which already
 * leaves room for timestamps) less the SACK option (2 NOPs, kind, length,
 * 8 bytes a block), as Linux's tcp_current_mss. A full MSS of payload
 * with SACK blocks on top would exceed the MTU: af_packet drops such
 * frames silently, a real link would too. */
uint32_t hg_tcp_seg_room(const struct hg_tcp_conn *c)
{
	unsigned n = sack_count(c);
	uint32_t opt = n ? 4 + 8 * n : 0;

	return c->mss > opt ? c->mss - opt : 1;
}

/* Options of a segment carrying `len` bytes: SACK blocks only as many as
 * fit beside the payload within the MSS. */
static void fill_opts(struct hg_tcp_conn *c, struct hg_tcp_opts *o,
		      uint32_t len)
{
	memset(o, 0, sizeof(*o));
	if (c->flags & HG_TCPF_TS) {
		o->has_ts = true;
		o->tsval = hg_tcp_ts_now(c);
		o->tsecr = c->ts_recent;
	}
	if (sack_count(c) > 0) {
		struct hg_seqrange r[HG_TCP_MAX_SACK];
		unsigned max = sack_count(c), n;

		if (len > 0) {
			uint32_t spare = c->mss > len ? c->mss - len : 0;

			max = spare >= 12 ? (spare - 4) / 8 : 0;
			if (max > sack_count(c))
				max = sack_count(c);
		}
		n = hg_seqset_sack_blocks(&c->ooo, r, max);

		for (unsigned i = 0; i < n; i++) {
			o->sack[i].start = r[i].start;
			o->sack[i].end = r[i].end;
		}
		o->n_sack = (uint8_t)n;
	}
}

static uint16_t window_field(struct hg_tcp_conn *c)
{
	uint32_t wnd = hg_tcp_rcv_window(c);

	c->rcv_adv = c->rcv_nxt + wnd;
	return (uint16_t)(wnd >> c->rcv_wscale);
}

void hg_tcp_send_segment(struct hg_tcp_conn *c, uint32_t seq, uint32_t len,
			 uint8_t flags)
{
	struct hg_tcp_stack *s = c->stack;
	struct rte_mbuf *payload = NULL;
	struct seg g = {.seq = seq, .ack = c->rcv_nxt, .flags = flags};

	if (len > 0) {
		payload = sndq_slice(c, seq - c->snd_una, len);
		if (payload == NULL) {
			HG_TCP_DROP(s, no_mbuf);
			return;
		}
		s->ctr[HG_WC_tcp_bytes_out] += len;
		if (c->cc.algo == HG_CC_BBR)
			hg_tcp_rate_on_send(c, seq, len);
	}
	fill_opts(c, &g.opts, len);
	g.window = window_field(c);
	c->last_ack_sent = c->rcv_nxt;
	c->unacked_segs = 0;
	c->flags &= (uint16_t)~HG_TCPF_ACK_NOW;
	hg_timer_cancel(&s->wheel, &c->ack_timer);
	c->last_tx_us = s->now_us;
	emit(s, &c->tuple, &g, payload);
}

void hg_tcp_send_ack(struct hg_tcp_conn *c)
{
	hg_tcp_send_segment(c, c->snd_nxt, 0, HG_TCP_ACK);
}

void hg_tcp_send_syn(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;
	bool synack = c->state == HG_TCP_SYN_RCVD;
	struct seg g = {
		.seq = c->iss,
		.ack = synack ? c->rcv_nxt : 0,
		.flags = (uint8_t)(HG_TCP_SYN | (synack ? HG_TCP_ACK : 0)),
	};
	uint32_t wnd = c->rcv_buf > 65535 ? 65535 : c->rcv_buf;

	g.opts.has_mss = true;
	g.opts.mss = s->cfg.mss;
	/* Active open offers everything; a SYN-ACK answers what was
	 * offered (RFC 7323 1.3, RFC 2018 2). */
	if (!synack || (c->flags & HG_TCPF_WSCALE)) {
		g.opts.has_wscale = true;
		g.opts.wscale = c->rcv_wscale;
	}
	if (!synack || (c->flags & HG_TCPF_SACK))
		g.opts.sack_permitted = true;
	if (!synack || (c->flags & HG_TCPF_TS)) {
		g.opts.has_ts = true;
		g.opts.tsval = hg_tcp_ts_now(c);
		g.opts.tsecr = synack ? c->ts_recent : 0;
	}
	/* The window in a SYN is never scaled (RFC 7323 2.2). */
	g.window = (uint16_t)wnd;
	c->rcv_adv = c->rcv_nxt + wnd;
	c->last_ack_sent = c->rcv_nxt;
	c->last_tx_us = s->now_us;
	c->snd_nxt = c->iss + 1;
	if (hg_seq_lt(c->snd_max, c->snd_nxt))
		c->snd_max = c->snd_nxt;
	emit(s, &c->tuple, &g, NULL);
}

/* A SYN-ACK for a SYN cookie: no connection exists. */
void hg_tcp_send_cookie_synack(struct hg_tcp_stack *s, const struct hg_tuple *t,
			       uint32_t cookie, uint32_t ack,
			       const struct hg_tcp_opts *peer, uint8_t wscale)
{
	struct seg g = {
		.seq = cookie,
		.ack = ack,
		.flags = HG_TCP_SYN | HG_TCP_ACK,
		.window = (uint16_t)(s->cfg.rcv_buf > 65535 ? 65535
							    : s->cfg.rcv_buf),
	};

	g.opts.has_mss = true;
	g.opts.mss = s->cfg.mss;
	if (peer->has_ts) {
		/* Window scale and SACK survive only inside the TSval. */
		g.opts.has_ts = true;
		g.opts.tsval = hg_syncookie_ts_encode(
			(uint32_t)(s->now_us / 1000),
			peer->has_wscale ? (peer->wscale > 14 ? 14
							      : peer->wscale)
					 : -1,
			peer->sack_permitted);
		g.opts.tsecr = peer->tsval;
		if (peer->has_wscale) {
			g.opts.has_wscale = true;
			g.opts.wscale = wscale;
		}
		g.opts.sack_permitted = peer->sack_permitted;
	}
	emit(s, t, &g, NULL);
}

void hg_tcp_send_rst_for(struct hg_tcp_stack *s, uint8_t port,
			 const struct hg_tuple *t, uint32_t seq, uint32_t ack,
			 bool with_ack)
{
	struct seg g = {
		.seq = seq,
		.ack = with_ack ? ack : 0,
		.flags = (uint8_t)(HG_TCP_RST | (with_ack ? HG_TCP_ACK : 0)),
	};

	(void)port;
	HG_TCP_COUNT(s, tcp_resets_out);
	emit(s, t, &g, NULL);
}

void hg_tcp_retransmit(struct hg_tcp_conn *c, uint32_t seq, uint32_t len)
{
	struct hg_tcp_stack *s = c->stack;
	uint32_t fin_seq = c->snd_una + c->sndq_bytes;
	uint8_t flags = HG_TCP_ACK;

	HG_TCP_COUNT(s, tcp_retransmits);
	if (len == 0 && (c->flags & HG_TCPF_FIN_SENT) && seq == fin_seq)
		flags |= HG_TCP_FIN;
	else if (seq + len == fin_seq)
		flags |= HG_TCP_PSH;
	/* Karn: never time a retransmitted segment. */
	c->flags &= (uint16_t)~HG_TCPF_RTT_TIMING;
	hg_tcp_send_segment(c, seq, len, flags);
}

/* Bytes in flight as RFC 6675 section 4 estimates them ("pipe"): sent
 * and not acknowledged, less what the peer SACKed, less the holes below
 * the highest SACKed byte that we consider lost and have not resent yet
 * (those below rtx_next were resent and are in flight again). */
uint32_t hg_tcp_pipe(const struct hg_tcp_conn *c)
{
	uint32_t out = c->snd_nxt - c->snd_una;
	uint32_t sacked = hg_seqset_bytes_above(&c->sacked, c->snd_una);
	uint32_t lost = 0;

	if (c->in_recovery) {
		uint32_t high = hg_seqset_highest(&c->sacked, c->snd_una);
		uint32_t from = hg_seq_gt(c->rtx_next, c->snd_una)
					? c->rtx_next
					: c->snd_una;

		if (hg_seq_lt(from, high))
			lost = (high - from) -
			       hg_seqset_bytes_above(&c->sacked, from);
	}
	return sacked + lost >= out ? 0 : out - sacked - lost;
}

/* Delivery rate estimation, sending side (draft-cheng-iccrg-delivery-
 * rate-estimation section 3.2): every transmission of a stamped range
 * stamps it again (a retransmission is a new departure, as in Linux);
 * otherwise one transmission in cwnd/16 segments gets a free stamp. A
 * flight that starts from nothing restarts the clocks. */
void hg_tcp_rate_on_send(struct hg_tcp_conn *c, uint32_t seq, uint32_t len)
{
	uint64_t now = c->stack->now_us;
	uint32_t end = seq + len, every = c->cc.cwnd / c->mss / 16;
	struct hg_tcp_txmark *slot = NULL, *free_slot = NULL;

	if (hg_tcp_pipe(c) == 0) {
		c->first_sent_us = now;
		c->delivered_us = now;
	}
	for (unsigned i = 0; i < HG_TCP_TXMARKS; i++) {
		struct hg_tcp_txmark *m = &c->txm[i];

		if (m->start == m->end) {
			if (free_slot == NULL)
				free_slot = m;
		} else if (hg_seq_lt(m->start, end) && hg_seq_lt(seq, m->end)) {
			m->end = m->start; /* overlapped: stamped anew below */
			slot = m;
		}
	}
	if (slot == NULL) {
		if (++c->txm_count < (every ? every : 1) || free_slot == NULL)
			return;
		slot = free_slot;
	}
	c->txm_count = 0;
	*slot = (struct hg_tcp_txmark){
		.start = seq,
		.end = end,
		.delivered = c->delivered,
		.delivered_us = c->delivered_us,
		.first_sent_us = c->first_sent_us,
		.sent_us = now,
		.app_limited = c->app_limited != 0,
	};
}

/* Pacing: may a segment leave now? */
static bool pace_blocked(struct hg_tcp_conn *c, uint64_t rate)
{
	struct hg_tcp_stack *s = c->stack;

	if (rate == 0 || c->pace_next_us <= s->now_us)
		return false;
	if (!hg_timer_armed(&c->pace_timer))
		hg_timer_arm(&s->wheel, &c->pace_timer,
			     (c->pace_next_us + 999) / 1000);
	return true;
}

/* `len` bytes left: the next may leave len / rate later. Up to
 * HG_TCP_PACE_BURST_US of credit is kept, so a late timer tick or an
 * ACK arriving between ticks does not lower the rate. */
static void pace_sent(struct hg_tcp_conn *c, uint32_t len, uint64_t rate)
{
	uint64_t now = c->stack->now_us, at = c->pace_next_us;

	if (rate == 0)
		return;
	if (at + HG_TCP_PACE_BURST_US < now)
		at = now - HG_TCP_PACE_BURST_US;
	c->pace_next_us = at + (uint64_t)len * 1000000 / rate;
}

/* In recovery: resend the next hole below the highest SACKed byte.
 * Returns true when something was sent. */
static bool recovery_send(struct hg_tcp_conn *c)
{
	uint32_t high = hg_seqset_highest(&c->sacked, c->snd_una);
	uint32_t hole_len, start;

	if (hg_seq_lt(c->rtx_next, c->snd_una))
		c->rtx_next = c->snd_una;
	start = hg_seqset_next_hole(&c->sacked, c->rtx_next, &hole_len);
	if (!hg_seq_lt(start, high) || !hg_seq_lt(start, c->snd_nxt))
		return false;
	if (hole_len == 0 || hole_len > hg_tcp_seg_room(c))
		hole_len = hg_tcp_seg_room(c);
	if (hg_seq_gt(start + hole_len, c->snd_nxt))
		hole_len = c->snd_nxt - start;
	hg_tcp_retransmit(c, start, hole_len);
	c->rtx_next = start + hole_len;
	return true;
}

static bool may_send_data(const struct hg_tcp_conn *c)
{
	return c->state == HG_TCP_ESTABLISHED ||
	       c->state == HG_TCP_CLOSE_WAIT ||
	       c->state == HG_TCP_FIN_WAIT_1 || c->state == HG_TCP_CLOSING ||
	       c->state == HG_TCP_LAST_ACK;
}

void hg_tcp_output(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;
	uint64_t rate = hg_cc_pacing_rate(&c->cc);
	bool sent = false;

	if (!may_send_data(c)) {
		if (c->flags & HG_TCPF_ACK_NOW)
			hg_tcp_send_ack(c);
		return;
	}
	for (unsigned guard = 0; guard < 4096; guard++) {
		uint32_t fin_seq = c->snd_una + c->sndq_bytes;
		uint32_t queued = fin_seq - c->snd_nxt; /* not yet sent */
		uint32_t wnd = c->snd_wnd < c->cc.cwnd ? c->snd_wnd
						       : c->cc.cwnd;
		uint32_t flight = hg_tcp_pipe(c);
		uint32_t room = hg_tcp_seg_room(c);
		uint32_t len;

		if (hg_seq_gt(c->snd_nxt, fin_seq))
			queued = 0; /* FIN already sent */
		if (pace_blocked(c, rate))
			break;
		/* Holes first: they are inside the peer's window already. */
		if (c->in_recovery && flight < c->cc.cwnd &&
		    recovery_send(c)) {
			pace_sent(c, c->mss, rate);
			sent = true;
			continue;
		}
		if (flight >= wnd)
			break;
		if (queued > 0) {
			uint32_t usable = c->snd_nxt - c->snd_una;

			usable = usable >= c->snd_wnd ? 0
						      : c->snd_wnd - usable;
			len = queued < room ? queued : room;
			if (len > usable)
				len = usable;
			if (len > wnd - flight)
				len = wnd - flight;
			if (len == 0)
				break;
			/* Sender SWS avoidance (RFC 9293 3.8.6.2.1): no
			 * small segment while a full one may soon fit. */
			if (len < room && len < queued && flight > 0)
				break;
			hg_tcp_send_segment(
				c, c->snd_nxt, len,
				(uint8_t)(HG_TCP_ACK |
					  (len == queued ? HG_TCP_PSH : 0)));
			if (!(c->flags & HG_TCPF_TS) &&
			    !(c->flags & HG_TCPF_RTT_TIMING) &&
			    c->snd_nxt == c->snd_max) {
				c->flags |= HG_TCPF_RTT_TIMING;
				c->rtt_seq = c->snd_nxt;
				c->rtt_start_us = s->now_us;
			}
			c->snd_nxt += len;
			if (hg_seq_gt(c->snd_nxt, c->snd_max))
				c->snd_max = c->snd_nxt;
			pace_sent(c, len, rate);
			sent = true;
			continue;
		}
		/* Nothing more to send while the windows had room: samples
		 * taken until what is in flight now is delivered are app
		 * limited (draft-cheng-iccrg-delivery-rate-estimation 3.4). */
		if (rate != 0 && !c->in_recovery)
			c->app_limited = c->delivered + flight != 0
						 ? c->delivered + flight
						 : 1;
		if ((c->flags & HG_TCPF_FIN_QUEUED) && c->snd_nxt == fin_seq) {
			hg_tcp_send_segment(c, c->snd_nxt, 0,
					    HG_TCP_FIN | HG_TCP_ACK);
			c->snd_nxt++;
			if (hg_seq_gt(c->snd_nxt, c->snd_max))
				c->snd_max = c->snd_nxt;
			if (!(c->flags & HG_TCPF_FIN_SENT)) {
				c->flags |= HG_TCPF_FIN_SENT;
				if (c->state == HG_TCP_ESTABLISHED)
					hg_tcp_set_state(c,
							 HG_TCP_FIN_WAIT_1);
				else if (c->state == HG_TCP_CLOSE_WAIT)
					hg_tcp_set_state(c, HG_TCP_LAST_ACK);
			}
			sent = true;
		}
		break;
	}
	if (sent || c->snd_una != c->snd_max || c->sndq_bytes > 0)
		hg_tcp_arm_rtx(c);
	if (!sent && (c->flags & HG_TCPF_ACK_NOW))
		hg_tcp_send_ack(c);
}
