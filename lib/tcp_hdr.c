/* TCP header and options: parse and build (see tcp_hdr.h for the contract).
 *
 * Segments come from the wire at any alignment: multi-byte fields are read
 * and written byte by byte in network order, never through a cast.
 */
#include "tcp_hdr.h"

#include <string.h>

#include "pkt.h"

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACKOK 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8

#define TCPOLEN_MSS 4
#define TCPOLEN_WS 3
#define TCPOLEN_SACKOK 2
#define TCPOLEN_TS 10
#define TCPOLEN_SACK_BASE 2
#define TCPOLEN_SACK_BLOCK 8

/* Pseudo header: src, dst, zero, protocol, TCP length. */
#define TCP_PSEUDO_LEN 12

#include "bytes.h"

/* ---- Parsing ---- */

/* 2 + 8n with n 1..4: anything else cannot be a list of whole blocks. */
static bool sack_len_ok(uint8_t olen)
{
	unsigned n = (olen - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_BLOCK;

	/* parse_opts guarantees olen >= 2, so n is 0 for an empty list. */
	return (olen - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_BLOCK == 0 &&
	       n >= 1 && n <= HG_TCP_MAX_SACK;
}

static void parse_sack(const uint8_t *o, uint8_t olen, struct hg_tcp_opts *t)
{
	uint8_t i, n = (uint8_t)((olen - TCPOLEN_SACK_BASE) /
				 TCPOLEN_SACK_BLOCK);

	for (i = 0; i < n; i++) {
		const uint8_t *b = o + TCPOLEN_SACK_BASE +
				   (size_t)i * TCPOLEN_SACK_BLOCK;

		t->sack[i].start = get32(b);
		t->sack[i].end = get32(b + 4);
	}
	t->n_sack = n;
}

/* One option of kind o[0] and length olen, already known to fit. The
 * length of a known kind is checked even when the option repeats: a
 * malformed copy means a broken or hostile sender either way. The first
 * copy wins so a later one cannot override what was negotiated. */
static enum hg_drop parse_opt(const uint8_t *o, uint8_t olen,
			      struct hg_tcp_opts *t)
{
	switch (o[0]) {
	case TCPOPT_MSS:
		if (olen != TCPOLEN_MSS)
			return HG_DROP_tcp_bad_option;
		if (!t->has_mss) {
			t->has_mss = true;
			t->mss = get16(o + 2);
		}
		break;
	case TCPOPT_WS:
		if (olen != TCPOLEN_WS)
			return HG_DROP_tcp_bad_option;
		if (!t->has_wscale) {
			t->has_wscale = true;
			t->wscale = o[2];
		}
		break;
	case TCPOPT_SACKOK:
		if (olen != TCPOLEN_SACKOK)
			return HG_DROP_tcp_bad_option;
		t->sack_permitted = true;
		break;
	case TCPOPT_TS:
		if (olen != TCPOLEN_TS)
			return HG_DROP_tcp_bad_option;
		if (!t->has_ts) {
			t->has_ts = true;
			t->tsval = get32(o + 2);
			t->tsecr = get32(o + 6);
		}
		break;
	case TCPOPT_SACK:
		if (!sack_len_ok(olen))
			return HG_DROP_tcp_bad_option;
		if (t->n_sack == 0)
			parse_sack(o, olen, t);
		break;
	default:
		/* RFC 9293 3.1: unknown options are ignored. */
		break;
	}
	return HG_DROP_NONE;
}

/* The `len` option bytes after the fixed header. */
static enum hg_drop parse_opts(const uint8_t *p, size_t len,
			       struct hg_tcp_opts *t)
{
	size_t i = 0;

	while (i < len) {
		enum hg_drop r;
		uint8_t olen;

		if (p[i] == TCPOPT_EOL)
			break;
		if (p[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (len - i < 2)
			return HG_DROP_tcp_bad_option;
		olen = p[i + 1];
		/* Below 2 the walk would not advance past the kind and
		 * length bytes. */
		if (olen < 2 || olen > len - i)
			return HG_DROP_tcp_bad_option;
		r = parse_opt(p + i, olen, t);
		if (r != HG_DROP_NONE)
			return r;
		i += olen;
	}
	return HG_DROP_NONE;
}

enum hg_drop hg_parse_tcp(const uint8_t *p, size_t len, struct hg_tcp_hdr *out)
{
	struct hg_tcp_hdr h;
	size_t hlen;
	enum hg_drop r;

	if (len < HG_TCP_HLEN)
		return HG_DROP_tcp_truncated;
	hlen = (size_t)(p[12] >> 4) * 4;
	if (hlen < HG_TCP_HLEN || hlen > len)
		return HG_DROP_tcp_bad_offset;
	memset(&h, 0, sizeof(h));
	r = parse_opts(p + HG_TCP_HLEN, hlen - HG_TCP_HLEN, &h.opts);
	if (r != HG_DROP_NONE)
		return r;
	h.sport = get16(p);
	h.dport = get16(p + 2);
	h.seq = get32(p + 4);
	h.ack = get32(p + 8);
	h.hlen = (uint8_t)hlen;
	/* Byte 13 holds the eight flags we know; the low bit of byte 12
	 * (the historic NS bit) and the reserved bits are ignored. */
	h.flags = p[13];
	h.window = get16(p + 14);
	h.urgent = get16(p + 18);
	*out = h;
	return HG_DROP_NONE;
}

/* ---- Checksum ---- */

/* Running sum of the pseudo header. The length field is 16 bits: IPv4
 * cannot carry a longer segment, the callers check that beforehand. */
static uint32_t pseudo_sum(uint32_t sum, uint32_t src, uint32_t dst,
			   size_t tcp_len)
{
	uint8_t ph[TCP_PSEUDO_LEN];

	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = HG_IPPROTO_TCP;
	put16(ph + 10, (uint16_t)tcp_len);
	return hg_csum_add(sum, ph, sizeof(ph));
}

bool hg_tcp_csum_ok(uint32_t src, uint32_t dst, const uint8_t *p, size_t len)
{
	uint32_t sum;

	/* The pseudo header could not say this length: never valid. */
	if (len > UINT16_MAX)
		return false;
	sum = pseudo_sum(0, src, dst, len);
	sum = hg_csum_add(sum, p, len);
	return hg_csum_finish(sum) == 0;
}

uint16_t hg_tcp_csum(uint32_t src, uint32_t dst, const uint8_t *p, size_t len,
		     uint32_t extra_sum, size_t len_total)
{
	uint32_t sum;

	/* Starting from extra_sum lets hg_csum_add's wide accumulator fold
	 * it in: adding it afterwards could overflow 32 bits. One's
	 * complement addition commutes, so where it goes does not matter
	 * (the caller keeps it word-aligned: `len` is a header, a multiple
	 * of 4). */
	sum = pseudo_sum(extra_sum, src, dst, len_total);
	sum = hg_csum_add(sum, p, len);
	return hg_csum_finish(sum);
}

/* ---- Building ---- */

/* Each writer below emits a whole number of 4-byte words, or nothing when
 * `room` is short, so the options stay word-aligned without padding at
 * the end; the NOPs inside them are that padding, placed where Linux puts
 * it. */

static size_t put_mss(uint8_t *b, size_t room, const struct hg_tcp_opts *o)
{
	if (!o->has_mss || room < 4)
		return 0;
	b[0] = TCPOPT_MSS;
	b[1] = TCPOLEN_MSS;
	put16(b + 2, o->mss);
	return 4;
}

/* SACK-permitted rides in the two bytes a lone TS would pad with NOPs. */
static size_t put_ts(uint8_t *b, size_t room, const struct hg_tcp_opts *o)
{
	if (!o->has_ts || room < 12)
		return 0;
	if (o->sack_permitted) {
		b[0] = TCPOPT_SACKOK;
		b[1] = TCPOLEN_SACKOK;
	} else {
		b[0] = TCPOPT_NOP;
		b[1] = TCPOPT_NOP;
	}
	b[2] = TCPOPT_TS;
	b[3] = TCPOLEN_TS;
	put32(b + 4, o->tsval);
	put32(b + 8, o->tsecr);
	return 12;
}

static size_t put_sackok(uint8_t *b, size_t room)
{
	if (room < 4)
		return 0;
	b[0] = TCPOPT_NOP;
	b[1] = TCPOPT_NOP;
	b[2] = TCPOPT_SACKOK;
	b[3] = TCPOLEN_SACKOK;
	return 4;
}

static size_t put_ws(uint8_t *b, size_t room, const struct hg_tcp_opts *o)
{
	if (!o->has_wscale || room < 4)
		return 0;
	b[0] = TCPOPT_NOP;
	b[1] = TCPOPT_WS;
	b[2] = TCPOLEN_WS;
	b[3] = o->wscale;
	return 4;
}

/* As many blocks as fit, the first ones: the receiver reports the most
 * recently changed block first (RFC 2018 section 4). */
static size_t put_sack(uint8_t *b, size_t room, const struct hg_tcp_opts *o)
{
	size_t i, n = o->n_sack;

	if (n > HG_TCP_MAX_SACK)
		n = HG_TCP_MAX_SACK;
	if (room < 4 + TCPOLEN_SACK_BLOCK)
		return 0;
	if (n > (room - 4) / TCPOLEN_SACK_BLOCK)
		n = (room - 4) / TCPOLEN_SACK_BLOCK;
	if (n == 0)
		return 0;
	b[0] = TCPOPT_NOP;
	b[1] = TCPOPT_NOP;
	b[2] = TCPOPT_SACK;
	b[3] = (uint8_t)(TCPOLEN_SACK_BASE + n * TCPOLEN_SACK_BLOCK);
	for (i = 0; i < n; i++) {
		put32(b + 4 + i * TCPOLEN_SACK_BLOCK, o->sack[i].start);
		put32(b + 8 + i * TCPOLEN_SACK_BLOCK, o->sack[i].end);
	}
	return 4 + n * TCPOLEN_SACK_BLOCK;
}

size_t hg_tcp_opts_write(uint8_t *buf, size_t cap, const struct hg_tcp_opts *o)
{
	size_t lim = cap < HG_TCP_MAX_OPTLEN ? cap : HG_TCP_MAX_OPTLEN;
	size_t n = 0, ts;

	n += put_mss(buf + n, lim - n, o);
	ts = put_ts(buf + n, lim - n, o);
	n += ts;
	/* With TS written, SACK-permitted went into its padding. */
	if (o->sack_permitted && ts == 0)
		n += put_sackok(buf + n, lim - n);
	n += put_ws(buf + n, lim - n, o);
	n += put_sack(buf + n, lim - n, o);
	return n;
}

size_t hg_tcp_hdr_write(uint8_t *buf, size_t cap, const struct hg_tcp_hdr *h)
{
	uint8_t opt[HG_TCP_MAX_OPTLEN];
	size_t optlen, hlen;

	/* Options go to a scratch buffer first: a short `cap` must fail the
	 * whole header rather than silently drop options. */
	optlen = hg_tcp_opts_write(opt, sizeof(opt), &h->opts);
	hlen = HG_TCP_HLEN + optlen;
	if (cap < hlen)
		return 0;
	put16(buf, h->sport);
	put16(buf + 2, h->dport);
	put32(buf + 4, h->seq);
	put32(buf + 8, h->ack);
	buf[12] = (uint8_t)(hlen / 4 << 4);
	buf[13] = h->flags;
	put16(buf + 14, h->window);
	put16(buf + 16, 0);
	put16(buf + 18, h->urgent);
	memcpy(buf + HG_TCP_HLEN, opt, optlen);
	return hlen;
}
