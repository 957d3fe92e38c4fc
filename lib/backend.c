#include "backend.h"

#include <string.h>

#define WEIGHT_MAX 1000

void hg_pool_init(struct hg_pool *p, enum hg_pool_policy policy,
		  uint64_t down_us)
{
	memset(p, 0, sizeof(*p));
	p->policy = policy;
	p->down_us = down_us;
}

int hg_pool_add(struct hg_pool *p, uint32_t addr, uint16_t port,
		uint16_t weight)
{
	struct hg_backend *b;

	/* The bound keeps the round robin scores (at most 32 * 1000 apart)
	 * and least-conn's products far from overflow. */
	if (p->n >= HG_POOL_MAX || weight == 0 || weight > WEIGHT_MAX)
		return -1;
	b = &p->b[p->n];
	memset(b, 0, sizeof(*b));
	b->addr = addr;
	b->port = port;
	b->weight = weight;
	return (int)p->n++;
}

static inline bool valid(const struct hg_pool *p, int i)
{
	return i >= 0 && (unsigned)i < p->n;
}

static inline bool up_at(const struct hg_backend *b, uint64_t now_us)
{
	return b->down_until_us == 0 || now_us >= b->down_until_us;
}

bool hg_pool_is_up(const struct hg_pool *p, int i, uint64_t now_us)
{
	return valid(p, i) && up_at(&p->b[i], now_us);
}

/* Up and not excluded. An expired down mark is cleared here so that a
 * later connect failure counts as a new marking. */
static bool eligible(struct hg_pool *p, unsigned i, uint64_t now_us,
		     uint32_t exclude)
{
	struct hg_backend *b = &p->b[i];

	if (exclude & (UINT32_C(1) << i))
		return false;
	if (!up_at(b, now_us))
		return false;
	b->down_until_us = 0;
	return true;
}

/* nginx's smooth weighted round robin over the eligible backends; the
 * others keep their score untouched, as nginx does for down peers. */
static int pick_rr(struct hg_pool *p, uint64_t now_us, uint32_t exclude)
{
	int32_t total = 0;
	int best = -1;
	unsigned i;

	for (i = 0; i < p->n; i++) {
		struct hg_backend *b = &p->b[i];

		if (!eligible(p, i, now_us, exclude))
			continue;
		b->current += b->weight;
		total += b->weight;
		/* Strictly greater: ties go to the lowest index. */
		if (best < 0 || b->current > p->b[best].current)
			best = (int)i;
	}
	if (best >= 0)
		p->b[best].current -= total;
	return best;
}

/* a.active / a.weight < b.active / b.weight, without division. */
static inline bool less_loaded(const struct hg_backend *a,
			       const struct hg_backend *b)
{
	return (uint64_t)a->active * b->weight <
	       (uint64_t)b->active * a->weight;
}

static int pick_lc(struct hg_pool *p, uint64_t now_us, uint32_t exclude)
{
	int best = -1;
	unsigned i;

	for (i = 0; i < p->n; i++) {
		if (!eligible(p, i, now_us, exclude))
			continue;
		if (best < 0 || less_loaded(&p->b[i], &p->b[best]))
			best = (int)i;
	}
	return best;
}

int hg_pool_pick(struct hg_pool *p, uint64_t now_us, uint32_t exclude)
{
	int i;

	if (p->policy == HG_POLICY_LEAST_CONN)
		i = pick_lc(p, now_us, exclude);
	else
		i = pick_rr(p, now_us, exclude);
	if (i >= 0) {
		p->b[i].active++;
		p->b[i].flows++;
	}
	return i;
}

void hg_pool_release(struct hg_pool *p, int i)
{
	/* A release without its pick is a caller bug, but an active count
	 * wrapped to 2^32 would starve the backend under least-conn. */
	if (valid(p, i) && p->b[i].active > 0)
		p->b[i].active--;
}

void hg_pool_connect_failed(struct hg_pool *p, int i, uint64_t now_us)
{
	struct hg_backend *b;
	uint64_t until;

	if (!valid(p, i))
		return;
	b = &p->b[i];
	b->connect_failures++;
	if (up_at(b, now_us))
		b->marked_down++;
	/* Saturating: a huge down_us means down for good, not up again. */
	until = now_us + p->down_us;
	if (until < now_us)
		until = UINT64_MAX;
	/* 0 would read as up. */
	b->down_until_us = until ? until : 1;
}

void hg_pool_connect_ok(struct hg_pool *p, int i)
{
	if (valid(p, i))
		p->b[i].down_until_us = 0;
}
