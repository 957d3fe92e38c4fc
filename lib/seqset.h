/* A small set of disjoint sequence-number ranges, modulo 2^32.
 *
 * Two uses in TCP: on the receive side, the out-of-order data held (to
 * generate SACK blocks, RFC 2018: the block holding the most recently
 * received segment first, then the others most recent first); on the send
 * side, the SACK scoreboard (RFC 6675: what the peer reported holding
 * above snd.una). Bounded: at most HG_SEQSET_MAX ranges; an insert that
 * would need more is refused (the caller then drops the segment or
 * ignores the block), so a peer cannot make us use unbounded memory.
 * Ranges are [start, end), adjacent or overlapping inserts merge.
 */
#ifndef HG_SEQSET_H
#define HG_SEQSET_H

#include <stdbool.h>
#include <stdint.h>

#define HG_SEQSET_MAX 64

struct hg_seqrange {
	uint32_t start, end;
};

struct hg_seqset {
	uint8_t n;
	struct hg_seqrange r[HG_SEQSET_MAX]; /* sorted by start relative to
						 the lowest, non-adjacent */
	uint8_t recent[HG_SEQSET_MAX]; /* indexes into r, most recently
					  touched first (for SACK order) */
};

void hg_seqset_init(struct hg_seqset *s);

/* Adds [start, end) (end after start, span < 2^31). Returns 0, or -1 when
 * the set is full and the range would not merge with an existing one. */
int hg_seqset_add(struct hg_seqset *s, uint32_t start, uint32_t end);

/* Removes everything before `seq` (an acknowledgment moved up to it). */
void hg_seqset_trim_below(struct hg_seqset *s, uint32_t seq);

/* True when [start, end) is entirely inside one range. */
bool hg_seqset_covers(const struct hg_seqset *s, uint32_t start,
		      uint32_t end);

/* If a range starts exactly at `seq`, returns its end; else returns seq.
 * (Receive side: how far in-order data extends once seq arrives.) */
uint32_t hg_seqset_contiguous_end(const struct hg_seqset *s, uint32_t seq);

/* Bytes covered at or above `seq` (RFC 6675 IsLost: compare with
 * DupThresh * SMSS). */
uint32_t hg_seqset_bytes_above(const struct hg_seqset *s, uint32_t seq);

/* The highest end of any range, or `dflt` when empty. */
uint32_t hg_seqset_highest(const struct hg_seqset *s, uint32_t dflt);

/* The first byte >= `from` not covered by any range, and the length of
 * that hole up to the next range (0 length: no range above `from`, the hole
 * is open-ended). (Send side: the next segment to retransmit.) */
uint32_t hg_seqset_next_hole(const struct hg_seqset *s, uint32_t from,
			     uint32_t *hole_len);

/* Up to `max` SACK blocks, most recently changed range first. */
unsigned hg_seqset_sack_blocks(const struct hg_seqset *s,
			       struct hg_seqrange *out, unsigned max);

#endif
