/* What an ICA client sends first after TLS: the SOCKS v5 greeting and
 * CONNECT (alone, together, cut at every byte, malformed), the Address
 * value inside the CONNECT, the two replies, and a ticket from the STA
 * store carried all the way through. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "socks.h"
#include "sta.h"

#define ADDR ";40;STA475DE9C8ABDA;0123456789ABCDEF0123456789ABCDEF"

static const uint8_t greeting2[] = {0x05, 0x02, 0x00, 0x02};

/* 05 01 00 03 LL name PH PL, at out; returns its length. */
static size_t make_connect(uint8_t *out, const char *name, size_t n,
			   uint16_t port)
{
	out[0] = 0x05;
	out[1] = 0x01;
	out[2] = 0x00;
	out[3] = 0x03;
	out[4] = (uint8_t)n;
	memcpy(out + 5, name, n);
	out[5 + n] = (uint8_t)(port >> 8);
	out[6 + n] = (uint8_t)port;
	return 7 + n;
}

static void check_connect(const struct hg_socks_msg *m, const char *name,
			  uint16_t port)
{
	cr_assert_eq(m->kind, HG_SOCKS_CONNECT);
	cr_assert_eq(m->dest_len, strlen(name));
	cr_assert_str_eq(m->dest, name);
	cr_assert_eq(m->port, port);
}

Test(socks, greeting_alone)
{
	static const uint8_t one_none[] = {0x05, 0x01, 0x00};
	static const uint8_t one_user[] = {0x05, 0x01, 0x02};
	static const uint8_t three[] = {0x05, 0x03, 0x00, 0x01, 0x02};
	static const uint8_t no_none[] = {0x05, 0x02, 0x01, 0x02};
	struct hg_socks_msg m;

	cr_assert_eq(hg_socks_parse(greeting2, sizeof(greeting2), &m), 4);
	cr_assert_eq(m.kind, HG_SOCKS_GREETING);
	cr_assert(m.offers_no_auth);
	cr_assert_eq(hg_socks_parse(one_none, sizeof(one_none), &m), 3);
	cr_assert_eq(m.kind, HG_SOCKS_GREETING);
	cr_assert(m.offers_no_auth);
	cr_assert_eq(hg_socks_parse(one_user, sizeof(one_user), &m), 3);
	cr_assert_eq(m.kind, HG_SOCKS_GREETING);
	cr_assert_not(m.offers_no_auth);
	cr_assert_eq(hg_socks_parse(three, sizeof(three), &m), 5);
	cr_assert(m.offers_no_auth);
	cr_assert_eq(hg_socks_parse(no_none, sizeof(no_none), &m), 4);
	cr_assert_not(m.offers_no_auth);
	/* all 255 methods */
	{
		uint8_t g[2 + 255];
		size_t i;

		g[0] = 0x05;
		g[1] = 255;
		for (i = 0; i < 255; i++)
			g[2 + i] = (uint8_t)(i + 1);
		cr_assert_eq(hg_socks_parse(g, sizeof(g), &m), 257);
		cr_assert_not(m.offers_no_auth);
		g[2 + 200] = 0x00;
		cr_assert_eq(hg_socks_parse(g, sizeof(g), &m), 257);
		cr_assert(m.offers_no_auth);
	}
	/* a greeting is not a CONNECT */
	cr_assert_eq(hg_socks_parse_connect(greeting2, sizeof(greeting2), &m),
		     -1);
}

Test(socks, connect_alone)
{
	uint8_t buf[300];
	struct hg_socks_msg m;
	size_t n = make_connect(buf, ADDR, strlen(ADDR), 1494);

	cr_assert_eq(hg_socks_parse(buf, n, &m), (int)n);
	check_connect(&m, ADDR, 1494);
	memset(&m, 0, sizeof(m));
	cr_assert_eq(hg_socks_parse_connect(buf, n, &m), (int)n);
	check_connect(&m, ADDR, 1494);

	/* bytes after it (the client did not wait) are not its */
	buf[n] = 0x7f;
	cr_assert_eq(hg_socks_parse(buf, n + 1, &m), (int)n);
	cr_assert_eq(hg_socks_parse_connect(buf, n + 1, &m), (int)n);

	/* another port, a one-byte name, the longest name */
	n = make_connect(buf, "x", 1, 65535);
	cr_assert_eq(hg_socks_parse(buf, n, &m), (int)n);
	check_connect(&m, "x", 65535);
	{
		char name[256];

		memset(name, 'a', 255);
		name[255] = '\0';
		n = make_connect(buf, name, 255, 2598);
		cr_assert_eq(n, HG_SOCKS_CONNECT_MAX);
		cr_assert_eq(hg_socks_parse(buf, n, &m), (int)n);
		check_connect(&m, name, 2598);
	}
}

/* Greeting and CONNECT in one write: parse, advance, parse again. */
Test(socks, greeting_then_connect)
{
	static const uint8_t one_none[] = {0x05, 0x01, 0x00};
	uint8_t buf[300];
	struct hg_socks_msg m;
	size_t n;
	int r;

	memcpy(buf, greeting2, 4);
	n = 4 + make_connect(buf + 4, ADDR, strlen(ADDR), 1494);
	r = hg_socks_parse(buf, n, &m);
	cr_assert_eq(r, 4);
	cr_assert_eq(m.kind, HG_SOCKS_GREETING);
	cr_assert(m.offers_no_auth);
	cr_assert_eq(hg_socks_parse(buf + r, n - (size_t)r, &m), (int)(n - 4));
	check_connect(&m, ADDR, 1494);

	/* the one-method greeting that looks like a request's start */
	memcpy(buf, one_none, 3);
	n = 3 + make_connect(buf + 3, ADDR, strlen(ADDR), 1494);
	r = hg_socks_parse(buf, n, &m);
	cr_assert_eq(r, 3);
	cr_assert_eq(m.kind, HG_SOCKS_GREETING);
	cr_assert_eq(hg_socks_parse_connect(buf + r, n - (size_t)r, &m),
		     (int)(n - 3));
	check_connect(&m, ADDR, 1494);
}

/* Every proper prefix of a valid message is "need more". The one
 * exception is by design (socks.h): "05 01 00" alone is a greeting. */
Test(socks, every_truncation_needs_more)
{
	uint8_t buf[300];
	struct hg_socks_msg m;
	size_t n, cut;

	for (cut = 0; cut < sizeof(greeting2); cut++)
		cr_assert_eq(hg_socks_parse(greeting2, cut, &m), -2, "cut %zu",
			     cut);

	n = make_connect(buf, ADDR, strlen(ADDR), 1494);
	for (cut = 0; cut < n; cut++) {
		cr_assert_eq(hg_socks_parse_connect(buf, cut, &m), -2,
			     "cut %zu", cut);
		if (cut == 3) {
			cr_assert_eq(hg_socks_parse(buf, cut, &m), 3);
			cr_assert_eq(m.kind, HG_SOCKS_GREETING);
		} else {
			cr_assert_eq(hg_socks_parse(buf, cut, &m), -2,
				     "cut %zu", cut);
		}
	}

	/* both in one buffer, cut anywhere in the CONNECT: the greeting
	 * comes out whole, the CONNECT needs more */
	memcpy(buf, greeting2, 4);
	n = 4 + make_connect(buf + 4, ADDR, strlen(ADDR), 1494);
	for (cut = 4; cut < n; cut++) {
		cr_assert_eq(hg_socks_parse(buf, cut, &m), 4, "cut %zu", cut);
		cr_assert_eq(hg_socks_parse_connect(buf + 4, cut - 4, &m), -2,
			     "cut %zu", cut);
	}
}

Test(socks, malformed)
{
	uint8_t buf[300];
	struct hg_socks_msg m;
	size_t n;

	/* version 4, in either message and alone */
	n = make_connect(buf, ADDR, strlen(ADDR), 1494);
	buf[0] = 0x04;
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	cr_assert_eq(hg_socks_parse(buf, 1, &m), -1);
	cr_assert_eq(hg_socks_parse_connect(buf, 1, &m), -1);
	cr_assert_eq(hg_socks_parse((const uint8_t *)"\x04\x01\x00\x50", 4, &m),
		     -1);
	cr_assert_eq(hg_socks_parse((const uint8_t *)"\x04\x02\x00\x02", 4, &m),
		     -1);

	/* NMETHODS 0 */
	cr_assert_eq(hg_socks_parse((const uint8_t *)"\x05\x00", 2, &m), -1);
	cr_assert_eq(hg_socks_parse((const uint8_t *)"\x05\x00\x05", 3, &m),
		     -1);

	/* ATYP 1 (IPv4) and 4 (IPv6), whole and cut right after ATYP */
	{
		static const uint8_t v4[] = {0x05, 0x01, 0x00, 0x01, 10,
					     0,	   0,	 1,    0x05, 0xd6};
		uint8_t v6[22] = {0x05, 0x01, 0x00, 0x04};

		v6[20] = 0x05;
		v6[21] = 0xd6;
		cr_assert_eq(hg_socks_parse(v4, sizeof(v4), &m), -1);
		cr_assert_eq(hg_socks_parse(v4, 4, &m), -1);
		cr_assert_eq(hg_socks_parse_connect(v4, sizeof(v4), &m), -1);
		cr_assert_eq(hg_socks_parse(v6, sizeof(v6), &m), -1);
		cr_assert_eq(hg_socks_parse(v6, 4, &m), -1);
		cr_assert_eq(hg_socks_parse_connect(v6, sizeof(v6), &m), -1);
	}

	/* CMD 2 (BIND) and 3 (UDP ASSOCIATE) */
	n = make_connect(buf, ADDR, strlen(ADDR), 1494);
	buf[1] = 0x02;
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	cr_assert_eq(hg_socks_parse_connect(buf, n, &m), -1);
	buf[1] = 0x03;
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	cr_assert_eq(hg_socks_parse_connect(buf, n, &m), -1);
	cr_assert_eq(hg_socks_parse_connect(buf, 2, &m), -1);

	/* RSV != 0 */
	n = make_connect(buf, ADDR, strlen(ADDR), 1494);
	buf[2] = 0x01;
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	cr_assert_eq(hg_socks_parse_connect(buf, n, &m), -1);
	cr_assert_eq(hg_socks_parse_connect(buf, 3, &m), -1);

	/* ATYP 00 and 02 after "05 01 00": neither a request nor a
	 * greeting followed by one */
	n = make_connect(buf, ADDR, strlen(ADDR), 1494);
	buf[3] = 0x00;
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	buf[3] = 0x02;
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);

	/* a name with a NUL inside, at its start, at its end; decided as
	 * soon as the NUL is there */
	n = make_connect(buf, ";40;STA1\0X", 10, 1494);
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	cr_assert_eq(hg_socks_parse(buf, 5 + 9, &m), -1);
	cr_assert_eq(hg_socks_parse(buf, 5 + 8, &m), -2);
	n = make_connect(buf, "\0abc", 4, 1494);
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	n = make_connect(buf, "abc\0", 4, 1494);
	cr_assert_eq(hg_socks_parse_connect(buf, n, &m), -1);

	/* name length 0 */
	n = make_connect(buf, "", 0, 1494);
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	cr_assert_eq(hg_socks_parse(buf, 5, &m), -1);
	cr_assert_eq(hg_socks_parse_connect(buf, n, &m), -1);

	/* a greeting followed by something other than a request */
	cr_assert_eq(
	    hg_socks_parse((const uint8_t *)"\x05\x02\x00\x02GET", 7, &m), -1);
	cr_assert_eq(hg_socks_parse((const uint8_t *)"\x05\x01\x02\x16", 4, &m),
		     -1);

	/* not SOCKS at all: TLS, HTTP, CGP */
	cr_assert_eq(hg_socks_parse((const uint8_t *)"\x16\x03\x01", 3, &m),
		     -1);
	cr_assert_eq(hg_socks_parse((const uint8_t *)"GET / HTTP/1.1", 14, &m),
		     -1);
	cr_assert_eq(hg_socks_parse((const uint8_t *)"\x1a"
						     "CGP/01",
				    7, &m),
		     -1);
}

/* *m is untouched unless a message is returned. */
Test(socks, msg_written_only_on_success)
{
	uint8_t buf[300];
	struct hg_socks_msg m, before;
	size_t n = make_connect(buf, ADDR, strlen(ADDR), 1494);

	memset(&m, 0x33, sizeof(m));
	before = m;
	cr_assert_eq(hg_socks_parse(buf, n - 1, &m), -2);
	cr_assert_eq(memcmp(&m, &before, sizeof(m)), 0);
	buf[3] = 0x01;
	cr_assert_eq(hg_socks_parse(buf, n, &m), -1);
	cr_assert_eq(memcmp(&m, &before, sizeof(m)), 0);
}

static int addr(const char *s, unsigned *v, char *auth, char *ticket)
{
	return hg_ica_address_parse(s, strlen(s), v, auth, ticket);
}

Test(socks, address_value)
{
	static const char *const versions[] = {"10", "20", "22", "40"};
	char auth[HG_STA_AUTHORITY_MAX], ticket[HG_STA_TICKET_LEN + 1];
	char s[128];
	unsigned v = 0;
	size_t i;

	cr_assert_eq(addr(ADDR, &v, auth, ticket), 0);
	cr_assert_eq(v, 40);
	cr_assert_str_eq(auth, "STA475DE9C8ABDA");
	cr_assert_str_eq(ticket, "0123456789ABCDEF0123456789ABCDEF");

	/* without the leading ';' */
	memset(auth, 0, sizeof(auth));
	cr_assert_eq(addr(&ADDR[1], &v, auth, ticket), 0);
	cr_assert_eq(v, 40);
	cr_assert_str_eq(auth, "STA475DE9C8ABDA");

	for (i = 0; i < 4; i++) {
		snprintf(s, sizeof(s),
			 ";%s;STA1;FEDCBA9876543210FEDCBA9876543210",
			 versions[i]);
		cr_assert_eq(addr(s, &v, auth, ticket), 0, "%s", s);
		cr_assert_eq(v, (unsigned)atoi(versions[i]));
		cr_assert_str_eq(auth, "STA1");
	}
	/* the longest authority */
	cr_assert_eq(addr(";40;STA0123456789ABCDEF;0123456789ABCDEF0123456789"
			  "ABCDEF",
			  &v, auth, ticket),
		     0);
	cr_assert_str_eq(auth, "STA0123456789ABCDEF");

	/* the length is what counts, not a NUL */
	memcpy(s, ADDR "garbage", sizeof(ADDR "garbage"));
	cr_assert_eq(hg_ica_address_parse(s, strlen(ADDR), &v, auth, ticket),
		     0);
}

Test(socks, address_value_malformed)
{
	static const char *const bad[] = {
	    "",
	    ";",
	    ";;;",
	    /* bad versions */
	    ";30;STA1;0123456789ABCDEF0123456789ABCDEF",
	    ";4;STA1;0123456789ABCDEF0123456789ABCDEF",
	    ";040;STA1;0123456789ABCDEF0123456789ABCDEF",
	    ";41;STA1;0123456789ABCDEF0123456789ABCDEF",
	    ";+40;STA1;0123456789ABCDEF0123456789ABCDEF",
	    ";;STA1;0123456789ABCDEF0123456789ABCDEF",
	    ";4O;STA1;0123456789ABCDEF0123456789ABCDEF",
	    /* bad authorities */
	    ";40;STA;0123456789ABCDEF0123456789ABCDEF",
	    ";40;sta1;0123456789ABCDEF0123456789ABCDEF",
	    ";40;STa1;0123456789ABCDEF0123456789ABCDEF",
	    ";40;XTA1;0123456789ABCDEF0123456789ABCDEF",
	    ";40;STA1-2;0123456789ABCDEF0123456789ABCDEF",
	    ";40;STA475de9c8abda;0123456789ABCDEF0123456789ABCDEF",
	    ";40;STA0123456789ABCDEFG;0123456789ABCDEF0123456789ABCDEF",
	    ";40;;0123456789ABCDEF0123456789ABCDEF",
	    /* bad tickets */
	    ";40;STA1;0123456789abcdef0123456789abcdef",
	    ";40;STA1;0123456789ABCDEF0123456789ABCDEf",
	    ";40;STA1;0123456789ABCDEF0123456789ABCDE",
	    ";40;STA1;0123456789ABCDEF0123456789ABCDEF0",
	    ";40;STA1;0123456789ABCDEF0123456789ABCDEG",
	    ";40;STA1; 123456789ABCDEF0123456789ABCDEF",
	    ";40;STA1;",
	    /* field counts */
	    ";40;STA1;0123456789ABCDEF0123456789ABCDEF;",
	    ";40;STA1;0123456789ABCDEF0123456789ABCDEF;x",
	    ";;40;STA1;0123456789ABCDEF0123456789ABCDEF",
	    ";40;STA1",
	    "40;0123456789ABCDEF0123456789ABCDEF",
	    "0123456789ABCDEF0123456789ABCDEF",
	    "STA1;0123456789ABCDEF0123456789ABCDEF",
	    "10.1.2.3:1494",
	};
	char auth[HG_STA_AUTHORITY_MAX], ticket[HG_STA_TICKET_LEN + 1];
	unsigned v = 77;
	size_t i;

	memset(auth, 'q', sizeof(auth));
	memset(ticket, 'q', sizeof(ticket));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(addr(bad[i], &v, auth, ticket), -1, "'%s'",
			     bad[i]);
	/* outputs untouched on failure */
	cr_assert_eq(v, 77);
	cr_assert_eq(auth[0], 'q');
	cr_assert_eq(ticket[0], 'q');

	/* a NUL inside, anywhere */
	{
		char s[] = ADDR;
		size_t n = strlen(ADDR), k;

		for (k = 0; k < n; k++) {
			char c = s[k];

			s[k] = '\0';
			cr_assert_eq(
			    hg_ica_address_parse(s, n, &v, auth, ticket), -1,
			    "NUL at %zu", k);
			s[k] = c;
		}
		/* and every truncation */
		for (k = 0; k < n; k++)
			cr_assert_eq(
			    hg_ica_address_parse(s, k, &v, auth, ticket), -1,
			    "cut %zu", k);
	}
}

Test(socks, replies)
{
	static const uint8_t method[] = {0x05, 0x00};
	static const uint8_t ok[] = {0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
	uint8_t out[16];

	memset(out, 0xee, sizeof(out));
	cr_assert_eq(hg_socks_method_reply(out), 2);
	cr_assert_eq(memcmp(out, method, 2), 0);
	cr_assert_eq(out[2], 0xee);

	memset(out, 0xee, sizeof(out));
	cr_assert_eq(hg_socks_connect_reply(out, HG_SOCKS_REP_SUCCEEDED), 10);
	cr_assert_eq(memcmp(out, ok, 10), 0);
	cr_assert_eq(out[10], 0xee);
	cr_assert_eq(hg_socks_connect_reply(out, HG_SOCKS_REP_NOT_ALLOWED), 10);
	cr_assert_eq(out[1], 0x02);
	cr_assert_eq(memcmp(out + 2, ok + 2, 8), 0);
	cr_assert_eq(hg_socks_connect_reply(out, HG_SOCKS_REP_FAILURE), 10);
	cr_assert_eq(out[1], 0x01);
	cr_assert_eq(memcmp(out + 2, ok + 2, 8), 0);
}

/* Issue, write the Address value, send it in a CONNECT, parse both
 * layers, redeem: the whole path a launch takes. */
Test(socks, ticket_through_connect)
{
	struct hg_sta *s = hg_sta_new("STA475DE9C8ABDA", 8, 100);
	struct hg_sta_entry e = {.addr = 0x0a010203, .port = 1494}, got;
	char t[HG_STA_TICKET_LEN + 1], value[80];
	char auth[HG_STA_AUTHORITY_MAX], ticket[HG_STA_TICKET_LEN + 1];
	uint8_t buf[300];
	struct hg_socks_msg m;
	unsigned v;
	size_t n;
	int r;

	cr_assert_not_null(s);
	snprintf(e.user, sizeof(e.user), "alice");
	cr_assert_eq(hg_sta_issue(s, &e, 5000, t), 0);
	snprintf(value, sizeof(value), ";40;%s;%s", hg_sta_authority(s), t);

	memcpy(buf, greeting2, 4);
	n = 4 + make_connect(buf + 4, value, strlen(value), 1494);
	r = hg_socks_parse(buf, n, &m);
	cr_assert_eq(r, 4);
	cr_assert_eq(hg_socks_parse(buf + r, n - (size_t)r, &m), (int)(n - 4));
	cr_assert_eq(hg_ica_address_parse(m.dest, m.dest_len, &v, auth, ticket),
		     0);
	cr_assert_eq(v, 40);
	cr_assert_str_eq(auth, hg_sta_authority(s));
	cr_assert_eq(hg_sta_redeem(s, ticket, strlen(ticket), 6000, &got), 0);
	cr_assert_eq(got.addr, 0x0a010203);
	cr_assert_str_eq(got.user, "alice");
	cr_assert_eq(hg_sta_redeem(s, ticket, strlen(ticket), 6000, &got),
		     -ENOENT);
	hg_sta_free(s);
}
