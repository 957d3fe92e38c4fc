/* TCP timers on the worker's timing wheel (1 ms ticks): retransmission
 * (also SYN retries, zero-window persist and TIME-WAIT), delayed ACK, and
 * the idle timer (handshake limit, FIN-WAIT-2 limit, listener idle
 * timeout, keepalive). RTT estimation (RFC 6298) lives here too. */
#include <stddef.h>

#include "tcp.h"

static uint64_t ms(uint64_t us)
{
	return (us + 999) / 1000;
}

void hg_tcp_rtt_sample(struct hg_tcp_conn *c, uint32_t r)
{
	struct hg_tcp_stack *s = c->stack;
	uint32_t rto;

	if (r == 0)
		r = 1;
	if (c->srtt_us == 0) {
		c->srtt_us = r; /* RFC 6298 2.2 */
		c->rttvar_us = r / 2;
	} else { /* 2.3, alpha 1/8, beta 1/4 */
		uint32_t delta = c->srtt_us > r ? c->srtt_us - r
						: r - c->srtt_us;

		c->rttvar_us = (3 * c->rttvar_us + delta) / 4;
		c->srtt_us = (7 * c->srtt_us + r) / 8;
	}
	rto = c->srtt_us + (4 * c->rttvar_us > 1000 ? 4 * c->rttvar_us : 1000);
	if (rto < s->cfg.rto_min_us)
		rto = s->cfg.rto_min_us;
	if (rto > s->cfg.rto_max_us)
		rto = s->cfg.rto_max_us;
	c->rto_us = rto;
}

static uint32_t backed_off_rto(const struct hg_tcp_conn *c)
{
	uint64_t rto = (uint64_t)c->rto_us << (c->backoff > 16 ? 16
							       : c->backoff);

	return rto > c->stack->cfg.rto_max_us ? c->stack->cfg.rto_max_us
					      : (uint32_t)rto;
}

/* Starts the retransmission timer if it should run and does not
 * (RFC 6298 5.1); stops it when nothing is outstanding (5.2). While no
 * loss is known, the first expiry is a tail loss probe (RFC 8985 section
 * 7, simplified): after max(2 * SRTT, 10 ms), or at the RTO if that comes
 * first (7.2: PTO = min(PTO, RTO)), the last segment is sent again and
 * the RTO is armed afresh, so a loss at the end of a flight (no later
 * segments, so no duplicate ACKs) is found by SACK, not by a timeout that
 * collapses the window and resends everything. */
void hg_tcp_arm_rtx(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;
	bool outstanding = c->snd_una != c->snd_max;
	bool persist = !outstanding && c->snd_wnd == 0 &&
		       (c->sndq_bytes > 0 || (c->flags & HG_TCPF_FIN_QUEUED));
	uint64_t when;

	if (c->state == HG_TCP_TIME_WAIT)
		return;
	if (!outstanding && !persist) {
		hg_timer_cancel(&s->wheel, &c->rtx_timer);
		c->flags &= (uint16_t)~HG_TCPF_TLP_ARMED;
		return;
	}
	if (hg_timer_armed(&c->rtx_timer))
		return;
	when = s->now_us + backed_off_rto(c);
	if (outstanding && !c->in_recovery && c->backoff == 0 &&
	    c->srtt_us != 0 && c->state >= HG_TCP_ESTABLISHED &&
	    !(c->flags & HG_TCPF_TLP_SENT)) {
		uint64_t pto = 2ULL * c->srtt_us;

		if (pto < 10000)
			pto = 10000;
		if (s->now_us + pto < when)
			when = s->now_us + pto;
		c->flags |= HG_TCPF_TLP_ARMED;
	}
	hg_timer_arm(&s->wheel, &c->rtx_timer, ms(when));
}

/* New data acknowledged: restart (RFC 6298 5.3), a new flight may probe. */
void hg_tcp_restart_rtx(struct hg_tcp_conn *c)
{
	hg_timer_cancel(&c->stack->wheel, &c->rtx_timer);
	c->flags &= (uint16_t)~(HG_TCPF_TLP_ARMED | HG_TCPF_TLP_SENT);
	hg_tcp_arm_rtx(c);
}

/* The probe: the last segment sent, again. */
static void tail_probe(struct hg_tcp_conn *c)
{
	uint32_t fin_seq = c->snd_una + c->sndq_bytes;
	uint32_t end = hg_seq_gt(c->snd_max, fin_seq) ? fin_seq : c->snd_max;
	uint32_t room = hg_tcp_seg_room(c);
	uint32_t len = end - c->snd_una < room ? end - c->snd_una : room;

	c->flags = (uint16_t)((c->flags & ~HG_TCPF_TLP_ARMED) |
			      HG_TCPF_TLP_SENT);
	HG_TCP_COUNT(c->stack, tcp_tail_probes);
	if (len > 0)
		hg_tcp_retransmit(c, end - len, len);
	else
		hg_tcp_retransmit(c, fin_seq, 0); /* only the FIN is out */
	hg_tcp_arm_rtx(c);
}

/* The idle timer fires at the earliest of the deadlines that apply now;
 * when it fires it checks them against the current time and re-arms, so
 * traffic never has to touch it. */
void hg_tcp_arm_idle(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;
	uint64_t when = UINT64_MAX;

	switch (c->state) {
	case HG_TCP_SYN_SENT:
	case HG_TCP_SYN_RCVD:
		when = c->created_us + (c->handshake_timeout_us
						? c->handshake_timeout_us
						: s->cfg.handshake_timeout_us);
		break;
	case HG_TCP_FIN_WAIT_2:
		when = c->last_rx_us + s->cfg.timewait_us;
		break;
	case HG_TCP_TIME_WAIT:
	case HG_TCP_CLOSED:
		return;
	default:
		if (c->listener && c->listener->idle_timeout_ms)
			when = c->last_rx_us +
			       (uint64_t)c->listener->idle_timeout_ms * 1000;
		if (s->cfg.keepalive_idle_us) {
			uint64_t k = c->last_rx_us + s->cfg.keepalive_idle_us +
				     (uint64_t)c->probes *
					     s->cfg.keepalive_intvl_us;
			if (k < when)
				when = k;
		}
	}
	if (when == UINT64_MAX)
		hg_timer_cancel(&s->wheel, &c->idle_timer);
	else
		hg_timer_arm(&s->wheel, &c->idle_timer, ms(when));
}

static void rtx_fired(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;
	unsigned limit;

	switch (c->state) {
	case HG_TCP_TIME_WAIT:
		hg_tcp_close(c, HG_TCP_CLOSE_NORMAL);
		return;
	case HG_TCP_SYN_SENT:
	case HG_TCP_SYN_RCVD:
		limit = c->state == HG_TCP_SYN_SENT ? s->cfg.syn_retries
						    : s->cfg.synack_retries;
		if (c->backoff >= limit) {
			HG_TCP_COUNT(s, tcp_timeouts);
			hg_tcp_close(c, HG_TCP_CLOSE_TIMEOUT);
			return;
		}
		c->backoff++;
		HG_TCP_COUNT(s, tcp_retransmits);
		hg_tcp_send_syn(c);
		hg_tcp_arm_rtx(c);
		return;
	default:
		break;
	}
	if ((c->flags & HG_TCPF_TLP_ARMED) && c->snd_una != c->snd_max) {
		tail_probe(c);
		return;
	}
	c->flags &= (uint16_t)~HG_TCPF_TLP_ARMED;
	if (c->snd_una == c->snd_max) {
		/* Persist: the peer's window is zero. Probe with an old
		 * byte's sequence so the answer is an ACK carrying the
		 * window, whatever the peer's state (as Linux does). */
		if (c->snd_wnd != 0)
			return;
		HG_TCP_COUNT(s, tcp_zero_window_probes);
		hg_tcp_send_segment(c, c->snd_una - 1, 0, HG_TCP_ACK);
		if (c->backoff < 16)
			c->backoff++;
		hg_tcp_arm_rtx(c);
		return;
	}
	if (c->backoff >= s->cfg.max_retries) {
		HG_TCP_COUNT(s, tcp_timeouts);
		hg_tcp_abort(c);
		return;
	}
	/* RFC 6298 5.4-5.6 and RFC 5681 3.1: back off, shrink the window,
	 * resend from snd_una (go-back-N; the SACK scoreboard is forgotten,
	 * as RFC 6675 section 5.1 allows). */
	HG_TCP_COUNT(s, tcp_rto);
	c->backoff++;
	hg_cc_on_rto(&c->cc, c->snd_max - c->snd_una, s->now_us);
	if (c->cc.algo == HG_CC_BBR) {
		/* BBR gets its window back once everything sent before the
		 * timeout is acknowledged; the stamps are void (all resent). */
		c->flags |= HG_TCPF_RTO_RECOVERY;
		c->recover = c->snd_max;
		for (unsigned i = 0; i < HG_TCP_TXMARKS; i++)
			c->txm[i].end = c->txm[i].start;
	}
	c->in_recovery = false;
	c->dupacks = 0;
	hg_seqset_init(&c->sacked);
	c->snd_nxt = c->snd_una;
	c->rtx_next = c->snd_una;
	if (c->snd_una == (uint32_t)(c->snd_una + c->sndq_bytes) &&
	    (c->flags & HG_TCPF_FIN_SENT)) {
		hg_tcp_retransmit(c, c->snd_una, 0); /* only the FIN */
		c->snd_nxt++;
	} else {
		uint32_t room = hg_tcp_seg_room(c);
		uint32_t len = c->sndq_bytes < room ? c->sndq_bytes : room;

		hg_tcp_retransmit(c, c->snd_una, len);
		c->snd_nxt += len;
	}
	hg_tcp_arm_rtx(c);
}

static void idle_fired(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;
	uint64_t now = s->now_us, idle = now - c->last_rx_us;

	switch (c->state) {
	case HG_TCP_SYN_SENT:
	case HG_TCP_SYN_RCVD:
		if (now - c->created_us >= (c->handshake_timeout_us
						    ? c->handshake_timeout_us
						    : s->cfg.handshake_timeout_us)) {
			HG_TCP_COUNT(s, tcp_timeouts);
			hg_tcp_close(c, HG_TCP_CLOSE_TIMEOUT);
			return;
		}
		break;
	case HG_TCP_FIN_WAIT_2:
		if (idle >= s->cfg.timewait_us) {
			hg_tcp_close(c, HG_TCP_CLOSE_TIMEOUT);
			return;
		}
		break;
	default:
		if (c->listener && c->listener->idle_timeout_ms &&
		    idle >= (uint64_t)c->listener->idle_timeout_ms * 1000) {
			HG_TCP_COUNT(s, tcp_idle_timeouts);
			hg_tcp_send_rst_for(s, c->port, &c->tuple, c->snd_nxt,
					    0, false);
			hg_tcp_close(c, HG_TCP_CLOSE_IDLE);
			return;
		}
		if (s->cfg.keepalive_idle_us &&
		    idle >= s->cfg.keepalive_idle_us +
				    (uint64_t)c->probes *
					    s->cfg.keepalive_intvl_us) {
			if (c->probes >= s->cfg.keepalive_probes) {
				HG_TCP_COUNT(s, tcp_timeouts);
				hg_tcp_abort(c);
				return;
			}
			c->probes++;
			HG_TCP_COUNT(s, tcp_keepalive_probes);
			hg_tcp_send_segment(c, c->snd_una - 1, 0, HG_TCP_ACK);
		}
	}
	hg_tcp_arm_idle(c);
}

void hg_tcp_timer_fire(struct hg_timer *t, void *arg)
{
	struct hg_tcp_stack *s = arg;
	size_t off = (size_t)((uintptr_t)t - (uintptr_t)s->conns);
	struct hg_tcp_conn *c = &s->conns[off / sizeof(struct hg_tcp_conn)];
	size_t field = off % sizeof(struct hg_tcp_conn);

	if (field == offsetof(struct hg_tcp_conn, rtx_timer)) {
		rtx_fired(c);
	} else if (field == offsetof(struct hg_tcp_conn, pace_timer)) {
		if (c->state != HG_TCP_CLOSED && c->state != HG_TCP_TIME_WAIT)
			hg_tcp_output(c);
	} else if (field == offsetof(struct hg_tcp_conn, ack_timer)) {
		if (c->state != HG_TCP_CLOSED) {
			HG_TCP_COUNT(s, tcp_delayed_acks);
			hg_tcp_send_ack(c);
		}
	} else {
		idle_fired(c);
	}
}

void hg_tcp_timers(struct hg_tcp_stack *s)
{
	hg_tcp_reap(s);
	hg_wheel_advance(&s->wheel, s->now_us / 1000, hg_tcp_timer_fire, s);
}
