#include "msg.h"

#include <stdbool.h>
#include <string.h>

/* Payload size each type must carry. */
static const uint32_t msg_payload_len[HG_MSG_TYPE_COUNT] = {
	[HG_MSG_STATS_REQ] = 0,
	[HG_MSG_STATS_REPLY] = sizeof(struct hg_stats_reply),
	[HG_MSG_TCP_CONNECT] = sizeof(struct hg_tcp_connect_req),
	[HG_MSG_TCP_CONNECT_REPLY] = sizeof(struct hg_tcp_connect_reply),
	[HG_MSG_VS_STATS_REPLY] = sizeof(struct hg_vs_stats),
	[HG_MSG_FLOWS_REQ] = sizeof(struct hg_flows_req),
	[HG_MSG_FLOWS_REPLY] = sizeof(struct hg_flows_reply),
	[HG_MSG_FLOW_KILL] = sizeof(struct hg_flow_kill),
	[HG_MSG_FLOW_KILL_REPLY] = sizeof(struct hg_flow_kill),
	[HG_MSG_TLS_HS_DONE] = sizeof(struct hg_tls_hs_done),
	[HG_MSG_TLS_HS_FAIL] = sizeof(struct hg_tls_hs_end),
	[HG_MSG_TLS_HS_ABORT] = sizeof(struct hg_tls_hs_end),
	[HG_MSG_FLOW_GONE] = sizeof(struct hg_tls_hs_end),
	[HG_MSG_FLOW_ENDED] = sizeof(struct hg_flow_ended),
};

/* Checks a message whose payload is a header and `len` bytes. */
static bool var_len_ok(const struct hg_msg *m)
{
	if (m->type == HG_MSG_TLS_HS_DATA || m->type == HG_MSG_FLOW_DATA) {
		const struct hg_tls_hs_data *d = (const void *)m->payload;

		return m->len >= sizeof(*d) &&
		       m->len == sizeof(*d) + (uint32_t)d->len;
	}
	if (m->type == HG_MSG_TLS_HS_OUT || m->type == HG_MSG_FLOW_OUT) {
		const struct hg_tls_hs_out *o = (const void *)m->payload;

		return m->len >= sizeof(*o) &&
		       m->len == sizeof(*o) + (uint32_t)o->len;
	}
	if (m->type == HG_MSG_FLOW_VERDICT) {
		const struct hg_flow_verdict *v = (const void *)m->payload;

		return m->len >= sizeof(*v) &&
		       m->len == sizeof(*v) + (uint32_t)v->len;
	}
	return false;
}

int hg_msg_send2(struct hg_ring *r, uint16_t type, uint64_t seq,
		 const void *hdr, uint32_t hlen, const void *data,
		 uint32_t dlen)
{
	uint64_t len = (uint64_t)hlen + dlen;
	struct hg_msg *m;

	if (len > HG_MSG_MAX_PAYLOAD || len > r->slot_size - sizeof(*m))
		return -2;
	m = hg_ring_reserve(r);
	if (m == NULL)
		return -1;
	m->version = HG_MSG_VERSION;
	m->type = type;
	m->len = (uint32_t)len;
	m->seq = seq;
	if (hlen > 0)
		memcpy(m->payload, hdr, hlen);
	if (dlen > 0)
		memcpy(m->payload + hlen, data, dlen);
	hg_ring_commit(r);
	return 0;
}

int hg_msg_send(struct hg_ring *r, uint16_t type, uint64_t seq,
		const void *payload, uint32_t len)
{
	return hg_msg_send2(r, type, seq, payload, len, NULL, 0);
}

const struct hg_msg *hg_msg_check(const void *slot)
{
	const struct hg_msg *m = slot;

	if (m->version != HG_MSG_VERSION)
		return NULL;
	if (m->type == HG_MSG_NONE || m->type >= HG_MSG_TYPE_COUNT)
		return NULL;
	if (m->len > HG_MSG_MAX_PAYLOAD)
		return NULL;
	if (m->type == HG_MSG_TLS_HS_DATA || m->type == HG_MSG_TLS_HS_OUT ||
	    m->type == HG_MSG_FLOW_DATA || m->type == HG_MSG_FLOW_OUT ||
	    m->type == HG_MSG_FLOW_VERDICT)
		return var_len_ok(m) ? m : NULL;
	if (m->len != msg_payload_len[m->type])
		return NULL;
	return m;
}
