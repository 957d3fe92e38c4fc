/* libFuzzer target: a client's first bytes through the CGP bind parser of
 * controlplane/cgp.h, plus the reply parser and the varlen codec.
 *
 * Besides memory errors (ASan/UBSan), it abort()s when a property that
 * must hold for any input does not:
 * - hg_cgp_parse_bind gives -1, -2 or the bind's length (<= the input);
 *   a bind's ticket is 1..HG_CGP_TICKET_MAX bytes inside it, of type 0;
 * - every proper prefix of a bind is -2; once a prefix is -1 every longer
 *   one is -1; what is not -1 starts with (a prefix of) the magic;
 * - a bind parses again from exactly its own bytes, and the ticket it
 *   carried, built into a bind of our own, parses back to the same ticket;
 * - the same for hg_cgp_parse_reply, whose code byte is inside the reply;
 * - a varlen read back from the input is rewritten to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "cgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* The prefix properties at data[0..size) given the full result r. Long
 * inputs are checked on their first 1200 bytes (any bind fits). */
static void check_prefixes(const uint8_t *data, size_t size, int r)
{
	struct hg_cgp_bind b;
	size_t cut, end = size < 1200 ? size : 1200;
	bool bad = false;
	int k;

	for (cut = 0; cut <= end; cut++) {
		k = hg_cgp_parse_bind(data, cut, &b);
		check(k == -1 || k == -2 || k > 0);
		if (r > 0 && cut < (size_t)r)
			check(k == -2);
		if (bad)
			check(k == -1);
		if (k == -1)
			bad = true;
		if (k != -1)
			check(hg_cgp_is_magic_prefix(data, cut));
	}
}

static void check_bind(const uint8_t *data, size_t size)
{
	struct hg_cgp_bind b, b2;
	uint8_t again[HG_CGP_MAGIC_LEN + 2 + 16 + HG_CGP_TICKET_MAX];
	size_t n;
	int r = hg_cgp_parse_bind(data, size, &b);

	check(r == -1 || r == -2 || r > 0);
	check_prefixes(data, size, r);
	if (r <= 0)
		return;
	check((size_t)r <= size && b.bytes == (size_t)r);
	check(b.ticket_type == 0);
	check(b.ticket_len >= 1 && b.ticket_len <= HG_CGP_TICKET_MAX);
	check(b.ticket > data && b.ticket + b.ticket_len <= data + r);
	check(hg_cgp_parse_bind(data, (size_t)r, &b2) == r);
	check(b2.ticket == b.ticket && b2.ticket_len == b.ticket_len);

	n = hg_cgp_bind_request(again, sizeof(again), (const char *)b.ticket,
				b.ticket_len);
	check(n > 0);
	check(hg_cgp_parse_bind(again, n, &b2) == (int)n);
	check(b2.ticket_len == b.ticket_len &&
	      memcmp(b2.ticket, b.ticket, b.ticket_len) == 0);
}

static void check_reply(const uint8_t *data, size_t size)
{
	uint8_t cmd, code, cmd2, code2;
	int r = hg_cgp_parse_reply(data, size, &cmd, &code);
	size_t cut;

	check(r == -1 || r == -2 || r > 0);
	if (r <= 0)
		return;
	check((size_t)r <= size && r >= HG_CGP_MAGIC_LEN + 3);
	check(hg_cgp_parse_reply(data, (size_t)r, &cmd2, &code2) == r);
	check(cmd2 == cmd && code2 == code);
	for (cut = 0; cut < (size_t)r; cut++)
		check(hg_cgp_parse_reply(data, cut, &cmd2, &code2) == -2);
}

static void check_varlen(const uint8_t *data, size_t size)
{
	uint8_t out[2];
	unsigned v;
	int r = hg_cgp_varlen_get(data, size, &v);

	check(r == -1 || r == -2 || r == 1 || r == 2);
	if (r <= 0)
		return;
	check(v <= HG_CGP_VARLEN_MAX);
	check(hg_cgp_varlen_put(out, v) == (size_t)r);
	check(memcmp(out, data, (size_t)r) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *m;

	check_bind(data, size);
	check_reply(data, size);
	check_varlen(data, size);

	/* the same bytes behind the magic, where most inputs get past it */
	m = malloc(HG_CGP_MAGIC_LEN + size + 1);
	if (m == NULL)
		return 0;
	memcpy(m, HG_CGP_MAGIC, HG_CGP_MAGIC_LEN);
	if (size > 0)
		memcpy(m + HG_CGP_MAGIC_LEN, data, size);
	check_bind(m, HG_CGP_MAGIC_LEN + size);
	check_reply(m, HG_CGP_MAGIC_LEN + size);
	free(m);
	return 0;
}
