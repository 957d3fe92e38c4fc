/* The portal's HTTP/1.1 parser and response builder: good GET, POST and
 * HEAD requests, pipelined bytes, every split point of valid requests,
 * each rejection with its status, field lookup, cookies, form decoding,
 * the output buffer and the exact bytes of responses. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

static int parse(const char *s, struct hg_http_request *r)
{
	return hg_http_parse((const uint8_t *)s, strlen(s), r);
}

static bool span_is(const char *p, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* Requests the parser takes whole, for the split-point tests. */
static const char *const good[] = {
    "GET / HTTP/1.1\r\nHost: gw.lab\r\n\r\n",
    "GET /launch/notepad.ica?x=1 HTTP/1.1\r\nHost: gw.lab\r\n"
    "Cookie: HGSESSION=abc\r\nAccept: */*\r\n\r\n",
    "POST /login HTTP/1.1\r\nHost: gw.lab\r\nContent-Type: "
    "application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\n"
    "username=alice&password=s3cr%",
    "HEAD /style.css HTTP/1.0\r\n\r\n",
    "\r\n\r\nGET / HTTP/1.1\r\nHost:gw\r\nX-Empty:\r\n\r\n",
    "POST /logout HTTP/1.1\r\nHost: gw\r\nContent-Length: 0\r\n\r\n",
};

Test(http, get_request)
{
	const char *s = "GET /resources HTTP/1.1\r\nHost: gw.lab\r\n"
			"Cookie: HGSESSION=abc\r\n\r\n";
	struct hg_http_request r;

	cr_assert_eq(parse(s, &r), (int)strlen(s));
	cr_assert_str_eq(r.method, "GET");
	cr_assert(span_is(r.target, r.target_len, "/resources"));
	cr_assert(span_is(r.path, r.path_len, "/resources"));
	cr_assert_eq(r.query_len, 0);
	cr_assert_eq(r.minor, 1);
	cr_assert_eq(r.n_headers, 2);
	cr_assert(span_is(r.headers[0].name, r.headers[0].name_len, "Host"));
	cr_assert(
	    span_is(r.headers[0].value, r.headers[0].value_len, "gw.lab"));
	cr_assert(span_is(r.headers[1].name, r.headers[1].name_len, "Cookie"));
	cr_assert_eq(r.body_len, 0);
	/* pointers into the input */
	cr_assert_eq(r.target, s + 4);
}

Test(http, target_path_and_query)
{
	struct hg_http_request r;

	cr_assert_gt(parse("GET /launch/notepad.ica?x=1&y=2 HTTP/1.1\r\n"
			   "Host: a\r\n\r\n",
			   &r),
		     0);
	cr_assert(
	    span_is(r.target, r.target_len, "/launch/notepad.ica?x=1&y=2"));
	cr_assert(span_is(r.path, r.path_len, "/launch/notepad.ica"));
	cr_assert(span_is(r.query, r.query_len, "x=1&y=2"));

	cr_assert_gt(parse("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n", &r), 0);
	cr_assert(span_is(r.path, r.path_len, "/a"));
	cr_assert_eq(r.query_len, 0);

	cr_assert_gt(parse("GET /?a=b?c HTTP/1.1\r\nHost: a\r\n\r\n", &r), 0);
	cr_assert(span_is(r.path, r.path_len, "/"));
	cr_assert(span_is(r.query, r.query_len, "a=b?c"));
}

Test(http, post_with_body)
{
	const char *s = "POST /login HTTP/1.1\r\nHost: gw\r\n"
			"Content-Type: application/x-www-form-urlencoded\r\n"
			"Content-Length: 30\r\n\r\n"
			"username=alice&password=secret";
	struct hg_http_request r;

	cr_assert_eq(parse(s, &r), (int)strlen(s));
	cr_assert_str_eq(r.method, "POST");
	cr_assert_eq(r.body_len, 30);
	cr_assert_eq((const char *)r.body, s + strlen(s) - 30);
	cr_assert(span_is((const char *)r.body, r.body_len,
			  "username=alice&password=secret"));
}

Test(http, head_and_http10_without_host)
{
	struct hg_http_request r;
	const char *s = "HEAD /style.css HTTP/1.0\r\n\r\n";

	cr_assert_eq(parse(s, &r), (int)strlen(s));
	cr_assert_str_eq(r.method, "HEAD");
	cr_assert_eq(r.minor, 0);
	cr_assert_eq(r.n_headers, 0);
}

Test(http, whitespace_around_values_trimmed)
{
	struct hg_http_request r;

	cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: \t gw.lab \t \r\n"
			   "X-Inner:  a  b \r\nX-Empty:   \r\n\r\n",
			   &r),
		     0);
	cr_assert(
	    span_is(r.headers[0].value, r.headers[0].value_len, "gw.lab"));
	cr_assert(span_is(r.headers[1].value, r.headers[1].value_len, "a  b"));
	cr_assert_eq(r.headers[2].value_len, 0);
}

Test(http, leading_empty_lines_skipped)
{
	const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct hg_http_request r;

	cr_assert_eq(parse(s, &r), (int)strlen(s));
	cr_assert_eq(r.target, s + 8);
}

Test(http, obs_text_in_value_accepted)
{
	struct hg_http_request r;

	cr_assert_gt(parse("GET / HTTP/1.1\r\nHost: a\r\n"
			   "X-Name: J\xc3\xbcrgen\r\n\r\n",
			   &r),
		     0);
}

Test(http, pipelined_returns_bytes_used)
{
	const char *one = "POST /login HTTP/1.1\r\nHost: a\r\n"
			  "Content-Length: 3\r\n\r\nabc";
	const char *two = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	char both[256];
	struct hg_http_request r;
	int n;

	snprintf(both, sizeof(both), "%s%s", one, two);
	n = parse(both, &r);
	cr_assert_eq(n, (int)strlen(one));
	cr_assert(span_is((const char *)r.body, r.body_len, "abc"));
	cr_assert_eq(parse(both + n, &r), (int)strlen(two));
	cr_assert_str_eq(r.method, "GET");

	/* garbage after a whole request is not looked at */
	snprintf(both, sizeof(both), "%s\x01\x02garbage", two);
	cr_assert_eq(parse(both, &r), (int)strlen(two));
}

Test(http, every_split_point_is_incomplete)
{
	struct hg_http_request r;
	size_t i, cut, len;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		len = strlen(good[i]);
		cr_assert_eq(hg_http_parse((const uint8_t *)good[i], len, &r),
			     (int)len, "good[%zu]", i);
		for (cut = 0; cut < len; cut++) {
			/* a copy of exactly cut bytes, so ASan sees any read
			 * past the end */
			uint8_t *p = malloc(cut ? cut : 1);

			cr_assert_not_null(p);
			memcpy(p, good[i], cut);
			cr_assert_eq(hg_http_parse(p, cut, &r), -2,
				     "good[%zu] cut at %zu", i, cut);
			free(p);
		}
	}
}

struct bad_case {
	const char *in;
	size_t len; /* 0: strlen */
	int want;
};

#define REQ(line, fields) line "\r\nHost: a\r\n" fields "\r\n"

static const struct bad_case bad[] = {
    /* line ends */
    {"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 0, -400},
    {"GET / HTTP/1.1\nHost: a\n\n", 0, -400},
    {"GET / HTTP/1.1\r\nHost: a\n\r\n", 0, -400},
    {"GET / HTTP/1.1\r\nHost: a\r\n\n", 0, -400},
    {"GET / HTTP/1.1\r\nHost: a\r\n\r\r", 0, -400},
    {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, -400},
    {"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, -400},
    /* NUL and control characters */
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 35, -400},
    {"GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 28, -400},
    {REQ("GET / HTTP/1.1", "X: a\x01z\r\n"), 0, -400},
    {REQ("GET / HTTP/1.1", "X: a\x7fz\r\n"), 0, -400},
    {REQ("GET / HTTP/1.1", "X: a\x1b[0m\r\n"), 0, -400},
    /* obs-fold, whitespace before ':', names */
    {REQ("GET / HTTP/1.1", "X: b\r\n c\r\n"), 0, -400},
    {REQ("GET / HTTP/1.1", "X: b\r\n\tc\r\n"), 0, -400},
    {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 0, -400},
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, -400},
    {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 0, -400},
    {REQ("GET / HTTP/1.1", ": a\r\n"), 0, -400},
    {REQ("GET / HTTP/1.1", "No colon here\r\n"), 0, -400},
    {REQ("GET / HTTP/1.1", "Nocolon\r\n"), 0, -400},
    {REQ("GET / HTTP/1.1", "X(y): 1\r\n"), 0, -400},
    /* Content-Length */
    {REQ("POST / HTTP/1.1", "Content-Length: 3\r\nContent-Length: 4\r\n"), 0,
     -400},
    {REQ("POST / HTTP/1.1", "Content-Length: abc\r\n"), 0, -400},
    {REQ("POST / HTTP/1.1", "Content-Length: -1\r\n"), 0, -400},
    {REQ("POST / HTTP/1.1", "Content-Length: +1\r\n"), 0, -400},
    {REQ("POST / HTTP/1.1", "Content-Length:\r\n"), 0, -400},
    {REQ("POST / HTTP/1.1", "Content-Length: 1 2\r\n"), 0, -400},
    {REQ("POST / HTTP/1.1", "Content-Length: 3,3\r\n"), 0, -400},
    {REQ("POST / HTTP/1.1", "Content-Length: 0x10\r\n"), 0, -400},
    /* Host */
    {"GET / HTTP/1.1\r\n\r\n", 0, -400},
    {"GET / HTTP/1.1\r\nX: y\r\n\r\n", 0, -400},
    {REQ("GET / HTTP/1.1", "HOST: b\r\n"), 0, -400},
    /* Transfer-Encoding */
    {REQ("POST / HTTP/1.1", "Transfer-Encoding: chunked\r\n"), 0, -501},
    {REQ("POST / HTTP/1.1",
	 "Content-Length: 5\r\ntransfer-encoding: chunked\r\n"),
     0, -501},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: gzip\r\n\r\n", 0, -501},
    /* methods */
    {REQ("PUT / HTTP/1.1", ""), 0, -501},
    {REQ("get / HTTP/1.1", ""), 0, -501},
    {REQ("OPTIONS / HTTP/1.1", ""), 0, -501},
    {REQ("DELETEME / HTTP/1.1", ""), 0, -501},
    {REQ("CONNECT / HTTP/1.1", ""), 0, -501},
    {REQ("G(T / HTTP/1.1", ""), 0, -400},
    {REQ(" GET / HTTP/1.1", ""), 0, -400},
    /* versions */
    {REQ("GET / HTTP/2.0", ""), 0, -505},
    {REQ("GET / HTTP/1.2", ""), 0, -505},
    {REQ("GET / HTTP/0.9", ""), 0, -505},
    {REQ("GET / HTTP/1.1x", ""), 0, -400},
    {REQ("GET / HTTP/1.", ""), 0, -400},
    {REQ("GET / HTTP/1", ""), 0, -400},
    {REQ("GET / HTTP/11.1", ""), 0, -400},
    {REQ("GET / HTTX/1.1", ""), 0, -400},
    {REQ("GET / http/1.1", ""), 0, -400},
    {REQ("GET /", ""), 0, -400},
    {REQ("GET / HTTP/1.1 ", ""), 0, -400},
    /* targets */
    {REQ("GET http://a/ HTTP/1.1", ""), 0, -400},
    {REQ("GET * HTTP/1.1", ""), 0, -400},
    {REQ("GET  / HTTP/1.1", ""), 0, -400},
    {REQ("GET /a\xff HTTP/1.1", ""), 0, -400},
    {REQ("GET /a\tb HTTP/1.1", ""), 0, -400},
};

Test(http, rejections)
{
	struct hg_http_request r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].in);
		uint8_t *p = malloc(len);

		cr_assert_not_null(p);
		memcpy(p, bad[i].in, len);
		cr_expect_eq(hg_http_parse(p, len, &r), bad[i].want,
			     "bad[%zu] gave %d, want %d", i,
			     hg_http_parse(p, len, &r), bad[i].want);
		free(p);
	}
}

Test(http, errors_decided_before_the_end)
{
	struct hg_http_request r;

	cr_assert_eq(parse("PUT ", &r), -501);
	cr_assert_eq(parse("POSTMAN", &r), -2); /* 7 fit in method[] */
	cr_assert_eq(parse("POSTMANX", &r), -501);
	cr_assert_eq(parse("GET /\x01", &r), -400);
	cr_assert_eq(parse("GET / HTTP/2.0\r", &r), -505);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nX: \x02", &r), -400);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nHost:", &r), -2);
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n", &r),
		     -400);
	cr_assert_eq(
	    parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n", &r),
	    -501);
}

Test(http, equal_duplicate_content_length_accepted)
{
	const char *s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
			"content-length: 2\r\n\r\nok";
	struct hg_http_request r;

	cr_assert_eq(parse(s, &r), (int)strlen(s));
	cr_assert_eq(r.body_len, 2);
}

/* "GET /" + path of n bytes in all */
static char *request_with_target(size_t n)
{
	size_t head = strlen("GET "), len = head + n + 64;
	char *s = malloc(len);

	cr_assert_not_null(s);
	memcpy(s, "GET /", 5);
	memset(s + 5, 'a', n - 1);
	snprintf(s + head + n, len - head - n, " HTTP/1.1\r\nHost: a\r\n\r\n");
	return s;
}

Test(http, target_length_limit)
{
	struct hg_http_request r;
	char *s;

	s = request_with_target(HG_HTTP_MAX_TARGET);
	cr_assert_eq(parse(s, &r), (int)strlen(s));
	cr_assert_eq(r.target_len, HG_HTTP_MAX_TARGET);
	free(s);
	s = request_with_target(HG_HTTP_MAX_TARGET + 1);
	cr_assert_eq(parse(s, &r), -414);
	/* decided without the rest of the request */
	cr_assert_eq(
	    hg_http_parse((const uint8_t *)s, 4 + HG_HTTP_MAX_TARGET + 1, &r),
	    -414);
	free(s);
}

/* A POST whose Content-Length makes the request exactly `total` bytes. */
static char *request_of_size(size_t total, size_t *head_out)
{
	char head[128];
	char *s;
	int h;
	size_t body;

	/* the Content-Length value has 5 digits for totals near the limit */
	h = snprintf(head, sizeof(head),
		     "POST /login HTTP/1.1\r\nHost: a\r\n"
		     "Content-Length: %05zu\r\n\r\n",
		     (size_t)0);
	body = total - (size_t)h;
	snprintf(head, sizeof(head),
		 "POST /login HTTP/1.1\r\nHost: a\r\n"
		 "Content-Length: %05zu\r\n\r\n",
		 body);
	s = malloc(total);
	cr_assert_not_null(s);
	memcpy(s, head, (size_t)h);
	memset(s + h, 'x', body);
	*head_out = (size_t)h;
	return s;
}

Test(http, body_limit)
{
	struct hg_http_request r;
	size_t head;
	char *s;

	s = request_of_size(HG_HTTP_MAX_REQUEST, &head);
	cr_assert_eq(hg_http_parse((const uint8_t *)s, HG_HTTP_MAX_REQUEST, &r),
		     HG_HTTP_MAX_REQUEST);
	cr_assert_eq(r.body_len, HG_HTTP_MAX_REQUEST - head);
	free(s);
	s = request_of_size(HG_HTTP_MAX_REQUEST + 1, &head);
	/* refused as soon as the head is in, before any body byte */
	cr_assert_eq(hg_http_parse((const uint8_t *)s, head, &r), -413);
	free(s);
	cr_assert_eq(parse(REQ("POST / HTTP/1.1",
			       "Content-Length: 99999999999999999999999\r\n"),
			   &r),
		     -413);
}

Test(http, header_count_limit)
{
	char s[4096];
	struct hg_http_request r;
	size_t n;
	unsigned i;

	n = (size_t)snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < HG_HTTP_MAX_HEADERS; i++)
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-%u: %u\r\n", i,
				      i);
	snprintf(s + n, sizeof(s) - n, "\r\n");
	cr_assert_eq(parse(s, &r), (int)(n + 2));
	cr_assert_eq(r.n_headers, HG_HTTP_MAX_HEADERS);
	snprintf(s + n, sizeof(s) - n, "X-Last: 1\r\n\r\n");
	cr_assert_eq(parse(s, &r), -431);
}

Test(http, head_size_limit)
{
	struct hg_http_request r;
	size_t len = HG_HTTP_MAX_REQUEST + 100;
	char *s = malloc(len);
	int h;

	cr_assert_not_null(s);
	h = snprintf(s, len, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(s + h, 'v', len - (size_t)h);
	/* a head that never ends is refused once it passes the limit */
	cr_assert_eq(
	    hg_http_parse((const uint8_t *)s, HG_HTTP_MAX_REQUEST - 1, &r), -2);
	cr_assert_eq(hg_http_parse((const uint8_t *)s, len, &r), -431);
	memcpy(s + len - 4, "\r\n\r\n", 4);
	cr_assert_eq(hg_http_parse((const uint8_t *)s, len, &r), -431);
	free(s);
}

Test(http, header_lookup)
{
	struct hg_http_request r;
	const char *v;
	size_t n = 99;

	cr_assert_gt(
	    parse("GET / HTTP/1.1\r\nHost: gw\r\nX-Twice: first\r\n"
		  "x-twice: second\r\nCONTENT-type: text/plain\r\n\r\n",
		  &r),
	    0);
	v = hg_http_header(&r, "x-TWICE", &n);
	cr_assert_not_null(v);
	cr_assert(span_is(v, n, "first"));
	v = hg_http_header(&r, "content-type", &n);
	cr_assert(span_is(v, n, "text/plain"));
	cr_assert_not_null(hg_http_header(&r, "HOST", NULL));
	cr_assert_null(hg_http_header(&r, "X-Twic", &n));
	cr_assert_null(hg_http_header(&r, "X-Twice2", &n));
	cr_assert_null(hg_http_header(&r, "Cookie", &n));
}

static bool cookie_of(const char *fields, const char *name, char *out,
		      size_t outlen)
{
	static char s[1024];
	struct hg_http_request r;

	snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n", fields);
	cr_assert_gt(parse(s, &r), 0, "%s", fields);
	return hg_http_cookie(&r, name, out, outlen);
}

Test(http, cookies)
{
	char v[16];

	cr_assert(cookie_of("Cookie: a=1; HGSESSION=abc; b=2\r\n", "HGSESSION",
			    v, sizeof(v)));
	cr_assert_str_eq(v, "abc");
	cr_assert(cookie_of("Cookie: a=1; HGSESSION=abc; b=2\r\n", "b", v,
			    sizeof(v)));
	cr_assert_str_eq(v, "2");
	cr_assert(cookie_of("Cookie: a=1;b=2;c=3\r\n", "c", v, sizeof(v)));
	cr_assert_str_eq(v, "3");
	/* spaces around pairs and the '=' */
	cr_assert(cookie_of("Cookie:   a=1 ;   HGSESSION = x y  ;\r\n",
			    "HGSESSION", v, sizeof(v)));
	cr_assert_str_eq(v, "x y");
	/* several Cookie fields */
	cr_assert(cookie_of("Cookie: a=1\r\nX: y\r\ncookie: k=v\r\n", "k", v,
			    sizeof(v)));
	cr_assert_str_eq(v, "v");
	/* first match wins */
	cr_assert(cookie_of("Cookie: k=1; k=2\r\nCookie: k=3\r\n", "k", v,
			    sizeof(v)));
	cr_assert_str_eq(v, "1");
	/* names are exact and case-sensitive; prefixes do not match */
	cr_assert(cookie_of("Cookie: HGSESSIONX=1; XHGSESSION=2; "
			    "hgsession=3; HGSESSION=4\r\n",
			    "HGSESSION", v, sizeof(v)));
	cr_assert_str_eq(v, "4");
	/* quoted value, empty value, pair without '=' */
	cr_assert(cookie_of("Cookie: q=\"quoted\"\r\n", "q", v, sizeof(v)));
	cr_assert_str_eq(v, "quoted");
	cr_assert(cookie_of("Cookie: e=; f=1\r\n", "e", v, sizeof(v)));
	cr_assert_str_eq(v, "");
	cr_assert(cookie_of("Cookie: junk; g=1\r\n", "g", v, sizeof(v)));
	cr_assert_str_eq(v, "1");
}

Test(http, cookie_missing_or_too_long)
{
	char v[8];

	memset(v, 'z', sizeof(v));
	cr_assert_not(
	    cookie_of("Cookie: a=1; b=2\r\n", "HGSESSION", v, sizeof(v)));
	cr_assert_str_eq(v, "");
	cr_assert_not(
	    cookie_of("X: HGSESSION=1\r\n", "HGSESSION", v, sizeof(v)));
	cr_assert_not(cookie_of("Cookie: junk\r\n", "junk", v, sizeof(v)));
	/* 7 bytes fit in 8, 8 do not */
	cr_assert(cookie_of("Cookie: k=1234567\r\n", "k", v, sizeof(v)));
	cr_assert_str_eq(v, "1234567");
	cr_assert_not(cookie_of("Cookie: k=12345678\r\n", "k", v, sizeof(v)));
	cr_assert_str_eq(v, "");
	cr_assert_not(cookie_of("Cookie: k=1\r\n", "k", v, 0));
}

static bool form(const char *data, const char *name, char *out, size_t outlen)
{
	return hg_http_form_field((const uint8_t *)data, strlen(data), name,
				  out, outlen);
}

Test(http, form_fields)
{
	char v[32];

	cr_assert(form("username=alice&password=p%40ss+word%21", "username", v,
		       sizeof(v)));
	cr_assert_str_eq(v, "alice");
	cr_assert(form("username=alice&password=p%40ss+word%21", "password", v,
		       sizeof(v)));
	cr_assert_str_eq(v, "p@ss word!");
	cr_assert(form("a=%2b%2B%7e%C3%BC", "a", v, sizeof(v)));
	cr_assert_str_eq(v, "++~\xc3\xbc");
	/* duplicates: the first one */
	cr_assert(form("a=1&a=2", "a", v, sizeof(v)));
	cr_assert_str_eq(v, "1");
	/* names are decoded too, and exact */
	cr_assert(form("user%6Eame=bob&ab=1&a=2", "username", v, sizeof(v)));
	cr_assert_str_eq(v, "bob");
	cr_assert(form("ab=1&a=2&b=3", "a", v, sizeof(v)));
	cr_assert_str_eq(v, "2");
	cr_assert(form("x+y=1", "x y", v, sizeof(v)));
	cr_assert_str_eq(v, "1");
	/* empty values, a name without '=' */
	cr_assert(form("a=&b=2", "a", v, sizeof(v)));
	cr_assert_str_eq(v, "");
	cr_assert(form("a&b=2", "a", v, sizeof(v)));
	cr_assert_str_eq(v, "");
	cr_assert(form("&&b=2&", "b", v, sizeof(v)));
	cr_assert_str_eq(v, "2");
	/* '=' inside a value */
	cr_assert(form("csrf=ab=cd", "csrf", v, sizeof(v)));
	cr_assert_str_eq(v, "ab=cd");
}

static bool all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

Test(http, form_field_refusals)
{
	static const char *const malformed[] = {
	    "a=%zz", "a=%4",  "a=%",   "a=%4g",	 "a=%00",  "a=%0A",
	    "a=%0d", "a=%7F", "a=%1f", "a=x\ty", "a=x\ny", "a=%%41",
	};
	char v[8];
	size_t i;

	for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		memset(v, 'z', sizeof(v));
		cr_assert_not(form(malformed[i], "a", v, sizeof(v)), "%s",
			      malformed[i]);
		cr_assert(all_zero(v, sizeof(v)), "%s", malformed[i]);
	}
	cr_assert_not(form("b=1&c=2", "a", v, sizeof(v)));
	cr_assert_not(form("", "a", v, sizeof(v)));
	cr_assert_not(form("A=1", "a", v, sizeof(v)));
	/* a first field that fails is not replaced by a later one */
	cr_assert_not(form("a=%zz&a=ok", "a", v, sizeof(v)));
	/* lengths: 7 decoded bytes fit in 8, 8 do not (wiped) */
	cr_assert(form("a=abc%20efg", "a", v, sizeof(v)));
	cr_assert_str_eq(v, "abc efg");
	memset(v, 'z', sizeof(v));
	cr_assert_not(form("a=abcdefgh", "a", v, sizeof(v)));
	cr_assert(all_zero(v, sizeof(v)));
	cr_assert_not(form("a=1", "a", v, 0));
	/* a malformed other field does not matter */
	cr_assert(form("b=%zz&a=1", "a", v, sizeof(v)));
	cr_assert_str_eq(v, "1");
}

Test(http, form_field_reads_only_its_bytes)
{
	/* the length bounds it, not a NUL */
	const char data[] = "a=12345&b=2";
	char v[8];

	cr_assert(
	    hg_http_form_field((const uint8_t *)data, 4, "a", v, sizeof(v)));
	cr_assert_str_eq(v, "12");
	cr_assert_not(
	    hg_http_form_field((const uint8_t *)data, 8, "b", v, sizeof(v)));
}

Test(http, buffer)
{
	struct hg_buf b;
	char big[5000];
	size_t i;

	hg_buf_init(&b);
	cr_assert_eq(b.len, 0);
	hg_buf_add(&b, "abc", 3);
	hg_buf_printf(&b, "-%d-%s-", 42, "x");
	cr_assert_eq(b.len, 9);
	cr_assert_eq(memcmp(b.p, "abc-42-x-", 9), 0);
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 10; i++)
		hg_buf_printf(&b, "%s", big);
	cr_assert_eq(b.len, 9 + 10 * (sizeof(big) - 1));
	cr_assert_geq(b.cap, b.len);
	cr_assert_not(b.failed);
	cr_assert_eq(b.p[b.len - 1], 'q');
	hg_buf_free(&b);
	cr_assert_null(b.p);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
}

Test(http, html_escaping)
{
	struct hg_buf b;
	const char *want = "a&amp;b&lt;script&gt;&quot;x&quot;&#39;y&#39;z";

	hg_buf_init(&b);
	hg_buf_html(&b, "a&b<script>\"x\"'y'z");
	cr_assert_eq(b.len, strlen(want));
	cr_assert_eq(memcmp(b.p, want, b.len), 0);
	hg_buf_free(&b);
	hg_buf_html(&b, "");
	cr_assert_eq(b.len, 0);
	hg_buf_html(&b, "<<");
	cr_assert_eq(b.len, 8);
	cr_assert_eq(memcmp(b.p, "&lt;&lt;", 8), 0);
	hg_buf_free(&b);
}

#define COMMON_HEADERS                                                         \
	"Connection: close\r\n"                                                \
	"Cache-Control: no-store\r\n"                                          \
	"X-Content-Type-Options: nosniff\r\n"                                  \
	"X-Frame-Options: DENY\r\n"                                            \
	"Referrer-Policy: same-origin\r\n"                                     \
	"Content-Security-Policy: default-src 'none'; style-src 'self'; "      \
	"img-src 'self'; form-action 'self'; frame-ancestors 'none'\r\n"       \
	"Strict-Transport-Security: max-age=31536000\r\n"

static void assert_buf(const struct hg_buf *b, const char *want)
{
	cr_assert_eq(b->len, strlen(want), "got %zu bytes: %.*s", b->len,
		     (int)b->len, (const char *)b->p);
	cr_assert_eq(memcmp(b->p, want, b->len), 0, "got: %.*s", (int)b->len,
		     (const char *)b->p);
}

Test(http, respond_exact_bytes)
{
	struct hg_buf b;

	hg_buf_init(&b);
	cr_assert_eq(
	    hg_http_respond(&b, 200, "text/plain", NULL, "hello", 5, false), 0);
	assert_buf(&b, "HTTP/1.1 200 OK\r\n"
		       "Content-Type: text/plain\r\n"
		       "Content-Length: 5\r\n" COMMON_HEADERS "\r\n"
		       "hello");
	hg_buf_free(&b);

	/* HEAD: same head, Content-Length kept, no body */
	cr_assert_eq(
	    hg_http_respond(&b, 200, "text/plain", NULL, "hello", 5, true), 0);
	assert_buf(&b, "HTTP/1.1 200 OK\r\n"
		       "Content-Type: text/plain\r\n"
		       "Content-Length: 5\r\n" COMMON_HEADERS "\r\n");
	hg_buf_free(&b);

	/* no content type, extra lines, empty body */
	cr_assert_eq(hg_http_respond(&b, 303, NULL,
				     "Location: /resources\r\nX-A: b\r\n", NULL,
				     0, false),
		     0);
	assert_buf(&b, "HTTP/1.1 303 See Other\r\n"
		       "Content-Length: 0\r\n" COMMON_HEADERS
		       "Location: /resources\r\nX-A: b\r\n\r\n");
	hg_buf_free(&b);
}

Test(http, respond_appends)
{
	struct hg_buf b;

	hg_buf_init(&b);
	hg_buf_add(&b, "before", 6);
	cr_assert_eq(hg_http_respond(&b, 404, NULL, NULL, "x", 1, false), 0);
	cr_assert_eq(memcmp(b.p, "beforeHTTP/1.1 404 Not Found\r\n", 30), 0);
	cr_assert_eq(b.p[b.len - 1], 'x');
	hg_buf_free(&b);
}

Test(http, respond_refuses_header_injection)
{
	static const char *const bad_extra[] = {
	    "X: a",
	    "X: a\n",
	    "X: a\r",
	    "X: a\rY: b\r\n",
	    "X: a\nY: b\r\n",
	    "\r\nX: a\r\n",
	    "X: a\r\n\r\nbody\r\n",
	};
	struct hg_buf b;
	size_t i;

	hg_buf_init(&b);
	cr_assert_eq(
	    hg_http_respond(&b, 200, "text/html\r\nX: y", NULL, NULL, 0, false),
	    -1);
	for (i = 0; i < sizeof(bad_extra) / sizeof(bad_extra[0]); i++)
		cr_assert_eq(hg_http_respond(&b, 200, NULL, bad_extra[i], NULL,
					     0, false),
			     -1, "bad_extra[%zu]", i);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(hg_http_respond(&b, 200, NULL, "", NULL, 0, false), 0);
	hg_buf_free(&b);
}

Test(http, reasons)
{
	cr_assert_str_eq(hg_http_reason(200), "OK");
	cr_assert_str_eq(hg_http_reason(303), "See Other");
	cr_assert_str_eq(hg_http_reason(400), "Bad Request");
	cr_assert_str_eq(hg_http_reason(404), "Not Found");
	cr_assert_str_eq(hg_http_reason(413), "Content Too Large");
	cr_assert_str_eq(hg_http_reason(431),
			 "Request Header Fields Too Large");
	cr_assert_str_eq(hg_http_reason(505), "HTTP Version Not Supported");
	cr_assert_str_eq(hg_http_reason(999), "Unknown");
}
