/* Flows the control plane decides (lib/msg.h, "Flows the control plane
 * decides"): the client's first plaintext bytes come here and tell what
 * the flow is (handler "ica", the published-applications gateway):
 *
 *   HTTP     the portal (portal.h): login, the user's resources, launch
 *            (an ICA file holding a fresh STA ticket), logout; and the
 *            STA's CtxSTAProtocol endpoint POST /scripts/ctxsta.dll for
 *            the callers access.sta_clients allows. One request per
 *            connection: the answer, then close_notify.
 *   SOCKS v5 (0x05) an ICA connection: the CONNECT's destination is the
 *            ICA file's Address value, ";40;<authority>;<ticket>".
 *   CGP      ("\x1aCGP/01", cgp.h) an ICA connection with session
 *            reliability: the ticket sits in the BIND_REQUEST.
 *   anything else is refused.
 *
 * A valid ticket (sta.h: single use, short lived, of our authority, or
 * of another authority whose STAs access.remote_stas names: asked over
 * HTTP by sta_remote.c, with fail-over) relays the flow to the server it was issued for (the CGP port for CGP,
 * the bind passed on unchanged); anything else gets a SOCKS refusal or a
 * CGP FINISH and the close, never reaching a server. A relayed flow is an
 * ICA session until the data plane says it ended (HG_MSG_FLOW_ENDED): the
 * control API lists and ends sessions; each login, launch, validation and
 * session end writes an audit line (stderr, the control plane's log)
 * without secrets.
 *
 * Logins run on the auth module's threads (auth.h); the main thread only
 * queues them and picks the answers up through hg_cp_flow_fd().
 * Main thread only.
 */
#ifndef HG_CP_FLOW_H
#define HG_CP_FLOW_H

#include <jansson.h>

#include "msg.h"

struct hg_cp;
struct hg_cp_flow;

struct hg_cp_flow *hg_cp_flow_new(struct hg_cp *cp, char *err, size_t errlen);
void hg_cp_flow_free(struct hg_cp_flow *t);

/* HG_MSG_FLOW_DATA, HG_MSG_FLOW_GONE or HG_MSG_FLOW_ENDED from a worker. */
void hg_cp_flow_msg(struct hg_cp *cp, const struct hg_msg *m);
/* About once a second: expired tickets, portal sessions and stale flows
 * dropped. */
void hg_cp_flow_tick(struct hg_cp *cp);
void hg_cp_flow_forget_all(struct hg_cp *cp);
/* The login answers' fd (-1 without users or a directory), and what to
 * call when it is readable. */
int hg_cp_flow_fd(const struct hg_cp *cp);
void hg_cp_flow_auth_ready(struct hg_cp *cp);
/* The same for answers of remote STAs (-1 when none is configured). */
int hg_cp_flow_remote_fd(const struct hg_cp *cp);
void hg_cp_flow_remote_ready(struct hg_cp *cp);

/* The "ticket" command: a ticket for address:port. */
json_t *hg_cp_flow_issue(struct hg_cp *cp, uint32_t addr, uint16_t port,
			 const char *user, const char *resource);
/* Counters for the stats answer ("ica"). */
json_t *hg_cp_flow_stats(struct hg_cp *cp);
/* The "sessions" answer: ICA sessions (with the bytes of the flows the
 * workers listed in `msgs`, HG_MSG_FLOWS_REPLY slots) and portal logins. */
json_t *hg_cp_flow_sessions(struct hg_cp *cp, uint8_t (*msgs)[HG_SLOT_SIZE],
			    unsigned n);
/* "session kill": true when `flow` is an ICA session (the caller then
 * resets it through the data plane; the end is audited when it comes). */
bool hg_cp_flow_session_kill(struct hg_cp *cp, uint64_t flow);

#endif
