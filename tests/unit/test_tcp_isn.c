/* SipHash-2-4, RFC 6528 ISNs and SYN cookies. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "siphash.h"
#include "tcp_isn.h"

/* Key 00 01 .. 0f, read as two little-endian words, as in the paper. */
static const struct hg_sipkey ref_key = {
	.k0 = 0x0706050403020100ULL,
	.k1 = 0x0f0e0d0c0b0a0908ULL,
};

/* The reference 64-bit table (vectors.h of the SipHash reference code):
 * entry i is the output, as little-endian bytes, for message 00 .. i-1. */
static const uint8_t ref_vectors[17][8] = {
	{ 0x31, 0x0e, 0x0e, 0xdd, 0x47, 0xdb, 0x6f, 0x72 },
	{ 0xfd, 0x67, 0xdc, 0x93, 0xc5, 0x39, 0xf8, 0x74 },
	{ 0x5a, 0x4f, 0xa9, 0xd9, 0x09, 0x80, 0x6c, 0x0d },
	{ 0x2d, 0x7e, 0xfb, 0xd7, 0x96, 0x66, 0x67, 0x85 },
	{ 0xb7, 0x87, 0x71, 0x27, 0xe0, 0x94, 0x27, 0xcf },
	{ 0x8d, 0xa6, 0x99, 0xcd, 0x64, 0x55, 0x76, 0x18 },
	{ 0xce, 0xe3, 0xfe, 0x58, 0x6e, 0x46, 0xc9, 0xcb },
	{ 0x37, 0xd1, 0x01, 0x8b, 0xf5, 0x00, 0x02, 0xab },
	{ 0x62, 0x24, 0x93, 0x9a, 0x79, 0xf5, 0xf5, 0x93 },
	{ 0xb0, 0xe4, 0xa9, 0x0b, 0xdf, 0x82, 0x00, 0x9e },
	{ 0xf3, 0xb9, 0xdd, 0x94, 0xc5, 0xbb, 0x5d, 0x7a },
	{ 0xa7, 0xad, 0x6b, 0x22, 0x46, 0x2f, 0xb3, 0xf4 },
	{ 0xfb, 0xe5, 0x0e, 0x86, 0xbc, 0x8f, 0x1e, 0x75 },
	{ 0x90, 0x3d, 0x84, 0xc0, 0x27, 0x56, 0xea, 0x14 },
	{ 0xee, 0xf2, 0x7a, 0x8e, 0x90, 0xca, 0x23, 0xf7 },
	{ 0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1 },
	{ 0xdb, 0x9b, 0xc2, 0x57, 0x7f, 0xcc, 0x2a, 0x3f },
};

static void fill_counting(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)i;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t ref_hash(size_t len)
{
	uint8_t msg[64] = { 0 };

	fill_counting(msg, len);
	return hg_siphash(&ref_key, msg, len);
}

Test(siphash, paper_vector)
{
	cr_expect_eq(ref_hash(15), 0xa129ca6149be45e5ULL);
}

Test(siphash, first_table_entries)
{
	cr_expect_eq(ref_hash(0), 0x726fdb47dd0e0e31ULL);
	cr_expect_eq(ref_hash(1), 0x74f839c593dc67fdULL);
	cr_expect_eq(ref_hash(2), 0x0d6c8009d9a94f5aULL);
	cr_expect_eq(ref_hash(3), 0x85676696d7fb7e2dULL);
}

/* 0..16 bytes: every tail length, and the 8- and 16-byte cases where the
 * last word holds only the length. */
Test(siphash, reference_table_0_to_16)
{
	for (size_t len = 0; len < 17; len++)
		cr_expect_eq(ref_hash(len), le64(ref_vectors[len]),
			     "length %zu", len);
}

Test(siphash, empty_null_input)
{
	cr_expect_eq(hg_siphash(&ref_key, NULL, 0), 0x726fdb47dd0e0e31ULL);
}

/* Words are loaded byte by byte: an odd address gives the same result. */
Test(siphash, unaligned_input)
{
	uint8_t buf[1 + 16];

	fill_counting(buf + 1, 16);
	for (size_t len = 0; len <= 16; len++)
		cr_expect_eq(hg_siphash(&ref_key, buf + 1, len),
			     le64(ref_vectors[len]), "length %zu", len);
}

/* Deterministic secrets and randomness: a failure must reproduce. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static struct hg_isn_secret test_secret(uint64_t seed)
{
	struct hg_isn_secret s;

	s.isn_key.k0 = splitmix64(&seed);
	s.isn_key.k1 = splitmix64(&seed);
	s.cookie_key.k0 = splitmix64(&seed);
	s.cookie_key.k1 = splitmix64(&seed);
	return s;
}

static const struct hg_tuple tuple_a = {
	.laddr = 0x0a000001, .raddr = 0xc0a80105,
	.lport = 443, .rport = 51234,
};

/* tuple_a with field `which` (0..3) changed by one bit. */
static struct hg_tuple tuple_variant(int which)
{
	struct hg_tuple t = tuple_a;

	switch (which) {
	case 0: t.laddr ^= 1; break;
	case 1: t.raddr ^= 1; break;
	case 2: t.lport ^= 1; break;
	default: t.rport ^= 1; break;
	}
	return t;
}

Test(isn, grows_with_the_4us_clock)
{
	struct hg_isn_secret s = test_secret(1);
	const uint64_t t0 = 1234567890123ULL;
	const uint64_t steps[] = { 4, 5, 1000, 1000000, 3600000000ULL };
	uint32_t base = hg_isn(&s, &tuple_a, t0);

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		uint32_t later = hg_isn(&s, &tuple_a, t0 + steps[i]);
		uint32_t want = (uint32_t)((t0 + steps[i]) / 4 - t0 / 4);

		cr_expect_eq(later - base, want, "step %zu", i);
		cr_expect_gt((int32_t)(later - base), 0, "step %zu", i);
	}
}

Test(isn, same_inputs_same_isn)
{
	struct hg_isn_secret s = test_secret(1);

	cr_expect_eq(hg_isn(&s, &tuple_a, 777), hg_isn(&s, &tuple_a, 777));
	/* Below the 4 us resolution nothing moves. */
	cr_expect_eq(hg_isn(&s, &tuple_a, 776), hg_isn(&s, &tuple_a, 779));
}

Test(isn, differs_across_tuples)
{
	struct hg_isn_secret s = test_secret(1);
	uint32_t base = hg_isn(&s, &tuple_a, 1000);
	struct hg_tuple swapped = {
		.laddr = tuple_a.raddr, .raddr = tuple_a.laddr,
		.lport = tuple_a.rport, .rport = tuple_a.lport,
	};

	for (int f = 0; f < 4; f++) {
		struct hg_tuple t = tuple_variant(f);

		cr_expect_neq(hg_isn(&s, &t, 1000), base, "field %d", f);
	}
	cr_expect_neq(hg_isn(&s, &swapped, 1000), base);
}

Test(isn, differs_across_secrets)
{
	struct hg_isn_secret s1 = test_secret(1);
	struct hg_isn_secret s2 = test_secret(2);

	cr_expect_neq(hg_isn(&s1, &tuple_a, 1000),
		      hg_isn(&s2, &tuple_a, 1000));
}

/* Only the ISN key counts for ISNs: the cookie key is for cookies. */
Test(isn, uses_only_isn_key)
{
	struct hg_isn_secret s1 = test_secret(1);
	struct hg_isn_secret s2 = s1;

	s2.cookie_key.k0 ^= 1;
	cr_expect_eq(hg_isn(&s1, &tuple_a, 1000), hg_isn(&s2, &tuple_a, 1000));
}

Test(isn, secret_init_draws_fresh_keys)
{
	struct hg_isn_secret a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(hg_isn_secret_init(&a), 0);
	cr_assert_eq(hg_isn_secret_init(&b), 0);
	/* 2^-256 odds of a false failure. */
	cr_expect_neq(memcmp(&a, &b, sizeof(a)), 0);
	cr_expect(a.isn_key.k0 != a.cookie_key.k0 ||
		  a.isn_key.k1 != a.cookie_key.k1);
}

#define SLOT HG_SYNCOOKIE_SLOT_S
/* An arbitrary time, 5 s into its slot. */
#define T0 ((uint64_t)SLOT * 1000 + 5)
#define PEER_ISN 0xdeadbeefu

static bool check(const struct hg_isn_secret *s, const struct hg_tuple *t,
		  uint32_t peer_isn, uint32_t cookie, uint64_t now_s,
		  uint16_t *mss)
{
	return hg_syncookie_check(s, t, peer_isn, cookie, now_s, mss);
}

/* Check, ignoring the MSS. */
static bool accepted(const struct hg_isn_secret *s, const struct hg_tuple *t,
		     uint32_t peer_isn, uint32_t cookie, uint64_t now_s)
{
	uint16_t mss;

	return check(s, t, peer_isn, cookie, now_s, &mss);
}

Test(syncookie, mss_table_is_ascending)
{
	for (int i = 1; i < 8; i++)
		cr_expect_lt(hg_syncookie_mss_table[i - 1],
			     hg_syncookie_mss_table[i]);
}

Test(syncookie, round_trip_each_table_mss)
{
	struct hg_isn_secret s = test_secret(3);

	for (unsigned int i = 0; i < 8; i++) {
		uint16_t want = hg_syncookie_mss_table[i];
		uint32_t c = hg_syncookie_make(&s, &tuple_a, PEER_ISN, want,
					       T0);
		uint16_t mss = 0;

		cr_expect_eq((c >> 2) & 7, i, "index bits for %u", want);
		cr_expect_eq((c >> 5) & 7, (T0 / SLOT) & 7);
		cr_assert(check(&s, &tuple_a, PEER_ISN, c, T0, &mss),
			  "mss %u", want);
		cr_expect_eq(mss, want);
	}
}

Test(syncookie, round_trip_rounds_down)
{
	static const uint16_t cases[][2] = {
		{ 0, 536 }, { 100, 536 }, { 535, 536 }, { 537, 536 },
		{ 1199, 536 }, { 1201, 1200 }, { 1299, 1200 },
		{ 1359, 1300 }, { 1399, 1360 }, { 1439, 1400 },
		{ 1451, 1440 }, { 1459, 1452 }, { 1461, 1460 },
		{ 8960, 1460 }, { 65535, 1460 },
	};
	struct hg_isn_secret s = test_secret(3);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t c = hg_syncookie_make(&s, &tuple_a, PEER_ISN,
					       cases[i][0], T0);
		uint16_t mss = 0;

		cr_assert(check(&s, &tuple_a, PEER_ISN, c, T0, &mss),
			  "mss %u", cases[i][0]);
		cr_expect_eq(mss, cases[i][1], "mss %u", cases[i][0]);
	}
}

Test(syncookie, valid_this_slot_and_next)
{
	struct hg_isn_secret s = test_secret(3);
	uint64_t start = T0 - T0 % SLOT;
	uint32_t c = hg_syncookie_make(&s, &tuple_a, PEER_ISN, 1460, T0);

	cr_expect(accepted(&s, &tuple_a, PEER_ISN, c, T0));
	cr_expect(accepted(&s, &tuple_a, PEER_ISN, c, start));
	cr_expect(accepted(&s, &tuple_a, PEER_ISN, c, start + SLOT - 1));
	cr_expect(accepted(&s, &tuple_a, PEER_ISN, c, start + SLOT));
	cr_expect(accepted(&s, &tuple_a, PEER_ISN, c, start + 2 * SLOT - 1));
}

Test(syncookie, refused_out_of_window)
{
	struct hg_isn_secret s = test_secret(3);
	uint64_t start = T0 - T0 % SLOT;
	uint32_t c = hg_syncookie_make(&s, &tuple_a, PEER_ISN, 1460, T0);

	/* Two slots on, and so on up to and past the counter's wrap (the
	 * 3-bit counter matches again 8 slots on; the hash must not). */
	for (uint64_t k = 2; k <= 17; k++)
		cr_expect_not(accepted(&s, &tuple_a, PEER_ISN, c,
				       start + k * SLOT), "slot +%lu",
			      (unsigned long)k);
	/* From a slot our clock has not reached. */
	cr_expect_not(accepted(&s, &tuple_a, PEER_ISN, c, start - 1));
	cr_expect_not(accepted(&s, &tuple_a, PEER_ISN, c, start - 7 * SLOT));
}

/* Slot 0 has no previous slot: counter 7 must not stand for slot -1. */
Test(syncookie, slot_zero_edge)
{
	struct hg_isn_secret s = test_secret(3);
	uint32_t c0 = hg_syncookie_make(&s, &tuple_a, PEER_ISN, 1460, 5);
	uint32_t c7 = hg_syncookie_make(&s, &tuple_a, PEER_ISN, 1460,
					7 * SLOT);

	cr_expect(accepted(&s, &tuple_a, PEER_ISN, c0, 0));
	cr_expect(accepted(&s, &tuple_a, PEER_ISN, c0, SLOT + 5));
	cr_expect_not(accepted(&s, &tuple_a, PEER_ISN, c7, 5));
}

Test(syncookie, refused_for_other_tuple)
{
	struct hg_isn_secret s = test_secret(3);
	uint32_t c = hg_syncookie_make(&s, &tuple_a, PEER_ISN, 1460, T0);

	for (int f = 0; f < 4; f++) {
		struct hg_tuple t = tuple_variant(f);

		cr_expect_not(accepted(&s, &t, PEER_ISN, c, T0), "field %d",
			      f);
	}
}

Test(syncookie, refused_for_other_peer_isn)
{
	struct hg_isn_secret s = test_secret(3);
	uint32_t c = hg_syncookie_make(&s, &tuple_a, PEER_ISN, 1460, T0);

	cr_expect_not(accepted(&s, &tuple_a, PEER_ISN + 1, c, T0));
	cr_expect_not(accepted(&s, &tuple_a, PEER_ISN - 1, c, T0));
	cr_expect_not(accepted(&s, &tuple_a, PEER_ISN ^ 0x80000000u, c, T0));
}

/* Every bit is covered: hash bits by the hash, counter bits by the slot
 * in the hash, MSS bits because the index is hashed too. */
Test(syncookie, refused_with_any_bit_flipped)
{
	struct hg_isn_secret s = test_secret(3);

	for (unsigned int i = 0; i < 8; i++) {
		uint16_t mss = hg_syncookie_mss_table[i];
		uint64_t now = T0 + i * 13;
		uint32_t c = hg_syncookie_make(&s, &tuple_a, PEER_ISN, mss,
					       now);

		cr_assert(accepted(&s, &tuple_a, PEER_ISN, c, now));
		for (int bit = 0; bit < 32; bit++)
			cr_expect_not(accepted(&s, &tuple_a, PEER_ISN,
					       c ^ (UINT32_C(1) << bit), now),
				      "mss %u bit %d", mss, bit);
	}
}

Test(syncookie, refused_under_other_secret)
{
	struct hg_isn_secret s1 = test_secret(3);
	struct hg_isn_secret s2 = test_secret(4);
	struct hg_isn_secret s3 = s1;
	uint32_t c = hg_syncookie_make(&s1, &tuple_a, PEER_ISN, 1460, T0);

	s3.cookie_key.k1 ^= 1;
	cr_expect_not(accepted(&s2, &tuple_a, PEER_ISN, c, T0));
	cr_expect_not(accepted(&s3, &tuple_a, PEER_ISN, c, T0));
}

Test(syncookie, refusal_leaves_mss_alone)
{
	struct hg_isn_secret s = test_secret(3);
	uint32_t c = hg_syncookie_make(&s, &tuple_a, PEER_ISN, 1460, T0);
	uint16_t mss = 4242;

	cr_expect_not(check(&s, &tuple_a, PEER_ISN, c ^ 0x100, T0, &mss));
	cr_expect_eq(mss, 4242);
}

/* A flood of ACKs with random tuples, ISNs and cookies. A guess passes
 * when its counter names one of the 2 live slots (2/8) and its 26 hash
 * bits match (the MSS index is inside the hash): p = 2^-28, so 100k
 * guesses expect 100000 / 2^28 ~ 0.0004 passes. Even counting each of the
 * 8 MSS values and each counter value as a free pass (100000 * 8 / 2^26
 * ~ 0.012 expected), 3 or more passes has probability below 3e-7. The
 * PRNG is seeded, so the outcome is fixed anyway; the bound guards
 * against a cookie that checks fewer bits than it should. */
Test(syncookie, forged_cookies_rarely_pass)
{
	struct hg_isn_secret s = test_secret(5);
	uint64_t rng = 42;
	unsigned int passes = 0;

	for (int i = 0; i < 100000; i++) {
		uint64_t r1 = splitmix64(&rng), r2 = splitmix64(&rng);
		struct hg_tuple t = {
			.laddr = (uint32_t)r1, .raddr = (uint32_t)(r1 >> 32),
			.lport = (uint16_t)r2, .rport = (uint16_t)(r2 >> 16),
		};
		uint64_t r3 = splitmix64(&rng);

		passes += accepted(&s, &t, (uint32_t)r3,
				   (uint32_t)(r3 >> 32), T0);
	}
	cr_expect_leq(passes, 2, "%u forged cookies passed", passes);
}

static void expect_ts_round_trip(uint32_t tsval, int ws, bool sack)
{
	uint32_t enc = hg_syncookie_ts_encode(tsval, ws, sack);
	int ws_out = 99;
	bool sack_out = !sack;

	cr_assert(hg_syncookie_ts_decode(enc, &ws_out, &sack_out),
		  "tsval %#x ws %d sack %d", tsval, ws, sack);
	cr_expect_eq(ws_out, ws, "tsval %#x ws %d sack %d", tsval, ws, sack);
	cr_expect_eq(sack_out, sack, "tsval %#x ws %d", tsval, ws);
	/* Never ahead of the clock, at most 63 ticks behind (mod 2^32). */
	cr_expect_leq(tsval - enc, 63u, "tsval %#x enc %#x", tsval, enc);
}

Test(syncookie_ts, round_trip)
{
	static const uint32_t clocks[] = {
		0, 1, 31, 63, 64, 100, 0x12345640, 0x12345660,
		0x1234567f, 0x7fffffff, 0x80000000, 0xffffffc0, 0xffffffff,
	};

	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++)
		for (int ws = -1; ws <= 14; ws++) {
			expect_ts_round_trip(clocks[i], ws, false);
			expect_ts_round_trip(clocks[i], ws, true);
		}
}

Test(syncookie_ts, layout)
{
	/* Clock low bits all ones: nothing borrows, only bits 0..5 move. */
	cr_expect_eq(hg_syncookie_ts_encode(0x1234567f, 7, true),
		     0x12345640u | 0x20 | 0x10 | 7);
	cr_expect_eq(hg_syncookie_ts_encode(0x1234567f, -1, false),
		     0x12345640u | 0x20 | 15);
	/* Low bits below the options: one step of 64 back. */
	cr_expect_eq(hg_syncookie_ts_encode(0x12345640, 0, false),
		     0x12345600u | 0x20);
	cr_expect_eq(hg_syncookie_ts_encode(0, 0, false), 0xffffffe0u);
}

Test(syncookie_ts, wscale_above_14_is_14)
{
	int ws;
	bool sack;

	cr_assert(hg_syncookie_ts_decode(
		hg_syncookie_ts_encode(0x1000, 15, false), &ws, &sack));
	cr_expect_eq(ws, 14);
}

Test(syncookie_ts, no_marker_no_options)
{
	static const uint32_t plain[] = {
		0, 0x1f, 0x10, 0xffffffdf, 0x12345600, 0x8000001f,
	};

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		int ws = 5;
		bool sack = true;

		cr_expect_not(hg_syncookie_ts_decode(plain[i], &ws, &sack),
			      "tsecr %#x", plain[i]);
		cr_expect_eq(ws, -1);
		cr_expect_not(sack);
	}
}
