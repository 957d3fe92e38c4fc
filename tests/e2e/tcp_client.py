#!/usr/bin/env python3
"""Real kernel-TCP clients for the data plane's test services.

  tcp_client.py echo HOST PORT BYTES      send BYTES random bytes, read them
                                          back; prints sent/received SHA-256
  tcp_client.py source HOST PORT BYTES    read BYTES from the source service,
                                          close; prints SHA-256 of what came
                                          and of the expected pattern
  tcp_client.py discard HOST PORT BYTES   send BYTES, half close, wait for
                                          the server's FIN
  tcp_client.py hold HOST PORT N SECONDS  open N connections, hold them idle
                                          SECONDS, close all; prints opened
  tcp_client.py serial HOST PORT N        open and close N connections one
                                          after another (3 s timeout each);
                                          prints how many succeeded
  tcp_client.py echo-server PORT SECONDS  an echo server for many clients,
                                          for SECONDS; prints what it served
  tcp_client.py slow-server PORT PAUSE    accept one connection, read nothing
                                          for PAUSE seconds, then echo it all
  tcp_client.py sink PORT                 listen on PORT, accept one
                                          connection, read to EOF, print its
                                          byte count and SHA-256
Every mode is bounded in time (socket time-outs) and stops by itself.
Output: one line "key=value ..." for the test script to check.
"""
import hashlib
import os
import resource
import socket
import sys
import threading
import time

PERIOD = 251  # the source service sends byte i = i mod 251


def pattern_sha(n):
    block = bytes(i % PERIOD for i in range(PERIOD)) * 4096  # multiple of 251
    h = hashlib.sha256()
    while n > 0:
        take = min(n, len(block))
        h.update(block[:take])
        n -= take
    return h.hexdigest()


def connect(host, port, timeout=30):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def echo(host, port, n):
    s = connect(host, port)
    sent, got = hashlib.sha256(), hashlib.sha256()
    received = [0]

    def reader():
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got.update(b)
            received[0] += len(b)

    t = threading.Thread(target=reader)
    t.start()
    start = time.time()
    chunk = os.urandom(1 << 20)
    left = n
    while left > 0:
        piece = chunk[: min(left, len(chunk))]
        s.sendall(piece)
        sent.update(piece)
        left -= len(piece)
    s.shutdown(socket.SHUT_WR)
    t.join(timeout=600)
    secs = time.time() - start
    print("sent=%d received=%d sent_sha=%s received_sha=%s seconds=%.2f mbps=%.0f"
          % (n, received[0], sent.hexdigest(), got.hexdigest(), secs,
             2 * n * 8 / secs / 1e6))


def source(host, port, n):
    s = connect(host, port)
    h = hashlib.sha256()
    got = 0
    start = time.time()
    while got < n:
        b = s.recv(min(1 << 20, n - got))
        if not b:
            break
        h.update(b)
        got += len(b)
    s.close()
    secs = time.time() - start
    print("received=%d received_sha=%s expected_sha=%s seconds=%.2f mbps=%.0f"
          % (got, h.hexdigest(), pattern_sha(n), secs, got * 8 / secs / 1e6))


def discard(host, port, n):
    s = connect(host, port)
    chunk = os.urandom(1 << 20)
    left = n
    start = time.time()
    while left > 0:
        s.sendall(chunk[: min(left, len(chunk))])
        left -= min(left, len(chunk))
    s.shutdown(socket.SHUT_WR)
    eof = s.recv(1) == b""
    secs = time.time() - start
    print("sent=%d server_closed=%d seconds=%.2f mbps=%.0f"
          % (n, int(eof), secs, n * 8 / secs / 1e6))


def hold(host, port, n, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 100), max(hard, n + 100)))
    conns, failed = [], 0
    for _ in range(n):
        try:
            conns.append(connect(host, port, timeout=10))
        except OSError:
            failed += 1
    opened = len(conns)
    # Every connection still works: one byte out, the same back (echo).
    alive = 0
    for s in conns:
        try:
            s.sendall(b"x")
        except OSError:
            pass
    for s in conns:
        try:
            if s.recv(1) == b"x":
                alive += 1
        except OSError:
            pass
    time.sleep(seconds)
    for s in conns:
        s.close()
    print("opened=%d failed=%d alive=%d" % (opened, failed, alive))


def serial(host, port, n):
    ok = 0
    for _ in range(n):
        try:
            s = socket.create_connection((host, port), timeout=3)
            s.sendall(b"ping")
            if s.recv(4) == b"ping":
                ok += 1
            s.close()
        except OSError:
            pass
    print("attempted=%d succeeded=%d" % (n, ok))


def sink(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    ls.settimeout(60)
    s, addr = ls.accept()
    s.settimeout(120)
    h = hashlib.sha256()
    got = 0
    start = time.time()
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        h.update(b)
        got += len(b)
    secs = time.time() - start
    print("peer=%s received=%d received_sha=%s expected_sha=%s seconds=%.2f"
          % (addr[0], got, h.hexdigest(), pattern_sha(got), secs))


def echo_server(port, seconds):
    import selectors
    import signal
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    sel = selectors.DefaultSelector()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4096)
    ls.setblocking(False)
    sel.register(ls, selectors.EVENT_READ)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 20000), max(hard, 20000)))
    conns, total, peers, pending = 0, 0, set(), {}
    end = time.time() + seconds
    while time.time() < end and not stop:
        for key, ev in sel.select(timeout=0.2):
            s = key.fileobj
            if s is ls:
                try:
                    c, addr = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                peers.add(addr[0])
                conns += 1
                pending[c] = b""
                sel.register(c, selectors.EVENT_READ)
                continue
            if ev & selectors.EVENT_READ:
                try:
                    b = s.recv(1 << 18)
                except OSError:
                    b = b""
                if not b:
                    if pending.get(s):
                        sel.modify(s, selectors.EVENT_WRITE)
                        pending[s] = pending[s] + b"\0EOF"
                        continue
                    sel.unregister(s)
                    pending.pop(s, None)
                    s.close()
                    continue
                total += len(b)
                pending[s] += b
                sel.modify(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
            if ev & selectors.EVENT_WRITE:
                data = pending.get(s, b"")
                eof = data.endswith(b"\0EOF")
                if eof:
                    data = data[:-4]
                try:
                    n = s.send(data)
                except OSError:
                    n = len(data)
                data = data[n:]
                if eof and not data:
                    sel.unregister(s)
                    pending.pop(s, None)
                    s.shutdown(socket.SHUT_WR)
                    s.close()
                    continue
                pending[s] = data + (b"\0EOF" if eof else b"")
                if not data and not eof:
                    sel.modify(s, selectors.EVENT_READ)
    print("connections=%d bytes=%d peers=%s" % (conns, total, ",".join(sorted(peers))))


def slow_server(port, pause):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    ls.settimeout(60)
    s, addr = ls.accept()
    time.sleep(pause)  # read nothing: the window closes
    s.settimeout(120)
    h = hashlib.sha256()
    got = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        h.update(b)
        got += len(b)
    print("peer=%s received=%d received_sha=%s" % (addr[0], got, h.hexdigest()))


def main():
    mode = sys.argv[1]
    if mode == "echo":
        echo(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "source":
        source(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "discard":
        discard(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "hold":
        hold(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif mode == "serial":
        serial(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "echo-server":
        echo_server(int(sys.argv[2]), float(sys.argv[3]))
    elif mode == "slow-server":
        slow_server(int(sys.argv[2]), float(sys.argv[3]))
    elif mode == "sink":
        sink(int(sys.argv[2]))
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
