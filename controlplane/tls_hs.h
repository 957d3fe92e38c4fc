/* The control plane's TLS handshake engine: OpenSSL 3 servers on memory
 * BIOs, no I/O. Bytes the client sent come in, bytes for the client come
 * out; when the handshake ends the engine hands over the traffic keys
 * (struct hg_tls_keys) and is freed. OpenSSL never writes a record after
 * the handshake: the data plane's record layer runs the connection from
 * the first application record on.
 *
 * One struct hg_tls_server per TLS virtual server (certificates, keys,
 * ticket keys, one SSL_CTX); one struct hg_tls_hs per client handshake.
 * Neither is thread safe: one thread (the control plane's main thread)
 * uses a server and all its handshakes. A server must outlive its
 * handshakes (the ALPN selection points into it).
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

/* Client bytes a handshake may use (all records up to the client's
 * Finished); more is handshake_too_large. A real client sends a few KiB. */
#define HG_TLS_HS_MAX_BYTES (64 * 1024)

/* The largest record the engine accepts from a client: RFC 5246's
 * TLSCiphertext bound (2^14 + 2048). TLS 1.3's tighter bound (2^14 + 256)
 * is OpenSSL's to enforce. */
#define HG_TLS_RECORD_MAX (16384 + 2048)

struct hg_tls_server;
struct hg_tls_hs;

/* Bytes for the client, appended by the engine. The caller owns the
 * buffer: it sends data[0..len) and sets len to 0 (or keeps appending),
 * and frees it with hg_tls_out_free. Zero-initialised is empty. */
struct hg_tls_out {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void hg_tls_out_free(struct hg_tls_out *out);

enum hg_tls_hs_status {
	HG_TLS_HS_CONTINUE = 0, /* send `out`, wait for more client bytes */
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

/* Feeds client bytes exactly as they came off TCP, split anywhere.
 * The engine hands OpenSSL one whole record at a time and stops at the
 * record that completes the handshake: bytes after it (application
 * records, possibly in the same call) are never read; the caller keeps
 * them and the data plane decrypts them. Appends what must be sent to the
 * client to `out`, also on FAILED (the alert OpenSSL made, if it made
 * one). Once DONE or FAILED, further calls change nothing and return the
 * same status. */
enum hg_tls_hs_status hg_tls_hs_input(struct hg_tls_hs *hs, const uint8_t *in,
				      size_t n, struct hg_tls_out *out);

/* After FAILED: why, as a short stable string for a counter:
 * "bad_client_hello" (the first record is no TLS handshake record, or the
 *	ClientHello is malformed), "bad_message" (a later handshake message
 *	is malformed), "bad_record" (a later record header is malformed),
 * "record_overflow", "handshake_too_large", "protocol_version",
 * "no_shared_cipher", "handshake_failure" (no common group, signature
 *	algorithm or similar), "unexpected_message", "decrypt_error" (bad
 *	Finished, signature or record MAC), "peer_alert" (the client sent a
 *	fatal alert or close_notify), "internal".
 * NULL before FAILED. */
const char *hg_tls_hs_fail_reason(const struct hg_tls_hs *hs);

/* After DONE: client stream bytes the handshake used, from the first byte
 * up to and including the record carrying the client's Finished. */
uint64_t hg_tls_hs_consumed(const struct hg_tls_hs *hs);

/* After DONE, once: fills k (version, cipher, per direction the TLS 1.3
 * traffic secret, key, IV and the next record's sequence number) and
 * wipes the engine's copy. rx is client -> gateway, tx the other way.
 * TLS 1.3: rx.seq is 0; tx.seq counts the NewSessionTicket records the
 * server already sent under the application key (OpenSSL 3.0: 2 after a
 * full handshake, 0 or 1 after a resumption, 0 with tickets off). TLS 1.2:
 * the records each side sent after its ChangeCipherSpec, i.e. 1 (the
 * Finished) unless a Finished came in fragments. Returns 0, or -1 (not
 * DONE, or already taken) with k zeroed. */
int hg_tls_hs_keys(struct hg_tls_hs *hs, struct hg_tls_keys *k);

/* What was negotiated, for logs and flows; valid after DONE. */
struct hg_tls_hs_info {
	uint16_t version;	 /* HG_TLS_V12 / HG_TLS_V13 */
	uint8_t cipher;		 /* enum hg_tls_cipher */
	bool resumed;		 /* from a session ticket */
	const char *cipher_name; /* OpenSSL's (IANA for 1.3), static */
	char sni[256];		 /* "" when the client sent none */
	char alpn[256];		 /* "" when none was negotiated */
};

const struct hg_tls_hs_info *hg_tls_hs_info(const struct hg_tls_hs *hs);

/* Frees the handshake (SSL_free if still held) and wipes every secret. */
void hg_tls_hs_free(struct hg_tls_hs *hs);

#endif
