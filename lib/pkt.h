/* Parsers and builders for the L2/L3 headers the data plane handles:
 * Ethernet II, ARP (Ethernet/IPv4), IPv4, ICMP.
 *
 * Contract (the one every parser of network input in hopgate follows):
 * a parser takes (pointer, length), never reads past length, fills its
 * output only on success and returns HG_DROP_NONE (0) on success or the
 * enum hg_drop reason the packet must be dropped for. Frames are whole
 * packets, so there is no "need more" here; stream parsers elsewhere have it.
 * No DPDK types: these run in unit tests and fuzz targets without an EAL.
 *
 * Addresses in parsed structs are in host byte order.
 */
#ifndef HG_PKT_H
#define HG_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"

#define HG_ETH_ALEN 6
#define HG_ETH_HLEN 14
#define HG_ETHERTYPE_IPV4 0x0800
#define HG_ETHERTYPE_ARP 0x0806
#define HG_ETHERTYPE_VLAN 0x8100
#define HG_ETHERTYPE_QINQ 0x88a8
#define HG_ETHERTYPE_IPV6 0x86dd

#define HG_ARP_LEN 28 /* Ethernet/IPv4 ARP body */
#define HG_ARP_OP_REQUEST 1
#define HG_ARP_OP_REPLY 2

#define HG_IPV4_MIN_HLEN 20
#define HG_IPPROTO_ICMP 1
#define HG_IPPROTO_TCP 6
#define HG_IPPROTO_UDP 17

#define HG_ICMP_ECHO_REPLY 0
#define HG_ICMP_DEST_UNREACH 3
#define HG_ICMP_ECHO_REQUEST 8
#define HG_ICMP_TIME_EXCEEDED 11
#define HG_ICMP_HLEN 8

struct hg_eth {
	uint8_t dst[HG_ETH_ALEN];
	uint8_t src[HG_ETH_ALEN];
	uint16_t ethertype;
	size_t l3_off; /* offset of the L3 header in the frame */
};

struct hg_arp {
	uint16_t op;
	uint8_t sha[HG_ETH_ALEN];
	uint32_t spa;
	uint8_t tha[HG_ETH_ALEN];
	uint32_t tpa;
};

struct hg_ipv4 {
	uint8_t hlen; /* header length in bytes, options included */
	uint8_t tos;
	uint16_t total_len;
	uint16_t id;
	uint8_t ttl;
	uint8_t proto;
	uint32_t src;
	uint32_t dst;
	size_t payload_off; /* == hlen */
	size_t payload_len; /* total_len - hlen; Ethernet padding excluded */
};

struct hg_icmp {
	uint8_t type;
	uint8_t code;
	uint16_t id;  /* echo only */
	uint16_t seq; /* echo only */
};

/* Ethernet II. 802.1Q/802.1ad tagged frames return HG_DROP_eth_vlan (the
 * gateway has no VLAN configuration yet), frames shorter than a header
 * HG_DROP_eth_truncated. It does not filter on destination: that is
 * hg_eth_accept's job. */
enum hg_drop hg_parse_eth(const uint8_t *p, size_t len, struct hg_eth *out);

/* True when a frame to `dst` is for a port whose address is `mine`:
 * unicast to mine or broadcast. Multicast is refused. */
bool hg_eth_accept(const uint8_t dst[HG_ETH_ALEN],
		   const uint8_t mine[HG_ETH_ALEN]);

/* ARP for Ethernet/IPv4 only (htype 1, ptype 0x0800, hlen 6, plen 4,
 * op 1 or 2; anything else is HG_DROP_arp_bad_format). A sender that is
 * broadcast, multicast or all-zero MAC, or a sender IP that is 0.0.0.0
 * (except a probe), broadcast, multicast or loopback, is
 * HG_DROP_arp_bad_source. `p` points at the ARP header. */
enum hg_drop hg_parse_arp(const uint8_t *p, size_t len, struct hg_arp *out);

/* IPv4 header at `p`, `len` bytes available to the end of the frame.
 * Checks version, IHL >= 5, IHL*4 <= total_len <= len, the header
 * checksum (always verified in software), a source that is not multicast,
 * broadcast, loopback or 0.0.0.0, and refuses fragments (MF set or offset
 * non-zero: HG_DROP_ipv4_fragment). Options are accepted and skipped. */
enum hg_drop hg_parse_ipv4(const uint8_t *p, size_t len, struct hg_ipv4 *out);

/* ICMP message at `p` of exactly `len` bytes (the IPv4 payload). Verifies
 * the checksum over the whole message. */
enum hg_drop hg_parse_icmp(const uint8_t *p, size_t len, struct hg_icmp *out);

/* Internet checksum (RFC 1071): the folded one's complement sum of `len`
 * bytes added to `sum`, not inverted. hg_csum_finish inverts it. A buffer
 * whose checksum field is correct sums to 0xffff. */
uint32_t hg_csum_add(uint32_t sum, const void *p, size_t len);
uint16_t hg_csum_finish(uint32_t sum);

/* Writes a complete Ethernet + ARP frame (42 bytes) into `buf` of `cap`
 * bytes; returns its length, or 0 if `cap` is too small. `eth_dst` is the
 * frame's destination (broadcast for a request). */
size_t hg_build_arp(uint8_t *buf, size_t cap, uint16_t op,
		    const uint8_t eth_dst[HG_ETH_ALEN],
		    const uint8_t sha[HG_ETH_ALEN], uint32_t spa,
		    const uint8_t tha[HG_ETH_ALEN], uint32_t tpa);

/* Turns the ICMP echo request in `ip` (a valid IPv4 packet of
 * `ip_len` bytes, as accepted by hg_parse_ipv4 and hg_parse_icmp) into the
 * echo reply in place: swaps addresses, sets TTL 64, clears options'
 * effect by keeping them (RFC 1122 allows echoing them), type 0, and
 * recomputes both checksums. */
void hg_icmp_echo_reply_inplace(uint8_t *ip, size_t ip_len);

/* Address helpers, host byte order. */
bool hg_ipv4_is_unicast(uint32_t a); /* not 0/8, 127/8, 224/4, 240/4 */
/* Parses "a.b.c.d" into *out; returns false on anything else. */
bool hg_ipv4_parse(const char *s, uint32_t *out);
/* Parses "a.b.c.d/n" (n 0..32); returns false on anything else. */
bool hg_ipv4_parse_prefix(const char *s, uint32_t *addr, uint8_t *len);
/* "a.b.c.d" into buf (at least 16 bytes). */
void hg_ipv4_format(uint32_t a, char buf[16]);
static inline uint32_t hg_ipv4_mask(uint8_t len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

#endif
