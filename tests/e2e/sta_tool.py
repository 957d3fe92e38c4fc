#!/usr/bin/env python3
"""A test Secure Ticket Authority and its clients, for the lab.

PROTOCOLS.md section 1: CtxSTAProtocol over HTTP, POST /scripts/ctxsta.dll,
text/xml. The documents have the layout controlplane/sta_xml.c builds and
parses (element names and order, the XML declaration, no DOCTYPE in
answers), so hopgate's remote STA client (controlplane/sta_remote.c) and
this server understand each other; each side is checked against the other.

  serve ADDRESS PORT AUTHORITY SECONDS
      An HTTP/1.1 STA on ADDRESS:PORT with authority ID AUTHORITY ("STA" and
      1..16 of [A-Z0-9]) for SECONDS (or until SIGTERM/SIGINT).
      RequestTicket: a ticket (32 upper-case hex from 16 random bytes) for
      its ICAAddress (port default 1494), its CGPAddress if any ("*" is the
      ICA host; port default 2598) and the user fields of XData's escaped
      CtxConnInfo or of plain Values (UserName, UserDomain,
      ApplicationName, Protocol), living 100 s; answered with
      ResponseTicket (TicketVersion 40, AuthorityID, Ticket).
      RequestData: single use; a live ticket (and, if the request names an
      AuthorityID, ours) is answered 200 with ResponseData (AuthorityID,
      TicketData: Values ICAAddress "a.b.c.d:port", CGPAddress if any, then
      the user fields that are not empty); otherwise 404 with ResponseError
      Code TicketNotFound, as hopgate's own STA answers.
      Malformed documents: 400 ResponseError BadRequest; another path: 404;
      another method: 405. One line per request on stdout (flushed):
        request=ticket|data|other result=issued|valid|notfound|bad
      and at the end:
        requests=N issued=N validated=N
      Tickets are never printed by the server.
  issue ADDRESS PORT ICAADDR USER
      Asks the STA at ADDRESS:PORT for a ticket for ICAADDR (a.b.c.d[:port])
      and USER (a RequestTicket as PROTOCOLS.md shows it, user in XData).
      Prints authority=STA... ticket=HEX version=N.
  validate ADDRESS PORT TICKET [AUTHORITY]
      Sends a RequestData. Prints result=valid ica=a.b.c.d:port
      cgp=a.b.c.d:port|- user=NAME, or result=notfound status=N.

Exit status: 0 the tool ran and printed its verdict (whatever it is); 1 the
peer could not be reached or broke the contract (a line error=... is
printed); 2 usage or local error. Every network operation of the clients
has a 20 s timeout.
"""
import http.client
import http.server
import re
import secrets
import signal
import sys
import threading
import time
import xml.etree.ElementTree as ET

PATH = "/scripts/ctxsta.dll"
LIFETIME_S = 100
TICKET_VERSION = 40
DOC_MAX = 16 * 1024  # as HG_STA_XML_MAX
TIMEOUT_S = 20
ICA_PORT = 1494
CGP_PORT = 2598
USER_FIELDS = ("UserName", "UserDomain", "ApplicationName", "Protocol")
AUTHORITY_RE = re.compile(r"STA[A-Z0-9]{1,16}\Z")
TICKET_RE = re.compile(r"[0-9A-F]{32}\Z")


class BadDocument(Exception):
    pass


# ---- the documents, as controlplane/sta_xml.c writes them

def esc(s):
    """XML character data (fit for attributes): & < > quotes escaped, tab
    and line ends as character references, other controls as '?'."""
    out = []
    for c in s:
        if c == "&":
            out.append("&amp;")
        elif c == "<":
            out.append("&lt;")
        elif c == ">":
            out.append("&gt;")
        elif c == '"':
            out.append("&quot;")
        elif c == "'":
            out.append("&apos;")
        elif c in "\t\n\r":
            out.append("&#%d;" % ord(c))
        elif ord(c) < 0x20:
            out.append("?")
        else:
            out.append(c)
    return "".join(out)


def doc(op, inner, doctype=False):
    head = '<?xml version="1.0"?>\n'
    if doctype:
        head += '<!DOCTYPE CtxSTAProtocol SYSTEM "CtxSTA.dtd">\n'
    return (head + '<CtxSTAProtocol version="4.0"><%s>%s</%s>'
            "</CtxSTAProtocol>\n" % (op, inner, op))


def elem(name, text):
    return "<%s>%s</%s>" % (name, esc(text), name)


def value(name, text):
    return '<Value name="%s">%s</Value>' % (esc(name), esc(text))


def addr_text(a):
    return "%s:%d" % a


def ticket_response(authority, ticket):
    return doc("ResponseTicket", elem("TicketVersion", str(TICKET_VERSION)) +
               elem("AuthorityID", authority) + elem("Ticket", ticket))


def data_response(authority, entry):
    values = value("ICAAddress", addr_text(entry["ica"]))
    if entry["cgp"] is not None:
        values += value("CGPAddress", addr_text(entry["cgp"]))
    for f in USER_FIELDS:
        if entry["user"].get(f):
            values += value(f, entry["user"][f])
    return doc("ResponseData", elem("AuthorityID", authority) +
               "<TicketData>" + values + "</TicketData>")


def error_response(code, message):
    return doc("ResponseError", elem("Code", code) + elem("Message", message))


def ticket_request(ica, user):
    """PROTOCOLS.md's RequestTicket, XData a CtxConnInfo escaped once."""
    xdata = ("<CtxConnInfo>" + elem("ServerAddress", ica) +
             elem("UserName", user) + elem("UserDomain", "") +
             elem("ApplicationName", "") + elem("Protocol", "") +
             "</CtxConnInfo>")
    return doc("RequestTicket",
               elem("AllowedTicketType", "STA-v4") +
               elem("AllowedAuthorityIDType", "STA-v1") +
               "<TicketData>" + value("ICAAddress", ica) +
               value("XData", xdata) + "</TicketData>"
               "<Control><Refreshable>false</Refreshable></Control>",
               doctype=True)


def data_request(ticket, authority=None):
    inner = elem("Ticket", ticket)
    if authority:
        inner += elem("AuthorityID", authority)
    return doc("RequestData", inner)


# ---- reading documents

def read_xml(raw):
    """A tree from bytes, refusing what sta_xml.c refuses: too large, NUL
    bytes, entity declarations, internal DTD subsets."""
    if not raw or len(raw) > DOC_MAX:
        raise BadDocument("empty or too large")
    if b"\0" in raw or b"<!ENTITY" in raw:
        raise BadDocument("NUL byte or entity declaration")
    m = re.search(rb"<!DOCTYPE[^>]*", raw)
    if m and b"[" in m.group(0):
        raise BadDocument("internal DTD subset")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as e:
        raise BadDocument("not well-formed: %s" % e)


def operation(root):
    if root.tag != "CtxSTAProtocol":
        raise BadDocument("root is not CtxSTAProtocol")
    ops = list(root)
    if len(ops) != 1:
        raise BadDocument("CtxSTAProtocol must hold one element")
    return ops[0]


def text(e):
    if len(e):
        raise BadDocument("markup inside a value")
    return (e.text or "").strip()


def parse_addr(s, defport, star_ok=False):
    """(host, port) from "a.b.c.d[:port]"; host None for "*"."""
    host, _, port = s.partition(":")
    if port:
        if not re.fullmatch(r"[1-9][0-9]{0,4}", port) or int(port) > 65535:
            raise BadDocument("bad port")
        p = int(port)
    else:
        p = defport
    if star_ok and host == "*":
        return (None, p)
    parts = host.split(".")
    if len(parts) != 4 or not all(
            re.fullmatch(r"0|[1-9][0-9]{0,2}", x) and int(x) < 256
            for x in parts) or host == "0.0.0.0":
        raise BadDocument("bad address")
    return (host, p)


def user_set(fields, name, v):
    if len(v) > 63 or any(ord(c) < 0x20 or c == "\x7f" for c in v):
        raise BadDocument("bad %s" % name)
    if fields.get(name) and fields[name] != v:
        raise BadDocument("conflicting %s" % name)
    fields[name] = v


def parse_ticket_request(op):
    """An entry {"ica", "cgp", "user"} from a RequestTicket."""
    ica = cgp = None
    user = {}
    for td in op.findall("TicketData"):
        for v in td.findall("Value"):
            name = v.get("name")
            if name is None:
                raise BadDocument("Value without a name")
            t = text(v)
            if name == "ICAAddress":
                ica = parse_addr(t, ICA_PORT)
            elif name == "CGPAddress":
                cgp = parse_addr(t, CGP_PORT, star_ok=True)
            elif name == "XData":
                info = read_xml(t.encode())
                if info.tag != "CtxConnInfo":
                    raise BadDocument("XData is not CtxConnInfo")
                for c in info:
                    if c.tag in USER_FIELDS:
                        user_set(user, c.tag, text(c))
            elif name in USER_FIELDS:
                user_set(user, name, t)
    if ica is None:
        raise BadDocument("no ICAAddress")
    if cgp is not None and cgp[0] is None:
        cgp = (ica[0], cgp[1])
    return {"ica": ica, "cgp": cgp, "user": user}


# ---- the server

class Sta:
    def __init__(self, authority):
        self.authority = authority
        self.lock = threading.Lock()
        self.tickets = {}  # ticket -> (expiry, entry)
        self.requests = self.issued = self.validated = 0

    def note(self, kind, result):
        with self.lock:
            self.requests += 1
            print("request=%s result=%s" % (kind, result), flush=True)

    def issue(self, entry):
        ticket = secrets.token_bytes(16).hex().upper()
        with self.lock:
            self.sweep()
            self.tickets[ticket] = (time.monotonic() + LIFETIME_S, entry)
            self.issued += 1
        return ticket

    def redeem(self, ticket):
        """The entry, deleted (single use), or None."""
        with self.lock:
            self.sweep()
            got = self.tickets.pop(ticket, None)
            if got is None:
                return None
            self.validated += 1
            return got[1]

    def sweep(self):
        now = time.monotonic()
        for t in [t for t, (exp, _) in self.tickets.items() if exp <= now]:
            del self.tickets[t]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sta_tool"
    sys_version = ""

    def log_message(self, *args):
        pass  # the per-request line is ours

    def answer(self, status, body, ctype="text/xml; charset=utf-8"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.server.sta.note("other", "bad")
        self.answer(405, "only POST\n", "text/plain")

    do_HEAD = do_PUT = do_DELETE = do_GET

    def do_POST(self):
        sta = self.server.sta
        if self.path != PATH:
            sta.note("other", "bad")
            self.answer(404, "not here\n", "text/plain")
            return
        n = self.headers.get("Content-Length")
        if n is None or not n.isdigit() or int(n) > DOC_MAX:
            sta.note("other", "bad")
            self.close_connection = True
            self.answer(400, error_response("BadRequest", "length"))
            return
        raw = self.rfile.read(int(n))
        kind = "other"
        try:
            op = operation(read_xml(raw))
            if op.tag == "RequestTicket":
                kind = "ticket"
                entry = parse_ticket_request(op)
                ticket = sta.issue(entry)
                self.answer(200, ticket_response(sta.authority, ticket))
                sta.note(kind, "issued")
            elif op.tag == "RequestData":
                kind = "data"
                self.request_data(op)
            else:
                raise BadDocument("unknown request")
        except BadDocument as e:
            sta.note(kind, "bad")
            self.answer(400, error_response("BadRequest", str(e)))

    def request_data(self, op):
        sta = self.server.sta
        tickets = op.findall("Ticket")
        auths = op.findall("AuthorityID")
        if len(tickets) != 1 or len(auths) > 1:
            raise BadDocument("one Ticket, at most one AuthorityID")
        ticket = text(tickets[0])
        if not TICKET_RE.match(ticket):
            raise BadDocument("bad Ticket")
        entry = None
        if not auths or text(auths[0]) == sta.authority:
            entry = sta.redeem(ticket)
        if entry is None:
            self.answer(404, error_response("TicketNotFound",
                                            "no such ticket"))
            sta.note("data", "notfound")
        else:
            self.answer(200, data_response(sta.authority, entry))
            sta.note("data", "valid")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(address, port, authority, seconds):
    if not AUTHORITY_RE.match(authority):
        print("error=bad authority ID", flush=True)
        return 2
    srv = Server((address, port), Handler)
    srv.sta = Sta(authority)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    t = threading.Thread(target=srv.serve_forever, args=(0.1,), daemon=True)
    t.start()
    stop.wait(seconds)
    srv.shutdown()
    srv.server_close()
    s = srv.sta
    with s.lock:
        print("requests=%d issued=%d validated=%d" %
              (s.requests, s.issued, s.validated), flush=True)
    return 0


# ---- the clients

def post(address, port, body):
    """(status, body bytes) of a POST to the STA."""
    c = http.client.HTTPConnection(address, port, timeout=TIMEOUT_S)
    try:
        c.request("POST", PATH, body=body.encode(),
                  headers={"Content-Type": "text/xml",
                           "Connection": "close"})
        r = c.getresponse()
        return r.status, r.read(DOC_MAX + 1)
    finally:
        c.close()


def issue(address, port, ica, user):
    try:
        parse_addr(ica, ICA_PORT)
    except BadDocument:
        return usage()
    status, raw = post(address, port, ticket_request(ica, user))
    op = operation(read_xml(raw))
    if status != 200 or op.tag != "ResponseTicket":
        print("error=status %d %s" % (status, op.tag), flush=True)
        return 1
    got = {c.tag: text(c) for c in op}
    auth, ticket = got.get("AuthorityID", ""), got.get("Ticket", "")
    version = got.get("TicketVersion", "")
    if not (AUTHORITY_RE.match(auth) and TICKET_RE.match(ticket) and
            version.isdigit()):
        print("error=incomplete ResponseTicket", flush=True)
        return 1
    print("authority=%s ticket=%s version=%s" % (auth, ticket, version),
          flush=True)
    return 0


def validate(address, port, ticket, authority):
    status, raw = post(address, port, data_request(ticket, authority))
    op = operation(read_xml(raw))
    if op.tag == "ResponseError":
        code = op.find("Code")
        if code is not None and text(code) == "TicketNotFound":
            print("result=notfound status=%d" % status, flush=True)
            return 0
    if status != 200 or op.tag != "ResponseData" or op.find(
            "TicketData") is None:
        print("error=status %d %s" % (status, op.tag), flush=True)
        return 1
    vals = {v.get("name"): text(v) for v in op.find("TicketData")}
    print("result=valid ica=%s cgp=%s user=%s" %
          (vals.get("ICAAddress", "-"), vals.get("CGPAddress", "-"),
           vals.get("UserName", "-")), flush=True)
    return 0


def usage():
    sys.stderr.write(__doc__)
    return 2


def main():
    a = sys.argv[1:]
    try:
        if len(a) == 5 and a[0] == "serve":
            return serve(a[1], int(a[2]), a[3], float(a[4]))
        if len(a) == 5 and a[0] == "issue":
            return issue(a[1], int(a[2]), a[3], a[4])
        if len(a) in (4, 5) and a[0] == "validate":
            return validate(a[1], int(a[2]), a[3],
                            a[4] if len(a) == 5 else None)
    except ValueError:
        return usage()
    except BadDocument as e:
        print("error=bad answer: %s" % e, flush=True)
        return 1
    except (OSError, http.client.HTTPException) as e:
        print("error=%s" % e, flush=True)
        return 1
    return usage()


if __name__ == "__main__":
    sys.exit(main())
