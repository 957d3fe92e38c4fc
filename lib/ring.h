/* A single-producer single-consumer ring of fixed-size slots, laid out in
 * caller-provided memory so it can live in shared memory between two
 * processes.
 *
 * Invariants: `head` is written only by the producer, `tail` only by the
 * consumer; both run freely (uint32 wrap-around) and the ring holds
 * head - tail slots, never more than n_slots. A slot is the producer's from
 * reserve to commit and the consumer's from peek to release; nothing is
 * ever allocated, so a process that dies mid-way leaks nothing: an
 * uncommitted slot was never published, an unreleased one is simply read
 * again (or drained) by the next consumer.
 */
#ifndef HG_RING_H
#define HG_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HG_CACHE_LINE 64

struct hg_ring {
	_Alignas(HG_CACHE_LINE) _Atomic uint32_t head; /* producer */
	_Alignas(HG_CACHE_LINE) _Atomic uint32_t tail; /* consumer */
	_Alignas(HG_CACHE_LINE) uint32_t n_slots;      /* power of two */
	uint32_t slot_size; /* multiple of HG_CACHE_LINE */
	_Alignas(HG_CACHE_LINE) uint8_t slots[];
};

/* Bytes a ring of n_slots slots of slot_size bytes occupies. */
size_t hg_ring_bytes(uint32_t n_slots, uint32_t slot_size);

/* Initialises a ring in `mem` (hg_ring_bytes() bytes, 64-byte aligned).
 * Returns -1 when n_slots is not a power of two >= 2 or slot_size is not a
 * non-zero multiple of HG_CACHE_LINE. */
int hg_ring_init(void *mem, uint32_t n_slots, uint32_t slot_size);

/* Producer: the next free slot, or NULL when the ring is full. */
void *hg_ring_reserve(struct hg_ring *r);
/* Producer: publishes the slot returned by the last hg_ring_reserve. */
void hg_ring_commit(struct hg_ring *r);

/* Consumer: the oldest published slot, or NULL when the ring is empty. */
void *hg_ring_peek(struct hg_ring *r);
/* Consumer: gives the slot returned by the last hg_ring_peek back. */
void hg_ring_release(struct hg_ring *r);
/* Consumer: discards everything published so far. */
void hg_ring_drain(struct hg_ring *r);

/* Slots in use, as seen by the caller (exact for producer or consumer). */
uint32_t hg_ring_count(struct hg_ring *r);

#endif
