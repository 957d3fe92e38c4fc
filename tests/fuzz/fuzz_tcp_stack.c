/* Fuzz target: the whole TCP input path, state machine included.
 *
 * The input is a script of records:
 *   0x00..0xef  a segment: the byte is the TCP header+payload length (up to
 *               239) and that many raw bytes follow; ports are forced onto
 *               the echo listener and one of 4 peers, the checksum is made
 *               right, everything else is the fuzzer's
 *   0xf0..0xff  time passes: (b & 0x0f) * 50 ms, timers run
 * The stack runs the echo service, so received data is sent back, which
 * drives the send side, retransmissions and closes too. Invariants checked:
 * every segment the stack emits parses and has a right checksum; after the
 * stack is freed every mbuf is back in the pool (nothing leaked). */
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "tcp.h"
#include "tcp_hdr.h"
#include "tcp_svc.h"

#define PEER 0x0a000001u
#define ME 0x0a000002u
#define POOL_SIZE 4095

static struct rte_mempool *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz", "--no-huge", "-m", "64", "--no-pci",
		       "--no-shconf", "--no-telemetry", "--log-level=error",
		       "--lcores=0", "--file-prefix=hgfuzztcp"};

	(void)argc;
	(void)argv;
	if (rte_eal_init(RTE_DIM(eal), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create("fz", POOL_SIZE, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		abort();
	hg_svc_init();
	return 0;
}

static void check_output(void *ctx, struct rte_mbuf *m, uint32_t dst)
{
	uint8_t buf[4096];
	const uint8_t *p;
	struct hg_ipv4 ip;
	struct hg_tcp_hdr h;

	(void)ctx;
	if (dst != PEER || m->pkt_len > sizeof(buf))
		abort();
	p = rte_pktmbuf_read(m, 0, m->pkt_len, buf);
	if (hg_parse_ipv4(p + 14, m->pkt_len - 14, &ip) != HG_DROP_NONE) {
		fprintf(stderr, "emitted IPv4 does not parse: frame %u bytes, "
				"total length %u\n",
			m->pkt_len, (unsigned)(p[16] << 8 | p[17]));
		abort();
	}
	if (!hg_tcp_csum_ok(ip.src, ip.dst, p + 14 + ip.hlen, ip.payload_len) ||
	    hg_parse_tcp(p + 14 + ip.hlen, ip.payload_len, &h) != HG_DROP_NONE) {
		fprintf(stderr, "emitted TCP segment is malformed: csum %d "
				"parse %d, %u bytes, %u segments\n",
			hg_tcp_csum_ok(ip.src, ip.dst, p + 14 + ip.hlen,
				       ip.payload_len),
			hg_parse_tcp(p + 14 + ip.hlen, ip.payload_len, &h),
			m->pkt_len, m->nb_segs);
		abort();
	}
	rte_pktmbuf_free(m);
}

static void feed(struct hg_tcp_stack *s, const uint8_t *seg, size_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p, *tcp;
	uint16_t total = (uint16_t)(20 + len), ck;

	if (m == NULL)
		return;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(14 + total));
	memset(p, 0, 34);
	p[14] = 0x45;
	p[16] = (uint8_t)(total >> 8);
	p[17] = (uint8_t)total;
	p[22] = 64;
	p[23] = 6;
	tcp = p + 34;
	memcpy(tcp, seg, len);
	if (len >= 20) {
		/* Our listener, one of four peers; a right checksum. */
		tcp[0] = 0x9c;
		tcp[1] = (uint8_t)(0x40 | (seg[1] & 3));
		tcp[2] = 0;
		tcp[3] = 7;
		tcp[16] = tcp[17] = 0;
		ck = hg_tcp_csum(PEER, ME, tcp, len, 0, len);
		tcp[16] = (uint8_t)(ck >> 8);
		tcp[17] = (uint8_t)ck;
	}
	hg_tcp_input(s, 0, m, 14, PEER, ME, len, 20);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t ctr[HG_WC_COUNT], drops[HG_DROP_COUNT];
	struct hg_tcp_stack s;
	struct hg_tcp_cfg cfg;
	struct hg_tcp_listener *l;
	size_t i = 0;

	hg_tcp_cfg_default(&cfg);
	cfg.max_conns = 8;
	cfg.rcv_buf = 16384;
	cfg.snd_buf = 16384;
	cfg.timewait_max = 2;
	if (hg_tcp_stack_init(&s, &cfg, pool, 0, 1, ctr, drops) < 0)
		abort();
	/* Fixed keys: the same input makes the same ISNs, so the fuzzer (and
	 * the seeds) can complete handshakes. */
	s.secret = (struct hg_isn_secret){{1, 2}, {3, 4}};
	s.output = check_output;
	s.now_us = 1000000;
	l = hg_tcp_listen(&s, ME, 7, hg_svc_ops(HG_SVC_ECHO), NULL);
	l->backlog = 2; /* reach SYN cookies quickly */
	while (i < size) {
		uint8_t b = data[i++];

		if (b >= 0xf0) {
			s.now_us += (uint64_t)(b & 0x0f) * 50000;
			hg_tcp_timers(&s);
			continue;
		}
		if (b > size - i)
			b = (uint8_t)(size - i);
		feed(&s, data + i, b);
		i += b;
	}
	s.now_us += 200ULL * 1000000;
	hg_tcp_timers(&s);
	hg_tcp_stack_free(&s);
	if (rte_mempool_avail_count(pool) != POOL_SIZE) {
		fprintf(stderr, "mbufs leaked: %u of %u back\n",
			rte_mempool_avail_count(pool), POOL_SIZE);
		abort();
	}
	return 0;
}
