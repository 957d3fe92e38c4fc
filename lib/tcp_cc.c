/* TCP congestion control: NewReno (RFC 5681, 6582), CUBIC (RFC 9438) and
 * BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00; Linux's
 * tcp_bbr.c where the draft leaves a choice).
 *
 * Windows are kept in bytes (uint32); CUBIC's curve is evaluated in
 * segments with doubles and converted back, truncating to whole bytes.
 *
 * Choices the header leaves open:
 * - cwnd and ssthresh are capped at HG_CC_CWND_MAX (1 GiB) whenever they
 *   are computed; ssthresh starts at UINT32_MAX ("arbitrarily high").
 * - mss is clamped to 1..65535 at init (the MSS option is 16 bits).
 * - Slow start stops at ssthresh: cwnd = min(cwnd + min(acked, mss),
 *   ssthresh); the next ACK is congestion avoidance.
 * - One ACK yields at most one SMSS in NewReno congestion avoidance and
 *   counts for at most one cwnd of segments in CUBIC's per-ACK terms, so a
 *   huge stretch ACK cannot buy a burst of growth.
 * - CUBIC's ssthresh is flight_size * beta (RFC 9438 section 4.6 uses
 *   flight_size), for losses and timeouts alike.
 * - Fast convergence compares cwnd with w_last_max, the W_max set by the
 *   last reduction; w_max itself is the W_max of the running curve, which
 *   sections 4.8 and 4.10 may replace by cwnd_epoch (w_max == 0 marks
 *   "set it at the next epoch start").
 * - t + RTT uses the minimum RTT seen; before any sample the RTT term is
 *   0 (just t: the more conservative target).
 * - A timeout counts as a new loss episode unless in recovery or cwnd is
 *   still 1 SMSS from a previous timeout (RFC 5681 section 3.1: ssthresh
 *   is held when the timer expires again for the same segment).
 * - An idle restart also ends the CUBIC epoch (section 5.8: t must not
 *   include idle time); the next congestion avoidance ACK starts a new one.
 */
#include "tcp_cc.h"

#include <math.h>

#define HG_CC_CWND_MAX (1u << 30) /* 1 GiB */
#define HG_CC_MSS_MAX  65535u

/* RFC 9438 section 4.1.1 */
#define CUBIC_C	       0.4
#define CUBIC_BETA     0.7
#define CUBIC_BETA_NUM 7u
#define CUBIC_BETA_DEN 10u
/* RFC 9438 section 4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta) */
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

#define US_PER_S 1e6

static uint32_t cc_mss(const struct hg_cc *cc)
{
	if (cc->mss == 0)
		return 1;
	return cc->mss > HG_CC_MSS_MAX ? HG_CC_MSS_MAX : cc->mss;
}

static uint32_t clamp_window(uint64_t bytes, uint64_t floor)
{
	if (bytes < floor)
		bytes = floor;
	if (bytes > HG_CC_CWND_MAX)
		bytes = HG_CC_CWND_MAX;
	return (uint32_t)bytes;
}

static double to_seg(uint32_t bytes, uint32_t mss)
{
	return (double)bytes / mss;
}

/* Segments to bytes, truncated, within [0, cap]; NaN maps to 0. */
static uint64_t seg_to_bytes(double seg, uint32_t mss)
{
	double b = seg * mss;

	if (!(b > 0.0))
		return 0;
	if (b >= (double)HG_CC_CWND_MAX)
		return HG_CC_CWND_MAX;
	return (uint64_t)b;
}

/* RFC 6928 section 2: IW = min(10*MSS, max(2*MSS, 14600)). */
static uint32_t initial_window(uint32_t mss)
{
	uint64_t iw = 2ull * mss > 14600 ? 2ull * mss : 14600;

	if (iw > 10ull * mss)
		iw = 10ull * mss;
	return clamp_window(iw, mss);
}

/* ---- BBR v1 ----
 *
 * Section numbers are draft-cardwell-iccrg-bbr-congestion-control-00's;
 * constants and the choices the draft leaves open follow Linux's
 * tcp_bbr.c:
 * - bandwidth: the maximum of the delivery rate samples over the last 10
 *   rounds (Kathleen Nichols' windowed max with three entries, like
 *   Linux's win_minmax); an app-limited sample counts only if it raises
 *   the estimate (4.1.1.5);
 * - min RTT: the minimum over 10 s; when it is older, ProbeRTT holds cwnd
 *   at 4 segments for 200 ms and one round (4.3.5);
 * - Startup: gains 2/ln 2 until three rounds in a row grow the bandwidth
 *   by less than 25% (4.3.2); Drain until inflight <= BDP; ProbeBW cycles
 *   pacing gains 5/4, 3/4, then six times 1 (4.3.4), starting at a
 *   pseudo-random phase other than 3/4;
 * - cwnd: cwnd_gain * BDP + 3 segments (quantization budget), at least 4
 *   segments, growing by what each ACK delivers (4.2.3); loss recovery
 *   conserves packets for one round (cwnd = inflight + acked), then grows
 *   back, and its end restores the cwnd from before (4.2.3.4): random loss
 *   costs no window;
 * - pacing rate: pacing_gain * bandwidth less 1%, never lowered before the
 *   pipe is full; before any bandwidth sample, 2/ln 2 * cwnd / RTT (1 ms
 *   before any RTT sample).
 * Not done: long-term bandwidth sampling for policers, ACK aggregation
 * compensation, TSO autosizing. */

#define BBR_HIGH_GAIN	    2.885 /* 2 / ln(2), rounded up */
#define BBR_DRAIN_GAIN	    (1.0 / BBR_HIGH_GAIN)
#define BBR_CWND_GAIN	    2.0
#define BBR_BW_ROUNDS	    10
#define BBR_MIN_RTT_US	    (10ull * 1000000)
#define BBR_PROBE_RTT_US    200000ull
#define BBR_FULL_BW_THRESH  1.25
#define BBR_FULL_BW_ROUNDS  3
#define BBR_MIN_SEGS	    4u
#define BBR_PACING_MARGIN   0.99
#define BBR_CYCLE_LEN	    8

static void update_min_rtt(struct hg_cc *cc, uint32_t rtt_us);

static const double bbr_cycle_gain[BBR_CYCLE_LEN] = {
	1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0,
};

static uint64_t bbr_bw(const struct hg_cc *cc)
{
	return cc->bbr.bw_filter[0].bw;
}

/* Windowed running max (Nichols), three samples of decreasing age. */
static void bbr_bw_filter(struct hg_bbr *b, uint64_t round, uint64_t bw)
{
	struct hg_bbr_bw_sample v = {.round = round, .bw = bw};
	struct hg_bbr_bw_sample *m = b->bw_filter;
	uint64_t dt;

	if (bw >= m[0].bw || round - m[2].round > BBR_BW_ROUNDS ||
	    (m[0].bw == 0 && m[0].round == 0)) {
		m[0] = m[1] = m[2] = v;
		return;
	}
	if (bw >= m[1].bw)
		m[2] = m[1] = v;
	else if (bw >= m[2].bw)
		m[2] = v;
	dt = round - m[0].round;
	if (dt > BBR_BW_ROUNDS) {
		m[0] = m[1];
		m[1] = m[2];
		m[2] = v;
		if (round - m[0].round > BBR_BW_ROUNDS) {
			m[0] = m[1];
			m[1] = m[2];
			m[2] = v;
		}
	} else if (m[1].round == m[0].round && dt > BBR_BW_ROUNDS / 4) {
		m[2] = m[1] = v;
	} else if (m[2].round == m[1].round && dt > BBR_BW_ROUNDS / 2) {
		m[2] = v;
	}
}

/* BDP at `gain`, bytes; the initial window while no RTT is known. */
static uint64_t bbr_bdp(const struct hg_cc *cc, uint64_t bw, double gain)
{
	double bdp;

	if (cc->bbr.min_rtt_us == 0 || bw == 0)
		return initial_window(cc_mss(cc));
	bdp = (double)bw * cc->bbr.min_rtt_us / US_PER_S * gain;
	return bdp >= (double)HG_CC_CWND_MAX ? HG_CC_CWND_MAX : (uint64_t)bdp;
}

static void bbr_init(struct hg_cc *cc)
{
	struct hg_bbr *b = &cc->bbr;

	*b = (struct hg_bbr){0};
	b->mode = HG_BBR_STARTUP;
	b->pacing_gain = BBR_HIGH_GAIN;
	b->cwnd_gain = BBR_HIGH_GAIN;
	/* 1 ms until an RTT is known (as Linux). */
	b->pacing_rate = (uint64_t)(BBR_HIGH_GAIN * cc->cwnd * 1000.0);
}

static void bbr_save_cwnd(struct hg_cc *cc)
{
	struct hg_bbr *b = &cc->bbr;

	if (!cc->in_recovery && !b->in_loss && b->mode != HG_BBR_PROBE_RTT)
		b->prior_cwnd = cc->cwnd;
	else if (cc->cwnd > b->prior_cwnd)
		b->prior_cwnd = cc->cwnd;
}

static void bbr_recovery_end(struct hg_cc *cc)
{
	struct hg_bbr *b = &cc->bbr;

	if (!cc->in_recovery && !b->in_loss)
		return;
	cc->in_recovery = false;
	b->in_loss = false;
	b->prev_recovery = false;
	b->packet_conservation = false;
	if (cc->cwnd < b->prior_cwnd)
		cc->cwnd = b->prior_cwnd;
}

static void bbr_rto(struct hg_cc *cc)
{
	struct hg_bbr *b = &cc->bbr;

	bbr_save_cwnd(cc);
	cc->cwnd = cc_mss(cc);
	cc->in_recovery = false;
	b->in_loss = true;
	b->prev_recovery = false;
	b->packet_conservation = false;
	/* As Linux: a timeout ends a round, and Startup's plateau count
	 * starts over. */
	b->full_bw = 0;
	b->round_start = true;
}

static void bbr_enter_probe_bw(struct hg_cc *cc, uint64_t now_us)
{
	struct hg_bbr *b = &cc->bbr;

	b->mode = HG_BBR_PROBE_BW;
	/* A pseudo-random phase, never the 3/4 one (it follows 5/4). */
	b->cycle_idx = (uint8_t)(2 + (now_us / 1000 + b->round_count) % 7) %
		       BBR_CYCLE_LEN;
	b->cycle_stamp_us = now_us;
}

static void bbr_update_bw(struct hg_cc *cc, const struct hg_cc_rs *rs)
{
	struct hg_bbr *b = &cc->bbr;
	uint64_t bw;

	b->round_start = false;
	if (rs->interval_us == 0 || rs->delivered <= rs->prior_delivered)
		return;
	/* 4.1.1.3: a round ends when a segment sent after it began is
	 * delivered. */
	if (rs->prior_delivered >= b->next_rtt_delivered) {
		b->next_rtt_delivered = rs->delivered;
		b->round_count++;
		b->round_start = true;
		b->packet_conservation = false;
	}
	bw = (rs->delivered - rs->prior_delivered) * 1000000ull /
	     rs->interval_us;
	if (!rs->app_limited || bw >= bbr_bw(cc))
		bbr_bw_filter(b, b->round_count, bw);
}

static bool bbr_next_cycle_phase(const struct hg_cc *cc,
				 const struct hg_cc_rs *rs, uint64_t now_us)
{
	const struct hg_bbr *b = &cc->bbr;
	bool full_length = now_us - b->cycle_stamp_us > b->min_rtt_us;

	if (b->pacing_gain == 1.0)
		return full_length;
	if (b->pacing_gain > 1.0)
		return full_length &&
		       (rs->loss ||
			rs->inflight >= bbr_bdp(cc, bbr_bw(cc), b->pacing_gain));
	return full_length || rs->inflight <= bbr_bdp(cc, bbr_bw(cc), 1.0);
}

static void bbr_check_full_bw(struct hg_cc *cc, const struct hg_cc_rs *rs)
{
	struct hg_bbr *b = &cc->bbr;

	if (b->full_bw_reached || !b->round_start || rs->app_limited)
		return;
	if ((double)bbr_bw(cc) >= (double)b->full_bw * BBR_FULL_BW_THRESH) {
		b->full_bw = bbr_bw(cc);
		b->full_bw_cnt = 0;
		return;
	}
	if (++b->full_bw_cnt >= BBR_FULL_BW_ROUNDS)
		b->full_bw_reached = true;
}

static void bbr_update_min_rtt(struct hg_cc *cc, const struct hg_cc_rs *rs,
			       uint64_t now_us)
{
	struct hg_bbr *b = &cc->bbr;
	bool expired = b->min_rtt_us != 0 &&
		       now_us > b->min_rtt_stamp_us + BBR_MIN_RTT_US;

	if (rs->rtt_us != 0 &&
	    (b->min_rtt_us == 0 || rs->rtt_us < b->min_rtt_us || expired)) {
		if (!b->has_rtt && bbr_bw(cc) == 0) {
			/* The first RTT: pace the initial window over it. */
			double r = BBR_HIGH_GAIN * cc->cwnd * US_PER_S /
				   rs->rtt_us;

			b->pacing_rate = (uint64_t)r;
		}
		b->has_rtt = true;
		b->min_rtt_us = rs->rtt_us;
		b->min_rtt_stamp_us = now_us;
	}
	if (expired && b->mode != HG_BBR_PROBE_RTT) {
		b->mode = HG_BBR_PROBE_RTT;
		bbr_save_cwnd(cc);
		b->probe_rtt_done_us = 0;
	}
	if (b->mode != HG_BBR_PROBE_RTT)
		return;
	if (b->probe_rtt_done_us == 0 &&
	    rs->inflight <= BBR_MIN_SEGS * cc_mss(cc)) {
		b->probe_rtt_done_us = now_us + BBR_PROBE_RTT_US;
		b->probe_rtt_round_done = false;
		b->next_rtt_delivered = rs->delivered;
	} else if (b->probe_rtt_done_us != 0) {
		if (b->round_start)
			b->probe_rtt_round_done = true;
		if (b->probe_rtt_round_done && now_us > b->probe_rtt_done_us) {
			b->min_rtt_stamp_us = now_us;
			if (cc->cwnd < b->prior_cwnd)
				cc->cwnd = b->prior_cwnd;
			if (b->full_bw_reached) {
				bbr_enter_probe_bw(cc, now_us);
			} else {
				b->mode = HG_BBR_STARTUP;
			}
		}
	}
}

static void bbr_update_gains(struct hg_bbr *b)
{
	switch (b->mode) {
	case HG_BBR_STARTUP:
		b->pacing_gain = BBR_HIGH_GAIN;
		b->cwnd_gain = BBR_HIGH_GAIN;
		break;
	case HG_BBR_DRAIN:
		b->pacing_gain = BBR_DRAIN_GAIN;
		b->cwnd_gain = BBR_HIGH_GAIN;
		break;
	case HG_BBR_PROBE_BW:
		b->pacing_gain = bbr_cycle_gain[b->cycle_idx];
		b->cwnd_gain = BBR_CWND_GAIN;
		break;
	default:
		b->pacing_gain = 1.0;
		b->cwnd_gain = 1.0;
		break;
	}
}

static void bbr_set_pacing_rate(struct hg_cc *cc)
{
	struct hg_bbr *b = &cc->bbr;
	uint64_t bw = bbr_bw(cc);
	uint64_t rate;

	if (bw == 0)
		return;
	rate = (uint64_t)((double)bw * b->pacing_gain * BBR_PACING_MARGIN);
	if (rate == 0)
		rate = 1;
	if (b->full_bw_reached || rate > b->pacing_rate)
		b->pacing_rate = rate;
}

static void bbr_set_cwnd(struct hg_cc *cc, const struct hg_cc_rs *rs)
{
	struct hg_bbr *b = &cc->bbr;
	uint32_t mss = cc_mss(cc);
	uint64_t cwnd = cc->cwnd, target;

	if (rs->acked == 0)
		goto done;
	/* 4.2.3.4: a round of packet conservation when recovery starts. */
	if (cc->in_recovery && !b->prev_recovery) {
		b->packet_conservation = true;
		b->next_rtt_delivered = rs->delivered;
		cwnd = (uint64_t)rs->inflight + rs->acked;
	}
	b->prev_recovery = cc->in_recovery;
	if (b->packet_conservation) {
		if ((uint64_t)rs->inflight + rs->acked > cwnd)
			cwnd = (uint64_t)rs->inflight + rs->acked;
		goto done;
	}
	target = bbr_bdp(cc, bbr_bw(cc), b->cwnd_gain) + 3ull * mss;
	if (b->mode == HG_BBR_PROBE_BW && b->cycle_idx == 0)
		target += 2ull * mss;
	if (b->full_bw_reached) {
		cwnd += rs->acked;
		if (cwnd > target)
			cwnd = target;
	} else if (cwnd < target || rs->delivered < 10ull * mss) {
		cwnd += rs->acked;
	}
done:
	if (cwnd < (uint64_t)BBR_MIN_SEGS * mss)
		cwnd = (uint64_t)BBR_MIN_SEGS * mss;
	if (b->mode == HG_BBR_PROBE_RTT && cwnd > (uint64_t)BBR_MIN_SEGS * mss)
		cwnd = (uint64_t)BBR_MIN_SEGS * mss;
	cc->cwnd = clamp_window(cwnd, mss);
}

void hg_cc_on_rate_sample(struct hg_cc *cc, const struct hg_cc_rs *rs,
			  uint64_t now_us)
{
	struct hg_bbr *b = &cc->bbr;

	update_min_rtt(cc, rs->rtt_us);
	if (cc->algo != HG_CC_BBR)
		return;
	bbr_update_bw(cc, rs);
	if (b->mode == HG_BBR_PROBE_BW && bbr_next_cycle_phase(cc, rs, now_us)) {
		b->cycle_idx = (uint8_t)((b->cycle_idx + 1) % BBR_CYCLE_LEN);
		b->cycle_stamp_us = now_us;
	}
	bbr_check_full_bw(cc, rs);
	if (b->mode == HG_BBR_STARTUP && b->full_bw_reached) {
		b->mode = HG_BBR_DRAIN;
		cc->ssthresh = clamp_window(bbr_bdp(cc, bbr_bw(cc), 1.0),
					    2ull * cc_mss(cc));
	}
	if (b->mode == HG_BBR_DRAIN &&
	    rs->inflight <= bbr_bdp(cc, bbr_bw(cc), 1.0))
		bbr_enter_probe_bw(cc, now_us);
	bbr_update_min_rtt(cc, rs, now_us);
	bbr_update_gains(b);
	bbr_set_pacing_rate(cc);
	bbr_set_cwnd(cc, rs);
}

uint64_t hg_cc_pacing_rate(const struct hg_cc *cc)
{
	return cc->algo == HG_CC_BBR ? cc->bbr.pacing_rate : 0;
}

uint64_t hg_cc_bbr_bw(const struct hg_cc *cc)
{
	return cc->algo == HG_CC_BBR ? bbr_bw(cc) : 0;
}

void hg_cc_init(struct hg_cc *cc, enum hg_cc_algo algo, uint32_t mss)
{
	*cc = (struct hg_cc){0};
	cc->algo = algo == HG_CC_CUBIC ? HG_CC_CUBIC : HG_CC_NEWRENO;
	cc->mss = mss;
	cc->mss = cc_mss(cc);
	cc->cwnd = initial_window(cc->mss);
	/* RFC 5681 section 3.1: initial ssthresh arbitrarily high. */
	cc->ssthresh = UINT32_MAX;
	if (algo == HG_CC_BBR) {
		cc->algo = HG_CC_BBR;
		bbr_init(cc);
	}
}

static void update_min_rtt(struct hg_cc *cc, uint32_t rtt_us)
{
	if (rtt_us != 0 && (cc->min_rtt_us == 0 || rtt_us < cc->min_rtt_us))
		cc->min_rtt_us = rtt_us;
}

/* RFC 5681 section 3.1 eq. 2 with RFC 3465 section 2.2, L = 1 SMSS:
 * cwnd += min(N, SMSS), here stopped at ssthresh. */
static void slow_start(struct hg_cc *cc, uint32_t acked)
{
	uint32_t mss = cc_mss(cc);
	uint64_t next = (uint64_t)cc->cwnd + (acked < mss ? acked : mss);

	if (next > cc->ssthresh)
		next = cc->ssthresh;
	cc->cwnd = clamp_window(next, mss);
}

/* RFC 3465 section 2.1 (RFC 5681 section 3.1): count acknowledged bytes;
 * once they reach cwnd, subtract cwnd and grow by one SMSS. The leftover
 * is kept below cwnd so a stretch ACK gives at most one SMSS. */
static void reno_avoidance(struct hg_cc *cc, uint32_t acked)
{
	uint32_t mss = cc_mss(cc);
	uint64_t count = (uint64_t)cc->bytes_acked + acked;

	if (count >= cc->cwnd) {
		count -= cc->cwnd;
		cc->cwnd = clamp_window((uint64_t)cc->cwnd + mss, mss);
	}
	if (count >= cc->cwnd)
		count = cc->cwnd - 1;
	cc->bytes_acked = (uint32_t)count;
}

/* RFC 9438 section 4.2: K = cubic_root((W_max - cwnd_epoch) / C). */
static double cubic_k(double w_max, double cwnd_epoch)
{
	if (w_max <= cwnd_epoch)
		return 0.0;
	return cbrt((w_max - cwnd_epoch) / CUBIC_C);
}

/* RFC 9438 section 4.2, figure 1: W_cubic(t) = C * (t - K)^3 + W_max. */
static double cubic_w(const struct hg_cc *cc, double t_s)
{
	double d = t_s - cc->k_s;

	return CUBIC_C * d * d * d + cc->w_max;
}

/* Start of a congestion avoidance stage (RFC 9438 section 4.2). With no
 * W_max (first exit from slow start, section 4.10, or the first stage
 * after a timeout, section 4.8) or one below cwnd, W_max = cwnd_epoch and
 * K = 0. Section 4.10 also sets cwnd_prior = cwnd if never reduced.
 * Section 4.3: W_est starts at cwnd_epoch. */
static void cubic_epoch_start(struct hg_cc *cc, uint64_t now_us)
{
	double cw = to_seg(cc->cwnd, cc_mss(cc));

	cc->epoch_start_us = now_us != 0 ? now_us : 1;
	if (cc->cwnd_prior <= 0.0)
		cc->cwnd_prior = cw;
	if (cc->w_max <= cw)
		cc->w_max = cw;
	cc->k_s = cubic_k(cc->w_max, cw);
	cc->w_est = cw;
}

/* RFC 9438 section 4.3: W_est += alpha_cubic * segments_acked / cwnd,
 * alpha_cubic becoming 1 once W_est >= cwnd_prior. */
static void cubic_update_w_est(struct hg_cc *cc, double segs, double cw)
{
	double alpha = cc->w_est >= cc->cwnd_prior ? 1.0 : CUBIC_ALPHA;
	double cap = to_seg(HG_CC_CWND_MAX, cc_mss(cc));

	cc->w_est += alpha * segs / cw;
	if (cc->w_est > cap)
		cc->w_est = cap;
}

/* RFC 9438 sections 4.4 and 4.5: target = W_cubic(t + RTT) clamped to
 * [cwnd, 1.5 * cwnd]; cwnd grows by (target - cwnd) / cwnd per segment
 * acknowledged. */
static double cubic_target(const struct hg_cc *cc, double t_s, double cw)
{
	double target = cubic_w(cc, t_s + cc->min_rtt_us / US_PER_S);

	if (target < cw)
		return cw;
	if (target > 1.5 * cw)
		return 1.5 * cw;
	return target;
}

static void cubic_avoidance(struct hg_cc *cc, uint32_t acked, uint64_t now_us)
{
	uint32_t mss = cc_mss(cc);
	double cw = to_seg(cc->cwnd, mss);
	double segs = to_seg(acked, mss);
	double t_s = 0.0;
	double next;

	if (cc->epoch_start_us == 0)
		cubic_epoch_start(cc, now_us);
	if (now_us > cc->epoch_start_us)
		t_s = (double)(now_us - cc->epoch_start_us) / US_PER_S;
	if (segs > cw)
		segs = cw;
	cubic_update_w_est(cc, segs, cw);
	if (cubic_w(cc, t_s) < cc->w_est)
		next = cc->w_est; /* section 4.3: Reno-friendly region */
	else
		next = cw + (cubic_target(cc, t_s, cw) - cw) * segs / cw;
	if (next > cw)
		cc->cwnd = clamp_window(seg_to_bytes(next, mss), mss);
}

void hg_cc_on_ack(struct hg_cc *cc, uint32_t acked, uint32_t rtt_us,
		  uint64_t now_us)
{
	update_min_rtt(cc, rtt_us);
	if (cc->algo == HG_CC_BBR)
		return; /* hg_cc_on_rate_sample */
	/* RFC 6582 section 3.2: in recovery the TCP code handles partial
	 * ACKs; the window does not grow here. */
	if (acked == 0 || cc->in_recovery)
		return;
	/* RFC 5681 section 3.1: slow start while cwnd < ssthresh, for
	 * both algorithms (RFC 9438 section 4.10). */
	if (cc->cwnd < cc->ssthresh)
		slow_start(cc, acked);
	else if (cc->algo == HG_CC_CUBIC)
		cubic_avoidance(cc, acked, now_us);
	else
		reno_avoidance(cc, acked);
}

/* RFC 5681 section 3.1 eq. 4: ssthresh = max(FlightSize / 2, 2*SMSS). */
static uint32_t reno_ssthresh(const struct hg_cc *cc, uint32_t flight)
{
	return clamp_window(flight / 2, 2ull * cc_mss(cc));
}

/* RFC 9438 section 4.6: ssthresh = max(flight_size * beta, 2*SMSS). */
static uint32_t cubic_ssthresh(const struct hg_cc *cc, uint32_t flight)
{
	uint64_t s = (uint64_t)flight * CUBIC_BETA_NUM / CUBIC_BETA_DEN;

	return clamp_window(s, 2ull * cc_mss(cc));
}

/* RFC 9438 sections 4.6 and 4.7: remember cwnd_prior and W_max, the
 * latter lowered to cwnd * (1 + beta) / 2 (fast convergence) when this
 * reduction happens below the W_max of the previous one. */
static void cubic_note_reduction(struct hg_cc *cc)
{
	double cw = to_seg(cc->cwnd, cc_mss(cc));

	cc->cwnd_prior = cw;
	if (cw < cc->w_last_max)
		cc->w_max = cw * (1.0 + CUBIC_BETA) / 2.0;
	else
		cc->w_max = cw;
	cc->w_last_max = cc->w_max;
	cc->epoch_start_us = 0;
}

void hg_cc_on_loss(struct hg_cc *cc, uint32_t flight_size, uint64_t now_us)
{
	uint32_t mss = cc_mss(cc);

	(void)now_us; /* the CUBIC epoch starts at the first ACK after */
	if (cc->in_recovery)
		return;
	if (cc->algo == HG_CC_BBR) {
		bbr_save_cwnd(cc);
		cc->in_recovery = true;
		return;
	}
	cc->in_recovery = true;
	cc->bytes_acked = 0;
	if (cc->algo == HG_CC_CUBIC) {
		cubic_note_reduction(cc);
		cc->ssthresh = cubic_ssthresh(cc, flight_size);
	} else {
		cc->ssthresh = reno_ssthresh(cc, flight_size);
	}
	/* RFC 5681 section 3.2 step 4 (window arithmetic only; RFC 6582
	 * inflation is the TCP code's) and RFC 9438 section 4.6:
	 * cwnd = max(ssthresh, 2*SMSS). */
	cc->cwnd = clamp_window(cc->ssthresh, 2ull * mss);
	if (cc->algo == HG_CC_CUBIC) {
		cc->k_s = cubic_k(cc->w_max, to_seg(cc->cwnd, mss));
		cc->w_est = to_seg(cc->cwnd, mss);
	}
}

/* RFC 6582 section 3.2 step 3, option (2): deflate to ssthresh. For CUBIC
 * ssthresh is the reduced window of section 4.6, so this keeps it (and
 * drops any inflation by the TCP code); the epoch starts at the next ACK
 * in congestion avoidance. */
void hg_cc_on_recovery_end(struct hg_cc *cc)
{
	if (cc->algo == HG_CC_BBR) {
		bbr_recovery_end(cc);
		return;
	}
	if (!cc->in_recovery)
		return;
	cc->in_recovery = false;
	cc->bytes_acked = 0;
	cc->cwnd = clamp_window(cc->ssthresh, 2ull * cc_mss(cc));
	cc->epoch_start_us = 0;
}

/* RFC 5681 section 3.1: on a timeout ssthresh follows eq. 4 (RFC 9438
 * section 4.8: beta_cubic as in 4.6 for CUBIC), held if the timer expires
 * again in the same episode, and cwnd = LW = 1 SMSS. RFC 9438 section
 * 4.8: the next CUBIC stage uses K = 0 and W_max = cwnd_epoch. */
void hg_cc_on_rto(struct hg_cc *cc, uint32_t flight_size, uint64_t now_us)
{
	uint32_t mss = cc_mss(cc);
	bool episode = cc->in_recovery || cc->cwnd <= mss;

	(void)now_us;
	if (cc->algo == HG_CC_BBR) {
		bbr_rto(cc);
		return;
	}
	if (!episode && cc->algo == HG_CC_CUBIC) {
		cubic_note_reduction(cc);
		cc->ssthresh = cubic_ssthresh(cc, flight_size);
	} else if (!episode) {
		cc->ssthresh = reno_ssthresh(cc, flight_size);
	}
	cc->cwnd = clamp_window(mss, mss);
	cc->in_recovery = false;
	cc->bytes_acked = 0;
	cc->epoch_start_us = 0;
	if (cc->algo == HG_CC_CUBIC) {
		cc->w_max = 0.0;
		cc->k_s = 0.0;
		cc->w_est = 0.0;
	}
}

/* RFC 5681 section 4.1: cwnd = RW = min(IW, cwnd). RFC 9438 section 5.8:
 * CUBIC's t must not count the idle time, so the epoch restarts. */
void hg_cc_on_idle_restart(struct hg_cc *cc)
{
	uint32_t iw = initial_window(cc_mss(cc));

	if (cc->algo == HG_CC_BBR)
		return; /* BBR keeps its model and paces out of idle */
	if (cc->cwnd > iw)
		cc->cwnd = iw;
	cc->bytes_acked = 0;
	cc->epoch_start_us = 0;
}
