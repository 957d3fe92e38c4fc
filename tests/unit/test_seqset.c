/* The sequence-range set: merges, bounds, queries and SACK order, all of
 * it also across the 2^32 wrap, and a randomized run against a bitmap. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seqset.h"

/* Every directed test runs at two bases: from 0x10000, and from just
 * below the wrap so that ranges straddle 0xffffffff -> 0. */
#define LOW UINT32_C(0x00010000)
#define WRAP UINT32_C(0xfffff000)

/* Asserts the set holds exactly the `n` ranges given as offsets from
 * `base`, in order. */
static void expect_ranges(const struct hg_seqset *s, uint32_t base,
			  const uint32_t (*want)[2], unsigned n)
{
	unsigned i;

	cr_assert_eq(s->n, n, "%u ranges, want %u", s->n, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(s->r[i].start, base + want[i][0],
			     "range %u start %#x want %#x", i, s->r[i].start,
			     base + want[i][0]);
		cr_assert_eq(s->r[i].end, base + want[i][1],
			     "range %u end %#x want %#x", i, s->r[i].end,
			     base + want[i][1]);
	}
}

#define EXPECT(s, base, ...)                                                   \
	do {                                                                   \
		static const uint32_t want_[][2] = { __VA_ARGS__ };            \
		expect_ranges(s, base, want_,                                  \
			      sizeof(want_) / sizeof(want_[0]));               \
	} while (0)

static void add_ok(struct hg_seqset *s, uint32_t base, uint32_t a,
		   uint32_t b)
{
	cr_assert_eq(hg_seqset_add(s, base + a, base + b), 0,
		     "add [%u, %u)", a, b);
}

static void check_add_disjoint(uint32_t base)
{
	struct hg_seqset s;

	hg_seqset_init(&s);
	cr_assert_eq(s.n, 0);
	add_ok(&s, base, 3000, 3100);
	add_ok(&s, base, 1000, 1100);
	add_ok(&s, base, 5000, 5100);
	add_ok(&s, base, 2000, 2100);
	EXPECT(&s, base, { 1000, 1100 }, { 2000, 2100 }, { 3000, 3100 },
	       { 5000, 5100 });
}

static void check_add_merging(uint32_t base)
{
	struct hg_seqset s;

	hg_seqset_init(&s);
	add_ok(&s, base, 1000, 1100);
	add_ok(&s, base, 2000, 2100);
	add_ok(&s, base, 900, 1000); /* adjacent on the left */
	EXPECT(&s, base, { 900, 1100 }, { 2000, 2100 });
	add_ok(&s, base, 2100, 2200); /* adjacent on the right */
	EXPECT(&s, base, { 900, 1100 }, { 2000, 2200 });
	add_ok(&s, base, 1050, 1150); /* overlapping */
	add_ok(&s, base, 1950, 2010);
	EXPECT(&s, base, { 900, 1150 }, { 1950, 2200 });
	add_ok(&s, base, 1150, 1950); /* bridges both */
	EXPECT(&s, base, { 900, 2200 });
	add_ok(&s, base, 3000, 3010);
	add_ok(&s, base, 3020, 3030);
	add_ok(&s, base, 3040, 3050);
	add_ok(&s, base, 3060, 3070);
	add_ok(&s, base, 4000, 4010);
	add_ok(&s, base, 3005, 3065); /* spans several, ends inside */
	EXPECT(&s, base, { 900, 2200 }, { 3000, 3070 }, { 4000, 4010 });
	add_ok(&s, base, 500, 5000); /* swallows everything */
	EXPECT(&s, base, { 500, 5000 });
	add_ok(&s, base, 600, 700); /* duplicate, inside */
	add_ok(&s, base, 500, 5000);
	EXPECT(&s, base, { 500, 5000 });
	cr_assert_eq(hg_seqset_add(&s, base + 10, base + 10), 0, "empty");
	EXPECT(&s, base, { 500, 5000 });
}

/* HG_SEQSET_MAX ranges of 10 bytes every 100. */
static void fill(struct hg_seqset *s, uint32_t base)
{
	unsigned i;

	hg_seqset_init(s);
	for (i = 0; i < HG_SEQSET_MAX; i++)
		add_ok(s, base, i * 100, i * 100 + 10);
	cr_assert_eq(s->n, HG_SEQSET_MAX);
}

/* Past the last range fill() makes. */
#define FAR (HG_SEQSET_MAX * 100 + 1000)
#define LAST ((HG_SEQSET_MAX - 1) * 100)

static void check_full(uint32_t base)
{
	struct hg_seqset s, copy;

	fill(&s, base);
	copy = s;
	cr_assert_eq(hg_seqset_add(&s, base + 50, base + 60), -1);
	cr_assert_eq(hg_seqset_add(&s, base - 50, base - 40), -1);
	cr_assert_eq(hg_seqset_add(&s, base + FAR, base + FAR + 10), -1);
	cr_assert_eq(memcmp(&s, &copy, sizeof(s)), 0,
		     "refusal changes nothing");
	/* Merging needs no new range: allowed when full. */
	add_ok(&s, base, 10, 20);
	add_ok(&s, base, 90, 100);
	add_ok(&s, base, LAST, LAST + 100);
	cr_assert_eq(s.n, HG_SEQSET_MAX);
	add_ok(&s, base, 20, 90); /* joins 0 and 100: frees one */
	cr_assert_eq(s.n, HG_SEQSET_MAX - 1);
	cr_assert_eq(s.r[0].start, base);
	cr_assert_eq(s.r[0].end, base + 110);
	add_ok(&s, base, FAR, FAR + 10);
	cr_assert_eq(s.n, HG_SEQSET_MAX);
}

static void check_trim(uint32_t base)
{
	struct hg_seqset s;

	hg_seqset_init(&s);
	hg_seqset_trim_below(&s, base + 5); /* empty: nothing to do */
	cr_assert_eq(s.n, 0);
	add_ok(&s, base, 100, 200);
	add_ok(&s, base, 300, 400);
	add_ok(&s, base, 500, 600);
	hg_seqset_trim_below(&s, base + 50); /* nothing below */
	EXPECT(&s, base, { 100, 200 }, { 300, 400 }, { 500, 600 });
	hg_seqset_trim_below(&s, base + 100); /* exactly at a start */
	EXPECT(&s, base, { 100, 200 }, { 300, 400 }, { 500, 600 });
	hg_seqset_trim_below(&s, base + 150); /* straddling */
	EXPECT(&s, base, { 150, 200 }, { 300, 400 }, { 500, 600 });
	hg_seqset_trim_below(&s, base + 200); /* exactly at an end */
	EXPECT(&s, base, { 300, 400 }, { 500, 600 });
	hg_seqset_trim_below(&s, base + 550); /* whole and straddling */
	EXPECT(&s, base, { 550, 600 });
	hg_seqset_trim_below(&s, base + 9000); /* everything */
	cr_assert_eq(s.n, 0);
	add_ok(&s, base, 100, 200);
	EXPECT(&s, base, { 100, 200 });
}

static void check_queries(uint32_t base)
{
	struct hg_seqset s;
	uint32_t len = 99;

	hg_seqset_init(&s);
	cr_assert_eq(hg_seqset_highest(&s, 42), 42);
	cr_assert_eq(hg_seqset_bytes_above(&s, base), 0);
	cr_assert_eq(hg_seqset_contiguous_end(&s, base + 7), base + 7);
	cr_assert_eq(hg_seqset_next_hole(&s, base + 7, &len), base + 7);
	cr_assert_eq(len, 0);
	cr_assert(!hg_seqset_covers(&s, base, base + 1));

	add_ok(&s, base, 100, 200);
	add_ok(&s, base, 300, 400);
	add_ok(&s, base, 500, 600);

	cr_assert(hg_seqset_covers(&s, base + 100, base + 200));
	cr_assert(hg_seqset_covers(&s, base + 310, base + 320));
	cr_assert(!hg_seqset_covers(&s, base + 99, base + 150));
	cr_assert(!hg_seqset_covers(&s, base + 150, base + 201));
	cr_assert(!hg_seqset_covers(&s, base + 150, base + 350), "two ranges");
	cr_assert(!hg_seqset_covers(&s, base + 200, base + 300));

	cr_assert_eq(hg_seqset_contiguous_end(&s, base + 300), base + 400);
	cr_assert_eq(hg_seqset_contiguous_end(&s, base + 250), base + 250);
	cr_assert_eq(hg_seqset_contiguous_end(&s, base + 350), base + 350);

	cr_assert_eq(hg_seqset_bytes_above(&s, base), 300);
	cr_assert_eq(hg_seqset_bytes_above(&s, base + 300), 200);
	cr_assert_eq(hg_seqset_bytes_above(&s, base + 350), 150);
	cr_assert_eq(hg_seqset_bytes_above(&s, base + 450), 100);
	cr_assert_eq(hg_seqset_bytes_above(&s, base + 600), 0);

	cr_assert_eq(hg_seqset_highest(&s, 42), base + 600);

	cr_assert_eq(hg_seqset_next_hole(&s, base, &len), base);
	cr_assert_eq(len, 100);
	cr_assert_eq(hg_seqset_next_hole(&s, base + 100, &len), base + 200);
	cr_assert_eq(len, 100);
	cr_assert_eq(hg_seqset_next_hole(&s, base + 150, &len), base + 200);
	cr_assert_eq(len, 100);
	cr_assert_eq(hg_seqset_next_hole(&s, base + 250, &len), base + 250);
	cr_assert_eq(len, 50);
	cr_assert_eq(hg_seqset_next_hole(&s, base + 550, &len), base + 600);
	cr_assert_eq(len, 0);
	cr_assert_eq(hg_seqset_next_hole(&s, base + 700, &len), base + 700);
	cr_assert_eq(len, 0);
	cr_assert_eq(hg_seqset_next_hole(&s, base + 250, NULL), base + 250);
}

static void expect_sack(const struct hg_seqset *s, uint32_t base,
			const uint32_t (*want)[2], unsigned n, unsigned max)
{
	struct hg_seqrange out[HG_SEQSET_MAX];
	unsigned i, got = hg_seqset_sack_blocks(s, out, max);

	cr_assert_eq(got, n, "%u blocks, want %u", got, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(out[i].start, base + want[i][0], "block %u", i);
		cr_assert_eq(out[i].end, base + want[i][1], "block %u", i);
	}
}

#define SACK(s, base, max, ...)                                                \
	do {                                                                   \
		static const uint32_t want_[][2] = { __VA_ARGS__ };            \
		expect_sack(s, base, want_, sizeof(want_) / sizeof(want_[0]),  \
			    max);                                              \
	} while (0)

static void check_sack_order(uint32_t base)
{
	struct hg_seqset s;
	struct hg_seqrange none[1];

	hg_seqset_init(&s);
	cr_assert_eq(hg_seqset_sack_blocks(&s, none, 1), 0);
	add_ok(&s, base, 300, 400);
	add_ok(&s, base, 100, 200);
	add_ok(&s, base, 500, 600);
	add_ok(&s, base, 700, 800);
	SACK(&s, base, 4, { 700, 800 }, { 500, 600 }, { 100, 200 },
	     { 300, 400 });
	SACK(&s, base, 2, { 700, 800 }, { 500, 600 });
	cr_assert_eq(hg_seqset_sack_blocks(&s, none, 0), 0);
	/* Extending a range makes it the most recent. */
	add_ok(&s, base, 200, 210);
	SACK(&s, base, 4, { 100, 210 }, { 700, 800 }, { 500, 600 },
	     { 300, 400 });
	/* So does a duplicate (the segment that triggers the ACK). */
	add_ok(&s, base, 520, 530);
	SACK(&s, base, 4, { 500, 600 }, { 100, 210 }, { 700, 800 },
	     { 300, 400 });
	/* A merge of two: one block, first; the others keep their order. */
	add_ok(&s, base, 210, 300);
	SACK(&s, base, 4, { 100, 400 }, { 500, 600 }, { 700, 800 });
	/* A new range below all others shifts indexes: order holds. */
	add_ok(&s, base, 10, 20);
	SACK(&s, base, 4, { 10, 20 }, { 100, 400 }, { 500, 600 },
	     { 700, 800 });
	add_ok(&s, base, 650, 660);
	SACK(&s, base, 5, { 650, 660 }, { 10, 20 }, { 100, 400 },
	     { 500, 600 }, { 700, 800 });
	/* A merge of three in the middle. */
	add_ok(&s, base, 400, 700);
	SACK(&s, base, 5, { 100, 800 }, { 10, 20 });
	/* Trimming drops and cuts but touches nothing. */
	add_ok(&s, base, 900, 950);
	add_ok(&s, base, 15, 25);
	hg_seqset_trim_below(&s, base + 150);
	SACK(&s, base, 5, { 900, 950 }, { 150, 800 });
}

/* Runs a directed check at both bases. */
#define BOTH(name)                                                             \
	Test(seqset, name)                                                     \
	{                                                                      \
		check_##name(LOW);                                             \
	}                                                                      \
	Test(seqset, name##_wrap)                                              \
	{                                                                      \
		check_##name(WRAP);                                            \
	}

BOTH(add_disjoint)
BOTH(add_merging)
BOTH(full)
BOTH(trim)
BOTH(queries)
BOTH(sack_order)

Test(seqset, ranges_straddle_the_wrap)
{
	struct hg_seqset s;
	uint32_t len;

	hg_seqset_init(&s);
	cr_assert_eq(hg_seqset_add(&s, 0x00000800, 0x00001000), 0);
	cr_assert_eq(hg_seqset_add(&s, 0xfffff000, 0xfffff800), 0);
	cr_assert_eq(hg_seqset_add(&s, 0xfffffff0, 0x00000010), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.r[0].start, 0xfffff000);
	cr_assert_eq(s.r[1].start, 0xfffffff0);
	cr_assert_eq(s.r[2].start, 0x00000800);
	cr_assert(hg_seqset_covers(&s, 0xfffffff8, 0x00000008));
	cr_assert_eq(hg_seqset_bytes_above(&s, 0xfffffff8), 0x18 + 0x800);
	cr_assert_eq(hg_seqset_next_hole(&s, 0xfffffff0, &len), 0x10);
	cr_assert_eq(len, 0x7f0);
	cr_assert_eq(hg_seqset_highest(&s, 0), 0x1000);
	cr_assert_eq(hg_seqset_add(&s, 0xfffff800, 0x00000800), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.r[0].start, 0xfffff000);
	cr_assert_eq(s.r[0].end, 0x00001000);
	hg_seqset_trim_below(&s, 0x00000004);
	cr_assert_eq(s.r[0].start, 0x00000004);
	cr_assert_eq(hg_seqset_bytes_above(&s, 0), 0x1000 - 4);
	/* Inverted, or a span of 2^31 or more: refused. */
	cr_assert_eq(hg_seqset_add(&s, 0x10, 0x80000010), -1);
	cr_assert_eq(hg_seqset_add(&s, 0x10, 0x0f), -1);
	cr_assert_eq(s.n, 1);
}

/* Randomized against a bitmap over a WIN-byte window at a random base. */
#define WIN 4096

struct bitmodel {
	uint32_t base;
	bool bit[WIN];
	uint32_t stamp[WIN]; /* when the range holding the byte last changed */
	uint32_t clock;
};

/* The set as the model sees it: maximal runs, in window order. */
static unsigned model_runs(const struct bitmodel *m, struct hg_seqrange *out,
			   uint32_t *stamps, unsigned cap)
{
	unsigned i = 0, n = 0;

	while (i < WIN) {
		unsigned j;

		if (!m->bit[i]) {
			i++;
			continue;
		}
		for (j = i; j < WIN && m->bit[j]; j++)
			;
		if (n < cap) {
			out[n].start = m->base + i;
			out[n].end = m->base + j;
			stamps[n] = m->stamp[i];
		}
		n++;
		i = j;
	}
	return n;
}

static void model_add(struct bitmodel *m, unsigned a, unsigned b)
{
	unsigned lo = a, hi = b, i;

	for (i = a; i < b; i++)
		m->bit[i] = true;
	while (lo > 0 && m->bit[lo - 1])
		lo--;
	while (hi < WIN && m->bit[hi])
		hi++;
	m->clock++;
	for (i = lo; i < hi; i++)
		m->stamp[i] = m->clock;
}

/* Would [a, b) need a range of its own (touches no set byte)? */
static bool model_isolated(const struct bitmodel *m, unsigned a, unsigned b)
{
	unsigned i;

	if ((a > 0 && m->bit[a - 1]) || (b < WIN && m->bit[b]))
		return false;
	for (i = a; i < b; i++)
		if (m->bit[i])
			return false;
	return true;
}

static void check_against(const struct hg_seqset *s,
			  const struct bitmodel *m)
{
	struct hg_seqrange want[HG_SEQSET_MAX + 1], sack[HG_SEQSET_MAX];
	uint32_t stamps[HG_SEQSET_MAX + 1];
	unsigned n = model_runs(m, want, stamps, HG_SEQSET_MAX + 1);
	uint32_t prev = 0;
	unsigned i, got;

	cr_assert_eq(s->n, n, "%u ranges, model %u", s->n, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(s->r[i].start, want[i].start);
		cr_assert_eq(s->r[i].end, want[i].end);
	}
	/* SACK order: every range once, most recently changed first. */
	got = hg_seqset_sack_blocks(s, sack, HG_SEQSET_MAX);
	cr_assert_eq(got, n);
	for (i = 0; i < got; i++) {
		unsigned k;

		for (k = 0; k < n; k++)
			if (want[k].start == sack[i].start)
				break;
		cr_assert(k < n && want[k].end == sack[i].end);
		if (i > 0)
			cr_assert_lt(stamps[k], prev, "block %u out of order",
				     i);
		prev = stamps[k];
	}
}

static void check_queries_against(const struct hg_seqset *s,
				  const struct bitmodel *m)
{
	unsigned a = (unsigned)rand() % WIN, b, i, p, q;
	uint32_t bytes = 0, len;
	bool cov = true;

	b = a + 1 + (unsigned)rand() % (WIN - a);
	/* Runs are maximal: all bytes set means inside one range. */
	for (i = a; i < b; i++)
		cov = cov && m->bit[i];
	cr_assert_eq(hg_seqset_covers(s, m->base + a, m->base + b), cov);
	for (i = a; i < WIN; i++)
		bytes += m->bit[i];
	cr_assert_eq(hg_seqset_bytes_above(s, m->base + a), bytes);
	/* contiguous_end: only where a run starts. */
	if (m->bit[a] && (a == 0 || !m->bit[a - 1])) {
		for (p = a; p < WIN && m->bit[p]; p++)
			;
		cr_assert_eq(hg_seqset_contiguous_end(s, m->base + a),
			     m->base + p);
	} else {
		cr_assert_eq(hg_seqset_contiguous_end(s, m->base + a),
			     m->base + a);
	}
	for (p = a; p < WIN && m->bit[p]; p++)
		;
	for (q = p; q < WIN && !m->bit[q]; q++)
		;
	cr_assert_eq(hg_seqset_next_hole(s, m->base + a, &len), m->base + p);
	cr_assert_eq(len, q < WIN ? q - p : 0);
	for (p = WIN; p > 0 && !m->bit[p - 1]; p--)
		;
	cr_assert_eq(hg_seqset_highest(s, 7), p ? m->base + p : 7);
}

static uint32_t random_base(void)
{
	uint32_t r = (uint32_t)rand() << 16 ^ (uint32_t)rand();

	switch (rand() % 3) {
	case 0: /* the window straddles the wrap */
		return 0u - WIN + (uint32_t)rand() % WIN;
	case 1: /* ends right at the wrap, or starts right after it */
		return rand() % 2 ? 0u - WIN : 0;
	default:
		return r;
	}
}

enum op { OP_TRIM, OP_ADDED, OP_REFUSED };

static enum op random_op(struct hg_seqset *s, struct bitmodel *m)
{
	struct hg_seqset before = *s;
	unsigned a, b, i;
	int rc, want;

	if (rand() % 20 == 0) { /* an ack moves up */
		a = (unsigned)rand() % (WIN / 4);
		hg_seqset_trim_below(s, m->base + a);
		for (i = 0; i < a; i++)
			m->bit[i] = false;
		check_against(s, m);
		return OP_TRIM;
	}
	a = (unsigned)rand() % WIN;
	b = a + 1 + (unsigned)rand() % 48;
	if (b > WIN)
		b = WIN;
	want = s->n == HG_SEQSET_MAX && model_isolated(m, a, b) ? -1 : 0;
	rc = hg_seqset_add(s, m->base + a, m->base + b);
	cr_assert_eq(rc, want, "add [%u, %u) with %u ranges", a, b, before.n);
	if (rc < 0) {
		cr_assert_eq(memcmp(&before, s, sizeof(*s)), 0);
		return OP_REFUSED;
	}
	model_add(m, a, b);
	check_against(s, m);
	return OP_ADDED;
}

Test(seqset, random_against_bitmap)
{
	static struct bitmodel m;
	struct hg_seqset s;
	unsigned ops = 0, refused = 0, full_merges = 0;

	srand(4242);
	while (ops < 10000) {
		unsigned round = 50 + (unsigned)rand() % 400;

		memset(&m, 0, sizeof(m));
		m.base = random_base();
		hg_seqset_init(&s);
		while (round-- && ops < 10000) {
			unsigned n = s.n;
			enum op op = random_op(&s, &m);

			check_queries_against(&s, &m);
			refused += op == OP_REFUSED;
			full_merges += op == OP_ADDED && n == HG_SEQSET_MAX;
			ops++;
		}
	}
	/* The run must have reached the interesting cases. */
	cr_expect_gt(refused, 10);
	cr_expect_gt(full_merges, 10);
}
