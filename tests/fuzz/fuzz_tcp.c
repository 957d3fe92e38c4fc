/* libFuzzer target: one TCP segment (an IPv4 payload) through the parser,
 * the header and option writers and the checksum of lib/tcp_hdr.h.
 *
 * Besides memory errors (ASan/UBSan), it abort()s when a property that
 * must hold for any input does not:
 * - a parsed header's length is 20..60, a multiple of 4, inside the input;
 * - a parsed header written back and parsed again gives the same fields,
 *   options included, with the SACK blocks that fit in 40 option bytes;
 * - the option writer stays within any cap and writes whole words;
 * - a checksum stored by hg_tcp_csum verifies with hg_tcp_csum_ok, and
 *   summing the payload separately (extra_sum) gives the same checksum.
 */
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "tcp_hdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SRC 0xc0000201u /* 192.0.2.1 */
#define DST 0xc6336407u /* 198.51.100.7 */

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* Option bytes the writer must produce for `o`, from the rules in
 * tcp_hdr.h rather than from the code; *n_sack gets the blocks that fit. */
static size_t expect_opts_len(const struct hg_tcp_opts *o, uint8_t *n_sack)
{
	size_t n = 0;

	n += o->has_mss ? 4 : 0;
	n += o->has_ts ? 12 : o->sack_permitted ? 4 : 0;
	n += o->has_wscale ? 4 : 0;
	*n_sack = o->n_sack;
	if (*n_sack > (HG_TCP_MAX_OPTLEN - n - 4) / 8)
		*n_sack = (uint8_t)((HG_TCP_MAX_OPTLEN - n - 4) / 8);
	if (*n_sack)
		n += 4 + 8 * (size_t)*n_sack;
	return n;
}

static void check_opts_eq(const struct hg_tcp_opts *a,
			  const struct hg_tcp_opts *b, uint8_t n_sack)
{
	uint8_t i;

	check(a->has_mss == b->has_mss && a->mss == b->mss);
	check(a->has_wscale == b->has_wscale && a->wscale == b->wscale);
	check(a->sack_permitted == b->sack_permitted);
	check(a->has_ts == b->has_ts);
	check(a->tsval == b->tsval && a->tsecr == b->tsecr);
	check(b->n_sack == n_sack);
	for (i = 0; i < n_sack; i++) {
		check(a->sack[i].start == b->sack[i].start);
		check(a->sack[i].end == b->sack[i].end);
	}
}

/* Writes `a` back, parses it again and compares; then checksums it. */
static void round_trip(const struct hg_tcp_hdr *a)
{
	uint8_t buf[60], n_sack;
	struct hg_tcp_hdr b;
	size_t n = hg_tcp_hdr_write(buf, sizeof(buf), a);
	uint16_t csum;

	check(n == HG_TCP_HLEN + expect_opts_len(&a->opts, &n_sack));
	check(hg_parse_tcp(buf, n, &b) == HG_DROP_NONE);
	check(b.hlen == n);
	check(a->sport == b.sport && a->dport == b.dport);
	check(a->seq == b.seq && a->ack == b.ack);
	check(a->flags == b.flags && a->window == b.window);
	check(a->urgent == b.urgent);
	check_opts_eq(&a->opts, &b.opts, n_sack);

	check(buf[16] == 0 && buf[17] == 0);
	csum = hg_tcp_csum(SRC, DST, buf, n, 0, n);
	buf[16] = (uint8_t)(csum >> 8);
	buf[17] = (uint8_t)csum;
	check(hg_tcp_csum_ok(SRC, DST, buf, n));
}

/* The options of `a` under a cap taken from the input. */
static void opts_cap(const struct hg_tcp_hdr *a, size_t cap)
{
	uint8_t seg[HG_TCP_HLEN + 48];
	struct hg_tcp_hdr b;
	size_t n;

	memset(seg, 0xee, sizeof(seg));
	n = hg_tcp_opts_write(seg + HG_TCP_HLEN, cap, &a->opts);
	check(n <= cap && n <= HG_TCP_MAX_OPTLEN && n % 4 == 0);
	check(seg[HG_TCP_HLEN + n] == 0xee);
	/* Whatever was kept must still be well formed. */
	memset(seg, 0, HG_TCP_HLEN);
	seg[12] = (uint8_t)((HG_TCP_HLEN + n) / 4 << 4);
	check(hg_parse_tcp(seg, HG_TCP_HLEN + n, &b) == HG_DROP_NONE);
}

/* Seals a copy of the input with hg_tcp_csum and verifies it, whole and
 * with the payload summed separately as the transmit path does. */
static void csum_props(const uint8_t *data, size_t size, size_t hlen)
{
	static uint8_t seg[65536];
	uint16_t whole, split;
	uint32_t extra;

	if (size < HG_TCP_HLEN || size > UINT16_MAX)
		return;
	memcpy(seg, data, size);
	seg[16] = seg[17] = 0;
	whole = hg_tcp_csum(SRC, DST, seg, size, 0, size);
	if (hlen) {
		extra = hg_csum_add(0, seg + hlen, size - hlen);
		split = hg_tcp_csum(SRC, DST, seg, hlen, extra, size);
		check(split == whole);
	}
	seg[16] = (uint8_t)(whole >> 8);
	seg[17] = (uint8_t)whole;
	check(hg_tcp_csum_ok(SRC, DST, seg, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hg_tcp_hdr a;
	size_t hlen = 0;

	(void)hg_tcp_csum_ok(SRC, DST, data, size);
	if (hg_parse_tcp(data, size, &a) == HG_DROP_NONE) {
		hlen = a.hlen;
		check(hlen >= HG_TCP_HLEN && hlen <= 60 && hlen % 4 == 0);
		check(hlen <= size && a.opts.n_sack <= HG_TCP_MAX_SACK);
		round_trip(&a);
		opts_cap(&a, data[size - 1] % 49);
	}
	csum_props(data, size, hlen);
	return 0;
}
