/* What the control plane hands the data plane when a TLS handshake ends:
 * the protocol version, the AEAD and, per direction, the traffic keys and
 * the next record sequence number. The control plane (OpenSSL) fills it
 * from the handshake's secrets and forgets them; the data plane's record
 * layer (dataplane/tls_rec.c) runs the connection from then on.
 *
 * rx is what the gateway receives (client -> gateway records), tx what it
 * sends. The struct travels in one channel message; the receiver wipes the
 * slot after copying it (keys never stay in shared memory).
 */
#ifndef HG_TLS_KEYS_H
#define HG_TLS_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define HG_TLS_V12 0x0303
#define HG_TLS_V13 0x0304

/* AEADs only; the hash is the suite's (HKDF for TLS 1.3, PRF for 1.2). */
enum hg_tls_cipher {
	HG_TLS_CIPHER_NONE = 0,
	HG_TLS_AES_128_GCM_SHA256 = 1,
	HG_TLS_AES_256_GCM_SHA384 = 2,
	HG_TLS_CHACHA20_POLY1305_SHA256 = 3,
};

#define HG_TLS_MAX_SECRET 48 /* SHA-384 */
#define HG_TLS_MAX_KEY 32
#define HG_TLS_IV_LEN 12
#define HG_TLS_TAG_LEN 16

struct hg_tls_dir {
	/* TLS 1.3: the current application traffic secret (KeyUpdate derives
	 * the next one from it). TLS 1.2: zero. */
	uint8_t secret[HG_TLS_MAX_SECRET];
	uint8_t key[HG_TLS_MAX_KEY]; /* hg_tls_key_len bytes */
	/* TLS 1.3 and ChaCha20-Poly1305 in 1.2: the 12-byte IV XORed with the
	 * sequence number. AES-GCM in 1.2: the 4-byte implicit salt in
	 * iv[0..3]; the explicit 8-byte nonce is carried in each record. */
	uint8_t iv[HG_TLS_IV_LEN];
	uint8_t pad[4];
	uint64_t seq; /* the next record's sequence number */
};

struct hg_tls_keys {
	uint16_t version; /* HG_TLS_V12 or HG_TLS_V13 */
	uint8_t cipher;   /* enum hg_tls_cipher */
	uint8_t pad[5];
	struct hg_tls_dir rx; /* records from the client */
	struct hg_tls_dir tx; /* records to the client */
};

/* Clears key material where the compiler may not drop the stores. */
static inline void hg_wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static inline unsigned hg_tls_key_len(uint8_t cipher)
{
	return cipher == HG_TLS_AES_128_GCM_SHA256 ? 16 : 32;
}

static inline unsigned hg_tls_hash_len(uint8_t cipher)
{
	return cipher == HG_TLS_AES_256_GCM_SHA384 ? 48 : 32;
}

#endif
