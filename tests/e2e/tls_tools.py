#!/usr/bin/env python3
"""TLS helpers for tests/e2e/tls.sh, each printing key=value results.

  corrupt HOST PORT CAFILE NAME VERSION
      Handshake with Python's ssl on memory BIOs over a plain socket, send
      one good request record, then one with a byte of its ciphertext
      flipped; report what came back: the alert OpenSSL decoded from the
      gateway's answer, and whether the connection was closed.
  keygrep PID KEYFILE...
      Search the readable memory of process PID (/proc/PID/mem over its
      mappings) for each private key's secret numbers (EC private scalar,
      RSA private exponent and primes, as big-endian bytes) and for the
      key file's DER encoding. Prints found=N (occurrences in all).
"""
import os
import re
import socket
import ssl
import subprocess
import sys


def corrupt(host, port, cafile, name, version):
    ctx = ssl.create_default_context(cafile=cafile)
    v = ssl.TLSVersion.TLSv1_3 if version == "1.3" else ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = ctx.maximum_version = v
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=name)
    s = socket.create_connection((host, int(port)), timeout=10)

    def flush():
        data = out.read()
        if data:
            s.sendall(data)

    def pump_in():
        data = s.recv(65536)
        if not data:
            raise EOFError
        inc.write(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            pump_in()
    flush()
    # A good record first: the echo comes back.
    tls.write(b"good record\n")
    flush()
    got = b""
    while b"good record\n" not in got:
        try:
            got += tls.read(65536)
        except ssl.SSLWantReadError:
            pump_in()
    # Then one with a flipped byte in the middle of its ciphertext.
    tls.write(b"this record is corrupted on the way\n")
    rec = bytearray(out.read())
    rec[len(rec) // 2] ^= 0x01
    s.sendall(bytes(rec))
    alert, closed = "none", False
    try:
        while True:
            try:
                tls.read(65536)
            except ssl.SSLWantReadError:
                pump_in()
    except ssl.SSLError as e:
        alert = e.reason or str(e)
    except (EOFError, ConnectionResetError):
        closed = True
    if not closed:
        try:
            s.settimeout(5)
            closed = s.recv(65536) == b""
        except (ConnectionResetError, socket.timeout):
            closed = True
    print("alert=%s closed=%d" % (alert, int(closed)))


def key_numbers(path):
    """The secret numbers of a PEM private key, as big-endian bytes and
    little-endian (OpenSSL's BIGNUM limbs on this machine hold a live key
    that way; the big-endian forms are what parsing left behind, which
    later allocations may overwrite), and the key's DER."""
    text = subprocess.run(["openssl", "pkey", "-in", path, "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    der = subprocess.run(["openssl", "pkey", "-in", path, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    fields = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^(\w[\w ]*):\s*$", line)
        if m:
            cur = m.group(1)
            fields[cur] = ""
        elif cur and re.match(r"^\s+[0-9a-f:]+$", line):
            fields[cur] += line.strip()
        else:
            cur = None
    secrets = [der]
    for k in ("priv", "privateExponent", "prime1", "prime2"):
        h = fields.get(k, "").replace(":", "")
        if h:
            b = bytes.fromhex(h).lstrip(b"\x00")
            if len(b) >= 16:
                secrets += [b, b[::-1]]
    return secrets


def keygrep(pid, keyfiles):
    needles = []
    for f in keyfiles:
        needles += key_numbers(f)
    found = 0
    regions = 0
    with open("/proc/%s/maps" % pid) as maps, \
            open("/proc/%s/mem" % pid, "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if "r" not in parts[1] or (len(parts) > 5 and parts[5] in
                                       ("[vvar]", "[vsyscall]")):
                continue
            step = 64 << 20
            overlap = max(len(n) for n in needles)
            addr = lo
            while addr < hi:
                n = min(step + overlap, hi - addr)
                try:
                    mem.seek(addr)
                    chunk = mem.read(n)
                except (OSError, ValueError, OverflowError):
                    break
                regions += 1
                for needle in needles:
                    found += chunk.count(needle)
                addr += step
    print("found=%d needles=%d regions=%d" % (found, len(needles), regions))


def main():
    if len(sys.argv) >= 7 and sys.argv[1] == "corrupt":
        corrupt(*sys.argv[2:7])
    elif len(sys.argv) >= 4 and sys.argv[1] == "keygrep":
        keygrep(sys.argv[2], sys.argv[3:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
