/* The client for remote Secure Ticket Authorities: a ticket whose
 * authority ID is not our own STA's is validated (RequestData, sta_xml.h)
 * at the STA that issued it, reached by the URLs of access.remote_stas
 * ("http://a.b.c.d[:port]/path"; several URLs may share an authority, for
 * fail-over).
 *
 * The control plane's main thread never blocks: it submits a job and
 * reads the result when hg_sta_remote_fd is readable. One worker thread
 * does the HTTP exchanges, one job at a time.
 *
 * Per job, the authority's URLs are tried in config order, except that a
 * URL that failed in the last 30 s goes after the others. Per URL: TCP
 * connect (2 s), POST of the RequestData (Content-Type text/xml,
 * Connection: close), the answer read within 5 s of the connect and at
 * most 64 KiB, its body parsed when the status is 200 or 404. A
 * ResponseData is a valid ticket; a ResponseError TicketNotFound ends the
 * job (-ENOENT: the authority has spoken, its other URLs are not asked);
 * anything else (refused, timeout, another status, bad HTTP or XML) moves
 * on to the next URL and counts a fail-over.
 *
 * Invariants:
 * - every submit that returned 0 gives exactly one result through
 *   hg_sta_remote_next (unless the object is freed first);
 * - jobs queued, in progress and results not yet read are together at
 *   most HG_STA_REMOTE_QUEUE_MAX: submit refuses more (-EAGAIN, counted in
 *   busy), so neither queue can overflow;
 * - the fd is readable exactly while results wait (an eventfd, written
 *   and drained under the same lock as the result queue);
 * - a ticket lives in its job's slot and the request body built from it;
 *   both are wiped (explicit_bzero) as soon as the exchange ends, and
 *   queued jobs by hg_sta_remote_free; results and their detail never
 *   hold the ticket;
 * - an answer's entry is trusted only as far as its syntax: ICAAddress a
 *   non-zero address and port, CGPAddress on the same host (the codec's
 *   checks), refreshable always false.
 *
 * Threads: the main thread calls everything below; the worker touches
 * only the queues and counters (under the object's lock) and its sockets.
 * The worker uses libxml2 through the codec: hg_sta_remote_new runs the
 * codec once on the calling thread first, so libxml2's one-time
 * initialisation happens before the worker exists.
 */
#ifndef HG_STA_REMOTE_H
#define HG_STA_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "sta.h"

#define HG_STA_REMOTE_QUEUE_MAX 64

struct hg_sta_remote_result {
	uint64_t cookie; /* the caller's */
	/* 0 valid (e filled); -ENOENT the STA answered that it does not know
	 * the ticket (no fail-over for that: the authority has spoken); -EIO
	 * no STA of that authority answered properly */
	int status;
	struct hg_sta_entry e;
	/* for the audit log: which URL answered, or why none did; never the
	 * ticket */
	char detail[96];
};

struct hg_sta_remote_stats {
	uint64_t requests;    /* jobs accepted by submit */
	uint64_t valid;	      /* results 0 */
	uint64_t not_found;   /* results -ENOENT */
	uint64_t failovers;   /* URLs that failed with another left to try */
	uint64_t unreachable; /* results -EIO */
	uint64_t busy;	      /* submits refused with -EAGAIN */
};

struct hg_sta_remote;

/* NULL with err on failure (a remote STA with an invalid authority ID, a
 * zero address or port, a path that is not "/" and printable ASCII; no
 * memory, thread or fd). With a->n_remote_stas == 0 it still works
 * (has() is always false). The URLs are copied: a may be freed after. */
struct hg_sta_remote *hg_sta_remote_new(const struct hg_access_config *a,
					char *err, size_t errlen);
/* NULL no-op; stops the worker (an exchange in progress is abandoned at
 * once), joins the thread, wipes queued tickets and unread results. */
void hg_sta_remote_free(struct hg_sta_remote *r);
/* Readable (EPOLLIN, level) when results wait. */
int hg_sta_remote_fd(const struct hg_sta_remote *r);
/* True when access.remote_stas has a URL for this authority ID. */
bool hg_sta_remote_has(const struct hg_sta_remote *r, const char *authority);
/* Queues the validation of ticket (32 upper-case hex) at authority. 0
 * queued (the ticket is copied); -EAGAIN queue full
 * (HG_STA_REMOTE_QUEUE_MAX outstanding); -ENOENT no remote STA for that
 * authority; -EINVAL a malformed ticket. */
int hg_sta_remote_submit(struct hg_sta_remote *r, const char *authority,
			 const char *ticket, uint64_t cookie);
/* Takes the oldest waiting result into *out: true, or false when none
 * waits. */
bool hg_sta_remote_next(struct hg_sta_remote *r,
			struct hg_sta_remote_result *out);
void hg_sta_remote_get_stats(const struct hg_sta_remote *r,
			     struct hg_sta_remote_stats *out);

/* The HTTP answer parser the worker uses, public for its fuzz target
 * (tests/fuzz/fuzz_sta_remote.c). p[0..len) is what arrived, eof whether
 * more can come: 0 with *a filled (the body is p[body_off..body_off +
 * body_len)), -2 need more, -1 bad. *scanned starts at 0 and keeps how
 * far the end of the head was looked for between calls. */
struct hg_sta_remote_answer {
	unsigned status;
	size_t body_off, body_len;
};
int hg_sta_remote_http_answer(const uint8_t *p, size_t len, bool eof,
			      size_t *scanned, struct hg_sta_remote_answer *a);

#endif
