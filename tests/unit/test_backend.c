/* Backend pools: smooth weighted round robin (nginx's sequence and exact
 * shares), least connections, exclusion, health marks and counters. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "backend.h"

#define DOWN_US 1000

static void new_pool(struct hg_pool *p, enum hg_pool_policy policy,
		     const uint16_t *weights, unsigned n)
{
	unsigned i;

	hg_pool_init(p, policy, DOWN_US);
	for (i = 0; i < n; i++)
		cr_assert_eq(hg_pool_add(p, 0x0a000001 + i, 80, weights[i]),
			     (int)i);
	cr_assert_eq(p->n, n);
}

/* n picks at `now` written as letters, releasing each flow at once. */
static void pick_seq(struct hg_pool *p, uint64_t now, unsigned n, char *out)
{
	unsigned k;

	for (k = 0; k < n; k++) {
		int i = hg_pool_pick(p, now, 0);

		cr_assert_geq(i, 0);
		out[k] = (char)('a' + i);
		hg_pool_release(p, i);
	}
	out[n] = '\0';
}

Test(pool, add_checks_weight_and_size)
{
	struct hg_pool p;
	unsigned i;

	hg_pool_init(&p, HG_POLICY_ROUND_ROBIN, DOWN_US);
	cr_expect_eq(hg_pool_add(&p, 1, 1, 0), -1);
	cr_expect_eq(hg_pool_add(&p, 1, 1, 1001), -1);
	cr_expect_eq(hg_pool_add(&p, 1, 1, UINT16_MAX), -1);
	cr_expect_eq(p.n, 0);
	cr_expect_eq(hg_pool_add(&p, 0x7f000001, 8080, 1000), 0);
	cr_expect_eq(p.b[0].addr, 0x7f000001);
	cr_expect_eq(p.b[0].port, 8080);
	cr_expect_eq(p.b[0].weight, 1000);
	for (i = 1; i < HG_POOL_MAX; i++)
		cr_assert_eq(hg_pool_add(&p, i, 1, 1), (int)i);
	cr_expect_eq(hg_pool_add(&p, 99, 1, 1), -1, "a 33rd backend");
	cr_expect_eq(p.n, HG_POOL_MAX);
}

Test(pool, empty_pool_picks_nothing)
{
	struct hg_pool p;

	hg_pool_init(&p, HG_POLICY_ROUND_ROBIN, DOWN_US);
	cr_expect_eq(hg_pool_pick(&p, 0, 0), -1);
	hg_pool_init(&p, HG_POLICY_LEAST_CONN, DOWN_US);
	cr_expect_eq(hg_pool_pick(&p, 0, 0), -1);
}

Test(pool, smooth_wrr_nginx_sequence)
{
	static const uint16_t w[] = { 5, 1, 1 };
	struct hg_pool p;
	char seq[8];

	new_pool(&p, HG_POLICY_ROUND_ROBIN, w, 3);
	pick_seq(&p, 0, 7, seq);
	cr_expect_str_eq(seq, "aabacaa");
	/* A full round brings every score back to 0: it repeats. */
	pick_seq(&p, 0, 7, seq);
	cr_expect_str_eq(seq, "aabacaa");
}

Test(pool, smooth_wrr_exact_shares)
{
	static const uint16_t w[] = { 5, 1, 1 };
	struct hg_pool p;
	unsigned k, n[3] = { 0 };

	new_pool(&p, HG_POLICY_ROUND_ROBIN, w, 3);
	for (k = 0; k < 700; k++) {
		int i = hg_pool_pick(&p, 0, 0);

		cr_assert(i >= 0 && i < 3);
		n[i]++;
	}
	cr_expect_eq(n[0], 500);
	cr_expect_eq(n[1], 100);
	cr_expect_eq(n[2], 100);
	/* Round robin ignores load; picks are counted all the same. */
	cr_expect_eq(p.b[0].active, 500);
	cr_expect_eq(p.b[0].flows, 500);
	cr_expect_eq(p.b[2].flows, 100);
}

Test(pool, equal_weights_rotate)
{
	static const uint16_t w[] = { 3, 3, 3, 3 };
	struct hg_pool p;
	char seq[13];

	new_pool(&p, HG_POLICY_ROUND_ROBIN, w, 4);
	pick_seq(&p, 0, 12, seq);
	cr_expect_str_eq(seq, "abcdabcdabcd");
}

Test(pool, least_conn_relative_to_weight)
{
	static const uint16_t w[] = { 1, 2 };
	struct hg_pool p;

	new_pool(&p, HG_POLICY_LEAST_CONN, w, 2);
	/* 0/1 = 0/2: the earlier. */
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 0);
	/* 1/1 > 0/2 */
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 1);
	/* 1/1 > 1/2 */
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 1);
	/* 1/1 = 2/2: the earlier. */
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 0);
	/* 2/1 > 2/2 */
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 1);
	cr_expect_eq(p.b[0].active, 2);
	cr_expect_eq(p.b[1].active, 3);

	/* Releases count: 0/1 < 3/2, twice (then 1/1 < 3/2). */
	hg_pool_release(&p, 0);
	hg_pool_release(&p, 0);
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 0);
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 0);
	/* 2/1 > 3/2 */
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 1);
	cr_expect_eq(p.b[0].flows, 4);
	cr_expect_eq(p.b[1].flows, 4);
}

Test(pool, least_conn_large_counts)
{
	static const uint16_t w[] = { 1000, 999 };
	struct hg_pool p;

	new_pool(&p, HG_POLICY_LEAST_CONN, w, 2);
	/* 4e9/1000 < 4e9/999: products near 2^42 must not overflow. */
	p.b[0].active = 4000000000u;
	p.b[1].active = 4000000000u;
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 0);
}

Test(pool, exclude_mask_skips)
{
	static const uint16_t w[] = { 1, 1, 1 };
	struct hg_pool rr, lc;
	unsigned k;

	new_pool(&rr, HG_POLICY_ROUND_ROBIN, w, 3);
	new_pool(&lc, HG_POLICY_LEAST_CONN, w, 3);
	for (k = 0; k < 10; k++) {
		int i = hg_pool_pick(&rr, 0, 1u << 0);

		cr_assert(i == 1 || i == 2);
		cr_assert_eq(hg_pool_pick(&lc, 0, 1u << 0 | 1u << 2), 1);
	}
	cr_expect_eq(rr.b[0].flows, 0);
	cr_expect_eq(rr.b[1].flows, 5);
	cr_expect_eq(rr.b[2].flows, 5);
	cr_expect_eq(hg_pool_pick(&rr, 0, 7), -1);
	cr_expect_eq(hg_pool_pick(&lc, 0, UINT32_MAX), -1);
	/* Bits above n mean nothing. */
	cr_expect_eq(hg_pool_pick(&lc, 0, 1u << 31 | 1u << 1), 0);
}

Test(pool, failed_backend_skipped_until_down_us)
{
	static const uint16_t w[] = { 1, 1 };
	struct hg_pool p;
	unsigned k;

	new_pool(&p, HG_POLICY_ROUND_ROBIN, w, 2);
	hg_pool_connect_failed(&p, 1, 100);
	cr_expect(!hg_pool_is_up(&p, 1, 100));
	cr_expect(!hg_pool_is_up(&p, 1, 100 + DOWN_US - 1));
	cr_expect(hg_pool_is_up(&p, 1, 100 + DOWN_US));
	cr_expect(hg_pool_is_up(&p, 0, 100));
	for (k = 0; k < 6; k++)
		cr_assert_eq(hg_pool_pick(&p, 500 + k, 0), 0);
	cr_expect_eq(p.b[1].flows, 0);

	/* The mark expires: back in the rotation. Its score stayed 0 while
	 * it was skipped, as 0's did over its solo picks: a tie, 0 first. */
	cr_expect_eq(hg_pool_pick(&p, 100 + DOWN_US, 0), 0);
	cr_expect_eq(hg_pool_pick(&p, 100 + DOWN_US, 0), 1);
	cr_expect_eq(hg_pool_pick(&p, 100 + DOWN_US, 0), 0);
	cr_expect_eq(hg_pool_pick(&p, 100 + DOWN_US, 0), 1);
	cr_expect_eq(p.b[1].down_until_us, 0, "cleared once seen expired");
}

Test(pool, least_conn_skips_down)
{
	static const uint16_t w[] = { 1, 1 };
	struct hg_pool p;

	new_pool(&p, HG_POLICY_LEAST_CONN, w, 2);
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 0);
	hg_pool_connect_failed(&p, 1, 0);
	/* 1 would win on load, but it is down. */
	cr_expect_eq(hg_pool_pick(&p, 10, 0), 0);
	cr_expect_eq(hg_pool_pick(&p, DOWN_US, 0), 1);
}

Test(pool, all_down_fails_then_recovers)
{
	static const uint16_t w[] = { 2, 1 };
	struct hg_pool p;

	new_pool(&p, HG_POLICY_ROUND_ROBIN, w, 2);
	hg_pool_connect_failed(&p, 0, 10);
	hg_pool_connect_failed(&p, 1, 20);
	cr_expect_eq(hg_pool_pick(&p, 30, 0), -1);
	cr_expect_eq(p.b[0].flows + p.b[1].flows, 0);
	cr_expect_eq(hg_pool_pick(&p, 10 + DOWN_US, 0), 0);
	cr_expect_eq(hg_pool_pick(&p, 10 + DOWN_US, 0), 0);
	/* Scores: 0 and 1 before, {2, 1} -> 0 wins, then {1, 2} -> 1. */
	cr_expect_eq(hg_pool_pick(&p, 20 + DOWN_US, 0), 0);
	cr_expect_eq(hg_pool_pick(&p, 20 + DOWN_US, 0), 1);
}

Test(pool, connect_ok_clears_down)
{
	static const uint16_t w[] = { 1 };
	struct hg_pool p;

	new_pool(&p, HG_POLICY_ROUND_ROBIN, w, 1);
	hg_pool_connect_failed(&p, 0, 0);
	cr_expect_neq(p.b[0].down_until_us, 0, "down even at time 0");
	cr_expect_eq(hg_pool_pick(&p, 0, 0), -1);
	hg_pool_connect_ok(&p, 0);
	cr_expect(hg_pool_is_up(&p, 0, 0));
	cr_expect_eq(p.b[0].down_until_us, 0);
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 0);
}

Test(pool, counters)
{
	static const uint16_t w[] = { 1, 1 };
	struct hg_pool p;

	new_pool(&p, HG_POLICY_ROUND_ROBIN, w, 2);
	hg_pool_connect_failed(&p, 0, 100);
	/* Failures of connects already under way while it is down: counted,
	 * but not a new marking; the mark is extended. */
	hg_pool_connect_failed(&p, 0, 200);
	cr_expect_eq(p.b[0].connect_failures, 2);
	cr_expect_eq(p.b[0].marked_down, 1);
	cr_expect(!hg_pool_is_up(&p, 0, 100 + DOWN_US));
	cr_expect(hg_pool_is_up(&p, 0, 200 + DOWN_US));
	/* An expired mark counts as up: failing again is a new marking. */
	hg_pool_connect_failed(&p, 0, 200 + DOWN_US);
	cr_expect_eq(p.b[0].connect_failures, 3);
	cr_expect_eq(p.b[0].marked_down, 2);
	hg_pool_connect_ok(&p, 0);
	hg_pool_connect_failed(&p, 0, 5000);
	cr_expect_eq(p.b[0].marked_down, 3);
	cr_expect_eq(p.b[1].connect_failures, 0);
	cr_expect_eq(p.b[1].marked_down, 0);

	cr_expect_eq(hg_pool_pick(&p, 5000, 0), 1);
	cr_expect_eq(hg_pool_pick(&p, 5000, 0), 1);
	cr_expect_eq(p.b[1].flows, 2);
	cr_expect_eq(p.b[1].active, 2);
	cr_expect_eq(p.b[0].flows, 0);
	hg_pool_release(&p, 1);
	cr_expect_eq(p.b[1].active, 1);
	cr_expect_eq(p.b[1].flows, 2, "flows is a total, not a gauge");
}

Test(pool, release_never_underflows)
{
	static const uint16_t w[] = { 1, 1 };
	struct hg_pool p;

	new_pool(&p, HG_POLICY_LEAST_CONN, w, 2);
	hg_pool_release(&p, 0);
	cr_expect_eq(p.b[0].active, 0);
	cr_expect_eq(hg_pool_pick(&p, 0, 0), 0);
	hg_pool_release(&p, 0);
	hg_pool_release(&p, 0);
	cr_expect_eq(p.b[0].active, 0);
	/* Out of range indexes are ignored, including the -1 of a failed
	 * pick. */
	hg_pool_release(&p, -1);
	hg_pool_release(&p, 2);
	hg_pool_connect_failed(&p, -1, 0);
	hg_pool_connect_ok(&p, 5);
	cr_expect(!hg_pool_is_up(&p, 2, 0));
	cr_expect(!hg_pool_is_up(&p, -1, 0));
}

Test(pool, huge_down_us_saturates)
{
	static const uint16_t w[] = { 1 };
	struct hg_pool p;

	new_pool(&p, HG_POLICY_ROUND_ROBIN, w, 1);
	p.down_us = UINT64_MAX;
	hg_pool_connect_failed(&p, 0, 10);
	cr_expect(!hg_pool_is_up(&p, 0, UINT64_MAX - 1));
}
