/* The control plane's side of the channel: attaching, noticing a data plane
 * restart, and moving the data plane's messages into the inbox. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cp.h"

#define ATTACH_RETRY_US (100 * 1000)
#define WAIT_MS 100

/* Under the lock. */
static void try_attach(struct hg_cp *cp)
{
	int rc = hg_chan_attach(&cp->chan, cp->cfg.channel.name);

	if (rc < 0) {
		snprintf(cp->chan_error, sizeof(cp->chan_error), "%s",
			 rc == -ENOENT	 ? "data plane not running"
			 : rc == -ESRCH	 ? "data plane not responding"
			 : rc == -EPROTO ? "channel version or layout mismatch"
					 : strerror(-rc));
		return;
	}
	if (cp->chan.hdr->n_workers == 0) {
		hg_chan_detach(&cp->chan);
		return;
	}
	cp->attached = true;
	cp->attaches++;
	cp->chan_error[0] = '\0';
	fprintf(stderr, "hopgate-cp: attached to data plane pid %lld\n",
		(long long)cp->chan.hdr->dp_pid);
}

/* Under the lock: copies what the workers sent into the inbox. Returns
 * true when something arrived. */
static bool drain(struct hg_cp *cp)
{
	bool any = false;

	for (unsigned w = 0; w < cp->chan.hdr->n_workers; w++) {
		struct hg_ring *r = hg_chan_to_cp(&cp->chan, w);
		void *slot;

		while (cp->inbox_head - cp->inbox_tail < HG_INBOX_SLOTS &&
		       (slot = hg_ring_peek(r)) != NULL) {
			if (hg_msg_check(slot) != NULL) {
				memcpy(cp->inbox[cp->inbox_head %
						 HG_INBOX_SLOTS],
				       slot, HG_SLOT_SIZE);
				cp->inbox_head++;
				any = true;
			} else {
				cp->msgs_invalid++;
			}
			hg_ring_release(r);
		}
	}
	return any;
}

static void *chan_thread(void *arg)
{
	struct hg_cp *cp = arg;
	uint64_t one = 1;

	while (!cp->quit) {
		bool attached, arrived = false;

		pthread_mutex_lock(&cp->lock);
		if (cp->attached && hg_chan_stale(&cp->chan)) {
			fprintf(stderr, "hopgate-cp: data plane gone, "
					"detaching\n");
			hg_chan_detach(&cp->chan);
			cp->attached = false;
			cp->detaches++;
		}
		if (!cp->attached)
			try_attach(cp);
		if (cp->attached)
			arrived = drain(cp);
		attached = cp->attached;
		pthread_mutex_unlock(&cp->lock);

		if (arrived && write(cp->inbox_fd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			perror("hopgate-cp: inbox eventfd");
		/* Only this thread unmaps the channel, so waiting on its
		 * doorbell outside the lock is safe. */
		if (attached && !arrived)
			hg_chan_wait(&cp->chan, WAIT_MS);
		else if (!attached)
			usleep(ATTACH_RETRY_US);
		else if (cp->inbox_head - cp->inbox_tail >= HG_INBOX_SLOTS)
			usleep(1000); /* inbox full: let main catch up */
	}
	pthread_mutex_lock(&cp->lock);
	if (cp->attached)
		hg_chan_detach(&cp->chan);
	cp->attached = false;
	pthread_mutex_unlock(&cp->lock);
	return NULL;
}

int hg_cp_chan_start(struct hg_cp *cp, pthread_t *thread)
{
	cp->inbox = calloc(HG_INBOX_SLOTS, HG_SLOT_SIZE);
	if (cp->inbox == NULL)
		return -ENOMEM;
	cp->inbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cp->inbox_fd < 0)
		return -errno;
	return -pthread_create(thread, NULL, chan_thread, cp);
}

unsigned hg_cp_chan_broadcast(struct hg_cp *cp, uint16_t type, uint64_t seq,
			      const void *payload, uint32_t len)
{
	unsigned n = 0;

	pthread_mutex_lock(&cp->lock);
	if (cp->attached) {
		for (unsigned w = 0; w < cp->chan.hdr->n_workers; w++) {
			if (hg_msg_send(hg_chan_to_dp(&cp->chan, w), type, seq,
					payload, len) == 0)
				n++;
		}
		/* A worker whose ring was full will not answer: report the
		 * request as failed rather than wait for it. */
		if (n != cp->chan.hdr->n_workers)
			n = 0;
	}
	pthread_mutex_unlock(&cp->lock);
	return n;
}

bool hg_cp_chan_send(struct hg_cp *cp, unsigned worker, uint16_t type,
		     uint64_t seq, const void *payload, uint32_t len)
{
	bool ok = false;

	pthread_mutex_lock(&cp->lock);
	if (cp->attached && worker < cp->chan.hdr->n_workers)
		ok = hg_msg_send(hg_chan_to_dp(&cp->chan, worker), type, seq,
				 payload, len) == 0;
	pthread_mutex_unlock(&cp->lock);
	return ok;
}

bool hg_cp_inbox_pop(struct hg_cp *cp, uint8_t slot[HG_SLOT_SIZE])
{
	bool got = false;

	pthread_mutex_lock(&cp->lock);
	if (cp->inbox_tail != cp->inbox_head) {
		memcpy(slot, cp->inbox[cp->inbox_tail % HG_INBOX_SLOTS],
		       HG_SLOT_SIZE);
		cp->inbox_tail++;
		got = true;
	}
	pthread_mutex_unlock(&cp->lock);
	return got;
}

bool hg_cp_chan_send2(struct hg_cp *cp, unsigned worker, uint16_t type,
		      const void *hdr, uint32_t hlen, const void *data,
		      uint32_t dlen)
{
	bool ok = false;

	pthread_mutex_lock(&cp->lock);
	if (cp->attached && worker < cp->chan.hdr->n_workers)
		ok = hg_msg_send2(hg_chan_to_dp(&cp->chan, worker), type, 0,
				  hdr, hlen, data, dlen) == 0;
	pthread_mutex_unlock(&cp->lock);
	return ok;
}
