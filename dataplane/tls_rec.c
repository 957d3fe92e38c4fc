/* The TLS record layer over mbuf chains; see tls_rec.h. */
#include "tls_rec.h"

#include <string.h>

#include "bytes.h"

#define COUNT(t, name)	    ((t)->wctr[HG_WC_##name]++)
#define COUNT_N(t, name, n) ((t)->wctr[HG_WC_##name] += (n))

#define HDR_LEN 5
/* Ciphertext per record at most: RFC 8446 5.2, RFC 5246 6.2.3. */
#define MAX_CIPHERTEXT_13     (HG_TLS_REC_MAX_PLAIN + 256)
#define MAX_CIPHERTEXT_12     (HG_TLS_REC_MAX_PLAIN + 2048)
#define HS_HELLO_REQUEST      0
#define HS_CLIENT_HELLO	      1
#define HS_NEW_SESSION_TICKET 4
#define HS_KEY_UPDATE	      24
#define HS_HDR_LEN	      4
/* A TLS 1.3 NewSessionTicket's body (RFC 8446 4.6.1): lifetime, age_add,
 * nonce<0..255>, ticket<1..2^16-1>, extensions<0..2^16-2>. */
#define NST_MIN (4 + 4 + 1 + 2 + 1 + 2)
#define NST_MAX (4 + 4 + 1 + 255 + 2 + 65535 + 2 + 65534)

static inline uint32_t min32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Ours to write in place, headroom and tailroom included: nobody else
 * looks at this buffer. */
static bool writable(const struct rte_mbuf *m)
{
	return RTE_MBUF_DIRECT(m) && rte_mbuf_refcnt_read(m) == 1;
}

/* --- lists of mbufs ----------------------------------------------------- */

static void list_free(struct rte_mbuf *m)
{
	while (m != NULL) {
		struct rte_mbuf *next = m->next;

		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
}

static struct rte_mbuf *list_last(struct rte_mbuf *m)
{
	while (m->next != NULL)
		m = m->next;
	return m;
}

/* Copies n bytes from offset `off` of the list; they must be there. */
static void list_read(const struct rte_mbuf *m, uint32_t off, uint32_t n,
		      uint8_t *dst)
{
	while (off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	while (n > 0) {
		uint32_t k = min32(n, (uint32_t)m->data_len - off);

		memcpy(dst, rte_pktmbuf_mtod_offset(m, const uint8_t *, off),
		       k);
		dst += k;
		n -= k;
		off = 0;
		m = m->next;
	}
}

/* The scatter list of n bytes from offset `off`. Returns its length, or
 * max + 1 when it would need more entries. */
static unsigned list_sg(struct rte_mbuf *m, uint32_t off, uint32_t n,
			struct hg_sg *sg, unsigned max)
{
	unsigned i = 0;

	while (off >= m->data_len && n > 0) {
		off -= m->data_len;
		m = m->next;
	}
	while (n > 0) {
		uint32_t k = min32(n, (uint32_t)m->data_len - off);

		if (k > 0) {
			if (i == max)
				return max + 1;
			sg[i].p = rte_pktmbuf_mtod_offset(m, uint8_t *, off);
			sg[i++].len = k;
		}
		n -= k;
		off = 0;
		m = m->next;
	}
	return i;
}

/* Frees the first n bytes. Returns what is left. */
static struct rte_mbuf *list_drop_front(struct rte_mbuf *m, uint32_t n)
{
	while (m != NULL && n >= m->data_len) {
		struct rte_mbuf *next = m->next;

		n -= m->data_len;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	if (m != NULL && n > 0) {
		m->data_off = (uint16_t)(m->data_off + n);
		m->data_len = (uint16_t)(m->data_len - n);
	}
	return m;
}

/* Keeps the first n (> 0) bytes, frees the rest. */
static void list_keep(struct rte_mbuf *m, uint32_t n)
{
	while (n > m->data_len) {
		n -= m->data_len;
		m = m->next;
	}
	m->data_len = (uint16_t)n;
	list_free(m->next);
	m->next = NULL;
}

/* Splits m at k (0 < k < data_len): returns an indirect mbuf for its first
 * k bytes, and m keeps the rest. Both share the buffer, each its own
 * part, so both may be written in place but neither may grow. */
static struct rte_mbuf *split_head(struct rte_mempool *pool, struct rte_mbuf *m,
				   uint32_t k)
{
	struct rte_mbuf *mi = rte_pktmbuf_alloc(pool);

	if (mi == NULL)
		return NULL;
	rte_pktmbuf_attach(mi, m);
	mi->data_len = (uint16_t)k;
	mi->pkt_len = k;
	mi->next = NULL;
	m->data_off = (uint16_t)(m->data_off + k);
	m->data_len = (uint16_t)(m->data_len - k);
	return mi;
}

/* --- queues: bytes waiting, as few mbufs as reasonable ------------------- */

static void queue_link(struct hg_tls_queue *q, struct rte_mbuf *m)
{
	m->next = NULL;
	if (q->tail != NULL)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->len += m->data_len;
}

static void queue_clear(struct hg_tls_queue *q)
{
	list_free(q->head);
	q->head = q->tail = NULL;
	q->len = 0;
}

/* Appends bytes by copying: onto the tail's tailroom when it is ours,
 * else into new mbufs. Returns -1 when mbufs ran out. */
static int queue_copy_in(struct hg_tls_queue *q, struct rte_mempool *pool,
			 const uint8_t *p, uint32_t n)
{
	while (n > 0) {
		struct rte_mbuf *tail = q->tail;
		uint32_t room = tail != NULL && writable(tail)
				    ? rte_pktmbuf_tailroom(tail)
				    : 0;
		uint32_t k;

		if (room == 0) {
			tail = rte_pktmbuf_alloc(pool);
			if (tail == NULL)
				return -1;
			queue_link(q, tail);
			room = rte_pktmbuf_tailroom(tail);
		}
		k = min32(n, room);
		memcpy(rte_pktmbuf_mtod_offset(tail, uint8_t *, tail->data_len),
		       p, k);
		tail->data_len = (uint16_t)(tail->data_len + k);
		q->len += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Takes the chain `in` onto the queue: segments of HG_TLS_REC_SMALL bytes
 * or more that are ours to write are linked as they are; smaller ones and
 * ones we may not write are copied. That bounds the mbufs per byte queued
 * (HG_TLS_REC_SG_MAX) and makes every byte queued ours to write in place.
 * Returns -1 (in freed) when mbufs ran out. */
static int queue_absorb(struct hg_tls_queue *q, struct rte_mempool *pool,
			struct rte_mbuf *in)
{
	while (in != NULL) {
		struct rte_mbuf *s = in;
		int rc;

		in = s->next;
		s->next = NULL;
		if (s->data_len >= HG_TLS_REC_SMALL && writable(s)) {
			queue_link(q, s);
			continue;
		}
		rc = queue_copy_in(q, pool, rte_pktmbuf_mtod(s, uint8_t *),
				   s->data_len);
		rte_pktmbuf_free_seg(s);
		if (rc < 0) {
			list_free(in);
			return -1;
		}
	}
	return 0;
}

/* Detaches the first n (> 0, <= q->len) bytes as a list of their own. An
 * mbuf across the cut stays queued for its tail; the list gets an indirect
 * mbuf for its head. NULL when no mbuf for that (nothing changed). */
static struct rte_mbuf *queue_cut(struct hg_tls_queue *q,
				  struct rte_mempool *pool, uint32_t n)
{
	struct rte_mbuf *head = q->head, *m = head, *prev = NULL, *mi;
	uint32_t acc = 0;

	while (acc + m->data_len < n) {
		acc += m->data_len;
		prev = m;
		m = m->next;
	}
	if (n - acc == m->data_len) {
		q->head = m->next;
		if (q->head == NULL)
			q->tail = NULL;
		m->next = NULL;
	} else {
		mi = split_head(pool, m, n - acc);
		if (mi == NULL)
			return NULL;
		if (prev != NULL)
			prev->next = mi;
		else
			head = mi;
		q->head = m;
	}
	q->len -= n;
	return head;
}

/* --- the output chain ----------------------------------------------------- */

/* A chain being built for the caller: the head's pkt_len and nb_segs kept
 * right. `gather` is an mbuf of ours at the tail that small pieces are
 * copied into. */
struct chain {
	struct rte_mbuf *head, *tail, *gather;
};

/* Appends the list m of `len` bytes. Returns -1 when the chain would have
 * too many segments (m is then the caller's). */
static int chain_link(struct chain *c, struct rte_mbuf *m, uint32_t len)
{
	struct rte_mbuf *last = m;
	unsigned segs = 1;

	while (last->next != NULL) {
		last = last->next;
		segs++;
	}
	if (c->head == NULL) {
		c->head = m;
		m->pkt_len = len;
		m->nb_segs = (uint16_t)segs;
	} else {
		if (c->head->nb_segs + segs > RTE_MBUF_MAX_NB_SEGS)
			return -1;
		c->tail->next = m;
		c->head->pkt_len += len;
		c->head->nb_segs = (uint16_t)(c->head->nb_segs + segs);
	}
	c->tail = last;
	c->gather = NULL;
	return 0;
}

static int chain_copy_in(struct chain *c, struct rte_mempool *pool,
			 const uint8_t *p, uint32_t n)
{
	while (n > 0) {
		struct rte_mbuf *g = c->gather;
		uint32_t k;

		if (g == NULL || rte_pktmbuf_tailroom(g) == 0) {
			g = rte_pktmbuf_alloc(pool);
			if (g == NULL)
				return -1;
			if (chain_link(c, g, 0) < 0) {
				rte_pktmbuf_free(g);
				return -1;
			}
			c->gather = g;
		}
		k = min32(n, rte_pktmbuf_tailroom(g));
		memcpy(rte_pktmbuf_mtod_offset(g, uint8_t *, g->data_len), p,
		       k);
		g->data_len = (uint16_t)(g->data_len + k);
		c->head->pkt_len += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* --- receiving ------------------------------------------------------------ */

static enum hg_tls_rx fatal(struct hg_tls_rec *t, uint8_t alert)
{
	t->alert = alert;
	return HG_TLS_RX_FATAL;
}

/* Malformed framing or content: counted, connection over. */
static enum hg_tls_rx bad(struct hg_tls_rec *t, uint8_t alert)
{
	COUNT(t, tls_bad_records);
	return fatal(t, alert);
}

static enum hg_tls_rx nomem(struct hg_tls_rec *t)
{
	COUNT(t, tls_nomem);
	return fatal(t, HG_TLS_ALERT_INTERNAL_ERROR);
}

/* Checks a record header. Returns 0 (and the length), or the alert. */
static uint8_t check_header(const struct hg_tls_rec *t, const uint8_t *h,
			    uint16_t *len)
{
	bool v13 = t->version == HG_TLS_V13;
	/* Tag, TLS 1.3's inner type, TLS 1.2 AES-GCM's explicit nonce. */
	unsigned min =
	    HG_TLS_TAG_LEN + (v13 ? 1 : 0) + hg_tls_explicit_nonce_len(&t->rx);

	*len = get16(h + 3);
	/* TLS 1.3 protects every record as application_data and says to
	 * ignore the version; a major version other than 3 is still not TLS.
	 * TLS 1.2 names the version in every record. */
	if (v13 ? h[0] != HG_TLS_CT_APPLICATION_DATA
		: h[0] < HG_TLS_CT_CHANGE_CIPHER_SPEC ||
		      h[0] > HG_TLS_CT_APPLICATION_DATA)
		return HG_TLS_ALERT_UNEXPECTED_MESSAGE;
	if (v13 ? h[1] != 3 : get16(h + 1) != HG_TLS_V12)
		return HG_TLS_ALERT_DECODE_ERROR;
	if (*len > (v13 ? MAX_CIPHERTEXT_13 : MAX_CIPHERTEXT_12))
		return HG_TLS_ALERT_RECORD_OVERFLOW;
	if (*len < min)
		return HG_TLS_ALERT_DECODE_ERROR;
	return 0;
}

/* TLS 1.3: the content type is the last non-zero byte of the plaintext,
 * zeros after it are padding (RFC 8446 5.4). Returns its offset in the
 * body (the content's length), or -1 when all of it is zero. */
static long inner_type_at(const struct hg_sg *sg, unsigned n, uint8_t *type)
{
	size_t before = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		before += sg[i].len;
	while (n-- > 0) {
		size_t j = sg[n].len;

		before -= sg[n].len;
		while (j-- > 0)
			if (sg[n].p[j] != 0) {
				*type = sg[n].p[j];
				return (long)(before + j);
			}
	}
	return -1;
}

static enum hg_tls_rx app_data_in(struct hg_tls_rec *t,
				  struct rte_mempool *pool, struct rte_mbuf *r,
				  uint32_t off, uint32_t len, struct chain *out)
{
	uint8_t small[HG_TLS_REC_SMALL];

	COUNT_N(t, tls_plain_bytes_in, len);
	if (len == 0) { /* allowed: nothing to pass on */
		list_free(r);
		return HG_TLS_RX_OK;
	}
	if (len < HG_TLS_REC_SMALL) {
		list_read(r, off, len, small);
		list_free(r);
		return chain_copy_in(out, pool, small, len) < 0 ? nomem(t)
								: HG_TLS_RX_OK;
	}
	r = list_drop_front(r, off);
	list_keep(r, len);
	if (chain_link(out, r, len) < 0) {
		list_free(r);
		return nomem(t);
	}
	return HG_TLS_RX_OK;
}

static enum hg_tls_rx alert_in(struct hg_tls_rec *t, struct rte_mbuf *r,
			       uint32_t off, uint32_t len)
{
	uint8_t a[2];

	if (len != 2) { /* one alert per record, never split (RFC 8446 6) */
		list_free(r);
		return bad(t, HG_TLS_ALERT_DECODE_ERROR);
	}
	list_read(r, off, 2, a);
	list_free(r);
	COUNT(t, tls_alerts_in);
	if (a[1] == HG_TLS_ALERT_CLOSE_NOTIFY) {
		COUNT(t, tls_close_notify_in);
		return HG_TLS_RX_CLOSE_NOTIFY;
	}
	/* TLS 1.3: every alert but these two is an error whatever its
	 * level (RFC 8446 6.2); user_canceled is followed by close_notify.
	 * TLS 1.2: warnings may be ignored. */
	if (t->version == HG_TLS_V13 ? a[1] == HG_TLS_ALERT_USER_CANCELED
				     : a[0] == HG_TLS_ALERT_WARNING)
		return HG_TLS_RX_OK;
	t->alert_received = true;
	t->peer_alert = a[1];
	return fatal(t, 0); /* nothing is sent after a fatal alert */
}

/* TLS 1.3: the header of a handshake message, t->hs_len bytes of it so
 * far, with `rest` more bytes in its record. KeyUpdate from either peer;
 * NewSessionTicket from a server only (a client sends none, and we ask for
 * no certificate). A KeyUpdate's one byte must end its record. */
static enum hg_tls_rx hs13_header(struct hg_tls_rec *t, uint32_t rest)
{
	uint8_t type = t->hs_buf[0];
	uint32_t n;

	if (type != HS_KEY_UPDATE &&
	    !(type == HS_NEW_SESSION_TICKET && t->peer_is_server))
		return bad(t, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	if (t->hs_len < HS_HDR_LEN)
		return HG_TLS_RX_OK; /* the rest is in the next record */
	n = (uint32_t)t->hs_buf[1] << 16 | (uint32_t)t->hs_buf[2] << 8 |
	    t->hs_buf[3];
	if (type == HS_KEY_UPDATE) {
		if (rest > 1)
			return bad(t, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
		return n == 1 ? HG_TLS_RX_OK
			      : bad(t, HG_TLS_ALERT_DECODE_ERROR);
	}
	if (n < NST_MIN || n > NST_MAX)
		return bad(t, HG_TLS_ALERT_DECODE_ERROR);
	t->hs_skip = n;
	return HG_TLS_RX_OK;
}

/* TLS 1.3: a KeyUpdate's byte, at the end of its record: the receive
 * keys change here (RFC 8446 4.6.3, 5.1). */
static enum hg_tls_rx key_update_in(struct hg_tls_rec *t)
{
	t->hs_len = 0;
	if (t->hs_buf[4] > 1) /* update_not_requested(0), requested(1) */
		return bad(t, HG_TLS_ALERT_ILLEGAL_PARAMETER);
	if (hg_tls_aead_update(&t->rx, t->mgr) < 0)
		return fatal(t, HG_TLS_ALERT_INTERNAL_ERROR);
	COUNT(t, tls_key_updates_in);
	if (t->hs_buf[4] == 1)
		t->key_update_due = true;
	return HG_TLS_RX_OK;
}

/* TLS 1.3 after the handshake: KeyUpdate, and from a server its
 * NewSessionTickets, which are skipped unread (the control plane resumes
 * no TLS 1.3 session towards backends). Messages may be split across
 * records and several may share one (RFC 8446 5.1). */
static enum hg_tls_rx handshake13_in(struct hg_tls_rec *t, struct rte_mbuf *r,
				     uint32_t off, uint32_t len)
{
	enum hg_tls_rx rc = HG_TLS_RX_OK;

	if (len == 0) /* no empty handshake fragments (RFC 8446 5.1) */
		rc = bad(t, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	while (rc == HG_TLS_RX_OK && len > 0) {
		uint32_t k;

		if (t->hs_skip > 0) { /* a NewSessionTicket's body */
			k = min32(len, t->hs_skip);
			t->hs_skip -= k;
			if (t->hs_skip == 0)
				t->hs_len = 0;
		} else if (t->hs_len < HS_HDR_LEN) {
			k = min32(len, HS_HDR_LEN - t->hs_len);
			list_read(r, off, k, t->hs_buf + t->hs_len);
			t->hs_len = (uint8_t)(t->hs_len + k);
			rc = hs13_header(t, len - k);
		} else { /* a KeyUpdate's byte */
			k = 1;
			list_read(r, off, 1, t->hs_buf + HS_HDR_LEN);
			rc = len > 1 ? bad(t, HG_TLS_ALERT_UNEXPECTED_MESSAGE)
				     : key_update_in(t);
		}
		off += k;
		len -= k;
	}
	list_free(r);
	return rc;
}

/* TLS 1.2 after the handshake. From a client: a ClientHello asks for
 * renegotiation, which we refuse (the keys are the control plane's
 * business, and it is done). From a server: HelloRequests (empty, maybe
 * several, maybe split across records) ask for it, and a client may
 * ignore them (RFC 5246 7.4.1.1): we do. Anything else has no business
 * here. */
static enum hg_tls_rx handshake12_in(struct hg_tls_rec *t, struct rte_mbuf *r,
				     uint32_t off, uint32_t len)
{
	enum hg_tls_rx rc = HG_TLS_RX_OK;
	uint8_t type = 0;

	if (!t->peer_is_server) {
		if (len > 0)
			list_read(r, off, 1, &type);
		list_free(r);
		return bad(t, type == HS_CLIENT_HELLO
				  ? HG_TLS_ALERT_NO_RENEGOTIATION
				  : HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	}
	if (len == 0) /* no empty handshake fragments (RFC 5246 6.2.1) */
		rc = bad(t, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	while (rc == HG_TLS_RX_OK && len > 0) {
		uint32_t k = min32(len, HS_HDR_LEN - t->hs_len);

		list_read(r, off, k, t->hs_buf + t->hs_len);
		t->hs_len = (uint8_t)(t->hs_len + k);
		off += k;
		len -= k;
		if (t->hs_buf[0] != HS_HELLO_REQUEST)
			rc = bad(t, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
		else if (t->hs_len == HS_HDR_LEN &&
			 (t->hs_buf[1] | t->hs_buf[2] | t->hs_buf[3]) != 0)
			rc = bad(t, HG_TLS_ALERT_DECODE_ERROR);
		else if (t->hs_len == HS_HDR_LEN)
			t->hs_len = 0; /* ignored */
	}
	list_free(r);
	return rc;
}

/* A decrypted record's content, `len` bytes at `off` in r. */
static enum hg_tls_rx content_in(struct hg_tls_rec *t, struct rte_mempool *pool,
				 struct rte_mbuf *r, uint8_t type, uint32_t off,
				 uint32_t len, struct chain *out)
{
	/* Nothing may come between the pieces of a handshake message. */
	if (t->hs_len > 0 && type != HG_TLS_CT_HANDSHAKE)
		type = 0;
	switch (type) {
	case HG_TLS_CT_APPLICATION_DATA:
		return app_data_in(t, pool, r, off, len, out);
	case HG_TLS_CT_ALERT:
		return alert_in(t, r, off, len);
	case HG_TLS_CT_HANDSHAKE:
		return t->version == HG_TLS_V13
			   ? handshake13_in(t, r, off, len)
			   : handshake12_in(t, r, off, len);
	default: /* change_cipher_spec after the handshake, or unknown */
		list_free(r);
		return bad(t, HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	}
}

/* Opens the record r (header `h`, `total` bytes) in place under the next
 * receive sequence number. True when it was genuine. */
static bool decrypt(struct hg_tls_rec *t, const struct rte_mbuf *r,
		    const uint8_t *h, uint32_t total, const struct hg_sg *sg,
		    unsigned n)
{
	uint8_t nonce[HG_TLS_IV_LEN], aad[HG_TLS_MAX_AAD], tag[HG_TLS_TAG_LEN];
	uint8_t explicit[8] = {0};
	unsigned ex = hg_tls_explicit_nonce_len(&t->rx);
	uint32_t body = total - HDR_LEN - ex - HG_TLS_TAG_LEN;
	size_t aad_len;

	list_read(r, total - HG_TLS_TAG_LEN, HG_TLS_TAG_LEN, tag);
	if (ex)
		list_read(r, HDR_LEN, sizeof(explicit), explicit);
	hg_tls_nonce(&t->rx, t->rx.seq, explicit, nonce);
	if (t->version == HG_TLS_V13) {
		memcpy(aad, h, HDR_LEN); /* the header as it came */
		aad_len = HDR_LEN;
	} else {
		aad_len = hg_tls12_aad(aad, t->rx.seq, h[0], (uint16_t)body);
	}
	return hg_tls_open(t->mgr, &t->rx, nonce, aad, aad_len, sg, n, tag);
}

/* Opens the record r (header `h`, `total` bytes) and handles its content. */
static enum hg_tls_rx open_record(struct hg_tls_rec *t,
				  struct rte_mempool *pool, struct rte_mbuf *r,
				  const uint8_t *h, uint32_t total,
				  struct chain *out)
{
	struct hg_sg sg[HG_TLS_REC_SG_MAX];
	uint32_t off = HDR_LEN + hg_tls_explicit_nonce_len(&t->rx);
	uint32_t body = total - off - HG_TLS_TAG_LEN;
	uint8_t type = h[0];
	long len = body;
	unsigned n;

	if (t->rx.seq == UINT64_MAX) { /* no wrap (RFC 8446 5.3) */
		list_free(r);
		return fatal(t, HG_TLS_ALERT_INTERNAL_ERROR);
	}
	n = list_sg(r, off, body, sg, HG_TLS_REC_SG_MAX);
	if (n > HG_TLS_REC_SG_MAX) { /* only with mbufs of a few bytes */
		list_free(r);
		return nomem(t);
	}
	if (!decrypt(t, r, h, total, sg, n)) {
		list_free(r);
		COUNT(t, tls_decrypt_failures);
		return fatal(t, HG_TLS_ALERT_BAD_RECORD_MAC);
	}
	t->rx.seq++;
	COUNT(t, tls_records_in);
	/* TLS 1.3: content, type, padding; at most 2^14 + 1 bytes of them.
	 * TLS 1.2: content, at most 2^14 bytes. */
	if (t->version == HG_TLS_V13 && body <= HG_TLS_REC_MAX_PLAIN + 1)
		len = inner_type_at(sg, n, &type);
	else if (t->version == HG_TLS_V13 || body > HG_TLS_REC_MAX_PLAIN)
		len = -2;
	if (len < 0) {
		list_free(r);
		return bad(t, len == -2 ? HG_TLS_ALERT_RECORD_OVERFLOW
					: HG_TLS_ALERT_UNEXPECTED_MESSAGE);
	}
	return content_in(t, pool, r, type, off, (uint32_t)len, out);
}

enum hg_tls_rx hg_tls_rec_open(struct hg_tls_rec *t, struct rte_mempool *pool,
			       struct rte_mbuf *in, struct rte_mbuf **plain)
{
	struct chain out = {0};
	enum hg_tls_rx rc = HG_TLS_RX_OK;

	*plain = NULL;
	if (t->rx_state != HG_TLS_RX_OK) {
		rte_pktmbuf_free(in);
		return (enum hg_tls_rx)t->rx_state;
	}
	if (in != NULL && queue_absorb(&t->held, pool, in) < 0)
		rc = nomem(t);
	while (rc == HG_TLS_RX_OK && t->held.len >= HDR_LEN) {
		uint8_t h[HDR_LEN], alert;
		uint16_t len;
		struct rte_mbuf *r;

		list_read(t->held.head, 0, HDR_LEN, h);
		alert = check_header(t, h, &len);
		if (alert != 0) {
			rc = bad(t, alert);
			break;
		}
		if (t->held.len < HDR_LEN + (uint32_t)len)
			break; /* the record is not all here yet */
		r = queue_cut(&t->held, pool, HDR_LEN + (uint32_t)len);
		if (r == NULL) {
			rc = nomem(t);
			break;
		}
		rc = open_record(t, pool, r, h, HDR_LEN + (uint32_t)len, &out);
	}
	if (rc != HG_TLS_RX_OK) {
		queue_clear(&t->held);
		t->rx_state = (uint8_t)rc;
	}
	if (rc == HG_TLS_RX_FATAL)
		rte_pktmbuf_free(out.head);
	else
		*plain = out.head;
	return rc;
}

/* --- sending ---------------------------------------------------------------
 */

/* Room for the header (and explicit nonce) before the content, for the
 * inner type and tag after it: in the content's own first and last mbufs
 * when they are ours alone and have the room, else in new ones. Returns
 * the record's list with *hdr and *trl pointing at those places, or NULL
 * (list freed). */
static struct rte_mbuf *frame(struct rte_mempool *pool, struct rte_mbuf *m,
			      uint32_t hdr_len, uint32_t trl_len, uint8_t **hdr,
			      uint8_t **trl)
{
	struct rte_mbuf *last = list_last(m), *x;

	if (writable(last) && rte_pktmbuf_tailroom(last) >= trl_len) {
		*trl = rte_pktmbuf_mtod_offset(last, uint8_t *, last->data_len);
		last->data_len = (uint16_t)(last->data_len + trl_len);
	} else {
		x = rte_pktmbuf_alloc(pool);
		if (x == NULL)
			goto fail;
		*trl = rte_pktmbuf_mtod(x, uint8_t *);
		x->data_len = (uint16_t)trl_len;
		last->next = x;
	}
	if (writable(m) && rte_pktmbuf_headroom(m) >= hdr_len) {
		m->data_off = (uint16_t)(m->data_off - hdr_len);
		m->data_len = (uint16_t)(m->data_len + hdr_len);
		*hdr = rte_pktmbuf_mtod(m, uint8_t *);
		return m;
	}
	x = rte_pktmbuf_alloc(pool);
	if (x == NULL)
		goto fail;
	*hdr = rte_pktmbuf_mtod(x, uint8_t *);
	x->data_len = (uint16_t)hdr_len;
	x->next = m;
	return x;
fail:
	list_free(m);
	return NULL;
}

/* Seals the list m (`len` bytes of content of type `type`, its mbufs ours
 * to write, at most HG_TLS_REC_SG_MAX - 1 of them) into one record.
 * Returns the record's list (*rec_len bytes), or NULL (m freed). */
static struct rte_mbuf *seal_record(struct hg_tls_rec *t,
				    struct rte_mempool *pool,
				    struct rte_mbuf *m, uint32_t len,
				    uint8_t type, uint32_t *rec_len)
{
	struct hg_sg sg[HG_TLS_REC_SG_MAX];
	uint8_t nonce[HG_TLS_IV_LEN], aad[HG_TLS_MAX_AAD], *hdr, *trl;
	bool v13 = t->version == HG_TLS_V13;
	unsigned ex = hg_tls_explicit_nonce_len(&t->tx), inner = v13 ? 1 : 0;
	uint32_t ct_len = ex + len + inner + HG_TLS_TAG_LEN;
	uint64_t seq = t->tx.seq;
	unsigned n;
	size_t aad_len;

	n = list_sg(m, 0, len, sg, HG_TLS_REC_SG_MAX - 1);
	if (seq == UINT64_MAX || n >= HG_TLS_REC_SG_MAX) {
		list_free(m);
		return NULL;
	}
	m = frame(pool, m, HDR_LEN + ex, inner + HG_TLS_TAG_LEN, &hdr, &trl);
	if (m == NULL)
		return NULL;
	hdr[0] = v13 ? HG_TLS_CT_APPLICATION_DATA : type;
	put16(hdr + 1, HG_TLS_V12);
	put16(hdr + 3, (uint16_t)ct_len);
	if (ex) { /* the explicit nonce: our sequence number, never reused */
		put32(hdr + 5, (uint32_t)(seq >> 32));
		put32(hdr + 9, (uint32_t)seq);
	}
	if (inner) {
		trl[0] = type;
		sg[n].p = trl;
		sg[n++].len = 1;
	}
	hg_tls_nonce(&t->tx, seq, hdr + HDR_LEN, nonce);
	if (v13) {
		memcpy(aad, hdr, HDR_LEN);
		aad_len = HDR_LEN;
	} else {
		aad_len = hg_tls12_aad(aad, seq, type, (uint16_t)len);
	}
	hg_tls_seal(t->mgr, &t->tx, nonce, aad, aad_len, sg, n, trl + inner);
	t->tx.seq++;
	COUNT(t, tls_records_out);
	*rec_len = HDR_LEN + ct_len;
	return m;
}

/* The next record's worth of plaintext off the queue: whole mbufs up to
 * record_size; an mbuf is split only when the record would otherwise stay
 * under half of record_size. *len gets its length. NULL: no mbuf for a
 * split. */
static struct rte_mbuf *take_record(struct hg_tls_rec *t,
				    struct hg_tls_queue *q,
				    struct rte_mempool *pool, uint32_t *len)
{
	struct rte_mbuf *m = q->head;
	uint32_t n = 0, max = t->record_size;
	unsigned segs = 0;

	while (m != NULL && n + m->data_len <= max &&
	       segs < HG_TLS_REC_SG_MAX - 1) {
		n += m->data_len;
		segs++;
		m = m->next;
	}
	if (m != NULL && (n == 0 || n < max / 2) &&
	    segs < HG_TLS_REC_SG_MAX - 1)
		n = max; /* fill the record up, cutting m */
	*len = n;
	return queue_cut(q, pool, n);
}

/* A record of our own making (alert, KeyUpdate) from a few bytes, as a
 * chain. NULL (tls_nomem counted) when no mbuf. */
static struct rte_mbuf *control_record(struct hg_tls_rec *t,
				       struct rte_mempool *pool, uint8_t type,
				       const uint8_t *p, uint16_t n)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct chain c = {0};
	uint32_t rec_len;

	if (m != NULL) {
		memcpy(rte_pktmbuf_append(m, n), p, n);
		m = seal_record(t, pool, m, n, type, &rec_len);
	}
	if (m == NULL) {
		COUNT(t, tls_nomem);
		return NULL;
	}
	chain_link(&c, m, rec_len); /* a handful of segments: cannot fail */
	return c.head;
}

struct rte_mbuf *hg_tls_rec_alert(struct hg_tls_rec *t,
				  struct rte_mempool *pool, uint8_t level,
				  uint8_t desc)
{
	const uint8_t a[2] = {level, desc};
	struct rte_mbuf *m = control_record(t, pool, HG_TLS_CT_ALERT, a, 2);

	if (m != NULL) {
		COUNT(t, tls_alerts_out);
		if (desc == HG_TLS_ALERT_CLOSE_NOTIFY)
			COUNT(t, tls_close_notify_out);
	}
	return m;
}

struct rte_mbuf *hg_tls_rec_key_update(struct hg_tls_rec *t,
				       struct rte_mempool *pool,
				       bool request_peer)
{
	const uint8_t ku[5] = {HS_KEY_UPDATE, 0, 0, 1, request_peer ? 1 : 0};
	struct rte_mbuf *m;

	if (t->version != HG_TLS_V13)
		return NULL;
	m = control_record(t, pool, HG_TLS_CT_HANDSHAKE, ku, sizeof(ku));
	if (m == NULL)
		return NULL;
	/* The KeyUpdate went under the old key; all after it under the new
	 * one (RFC 8446 4.6.3). */
	hg_tls_aead_update(&t->tx, t->mgr);
	t->key_update_due = false;
	COUNT(t, tls_key_updates_out);
	return m;
}

struct rte_mbuf *hg_tls_rec_seal(struct hg_tls_rec *t, struct rte_mempool *pool,
				 struct rte_mbuf *plain)
{
	struct hg_tls_queue q = {0};
	struct chain out = {0};

	if (plain == NULL)
		return NULL;
	if (t->key_update_due) { /* owed before any more data */
		struct rte_mbuf *ku = hg_tls_rec_key_update(t, pool, false);

		if (ku == NULL) {
			rte_pktmbuf_free(plain);
			return NULL;
		}
		chain_link(&out, ku, ku->pkt_len);
	}
	if (queue_absorb(&q, pool, plain) < 0)
		goto fail;
	while (q.len > 0) {
		uint32_t len, rec_len;
		struct rte_mbuf *m = take_record(t, &q, pool, &len);

		if (m == NULL)
			goto fail;
		m = seal_record(t, pool, m, len, HG_TLS_CT_APPLICATION_DATA,
				&rec_len);
		if (m == NULL)
			goto fail;
		if (chain_link(&out, m, rec_len) < 0) {
			list_free(m);
			goto fail;
		}
		COUNT_N(t, tls_plain_bytes_out, len);
	}
	return out.head;
fail:
	queue_clear(&q);
	rte_pktmbuf_free(out.head);
	COUNT(t, tls_nomem);
	return NULL;
}

/* --- life ------------------------------------------------------------------
 */

int hg_tls_rec_init(struct hg_tls_rec *t, IMB_MGR *mgr,
		    const struct hg_tls_keys *k, unsigned record_size,
		    uint64_t *wctr)
{
	return hg_tls_rec_init_peer(t, mgr, k, record_size, wctr, false);
}

int hg_tls_rec_init_peer(struct hg_tls_rec *t, IMB_MGR *mgr,
			 const struct hg_tls_keys *k, unsigned record_size,
			 uint64_t *wctr, bool peer_is_server)
{
	memset(t, 0, sizeof(*t));
	if (hg_tls_aead_init(&t->rx, mgr, k->version, k->cipher, &k->rx) < 0 ||
	    hg_tls_aead_init(&t->tx, mgr, k->version, k->cipher, &k->tx) < 0) {
		hg_tls_aead_wipe(&t->rx);
		return -1;
	}
	t->mgr = mgr;
	t->wctr = wctr;
	t->version = k->version;
	t->peer_is_server = peer_is_server;
	if (record_size == 0 || record_size > HG_TLS_REC_MAX_PLAIN)
		record_size = HG_TLS_REC_MAX_PLAIN;
	t->record_size = (uint16_t)record_size;
	return 0;
}

void hg_tls_rec_free(struct hg_tls_rec *t)
{
	queue_clear(&t->held);
	hg_tls_aead_wipe(&t->rx);
	hg_tls_aead_wipe(&t->tx);
	explicit_bzero(t, sizeof(*t));
}
