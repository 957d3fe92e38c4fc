/* The SPSC ring and the messages on it. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "ring.h"

static struct hg_ring *new_ring(uint32_t slots, uint32_t slot_size)
{
	void *mem = aligned_alloc(HG_CACHE_LINE,
				  hg_ring_bytes(slots, slot_size));

	cr_assert_not_null(mem);
	cr_assert_eq(hg_ring_init(mem, slots, slot_size), 0);
	return mem;
}

static void push_u64(struct hg_ring *r, uint64_t v)
{
	uint64_t *slot = hg_ring_reserve(r);

	cr_assert_not_null(slot);
	*slot = v;
	hg_ring_commit(r);
}

static uint64_t pop_u64(struct hg_ring *r)
{
	uint64_t *slot = hg_ring_peek(r);
	uint64_t v;

	cr_assert_not_null(slot);
	v = *slot;
	hg_ring_release(r);
	return v;
}

Test(ring, init_rejects_bad_geometry)
{
	static _Alignas(64) uint8_t mem[4096];

	cr_expect_eq(hg_ring_init(mem, 0, 64), -1);
	cr_expect_eq(hg_ring_init(mem, 1, 64), -1);
	cr_expect_eq(hg_ring_init(mem, 3, 64), -1);
	cr_expect_eq(hg_ring_init(mem, 4, 0), -1);
	cr_expect_eq(hg_ring_init(mem, 4, 100), -1);
	cr_expect_eq(hg_ring_init(mem, 4, 64), 0);
}

Test(ring, empty)
{
	struct hg_ring *r = new_ring(8, 64);

	cr_expect_null(hg_ring_peek(r));
	cr_expect_eq(hg_ring_count(r), 0);
	push_u64(r, 7);
	cr_expect_eq(pop_u64(r), 7);
	cr_expect_null(hg_ring_peek(r), "empty again after one round trip");
	free(r);
}

Test(ring, full)
{
	struct hg_ring *r = new_ring(8, 64);

	for (uint64_t i = 0; i < 8; i++)
		push_u64(r, i);
	cr_expect_eq(hg_ring_count(r), 8);
	cr_expect_null(hg_ring_reserve(r), "a full ring refuses a ninth slot");
	cr_expect_eq(pop_u64(r), 0);
	cr_expect_not_null(hg_ring_reserve(r), "one slot freed, one free");
	free(r);
}

Test(ring, wrap_around)
{
	struct hg_ring *r = new_ring(4, 64);
	uint64_t next_in = 0, next_out = 0;

	/* Move the indexes through many laps, with 1..4 slots in flight. */
	for (int lap = 0; lap < 1000; lap++) {
		int n = lap % 4 + 1;

		for (int i = 0; i < n; i++)
			push_u64(r, next_in++);
		for (int i = 0; i < n; i++)
			cr_assert_eq(pop_u64(r), next_out++);
	}
	cr_expect_null(hg_ring_peek(r));
	free(r);
}

Test(ring, counters_wrap_uint32)
{
	struct hg_ring *r = new_ring(4, 64);

	/* Start the free-running indexes just below 2^32. */
	atomic_store(&r->head, UINT32_MAX - 1);
	atomic_store(&r->tail, UINT32_MAX - 1);
	for (uint64_t i = 0; i < 4; i++)
		push_u64(r, 100 + i);
	cr_expect_null(hg_ring_reserve(r));
	cr_expect_eq(hg_ring_count(r), 4);
	for (uint64_t i = 0; i < 4; i++)
		cr_expect_eq(pop_u64(r), 100 + i);
	cr_expect_null(hg_ring_peek(r));
	free(r);
}

Test(ring, drain_discards_everything)
{
	struct hg_ring *r = new_ring(8, 64);

	for (uint64_t i = 0; i < 5; i++)
		push_u64(r, i);
	hg_ring_drain(r);
	cr_expect_eq(hg_ring_count(r), 0);
	cr_expect_null(hg_ring_peek(r));
	push_u64(r, 42);
	cr_expect_eq(pop_u64(r), 42);
	free(r);
}

#define MILLION 1000000ULL

struct spsc_run {
	struct hg_ring *r;
	uint64_t full_seen;
};

static void *producer(void *arg)
{
	struct spsc_run *run = arg;

	for (uint64_t i = 0; i < MILLION;) {
		uint64_t *slot = hg_ring_reserve(run->r);

		if (slot == NULL) {
			run->full_seen++;
			continue;
		}
		slot[0] = i;
		slot[1] = ~i; /* a torn slot would break the pair */
		hg_ring_commit(run->r);
		i++;
	}
	return NULL;
}

Test(ring, two_threads_million_messages, .timeout = 60)
{
	struct spsc_run run = {.r = new_ring(64, 64)};
	pthread_t t;
	uint64_t expect = 0;

	cr_assert_eq(pthread_create(&t, NULL, producer, &run), 0);
	while (expect < MILLION) {
		uint64_t *slot = hg_ring_peek(run.r);

		if (slot == NULL)
			continue;
		cr_assert_eq(slot[0], expect, "lost or reordered at %llu",
			     (unsigned long long)expect);
		cr_assert_eq(slot[1], ~expect, "torn slot at %llu",
			     (unsigned long long)expect);
		hg_ring_release(run.r);
		expect++;
	}
	pthread_join(t, NULL);
	cr_expect_eq(expect, MILLION);
	cr_expect_null(hg_ring_peek(run.r), "nothing beyond the million");
	free(run.r);
}

Test(msg, send_and_check)
{
	struct hg_ring *r = new_ring(4, HG_SLOT_SIZE);
	struct hg_stats_reply reply = {.worker = 3, .n_ports = 2};
	const struct hg_msg *m;

	cr_assert_eq(hg_msg_send(r, HG_MSG_STATS_REPLY, 99, &reply,
				 sizeof(reply)),
		     0);
	m = hg_msg_check(hg_ring_peek(r));
	cr_assert_not_null(m);
	cr_expect_eq(m->type, HG_MSG_STATS_REPLY);
	cr_expect_eq(m->seq, 99);
	cr_expect_eq(((const struct hg_stats_reply *)m->payload)->worker, 3);
	hg_ring_release(r);
	free(r);
}

Test(msg, send_refuses_oversize_and_full)
{
	struct hg_ring *r = new_ring(2, HG_SLOT_SIZE);
	static uint8_t big[HG_SLOT_SIZE];

	cr_expect_eq(hg_msg_send(r, HG_MSG_STATS_REPLY, 1, big, sizeof(big)),
		     -2);
	cr_expect_eq(hg_msg_send(r, HG_MSG_STATS_REQ, 1, NULL, 0), 0);
	cr_expect_eq(hg_msg_send(r, HG_MSG_STATS_REQ, 2, NULL, 0), 0);
	cr_expect_eq(hg_msg_send(r, HG_MSG_STATS_REQ, 3, NULL, 0), -1);
	free(r);
}

Test(msg, check_rejects_bad_headers)
{
	static _Alignas(64) uint8_t slot[HG_SLOT_SIZE];
	struct hg_msg *m = (struct hg_msg *)slot;

	*m = (struct hg_msg){.version = HG_MSG_VERSION,
			     .type = HG_MSG_STATS_REQ};
	cr_expect_not_null(hg_msg_check(slot));
	m->version = HG_MSG_VERSION + 1;
	cr_expect_null(hg_msg_check(slot), "other version");
	m->version = HG_MSG_VERSION;
	m->type = HG_MSG_TYPE_COUNT;
	cr_expect_null(hg_msg_check(slot), "unknown type");
	m->type = HG_MSG_NONE;
	cr_expect_null(hg_msg_check(slot), "type zero");
	m->type = HG_MSG_STATS_REQ;
	m->len = 8;
	cr_expect_null(hg_msg_check(slot), "payload where none belongs");
	m->type = HG_MSG_STATS_REPLY;
	m->len = sizeof(struct hg_stats_reply) - 1;
	cr_expect_null(hg_msg_check(slot), "short reply");
}
