/* The L4 relay: a client connection in, a backend connection out, every
 * byte moved both ways as mbufs from one connection's receive queue to the
 * other's send queue, never copied.
 *
 * One struct hg_relay per worker (its flow table, its view of each virtual
 * server's backend pool); both connections of a flow live on that worker
 * (the backend connection's local port is chosen so that its answers come
 * back here, see hg_tcp_port_owner).
 *
 * Backpressure needs no code of its own: the relay moves only what the
 * other side's send queue has room for; what stays in a receive queue
 * closes that connection's receive window, so a slow side slows the fast
 * one and each flow holds at most its two connections' buffers.
 */
#ifndef HG_RELAY_H
#define HG_RELAY_H

#include "backend.h"
#include "flow_table.h"
#include "msg.h"
#include "tcp.h"

enum hg_relay_state {
	HG_RELAY_CONNECTING = 0, /* client accepted, backend connecting */
	HG_RELAY_OPEN,           /* bytes flowing */
	HG_RELAY_CLOSING,        /* one side gone, the other finishing */
	HG_RELAY_HANDSHAKE,      /* TLS: the control plane runs the handshake */
	HG_RELAY_CONTROL,        /* the control plane reads the first bytes
				    and decides (handler other than relay) */
};

struct hg_relay_vs;
struct hg_relay_tls; /* relay_tls.c: a TLS flow's record layer and queues */

struct hg_relay_flow {
	struct hg_flow_entry *entry;
	struct hg_relay_vs *vs;
	struct hg_tcp_conn *client;
	struct hg_tcp_conn *backend;
	int backend_idx;
	uint32_t tried;       /* backends tried, bit mask */
	uint8_t state;
	bool client_fin_sent; /* we shut the client side down */
	bool backend_fin_sent;
	uint64_t created_us;
	uint64_t bytes_c2b, bytes_b2c;
	struct rte_mbuf *first_to_backend; /* hg_relay_attach's bytes */
	struct hg_relay_tls *tls; /* NULL on a plain TCP virtual server */
	/* A server the control plane chose (not from the pool): 0 if none. */
	uint32_t to_addr;
	uint16_t to_port;
	bool backend_connected; /* its TCP handshake completed */
};

struct hg_relay;

struct hg_relay_vs {
	struct hg_relay *relay;
	const struct hg_vs_config *cfg;
	unsigned index;
	uint8_t port; /* the data-plane port used towards the backends */
	struct hg_pool pool;
	struct hg_tcp_listener *listener;
	uint64_t ctr[HG_VSC_COUNT];
};

struct hg_relay {
	struct hg_tcp_stack *tcp;
	uint64_t *wctr; /* the worker's counters */
	struct hg_flow_table table;
	struct hg_relay_flow *flows; /* one per table slot */
	struct hg_relay_vs vs[HG_MAX_VS];
	unsigned n_vs;
	uint32_t (*port_addr)(void *ctx, uint32_t dst, uint8_t *port);
	void *port_ctx;
	/* TLS virtual servers: per-flow TLS state (one per table slot, only
	 * when some virtual server terminates TLS), the worker's crypto
	 * manager, handshakes in progress per virtual server oldest first
	 * (for their timeout), and the way to the control plane. */
	struct hg_relay_tls *tls;
	void *imb; /* IMB_MGR */
	struct hg_relay_tls *hs_head[HG_MAX_VS], *hs_tail[HG_MAX_VS];
	uint32_t worker;
	int (*to_cp)(void *ctx, uint16_t type, const void *hdr, uint32_t hlen,
		     const void *data, uint32_t dlen);
	void *cp_ctx;
};

/* Sets the relay up for the config's virtual servers on a worker's TCP
 * stack. `port_addr` answers, for a backend address, the data-plane port
 * and local address to connect from (the inside address: servers see the
 * gateway, never the client). */
int hg_relay_init(struct hg_relay *r, struct hg_tcp_stack *tcp,
		  const struct hg_config *cfg, uint64_t *wctr,
		  uint32_t (*port_addr)(void *ctx, uint32_t dst, uint8_t *port),
		  void *port_ctx);
void hg_relay_free(struct hg_relay *r);

/* Fires what is due (TLS handshake timeouts); called on the worker's
 * timer tick. */
void hg_relay_timers(struct hg_relay *r);

/* A control plane message about a TLS flow (HG_MSG_TLS_HS_OUT, _DONE,
 * _FAIL). `m` is the channel slot: a DONE's keys are wiped in it. */
void hg_relay_tls_msg(struct hg_relay *r, struct hg_msg *m);

/* The hook the later flows use: relay an established client connection
 * to backend addr:port, sending `to_backend` (may be NULL) first and
 * `to_client` (may be NULL) to the client. Takes ownership of both chains.
 * Returns 0 or -1 (the client is reset). */
int hg_relay_attach(struct hg_relay *r, struct hg_tcp_conn *client,
		    struct hg_relay_vs *vs, uint32_t addr, uint16_t port,
		    struct rte_mbuf *to_backend, struct rte_mbuf *to_client);

/* Control plane requests. */
void hg_relay_vs_stats(struct hg_relay *r, unsigned vs, uint32_t worker,
		       struct hg_vs_stats *out);
void hg_relay_list(struct hg_relay *r, const struct hg_flows_req *q,
		   uint32_t worker, struct hg_flows_reply *out);
int hg_relay_kill(struct hg_relay *r, uint64_t id);

#endif
