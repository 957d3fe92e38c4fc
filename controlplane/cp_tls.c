/* The control plane's side of TLS flows (see cp_tls.h).
 *
 * A handshake is keyed by its flow id (which names the worker too). The
 * data plane sends the client's bytes in order with their stream offset;
 * a gap or a repeat means messages were lost (a full ring): the handshake
 * is failed rather than fed a broken stream. Answers go back on the
 * worker's ring in order: the bytes for the client, then DONE with the
 * keys (wiped here right after) or FAIL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"
#include "pkt.h"
#include "cp_tls.h"
#include "tls_hs.h"

#define N_BUCKETS 4096 /* power of two */
/* Handshakes the data plane never ended (its ABORT lost, or it went away
 * and came back) are dropped this long after their own timeout. */
#define STALE_GRACE_S 5

static const char *const fail_reasons[] = {
	"bad_client_hello", "bad_message",	  "bad_record",
	"record_overflow",  "handshake_too_large", "protocol_version",
	"no_shared_cipher", "handshake_failure",	  "unexpected_message",
	"decrypt_error",    "peer_alert",	  "internal",
	"channel",	    "no_context",	  "stream_gap",
	"bad_certificate",  "bad_server_hello",
};
#define N_REASONS (sizeof(fail_reasons) / sizeof(fail_reasons[0]))

struct hs_entry {
	struct hs_entry *next;
	uint64_t flow;
	uint32_t worker;
	uint16_t vs;
	uint8_t side; /* enum hg_tls_side: we are the server, or the client */
	uint64_t offset; /* client bytes fed so far */
	uint64_t started_s;
	struct hg_tls_hs *hs;
};

struct hg_cp_tls {
	struct hg_tls_server *servers[HG_MAX_VS];
	struct hg_tls_client *clients[HG_MAX_VS]; /* backend_tls */
	struct hs_entry *buckets[N_BUCKETS];
	struct hg_tls_out out;
	uint64_t active;
	uint64_t started, completed, failed, resumed, aborted, expired;
	uint64_t tls12, tls13;
	uint64_t out_bytes, in_bytes;
	uint64_t failed_by[N_REASONS];
	/* Handshakes with backends (backend_tls). */
	uint64_t b_started, b_completed, b_failed, b_resumed;
	uint64_t b_failed_by[N_REASONS];
};

static uint64_t now_s(void)
{
	return hg_monotonic_ns() / 1000000000ULL;
}

static struct hs_entry **bucket_of(struct hg_cp_tls *t, uint64_t flow)
{
	uint64_t h = flow * 0x9e3779b97f4a7c15ULL;

	return &t->buckets[(h >> 40) & (N_BUCKETS - 1)];
}

static struct hs_entry **find(struct hg_cp_tls *t, uint64_t flow,
			      uint8_t side)
{
	struct hs_entry **pp = bucket_of(t, flow);

	while (*pp != NULL && ((*pp)->flow != flow || (*pp)->side != side))
		pp = &(*pp)->next;
	return pp;
}

static void entry_free(struct hg_cp_tls *t, struct hs_entry **pp)
{
	struct hs_entry *e = *pp;

	*pp = e->next;
	hg_tls_hs_free(e->hs);
	free(e);
	t->active--;
}

static void count_failure(struct hg_cp_tls *t, uint8_t side,
			  const char *reason)
{
	uint64_t *by = side == HG_TLS_SIDE_BACKEND ? t->b_failed_by
						   : t->failed_by;
	size_t i;

	if (side == HG_TLS_SIDE_BACKEND)
		t->b_failed++;
	else
		t->failed++;
	for (i = 0; i < N_REASONS; i++)
		if (reason != NULL && strcmp(reason, fail_reasons[i]) == 0)
			break;
	if (i == N_REASONS) /* unknown: internal */
		for (i = 0; strcmp(fail_reasons[i], "internal") != 0; i++)
			;
	by[i]++;
}

/* Sends `out` to the client of `e` in chunks. Returns false when the
 * worker's ring could not take it all. */
static bool send_out(struct hg_cp *cp, struct hs_entry *e)
{
	struct hg_cp_tls *t = cp->tls;
	const size_t chunk = HG_MSG_MAX_PAYLOAD - sizeof(struct hg_tls_hs_out);
	size_t off = 0;

	while (off < t->out.len) {
		size_t n = t->out.len - off < chunk ? t->out.len - off : chunk;
		struct hg_tls_hs_out o = {.flow = e->flow, .len = (uint16_t)n,
					  .side = e->side};

		if (!hg_cp_chan_send2(cp, e->worker, HG_MSG_TLS_HS_OUT, &o,
				      sizeof(o), t->out.data + off,
				      (uint32_t)n))
			return false;
		off += n;
		t->out_bytes += n;
	}
	t->out.len = 0;
	return true;
}

static void send_fail(struct hg_cp *cp, struct hs_entry *e, uint32_t why)
{
	struct hg_tls_hs_end f = {.flow = e->flow, .worker = e->worker,
				  .reason = (uint16_t)why, .side = e->side};

	hg_cp_chan_send(cp, e->worker, HG_MSG_TLS_HS_FAIL, 0, &f, sizeof(f));
}

static void finish_done(struct hg_cp *cp, struct hs_entry *e)
{
	struct hg_cp_tls *t = cp->tls;
	struct hg_tls_hs_done d = {.flow = e->flow, .side = e->side};
	const struct hg_tls_hs_info *info = hg_tls_hs_info(e->hs);

	d.consumed = hg_tls_hs_consumed(e->hs);
	if (hg_tls_hs_keys(e->hs, &d.keys) < 0) {
		count_failure(t, e->side, "internal");
		send_fail(cp, e, HG_TLS_FAIL_INTERNAL);
		return;
	}
	if (!hg_cp_chan_send(cp, e->worker, HG_MSG_TLS_HS_DONE, 0, &d,
			     sizeof(d))) {
		count_failure(t, e->side, "channel");
	} else if (e->side == HG_TLS_SIDE_BACKEND) {
		t->b_completed++;
		if (info != NULL && info->resumed)
			t->b_resumed++;
	} else {
		t->completed++;
		if (info != NULL && info->resumed)
			t->resumed++;
		if (info != NULL && info->version == HG_TLS_V13)
			t->tls13++;
		else
			t->tls12++;
	}
	hg_wipe(&d, sizeof(d));
}

/* A new handshake: we are the server for a client, the client for a
 * backend (whose ClientHello goes out at once). Returns NULL when it
 * could not start (counted and answered with FAIL). */
static struct hs_entry *hs_start(struct hg_cp *cp,
				 const struct hg_tls_hs_data *d,
				 struct hs_entry **pp)
{
	struct hg_cp_tls *t = cp->tls;
	struct hs_entry *e = calloc(1, sizeof(*e));
	bool backend = d->side == HG_TLS_SIDE_BACKEND;

	if (e == NULL)
		return NULL;
	e->flow = d->flow;
	e->worker = d->worker;
	e->vs = d->vs;
	e->side = d->side;
	e->started_s = now_s();
	*pp = e;
	t->active++;
	if (backend)
		t->b_started++;
	else
		t->started++;
	if (d->vs < HG_MAX_VS && !backend && t->servers[d->vs] != NULL) {
		e->hs = hg_tls_hs_new(t->servers[d->vs]);
	} else if (d->vs < HG_MAX_VS && backend && t->clients[d->vs] != NULL) {
		char ip[16];

		hg_ipv4_format(d->peer_addr, ip);
		e->hs = hg_tls_hs_new_client(t->clients[d->vs], ip,
					     d->peer_port, &t->out);
	}
	if (e->hs == NULL) {
		count_failure(t, e->side, "no_context");
		send_fail(cp, e, HG_TLS_FAIL_NO_CONTEXT);
		entry_free(t, pp);
		return NULL;
	}
	return e;
}

static void on_data(struct hg_cp *cp, const struct hg_tls_hs_data *d)
{
	struct hg_cp_tls *t = cp->tls;
	struct hs_entry **pp = find(t, d->flow, d->side), *e = *pp;
	enum hg_tls_hs_status st = HG_TLS_HS_CONTINUE;

	if (e == NULL) {
		if (!(d->flags & HG_TLS_HS_FIRST) || d->offset != 0)
			return; /* after the end, or its start was lost */
		e = hs_start(cp, d, pp);
		if (e == NULL)
			return;
	}
	if (d->offset != e->offset) {
		count_failure(t, e->side, "stream_gap");
		send_fail(cp, e, HG_TLS_FAIL_CHANNEL);
		entry_free(t, pp);
		return;
	}
	e->offset += d->len;
	t->in_bytes += d->len;
	if (d->len > 0)
		st = hg_tls_hs_input(e->hs, d->data, d->len, &t->out);
	if (!send_out(cp, e)) {
		t->out.len = 0;
		count_failure(t, e->side, "channel");
		send_fail(cp, e, HG_TLS_FAIL_CHANNEL);
		entry_free(t, pp);
		return;
	}
	if (st == HG_TLS_HS_CONTINUE)
		return;
	if (st == HG_TLS_HS_DONE) {
		finish_done(cp, e);
	} else {
		count_failure(t, e->side, hg_tls_hs_fail_reason(e->hs));
		send_fail(cp, e, HG_TLS_FAIL_HANDSHAKE);
	}
	entry_free(t, pp);
}

void hg_cp_tls_msg(struct hg_cp *cp, const struct hg_msg *m)
{
	struct hg_cp_tls *t = cp->tls;

	if (t == NULL)
		return;
	if (m->type == HG_MSG_TLS_HS_DATA) {
		on_data(cp, (const void *)m->payload);
	} else if (m->type == HG_MSG_TLS_HS_ABORT) {
		const struct hg_tls_hs_end *a = (const void *)m->payload;
		struct hs_entry **pp = find(t, a->flow, (uint8_t)a->side);

		if (*pp != NULL) {
			t->aborted++;
			entry_free(t, pp);
		}
	}
}

void hg_cp_tls_tick(struct hg_cp *cp)
{
	struct hg_cp_tls *t = cp->tls;
	uint64_t now = now_s();

	if (t == NULL)
		return;
	for (unsigned v = 0; v < HG_MAX_VS; v++)
		if (t->servers[v] != NULL)
			hg_tls_server_tick(t->servers[v], now);
	if (t->active == 0)
		return;
	for (unsigned b = 0; b < N_BUCKETS; b++) {
		struct hs_entry **pp = &t->buckets[b];

		while (*pp != NULL) {
			const struct hs_entry *e = *pp;
			unsigned limit = cp->cfg.vs[e->vs].tls.handshake_timeout_s +
					 STALE_GRACE_S;

			if (now - e->started_s > limit) {
				t->expired++;
				entry_free(t, pp);
			} else {
				pp = &(*pp)->next;
			}
		}
	}
}

void hg_cp_tls_forget_all(struct hg_cp *cp)
{
	struct hg_cp_tls *t = cp->tls;

	if (t == NULL)
		return;
	for (unsigned b = 0; b < N_BUCKETS; b++)
		while (t->buckets[b] != NULL)
			entry_free(t, &t->buckets[b]);
}

json_t *hg_cp_tls_stats(struct hg_cp *cp)
{
	struct hg_cp_tls *t = cp->tls;
	json_t *o = json_object(), *by = json_object();

	if (t == NULL) {
		json_decref(by);
		return o;
	}
	json_object_set_new(o, "handshakes_active", json_integer((json_int_t)t->active));
	json_object_set_new(o, "handshakes_started", json_integer((json_int_t)t->started));
	json_object_set_new(o, "handshakes_completed", json_integer((json_int_t)t->completed));
	json_object_set_new(o, "handshakes_failed", json_integer((json_int_t)t->failed));
	json_object_set_new(o, "handshakes_aborted", json_integer((json_int_t)t->aborted));
	json_object_set_new(o, "handshakes_expired", json_integer((json_int_t)t->expired));
	json_object_set_new(o, "resumptions", json_integer((json_int_t)t->resumed));
	json_object_set_new(o, "tls1_2", json_integer((json_int_t)t->tls12));
	json_object_set_new(o, "tls1_3", json_integer((json_int_t)t->tls13));
	json_object_set_new(o, "handshake_bytes_in", json_integer((json_int_t)t->in_bytes));
	json_object_set_new(o, "handshake_bytes_out", json_integer((json_int_t)t->out_bytes));
	for (size_t i = 0; i < N_REASONS; i++)
		json_object_set_new(by, fail_reasons[i],
				    json_integer((json_int_t)t->failed_by[i]));
	json_object_set_new(o, "failed_by_reason", by);
	by = json_object();
	for (size_t i = 0; i < N_REASONS; i++)
		json_object_set_new(by, fail_reasons[i],
				    json_integer((json_int_t)t->b_failed_by[i]));
	json_object_set_new(o, "backend", json_pack("{s:I,s:I,s:I,s:I,s:o}",
		"handshakes_started", (json_int_t)t->b_started,
		"handshakes_completed", (json_int_t)t->b_completed,
		"handshakes_failed", (json_int_t)t->b_failed,
		"resumptions", (json_int_t)t->b_resumed,
		"failed_by_reason", by));
	return o;
}

static struct hg_tls_client *client_of(const struct hg_backend_tls_config *b,
				       char *err, size_t errlen)
{
	struct hg_tls_backend_opts o;

	memset(&o, 0, sizeof(o));
	snprintf(o.ca, sizeof(o.ca), "%s", b->ca);
	o.verify = b->verify;
	snprintf(o.server_name, sizeof(o.server_name), "%s", b->server_name);
	o.min_version = b->min_version;
	o.max_version = b->max_version;
	snprintf(o.ciphersuites, sizeof(o.ciphersuites), "%s",
		 b->ciphersuites);
	snprintf(o.ciphers, sizeof(o.ciphers), "%s", b->ciphers);
	snprintf(o.alpn, sizeof(o.alpn), "%s", b->alpn);
	o.session_reuse = b->session_reuse;
	return hg_tls_client_new(&o, err, errlen);
}

struct hg_cp_tls *hg_cp_tls_new(struct hg_cp *cp, char *err, size_t errlen)
{
	struct hg_cp_tls *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (unsigned v = 0; v < cp->cfg.n_vs; v++) {
		const struct hg_vs_config *vc = &cp->cfg.vs[v];
		char e[400];

		if (!vc->tls.enabled)
			continue;
		t->servers[v] = hg_tls_server_new(&vc->tls, e, sizeof(e));
		if (t->servers[v] == NULL) {
			snprintf(err, errlen, "virtual_servers[%u].tls: %s", v,
				 e);
			hg_cp_tls_free(t);
			return NULL;
		}
		hg_tls_server_tick(t->servers[v], now_s());
		if (!vc->backend_tls.enabled)
			continue;
		t->clients[v] = client_of(&vc->backend_tls, e, sizeof(e));
		if (t->clients[v] == NULL) {
			snprintf(err, errlen, "virtual_servers[%u].backend_tls: %s",
				 v, e);
			hg_cp_tls_free(t);
			return NULL;
		}
	}
	return t;
}

void hg_cp_tls_free(struct hg_cp_tls *t)
{
	if (t == NULL)
		return;
	for (unsigned b = 0; b < N_BUCKETS; b++) {
		while (t->buckets[b] != NULL) {
			struct hs_entry *e = t->buckets[b];

			t->buckets[b] = e->next;
			hg_tls_hs_free(e->hs);
			free(e);
		}
	}
	for (unsigned v = 0; v < HG_MAX_VS; v++) {
		hg_tls_server_free(t->servers[v]);
		hg_tls_client_free(t->clients[v]);
	}
	hg_tls_out_free(&t->out);
	free(t);
}
