/* TLS in the relay (see relay_tls.h): on the client side, and with
 * backend_tls on the backend side too. Each side that speaks TLS has a
 * struct tls_side: its handshake bytes, its record layer and the plaintext
 * its peer sent.
 *
 * Handshakes are the control plane's: until its keys arrive, every byte
 * the peer sends is copied to the control plane and kept here (`held`),
 * because the handshake's end may fall anywhere in them: the control plane
 * answers how many it used, and the rest are the peer's first records.
 * From then on the record layer (tls_rec.c) decrypts the peer's records in
 * place into `plain`, which goes to the other side (sealed again if that
 * side speaks TLS too) as its send queue has room.
 *
 * Backpressure is the plain relay's: nothing is taken from a receive queue
 * unless the other side can take it (for records: unless `plain` holds
 * less than PLAIN_MAX), so a flow holds at most its two connections'
 * buffers, one record being reassembled per side and PLAIN_MAX per side.
 */
#include <rte_mbuf.h>
#include <stdlib.h>
#include <string.h>

#include "relay_tls.h"
#include "tls_aead.h"
#include "tls_rec.h"

#define WCOUNT(r, name) ((r)->wctr[HG_WC_##name]++)

/* Client bytes taken during a handshake: its ClientHello (at most one
 * 16 KiB record, usually under 2 KiB), its second flight and the first
 * records it sends before the keys arrive. What it sends beyond waits in
 * the TCP receive queue (its window closes) until the keys are here: a
 * client may send a window's worth of data right after its Finished. The
 * control plane gives up on a handshake longer than this. */
#define HS_HOLD_MAX (64 * 1024)
/* Plaintext decrypted for the backend and not yet in its send queue. */
#define PLAIN_MAX (64 * 1024)
/* Ciphertext taken from the client at a time. */
#define RX_TAKE (32 * 1024)
/* After this long without sending to the client, the next record holds
 * one segment's worth, so the first bytes after a pause go out at once
 * rather than wait to be part of a 16 KiB record. */
#define IDLE_SMALL_US 1000000


struct tls_side {
	bool on;                /* this side speaks TLS */
	bool keyed;             /* its record layer runs */
	bool rx_done;           /* its peer's close_notify arrived */
	bool close_notify_sent;
	struct rte_mbuf *held; /* handshake bytes sent to the control plane */
	uint64_t sent; /* the peer's stream bytes sent to the control plane */
	struct rte_mbuf *plain; /* decrypted, for the other side */
	uint64_t last_tx_us;
	struct hg_tls_rec rec;
};

struct hg_relay_tls {
	struct hg_relay_flow *flow;
	struct hg_relay_tls *hs_next, *hs_prev; /* handshakes, oldest first */
	uint64_t hs_deadline_us;
	bool on_hs_list;
	uint8_t hs_side; /* the handshake under way: enum hg_tls_side, or
			    CONTROL while the control plane decides */
	uint32_t ctl_sent; /* client plaintext sent to the control plane */
	struct tls_side side[2]; /* HG_TLS_SIDE_CLIENT, HG_TLS_SIDE_BACKEND */
};

/* hs_side while the control plane reads the client's first bytes. */
#define CONTROL 2
/* Client plaintext the control plane may read before it decides. */
#define CONTROL_MAX (16 * 1024)

static struct hg_relay *relay_of(const struct hg_relay_flow *f)
{
	return f->vs->relay;
}

static struct rte_mempool *pool_of(const struct hg_relay_flow *f)
{
	return relay_of(f)->tcp->pool;
}

/* --- mbuf chains --- */

/* Bytes in a chain (its head's pkt_len, kept by every function below). */
static uint32_t chain_len(const struct rte_mbuf *m)
{
	return m != NULL ? m->pkt_len : 0;
}

/* Appends `m` to the chain at *head. Returns -1 (m freed) when the chain
 * has too many segments. */
static int chain_append(struct rte_mbuf **head, struct rte_mbuf *m)
{
	if (*head == NULL) {
		*head = m;
		return 0;
	}
	if (rte_pktmbuf_chain(*head, m) < 0) {
		rte_pktmbuf_free(m);
		return -1;
	}
	return 0;
}

/* Detaches the longest run of whole segments from the front of *head
 * that fits `max` bytes; NULL when the first segment alone is larger. */
static struct rte_mbuf *chain_split(struct rte_mbuf **headp, uint32_t max)
{
	struct rte_mbuf *head = *headp, *m, *last = NULL;
	uint32_t n = 0;
	uint16_t segs = 0;

	for (m = head; m != NULL && n + m->data_len <= max; m = m->next) {
		n += m->data_len;
		segs++;
		last = m;
	}
	if (last == NULL)
		return NULL;
	if (m == NULL) {
		*headp = NULL;
		return head;
	}
	last->next = NULL;
	m->pkt_len = head->pkt_len - n;
	m->nb_segs = (uint16_t)(head->nb_segs - segs);
	head->pkt_len = n;
	head->nb_segs = segs;
	*headp = m;
	return head;
}

/* Drops the first n bytes of the chain at *headp. */
static void chain_drop(struct rte_mbuf **headp, uint32_t n)
{
	while (n > 0 && *headp != NULL) {
		struct rte_mbuf *m = *headp, *next = m->next;

		if (m->data_len > n) {
			m->data_off = (uint16_t)(m->data_off + n);
			m->data_len = (uint16_t)(m->data_len - n);
			m->pkt_len -= n;
			return;
		}
		n -= m->data_len;
		if (next != NULL) {
			next->pkt_len = m->pkt_len - m->data_len;
			next->nb_segs = (uint16_t)(m->nb_segs - 1);
		}
		m->next = NULL;
		m->nb_segs = 1;
		m->pkt_len = m->data_len;
		rte_pktmbuf_free(m);
		*headp = next;
	}
}

/* `len` bytes copied into new mbufs (the handshake's few kilobytes from
 * the control plane: the one place TLS copies, and not payload). */
static struct rte_mbuf *chain_of_bytes(struct rte_mempool *pool,
				       const uint8_t *p, uint32_t len)
{
	struct rte_mbuf *head = NULL;

	while (len > 0) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint32_t n;

		if (m == NULL) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		n = rte_pktmbuf_tailroom(m);
		n = n < len ? n : len;
		memcpy(rte_pktmbuf_append(m, (uint16_t)n), p, n);
		if (chain_append(&head, m) < 0) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		p += n;
		len -= n;
	}
	return head;
}

/* --- the handshake --- */

static struct hg_tcp_conn *conn_of(const struct hg_relay_flow *f, int side)
{
	return side == HG_TLS_SIDE_CLIENT ? f->client : f->backend;
}

static bool *fin_sent_to(struct hg_relay_flow *f, int side)
{
	return side == HG_TLS_SIDE_CLIENT ? &f->client_fin_sent
					  : &f->backend_fin_sent;
}

static void hs_list_remove(struct hg_relay_tls *t)
{
	struct hg_relay *r = relay_of(t->flow);
	unsigned v = t->flow->vs->index;

	if (!t->on_hs_list)
		return;
	if (t->hs_prev != NULL)
		t->hs_prev->hs_next = t->hs_next;
	else
		r->hs_head[v] = t->hs_next;
	if (t->hs_next != NULL)
		t->hs_next->hs_prev = t->hs_prev;
	else
		r->hs_tail[v] = t->hs_prev;
	t->hs_next = t->hs_prev = NULL;
	t->on_hs_list = false;
}

/* A handshake begins on `side`: the flow waits in HANDSHAKE until the
 * keys arrive or handshake_timeout_s passes. */
static void hs_begin(struct hg_relay_tls *t, int side)
{
	struct hg_relay_flow *f = t->flow;
	struct hg_relay *r = relay_of(f);
	unsigned v = f->vs->index;

	f->state = HG_RELAY_HANDSHAKE;
	t->hs_side = (uint8_t)side;
	t->hs_deadline_us =
		r->tcp->now_us +
		(uint64_t)f->vs->cfg->tls.handshake_timeout_s * 1000000;
	t->hs_prev = r->hs_tail[v];
	t->hs_next = NULL;
	if (r->hs_tail[v] != NULL)
		r->hs_tail[v]->hs_next = t;
	else
		r->hs_head[v] = t;
	r->hs_tail[v] = t;
	t->on_hs_list = true;
	if (side != CONTROL)
		WCOUNT(r, tls_handshakes_started);
}

static void send_abort(struct hg_relay_flow *f)
{
	struct hg_relay *r = relay_of(f);
	struct hg_tls_hs_end a = {.flow = f->entry->id, .worker = r->worker,
				  .side = f->tls->hs_side};
	uint16_t type = f->tls->hs_side == CONTROL ? HG_MSG_FLOW_GONE
						   : HG_MSG_TLS_HS_ABORT;

	if (r->to_cp(r->cp_ctx, type, &a, sizeof(a), NULL, 0) < 0)
		WCOUNT(r, chan_full);
}

/* Ends a flow whose handshake cannot go on: the client gets a RST (and
 * client_closed resets the backend and frees the flow). The caller must
 * not touch `f` after. */
static void hs_abort(struct hg_relay_flow *f)
{
	WCOUNT(relay_of(f), tls_handshakes_failed);
	hg_tcp_abort(f->client);
}

/* Sends the control plane `n` bytes of the peer's stream on `side`.
 * Returns -1 when the channel is full. */
static int hs_send(struct hg_relay_flow *f, int side, const uint8_t *p,
		   uint32_t n, uint8_t flags)
{
	struct hg_relay *r = relay_of(f);
	struct tls_side *sd = &f->tls->side[side];
	struct hg_tcp_conn *c = conn_of(f, side);
	struct hg_tls_hs_data d = {
		.flow = f->entry->id,
		.offset = sd->sent,
		.worker = r->worker,
		.peer_addr = c->tuple.raddr,
		.peer_port = c->tuple.rport,
		.vs = (uint16_t)f->vs->index,
		.flags = flags,
		.side = (uint8_t)side,
		.len = (uint16_t)n,
	};

	if (r->to_cp(r->cp_ctx, HG_MSG_TLS_HS_DATA, &d, sizeof(d), p, n) < 0) {
		WCOUNT(r, chan_full);
		return -1;
	}
	r->wctr[HG_WC_tls_hs_bytes_to_cp] += n;
	sd->sent += n;
	return 0;
}

/* Copies the peer's new bytes on `side` to the control plane and keeps
 * them. Returns false when the flow was ended. */
static bool hs_forward(struct hg_relay_flow *f, int side)
{
	struct tls_side *sd = &f->tls->side[side];
	struct hg_tcp_conn *c = conn_of(f, side);

	while (hg_tcp_rcv_bytes(c) > 0 && chain_len(sd->held) < HS_HOLD_MAX) {
		struct rte_mbuf *m = hg_tcp_recv(c, HS_HOLD_MAX -
							    chain_len(sd->held)),
				*s;

		if (m == NULL)
			return true;
		for (s = m; s != NULL; s = s->next) {
			const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);
			uint32_t left = s->data_len;

			while (left > 0) {
				uint32_t n = left < HG_TLS_HS_CHUNK
						     ? left
						     : (uint32_t)HG_TLS_HS_CHUNK;

				if (hs_send(f, side, p, n,
					    sd->sent == 0 &&
						    side == HG_TLS_SIDE_CLIENT
					    ? HG_TLS_HS_FIRST
					    : 0) < 0) {
					rte_pktmbuf_free(m);
					hs_abort(f);
					return false;
				}
				p += n;
				left -= n;
			}
		}
		if (chain_append(&sd->held, m) < 0) {
			hs_abort(f);
			return false;
		}
	}
	return true;
}

/* --- records --- */

/* A record the record layer built (it counted tls_nomem when it could
 * not: an alert or KeyUpdate then goes missing, which the peer survives). */
static void send_record(struct hg_relay_flow *f, int side, struct rte_mbuf *m)
{
	if (m != NULL)
		hg_tcp_send(conn_of(f, side), m);
}

static void send_close_notify(struct hg_relay_flow *f, int side)
{
	struct tls_side *sd = &f->tls->side[side];

	if (!sd->keyed || sd->close_notify_sent)
		return;
	sd->close_notify_sent = true;
	send_record(f, side, hg_tls_rec_alert(&sd->rec, pool_of(f),
					       HG_TLS_ALERT_WARNING, 0));
}

/* The record layer refused what the client sent (or it sent a fatal
 * alert): the alert goes out, then our FIN; the backend, which may have
 * had part of a stream that is now broken, is reset. */
static void client_fatal(struct hg_relay_flow *f)
{
	struct tls_side *sd = &f->tls->side[HG_TLS_SIDE_CLIENT];

	if (sd->rec.alert != 0 && !sd->close_notify_sent) {
		send_record(f, HG_TLS_SIDE_CLIENT,
			    hg_tls_rec_alert(&sd->rec, pool_of(f),
					     HG_TLS_ALERT_FATAL,
					     sd->rec.alert));
		sd->close_notify_sent = true; /* no record after a fatal one */
	}
	if (!f->client_fin_sent) {
		f->client_fin_sent = true;
		hg_tcp_shutdown(f->client);
	}
	if (f->backend != NULL) {
		WCOUNT(relay_of(f), relay_resets_propagated);
		f->backend->ops = NULL;
		hg_tcp_abort(f->backend);
		f->backend = NULL;
	}
	for (int i = 0; i < 2; i++) {
		rte_pktmbuf_free(f->tls->side[i].plain);
		f->tls->side[i].plain = NULL;
	}
	f->state = HG_RELAY_CLOSING;
}

/* The same on the backend side: the backend gets its alert and both
 * connections are reset (the client's stream is broken). Frees `f`. */
static void backend_fatal(struct hg_relay_flow *f)
{
	struct tls_side *sd = &f->tls->side[HG_TLS_SIDE_BACKEND];

	if (sd->rec.alert != 0 && f->backend != NULL)
		send_record(f, HG_TLS_SIDE_BACKEND,
			    hg_tls_rec_alert(&sd->rec, pool_of(f),
					     HG_TLS_ALERT_FATAL,
					     sd->rec.alert));
	WCOUNT(relay_of(f), relay_resets_propagated);
	hg_tcp_abort(f->client);
}

/* Decrypts `in` (bytes from `side`'s peer) into its `plain`. Returns
 * false when the flow failed (and, on the backend side, was freed). */
static bool open_records(struct hg_relay_flow *f, int side,
			 struct rte_mbuf *in)
{
	struct tls_side *sd = &f->tls->side[side];
	struct rte_mbuf *plain = NULL;
	enum hg_tls_rx rc = hg_tls_rec_open(&sd->rec, pool_of(f), in, &plain);

	if (plain != NULL && chain_append(&sd->plain, plain) < 0) {
		sd->rec.alert = HG_TLS_ALERT_INTERNAL_ERROR;
		rc = HG_TLS_RX_FATAL;
	}
	if (rc != HG_TLS_RX_FATAL && sd->rec.key_update_due)
		send_record(f, side, hg_tls_rec_key_update(&sd->rec, pool_of(f),
							   false));
	if (rc == HG_TLS_RX_CLOSE_NOTIFY)
		sd->rx_done = true;
	if (rc == HG_TLS_RX_FATAL) {
		if (side == HG_TLS_SIDE_CLIENT)
			client_fatal(f);
		else
			backend_fatal(f);
		return false;
	}
	return true;
}

/* Decrypts what `side`'s peer sent, while the plaintext waiting for the
 * other side is under PLAIN_MAX. Returns false when the flow failed. */
static bool fill_plain(struct hg_relay_flow *f, int side)
{
	struct tls_side *sd = &f->tls->side[side];
	struct hg_tcp_conn *c = conn_of(f, side);

	while (sd->keyed && !sd->rx_done && chain_len(sd->plain) < PLAIN_MAX &&
	       c != NULL && hg_tcp_rcv_bytes(c) > 0) {
		struct rte_mbuf *in = hg_tcp_recv(c, RX_TAKE);

		if (in == NULL)
			break;
		if (!open_records(f, side, in))
			return false;
	}
	return true;
}

/* Up to `max` plaintext bytes from `side` (at least one whole mbuf, the
 * unit nothing here splits), or NULL. */
static struct rte_mbuf *take_plain(struct hg_relay_flow *f, int side,
				   uint32_t max)
{
	struct tls_side *sd = &f->tls->side[side];

	if (!sd->on) {
		struct hg_tcp_conn *c = conn_of(f, side);

		if (c->rcvq != NULL && c->rcvq->data_len > max)
			max = c->rcvq->data_len;
		return hg_tcp_recv(c, max);
	}
	if (sd->plain == NULL)
		return NULL;
	if (sd->plain->data_len > max)
		max = sd->plain->data_len;
	return chain_split(&sd->plain, max);
}

/* Hands plaintext to `side`: sealed into records when it speaks TLS.
 * Returns -1 when sealing failed (the bytes are lost: the flow must end). */
static int deliver(struct hg_relay_flow *f, int side, struct rte_mbuf *m)
{
	struct tls_side *sd = &f->tls->side[side];
	struct rte_mbuf *rec;

	if (!sd->on) {
		hg_tcp_send(conn_of(f, side), m);
		return 0;
	}
	rec = hg_tls_rec_seal(&sd->rec, pool_of(f), m);
	if (rec == NULL)
		return -1;
	hg_tcp_send(conn_of(f, side), rec);
	sd->last_tx_us = relay_of(f)->tcp->now_us;
	return 0;
}

/* The peer on `side` will send nothing more (close_notify, or its FIN, a
 * truncation passed on the same way) and everything before was moved. */
static bool source_done(const struct hg_relay_flow *f, int side)
{
	const struct tls_side *sd = &f->tls->side[side];
	const struct hg_tcp_conn *c = conn_of(f, side);
	bool tcp_done = c->rcv_fin && hg_tcp_rcv_bytes(c) == 0;

	if (!sd->on)
		return tcp_done;
	return sd->plain == NULL && (sd->rx_done || tcp_done);
}

/* Moves plaintext from `from` to `to`, as much as `to`'s send queue takes;
 * then passes a finished stream on (close_notify and FIN). Returns false
 * when the flow failed. */
static bool move(struct hg_relay_flow *f, int from, int to)
{
	struct tls_side *dst = &f->tls->side[to];
	struct hg_relay *r = relay_of(f);
	uint64_t *bytes = to == HG_TLS_SIDE_BACKEND ? &f->bytes_c2b
						    : &f->bytes_b2c;

	if (f->tls->side[from].on && !fill_plain(f, from))
		return false;
	while (hg_tcp_snd_space(conn_of(f, to)) > 0) {
		uint32_t max = hg_tcp_snd_space(conn_of(f, to)), n;
		struct rte_mbuf *m;

		if (dst->on) {
			uint32_t rec = f->vs->cfg->tls.record_size;

			/* One segment's worth after a pause, so the first
			 * bytes need not wait for a whole record. */
			if (r->tcp->now_us - dst->last_tx_us > IDLE_SMALL_US)
				rec = 1;
			max = max < rec ? max : rec;
		}
		m = take_plain(f, from, max);
		if (m == NULL && f->tls->side[from].on) {
			/* Drained what was decrypted: decrypt more while
			 * there is room, rather than wait for an event. */
			if (!fill_plain(f, from))
				return false;
			m = take_plain(f, from, max);
		}
		if (m == NULL)
			break;
		n = m->pkt_len;
		if (deliver(f, to, m) < 0) {
			hg_tcp_abort(f->client); /* frees f */
			return false;
		}
		hg_relay_count_moved(f, conn_of(f, to), bytes, n);
	}
	if (source_done(f, from) && !*fin_sent_to(f, to)) {
		send_close_notify(f, to);
		*fin_sent_to(f, to) = true;
		hg_tcp_shutdown(conn_of(f, to));
	}
	return true;
}

/* --- flows the control plane decides --- */

/* Sends the control plane the client's plaintext it has not seen yet (up
 * to CONTROL_MAX in all). The bytes stay in `plain` until the verdict.
 * Returns false when the flow was ended. */
static bool control_forward(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;
	struct tls_side *sd = &t->side[HG_TLS_SIDE_CLIENT];
	struct hg_relay *r = relay_of(f);
	uint32_t skip = t->ctl_sent;

	for (struct rte_mbuf *s = sd->plain;
	     s != NULL && t->ctl_sent < CONTROL_MAX; s = s->next) {
		const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);
		uint32_t left = s->data_len;

		if (skip >= left) {
			skip -= left;
			continue;
		}
		p += skip;
		left -= skip;
		skip = 0;
		while (left > 0 && t->ctl_sent < CONTROL_MAX) {
			uint32_t n = left < HG_TLS_HS_CHUNK
					     ? left
					     : (uint32_t)HG_TLS_HS_CHUNK;
			struct hg_tls_hs_data d = {
				.flow = f->entry->id,
				.offset = t->ctl_sent,
				.worker = r->worker,
				.peer_addr = f->client->tuple.raddr,
				.peer_port = f->client->tuple.rport,
				.vs = (uint16_t)f->vs->index,
				.flags = t->ctl_sent == 0 ? HG_TLS_HS_FIRST
							  : 0,
				.len = (uint16_t)n,
			};

			if (n > CONTROL_MAX - t->ctl_sent)
				n = d.len = (uint16_t)(CONTROL_MAX -
						       t->ctl_sent);
			if (r->to_cp(r->cp_ctx, HG_MSG_FLOW_DATA, &d,
				     sizeof(d), p, n) < 0) {
				WCOUNT(r, chan_full);
				hs_abort(f);
				return false;
			}
			t->ctl_sent += n;
			p += n;
			left -= n;
		}
	}
	return true;
}

/* The client's handshake is done and its virtual server's handler is
 * the control plane's: it reads what the client sends first. */
static void control_begin(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;

	hs_begin(t, CONTROL);
	f->state = HG_RELAY_CONTROL;
	if (fill_plain(f, HG_TLS_SIDE_CLIENT))
		control_forward(f);
}

static void control_verdict(struct hg_relay_flow *f,
			    const struct hg_flow_verdict *v)
{
	struct hg_relay_tls *t = f->tls;
	struct tls_side *sd = &t->side[HG_TLS_SIDE_CLIENT];
	struct hg_relay *r = relay_of(f);

	hs_list_remove(t);
	if (v->action == HG_FLOW_CLOSE || v->consume > chain_len(sd->plain) ||
	    v->consume > t->ctl_sent) {
		send_close_notify(f, HG_TLS_SIDE_CLIENT);
		f->client_fin_sent = true;
		hg_tcp_shutdown(f->client);
		f->state = HG_RELAY_CLOSING;
		return;
	}
	chain_drop(&sd->plain, v->consume);
	if (v->len > 0) {
		f->first_to_backend = chain_of_bytes(r->tcp->pool, v->data,
						     v->len);
		if (f->first_to_backend == NULL) {
			WCOUNT(r, tls_nomem);
			hs_abort(f);
			return;
		}
	}
	if ((v->addr != 0 ? hg_relay_connect_to(f, v->addr, v->port)
			  : hg_relay_start_backend(f)) < 0) {
		WCOUNT(r, relay_no_backend);
		hg_relay_refuse(f->vs, f->client); /* on_closed frees f */
		return;
	}
	fill_plain(f, HG_TLS_SIDE_CLIENT);
}

/* --- the relay's entry points --- */

void hg_relay_tls_start(struct hg_relay_flow *f)
{
	struct hg_relay *r = relay_of(f);
	struct hg_relay_tls *t = &r->tls[f - r->flows];

	memset(t, 0, sizeof(*t));
	t->flow = f;
	f->tls = t;
	t->side[HG_TLS_SIDE_CLIENT].on = true;
	t->side[HG_TLS_SIDE_BACKEND].on = f->vs->cfg->backend_tls.enabled;
	hs_begin(t, HG_TLS_SIDE_CLIENT);
	hs_forward(f, HG_TLS_SIDE_CLIENT);
}

bool hg_relay_tls_backend_up(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;

	if (t == NULL || !t->side[HG_TLS_SIDE_BACKEND].on)
		return false;
	hs_begin(t, HG_TLS_SIDE_BACKEND);
	/* No bytes: the control plane starts the client handshake and
	 * answers with its ClientHello. */
	if (hs_send(f, HG_TLS_SIDE_BACKEND, NULL, 0, HG_TLS_HS_FIRST) < 0)
		hs_abort(f);
	return true;
}

void hg_relay_tls_pump(struct hg_relay_flow *f)
{
	struct hg_relay *r = relay_of(f);
	struct hg_relay_tls *t = f->tls;

	if (f->client == NULL)
		return;
	hg_flow_touch(&r->table, f->entry, r->tcp->now_us);
	if (f->state == HG_RELAY_CONTROL) {
		if (fill_plain(f, HG_TLS_SIDE_CLIENT))
			control_forward(f);
		return;
	}
	if (f->state == HG_RELAY_HANDSHAKE) {
		if (!hs_forward(f, t->hs_side))
			return;
		/* The client's first records wait decrypted meanwhile. */
		if (t->hs_side == HG_TLS_SIDE_BACKEND)
			fill_plain(f, HG_TLS_SIDE_CLIENT);
		return;
	}
	if (!t->side[HG_TLS_SIDE_CLIENT].keyed ||
	    (f->state == HG_RELAY_CLOSING && f->backend == NULL)) {
		/* Failed or refused: what the client still sends is
		 * dropped while our FIN goes out. */
		rte_pktmbuf_free(hg_tcp_recv(f->client, UINT32_MAX));
		return;
	}
	if (f->state != HG_RELAY_OPEN || f->backend == NULL) {
		fill_plain(f, HG_TLS_SIDE_CLIENT);
		return;
	}
	if (!move(f, HG_TLS_SIDE_CLIENT, HG_TLS_SIDE_BACKEND))
		return;
	if (f->client != NULL && f->backend != NULL)
		move(f, HG_TLS_SIDE_BACKEND, HG_TLS_SIDE_CLIENT);
}

/* Everything `from` left, to `to`, beyond its send limit (the closing
 * side's queues are about to go). */
static void flush(struct hg_relay_flow *f, int from, struct hg_tcp_conn *c,
		  int to)
{
	struct tls_side *src = &f->tls->side[from];
	uint64_t *bytes = to == HG_TLS_SIDE_BACKEND ? &f->bytes_c2b
						    : &f->bytes_b2c;
	struct rte_mbuf *m;

	if (src->on) {
		struct rte_mbuf *in = hg_tcp_recv(c, UINT32_MAX);

		if (!src->keyed || src->rx_done) {
			rte_pktmbuf_free(in);
		} else if (in != NULL) {
			/* A bad last record costs the other side that
			 * record: the connection is going away anyway. */
			struct rte_mbuf *plain = NULL;

			if (hg_tls_rec_open(&src->rec, pool_of(f), in,
					    &plain) != HG_TLS_RX_FATAL &&
			    plain != NULL) {
				if (chain_append(&src->plain, plain) < 0)
					return;
			}
		}
		m = src->plain;
		src->plain = NULL;
	} else {
		m = hg_tcp_recv(c, UINT32_MAX);
	}
	if (m != NULL && conn_of(f, to) != NULL) {
		uint32_t n = m->pkt_len;

		if (deliver(f, to, m) < 0)
			return; /* no close_notify: the peer sees it cut */
		hg_relay_count_moved(f, conn_of(f, to), bytes, n);
	} else {
		rte_pktmbuf_free(m);
	}
	if (conn_of(f, to) != NULL)
		send_close_notify(f, to);
}

void hg_relay_tls_flush_client(struct hg_relay_flow *f, struct hg_tcp_conn *c)
{
	if (f->tls->side[HG_TLS_SIDE_CLIENT].keyed)
		flush(f, HG_TLS_SIDE_CLIENT, c, HG_TLS_SIDE_BACKEND);
}

void hg_relay_tls_flush_backend(struct hg_relay_flow *f,
				struct hg_tcp_conn *b)
{
	if (f->tls->side[HG_TLS_SIDE_CLIENT].keyed)
		flush(f, HG_TLS_SIDE_BACKEND, b, HG_TLS_SIDE_CLIENT);
}

void hg_relay_tls_flow_end(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;

	if (t->on_hs_list) {
		hs_list_remove(t);
		send_abort(f);
	} else if (f->to_addr != 0) {
		/* A flow the control plane relayed: its session ends. */
		struct hg_relay *r = relay_of(f);
		struct hg_flow_ended e = {
			.flow = f->entry->id, .bytes_c2s = f->bytes_c2b,
			.bytes_s2c = f->bytes_b2c, .worker = r->worker,
			.addr = f->to_addr, .port = f->to_port,
			.connected = f->backend_connected,
		};

		if (r->to_cp(r->cp_ctx, HG_MSG_FLOW_ENDED, &e, sizeof(e), NULL,
			     0) < 0)
			WCOUNT(r, chan_full);
	}
	for (int i = 0; i < 2; i++) {
		struct tls_side *sd = &t->side[i];

		rte_pktmbuf_free(sd->held);
		rte_pktmbuf_free(sd->plain);
		if (sd->keyed)
			hg_tls_rec_free(&sd->rec);
	}
	memset(t, 0, sizeof(*t));
	f->tls = NULL;
}

/* --- the control plane's answers --- */

static void hs_done(struct hg_relay_flow *f, int side,
		    const struct hg_tls_keys *k, uint64_t consumed)
{
	struct hg_relay_tls *t = f->tls;
	struct tls_side *sd = &t->side[side];
	struct hg_relay *r = relay_of(f);
	struct rte_mbuf *rest;

	hs_list_remove(t);
	if (consumed > sd->sent ||
	    hg_tls_rec_init_peer(&sd->rec, r->imb, k,
				 f->vs->cfg->tls.record_size, r->wctr,
				 side == HG_TLS_SIDE_BACKEND) < 0) {
		hs_abort(f);
		return;
	}
	sd->keyed = true;
	sd->last_tx_us = r->tcp->now_us;
	WCOUNT(r, tls_handshakes_completed);
	chain_drop(&sd->held, (uint32_t)consumed);
	rest = sd->held;
	sd->held = NULL;
	f->state = side == HG_TLS_SIDE_CLIENT ? HG_RELAY_CONNECTING
					      : HG_RELAY_OPEN;
	if (rest != NULL && !open_records(f, side, rest))
		return;
	if (side == HG_TLS_SIDE_BACKEND) {
		hg_relay_tls_pump(f);
		return;
	}
	if (f->vs->cfg->handler != HG_HANDLER_RELAY) {
		control_begin(f);
		return;
	}
	if (hg_relay_start_backend(f) < 0) {
		WCOUNT(r, relay_no_backend);
		hg_relay_refuse(f->vs, f->client); /* on_closed frees f */
		return;
	}
	/* More client records may have come since the handshake ended. */
	fill_plain(f, HG_TLS_SIDE_CLIENT);
}

static void hs_fail(struct hg_relay_flow *f, int side)
{
	struct hg_relay_tls *t = f->tls;
	struct tls_side *sd = &t->side[side];

	hs_list_remove(t);
	rte_pktmbuf_free(sd->held);
	sd->held = NULL;
	if (side == HG_TLS_SIDE_BACKEND) {
		/* The backend refused us: the client is reset (the relay
		 * has no better answer at this layer). */
		hs_abort(f);
		return;
	}
	WCOUNT(relay_of(f), tls_handshakes_failed);
	/* The control plane's alert went out as HS_OUT bytes; our FIN
	 * follows it, and client_closed frees the flow. */
	f->state = HG_RELAY_CLOSING;
	f->client_fin_sent = true;
	hg_tcp_shutdown(f->client);
}

static void control_msg(struct hg_relay *r, const struct hg_msg *m)
{
	uint64_t id;
	struct hg_flow_entry *e;
	struct hg_relay_flow *f;

	memcpy(&id, m->payload, sizeof(id));
	e = r->tls != NULL ? hg_flow_lookup(&r->table, id) : NULL;
	f = e != NULL ? e->data : NULL;
	if (f == NULL || f->tls == NULL || f->client == NULL ||
	    f->state != HG_RELAY_CONTROL)
		return; /* the flow ended meanwhile */
	if (m->type == HG_MSG_FLOW_OUT) {
		const struct hg_tls_hs_out *o = (const void *)m->payload;
		struct rte_mbuf *c = chain_of_bytes(r->tcp->pool, o->data,
						    o->len);

		/* deliver takes c, also when sealing fails */
		if (c == NULL || deliver(f, HG_TLS_SIDE_CLIENT, c) < 0) {
			WCOUNT(r, tls_nomem);
			hs_abort(f);
		}
		return;
	}
	control_verdict(f, (const void *)m->payload);
}

void hg_relay_tls_msg(struct hg_relay *r, struct hg_msg *m)
{
	struct hg_flow_entry *e;
	struct hg_relay_flow *f;
	struct hg_tls_keys keys;
	uint64_t id, consumed = 0;
	int side;

	if (m->type == HG_MSG_FLOW_OUT || m->type == HG_MSG_FLOW_VERDICT) {
		control_msg(r, m);
		return;
	}
	memcpy(&id, m->payload, sizeof(id));
	memset(&keys, 0, sizeof(keys));
	if (m->type == HG_MSG_TLS_HS_DONE) {
		struct hg_tls_hs_done *d = (void *)m->payload;

		memcpy(&keys, &d->keys, sizeof(keys));
		consumed = d->consumed;
		side = (int)d->side;
		/* Keys never stay in shared memory. */
		hg_wipe(&d->keys, sizeof(d->keys));
	} else if (m->type == HG_MSG_TLS_HS_OUT) {
		side = ((const struct hg_tls_hs_out *)(const void *)m->payload)
			       ->side;
	} else {
		side = ((const struct hg_tls_hs_end *)(const void *)m->payload)
			       ->side;
	}
	e = r->tls != NULL ? hg_flow_lookup(&r->table, id) : NULL;
	f = e != NULL ? e->data : NULL;
	if (f == NULL || f->tls == NULL || f->client == NULL ||
	    f->state != HG_RELAY_HANDSHAKE || f->tls->hs_side != side ||
	    conn_of(f, side) == NULL) {
		hg_wipe(&keys, sizeof(keys));
		return; /* the flow ended meanwhile */
	}
	if (m->type == HG_MSG_TLS_HS_OUT) {
		const struct hg_tls_hs_out *o = (const void *)m->payload;
		struct rte_mbuf *c = chain_of_bytes(r->tcp->pool, o->data,
						    o->len);

		if (c == NULL) {
			WCOUNT(r, tls_nomem);
			hs_abort(f);
			return;
		}
		r->wctr[HG_WC_tls_hs_bytes_from_cp] += o->len;
		hg_tcp_send(conn_of(f, side), c);
	} else if (m->type == HG_MSG_TLS_HS_DONE) {
		hs_done(f, side, &keys, consumed);
	} else if (m->type == HG_MSG_TLS_HS_FAIL) {
		hs_fail(f, side);
	}
	hg_wipe(&keys, sizeof(keys));
}

void hg_relay_timers(struct hg_relay *r)
{
	if (r->tls == NULL)
		return;
	for (unsigned v = 0; v < r->n_vs; v++) {
		struct hg_relay_tls *t;

		while ((t = r->hs_head[v]) != NULL &&
		       t->hs_deadline_us <= r->tcp->now_us) {
			WCOUNT(r, tls_handshake_timeouts);
			/* Aborting calls client_closed, which frees the flow
			 * and tells the control plane. */
			hs_abort(t->flow);
		}
	}
}

/* --- set-up --- */

int hg_relay_tls_init(struct hg_relay *r, const struct hg_config *cfg)
{
	bool any = false;

	for (unsigned i = 0; i < cfg->n_vs; i++)
		any |= cfg->vs[i].tls.enabled;
	if (!any)
		return 0;
	r->imb = hg_imb_new();
	if (r->imb == NULL)
		return -1;
	r->tls = calloc(cfg->relay.max_flows, sizeof(*r->tls));
	return r->tls != NULL ? 0 : -1;
}

void hg_relay_tls_free_all(struct hg_relay *r)
{
	if (r->tls == NULL)
		return;
	/* Shutting down: the channel may be gone, so no ABORT messages. */
	for (uint32_t i = 0; i < r->table.n_slots; i++) {
		if (r->flows[i].tls == NULL)
			continue;
		r->flows[i].tls->on_hs_list = false;
		hg_relay_tls_flow_end(&r->flows[i]);
	}
	free(r->tls);
	r->tls = NULL;
	hg_imb_free(r->imb);
	r->imb = NULL;
}
