/* SipHash-2-4, written from the paper (Aumasson, Bernstein, "SipHash: a
 * fast short-input PRF", 2012): 2 compression rounds per 8-byte word,
 * 4 finalization rounds, 64-bit output. */
#include "siphash.h"

#include <stdint.h>

#define SIP_C_ROUNDS 2
#define SIP_D_ROUNDS 4

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline uint64_t rotl64(uint64_t x, unsigned int b)
{
	return (x << b) | (x >> (64 - b));
}

/* Byte by byte with shifts: the input may be unaligned, and the words
 * are little-endian whatever the host order is. */
static inline uint64_t load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 |
	       (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl64(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl64(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl64(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl64(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl64(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl64(s->v2, 32);
}

static inline void sip_compress(struct sip_state *s, uint64_t m)
{
	int i;

	s->v3 ^= m;
	for (i = 0; i < SIP_C_ROUNDS; i++)
		sip_round(s);
	s->v0 ^= m;
}

/* The last word: the 0..7 remaining bytes, zero padded, with the message
 * length mod 256 in the top byte so that trailing zeros still count. */
static inline uint64_t last_word(const uint8_t *p, size_t len)
{
	uint64_t b = (uint64_t)(len & 0xff) << 56;
	size_t left = len & 7;

	while (left--)
		b |= (uint64_t)p[left] << (8 * left);
	return b;
}

uint64_t hg_siphash(const struct hg_sipkey *key, const void *data, size_t len)
{
	/* "somepseudorandomlygeneratedbytes", as the paper sets them. */
	struct sip_state s = {
		.v0 = key->k0 ^ 0x736f6d6570736575ULL,
		.v1 = key->k1 ^ 0x646f72616e646f6dULL,
		.v2 = key->k0 ^ 0x6c7967656e657261ULL,
		.v3 = key->k1 ^ 0x7465646279746573ULL,
	};
	const uint8_t *p = data;
	size_t whole = len & ~(size_t)7;
	size_t off;
	int i;

	/* Offsets, not pointer steps: data may be NULL when len is 0. */
	for (off = 0; off < whole; off += 8)
		sip_compress(&s, load_le64(p + off));
	sip_compress(&s, last_word(len ? p + whole : p, len));

	s.v2 ^= 0xff;
	for (i = 0; i < SIP_D_ROUNDS; i++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
