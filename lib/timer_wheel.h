/* A hashed timing wheel: O(1) arm and cancel, for thousands of
 * connection timers on one worker without a per-connection OS timer.
 *
 * Time is in ticks (the caller picks the tick, e.g. 1 ms). Timers are
 * intrusive (embedded in the connection), so arming allocates nothing. A
 * timer due further out than the wheel's span (n_slots ticks) sits in the
 * slot of its expiry modulo n_slots and is skipped until its lap comes
 * round (it keeps its absolute expiry tick). hg_wheel_advance fires every
 * timer whose expiry <= now, each once, in no particular order within a
 * tick; a callback may re-arm or cancel any timer, including the one being
 * fired and others in the same slot.
 */
#ifndef HG_TIMER_WHEEL_H
#define HG_TIMER_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

struct hg_timer {
	struct hg_timer *next, **pprev; /* pprev NULL when not armed */
	uint64_t expires;               /* tick */
};

struct hg_wheel {
	struct hg_timer **slots;
	uint32_t n_slots; /* power of two */
	uint64_t now;     /* last tick processed */
	uint64_t armed;   /* timers armed, for stats and idle checks */
};

/* `slots` is an array of n_slots pointers owned by the caller. Returns -1
 * when n_slots is not a power of two. */
int hg_wheel_init(struct hg_wheel *w, struct hg_timer **slots,
		  uint32_t n_slots, uint64_t now);

static inline void hg_timer_init(struct hg_timer *t)
{
	t->next = 0;
	t->pprev = 0;
	t->expires = 0;
}

static inline bool hg_timer_armed(const struct hg_timer *t)
{
	return t->pprev != 0;
}

/* (Re)arms `t` to fire at tick `expires` (a past tick fires on the next
 * advance). */
void hg_timer_arm(struct hg_wheel *w, struct hg_timer *t, uint64_t expires);
void hg_timer_cancel(struct hg_wheel *w, struct hg_timer *t);

/* Fires every timer due at or before `now` by calling fire(t, arg); each
 * is disarmed before its callback runs. Returns the number fired. Runs in
 * time proportional to the ticks crossed (capped at one lap) plus the
 * timers visited. */
unsigned hg_wheel_advance(struct hg_wheel *w, uint64_t now,
			  void (*fire)(struct hg_timer *t, void *arg),
			  void *arg);

#endif
