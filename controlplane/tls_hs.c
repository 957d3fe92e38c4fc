/* The TLS handshake engine: see tls_hs.h for the contract.
 *
 * How the hand-off stays exact:
 * - Client bytes reach OpenSSL one whole record at a time (we parse the
 *   5-byte header), and SSL_do_handshake runs after each. The record after
 *   which it returns 1 is the one carrying the client's Finished; nothing
 *   after it is ever written to the read BIO, so OpenSSL cannot have read
 *   (or decrypted) an application record, and hg_tls_hs_consumed() is the
 *   stream offset right after that record.
 * - TLS 1.3 traffic secrets come from the keylog callback; keys and IVs
 *   are HKDF-Expand-Label of them (RFC 8446 7.3). The client has sent
 *   nothing under its application key (rx seq 0). OpenSSL 3.0's server
 *   sends NewSessionTickets under the server application key in the very
 *   call that completes the handshake: we count them by trial-decrypting
 *   every application_data record the server writes with that key (an
 *   AEAD tag cannot verify under the wrong key), so the count holds
 *   whatever OpenSSL's ticket policy is (num_tickets, one on resumption,
 *   none when off).
 * - TLS 1.2 keys come from the key block (RFC 5246 6.3, the PRF over the
 *   master secret). Sequence numbers restart at the ChangeCipherSpec of
 *   each direction, so the next one is the number of records sent after
 *   it (the Finished: 1), counted on the records we see pass.
 */
#include "tls_hs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define DEFAULT_SUITES13                                                       \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"                       \
	"TLS_CHACHA20_POLY1305_SHA256"
#define DEFAULT_CIPHERS12                                                      \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define DEFAULT_GROUPS		  "X25519:P-256:P-384"
#define DEFAULT_TICKET_LIFETIME_S 3600

#define REC_HDR	     5
#define CT_CCS	     20
#define CT_ALERT     21
#define CT_HANDSHAKE 22
#define CT_APPDATA   23

#define TICKET_NAME_LEN 16
#define TICKET_AES_LEN	32 /* AES-256-CBC */
#define TICKET_HMAC_LEN 32 /* HMAC-SHA256 */

struct cert {
	X509 *leaf;
	STACK_OF(X509) * chain; /* intermediates, may be NULL */
	EVP_PKEY *key;
	/* The names it answers for (DNS SANs sorted, else the CN): the
	 * certificates of one name with other key types go with it. */
	char names[512];
};

struct ticket_key {
	uint8_t name[TICKET_NAME_LEN];
	uint8_t aes[TICKET_AES_LEN];
	uint8_t hmac[TICKET_HMAC_LEN];
	bool valid;
};

/* What key derivation and the tx probe use, fetched once per server or
 * client. */
struct crypto {
	EVP_KDF *hkdf, *prf;
	EVP_CIPHER *aes128gcm, *aes256gcm, *chacha;
};

struct hg_tls_server {
	SSL_CTX *ctx;
	struct crypto cr;
	struct cert certs[HG_TLS_MAX_CERTS];
	unsigned n_certs;
	/* ALPN in wire format (length-prefixed names), our preference order */
	uint8_t alpn[HG_TLS_LIST_MAX + 1];
	size_t alpn_len;
	bool tickets;
	unsigned ticket_lifetime_s;
	uint64_t next_rotation_s; /* 0 until the first tick */
	struct ticket_key ticket_cur, ticket_prev;
	EVP_CIPHER *aes256cbc; /* the ticket cipher */
};

/* A backend's last resumable session (TLS 1.2 only: see tls_hs.h). */
struct session {
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	uint64_t used; /* the client's clock at the last store or use */
	SSL_SESSION *sess;
};

struct hg_tls_client {
	SSL_CTX *ctx;
	struct crypto cr;
	bool verify;
	bool session_reuse;
	bool name_is_ip; /* server_name is an address: verified, not SNI */
	char server_name[HG_TLS_PATH_MAX];
	uint64_t clock; /* counts stores and uses, for replacement */
	struct session sessions[HG_TLS_CLIENT_SESSIONS];
};

/* One handshake, either role. "Peer" is the other side (the client for a
 * server, the backend for a client), "own" ours: rx is what the peer
 * sends, tx what we send, whatever the role. */
struct hg_tls_hs {
	const struct crypto *cr;
	struct hg_tls_server *server; /* the server role's, else NULL */
	struct hg_tls_client *client; /* the client role's, else NULL */
	/* client role: the backend (the session's key) */
	char backend_ip[INET6_ADDRSTRLEN];
	uint16_t backend_port;
	SSL *ssl; /* NULL once DONE or FAILED */
	enum hg_tls_hs_status status;
	const char *fail_reason;
	const char *fail_detail;

	/* the peer record being gathered: header, then body */
	uint8_t rec[REC_HDR + HG_TLS_RECORD_MAX];
	size_t rec_len;
	uint64_t fed; /* peer bytes handed to OpenSSL, whole records */
	unsigned records_fed;
	bool own_spoke; /* a handshake record of ours went out */

	/* TLS 1.2: records after each side's ChangeCipherSpec */
	bool peer_ccs, own_ccs;
	uint64_t rx_after_ccs, tx_after_ccs;

	/* TLS 1.3: the application traffic secrets (keylog callback) and our
	 * own key, to count the records we sent under it */
	uint8_t client_secret[HG_TLS_MAX_SECRET];
	uint8_t server_secret[HG_TLS_MAX_SECRET];
	size_t client_secret_len, server_secret_len;
	uint8_t probe_cipher;
	uint8_t probe_key[HG_TLS_MAX_KEY];
	uint8_t probe_iv[HG_TLS_IV_LEN];
	uint64_t tx_app_records;
	bool tx_anomaly; /* a record failed the probe after one passed */

	int alert_sent; /* last alert description we sent, -1 none */
	bool peer_alert;

	uint64_t consumed;
	struct hg_tls_keys keys;
	bool keys_ready;
	struct hg_tls_hs_info info;
};

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* OpenSSL's reason for the last failure, for an error message. */
static const char *ossl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	return r != NULL ? r : "unknown error";
}

/* ---- suites ---- */

/* The suites we hand keys over for; everything else is refused at load
 * and, should OpenSSL negotiate it anyway, at the end of a handshake. */
static uint8_t cipher_of(uint16_t protocol_id, int version)
{
	if (version == TLS1_3_VERSION) {
		switch (protocol_id) {
		case 0x1301:
			return HG_TLS_AES_128_GCM_SHA256;
		case 0x1302:
			return HG_TLS_AES_256_GCM_SHA384;
		case 0x1303:
			return HG_TLS_CHACHA20_POLY1305_SHA256;
		}
	} else if (version == TLS1_2_VERSION) {
		switch (protocol_id) {
		case 0xC02B: /* ECDHE-ECDSA-AES128-GCM-SHA256 */
		case 0xC02F: /* ECDHE-RSA-AES128-GCM-SHA256 */
			return HG_TLS_AES_128_GCM_SHA256;
		case 0xC02C: /* ECDHE-ECDSA-AES256-GCM-SHA384 */
		case 0xC030: /* ECDHE-RSA-AES256-GCM-SHA384 */
			return HG_TLS_AES_256_GCM_SHA384;
		case 0xCCA9: /* ECDHE-ECDSA-CHACHA20-POLY1305 */
		case 0xCCA8: /* ECDHE-RSA-CHACHA20-POLY1305 */
			return HG_TLS_CHACHA20_POLY1305_SHA256;
		}
	}
	return HG_TLS_CIPHER_NONE;
}

static const char *digest_of(uint8_t cipher)
{
	return cipher == HG_TLS_AES_256_GCM_SHA384 ? "SHA384" : "SHA256";
}

static const EVP_CIPHER *aead_of(const struct crypto *cr, uint8_t cipher)
{
	switch (cipher) {
	case HG_TLS_AES_128_GCM_SHA256:
		return cr->aes128gcm;
	case HG_TLS_AES_256_GCM_SHA384:
		return cr->aes256gcm;
	case HG_TLS_CHACHA20_POLY1305_SHA256:
		return cr->chacha;
	}
	return NULL;
}

static int crypto_init(struct crypto *cr)
{
	cr->hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	cr->prf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	cr->aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	cr->aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	cr->chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	return cr->hkdf != NULL && cr->prf != NULL && cr->aes128gcm != NULL &&
		       cr->aes256gcm != NULL && cr->chacha != NULL
		   ? 0
		   : -1;
}

static void crypto_free(struct crypto *cr)
{
	EVP_KDF_free(cr->hkdf);
	EVP_KDF_free(cr->prf);
	EVP_CIPHER_free(cr->aes128gcm);
	EVP_CIPHER_free(cr->aes256gcm);
	EVP_CIPHER_free(cr->chacha);
	memset(cr, 0, sizeof(*cr));
}

static bool is_list_sep(char c)
{
	return c == ':' || c == ',' || c == ' ' || c == ';';
}

/* Copies the next separator-delimited token of *p into tok; false at the
 * end of the list. */
static bool next_token(const char **p, char *tok, size_t toklen)
{
	const char *s = *p, *e;
	size_t n;

	while (*s != '\0' && is_list_sep(*s))
		s++;
	if (*s == '\0')
		return false;
	for (e = s; *e != '\0' && !is_list_sep(*e); e++)
		;
	n = (size_t)(e - s);
	if (n >= toklen)
		n = toklen - 1;
	memcpy(tok, s, n);
	tok[n] = '\0';
	*p = e;
	return true;
}

static int set_suites13(SSL_CTX *ctx, const char *list, char *err,
			size_t errlen)
{
	static const char *const allowed[] = {
	    "TLS_AES_128_GCM_SHA256",
	    "TLS_AES_256_GCM_SHA384",
	    "TLS_CHACHA20_POLY1305_SHA256",
	};
	const char *p = list;
	char tok[HG_TLS_LIST_MAX];
	unsigned n = 0;

	if (list[0] == '\0')
		list = p = DEFAULT_SUITES13;
	/* OpenSSL skips names it does not know: check each one here. */
	while (next_token(&p, tok, sizeof(tok))) {
		size_t i;

		for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
			if (strcmp(tok, allowed[i]) == 0)
				break;
		if (i == sizeof(allowed) / sizeof(allowed[0])) {
			errf(err, errlen,
			     "ciphersuites: '%s' is not allowed (only "
			     "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, "
			     "TLS_CHACHA20_POLY1305_SHA256)",
			     tok);
			return -1;
		}
		n++;
	}
	if (n == 0 || SSL_CTX_set_ciphersuites(ctx, list) != 1) {
		errf(err, errlen, "ciphersuites: '%s' rejected by OpenSSL (%s)",
		     list, ossl_reason());
		return -1;
	}
	return 0;
}

static int set_ciphers12(SSL_CTX *ctx, const char *list, char *err,
			 size_t errlen)
{
	STACK_OF(SSL_CIPHER) * ciphers;
	SSL_CTX *scratch;
	const char *p;
	char tok[HG_TLS_LIST_MAX];
	unsigned n12 = 0;
	int i;

	if (list[0] == '\0')
		list = DEFAULT_CIPHERS12;
	/* OpenSSL ignores unknown names in a list that matches something;
	 * a typo should not silently drop a suite, so each positive term
	 * must match on its own. */
	scratch = SSL_CTX_new(TLS_server_method());
	if (scratch == NULL) {
		errf(err, errlen, "ciphers: out of memory");
		return -1;
	}
	p = list;
	while (next_token(&p, tok, sizeof(tok))) {
		if (strchr("!-+@", tok[0]) != NULL)
			continue;
		if (SSL_CTX_set_cipher_list(scratch, tok) != 1) {
			SSL_CTX_free(scratch);
			errf(err, errlen, "ciphers: unknown cipher '%s'", tok);
			return -1;
		}
	}
	SSL_CTX_free(scratch);
	if (SSL_CTX_set_cipher_list(ctx, list) != 1) {
		errf(err, errlen, "ciphers: '%s' rejected by OpenSSL (%s)",
		     list, ossl_reason());
		return -1;
	}
	/* What the list expands to must be ECDHE + AEAD, every entry. */
	ciphers = SSL_CTX_get_ciphers(ctx);
	for (i = 0; i < sk_SSL_CIPHER_num(ciphers); i++) {
		const SSL_CIPHER *c = sk_SSL_CIPHER_value(ciphers, i);
		uint16_t id = SSL_CIPHER_get_protocol_id(c);

		if ((id >> 8) == 0x13) /* the TLS 1.3 suites, set apart */
			continue;
		if (cipher_of(id, TLS1_2_VERSION) == HG_TLS_CIPHER_NONE) {
			errf(
			    err, errlen,
			    "ciphers: '%s' is not allowed (ECDHE-ECDSA or "
			    "ECDHE-RSA with AES-GCM or ChaCha20-Poly1305 only)",
			    SSL_CIPHER_get_name(c));
			return -1;
		}
		n12++;
	}
	if (n12 == 0) {
		errf(err, errlen, "ciphers: '%s' selects no TLS 1.2 suite",
		     list);
		return -1;
	}
	return 0;
}

/* A comma list into ALPN's wire format (length-prefixed names). */
static int parse_alpn(uint8_t *wire, size_t cap, size_t *wire_len,
		      const char *list, char *err, size_t errlen)
{
	const char *p = list;

	*wire_len = 0;
	while (*p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (n == 0 || n > 255) {
			errf(err, errlen,
			     "alpn: empty or over-long protocol name in '%s'",
			     list);
			return -1;
		}
		if (*wire_len + 1 + n > cap) {
			errf(err, errlen, "alpn: '%s' is too long", list);
			return -1;
		}
		wire[*wire_len] = (uint8_t)n;
		memcpy(wire + *wire_len + 1, p, n);
		*wire_len += 1 + n;
		if (e == NULL)
			break;
		p = e + 1;
		if (*p == '\0') {
			errf(err, errlen, "alpn: '%s' ends with a comma", list);
			return -1;
		}
	}
	return 0;
}

/* ---- certificates ---- */

/* PEM keys with a passphrase would make OpenSSL prompt on the terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void cert_names(X509 *x, char *out, size_t len)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	const char *names[32];
	int n = 0;
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens) && n < 32;
	     i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS)
			names[n++] =
			    (const char *)ASN1_STRING_get0_data(g->d.dNSName);
	}
	qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + used, len - used, "%s%s", i ? "," : "",
				 names[i]);

		if (w < 0 || (size_t)w >= len - used)
			break;
		used += (size_t)w;
	}
	if (n == 0)
		X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					  NID_commonName, out, (int)len);
	GENERAL_NAMES_free(gens);
}

static void cert_clear(struct cert *c)
{
	X509_free(c->leaf);
	sk_X509_pop_free(c->chain, X509_free);
	EVP_PKEY_free(c->key);
	memset(c, 0, sizeof(*c));
}

static int load_cert(struct cert *c, const struct hg_tls_cert_config *cc,
		     unsigned idx, char *err, size_t errlen)
{
	FILE *f;
	X509 *x;

	if (cc->cert[0] == '\0' || cc->key[0] == '\0') {
		errf(err, errlen, "certs[%u]: cert and key paths are required",
		     idx);
		return -1;
	}
	f = fopen(cc->cert, "r");
	if (f == NULL) {
		errf(err, errlen, "certs[%u].cert: %s: %s", idx, cc->cert,
		     strerror(errno));
		return -1;
	}
	c->leaf = PEM_read_X509(f, NULL, no_passphrase, NULL);
	if (c->leaf == NULL) {
		fclose(f);
		errf(err, errlen, "certs[%u].cert: %s: no PEM certificate (%s)",
		     idx, cc->cert, ossl_reason());
		return -1;
	}
	/* The rest of the file is the chain; it ends at the first read that
	 * finds no further PEM block. */
	while ((x = PEM_read_X509(f, NULL, no_passphrase, NULL)) != NULL) {
		if (c->chain == NULL)
			c->chain = sk_X509_new_null();
		if (c->chain == NULL || !sk_X509_push(c->chain, x)) {
			X509_free(x);
			fclose(f);
			errf(err, errlen, "certs[%u].cert: out of memory", idx);
			return -1;
		}
	}
	fclose(f);
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) {
		errf(err, errlen,
		     "certs[%u].cert: %s: bad chain certificate (%s)", idx,
		     cc->cert, ossl_reason());
		return -1;
	}
	ERR_clear_error();

	f = fopen(cc->key, "r");
	if (f == NULL) {
		errf(err, errlen, "certs[%u].key: %s: %s", idx, cc->key,
		     strerror(errno));
		return -1;
	}
	c->key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	fclose(f);
	if (c->key == NULL) {
		errf(err, errlen,
		     "certs[%u].key: %s: no unencrypted PEM private key (%s)",
		     idx, cc->key, ossl_reason());
		return -1;
	}
	if (EVP_PKEY_is_a(c->key, "EC")) {
		/* any named curve OpenSSL signs with */
	} else if (EVP_PKEY_is_a(c->key, "RSA")) {
		if (EVP_PKEY_get_bits(c->key) < 2048) {
			errf(err, errlen,
			     "certs[%u].key: %s: RSA key of %d bits (2048 at "
			     "least)",
			     idx, cc->key, EVP_PKEY_get_bits(c->key));
			return -1;
		}
	} else {
		errf(err, errlen,
		     "certs[%u].key: %s: %s key (ECDSA or RSA only)", idx,
		     cc->key, EVP_PKEY_get0_type_name(c->key));
		return -1;
	}
	cert_names(c->leaf, c->names, sizeof(c->names));
	if (X509_check_private_key(c->leaf, c->key) != 1) {
		errf(err, errlen,
		     "certs[%u].key: %s does not match certs[%u].cert %s", idx,
		     cc->key, idx, cc->cert);
		return -1;
	}
	ERR_clear_error();
	return 0;
}

/* SNI: an exact name beats a wildcard; the first certificate is the
 * default. X509_check_host looks at DNS SANs, else the CN. */
static const struct cert *pick_cert(const struct hg_tls_server *s,
				    const char *name, bool *matched)
{
	static const unsigned passes[] = {
	    X509_CHECK_FLAG_NO_WILDCARDS,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
	};
	unsigned p, i;

	*matched = false;
	if (name == NULL || name[0] == '\0')
		return &s->certs[0];
	for (p = 0; p < 2; p++)
		for (i = 0; i < s->n_certs; i++)
			if (X509_check_host(s->certs[i].leaf, name,
					    strlen(name), passes[p],
					    NULL) == 1) {
				*matched = true;
				return &s->certs[i];
			}
	return &s->certs[0];
}

/* ---- callbacks ---- */

static int on_servername(SSL *ssl, int *alert, void *arg)
{
	const struct hg_tls_server *s = arg;
	bool matched;

	(void)alert;
	/* Acknowledge names we have a certificate for; an unknown name
	 * gets the default certificate, unacknowledged. */
	pick_cert(s, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
		  &matched);
	return matched ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

/* Runs before the TLS 1.2 suite and the signature algorithm are chosen,
 * so the connection holds only the certificate SNI picked and, for the
 * same names, those with other key types (an ECDSA and an RSA one):
 * OpenSSL then picks by the client's suites and signature algorithms. */
static int on_cert(SSL *ssl, void *arg)
{
	const struct hg_tls_server *s = arg;
	const struct cert *c;
	bool matched;
	int have[HG_TLS_MAX_CERTS], n_have = 0;

	c = pick_cert(s, SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name),
		      &matched);
	SSL_certs_clear(ssl);
	if (SSL_use_cert_and_key(ssl, c->leaf, c->key, c->chain, 1) != 1)
		return 0;
	have[n_have++] = EVP_PKEY_get_base_id(c->key);
	for (unsigned i = 0; i < s->n_certs; i++) {
		const struct cert *o = &s->certs[i];
		int type = EVP_PKEY_get_base_id(o->key), j;

		if (o == c || strcmp(o->names, c->names) != 0)
			continue;
		for (j = 0; j < n_have && have[j] != type; j++)
			;
		if (j < n_have)
			continue; /* that key type is taken */
		if (SSL_use_cert_and_key(ssl, o->leaf, o->key, o->chain, 1) !=
		    1)
			return 0;
		have[n_have++] = type;
	}
	return 1;
}

static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	const struct hg_tls_server *s = arg;
	size_t i, j;

	(void)ssl;
	for (i = 0; i < s->alpn_len; i += 1 + (size_t)s->alpn[i]) {
		const uint8_t *ours = s->alpn + i + 1;
		uint8_t olen = s->alpn[i];

		for (j = 0; j < inlen; j += 1 + (size_t)in[j]) {
			uint8_t clen = in[j];

			if (clen == 0 || j + 1 + clen > inlen)
				break; /* malformed: OpenSSL checks, we too */
			if (clen == olen &&
			    memcmp(in + j + 1, ours, olen) == 0) {
				*out = ours;
				*outlen = olen;
				return SSL_TLSEXT_ERR_OK;
			}
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static void on_info(const SSL *ssl, int where, int ret)
{
	struct hg_tls_hs *hs = SSL_get_app_data(ssl);

	if (hs == NULL || !(where & SSL_CB_ALERT))
		return;
	if (where & SSL_CB_WRITE)
		hs->alert_sent = ret & 0xff;
	else if ((ret >> 8) == SSL3_AL_FATAL ||
		 (ret & 0xff) == SSL_AD_CLOSE_NOTIFY)
		hs->peer_alert = true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "<LABEL> <client_random hex> <secret hex>"; we keep the two
 * application traffic secrets and ignore the handshake ones. */
static void on_keylog(const SSL *ssl, const char *line)
{
	static const char client[] = "CLIENT_TRAFFIC_SECRET_0 ";
	static const char server[] = "SERVER_TRAFFIC_SECRET_0 ";
	struct hg_tls_hs *hs = SSL_get_app_data(ssl);
	uint8_t *dst;
	size_t *dst_len, n = 0;
	const char *p;

	if (hs == NULL)
		return;
	if (strncmp(line, client, sizeof(client) - 1) == 0) {
		dst = hs->client_secret;
		dst_len = &hs->client_secret_len;
	} else if (strncmp(line, server, sizeof(server) - 1) == 0) {
		dst = hs->server_secret;
		dst_len = &hs->server_secret_len;
	} else {
		return;
	}
	*dst_len = 0;
	p = strchr(line + sizeof(client) - 1, ' ');
	if (p == NULL)
		return;
	for (p++; p[0] != '\0'; p += 2) {
		int hi = hexval(p[0]), lo = hexval(p[1]);

		if (hi < 0 || lo < 0 || n == HG_TLS_MAX_SECRET) {
			OPENSSL_cleanse(dst, HG_TLS_MAX_SECRET);
			return;
		}
		dst[n++] = (uint8_t)(hi << 4 | lo);
	}
	*dst_len = n;
}

static void ticket_key_new(struct ticket_key *k)
{
	k->valid = RAND_bytes(k->name, sizeof(k->name)) == 1 &&
		   RAND_priv_bytes(k->aes, sizeof(k->aes)) == 1 &&
		   RAND_priv_bytes(k->hmac, sizeof(k->hmac)) == 1;
	if (!k->valid)
		OPENSSL_cleanse(k, sizeof(*k));
}

/* 1: use this key; 2: decrypted with the previous key, issue a new
 * ticket; 0: not ours (full handshake); -1: error. */
static int on_ticket_key(SSL *ssl, unsigned char name[16],
			 unsigned char iv[EVP_MAX_IV_LENGTH],
			 EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct hg_tls_server *s = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const struct ticket_key *k;
	OSSL_PARAM params[3];
	int ret;

	if (enc) {
		k = &s->ticket_cur;
		if (!k->valid)
			return -1;
		memcpy(name, k->name, TICKET_NAME_LEN);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(s->aes256cbc)) != 1)
			return -1;
		ret = 1;
	} else if (s->ticket_cur.valid &&
		   CRYPTO_memcmp(name, s->ticket_cur.name, TICKET_NAME_LEN) ==
		       0) {
		k = &s->ticket_cur;
		ret = 1;
	} else if (s->ticket_prev.valid &&
		   CRYPTO_memcmp(name, s->ticket_prev.name, TICKET_NAME_LEN) ==
		       0) {
		k = &s->ticket_prev;
		ret = 2;
	} else {
		return 0;
	}
	params[0] = OSSL_PARAM_construct_octet_string(
	    OSSL_MAC_PARAM_KEY, (void *)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc) {
		if (EVP_EncryptInit_ex(cctx, s->aes256cbc, NULL, k->aes, iv) !=
		    1)
			return -1;
	} else if (EVP_DecryptInit_ex(cctx, s->aes256cbc, NULL, k->aes, iv) !=
		   1) {
		return -1;
	}
	return ret;
}

/* ---- server ---- */

void hg_tls_server_free(struct hg_tls_server *s)
{
	unsigned i;

	if (s == NULL)
		return;
	SSL_CTX_free(s->ctx);
	for (i = 0; i < HG_TLS_MAX_CERTS; i++)
		cert_clear(&s->certs[i]);
	crypto_free(&s->cr);
	EVP_CIPHER_free(s->aes256cbc);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}

/* What both roles set alike: versions (0: 1.2 / 1.3), the AEAD-only
 * suites, groups, no renegotiation, no compression, no read-ahead, and
 * the callbacks that watch the handshake. */
static int ctx_common(SSL_CTX *ctx, uint16_t vmin, uint16_t vmax,
		      const char *suites, const char *ciphers,
		      const char *groups, char *err, size_t errlen)
{
	if (vmin == 0)
		vmin = HG_TLS_V12;
	if (vmax == 0)
		vmax = HG_TLS_V13;
	if ((vmin != HG_TLS_V12 && vmin != HG_TLS_V13) ||
	    (vmax != HG_TLS_V12 && vmax != HG_TLS_V13)) {
		errf(err, errlen,
		     "min_version/max_version: TLS 1.2 and 1.3 only (0x%04x, "
		     "0x%04x)",
		     vmin, vmax);
		return -1;
	}
	if (vmin > vmax) {
		errf(err, errlen, "min_version: above max_version");
		return -1;
	}
	if (SSL_CTX_set_min_proto_version(ctx, vmin) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, vmax) != 1) {
		errf(err, errlen, "min_version/max_version: %s", ossl_reason());
		return -1;
	}
	if (set_suites13(ctx, suites, err, errlen) != 0 ||
	    set_ciphers12(ctx, ciphers, err, errlen) != 0)
		return -1;
	if (SSL_CTX_set1_groups_list(
		ctx, groups[0] != '\0' ? groups : DEFAULT_GROUPS) != 1) {
		errf(err, errlen, "groups: '%s' rejected by OpenSSL (%s)",
		     groups, ossl_reason());
		return -1;
	}
	SSL_CTX_set_options(ctx,
			    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_read_ahead(ctx, 0);
	SSL_CTX_set_keylog_callback(ctx, on_keylog);
	SSL_CTX_set_info_callback(ctx, on_info);
	return 0;
}

static int server_setup(struct hg_tls_server *s,
			const struct hg_tls_config *cfg, char *err,
			size_t errlen)
{
	SSL_CTX *ctx;
	unsigned i;

	s->aes256cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	s->ctx = ctx = SSL_CTX_new(TLS_server_method());
	if (crypto_init(&s->cr) != 0 || s->aes256cbc == NULL || ctx == NULL) {
		errf(err, errlen, "OpenSSL setup failed (%s)", ossl_reason());
		return -1;
	}
	SSL_CTX_set_app_data(ctx, s);
	if (ctx_common(ctx, cfg->min_version, cfg->max_version,
		       cfg->ciphersuites, cfg->ciphers, cfg->groups, err,
		       errlen) != 0)
		return -1;
	if (parse_alpn(s->alpn, sizeof(s->alpn), &s->alpn_len, cfg->alpn, err,
		       errlen) != 0)
		return -1;

	if (cfg->n_certs == 0 || cfg->n_certs > HG_TLS_MAX_CERTS) {
		errf(err, errlen, "certs: 1 to %d certificates (got %u)",
		     HG_TLS_MAX_CERTS, cfg->n_certs);
		return -1;
	}
	for (i = 0; i < cfg->n_certs; i++) {
		if (load_cert(&s->certs[i], &cfg->certs[i], i, err, errlen) !=
		    0)
			return -1;
		s->n_certs++;
	}

	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_max_early_data(ctx, 0);
	/* Tickets are the only resumption: no session cache. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"hopgate",
				       7);
	s->tickets = cfg->session_tickets;
	s->ticket_lifetime_s = cfg->ticket_lifetime_s
				   ? cfg->ticket_lifetime_s
				   : DEFAULT_TICKET_LIFETIME_S;
	if (s->tickets) {
		ticket_key_new(&s->ticket_cur);
		if (!s->ticket_cur.valid) {
			errf(err, errlen, "session_tickets: no random bytes");
			return -1;
		}
		SSL_CTX_set_timeout(ctx, (long)s->ticket_lifetime_s);
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
	} else {
		/* TLS 1.3 would otherwise send stateful tickets */
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
	}

	SSL_CTX_set_cert_cb(ctx, on_cert, s);
	SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
	SSL_CTX_set_tlsext_servername_arg(ctx, s);
	if (s->alpn_len > 0)
		SSL_CTX_set_alpn_select_cb(ctx, on_alpn, s);
	return 0;
}

struct hg_tls_server *hg_tls_server_new(const struct hg_tls_config *cfg,
					char *err, size_t errlen)
{
	struct hg_tls_server *s;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	if (server_setup(s, cfg, err, errlen) != 0) {
		hg_tls_server_free(s);
		s = NULL;
	}
	ERR_clear_error();
	return s;
}

void hg_tls_server_tick(struct hg_tls_server *s, uint64_t now_s)
{
	if (!s->tickets)
		return;
	if (s->next_rotation_s == 0) {
		s->next_rotation_s = now_s + s->ticket_lifetime_s;
		return;
	}
	if (now_s < s->next_rotation_s)
		return;
	OPENSSL_cleanse(&s->ticket_prev, sizeof(s->ticket_prev));
	/* A missed period means the current key is already past its
	 * decrypt-only half life: drop it rather than keep it. */
	if (now_s < s->next_rotation_s + s->ticket_lifetime_s)
		s->ticket_prev = s->ticket_cur;
	ticket_key_new(&s->ticket_cur);
	s->next_rotation_s = now_s + s->ticket_lifetime_s;
}

/* ---- client ---- */

static bool is_ip(const char *s)
{
	uint8_t a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* A DNS name for SNI and verification: letters, digits, '-', '_', '.',
 * at most 253 of them (a trailing dot is not sent). */
static bool is_host_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.' ||
	    strstr(s, "..") != NULL)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return false;
	return true;
}

void hg_tls_backend_opts_default(struct hg_tls_backend_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->verify = true;
	o->session_reuse = true;
}

void hg_tls_client_free(struct hg_tls_client *c)
{
	unsigned i;

	if (c == NULL)
		return;
	for (i = 0; i < HG_TLS_CLIENT_SESSIONS; i++)
		SSL_SESSION_free(c->sessions[i].sess);
	SSL_CTX_free(c->ctx);
	crypto_free(&c->cr);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

static int client_setup(struct hg_tls_client *c,
			const struct hg_tls_backend_opts *o, char *err,
			size_t errlen)
{
	uint8_t alpn[HG_TLS_LIST_MAX + 1];
	size_t alpn_len;
	SSL_CTX *ctx;
	FILE *f;

	c->ctx = ctx = SSL_CTX_new(TLS_client_method());
	if (crypto_init(&c->cr) != 0 || ctx == NULL) {
		errf(err, errlen, "OpenSSL setup failed (%s)", ossl_reason());
		return -1;
	}
	SSL_CTX_set_app_data(ctx, c);
	if (ctx_common(ctx, o->min_version, o->max_version, o->ciphersuites,
		       o->ciphers, "", err, errlen) != 0)
		return -1;
	if (parse_alpn(alpn, sizeof(alpn), &alpn_len, o->alpn, err, errlen) !=
	    0)
		return -1;
	/* 0 is success here */
	if (alpn_len > 0 &&
	    SSL_CTX_set_alpn_protos(ctx, alpn, (unsigned)alpn_len) != 0) {
		errf(err, errlen, "alpn: %s", ossl_reason());
		return -1;
	}

	if (memchr(o->server_name, '\0', sizeof(o->server_name)) == NULL ||
	    (o->server_name[0] != '\0' && !is_ip(o->server_name) &&
	     !is_host_name(o->server_name))) {
		errf(err, errlen,
		     "server_name: not a host name or an IP address");
		return -1;
	}
	snprintf(c->server_name, sizeof(c->server_name), "%s", o->server_name);
	c->name_is_ip = c->server_name[0] != '\0' && is_ip(c->server_name);

	/* The trust store is checked even with verify off: a wrong path
	 * is a mistake either way. */
	if (memchr(o->ca, '\0', sizeof(o->ca)) == NULL) {
		errf(err, errlen, "ca: path too long");
		return -1;
	}
	if (o->ca[0] != '\0') {
		f = fopen(o->ca, "r");
		if (f == NULL) {
			errf(err, errlen, "ca: %s: %s", o->ca, strerror(errno));
			return -1;
		}
		fclose(f);
		if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
			errf(err, errlen, "ca: %s: no PEM certificate (%s)",
			     o->ca, ossl_reason());
			return -1;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		errf(err, errlen, "ca: the system's trust store: %s",
		     ossl_reason());
		return -1;
	}
	c->verify = o->verify;
	SSL_CTX_set_verify(ctx, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
			   NULL);

	/* Sessions are kept in c, one per backend, not in OpenSSL's cache.
	 * Without reuse, no tickets are asked for (TLS 1.2). */
	c->session_reuse = o->session_reuse;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!o->session_reuse)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	return 0;
}

struct hg_tls_client *hg_tls_client_new(const struct hg_tls_backend_opts *o,
					char *err, size_t errlen)
{
	struct hg_tls_client *c;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	if (client_setup(c, o, err, errlen) != 0) {
		hg_tls_client_free(c);
		c = NULL;
	}
	ERR_clear_error();
	return c;
}

/* The session kept for a backend; with `make`, a slot for one (a free
 * one, else the least recently used, emptied). */
static struct session *session_slot(struct hg_tls_client *c, const char *ip,
				    uint16_t port, bool make)
{
	struct session *free_slot = NULL, *oldest = NULL, *e;
	unsigned i;

	for (i = 0; i < HG_TLS_CLIENT_SESSIONS; i++) {
		e = &c->sessions[i];
		if (e->sess == NULL) {
			if (free_slot == NULL)
				free_slot = e;
		} else if (e->port == port && strcmp(e->ip, ip) == 0) {
			return e;
		} else if (oldest == NULL || e->used < oldest->used) {
			oldest = e;
		}
	}
	if (!make)
		return NULL;
	e = free_slot != NULL ? free_slot : oldest;
	SSL_SESSION_free(e->sess);
	e->sess = NULL;
	snprintf(e->ip, sizeof(e->ip), "%s", ip);
	e->port = port;
	return e;
}

static void session_drop(struct hg_tls_hs *hs)
{
	struct session *e;

	if (hs->backend_ip[0] == '\0')
		return;
	e = session_slot(hs->client, hs->backend_ip, hs->backend_port, false);
	if (e != NULL) {
		SSL_SESSION_free(e->sess);
		memset(e, 0, sizeof(*e));
	}
}

/* After a client handshake: keep its session for the next one to this
 * backend if it can be resumed, else forget the one kept. TLS 1.3
 * sessions never can: their tickets come after the handshake, to the
 * data plane. */
static void session_keep(struct hg_tls_hs *hs)
{
	struct hg_tls_client *c = hs->client;
	SSL_SESSION *sess;
	struct session *e;

	if (!c->session_reuse || hs->backend_ip[0] == '\0')
		return;
	sess = SSL_get1_session(hs->ssl);
	if (sess == NULL || !SSL_SESSION_is_resumable(sess) ||
	    SSL_SESSION_get_protocol_version(sess) != TLS1_2_VERSION) {
		SSL_SESSION_free(sess);
		session_drop(hs);
		return;
	}
	e = session_slot(c, hs->backend_ip, hs->backend_port, true);
	SSL_SESSION_free(e->sess);
	e->sess = sess;
	e->used = ++c->clock;
}

/* ---- key derivation ---- */

/* RFC 8446 7.1: HKDF-Expand(secret, HkdfLabel, length), empty context. */
static int expand_label(const struct crypto *cr, uint8_t cipher,
			const uint8_t *secret, size_t secret_len,
			const char *label, uint8_t *out, size_t out_len)
{
	uint8_t info[2 + 1 + 6 + 16 + 1];
	size_t label_len = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;
	int rc = -1;

	if (label_len > 16)
		return -1;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)(6 + label_len);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, label_len);
	n += label_len;
	info[n++] = 0; /* context */

	kctx = EVP_KDF_CTX_new(cr->hkdf);
	if (kctx == NULL)
		return -1;
	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(
	    OSSL_KDF_PARAM_DIGEST, (char *)digest_of(cipher), 0);
	params[2] = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
	params[3] =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, n);
	params[4] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, out_len, params) == 1)
		rc = 0;
	EVP_KDF_CTX_free(kctx);
	return rc;
}

static int tls13_dir(const struct crypto *cr, uint8_t cipher,
		     const uint8_t *secret, size_t secret_len,
		     struct hg_tls_dir *d)
{
	if (secret_len != hg_tls_hash_len(cipher))
		return -1;
	memcpy(d->secret, secret, secret_len);
	if (expand_label(cr, cipher, secret, secret_len, "key", d->key,
			 hg_tls_key_len(cipher)) != 0 ||
	    expand_label(cr, cipher, secret, secret_len, "iv", d->iv,
			 HG_TLS_IV_LEN) != 0)
		return -1;
	return 0;
}

/* RFC 5246 6.3: key_block = PRF(master, "key expansion", server_random +
 * client_random); AEAD suites have no MAC keys, so it is client key,
 * server key, client IV, server IV (RFC 5288: 4-byte salt; RFC 7905:
 * 12-byte IV). */
static int tls12_keys(struct hg_tls_hs *hs, uint8_t cipher)
{
	static const char label[] = "key expansion";
	uint8_t master[SSL_MAX_MASTER_KEY_LENGTH];
	uint8_t seed[sizeof(label) - 1 + 2 * SSL3_RANDOM_SIZE];
	uint8_t block[2 * HG_TLS_MAX_KEY + 2 * HG_TLS_IV_LEN];
	size_t key_len = hg_tls_key_len(cipher);
	size_t iv_len = cipher == HG_TLS_CHACHA20_POLY1305_SHA256 ? 12 : 4;
	size_t master_len, n = sizeof(label) - 1;
	OSSL_PARAM params[4];
	EVP_KDF_CTX *kctx = NULL;
	struct hg_tls_dir *cl, *sv; /* the client's and the server's */
	SSL_SESSION *sess;
	int rc = -1;

	sess = SSL_get_session(hs->ssl);
	if (sess == NULL)
		return -1;
	master_len = SSL_SESSION_get_master_key(sess, master, sizeof(master));
	memcpy(seed, label, n);
	if (master_len != SSL3_MASTER_SECRET_SIZE ||
	    SSL_get_server_random(hs->ssl, seed + n, SSL3_RANDOM_SIZE) !=
		SSL3_RANDOM_SIZE ||
	    SSL_get_client_random(hs->ssl, seed + n + SSL3_RANDOM_SIZE,
				  SSL3_RANDOM_SIZE) != SSL3_RANDOM_SIZE)
		goto out;
	kctx = EVP_KDF_CTX_new(hs->cr->prf);
	if (kctx == NULL)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_KDF_PARAM_DIGEST, (char *)digest_of(cipher), 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET,
						      master, master_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, seed,
						      sizeof(seed));
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, block, 2 * key_len + 2 * iv_len, params) != 1)
		goto out;
	cl = hs->client != NULL ? &hs->keys.tx : &hs->keys.rx;
	sv = hs->client != NULL ? &hs->keys.rx : &hs->keys.tx;
	memcpy(cl->key, block, key_len);
	memcpy(sv->key, block + key_len, key_len);
	memcpy(cl->iv, block + 2 * key_len, iv_len);
	memcpy(sv->iv, block + 2 * key_len + iv_len, iv_len);
	rc = 0;
out:
	EVP_KDF_CTX_free(kctx);
	OPENSSL_cleanse(master, sizeof(master));
	OPENSSL_cleanse(block, sizeof(block));
	return rc;
}

/* Whether a TLS 1.3 record authenticates under key/iv at seq (RFC 8446
 * 5.2-5.3: nonce = iv ^ seq, AAD = the record header). The plaintext is
 * not needed, only the tag's verdict. */
static bool tls13_record_opens(const struct crypto *cr, uint8_t cipher,
			       const uint8_t *key, const uint8_t *iv,
			       uint64_t seq, const uint8_t *rec, size_t len)
{
	uint8_t nonce[HG_TLS_IV_LEN], scratch[512];
	EVP_CIPHER_CTX *c;
	size_t off, end = len - HG_TLS_TAG_LEN;
	bool ok = false;
	int outl, i;

	if (len < REC_HDR + HG_TLS_TAG_LEN + 1)
		return false;
	memcpy(nonce, iv, HG_TLS_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
	c = EVP_CIPHER_CTX_new();
	if (c == NULL)
		return false;
	if (!EVP_DecryptInit_ex2(c, aead_of(cr, cipher), key, nonce, NULL) ||
	    EVP_DecryptUpdate(c, NULL, &outl, rec, REC_HDR) != 1)
		goto out;
	for (off = REC_HDR; off < end; off += sizeof(scratch)) {
		size_t chunk =
		    end - off < sizeof(scratch) ? end - off : sizeof(scratch);

		if (EVP_DecryptUpdate(c, scratch, &outl, rec + off,
				      (int)chunk) != 1)
			goto out;
	}
	if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, HG_TLS_TAG_LEN,
				(void *)(rec + end)) != 1)
		goto out;
	ok = EVP_DecryptFinal_ex(c, scratch, &outl) == 1;
out:
	EVP_CIPHER_CTX_free(c);
	OPENSSL_cleanse(scratch, sizeof(scratch));
	OPENSSL_cleanse(nonce, sizeof(nonce));
	return ok;
}

/* Our TLS 1.3 application traffic secret: the server's for a server. */
static const uint8_t *own_secret(const struct hg_tls_hs *hs, size_t *len)
{
	if (hs->client != NULL) {
		*len = hs->client_secret_len;
		return hs->client_secret;
	}
	*len = hs->server_secret_len;
	return hs->server_secret;
}

static const uint8_t *peer_secret(const struct hg_tls_hs *hs, size_t *len)
{
	if (hs->client != NULL) {
		*len = hs->server_secret_len;
		return hs->server_secret;
	}
	*len = hs->client_secret_len;
	return hs->client_secret;
}

/* A TLS 1.3 application_data record we wrote: does it count against our
 * application key? Before our application secret exists every such
 * record is under a handshake key. (A server sends its NewSessionTickets
 * under it in the call that completes the handshake; a client sends
 * nothing under it before the data plane takes over.) */
static void tls13_note_tx(struct hg_tls_hs *hs, const uint8_t *rec, size_t len)
{
	if (hs->probe_cipher == HG_TLS_CIPHER_NONE) {
		const SSL_CIPHER *c;
		struct hg_tls_dir d;
		size_t own_len;
		const uint8_t *own = own_secret(hs, &own_len);

		if (own_len == 0)
			return;
		c = SSL_get_pending_cipher(hs->ssl);
		if (c == NULL)
			c = SSL_get_current_cipher(hs->ssl);
		if (c == NULL) {
			hs->tx_anomaly = true;
			return;
		}
		hs->probe_cipher =
		    cipher_of(SSL_CIPHER_get_protocol_id(c), TLS1_3_VERSION);
		if (hs->probe_cipher == HG_TLS_CIPHER_NONE ||
		    tls13_dir(hs->cr, hs->probe_cipher, own, own_len, &d) < 0) {
			hs->probe_cipher = HG_TLS_CIPHER_NONE;
			hs->tx_anomaly = true;
			OPENSSL_cleanse(&d, sizeof(d));
			return;
		}
		memcpy(hs->probe_key, d.key, sizeof(hs->probe_key));
		memcpy(hs->probe_iv, d.iv, sizeof(hs->probe_iv));
		OPENSSL_cleanse(&d, sizeof(d));
	}
	if (tls13_record_opens(hs->cr, hs->probe_cipher, hs->probe_key,
			       hs->probe_iv, hs->tx_app_records, rec, len))
		hs->tx_app_records++;
	else if (hs->tx_app_records > 0)
		hs->tx_anomaly = true; /* a handshake-key record after one
					  under the application key */
}

/* ---- handshake ---- */

void hg_tls_out_free(struct hg_tls_out *out)
{
	free(out->data);
	memset(out, 0, sizeof(*out));
}

static int out_reserve(struct hg_tls_out *out, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (out->cap - out->len >= n)
		return 0;
	cap = out->cap ? out->cap : 4096;
	while (cap - out->len < n)
		cap *= 2;
	p = realloc(out->data, cap);
	if (p == NULL)
		return -1;
	out->data = p;
	out->cap = cap;
	return 0;
}

/* Moves what OpenSSL wrote to `out` and notes the records for the
 * sequence numbers. A memory BIO takes whole records, so the chunk is a
 * sequence of records. */
static int drain(struct hg_tls_hs *hs, struct hg_tls_out *out)
{
	BIO *w = SSL_get_wbio(hs->ssl);
	size_t n = BIO_ctrl_pending(w), off;
	int version = SSL_version(hs->ssl);
	uint8_t *p;

	if (n == 0)
		return 0;
	if (n > INT32_MAX || out_reserve(out, n) != 0)
		return -1;
	p = out->data + out->len;
	if (BIO_read(w, p, (int)n) != (int)n)
		return -1;
	out->len += n;
	for (off = 0; off < n;) {
		size_t len;

		if (n - off < REC_HDR) {
			hs->tx_anomaly = true;
			break;
		}
		len = REC_HDR + ((size_t)p[off + 3] << 8 | p[off + 4]);
		if (len > n - off) {
			hs->tx_anomaly = true;
			break;
		}
		if (p[off] == CT_HANDSHAKE)
			hs->own_spoke = true;
		if (version == TLS1_2_VERSION) {
			if (hs->own_ccs)
				hs->tx_after_ccs++;
			if (p[off] == CT_CCS)
				hs->own_ccs = true;
		} else if (version == TLS1_3_VERSION && p[off] == CT_APPDATA) {
			tls13_note_tx(hs, p + off, len);
		}
		off += len;
	}
	return 0;
}

static void forget_secrets(struct hg_tls_hs *hs)
{
	OPENSSL_cleanse(hs->client_secret, sizeof(hs->client_secret));
	OPENSSL_cleanse(hs->server_secret, sizeof(hs->server_secret));
	OPENSSL_cleanse(hs->probe_key, sizeof(hs->probe_key));
	OPENSSL_cleanse(hs->probe_iv, sizeof(hs->probe_iv));
	hs->client_secret_len = hs->server_secret_len = 0;
}

/* After DONE or FAILED OpenSSL has nothing more to say on this
 * connection: free it, so it cannot write another record. */
static void release_ssl(struct hg_tls_hs *hs)
{
	if (hs->ssl != NULL) {
		SSL_set_app_data(hs->ssl, NULL);
		SSL_free(hs->ssl);
		hs->ssl = NULL;
	}
	forget_secrets(hs);
	ERR_clear_error();
}

static enum hg_tls_hs_status fail(struct hg_tls_hs *hs, const char *reason)
{
	hs->status = HG_TLS_HS_FAILED;
	hs->fail_reason = reason;
	if (hs->client != NULL)
		session_drop(hs); /* the next handshake starts afresh */
	OPENSSL_cleanse(&hs->keys, sizeof(hs->keys));
	release_ssl(hs);
	return hs->status;
}

static bool is_certificate_alert(int desc)
{
	switch (desc) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
		return true;
	}
	return false;
}

/* Why OpenSSL gave up: its own reason for the classes it names exactly,
 * else the alert it sent, else where in the handshake it was. Consumes
 * the error queue. A client's failed verification also sets
 * fail_detail. */
static const char *classify(struct hg_tls_hs *hs)
{
	/* A server that answered has accepted the ClientHello; a client
	 * fails early on the peer's first record, the ServerHello. */
	const char *early =
	    hs->client != NULL
		? (hs->records_fed <= 1 ? "bad_server_hello" : "bad_message")
		: (hs->own_spoke ? "bad_message" : "bad_client_hello");
	int ssl_reason = 0;
	bool other = false;
	unsigned long e;

	/* A provider's error (a failed AEAD open, say) may come first. */
	while ((e = ERR_get_error()) != 0) {
		if (ERR_GET_LIB(e) != ERR_LIB_SSL)
			other = true;
		else if (ssl_reason == 0)
			ssl_reason = ERR_GET_REASON(e);
	}
	if (hs->peer_alert)
		return "peer_alert";
	if (hs->client != NULL &&
	    (ssl_reason == SSL_R_CERTIFICATE_VERIFY_FAILED ||
	     is_certificate_alert(hs->alert_sent))) {
		long v = SSL_get_verify_result(hs->ssl);

		if (v != X509_V_OK)
			hs->fail_detail = X509_verify_cert_error_string(v);
		return "bad_certificate";
	}
	switch (ssl_reason) {
	case SSL_R_NO_SHARED_CIPHER:
		return "no_shared_cipher";
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_UNKNOWN_PROTOCOL:
		return "protocol_version";
	}
	switch (hs->alert_sent) {
	case SSL_AD_PROTOCOL_VERSION:
		return "protocol_version";
	case SSL_AD_HANDSHAKE_FAILURE:
	case SSL_AD_INSUFFICIENT_SECURITY:
		return "handshake_failure";
	case SSL_AD_UNEXPECTED_MESSAGE:
		return "unexpected_message";
	case SSL_AD_BAD_RECORD_MAC:
	case SSL_AD_DECRYPT_ERROR:
		return "decrypt_error";
	case SSL_AD_RECORD_OVERFLOW:
		return "record_overflow";
	case SSL_AD_INTERNAL_ERROR:
		return "internal";
	}
	if (ssl_reason == 0 && other)
		return "internal"; /* memory, a provider, ... */
	return early;
}

static enum hg_tls_hs_status finish(struct hg_tls_hs *hs)
{
	SSL *ssl = hs->ssl;
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	int version = SSL_version(ssl);
	const unsigned char *alpn;
	unsigned alpn_len;
	const char *sni;
	uint8_t cipher;
	int rc;

	/* The completing record was the last one written to the read BIO
	 * and OpenSSL must have taken all of it. */
	if (!SSL_is_init_finished(ssl) ||
	    BIO_ctrl_pending(SSL_get_rbio(ssl)) != 0 || SSL_has_pending(ssl) ||
	    c == NULL || hs->tx_anomaly)
		return fail(hs, "internal");
	cipher = cipher_of(SSL_CIPHER_get_protocol_id(c), version);
	if (cipher == HG_TLS_CIPHER_NONE)
		return fail(hs, "internal");

	hs->keys.cipher = cipher;
	if (version == TLS1_3_VERSION) {
		size_t rx_len, tx_len;
		const uint8_t *rx = peer_secret(hs, &rx_len);
		const uint8_t *tx = own_secret(hs, &tx_len);

		hs->keys.version = HG_TLS_V13;
		rc = tls13_dir(hs->cr, cipher, rx, rx_len, &hs->keys.rx);
		if (rc == 0)
			rc =
			    tls13_dir(hs->cr, cipher, tx, tx_len, &hs->keys.tx);
		/* Nothing the peer sent under its application key was read
		 * (the completing record is the peer's Finished for a client,
		 * or the client's Finished for a server). */
		hs->keys.rx.seq = 0;
		hs->keys.tx.seq = hs->tx_app_records;
	} else {
		hs->keys.version = HG_TLS_V12;
		rc = tls12_keys(hs, cipher);
		if (!hs->peer_ccs || !hs->own_ccs || hs->rx_after_ccs == 0 ||
		    hs->tx_after_ccs == 0)
			rc = -1;
		hs->keys.rx.seq = hs->rx_after_ccs;
		hs->keys.tx.seq = hs->tx_after_ccs;
	}
	if (rc != 0)
		return fail(hs, "internal");

	hs->info.version = hs->keys.version;
	hs->info.cipher = cipher;
	hs->info.resumed = SSL_session_reused(ssl) == 1;
	hs->info.cipher_name = SSL_CIPHER_get_name(c); /* static table */
	sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (sni != NULL)
		snprintf(hs->info.sni, sizeof(hs->info.sni), "%s", sni);
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (alpn != NULL && alpn_len < sizeof(hs->info.alpn)) {
		memcpy(hs->info.alpn, alpn, alpn_len);
		hs->info.alpn[alpn_len] = '\0';
	}

	if (hs->client != NULL)
		session_keep(hs);
	hs->consumed = hs->fed;
	hs->keys_ready = true;
	hs->status = HG_TLS_HS_DONE;
	/* The connection goes on elsewhere, not a broken one: keep SSL_free
	 * from marking the session bad. Writes nothing. */
	SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	release_ssl(hs);
	return hs->status;
}

/* Hands OpenSSL the record in hs->rec and runs the handshake on it. */
static enum hg_tls_hs_status feed_record(struct hg_tls_hs *hs,
					 struct hg_tls_out *out)
{
	const char *reason = NULL;
	int r, e;

	if (BIO_write(SSL_get_rbio(hs->ssl), hs->rec, (int)hs->rec_len) !=
	    (int)hs->rec_len)
		return fail(hs, "internal");
	hs->fed += hs->rec_len;
	hs->records_fed++;
	if (hs->peer_ccs)
		hs->rx_after_ccs++;
	if (hs->rec[0] == CT_CCS)
		hs->peer_ccs = true;
	hs->rec_len = 0;

	ERR_clear_error();
	r = SSL_do_handshake(hs->ssl);
	/* Read the verdict before drain(): its trial decryptions may leave
	 * entries on the error queue. */
	e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(hs->ssl, r);
	if (e == SSL_ERROR_SSL)
		reason = classify(hs);
	else if (e == SSL_ERROR_ZERO_RETURN)
		reason = "peer_alert";
	else if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ)
		reason = "internal";
	if (drain(hs, out) != 0)
		return fail(hs, "internal");
	if (reason != NULL)
		return fail(hs, reason);
	if (r == 1)
		return finish(hs);
	return HG_TLS_HS_CONTINUE;
}

/* A header we refuse. OpenSSL gets it too (and only it), so that it
 * sends the alert it would send for it, if any, under whatever keys are
 * current. */
static enum hg_tls_hs_status
refuse_header(struct hg_tls_hs *hs, struct hg_tls_out *out, const char *reason)
{
	if (BIO_write(SSL_get_rbio(hs->ssl), hs->rec, REC_HDR) == REC_HDR) {
		ERR_clear_error();
		(void)SSL_do_handshake(hs->ssl);
		(void)drain(hs, out);
	}
	return fail(hs, reason);
}

/* The first record must be a handshake record (a server may also refuse
 * our ClientHello with an alert). */
static const char *check_header(const struct hg_tls_hs *hs)
{
	const uint8_t *h = hs->rec;
	size_t len = (size_t)h[3] << 8 | h[4];
	bool first = hs->records_fed == 0;

	if (h[0] < CT_CCS || h[0] > CT_APPDATA || h[1] != 3 ||
	    (first && h[0] != CT_HANDSHAKE &&
	     !(hs->client != NULL && h[0] == CT_ALERT))) {
		if (!first)
			return "bad_record";
		return hs->client != NULL ? "bad_server_hello"
					  : "bad_client_hello";
	}
	if (len > HG_TLS_RECORD_MAX)
		return "record_overflow";
	if (hs->fed + REC_HDR + len > HG_TLS_HS_MAX_BYTES)
		return "handshake_too_large";
	return NULL;
}

/* The record being gathered, header included, once its header is in. */
static size_t rec_total(const struct hg_tls_hs *hs)
{
	return REC_HDR + ((size_t)hs->rec[3] << 8 | hs->rec[4]);
}

enum hg_tls_hs_status hg_tls_hs_input(struct hg_tls_hs *hs, const uint8_t *in,
				      size_t n, struct hg_tls_out *out)
{
	size_t off = 0;

	while (hs->status == HG_TLS_HS_CONTINUE && off < n) {
		bool had_header = hs->rec_len >= REC_HDR;
		size_t want =
		    (had_header ? rec_total(hs) : REC_HDR) - hs->rec_len;
		size_t take = want < n - off ? want : n - off;

		memcpy(hs->rec + hs->rec_len, in + off, take);
		hs->rec_len += take;
		off += take;
		if (!had_header && hs->rec_len == REC_HDR) {
			const char *reason = check_header(hs);

			if (reason != NULL &&
			    strcmp(reason, "handshake_too_large") == 0)
				return fail(hs, reason);
			if (reason != NULL)
				return refuse_header(hs, out, reason);
		}
		if (hs->rec_len >= REC_HDR && hs->rec_len == rec_total(hs))
			feed_record(hs, out);
	}
	ERR_clear_error(); /* leave the thread's error queue as we found it */
	return hs->status;
}

static struct hg_tls_hs *hs_alloc(const struct crypto *cr, SSL_CTX *ctx)
{
	struct hg_tls_hs *hs = calloc(1, sizeof(*hs));
	BIO *rbio = NULL, *wbio = NULL;

	if (hs == NULL)
		return NULL;
	hs->cr = cr;
	hs->alert_sent = -1;
	hs->ssl = SSL_new(ctx);
	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(BIO_s_mem());
	if (hs->ssl == NULL || rbio == NULL || wbio == NULL) {
		BIO_free(rbio);
		BIO_free(wbio);
		SSL_free(hs->ssl);
		free(hs);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_bio(hs->ssl, rbio, wbio); /* the SSL owns them now */
	SSL_set_app_data(hs->ssl, hs);
	return hs;
}

struct hg_tls_hs *hg_tls_hs_new(struct hg_tls_server *s)
{
	struct hg_tls_hs *hs = hs_alloc(&s->cr, s->ctx);

	if (hs == NULL)
		return NULL;
	hs->server = s;
	SSL_set_accept_state(hs->ssl);
	return hs;
}

/* Names and the session before the ClientHello is written. */
static int client_prepare(struct hg_tls_hs *hs)
{
	struct hg_tls_client *c = hs->client;
	X509_VERIFY_PARAM *vp = SSL_get0_param(hs->ssl);
	struct session *e;

	if (c->server_name[0] != '\0' && !c->name_is_ip &&
	    SSL_set_tlsext_host_name(hs->ssl, c->server_name) != 1)
		return -1;
	if (c->verify) {
		if (c->server_name[0] == '\0' || c->name_is_ip) {
			const char *ip = c->server_name[0] != '\0'
					     ? c->server_name
					     : hs->backend_ip;

			if (X509_VERIFY_PARAM_set1_ip_asc(vp, ip) != 1)
				return -1;
		} else {
			X509_VERIFY_PARAM_set_hostflags(
			    vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			if (X509_VERIFY_PARAM_set1_host(vp, c->server_name,
							0) != 1)
				return -1;
		}
	}
	if (c->session_reuse && hs->backend_ip[0] != '\0') {
		e = session_slot(c, hs->backend_ip, hs->backend_port, false);
		if (e != NULL) {
			if (SSL_set_session(hs->ssl, e->sess) != 1)
				return -1;
			e->used = ++c->clock;
		}
	}
	return 0;
}

struct hg_tls_hs *hg_tls_hs_new_client(struct hg_tls_client *c,
				       const char *backend_ip,
				       uint16_t backend_port,
				       struct hg_tls_out *out)
{
	const char *ip = backend_ip != NULL ? backend_ip : "";
	struct hg_tls_hs *hs;
	int r;

	/* Verification needs a name or an address to verify. */
	if ((ip[0] != '\0' && !is_ip(ip)) ||
	    (c->verify && c->server_name[0] == '\0' && ip[0] == '\0'))
		return NULL;
	hs = hs_alloc(&c->cr, c->ctx);
	if (hs == NULL)
		return NULL;
	hs->client = c;
	snprintf(hs->backend_ip, sizeof(hs->backend_ip), "%s", ip);
	hs->backend_port = backend_port;
	if (client_prepare(hs) != 0)
		goto fail;
	SSL_set_connect_state(hs->ssl);
	ERR_clear_error();
	r = SSL_do_handshake(hs->ssl);
	if (r == 1 || SSL_get_error(hs->ssl, r) != SSL_ERROR_WANT_READ ||
	    drain(hs, out) != 0)
		goto fail;
	ERR_clear_error();
	return hs;
fail:
	hg_tls_hs_free(hs);
	ERR_clear_error();
	return NULL;
}

const char *hg_tls_hs_fail_reason(const struct hg_tls_hs *hs)
{
	return hs->status == HG_TLS_HS_FAILED ? hs->fail_reason : NULL;
}

const char *hg_tls_hs_fail_detail(const struct hg_tls_hs *hs)
{
	return hs->status == HG_TLS_HS_FAILED ? hs->fail_detail : NULL;
}

uint64_t hg_tls_hs_consumed(const struct hg_tls_hs *hs)
{
	return hs->status == HG_TLS_HS_DONE ? hs->consumed : 0;
}

int hg_tls_hs_keys(struct hg_tls_hs *hs, struct hg_tls_keys *k)
{
	if (hs->status != HG_TLS_HS_DONE || !hs->keys_ready) {
		memset(k, 0, sizeof(*k));
		return -1;
	}
	*k = hs->keys;
	OPENSSL_cleanse(&hs->keys, sizeof(hs->keys));
	hs->keys_ready = false;
	return 0;
}

const struct hg_tls_hs_info *hg_tls_hs_info(const struct hg_tls_hs *hs)
{
	return &hs->info;
}

void hg_tls_hs_free(struct hg_tls_hs *hs)
{
	if (hs == NULL)
		return;
	if (hs->ssl != NULL) {
		SSL_set_app_data(hs->ssl, NULL);
		SSL_free(hs->ssl);
	}
	OPENSSL_cleanse(hs, sizeof(*hs));
	free(hs);
}
