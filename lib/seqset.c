#include "seqset.h"

#include <string.h>

#include "tcp_hdr.h"

/* Ranges are kept sorted with hg_seq_lt, a total order as long as every
 * value lies within 2^31 of the others, which TCP windows guarantee. Ends
 * sort like starts because ranges are disjoint and non-adjacent. */

void hg_seqset_init(struct hg_seqset *s)
{
	memset(s, 0, sizeof(*s));
}

/* recent[0..n) is a permutation of the range indexes. These keep it one
 * while ranges are inserted, merged and dropped (indexes shift). */

/* Ranges [a, b) are going away: drop them from `recent` and renumber the
 * ones above. Call with s->n still counting the old ranges. */
static void recent_remove(struct hg_seqset *s, unsigned a, unsigned b)
{
	unsigned i, k = 0;

	for (i = 0; i < s->n; i++) {
		unsigned x = s->recent[i];

		if (x >= a && x < b)
			continue;
		s->recent[k++] = (uint8_t)(x >= b ? x - (b - a) : x);
	}
}

/* A range is being inserted at index a: renumber those at or above it and
 * list the new one last (recent_touch then moves it to the front). Call
 * with s->n still counting the old ranges. */
static void recent_open(struct hg_seqset *s, unsigned a)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (s->recent[i] >= a)
			s->recent[i]++;
	s->recent[s->n] = (uint8_t)a;
}

static void recent_touch(struct hg_seqset *s, unsigned idx)
{
	unsigned p = 0;

	while (s->recent[p] != idx)
		p++;
	memmove(&s->recent[1], &s->recent[0], p);
	s->recent[0] = (uint8_t)idx;
}

static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
	return hg_seq_lt(a, b) ? a : b;
}

static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return hg_seq_gt(a, b) ? a : b;
}

/* Folds [start, end) into ranges lo..hi, which it touches or overlaps. */
static void merge(struct hg_seqset *s, unsigned lo, unsigned hi,
		  uint32_t start, uint32_t end)
{
	s->r[lo].start = seq_min(start, s->r[lo].start);
	s->r[lo].end = seq_max(end, s->r[hi].end);
	memmove(&s->r[lo + 1], &s->r[hi + 1],
		(s->n - hi - 1) * sizeof(s->r[0]));
	recent_remove(s, lo + 1, hi + 1);
	s->n = (uint8_t)(s->n - (hi - lo));
	recent_touch(s, lo);
}

static void insert(struct hg_seqset *s, unsigned at, uint32_t start,
		   uint32_t end)
{
	memmove(&s->r[at + 1], &s->r[at], (s->n - at) * sizeof(s->r[0]));
	s->r[at].start = start;
	s->r[at].end = end;
	recent_open(s, at);
	s->n++;
	recent_touch(s, at);
}

int hg_seqset_add(struct hg_seqset *s, uint32_t start, uint32_t end)
{
	unsigned lo = 0, hi;

	if (start == end)
		return 0;
	/* end - start >= 2^31 is an inverted range, not a huge one. */
	if (!hg_seq_lt(start, end) || end - start >= 0x80000000u)
		return -1;
	/* lo: the first range not wholly before start (adjacency merges);
	 * hi + 1: the first range wholly after end. */
	while (lo < s->n && hg_seq_lt(s->r[lo].end, start))
		lo++;
	hi = lo;
	while (hi < s->n && hg_seq_leq(s->r[hi].start, end))
		hi++;
	if (hi > lo) {
		merge(s, lo, hi - 1, start, end);
		return 0;
	}
	if (s->n == HG_SEQSET_MAX)
		return -1;
	insert(s, lo, start, end);
	return 0;
}

void hg_seqset_trim_below(struct hg_seqset *s, uint32_t seq)
{
	unsigned k = 0;

	while (k < s->n && hg_seq_leq(s->r[k].end, seq))
		k++;
	if (k < s->n && hg_seq_lt(s->r[k].start, seq))
		s->r[k].start = seq; /* a cut is not a touch: recency stays */
	if (k == 0)
		return;
	memmove(&s->r[0], &s->r[k], (s->n - k) * sizeof(s->r[0]));
	recent_remove(s, 0, k);
	s->n = (uint8_t)(s->n - k);
}

bool hg_seqset_covers(const struct hg_seqset *s, uint32_t start,
		      uint32_t end)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (hg_seq_leq(s->r[i].start, start) &&
		    hg_seq_leq(end, s->r[i].end))
			return true;
	return false;
}

uint32_t hg_seqset_contiguous_end(const struct hg_seqset *s, uint32_t seq)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (s->r[i].start == seq)
			return s->r[i].end;
	return seq;
}

uint32_t hg_seqset_bytes_above(const struct hg_seqset *s, uint32_t seq)
{
	uint32_t bytes = 0;
	unsigned i;

	for (i = 0; i < s->n; i++) {
		if (hg_seq_geq(s->r[i].start, seq))
			bytes += s->r[i].end - s->r[i].start;
		else if (hg_seq_gt(s->r[i].end, seq))
			bytes += s->r[i].end - seq;
	}
	return bytes;
}

uint32_t hg_seqset_highest(const struct hg_seqset *s, uint32_t dflt)
{
	return s->n ? s->r[s->n - 1].end : dflt;
}

uint32_t hg_seqset_next_hole(const struct hg_seqset *s, uint32_t from,
			     uint32_t *hole_len)
{
	uint32_t p = from;
	unsigned i;

	/* Sorted and non-adjacent: once past the range holding p (if any),
	 * the next range starts strictly above p. */
	for (i = 0; i < s->n; i++) {
		if (hg_seq_leq(s->r[i].end, p))
			continue;
		if (hg_seq_leq(s->r[i].start, p)) {
			p = s->r[i].end;
			continue;
		}
		if (hole_len)
			*hole_len = s->r[i].start - p;
		return p;
	}
	if (hole_len)
		*hole_len = 0;
	return p;
}

unsigned hg_seqset_sack_blocks(const struct hg_seqset *s,
			       struct hg_seqrange *out, unsigned max)
{
	unsigned i, n = s->n < max ? s->n : max;

	for (i = 0; i < n; i++)
		out[i] = s->r[s->recent[i]];
	return n;
}
