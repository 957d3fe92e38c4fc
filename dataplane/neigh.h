/* The neighbour (ARP) table, shared by all workers.
 *
 * ARP answers land on whichever worker the port's RSS or fanout picks, while
 * the packet waiting for that answer may sit on another worker, so the table
 * is shared. Writes (learning, requesting) are rare and take a spinlock;
 * lookups are on the packet path and take none: each entry carries a
 * sequence counter (odd while being written) and a reader retries on a
 * change (a seqlock).
 *
 * States: an entry is INCOMPLETE from the first request until an answer,
 * REACHABLE with a MAC. A REACHABLE entry older than arp.timeout_s is still
 * used, but the next lookup asks for a refresh (one request per retry_ms);
 * an INCOMPLETE entry unanswered after retries * retry_ms is freed.
 */
#ifndef HG_NEIGH_H
#define HG_NEIGH_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct hg_neigh_table;

enum hg_neigh_result {
	HG_NEIGH_FOUND,        /* mac filled, nothing to do */
	HG_NEIGH_FOUND_REFRESH, /* mac filled; caller sends a request now */
	HG_NEIGH_MISSING,      /* caller queues and sends a request now */
	HG_NEIGH_WAITING,      /* caller queues; a request is in flight */
	HG_NEIGH_FULL,         /* table full: no entry could be made */
};

struct hg_neigh_table *hg_neigh_create(const struct hg_arp_config *cfg,
				       uint64_t tsc_hz, int socket);
void hg_neigh_free(struct hg_neigh_table *t);

/* Looks up `ip`; for MISSING and stale entries it also claims the right to
 * send the next request (so two workers do not both ask). */
enum hg_neigh_result hg_neigh_resolve(struct hg_neigh_table *t, uint32_t ip,
				      uint8_t port, uint64_t now,
				      uint8_t mac[6]);

/* Lock-free read: true and `mac` filled when `ip` has a MAC. */
bool hg_neigh_lookup(struct hg_neigh_table *t, uint32_t ip, uint8_t mac[6]);

/* Records ip -> mac. With `create` false only an existing entry is
 * updated (RFC 826: learn from any ARP packet only what we already track).
 * Returns true when the entry was created or changed. */
bool hg_neigh_learn(struct hg_neigh_table *t, uint32_t ip, uint8_t port,
		    const uint8_t mac[6], uint64_t now, bool create);

/* Frees INCOMPLETE entries past their last retry. */
void hg_neigh_expire(struct hg_neigh_table *t, uint64_t now);

unsigned hg_neigh_count(struct hg_neigh_table *t);

#endif
