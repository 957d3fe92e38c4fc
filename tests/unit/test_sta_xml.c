/* The CtxSTAProtocol codec (controlplane/sta_xml.h): PROTOCOLS.md's
 * RequestTicket with its escaped XData; the variants of addresses, user
 * fields and Refreshable; RequestData; every answer built and parsed back
 * with the client-side parsers; escaping (& < > quotes, control bytes,
 * invalid UTF-8); entity attacks (billion laughs, external entities, an
 * external DTD that exists), internal subsets; garbage, truncation at
 * every length, wrong roots, NUL bytes, the 16 KiB limit; reasons that do
 * not echo input; and a store behind it (issue from a request, redeem
 * from a RequestData). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sta.h"
#include "sta_xml.h"

#define AUTH   "STA475DE9C8ABDA"
#define TICKET "0123456789ABCDEF0123456789ABCDEF"

/* PROTOCOLS.md section 1, with the XData a portal sends (escaped once). */
static const char protocols_md_request[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE CtxSTAProtocol SYSTEM \"CtxSTA.dtd\">\n"
    "<CtxSTAProtocol version=\"4.0\">\n"
    "  <RequestTicket>\n"
    "    <AllowedTicketType>STA-v4</AllowedTicketType>\n"
    "    <AllowedAuthorityIDType>STA-v1</AllowedAuthorityIDType>\n"
    "    <TicketData>\n"
    "      <Value name=\"ICAAddress\">10.1.2.3:1494</Value>\n"
    "      <Value name=\"XData\">&lt;CtxConnInfo&gt;"
    "&lt;ServerAddress&gt;10.1.2.3:1494&lt;/ServerAddress&gt;"
    "&lt;UserName&gt;alice&lt;/UserName&gt;"
    "&lt;UserDomain&gt;CORP&lt;/UserDomain&gt;"
    "&lt;ApplicationName&gt;Notepad&lt;/ApplicationName&gt;"
    "&lt;Protocol&gt;HDX&lt;/Protocol&gt;"
    "&lt;/CtxConnInfo&gt;</Value>\n"
    "    </TicketData>\n"
    "    <Control><Refreshable>true</Refreshable></Control>\n"
    "  </RequestTicket>\n"
    "</CtxSTAProtocol>\n";

static int parse(const char *doc, struct hg_sta_xml_request *r, char *err,
		 size_t errlen)
{
	return hg_sta_xml_parse((const uint8_t *)doc, strlen(doc), r, err,
				errlen);
}

static void assert_parses(const char *doc, struct hg_sta_xml_request *r)
{
	char err[128] = "";

	cr_assert_eq(parse(doc, r, err, sizeof(err)), 0, "refused: %s\n%s", err,
		     doc);
}

static void assert_refused(const char *doc, const char *what)
{
	struct hg_sta_xml_request r;
	char err[128] = "";

	cr_assert_eq(parse(doc, &r, err, sizeof(err)), -1, "%s accepted", what);
	cr_assert_neq(err[0], '\0', "%s: no reason", what);
	cr_assert_eq(r.kind, 0, "%s: request not wiped", what);
}

/* A RequestTicket around the given TicketData content and Control. */
static char *ticket_req(const char *values, const char *control)
{
	static char buf[8192];

	snprintf(buf, sizeof(buf),
		 "<?xml version=\"1.0\"?><CtxSTAProtocol version=\"4.0\">"
		 "<RequestTicket><TicketData>%s</TicketData>%s</RequestTicket>"
		 "</CtxSTAProtocol>",
		 values, control);
	return buf;
}

static struct hg_sta_entry sample_entry(void)
{
	struct hg_sta_entry e;

	memset(&e, 0, sizeof(e));
	e.addr = 0x0a010203u;
	e.port = 1494;
	e.cgp_port = 2598;
	e.refreshable = true;
	snprintf(e.user, sizeof(e.user), "alice");
	snprintf(e.domain, sizeof(e.domain), "CORP");
	snprintf(e.resource, sizeof(e.resource), "Notepad");
	snprintf(e.protocol, sizeof(e.protocol), "HDX");
	return e;
}

Test(sta_xml, protocols_md_request)
{
	struct hg_sta_xml_request r;

	memset(&r, 0x5a, sizeof(r));
	assert_parses(protocols_md_request, &r);
	cr_assert_eq(r.kind, HG_STA_XML_REQUEST_TICKET);
	cr_assert_eq(r.ica_addr, 0x0a010203u);
	cr_assert_eq(r.ica_port, 1494);
	cr_assert_eq(r.cgp_addr, 0);
	cr_assert_eq(r.cgp_port, 0);
	cr_assert(r.refreshable);
	cr_assert_str_eq(r.user, "alice");
	cr_assert_str_eq(r.domain, "CORP");
	cr_assert_str_eq(r.application, "Notepad");
	cr_assert_str_eq(r.protocol, "HDX");
	cr_assert_str_eq(r.authority, "");
	cr_assert_str_eq(r.ticket, "");
}

Test(sta_xml, request_ticket_variants)
{
	struct hg_sta_xml_request r;

	/* default ports; CGP on its own host; plain Values; no Control */
	assert_parses(
	    ticket_req("<Value name=\"ICAAddress\">192.168.0.9</Value>"
		       "<Value name=\"CGPAddress\">192.168.0.10</Value>"
		       "<Value name=\"UserName\">bob</Value>"
		       "<Value name=\"UserDomain\">LAB</Value>"
		       "<Value name=\"ApplicationName\">Desktop</Value>"
		       "<Value name=\"Protocol\">ICA</Value>"
		       "<Value name=\"SomethingNew\">ignored</Value>",
		       "<Unknown/>"),
	    &r);
	cr_assert_eq(r.ica_addr, 0xc0a80009u);
	cr_assert_eq(r.ica_port, 1494);
	cr_assert_eq(r.cgp_addr, 0xc0a8000au);
	cr_assert_eq(r.cgp_port, 2598);
	cr_assert_not(r.refreshable);
	cr_assert_str_eq(r.user, "bob");
	cr_assert_str_eq(r.domain, "LAB");
	cr_assert_str_eq(r.application, "Desktop");
	cr_assert_str_eq(r.protocol, "ICA");

	/* "*" is the ICA host; ports given; white space around values */
	assert_parses(
	    ticket_req("<Value name=\"CGPAddress\"> *:2600 </Value>"
		       "<Value name=\"ICAAddress\">\n 10.0.0.1:65535\n</Value>",
		       "<Control><Refreshable>false</Refreshable></Control>"),
	    &r);
	cr_assert_eq(r.ica_addr, 0x0a000001u);
	cr_assert_eq(r.ica_port, 65535);
	cr_assert_eq(r.cgp_addr, 0x0a000001u);
	cr_assert_eq(r.cgp_port, 2600);
	cr_assert_not(r.refreshable);
	cr_assert_str_eq(r.user, "");
	assert_parses(ticket_req("<Value name=\"ICAAddress\">10.0.0.1</Value>"
				 "<Value name=\"CGPAddress\">*</Value>",
				 "<Control><Refreshable>1</Refreshable>"
				 "</Control>"),
		      &r);
	cr_assert_eq(r.cgp_addr, 0x0a000001u);
	cr_assert_eq(r.cgp_port, 2598);
	cr_assert(r.refreshable);

	/* XData and a plain Value agreeing; CDATA; unknown XData fields */
	assert_parses(
	    ticket_req("<Value name=\"ICAAddress\">10.0.0.1</Value>"
		       "<Value name=\"UserName\">carol</Value>"
		       "<Value name=\"XData\"><![CDATA[<CtxConnInfo>"
		       "<UserName>carol</UserName><Extra>x</Extra>"
		       "<Protocol>HDX</Protocol></CtxConnInfo>]]></Value>",
		       ""),
	    &r);
	cr_assert_str_eq(r.user, "carol");
	cr_assert_str_eq(r.protocol, "HDX");

	/* the longest fields that fit */
	{
		char v[1024];

		snprintf(v, sizeof(v),
			 "<Value name=\"ICAAddress\">1.2.3.4</Value>"
			 "<Value name=\"UserName\">%063d</Value>"
			 "<Value name=\"Protocol\">%015d</Value>",
			 7, 8);
		assert_parses(ticket_req(v, ""), &r);
		cr_assert_eq(strlen(r.user), 63);
		cr_assert_eq(strlen(r.protocol), 15);
	}
}

Test(sta_xml, request_ticket_refusals)
{
	static const char *const bad_addr[] = {
	    "",
	    "1.2.3",
	    "1.2.3.4.5",
	    "256.1.1.1",
	    "1.2.3.04",
	    "01.2.3.4",
	    "1..3.4",
	    "1.2.3.4:",
	    "1.2.3.4:0",
	    "1.2.3.4:65536",
	    "1.2.3.4:01",
	    "1.2.3.4:1:2",
	    "0.0.0.0",
	    "a.b.c.d",
	    "1.2.3.4 :5",
	    "*",
	    "-1.2.3.4",
	    "1.2.3.4:+5",
	    "host.example:1494",
	};
	char v[1024];
	size_t i;

	for (i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		snprintf(v, sizeof(v), "<Value name=\"ICAAddress\">%s</Value>",
			 bad_addr[i]);
		assert_refused(ticket_req(v, ""), bad_addr[i]);
	}
	assert_refused(ticket_req("", ""), "no ICAAddress");
	assert_refused(ticket_req("<Value name=\"UserName\">a</Value>", ""),
		       "only a user");
	assert_refused(ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				  "<Value name=\"ICAAddress\">1.2.3.4</Value>",
				  ""),
		       "ICAAddress twice");
	assert_refused(ticket_req("<Value>1.2.3.4</Value>", ""),
		       "Value without a name");
	assert_refused(ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				  "<Value name=\"CGPAddress\">x</Value>",
				  ""),
		       "bad CGPAddress");
	assert_refused(
	    ticket_req("<Value name=\"ICAAddress\">1.2.<b>3</b>.4</Value>", ""),
	    "markup in a value");
	assert_refused(ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>",
				  "<Control><Refreshable>yes</Refreshable>"
				  "</Control>"),
		       "Refreshable yes");
	assert_refused(ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>",
				  "<Control><Refreshable>true</Refreshable>"
				  "<Refreshable>true</Refreshable></Control>"),
		       "Refreshable twice");
	snprintf(v, sizeof(v),
		 "<Value name=\"ICAAddress\">1.2.3.4</Value>"
		 "<Value name=\"UserName\">%064d</Value>",
		 7);
	assert_refused(ticket_req(v, ""), "user of 64");
	snprintf(v, sizeof(v),
		 "<Value name=\"ICAAddress\">1.2.3.4</Value>"
		 "<Value name=\"Protocol\">%016d</Value>",
		 7);
	assert_refused(ticket_req(v, ""), "protocol of 16");
	assert_refused(ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				  "<Value name=\"UserName\">a&#9;b</Value>",
				  ""),
		       "tab in a user name");
	assert_refused(ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				  "<Value name=\"UserName\">bob</Value>"
				  "<Value name=\"UserName\">eve</Value>",
				  ""),
		       "conflicting users");
	assert_refused(
	    ticket_req(
		"<Value name=\"ICAAddress\">1.2.3.4</Value>"
		"<Value name=\"UserName\">bob</Value>"
		"<Value name=\"XData\">&lt;CtxConnInfo&gt;&lt;UserName&gt;"
		"eve&lt;/UserName&gt;&lt;/CtxConnInfo&gt;</Value>",
		""),
	    "XData disagreeing with a Value");
	assert_refused(
	    ticket_req(
		"<Value name=\"ICAAddress\">1.2.3.4</Value>"
		"<Value name=\"XData\">&lt;CtxConnInfo&gt;&lt;UserName&gt;"
		"a&lt;/UserName&gt;&lt;UserName&gt;a&lt;/UserName&gt;"
		"&lt;/CtxConnInfo&gt;</Value>",
		""),
	    "XData field twice");
	assert_refused(
	    ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>"
		       "<Value name=\"XData\">&lt;Other/&gt;</Value>",
		       ""),
	    "XData not CtxConnInfo");
	assert_refused(ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				  "<Value name=\"XData\">&lt;CtxConnInfo&gt;"
				  "</Value>",
				  ""),
		       "XData not well-formed");
	assert_refused(ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				  "<Value name=\"XData\"></Value>",
				  ""),
		       "XData empty");
	assert_refused(
	    "<CtxSTAProtocol><RequestTicket><TicketData><Value name="
	    "\"ICAAddress\">1.2.3.4</Value></TicketData><TicketData/>"
	    "</RequestTicket></CtxSTAProtocol>",
	    "TicketData twice");
}

Test(sta_xml, request_data)
{
	struct hg_sta_xml_request r;

	assert_parses(
	    "<CtxSTAProtocol version=\"4.0\"><RequestData><Ticket>" TICKET
	    "</Ticket><AuthorityID>" AUTH
	    "</AuthorityID></RequestData></CtxSTAProtocol>",
	    &r);
	cr_assert_eq(r.kind, HG_STA_XML_REQUEST_DATA);
	cr_assert_str_eq(r.ticket, TICKET);
	cr_assert_str_eq(r.authority, AUTH);
	cr_assert_eq(r.ica_addr, 0);

	assert_parses("<CtxSTAProtocol><RequestData>\n  <Ticket>\n" TICKET
		      "\n</Ticket>\n</RequestData></CtxSTAProtocol>",
		      &r);
	cr_assert_str_eq(r.ticket, TICKET);
	cr_assert_str_eq(r.authority, "");

	assert_refused("<CtxSTAProtocol><RequestData><Ticket>"
		       "0123456789abcdef0123456789ABCDEF</Ticket>"
		       "</RequestData></CtxSTAProtocol>",
		       "lower case ticket");
	assert_refused("<CtxSTAProtocol><RequestData><Ticket>" TICKET
		       "0</Ticket></RequestData></CtxSTAProtocol>",
		       "33 characters");
	assert_refused("<CtxSTAProtocol><RequestData><Ticket>;40;" AUTH
		       ";" TICKET "</Ticket></RequestData></CtxSTAProtocol>",
		       "Address form");
	assert_refused("<CtxSTAProtocol><RequestData><Ticket>" TICKET
		       "</Ticket><AuthorityID>sta1</AuthorityID>"
		       "</RequestData></CtxSTAProtocol>",
		       "bad authority");
	assert_refused("<CtxSTAProtocol><RequestData><AuthorityID>" AUTH
		       "</AuthorityID></RequestData></CtxSTAProtocol>",
		       "no ticket");
	assert_refused("<CtxSTAProtocol><RequestData><Ticket>" TICKET
		       "</Ticket><Ticket>" TICKET
		       "</Ticket></RequestData></CtxSTAProtocol>",
		       "two tickets");
	assert_refused("<CtxSTAProtocol><RequestData><Ticket>" TICKET
		       "</Ticket></RequestData><RequestData/></CtxSTAProtocol>",
		       "two requests");
}

Test(sta_xml, ticket_response_round_trip)
{
	char *doc = hg_sta_xml_ticket_response(AUTH, TICKET, 40);
	char a[HG_STA_AUTHORITY_MAX], t[HG_STA_TICKET_LEN + 1];
	unsigned v = 0;

	cr_assert_not_null(doc);
	cr_assert(strncmp(doc, "<?xml version=\"1.0\"?>", 21) == 0);
	cr_assert_not_null(strstr(doc, "<CtxSTAProtocol version=\"4.0\">"
				       "<ResponseTicket><TicketVersion>40"
				       "</TicketVersion><AuthorityID>" AUTH
				       "</AuthorityID><Ticket>" TICKET
				       "</Ticket></ResponseTicket>"
				       "</CtxSTAProtocol>"));
	cr_assert_eq(hg_sta_xml_parse_ticket_response((const uint8_t *)doc,
						      strlen(doc), a, sizeof(a),
						      t, sizeof(t), &v),
		     0);
	cr_assert_str_eq(a, AUTH);
	cr_assert_str_eq(t, TICKET);
	cr_assert_eq(v, 40);

	/* buffers too small: refused, nothing written */
	memset(a, 'x', sizeof(a));
	cr_assert_eq(
	    hg_sta_xml_parse_ticket_response((const uint8_t *)doc, strlen(doc),
					     a, strlen(AUTH), t, sizeof(t), &v),
	    -1);
	cr_assert_eq(a[0], 'x');
	cr_assert_eq(hg_sta_xml_parse_ticket_response((const uint8_t *)doc,
						      strlen(doc), a, sizeof(a),
						      t, HG_STA_TICKET_LEN, &v),
		     -1);
	hg_sta_xml_free(doc);
}

static int ticket_answer(const char *inner)
{
	char doc[1024], a[HG_STA_AUTHORITY_MAX], t[HG_STA_TICKET_LEN + 1];
	unsigned v;

	snprintf(doc, sizeof(doc),
		 "<CtxSTAProtocol><ResponseTicket>%s</ResponseTicket>"
		 "</CtxSTAProtocol>",
		 inner);
	return hg_sta_xml_parse_ticket_response(
	    (const uint8_t *)doc, strlen(doc), a, sizeof(a), t, sizeof(t), &v);
}

Test(sta_xml, ticket_response_refusals)
{
#define V(x) "<TicketVersion>" x "</TicketVersion>"
#define A(x) "<AuthorityID>" x "</AuthorityID>"
#define T(x) "<Ticket>" x "</Ticket>"
	cr_assert_eq(ticket_answer(V("40") A(AUTH) T(TICKET)), 0);
	cr_assert_eq(ticket_answer(T(TICKET) V("10") A(AUTH)), 0);
	cr_assert_eq(ticket_answer(V("0") A(AUTH) T(TICKET)), -1);
	cr_assert_eq(ticket_answer(V("1000") A(AUTH) T(TICKET)), -1);
	cr_assert_eq(ticket_answer(V("4a") A(AUTH) T(TICKET)), -1);
	cr_assert_eq(ticket_answer(V("040") A(AUTH) T(TICKET)), -1);
	cr_assert_eq(ticket_answer(V("40") A("STX1") T(TICKET)), -1);
	cr_assert_eq(ticket_answer(V("40") A(AUTH) T("0123")), -1);
	cr_assert_eq(ticket_answer(A(AUTH) T(TICKET)), -1);
	cr_assert_eq(ticket_answer(V("40") T(TICKET)), -1);
	cr_assert_eq(ticket_answer(V("40") A(AUTH)), -1);
	cr_assert_eq(ticket_answer(V("40") A(AUTH) T(TICKET) T(TICKET)), -1);
#undef V
#undef A
#undef T
}

static void assert_same_entry(const struct hg_sta_entry *a,
			      const struct hg_sta_entry *b)
{
	cr_assert_eq(a->addr, b->addr);
	cr_assert_eq(a->port, b->port);
	cr_assert_eq(a->cgp_port, b->cgp_port);
	cr_assert_str_eq(a->user, b->user);
	cr_assert_str_eq(a->domain, b->domain);
	cr_assert_str_eq(a->resource, b->resource);
	cr_assert_str_eq(a->protocol, b->protocol);
}

Test(sta_xml, data_response_round_trip)
{
	struct hg_sta_entry e = sample_entry(), got;
	char *doc;

	doc = hg_sta_xml_data_response(AUTH, &e);
	cr_assert_not_null(doc);
	cr_assert_not_null(strstr(doc,
				  "<Value name=\"ICAAddress\">10.1.2.3:1494"
				  "</Value><Value name=\"CGPAddress\">"
				  "10.1.2.3:2598</Value>"));
	memset(&got, 0x5a, sizeof(got));
	cr_assert_eq(hg_sta_xml_parse_data_response((const uint8_t *)doc,
						    strlen(doc), &got),
		     0);
	assert_same_entry(&got, &e);
	cr_assert_not(got.refreshable);
	hg_sta_xml_free(doc);

	/* no CGP port, empty fields, no authority */
	e.cgp_port = 0;
	e.domain[0] = e.protocol[0] = '\0';
	doc = hg_sta_xml_data_response(NULL, &e);
	cr_assert_not_null(doc);
	cr_assert_null(strstr(doc, "CGPAddress"));
	cr_assert_null(strstr(doc, "UserDomain"));
	cr_assert_null(strstr(doc, "AuthorityID"));
	cr_assert_eq(hg_sta_xml_parse_data_response((const uint8_t *)doc,
						    strlen(doc), &got),
		     0);
	assert_same_entry(&got, &e);
	hg_sta_xml_free(doc);
}

static int data_answer(const char *values, struct hg_sta_entry *e)
{
	char doc[2048];

	snprintf(doc, sizeof(doc),
		 "<CtxSTAProtocol><ResponseData><TicketData>%s</TicketData>"
		 "</ResponseData></CtxSTAProtocol>",
		 values);
	return hg_sta_xml_parse_data_response((const uint8_t *)doc, strlen(doc),
					      e);
}

Test(sta_xml, data_response_refusals)
{
	struct hg_sta_entry e;
	char *doc;

	cr_assert_eq(data_answer("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				 "<Value name=\"CGPAddress\">*:2600</Value>",
				 &e),
		     0);
	cr_assert_eq(e.port, 1494);
	cr_assert_eq(e.cgp_port, 2600);
	memset(&e, 0x5a, sizeof(e));
	cr_assert_eq(data_answer("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				 "<Value name=\"CGPAddress\">1.2.3.5</Value>",
				 &e),
		     -1);
	cr_assert_eq(e.addr, 0, "entry not wiped");
	cr_assert_eq(data_answer("<Value name=\"UserName\">a</Value>", &e), -1);
	cr_assert_eq(data_answer("<Value name=\"ICAAddress\">1.2.3.4</Value>"
				 "<Value name=\"ICAAddress\">1.2.3.4</Value>",
				 &e),
		     -1);
	cr_assert_eq(
	    data_answer("<Value name=\"ICAAddress\">1.2.3</Value>", &e), -1);

	/* error answers */
	doc = hg_sta_xml_error_response("TicketNotFound", "no such ticket");
	cr_assert_not_null(doc);
	cr_assert_eq(hg_sta_xml_parse_data_response((const uint8_t *)doc,
						    strlen(doc), &e),
		     -ENOENT);
	hg_sta_xml_free(doc);
	doc = hg_sta_xml_error_response("STAFull", "full");
	cr_assert_eq(hg_sta_xml_parse_data_response((const uint8_t *)doc,
						    strlen(doc), &e),
		     -1);
	hg_sta_xml_free(doc);
	/* a ResponseTicket is no ResponseData */
	doc = hg_sta_xml_ticket_response(AUTH, TICKET, 40);
	cr_assert_eq(hg_sta_xml_parse_data_response((const uint8_t *)doc,
						    strlen(doc), &e),
		     -1);
	hg_sta_xml_free(doc);
}

Test(sta_xml, error_response_shape)
{
	char *doc = hg_sta_xml_error_response("BadRequest", "a < b & c > d");
	struct hg_sta_entry e;

	cr_assert_not_null(doc);
	cr_assert_not_null(strstr(doc, "<ResponseError><Code>BadRequest</Code>"
				       "<Message>a &lt; b &amp; c &gt; d"
				       "</Message></ResponseError>"));
	cr_assert_eq(hg_sta_xml_parse_data_response((const uint8_t *)doc,
						    strlen(doc), &e),
		     -1);
	hg_sta_xml_free(doc);
	hg_sta_xml_free(NULL);
}

Test(sta_xml, data_request_round_trip)
{
	struct hg_sta_xml_request r;
	char *doc = hg_sta_xml_data_request(AUTH, TICKET);

	cr_assert_not_null(doc);
	assert_parses(doc, &r);
	cr_assert_eq(r.kind, HG_STA_XML_REQUEST_DATA);
	cr_assert_str_eq(r.ticket, TICKET);
	cr_assert_str_eq(r.authority, AUTH);
	hg_sta_xml_free(doc);

	doc = hg_sta_xml_data_request(NULL, TICKET);
	assert_parses(doc, &r);
	cr_assert_str_eq(r.authority, "");
	cr_assert_null(strstr(doc, "AuthorityID"));
	hg_sta_xml_free(doc);
}

Test(sta_xml, ticket_request_round_trip)
{
	struct hg_sta_entry e = sample_entry();
	struct hg_sta_xml_request r;
	char *doc = hg_sta_xml_ticket_request(&e);

	cr_assert_not_null(doc);
	/* PROTOCOLS.md's shape */
	cr_assert_not_null(
	    strstr(doc, "<!DOCTYPE CtxSTAProtocol SYSTEM \"CtxSTA.dtd\">"));
	cr_assert_not_null(strstr(doc, "<AllowedTicketType>STA-v4<"));
	cr_assert_not_null(strstr(doc, "<AllowedAuthorityIDType>STA-v1<"));
	cr_assert_not_null(strstr(doc,
				  "<Value name=\"XData\">&lt;CtxConnInfo"
				  "&gt;&lt;ServerAddress&gt;10.1.2.3:1494"));
	cr_assert_not_null(
	    strstr(doc, "<Control><Refreshable>true</Refreshable></Control>"));
	assert_parses(doc, &r);
	cr_assert_eq(r.kind, HG_STA_XML_REQUEST_TICKET);
	cr_assert_eq(r.ica_addr, e.addr);
	cr_assert_eq(r.ica_port, e.port);
	cr_assert_eq(r.cgp_addr, e.addr);
	cr_assert_eq(r.cgp_port, e.cgp_port);
	cr_assert(r.refreshable);
	cr_assert_str_eq(r.user, e.user);
	cr_assert_str_eq(r.domain, e.domain);
	cr_assert_str_eq(r.application, e.resource);
	cr_assert_str_eq(r.protocol, e.protocol);
	hg_sta_xml_free(doc);

	e.refreshable = false;
	e.cgp_port = 0;
	doc = hg_sta_xml_ticket_request(&e);
	assert_parses(doc, &r);
	cr_assert_not(r.refreshable);
	cr_assert_eq(r.cgp_port, 0);
	cr_assert_eq(r.cgp_addr, 0);
	hg_sta_xml_free(doc);
}

/* & < > and quotes in user fields survive both escapings (XData is XML
 * inside a Value) and the data answer; nothing raw leaks into the
 * markup. */
Test(sta_xml, escaping)
{
	struct hg_sta_entry e = sample_entry(), got;
	struct hg_sta_xml_request r;
	char *doc;

	snprintf(e.user, sizeof(e.user), "a&b<c>d\"e'f</UserName>");
	snprintf(e.domain, sizeof(e.domain), "&amp;");
	snprintf(e.resource, sizeof(e.resource), "]]><x>");
	snprintf(e.protocol, sizeof(e.protocol), "<");

	doc = hg_sta_xml_ticket_request(&e);
	cr_assert_not_null(doc);
	cr_assert_null(strstr(doc, "<c>"));
	cr_assert_null(strstr(doc, "<x>"));
	cr_assert_not_null(strstr(doc, "a&amp;amp;b&amp;lt;c&amp;gt;d"));
	assert_parses(doc, &r);
	cr_assert_str_eq(r.user, e.user);
	cr_assert_str_eq(r.domain, e.domain);
	cr_assert_str_eq(r.application, e.resource);
	cr_assert_str_eq(r.protocol, e.protocol);
	hg_sta_xml_free(doc);

	doc = hg_sta_xml_data_response(AUTH, &e);
	cr_assert_not_null(doc);
	cr_assert_not_null(
	    strstr(doc, "a&amp;b&lt;c&gt;d&quot;e&apos;f&lt;/UserName&gt;"));
	cr_assert_eq(hg_sta_xml_parse_data_response((const uint8_t *)doc,
						    strlen(doc), &got),
		     0);
	assert_same_entry(&got, &e);
	hg_sta_xml_free(doc);

	/* an attribute-breaking authority stays inside its element */
	doc = hg_sta_xml_error_response("\"><Evil/>", "x");
	cr_assert_null(strstr(doc, "<Evil/>"));
	hg_sta_xml_free(doc);
}

/* Bytes XML cannot carry become '?': the answer stays well-formed. */
Test(sta_xml, unrepresentable_bytes)
{
	struct hg_sta_entry e = sample_entry(), got;
	char *doc;

	snprintf(e.user, sizeof(e.user), "\x01ok\xff\xc3(\xed\xa0\x80");
	snprintf(e.domain, sizeof(e.domain), "caf\xc3\xa9 \xe2\x82\xac");
	memset(e.protocol, 'P', sizeof(e.protocol)); /* not terminated */
	memset(e.resource, 'R', sizeof(e.resource));
	doc = hg_sta_xml_data_response(AUTH, &e);
	cr_assert_not_null(doc);
	cr_assert_eq(hg_sta_xml_parse_data_response((const uint8_t *)doc,
						    strlen(doc), &got),
		     0);
	cr_assert_str_eq(got.user, "?ok?"
				   "?("
				   "???");
	cr_assert_str_eq(got.domain, "caf\xc3\xa9 \xe2\x82\xac");
	cr_assert_eq(strlen(got.protocol), sizeof(got.protocol) - 1);
	cr_assert_eq(strlen(got.resource), sizeof(got.resource) - 1);
	hg_sta_xml_free(doc);
}

Test(sta_xml, billion_laughs)
{
	static const char lol[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE CtxSTAProtocol [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 "
	    "\"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n"
	    "<CtxSTAProtocol><RequestTicket><TicketData>"
	    "<Value name=\"ICAAddress\">1.2.3.4</Value>"
	    "<Value name=\"UserName\">&lol9;</Value>"
	    "</TicketData></RequestTicket></CtxSTAProtocol>";

	assert_refused(lol, "billion laughs");
	/* one harmless internal entity is refused just the same */
	assert_refused("<!DOCTYPE CtxSTAProtocol [<!ENTITY u \"bob\">]>"
		       "<CtxSTAProtocol><RequestTicket><TicketData>"
		       "<Value name=\"ICAAddress\">1.2.3.4</Value>"
		       "<Value name=\"UserName\">&u;</Value>"
		       "</TicketData></RequestTicket></CtxSTAProtocol>",
		       "internal entity");
	/* and inside XData (escaped once) */
	assert_refused(
	    ticket_req("<Value name=\"ICAAddress\">1.2.3.4</Value>"
		       "<Value name=\"XData\">&lt;!DOCTYPE CtxConnInfo "
		       "[&lt;!ENTITY a \"aaaa\"&gt;]&gt;&lt;CtxConnInfo&gt;"
		       "&lt;UserName&gt;&amp;a;&lt;/UserName&gt;"
		       "&lt;/CtxConnInfo&gt;</Value>",
		       ""),
	    "entity in XData");
}

/* External entities and DTDs are never loaded: a file that would define
 * the entity exists, and its content never comes back. */
Test(sta_xml, external_entities)
{
	char dir[] = "/tmp/sta_xml_XXXXXX", path[256], doc[2048];
	struct hg_sta_xml_request r;
	FILE *f;
	int rc;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/evil.dtd", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("<!ENTITY x \"PWNED\">\n", f);
	fclose(f);

	assert_refused("<!DOCTYPE CtxSTAProtocol [<!ENTITY x SYSTEM "
		       "\"file:///etc/passwd\">]>"
		       "<CtxSTAProtocol><RequestTicket><TicketData>"
		       "<Value name=\"ICAAddress\">1.2.3.4</Value>"
		       "<Value name=\"UserName\">&x;</Value>"
		       "</TicketData></RequestTicket></CtxSTAProtocol>",
		       "external entity");
	snprintf(doc, sizeof(doc),
		 "<!DOCTYPE CtxSTAProtocol [<!ENTITY %% p SYSTEM "
		 "\"file://%s\"> %%p;]>"
		 "<CtxSTAProtocol><RequestTicket><TicketData>"
		 "<Value name=\"ICAAddress\">1.2.3.4</Value>"
		 "<Value name=\"UserName\">&x;</Value>"
		 "</TicketData></RequestTicket></CtxSTAProtocol>",
		 path);
	assert_refused(doc, "parameter entity");
	/* an external DTD that exists and defines x: not loaded, so &x; is
	 * no text; the document is refused or x stays unexpanded */
	snprintf(doc, sizeof(doc),
		 "<!DOCTYPE CtxSTAProtocol SYSTEM \"file://%s\">"
		 "<CtxSTAProtocol><RequestTicket><TicketData>"
		 "<Value name=\"ICAAddress\">1.2.3.4</Value>"
		 "<Value name=\"UserName\">&x;</Value>"
		 "</TicketData></RequestTicket></CtxSTAProtocol>",
		 path);
	rc = parse(doc, &r, NULL, 0);
	cr_assert_eq(rc, -1);
	cr_assert_null(strstr(r.user, "PWNED"));
	/* and without a reference it parses: nothing was fetched */
	snprintf(doc, sizeof(doc),
		 "<!DOCTYPE CtxSTAProtocol SYSTEM \"file://%s\">"
		 "<CtxSTAProtocol><RequestTicket><TicketData>"
		 "<Value name=\"ICAAddress\">1.2.3.4</Value>"
		 "</TicketData></RequestTicket></CtxSTAProtocol>",
		 path);
	assert_parses(doc, &r);
	cr_assert_str_eq(r.user, "");

	unlink(path);
	rmdir(dir);
}

Test(sta_xml, internal_subset_refused)
{
	assert_refused("<!DOCTYPE CtxSTAProtocol [<!ELEMENT a ANY>]>"
		       "<CtxSTAProtocol><RequestData><Ticket>" TICKET
		       "</Ticket></RequestData></CtxSTAProtocol>",
		       "element declaration");
	assert_refused("<!DOCTYPE CtxSTAProtocol [<!ATTLIST RequestData a "
		       "CDATA \"x\">]>"
		       "<CtxSTAProtocol><RequestData><Ticket>" TICKET
		       "</Ticket></RequestData></CtxSTAProtocol>",
		       "attribute default");
	/* the word inside a comment is refused too (the scan is bytes) */
	assert_refused(
	    "<CtxSTAProtocol><!-- <!ENTITY --><RequestData><Ticket>" TICKET
	    "</Ticket></RequestData></CtxSTAProtocol>",
	    "entity keyword in a comment");
}

Test(sta_xml, garbage_and_wrong_shapes)
{
	static const char *const bad[] = {
	    "",
	    "hello",
	    "<",
	    "<CtxSTAProtocol>",
	    "<CtxSTAProtocol></CtxSTAProtocol>",
	    "<CtxSTAProtocol/>",
	    "<Other><RequestData><Ticket>" TICKET
	    "</Ticket></RequestData></Other>",
	    "<CtxSTAProtocol><RequestSomething/></CtxSTAProtocol>",
	    "<CtxSTAProtocol><ResponseTicket/></CtxSTAProtocol>",
	    "<CtxSTAProtocol><RequestData><Ticket>" TICKET
	    "</Ticket></RequestData></CtxSTAProtocol><Second/>",
	    "<CtxSTAProtocol><RequestData><Ticket>&undefined;</Ticket>"
	    "</RequestData></CtxSTAProtocol>",
	    "<CtxSTAProtocol><RequestData><Ticket>" TICKET
	    "</Ticket></RequestData>",
	    "{\"json\": true}",
	    "GET / HTTP/1.1\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_refused(bad[i], bad[i]);
}

/* Every proper prefix of a valid request is refused, and the parse of
 * each touches only its own bytes (the buffer is exactly that long). */
Test(sta_xml, truncated_at_every_length)
{
	size_t n = strlen(protocols_md_request), cut;
	struct hg_sta_xml_request r;
	char err[64];

	for (cut = 0; cut < n; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);

		cr_assert_not_null(p);
		memcpy(p, protocols_md_request, cut);
		/* the last newline is not needed */
		if (cut == n - 1)
			cr_assert_eq(
			    hg_sta_xml_parse(p, cut, &r, err, sizeof(err)), 0);
		else
			cr_assert_eq(
			    hg_sta_xml_parse(p, cut, &r, err, sizeof(err)), -1,
			    "cut %zu", cut);
		free(p);
	}
}

Test(sta_xml, nul_byte_refused)
{
	char doc[256];
	size_t n;
	struct hg_sta_xml_request r;

	n = (size_t)snprintf(doc, sizeof(doc),
			     "<CtxSTAProtocol><RequestData><Ticket>" TICKET
			     "</Ticket></RequestData></CtxSTAProtocol>");
	cr_assert_eq(hg_sta_xml_parse((uint8_t *)doc, n, &r, NULL, 0), 0);
	doc[20] = '\0';
	cr_assert_eq(hg_sta_xml_parse((uint8_t *)doc, n, &r, NULL, 0), -1);
}

/* 16 KiB is parsed, one byte more is not. */
Test(sta_xml, size_limit)
{
	static const char head[] =
	    "<CtxSTAProtocol><RequestData><Ticket>" TICKET
	    "</Ticket></RequestData><!--";
	static const char tail[] = "--></CtxSTAProtocol>";
	struct hg_sta_xml_request r;
	char err[64] = "";
	char *doc = malloc(HG_STA_XML_MAX + 2);
	size_t pad;

	cr_assert_not_null(doc);
	pad = HG_STA_XML_MAX - strlen(head) - strlen(tail);
	memcpy(doc, head, strlen(head));
	memset(doc + strlen(head), 'x', pad);
	memcpy(doc + strlen(head) + pad, tail, strlen(tail));
	cr_assert_eq(hg_sta_xml_parse((uint8_t *)doc, HG_STA_XML_MAX, &r, err,
				      sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(r.ticket, TICKET);
	memmove(doc + strlen(head) + 1, doc + strlen(head), pad + strlen(tail));
	cr_assert_eq(hg_sta_xml_parse((uint8_t *)doc, HG_STA_XML_MAX + 1, &r,
				      err, sizeof(err)),
		     -1);
	cr_assert_str_eq(err, "document too large");
	free(doc);
}

/* Reasons are ours: what the client sent never comes back in them. */
Test(sta_xml, reasons_do_not_echo)
{
	static const char *const docs[] = {
	    "<CtxSTAProtocol><RequestData><Ticket>MARKER</Ticket>"
	    "</RequestData></CtxSTAProtocol>",
	    "<MARKER/>",
	    "<CtxSTAProtocol><MARKER/></CtxSTAProtocol>",
	    "<CtxSTAProtocol><RequestTicket><TicketData><Value name="
	    "\"ICAAddress\">MARKER</Value></TicketData></RequestTicket>"
	    "</CtxSTAProtocol>",
	    "MARKER<",
	};
	struct hg_sta_xml_request r;
	char err[256], tiny[4];
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		memset(err, 0, sizeof(err));
		cr_assert_eq(parse(docs[i], &r, err, sizeof(err)), -1);
		cr_assert_gt(strlen(err), 0);
		cr_assert_null(strstr(err, "MARKER"), "'%s'", err);
	}
	/* a short buffer gets a terminated prefix; none at all is fine */
	cr_assert_eq(parse(docs[0], &r, tiny, sizeof(tiny)), -1);
	cr_assert_eq(strlen(tiny), sizeof(tiny) - 1);
	cr_assert_eq(parse(docs[0], &r, NULL, 0), -1);
}

/* The codec over a real store: a RequestTicket issues, the answer's
 * ticket redeemed through a RequestData gives the request's values. */
Test(sta_xml, with_the_store)
{
	struct hg_sta *s = hg_sta_new(AUTH, 16, 100);
	struct hg_sta_xml_request r;
	struct hg_sta_entry e, got, back;
	char ticket[HG_STA_TICKET_LEN + 1], a[HG_STA_AUTHORITY_MAX],
	    t[HG_STA_TICKET_LEN + 1];
	char *doc;
	unsigned v;

	cr_assert_not_null(s);
	assert_parses(protocols_md_request, &r);
	memset(&e, 0, sizeof(e));
	e.addr = r.ica_addr;
	e.port = r.ica_port;
	e.cgp_port = r.cgp_port;
	e.refreshable = r.refreshable;
	snprintf(e.user, sizeof(e.user), "%s", r.user);
	snprintf(e.domain, sizeof(e.domain), "%s", r.domain);
	snprintf(e.resource, sizeof(e.resource), "%s", r.application);
	snprintf(e.protocol, sizeof(e.protocol), "%s", r.protocol);
	cr_assert_eq(hg_sta_issue(s, &e, 1000, ticket), 0);

	doc = hg_sta_xml_ticket_response(hg_sta_authority(s), ticket, 40);
	cr_assert_eq(hg_sta_xml_parse_ticket_response((uint8_t *)doc,
						      strlen(doc), a, sizeof(a),
						      t, sizeof(t), &v),
		     0);
	hg_sta_xml_free(doc);

	doc = hg_sta_xml_data_request(a, t);
	assert_parses(doc, &r);
	hg_sta_xml_free(doc);
	cr_assert_str_eq(r.authority, hg_sta_authority(s));
	cr_assert_eq(
	    hg_sta_redeem_keep(s, r.ticket, strlen(r.ticket), 2000, &got), 0);
	cr_assert(got.refreshable);
	doc = hg_sta_xml_data_response(hg_sta_authority(s), &got);
	cr_assert_eq(
	    hg_sta_xml_parse_data_response((uint8_t *)doc, strlen(doc), &back),
	    0);
	hg_sta_xml_free(doc);
	assert_same_entry(&back, &e);
	cr_assert_str_eq(back.user, "alice");
	hg_sta_free(s);
}
