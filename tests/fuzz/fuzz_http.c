/* libFuzzer target: a client's bytes to the portal through hg_http_parse,
 * then, for what parses, the field, cookie and form lookups on it; and
 * hg_buf_html on the input as text.
 *
 * Besides memory errors (ASan/UBSan), it abort()s when a property that
 * must hold for any input does not:
 * - the result is a length inside the input or one of -2, -400, -413,
 *   -414, -431, -501, -505;
 * - a request parses again, to the same length and fields, from exactly
 *   its own bytes, and proper prefixes of it are -2 (checked at up to 64
 *   cut points);
 * - a rejection stays the same rejection with more bytes after it;
 * - a parsed request has a known method, a target starting with '/' of at
 *   most HG_HTTP_MAX_TARGET bytes split into path and query, at most
 *   HG_HTTP_MAX_HEADERS fields whose values hold no CR, LF or NUL, a body
 *   inside the input, and a Host field when it is HTTP/1.1;
 * - cookie and form values that come out fit and hold no NUL (forms: no
 *   control character at all);
 * - HTML-escaped text holds no < > " ' and no & that does not start one
 *   of the five references.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool within(const void *p, size_t n, const uint8_t *base, size_t size)
{
	const uint8_t *b = p;

	return b >= base && n <= size && b - base <= (ptrdiff_t)(size - n);
}

static void check_request(const uint8_t *data, size_t used,
			  const struct hg_http_request *r)
{
	unsigned i;
	size_t j;

	check(strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0 ||
	      strcmp(r->method, "POST") == 0);
	check(r->minor <= 1);
	check(within(r->target, r->target_len, data, used));
	check(r->target_len >= 1 && r->target_len <= HG_HTTP_MAX_TARGET);
	check(r->target[0] == '/');
	check(r->path == r->target && r->path_len <= r->target_len);
	check(memchr(r->path, '?', r->path_len) == NULL);
	if (r->path_len < r->target_len)
		check(r->query == r->path + r->path_len + 1 &&
		      r->path_len + 1 + r->query_len == r->target_len);
	else
		check(r->query_len == 0);
	check(r->n_headers <= HG_HTTP_MAX_HEADERS);
	for (i = 0; i < r->n_headers; i++) {
		const struct hg_http_header *h = &r->headers[i];

		check(h->name_len > 0 &&
		      within(h->name, h->name_len, data, used));
		check(within(h->value, h->value_len, data, used));
		for (j = 0; j < h->value_len; j++)
			check(h->value[j] != '\r' && h->value[j] != '\n' &&
			      h->value[j] != '\0');
		if (h->value_len > 0)
			check(h->value[0] != ' ' &&
			      h->value[h->value_len - 1] != ' ');
	}
	check(within(r->body, r->body_len, data, used));
	check(r->body + r->body_len == data + used);
	if (r->minor == 1)
		check(hg_http_header(r, "host", NULL) != NULL);
}

static void check_lookups(const struct hg_http_request *r)
{
	static const char *const fields[] = {"username", "password", "csrf",
					     "a"};
	char out[64], tiny[4];
	size_t i, n;

	(void)hg_http_header(r, "Content-Length", &n);
	(void)hg_http_header(r, "X-Not-There", NULL);
	if (hg_http_cookie(r, "HGSESSION", out, sizeof(out)))
		check(strlen(out) < sizeof(out));
	if (hg_http_cookie(r, "a", tiny, sizeof(tiny)))
		check(strlen(tiny) < sizeof(tiny));
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const uint8_t *q = (const uint8_t *)r->query;
		size_t k;

		if (hg_http_form_field(r->body, r->body_len, fields[i], out,
				       sizeof(out))) {
			for (k = 0; out[k] != '\0'; k++)
				check((uint8_t)out[k] >= 0x20 &&
				      out[k] != 0x7f);
			check(k < sizeof(out));
		}
		if (hg_http_form_field(q, r->query_len, fields[i], tiny,
				       sizeof(tiny)))
			check(strlen(tiny) < sizeof(tiny));
	}
}

/* The same rejection with bytes appended (a copy: ASan sees overreads). */
static void check_extended(const uint8_t *data, size_t size, int rc)
{
	static const char tail[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct hg_http_request r;
	uint8_t *p = malloc(size + sizeof(tail));

	check(p != NULL);
	memcpy(p, data, size);
	memcpy(p + size, tail, sizeof(tail));
	check(hg_http_parse(p, size + sizeof(tail), &r) == rc);
	free(p);
}

static void check_prefixes(const uint8_t *data, size_t used)
{
	struct hg_http_request r;
	size_t step = used / 64 + 1, cut;

	for (cut = 0; cut < used; cut += step) {
		uint8_t *p = malloc(cut + 1);

		check(p != NULL);
		memcpy(p, data, cut);
		check(hg_http_parse(p, cut, &r) == -2);
		free(p);
	}
	if (used > 0)
		check(hg_http_parse(data, used - 1, &r) == -2);
}

static void check_html(const uint8_t *data, size_t size)
{
	static const char *const refs[] = {"&amp;", "&lt;", "&gt;", "&quot;",
					   "&#39;"};
	char *s = malloc(size + 1);
	struct hg_buf b;
	size_t i, k;

	check(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	hg_buf_init(&b);
	hg_buf_html(&b, s);
	check(!b.failed);
	for (i = 0; i < b.len; i++) {
		check(b.p[i] != '<' && b.p[i] != '>' && b.p[i] != '"' &&
		      b.p[i] != '\'');
		if (b.p[i] != '&')
			continue;
		for (k = 0; k < 5; k++)
			if (b.len - i >= strlen(refs[k]) &&
			    memcmp(b.p + i, refs[k], strlen(refs[k])) == 0)
				break;
		check(k < 5);
	}
	hg_buf_free(&b);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_http_request r, again;
	int rc;

	rc = hg_http_parse(data, size, &r);
	check(rc == -2 || rc == -400 || rc == -413 || rc == -414 ||
	      rc == -431 || rc == -501 || rc == -505 ||
	      (rc > 0 && (size_t)rc <= size));
	if (rc > 0) {
		check_request(data, (size_t)rc, &r);
		check(hg_http_parse(data, (size_t)rc, &again) == rc);
		check(again.n_headers == r.n_headers &&
		      again.body_len == r.body_len &&
		      again.target_len == r.target_len &&
		      strcmp(again.method, r.method) == 0);
		check_prefixes(data, (size_t)rc);
		check_lookups(&r);
	} else if (rc != -2) {
		check_extended(data, size, rc);
	}
	check_html(data, size);
	return 0;
}
