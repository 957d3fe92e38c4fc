/* HTTP/1.1 request parser and response builder for the portal. See http.h
 * for the contract. */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Content-Length values above this are all "too large" alike. */
#define CL_SATURATED ((size_t)HG_HTTP_MAX_REQUEST + 1)

/* RFC 9110 5.6.2 token characters. */
static bool is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 'a' - 'A') : c;
}

/* a[0..n) equals the NUL-terminated b, ignoring ASCII case. */
static bool ascii_case_eq(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] == '\0' ||
		    lower((uint8_t)a[i]) != lower((uint8_t)b[i]))
			return false;
	return b[n] == '\0';
}

/* 1*DIGIT, saturated at CL_SATURATED; -1 when not that. */
static int content_length(const char *v, size_t n, size_t *out)
{
	size_t i, x = 0;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (size_t)(v[i] - '0');
		if (x > CL_SATURATED)
			x = CL_SATURATED;
	}
	*out = x;
	return 0;
}

/* The byte at p[i] must exist: -431 once the head outgrows the limit
 * (decided by position, so more bytes cannot undo it), -2 when the input
 * ends first. */
#define NEED_BYTE()                                                            \
	do {                                                                   \
		if (i >= HG_HTTP_MAX_REQUEST)                                  \
			return -431;                                           \
		if (i >= len)                                                  \
			return -2;                                             \
	} while (0)

/* CR LF at p[i], consumed. */
#define EXPECT_CRLF()                                                          \
	do {                                                                   \
		NEED_BYTE();                                                   \
		if (p[i] != '\r')                                              \
			return -400;                                           \
		i++;                                                           \
		NEED_BYTE();                                                   \
		if (p[i] != '\n')                                              \
			return -400;                                           \
		i++;                                                           \
	} while (0)

/* Acts on the fields that decide framing and validity as they arrive. */
static int field_seen(const struct hg_http_header *h, bool *have_cl, size_t *cl,
		      bool *have_host)
{
	size_t v;

	if (ascii_case_eq(h->name, h->name_len, "transfer-encoding"))
		return -501;
	if (ascii_case_eq(h->name, h->name_len, "content-length")) {
		if (content_length(h->value, h->value_len, &v) < 0)
			return -400;
		if (*have_cl && v != *cl)
			return -400;
		*have_cl = true;
		*cl = v;
	} else if (ascii_case_eq(h->name, h->name_len, "host")) {
		if (*have_host)
			return -400;
		*have_host = true;
	}
	return 0;
}

int hg_http_parse(const uint8_t *p, size_t len, struct hg_http_request *r)
{
	static const char *const methods[] = {"GET", "HEAD", "POST"};
	static const char http_slash[] = "HTTP/";
	size_t i = 0, start, n, cl = 0, k;
	bool have_cl = false, have_host = false, known = false;
	const char *q;
	uint8_t c;
	int rc;

	memset(r, 0, sizeof(*r));

	/* Empty lines before the request line are ignored. */
	for (;;) {
		NEED_BYTE();
		if (p[i] != '\r' && p[i] != '\n')
			break;
		EXPECT_CRLF();
	}

	/* method SP */
	start = i;
	for (;;) {
		NEED_BYTE();
		c = p[i];
		if (c == ' ')
			break;
		if (!is_tchar(c))
			return -400;
		if (i - start >= sizeof(r->method) - 1)
			return -501; /* longer than any method served */
		i++;
	}
	n = i - start;
	if (n == 0)
		return -400;
	memcpy(r->method, p + start, n);
	for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
		if (strcmp(r->method, methods[k]) == 0)
			known = true;
	if (!known)
		return -501;
	i++;

	/* request-target SP: origin-form, visible ASCII */
	start = i;
	for (;;) {
		NEED_BYTE();
		c = p[i];
		if (i == start && c != '/')
			return -400;
		if (c == ' ')
			break;
		if (c <= 0x20 || c >= 0x7f)
			return -400;
		if (i - start >= HG_HTTP_MAX_TARGET)
			return -414;
		i++;
	}
	r->target = (const char *)p + start;
	r->target_len = i - start;
	i++;

	/* HTTP-version CRLF */
	for (k = 0; k < 5; k++) {
		NEED_BYTE();
		if (p[i] != (uint8_t)http_slash[k])
			return -400;
		i++;
	}
	NEED_BYTE();
	c = p[i];
	if (c < '0' || c > '9')
		return -400;
	i++;
	NEED_BYTE();
	if (p[i] != '.')
		return -400;
	i++;
	NEED_BYTE();
	if (p[i] < '0' || p[i] > '9')
		return -400;
	if (c != '1' || p[i] > '1')
		return -505;
	r->minor = (unsigned)(p[i] - '0');
	i++;
	EXPECT_CRLF();

	/* *( field-name ":" OWS field-value OWS CRLF ) CRLF */
	for (;;) {
		struct hg_http_header *h;
		size_t vend;

		NEED_BYTE();
		c = p[i];
		if (c == '\r' || c == '\n') {
			EXPECT_CRLF();
			break;
		}
		if (!is_tchar(c))
			return -400; /* obs-fold, or no name */
		if (r->n_headers == HG_HTTP_MAX_HEADERS)
			return -431;
		h = &r->headers[r->n_headers];
		start = i;
		for (;;) {
			NEED_BYTE();
			c = p[i];
			if (c == ':')
				break;
			if (!is_tchar(c))
				return -400; /* whitespace before ':' too */
			i++;
		}
		h->name = (const char *)p + start;
		h->name_len = i - start;
		i++;
		for (;;) {
			NEED_BYTE();
			if (p[i] != ' ' && p[i] != '\t')
				break;
			i++;
		}
		start = vend = i;
		for (;;) {
			NEED_BYTE();
			c = p[i];
			if (c == '\r' || c == '\n')
				break;
			i++;
			if (c == ' ' || c == '\t')
				continue;
			if (c < 0x20 || c == 0x7f)
				return -400;
			vend = i;
		}
		h->value = (const char *)p + start;
		h->value_len = vend - start;
		EXPECT_CRLF();
		r->n_headers++;
		rc = field_seen(h, &have_cl, &cl, &have_host);
		if (rc < 0)
			return rc;
	}
	if (r->minor == 1 && !have_host)
		return -400;

	/* body */
	if (cl > HG_HTTP_MAX_REQUEST - i)
		return -413;
	if (len - i < cl)
		return -2;
	r->body = p + i;
	r->body_len = cl;

	q = memchr(r->target, '?', r->target_len);
	r->path = r->target;
	r->path_len = q != NULL ? (size_t)(q - r->target) : r->target_len;
	r->query = q != NULL ? q + 1 : r->target + r->target_len;
	r->query_len = r->target_len - r->path_len - (q != NULL ? 1 : 0);
	return (int)(i + cl);
}

const char *hg_http_header(const struct hg_http_request *r, const char *name,
			   size_t *len)
{
	unsigned i;

	for (i = 0; i < r->n_headers; i++) {
		const struct hg_http_header *h = &r->headers[i];

		if (ascii_case_eq(h->name, h->name_len, name)) {
			if (len != NULL)
				*len = h->value_len;
			return h->value;
		}
	}
	return NULL;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The cookie `name` in one Cookie field value v[0..n): 1 copied, 0 absent,
 * -1 present but too long. */
static int cookie_in(const char *v, size_t n, const char *name, size_t name_len,
		     char *out, size_t outlen)
{
	size_t pos = 0;

	while (pos < n) {
		const char *pair = v + pos, *semi, *eq, *val;
		size_t plen, klen, vlen;

		semi = memchr(pair, ';', n - pos);
		plen = semi != NULL ? (size_t)(semi - pair) : n - pos;
		pos += plen + 1;
		while (plen > 0 && is_ows(pair[0])) {
			pair++;
			plen--;
		}
		while (plen > 0 && is_ows(pair[plen - 1]))
			plen--;
		eq = memchr(pair, '=', plen);
		if (eq == NULL)
			continue;
		klen = (size_t)(eq - pair);
		while (klen > 0 && is_ows(pair[klen - 1]))
			klen--;
		if (klen != name_len || memcmp(pair, name, klen) != 0)
			continue;
		val = eq + 1;
		vlen = plen - (size_t)(val - pair);
		while (vlen > 0 && is_ows(val[0])) {
			val++;
			vlen--;
		}
		if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
			val++;
			vlen -= 2;
		}
		if (vlen >= outlen)
			return -1;
		memcpy(out, val, vlen);
		out[vlen] = '\0';
		return 1;
	}
	return 0;
}

bool hg_http_cookie(const struct hg_http_request *r, const char *name,
		    char *out, size_t outlen)
{
	size_t name_len = strlen(name);
	unsigned i;
	int rc;

	if (outlen == 0)
		return false;
	out[0] = '\0';
	if (name_len == 0)
		return false;
	for (i = 0; i < r->n_headers; i++) {
		const struct hg_http_header *h = &r->headers[i];

		if (!ascii_case_eq(h->name, h->name_len, "cookie"))
			continue;
		rc = cookie_in(h->value, h->value_len, name, name_len, out,
			       outlen);
		if (rc != 0)
			return rc > 0;
	}
	return false;
}

static int hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes s[0..n) ('+' is a space, %XX a byte) into out[0..cap): the
 * decoded length, -1 when malformed (bad escape, NUL or a control
 * character), -2 when it does not fit in cap bytes. */
static long form_decode(const uint8_t *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi, lo;

			if (n - i < 3)
				return -1;
			hi = hex_value(s[i + 1]);
			lo = hex_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (o == cap)
			return -2;
		out[o++] = (char)c;
	}
	return (long)o;
}

bool hg_http_form_field(const uint8_t *p, size_t len, const char *name,
			char *out, size_t outlen)
{
	size_t name_len = strlen(name), pos = 0;
	char key[64];

	if (outlen == 0)
		return false;
	while (pos < len) {
		const uint8_t *pair = p + pos, *amp, *eq;
		size_t plen, klen;
		long n;

		amp = memchr(pair, '&', len - pos);
		plen = amp != NULL ? (size_t)(amp - pair) : len - pos;
		pos += plen + 1;
		eq = memchr(pair, '=', plen);
		klen = eq != NULL ? (size_t)(eq - pair) : plen;
		/* Names are compared decoded; a name that does not decode or
		 * is longer than ours is some other field. */
		n = form_decode(pair, klen, key,
				name_len < sizeof(key) ? name_len
						       : sizeof(key));
		if (n < 0 || (size_t)n != name_len ||
		    memcmp(key, name, name_len) != 0)
			continue;
		if (eq == NULL) {
			out[0] = '\0';
			return true;
		}
		n = form_decode(eq + 1, plen - klen - 1, out, outlen - 1);
		if (n < 0)
			break;
		out[n] = '\0';
		return true;
	}
	explicit_bzero(out, outlen);
	return false;
}

void hg_buf_init(struct hg_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void hg_buf_free(struct hg_buf *b)
{
	if (b->p != NULL) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	memset(b, 0, sizeof(*b));
}

/* Room for n more bytes. Grows by a fresh block and wipes the old one
 * (realloc would leave its copy of the contents behind). */
static bool buf_room(struct hg_buf *b, size_t n)
{
	size_t cap;
	uint8_t *np;

	if (b->failed)
		return false;
	if (b->cap - b->len >= n)
		return true;
	if (n > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return false;
	}
	cap = b->cap != 0 ? b->cap : 256;
	while (cap - b->len < n)
		cap *= 2;
	np = malloc(cap);
	if (np == NULL) {
		b->failed = true;
		return false;
	}
	if (b->p != NULL) {
		memcpy(np, b->p, b->len);
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = cap;
	return true;
}

void hg_buf_add(struct hg_buf *b, const void *p, size_t n)
{
	if (n == 0 || !buf_room(b, n))
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void hg_buf_printf(struct hg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	/* vsnprintf writes a NUL after the text: room for it too */
	if (!buf_room(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void hg_buf_html(struct hg_buf *b, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *ref;

		switch (*s) {
		case '&':
			ref = "&amp;";
			break;
		case '<':
			ref = "&lt;";
			break;
		case '>':
			ref = "&gt;";
			break;
		case '"':
			ref = "&quot;";
			break;
		case '\'':
			ref = "&#39;";
			break;
		default:
			continue;
		}
		hg_buf_add(b, run, (size_t)(s - run));
		hg_buf_add(b, ref, strlen(ref));
		run = s + 1;
	}
	hg_buf_add(b, run, (size_t)(s - run));
}

/* Header lines each ending in CRLF, no bare CR or LF, no empty line. */
static bool header_lines_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0)
		return true;
	if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n' || s[0] == '\r')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '\r' && s[i + 1] != '\n')
			return false;
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return false;
		if (s[i] == '\n' && s[i + 1] == '\r')
			return false; /* an empty line would end the head */
	}
	return true;
}

int hg_http_respond(struct hg_buf *out, int status, const char *content_type,
		    const char *extra, const void *body, size_t body_len,
		    bool head)
{
	if (content_type != NULL && strpbrk(content_type, "\r\n") != NULL)
		return -1;
	if (extra != NULL && !header_lines_ok(extra))
		return -1;
	hg_buf_printf(out, "HTTP/1.1 %d %s\r\n", status,
		      hg_http_reason(status));
	if (content_type != NULL)
		hg_buf_printf(out, "Content-Type: %s\r\n", content_type);
	hg_buf_printf(out,
		      "Content-Length: %zu\r\n"
		      "Connection: close\r\n"
		      "Cache-Control: no-store\r\n"
		      "X-Content-Type-Options: nosniff\r\n"
		      "X-Frame-Options: DENY\r\n"
		      "Referrer-Policy: same-origin\r\n"
		      "Content-Security-Policy: default-src 'none'; "
		      "style-src 'self'; img-src 'self'; form-action 'self'; "
		      "frame-ancestors 'none'\r\n"
		      "Strict-Transport-Security: max-age=31536000\r\n",
		      body_len);
	if (extra != NULL)
		hg_buf_add(out, extra, strlen(extra));
	hg_buf_add(out, "\r\n", 2);
	if (!head && body_len > 0)
		hg_buf_add(out, body, body_len);
	return out->failed ? -1 : 0;
}

const char *hg_http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Found";
	case 303:
		return "See Other";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}
