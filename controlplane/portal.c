/* The portal's session store and pages. See portal.h for the contract. */
#include "portal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "siphash.h"

#define ID_RAW 32 /* random bytes behind an id or a csrf token */

enum { LOGIN_LIST, USE_LIST, N_LISTS };

struct session {
	struct hg_portal_session s; /* first: the caller's pointer is &s */
	struct session *hnext;	    /* hash chain */
	struct session *prev[N_LISTS], *next[N_LISTS];
	uint32_t bucket;
};

struct session_list {
	struct session *head, *tail;
};

struct hg_portal {
	const struct hg_access_config *a;
	struct hg_sipkey key;
	struct session **bucket; /* bucket_mask + 1 chains */
	uint32_t bucket_mask;
	unsigned count, max;
	/* LOGIN_LIST: by created_ms; USE_LIST: by last_ms, oldest first */
	struct session_list list[N_LISTS];
};

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 32 bytes -> 43 characters and a NUL (no padding). */
static void id_encode(const uint8_t raw[ID_RAW], char out[HG_PORTAL_ID_LEN + 1])
{
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 3 <= ID_RAW; i += 3) {
		v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 |
		    raw[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8; /* 2 left */
	out[o++] = b64url[v >> 18 & 63];
	out[o++] = b64url[v >> 12 & 63];
	out[o++] = b64url[v >> 6 & 63];
	out[o] = '\0';
	explicit_bzero(&v, sizeof(v));
}

static bool id_valid(const char *id)
{
	size_t i;

	for (i = 0; i < HG_PORTAL_ID_LEN; i++) {
		char c = id[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false; /* also stops at a NUL */
	}
	return id[HG_PORTAL_ID_LEN] == '\0';
}

/* Equal in time independent of where the first difference is. */
static bool id_eq(const char *a, const char *b)
{
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < HG_PORTAL_ID_LEN; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return d == 0;
}

static uint32_t bucket_of(const struct hg_portal *p, const char *id)
{
	return (uint32_t)hg_siphash(&p->key, id, HG_PORTAL_ID_LEN) &
	       p->bucket_mask;
}

static struct session *lookup(const struct hg_portal *p, const char *id,
			      uint32_t b)
{
	struct session *e, *found = NULL;

	/* the whole chain, so the time taken does not say where it matched */
	for (e = p->bucket[b]; e != NULL; e = e->hnext)
		if (id_eq(e->s.id, id))
			found = e;
	return found;
}

static void list_append(struct hg_portal *p, int l, struct session *e)
{
	struct session_list *L = &p->list[l];

	e->prev[l] = L->tail;
	e->next[l] = NULL;
	if (L->tail != NULL)
		L->tail->next[l] = e;
	else
		L->head = e;
	L->tail = e;
}

static void list_remove(struct hg_portal *p, int l, struct session *e)
{
	struct session_list *L = &p->list[l];

	if (e->prev[l] != NULL)
		e->prev[l]->next[l] = e->next[l];
	else
		L->head = e->next[l];
	if (e->next[l] != NULL)
		e->next[l]->prev[l] = e->prev[l];
	else
		L->tail = e->prev[l];
}

/* Unlinks, wipes and frees a live session. */
static void end_session(struct hg_portal *p, struct session *e)
{
	struct session **link = &p->bucket[e->bucket];

	while (*link != e)
		link = &(*link)->hnext;
	*link = e->hnext;
	list_remove(p, LOGIN_LIST, e);
	list_remove(p, USE_LIST, e);
	p->count--;
	explicit_bzero(e, sizeof(*e));
	free(e);
}

static uint64_t idle_ms(const struct hg_portal *p)
{
	return (uint64_t)p->a->portal.session_idle_s * 1000;
}

static uint64_t max_ms(const struct hg_portal *p)
{
	return (uint64_t)p->a->portal.session_max_s * 1000;
}

static bool past_max(const struct hg_portal *p, const struct session *e,
		     uint64_t now_ms)
{
	return now_ms >= e->s.created_ms + max_ms(p);
}

static bool past_idle(const struct hg_portal *p, const struct session *e,
		      uint64_t now_ms)
{
	return now_ms >= e->s.last_ms + idle_ms(p);
}

struct hg_portal *hg_portal_new(const struct hg_access_config *a)
{
	struct hg_portal *p;
	size_t n_buckets = 1;

	if (a == NULL || a->portal.max_sessions == 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	while (n_buckets < a->portal.max_sessions)
		n_buckets <<= 1;
	p->bucket = calloc(n_buckets, sizeof(*p->bucket));
	if (p->bucket == NULL || hg_random_bytes(&p->key, sizeof(p->key)) < 0) {
		hg_portal_free(p);
		return NULL;
	}
	p->a = a;
	p->max = a->portal.max_sessions;
	p->bucket_mask = (uint32_t)(n_buckets - 1);
	return p;
}

void hg_portal_free(struct hg_portal *p)
{
	if (p == NULL)
		return;
	while (p->list[LOGIN_LIST].head != NULL)
		end_session(p, p->list[LOGIN_LIST].head);
	free(p->bucket);
	explicit_bzero(p, sizeof(*p));
	free(p);
}

/* s into dst[HG_ACCESS_NAME_MAX]; false if it does not fit. */
static bool copy_name(char *dst, const char *s)
{
	size_t n = strnlen(s, HG_ACCESS_NAME_MAX);

	if (n == HG_ACCESS_NAME_MAX)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static bool named_by_a_resource(const struct hg_access_config *a,
				const char *group)
{
	unsigned i, j;

	for (i = 0; i < a->n_resources; i++)
		for (j = 0; j < a->resources[i].n_groups; j++)
			if (strncmp(a->resources[i].groups[j], group,
				    HG_ACCESS_NAME_MAX) == 0)
				return true;
	return false;
}

static void copy_groups(const struct hg_portal *p, struct hg_portal_session *s,
			const char (*groups)[HG_ACCESS_NAME_MAX], unsigned n)
{
	bool all = n <= HG_ACCESS_MAX_GROUPS;
	unsigned i;

	for (i = 0; i < n && s->n_groups < HG_ACCESS_MAX_GROUPS; i++) {
		if (!all && !named_by_a_resource(p->a, groups[i]))
			continue;
		if (copy_name(s->groups[s->n_groups], groups[i]))
			s->n_groups++;
	}
}

/* Draws a fresh id (unique among the live ones) and csrf token. */
static int new_tokens(const struct hg_portal *p, struct hg_portal_session *s,
		      uint32_t *bucket)
{
	uint8_t raw[ID_RAW];
	int tries;

	/* 256 random bits collide with a live id practically never; drawing
	 * a live one four times over means the generator is broken. */
	for (tries = 0;; tries++) {
		if (tries == 4 || hg_random_bytes(raw, sizeof(raw)) < 0)
			goto fail;
		id_encode(raw, s->id);
		*bucket = bucket_of(p, s->id);
		if (lookup(p, s->id, *bucket) == NULL)
			break;
	}
	if (hg_random_bytes(raw, sizeof(raw)) < 0)
		goto fail;
	id_encode(raw, s->csrf);
	explicit_bzero(raw, sizeof(raw));
	return 0;
fail:
	explicit_bzero(raw, sizeof(raw));
	return -1;
}

struct hg_portal_session *
hg_portal_login(struct hg_portal *p, const char *user,
		const char (*groups)[HG_ACCESS_NAME_MAX], unsigned n_groups,
		const char *source, uint32_t client, uint64_t now_ms)
{
	struct session *e;
	size_t n;

	if (user == NULL || user[0] == '\0' ||
	    strnlen(user, HG_ACCESS_NAME_MAX) == HG_ACCESS_NAME_MAX)
		return NULL;
	if (p->count >= p->max)
		hg_portal_tick(p, now_ms, NULL, NULL);
	if (p->count >= p->max)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	if (new_tokens(p, &e->s, &e->bucket) < 0) {
		explicit_bzero(e, sizeof(*e));
		free(e);
		return NULL;
	}
	copy_name(e->s.user, user);
	if (groups != NULL)
		copy_groups(p, &e->s, groups, n_groups);
	if (source != NULL) {
		n = strnlen(source, sizeof(e->s.source) - 1);
		memcpy(e->s.source, source, n);
	}
	e->s.client = client;
	e->s.created_ms = e->s.last_ms = now_ms;

	e->hnext = p->bucket[e->bucket];
	p->bucket[e->bucket] = e;
	list_append(p, LOGIN_LIST, e);
	list_append(p, USE_LIST, e);
	p->count++;
	return &e->s;
}

struct hg_portal_session *hg_portal_find(struct hg_portal *p, const char *id,
					 uint64_t now_ms)
{
	struct session *e;

	if (id == NULL || !id_valid(id))
		return NULL;
	e = lookup(p, id, bucket_of(p, id));
	if (e == NULL)
		return NULL;
	if (past_max(p, e, now_ms) || past_idle(p, e, now_ms)) {
		end_session(p, e);
		return NULL;
	}
	/* never backwards, so the use list stays in last_ms order */
	if (now_ms > e->s.last_ms)
		e->s.last_ms = now_ms;
	list_remove(p, USE_LIST, e);
	list_append(p, USE_LIST, e);
	return &e->s;
}

bool hg_portal_csrf_ok(const struct hg_portal_session *s, const char *token)
{
	if (token == NULL ||
	    strnlen(token, HG_PORTAL_ID_LEN + 1) != HG_PORTAL_ID_LEN)
		return false;
	return id_eq(s->csrf, token);
}

void hg_portal_logout(struct hg_portal *p, struct hg_portal_session *s)
{
	end_session(p, (struct session *)s);
}

unsigned hg_portal_tick(struct hg_portal *p, uint64_t now_ms,
			void (*ended)(void *ctx,
				      const struct hg_portal_session *s,
				      const char *reason),
			void *ctx)
{
	struct session *e;
	unsigned n = 0;

	/* Both lists are in expiry order: stop at the first one in time.
	 * Absolute expiry first, so that reason wins when both hold. */
	while ((e = p->list[LOGIN_LIST].head) != NULL &&
	       past_max(p, e, now_ms)) {
		if (ended != NULL)
			ended(ctx, &e->s, "expired");
		end_session(p, e);
		n++;
	}
	while ((e = p->list[USE_LIST].head) != NULL &&
	       past_idle(p, e, now_ms)) {
		if (ended != NULL)
			ended(ctx, &e->s, "idle");
		end_session(p, e);
		n++;
	}
	return n;
}

unsigned hg_portal_count(const struct hg_portal *p)
{
	return p->count;
}

void hg_portal_each(struct hg_portal *p,
		    void (*fn)(void *ctx, const struct hg_portal_session *s),
		    void *ctx)
{
	struct session *e;

	for (e = p->list[LOGIN_LIST].head; e != NULL; e = e->next[LOGIN_LIST])
		fn(ctx, &e->s);
}

/* Pages */

#define HTML_TYPE "text/html; charset=utf-8"

/* Hands a finished body to hg_http_respond, then wipes it (the resources
 * page holds the csrf token). */
static int respond(struct hg_buf *out, int status, const char *type,
		   const char *extra, struct hg_buf *body, bool head)
{
	int rc = -1;

	if (!body->failed)
		rc = hg_http_respond(out, status, type, extra, body->p,
				     body->len, head);
	hg_buf_free(body);
	return rc;
}

/* The document up to the opening of <main>. */
static void page_open(struct hg_buf *b, const char *what, const char *title,
		      const char *main_class)
{
	hg_buf_printf(b,
		      "<!DOCTYPE html>\n"
		      "<html lang=\"en\">\n"
		      "<head>\n"
		      "<meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, "
		      "initial-scale=1\">\n"
		      "<title>");
	hg_buf_html(b, what);
	if (title != NULL) {
		hg_buf_printf(b, " - ");
		hg_buf_html(b, title);
	}
	hg_buf_printf(b,
		      "</title>\n"
		      "<link rel=\"stylesheet\" href=\"/style.css\">\n"
		      "</head>\n"
		      "<body>\n"
		      "<main class=\"%s\">\n",
		      main_class);
}

static void page_close(struct hg_buf *b)
{
	hg_buf_printf(b, "</main>\n</body>\n</html>\n");
}

int hg_portal_page_login(struct hg_buf *out, const struct hg_access_config *a,
			 int status, const char *message, bool head)
{
	struct hg_buf b;

	hg_buf_init(&b);
	page_open(&b, "Sign in", a->portal.title, "card");
	hg_buf_printf(&b, "<h1>");
	hg_buf_html(&b, a->portal.title);
	hg_buf_printf(&b, "</h1>\n<p class=\"lead\">Sign in to reach your "
			  "applications and desktops.</p>\n");
	if (message != NULL) {
		hg_buf_printf(&b, "<p class=\"error\" role=\"alert\">");
		hg_buf_html(&b, message);
		hg_buf_printf(&b, "</p>\n");
	}
	hg_buf_printf(
	    &b, "<form method=\"post\" action=\"/login\">\n"
		"<label for=\"username\">User name</label>\n"
		"<input name=\"username\" id=\"username\" type=\"text\" "
		"autocomplete=\"username\" autocapitalize=\"none\" "
		"spellcheck=\"false\" maxlength=\"64\" required autofocus>\n"
		"<label for=\"password\">Password</label>\n"
		"<input type=\"password\" name=\"password\" id=\"password\" "
		"autocomplete=\"current-password\" required>\n"
		"<button type=\"submit\">Sign in</button>\n"
		"</form>\n");
	page_close(&b);
	return respond(out, status, HTML_TYPE, NULL, &b, head);
}

static const char *type_name(enum hg_resource_type t)
{
	return t == HG_RES_DESKTOP ? "Desktop" : "Application";
}

int hg_portal_page_resources(struct hg_buf *out,
			     const struct hg_access_config *a,
			     const struct hg_portal_session *s, bool head)
{
	struct hg_buf b;
	unsigned i, shown = 0;

	hg_buf_init(&b);
	page_open(&b, "Applications", a->portal.title, "card wide");
	hg_buf_printf(&b, "<header class=\"top\">\n<h1>");
	hg_buf_html(&b, a->portal.title);
	hg_buf_printf(&b, "</h1>\n"
			  "<form method=\"post\" action=\"/logout\">\n"
			  "<input type=\"hidden\" name=\"csrf\" value=\"");
	hg_buf_html(&b, s->csrf);
	hg_buf_printf(&b, "\">\n"
			  "<button type=\"submit\" class=\"quiet\">Sign "
			  "out</button>\n"
			  "</form>\n"
			  "</header>\n"
			  "<p class=\"who\">Signed in as ");
	hg_buf_html(&b, s->user);
	hg_buf_printf(&b, "</p>\n");
	for (i = 0; i < a->n_resources; i++) {
		const struct hg_access_resource *r = &a->resources[i];

		if (!hg_access_allowed(r, s->groups, s->n_groups))
			continue;
		if (shown++ == 0)
			hg_buf_printf(&b, "<ul class=\"resources\">\n");
		hg_buf_printf(&b, "<li class=\"resource\" data-resource=\"");
		hg_buf_html(&b, r->name);
		hg_buf_printf(&b, "\">\n<span class=\"title\">");
		hg_buf_html(&b, r->title[0] != '\0' ? r->title : r->name);
		hg_buf_printf(&b,
			      "</span>\n<span class=\"type\">%s</span>\n"
			      "<a class=\"launch\" href=\"/launch/",
			      type_name(r->type));
		hg_buf_html(&b, r->name);
		hg_buf_printf(&b, ".ica\">Launch</a>\n</li>\n");
	}
	if (shown > 0)
		hg_buf_printf(&b, "</ul>\n");
	else
		hg_buf_printf(&b,
			      "<p class=\"empty\">No applications or desktops "
			      "are published for you. Ask your administrator "
			      "for access.</p>\n");
	page_close(&b);
	return respond(out, 200, HTML_TYPE, NULL, &b, head);
}

static bool name_ok(const char *s, size_t max)
{
	size_t i, n = strnlen(s, max);

	if (n == 0 || n == max)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool is_control(uint8_t c)
{
	return c < 0x20 || c == 0x7f;
}

/* A non-empty value for an INI line: no control characters. */
static bool ini_value_ok(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (is_control((uint8_t)*s))
			return false;
	return true;
}

/* s without its control characters: it cannot end the line. */
static void ini_add(struct hg_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		if (!is_control((uint8_t)*s))
			hg_buf_add(b, s, 1);
}

int hg_portal_ica_file(struct hg_buf *out, const struct hg_access_config *a,
		       const struct hg_access_resource *r,
		       const char *address_value, bool head)
{
	char extra[128];
	struct hg_buf b;

	if (!name_ok(r->name, sizeof(r->name)) ||
	    !ini_value_ok(address_value) || !ini_value_ok(a->portal.fqdn))
		return -1;
	hg_buf_init(&b);
	hg_buf_printf(&b,
		      "[WFClient]\r\n"
		      "Version=2\r\n"
		      "ProxyType=None\r\n"
		      "[ApplicationServers]\r\n"
		      "%s=\r\n"
		      "[%s]\r\n"
		      "Title=",
		      r->name, r->name);
	ini_add(&b, r->title[0] != '\0' ? r->title : r->name);
	hg_buf_printf(&b, "\r\nAddress=%s\r\nInitialProgram=#%s\r\n",
		      address_value, r->name);
	if (r->type == HG_RES_DESKTOP)
		hg_buf_printf(&b,
			      "DesktopViewer-ForceFullScreenStartup=Off\r\n");
	hg_buf_printf(&b,
		      "TransportDriver=TCP/IP\r\n"
		      "WinStationDriver=ICA 3.0\r\n"
		      "SSLEnable=On\r\n"
		      "SSLProxyHost=%s:%u\r\n"
		      "CGPAddress=*:2598\r\n"
		      "ClientAudio=Off\r\n"
		      "[Encoding]\r\n"
		      "InputEncoding=UTF8\r\n",
		      a->portal.fqdn, (unsigned)a->portal.port);
	snprintf(extra, sizeof(extra),
		 "Content-Disposition: attachment; filename=\"%s.ica\"\r\n",
		 r->name);
	return respond(out, 200, "application/x-ica", extra, &b, head);
}

static const char css[] =
    ":root {\n"
    "  color-scheme: light dark;\n"
    "  --bg: #eef1f5; --card: #ffffff; --text: #1d2430; --muted: #5b6676;\n"
    "  --border: #d5dbe3; --accent: #1a5fb4; --on-accent: #ffffff;\n"
    "  --error-bg: #fdecea; --error: #a4201b;\n"
    "}\n"
    "@media (prefers-color-scheme: dark) {\n"
    "  :root {\n"
    "    --bg: #14181f; --card: #1e242d; --text: #e6e9ee; --muted: #9aa5b4;\n"
    "    --border: #343c48; --accent: #78aeed; --on-accent: #0b1320;\n"
    "    --error-bg: #3b1d1d; --error: #ffb4ab;\n"
    "  }\n"
    "}\n"
    "*, *::before, *::after { box-sizing: border-box; }\n"
    "body {\n"
    "  margin: 0; min-height: 100vh; padding: 1rem;\n"
    "  display: flex; align-items: center; justify-content: center;\n"
    "  background: var(--bg); color: var(--text);\n"
    "  font: 1rem/1.5 system-ui, -apple-system, \"Segoe UI\", Roboto,\n"
    "    \"Helvetica Neue\", Arial, sans-serif;\n"
    "}\n"
    ".card {\n"
    "  width: 100%; max-width: 24rem; padding: 2rem;\n"
    "  background: var(--card); border: 1px solid var(--border);\n"
    "  border-radius: 12px; box-shadow: 0 4px 24px rgba(0, 0, 0, 0.08);\n"
    "}\n"
    ".card.wide { max-width: 40rem; }\n"
    ".card > :last-child { margin-bottom: 0; }\n"
    "a { color: var(--accent); }\n"
    "h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 0.5rem; }\n"
    ".lead, .who { color: var(--muted); margin: 0 0 1.5rem; }\n"
    ".top + .who { margin-top: 0.5rem; }\n"
    "label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }\n"
    "input {\n"
    "  width: 100%; padding: 0.6rem 0.75rem; font: inherit; color: inherit;\n"
    "  background: var(--card); border: 1px solid var(--border);\n"
    "  border-radius: 8px;\n"
    "}\n"
    "button, .launch {\n"
    "  display: inline-block; padding: 0.55rem 1.1rem; font: inherit;\n"
    "  font-weight: 600; text-decoration: none; cursor: pointer;\n"
    "  color: var(--on-accent); background: var(--accent);\n"
    "  border: 1px solid var(--accent); border-radius: 8px;\n"
    "}\n"
    "button:hover, .launch:hover { filter: brightness(1.1); }\n"
    "form[action=\"/login\"] button { width: 100%; margin-top: 1.5rem; }\n"
    "button.quiet { color: var(--accent); background: transparent; }\n"
    "input:focus, button:focus-visible, a:focus-visible {\n"
    "  outline: 3px solid var(--accent); outline-offset: 2px;\n"
    "}\n"
    ".error {\n"
    "  margin: 0 0 1rem; padding: 0.75rem 1rem; border-radius: 8px;\n"
    "  color: var(--error); background: var(--error-bg);\n"
    "}\n"
    ".top {\n"
    "  display: flex; flex-wrap: wrap; gap: 1rem;\n"
    "  align-items: center; justify-content: space-between;\n"
    "}\n"
    ".top h1 { margin: 0; }\n"
    ".resources { list-style: none; margin: 0; padding: 0; }\n"
    ".resource {\n"
    "  display: flex; align-items: center; gap: 1rem; padding: 0.9rem 0;\n"
    "  border-top: 1px solid var(--border);\n"
    "}\n"
    ".resource .title { flex: 1; font-weight: 600; overflow-wrap: anywhere; "
    "}\n"
    ".resource .type { color: var(--muted); font-size: 0.875rem; }\n"
    ".empty {\n"
    "  margin: 0; padding: 1rem 0; color: var(--muted);\n"
    "  border-top: 1px solid var(--border);\n"
    "}\n"
    "@media (max-width: 30rem) {\n"
    "  body { align-items: flex-start; padding: 0.5rem; }\n"
    "  .card { padding: 1.25rem; }\n"
    "  .resource { flex-wrap: wrap; }\n"
    "  .resource { gap: 0.5rem 1rem; }\n"
    "  .resource .title { flex-basis: 100%; }\n"
    "  .resource .type { flex: 1; }\n"
    "}\n";

int hg_portal_css(struct hg_buf *out, bool head)
{
	return hg_http_respond(out, 200, "text/css; charset=utf-8", NULL, css,
			       sizeof(css) - 1, head);
}

int hg_portal_redirect(struct hg_buf *out, const char *location,
		       const char *set_cookie)
{
	struct hg_buf extra;
	int rc;

	if (location == NULL || strpbrk(location, "\r\n") != NULL ||
	    (set_cookie != NULL && strpbrk(set_cookie, "\r\n") != NULL))
		return -1;
	hg_buf_init(&extra);
	hg_buf_printf(&extra, "Location: %s\r\n", location);
	if (set_cookie != NULL)
		hg_buf_printf(&extra, "Set-Cookie: %s\r\n", set_cookie);
	hg_buf_add(&extra, "", 1); /* a C string for hg_http_respond */
	rc = extra.failed
		 ? -1
		 : hg_http_respond(out, 303, NULL, (const char *)extra.p, NULL,
				   0, false);
	hg_buf_free(&extra); /* it held the session id */
	return rc;
}

static const char *error_text(int status)
{
	switch (status) {
	case 400:
		return "The request could not be understood.";
	case 403:
		return "You are not allowed to open this page.";
	case 404:
		return "There is nothing here.";
	case 405:
		return "This page does not take that kind of request.";
	case 413:
		return "The request was too large.";
	case 429:
		return "Too many attempts. Wait a few minutes, then try again.";
	case 500:
		return "Something went wrong on the gateway. Try again later.";
	case 503:
		return "The gateway is busy. Try again in a moment.";
	default:
		return NULL;
	}
}

int hg_portal_page_error(struct hg_buf *out, int status, bool head)
{
	const char *reason = hg_http_reason(status), *text = error_text(status);
	struct hg_buf b;

	hg_buf_init(&b);
	page_open(&b, reason, NULL, "card");
	hg_buf_printf(&b, "<h1>");
	hg_buf_html(&b, reason);
	hg_buf_printf(&b, "</h1>\n");
	if (text != NULL) {
		hg_buf_printf(&b, "<p class=\"lead\">");
		hg_buf_html(&b, text);
		hg_buf_printf(&b, "</p>\n");
	}
	hg_buf_printf(&b, "<p><a href=\"/\">Back to the portal</a></p>\n");
	page_close(&b);
	return respond(out, status, HTML_TYPE,
		       status == 405 ? "Allow: GET, HEAD, POST\r\n" : NULL, &b,
		       head);
}

void hg_portal_cookie(char *out, size_t outlen,
		      const struct hg_portal_session *s)
{
	snprintf(out, outlen,
		 HG_PORTAL_COOKIE "=%s; Path=/; HttpOnly; Secure; "
				  "SameSite=Strict",
		 s->id);
}

void hg_portal_cookie_clear(char *out, size_t outlen)
{
	snprintf(out, outlen,
		 HG_PORTAL_COOKIE "=; Path=/; Max-Age=0; "
				  "Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
				  "HttpOnly; Secure; SameSite=Strict");
}
