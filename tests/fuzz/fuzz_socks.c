/* libFuzzer target: a client's first plaintext bytes after TLS through the
 * SOCKS v5 parsers of controlplane/socks.h, as a stream, and the ICA
 * Address parser on every CONNECT destination that comes out (and on the
 * whole input as a string).
 *
 * Besides memory errors (ASan/UBSan), it abort()s when a property that
 * must hold for any input does not:
 * - a message's length is > 0 and inside what was left;
 * - the same message parses again, to the same length, from exactly its
 *   own bytes;
 * - a CONNECT's destination is its name bytes, 1..255 of them, with no NUL
 *   and a NUL after; its port is the two bytes after the name;
 * - hg_socks_parse_connect: every proper prefix of a request is -2, and
 *   once bytes make it -1 more bytes keep it -1;
 * - an Address value that parses has a known version, a valid authority
 *   and ticket, and printed back gives the value again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socks.h"
#include "sta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void check_address(const char *s, size_t len)
{
	char auth[HG_STA_AUTHORITY_MAX], ticket[HG_STA_TICKET_LEN + 1];
	char again[128];
	unsigned v;
	int n;

	if (hg_ica_address_parse(s, len, &v, auth, ticket) != 0)
		return;
	check(v == 10 || v == 20 || v == 22 || v == 40);
	check(hg_sta_authority_valid(auth, strlen(auth)));
	check(hg_sta_ticket_valid(ticket, strlen(ticket)));
	n = snprintf(again, sizeof(again), "%s%u;%s;%s", s[0] == ';' ? ";" : "",
		     v, auth, ticket);
	check(n > 0 && (size_t)n == len && memcmp(again, s, len) == 0);
}

static void check_msg(const uint8_t *p, size_t left, int r,
		      const struct hg_socks_msg *m)
{
	size_t n;

	check(r > 0 && (size_t)r <= left);
	if (m->kind == HG_SOCKS_GREETING) {
		check(r >= 3 && (size_t)r == 2 + (size_t)p[1]);
		check(m->offers_no_auth ==
		      (memchr(p + 2, 0x00, (size_t)r - 2) != NULL));
		return;
	}
	check(m->kind == HG_SOCKS_CONNECT);
	n = m->dest_len;
	check(n >= 1 && n <= 255 && (size_t)r == 7 + n && p[4] == n);
	check(memcmp(m->dest, p + 5, n) == 0 && m->dest[n] == '\0');
	check(strlen(m->dest) == n);
	check(m->port == (uint16_t)(p[5 + n] << 8 | p[6 + n]));
	check_address(m->dest, n);
}

/* The prefix properties of the CONNECT-only parser at p[0..left). */
static void check_prefixes(const uint8_t *p, size_t left, int full)
{
	struct hg_socks_msg m;
	size_t cut,
	    end = left < HG_SOCKS_CONNECT_MAX ? left : HG_SOCKS_CONNECT_MAX;
	bool bad = false;
	int r;

	for (cut = 0; cut <= end; cut++) {
		r = hg_socks_parse_connect(p, cut, &m);
		if (full > 0 && cut < (size_t)full)
			check(r == -2);
		if (bad)
			check(r == -1);
		if (r == -1)
			bad = true;
		if (full == -2)
			check(r == -2);
	}
	check(bad == (full == -1));
}

/* The gateway's order: a greeting is optional, and after one only a
 * CONNECT may come. Stops at the first message that is not whole. */
static void as_gateway(const uint8_t *data, size_t size)
{
	struct hg_socks_msg m, m2;
	size_t pos = 0;
	bool greeted = false;
	int r;

	while (pos < size) {
		const uint8_t *p = data + pos;
		size_t left = size - pos;

		if (greeted) {
			r = hg_socks_parse_connect(p, left, &m);
			check_prefixes(p, left, r);
		} else {
			r = hg_socks_parse(p, left, &m);
		}
		if (r <= 0)
			return;
		check_msg(p, left, r, &m);
		/* its own bytes alone give the same */
		check((greeted ? hg_socks_parse_connect(p, (size_t)r, &m2)
			       : hg_socks_parse(p, (size_t)r, &m2)) == r);
		check(m2.kind == m.kind && m2.dest_len == m.dest_len &&
		      m2.port == m.port);
		pos += (size_t)r;
		if (m.kind == HG_SOCKS_CONNECT)
			return; /* the relay takes over */
		greeted = true;
	}
}

/* Messages back to back with the general parser, whatever their order. */
static void as_stream(const uint8_t *data, size_t size)
{
	struct hg_socks_msg m;
	size_t pos = 0;
	int r;

	while (pos < size) {
		r = hg_socks_parse(data + pos, size - pos, &m);
		check(r == -1 || r == -2 || r > 0);
		if (r <= 0)
			return;
		check_msg(data + pos, size - pos, r, &m);
		pos += (size_t)r;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[10];

	as_gateway(data, size);
	as_stream(data, size);
	check_address((const char *)data, size);
	check(hg_socks_method_reply(out) == 2);
	check(hg_socks_connect_reply(out, size ? data[0] : 0) == 10);
	return 0;
}
