/* The hashed timing wheel: exact ticks, laps, jumps, callbacks that touch
 * the wheel, and a randomized run against a brute-force model. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "timer_wheel.h"

#define container_of(p, type, member)                                          \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

#define SLOTS 16

/* A timer with what the tests want to know about its firings. */
struct tt {
	struct hg_timer t;
	unsigned fired;
	uint64_t fired_at; /* w->now seen by the last callback */
	struct hg_wheel *w;
	struct tt *other;  /* for callbacks that act on another timer */
	uint64_t period;
};

static struct hg_timer *slots[SLOTS];

static void new_wheel(struct hg_wheel *w, uint64_t now)
{
	cr_assert_eq(hg_wheel_init(w, slots, SLOTS, now), 0);
	cr_assert_eq(w->armed, 0);
}

static void tt_init(struct tt *x, struct hg_wheel *w)
{
	hg_timer_init(&x->t);
	x->fired = 0;
	x->fired_at = 0;
	x->w = w;
	x->other = NULL;
	x->period = 0;
}

static void note(struct hg_timer *t, void *arg)
{
	struct tt *x = container_of(t, struct tt, t);

	(void)arg;
	cr_assert(!hg_timer_armed(t), "disarmed before its callback");
	x->fired++;
	x->fired_at = x->w->now;
}

Test(wheel, init_rejects_bad_geometry)
{
	struct hg_wheel w;

	cr_expect_eq(hg_wheel_init(&w, slots, 0, 0), -1);
	cr_expect_eq(hg_wheel_init(&w, slots, 3, 0), -1);
	cr_expect_eq(hg_wheel_init(&w, slots, 100, 0), -1);
	cr_expect_eq(hg_wheel_init(&w, slots, 1, 0), 0);
	cr_expect_eq(hg_wheel_init(&w, slots, SLOTS, 7), 0);
	cr_expect_eq(w.now, 7);
	cr_expect_eq(w.armed, 0);
}

Test(wheel, fires_at_exact_tick_not_before)
{
	struct hg_wheel w;
	struct tt a;
	uint64_t now;

	new_wheel(&w, 100);
	tt_init(&a, &w);
	hg_timer_arm(&w, &a.t, 110);
	cr_assert(hg_timer_armed(&a.t));
	cr_assert_eq(w.armed, 1);
	for (now = 101; now < 110; now++)
		cr_assert_eq(hg_wheel_advance(&w, now, note, NULL), 0);
	cr_assert_eq(a.fired, 0);
	cr_assert_eq(hg_wheel_advance(&w, 110, note, NULL), 1);
	cr_assert_eq(a.fired, 1);
	cr_assert_eq(a.fired_at, 110);
	cr_assert(!hg_timer_armed(&a.t));
	cr_assert_eq(w.armed, 0);
	cr_assert_eq(hg_wheel_advance(&w, 200, note, NULL), 0);
	cr_assert_eq(a.fired, 1);
	cr_assert_eq(w.now, 200);
}

Test(wheel, stale_advance_is_noop)
{
	struct hg_wheel w;
	struct tt a;

	new_wheel(&w, 50);
	tt_init(&a, &w);
	hg_timer_arm(&w, &a.t, 51);
	cr_assert_eq(hg_wheel_advance(&w, 50, note, NULL), 0);
	cr_assert_eq(hg_wheel_advance(&w, 10, note, NULL), 0);
	cr_assert_eq(w.now, 50);
	cr_assert_eq(hg_wheel_advance(&w, 51, note, NULL), 1);
}

Test(wheel, cancel)
{
	struct hg_wheel w;
	struct tt a, b;

	new_wheel(&w, 0);
	tt_init(&a, &w);
	tt_init(&b, &w);
	hg_timer_cancel(&w, &a.t); /* not armed: no-op */
	cr_assert_eq(w.armed, 0);
	hg_timer_arm(&w, &a.t, 5);
	hg_timer_arm(&w, &b.t, 5);
	cr_assert_eq(w.armed, 2);
	hg_timer_cancel(&w, &a.t);
	cr_assert(!hg_timer_armed(&a.t));
	cr_assert_eq(w.armed, 1);
	hg_timer_cancel(&w, &a.t);
	cr_assert_eq(w.armed, 1);
	cr_assert_eq(hg_wheel_advance(&w, 10, note, NULL), 1);
	cr_assert_eq(a.fired, 0);
	cr_assert_eq(b.fired, 1);
	cr_assert_eq(w.armed, 0);
}

Test(wheel, rearm_earlier_and_later)
{
	struct hg_wheel w;
	struct tt a, b;

	new_wheel(&w, 0);
	tt_init(&a, &w);
	tt_init(&b, &w);
	hg_timer_arm(&w, &a.t, 12);
	hg_timer_arm(&w, &a.t, 4);  /* earlier */
	hg_timer_arm(&w, &b.t, 4);
	hg_timer_arm(&w, &b.t, 40); /* later, beyond a lap */
	cr_assert_eq(w.armed, 2);
	cr_assert_eq(hg_wheel_advance(&w, 3, note, NULL), 0);
	cr_assert_eq(hg_wheel_advance(&w, 4, note, NULL), 1);
	cr_assert_eq(a.fired, 1);
	cr_assert_eq(a.fired_at, 4);
	cr_assert_eq(hg_wheel_advance(&w, 39, note, NULL), 0);
	cr_assert_eq(a.fired + b.fired, 1, "neither fires at its old tick");
	cr_assert_eq(hg_wheel_advance(&w, 40, note, NULL), 1);
	cr_assert_eq(b.fired, 1);
	cr_assert_eq(b.fired_at, 40);
	cr_assert_eq(w.armed, 0);
}

Test(wheel, past_expiry_fires_on_next_advance)
{
	struct hg_wheel w;
	struct tt a, b;

	new_wheel(&w, 1000);
	tt_init(&a, &w);
	tt_init(&b, &w);
	hg_timer_arm(&w, &a.t, 1000);
	hg_timer_arm(&w, &b.t, 3);
	cr_assert_eq(hg_wheel_advance(&w, 1001, note, NULL), 2);
	cr_assert_eq(a.fired, 1);
	cr_assert_eq(b.fired, 1);
	/* Also when the next advance jumps by more than a lap. */
	hg_timer_arm(&w, &a.t, 1001);
	cr_assert_eq(hg_wheel_advance(&w, 5000, note, NULL), 1);
	cr_assert_eq(a.fired, 2);
}

Test(wheel, laps_fire_at_the_right_tick)
{
	struct hg_wheel w;
	struct tt a[4];
	uint64_t exp[4] = { 3 * SLOTS + 5, SLOTS + 5, 5, 2 * SLOTS };
	uint64_t now;
	unsigned i;

	new_wheel(&w, 0);
	for (i = 0; i < 4; i++) {
		tt_init(&a[i], &w);
		hg_timer_arm(&w, &a[i].t, exp[i]);
	}
	for (now = 1; now <= 4 * SLOTS; now++) {
		hg_wheel_advance(&w, now, note, NULL);
		for (i = 0; i < 4; i++) {
			cr_assert_eq(a[i].fired, now >= exp[i],
				     "timer %u at %llu", i,
				     (unsigned long long)now);
			if (a[i].fired)
				cr_assert_eq(a[i].fired_at, exp[i]);
		}
	}
	cr_assert_eq(w.armed, 0);
}

Test(wheel, laps_not_early_with_jumps)
{
	struct hg_wheel w;
	struct tt a;

	new_wheel(&w, 0);
	tt_init(&a, &w);
	hg_timer_arm(&w, &a.t, 5 * SLOTS + 3);
	/* Jumps that land on the timer's slot in earlier laps. */
	cr_assert_eq(hg_wheel_advance(&w, SLOTS + 3, note, NULL), 0);
	cr_assert_eq(hg_wheel_advance(&w, 4 * SLOTS + 3, note, NULL), 0);
	cr_assert_eq(hg_wheel_advance(&w, 5 * SLOTS + 2, note, NULL), 0);
	cr_assert_eq(a.fired, 0);
	cr_assert_eq(hg_wheel_advance(&w, 5 * SLOTS + 3, note, NULL), 1);
}

Test(wheel, huge_jump_fires_everything_due_once)
{
	struct hg_wheel w;
	struct tt a[100];
	uint64_t now = 1000000;
	unsigned i, due = 0;

	new_wheel(&w, 0);
	for (i = 0; i < 100; i++) {
		tt_init(&a[i], &w);
		/* Spread over many laps; a fifth stay beyond the jump. */
		hg_timer_arm(&w, &a[i].t, (uint64_t)i * 12345 + 1);
		due += (uint64_t)i * 12345 + 1 <= now;
	}
	cr_assert_eq(hg_wheel_advance(&w, now, note, NULL), due);
	for (i = 0; i < 100; i++)
		cr_assert_eq(a[i].fired, a[i].t.expires <= now);
	cr_assert_eq(w.armed, 100 - due);
	cr_assert_eq(hg_wheel_advance(&w, UINT64_C(1) << 40, note, NULL),
		     100 - due);
	for (i = 0; i < 100; i++)
		cr_assert_eq(a[i].fired, 1);
	cr_assert_eq(w.armed, 0);
}

static void periodic(struct hg_timer *t, void *arg)
{
	struct tt *x = container_of(t, struct tt, t);

	note(t, arg);
	hg_timer_arm(x->w, t, t->expires + x->period);
}

Test(wheel, periodic_rearm_from_callback)
{
	struct hg_wheel w;
	struct tt a;
	uint64_t now;

	new_wheel(&w, 0);
	tt_init(&a, &w);
	a.period = 7;
	hg_timer_arm(&w, &a.t, 7);
	for (now = 1; now <= 100; now++) {
		hg_wheel_advance(&w, now, periodic, NULL);
		cr_assert_eq(a.fired, now / 7);
		if (a.fired)
			cr_assert_eq(a.fired_at, now / 7 * 7);
		cr_assert(hg_timer_armed(&a.t));
		cr_assert_eq(w.armed, 1);
	}
	/* Behind by several periods: one firing per advance, no loop. */
	cr_assert_eq(hg_wheel_advance(&w, 200, periodic, NULL), 1);
	cr_assert_eq(a.t.expires, 112);
	cr_assert_eq(hg_wheel_advance(&w, 201, periodic, NULL), 1);
	cr_assert_eq(w.armed, 1);
}

static void rearm_same_tick(struct hg_timer *t, void *arg)
{
	struct tt *x = container_of(t, struct tt, t);

	note(t, arg);
	hg_timer_arm(x->w, t, x->w->now); /* due now: next advance */
}

Test(wheel, rearm_due_from_callback_waits_for_next_advance)
{
	struct hg_wheel w;
	struct tt a;

	new_wheel(&w, 0);
	tt_init(&a, &w);
	hg_timer_arm(&w, &a.t, 3);
	cr_assert_eq(hg_wheel_advance(&w, 10, rearm_same_tick, NULL), 1);
	cr_assert_eq(hg_wheel_advance(&w, 11, rearm_same_tick, NULL), 1);
	cr_assert_eq(hg_wheel_advance(&w, 1000, rearm_same_tick, NULL), 1);
	cr_assert_eq(a.fired, 3);
	cr_assert_eq(w.armed, 1);
}

/* Whichever of a pair fires first cancels the other. */
static void cancel_other(struct hg_timer *t, void *arg)
{
	struct tt *x = container_of(t, struct tt, t);

	note(t, arg);
	hg_timer_cancel(x->w, &x->other->t);
}

Test(wheel, callback_cancels_other_in_same_slot)
{
	struct hg_wheel w;
	struct tt a, b, c, d;
	int round;

	new_wheel(&w, 0);
	tt_init(&a, &w);
	tt_init(&b, &w);
	tt_init(&c, &w);
	tt_init(&d, &w);
	a.other = &b;
	b.other = &a;
	c.other = &d;
	d.other = &c;
	for (round = 0; round < 2; round++) {
		/* Arm in both orders, the list order within a slot flips. */
		hg_timer_arm(&w, round ? &b.t : &a.t, w.now + 5);
		hg_timer_arm(&w, round ? &a.t : &b.t, w.now + 5);
		/* c: due in the same pass; d: same slot, a lap later. */
		hg_timer_arm(&w, &c.t, w.now + 5);
		hg_timer_arm(&w, &d.t, w.now + 5 + SLOTS);
		cr_assert_eq(w.armed, 4);
		cr_assert_eq(hg_wheel_advance(&w, w.now + 5, cancel_other,
					      NULL),
			     2);
		cr_assert_eq(a.fired + b.fired, (unsigned)round + 1);
		cr_assert_eq(c.fired, (unsigned)round + 1);
		cr_assert_eq(d.fired, 0);
		cr_assert(!hg_timer_armed(&a.t) && !hg_timer_armed(&b.t));
		cr_assert(!hg_timer_armed(&c.t) && !hg_timer_armed(&d.t));
		cr_assert_eq(w.armed, 0);
	}
}

/* Re-arms the other timer of the pair (which shares this slot) later. */
static void push_other(struct hg_timer *t, void *arg)
{
	struct tt *x = container_of(t, struct tt, t);

	note(t, arg);
	if (hg_timer_armed(&x->other->t))
		hg_timer_arm(x->w, &x->other->t, x->w->now + 3);
}

Test(wheel, callback_rearms_other_in_same_slot)
{
	struct hg_wheel w;
	struct tt a, b;

	new_wheel(&w, 0);
	tt_init(&a, &w);
	tt_init(&b, &w);
	a.other = &b;
	b.other = &a;
	hg_timer_arm(&w, &a.t, 4);
	hg_timer_arm(&w, &b.t, 4);
	cr_assert_eq(hg_wheel_advance(&w, 4, push_other, NULL), 1);
	cr_assert_eq(a.fired + b.fired, 1);
	cr_assert_eq(w.armed, 1);
	cr_assert_eq(hg_wheel_advance(&w, 6, push_other, NULL), 0);
	cr_assert_eq(hg_wheel_advance(&w, 7, push_other, NULL), 1);
	cr_assert_eq(a.fired, 1);
	cr_assert_eq(b.fired, 1);
	cr_assert_eq(w.armed, 0);
}

/* Arms `other` into the slot being run: once due now, once a lap out. */
static void arm_in_current_slot(struct hg_timer *t, void *arg)
{
	struct tt *x = container_of(t, struct tt, t);

	note(t, arg);
	hg_timer_arm(x->w, &x->other->t, x->w->now + x->period);
}

Test(wheel, callback_arms_new_timer_in_current_slot)
{
	struct hg_wheel w;
	struct tt a, b;

	new_wheel(&w, 0);
	tt_init(&a, &w);
	tt_init(&b, &w);
	a.other = &b;
	/* A lap out: the same slot, not due in this pass. */
	a.period = SLOTS;
	hg_timer_arm(&w, &a.t, 9);
	cr_assert_eq(hg_wheel_advance(&w, 9, arm_in_current_slot, NULL), 1);
	cr_assert_eq(b.fired, 0);
	cr_assert(hg_timer_armed(&b.t));
	cr_assert_eq(hg_wheel_advance(&w, 9 + SLOTS - 1, note, NULL), 0);
	cr_assert_eq(hg_wheel_advance(&w, 9 + SLOTS, note, NULL), 1);
	cr_assert_eq(b.fired_at, 9 + SLOTS);
	/* Due now: fires on the next advance, whatever its size. */
	a.period = 0;
	hg_timer_arm(&w, &a.t, 30);
	cr_assert_eq(hg_wheel_advance(&w, 40, arm_in_current_slot, NULL), 1);
	cr_assert_eq(b.fired, 1);
	cr_assert_eq(w.armed, 1);
	cr_assert_eq(hg_wheel_advance(&w, 41, note, NULL), 1);
	cr_assert_eq(b.fired, 2);
	cr_assert_eq(b.fired_at, 41);
	cr_assert_eq(w.armed, 0);
}

/* Randomized: NT timers armed, re-armed and cancelled at random between
 * advances of random size (some beyond a lap), checked against a model
 * that only knows "armed, expiring at E". */
#define NT 10000
#define RSLOTS 256

struct model {
	bool armed;
	uint64_t expires;
	unsigned fired_now; /* firings during the current advance */
};

static struct hg_timer *rslots[RSLOTS];
static struct tt rt[NT];
static struct model rm[NT];

static void rnote(struct hg_timer *t, void *arg)
{
	struct tt *x = container_of(t, struct tt, t);
	struct model *m = &rm[x - rt];

	(void)arg;
	cr_assert(!hg_timer_armed(t));
	cr_assert(m->armed, "timer %td fired while cancelled", x - rt);
	m->fired_now++;
}

static uint64_t rnd(uint64_t n)
{
	return ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % n;
}

static void random_op(struct hg_wheel *w, uint64_t *armed)
{
	unsigned i = (unsigned)rnd(NT);
	uint64_t e;

	if (rnd(4) == 0) {
		hg_timer_cancel(w, &rt[i].t);
		*armed -= rm[i].armed;
		rm[i].armed = false;
		return;
	}
	switch (rnd(8)) {
	case 0: /* in the past, or now */
		e = w->now - rnd(w->now < 50 ? w->now + 1 : 50);
		break;
	case 1: /* several laps out */
		e = w->now + rnd(5 * RSLOTS);
		break;
	default: /* soon */
		e = w->now + 1 + rnd(RSLOTS / 2);
		break;
	}
	hg_timer_arm(w, &rt[i].t, e);
	*armed += !rm[i].armed;
	rm[i].armed = true;
	rm[i].expires = e;
}

static void check_advance(struct hg_wheel *w, uint64_t now)
{
	unsigned i, fired, expect = 0;

	fired = hg_wheel_advance(w, now, rnote, NULL);
	for (i = 0; i < NT; i++) {
		bool due = rm[i].armed && rm[i].expires <= now;

		cr_assert_eq(rm[i].fired_now, due,
			     "timer %u expires %llu now %llu fired %u", i,
			     (unsigned long long)rm[i].expires,
			     (unsigned long long)now, rm[i].fired_now);
		expect += due;
		if (due)
			rm[i].armed = false;
		rm[i].fired_now = 0;
		cr_assert_eq(hg_timer_armed(&rt[i].t), rm[i].armed);
	}
	cr_assert_eq(fired, expect);
}

Test(wheel, random_against_model)
{
	struct hg_wheel w;
	uint64_t armed = 0, now = 1000;
	unsigned i, step;

	srand(12345);
	cr_assert_eq(hg_wheel_init(&w, rslots, RSLOTS, now), 0);
	for (i = 0; i < NT; i++) {
		tt_init(&rt[i], &w);
		rm[i] = (struct model){ 0 };
	}
	/* Every timer armed at least once to start with. */
	for (i = 0; i < NT; i++) {
		uint64_t e = now + 1 + rnd(3 * RSLOTS);

		hg_timer_arm(&w, &rt[i].t, e);
		rm[i].armed = true;
		rm[i].expires = e;
	}
	armed = NT;
	for (step = 0; step < 3000; step++) {
		unsigned ops = (unsigned)rnd(40);

		while (ops--)
			random_op(&w, &armed);
		cr_assert_eq(w.armed, armed);
		switch (rnd(10)) {
		case 0:
			now += RSLOTS + rnd(4 * RSLOTS); /* beyond a lap */
			break;
		case 1:
			now += rnd(RSLOTS) + 1;
			break;
		default:
			now += rnd(4) + 1;
			break;
		}
		check_advance(&w, now);
		armed = 0;
		for (i = 0; i < NT; i++)
			armed += rm[i].armed;
		cr_assert_eq(w.armed, armed);
	}
}
