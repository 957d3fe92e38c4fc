/* The record layer against a real OpenSSL 3 client, and as a client
 * against a real OpenSSL 3 server (TLS to backends).
 *
 * Each test runs an OpenSSL client and server in-process over memory BIOs
 * until the handshake ends, takes the traffic keys the way the control
 * plane would hand them over (TLS 1.3: the keylog's traffic secrets, key
 * and IV by OpenSSL's own HKDF; TLS 1.2: the key block from the master
 * secret by OpenSSL's TLS1-PRF) and from then on plays the server with
 * hg_tls_rec: what the OpenSSL client writes is cut into mbufs at awkward
 * places and opened; what we seal is fed to the client's SSL_read. Also
 * KeyUpdate both ways, forgeries, alerts, malformed and crafted records
 * (sealed with the client's keys through lib/tls_aead), sequence number
 * exhaustion, mbuf shortage, and after every test: no mbuf leaked.
 *
 * Sequence numbers: the server sends no session tickets here
 * (SSL_CTX_set_num_tickets 0), so both directions start at 0 with TLS 1.3
 * and at 1 with TLS 1.2 (the Finished records were 0).
 *
 * With a server for a peer (the tests at the end), the record layer takes
 * the client's keys and place; the server's NewSessionTickets (under its
 * application key, from seq 0) come first and must be skipped.
 */
#include <criterion/criterion.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tls_rec.h"

#define POOL_SIZE 8191
#define BIG	  (200 * 1024)

static struct rte_mempool *pool;
static IMB_MGR *mgr;
static uint64_t ctr[HG_WC_COUNT];
static unsigned pool_start;

static void setup(void)
{
	static char prefix[64];
	char *argv[] = {"test",
			"--no-huge",
			"-m",
			"64",
			"--no-pci",
			"--no-shconf",
			"--no-telemetry",
			"--log-level=error",
			"--lcores=0",
			prefix};

	snprintf(prefix, sizeof(prefix), "--file-prefix=hgtlsrec%d", getpid());
	cr_assert_geq(rte_eal_init(RTE_DIM(argv), argv), 0);
	pool = rte_pktmbuf_pool_create(
	    "tr", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert_not_null(pool);
	pool_start = rte_mempool_in_use_count(pool);
	mgr = hg_imb_new();
	cr_assert_not_null(mgr);
	memset(ctr, 0, sizeof(ctr));
}

static void teardown(void)
{
	hg_imb_free(mgr);
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

TestSuite(tls_rec, .init = setup, .fini = teardown);

static void expect_no_leak(void)
{
	cr_assert_eq(rte_mempool_in_use_count(pool), pool_start,
		     "mbufs leaked: %u in use, %u at start",
		     rte_mempool_in_use_count(pool), pool_start);
}

/* --- an OpenSSL client and server over memory BIOs ----------------------- */

struct suite {
	const char *name;
	uint16_t version;
	const char *ciphers; /* 1.3: ciphersuites; 1.2: cipher list */
	bool rsa;
	uint8_t cipher;
};

static const struct suite S13_AES128 = {"TLS 1.3 AES-128-GCM", HG_TLS_V13,
					"TLS_AES_128_GCM_SHA256", false,
					HG_TLS_AES_128_GCM_SHA256};
static const struct suite S13_AES256 = {"TLS 1.3 AES-256-GCM", HG_TLS_V13,
					"TLS_AES_256_GCM_SHA384", false,
					HG_TLS_AES_256_GCM_SHA384};
static const struct suite S13_CHACHA = {"TLS 1.3 ChaCha20-Poly1305", HG_TLS_V13,
					"TLS_CHACHA20_POLY1305_SHA256", false,
					HG_TLS_CHACHA20_POLY1305_SHA256};
static const struct suite S12_AES128 = {
    "TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256", HG_TLS_V12,
    "ECDHE-ECDSA-AES128-GCM-SHA256", false, HG_TLS_AES_128_GCM_SHA256};
static const struct suite S12_AES256 = {
    "TLS 1.2 ECDHE-RSA-AES256-GCM-SHA384", HG_TLS_V12,
    "ECDHE-RSA-AES256-GCM-SHA384", true, HG_TLS_AES_256_GCM_SHA384};
static const struct suite S12_CHACHA = {
    "TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305", HG_TLS_V12,
    "ECDHE-ECDSA-CHACHA20-POLY1305", false, HG_TLS_CHACHA20_POLY1305_SHA256};

struct peer {
	const struct suite *s;
	SSL_CTX *cctx, *sctx;
	SSL *c, *s_ssl;
	BIO *c_in, *c_out, *s_in, *s_out; /* each SSL's rbio and wbio */
	/* The end the record layer talks to once the handshake is over: the
	 * client, or with server_peer the server (the record layer is then
	 * the client). */
	bool server_peer;
	SSL *far;
	BIO *far_in, *far_out;
	struct hg_tls_keys keys;
};

/* The keylog lines the server's context saw. */
static char log_client[256], log_server[256];

static void keylog(const SSL *ssl, const char *line)
{
	(void)ssl;
	if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
		snprintf(log_client, sizeof(log_client), "%s", line);
	if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0)
		snprintf(log_server, sizeof(log_server), "%s", line);
}

static X509 *self_signed(EVP_PKEY *k)
{
	X509 *x = X509_new();
	X509_NAME *n;

	cr_assert_not_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"gateway.test", -1,
				   -1, 0);
	X509_set_issuer_name(x, n);
	cr_assert_gt(X509_sign(x, k, EVP_sha256()), 0);
	return x;
}

/* Moves what one side wrote to the other. Returns the bytes moved. */
static size_t shuttle(BIO *from, BIO *to)
{
	char buf[16384];
	size_t total = 0;
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0) {
		cr_assert_eq(BIO_write(to, buf, n), n);
		total += (size_t)n;
	}
	return total;
}

/* Everything one side wrote, into buf. */
static size_t drain(BIO *from, uint8_t *buf, size_t max)
{
	size_t total = 0;
	int n;

	while (total < max &&
	       (n = BIO_read(from, buf + total, (int)(max - total))) > 0)
		total += (size_t)n;
	cr_assert_eq(BIO_pending(from), 0, "drain buffer too small");
	return total;
}

static void hex_secret(const char *line, uint8_t *out, size_t n)
{
	/* "LABEL <client random hex> <secret hex>" */
	const char *p = strrchr(line, ' ');

	cr_assert_not_null(p);
	cr_assert_eq(strlen(p + 1), 2 * n, "secret length");
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		cr_assert_eq(sscanf(p + 1 + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static const char *digest_of(uint8_t cipher)
{
	return cipher == HG_TLS_AES_256_GCM_SHA384 ? "SHA384" : "SHA256";
}

/* RFC 8446 7.1 by OpenSSL's HKDF, to check ours independently. */
static void ossl_expand_label(uint8_t cipher, const uint8_t *secret,
			      const char *label, uint8_t *out, size_t n)
{
	uint8_t info[64];
	size_t il = 0, ll = strlen(label);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM p[5];

	info[il++] = (uint8_t)(n >> 8);
	info[il++] = (uint8_t)n;
	info[il++] = (uint8_t)(6 + ll);
	memcpy(info + il, "tls13 ", 6);
	il += 6;
	memcpy(info + il, label, ll);
	il += ll;
	info[il++] = 0;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)digest_of(cipher), 0);
	p[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[2] = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_KEY, (void *)secret, hg_tls_hash_len(cipher));
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, il);
	p[4] = OSSL_PARAM_construct_end();
	cr_assert_eq(EVP_KDF_derive(kc, out, n, p), 1);
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
}

static void dir13(struct hg_tls_dir *d, uint8_t cipher, const char *line)
{
	uint8_t key[32], iv[12];

	memset(d, 0, sizeof(*d));
	hex_secret(line, d->secret, hg_tls_hash_len(cipher));
	ossl_expand_label(cipher, d->secret, "key", d->key,
			  hg_tls_key_len(cipher));
	ossl_expand_label(cipher, d->secret, "iv", d->iv, HG_TLS_IV_LEN);
	/* Ours must agree with OpenSSL's. */
	cr_assert_eq(hg_tls13_traffic_keys(mgr, cipher, d->secret, key, iv), 0);
	cr_assert_eq(memcmp(key, d->key, hg_tls_key_len(cipher)), 0);
	cr_assert_eq(memcmp(iv, d->iv, HG_TLS_IV_LEN), 0);
	d->seq = 0;
}

/* TLS 1.2 key block (RFC 5246 6.3) by OpenSSL's TLS1-PRF: client key,
 * server key, client IV, server IV (no MAC keys for an AEAD). */
static void keys12(struct peer *p)
{
	uint8_t master[48], seed[13 + 64], block[2 * 32 + 2 * 12];
	size_t ml, kl = hg_tls_key_len(p->s->cipher);
	size_t ivl = p->s->cipher == HG_TLS_CHACHA20_POLY1305_SHA256 ? 12 : 4;
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM prm[4];
	struct hg_tls_dir *cl, *sv; /* the client's keys, the server's */

	ml = SSL_SESSION_get_master_key(SSL_get_session(p->s_ssl), master,
					sizeof(master));
	cr_assert_eq(ml, 48);
	memcpy(seed, "key expansion", 13);
	SSL_get_server_random(p->s_ssl, seed + 13, 32);
	SSL_get_client_random(p->s_ssl, seed + 45, 32);
	prm[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_KDF_PARAM_DIGEST, (char *)digest_of(p->s->cipher), 0);
	prm[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
						   master, ml);
	prm[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed,
						   sizeof(seed));
	prm[3] = OSSL_PARAM_construct_end();
	cr_assert_eq(EVP_KDF_derive(kc, block, 2 * kl + 2 * ivl, prm), 1);
	EVP_KDF_CTX_free(kc);
	EVP_KDF_free(kdf);
	cl = p->server_peer ? &p->keys.tx : &p->keys.rx;
	sv = p->server_peer ? &p->keys.rx : &p->keys.tx;
	memcpy(cl->key, block, kl);
	memcpy(sv->key, block + kl, kl);
	memcpy(cl->iv, block + 2 * kl, ivl);
	memcpy(sv->iv, block + 2 * kl + ivl, ivl);
	p->keys.rx.seq = p->keys.tx.seq = 1;
}

/* An OpenSSL client and server through their handshake; the record
 * layer takes over the server's end, or with server_peer the client's (and
 * the server then sends `tickets` NewSessionTickets, which come first). */
static void peer_up_as(struct peer *p, const struct suite *s, bool server_peer,
		       int tickets)
{
	EVP_PKEY *k = s->rsa
			  ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
			  : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x;
	int v = s->version == HG_TLS_V13 ? TLS1_3_VERSION : TLS1_2_VERSION;

	memset(p, 0, sizeof(*p));
	p->s = s;
	cr_assert_not_null(k);
	x = self_signed(k);
	p->sctx = SSL_CTX_new(TLS_method());
	p->cctx = SSL_CTX_new(TLS_method());
	cr_assert(p->sctx && p->cctx);
	for (int i = 0; i < 2; i++) {
		SSL_CTX *ctx = i ? p->cctx : p->sctx;

		SSL_CTX_set_min_proto_version(ctx, v);
		SSL_CTX_set_max_proto_version(ctx, v);
		if (s->version == HG_TLS_V13)
			cr_assert_eq(SSL_CTX_set_ciphersuites(ctx, s->ciphers),
				     1);
		else
			cr_assert_eq(SSL_CTX_set_cipher_list(ctx, s->ciphers),
				     1);
	}
	cr_assert_eq(SSL_CTX_use_certificate(p->sctx, x), 1);
	cr_assert_eq(SSL_CTX_use_PrivateKey(p->sctx, k), 1);
	SSL_CTX_set_num_tickets(p->sctx, (size_t)tickets);
	SSL_CTX_set_keylog_callback(p->sctx, keylog);
	X509_free(x);
	EVP_PKEY_free(k);

	p->c = SSL_new(p->cctx);
	p->s_ssl = SSL_new(p->sctx);
	p->c_in = BIO_new(BIO_s_mem());
	p->c_out = BIO_new(BIO_s_mem());
	p->s_in = BIO_new(BIO_s_mem());
	p->s_out = BIO_new(BIO_s_mem());
	SSL_set_bio(p->c, p->c_in, p->c_out);
	SSL_set_bio(p->s_ssl, p->s_in, p->s_out);
	SSL_set_connect_state(p->c);
	SSL_set_accept_state(p->s_ssl);
	log_client[0] = log_server[0] = 0;
	for (int round = 0; round < 20; round++) {
		SSL_do_handshake(p->c);
		shuttle(p->c_out, p->s_in);
		SSL_do_handshake(p->s_ssl);
		shuttle(p->s_out, p->c_in);
		if (SSL_is_init_finished(p->c) &&
		    SSL_is_init_finished(p->s_ssl))
			break;
	}
	cr_assert(SSL_is_init_finished(p->c) && SSL_is_init_finished(p->s_ssl),
		  "%s: handshake did not finish", s->name);
	cr_assert_eq(BIO_pending(p->c_out) + BIO_pending(p->s_out), 0);

	p->server_peer = server_peer;
	p->far = server_peer ? p->s_ssl : p->c;
	p->far_in = server_peer ? p->s_in : p->c_in;
	p->far_out = server_peer ? p->s_out : p->c_out;
	if (server_peer) /* the tickets the client has not read: ours now */
		shuttle(p->c_in, p->s_out);
	cr_assert_eq(BIO_pending(p->c_in), 0);

	p->keys.version = s->version;
	p->keys.cipher = s->cipher;
	if (s->version == HG_TLS_V13) {
		cr_assert(log_client[0] && log_server[0], "keylog lines");
		dir13(&p->keys.rx, s->cipher,
		      server_peer ? log_server : log_client);
		dir13(&p->keys.tx, s->cipher,
		      server_peer ? log_client : log_server);
	} else {
		keys12(p);
	}
}

static void peer_up(struct peer *p, const struct suite *s)
{
	peer_up_as(p, s, false, 0);
}

static void peer_down(struct peer *p)
{
	SSL_free(p->c);
	SSL_free(p->s_ssl);
	SSL_CTX_free(p->cctx);
	SSL_CTX_free(p->sctx);
	OPENSSL_cleanse(&p->keys, sizeof(p->keys));
}

/* --- mbufs ------------------------------------------------------------------
 */

enum room { ROOM_NORMAL, ROOM_NO_TAIL, ROOM_NONE };

/* Bytes into a chain of mbufs of the given sizes (cycled). ROOM_NO_TAIL
 * puts each segment's data at its buffer's end; ROOM_NONE fills whole
 * buffers from their start (no headroom, no tailroom; sizes are then
 * the buffer's). */
static struct rte_mbuf *mk_chain(const uint8_t *p, size_t n,
				 const unsigned *sizes, unsigned ns,
				 enum room room)
{
	struct rte_mbuf *head = NULL, *tail = NULL;
	unsigned i = 0;

	while (n > 0) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		size_t s = sizes[i++ % ns];

		cr_assert_not_null(m);
		if (room == ROOM_NONE)
			s = m->buf_len;
		if (s > n)
			s = n;
		if (s > (size_t)m->buf_len - RTE_PKTMBUF_HEADROOM &&
		    room != ROOM_NONE)
			s = m->buf_len - RTE_PKTMBUF_HEADROOM;
		if (room == ROOM_NO_TAIL)
			m->data_off = (uint16_t)(m->buf_len - s);
		if (room == ROOM_NONE)
			m->data_off = 0;
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), p, s);
		m->data_len = (uint16_t)s;
		m->pkt_len = (uint32_t)s;
		if (head == NULL) {
			head = m;
		} else {
			tail->next = m;
			head->pkt_len += (uint32_t)s;
			head->nb_segs++;
		}
		tail = m;
		p += s;
		n -= s;
	}
	return head;
}

/* A chain's bytes into buf (appended at *len), checking that pkt_len and
 * nb_segs tell the truth; frees the chain. */
static void take_chain(struct rte_mbuf *m, uint8_t *buf, size_t *len,
		       size_t max)
{
	uint32_t bytes = 0;
	unsigned segs = 0;

	if (m == NULL)
		return;
	for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
		cr_assert_leq(*len + s->data_len, max);
		memcpy(buf + *len, rte_pktmbuf_mtod(s, uint8_t *), s->data_len);
		*len += s->data_len;
		bytes += s->data_len;
		segs++;
	}
	cr_assert_eq(m->pkt_len, bytes, "pkt_len %u, segments hold %u",
		     m->pkt_len, bytes);
	cr_assert_eq(m->nb_segs, segs, "nb_segs %u, %u segments", m->nb_segs,
		     segs);
	rte_pktmbuf_free(m);
}

static uint32_t rng = 12345;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + seed) ^ (i >> 8));
}

/* --- client -> gateway ------------------------------------------------------
 */

/* The peer (OpenSSL's end) writes `n` bytes in writes of `chunk` (several
 * records); returns what it sent, with anything it had sent before. */
static size_t peer_write(struct peer *p, const uint8_t *data, size_t n,
			 size_t chunk, uint8_t *wire, size_t max)
{
	for (size_t off = 0; off < n; off += chunk) {
		size_t k = n - off < chunk ? n - off : chunk;

		cr_assert_eq(SSL_write(p->far, data + off, (int)k), (int)k);
	}
	return drain(p->far_out, wire, max);
}

/* Feeds wire bytes to hg_tls_rec_open as segments of the given sizes,
 * `per_call` segments per call; appends the plaintext to out. Returns the
 * last result. */
static enum hg_tls_rx feed(struct hg_tls_rec *t, const uint8_t *wire, size_t n,
			   const unsigned *sizes, unsigned ns,
			   unsigned per_call, uint8_t *out, size_t *out_len,
			   size_t out_max)
{
	enum hg_tls_rx rc = HG_TLS_RX_OK;
	size_t off = 0;
	unsigned i = 0;

	while (off < n) {
		/* Segment sizes for this call: per_call of the pattern. */
		unsigned call_sizes[64];
		size_t bytes = 0;
		struct rte_mbuf *in, *plain = NULL;
		unsigned k;

		for (k = 0; k < per_call && off + bytes < n; k++) {
			call_sizes[k] = sizes[i++ % ns];
			bytes += call_sizes[k];
		}
		if (off + bytes > n)
			bytes = n - off;
		in = mk_chain(wire + off, bytes, call_sizes, k,
			      (rnd() & 1) ? ROOM_NORMAL : ROOM_NO_TAIL);
		rc = hg_tls_rec_open(t, pool, in, &plain);
		take_chain(plain, out, out_len, out_max);
		off += bytes;
		if (rc != HG_TLS_RX_OK)
			break;
	}
	return rc;
}

/* Segment patterns: whole buffers; single bytes; cuts inside headers
 * (5-byte header: 3 + 2) and tags; several records per mbuf. */
static const unsigned pat_big[] = {2000};
static const unsigned pat_bytes[] = {1};
static const unsigned pat_mid[] = {3, 2, 1400, 7, 16, 9, 1, 100};
static const unsigned pat_odd[] = {1448, 17, 1, 1, 600, 1023, 5};

static void rx_case(struct peer *p, struct hg_tls_rec *t, size_t n,
		    size_t chunk, const unsigned *pat, unsigned np,
		    unsigned per_call)
{
	static uint8_t data[BIG], wire[BIG + 16384], got[BIG];
	size_t wn, gn = 0;

	cr_assert_leq(n, sizeof(data));
	fill(data, n, (uint32_t)(n + chunk));
	wn = peer_write(p, data, n, chunk, wire, sizeof(wire));
	cr_assert_eq(
	    feed(t, wire, wn, pat, np, per_call, got, &gn, sizeof(got)),
	    HG_TLS_RX_OK);
	cr_assert_eq(gn, n, "%s: %zu plaintext bytes, want %zu", p->s->name, gn,
		     n);
	cr_assert_eq(memcmp(got, data, n), 0, "%s: plaintext differs",
		     p->s->name);
	cr_assert_eq(t->held.len, 0, "nothing held between records");
}

/* --- gateway -> client --------------------------------------------------- */

/* Reads everything the peer can, appending to out. */
static void peer_read(struct peer *p, uint8_t *out, size_t *len, size_t max)
{
	for (;;) {
		int r = SSL_read(p->far, out + *len, (int)(max - *len));

		if (r <= 0) {
			int e = SSL_get_error(p->far, r);

			cr_assert_eq(e, SSL_ERROR_WANT_READ,
				     "%s: SSL_read error %d (%s)", p->s->name,
				     e,
				     ERR_reason_error_string(ERR_get_error()));
			return;
		}
		*len += (size_t)r;
	}
}

/* Checks the records we sent: well framed, at most record_size plaintext
 * each. Returns how many. */
static unsigned check_records(const struct peer *p, const uint8_t *w, size_t n,
			      unsigned record_size)
{
	unsigned over = 16 + (p->s->version == HG_TLS_V13 ? 1 : 0) +
			(p->s->version == HG_TLS_V12 &&
				 p->s->cipher != HG_TLS_CHACHA20_POLY1305_SHA256
			     ? 8
			     : 0);
	unsigned count = 0;
	size_t off = 0;

	while (off < n) {
		size_t len;

		cr_assert_leq(off + 5, n);
		len = (size_t)w[off + 3] << 8 | w[off + 4];
		cr_assert_eq(w[off + 1], 3);
		cr_assert_eq(w[off + 2], 3);
		cr_assert_geq(len, over);
		cr_assert_leq(len - over, record_size,
			      "record of %zu plaintext bytes", len - over);
		off += 5 + len;
		count++;
	}
	cr_assert_eq(off, n);
	return count;
}

static void tx_case(struct peer *p, struct hg_tls_rec *t, size_t n,
		    const unsigned *pat, unsigned np, enum room room,
		    bool shared)
{
	static uint8_t data[BIG], wire[BIG + 65536], got[BIG], keep[BIG];
	struct rte_mbuf *plain, *clone = NULL, *rec;
	size_t wn = 0, gn = 0;

	fill(data, n, (uint32_t)(n * 7 + np));
	plain = mk_chain(data, n, pat, np, room);
	if (shared) {
		/* The payload is someone else's too (indirect mbufs): it
		 * must be copied, not encrypted where it lies. */
		clone = plain;
		plain = rte_pktmbuf_clone(clone, pool);
		cr_assert_not_null(plain);
	}
	rec = hg_tls_rec_seal(t, pool, plain);
	cr_assert_not_null(rec);
	take_chain(rec, wire, &wn, sizeof(wire));
	check_records(p, wire, wn, t->record_size);
	if (clone != NULL) {
		size_t kn = 0;

		take_chain(clone, keep, &kn, sizeof(keep));
		cr_assert_eq(kn, n);
		cr_assert_eq(memcmp(keep, data, n), 0,
			     "shared payload was written");
	}
	cr_assert_eq(BIO_write(p->far_in, wire, (int)wn), (int)wn);
	peer_read(p, got, &gn, sizeof(got));
	cr_assert_eq(gn, n, "%s: client read %zu, want %zu", p->s->name, gn, n);
	cr_assert_eq(memcmp(got, data, n), 0, "%s: client read other bytes",
		     p->s->name);
}

static void rec_up(struct hg_tls_rec *t, struct peer *p, unsigned record_size)
{
	if (p->server_peer)
		cr_assert_eq(hg_tls_rec_init_peer(t, mgr, &p->keys, record_size,
						  ctr, true),
			     0);
	else
		cr_assert_eq(
		    hg_tls_rec_init(t, mgr, &p->keys, record_size, ctr), 0);
}

/* Both ways for one suite, in every shape. */
static void run_suite(const struct suite *s)
{
	static const unsigned p1448[] = {1448};
	static const unsigned p_tiny[] = {1, 3, 2, 700, 1};
	static const unsigned p_mixed[] = {100, 2000, 513, 511, 1, 4000};
	struct peer p;
	struct hg_tls_rec t;

	peer_up(&p, s);
	rec_up(&t, &p, 16384);
	/* Client to gateway. */
	rx_case(&p, &t, 50, 50, pat_big, 1, 1);
	rx_case(&p, &t, 40000, 16384, pat_big, 1, 4);
	rx_case(&p, &t, 3000, 100, pat_mid, 8, 3); /* 30 records */
	rx_case(&p, &t, 2000, 1000, pat_bytes, 1, 64);
	rx_case(&p, &t, 70000, 16384, pat_odd, 7, 5);
	rx_case(&p, &t, 5000, 7, pat_big, 1, 2); /* tiny records, gathered */
	for (int i = 0; i < 5; i++) {
		unsigned r[8];

		for (int j = 0; j < 8; j++)
			r[j] = 1 + rnd() % 3000;
		rx_case(&p, &t, 1 + rnd() % 60000, 1 + rnd() % 16384, r, 8,
			1 + rnd() % 6);
	}
	cr_assert_eq(ctr[HG_WC_tls_decrypt_failures], 0);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 0);
	cr_assert_gt(ctr[HG_WC_tls_records_in], 0);

	/* Gateway to client. */
	tx_case(&p, &t, 100, p1448, 1, ROOM_NORMAL, false);
	tx_case(&p, &t, 60000, p1448, 1, ROOM_NORMAL, false);
	tx_case(&p, &t, 60000, p1448, 1, ROOM_NO_TAIL, false);
	tx_case(&p, &t, 20000, p1448, 1, ROOM_NONE, false);
	tx_case(&p, &t, 3000, p_tiny, 5, ROOM_NORMAL, false);
	tx_case(&p, &t, 50000, p_mixed, 6, ROOM_NORMAL, false);
	tx_case(&p, &t, 30000, p1448, 1, ROOM_NORMAL, true);
	/* Small records: mbufs split across records. */
	t.record_size = 1000;
	tx_case(&p, &t, 20000, p1448, 1, ROOM_NORMAL, false);
	tx_case(&p, &t, 7000, p_mixed, 6, ROOM_NONE, false);
	tx_case(&p, &t, 9000, p1448, 1, ROOM_NORMAL, true);
	t.record_size = 1;
	tx_case(&p, &t, 50, p1448, 1, ROOM_NORMAL, false);
	cr_assert_eq(ctr[HG_WC_tls_nomem], 0);
	cr_assert_eq(ctr[HG_WC_tls_plain_bytes_out],
		     100 + 60000 + 60000 + 20000 + 3000 + 50000 + 30000 +
			 20000 + 7000 + 9000 + 50);
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

Test(tls_rec, tls13_aes128_gcm)
{
	run_suite(&S13_AES128);
}

Test(tls_rec, tls13_aes256_gcm)
{
	run_suite(&S13_AES256);
}

Test(tls_rec, tls13_chacha20_poly1305)
{
	run_suite(&S13_CHACHA);
}

Test(tls_rec, tls12_ecdhe_ecdsa_aes128_gcm)
{
	run_suite(&S12_AES128);
}

Test(tls_rec, tls12_ecdhe_rsa_aes256_gcm)
{
	run_suite(&S12_AES256);
}

Test(tls_rec, tls12_ecdhe_ecdsa_chacha20_poly1305)
{
	run_suite(&S12_CHACHA);
}

/* --- KeyUpdate ------------------------------------------------------------ */

static void open_all(struct hg_tls_rec *t, const uint8_t *wire, size_t n,
		     uint8_t *out, size_t *out_len, size_t max,
		     enum hg_tls_rx want)
{
	static const unsigned pat[] = {7, 1, 300};

	cr_assert_eq(feed(t, wire, n, pat, 3, 4, out, out_len, max), want);
}

static void send_to_peer(struct peer *p, struct rte_mbuf *m)
{
	static uint8_t wire[65536];
	size_t wn = 0;

	cr_assert_not_null(m);
	take_chain(m, wire, &wn, sizeof(wire));
	cr_assert_eq(BIO_write(p->far_in, wire, (int)wn), (int)wn);
}

static void expect_peer_reads(struct peer *p, const char *want)
{
	uint8_t got[256];
	size_t gn = 0;

	peer_read(p, got, &gn, sizeof(got));
	cr_assert_eq(gn, strlen(want), "client read %zu bytes", gn);
	cr_assert_eq(memcmp(got, want, gn), 0);
}

static void key_update_from_client(bool answer_explicitly)
{
	struct peer p;
	struct hg_tls_rec t;
	uint8_t wire[4096], got[256];
	size_t wn, gn = 0;

	peer_up(&p, &S13_AES256);
	rec_up(&t, &p, 16384);
	cr_assert_eq(SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED), 1);
	wn = peer_write(&p, (const uint8_t *)"after", 5, 5, wire, sizeof(wire));
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_OK);
	cr_assert_eq(gn, 5);
	cr_assert_eq(memcmp(got, "after", 5), 0);
	cr_assert_eq(ctr[HG_WC_tls_key_updates_in], 1);
	cr_assert(t.key_update_due, "the client asked for our KeyUpdate");
	if (answer_explicitly) {
		send_to_peer(&p, hg_tls_rec_key_update(&t, pool, false));
		cr_assert_not(t.key_update_due);
	}
	/* seal sends the KeyUpdate itself if still owed. */
	send_to_peer(&p, hg_tls_rec_seal(&t, pool,
					 mk_chain((const uint8_t *)"reply", 5,
						  pat_big, 1, ROOM_NORMAL)));
	cr_assert_not(t.key_update_due);
	cr_assert_eq(ctr[HG_WC_tls_key_updates_out], 1);
	expect_peer_reads(&p, "reply");
	/* And on, both ways, under the new keys. */
	gn = 0;
	wn = peer_write(&p, (const uint8_t *)"more", 4, 4, wire, sizeof(wire));
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_OK);
	cr_assert_eq(gn, 4);
	send_to_peer(&p, hg_tls_rec_seal(&t, pool,
					 mk_chain((const uint8_t *)"again", 5,
						  pat_big, 1, ROOM_NORMAL)));
	expect_peer_reads(&p, "again");
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

Test(tls_rec, key_update_requested_by_client_answered)
{
	key_update_from_client(true);
}

Test(tls_rec, key_update_requested_by_client_answered_by_seal)
{
	key_update_from_client(false);
}

Test(tls_rec, key_update_from_gateway)
{
	struct peer p;
	struct hg_tls_rec t;
	uint8_t wire[4096], got[256];
	size_t wn, gn = 0;

	peer_up(&p, &S13_CHACHA);
	rec_up(&t, &p, 16384);
	/* Ours, asking for the client's: the client answers with its own
	 * KeyUpdate before its next data. */
	send_to_peer(&p, hg_tls_rec_key_update(&t, pool, true));
	send_to_peer(&p, hg_tls_rec_seal(&t, pool,
					 mk_chain((const uint8_t *)"new key", 7,
						  pat_big, 1, ROOM_NORMAL)));
	expect_peer_reads(&p, "new key");
	wn =
	    peer_write(&p, (const uint8_t *)"answer", 6, 6, wire, sizeof(wire));
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_OK);
	cr_assert_eq(gn, 6);
	cr_assert_eq(memcmp(got, "answer", 6), 0);
	cr_assert_eq(ctr[HG_WC_tls_key_updates_in], 1);
	cr_assert_eq(ctr[HG_WC_tls_key_updates_out], 1);
	cr_assert_not(t.key_update_due, "the answer asks for nothing");
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

Test(tls_rec, key_update_not_in_tls12)
{
	struct peer p;
	struct hg_tls_rec t;

	peer_up(&p, &S12_AES128);
	rec_up(&t, &p, 16384);
	cr_assert_null(hg_tls_rec_key_update(&t, pool, false));
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

/* --- forgeries, alerts, closing ---------------------------------------------
 */

static void flipped_byte(const struct suite *s)
{
	struct peer p;
	struct hg_tls_rec t;
	uint8_t wire[8192], got[8192];
	size_t wn, gn = 0;
	struct rte_mbuf *plain = (void *)1;

	peer_up(&p, s);
	rec_up(&t, &p, 16384);
	wn = peer_write(&p, (const uint8_t *)"good", 4, 4, wire, sizeof(wire));
	wn += peer_write(&p, (const uint8_t *)"tampered", 8, 8, wire + wn,
			 sizeof(wire) - wn);
	wire[wn - 20] ^= 0x40; /* in the second record's body or tag */
	cr_assert_eq(
	    hg_tls_rec_open(
		&t, pool, mk_chain(wire, wn, pat_big, 1, ROOM_NORMAL), &plain),
	    HG_TLS_RX_FATAL);
	cr_assert_null(plain, "no plaintext with a fatal result");
	cr_assert_eq(t.alert, HG_TLS_ALERT_BAD_RECORD_MAC);
	cr_assert_eq(ctr[HG_WC_tls_decrypt_failures], 1);
	cr_assert_not(t.alert_received);
	/* Afterwards, input is dropped. */
	gn = 0;
	wn = peer_write(&p, (const uint8_t *)"x", 1, 1, wire, sizeof(wire));
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_FATAL);
	cr_assert_eq(gn, 0);
	/* The alert goes out and the client sees it. */
	send_to_peer(&p,
		     hg_tls_rec_alert(&t, pool, HG_TLS_ALERT_FATAL, t.alert));
	{
		int r = SSL_read(p.c, got, sizeof(got));

		cr_assert_leq(r, 0);
		cr_assert_eq(SSL_get_error(p.c, r), SSL_ERROR_SSL);
	}
	cr_assert_eq(ctr[HG_WC_tls_alerts_out], 1);
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

Test(tls_rec, flipped_byte_is_bad_record_mac_13)
{
	flipped_byte(&S13_AES128);
}

Test(tls_rec, flipped_byte_is_bad_record_mac_12)
{
	flipped_byte(&S12_AES128);
}

static void close_notify_in(const struct suite *s)
{
	struct peer p;
	struct hg_tls_rec t;
	uint8_t wire[8192], got[8192];
	size_t wn, gn = 0;

	peer_up(&p, s);
	rec_up(&t, &p, 16384);
	wn = peer_write(&p, (const uint8_t *)"last words", 10, 10, wire,
			sizeof(wire));
	cr_assert_geq(SSL_shutdown(p.c), 0);
	wn += drain(p.c_out, wire + wn, sizeof(wire) - wn);
	/* Anything after close_notify is dropped. */
	memcpy(wire + wn, "\x17\x03\x03\x00\x20 trailing junk", 19);
	wn += 19;
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_CLOSE_NOTIFY);
	cr_assert_eq(gn, 10);
	cr_assert_eq(memcmp(got, "last words", 10), 0);
	cr_assert_eq(ctr[HG_WC_tls_close_notify_in], 1);
	cr_assert_eq(ctr[HG_WC_tls_alerts_in], 1);
	cr_assert_eq(t.held.len, 0);
	/* Our close_notify back: the client sees a clean end. */
	send_to_peer(&p, hg_tls_rec_alert(&t, pool, HG_TLS_ALERT_WARNING,
					  HG_TLS_ALERT_CLOSE_NOTIFY));
	cr_assert_eq(SSL_read(p.c, got, sizeof(got)), 0);
	cr_assert_eq(SSL_get_error(p.c, 0), SSL_ERROR_ZERO_RETURN);
	cr_assert_eq(ctr[HG_WC_tls_close_notify_out], 1);
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

Test(tls_rec, close_notify_13)
{
	close_notify_in(&S13_AES128);
}

Test(tls_rec, close_notify_12)
{
	close_notify_in(&S12_CHACHA);
}

/* --- malformed headers -------------------------------------------------- */

struct bad_header {
	const char *what;
	uint8_t h[5];
	uint8_t alert13, alert12;
};

static const struct bad_header bad_headers[] = {
    {"HTTP on a TLS port", {'G', 'E', 'T', ' ', '/'}, 10, 10},
    {"handshake type", {22, 3, 3, 0, 40}, 10, 0 /* allowed in 1.2 */},
    {"unknown type", {24, 3, 3, 0, 40}, 10, 10},
    {"bad version", {23, 2, 3, 0, 40}, 50, 50},
    {"TLS 1.0 version", {23, 3, 1, 0, 40}, 0 /* ignored in 1.3 */, 50},
    {"oversize", {23, 3, 3, 0x48, 0x01}, 22, 22},
    {"1.3 oversize, 1.2 fine", {23, 3, 3, 0x41, 0x01}, 22, 0},
    {"shorter than a tag", {23, 3, 3, 0, 15}, 50, 50},
};

static void bad_headers_for(const struct suite *s)
{
	struct peer p;

	peer_up(&p, s);
	for (unsigned i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]);
	     i++) {
		const struct bad_header *b = &bad_headers[i];
		uint8_t want =
		    s->version == HG_TLS_V13 ? b->alert13 : b->alert12;
		struct hg_tls_rec t;
		struct rte_mbuf *plain = NULL;
		enum hg_tls_rx rc;

		rec_up(&t, &p, 16384);
		/* The header alone decides: no waiting for a body. */
		rc = hg_tls_rec_open(&t, pool,
				     mk_chain(b->h, 5, pat_big, 1, ROOM_NORMAL),
				     &plain);
		if (want == 0) {
			cr_assert_eq(rc, HG_TLS_RX_OK, "%s: %s", s->name,
				     b->what);
			cr_assert_eq(t.held.len, 5, "waits for the body");
		} else {
			cr_assert_eq(rc, HG_TLS_RX_FATAL, "%s: %s", s->name,
				     b->what);
			cr_assert_eq(t.alert, want, "%s: %s: alert %u", s->name,
				     b->what, t.alert);
		}
		cr_assert_null(plain);
		hg_tls_rec_free(&t);
	}
	peer_down(&p);
	expect_no_leak();
}

Test(tls_rec, bad_headers_13)
{
	bad_headers_for(&S13_AES128);
}

Test(tls_rec, bad_headers_12)
{
	bad_headers_for(&S12_AES128);
}

/* --- crafted records
 * ---------------------------------------------------------- */

/* Seals a record as the client would, with a copy of its keys. */
static size_t craft(struct hg_tls_aead *a, uint8_t type, const uint8_t *pl,
		    size_t n, size_t pad, uint8_t *out)
{
	bool v13 = a->version == HG_TLS_V13;
	unsigned ex = hg_tls_explicit_nonce_len(a);
	size_t body = n + (v13 ? 1 + pad : 0);
	size_t len = ex + body + 16;
	uint8_t nonce[12], aad[13];
	size_t aad_len;
	struct hg_sg sg = {out + 5 + ex, body};

	out[0] = v13 ? 23 : type;
	out[1] = out[2] = 3;
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	for (unsigned i = 0; i < ex; i++)
		out[5 + i] = (uint8_t)(a->seq >> (8 * (7 - i)));
	memcpy(out + 5 + ex, pl, n);
	if (v13) {
		out[5 + ex + n] = type;
		memset(out + 5 + ex + n + 1, 0, pad);
	}
	hg_tls_nonce(a, a->seq, out + 5, nonce);
	if (v13) {
		memcpy(aad, out, 5);
		aad_len = 5;
	} else {
		aad_len = hg_tls12_aad(aad, a->seq, type, (uint16_t)n);
	}
	hg_tls_seal(mgr, a, nonce, aad, aad_len, &sg, 1, out + 5 + len - 16);
	a->seq++;
	return 5 + len;
}

struct crafted {
	struct peer p;
	struct hg_tls_rec t;
	struct hg_tls_aead client; /* the peer's sending keys */
	uint8_t wire[65536];
	size_t wn;
};

static void crafted_up_as(struct crafted *c, const struct suite *s,
			  bool server_peer)
{
	peer_up_as(&c->p, s, server_peer, 0);
	rec_up(&c->t, &c->p, 16384);
	cr_assert_eq(hg_tls_aead_init(&c->client, mgr, s->version, s->cipher,
				      &c->p.keys.rx),
		     0);
	c->wn = 0;
}

static void crafted_up(struct crafted *c, const struct suite *s)
{
	crafted_up_as(c, s, false);
}

static void crafted_add(struct crafted *c, uint8_t type, const void *pl,
			size_t n, size_t pad)
{
	c->wn += craft(&c->client, type, pl, n, pad, c->wire + c->wn);
}

/* Feeds what was crafted (in awkward pieces); returns the result and the
 * plaintext. */
static enum hg_tls_rx crafted_feed(struct crafted *c, uint8_t *got, size_t *gn)
{
	static const unsigned pat[] = {2, 9, 1, 40, 3};

	*gn = 0;
	return feed(&c->t, c->wire, c->wn, pat, 5, 7, got, gn, 65536);
}

static void crafted_down(struct crafted *c)
{
	hg_tls_aead_wipe(&c->client);
	hg_tls_rec_free(&c->t);
	peer_down(&c->p);
}

/* Crafts `type`/`payload` (after `pre` valid records of data) and wants
 * FATAL with `alert`. */
static void expect_refused(const struct suite *s, uint8_t type, const void *pl,
			   size_t n, size_t pad, uint8_t alert,
			   const char *what)
{
	static uint8_t got[65536];
	struct crafted c;
	size_t gn;

	crafted_up(&c, s);
	crafted_add(&c, 23, "ok", 2, 0);
	crafted_add(&c, type, pl, n, pad);
	crafted_add(&c, 23, "never", 5, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_FATAL, "%s: %s",
		     s->name, what);
	cr_assert_eq(c.t.alert, alert, "%s: %s: alert %u, want %u", s->name,
		     what, c.t.alert, alert);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 1, "%s", what);
	crafted_down(&c);
	memset(ctr, 0, sizeof(ctr));
}

Test(tls_rec, tls13_content)
{
	static uint8_t got[65536], big[16385];
	static const uint8_t ku_req[5] = {24, 0, 0, 1, 1};
	static const uint8_t nst[8] = {4, 0, 0, 4, 0, 0, 0, 1};
	const struct suite *s = &S13_AES128;
	struct crafted c;
	size_t gn;

	/* Padding, zero-length data, an ignored user_canceled, a KeyUpdate
	 * in two records, data under the new key. */
	crafted_up(&c, s);
	crafted_add(&c, 23, "padded", 6, 300);
	crafted_add(&c, 23, "", 0, 0);
	crafted_add(&c, 23, "", 0, 40);
	crafted_add(&c, 21, "\x01\x5a", 2, 0); /* user_canceled */
	crafted_add(&c, 22, ku_req, 3, 0);
	crafted_add(&c, 22, ku_req + 3, 2, 7);
	cr_assert_eq(hg_tls_aead_update(&c.client, mgr), 0);
	crafted_add(&c, 23, "rekeyed", 7, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_OK);
	cr_assert_eq(gn, 13);
	cr_assert_eq(memcmp(got, "paddedrekeyed", 13), 0);
	cr_assert(c.t.key_update_due);
	cr_assert_eq(ctr[HG_WC_tls_key_updates_in], 1);
	cr_assert_eq(ctr[HG_WC_tls_alerts_in], 1);
	cr_assert_eq(ctr[HG_WC_tls_records_in], 7);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 0);
	crafted_down(&c);
	memset(ctr, 0, sizeof(ctr));

	/* A full 2^14 bytes of content is fine, one more is not. */
	crafted_up(&c, s);
	fill(big, sizeof(big), 3);
	crafted_add(&c, 23, big, 16384, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_OK);
	cr_assert_eq(gn, 16384);
	crafted_down(&c);
	expect_refused(s, 23, big, 16385, 0, HG_TLS_ALERT_RECORD_OVERFLOW,
		       "2^14 + 1 bytes");

	expect_refused(s, 0, "", 0, 10, HG_TLS_ALERT_UNEXPECTED_MESSAGE,
		       "all padding, no type");
	expect_refused(s, 20, "\x01", 1, 0, HG_TLS_ALERT_UNEXPECTED_MESSAGE,
		       "change_cipher_spec");
	expect_refused(s, 24, "\x01\x00\x00", 3, 0,
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE, "heartbeat");
	expect_refused(s, 22, nst, sizeof(nst), 0,
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE, "NewSessionTicket");
	expect_refused(s, 22, "", 0, 0, HG_TLS_ALERT_UNEXPECTED_MESSAGE,
		       "empty handshake record");
	expect_refused(s, 22, "\x18\x00\x00\x02\x00\x00", 6, 0,
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE,
		       "KeyUpdate not ending its record");
	expect_refused(s, 22, "\x18\x00\x01\x01", 4, 0,
		       HG_TLS_ALERT_DECODE_ERROR, "KeyUpdate length");
	expect_refused(s, 22, "\x18\x00\x00\x01\x02", 5, 0,
		       HG_TLS_ALERT_ILLEGAL_PARAMETER, "KeyUpdate request 2");
	expect_refused(s, 21, "\x01\x00\x00", 3, 0, HG_TLS_ALERT_DECODE_ERROR,
		       "3-byte alert");

	/* Data between the pieces of a KeyUpdate. */
	crafted_up(&c, s);
	crafted_add(&c, 22, ku_req, 2, 0);
	crafted_add(&c, 23, "between", 7, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_FATAL);
	cr_assert_eq(c.t.alert, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	crafted_down(&c);

	/* A fatal alert from the client: nothing to send back. */
	crafted_up(&c, s);
	crafted_add(&c, 23, "bye", 3, 0);
	crafted_add(&c, 21, "\x02\x28", 2, 0); /* handshake_failure */
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_FATAL);
	cr_assert_eq(gn, 0, "nothing passed on with a fatal result");
	cr_assert(c.t.alert_received);
	cr_assert_eq(c.t.peer_alert, 40);
	cr_assert_eq(c.t.alert, 0);
	crafted_down(&c);
	expect_no_leak();
}

Test(tls_rec, tls12_content)
{
	static uint8_t got[65536], big[16385];
	static const uint8_t client_hello[8] = {1, 0, 0, 4, 3, 3, 0, 0};
	const struct suite *suites[] = {&S12_AES128, &S12_CHACHA};

	for (unsigned i = 0; i < 2; i++) {
		const struct suite *s = suites[i];
		struct crafted c;
		size_t gn;

		/* Warnings are ignored, empty data is allowed. */
		crafted_up(&c, s);
		crafted_add(&c, 23, "one", 3, 0);
		crafted_add(&c, 23, "", 0, 0);
		crafted_add(&c, 21, "\x01\x64", 2, 0); /* warning */
		crafted_add(&c, 23, "two", 3, 0);
		cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_OK);
		cr_assert_eq(gn, 6);
		cr_assert_eq(memcmp(got, "onetwo", 6), 0);
		crafted_down(&c);
		memset(ctr, 0, sizeof(ctr));

		expect_refused(s, 22, client_hello, sizeof(client_hello), 0,
			       HG_TLS_ALERT_NO_RENEGOTIATION, "renegotiation");
		expect_refused(s, 22, "\x00\x00\x00\x00", 4, 0,
			       HG_TLS_ALERT_UNEXPECTED_MESSAGE,
			       "hello_request from a client");
		expect_refused(s, 20, "\x01", 1, 0,
			       HG_TLS_ALERT_UNEXPECTED_MESSAGE,
			       "change_cipher_spec");
		expect_refused(s, 21, "\x01", 1, 0, HG_TLS_ALERT_DECODE_ERROR,
			       "1-byte alert");
		fill(big, sizeof(big), 5);
		expect_refused(s, 23, big, 16385, 0,
			       HG_TLS_ALERT_RECORD_OVERFLOW, "2^14 + 1 bytes");

		crafted_up(&c, s);
		crafted_add(&c, 21, "\x02\x14", 2, 0);
		cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_FATAL);
		cr_assert(c.t.alert_received);
		cr_assert_eq(c.t.peer_alert, 20);
		cr_assert_eq(c.t.alert, 0);
		crafted_down(&c);
	}
	expect_no_leak();
}

/* --- limits
 * ---------------------------------------------------------------------- */

Test(tls_rec, sequence_numbers_do_not_wrap)
{
	struct crafted c;
	uint8_t got[256];
	size_t gn;

	crafted_up(&c, &S13_AES128);
	c.t.rx.seq = c.client.seq = UINT64_MAX - 1;
	crafted_add(&c, 23, "last", 4, 0);
	crafted_add(&c, 23, "wrap", 4, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_FATAL);
	cr_assert_eq(gn, 0);
	c.t.tx.seq = UINT64_MAX;
	cr_assert_null(hg_tls_rec_seal(
	    &c.t, pool,
	    mk_chain((const uint8_t *)"x", 1, pat_big, 1, ROOM_NORMAL)));
	cr_assert_eq(ctr[HG_WC_tls_nomem], 1);
	crafted_down(&c);
	expect_no_leak();
}

/* A peer sending one byte per segment cannot make a record hold an mbuf
 * per byte; a flood of 1-byte records does not become an mbuf each. */
Test(tls_rec, tiny_segments_and_records_stay_compact)
{
	static uint8_t data[16384], wire[65536];
	struct peer p;
	struct hg_tls_rec t;
	struct rte_mbuf *plain = NULL;
	size_t wn;
	unsigned segs = 0;

	peer_up(&p, &S13_AES128);
	rec_up(&t, &p, 16384);
	fill(data, sizeof(data), 9);
	wn = peer_write(&p, data, sizeof(data), sizeof(data), wire,
			sizeof(wire));
	for (size_t i = 0; i + 1 < wn; i++) {
		cr_assert_eq(hg_tls_rec_open(&t, pool,
					     mk_chain(wire + i, 1, pat_bytes, 1,
						      ROOM_NORMAL),
					     &plain),
			     HG_TLS_RX_OK);
		cr_assert_null(plain);
	}
	for (struct rte_mbuf *m = t.held.head; m != NULL; m = m->next)
		segs++;
	cr_assert_leq(segs, 10, "%u mbufs for %u bytes", segs, t.held.len);
	cr_assert_eq(hg_tls_rec_open(
			 &t, pool,
			 mk_chain(wire + wn - 1, 1, pat_bytes, 1, ROOM_NORMAL),
			 &plain),
		     HG_TLS_RX_OK);
	cr_assert_not_null(plain);
	cr_assert_eq(plain->pkt_len, sizeof(data));
	rte_pktmbuf_free(plain);

	/* 2000 records of 1 byte in one go. */
	wn = peer_write(&p, data, 2000, 1, wire, sizeof(wire));
	cr_assert_eq(
	    hg_tls_rec_open(
		&t, pool, mk_chain(wire, wn, pat_big, 1, ROOM_NORMAL), &plain),
	    HG_TLS_RX_OK);
	cr_assert_not_null(plain);
	cr_assert_eq(plain->pkt_len, 2000);
	cr_assert_leq(plain->nb_segs, 2, "%u mbufs", plain->nb_segs);
	rte_pktmbuf_free(plain);
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

/* Without mbufs: refused cleanly, nothing leaked. */
Test(tls_rec, out_of_mbufs)
{
	static uint8_t wire[65536];
	static const unsigned pat[] = {1000};
	struct rte_mempool *tiny;
	struct rte_mbuf *hog[64], *plain = NULL;
	struct peer p;
	struct hg_tls_rec t;
	unsigned n = 0;
	size_t wn;
	uint8_t data[3000];

	tiny = rte_pktmbuf_pool_create(
	    "tiny", 63, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	cr_assert_not_null(tiny);
	peer_up(&p, &S12_AES256);
	rec_up(&t, &p, 16384);
	while (n < 64 && (hog[n] = rte_pktmbuf_alloc(tiny)) != NULL)
		n++;
	cr_assert_null(hg_tls_rec_alert(&t, tiny, 1, 0));
	cr_assert_eq(ctr[HG_WC_tls_nomem], 1);
	/* Seal: plain in mbufs with no room, so header and tag need new
	 * ones. */
	fill(data, sizeof(data), 1);
	cr_assert_null(hg_tls_rec_seal(
	    &t, tiny, mk_chain(data, sizeof(data), pat, 1, ROOM_NONE)));
	cr_assert_eq(ctr[HG_WC_tls_nomem], 2);
	/* Open: records ending mid-mbuf need indirect mbufs. */
	wn = peer_write(&p, data, 3000, 100, wire, sizeof(wire));
	cr_assert_eq(hg_tls_rec_open(&t, tiny,
				     mk_chain(wire, wn, pat, 1, ROOM_NORMAL),
				     &plain),
		     HG_TLS_RX_FATAL);
	cr_assert_null(plain);
	cr_assert_eq(t.alert, HG_TLS_ALERT_INTERNAL_ERROR);
	cr_assert_eq(ctr[HG_WC_tls_nomem], 3);
	hg_tls_rec_free(&t);
	while (n > 0)
		rte_pktmbuf_free(hog[--n]);
	peer_down(&p);
	expect_no_leak();
	cr_assert_eq(rte_mempool_in_use_count(tiny), 0);
	rte_mempool_free(tiny);
}

Test(tls_rec, init_refuses_unknown)
{
	struct hg_tls_keys k = {.version = HG_TLS_V13, .cipher = 9};
	struct hg_tls_rec t;

	cr_assert_eq(hg_tls_rec_init(&t, mgr, &k, 0, ctr), -1);
	k.cipher = HG_TLS_AES_128_GCM_SHA256;
	k.version = 0x0302;
	cr_assert_eq(hg_tls_rec_init(&t, mgr, &k, 0, ctr), -1);
	k.version = HG_TLS_V12;
	cr_assert_eq(hg_tls_rec_init(&t, mgr, &k, 0, ctr), 0);
	cr_assert_eq(t.record_size, 16384);
	hg_tls_rec_free(&t);
}

/* Opens wire bytes given one byte per call, with `p` as the record
 * layer's pool. Returns the last result; the plaintext goes to out. */
static enum hg_tls_rx bytewise(struct hg_tls_rec *t, struct rte_mempool *p,
			       const uint8_t *wire, size_t n, uint8_t *out,
			       size_t *out_len, size_t max)
{
	enum hg_tls_rx rc = HG_TLS_RX_OK;

	for (size_t i = 0; i < n && rc == HG_TLS_RX_OK; i++) {
		struct rte_mbuf *plain = NULL;

		rc = hg_tls_rec_open(
		    t, p, mk_chain(wire + i, 1, pat_bytes, 1, ROOM_NORMAL),
		    &plain);
		take_chain(plain, out, out_len, max);
	}
	return rc;
}

/* With mbufs of 100 bytes, a record lies in more mbufs than one scatter
 * list takes: compacted when that helps, refused (not overrun) when not. */
Test(tls_rec, records_in_tiny_mbufs)
{
	static uint8_t data[16000], wire[32768], got[32768];
	struct rte_mempool *small;
	struct peer p;
	struct hg_tls_rec t;
	size_t wn, gn = 0;

	small = rte_pktmbuf_pool_create(
	    "small", 2047, 0, 0, RTE_PKTMBUF_HEADROOM + 100, SOCKET_ID_ANY);
	cr_assert_not_null(small);
	peer_up(&p, &S13_AES256);
	rec_up(&t, &p, 16384);
	fill(data, sizeof(data), 4);
	wn = peer_write(&p, data, 5000, 5000, wire, sizeof(wire));
	cr_assert_eq(bytewise(&t, small, wire, wn, got, &gn, sizeof(got)),
		     HG_TLS_RX_OK);
	cr_assert_eq(gn, 5000);
	cr_assert_eq(memcmp(got, data, 5000), 0);
	wn = peer_write(&p, data, sizeof(data), sizeof(data), wire,
			sizeof(wire));
	cr_assert_eq(bytewise(&t, small, wire, wn, got, &gn, sizeof(got)),
		     HG_TLS_RX_FATAL);
	cr_assert_eq(t.alert, HG_TLS_ALERT_INTERNAL_ERROR);
	cr_assert_eq(ctr[HG_WC_tls_nomem], 1);
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
	cr_assert_eq(rte_mempool_in_use_count(small), 0);
	rte_mempool_free(small);
}

/* --- a server for a peer (TLS to backends) ------------------------------- */

/* Both ways with a real server that sent three NewSessionTickets before
 * its first data (TLS 1.3) and two more later, between data. */
static void run_server_peer(const struct suite *s)
{
	static const unsigned p1448[] = {1448};
	bool v13 = s->version == HG_TLS_V13;
	struct peer p;
	struct hg_tls_rec t;

	peer_up_as(&p, s, true, 3);
	rec_up(&t, &p, 16384);
	cr_assert(t.peer_is_server);
	rx_case(&p, &t, 50, 50, pat_big, 1, 1);
	cr_assert_eq(ctr[HG_WC_tls_records_in], (v13 ? 3 : 0) + 1);
	rx_case(&p, &t, 40000, 16384, pat_big, 1, 4);
	if (v13) {
		cr_assert_eq(SSL_new_session_ticket(p.s_ssl), 1);
		cr_assert_eq(SSL_new_session_ticket(p.s_ssl), 1);
	}
	rx_case(&p, &t, 3000, 100, pat_mid, 8, 3); /* tickets first */
	rx_case(&p, &t, 2000, 1000, pat_bytes, 1, 64);
	rx_case(&p, &t, 70000, 16384, pat_odd, 7, 5);
	cr_assert_eq(ctr[HG_WC_tls_decrypt_failures], 0);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 0);

	tx_case(&p, &t, 100, p1448, 1, ROOM_NORMAL, false);
	tx_case(&p, &t, 60000, p1448, 1, ROOM_NO_TAIL, false);
	tx_case(&p, &t, 30000, p1448, 1, ROOM_NORMAL, true);
	t.record_size = 1000;
	tx_case(&p, &t, 20000, p1448, 1, ROOM_NORMAL, false);
	cr_assert_eq(ctr[HG_WC_tls_nomem], 0);
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

Test(tls_rec, server_peer_tls13_aes128_gcm)
{
	run_server_peer(&S13_AES128);
}

Test(tls_rec, server_peer_tls13_aes256_gcm)
{
	run_server_peer(&S13_AES256);
}

Test(tls_rec, server_peer_tls13_chacha20_poly1305)
{
	run_server_peer(&S13_CHACHA);
}

Test(tls_rec, server_peer_tls12_ecdhe_ecdsa_aes128_gcm)
{
	run_server_peer(&S12_AES128);
}

Test(tls_rec, server_peer_tls12_ecdhe_rsa_aes256_gcm)
{
	run_server_peer(&S12_AES256);
}

Test(tls_rec, server_peer_tls12_ecdhe_ecdsa_chacha20_poly1305)
{
	run_server_peer(&S12_CHACHA);
}

/* The server's KeyUpdate, asking for ours, behind its tickets. */
Test(tls_rec, server_peer_key_update)
{
	struct peer p;
	struct hg_tls_rec t;
	uint8_t wire[8192], got[256];
	size_t wn, gn = 0;

	peer_up_as(&p, &S13_AES256, true, 2);
	rec_up(&t, &p, 16384);
	cr_assert_eq(SSL_key_update(p.s_ssl, SSL_KEY_UPDATE_REQUESTED), 1);
	wn = peer_write(&p, (const uint8_t *)"after", 5, 5, wire, sizeof(wire));
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_OK);
	cr_assert_eq(gn, 5);
	cr_assert_eq(memcmp(got, "after", 5), 0);
	cr_assert_eq(ctr[HG_WC_tls_key_updates_in], 1);
	cr_assert(t.key_update_due);
	send_to_peer(&p, hg_tls_rec_seal(&t, pool,
					 mk_chain((const uint8_t *)"reply", 5,
						  pat_big, 1, ROOM_NORMAL)));
	cr_assert_eq(ctr[HG_WC_tls_key_updates_out], 1);
	expect_peer_reads(&p, "reply");
	gn = 0;
	wn = peer_write(&p, (const uint8_t *)"more", 4, 4, wire, sizeof(wire));
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_OK);
	cr_assert_eq(gn, 4);
	cr_assert_eq(memcmp(got, "more", 4), 0);
	/* ours, the other way */
	send_to_peer(&p, hg_tls_rec_key_update(&t, pool, true));
	send_to_peer(&p, hg_tls_rec_seal(&t, pool,
					 mk_chain((const uint8_t *)"new key", 7,
						  pat_big, 1, ROOM_NORMAL)));
	expect_peer_reads(&p, "new key");
	gn = 0;
	wn =
	    peer_write(&p, (const uint8_t *)"answer", 6, 6, wire, sizeof(wire));
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_OK);
	cr_assert_eq(gn, 6);
	cr_assert_eq(ctr[HG_WC_tls_key_updates_in], 2);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 0);
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

/* A TLS 1.2 server asks for renegotiation: the HelloRequest is ignored
 * and data goes on. */
Test(tls_rec, server_peer_hello_request_ignored)
{
	struct peer p;
	struct hg_tls_rec t;
	uint8_t wire[8192], got[256];
	size_t wn, gn = 0;

	peer_up_as(&p, &S12_CHACHA, true, 0);
	rec_up(&t, &p, 16384);
	wn =
	    peer_write(&p, (const uint8_t *)"before", 6, 6, wire, sizeof(wire));
	cr_assert_eq(SSL_renegotiate(p.s_ssl), 1);
	(void)SSL_do_handshake(p.s_ssl); /* writes the HelloRequest */
	cr_assert_gt(BIO_pending(p.s_out), 0);
	wn += drain(p.s_out, wire + wn, sizeof(wire) - wn);
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_OK);
	cr_assert_eq(gn, 6);
	cr_assert_eq(memcmp(got, "before", 6), 0);
	cr_assert_eq(ctr[HG_WC_tls_records_in], 2);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 0);
	cr_assert_eq(t.hs_len, 0);
	/* The server takes our data without a ClientHello, and goes on. */
	send_to_peer(&p,
		     hg_tls_rec_seal(&t, pool,
				     mk_chain((const uint8_t *)"still here", 10,
					      pat_big, 1, ROOM_NORMAL)));
	expect_peer_reads(&p, "still here");
	gn = 0;
	wn = peer_write(&p, (const uint8_t *)"after", 5, 5, wire, sizeof(wire));
	open_all(&t, wire, wn, got, &gn, sizeof(got), HG_TLS_RX_OK);
	cr_assert_eq(gn, 5);
	cr_assert_eq(memcmp(got, "after", 5), 0);
	hg_tls_rec_free(&t);
	peer_down(&p);
	expect_no_leak();
}

/* A NewSessionTicket: type, length, lifetime, age_add, a 1-byte nonce,
 * a ticket of `ticket` bytes, no extensions. Returns its length. */
static size_t make_nst(uint8_t *b, size_t ticket)
{
	size_t body = 4 + 4 + 1 + 1 + 2 + ticket + 2, n = 0;

	b[n++] = 4;
	b[n++] = (uint8_t)(body >> 16);
	b[n++] = (uint8_t)(body >> 8);
	b[n++] = (uint8_t)body;
	memset(b + n, 0x11, 8); /* lifetime, age_add */
	n += 8;
	b[n++] = 1;
	b[n++] = 0x22; /* nonce */
	b[n++] = (uint8_t)(ticket >> 8);
	b[n++] = (uint8_t)ticket;
	fill(b + n, ticket, 77);
	n += ticket;
	b[n++] = 0;
	b[n++] = 0;
	return n;
}

/* Wants FATAL with `alert` for what the server peer sent after "ok". */
static void server_refused(const struct suite *s, uint8_t type, const void *pl,
			   size_t n, uint8_t alert, const char *what)
{
	static uint8_t got[65536];
	struct crafted c;
	size_t gn;

	crafted_up_as(&c, s, true);
	crafted_add(&c, 23, "ok", 2, 0);
	crafted_add(&c, type, pl, n, 0);
	crafted_add(&c, 23, "never", 5, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_FATAL, "%s: %s",
		     s->name, what);
	cr_assert_eq(c.t.alert, alert, "%s: %s: alert %u, want %u", s->name,
		     what, c.t.alert, alert);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 1, "%s", what);
	crafted_down(&c);
	memset(ctr, 0, sizeof(ctr));
}

Test(tls_rec, server_peer_tls13_tickets)
{
	static uint8_t got[65536], hs[65536];
	static const uint8_t ku[5] = {24, 0, 0, 1, 0};
	const struct suite *s = &S13_CHACHA;
	struct crafted c;
	size_t gn, n1, n2, n;

	/* Two in one record, one cut in three (its header too), one with a
	 * big ticket over three records, one followed by a KeyUpdate in the
	 * same record; data between them all. */
	crafted_up_as(&c, s, true);
	n1 = make_nst(hs, 100);
	n2 = make_nst(hs + n1, 0x4000 - n1 - 100);
	crafted_add(&c, 22, hs, n1 + n2, 0);
	crafted_add(&c, 23, "a", 1, 0);
	n = make_nst(hs, 300);
	crafted_add(&c, 22, hs, 2, 0);
	crafted_add(&c, 22, hs + 2, 100, 3);
	crafted_add(&c, 22, hs + 102, n - 102, 0);
	crafted_add(&c, 23, "b", 1, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_OK);
	cr_assert_eq(gn, 2);
	cr_assert_eq(memcmp(got, "ab", 2), 0);
	cr_assert_eq(c.t.hs_len, 0);
	c.wn = 0;
	n = make_nst(hs, 40000);
	crafted_add(&c, 22, hs, 16000, 0);
	crafted_add(&c, 22, hs + 16000, 16000, 0);
	crafted_add(&c, 22, hs + 32000, n - 32000, 0);
	crafted_add(&c, 23, "c", 1, 0);
	n = make_nst(hs, 50);
	memcpy(hs + n, ku, sizeof(ku));
	crafted_add(&c, 22, hs, n + sizeof(ku), 0);
	cr_assert_eq(hg_tls_aead_update(&c.client, mgr), 0);
	crafted_add(&c, 23, "d", 1, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_OK);
	cr_assert_eq(gn, 2);
	cr_assert_eq(memcmp(got, "cd", 2), 0);
	cr_assert_eq(ctr[HG_WC_tls_key_updates_in], 1);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 0);
	crafted_down(&c);
	memset(ctr, 0, sizeof(ctr));

	/* Data inside a ticket. */
	crafted_up_as(&c, s, true);
	n = make_nst(hs, 100);
	crafted_add(&c, 22, hs, 50, 0);
	crafted_add(&c, 23, "between", 7, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_FATAL);
	cr_assert_eq(c.t.alert, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	crafted_down(&c);
	memset(ctr, 0, sizeof(ctr));

	/* A KeyUpdate must end its record, also after a ticket. */
	n = make_nst(hs, 10);
	memcpy(hs + n, ku, sizeof(ku));
	memcpy(hs + n + sizeof(ku), hs, n);
	server_refused(s, 22, hs, 2 * n + sizeof(ku),
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE,
		       "KeyUpdate before a ticket in one record");
	memcpy(hs, "\x04\x00\x00\x0d", 4);
	server_refused(s, 22, hs, 17, HG_TLS_ALERT_DECODE_ERROR,
		       "ticket below the minimum");
	memcpy(hs, "\x04\x02\x01\x0b", 4);
	server_refused(s, 22, hs, 4, HG_TLS_ALERT_DECODE_ERROR,
		       "ticket above the maximum");
	server_refused(s, 22, "\x0d\x00\x00\x00", 4,
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE, "CertificateRequest");
	server_refused(s, 22, "\x02\x00\x00\x00", 4,
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE, "ServerHello");
	server_refused(s, 22, "", 0, HG_TLS_ALERT_UNEXPECTED_MESSAGE,
		       "empty handshake record");
	server_refused(s, 20, "\x01", 1, HG_TLS_ALERT_UNEXPECTED_MESSAGE,
		       "change_cipher_spec");
	expect_no_leak();
}

Test(tls_rec, server_peer_tls12_hello_requests)
{
	static uint8_t got[65536];
	static const uint8_t hr[8] = {0};
	const struct suite *s = &S12_AES256;
	struct crafted c;
	size_t gn;

	/* One, two in one record, one cut in two: all ignored. */
	crafted_up_as(&c, s, true);
	crafted_add(&c, 23, "one", 3, 0);
	crafted_add(&c, 22, hr, 4, 0);
	crafted_add(&c, 22, hr, 8, 0);
	crafted_add(&c, 22, hr, 1, 0);
	crafted_add(&c, 22, hr, 3, 0);
	crafted_add(&c, 23, "two", 3, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_OK);
	cr_assert_eq(gn, 6);
	cr_assert_eq(memcmp(got, "onetwo", 6), 0);
	cr_assert_eq(ctr[HG_WC_tls_records_in], 6);
	cr_assert_eq(ctr[HG_WC_tls_bad_records], 0);
	crafted_down(&c);
	memset(ctr, 0, sizeof(ctr));

	/* Data inside one. */
	crafted_up_as(&c, s, true);
	crafted_add(&c, 22, hr, 2, 0);
	crafted_add(&c, 23, "between", 7, 0);
	cr_assert_eq(crafted_feed(&c, got, &gn), HG_TLS_RX_FATAL);
	cr_assert_eq(c.t.alert, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	crafted_down(&c);
	memset(ctr, 0, sizeof(ctr));

	server_refused(s, 22, "\x00\x00\x00\x01\x00", 5,
		       HG_TLS_ALERT_DECODE_ERROR, "HelloRequest with a body");
	server_refused(s, 22, "\x02\x00\x00\x00", 4,
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE, "ServerHello");
	server_refused(s, 22, "\x01\x00\x00\x00", 4,
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE, "ClientHello");
	server_refused(s, 22, "", 0, HG_TLS_ALERT_UNEXPECTED_MESSAGE,
		       "empty handshake record");
	server_refused(s, 22, "\x04\x00\x00\x0e", 4,
		       HG_TLS_ALERT_UNEXPECTED_MESSAGE, "NewSessionTicket");
	expect_no_leak();
}
