/* The web portal: its session store and its pages. No I/O: the control
 * plane's flow code (cp_flow.c) routes requests, checks passwords and
 * issues tickets, and calls these for the sessions and the bytes of each
 * answer.
 *
 * Sessions. A session is named by an id of 32 random bytes (getrandom)
 * in base64url, sent as the HGSESSION cookie; forms that change state
 * carry a second random token (csrf) that the caller compares with
 * hg_portal_csrf_ok. Time is the caller's (now_ms from a monotonic clock).
 * Invariants:
 * - at most a->portal.max_sessions live sessions; each is malloc'd at
 *   login and wiped (explicit_bzero) and freed when it ends (a session
 *   is 2.4 KB: allocating max_sessions of them up front would cost
 *   157 MB at the default 65536);
 * - a live session is in one hash chain (SipHash of the id under a random
 *   per-portal key, so clients cannot choose colliding ids), on the login
 *   list (login order, hence absolute expiry order) and on the use list
 *   (least recently used first, hence idle expiry order): a sweep costs
 *   O(ended sessions);
 * - ids are compared in constant time; they are never logged.
 * A session ends when it is idle for session_idle_s ("idle") or
 * session_max_s after login ("expired"; that reason wins when both hold).
 * Sessions returned stay valid until the next call that may end sessions
 * (find, login, tick, logout, free).
 *
 * Not thread safe: one thread (the control plane's main thread) uses it.
 */
#ifndef HG_PORTAL_H
#define HG_PORTAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "http.h"

#define HG_PORTAL_COOKIE "HGSESSION"
#define HG_PORTAL_ID_LEN 43 /* base64url of 32 random bytes, no padding */

struct hg_portal_session {
	char id[HG_PORTAL_ID_LEN + 1];
	char csrf[HG_PORTAL_ID_LEN + 1]; /* a second random token for forms */
	char user[HG_ACCESS_NAME_MAX];
	char groups[HG_ACCESS_MAX_GROUPS][HG_ACCESS_NAME_MAX];
	unsigned n_groups;
	char source[8];	 /* "local" | "ldap" */
	uint32_t client; /* address at login, host order */
	uint64_t created_ms, last_ms;
	uint64_t launches; /* for the caller to count ICA files issued */
};

struct hg_portal;

/* A store for a->portal.max_sessions sessions (at least 1). Keeps the
 * pointer: a outlives the portal. NULL on allocation failure or when no
 * random key could be had. */
struct hg_portal *hg_portal_new(const struct hg_access_config *a);
/* Wipes and frees every session, then the store. NULL is a no-op. */
void hg_portal_free(struct hg_portal *p);

/* A new session for `user` (a name shorter than HG_ACCESS_NAME_MAX) with
 * its groups, signed in through `source` from address `client`. When a
 * user has more than HG_ACCESS_MAX_GROUPS groups, the session keeps those
 * some resource names (up to that many). NULL when max_sessions are live
 * (expired ones are swept first, without a callback: call hg_portal_tick
 * every second so sessions end with their reason), the user name is too
 * long, no randomness could be had, or on allocation failure. */
struct hg_portal_session *
hg_portal_login(struct hg_portal *p, const char *user,
		const char (*groups)[HG_ACCESS_NAME_MAX], unsigned n_groups,
		const char *source, uint32_t client, uint64_t now_ms);

/* The live session named `id` (a NUL-terminated cookie value; anything
 * but HG_PORTAL_ID_LEN base64url characters is simply unknown), or NULL.
 * An expired one is ended and NULL returned. A found one is touched:
 * last_ms = now_ms. */
struct hg_portal_session *hg_portal_find(struct hg_portal *p, const char *id,
					 uint64_t now_ms);

/* True when `token` (a form's csrf field, NUL-terminated) is the session's
 * csrf token; compared in constant time. */
bool hg_portal_csrf_ok(const struct hg_portal_session *s, const char *token);

/* Ends a live session of p: wiped and freed; s is invalid afterwards. */
void hg_portal_logout(struct hg_portal *p, struct hg_portal_session *s);

/* Ends the sessions expired at now_ms; returns how many. Calls `ended`
 * (may be NULL) for each with reason "idle" or "expired" before freeing
 * it. `ended` must not call into p. */
unsigned hg_portal_tick(struct hg_portal *p, uint64_t now_ms,
			void (*ended)(void *ctx,
				      const struct hg_portal_session *s,
				      const char *reason),
			void *ctx);

/* Live sessions (some may be past their time until the next tick). */
unsigned hg_portal_count(const struct hg_portal *p);

/* Calls fn for each live session, in login order (for the control API).
 * fn must not call into p. */
void hg_portal_each(struct hg_portal *p,
		    void (*fn)(void *ctx, const struct hg_portal_session *s),
		    void *ctx);

/* Pages: whole HTTP responses appended to out (via hg_http_respond); with
 * head true, the headers of the same response only. 0, or -1 on
 * allocation failure. */

/* The sign-in page ("/"): status (200, or e.g. 401 after a failed login,
 * 429 when locked out) and message (NULL or e.g. "Login failed.") shown
 * in <p class="error" role="alert">. */
int hg_portal_page_login(struct hg_buf *out, const struct hg_access_config *a,
			 int status, const char *message, bool head);
/* The resources page ("/resources"): what s's groups may launch, in
 * config order, and the sign-out form with s's csrf token. */
int hg_portal_page_resources(struct hg_buf *out,
			     const struct hg_access_config *a,
			     const struct hg_portal_session *s, bool head);
/* The ICA file for resource r, as an attachment "NAME.ica". address_value
 * is the Address line's value, like ";40;STA0HOPGATE;<32 hex>"; the file
 * sends the client to a->portal.fqdn:port and names no server. -1 also
 * when a value would break the file: r's name outside [A-Za-z0-9_-]{1,31},
 * a control character in address_value or the fqdn (control characters
 * in the title are dropped). */
int hg_portal_ica_file(struct hg_buf *out, const struct hg_access_config *a,
		       const struct hg_access_resource *r,
		       const char *address_value, bool head);
/* The stylesheet ("/style.css"). */
int hg_portal_css(struct hg_buf *out, bool head);
/* 303 See Other to `location` (a path such as "/resources"), with a
 * Set-Cookie field when set_cookie is not NULL (a whole cookie value from
 * hg_portal_cookie or hg_portal_cookie_clear). -1 also when either holds
 * a CR or LF. */
int hg_portal_redirect(struct hg_buf *out, const char *location,
		       const char *set_cookie);
/* A small HTML page for an error status (400, 403, 404, 405, 413, 429,
 * 500, 503, or any other with its reason phrase). 405 says
 * "Allow: GET, HEAD, POST". */
int hg_portal_page_error(struct hg_buf *out, int status, bool head);

/* Set-Cookie values: a session's
 * "HGSESSION=<id>; Path=/; HttpOnly; Secure; SameSite=Strict" (a cookie
 * that lasts as long as the browser: the store decides when it ends), and
 * one that clears it. Truncated (never overflowing) when outlen is too
 * small; 128 bytes is enough. */
void hg_portal_cookie(char *out, size_t outlen,
		      const struct hg_portal_session *s);
void hg_portal_cookie_clear(char *out, size_t outlen);

#endif
