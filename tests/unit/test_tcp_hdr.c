/* Unit tests for lib/tcp_hdr.c: TCP header and option parsing, the option
 * and header writers, the checksum and the sequence-number helpers.
 *
 * Segments are assembled byte by byte here, option bytes are spelled out
 * as they appear on the wire, and checksums are checked against a naive
 * reference sum written in this file, so the tests do not trust the code
 * they test to build their inputs.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "pkt.h"
#include "tcp_hdr.h"

#define IP4(a, b, c, d)                                                        \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |      \
	 (uint32_t)(d))

#define IP_A IP4(192, 0, 2, 1)
#define IP_B IP4(198, 51, 100, 7)

#define SPORT 49152
#define DPORT 443
#define SEQ 0x01020304u
#define ACK 0xa0b0c0d0u
#define WIN 64240

/* ---- Segment-building helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Fixed header with the test's ports, numbers and window, data offset
 * `doff` words, followed by `opt_len` option bytes. Returns 20 + opt_len. */
static size_t write_raw(uint8_t *p, uint8_t doff, uint8_t flags,
			const uint8_t *opts, size_t opt_len)
{
	put16(p, SPORT);
	put16(p + 2, DPORT);
	put32(p + 4, SEQ);
	put32(p + 8, ACK);
	p[12] = (uint8_t)(doff << 4);
	p[13] = flags;
	put16(p + 14, WIN);
	put16(p + 16, 0);
	put16(p + 18, 0);
	if (opt_len)
		memcpy(p + 20, opts, opt_len);
	return 20 + opt_len;
}

/* A well-formed header: `opt_len` must be a multiple of 4. */
static size_t write_seg(uint8_t *p, const uint8_t *opts, size_t opt_len)
{
	cr_assert_eq(opt_len % 4, 0, "test bug: options not padded");
	return write_raw(p, (uint8_t)(5 + opt_len / 4), HG_TCP_ACK, opts,
			 opt_len);
}

/* Textbook RFC 1071, one byte at a time, over a pseudo header and the
 * segment, independent of hg_csum_add. Returns the inverted sum. */
static uint16_t ref_tcp_csum(uint32_t src, uint32_t dst, const uint8_t *p,
			     size_t len)
{
	uint8_t ph[12];
	uint64_t sum = 0;
	size_t i;

	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = 6;
	put16(ph + 10, (uint16_t)len);
	for (i = 0; i < sizeof(ph); i++)
		sum += (i % 2 == 0) ? (uint32_t)ph[i] << 8 : ph[i];
	for (i = 0; i < len; i++)
		sum += (i % 2 == 0) ? (uint32_t)p[i] << 8 : p[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#define assert_drop(got, want)                                                 \
	cr_assert_eq((got), (want), "got %s, want %s", hg_drop_names[(got)],   \
		     hg_drop_names[(want)])

/* Parses a header made of `opts` and expects the drop reason `want`. */
static void expect_opts_drop(const uint8_t *opts, size_t opt_len,
			     enum hg_drop want)
{
	uint8_t s[60];
	struct hg_tcp_hdr h;

	write_seg(s, opts, opt_len);
	assert_drop(hg_parse_tcp(s, 20 + opt_len, &h), want);
}

/* Parses a header made of `opts`, which must succeed. */
static struct hg_tcp_opts parse_opts_ok(const uint8_t *opts, size_t opt_len)
{
	uint8_t s[60];
	struct hg_tcp_hdr h;

	write_seg(s, opts, opt_len);
	assert_drop(hg_parse_tcp(s, 20 + opt_len, &h), HG_DROP_NONE);
	cr_assert_eq(h.hlen, 20 + opt_len);
	return h.opts;
}

static void assert_no_opts(const struct hg_tcp_opts *o)
{
	cr_assert_not(o->has_mss);
	cr_assert_not(o->has_wscale);
	cr_assert_not(o->sack_permitted);
	cr_assert_not(o->has_ts);
	cr_assert_eq(o->n_sack, 0);
}

/* ---- Fixed header ---- */

Test(tcp_parse, plain_header)
{
	uint8_t s[20];
	struct hg_tcp_hdr h;

	write_raw(s, 5, HG_TCP_SYN | HG_TCP_ACK, NULL, 0);
	put16(s + 18, 0x1234);
	assert_drop(hg_parse_tcp(s, sizeof(s), &h), HG_DROP_NONE);
	cr_assert_eq(h.sport, SPORT);
	cr_assert_eq(h.dport, DPORT);
	cr_assert_eq(h.seq, SEQ);
	cr_assert_eq(h.ack, ACK);
	cr_assert_eq(h.hlen, 20);
	cr_assert_eq(h.flags, HG_TCP_SYN | HG_TCP_ACK);
	cr_assert_eq(h.window, WIN);
	cr_assert_eq(h.urgent, 0x1234);
	assert_no_opts(&h.opts);
}

Test(tcp_parse, all_flags_and_reserved_bits)
{
	uint8_t s[20];
	struct hg_tcp_hdr h;

	write_raw(s, 5, 0xff, NULL, 0);
	s[12] |= 0x0f; /* reserved bits and NS: not ours to judge */
	assert_drop(hg_parse_tcp(s, sizeof(s), &h), HG_DROP_NONE);
	cr_assert_eq(h.flags, 0xff);
	cr_assert_eq(h.hlen, 20);
}

Test(tcp_parse, payload_after_header)
{
	uint8_t s[100] = {0};
	struct hg_tcp_hdr h;

	write_raw(s, 5, HG_TCP_ACK | HG_TCP_PSH, NULL, 0);
	memset(s + 20, 0x02, 80); /* would be bad options if read as such */
	assert_drop(hg_parse_tcp(s, sizeof(s), &h), HG_DROP_NONE);
	cr_assert_eq(h.hlen, 20);
	assert_no_opts(&h.opts);
}

/* ---- Options, one at a time ---- */

Test(tcp_opts, mss)
{
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_mss);
	cr_assert_eq(t.mss, 1460);
	cr_assert_not(t.has_wscale || t.sack_permitted || t.has_ts);
	cr_assert_eq(t.n_sack, 0);
}

Test(tcp_opts, wscale)
{
	static const uint8_t o[] = {0x01, 0x03, 0x03, 0x0e};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_wscale);
	cr_assert_eq(t.wscale, 14);
	cr_assert_not(t.has_mss || t.sack_permitted || t.has_ts);
}

Test(tcp_opts, wscale_over_14_kept_as_received)
{
	static const uint8_t o[] = {0x01, 0x03, 0x03, 0xff};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_wscale);
	cr_assert_eq(t.wscale, 255);
}

Test(tcp_opts, sack_permitted)
{
	static const uint8_t o[] = {0x01, 0x01, 0x04, 0x02};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.sack_permitted);
	cr_assert_not(t.has_mss || t.has_wscale || t.has_ts);
	cr_assert_eq(t.n_sack, 0);
}

Test(tcp_opts, timestamps)
{
	static const uint8_t o[] = {0x01, 0x01, 0x08, 0x0a, 0xde, 0xad,
				    0xbe, 0xef, 0x00, 0x00, 0x00, 0x01};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_ts);
	cr_assert_eq(t.tsval, 0xdeadbeef);
	cr_assert_eq(t.tsecr, 1);
	cr_assert_not(t.has_mss || t.has_wscale || t.sack_permitted);
}

Test(tcp_opts, nops_only)
{
	static const uint8_t o[] = {0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
				    0x01};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	assert_no_opts(&t);
}

/* The exact bytes of a Linux SYN: MSS, SACKOK TS, NOP WS. */
Test(tcp_opts, linux_syn)
{
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08,
				    0x0a, 0x9a, 0x3c, 0x11, 0x7e, 0x00, 0x00,
				    0x00, 0x00, 0x01, 0x03, 0x03, 0x07};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_mss && t.has_wscale && t.sack_permitted && t.has_ts);
	cr_assert_eq(t.mss, 1460);
	cr_assert_eq(t.wscale, 7);
	cr_assert_eq(t.tsval, 0x9a3c117e);
	cr_assert_eq(t.tsecr, 0);
	cr_assert_eq(t.n_sack, 0);
}

/* Linux SYN-ACK when the peer did not offer timestamps. */
Test(tcp_opts, linux_synack_without_ts)
{
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x01,
				    0x04, 0x02, 0x01, 0x03, 0x03, 0x09};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_mss && t.sack_permitted && t.has_wscale);
	cr_assert_not(t.has_ts);
	cr_assert_eq(t.mss, 1460);
	cr_assert_eq(t.wscale, 9);
}

static void check_sack(uint8_t n)
{
	uint8_t o[40] = {0x01, 0x01, 0x05, (uint8_t)(2 + 8 * n)};
	struct hg_tcp_opts t;
	uint8_t i;

	for (i = 0; i < n; i++) {
		put32(o + 4 + 8 * i, 0xfffffff0u + 0x100u * i);
		put32(o + 8 + 8 * i, 0xfffffff0u + 0x100u * i + 0x80);
	}
	t = parse_opts_ok(o, 4 + 8 * (size_t)n);
	cr_assert_eq(t.n_sack, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(t.sack[i].start, 0xfffffff0u + 0x100u * i);
		cr_assert_eq(t.sack[i].end, 0xfffffff0u + 0x100u * i + 0x80);
	}
	cr_assert_not(t.has_mss || t.has_ts || t.sack_permitted);
}

Test(tcp_opts, sack_1_block)
{
	check_sack(1);
}

Test(tcp_opts, sack_2_blocks)
{
	check_sack(2);
}

Test(tcp_opts, sack_3_blocks)
{
	check_sack(3);
}

Test(tcp_opts, sack_4_blocks)
{
	check_sack(4);
}

/* A Linux ACK with timestamps and three SACK blocks fills all 40 bytes. */
Test(tcp_opts, ts_and_3_sack_blocks)
{
	uint8_t o[40] = {0x01, 0x01, 0x08, 0x0a};
	struct hg_tcp_opts t;

	put32(o + 4, 100);
	put32(o + 8, 200);
	o[12] = 0x01;
	o[13] = 0x01;
	o[14] = 0x05;
	o[15] = 26;
	put32(o + 16, 1000);
	put32(o + 20, 2000);
	put32(o + 24, 3000);
	put32(o + 28, 4000);
	put32(o + 32, 5000);
	put32(o + 36, 6000);
	t = parse_opts_ok(o, sizeof(o));
	cr_assert(t.has_ts);
	cr_assert_eq(t.tsval, 100);
	cr_assert_eq(t.tsecr, 200);
	cr_assert_eq(t.n_sack, 3);
	cr_assert_eq(t.sack[0].start, 1000);
	cr_assert_eq(t.sack[2].end, 6000);
}

Test(tcp_opts, eol_ends_options)
{
	/* After EOL: a 2-byte MSS that would be malformed if it were read. */
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4,
				    0x00, 0x02, 0x02, 0x00};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_mss);
	cr_assert_eq(t.mss, 1460);
	cr_assert_not(t.has_wscale);
}

Test(tcp_opts, eol_first_means_no_options)
{
	static const uint8_t o[] = {0x00, 0x03, 0x03, 0x07};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	assert_no_opts(&t);
}

Test(tcp_opts, unknown_option_skipped)
{
	/* Kind 30 (MPTCP), length 6, then MSS. */
	static const uint8_t o[] = {0x1e, 0x06, 0x00, 0x81, 0x02, 0x02,
				    0x02, 0x04, 0x05, 0x78, 0x01, 0x01};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_mss);
	cr_assert_eq(t.mss, 1400);
}

Test(tcp_opts, unknown_empty_option_skipped)
{
	/* Kind 0xfd (experimental) with only its kind and length bytes. */
	static const uint8_t o[] = {0xfd, 0x02, 0x03, 0x03, 0x05, 0x01,
				    0x01, 0x01};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert(t.has_wscale);
	cr_assert_eq(t.wscale, 5);
}

/* ---- Malformed headers ---- */

Test(tcp_bad, shorter_than_header)
{
	uint8_t s[20];
	struct hg_tcp_hdr h;

	write_raw(s, 5, HG_TCP_ACK, NULL, 0);
	assert_drop(hg_parse_tcp(s, 19, &h), HG_DROP_tcp_truncated);
	assert_drop(hg_parse_tcp(s, 0, &h), HG_DROP_tcp_truncated);
}

Test(tcp_bad, offset_below_5)
{
	uint8_t s[20];
	struct hg_tcp_hdr h;

	write_raw(s, 4, HG_TCP_ACK, NULL, 0);
	assert_drop(hg_parse_tcp(s, sizeof(s), &h), HG_DROP_tcp_bad_offset);
	write_raw(s, 0, HG_TCP_ACK, NULL, 0);
	assert_drop(hg_parse_tcp(s, sizeof(s), &h), HG_DROP_tcp_bad_offset);
}

Test(tcp_bad, offset_beyond_len)
{
	uint8_t s[60] = {0};
	struct hg_tcp_hdr h;

	write_raw(s, 6, HG_TCP_ACK, NULL, 0);
	assert_drop(hg_parse_tcp(s, 23, &h), HG_DROP_tcp_bad_offset);
	write_raw(s, 15, HG_TCP_ACK, NULL, 0);
	assert_drop(hg_parse_tcp(s, 59, &h), HG_DROP_tcp_bad_offset);
	/* The same header fits in exactly 60 bytes (its zeros read as EOL). */
	assert_drop(hg_parse_tcp(s, 60, &h), HG_DROP_NONE);
	cr_assert_eq(h.hlen, 60);
}

Test(tcp_bad, option_length_0)
{
	static const uint8_t o[] = {0x1e, 0x00, 0x01, 0x01};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, option_length_1)
{
	static const uint8_t o[] = {0x1e, 0x01, 0x01, 0x01};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, option_past_header)
{
	/* Length 8 in a 4-byte option area; the payload would hold the
	 * rest, which must not be read as options. */
	uint8_t s[40] = {0};
	static const uint8_t o[] = {0x1e, 0x08, 0x00, 0x00};
	struct hg_tcp_hdr h;

	write_seg(s, o, sizeof(o));
	assert_drop(hg_parse_tcp(s, sizeof(s), &h), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, mss_length_3)
{
	static const uint8_t o[] = {0x02, 0x03, 0x05, 0x01};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, ws_length_4)
{
	static const uint8_t o[] = {0x03, 0x04, 0x07, 0x00};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, sackok_length_3)
{
	static const uint8_t o[] = {0x04, 0x03, 0x00, 0x01};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, ts_length_8)
{
	static const uint8_t o[] = {0x08, 0x08, 0, 0, 0, 1, 0, 0};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, sack_length_7)
{
	static const uint8_t o[] = {0x05, 0x07, 0, 0, 0, 1, 0, 0};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, sack_length_2_and_11)
{
	static const uint8_t empty[] = {0x05, 0x02, 0x01, 0x01};
	static const uint8_t ragged[] = {0x05, 0x0b, 0, 0, 0, 1,
					 0, 0, 0, 2, 0, 0x01};

	expect_opts_drop(empty, sizeof(empty), HG_DROP_tcp_bad_option);
	expect_opts_drop(ragged, sizeof(ragged), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, sack_length_42)
{
	uint8_t o[40] = {0x05, 42};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

/* Five blocks (length 42) cannot fit a 40-byte option area, but length 34
 * is the largest legal SACK; 34 + 6 bytes of unknown option parses. */
Test(tcp_bad, sack_length_34_is_the_maximum)
{
	uint8_t o[40] = {0x05, 34};
	struct hg_tcp_opts t;

	o[34] = 0x1e;
	o[35] = 6;
	t = parse_opts_ok(o, sizeof(o));
	cr_assert_eq(t.n_sack, 4);
}

Test(tcp_bad, kind_without_length_at_end)
{
	static const uint8_t o[] = {0x01, 0x01, 0x01, 0x02};
	uint8_t s[24]; /* exactly the header: ASan sees a read past it */
	struct hg_tcp_hdr h;

	write_seg(s, o, sizeof(o));
	assert_drop(hg_parse_tcp(s, sizeof(s), &h), HG_DROP_tcp_bad_option);
}

Test(tcp_bad, out_untouched_on_failure)
{
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4,
				    0x03, 0x04, 0x07, 0x00};
	uint8_t s[28], before[sizeof(struct hg_tcp_hdr)];
	struct hg_tcp_hdr h;

	memset(&h, 0xa5, sizeof(h));
	memcpy(before, &h, sizeof(h));
	write_seg(s, o, sizeof(o));
	assert_drop(hg_parse_tcp(s, sizeof(s), &h), HG_DROP_tcp_bad_option);
	assert_drop(hg_parse_tcp(s, 10, &h), HG_DROP_tcp_truncated);
	cr_assert_arr_eq(&h, before, sizeof(h));
}

/* ---- Repeated options ---- */

Test(tcp_repeat, mss_keeps_first)
{
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4,
				    0x02, 0x04, 0x02, 0x18};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert_eq(t.mss, 1460);
}

Test(tcp_repeat, wscale_keeps_first)
{
	static const uint8_t o[] = {0x01, 0x03, 0x03, 0x02,
				    0x01, 0x03, 0x03, 0x0e};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert_eq(t.wscale, 2);
}

Test(tcp_repeat, ts_keeps_first)
{
	static const uint8_t o[] = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 7, 0, 0,
				    0, 8, 0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 9,
				    0, 0, 0, 10};
	struct hg_tcp_opts t = parse_opts_ok(o, sizeof(o));

	cr_assert_eq(t.tsval, 7);
	cr_assert_eq(t.tsecr, 8);
}

Test(tcp_repeat, sack_keeps_first)
{
	uint8_t o[32] = {0x01, 0x01, 0x05, 0x0a};
	struct hg_tcp_opts t;

	put32(o + 4, 10);
	put32(o + 8, 20);
	o[12] = 0x01;
	o[13] = 0x01;
	o[14] = 0x05;
	o[15] = 0x12;
	put32(o + 16, 30);
	put32(o + 20, 40);
	put32(o + 24, 50);
	put32(o + 28, 60);
	t = parse_opts_ok(o, sizeof(o));

	cr_assert_eq(t.n_sack, 1);
	cr_assert_eq(t.sack[0].start, 10);
	cr_assert_eq(t.sack[0].end, 20);
}

/* A repeat is ignored but still has to be well formed. */
Test(tcp_repeat, malformed_repeat_is_dropped)
{
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4,
				    0x02, 0x03, 0x05, 0x01};

	expect_opts_drop(o, sizeof(o), HG_DROP_tcp_bad_option);
}

/* ---- Checksum ---- */

/* A SYN with Linux options, 192.0.2.1:49152 -> 198.51.100.7:443. */
static size_t write_syn(uint8_t *s)
{
	static const uint8_t o[] = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08,
				    0x0a, 0x9a, 0x3c, 0x11, 0x7e, 0x00, 0x00,
				    0x00, 0x00, 0x01, 0x03, 0x03, 0x07};
	size_t n = write_seg(s, o, sizeof(o));

	s[13] = HG_TCP_SYN;
	put32(s + 8, 0);
	return n;
}

Test(tcp_csum, known_value)
{
	uint8_t s[40];
	size_t n = write_syn(s);

	cr_assert_eq(n, 40);
	cr_assert_eq(hg_tcp_csum(IP_A, IP_B, s, n, 0, n),
		     ref_tcp_csum(IP_A, IP_B, s, n));
	/* Summed separately (Python, 16-bit words, carries folded in). */
	cr_assert_eq(hg_tcp_csum(IP_A, IP_B, s, n, 0, n), 0xef56);
}

Test(tcp_csum, stored_value_verifies)
{
	uint8_t s[40];
	size_t n = write_syn(s);

	put16(s + 16, hg_tcp_csum(IP_A, IP_B, s, n, 0, n));
	cr_assert(hg_tcp_csum_ok(IP_A, IP_B, s, n));
	cr_assert_not(hg_tcp_csum_ok(IP_A, IP_B, s, n - 4));
}

Test(tcp_csum, any_single_bit_flip_fails)
{
	uint8_t s[40];
	size_t n = write_syn(s), bit;

	put16(s + 16, hg_tcp_csum(IP_A, IP_B, s, n, 0, n));
	for (bit = 0; bit < n * 8; bit++) {
		s[bit / 8] ^= (uint8_t)(1u << bit % 8);
		cr_assert_not(hg_tcp_csum_ok(IP_A, IP_B, s, n), "bit %zu",
			      bit);
		s[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	cr_assert(hg_tcp_csum_ok(IP_A, IP_B, s, n));
}

Test(tcp_csum, pseudo_header_counts)
{
	uint8_t s[40];
	size_t n = write_syn(s);

	put16(s + 16, hg_tcp_csum(IP_A, IP_B, s, n, 0, n));
	cr_assert_not(hg_tcp_csum_ok(IP_A, IP_B + 1, s, n));
	cr_assert_not(hg_tcp_csum_ok(IP_A ^ 0x100, IP_B, s, n));
}

Test(tcp_csum, odd_payload_length)
{
	uint8_t s[64];
	size_t n = write_seg(s, NULL, 0), i;

	for (i = 0; i < 7; i++)
		s[n + i] = (uint8_t)(0xf1 + i * 3);
	n += 7;
	cr_assert_eq(hg_tcp_csum(IP_A, IP_B, s, n, 0, n),
		     ref_tcp_csum(IP_A, IP_B, s, n));
	put16(s + 16, hg_tcp_csum(IP_A, IP_B, s, n, 0, n));
	cr_assert(hg_tcp_csum_ok(IP_A, IP_B, s, n));
	s[n - 1] ^= 0x80; /* the odd byte is the high half of its word */
	cr_assert_not(hg_tcp_csum_ok(IP_A, IP_B, s, n));
}

Test(tcp_csum, payload_summed_elsewhere)
{
	uint8_t s[64], payload[13];
	size_t hl = write_syn(s), i;
	uint32_t extra;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(0x40 + i * 11);
	memcpy(s + hl, payload, sizeof(payload));
	extra = hg_csum_add(0, payload, sizeof(payload));
	cr_assert_eq(hg_tcp_csum(IP_A, IP_B, s, hl, extra,
				 hl + sizeof(payload)),
		     ref_tcp_csum(IP_A, IP_B, s, hl + sizeof(payload)));
}

Test(tcp_csum, large_extra_sum_does_not_overflow)
{
	uint8_t s[20];
	size_t n = write_seg(s, NULL, 0);

	/* 0xffffffff folds to 0xffff + 0xffff -> 0xffff, which is -0. */
	cr_assert_eq(hg_tcp_csum(IP_A, IP_B, s, n, 0xffffffffu, n),
		     hg_tcp_csum(IP_A, IP_B, s, n, 0, n));
}

/* ---- Writers ---- */

/* What the option writer should produce for `o`, computed from the rules
 * rather than from the code: MSS 4, TS (with SACKOK folded in) 12 or
 * SACKOK 4, WS 4, then NOP NOP SACK with the blocks that fit in 40. */
static size_t expect_opts_len(const struct hg_tcp_opts *o, uint8_t *n_sack)
{
	size_t n = 0;

	n += o->has_mss ? 4 : 0;
	n += o->has_ts ? 12 : o->sack_permitted ? 4 : 0;
	n += o->has_wscale ? 4 : 0;
	*n_sack = o->n_sack;
	if (*n_sack > (40 - n - 4) / 8)
		*n_sack = (uint8_t)((40 - n - 4) / 8);
	if (*n_sack)
		n += 4 + 8 * (size_t)*n_sack;
	return n;
}

static struct hg_tcp_opts make_opts(unsigned mask, uint8_t n_sack)
{
	struct hg_tcp_opts o;
	uint8_t i;

	memset(&o, 0, sizeof(o));
	o.has_mss = mask & 1;
	o.has_ts = mask & 2;
	o.sack_permitted = mask & 4;
	o.has_wscale = mask & 8;
	o.mss = o.has_mss ? 8960 : 0;
	o.wscale = o.has_wscale ? 12 : 0;
	o.tsval = o.has_ts ? 0x80000001u : 0;
	o.tsecr = o.has_ts ? 0x7ffffffeu : 0;
	o.n_sack = n_sack;
	for (i = 0; i < n_sack; i++) {
		o.sack[i].start = 0xffff0000u + 0x1000u * i;
		o.sack[i].end = 0xffff0000u + 0x1000u * i + 0x5a8;
	}
	return o;
}

static void assert_opts_eq(const struct hg_tcp_opts *got,
			   const struct hg_tcp_opts *want, uint8_t n_sack)
{
	uint8_t i;

	cr_assert_eq(got->has_mss, want->has_mss);
	cr_assert_eq(got->has_wscale, want->has_wscale);
	cr_assert_eq(got->sack_permitted, want->sack_permitted);
	cr_assert_eq(got->has_ts, want->has_ts);
	cr_assert_eq(got->mss, want->mss);
	cr_assert_eq(got->wscale, want->wscale);
	cr_assert_eq(got->tsval, want->tsval);
	cr_assert_eq(got->tsecr, want->tsecr);
	cr_assert_eq(got->n_sack, n_sack);
	for (i = 0; i < n_sack; i++) {
		cr_assert_eq(got->sack[i].start, want->sack[i].start);
		cr_assert_eq(got->sack[i].end, want->sack[i].end);
	}
}

/* Every combination of the four flags with 0..4 SACK blocks. */
Test(tcp_write, opts_round_trip_all_combinations)
{
	unsigned mask;
	uint8_t n;

	for (mask = 0; mask < 16; mask++) {
		for (n = 0; n <= HG_TCP_MAX_SACK; n++) {
			struct hg_tcp_opts o = make_opts(mask, n), t;
			uint8_t buf[40], want_sack;
			size_t want = expect_opts_len(&o, &want_sack);
			size_t len = hg_tcp_opts_write(buf, sizeof(buf), &o);

			cr_assert_eq(len, want, "mask %u n %u", mask, n);
			cr_assert_eq(len % 4, 0);
			t = parse_opts_ok(buf, len);
			assert_opts_eq(&t, &o, want_sack);
		}
	}
}

Test(tcp_write, empty)
{
	struct hg_tcp_opts o = make_opts(0, 0);
	uint8_t buf[40];

	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 0);
}

Test(tcp_write, linux_syn_bytes)
{
	static const uint8_t want[] = {0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08,
				       0x0a, 0x9a, 0x3c, 0x11, 0x7e, 0x00, 0x00,
				       0x00, 0x00, 0x01, 0x03, 0x03, 0x07};
	struct hg_tcp_opts o = {
		.has_mss = true, .mss = 1460, .sack_permitted = true,
		.has_ts = true, .tsval = 0x9a3c117e, .has_wscale = true,
		.wscale = 7,
	};
	uint8_t buf[40];

	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 20);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(tcp_write, ts_only_bytes)
{
	static const uint8_t want[] = {0x01, 0x01, 0x08, 0x0a, 0, 0,
				       0, 5, 0x11, 0x22, 0x33, 0x44};
	struct hg_tcp_opts o = {.has_ts = true, .tsval = 5,
				.tsecr = 0x11223344};
	uint8_t buf[40];

	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 12);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(tcp_write, sackok_and_ws_bytes)
{
	static const uint8_t want[] = {0x01, 0x01, 0x04, 0x02,
				       0x01, 0x03, 0x03, 0x0e};
	struct hg_tcp_opts o = {.sack_permitted = true, .has_wscale = true,
				.wscale = 14};
	uint8_t buf[40];

	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 8);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(tcp_write, sack_bytes)
{
	static const uint8_t want[] = {0x01, 0x01, 0x05, 0x0a, 0, 0,
				       0, 1, 0xff, 0xff, 0xff, 0xff};
	struct hg_tcp_opts o = {.n_sack = 1, .sack = {{1, 0xffffffffu}}};
	uint8_t buf[40];

	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 12);
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(tcp_write, sack_with_ts_keeps_first_3)
{
	struct hg_tcp_opts o = make_opts(2, 4), t;
	uint8_t buf[40];

	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 40);
	cr_assert_eq(buf[15], 26); /* SACK length: 3 blocks */
	t = parse_opts_ok(buf, 40);
	assert_opts_eq(&t, &o, 3);
}

Test(tcp_write, sack_without_ts_keeps_4)
{
	struct hg_tcp_opts o = make_opts(0, 4), t;
	uint8_t buf[40];

	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 36);
	t = parse_opts_ok(buf, 36);
	assert_opts_eq(&t, &o, 4);
}

Test(tcp_write, sack_after_mss_ts_ws_keeps_2)
{
	struct hg_tcp_opts o = make_opts(1 | 2 | 8, 4), t;
	uint8_t buf[40];

	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 40);
	t = parse_opts_ok(buf, 40);
	assert_opts_eq(&t, &o, 2);
}

Test(tcp_write, n_sack_above_max_is_clamped)
{
	struct hg_tcp_opts o = make_opts(0, 4), t;
	uint8_t buf[40];

	o.n_sack = 200;
	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 36);
	t = parse_opts_ok(buf, 36);
	cr_assert_eq(t.n_sack, 4);
}

Test(tcp_write, respects_small_cap)
{
	struct hg_tcp_opts o = make_opts(1 | 2 | 4 | 8, 1);
	uint8_t buf[48];
	size_t cap;

	for (cap = 0; cap <= sizeof(buf); cap++) {
		size_t len;

		memset(buf, 0xee, sizeof(buf));
		len = hg_tcp_opts_write(buf, cap, &o);
		cr_assert_leq(len, cap, "cap %zu", cap);
		cr_assert_leq(len, 40);
		cr_assert_eq(len % 4, 0, "cap %zu", cap);
		cr_assert_eq(buf[len], 0xee, "wrote past its length");
		if (len)
			(void)parse_opts_ok(buf, len);
	}
	/* 4 or 5 bytes hold MSS and nothing else; 16 add SACKOK+TS. */
	cr_assert_eq(hg_tcp_opts_write(buf, 5, &o), 4);
	cr_assert_eq(buf[0], 0x02);
	cr_assert_eq(hg_tcp_opts_write(buf, 16, &o), 16);
	cr_assert_eq(buf[4], 0x04);
}

Test(tcp_write, never_over_40)
{
	struct hg_tcp_opts o = make_opts(1 | 2 | 4 | 8, 4);
	uint8_t buf[64];

	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(hg_tcp_opts_write(buf, sizeof(buf), &o), 40);
	cr_assert_eq(buf[40], 0xee);
}

static struct hg_tcp_hdr make_hdr(unsigned mask, uint8_t n_sack)
{
	struct hg_tcp_hdr h;

	memset(&h, 0, sizeof(h));
	h.sport = 0xfedc;
	h.dport = 22;
	h.seq = 0xfffffffeu;
	h.ack = 0x00000003u;
	h.flags = HG_TCP_ACK | HG_TCP_PSH | HG_TCP_URG | HG_TCP_ECE;
	h.window = 0x8001;
	h.urgent = 0x0102;
	h.opts = make_opts(mask, n_sack);
	return h;
}

Test(tcp_write, hdr_round_trip)
{
	unsigned mask;

	for (mask = 0; mask < 16; mask++) {
		struct hg_tcp_hdr h = make_hdr(mask, 3), p;
		uint8_t buf[60], want_sack;
		size_t want = 20 + expect_opts_len(&h.opts, &want_sack);
		size_t len = hg_tcp_hdr_write(buf, sizeof(buf), &h);

		cr_assert_eq(len, want, "mask %u", mask);
		assert_drop(hg_parse_tcp(buf, len, &p), HG_DROP_NONE);
		cr_assert_eq(p.sport, h.sport);
		cr_assert_eq(p.dport, h.dport);
		cr_assert_eq(p.seq, h.seq);
		cr_assert_eq(p.ack, h.ack);
		cr_assert_eq(p.hlen, len);
		cr_assert_eq(p.flags, h.flags);
		cr_assert_eq(p.window, h.window);
		cr_assert_eq(p.urgent, h.urgent);
		assert_opts_eq(&p.opts, &h.opts, want_sack);
	}
}

Test(tcp_write, hdr_bytes)
{
	struct hg_tcp_hdr h = make_hdr(1, 0);
	uint8_t buf[24];

	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(hg_tcp_hdr_write(buf, sizeof(buf), &h), 24);
	cr_assert_eq(buf[0], 0xfe);
	cr_assert_eq(buf[1], 0xdc);
	cr_assert_eq(buf[4], 0xff);
	cr_assert_eq(buf[7], 0xfe);
	cr_assert_eq(buf[11], 0x03);
	cr_assert_eq(buf[12], 0x60); /* 6 words, reserved bits zero */
	cr_assert_eq(buf[13], 0x78);
	cr_assert_eq(buf[16], 0); /* checksum left to the caller */
	cr_assert_eq(buf[17], 0);
	cr_assert_eq(buf[18], 0x01);
	cr_assert_eq(buf[19], 0x02);
	cr_assert_eq(buf[20], 0x02);
}

Test(tcp_write, hdr_ignores_hlen_field)
{
	struct hg_tcp_hdr h = make_hdr(0, 0), p;
	uint8_t buf[60];

	h.hlen = 60; /* stale value from a parsed header */
	cr_assert_eq(hg_tcp_hdr_write(buf, sizeof(buf), &h), 20);
	assert_drop(hg_parse_tcp(buf, 20, &p), HG_DROP_NONE);
	cr_assert_eq(p.hlen, 20);
}

Test(tcp_write, hdr_short_cap)
{
	struct hg_tcp_hdr h = make_hdr(1 | 2 | 4 | 8, 0);
	uint8_t buf[60];

	memset(buf, 0xee, sizeof(buf));
	cr_assert_eq(hg_tcp_hdr_write(buf, 19, &h), 0);
	/* Too short for the options too: nothing dropped silently. */
	cr_assert_eq(hg_tcp_hdr_write(buf, 39, &h), 0);
	cr_assert_eq(buf[0], 0xee, "wrote on failure");
	cr_assert_eq(hg_tcp_hdr_write(buf, 40, &h), 40);
	cr_assert_eq(buf[40], 0xee);
}

Test(tcp_write, hdr_then_csum_verifies)
{
	struct hg_tcp_hdr h = make_hdr(1 | 2 | 4 | 8, 0);
	uint8_t buf[60];
	size_t len = hg_tcp_hdr_write(buf, sizeof(buf), &h);

	cr_assert_eq(len, 40);
	cr_assert_eq(hg_tcp_csum(IP_B, IP_A, buf, len, 0, len),
		     ref_tcp_csum(IP_B, IP_A, buf, len));
	put16(buf + 16, hg_tcp_csum(IP_B, IP_A, buf, len, 0, len));
	cr_assert(hg_tcp_csum_ok(IP_B, IP_A, buf, len));
}

/* ---- Sequence numbers ---- */

Test(tcp_seq, lt_across_wrap)
{
	cr_assert(hg_seq_lt(0xffffff00u, 0x10));
	cr_assert_not(hg_seq_lt(0x10, 0xffffff00u));
	cr_assert(hg_seq_gt(0x10, 0xffffff00u));
	cr_assert_not(hg_seq_gt(0xffffff00u, 0x10));
}

Test(tcp_seq, leq_geq_across_wrap)
{
	cr_assert(hg_seq_leq(0xffffffffu, 0));
	cr_assert(hg_seq_geq(0, 0xffffffffu));
	cr_assert_not(hg_seq_leq(0, 0xffffffffu));
	cr_assert_not(hg_seq_geq(0xffffffffu, 0));
}

Test(tcp_seq, equal_values)
{
	cr_assert(hg_seq_leq(0x80000000u, 0x80000000u));
	cr_assert(hg_seq_geq(0x80000000u, 0x80000000u));
	cr_assert_not(hg_seq_lt(0x80000000u, 0x80000000u));
	cr_assert_not(hg_seq_gt(0x80000000u, 0x80000000u));
}

Test(tcp_seq, half_window_edge)
{
	/* Just under 2^31 apart the order is still well defined. */
	cr_assert(hg_seq_lt(5, 5 + 0x7fffffffu));
	cr_assert(hg_seq_gt(5 + 0x7fffffffu, 5));
}
