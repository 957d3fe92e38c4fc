/* The channel's messages: the contract between data plane and control plane.
 *
 * Every slot starts with struct hg_msg. Both sides check on arrival that the
 * version is theirs, the type is known and the payload length is exactly
 * what the type needs (hg_msg_check); a message that fails is counted and
 * dropped, never acted on. Requests carry a sequence number that the answer
 * echoes, so an answer that arrives after its request timed out (or after a
 * control plane restart) is recognised and ignored.
 *
 * Directions: "to_dp" rings carry control-plane requests to one worker;
 * "to_cp" rings carry that worker's answers and events back.
 */
#ifndef HG_MSG_H
#define HG_MSG_H

#include <stdint.h>

#include "config.h"
#include "counters.h"
#include "ring.h"
#include "tls_keys.h"

#define HG_MSG_VERSION 3
#define HG_SLOT_SIZE 4096

enum hg_msg_type {
	HG_MSG_NONE = 0,
	HG_MSG_STATS_REQ = 1,   /* cp -> dp, no payload */
	HG_MSG_STATS_REPLY = 2, /* dp -> cp, struct hg_stats_reply */
	HG_MSG_TCP_CONNECT = 3, /* cp -> dp, struct hg_tcp_connect_req */
	HG_MSG_TCP_CONNECT_REPLY = 4, /* dp -> cp, struct hg_tcp_connect_reply */
	HG_MSG_VS_STATS_REPLY = 5, /* dp -> cp, after a STATS_REPLY, one per
				      virtual server: struct hg_vs_stats */
	HG_MSG_FLOWS_REQ = 6,   /* cp -> dp, struct hg_flows_req */
	HG_MSG_FLOWS_REPLY = 7, /* dp -> cp, struct hg_flows_reply */
	HG_MSG_FLOW_KILL = 8,   /* cp -> dp, struct hg_flow_kill */
	HG_MSG_FLOW_KILL_REPLY = 9, /* dp -> cp, struct hg_flow_kill */
	/* A TLS flow's handshake (see "TLS handshakes" below). */
	HG_MSG_TLS_HS_DATA = 10,  /* dp -> cp, hg_tls_hs_data + bytes */
	HG_MSG_TLS_HS_OUT = 11,   /* cp -> dp, hg_tls_hs_out + bytes */
	HG_MSG_TLS_HS_DONE = 12,  /* cp -> dp, struct hg_tls_hs_done */
	HG_MSG_TLS_HS_FAIL = 13,  /* cp -> dp, struct hg_tls_hs_end */
	HG_MSG_TLS_HS_ABORT = 14, /* dp -> cp, struct hg_tls_hs_end */
	/* A flow the control plane decides (see "Flows the control plane
	 * decides" below). */
	HG_MSG_FLOW_DATA = 15,    /* dp -> cp, hg_flow_data + bytes */
	HG_MSG_FLOW_OUT = 16,     /* cp -> dp, hg_tls_hs_out + bytes */
	HG_MSG_FLOW_VERDICT = 17, /* cp -> dp, hg_flow_verdict + bytes */
	HG_MSG_FLOW_GONE = 18,    /* dp -> cp, struct hg_tls_hs_end */
	HG_MSG_FLOW_ENDED = 19,   /* dp -> cp, struct hg_flow_ended */
	HG_MSG_TYPE_COUNT
};

struct hg_msg {
	uint16_t version;
	uint16_t type;
	uint32_t len; /* payload bytes after this header */
	uint64_t seq; /* request number, echoed in the answer */
	uint8_t payload[];
};

#define HG_MSG_MAX_PAYLOAD (HG_SLOT_SIZE - sizeof(struct hg_msg))

/* A worker's counters at one instant. */
struct hg_stats_reply {
	uint32_t worker;
	uint32_t n_ports;
	uint64_t tsc_hz;
	uint64_t worker_ctr[HG_WC_COUNT];
	uint64_t drops[HG_DROP_COUNT];
	uint64_t port_ctr[HG_MAX_PORTS][HG_PC_COUNT];
	uint64_t pmd_ctr[HG_MAX_PORTS][HG_PMD_COUNT]; /* worker 0 only */
};

_Static_assert(sizeof(struct hg_stats_reply) <= HG_MSG_MAX_PAYLOAD,
	       "stats reply must fit one slot");

/* Opens a TCP connection from the data plane to addr:port and runs a test
 * service (enum hg_service_kind) on it: the stack's active open, before
 * the relay uses it. */
struct hg_tcp_connect_req {
	uint32_t addr; /* host order */
	uint16_t port;
	uint8_t service;
	uint8_t cc;
	uint64_t bytes; /* source: bytes to send, then close */
};

enum hg_vs_counter {
	HG_VSC_flows,
	HG_VSC_active,
	HG_VSC_refused,
	HG_VSC_bytes_c2b,
	HG_VSC_bytes_b2c,
	HG_VSC_COUNT
};

enum hg_backend_counter {
	HG_BEC_flows,
	HG_BEC_active,
	HG_BEC_connect_failures,
	HG_BEC_marked_down,
	HG_BEC_down, /* 1 when this worker has it marked down now */
	HG_BEC_COUNT
};

struct hg_vs_stats {
	uint32_t worker;
	uint32_t vs;
	uint32_t n_backends;
	uint32_t pad;
	uint64_t vs_ctr[HG_VSC_COUNT];
	uint64_t backend_ctr[HG_VS_MAX_BACKENDS][HG_BEC_COUNT];
};

_Static_assert(sizeof(struct hg_vs_stats) <= HG_MSG_MAX_PAYLOAD,
	       "virtual server stats must fit one slot");

struct hg_flows_req {
	int32_t vs;      /* -1: all virtual servers */
	uint32_t limit;  /* per worker, at most HG_FLOWS_PER_REPLY */
	uint32_t client; /* 0: any client address */
	uint32_t pad;
};

struct hg_flow_info {
	uint64_t id;
	uint32_t client_addr, backend_addr;
	uint16_t client_port, backend_port, local_port;
	uint8_t vs, backend, state, pad[3];
	uint32_t age_ms, idle_ms;
	uint64_t bytes_c2b, bytes_b2c;
};

#define HG_FLOWS_PER_REPLY                                                     \
	((HG_MSG_MAX_PAYLOAD - 16) / sizeof(struct hg_flow_info))

struct hg_flows_reply {
	uint32_t worker;
	uint32_t n;      /* entries below */
	uint64_t active; /* flows on this worker, listed or not */
	struct hg_flow_info flows[HG_FLOWS_PER_REPLY];
};

_Static_assert(sizeof(struct hg_flows_reply) <= HG_MSG_MAX_PAYLOAD,
	       "flows reply must fit one slot");

struct hg_flow_kill {
	uint64_t id;
	int32_t status; /* reply: 0, or -ENOENT */
	uint32_t pad;
};

struct hg_tcp_connect_reply {
	int32_t status; /* 0, or a negative errno */
	uint32_t worker;
	uint32_t laddr;
	uint16_t lport;
	uint16_t pad;
};

/* TLS handshakes. A client on a TLS virtual server is accepted by the data
 * plane, which sends every byte the client sends (HS_DATA, in order, with
 * its offset in the client's stream) to the control plane and keeps them.
 * The control plane runs the handshake (OpenSSL) and answers with the
 * bytes to send to the client (HS_OUT, in order), then either HS_DONE (the
 * keys, and how many of the client's bytes the handshake used: the rest
 * are records the data plane decrypts itself) or HS_FAIL (the flow ends
 * after the HS_OUT bytes, usually an alert, are sent). HS_ABORT tells the
 * control plane the flow is gone (client closed, handshake timed out).
 * Messages name the flow by its id (lib/flow_table.h); answers for a flow
 * that no longer exists are dropped. HS_DATA and HS_OUT carry a header and
 * then `len` bytes: their payload length varies (hg_msg_check checks it
 * against the header). */
/*
 * A flow may have two handshakes, one after the other: the client's (the
 * gateway is the TLS server) and, with backend_tls, the backend's (the
 * gateway is the client: the data plane starts it with an HS_DATA of no
 * bytes flagged FIRST, and the control plane answers with the
 * ClientHello). `side` says which one a message is about.
 */
#define HG_TLS_HS_FIRST 1u /* hg_tls_hs_data.flags: the flow's first bytes */

enum hg_tls_side { HG_TLS_SIDE_CLIENT = 0, HG_TLS_SIDE_BACKEND = 1 };

struct hg_tls_hs_data {
	uint64_t flow;
	uint64_t offset; /* of data[0] in the peer's stream */
	uint32_t worker;
	uint32_t peer_addr; /* the client, or the backend */
	uint16_t peer_port;
	uint16_t vs;
	uint8_t flags;
	uint8_t side;
	uint16_t len;
	uint8_t data[];
};

struct hg_tls_hs_out {
	uint64_t flow;
	uint16_t len;
	uint8_t side;
	uint8_t pad[5];
	uint8_t data[];
};

#define HG_TLS_HS_CHUNK (HG_MSG_MAX_PAYLOAD - sizeof(struct hg_tls_hs_data))

struct hg_tls_hs_done {
	uint64_t flow;
	uint64_t consumed; /* the peer's stream bytes the handshake used */
	uint32_t side;
	uint32_t pad;
	struct hg_tls_keys keys; /* the receiver wipes the slot after use */
};

enum hg_tls_hs_fail_reason {
	HG_TLS_FAIL_HANDSHAKE = 1, /* the peer or OpenSSL ended it */
	HG_TLS_FAIL_NO_CONTEXT,    /* no TLS context for this virtual server */
	HG_TLS_FAIL_CHANNEL,       /* an answer could not be queued */
	HG_TLS_FAIL_INTERNAL,
};

struct hg_tls_hs_end {
	uint64_t flow;
	uint32_t worker;
	uint16_t reason; /* HS_FAIL: enum hg_tls_hs_fail_reason */
	uint16_t side;
};

/* Flows the control plane decides. A virtual server whose handler is not
 * "relay" hands each flow, once its client handshake is done, to the
 * control plane: the data plane sends the client's plaintext (FLOW_DATA,
 * in order, with offsets; it keeps the bytes) and sends the client what
 * the control plane answers (FLOW_OUT, sealed into records), until a
 * FLOW_VERDICT: relay (drop the first `consume` bytes of the client's
 * plaintext, connect to addr:port, send `len` bytes to the server first,
 * then relay the rest both ways) or close (close_notify and FIN).
 * FLOW_GONE tells the control plane the flow ended before its verdict.
 * FLOW_DATA uses struct hg_tls_hs_data's layout (side unused); FLOW_OUT
 * uses struct hg_tls_hs_out's. */
#define HG_FLOW_DATA_FIN 2u /* hg_tls_hs_data.flags: the client closed */

enum hg_flow_action {
	HG_FLOW_RELAY = 1, /* to addr:port */
	HG_FLOW_CLOSE = 2,
};

/* A flow the control plane relayed (verdict HG_FLOW_RELAY) has ended:
 * its bytes for the session's record and the audit line, and whether
 * the server ever answered (the control plane's server health). */
struct hg_flow_ended {
	uint64_t flow;
	uint64_t bytes_c2s; /* client to server, plaintext */
	uint64_t bytes_s2c;
	uint32_t worker;
	uint32_t addr; /* the server, host order */
	uint16_t port;
	uint8_t connected; /* the server's TCP connection was established */
	uint8_t pad[5];
};

struct hg_flow_verdict {
	uint64_t flow;
	uint32_t consume; /* client plaintext bytes the control plane used */
	uint32_t addr;    /* HG_FLOW_RELAY: host order */
	uint16_t port;
	uint8_t action;
	uint8_t pad;
	uint16_t len; /* bytes for the server, before the client's */
	uint16_t pad2;
	uint8_t data[];
};

/* Builds and publishes one message on `r`. Returns 0, -1 when the ring is
 * full (the caller counts it; nothing blocks) or -2 when `len` does not fit
 * a slot. */
int hg_msg_send(struct hg_ring *r, uint16_t type, uint64_t seq,
		const void *payload, uint32_t len);

/* The same for a message whose payload is `hdr` followed by `data`. */
int hg_msg_send2(struct hg_ring *r, uint16_t type, uint64_t seq,
		 const void *hdr, uint32_t hlen, const void *data,
		 uint32_t dlen);

/* Checks a received slot: version, known type, exact payload length.
 * Returns the message or NULL. */
const struct hg_msg *hg_msg_check(const void *slot);

#endif
