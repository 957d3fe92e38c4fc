/* The TLS handshake engine against a real OpenSSL client, in process, over
 * memory BIOs. Each test makes its own throwaway certificates (files, as
 * the server loads files). The keys the engine hands over are checked
 * both ways with EVP, independently of the engine: the client's first
 * application record must open under rx, and a record we seal under tx
 * must come out of the client's SSL_read. That is what proves the
 * sequence numbers, the TLS 1.3 NewSessionTicket count included.
 *
 * HG_TLS_SEED_DIR=<dir>: the ClientHello tests also write the client's
 * first flight there (the fuzz target's seeds).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls_hs.h"

/* ---- certificates ---- */

static char dir[64];
static char a_cert[128], a_key[128]; /* ECDSA, DNS:a.test */
static char b_cert[128], b_key[128]; /* RSA, DNS:b.test */
static char w_cert[128], w_key[128]; /* ECDSA, DNS:*.w.test */
static char c_cert[128], c_key[128]; /* ECDSA, CN=cn.test, no SAN */
static char other_key[128];	     /* ECDSA, matches nothing */

static X509 *self_signed(EVP_PKEY *key, const char *cn, const char *san)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *name;

	cr_assert_not_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (san != NULL) {
		X509V3_CTX v;
		X509_EXTENSION *e;

		X509V3_set_ctx_nodb(&v);
		X509V3_set_ctx(&v, x, x, NULL, NULL, 0);
		e = X509V3_EXT_conf_nid(NULL, &v, NID_subject_alt_name, san);
		cr_assert_not_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	cr_assert(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static void write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL));
	fclose(f);
}

static void make_cert(char *cert_path, char *key_path, const char *tag,
		      EVP_PKEY *key, const char *cn, const char *san)
{
	X509 *x = self_signed(key, cn, san);
	FILE *f;

	snprintf(cert_path, 128, "%s/%s.crt", dir, tag);
	snprintf(key_path, 128, "%s/%s.key", dir, tag);
	f = fopen(cert_path, "w");
	cr_assert_not_null(f);
	cr_assert(PEM_write_X509(f, x));
	fclose(f);
	write_key(key_path, key);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void setup(void)
{
	EVP_PKEY *k;

	snprintf(dir, sizeof(dir), "/tmp/hg_tls_hs_XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	make_cert(a_cert, a_key, "a",
		  EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), "a.test",
		  "DNS:a.test");
	make_cert(b_cert, b_key, "b",
		  EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), "b.test",
		  "DNS:b.test");
	make_cert(w_cert, w_key, "w",
		  EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), "wildcard",
		  "DNS:*.w.test");
	make_cert(c_cert, c_key, "c",
		  EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"), "cn.test",
		  NULL);
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
	write_key(other_key, k);
	EVP_PKEY_free(k);
}

static void teardown(void)
{
	const char *tags[] = {"a", "b", "w", "c"};
	char path[160];
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s.crt", dir, tags[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.key", dir, tags[i]);
		unlink(path);
	}
	unlink(other_key);
	rmdir(dir);
}

TestSuite(tls_hs, .init = setup, .fini = teardown);

/* ---- the server ---- */

static struct hg_tls_config base_cfg(void)
{
	struct hg_tls_config c;

	memset(&c, 0, sizeof(c));
	c.enabled = true;
	snprintf(c.certs[0].cert, sizeof(c.certs[0].cert), "%s", a_cert);
	snprintf(c.certs[0].key, sizeof(c.certs[0].key), "%s", a_key);
	snprintf(c.certs[1].cert, sizeof(c.certs[1].cert), "%s", b_cert);
	snprintf(c.certs[1].key, sizeof(c.certs[1].key), "%s", b_key);
	c.n_certs = 2;
	c.min_version = HG_TLS_V12;
	c.max_version = HG_TLS_V13;
	snprintf(c.alpn, sizeof(c.alpn), "h2,http/1.1");
	c.session_tickets = true;
	c.ticket_lifetime_s = 3600;
	return c;
}

static struct hg_tls_server *server_of(const struct hg_tls_config *c)
{
	char err[512] = "";
	struct hg_tls_server *s = hg_tls_server_new(c, err, sizeof(err));

	cr_assert_not_null(s, "hg_tls_server_new: %s", err);
	return s;
}

/* ---- the client ---- */

struct client_opts {
	int max_version;     /* 0: TLS 1.3 */
	int min_version;     /* 0: TLS 1.2 */
	const char *suites;  /* TLS 1.3, NULL: OpenSSL's */
	const char *ciphers; /* TLS 1.2, NULL: OpenSSL's */
	const char *sni;
	const char *alpn; /* comma list */
	SSL_SESSION *session;
	bool verify; /* with an empty trust store: always fails */
	int seclevel;
	const char *groups;
	size_t fragment; /* the driver cuts handshake records this small */
};

struct client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *in;  /* server -> client */
	BIO *out; /* client -> server */
};

static void client_new(struct client *c, const struct client_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->ctx = SSL_CTX_new(TLS_client_method());
	cr_assert_not_null(c->ctx);
	SSL_CTX_set_security_level(c->ctx, o->seclevel);
	cr_assert(SSL_CTX_set_min_proto_version(
	    c->ctx, o->min_version ? o->min_version : TLS1_2_VERSION));
	cr_assert(SSL_CTX_set_max_proto_version(
	    c->ctx, o->max_version ? o->max_version : TLS1_3_VERSION));
	if (o->suites != NULL)
		cr_assert(SSL_CTX_set_ciphersuites(c->ctx, o->suites));
	if (o->ciphers != NULL)
		cr_assert(SSL_CTX_set_cipher_list(c->ctx, o->ciphers));
	SSL_CTX_set_verify(c->ctx,
			   o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	c->ssl = SSL_new(c->ctx);
	cr_assert_not_null(c->ssl);
	if (o->sni != NULL)
		cr_assert(SSL_set_tlsext_host_name(c->ssl, o->sni));
	if (o->alpn != NULL) {
		unsigned char wire[256];
		size_t n = 0;
		const char *p = o->alpn;

		while (*p != '\0') {
			const char *e = strchr(p, ',');
			size_t l = e ? (size_t)(e - p) : strlen(p);

			wire[n++] = (unsigned char)l;
			memcpy(wire + n, p, l);
			n += l;
			p += l + (e ? 1 : 0);
		}
		cr_assert_eq(SSL_set_alpn_protos(c->ssl, wire, (unsigned)n), 0);
	}
	if (o->session != NULL)
		cr_assert(SSL_set_session(c->ssl, o->session));
	if (o->groups != NULL)
		cr_assert(SSL_set1_groups_list(c->ssl, o->groups));
	c->in = BIO_new(BIO_s_mem());
	c->out = BIO_new(BIO_s_mem());
	SSL_set_bio(c->ssl, c->in, c->out);
	SSL_set_connect_state(c->ssl);
}

static void client_free(struct client *c)
{
	/* as after a clean close: else SSL_free marks the session
	 * not resumable */
	SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
}

/* What the client wrote, appended to buf. */
static size_t client_take(struct client *c, uint8_t *buf, size_t cap)
{
	size_t n = BIO_ctrl_pending(c->out);

	cr_assert_leq(n, cap);
	if (n > 0)
		cr_assert_eq(BIO_read(c->out, buf, (int)n), (int)n);
	return n;
}

static void client_give(struct client *c, const uint8_t *p, size_t n)
{
	if (n > 0)
		cr_assert_eq(BIO_write(c->in, p, (int)n), (int)n);
}

/* ---- one connection ---- */

struct conn {
	struct client cl;
	struct hg_tls_hs *hs;
	struct hg_tls_out out; /* everything the engine wrote, kept */
	size_t out_given;      /* of which the client got this much */
	enum hg_tls_hs_status st;
	uint8_t stream[64 * 1024]; /* every client byte fed to the engine */
	size_t stream_len;
	size_t app_len; /* trailing application record fed with Finished */
	uint8_t first_flight[4096];
	size_t first_flight_len;
	int client_done; /* SSL_do_handshake returned 1 */
};

static const char early_msg[] = "data in the Finished flight";

/* Cuts the plaintext handshake records of buf into records of at most
 * frag bytes (a handshake message may span records, RFC 8446 5.1). */
static size_t reframe(uint8_t *buf, size_t n, size_t cap, size_t frag)
{
	static uint8_t tmp[32 * 1024];
	size_t off = 0, m = 0;

	while (off + 5 <= n) {
		size_t len = (size_t)buf[off + 3] << 8 | buf[off + 4], p;

		cr_assert_leq(off + 5 + len, n);
		for (p = 0; p < len; p += frag) {
			size_t l = len - p < frag ? len - p : frag;

			if (buf[off] != 22)
				l = len; /* other records stay whole */
			cr_assert_leq(m + 5 + l, sizeof(tmp));
			memcpy(tmp + m, buf + off, 3);
			tmp[m + 3] = (uint8_t)(l >> 8);
			tmp[m + 4] = (uint8_t)l;
			memcpy(tmp + m + 5, buf + off + 5 + p, l);
			m += 5 + l;
		}
		off += 5 + len;
	}
	cr_assert_eq(off, n);
	cr_assert_leq(m, cap);
	memcpy(buf, tmp, m);
	return m;
}

static void feed(struct conn *k, const uint8_t *p, size_t n, size_t split)
{
	size_t off = 0;

	cr_assert_leq(k->stream_len + n, sizeof(k->stream));
	memcpy(k->stream + k->stream_len, p, n);
	k->stream_len += n;
	while (off < n && k->st == HG_TLS_HS_CONTINUE) {
		size_t m = split == 0 || n - off < split ? n - off : split;

		k->st = hg_tls_hs_input(k->hs, p + off, m, &k->out);
		off += m;
	}
}

static void pass_out(struct conn *k)
{
	client_give(&k->cl, k->out.data + k->out_given,
		    k->out.len - k->out_given);
	k->out_given = k->out.len;
}

/* Runs the handshake to DONE or FAILED. split: bytes per input call (0:
 * all at once). early: the client sends an application record right
 * behind its Finished, in the same input call. */
static void run(struct conn *k, struct hg_tls_server *s,
		const struct client_opts *o, size_t split, bool early)
{
	uint8_t buf[32 * 1024];
	int round;

	memset(k, 0, sizeof(*k));
	client_new(&k->cl, o);
	k->hs = hg_tls_hs_new(s);
	cr_assert_not_null(k->hs);
	k->st = HG_TLS_HS_CONTINUE;
	for (round = 0; round < 10 && k->st == HG_TLS_HS_CONTINUE; round++) {
		size_t n;

		if (!k->client_done) {
			int r = SSL_do_handshake(k->cl.ssl);

			if (r == 1)
				k->client_done = 1;
			else if (SSL_get_error(k->cl.ssl, r) !=
				 SSL_ERROR_WANT_READ)
				break; /* the client gave up: what it sent
					  (an alert) still goes */
		}
		n = client_take(&k->cl, buf, sizeof(buf));
		if (round == 0 && o->fragment > 0)
			n = reframe(buf, n, sizeof(buf), o->fragment);
		if (round == 0) {
			memcpy(k->first_flight, buf, n);
			k->first_flight_len = n;
		}
		if (early && k->client_done && n > 0) {
			size_t before = n;

			cr_assert_eq(
			    SSL_write(k->cl.ssl, early_msg, sizeof(early_msg)),
			    (int)sizeof(early_msg));
			n += client_take(&k->cl, buf + n, sizeof(buf) - n);
			k->app_len = n - before;
			early = false;
		}
		if (n == 0)
			break;
		feed(k, buf, n, split);
		pass_out(k);
	}
	if (k->st == HG_TLS_HS_CONTINUE) {
		/* the client's last words (an alert) */
		size_t n = client_take(&k->cl, buf, sizeof(buf));

		if (n > 0)
			feed(k, buf, n, split);
		pass_out(k);
	}
	if (k->st == HG_TLS_HS_DONE && !k->client_done) {
		/* TLS 1.2 full handshake: the client now reads our Finished */
		cr_assert_eq(SSL_do_handshake(k->cl.ssl), 1);
		k->client_done = 1;
		cr_assert_eq(BIO_ctrl_pending(k->cl.out), 0,
			     "the client has more to say after its Finished");
	}
}

static void conn_free(struct conn *k)
{
	hg_tls_hs_free(k->hs);
	hg_tls_out_free(&k->out);
	client_free(&k->cl);
}

/* ---- records, sealed and opened with EVP ---- */

static const EVP_CIPHER *evp_of(uint8_t cipher)
{
	switch (cipher) {
	case HG_TLS_AES_128_GCM_SHA256:
		return EVP_aes_128_gcm();
	case HG_TLS_AES_256_GCM_SHA384:
		return EVP_aes_256_gcm();
	case HG_TLS_CHACHA20_POLY1305_SHA256:
		return EVP_chacha20_poly1305();
	}
	cr_assert_fail("cipher %u", cipher);
	return NULL;
}

static void put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* The nonce and AAD of one record (RFC 8446 5.2-5.3, RFC 5288, RFC 7905). */
static void nonce_aad(const struct hg_tls_keys *k, const struct hg_tls_dir *d,
		      uint64_t seq, size_t plain_len, size_t rec_len,
		      const uint8_t *explicit_nonce, uint8_t nonce[12],
		      uint8_t *aad, size_t *aad_len)
{
	int i;

	if (k->version == HG_TLS_V12 &&
	    k->cipher != HG_TLS_CHACHA20_POLY1305_SHA256) {
		memcpy(nonce, d->iv, 4);
		memcpy(nonce + 4, explicit_nonce, 8);
	} else {
		memcpy(nonce, d->iv, 12);
		for (i = 0; i < 8; i++)
			nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
	}
	if (k->version == HG_TLS_V13) {
		aad[0] = 23;
		aad[1] = 3;
		aad[2] = 3;
		aad[3] = (uint8_t)(rec_len >> 8);
		aad[4] = (uint8_t)rec_len;
		*aad_len = 5;
	} else {
		put64(aad, seq);
		aad[8] = 23;
		aad[9] = 3;
		aad[10] = 3;
		aad[11] = (uint8_t)(plain_len >> 8);
		aad[12] = (uint8_t)plain_len;
		*aad_len = 13;
	}
}

/* An application_data record under d at seq. Returns its length. */
static size_t seal(const struct hg_tls_keys *k, const struct hg_tls_dir *d,
		   uint64_t seq, const char *msg, uint8_t *rec)
{
	size_t n = strlen(msg), inner = n + (k->version == HG_TLS_V13);
	size_t expl = k->version == HG_TLS_V12 &&
			      k->cipher != HG_TLS_CHACHA20_POLY1305_SHA256
			  ? 8
			  : 0;
	size_t body = expl + inner + 16, aad_len;
	uint8_t nonce[12], aad[13], pt[256], *ct;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl;

	cr_assert_lt(inner, sizeof(pt));
	memcpy(pt, msg, n);
	if (k->version == HG_TLS_V13)
		pt[n] = 23;
	rec[0] = 23;
	rec[1] = 3;
	rec[2] = 3;
	rec[3] = (uint8_t)(body >> 8);
	rec[4] = (uint8_t)body;
	put64(rec + 5, seq); /* the explicit nonce, when there is one */
	ct = rec + 5 + expl;
	nonce_aad(k, d, seq, n, body, rec + 5, nonce, aad, &aad_len);
	cr_assert(
	    EVP_EncryptInit_ex2(c, evp_of(k->cipher), d->key, nonce, NULL));
	cr_assert(EVP_EncryptUpdate(c, NULL, &outl, aad, (int)aad_len));
	cr_assert(EVP_EncryptUpdate(c, ct, &outl, pt, (int)inner));
	cr_assert(EVP_EncryptFinal_ex(c, ct + outl, &outl));
	cr_assert(
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, ct + inner));
	EVP_CIPHER_CTX_free(c);
	return 5 + body;
}

/* Opens an application_data record under d at seq into pt (NUL-ended).
 * Returns the plaintext length, or -1 when the tag does not verify. */
static long open_rec(const struct hg_tls_keys *k, const struct hg_tls_dir *d,
		     uint64_t seq, const uint8_t *rec, size_t len, char *pt,
		     size_t cap)
{
	size_t body = (size_t)rec[3] << 8 | rec[4];
	size_t expl = k->version == HG_TLS_V12 &&
			      k->cipher != HG_TLS_CHACHA20_POLY1305_SHA256
			  ? 8
			  : 0;
	size_t ct_len, aad_len;
	uint8_t nonce[12], aad[13];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int outl, ok;
	long n;

	cr_assert_eq(rec[0], 23);
	cr_assert_eq(len, 5 + body);
	cr_assert_gt(body, expl + 16);
	ct_len = body - expl - 16;
	cr_assert_lt(ct_len, cap);
	nonce_aad(k, d, seq, ct_len, body, rec + 5, nonce, aad, &aad_len);
	cr_assert(
	    EVP_DecryptInit_ex2(c, evp_of(k->cipher), d->key, nonce, NULL));
	cr_assert(EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aad_len));
	cr_assert(EVP_DecryptUpdate(c, (uint8_t *)pt, &outl, rec + 5 + expl,
				    (int)ct_len));
	cr_assert(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16,
				      (void *)(rec + 5 + expl + ct_len)));
	ok = EVP_DecryptFinal_ex(c, (uint8_t *)pt + outl, &outl);
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	if (ok != 1)
		return -1;
	n = (long)ct_len;
	if (k->version == HG_TLS_V13) {
		while (n > 0 && pt[n - 1] == 0)
			n--; /* padding */
		cr_assert_gt(n, 0);
		cr_assert_eq(pt[n - 1], 23, "inner content type %d", pt[n - 1]);
		n--;
	}
	pt[n] = '\0';
	return n;
}

/* Both directions work under the handed-over keys, twice each. */
static void check_keys(struct conn *k, struct hg_tls_keys *keys)
{
	static const char *const up[] = {"ping from the client", "again"};
	static const char *const down[] = {"pong from the gateway", "more"};
	uint8_t rec[512];
	char pt[512];
	int i;

	for (i = 0; i < 2; i++) {
		size_t n;

		cr_assert_eq(SSL_write(k->cl.ssl, up[i], (int)strlen(up[i])),
			     (int)strlen(up[i]));
		n = client_take(&k->cl, rec, sizeof(rec));
		cr_assert_eq(open_rec(keys, &keys->rx, keys->rx.seq, rec, n, pt,
				      sizeof(pt)),
			     (long)strlen(up[i]),
			     "rx record does not open at seq %llu",
			     (unsigned long long)keys->rx.seq);
		cr_assert_str_eq(pt, up[i]);
		keys->rx.seq++;

		n = seal(keys, &keys->tx, keys->tx.seq, down[i], rec);
		client_give(&k->cl, rec, n);
		memset(pt, 0, sizeof(pt));
		cr_assert_eq(SSL_read(k->cl.ssl, pt, sizeof(pt) - 1),
			     (int)strlen(down[i]),
			     "client SSL_read failed: tx seq %llu wrong? (%s)",
			     (unsigned long long)keys->tx.seq,
			     ERR_reason_error_string(ERR_peek_last_error()));
		cr_assert_str_eq(pt, down[i]);
		keys->tx.seq++;
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	while (n-- > 0)
		if (*p++ != 0)
			return false;
	return true;
}

/* A completed handshake: keys taken (once), shape checked, both ways. */
static void expect_done(struct conn *k, uint16_t version, uint8_t cipher,
			struct hg_tls_keys *keys)
{
	struct hg_tls_keys again;
	const struct hg_tls_hs_info *info;

	cr_assert_eq(k->st, HG_TLS_HS_DONE, "status %d (%s)", k->st,
		     hg_tls_hs_fail_reason(k->hs));
	cr_assert_eq(hg_tls_hs_consumed(k->hs), k->stream_len - k->app_len);
	cr_assert_eq(hg_tls_hs_keys(k->hs, keys), 0);
	cr_assert_eq(hg_tls_hs_keys(k->hs, &again), -1, "keys given twice");
	cr_assert(all_zero((const uint8_t *)&again, sizeof(again)));
	cr_assert_eq(keys->version, version);
	cr_assert_eq(keys->cipher, cipher);
	info = hg_tls_hs_info(k->hs);
	cr_assert_eq(info->version, version);
	cr_assert_eq(info->cipher, cipher);
	cr_assert_str_eq(
	    info->cipher_name,
	    SSL_CIPHER_get_name(SSL_get_current_cipher(k->cl.ssl)));
	cr_assert_eq(SSL_version(k->cl.ssl), version);
	if (version == HG_TLS_V13) {
		cr_assert(!all_zero(keys->rx.secret, hg_tls_hash_len(cipher)));
		cr_assert(!all_zero(keys->tx.secret, hg_tls_hash_len(cipher)));
		cr_assert_eq(keys->rx.seq, 0);
	} else {
		cr_assert(all_zero(keys->rx.secret, sizeof(keys->rx.secret)));
		cr_assert_eq(keys->rx.seq, 1);
		cr_assert_eq(keys->tx.seq, 1);
	}
	cr_assert(!all_zero(keys->rx.key, hg_tls_key_len(cipher)));
	cr_assert(!all_zero(keys->tx.key, hg_tls_key_len(cipher)));
}

static void full_handshake(const struct client_opts *o, uint16_t version,
			   uint8_t cipher, const char *key_type)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct hg_tls_keys keys;
	struct conn *k = calloc(1, sizeof(*k));

	run(k, s, o, 0, false);
	expect_done(k, version, cipher, &keys);
	cr_assert(!hg_tls_hs_info(k->hs)->resumed);
	cr_assert(EVP_PKEY_is_a(
	    X509_get0_pubkey(SSL_get0_peer_certificate(k->cl.ssl)), key_type));
	if (version == HG_TLS_V13)
		/* OpenSSL's default: two tickets, under the application key */
		cr_assert_eq(keys.tx.seq, 2);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

/* ---- the suites ---- */

Test(tls_hs, tls13_aes128gcm)
{
	struct client_opts o = {.suites = "TLS_AES_128_GCM_SHA256",
				.sni = "a.test"};

	full_handshake(&o, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, "EC");
}

Test(tls_hs, tls13_aes256gcm)
{
	struct client_opts o = {.suites = "TLS_AES_256_GCM_SHA384",
				.sni = "b.test"};

	full_handshake(&o, HG_TLS_V13, HG_TLS_AES_256_GCM_SHA384, "RSA");
}

Test(tls_hs, tls13_chacha20)
{
	struct client_opts o = {.suites = "TLS_CHACHA20_POLY1305_SHA256",
				.sni = "a.test"};

	full_handshake(&o, HG_TLS_V13, HG_TLS_CHACHA20_POLY1305_SHA256, "EC");
}

Test(tls_hs, tls13_server_prefers_aes128)
{
	struct client_opts o = {
	    .suites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:"
		      "TLS_AES_128_GCM_SHA256"};

	full_handshake(&o, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, "EC");
}

Test(tls_hs, tls12_ecdsa_aes128gcm)
{
	struct client_opts o = {.max_version = TLS1_2_VERSION,
				.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256",
				.sni = "a.test"};

	full_handshake(&o, HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, "EC");
}

Test(tls_hs, tls12_rsa_aes256gcm)
{
	struct client_opts o = {.max_version = TLS1_2_VERSION,
				.ciphers = "ECDHE-RSA-AES256-GCM-SHA384",
				.sni = "b.test"};

	full_handshake(&o, HG_TLS_V12, HG_TLS_AES_256_GCM_SHA384, "RSA");
}

Test(tls_hs, tls12_ecdsa_chacha20)
{
	struct client_opts o = {.max_version = TLS1_2_VERSION,
				.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305",
				.sni = "a.test"};

	full_handshake(&o, HG_TLS_V12, HG_TLS_CHACHA20_POLY1305_SHA256, "EC");
}

Test(tls_hs, tls12_rsa_aes128gcm)
{
	struct client_opts o = {.max_version = TLS1_2_VERSION,
				.ciphers = "ECDHE-RSA-AES128-GCM-SHA256",
				.sni = "b.test"};

	full_handshake(&o, HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, "RSA");
}

Test(tls_hs, tls12_rsa_chacha20)
{
	struct client_opts o = {.max_version = TLS1_2_VERSION,
				.ciphers = "ECDHE-RSA-CHACHA20-POLY1305",
				.sni = "b.test"};

	full_handshake(&o, HG_TLS_V12, HG_TLS_CHACHA20_POLY1305_SHA256, "RSA");
}

/* ---- stream handling ---- */

/* One byte per call: records are gathered across calls. */
static void byte_by_byte(int max_version, uint16_t version)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct client_opts o = {.max_version = max_version, .sni = "a.test"};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;

	run(k, s, &o, 1, false);
	expect_done(k, version, HG_TLS_AES_128_GCM_SHA256, &keys);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

Test(tls_hs, tls13_byte_by_byte)
{
	byte_by_byte(TLS1_3_VERSION, HG_TLS_V13);
}

Test(tls_hs, tls12_byte_by_byte)
{
	byte_by_byte(TLS1_2_VERSION, HG_TLS_V12);
}

/* A ClientHello in many small records. */
Test(tls_hs, fragmented_client_hello)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct client_opts o = {.sni = "b.test", .fragment = 37};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;

	run(k, s, &o, 0, false);
	cr_assert_gt(k->first_flight_len, 5 * 5, "not fragmented");
	expect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

/* The client's key share is for a group we do not take: HelloRetryRequest,
 * a second ClientHello, and the counts still hold. */
Test(tls_hs, tls13_hello_retry_request)
{
	static const uint8_t hrr_random[32] = {
	    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
	    0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
	    0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct client_opts o = {.sni = "a.test", .groups = "X448:P-384"};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;

	run(k, s, &o, 0, false);
	cr_assert_geq(k->out.len, 11 + 32);
	cr_assert_eq(memcmp(k->out.data + 11, hrr_random, 32), 0,
		     "no HelloRetryRequest");
	expect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

/* The client's first application record rides with its Finished: the
 * engine stops right after the Finished record, and the data plane opens
 * the rest with rx at rx.seq. */
static void check_early_record(struct conn *k, struct hg_tls_keys *keys)
{
	uint64_t used = hg_tls_hs_consumed(k->hs);
	char pt[256];

	cr_assert_gt(k->app_len, 0);
	cr_assert_eq(used + k->app_len, k->stream_len);
	cr_assert_eq(open_rec(keys, &keys->rx, keys->rx.seq, k->stream + used,
			      k->app_len, pt, sizeof(pt)),
		     (long)sizeof(early_msg));
	cr_assert_str_eq(pt, early_msg);
	keys->rx.seq++;
}

Test(tls_hs, tls13_app_data_with_finished)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct client_opts o = {.sni = "a.test"};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;

	run(k, s, &o, 0, true);
	expect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	check_early_record(k, &keys);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

/* ---- resumption ---- */

/* A first connection; returns the client's session (after it has read
 * the tickets). */
static SSL_SESSION *first_session(struct hg_tls_server *s,
				  const struct client_opts *o)
{
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;
	SSL_SESSION *sess;

	run(k, s, o, 0, false);
	expect_done(k,
		    o->max_version == TLS1_2_VERSION ? HG_TLS_V12 : HG_TLS_V13,
		    HG_TLS_AES_128_GCM_SHA256, &keys);
	check_keys(k, &keys); /* the client reads the tickets here */
	sess = SSL_get1_session(k->cl.ssl);
	cr_assert_not_null(sess);
	cr_assert(SSL_SESSION_is_resumable(sess));
	conn_free(k);
	free(k);
	return sess;
}

/* A second connection with sess: resumed as expected, keys working. */
static void second(struct hg_tls_server *s, struct client_opts *o,
		   SSL_SESSION *sess, bool expect_resumed, bool early)
{
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;

	o->session = sess;
	run(k, s, o, 0, early);
	expect_done(k,
		    o->max_version == TLS1_2_VERSION ? HG_TLS_V12 : HG_TLS_V13,
		    HG_TLS_AES_128_GCM_SHA256, &keys);
	cr_assert_eq(SSL_session_reused(k->cl.ssl), expect_resumed);
	cr_assert_eq(hg_tls_hs_info(k->hs)->resumed, expect_resumed);
	if (early)
		check_early_record(k, &keys);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
	o->session = NULL;
}

static void resume(int max_version)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct client_opts o = {.max_version = max_version, .sni = "a.test"};
	SSL_SESSION *sess;

	hg_tls_server_tick(s, 1000);
	sess = first_session(s, &o);
	second(s, &o, sess, true, false);
	SSL_SESSION_free(sess);
	hg_tls_server_free(s);
}

Test(tls_hs, tls13_resumption)
{
	resume(TLS1_3_VERSION);
}

Test(tls_hs, tls12_resumption)
{
	resume(TLS1_2_VERSION);
}

/* TLS 1.2 abbreviated handshake: the client speaks last (CCS, Finished)
 * and its first application record can ride along. */
Test(tls_hs, tls12_resumed_app_data_with_finished)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct client_opts o = {.max_version = TLS1_2_VERSION, .sni = "a.test"};
	SSL_SESSION *sess;

	sess = first_session(s, &o);
	second(s, &o, sess, true, true);
	SSL_SESSION_free(sess);
	hg_tls_server_free(s);
}

static void rotation(int max_version)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s;
	struct client_opts o = {.max_version = max_version, .sni = "a.test"};
	SSL_SESSION *sess;

	cfg.ticket_lifetime_s = 600;
	s = server_of(&cfg);
	hg_tls_server_tick(s, 1000);
	sess = first_session(s, &o);
	hg_tls_server_tick(s, 1599); /* not yet due */
	second(s, &o, sess, true, false);
	hg_tls_server_tick(s, 1600); /* the ticket's key is now previous */
	second(s, &o, sess, true, false);
	hg_tls_server_tick(s, 2200); /* and now gone */
	second(s, &o, sess, false, false);
	SSL_SESSION_free(sess);
	hg_tls_server_free(s);
}

Test(tls_hs, tls13_ticket_key_rotation)
{
	rotation(TLS1_3_VERSION);
}

Test(tls_hs, tls12_ticket_key_rotation)
{
	rotation(TLS1_2_VERSION);
}

/* A long gap drops both keys at once. */
Test(tls_hs, ticket_keys_dropped_after_missed_period)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s;
	struct client_opts o = {.sni = "a.test"};
	SSL_SESSION *sess;

	cfg.ticket_lifetime_s = 600;
	s = server_of(&cfg);
	hg_tls_server_tick(s, 1000);
	sess = first_session(s, &o);
	hg_tls_server_tick(s, 2300);
	second(s, &o, sess, false, false);
	SSL_SESSION_free(sess);
	hg_tls_server_free(s);
}

/* Tickets off: no NewSessionTicket (tx seq 0 in TLS 1.3), no resumption. */
static void no_tickets(int max_version, uint16_t version)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s;
	struct client_opts o = {.max_version = max_version, .sni = "a.test"};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;
	SSL_SESSION *sess;

	cfg.session_tickets = false;
	s = server_of(&cfg);
	run(k, s, &o, 0, false);
	expect_done(k, version, HG_TLS_AES_128_GCM_SHA256, &keys);
	if (version == HG_TLS_V13)
		cr_assert_eq(keys.tx.seq, 0);
	check_keys(k, &keys);
	sess = SSL_get1_session(k->cl.ssl);
	conn_free(k);
	free(k);
	second(s, &o, sess, false, false);
	SSL_SESSION_free(sess);
	hg_tls_server_free(s);
}

Test(tls_hs, tls13_tickets_off)
{
	no_tickets(TLS1_3_VERSION, HG_TLS_V13);
}

Test(tls_hs, tls12_tickets_off)
{
	no_tickets(TLS1_2_VERSION, HG_TLS_V12);
}

/* ---- SNI and ALPN ---- */

static void sni_case(struct hg_tls_server *s, const char *sni,
		     const char *want_host, const char *want_type)
{
	struct client_opts o = {.sni = sni};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;
	X509 *peer;

	run(k, s, &o, 0, false);
	expect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	peer = SSL_get0_peer_certificate(k->cl.ssl);
	cr_assert_not_null(peer);
	cr_assert_eq(X509_check_host(peer, want_host, 0, 0, NULL), 1,
		     "SNI %s: not the certificate for %s", sni ? sni : "(none)",
		     want_host);
	cr_assert(EVP_PKEY_is_a(X509_get0_pubkey(peer), want_type));
	cr_assert_str_eq(hg_tls_hs_info(k->hs)->sni, sni ? sni : "");
	check_keys(k, &keys);
	conn_free(k);
	free(k);
}

Test(tls_hs, sni_picks_the_certificate)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s;

	snprintf(cfg.certs[2].cert, sizeof(cfg.certs[2].cert), "%s", w_cert);
	snprintf(cfg.certs[2].key, sizeof(cfg.certs[2].key), "%s", w_key);
	snprintf(cfg.certs[3].cert, sizeof(cfg.certs[3].cert), "%s", c_cert);
	snprintf(cfg.certs[3].key, sizeof(cfg.certs[3].key), "%s", c_key);
	cfg.n_certs = 4;
	s = server_of(&cfg);
	sni_case(s, "a.test", "a.test", "EC");
	sni_case(s, "b.test", "b.test", "RSA");
	sni_case(s, "B.TEST", "b.test", "RSA");
	sni_case(s, "x.w.test", "x.w.test", "EC");   /* wildcard */
	sni_case(s, "cn.test", "cn.test", "EC");     /* CN, no SAN */
	sni_case(s, "unknown.test", "a.test", "EC"); /* default */
	sni_case(s, "y.x.w.test", "a.test", "EC");   /* one label only */
	sni_case(s, NULL, "a.test", "EC");
	hg_tls_server_free(s);
}

static void alpn_case(const char *server_list, const char *client_list,
		      const char *want)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s;
	struct client_opts o = {.alpn = client_list};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;
	const unsigned char *sel;
	unsigned sel_len;

	snprintf(cfg.alpn, sizeof(cfg.alpn), "%s", server_list);
	s = server_of(&cfg);
	run(k, s, &o, 0, false);
	expect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	cr_assert_str_eq(hg_tls_hs_info(k->hs)->alpn, want);
	SSL_get0_alpn_selected(k->cl.ssl, &sel, &sel_len);
	cr_assert_eq(sel_len, strlen(want));
	if (sel_len > 0)
		cr_assert_eq(memcmp(sel, want, sel_len), 0);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

Test(tls_hs, alpn_server_order)
{
	alpn_case("h2,http/1.1", "http/1.1,h2", "h2");
	alpn_case("h2,http/1.1", "http/1.1", "http/1.1");
}

Test(tls_hs, alpn_no_overlap_goes_on_without)
{
	alpn_case("h2,http/1.1", "spdy/3,imap", "");
	alpn_case("", "h2", "");
}

/* ---- failures ---- */

static struct hg_tls_hs *raw(struct hg_tls_server *s, const uint8_t *p,
			     size_t n, struct hg_tls_out *out,
			     enum hg_tls_hs_status *st)
{
	struct hg_tls_hs *hs = hg_tls_hs_new(s);

	cr_assert_not_null(hs);
	*st = hg_tls_hs_input(hs, p, n, out);
	return hs;
}

/* The last record of out is an alert with this description. */
static void expect_alert(const struct hg_tls_out *out, int desc)
{
	cr_assert_geq(out->len, 7, "no alert sent");
	cr_assert_eq(out->data[out->len - 7], 21, "not an alert record");
	cr_assert_eq(out->data[out->len - 1], desc, "alert %d, not %d",
		     out->data[out->len - 1], desc);
}

Test(tls_hs, garbage_is_a_bad_client_hello)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n";
	static const uint8_t junk[] = {22, 3, 1,    0,	  8,	1,   0,
				       0,  4, 0xde, 0xad, 0xbe, 0xef};
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct hg_tls_out out = {0};
	enum hg_tls_hs_status st;
	struct hg_tls_hs *hs;

	hs = raw(s, (const uint8_t *)http, sizeof(http) - 1, &out, &st);
	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "bad_client_hello");
	/* further input changes nothing */
	cr_assert_eq(hg_tls_hs_input(hs, junk, sizeof(junk), &out),
		     HG_TLS_HS_FAILED);
	cr_assert_eq(hg_tls_hs_consumed(hs), 0);
	hg_tls_hs_free(hs);

	out.len = 0;
	hs = raw(s, junk, sizeof(junk), &out, &st);
	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "bad_client_hello");
	expect_alert(&out, SSL_AD_DECODE_ERROR);
	hg_tls_hs_free(hs);

	hg_tls_out_free(&out);
	hg_tls_server_free(s);
}

Test(tls_hs, oversized_record_header)
{
	static const uint8_t hdr[] = {22, 3, 1, 0x50, 0x00}; /* 20480 bytes */
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct hg_tls_out out = {0};
	enum hg_tls_hs_status st;
	struct hg_tls_hs *hs;

	hs = raw(s, hdr, sizeof(hdr), &out, &st);
	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "record_overflow");
	/* OpenSSL judges the header alone as we do, and says so */
	cr_assert_eq(out.len, 7);
	expect_alert(&out, SSL_AD_RECORD_OVERFLOW);
	hg_tls_hs_free(hs);
	hg_tls_out_free(&out);
	hg_tls_server_free(s);
}

/* A ClientHello announcing 100 KB, sent in full records: the engine stops
 * at 64 KiB. */
Test(tls_hs, handshake_too_large)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct hg_tls_out out = {0};
	static uint8_t rec[5 + 16384];
	enum hg_tls_hs_status st = HG_TLS_HS_CONTINUE;
	struct hg_tls_hs *hs = hg_tls_hs_new(s);
	int i;

	rec[0] = 22;
	rec[1] = 3;
	rec[2] = 1;
	rec[3] = 0x40;
	rec[4] = 0x00;
	rec[5] = 1; /* client_hello, 100000 bytes */
	rec[6] = 0x01;
	rec[7] = 0x86;
	rec[8] = 0xa0;
	rec[9] = 3;
	rec[10] = 3;
	for (i = 0; i < 8 && st == HG_TLS_HS_CONTINUE; i++) {
		st = hg_tls_hs_input(hs, rec, sizeof(rec), &out);
		memset(rec + 5, 0x41, 16); /* later records: just more body */
	}
	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "handshake_too_large");
	cr_assert_eq(i, 4, "failed at record %d", i); /* 4 * 16389 > 64 KiB */
	hg_tls_hs_free(hs);
	hg_tls_out_free(&out);
	hg_tls_server_free(s);
}

static void client_fails(const struct client_opts *o, const char *reason,
			 int alert)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct conn *k = calloc(1, sizeof(*k));

	run(k, s, o, 0, false);
	cr_assert_eq(k->st, HG_TLS_HS_FAILED, "status %d", k->st);
	cr_assert_str_eq(hg_tls_hs_fail_reason(k->hs), reason);
	cr_assert_eq(hg_tls_hs_consumed(k->hs), 0);
	if (alert >= 0)
		expect_alert(&k->out, alert);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

Test(tls_hs, tls11_client_is_refused)
{
	struct client_opts o = {.min_version = TLS1_VERSION,
				.max_version = TLS1_1_VERSION,
				.ciphers = "DEFAULT:@SECLEVEL=0"};

	client_fails(&o, "protocol_version", SSL_AD_PROTOCOL_VERSION);
}

Test(tls_hs, cbc_only_client_is_refused)
{
	struct client_opts o = {.max_version = TLS1_2_VERSION,
				.ciphers = "ECDHE-ECDSA-AES128-SHA:"
					   "ECDHE-RSA-AES128-SHA256"};

	client_fails(&o, "no_shared_cipher", SSL_AD_HANDSHAKE_FAILURE);
}

Test(tls_hs, non_ecdhe_client_is_refused)
{
	struct client_opts o = {.max_version = TLS1_2_VERSION,
				.ciphers = "AES128-GCM-SHA256"};

	client_fails(&o, "no_shared_cipher", SSL_AD_HANDSHAKE_FAILURE);
}

/* SNI picked the RSA certificate, the client only does ECDSA. */
Test(tls_hs, sni_certificate_without_a_common_suite)
{
	struct client_opts o = {.max_version = TLS1_2_VERSION,
				.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256",
				.sni = "b.test"};

	client_fails(&o, "no_shared_cipher", SSL_AD_HANDSHAKE_FAILURE);
}

/* The client rejects our certificate and says so. */
Test(tls_hs, client_alert)
{
	struct client_opts o = {.verify = true, .sni = "a.test"};

	client_fails(&o, "peer_alert", -1);
}

/* A flipped bit in the client's Finished record. */
static void tampered_finished(int max_version)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct client_opts o = {.max_version = max_version, .sni = "a.test"};
	struct conn *k = calloc(1, sizeof(*k));
	uint8_t buf[8192];
	size_t n;

	memset(k, 0, sizeof(*k));
	client_new(&k->cl, &o);
	k->hs = hg_tls_hs_new(s);
	k->st = HG_TLS_HS_CONTINUE;
	cr_assert_eq(SSL_do_handshake(k->cl.ssl), -1);
	n = client_take(&k->cl, buf, sizeof(buf));
	feed(k, buf, n, 0);
	cr_assert_eq(k->st, HG_TLS_HS_CONTINUE);
	pass_out(k);
	SSL_do_handshake(k->cl.ssl);
	n = client_take(&k->cl, buf, sizeof(buf));
	cr_assert_gt(n, 20);
	buf[n - 1] ^= 1; /* the last record is the Finished */
	feed(k, buf, n, 0);
	cr_assert_eq(k->st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(k->hs), "decrypt_error");
	cr_assert_gt(k->out.len, k->out_given, "no alert");
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

Test(tls_hs, tls13_tampered_finished)
{
	tampered_finished(TLS1_3_VERSION);
}

Test(tls_hs, tls12_tampered_finished)
{
	tampered_finished(TLS1_2_VERSION);
}

/* ---- configuration errors ---- */

static void expect_cfg_error(const struct hg_tls_config *c, const char *n1,
			     const char *n2)
{
	char err[512] = "";
	struct hg_tls_server *s = hg_tls_server_new(c, err, sizeof(err));

	cr_assert_null(s, "accepted (wanted an error naming %s)", n1);
	cr_assert(strstr(err, n1) != NULL, "error \"%s\" lacks \"%s\"", err,
		  n1);
	if (n2 != NULL)
		cr_assert(strstr(err, n2) != NULL, "error \"%s\" lacks \"%s\"",
			  err, n2);
}

Test(tls_hs, config_missing_file)
{
	struct hg_tls_config c = base_cfg();

	snprintf(c.certs[1].cert, sizeof(c.certs[1].cert), "%s/nope.crt", dir);
	expect_cfg_error(&c, "certs[1].cert", "nope.crt");
	c = base_cfg();
	snprintf(c.certs[0].key, sizeof(c.certs[0].key), "%s/nope.key", dir);
	expect_cfg_error(&c, "certs[0].key", "No such file");
}

Test(tls_hs, config_key_does_not_match)
{
	struct hg_tls_config c = base_cfg();

	snprintf(c.certs[1].key, sizeof(c.certs[1].key), "%s", other_key);
	expect_cfg_error(&c, "certs[1].key", "does not match");
	c = base_cfg();
	snprintf(c.certs[0].key, sizeof(c.certs[0].key), "%s", a_cert);
	expect_cfg_error(&c, "certs[0].key", "private key");
	c = base_cfg();
	snprintf(c.certs[0].cert, sizeof(c.certs[0].cert), "%s", a_key);
	expect_cfg_error(&c, "certs[0].cert", "no PEM certificate");
	c = base_cfg();
	c.n_certs = 0;
	expect_cfg_error(&c, "certs", NULL);
}

Test(tls_hs, config_suites_aead_only)
{
	struct hg_tls_config c = base_cfg();
	struct hg_tls_server *s;
	char err[512];

	snprintf(c.ciphersuites, sizeof(c.ciphersuites),
		 "TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256");
	expect_cfg_error(&c, "ciphersuites", "TLS_AES_128_CCM_SHA256");
	c = base_cfg();
	snprintf(c.ciphersuites, sizeof(c.ciphersuites), "TLS_NOPE");
	expect_cfg_error(&c, "ciphersuites", "TLS_NOPE");
	c = base_cfg();
	snprintf(c.ciphers, sizeof(c.ciphers),
		 "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA");
	expect_cfg_error(&c, "ciphers", "ECDHE-RSA-AES128-SHA");
	c = base_cfg();
	snprintf(c.ciphers, sizeof(c.ciphers), "AES128-GCM-SHA256");
	expect_cfg_error(&c, "ciphers", "AES128-GCM-SHA256");
	c = base_cfg();
	snprintf(c.ciphers, sizeof(c.ciphers), "HIGH");
	expect_cfg_error(&c, "ciphers", "not allowed");
	c = base_cfg();
	snprintf(c.ciphers, sizeof(c.ciphers),
		 "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA257");
	expect_cfg_error(&c, "ciphers", "ECDHE-RSA-AES128-GCM-SHA257");

	/* an expression that only selects allowed suites is fine */
	c = base_cfg();
	snprintf(c.ciphers, sizeof(c.ciphers), "ECDHE+AESGCM:!aNULL");
	snprintf(c.ciphersuites, sizeof(c.ciphersuites),
		 "TLS_CHACHA20_POLY1305_SHA256");
	s = hg_tls_server_new(&c, err, sizeof(err));
	cr_assert_not_null(s, "%s", err);
	hg_tls_server_free(s);
}

Test(tls_hs, config_other_fields)
{
	struct hg_tls_config c = base_cfg();

	c.min_version = 0x0302;
	expect_cfg_error(&c, "min_version", NULL);
	c = base_cfg();
	c.min_version = HG_TLS_V13;
	c.max_version = HG_TLS_V12;
	expect_cfg_error(&c, "min_version", NULL);
	c = base_cfg();
	snprintf(c.groups, sizeof(c.groups), "X25519:P-999");
	expect_cfg_error(&c, "groups", "P-999");
	c = base_cfg();
	snprintf(c.alpn, sizeof(c.alpn), "h2,,http/1.1");
	expect_cfg_error(&c, "alpn", NULL);
	c = base_cfg();
	snprintf(c.alpn, sizeof(c.alpn), "h2,");
	expect_cfg_error(&c, "alpn", NULL);
}

Test(tls_hs, config_small_rsa_key)
{
	struct hg_tls_config c = base_cfg();
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	char crt[128], key[128];

	make_cert(crt, key, "small", k, "small.test", "DNS:small.test");
	snprintf(c.certs[1].cert, sizeof(c.certs[1].cert), "%s", crt);
	snprintf(c.certs[1].key, sizeof(c.certs[1].key), "%s", key);
	expect_cfg_error(&c, "certs[1].key", "1024");
	unlink(crt);
	unlink(key);
}

/* TLS 1.3 only: a TLS 1.2 client is refused; a 1.3 client works. */
Test(tls_hs, tls13_only_server)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s;
	struct client_opts o12 = {.max_version = TLS1_2_VERSION};
	struct client_opts o13 = {0};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;

	cfg.min_version = HG_TLS_V13;
	s = server_of(&cfg);
	run(k, s, &o12, 0, false);
	cr_assert_eq(k->st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(k->hs), "protocol_version");
	conn_free(k);
	run(k, s, &o13, 0, false);
	expect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

/* ---- fuzz seeds ---- */

static void write_seed(const char *name, const uint8_t *p, size_t n)
{
	const char *d = getenv("HG_TLS_SEED_DIR");
	char path[512];
	FILE *f;

	if (d == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", d, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

/* The first flights of a few clients, each one a valid ClientHello. */
Test(tls_hs, client_hello_seeds)
{
	struct hg_tls_config cfg = base_cfg();
	struct hg_tls_server *s = server_of(&cfg);
	struct client_opts o13 = {.sni = "a.test", .alpn = "h2,http/1.1"};
	struct client_opts o12 = {.max_version = TLS1_2_VERSION,
				  .sni = "b.test"};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;

	run(k, s, &o13, 0, false);
	expect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	cr_assert_eq(k->first_flight[0], 22);
	write_seed("client_hello_tls13", k->first_flight, k->first_flight_len);
	conn_free(k);
	run(k, s, &o12, 0, false);
	expect_done(k, HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, &keys);
	write_seed("client_hello_tls12", k->first_flight, k->first_flight_len);
	conn_free(k);
	free(k);
	hg_tls_server_free(s);
}

/* Two certificates for one name, ECDSA and RSA: the connection gets both,
 * and OpenSSL picks by what the client can use. */
static void key_type_case(struct hg_tls_server *s, int max_version,
			  const char *ciphers, uint16_t version,
			  uint8_t cipher, const char *want_type)
{
	struct client_opts o = {.sni = "a.test", .max_version = max_version,
				.ciphers = ciphers};
	struct conn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;
	X509 *peer;

	run(k, s, &o, 0, false);
	expect_done(k, version, cipher, &keys);
	peer = SSL_get0_peer_certificate(k->cl.ssl);
	cr_assert_not_null(peer);
	cr_assert_eq(X509_check_host(peer, "a.test", 0, 0, NULL), 1);
	cr_assert(EVP_PKEY_is_a(X509_get0_pubkey(peer), want_type),
		  "%s: wanted a %s certificate", ciphers, want_type);
	check_keys(k, &keys);
	conn_free(k);
	free(k);
}

Test(tls_hs, ecdsa_and_rsa_for_one_name)
{
	struct hg_tls_config cfg = base_cfg();
	char cert[128], key[128];
	struct hg_tls_server *s;

	make_cert(cert, key, "a-rsa",
		  EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048), "a.test",
		  "DNS:a.test");
	snprintf(cfg.certs[1].cert, sizeof(cfg.certs[1].cert), "%s", cert);
	snprintf(cfg.certs[1].key, sizeof(cfg.certs[1].key), "%s", key);
	s = server_of(&cfg);
	key_type_case(s, TLS1_2_VERSION, "ECDHE-RSA-AES128-GCM-SHA256",
		      HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, "RSA");
	key_type_case(s, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256",
		      HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, "EC");
	/* Both offered: the server's order (ECDSA first) wins. */
	key_type_case(s, TLS1_2_VERSION,
		      "ECDHE-RSA-AES128-GCM-SHA256:"
		      "ECDHE-ECDSA-AES128-GCM-SHA256",
		      HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, "EC");
	key_type_case(s, 0, NULL, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, "EC");
	hg_tls_server_free(s);
	unlink(cert);
	unlink(key);
}
