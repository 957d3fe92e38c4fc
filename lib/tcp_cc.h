/* TCP congestion control: NewReno (RFC 5681, 6582) and CUBIC (RFC 9438).
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

enum hg_cc_algo { HG_CC_NEWRENO = 0, HG_CC_CUBIC = 1 };

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
};

/* Initial state: cwnd = RFC 6928's min(10*mss, max(2*mss, 14600)),
 * ssthresh "arbitrarily high" (UINT32_MAX). */
void hg_cc_init(struct hg_cc *cc, enum hg_cc_algo algo, uint32_t mss);

/* `acked` bytes newly acknowledged (cumulatively, outside recovery),
 * `rtt_us` a fresh RTT sample or 0, at `now_us`. Slow start below
 * ssthresh (cwnd += min(acked, mss), RFC 5681 with RFC 3465 L=1 SMSS),
 * congestion avoidance above (NewReno: +mss per cwnd of bytes acked;
 * CUBIC: W_cubic(t) with the Reno-friendly region, section 4.3-4.5,
 * increasing by at most (target - cwnd)/cwnd per ACK as in 4.4.1). */
void hg_cc_on_ack(struct hg_cc *cc, uint32_t acked, uint32_t rtt_us,
		  uint64_t now_us);

/* Loss detected by duplicate ACKs or SACK: enter recovery.
 * NewReno: ssthresh = max(flight/2, 2*mss), cwnd = ssthresh.
 * CUBIC: beta 0.7, fast convergence, W_max, K (section 4.6, 4.7).
 * No-op if already in recovery. */
void hg_cc_on_loss(struct hg_cc *cc, uint32_t flight_size, uint64_t now_us);

/* Recovery finished (the recovery point was acknowledged). */
void hg_cc_on_recovery_end(struct hg_cc *cc);

/* Retransmission timeout: ssthresh as for a loss (first timeout of an
 * episode), cwnd = 1 mss (RFC 5681 loss window), CUBIC epoch reset. */
void hg_cc_on_rto(struct hg_cc *cc, uint32_t flight_size, uint64_t now_us);

/* After an idle period longer than the RTO (RFC 5681 section 4.1,
 * restart window = min(initial window, cwnd)). */
void hg_cc_on_idle_restart(struct hg_cc *cc);

#endif
