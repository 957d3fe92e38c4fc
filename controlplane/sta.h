/* The in-process Secure Ticket Authority's ticket store: no I/O, no XML
 * (the CtxSTAProtocol endpoint sits on top of it).
 *
 * A ticket is 32 upper-case hexadecimal characters encoding 128 bits from
 * getrandom(2); it names one stored struct hg_sta_entry (where the user
 * may connect) for `lifetime_s` seconds and can be redeemed once. A
 * refreshable ticket (entry.refreshable; session reliability) instead
 * stays valid while it is used: hg_sta_redeem_keep validates it without
 * deleting it and hg_sta_refresh restarts its lifetime. Time is the
 * caller's: every call that needs it takes now_ms from a monotonic clock.
 *
 * Invariants:
 * - memory is allocated once, in hg_sta_new, and bounded by max_tickets;
 * - a live ticket is in exactly one hash chain and on the expiry list,
 *   which is in order of issue or last refresh (a refresh moves the
 *   ticket to the tail), hence in expiry order (all tickets of a store
 *   live equally long from their issue or refresh; should now_ms ever go
 *   back, redeem still refuses a ticket on time, only the sweep frees it
 *   late);
 * - a ticket's bytes and its entry are wiped (explicit_bzero) the moment
 *   it is deleted (redeemed, expired, store freed);
 * - lookups hash the ticket with SipHash under a random per-store key, so
 *   a client choosing what it sends cannot lengthen a chain, and compare
 *   stored tickets in constant time.
 *
 * Not thread safe: one thread (the control plane's main thread) uses a
 * store.
 */
#ifndef HG_STA_H
#define HG_STA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HG_STA_TICKET_LEN    32 /* upper-case hex, from 128 random bits */
#define HG_STA_AUTHORITY_MAX 20 /* "STA" + up to 16 chars + NUL */
#define HG_STA_MAX_TICKETS   (1u << 24) /* largest max_tickets accepted */

/* What a ticket stands for. Strings are NUL-terminated (the store
 * terminates them at their last byte when it copies an entry in) and may
 * be empty. */
struct hg_sta_entry {
	uint32_t addr;	   /* IPv4, host order */
	uint16_t port;	   /* host order */
	uint16_t cgp_port; /* the server's CGP port (session reliability), on
			      addr; 0 if none */
	bool refreshable;  /* hg_sta_redeem_keep keeps it, hg_sta_refresh
			      renews it */
	char user[65];     /* a user name: up to 64 bytes (access.h) */
	char resource[64]; /* the application (XData ApplicationName) */
	char domain[64];   /* XData UserDomain */
	char protocol[16]; /* XData Protocol */
};

struct hg_sta_stats {
	uint64_t issued;   /* tickets handed out */
	uint64_t redeemed; /* redeemed in time (hg_sta_redeem returned 0) */
	uint64_t unknown;  /* redeems and refreshes of unknown, malformed or
			      used tickets */
	uint64_t expired; /* tickets deleted expired (by a redeem or a sweep) */
	uint64_t active;  /* tickets stored now (some may be past their time
			     until the next sweep) */
	uint64_t full;	  /* issues refused with -ENOSPC */
	uint64_t kept;	  /* refreshable tickets validated and kept by
			     hg_sta_redeem_keep (not in redeemed) */
	uint64_t refreshed; /* lifetimes restarted by hg_sta_refresh */
};

struct hg_sta;

/* A store for up to max_tickets live tickets (1..HG_STA_MAX_TICKETS), each
 * valid for lifetime_s seconds (>= 1). NULL when the authority id is not
 * "STA" followed by 1..16 of [A-Z0-9], a count is out of range, no random
 * key could be had, or on allocation failure. */
struct hg_sta *hg_sta_new(const char *authority_id, unsigned max_tickets,
			  unsigned lifetime_s);
/* Wipes every ticket and the key, then frees. NULL is a no-op. */
void hg_sta_free(struct hg_sta *s);

const char *hg_sta_authority(const struct hg_sta *s);
unsigned hg_sta_lifetime(const struct hg_sta *s);

/* Issues a ticket for e, valid until now_ms + lifetime. out gets the
 * NUL-terminated ticket. 0; -ENOSPC when max_tickets are live (expired
 * ones are swept first); -EIO when the kernel has no randomness to give
 * (getrandom never blocks here). */
int hg_sta_issue(struct hg_sta *s, const struct hg_sta_entry *e,
		 uint64_t now_ms, char out[HG_STA_TICKET_LEN + 1]);

/* Validates and deletes (single use) the ticket at ticket[0..len): 0 with
 * *e filled; -ENOENT when it is unknown, malformed (not exactly 32
 * upper-case hex characters; lower case is refused) or already used;
 * -ETIMEDOUT when it expired (now_ms >= issue time + lifetime; it is
 * deleted too). *e is written only on 0. */
int hg_sta_redeem(struct hg_sta *s, const char *ticket, size_t len,
		  uint64_t now_ms, struct hg_sta_entry *e);

/* As hg_sta_redeem, except that a refreshable ticket found valid is kept
 * (0, *e filled, the ticket stays usable until its lifetime runs out or
 * it is refreshed). A non-refreshable ticket is deleted exactly as by
 * hg_sta_redeem. An expired ticket is deleted either way (-ETIMEDOUT). */
int hg_sta_redeem_keep(struct hg_sta *s, const char *ticket, size_t len,
		       uint64_t now_ms, struct hg_sta_entry *e);

/* Restarts a refreshable ticket's lifetime: valid until now_ms + lifetime
 * from now on. 0; -ENOENT unknown or malformed; -ETIMEDOUT expired (it is
 * deleted); -EPERM when the ticket is not refreshable (it is left as it
 * was: still valid, still single use). */
int hg_sta_refresh(struct hg_sta *s, const char *ticket, size_t len,
		   uint64_t now_ms);

/* Deletes the tickets expired at now_ms. Call it about once a second; it
 * costs O(expired): it stops at the first ticket still valid. */
void hg_sta_expire(struct hg_sta *s, uint64_t now_ms);

void hg_sta_get_stats(const struct hg_sta *s, struct hg_sta_stats *out);

/* Syntax checks shared with the parsers of what clients send (socks.c). */
/* "STA" followed by 1..16 of [A-Z0-9], at s[0..len). */
bool hg_sta_authority_valid(const char *s, size_t len);
/* Exactly HG_STA_TICKET_LEN characters of [0-9A-F], at s[0..len). */
bool hg_sta_ticket_valid(const char *s, size_t len);

#endif
