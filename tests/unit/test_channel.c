/* The shared-memory channel: create, attach, re-attach, staleness. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "channel.h"
#include "msg.h"

static void unique_name(char *buf, size_t len)
{
	static int n;

	snprintf(buf, len, "hopgate-test-%d-%d", (int)getpid(), n++);
}

Test(channel, create_attach_exchange)
{
	struct hg_chan dp, cp;
	char name[64];
	const struct hg_msg *m;

	unique_name(name, sizeof(name));
	cr_assert_eq(hg_chan_create(&dp, name, 2, 16), 0);
	cr_assert_eq(hg_chan_attach(&cp, name), 0);
	cr_expect_eq(cp.hdr->n_workers, 2);
	cr_expect_eq(atomic_load(&cp.hdr->cp_generation), 1);

	/* cp -> worker 1, and the answer back. */
	cr_assert_eq(hg_msg_send(hg_chan_to_dp(&cp, 1), HG_MSG_STATS_REQ, 5,
				 NULL, 0),
		     0);
	m = hg_msg_check(hg_ring_peek(hg_chan_to_dp(&dp, 1)));
	cr_assert_not_null(m);
	cr_expect_eq(m->seq, 5);
	hg_ring_release(hg_chan_to_dp(&dp, 1));
	cr_expect_null(hg_ring_peek(hg_chan_to_dp(&dp, 0)), "other worker");

	struct hg_stats_reply reply = {.worker = 1};
	cr_assert_eq(hg_msg_send(hg_chan_to_cp(&dp, 1), HG_MSG_STATS_REPLY, 5,
				 &reply, sizeof(reply)),
		     0);
	hg_chan_ring_bell(&dp);
	hg_chan_wait(&cp, 1000); /* returns at once: a message is queued */
	m = hg_msg_check(hg_ring_peek(hg_chan_to_cp(&cp, 1)));
	cr_assert_not_null(m);
	cr_expect_eq(m->type, HG_MSG_STATS_REPLY);
	hg_ring_release(hg_chan_to_cp(&cp, 1));

	hg_chan_detach(&cp);
	hg_chan_destroy(&dp);
}

Test(channel, reattach_drains_stale_answers)
{
	struct hg_chan dp, cp;
	char name[64];
	struct hg_stats_reply reply = {0};

	unique_name(name, sizeof(name));
	cr_assert_eq(hg_chan_create(&dp, name, 1, 16), 0);
	cr_assert_eq(hg_chan_attach(&cp, name), 0);
	for (int i = 0; i < 3; i++)
		hg_msg_send(hg_chan_to_cp(&dp, 0), HG_MSG_STATS_REPLY, i,
			    &reply, sizeof(reply));
	hg_chan_detach(&cp); /* as if the control plane died */
	cr_assert_eq(hg_chan_attach(&cp, name), 0);
	cr_expect_eq(atomic_load(&cp.hdr->cp_generation), 2);
	cr_expect_eq(hg_ring_count(hg_chan_to_cp(&cp, 0)), 0,
		     "answers for the old control plane are gone");
	/* The ring keeps working after the drain. */
	cr_expect_eq(hg_msg_send(hg_chan_to_cp(&dp, 0), HG_MSG_STATS_REPLY, 9,
				 &reply, sizeof(reply)),
		     0);
	cr_expect_eq(hg_ring_count(hg_chan_to_cp(&cp, 0)), 1);
	hg_chan_detach(&cp);
	hg_chan_destroy(&dp);
}

Test(channel, stale_when_replaced_or_removed)
{
	struct hg_chan dp, dp2, cp;
	char name[64];

	unique_name(name, sizeof(name));
	cr_assert_eq(hg_chan_create(&dp, name, 1, 16), 0);
	cr_assert_eq(hg_chan_attach(&cp, name), 0);
	cr_expect_not(hg_chan_stale(&cp));
	/* A restarted data plane replaces the object. */
	cr_assert_eq(hg_chan_create(&dp2, name, 1, 16), 0);
	cr_expect(hg_chan_stale(&cp));
	hg_chan_detach(&cp);
	cr_assert_eq(hg_chan_attach(&cp, name), 0);
	cr_expect_not(hg_chan_stale(&cp));
	hg_chan_destroy(&dp2);
	cr_expect(hg_chan_stale(&cp), "object removed");
	hg_chan_detach(&cp);
	/* The first mapping is still ours to unmap; its name is gone. */
	munmap(dp.hdr, dp.size);
}

Test(channel, attach_refuses_missing_and_foreign)
{
	struct hg_chan cp;
	char name[64];

	unique_name(name, sizeof(name));
	cr_expect_eq(hg_chan_attach(&cp, name), -ENOENT);
	cr_expect_eq(hg_chan_attach(&cp, "bad/name"), -EINVAL);
}

/* Messages with a header and a variable number of bytes: the length in
 * the header must account for the whole payload, no more, no less. */
Test(channel, variable_length_messages)
{
	void *mem = aligned_alloc(HG_CACHE_LINE,
				  hg_ring_bytes(4, HG_SLOT_SIZE));
	struct hg_ring *r = mem;
	struct hg_tls_hs_data d = {.flow = 7, .len = 100};
	struct hg_tls_hs_out o = {.flow = 7, .len = 3};
	uint8_t bytes[HG_TLS_HS_CHUNK + 1] = {1, 2, 3};
	struct hg_msg *raw;
	const struct hg_msg *m;

	cr_assert_not_null(mem);
	cr_assert_eq(hg_ring_init(mem, 4, HG_SLOT_SIZE), 0);
	cr_assert_eq(hg_msg_send2(r, HG_MSG_TLS_HS_DATA, 0, &d, sizeof(d),
				  bytes, 100), 0);
	m = hg_msg_check(hg_ring_peek(r));
	cr_assert_not_null(m);
	cr_expect_eq(((const struct hg_tls_hs_data *)(const void *)m->payload)
			     ->data[1], 2);
	hg_ring_release(r);

	/* The header claims more than was sent: refused. */
	d.len = 101;
	cr_assert_eq(hg_msg_send2(r, HG_MSG_TLS_HS_DATA, 0, &d, sizeof(d),
				  bytes, 100), 0);
	cr_expect_null(hg_msg_check(hg_ring_peek(r)));
	hg_ring_release(r);

	/* A chunk as large as a slot allows fits; one byte more does not. */
	cr_expect_eq(hg_msg_send2(r, HG_MSG_TLS_HS_DATA, 0, &d, sizeof(d),
				  bytes, HG_TLS_HS_CHUNK + 1), -2);
	d.len = HG_TLS_HS_CHUNK;
	cr_assert_eq(hg_msg_send2(r, HG_MSG_TLS_HS_DATA, 0, &d, sizeof(d),
				  bytes, HG_TLS_HS_CHUNK), 0);
	cr_expect_not_null(hg_msg_check(hg_ring_peek(r)));
	hg_ring_release(r);

	cr_assert_eq(hg_msg_send2(r, HG_MSG_TLS_HS_OUT, 0, &o, sizeof(o),
				  bytes, 3), 0);
	cr_expect_not_null(hg_msg_check(hg_ring_peek(r)));
	hg_ring_release(r);

	/* Shorter than its header; and a length field far beyond the slot. */
	raw = hg_ring_reserve(r);
	raw->version = HG_MSG_VERSION;
	raw->type = HG_MSG_TLS_HS_OUT;
	raw->len = 4;
	hg_ring_commit(r);
	cr_expect_null(hg_msg_check(hg_ring_peek(r)));
	hg_ring_release(r);
	raw = hg_ring_reserve(r);
	raw->type = HG_MSG_TLS_HS_DATA;
	raw->len = 1u << 30;
	hg_ring_commit(r);
	cr_expect_null(hg_msg_check(hg_ring_peek(r)));
	hg_ring_release(r);
	free(mem);
}
