/* TLS in the relay (relay_tls.c), and the few relay.c functions it
 * uses. Internal to the relay: the rest of the data plane
 * sees relay.h only.
 *
 * A TLS flow's life: accepted -> HANDSHAKE (the client's bytes go to the
 * control plane, which answers with bytes to send and finally the keys)
 * -> CONNECTING (the backend is opened only now; the client's first
 * records are already decrypted and wait) -> with backend_tls, HANDSHAKE
 * again (the gateway is the backend's TLS client) -> OPEN (records decrypted in
 * place into plaintext for the backend; the backend's bytes sealed into
 * records for the client) -> CLOSING.
 */
#ifndef HG_RELAY_TLS_H
#define HG_RELAY_TLS_H

#include "relay.h"

/* relay.c */
void hg_relay_count_moved(struct hg_relay_flow *f, struct hg_tcp_conn *to,
			  uint64_t *bytes, uint32_t n);
void hg_relay_flow_free(struct hg_relay_flow *f);
int hg_relay_start_backend(struct hg_relay_flow *f);
/* Opens the backend connection to a server the control plane chose. */
int hg_relay_connect_to(struct hg_relay_flow *f, uint32_t addr,
			uint16_t port);
void hg_relay_refuse(struct hg_relay_vs *vs, struct hg_tcp_conn *client);

/* relay_tls.c */
int hg_relay_tls_init(struct hg_relay *r, const struct hg_config *cfg);
void hg_relay_tls_free_all(struct hg_relay *r);
/* The client of a TLS virtual server is established. */
void hg_relay_tls_start(struct hg_relay_flow *f);
/* The backend connection is up: true when the flow speaks TLS to the
 * backend too (its handshake starts; the flow opens when it ends). */
bool hg_relay_tls_backend_up(struct hg_relay_flow *f);
/* Moves what can move, both ways, in whatever state the flow is. */
void hg_relay_tls_pump(struct hg_relay_flow *f);
/* A side closed normally: what it left is decrypted (client) or sealed
 * (backend) and handed to the other side, beyond its send limit. */
void hg_relay_tls_flush_client(struct hg_relay_flow *f, struct hg_tcp_conn *c);
void hg_relay_tls_flush_backend(struct hg_relay_flow *f, struct hg_tcp_conn *b);
/* The flow is being freed. */
void hg_relay_tls_flow_end(struct hg_relay_flow *f);

#endif
