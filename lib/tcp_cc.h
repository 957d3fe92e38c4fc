/* TCP congestion control: NewReno (RFC 5681, 6582), CUBIC (RFC 9438) and
 * BBR (version 1, draft-cardwell-iccrg-bbr-congestion-control-00, as Linux
 * has it in tcp_bbr.c).
 *
 * Pure arithmetic on a per-connection state; the TCP code tells it what
 * happened (bytes newly acknowledged, a loss detected by duplicate ACKs or
 * SACK, a retransmission timeout, recovery finished) and reads cwnd and
 * ssthresh. Loss recovery itself (which segments to resend, RFC 6675) is
 * the TCP code's business; this module decides only how much may be in
 * flight. Units: bytes, microseconds.
 */
#ifndef HG_TCP_CC_H
#define HG_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

enum hg_cc_algo { HG_CC_NEWRENO = 0, HG_CC_CUBIC = 1, HG_CC_BBR = 2 };

/* What one ACK told the sender, for BBR: a delivery rate sample
 * (draft-cheng-iccrg-delivery-rate-estimation), taken by the TCP code from
 * the most recently sent segment this ACK delivered (cumulatively or by
 * SACK). interval_us 0: this ACK gave no rate sample. */
struct hg_cc_rs {
	uint64_t delivered;       /* bytes delivered on the connection, total */
	uint64_t prior_delivered; /* `delivered` when the sampled segment left */
	uint64_t interval_us;     /* max(send elapsed, ack elapsed) */
	uint32_t acked;    /* bytes newly delivered by this ACK (cum + SACK) */
	uint32_t inflight; /* bytes in flight after it (RFC 6675 pipe) */
	uint32_t rtt_us;   /* an RTT sample, 0 for none */
	bool app_limited;  /* the sampled segment left while app limited */
	bool loss;         /* this ACK started a loss recovery */
};

/* BBR's state (section numbers: draft-cardwell-iccrg-bbr-congestion-
 * control-00). Rates are bytes per second. */
enum hg_bbr_mode {
	HG_BBR_STARTUP = 0,
	HG_BBR_DRAIN,
	HG_BBR_PROBE_BW,
	HG_BBR_PROBE_RTT,
};

struct hg_bbr_bw_sample {
	uint64_t round, bw;
};

struct hg_bbr {
	uint8_t mode;
	uint8_t cycle_idx;   /* ProbeBW gain cycle phase, 0..7 */
	uint8_t full_bw_cnt; /* rounds without 25% growth */
	bool full_bw_reached;
	bool round_start;
	bool packet_conservation;
	bool prev_recovery; /* in_recovery at the previous sample */
	bool in_loss;       /* after a timeout, until recovery ends */
	bool probe_rtt_round_done;
	bool has_rtt;
	uint64_t round_count;
	uint64_t next_rtt_delivered;
	uint64_t full_bw;
	struct hg_bbr_bw_sample bw_filter[3]; /* windowed max, 10 rounds */
	uint32_t min_rtt_us;    /* 0: none yet */
	uint64_t min_rtt_stamp_us;
	uint64_t probe_rtt_done_us;
	uint64_t cycle_stamp_us;
	uint32_t prior_cwnd;
	double pacing_gain, cwnd_gain;
	uint64_t pacing_rate; /* bytes per second */
};

struct hg_cc {
	enum hg_cc_algo algo;
	uint32_t mss;      /* sender MSS (SMSS) */
	uint32_t cwnd;     /* bytes */
	uint32_t ssthresh; /* bytes */
	bool in_recovery;
	uint32_t bytes_acked; /* congestion avoidance accumulator (RFC 3465) */
	/* CUBIC (RFC 9438 section 4) */
	uint64_t epoch_start_us; /* 0: no epoch yet */
	double w_max;            /* segments */
	double w_last_max;       /* for fast convergence */
	double k_s;              /* seconds */
	double cwnd_prior;       /* segments, at the last reduction */
	double w_est;            /* Reno-friendly estimate, segments */
	uint32_t min_rtt_us;
	struct hg_bbr bbr;
};

/* Initial state: cwnd = RFC 6928's min(10*mss, max(2*mss, 14600)),
 * ssthresh "arbitrarily high" (UINT32_MAX). */
void hg_cc_init(struct hg_cc *cc, enum hg_cc_algo algo, uint32_t mss);

/* `acked` bytes newly acknowledged (cumulatively, outside recovery),
 * `rtt_us` a fresh RTT sample or 0, at `now_us`. Slow start below
 * ssthresh (cwnd += min(acked, mss), RFC 5681 with RFC 3465 L=1 SMSS),
 * congestion avoidance above (NewReno: +mss per cwnd of bytes acked;
 * CUBIC: W_cubic(t) with the Reno-friendly region, section 4.3-4.5,
 * increasing by at most (target - cwnd)/cwnd per ACK as in 4.4.1).
 * BBR: nothing (hg_cc_on_rate_sample does its work). */
void hg_cc_on_ack(struct hg_cc *cc, uint32_t acked, uint32_t rtt_us,
		  uint64_t now_us);

/* Loss detected by duplicate ACKs or SACK: enter recovery.
 * NewReno: ssthresh = max(flight/2, 2*mss), cwnd = ssthresh.
 * CUBIC: beta 0.7, fast convergence, W_max, K (section 4.6, 4.7).
 * BBR: remembers cwnd; the next rate sample starts a round of packet
 * conservation (cwnd = inflight + acked), the model is untouched: a loss
 * is not taken as a congestion signal.
 * No-op if already in recovery. */
void hg_cc_on_loss(struct hg_cc *cc, uint32_t flight_size, uint64_t now_us);

/* Recovery finished (the recovery point was acknowledged; also the
 * snd_max of a timeout). BBR: cwnd back to at least what it was before
 * the loss or timeout. */
void hg_cc_on_recovery_end(struct hg_cc *cc);

/* Retransmission timeout: ssthresh as for a loss (first timeout of an
 * episode), cwnd = 1 mss (RFC 5681 loss window), CUBIC epoch reset.
 * BBR: remembers cwnd, cwnd = 1 mss, grows by what is delivered, and
 * gets the old cwnd back at hg_cc_on_recovery_end. */
void hg_cc_on_rto(struct hg_cc *cc, uint32_t flight_size, uint64_t now_us);

/* After an idle period longer than the RTO (RFC 5681 section 4.1,
 * restart window = min(initial window, cwnd)). */
void hg_cc_on_idle_restart(struct hg_cc *cc);

/* BBR's per-ACK work (section 4): the model (bottleneck bandwidth,
 * min RTT, rounds, state machine), then pacing rate and cwnd. Called for
 * every ACK that delivered data, after the loss-recovery calls above for
 * the same ACK. The other algorithms ignore it. */
void hg_cc_on_rate_sample(struct hg_cc *cc, const struct hg_cc_rs *rs,
			  uint64_t now_us);

/* The rate to pace at, bytes per second; 0: do not pace (NewReno and
 * CUBIC are ACK clocked). */
uint64_t hg_cc_pacing_rate(const struct hg_cc *cc);

/* BBR's bottleneck bandwidth estimate, bytes per second (0 otherwise). */
uint64_t hg_cc_bbr_bw(const struct hg_cc *cc);

#endif
