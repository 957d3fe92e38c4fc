/* The data plane's TLS record layer over mbuf chains, one per TLS
 * connection, from the end of the handshake (the control plane's) onwards:
 * it opens the peer's records and seals what goes to the peer, in place,
 * with intel-ipsec-mb (lib/tls_aead.h). TLS 1.2 and 1.3; AES-128-GCM,
 * AES-256-GCM, ChaCha20-Poly1305. The peer is a client (the gateway
 * terminates TLS) or, with TLS to the backends, a server (the gateway is
 * the client): only the handshake messages allowed after the handshake
 * differ (see hg_tls_rec_open).
 *
 * Zero copy, mostly. Received records are decrypted where they lie in the
 * mbufs TCP delivered; the plaintext handed on is those mbufs with header,
 * tag, inner content type and padding cut away. An mbuf holding the end of
 * one record and the start of the next is shared: the first record gets an
 * indirect mbuf (rte_pktmbuf_attach) for its part. Plaintext is sealed
 * where it lies too; the 5-byte header (13 with TLS 1.2 AES-GCM's explicit
 * nonce) goes in the first mbuf's headroom and the tag (after TLS 1.3's
 * inner content type) in the last one's tailroom when those mbufs are ours
 * alone, in a new mbuf otherwise. What is copied, and why:
 *   - a received segment under HG_TLS_REC_SMALL bytes is copied onto the
 *     tailroom of the one before it, so that a peer sending 1-byte segments
 *     cannot make a record hold thousands of mbufs;
 *   - a decrypted piece under HG_TLS_REC_SMALL bytes is copied into a
 *     shared mbuf of the output, so tiny records do not become one mbuf
 *     each on the way to the backend;
 *   - an mbuf we may not write (indirect, external or refcnt > 1), given
 *     either way, is copied before being decrypted or encrypted in place.
 *
 * Memory: a flow holds at most one incomplete record (the header is
 * checked as soon as its 5 bytes are in, so at most 5 + 2^14 + 2048
 * bytes). Nothing is allocated but mbufs.
 *
 * Counters go to the worker's (HG_WC_tls_*, `wctr`). Key material is never
 * logged; hg_tls_rec_free wipes it.
 */
#ifndef HG_TLS_REC_H
#define HG_TLS_REC_H

#include <rte_mbuf.h>
#include <stdbool.h>
#include <stdint.h>

#include "counters.h"
#include "tls_aead.h"
#include "tls_keys.h"

/* Content types (RFC 8446 B.1, RFC 5246 6.2.1). */
enum {
	HG_TLS_CT_CHANGE_CIPHER_SPEC = 20,
	HG_TLS_CT_ALERT = 21,
	HG_TLS_CT_HANDSHAKE = 22,
	HG_TLS_CT_APPLICATION_DATA = 23,
};

/* Alert levels and the descriptions the record layer sends or looks at. */
enum { HG_TLS_ALERT_WARNING = 1, HG_TLS_ALERT_FATAL = 2 };
enum {
	HG_TLS_ALERT_CLOSE_NOTIFY = 0,
	HG_TLS_ALERT_UNEXPECTED_MESSAGE = 10,
	HG_TLS_ALERT_BAD_RECORD_MAC = 20,
	HG_TLS_ALERT_RECORD_OVERFLOW = 22,
	HG_TLS_ALERT_ILLEGAL_PARAMETER = 47,
	HG_TLS_ALERT_DECODE_ERROR = 50,
	HG_TLS_ALERT_INTERNAL_ERROR = 80,
	HG_TLS_ALERT_USER_CANCELED = 90,
	HG_TLS_ALERT_NO_RENEGOTIATION = 100,
};

/* Plaintext bytes per record at most (2^14). */
#define HG_TLS_REC_MAX_PLAIN 16384
/* Below this, received segments and decrypted pieces are copied (see
 * above). */
#define HG_TLS_REC_SMALL 512
/* Scatter-list entries for one record. A received record (at most 18437
 * bytes) lies in fewer mbufs than this: each one we keep holds
 * HG_TLS_REC_SMALL bytes or more, or is one we fill with copies before
 * starting another, so at worst 2 per HG_TLS_REC_SMALL + 1 bytes (about
 * 72). Only mbufs with less than ~150 bytes of room could make a record
 * span more; it is then refused (internal_error, tls_nomem). A record we
 * seal ends earlier rather than span more. */
#define HG_TLS_REC_SG_MAX 128

enum hg_tls_rx {
	HG_TLS_RX_OK = 0,
	/* The peer sent close_notify: what came before it is in *plain,
	 * what came after it was dropped. Later calls drop their input. */
	HG_TLS_RX_CLOSE_NOTIFY,
	/* The connection is over: t->alert is the alert to send (at fatal
	 * level), or 0 when the peer sent a fatal alert (t->alert_received,
	 * t->peer_alert), after which nothing is sent. *plain is NULL.
	 * Later calls drop their input. */
	HG_TLS_RX_FATAL,
};

/* Bytes in mbufs, in order: a list through ->next whose members' pkt_len
 * and nb_segs mean nothing (it is not handed to anyone as a chain). */
struct hg_tls_queue {
	struct rte_mbuf *head, *tail;
	uint32_t len;
};

struct hg_tls_rec {
	struct hg_tls_aead rx; /* peer -> gateway */
	struct hg_tls_aead tx; /* gateway -> peer */
	IMB_MGR *mgr;
	uint64_t *wctr; /* the worker's counters, HG_WC_* */
	/* Received bytes of the record not yet complete. */
	struct hg_tls_queue held;
	uint16_t record_size; /* plaintext per sealed record, at most */
	uint16_t version;     /* HG_TLS_V12 or HG_TLS_V13 */
	uint8_t rx_state;     /* HG_TLS_RX_*: not OK means input is dropped */
	uint8_t alert;	      /* to send after HG_TLS_RX_FATAL; 0: none */
	uint8_t peer_alert;   /* what the peer sent, when alert_received */
	bool alert_received;
	/* The peer's KeyUpdate asked for ours (TLS 1.3): send
	 * hg_tls_rec_key_update(t, pool, false) before more data.
	 * hg_tls_rec_seal does it itself when the flag is still set. */
	bool key_update_due;
	/* The peer is a TLS server (hg_tls_rec_init_peer). */
	bool peer_is_server;
	/* A handshake message being received, maybe across records: its
	 * header (and a KeyUpdate's byte) so far, and the body bytes of a
	 * NewSessionTicket still to skip. hs_len > 0: inside a message. */
	uint8_t hs_len;
	uint8_t hs_buf[5];
	uint32_t hs_skip;
};

/* Starts the record layer from the handshake's keys (k->rx: what the peer
 * sends). `mgr` is the worker's (hg_imb_new); record_size is the most
 * plaintext per record we send (0 or above 2^14: 2^14). peer_is_server:
 * the gateway is the TLS client (a backend connection). Returns 0, or -1
 * for an unknown version or cipher. `k` is not wiped (it is the
 * caller's). */
int hg_tls_rec_init_peer(struct hg_tls_rec *t, IMB_MGR *mgr,
			 const struct hg_tls_keys *k, unsigned record_size,
			 uint64_t *wctr, bool peer_is_server);

/* hg_tls_rec_init_peer with a client for a peer. */
int hg_tls_rec_init(struct hg_tls_rec *t, IMB_MGR *mgr,
		    const struct hg_tls_keys *k, unsigned record_size,
		    uint64_t *wctr);

/* Frees the held mbufs and wipes the keys. */
void hg_tls_rec_free(struct hg_tls_rec *t);

/* Takes ownership of `in`: ciphertext as it came off TCP, records split or
 * joined anyhow across mbufs. Opens every complete record in place and
 * appends the application data to *plain (a chain, NULL when there is
 * none); keeps an incomplete record for the next call. Handles alerts
 * (close_notify ends the stream; TLS 1.3 user_canceled and TLS 1.2
 * warnings are ignored; others are fatal) and handshake messages, which
 * may be split across records or share one (but not be interleaved with
 * other content):
 * - TLS 1.3 KeyUpdate, from either peer: switches the receive keys (it
 *   must end its record), sets key_update_due when asked to;
 * - TLS 1.3 NewSessionTicket, from a server: skipped (its record still
 *   counts in tls_records_in);
 * - TLS 1.2 HelloRequest, from a server: ignored (no renegotiation);
 * - from a client, a TLS 1.2 ClientHello (renegotiation): refused with
 *   no_renegotiation;
 * - anything else: unexpected_message.
 * Refuses change cipher spec, unknown types, oversize and malformed
 * records. */
enum hg_tls_rx hg_tls_rec_open(struct hg_tls_rec *t, struct rte_mempool *pool,
			       struct rte_mbuf *in, struct rte_mbuf **plain);

/* Takes ownership of `plain` (any length) and returns it as records ready
 * for TCP, each with at most record_size bytes of plaintext (records end
 * at mbuf boundaries where that keeps them within record_size, so most
 * need no extra mbuf). NULL, with plain freed and tls_nomem counted, when
 * mbufs ran out or the sequence numbers did: the stream then has a hole,
 * and the flow must end. NULL too for an empty `plain`. */
struct rte_mbuf *hg_tls_rec_seal(struct hg_tls_rec *t, struct rte_mempool *pool,
				 struct rte_mbuf *plain);

/* One alert record (close_notify: HG_TLS_ALERT_WARNING, 0), or NULL
 * (tls_nomem counted). */
struct rte_mbuf *hg_tls_rec_alert(struct hg_tls_rec *t,
				  struct rte_mempool *pool, uint8_t level,
				  uint8_t desc);

/* TLS 1.3: a KeyUpdate record (request_peer: update_requested), after
 * which our sending keys are the next ones; clears key_update_due. NULL
 * for TLS 1.2, or with tls_nomem counted when no mbuf (keys unchanged). */
struct rte_mbuf *hg_tls_rec_key_update(struct hg_tls_rec *t,
				       struct rte_mempool *pool,
				       bool request_peer);

#endif
