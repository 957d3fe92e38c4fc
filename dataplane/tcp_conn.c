/* The TCP stack's bookkeeping: configuration defaults, the connection
 * table, connection life (new, close, TIME-WAIT), listeners, active open
 * and the application API. */
#include <rte_malloc.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

const char *const hg_tcp_state_names[HG_TCP_STATE_COUNT] = {
	"CLOSED",     "LISTEN",     "SYN_SENT",   "SYN_RCVD",
	"ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
	"CLOSING",    "LAST_ACK",   "TIME_WAIT",
};

#define WHEEL_SLOTS 4096 /* 1 ms ticks: a 4 s lap */

void hg_tcp_cfg_default(struct hg_tcp_cfg *cfg)
{
	*cfg = (struct hg_tcp_cfg){
		.max_conns = 16384,
		.rcv_buf = 512 * 1024,
		.snd_buf = 512 * 1024,
		.mss = 1460,
		.rto_min_us = 200 * 1000,
		.rto_max_us = 60 * 1000 * 1000,
		.rto_initial_us = 1000 * 1000, /* RFC 6298 2.1 */
		.delack_us = 40 * 1000,
		.timewait_us = 60 * 1000 * 1000,
		.timewait_max = 8192,
		.syn_retries = 5,
		.synack_retries = 5,
		.max_retries = 12,
		.keepalive_idle_us = 0,
		.keepalive_intvl_us = 75 * 1000 * 1000,
		.keepalive_probes = 9,
		.handshake_timeout_us = 75 * 1000 * 1000,
		.ephemeral_low = 32768,
		.ephemeral_high = 60999,
	};
}

int hg_tcp_stack_init(struct hg_tcp_stack *s, const struct hg_tcp_cfg *cfg,
		      struct rte_mempool *pool, unsigned worker,
		      unsigned n_workers, uint64_t *ctr, uint64_t *drops)
{
	uint32_t size = 1;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->pool = pool;
	s->worker = worker;
	s->n_workers = n_workers ? n_workers : 1;
	s->ctr = ctr;
	s->drops = drops;
	if (hg_isn_secret_init(&s->secret) < 0)
		return -1;
	while (size < 2 * cfg->max_conns)
		size <<= 1;
	s->table = calloc(size, sizeof(*s->table));
	s->table_mask = size - 1;
	s->conns = calloc(cfg->max_conns, sizeof(*s->conns));
	s->wheel_slots = calloc(WHEEL_SLOTS, sizeof(*s->wheel_slots));
	if (s->table == NULL || s->conns == NULL || s->wheel_slots == NULL) {
		hg_tcp_stack_free(s);
		return -1;
	}
	for (unsigned i = cfg->max_conns; i-- > 0;) {
		s->conns[i].tw_next = s->free_conns;
		s->free_conns = &s->conns[i];
	}
	hg_wheel_init(&s->wheel, s->wheel_slots, WHEEL_SLOTS,
		      s->now_us / 1000);
	s->next_ephemeral = cfg->ephemeral_low;
	return 0;
}

void hg_tcp_stack_free(struct hg_tcp_stack *s)
{
	if (s->conns != NULL) {
		for (unsigned i = 0; i < s->cfg.max_conns; i++) {
			struct hg_tcp_conn *c = &s->conns[i];

			if (c->flags & HG_TCPF_IN_TABLE) {
				c->flags |= HG_TCPF_CLOSED_CB;
				hg_tcp_close(c, HG_TCP_CLOSE_ABORT);
			}
		}
	}
	free(s->table);
	free(s->conns);
	free(s->wheel_slots);
	s->table = NULL;
	s->conns = NULL;
	s->wheel_slots = NULL;
}

/* --- the connection table: linear probing, backward-shift deletion --- */

static uint32_t tuple_hash(const struct hg_tcp_stack *s,
			   const struct hg_tuple *t)
{
	uint64_t k0 = s->secret.isn_key.k0;
	uint64_t h = ((uint64_t)t->raddr << 32 | t->laddr) ^ k0;

	h ^= ((uint64_t)t->rport << 16 | t->lport) * 0x9e3779b97f4a7c15ULL;
	/* A strong 64-bit finaliser (murmur3's): every input bit matters. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static bool tuple_eq(const struct hg_tuple *a, const struct hg_tuple *b)
{
	return a->raddr == b->raddr && a->laddr == b->laddr &&
	       a->rport == b->rport && a->lport == b->lport;
}

struct hg_tcp_conn *hg_tcp_lookup(struct hg_tcp_stack *s,
				  const struct hg_tuple *t)
{
	uint32_t i = tuple_hash(s, t) & s->table_mask;
	struct hg_tcp_conn *c;

	while ((c = s->table[i]) != NULL) {
		if (tuple_eq(&c->tuple, t))
			return c;
		i = (i + 1) & s->table_mask;
	}
	return NULL;
}

static void table_insert(struct hg_tcp_stack *s, struct hg_tcp_conn *c)
{
	uint32_t i = tuple_hash(s, &c->tuple) & s->table_mask;

	while (s->table[i] != NULL)
		i = (i + 1) & s->table_mask;
	s->table[i] = c;
	c->flags |= HG_TCPF_IN_TABLE;
	s->n_conns++;
}

static void table_remove(struct hg_tcp_stack *s, struct hg_tcp_conn *c)
{
	uint32_t i = tuple_hash(s, &c->tuple) & s->table_mask, j;

	while (s->table[i] != c)
		i = (i + 1) & s->table_mask;
	/* Backward shift: pull later entries of the run into the gap when
	 * their home slot is not between the gap and themselves. */
	for (j = (i + 1) & s->table_mask; s->table[j] != NULL;
	     j = (j + 1) & s->table_mask) {
		uint32_t home = tuple_hash(s, &s->table[j]->tuple) &
				s->table_mask;

		if (((j - home) & s->table_mask) >= ((j - i) & s->table_mask)) {
			s->table[i] = s->table[j];
			i = j;
		}
	}
	s->table[i] = NULL;
	c->flags &= (uint16_t)~HG_TCPF_IN_TABLE;
	s->n_conns--;
}

/* --- TIME-WAIT list: oldest first, bounded by timewait_max --- */

static void tw_unlink(struct hg_tcp_stack *s, struct hg_tcp_conn *c)
{
	if (c->tw_prev)
		c->tw_prev->tw_next = c->tw_next;
	else
		s->tw_oldest = c->tw_next;
	if (c->tw_next)
		c->tw_next->tw_prev = c->tw_prev;
	else
		s->tw_newest = c->tw_prev;
	c->tw_next = c->tw_prev = NULL;
	s->n_timewait--;
}

struct hg_tcp_conn *hg_tcp_conn_new(struct hg_tcp_stack *s,
				    const struct hg_tuple *t, uint8_t port)
{
	struct hg_tcp_conn *c;

	if (s->free_conns == NULL)
		hg_tcp_reap(s);
	c = s->free_conns;
	if (c == NULL && s->tw_oldest != NULL) {
		/* Out of connections: the oldest TIME-WAIT goes first. */
		HG_TCP_COUNT(s, tcp_timewait_recycled);
		hg_tcp_close(s->tw_oldest, HG_TCP_CLOSE_NORMAL);
		hg_tcp_reap(s);
		c = s->free_conns;
	}
	if (c == NULL)
		return NULL;
	s->free_conns = c->tw_next;
	memset(c, 0, sizeof(*c));
	c->tuple = *t;
	c->port = port;
	c->stack = s;
	c->state = HG_TCP_CLOSED;
	c->created_us = s->now_us;
	c->last_rx_us = s->now_us;
	c->rto_us = s->cfg.rto_initial_us;
	c->rcv_buf = s->cfg.rcv_buf;
	c->snd_buf = s->cfg.snd_buf;
	c->mss = 536; /* RFC 9293 default until the peer says */
	hg_seqset_init(&c->ooo);
	hg_seqset_init(&c->sacked);
	hg_timer_init(&c->rtx_timer);
	hg_timer_init(&c->ack_timer);
	hg_timer_init(&c->idle_timer);
	hg_timer_init(&c->pace_timer);
	/* The window scale we announce: enough for rcv_buf (RFC 7323). */
	while (c->rcv_wscale < 14 && (c->rcv_buf >> c->rcv_wscale) > 65535)
		c->rcv_wscale++;
	table_insert(s, c);
	return c;
}

void hg_tcp_set_state(struct hg_tcp_conn *c, enum hg_tcp_state st)
{
	struct hg_tcp_stack *s = c->stack;

	if (c->state == HG_TCP_SYN_RCVD && c->listener != NULL &&
	    c->listener->half_open > 0)
		c->listener->half_open--;
	if (st == HG_TCP_SYN_RCVD && c->listener != NULL)
		c->listener->half_open++;
	if (st == HG_TCP_ESTABLISHED && c->state != HG_TCP_ESTABLISHED)
		HG_TCP_COUNT(s, tcp_established);
	c->state = (uint8_t)st;
}

static void free_queues(struct hg_tcp_conn *c)
{
	rte_pktmbuf_free(c->sndq);
	rte_pktmbuf_free(c->rcvq);
	for (unsigned i = 0; i < c->ooo_n; i++)
		rte_pktmbuf_free(c->ooo_q[i]);
	free(c->ooo_q);
	c->ooo_q = NULL;
	c->ooo_cap = 0;
	c->sndq = c->rcvq = NULL;
	c->sndq_tail = c->rcvq_tail = c->snd_cur = NULL;
	c->sndq_bytes = c->rcvq_bytes = 0;
	c->ooo_n = 0;
	c->ooo_bytes = 0;
}

/* Ends the connection for good: callbacks, timers, queues, table. */
void hg_tcp_close(struct hg_tcp_conn *c, enum hg_tcp_close_reason why)
{
	struct hg_tcp_stack *s = c->stack;

	if (!(c->flags & HG_TCPF_IN_TABLE))
		return;
	if (c->state == HG_TCP_TIME_WAIT)
		tw_unlink(s, c);
	hg_tcp_set_state(c, HG_TCP_CLOSED);
	hg_timer_cancel(&s->wheel, &c->rtx_timer);
	hg_timer_cancel(&s->wheel, &c->ack_timer);
	hg_timer_cancel(&s->wheel, &c->idle_timer);
	hg_timer_cancel(&s->wheel, &c->pace_timer);
	/* The application may still take what it had not read (a relay
	 * forwards it) before the queues go. */
	if (!(c->flags & HG_TCPF_CLOSED_CB)) {
		c->flags |= HG_TCPF_CLOSED_CB;
		if (c->ops && c->ops->on_closed)
			c->ops->on_closed(c, why);
	}
	free_queues(c);
	HG_TCP_COUNT(s, tcp_closed);
	table_remove(s, c);
	/* Not reusable yet: whoever called us (input, a timer, an
	 * application callback) may still look at c->state. */
	c->tw_next = s->dead_conns;
	s->dead_conns = c;
}

void hg_tcp_reap(struct hg_tcp_stack *s)
{
	while (s->dead_conns != NULL) {
		struct hg_tcp_conn *c = s->dead_conns;

		s->dead_conns = c->tw_next;
		c->tw_next = s->free_conns;
		s->free_conns = c;
	}
}

/* TIME-WAIT keeps only the tuple and sequence numbers: the application
 * has been told the connection is over, the queues are gone. */
void hg_tcp_enter_timewait(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;

	hg_tcp_set_state(c, HG_TCP_TIME_WAIT);
	hg_timer_cancel(&s->wheel, &c->ack_timer);
	hg_timer_cancel(&s->wheel, &c->idle_timer);
	hg_timer_cancel(&s->wheel, &c->pace_timer);
	hg_timer_arm(&s->wheel, &c->rtx_timer,
		     (s->now_us + s->cfg.timewait_us) / 1000);
	if (!(c->flags & HG_TCPF_CLOSED_CB)) {
		c->flags |= HG_TCPF_CLOSED_CB;
		if (c->ops && c->ops->on_closed)
			c->ops->on_closed(c, HG_TCP_CLOSE_NORMAL);
	}
	free_queues(c);
	c->tw_prev = s->tw_newest;
	c->tw_next = NULL;
	if (s->tw_newest)
		s->tw_newest->tw_next = c;
	else
		s->tw_oldest = c;
	s->tw_newest = c;
	s->n_timewait++;
	if (s->n_timewait > s->cfg.timewait_max) {
		HG_TCP_COUNT(s, tcp_timewait_recycled);
		hg_tcp_close(s->tw_oldest, HG_TCP_CLOSE_NORMAL);
	}
}

struct hg_tcp_listener *hg_tcp_listen(struct hg_tcp_stack *s, uint32_t addr,
				      uint16_t port,
				      const struct hg_tcp_ops *ops, void *arg)
{
	struct hg_tcp_listener *l;

	if (s->n_listeners == HG_TCP_MAX_LISTENERS)
		return NULL;
	l = &s->listeners[s->n_listeners++];
	memset(l, 0, sizeof(*l));
	l->addr = addr;
	l->port = port;
	l->ops = ops;
	l->arg = arg;
	l->backlog = 1024;
	l->cc = HG_CC_CUBIC;
	return l;
}

/* An ephemeral port that is ours (hg_tcp_port_owner) and free for this
 * (laddr, raddr, rport). */
static int pick_port(struct hg_tcp_stack *s, struct hg_tuple *t)
{
	unsigned span = (unsigned)(s->cfg.ephemeral_high -
				   s->cfg.ephemeral_low) + 1;

	for (unsigned tries = 0; tries < span; tries++) {
		uint16_t p = s->next_ephemeral++;

		if (s->next_ephemeral > s->cfg.ephemeral_high ||
		    s->next_ephemeral < s->cfg.ephemeral_low)
			s->next_ephemeral = s->cfg.ephemeral_low;
		if (hg_tcp_port_owner(p, s->n_workers) != s->worker)
			continue;
		t->lport = p;
		if (hg_tcp_lookup(s, t) == NULL)
			return 0;
	}
	return -1;
}

struct hg_tcp_conn *hg_tcp_connect(struct hg_tcp_stack *s, uint8_t port,
				   uint32_t laddr, uint32_t raddr,
				   uint16_t rport, enum hg_cc_algo cc,
				   const struct hg_tcp_ops *ops, void *app)
{
	struct hg_tuple t = {.laddr = laddr, .raddr = raddr, .rport = rport};
	struct hg_tcp_conn *c;

	if (pick_port(s, &t) < 0) {
		HG_TCP_DROP(s, tcp_table_full);
		return NULL;
	}
	c = hg_tcp_conn_new(s, &t, port);
	if (c == NULL) {
		HG_TCP_DROP(s, tcp_table_full);
		return NULL;
	}
	c->ops = ops;
	c->app = app;
	c->iss = hg_isn(&s->secret, &t, s->now_us);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->ts_offset = (uint32_t)hg_siphash(&s->secret.cookie_key, &t,
					    sizeof(t));
	hg_cc_init(&c->cc, cc, c->mss);
	hg_tcp_set_state(c, HG_TCP_SYN_SENT);
	HG_TCP_COUNT(s, tcp_opened);
	hg_tcp_send_syn(c);
	hg_tcp_arm_rtx(c);
	hg_tcp_arm_idle(c);
	return c;
}

struct rte_mbuf *hg_tcp_recv(struct hg_tcp_conn *c, uint32_t max)
{
	struct rte_mbuf *head = c->rcvq, *m, *prev = NULL;
	uint32_t taken = 0;
	uint16_t segs = 0;
	bool was_small;

	if (head == NULL || max == 0)
		return NULL;
	for (m = head; m != NULL && taken + m->data_len <= max; m = m->next) {
		taken += m->data_len;
		segs++;
		prev = m;
	}
	if (prev == NULL)
		return NULL; /* the first mbuf alone is more than max */
	was_small = hg_tcp_rcv_window(c) < c->mss;
	/* Split the chain after `prev`. */
	c->rcvq = prev->next;
	prev->next = NULL;
	if (c->rcvq != NULL) {
		/* nb_segs saturates on very long queues (chain_append) */
		c->rcvq->nb_segs = head->nb_segs > segs
					   ? (uint16_t)(head->nb_segs - segs)
					   : 1;
		c->rcvq->pkt_len = head->pkt_len - taken;
	} else {
		c->rcvq_tail = NULL;
	}
	head->nb_segs = segs;
	head->pkt_len = taken;
	c->rcvq_bytes -= taken;
	/* The window opened: tell the peer if it was nearly shut (RFC 9293
	 * 3.8.6.2.2, receiver side silly window avoidance). */
	if (was_small && hg_tcp_rcv_window(c) >= c->mss &&
	    (c->state == HG_TCP_ESTABLISHED || c->state == HG_TCP_FIN_WAIT_1 ||
	     c->state == HG_TCP_FIN_WAIT_2))
		hg_tcp_send_ack(c);
	return head;
}

/* Appends chain m to the queue *q whose last segment is *tail, in time
 * proportional to m's segments, not the queue's (rte_pktmbuf_chain walks
 * the whole queue to find its end: quadratic for a full send queue).
 * nb_segs saturates at 2^16 - 1; pkt_len stays exact. */
static void chain_append(struct rte_mbuf **q, struct rte_mbuf **tail,
			 struct rte_mbuf *m)
{
	struct rte_mbuf *head = *q, *last = rte_pktmbuf_lastseg(m);
	uint32_t segs;

	if (head == NULL) {
		*q = m;
		*tail = last;
		return;
	}
	(*tail)->next = m;
	*tail = last;
	head->pkt_len += m->pkt_len;
	segs = (uint32_t)head->nb_segs + m->nb_segs;
	head->nb_segs = (uint16_t)(segs < UINT16_MAX ? segs : UINT16_MAX);
	m->nb_segs = 1;
	m->pkt_len = m->data_len;
}

void hg_tcp_rcvq_append(struct hg_tcp_conn *c, struct rte_mbuf *m)
{
	c->rcvq_bytes += m->pkt_len;
	chain_append(&c->rcvq, &c->rcvq_tail, m);
}

int hg_tcp_send(struct hg_tcp_conn *c, struct rte_mbuf *m)
{
	if (c->flags & HG_TCPF_FIN_QUEUED ||
	    (c->state != HG_TCP_ESTABLISHED &&
	     c->state != HG_TCP_CLOSE_WAIT && c->state != HG_TCP_SYN_SENT &&
	     c->state != HG_TCP_SYN_RCVD)) {
		rte_pktmbuf_free(m);
		return -1;
	}
	if (m->pkt_len == 0) {
		rte_pktmbuf_free(m);
		return 0;
	}
	c->sndq_bytes += m->pkt_len;
	chain_append(&c->sndq, &c->sndq_tail, m);
	if (c->stack->in_conn != c)
		hg_tcp_output(c);
	return 0;
}

void hg_tcp_shutdown(struct hg_tcp_conn *c)
{
	if (c->flags & HG_TCPF_FIN_QUEUED)
		return;
	switch (c->state) {
	case HG_TCP_SYN_SENT:
		hg_tcp_close(c, HG_TCP_CLOSE_NORMAL);
		return;
	case HG_TCP_SYN_RCVD:
	case HG_TCP_ESTABLISHED:
	case HG_TCP_CLOSE_WAIT:
		c->flags |= HG_TCPF_FIN_QUEUED;
		if (c->stack->in_conn != c)
			hg_tcp_output(c);
		return;
	default:
		return;
	}
}

void hg_tcp_abort(struct hg_tcp_conn *c)
{
	struct hg_tcp_stack *s = c->stack;

	if (c->state != HG_TCP_SYN_SENT && c->state != HG_TCP_TIME_WAIT &&
	    c->state != HG_TCP_CLOSED)
		hg_tcp_send_rst_for(s, c->port, &c->tuple, c->snd_nxt, 0,
				    false);
	HG_TCP_COUNT(s, tcp_aborted);
	hg_tcp_close(c, HG_TCP_CLOSE_ABORT);
}
