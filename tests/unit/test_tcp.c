/* The userspace TCP stack, segment by segment, with no NIC: crafted
 * segments in (tcp_harness.h), emitted segments checked. */
#include "tcp_harness.h"

#define LPORT 80
#define ISN_PEER 5000u

static struct hg_tcp_listener *h_listen(void)
{
	struct hg_tcp_listener *l = hg_tcp_listen(&h_st, ME, LPORT, &h_ops,
						  NULL);
	cr_assert_not_null(l);
	return l;
}

/* Completes a passive handshake with full options; returns our ISS. */
static uint32_t h_accept(uint32_t tsval)
{
	struct hg_tcp_opts o = h_syn_opts(tsval), a = {0};
	struct seg_out *s;

	h_listen();
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 64240, &o, NULL, 0);
	s = h_last();
	a.has_ts = true;
	a.tsval = tsval + 1;
	a.tsecr = s->h.opts.tsval;
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, s->h.seq + 1, HG_TCP_ACK, 502,
	       &a, NULL, 0);
	cr_assert_eq(h_established, 1);
	h_clear();
	return s->h.seq;
}

static struct hg_tcp_opts ts(uint32_t val, uint32_t ecr)
{
	struct hg_tcp_opts o = {.has_ts = true, .tsval = val, .tsecr = ecr};
	return o;
}

static struct rte_mbuf *h_data(uint32_t len, uint8_t fill)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h_pool);
	char *p = rte_pktmbuf_append(m, (uint16_t)len);

	memset(p, fill, len);
	return m;
}

TestSuite(tcp, .init = h_setup, .fini = h_teardown);

Test(tcp, handshake_with_all_options)
{
	struct hg_tcp_opts o = h_syn_opts(1000), a;
	struct seg_out *s;

	h_listen();
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 64240, &o, NULL, 0);
	cr_assert_eq(h_n_out, 1);
	s = h_last();
	cr_expect_eq(s->h.flags, HG_TCP_SYN | HG_TCP_ACK);
	cr_expect_eq(s->h.ack, ISN_PEER + 1);
	cr_expect(s->h.opts.has_mss);
	cr_expect_eq(s->h.opts.mss, 1460);
	cr_expect(s->h.opts.has_wscale);
	cr_expect_eq(s->h.opts.wscale, 2, "rcv_buf 262140 needs shift 2");
	cr_expect(s->h.opts.sack_permitted);
	cr_expect(s->h.opts.has_ts);
	cr_expect_eq(s->h.opts.tsecr, 1000);
	cr_expect_eq(s->dst, PEER);
	cr_expect_eq(h_st.n_conns, 1);
	cr_expect_eq(h_established, 0);

	a = ts(1001, s->h.opts.tsval);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, s->h.seq + 1, HG_TCP_ACK, 502,
	       &a, NULL, 0);
	cr_assert_eq(h_established, 1);
	cr_expect_eq(h_conn->state, HG_TCP_ESTABLISHED);
	cr_expect_eq(h_conn->snd_wnd, 502u << 7, "window scaled by 7");
	cr_expect_eq(h_conn->mss, 1460 - 12, "timestamps take 12 bytes");
	cr_expect(h_conn->flags & HG_TCPF_SACK);
	cr_expect_eq(h_ctr[HG_WC_tcp_accepted], 1);
}

Test(tcp, handshake_without_options)
{
	struct seg_out *s;

	h_listen();
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 8192, NULL, NULL, 0);
	s = h_last();
	cr_expect_eq(s->h.flags, HG_TCP_SYN | HG_TCP_ACK);
	cr_expect(s->h.opts.has_mss, "MSS is always sent");
	cr_expect_not(s->h.opts.has_wscale, "not offered: not answered");
	cr_expect_not(s->h.opts.sack_permitted);
	cr_expect_not(s->h.opts.has_ts);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, s->h.seq + 1, HG_TCP_ACK, 8192,
	       NULL, NULL, 0);
	cr_assert_eq(h_established, 1);
	cr_expect_eq(h_conn->mss, 536, "RFC 9293 default MSS");
	cr_expect_eq(h_conn->snd_wnd, 8192, "no scaling");
	cr_expect_eq(h_conn->rcv_wscale, 0);
}

Test(tcp, closed_port_gets_rst)
{
	struct seg_out *s;

	h_send(PEER_PORT, 81, ISN_PEER, 0, HG_TCP_SYN, 8192, NULL, NULL, 0);
	s = h_last();
	cr_expect_eq(s->h.flags, HG_TCP_RST | HG_TCP_ACK);
	cr_expect_eq(s->h.seq, 0);
	cr_expect_eq(s->h.ack, ISN_PEER + 1);
	h_clear();
	h_send(PEER_PORT, 81, ISN_PEER, 777, HG_TCP_ACK, 8192, NULL, NULL, 0);
	s = h_last();
	cr_expect_eq(s->h.flags, HG_TCP_RST);
	cr_expect_eq(s->h.seq, 777, "RST takes its sequence from the ACK");
	h_clear();
	h_send(PEER_PORT, 81, ISN_PEER, 777, HG_TCP_RST, 0, NULL, NULL, 0);
	cr_expect_eq(h_n_out, 0, "a RST is never answered");
	cr_expect_eq(h_st.n_conns, 0);
}

Test(tcp, data_in_order_delayed_ack)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	uint8_t buf[1000];

	memset(buf, 'a', sizeof(buf));
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, sizeof(buf));
	cr_expect_eq(h_n_out, 0, "the first segment's ACK is delayed");
	cr_expect_eq(hg_tcp_rcv_bytes(h_conn), 1000);
	cr_expect_eq(h_readable, 1);
	h_advance_ms(45);
	cr_assert_eq(h_n_out, 1, "delayed ACK within 40 ms");
	cr_expect_eq(h_last()->h.ack, ISN_PEER + 1 + 1000);
	cr_expect_eq(h_ctr[HG_WC_tcp_delayed_acks], 1);
	h_clear();
	/* Two segments: the second is ACKed at once. */
	h_send(PEER_PORT, LPORT, ISN_PEER + 1001, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, sizeof(buf));
	h_send(PEER_PORT, LPORT, ISN_PEER + 2001, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, sizeof(buf));
	cr_assert_eq(h_n_out, 1);
	cr_expect_eq(h_last()->h.ack, ISN_PEER + 3001);
	cr_expect_eq(hg_tcp_rcv_bytes(h_conn), 3000);
}

Test(tcp, out_of_order_generates_sack_and_fills)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	uint8_t buf[500];
	struct seg_out *s;

	memset(buf, 'b', sizeof(buf));
	/* Segment 2 arrives before segment 1. */
	h_send(PEER_PORT, LPORT, ISN_PEER + 501, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, 500);
	s = h_last();
	cr_expect_eq(s->h.ack, ISN_PEER + 1, "a duplicate ACK at once");
	cr_assert_eq(s->h.opts.n_sack, 1);
	cr_expect_eq(s->h.opts.sack[0].start, ISN_PEER + 501);
	cr_expect_eq(s->h.opts.sack[0].end, ISN_PEER + 1001);
	cr_expect_eq(hg_tcp_rcv_bytes(h_conn), 0);
	cr_expect_eq(h_ctr[HG_WC_tcp_ooo_segments], 1);
	/* Segment 4, then 1 fills the first hole. */
	h_send(PEER_PORT, LPORT, ISN_PEER + 1501, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, 500);
	s = h_last();
	cr_assert_eq(s->h.opts.n_sack, 2);
	cr_expect_eq(s->h.opts.sack[0].start, ISN_PEER + 1501,
		     "the most recent block first (RFC 2018)");
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, 500);
	s = h_last();
	cr_expect_eq(s->h.ack, ISN_PEER + 1001, "1 and 2 now in order");
	cr_assert_eq(s->h.opts.n_sack, 1);
	cr_expect_eq(s->h.opts.sack[0].start, ISN_PEER + 1501);
	cr_expect_eq(hg_tcp_rcv_bytes(h_conn), 1000);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1001, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, 500);
	s = h_last();
	cr_expect_eq(s->h.ack, ISN_PEER + 2001);
	cr_expect_eq(s->h.opts.n_sack, 0);
	cr_expect_eq(hg_tcp_rcv_bytes(h_conn), 2000);
}

Test(tcp, rto_retransmits_with_backoff)
{
	uint32_t iss = h_accept(100);
	uint64_t t0, t1, t2;

	cr_assert_eq(hg_tcp_send(h_conn, h_data(100, 'x')), 0);
	cr_assert_eq(h_n_out, 1);
	cr_expect_eq(h_last()->h.seq, iss + 1);
	cr_expect_eq(h_last()->len, 100);
	h_clear();
	/* First a tail loss probe (RFC 8985), well before the RTO. */
	t0 = h_st.now_us;
	while (h_n_out == 0)
		h_advance_ms(1);
	cr_expect_lt(h_st.now_us - t0, 100000, "the probe comes early");
	cr_expect_eq(h_last()->h.seq, iss + 1, "the probe: the last segment");
	cr_expect_eq(h_ctr[HG_WC_tcp_tail_probes], 1);
	h_clear();
	t0 = h_st.now_us;
	while (h_n_out == 0)
		h_advance_ms(1);
	t1 = h_st.now_us;
	cr_expect_eq(h_last()->h.seq, iss + 1, "the same bytes again");
	cr_expect_eq(h_last()->len, 100);
	h_clear();
	while (h_n_out == 0)
		h_advance_ms(1);
	t2 = h_st.now_us;
	cr_expect_geq(t1 - t0, 200000, "not before the RTO");
	cr_expect_geq(t2 - t1, 2 * (t1 - t0) - 2000, "doubled: %lu then %lu",
		      (unsigned long)(t1 - t0), (unsigned long)(t2 - t1));
	cr_expect_eq(h_ctr[HG_WC_tcp_rto], 2);
	cr_expect_eq(h_conn->cc.cwnd, h_conn->mss, "loss window: one MSS");
}

Test(tcp, fast_retransmit_after_three_dup_acks)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);

	for (int i = 0; i < 5; i++)
		hg_tcp_send(h_conn, h_data(h_conn->mss, (uint8_t)i));
	cr_assert_eq(h_n_out, 5);
	h_clear();
	for (int i = 0; i < 2; i++)
		h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 502,
		       &a, NULL, 0);
	cr_expect_eq(h_n_out, 0, "two duplicates are not enough");
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 502, &a,
	       NULL, 0);
	cr_assert_geq(h_n_out, 1);
	cr_expect_eq(h_out[0].h.seq, iss + 1, "the first segment again");
	cr_expect_eq(h_ctr[HG_WC_tcp_fast_retransmits], 1);
	cr_expect_eq(h_ctr[HG_WC_tcp_dup_acks], 3);
	cr_expect(h_conn->in_recovery);
	/* The full ACK ends recovery. */
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 5 * h_conn->mss,
	       HG_TCP_ACK, 502, &a, NULL, 0);
	cr_expect_not(h_conn->in_recovery);
	cr_expect_eq(h_conn->snd_una, h_conn->snd_max);
}

Test(tcp, sack_driven_retransmission)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	uint32_t mss;

	mss = h_conn->mss;
	for (int i = 0; i < 6; i++)
		hg_tcp_send(h_conn, h_data(mss, (uint8_t)i));
	h_clear();
	/* Segments 2 and 4 (of 0..5) lost; the peer SACKs 3 and 5. */
	a.n_sack = 1;
	a.sack[0].start = iss + 1 + 3 * mss;
	a.sack[0].end = iss + 1 + 4 * mss;
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 2 * mss, HG_TCP_ACK,
	       502, &a, NULL, 0);
	a.n_sack = 2;
	a.sack[0].start = iss + 1 + 5 * mss;
	a.sack[0].end = iss + 1 + 6 * mss;
	a.sack[1].start = iss + 1 + 3 * mss;
	a.sack[1].end = iss + 1 + 4 * mss;
	for (int i = 0; i < 3; i++)
		h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 2 * mss,
		       HG_TCP_ACK, 502, &a, NULL, 0);
	cr_assert(h_conn->in_recovery);
	/* Both holes resent, and nothing SACKed resent. */
	bool hole2 = false, hole4 = false;
	for (unsigned i = 0; i < h_n_out; i++) {
		uint32_t seq = h_out[i].h.seq;

		if (h_out[i].len == 0)
			continue;
		hole2 |= seq == iss + 1 + 2 * mss;
		hole4 |= seq == iss + 1 + 4 * mss;
		cr_expect_neq(seq, iss + 1 + 3 * mss, "SACKed data not resent");
		cr_expect_neq(seq, iss + 1 + 5 * mss, "SACKed data not resent");
	}
	cr_expect(hole2);
	cr_expect(hole4);
}

Test(tcp, window_scale_arithmetic)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	uint8_t buf[1000] = {0};

	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 3, &a,
	       NULL, 0);
	cr_expect_eq(h_conn->snd_wnd, 3u << 7);
	/* Our window field is our free space shifted by our scale. */
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK | HG_TCP_PSH,
	       3, &a, buf, sizeof(buf));
	cr_assert_geq(h_n_out, 1);
	cr_expect_eq(h_last()->h.window,
		     (h_conn->rcv_buf - 1000) >> h_conn->rcv_wscale);
}

Test(tcp, zero_window_probes_then_open)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);

	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 0, &a, NULL,
	       0);
	cr_expect_eq(h_conn->snd_wnd, 0);
	hg_tcp_send(h_conn, h_data(100, 'z'));
	cr_expect_eq(h_n_out, 0, "nothing sent into a zero window");
	h_advance_ms(1500);
	cr_assert_geq(h_n_out, 1, "a probe after the persist timer");
	cr_expect_eq(h_last()->h.seq, iss, "probe with snd_una - 1");
	cr_expect_eq(h_last()->len, 0);
	cr_expect_geq(h_ctr[HG_WC_tcp_zero_window_probes], 1);
	h_clear();
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 100, &a,
	       NULL, 0);
	cr_assert_geq(h_n_out, 1, "data flows once the window opens");
	cr_expect_eq(h_last()->len, 100);
}

Test(tcp, passive_close)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	struct hg_tcp_conn *c = h_conn;

	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK | HG_TCP_FIN,
	       502, &a, NULL, 0);
	cr_expect_eq(c->state, HG_TCP_CLOSE_WAIT);
	cr_expect(c->rcv_fin);
	cr_expect_eq(h_last()->h.ack, ISN_PEER + 2, "the FIN is ACKed");
	h_clear();
	hg_tcp_shutdown(c);
	cr_assert_eq(h_n_out, 1);
	cr_expect(h_last()->h.flags & HG_TCP_FIN);
	cr_expect_eq(c->state, HG_TCP_LAST_ACK);
	h_send(PEER_PORT, LPORT, ISN_PEER + 2, iss + 2, HG_TCP_ACK, 502, &a,
	       NULL, 0);
	cr_expect_eq(h_closed, 1);
	cr_expect_eq(h_close_why, HG_TCP_CLOSE_NORMAL);
	cr_expect_eq(h_st.n_conns, 0);
}

Test(tcp, active_close_through_time_wait)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	struct hg_tcp_conn *c = h_conn;

	hg_tcp_shutdown(c);
	cr_expect(h_last()->h.flags & HG_TCP_FIN);
	cr_expect_eq(c->state, HG_TCP_FIN_WAIT_1);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 2, HG_TCP_ACK, 502, &a,
	       NULL, 0);
	cr_expect_eq(c->state, HG_TCP_FIN_WAIT_2);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 2, HG_TCP_ACK | HG_TCP_FIN,
	       502, &a, NULL, 0);
	cr_expect_eq(c->state, HG_TCP_TIME_WAIT);
	cr_expect_eq(h_last()->h.ack, ISN_PEER + 2);
	cr_expect_eq(h_st.n_timewait, 1);
	cr_expect_eq(h_closed, 1, "the application is done at TIME-WAIT");
	h_advance_ms(60 * 1000 + 10);
	cr_expect_eq(h_st.n_conns, 0, "gone after 2MSL");
	cr_expect_eq(h_st.n_timewait, 0);
}

Test(tcp, simultaneous_close)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	struct hg_tcp_conn *c = h_conn;

	hg_tcp_shutdown(c);
	/* The peer's FIN crosses ours: it does not ACK our FIN. */
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK | HG_TCP_FIN,
	       502, &a, NULL, 0);
	cr_expect_eq(c->state, HG_TCP_CLOSING);
	h_send(PEER_PORT, LPORT, ISN_PEER + 2, iss + 2, HG_TCP_ACK, 502, &a,
	       NULL, 0);
	cr_expect_eq(c->state, HG_TCP_TIME_WAIT);
}

Test(tcp, rst_exact_resets_in_window_challenges)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_conn *c = h_conn;

	(void)iss;
	h_send(PEER_PORT, LPORT, ISN_PEER + 100, 0, HG_TCP_RST, 0, NULL, NULL,
	       0);
	cr_expect_eq(c->state, HG_TCP_ESTABLISHED, "in window, not exact");
	cr_assert_eq(h_n_out, 1);
	cr_expect_eq(h_last()->h.flags, HG_TCP_ACK, "a challenge ACK");
	cr_expect_eq(h_ctr[HG_WC_tcp_challenge_acks], 1);
	h_clear();
	h_send(PEER_PORT, LPORT, ISN_PEER + 10000000, 0, HG_TCP_RST, 0, NULL,
	       NULL, 0);
	cr_expect_eq(c->state, HG_TCP_ESTABLISHED);
	cr_expect_eq(h_n_out, 0, "out of window: silently dropped");
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, 0, HG_TCP_RST, 0, NULL, NULL, 0);
	cr_expect_eq(h_closed, 1);
	cr_expect_eq(h_close_why, HG_TCP_CLOSE_RESET);
	cr_expect_eq(h_st.n_conns, 0);
}

Test(tcp, syn_on_established_gets_challenge_ack)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts o = h_syn_opts(300);

	(void)iss;
	h_send(PEER_PORT, LPORT, ISN_PEER + 50, 0, HG_TCP_SYN, 64240, &o, NULL,
	       0);
	cr_expect_eq(h_conn->state, HG_TCP_ESTABLISHED);
	cr_assert_eq(h_n_out, 1);
	cr_expect_eq(h_last()->h.flags, HG_TCP_ACK);
	cr_expect_eq(h_last()->h.ack, ISN_PEER + 1);
}

Test(tcp, paws_drops_old_timestamps)
{
	uint32_t iss = h_accept(1000);
	struct hg_tcp_opts old = ts(10, 0);
	uint8_t buf[10] = {0};

	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 502, &old,
	       buf, sizeof(buf));
	cr_expect_eq(hg_tcp_rcv_bytes(h_conn), 0, "dropped");
	cr_expect_eq(h_drops[HG_DROP_tcp_paws], 1);
	cr_expect_eq(h_n_out, 1, "answered with an ACK");
}

Test(tcp, syn_cookie_round_trip)
{
	struct hg_tcp_listener *l = h_listen();
	struct hg_tcp_opts o = h_syn_opts(100), a;
	struct seg_out *s;

	l->syncookies = HG_SYNCOOKIES_ALWAYS;
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 64240, &o, NULL, 0);
	s = h_last();
	cr_expect_eq(s->h.flags, HG_TCP_SYN | HG_TCP_ACK);
	cr_expect_eq(h_st.n_conns, 0, "no state for a cookie SYN");
	cr_expect_eq(h_ctr[HG_WC_tcp_syncookies_sent], 1);
	a = ts(101, s->h.opts.tsval);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, s->h.seq + 1, HG_TCP_ACK, 502,
	       &a, NULL, 0);
	cr_expect_eq(h_ctr[HG_WC_tcp_syncookies_ok], 1);
	cr_assert_eq(h_established, 1);
	cr_expect_eq(h_conn->mss, 1460 - 12);
	cr_expect(h_conn->flags & HG_TCPF_SACK, "SACK kept in the TSval");
	cr_expect_eq(h_conn->snd_wscale, 7, "window scale kept in the TSval");
	/* A forged ACK opens nothing. */
	h_send(PEER_PORT + 1, LPORT, ISN_PEER + 1, 12345, HG_TCP_ACK, 502, &a,
	       NULL, 0);
	cr_expect_eq(h_ctr[HG_WC_tcp_syncookies_bad], 1);
	cr_expect_eq(h_last()->h.flags, HG_TCP_RST);
	cr_expect_eq(h_st.n_conns, 1);
}

Test(tcp, time_wait_table_is_bounded)
{
	struct hg_tcp_opts a = ts(200, 0);

	h_listen();
	for (int i = 0; i < 10; i++) {
		uint16_t port = (uint16_t)(PEER_PORT + i);
		struct hg_tcp_opts o = h_syn_opts(100);
		struct seg_out *s;

		h_clear();
		h_send(port, LPORT, ISN_PEER, 0, HG_TCP_SYN, 64240, &o, NULL,
		       0);
		s = h_last();
		uint32_t iss = s->h.seq;
		h_send(port, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 502, &a,
		       NULL, 0);
		hg_tcp_shutdown(h_conn);
		h_send(port, LPORT, ISN_PEER + 1, iss + 2,
		       HG_TCP_ACK | HG_TCP_FIN, 502, &a, NULL, 0);
	}
	cr_expect_eq(h_st.n_timewait, 8, "timewait_max");
	cr_expect_eq(h_ctr[HG_WC_tcp_timewait_recycled], 2);
	cr_expect_eq(h_st.n_conns, 8);
}

Test(tcp, active_open_and_refusal)
{
	struct hg_tcp_conn *c = hg_tcp_connect(&h_st, 0, ME, PEER, 9000,
					       HG_CC_CUBIC, &h_ops, NULL);
	struct hg_tcp_opts o;
	struct seg_out *s;

	cr_assert_not_null(c);
	s = h_last();
	cr_expect_eq(s->h.flags, HG_TCP_SYN);
	cr_expect(s->h.opts.has_mss && s->h.opts.has_wscale &&
		  s->h.opts.sack_permitted && s->h.opts.has_ts);
	cr_expect_eq(s->h.dport, 9000);
	cr_expect_geq(s->h.sport, h_st.cfg.ephemeral_low);
	o = h_syn_opts(500);
	o.tsecr = s->h.opts.tsval;
	h_send(9000, s->h.sport, 7000, s->h.seq + 1, HG_TCP_SYN | HG_TCP_ACK,
	       65000, &o, NULL, 0);
	cr_expect_eq(c->state, HG_TCP_ESTABLISHED);
	cr_expect_eq(h_established, 1);
	cr_expect_eq(h_last()->h.flags, HG_TCP_ACK);
	cr_expect_eq(h_last()->h.ack, 7001);

	struct hg_tcp_conn *d = hg_tcp_connect(&h_st, 0, ME, PEER, 9001,
					       HG_CC_NEWRENO, &h_ops, NULL);
	s = h_last();
	h_send(9001, s->h.sport, 0, s->h.seq + 1, HG_TCP_RST | HG_TCP_ACK, 0,
	       NULL, NULL, 0);
	cr_expect_eq(h_close_why, HG_TCP_CLOSE_REFUSED);
	cr_expect_eq(h_ctr[HG_WC_tcp_refused], 1);
	(void)d;
}

Test(tcp, bad_checksum_dropped)
{
	struct rte_mbuf *m;

	h_listen();
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 8192, NULL, NULL, 0);
	cr_expect_eq(h_n_out, 1);
	/* Same SYN, one payload bit flipped after the checksum. */
	m = rte_pktmbuf_alloc(h_pool);
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, 54);
	memset(p, 0, 54);
	p[14] = 0x45;
	p[14 + 20 + 12] = 0x50;
	p[14 + 20 + 13] = HG_TCP_SYN;
	hg_tcp_input(&h_st, 0, m, 14, PEER, ME, 20, 20);
	cr_expect_eq(h_drops[HG_DROP_tcp_bad_checksum], 1);
}

/* Each option alone: the SYN-ACK answers exactly what was offered. */
Test(tcp, handshake_each_option_alone)
{
	h_listen();
	for (int opt = 0; opt < 4; opt++) {
		struct hg_tcp_opts o = {0};
		struct seg_out *s;
		uint16_t port = (uint16_t)(PEER_PORT + opt);

		switch (opt) {
		case 0:
			o.has_mss = true;
			o.mss = 1200;
			break;
		case 1:
			o.has_wscale = true;
			o.wscale = 9;
			break;
		case 2:
			o.sack_permitted = true;
			break;
		case 3:
			o.has_ts = true;
			o.tsval = 42;
			break;
		}
		h_clear();
		h_send(port, LPORT, ISN_PEER, 0, HG_TCP_SYN, 8192, &o, NULL, 0);
		s = h_last();
		cr_expect(s->h.opts.has_mss, "MSS always (option %d)", opt);
		cr_expect_eq(s->h.opts.has_wscale, opt == 1, "option %d", opt);
		cr_expect_eq(s->h.opts.sack_permitted, opt == 2, "option %d",
			     opt);
		cr_expect_eq(s->h.opts.has_ts, opt == 3, "option %d", opt);
		if (opt == 3)
			cr_expect_eq(s->h.opts.tsecr, 42);
		struct hg_tcp_opts a = {0};
		if (opt == 3) {
			a.has_ts = true;
			a.tsval = 43;
			a.tsecr = s->h.opts.tsval;
		}
		h_send(port, LPORT, ISN_PEER + 1, s->h.seq + 1, HG_TCP_ACK, 100,
		       &a, NULL, 0);
		cr_assert_not_null(h_conn);
		switch (opt) {
		case 0:
			cr_expect_eq(h_conn->mss, 1200, "peer MSS honoured");
			break;
		case 1:
			cr_expect_eq(h_conn->snd_wnd, 100u << 9);
			break;
		case 2:
			cr_expect(h_conn->flags & HG_TCPF_SACK);
			break;
		case 3:
			cr_expect(h_conn->flags & HG_TCPF_TS);
			cr_expect_eq(h_conn->mss, 536 - 12);
			break;
		}
	}
	cr_expect_eq(h_established, 4);
}

Test(tcp, mss_clamped_to_ours)
{
	struct hg_tcp_opts o = {.has_mss = true, .mss = 9000};

	h_listen();
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 8192, &o, NULL, 0);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, h_last()->h.seq + 1, HG_TCP_ACK,
	       8192, NULL, NULL, 0);
	cr_assert_not_null(h_conn);
	cr_expect_eq(h_conn->mss, 1460, "never more than our MTU allows");
}

Test(tcp, handshake_timeout_frees_half_open)
{
	struct hg_tcp_opts o = h_syn_opts(1);
	unsigned synacks = 0;

	h_listen();
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 8192, &o, NULL, 0);
	cr_expect_eq(h_st.n_conns, 1);
	for (int s = 0; s < 80 && h_st.n_conns > 0; s++) {
		h_clear();
		h_advance_ms(1000);
		synacks += h_n_out;
	}
	cr_expect_eq(h_st.n_conns, 0, "a half-open connection goes away");
	cr_expect_geq(synacks, 3, "SYN-ACK retransmitted first (%u)",
		      synacks);
	cr_expect_eq(h_st.listeners[0].half_open, 0);
}

static void with_keepalive(struct hg_tcp_cfg *c)
{
	c->keepalive_idle_us = 10 * 1000000;
	c->keepalive_intvl_us = 1000000;
	c->keepalive_probes = 3;
}

/* Its own set-up: keepalive on. */
Test(tcp_ka, keepalive_probes_then_abort, .init = NULL, .fini = h_teardown)
{
	uint32_t iss;

	h_setup_cfg(with_keepalive);
	iss = h_accept(100);
	(void)iss;
	h_advance_ms(10 * 1000 + 5);
	cr_assert_geq(h_n_out, 1, "a probe after keepalive_idle");
	cr_expect_eq(h_last()->h.seq, iss, "probe: snd_una - 1");
	cr_expect_eq(h_ctr[HG_WC_tcp_keepalive_probes], 1);
	h_advance_ms(4000);
	cr_expect_eq(h_closed, 1, "unanswered probes end it");
	cr_expect_eq(h_ctr[HG_WC_tcp_timeouts], 1);
	cr_expect_eq(h_last()->h.flags, HG_TCP_RST);
}

Test(tcp, listener_idle_timeout_resets)
{
	struct hg_tcp_listener *l;

	l = h_listen();
	l->idle_timeout_ms = 2000;
	h_st.n_listeners = 1;
	struct hg_tcp_opts o = h_syn_opts(5), a;
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 64240, &o, NULL, 0);
	a = ts(6, h_last()->h.opts.tsval);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, h_last()->h.seq + 1, HG_TCP_ACK,
	       502, &a, NULL, 0);
	cr_assert_eq(h_established, 1);
	h_clear();
	h_advance_ms(2100);
	cr_expect_eq(h_close_why, HG_TCP_CLOSE_IDLE);
	cr_expect_eq(h_last()->h.flags, HG_TCP_RST);
	cr_expect_eq(h_ctr[HG_WC_tcp_idle_timeouts], 1);
}

Test(tcp, receive_window_closes_and_reopens)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	static uint8_t buf[1448];
	uint32_t seq = ISN_PEER + 1, sent = 0;

	/* The application reads nothing: send while the window we
	 * announce takes a full segment (it never shrinks, RFC 9293
	 * 3.8.6.2.2, so it closes as the peer uses it up). */
	uint32_t wnd = 65535;
	for (int i = 0; i < 1000 && wnd >= sizeof(buf); i++) {
		h_send(PEER_PORT, LPORT, seq, iss + 1,
		       HG_TCP_ACK | HG_TCP_PSH, 502, &a, buf, sizeof(buf));
		seq += sizeof(buf);
		sent += sizeof(buf);
		wnd = (uint32_t)h_last()->h.window << h_conn->rcv_wscale;
	}
	cr_expect_geq(sent, h_conn->rcv_buf - sizeof(buf),
		      "the whole buffer was offered (%u)", sent);
	cr_expect_lt((uint32_t)h_last()->h.window << h_conn->rcv_wscale, 1448u,
		     "the window shut (%u)", h_last()->h.window);
	/* Beyond the window: dropped, answered with an ACK. */
	h_clear();
	h_send(PEER_PORT, LPORT, seq + 100000, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, sizeof(buf));
	cr_expect_eq(hg_tcp_rcv_bytes(h_conn), sent);
	/* The application reads: a window update goes out. */
	h_clear();
	struct rte_mbuf *m = hg_tcp_recv(h_conn, UINT32_MAX);
	cr_assert_not_null(m);
	cr_expect_eq(m->pkt_len, sent);
	rte_pktmbuf_free(m);
	cr_assert_geq(h_n_out, 1, "window update");
	cr_expect_gt(h_last()->h.window, 1000);
}

/* While we hold out-of-order data, our data segments carry SACK blocks:
 * the payload shrinks so options and payload stay within the MSS (a full
 * segment plus 28 bytes of SACK would exceed the MTU and be dropped). */
Test(tcp, data_segments_leave_room_for_sack_blocks)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	uint8_t buf[700] = {0};
	uint32_t mss, total = 0, seq;

	mss = h_conn->mss;
	cr_assert_eq(mss, 1448);
	/* Three holes on our receive side: three SACK blocks. */
	for (int i = 1; i <= 3; i++)
		h_send(PEER_PORT, LPORT, ISN_PEER + 1 + 200 * i, iss + 1,
		       HG_TCP_ACK, 502, &a, buf, 100);
	cr_assert_eq(h_conn->ooo.n, 3);
	h_clear();
	/* Queue four segments' worth first (as from inside a callback),
	 * then send. */
	h_st.in_conn = h_conn;
	for (int i = 0; i < 4; i++)
		hg_tcp_send(h_conn, h_data(mss, 'z'));
	h_st.in_conn = NULL;
	hg_tcp_output(h_conn);
	cr_assert_geq(h_n_out, 4);
	seq = iss + 1;
	for (unsigned i = 0; i < h_n_out; i++) {
		struct seg_out *o = &h_out[i];

		if (o->len == 0)
			continue;
		cr_expect_eq(o->h.seq, seq, "contiguous segments");
		cr_expect_eq(o->h.opts.n_sack, 3, "the blocks ride along");
		cr_expect_leq(o->h.hlen - 20 + o->len, 1460u,
			      "options %u + payload %u within the MSS",
			      o->h.hlen - 20, o->len);
		if (total + o->len < 4 * mss)
			cr_expect_eq(o->len, mss - 28, "MSS less 3 SACK blocks");
		seq += o->len;
		total += o->len;
	}
	cr_expect_eq(total, 4 * mss, "all of it sent (%u)", total);
	/* The holes fill: full segments again. */
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, 700);
	cr_assert_eq(h_conn->ooo.n, 0);
	h_clear();
	hg_tcp_send(h_conn, h_data(mss, 'y'));
	h_send(PEER_PORT, LPORT, ISN_PEER + 701, iss + 1 + total, HG_TCP_ACK,
	       502, &a, NULL, 0);
	for (unsigned i = 0; i < h_n_out; i++)
		if (h_out[i].len > 0)
			cr_expect_eq(h_out[i].len, mss,
				     "no SACK blocks, a full segment");
}

/* The retransmission paths shrink the same way. */
Test(tcp, retransmissions_leave_room_for_sack_blocks)
{
	uint32_t iss = h_accept(100);
	struct hg_tcp_opts a = ts(200, 0);
	uint8_t buf[100] = {0};
	uint32_t mss;

	mss = h_conn->mss;
	h_send(PEER_PORT, LPORT, ISN_PEER + 201, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, sizeof(buf));
	cr_assert_eq(h_conn->ooo.n, 1);
	hg_tcp_send(h_conn, h_data(mss, 'z'));
	h_clear();
	/* Nothing comes back: the tail probe, then the RTO, resend. */
	h_advance_ms(1500);
	cr_assert_geq(h_n_out, 2);
	cr_expect_geq(h_ctr[HG_WC_tcp_rto], 1);
	for (unsigned i = 0; i < h_n_out; i++) {
		if (h_out[i].len == 0)
			continue;
		cr_expect_eq(h_out[i].h.opts.n_sack, 1);
		cr_expect_leq(h_out[i].h.hlen - 20 + h_out[i].len, 1460u);
	}
}

/* --- BBR: delivery rate samples and pacing --- */

/* A passive open with BBR and a 100 ms handshake RTT; returns our ISS. */
static uint32_t h_accept_bbr(void)
{
	struct hg_tcp_opts o = h_syn_opts(100), a = {0};
	struct hg_tcp_listener *l = h_listen();
	struct seg_out *s;

	l->cc = HG_CC_BBR;
	h_send(PEER_PORT, LPORT, ISN_PEER, 0, HG_TCP_SYN, 64240, &o, NULL, 0);
	s = h_last();
	h_advance_ms(100);
	a.has_ts = true;
	a.tsval = 101;
	a.tsecr = s->h.opts.tsval;
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, s->h.seq + 1, HG_TCP_ACK, 2000,
	       &a, NULL, 0);
	cr_assert_eq(h_established, 1);
	cr_assert_eq(h_conn->cc.algo, HG_CC_BBR);
	h_clear();
	return s->h.seq;
}

static unsigned h_data_segs(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h_n_out; i++)
		n += h_out[i].len > 0;
	return n;
}

/* Queues `n` full segments without sending (as from a callback). */
static void h_queue(unsigned n)
{
	h_st.in_conn = h_conn;
	for (unsigned i = 0; i < n; i++)
		hg_tcp_send(h_conn, h_data(h_conn->mss, (uint8_t)i));
	h_st.in_conn = NULL;
}

Test(tcp, bbr_paces_segments_out)
{
	h_accept_bbr();
	/* One segment per millisecond. */
	h_conn->cc.bbr.pacing_rate = (uint64_t)h_conn->mss * 1000;
	h_queue(8);
	hg_tcp_output(h_conn);
	/* A millisecond's burst credit: two at once, then one a tick. */
	cr_expect_eq(h_data_segs(), 2, "%u at once", h_data_segs());
	cr_expect(hg_timer_armed(&h_conn->pace_timer), "the pacing timer");
	for (unsigned ms = 1; ms <= 6; ms++) {
		h_advance_ms(1);
		cr_expect_eq(h_data_segs(), 2 + ms, "after %u ms: %u", ms,
			     h_data_segs());
	}
	h_advance_ms(5);
	cr_expect_eq(h_data_segs(), 8, "all of it");
	/* CUBIC is not paced: a window at once. */
	h_conn->cc.algo = HG_CC_CUBIC;
	h_clear();
	h_queue(2);
	hg_tcp_output(h_conn);
	cr_expect_eq(h_data_segs(), 2);
}

Test(tcp, bbr_delivery_rate_from_acks)
{
	uint32_t iss = h_accept_bbr();
	struct hg_tcp_opts a = ts(200, 0);
	uint32_t mss = h_conn->mss;

	h_queue(10);
	hg_tcp_output(h_conn);
	cr_assert_eq(h_data_segs(), 10, "the initial window, within pacing");
	a.tsecr = h_out[0].h.opts.tsval;
	/* 100 ms later the peer acknowledges the first five, then SACKs the
	 * last four (segment 6 lost), 10 ms apart. */
	h_advance_ms(100);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 5 * mss, HG_TCP_ACK,
	       2000, &a, NULL, 0);
	cr_expect_eq(h_conn->delivered, 5 * mss);
	/* One round of 5 segments over 100 ms. */
	cr_expect_eq(hg_cc_bbr_bw(&h_conn->cc), 5ull * mss * 10,
		     "bw %lu", (unsigned long)hg_cc_bbr_bw(&h_conn->cc));
	h_advance_ms(10);
	a.n_sack = 1;
	a.sack[0].start = iss + 1 + 6 * mss;
	a.sack[0].end = iss + 1 + 10 * mss;
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 5 * mss, HG_TCP_ACK,
	       2000, &a, NULL, 0);
	cr_expect_eq(h_conn->delivered, 9 * mss, "SACKed bytes count");
	/* The retransmission of segment 6 is acknowledged with the rest:
	 * only what was not SACKed before counts again. */
	h_advance_ms(100);
	a.n_sack = 0;
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 10 * mss, HG_TCP_ACK,
	       2000, &a, NULL, 0);
	cr_expect_eq(h_conn->delivered, 10 * mss);
}

/* One random loss: BBR keeps its window (no multiplicative decrease),
 * and the retransmission goes out at once. */
Test(tcp, bbr_loss_keeps_the_window)
{
	uint32_t iss = h_accept_bbr();
	struct hg_tcp_opts a = ts(200, 0);
	uint32_t mss = h_conn->mss, before;

	h_queue(10);
	hg_tcp_output(h_conn);
	before = h_conn->cc.cwnd;
	h_clear();
	h_advance_ms(100);
	a.n_sack = 1;
	a.sack[0].start = iss + 1 + mss;
	for (int i = 2; i <= 5; i++) {
		a.sack[0].end = iss + 1 + (uint32_t)i * mss;
		h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK,
		       2000, &a, NULL, 0);
	}
	cr_assert(h_conn->in_recovery);
	cr_expect_eq(h_out[0].h.seq, iss + 1, "the hole resent");
	cr_expect_geq(h_conn->cc.cwnd, 4 * mss);
	/* All acknowledged: recovery ends with the window it had. */
	a.n_sack = 0;
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 10 * mss, HG_TCP_ACK,
	       2000, &a, NULL, 0);
	cr_expect_not(h_conn->in_recovery);
	cr_expect_geq(h_conn->cc.cwnd, before, "cwnd %u, before %u",
		      h_conn->cc.cwnd, before);
}

/* A timeout: one segment, then the old window once everything sent
 * before the timeout is acknowledged. */
Test(tcp, bbr_timeout_restores_the_window)
{
	uint32_t iss = h_accept_bbr();
	struct hg_tcp_opts a = ts(200, 0);
	uint32_t mss = h_conn->mss, before;

	h_queue(10);
	hg_tcp_output(h_conn);
	before = h_conn->cc.cwnd;
	h_clear();
	while (h_ctr[HG_WC_tcp_rto] == 0)
		h_advance_ms(1);
	cr_expect_eq(h_conn->cc.cwnd, mss);
	cr_expect(h_conn->flags & HG_TCPF_RTO_RECOVERY);
	a.tsecr = h_last()->h.opts.tsval;
	h_advance_ms(100);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 10 * mss, HG_TCP_ACK,
	       2000, &a, NULL, 0);
	cr_expect_not(h_conn->flags & HG_TCPF_RTO_RECOVERY);
	cr_expect_geq(h_conn->cc.cwnd, before);
}

/* Nothing more to send while the window had room: samples until that
 * flight is delivered are app limited. */
Test(tcp, bbr_marks_app_limited)
{
	uint32_t iss = h_accept_bbr();
	struct hg_tcp_opts a = ts(200, 0);
	uint32_t mss = h_conn->mss;

	h_queue(2);
	hg_tcp_output(h_conn);
	cr_expect_eq(h_conn->app_limited, 2 * mss, "delivered + in flight");
	h_advance_ms(100);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 2 * mss, HG_TCP_ACK,
	       2000, &a, NULL, 0);
	/* An app-limited sample may raise the estimate (here from
	 * nothing), never lower it. */
	cr_expect_eq(hg_cc_bbr_bw(&h_conn->cc), 2ull * mss * 10);
	cr_expect_eq(h_conn->app_limited, 2 * mss,
		     "until data sent after it is delivered");
	/* More than the window allows (cwnd limited, not app limited),
	 * then delivered past the mark. */
	h_queue(40);
	hg_tcp_output(h_conn);
	cr_expect_gt(h_conn->sndq_bytes, h_conn->snd_max - h_conn->snd_una);
	h_advance_ms(100);
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1 + 4 * mss, HG_TCP_ACK,
	       2000, &a, NULL, 0);
	cr_expect_eq(h_conn->app_limited, 0, "delivered past it");
}

/* RFC 8985 7.2: when 2 * SRTT is not shorter than the RTO (a 100 ms path
 * with a steady RTT: RTO at its 200 ms floor), the probe goes at the RTO's
 * time instead of the RTO, and the RTO is armed afresh after it. */
Test(tcp, tail_probe_when_pto_reaches_the_rto)
{
	uint32_t iss = h_accept(100);
	uint32_t cwnd = h_conn->cc.cwnd;
	uint64_t t0;

	h_conn->srtt_us = 100000;
	h_conn->rttvar_us = 2000;
	h_conn->rto_us = 200000;
	cr_assert_eq(hg_tcp_send(h_conn, h_data(h_conn->mss, 'x')), 0);
	h_clear();
	t0 = h_st.now_us;
	while (h_n_out == 0)
		h_advance_ms(1);
	cr_expect_eq(h_ctr[HG_WC_tcp_tail_probes], 1, "a probe");
	cr_expect_eq(h_ctr[HG_WC_tcp_rto], 0, "not a timeout");
	cr_expect_leq(h_st.now_us - t0, 201000);
	cr_expect_eq(h_last()->h.seq, iss + 1);
	cr_expect_eq(h_conn->cc.cwnd, cwnd, "window untouched");
	h_clear();
	t0 = h_st.now_us;
	while (h_n_out == 0)
		h_advance_ms(1);
	cr_expect_eq(h_ctr[HG_WC_tcp_rto], 1, "then the timeout");
	cr_expect_geq(h_st.now_us - t0, 200000);
}

/* The out-of-order queue holds a whole receive window behind one hole
 * (one segment per KiB of rcv_buf: 512 for 512 KiB), allocated at the
 * first out-of-order segment and bounded. */
static void with_512k(struct hg_tcp_cfg *c)
{
	c->rcv_buf = 512 * 1024;
}

Test(tcp_ooo, holds_a_window_behind_one_hole, .init = NULL,
     .fini = h_teardown)
{
	static uint8_t buf[600];
	struct hg_tcp_opts a = ts(200, 0);
	uint32_t iss;

	h_setup_cfg(with_512k);
	iss = h_accept(100);
	cr_expect_null(h_conn->ooo_q, "nothing allocated before it is needed");
	/* Byte 0 lost; 520 segments of 600 bytes after it. */
	for (uint32_t i = 0; i < 520; i++) {
		if (h_n_out > MAX_OUT - 8)
			h_clear();
		h_send(PEER_PORT, LPORT, ISN_PEER + 2 + i * 600, iss + 1,
		       HG_TCP_ACK, 502, &a, buf, sizeof(buf));
	}
	cr_expect_eq(h_conn->ooo_cap, 512);
	cr_expect_eq(h_conn->ooo_n, 512, "held %u", h_conn->ooo_n);
	cr_expect_eq(h_drops[HG_DROP_tcp_ooo_full], 8, "the rest dropped");
	/* The hole fills: everything held is delivered in order. */
	h_clear();
	h_send(PEER_PORT, LPORT, ISN_PEER + 1, iss + 1, HG_TCP_ACK, 502, &a,
	       buf, 1);
	cr_expect_eq(hg_tcp_rcv_bytes(h_conn), 1 + 512 * 600);
	cr_expect_eq(h_conn->ooo_n, 0);
	cr_expect_eq(h_last()->h.ack, ISN_PEER + 2 + 512 * 600);
}
