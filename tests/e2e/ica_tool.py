#!/usr/bin/env python3
"""A test ICA server, ICA client and portal client for the lab.

PROTOCOLS.md sections 2 and 3: SOCKS v5 or CGP after TLS, the ICA detect
string, the ICA file. Every network operation has a timeout (20 s).

  server PORT SECONDS [cgp]
      Accepts connections on 0.0.0.0:PORT for SECONDS. Plain: sends the ICA
      detect string 7F 7F 'ICA' 00, expects the same 6 bytes back, then
      echoes. With cgp: the connection must first carry "\\x1aCGP/01" and a
      BIND_REQUEST holding an STA security ticket (capability 6); answered
      with "\\x1aCGP/01" + BIND_RESPONSE status 0, then as plain. A bad bind
      is answered with FINISH_REQUEST and closed.
  both PORT CGPPORT SECONDS
      One process serving plain ICA on PORT and CGP on CGPPORT.
      Servers print, after each accepted and each finished connection, when
      SECONDS are over and on SIGTERM/SIGINT, one line:
        connections=N detected=N cgp_binds=N cgp_bad=N peers=a,b tickets=t,u
      (tickets: the Address values carried by accepted binds, in order).
  client HOST PORT CAFILE NAME DEST BYTES [nogreeting]
      TLS to HOST:PORT (server name NAME), a SOCKS v5 greeting (unless
      nogreeting) and CONNECT whose destination is DEST (an ICA file's
      Address value), port 1494; on success the detect exchange, then BYTES
      echoed through. Prints result=relayed|refused|closed rep=N
      sent_sha=... received_sha=... received=N.
  cgpclient HOST PORT CAFILE NAME ADDRESS BYTES [extracap]
      TLS, "\\x1aCGP/01" + BIND_REQUEST with ADDRESS as the STA ticket in one
      write (extracap: an unknown 150-byte capability first, which makes
      the packet length a two-byte varlen); BIND_RESPONSE status 0 ->
      result=relayed, the detect exchange and BYTES echoed; FINISH_REQUEST
      or a close -> result=refused rep=finish|close|N reason=N closed=0|1.
  portal HOST PORT CAFILE NAME USER PASSWORD RESOURCE OUTFILE [logout]
      HTTPS to HOST:PORT with server name NAME: GET /, POST /login, GET
      /resources. Prints
        login=ok|refused|error status=N resources=a,b cookie_flags=...
      (status: the POST /login answer's). With RESOURCE other than "-",
      GET /launch/RESOURCE.ica into OUTFILE and a second line
        ica=ok status=200 address=... proxy=host:port has_internal=yes|no
      or ica=refused|badtype status=N. With logout, a last line
        logout=ok|failed status=N cleared=yes|no after=N
      (after: the status of /resources with the old cookie).
  launch HOST PORT CAFILE NAME USER PASSWORD RESOURCE BYTES socks|cgp
      portal login, the ICA file, then TLS to HOST at the port of its
      SSLProxyHost (server name: its host), the Address value through SOCKS
      v5 or CGP, detect, BYTES echoed. Prints the client line followed by
      ica_has_internal=yes|no; if the portal refused: result=portal_refused
      stage=login|resources|ica status=N.

Exit status: 0 the tool ran and printed its verdict (whatever it is); 1 the
peer could not be reached or broke the contract (a line with error=... is
printed); 2 usage or local error.
"""
import configparser
import hashlib
import html.parser
import http.client
import os
import re
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse

DETECT = b"\x7f\x7fICA\x00"
CGP_MAGIC = b"\x1aCGP/01"
CGP_BIND_REQUEST = 0x01
CGP_BIND_RESPONSE = 0x02
CGP_FINISH_REQUEST = 0x03
CAP_SECURITY_TICKET = 6
TICKET_TYPE_STA = 0
TIMEOUT = 20
ICA_PORT = 1494
MAX_BODY = 1 << 20
IPV4_RE = re.compile(
    r"(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?![0-9])")


class UsageError(Exception):
    """Bad arguments or a local problem: exit 2."""


class PeerError(Exception):
    """The peer is unreachable or broke the contract: exit 1."""


def recv_upto(s, n):
    """Up to n bytes: fewer only when the peer closed first."""
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            break
        buf += b
    return buf


def recv_exact(s, n):
    buf = recv_upto(s, n)
    if len(buf) < n:
        raise EOFError
    return buf


# --- CGP framing -----------------------------------------------------------

def varlen(v):
    """The CGP length encoding: one byte below 128, else two."""
    if v < 0 or v >= 1 << 15:
        raise ValueError("varlen out of range: %d" % v)
    if v < 128:
        return bytes([v])
    return bytes([(v & 0x7F) | 0x80, v >> 7])


def take_varlen(buf, pos):
    """(value, next position) of the varlen at buf[pos:]. Raises
    IndexError when buf ends inside it (need more) and ValueError when it is
    not the canonical encoding (bad)."""
    b0 = buf[pos]
    if not b0 & 0x80:
        return b0, pos + 1
    b1 = buf[pos + 1]
    v = (b0 & 0x7F) | (b1 << 7)
    if v < 128:
        raise ValueError("non-canonical varlen")
    return v, pos + 2


def cgp_packet(cmd, payload=b""):
    return varlen(1 + len(payload)) + bytes([cmd]) + payload


def cgp_capability(cap_id, body):
    inner = struct.pack("<H", cap_id) + body
    return varlen(len(inner)) + inner


def bind_request(ticket, extra_capability=False):
    """CGP_MAGIC and a BIND_REQUEST carrying TICKET (text) as an STA
    security ticket, ready for one write."""
    t = ticket.encode()
    caps = b""
    if extra_capability:
        caps += cgp_capability(0x7F01, bytes(range(150)))
    caps += cgp_capability(CAP_SECURITY_TICKET,
                           bytes([TICKET_TYPE_STA]) + varlen(len(t)) + t)
    return CGP_MAGIC + cgp_packet(CGP_BIND_REQUEST, caps)


def parse_capabilities(payload):
    """[(id, body)] of a BIND_REQUEST payload; ValueError when a
    capability runs past the payload or is shorter than its id."""
    caps = []
    pos = 0
    try:
        while pos < len(payload):
            n, pos = take_varlen(payload, pos)
            if n < 2 or pos + n > len(payload):
                raise ValueError("capability length %d" % n)
            cap_id = struct.unpack_from("<H", payload, pos)[0]
            caps.append((cap_id, payload[pos + 2:pos + n]))
            pos += n
    except IndexError:
        raise ValueError("capability varlen cut short") from None
    return caps


def parse_sta_ticket(body):
    """The ticket text of a security-ticket capability body."""
    try:
        if body[0] != TICKET_TYPE_STA:
            raise ValueError("ticket type %d" % body[0])
        t, pos = take_varlen(body, 1)
    except IndexError:
        raise ValueError("ticket capability cut short") from None
    if pos + t != len(body):
        raise ValueError("ticket length %d in a body of %d" % (t, len(body)))
    return body[pos:].decode("ascii")


def read_cgp_packet(s):
    """(cmd, payload) of the next CGP packet on socket s."""
    b0 = recv_exact(s, 1)
    head = b0 + (recv_exact(s, 1) if b0[0] & 0x80 else b"")
    n, _ = take_varlen(head, 0)
    if n < 1:
        raise ValueError("empty CGP packet")
    body = recv_exact(s, n)
    return body[0], body[1:]


# --- server ----------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.RLock()
        self.connections = 0
        self.detected = 0
        self.cgp_binds = 0
        self.cgp_bad = 0
        self.peers = set()
        self.tickets = []

    def add(self, key, n=1):
        with self.lock:
            setattr(self, key, getattr(self, key) + n)

    def line(self):
        with self.lock:
            return ("connections=%d detected=%d cgp_binds=%d cgp_bad=%d "
                    "peers=%s tickets=%s" % (
                        self.connections, self.detected, self.cgp_binds,
                        self.cgp_bad, ",".join(sorted(self.peers)),
                        ",".join(self.tickets)))

    def emit(self):
        with self.lock:
            sys.stdout.write(self.line() + "\n")
            sys.stdout.flush()


def cgp_accept_bind(c, stats):
    """Reads the magic and a BIND_REQUEST; answers it. True when bound."""
    try:
        if recv_exact(c, len(CGP_MAGIC)) != CGP_MAGIC:
            raise ValueError("no CGP magic")
        cmd, payload = read_cgp_packet(c)
        if cmd != CGP_BIND_REQUEST:
            raise ValueError("command %d instead of BIND_REQUEST" % cmd)
        tickets = [parse_sta_ticket(body)
                   for cap_id, body in parse_capabilities(payload)
                   if cap_id == CAP_SECURITY_TICKET]
        if len(tickets) != 1:
            raise ValueError("%d security tickets" % len(tickets))
    except (ValueError, UnicodeDecodeError) as e:
        stats.add("cgp_bad")
        sys.stderr.write("cgp: bad bind: %s\n" % e)
        try:
            c.sendall(CGP_MAGIC + cgp_packet(CGP_FINISH_REQUEST, b"\x01"))
        except OSError:
            pass
        return False
    c.sendall(CGP_MAGIC + cgp_packet(CGP_BIND_RESPONSE, b"\x00"))
    with stats.lock:
        stats.cgp_binds += 1
        stats.tickets.append(re.sub(r"[\s,=]", "?", tickets[0]))
    return True


def serve_connection(c, cgp, stats):
    try:
        c.settimeout(60)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if cgp and not cgp_accept_bind(c, stats):
            return
        c.sendall(DETECT)
        if recv_exact(c, 6) != DETECT:
            return
        stats.add("detected")
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except (OSError, EOFError):
        pass
    finally:
        c.close()
        stats.emit()


def listener(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(64)
    return ls


def serve(ports, seconds):
    """ports: {port: is_cgp}. Serves until SECONDS pass or SIGTERM."""
    stats = Stats()
    try:
        listeners = {listener(p): cgp for p, cgp in ports.items()}
    except OSError as e:
        raise UsageError("listen: %s" % e) from None
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    end = time.monotonic() + float(seconds)
    while not stop.is_set() and time.monotonic() < end:
        ready, _, _ = select.select(list(listeners), [], [], 0.2)
        for ls in ready:
            try:
                c, peer = ls.accept()
            except OSError:
                continue
            with stats.lock:
                stats.connections += 1
                stats.peers.add(peer[0])
            stats.emit()
            threading.Thread(target=serve_connection,
                             args=(c, listeners[ls], stats),
                             daemon=True).start()
    stats.emit()
    os._exit(0)


# --- ICA clients -----------------------------------------------------------

def tls_connect(host, port, cafile, name):
    try:
        ctx = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as e:
        raise UsageError("CA file %s: %s" % (cafile, e)) from None
    try:
        raw = socket.create_connection((host, int(port)), timeout=TIMEOUT)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as e:
        raise PeerError("result=closed rep=none error=connect:%s" %
                        type(e).__name__) from None
    try:
        return ctx.wrap_socket(raw, server_hostname=name)
    except (OSError, ssl.SSLError) as e:
        raw.close()
        reason = getattr(e, "reason", None) or type(e).__name__
        raise PeerError("result=closed rep=none error=tls:%s" %
                        str(reason).replace(" ", "_")) from None


def closed_after(s):
    """True when the peer closes (or resets) within a second."""
    try:
        s.settimeout(1)
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except (OSError, ssl.SSLError):
        return True


def detect_and_echo(s, nbytes):
    """The detect exchange, then nbytes echoed; returns the result line."""
    try:
        if recv_exact(s, 6) != DETECT:
            return "result=closed rep=0 detect=bad"
        s.sendall(DETECT)
    except (EOFError, OSError, ssl.SSLError):
        return "result=closed rep=0 detect=none"
    got, sent_sha, received_sha, error = echo(s, int(nbytes))
    s.close()
    return "result=relayed rep=0 received=%d sent_sha=%s received_sha=%s%s" % (
        got, sent_sha, received_sha, error)


def echo(s, n):
    """Sends n random bytes and reads their echo, at most WINDOW of them in
    flight. One thread, non-blocking (an SSL socket is not safe to read and
    write from two threads at once); a window rather than lockstep so that a
    relay holding back a small segment (Nagle) costs one delay, not one per
    chunk. Returns (received, sent SHA-256, received SHA-256, error text)."""
    window = 1 << 20
    src = hashlib.sha256()
    dst = hashlib.sha256()
    block = os.urandom(16384)
    got = 0
    sent = 0
    chunk = None
    error = ""
    s.setblocking(False)
    try:
        while got < n:
            want_write = chunk is not None or (sent < n and
                                               sent - got < window)
            r, w, _ = select.select([s], [s] if want_write else [], [],
                                    TIMEOUT)
            if not r and not w:
                error = " error=timeout"
                break
            while True:
                try:
                    b = s.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                        BlockingIOError):
                    break
                if not b:
                    raise EOFError
                dst.update(b)
                got += len(b)
            if want_write and w:
                if chunk is None:
                    chunk = block[:min(len(block), n - sent)]
                try:
                    s.send(chunk)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError,
                        BlockingIOError):
                    continue
                src.update(chunk)
                sent += len(chunk)
                chunk = None
            if got > sent:
                error = " error=more_than_sent"
                break
    except EOFError:
        error = " error=eof"
    except (OSError, ssl.SSLError) as e:
        error = " error=%s" % type(e).__name__
    return got, src.hexdigest(), dst.hexdigest(), error


def socks_flow(s, dest, nbytes, greeting=True):
    d = dest.encode()
    if len(d) > 255:
        raise UsageError("SOCKS destination longer than 255 bytes")
    req = b"\x05\x01\x00\x03" + bytes([len(d)]) + d + struct.pack("!H", ICA_PORT)
    try:
        if greeting:
            s.sendall(b"\x05\x02\x00\x02")
            if recv_exact(s, 2) != b"\x05\x00":
                return "result=refused rep=method"
        s.sendall(req)
        rep = recv_exact(s, 10)
    except (EOFError, OSError, ssl.SSLError):
        return "result=closed rep=none"
    if rep[1] != 0:
        return "result=refused rep=%d closed=%d" % (rep[1],
                                                    int(closed_after(s)))
    return detect_and_echo(s, nbytes)


def cgp_flow(s, address, nbytes, extra_capability=False):
    try:
        s.sendall(bind_request(address, extra_capability))
        magic = recv_upto(s, len(CGP_MAGIC))
    except (OSError, ssl.SSLError):
        return "result=closed rep=none"
    if not magic:
        return "result=refused rep=close closed=1"
    if magic != CGP_MAGIC:
        return "result=closed rep=badmagic"
    try:
        cmd, payload = read_cgp_packet(s)
    except EOFError:
        return "result=refused rep=close closed=1"
    except (OSError, ssl.SSLError, ValueError):
        return "result=closed rep=badpacket"
    if cmd == CGP_FINISH_REQUEST:
        reason = payload[0] if payload else -1
        return "result=refused rep=finish reason=%d closed=%d" % (
            reason, int(closed_after(s)))
    if cmd != CGP_BIND_RESPONSE or not payload:
        return "result=closed rep=badcmd cmd=%d" % cmd
    if payload[0] != 0:
        return "result=refused rep=%d closed=%d" % (payload[0],
                                                   int(closed_after(s)))
    return detect_and_echo(s, nbytes)


def byte_count(nbytes):
    if not nbytes.isdigit():
        raise UsageError("BYTES must be a number: %r" % nbytes)
    return int(nbytes)


def client(host, port, cafile, name, dest, nbytes, greeting=True):
    byte_count(nbytes)
    print(socks_flow(tls_connect(host, port, cafile, name), dest, nbytes,
                     greeting))


def cgpclient(host, port, cafile, name, address, nbytes, extra=False):
    byte_count(nbytes)
    print(cgp_flow(tls_connect(host, port, cafile, name), address, nbytes,
                   extra))


# --- portal client ---------------------------------------------------------

class PageParser(html.parser.HTMLParser):
    """What the tool needs from the portal's pages."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []          # [{"action", "method", "inputs": {name: value}}]
        self.resources = []      # data-resource names, page order
        self.launch_hrefs = []
        self.error_alert = False
        self.in_resources = 0

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "form":
            self.forms.append({"action": a.get("action", ""),
                               "method": a.get("method", "get").lower(),
                               "inputs": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["inputs"][a["name"]] = a.get("value", "")
        elif tag == "ul":
            if self.in_resources:
                self.in_resources += 1
            elif "resources" in classes:
                self.in_resources = 1
        elif tag == "li" and self.in_resources and "resource" in classes:
            self.resources.append(a.get("data-resource", ""))
        elif tag == "a" and self.in_resources and "launch" in classes:
            self.launch_hrefs.append(a.get("href", ""))
        elif tag == "p" and "error" in classes and a.get("role") == "alert":
            self.error_alert = True

    def handle_endtag(self, tag):
        if tag == "ul" and self.in_resources:
            self.in_resources -= 1


def parse_page(body):
    p = PageParser()
    p.feed(body.decode("utf-8", "replace"))
    p.close()
    return p


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers   # [(name, value)] as received
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def cookies(self):
        """{name: (value, [attributes])} from the Set-Cookie headers."""
        out = {}
        for k, v in self.headers:
            if k.lower() != "set-cookie":
                continue
            parts = [p.strip() for p in v.split(";")]
            name, _, value = parts[0].partition("=")
            out[name.strip()] = (value.strip(), [p for p in parts[1:] if p])
        return out

    def location_path(self):
        loc = self.header("Location")
        return urllib.parse.urlsplit(loc).path if loc is not None else None


class _Connection(http.client.HTTPSConnection):
    """HTTPS to ADDR, with NAME as server name and Host (the lab's FQDN
    does not resolve)."""

    def __init__(self, addr, name, port, context):
        super().__init__(name, int(port), context=context, timeout=TIMEOUT)
        self.addr = addr
        self.tls_context = context

    def connect(self):
        raw = socket.create_connection((self.addr, self.port), self.timeout)
        try:
            self.sock = self.tls_context.wrap_socket(raw,
                                                     server_hostname=self.host)
        except BaseException:
            raw.close()
            raise


class Portal:
    def __init__(self, addr, port, cafile, name):
        try:
            self.ctx = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as e:
            raise UsageError("CA file %s: %s" % (cafile, e)) from None
        self.addr = addr
        self.port = int(port)
        self.name = name
        self.cookie = None

    def request(self, method, path, fields=None):
        """One request on its own TLS connection (the portal closes)."""
        headers = {"Connection": "close", "Accept": "*/*"}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie is not None:
            headers["Cookie"] = "HGSESSION=" + self.cookie
        conn = _Connection(self.addr, self.name, self.port, self.ctx)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read(MAX_BODY + 1)
            if len(data) > MAX_BODY:
                raise PeerError("error=body_too_large path=%s" % path)
            return Response(r.status, r.getheaders(), data)
        except ssl.SSLError as e:
            raise PeerError("error=tls:%s path=%s" % (
                str(e.reason or type(e).__name__).replace(" ", "_"),
                path)) from None
        except (OSError, http.client.HTTPException) as e:
            raise PeerError("error=http:%s path=%s" % (type(e).__name__,
                                                       path)) from None
        finally:
            conn.close()

    def login(self, user, password):
        """(verdict, POST status, cookie flags)."""
        r = self.request("GET", "/")
        if r.status != 200:
            raise PeerError("login=error status=%d error=get_root" % r.status)
        forms = [f for f in parse_page(r.body).forms
                 if "password" in f["inputs"]]
        if not forms or forms[0]["method"] != "post":
            raise PeerError("login=error status=%d error=no_login_form" %
                            r.status)
        fields = dict(forms[0]["inputs"])
        fields.update(username=user, password=password)
        action = urllib.parse.urlsplit(forms[0]["action"] or "/login").path
        r = self.request("POST", action, fields)
        if r.status == 401:
            return "refused", r.status, "alert=%s" % (
                "yes" if parse_page(r.body).error_alert else "no")
        cookie = r.cookies().get("HGSESSION")
        if r.status != 303 or r.location_path() != "/resources" or not cookie \
                or not cookie[0]:
            raise PeerError("login=error status=%d error=no_session" %
                            r.status)
        self.cookie = cookie[0]
        return "ok", r.status, "cookie_flags=" + ",".join(cookie[1])

    def resources(self):
        r = self.request("GET", "/resources")
        if r.status != 200:
            return r.status, None
        return r.status, parse_page(r.body)

    def ica_file(self, resource):
        r = self.request("GET", "/launch/%s.ica" %
                         urllib.parse.quote(resource, safe=""))
        return r

    def logout(self, csrf):
        r = self.request("POST", "/logout", {"csrf": csrf})
        c = r.cookies().get("HGSESSION")
        cleared = c is not None and (
            not c[0] or any(a.lower().startswith("max-age=0") or
                            a.lower().startswith("expires=") for a in c[1]))
        after = self.request("GET", "/resources")
        ok = (r.status == 303 and r.location_path() == "/" and cleared and
              after.status == 303 and after.location_path() == "/")
        return "logout=%s status=%d cleared=%s after=%d" % (
            "ok" if ok else "failed", r.status, "yes" if cleared else "no",
            after.status)


def parse_ica(text, resource):
    """{address, proxy, has_internal} of an ICA file (INI rules)."""
    cp = configparser.ConfigParser(interpolation=None, allow_no_value=True,
                                   strict=False, delimiters=("=",),
                                   comment_prefixes=(";", "#"),
                                   inline_comment_prefixes=None)
    cp.optionxform = str
    try:
        cp.read_string(text)
    except configparser.Error as e:
        raise PeerError("ica=bad error=%s" % type(e).__name__) from None
    if not cp.has_section("ApplicationServers") or \
            resource not in cp["ApplicationServers"]:
        raise PeerError("ica=bad error=not_in_ApplicationServers")
    if not cp.has_section(resource):
        raise PeerError("ica=bad error=no_section")
    sec = cp[resource]
    address = sec.get("Address")
    proxy = sec.get("SSLProxyHost")
    if not address or not proxy:
        raise PeerError("ica=bad error=no_address_or_proxy")
    return {"address": address, "proxy": proxy,
            "has_internal": "yes" if IPV4_RE.search(text) else "no"}


def split_hostport(value, default_port=443):
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, default_port
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise PeerError("ica=bad error=bad_SSLProxyHost")
    return host.strip("[]"), int(port)


def fetch_ica(portal, resource):
    """(response, parsed or None); parsed when 200 and application/x-ica."""
    r = portal.ica_file(resource)
    ctype = (r.header("Content-Type") or "").split(";")[0].strip().lower()
    if r.status != 200 or ctype != "application/x-ica":
        return r, None
    try:
        text = r.body.decode("utf-8")
    except UnicodeDecodeError:
        raise PeerError("ica=bad error=not_utf8") from None
    return r, parse_ica(text, resource)


def portal_cmd(host, port, cafile, name, user, password, resource, outfile,
               logout=False):
    p = Portal(host, port, cafile, name)
    verdict, status, extra = p.login(user, password)
    if verdict != "ok":
        print("login=refused status=%d resources= %s" % (status, extra))
        return
    rstatus, page = p.resources()
    if page is None:
        raise PeerError("login=ok status=%d resources= error=resources "
                        "resources_status=%d" % (status, rstatus))
    print("login=ok status=%d resources=%s %s" % (
        status, ",".join(page.resources), extra))
    if resource != "-":
        r, ica = fetch_ica(p, resource)
        if ica is None:
            print("ica=%s status=%d" % ("badtype" if r.status == 200
                                        else "refused", r.status))
        else:
            try:
                with open(outfile, "wb") as f:
                    f.write(r.body)
            except OSError as e:
                raise UsageError("%s: %s" % (outfile, e)) from None
            print("ica=ok status=%d address=%s proxy=%s has_internal=%s" % (
                r.status, ica["address"], ica["proxy"], ica["has_internal"]))
    if logout:
        csrf = None
        for f in page.forms:
            if "csrf" in f["inputs"]:
                csrf = f["inputs"]["csrf"]
        if csrf is None:
            raise PeerError("logout=failed error=no_csrf")
        print(p.logout(csrf))


def launch_cmd(host, port, cafile, name, user, password, resource, nbytes,
               mode):
    byte_count(nbytes)
    p = Portal(host, port, cafile, name)
    verdict, status, _ = p.login(user, password)
    if verdict != "ok":
        print("result=portal_refused stage=login status=%d "
              "ica_has_internal=no" % status)
        return
    rstatus, page = p.resources()
    if page is None:
        print("result=portal_refused stage=resources status=%d "
              "ica_has_internal=no" % rstatus)
        return
    r, ica = fetch_ica(p, resource)
    if ica is None:
        print("result=portal_refused stage=ica status=%d "
              "ica_has_internal=no" % r.status)
        return
    proxy_name, proxy_port = split_hostport(ica["proxy"])
    s = tls_connect(host, proxy_port, cafile, proxy_name)
    if mode == "socks":
        line = socks_flow(s, ica["address"], nbytes)
    else:
        line = cgp_flow(s, ica["address"], nbytes)
    print("%s ica_has_internal=%s" % (line, ica["has_internal"]))


def main():
    a = sys.argv[1:]
    cmd = a[0] if a else ""
    if cmd == "server" and len(a) in (3, 4) and a[3:] in ([], ["cgp"]):
        serve({int(a[1]): len(a) == 4}, a[2])
    elif cmd == "both" and len(a) == 4:
        serve({int(a[1]): False, int(a[2]): True}, a[3])
    elif cmd == "client" and len(a) in (7, 8) and a[7:] in ([], ["nogreeting"]):
        client(*a[1:7], greeting=len(a) == 7)
    elif cmd == "cgpclient" and len(a) in (7, 8) and a[7:] in ([], ["extracap"]):
        cgpclient(*a[1:7], extra=len(a) == 8)
    elif cmd == "portal" and len(a) in (9, 10) and a[9:] in ([], ["logout"]):
        portal_cmd(*a[1:9], logout=len(a) == 10)
    elif cmd == "launch" and len(a) == 10 and a[9] in ("socks", "cgp"):
        launch_cmd(*a[1:10])
    else:
        raise UsageError("usage")


if __name__ == "__main__":
    try:
        main()
    except UsageError as e:
        if str(e) == "usage":
            sys.stderr.write(__doc__)
        else:
            sys.stderr.write("ica_tool: %s\n" % e)
        sys.exit(2)
    except PeerError as e:
        text = str(e)
        if sys.argv[1] == "launch" and not text.startswith("result="):
            text = "result=error " + text
        elif sys.argv[1] == "portal" and not text.startswith(
                ("login=", "ica=", "logout=")):
            text = "login=error " + text
        print(text)
        sys.exit(1)
    except ValueError as e:
        sys.stderr.write("ica_tool: %s\n" % e)
        sys.exit(2)
    sys.stdout.flush()
