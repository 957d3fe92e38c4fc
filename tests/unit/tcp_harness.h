/* A TCP stack with no NIC, for unit tests: segments are crafted and fed to
 * hg_tcp_input, and what the stack emits is captured and parsed. Time is
 * ours to move (h_advance). The peer is 10.0.0.1, the stack 10.0.0.2. */
#ifndef HG_TCP_HARNESS_H
#define HG_TCP_HARNESS_H

#include <criterion/criterion.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pkt.h"
#include "tcp.h"
#include "tcp_hdr.h"

#define PEER 0x0a000001u
#define ME 0x0a000002u
#define PEER_PORT 40000
#define MAX_OUT 512

struct seg_out {
	struct hg_tcp_hdr h;
	uint32_t len;          /* payload bytes */
	uint8_t payload[2048]; /* first bytes of the payload */
	uint32_t dst;
};

static struct rte_mempool *h_pool;
static struct hg_tcp_stack h_st;
static uint64_t h_ctr[HG_WC_COUNT], h_drops[HG_DROP_COUNT];
static struct seg_out h_out[MAX_OUT];
static unsigned h_n_out;

/* What the test application saw. */
static unsigned h_established, h_readable, h_writable, h_closed;
static enum hg_tcp_close_reason h_close_why;
static struct hg_tcp_conn *h_conn; /* the last connection seen */

static void h_capture(void *ctx, struct rte_mbuf *m, uint32_t dst)
{
	uint8_t buf[4096];
	const uint8_t *p;
	struct hg_ipv4 ip;
	struct seg_out *o;

	(void)ctx;
	cr_assert_lt(h_n_out, MAX_OUT);
	o = &h_out[h_n_out++];
	cr_assert_leq(m->pkt_len, sizeof(buf));
	p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);
	cr_assert_eq(hg_parse_ipv4(p + 14, m->pkt_len - 14, &ip), HG_DROP_NONE,
		     "emitted IPv4 must parse");
	cr_assert(hg_tcp_csum_ok(ip.src, ip.dst, p + 14 + ip.hlen,
				 ip.payload_len),
		  "emitted TCP checksum must be right");
	cr_assert_eq(hg_parse_tcp(p + 14 + ip.hlen, ip.payload_len, &o->h),
		     HG_DROP_NONE);
	o->len = (uint32_t)(ip.payload_len - o->h.hlen);
	memcpy(o->payload, p + 14 + ip.hlen + o->h.hlen,
	       o->len < sizeof(o->payload) ? o->len : sizeof(o->payload));
	o->dst = dst;
	rte_pktmbuf_free(m);
}

static void app_established(struct hg_tcp_conn *c)
{
	h_established++;
	h_conn = c;
}
static void app_readable(struct hg_tcp_conn *c)
{
	h_readable++;
	h_conn = c;
}
static void app_writable(struct hg_tcp_conn *c)
{
	h_writable++;
	(void)c;
}
static void app_closed(struct hg_tcp_conn *c, enum hg_tcp_close_reason why)
{
	h_closed++;
	h_close_why = why;
	if (h_conn == c)
		h_conn = NULL;
}

static const struct hg_tcp_ops h_ops = {
	.on_established = app_established,
	.on_readable = app_readable,
	.on_writable = app_writable,
	.on_closed = app_closed,
};

static void h_setup_cfg(void (*tweak)(struct hg_tcp_cfg *))
{
	static char prefix[64];
	char *argv[] = {"test", "--no-huge", "-m", "64", "--no-pci",
			"--no-shconf", "--no-telemetry", "--log-level=error",
			"--lcores=0", prefix};
	struct hg_tcp_cfg cfg;

	snprintf(prefix, sizeof(prefix), "--file-prefix=hgtcp%d", getpid());
	cr_assert_geq(rte_eal_init(RTE_DIM(argv), argv), 0);
	h_pool = rte_pktmbuf_pool_create("t", 8192, 0, 0,
					 RTE_MBUF_DEFAULT_BUF_SIZE,
					 SOCKET_ID_ANY);
	cr_assert_not_null(h_pool);
	hg_tcp_cfg_default(&cfg);
	cfg.max_conns = 64;
	cfg.rcv_buf = 65535 * 4;
	cfg.snd_buf = 65536;
	cfg.timewait_max = 8;
	if (tweak)
		tweak(&cfg);
	cr_assert_eq(hg_tcp_stack_init(&h_st, &cfg, h_pool, 0, 1, h_ctr,
				       h_drops),
		     0);
	h_st.output = h_capture;
	h_st.now_us = 10 * 1000000ULL;
	hg_tcp_timers(&h_st);
}

static void h_setup(void)
{
	h_setup_cfg(NULL);
}

static void h_teardown(void)
{
	hg_tcp_stack_free(&h_st);
	for (unsigned i = 0; i < h_n_out; i++)
		(void)0;
	rte_mempool_free(h_pool);
	rte_eal_cleanup();
}

/* Crafts and feeds one segment from the peer. */
static void h_send(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		   uint8_t flags, uint16_t window, const struct hg_tcp_opts *o,
		   const void *data, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h_pool);
	struct hg_tcp_hdr h = {.sport = sport, .dport = dport, .seq = seq,
			       .ack = ack, .flags = flags, .window = window};
	uint8_t tcp[60];
	size_t tl;
	uint8_t *p;

	if (o)
		h.opts = *o;
	tl = hg_tcp_hdr_write(tcp, sizeof(tcp), &h);
	cr_assert_gt(tl, 0);
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + 20 + tl + len));
	memset(p, 0, 14);
	p[12] = 0x08;
	uint8_t *ip = p + 14;
	uint16_t total = (uint16_t)(20 + tl + len);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[8] = 64;
	ip[9] = 6;
	ip[12] = PEER >> 24, ip[13] = PEER >> 16 & 0xff, ip[14] = PEER >> 8 & 0xff,
	ip[15] = PEER & 0xff;
	ip[16] = ME >> 24, ip[17] = ME >> 16 & 0xff, ip[18] = ME >> 8 & 0xff,
	ip[19] = ME & 0xff;
	uint16_t ick = hg_csum_finish(hg_csum_add(0, ip, 20));
	ip[10] = (uint8_t)(ick >> 8);
	ip[11] = (uint8_t)ick;
	memcpy(ip + 20, tcp, tl);
	if (len)
		memcpy(ip + 20 + tl, data, len);
	uint16_t ck = hg_tcp_csum(PEER, ME, ip + 20, tl + len, 0, tl + len);
	ip[20 + 16] = (uint8_t)(ck >> 8);
	ip[20 + 17] = (uint8_t)ck;
	hg_tcp_input(&h_st, 0, m, 14, PEER, ME, tl + len, 20);
}

static void h_advance_ms(uint64_t ms)
{
	/* One millisecond at a time, as the worker's timer tick. */
	for (uint64_t i = 0; i < ms; i++) {
		h_st.now_us += 1000;
		hg_tcp_timers(&h_st);
	}
}

static struct seg_out *h_last(void)
{
	cr_assert_gt(h_n_out, 0, "expected a segment");
	return &h_out[h_n_out - 1];
}

static void h_clear(void)
{
	h_n_out = 0;
}

/* Full options, like a Linux SYN. */
static struct hg_tcp_opts h_syn_opts(uint32_t tsval)
{
	struct hg_tcp_opts o = {.has_mss = true, .mss = 1460,
				.has_wscale = true, .wscale = 7,
				.sack_permitted = true, .has_ts = true,
				.tsval = tsval};
	return o;
}

#endif
