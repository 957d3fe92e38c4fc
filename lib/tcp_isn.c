/* RFC 6528 initial sequence numbers and SYN cookies (RFC 4987); see
 * tcp_isn.h for the cookie and TSval layouts. */
#include "tcp_isn.h"

#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

#include "random.h"

/* Cookie fields, as laid out in tcp_isn.h. */
#define CK_HASH_HI_SHIFT 8		/* hash bits 25..2 in cookie 31..8 */
#define CK_HASH_LO_MASK 0x3u		/* hash bits 1..0 in cookie 1..0 */
#define CK_HASH_MASK 0x3ffffffu		/* 26 bits in all */
#define CK_COUNT_SHIFT 5
#define CK_COUNT_MASK 0x7u
#define CK_MSS_SHIFT 2
#define CK_MSS_MASK 0x7u

/* TSval option bits, as laid out in tcp_isn.h. */
#define TS_WSCALE_MASK 0xfu
#define TS_WSCALE_NONE 15u
#define TS_SACK 0x10u
#define TS_MARK 0x20u
#define TS_BITS_MASK 0x3fu

#define TUPLE_BYTES 12
/* tuple, peer ISN (4), slot (8), MSS index (1) */
#define COOKIE_MSG_BYTES (TUPLE_BYTES + 4 + 8 + 1)

const uint16_t hg_syncookie_mss_table[8] = {
	536, 1200, 1300, 1360, 1400, 1440, 1452, 1460,
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* laddr, raddr, lport, rport, each little-endian: a fixed serialization
 * so that the hash never depends on struct padding or host byte order. */
static void put_tuple(uint8_t *p, const struct hg_tuple *t)
{
	put_le32(p, t->laddr);
	put_le32(p + 4, t->raddr);
	put_le16(p + 8, t->lport);
	put_le16(p + 10, t->rport);
}

int hg_isn_secret_init(struct hg_isn_secret *s)
{
	/* Every bit pattern is a valid key, so the struct is filled as
	 * raw bytes (it holds only uint64_t, hence no padding). */
	return hg_random_bytes(s, sizeof(*s));
}

uint32_t hg_isn(const struct hg_isn_secret *s, const struct hg_tuple *t,
		uint64_t now_us)
{
	uint8_t msg[TUPLE_BYTES];
	uint32_t m = (uint32_t)(now_us / 4);	/* 4 us clock, mod 2^32 */

	put_tuple(msg, t);
	return m + (uint32_t)hg_siphash(&s->isn_key, msg, sizeof(msg));
}

static unsigned int mss_index(uint16_t mss)
{
	unsigned int i = 7;

	while (i > 0 && hg_syncookie_mss_table[i] > mss)
		i--;
	return i;	/* entry 0 also when mss is below every entry */
}

/* The 26 hash bits. The MSS index is hashed too: otherwise anyone who saw
 * one cookie could change its MSS bits and still pass the check. */
static uint32_t cookie_hash(const struct hg_isn_secret *s,
			    const struct hg_tuple *t, uint32_t peer_isn,
			    uint64_t slot, unsigned int idx)
{
	uint8_t msg[COOKIE_MSG_BYTES];

	put_tuple(msg, t);
	put_le32(msg + TUPLE_BYTES, peer_isn);
	put_le64(msg + TUPLE_BYTES + 4, slot);
	msg[TUPLE_BYTES + 12] = (uint8_t)idx;
	return (uint32_t)hg_siphash(&s->cookie_key, msg, sizeof(msg)) &
	       CK_HASH_MASK;
}

static uint32_t cookie_pack(uint32_t hash, uint64_t slot, unsigned int idx)
{
	return (hash >> 2) << CK_HASH_HI_SHIFT |
	       ((uint32_t)slot & CK_COUNT_MASK) << CK_COUNT_SHIFT |
	       (uint32_t)idx << CK_MSS_SHIFT |
	       (hash & CK_HASH_LO_MASK);
}

uint32_t hg_syncookie_make(const struct hg_isn_secret *s,
			   const struct hg_tuple *t, uint32_t peer_isn,
			   uint16_t mss, uint64_t now_s)
{
	uint64_t slot = now_s / HG_SYNCOOKIE_SLOT_S;
	unsigned int idx = mss_index(mss);

	return cookie_pack(cookie_hash(s, t, peer_isn, slot, idx), slot, idx);
}

/* The full slot number the cookie's 3-bit counter stands for: the current
 * slot or the one before it; false for anything else (too old, or from a
 * clock ahead of ours). */
static bool cookie_slot(uint32_t cookie, uint64_t now_s, uint64_t *slot)
{
	uint64_t cur = now_s / HG_SYNCOOKIE_SLOT_S;
	uint32_t count = (cookie >> CK_COUNT_SHIFT) & CK_COUNT_MASK;

	if (count == (cur & CK_COUNT_MASK)) {
		*slot = cur;
		return true;
	}
	/* No slot before slot 0: cur - 1 would wrap. */
	if (cur > 0 && count == ((cur - 1) & CK_COUNT_MASK)) {
		*slot = cur - 1;
		return true;
	}
	return false;
}

bool hg_syncookie_check(const struct hg_isn_secret *s,
			const struct hg_tuple *t, uint32_t peer_isn,
			uint32_t cookie, uint64_t now_s, uint16_t *mss)
{
	unsigned int idx = (cookie >> CK_MSS_SHIFT) & CK_MSS_MASK;
	uint64_t slot;
	uint32_t hash;

	if (!cookie_slot(cookie, now_s, &slot))
		return false;
	hash = cookie_hash(s, t, peer_isn, slot, idx);
	if (cookie_pack(hash, slot, idx) != cookie)
		return false;
	*mss = hg_syncookie_mss_table[idx];
	return true;
}

/* Only the low 6 bits carry the options, but the result is never ahead of
 * `tsval`: when the options are larger than the clock's low bits, the value
 * drops by 64 as well, so it ends up 0..63 ticks behind the clock. A TSval
 * ahead of the clock would make our next segments (stamped from the clock)
 * look older to the peer than the SYN-ACK it recorded, and its PAWS check
 * (RFC 7323) would drop them. Going back up to 63 ticks is harmless: the
 * SYN-ACK is the first TSval the peer sees from this connection. */
uint32_t hg_syncookie_ts_encode(uint32_t tsval, int wscale, bool sack_ok)
{
	uint32_t opts = TS_MARK;
	uint32_t ts;

	/* RFC 7323 2.3: a shift above 14 is used as 14. */
	if (wscale > 14)
		wscale = 14;
	opts |= wscale < 0 ? TS_WSCALE_NONE : (uint32_t)wscale;
	if (sack_ok)
		opts |= TS_SACK;
	ts = (tsval & ~TS_BITS_MASK) | opts;
	if (opts > (tsval & TS_BITS_MASK))
		ts -= TS_BITS_MASK + 1;	/* mod 2^32, like the clock */
	return ts;
}

/* On false, the outputs say "no options" so that a careless caller still
 * gets the RFC 4987 fallback. */
bool hg_syncookie_ts_decode(uint32_t tsecr, int *wscale, bool *sack_ok)
{
	uint32_t ws = tsecr & TS_WSCALE_MASK;

	if (!(tsecr & TS_MARK)) {
		*wscale = -1;
		*sack_ok = false;
		return false;
	}
	*wscale = ws == TS_WSCALE_NONE ? -1 : (int)ws;
	*sack_ok = (tsecr & TS_SACK) != 0;
	return true;
}
