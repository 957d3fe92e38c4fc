/* TLS record protection with intel-ipsec-mb: the hashes, HKDF and the
 * AEADs the data plane's record layer (dataplane/tls_rec.c) needs, with no
 * DPDK and no OpenSSL, so that it can be tested alone against published
 * vectors (tests/unit/test_tls_aead.c).
 *
 * - One IMB_MGR per worker (hg_imb_new): the library's function table for
 *   this CPU. Not thread safe; never shared between workers.
 * - HMAC-SHA256/384 and HKDF (RFC 2104, RFC 5869) built on the library's
 *   one-shot hashes, HKDF-Expand-Label (RFC 8446 7.1), and from those the
 *   TLS 1.3 traffic key and IV ("key", "iv") and KeyUpdate's next secret
 *   ("traffic upd", RFC 8446 7.2).
 * - struct hg_tls_aead: one direction's protection state, built from a
 *   struct hg_tls_dir (lib/tls_keys.h): the expanded AES-GCM key or the
 *   ChaCha20 key, the IV, the TLS 1.3 secret, the sequence number.
 * - Seal and open IN PLACE over a scatter list, the pieces of a record's
 *   body wherever they lie (mbuf segments in the data plane).
 * - Nonces and additional data for TLS 1.2 (RFC 5288, RFC 7905) and 1.3.
 *
 * Key material is never logged; hg_tls_aead_wipe clears it.
 */
#ifndef HG_TLS_AEAD_H
#define HG_TLS_AEAD_H

#include <intel-ipsec-mb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls_keys.h"

/* A manager for this CPU (the best code path init_mb_mgr_auto finds),
 * checked with a known answer for each hash and AEAD we use: NULL when
 * the library cannot run them here. Call at start-up, once per worker. */
IMB_MGR *hg_imb_new(void);
void hg_imb_free(IMB_MGR *mgr);

/* HMAC over a message of at most HG_HMAC_MAX_MSG bytes (HKDF's inputs are
 * small; the hashes are one-shot, so the message is assembled in a
 * buffer). hash_len 32 = SHA-256, 48 = SHA-384. Returns 0, or -1 for an
 * unknown hash or a message too long. */
#define HG_HMAC_MAX_MSG 1024
int hg_hmac(IMB_MGR *mgr, unsigned hash_len, const uint8_t *key, size_t key_len,
	    const uint8_t *msg, size_t msg_len, uint8_t *out);

/* RFC 5869. Extract: PRK = HMAC(salt, IKM), salt_len 0 meaning hash_len
 * zero bytes; `prk` gets hash_len bytes. Expand: out_len at most
 * 255 * hash_len. Both return 0 or -1. */
int hg_hkdf_extract(IMB_MGR *mgr, unsigned hash_len, const uint8_t *salt,
		    size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		    uint8_t *prk);
int hg_hkdf_expand(IMB_MGR *mgr, unsigned hash_len, const uint8_t *prk,
		   const uint8_t *info, size_t info_len, uint8_t *out,
		   size_t out_len);

/* RFC 8446 7.1: HKDF-Expand(secret, HkdfLabel(out_len, "tls13 " label,
 * context), out_len), `secret` hash_len bytes. Returns 0 or -1. */
int hg_hkdf_expand_label(IMB_MGR *mgr, unsigned hash_len, const uint8_t *secret,
			 const char *label, const uint8_t *context,
			 size_t context_len, uint8_t *out, size_t out_len);

/* TLS 1.3, RFC 8446 7.3: the write key (hg_tls_key_len(cipher) bytes) and
 * IV (12 bytes) of a traffic secret. Returns 0 or -1. */
int hg_tls13_traffic_keys(IMB_MGR *mgr, uint8_t cipher, const uint8_t *secret,
			  uint8_t *key, uint8_t *iv);
/* TLS 1.3, RFC 8446 7.2: the next application traffic secret after a
 * KeyUpdate. `next` may be `secret`. Returns 0 or -1. */
int hg_tls13_next_secret(IMB_MGR *mgr, uint8_t cipher, const uint8_t *secret,
			 uint8_t *next);

/* One direction's record protection. Aligned for the library's key
 * schedule; 16 and not 64 so that it stays aligned inside structures from
 * malloc/calloc (which promise 16 on x86-64); the library's loads of it
 * do not need more. Do not copy a live one around: wipe it. */
struct hg_tls_aead {
	union {
		DECLARE_ALIGNED(struct gcm_key_data gcm, 16);
		uint8_t chacha[32];
	} k;
	uint64_t seq;	  /* the next record's sequence number */
	uint16_t version; /* HG_TLS_V12 or HG_TLS_V13 */
	uint8_t cipher;	  /* enum hg_tls_cipher */
	uint8_t iv[HG_TLS_IV_LEN];
	uint8_t secret[HG_TLS_MAX_SECRET]; /* TLS 1.3 only */
};

/* Builds the state from the hand-off: expands the key, keeps IV, secret
 * and sequence number. Returns 0, or -1 for an unknown version or cipher
 * (the state is then wiped). */
int hg_tls_aead_init(struct hg_tls_aead *c, IMB_MGR *mgr, uint16_t version,
		     uint8_t cipher, const struct hg_tls_dir *d);
void hg_tls_aead_wipe(struct hg_tls_aead *c);

/* TLS 1.3 KeyUpdate: the next secret, its key and IV, sequence number 0.
 * Returns 0, or -1 (not TLS 1.3). */
int hg_tls_aead_update(struct hg_tls_aead *c, IMB_MGR *mgr);

/* Bytes a record carries besides its content: TLS 1.2 AES-GCM's explicit
 * nonce before it, the tag after it (TLS 1.3 also has the inner content
 * type, which belongs to the record layer, not here). */
static inline unsigned hg_tls_explicit_nonce_len(const struct hg_tls_aead *c)
{
	return c->version == HG_TLS_V12 &&
		       c->cipher != HG_TLS_CHACHA20_POLY1305_SHA256
		   ? 8
		   : 0;
}

/* The 12-byte AEAD nonce of record `seq`. TLS 1.2 AES-GCM (RFC 5288):
 * the 4-byte salt then the record's 8-byte explicit nonce `explicit`;
 * everything else (RFC 8446 5.3, RFC 7905): the IV XOR the sequence
 * number, `explicit` unused (NULL). */
void hg_tls_nonce(const struct hg_tls_aead *c, uint64_t seq,
		  const uint8_t *explicit, uint8_t nonce[HG_TLS_IV_LEN]);

/* Additional data. TLS 1.3: the record header itself (type 23, 0x0303,
 * the ciphertext length), 5 bytes. TLS 1.2 (RFC 5246 6.2.3.3):
 * seq, type, version, plaintext length, 13 bytes. Return the length. */
#define HG_TLS_MAX_AAD 13
size_t hg_tls13_aad(uint8_t *aad, uint16_t ciphertext_len);
size_t hg_tls12_aad(uint8_t *aad, uint64_t seq, uint8_t type,
		    uint16_t plaintext_len);

/* A piece of a record's body. */
struct hg_sg {
	uint8_t *p;
	size_t len;
};

/* Encrypts the pieces in place, in order, and writes the 16-byte tag. */
void hg_tls_seal(IMB_MGR *mgr, const struct hg_tls_aead *c,
		 const uint8_t nonce[HG_TLS_IV_LEN], const uint8_t *aad,
		 size_t aad_len, const struct hg_sg *sg, unsigned n,
		 uint8_t tag[HG_TLS_TAG_LEN]);

/* Decrypts the pieces in place and compares the tag in constant time.
 * Returns true when it matches; when not, the pieces hold garbage that
 * must be discarded. */
bool hg_tls_open(IMB_MGR *mgr, const struct hg_tls_aead *c,
		 const uint8_t nonce[HG_TLS_IV_LEN], const uint8_t *aad,
		 size_t aad_len, const struct hg_sg *sg, unsigned n,
		 const uint8_t tag[HG_TLS_TAG_LEN]);

#endif
