/* PLACEHOLDER until the full NewReno/CUBIC module lands: NewReno only. */
#include "tcp_cc.h"

void hg_cc_init(struct hg_cc *cc, enum hg_cc_algo algo, uint32_t mss)
{
	*cc = (struct hg_cc){.algo = algo, .mss = mss, .ssthresh = UINT32_MAX};
	cc->cwnd = 10 * mss < 14600 ? 10 * mss : (2 * mss > 14600 ? 2 * mss : 14600);
}

void hg_cc_on_ack(struct hg_cc *cc, uint32_t acked, uint32_t rtt_us,
		  uint64_t now_us)
{
	(void)rtt_us;
	(void)now_us;
	if (cc->in_recovery)
		return;
	if (cc->cwnd < cc->ssthresh) {
		cc->cwnd += acked < cc->mss ? acked : cc->mss;
	} else {
		cc->bytes_acked += acked;
		if (cc->bytes_acked >= cc->cwnd) {
			cc->bytes_acked -= cc->cwnd;
			cc->cwnd += cc->mss;
		}
	}
	if (cc->cwnd > (1u << 30))
		cc->cwnd = 1u << 30;
}

void hg_cc_on_loss(struct hg_cc *cc, uint32_t flight, uint64_t now_us)
{
	(void)now_us;
	if (cc->in_recovery)
		return;
	cc->ssthresh = flight / 2 > 2 * cc->mss ? flight / 2 : 2 * cc->mss;
	cc->cwnd = cc->ssthresh;
	cc->in_recovery = true;
}

void hg_cc_on_recovery_end(struct hg_cc *cc)
{
	cc->in_recovery = false;
	cc->cwnd = cc->ssthresh;
}

void hg_cc_on_rto(struct hg_cc *cc, uint32_t flight, uint64_t now_us)
{
	(void)now_us;
	cc->ssthresh = flight / 2 > 2 * cc->mss ? flight / 2 : 2 * cc->mss;
	cc->cwnd = cc->mss;
	cc->in_recovery = false;
}

void hg_cc_on_idle_restart(struct hg_cc *cc)
{
	(void)cc;
}
