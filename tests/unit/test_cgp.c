/* CGP framing (controlplane/cgp.h, "our reading"): varlen round trips and
 * refusals; a bind request built, parsed and pinned byte for byte; every
 * proper prefix "need more"; unknown capabilities around the ticket;
 * malformed binds (ticket type, lengths, varlens, duplicates, missing
 * ticket, another packet first); non-CGP input and the magic prefix test;
 * the gateway's answers built and parsed back; builders refusing what
 * does not fit. */
#include <criterion/criterion.h>
#include <string.h>

#include "cgp.h"

#define TICKET ";40;STA0HOPGATE;0123456789ABCDEF0123456789ABCDEF"

/* A bind from hand-made capabilities: c[0..clen) is the payload after the
 * cmd byte. Returns the length written at out. */
static size_t bind_of(uint8_t *out, uint8_t cmd, const uint8_t *c, size_t clen)
{
	size_t pos = HG_CGP_MAGIC_LEN;

	memcpy(out, HG_CGP_MAGIC, HG_CGP_MAGIC_LEN);
	pos += hg_cgp_varlen_put(out + pos, (unsigned)(1 + clen));
	out[pos++] = cmd;
	memcpy(out + pos, c, clen);
	return pos + clen;
}

/* Appends a capability (id, body) at c + *n. */
static void add_cap(uint8_t *c, size_t *n, unsigned id, const uint8_t *body,
		    size_t blen)
{
	*n += hg_cgp_varlen_put(c + *n, (unsigned)(2 + blen));
	c[(*n)++] = (uint8_t)(id & 0xff);
	c[(*n)++] = (uint8_t)(id >> 8);
	memcpy(c + *n, body, blen);
	*n += blen;
}

/* A security-ticket body: type, varlen(t), ticket. */
static size_t ticket_body(uint8_t *out, uint8_t type, const char *t,
			  size_t tlen)
{
	size_t n = 1;

	out[0] = type;
	n += hg_cgp_varlen_put(out + 1, (unsigned)tlen);
	memcpy(out + n, t, tlen);
	return n + tlen;
}

static void assert_bind(const uint8_t *p, size_t len, size_t want_bytes,
			const char *ticket, size_t tlen)
{
	struct hg_cgp_bind b;

	memset(&b, 0xa5, sizeof(b));
	cr_assert_eq(hg_cgp_parse_bind(p, len, &b), (int)want_bytes);
	cr_assert_eq(b.bytes, want_bytes);
	cr_assert_eq(b.ticket_type, 0);
	cr_assert_eq(b.ticket_len, tlen);
	cr_assert(b.ticket >= p && b.ticket + tlen <= p + want_bytes,
		  "ticket points into the input");
	cr_assert_eq(memcmp(b.ticket, ticket, tlen), 0);
}

static void assert_bad(const uint8_t *p, size_t len, const char *why)
{
	struct hg_cgp_bind b;

	memset(&b, 0x5a, sizeof(b));
	cr_assert_eq(hg_cgp_parse_bind(p, len, &b), -1, "%s", why);
	cr_assert_eq(b.bytes, (size_t)0x5a5a5a5a5a5a5a5aull,
		     "b written on -1 (%s)", why);
}

Test(cgp, varlen_round_trips)
{
	static const struct {
		unsigned v;
		size_t n;
		uint8_t b[2];
	} cases[] = {
	    {0, 1, {0x00}},	      {1, 1, {0x01}},
	    {127, 1, {0x7f}},	      {128, 2, {0x80, 0x01}},
	    {129, 2, {0x81, 0x01}},   {255, 2, {0xff, 0x01}},
	    {256, 2, {0x80, 0x02}},   {300, 2, {0xac, 0x02}},
	    {32767, 2, {0xff, 0xff}},
	};
	uint8_t out[2];
	unsigned v, got;
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0, sizeof(out));
		n = hg_cgp_varlen_put(out, cases[i].v);
		cr_assert_eq(n, cases[i].n, "v %u", cases[i].v);
		cr_assert_eq(memcmp(out, cases[i].b, n), 0, "v %u", cases[i].v);
		cr_assert_eq(hg_cgp_varlen_get(out, n, &got), (int)n);
		cr_assert_eq(got, cases[i].v);
	}
	/* every value, and a following byte is not taken */
	for (v = 0; v <= HG_CGP_VARLEN_MAX; v++) {
		uint8_t buf[3] = {0, 0, 0x33};

		n = hg_cgp_varlen_put(buf, v);
		cr_assert_eq(n, v < 128 ? 1u : 2u);
		cr_assert_eq(hg_cgp_varlen_get(buf, sizeof(buf), &got), (int)n);
		cr_assert_eq(got, v);
	}
	cr_assert_eq(hg_cgp_varlen_put(out, 32768), 0);
	cr_assert_eq(hg_cgp_varlen_put(out, 65535), 0);
	cr_assert_eq(hg_cgp_varlen_put(out, ~0u), 0);
}

Test(cgp, varlen_refusals)
{
	static const uint8_t two[] = {0x80, 0x01}, overlong[] = {0x80, 0x00},
			     overlong2[] = {0xff, 0x00};
	unsigned v = 77;

	cr_assert_eq(hg_cgp_varlen_get(two, 0, &v), -2);
	cr_assert_eq(hg_cgp_varlen_get(two, 1, &v), -2);
	cr_assert_eq(hg_cgp_varlen_get(overlong, 2, &v), -1);
	cr_assert_eq(hg_cgp_varlen_get(overlong2, 2, &v), -1);
	cr_assert_eq(v, 77, "v written on failure");
}

/* The bytes our reading gives for a bind, pinned so that a change of the
 * framing shows here first. */
Test(cgp, bind_request_bytes)
{
	static const uint8_t head[] = {
	    0x1a, 'C',	'G', 'P', '/', '0', '1', /* magic */
	    54,					 /* packet length */
	    0x01,				 /* BIND_REQUEST */
	    52,					 /* capability length */
	    0x06, 0x00,				 /* id 6, little endian */
	    0x00,				 /* ticket type STA */
	    48,					 /* ticket length */
	};
	uint8_t out[128];
	size_t n =
	    hg_cgp_bind_request(out, sizeof(out), TICKET, strlen(TICKET));

	cr_assert_eq(strlen(TICKET), 48);
	cr_assert_eq(n, sizeof(head) + 48);
	cr_assert_eq(memcmp(out, head, sizeof(head)), 0);
	cr_assert_eq(memcmp(out + sizeof(head), TICKET, 48), 0);
	assert_bind(out, n, n, TICKET, 48);
}

Test(cgp, bind_request_round_trips)
{
	uint8_t out[512], t[HG_CGP_TICKET_MAX];
	size_t len, n;

	for (len = 1; len <= HG_CGP_TICKET_MAX; len++) {
		memset(t, 'A' + (int)(len % 26), len);
		n = hg_cgp_bind_request(out, sizeof(out), (const char *)t, len);
		cr_assert_gt(n, len, "ticket length %zu", len);
		assert_bind(out, n, n, (const char *)t, len);
		/* what follows the bind is the caller's */
		memset(out + n, 0x01, 20);
		assert_bind(out, n + 20, n, (const char *)t, len);
	}
	cr_assert_eq(hg_cgp_bind_request(out, sizeof(out), TICKET, 0), 0);
	cr_assert_eq(hg_cgp_bind_request(out, sizeof(out), (const char *)t,
					 HG_CGP_TICKET_MAX + 1),
		     0);
}

Test(cgp, incomplete_at_every_split)
{
	uint8_t out[512], t[200];
	struct hg_cgp_bind b;
	size_t n, cut;

	n = hg_cgp_bind_request(out, sizeof(out), TICKET, strlen(TICKET));
	for (cut = 0; cut < n; cut++)
		cr_assert_eq(hg_cgp_parse_bind(out, cut, &b), -2, "cut %zu",
			     cut);
	/* two-byte lengths: each split inside a varlen too */
	memset(t, '7', sizeof(t));
	n = hg_cgp_bind_request(out, sizeof(out), (const char *)t, sizeof(t));
	cr_assert_eq(out[HG_CGP_MAGIC_LEN] & 0x80, 0x80);
	for (cut = 0; cut < n; cut++)
		cr_assert_eq(hg_cgp_parse_bind(out, cut, &b), -2, "cut %zu",
			     cut);
	assert_bind(out, n, n, (const char *)t, sizeof(t));
}

Test(cgp, unknown_capabilities_skipped)
{
	static const uint8_t small[] = {1, 2, 3}, none[1] = {0};
	uint8_t big[300], body[300], c[1024], out[1100];
	size_t n = 0, bl, len;

	memset(big, 0xee, sizeof(big));
	bl = ticket_body(body, 0, TICKET, strlen(TICKET));
	add_cap(c, &n, 1, small, sizeof(small));
	add_cap(c, &n, 0x0600, big, sizeof(big)); /* not 6: byte order */
	add_cap(c, &n, 5, none, 0);		  /* id only */
	add_cap(c, &n, 6, body, bl);
	add_cap(c, &n, 0xffff, small, sizeof(small));
	add_cap(c, &n, 7, big, 200);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bind(out, len, len, TICKET, strlen(TICKET));

	/* extra bytes after the ticket inside its own capability */
	n = 0;
	memcpy(body + bl, "\x01\x02\x03", 3);
	add_cap(c, &n, 6, body, bl + 3);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bind(out, len, len, TICKET, strlen(TICKET));
}

Test(cgp, malformed_binds)
{
	static const uint8_t small[] = {1, 2, 3};
	uint8_t body[300], c[1024], out[1100], t[300];
	size_t n, bl, len;

	/* ticket type other than STA */
	n = 0;
	bl = ticket_body(body, 1, TICKET, strlen(TICKET));
	add_cap(c, &n, 6, body, bl);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "ticket type 1");

	/* no ticket capability at all, and an empty BIND_REQUEST */
	n = 0;
	add_cap(c, &n, 1, small, sizeof(small));
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "no ticket");
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, 0);
	assert_bad(out, len, "empty bind");

	/* two tickets */
	n = 0;
	bl = ticket_body(body, 0, TICKET, strlen(TICKET));
	add_cap(c, &n, 6, body, bl);
	add_cap(c, &n, 6, body, bl);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "two tickets");

	/* an empty ticket; one over HG_CGP_TICKET_MAX */
	n = 0;
	bl = ticket_body(body, 0, "", 0);
	add_cap(c, &n, 6, body, bl);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "empty ticket");
	memset(t, 'A', sizeof(t));
	n = 0;
	bl = ticket_body(body, 0, (const char *)t, HG_CGP_TICKET_MAX + 1);
	add_cap(c, &n, 6, body, bl);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "ticket of 256");

	/* the ticket longer than its capability */
	n = 0;
	bl = ticket_body(body, 0, TICKET, strlen(TICKET));
	add_cap(c, &n, 6, body, bl - 1);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "ticket past its capability");
	/* the ticket body stops inside its 2-byte varlen */
	n = 0;
	bl = ticket_body(body, 0, (const char *)t, 200);
	add_cap(c, &n, 6, body, 2);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "ticket varlen cut");
	/* a ticket capability with no body */
	n = 0;
	add_cap(c, &n, 6, body, 0);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "ticket capability without body");

	/* a capability longer than the packet */
	n = 0;
	bl = ticket_body(body, 0, TICKET, strlen(TICKET));
	add_cap(c, &n, 6, body, bl);
	c[0] = (uint8_t)(c[0] + 1);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "capability past the packet");
	/* a capability too short for its id; a capability of length 0 */
	n = 0;
	add_cap(c, &n, 6, body, bl);
	c[n++] = 1;
	c[n++] = 0x42;
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "capability of 1 byte");
	n = 0;
	c[n++] = 0;
	add_cap(c, &n, 6, body, bl);
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "capability of 0 bytes");
	/* a capability's varlen cut by the packet's end */
	n = 0;
	add_cap(c, &n, 6, body, bl);
	c[n++] = 0x85;
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "capability varlen cut");
	/* an overlong capability varlen */
	n = 0;
	c[n++] = (uint8_t)((2 + bl) | 0x80);
	c[n++] = 0;
	c[n++] = 6;
	c[n++] = 0;
	memcpy(c + n, body, bl);
	n += bl;
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "overlong capability varlen");
	/* an overlong ticket varlen */
	n = 0;
	body[0] = 0;
	body[1] = (uint8_t)(strlen(TICKET) | 0x80);
	body[2] = 0;
	memcpy(body + 3, TICKET, strlen(TICKET));
	add_cap(c, &n, 6, body, 3 + strlen(TICKET));
	len = bind_of(out, HG_CGP_BIND_REQUEST, c, n);
	assert_bad(out, len, "overlong ticket varlen");

	/* an overlong packet varlen; a packet of length 0 */
	len = hg_cgp_bind_request(out, sizeof(out), TICKET, strlen(TICKET));
	memmove(out + 9, out + 8, len - 8);
	out[7] = (uint8_t)(out[7] | 0x80);
	out[8] = 0;
	assert_bad(out, len + 1, "overlong packet varlen");
	memcpy(out, HG_CGP_MAGIC "\x00\x01", 9);
	assert_bad(out, 9, "packet of 0 bytes");
}

/* Any other packet first is refused as soon as its cmd byte is seen. */
Test(cgp, other_packet_first)
{
	uint8_t out[64], c[64];
	size_t len, n = 0, cut;
	uint8_t body[64];
	size_t bl = ticket_body(body, 0, TICKET, strlen(TICKET));
	struct hg_cgp_bind b;

	len = hg_cgp_finish(out, sizeof(out), 3);
	assert_bad(out, len, "FINISH_REQUEST");
	len = hg_cgp_bind_response(out, sizeof(out), 0);
	assert_bad(out, len, "BIND_RESPONSE");
	/* a ticket capability does not make another command a bind */
	add_cap(c, &n, 6, body, bl);
	len = bind_of(out, HG_CGP_FINISH_REQUEST, c, n);
	for (cut = 0; cut <= len; cut++)
		cr_assert_eq(hg_cgp_parse_bind(out, cut, &b),
			     cut <= HG_CGP_MAGIC_LEN + 1 ? -2 : -1, "cut %zu",
			     cut);
}

Test(cgp, not_cgp)
{
	static const char *const other[] = {
	    "GET / HTTP/1.1\r\n",
	    "\x05\x01\x00",
	    "\x05\x02\x00\x02",
	    "\x1a"
	    "CGP/02",
	    "\x1a"
	    "cgp/01",
	    "\x7f\x7f"
	    "ICA",
	    "\x16\x03\x01",
	};
	struct hg_cgp_bind b;
	size_t i;

	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		const uint8_t *p = (const uint8_t *)other[i];
		size_t len = strlen(other[i]);

		cr_assert_eq(hg_cgp_parse_bind(p, len, &b), -1, "%zu", i);
		cr_assert_not(hg_cgp_is_magic_prefix(p, len), "%zu", i);
	}
	cr_assert_eq(hg_cgp_parse_bind((const uint8_t *)"\x1a", 1, &b), -2);
	cr_assert_eq(hg_cgp_parse_bind((const uint8_t *)"", 0, &b), -2);
}

Test(cgp, magic_prefix)
{
	const uint8_t *m = (const uint8_t *)HG_CGP_MAGIC "\x36\x01";
	uint8_t x[HG_CGP_MAGIC_LEN];
	size_t n, k;

	for (n = 0; n <= HG_CGP_MAGIC_LEN + 2; n++)
		cr_assert(hg_cgp_is_magic_prefix(m, n), "length %zu", n);
	/* any one byte changed, at any length that covers it */
	for (k = 0; k < HG_CGP_MAGIC_LEN; k++) {
		memcpy(x, HG_CGP_MAGIC, HG_CGP_MAGIC_LEN);
		x[k] ^= 0x20;
		for (n = 0; n <= HG_CGP_MAGIC_LEN; n++)
			cr_assert_eq(hg_cgp_is_magic_prefix(x, n), n <= k,
				     "byte %zu length %zu", k, n);
	}
	cr_assert(hg_cgp_is_magic_prefix(NULL, 0));
}

Test(cgp, answers)
{
	static const uint8_t finish[] = {0x1a, 'C', 'G',  'P',	'/',
					 '0',  '1', 0x02, 0x03, 0x09};
	static const uint8_t resp[] = {0x1a, 'C', 'G',	'P',  '/',
				       '0',  '1', 0x02, 0x02, 0x00};
	uint8_t out[16], cmd = 0, code = 0;
	size_t n, cut, cap;

	n = hg_cgp_finish(out, sizeof(out), 9);
	cr_assert_eq(n, sizeof(finish));
	cr_assert_eq(memcmp(out, finish, n), 0);
	cr_assert_eq(hg_cgp_parse_reply(out, n, &cmd, &code), (int)n);
	cr_assert_eq(cmd, HG_CGP_FINISH_REQUEST);
	cr_assert_eq(code, 9);

	n = hg_cgp_bind_response(out, sizeof(out), 0);
	cr_assert_eq(n, sizeof(resp));
	cr_assert_eq(memcmp(out, resp, n), 0);
	out[n] = 0x44; /* next packet's first byte: not taken */
	cr_assert_eq(hg_cgp_parse_reply(out, n + 1, &cmd, &code), (int)n);
	cr_assert_eq(cmd, HG_CGP_BIND_RESPONSE);
	cr_assert_eq(code, 0);
	for (cut = 0; cut < n; cut++)
		cr_assert_eq(hg_cgp_parse_reply(out, cut, &cmd, &code), -2,
			     "cut %zu", cut);

	/* a reply without its status byte; not CGP */
	memcpy(out, HG_CGP_MAGIC "\x01\x02", 9);
	cr_assert_eq(hg_cgp_parse_reply(out, 9, &cmd, &code), -1);
	cr_assert_eq(
	    hg_cgp_parse_reply((const uint8_t *)"HTTP/1.1", 8, &cmd, &code),
	    -1);

	/* builders refuse a buffer one byte short, and write nothing */
	for (cap = 0; cap < sizeof(finish); cap++) {
		memset(out, 0xcc, sizeof(out));
		cr_assert_eq(hg_cgp_finish(out, cap, 1), 0);
		cr_assert_eq(hg_cgp_bind_response(out, cap, 1), 0);
		cr_assert_eq(out[0], 0xcc);
	}
}

Test(cgp, bind_request_capacity)
{
	uint8_t out[128];
	size_t need, cap;

	need = hg_cgp_bind_request(out, sizeof(out), TICKET, strlen(TICKET));
	cr_assert_gt(need, 0);
	for (cap = 0; cap < need; cap++) {
		memset(out, 0xcc, sizeof(out));
		cr_assert_eq(
		    hg_cgp_bind_request(out, cap, TICKET, strlen(TICKET)), 0,
		    "cap %zu", cap);
		cr_assert_eq(out[0], 0xcc);
	}
	cr_assert_eq(hg_cgp_bind_request(out, need, TICKET, strlen(TICKET)),
		     need);
}
