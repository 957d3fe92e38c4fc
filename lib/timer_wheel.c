#include "timer_wheel.h"

#include <stddef.h>

int hg_wheel_init(struct hg_wheel *w, struct hg_timer **slots,
		  uint32_t n_slots, uint64_t now)
{
	uint32_t i;

	if (n_slots == 0 || (n_slots & (n_slots - 1)) != 0)
		return -1;
	for (i = 0; i < n_slots; i++)
		slots[i] = NULL;
	w->slots = slots;
	w->n_slots = n_slots;
	w->now = now;
	w->armed = 0;
	return 0;
}

static inline struct hg_timer **slot_of(struct hg_wheel *w, uint64_t tick)
{
	return &w->slots[tick & (w->n_slots - 1)];
}

/* Pushes at the head: order within a slot carries no meaning. */
static void list_add(struct hg_timer **head, struct hg_timer *t)
{
	t->next = *head;
	if (t->next)
		t->next->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

/* Works whichever list `t` is on (a slot or advance's local list): pprev
 * points at whatever points at t. */
static void list_del(struct hg_timer *t)
{
	*t->pprev = t->next;
	if (t->next)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
}

void hg_timer_arm(struct hg_wheel *w, struct hg_timer *t, uint64_t expires)
{
	uint64_t tick = expires;

	if (hg_timer_armed(t))
		list_del(t);
	else
		w->armed++;
	/* The slot for w->now has been visited already (or is being visited
	 * right now, from a callback): a due timer goes one tick ahead, the
	 * first slot the next advance visits. */
	if (tick <= w->now)
		tick = w->now + 1;
	t->expires = expires;
	list_add(slot_of(w, tick), t);
}

void hg_timer_cancel(struct hg_wheel *w, struct hg_timer *t)
{
	if (!hg_timer_armed(t))
		return;
	list_del(t);
	w->armed--;
}

/* Fires the timers of one slot due at or before `now`. The due ones move
 * to a local list first, so a callback may cancel or re-arm any of them
 * (list_del works there too) and a timer armed into this slot by a
 * callback is not fired in this pass. What is still on the local list
 * when its turn comes is fired; nothing is visited twice. */
static unsigned run_slot(struct hg_wheel *w, struct hg_timer **slot,
			 uint64_t now,
			 void (*fire)(struct hg_timer *t, void *arg), void *arg)
{
	struct hg_timer *due = NULL, *t, *next;
	unsigned fired = 0;

	for (t = *slot; t; t = next) {
		next = t->next;
		if (t->expires <= now) {
			list_del(t);
			list_add(&due, t);
		}
	}
	while ((t = due) != NULL) {
		list_del(t);
		w->armed--;
		fired++;
		fire(t, arg);
	}
	return fired;
}

unsigned hg_wheel_advance(struct hg_wheel *w, uint64_t now,
			  void (*fire)(struct hg_timer *t, void *arg),
			  void *arg)
{
	uint64_t ticks, first, i;
	unsigned fired = 0;

	/* Time does not go backwards; a stale `now` is a no-op. */
	if (now <= w->now)
		return 0;
	ticks = now - w->now;
	/* Past one lap every slot has been crossed: visiting each once finds
	 * every due timer (the due test compares absolute expiries). */
	if (ticks > w->n_slots)
		ticks = w->n_slots;
	first = now - ticks + 1;
	/* Set before any callback runs, so callbacks see the current time
	 * and whatever they arm at or before it lands in the slot of now + 1:
	 * not among those left to visit (or the first one, already emptied of
	 * its due timers), so it fires on the next advance, not a lap late
	 * and never twice in this one. */
	w->now = now;
	for (i = 0; i < ticks; i++)
		fired += run_slot(w, slot_of(w, first + i), now, fire, arg);
	return fired;
}
