/* TLS record protection against published vectors: HMAC (RFC 4231), HKDF
 * (RFC 5869), the RFC 8448 section 3 trace (traffic keys and IVs from the
 * traffic secrets, its protected records opened and sealed back to the
 * same bytes), AES-GCM (the GCM spec's test cases 4 and 16), ChaCha20-
 * Poly1305 (RFC 8439 2.8.2), each also over awkward scatter lists; the
 * KeyUpdate derivation; TLS 1.2 nonces and additional data; forgeries. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tls_aead.h"

static IMB_MGR *mgr;

static void setup(void)
{
	mgr = hg_imb_new();
	cr_assert_not_null(mgr, "intel-ipsec-mb must work on this CPU");
}

static void teardown(void)
{
	hg_imb_free(mgr);
}

TestSuite(tls_aead, .init = setup, .fini = teardown);

/* Hex as the RFCs print it (spaces and line breaks allowed) to bytes. */
static size_t unhex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;

	while (*s) {
		if (*s == ' ' || *s == '\n') {
			s++;
			continue;
		}
		cr_assert_lt(n, max, "vector longer than its buffer");
		cr_assert_eq(sscanf(s, "%2x", &v), 1, "bad hex at '%.8s'", s);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void expect_hex(const uint8_t *got, size_t len, const char *want_hex,
		       const char *what)
{
	uint8_t want[1024];
	size_t n = unhex(want_hex, want, sizeof(want));

	cr_assert_eq(len, n, "%s: %zu bytes, want %zu", what, len, n);
	cr_assert_eq(memcmp(got, want, n), 0, "%s differs", what);
}

/* --- HMAC and HKDF ------------------------------------------------------ */

Test(tls_aead, hmac_sha384_rfc4231)
{
	uint8_t key[131], out[48];
	static const char hi[] = "Hi There";
	static const char big[] =
	    "Test Using Larger Than Block-Size Key - Hash Key First";

	/* Test case 1: a short key. */
	memset(key, 0x0b, 20);
	cr_assert_eq(
	    hg_hmac(mgr, 48, key, 20, (const uint8_t *)hi, strlen(hi), out), 0);
	expect_hex(out, 48,
		   "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec6"
		   "82aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
		   "RFC 4231 case 1");
	/* Test case 6: a key longer than SHA-384's 128-byte block. */
	memset(key, 0xaa, 131);
	cr_assert_eq(
	    hg_hmac(mgr, 48, key, 131, (const uint8_t *)big, strlen(big), out),
	    0);
	expect_hex(out, 48,
		   "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f"
		   "3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
		   "RFC 4231 case 6");
}

Test(tls_aead, hmac_refuses_unknown_hash_and_long_message)
{
	static uint8_t msg[HG_HMAC_MAX_MSG + 1];
	uint8_t out[64];

	cr_assert_eq(hg_hmac(mgr, 64, msg, 1, msg, 1, out), -1);
	cr_assert_eq(hg_hmac(mgr, 32, msg, 1, msg, sizeof(msg), out), -1);
	cr_assert_eq(hg_hmac(mgr, 32, msg, 1, msg, HG_HMAC_MAX_MSG, out), 0);
}

struct hkdf_case {
	const char *name, *ikm, *salt, *info, *prk, *okm;
};

/* RFC 5869 appendix A, the SHA-256 cases 1-3. */
static const struct hkdf_case hkdf_cases[] = {
    {"A.1", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
     "000102030405060708090a0b0c", "f0f1f2f3f4f5f6f7f8f9",
     "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
     "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
     "34007208d5b887185865"},
    {"A.2",
     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
     "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
     "404142434445464748494a4b4c4d4e4f",
     "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
     "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
     "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
     "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
     "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
     "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
     "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
     "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
     "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
    {"A.3", "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
     "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
     "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
     "9d201395faa4b61a96c8"},
};

Test(tls_aead, hkdf_rfc5869)
{
	for (unsigned i = 0; i < sizeof(hkdf_cases) / sizeof(hkdf_cases[0]);
	     i++) {
		const struct hkdf_case *c = &hkdf_cases[i];
		uint8_t ikm[128], salt[128], info[128], prk[32], okm[128],
		    want[128];
		size_t ni = unhex(c->ikm, ikm, sizeof(ikm));
		size_t ns = unhex(c->salt, salt, sizeof(salt));
		size_t nf = unhex(c->info, info, sizeof(info));
		size_t no = unhex(c->okm, want, sizeof(want));

		cr_assert_eq(hg_hkdf_extract(mgr, 32, salt, ns, ikm, ni, prk),
			     0);
		expect_hex(prk, 32, c->prk, c->name);
		cr_assert_eq(hg_hkdf_expand(mgr, 32, prk, info, nf, okm, no),
			     0);
		cr_assert_eq(memcmp(okm, want, no), 0, "%s OKM", c->name);
	}
}

Test(tls_aead, hkdf_expand_limits)
{
	uint8_t prk[32] = {1}, out[8];

	cr_assert_eq(hg_hkdf_expand(mgr, 32, prk, NULL, 0, out, 255 * 32 + 1),
		     -1);
	cr_assert_eq(hg_hkdf_expand(mgr, 20, prk, NULL, 0, out, 8), -1);
}

/* --- RFC 8448 section 3 ------------------------------------------------- */

/* Traffic secrets ("derive secret") and what RFC 8448 derives from them. */
#define C_HS_SECRET                                                            \
	"b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f "                     \
	"3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21"
#define C_HS_KEY "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01"
#define C_HS_IV	 "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f"
#define S_HS_SECRET                                                            \
	"b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 "                     \
	"e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38"
#define S_HS_KEY "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"
#define S_HS_IV	 "5d 31 3e b2 67 12 76 ee 13 00 0b 30"
#define C_AP_SECRET                                                            \
	"9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 "                     \
	"87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5"
#define C_AP_KEY "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51"
#define C_AP_IV	 "5b 78 92 3d ee 08 57 90 33 e5 23 d9"
#define S_AP_SECRET                                                            \
	"a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 "                     \
	"82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43"
#define S_AP_KEY "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56"
#define S_AP_IV	 "cf 78 2b 88 dd 83 54 9a ad f1 e9 84"

/* The protected records ("complete record"). */
static const char rec_client_finished[] =
    "17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 "
    "b0 51 7f e9 b9 3c 7a 4b fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 "
    "bd 1c ae ac ab 68 67 d7 26 c4 05 46";
static const char rec_client_app[] =
    "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac "
    "ea 42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 "
    "1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d ea e6 3a ee bb 21 69 "
    "49 15 e4";
static const char rec_server_app[] =
    "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 "
    "fc 32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a "
    "59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3 32 54 0d d0 32 e1 67 "
    "c2 95 5d";
static const char rec_client_alert[] =
    "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 "
    "e3";
static const char rec_server_alert[] =
    "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 "
    "a9";
/* The server's first protected record: EncryptedExtensions, Certificate,
 * CertificateVerify and Finished, 679 bytes. */
static const char rec_server_flight[] =
    "17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 "
    "0f 45 e4 89 e7 f3 3a f3 5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 "
    "a7 ca 07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23 ea 78 b1 11 b4 29 ba "
    "91 91 cd 05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 "
    "ec f7 b1 3b d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 "
    "cf b9 b1 18 3e f3 ab 20 e3 7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf "
    "51 42 73 25 25 0c 7d 0e 50 92 89 44 4c 9b 3a 64 8f 1d 71 03 5d 2e d6 "
    "5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 "
    "c4 53 ba a4 fc d6 10 92 8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 "
    "82 04 79 7e 36 a6 a7 3b 70 a2 55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 "
    "ed d8 04 4b 4c 6d e3 fc f2 a8 94 41 ac 66 27 2f d8 fb 33 0e f8 19 05 "
    "79 b3 68 45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5 63 aa d2 74 09 "
    "96 0d ca 63 d3 e6 88 61 1e a5 e2 2f 44 15 cf 95 38 d5 1a 20 0c 27 03 "
    "42 72 96 8a 26 4e d6 54 0c 84 83 8d 89 f7 2c 24 46 1a ad 6d 26 f5 9e "
    "ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3 6a c1 b6 39 c6 37 ce 34 31 "
    "17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64 "
    "7e 92 ea 33 0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e 1b 7a 6c 71 78 af 36 "
    "87 90 18 e3 f2 52 10 7f 24 3d 24 3d c7 33 9d 56 84 c8 b0 37 8b f3 02 "
    "44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c f9 3b 16 49 9a "
    "66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f c5 08 00 be "
    "cc a6 2d 6c 74 11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be 5a 37 66 "
    "89 36 b3 35 58 3b 59 91 86 dc 5c 69 18 a3 96 fa 48 a1 81 d6 b6 fa 4f "
    "9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88 cb 56 "
    "30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10 "
    "dc 35 ae 69 f5 51 56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 "
    "38 eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f aa 63 97 8c 31 7f c9 fa 66 "
    "a7 3f 60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f dd "
    "d5 02 78 40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 "
    "28 fd 4a e3 79 4e 44 f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe "
    "51 75 be 89 8e 75 0e dc 53 37 0d 2b";

static void check_keys(const char *secret_hex, const char *key_hex,
		       const char *iv_hex, const char *what)
{
	uint8_t secret[32], key[16], iv[12];

	unhex(secret_hex, secret, sizeof(secret));
	cr_assert_eq(hg_tls13_traffic_keys(mgr, HG_TLS_AES_128_GCM_SHA256,
					   secret, key, iv),
		     0);
	expect_hex(key, 16, key_hex, what);
	expect_hex(iv, 12, iv_hex, what);
}

Test(tls_aead, rfc8448_traffic_keys)
{
	check_keys(C_HS_SECRET, C_HS_KEY, C_HS_IV, "client handshake");
	check_keys(S_HS_SECRET, S_HS_KEY, S_HS_IV, "server handshake");
	check_keys(C_AP_SECRET, C_AP_KEY, C_AP_IV, "client application");
	check_keys(S_AP_SECRET, S_AP_KEY, S_AP_IV, "server application");
}

Test(tls_aead, rfc8448_expand_label_info)
{
	/* RFC 8448's "tls13 finished" step: the server's finished key. */
	uint8_t secret[32], out[32];

	unhex(S_HS_SECRET, secret, sizeof(secret));
	cr_assert_eq(
	    hg_hkdf_expand_label(mgr, 32, secret, "finished", NULL, 0, out, 32),
	    0);
	expect_hex(
	    out, 32,
	    "00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 bf 49 "
	    "2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8",
	    "server finished key");
}

/* A direction as the record layer builds it, from a traffic secret. */
static void dir_from_secret(struct hg_tls_aead *c, const char *secret_hex,
			    uint64_t seq)
{
	struct hg_tls_dir d = {.seq = seq};

	unhex(secret_hex, d.secret, sizeof(d.secret));
	cr_assert_eq(hg_tls13_traffic_keys(mgr, HG_TLS_AES_128_GCM_SHA256,
					   d.secret, d.key, d.iv),
		     0);
	cr_assert_eq(
	    hg_tls_aead_init(c, mgr, HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256, &d),
	    0);
}

/* Splits [p, p+len) into pieces of the given sizes (cycled), the way a
 * record lies across mbufs. Returns the number of pieces. */
static unsigned split(uint8_t *p, size_t len, const unsigned *sizes,
		      unsigned n_sizes, struct hg_sg *sg, unsigned max)
{
	unsigned n = 0, i = 0;

	while (len > 0) {
		size_t s = sizes[i++ % n_sizes];

		if (s > len)
			s = len;
		cr_assert_lt(n, max);
		sg[n].p = p;
		sg[n++].len = s;
		p += s;
		len -= s;
	}
	return n;
}

static const unsigned whole[] = {100000};
static const unsigned odd[] = {1, 15, 17, 3, 64, 2, 31};

/* Opens an RFC 8448 record with `secret` at `seq`, checks the inner
 * plaintext's last byte (the content type), then seals it again and wants
 * the same record back. Twice: in one piece and in odd pieces. */
static void open_and_reseal(const char *rec_hex, const char *secret_hex,
			    uint64_t seq, uint8_t inner_type,
			    const char *first_hex)
{
	for (int pass = 0; pass < 2; pass++) {
		uint8_t rec[1024], orig[1024], nonce[12], aad[5], tag[16];
		struct hg_tls_aead c;
		struct hg_sg sg[256];
		size_t n = unhex(rec_hex, rec, sizeof(rec)), body = n - 5 - 16;
		unsigned ns;
		uint8_t first[64];
		size_t nf = unhex(first_hex, first, sizeof(first));

		memcpy(orig, rec, n);
		dir_from_secret(&c, secret_hex, seq);
		ns = split(rec + 5, body, pass ? odd : whole,
			   pass ? sizeof(odd) / sizeof(odd[0]) : 1, sg, 256);
		hg_tls_nonce(&c, c.seq, NULL, nonce);
		cr_assert_eq(hg_tls13_aad(aad, (uint16_t)(n - 5)), 5);
		cr_assert_eq(memcmp(aad, rec, 5), 0, "AAD is the header");
		cr_assert(
		    hg_tls_open(mgr, &c, nonce, aad, 5, sg, ns, rec + n - 16),
		    "RFC 8448 record must open (pass %d)", pass);
		cr_assert_eq(rec[5 + body - 1], inner_type);
		cr_assert_eq(memcmp(rec + 5, first, nf), 0, "plaintext start");
		hg_tls_seal(mgr, &c, nonce, aad, 5, sg, ns, tag);
		memcpy(rec + n - 16, tag, 16);
		cr_assert_eq(memcmp(rec, orig, n), 0,
			     "resealed record differs");
		hg_tls_aead_wipe(&c);
	}
}

#define APP_DATA_START "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"

Test(tls_aead, rfc8448_records)
{
	/* Client Finished: handshake keys, the first record. */
	open_and_reseal(rec_client_finished, C_HS_SECRET, 0, 22,
			"14 00 00 20 a8 ec 43 6d");
	/* The server flight: 658 bytes in one record. */
	open_and_reseal(rec_server_flight, S_HS_SECRET, 0, 22,
			"08 00 00 24 00 22 00 0a");
	/* Application data, 50 bytes 00..31 each way. The server's is its
	 * second record (the NewSessionTicket was 0). */
	open_and_reseal(rec_client_app, C_AP_SECRET, 0, 23, APP_DATA_START);
	open_and_reseal(rec_server_app, S_AP_SECRET, 1, 23, APP_DATA_START);
	/* close_notify alerts: 01 00, type 21. */
	open_and_reseal(rec_client_alert, C_AP_SECRET, 1, 21, "01 00");
	open_and_reseal(rec_server_alert, S_AP_SECRET, 2, 21, "01 00");
}

Test(tls_aead, rfc8448_wrong_sequence_fails)
{
	uint8_t rec[128], nonce[12];
	struct hg_tls_aead c;
	size_t n = unhex(rec_client_app, rec, sizeof(rec));
	struct hg_sg sg = {rec + 5, n - 5 - 16};

	dir_from_secret(&c, C_AP_SECRET, 1);
	hg_tls_nonce(&c, c.seq, NULL, nonce);
	cr_assert_not(
	    hg_tls_open(mgr, &c, nonce, rec, 5, &sg, 1, rec + n - 16));
	hg_tls_aead_wipe(&c);
}

/* Every single-bit change in the header (AAD), the ciphertext or the tag
 * must fail. */
Test(tls_aead, forgeries_fail)
{
	uint8_t orig[128], rec[128], nonce[12];
	struct hg_tls_aead c;
	size_t n = unhex(rec_client_alert, orig, sizeof(orig));

	dir_from_secret(&c, C_AP_SECRET, 1);
	hg_tls_nonce(&c, c.seq, NULL, nonce);
	for (size_t byte = 0; byte < n; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			struct hg_sg sg = {rec + 5, n - 5 - 16};

			memcpy(rec, orig, n);
			rec[byte] ^= (uint8_t)(1u << bit);
			cr_assert_not(hg_tls_open(mgr, &c, nonce, rec, 5, &sg,
						  1, rec + n - 16),
				      "flip of byte %zu bit %d accepted", byte,
				      bit);
		}
	}
	hg_tls_aead_wipe(&c);
}

/* --- KeyUpdate ---------------------------------------------------------- */

Test(tls_aead, key_update_derivation)
{
	/* RFC 8446 7.2 on the RFC 8448 client application secret; the
	 * expected values come from an independent HKDF (Python's hmac). */
	static const char next[] = "fcdfcc72725aaee48bf64e4fd8b749cd"
				   "bdbab39d90da0b26e2245ca6ea167207";
	struct hg_tls_aead c;
	uint8_t secret[32], out[32], key[16], iv[12];

	unhex(C_AP_SECRET, secret, sizeof(secret));
	cr_assert_eq(
	    hg_tls13_next_secret(mgr, HG_TLS_AES_128_GCM_SHA256, secret, out),
	    0);
	expect_hex(out, 32, next, "next secret");

	dir_from_secret(&c, C_AP_SECRET, 77);
	cr_assert_eq(hg_tls_aead_update(&c, mgr), 0);
	expect_hex(c.secret, 32, next, "updated state's secret");
	expect_hex(c.iv, 12, "5dfb2c5938c3379b6cc5d1f2", "updated IV");
	cr_assert_eq(c.seq, 0, "a new key starts at sequence 0");
	cr_assert_eq(
	    hg_tls13_traffic_keys(mgr, HG_TLS_AES_128_GCM_SHA256, out, key, iv),
	    0);
	expect_hex(key, 16, "3879d82f5f14056e623f2ce5bfc66fce", "updated key");
	hg_tls_aead_wipe(&c);
}

Test(tls_aead, key_update_only_tls13)
{
	struct hg_tls_aead c;
	struct hg_tls_dir d = {0};

	cr_assert_eq(hg_tls_aead_init(&c, mgr, HG_TLS_V12,
				      HG_TLS_AES_128_GCM_SHA256, &d),
		     0);
	cr_assert_eq(hg_tls_aead_update(&c, mgr), -1);
	hg_tls_aead_wipe(&c);
}

Test(tls_aead, init_refuses_unknown)
{
	struct hg_tls_aead c;
	struct hg_tls_dir d = {0};

	cr_assert_eq(hg_tls_aead_init(&c, mgr, HG_TLS_V13, 0, &d), -1);
	cr_assert_eq(hg_tls_aead_init(&c, mgr, HG_TLS_V13, 4, &d), -1);
	cr_assert_eq(
	    hg_tls_aead_init(&c, mgr, 0x0302, HG_TLS_AES_128_GCM_SHA256, &d),
	    -1);
}

Test(tls_aead, wipe_clears_everything)
{
	struct hg_tls_aead c;
	struct hg_tls_dir d;
	static const uint8_t zero[sizeof(struct hg_tls_aead)];

	memset(&d, 0x5a, sizeof(d));
	cr_assert_eq(hg_tls_aead_init(&c, mgr, HG_TLS_V13,
				      HG_TLS_AES_256_GCM_SHA384, &d),
		     0);
	hg_tls_aead_wipe(&c);
	cr_assert_eq(memcmp(&c, zero, sizeof(c)), 0);
}

/* --- Raw AEAD vectors over scatter lists -------------------------------- */

struct aead_case {
	const char *name;
	uint8_t cipher;
	const char *key, *nonce, *aad, *pt, *ct, *tag;
};

static const struct aead_case aead_cases[] = {
    {"GCM test case 4", HG_TLS_AES_128_GCM_SHA256,
     "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"GCM test case 16", HG_TLS_AES_256_GCM_SHA384,
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    {"RFC 8439 2.8.2", HG_TLS_CHACHA20_POLY1305_SHA256,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
     "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
     /* "Ladies and Gentlemen of the class of '99: If I could offer you
      * only one tip for the future, sunscreen would be it." */
     "4c616469657320616e642047656e746c656d656e206f662074686520636c6173"
     "73206f66202739393a204966204920636f756c64206f6666657220796f75206f"
     "6e6c79206f6e652074697020666f7220746865206675747572652c2073756e73"
     "637265656e20776f756c642062652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
     "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
     "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
     "3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
};

/* The raw vectors carry their own nonce: a TLS 1.3 state with that nonce
 * as IV and sequence 0 uses it unchanged. */
static void case_cipher(const struct aead_case *v, struct hg_tls_aead *c)
{
	struct hg_tls_dir d = {0};

	unhex(v->key, d.key, sizeof(d.key));
	unhex(v->nonce, d.iv, sizeof(d.iv));
	cr_assert_eq(hg_tls_aead_init(c, mgr, HG_TLS_V13, v->cipher, &d), 0);
}

Test(tls_aead, aead_vectors_any_split)
{
	/* Every split into two pieces, then some into many. */
	for (unsigned i = 0; i < sizeof(aead_cases) / sizeof(aead_cases[0]);
	     i++) {
		const struct aead_case *v = &aead_cases[i];
		struct hg_tls_aead c;
		uint8_t pt[128], ct[128], buf[128], aad[32], tag[16], nonce[12];
		size_t n = unhex(v->pt, pt, sizeof(pt));
		size_t na = unhex(v->aad, aad, sizeof(aad));

		unhex(v->ct, ct, sizeof(ct));
		case_cipher(v, &c);
		hg_tls_nonce(&c, 0, NULL, nonce);
		for (size_t cut = 0; cut <= n + 7; cut++) {
			struct hg_sg sg[128];
			unsigned sizes[2] = {(unsigned)cut, 1000};
			unsigned ns;

			memcpy(buf, pt, n);
			if (cut <= n)
				ns = split(buf, n, sizes, 2, sg, 128);
			else /* many pieces of (cut - n) bytes */
				ns = split(buf, n,
					   (unsigned[]){(unsigned)(cut - n)}, 1,
					   sg, 128);
			hg_tls_seal(mgr, &c, nonce, aad, na, sg, ns, tag);
			cr_assert_eq(memcmp(buf, ct, n), 0, "%s ct, cut %zu",
				     v->name, cut);
			expect_hex(tag, 16, v->tag, v->name);
			cr_assert(
			    hg_tls_open(mgr, &c, nonce, aad, na, sg, ns, tag),
			    "%s open, cut %zu", v->name, cut);
			cr_assert_eq(memcmp(buf, pt, n), 0);
		}
		tag[15] ^= 1;
		{
			struct hg_sg sg = {buf, n};

			memcpy(buf, ct, n);
			cr_assert_not(
			    hg_tls_open(mgr, &c, nonce, aad, na, &sg, 1, tag),
			    "%s: a wrong tag must fail", v->name);
		}
		hg_tls_aead_wipe(&c);
	}
}

Test(tls_aead, empty_plaintext)
{
	/* A zero-length record body: the tag covers the AAD only. */
	for (uint8_t cipher = 1; cipher <= 3; cipher++) {
		struct hg_tls_aead c;
		struct hg_tls_dir d = {0};
		uint8_t nonce[12], aad[5], tag[16];

		memset(d.key, 7, sizeof(d.key));
		cr_assert_eq(hg_tls_aead_init(&c, mgr, HG_TLS_V13, cipher, &d),
			     0);
		hg_tls_nonce(&c, 5, NULL, nonce);
		hg_tls13_aad(aad, 16);
		hg_tls_seal(mgr, &c, nonce, aad, 5, NULL, 0, tag);
		cr_assert(hg_tls_open(mgr, &c, nonce, aad, 5, NULL, 0, tag));
		aad[4] ^= 1;
		cr_assert_not(
		    hg_tls_open(mgr, &c, nonce, aad, 5, NULL, 0, tag));
		hg_tls_aead_wipe(&c);
	}
}

/* --- Nonces and additional data ----------------------------------------- */

Test(tls_aead, nonce_tls13_and_chacha12)
{
	struct hg_tls_aead c;
	struct hg_tls_dir d = {0};
	uint8_t nonce[12];

	unhex("000102030405060708090a0b", d.iv, 12);
	for (int v = 0; v < 2; v++) {
		cr_assert_eq(
		    hg_tls_aead_init(&c, mgr, v ? HG_TLS_V12 : HG_TLS_V13,
				     HG_TLS_CHACHA20_POLY1305_SHA256, &d),
		    0);
		cr_assert_eq(hg_tls_explicit_nonce_len(&c), 0);
		hg_tls_nonce(&c, UINT64_C(0x1122334455667788), NULL, nonce);
		expect_hex(nonce, 12, "00010203 15273543 5d6f7d83",
			   "iv XOR seq");
		hg_tls_aead_wipe(&c);
	}
}

Test(tls_aead, nonce_tls12_gcm)
{
	struct hg_tls_aead c;
	struct hg_tls_dir d = {0};
	uint8_t nonce[12];
	static const uint8_t explicit[8] = {9, 8, 7, 6, 5, 4, 3, 2};

	unhex("a1a2a3a4", d.iv, 4);
	cr_assert_eq(hg_tls_aead_init(&c, mgr, HG_TLS_V12,
				      HG_TLS_AES_256_GCM_SHA384, &d),
		     0);
	cr_assert_eq(hg_tls_explicit_nonce_len(&c), 8);
	hg_tls_nonce(&c, 12345, explicit, nonce);
	expect_hex(nonce, 12, "a1a2a3a4 0908070605040302",
		   "salt then explicit nonce");
	hg_tls_aead_wipe(&c);
}

Test(tls_aead, aad_layouts)
{
	uint8_t aad[HG_TLS_MAX_AAD];

	cr_assert_eq(hg_tls13_aad(aad, 0x4011), 5);
	expect_hex(aad, 5, "17 0303 4011", "1.3 AAD");
	cr_assert_eq(hg_tls12_aad(aad, UINT64_C(0x0102030405060708), 21, 2),
		     13);
	expect_hex(aad, 13, "0102030405060708 15 0303 0002", "1.2 AAD");
}

Test(tls_aead, two_managers_agree)
{
	/* A second worker's manager is independent and gives the same. */
	IMB_MGR *other = hg_imb_new();

	cr_assert_not_null(other);
	check_keys(C_AP_SECRET, C_AP_KEY, C_AP_IV, "first manager");
	{
		IMB_MGR *keep = mgr;

		mgr = other;
		check_keys(C_AP_SECRET, C_AP_KEY, C_AP_IV, "second manager");
		mgr = keep;
	}
	hg_imb_free(other);
}
