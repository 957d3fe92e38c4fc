/* Portal logins: checks a user name and password against the local users
 * (crypt(3) hashes) or an LDAP directory, and keeps the failure counters
 * and lockouts. Used by the control plane's main thread, which must never
 * block: it submits attempts and reads answers when hg_auth_fd is
 * readable.
 *
 * Flow of one attempt:
 *   hg_auth_submit (main thread) -> a job on a bounded queue (64) -> one
 *   of 2 worker threads runs crypt_rn or the LDAP bind and group search ->
 *   the main thread, in hg_auth_next, counts the outcome, holds a failure's
 *   answer until its due time, then hands it out. Answers that need no
 *   check (LOCKED, invalid names, empty or over-long passwords) are made
 *   at submit and held the same way.
 *
 * Invariants:
 * - every accepted submit (0) gives exactly one result through
 *   hg_auth_next; an attempt refused with -EAGAIN gives none;
 * - results come out in due order (submit time + delay; ties in submit
 *   order); an OK or ERROR answer is due at submit time, a DENIED or
 *   LOCKED one delay_ms * 2^(min(failures, 8) - 1) later, failures being
 *   the larger of the user name's and the address's count; the delay
 *   never holds a worker (a due-ordered heap and a timerfd do);
 * - the password is copied into its job, and the job's copy and every
 *   buffer derived from it (crypt's work area, the LDAP credential) are
 *   wiped (explicit_bzero) right after the check; queued jobs and the
 *   copied hashes are wiped by hg_auth_free;
 * - an unknown local user costs one crypt of a fixed yescrypt hash, and
 *   hashes are compared in constant time; DENIED is the one answer for
 *   an unknown user, a wrong password, an invalid name and an empty
 *   password (only result.detail, for the audit log, tells them apart);
 * - failures are counted per user name (ASCII case folded, since
 *   directories match names without case) and per source address, in a
 *   window of lockout_s from the first failure; at max_failures that
 *   name and that address are locked for lockout_s and every attempt on
 *   them is answered LOCKED without a check; a success resets the name's
 *   count, not the address's; LOCKED answers and ERRORs count nothing;
 * - a name or address never has more attempts in flight than failures
 *   left before its lockout (more are refused with -EAGAIN), so parallel
 *   guesses cannot overshoot max_failures;
 * - memory is allocated in hg_auth_new only: 4096 user and 4096 address
 *   counters (the least recently used is evicted when full), 64 queued
 *   jobs, HG_AUTH_MAX_PENDING attempts between submit and next;
 * - names are 1..64 bytes of [A-Za-z0-9._@-] (hg_access_name_valid's
 *   syntax), checked before anything else, so no LDAP-special character
 *   reaches a DN or filter (they are escaped there all the same, RFC 4514
 *   and RFC 4515); passwords are 1..256 bytes; an empty password is never
 *   sent to a directory (an empty simple bind is an anonymous bind);
 * - nothing is logged here: the caller writes audit lines from
 *   result.detail, which never holds a secret.
 *
 * Thread safety: all functions are for one thread (the main thread); the
 * module's own workers synchronise with it internally. Time is the
 * caller's monotonic now_ms.
 */
#ifndef HG_AUTH_H
#define HG_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"

#define HG_AUTH_QUEUE_MAX    64	  /* jobs waiting for a worker */
#define HG_AUTH_WORKERS	     2	  /* threads running crypt and LDAP */
#define HG_AUTH_MAX_PENDING  1024 /* attempts between submit and next */
#define HG_AUTH_PASSWORD_MAX 256  /* bytes */
#define HG_AUTH_TABLE_MAX    4096 /* user counters, and address counters */

enum hg_auth_status {
	HG_AUTH_OK = 0,
	HG_AUTH_DENIED = 1, /* wrong user or password: one answer for both */
	HG_AUTH_LOCKED = 2,
	HG_AUTH_ERROR = 3, /* directory unreachable or misconfigured */
	HG_AUTH_BUSY = 4   /* queue full */
};

struct hg_auth_result {
	uint64_t cookie; /* the caller's, from hg_auth_submit */
	int status;	 /* enum hg_auth_status */
	uint32_t client; /* the source address given to submit, host order */
	char user[HG_ACCESS_NAME_MAX]; /* "" when the name was invalid */
	char groups[HG_ACCESS_MAX_GROUPS][HG_ACCESS_NAME_MAX];
	unsigned n_groups;
	char source[8];	 /* "local" or "ldap"; "" when not OK */
	char detail[96]; /* for the audit log only (e.g. "ldap: can't contact
			    server", "bad password", "unknown user"), never
			    shown to the client, never a secret */
};

struct hg_auth_stats {
	uint64_t ok, denied, locked, errors, busy,
	    lockouts /* lockouts started */, pending;
};

struct hg_auth;

/* copies what it needs from cfg (users, hashes, ldap settings); starts its
 * threads. NULL with a message in err on a bad config (a local user with
 * an invalid name) or when a resource (memory, fd, thread) is missing. */
struct hg_auth *hg_auth_new(const struct hg_access_auth *cfg, char *err,
			    size_t errlen);
/* stops threads, wipes hashes and queued passwords. NULL is a no-op. */
void hg_auth_free(struct hg_auth *a);
/* readable (epoll EPOLLIN) when hg_auth_next may return results;
 * level-triggered is fine. */
int hg_auth_fd(const struct hg_auth *a);
/* 0 queued (the answer comes through the fd, also for LOCKED and invalid
 * names); -EAGAIN when the queue is full (counted busy), also when
 * HG_AUTH_MAX_PENDING attempts are pending or when the name or address
 * has as many attempts in flight as failures left before its lockout;
 * -EINVAL when a, user or password is NULL. */
int hg_auth_submit(struct hg_auth *a, const char *user, const char *password,
		   uint32_t client, uint64_t cookie, uint64_t now_ms);
/* pops one result that is due; false when none */
bool hg_auth_next(struct hg_auth *a, struct hg_auth_result *out,
		  uint64_t now_ms);
/* about once a second: forgets stale failure counters */
void hg_auth_tick(struct hg_auth *a, uint64_t now_ms);
void hg_auth_get_stats(const struct hg_auth *a, struct hg_auth_stats *out);

#endif
