/* The flow table: ids (unique, never 0, stale ones refused, generation
 * wrap), the activity list (touch, oldest, aging with deletion), the
 * cursor walk, and a randomized run against a simple model. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "flow_table.h"

#define NONE UINT32_MAX

static uint64_t make_id(unsigned worker, uint32_t gen, uint32_t slot)
{
	return (uint64_t)worker << 48 | (uint64_t)gen << 24 | slot;
}

static uint32_t slot_of_id(uint64_t id)
{
	return (uint32_t)(id & 0xffffff);
}

static uint32_t gen_of_id(uint64_t id)
{
	return (uint32_t)(id >> 24 & 0xffffff);
}

static void new_table(struct hg_flow_table *t, uint32_t n, uint16_t worker)
{
	cr_assert_eq(hg_flow_table_init(t, n, worker), 0);
	cr_assert_eq(t->n_used, 0);
	cr_assert_null(hg_flow_oldest(t));
}

/* The activity list runs oldest to newest with consistent back links,
 * holds exactly the live entries, and last activity never goes down. */
static void check_list(struct hg_flow_table *t)
{
	uint32_t s = t->oldest, prev = NONE, n = 0;
	uint64_t last = 0;

	while (s != NONE) {
		struct hg_flow_entry *e = &t->e[s];

		cr_assert_lt(s, t->n_slots);
		cr_assert_neq(e->id, 0, "free slot %u on the list", s);
		cr_assert_eq(e->prev, prev);
		cr_assert_geq(e->last_us, last);
		last = e->last_us;
		prev = s;
		s = e->next;
		cr_assert_leq(++n, t->n_used, "list longer than n_used");
	}
	cr_assert_eq(t->newest, prev);
	cr_assert_eq(n, t->n_used);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A small deterministic generator, so failures replay. */
static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((rng_state >> 33) % n);
}

Test(flow, init_rejects_bad_sizes)
{
	struct hg_flow_table t;

	cr_expect_eq(hg_flow_table_init(&t, 0, 0), -1);
	cr_expect_eq(hg_flow_table_init(&t, HG_FLOW_MAX_SLOTS + 1, 0), -1);
	cr_expect_eq(hg_flow_table_init(&t, 1, 0), 0);
	hg_flow_table_free(&t);
	hg_flow_table_free(&t); /* twice is harmless */
}

Test(flow, insert_until_full_then_lookup)
{
	struct hg_flow_table t;
	struct hg_flow_entry *e[8];
	int tag[8];
	unsigned i, j;

	new_table(&t, 8, 3);
	for (i = 0; i < 8; i++) {
		e[i] = hg_flow_insert(&t, &tag[i], 100 + i);
		cr_assert_not_null(e[i]);
		cr_assert_neq(e[i]->id, 0);
		cr_assert_eq(hg_flow_worker_of(e[i]->id), 3);
		cr_assert_eq(e[i]->data, &tag[i]);
		cr_assert_eq(e[i]->last_us, 100 + i);
		for (j = 0; j < i; j++)
			cr_assert_neq(e[i]->id, e[j]->id);
	}
	cr_assert_eq(t.n_used, 8);
	cr_assert_eq(t.free_head, NONE);
	cr_assert_null(hg_flow_insert(&t, NULL, 200));
	cr_assert_eq(t.n_used, 8);
	for (i = 0; i < 8; i++)
		cr_assert_eq(hg_flow_lookup(&t, e[i]->id), e[i]);
	check_list(&t);
	cr_assert_eq(hg_flow_oldest(&t), e[0]);
	hg_flow_table_free(&t);
}

Test(flow, delete_and_reuse_gives_a_new_id)
{
	struct hg_flow_table t;
	struct hg_flow_entry *a, *b, *c;
	uint64_t old;

	new_table(&t, 4, 0);
	a = hg_flow_insert(&t, NULL, 1);
	b = hg_flow_insert(&t, NULL, 2);
	cr_assert(a && b);
	old = b->id;
	hg_flow_delete(&t, b);
	cr_assert_eq(b->id, 0);
	cr_assert_eq(t.n_used, 1);
	cr_assert_null(hg_flow_lookup(&t, old));
	hg_flow_delete(&t, b); /* twice: no double free-list entry */
	cr_assert_eq(t.n_used, 1);
	check_list(&t);

	/* LIFO free list: the same slot comes back, with a new generation. */
	c = hg_flow_insert(&t, NULL, 3);
	cr_assert_eq(c, b);
	cr_assert_neq(c->id, old);
	cr_assert_eq(slot_of_id(c->id), slot_of_id(old));
	cr_assert_eq(gen_of_id(c->id), gen_of_id(old) + 1);
	cr_assert_null(hg_flow_lookup(&t, old));
	cr_assert_eq(hg_flow_lookup(&t, c->id), c);
	cr_assert_eq(hg_flow_lookup(&t, a->id), a);

	/* Filling up still takes every slot exactly once. */
	cr_assert_not_null(hg_flow_insert(&t, NULL, 4));
	cr_assert_not_null(hg_flow_insert(&t, NULL, 5));
	cr_assert_null(hg_flow_insert(&t, NULL, 6));
	check_list(&t);
	hg_flow_table_free(&t);
}

Test(flow, ids_unique_over_100k_cycles)
{
	enum { CYCLES = 100000, SLOTS = 5 };
	struct hg_flow_table t;
	struct hg_flow_entry *live[SLOTS];
	uint64_t *ids = malloc(CYCLES * sizeof(*ids));
	unsigned n_live = 0, n_ids = 0, i;

	cr_assert_not_null(ids);
	rng_state = 1;
	new_table(&t, SLOTS, 0); /* worker 0: slot 0 must not give id 0 */
	while (n_ids < CYCLES) {
		if (n_live == SLOTS || (n_live > 0 && rnd(2))) {
			i = rnd(n_live);
			hg_flow_delete(&t, live[i]);
			live[i] = live[--n_live];
			continue;
		}
		live[n_live] = hg_flow_insert(&t, NULL, n_ids);
		cr_assert_not_null(live[n_live]);
		cr_assert_neq(live[n_live]->id, 0);
		ids[n_ids++] = live[n_live++]->id;
	}
	qsort(ids, n_ids, sizeof(*ids), cmp_u64);
	for (i = 1; i < n_ids; i++)
		cr_assert_neq(ids[i], ids[i - 1], "id %#llx twice",
			      (unsigned long long)ids[i]);
	free(ids);
	hg_flow_table_free(&t);
}

Test(flow, generation_wraps_past_zero)
{
	struct hg_flow_table t;
	struct hg_flow_entry *e;

	new_table(&t, 2, 0);
	t.gen[0] = 0xfffffe;
	e = hg_flow_insert(&t, NULL, 0);
	cr_assert_eq(e->id, make_id(0, 0xffffff, 0));
	hg_flow_delete(&t, e);
	e = hg_flow_insert(&t, NULL, 0);
	cr_assert_eq(e->id, make_id(0, 1, 0), "got %#llx",
		     (unsigned long long)e->id);
	cr_assert_null(hg_flow_lookup(&t, make_id(0, 0xffffff, 0)));
	cr_assert_eq(hg_flow_lookup(&t, make_id(0, 1, 0)), e);
	hg_flow_table_free(&t);
}

/* The whole cycle on one slot of worker 0, the case where a generation
 * of 0 would give id 0: 2^24 - 1 distinct ids, then they repeat. */
Test(flow, generation_full_cycle_on_one_slot)
{
	struct hg_flow_table t;
	struct hg_flow_entry *e;
	uint64_t first, expect = 1;
	uint32_t i;

	new_table(&t, 1, 0);
	e = hg_flow_insert(&t, NULL, 0);
	first = e->id;
	cr_assert_eq(first, make_id(0, 1, 0));
	for (i = 1; i < (1u << 24) + 5; i++) {
		hg_flow_delete(&t, e);
		e = hg_flow_insert(&t, NULL, i);
		expect = expect == 0xffffff ? 1 : expect + 1;
		if (e->id != make_id(0, (uint32_t)expect, 0))
			cr_assert_fail("cycle %u: id %#llx", i,
				       (unsigned long long)e->id);
		if (i < 0xffffff && e->id == first)
			cr_assert_fail("cycle %u repeats the first id", i);
	}
	hg_flow_table_free(&t);
}

Test(flow, lookup_refuses_bad_ids)
{
	struct hg_flow_table t;
	struct hg_flow_entry *e;
	uint32_t g;

	new_table(&t, 4, 7);
	e = hg_flow_insert(&t, NULL, 0);
	g = gen_of_id(e->id);
	cr_assert_eq(hg_flow_lookup(&t, e->id), e);
	cr_expect_null(hg_flow_lookup(&t, 0));
	cr_expect_null(hg_flow_lookup(&t, UINT64_MAX));
	cr_expect_null(hg_flow_lookup(&t, make_id(6, g, 0)), "other worker");
	cr_expect_null(hg_flow_lookup(&t, make_id(7, g, 4)), "slot >= n");
	cr_expect_null(hg_flow_lookup(&t, make_id(7, g, 0xffffff)));
	cr_expect_null(hg_flow_lookup(&t, make_id(7, g + 1, 0)), "future gen");
	cr_expect_null(hg_flow_lookup(&t, make_id(7, 0, 0)));
	cr_expect_null(hg_flow_lookup(&t, make_id(7, g, 1)), "free slot");
	cr_expect_null(hg_flow_lookup(&t, make_id(7, 0, 1)), "free, gen 0");
	cr_expect_null(hg_flow_lookup(&t, e->id | 1ull << 63));
	cr_expect_null(hg_flow_lookup(&t, 0x0123456789abcdefull));
	hg_flow_table_free(&t);
}

Test(flow, touch_orders_by_activity)
{
	struct hg_flow_table t;
	struct hg_flow_entry *a, *b, *c;

	new_table(&t, 4, 0);
	a = hg_flow_insert(&t, NULL, 1);
	b = hg_flow_insert(&t, NULL, 2);
	c = hg_flow_insert(&t, NULL, 3);
	cr_assert_eq(hg_flow_oldest(&t), a);

	hg_flow_touch(&t, a, 4);
	cr_assert_eq(a->last_us, 4);
	cr_assert_eq(hg_flow_oldest(&t), b);
	check_list(&t);
	hg_flow_touch(&t, a, 5); /* already newest */
	cr_assert_eq(a->last_us, 5);
	cr_assert_eq(hg_flow_oldest(&t), b);
	check_list(&t);
	hg_flow_touch(&t, c, 6); /* from the middle */
	cr_assert_eq(hg_flow_oldest(&t), b);
	cr_assert_eq(t.newest, (uint32_t)(c - t.e));
	check_list(&t);
	hg_flow_touch(&t, b, 7);
	cr_assert_eq(hg_flow_oldest(&t), a);
	check_list(&t);

	hg_flow_delete(&t, a);
	cr_assert_eq(hg_flow_oldest(&t), c);
	hg_flow_delete(&t, b); /* the newest */
	cr_assert_eq(t.newest, (uint32_t)(c - t.e));
	check_list(&t);
	hg_flow_delete(&t, c);
	cr_assert_null(hg_flow_oldest(&t));
	cr_assert_eq(t.newest, NONE);
	check_list(&t);
	hg_flow_table_free(&t);
}

struct age_log {
	struct hg_flow_table *t;
	bool delete;
	unsigned n;
	uint64_t seen[64];
};

static void age_cb(struct hg_flow_entry *e, void *arg)
{
	struct age_log *log = arg;

	log->seen[log->n++] = e->last_us;
	if (log->delete)
		hg_flow_delete(log->t, e);
}

static void fill_ages(struct hg_flow_table *t, unsigned n, uint64_t from)
{
	unsigned i;

	for (i = 0; i < n; i++)
		cr_assert_not_null(hg_flow_insert(t, NULL, from + i));
}

Test(flow, age_respects_cutoff_and_max)
{
	struct hg_flow_table t;
	struct age_log log = { .t = &t };
	unsigned i;

	new_table(&t, 16, 0);
	fill_ages(&t, 10, 10); /* last_us 10..19 */

	cr_assert_eq(hg_flow_age(&t, 10, 100, age_cb, &log), 0, "strict <");
	cr_assert_eq(hg_flow_age(&t, 15, 100, age_cb, &log), 5);
	for (i = 0; i < 5; i++)
		cr_assert_eq(log.seen[i], 10 + i, "oldest first");
	log.n = 0;
	cr_assert_eq(hg_flow_age(&t, 100, 3, age_cb, &log), 3);
	cr_assert_eq(log.seen[2], 12);
	cr_assert_eq(hg_flow_age(&t, 100, 0, age_cb, &log), 0);
	cr_assert_eq(t.n_used, 10, "visiting alone deletes nothing");
	hg_flow_table_free(&t);
}

Test(flow, age_callback_may_delete)
{
	struct hg_flow_table t;
	struct age_log log = { .t = &t, .delete = true };
	unsigned i;

	new_table(&t, 16, 0);
	fill_ages(&t, 10, 10);
	hg_flow_touch(&t, hg_flow_oldest(&t), 30); /* 10 becomes 30 */

	cr_assert_eq(hg_flow_age(&t, 16, 100, age_cb, &log), 5);
	for (i = 0; i < 5; i++)
		cr_assert_eq(log.seen[i], 11 + i);
	cr_assert_eq(t.n_used, 5);
	cr_assert_eq(hg_flow_oldest(&t)->last_us, 16);
	check_list(&t);

	log.n = 0;
	cr_assert_eq(hg_flow_age(&t, UINT64_MAX, 2, age_cb, &log), 2);
	cr_assert_eq(hg_flow_oldest(&t)->last_us, 18);
	cr_assert_eq(hg_flow_age(&t, UINT64_MAX, 100, age_cb, &log), 3);
	cr_assert_eq(log.seen[4], 30, "the touched one last");
	cr_assert_eq(t.n_used, 0);
	cr_assert_null(hg_flow_oldest(&t));
	check_list(&t);
	/* Every slot went back to the free list. */
	fill_ages(&t, 16, 0);
	cr_assert_null(hg_flow_insert(&t, NULL, 0));
	hg_flow_table_free(&t);
}

struct walk_log {
	struct hg_flow_table *t;
	bool delete;
	unsigned n;
	uint32_t last_slot;
	unsigned visits[64];
};

static void walk_cb(struct hg_flow_entry *e, void *arg)
{
	struct walk_log *log = arg;
	uint32_t s = (uint32_t)(e - log->t->e);

	cr_assert(log->n == 0 || s > log->last_slot, "slot order");
	log->last_slot = s;
	log->visits[s]++;
	log->n++;
	if (log->delete)
		hg_flow_delete(log->t, e);
}

/* Deletes a pseudo-random third of a full 64-slot table. */
static void sparse_table(struct hg_flow_table *t, bool live[64])
{
	unsigned i;

	new_table(t, 64, 1);
	fill_ages(t, 64, 0);
	rng_state = 42;
	for (i = 0; i < 64; i++) {
		live[i] = rnd(3) != 0;
		if (!live[i])
			hg_flow_delete(t, &t->e[i]);
	}
	if (live[63]) /* trailing free slots */
		hg_flow_delete(t, &t->e[63]);
	live[63] = false;
}

Test(flow, walk_with_cursor_visits_each_once)
{
	struct hg_flow_table t;
	struct walk_log log = { .t = &t };
	bool live[64];
	uint32_t cursor = 0, used;
	unsigned i, got, calls = 0;

	sparse_table(&t, live);
	used = t.n_used;
	while (cursor < t.n_slots) {
		uint32_t before = cursor;

		got = hg_flow_walk(&t, &cursor, 5, walk_cb, &log);
		cr_assert_leq(got, 5);
		cr_assert_gt(cursor, before, "progress");
		if (got == 5 && cursor < t.n_slots)
			cr_assert_eq(cursor, log.last_slot + 1);
		cr_assert_lt(++calls, 64);
	}
	cr_assert_eq(cursor, t.n_slots);
	cr_assert_eq(log.n, used);
	for (i = 0; i < 64; i++)
		cr_assert_eq(log.visits[i], live[i] ? 1 : 0, "slot %u", i);
	cr_assert_eq(hg_flow_walk(&t, &cursor, 5, walk_cb, &log), 0);
	cr_assert_eq(cursor, t.n_slots);
	cursor = 0;
	cr_assert_eq(hg_flow_walk(&t, &cursor, 0, walk_cb, &log), 0);
	cr_assert_eq(cursor, 0);
	hg_flow_table_free(&t);
}

Test(flow, walk_callback_may_delete)
{
	struct hg_flow_table t;
	struct walk_log log = { .t = &t, .delete = true };
	bool live[64];
	uint32_t cursor = 0, used;

	sparse_table(&t, live);
	used = t.n_used;
	while (cursor < t.n_slots)
		hg_flow_walk(&t, &cursor, 7, walk_cb, &log);
	cr_assert_eq(log.n, used);
	cr_assert_eq(t.n_used, 0);
	check_list(&t);
	hg_flow_table_free(&t);
}

/* The model: live ids and their last activity. now_us only grows, so
 * last activities are distinct and the aging order is determined. */
struct model {
	unsigned n;
	uint64_t id[64];
	uint64_t last[64];
};

static unsigned model_oldest(const struct model *m)
{
	unsigned i, o = 0;

	for (i = 1; i < m->n; i++)
		if (m->last[i] < m->last[o])
			o = i;
	return o;
}

static void model_del(struct model *m, unsigned i)
{
	m->n--;
	m->id[i] = m->id[m->n];
	m->last[i] = m->last[m->n];
}

/* Every live id found, with its last activity, and the list sound. */
static void check_model(struct hg_flow_table *t, const struct model *m)
{
	unsigned i;

	for (i = 0; i < m->n; i++) {
		struct hg_flow_entry *e = hg_flow_lookup(t, m->id[i]);

		cr_assert_not_null(e);
		cr_assert_eq(e->last_us, m->last[i]);
	}
	check_list(t);
}

struct rand_age {
	struct hg_flow_table *t;
	struct model *m;
	uint64_t prev_last;
};

/* Checks the visit against the model's oldest, then deletes both. */
static void rand_age_cb(struct hg_flow_entry *e, void *arg)
{
	struct rand_age *ra = arg;
	unsigned o = model_oldest(ra->m);

	cr_assert_eq(e->id, ra->m->id[o]);
	cr_assert_gt(e->last_us, ra->prev_last);
	ra->prev_last = e->last_us;
	model_del(ra->m, o);
	hg_flow_delete(ra->t, e);
}

static void rand_insert(struct hg_flow_table *t, struct model *m,
			uint64_t now)
{
	struct hg_flow_entry *e = hg_flow_insert(t, NULL, now);

	if (m->n == t->n_slots) {
		cr_assert_null(e);
		return;
	}
	cr_assert_not_null(e);
	m->id[m->n] = e->id;
	m->last[m->n++] = now;
}

static void rand_age(struct hg_flow_table *t, struct model *m, uint64_t now)
{
	struct rand_age ra = { .t = t, .m = m };
	uint64_t cutoff = now - rnd(64);
	unsigned max = rnd(8), want = 0, i;

	for (i = 0; i < m->n; i++)
		want += m->last[i] < cutoff;
	if (want > max)
		want = max;
	cr_assert_eq(hg_flow_age(t, cutoff, max, rand_age_cb, &ra), want);
}

Test(flow, random_against_model)
{
	struct hg_flow_table t;
	struct model m = { 0 };
	uint64_t stale[32] = { 0 }, now = 1000;
	unsigned op, i;

	rng_state = 7;
	new_table(&t, 48, 2);
	for (op = 0; op < 50000; op++) {
		uint32_t r = rnd(100);

		now++;
		if (r < 40) {
			rand_insert(&t, &m, now);
		} else if (r < 65 && m.n > 0) {
			i = rnd(m.n);
			stale[op % 32] = m.id[i];
			hg_flow_delete(&t, hg_flow_lookup(&t, m.id[i]));
			model_del(&m, i);
		} else if (r < 90 && m.n > 0) {
			i = rnd(m.n);
			hg_flow_touch(&t, hg_flow_lookup(&t, m.id[i]), now);
			m.last[i] = now;
		} else if (r < 93) {
			rand_age(&t, &m, now);
		}
		cr_assert_eq(t.n_used, m.n);
		for (i = 0; i < 32; i++)
			cr_assert_null(hg_flow_lookup(&t, stale[i]));
		if (op % 16 == 0)
			check_model(&t, &m);
		if (m.n > 0)
			cr_assert_eq(hg_flow_oldest(&t)->id,
				     m.id[model_oldest(&m)]);
		else
			cr_assert_null(hg_flow_oldest(&t));
	}
	hg_flow_table_free(&t);
}
