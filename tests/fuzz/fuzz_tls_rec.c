/* Fuzz target: the TLS record layer's receive path (and its send path on
 * what comes out), with fixed keys.
 *
 * Input: byte 0 picks the protocol and AEAD (6 combinations), byte 1 seeds
 * how the rest is cut into mbufs (sizes from 1 byte to a full buffer,
 * data placed with or without tailroom, 1 to 8 segments per call); the
 * rest is what the client sent. Every plaintext chain that comes out is
 * checked (pkt_len, nb_segs), then sealed back into records with a record
 * size picked by byte 1, so the send path sees indirect, shared and
 * gathered mbufs too. Invariants: no crash, no sanitizer report, and after
 * hg_tls_rec_free every mbuf is back in the pool.
 *
 * Random bytes rarely get past the AEAD: the seeds in
 * tests/fuzz/seeds/fuzz_tls_rec/ hold validly sealed records under the
 * fixed keys (data, padding, KeyUpdate, alerts). They are made by this
 * program: HG_FUZZ_TLS_REC_SEEDS=<dir> ./fuzz_tls_rec writes them there
 * and exits.
 */
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_rec.h"

#define POOL_SIZE 4095

static struct rte_mempool *pool;
static IMB_MGR *mgr;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct config {
	const char *name;
	uint16_t version;
	uint8_t cipher;
};

static const struct config configs[6] = {
    {"13_aes128", HG_TLS_V13, HG_TLS_AES_128_GCM_SHA256},
    {"13_aes256", HG_TLS_V13, HG_TLS_AES_256_GCM_SHA384},
    {"13_chacha", HG_TLS_V13, HG_TLS_CHACHA20_POLY1305_SHA256},
    {"12_aes128", HG_TLS_V12, HG_TLS_AES_128_GCM_SHA256},
    {"12_aes256", HG_TLS_V12, HG_TLS_AES_256_GCM_SHA384},
    {"12_chacha", HG_TLS_V12, HG_TLS_CHACHA20_POLY1305_SHA256},
};

/* Fixed, made-up keys: the same every run, so seeds stay valid. */
static void fixed_keys(const struct config *c, struct hg_tls_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->version = c->version;
	k->cipher = c->cipher;
	for (unsigned i = 0; i < HG_TLS_MAX_SECRET; i++) {
		k->rx.secret[i] = (uint8_t)(0x30 + i);
		k->tx.secret[i] = (uint8_t)(0x70 + i);
	}
	for (unsigned i = 0; i < HG_TLS_MAX_KEY; i++) {
		k->rx.key[i] = (uint8_t)(1 + i);
		k->tx.key[i] = (uint8_t)(0x41 + i);
	}
	for (unsigned i = 0; i < HG_TLS_IV_LEN; i++) {
		k->rx.iv[i] = (uint8_t)(0xa0 + i);
		k->tx.iv[i] = (uint8_t)(0xc0 + i);
	}
	k->rx.seq = k->tx.seq = 1;
}

static uint32_t next_rnd(uint32_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 17;
	*r ^= *r << 5;
	return *r;
}

/* The next call's input: 1 to 8 segments of the stream. */
static struct rte_mbuf *cut(const uint8_t **p, size_t *n, uint32_t *r)
{
	static const uint16_t sizes[] = {1,   2,   3,	5,    16,
					 100, 511, 512, 1500, 2048};
	struct rte_mbuf *head = NULL, *tail = NULL;
	unsigned segs = 1 + next_rnd(r) % 8;

	while (segs-- > 0 && *n > 0) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		size_t s = sizes[next_rnd(r) % RTE_DIM(sizes)];

		if (m == NULL)
			abort();
		if (s > *n)
			s = *n;
		if (next_rnd(r) & 1) /* no tailroom */
			m->data_off = (uint16_t)(m->buf_len - s);
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), *p, s);
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
		*p += s;
		*n -= s;
	}
	return head;
}

static void check_chain(const struct rte_mbuf *m)
{
	uint32_t bytes = 0;
	unsigned segs = 0;

	for (const struct rte_mbuf *s = m; s != NULL; s = s->next) {
		bytes += s->data_len;
		segs++;
	}
	if (bytes != m->pkt_len || segs != m->nb_segs) {
		fprintf(stderr, "bad chain: pkt_len %u (%u), nb_segs %u (%u)\n",
			m->pkt_len, bytes, m->nb_segs, segs);
		abort();
	}
}

static void pass_on(struct hg_tls_rec *t, struct rte_mbuf *plain)
{
	struct rte_mbuf *out;

	if (t->key_update_due)
		rte_pktmbuf_free(hg_tls_rec_key_update(t, pool, false));
	if (plain == NULL)
		return;
	check_chain(plain);
	out = hg_tls_rec_seal(t, pool, plain);
	if (out != NULL)
		check_chain(out);
	rte_pktmbuf_free(out);
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal[] = {"fuzz",
		       "--no-huge",
		       "-m",
		       "64",
		       "--no-pci",
		       "--no-shconf",
		       "--no-telemetry",
		       "--log-level=error",
		       "--lcores=0",
		       "--file-prefix=hgfuzztlsrec"};
	const char *seeds = getenv("HG_FUZZ_TLS_REC_SEEDS");

	(void)argc;
	(void)argv;
	if (rte_eal_init(RTE_DIM(eal), eal) < 0)
		abort();
	pool = rte_pktmbuf_pool_create(
	    "fz", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	mgr = hg_imb_new();
	if (pool == NULL || mgr == NULL)
		abort();
	if (seeds != NULL) {
		write_seeds(seeds);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t ctr[HG_WC_COUNT];
	struct hg_tls_keys k;
	struct hg_tls_rec t;
	uint32_t r;
	enum hg_tls_rx rc = HG_TLS_RX_OK;

	if (size < 2)
		return 0;
	fixed_keys(&configs[data[0] % 6], &k);
	if (hg_tls_rec_init(&t, mgr, &k, data[1] & 1 ? 100 : 16384, ctr) < 0)
		abort();
	r = (uint32_t)data[1] << 8 | 0x5a;
	data += 2;
	size -= 2;
	while (size > 0) {
		struct rte_mbuf *plain = NULL, *in = cut(&data, &size, &r);

		rc = hg_tls_rec_open(&t, pool, in, &plain);
		if (rc == HG_TLS_RX_FATAL && plain != NULL)
			abort(); /* nothing passes a fatal result */
		pass_on(&t, plain);
	}
	rte_pktmbuf_free(hg_tls_rec_alert(&t, pool, HG_TLS_ALERT_WARNING,
					  HG_TLS_ALERT_CLOSE_NOTIFY));
	hg_tls_rec_free(&t);
	if (rte_mempool_avail_count(pool) != POOL_SIZE) {
		fprintf(stderr, "mbufs leaked: %u of %u back\n",
			rte_mempool_avail_count(pool), POOL_SIZE);
		abort();
	}
	return 0;
}

/* --- seeds ------------------------------------------------------------------
 */

/* Seals one record as the client would. */
static size_t craft(struct hg_tls_aead *a, uint8_t type, const uint8_t *pl,
		    size_t n, size_t pad, uint8_t *out)
{
	bool v13 = a->version == HG_TLS_V13;
	unsigned ex = hg_tls_explicit_nonce_len(a);
	size_t body = n + (v13 ? 1 + pad : 0), len = ex + body + 16;
	uint8_t nonce[12], aad[13];
	size_t aad_len;
	struct hg_sg sg = {out + 5 + ex, body};

	out[0] = v13 ? HG_TLS_CT_APPLICATION_DATA : type;
	out[1] = out[2] = 3;
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	for (unsigned i = 0; i < ex; i++)
		out[5 + i] = (uint8_t)(a->seq >> (8 * (7 - i)));
	memcpy(out + 5 + ex, pl, n);
	if (v13) {
		out[5 + ex + n] = type;
		memset(out + 6 + ex + n, 0, pad);
	}
	hg_tls_nonce(a, a->seq, out + 5, nonce);
	if (v13) {
		memcpy(aad, out, 5);
		aad_len = 5;
	} else {
		aad_len = hg_tls12_aad(aad, a->seq, type, (uint16_t)n);
	}
	hg_tls_seal(mgr, a, nonce, aad, aad_len, &sg, 1, out + 5 + ex + body);
	a->seq++;
	return 5 + len;
}

static void save(const char *dir, const char *cfg, const char *what,
		 const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s_%s", dir, cfg, what);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void write_seeds(const char *dir)
{
	static const uint8_t ku[5] = {24, 0, 0, 1, 1};
	uint8_t text[1200], buf[4096];

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)('a' + i % 26);
	for (unsigned c = 0; c < 6; c++) {
		const struct config *cfg = &configs[c];
		bool v13 = cfg->version == HG_TLS_V13;
		struct hg_tls_keys k;
		struct hg_tls_aead a;
		size_t n;

		fixed_keys(cfg, &k);
		/* Data records of several sizes, an empty one, one padded;
		 * cut in pieces of 1..3 bytes (byte 1 = 0x07). */
		if (hg_tls_aead_init(&a, mgr, k.version, k.cipher, &k.rx) < 0)
			exit(1);
		buf[0] = (uint8_t)c;
		buf[1] = 0x06;
		n = 2;
		n += craft(&a, 23, text, 10, 0, buf + n);
		n += craft(&a, 23, text, 1200, 0, buf + n);
		n += craft(&a, 23, text, 0, 0, buf + n);
		n += craft(&a, 23, text + 7, 33, v13 ? 50 : 0, buf + n);
		save(dir, cfg->name, "data", buf, n);
		/* Data, then close_notify, then bytes after it. Each seed
		 * starts at the first sequence number. */
		if (hg_tls_aead_init(&a, mgr, k.version, k.cipher, &k.rx) < 0)
			exit(1);
		buf[1] = 0x07; /* small records back */
		n = 2 + craft(&a, 23, text, 600, 0, buf + 2);
		n += craft(&a, 21, (const uint8_t *)"\x01\x00", 2, 0, buf + n);
		memcpy(buf + n, "\x17\x03\x03\x00\x04junk", 9);
		n += 9;
		save(dir, cfg->name, "close", buf, n);
		/* A warning alert, a fatal one. */
		if (hg_tls_aead_init(&a, mgr, k.version, k.cipher, &k.rx) < 0)
			exit(1);
		buf[1] = 0x21;
		n = 2 + craft(&a, 21,
			      (const uint8_t *)(v13 ? "\x01\x5a" : "\x01\x64"),
			      2, 0, buf + 2);
		n += craft(&a, 21, (const uint8_t *)"\x02\x28", 2, 0, buf + n);
		save(dir, cfg->name, "alerts", buf, n);
		hg_tls_aead_wipe(&a);
		if (!v13)
			continue;
		/* KeyUpdate (requested), in two records, then data under
		 * the new key. */
		if (hg_tls_aead_init(&a, mgr, k.version, k.cipher, &k.rx) < 0)
			exit(1);
		buf[1] = 0x10;
		n = 2 + craft(&a, 23, text, 50, 0, buf + 2);
		n += craft(&a, 22, ku, 2, 0, buf + n);
		n += craft(&a, 22, ku + 2, 3, 3, buf + n);
		if (hg_tls_aead_update(&a, mgr) < 0)
			exit(1);
		n += craft(&a, 23, text, 700, 0, buf + n);
		save(dir, cfg->name, "key_update", buf, n);
		hg_tls_aead_wipe(&a);
	}
}
