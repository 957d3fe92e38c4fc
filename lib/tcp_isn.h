/* Initial sequence numbers (RFC 6528) and SYN cookies.
 *
 * ISN = M + F(local addr, local port, remote addr, remote port, secret),
 * M a clock ticking every 4 microseconds, F SipHash-2-4 truncated to 32
 * bits. A new secret is drawn at start (getrandom); it never leaves the
 * process.
 *
 * SYN cookie: the server's ISN when the listen queue is full or under a
 * flood, so that a legitimate client's final ACK re-creates the connection
 * without any state kept for the SYN. Layout of the 32-bit cookie:
 *   bits 31..8  24-bit keyed hash of (4-tuple, client ISN, time slot,
 *               MSS index)
 *   bits  7..5  3-bit time slot counter (slot = 64 s, mod 8)
 *   bits  4..2  index into hg_syncookie_mss_table (the MSS to use)
 *   bits  1..0  hash bits too (the hash is 26 bits in all: 31..8 and 1..0)
 * A cookie is valid for the current and the previous time slot (64-128 s).
 * When the SYN carried timestamps, window scale and SACK-permitted are
 * kept in the low 6 bits of our TSval (hg_syncookie_ts_encode): wscale
 * 0..14 or 15 for none in bits 0..3, SACK-permitted in bit 4, bit 5 set
 * to mark an encoded TSval; without timestamps the connection goes on with
 * no window scaling and no SACK, as RFC 4987 describes.
 */
#ifndef HG_TCP_ISN_H
#define HG_TCP_ISN_H

#include <stdbool.h>
#include <stdint.h>

#include "siphash.h"

struct hg_tuple {
	uint32_t laddr, raddr; /* host order */
	uint16_t lport, rport;
};

struct hg_isn_secret {
	struct hg_sipkey isn_key;
	struct hg_sipkey cookie_key;
};

/* Fills both keys from getrandom(2). Returns 0 or -1. */
int hg_isn_secret_init(struct hg_isn_secret *s);

/* RFC 6528 ISN for `t` at time `now_us` (microseconds, any epoch). */
uint32_t hg_isn(const struct hg_isn_secret *s, const struct hg_tuple *t,
		uint64_t now_us);

#define HG_SYNCOOKIE_SLOT_S 64
extern const uint16_t hg_syncookie_mss_table[8]; /* ascending */

/* The cookie (our ISN) for a SYN from `t` with client ISN `peer_isn`
 * and peer MSS `mss`: the largest table MSS <= mss (the smallest entry if
 * none). `now_s` is seconds, any epoch (the same the check uses). */
uint32_t hg_syncookie_make(const struct hg_isn_secret *s,
			   const struct hg_tuple *t, uint32_t peer_isn,
			   uint16_t mss, uint64_t now_s);

/* Checks the ACK of a cookie: `cookie` is ack - 1, `peer_isn` is seq - 1 of
 * the ACK segment. Returns true and the MSS when the cookie is ours and
 * from the current or previous time slot. */
bool hg_syncookie_check(const struct hg_isn_secret *s,
			const struct hg_tuple *t, uint32_t peer_isn,
			uint32_t cookie, uint64_t now_s, uint16_t *mss);

/* TSval carrying the SYN's options (see above); `tsval` is the clock value
 * whose low 6 bits are replaced. `wscale` 0..14, or -1 for none. */
uint32_t hg_syncookie_ts_encode(uint32_t tsval, int wscale, bool sack_ok);
/* From the echoed TSecr: false when it carries no encoding. */
bool hg_syncookie_ts_decode(uint32_t tsecr, int *wscale, bool *sack_ok);

#endif
