#!/usr/bin/env python3
"""A test ICA server and client for the lab (PROTOCOLS.md section 2).

  server PORT SECONDS
      Accepts connections on 0.0.0.0:PORT for SECONDS; on each, sends the
      ICA detect string 7F 7F 'ICA' 00, expects the same 6 bytes back, then
      echoes. Prints connections=N detected=N peers=a,b at the end.
  client HOST PORT CAFILE NAME DEST BYTES [nogreeting]
      TLS to HOST:PORT (server name NAME), a SOCKS v5 greeting (unless
      nogreeting) and CONNECT whose destination is DEST (an ICA file's
      Address value), port 1494; on success the detect exchange, then BYTES
      echoed through. Prints result=relayed|refused|closed rep=N
      sent_sha=... received_sha=... received=N.
"""
import hashlib
import os
import socket
import ssl
import struct
import sys
import threading
import time

DETECT = b"\x7f\x7fICA\x00"


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError
        buf += b
    return buf


def server(port, seconds):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", int(port)))
    ls.listen(64)
    ls.settimeout(0.5)
    stats = {"connections": 0, "detected": 0, "peers": set()}

    def serve(c, peer):
        try:
            c.settimeout(60)
            c.sendall(DETECT)
            if recv_exact(c, 6) != DETECT:
                return
            stats["detected"] += 1
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
        except (OSError, EOFError):
            pass
        finally:
            c.close()

    end = time.time() + float(seconds)
    while time.time() < end:
        try:
            c, peer = ls.accept()
        except socket.timeout:
            continue
        stats["connections"] += 1
        stats["peers"].add(peer[0])
        threading.Thread(target=serve, args=(c, peer), daemon=True).start()
        sys.stdout.write("connections=%d detected=%d peers=%s\n" % (
            stats["connections"], stats["detected"],
            ",".join(sorted(stats["peers"]))))
        sys.stdout.flush()


def client(host, port, cafile, name, dest, nbytes, greeting=True):
    ctx = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection((host, int(port)), timeout=20)
    s = ctx.wrap_socket(raw, server_hostname=name)
    d = dest.encode()
    req = b"\x05\x01\x00\x03" + bytes([len(d)]) + d + struct.pack("!H", 1494)
    try:
        if greeting:
            s.sendall(b"\x05\x02\x00\x02")
            if recv_exact(s, 2) != b"\x05\x00":
                print("result=refused rep=method")
                return
        s.sendall(req)
        rep = recv_exact(s, 10)
    except (EOFError, OSError, ssl.SSLError):
        print("result=closed rep=none")
        return
    if rep[1] != 0:
        try:
            closed = s.recv(1) == b""
        except (OSError, ssl.SSLError):
            closed = True
        print("result=refused rep=%d closed=%d" % (rep[1], int(closed)))
        return
    if recv_exact(s, 6) != DETECT:
        print("result=closed rep=0 detect=bad")
        return
    s.sendall(DETECT)
    n = int(nbytes)
    src = hashlib.sha256()
    dst = hashlib.sha256()
    got = 0
    sent = 0
    block = os.urandom(65536)
    # In lockstep (a chunk out, its echo back): an SSL socket is not safe
    # to read and write from two threads at once.
    while sent < n:
        chunk = block[:min(len(block), n - sent)]
        s.sendall(chunk)
        src.update(chunk)
        sent += len(chunk)
        while got < sent:
            b = s.recv(65536)
            if not b:
                break
            dst.update(b)
            got += len(b)
        if got < sent:
            break
    s.close()
    print("result=relayed rep=0 received=%d sent_sha=%s received_sha=%s" % (
        got, src.hexdigest(), dst.hexdigest()))


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "server":
        server(a[1], a[2])
    elif len(a) in (7, 8) and a[0] == "client":
        client(*a[1:7], greeting=len(a) == 7)
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
