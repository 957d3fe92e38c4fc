#!/usr/bin/python3
"""Load generators and the backend server for bench/run.

Runs inside the lab's namespaces (ip netns exec). Every mode is bounded in
time and prints one line of key=value results (the backend: on exit).

Backend (the backend namespace, one for all gateways):
  load.py backend PORT SECONDS PROCS
      PROCS processes share PORT (SO_REUSEPORT). Each connection starts
      with one command line, then:
        "E\\n"     echo everything that follows
        "U N\\n"   read N bytes (discarded), answer "K\\n", close on EOF
        "D N\\n"   send N bytes, then FIN; close on the client's EOF

Clients (the client namespace; KIND is tcp or tls):
  load.py bulk KIND up|down HOST PORT BYTES CONNS
      CONNS connections (threads) move BYTES in all, client to backend
      (up) or back (down); timed from when all are connected (and their
      handshakes done) until the last byte. mbps = BYTES * 8 / seconds.
  load.py rate tcp|tls|resume HOST PORT SECONDS PROCS
      PROCS processes each loop for SECONDS: connect (tls: full handshake;
      resume: handshake resuming the last session), one byte echoed,
      close. per_second = connections / seconds.
  load.py latency KIND HOST PORT RATE SECONDS SIZE [--base HOST:PORT]
      One connection; SIZE-byte requests echoed, sent at RATE per second
      on a fixed schedule; each request's latency counts from its
      scheduled time (no coordinated omission) until its echo is back.
      --base: a second connection (plain TCP, straight to the backend)
      whose requests go half an interval after each of the first's (each
      connection on its own schedule, one event loop), so both are
      measured under the same load; its figures are base_*, and added_*
      are percentiles of the differences within those pairs.
  load.py hold KIND HOST PORT N SECONDS
      Opens N connections, one byte echoed on each, prints "ready ..." and
      holds them until a line arrives on stdin (or SECONDS pass), then
      closes them all.
TLS options (after the arguments): --ca FILE --sni NAME --tls 1.2|1.3
"""
import os
import resource
import select
import selectors
import signal
import socket
import ssl
import sys
import threading
import time

CHUNK = 1 << 20


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, n)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        pass


# ---------------------------------------------------------------- backend

class Conn:
    __slots__ = ("sock", "head", "mode", "left", "out", "fin_sent")

    def __init__(self, sock):
        self.sock = sock
        self.head = b""
        self.mode = None
        self.left = 0
        self.out = b""
        self.fin_sent = False


def backend_loop(port, seconds, stats):
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    raise_nofile(65536)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(8192)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    pattern = bytes(i % 251 for i in range(251)) * (CHUNK // 251 + 1)
    payload = memoryview(pattern[:CHUNK])
    sink = bytearray(CHUNK)
    end = time.time() + seconds

    def close(c):
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    def want(c, ev):
        sel.modify(c.sock, ev, c)

    def flush(c):
        """Sends what is pending; True when nothing is left."""
        while c.out:
            try:
                n = c.sock.send(c.out)
            except BlockingIOError:
                return False
            except OSError:
                c.out = b""
                return True
            c.out = c.out[n:]
        return True

    def pump_down(c):
        while c.left > 0:
            try:
                n = c.sock.send(payload[:min(c.left, CHUNK)])
            except BlockingIOError:
                return
            except OSError:
                c.left = 0
                close(c)
                return
            c.left -= n
            stats["bytes_out"] += n
        if not c.fin_sent:
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            c.fin_sent = True
        want(c, selectors.EVENT_READ)

    def on_read(c):
        if c.mode == "U" and c.left > 0:
            try:
                n = c.sock.recv_into(sink, min(CHUNK, c.left))
            except BlockingIOError:
                return
            except OSError:
                n = 0
            if n == 0:
                close(c)
                return
            c.left -= n
            stats["bytes_in"] += n
            if c.left == 0:
                c.out = b"K\n"
                if not flush(c):
                    want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
            return
        try:
            b = c.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError:
            b = b""
        if not b:
            if c.mode == "E" and c.out:
                c.left = -1  # close once the echo is out
                return
            close(c)
            return
        if c.mode is None:
            c.head += b
            if b"\n" not in c.head:
                if len(c.head) > 64:
                    close(c)
                return
            line, rest = c.head.split(b"\n", 1)
            c.head = b""
            parts = line.split()
            if not parts or parts[0] not in (b"E", b"U", b"D"):
                close(c)
                return
            c.mode = parts[0].decode()
            stats["conns_" + c.mode] += 1
            if c.mode in ("U", "D"):
                try:
                    c.left = int(parts[1])
                except (IndexError, ValueError):
                    close(c)
                    return
            if c.mode == "D":
                want(c, selectors.EVENT_WRITE)
                pump_down(c)
                return
            if c.mode == "U":
                take = min(len(rest), c.left)
                c.left -= take
                stats["bytes_in"] += take
                if c.left == 0:
                    c.out = b"K\n"
                    if not flush(c):
                        want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
                return
            b = rest
        if c.mode == "E" and b:
            stats["bytes_in"] += len(b)
            c.out += b
            if not flush(c):
                want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
        # "D" after its start, or "U" after its bytes: ignore what comes.

    def on_write(c):
        if c.mode == "D":
            pump_down(c)
            return
        if flush(c):
            if c.left == -1:
                close(c)
                return
            want(c, selectors.EVENT_READ)

    while not stop and time.time() < end:
        for key, ev in sel.select(timeout=0.2):
            if key.fileobj is ls:
                for _ in range(64):
                    try:
                        s, _addr = ls.accept()
                    except (BlockingIOError, OSError):
                        break
                    s.setblocking(False)
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    stats["conns"] += 1
                    c = Conn(s)
                    sel.register(s, selectors.EVENT_READ, c)
                continue
            c = key.data
            if ev & selectors.EVENT_READ:
                on_read(c)
            if ev & selectors.EVENT_WRITE and c.sock.fileno() >= 0:
                on_write(c)


def backend(port, seconds, procs):
    import multiprocessing as mp
    q = mp.Queue()

    def child():
        st = {"conns": 0, "conns_E": 0, "conns_U": 0, "conns_D": 0,
              "bytes_in": 0, "bytes_out": 0}
        try:
            backend_loop(port, seconds, st)
        finally:
            q.put(st)

    ps = [mp.Process(target=child) for _ in range(procs)]
    for p in ps:
        p.start()
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    end = time.time() + seconds + 5
    while not stop and time.time() < end and any(p.is_alive() for p in ps):
        time.sleep(0.2)
    for p in ps:
        if p.is_alive():
            os.kill(p.pid, signal.SIGTERM)
    tot = {}
    for _ in ps:
        try:
            st = q.get(timeout=5)
        except Exception:
            continue
        for k, v in st.items():
            tot[k] = tot.get(k, 0) + v
    for p in ps:
        p.join(timeout=5)
    print(" ".join("%s=%d" % kv for kv in sorted(tot.items())), flush=True)


# ---------------------------------------------------------------- clients

class Tls:
    ca = None
    sni = "gateway.lab"
    version = "1.3"
    ctx = None

    @classmethod
    def context(cls):
        if cls.ctx is None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(cls.ca)
            v = ssl.TLSVersion.TLSv1_3 if cls.version == "1.3" else ssl.TLSVersion.TLSv1_2
            ctx.minimum_version = ctx.maximum_version = v
            cls.ctx = ctx
        return cls.ctx


def connect(kind, host, port, timeout=10, session=None):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if kind == "tcp":
        return s
    try:
        return Tls.context().wrap_socket(s, server_hostname=Tls.sni, session=session)
    except BaseException:
        s.close()
        raise


def tls_info(s):
    if isinstance(s, ssl.SSLSocket):
        c = s.cipher()
        return {"version": s.version() or "-", "cipher": c[0] if c else "-"}
    return {}


def recv_exact(s, n):
    got = bytearray()
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b:
            raise EOFError("connection closed after %d of %d bytes" % (len(got), n))
        got += b
    return bytes(got)


def fmt(d):
    return " ".join("%s=%s" % (k, v) for k, v in d.items())


def bulk(kind, direction, host, port, total, conns):
    share = [total // conns + (1 if i < total % conns else 0) for i in range(conns)]
    ready = threading.Barrier(conns + 1, timeout=60)
    done = [0] * conns
    errors = []
    info = {}
    chunk = memoryview(os.urandom(CHUNK))
    buf = [bytearray(CHUNK) for _ in range(conns)]

    def run(i):
        n = share[i]
        try:
            s = connect(kind, host, port, timeout=60)
        except Exception as e:
            errors.append("connect: %r" % e)
            try:
                ready.wait()
            except threading.BrokenBarrierError:
                pass
            return
        try:
            info.update(tls_info(s))
            ready.wait()
            if direction == "up":
                s.sendall(b"U %d\n" % n)
                left = n
                while left > 0:
                    take = min(left, CHUNK)
                    s.sendall(chunk[:take])
                    left -= take
                if recv_exact(s, 2) != b"K\n":
                    raise ValueError("no K from the backend")
                done[i] = n
            else:
                s.sendall(b"D %d\n" % n)
                got = 0
                b = buf[i]
                while got < n:
                    k = s.recv_into(b, min(CHUNK, n - got))
                    if k == 0:
                        break
                    got += k
                done[i] = got
        except Exception as e:
            errors.append(repr(e))
        finally:
            s.close()

    ts = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(conns)]
    for t in ts:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        errors.append("not all connections came up")
    t0 = time.perf_counter()
    for t in ts:
        t.join()
    secs = time.perf_counter() - t0
    moved = sum(done)
    r = {"bytes": moved, "expected": total, "conns": conns, "seconds": "%.3f" % secs,
         "mbps": "%.1f" % (moved * 8 / secs / 1e6 if secs > 0 else 0),
         "errors": len(errors)}
    r.update(info)
    print(fmt(r))
    if errors:
        print("first error: %s" % errors[0], file=sys.stderr)


def rate_worker(kind, host, port, secs, q):
    n = failed = resumed = 0
    info = {}
    session = None
    err = ""
    if kind == "resume":
        try:  # a first full handshake for a session to resume
            s = connect("tls", host, port)
            s.sendall(b"E\nx")
            recv_exact(s, 1)
            session = s.session
            s.close()
        except Exception as e:
            err = repr(e)
    end = time.time() + secs
    while time.time() < end:
        s = None
        try:
            s = connect("tcp" if kind == "tcp" else "tls", host, port, timeout=5,
                        session=session if kind == "resume" else None)
            s.sendall(b"E\nx")
            if recv_exact(s, 1) == b"x":
                n += 1
                if kind != "tcp":
                    if s.session_reused:
                        resumed += 1
                    if not info:
                        info = tls_info(s)
                if kind == "resume":
                    # The ticket of this connection came with the echo.
                    session = s.session or session
            else:
                failed += 1
        except Exception as e:
            failed += 1
            err = err or repr(e)
            time.sleep(0.01)
        finally:
            if s is not None:
                s.close()
    q.put((n, failed, resumed, info, err))


def rate(kind, host, port, secs, procs):
    import multiprocessing as mp
    q = mp.Queue()
    ps = [mp.Process(target=rate_worker, args=(kind, host, port, secs, q)) for _ in range(procs)]
    t0 = time.perf_counter()
    for p in ps:
        p.start()
    rs = []
    for _ in ps:
        try:
            rs.append(q.get(timeout=secs + 60))
        except Exception:
            break
    el = time.perf_counter() - t0
    for p in ps:
        p.join(timeout=10)
    total = sum(r[0] for r in rs)
    r = {"connections": total, "failed": sum(r[1] for r in rs) + (procs - len(rs)),
         "resumed": sum(r[2] for r in rs), "seconds": "%.3f" % el,
         "per_second": "%.1f" % (total / el if el > 0 else 0)}
    for x in rs:
        if x[3]:
            r.update(x[3])
            break
    print(fmt(r))
    errs = [x[4] for x in rs if x[4]]
    if errs:
        print("first error: %s" % errs[0], file=sys.stderr)


def pct(sorted_v, p):
    if not sorted_v:
        return 0.0
    k = min(len(sorted_v) - 1, max(0, int(round(p / 100.0 * len(sorted_v) + 0.5)) - 1))
    return sorted_v[k]


def timer_slack(ns):
    """Sharper sleeps (select's time-outs) for this process: PR_SET_TIMERSLACK."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(29, ns, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def latency(kind, host, port, rate_, secs, size, base=None):
    """Requests on the gateway's connection at t0 + i / rate; with a base
    (HOST:PORT, plain TCP, no gateway), requests on it at t0 + (i + 1/2) /
    rate, each on its own schedule (one event loop, neither waits for the
    other), so both see the same moments of the machine's load. Each
    request is timed from its scheduled time to the end of its echo."""
    timer_slack(1000)
    conns = [connect(kind, host, port)]
    if base:
        bh, bp = base.rsplit(":", 1)
        conns.append(connect("tcp", bh, int(bp)))
    req = os.urandom(size)
    for s in conns:
        s.sendall(b"E\n")
        for _ in range(20):  # unmeasured round trips first (ARP, windows)
            s.sendall(req)
            recv_exact(s, size)
        s.setblocking(False)
    interval = 1.0 / rate_
    count = int(rate_ * secs)
    n = len(conns)
    t0 = time.perf_counter() + 0.01
    nxt = [t0 + 0.5 * j * interval for j in range(n)]
    sent = [0] * n
    inflight = [[] for _ in conns]
    got = [bytearray() for _ in conns]
    lat = [[None] * count for _ in conns]
    done = [0] * n
    late = 0
    deadline = t0 + secs + 30
    fds = {s.fileno(): j for j, s in enumerate(conns)}

    def drain(j):
        s = conns[j]
        while True:
            try:
                b = s.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                return
            if not b:
                raise EOFError("connection closed")
            now = time.perf_counter()
            got[j] += b
            while len(got[j]) >= size:
                if bytes(got[j][:size]) != req:
                    raise ValueError("echo differs")
                del got[j][:size]
                i, due = inflight[j].pop(0)
                lat[j][i] = now - due
                done[j] += 1

    while min(done) < count:
        now = time.perf_counter()
        if now > deadline:
            raise TimeoutError("latency test did not finish")
        for j in range(n):
            while sent[j] < count and nxt[j] <= now:
                if now - nxt[j] > interval / 2:
                    late += 1
                while True:
                    try:
                        conns[j].send(req)
                        break
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        select.select([], [conns[j]], [], 0.01)
                inflight[j].append((sent[j], nxt[j]))
                sent[j] += 1
                nxt[j] = t0 + (sent[j] + 0.5 * j) * interval
        wait = min([nxt[j] for j in range(n) if sent[j] < count] or [now + 0.05]) - time.perf_counter()
        if any(isinstance(s, ssl.SSLSocket) and s.pending() for s in conns):
            wait = 0
        rd, _, _ = select.select(list(fds), [], [], max(0.0, wait))
        for fd in rd:
            drain(fds[fd])
        for j, s in enumerate(conns):
            if isinstance(s, ssl.SSLSocket) and s.pending():
                drain(j)
    r = {"requests": count, "rate": rate_, "size": size, "late_sends": late}
    for j, pre in enumerate(("", "base_")[:n]):
        v = sorted(x * 1e6 for x in lat[j])
        r.update({pre + "p50_us": "%.1f" % pct(v, 50), pre + "p90_us": "%.1f" % pct(v, 90),
                  pre + "p99_us": "%.1f" % pct(v, 99), pre + "p999_us": "%.1f" % pct(v, 99.9),
                  pre + "max_us": "%.1f" % (v[-1] if v else 0),
                  pre + "mean_us": "%.1f" % (sum(v) / len(v) if v else 0)})
    if n == 2:
        d = sorted((a - b) * 1e6 for a, b in zip(lat[0], lat[1]))
        r.update({"added_p50_us": "%.1f" % pct(d, 50), "added_p90_us": "%.1f" % pct(d, 90),
                  "added_p99_us": "%.1f" % pct(d, 99)})
    r.update(tls_info(conns[0]))
    for s in conns:
        s.close()
    print(fmt(r))


def hold(kind, host, port, n, secs):
    raise_nofile(n + 200)
    conns, failed, err = [], 0, ""
    t0 = time.perf_counter()
    for _ in range(n):
        try:
            conns.append(connect(kind, host, port, timeout=10))
        except Exception as e:
            failed += 1
            err = err or repr(e)
    opened_s = time.perf_counter() - t0
    alive = 0
    for s in conns:
        try:
            s.sendall(b"E\nx")
        except OSError:
            pass
    for s in conns:
        try:
            if recv_exact(s, 1) == b"x":
                alive += 1
        except Exception as e:
            err = err or repr(e)
    print("ready opened=%d failed=%d alive=%d open_seconds=%.2f"
          % (len(conns), failed, alive, opened_s), flush=True)
    select.select([sys.stdin], [], [], secs)
    for s in conns:
        s.close()
    print("closed=%d" % len(conns), flush=True)
    if err:
        print("first error: %s" % err, file=sys.stderr)


def main():
    args = sys.argv[1:]
    opts = {}
    while len(args) >= 2 and args[-2].startswith("--"):
        opts[args[-2][2:]] = args[-1]
        args = args[:-2]
    Tls.ca = opts.get("ca")
    Tls.sni = opts.get("sni", Tls.sni)
    Tls.version = opts.get("tls", Tls.version)
    if not args:
        sys.exit(__doc__)
    mode, a = args[0], args[1:]
    if mode == "backend":
        backend(int(a[0]), float(a[1]), int(a[2]))
    elif mode == "bulk":
        bulk(a[0], a[1], a[2], int(a[3]), int(a[4]), int(a[5]))
    elif mode == "rate":
        rate(a[0], a[1], int(a[2]), float(a[3]), int(a[4]))
    elif mode == "latency":
        latency(a[0], a[1], int(a[2]), float(a[3]), float(a[4]), int(a[5]), opts.get("base"))
    elif mode == "hold":
        hold(a[0], a[1], int(a[2]), int(a[3]), float(a[4]))
    else:
        sys.exit("unknown mode %s\n%s" % (mode, __doc__))


if __name__ == "__main__":
    main()
