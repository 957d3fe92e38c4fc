/* Backend pools and the choice of a backend for a new flow.
 *
 * A pool is a virtual server's list of backends (address, port, weight)
 * and a policy: smooth weighted round robin (as nginx does it: each pick
 * adds every backend's weight to its current score and takes the highest,
 * which then loses the total; over any window of total-weight picks each
 * backend is chosen weight times, interleaved) or least connections (the
 * fewest active flows relative to weight: active/weight smallest, ties to
 * the earlier backend).
 *
 * Health: a failed connect marks a backend down until now + down_us; a
 * successful one marks it up. A down backend is skipped while another is
 * up; when every backend is down the pick fails (the caller refuses the
 * client with a RST).
 *
 * Pure C, no DPDK; each worker keeps its own pool state.
 */
#ifndef HG_BACKEND_H
#define HG_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#define HG_POOL_MAX 32

enum hg_pool_policy { HG_POLICY_ROUND_ROBIN = 0, HG_POLICY_LEAST_CONN = 1 };

struct hg_backend {
	uint32_t addr; /* host order */
	uint16_t port;
	uint16_t weight;  /* 1..1000 */
	int32_t current;  /* smooth round robin score */
	uint32_t active;  /* flows now */
	uint64_t down_until_us; /* 0: up */
	/* counters */
	uint64_t flows;
	uint64_t connect_failures;
	uint64_t marked_down;
};

struct hg_pool {
	enum hg_pool_policy policy;
	uint64_t down_us;
	unsigned n;
	struct hg_backend b[HG_POOL_MAX];
};

void hg_pool_init(struct hg_pool *p, enum hg_pool_policy policy,
		  uint64_t down_us);
/* Returns the index or -1 when full (HG_POOL_MAX) or weight is 0. */
int hg_pool_add(struct hg_pool *p, uint32_t addr, uint16_t port,
		uint16_t weight);

/* The backend for a new flow, or -1 when none is usable. `exclude` is a
 * bit mask of indexes not to pick (backends already tried for this flow).
 * Counts the pick in `active` and `flows`. */
int hg_pool_pick(struct hg_pool *p, uint64_t now_us, uint32_t exclude);
/* The flow on backend i ended (decrements active). */
void hg_pool_release(struct hg_pool *p, int i);
/* Connect outcome for backend i. */
void hg_pool_connect_failed(struct hg_pool *p, int i, uint64_t now_us);
void hg_pool_connect_ok(struct hg_pool *p, int i);
bool hg_pool_is_up(const struct hg_pool *p, int i, uint64_t now_us);

#endif
