/* CGP bind parsing and the gateway's few packets. The framing we assume
 * is written down in cgp.h ("our reading"); everything that depends on it
 * is in this file. */
#include "cgp.h"

#include <string.h>

static const uint8_t magic[HG_CGP_MAGIC_LEN] = HG_CGP_MAGIC;

bool hg_cgp_is_magic_prefix(const uint8_t *p, size_t len)
{
	if (len == 0)
		return true;
	return memcmp(p, magic, len < sizeof(magic) ? len : sizeof(magic)) == 0;
}

size_t hg_cgp_varlen_put(uint8_t *out, unsigned v)
{
	if (v > HG_CGP_VARLEN_MAX)
		return 0;
	if (v < 0x80) {
		out[0] = (uint8_t)v;
		return 1;
	}
	out[0] = (uint8_t)((v & 0x7f) | 0x80);
	out[1] = (uint8_t)(v >> 7);
	return 2;
}

int hg_cgp_varlen_get(const uint8_t *p, size_t len, unsigned *v)
{
	if (len < 1)
		return -2;
	if (p[0] < 0x80) {
		*v = p[0];
		return 1;
	}
	if (len < 2)
		return -2;
	if (p[1] == 0)
		return -1; /* a value < 128 in two bytes */
	*v = (unsigned)(p[0] & 0x7f) | (unsigned)p[1] << 7;
	return 2;
}

/* The magic then one packet's header at p[0..len): on > 0, *body is the
 * offset of the packet's first byte (its cmd) and *plen the packet's
 * length (>= 1). -2, -1 as the parsers. The packet itself may be
 * incomplete. */
static int packet_head(const uint8_t *p, size_t len, size_t *body,
		       unsigned *plen)
{
	int n;

	if (!hg_cgp_is_magic_prefix(p, len))
		return -1;
	if (len < HG_CGP_MAGIC_LEN)
		return -2;
	n = hg_cgp_varlen_get(p + HG_CGP_MAGIC_LEN, len - HG_CGP_MAGIC_LEN,
			      plen);
	if (n < 0)
		return n;
	if (*plen == 0)
		return -1; /* not even a cmd */
	*body = HG_CGP_MAGIC_LEN + (size_t)n;
	return 1;
}

/* The security-ticket capability's body c[0..n): type, varlen(t), t bytes
 * of ticket, then possibly fields we do not know. 0 or -1. */
static int ticket_cap(const uint8_t *c, size_t n, struct hg_cgp_bind *b)
{
	unsigned t;
	int k;

	if (n < 1 || c[0] != HG_CGP_TICKET_TYPE_STA)
		return -1;
	k = hg_cgp_varlen_get(c + 1, n - 1, &t);
	if (k < 0) /* inside a whole capability, short is malformed too */
		return -1;
	if (t == 0 || t > HG_CGP_TICKET_MAX || t > n - 1 - (size_t)k)
		return -1;
	b->ticket_type = c[0];
	b->ticket = c + 1 + k;
	b->ticket_len = t;
	return 0;
}

int hg_cgp_parse_bind(const uint8_t *p, size_t len, struct hg_cgp_bind *b)
{
	struct hg_cgp_bind got = {0};
	size_t body, end, pos;
	unsigned plen, n, id;
	int r, k;

	r = packet_head(p, len, &body, &plen);
	if (r < 0)
		return r;
	if (len > body && p[body] != HG_CGP_BIND_REQUEST)
		return -1;
	end = body + plen;
	if (len < end)
		return -2;

	for (pos = body + 1; pos < end; pos += n) {
		k = hg_cgp_varlen_get(p + pos, end - pos, &n);
		if (k < 0)
			return -1;
		pos += (size_t)k;
		if (n < 2 || n > end - pos)
			return -1;
		id = (unsigned)p[pos] | (unsigned)p[pos + 1] << 8;
		if (id != HG_CGP_CAP_SECURITY_TICKET)
			continue;
		if (got.ticket != NULL ||
		    ticket_cap(p + pos + 2, n - 2, &got) < 0)
			return -1;
	}
	if (got.ticket == NULL)
		return -1;
	got.bytes = end;
	*b = got;
	return (int)end;
}

int hg_cgp_parse_reply(const uint8_t *p, size_t len, uint8_t *cmd,
		       uint8_t *code)
{
	size_t body, end;
	unsigned plen;
	int r;

	r = packet_head(p, len, &body, &plen);
	if (r < 0)
		return r;
	if (plen < 2)
		return -1; /* cmd without its status or reason byte */
	end = body + plen;
	if (len < end)
		return -2;
	*cmd = p[body];
	*code = p[body + 1];
	return (int)end;
}

/* magic + varlen(plen) at out; the packet's plen bytes follow. The header
 * length, or 0 if header and packet do not fit in cap. */
static size_t put_head(uint8_t *out, size_t cap, unsigned plen)
{
	uint8_t v[2];
	size_t n = hg_cgp_varlen_put(v, plen);

	if (n == 0 || cap < HG_CGP_MAGIC_LEN + n + plen)
		return 0;
	memcpy(out, magic, HG_CGP_MAGIC_LEN);
	memcpy(out + HG_CGP_MAGIC_LEN, v, n);
	return HG_CGP_MAGIC_LEN + n;
}

size_t hg_cgp_bind_request(uint8_t *out, size_t cap, const char *ticket,
			   size_t ticket_len)
{
	uint8_t tl[2];
	size_t tn, cap_len, cn, plen, pos;
	uint8_t cl[2];

	if (ticket_len == 0 || ticket_len > HG_CGP_TICKET_MAX)
		return 0;
	tn = hg_cgp_varlen_put(tl, (unsigned)ticket_len);
	cap_len = 2 + 1 + tn + ticket_len; /* id, type, varlen, ticket */
	cn = hg_cgp_varlen_put(cl, (unsigned)cap_len);
	plen = 1 + cn + cap_len; /* cmd, the one capability */
	pos = put_head(out, cap, (unsigned)plen);
	if (pos == 0)
		return 0;
	out[pos++] = HG_CGP_BIND_REQUEST;
	memcpy(out + pos, cl, cn);
	pos += cn;
	out[pos++] = HG_CGP_CAP_SECURITY_TICKET & 0xff;
	out[pos++] = HG_CGP_CAP_SECURITY_TICKET >> 8;
	out[pos++] = HG_CGP_TICKET_TYPE_STA;
	memcpy(out + pos, tl, tn);
	pos += tn;
	memcpy(out + pos, ticket, ticket_len);
	return pos + ticket_len;
}

/* magic + a 2-byte packet: cmd, code. */
static size_t two_byte_packet(uint8_t *out, size_t cap, uint8_t cmd,
			      uint8_t code)
{
	size_t pos = put_head(out, cap, 2);

	if (pos == 0)
		return 0;
	out[pos] = cmd;
	out[pos + 1] = code;
	return pos + 2;
}

size_t hg_cgp_bind_response(uint8_t *out, size_t cap, uint8_t status)
{
	return two_byte_packet(out, cap, HG_CGP_BIND_RESPONSE, status);
}

size_t hg_cgp_finish(uint8_t *out, size_t cap, uint8_t reason)
{
	return two_byte_packet(out, cap, HG_CGP_FINISH_REQUEST, reason);
}
