#!/usr/bin/env python3
"""Sends malformed Ethernet frames at the gateway from inside a namespace.

usage: ip netns exec NAMESPACE bad_frames.py IFACE GATEWAY_IP

Each frame breaks one rule the data plane's parsers check; each is sent
twice. Prints one line per frame sent. Uses a raw packet socket, so it needs
root.
"""
import socket
import struct
import subprocess
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4(src, dst, payload, proto=1, ihl=5, version=4, total=None, good_csum=True):
    total = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total, 1, 0, 64,
                      proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    c = csum(hdr)
    if not good_csum:
        c ^= 0x0100
    return hdr[:10] + struct.pack("!H", c) + hdr[12:] + payload


def echo(good=True):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4747, 1) + b"hopgate-bad-frame"
    c = csum(body)
    if not good:
        c ^= 0x0001
    return body[:2] + struct.pack("!H", c) + body[4:]


def main():
    iface, gw = sys.argv[1:3]
    out = subprocess.run(["ip", "neigh", "show", gw, "dev", iface],
                         capture_output=True, text=True).stdout.split()
    gw_mac = bytes.fromhex(out[out.index("lladdr") + 1].replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    my_mac = s.getsockname()[4]
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", iface],
                         capture_output=True, text=True).stdout.split()
    me = out[out.index("inet") + 1].split("/")[0]
    eth_ip = gw_mac + my_mac + b"\x08\x00"
    eth_arp = b"\xff" * 6 + my_mac + b"\x08\x06"
    arp_ok = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, my_mac,
                         socket.inet_aton(me), b"\0" * 6, socket.inet_aton(gw))
    frames = {
        "ipv4 bad header checksum": eth_ip + ipv4(me, gw, echo(), good_csum=False),
        "ipv4 truncated": eth_ip + ipv4(me, gw, echo())[:10],
        "ipv4 ihl 4": eth_ip + ipv4(me, gw, echo(), ihl=4),
        "ipv4 total length beyond frame": eth_ip + ipv4(me, gw, echo(), total=400),
        "ipv4 version 6": eth_ip + ipv4(me, gw, echo(), version=6),
        "arp hardware type 6": eth_arp + struct.pack("!H", 6) + arp_ok[2:],
        "arp truncated": eth_arp + arp_ok[:20],
        "icmp bad checksum": eth_ip + ipv4(me, gw, echo(good=False)),
        "icmp truncated": eth_ip + ipv4(me, gw, echo()[:4]),
    }
    for name, frame in frames.items():
        for _ in range(2):
            s.send(frame)
        print("sent", name)


if __name__ == "__main__":
    main()
