/* Flows the control plane decides (see cp_flow.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "access.h"
#include "auth.h"
#include "cgp.h"
#include "cp.h"
#include "cp_flow.h"
#include "http.h"
#include "pkt.h"
#include "portal.h"
#include "socks.h"
#include "sta.h"
#include "sta_remote.h"
#include "sta_xml.h"

#define N_BUCKETS 1024 /* power of two, flows deciding and ICA sessions */
/* What a client may send before its request is complete: an HTTP request
 * at most (the data plane forwards up to 16 KiB, CONTROL_MAX). */
#define FIRST_MAX HG_HTTP_MAX_REQUEST
#define MAX_DECIDING 4096 /* flows read at once (FIRST_MAX each at most) */
#define STALE_GRACE_S 5
#define SERVER_DOWN_MS 30000 /* a server that did not answer rests */
/* Expired tickets stay this long, so one presented late is refused as
 * "expired" rather than "unknown" (redeem checks the lifetime itself). */
#define EXPIRED_KEEP_MS 60000
#define OUT_CHUNK (HG_MSG_MAX_PAYLOAD - sizeof(struct hg_tls_hs_out))

/* Why a flow was refused: counters, audit words. */
static const char *const refusals[] = {
	"garbage",   /* neither HTTP, SOCKS v5 nor CGP, or bad framing */
	"malformed", /* a destination that is no ICA Address value */
	"foreign",   /* a ticket of another STA */
	"unknown",   /* unknown or already used */
	"expired",   /* too late */
	"channel",   /* our answer could not be queued */
	"no_server", /* the ticket names no port for this framing */
	"busy",      /* too many flows being read at once */
	"remote_unreachable", /* no STA of the ticket's authority answered */
};
enum { R_GARBAGE, R_MALFORMED, R_FOREIGN, R_UNKNOWN, R_EXPIRED, R_CHANNEL,
       R_NO_SERVER, R_BUSY, R_REMOTE, R_COUNT };

enum kind { K_NEW, K_SOCKS, K_CGP, K_HTTP };

struct flow_entry {
	struct flow_entry *next;
	uint64_t flow;
	uint32_t worker;
	uint32_t client;
	uint16_t vs;
	uint8_t kind;
	bool greeted;
	bool waiting; /* a login or a remote ticket is being checked */
	uint64_t offset; /* client bytes received */
	uint64_t started_s;
	uint32_t len, used;
	uint8_t buf[FIRST_MAX];
};

/* A server of the published resources: sessions and health. */
struct server_state {
	uint32_t addr;
	unsigned sessions;
	uint64_t down_until_ms;
	uint64_t failures;
};

/* A relayed ICA flow, until the data plane says it ended. */
struct ica_session {
	struct ica_session *next; /* hash chain */
	uint64_t flow;
	uint32_t worker;
	uint32_t client;
	uint32_t addr;
	uint16_t port;
	bool cgp;
	bool killed;
	time_t since;
	uint64_t started_ms;
	struct server_state *server; /* NULL when not a configured one */
	char user[HG_ACCESS_NAME_MAX];
	char resource[64];
	/* Session reliability: a CGP session's refreshable ticket stays
	 * alive while the session lives (refreshed every half lifetime),
	 * and for one lifetime after, for the client's reconnect. */
	char ticket[HG_STA_TICKET_LEN + 1];
	uint64_t refreshed_ms;
};

struct hg_cp_flow {
	struct hg_sta *sta;
	struct hg_auth *auth;     /* NULL without users and directory */
	struct hg_sta_remote *remote; /* other authorities' STAs */
	struct hg_portal *portal;
	const struct hg_access_config *access;
	struct flow_entry *buckets[N_BUCKETS];
	struct ica_session *sessions[N_BUCKETS];
	struct server_state *servers;
	unsigned n_servers;
	unsigned rotate; /* ties between servers */
	uint64_t active, relayed, gone, n_sessions, sessions_ended;
	uint64_t refused[R_COUNT];
	uint64_t http_requests, http_errors, logins_ok, logins_failed,
		launches, launch_refused, logouts, sta_xml_requests,
		sta_xml_refused;
};

static uint64_t mono_s(void)
{
	return hg_monotonic_ns() / 1000000000ULL;
}

static uint64_t mono_ms(void)
{
	return hg_monotonic_ns() / 1000000ULL;
}

static unsigned bucket_of(uint64_t flow)
{
	return (unsigned)(((flow * 0x9e3779b97f4a7c15ULL) >> 40) &
			  (N_BUCKETS - 1));
}

static struct flow_entry **find(struct hg_cp_flow *t, uint64_t flow)
{
	struct flow_entry **pp = &t->buckets[bucket_of(flow)];

	while (*pp != NULL && (*pp)->flow != flow)
		pp = &(*pp)->next;
	return pp;
}

static struct ica_session **find_session(struct hg_cp_flow *t, uint64_t flow)
{
	struct ica_session **pp = &t->sessions[bucket_of(flow)];

	while (*pp != NULL && (*pp)->flow != flow)
		pp = &(*pp)->next;
	return pp;
}

static void entry_free(struct hg_cp_flow *t, struct flow_entry **pp)
{
	struct flow_entry *e = *pp;

	*pp = e->next;
	/* The buffer held a ticket, a password or a session cookie. */
	explicit_bzero(e, sizeof(*e));
	free(e);
	t->active--;
}

/* A user name for an audit line: what a client typed is shown only when
 * it is a valid name, so nobody can forge log lines. */
static const char *audit_name(const char *s)
{
	return hg_access_name_valid(s, strlen(s)) ? s : "(invalid)";
}

/* --- talking to the data plane --- */

static bool send_out(struct hg_cp *cp, const struct flow_entry *e,
		     const uint8_t *p, size_t n)
{
	while (n > 0) {
		uint16_t k = (uint16_t)(n < OUT_CHUNK ? n : OUT_CHUNK);
		struct hg_tls_hs_out o = {.flow = e->flow, .len = k};

		if (!hg_cp_chan_send2(cp, e->worker, HG_MSG_FLOW_OUT, &o,
				      sizeof(o), p, k))
			return false;
		p += k;
		n -= k;
	}
	return true;
}

static bool send_verdict(struct hg_cp *cp, const struct flow_entry *e,
			 uint8_t action, uint32_t consume, uint32_t addr,
			 uint16_t port)
{
	struct hg_flow_verdict v = {.flow = e->flow, .action = action,
				    .consume = consume, .addr = addr,
				    .port = port};

	return hg_cp_chan_send2(cp, e->worker, HG_MSG_FLOW_VERDICT, &v,
				sizeof(v), NULL, 0);
}

/* No: a refusal in the flow's framing when a request was read, then the
 * close. */
static void refuse(struct hg_cp *cp, struct flow_entry *e, int why,
		   bool had_request)
{
	struct hg_cp_flow *t = cp->tls_flows;
	uint8_t rep[16];
	char client[16];

	t->refused[why]++;
	if (had_request && e->kind == K_SOCKS)
		send_out(cp, e, rep,
			 hg_socks_connect_reply(rep,
						HG_SOCKS_REP_NOT_ALLOWED));
	else if (had_request && e->kind == K_CGP)
		send_out(cp, e, rep, hg_cgp_finish(rep, sizeof(rep), 1));
	send_verdict(cp, e, HG_FLOW_CLOSE, 0, 0, 0);
	hg_ipv4_format(e->client, client);
	fprintf(stderr, "audit: ticket refused (%s) flow=%llu client=%s "
		"framing=%s\n", refusals[why], (unsigned long long)e->flow,
		client, e->kind == K_CGP ? "cgp" : e->kind == K_SOCKS ? "socks"
									 : "-");
}

/* --- servers and ICA sessions --- */

static struct server_state *server_of(struct hg_cp_flow *t, uint32_t addr)
{
	for (unsigned i = 0; i < t->n_servers; i++)
		if (t->servers[i].addr == addr)
			return &t->servers[i];
	return NULL;
}

/* Least sessions among the healthy servers of r (ties in turn); NULL when
 * all rest after failures. */
static const struct hg_access_server *
pick_server(struct hg_cp_flow *t, const struct hg_access_resource *r)
{
	const struct hg_access_server *best = NULL;
	unsigned best_n = 0, start = t->rotate++;
	uint64_t now = mono_ms();

	for (unsigned k = 0; k < r->n_servers; k++) {
		const struct hg_access_server *s =
			&r->servers[(start + k) % r->n_servers];
		struct server_state *st = server_of(t, s->addr);
		unsigned n = st != NULL ? st->sessions : 0;

		if (st != NULL && st->down_until_ms > now)
			continue;
		if (best == NULL || n < best_n) {
			best = s;
			best_n = n;
		}
	}
	return best;
}

static void session_start(struct hg_cp *cp, const struct flow_entry *e,
			  const struct hg_sta_entry *se, bool cgp,
			  const char *kept)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct ica_session *s = calloc(1, sizeof(*s));
	struct ica_session **pp;

	if (s == NULL)
		return; /* relayed all the same; not listed */
	s->flow = e->flow;
	s->worker = e->worker;
	s->client = e->client;
	s->addr = se->addr;
	s->port = cgp ? se->cgp_port : se->port;
	s->cgp = cgp;
	s->since = time(NULL);
	s->started_ms = mono_ms();
	s->server = server_of(t, se->addr);
	if (s->server != NULL)
		s->server->sessions++;
	snprintf(s->user, sizeof(s->user), "%s", se->user);
	snprintf(s->resource, sizeof(s->resource), "%s", se->resource);
	if (kept != NULL) {
		memcpy(s->ticket, kept, sizeof(s->ticket));
		s->refreshed_ms = s->started_ms;
	}
	pp = find_session(t, e->flow);
	s->next = *pp;
	*pp = s;
	t->n_sessions++;
}

static void session_end(struct hg_cp *cp, const struct hg_flow_ended *fe)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct ica_session **pp = find_session(t, fe->flow), *s = *pp;
	char client[16], server[16];

	if (s == NULL)
		return;
	*pp = s->next;
	t->n_sessions--;
	t->sessions_ended++;
	if (s->server != NULL) {
		if (s->server->sessions > 0)
			s->server->sessions--;
		if (!fe->connected) {
			s->server->failures++;
			s->server->down_until_ms = mono_ms() + SERVER_DOWN_MS;
		}
	}
	/* Session reliability: the client may bind again with the ticket
	 * for one lifetime from now. */
	if (s->ticket[0] != '\0')
		hg_sta_refresh(t->sta, s->ticket, strlen(s->ticket), mono_ms());
	hg_ipv4_format(s->client, client);
	hg_ipv4_format(s->addr, server);
	fprintf(stderr,
		"audit: session end flow=%llu user=%s resource=%s client=%s "
		"server=%s:%u framing=%s bytes_in=%llu bytes_out=%llu "
		"duration_ms=%llu%s%s\n",
		(unsigned long long)s->flow, s->user, s->resource, client,
		server, s->port, s->cgp ? "cgp" : "socks",
		(unsigned long long)fe->bytes_c2s,
		(unsigned long long)fe->bytes_s2c,
		(unsigned long long)(mono_ms() - s->started_ms),
		fe->connected ? "" : " server_unreachable",
		s->killed ? " killed_by_operator" : "");
	explicit_bzero(s, sizeof(*s));
	free(s);
}

/* --- ICA: SOCKS v5 and CGP --- */

/* Validates the ticket in an ICA Address value; fills *se. Returns 0
 * (valid: a CGP bind's refreshable ticket is copied to kept), 1 when the
 * ticket went to a remote STA of its authority (the flow waits), -1
 * after refusing the flow. */
static int redeem(struct hg_cp *cp, struct flow_entry *e, const char *dest,
		  size_t dest_len, struct hg_sta_entry *se,
		  char kept[HG_STA_TICKET_LEN + 1])
{
	struct hg_cp_flow *t = cp->tls_flows;
	char authority[HG_STA_AUTHORITY_MAX], ticket[HG_STA_TICKET_LEN + 1];
	unsigned version;
	int rc;

	kept[0] = '\0';
	if (hg_ica_address_parse(dest, dest_len, &version, authority,
				 ticket) < 0) {
		refuse(cp, e, R_MALFORMED, true);
		return -1;
	}
	if (strcmp(authority, hg_sta_authority(t->sta)) != 0) {
		/* Another authority's ticket: its own STA decides, when we
		 * know one; the answer comes through hg_cp_flow_remote_fd. */
		rc = t->remote != NULL && hg_sta_remote_has(t->remote, authority)
			     ? hg_sta_remote_submit(t->remote, authority,
						    ticket, e->flow)
			     : -ENOENT;
		explicit_bzero(ticket, sizeof(ticket));
		if (rc == 0) {
			e->waiting = true;
			return 1;
		}
		refuse(cp, e, rc == -EAGAIN ? R_BUSY : R_FOREIGN, true);
		return -1;
	}
	/* A refreshable ticket (session reliability) survives its CGP
	 * bind so the client can reconnect while it lives. */
	rc = e->kind == K_CGP ? hg_sta_redeem_keep(t->sta, ticket,
						   strlen(ticket), mono_ms(),
						   se)
			      : hg_sta_redeem(t->sta, ticket, strlen(ticket),
					      mono_ms(), se);
	if (rc == 0 && e->kind == K_CGP && se->refreshable)
		memcpy(kept, ticket, sizeof(ticket));
	explicit_bzero(ticket, sizeof(ticket));
	if (rc < 0) {
		refuse(cp, e, rc == -ETIMEDOUT ? R_EXPIRED : R_UNKNOWN, true);
		return -1;
	}
	return 0;
}

/* A valid ticket: the answer in the flow's framing, the verdict, the
 * session and its audit line. */
static void grant(struct hg_cp *cp, struct flow_entry *e,
		  const struct hg_sta_entry *se, const char *kept)
{
	struct hg_cp_flow *t = cp->tls_flows;
	bool cgp = e->kind == K_CGP;
	char client[16], server[16];
	uint8_t rep[10];

	if (cgp && se->cgp_port == 0) {
		refuse(cp, e, R_NO_SERVER, true);
		return;
	}
	/* SOCKS: the reply names no address, the client never learns the
	 * server's; its request is consumed. CGP: the bind goes on to the
	 * server unchanged (consume 0) and its answer comes back. */
	if ((!cgp &&
	     !send_out(cp, e, rep,
		       hg_socks_connect_reply(rep, HG_SOCKS_REP_SUCCEEDED))) ||
	    !send_verdict(cp, e, HG_FLOW_RELAY, cgp ? 0 : e->used, se->addr,
			  cgp ? se->cgp_port : se->port)) {
		t->refused[R_CHANNEL]++;
		return;
	}
	t->relayed++;
	session_start(cp, e, se, cgp, kept != NULL && kept[0] ? kept : NULL);
	hg_ipv4_format(e->client, client);
	hg_ipv4_format(se->addr, server);
	fprintf(stderr,
		"audit: ticket valid flow=%llu client=%s user=%s resource=%s "
		"server=%s:%u framing=%s\n",
		(unsigned long long)e->flow, client, se->user, se->resource,
		server, cgp ? se->cgp_port : se->port, cgp ? "cgp" : "socks");
}

/* Returns true when the flow is decided (false: a remote STA answers
 * later). */
static bool on_connect(struct hg_cp *cp, struct flow_entry *e,
		       const struct hg_socks_msg *m)
{
	char kept[HG_STA_TICKET_LEN + 1];
	struct hg_sta_entry se;
	int rc = redeem(cp, e, m->dest, m->dest_len, &se, kept);

	if (rc == 0)
		grant(cp, e, &se, NULL);
	explicit_bzero(&se, sizeof(se));
	return rc != 1;
}

/* SOCKS messages from what the client sent so far. Returns true when the
 * flow is decided (the entry can go). */
static bool advance_socks(struct hg_cp *cp, struct flow_entry *e)
{
	for (;;) {
		struct hg_socks_msg m;
		const uint8_t *p = e->buf + e->used;
		size_t n = e->len - e->used;
		int rc = e->greeted ? hg_socks_parse_connect(p, n, &m)
				    : hg_socks_parse(p, n, &m);

		if (rc == -2) {
			/* room for a greeting (257) and a CONNECT (262) */
			if (e->len < 600)
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
			send_out(cp, e, rep, hg_socks_method_reply(rep));
			continue;
		}
		return on_connect(cp, e, &m);
	}
}

/* CGP: the bind carries the ticket. */
static bool advance_cgp(struct hg_cp *cp, struct flow_entry *e)
{
	char kept[HG_STA_TICKET_LEN + 1];
	struct hg_cgp_bind b;
	struct hg_sta_entry se;
	int rc = hg_cgp_parse_bind(e->buf, e->len, &b);

	if (rc == -2 && e->len < HG_CGP_MAGIC_LEN + 1024)
		return false;
	if (rc < 0) {
		refuse(cp, e, R_GARBAGE, false);
		return true;
	}
	rc = redeem(cp, e, (const char *)b.ticket, b.ticket_len, &se, kept);
	if (rc == 0)
		grant(cp, e, &se, kept);
	explicit_bzero(kept, sizeof(kept));
	explicit_bzero(&se, sizeof(se));
	return rc != 1;
}

/* --- HTTP: the portal and the STA endpoint --- */

/* Sends a whole response, then the close. */
static void http_send(struct hg_cp *cp, struct flow_entry *e,
		      struct hg_buf *b)
{
	struct hg_cp_flow *t = cp->tls_flows;

	if (b->failed || !send_out(cp, e, b->p, b->len))
		t->refused[R_CHANNEL]++;
	send_verdict(cp, e, HG_FLOW_CLOSE, 0, 0, 0);
	hg_buf_free(b);
}

static void http_error(struct hg_cp *cp, struct flow_entry *e, int status,
		       bool head)
{
	struct hg_buf b;

	cp->tls_flows->http_errors++;
	hg_buf_init(&b);
	hg_portal_page_error(&b, status, head);
	http_send(cp, e, &b);
}

static bool path_is(const struct hg_http_request *r, const char *p)
{
	return r->path_len == strlen(p) && memcmp(r->path, p, r->path_len) == 0;
}

static struct hg_portal_session *session_of(struct hg_cp *cp,
					    const struct hg_http_request *r)
{
	char id[HG_PORTAL_ID_LEN + 1];
	struct hg_portal_session *s = NULL;

	if (hg_http_cookie(r, HG_PORTAL_COOKIE, id, sizeof(id)))
		s = hg_portal_find(cp->tls_flows->portal, id, mono_ms());
	explicit_bzero(id, sizeof(id));
	return s;
}

static void redirect(struct hg_cp *cp, struct flow_entry *e,
		     const char *location, const char *cookie)
{
	struct hg_buf b;

	hg_buf_init(&b);
	hg_portal_redirect(&b, location, cookie);
	http_send(cp, e, &b);
}

static void login_page(struct hg_cp *cp, struct flow_entry *e, int status,
		       const char *message, bool head)
{
	struct hg_buf b;

	hg_buf_init(&b);
	hg_portal_page_login(&b, cp->tls_flows->access, status, message,
			     head);
	http_send(cp, e, &b);
}

static void do_login(struct hg_cp *cp, struct flow_entry *e,
		     const struct hg_http_request *r)
{
	struct hg_cp_flow *t = cp->tls_flows;
	char user[HG_ACCESS_NAME_MAX + 8], password[HG_AUTH_PASSWORD_MAX + 8];
	int rc;

	if (t->auth == NULL) {
		login_page(cp, e, 503, "Sign-in is not configured.", false);
		return;
	}
	if (!hg_http_form_field(r->body, r->body_len, "username", user,
				sizeof(user)) ||
	    !hg_http_form_field(r->body, r->body_len, "password", password,
				sizeof(password))) {
		explicit_bzero(password, sizeof(password));
		login_page(cp, e, 400, "Enter a user name and a password.",
			   false);
		return;
	}
	rc = hg_auth_submit(t->auth, user, password, e->client, e->flow,
			    mono_ms());
	explicit_bzero(password, sizeof(password));
	if (rc < 0) {
		login_page(cp, e, 503, "Too many sign-ins at once. Try again "
			   "in a moment.", false);
		return;
	}
	e->waiting = true; /* the answer comes through hg_cp_flow_fd */
}

static void do_launch(struct hg_cp *cp, struct flow_entry *e,
		      const struct hg_http_request *r,
		      struct hg_portal_session *s, bool head)
{
	struct hg_cp_flow *t = cp->tls_flows;
	const size_t pre = strlen("/launch/"), suf = strlen(".ica");
	const struct hg_access_resource *res = NULL;
	const struct hg_access_server *srv;
	char name[32], ticket[HG_STA_TICKET_LEN + 1], value[128];
	char client[16], server[16];
	struct hg_sta_entry se;
	struct hg_buf b;
	size_t n;

	if (r->path_len > pre + suf &&
	    memcmp(r->path + r->path_len - suf, ".ica", suf) == 0) {
		n = r->path_len - pre - suf;
		if (n < sizeof(name)) {
			memcpy(name, r->path + pre, n);
			name[n] = '\0';
			res = hg_access_resource(t->access, name);
		}
	}
	if (res == NULL) {
		http_error(cp, e, 404, head);
		return;
	}
	hg_ipv4_format(e->client, client);
	if (!hg_access_allowed(res, (const char(*)[HG_ACCESS_NAME_MAX])
				       s->groups, s->n_groups)) {
		t->launch_refused++;
		fprintf(stderr, "audit: launch refused (not allowed) user=%s "
			"resource=%s client=%s\n", s->user, res->name, client);
		http_error(cp, e, 403, head);
		return;
	}
	srv = pick_server(t, res);
	if (srv == NULL) {
		t->launch_refused++;
		fprintf(stderr, "audit: launch refused (no healthy server) "
			"user=%s resource=%s client=%s\n", s->user, res->name,
			client);
		http_error(cp, e, 503, head);
		return;
	}
	memset(&se, 0, sizeof(se));
	se.addr = srv->addr;
	se.port = srv->port;
	se.cgp_port = srv->cgp_port;
	se.refreshable = true;
	snprintf(se.user, sizeof(se.user), "%s", s->user);
	snprintf(se.resource, sizeof(se.resource), "%s", res->name);
	snprintf(se.protocol, sizeof(se.protocol), "%s", "ICA");
	if (hg_sta_issue(t->sta, &se, mono_ms(), ticket) < 0) {
		t->launch_refused++;
		http_error(cp, e, 503, head);
		return;
	}
	snprintf(value, sizeof(value), ";40;%s;%s", hg_sta_authority(t->sta),
		 ticket);
	hg_buf_init(&b);
	hg_portal_ica_file(&b, t->access, res, value, head);
	explicit_bzero(ticket, sizeof(ticket));
	explicit_bzero(value, sizeof(value));
	t->launches++;
	s->launches++;
	hg_ipv4_format(srv->addr, server);
	fprintf(stderr, "audit: launch user=%s resource=%s client=%s "
		"server=%s:%u\n", s->user, res->name, client, server,
		srv->port);
	http_send(cp, e, &b);
}

static void do_logout(struct hg_cp *cp, struct flow_entry *e,
		      const struct hg_http_request *r,
		      struct hg_portal_session *s)
{
	struct hg_cp_flow *t = cp->tls_flows;
	char csrf[HG_PORTAL_ID_LEN + 1], cookie[128], client[16];
	bool ok = s != NULL &&
		  hg_http_form_field(r->body, r->body_len, "csrf", csrf,
				     sizeof(csrf)) &&
		  hg_portal_csrf_ok(s, csrf);

	explicit_bzero(csrf, sizeof(csrf));
	if (s != NULL && !ok) {
		http_error(cp, e, 403, false);
		return;
	}
	if (s != NULL) {
		hg_ipv4_format(e->client, client);
		fprintf(stderr, "audit: logout user=%s client=%s\n", s->user,
			client);
		t->logouts++;
		hg_portal_logout(t->portal, s);
	}
	hg_portal_cookie_clear(cookie, sizeof(cookie));
	redirect(cp, e, "/", cookie);
}

/* POST /scripts/ctxsta.dll: the STA for other products, inside only. */
static void do_sta_xml(struct hg_cp *cp, struct flow_entry *e,
		       const struct hg_http_request *r)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct hg_sta_xml_request q;
	struct hg_sta_entry se;
	char err[96], client[16], server[16], ticket[HG_STA_TICKET_LEN + 1];
	char *xml = NULL;
	struct hg_buf b;
	int status = 200, rc;

	hg_ipv4_format(e->client, client);
	t->sta_xml_requests++;
	if (!hg_access_sta_client(t->access, e->client)) {
		t->sta_xml_refused++;
		fprintf(stderr, "audit: sta request refused (source not in "
			"sta_clients) client=%s\n", client);
		http_error(cp, e, 403, false);
		return;
	}
	memset(&q, 0, sizeof(q));
	if (hg_sta_xml_parse(r->body, r->body_len, &q, err, sizeof(err)) < 0) {
		t->sta_xml_refused++;
		fprintf(stderr, "audit: sta request refused (%s) client=%s\n",
			err, client);
		xml = hg_sta_xml_error_response("BadRequest", err);
		status = 400;
	} else if (q.kind == HG_STA_XML_REQUEST_TICKET) {
		memset(&se, 0, sizeof(se));
		se.addr = q.ica_addr;
		se.port = q.ica_port;
		se.cgp_port = q.cgp_port;
		se.refreshable = q.refreshable;
		snprintf(se.user, sizeof(se.user), "%s", q.user);
		snprintf(se.domain, sizeof(se.domain), "%s", q.domain);
		snprintf(se.resource, sizeof(se.resource), "%s",
			 q.application);
		snprintf(se.protocol, sizeof(se.protocol), "%s", q.protocol);
		rc = hg_sta_issue(t->sta, &se, mono_ms(), ticket);
		if (rc < 0) {
			xml = hg_sta_xml_error_response(
				"STAFull", "no ticket could be issued");
			status = 503;
		} else {
			xml = hg_sta_xml_ticket_response(
				hg_sta_authority(t->sta), ticket, 40);
			hg_ipv4_format(se.addr, server);
			fprintf(stderr, "audit: sta ticket issued for client=%s "
				"user=%s resource=%s server=%s:%u\n", client,
				audit_name(se.user), audit_name(se.resource),
				server, se.port);
		}
		explicit_bzero(ticket, sizeof(ticket));
	} else {
		if (q.authority[0] != '\0' &&
		    strcmp(q.authority, hg_sta_authority(t->sta)) != 0)
			rc = -ENOENT;
		else
			rc = hg_sta_redeem(t->sta, q.ticket, strlen(q.ticket),
					   mono_ms(), &se);
		if (rc < 0) {
			xml = hg_sta_xml_error_response(
				"TicketNotFound",
				rc == -ETIMEDOUT ? "the ticket expired"
						 : "no such ticket");
			status = 404;
			fprintf(stderr, "audit: sta ticket refused (%s) for "
				"client=%s\n", rc == -ETIMEDOUT ? "expired"
								: "unknown",
				client);
		} else {
			xml = hg_sta_xml_data_response(hg_sta_authority(t->sta),
						       &se);
			hg_ipv4_format(se.addr, server);
			fprintf(stderr, "audit: sta ticket validated for "
				"client=%s user=%s server=%s:%u\n", client,
				audit_name(se.user), server, se.port);
		}
	}
	explicit_bzero(&q, sizeof(q));
	if (xml == NULL) {
		http_error(cp, e, 500, false);
		return;
	}
	hg_buf_init(&b);
	hg_http_respond(&b, status, "text/xml; charset=utf-8", NULL, xml,
			strlen(xml), false);
	hg_sta_xml_free(xml); /* wiped: it may hold a ticket */
	http_send(cp, e, &b);
}

/* A browser's POST names the page it came from: forms posted from another
 * site (login CSRF) are refused, and so is "null" (a page that hid its
 * origin; ours send it, with Referrer-Policy: same-origin). Callers
 * without an Origin (scripts, the STA's callers) are not browsers and
 * pass. */
static bool origin_ok(const struct hg_cp_flow *t,
		      const struct hg_http_request *r)
{
	char want[HG_ACCESS_TEXT_MAX + 16];
	size_t n, wn;
	const char *o = hg_http_header(r, "Origin", &n);

	if (o == NULL)
		return true;
	if (t->access->portal.port == 443) {
		wn = (size_t)snprintf(want, sizeof(want), "https://%s",
				      t->access->portal.fqdn);
		if (n == wn && strncasecmp(o, want, n) == 0)
			return true;
	}
	wn = (size_t)snprintf(want, sizeof(want), "https://%s:%u",
			      t->access->portal.fqdn, t->access->portal.port);
	return n == wn && strncasecmp(o, want, n) == 0;
}

static void route(struct hg_cp *cp, struct flow_entry *e,
		  const struct hg_http_request *r)
{
	struct hg_cp_flow *t = cp->tls_flows;
	bool head = strcmp(r->method, "HEAD") == 0;
	bool get = head || strcmp(r->method, "GET") == 0;
	bool post = strcmp(r->method, "POST") == 0;
	struct hg_portal_session *s;
	struct hg_buf b;

	t->http_requests++;
	if (path_is(r, "/scripts/ctxsta.dll")) {
		if (!post)
			http_error(cp, e, 405, head);
		else
			do_sta_xml(cp, e, r);
		return;
	}
	if (path_is(r, "/style.css") && get) {
		hg_buf_init(&b);
		hg_portal_css(&b, head);
		http_send(cp, e, &b);
		return;
	}
	if (post && !origin_ok(t, r)) {
		http_error(cp, e, 403, head);
		return;
	}
	s = session_of(cp, r);
	if (path_is(r, "/")) {
		if (!get)
			http_error(cp, e, 405, head);
		else if (s != NULL)
			redirect(cp, e, "/resources", NULL);
		else
			login_page(cp, e, 200, NULL, head);
	} else if (path_is(r, "/login")) {
		if (post)
			do_login(cp, e, r);
		else
			redirect(cp, e, "/", NULL);
	} else if (path_is(r, "/logout")) {
		if (post)
			do_logout(cp, e, r, s);
		else
			http_error(cp, e, 405, head);
	} else if (path_is(r, "/resources")) {
		if (!get) {
			http_error(cp, e, 405, head);
		} else if (s == NULL) {
			redirect(cp, e, "/", NULL);
		} else {
			hg_buf_init(&b);
			hg_portal_page_resources(&b, t->access, s, head);
			http_send(cp, e, &b);
		}
	} else if (r->path_len > 8 && memcmp(r->path, "/launch/", 8) == 0) {
		if (!get)
			http_error(cp, e, 405, head);
		else if (s == NULL)
			redirect(cp, e, "/", NULL);
		else
			do_launch(cp, e, r, s, head);
	} else {
		http_error(cp, e, 404, head);
	}
}

/* Returns true when the flow is decided (answered, or waiting for a
 * login: then the entry stays, marked waiting). */
static bool advance_http(struct hg_cp *cp, struct flow_entry *e)
{
	struct hg_http_request r;
	int rc = hg_http_parse(e->buf, e->len, &r);

	if (rc == -2) {
		if (e->len < FIRST_MAX)
			return false;
		rc = -413;
	}
	if (rc < 0) {
		http_error(cp, e, -rc, false);
		return true;
	}
	route(cp, e, &r);
	return !e->waiting;
}

static bool advance(struct hg_cp *cp, struct flow_entry *e)
{
	if (e->kind == K_NEW && e->len > 0) {
		uint8_t c = e->buf[0];

		if (c == 0x05)
			e->kind = K_SOCKS;
		else if (c == (uint8_t)HG_CGP_MAGIC[0])
			e->kind = K_CGP;
		else if (c >= 'A' && c <= 'Z')
			e->kind = K_HTTP;
		else if (c != '\r' && c != '\n') {
			refuse(cp, e, R_GARBAGE, false);
			return true;
		} else {
			e->kind = K_HTTP; /* blank lines before a request */
		}
	}
	switch (e->kind) {
	case K_SOCKS:
		return advance_socks(cp, e);
	case K_CGP:
		return advance_cgp(cp, e);
	case K_HTTP:
		return advance_http(cp, e);
	}
	return false;
}

static void on_data(struct hg_cp *cp, const struct hg_tls_hs_data *d)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct flow_entry **pp = find(t, d->flow), *e = *pp;
	uint32_t room, take;

	if (e == NULL) {
		if (!(d->flags & HG_TLS_HS_FIRST) || d->offset != 0)
			return;
		e = calloc(1, sizeof(*e));
		if (e == NULL || t->active >= MAX_DECIDING) {
			struct flow_entry tmp = {.flow = d->flow,
						 .worker = d->worker,
						 .client = d->peer_addr};

			free(e);
			refuse(cp, &tmp, R_BUSY, false);
			return;
		}
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
	if (e->waiting)
		return; /* one request per connection: the rest is ignored */
	room = FIRST_MAX - e->len;
	take = d->len < room ? d->len : room;
	memcpy(e->buf + e->len, d->data, take);
	e->len += take;
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
	} else if (m->type == HG_MSG_FLOW_ENDED) {
		session_end(cp, (const void *)m->payload);
	}
}

/* --- logins --- */

int hg_cp_flow_fd(const struct hg_cp *cp)
{
	const struct hg_cp_flow *t = cp->tls_flows;

	return t != NULL && t->auth != NULL ? hg_auth_fd(t->auth) : -1;
}

static void login_done(struct hg_cp *cp, const struct hg_auth_result *res)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct flow_entry **pp = find(t, res->cookie), *e = *pp;
	struct hg_portal_session *s;
	char client[16], cookie[128];

	hg_ipv4_format(res->client, client);
	if (res->status != HG_AUTH_OK) {
		t->logins_failed++;
		fprintf(stderr, "audit: login failed user=%s client=%s "
			"reason=%s (%s)\n", res->user[0] ? res->user
							  : "(invalid)",
			client,
			res->status == HG_AUTH_LOCKED	? "locked"
			: res->status == HG_AUTH_ERROR ? "error"
			: res->status == HG_AUTH_BUSY  ? "busy"
						       : "denied",
			res->detail);
	}
	if (e == NULL || !e->waiting || e->kind != K_HTTP)
		return; /* the client left meanwhile */
	e->waiting = false;
	if (res->status == HG_AUTH_OK) {
		s = hg_portal_login(t->portal, res->user,
				    (const char(*)[HG_ACCESS_NAME_MAX])
					    res->groups,
				    res->n_groups, res->source, res->client,
				    mono_ms());
		if (s == NULL) {
			login_page(cp, e, 503, "Too many sessions. Try again "
				   "later.", false);
		} else {
			t->logins_ok++;
			fprintf(stderr, "audit: login ok user=%s source=%s "
				"client=%s groups=%u\n", res->user,
				res->source, client, res->n_groups);
			hg_portal_cookie(cookie, sizeof(cookie), s);
			redirect(cp, e, "/resources", cookie);
			explicit_bzero(cookie, sizeof(cookie));
		}
	} else if (res->status == HG_AUTH_ERROR) {
		login_page(cp, e, 503, "Sign-in is unavailable right now. Try "
			   "again later.", false);
	} else {
		/* Wrong user, wrong password and a locked name look alike. */
		login_page(cp, e, 401, "Login failed.", false);
	}
	entry_free(t, pp);
}

void hg_cp_flow_auth_ready(struct hg_cp *cp)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct hg_auth_result res;

	if (t == NULL || t->auth == NULL)
		return;
	while (hg_auth_next(t->auth, &res, mono_ms())) {
		login_done(cp, &res);
		explicit_bzero(&res, sizeof(res));
	}
}

/* --- remote STAs --- */

int hg_cp_flow_remote_fd(const struct hg_cp *cp)
{
	const struct hg_cp_flow *t = cp->tls_flows;

	return t != NULL && t->remote != NULL ? hg_sta_remote_fd(t->remote)
					      : -1;
}

void hg_cp_flow_remote_ready(struct hg_cp *cp)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct hg_sta_remote_result res;

	if (t == NULL || t->remote == NULL)
		return;
	while (hg_sta_remote_next(t->remote, &res)) {
		struct flow_entry **pp = find(t, res.cookie), *e = *pp;

		fprintf(stderr, "audit: remote sta %s flow=%llu (%s)\n",
			res.status == 0 ? "validated" : "refused",
			(unsigned long long)res.cookie, res.detail);
		if (e != NULL && e->waiting && e->kind != K_HTTP) {
			e->waiting = false;
			if (res.status == 0)
				grant(cp, e, &res.e, NULL);
			else
				refuse(cp, e, res.status == -ENOENT ? R_UNKNOWN
								    : R_REMOTE,
				       true);
			entry_free(t, pp);
		}
		explicit_bzero(&res, sizeof(res));
	}
}

/* Session reliability: the live CGP sessions' tickets stay valid. */
static void refresh_tickets(struct hg_cp_flow *t)
{
	uint64_t now = mono_ms(), half = hg_sta_lifetime(t->sta) * 500ULL;

	for (unsigned b = 0; b < N_BUCKETS; b++)
		for (struct ica_session *s = t->sessions[b]; s != NULL;
		     s = s->next) {
			if (s->ticket[0] == '\0' || now - s->refreshed_ms < half)
				continue;
			if (hg_sta_refresh(t->sta, s->ticket, strlen(s->ticket),
					   now) < 0)
				explicit_bzero(s->ticket, sizeof(s->ticket));
			s->refreshed_ms = now;
		}
}

/* --- ticks, API --- */

static void portal_ended(void *ctx, const struct hg_portal_session *s,
			 const char *reason)
{
	char client[16];

	(void)ctx;
	hg_ipv4_format(s->client, client);
	fprintf(stderr, "audit: portal session ended (%s) user=%s client=%s\n",
		reason, s->user, client);
}

void hg_cp_flow_tick(struct hg_cp *cp)
{
	struct hg_cp_flow *t = cp->tls_flows;
	uint64_t now = mono_s();

	if (t == NULL)
		return;
	if (mono_ms() > EXPIRED_KEEP_MS)
		hg_sta_expire(t->sta, mono_ms() - EXPIRED_KEEP_MS);
	hg_portal_tick(t->portal, mono_ms(), portal_ended, NULL);
	if (t->n_sessions > 0)
		refresh_tickets(t);
	if (t->auth != NULL)
		hg_auth_tick(t->auth, mono_ms());
	if (t->active == 0)
		return;
	for (unsigned b = 0; b < N_BUCKETS; b++) {
		struct flow_entry **pp = &t->buckets[b];

		while (*pp != NULL) {
			unsigned limit =
				cp->cfg.vs[(*pp)->vs % HG_MAX_VS]
					.tls.handshake_timeout_s +
				STALE_GRACE_S;

			/* A login being checked may wait out its delay. */
			if ((*pp)->waiting)
				limit += 300;
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
	for (unsigned b = 0; b < N_BUCKETS; b++) {
		while (t->buckets[b] != NULL)
			entry_free(t, &t->buckets[b]);
		/* The data plane's flows went with it. */
		while (t->sessions[b] != NULL) {
			struct hg_flow_ended fe = {
				.flow = t->sessions[b]->flow,
				.connected = 1,
			};

			session_end(cp, &fe);
		}
	}
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
	e.cgp_port = 2598;
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
	explicit_bzero(ticket, sizeof(ticket));
	explicit_bzero(value, sizeof(value));
	return o;
}

json_t *hg_cp_flow_stats(struct hg_cp *cp)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct hg_sta_stats st;
	struct hg_auth_stats as;
	json_t *o, *r, *srv;

	if (t == NULL)
		return json_object();
	hg_sta_get_stats(t->sta, &st);
	r = json_object();
	for (int i = 0; i < R_COUNT; i++)
		json_object_set_new(r, refusals[i],
				    json_integer((json_int_t)t->refused[i]));
	o = json_pack("{s:I,s:I,s:I,s:o,s:I,s:I}", "deciding",
		      (json_int_t)t->active, "relayed", (json_int_t)t->relayed,
		      "gone", (json_int_t)t->gone, "refused", r, "sessions",
		      (json_int_t)t->n_sessions, "sessions_ended",
		      (json_int_t)t->sessions_ended);
	json_object_set_new(o, "sta", json_pack(
		"{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "authority",
		hg_sta_authority(t->sta), "issued", (json_int_t)st.issued,
		"redeemed", (json_int_t)st.redeemed, "unknown",
		(json_int_t)st.unknown, "expired", (json_int_t)st.expired,
		"active", (json_int_t)st.active, "full", (json_int_t)st.full,
		"xml_requests", (json_int_t)t->sta_xml_requests,
		"xml_refused", (json_int_t)t->sta_xml_refused));
	json_object_set_new(o, "portal", json_pack(
		"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "requests",
		(json_int_t)t->http_requests, "errors",
		(json_int_t)t->http_errors, "logins_ok",
		(json_int_t)t->logins_ok, "logins_failed",
		(json_int_t)t->logins_failed, "sessions",
		(json_int_t)hg_portal_count(t->portal), "launches",
		(json_int_t)t->launches, "launches_refused",
		(json_int_t)t->launch_refused, "logouts",
		(json_int_t)t->logouts));
	if (t->remote != NULL) {
		struct hg_sta_remote_stats rs;

		hg_sta_remote_get_stats(t->remote, &rs);
		json_object_set_new(o, "remote_sta", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I}", "requests",
			(json_int_t)rs.requests, "valid", (json_int_t)rs.valid,
			"not_found", (json_int_t)rs.not_found, "failovers",
			(json_int_t)rs.failovers, "unreachable",
			(json_int_t)rs.unreachable, "busy",
			(json_int_t)rs.busy));
	}
	if (t->auth != NULL) {
		hg_auth_get_stats(t->auth, &as);
		json_object_set_new(o, "auth", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "ok",
			(json_int_t)as.ok, "denied", (json_int_t)as.denied,
			"locked", (json_int_t)as.locked, "errors",
			(json_int_t)as.errors, "busy", (json_int_t)as.busy,
			"lockouts", (json_int_t)as.lockouts, "pending",
			(json_int_t)as.pending));
	}
	srv = json_array();
	for (unsigned i = 0; i < t->n_servers; i++) {
		char a[16];

		hg_ipv4_format(t->servers[i].addr, a);
		json_array_append_new(srv, json_pack(
			"{s:s,s:I,s:b,s:I}", "address", a, "sessions",
			(json_int_t)t->servers[i].sessions, "healthy",
			t->servers[i].down_until_ms <= mono_ms(), "failures",
			(json_int_t)t->servers[i].failures));
	}
	json_object_set_new(o, "servers", srv);
	return o;
}

static const struct hg_flow_info *flow_info(uint8_t (*msgs)[HG_SLOT_SIZE],
					    unsigned n, uint64_t flow)
{
	for (unsigned i = 0; i < n; i++) {
		const struct hg_msg *m = (const void *)msgs[i];
		const struct hg_flows_reply *r = (const void *)m->payload;

		if (m->type != HG_MSG_FLOWS_REPLY)
			continue;
		for (uint32_t k = 0; k < r->n && k < HG_FLOWS_PER_REPLY; k++)
			if (r->flows[k].id == flow)
				return &r->flows[k];
	}
	return NULL;
}

struct portal_list {
	json_t *arr;
};

static void portal_one(void *ctx, const struct hg_portal_session *s)
{
	struct portal_list *l = ctx;
	char client[16];
	uint64_t now = mono_ms();

	hg_ipv4_format(s->client, client);
	json_array_append_new(l->arr, json_pack(
		"{s:s,s:s,s:s,s:I,s:I,s:I}", "user", s->user, "source",
		s->source, "client", client, "age_s",
		(json_int_t)((now - s->created_ms) / 1000), "idle_s",
		(json_int_t)((now - s->last_ms) / 1000), "launches",
		(json_int_t)s->launches));
}

json_t *hg_cp_flow_sessions(struct hg_cp *cp, uint8_t (*msgs)[HG_SLOT_SIZE],
			    unsigned n)
{
	struct hg_cp_flow *t = cp->tls_flows;
	json_t *ica = json_array(), *o;
	struct portal_list pl = {.arr = json_array()};

	for (unsigned b = 0; t != NULL && b < N_BUCKETS; b++) {
		for (struct ica_session *s = t->sessions[b]; s != NULL;
		     s = s->next) {
			const struct hg_flow_info *fi =
				flow_info(msgs, n, s->flow);
			char client[16], server[24], since[32];
			struct tm tm;

			hg_ipv4_format(s->client, client);
			hg_ipv4_format(s->addr, server);
			snprintf(server + strlen(server),
				 sizeof(server) - strlen(server), ":%u",
				 s->port);
			gmtime_r(&s->since, &tm);
			strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ",
				 &tm);
			o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s}", "flow",
				      (json_int_t)s->flow, "user", s->user,
				      "resource", s->resource, "client",
				      client, "server", server, "framing",
				      s->cgp ? "cgp" : "socks", "since",
				      since);
			/* Bytes from the data plane, when it listed the
			 * flow (each worker lists a bounded number). */
			json_object_set_new(o, "bytes_in",
					    fi != NULL ? json_integer(
							 (json_int_t)fi->bytes_c2b)
						       : json_null());
			json_object_set_new(o, "bytes_out",
					    fi != NULL ? json_integer(
							 (json_int_t)fi->bytes_b2c)
						       : json_null());
			json_array_append_new(ica, o);
		}
	}
	if (t != NULL)
		hg_portal_each(t->portal, portal_one, &pl);
	return json_pack("{s:o,s:o}", "sessions", ica, "portal", pl.arr);
}

bool hg_cp_flow_session_kill(struct hg_cp *cp, uint64_t flow)
{
	struct hg_cp_flow *t = cp->tls_flows;
	struct ica_session *s = t != NULL ? *find_session(t, flow) : NULL;

	if (s == NULL)
		return false;
	s->killed = true;
	fprintf(stderr, "audit: session kill requested flow=%llu user=%s "
		"resource=%s\n", (unsigned long long)flow, s->user,
		s->resource);
	return true;
}

/* --- life --- */

static int servers_init(struct hg_cp_flow *t)
{
	const struct hg_access_config *a = t->access;
	unsigned max = 0;

	for (unsigned i = 0; i < a->n_resources; i++)
		max += a->resources[i].n_servers;
	if (max == 0)
		return 0;
	t->servers = calloc(max, sizeof(*t->servers));
	if (t->servers == NULL)
		return -1;
	for (unsigned i = 0; i < a->n_resources; i++)
		for (unsigned k = 0; k < a->resources[i].n_servers; k++) {
			uint32_t addr = a->resources[i].servers[k].addr;

			if (server_of(t, addr) == NULL)
				t->servers[t->n_servers++].addr = addr;
		}
	return 0;
}

struct hg_cp_flow *hg_cp_flow_new(struct hg_cp *cp, char *err, size_t errlen)
{
	struct hg_cp_flow *t = calloc(1, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->access = &cp->access;
	t->sta = hg_sta_new(cp->cfg.sta.authority_id, cp->cfg.sta.max_tickets,
			    cp->cfg.sta.lifetime_s);
	if (t->sta == NULL) {
		snprintf(err, errlen, "sta: could not create the ticket store");
		goto fail;
	}
	t->portal = hg_portal_new(&cp->access);
	if (t->portal == NULL || servers_init(t) < 0) {
		snprintf(err, errlen, "portal: out of memory");
		goto fail;
	}
	if (cp->access.n_remote_stas > 0) {
		t->remote = hg_sta_remote_new(&cp->access, err, errlen);
		if (t->remote == NULL)
			goto fail;
	}
	if (cp->access.auth.n_users > 0 || cp->access.auth.ldap.enabled) {
		t->auth = hg_auth_new(&cp->access.auth, err, errlen);
		if (t->auth == NULL)
			goto fail;
	}
	return t;
fail:
	hg_cp_flow_free(t);
	return NULL;
}

void hg_cp_flow_free(struct hg_cp_flow *t)
{
	if (t == NULL)
		return;
	for (unsigned b = 0; b < N_BUCKETS; b++) {
		while (t->buckets[b] != NULL) {
			struct flow_entry *e = t->buckets[b];

			t->buckets[b] = e->next;
			explicit_bzero(e, sizeof(*e));
			free(e);
		}
		while (t->sessions[b] != NULL) {
			struct ica_session *s = t->sessions[b];

			t->sessions[b] = s->next;
			free(s);
		}
	}
	hg_auth_free(t->auth);
	hg_sta_remote_free(t->remote);
	hg_portal_free(t->portal);
	hg_sta_free(t->sta);
	free(t->servers);
	free(t);
}
