/* Congestion control: RFC 6928 initial window, RFC 5681/3465 slow start
 * and congestion avoidance, RFC 5681/6582 loss, recovery and timeout
 * arithmetic, RFC 9438 CUBIC (K, the concave, convex and Reno-friendly
 * regions, fast convergence, timeouts), idle restart, and randomized
 * invariants (cap and floors) for both algorithms. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "tcp_cc.h"

#define MSS	1460u
#define CAP	(1u << 30)
#define SEC	1000000ull
#define BETA	0.7
#define C_CUBIC 0.4
#define ALPHA	(3.0 * (1.0 - BETA) / (1.0 + BETA))

static struct hg_cc mk(enum hg_cc_algo algo, uint32_t mss)
{
	struct hg_cc cc;

	hg_cc_init(&cc, algo, mss);
	return cc;
}

/* Congestion avoidance at `segs` segments: cwnd = ssthresh. */
static struct hg_cc in_ca(enum hg_cc_algo algo, uint32_t segs)
{
	struct hg_cc cc = mk(algo, MSS);

	cc.cwnd = segs * MSS;
	cc.ssthresh = cc.cwnd;
	return cc;
}

static void ack_n(struct hg_cc *cc, unsigned n, uint32_t bytes, uint64_t now)
{
	for (unsigned i = 0; i < n; i++)
		hg_cc_on_ack(cc, bytes, 0, now);
}

static double segs(const struct hg_cc *cc)
{
	return (double)cc->cwnd / cc->mss;
}

/* One RTT: a window of one-segment ACKs spread evenly over the RTT. */
static uint64_t ack_round(struct hg_cc *cc, uint32_t rtt_us, uint64_t now)
{
	unsigned n = cc->cwnd / cc->mss;

	for (unsigned i = 0; i < n; i++)
		hg_cc_on_ack(cc, cc->mss, rtt_us,
			     now + (uint64_t)i * rtt_us / n);
	return now + rtt_us;
}

/* RFC 9438 figure 1, as a reference. */
static double w_cubic(double t, double k, double w_max)
{
	return C_CUBIC * (t - k) * (t - k) * (t - k) + w_max;
}

/* CUBIC after a loss at `segs_before` segments (flight = cwnd) and the
 * end of recovery: the next ACK in congestion avoidance starts an epoch. */
static struct hg_cc cubic_after_loss(uint32_t segs_before)
{
	struct hg_cc cc = in_ca(HG_CC_CUBIC, segs_before);

	hg_cc_on_loss(&cc, cc.cwnd, 1 * SEC);
	hg_cc_on_recovery_end(&cc);
	return cc;
}

/* ---- RFC 6928 initial window ---- */

Test(cc_init, iw_mss_536)
{
	struct hg_cc cc = mk(HG_CC_NEWRENO, 536);

	cr_expect_eq(cc.cwnd, 5360, "min(10*536, max(1072, 14600))");
	cr_expect_eq(cc.ssthresh, UINT32_MAX);
	cr_expect_eq(cc.mss, 536);
	cr_expect_not(cc.in_recovery);
}

Test(cc_init, iw_mss_1460)
{
	struct hg_cc cc = mk(HG_CC_CUBIC, 1460);

	cr_expect_eq(cc.cwnd, 14600);
	cr_expect_eq(cc.ssthresh, UINT32_MAX);
	cr_expect_eq(cc.algo, HG_CC_CUBIC);
	cr_expect_eq(cc.epoch_start_us, 0);
	cr_expect_eq(cc.min_rtt_us, 0);
	cr_expect_float_eq(cc.w_max, 0.0, 1e-12);
}

Test(cc_init, iw_mss_8960)
{
	struct hg_cc cc = mk(HG_CC_NEWRENO, 8960);

	cr_expect_eq(cc.cwnd, 17920, "jumbo MSS: 2*MSS wins over 14600");
}

Test(cc_init, degenerate_mss_is_clamped)
{
	struct hg_cc zero = mk(HG_CC_NEWRENO, 0);
	struct hg_cc huge = mk(HG_CC_CUBIC, 100000);

	cr_expect_eq(zero.mss, 1);
	cr_expect_eq(zero.cwnd, 10);
	cr_expect_eq(huge.mss, 65535);
	cr_expect_eq(huge.cwnd, 131070);
}

/* ---- RFC 5681 section 3.1 / RFC 3465 slow start ---- */

Test(cc_slow_start, doubles_per_rtt)
{
	struct hg_cc cc = mk(HG_CC_NEWRENO, MSS);

	for (uint32_t w = 10; w <= 160; w *= 2) {
		cr_assert_eq(cc.cwnd, w * MSS);
		ack_n(&cc, w, MSS, 0);
	}
	cr_expect_eq(cc.cwnd, 320 * MSS);
}

Test(cc_slow_start, cubic_doubles_too)
{
	struct hg_cc cc = mk(HG_CC_CUBIC, MSS);

	ack_n(&cc, 10, MSS, 5 * SEC);
	cr_expect_eq(cc.cwnd, 20 * MSS);
	ack_n(&cc, 20, MSS, 6 * SEC);
	cr_expect_eq(cc.cwnd, 40 * MSS);
	cr_expect_eq(cc.epoch_start_us, 0, "no epoch in slow start");
}

Test(cc_slow_start, abc_limit_one_smss_per_ack)
{
	struct hg_cc cc = mk(HG_CC_NEWRENO, MSS);

	hg_cc_on_ack(&cc, 10 * MSS, 0, 0);
	cr_expect_eq(cc.cwnd, 14600 + MSS, "L = 1 SMSS");
	hg_cc_on_ack(&cc, 100, 0, 0);
	cr_expect_eq(cc.cwnd, 14600 + MSS + 100, "a small ACK counts bytes");
	hg_cc_on_ack(&cc, 0, 0, 0);
	cr_expect_eq(cc.cwnd, 14600 + MSS + 100, "no bytes, no growth");
}

Test(cc_slow_start, stops_at_ssthresh_then_avoidance)
{
	struct hg_cc cc = mk(HG_CC_NEWRENO, MSS);

	cc.ssthresh = 12 * MSS;
	ack_n(&cc, 2, MSS, 0);
	cr_expect_eq(cc.cwnd, 12 * MSS);
	ack_n(&cc, 11, MSS, 0);
	cr_expect_eq(cc.cwnd, 12 * MSS, "congestion avoidance now");
	cr_expect_eq(cc.bytes_acked, 11 * MSS);
	hg_cc_on_ack(&cc, MSS, 0, 0);
	cr_expect_eq(cc.cwnd, 13 * MSS);
	cr_expect_eq(cc.bytes_acked, 0);
}

Test(cc_slow_start, clamped_to_unaligned_ssthresh)
{
	struct hg_cc cc = mk(HG_CC_NEWRENO, MSS);

	cc.ssthresh = 10 * MSS + 500;
	hg_cc_on_ack(&cc, MSS, 0, 0);
	cr_expect_eq(cc.cwnd, 10 * MSS + 500);
	hg_cc_on_ack(&cc, MSS, 0, 0);
	cr_expect_eq(cc.cwnd, 10 * MSS + 500);
	cr_expect_eq(cc.bytes_acked, MSS);
}

/* ---- NewReno congestion avoidance (RFC 5681 3.1, RFC 3465 2.1) ---- */

Test(cc_newreno, avoidance_one_mss_per_window)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	ack_n(&cc, 19, MSS, 0);
	cr_expect_eq(cc.cwnd, 20 * MSS);
	hg_cc_on_ack(&cc, MSS, 0, 0);
	cr_expect_eq(cc.cwnd, 21 * MSS);
	for (uint32_t w = 21; w < 30; w++)
		ack_n(&cc, w, MSS, 0);
	cr_expect_eq(cc.cwnd, 30 * MSS, "ten windows, ten segments");
}

Test(cc_newreno, avoidance_counts_small_acks)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	ack_n(&cc, 291, 100, 0);
	cr_expect_eq(cc.cwnd, 20 * MSS, "29100 < 29200 bytes");
	hg_cc_on_ack(&cc, 100, 0, 0);
	cr_expect_eq(cc.cwnd, 21 * MSS);
	cr_expect_eq(cc.bytes_acked, 0);
}

Test(cc_newreno, stretch_ack_gives_one_mss)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	hg_cc_on_ack(&cc, 5 * 20 * MSS, 0, 0);
	cr_expect_eq(cc.cwnd, 21 * MSS);
	cr_expect_lt(cc.bytes_acked, cc.cwnd, "no stored burst of credit");
	hg_cc_on_ack(&cc, UINT32_MAX, 0, 0);
	cr_expect_eq(cc.cwnd, 22 * MSS);
}

/* ---- Loss, recovery, timeout (RFC 5681 3.1-3.2, RFC 6582 3.2) ---- */

Test(cc_loss, newreno_halves_flight)
{
	struct hg_cc a = in_ca(HG_CC_NEWRENO, 20);
	struct hg_cc b = in_ca(HG_CC_NEWRENO, 20);

	hg_cc_on_loss(&a, 20 * MSS, 0);
	cr_expect_eq(a.ssthresh, 10 * MSS);
	cr_expect_eq(a.cwnd, 10 * MSS);
	cr_expect(a.in_recovery);
	hg_cc_on_loss(&b, 15 * MSS, 0);
	cr_expect_eq(b.ssthresh, 10950, "flight, not cwnd, is halved");
	cr_expect_eq(b.cwnd, 10950);
}

Test(cc_loss, floor_two_mss)
{
	struct hg_cc a = in_ca(HG_CC_NEWRENO, 4);
	struct hg_cc b = in_ca(HG_CC_NEWRENO, 4);
	struct hg_cc c = in_ca(HG_CC_CUBIC, 2);

	hg_cc_on_loss(&a, 3 * MSS, 0);
	cr_expect_eq(a.cwnd, 2 * MSS);
	cr_expect_eq(a.ssthresh, 2 * MSS);
	hg_cc_on_loss(&b, 0, 0);
	cr_expect_eq(b.cwnd, 2 * MSS);
	hg_cc_on_loss(&c, 2 * MSS, 0);
	cr_expect_eq(c.cwnd, 2 * MSS, "0.7 * 2 segments floors at 2");
	cr_expect_eq(c.ssthresh, 2 * MSS);
}

Test(cc_loss, second_loss_in_recovery_is_noop)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	hg_cc_on_loss(&cc, 20 * MSS, 0);
	hg_cc_on_loss(&cc, 10 * MSS, 0);
	cr_expect_eq(cc.ssthresh, 10 * MSS);
	cr_expect_eq(cc.cwnd, 10 * MSS);
}

Test(cc_loss, acks_in_recovery_do_not_grow)
{
	enum hg_cc_algo algos[] = {HG_CC_NEWRENO, HG_CC_CUBIC};

	for (unsigned i = 0; i < 2; i++) {
		struct hg_cc cc = in_ca(algos[i], 40);
		uint32_t cwnd, bytes_acked;

		hg_cc_on_loss(&cc, 40 * MSS, 1 * SEC);
		cwnd = cc.cwnd;
		bytes_acked = cc.bytes_acked;
		for (unsigned j = 0; j < 1000; j++)
			hg_cc_on_ack(&cc, MSS * (j % 7), 50000,
				     1 * SEC + j * 10000ull);
		cr_expect_eq(cc.cwnd, cwnd, "algo %u", i);
		cr_expect_eq(cc.bytes_acked, bytes_acked);
		cr_expect_eq(cc.min_rtt_us, 50000, "RTT samples still count");
	}
}

Test(cc_loss, newreno_recovery_end_deflates)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	hg_cc_on_loss(&cc, 20 * MSS, 0);
	cc.cwnd += 3 * MSS; /* RFC 6582 inflation by the TCP code */
	hg_cc_on_recovery_end(&cc);
	cr_expect_eq(cc.cwnd, 10 * MSS);
	cr_expect_not(cc.in_recovery);
	hg_cc_on_ack(&cc, MSS, 0, 0);
	cr_expect_eq(cc.cwnd, 10 * MSS, "congestion avoidance");
	cr_expect_eq(cc.bytes_acked, MSS);
}

Test(cc_loss, recovery_end_outside_recovery_is_noop)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	hg_cc_on_recovery_end(&cc);
	cr_expect_eq(cc.cwnd, 20 * MSS);
	cr_expect_eq(cc.ssthresh, 20 * MSS);
}

Test(cc_rto, one_mss_and_ssthresh)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	hg_cc_on_rto(&cc, 16 * MSS, 0);
	cr_expect_eq(cc.cwnd, MSS, "loss window");
	cr_expect_eq(cc.ssthresh, 8 * MSS);
	cr_expect_not(cc.in_recovery);
	ack_n(&cc, 7, MSS, 0);
	cr_expect_eq(cc.cwnd, 8 * MSS, "slow start back to ssthresh");
	hg_cc_on_ack(&cc, MSS, 0, 0);
	cr_expect_eq(cc.cwnd, 8 * MSS);
}

Test(cc_rto, repeated_timeout_holds_ssthresh)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	hg_cc_on_rto(&cc, 20 * MSS, 0);
	hg_cc_on_rto(&cc, 20 * MSS, 0);
	hg_cc_on_rto(&cc, MSS, 0);
	cr_expect_eq(cc.ssthresh, 10 * MSS);
	cr_expect_eq(cc.cwnd, MSS);
	/* Progress, then a timeout of another segment: a new reduction. */
	hg_cc_on_ack(&cc, MSS, 0, 0);
	hg_cc_on_rto(&cc, 6 * MSS, 0);
	cr_expect_eq(cc.ssthresh, 3 * MSS);
	cr_expect_eq(cc.cwnd, MSS);
}

Test(cc_rto, in_recovery_keeps_loss_ssthresh)
{
	struct hg_cc cc = in_ca(HG_CC_NEWRENO, 20);

	hg_cc_on_loss(&cc, 20 * MSS, 0);
	hg_cc_on_rto(&cc, 4 * MSS, 0);
	cr_expect_eq(cc.ssthresh, 10 * MSS);
	cr_expect_eq(cc.cwnd, MSS);
	cr_expect_not(cc.in_recovery);
	hg_cc_on_recovery_end(&cc);
	cr_expect_eq(cc.cwnd, MSS, "recovery already left");
}

/* ---- CUBIC (RFC 9438) ---- */

Test(cc_cubic, loss_reduces_by_beta)
{
	struct hg_cc cc = in_ca(HG_CC_CUBIC, 100);

	hg_cc_on_loss(&cc, cc.cwnd, 0);
	cr_expect_eq(cc.cwnd, 102200, "0.7 * 146000");
	cr_expect_eq(cc.ssthresh, 102200);
	cr_expect(cc.in_recovery);
	cr_expect_float_eq(cc.w_max, 100.0, 1e-9);
	cr_expect_float_eq(cc.cwnd_prior, 100.0, 1e-9);
	cr_expect_eq(cc.epoch_start_us, 0);
}

Test(cc_cubic, k_matches_rfc_formula)
{
	struct hg_cc a = cubic_after_loss(100);
	struct hg_cc b = cubic_after_loss(50);

	/* K = cbrt(W_max * (1 - beta) / C) */
	cr_expect_float_eq(a.k_s, 4.217163, 1e-5);
	cr_expect_float_eq(a.k_s, cbrt(100 * 0.3 / 0.4), 1e-9);
	cr_expect_float_eq(b.k_s, 3.347165, 1e-5);
	hg_cc_on_ack(&a, MSS, 0, 7 * SEC);
	cr_expect_eq(a.epoch_start_us, 7 * SEC);
	cr_expect_float_eq(a.k_s, 4.217163, 1e-5, "general form, epoch");
	cr_expect_float_eq(a.w_est, 70.0 + ALPHA / 70.0, 1e-9);
}

Test(cc_cubic, k_general_form_uses_cwnd_epoch)
{
	struct hg_cc cc = cubic_after_loss(100);

	/* The TCP code left a smaller window: K from cwnd_epoch = 60. */
	cc.cwnd = 60 * MSS;
	cc.ssthresh = cc.cwnd;
	hg_cc_on_ack(&cc, MSS, 0, 3 * SEC);
	cr_expect_float_eq(cc.k_s, cbrt(40.0 / 0.4), 1e-9);
	cr_expect_float_eq(cc.w_max, 100.0, 1e-9);
}

Test(cc_cubic, recovery_end_keeps_reduced_window)
{
	struct hg_cc cc = in_ca(HG_CC_CUBIC, 100);

	hg_cc_on_loss(&cc, cc.cwnd, 0);
	cc.cwnd += 5 * MSS; /* inflation by the TCP code */
	hg_cc_on_recovery_end(&cc);
	cr_expect_eq(cc.cwnd, 102200);
	cr_expect_not(cc.in_recovery);
	cr_expect_eq(cc.epoch_start_us, 0, "epoch starts at the next ACK");
}

Test(cc_cubic, first_avoidance_without_loss)
{
	struct hg_cc cc = mk(HG_CC_CUBIC, MSS);

	/* RFC 9438 section 4.10: K = 0, W_max = cwnd_prior = cwnd. */
	cc.ssthresh = 20 * MSS;
	ack_n(&cc, 10, MSS, 1 * SEC);
	cr_expect_eq(cc.cwnd, 20 * MSS);
	cr_expect_eq(cc.epoch_start_us, 0);
	hg_cc_on_ack(&cc, MSS, 0, 2 * SEC);
	cr_expect_eq(cc.epoch_start_us, 2 * SEC);
	cr_expect_float_eq(cc.k_s, 0.0, 1e-12);
	cr_expect_float_eq(cc.w_max, 20.0, 1e-9);
	cr_expect_float_eq(cc.cwnd_prior, 20.0, 1e-9);
	/* W_est >= cwnd_prior: alpha is 1, one segment per window. */
	ack_n(&cc, 19, MSS, 2 * SEC);
	cr_expect_float_eq(cc.w_est, 21.0, 0.03);
	cr_expect_float_eq(segs(&cc), cc.w_est, 0.001, "Reno-friendly");
}

Test(cc_cubic, reno_friendly_alpha_below_prior)
{
	struct hg_cc cc = cubic_after_loss(100);

	/* All at t = 0: W_cubic(0) = 70 = cwnd_epoch < W_est, so each ACK
	 * sets cwnd = W_est, which gains alpha_cubic = 0.529 per window. */
	ack_n(&cc, 70, MSS, 4 * SEC);
	cr_expect_float_eq(ALPHA, 0.529412, 1e-6);
	cr_expect_float_eq(cc.w_est, 70.0 + ALPHA, 0.005);
	cr_expect_float_eq(segs(&cc), cc.w_est, 0.001);
}

Test(cc_cubic, target_uses_min_rtt)
{
	struct hg_cc a = cubic_after_loss(100);
	struct hg_cc b = cubic_after_loss(100);
	uint64_t t0 = 10 * SEC;
	uint32_t a0, b0;

	hg_cc_on_ack(&a, MSS, 0, t0);
	hg_cc_on_ack(&b, MSS, 300000, t0);
	hg_cc_on_ack(&b, 0, 200000, t0);
	cr_expect_eq(b.min_rtt_us, 200000);
	cr_expect_eq(a.cwnd, 102211, "Reno-friendly at t = 0");
	cr_expect_eq(b.cwnd, 102211);
	a0 = a.cwnd;
	b0 = b.cwnd;
	hg_cc_on_ack(&a, MSS, 0, t0 + SEC / 2);
	hg_cc_on_ack(&b, MSS, 0, t0 + SEC / 2);
	/* (W_cubic(0.5 [+ 0.2]) - cwnd) / cwnd segments */
	cr_expect_float_eq((double)(a.cwnd - a0), 197.04, 1.0);
	cr_expect_float_eq((double)(b.cwnd - b0), 262.54, 1.0);
	cr_expect_eq(b.min_rtt_us, 200000, "0 is no sample");
}

Test(cc_cubic, target_clamped_to_one_and_a_half_cwnd)
{
	struct hg_cc cc = cubic_after_loss(100);
	uint32_t before;

	hg_cc_on_ack(&cc, MSS, 0, 10 * SEC);
	before = cc.cwnd;
	hg_cc_on_ack(&cc, MSS, 0, 110 * SEC);
	/* target = 1.5 * cwnd: + 0.5 segment per segment acked */
	cr_expect_float_eq((double)(cc.cwnd - before), MSS / 2.0, 1.0);
	before = cc.cwnd;
	hg_cc_on_ack(&cc, 1000 * MSS, 0, 110 * SEC);
	cr_expect_leq(cc.cwnd, before + before / 2 + 1,
		      "a stretch ACK never passes the target");
}

/* A simulated flow at RTT 200 ms after a loss at W_max = 100 segments;
 * at[r] is the window after round r, at t = 0.2 * (r + 1) s. */
Test(cc_cubic, concave_then_convex)
{
	struct hg_cc cc = cubic_after_loss(100);
	const uint32_t rtt = 200000;
	uint64_t now = 20 * SEC;
	double k = cbrt(75.0), at[50];

	for (unsigned r = 0; r < 50; r++) {
		now = ack_round(&cc, rtt, now);
		at[r] = segs(&cc);
	}
	cr_expect_float_eq(cc.k_s, k, 1e-9);
	/* Tracks W_cubic(t) in both regions. */
	cr_expect_float_eq(at[9], w_cubic(2.0, k, 100.0), 0.5);
	cr_expect_float_eq(at[39], w_cubic(8.0, k, 100.0), 0.5);
	cr_expect_float_eq(at[49], w_cubic(10.0, k, 100.0), 1.0);
	/* At t = K (4.2 s) the window is back at, not above, W_max. */
	cr_expect_float_eq(at[20], 100.0, 0.5);
	cr_expect_leq(at[20], 100.0);
	/* Concave: the increase slows down approaching K. */
	cr_expect_gt(at[9] - 70.0, 4.0 * (at[20] - at[10]));
	/* Convex: above W_max after K, increasing faster and faster. */
	cr_expect_gt(at[29], 102.0);
	cr_expect_gt(at[49] - at[39], 2.0 * (at[39] - at[29]));
	/* The Reno-friendly estimate stayed far below: cubic region. */
	cr_expect_lt(cc.w_est, 100.0);
	cr_expect_gt(at[49] - cc.w_est, 70.0);
}

Test(cc_cubic, reno_friendly_dominates_small_rtt)
{
	struct hg_cc cc = cubic_after_loss(20);
	const uint32_t rtt = 2000;
	uint64_t start = 20 * SEC, now = start;
	double k = cbrt(20 * 0.3 / 0.4), t;

	for (unsigned r = 0; r < 200; r++)
		now = ack_round(&cc, rtt, now);
	t = (double)(now - start) / SEC;
	/* 0.4 s in: W_cubic(0.4) = 16.5 segments; W_est grew ~1 per RTT. */
	cr_expect_float_eq(w_cubic(t, k, 20.0), 16.47, 0.01);
	cr_expect_gt(cc.w_est, 150.0);
	cr_expect_float_eq(segs(&cc), cc.w_est, 0.01, "cwnd = W_est");
}

Test(cc_cubic, fast_convergence)
{
	struct hg_cc cc = in_ca(HG_CC_CUBIC, 100);

	hg_cc_on_loss(&cc, cc.cwnd, 0);
	hg_cc_on_recovery_end(&cc);
	cr_expect_float_eq(cc.w_max, 100.0, 1e-9);
	/* Lost again at 80 < W_max: W_max = 80 * (1 + 0.7) / 2 = 68. */
	cc.cwnd = 80 * MSS;
	hg_cc_on_loss(&cc, cc.cwnd, 0);
	cr_expect_float_eq(cc.w_max, 68.0, 1e-9);
	cr_expect_float_eq(cc.w_last_max, 68.0, 1e-9);
	cr_expect_float_eq(cc.cwnd_prior, 80.0, 1e-9);
	cr_expect_eq(cc.cwnd, 56 * MSS);
	cr_expect_float_eq(cc.k_s, cbrt((68.0 - 56.0) / 0.4), 1e-9);
	hg_cc_on_recovery_end(&cc);
	/* Above the last W_max: plain W_max = cwnd. */
	cc.cwnd = 120 * MSS;
	hg_cc_on_loss(&cc, cc.cwnd, 0);
	cr_expect_float_eq(cc.w_max, 120.0, 1e-9);
}

Test(cc_cubic, rto_then_k_zero)
{
	struct hg_cc cc = in_ca(HG_CC_CUBIC, 100);

	hg_cc_on_rto(&cc, cc.cwnd, 0);
	cr_expect_eq(cc.cwnd, MSS);
	cr_expect_eq(cc.ssthresh, 70 * MSS);
	cr_expect_float_eq(cc.w_last_max, 100.0, 1e-9);
	cr_expect_float_eq(cc.cwnd_prior, 100.0, 1e-9);
	cr_expect_eq(cc.epoch_start_us, 0);
	hg_cc_on_rto(&cc, cc.cwnd, 0);
	cr_expect_eq(cc.ssthresh, 70 * MSS, "same episode");
	ack_n(&cc, 69, MSS, 1 * SEC);
	cr_expect_eq(cc.cwnd, 70 * MSS);
	/* Section 4.8: first stage after a timeout has K = 0, W_max =
	 * cwnd_epoch. */
	hg_cc_on_ack(&cc, MSS, 0, 2 * SEC);
	cr_expect_float_eq(cc.k_s, 0.0, 1e-12);
	cr_expect_float_eq(cc.w_max, 70.0, 1e-9);
	cr_expect_float_eq(cc.w_last_max, 100.0, 1e-9);
}

Test(cc_cubic, rto_during_recovery)
{
	struct hg_cc cc = in_ca(HG_CC_CUBIC, 100);

	hg_cc_on_loss(&cc, cc.cwnd, 0);
	hg_cc_on_rto(&cc, 10 * MSS, 0);
	cr_expect_eq(cc.ssthresh, 102200, "kept from the loss");
	cr_expect_eq(cc.cwnd, MSS);
	cr_expect_not(cc.in_recovery);
	cr_expect_float_eq(cc.w_last_max, 100.0, 1e-9);
}

/* ---- RFC 5681 section 4.1 idle restart ---- */

Test(cc_idle, restart_window)
{
	struct hg_cc big = in_ca(HG_CC_NEWRENO, 50);
	struct hg_cc small = in_ca(HG_CC_NEWRENO, 4);
	struct hg_cc jumbo = mk(HG_CC_NEWRENO, 8960);

	big.bytes_acked = 1000;
	hg_cc_on_idle_restart(&big);
	cr_expect_eq(big.cwnd, 14600, "min(IW, cwnd)");
	cr_expect_eq(big.ssthresh, 50 * MSS, "ssthresh kept");
	cr_expect_eq(big.bytes_acked, 0);
	hg_cc_on_idle_restart(&small);
	cr_expect_eq(small.cwnd, 4 * MSS);
	jumbo.cwnd = 100 * 8960;
	hg_cc_on_idle_restart(&jumbo);
	cr_expect_eq(jumbo.cwnd, 17920);
}

Test(cc_idle, cubic_epoch_restarts)
{
	struct hg_cc cc = cubic_after_loss(100);

	ack_n(&cc, 10, MSS, 30 * SEC);
	cr_expect_eq(cc.epoch_start_us, 30 * SEC);
	hg_cc_on_idle_restart(&cc);
	cr_expect_eq(cc.cwnd, 14600);
	cr_expect_eq(cc.epoch_start_us, 0);
	cr_expect_float_eq(cc.w_max, 100.0, 1e-9);
	ack_n(&cc, 10, MSS, 90 * SEC);
	cr_expect_eq(cc.cwnd, 20 * MSS, "slow start below ssthresh");
}

/* ---- Cap and overflow ---- */

Test(cc_cap, slow_start_and_avoidance_stop_at_cap)
{
	struct hg_cc cc = mk(HG_CC_NEWRENO, 65535);
	struct hg_cc cu = in_ca(HG_CC_CUBIC, 100);

	while (cc.cwnd < CAP)
		hg_cc_on_ack(&cc, UINT32_MAX, 0, 0);
	cr_expect_eq(cc.cwnd, CAP);
	ack_n(&cc, 10, UINT32_MAX, 0);
	cr_expect_eq(cc.cwnd, CAP);
	cc.ssthresh = CAP;
	ack_n(&cc, 10, UINT32_MAX, 0);
	cr_expect_eq(cc.cwnd, CAP);
	cu.cwnd = CAP - 10;
	cu.ssthresh = MSS;
	hg_cc_on_ack(&cu, UINT32_MAX, 1, 1);
	hg_cc_on_ack(&cu, UINT32_MAX, 1, UINT64_MAX / 2);
	cr_expect_eq(cu.cwnd, CAP);
}

Test(cc_cap, huge_flight)
{
	struct hg_cc nr = in_ca(HG_CC_NEWRENO, 20);
	struct hg_cc cu = in_ca(HG_CC_CUBIC, 20);

	hg_cc_on_loss(&nr, UINT32_MAX, 0);
	hg_cc_on_loss(&cu, UINT32_MAX, 0);
	cr_expect_eq(nr.ssthresh, CAP);
	cr_expect_eq(nr.cwnd, CAP);
	cr_expect_eq(cu.ssthresh, CAP);
	cr_expect_eq(cu.cwnd, CAP);
}

/* ---- Randomized invariants ---- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static uint32_t rnd_bytes(const struct hg_cc *cc)
{
	switch (rnd() % 8) {
	case 0:
		return 0;
	case 1:
		return rnd();
	case 2:
		return UINT32_MAX;
	default:
		return rnd() % (2 * cc->cwnd + 1);
	}
}

static uint64_t rnd_step(void)
{
	switch (rnd() % 16) {
	case 0:
		return (uint64_t)rnd() * 1000; /* up to ~50 days */
	case 1:
		return 0;
	default:
		return rnd() % 200000;
	}
}

static void check_common(const struct hg_cc *cc)
{
	cr_assert_leq(cc->cwnd, CAP);
	cr_assert_geq(cc->cwnd, cc->mss);
	cr_assert(cc->ssthresh == UINT32_MAX || cc->ssthresh <= CAP);
	cr_assert_geq(cc->ssthresh, 2 * cc->mss);
	cr_assert(isfinite(cc->w_max) && isfinite(cc->w_est));
	cr_assert(isfinite(cc->k_s) && cc->k_s >= 0.0);
}

static void random_event(struct hg_cc *cc, uint64_t now)
{
	uint32_t before = cc->cwnd, mss = cc->mss;
	bool was_rec = cc->in_recovery;
	uint32_t iw =
	    mss * 10 < 14600 ? mss * 10 : (2 * mss > 14600 ? 2 * mss : 14600);

	switch (rnd() % 20) {
	case 0:
		hg_cc_on_loss(cc, rnd_bytes(cc), now);
		cr_assert(cc->in_recovery);
		if (!was_rec)
			cr_assert_geq(cc->cwnd, 2 * mss);
		break;
	case 1:
		hg_cc_on_rto(cc, rnd_bytes(cc), now);
		cr_assert_eq(cc->cwnd, mss);
		cr_assert_not(cc->in_recovery);
		break;
	case 2:
	case 3:
		hg_cc_on_recovery_end(cc);
		cr_assert_not(cc->in_recovery);
		if (was_rec)
			cr_assert_eq(cc->cwnd, cc->ssthresh);
		break;
	case 4:
		hg_cc_on_idle_restart(cc);
		cr_assert_eq(cc->cwnd, before < iw ? before : iw);
		break;
	default:
		hg_cc_on_ack(cc, rnd_bytes(cc), rnd() % 4 ? 0 : rnd() % SEC,
			     now);
		if (was_rec)
			cr_assert_eq(cc->cwnd, before);
		else
			cr_assert_geq(cc->cwnd, before);
	}
	check_common(cc);
}

static void random_run(enum hg_cc_algo algo, uint64_t seed)
{
	static const uint32_t mss[] = {1, 536, 1460, 8960, 65535};

	rng_state = seed;
	for (unsigned m = 0; m < 5; m++) {
		struct hg_cc cc = mk(algo, mss[m]);
		uint64_t now = 1;

		for (unsigned i = 0; i < 20000; i++) {
			now += rnd_step();
			random_event(&cc, now);
		}
	}
}

Test(cc_random, newreno_100k_events)
{
	random_run(HG_CC_NEWRENO, 0x9e3779b97f4a7c15ull);
}

Test(cc_random, cubic_100k_events)
{
	random_run(HG_CC_CUBIC, 0xd1b54a32d192ed03ull);
}

/* ---- BBR v1 (draft-cardwell-iccrg-bbr-congestion-control-00) ----
 *
 * A fluid model of one flow through a bottleneck of `link` bytes/s with a
 * fixed `rtt_us`: each round delivers what the sender can put out in one
 * RTT (cwnd, pacing rate and the link, whichever is least), in ten ACKs;
 * each ACK's rate sample covers exactly one round (prior_delivered one
 * round's bytes back, interval one RTT). */
struct bbr_sim {
	struct hg_cc cc;
	uint64_t now, delivered, link;
	uint32_t rtt_us;
	bool app_limited;
	uint64_t app_rate; /* when app limited: what the app offers */
	bool gain_up, gain_down; /* ProbeBW gains seen after some ACK */
	uint64_t queue; /* bytes standing at the bottleneck */
};

static struct bbr_sim bbr_sim(uint64_t link, uint32_t rtt_us)
{
	struct bbr_sim s = {.now = SEC, .link = link, .rtt_us = rtt_us};

	hg_cc_init(&s.cc, HG_CC_BBR, MSS);
	return s;
}

static uint64_t bbr_round(struct bbr_sim *s)
{
	uint64_t out = s->cc.cwnd, amount;
	uint64_t by_link = s->link * s->rtt_us / SEC;
	uint64_t by_pacing = hg_cc_pacing_rate(&s->cc) * s->rtt_us / SEC;

	/* The sender puts out a round's worth (paced, app or cwnd limited);
	 * the link passes at most its rate, the excess stands in a queue,
	 * which is in flight too. */
	if (out > by_pacing)
		out = by_pacing;
	if (s->app_limited && out > s->app_rate * s->rtt_us / SEC)
		out = s->app_rate * s->rtt_us / SEC;
	if (out < MSS)
		out = MSS;
	amount = out + s->queue < by_link ? out + s->queue : by_link;
	s->queue = out + s->queue - amount;
	out = amount + s->queue;
	if (out > s->cc.cwnd + MSS)
		out = s->cc.cwnd + MSS;
	for (unsigned i = 0; i < 10; i++) {
		struct hg_cc_rs rs = {0};

		s->delivered += amount / 10;
		s->now += s->rtt_us / 10;
		rs.delivered = s->delivered;
		rs.prior_delivered = s->delivered - amount;
		rs.interval_us = s->rtt_us;
		rs.acked = (uint32_t)(amount / 10);
		rs.inflight = (uint32_t)out;
		rs.rtt_us = s->rtt_us;
		rs.app_limited = s->app_limited;
		hg_cc_on_rate_sample(&s->cc, &rs, s->now);
		s->gain_up |= s->cc.bbr.pacing_gain == 1.25;
		s->gain_down |= s->cc.bbr.pacing_gain == 0.75;
	}
	return amount;
}

#define LINK_10M (10000000ull / 8) /* 10 Mbit/s in bytes per second */

Test(cc_bbr, init)
{
	struct hg_cc cc = mk(HG_CC_BBR, MSS);
	struct hg_cc cubic = mk(HG_CC_CUBIC, MSS);

	cr_expect_eq(cc.algo, HG_CC_BBR);
	cr_expect_eq(cc.cwnd, 10 * MSS, "RFC 6928 initial window");
	cr_expect_eq(cc.bbr.mode, HG_BBR_STARTUP);
	cr_expect_float_eq(cc.bbr.pacing_gain, 2.885, 1e-9);
	/* 2/ln2 * IW over 1 ms until an RTT is known. */
	cr_expect_eq(hg_cc_pacing_rate(&cc), (uint64_t)(2.885 * 10 * MSS * 1000));
	cr_expect_eq(hg_cc_pacing_rate(&cubic), 0, "CUBIC is not paced");
	cr_expect_eq(hg_cc_bbr_bw(&cc), 0);
}

Test(cc_bbr, first_rtt_sets_pacing_from_initial_window)
{
	struct hg_cc cc = mk(HG_CC_BBR, MSS);
	struct hg_cc_rs rs = {.delivered = MSS, .acked = MSS,
			      .rtt_us = 100000};

	hg_cc_on_rate_sample(&cc, &rs, SEC);
	cr_expect_eq(cc.bbr.min_rtt_us, 100000);
	/* No bandwidth sample yet: 2/ln2 * IW / RTT. */
	cr_expect_eq(hg_cc_pacing_rate(&cc), (uint64_t)(2.885 * 10 * MSS * 10));
}

Test(cc_bbr, startup_finds_the_bottleneck_then_drains_to_probe_bw)
{
	struct bbr_sim s = bbr_sim(LINK_10M, 100000);
	uint64_t bdp = LINK_10M / 10; /* 125 kB */
	unsigned rounds = 0;

	while (s.cc.bbr.mode == HG_BBR_STARTUP && rounds < 40) {
		bbr_round(&s);
		rounds++;
	}
	cr_expect_lt(rounds, 15, "Startup ends in %u rounds", rounds);
	cr_expect(s.cc.bbr.full_bw_reached);
	cr_expect_float_eq((double)hg_cc_bbr_bw(&s.cc), (double)LINK_10M,
			   LINK_10M * 0.02, "bandwidth %lu",
			   (unsigned long)hg_cc_bbr_bw(&s.cc));
	cr_expect_eq(s.cc.bbr.mode, HG_BBR_DRAIN);
	/* Drain empties the queue Startup built, in a few rounds. */
	for (int i = 0; i < 10 && s.cc.bbr.mode == HG_BBR_DRAIN; i++)
		bbr_round(&s);
	cr_assert_eq(s.cc.bbr.mode, HG_BBR_PROBE_BW);
	cr_expect_leq(s.queue, bdp / 4, "queue %lu", (unsigned long)s.queue);
	/* cwnd: 2 BDP plus the quantization budget (+2 in the 5/4 phase). */
	cr_expect_geq(s.cc.cwnd, 2 * bdp);
	cr_expect_leq(s.cc.cwnd, 2 * bdp + 6 * MSS);
	/* ProbeBW paces at the bandwidth times the phase's gain. */
	for (int i = 0; i < 16; i++) {
		double gain = s.cc.bbr.pacing_gain;

		cr_expect(gain == 1.25 || gain == 0.75 || gain == 1.0);
		cr_expect_float_eq((double)hg_cc_pacing_rate(&s.cc),
				   gain * 0.99 * hg_cc_bbr_bw(&s.cc),
				   LINK_10M * 0.01);
		bbr_round(&s);
	}
}

Test(cc_bbr, probe_bw_cycles_through_all_gains)
{
	struct bbr_sim s = bbr_sim(LINK_10M, 50000);

	for (int i = 0; i < 40; i++)
		bbr_round(&s);
	cr_assert_eq(s.cc.bbr.mode, HG_BBR_PROBE_BW);
	s.gain_up = s.gain_down = false;
	for (int i = 0; i < 20; i++)
		bbr_round(&s);
	cr_expect(s.gain_up, "probes up (5/4)");
	cr_expect(s.gain_down, "drains (3/4)");
}

/* Random loss is not congestion: one round of packet conservation, no
 * change to the model, and the window back when recovery ends. */
Test(cc_bbr, loss_conserves_one_round_and_keeps_the_model)
{
	struct bbr_sim s = bbr_sim(LINK_10M, 100000);
	uint64_t bw;
	uint32_t before;
	struct hg_cc_rs rs = {0};

	for (int i = 0; i < 30; i++)
		bbr_round(&s);
	bw = hg_cc_bbr_bw(&s.cc);
	before = s.cc.cwnd;
	hg_cc_on_loss(&s.cc, before, s.now);
	cr_expect(s.cc.in_recovery);
	cr_expect_eq(s.cc.cwnd, before, "nothing changes before the next ACK");
	/* The ACK that started recovery: cwnd = inflight + acked. */
	rs.delivered = s.delivered += MSS;
	rs.acked = MSS;
	rs.inflight = before / 2;
	rs.loss = true;
	hg_cc_on_rate_sample(&s.cc, &rs, s.now);
	cr_expect_eq(s.cc.cwnd, before / 2 + MSS, "packet conservation");
	cr_expect(s.cc.bbr.packet_conservation);
	cr_expect_eq(hg_cc_bbr_bw(&s.cc), bw, "the model is untouched");
	/* A round later conservation ends and cwnd grows back toward
	 * its target; the end of recovery restores the old one. */
	bbr_round(&s);
	bbr_round(&s);
	cr_expect_not(s.cc.bbr.packet_conservation);
	hg_cc_on_recovery_end(&s.cc);
	cr_expect_not(s.cc.in_recovery);
	cr_expect_geq(s.cc.cwnd, before);
	cr_expect_eq(hg_cc_bbr_bw(&s.cc), bw);
}

Test(cc_bbr, timeout_collapses_then_restores)
{
	struct bbr_sim s = bbr_sim(LINK_10M, 100000);
	uint32_t before;
	struct hg_cc_rs rs = {0};

	for (int i = 0; i < 30; i++)
		bbr_round(&s);
	before = s.cc.cwnd;
	hg_cc_on_rto(&s.cc, before, s.now);
	cr_expect_eq(s.cc.cwnd, MSS, "the loss window");
	cr_expect_not(s.cc.in_recovery);
	/* Go-back-N: cwnd grows by what is delivered (at least 4). */
	rs.delivered = s.delivered += MSS;
	rs.acked = MSS;
	rs.inflight = 0;
	hg_cc_on_rate_sample(&s.cc, &rs, s.now);
	cr_expect_eq(s.cc.cwnd, 4 * MSS);
	rs.delivered = s.delivered += 4 * MSS;
	rs.acked = 4 * MSS;
	hg_cc_on_rate_sample(&s.cc, &rs, s.now);
	cr_expect_eq(s.cc.cwnd, 8 * MSS);
	/* Everything sent before the timeout is in: the old window. */
	hg_cc_on_recovery_end(&s.cc);
	cr_expect_eq(s.cc.cwnd, before);
	hg_cc_on_recovery_end(&s.cc);
	cr_expect_eq(s.cc.cwnd, before, "once");
}

Test(cc_bbr, app_limited_samples_do_not_lower_the_estimate)
{
	struct bbr_sim s = bbr_sim(LINK_10M, 100000);
	uint64_t bw;

	for (int i = 0; i < 30; i++)
		bbr_round(&s);
	bw = hg_cc_bbr_bw(&s.cc);
	s.app_limited = true;
	s.app_rate = LINK_10M / 10;
	for (int i = 0; i < 30; i++)
		bbr_round(&s);
	cr_expect_eq(hg_cc_bbr_bw(&s.cc), bw, "app-limited rounds: %lu",
		     (unsigned long)hg_cc_bbr_bw(&s.cc));
	/* Not app limited, the same low rate (the path got slower): the
	 * estimate follows within the 10-round window. */
	s.app_limited = false;
	s.link = LINK_10M / 10;
	for (int i = 0; i < 30; i++)
		bbr_round(&s);
	cr_expect_lt(hg_cc_bbr_bw(&s.cc), bw / 5, "down to %lu",
		     (unsigned long)hg_cc_bbr_bw(&s.cc));
}

Test(cc_bbr, probe_rtt_every_10_seconds)
{
	struct bbr_sim s = bbr_sim(LINK_10M, 100000);
	uint32_t before;
	bool seen = false;
	uint64_t entered = 0;

	for (int i = 0; i < 30; i++)
		bbr_round(&s);
	cr_assert_eq(s.cc.bbr.mode, HG_BBR_PROBE_BW);
	before = s.cc.cwnd;
	/* No lower RTT for 10 s: ProbeRTT, cwnd 4 segments. */
	for (int i = 0; i < 120 && !seen; i++) {
		bbr_round(&s);
		if (s.cc.bbr.mode == HG_BBR_PROBE_RTT) {
			seen = true;
			entered = s.now;
		}
	}
	cr_assert(seen, "ProbeRTT entered");
	cr_expect_geq(entered, SEC + 10 * SEC);
	cr_expect_eq(s.cc.cwnd, 4 * MSS);
	/* 200 ms and a round trip later: back to ProbeBW, cwnd as before. */
	while (s.cc.bbr.mode == HG_BBR_PROBE_RTT && s.now < entered + 2 * SEC)
		bbr_round(&s);
	cr_expect_eq(s.cc.bbr.mode, HG_BBR_PROBE_BW);
	cr_expect_geq(s.now - entered, 200000);
	cr_expect_leq(s.now - entered, 600000, "left after %lu us",
		      (unsigned long)(s.now - entered));
	cr_expect_geq(s.cc.cwnd, before - 2 * MSS);
}

Test(cc_bbr, ignores_the_other_algorithms_calls)
{
	struct hg_cc cc = mk(HG_CC_BBR, MSS);
	uint32_t cwnd = cc.cwnd;

	hg_cc_on_ack(&cc, 100 * MSS, 1000, SEC);
	cr_expect_eq(cc.cwnd, cwnd, "BBR grows from rate samples only");
	hg_cc_on_idle_restart(&cc);
	cr_expect_eq(cc.cwnd, cwnd);
	/* And CUBIC ignores rate samples (beyond the min RTT). */
	struct hg_cc cubic = mk(HG_CC_CUBIC, MSS);
	struct hg_cc_rs rs = {.delivered = 10 * MSS, .acked = 10 * MSS,
			      .interval_us = 1000, .rtt_us = 900};

	cwnd = cubic.cwnd;
	hg_cc_on_rate_sample(&cubic, &rs, SEC);
	cr_expect_eq(cubic.cwnd, cwnd);
	cr_expect_eq(cubic.min_rtt_us, 900);
}

/* Random events and samples, including nonsense (no interval, prior
 * above delivered, huge inflight): BBR's cwnd stays within [mss, cap],
 * it keeps a pacing rate, its mode and phase stay in range. */
Test(cc_random, bbr_100k_events)
{
	static const uint32_t mss[] = {1, 536, 1460, 8960, 65535};

	rng_state = 0x94d049bb133111ebull;
	for (unsigned m = 0; m < 5; m++) {
		struct hg_cc cc = mk(HG_CC_BBR, mss[m]);
		uint64_t now = 1, delivered = 0;

		for (unsigned i = 0; i < 20000; i++) {
			struct hg_cc_rs rs = {0};

			now += rnd_step();
			switch (rnd() % 40) {
			case 0:
				hg_cc_on_loss(&cc, rnd_bytes(&cc), now);
				break;
			case 1:
				hg_cc_on_rto(&cc, rnd_bytes(&cc), now);
				cr_assert_eq(cc.cwnd, cc.mss);
				break;
			case 2:
				hg_cc_on_recovery_end(&cc);
				cr_assert_not(cc.in_recovery);
				break;
			default:
				rs.acked = rnd_bytes(&cc);
				delivered += rs.acked;
				rs.delivered = delivered;
				rs.prior_delivered = rnd() % 8 ? delivered -
						     rnd() % (delivered + 1)
						   : delivered + rnd();
				rs.interval_us = rnd() % 4 ? rnd() % SEC : 0;
				rs.inflight = rnd_bytes(&cc);
				rs.rtt_us = rnd() % 3 ? rnd() % SEC : 0;
				rs.app_limited = rnd() % 5 == 0;
				rs.loss = rnd() % 50 == 0;
				hg_cc_on_rate_sample(&cc, &rs, now);
			}
			cr_assert_leq(cc.cwnd, CAP);
			cr_assert_geq(cc.cwnd, cc.mss);
			cr_assert_gt(hg_cc_pacing_rate(&cc), 0);
			cr_assert_leq(cc.bbr.mode, HG_BBR_PROBE_RTT);
			cr_assert_lt(cc.bbr.cycle_idx, 8);
		}
	}
}
