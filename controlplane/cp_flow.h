/* Flows the control plane decides (lib/msg.h, "Flows the control plane
 * decides"): the client's first plaintext bytes come here, the handler
 * of the flow's virtual server answers and decides where the flow goes.
 *
 * The one handler today is "ica": the client's SOCKS v5 request (with or
 * without the greeting) names, as its destination, an ICA file's Address
 * value holding an STA ticket. The ticket is validated with the control
 * plane's STA (sta.h: single use, short lived); a good one relays the flow
 * to the server it was issued for, anything else gets a SOCKS refusal and
 * the flow is closed, never reaching a server. Every validation writes an
 * audit line (stderr, the control plane's log) without the ticket.
 *
 * Tickets are issued through the control API's "ticket" command (the
 * portal will issue them too). Main thread only.
 */
#ifndef HG_CP_FLOW_H
#define HG_CP_FLOW_H

#include <jansson.h>

#include "msg.h"

struct hg_cp;
struct hg_cp_flow;

struct hg_cp_flow *hg_cp_flow_new(struct hg_cp *cp, char *err, size_t errlen);
void hg_cp_flow_free(struct hg_cp_flow *t);

/* HG_MSG_FLOW_DATA or HG_MSG_FLOW_GONE from a worker. */
void hg_cp_flow_msg(struct hg_cp *cp, const struct hg_msg *m);
/* About once a second: expired tickets and stale flows dropped. */
void hg_cp_flow_tick(struct hg_cp *cp);
void hg_cp_flow_forget_all(struct hg_cp *cp);

/* The "ticket" command: a ticket for address:port. */
json_t *hg_cp_flow_issue(struct hg_cp *cp, uint32_t addr, uint16_t port,
			 const char *user, const char *resource);
/* Counters for the stats answer ("ica"). */
json_t *hg_cp_flow_stats(struct hg_cp *cp);

#endif
