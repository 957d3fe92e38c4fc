/* The CtxSTAProtocol codec: the XML the Secure Ticket Authority speaks
 * over HTTP (POST /scripts/ctxsta.dll, text/xml), both sides: requests
 * parsed and answers built for our STA; requests built and answers parsed
 * for a remote STA. No I/O; the ticket store is sta.h.
 *
 * Shapes (PROTOCOLS.md section 1; the validation exchange is our reading,
 * and every element name is at the top of sta_xml.c to adjust it when
 * real traffic is seen):
 *   <CtxSTAProtocol version="4.0">
 *     <RequestTicket> AllowedTicketType, AllowedAuthorityIDType,
 *       <TicketData><Value name="ICAAddress">a.b.c.d[:port]</Value>
 *         <Value name="CGPAddress">a.b.c.d[:port] or *[:port]</Value>
 *         <Value name="XData">escaped <CtxConnInfo> with ServerAddress,
 *           UserName, UserDomain, ApplicationName, Protocol</Value>
 *         (or plain Values UserName, UserDomain, ApplicationName,
 *          Protocol)</TicketData>
 *       <Control><Refreshable>true</Refreshable></Control>
 *     <RequestData><Ticket>32 HEX</Ticket><AuthorityID>..</AuthorityID>
 *     <ResponseTicket><TicketVersion>40</TicketVersion><AuthorityID>..
 *       </AuthorityID><Ticket>..</Ticket>
 *     <ResponseData><AuthorityID>..</AuthorityID><TicketData> Values
 *       ICAAddress, CGPAddress, UserName, UserDomain, ApplicationName,
 *       Protocol </TicketData>
 *     <ResponseError><Code>..</Code><Message>..</Message>
 *
 * Safety: documents over HG_STA_XML_MAX bytes, holding a NUL byte, an
 * entity declaration (<!ENTITY: billion laughs, external entities) or any
 * other internal DTD subset are refused before or after libxml2 parses
 * them; libxml2 runs without entity substitution, DTD loading or network
 * access (a DOCTYPE naming an external DTD parses, nothing is loaded).
 * Unknown elements and Values are ignored; a known one given twice is
 * refused (a user field given both in XData and as a plain Value must
 * agree).
 *
 * Secrets: answers holding a ticket are whole documents in malloc'd
 * memory: free them with hg_sta_xml_free, which wipes them. Our copies of
 * a parsed ticket and the parsed tree's text are wiped before they are
 * freed; libxml2's own copy of the input is not (it offers no hook short
 * of replacing the allocator of the whole process).
 *
 * Threads: the functions keep no state of their own; libxml2 is set up
 * once (pthread_once) by the first parse. The control plane's main thread
 * is the expected user.
 */
#ifndef HG_STA_XML_H
#define HG_STA_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sta.h"

#define HG_STA_XML_MAX (16 * 1024) /* largest document parsed */

enum hg_sta_xml_kind {
	HG_STA_XML_REQUEST_TICKET = 1,
	HG_STA_XML_REQUEST_DATA = 2
};

struct hg_sta_xml_request {
	int kind; /* enum hg_sta_xml_kind */
	/* RequestTicket */
	uint32_t ica_addr; /* Value name="ICAAddress": "a.b.c.d:port", */
	uint16_t ica_port; /* host order; port default 1494 */
	uint32_t cgp_addr; /* Value name="CGPAddress" if present (port */
	uint16_t cgp_port; /* default 2598; "*" is ica_addr), else 0 */
	bool refreshable;  /* Control/Refreshable true */
	/* From XData's escaped CtxConnInfo (UserName, UserDomain,
	 * ApplicationName, Protocol) or plain Values of those names; may be
	 * empty; no control characters. */
	char user[64], domain[64], application[64], protocol[16];
	/* RequestData */
	char authority[HG_STA_AUTHORITY_MAX]; /* "" if not given */
	char ticket[HG_STA_TICKET_LEN + 1];
};

/* Parses a request at p[0..len): 0 with *r filled (zeroed first), or -1
 * with a short reason in err (a constant text: no input echoed; err may
 * be NULL). *r is wiped on -1. */
int hg_sta_xml_parse(const uint8_t *p, size_t len, struct hg_sta_xml_request *r,
		     char *err, size_t errlen);

/* Answers, as whole XML documents (NUL-terminated, malloc'd; NULL on
 * allocation failure). All text is escaped; a byte that is not valid
 * UTF-8 or a control character XML cannot carry becomes '?'. */
char *hg_sta_xml_ticket_response(const char *authority, const char *ticket,
				 unsigned version);
/* The stored values: ICAAddress "a.b.c.d:port", CGPAddress (same host)
 * if cgp_port, UserName, UserDomain, ApplicationName (e->resource),
 * Protocol when not empty. authority may be NULL (then not sent). */
char *hg_sta_xml_data_response(const char *authority,
			       const struct hg_sta_entry *e);
/* code e.g. "TicketNotFound", "BadRequest", "STAFull". */
char *hg_sta_xml_error_response(const char *code, const char *message);

/* The client side (for remote STAs). */
/* A RequestData for ticket; authority may be NULL or "" (not sent). */
char *hg_sta_xml_data_request(const char *authority, const char *ticket);
/* A ResponseData at p[0..len) into *e (zeroed first; refreshable false):
 * 0; -ENOENT for a ResponseError with Code TicketNotFound; -1 malformed,
 * another error, a CGPAddress on another host than ICAAddress. *e is
 * wiped unless 0. */
int hg_sta_xml_parse_data_response(const uint8_t *p, size_t len,
				   struct hg_sta_entry *e);
/* A RequestTicket as PROTOCOLS.md shows (DOCTYPE, XData, Control) for e:
 * for tests and remote use. */
char *hg_sta_xml_ticket_request(const struct hg_sta_entry *e);
/* A ResponseTicket at p[0..len): 0 with authority (valid, fitting alen),
 * ticket (32 upper-case hex, tlen > 32) and *version (1..999) written;
 * -1 otherwise (nothing written). */
int hg_sta_xml_parse_ticket_response(const uint8_t *p, size_t len,
				     char *authority, size_t alen, char *ticket,
				     size_t tlen, unsigned *version);

/* Wipes and frees a document built above. NULL is a no-op. */
void hg_sta_xml_free(char *doc);

#endif
