/* Built-in test services, in the spirit of the classic echo (RFC 862),
 * discard (RFC 863) and character generator (RFC 864) services, so the
 * TCP stack can be tested and measured on its own:
 *   echo     sends back every byte (moving the received mbufs onto the
 *            send queue: no copy), closes its side after the peer's FIN
 *   discard  drops every byte, closes its side after the peer's FIN
 *   source   sends a deterministic stream, byte i being (i mod 251), until
 *            `limit` bytes (0: until the peer goes away); input discarded
 * A service's per-connection state fits in the connection (app_u64: bytes
 * produced so far; app: the limit). */
#include <rte_mbuf.h>
#include <string.h>

#include "tcp.h"
#include "tcp_svc.h"

#define PATTERN_PERIOD 251
#define SOURCE_CHUNK 1448 /* a typical MSS: one mbuf per segment */

static uint8_t pattern[PATTERN_PERIOD + 2048];

void hg_svc_init(void)
{
	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i % PATTERN_PERIOD);
}

static void drain_input(struct hg_tcp_conn *c)
{
	struct rte_mbuf *m;

	while ((m = hg_tcp_recv(c, UINT32_MAX)) != NULL)
		rte_pktmbuf_free(m);
}

/* --- echo --- */

static void echo_pump(struct hg_tcp_conn *c)
{
	uint32_t space = hg_tcp_snd_space(c);

	while (space > 0 && hg_tcp_rcv_bytes(c) > 0) {
		struct rte_mbuf *m = hg_tcp_recv(c, space);

		if (m == NULL)
			break;
		space -= m->pkt_len < space ? m->pkt_len : space;
		if (hg_tcp_send(c, m) < 0)
			return;
	}
	if (c->rcv_fin && hg_tcp_rcv_bytes(c) == 0)
		hg_tcp_shutdown(c);
}

static const struct hg_tcp_ops echo_ops = {
	.on_readable = echo_pump,
	.on_writable = echo_pump,
};

/* --- discard --- */

static void discard_readable(struct hg_tcp_conn *c)
{
	drain_input(c);
	if (c->rcv_fin)
		hg_tcp_shutdown(c);
}

static const struct hg_tcp_ops discard_ops = {
	.on_readable = discard_readable,
};

/* --- source --- */

static uint64_t source_limit(const struct hg_tcp_conn *c)
{
	return (uint64_t)(uintptr_t)c->app;
}

static void source_fill(struct hg_tcp_conn *c)
{
	struct rte_mempool *pool = c->stack->pool;
	uint64_t limit = source_limit(c);

	while (hg_tcp_snd_space(c) > 0 &&
	       (limit == 0 || c->app_u64 < limit)) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint32_t n = SOURCE_CHUNK;
		char *p;

		if (m == NULL)
			return; /* retried on the next ACK */
		if (limit != 0 && limit - c->app_u64 < n)
			n = (uint32_t)(limit - c->app_u64);
		p = rte_pktmbuf_append(m, (uint16_t)n);
		memcpy(p, pattern + c->app_u64 % PATTERN_PERIOD, n);
		c->app_u64 += n;
		if (hg_tcp_send(c, m) < 0)
			return;
	}
	if (limit != 0 && c->app_u64 >= limit)
		hg_tcp_shutdown(c);
}

static void source_readable(struct hg_tcp_conn *c)
{
	drain_input(c);
	if (c->rcv_fin) /* the client is done: finish our side too */
		hg_tcp_shutdown(c);
}

static const struct hg_tcp_ops source_ops = {
	.on_established = source_fill,
	.on_readable = source_readable,
	.on_writable = source_fill,
};

const struct hg_tcp_ops *hg_svc_ops(enum hg_tcp_service svc)
{
	switch (svc) {
	case HG_SVC_ECHO:
		return &echo_ops;
	case HG_SVC_DISCARD:
		return &discard_ops;
	case HG_SVC_SOURCE:
		return &source_ops;
	default:
		return NULL;
	}
}
