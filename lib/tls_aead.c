/* TLS record protection with intel-ipsec-mb; see tls_aead.h. */
#include "tls_aead.h"

#include <string.h>

#include "bytes.h"

#define SHA256_BLOCK 64
#define SHA384_BLOCK 128

/* explicit_bzero: a memset the compiler may not drop because the buffer
 * is dead afterwards, which is exactly when secrets must go. */
static void wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

static bool hash_ok(unsigned hash_len)
{
	return hash_len == 32 || hash_len == 48;
}

static void hash_once(IMB_MGR *mgr, unsigned hash_len, const void *p, size_t n,
		      uint8_t *out)
{
	if (hash_len == 48)
		IMB_SHA384(mgr, p, n, out);
	else
		IMB_SHA256(mgr, p, n, out);
}

int hg_hmac(IMB_MGR *mgr, unsigned hash_len, const uint8_t *key, size_t key_len,
	    const uint8_t *msg, size_t msg_len, uint8_t *out)
{
	uint8_t k[SHA384_BLOCK] = {0};
	uint8_t buf[SHA384_BLOCK + HG_HMAC_MAX_MSG];
	uint8_t inner[HG_TLS_MAX_SECRET];
	unsigned block = hash_len == 48 ? SHA384_BLOCK : SHA256_BLOCK;
	unsigned i;

	if (!hash_ok(hash_len) || msg_len > HG_HMAC_MAX_MSG)
		return -1;
	/* RFC 2104: a key longer than a block is hashed first. */
	if (key_len > block)
		hash_once(mgr, hash_len, key, key_len, k);
	else if (key_len > 0)
		memcpy(k, key, key_len);
	for (i = 0; i < block; i++)
		buf[i] = k[i] ^ 0x36;
	if (msg_len > 0)
		memcpy(buf + block, msg, msg_len);
	hash_once(mgr, hash_len, buf, block + msg_len, inner);
	for (i = 0; i < block; i++)
		buf[i] = k[i] ^ 0x5c;
	memcpy(buf + block, inner, hash_len);
	hash_once(mgr, hash_len, buf, block + hash_len, out);
	wipe(k, sizeof(k));
	wipe(buf, block + (msg_len > hash_len ? msg_len : hash_len));
	wipe(inner, sizeof(inner));
	return 0;
}

int hg_hkdf_extract(IMB_MGR *mgr, unsigned hash_len, const uint8_t *salt,
		    size_t salt_len, const uint8_t *ikm, size_t ikm_len,
		    uint8_t *prk)
{
	static const uint8_t zeros[HG_TLS_MAX_SECRET];

	if (salt_len == 0) {
		salt = zeros;
		salt_len = hash_len;
	}
	return hg_hmac(mgr, hash_len, salt, salt_len, ikm, ikm_len, prk);
}

int hg_hkdf_expand(IMB_MGR *mgr, unsigned hash_len, const uint8_t *prk,
		   const uint8_t *info, size_t info_len, uint8_t *out,
		   size_t out_len)
{
	/* T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty. */
	uint8_t msg[HG_HMAC_MAX_MSG];
	uint8_t t[HG_TLS_MAX_SECRET];
	size_t done = 0, prev = 0, n;
	unsigned i;
	int rc = 0;

	if (!hash_ok(hash_len) || out_len > 255 * hash_len ||
	    info_len > HG_HMAC_MAX_MSG - HG_TLS_MAX_SECRET - 1)
		return -1;
	for (i = 1; done < out_len; i++) {
		if (prev)
			memcpy(msg, t, prev);
		if (info_len)
			memcpy(msg + prev, info, info_len);
		msg[prev + info_len] = (uint8_t)i;
		if (hg_hmac(mgr, hash_len, prk, hash_len, msg,
			    prev + info_len + 1, t) < 0) {
			rc = -1;
			break;
		}
		prev = hash_len;
		n = out_len - done < hash_len ? out_len - done : hash_len;
		memcpy(out + done, t, n);
		done += n;
	}
	wipe(msg, sizeof(msg));
	wipe(t, sizeof(t));
	return rc;
}

int hg_hkdf_expand_label(IMB_MGR *mgr, unsigned hash_len, const uint8_t *secret,
			 const char *label, const uint8_t *context,
			 size_t context_len, uint8_t *out, size_t out_len)
{
	/* struct { uint16 length; opaque label<7..255>;
	 *          opaque context<0..255>; } HkdfLabel; */
	static const char prefix[] = "tls13 ";
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t label_len = strlen(label), plen = sizeof(prefix) - 1, n;

	if (out_len > 0xffff || plen + label_len > 255 || context_len > 255)
		return -1;
	put16(info, (uint16_t)out_len);
	n = 2;
	info[n++] = (uint8_t)(plen + label_len);
	memcpy(info + n, prefix, plen);
	n += plen;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = (uint8_t)context_len;
	if (context_len)
		memcpy(info + n, context, context_len);
	n += context_len;
	return hg_hkdf_expand(mgr, hash_len, secret, info, n, out, out_len);
}

static bool cipher_ok(uint8_t cipher)
{
	return cipher == HG_TLS_AES_128_GCM_SHA256 ||
	       cipher == HG_TLS_AES_256_GCM_SHA384 ||
	       cipher == HG_TLS_CHACHA20_POLY1305_SHA256;
}

int hg_tls13_traffic_keys(IMB_MGR *mgr, uint8_t cipher, const uint8_t *secret,
			  uint8_t *key, uint8_t *iv)
{
	unsigned h;

	if (!cipher_ok(cipher))
		return -1;
	h = hg_tls_hash_len(cipher);
	if (hg_hkdf_expand_label(mgr, h, secret, "key", NULL, 0, key,
				 hg_tls_key_len(cipher)) < 0 ||
	    hg_hkdf_expand_label(mgr, h, secret, "iv", NULL, 0, iv,
				 HG_TLS_IV_LEN) < 0)
		return -1;
	return 0;
}

int hg_tls13_next_secret(IMB_MGR *mgr, uint8_t cipher, const uint8_t *secret,
			 uint8_t *next)
{
	uint8_t tmp[HG_TLS_MAX_SECRET];
	unsigned h;
	int rc;

	if (!cipher_ok(cipher))
		return -1;
	h = hg_tls_hash_len(cipher);
	rc = hg_hkdf_expand_label(mgr, h, secret, "traffic upd", NULL, 0, tmp,
				  h);
	if (rc == 0)
		memcpy(next, tmp, h);
	wipe(tmp, sizeof(tmp));
	return rc;
}

/* Expands `key` into the state's cipher key. */
static void set_key(struct hg_tls_aead *c, IMB_MGR *mgr, const uint8_t *key)
{
	if (c->cipher == HG_TLS_AES_128_GCM_SHA256)
		IMB_AES128_GCM_PRE(mgr, key, &c->k.gcm);
	else if (c->cipher == HG_TLS_AES_256_GCM_SHA384)
		IMB_AES256_GCM_PRE(mgr, key, &c->k.gcm);
	else
		memcpy(c->k.chacha, key, sizeof(c->k.chacha));
}

int hg_tls_aead_init(struct hg_tls_aead *c, IMB_MGR *mgr, uint16_t version,
		     uint8_t cipher, const struct hg_tls_dir *d)
{
	memset(c, 0, sizeof(*c));
	if (!cipher_ok(cipher) ||
	    (version != HG_TLS_V12 && version != HG_TLS_V13))
		return -1;
	c->version = version;
	c->cipher = cipher;
	c->seq = d->seq;
	memcpy(c->iv, d->iv, sizeof(c->iv));
	if (version == HG_TLS_V13)
		memcpy(c->secret, d->secret, sizeof(c->secret));
	set_key(c, mgr, d->key);
	return 0;
}

void hg_tls_aead_wipe(struct hg_tls_aead *c)
{
	wipe(c, sizeof(*c));
}

int hg_tls_aead_update(struct hg_tls_aead *c, IMB_MGR *mgr)
{
	uint8_t key[HG_TLS_MAX_KEY];

	if (c->version != HG_TLS_V13 ||
	    hg_tls13_next_secret(mgr, c->cipher, c->secret, c->secret) < 0 ||
	    hg_tls13_traffic_keys(mgr, c->cipher, c->secret, key, c->iv) < 0)
		return -1;
	set_key(c, mgr, key);
	wipe(key, sizeof(key));
	c->seq = 0;
	return 0;
}

void hg_tls_nonce(const struct hg_tls_aead *c, uint64_t seq,
		  const uint8_t *explicit, uint8_t nonce[HG_TLS_IV_LEN])
{
	unsigned i;

	if (hg_tls_explicit_nonce_len(c)) {
		memcpy(nonce, c->iv, 4);
		memcpy(nonce + 4, explicit, 8);
		return;
	}
	memcpy(nonce, c->iv, HG_TLS_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[HG_TLS_IV_LEN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
}

size_t hg_tls13_aad(uint8_t *aad, uint16_t ciphertext_len)
{
	aad[0] = 23; /* application_data: every protected 1.3 record */
	put16(aad + 1, 0x0303);
	put16(aad + 3, ciphertext_len);
	return 5;
}

size_t hg_tls12_aad(uint8_t *aad, uint64_t seq, uint8_t type,
		    uint16_t plaintext_len)
{
	put32(aad, (uint32_t)(seq >> 32));
	put32(aad + 4, (uint32_t)seq);
	aad[8] = type;
	put16(aad + 9, 0x0303);
	put16(aad + 11, plaintext_len);
	return 13;
}

/* The library's init/update/finalize calls, per AEAD. The update calls
 * take any length: a piece may end mid-block, the context carries the
 * partial block over to the next piece. */
static void gcm_run(IMB_MGR *mgr, const struct hg_tls_aead *c, bool enc,
		    const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		    const struct hg_sg *sg, unsigned n, uint8_t *tag)
{
	DECLARE_ALIGNED(struct gcm_context_data ctx, 16);
	const struct gcm_key_data *k = &c->k.gcm;
	bool big = c->cipher == HG_TLS_AES_256_GCM_SHA384;
	unsigned i;

	if (big)
		IMB_AES256_GCM_INIT(mgr, k, &ctx, nonce, aad, aad_len);
	else
		IMB_AES128_GCM_INIT(mgr, k, &ctx, nonce, aad, aad_len);
	for (i = 0; i < n; i++) {
		if (sg[i].len == 0)
			continue;
		if (big && enc)
			IMB_AES256_GCM_ENC_UPDATE(mgr, k, &ctx, sg[i].p,
						  sg[i].p, sg[i].len);
		else if (big)
			IMB_AES256_GCM_DEC_UPDATE(mgr, k, &ctx, sg[i].p,
						  sg[i].p, sg[i].len);
		else if (enc)
			IMB_AES128_GCM_ENC_UPDATE(mgr, k, &ctx, sg[i].p,
						  sg[i].p, sg[i].len);
		else
			IMB_AES128_GCM_DEC_UPDATE(mgr, k, &ctx, sg[i].p,
						  sg[i].p, sg[i].len);
	}
	if (big && enc)
		IMB_AES256_GCM_ENC_FINALIZE(mgr, k, &ctx, tag, HG_TLS_TAG_LEN);
	else if (big)
		IMB_AES256_GCM_DEC_FINALIZE(mgr, k, &ctx, tag, HG_TLS_TAG_LEN);
	else if (enc)
		IMB_AES128_GCM_ENC_FINALIZE(mgr, k, &ctx, tag, HG_TLS_TAG_LEN);
	else
		IMB_AES128_GCM_DEC_FINALIZE(mgr, k, &ctx, tag, HG_TLS_TAG_LEN);
	wipe(&ctx, sizeof(ctx));
}

static void chacha_run(IMB_MGR *mgr, const struct hg_tls_aead *c, bool enc,
		       const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		       const struct hg_sg *sg, unsigned n, uint8_t *tag)
{
	DECLARE_ALIGNED(struct chacha20_poly1305_context_data ctx, 16);
	unsigned i;

	IMB_CHACHA20_POLY1305_INIT(mgr, c->k.chacha, &ctx, nonce, aad, aad_len);
	for (i = 0; i < n; i++) {
		if (sg[i].len == 0)
			continue;
		if (enc)
			IMB_CHACHA20_POLY1305_ENC_UPDATE(mgr, c->k.chacha, &ctx,
							 sg[i].p, sg[i].p,
							 sg[i].len);
		else
			IMB_CHACHA20_POLY1305_DEC_UPDATE(mgr, c->k.chacha, &ctx,
							 sg[i].p, sg[i].p,
							 sg[i].len);
	}
	if (enc)
		IMB_CHACHA20_POLY1305_ENC_FINALIZE(mgr, &ctx, tag,
						   HG_TLS_TAG_LEN);
	else
		IMB_CHACHA20_POLY1305_DEC_FINALIZE(mgr, &ctx, tag,
						   HG_TLS_TAG_LEN);
	wipe(&ctx, sizeof(ctx));
}

static void aead_run(IMB_MGR *mgr, const struct hg_tls_aead *c, bool enc,
		     const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
		     const struct hg_sg *sg, unsigned n, uint8_t *tag)
{
	if (c->cipher == HG_TLS_CHACHA20_POLY1305_SHA256)
		chacha_run(mgr, c, enc, nonce, aad, aad_len, sg, n, tag);
	else
		gcm_run(mgr, c, enc, nonce, aad, aad_len, sg, n, tag);
}

void hg_tls_seal(IMB_MGR *mgr, const struct hg_tls_aead *c,
		 const uint8_t nonce[HG_TLS_IV_LEN], const uint8_t *aad,
		 size_t aad_len, const struct hg_sg *sg, unsigned n,
		 uint8_t tag[HG_TLS_TAG_LEN])
{
	aead_run(mgr, c, true, nonce, aad, aad_len, sg, n, tag);
}

bool hg_tls_open(IMB_MGR *mgr, const struct hg_tls_aead *c,
		 const uint8_t nonce[HG_TLS_IV_LEN], const uint8_t *aad,
		 size_t aad_len, const struct hg_sg *sg, unsigned n,
		 const uint8_t tag[HG_TLS_TAG_LEN])
{
	uint8_t want[HG_TLS_TAG_LEN];
	uint8_t diff = 0;
	unsigned i;

	aead_run(mgr, c, false, nonce, aad, aad_len, sg, n, want);
	/* Constant time: every byte is looked at whatever the first ones
	 * were, so timing says nothing about how much of a forgery was
	 * right. */
	for (i = 0; i < HG_TLS_TAG_LEN; i++)
		diff |= (uint8_t)(want[i] ^ tag[i]);
	wipe(want, sizeof(want));
	return diff == 0;
}

/* Known answers for what we use, run once per manager: the library picks
 * its code path from the CPU's flags, and a path that is missing or broken
 * here should stop the data plane at start-up, not corrupt records. */
static bool self_test_aead(IMB_MGR *mgr, uint8_t cipher, const uint8_t *want)
{
	struct hg_tls_dir d = {0};
	struct hg_tls_aead c;
	uint8_t buf[16] = {0}, tag[HG_TLS_TAG_LEN], nonce[HG_TLS_IV_LEN];
	struct hg_sg sg[2] = {{buf, 5}, {buf + 5, 11}}; /* a split block */
	static const uint8_t zero[16];
	bool ok;

	if (hg_tls_aead_init(&c, mgr, HG_TLS_V13, cipher, &d) < 0)
		return false;
	hg_tls_nonce(&c, 0, NULL, nonce);
	hg_tls_seal(mgr, &c, nonce, NULL, 0, sg, 2, tag);
	ok = memcmp(buf, want, 16) == 0 && memcmp(tag, want + 16, 16) == 0;
	ok = ok && hg_tls_open(mgr, &c, nonce, NULL, 0, sg, 2, tag) &&
	     memcmp(buf, zero, 16) == 0;
	hg_tls_aead_wipe(&c);
	return ok;
}

static bool self_test(IMB_MGR *mgr)
{
	/* Zero key, zero nonce, 16 zero bytes, no additional data:
	 * ciphertext then tag. AES-GCM: the GCM spec's test cases 2 and 14. */
	static const uint8_t gcm128[32] = {
	    0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92, 0xf3, 0x28, 0xc2,
	    0xb9, 0x71, 0xb2, 0xfe, 0x78, 0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec,
	    0x13, 0xbd, 0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57, 0xbd, 0xdf};
	static const uint8_t gcm256[32] = {
	    0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60, 0x6b, 0x6e, 0x07, 0x4e, 0xc5,
	    0xd3, 0xba, 0xf3, 0x9d, 0x18, 0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99,
	    0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5, 0xd4, 0x8a, 0xb9, 0x19};
	static const uint8_t chacha[32] = {
	    0x9f, 0x07, 0xe7, 0xbe, 0x55, 0x51, 0x38, 0x7a, 0x98, 0xba, 0x97,
	    0x7c, 0x73, 0x2d, 0x08, 0x0d, 0xc3, 0x4a, 0x88, 0x04, 0x73, 0x20,
	    0xf5, 0x2a, 0xa2, 0xc6, 0x68, 0x3e, 0xf8, 0x08, 0x4d, 0x2f};
	/* SHA-256("abc") and SHA-384("abc"), FIPS 180-2's examples: first
	 * and last bytes are enough to tell a working hash. */
	uint8_t h[48];

	IMB_SHA256(mgr, "abc", 3, h);
	if (h[0] != 0xba || h[31] != 0xad)
		return false;
	IMB_SHA384(mgr, "abc", 3, h);
	if (h[0] != 0xcb || h[47] != 0xa7)
		return false;
	return self_test_aead(mgr, HG_TLS_AES_128_GCM_SHA256, gcm128) &&
	       self_test_aead(mgr, HG_TLS_AES_256_GCM_SHA384, gcm256) &&
	       self_test_aead(mgr, HG_TLS_CHACHA20_POLY1305_SHA256, chacha);
}

IMB_MGR *hg_imb_new(void)
{
	IMB_MGR *mgr = alloc_mb_mgr(0);
	IMB_ARCH arch = IMB_ARCH_NONE;

	if (mgr == NULL)
		return NULL;
	init_mb_mgr_auto(mgr, &arch);
	if (imb_get_errno(mgr) != 0 || arch == IMB_ARCH_NONE ||
	    !self_test(mgr)) {
		free_mb_mgr(mgr);
		return NULL;
	}
	return mgr;
}

void hg_imb_free(IMB_MGR *mgr)
{
	if (mgr)
		free_mb_mgr(mgr);
}
