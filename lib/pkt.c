#include "pkt.h"

#include <string.h>

#include "bytes.h"

/* Group bit: set for multicast and broadcast. */
static inline bool mac_is_group(const uint8_t *m)
{
	return (m[0] & 1) != 0;
}

static bool mac_is_broadcast(const uint8_t *m)
{
	static const uint8_t bcast[HG_ETH_ALEN] = {0xff, 0xff, 0xff,
						   0xff, 0xff, 0xff};

	return memcmp(m, bcast, HG_ETH_ALEN) == 0;
}

static bool mac_is_zero(const uint8_t *m)
{
	static const uint8_t zero[HG_ETH_ALEN];

	return memcmp(m, zero, HG_ETH_ALEN) == 0;
}

static inline bool ipv4_is_loopback(uint32_t a)
{
	return (a >> 24) == 127;
}

/* 224/4 multicast and 240/4 reserved, which holds 255.255.255.255. */
static inline bool ipv4_is_class_d(uint32_t a)
{
	return (a >> 28) == 0xe;
}

static inline bool ipv4_is_class_e(uint32_t a)
{
	return (a >> 28) == 0xf;
}

/* ---- Checksum ---- */

static inline uint16_t csum_fold(uint64_t acc)
{
	/* Each round adds the carries back in (end-around carry); three
	 * rounds bring any 64-bit value to 16 bits, the loop is for clarity. */
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The one's complement sum does not care about byte order as long as the
 * 16-bit word boundaries are kept (RFC 1071 section 2(B)): 32-bit words
 * are added in host order into a 64-bit accumulator (no overflow below
 * 2^32 words), folded, and the 16-bit result swapped to network order at
 * the end. Eight words a round: the per-byte cost that dominated a busy
 * worker on links without checksum offload. */
uint32_t hg_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc = 0;
	uint32_t w[8];
	uint16_t host;

	while (len >= sizeof(w)) {
		memcpy(w, p, sizeof(w));
		acc += (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4] + w[5] +
		       w[6] + w[7];
		p += sizeof(w);
		len -= sizeof(w);
	}
	while (len >= 4) {
		memcpy(w, p, 4);
		acc += w[0];
		p += 4;
		len -= 4;
	}
	/* 1..3 trailing bytes: a zero-padded word (an odd last byte is the
	 * high half of its 16-bit word). */
	if (len) {
		uint8_t last[4] = {0};

		memcpy(last, p, len);
		memcpy(w, last, 4);
		acc += w[0];
	}
	host = csum_fold(acc);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	host = (uint16_t)((host >> 8) | (host << 8));
#endif
	return csum_fold((uint64_t)sum + host);
}

uint16_t hg_csum_finish(uint32_t sum)
{
	return (uint16_t)~csum_fold(sum);
}

/* A correct checksum field makes the whole region sum to -0. */
static inline bool csum_ok(const uint8_t *p, size_t len)
{
	return hg_csum_add(0, p, len) == 0xffff;
}

/* ---- Ethernet ---- */

enum hg_drop hg_parse_eth(const uint8_t *p, size_t len, struct hg_eth *out)
{
	uint16_t type;

	if (len < HG_ETH_HLEN)
		return HG_DROP_eth_truncated;
	type = get16(p + 12);
	if (type == HG_ETHERTYPE_VLAN || type == HG_ETHERTYPE_QINQ)
		return HG_DROP_eth_vlan;
	memcpy(out->dst, p, HG_ETH_ALEN);
	memcpy(out->src, p + HG_ETH_ALEN, HG_ETH_ALEN);
	out->ethertype = type;
	out->l3_off = HG_ETH_HLEN;
	return HG_DROP_NONE;
}

bool hg_eth_accept(const uint8_t dst[HG_ETH_ALEN],
		   const uint8_t mine[HG_ETH_ALEN])
{
	if (mac_is_group(dst))
		return mac_is_broadcast(dst);
	return memcmp(dst, mine, HG_ETH_ALEN) == 0;
}

/* ---- ARP ---- */

static bool arp_format_ok(const uint8_t *p)
{
	uint16_t op = get16(p + 6);

	return get16(p) == 1 && get16(p + 2) == HG_ETHERTYPE_IPV4 &&
	       p[4] == HG_ETH_ALEN && p[5] == 4 &&
	       (op == HG_ARP_OP_REQUEST || op == HG_ARP_OP_REPLY);
}

/* A sender we would learn from must be a plausible unicast host, or a
 * neighbour cache could be poisoned with group or loopback addresses. */
static bool arp_source_ok(uint16_t op, const uint8_t *sha, uint32_t spa)
{
	if (mac_is_group(sha) || mac_is_zero(sha))
		return false;
	if (ipv4_is_class_d(spa) || spa == 0xffffffffu ||
	    ipv4_is_loopback(spa))
		return false;
	/* 0.0.0.0 is an RFC 5227 probe when asking, nonsense when answering. */
	return spa != 0 || op == HG_ARP_OP_REQUEST;
}

enum hg_drop hg_parse_arp(const uint8_t *p, size_t len, struct hg_arp *out)
{
	uint16_t op;
	uint32_t spa;

	if (len < HG_ARP_LEN)
		return HG_DROP_arp_truncated;
	if (!arp_format_ok(p))
		return HG_DROP_arp_bad_format;
	op = get16(p + 6);
	spa = get32(p + 14);
	if (!arp_source_ok(op, p + 8, spa))
		return HG_DROP_arp_bad_source;
	out->op = op;
	memcpy(out->sha, p + 8, HG_ETH_ALEN);
	out->spa = spa;
	memcpy(out->tha, p + 18, HG_ETH_ALEN);
	out->tpa = get32(p + 24);
	return HG_DROP_NONE;
}

/* ---- IPv4 ---- */

static bool ipv4_source_ok(uint32_t a)
{
	return a != 0 && !ipv4_is_loopback(a) && !ipv4_is_class_d(a) &&
	       !ipv4_is_class_e(a);
}

/* Structural checks, in the order the drop reasons are documented. */
static enum hg_drop ipv4_check_lengths(const uint8_t *p, size_t len)
{
	size_t hlen, total;

	if (len < HG_IPV4_MIN_HLEN)
		return HG_DROP_ipv4_truncated;
	if ((p[0] >> 4) != 4)
		return HG_DROP_ipv4_bad_version;
	hlen = (size_t)(p[0] & 0xf) * 4;
	if (hlen < HG_IPV4_MIN_HLEN || hlen > len)
		return HG_DROP_ipv4_bad_header_len;
	total = get16(p + 2);
	if (total < hlen || total > len)
		return HG_DROP_ipv4_bad_total_len;
	return HG_DROP_NONE;
}

enum hg_drop hg_parse_ipv4(const uint8_t *p, size_t len, struct hg_ipv4 *out)
{
	enum hg_drop r = ipv4_check_lengths(p, len);
	uint8_t hlen;
	uint32_t src;

	if (r != HG_DROP_NONE)
		return r;
	hlen = (uint8_t)((p[0] & 0xf) * 4);
	if (!csum_ok(p, hlen))
		return HG_DROP_ipv4_bad_checksum;
	src = get32(p + 12);
	if (!ipv4_source_ok(src))
		return HG_DROP_ipv4_bad_source;
	/* MF (0x2000) or a non-zero offset; DF (0x4000) is fine. */
	if (get16(p + 6) & 0x3fff)
		return HG_DROP_ipv4_fragment;
	out->hlen = hlen;
	out->tos = p[1];
	out->total_len = get16(p + 2);
	out->id = get16(p + 4);
	out->ttl = p[8];
	out->proto = p[9];
	out->src = src;
	out->dst = get32(p + 16);
	out->payload_off = hlen;
	out->payload_len = (size_t)out->total_len - hlen;
	return HG_DROP_NONE;
}

/* ---- ICMP ---- */

enum hg_drop hg_parse_icmp(const uint8_t *p, size_t len, struct hg_icmp *out)
{
	bool echo;

	if (len < HG_ICMP_HLEN)
		return HG_DROP_icmp_truncated;
	if (!csum_ok(p, len))
		return HG_DROP_icmp_bad_checksum;
	echo = p[0] == HG_ICMP_ECHO_REQUEST || p[0] == HG_ICMP_ECHO_REPLY;
	out->type = p[0];
	out->code = p[1];
	out->id = echo ? get16(p + 4) : 0;
	out->seq = echo ? get16(p + 6) : 0;
	return HG_DROP_NONE;
}

/* ---- Builders ---- */

size_t hg_build_arp(uint8_t *buf, size_t cap, uint16_t op,
		    const uint8_t eth_dst[HG_ETH_ALEN],
		    const uint8_t sha[HG_ETH_ALEN], uint32_t spa,
		    const uint8_t tha[HG_ETH_ALEN], uint32_t tpa)
{
	uint8_t *a = buf + HG_ETH_HLEN;

	if (cap < HG_ETH_HLEN + HG_ARP_LEN)
		return 0;
	memcpy(buf, eth_dst, HG_ETH_ALEN);
	memcpy(buf + HG_ETH_ALEN, sha, HG_ETH_ALEN);
	put16(buf + 12, HG_ETHERTYPE_ARP);
	put16(a, 1);
	put16(a + 2, HG_ETHERTYPE_IPV4);
	a[4] = HG_ETH_ALEN;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, HG_ETH_ALEN);
	put32(a + 14, spa);
	memcpy(a + 18, tha, HG_ETH_ALEN);
	put32(a + 24, tpa);
	return HG_ETH_HLEN + HG_ARP_LEN;
}

void hg_icmp_echo_reply_inplace(uint8_t *ip, size_t ip_len)
{
	size_t hlen, total;
	uint8_t addr[4];
	uint8_t *icmp;

	/* The caller guarantees a parsed packet; these checks only keep a
	 * broken caller from turning a bug into a buffer overrun. */
	if (ip_len < HG_IPV4_MIN_HLEN)
		return;
	hlen = (size_t)(ip[0] & 0xf) * 4;
	total = get16(ip + 2);
	if (hlen < HG_IPV4_MIN_HLEN || total > ip_len ||
	    total < hlen + HG_ICMP_HLEN)
		return;

	memcpy(addr, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, addr, 4);
	ip[8] = 64;
	put16(ip + 10, 0);
	put16(ip + 10, hg_csum_finish(hg_csum_add(0, ip, hlen)));

	/* The whole message is summed over total_len, never ip_len: Ethernet
	 * padding after the packet is not part of it. */
	icmp = ip + hlen;
	icmp[0] = HG_ICMP_ECHO_REPLY;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 2, hg_csum_finish(hg_csum_add(0, icmp, total - hlen)));
}

/* ---- Addresses ---- */

bool hg_ipv4_is_unicast(uint32_t a)
{
	return (a >> 24) != 0 && !ipv4_is_loopback(a) &&
	       !ipv4_is_class_d(a) && !ipv4_is_class_e(a);
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One dotted-quad part: 1 to 3 digits, value <= 255, and no leading zero
 * ("010" is octal 8 to inet_aton, so it would mean different things to
 * different tools). Returns the character after it, or NULL. */
static const char *parse_octet(const char *s, uint32_t *v)
{
	uint32_t n = 0;
	int digits = 0;

	while (is_digit(s[digits]) && digits < 3)
		n = n * 10 + (uint32_t)(s[digits++] - '0');
	if (digits == 0 || is_digit(s[digits]) || n > 255)
		return NULL;
	if (digits > 1 && s[0] == '0')
		return NULL;
	*v = n;
	return s + digits;
}

/* "a.b.c.d" at the start of s; returns the character after it, or NULL. */
static const char *parse_quad(const char *s, uint32_t *out)
{
	uint32_t a = 0, v;
	int i;

	for (i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return NULL;
		s = parse_octet(s, &v);
		if (s == NULL)
			return NULL;
		a = a << 8 | v;
	}
	*out = a;
	return s;
}

bool hg_ipv4_parse(const char *s, uint32_t *out)
{
	uint32_t a;

	s = parse_quad(s, &a);
	if (s == NULL || *s != '\0')
		return false;
	*out = a;
	return true;
}

bool hg_ipv4_parse_prefix(const char *s, uint32_t *addr, uint8_t *len)
{
	uint32_t a, n;

	s = parse_quad(s, &a);
	if (s == NULL || *s++ != '/')
		return false;
	/* Reuse the octet rules: 1-3 digits, no leading zero, no sign. */
	s = parse_octet(s, &n);
	if (s == NULL || *s != '\0' || n > 32)
		return false;
	*addr = a;
	*len = (uint8_t)n;
	return true;
}

static char *format_octet(char *p, unsigned v)
{
	if (v >= 100)
		*p++ = (char)('0' + v / 100);
	if (v >= 10)
		*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

void hg_ipv4_format(uint32_t a, char buf[16])
{
	char *p = buf;
	int shift;

	for (shift = 24; shift >= 0; shift -= 8) {
		p = format_octet(p, (a >> shift) & 0xff);
		*p++ = shift ? '.' : '\0';
	}
}
