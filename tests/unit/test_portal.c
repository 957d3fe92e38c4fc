/* The portal: sessions (login, find, logout, ids, idle and absolute
 * timeouts with a fake clock, max_sessions, the tick's reasons, iteration,
 * csrf tokens) and pages (sign-in, resources: exactly the allowed ones,
 * escaped; the ICA file: no server address, the gateway as proxy; the
 * stylesheet, redirects, cookies, error pages). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "portal.h"

#define T0	 1000000u /* an arbitrary start time, ms */
#define IDLE_S	 900
#define MAX_S	 28800
#define IDLE_MS	 ((uint64_t)IDLE_S * 1000)
#define MAX_MS	 ((uint64_t)MAX_S * 1000)
#define SESSIONS 16
#define TICKET	 ";40;STA0HOPGATE;0123456789ABCDEF0123456789ABCDEF"

static struct hg_access_resource res[5];
static struct hg_access_config cfg;

static void set_name(char *dst, size_t n, const char *s)
{
	cr_assert_lt(strlen(s), n);
	snprintf(dst, n, "%s", s);
}

static void resource(unsigned i, const char *name, const char *title,
		     enum hg_resource_type type, const char *g1, const char *g2,
		     uint32_t addr)
{
	struct hg_access_resource *r = &res[i];

	memset(r, 0, sizeof(*r));
	set_name(r->name, sizeof(r->name), name);
	set_name(r->title, sizeof(r->title), title);
	r->type = type;
	set_name(r->groups[r->n_groups++], HG_ACCESS_NAME_MAX, g1);
	if (g2 != NULL)
		set_name(r->groups[r->n_groups++], HG_ACCESS_NAME_MAX, g2);
	r->servers[0] = (struct hg_access_server){addr, 1494, 2598};
	r->servers[1] = (struct hg_access_server){addr + 1, 1495, 2599};
	r->n_servers = 2;
}

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	set_name(cfg.portal.fqdn, sizeof(cfg.portal.fqdn), "gateway.lab");
	cfg.portal.port = 8443;
	set_name(cfg.portal.title, sizeof(cfg.portal.title), "Acme <Apps>");
	cfg.portal.session_idle_s = IDLE_S;
	cfg.portal.session_max_s = MAX_S;
	cfg.portal.max_sessions = SESSIONS;
	resource(0, "notepad", "Notepad <script>alert(1)</script>",
		 HG_RES_APPLICATION, "staff", NULL, 0x0a010203);
	resource(1, "desktop", "Full \"Desktop\" & more", HG_RES_DESKTOP,
		 "admins", NULL, 0xc0a84d05);
	resource(2, "calc", "Calculator", HG_RES_APPLICATION, "admins", "staff",
		 0x0a090807);
	resource(3, "secret", "Secret", HG_RES_APPLICATION, "finance", NULL,
		 0xac106301);
	resource(4, "evil", "Evil\r\nAddress=6.6.6.6\x01\x7f", HG_RES_DESKTOP,
		 "staff", NULL, 0x0a0a0a0a);
	cfg.resources = res;
	cfg.n_resources = 5;
}

TestSuite(portal, .init = setup);

static const char staff[][HG_ACCESS_NAME_MAX] = {"staff", "users"};
static const char admins[][HG_ACCESS_NAME_MAX] = {"admins"};
static const char nobody[][HG_ACCESS_NAME_MAX] = {"visitors"};

static struct hg_portal *new_portal(void)
{
	struct hg_portal *p = hg_portal_new(&cfg);

	cr_assert_not_null(p);
	return p;
}

static struct hg_portal_session *login(struct hg_portal *p, const char *user,
				       uint64_t now)
{
	struct hg_portal_session *s =
	    hg_portal_login(p, user, staff, 2, "local", 0x0a000001, now);

	cr_assert_not_null(s, "login %s", user);
	return s;
}

static bool b64url(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_'))
			return false;
	return true;
}

Test(portal, login_find_logout)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s, *f;
	char id[HG_PORTAL_ID_LEN + 1], bad[HG_PORTAL_ID_LEN + 2];

	s = hg_portal_login(p, "alice", staff, 2, "ldap", 0x0a000001, T0);
	cr_assert_not_null(s);
	cr_assert(b64url(s->id, HG_PORTAL_ID_LEN));
	cr_assert(b64url(s->csrf, HG_PORTAL_ID_LEN));
	cr_assert_str_neq(s->id, s->csrf);
	cr_assert_str_eq(s->user, "alice");
	cr_assert_eq(s->n_groups, 2);
	cr_assert_str_eq(s->groups[0], "staff");
	cr_assert_str_eq(s->groups[1], "users");
	cr_assert_str_eq(s->source, "ldap");
	cr_assert_eq(s->client, 0x0a000001);
	cr_assert_eq(s->created_ms, T0);
	cr_assert_eq(s->last_ms, T0);
	cr_assert_eq(s->launches, 0);
	cr_assert_eq(hg_portal_count(p), 1);

	memcpy(id, s->id, sizeof(id));
	f = hg_portal_find(p, id, T0 + 5000);
	cr_assert_eq(f, s);
	cr_assert_eq(f->last_ms, T0 + 5000);
	cr_assert_eq(f->created_ms, T0);

	/* one character off, shorter, longer, not base64url, NULL */
	memcpy(bad, id, sizeof(id));
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	cr_assert_null(hg_portal_find(p, bad, T0 + 6000));
	memcpy(bad, id, sizeof(id));
	bad[HG_PORTAL_ID_LEN - 1] = '\0';
	cr_assert_null(hg_portal_find(p, bad, T0 + 6000));
	memcpy(bad, id, HG_PORTAL_ID_LEN);
	bad[HG_PORTAL_ID_LEN] = 'x';
	bad[HG_PORTAL_ID_LEN + 1] = '\0';
	cr_assert_null(hg_portal_find(p, bad, T0 + 6000));
	memcpy(bad, id, sizeof(id));
	bad[0] = '=';
	cr_assert_null(hg_portal_find(p, bad, T0 + 6000));
	cr_assert_null(hg_portal_find(p, "", T0 + 6000));
	cr_assert_null(hg_portal_find(p, NULL, T0 + 6000));
	cr_assert_eq(hg_portal_find(p, id, T0 + 7000), s);

	hg_portal_logout(p, s);
	cr_assert_eq(hg_portal_count(p), 0);
	cr_assert_null(hg_portal_find(p, id, T0 + 8000));
	hg_portal_free(p);
}

Test(portal, ids_unique_and_random)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s[SESSIONS];
	unsigned i, j;

	for (i = 0; i < SESSIONS; i++)
		s[i] = login(p, "alice", T0);
	for (i = 0; i < SESSIONS; i++)
		for (j = 0; j < SESSIONS; j++) {
			if (i != j)
				cr_assert_str_neq(s[i]->id, s[j]->id);
			cr_assert_str_neq(s[i]->id, s[j]->csrf);
		}
	for (i = 0; i < SESSIONS; i++)
		cr_assert_eq(hg_portal_find(p, s[i]->id, T0 + 1), s[i]);
	hg_portal_free(p);
	/* a second portal has another key and other ids */
	p = new_portal();
	hg_portal_free(p);
	hg_portal_free(NULL);
}

Test(portal, refuses_bad_logins)
{
	struct hg_portal *p = new_portal();
	char longname[HG_ACCESS_NAME_MAX + 1];

	memset(longname, 'a', HG_ACCESS_NAME_MAX);
	longname[HG_ACCESS_NAME_MAX] = '\0';
	cr_assert_null(hg_portal_login(p, longname, staff, 2, "local", 1, T0));
	longname[HG_ACCESS_NAME_MAX - 1] = '\0'; /* 64 fit */
	cr_assert_not_null(
	    hg_portal_login(p, longname, staff, 2, "local", 1, T0));
	cr_assert_null(hg_portal_login(p, "", staff, 2, "local", 1, T0));
	cr_assert_null(hg_portal_login(p, NULL, staff, 2, "local", 1, T0));
	cr_assert_eq(hg_portal_count(p), 1);
	hg_portal_free(p);

	cfg.portal.max_sessions = 0;
	cr_assert_null(hg_portal_new(&cfg));
	cr_assert_null(hg_portal_new(NULL));
}

Test(portal, many_groups_keep_those_resources_name)
{
	struct hg_portal *p = new_portal();
	char groups[40][HG_ACCESS_NAME_MAX];
	struct hg_portal_session *s;
	unsigned i;

	for (i = 0; i < 40; i++)
		snprintf(groups[i], sizeof(groups[i]), "g%u", i);
	snprintf(groups[39], sizeof(groups[39]), "admins");
	snprintf(groups[20], sizeof(groups[20]), "finance");
	s = hg_portal_login(p, "carol",
			    (const char(*)[HG_ACCESS_NAME_MAX])groups, 40,
			    "ldap", 1, T0);
	cr_assert_not_null(s);
	cr_assert_eq(s->n_groups, 2);
	cr_assert_str_eq(s->groups[0], "finance");
	cr_assert_str_eq(s->groups[1], "admins");

	/* up to HG_ACCESS_MAX_GROUPS: all kept */
	s = hg_portal_login(p, "dave",
			    (const char(*)[HG_ACCESS_NAME_MAX])groups,
			    HG_ACCESS_MAX_GROUPS, "ldap", 1, T0);
	cr_assert_eq(s->n_groups, HG_ACCESS_MAX_GROUPS);
	cr_assert_str_eq(s->groups[31], "g31");
	hg_portal_free(p);
}

Test(portal, idle_timeout)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s = login(p, "alice", T0);
	char id[HG_PORTAL_ID_LEN + 1];
	uint64_t t = T0;
	int i;

	memcpy(id, s->id, sizeof(id));
	/* each use restarts the idle time */
	for (i = 0; i < 5; i++) {
		t += IDLE_MS - 1;
		cr_assert_eq(hg_portal_find(p, id, t), s, "use %d", i);
	}
	cr_assert_null(hg_portal_find(p, id, t + IDLE_MS));
	cr_assert_eq(hg_portal_count(p), 0);
	hg_portal_free(p);
}

Test(portal, absolute_timeout)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s = login(p, "alice", T0);
	char id[HG_PORTAL_ID_LEN + 1];
	uint64_t t;

	memcpy(id, s->id, sizeof(id));
	for (t = T0 + 600000; t < T0 + MAX_MS; t += 600000)
		cr_assert_eq(hg_portal_find(p, id, t), s);
	cr_assert_eq(hg_portal_find(p, id, T0 + MAX_MS - 1), s);
	cr_assert_null(hg_portal_find(p, id, T0 + MAX_MS));
	cr_assert_eq(hg_portal_count(p), 0);
	hg_portal_free(p);
}

Test(portal, max_sessions)
{
	struct hg_portal *p = new_portal();
	unsigned i;

	for (i = 0; i < SESSIONS; i++)
		login(p, "alice", T0 + i);
	cr_assert_eq(hg_portal_count(p), SESSIONS);
	cr_assert_null(
	    hg_portal_login(p, "bob", staff, 2, "local", 1, T0 + 100));
	cr_assert_eq(hg_portal_count(p), SESSIONS);
	/* once the first is idle, a login sweeps it and gets its place */
	cr_assert_not_null(
	    hg_portal_login(p, "bob", staff, 2, "local", 1, T0 + IDLE_MS));
	cr_assert_eq(hg_portal_count(p), SESSIONS);
	cr_assert_null(
	    hg_portal_login(p, "eve", staff, 2, "local", 1, T0 + IDLE_MS));
	hg_portal_free(p);
}

struct ended_log {
	unsigned n;
	char user[8][HG_ACCESS_NAME_MAX];
	char reason[8][16];
	unsigned live_at_call; /* hg_portal_count when called: not yet freed */
	struct hg_portal *p;
};

static void on_ended(void *ctx, const struct hg_portal_session *s,
		     const char *reason)
{
	struct ended_log *l = ctx;

	cr_assert_lt(l->n, 8);
	snprintf(l->user[l->n], HG_ACCESS_NAME_MAX, "%s", s->user);
	snprintf(l->reason[l->n], 16, "%s", reason);
	l->live_at_call = hg_portal_count(l->p);
	l->n++;
}

Test(portal, tick_reasons)
{
	struct hg_portal *p = new_portal();
	struct ended_log log = {.p = p};
	struct hg_portal_session *a, *c = NULL;
	char aid[HG_PORTAL_ID_LEN + 1], cid[HG_PORTAL_ID_LEN + 1];
	uint64_t t, c_at = 0;

	a = login(p, "anna", T0);    /* kept busy: ends "expired" */
	login(p, "bert", T0 + 1000); /* never used: ends "idle" */
	memcpy(aid, a->id, sizeof(aid));
	cr_assert_eq(hg_portal_find(p, aid, T0 + IDLE_MS - 1), a);
	cr_assert_eq(hg_portal_tick(p, T0 + 1000 + IDLE_MS - 1, on_ended, &log),
		     0);
	cr_assert_eq(hg_portal_tick(p, T0 + 1000 + IDLE_MS, on_ended, &log), 1);
	cr_assert_eq(log.n, 1);
	cr_assert_str_eq(log.user[0], "bert");
	cr_assert_str_eq(log.reason[0], "idle");
	cr_assert_eq(log.live_at_call, 2); /* called before it was freed */

	/* anna busy until her maximum; cleo logs in half way and is busy */
	for (t = T0 + IDLE_MS + 60000; t < T0 + MAX_MS; t += 60000) {
		cr_assert_eq(hg_portal_find(p, aid, t), a);
		if (c != NULL) {
			cr_assert_eq(hg_portal_find(p, cid, t), c);
		} else if (t >= T0 + MAX_MS / 2) {
			c = login(p, "cleo", t);
			c_at = t;
			memcpy(cid, c->id, sizeof(cid));
		}
		cr_assert_eq(hg_portal_tick(p, t, on_ended, &log), 0);
	}
	cr_assert_eq(hg_portal_tick(p, T0 + MAX_MS - 1, on_ended, &log), 0);
	cr_assert_eq(hg_portal_tick(p, T0 + MAX_MS, on_ended, &log), 1);
	cr_assert_str_eq(log.user[1], "anna");
	cr_assert_str_eq(log.reason[1], "expired");
	cr_assert_eq(hg_portal_count(p), 1);
	/* both idle and past its maximum: "expired" */
	cr_assert_eq(hg_portal_tick(p, c_at + MAX_MS + IDLE_MS, on_ended, &log),
		     1);
	cr_assert_str_eq(log.user[2], "cleo");
	cr_assert_str_eq(log.reason[2], "expired");
	cr_assert_eq(hg_portal_count(p), 0);
	/* no callback */
	login(p, "dora", T0 + 3 * MAX_MS);
	cr_assert_eq(hg_portal_tick(p, T0 + 4 * MAX_MS, NULL, NULL), 1);
	cr_assert_eq(hg_portal_count(p), 0);
	cr_assert_eq(log.n, 3);
	hg_portal_free(p);
}

static void collect(void *ctx, const struct hg_portal_session *s)
{
	struct ended_log *l = ctx;

	cr_assert_lt(l->n, 8);
	snprintf(l->user[l->n++], HG_ACCESS_NAME_MAX, "%s", s->user);
}

Test(portal, each_in_login_order)
{
	struct hg_portal *p = new_portal();
	struct ended_log l = {0};
	struct hg_portal_session *b;

	login(p, "u1", T0);
	b = login(p, "u2", T0 + 1);
	login(p, "u3", T0 + 2);
	cr_assert_not_null(hg_portal_find(p, b->id, T0 + 3)); /* no reorder */
	hg_portal_each(p, collect, &l);
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(l.user[0], "u1");
	cr_assert_str_eq(l.user[1], "u2");
	cr_assert_str_eq(l.user[2], "u3");
	hg_portal_logout(p, b);
	l.n = 0;
	hg_portal_each(p, collect, &l);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.user[1], "u3");
	hg_portal_free(p);
}

Test(portal, csrf_tokens)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s = login(p, "alice", T0);
	char t[HG_PORTAL_ID_LEN + 2];

	cr_assert(hg_portal_csrf_ok(s, s->csrf));
	cr_assert_not(hg_portal_csrf_ok(s, s->id));
	memcpy(t, s->csrf, HG_PORTAL_ID_LEN + 1);
	t[HG_PORTAL_ID_LEN - 1] ^= 1;
	cr_assert_not(hg_portal_csrf_ok(s, t));
	t[HG_PORTAL_ID_LEN - 1] ^= 1;
	t[HG_PORTAL_ID_LEN] = 'x';
	t[HG_PORTAL_ID_LEN + 1] = '\0';
	cr_assert_not(hg_portal_csrf_ok(s, t));
	cr_assert_not(hg_portal_csrf_ok(s, ""));
	cr_assert_not(hg_portal_csrf_ok(s, NULL));
	hg_portal_free(p);
}

/* A response split into its head (NUL-terminated copy) and body. */
struct response {
	char head[2048];
	const char *body;
	size_t body_len;
	char text[65536]; /* the body, NUL-terminated */
};

static void split(const struct hg_buf *b, struct response *r)
{
	const uint8_t *end = memmem(b->p, b->len, "\r\n\r\n", 4);
	size_t h;

	cr_assert_not(b->failed);
	cr_assert_not_null(end);
	h = (size_t)(end - b->p) + 4;
	cr_assert_lt(h, sizeof(r->head));
	memcpy(r->head, b->p, h);
	r->head[h] = '\0';
	r->body = (const char *)b->p + h;
	r->body_len = b->len - h;
	cr_assert_lt(r->body_len, sizeof(r->text));
	memcpy(r->text, r->body, r->body_len);
	r->text[r->body_len] = '\0';
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (hay = strstr(hay, needle); hay != NULL;
	     hay = strstr(hay + 1, needle))
		n++;
	return n;
}

static void check_html_page(const struct response *r)
{
	char cl[64];

	cr_assert_not_null(strstr(r->head, "Content-Type: text/html; "
					   "charset=utf-8\r\n"));
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", r->body_len);
	cr_assert_not_null(strstr(r->head, cl));
	cr_assert_not_null(strstr(r->head, "Content-Security-Policy: "));
	cr_assert_eq(strncmp(r->text, "<!DOCTYPE html>", 15), 0);
	cr_assert_not_null(strstr(r->text, "<html lang=\"en\">"));
	cr_assert_not_null(strstr(r->text, "<meta name=\"viewport\""));
	cr_assert_not_null(
	    strstr(r->text, "<link rel=\"stylesheet\" href=\"/style.css\">"));
	/* the CSP forbids inline script and style: there are none */
	cr_assert_null(strstr(r->text, "<script"));
	cr_assert_null(strstr(r->text, "<style"));
	cr_assert_null(strstr(r->text, "style="));
	cr_assert_null(strstr(r->text, "onclick"));
	cr_assert_null(strstr(r->text, "onload"));
	cr_assert_null(strstr(r->text, "javascript:"));
	cr_assert_eq(strlen(r->text), r->body_len);
}

Test(portal, login_page)
{
	struct hg_buf b;
	struct response r;

	hg_buf_init(&b);
	cr_assert_eq(hg_portal_page_login(&b, &cfg, 200, NULL, false), 0);
	split(&b, &r);
	cr_assert_eq(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17), 0);
	check_html_page(&r);
	cr_assert_not_null(
	    strstr(r.text, "<form method=\"post\" action=\"/login\">"));
	cr_assert_not_null(strstr(r.text, "<input name=\"username\""));
	cr_assert_not_null(
	    strstr(r.text, "<input type=\"password\" name=\"password\""));
	cr_assert_not_null(strstr(r.text, "<button type=\"submit\">"));
	cr_assert_not_null(strstr(r.text, "<label for=\"username\">"));
	cr_assert_not_null(strstr(r.text, "<label for=\"password\">"));
	cr_assert_not_null(strstr(r.text, "<h1>Acme &lt;Apps&gt;</h1>"));
	cr_assert_null(strstr(r.text, "<Apps>"));
	cr_assert_null(strstr(r.text, "role=\"alert\""));
	hg_buf_free(&b);

	cr_assert_eq(
	    hg_portal_page_login(&b, &cfg, 401, "Login <failed>.", false), 0);
	split(&b, &r);
	cr_assert_eq(strncmp(r.head, "HTTP/1.1 401 Unauthorized\r\n", 27), 0);
	cr_assert_not_null(strstr(
	    r.text, "<p class=\"error\" role=\"alert\">Login &lt;failed&gt;."
		    "</p>"));
	hg_buf_free(&b);
}

static void resources_page(const struct hg_portal_session *s, struct hg_buf *b,
			   struct response *r)
{
	hg_buf_init(b);
	cr_assert_eq(hg_portal_page_resources(b, &cfg, s, false), 0);
	split(b, r);
	cr_assert_eq(strncmp(r->head, "HTTP/1.1 200 OK\r\n", 17), 0);
	check_html_page(r);
}

Test(portal, resources_page_lists_allowed_escaped)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s = login(p, "alice", T0);
	struct hg_buf b;
	struct response r;
	char csrf[128];
	const char *np, *calc, *evil;

	resources_page(s, &b, &r);
	cr_assert_not_null(strstr(r.text, "<h1>Acme &lt;Apps&gt;</h1>"));
	cr_assert_not_null(strstr(r.text, "Signed in as alice"));
	cr_assert_eq(count(r.text, "<ul class=\"resources\">"), 1);
	/* staff: notepad, calc, evil, in config order; not desktop, secret */
	cr_assert_eq(count(r.text, "<li class=\"resource\""), 3);
	np =
	    strstr(r.text, "<li class=\"resource\" data-resource=\"notepad\">");
	calc = strstr(r.text, "<li class=\"resource\" data-resource=\"calc\">");
	evil = strstr(r.text, "<li class=\"resource\" data-resource=\"evil\">");
	cr_assert(np != NULL && calc != NULL && evil != NULL);
	cr_assert(np < calc && calc < evil);
	cr_assert_null(strstr(r.text, "data-resource=\"desktop\""));
	cr_assert_null(strstr(r.text, "data-resource=\"secret\""));
	cr_assert_null(strstr(r.text, "/launch/secret.ica"));
	cr_assert_not_null(strstr(
	    r.text,
	    "<a class=\"launch\" href=\"/launch/notepad.ica\">Launch</a>"));
	cr_assert_not_null(
	    strstr(r.text,
		   "<a class=\"launch\" href=\"/launch/calc.ica\">Launch</a>"));
	/* the title, escaped */
	cr_assert_not_null(strstr(
	    r.text, "Notepad &lt;script&gt;alert(1)&lt;/script&gt;</span>"));
	cr_assert_eq(count(r.text, ">Application<"), 2);
	cr_assert_eq(count(r.text, ">Desktop<"), 1);
	/* sign out, with the session's csrf token */
	cr_assert_not_null(
	    strstr(r.text, "<form method=\"post\" action=\"/logout\">"));
	snprintf(csrf, sizeof(csrf),
		 "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", s->csrf);
	cr_assert_not_null(strstr(r.text, csrf));
	cr_assert_null(strstr(r.text, s->id)); /* the id stays in the cookie */
	cr_assert_null(strstr(r.text, "class=\"empty\""));
	hg_buf_free(&b);
	hg_portal_free(p);
}

Test(portal, resources_page_other_groups)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s;
	struct hg_buf b;
	struct response r;

	s = hg_portal_login(p, "root", admins, 1, "local", 1, T0);
	cr_assert_not_null(s);
	resources_page(s, &b, &r);
	cr_assert_eq(count(r.text, "<li class=\"resource\""), 2);
	cr_assert_not_null(strstr(r.text, "data-resource=\"desktop\""));
	cr_assert_not_null(strstr(r.text, "data-resource=\"calc\""));
	cr_assert_not_null(
	    strstr(r.text, "Full &quot;Desktop&quot; &amp; more</span>"));
	cr_assert_not_null(
	    strstr(r.text, "<span class=\"type\">Desktop</span>"));
	hg_buf_free(&b);

	/* no shared group: the empty state, no list */
	s = hg_portal_login(p, "guest", nobody, 1, "local", 1, T0);
	cr_assert_not_null(s);
	resources_page(s, &b, &r);
	cr_assert_eq(count(r.text, "<li class"), 0);
	cr_assert_null(strstr(r.text, "<ul"));
	cr_assert_not_null(strstr(r.text, "<p class=\"empty\">"));
	cr_assert_not_null(strstr(r.text, "Signed in as guest"));
	cr_assert_not_null(
	    strstr(r.text, "<form method=\"post\" action=\"/logout\">"));
	hg_buf_free(&b);

	/* no groups at all */
	s = hg_portal_login(p, "nogroups", NULL, 0, "local", 1, T0);
	cr_assert_not_null(s);
	resources_page(s, &b, &r);
	cr_assert_eq(count(r.text, "<li class"), 0);
	hg_buf_free(&b);
	hg_portal_free(p);
}

Test(portal, head_keeps_length_drops_body)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s = login(p, "alice", T0);
	struct hg_buf get, head;
	struct response r;

	hg_buf_init(&get);
	hg_buf_init(&head);
	cr_assert_eq(hg_portal_page_resources(&get, &cfg, s, false), 0);
	cr_assert_eq(hg_portal_page_resources(&head, &cfg, s, true), 0);
	split(&get, &r);
	cr_assert_eq(head.len, get.len - r.body_len);
	cr_assert_eq(memcmp(head.p, get.p, head.len), 0);
	hg_buf_free(&get);
	hg_buf_free(&head);

	cr_assert_eq(hg_portal_page_login(&get, &cfg, 200, NULL, false), 0);
	cr_assert_eq(hg_portal_page_login(&head, &cfg, 200, NULL, true), 0);
	split(&get, &r);
	cr_assert_eq(head.len, get.len - r.body_len);
	hg_buf_free(&get);
	hg_buf_free(&head);
	hg_portal_free(p);
}

static void ica(const struct hg_access_resource *rs, struct hg_buf *b,
		struct response *r)
{
	hg_buf_init(b);
	cr_assert_eq(hg_portal_ica_file(b, &cfg, rs, TICKET, false), 0);
	split(b, r);
}

static void check_crlf_only(const struct response *r)
{
	size_t i;

	for (i = 0; i < r->body_len; i++) {
		if (r->body[i] == '\n')
			cr_assert(i > 0 && r->body[i - 1] == '\r', "at %zu", i);
		if (r->body[i] == '\r')
			cr_assert(i + 1 < r->body_len && r->body[i + 1] == '\n',
				  "at %zu", i);
	}
}

/* No server of any resource appears in the file, in any usual form. */
static void check_no_server(const char *text)
{
	char a[32];
	unsigned i, j;

	for (i = 0; i < cfg.n_resources; i++)
		for (j = 0; j < res[i].n_servers; j++) {
			uint32_t x = res[i].servers[j].addr;

			snprintf(a, sizeof(a), "%u.%u.%u.%u", x >> 24,
				 x >> 16 & 255, x >> 8 & 255, x & 255);
			cr_assert_null(strstr(text, a), "%s", a);
			snprintf(a, sizeof(a), ":%u",
				 (unsigned)res[i].servers[j].port);
			cr_assert_null(strstr(text, a), "%s", a);
		}
}

Test(portal, ica_file_application)
{
	struct hg_buf b;
	struct response r;

	ica(&res[0], &b, &r);
	cr_assert_eq(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17), 0);
	cr_assert_not_null(
	    strstr(r.head, "\r\nContent-Type: application/x-ica\r\n"));
	cr_assert_not_null(strstr(r.head, "\r\nContent-Disposition: "
					  "attachment; "
					  "filename=\"notepad.ica\"\r\n"));
	cr_assert_not_null(strstr(r.head, "Cache-Control: no-store\r\n"));
	cr_assert_str_eq(r.text, "[WFClient]\r\n"
				 "Version=2\r\n"
				 "ProxyType=None\r\n"
				 "[ApplicationServers]\r\n"
				 "notepad=\r\n"
				 "[notepad]\r\n"
				 "Title=Notepad <script>alert(1)</script>\r\n"
				 "Address=" TICKET "\r\n"
				 "InitialProgram=#notepad\r\n"
				 "TransportDriver=TCP/IP\r\n"
				 "WinStationDriver=ICA 3.0\r\n"
				 "SSLEnable=On\r\n"
				 "SSLProxyHost=gateway.lab:8443\r\n"
				 "CGPAddress=*:2598\r\n"
				 "ClientAudio=Off\r\n"
				 "[Encoding]\r\n"
				 "InputEncoding=UTF8\r\n");
	check_crlf_only(&r);
	check_no_server(r.text);
	hg_buf_free(&b);
}

Test(portal, ica_file_desktop)
{
	struct hg_buf b;
	struct response r;

	ica(&res[1], &b, &r);
	cr_assert_not_null(strstr(r.text, "\r\n[desktop]\r\n"));
	cr_assert_not_null(strstr(r.text, "\r\nTitle=Full \"Desktop\" & "
					  "more\r\n"));
	cr_assert_not_null(strstr(r.text, "\r\nAddress=" TICKET "\r\n"));
	cr_assert_not_null(strstr(r.text, "\r\nInitialProgram=#desktop\r\n"
					  "DesktopViewer-"
					  "ForceFullScreenStartup=Off\r\n"));
	cr_assert_not_null(
	    strstr(r.text, "\r\nSSLProxyHost=gateway.lab:8443\r\n"));
	cr_assert_null(strstr(r.text, "Sessionsharing"));
	check_crlf_only(&r);
	check_no_server(r.text);
	hg_buf_free(&b);
}

Test(portal, ica_file_control_chars_cannot_add_lines)
{
	struct hg_buf b;
	struct response r;

	ica(&res[4], &b, &r);
	cr_assert_not_null(strstr(r.text, "\r\nTitle=EvilAddress=6.6.6.6\r\n"));
	cr_assert_eq(count(r.text, "\nAddress="), 1);
	cr_assert_not_null(strstr(r.text, "\r\nAddress=" TICKET "\r\n"));
	check_crlf_only(&r);
	hg_buf_free(&b);
}

Test(portal, ica_file_refuses_what_would_break_it)
{
	struct hg_access_resource bad = res[0];
	struct hg_buf b;

	hg_buf_init(&b);
	set_name(bad.name, sizeof(bad.name), "bad name");
	cr_assert_eq(hg_portal_ica_file(&b, &cfg, &bad, TICKET, false), -1);
	set_name(bad.name, sizeof(bad.name), "x]\r\n");
	cr_assert_eq(hg_portal_ica_file(&b, &cfg, &bad, TICKET, false), -1);
	bad.name[0] = '\0';
	cr_assert_eq(hg_portal_ica_file(&b, &cfg, &bad, TICKET, false), -1);
	cr_assert_eq(hg_portal_ica_file(&b, &cfg, &res[0],
					";40;STA1;AB\r\nAddress=1.2.3.4",
					false),
		     -1);
	cr_assert_eq(hg_portal_ica_file(&b, &cfg, &res[0], "", false), -1);
	set_name(cfg.portal.fqdn, sizeof(cfg.portal.fqdn), "gw\nx");
	cr_assert_eq(hg_portal_ica_file(&b, &cfg, &res[0], TICKET, false), -1);
	cr_assert_eq(b.len, 0);
	hg_buf_free(&b);
}

Test(portal, ica_file_head)
{
	struct hg_buf get, head;

	hg_buf_init(&get);
	hg_buf_init(&head);
	cr_assert_eq(hg_portal_ica_file(&get, &cfg, &res[0], TICKET, false), 0);
	cr_assert_eq(hg_portal_ica_file(&head, &cfg, &res[0], TICKET, true), 0);
	cr_assert_lt(head.len, get.len);
	cr_assert_eq(memcmp(head.p, get.p, head.len), 0);
	cr_assert_null(memmem(head.p, head.len, "Address=", 8));
	hg_buf_free(&get);
	hg_buf_free(&head);
}

Test(portal, stylesheet)
{
	struct hg_buf b;
	struct response r;

	hg_buf_init(&b);
	cr_assert_eq(hg_portal_css(&b, false), 0);
	split(&b, &r);
	cr_assert_not_null(
	    strstr(r.head, "Content-Type: text/css; charset=utf-8\r\n"));
	cr_assert_gt(r.body_len, 500);
	cr_assert_not_null(strstr(r.text, "system-ui"));
	cr_assert_not_null(strstr(r.text, ":focus"));
	cr_assert_not_null(strstr(r.text, "@media (max-width"));
	cr_assert_eq(count(r.text, "{"), count(r.text, "}"));
	hg_buf_free(&b);
}

Test(portal, redirects_and_cookies)
{
	struct hg_portal *p = new_portal();
	struct hg_portal_session *s = login(p, "alice", T0);
	char cookie[128], want[160], small[12];
	struct hg_buf b;
	struct response r;

	hg_portal_cookie(cookie, sizeof(cookie), s);
	snprintf(want, sizeof(want),
		 "HGSESSION=%s; Path=/; HttpOnly; Secure; SameSite=Strict",
		 s->id);
	cr_assert_str_eq(cookie, want);

	hg_buf_init(&b);
	cr_assert_eq(hg_portal_redirect(&b, "/resources", cookie), 0);
	split(&b, &r);
	cr_assert_eq(strncmp(r.head, "HTTP/1.1 303 See Other\r\n", 24), 0);
	cr_assert_not_null(strstr(r.head, "\r\nLocation: /resources\r\n"));
	snprintf(want, sizeof(want), "\r\nSet-Cookie: %s\r\n", cookie);
	cr_assert_not_null(strstr(r.head, want));
	cr_assert_not_null(strstr(r.head, "\r\nContent-Length: 0\r\n"));
	cr_assert_eq(r.body_len, 0);
	hg_buf_free(&b);

	cr_assert_eq(hg_portal_redirect(&b, "/", NULL), 0);
	split(&b, &r);
	cr_assert_null(strstr(r.head, "Set-Cookie"));
	hg_buf_free(&b);

	hg_portal_cookie_clear(cookie, sizeof(cookie));
	cr_assert_eq(strncmp(cookie, "HGSESSION=;", 11), 0);
	cr_assert_not_null(strstr(cookie, "; Max-Age=0"));
	cr_assert_not_null(strstr(cookie, "; Path=/"));
	cr_assert_not_null(
	    strstr(cookie, "; HttpOnly; Secure; SameSite=Strict"));

	/* header injection */
	cr_assert_eq(hg_portal_redirect(&b, "/\r\nX: y", NULL), -1);
	cr_assert_eq(hg_portal_redirect(&b, "/", "a=b\r\nX: y"), -1);
	cr_assert_eq(hg_portal_redirect(&b, "/", "a=b\n"), -1);
	cr_assert_eq(b.len, 0);
	hg_buf_free(&b);

	/* truncated, never overflowing */
	memset(small, 'z', sizeof(small));
	hg_portal_cookie(small, sizeof(small) - 1, s);
	cr_assert_eq(strlen(small), sizeof(small) - 2);
	cr_assert_eq(small[sizeof(small) - 1], 'z');
	hg_portal_free(p);
}

Test(portal, error_pages)
{
	static const int statuses[] = {400, 403, 404, 405, 413,
				       429, 500, 503, 502};
	struct hg_buf b;
	struct response r;
	char line[64];
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		int st = statuses[i];

		hg_buf_init(&b);
		cr_assert_eq(hg_portal_page_error(&b, st, false), 0);
		split(&b, &r);
		snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", st,
			 hg_http_reason(st));
		cr_assert_eq(strncmp(r.head, line, strlen(line)), 0, "%d", st);
		check_html_page(&r);
		snprintf(line, sizeof(line), "<h1>%s</h1>", hg_http_reason(st));
		cr_assert_not_null(strstr(r.text, line), "%d", st);
		cr_assert_not_null(strstr(r.text, "<a href=\"/\">"));
		cr_assert_eq(strstr(r.head, "\r\nAllow: GET, HEAD, POST\r\n") !=
				 NULL,
			     st == 405);
		hg_buf_free(&b);
	}
	cr_assert_eq(hg_portal_page_error(&b, 404, true), 0);
	cr_assert_null(memmem(b.p, b.len, "<html", 5));
	hg_buf_free(&b);
}
