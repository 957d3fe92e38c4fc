/* The control plane's TLS handshake engine: OpenSSL 3 on memory BIOs, no
 * I/O, in either role. As a server (towards clients): bytes the client
 * sent come in, bytes for the client come out. As a client (towards a
 * backend, "re-encryption"): the ClientHello comes out first, then the
 * backend's bytes come in and ours go out. When the handshake ends the
 * engine hands over the traffic keys (struct hg_tls_keys) and is freed.
 * OpenSSL never writes a record after the handshake: the data plane's
 * record layer runs the connection from the first application record on.
 *
 * One struct hg_tls_server per TLS virtual server (certificates, keys,
 * ticket keys, one SSL_CTX), one struct hg_tls_client per virtual server
 * with backend TLS (trust store, names, kept sessions, one SSL_CTX); one
 * struct hg_tls_hs per handshake. None is thread safe: one thread (the
 * control plane's main thread) uses a server or client and all its
 * handshakes. A server or client must outlive its handshakes (the ALPN
 * selection points into the server, sessions are kept in the client).
 *
 * Private keys and secrets stay in this process; every buffer that held
 * one is cleansed before it is freed. Nothing here logs or prints them.
 */
#ifndef HG_TLS_HS_H
#define HG_TLS_HS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tls_keys.h"

/* Peer bytes a handshake may use (all records up to the one completing
 * it); more is handshake_too_large. A real client sends a few KiB, a real
 * server its certificate chain and a few hundred bytes. */
#define HG_TLS_HS_MAX_BYTES (64 * 1024)

/* The largest record the engine accepts from a peer: RFC 5246's
 * TLSCiphertext bound (2^14 + 2048). TLS 1.3's tighter bound (2^14 + 256)
 * is OpenSSL's to enforce. */
#define HG_TLS_RECORD_MAX (16384 + 2048)

/* Backends whose last session a client keeps for resumption. */
#define HG_TLS_CLIENT_SESSIONS 64

struct hg_tls_server;
struct hg_tls_client;
struct hg_tls_hs;

/* Bytes for the peer, appended by the engine. The caller owns the
 * buffer: it sends data[0..len) and sets len to 0 (or keeps appending),
 * and frees it with hg_tls_out_free. Zero-initialised is empty. */
struct hg_tls_out {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void hg_tls_out_free(struct hg_tls_out *out);

enum hg_tls_hs_status {
	HG_TLS_HS_CONTINUE = 0, /* send `out`, wait for more peer bytes */
	HG_TLS_HS_DONE = 1,	/* send `out`, then take the keys */
	HG_TLS_HS_FAILED = 2,	/* send `out` (an alert, maybe), then close */
};

/* Builds a server from one virtual server's TLS settings:
 * - certs: each a PEM chain (leaf first) and a PEM private key, ECDSA or
 *   RSA (>= 2048 bits), not encrypted; the key must match the leaf. SNI
 *   picks the first certificate whose names (DNS subjectAltNames, else
 *   the CN; "*.example.com" matches one label) match exactly, else the
 *   first matching by wildcard, else the first certificate.
 * - min/max_version: TLS 1.2 and 1.3 only; 0 means 1.2 / 1.3.
 * - ciphersuites (TLS 1.3) and ciphers (TLS 1.2, OpenSSL syntax): AEADs
 *   only (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305; for 1.2 with ECDHE
 *   and ECDSA or RSA). A name OpenSSL does not know or a suite outside
 *   that set is an error. Empty strings take the defaults below. The
 *   server's order wins.
 * - groups: OpenSSL syntax, default "X25519:P-256:P-384".
 * - alpn: comma list in the server's order of preference. The server
 *   picks its first protocol the client offers. When the client offers
 *   ALPN but none of ours, the handshake goes on without ALPN (as HAProxy
 *   does; RFC 7301's no_application_protocol alert would break clients
 *   that offer protocols the backend may well speak anyway).
 * - session_tickets: stateless tickets for TLS 1.2 and 1.3 (no server-side
 *   session cache). The ticket keys are ours, random, rotated every
 *   ticket_lifetime_s (0: 3600) by hg_tls_server_tick: the current key
 *   encrypts, the current and the previous one decrypt, and a ticket under
 *   the previous key is replaced by a fresh one. Tickets off: no tickets
 *   and no resumption.
 * Also: no renegotiation, no compression, no early data, no read-ahead.
 * On error returns NULL and writes a message naming the field (relative to
 * the virtual server's "tls" object) and the file into err. */
struct hg_tls_server *hg_tls_server_new(const struct hg_tls_config *cfg,
					char *err, size_t errlen);
void hg_tls_server_free(struct hg_tls_server *s);

/* Call about once a second with a monotonic clock in seconds. The first
 * call starts the ticket key period; later calls rotate the ticket key
 * when a period has passed (and drop the previous key as well when a
 * whole period was missed). */
void hg_tls_server_tick(struct hg_tls_server *s, uint64_t now_s);

/* A handshake with one client; NULL on allocation failure. */
struct hg_tls_hs *hg_tls_hs_new(struct hg_tls_server *s);

/* TLS towards the backends of one virtual server. The config parser's
 * hg_backend_tls_config has the same fields. */
struct hg_tls_backend_opts {
	/* PEM file of the CAs to trust; "" = the system's default store. */
	char ca[HG_TLS_PATH_MAX];
	/* Verify the backend's chain (against ca), its validity and its
	 * name: server_name, else the backend's address. */
	bool verify;
	/* SNI and the name verified: a DNS name (wildcards in the
	 * certificate match one whole label), or an IP address (verified
	 * against the certificate's IP SANs, no SNI sent). "" = no SNI, the
	 * backend's address (hg_tls_hs_new_client) is verified. */
	char server_name[HG_TLS_PATH_MAX];
	uint16_t min_version, max_version; /* 0: TLS 1.2 / 1.3 */
	/* AEADs only, checked as the server's; "" takes the same defaults.
	 * The backend picks among them. */
	char ciphersuites[HG_TLS_LIST_MAX]; /* TLS 1.3 */
	char ciphers[HG_TLS_LIST_MAX];	    /* TLS 1.2, OpenSSL syntax */
	/* ALPN protocols offered, comma list, "" = no ALPN. What the backend
	 * picks is in hg_tls_hs_info's alpn. */
	char alpn[HG_TLS_LIST_MAX];
	/* Keep each backend's last session (TLS 1.2: ticket or session id)
	 * and offer it on the next handshake to that backend. TLS 1.3
	 * sessions are not resumed: their NewSessionTickets arrive after the
	 * handshake, under the application key, and the data plane drops
	 * them (the handshake is not held back for a ticket that may never
	 * come). Off: no session offered, no TLS 1.2 ticket asked for. */
	bool session_reuse;
};

/* verify and session_reuse on, the rest empty (defaults). */
void hg_tls_backend_opts_default(struct hg_tls_backend_opts *o);

/* Builds a client from one virtual server's backend TLS settings. Groups
 * are X25519, P-256, P-384 (as the server's default); no renegotiation,
 * no compression, no early data. On error returns NULL and writes a
 * message naming the field into err (a CA file that does not exist or
 * holds no certificate is one, even with verify off). */
struct hg_tls_client *hg_tls_client_new(const struct hg_tls_backend_opts *o,
					char *err, size_t errlen);
/* Frees the client and the sessions it kept. */
void hg_tls_client_free(struct hg_tls_client *c);

/* A handshake towards one backend: backend_ip ("10.20.0.1", IPv6 too) and
 * port name the backend's kept session, and backend_ip is the name
 * verified when server_name is empty. backend_ip may be NULL or "" only
 * when server_name is set or verify is off; no session is kept then.
 * Appends the ClientHello to `out` at once. NULL on allocation failure,
 * or when backend_ip is not an IP address or is missing but needed. */
struct hg_tls_hs *hg_tls_hs_new_client(struct hg_tls_client *c,
				       const char *backend_ip,
				       uint16_t backend_port,
				       struct hg_tls_out *out);

/* For either role, "peer" is the other side: the client for a server, the
 * backend for a client.
 *
 * Feeds peer bytes exactly as they came off TCP, split anywhere.
 * The engine hands OpenSSL one whole record at a time and stops at the
 * record that completes the handshake (a server's: the client's Finished;
 * a client's: the backend's Finished): bytes after it (application
 * records, a TLS 1.3 server's NewSessionTickets, possibly in the same
 * call) are never read; the caller keeps them and the data plane
 * decrypts them. Appends what must be sent to the peer to `out`, also on
 * DONE (a client's Finished) and on FAILED (the alert OpenSSL made, if it
 * made one). Once DONE or FAILED, further calls change nothing and return
 * the same status. */
enum hg_tls_hs_status hg_tls_hs_input(struct hg_tls_hs *hs, const uint8_t *in,
				      size_t n, struct hg_tls_out *out);

/* After FAILED: why, as a short stable string for a counter:
 * "bad_client_hello" (server role: the first record is no TLS handshake
 *	record, or the ClientHello is malformed),
 * "bad_server_hello" (client role: the backend's first record is no TLS
 *	handshake or alert record, as when it does not speak TLS, or the
 *	ServerHello is malformed or unacceptable),
 * "bad_certificate" (client role: the backend's certificate failed
 *	verification: chain, validity or name; see hg_tls_hs_fail_detail),
 * "bad_message" (a later handshake message is malformed), "bad_record"
 *	(a later record header is malformed),
 * "record_overflow", "handshake_too_large", "protocol_version",
 * "no_shared_cipher", "handshake_failure" (no common group, signature
 *	algorithm or similar), "unexpected_message", "decrypt_error" (bad
 *	Finished, signature or record MAC), "peer_alert" (the client sent a
 *	fatal alert or close_notify), "internal".
 * NULL before FAILED. */
const char *hg_tls_hs_fail_reason(const struct hg_tls_hs *hs);

/* After FAILED with bad_certificate: OpenSSL's words for what verification
 * found ("certificate has expired", "hostname mismatch", ...), static;
 * NULL otherwise. */
const char *hg_tls_hs_fail_detail(const struct hg_tls_hs *hs);

/* After DONE: peer stream bytes the handshake used, from the first byte
 * up to and including the record that completed it (the client's
 * Finished; for a client, the backend's Finished). */
uint64_t hg_tls_hs_consumed(const struct hg_tls_hs *hs);

/* After DONE, once: fills k (version, cipher, per direction the TLS 1.3
 * traffic secret, key, IV and the next record's sequence number) and
 * wipes the engine's copy. rx is what the gateway receives (peer ->
 * gateway), tx what it sends, in either role.
 * Server role. TLS 1.3: rx.seq is 0; tx.seq counts the NewSessionTicket
 * records the server already sent under the application key (OpenSSL
 * 3.0: 2 after a full handshake, 0 or 1 after a resumption, 0 with
 * tickets off). TLS 1.2: the records each side sent after its
 * ChangeCipherSpec, i.e. 1 (the Finished) unless a Finished came in
 * fragments.
 * Client role. TLS 1.3: rx is the server's application secret, tx the
 * client's, both at seq 0 (our Finished went under the handshake key; the
 * backend's NewSessionTickets, if any, are rx records 0, 1, ... and the
 * data plane must skip them). TLS 1.2: as for a server, both 1 after a
 * full or an abbreviated handshake.
 * Returns 0, or -1 (not DONE, or already taken) with k zeroed. */
int hg_tls_hs_keys(struct hg_tls_hs *hs, struct hg_tls_keys *k);

/* What was negotiated, for logs and flows; valid after DONE. */
struct hg_tls_hs_info {
	uint16_t version;	 /* HG_TLS_V12 / HG_TLS_V13 */
	uint8_t cipher;		 /* enum hg_tls_cipher */
	bool resumed;		 /* from a session ticket (or id: client) */
	const char *cipher_name; /* OpenSSL's (IANA for 1.3), static */
	char sni[256];		 /* "" when the client sent none */
	char alpn[256];		 /* "" when none was negotiated */
};

const struct hg_tls_hs_info *hg_tls_hs_info(const struct hg_tls_hs *hs);

/* Frees the handshake (SSL_free if still held) and wipes every secret. */
void hg_tls_hs_free(struct hg_tls_hs *hs);

#endif
