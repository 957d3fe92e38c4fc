#include "neigh.h"

#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_spinlock.h>
#include <stdatomic.h>
#include <string.h>

enum { NEIGH_FREE = 0, NEIGH_INCOMPLETE, NEIGH_REACHABLE };

#define NEIGH_PROBE 16 /* linear probe length */

struct neigh_entry {
	_Atomic uint32_t seq; /* odd while a writer changes the entry */
	uint32_t ip;
	uint8_t mac[6];
	uint8_t state;
	uint8_t port;
	uint64_t confirmed_tsc; /* last answer */
	uint64_t requested_tsc; /* last request we sent */
	uint8_t requests;
};

struct hg_neigh_table {
	rte_spinlock_t lock;
	uint32_t mask;
	uint64_t stale_tsc;   /* age after which a REACHABLE entry refreshes */
	uint64_t retry_tsc;   /* gap between requests */
	unsigned max_requests;
	unsigned count;
	struct neigh_entry e[];
};

static inline uint32_t slot_of(const struct hg_neigh_table *t, uint32_t ip)
{
	/* Multiplicative hash: neighbours are consecutive addresses. */
	return (ip * 2654435761u) & t->mask;
}

struct hg_neigh_table *hg_neigh_create(const struct hg_arp_config *cfg,
				       uint64_t tsc_hz, int socket)
{
	size_t size = sizeof(struct hg_neigh_table) +
		      (size_t)cfg->entries * sizeof(struct neigh_entry);
	struct hg_neigh_table *t =
		rte_zmalloc_socket("neigh", size, RTE_CACHE_LINE_SIZE, socket);

	if (t == NULL)
		return NULL;
	rte_spinlock_init(&t->lock);
	t->mask = cfg->entries - 1;
	t->stale_tsc = (uint64_t)cfg->timeout_s * tsc_hz;
	t->retry_tsc = (uint64_t)cfg->retry_ms * tsc_hz / 1000;
	t->max_requests = cfg->retries;
	return t;
}

void hg_neigh_free(struct hg_neigh_table *t)
{
	rte_free(t);
}

static void write_begin(struct neigh_entry *e)
{
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_acq_rel);
	atomic_thread_fence(memory_order_release);
}

static void write_end(struct neigh_entry *e)
{
	atomic_fetch_add_explicit(&e->seq, 1, memory_order_release);
}

/* Under the lock: the entry for ip, or a free slot for it, or NULL. */
static struct neigh_entry *find_locked(struct hg_neigh_table *t, uint32_t ip,
				       bool *found)
{
	struct neigh_entry *free_slot = NULL;
	uint32_t s = slot_of(t, ip);

	for (unsigned i = 0; i < NEIGH_PROBE && i <= t->mask; i++) {
		struct neigh_entry *e = &t->e[(s + i) & t->mask];

		if (e->state != NEIGH_FREE && e->ip == ip) {
			*found = true;
			return e;
		}
		if (e->state == NEIGH_FREE && free_slot == NULL)
			free_slot = e;
	}
	*found = false;
	return free_slot;
}

/* Lock-free: a consistent copy of ip's entry. */
static bool snapshot(struct hg_neigh_table *t, uint32_t ip,
		     struct neigh_entry *out)
{
	uint32_t s = slot_of(t, ip);

	for (unsigned i = 0; i < NEIGH_PROBE && i <= t->mask; i++) {
		struct neigh_entry *e = &t->e[(s + i) & t->mask];
		uint32_t seq1, seq2;

		for (;;) {
			seq1 = atomic_load_explicit(&e->seq,
						    memory_order_acquire);
			if (seq1 & 1) {
				rte_pause();
				continue;
			}
			out->ip = e->ip;
			out->state = e->state;
			memcpy(out->mac, e->mac, 6);
			out->confirmed_tsc = e->confirmed_tsc;
			out->requested_tsc = e->requested_tsc;
			atomic_thread_fence(memory_order_acquire);
			seq2 = atomic_load_explicit(&e->seq,
						    memory_order_relaxed);
			if (seq1 == seq2)
				break;
		}
		if (out->state != NEIGH_FREE && out->ip == ip)
			return true;
	}
	return false;
}

bool hg_neigh_lookup(struct hg_neigh_table *t, uint32_t ip, uint8_t mac[6])
{
	struct neigh_entry e;

	if (!snapshot(t, ip, &e) || e.state != NEIGH_REACHABLE)
		return false;
	memcpy(mac, e.mac, 6);
	return true;
}

enum hg_neigh_result hg_neigh_resolve(struct hg_neigh_table *t, uint32_t ip,
				      uint8_t port, uint64_t now,
				      uint8_t mac[6])
{
	enum hg_neigh_result res;
	struct neigh_entry snap, *e;
	bool found;

	/* The packet path: a fresh entry, or one whose refresh is already
	 * asked for, needs no lock. */
	if (snapshot(t, ip, &snap) && snap.state == NEIGH_REACHABLE &&
	    (now - snap.confirmed_tsc < t->stale_tsc ||
	     now - snap.requested_tsc < t->retry_tsc)) {
		memcpy(mac, snap.mac, 6);
		return HG_NEIGH_FOUND;
	}

	rte_spinlock_lock(&t->lock);
	e = find_locked(t, ip, &found);
	if (e == NULL) {
		res = HG_NEIGH_FULL;
	} else if (!found) {
		write_begin(e);
		e->ip = ip;
		e->state = NEIGH_INCOMPLETE;
		e->port = port;
		e->confirmed_tsc = 0;
		e->requested_tsc = now;
		e->requests = 1;
		write_end(e);
		t->count++;
		res = HG_NEIGH_MISSING;
	} else if (e->state == NEIGH_REACHABLE) {
		memcpy(mac, e->mac, 6);
		res = HG_NEIGH_FOUND;
		if (now - e->confirmed_tsc >= t->stale_tsc &&
		    now - e->requested_tsc >= t->retry_tsc) {
			e->requested_tsc = now;
			res = HG_NEIGH_FOUND_REFRESH;
		}
	} else if (now - e->requested_tsc >= t->retry_tsc &&
		   e->requests < t->max_requests) {
		e->requested_tsc = now;
		e->requests++;
		res = HG_NEIGH_MISSING;
	} else {
		res = HG_NEIGH_WAITING;
	}
	rte_spinlock_unlock(&t->lock);
	return res;
}

bool hg_neigh_learn(struct hg_neigh_table *t, uint32_t ip, uint8_t port,
		    const uint8_t mac[6], uint64_t now, bool create)
{
	struct neigh_entry *e;
	bool found, changed = false;

	rte_spinlock_lock(&t->lock);
	e = find_locked(t, ip, &found);
	if (e != NULL && (found || create)) {
		changed = !found || e->state != NEIGH_REACHABLE ||
			  memcmp(e->mac, mac, 6) != 0 || e->port != port;
		write_begin(e);
		e->ip = ip;
		memcpy(e->mac, mac, 6);
		e->port = port;
		e->state = NEIGH_REACHABLE;
		e->confirmed_tsc = now;
		e->requests = 0;
		write_end(e);
		if (!found)
			t->count++;
	}
	rte_spinlock_unlock(&t->lock);
	return changed;
}

/* Under the lock: should this entry go? INCOMPLETE ones after their last
 * unanswered request; REACHABLE ones whose refresh went unanswered, or that
 * nobody used for two timeouts (so learning from ARP cannot fill the table
 * for good). */
static bool expired(const struct hg_neigh_table *t,
		    const struct neigh_entry *e, uint64_t now)
{
	uint64_t give_up = (uint64_t)t->max_requests * t->retry_tsc;

	if (e->state == NEIGH_INCOMPLETE)
		return e->requests >= t->max_requests &&
		       now - e->requested_tsc >= t->retry_tsc;
	if (e->state != NEIGH_REACHABLE)
		return false;
	if (e->requested_tsc > e->confirmed_tsc &&
	    now - e->confirmed_tsc >= t->stale_tsc + give_up)
		return true;
	return now - e->confirmed_tsc >= 2 * t->stale_tsc;
}

void hg_neigh_expire(struct hg_neigh_table *t, uint64_t now)
{
	rte_spinlock_lock(&t->lock);
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct neigh_entry *e = &t->e[i];

		if (!expired(t, e, now))
			continue;
		write_begin(e);
		e->state = NEIGH_FREE;
		write_end(e);
		t->count--;
	}
	rte_spinlock_unlock(&t->lock);
}

unsigned hg_neigh_count(struct hg_neigh_table *t)
{
	return t->count;
}
