/* The CtxSTAProtocol codec on libxml2. See sta_xml.h for the contract.
 *
 * Every name the protocol uses is in the first block below: when real
 * traffic shows other spellings, this is the only place to change. */
#include "sta_xml.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* ---- the protocol's names (our reading where PROTOCOLS.md is silent) */
#define X_ROOT			       "CtxSTAProtocol"
#define X_VERSION_ATTR		       "version"
#define X_VERSION		       "4.0"
#define X_DOCTYPE		       "<!DOCTYPE CtxSTAProtocol SYSTEM \"CtxSTA.dtd\">"
#define X_REQUEST_TICKET	       "RequestTicket"
#define X_REQUEST_DATA		       "RequestData"
#define X_RESPONSE_TICKET	       "ResponseTicket"
#define X_RESPONSE_DATA		       "ResponseData"
#define X_RESPONSE_ERROR	       "ResponseError"
#define X_ALLOWED_TICKET_TYPE	       "AllowedTicketType"
#define X_ALLOWED_TICKET_TYPE_VALUE    "STA-v4"
#define X_ALLOWED_AUTHORITY_TYPE       "AllowedAuthorityIDType"
#define X_ALLOWED_AUTHORITY_TYPE_VALUE "STA-v1"
#define X_TICKET_DATA		       "TicketData"
#define X_VALUE			       "Value"
#define X_VALUE_NAME_ATTR	       "name"
#define X_CONTROL		       "Control"
#define X_REFRESHABLE		       "Refreshable"
#define X_TICKET		       "Ticket"
#define X_AUTHORITY		       "AuthorityID"
#define X_TICKET_VERSION	       "TicketVersion"
#define X_CODE			       "Code"
#define X_MESSAGE		       "Message"
#define X_CODE_NOT_FOUND	       "TicketNotFound"
/* Value names in TicketData, which are also the element names inside
 * XData's CtxConnInfo for the user fields. */
#define V_ICA_ADDRESS	 "ICAAddress"
#define V_CGP_ADDRESS	 "CGPAddress"
#define V_XDATA		 "XData"
#define V_USER		 "UserName"
#define V_DOMAIN	 "UserDomain"
#define V_APPLICATION	 "ApplicationName"
#define V_PROTOCOL	 "Protocol"
#define XD_ROOT		 "CtxConnInfo"
#define XD_SERVER	 "ServerAddress"
#define ICA_PORT_DEFAULT 1494
#define CGP_PORT_DEFAULT 2598
/* ---- end of the protocol's names */

/* No entity substitution (no XML_PARSE_NOENT), no DTD loading or
 * defaulting (no DTDLOAD, DTDATTR), no network; libxml2's messages are
 * not printed (they would echo input). The input is read as UTF-8
 * whatever it declares, so the byte scan for "<!ENTITY" below cannot be
 * dodged by another encoding. */
#define PARSE_OPTIONS                                                          \
	(XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |            \
	 XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC)

#define NAME(s) ((const xmlChar *)(s))

/* libxml2's global state, set up once whichever thread parses first
 * (after that, each parse uses only its own context). */
static void init_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, xmlInitParser);
}

/* ---- reading */

/* Wipes the text of every node under n (its copies of tickets), before
 * the tree is freed. */
static void wipe_tree(xmlNodePtr n)
{
	for (; n != NULL; n = n->next) {
		if ((n->type == XML_TEXT_NODE ||
		     n->type == XML_CDATA_SECTION_NODE) &&
		    n->content != NULL)
			explicit_bzero(n->content, strlen((char *)n->content));
		if (n->type == XML_ELEMENT_NODE)
			wipe_tree(n->children);
	}
}

static void doc_free(xmlDocPtr doc)
{
	if (doc == NULL)
		return;
	wipe_tree(doc->children);
	xmlFreeDoc(doc);
}

/* Only elements, text, CDATA, comments and processing instructions: an
 * entity reference or anything else is refused. */
static bool tree_plain(xmlNodePtr n)
{
	for (; n != NULL; n = n->next) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			if (!tree_plain(n->children))
				return false;
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
		case XML_COMMENT_NODE:
		case XML_PI_NODE:
			break;
		default:
			return false;
		}
	}
	return true;
}

/* p[0..len) as a tree with one root element, or NULL with *why set. */
static xmlDocPtr safe_read(const uint8_t *p, size_t len, const char **why)
{
	xmlDocPtr doc;
	xmlDtdPtr dtd;
	xmlNodePtr n;

	if (len == 0) {
		*why = "empty document";
		return NULL;
	}
	if (len > HG_STA_XML_MAX) {
		*why = "document too large";
		return NULL;
	}
	if (memchr(p, '\0', len) != NULL) {
		*why = "NUL byte in document";
		return NULL;
	}
	/* refused before libxml2 spends anything on expanding them */
	if (memmem(p, len, "<!ENTITY", 8) != NULL) {
		*why = "entity declarations refused";
		return NULL;
	}
	init_once();
	doc = xmlReadMemory((const char *)p, (int)len, NULL, "UTF-8",
			    PARSE_OPTIONS);
	if (doc == NULL) {
		*why = "not well-formed XML";
		return NULL;
	}
	dtd = doc->intSubset;
	if (doc->extSubset != NULL ||
	    (dtd != NULL &&
	     (dtd->children != NULL || dtd->entities != NULL ||
	      dtd->pentities != NULL || dtd->elements != NULL ||
	      dtd->attributes != NULL || dtd->notations != NULL))) {
		*why = "internal DTD subset refused";
		doc_free(doc);
		return NULL;
	}
	for (n = doc->children; n != NULL; n = n->next)
		if (n->type != XML_ELEMENT_NODE && n->type != XML_DTD_NODE &&
		    n->type != XML_COMMENT_NODE && n->type != XML_PI_NODE)
			break;
	if (n != NULL || !tree_plain(xmlDocGetRootElement(doc))) {
		*why = "entity references refused";
		doc_free(doc);
		return NULL;
	}
	return doc;
}

static bool is(xmlNodePtr n, const char *name)
{
	return n != NULL && n->type == XML_ELEMENT_NODE &&
	       xmlStrEqual(n->name, NAME(name));
}

/* The first element at or after n. */
static xmlNodePtr elem(xmlNodePtr n)
{
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

#define FOR_ELEMS(c, parent)                                                   \
	for ((c) = elem((parent)->children); (c) != NULL; (c) = elem((c)->next))

/* An element's text: s[0..len) with surrounding white space trimmed,
 * inside buf (which text_done wipes and frees). */
struct text {
	xmlChar *buf;
	const char *s;
	size_t len;
};

static void text_done(struct text *t)
{
	if (t->buf != NULL) {
		explicit_bzero(t->buf, strlen((char *)t->buf));
		xmlFree(t->buf);
	}
	memset(t, 0, sizeof(*t));
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* n's children must all be text or CDATA. */
static const char *text_get(xmlNodePtr n, struct text *t)
{
	xmlNodePtr c;

	memset(t, 0, sizeof(*t));
	for (c = n->children; c != NULL; c = c->next)
		if (c->type != XML_TEXT_NODE &&
		    c->type != XML_CDATA_SECTION_NODE)
			return "markup inside a value";
	t->buf = xmlNodeGetContent(n);
	if (t->buf == NULL)
		return "out of memory";
	t->s = (const char *)t->buf;
	t->len = strlen(t->s);
	while (t->len > 0 && space(t->s[0])) {
		t->s++;
		t->len--;
	}
	while (t->len > 0 && space(t->s[t->len - 1]))
		t->len--;
	return NULL;
}

static bool text_is(const struct text *t, const char *s)
{
	return t->len == strlen(s) && memcmp(t->s, s, t->len) == 0;
}

/* Copies t into dst[cap] as a user field: it fits, has no control
 * character, and agrees with what dst already holds (a field given both
 * in XData and as a Value). */
static const char *field_set(char *dst, size_t cap, const struct text *t)
{
	size_t i;

	if (t->len >= cap)
		return "value too long";
	for (i = 0; i < t->len; i++)
		if ((unsigned char)t->s[i] < 0x20 || t->s[i] == 0x7f)
			return "control character in a value";
	if (dst[0] != '\0') {
		if (strlen(dst) != t->len || memcmp(dst, t->s, t->len) != 0)
			return "conflicting values";
		return NULL;
	}
	memcpy(dst, t->s, t->len);
	dst[t->len] = '\0';
	return NULL;
}

/* 1..max decimal digits at s[0..len) without a leading zero (unless "0"),
 * at most top. */
static bool decimal(const char *s, size_t len, size_t max, unsigned top,
		    unsigned *v)
{
	unsigned x = 0;
	size_t i;

	if (len == 0 || len > max || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (unsigned)(s[i] - '0');
	}
	if (x > top)
		return false;
	*v = x;
	return true;
}

/* "a.b.c.d" (not 0.0.0.0), or "*" when star is not NULL, then optionally
 * ":port" (1..65535; defport if absent). */
static bool parse_addr(const char *s, size_t len, uint16_t defport,
		       uint32_t *addr, uint16_t *port, bool *star)
{
	const char *colon = memchr(s, ':', len);
	size_t hlen = colon != NULL ? (size_t)(colon - s) : len;
	size_t i, start = 0, part = 0;
	uint32_t a = 0;
	unsigned v;

	if (colon != NULL) {
		if (!decimal(colon + 1, len - hlen - 1, 5, 65535, &v) || v == 0)
			return false;
		*port = (uint16_t)v;
	} else {
		*port = defport;
	}
	if (star != NULL && hlen == 1 && s[0] == '*') {
		*star = true;
		*addr = 0;
		return true;
	}
	for (i = 0; i <= hlen; i++) {
		if (i < hlen && s[i] != '.')
			continue;
		if (part == 4 || !decimal(s + start, i - start, 3, 255, &v))
			return false;
		a = a << 8 | v;
		part++;
		start = i + 1;
	}
	if (part != 4 || a == 0)
		return false;
	if (star != NULL)
		*star = false;
	*addr = a;
	return true;
}

static const char *value_name(xmlNodePtr v, xmlChar **name)
{
	*name = xmlGetNoNsProp(v, NAME(X_VALUE_NAME_ATTR));
	return *name == NULL ? "Value without a name" : NULL;
}

/* The user fields of a request, wherever they come from. */
struct user_fields {
	char *user, *domain, *application, *protocol;
	size_t user_cap, domain_cap, application_cap, protocol_cap;
};

/* name: a user field's name; false when it is none of them. */
static bool user_field(const struct user_fields *u, const xmlChar *name,
		       const struct text *t, const char **why)
{
	if (xmlStrEqual(name, NAME(V_USER)))
		*why = field_set(u->user, u->user_cap, t);
	else if (xmlStrEqual(name, NAME(V_DOMAIN)))
		*why = field_set(u->domain, u->domain_cap, t);
	else if (xmlStrEqual(name, NAME(V_APPLICATION)))
		*why = field_set(u->application, u->application_cap, t);
	else if (xmlStrEqual(name, NAME(V_PROTOCOL)))
		*why = field_set(u->protocol, u->protocol_cap, t);
	else
		return false;
	return true;
}

/* XData's text, an escaped CtxConnInfo document. */
static const char *parse_xdata(const struct text *x,
			       const struct user_fields *u)
{
	const char *why = NULL;
	xmlDocPtr doc;
	xmlNodePtr root, c;
	struct text t;
	unsigned seen = 0, bit;
	int k;
	static const char *const once[] = {V_USER, V_DOMAIN, V_APPLICATION,
					   V_PROTOCOL, XD_SERVER};
	const int n_once = (int)(sizeof(once) / sizeof(once[0]));

	doc = safe_read((const uint8_t *)x->s, x->len, &why);
	if (doc == NULL)
		return why;
	root = xmlDocGetRootElement(doc);
	if (!is(root, XD_ROOT)) {
		doc_free(doc);
		return "XData is not CtxConnInfo";
	}
	FOR_ELEMS(c, root)
	{
		for (k = 0, bit = 0; k < n_once; k++)
			if (is(c, once[k]))
				bit = 1u << k;
		if (bit == 0)
			continue; /* unknown: ignored */
		if (seen & bit) {
			why = "XData field given twice";
			break;
		}
		seen |= bit;
		why = text_get(c, &t);
		if (why == NULL && !is(c, XD_SERVER))
			user_field(u, c->name, &t, &why);
		text_done(&t);
		if (why != NULL)
			break;
	}
	doc_free(doc);
	return why;
}

static const char *parse_bool(xmlNodePtr n, bool *b)
{
	struct text t;
	const char *why = text_get(n, &t);

	if (why == NULL) {
		if (text_is(&t, "true") || text_is(&t, "1"))
			*b = true;
		else if (text_is(&t, "false") || text_is(&t, "0"))
			*b = false;
		else
			why = "Refreshable is not a boolean";
	}
	text_done(&t);
	return why;
}

/* Seen-once bits of the Values of a TicketData. */
enum { SEEN_ICA = 1, SEEN_CGP = 2, SEEN_XDATA = 4 };

/* A Value of RequestTicket's TicketData. */
static const char *request_value(struct hg_sta_xml_request *r,
				 const struct user_fields *u, xmlNodePtr v,
				 unsigned *seen, bool *cgp_star)
{
	const char *why;
	xmlChar *name;
	struct text t;
	unsigned bit = 0;

	why = value_name(v, &name);
	if (why != NULL)
		return why;
	if (xmlStrEqual(name, NAME(V_ICA_ADDRESS)))
		bit = SEEN_ICA;
	else if (xmlStrEqual(name, NAME(V_CGP_ADDRESS)))
		bit = SEEN_CGP;
	else if (xmlStrEqual(name, NAME(V_XDATA)))
		bit = SEEN_XDATA;
	if (bit != 0 && (*seen & bit)) {
		xmlFree(name);
		return "Value given twice";
	}
	*seen |= bit;
	why = text_get(v, &t);
	if (why == NULL) {
		if (bit == SEEN_ICA) {
			if (!parse_addr(t.s, t.len, ICA_PORT_DEFAULT,
					&r->ica_addr, &r->ica_port, NULL))
				why = "bad ICAAddress";
		} else if (bit == SEEN_CGP) {
			if (!parse_addr(t.s, t.len, CGP_PORT_DEFAULT,
					&r->cgp_addr, &r->cgp_port, cgp_star))
				why = "bad CGPAddress";
		} else if (bit == SEEN_XDATA) {
			why = parse_xdata(&t, u);
		} else {
			/* a plain Value of a user field, or ignored */
			user_field(u, name, &t, &why);
		}
	}
	text_done(&t);
	xmlFree(name);
	return why;
}

static const char *parse_request_ticket(xmlNodePtr op,
					struct hg_sta_xml_request *r)
{
	const struct user_fields u = {
	    .user = r->user,
	    .domain = r->domain,
	    .application = r->application,
	    .protocol = r->protocol,
	    .user_cap = sizeof(r->user),
	    .domain_cap = sizeof(r->domain),
	    .application_cap = sizeof(r->application),
	    .protocol_cap = sizeof(r->protocol),
	};
	const char *why = NULL;
	xmlNodePtr c, v;
	bool data = false, control = false, refresh = false, cgp_star = false;
	unsigned seen = 0;

	r->kind = HG_STA_XML_REQUEST_TICKET;
	FOR_ELEMS(c, op)
	{
		if (is(c, X_TICKET_DATA)) {
			if (data)
				return "TicketData given twice";
			data = true;
			FOR_ELEMS(v, c)
			{
				if (!is(v, X_VALUE))
					continue;
				why = request_value(r, &u, v, &seen, &cgp_star);
				if (why != NULL)
					return why;
			}
		} else if (is(c, X_CONTROL)) {
			if (control)
				return "Control given twice";
			control = true;
			FOR_ELEMS(v, c)
			{
				if (!is(v, X_REFRESHABLE))
					continue;
				if (refresh)
					return "Refreshable given twice";
				refresh = true;
				why = parse_bool(v, &r->refreshable);
				if (why != NULL)
					return why;
			}
		}
		/* AllowedTicketType, AllowedAuthorityIDType and anything
		 * unknown: we issue one kind of ticket whatever is asked. */
	}
	if (!(seen & SEEN_ICA))
		return "no ICAAddress";
	if (cgp_star)
		r->cgp_addr = r->ica_addr;
	return NULL;
}

/* One text element of a response or RequestData, given at most once:
 * *t filled. */
static const char *once_text(xmlNodePtr c, struct text *t, bool *seen)
{
	if (*seen)
		return "element given twice";
	*seen = true;
	return text_get(c, t);
}

static const char *parse_request_data(xmlNodePtr op,
				      struct hg_sta_xml_request *r)
{
	const char *why = NULL;
	xmlNodePtr c;
	struct text t = {0};
	bool ticket = false, auth = false;

	r->kind = HG_STA_XML_REQUEST_DATA;
	FOR_ELEMS(c, op)
	{
		if (is(c, X_TICKET)) {
			why = once_text(c, &t, &ticket);
			if (why == NULL && !hg_sta_ticket_valid(t.s, t.len))
				why = "bad Ticket";
			if (why == NULL)
				memcpy(r->ticket, t.s, HG_STA_TICKET_LEN);
		} else if (is(c, X_AUTHORITY)) {
			why = once_text(c, &t, &auth);
			if (why == NULL && !hg_sta_authority_valid(t.s, t.len))
				why = "bad AuthorityID";
			if (why == NULL)
				memcpy(r->authority, t.s, t.len);
		}
		text_done(&t);
		if (why != NULL)
			return why;
	}
	return ticket ? NULL : "no Ticket";
}

/* The single element under the root CtxSTAProtocol of doc. */
static xmlNodePtr operation(xmlDocPtr doc, const char **why)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), op;

	if (!is(root, X_ROOT)) {
		*why = "root is not " X_ROOT;
		return NULL;
	}
	op = elem(root->children);
	if (op == NULL || elem(op->next) != NULL) {
		*why = X_ROOT " must hold one element";
		return NULL;
	}
	return op;
}

int hg_sta_xml_parse(const uint8_t *p, size_t len, struct hg_sta_xml_request *r,
		     char *err, size_t errlen)
{
	const char *why = NULL;
	xmlDocPtr doc;
	xmlNodePtr op;

	memset(r, 0, sizeof(*r));
	doc = safe_read(p, len, &why);
	if (doc != NULL) {
		op = operation(doc, &why);
		if (is(op, X_REQUEST_TICKET))
			why = parse_request_ticket(op, r);
		else if (is(op, X_REQUEST_DATA))
			why = parse_request_data(op, r);
		else if (op != NULL)
			why = "unknown request";
		doc_free(doc);
	}
	if (why == NULL)
		return 0;
	explicit_bzero(r, sizeof(*r));
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", why);
	return -1;
}

/* The TicketData of a ResponseData into e. */
static const char *data_values(xmlNodePtr td, struct hg_sta_entry *e)
{
	const struct user_fields u = {
	    .user = e->user,
	    .domain = e->domain,
	    .application = e->resource,
	    .protocol = e->protocol,
	    .user_cap = sizeof(e->user),
	    .domain_cap = sizeof(e->domain),
	    .application_cap = sizeof(e->resource),
	    .protocol_cap = sizeof(e->protocol),
	};
	const char *why = NULL;
	xmlNodePtr v;
	xmlChar *name;
	struct text t;
	uint32_t cgp_addr = 0;
	bool ica = false, cgp = false, star = false;

	FOR_ELEMS(v, td)
	{
		if (!is(v, X_VALUE))
			continue;
		why = value_name(v, &name);
		if (why != NULL)
			return why;
		why = text_get(v, &t);
		if (why == NULL && xmlStrEqual(name, NAME(V_ICA_ADDRESS))) {
			if (ica || !parse_addr(t.s, t.len, ICA_PORT_DEFAULT,
					       &e->addr, &e->port, NULL))
				why = "bad ICAAddress";
			ica = true;
		} else if (why == NULL &&
			   xmlStrEqual(name, NAME(V_CGP_ADDRESS))) {
			if (cgp || !parse_addr(t.s, t.len, CGP_PORT_DEFAULT,
					       &cgp_addr, &e->cgp_port, &star))
				why = "bad CGPAddress";
			cgp = true;
		} else if (why == NULL) {
			user_field(&u, name, &t, &why);
		}
		text_done(&t);
		xmlFree(name);
		if (why != NULL)
			return why;
	}
	if (!ica)
		return "no ICAAddress";
	/* the entry has one host: the CGP port is on the ICA server */
	if (cgp && !star && cgp_addr != e->addr)
		return "CGPAddress on another host";
	return NULL;
}

/* A ResponseError's Code is TicketNotFound. */
static bool not_found(xmlNodePtr op)
{
	xmlNodePtr c;
	struct text t;
	bool yes = false;

	FOR_ELEMS(c, op)
	{
		if (!is(c, X_CODE))
			continue;
		if (text_get(c, &t) == NULL)
			yes = text_is(&t, X_CODE_NOT_FOUND);
		text_done(&t);
		break;
	}
	return yes;
}

int hg_sta_xml_parse_data_response(const uint8_t *p, size_t len,
				   struct hg_sta_entry *e)
{
	const char *why = NULL;
	xmlDocPtr doc;
	xmlNodePtr op, c, td = NULL;
	int rc = -1;

	memset(e, 0, sizeof(*e));
	doc = safe_read(p, len, &why);
	if (doc == NULL)
		return -1;
	op = operation(doc, &why);
	if (is(op, X_RESPONSE_ERROR)) {
		rc = not_found(op) ? -ENOENT : -1;
	} else if (is(op, X_RESPONSE_DATA)) {
		FOR_ELEMS(c, op)
		{
			if (!is(c, X_TICKET_DATA))
				continue;
			if (td != NULL) {
				td = NULL;
				break;
			}
			td = c;
		}
		if (td != NULL && data_values(td, e) == NULL)
			rc = 0;
	}
	doc_free(doc);
	if (rc != 0)
		explicit_bzero(e, sizeof(*e));
	return rc;
}

/* What a ResponseTicket holds, while it is read. */
struct ticket_answer {
	char authority[HG_STA_AUTHORITY_MAX];
	char ticket[HG_STA_TICKET_LEN + 1];
	unsigned version;
	bool has_version, has_authority, has_ticket;
};

static const char *ticket_answer_elem(xmlNodePtr c, struct ticket_answer *a)
{
	const char *why = NULL;
	struct text t = {0};

	if (is(c, X_TICKET_VERSION)) {
		why = once_text(c, &t, &a->has_version);
		if (why == NULL && (!decimal(t.s, t.len, 3, 999, &a->version) ||
				    a->version == 0))
			why = "bad TicketVersion";
	} else if (is(c, X_AUTHORITY)) {
		why = once_text(c, &t, &a->has_authority);
		if (why == NULL && !hg_sta_authority_valid(t.s, t.len))
			why = "bad AuthorityID";
		if (why == NULL)
			memcpy(a->authority, t.s, t.len);
	} else if (is(c, X_TICKET)) {
		why = once_text(c, &t, &a->has_ticket);
		if (why == NULL && !hg_sta_ticket_valid(t.s, t.len))
			why = "bad Ticket";
		if (why == NULL)
			memcpy(a->ticket, t.s, HG_STA_TICKET_LEN);
	}
	text_done(&t);
	return why;
}

int hg_sta_xml_parse_ticket_response(const uint8_t *p, size_t len,
				     char *authority, size_t alen, char *ticket,
				     size_t tlen, unsigned *version)
{
	const char *why = NULL;
	struct ticket_answer a;
	xmlDocPtr doc;
	xmlNodePtr op, c;

	memset(&a, 0, sizeof(a));
	doc = safe_read(p, len, &why);
	if (doc == NULL)
		return -1;
	op = operation(doc, &why);
	if (is(op, X_RESPONSE_TICKET)) {
		FOR_ELEMS(c, op)
		{
			why = ticket_answer_elem(c, &a);
			if (why != NULL)
				break;
		}
	} else {
		why = "not a ResponseTicket";
	}
	doc_free(doc);
	if (why == NULL &&
	    (!a.has_version || !a.has_authority || !a.has_ticket ||
	     alen <= strlen(a.authority) || tlen <= HG_STA_TICKET_LEN))
		why = "incomplete ResponseTicket";
	if (why == NULL) {
		memcpy(authority, a.authority, strlen(a.authority) + 1);
		memcpy(ticket, a.ticket, sizeof(a.ticket));
		*version = a.version;
	}
	explicit_bzero(&a, sizeof(a));
	return why == NULL ? 0 : -1;
}

/* ---- writing */

/* A growing document; a failed allocation poisons it. Each buffer it
 * leaves behind is wiped (it may hold a ticket). */
struct out {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct out *o, const char *s, size_t n)
{
	char *q;
	size_t cap;

	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		cap = o->cap ? o->cap : 512;
		while (cap < o->len + n + 1)
			cap *= 2;
		q = malloc(cap);
		if (q == NULL) {
			o->failed = true;
			return;
		}
		if (o->p != NULL) {
			memcpy(q, o->p, o->len);
			explicit_bzero(o->p, o->cap);
			free(o->p);
		}
		o->p = q;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* The length of a valid UTF-8 sequence of 2..4 bytes at p[0..left) that
 * XML can carry, or 0. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n, i;
	uint32_t cp;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
	    cp == 0xffff)
		return 0;
	return n;
}

/* What an ASCII byte becomes in XML character data (fit for attribute
 * values too): an escape, "?" for a control character XML 1.0 cannot
 * carry, or NULL for itself. */
static const char *ascii_escape(unsigned char c)
{
	static const struct {
		char c;
		const char *esc;
	} table[] = {
	    {'&', "&amp;"},   {'<', "&lt;"},  {'>', "&gt;"},   {'"', "&quot;"},
	    {'\'', "&apos;"}, {'\t', "&#9;"}, {'\n', "&#10;"}, {'\r', "&#13;"},
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (c == (unsigned char)table[i].c)
			return table[i].esc;
	return c < 0x20 ? "?" : NULL;
}

/* s[0..len) escaped; a byte that is not valid UTF-8 becomes '?'. */
static void put_esc_n(struct out *o, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *rep;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] >= 0x80) {
			n = utf8_seq(p + i, len - i);
			if (n == 0) {
				put(o, "?", 1);
				i++;
			} else {
				put(o, s + i, n);
				i += n;
			}
			continue;
		}
		rep = ascii_escape(p[i]);
		if (rep != NULL)
			puts_(o, rep);
		else
			put(o, s + i, 1);
		i++;
	}
}

static void put_esc(struct out *o, const char *s)
{
	if (s != NULL)
		put_esc_n(o, s, strlen(s));
}

/* An entry's string field f[cap]: up to its NUL, or its first cap - 1
 * bytes if it has none (as the store terminates it). */
static size_t field_len(const char *f, size_t cap)
{
	size_t n = strnlen(f, cap);

	return n == cap ? cap - 1 : n;
}

static void put_elem_n(struct out *o, const char *name, const char *text,
		       size_t len)
{
	puts_(o, "<");
	puts_(o, name);
	puts_(o, ">");
	put_esc_n(o, text, len);
	puts_(o, "</");
	puts_(o, name);
	puts_(o, ">");
}

static void put_elem(struct out *o, const char *name, const char *text)
{
	put_elem_n(o, name, text ? text : "", text ? strlen(text) : 0);
}

static void put_value_n(struct out *o, const char *name, const char *text,
			size_t len)
{
	puts_(o, "<" X_VALUE " " X_VALUE_NAME_ATTR "=\"");
	put_esc(o, name);
	puts_(o, "\">");
	put_esc_n(o, text, len);
	puts_(o, "</" X_VALUE ">");
}

static void put_value(struct out *o, const char *name, const char *text)
{
	put_value_n(o, name, text, strlen(text));
}

static void put_addr(struct out *o, const char *name, uint32_t a, uint16_t port)
{
	char s[32];

	snprintf(s, sizeof(s), "%u.%u.%u.%u:%u", a >> 24, a >> 16 & 0xff,
		 a >> 8 & 0xff, a & 0xff, port);
	put_value(o, name, s);
}

static void open_doc(struct out *o, bool doctype, const char *op)
{
	puts_(o, "<?xml version=\"1.0\"?>\n");
	if (doctype)
		puts_(o, X_DOCTYPE "\n");
	puts_(o, "<" X_ROOT " " X_VERSION_ATTR "=\"" X_VERSION "\"><");
	puts_(o, op);
	puts_(o, ">");
}

static char *close_doc(struct out *o, const char *op)
{
	puts_(o, "</");
	puts_(o, op);
	puts_(o, "></" X_ROOT ">\n");
	if (o->failed) {
		if (o->p != NULL) {
			explicit_bzero(o->p, o->cap);
			free(o->p);
		}
		return NULL;
	}
	return o->p;
}

void hg_sta_xml_free(char *doc)
{
	if (doc == NULL)
		return;
	explicit_bzero(doc, strlen(doc));
	free(doc);
}

char *hg_sta_xml_ticket_response(const char *authority, const char *ticket,
				 unsigned version)
{
	struct out o = {0};
	char v[16];

	snprintf(v, sizeof(v), "%u", version);
	open_doc(&o, false, X_RESPONSE_TICKET);
	put_elem(&o, X_TICKET_VERSION, v);
	put_elem(&o, X_AUTHORITY, authority);
	put_elem(&o, X_TICKET, ticket);
	return close_doc(&o, X_RESPONSE_TICKET);
}

/* An entry's user fields with their names, in the order they are sent. */
struct named_field {
	const char *name;
	const char *val;
	size_t cap;
};

static void user_fields_of(const struct hg_sta_entry *e,
			   struct named_field f[4])
{
	f[0] = (struct named_field){V_USER, e->user, sizeof(e->user)};
	f[1] = (struct named_field){V_DOMAIN, e->domain, sizeof(e->domain)};
	f[2] = (struct named_field){V_APPLICATION, e->resource,
				    sizeof(e->resource)};
	f[3] =
	    (struct named_field){V_PROTOCOL, e->protocol, sizeof(e->protocol)};
}

/* The user fields as Values, those not empty. */
static void put_user_values(struct out *o, const struct hg_sta_entry *e)
{
	struct named_field f[4];
	size_t i, n;

	user_fields_of(e, f);
	for (i = 0; i < 4; i++) {
		n = field_len(f[i].val, f[i].cap);
		if (n > 0)
			put_value_n(o, f[i].name, f[i].val, n);
	}
}

char *hg_sta_xml_data_response(const char *authority,
			       const struct hg_sta_entry *e)
{
	struct out o = {0};

	open_doc(&o, false, X_RESPONSE_DATA);
	if (authority != NULL && authority[0] != '\0')
		put_elem(&o, X_AUTHORITY, authority);
	puts_(&o, "<" X_TICKET_DATA ">");
	put_addr(&o, V_ICA_ADDRESS, e->addr, e->port);
	if (e->cgp_port != 0)
		put_addr(&o, V_CGP_ADDRESS, e->addr, e->cgp_port);
	put_user_values(&o, e);
	puts_(&o, "</" X_TICKET_DATA ">");
	return close_doc(&o, X_RESPONSE_DATA);
}

char *hg_sta_xml_error_response(const char *code, const char *message)
{
	struct out o = {0};

	open_doc(&o, false, X_RESPONSE_ERROR);
	put_elem(&o, X_CODE, code);
	put_elem(&o, X_MESSAGE, message);
	return close_doc(&o, X_RESPONSE_ERROR);
}

char *hg_sta_xml_data_request(const char *authority, const char *ticket)
{
	struct out o = {0};

	open_doc(&o, false, X_REQUEST_DATA);
	put_elem(&o, X_TICKET, ticket);
	if (authority != NULL && authority[0] != '\0')
		put_elem(&o, X_AUTHORITY, authority);
	return close_doc(&o, X_REQUEST_DATA);
}

char *hg_sta_xml_ticket_request(const struct hg_sta_entry *e)
{
	struct out o = {0}, x = {0};
	struct named_field f[4];
	char server[32];
	uint32_t a = e->addr;
	size_t i;

	/* XData: a CtxConnInfo document, escaped once more as a Value */
	snprintf(server, sizeof(server), "%u.%u.%u.%u:%u", a >> 24,
		 a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff, e->port);
	puts_(&x, "<" XD_ROOT ">");
	put_elem(&x, XD_SERVER, server);
	user_fields_of(e, f);
	for (i = 0; i < 4; i++)
		put_elem_n(&x, f[i].name, f[i].val,
			   field_len(f[i].val, f[i].cap));
	puts_(&x, "</" XD_ROOT ">");

	open_doc(&o, true, X_REQUEST_TICKET);
	put_elem(&o, X_ALLOWED_TICKET_TYPE, X_ALLOWED_TICKET_TYPE_VALUE);
	put_elem(&o, X_ALLOWED_AUTHORITY_TYPE, X_ALLOWED_AUTHORITY_TYPE_VALUE);
	puts_(&o, "<" X_TICKET_DATA ">");
	put_addr(&o, V_ICA_ADDRESS, e->addr, e->port);
	if (e->cgp_port != 0)
		put_addr(&o, V_CGP_ADDRESS, e->addr, e->cgp_port);
	if (x.failed)
		o.failed = true;
	else
		put_value(&o, V_XDATA, x.p);
	puts_(&o, "</" X_TICKET_DATA "><" X_CONTROL "><" X_REFRESHABLE ">");
	puts_(&o, e->refreshable ? "true" : "false");
	puts_(&o, "</" X_REFRESHABLE "></" X_CONTROL ">");
	if (x.p != NULL) {
		explicit_bzero(x.p, x.cap);
		free(x.p);
	}
	return close_doc(&o, X_REQUEST_TICKET);
}
