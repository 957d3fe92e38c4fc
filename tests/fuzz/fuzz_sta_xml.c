/* libFuzzer target: STA documents through the CtxSTAProtocol codec of
 * controlplane/sta_xml.h: the request parser (as a whole document and
 * as the escaped XData of a RequestTicket) and the two answer parsers of
 * the client side.
 *
 * Besides memory errors and leaks (ASan/UBSan/LSan), it abort()s when a
 * property that must hold for any input does not:
 * - a refused request leaves a reason and a wiped request;
 * - an accepted RequestData has a valid ticket and an empty or valid
 *   authority; an accepted RequestTicket has an ICA address and port,
 *   terminated user fields without control characters, and a CGP address
 *   exactly when a CGP port;
 * - what was accepted, written again by our builders, parses back to the
 *   same values (requests, ResponseData, ResponseTicket);
 * - a refused answer leaves the entry wiped; a ResponseTicket gives a
 *   valid authority and ticket and a version 1..999.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sta.h"
#include "sta_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* s[cap] is terminated and free of control characters. */
static bool field_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap), i;

	if (n == cap)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static int parse_doc(const char *doc, struct hg_sta_xml_request *r)
{
	return hg_sta_xml_parse((const uint8_t *)doc, strlen(doc), r, NULL, 0);
}

static void check_ticket_request(const struct hg_sta_xml_request *r)
{
	struct hg_sta_xml_request again;
	struct hg_sta_entry e;
	char *doc;

	check(r->ica_addr != 0 && r->ica_port != 0);
	check((r->cgp_addr != 0) == (r->cgp_port != 0));
	check(field_ok(r->user, sizeof(r->user)));
	check(field_ok(r->domain, sizeof(r->domain)));
	check(field_ok(r->application, sizeof(r->application)));
	check(field_ok(r->protocol, sizeof(r->protocol)));
	check(r->ticket[0] == '\0' && r->authority[0] == '\0');

	/* an entry has one host: written again only when CGP is on it */
	if (r->cgp_addr != 0 && r->cgp_addr != r->ica_addr)
		return;
	memset(&e, 0, sizeof(e));
	e.addr = r->ica_addr;
	e.port = r->ica_port;
	e.cgp_port = r->cgp_port;
	e.refreshable = r->refreshable;
	snprintf(e.user, sizeof(e.user), "%s", r->user);
	snprintf(e.domain, sizeof(e.domain), "%s", r->domain);
	snprintf(e.resource, sizeof(e.resource), "%s", r->application);
	snprintf(e.protocol, sizeof(e.protocol), "%s", r->protocol);
	doc = hg_sta_xml_ticket_request(&e);
	if (doc == NULL)
		return;
	check(parse_doc(doc, &again) == 0);
	hg_sta_xml_free(doc);
	check(again.kind == HG_STA_XML_REQUEST_TICKET);
	check(again.ica_addr == r->ica_addr && again.ica_port == r->ica_port);
	check(again.cgp_addr == r->cgp_addr && again.cgp_port == r->cgp_port);
	check(again.refreshable == r->refreshable);
	check(strcmp(again.user, r->user) == 0);
	check(strcmp(again.domain, r->domain) == 0);
	check(strcmp(again.application, r->application) == 0);
	check(strcmp(again.protocol, r->protocol) == 0);
}

static void check_data_request(const struct hg_sta_xml_request *r)
{
	struct hg_sta_xml_request again;
	char *doc;

	check(hg_sta_ticket_valid(r->ticket, strlen(r->ticket)));
	check(r->authority[0] == '\0' ||
	      hg_sta_authority_valid(r->authority, strlen(r->authority)));
	doc = hg_sta_xml_data_request(r->authority, r->ticket);
	if (doc == NULL)
		return;
	check(parse_doc(doc, &again) == 0);
	hg_sta_xml_free(doc);
	check(again.kind == HG_STA_XML_REQUEST_DATA);
	check(strcmp(again.ticket, r->ticket) == 0);
	check(strcmp(again.authority, r->authority) == 0);
}

static void check_request(const uint8_t *p, size_t len)
{
	struct hg_sta_xml_request r;
	char err[64];

	err[0] = '\0';
	if (hg_sta_xml_parse(p, len, &r, err, sizeof(err)) != 0) {
		check(err[0] != '\0');
		check(zero(&r, sizeof(r)));
		return;
	}
	check(r.kind == HG_STA_XML_REQUEST_TICKET ||
	      r.kind == HG_STA_XML_REQUEST_DATA);
	if (r.kind == HG_STA_XML_REQUEST_TICKET)
		check_ticket_request(&r);
	else
		check_data_request(&r);
}

/* The input as the XData of a RequestTicket (escaped once), so that the
 * inner parser sees it whole. */
static void check_as_xdata(const uint8_t *p, size_t len)
{
	static const char head[] = "<CtxSTAProtocol><RequestTicket><TicketData>"
				   "<Value name=\"ICAAddress\">10.0.0.1</Value>"
				   "<Value name=\"XData\">";
	static const char tail[] =
	    "</Value></TicketData></RequestTicket></CtxSTAProtocol>";
	char *doc, *q;
	size_t i;

	if (len > HG_STA_XML_MAX / 5)
		return;
	doc = malloc(sizeof(head) + 5 * len + sizeof(tail));
	if (doc == NULL)
		return;
	q = doc;
	memcpy(q, head, sizeof(head) - 1);
	q += sizeof(head) - 1;
	for (i = 0; i < len; i++) {
		if (p[i] == '<') {
			memcpy(q, "&lt;", 4);
			q += 4;
		} else if (p[i] == '&') {
			memcpy(q, "&amp;", 5);
			q += 5;
		} else {
			*q++ = (char)p[i];
		}
	}
	memcpy(q, tail, sizeof(tail) - 1);
	q += sizeof(tail) - 1;
	check_request((const uint8_t *)doc, (size_t)(q - doc));
	free(doc);
}

static void check_data_response(const uint8_t *p, size_t len)
{
	struct hg_sta_entry e, again;
	char *doc;
	int rc = hg_sta_xml_parse_data_response(p, len, &e);

	check(rc == 0 || rc == -1 || rc == -ENOENT);
	if (rc != 0) {
		check(zero(&e, sizeof(e)));
		return;
	}
	check(e.addr != 0 && e.port != 0 && !e.refreshable);
	check(field_ok(e.user, sizeof(e.user)));
	check(field_ok(e.domain, sizeof(e.domain)));
	check(field_ok(e.resource, sizeof(e.resource)));
	check(field_ok(e.protocol, sizeof(e.protocol)));
	doc = hg_sta_xml_data_response(NULL, &e);
	if (doc == NULL)
		return;
	check(hg_sta_xml_parse_data_response((const uint8_t *)doc, strlen(doc),
					     &again) == 0);
	hg_sta_xml_free(doc);
	check(again.addr == e.addr && again.port == e.port &&
	      again.cgp_port == e.cgp_port);
	check(strcmp(again.user, e.user) == 0);
	check(strcmp(again.domain, e.domain) == 0);
	check(strcmp(again.resource, e.resource) == 0);
	check(strcmp(again.protocol, e.protocol) == 0);
}

static void check_ticket_response(const uint8_t *p, size_t len)
{
	char a[HG_STA_AUTHORITY_MAX], t[HG_STA_TICKET_LEN + 1];
	char a2[HG_STA_AUTHORITY_MAX], t2[HG_STA_TICKET_LEN + 1];
	unsigned v = 0, v2 = 0;
	char *doc;

	if (hg_sta_xml_parse_ticket_response(p, len, a, sizeof(a), t, sizeof(t),
					     &v) != 0)
		return;
	check(hg_sta_authority_valid(a, strlen(a)));
	check(hg_sta_ticket_valid(t, strlen(t)));
	check(v >= 1 && v <= 999);
	doc = hg_sta_xml_ticket_response(a, t, v);
	if (doc == NULL)
		return;
	check(hg_sta_xml_parse_ticket_response((const uint8_t *)doc,
					       strlen(doc), a2, sizeof(a2), t2,
					       sizeof(t2), &v2) == 0);
	hg_sta_xml_free(doc);
	check(strcmp(a, a2) == 0 && strcmp(t, t2) == 0 && v == v2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_as_xdata(data, size);
	check_data_response(data, size);
	check_ticket_response(data, size);
	return 0;
}
