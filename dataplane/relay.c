/* The L4 relay (see relay.h). */
#include <errno.h>
#include <rte_mbuf.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"
#include "relay_tls.h"

#define WCOUNT(r, name) ((r)->wctr[HG_WC_##name]++)

static const struct hg_tcp_ops client_ops, backend_ops;


/* Counts n bytes moved towards `to`. */
void hg_relay_count_moved(struct hg_relay_flow *f, struct hg_tcp_conn *to,
			uint64_t *bytes, uint32_t n)
{
	bool c2b = to == f->backend;

	*bytes += n;
	f->vs->relay->wctr[c2b ? HG_WC_relay_bytes_c2b
			       : HG_WC_relay_bytes_b2c] += n;
	f->vs->ctr[c2b ? HG_VSC_bytes_c2b : HG_VSC_bytes_b2c] += n;
}

/* Moves what `to` has room for from `from`'s receive queue, as mbufs.
 * A first mbuf larger than the room waits for the next on_writable: the
 * relay never splits or copies payload (relay_bytes_copied and
 * relay_segments_split stay 0; they exist to prove it). */
static void pump(struct hg_relay_flow *f, struct hg_tcp_conn *from,
		 struct hg_tcp_conn *to, uint64_t *bytes, bool *fin_sent)
{
	struct hg_relay *r = f->vs->relay;
	uint32_t space = hg_tcp_snd_space(to);

	while (space > 0 && hg_tcp_rcv_bytes(from) > 0) {
		struct rte_mbuf *m = hg_tcp_recv(from, space);
		uint32_t n;

		if (m == NULL)
			break;
		n = m->pkt_len;
		if (hg_tcp_send(to, m) < 0)
			return;
		hg_relay_count_moved(f, to, bytes, n);
		space = n < space ? space - n : 0;
	}
	/* Half close travels on: the peer's FIN, once its bytes are out. */
	if (from->rcv_fin && hg_tcp_rcv_bytes(from) == 0 && !*fin_sent) {
		*fin_sent = true;
		hg_tcp_shutdown(to);
	}
	hg_flow_touch(&r->table, f->entry, r->tcp->now_us);
}

static void pump_both(struct hg_relay_flow *f)
{
	if (f->tls != NULL) {
		hg_relay_tls_pump(f);
		return;
	}
	if (f->state != HG_RELAY_OPEN)
		return;
	if (f->client && f->backend)
		pump(f, f->client, f->backend, &f->bytes_c2b,
		     &f->backend_fin_sent);
	if (f->client && f->backend)
		pump(f, f->backend, f->client, &f->bytes_b2c,
		     &f->client_fin_sent);
}

void hg_relay_flow_free(struct hg_relay_flow *f)
{
	struct hg_relay *r = f->vs->relay;

	if (f->tls != NULL)
		hg_relay_tls_flow_end(f);

	if (f->backend_idx >= 0)
		hg_pool_release(&f->vs->pool, f->backend_idx);
	if (f->vs->ctr[HG_VSC_active] > 0)
		f->vs->ctr[HG_VSC_active]--;
	rte_pktmbuf_free(f->first_to_backend);
	hg_flow_delete(&r->table, f->entry);
	r->wctr[HG_WC_relay_active] = r->table.n_used;
	memset(f, 0, sizeof(*f));
}

/* Opens the backend connection of `f` to addr:port, from the inside
 * address (reverse NAT). Returns 0 or -1 (no route, no connection). */
static int open_backend(struct hg_relay_flow *f, uint32_t addr,
			uint16_t port)
{
	struct hg_relay *r = f->vs->relay;
	uint8_t p = 0;
	uint32_t laddr = r->port_addr(r->port_ctx, addr, &p);
	struct hg_tcp_conn *c;

	if (laddr == 0)
		return -1;
	c = hg_tcp_connect(r->tcp, p, laddr, addr, port,
			   hg_cc_algo_of(f->vs->cfg->cc), &backend_ops, f);
	if (c == NULL)
		return -1;
	c->handshake_timeout_us = f->vs->cfg->connect_timeout_s * 1000000ULL;
	f->backend = c;
	return 0;
}

/* Opens the backend connection of `f` to backend `i` of the pool. */
static int connect_backend(struct hg_relay_flow *f, int i)
{
	const struct hg_backend *b = &f->vs->pool.b[i];

	f->backend_idx = i;
	f->tried |= 1u << i;
	return open_backend(f, b->addr, b->port);
}

int hg_relay_connect_to(struct hg_relay_flow *f, uint32_t addr,
			uint16_t port)
{
	f->to_addr = addr;
	f->to_port = port;
	if (open_backend(f, addr, port) < 0)
		return -1;
	f->state = HG_RELAY_CONNECTING;
	return 0;
}

/* Picks and connects a backend not tried yet for this flow. Returns 0, or
 * -1 when none could be started. */
int hg_relay_start_backend(struct hg_relay_flow *f)
{
	struct hg_relay *r = f->vs->relay;

	for (unsigned n = 0; n < HG_POOL_MAX; n++) {
		int i = hg_pool_pick(&f->vs->pool, r->tcp->now_us, f->tried);

		if (i < 0)
			break;
		if (connect_backend(f, i) == 0)
			return 0;
		hg_pool_release(&f->vs->pool, i);
		f->backend_idx = -1;
	}
	return -1;
}

static struct hg_relay_flow *flow_new(struct hg_relay_vs *vs,
				      struct hg_tcp_conn *client)
{
	struct hg_relay *r = vs->relay;
	struct hg_flow_entry *e = hg_flow_insert(&r->table, NULL,
						 r->tcp->now_us);
	struct hg_relay_flow *f;

	if (e == NULL) {
		WCOUNT(r, relay_table_full);
		return NULL;
	}
	f = &r->flows[e - r->table.e];
	memset(f, 0, sizeof(*f));
	e->data = f;
	f->entry = e;
	f->vs = vs;
	f->client = client;
	f->backend_idx = -1;
	f->created_us = r->tcp->now_us;
	client->app = f;
	client->ops = &client_ops;
	WCOUNT(r, relay_flows);
	vs->ctr[HG_VSC_flows]++;
	vs->ctr[HG_VSC_active]++;
	r->wctr[HG_WC_relay_active] = r->table.n_used;
	return f;
}

/* Ends a flow whose client must be refused: RST to the client. */
void hg_relay_refuse(struct hg_relay_vs *vs, struct hg_tcp_conn *client)
{
	vs->ctr[HG_VSC_refused]++;
	hg_tcp_abort(client);
}

/* --- the client side --- */

static void client_established(struct hg_tcp_conn *c)
{
	struct hg_relay_vs *vs = c->app; /* the listener's argument */
	struct hg_relay_flow *f = flow_new(vs, c);

	if (f == NULL) {
		c->ops = NULL;
		hg_relay_refuse(vs, c);
		return;
	}
	if (vs->cfg->tls.enabled) {
		/* The backend waits for the handshake: no backend
		 * connection for a client that never completes one. */
		hg_relay_tls_start(f);
		return;
	}
	if (hg_relay_start_backend(f) < 0) {
		WCOUNT(vs->relay, relay_no_backend);
		hg_relay_refuse(vs, c); /* on_closed frees the flow */
	}
}

static void client_readable(struct hg_tcp_conn *c)
{
	pump_both(c->app);
}

/* A side closed normally: what it received and the relay has not moved
 * yet goes to the other side now (its send queue may go over its limit by
 * at most one receive buffer), then the FIN. */
static void flush_closing(struct hg_relay_flow *f, struct hg_tcp_conn *from,
			  struct hg_tcp_conn *to, uint64_t *bytes)
{
	struct rte_mbuf *m = hg_tcp_recv(from, UINT32_MAX);

	if (m == NULL)
		return;
	hg_relay_count_moved(f, to, bytes, m->pkt_len);
	hg_tcp_send(to, m);
}

static void client_closed(struct hg_tcp_conn *c, enum hg_tcp_close_reason why)
{
	struct hg_relay_flow *f = c->app;
	struct hg_relay *r = f->vs->relay;

	f->client = NULL;
	if (f->backend != NULL) {
		if (why == HG_TCP_CLOSE_NORMAL && f->state == HG_RELAY_OPEN) {
			if (f->tls != NULL)
				hg_relay_tls_flush_client(f, c);
			else
				flush_closing(f, c, f->backend,
					      &f->bytes_c2b);
			/* Both FINs exchanged with the client: finish the
			 * backend side once its queue drains. */
			if (!f->backend_fin_sent) {
				f->backend_fin_sent = true;
				hg_tcp_shutdown(f->backend);
			}
			f->state = HG_RELAY_CLOSING;
			return;
		}
		WCOUNT(r, relay_resets_propagated);
		f->backend->ops = NULL; /* no callbacks: we are ending it */
		hg_tcp_abort(f->backend);
		f->backend = NULL;
	}
	hg_relay_flow_free(f);
}

static const struct hg_tcp_ops client_ops = {
	.on_established = client_established,
	.on_readable = client_readable,
	.on_writable = client_readable,
	.on_closed = client_closed,
};

/* --- the backend side --- */

static void backend_established(struct hg_tcp_conn *b)
{
	struct hg_relay_flow *f = b->app;

	f->backend_connected = true;
	if (f->backend_idx >= 0)
		hg_pool_connect_ok(&f->vs->pool, f->backend_idx);
	if (hg_relay_tls_backend_up(f))
		return; /* TLS to the backend first */
	f->state = HG_RELAY_OPEN;
	if (f->first_to_backend != NULL) {
		struct rte_mbuf *m = f->first_to_backend;

		f->first_to_backend = NULL;
		hg_tcp_send(b, m);
	}
	pump_both(f);
}

static void backend_readable(struct hg_tcp_conn *b)
{
	pump_both(b->app);
}

static void backend_closed(struct hg_tcp_conn *b,
			   enum hg_tcp_close_reason why)
{
	struct hg_relay_flow *f = b->app;
	struct hg_relay *r = f->vs->relay;

	f->backend = NULL;
	if (f->state == HG_RELAY_CONNECTING) {
		/* Refused, timed out or reset before it opened. */
		WCOUNT(r, relay_connect_failures);
		if (f->backend_idx >= 0) {
			hg_pool_connect_failed(&f->vs->pool, f->backend_idx,
					       r->tcp->now_us);
			hg_pool_release(&f->vs->pool, f->backend_idx);
			f->backend_idx = -1;
		}
		/* A server the control plane chose has no stand-in. */
		if (f->client != NULL && f->to_addr == 0 &&
		    __builtin_popcount(f->tried) <=
			    (int)f->vs->cfg->connect_retries) {
			WCOUNT(r, relay_retries);
			if (hg_relay_start_backend(f) == 0)
				return;
		}
		if (f->client != NULL) {
			WCOUNT(r, relay_no_backend);
			f->client->ops = NULL;
			hg_relay_refuse(f->vs, f->client);
			f->client = NULL;
		}
		hg_relay_flow_free(f);
		return;
	}
	if (f->state == HG_RELAY_HANDSHAKE) {
		/* Gone during our TLS handshake with it. */
		WCOUNT(r, tls_handshakes_failed);
		if (f->client != NULL) {
			f->client->ops = NULL;
			hg_tcp_abort(f->client);
			f->client = NULL;
		}
		hg_relay_flow_free(f);
		return;
	}
	if (f->client != NULL) {
		if (why == HG_TCP_CLOSE_NORMAL) {
			if (f->tls != NULL)
				hg_relay_tls_flush_backend(f, b);
			else
				flush_closing(f, b, f->client, &f->bytes_b2c);
			if (!f->client_fin_sent) {
				f->client_fin_sent = true;
				hg_tcp_shutdown(f->client);
			}
			f->state = HG_RELAY_CLOSING;
			return;
		}
		WCOUNT(r, relay_resets_propagated);
		f->client->ops = NULL;
		hg_tcp_abort(f->client);
		f->client = NULL;
	}
	hg_relay_flow_free(f);
}

static const struct hg_tcp_ops backend_ops = {
	.on_established = backend_established,
	.on_readable = backend_readable,
	.on_writable = backend_readable,
	.on_closed = backend_closed,
};

/* --- set-up and the control plane's requests --- */

int hg_relay_init(struct hg_relay *r, struct hg_tcp_stack *tcp,
		  const struct hg_config *cfg, uint64_t *wctr,
		  uint32_t (*port_addr)(void *ctx, uint32_t dst, uint8_t *port),
		  void *port_ctx)
{
	memset(r, 0, sizeof(*r));
	r->tcp = tcp;
	r->wctr = wctr;
	r->port_addr = port_addr;
	r->port_ctx = port_ctx;
	if (hg_flow_table_init(&r->table, cfg->relay.max_flows,
			       (uint16_t)tcp->worker) < 0)
		return -1;
	r->flows = calloc(cfg->relay.max_flows, sizeof(*r->flows));
	if (r->flows == NULL)
		return -1;
	for (unsigned i = 0; i < cfg->n_vs; i++) {
		const struct hg_vs_config *vc = &cfg->vs[i];
		struct hg_relay_vs *vs = &r->vs[i];
		struct hg_tcp_listener *l;

		vs->relay = r;
		vs->cfg = vc;
		vs->index = i;
		hg_pool_init(&vs->pool,
			     vc->policy == HG_POLICY_KIND_LEAST_CONN
				     ? HG_POLICY_LEAST_CONN
				     : HG_POLICY_ROUND_ROBIN,
			     (uint64_t)vc->backend_down_s * 1000000);
		for (unsigned j = 0; j < vc->n_backends; j++)
			hg_pool_add(&vs->pool, vc->backends[j].addr,
				    vc->backends[j].port,
				    vc->backends[j].weight);
		l = hg_tcp_listen(tcp, vc->addr, vc->port, &client_ops, vs);
		if (l == NULL)
			return -1;
		l->cc = hg_cc_algo_of(vc->cc);
		l->backlog = vc->backlog;
		l->syncookies = vc->syncookies;
		l->idle_timeout_ms = vc->idle_timeout_s * 1000;
		vs->listener = l;
	}
	r->n_vs = cfg->n_vs;
	return hg_relay_tls_init(r, cfg);
}

void hg_relay_free(struct hg_relay *r)
{
	hg_relay_tls_free_all(r);
	hg_flow_table_free(&r->table);
	free(r->flows);
	r->flows = NULL;
}

int hg_relay_attach(struct hg_relay *r, struct hg_tcp_conn *client,
		    struct hg_relay_vs *vs, uint32_t addr, uint16_t port,
		    struct rte_mbuf *to_backend, struct rte_mbuf *to_client)
{
	struct hg_relay_flow *f = flow_new(vs, client);
	uint8_t p = 0;
	uint32_t laddr = r->port_addr(r->port_ctx, addr, &p);
	struct hg_tcp_conn *b;

	if (f == NULL || laddr == 0) {
		rte_pktmbuf_free(to_backend);
		rte_pktmbuf_free(to_client);
		if (f == NULL)
			client->ops = NULL;
		hg_relay_refuse(vs, client);
		return -1;
	}
	f->first_to_backend = to_backend;
	if (to_client != NULL)
		hg_tcp_send(client, to_client);
	b = hg_tcp_connect(r->tcp, p, laddr, addr, port, HG_CC_CUBIC,
			   &backend_ops, f);
	if (b == NULL) {
		hg_relay_refuse(vs, client);
		return -1;
	}
	f->backend = b;
	return 0;
}

void hg_relay_vs_stats(struct hg_relay *r, unsigned vs, uint32_t worker,
		       struct hg_vs_stats *out)
{
	const struct hg_relay_vs *v = &r->vs[vs];

	memset(out, 0, sizeof(*out));
	out->worker = worker;
	out->vs = vs;
	out->n_backends = v->pool.n;
	memcpy(out->vs_ctr, v->ctr, sizeof(out->vs_ctr));
	for (unsigned i = 0; i < v->pool.n && i < HG_VS_MAX_BACKENDS; i++) {
		const struct hg_backend *b = &v->pool.b[i];
		uint64_t *c = out->backend_ctr[i];

		c[HG_BEC_flows] = b->flows;
		c[HG_BEC_active] = b->active;
		c[HG_BEC_connect_failures] = b->connect_failures;
		c[HG_BEC_marked_down] = b->marked_down;
		c[HG_BEC_down] = !hg_pool_is_up(&v->pool, (int)i,
						 r->tcp->now_us);
	}
}

struct list_ctx {
	struct hg_relay *r;
	const struct hg_flows_req *q;
	struct hg_flows_reply *out;
	unsigned limit;
};

static void list_one(struct hg_flow_entry *e, void *arg)
{
	struct list_ctx *lc = arg;
	struct hg_relay_flow *f = e->data;
	struct hg_flow_info *fi;
	uint64_t now = lc->r->tcp->now_us;

	if (lc->out->n >= lc->limit)
		return;
	if (lc->q->vs >= 0 && f->vs->index != (unsigned)lc->q->vs)
		return;
	if (lc->q->client && (f->client == NULL ||
			      f->client->tuple.raddr != lc->q->client))
		return;
	fi = &lc->out->flows[lc->out->n++];
	memset(fi, 0, sizeof(*fi));
	fi->id = e->id;
	fi->vs = (uint8_t)f->vs->index;
	fi->state = f->state;
	if (f->client) {
		fi->client_addr = f->client->tuple.raddr;
		fi->client_port = f->client->tuple.rport;
	}
	if (f->backend_idx >= 0) {
		fi->backend = (uint8_t)f->backend_idx;
		fi->backend_addr = f->vs->pool.b[f->backend_idx].addr;
		fi->backend_port = f->vs->pool.b[f->backend_idx].port;
	} else if (f->to_addr != 0) {
		fi->backend = 0xff;
		fi->backend_addr = f->to_addr;
		fi->backend_port = f->to_port;
	}
	if (f->backend)
		fi->local_port = f->backend->tuple.lport;
	fi->age_ms = (uint32_t)((now - f->created_us) / 1000);
	fi->idle_ms = (uint32_t)((now - e->last_us) / 1000);
	fi->bytes_c2b = f->bytes_c2b;
	fi->bytes_b2c = f->bytes_b2c;
}

void hg_relay_list(struct hg_relay *r, const struct hg_flows_req *q,
		   uint32_t worker, struct hg_flows_reply *out)
{
	struct list_ctx lc = {.r = r, .q = q, .out = out};
	uint32_t cursor = 0;

	memset(out, 0, sizeof(*out));
	out->worker = worker;
	out->active = r->table.n_used;
	lc.limit = q->limit < HG_FLOWS_PER_REPLY ? q->limit
						  : HG_FLOWS_PER_REPLY;
	while (cursor < r->table.n_slots && out->n < lc.limit)
		hg_flow_walk(&r->table, &cursor, 256, list_one, &lc);
}

int hg_relay_kill(struct hg_relay *r, uint64_t id)
{
	struct hg_flow_entry *e = hg_flow_lookup(&r->table, id);
	struct hg_relay_flow *f;

	if (e == NULL)
		return -ENOENT;
	f = e->data;
	WCOUNT(r, relay_killed);
	if (f->backend) {
		f->backend->ops = NULL;
		hg_tcp_abort(f->backend);
		f->backend = NULL;
	}
	if (f->client) {
		f->client->ops = NULL;
		hg_tcp_abort(f->client);
		f->client = NULL;
	}
	hg_relay_flow_free(f);
	return 0;
}
