/* Flows the control plane decides (see cp_flow.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cp.h"
#include "cp_flow.h"
#include "pkt.h"
#include "socks.h"
#include "sta.h"

#define N_BUCKETS 1024 /* power of two */
/* What a client may send before its SOCKS request is complete. */
#define FIRST_MAX 1024
#define STALE_GRACE_S 5

static const char *const refusals[] = {
	"garbage",      /* not SOCKS v5, or no acceptable method */
	"malformed",    /* a destination that is no ICA Address value */
	"foreign",      /* a ticket of another STA */
	"unknown",      /* unknown or already used */
	"expired",      /* too late */
	"channel",      /* our answer could not be queued */
};
enum { R_GARBAGE, R_MALFORMED, R_FOREIGN, R_UNKNOWN, R_EXPIRED, R_CHANNEL,
       R_COUNT };

struct flow_entry {
	struct flow_entry *next;
	uint64_t flow;
	uint32_t worker;
	uint32_t client;
	uint16_t vs;
	bool greeted;
	uint64_t offset; /* client bytes received */
	uint64_t started_s;
	uint32_t len, used;
	uint8_t buf[FIRST_MAX];
};

struct hg_cp_flow {
	struct hg_sta *sta;
	struct flow_entry *buckets[N_BUCKETS];
	uint64_t active, relayed, gone;
	uint64_t refused[R_COUNT];
};

static uint64_t mono_s(void)
{
	return hg_monotonic_ns() / 1000000000ULL;
}

static uint64_t mono_ms(void)
{
	return hg_monotonic_ns() / 1000000ULL;
}

static struct flow_entry **find(struct hg_cp_flow *t, uint64_t flow)
{
	uint64_t h = flow * 0x9e3779b97f4a7c15ULL;
	struct flow_entry **pp = &t->buckets[(h >> 40) & (N_BUCKETS - 1)];

	while (*pp != NULL && (*pp)->flow != flow)
		pp = &(*pp)->next;
	return pp;
}

static void entry_free(struct hg_cp_flow *t, struct flow_entry **pp)
{
	struct flow_entry *e = *pp;

	*pp = e->next;
	memset(e, 0, sizeof(*e)); /* the buffer held a ticket */
	free(e);
	t->active--;
}

static bool send_out(struct hg_cp *cp, const struct flow_entry *e,
		     const uint8_t *p, uint16_t n)
{
	struct hg_tls_hs_out o = {.flow = e->flow, .len = n};

	return hg_cp_chan_send2(cp, e->worker, HG_MSG_FLOW_OUT, &o, sizeof(o),
				p, n);
}

static bool send_verdict(struct hg_cp *cp, const struct flow_entry *e,
			 uint8_t action, uint32_t addr, uint16_t port)
{
	struct hg_flow_verdict v = {.flow = e->flow, .action = action,
				    .consume = e->used, .addr = addr,
				    .port = port};

	return hg_cp_chan_send2(cp, e->worker, HG_MSG_FLOW_VERDICT, &v,
				sizeof(v), NULL, 0);
}

/* No: a SOCKS refusal when a request was read, then the close. */
static void refuse(struct hg_cp *cp, struct flow_entry *e, int why,
		   bool had_request)
{
	struct hg_cp_flow *t = cp->tls_flows;
	uint8_t rep[10];
	char client[16];

	t->refused[why]++;
	if (had_request)
		send_out(cp, e, rep,
			 (uint16_t)hg_socks_connect_reply(
				 rep, HG_SOCKS_REP_NOT_ALLOWED));
	send_verdict(cp, e, HG_FLOW_CLOSE, 0, 0);
	hg_ipv4_format(e->client, client);
	fprintf(stderr, "audit: ticket refused (%s) flow=%llu client=%s\n",
		refusals[why], (unsigned long long)e->flow, client);
}

/* A CONNECT with a destination: validates the ticket, relays or refuses.
 * Returns true when the flow's fate is decided. */
static void on_connect(struct hg_cp *cp, struct flow_entry *e,
		       const struct hg_socks_msg *m)
{
	struct hg_cp_flow *t = cp->tls_flows;
	char authority[HG_STA_AUTHORITY_MAX], ticket[HG_STA_TICKET_LEN + 1];
	char client[16], server[16];
	struct hg_sta_entry se;
	unsigned version;
	uint8_t rep[10];
	int rc;

	if (hg_ica_address_parse(m->dest, m->dest_len, &version, authority,
				 ticket) < 0) {
		refuse(cp, e, R_MALFORMED, true);
		return;
	}
	if (strcmp(authority, hg_sta_authority(t->sta)) != 0) {
		refuse(cp, e, R_FOREIGN, true);
		return;
	}
	rc = hg_sta_redeem(t->sta, ticket, strlen(ticket), mono_ms(), &se);
	memset(ticket, 0, sizeof(ticket));
	if (rc < 0) {
		refuse(cp, e, rc == -ETIMEDOUT ? R_EXPIRED : R_UNKNOWN, true);
		return;
	}
	/* The reply names no address: the client never learns the
	 * server's. Then the relay. */
	if (!send_out(cp, e, rep,
		      (uint16_t)hg_socks_connect_reply(
			      rep, HG_SOCKS_REP_SUCCEEDED)) ||
	    !send_verdict(cp, e, HG_FLOW_RELAY, se.addr, se.port)) {
		t->refused[R_CHANNEL]++;
		return;
	}
	t->relayed++;
	hg_ipv4_format(e->client, client);
	hg_ipv4_format(se.addr, server);
	fprintf(stderr,
		"audit: ticket valid flow=%llu client=%s user=%s resource=%s "
		"server=%s:%u\n",
		(unsigned long long)e->flow, client, se.user, se.resource,
		server, se.port);
}

/* Reads SOCKS messages from what the client sent so far. Returns true
 * when the flow is decided (the entry can go). */
static bool advance(struct hg_cp *cp, struct flow_entry *e)
{
	for (;;) {
		struct hg_socks_msg m;
		const uint8_t *p = e->buf + e->used;
		size_t n = e->len - e->used;
		int rc = e->greeted ? hg_socks_parse_connect(p, n, &m)
				    : hg_socks_parse(p, n, &m);

		if (rc == -2) {
			if (e->len < FIRST_MAX)
				return false;
			rc = -1; /* that much and still no request */
		}
		if (rc < 0) {
			refuse(cp, e, R_GARBAGE, false);
			return true;
		}
		e->used += (uint32_t)rc;
		if (m.kind == HG_SOCKS_GREETING) {
			uint8_t rep[2];

			if (e->greeted || !m.offers_no_auth) {
				refuse(cp, e, R_GARBAGE, false);
				return true;
			}
			e->greeted = true;
			send_out(cp, e, rep,
				 (uint16_t)hg_socks_method_reply(rep));
			continue;
		}
		on_connect(cp, e, &m);
		return true;
	}
}

static void on_data(struct hg_cp *cp, const struct hg_tls_hs_data *d)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct flow_entry **pp = find(t, d->flow), *e = *pp;
	uint32_t room;

	if (e == NULL) {
		if (!(d->flags & HG_TLS_HS_FIRST) || d->offset != 0)
			return;
		e = calloc(1, sizeof(*e));
		if (e == NULL)
			return;
		e->flow = d->flow;
		e->worker = d->worker;
		e->client = d->peer_addr;
		e->vs = d->vs;
		e->started_s = mono_s();
		*pp = e;
		t->active++;
	}
	if (d->offset != e->offset) {
		refuse(cp, e, R_CHANNEL, false);
		entry_free(t, pp);
		return;
	}
	e->offset += d->len;
	room = FIRST_MAX - e->len;
	memcpy(e->buf + e->len, d->data, d->len < room ? d->len : room);
	e->len += d->len < room ? d->len : room;
	if (advance(cp, e))
		entry_free(t, pp);
}

void hg_cp_flow_msg(struct hg_cp *cp, const struct hg_msg *m)
{
	struct hg_cp_flow *t = cp->tls_flows;

	if (t == NULL)
		return;
	if (m->type == HG_MSG_FLOW_DATA) {
		on_data(cp, (const void *)m->payload);
	} else if (m->type == HG_MSG_FLOW_GONE) {
		const struct hg_tls_hs_end *g = (const void *)m->payload;
		struct flow_entry **pp = find(t, g->flow);

		if (*pp != NULL) {
			t->gone++;
			entry_free(t, pp);
		}
	}
}

void hg_cp_flow_tick(struct hg_cp *cp)
{
	struct hg_cp_flow *t = cp->tls_flows;
	uint64_t now = mono_s();

	if (t == NULL)
		return;
	hg_sta_expire(t->sta, mono_ms());
	if (t->active == 0)
		return;
	for (unsigned b = 0; b < N_BUCKETS; b++) {
		struct flow_entry **pp = &t->buckets[b];

		while (*pp != NULL) {
			unsigned limit =
				cp->cfg.vs[(*pp)->vs % HG_MAX_VS]
					.tls.handshake_timeout_s +
				STALE_GRACE_S;

			if (now - (*pp)->started_s > limit)
				entry_free(t, pp);
			else
				pp = &(*pp)->next;
		}
	}
}

void hg_cp_flow_forget_all(struct hg_cp *cp)
{
	struct hg_cp_flow *t = cp->tls_flows;

	if (t == NULL)
		return;
	for (unsigned b = 0; b < N_BUCKETS; b++)
		while (t->buckets[b] != NULL)
			entry_free(t, &t->buckets[b]);
}

json_t *hg_cp_flow_issue(struct hg_cp *cp, uint32_t addr, uint16_t port,
			 const char *user, const char *resource)
{
	struct hg_cp_flow *t = cp->tls_flows;
	char ticket[HG_STA_TICKET_LEN + 1], value[128], server[16];
	struct hg_sta_entry e;
	json_t *o;
	int rc;

	memset(&e, 0, sizeof(e));
	e.addr = addr;
	e.port = port;
	snprintf(e.user, sizeof(e.user), "%s", user != NULL ? user : "");
	snprintf(e.resource, sizeof(e.resource), "%s",
		 resource != NULL ? resource : "");
	rc = hg_sta_issue(t->sta, &e, mono_ms(), ticket);
	if (rc < 0)
		return json_pack("{s:s}", "error",
				 rc == -ENOSPC ? "the STA is full"
					       : "no randomness for a ticket");
	/* The ICA file's Address: version 40, our authority, the ticket. */
	snprintf(value, sizeof(value), ";40;%s;%s", hg_sta_authority(t->sta),
		 ticket);
	hg_ipv4_format(addr, server);
	fprintf(stderr, "audit: ticket issued user=%s resource=%s server=%s:%u\n",
		e.user, e.resource, server, port);
	o = json_pack("{s:s,s:s,s:s,s:i}", "ticket", ticket, "address", value,
		      "authority", hg_sta_authority(t->sta), "lifetime_s",
		      (int)hg_sta_lifetime(t->sta));
	memset(ticket, 0, sizeof(ticket));
	memset(value, 0, sizeof(value));
	return o;
}

json_t *hg_cp_flow_stats(struct hg_cp *cp)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct hg_sta_stats st;
	json_t *o, *r;

	if (t == NULL)
		return json_object();
	hg_sta_get_stats(t->sta, &st);
	r = json_object();
	for (int i = 0; i < R_COUNT; i++)
		json_object_set_new(r, refusals[i],
				    json_integer((json_int_t)t->refused[i]));
	o = json_pack("{s:I,s:I,s:I,s:o}", "deciding", (json_int_t)t->active,
		      "relayed", (json_int_t)t->relayed, "gone",
		      (json_int_t)t->gone, "refused", r);
	json_object_set_new(o, "sta", json_pack(
		"{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "authority",
		hg_sta_authority(t->sta), "issued", (json_int_t)st.issued,
		"redeemed", (json_int_t)st.redeemed, "unknown",
		(json_int_t)st.unknown, "expired", (json_int_t)st.expired,
		"active", (json_int_t)st.active, "full", (json_int_t)st.full));
	return o;
}

struct hg_cp_flow *hg_cp_flow_new(struct hg_cp *cp, char *err, size_t errlen)
{
	struct hg_cp_flow *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->sta = hg_sta_new(cp->cfg.sta.authority_id, cp->cfg.sta.max_tickets,
			    cp->cfg.sta.lifetime_s);
	if (t->sta == NULL) {
		snprintf(err, errlen, "sta: could not create the ticket store");
		free(t);
		return NULL;
	}
	return t;
}

void hg_cp_flow_free(struct hg_cp_flow *t)
{
	if (t == NULL)
		return;
	for (unsigned b = 0; b < N_BUCKETS; b++) {
		while (t->buckets[b] != NULL) {
			struct flow_entry *e = t->buckets[b];

			t->buckets[b] = e->next;
			memset(e, 0, sizeof(*e));
			free(e);
		}
	}
	hg_sta_free(t->sta);
	free(t);
}
