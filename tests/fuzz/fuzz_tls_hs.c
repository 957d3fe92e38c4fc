/* libFuzzer target for the TLS handshake engine, both roles. Every input
 * is fed twice over:
 * - as a client's byte stream (a ClientHello and whatever follows) to a
 *   server with a throwaway ECDSA certificate made at start-up;
 * - as a backend's byte stream (a ServerHello and whatever follows) to a
 *   client that has sent its ClientHello, verifying against that same
 *   certificate as its CA, with SNI and ALPN.
 *
 * Each of those runs twice, once in one call and once cut into small
 * pieces: the engine must come to the same verdict whatever the split
 * (records are reassembled across calls), FAILED must carry a reason, and
 * nothing may crash or leak. Seeds: real ClientHellos and real servers'
 * first flights, written by HG_TLS_SEED_DIR=... tests/test_tls_hs with
 * --filter 'tls_hs/client_hello_seeds' and with
 * --filter 'tls_client/server_flight_seeds'.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls_hs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hg_tls_server *server;
static struct hg_tls_client *client;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_tls_hs: %s\n", what);
	abort();
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die(path);
	if ((x != NULL && !PEM_write_X509(f, x)) ||
	    (k != NULL &&
	     !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)))
		die("PEM write");
	fclose(f);
}

/* A self-signed P-256 certificate for a.test, loaded from files like a
 * real one; the files are gone once the server holds them. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/fuzz_tls_hs_XXXXXX", crt[64], key[64], err[256];
	struct hg_tls_config cfg;
	EVP_PKEY *k;
	X509 *x;
	X509_NAME *name;
	X509V3_CTX v;
	X509_EXTENSION *e;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	if (k == NULL || x == NULL)
		die("keygen");
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"a.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, x, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v, NID_subject_alt_name, "DNS:a.test");
	if (e == NULL || !X509_add_ext(x, e, -1) ||
	    !X509_sign(x, k, EVP_sha256()))
		die("certificate");
	X509_EXTENSION_free(e);
	snprintf(crt, sizeof(crt), "%s/a.crt", dir);
	snprintf(key, sizeof(key), "%s/a.key", dir);
	write_pem(crt, x, NULL);
	write_pem(key, NULL, k);
	X509_free(x);
	EVP_PKEY_free(k);

	{
		struct hg_tls_backend_opts o;

		hg_tls_backend_opts_default(&o);
		snprintf(o.ca, sizeof(o.ca), "%s", crt);
		snprintf(o.server_name, sizeof(o.server_name), "a.test");
		snprintf(o.alpn, sizeof(o.alpn), "h2,http/1.1");
		/* no session kept: every run starts alike */
		o.session_reuse = false;
		client = hg_tls_client_new(&o, err, sizeof(err));
		if (client == NULL)
			die(err);
	}

	memset(&cfg, 0, sizeof(cfg));
	cfg.enabled = true;
	snprintf(cfg.certs[0].cert, sizeof(cfg.certs[0].cert), "%s", crt);
	snprintf(cfg.certs[0].key, sizeof(cfg.certs[0].key), "%s", key);
	cfg.n_certs = 1;
	snprintf(cfg.alpn, sizeof(cfg.alpn), "h2,http/1.1");
	cfg.session_tickets = true;
	cfg.ticket_lifetime_s = 3600;
	server = hg_tls_server_new(&cfg, err, sizeof(err));
	unlink(crt);
	unlink(key);
	rmdir(dir);
	if (server == NULL)
		die(err);
	hg_tls_server_tick(server, 1);
	return 0;
}

struct verdict {
	enum hg_tls_hs_status st;
	const char *reason;
	uint64_t consumed;
};

static struct verdict run(const uint8_t *data, size_t size, size_t piece,
			  bool as_client)
{
	struct hg_tls_out out = {0};
	struct hg_tls_hs *hs =
	    as_client ? hg_tls_hs_new_client(client, "127.0.0.1", 443, &out)
		      : hg_tls_hs_new(server);
	struct verdict v = {HG_TLS_HS_CONTINUE, NULL, 0};
	size_t off = 0;

	if (hs == NULL)
		die("hg_tls_hs_new");
	if (as_client && (out.len == 0 || out.data[0] != 22))
		die("no ClientHello");
	out.len = 0; /* "sent" */
	do {
		size_t n = size - off < piece ? size - off : piece;

		v.st = hg_tls_hs_input(hs, data + off, n, &out);
		off += n;
		out.len = 0; /* "sent" */
	} while (off < size);
	if (v.st == HG_TLS_HS_FAILED) {
		v.reason = hg_tls_hs_fail_reason(hs);
		if (v.reason == NULL)
			die("FAILED without a reason");
	} else if (v.st == HG_TLS_HS_DONE) {
		struct hg_tls_keys k;

		/* no peer could finish blind, but if so: the keys must
		 * come out once */
		if (hg_tls_hs_keys(hs, &k) != 0 || hg_tls_hs_keys(hs, &k) == 0)
			die("keys");
		v.consumed = hg_tls_hs_consumed(hs);
		if (v.consumed > size)
			die("consumed past the input");
	}
	hg_tls_hs_free(hs);
	hg_tls_out_free(&out);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int as_client = 0; as_client < 2; as_client++) {
		struct verdict whole, pieces;

		whole = run(data, size, size > 0 ? size : 1, as_client);
		pieces = run(data, size, 1 + size % 13, as_client);
		if (whole.st != pieces.st ||
		    whole.consumed != pieces.consumed ||
		    (whole.reason != NULL &&
		     strcmp(whole.reason, pieces.reason) != 0))
			die("the verdict depends on how the input was split");
	}
	return 0;
}
