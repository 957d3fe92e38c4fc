/* What an ICA client sends the gateway first after TLS, when it does not
 * use session reliability (PROTOCOLS.md section 2): SOCKS v5 (RFC 1928)
 * framing whose CONNECT carries the ICA file's Address value, with the STA
 * ticket, as the domain name:
 *
 *   client: 05 02 00 02                   greeting (optional)
 *   gateway: 05 00                        no authentication
 *   client: 05 01 00 03 LL <Address> PH PL CONNECT
 *   gateway: 05 00 00 01 0.0.0.0 0        then the relay starts
 *
 * Parsers take (pointer, length), never read past it, and return the bytes
 * they used (> 0), -2 when the bytes so far are a valid prefix but not yet
 * a whole message, or -1 when they cannot be one (bytes already seen decide
 * -1 even if the message is incomplete). No I/O, no allocation.
 */
#ifndef HG_SOCKS_H
#define HG_SOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sta.h"

enum hg_socks_kind { HG_SOCKS_GREETING = 1, HG_SOCKS_CONNECT = 2 };

#define HG_SOCKS_CONNECT_MAX (5 + 255 + 2) /* the longest CONNECT we take */

/* SOCKS v5 reply codes the gateway sends (RFC 1928 section 6). */
#define HG_SOCKS_REP_SUCCEEDED	 0
#define HG_SOCKS_REP_FAILURE	 1 /* general failure */
#define HG_SOCKS_REP_NOT_ALLOWED 2 /* connection not allowed by ruleset */

struct hg_socks_msg {
	int kind;	     /* enum hg_socks_kind */
	bool offers_no_auth; /* greeting: method 00 offered */
	char dest[256];	     /* CONNECT, ATYP 03: the domain name bytes,
				NUL-terminated; a NUL inside is malformed */
	size_t dest_len;
	uint16_t port; /* CONNECT, host order */
};

/* One SOCKS v5 message at p[0..len): a greeting (05 NMETHODS METHODS...,
 * NMETHODS >= 1) or a CONNECT request (05 01 00 03 LL NAME PORT(2), LL >= 1,
 * no NUL in NAME). ATYP 01/04 and commands other than CONNECT (01) are -1.
 * *m is written only when a message is returned.
 *
 * Greeting or request is decided from the bytes, since a client may skip
 * the greeting:
 * - "05 01 00" is both a whole greeting (one method: none) and a request's
 *   first three bytes. The fourth byte decides: 05 (the next message) makes
 *   it a greeting, 03 a CONNECT, 01/04 a CONNECT we refuse (-1). With only
 *   these three bytes it is a greeting (3): a client that sent just that
 *   greeting waits for our answer, and clients write a request whole.
 *   After a greeting, use hg_socks_parse_connect, which has no such case.
 * - Any other "05 N ..." is a greeting. The only thing that may follow a
 *   greeting is a request, so a greeting followed by a byte other than 05
 *   is -1 (that refuses requests with CMD 02/03, which read as greetings).
 */
int hg_socks_parse(const uint8_t *p, size_t len, struct hg_socks_msg *m);

/* A CONNECT request only (what must follow a greeting): every proper
 * prefix of a valid request is -2, a greeting is -1. */
int hg_socks_parse_connect(const uint8_t *p, size_t len,
			   struct hg_socks_msg *m);

/* The ICA file's Address value carried as the destination:
 * ";40;STA475DE9C8ABDA;0123456789ABCDEF0123456789ABCDEF" (or without the
 * leading ';') -> version 40, authority "STA475DE9C8ABDA", the ticket.
 * 0, or -1 when malformed: not exactly three fields, version not 10, 20,
 * 22 or 40 (as written: no sign, no leading zero), authority not "STA" +
 * 1..16 of [A-Z0-9], ticket not 32 upper-case hex. The outputs are written
 * (NUL-terminated) only on 0. */
int hg_ica_address_parse(const char *s, size_t len, unsigned *version,
			 char authority[HG_STA_AUTHORITY_MAX],
			 char ticket[HG_STA_TICKET_LEN + 1]);

/* Method selection: 05 00 (no authentication). Returns 2. */
size_t hg_socks_method_reply(uint8_t out[2]);
/* CONNECT reply: 05 REP 00 01 0.0.0.0 port 0; never an internal address.
 * rep: HG_SOCKS_REP_*. Returns 10. */
size_t hg_socks_connect_reply(uint8_t out[10], uint8_t rep);

#endif
