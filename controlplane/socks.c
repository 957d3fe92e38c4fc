/* SOCKS v5 greeting and CONNECT parsing, the ICA Address value, and the
 * gateway's two replies. See socks.h. */
#include "socks.h"

#include <string.h>

#define SOCKS_VERSION 0x05
#define CMD_CONNECT   0x01
#define ATYP_DOMAIN   0x03

static int greeting(const uint8_t *p, size_t len, struct hg_socks_msg *m)
{
	size_t n = p[1]; /* the caller checked p[0] and that len >= 2 */

	if (n == 0)
		return -1;
	if (len < 2 + n)
		return -2;
	/* Only a request may follow a greeting. */
	if (len > 2 + n && p[2 + n] != SOCKS_VERSION)
		return -1;
	memset(m, 0, sizeof(*m));
	m->kind = HG_SOCKS_GREETING;
	m->offers_no_auth = memchr(p + 2, 0x00, n) != NULL;
	return (int)(2 + n);
}

int hg_socks_parse_connect(const uint8_t *p, size_t len, struct hg_socks_msg *m)
{
	static const uint8_t head[4] = {SOCKS_VERSION, CMD_CONNECT, 0x00,
					ATYP_DOMAIN};
	size_t i, n;

	/* VER CMD RSV ATYP, byte by byte so that what is there decides. */
	for (i = 0; i < sizeof(head); i++) {
		if (i >= len)
			return -2;
		if (p[i] != head[i])
			return -1;
	}
	if (len < 5)
		return -2;
	n = p[4];
	if (n == 0)
		return -1;
	if (memchr(p + 5, 0x00, len - 5 < n ? len - 5 : n) != NULL)
		return -1;
	if (len < 5 + n + 2)
		return -2;
	memset(m, 0, sizeof(*m));
	m->kind = HG_SOCKS_CONNECT;
	memcpy(m->dest, p + 5, n);
	m->dest[n] = '\0';
	m->dest_len = n;
	m->port = (uint16_t)(p[5 + n] << 8 | p[5 + n + 1]);
	return (int)(5 + n + 2);
}

int hg_socks_parse(const uint8_t *p, size_t len, struct hg_socks_msg *m)
{
	if (len < 1)
		return -2;
	if (p[0] != SOCKS_VERSION)
		return -1;
	if (len < 2)
		return -2;
	if (p[1] == CMD_CONNECT) {
		if (len < 3)
			return -2;
		/* "05 01 00": a one-method greeting or a request's start. */
		if (p[2] == 0x00 && len > 3 && p[3] != SOCKS_VERSION)
			return hg_socks_parse_connect(p, len, m);
	}
	return greeting(p, len, m);
}

/* The field at s[*pos..len) up to the next ';' or the end: its start and
 * length; *pos moves past the ';'. */
static const char *next_field(const char *s, size_t len, size_t *pos,
			      size_t *flen, bool *more)
{
	const char *start = s + *pos;
	const char *semi = memchr(start, ';', len - *pos);

	if (semi == NULL) {
		*flen = len - *pos;
		*pos = len;
		*more = false;
	} else {
		*flen = (size_t)(semi - start);
		*pos += *flen + 1;
		*more = true;
	}
	return start;
}

static int ticket_version(const char *f, size_t n, unsigned *v)
{
	static const char *const known[] = {"10", "20", "22", "40"};
	size_t i;

	if (n != 2)
		return -1;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (memcmp(f, known[i], 2) == 0) {
			*v = (unsigned)((f[0] - '0') * 10 + (f[1] - '0'));
			return 0;
		}
	}
	return -1;
}

int hg_ica_address_parse(const char *s, size_t len, unsigned *version,
			 char authority[HG_STA_AUTHORITY_MAX],
			 char ticket[HG_STA_TICKET_LEN + 1])
{
	const char *fv, *fa, *ft;
	size_t pos = 0, nv, na, nt;
	bool more;
	unsigned v;

	if (len == 0)
		return -1;
	if (s[0] == ';')
		pos = 1;
	fv = next_field(s, len, &pos, &nv, &more);
	if (!more)
		return -1;
	fa = next_field(s, len, &pos, &na, &more);
	if (!more)
		return -1;
	ft = next_field(s, len, &pos, &nt, &more);
	if (more)
		return -1; /* a fourth field, even an empty one */
	if (ticket_version(fv, nv, &v) < 0 || !hg_sta_authority_valid(fa, na) ||
	    !hg_sta_ticket_valid(ft, nt))
		return -1;
	*version = v;
	memcpy(authority, fa, na);
	authority[na] = '\0';
	memcpy(ticket, ft, nt);
	ticket[nt] = '\0';
	return 0;
}

size_t hg_socks_method_reply(uint8_t out[2])
{
	out[0] = SOCKS_VERSION;
	out[1] = 0x00;
	return 2;
}

size_t hg_socks_connect_reply(uint8_t out[10], uint8_t rep)
{
	/* VER REP RSV ATYP(IPv4) BND.ADDR 0.0.0.0 BND.PORT 0: the client
	 * learns nothing about the inside. */
	memset(out, 0, 10);
	out[0] = SOCKS_VERSION;
	out[1] = rep;
	out[3] = 0x01;
	return 10;
}
