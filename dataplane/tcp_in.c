/* TCP input: RFC 9293 section 3.10.7 ("SEGMENT ARRIVES"), with RFC 5961
 * (challenge ACKs for in-window RST and SYN, ACK range check), RFC 7323
 * (PAWS), RFC 2018 / 6675 (SACK in and out), RFC 5681 / 6582 (duplicate
 * ACKs, fast retransmit and recovery) and SYN cookies. */
#include <rte_mbuf.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "tcp.h"

/* A received segment, parsed. */
struct rx {
	struct hg_tcp_hdr h;
	struct rte_mbuf *m; /* NULL once its payload was queued */
	uint32_t data_off;  /* payload offset in m */
	uint32_t len;       /* payload bytes */
};

static void rx_free(struct rx *r)
{
	rte_pktmbuf_free(r->m);
	r->m = NULL;
}

static uint16_t clamp_mss(const struct hg_tcp_stack *s, const struct rx *r)
{
	uint16_t mss = r->h.opts.has_mss ? r->h.opts.mss : 536;

	if (mss > s->cfg.mss)
		mss = s->cfg.mss;
	if (mss < 88) /* keep room for headers and options */
		mss = 88;
	return mss;
}

/* Options of a SYN we answer or a SYN-ACK we got: what both sides use. */
static void negotiate(struct hg_tcp_conn *c, const struct rx *r)
{
	const struct hg_tcp_opts *o = &r->h.opts;

	if (o->has_wscale) {
		c->flags |= HG_TCPF_WSCALE;
		c->snd_wscale = o->wscale > 14 ? 14 : o->wscale;
	} else {
		c->rcv_wscale = 0;
		c->snd_wscale = 0;
	}
	if (o->sack_permitted)
		c->flags |= HG_TCPF_SACK;
	if (o->has_ts) {
		c->flags |= HG_TCPF_TS;
		c->ts_recent = o->tsval;
		c->ts_recent_us = c->stack->now_us;
	}
	c->mss = clamp_mss(c->stack, r);
	/* Timestamps take 12 bytes of every segment. */
	if (c->flags & HG_TCPF_TS)
		c->mss = (uint16_t)(c->mss - 12);
}

static struct hg_tcp_listener *find_listener(struct hg_tcp_stack *s,
					     uint32_t addr, uint16_t port)
{
	for (unsigned i = 0; i < s->n_listeners; i++) {
		struct hg_tcp_listener *l = &s->listeners[i];

		if (l->port == port && (l->addr == addr || l->addr == 0))
			return l;
	}
	return NULL;
}

/* RFC 9293 3.10.7.1: a segment for no connection gets a RST, unless it
 * is one. */
static void reset_unknown(struct hg_tcp_stack *s, uint8_t port,
			  const struct hg_tuple *t, const struct rx *r)
{
	uint32_t seg_len = r->len + !!(r->h.flags & HG_TCP_SYN) +
			   !!(r->h.flags & HG_TCP_FIN);

	if (r->h.flags & HG_TCP_RST)
		return;
	if (r->h.flags & HG_TCP_ACK)
		hg_tcp_send_rst_for(s, port, t, r->h.ack, 0, false);
	else
		hg_tcp_send_rst_for(s, port, t, 0, r->h.seq + seg_len, true);
}

static uint8_t our_wscale(const struct hg_tcp_stack *s)
{
	uint8_t ws = 0;

	while (ws < 14 && (s->cfg.rcv_buf >> ws) > 65535)
		ws++;
	return ws;
}

static void passive_open(struct hg_tcp_stack *s, struct hg_tcp_listener *l,
			 uint8_t port, const struct hg_tuple *t,
			 const struct rx *r)
{
	bool cookies = l->syncookies == HG_SYNCOOKIES_ALWAYS ||
		       (l->syncookies == HG_SYNCOOKIES_AUTO &&
			l->half_open >= l->backlog);
	struct hg_tcp_conn *c = NULL;

	if (!cookies) {
		c = hg_tcp_conn_new(s, t, port);
		if (c == NULL) {
			HG_TCP_DROP(s, tcp_table_full);
			cookies = l->syncookies != HG_SYNCOOKIES_NEVER;
		}
	}
	if (c == NULL) {
		if (!cookies) {
			HG_TCP_DROP(s, tcp_table_full);
			return;
		}
		uint32_t cookie = hg_syncookie_make(
			&s->secret, t, r->h.seq, clamp_mss(s, r),
			s->now_us / 1000000);
		HG_TCP_COUNT(s, tcp_syncookies_sent);
		hg_tcp_send_cookie_synack(s, t, cookie, r->h.seq + 1,
					  &r->h.opts, our_wscale(s));
		return;
	}
	c->listener = l;
	c->ops = l->ops;
	c->app = l->arg;
	c->flags |= HG_TCPF_PASSIVE;
	c->irs = r->h.seq;
	c->rcv_nxt = r->h.seq + 1;
	negotiate(c, r);
	c->snd_wnd = r->h.window; /* never scaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->iss = hg_isn(&s->secret, t, s->now_us);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->ts_offset = (uint32_t)hg_siphash(&s->secret.cookie_key, t,
					    sizeof(*t));
	hg_cc_init(&c->cc, l->cc, c->mss);
	hg_tcp_set_state(c, HG_TCP_SYN_RCVD);
	hg_tcp_send_syn(c);
	hg_tcp_arm_rtx(c);
	hg_tcp_arm_idle(c);
}

/* The final ACK of a handshake we answered with a cookie. */
static struct hg_tcp_conn *cookie_open(struct hg_tcp_stack *s,
				       struct hg_tcp_listener *l, uint8_t port,
				       const struct hg_tuple *t,
				       const struct rx *r)
{
	struct hg_tcp_conn *c;
	uint16_t mss;
	int ws = -1;
	bool sack = false;

	if (!hg_syncookie_check(&s->secret, t, r->h.seq - 1, r->h.ack - 1,
				s->now_us / 1000000, &mss)) {
		HG_TCP_COUNT(s, tcp_syncookies_bad);
		return NULL;
	}
	c = hg_tcp_conn_new(s, t, port);
	if (c == NULL) {
		HG_TCP_DROP(s, tcp_table_full);
		return NULL;
	}
	HG_TCP_COUNT(s, tcp_syncookies_ok);
	c->listener = l;
	c->ops = l->ops;
	c->app = l->arg;
	c->flags |= HG_TCPF_PASSIVE | HG_TCPF_FROM_COOKIE;
	c->irs = r->h.seq - 1;
	c->rcv_nxt = r->h.seq;
	c->iss = r->h.ack - 1;
	c->snd_una = c->snd_nxt = c->snd_max = r->h.ack;
	c->mss = mss;
	if (r->h.opts.has_ts &&
	    hg_syncookie_ts_decode(r->h.opts.tsecr, &ws, &sack)) {
		c->flags |= HG_TCPF_TS;
		c->ts_recent = r->h.opts.tsval;
		c->ts_recent_us = s->now_us;
		c->mss = (uint16_t)(c->mss - 12);
		if (sack)
			c->flags |= HG_TCPF_SACK;
	}
	if (ws >= 0) {
		c->flags |= HG_TCPF_WSCALE;
		c->snd_wscale = (uint8_t)ws;
		c->rcv_wscale = our_wscale(s);
	} else {
		c->rcv_wscale = 0;
	}
	/* What we announced in the cookie SYN-ACK. */
	c->rcv_adv = c->rcv_nxt +
		     (s->cfg.rcv_buf > 65535 ? 65535 : s->cfg.rcv_buf);
	c->last_ack_sent = c->rcv_nxt;
	c->snd_wnd = (uint32_t)r->h.window << c->snd_wscale;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = r->h.seq;
	c->snd_wl2 = r->h.ack;
	hg_cc_init(&c->cc, l->cc, c->mss);
	hg_tcp_set_state(c, HG_TCP_ESTABLISHED);
	HG_TCP_COUNT(s, tcp_accepted);
	hg_tcp_arm_idle(c);
	if (c->ops && c->ops->on_established)
		c->ops->on_established(c);
	return c;
}

/* --- receive queue and out-of-order segments --- */

/* Keeps bytes [from, to) of the segment's payload (sequence numbers):
 * strips headers and what lies outside. */
static struct rte_mbuf *payload_slice(struct rx *r, uint32_t skip,
				      uint32_t keep)
{
	struct rte_mbuf *m = r->m;

	rte_pktmbuf_adj(m, (uint16_t)(r->data_off + skip));
	rte_pktmbuf_trim(m, (uint16_t)(m->pkt_len - keep));
	r->m = NULL;
	return m;
}

static void ooo_insert(struct hg_tcp_conn *c, struct rx *r, uint32_t seq,
		       uint32_t len)
{
	struct hg_tcp_stack *s = c->stack;
	struct rte_mbuf *m;
	unsigned i;

	HG_TCP_COUNT(s, tcp_ooo_segments);
	if (hg_seqset_covers(&c->ooo, seq, seq + len))
		return; /* a duplicate */
	if (c->ooo_q == NULL) {
		uint32_t cap = c->rcv_buf / 1024;

		if (cap < HG_TCP_OOO_MIN)
			cap = HG_TCP_OOO_MIN;
		if (cap > HG_TCP_OOO_MAX)
			cap = HG_TCP_OOO_MAX;
		c->ooo_q = malloc(cap * sizeof(*c->ooo_q));
		c->ooo_cap = c->ooo_q != NULL ? (uint16_t)cap : 0;
	}
	if (c->ooo_n == c->ooo_cap ||
	    hg_seqset_add(&c->ooo, seq, seq + len) < 0) {
		HG_TCP_DROP(s, tcp_ooo_full);
		return;
	}
	m = payload_slice(r, 0, len);
	m->hash.usr = seq;
	for (i = c->ooo_n; i > 0 && hg_seq_gt(c->ooo_q[i - 1]->hash.usr, seq);
	     i--)
		c->ooo_q[i] = c->ooo_q[i - 1];
	c->ooo_q[i] = m;
	c->ooo_n++;
	c->ooo_bytes += len;
}

/* Moves out-of-order segments that became in order onto the receive
 * queue, trimming overlaps. */
static void ooo_drain(struct hg_tcp_conn *c)
{
	unsigned done = 0;

	while (done < c->ooo_n) {
		struct rte_mbuf *m = c->ooo_q[done];
		uint32_t seq = m->hash.usr, len = m->pkt_len;

		if (hg_seq_gt(seq, c->rcv_nxt))
			break;
		done++;
		c->ooo_bytes -= len;
		if (hg_seq_leq(seq + len, c->rcv_nxt)) {
			rte_pktmbuf_free(m); /* wholly old */
			continue;
		}
		rte_pktmbuf_adj(m, (uint16_t)(c->rcv_nxt - seq));
		c->rcv_nxt += m->pkt_len;
		c->bytes_in += m->pkt_len;
		c->stack->ctr[HG_WC_tcp_bytes_in] += m->pkt_len;
		hg_tcp_rcvq_append(c, m);
	}
	memmove(c->ooo_q, c->ooo_q + done, (c->ooo_n - done) * sizeof(void *));
	c->ooo_n = (uint16_t)(c->ooo_n - done);
	hg_seqset_trim_below(&c->ooo, c->rcv_nxt);
}

/* --- ACK processing --- */

static void sndq_drop(struct hg_tcp_conn *c, uint32_t bytes)
{
	while (bytes > 0 && c->sndq != NULL) {
		struct rte_mbuf *m = c->sndq;

		if (m->data_len <= bytes) {
			struct rte_mbuf *next = m->next;

			bytes -= m->data_len;
			c->sndq_bytes -= m->data_len;
			if (next != NULL) {
				next->nb_segs = (uint16_t)(m->nb_segs - 1);
				next->pkt_len = m->pkt_len - m->data_len;
			}
			m->next = NULL;
			m->nb_segs = 1;
			m->pkt_len = m->data_len;
			if (m == c->snd_cur)
				c->snd_cur = NULL;
			rte_pktmbuf_free(m);
			c->sndq = next;
			if (next == NULL)
				c->sndq_tail = NULL;
		} else {
			rte_pktmbuf_adj(m, (uint16_t)bytes);
			c->sndq_bytes -= bytes;
			if (m == c->snd_cur)
				c->snd_cur_seq += bytes;
			bytes = 0;
		}
	}
}

/* Adds the peer's SACK blocks to the scoreboard; returns the bytes newly
 * reported (RFC 6675's definition of a duplicate ACK needs it). */
static uint32_t sack_update(struct hg_tcp_conn *c, const struct rx *r)
{
	uint32_t before = hg_seqset_bytes_above(&c->sacked, c->snd_una);

	for (unsigned i = 0; i < r->h.opts.n_sack; i++) {
		const struct hg_sack_block *b = &r->h.opts.sack[i];

		/* Only blocks inside what is outstanding (RFC 2018 and the
		 * D-SACK corner cases of RFC 2883 are ignored). */
		if (hg_seq_leq(b->start, c->snd_una) ||
		    hg_seq_gt(b->end, c->snd_max) ||
		    !hg_seq_lt(b->start, b->end))
			continue;
		HG_TCP_COUNT(c->stack, tcp_sack_blocks_in);
		hg_seqset_add(&c->sacked, b->start, b->end);
	}
	return hg_seqset_bytes_above(&c->sacked, c->snd_una) - before;
}

static void enter_recovery(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;
	uint32_t room = hg_tcp_seg_room(c);
	uint32_t len = c->sndq_bytes < room ? c->sndq_bytes : room;

	HG_TCP_COUNT(s, tcp_fast_retransmits);
	hg_cc_on_loss(&c->cc, c->snd_max - c->snd_una, s->now_us);
	c->in_recovery = true;
	c->recover = c->snd_max;
	c->recovery_progress_us = s->now_us;
	/* RFC 6675 / 5681: resend the first unacknowledged segment now. */
	if (len > c->snd_nxt - c->snd_una)
		len = c->snd_nxt - c->snd_una;
	if (len > 0)
		hg_tcp_retransmit(c, c->snd_una, len);
	c->rtx_next = c->snd_una + len;
}

/* In recovery the peer keeps reporting data above snd_una but snd_una
 * does not move: a retransmission was lost too. RFC 6675 would wait for
 * the RTO; after two RTTs without progress we walk the holes again from
 * snd_una instead (a cheap cousin of RACK's lost-retransmit detection). */
static void recovery_stalled(struct hg_tcp_conn *c)
{
	uint64_t now = c->stack->now_us;
	uint64_t stall = 2ULL * c->srtt_us;

	if (stall < 2000)
		stall = 2000;
	if (now - c->recovery_progress_us < stall)
		return;
	c->recovery_progress_us = now;
	c->rtx_next = c->snd_una;
}

/* Delivery rate estimation, ACK side (draft-cheng-iccrg-delivery-rate-
 * estimation section 3.3): `newly` bytes were delivered by this ACK
 * (cumulatively or by SACK). The sample comes from the most recently sent
 * stamped segment the ACK delivered; every stamp it delivered is freed.
 * Then BBR gets the sample (hg_cc_on_rate_sample). */
static void rate_sample(struct hg_tcp_conn *c, uint32_t newly,
			uint32_t rtt_us, bool loss)
{
	struct hg_tcp_stack *s = c->stack;
	struct hg_tcp_txmark best = {0};
	struct hg_cc_rs rs = {0};
	bool found = false;

	if (newly == 0)
		return;
	c->delivered += newly;
	c->delivered_us = s->now_us;
	if (c->app_limited != 0 && c->delivered > c->app_limited)
		c->app_limited = 0;
	for (unsigned i = 0; i < HG_TCP_TXMARKS; i++) {
		struct hg_tcp_txmark *m = &c->txm[i];

		if (m->start == m->end)
			continue;
		if (!hg_seq_leq(m->end, c->snd_una) &&
		    !hg_seqset_covers(&c->sacked, m->start, m->end))
			continue;
		if (!found || m->sent_us > best.sent_us ||
		    (m->sent_us == best.sent_us && hg_seq_gt(m->end, best.end)))
			best = *m;
		found = true;
		m->end = m->start;
	}
	rs.delivered = c->delivered;
	rs.acked = newly;
	rs.inflight = hg_tcp_pipe(c);
	rs.rtt_us = rtt_us;
	rs.loss = loss;
	if (found) {
		uint64_t send_elapsed = best.sent_us - best.first_sent_us;
		uint64_t ack_elapsed = c->delivered_us - best.delivered_us;

		c->first_sent_us = best.sent_us;
		rs.prior_delivered = best.delivered;
		rs.app_limited = best.app_limited;
		rs.interval_us = send_elapsed > ack_elapsed ? send_elapsed
							    : ack_elapsed;
		/* Shorter than a round trip: ACK compression or a
		 * retransmission acknowledged for its original; no sample. */
		if (rs.interval_us < c->cc.min_rtt_us)
			rs.interval_us = 0;
	}
	hg_cc_on_rate_sample(&c->cc, &rs, s->now_us);
}

/* ACK field of an acceptable segment in a synchronized state. Returns
 * false when the segment must be dropped. */
static bool process_ack(struct hg_tcp_conn *c, const struct rx *r)
{
	struct hg_tcp_stack *s = c->stack;
	uint32_t ack = r->h.ack;
	uint32_t wnd = (uint32_t)r->h.window << c->snd_wscale;

	/* RFC 5961 5.2: acceptable ACKs lie in [una - max_wnd, snd_max]. */
	if (hg_seq_gt(ack, c->snd_max)) {
		HG_TCP_DROP(s, tcp_bad_ack);
		c->flags |= HG_TCPF_ACK_NOW;
		return false;
	}
	if (hg_seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
		HG_TCP_COUNT(s, tcp_challenge_acks);
		c->flags |= HG_TCPF_ACK_NOW;
		return false;
	}
	uint32_t newly_sacked = 0, acked_data = 0, rtt_sample = 0;
	uint32_t sacked_before = hg_seqset_bytes_above(&c->sacked, c->snd_una);
	bool was_in_recovery = c->in_recovery;

	if (r->h.opts.n_sack && (c->flags & HG_TCPF_SACK))
		newly_sacked = sack_update(c, r);

	if (hg_seq_gt(ack, c->snd_una)) {
		uint32_t acked = ack - c->snd_una, data = acked;
		bool syn_acked = c->snd_una == c->iss;

		if (syn_acked)
			data--;
		if (data > c->sndq_bytes)
			data = c->sndq_bytes; /* the rest is our FIN */
		/* RTT: timestamps echo our clock (RFC 7323 4.1); without
		 * them, time one segment at a time (Karn). */
		uint32_t sample = 0;

		if ((c->flags & HG_TCPF_TS) && r->h.opts.tsecr != 0) {
			uint32_t rtt = hg_tcp_ts_now(c) - r->h.opts.tsecr;

			/* A 1 ms clock: under a tick counts as half. */
			if (rtt < 60000)
				sample = rtt ? rtt * 1000 : 500;
		} else if ((c->flags & HG_TCPF_RTT_TIMING) &&
			   hg_seq_gt(ack, c->rtt_seq)) {
			c->flags &= (uint16_t)~HG_TCPF_RTT_TIMING;
			sample = (uint32_t)(s->now_us - c->rtt_start_us);
		}
		if (sample != 0)
			hg_tcp_rtt_sample(c, sample);
		rtt_sample = sample;
		acked_data = data;
		sndq_drop(c, data);
		c->snd_una = ack;
		if (hg_seq_lt(c->snd_nxt, ack))
			c->snd_nxt = ack;
		hg_seqset_trim_below(&c->sacked, ack);
		c->backoff = 0;
		c->probes = 0;
		if ((c->flags & HG_TCPF_RTO_RECOVERY) &&
		    hg_seq_geq(ack, c->recover)) {
			/* Everything sent before the timeout is in. */
			c->flags &= (uint16_t)~HG_TCPF_RTO_RECOVERY;
			hg_cc_on_recovery_end(&c->cc);
		}
		if (c->in_recovery) {
			c->recovery_progress_us = s->now_us;
			if (hg_seq_geq(ack, c->recover)) {
				c->in_recovery = false;
				c->dupacks = 0;
				hg_cc_on_recovery_end(&c->cc);
			} else if (!(c->flags & HG_TCPF_SACK)) {
				/* NewReno partial ACK (RFC 6582 3.2):
				 * the next hole is at una; resend it. */
				c->rtx_next = ack;
			}
		} else {
			c->dupacks = 0;
			hg_cc_on_ack(&c->cc, acked, sample, s->now_us);
		}
		hg_tcp_restart_rtx(c);
		if (data > 0 && c->ops && c->ops->on_writable &&
		    c->state != HG_TCP_SYN_RCVD)
			c->ops->on_writable(c);
	} else if (ack == c->snd_una && c->snd_una != c->snd_max &&
		   (newly_sacked > 0 ||
		    (r->len == 0 && !(r->h.flags & (HG_TCP_SYN | HG_TCP_FIN)) &&
		     wnd == c->snd_wnd))) {
		/* A duplicate ACK: RFC 5681 section 2 without SACK; with
		 * SACK, RFC 6675's definition, any ACK that reports new data
		 * above snd_una, even one carrying data or a new window (a
		 * peer that sends too, or grows its buffer). */
		HG_TCP_COUNT(s, tcp_dup_acks);
		c->dupacks++;
		/* After a tail probe, SACK for it means what was sent
		 * before it and is still missing is lost (RFC 8985 7.4). */
		if (!c->in_recovery &&
		    (c->dupacks == 3 ||
		     ((c->flags & HG_TCPF_SACK) &&
		      hg_seqset_bytes_above(&c->sacked, c->snd_una) >=
			      3u * c->mss) ||
		     ((c->flags & HG_TCPF_TLP_SENT) && newly_sacked > 0)))
			enter_recovery(c);
		else if (c->in_recovery)
			recovery_stalled(c);
	}
	if (c->cc.algo == HG_CC_BBR) {
		/* Delivered: what the cumulative ACK covered that was not
		 * SACKed before, plus what was newly SACKed above it. */
		int64_t newly = (int64_t)acked_data +
				hg_seqset_bytes_above(&c->sacked, c->snd_una) -
				sacked_before;

		rate_sample(c, newly > 0 ? (uint32_t)newly : 0, rtt_sample,
			    c->in_recovery && !was_in_recovery);
	}

	/* Window update (RFC 9293 3.10.7.4, SND.WL1/WL2 rule). */
	if (hg_seq_lt(c->snd_wl1, r->h.seq) ||
	    (c->snd_wl1 == r->h.seq && hg_seq_leq(c->snd_wl2, ack))) {
		bool opened = c->snd_wnd == 0 && wnd > 0;

		c->snd_wnd = wnd;
		if (wnd > c->max_snd_wnd)
			c->max_snd_wnd = wnd;
		c->snd_wl1 = r->h.seq;
		c->snd_wl2 = ack;
		if (opened) {
			c->backoff = 0;
			hg_timer_cancel(&s->wheel, &c->rtx_timer);
		}
	}
	return true;
}

/* Our FIN is acknowledged when everything up to and including it is. */
static bool fin_acked(const struct hg_tcp_conn *c)
{
	return (c->flags & HG_TCPF_FIN_SENT) && c->snd_una == c->snd_max &&
	       c->sndq_bytes == 0;
}

enum { SEG_DROP = 0, SEG_ACCEPT, SEG_ACK_ONLY };

/* RFC 9293 3.10.7.4 first check, with PAWS (RFC 7323 5.3) before it.
 * "If the RCV.WND is zero, no segments will be acceptable, but special
 * allowance should be made to accept valid ACKs": a segment we cannot
 * take but whose sequence lies inside what we announced still has its
 * ACK (and SACK) processed (SEG_ACK_ONLY). Without it, a peer's duplicate
 * ACKs stop counting exactly when our receive queue is full. */
static int acceptable(struct hg_tcp_conn *c, struct rx *r)
{
	struct hg_tcp_stack *s = c->stack;
	uint32_t seq = r->h.seq, wnd = hg_tcp_rcv_window(c);
	uint32_t seg_len = r->len + !!(r->h.flags & HG_TCP_SYN) +
			   !!(r->h.flags & HG_TCP_FIN);

	if ((c->flags & HG_TCPF_TS) && r->h.opts.has_ts &&
	    !(r->h.flags & HG_TCP_RST) &&
	    hg_seq_lt(r->h.opts.tsval, c->ts_recent) &&
	    s->now_us - c->ts_recent_us < 24ULL * 86400 * 1000000) {
		HG_TCP_DROP(s, tcp_paws);
		c->flags |= HG_TCPF_ACK_NOW;
		return SEG_DROP;
	}
	if (seg_len == 0) {
		if (wnd == 0 ? seq == c->rcv_nxt
			     : hg_seq_geq(seq, c->rcv_nxt) &&
				       hg_seq_lt(seq, c->rcv_nxt + wnd))
			return SEG_ACCEPT;
		/* An ACK just below rcv_nxt (keepalive, window probe) is
		 * answered, not counted as an attack. */
	} else if (wnd > 0 &&
		   ((hg_seq_geq(seq, c->rcv_nxt) &&
		     hg_seq_lt(seq, c->rcv_nxt + wnd)) ||
		    (hg_seq_geq(seq + seg_len - 1, c->rcv_nxt) &&
		     hg_seq_lt(seq + seg_len - 1, c->rcv_nxt + wnd)))) {
		return SEG_ACCEPT;
	}
	HG_TCP_DROP(s, tcp_out_of_window);
	if (r->h.flags & HG_TCP_RST)
		return SEG_DROP;
	c->flags |= HG_TCPF_ACK_NOW;
	if ((r->h.flags & (HG_TCP_ACK | HG_TCP_SYN)) == HG_TCP_ACK &&
	    hg_seq_geq(seq, c->rcv_nxt) && hg_seq_leq(seq, c->rcv_adv))
		return SEG_ACK_ONLY;
	return SEG_DROP;
}

static void deliver(struct hg_tcp_conn *c)
{
	if (c->ops && c->ops->on_readable && c->state != HG_TCP_CLOSED)
		c->ops->on_readable(c);
}

/* Data and FIN of an acceptable segment (RFC 9293 3.10.7.4, 7th and 8th
 * steps). */
static void process_data(struct hg_tcp_conn *c, struct rx *r)
{
	struct hg_tcp_stack *s = c->stack;
	uint32_t seq = r->h.seq, len = r->len;
	bool fin = r->h.flags & HG_TCP_FIN, readable = false;
	uint32_t wnd = hg_tcp_rcv_window(c);

	if (c->state != HG_TCP_ESTABLISHED && c->state != HG_TCP_FIN_WAIT_1 &&
	    c->state != HG_TCP_FIN_WAIT_2) {
		/* The peer already closed its side: nothing more counts. */
		if (len > 0 || fin)
			c->flags |= HG_TCPF_ACK_NOW;
		return;
	}
	if (r->h.flags & HG_TCP_SYN)
		seq++;
	/* Trim what we already have and what lies beyond the window. */
	if (hg_seq_lt(seq, c->rcv_nxt)) {
		uint32_t old = c->rcv_nxt - seq;

		if (old >= len) {
			old = len;
			if (!(fin && seq + len == c->rcv_nxt))
				fin = false;
		}
		r->data_off += old;
		len -= old;
		seq += old;
		c->flags |= HG_TCPF_ACK_NOW; /* a retransmission: ack now */
	}
	if (len > 0 && hg_seq_gt(seq + len, c->rcv_nxt + wnd)) {
		uint32_t over = seq + len - (c->rcv_nxt + wnd);

		len = over >= len ? 0 : len - over;
		fin = false;
		HG_TCP_DROP(s, tcp_rcv_full);
	}
	if (len > 0) {
		if (seq == c->rcv_nxt) {
			struct rte_mbuf *m = payload_slice(r, 0, len);

			c->rcv_nxt += len;
			c->bytes_in += len;
			s->ctr[HG_WC_tcp_bytes_in] += len;
			hg_tcp_rcvq_append(c, m);
			if (c->ooo_n > 0) {
				ooo_drain(c);
				c->flags |= HG_TCPF_ACK_NOW; /* hole filled */
			}
			readable = true;
			/* Delayed ACK: every second full segment (RFC
			 * 5681 4.2), else within delack_us. */
			if (++c->unacked_segs >= 2 || (r->h.flags & HG_TCP_PSH))
				c->flags |= HG_TCPF_ACK_NOW;
			else if (!hg_timer_armed(&c->ack_timer))
				hg_timer_arm(&s->wheel, &c->ack_timer,
					     (s->now_us + s->cfg.delack_us) /
						     1000);
		} else {
			ooo_insert(c, r, seq, len);
			fin = false; /* the peer resends it with the hole */
			c->flags |= HG_TCPF_ACK_NOW; /* dup ACK with SACK */
		}
	}
	if (fin && seq + len == c->rcv_nxt) {
		c->rcv_nxt++;
		c->rcv_fin = true;
		readable = true;
		c->flags |= HG_TCPF_ACK_NOW;
		switch (c->state) {
		case HG_TCP_ESTABLISHED:
			hg_tcp_set_state(c, HG_TCP_CLOSE_WAIT);
			break;
		case HG_TCP_FIN_WAIT_1:
			if (fin_acked(c)) {
				hg_tcp_send_ack(c);
				hg_tcp_enter_timewait(c);
				return;
			}
			hg_tcp_set_state(c, HG_TCP_CLOSING);
			break;
		case HG_TCP_FIN_WAIT_2:
			hg_tcp_send_ack(c);
			hg_tcp_enter_timewait(c);
			return;
		default:
			break;
		}
	}
	if (readable)
		deliver(c);
}

/* After the ACK moved: state changes that depend on our FIN. Returns
 * false when the connection is gone. */
static bool fin_progress(struct hg_tcp_conn *c)
{
	if (!fin_acked(c))
		return true;
	switch (c->state) {
	case HG_TCP_FIN_WAIT_1:
		hg_tcp_set_state(c, HG_TCP_FIN_WAIT_2);
		hg_tcp_arm_idle(c);
		return true;
	case HG_TCP_CLOSING:
		hg_tcp_enter_timewait(c);
		return false;
	case HG_TCP_LAST_ACK:
		hg_tcp_close(c, HG_TCP_CLOSE_NORMAL);
		return false;
	default:
		return true;
	}
}

static void syn_sent(struct hg_tcp_conn *c, struct rx *r)
{
	struct hg_tcp_stack *s = c->stack;
	uint8_t f = r->h.flags;

	if ((f & HG_TCP_ACK) && (hg_seq_leq(r->h.ack, c->iss) ||
				 hg_seq_gt(r->h.ack, c->snd_max))) {
		if (!(f & HG_TCP_RST))
			hg_tcp_send_rst_for(s, c->port, &c->tuple, r->h.ack, 0,
					    false);
		HG_TCP_DROP(s, tcp_bad_ack);
		return;
	}
	if (f & HG_TCP_RST) {
		if (f & HG_TCP_ACK) {
			HG_TCP_COUNT(s, tcp_refused);
			hg_tcp_close(c, HG_TCP_CLOSE_REFUSED);
		}
		return;
	}
	if (!(f & HG_TCP_SYN))
		return;
	c->irs = r->h.seq;
	c->rcv_nxt = r->h.seq + 1;
	negotiate(c, r);
	c->cc.mss = c->mss;
	hg_cc_init(&c->cc, c->cc.algo, c->mss);
	if (!(f & HG_TCP_ACK)) {
		/* Simultaneous open (RFC 9293 3.5, figure 7). */
		hg_tcp_set_state(c, HG_TCP_SYN_RCVD);
		hg_tcp_send_syn(c);
		return;
	}
	c->snd_una = r->h.ack;
	c->snd_wnd = r->h.window; /* unscaled in a SYN */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = r->h.seq;
	c->snd_wl2 = r->h.ack;
	if (c->backoff == 0)
		hg_tcp_rtt_sample(c, (uint32_t)(s->now_us - c->created_us));
	c->backoff = 0;
	hg_timer_cancel(&s->wheel, &c->rtx_timer);
	hg_tcp_set_state(c, HG_TCP_ESTABLISHED);
	hg_tcp_arm_idle(c);
	hg_tcp_send_ack(c);
	if (c->ops && c->ops->on_established)
		c->ops->on_established(c);
	if (c->state != HG_TCP_CLOSED && r->len > 0)
		c->flags |= HG_TCPF_ACK_NOW; /* data on a SYN-ACK: ignored */
}

/* Synchronized states and SYN_RCVD. */
static void established(struct hg_tcp_conn *c, struct rx *r)
{
	struct hg_tcp_stack *s = c->stack;
	uint8_t f = r->h.flags;

	switch (acceptable(c, r)) {
	case SEG_DROP:
		return;
	case SEG_ACK_ONLY:
		if (c->state != HG_TCP_SYN_RCVD && c->state != HG_TCP_TIME_WAIT &&
		    process_ack(c, r) && c->state != HG_TCP_CLOSED)
			fin_progress(c);
		return;
	default:
		break;
	}
	if (f & HG_TCP_RST) {
		/* RFC 5961 3.2: only an exact match resets. */
		if (r->h.seq != c->rcv_nxt) {
			HG_TCP_COUNT(s, tcp_challenge_acks);
			c->flags |= HG_TCPF_ACK_NOW;
			return;
		}
		HG_TCP_COUNT(s, tcp_resets_in);
		hg_tcp_close(c, HG_TCP_CLOSE_RESET);
		return;
	}
	if (f & HG_TCP_SYN) {
		/* RFC 5961 4.2: any SYN here gets a challenge ACK. A
		 * retransmitted SYN in SYN_RCVD gets our SYN-ACK again. */
		if (c->state == HG_TCP_SYN_RCVD && r->h.seq == c->irs) {
			hg_tcp_send_syn(c);
			return;
		}
		HG_TCP_COUNT(s, tcp_challenge_acks);
		c->flags |= HG_TCPF_ACK_NOW;
		return;
	}
	if (!(f & HG_TCP_ACK))
		return;
	if ((c->flags & HG_TCPF_TS) && r->h.opts.has_ts &&
	    hg_seq_leq(r->h.seq, c->last_ack_sent) &&
	    hg_seq_geq(r->h.opts.tsval, c->ts_recent)) {
		c->ts_recent = r->h.opts.tsval; /* RFC 7323 4.3 */
		c->ts_recent_us = s->now_us;
	}
	if (c->state == HG_TCP_SYN_RCVD) {
		if (hg_seq_leq(r->h.ack, c->snd_una) ||
		    hg_seq_gt(r->h.ack, c->snd_max)) {
			hg_tcp_send_rst_for(s, c->port, &c->tuple, r->h.ack, 0,
					    false);
			return;
		}
		c->snd_wnd = (uint32_t)r->h.window << c->snd_wscale;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = r->h.seq;
		c->snd_wl2 = r->h.ack;
		hg_tcp_set_state(c, HG_TCP_ESTABLISHED);
		HG_TCP_COUNT(s, tcp_accepted);
		hg_tcp_arm_idle(c);
		if (c->ops && c->ops->on_established)
			c->ops->on_established(c);
		if (c->state == HG_TCP_CLOSED)
			return;
	}
	if (c->state == HG_TCP_TIME_WAIT) {
		/* A retransmitted FIN: acknowledge, restart 2MSL. */
		if (f & HG_TCP_FIN) {
			hg_tcp_send_ack(c);
			hg_timer_arm(&s->wheel, &c->rtx_timer,
				     (s->now_us + s->cfg.timewait_us) / 1000);
		}
		return;
	}
	if (!process_ack(c, r) || c->state == HG_TCP_CLOSED)
		return;
	if (!fin_progress(c))
		return;
	process_data(c, r);
}

/* A SYN for a tuple in TIME-WAIT may open a new connection when it is
 * clearly newer (RFC 6191 with timestamps, RFC 1122 without). */
static bool timewait_reuse(struct hg_tcp_conn *c, const struct rx *r)
{
	if ((r->h.flags & (HG_TCP_SYN | HG_TCP_ACK | HG_TCP_RST)) !=
	    HG_TCP_SYN)
		return false;
	if ((c->flags & HG_TCPF_TS) && r->h.opts.has_ts)
		return hg_seq_gt(r->h.opts.tsval, c->ts_recent);
	return hg_seq_gt(r->h.seq, c->rcv_nxt);
}

void hg_tcp_input(struct hg_tcp_stack *s, uint8_t port, struct rte_mbuf *m,
		  size_t ip_off, uint32_t src, uint32_t dst,
		  size_t payload_len, size_t ip_hlen)
{
	const uint8_t *tcp = rte_pktmbuf_mtod(m, const uint8_t *) + ip_off +
			     ip_hlen;
	struct hg_tuple t;
	struct hg_tcp_conn *c;
	struct rx r = {.m = m};
	enum hg_drop why;

	hg_tcp_reap(s);
	why = hg_parse_tcp(tcp, payload_len, &r.h);
	if (why == HG_DROP_NONE && !hg_tcp_csum_ok(src, dst, tcp, payload_len))
		why = HG_DROP_tcp_bad_checksum;
	if (why == HG_DROP_NONE &&
	    ((r.h.flags & (HG_TCP_SYN | HG_TCP_RST)) ==
		     (HG_TCP_SYN | HG_TCP_RST) ||
	     (r.h.flags & (HG_TCP_SYN | HG_TCP_FIN)) ==
		     (HG_TCP_SYN | HG_TCP_FIN) ||
	     r.h.sport == 0 || r.h.dport == 0))
		why = HG_DROP_tcp_bad_flags;
	if (why != HG_DROP_NONE) {
		s->drops[why]++;
		rte_pktmbuf_free(m);
		return;
	}
	HG_TCP_COUNT(s, tcp_segs_in);
	r.data_off = (uint32_t)(ip_off + ip_hlen + r.h.hlen);
	r.len = (uint32_t)(payload_len - r.h.hlen);
	t = (struct hg_tuple){.laddr = dst, .raddr = src,
			      .lport = r.h.dport, .rport = r.h.sport};

	c = hg_tcp_lookup(s, &t);
	if (c != NULL && c->state == HG_TCP_TIME_WAIT && timewait_reuse(c, &r)) {
		HG_TCP_COUNT(s, tcp_timewait_recycled);
		hg_tcp_close(c, HG_TCP_CLOSE_NORMAL);
		c = NULL;
	}
	if (c == NULL) {
		struct hg_tcp_listener *l = find_listener(s, dst, r.h.dport);
		uint8_t f = r.h.flags & (HG_TCP_SYN | HG_TCP_ACK | HG_TCP_RST);

		if (l != NULL && f == HG_TCP_SYN) {
			passive_open(s, l, port, &t, &r);
		} else if (l != NULL && f == HG_TCP_ACK &&
			   l->syncookies != HG_SYNCOOKIES_NEVER &&
			   (c = cookie_open(s, l, port, &t, &r)) != NULL) {
			s->in_conn = c;
			if (c->state != HG_TCP_CLOSED)
				process_data(c, &r);
			goto out;
		} else {
			HG_TCP_DROP(s, tcp_no_listener);
			reset_unknown(s, port, &t, &r);
		}
		rx_free(&r);
		return;
	}
	s->in_conn = c;
	c->last_rx_us = s->now_us;
	c->probes = 0;
	if (c->state == HG_TCP_SYN_SENT)
		syn_sent(c, &r);
	else
		established(c, &r);
out:
	s->in_conn = NULL;
	rx_free(&r);
	if (c->state != HG_TCP_CLOSED && c->state != HG_TCP_TIME_WAIT)
		hg_tcp_output(c);
}
