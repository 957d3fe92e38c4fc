/* TCP header and options: parse and build (RFC 9293, 7323, 2018).
 *
 * Same contract as lib/pkt.h: (pointer, length) in, never read past length,
 * HG_DROP_NONE or the drop reason out, `out` filled only on success. No
 * DPDK: runs in unit tests and the fuzz target.
 */
#ifndef HG_TCP_HDR_H
#define HG_TCP_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"

#define HG_TCP_HLEN 20
#define HG_TCP_MAX_OPTLEN 40

#define HG_TCP_FIN 0x01
#define HG_TCP_SYN 0x02
#define HG_TCP_RST 0x04
#define HG_TCP_PSH 0x08
#define HG_TCP_ACK 0x10
#define HG_TCP_URG 0x20
#define HG_TCP_ECE 0x40
#define HG_TCP_CWR 0x80

#define HG_TCP_MAX_SACK 4 /* blocks in one segment */

struct hg_sack_block {
	uint32_t start; /* left edge, first sequence number covered */
	uint32_t end;   /* right edge, first sequence number not covered */
};

struct hg_tcp_opts {
	bool has_mss;
	bool has_wscale;
	bool sack_permitted;
	bool has_ts;
	uint16_t mss;
	uint8_t wscale; /* as received; clamping to 14 is the caller's job */
	uint32_t tsval;
	uint32_t tsecr;
	uint8_t n_sack;
	struct hg_sack_block sack[HG_TCP_MAX_SACK];
};

struct hg_tcp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t hlen; /* data offset in bytes, options included */
	uint8_t flags;
	uint16_t window; /* unscaled, as on the wire */
	uint16_t urgent;
	struct hg_tcp_opts opts;
};

/* Parses the TCP header at `p` (the IPv4 payload, `len` bytes). Checks
 * length >= 20, data offset 5..15 and within len (HG_DROP_tcp_truncated,
 * HG_DROP_tcp_bad_offset), and walks the options: EOL ends them, NOP is
 * skipped, every other kind needs a length byte >= 2 that fits
 * (HG_DROP_tcp_bad_option otherwise). Known options with a wrong length
 * (MSS 4, WS 3, SACK-permitted 2, TS 10, SACK 2+8n with n 1..4) are
 * HG_DROP_tcp_bad_option; unknown kinds are skipped. A repeated option
 * keeps the first. Does not verify the checksum (see hg_tcp_csum_ok). */
enum hg_drop hg_parse_tcp(const uint8_t *p, size_t len, struct hg_tcp_hdr *out);

/* True when the TCP checksum over the pseudo header (src, dst host order,
 * protocol 6, length `len`) and the `len` bytes at `p` is correct. */
bool hg_tcp_csum_ok(uint32_t src, uint32_t dst, const uint8_t *p, size_t len);

/* The checksum to store in a TCP header whose checksum field is zero:
 * pseudo header plus `len` bytes at `p` plus `extra_sum` (an hg_csum_add
 * running sum of payload held elsewhere, 0 if none; payload_len counts in
 * the pseudo header's length through `len_total`). Host order result. */
uint16_t hg_tcp_csum(uint32_t src, uint32_t dst, const uint8_t *p, size_t len,
		     uint32_t extra_sum, size_t len_total);

/* Writes the options in `o` at `buf` (at most `cap` bytes), in the order
 * Linux uses so middleboxes see nothing unusual: MSS, SACK-permitted+TS
 * packed as NOP NOP TS or SACKOK TS, NOP+WS, then NOP NOP SACK blocks.
 * Pads with NOPs to a multiple of 4. SACK blocks that do not fit are left
 * out (the first ones, the most recent, are kept). Returns the length
 * written (0..40). */
size_t hg_tcp_opts_write(uint8_t *buf, size_t cap, const struct hg_tcp_opts *o);

/* Writes a 20-byte TCP header plus options (hlen = 20 + optlen) at `buf`;
 * checksum field zero. Returns the header length or 0 if `cap` is short. */
size_t hg_tcp_hdr_write(uint8_t *buf, size_t cap, const struct hg_tcp_hdr *h);

/* Sequence-number arithmetic, modulo 2^32 (RFC 9293 section 3.4). */
static inline bool hg_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
static inline bool hg_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
static inline bool hg_seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}
static inline bool hg_seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

#endif
