/* The control plane's side of TLS flows: one handshake engine
 * (tls_hs.h) per TLS virtual server, one handshake per flow the data
 * plane forwards, and the messages of lib/msg.h's "TLS handshakes" in
 * between. Runs on the main thread only.
 */
#ifndef HG_CP_TLS_H
#define HG_CP_TLS_H

#include <jansson.h>

#include "msg.h"

struct hg_cp;
struct hg_cp_tls;

/* Builds a TLS server for every virtual server with tls.enabled (reads
 * the certificates and keys). Returns NULL with a message in err when
 * one cannot be built: the control plane refuses to start. */
struct hg_cp_tls *hg_cp_tls_new(struct hg_cp *cp, char *err, size_t errlen);
void hg_cp_tls_free(struct hg_cp_tls *t);

/* A message from a worker: HS_DATA or HS_ABORT. */
void hg_cp_tls_msg(struct hg_cp *cp, const struct hg_msg *m);
/* About once a second: ticket key rotation, stale handshakes dropped. */
void hg_cp_tls_tick(struct hg_cp *cp);
/* The data plane went away: every handshake in progress is forgotten. */
void hg_cp_tls_forget_all(struct hg_cp *cp);
/* Counters, for the stats answer. */
json_t *hg_cp_tls_stats(struct hg_cp *cp);

#endif
