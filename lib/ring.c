#include "ring.h"

size_t hg_ring_bytes(uint32_t n_slots, uint32_t slot_size)
{
	return sizeof(struct hg_ring) + (size_t)n_slots * slot_size;
}

int hg_ring_init(void *mem, uint32_t n_slots, uint32_t slot_size)
{
	struct hg_ring *r = mem;

	if (n_slots < 2 || (n_slots & (n_slots - 1)) != 0)
		return -1;
	if (slot_size == 0 || slot_size % HG_CACHE_LINE != 0)
		return -1;
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	r->n_slots = n_slots;
	r->slot_size = slot_size;
	atomic_thread_fence(memory_order_release);
	return 0;
}

static inline uint8_t *slot_at(struct hg_ring *r, uint32_t pos)
{
	return r->slots + (size_t)(pos & (r->n_slots - 1)) * r->slot_size;
}

void *hg_ring_reserve(struct hg_ring *r)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	if (head - tail >= r->n_slots)
		return NULL;
	return slot_at(r, head);
}

void hg_ring_commit(struct hg_ring *r)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_relaxed);

	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

void *hg_ring_peek(struct hg_ring *r)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	if (head == tail)
		return NULL;
	return slot_at(r, tail);
}

void hg_ring_release(struct hg_ring *r)
{
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);

	atomic_store_explicit(&r->tail, tail + 1, memory_order_release);
}

void hg_ring_drain(struct hg_ring *r)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);

	atomic_store_explicit(&r->tail, head, memory_order_release);
}

uint32_t hg_ring_count(struct hg_ring *r)
{
	uint32_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);

	return head - tail;
}
