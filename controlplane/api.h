/* The control API: one JSON object per line in, one per line out.
 *
 * Request:  {"cmd": "status" | "stats" | "config" | "help", "id": any?}
 *           {"cmd": "connect", "address": "a.b.c.d", "port": N,
 *            "service": "source" | "echo" | "discard", "bytes": N,
 *            "cc": "cubic" | "newreno"}: the data plane opens a TCP
 *           connection itself (active open) and runs a test service on it
 *           {"cmd": "flows", "vs": "name"?, "client": "a.b.c.d"?,
 *            "limit": N?}: relayed flows (at most limit per worker)
 *           {"cmd": "kill", "flow": ID}: resets both sides of a flow
 *           {"cmd": "ticket", "address": "a.b.c.d", "port": N,
 *            "user": "..."?, "resource": "..."?}: an STA ticket for that
 *           server (single use, the STA's lifetime), and the ICA file's
 *           Address value that carries it
 *           {"cmd": "sessions"}: ICA sessions (flow, user, resource,
 *           client, server, framing, since, bytes) and portal logins
 *           {"cmd": "session_kill", "flow": ID}: ends an ICA session
 * Response: the command's object, or {"error": "why"}; "id" is echoed when
 *           the request had one. Unknown fields are errors, so a typo never
 *           passes silently.
 *
 * Parsing (hg_api_parse) is separate from execution so the parser of
 * untrusted input can be fuzzed on its own (tests/fuzz/fuzz_ctl.c).
 */
#ifndef HG_API_H
#define HG_API_H

#include <jansson.h>
#include <stddef.h>

#include "cp.h"

enum hg_api_cmd {
	HG_CMD_STATUS,
	HG_CMD_STATS,
	HG_CMD_CONFIG,
	HG_CMD_HELP,
	HG_CMD_CONNECT,
	HG_CMD_FLOWS,
	HG_CMD_KILL,
	HG_CMD_TICKET,
	HG_CMD_SESSIONS,
	HG_CMD_SESSION_KILL,
	HG_CMD_COUNT
};

/* "ticket": an STA ticket for a server (what the portal will issue). */
struct hg_api_ticket {
	uint32_t addr;
	uint16_t port;
	char user[64];
	char resource[64];
};

struct hg_api_req {
	enum hg_api_cmd cmd;
	json_t *id; /* NULL or a reference the caller must json_decref */
	struct hg_tcp_connect_req connect; /* HG_CMD_CONNECT */
	struct hg_flows_req flows;         /* HG_CMD_FLOWS */
	uint64_t flow_id;                  /* HG_CMD_KILL, SESSION_KILL */
	struct hg_api_ticket ticket;       /* HG_CMD_TICKET */
};

/* Returns 0 and fills `req`, or -1 with a message in `err`. `cfg` names
 * the virtual servers (may be NULL: then "vs" is refused). */
int hg_api_parse(const char *line, size_t len, const struct hg_config *cfg,
		 struct hg_api_req *req, char *err, size_t errlen);

json_t *hg_api_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
json_t *hg_api_status(struct hg_cp *cp);
json_t *hg_api_config(struct hg_cp *cp);
json_t *hg_api_help(void);
json_t *hg_api_connect_reply(const struct hg_tcp_connect_reply *r);
/* Answers from the messages the data plane sent (raw slots). */
json_t *hg_api_stats(struct hg_cp *cp, uint8_t (*msgs)[HG_SLOT_SIZE],
		     unsigned n);
json_t *hg_api_flows(struct hg_cp *cp, uint8_t (*msgs)[HG_SLOT_SIZE],
		     unsigned n);
json_t *hg_api_kill_reply(const struct hg_flow_kill *k);

#endif
