/* The Common Gateway Protocol (CGP, session reliability) as far as the
 * gateway needs it: recognising a client's bind and taking the STA ticket
 * out of it, and the few packets the gateway itself sends. No I/O.
 *
 * What is known (PROTOCOLS.md section 2): the client opens with the 7
 * bytes "\x1a" "CGP/01" followed in the same write by a BIND_REQUEST; the
 * server answers with the same 7 bytes and a BIND_RESPONSE; lengths are a
 * varlen (v < 128 in one byte, else (v & 0x7F) | 0x80 then v >> 7); a
 * packet is varlen(len) cmd payload; the STA ticket travels in the
 * security-ticket capability (6), ticket type 0 = STA.
 *
 * Our reading, adjust when real traffic is seen (all of it is in cgp.c):
 * - a packet is varlen(L) then L bytes: cmd (1 byte) then the payload; no
 *   flags byte;
 * - a varlen is at most 2 bytes (max 32767) and minimal: a 2-byte form
 *   whose second byte is 0 (a value < 128) is refused as overlong;
 * - the BIND_REQUEST payload is a sequence of capabilities, each varlen(n)
 *   then n bytes: a 2-byte little-endian capability id then its body;
 *   capabilities other than 6 are skipped;
 * - the security-ticket body is ticket type (1 byte) then varlen(t) then t
 *   bytes of ticket text (1..HG_CGP_TICKET_MAX: an ICA file Address value
 *   such as ";40;STA0HOPGATE;0123..."); bytes after it inside the
 *   capability are skipped (room for fields we do not know); a second
 *   ticket capability is refused;
 * - BIND_RESPONSE payload: one status byte (0 accepted); FINISH_REQUEST
 *   payload: one reason byte.
 */
#ifndef HG_CGP_H
#define HG_CGP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* clang-format off */
#define HG_CGP_MAGIC      "\x1a" "CGP/01"
/* clang-format on */
#define HG_CGP_MAGIC_LEN  7
#define HG_CGP_TICKET_MAX 255
#define HG_CGP_VARLEN_MAX 32767

/* Commands (the first byte of a packet). */
#define HG_CGP_BIND_REQUEST    0x01
#define HG_CGP_BIND_RESPONSE   0x02
#define HG_CGP_FINISH_REQUEST  0x03
#define HG_CGP_FINISH_RESPONSE 0x04

#define HG_CGP_CAP_SECURITY_TICKET 6
#define HG_CGP_TICKET_TYPE_STA	   0

/* A client's bind. ticket points into the parsed input. */
struct hg_cgp_bind {
	const uint8_t *ticket;
	size_t ticket_len;
	uint8_t ticket_type;
	size_t bytes; /* magic + whole BIND_REQUEST packet */
};

/* p[0..len) from the client's first byte: > 0, the bytes of magic +
 * BIND_REQUEST (b filled); -2 need more; -1 not CGP or malformed (no
 * ticket capability, ticket type not 0, lengths inconsistent, varlen
 * overlong, a packet other than BIND_REQUEST first). Bytes after the
 * BIND_REQUEST are not looked at. b is written only on > 0. */
int hg_cgp_parse_bind(const uint8_t *p, size_t len, struct hg_cgp_bind *b);

/* p[0..len) could start the magic (true for len 0: nothing says no yet;
 * beyond the magic's 7 bytes only those 7 are compared). */
bool hg_cgp_is_magic_prefix(const uint8_t *p, size_t len);

/* Writes varlen(v): 1 or 2 bytes; 0 (nothing written) if v >
 * HG_CGP_VARLEN_MAX. */
size_t hg_cgp_varlen_put(uint8_t *out, unsigned v);
/* Reads a varlen at p[0..len): the bytes used (1 or 2) with *v set, -2
 * need more, -1 overlong (a 2-byte form of a value < 128). */
int hg_cgp_varlen_get(const uint8_t *p, size_t len, unsigned *v);

/* Builders (the test client and server use the same bytes; tests too).
 * Each returns the bytes written at out, 0 if they do not fit in cap. */
/* magic + BIND_REQUEST with one capability, the STA security ticket
 * (1..HG_CGP_TICKET_MAX bytes; 0 otherwise). */
size_t hg_cgp_bind_request(uint8_t *out, size_t cap, const char *ticket,
			   size_t ticket_len);
/* magic + BIND_RESPONSE with status (0 accepted). */
size_t hg_cgp_bind_response(uint8_t *out, size_t cap, uint8_t status);
/* magic + FINISH_REQUEST with reason: the gateway's refusal. */
size_t hg_cgp_finish(uint8_t *out, size_t cap, uint8_t reason);

/* The server's (or gateway's) answer at p[0..len): magic then one packet
 * whose payload starts with one byte (BIND_RESPONSE status or
 * FINISH_REQUEST reason). > 0 the bytes of magic + packet, with *cmd and
 * *code set; -2 need more; -1 not CGP or malformed (an empty payload). */
int hg_cgp_parse_reply(const uint8_t *p, size_t len, uint8_t *cmd,
		       uint8_t *code);

#endif
