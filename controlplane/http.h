/* HTTP/1.1 for the portal (RFC 9110, RFC 9112), server side only: a parser
 * of one request and a builder of one response. No I/O: the control plane
 * hands over the client's decrypted bytes and sends what comes out.
 *
 * The parser is deliberately strict, because a gateway that reads a
 * request differently from the browser or a proxy in front of it invites
 * request smuggling:
 * - origin-form targets only ("/..."), no absolute-form, "*" or authority;
 * - CRLF line ends only: a bare CR or a bare LF is malformed;
 * - no obs-fold, no whitespace between a field name and its ':', no
 *   control characters (NUL, DEL, ...) anywhere in the head;
 * - bodies by Content-Length only: Transfer-Encoding (chunked or other) is
 *   refused, and so are Content-Length values that are not plain digits
 *   or that disagree with one another;
 * - methods GET, HEAD and POST (case-sensitive), versions 1.0 and 1.1;
 * - one Host (none is allowed in HTTP/1.0 only).
 * Empty lines before the request line are skipped (RFC 9112 section 2.2).
 *
 * Every response says "Connection: close": one request per connection, so
 * pipelined bytes after a request are never parsed as a second one unless
 * the caller wants them.
 */
#ifndef HG_HTTP_H
#define HG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_HTTP_MAX_REQUEST (16 * 1024) /* request line + headers + body */
#define HG_HTTP_MAX_TARGET  2048	/* request-target, bytes */
#define HG_HTTP_MAX_HEADERS 48

struct hg_http_header {
	const char *name; /* as sent (compare case-insensitively) */
	size_t name_len;
	const char *value; /* without leading and trailing whitespace */
	size_t value_len;
};

/* A parsed request. Pointers point into the parsed bytes: keep those as
 * long as the request is used. Strings other than method are not
 * NUL-terminated. */
struct hg_http_request {
	char method[8]; /* "GET", "POST", "HEAD"; NUL-terminated */
	const char *target;
	size_t target_len; /* as sent, e.g. "/launch/notepad.ica?x=1" */
	const char *path;
	size_t path_len; /* target up to '?' */
	const char *query;
	size_t query_len; /* after '?', may be empty */
	unsigned minor;	  /* HTTP/1.minor: 0 or 1 */
	struct hg_http_header headers[HG_HTTP_MAX_HEADERS];
	unsigned n_headers;
	const uint8_t *body;
	size_t body_len; /* Content-Length bytes (0 without one) */
};

/* One complete request at p[0..len).
 *
 * Returns the bytes it used (> 0: the head and Content-Length bytes of
 * body; what follows is not looked at), -2 when the bytes so far are a
 * valid beginning but the request is not complete (need more), or
 * -(HTTP status) when it is bad:
 *   -400 malformed (syntax, bare CR or LF, NUL or other control
 *        characters, obs-fold, whitespace before ':', a target not
 *        starting with '/', an invalid Content-Length or two that differ,
 *        two Host fields, HTTP/1.1 without Host)
 *   -413 body too large (the whole request > HG_HTTP_MAX_REQUEST)
 *   -414 target longer than HG_HTTP_MAX_TARGET
 *   -431 head (request line + headers) > HG_HTTP_MAX_REQUEST, or more
 *        than HG_HTTP_MAX_HEADERS fields
 *   -501 Transfer-Encoding (chunked is not supported) or a method other
 *        than GET, HEAD, POST
 *   -505 a version other than HTTP/1.0 and HTTP/1.1
 * Errors are decided by the bytes seen so far: a request is rejected as
 * soon as its bytes cannot start a valid one, and more bytes never turn a
 * rejection into -2 or success. Every proper prefix of a valid request is
 * -2. Never reads p[len] or beyond. *r is meaningful only on success. */
int hg_http_parse(const uint8_t *p, size_t len, struct hg_http_request *r);

/* The value of the first field called `name` (ASCII case-insensitive), its
 * length in *len (len may be NULL); NULL when there is none. */
const char *hg_http_header(const struct hg_http_request *r, const char *name,
			   size_t *len);

/* The value of cookie `name` (case-sensitive, first match over all Cookie
 * fields, surrounding double quotes removed) into out, NUL-terminated.
 * False when absent or longer than outlen - 1 (out is then ""). */
bool hg_http_cookie(const struct hg_http_request *r, const char *name,
		    char *out, size_t outlen);

/* Field `name` of application/x-www-form-urlencoded data at p[0..len) (a
 * POST body or a query string): the first pair whose decoded name is
 * `name`, its value '+' and %XX decoded into out, NUL-terminated. False
 * when absent, malformed (a bad %XX escape; a value that decodes to NUL
 * or another control character) or longer than outlen - 1; out is then
 * wiped to zeros (it may have held part of a password). A later duplicate
 * never stands in for a first one that failed. `name` is at most 64
 * bytes. */
bool hg_http_form_field(const uint8_t *p, size_t len, const char *name,
			char *out, size_t outlen);

/* A growable output buffer. After an allocation failure `failed` is set
 * and further additions do nothing. Its memory is wiped when it grows or
 * is freed: responses carry session ids and tickets. */
struct hg_buf {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

void hg_buf_init(struct hg_buf *b);
void hg_buf_free(struct hg_buf *b); /* wipes, frees, leaves it empty */
void hg_buf_add(struct hg_buf *b, const void *p, size_t n);
void hg_buf_printf(struct hg_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s, with & < > " ' as character references (text and quoted attributes) */
void hg_buf_html(struct hg_buf *b, const char *s);

/* Appends a whole response to out: "HTTP/1.1 status reason", then
 *   Content-Type (if content_type is not NULL), Content-Length,
 *   Connection: close, Cache-Control: no-store,
 *   X-Content-Type-Options: nosniff, X-Frame-Options: DENY,
 *   Referrer-Policy: same-origin (our own form posts then carry an
 *   Origin the portal can check; other sites get no referrer),
 *   Content-Security-Policy: default-src 'none'; style-src 'self';
 *     img-src 'self'; form-action 'self'; frame-ancestors 'none',
 *   Strict-Transport-Security: max-age=31536000,
 * then `extra` (NULL or header lines each ending in CRLF), a blank line
 * and the body; with head true the body is left out but Content-Length
 * still gives its length (a HEAD answer). No Date (RFC 9110 6.6.1 lets a
 * server without a reliable clock omit it). Returns 0, or -1 on
 * allocation failure or when content_type holds a CR or LF, or extra is
 * not CRLF-terminated lines. */
int hg_http_respond(struct hg_buf *out, int status, const char *content_type,
		    const char *extra, const void *body, size_t body_len,
		    bool head);

/* The reason phrase of a status code ("Not Found"); "Unknown" if none. */
const char *hg_http_reason(int status);

#endif
