/* The flow table: one entry per relayed flow (a client connection and its
 * backend connection), per worker, sized at start, no allocation after.
 *
 * Entries are addressed by a 64-bit id that never repeats while the
 * process runs: (worker << 48) | (generation << 24) | slot, the
 * generation bumped each time a slot is reused, so a stale id (a `flow
 * kill` for a flow that already ended and whose slot was reused) finds
 * nothing. Lookup by id is O(1); the table also keeps its live entries on
 * a list ordered by last activity (least recent first) so aging visits
 * only what is idle: hg_flow_touch moves an entry to the recent end.
 *
 * Not thread safe: each worker owns its table.
 */
#ifndef HG_FLOW_TABLE_H
#define HG_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_FLOW_MAX_SLOTS (1u << 24)

struct hg_flow_entry {
	uint64_t id;          /* 0 when the slot is free */
	uint64_t last_us;     /* last activity */
	uint32_t prev, next;  /* activity list, slot indexes; UINT32_MAX none */
	uint32_t next_free;
	void *data;           /* the owner's (e.g. the relay's flow state) */
};

struct hg_flow_table {
	struct hg_flow_entry *e;
	uint32_t n_slots;
	uint32_t n_used;
	uint32_t free_head;   /* UINT32_MAX: full */
	uint32_t oldest, newest;
	uint16_t worker;
	uint32_t *gen;        /* per slot, 24 bits used */
};

/* n_slots 1..HG_FLOW_MAX_SLOTS. Returns 0 or -1 (allocation failed). */
int hg_flow_table_init(struct hg_flow_table *t, uint32_t n_slots,
		       uint16_t worker);
void hg_flow_table_free(struct hg_flow_table *t);

/* A new entry holding `data`, active at `now_us`; NULL when full. */
struct hg_flow_entry *hg_flow_insert(struct hg_flow_table *t, void *data,
				     uint64_t now_us);
/* The live entry with this id, or NULL (unknown, stale, other worker). */
struct hg_flow_entry *hg_flow_lookup(struct hg_flow_table *t, uint64_t id);
void hg_flow_delete(struct hg_flow_table *t, struct hg_flow_entry *e);
/* Marks activity: the entry becomes the most recent. */
void hg_flow_touch(struct hg_flow_table *t, struct hg_flow_entry *e,
		   uint64_t now_us);
/* The least recently active entry, or NULL when empty. */
struct hg_flow_entry *hg_flow_oldest(struct hg_flow_table *t);
/* Calls fn on every entry idle since before `cutoff_us`, oldest first,
 * at most `max` of them; fn may delete the entry it is given. Returns how
 * many were visited. */
unsigned hg_flow_age(struct hg_flow_table *t, uint64_t cutoff_us,
		     unsigned max, void (*fn)(struct hg_flow_entry *, void *),
		     void *arg);
/* Visits live entries in slot order starting at *cursor (0 to begin),
 * up to `max`; returns how many, *cursor set for the next call (it equals
 * n_slots when done). For listings. */
unsigned hg_flow_walk(struct hg_flow_table *t, uint32_t *cursor,
		      unsigned max, void (*fn)(struct hg_flow_entry *, void *),
		      void *arg);

static inline unsigned hg_flow_worker_of(uint64_t id)
{
	return (unsigned)(id >> 48);
}

#endif
