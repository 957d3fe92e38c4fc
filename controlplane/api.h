/* The control API: one JSON object per line in, one per line out.
 *
 * Request:  {"cmd": "status" | "stats" | "config" | "help", "id": any?}
 *           {"cmd": "connect", "address": "a.b.c.d", "port": N,
 *            "service": "source" | "echo" | "discard", "bytes": N,
 *            "cc": "cubic" | "newreno"}: the data plane opens a TCP
 *           connection itself (active open) and runs a test service on it
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
	HG_CMD_COUNT
};

struct hg_api_req {
	enum hg_api_cmd cmd;
	json_t *id; /* NULL or a reference the caller must json_decref */
	struct hg_tcp_connect_req connect; /* HG_CMD_CONNECT */
};

/* Returns 0 and fills `req`, or -1 with a message in `err`. */
int hg_api_parse(const char *line, size_t len, struct hg_api_req *req,
		 char *err, size_t errlen);

json_t *hg_api_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
json_t *hg_api_status(struct hg_cp *cp);
json_t *hg_api_config(struct hg_cp *cp);
json_t *hg_api_help(void);
json_t *hg_api_connect_reply(const struct hg_tcp_connect_reply *r);
/* The stats answer from one reply per worker. */
json_t *hg_api_stats(struct hg_cp *cp, const struct hg_stats_reply *replies,
		     unsigned n_workers);

#endif
