#include "flow_table.h"

#include <stdlib.h>
#include <string.h>

#define NONE	  UINT32_MAX
#define GEN_MASK  0xffffffu
#define SLOT_MASK 0xffffffu

int hg_flow_table_init(struct hg_flow_table *t, uint32_t n_slots,
		       uint16_t worker)
{
	uint32_t i;

	memset(t, 0, sizeof(*t));
	if (n_slots == 0 || n_slots > HG_FLOW_MAX_SLOTS)
		return -1;
	t->e = calloc(n_slots, sizeof(*t->e));
	/* Zeroed generations: the first insert in a slot takes 1, so no id
	 * is ever 0 (0 marks a free slot). */
	t->gen = calloc(n_slots, sizeof(*t->gen));
	if (!t->e || !t->gen) {
		hg_flow_table_free(t);
		return -1;
	}
	/* Ascending, so a fresh table hands out slots 0, 1, 2... */
	for (i = 0; i < n_slots; i++) {
		t->e[i].prev = NONE;
		t->e[i].next = NONE;
		t->e[i].next_free = i + 1 < n_slots ? i + 1 : NONE;
	}
	t->n_slots = n_slots;
	t->free_head = 0;
	t->oldest = NONE;
	t->newest = NONE;
	t->worker = worker;
	return 0;
}

void hg_flow_table_free(struct hg_flow_table *t)
{
	free(t->e);
	free(t->gen);
	memset(t, 0, sizeof(*t));
	t->free_head = NONE;
	t->oldest = NONE;
	t->newest = NONE;
}

static inline uint32_t slot_of(const struct hg_flow_table *t,
			       const struct hg_flow_entry *e)
{
	return (uint32_t)(e - t->e);
}

/* Appends slot s at the recent end of the activity list. */
static void act_append(struct hg_flow_table *t, uint32_t s)
{
	struct hg_flow_entry *e = &t->e[s];

	e->prev = t->newest;
	e->next = NONE;
	if (t->newest != NONE)
		t->e[t->newest].next = s;
	else
		t->oldest = s;
	t->newest = s;
}

static void act_unlink(struct hg_flow_table *t, uint32_t s)
{
	struct hg_flow_entry *e = &t->e[s];

	if (e->prev != NONE)
		t->e[e->prev].next = e->next;
	else
		t->oldest = e->next;
	if (e->next != NONE)
		t->e[e->next].prev = e->prev;
	else
		t->newest = e->prev;
	e->prev = NONE;
	e->next = NONE;
}

/* 24 bits, wrapping past 0: with worker 0 and slot 0 a generation of 0
 * would make the id 0, the free mark. The cost is that ids of one slot
 * repeat after 2^24 - 1 reuses rather than 2^24. */
static inline uint32_t gen_next(uint32_t g)
{
	g = (g + 1) & GEN_MASK;
	return g ? g : 1;
}

struct hg_flow_entry *hg_flow_insert(struct hg_flow_table *t, void *data,
				     uint64_t now_us)
{
	uint32_t s = t->free_head;
	struct hg_flow_entry *e;

	if (s == NONE)
		return NULL;
	e = &t->e[s];
	t->free_head = e->next_free;
	e->next_free = NONE;
	t->gen[s] = gen_next(t->gen[s]);
	e->id = (uint64_t)t->worker << 48 | (uint64_t)t->gen[s] << 24 | s;
	e->last_us = now_us;
	e->data = data;
	act_append(t, s);
	t->n_used++;
	return e;
}

struct hg_flow_entry *hg_flow_lookup(struct hg_flow_table *t, uint64_t id)
{
	uint32_t s = (uint32_t)(id & SLOT_MASK);

	/* A free slot holds id 0: checking id != 0 first keeps 0 from
	 * matching one. */
	if (id == 0 || hg_flow_worker_of(id) != t->worker || s >= t->n_slots)
		return NULL;
	if (t->e[s].id != id)
		return NULL;
	return &t->e[s];
}

void hg_flow_delete(struct hg_flow_table *t, struct hg_flow_entry *e)
{
	uint32_t s = slot_of(t, e);

	/* Deleting twice would put the slot on the free list twice. */
	if (e->id == 0)
		return;
	act_unlink(t, s);
	e->id = 0;
	e->data = NULL;
	/* LIFO: the slot just freed is likely still in cache. */
	e->next_free = t->free_head;
	t->free_head = s;
	t->n_used--;
}

void hg_flow_touch(struct hg_flow_table *t, struct hg_flow_entry *e,
		   uint64_t now_us)
{
	uint32_t s = slot_of(t, e);

	e->last_us = now_us;
	if (t->newest == s)
		return;
	act_unlink(t, s);
	act_append(t, s);
}

struct hg_flow_entry *hg_flow_oldest(struct hg_flow_table *t)
{
	return t->oldest == NONE ? NULL : &t->e[t->oldest];
}

unsigned hg_flow_age(struct hg_flow_table *t, uint64_t cutoff_us,
		     unsigned max, void (*fn)(struct hg_flow_entry *, void *),
		     void *arg)
{
	uint32_t s = t->oldest;
	unsigned n = 0;

	while (n < max && s != NONE && t->e[s].last_us < cutoff_us) {
		/* Read before fn, which may delete (or touch) the entry. */
		uint32_t next = t->e[s].next;

		fn(&t->e[s], arg);
		n++;
		s = next;
	}
	return n;
}

unsigned hg_flow_walk(struct hg_flow_table *t, uint32_t *cursor,
		      unsigned max, void (*fn)(struct hg_flow_entry *, void *),
		      void *arg)
{
	uint32_t s = *cursor;
	unsigned n = 0;

	while (n < max && s < t->n_slots) {
		/* By slot, not by list: fn may delete what it is given. */
		if (t->e[s].id != 0) {
			fn(&t->e[s], arg);
			n++;
		}
		s++;
	}
	*cursor = s < t->n_slots ? s : t->n_slots;
	return n;
}
