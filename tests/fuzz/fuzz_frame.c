/* libFuzzer target: one received Ethernet frame through the parsers of
 * lib/pkt.h, in the order the data plane runs them, plus the address
 * parsers on the same bytes as a string.
 *
 * Besides memory errors (ASan/UBSan), it checks properties that must hold
 * for any input, and abort()s when one does not:
 * - a parsed packet's lengths stay inside the frame;
 * - an echo request we answer becomes a reply that parses again, with its
 *   addresses swapped and its id/seq/length kept;
 * - an ARP packet we accept survives hg_build_arp and re-parsing;
 * - hg_ipv4_format and hg_ipv4_parse are inverses.
 */
#include <stdlib.h>
#include <string.h>

#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t my_mac[HG_ETH_ALEN] = {0x02, 0x00, 0x5e,
					    0x10, 0x00, 0x01};

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void rx_arp(const uint8_t *p, size_t len)
{
	struct hg_arp a, b;
	struct hg_eth e;
	uint8_t f[64];
	size_t n;

	if (hg_parse_arp(p, len, &a) != HG_DROP_NONE)
		return;
	n = hg_build_arp(f, sizeof(f), a.op, a.sha, a.sha, a.spa, a.tha,
			 a.tpa);
	check(n == HG_ETH_HLEN + HG_ARP_LEN);
	check(hg_parse_eth(f, n, &e) == HG_DROP_NONE);
	check(e.ethertype == HG_ETHERTYPE_ARP);
	check(hg_parse_arp(f + e.l3_off, n - e.l3_off, &b) == HG_DROP_NONE);
	/* Field by field: memcmp would compare the structs' padding. */
	check(a.op == b.op && a.spa == b.spa && a.tpa == b.tpa);
	check(memcmp(a.sha, b.sha, HG_ETH_ALEN) == 0);
	check(memcmp(a.tha, b.tha, HG_ETH_ALEN) == 0);
}

/* What the data plane does with an echo request addressed to it. */
static void answer_echo(const uint8_t *p, const struct hg_ipv4 *req,
			const struct hg_icmp *icmp)
{
	static uint8_t buf[65536];
	struct hg_ipv4 ip;
	struct hg_icmp c;

	/* The data plane only answers for its own (unicast) addresses; a
	 * reply from anything else would be refused as a source. */
	if (!hg_ipv4_is_unicast(req->dst))
		return;
	memcpy(buf, p, req->total_len);
	hg_icmp_echo_reply_inplace(buf, req->total_len);
	check(hg_parse_ipv4(buf, req->total_len, &ip) == HG_DROP_NONE);
	check(ip.src == req->dst && ip.dst == req->src && ip.ttl == 64);
	check(ip.hlen == req->hlen && ip.payload_len == req->payload_len);
	check(hg_parse_icmp(buf + ip.payload_off, ip.payload_len, &c) ==
	      HG_DROP_NONE);
	check(c.type == HG_ICMP_ECHO_REPLY && c.code == 0);
	check(c.id == icmp->id && c.seq == icmp->seq);
}

static void rx_ipv4(const uint8_t *p, size_t len)
{
	struct hg_ipv4 ip;
	struct hg_icmp c;

	if (hg_parse_ipv4(p, len, &ip) != HG_DROP_NONE)
		return;
	check(ip.hlen >= HG_IPV4_MIN_HLEN && ip.payload_off == ip.hlen);
	check(ip.payload_off + ip.payload_len <= len);
	if (ip.proto != HG_IPPROTO_ICMP)
		return;
	if (hg_parse_icmp(p + ip.payload_off, ip.payload_len, &c) !=
	    HG_DROP_NONE)
		return;
	if (c.type == HG_ICMP_ECHO_REQUEST && c.code == 0)
		answer_echo(p, &ip, &c);
}

static void rx_frame(const uint8_t *data, size_t size)
{
	struct hg_eth e;

	if (hg_parse_eth(data, size, &e) != HG_DROP_NONE)
		return;
	check(e.l3_off <= size);
	(void)hg_eth_accept(e.dst, my_mac);
	if (e.ethertype == HG_ETHERTYPE_ARP)
		rx_arp(data + e.l3_off, size - e.l3_off);
	else if (e.ethertype == HG_ETHERTYPE_IPV4)
		rx_ipv4(data + e.l3_off, size - e.l3_off);
}

static void round_trip(uint32_t a)
{
	char text[16];
	uint32_t back;

	hg_ipv4_format(a, text);
	check(hg_ipv4_parse(text, &back) && back == a);
}

static void parse_text(const uint8_t *data, size_t size)
{
	char s[64];
	uint32_t a;
	uint8_t len;

	/* Anything longer than "255.255.255.255/32" is invalid anyway, but
	 * a truncated copy still exercises the parsers. */
	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (hg_ipv4_parse(s, &a))
		round_trip(a);
	if (hg_ipv4_parse_prefix(s, &a, &len)) {
		check(len <= 32);
		round_trip(a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rx_frame(data, size);
	parse_text(data, size);
	return 0;
}
