/* The STA ticket store: slots allocated once, a chained hash table keyed
 * by SipHash under a per-store random key, and a doubly linked expiry list
 * in order of issue or last refresh. See sta.h for the contract. */
#include "sta.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "siphash.h"

#define NONE	   UINT32_MAX
#define TICKET_RAW (HG_STA_TICKET_LEN / 2) /* 16 bytes, 128 bits */

struct sta_slot {
	uint8_t ticket[TICKET_RAW]; /* the ticket's bits while live */
	uint64_t expires_ms;	    /* invalid from this time on */
	uint32_t bucket;	    /* its hash chain */
	uint32_t hnext;		    /* next in the chain */
	uint32_t prev, next; /* expiry list; next also links free slots */
	struct hg_sta_entry e;
};

struct hg_sta {
	char authority[HG_STA_AUTHORITY_MAX];
	unsigned max_tickets;
	unsigned lifetime_s;
	struct hg_sipkey key;
	uint32_t *bucket; /* heads of the hash chains, n_buckets of them */
	uint32_t bucket_mask;
	struct sta_slot *slot; /* max_tickets of them */
	uint32_t free_head;
	uint32_t oldest, newest; /* the expiry list */
	struct hg_sta_stats st;
};

bool hg_sta_authority_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 4 || len > HG_STA_AUTHORITY_MAX - 1)
		return false;
	if (s[0] != 'S' || s[1] != 'T' || s[2] != 'A')
		return false;
	for (i = 3; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

bool hg_sta_ticket_valid(const char *s, size_t len)
{
	size_t i;

	if (len != HG_STA_TICKET_LEN)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* Equal in time independent of where the first difference is. */
static bool ticket_eq(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < TICKET_RAW; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static uint8_t hex_nibble(char c)
{
	return (uint8_t)(c <= '9' ? c - '0' : c - 'A' + 10);
}

/* s: HG_STA_TICKET_LEN characters that passed hg_sta_ticket_valid. */
static void ticket_decode(const char *s, uint8_t raw[TICKET_RAW])
{
	size_t i;

	for (i = 0; i < TICKET_RAW; i++)
		raw[i] = (uint8_t)(hex_nibble(s[2 * i]) << 4 |
				   hex_nibble(s[2 * i + 1]));
}

static void ticket_encode(const uint8_t raw[TICKET_RAW],
			  char out[HG_STA_TICKET_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < TICKET_RAW; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[HG_STA_TICKET_LEN] = '\0';
}

static uint32_t bucket_of(const struct hg_sta *s, const uint8_t *raw)
{
	return (uint32_t)hg_siphash(&s->key, raw, TICKET_RAW) & s->bucket_mask;
}

static uint32_t find(const struct hg_sta *s, const uint8_t *raw,
		     uint32_t bucket)
{
	uint32_t i;

	for (i = s->bucket[bucket]; i != NONE; i = s->slot[i].hnext)
		if (ticket_eq(s->slot[i].ticket, raw))
			return i;
	return NONE;
}

/* Puts slot i at the expiry list's tail (newest). */
static void list_append(struct hg_sta *s, uint32_t i)
{
	struct sta_slot *t = &s->slot[i];

	t->prev = s->newest;
	t->next = NONE;
	if (s->newest != NONE)
		s->slot[s->newest].next = i;
	else
		s->oldest = i;
	s->newest = i;
}

/* Takes slot i off the expiry list. */
static void list_remove(struct hg_sta *s, uint32_t i)
{
	struct sta_slot *t = &s->slot[i];

	if (t->prev != NONE)
		s->slot[t->prev].next = t->next;
	else
		s->oldest = t->next;
	if (t->next != NONE)
		s->slot[t->next].prev = t->prev;
	else
		s->newest = t->prev;
}

/* Unlinks slot i from its chain and the expiry list, wipes it and puts it
 * on the free list. */
static void delete_slot(struct hg_sta *s, uint32_t i)
{
	struct sta_slot *t = &s->slot[i];
	uint32_t *link = &s->bucket[t->bucket];

	while (*link != i)
		link = &s->slot[*link].hnext;
	*link = t->hnext;
	list_remove(s, i);

	explicit_bzero(t, sizeof(*t));
	t->next = s->free_head;
	s->free_head = i;
	s->st.active--;
}

struct hg_sta *hg_sta_new(const char *authority_id, unsigned max_tickets,
			  unsigned lifetime_s)
{
	struct hg_sta *s;
	size_t alen, n_buckets = 1;
	uint32_t i;

	if (authority_id == NULL)
		return NULL;
	alen = strnlen(authority_id, HG_STA_AUTHORITY_MAX);
	if (!hg_sta_authority_valid(authority_id, alen))
		return NULL;
	if (max_tickets == 0 || max_tickets > HG_STA_MAX_TICKETS ||
	    lifetime_s == 0)
		return NULL;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	while (n_buckets < max_tickets)
		n_buckets <<= 1;
	s->bucket = malloc(n_buckets * sizeof(*s->bucket));
	s->slot = calloc(max_tickets, sizeof(*s->slot));
	if (s->bucket == NULL || s->slot == NULL ||
	    hg_random_bytes(&s->key, sizeof(s->key)) < 0) {
		hg_sta_free(s);
		return NULL;
	}
	memcpy(s->authority, authority_id, alen);
	s->authority[alen] = '\0';
	s->max_tickets = max_tickets;
	s->lifetime_s = lifetime_s;
	s->bucket_mask = (uint32_t)(n_buckets - 1);
	for (i = 0; i < n_buckets; i++)
		s->bucket[i] = NONE;
	for (i = 0; i < max_tickets; i++)
		s->slot[i].next = i + 1 < max_tickets ? i + 1 : NONE;
	s->free_head = 0;
	s->oldest = s->newest = NONE;
	return s;
}

void hg_sta_free(struct hg_sta *s)
{
	if (s == NULL)
		return;
	if (s->slot != NULL) {
		explicit_bzero(s->slot,
			       (size_t)s->max_tickets * sizeof(*s->slot));
		free(s->slot);
	}
	free(s->bucket);
	explicit_bzero(s, sizeof(*s));
	free(s);
}

const char *hg_sta_authority(const struct hg_sta *s)
{
	return s->authority;
}

unsigned hg_sta_lifetime(const struct hg_sta *s)
{
	return s->lifetime_s;
}

int hg_sta_issue(struct hg_sta *s, const struct hg_sta_entry *e,
		 uint64_t now_ms, char out[HG_STA_TICKET_LEN + 1])
{
	uint8_t raw[TICKET_RAW];
	uint32_t i, b;
	struct sta_slot *t;
	int tries;

	if (s->free_head == NONE)
		hg_sta_expire(s, now_ms);
	if (s->free_head == NONE) {
		s->st.full++;
		return -ENOSPC;
	}
	/* 128 random bits collide with a live ticket practically never; if
	 * they do, draw again rather than shadow the older ticket. Drawing
	 * the same bits four times over means the generator is broken. */
	for (tries = 0;; tries++) {
		if (tries == 4 || hg_random_bytes(raw, sizeof(raw)) < 0) {
			explicit_bzero(raw, sizeof(raw));
			return -EIO;
		}
		b = bucket_of(s, raw);
		if (find(s, raw, b) == NONE)
			break;
	}

	i = s->free_head;
	t = &s->slot[i];
	s->free_head = t->next;

	memcpy(t->ticket, raw, sizeof(raw));
	t->expires_ms = now_ms + (uint64_t)s->lifetime_s * 1000;
	t->e = *e;
	t->e.user[sizeof(t->e.user) - 1] = '\0';
	t->e.resource[sizeof(t->e.resource) - 1] = '\0';
	t->e.domain[sizeof(t->e.domain) - 1] = '\0';
	t->e.protocol[sizeof(t->e.protocol) - 1] = '\0';
	t->bucket = b;
	t->hnext = s->bucket[b];
	s->bucket[b] = i;
	list_append(s, i);

	ticket_encode(raw, out);
	explicit_bzero(raw, sizeof(raw));
	s->st.issued++;
	s->st.active++;
	return 0;
}

/* The slot of the ticket at ticket[0..len), or NONE (counted unknown)
 * when it is malformed or not stored. */
static uint32_t lookup(struct hg_sta *s, const char *ticket, size_t len)
{
	uint8_t raw[TICKET_RAW];
	uint32_t i;

	if (ticket == NULL || !hg_sta_ticket_valid(ticket, len)) {
		s->st.unknown++;
		return NONE;
	}
	ticket_decode(ticket, raw);
	i = find(s, raw, bucket_of(s, raw));
	explicit_bzero(raw, sizeof(raw));
	if (i == NONE)
		s->st.unknown++;
	return i;
}

/* Slot i is past its time at now_ms: deletes it (counted expired). */
static bool expired_deleted(struct hg_sta *s, uint32_t i, uint64_t now_ms)
{
	if (now_ms < s->slot[i].expires_ms)
		return false;
	s->st.expired++;
	delete_slot(s, i);
	return true;
}

/* Redeem, keeping a refreshable ticket when keep is set. */
static int redeem(struct hg_sta *s, const char *ticket, size_t len,
		  uint64_t now_ms, struct hg_sta_entry *e, bool keep)
{
	uint32_t i = lookup(s, ticket, len);

	if (i == NONE)
		return -ENOENT;
	if (expired_deleted(s, i, now_ms))
		return -ETIMEDOUT;
	*e = s->slot[i].e;
	if (keep && s->slot[i].e.refreshable) {
		s->st.kept++;
		return 0;
	}
	s->st.redeemed++;
	delete_slot(s, i);
	return 0;
}

int hg_sta_redeem(struct hg_sta *s, const char *ticket, size_t len,
		  uint64_t now_ms, struct hg_sta_entry *e)
{
	return redeem(s, ticket, len, now_ms, e, false);
}

int hg_sta_redeem_keep(struct hg_sta *s, const char *ticket, size_t len,
		       uint64_t now_ms, struct hg_sta_entry *e)
{
	return redeem(s, ticket, len, now_ms, e, true);
}

/* All tickets live lifetime_s from their issue or refresh, so the tail of
 * a list kept in that order is where the latest expiry goes: moving the
 * refreshed ticket there keeps the list in expiry order for the sweep. */
int hg_sta_refresh(struct hg_sta *s, const char *ticket, size_t len,
		   uint64_t now_ms)
{
	uint32_t i = lookup(s, ticket, len);

	if (i == NONE)
		return -ENOENT;
	if (expired_deleted(s, i, now_ms))
		return -ETIMEDOUT;
	if (!s->slot[i].e.refreshable)
		return -EPERM;
	s->slot[i].expires_ms = now_ms + (uint64_t)s->lifetime_s * 1000;
	list_remove(s, i);
	list_append(s, i);
	s->st.refreshed++;
	return 0;
}

void hg_sta_expire(struct hg_sta *s, uint64_t now_ms)
{
	while (s->oldest != NONE && now_ms >= s->slot[s->oldest].expires_ms) {
		delete_slot(s, s->oldest);
		s->st.expired++;
	}
}

void hg_sta_get_stats(const struct hg_sta *s, struct hg_sta_stats *out)
{
	*out = s->st;
}
