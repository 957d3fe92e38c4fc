/* TLS on the relay's client side (see relay_tls.h).
 *
 * The handshake is the control plane's: until its keys arrive, every byte
 * the client sends is copied to the control plane and kept here (`held`),
 * because the handshake's end may fall anywhere in them: the control plane
 * answers how many it used, and the rest are the client's first records.
 * From then on the record layer (tls_rec.c) decrypts the client's records
 * in place into `plain`, which goes to the backend as its send queue has
 * room, and seals what the backend sends into records for the client.
 *
 * Backpressure is the plain relay's: nothing is taken from a receive queue
 * unless the other side can take it (for the client's records: unless
 * `plain` holds less than PLAIN_MAX), so a flow holds at most its two
 * connections' buffers, one record being reassembled and PLAIN_MAX.
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

enum { ALERT_WARNING = 1, ALERT_FATAL = 2 };
enum { ALERT_INTERNAL_ERROR = 80 };

struct hg_relay_tls {
	struct hg_relay_flow *flow;
	struct hg_relay_tls *hs_next, *hs_prev; /* handshakes, oldest first */
	uint64_t hs_deadline_us;
	bool on_hs_list;
	bool keyed;             /* the record layer runs */
	bool rx_done;           /* the client's close_notify arrived */
	bool close_notify_sent;
	struct rte_mbuf *held; /* client bytes sent to the control plane */
	uint32_t held_bytes;
	uint64_t sent; /* client stream bytes sent to the control plane */
	struct rte_mbuf *plain; /* decrypted, for the backend */
	uint32_t plain_bytes;
	uint64_t last_tx_us;
	struct hg_tls_rec rec;
};

static struct hg_relay *relay_of(const struct hg_relay_flow *f)
{
	return f->vs->relay;
}

static struct rte_mempool *pool_of(const struct hg_relay_flow *f)
{
	return relay_of(f)->tcp->pool;
}

/* --- mbuf chains --- */

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

static void hs_list_add(struct hg_relay_tls *t)
{
	struct hg_relay *r = relay_of(t->flow);
	unsigned v = t->flow->vs->index;

	t->hs_prev = r->hs_tail[v];
	t->hs_next = NULL;
	if (r->hs_tail[v] != NULL)
		r->hs_tail[v]->hs_next = t;
	else
		r->hs_head[v] = t;
	r->hs_tail[v] = t;
	t->on_hs_list = true;
}

static void send_abort(struct hg_relay_flow *f)
{
	struct hg_relay *r = relay_of(f);
	struct hg_tls_hs_end a = {.flow = f->entry->id, .worker = r->worker};

	if (r->to_cp(r->cp_ctx, HG_MSG_TLS_HS_ABORT, &a, sizeof(a), NULL, 0) <
	    0)
		WCOUNT(r, chan_full);
}

/* Ends a handshake that cannot go on: the client gets a RST (the flow is
 * freed by client_closed). The caller must not touch `f` after. */
static void hs_abort(struct hg_relay_flow *f)
{
	struct hg_relay *r = relay_of(f);

	WCOUNT(r, tls_handshakes_failed);
	hg_tcp_abort(f->client);
}

/* Copies the client's new bytes to the control plane and keeps them. */
static void hs_forward(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;
	struct hg_relay *r = relay_of(f);

	while (hg_tcp_rcv_bytes(f->client) > 0 && t->held_bytes < HS_HOLD_MAX) {
		struct rte_mbuf *m = hg_tcp_recv(f->client,
						 HS_HOLD_MAX - t->held_bytes),
				*s;

		if (m == NULL)
			return;
		for (s = m; s != NULL; s = s->next) {
			const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);
			uint32_t left = s->data_len;

			while (left > 0) {
				uint32_t n = left < HG_TLS_HS_CHUNK
						     ? left
						     : (uint32_t)HG_TLS_HS_CHUNK;
				struct hg_tls_hs_data d = {
					.flow = f->entry->id,
					.offset = t->sent,
					.worker = r->worker,
					.client_addr = f->client->tuple.raddr,
					.client_port = f->client->tuple.rport,
					.vs = (uint16_t)f->vs->index,
					.flags = t->sent == 0 ? HG_TLS_HS_FIRST
							      : 0,
					.len = (uint16_t)n,
				};

				if (r->to_cp(r->cp_ctx, HG_MSG_TLS_HS_DATA, &d,
					     sizeof(d), p, n) < 0) {
					WCOUNT(r, chan_full);
					rte_pktmbuf_free(m);
					hs_abort(f);
					return;
				}
				r->wctr[HG_WC_tls_hs_bytes_to_cp] += n;
				t->sent += n;
				p += n;
				left -= n;
			}
		}
		t->held_bytes += m->pkt_len;
		if (chain_append(&t->held, m) < 0) {
			hs_abort(f);
			return;
		}
	}
}

/* --- records --- */

/* A record the record layer built (it counted tls_nomem when it could
 * not: an alert or KeyUpdate then goes missing, which the peer survives). */
static void send_to_client(struct hg_relay_flow *f, struct rte_mbuf *m)
{
	if (m != NULL)
		hg_tcp_send(f->client, m);
}

/* The record layer refused the client's records (or the client sent a
 * fatal alert): the alert goes out, then our FIN; the backend, which may
 * have had part of a stream that is now broken, is reset. */
static void tls_fatal(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;

	if (t->rec.alert != 0 && !t->close_notify_sent) {
		send_to_client(f, hg_tls_rec_alert(&t->rec, pool_of(f),
						   ALERT_FATAL, t->rec.alert));
		t->close_notify_sent = true; /* no record after a fatal one */
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
	rte_pktmbuf_free(t->plain);
	t->plain = NULL;
	t->plain_bytes = 0;
	f->state = HG_RELAY_CLOSING;
}

/* Decrypts `in` (the client's bytes) into `plain`. Returns false when the
 * flow failed (tls_fatal done). */
static bool open_records(struct hg_relay_flow *f, struct rte_mbuf *in)
{
	struct hg_relay_tls *t = f->tls;
	struct rte_mbuf *plain = NULL;
	enum hg_tls_rx rc = hg_tls_rec_open(&t->rec, pool_of(f), in, &plain);

	if (plain != NULL) {
		uint32_t n = plain->pkt_len;

		if (chain_append(&t->plain, plain) < 0) {
			t->rec.alert = ALERT_INTERNAL_ERROR;
			tls_fatal(f);
			return false;
		}
		t->plain_bytes += n;
	}
	if (t->rec.key_update_due)
		send_to_client(f, hg_tls_rec_key_update(&t->rec, pool_of(f),
							false));
	if (rc == HG_TLS_RX_CLOSE_NOTIFY)
		t->rx_done = true;
	if (rc == HG_TLS_RX_FATAL) {
		tls_fatal(f);
		return false;
	}
	return true;
}

/* Plaintext to the backend, as much as its send queue takes. */
static void move_plain(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;
	uint32_t space = hg_tcp_snd_space(f->backend);

	while (space > 0 && t->plain != NULL) {
		struct rte_mbuf *m = chain_split(&t->plain, space);
		uint32_t n;

		if (m == NULL)
			break;
		n = m->pkt_len;
		t->plain_bytes -= n;
		if (hg_tcp_send(f->backend, m) < 0)
			return;
		hg_relay_count_moved(f, f->backend, &f->bytes_c2b, n);
		space = n < space ? space - n : 0;
	}
}

static bool client_to_backend(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;

	while (!t->rx_done && t->plain_bytes < PLAIN_MAX &&
	       hg_tcp_rcv_bytes(f->client) > 0) {
		struct rte_mbuf *in = hg_tcp_recv(f->client, RX_TAKE);

		if (in == NULL)
			break;
		if (!open_records(f, in))
			return false;
	}
	if (f->backend == NULL || f->state != HG_RELAY_OPEN)
		return true;
	move_plain(f);
	/* The client is done (close_notify, or its FIN: a truncation we
	 * pass on the same way) and everything before it has gone. */
	if (t->plain == NULL && !f->backend_fin_sent &&
	    (t->rx_done ||
	     (f->client->rcv_fin && hg_tcp_rcv_bytes(f->client) == 0))) {
		f->backend_fin_sent = true;
		hg_tcp_shutdown(f->backend);
	}
	return true;
}

/* Seals up to `max` bytes of the backend's stream into records for the
 * client. Returns the plaintext bytes sent, 0 when nothing could go, -1
 * when the bytes taken could not be sealed (out of mbufs): they are gone,
 * so the client's stream has a hole and the flow must end. */
static int64_t seal_some(struct hg_relay_flow *f, struct hg_tcp_conn *b,
			 uint32_t max)
{
	struct hg_relay_tls *t = f->tls;
	struct rte_mbuf *m, *rec;
	uint32_t n;

	/* At least one whole segment (the record layer cuts records to
	 * record_size itself, however small that is configured). */
	if (b->rcvq != NULL && b->rcvq->data_len > max)
		max = b->rcvq->data_len;
	m = hg_tcp_recv(b, max);
	if (m == NULL)
		return 0;
	n = m->pkt_len;
	rec = hg_tls_rec_seal(&t->rec, pool_of(f), m);
	if (rec == NULL)
		return -1;
	hg_tcp_send(f->client, rec);
	hg_relay_count_moved(f, f->client, &f->bytes_b2c, n);
	t->last_tx_us = relay_of(f)->tcp->now_us;
	return n;
}

static void send_close_notify(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;

	if (t->close_notify_sent)
		return;
	t->close_notify_sent = true;
	send_to_client(f, hg_tls_rec_alert(&t->rec, pool_of(f), ALERT_WARNING,
					   0));
}

static void backend_to_client(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;
	struct hg_tcp_conn *b = f->backend;
	uint32_t record = f->vs->cfg->tls.record_size;

	if (b == NULL || f->state != HG_RELAY_OPEN)
		return;
	while (hg_tcp_snd_space(f->client) > 0 && hg_tcp_rcv_bytes(b) > 0) {
		uint32_t max = record;
		int64_t n;

		if (relay_of(f)->tcp->now_us - t->last_tx_us > IDLE_SMALL_US)
			max = b->rcvq->data_len; /* one segment's worth */
		n = seal_some(f, b, max);
		if (n < 0) {
			/* Both sides are reset; client_closed frees f. */
			hg_tcp_abort(f->client);
			return;
		}
		if (n == 0)
			break;
	}
	if (b->rcv_fin && hg_tcp_rcv_bytes(b) == 0 && !f->client_fin_sent) {
		send_close_notify(f);
		f->client_fin_sent = true;
		hg_tcp_shutdown(f->client);
	}
}

/* --- the relay's entry points --- */

void hg_relay_tls_start(struct hg_relay_flow *f)
{
	struct hg_relay *r = relay_of(f);
	struct hg_relay_tls *t = &r->tls[f - r->flows];

	memset(t, 0, sizeof(*t));
	t->flow = f;
	f->tls = t;
	f->state = HG_RELAY_HANDSHAKE;
	t->hs_deadline_us =
		r->tcp->now_us +
		(uint64_t)f->vs->cfg->tls.handshake_timeout_s * 1000000;
	hs_list_add(t);
	WCOUNT(r, tls_handshakes_started);
	hs_forward(f);
}

void hg_relay_tls_pump(struct hg_relay_flow *f)
{
	struct hg_relay *r = relay_of(f);

	if (f->client == NULL)
		return;
	hg_flow_touch(&r->table, f->entry, r->tcp->now_us);
	if (f->state == HG_RELAY_HANDSHAKE) {
		hs_forward(f);
		return;
	}
	if (!f->tls->keyed || (f->state == HG_RELAY_CLOSING &&
			       f->backend == NULL)) {
		/* Failed or refused: what the client still sends is
		 * dropped while our FIN goes out. */
		rte_pktmbuf_free(hg_tcp_recv(f->client, UINT32_MAX));
		return;
	}
	if (!client_to_backend(f))
		return;
	backend_to_client(f);
}

void hg_relay_tls_flush_client(struct hg_relay_flow *f, struct hg_tcp_conn *c)
{
	struct hg_relay_tls *t = f->tls;
	struct rte_mbuf *in = hg_tcp_recv(c, UINT32_MAX);

	if (!t->keyed) {
		rte_pktmbuf_free(in);
		return;
	}
	/* The client is closing: its connection is going away, so the
	 * failure of a last record can only cost the backend that record. */
	if (in != NULL && !t->rx_done)
		open_records(f, in);
	else
		rte_pktmbuf_free(in);
	if (t->plain != NULL && f->backend != NULL) {
		uint32_t n = t->plain_bytes;

		hg_tcp_send(f->backend, t->plain);
		hg_relay_count_moved(f, f->backend, &f->bytes_c2b, n);
		t->plain = NULL;
		t->plain_bytes = 0;
	}
}

void hg_relay_tls_flush_backend(struct hg_relay_flow *f,
				struct hg_tcp_conn *b)
{
	struct hg_relay_tls *t = f->tls;

	int64_t n = 0;

	if (!t->keyed)
		return;
	while (hg_tcp_rcv_bytes(b) > 0 &&
	       (n = seal_some(f, b, f->vs->cfg->tls.record_size)) > 0)
		;
	/* Bytes lost to a failed seal: no close_notify, so the client sees
	 * the stream cut short rather than complete. */
	if (n >= 0)
		send_close_notify(f);
}

void hg_relay_tls_flow_end(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;

	if (t->on_hs_list) {
		hs_list_remove(t);
		send_abort(f);
	}
	rte_pktmbuf_free(t->held);
	rte_pktmbuf_free(t->plain);
	if (t->keyed)
		hg_tls_rec_free(&t->rec);
	memset(t, 0, sizeof(*t));
	f->tls = NULL;
}

/* --- the control plane's answers --- */

static void hs_done(struct hg_relay_flow *f, const struct hg_tls_keys *k,
		    uint64_t consumed)
{
	struct hg_relay_tls *t = f->tls;
	struct hg_relay *r = relay_of(f);
	struct rte_mbuf *rest;

	hs_list_remove(t);
	if (consumed > t->sent ||
	    hg_tls_rec_init(&t->rec, r->imb, k, f->vs->cfg->tls.record_size,
			    r->wctr) < 0) {
		hs_abort(f);
		return;
	}
	t->keyed = true;
	t->last_tx_us = r->tcp->now_us;
	WCOUNT(r, tls_handshakes_completed);
	chain_drop(&t->held, (uint32_t)consumed);
	rest = t->held;
	t->held = NULL;
	t->held_bytes = 0;
	f->state = HG_RELAY_CONNECTING;
	if (rest != NULL && !open_records(f, rest))
		return;
	if (hg_relay_start_backend(f) < 0) {
		WCOUNT(r, relay_no_backend);
		hg_relay_refuse(f->vs, f->client); /* on_closed frees f */
		return;
	}
	/* More client records may have come since the handshake ended. */
	client_to_backend(f);
}

static void hs_fail(struct hg_relay_flow *f)
{
	struct hg_relay_tls *t = f->tls;

	WCOUNT(relay_of(f), tls_handshakes_failed);
	hs_list_remove(t);
	rte_pktmbuf_free(t->held);
	t->held = NULL;
	t->held_bytes = 0;
	/* The control plane's alert went out as HS_OUT bytes; our FIN
	 * follows it, and client_closed frees the flow. */
	f->state = HG_RELAY_CLOSING;
	f->client_fin_sent = true;
	hg_tcp_shutdown(f->client);
}

void hg_relay_tls_msg(struct hg_relay *r, struct hg_msg *m)
{
	struct hg_flow_entry *e;
	struct hg_relay_flow *f;
	struct hg_tls_keys keys;
	uint64_t id, consumed = 0;

	memcpy(&id, m->payload, sizeof(id));
	if (m->type == HG_MSG_TLS_HS_DONE) {
		struct hg_tls_hs_done *d = (void *)m->payload;

		memcpy(&keys, &d->keys, sizeof(keys));
		consumed = d->consumed;
		/* Keys never stay in shared memory. */
		hg_wipe(&d->keys, sizeof(d->keys));
	}
	e = r->tls != NULL ? hg_flow_lookup(&r->table, id) : NULL;
	f = e != NULL ? e->data : NULL;
	if (f == NULL || f->tls == NULL || f->client == NULL ||
	    f->state != HG_RELAY_HANDSHAKE) {
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
		hg_tcp_send(f->client, c);
	} else if (m->type == HG_MSG_TLS_HS_DONE) {
		hs_done(f, &keys, consumed);
	} else if (m->type == HG_MSG_TLS_HS_FAIL) {
		hs_fail(f);
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
