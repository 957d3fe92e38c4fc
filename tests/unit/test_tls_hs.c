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
			  const char *ciphers, uint16_t version, uint8_t cipher,
			  const char *want_type)
{
	struct client_opts o = {
	    .sni = "a.test", .max_version = max_version, .ciphers = ciphers};
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

/* ==== the client role: our engine against an OpenSSL server ==== */

/* A CA, another one, and backend certificates the first one signed:
 * ECDSA and RSA for backend.test, *.wild.test and 127.0.0.1, and an
 * expired ECDSA one. The CAs go to files (the client loads files), the
 * rest stays in memory for the OpenSSL server. */
static char ca_file[128], other_ca_file[128], empty_file[128];
static X509 *be_ec, *be_rsa, *be_old;
static EVP_PKEY *be_ec_key, *be_rsa_key, *be_old_key;

static X509 *ca_signed(EVP_PKEY *key, EVP_PKEY *ca_key, X509 *ca,
		       const char *cn, const char *san, bool is_ca,
		       long not_after)
{
	static long serial = 1000;
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v;
	const char *ext[2][2] = {
	    {"basicConstraints", is_ca ? "critical,CA:TRUE" : "CA:FALSE"},
	    {"keyUsage", is_ca ? "critical,keyCertSign,cRLSign"
			       : "critical,digitalSignature,keyEncipherment"},
	};

	cr_assert_not_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -7200);
	X509_gmtime_adj(X509_getm_notAfter(x), not_after);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca != NULL ? X509_get_subject_name(ca) : name);
	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, ca != NULL ? ca : x, x, NULL, NULL, 0);
	for (int i = 0; i < 2 + (san != NULL); i++) {
		X509_EXTENSION *e =
		    i < 2 ? X509V3_EXT_conf(NULL, &v, ext[i][0], ext[i][1])
			  : X509V3_EXT_conf_nid(NULL, &v, NID_subject_alt_name,
						san);

		cr_assert_not_null(e);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
	}
	cr_assert(X509_sign(x, ca_key != NULL ? ca_key : key, EVP_sha256()) >
		  0);
	return x;
}

static void write_cert(const char *path, X509 *x)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert(PEM_write_X509(f, x));
	fclose(f);
}

static void backend_pki(void)
{
	static const char san[] = "DNS:backend.test,DNS:*.wild.test,"
				  "IP:127.0.0.1";
	EVP_PKEY *ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *ca2_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *ca = ca_signed(ca_key, NULL, NULL, "test CA", NULL, true, 86400);
	X509 *other =
	    ca_signed(ca2_key, NULL, NULL, "other CA", NULL, true, 86400);
	FILE *f;

	snprintf(ca_file, sizeof(ca_file), "%s/ca.crt", dir);
	snprintf(other_ca_file, sizeof(other_ca_file), "%s/other_ca.crt", dir);
	snprintf(empty_file, sizeof(empty_file), "%s/empty.crt", dir);
	write_cert(ca_file, ca);
	write_cert(other_ca_file, other);
	f = fopen(empty_file, "w");
	cr_assert_not_null(f);
	fputs("not a certificate\n", f);
	fclose(f);
	be_ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	be_rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	be_old_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	be_ec = ca_signed(be_ec_key, ca_key, ca, "backend", san, false, 86400);
	be_rsa =
	    ca_signed(be_rsa_key, ca_key, ca, "backend", san, false, 86400);
	be_old =
	    ca_signed(be_old_key, ca_key, ca, "backend", san, false, -3600);
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(ca2_key);
}

static void backend_pki_free(void)
{
	X509_free(be_ec);
	X509_free(be_rsa);
	X509_free(be_old);
	EVP_PKEY_free(be_ec_key);
	EVP_PKEY_free(be_rsa_key);
	EVP_PKEY_free(be_old_key);
	unlink(ca_file);
	unlink(other_ca_file);
	unlink(empty_file);
}

/* ---- the backend: an OpenSSL server ---- */

struct backend_opts {
	int min_version, max_version; /* 0: TLS 1.2 / 1.3 */
	const char *suites, *ciphers; /* NULL: OpenSSL's */
	const char *groups;
	bool rsa, expired;
	const char *alpn; /* what it speaks, comma list */
	bool no_tickets;  /* TLS 1.2 resumption by session id then */
};

struct backend {
	SSL_CTX *ctx;
	struct backend_opts o;
	char sni[256];		/* what the last ClientHello named */
	char alpn_offered[256]; /* comma list */
};

static int backend_on_sni(SSL *ssl, int *alert, void *arg)
{
	struct backend *b = arg;
	const char *n = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

	(void)alert;
	snprintf(b->sni, sizeof(b->sni), "%s", n != NULL ? n : "");
	return SSL_TLSEXT_ERR_OK;
}

static int backend_on_alpn(SSL *ssl, const unsigned char **out,
			   unsigned char *outlen, const unsigned char *in,
			   unsigned int inlen, void *arg)
{
	struct backend *b = arg;
	size_t n = 0;

	(void)ssl;
	for (unsigned i = 0; i < inlen; i += 1 + in[i]) {
		n += (size_t)snprintf(
		    b->alpn_offered + n, sizeof(b->alpn_offered) - n, "%s%.*s",
		    n ? "," : "", in[i], (const char *)in + i + 1);
	}
	/* the first of ours the client offers */
	for (const char *p = b->o.alpn; p != NULL && *p != '\0';) {
		const char *e = strchr(p, ',');
		size_t l = e ? (size_t)(e - p) : strlen(p);

		for (unsigned i = 0; i < inlen; i += 1 + in[i])
			if (in[i] == l && memcmp(in + i + 1, p, l) == 0) {
				*out = in + i + 1;
				*outlen = (unsigned char)l;
				return SSL_TLSEXT_ERR_OK;
			}
		p += l + (e ? 1 : 0);
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static struct backend *backend_new(const struct backend_opts *o)
{
	struct backend *b = calloc(1, sizeof(*b));
	X509 *x = o->expired ? be_old : o->rsa ? be_rsa : be_ec;
	EVP_PKEY *k = o->expired ? be_old_key : o->rsa ? be_rsa_key : be_ec_key;

	cr_assert_not_null(b);
	b->o = *o;
	b->ctx = SSL_CTX_new(TLS_server_method());
	cr_assert_not_null(b->ctx);
	cr_assert(SSL_CTX_set_min_proto_version(
	    b->ctx, o->min_version ? o->min_version : TLS1_2_VERSION));
	cr_assert(SSL_CTX_set_max_proto_version(
	    b->ctx, o->max_version ? o->max_version : TLS1_3_VERSION));
	if (o->suites != NULL)
		cr_assert(SSL_CTX_set_ciphersuites(b->ctx, o->suites));
	if (o->ciphers != NULL)
		cr_assert(SSL_CTX_set_cipher_list(b->ctx, o->ciphers));
	if (o->groups != NULL)
		cr_assert(SSL_CTX_set1_groups_list(b->ctx, o->groups));
	cr_assert_eq(SSL_CTX_use_certificate(b->ctx, x), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(b->ctx, k), 1);
	SSL_CTX_set_session_id_context(b->ctx, (const unsigned char *)"be", 2);
	if (o->no_tickets)
		SSL_CTX_set_options(b->ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_tlsext_servername_callback(b->ctx, backend_on_sni);
	SSL_CTX_set_tlsext_servername_arg(b->ctx, b);
	SSL_CTX_set_alpn_select_cb(b->ctx, backend_on_alpn, b);
	return b;
}

static void backend_free(struct backend *b)
{
	SSL_CTX_free(b->ctx);
	free(b);
}

/* ---- our client ---- */

static struct hg_tls_backend_opts backend_tls(void)
{
	struct hg_tls_backend_opts o;

	hg_tls_backend_opts_default(&o);
	snprintf(o.ca, sizeof(o.ca), "%s", ca_file);
	snprintf(o.server_name, sizeof(o.server_name), "backend.test");
	return o;
}

static struct hg_tls_client *client_of(const struct hg_tls_backend_opts *o)
{
	char err[512] = "";
	struct hg_tls_client *c = hg_tls_client_new(o, err, sizeof(err));

	cr_assert_not_null(c, "hg_tls_client_new: %s", err);
	return c;
}

/* ---- one backend connection ---- */

enum early { EARLY_NONE, EARLY_12, EARLY_13 };

struct bconn {
	SSL *srv;
	BIO *s_in, *s_out; /* the server's rbio and wbio */
	struct hg_tls_hs *hs;
	struct hg_tls_out out; /* everything the engine wrote, kept */
	size_t out_given;      /* of which the server got this much */
	enum hg_tls_hs_status st;
	uint8_t stream[64 * 1024]; /* every server byte fed to the engine */
	size_t stream_len;
	size_t app_len; /* application data fed with the server's Finished */
	uint8_t first_flight[8192];
	size_t first_flight_len;
	bool srv_done; /* the server's handshake returned 1 */
};

static void bfeed(struct bconn *k, const uint8_t *p, size_t n, size_t split)
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

static void to_server(struct bconn *k)
{
	size_t n = k->out.len - k->out_given;

	if (n > 0)
		cr_assert_eq(
		    BIO_write(k->s_in, k->out.data + k->out_given, (int)n),
		    (int)n);
	k->out_given = k->out.len;
}

static size_t from_server(struct bconn *k, uint8_t *buf, size_t cap)
{
	size_t n = BIO_ctrl_pending(k->s_out);

	cr_assert_leq(n, cap);
	if (n > 0)
		cr_assert_eq(BIO_read(k->s_out, buf, (int)n), (int)n);
	return n;
}

static const char half_rtt_msg[] = "data behind the server's Finished";

/* Runs our client against the backend to DONE or FAILED. split: bytes
 * per input call (0: all at once). early: the server writes application
 * data right behind its Finished, in the same input call (TLS 1.3:
 * 0.5-RTT data before our Finished; TLS 1.2: after a full handshake). */
static void brun(struct bconn *k, struct backend *b, struct hg_tls_client *c,
		 const char *ip, uint16_t port, size_t split, enum early early)
{
	uint8_t buf[32 * 1024];
	int round;

	memset(k, 0, sizeof(*k));
	k->srv = SSL_new(b->ctx);
	k->s_in = BIO_new(BIO_s_mem());
	k->s_out = BIO_new(BIO_s_mem());
	cr_assert(k->srv && k->s_in && k->s_out);
	SSL_set_bio(k->srv, k->s_in, k->s_out);
	SSL_set_accept_state(k->srv);
	b->sni[0] = b->alpn_offered[0] = '\0';
	k->hs = hg_tls_hs_new_client(c, ip, port, &k->out);
	cr_assert_not_null(k->hs);
	cr_assert_gt(k->out.len, 5);
	cr_assert_eq(k->out.data[0], 22, "a ClientHello comes out at once");
	k->st = HG_TLS_HS_CONTINUE;
	for (round = 0; round < 10 && k->st == HG_TLS_HS_CONTINUE; round++) {
		bool half_rtt = false;
		size_t n;

		to_server(k);
		if (early == EARLY_13 && round == 0) {
			char junk[16];
			size_t rd = 0;

			cr_assert_eq(SSL_read_early_data(k->srv, junk,
							 sizeof(junk), &rd),
				     SSL_READ_EARLY_DATA_FINISH);
			half_rtt = true;
		} else if (!k->srv_done) {
			int r = SSL_do_handshake(k->srv);

			if (r == 1)
				k->srv_done = true;
			else if (SSL_get_error(k->srv, r) !=
				 SSL_ERROR_WANT_READ)
				round = 10; /* its alert still goes */
		}
		n = from_server(k, buf, sizeof(buf));
		if (round == 0) {
			cr_assert_leq(n, sizeof(k->first_flight));
			memcpy(k->first_flight, buf, n);
			k->first_flight_len = n;
		}
		if ((half_rtt || (early == EARLY_12 && k->srv_done)) && n > 0) {
			size_t before = n, w = 0;

			if (half_rtt)
				cr_assert_eq(SSL_write_early_data(
						 k->srv, half_rtt_msg,
						 sizeof(half_rtt_msg), &w),
					     1);
			else
				cr_assert_eq(SSL_write(k->srv, half_rtt_msg,
						       sizeof(half_rtt_msg)),
					     (int)sizeof(half_rtt_msg));
			n += from_server(k, buf + n, sizeof(buf) - n);
			k->app_len = n - before;
			early = EARLY_NONE;
		}
		if (n == 0)
			break;
		bfeed(k, buf, n, split);
	}
	to_server(k); /* our Finished, or an alert */
	if (k->st == HG_TLS_HS_DONE && !k->srv_done) {
		/* TLS 1.3, TLS 1.2 abbreviated: the server reads our
		 * Finished now (and a TLS 1.3 one writes its tickets) */
		cr_assert_eq(SSL_do_handshake(k->srv), 1, "server: %s",
			     ERR_reason_error_string(ERR_peek_last_error()));
		k->srv_done = true;
	}
}

static void bconn_free(struct bconn *k)
{
	hg_tls_hs_free(k->hs);
	hg_tls_out_free(&k->out);
	SSL_set_shutdown(k->srv, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	SSL_free(k->srv);
}

/* ---- records, as the data plane sees them ---- */

/* Opens any record under d at seq into pt; *type gets the content type
 * (TLS 1.3: the inner one). Returns the content length, -1 on a bad
 * tag. */
static long open_typed(const struct hg_tls_keys *k, const struct hg_tls_dir *d,
		       uint64_t seq, const uint8_t *rec, size_t len,
		       uint8_t *pt, size_t cap, uint8_t *type)
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

	cr_assert_eq(len, 5 + body);
	cr_assert_gt(body, expl + 16);
	ct_len = body - expl - 16;
	cr_assert_lt(ct_len, cap);
	nonce_aad(k, d, seq, ct_len, body, rec + 5, nonce, aad, &aad_len);
	if (k->version == HG_TLS_V12)
		aad[8] = rec[0];
	cr_assert(
	    EVP_DecryptInit_ex2(c, evp_of(k->cipher), d->key, nonce, NULL));
	cr_assert(EVP_DecryptUpdate(c, NULL, &outl, aad, (int)aad_len));
	cr_assert(EVP_DecryptUpdate(c, pt, &outl, rec + 5 + expl, (int)ct_len));
	cr_assert(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, 16,
				      (void *)(rec + 5 + expl + ct_len)));
	ok = EVP_DecryptFinal_ex(c, pt + outl, &outl);
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	if (ok != 1)
		return -1;
	n = (long)ct_len;
	*type = rec[0];
	if (k->version == HG_TLS_V13) {
		while (n > 0 && pt[n - 1] == 0)
			n--;
		cr_assert_gt(n, 0);
		*type = pt[--n];
	}
	return n;
}

/* Opens the server's records in wire[0..n) under rx from rx->seq on, as
 * the data plane would: TLS 1.3 NewSessionTickets are counted and
 * skipped; the application data must be `want`. Returns the tickets. */
static unsigned open_server_records(struct hg_tls_keys *keys,
				    const uint8_t *wire, size_t n,
				    const char *want)
{
	unsigned tickets = 0, data = 0;
	size_t off = 0;

	while (off < n) {
		size_t len = 5 + ((size_t)wire[off + 3] << 8 | wire[off + 4]);
		uint8_t pt[1024], type;
		long m;

		cr_assert_leq(off + len, n);
		m = open_typed(keys, &keys->rx, keys->rx.seq, wire + off, len,
			       pt, sizeof(pt), &type);
		cr_assert_geq(m, 0, "rx record does not open at seq %llu",
			      (unsigned long long)keys->rx.seq);
		keys->rx.seq++;
		if (type == 22) {
			cr_assert_eq(keys->version, HG_TLS_V13);
			cr_assert_eq(pt[0], 4, "handshake type %u", pt[0]);
			tickets++;
		} else {
			cr_assert_eq(type, 23);
			cr_assert_eq((size_t)m, strlen(want) + 1);
			cr_assert_str_eq((char *)pt, want);
			data++;
		}
		off += len;
	}
	cr_assert_eq(data, 1);
	return tickets;
}

/* Both ways under the keys our client was handed, twice each. Returns
 * the NewSessionTickets skipped on the way. */
static unsigned bcheck_keys(struct bconn *k, struct hg_tls_keys *keys)
{
	static const char *const down[] = {"pong from the backend", "more"};
	static const char *const up[] = {"ping from the gateway", "again"};
	unsigned tickets = 0;
	uint8_t wire[8192];
	char pt[512];

	for (int i = 0; i < 2; i++) {
		size_t n;

		cr_assert_eq(
		    SSL_write(k->srv, down[i], (int)strlen(down[i]) + 1),
		    (int)strlen(down[i]) + 1);
		n = from_server(k, wire, sizeof(wire));
		tickets += open_server_records(keys, wire, n, down[i]);

		n = seal(keys, &keys->tx, keys->tx.seq, up[i], wire);
		cr_assert_eq(BIO_write(k->s_in, wire, (int)n), (int)n);
		memset(pt, 0, sizeof(pt));
		cr_assert_eq(SSL_read(k->srv, pt, sizeof(pt) - 1),
			     (int)strlen(up[i]),
			     "server SSL_read failed: tx seq %llu wrong? (%s)",
			     (unsigned long long)keys->tx.seq,
			     ERR_reason_error_string(ERR_peek_last_error()));
		cr_assert_str_eq(pt, up[i]);
		keys->tx.seq++;
	}
	return tickets;
}

static void bexpect_done(struct bconn *k, uint16_t version, uint8_t cipher,
			 struct hg_tls_keys *keys)
{
	struct hg_tls_keys again;
	const struct hg_tls_hs_info *info;

	cr_assert_eq(k->st, HG_TLS_HS_DONE, "status %d (%s, %s)", k->st,
		     hg_tls_hs_fail_reason(k->hs),
		     hg_tls_hs_fail_detail(k->hs));
	cr_assert(k->srv_done);
	cr_assert_eq(hg_tls_hs_consumed(k->hs), k->stream_len - k->app_len);
	cr_assert_eq(hg_tls_hs_keys(k->hs, keys), 0);
	cr_assert_eq(hg_tls_hs_keys(k->hs, &again), -1, "keys given twice");
	cr_assert(all_zero((const uint8_t *)&again, sizeof(again)));
	cr_assert_eq(keys->version, version);
	cr_assert_eq(keys->cipher, cipher);
	cr_assert_eq(SSL_version(k->srv), version);
	info = hg_tls_hs_info(k->hs);
	cr_assert_eq(info->version, version);
	cr_assert_eq(info->cipher, cipher);
	cr_assert_str_eq(info->cipher_name,
			 SSL_CIPHER_get_name(SSL_get_current_cipher(k->srv)));
	cr_assert_eq(info->resumed, SSL_session_reused(k->srv) == 1);
	if (version == HG_TLS_V13) {
		cr_assert(!all_zero(keys->rx.secret, hg_tls_hash_len(cipher)));
		cr_assert(!all_zero(keys->tx.secret, hg_tls_hash_len(cipher)));
		cr_assert_neq(memcmp(keys->rx.secret, keys->tx.secret,
				     hg_tls_hash_len(cipher)),
			      0);
		cr_assert_eq(keys->rx.seq, 0);
		cr_assert_eq(keys->tx.seq, 0);
	} else {
		cr_assert(all_zero(keys->rx.secret, sizeof(keys->rx.secret)));
		cr_assert(all_zero(keys->tx.secret, sizeof(keys->tx.secret)));
		cr_assert_eq(keys->rx.seq, 1);
		cr_assert_eq(keys->tx.seq, 1);
	}
	cr_assert(!all_zero(keys->rx.key, hg_tls_key_len(cipher)));
	cr_assert(!all_zero(keys->tx.key, hg_tls_key_len(cipher)));
	cr_assert_neq(
	    memcmp(keys->rx.key, keys->tx.key, hg_tls_key_len(cipher)), 0);
}

/* A full handshake to 127.0.0.1:443 with these settings, checked both
 * ways. Returns the NewSessionTickets skipped. */
static unsigned client_case(const struct backend_opts *bo,
			    const struct hg_tls_backend_opts *co,
			    uint16_t version, uint8_t cipher, size_t split)
{
	struct backend *b = backend_new(bo);
	struct hg_tls_client *c = client_of(co);
	struct bconn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;
	unsigned tickets;

	brun(k, b, c, "127.0.0.1", 443, split, EARLY_NONE);
	bexpect_done(k, version, cipher, &keys);
	cr_assert_not(hg_tls_hs_info(k->hs)->resumed);
	tickets = bcheck_keys(k, &keys);
	if (version == HG_TLS_V13)
		cr_assert_eq(tickets, 2, "OpenSSL's two tickets, skipped");
	bconn_free(k);
	free(k);
	hg_tls_client_free(c);
	backend_free(b);
	return tickets;
}

static void client_init(void)
{
	setup();
	backend_pki();
}

static void client_fini(void)
{
	backend_pki_free();
	teardown();
}

TestSuite(tls_client, .init = client_init, .fini = client_fini);

/* ---- suites, both versions ---- */

Test(tls_client, tls13_aes128gcm)
{
	struct backend_opts bo = {.suites = "TLS_AES_128_GCM_SHA256"};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo, &co, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, 0);
}

Test(tls_client, tls13_aes256gcm_rsa)
{
	struct backend_opts bo = {.suites = "TLS_AES_256_GCM_SHA384",
				  .rsa = true};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo, &co, HG_TLS_V13, HG_TLS_AES_256_GCM_SHA384, 0);
}

Test(tls_client, tls13_chacha20)
{
	struct backend_opts bo = {.suites = "TLS_CHACHA20_POLY1305_SHA256"};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo, &co, HG_TLS_V13, HG_TLS_CHACHA20_POLY1305_SHA256, 0);
}

/* Ours offered in the configured order; the backend picks. */
Test(tls_client, tls13_configured_suites)
{
	struct backend_opts bo = {0};
	struct hg_tls_backend_opts co = backend_tls();

	snprintf(co.ciphersuites, sizeof(co.ciphersuites),
		 "TLS_AES_256_GCM_SHA384");
	client_case(&bo, &co, HG_TLS_V13, HG_TLS_AES_256_GCM_SHA384, 0);
}

Test(tls_client, tls12_ecdsa_aes128gcm)
{
	struct backend_opts bo = {.max_version = TLS1_2_VERSION,
				  .ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256"};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo, &co, HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, 0);
}

Test(tls_client, tls12_rsa_aes256gcm)
{
	struct backend_opts bo = {.max_version = TLS1_2_VERSION,
				  .ciphers = "ECDHE-RSA-AES256-GCM-SHA384",
				  .rsa = true};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo, &co, HG_TLS_V12, HG_TLS_AES_256_GCM_SHA384, 0);
}

Test(tls_client, tls12_ecdsa_chacha20)
{
	struct backend_opts bo = {.max_version = TLS1_2_VERSION,
				  .ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305"};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo, &co, HG_TLS_V12, HG_TLS_CHACHA20_POLY1305_SHA256, 0);
}

Test(tls_client, tls12_rsa_chacha20)
{
	struct backend_opts bo = {.max_version = TLS1_2_VERSION,
				  .ciphers = "ECDHE-RSA-CHACHA20-POLY1305",
				  .rsa = true};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo, &co, HG_TLS_V12, HG_TLS_CHACHA20_POLY1305_SHA256, 0);
}

/* Our max_version caps what a TLS 1.3 backend gets. */
Test(tls_client, tls12_by_our_max_version)
{
	struct backend_opts bo = {0};
	struct hg_tls_backend_opts co = backend_tls();

	co.max_version = HG_TLS_V12;
	client_case(&bo, &co, HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, 0);
}

Test(tls_client, byte_by_byte)
{
	struct backend_opts bo13 = {0};
	struct backend_opts bo12 = {.max_version = TLS1_2_VERSION};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo13, &co, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, 1);
	client_case(&bo12, &co, HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256, 1);
	client_case(&bo13, &co, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, 7);
}

/* The backend wants a P-384 key share: it asks again. */
Test(tls_client, tls13_hello_retry_request)
{
	struct backend_opts bo = {.groups = "P-384"};
	struct hg_tls_backend_opts co = backend_tls();

	client_case(&bo, &co, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, 0);
}

/* ---- data right behind the server's Finished ---- */

static void early_case(const struct backend_opts *bo, enum early early,
		       uint16_t version)
{
	struct backend *b = backend_new(bo);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);
	struct bconn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;
	uint64_t used;
	unsigned tickets;

	brun(k, b, c, "127.0.0.1", 443, 0, early);
	bexpect_done(k, version, HG_TLS_AES_128_GCM_SHA256, &keys);
	used = hg_tls_hs_consumed(k->hs);
	cr_assert_gt(k->app_len, 0);
	cr_assert_eq(used + k->app_len, k->stream_len,
		     "the engine stopped at the server's Finished");
	cr_assert_eq(open_server_records(&keys, k->stream + used, k->app_len,
					 half_rtt_msg),
		     0);
	tickets = bcheck_keys(k, &keys); /* TLS 1.3: the tickets came now */
	cr_assert_eq(tickets, version == HG_TLS_V13 ? 2 : 0);
	bconn_free(k);
	free(k);
	hg_tls_client_free(c);
	backend_free(b);
}

Test(tls_client, tls13_half_rtt_data_with_finished)
{
	struct backend_opts bo = {0};

	early_case(&bo, EARLY_13, HG_TLS_V13);
}

Test(tls_client, tls12_data_with_finished)
{
	struct backend_opts bo = {.max_version = TLS1_2_VERSION};

	early_case(&bo, EARLY_12, HG_TLS_V12);
}

/* ---- names: SNI, verification ---- */

static struct bconn *bconn_run(struct backend *b, struct hg_tls_client *c,
			       const char *ip)
{
	struct bconn *k = calloc(1, sizeof(*k));

	brun(k, b, c, ip, 443, 0, EARLY_NONE);
	return k;
}

static void bconn_done(struct bconn *k)
{
	bconn_free(k);
	free(k);
}

/* Verification fails: bad_certificate with OpenSSL's words, and the
 * server got our alert. */
static void expect_bad_certificate(struct bconn *k, const char *detail,
				   int alert)
{
	unsigned long e;
	int r;

	cr_assert_eq(k->st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(k->hs), "bad_certificate");
	cr_assert_not_null(hg_tls_hs_fail_detail(k->hs));
	cr_assert(strstr(hg_tls_hs_fail_detail(k->hs), detail) != NULL,
		  "detail \"%s\" lacks \"%s\"", hg_tls_hs_fail_detail(k->hs),
		  detail);
	cr_assert_eq(hg_tls_hs_consumed(k->hs), 0);
	ERR_clear_error();
	r = SSL_do_handshake(k->srv);
	cr_assert_leq(r, 0);
	e = ERR_peek_error();
	cr_assert_eq(ERR_GET_REASON(e), SSL_AD_REASON_OFFSET + alert,
		     "the server got %s", ERR_reason_error_string(e));
	ERR_clear_error();
}

static void verify_cases(int max_version)
{
	struct backend_opts bo = {.max_version = max_version};
	struct backend_opts bo_old = {.max_version = max_version,
				      .expired = true};
	struct backend *b = backend_new(&bo), *b_old = backend_new(&bo_old);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c;
	struct bconn *k;

	/* Another CA. */
	snprintf(co.ca, sizeof(co.ca), "%s", other_ca_file);
	c = client_of(&co);
	k = bconn_run(b, c, "127.0.0.1");
	expect_bad_certificate(k, "local issuer", SSL_AD_UNKNOWN_CA);
	bconn_done(k);
	hg_tls_client_free(c);

	/* Another name. */
	co = backend_tls();
	snprintf(co.server_name, sizeof(co.server_name), "other.test");
	c = client_of(&co);
	k = bconn_run(b, c, "127.0.0.1");
	expect_bad_certificate(k, "hostname mismatch", SSL_AD_BAD_CERTIFICATE);
	cr_assert_str_eq(b->sni, "other.test");
	bconn_done(k);
	hg_tls_client_free(c);

	/* A wildcard covers one label, not two. */
	co = backend_tls();
	snprintf(co.server_name, sizeof(co.server_name), "x.wild.test");
	c = client_of(&co);
	k = bconn_run(b, c, "127.0.0.1");
	cr_assert_eq(k->st, HG_TLS_HS_DONE, "%s: %s",
		     hg_tls_hs_fail_reason(k->hs),
		     hg_tls_hs_fail_detail(k->hs));
	bconn_done(k);
	hg_tls_client_free(c);
	snprintf(co.server_name, sizeof(co.server_name), "y.x.wild.test");
	c = client_of(&co);
	k = bconn_run(b, c, "127.0.0.1");
	expect_bad_certificate(k, "hostname mismatch", SSL_AD_BAD_CERTIFICATE);
	bconn_done(k);
	hg_tls_client_free(c);

	/* Expired. */
	co = backend_tls();
	c = client_of(&co);
	k = bconn_run(b_old, c, "127.0.0.1");
	expect_bad_certificate(k, "expired", SSL_AD_CERTIFICATE_EXPIRED);
	bconn_done(k);

	/* No name: the backend's address is verified, no SNI sent. */
	hg_tls_client_free(c);
	co = backend_tls();
	co.server_name[0] = '\0';
	c = client_of(&co);
	k = bconn_run(b, c, "127.0.0.1");
	cr_assert_eq(k->st, HG_TLS_HS_DONE, "%s: %s",
		     hg_tls_hs_fail_reason(k->hs),
		     hg_tls_hs_fail_detail(k->hs));
	cr_assert_str_eq(b->sni, "", "no SNI without a server_name");
	cr_assert_str_eq(hg_tls_hs_info(k->hs)->sni, "");
	bconn_done(k);
	k = bconn_run(b, c, "127.0.0.2");
	expect_bad_certificate(k, "IP address mismatch",
			       SSL_AD_BAD_CERTIFICATE);
	bconn_done(k);
	hg_tls_client_free(c);

	/* An address as server_name: verified as one, not sent as SNI. */
	snprintf(co.server_name, sizeof(co.server_name), "127.0.0.1");
	c = client_of(&co);
	k = bconn_run(b, c, "10.9.9.9");
	cr_assert_eq(k->st, HG_TLS_HS_DONE, "%s: %s",
		     hg_tls_hs_fail_reason(k->hs),
		     hg_tls_hs_fail_detail(k->hs));
	cr_assert_str_eq(b->sni, "");
	bconn_done(k);
	hg_tls_client_free(c);

	/* Verification off: any certificate, any name, SNI still sent. */
	co = backend_tls();
	snprintf(co.ca, sizeof(co.ca), "%s", other_ca_file);
	snprintf(co.server_name, sizeof(co.server_name), "other.test");
	co.verify = false;
	c = client_of(&co);
	k = bconn_run(b_old, c, NULL);
	cr_assert_eq(k->st, HG_TLS_HS_DONE, "%s", hg_tls_hs_fail_reason(k->hs));
	cr_assert_str_eq(b_old->sni, "other.test");
	bconn_done(k);
	hg_tls_client_free(c);

	backend_free(b);
	backend_free(b_old);
}

Test(tls_client, tls13_verification)
{
	verify_cases(TLS1_3_VERSION);
}

Test(tls_client, tls12_verification)
{
	verify_cases(TLS1_2_VERSION);
}

/* The system's store does not know our test CA. */
Test(tls_client, system_store_does_not_trust_a_private_ca)
{
	struct backend_opts bo = {0};
	struct backend *b = backend_new(&bo);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c;
	struct bconn *k;

	co.ca[0] = '\0';
	c = client_of(&co);
	k = bconn_run(b, c, "127.0.0.1");
	expect_bad_certificate(k, "local issuer", SSL_AD_UNKNOWN_CA);
	bconn_done(k);
	hg_tls_client_free(c);
	backend_free(b);
}

Test(tls_client, sni_and_alpn)
{
	struct backend_opts bo = {.alpn = "http/1.1,h2"};
	struct backend *b = backend_new(&bo);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c;
	struct bconn *k;
	struct hg_tls_keys keys;

	snprintf(co.alpn, sizeof(co.alpn), "h2,http/1.1");
	c = client_of(&co);
	k = bconn_run(b, c, "127.0.0.1");
	bexpect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	cr_assert_str_eq(b->sni, "backend.test");
	cr_assert_str_eq(hg_tls_hs_info(k->hs)->sni, "backend.test");
	cr_assert_str_eq(b->alpn_offered, "h2,http/1.1");
	cr_assert_str_eq(hg_tls_hs_info(k->hs)->alpn, "http/1.1",
			 "the backend's choice");
	bcheck_keys(k, &keys);
	bconn_done(k);
	hg_tls_client_free(c);

	/* No ALPN offered: none negotiated. */
	co.alpn[0] = '\0';
	c = client_of(&co);
	k = bconn_run(b, c, "127.0.0.1");
	bexpect_done(k, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &keys);
	cr_assert_str_eq(b->alpn_offered, "");
	cr_assert_str_eq(hg_tls_hs_info(k->hs)->alpn, "");
	bconn_done(k);
	hg_tls_client_free(c);
	backend_free(b);
}

/* ---- session reuse ---- */

/* A handshake to ip:port: resumed as expected, keys working. */
static void reuse_step(struct backend *b, struct hg_tls_client *c,
		       const char *ip, uint16_t port, uint16_t version,
		       bool want_resumed)
{
	struct bconn *k = calloc(1, sizeof(*k));
	struct hg_tls_keys keys;

	brun(k, b, c, ip, port, 0, EARLY_NONE);
	bexpect_done(k, version, HG_TLS_AES_128_GCM_SHA256, &keys);
	cr_assert_eq(hg_tls_hs_info(k->hs)->resumed, want_resumed,
		     "%s:%u resumed %d", ip, port,
		     hg_tls_hs_info(k->hs)->resumed);
	cr_assert_eq(SSL_session_reused(k->srv), want_resumed);
	bcheck_keys(k, &keys);
	bconn_done(k);
}

static void tls12_reuse(bool server_tickets)
{
	struct backend_opts bo = {.max_version = TLS1_2_VERSION,
				  .no_tickets = !server_tickets};
	struct backend *b = backend_new(&bo);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);

	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, false);
	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, true);
	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, true);
	/* Another backend (port) has no session yet. */
	reuse_step(b, c, "127.0.0.1", 8443, HG_TLS_V12, false);
	reuse_step(b, c, "127.0.0.1", 8443, HG_TLS_V12, true);
	hg_tls_client_free(c);

	co.session_reuse = false;
	c = client_of(&co);
	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, false);
	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, false);
	hg_tls_client_free(c);
	backend_free(b);
}

Test(tls_client, tls12_session_reuse_by_ticket)
{
	tls12_reuse(true);
}

Test(tls_client, tls12_session_reuse_by_id)
{
	tls12_reuse(false);
}

/* A session the backend no longer knows: a full handshake, whose session
 * replaces it. */
Test(tls_client, tls12_session_forgotten_by_backend)
{
	struct backend_opts bo = {.max_version = TLS1_2_VERSION};
	struct backend *b = backend_new(&bo), *b2;
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);

	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, false);
	b2 = backend_new(&bo); /* a restart: new ticket keys, no cache */
	reuse_step(b2, c, "127.0.0.1", 443, HG_TLS_V12, false);
	reuse_step(b2, c, "127.0.0.1", 443, HG_TLS_V12, true);
	hg_tls_client_free(c);
	backend_free(b);
	backend_free(b2);
}

/* TLS 1.3 sessions are not resumed (their tickets go to the data plane,
 * which drops them); every handshake is a full one with right keys. */
Test(tls_client, tls13_no_resumption)
{
	struct backend_opts bo = {0};
	struct backend *b = backend_new(&bo);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);

	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V13, false);
	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V13, false);
	hg_tls_client_free(c);
	backend_free(b);
}

/* A TLS 1.2 session, then the backend moves to TLS 1.3: no resumption,
 * the old session is dropped. */
Test(tls_client, tls12_session_then_tls13_backend)
{
	struct backend_opts bo12 = {.max_version = TLS1_2_VERSION};
	struct backend_opts bo13 = {0};
	struct backend *b12 = backend_new(&bo12), *b13 = backend_new(&bo13);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);

	reuse_step(b12, c, "127.0.0.1", 443, HG_TLS_V12, false);
	reuse_step(b13, c, "127.0.0.1", 443, HG_TLS_V13, false);
	reuse_step(b12, c, "127.0.0.1", 443, HG_TLS_V12, false);
	reuse_step(b12, c, "127.0.0.1", 443, HG_TLS_V12, true);
	hg_tls_client_free(c);
	backend_free(b12);
	backend_free(b13);
}

/* More backends than kept sessions: the least recently used goes. */
Test(tls_client, session_slots_least_recently_used)
{
	struct backend_opts bo = {.max_version = TLS1_2_VERSION};
	struct backend *b = backend_new(&bo);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);
	uint16_t port;

	for (port = 1; port <= HG_TLS_CLIENT_SESSIONS; port++)
		reuse_step(b, c, "127.0.0.1", port, HG_TLS_V12, false);
	reuse_step(b, c, "127.0.0.1", 1, HG_TLS_V12, true); /* 2 is oldest */
	reuse_step(b, c, "127.0.0.1", 1000, HG_TLS_V12, false);
	reuse_step(b, c, "127.0.0.1", 1, HG_TLS_V12, true);
	reuse_step(b, c, "127.0.0.1", 3, HG_TLS_V12, true);
	reuse_step(b, c, "127.0.0.1", 1000, HG_TLS_V12, true);
	reuse_step(b, c, "127.0.0.1", 2, HG_TLS_V12, false);
	hg_tls_client_free(c);
	backend_free(b);
}

/* A failed handshake forgets the backend's session. */
Test(tls_client, failure_drops_the_session)
{
	static const uint8_t fatal[] = {21, 3, 3, 0, 2, 2, 40};
	struct backend_opts bo = {.max_version = TLS1_2_VERSION};
	struct backend *b = backend_new(&bo);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);
	struct hg_tls_out out = {0};
	struct hg_tls_hs *hs;

	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, false);
	hs = hg_tls_hs_new_client(c, "127.0.0.1", 443, &out);
	cr_assert_not_null(hs);
	cr_assert_eq(hg_tls_hs_input(hs, fatal, sizeof(fatal), &out),
		     HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "peer_alert");
	hg_tls_hs_free(hs);
	hg_tls_out_free(&out);
	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, false);
	reuse_step(b, c, "127.0.0.1", 443, HG_TLS_V12, true);
	hg_tls_client_free(c);
	backend_free(b);
}

/* ---- failures ---- */

static struct hg_tls_hs *client_raw(struct hg_tls_client *c, const void *p,
				    size_t n, struct hg_tls_out *out,
				    enum hg_tls_hs_status *st)
{
	struct hg_tls_hs *hs = hg_tls_hs_new_client(c, "127.0.0.1", 443, out);

	cr_assert_not_null(hs);
	*st = hg_tls_hs_input(hs, p, n, out);
	return hs;
}

Test(tls_client, backend_without_tls)
{
	static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
	static const uint8_t ccs_first[] = {20, 3, 3, 0, 1, 1};
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);
	struct hg_tls_out out = {0};
	enum hg_tls_hs_status st;
	struct hg_tls_hs *hs;

	hs = client_raw(c, http, sizeof(http) - 1, &out, &st);
	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "bad_server_hello");
	cr_assert_null(hg_tls_hs_fail_detail(hs));
	hg_tls_hs_free(hs);
	out.len = 0;
	hs = client_raw(c, ccs_first, sizeof(ccs_first), &out, &st);
	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "bad_server_hello");
	hg_tls_hs_free(hs);
	out.len = 0;
	/* A ServerHello cut short. */
	hs = client_raw(c, "\x16\x03\x03\x00\x06\x02\x00\x00\x02\x03\x03", 11,
			&out, &st);
	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "bad_server_hello");
	hg_tls_hs_free(hs);
	out.len = 0;
	/* A handshake record, but a Certificate where the ServerHello
	 * belongs. */
	hs =
	    client_raw(c, "\x16\x03\x03\x00\x04\x0b\x00\x00\x00", 9, &out, &st);
	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "unexpected_message");
	hg_tls_hs_free(hs);
	hg_tls_out_free(&out);
	hg_tls_client_free(c);
}

static void backend_refused(const struct backend_opts *bo,
			    const struct hg_tls_backend_opts *co,
			    const char *reason)
{
	struct backend *b = backend_new(bo);
	struct hg_tls_client *c = client_of(co);
	struct bconn *k = bconn_run(b, c, "127.0.0.1");

	cr_assert_eq(k->st, HG_TLS_HS_FAILED, "status %d", k->st);
	cr_assert_str_eq(hg_tls_hs_fail_reason(k->hs), reason);
	cr_assert_eq(hg_tls_hs_consumed(k->hs), 0);
	bconn_done(k);
	hg_tls_client_free(c);
	backend_free(b);
}

Test(tls_client, versions_and_suites_refused)
{
	struct backend_opts bo13 = {.min_version = TLS1_3_VERSION};
	struct backend_opts bo12 = {.max_version = TLS1_2_VERSION};
	struct backend_opts cbc = {.max_version = TLS1_2_VERSION,
				   .ciphers = "ECDHE-ECDSA-AES128-SHA256"};
	struct backend_opts aes256 = {.suites = "TLS_AES_256_GCM_SHA384"};
	struct hg_tls_backend_opts co = backend_tls();

	/* The backend refuses, with its alert. */
	co.max_version = HG_TLS_V12;
	backend_refused(&bo13, &co, "peer_alert");
	co = backend_tls();
	co.min_version = HG_TLS_V13;
	backend_refused(&bo12, &co, "peer_alert");
	co = backend_tls();
	backend_refused(&cbc, &co, "peer_alert");
	snprintf(co.ciphersuites, sizeof(co.ciphersuites),
		 "TLS_AES_128_GCM_SHA256");
	backend_refused(&aes256, &co, "peer_alert");
}

Test(tls_client, backend_alert_first)
{
	static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 70};
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);
	struct hg_tls_out out = {0};
	enum hg_tls_hs_status st;
	struct hg_tls_hs *hs = client_raw(c, alert, sizeof(alert), &out, &st);

	cr_assert_eq(st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(hs), "peer_alert");
	hg_tls_hs_free(hs);
	hg_tls_out_free(&out);
	hg_tls_client_free(c);
}

/* A flipped bit in the backend's last handshake record: its Finished
 * (TLS 1.2) or under the handshake key (TLS 1.3). */
static void tampered_server_finished(int max_version)
{
	struct backend_opts bo = {.max_version = max_version};
	struct backend *b = backend_new(&bo);
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);
	struct bconn *k = calloc(1, sizeof(*k));
	uint8_t buf[16384];
	size_t n;
	int r;

	memset(k, 0, sizeof(*k));
	k->srv = SSL_new(b->ctx);
	k->s_in = BIO_new(BIO_s_mem());
	k->s_out = BIO_new(BIO_s_mem());
	SSL_set_bio(k->srv, k->s_in, k->s_out);
	SSL_set_accept_state(k->srv);
	k->hs = hg_tls_hs_new_client(c, "127.0.0.1", 443, &k->out);
	k->st = HG_TLS_HS_CONTINUE;
	for (int round = 0; round < 4; round++) {
		to_server(k);
		r = SSL_do_handshake(k->srv);
		n = from_server(k, buf, sizeof(buf));
		if (r == 1 || (max_version == TLS1_3_VERSION && round == 0)) {
			/* the flight ending with the server's Finished */
			buf[n - 3] ^= 0x10;
			bfeed(k, buf, n, 0);
			break;
		}
		bfeed(k, buf, n, 0);
	}
	cr_assert_eq(k->st, HG_TLS_HS_FAILED);
	cr_assert_str_eq(hg_tls_hs_fail_reason(k->hs), "decrypt_error");
	bconn_done(k);
	hg_tls_client_free(c);
	backend_free(b);
}

Test(tls_client, tls13_tampered_server_finished)
{
	tampered_server_finished(TLS1_3_VERSION);
}

Test(tls_client, tls12_tampered_server_finished)
{
	tampered_server_finished(TLS1_2_VERSION);
}

/* ---- configuration ---- */

static void expect_client_error(const struct hg_tls_backend_opts *o,
				const char *n1)
{
	char err[512] = "";
	struct hg_tls_client *c = hg_tls_client_new(o, err, sizeof(err));

	cr_assert_null(c, "accepted (wanted an error naming %s)", n1);
	cr_assert(strstr(err, n1) != NULL, "error \"%s\" lacks \"%s\"", err,
		  n1);
}

Test(tls_client, config_errors)
{
	struct hg_tls_backend_opts o = backend_tls();

	snprintf(o.ca, sizeof(o.ca), "%s/nowhere.crt", dir);
	expect_client_error(&o, "ca");
	snprintf(o.ca, sizeof(o.ca), "%s", empty_file);
	expect_client_error(&o, "ca");
	o.verify = false; /* still checked */
	expect_client_error(&o, "ca");
	o = backend_tls();
	snprintf(o.ciphersuites, sizeof(o.ciphersuites),
		 "TLS_AES_128_CCM_SHA256");
	expect_client_error(&o, "ciphersuites");
	o = backend_tls();
	snprintf(o.ciphers, sizeof(o.ciphers), "ECDHE-RSA-AES128-SHA256");
	expect_client_error(&o, "ciphers");
	o = backend_tls();
	snprintf(o.ciphers, sizeof(o.ciphers), "ECDHE-RSA-AES128-GCM-SHA265");
	expect_client_error(&o, "ciphers");
	o = backend_tls();
	o.min_version = 0x0301;
	expect_client_error(&o, "min_version");
	o = backend_tls();
	o.min_version = HG_TLS_V13;
	o.max_version = HG_TLS_V12;
	expect_client_error(&o, "min_version");
	o = backend_tls();
	snprintf(o.alpn, sizeof(o.alpn), "h2,");
	expect_client_error(&o, "alpn");
	o = backend_tls();
	snprintf(o.server_name, sizeof(o.server_name), "two words");
	expect_client_error(&o, "server_name");
	snprintf(o.server_name, sizeof(o.server_name), "a..b");
	expect_client_error(&o, "server_name");
	memset(o.server_name, 'a', sizeof(o.server_name));
	expect_client_error(&o, "server_name");
}

/* What a handshake needs to be made. */
Test(tls_client, handshake_arguments)
{
	struct hg_tls_backend_opts o = backend_tls();
	struct hg_tls_client *c;
	struct hg_tls_out out = {0};
	struct hg_tls_hs *hs;

	o.server_name[0] = '\0';
	c = client_of(&o);
	/* nothing to verify against */
	cr_assert_null(hg_tls_hs_new_client(c, NULL, 443, &out));
	cr_assert_null(hg_tls_hs_new_client(c, "", 443, &out));
	cr_assert_null(hg_tls_hs_new_client(c, "backend.test", 443, &out));
	cr_assert_eq(out.len, 0);
	hs = hg_tls_hs_new_client(c, "::1", 443, &out);
	cr_assert_not_null(hs);
	cr_assert_gt(out.len, 0);
	hg_tls_hs_free(hs);
	hg_tls_client_free(c);
	/* with a name, no address is needed */
	o = backend_tls();
	c = client_of(&o);
	out.len = 0;
	hs = hg_tls_hs_new_client(c, NULL, 0, &out);
	cr_assert_not_null(hs);
	cr_assert_eq(out.data[0], 22);
	/* before DONE: no keys, no consumed bytes, no reason */
	{
		struct hg_tls_keys k;

		cr_assert_eq(hg_tls_hs_keys(hs, &k), -1);
		cr_assert_eq(hg_tls_hs_consumed(hs), 0);
		cr_assert_null(hg_tls_hs_fail_reason(hs));
	}
	hg_tls_hs_free(hs);
	hg_tls_out_free(&out);
	hg_tls_client_free(c);
}

/* The backends' first flights (seeds for the fuzz target's client role:
 * they parse as far as the ServerHello and the certificate). */
Test(tls_client, server_flight_seeds)
{
	struct backend_opts bo13 = {0};
	struct backend_opts bo12 = {.max_version = TLS1_2_VERSION};
	struct backend_opts hrr = {.groups = "P-384"};
	const struct {
		const char *name;
		const struct backend_opts *bo;
	} cases[] = {
	    {"server_flight_tls13", &bo13},
	    {"server_flight_tls12", &bo12},
	    {"server_hello_retry", &hrr},
	};
	struct hg_tls_backend_opts co = backend_tls();
	struct hg_tls_client *c = client_of(&co);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct backend *b = backend_new(cases[i].bo);
		struct bconn *k = bconn_run(b, c, "127.0.0.1");

		cr_assert_eq(k->st, HG_TLS_HS_DONE);
		cr_assert_gt(k->first_flight_len, 0);
		write_seed(cases[i].name, k->first_flight, k->first_flight_len);
		bconn_done(k);
		backend_free(b);
	}
	hg_tls_client_free(c);
}
