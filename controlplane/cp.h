/* hopgate-cp: the control plane process.
 *
 * Threads: the main thread runs an epoll loop (control socket clients,
 * timers, the inbox eventfd) and is the only producer on to_dp rings. The
 * channel thread owns attaching and detaching the shared-memory channel and
 * is the only consumer of to_cp rings: it sleeps on the channel's doorbell,
 * copies each message it receives into the inbox and wakes the main
 * thread. `lock` guards the channel mapping and the inbox.
 */
#ifndef HG_CP_H
#define HG_CP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "channel.h"
#include "config.h"
#include "msg.h"

#define HG_INBOX_SLOTS 256
#define HG_REQUEST_TIMEOUT_MS 1000

struct hg_cp_client;

/* A control request waiting for the data plane's answers: it collects
 * `expected` messages carrying its sequence number, then answers. */
enum hg_pending_kind {
	HG_PENDING_STATS,   /* per worker: STATS_REPLY + one VS_STATS_REPLY
			       per virtual server */
	HG_PENDING_CONNECT, /* one TCP_CONNECT_REPLY */
	HG_PENDING_FLOWS,   /* one FLOWS_REPLY per worker */
	HG_PENDING_KILL,    /* one FLOW_KILL_REPLY */
	HG_PENDING_SESSIONS, /* one FLOWS_REPLY per worker */
};

struct hg_pending_req {
	uint64_t seq;
	enum hg_pending_kind kind;
	int client_fd;
	uint64_t client_serial; /* the client may have gone and fd reused */
	char *id;               /* the request's "id", echoed */
	unsigned expected;
	unsigned received;
	uint64_t deadline_ns;
	uint8_t (*msgs)[HG_SLOT_SIZE]; /* the answers, as they came */
	struct hg_pending_req *next;
};

struct hg_cp {
	struct hg_config cfg;
	struct hg_access_config access; /* users, resources: ours alone */
	char config_path[4096];
	uint64_t start_ns;
	uint64_t start_realtime_ns;

	pthread_mutex_t lock;
	struct hg_chan chan;
	bool attached;
	uint64_t attaches;
	uint64_t detaches;
	char chan_error[128];

	/* inbox: messages copied off to_cp rings, for the main thread */
	uint8_t (*inbox)[HG_SLOT_SIZE];
	unsigned inbox_head, inbox_tail;
	int inbox_fd; /* eventfd */

	volatile bool quit;
	uint64_t next_seq;
	struct hg_pending_req *pending;

	uint64_t requests;
	uint64_t request_errors;
	uint64_t clients_accepted;
	uint64_t clients_refused;
	uint64_t msgs_invalid;
	uint64_t late_answers;
	unsigned n_clients;

	struct hg_cp_tls *tls; /* TLS handshakes (cp_tls.c) */
	struct hg_cp_flow *tls_flows; /* flows we decide, the STA (cp_flow.c) */
};

/* chan.c */
int hg_cp_chan_start(struct hg_cp *cp, pthread_t *thread);
/* Sends a request of `type` to every worker; returns the number of workers
 * it went to, 0 when detached or when a ring is full. */
unsigned hg_cp_chan_broadcast(struct hg_cp *cp, uint16_t type, uint64_t seq,
			      const void *payload, uint32_t len);
/* Sends one message to one worker; false when detached or its ring is
 * full. */
bool hg_cp_chan_send(struct hg_cp *cp, unsigned worker, uint16_t type,
		     uint64_t seq, const void *payload, uint32_t len);
/* The same for a payload in two pieces (a header and bytes). */
bool hg_cp_chan_send2(struct hg_cp *cp, unsigned worker, uint16_t type,
		      const void *hdr, uint32_t hlen, const void *data,
		      uint32_t dlen);
/* Pops one message off the inbox into `slot`; false when empty. */
bool hg_cp_inbox_pop(struct hg_cp *cp, uint8_t slot[HG_SLOT_SIZE]);

#endif
