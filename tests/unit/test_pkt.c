/* Unit tests for lib/pkt.c: the L2/L3 parsers, builders and address helpers.
 *
 * Frames are assembled byte by byte by the helpers below, and IPv4/ICMP
 * checksums are computed by a naive reference sum written here, so the
 * tests do not trust the code they test to build their inputs.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "pkt.h"

#define IP4(a, b, c, d)                                                        \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 |      \
	 (uint32_t)(d))

static const uint8_t mac_a[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x01};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x5e, 0x10, 0x00, 0x02};
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
static const uint8_t mac_zero[6];

#define IP_A IP4(192, 0, 2, 1)
#define IP_B IP4(198, 51, 100, 7)

/* ---- Frame-building helpers ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Textbook RFC 1071, one byte at a time, independent of hg_csum_add. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < len; i++)
		sum += (i % 2 == 0) ? (uint32_t)p[i] << 8 : p[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t write_eth(uint8_t *p, const uint8_t *dst, const uint8_t *src,
			uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	put16(p + 12, type);
	return 14;
}

struct arp_spec {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
};

static struct arp_spec arp_spec(uint16_t op)
{
	struct arp_spec s = {
		.htype = 1, .ptype = 0x0800, .hlen = 6, .plen = 4, .op = op,
		.spa = IP_A, .tpa = IP_B,
	};

	memcpy(s.sha, mac_a, 6);
	if (op == HG_ARP_OP_REPLY)
		memcpy(s.tha, mac_b, 6);
	return s;
}

static size_t write_arp(uint8_t *p, const struct arp_spec *s)
{
	put16(p, s->htype);
	put16(p + 2, s->ptype);
	p[4] = s->hlen;
	p[5] = s->plen;
	put16(p + 6, s->op);
	memcpy(p + 8, s->sha, 6);
	put32(p + 14, s->spa);
	memcpy(p + 18, s->tha, 6);
	put32(p + 24, s->tpa);
	return 28;
}

struct ip_spec {
	uint8_t tos, ttl, proto;
	uint16_t id, frag;
	uint32_t src, dst;
	const uint8_t *opts; /* opt_len must be a multiple of 4 */
	size_t opt_len;
	const uint8_t *payload;
	size_t payload_len;
};

static struct ip_spec ip_spec(const uint8_t *payload, size_t payload_len)
{
	struct ip_spec s = {
		.ttl = 63, .proto = HG_IPPROTO_ICMP, .id = 0x1234,
		.src = IP_A, .dst = IP_B,
		.payload = payload, .payload_len = payload_len,
	};

	return s;
}

/* Recomputes the header checksum after a test edits a header field. */
static void ip_reseal(uint8_t *p)
{
	size_t hlen = (size_t)(p[0] & 0xf) * 4;

	put16(p + 10, 0);
	put16(p + 10, ref_csum(p, hlen));
}

static size_t write_ipv4(uint8_t *p, const struct ip_spec *s)
{
	size_t hlen = 20 + s->opt_len;
	size_t total = hlen + s->payload_len;

	p[0] = (uint8_t)(0x40 | hlen / 4);
	p[1] = s->tos;
	put16(p + 2, (uint16_t)total);
	put16(p + 4, s->id);
	put16(p + 6, s->frag);
	p[8] = s->ttl;
	p[9] = s->proto;
	put32(p + 12, s->src);
	put32(p + 16, s->dst);
	if (s->opt_len)
		memcpy(p + 20, s->opts, s->opt_len);
	if (s->payload_len)
		memcpy(p + hlen, s->payload, s->payload_len);
	ip_reseal(p);
	return total;
}

/* ICMP echo (or any type) with `data_len` bytes of pattern data. */
static size_t write_icmp(uint8_t *p, uint8_t type, uint8_t code, uint16_t id,
			 uint16_t seq, size_t data_len)
{
	size_t i;

	p[0] = type;
	p[1] = code;
	put16(p + 2, 0);
	put16(p + 4, id);
	put16(p + 6, seq);
	for (i = 0; i < data_len; i++)
		p[8 + i] = (uint8_t)(0x30 + i * 7);
	put16(p + 2, ref_csum(p, 8 + data_len));
	return 8 + data_len;
}

/* A valid ICMP echo request in IPv4, header without options. */
static size_t write_ping(uint8_t *p, size_t data_len)
{
	uint8_t icmp[1600];
	size_t n = write_icmp(icmp, HG_ICMP_ECHO_REQUEST, 0, 0xbeef, 7,
			      data_len);
	struct ip_spec s = ip_spec(icmp, n);

	return write_ipv4(p, &s);
}

#define assert_drop(got, want)                                                 \
	cr_assert_eq((got), (want), "got %s, want %s", hg_drop_names[(got)],   \
		     hg_drop_names[(want)])

/* ---- Ethernet ---- */

Test(eth, parses_ipv4_frame)
{
	uint8_t f[64] = {0};
	struct hg_eth e;

	write_eth(f, mac_a, mac_b, HG_ETHERTYPE_IPV4);
	assert_drop(hg_parse_eth(f, sizeof(f), &e), HG_DROP_NONE);
	cr_assert_arr_eq(e.dst, mac_a, 6);
	cr_assert_arr_eq(e.src, mac_b, 6);
	cr_assert_eq(e.ethertype, 0x0800);
	cr_assert_eq(e.l3_off, 14);
}

Test(eth, header_only_is_enough)
{
	uint8_t f[14];
	struct hg_eth e;

	write_eth(f, mac_bcast, mac_a, HG_ETHERTYPE_ARP);
	assert_drop(hg_parse_eth(f, 14, &e), HG_DROP_NONE);
	cr_assert_eq(e.ethertype, 0x0806);
}

Test(eth, truncated_at_every_length)
{
	uint8_t f[14];
	struct hg_eth e, before;
	size_t len;

	write_eth(f, mac_a, mac_b, HG_ETHERTYPE_IPV4);
	memset(&e, 0xa5, sizeof(e));
	before = e;
	for (len = 0; len < 14; len++) {
		assert_drop(hg_parse_eth(f, len, &e), HG_DROP_eth_truncated);
		cr_assert(memcmp(&e, &before, sizeof(e)) == 0,
			  "out written at len %zu", len);
	}
}

Test(eth, vlan_and_qinq_dropped)
{
	uint8_t f[64] = {0};
	struct hg_eth e;

	write_eth(f, mac_a, mac_b, HG_ETHERTYPE_VLAN);
	assert_drop(hg_parse_eth(f, sizeof(f), &e), HG_DROP_eth_vlan);
	write_eth(f, mac_a, mac_b, HG_ETHERTYPE_QINQ);
	assert_drop(hg_parse_eth(f, sizeof(f), &e), HG_DROP_eth_vlan);
}

Test(eth, unknown_type_left_to_caller)
{
	uint8_t f[64] = {0};
	struct hg_eth e;

	write_eth(f, mac_a, mac_b, HG_ETHERTYPE_IPV6);
	assert_drop(hg_parse_eth(f, sizeof(f), &e), HG_DROP_NONE);
	cr_assert_eq(e.ethertype, 0x86dd);
}

Test(eth, accepts_own_unicast_and_broadcast)
{
	cr_assert(hg_eth_accept(mac_a, mac_a));
	cr_assert(hg_eth_accept(mac_bcast, mac_a));
}

Test(eth, refuses_other_unicast)
{
	uint8_t near[6];

	memcpy(near, mac_a, 6);
	near[5] ^= 0x80;
	cr_assert_not(hg_eth_accept(mac_b, mac_a));
	cr_assert_not(hg_eth_accept(near, mac_a));
	cr_assert_not(hg_eth_accept(mac_zero, mac_a));
}

Test(eth, refuses_multicast)
{
	static const uint8_t v6mc[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t almost_bcast[6] = {0xff, 0xff, 0xff,
						0xff, 0xff, 0xfe};

	cr_assert_not(hg_eth_accept(mac_mcast, mac_a));
	cr_assert_not(hg_eth_accept(v6mc, mac_a));
	cr_assert_not(hg_eth_accept(almost_bcast, mac_a));
	/* Even if the port's own address were (wrongly) a group address. */
	cr_assert_not(hg_eth_accept(mac_mcast, mac_mcast));
}

/* ---- ARP ---- */

static enum hg_drop parse_arp_spec(const struct arp_spec *s,
				   struct hg_arp *out)
{
	uint8_t b[28];

	write_arp(b, s);
	return hg_parse_arp(b, sizeof(b), out);
}

Test(arp, valid_request)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	struct hg_arp a;

	assert_drop(parse_arp_spec(&s, &a), HG_DROP_NONE);
	cr_assert_eq(a.op, 1);
	cr_assert_arr_eq(a.sha, mac_a, 6);
	cr_assert_eq(a.spa, IP_A);
	cr_assert_arr_eq(a.tha, mac_zero, 6);
	cr_assert_eq(a.tpa, IP_B);
}

Test(arp, valid_reply)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REPLY);
	struct hg_arp a;

	assert_drop(parse_arp_spec(&s, &a), HG_DROP_NONE);
	cr_assert_eq(a.op, 2);
	cr_assert_arr_eq(a.sha, mac_a, 6);
	cr_assert_eq(a.spa, IP_A);
	cr_assert_arr_eq(a.tha, mac_b, 6);
	cr_assert_eq(a.tpa, IP_B);
}

Test(arp, ethernet_padding_ignored)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	uint8_t b[46];
	struct hg_arp a;

	memset(b, 0xee, sizeof(b));
	write_arp(b, &s);
	assert_drop(hg_parse_arp(b, sizeof(b), &a), HG_DROP_NONE);
	cr_assert_eq(a.tpa, IP_B);
}

Test(arp, truncated_at_every_length)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	uint8_t b[28];
	struct hg_arp a, before;
	size_t len;

	write_arp(b, &s);
	memset(&a, 0x5a, sizeof(a));
	before = a;
	for (len = 0; len < 28; len++) {
		assert_drop(hg_parse_arp(b, len, &a), HG_DROP_arp_truncated);
		cr_assert(memcmp(&a, &before, sizeof(a)) == 0,
			  "out written at len %zu", len);
	}
}

Test(arp, bad_htype)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	struct hg_arp a;

	s.htype = 6; /* IEEE 802 */
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
	s.htype = 0x0100; /* 1 in the wrong byte order */
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
}

Test(arp, bad_ptype)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	struct hg_arp a;

	s.ptype = 0x86dd;
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
	s.ptype = 0x0008;
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
}

Test(arp, bad_hlen)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	struct hg_arp a;

	s.hlen = 8;
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
	s.hlen = 0;
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
}

Test(arp, bad_plen)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	struct hg_arp a;

	s.plen = 16;
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
}

Test(arp, bad_op)
{
	static const uint16_t ops[] = {0, 3, 4, 8, 0x0100, 0xffff};
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	struct hg_arp a;
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		s.op = ops[i];
		assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
	}
}

Test(arp, format_checked_before_source)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	struct hg_arp a;

	s.plen = 6;
	memcpy(s.sha, mac_bcast, 6);
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_format);
}

Test(arp, bad_source_mac)
{
	const uint8_t *bad[] = {mac_bcast, mac_mcast, mac_zero};
	struct hg_arp a, before;
	size_t i;

	memset(&a, 0x5a, sizeof(a));
	before = a;
	for (i = 0; i < 3; i++) {
		struct arp_spec s = arp_spec(HG_ARP_OP_REPLY);

		memcpy(s.sha, bad[i], 6);
		assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_source);
		s.op = HG_ARP_OP_REQUEST;
		assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_source);
	}
	cr_assert(memcmp(&a, &before, sizeof(a)) == 0);
}

Test(arp, bad_source_ip_multicast)
{
	static const uint32_t bad[] = {IP4(224, 0, 0, 1), IP4(224, 0, 0, 251),
				       IP4(239, 255, 255, 255)};
	size_t i;

	for (i = 0; i < 3; i++) {
		struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
		struct hg_arp a;

		s.spa = bad[i];
		assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_source);
	}
}

Test(arp, bad_source_ip_broadcast)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REPLY);
	struct hg_arp a;

	s.spa = 0xffffffff;
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_source);
	s.op = HG_ARP_OP_REQUEST;
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_source);
}

Test(arp, bad_source_ip_loopback)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REPLY);
	struct hg_arp a;

	s.spa = IP4(127, 0, 0, 1);
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_source);
	s.spa = IP4(127, 255, 255, 254);
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_source);
}

Test(arp, zero_source_reply_refused)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REPLY);
	struct hg_arp a;

	s.spa = 0;
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_arp_bad_source);
}

Test(arp, probe_with_zero_source_accepted)
{
	struct arp_spec s = arp_spec(HG_ARP_OP_REQUEST);
	struct hg_arp a;

	s.spa = 0; /* RFC 5227 probe: "who has tpa?" before claiming it */
	assert_drop(parse_arp_spec(&s, &a), HG_DROP_NONE);
	cr_assert_eq(a.spa, 0);
	cr_assert_eq(a.tpa, IP_B);
	cr_assert_eq(a.op, HG_ARP_OP_REQUEST);
}

Test(arp, edge_unicast_sources_accepted)
{
	static const uint32_t ok[] = {IP4(1, 0, 0, 0), IP4(126, 255, 255, 255),
				      IP4(128, 0, 0, 0),
				      IP4(223, 255, 255, 255)};
	size_t i;

	for (i = 0; i < 4; i++) {
		struct arp_spec s = arp_spec(HG_ARP_OP_REPLY);
		struct hg_arp a;

		s.spa = ok[i];
		assert_drop(parse_arp_spec(&s, &a), HG_DROP_NONE);
		cr_assert_eq(a.spa, ok[i]);
	}
}

/* ---- IPv4 ---- */

Test(ipv4, valid_without_options)
{
	static const uint8_t data[12] = "hello, world";
	struct ip_spec s = ip_spec(data, sizeof(data));
	uint8_t p[64];
	struct hg_ipv4 ip;
	size_t n;

	s.tos = 0x10;
	s.proto = HG_IPPROTO_UDP;
	n = write_ipv4(p, &s);
	cr_assert_eq(n, 32);
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_NONE);
	cr_assert_eq(ip.hlen, 20);
	cr_assert_eq(ip.tos, 0x10);
	cr_assert_eq(ip.total_len, 32);
	cr_assert_eq(ip.id, 0x1234);
	cr_assert_eq(ip.ttl, 63);
	cr_assert_eq(ip.proto, 17);
	cr_assert_eq(ip.src, IP_A);
	cr_assert_eq(ip.dst, IP_B);
	cr_assert_eq(ip.payload_off, 20);
	cr_assert_eq(ip.payload_len, 12);
}

Test(ipv4, valid_with_options)
{
	/* Router Alert (4 bytes), then a header padded to the 60-byte max. */
	static const uint8_t ra[4] = {0x94, 0x04, 0x00, 0x00};
	uint8_t max_opts[40];
	static const uint8_t data[5] = {1, 2, 3, 4, 5};
	struct ip_spec s = ip_spec(data, sizeof(data));
	uint8_t p[128];
	struct hg_ipv4 ip;
	size_t n;

	s.opts = ra;
	s.opt_len = 4;
	n = write_ipv4(p, &s);
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_NONE);
	cr_assert_eq(ip.hlen, 24);
	cr_assert_eq(ip.payload_off, 24);
	cr_assert_eq(ip.payload_len, 5);
	cr_assert_eq(p[ip.payload_off], 1);

	memset(max_opts, 1, sizeof(max_opts)); /* NOPs */
	s.opts = max_opts;
	s.opt_len = 40;
	n = write_ipv4(p, &s);
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_NONE);
	cr_assert_eq(ip.hlen, 60);
	cr_assert_eq(ip.payload_len, 5);
}

Test(ipv4, header_only_packet)
{
	struct ip_spec s = ip_spec(NULL, 0);
	uint8_t p[20];
	struct hg_ipv4 ip;

	assert_drop(hg_parse_ipv4(p, write_ipv4(p, &s), &ip), HG_DROP_NONE);
	cr_assert_eq(ip.payload_len, 0);
}

Test(ipv4, truncated_at_every_length)
{
	uint8_t p[128];
	struct hg_ipv4 ip, before;
	size_t n = write_ping(p, 56), len;

	memset(&ip, 0x77, sizeof(ip));
	before = ip;
	for (len = 0; len < 20; len++)
		assert_drop(hg_parse_ipv4(p, len, &ip), HG_DROP_ipv4_truncated);
	/* A whole header but less than total_len: the packet was cut. */
	for (len = 20; len < n; len++)
		assert_drop(hg_parse_ipv4(p, len, &ip),
			    HG_DROP_ipv4_bad_total_len);
	cr_assert(memcmp(&ip, &before, sizeof(ip)) == 0);
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_NONE);
}

Test(ipv4, bad_version)
{
	static const uint8_t versions[] = {0, 5, 6, 15};
	uint8_t p[64];
	struct hg_ipv4 ip;
	size_t n = write_ping(p, 8), i;

	for (i = 0; i < sizeof(versions); i++) {
		p[0] = (uint8_t)(versions[i] << 4 | 5);
		ip_reseal(p);
		assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_ipv4_bad_version);
	}
}

Test(ipv4, ihl_below_five)
{
	uint8_t p[64];
	struct hg_ipv4 ip;
	size_t n = write_ping(p, 8), ihl;

	for (ihl = 0; ihl < 5; ihl++) {
		p[0] = (uint8_t)(0x40 | ihl);
		assert_drop(hg_parse_ipv4(p, n, &ip),
			    HG_DROP_ipv4_bad_header_len);
	}
}

Test(ipv4, ihl_beyond_buffer)
{
	uint8_t p[64];
	struct hg_ipv4 ip;

	write_ping(p, 0); /* 28 bytes */
	p[0] = 0x48;	  /* claims 32 bytes of header */
	assert_drop(hg_parse_ipv4(p, 28, &ip), HG_DROP_ipv4_bad_header_len);
	p[0] = 0x4f; /* 60 */
	assert_drop(hg_parse_ipv4(p, 59, &ip), HG_DROP_ipv4_bad_header_len);
}

Test(ipv4, total_len_below_header)
{
	uint8_t p[64];
	struct hg_ipv4 ip;
	size_t n = write_ping(p, 8);

	put16(p + 2, 19);
	ip_reseal(p);
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_ipv4_bad_total_len);
	put16(p + 2, 0);
	ip_reseal(p);
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_ipv4_bad_total_len);
}

Test(ipv4, total_len_beyond_buffer)
{
	uint8_t p[64];
	struct hg_ipv4 ip;
	size_t n = write_ping(p, 8);

	put16(p + 2, (uint16_t)(n + 1));
	ip_reseal(p);
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_ipv4_bad_total_len);
	put16(p + 2, 0xffff);
	ip_reseal(p);
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_ipv4_bad_total_len);
}

Test(ipv4, checksum_off_by_one_bit)
{
	uint8_t p[64], q[64];
	struct hg_ipv4 ip;
	size_t n = write_ping(p, 8), bit;

	/* Every single-bit error in the checksum field itself... */
	for (bit = 0; bit < 16; bit++) {
		memcpy(q, p, n);
		q[10 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_drop(hg_parse_ipv4(q, n, &ip),
			    HG_DROP_ipv4_bad_checksum);
	}
	/* ...and in fields no earlier check looks at. */
	for (bit = 0; bit < 8; bit++) {
		memcpy(q, p, n);
		q[8] ^= (uint8_t)(1u << bit); /* TTL */
		assert_drop(hg_parse_ipv4(q, n, &ip),
			    HG_DROP_ipv4_bad_checksum);
		memcpy(q, p, n);
		q[19] ^= (uint8_t)(1u << bit); /* last byte of dst */
		assert_drop(hg_parse_ipv4(q, n, &ip),
			    HG_DROP_ipv4_bad_checksum);
	}
}

Test(ipv4, checksum_covers_options)
{
	static const uint8_t nops[8] = {1, 1, 1, 1, 1, 1, 1, 0};
	struct ip_spec s = ip_spec(NULL, 0);
	uint8_t p[64];
	struct hg_ipv4 ip;
	size_t n;

	s.opts = nops;
	s.opt_len = 8;
	n = write_ipv4(p, &s);
	p[27] ^= 0x40;
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_ipv4_bad_checksum);
}

Test(ipv4, payload_not_checksummed)
{
	uint8_t p[64];
	struct hg_ipv4 ip;
	size_t n = write_ping(p, 8);

	p[n - 1] ^= 0xff; /* the ICMP checksum's job, not the IP header's */
	assert_drop(hg_parse_ipv4(p, n, &ip), HG_DROP_NONE);
}

Test(ipv4, bad_source)
{
	static const uint32_t bad[] = {
		0,
		IP4(127, 0, 0, 1),
		IP4(127, 255, 255, 255),
		IP4(224, 0, 0, 1),
		IP4(239, 255, 255, 250),
		IP4(240, 0, 0, 1),
		IP4(254, 1, 2, 3),
		0xffffffff,
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ip_spec s = ip_spec(NULL, 0);
		uint8_t p[20];
		struct hg_ipv4 ip;

		s.src = bad[i];
		cr_assert_eq(write_ipv4(p, &s), 20);
		assert_drop(hg_parse_ipv4(p, 20, &ip), HG_DROP_ipv4_bad_source);
	}
}

Test(ipv4, unusual_destinations_not_filtered)
{
	/* Destination filtering (ours? broadcast?) is the caller's policy. */
	struct ip_spec s = ip_spec(NULL, 0);
	uint8_t p[20];
	struct hg_ipv4 ip;

	s.dst = 0xffffffff;
	assert_drop(hg_parse_ipv4(p, write_ipv4(p, &s), &ip), HG_DROP_NONE);
	cr_assert_eq(ip.dst, 0xffffffff);
}

Test(ipv4, padding_excluded_from_payload)
{
	uint8_t f[60];
	struct hg_ipv4 ip;
	size_t n;

	/* A 28-byte ping in a minimum-size (60-byte) Ethernet frame. */
	memset(f, 0xaa, sizeof(f));
	n = write_ping(f + 14, 0);
	cr_assert_eq(n, 28);
	assert_drop(hg_parse_ipv4(f + 14, 46, &ip), HG_DROP_NONE);
	cr_assert_eq(ip.total_len, 28);
	cr_assert_eq(ip.payload_len, 8);
}

Test(ipv4, dont_fragment_accepted)
{
	struct ip_spec s = ip_spec(NULL, 0);
	uint8_t p[20];
	struct hg_ipv4 ip;

	s.frag = 0x4000;
	assert_drop(hg_parse_ipv4(p, write_ipv4(p, &s), &ip), HG_DROP_NONE);
}

Test(ipv4, fragments_dropped)
{
	/* MF on a first fragment, MF+DF, a middle, a last fragment, the
	 * largest offset, and an offset with DF. */
	static const uint16_t frag[] = {0x2000, 0x6000, 0x2001, 0x00b9,
					0x1fff, 0x4001};
	size_t i;

	for (i = 0; i < sizeof(frag) / sizeof(frag[0]); i++) {
		struct ip_spec s = ip_spec(NULL, 0);
		uint8_t p[20];
		struct hg_ipv4 ip;

		s.frag = frag[i];
		assert_drop(hg_parse_ipv4(p, write_ipv4(p, &s), &ip),
			    HG_DROP_ipv4_fragment);
	}
}

/* ---- ICMP ---- */

Test(icmp, valid_echo_request)
{
	uint8_t m[64];
	struct hg_icmp c;
	size_t n = write_icmp(m, HG_ICMP_ECHO_REQUEST, 0, 0xbeef, 0x0102, 56);

	assert_drop(hg_parse_icmp(m, n, &c), HG_DROP_NONE);
	cr_assert_eq(c.type, 8);
	cr_assert_eq(c.code, 0);
	cr_assert_eq(c.id, 0xbeef);
	cr_assert_eq(c.seq, 0x0102);
}

Test(icmp, valid_echo_reply_odd_length)
{
	uint8_t m[64];
	struct hg_icmp c;
	size_t n = write_icmp(m, HG_ICMP_ECHO_REPLY, 0, 1, 65535, 3);

	cr_assert_eq(n, 11);
	assert_drop(hg_parse_icmp(m, n, &c), HG_DROP_NONE);
	cr_assert_eq(c.type, 0);
	cr_assert_eq(c.id, 1);
	cr_assert_eq(c.seq, 65535);
}

Test(icmp, non_echo_has_no_id_seq)
{
	uint8_t m[64];
	struct hg_icmp c;
	size_t n = write_icmp(m, HG_ICMP_DEST_UNREACH, 3, 0x1111, 0x2222, 28);

	assert_drop(hg_parse_icmp(m, n, &c), HG_DROP_NONE);
	cr_assert_eq(c.type, 3);
	cr_assert_eq(c.code, 3);
	cr_assert_eq(c.id, 0);
	cr_assert_eq(c.seq, 0);
}

Test(icmp, bad_checksum)
{
	uint8_t m[64];
	struct hg_icmp c, before;
	size_t n = write_icmp(m, HG_ICMP_ECHO_REQUEST, 0, 0xbeef, 1, 32), i;

	memset(&c, 0x33, sizeof(c));
	before = c;
	for (i = 0; i < n; i++) {
		m[i] ^= 0x01;
		assert_drop(hg_parse_icmp(m, n, &c), HG_DROP_icmp_bad_checksum);
		m[i] ^= 0x01;
	}
	/* Trailing bytes beyond the message are part of it when passed. */
	m[n] = 0x01;
	assert_drop(hg_parse_icmp(m, n + 1, &c), HG_DROP_icmp_bad_checksum);
	cr_assert(memcmp(&c, &before, sizeof(c)) == 0);
	assert_drop(hg_parse_icmp(m, n, &c), HG_DROP_NONE);
}

Test(icmp, truncated_at_every_length)
{
	uint8_t m[8];
	struct hg_icmp c;
	size_t len;

	write_icmp(m, HG_ICMP_ECHO_REQUEST, 0, 1, 1, 0);
	assert_drop(hg_parse_icmp(m, 8, &c), HG_DROP_NONE);
	for (len = 0; len < 8; len++)
		assert_drop(hg_parse_icmp(m, len, &c), HG_DROP_icmp_truncated);
}

/* ---- Checksum ---- */

Test(csum, rfc1071_example)
{
	/* RFC 1071 section 3: these bytes sum to ddf2. */
	static const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03,
				     0xf4, 0xf5, 0xf6, 0xf7};

	cr_assert_eq(hg_csum_add(0, b, 8), 0xddf2);
	cr_assert_eq(hg_csum_finish(hg_csum_add(0, b, 8)), 0x220d);
}

Test(csum, known_ipv4_header)
{
	/* 192.168.0.1 -> 192.168.0.199 UDP; its checksum is 0xb861. */
	uint8_t h[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
			 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
			 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

	cr_assert_eq(hg_csum_add(0, h, 20), 0xffff);
	h[10] = h[11] = 0;
	cr_assert_eq(hg_csum_finish(hg_csum_add(0, h, 20)), 0xb861);
}

Test(csum, odd_length)
{
	static const uint8_t b[3] = {0x01, 0x02, 0x03};
	static const uint8_t one[1] = {0xab};

	/* 0x0102 + 0x0300: the odd byte is the high half of its word. */
	cr_assert_eq(hg_csum_add(0, b, 3), 0x0402);
	cr_assert_eq(hg_csum_add(0, one, 1), 0xab00);
	cr_assert_eq(hg_csum_add(0x1234, b, 0), 0x1234);
	cr_assert_eq(hg_csum_finish(hg_csum_add(0, b, 3)), 0xfbfd);
}

Test(csum, end_around_carry)
{
	static const uint8_t b[6] = {0x80, 0x00, 0x80, 0x00, 0x80, 0x00};
	static const uint8_t ff[4] = {0xff, 0xff, 0x00, 0x01};

	/* 3 * 0x8000 = 0x18000 -> 0x8000 + 1 */
	cr_assert_eq(hg_csum_add(0, b, 6), 0x8001);
	/* 0xffff + 0x0001 = 0x10000 -> 0x0001 */
	cr_assert_eq(hg_csum_add(0, ff, 4), 0x0001);
	/* An incoming sum with carries is folded as well. */
	cr_assert_eq(hg_csum_add(0xffffffff, b, 0), 0xffff);
}

Test(csum, finish_folds_and_inverts)
{
	cr_assert_eq(hg_csum_finish(0), 0xffff);
	cr_assert_eq(hg_csum_finish(0xffff), 0);
	cr_assert_eq(hg_csum_finish(0x1fffe), 0);
	cr_assert_eq(hg_csum_finish(0x12345678), (uint16_t)~0x68ac);
}

Test(csum, chained_equals_one_shot)
{
	uint8_t b[101];
	uint32_t s;
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 37 + 11);
	s = hg_csum_add(0, b, 40);
	s = hg_csum_add(s, b + 40, 2);
	s = hg_csum_add(s, b + 42, 59);
	cr_assert_eq(s, hg_csum_add(0, b, sizeof(b)));
	cr_assert_eq(hg_csum_finish(s), ref_csum(b, sizeof(b)));
}

Test(csum, any_alignment_and_length)
{
	uint8_t b[300], copy[300];
	size_t off, len, i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 131 + 7);
	for (off = 0; off < 8; off++) {
		for (len = 0; len <= 64; len++) {
			uint16_t got = hg_csum_finish(hg_csum_add(0, b + off,
								  len));

			memcpy(copy, b + off, len);
			cr_assert_eq(got, ref_csum(copy, len),
				     "off %zu len %zu", off, len);
		}
	}
}

Test(csum, long_buffer)
{
	static uint8_t b[1 << 20];
	size_t i;

	/* All-ones words: every addition carries; the sum stays -0. */
	memset(b, 0xff, sizeof(b));
	cr_assert_eq(hg_csum_add(0, b, sizeof(b)), 0xffff);
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i ^ (i >> 8));
	cr_assert_eq(hg_csum_finish(hg_csum_add(0, b, sizeof(b))),
		     ref_csum(b, sizeof(b)));
	cr_assert_eq(hg_csum_finish(hg_csum_add(0, b + 1, sizeof(b) - 1)),
		     ref_csum(b + 1, sizeof(b) - 1));
}

/* ---- Builders ---- */

Test(build, arp_request_round_trip)
{
	uint8_t f[64];
	struct hg_eth e;
	struct hg_arp a;
	size_t n;

	memset(f, 0xcc, sizeof(f));
	n = hg_build_arp(f, sizeof(f), HG_ARP_OP_REQUEST, mac_bcast, mac_a,
			 IP_A, mac_zero, IP_B);
	cr_assert_eq(n, 42);
	cr_assert_eq(f[42], 0xcc, "wrote past the frame");
	assert_drop(hg_parse_eth(f, n, &e), HG_DROP_NONE);
	cr_assert_arr_eq(e.dst, mac_bcast, 6);
	cr_assert_arr_eq(e.src, mac_a, 6);
	cr_assert_eq(e.ethertype, HG_ETHERTYPE_ARP);
	assert_drop(hg_parse_arp(f + e.l3_off, n - e.l3_off, &a),
		    HG_DROP_NONE);
	cr_assert_eq(a.op, HG_ARP_OP_REQUEST);
	cr_assert_arr_eq(a.sha, mac_a, 6);
	cr_assert_eq(a.spa, IP_A);
	cr_assert_arr_eq(a.tha, mac_zero, 6);
	cr_assert_eq(a.tpa, IP_B);
}

Test(build, arp_reply_round_trip_and_bytes)
{
	static const uint8_t want[42] = {
		0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, /* eth dst = mac_b */
		0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, /* eth src = mac_a */
		0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
		0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 192,  0,	2,    1,
		0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 198,  51,	100,  7,
	};
	uint8_t f[42];
	struct hg_eth e;
	struct hg_arp a;

	cr_assert_eq(hg_build_arp(f, sizeof(f), HG_ARP_OP_REPLY, mac_b, mac_a,
				  IP_A, mac_b, IP_B),
		     42);
	cr_assert_arr_eq(f, want, 42);
	assert_drop(hg_parse_eth(f, 42, &e), HG_DROP_NONE);
	assert_drop(hg_parse_arp(f + 14, 28, &a), HG_DROP_NONE);
	cr_assert_eq(a.op, HG_ARP_OP_REPLY);
	cr_assert_arr_eq(a.tha, mac_b, 6);
}

Test(build, arp_needs_room)
{
	uint8_t f[42];

	memset(f, 0xcc, sizeof(f));
	cr_assert_eq(hg_build_arp(f, 41, HG_ARP_OP_REQUEST, mac_bcast, mac_a,
				  IP_A, mac_zero, IP_B),
		     0);
	cr_assert_eq(hg_build_arp(f, 0, HG_ARP_OP_REQUEST, mac_bcast, mac_a,
				  IP_A, mac_zero, IP_B),
		     0);
	cr_assert_eq(f[0], 0xcc);
	cr_assert_eq(f[41], 0xcc);
}

/* Parses `p` as IPv4 + ICMP, asserting both are valid. */
static void parse_ping(const uint8_t *p, size_t len, struct hg_ipv4 *ip,
		       struct hg_icmp *c)
{
	assert_drop(hg_parse_ipv4(p, len, ip), HG_DROP_NONE);
	cr_assert_eq(ip->proto, HG_IPPROTO_ICMP);
	assert_drop(hg_parse_icmp(p + ip->payload_off, ip->payload_len, c),
		    HG_DROP_NONE);
}

Test(build, echo_reply_inplace)
{
	uint8_t p[128];
	struct hg_ipv4 ip;
	struct hg_icmp c;
	size_t n = write_ping(p, 56);
	uint8_t data[56];
	uint16_t ck;

	memcpy(data, p + 28, 56);
	hg_icmp_echo_reply_inplace(p, n);
	parse_ping(p, n, &ip, &c);
	cr_assert_eq(ip.src, IP_B);
	cr_assert_eq(ip.dst, IP_A);
	cr_assert_eq(ip.ttl, 64);
	cr_assert_eq(ip.id, 0x1234);
	cr_assert_eq(ip.total_len, 84);
	cr_assert_eq(c.type, HG_ICMP_ECHO_REPLY);
	cr_assert_eq(c.code, 0);
	cr_assert_eq(c.id, 0xbeef);
	cr_assert_eq(c.seq, 7);
	cr_assert_arr_eq(p + 28, data, 56, "echo data must be returned");
	/* Stored checksums are the reference ones, not just "valid". */
	ck = get16(p + 10);
	p[10] = p[11] = 0;
	cr_assert_eq(ck, ref_csum(p, 20));
	ck = get16(p + 22);
	p[22] = p[23] = 0;
	cr_assert_eq(ck, ref_csum(p + 20, 64));
}

Test(build, echo_reply_with_options_odd_length_and_padding)
{
	static const uint8_t opts[4] = {0x01, 0x01, 0x01, 0x00};
	uint8_t icmp[64], f[128];
	struct ip_spec s;
	struct hg_ipv4 ip;
	struct hg_icmp c;
	size_t n, m;

	m = write_icmp(icmp, HG_ICMP_ECHO_REQUEST, 0, 42, 9, 13);
	s = ip_spec(icmp, m);
	s.opts = opts;
	s.opt_len = 4;
	s.frag = 0x4000;
	memset(f, 0x99, sizeof(f));
	n = write_ipv4(f, &s);
	cr_assert_eq(n, 45);
	/* Padding after the packet is in the buffer but not in the reply. */
	hg_icmp_echo_reply_inplace(f, n + 15);
	parse_ping(f, n + 15, &ip, &c);
	cr_assert_eq(ip.hlen, 24);
	cr_assert_eq(ip.payload_len, 21);
	cr_assert_eq(ip.src, IP_B);
	cr_assert_eq(ip.dst, IP_A);
	cr_assert_eq(c.type, 0);
	cr_assert_eq(c.id, 42);
	cr_assert_eq(c.seq, 9);
	cr_assert_arr_eq(f + 20, opts, 4, "options are echoed unchanged");
	cr_assert_eq(f[n], 0x99, "padding must be left alone");
	cr_assert_eq(f[n + 14], 0x99);
}

/* ---- Addresses ---- */

Test(addr, is_unicast)
{
	cr_assert(hg_ipv4_is_unicast(IP4(1, 0, 0, 0)));
	cr_assert(hg_ipv4_is_unicast(IP4(10, 1, 2, 3)));
	cr_assert(hg_ipv4_is_unicast(IP4(126, 255, 255, 255)));
	cr_assert(hg_ipv4_is_unicast(IP4(128, 0, 0, 1)));
	cr_assert(hg_ipv4_is_unicast(IP4(223, 255, 255, 255)));
	cr_assert_not(hg_ipv4_is_unicast(0));
	cr_assert_not(hg_ipv4_is_unicast(IP4(0, 255, 255, 255)));
	cr_assert_not(hg_ipv4_is_unicast(IP4(127, 0, 0, 1)));
	cr_assert_not(hg_ipv4_is_unicast(IP4(224, 0, 0, 0)));
	cr_assert_not(hg_ipv4_is_unicast(IP4(239, 1, 1, 1)));
	cr_assert_not(hg_ipv4_is_unicast(IP4(240, 0, 0, 0)));
	cr_assert_not(hg_ipv4_is_unicast(0xffffffff));
}

Test(addr, parse_good)
{
	uint32_t a = 0;

	cr_assert(hg_ipv4_parse("192.0.2.1", &a));
	cr_assert_eq(a, IP_A);
	cr_assert(hg_ipv4_parse("0.0.0.0", &a));
	cr_assert_eq(a, 0);
	cr_assert(hg_ipv4_parse("255.255.255.255", &a));
	cr_assert_eq(a, 0xffffffff);
	cr_assert(hg_ipv4_parse("10.0.100.9", &a));
	cr_assert_eq(a, IP4(10, 0, 100, 9));
}

Test(addr, parse_bad)
{
	static const char *const bad[] = {
		"", "1", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "1..2.3",
		"256.0.0.1", "1.2.3.256", "999.1.1.1", "1.2.3.4 ", " 1.2.3.4",
		"1. 2.3.4", "+1.2.3.4", "1.-2.3.4", "1.2.3.4x", "1.2.3.4/24",
		"0x1.2.3.4", "1.2.3.0004", "1.2.3.0255", "01.2.3.4",
		"1.2.3.00", "a.b.c.d", "1,2,3,4", "1.2.3.4\n",
		"4294967297.0.0.1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t a = 0xdeadbeef;

		cr_assert_not(hg_ipv4_parse(bad[i], &a), "accepted \"%s\"",
			      bad[i]);
		cr_assert_eq(a, 0xdeadbeef, "wrote out for \"%s\"", bad[i]);
	}
}

Test(addr, parse_prefix_good)
{
	uint32_t a = 0;
	uint8_t len = 99;

	cr_assert(hg_ipv4_parse_prefix("10.0.0.0/8", &a, &len));
	cr_assert_eq(a, IP4(10, 0, 0, 0));
	cr_assert_eq(len, 8);
	cr_assert(hg_ipv4_parse_prefix("0.0.0.0/0", &a, &len));
	cr_assert_eq(a, 0);
	cr_assert_eq(len, 0);
	cr_assert(hg_ipv4_parse_prefix("192.0.2.1/32", &a, &len));
	cr_assert_eq(a, IP_A);
	cr_assert_eq(len, 32);
}

Test(addr, parse_prefix_bad)
{
	static const char *const bad[] = {
		"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/100",
		"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/ 8",
		"10.0.0.0 /8", "10.0.0.0/8 ", "10.0.0/8", "/8", "10.0.0.0//8",
		"10.0.0.0/8/8", "256.0.0.0/8", "10.0.0.0/08", "10.0.0.0/0x8",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t a = 0xdeadbeef;
		uint8_t len = 99;

		cr_assert_not(hg_ipv4_parse_prefix(bad[i], &a, &len),
			      "accepted \"%s\"", bad[i]);
		cr_assert_eq(a, 0xdeadbeef);
		cr_assert_eq(len, 99);
	}
}

Test(addr, format_round_trip)
{
	static const uint32_t addrs[] = {0, IP_A, IP4(10, 0, 100, 9),
					 IP4(1, 22, 0, 200), 0xffffffff};
	char buf[16];
	uint32_t back;
	size_t i;

	hg_ipv4_format(IP_B, buf);
	cr_assert_str_eq(buf, "198.51.100.7");
	hg_ipv4_format(0xffffffff, buf);
	cr_assert_str_eq(buf, "255.255.255.255");
	hg_ipv4_format(0, buf);
	cr_assert_str_eq(buf, "0.0.0.0");
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		hg_ipv4_format(addrs[i], buf);
		cr_assert(hg_ipv4_parse(buf, &back), "\"%s\"", buf);
		cr_assert_eq(back, addrs[i]);
	}
}

Test(addr, mask)
{
	cr_assert_eq(hg_ipv4_mask(0), 0);
	cr_assert_eq(hg_ipv4_mask(1), 0x80000000u);
	cr_assert_eq(hg_ipv4_mask(24), 0xffffff00u);
	cr_assert_eq(hg_ipv4_mask(32), 0xffffffffu);
}
