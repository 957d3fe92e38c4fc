#!/usr/bin/python3
"""The report of a bench/run results file: Markdown, PNG charts, and the
generated block of README.md.

  bench/lib/report.py RESULTS.json [--readme README.md]

Writes RESULTS.md and RESULTS-*.png next to RESULTS.json (same base name),
prints the summary, and with --readme rewrites what lies between the
"bench/run:begin" and "bench/run:end" markers of README.md. Every figure
comes from the JSON; nothing is typed in.
"""
import json
import os
import statistics
import sys

GWS = ["hopgate", "haproxy", "nginx"]
NAMES = {"hopgate": "hopgate", "haproxy": "HAProxy", "nginx": "nginx", "direct": "direct",
         "hopgate-bp": "hopgate, busy poll"}
COLORS = {"hopgate": "#1f77b4", "haproxy": "#d62728", "nginx": "#2ca02c", "direct": "#999999",
          "hopgate-bp": "#7fb2dc"}
BULK = ["tcp-up-1", "tcp-down-1", "tcp-up-N", "tcp-down-N",
        "tls-up-1", "tls-down-1", "tls-up-N", "tls-down-N"]
CONN = ["tcp-conn", "tls-conn", "tls-resume"]
LAT = ["tcp-latency", "tls-latency"]
IDLE = ["tcp-idle", "tls-idle"]
DP = ["dp-up-1", "dp-down-1", "dp-up-N", "dp-down-N"]


def label(scen, doc):
    p = doc["parameters"]
    k, _, rest = scen.partition("-")
    K = "TLS" if k == "tls" else "TCP"
    if scen in BULK:
        d, c = rest.split("-")
        return "%s %s, %s" % (K, "upload" if d == "up" else "download",
                              "1 conn." if c == "1" else "%d conns." % p["conns"])
    if scen in DP:
        d, c = rest.split("-")
        return "memif, TCP %s, %s" % ("upload" if d == "up" else "download",
                                      "1 conn." if c == "1" else "%d conns." % p["conns"])
    return {"tcp-conn": "TCP connect + 1 byte + close",
            "tls-conn": "TLS %s full handshake + 1 byte" % p["tls"],
            "tls-resume": "TLS %s resumed handshake + 1 byte" % p["tls"],
            "tcp-latency": "TCP", "tls-latency": "TLS %s" % p["tls"],
            "tcp-idle": "TCP", "tls-idle": "TLS %s" % p["tls"]}[scen]


def summarize(doc):
    """{scenario: {gateway: {metric: {median, min, max, n}}}} over ok runs."""
    acc = {}
    for r in doc["runs"]:
        if not r.get("ok"):
            continue
        for k, v in r.get("metrics", {}).items():
            if isinstance(v, (int, float)) and v is not None:
                acc.setdefault(r["scenario"], {}).setdefault(r["gateway"], {}).setdefault(k, []).append(v)
    for s, g in acc.items():  # derived: MB for the charts
        for gw, ms in g.items():
            if "rss_kb_holding" in ms:
                ms["rss_mb_holding"] = [x / 1024.0 for x in ms["rss_kb_holding"]]
    out = {}
    for s, g in acc.items():
        for gw, ms in g.items():
            for k, v in ms.items():
                out.setdefault(s, {}).setdefault(gw, {})[k] = {
                    "median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}
    return out


def num(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1000:
        return "{:,.0f}".format(x)
    if a >= 100:
        return "%.0f" % x
    if a >= 10:
        return "%.1f" % x
    return "%.2f" % x


def get(S, scen, gw, metric):
    return S.get(scen, {}).get(gw, {}).get(metric)


def cell(S, scen, gw, metric, reps):
    v = get(S, scen, gw, metric)
    if not v:
        return "-"
    if reps > 1 and v["n"] > 1:
        return "%s (%s–%s)" % (num(v["median"]), num(v["min"]), num(v["max"]))
    return num(v["median"])


def ratio(S, scen, peer, metric, gw="hopgate"):
    h, p = get(S, scen, gw, metric), get(S, scen, peer, metric)
    if not h or not p or not p["median"]:
        return None
    return h["median"] / p["median"]


def rcell(x):
    return "-" if x is None else "%.2f" % x


def table(S, doc, rows, gws, direct=False, with_ratios=True):
    """rows: (label, scenario, metric). One row per (scenario, metric)."""
    reps = doc["parameters"]["reps"]
    peers = [g for g in gws if g in ("haproxy", "nginx")]
    head = ["", *[NAMES[g] for g in gws]]
    if direct:
        head.append("direct (no gateway)")
    if with_ratios and "hopgate" in gws:
        head += ["hopgate / %s" % NAMES[p] for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    any_row = False
    for lab, scen, metric in rows:
        if scen not in S:
            continue
        cells = [cell(S, scen, g, metric, reps) for g in gws]
        if all(c == "-" for c in cells):
            continue
        any_row = True
        row = [lab, *cells]
        if direct:
            row.append(cell(S, scen, "direct", metric, reps))
        if with_ratios and "hopgate" in gws:
            row += [rcell(ratio(S, scen, p, metric)) for p in peers]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) if any_row else None


def charts(S, doc, base, gws):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib: no charts (apt-get install python3-matplotlib)", file=sys.stderr)
        return []
    made = []
    machine = "%s, %d cores; %s" % (doc["machine"]["cpu"], doc["machine"]["cores"], doc["date"][:10])

    def bars(ax, scens, metric, title, ylabel, with_direct=False, log=False, extra=()):
        gs = gws + [g for g in extra if any(get(S, s, g, metric) for s in scens)] + \
            (["direct"] if with_direct else [])
        scens = [s for s in scens if any(get(S, s, g, metric) for g in gs)]
        if not scens:
            return False
        w = 0.8 / len(gs)
        for i, g in enumerate(gs):
            xs, ys, lo, hi = [], [], [], []
            for j, s in enumerate(scens):
                v = get(S, s, g, metric)
                if not v:
                    continue
                xs.append(j - 0.4 + w * (i + 0.5))
                ys.append(v["median"])
                lo.append(v["median"] - v["min"])
                hi.append(v["max"] - v["median"])
            if xs:
                ax.bar(xs, ys, w, yerr=[lo, hi], capsize=2, label=NAMES[g], color=COLORS[g])
                for x, y in zip(xs, ys):
                    ax.annotate(num(y), (x, y), textcoords="offset points", xytext=(0, 2),
                                ha="center", va="bottom", fontsize=6.5, rotation=90 if len(gs) * len(scens) > 12 else 0)
        ax.set_xticks(range(len(scens)))
        ax.set_xticklabels([label(s, doc) for s in scens], rotation=20, ha="right", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
        return True

    def fig(name, panels, height=4.2):
        panels = [p for p in panels if any(s in S for s in p[0])]
        if not panels:
            return
        f, axes = plt.subplots(len(panels), 1, figsize=(10, height * len(panels)), squeeze=False)
        ok = False
        for ax, (scens, metric, title, ylabel, kw) in zip(axes[:, 0], panels):
            ok = bars(ax, scens, metric, title, ylabel, **kw) or ok
        if not ok:
            plt.close(f)
            return
        f.suptitle("bench/run: hopgate, HAProxy, nginx (%s)" % machine, fontsize=9)
        f.tight_layout()
        path = "%s-%s.png" % (base, name)
        f.savefig(path, dpi=90)
        plt.close(f)
        made.append(path)

    fig("bulk", [
        (BULK, "mbps", "Bulk throughput (wall clock, median, min-max)", "Mbit/s", {"with_direct": True}),
        (BULK, "cycles_per_byte", "Gateway CPU cycles per relayed byte (lower is better)", "cycles / byte", {}),
    ])
    fig("connections", [
        (["tcp-conn"], "per_second", "New TCP connections per second (wall clock)", "connections / s",
         {"with_direct": True}),
        (["tls-conn", "tls-resume"], "per_second", "New TLS connections per second (wall clock)",
         "handshakes / s", {}),
        (CONN, "cycles_per_conn", "Gateway CPU cycles per connection (lower is better, log scale)",
         "cycles", {"log": True}),
    ], height=3.4)
    fig("latency", [
        (LAT, "p50_added_us", "Latency added by the gateway, p50 (%g req/s, 64 B)" % doc["parameters"]["rate"],
         "microseconds", {"extra": ["hopgate-bp"]}),
        (LAT, "p99_added_us", "Latency added by the gateway, p99", "microseconds", {"extra": ["hopgate-bp"]}),
    ], height=3.4)
    fig("dataplane", [
        (DP, "gbps_per_core", "Data plane alone (net_memif, no kernel): Gbit/s per busy data-plane core",
         "Gbit/s", {}),
        (DP, "mpps_per_core", "Packets per busy data-plane core (both ports, in + out)", "Mpps", {}),
    ], height=3.4)
    fig("idle", [
        (IDLE, "rss_per_conn_kb", "Gateway memory per idle connection held (RSS over its RSS at start)",
         "KB", {}),
        (IDLE, "rss_mb_holding", "Gateway RSS while holding them (hopgate's is reserved at start)", "MB",
         {}),
    ], height=3.4)
    return made


def background(doc):
    """Median CPUs other processes used during the measures (machine busy
    time minus the gateway's, the client's and the backend's)."""
    v = [r["accounting"]["background_cpus"] for r in doc["runs"]
         if r.get("accounting", {}).get("background_cpus") is not None]
    if not v:
        return None
    return statistics.median(v), min(v), max(v)


def render(doc, S, pngs):
    p, m = doc["parameters"], doc["machine"]
    gws = [g for g in GWS if g in p["gateways"]]
    reps = p["reps"]
    L = []
    L.append("# bench/run: hopgate beside HAProxy and nginx, %s" % doc["date"][:10])
    L.append("")
    L.append("Generated by `bench/lib/report.py` from `%s`; every figure comes from that run." %
             os.path.basename(doc.get("_path", "results.json")))
    L.append("")
    L.append("- command: `%s` (%s, took %d:%02d)" % (doc["command"].strip(),
             "quick" if p["quick"] else "full", doc["duration_s"] // 60, doc["duration_s"] % 60))
    L.append("- machine: %s, %d cores, %d MB, %s, kernel %s" % (m["cpu"], m["cores"], m["memory_mb"], m["os"],
                                                            m["kernel"]))
    lb, la = doc["load_before"], doc["load_after"]
    L.append("- load: before the run loadavg %s with %.2f of %d CPUs busy; after it loadavg %s. "
             "Clients, the backend and all three gateways share these %d cores (and, while this ran, "
             "whatever else the machine was doing: see `background_cpus` per measure in the JSON)" % (
                 " ".join(lb["loadavg"]), lb["cpus_busy"], m["cores"], " ".join(la["loadavg"]), m["cores"]))
    bg = background(doc)
    if bg:
        L[-1] += ("; during the measures other processes used %.2f CPUs (median; up to %.2f)" % (bg[0], bg[2]))
    sw = doc["software"]
    bins = sw.get("hopgate_binaries") or {}
    L.append("- software: hopgate %s (binaries as built in build/, hopgate-dp of %s), %s, %s, %s" % (
        sw["hopgate"], bins.get("hopgate-dp", "?"), (sw.get("haproxy") or "-").split(" - ")[0],
        sw.get("nginx") or "-", sw["openssl"]))
    L.append("- parameters: %d repetition(s) (%s), bulk %d MB per test (many = %d connections), timed tests "
             "%g s, %d client processes for connection rates, %d idle connections held, latency at %g "
             "requests/s of 64 bytes; TLS %s, hopgate busy_poll %s" % (
                 reps, "medians, min–max in brackets" if reps > 1 else "single values",
                 p["mb"], p["conns"], p["seconds"], p["procs"], p["hold"], p["rate"], p["tls"],
                 "on" if p["busy_poll"] else "off (idle back-off, the lab's default)"))
    ciphers = sorted({"%s %s" % (r["tls"]["version"], r["tls"]["cipher"]) for r in doc["runs"]
                      if r.get("tls") and r["tls"].get("cipher")})
    if ciphers:
        L.append("- negotiated: %s (ECDSA P-256 certificate gateway.lab, the same for all)" % ", ".join(ciphers))
    bad = [r for r in doc["runs"] if not r.get("ok")]
    if bad:
        L.append("- **%d measure(s) failed their checks** and are left out: %s" % (
            len(bad), ", ".join("%s/%s/%d" % (r["scenario"], r["gateway"], r["rep"]) for r in bad)))
    L.append("")
    L.append("Ratios are hopgate's median over the peer's: above 1 means hopgate is higher, which is "
             "better for rates and throughput and worse for cycles, latency and memory.")
    L.append("")

    def section(title, text, tbl):
        if tbl:
            L.append("## " + title)
            L.append("")
            if text:
                L.append(text)
                L.append("")
            L.append(tbl)
            L.append("")

    section("Bulk throughput (Mbit/s, wall clock)",
            "Application bytes moved through the gateway in one direction, timed from when all "
            "connections are up (and their handshakes done) to the last byte. Upload: client to "
            "backend; download: backend to client. *direct* is the client and backend on one link, "
            "no gateway: what the load generators manage on this machine.",
            table(S, doc, [(label(s, doc), s, "mbps") for s in BULK], gws, direct=True))
    section("Cost per relayed byte (CPU cycles per byte, lower is better)",
            "hopgate: the data plane's busy_cycles (TSC cycles of worker loop iterations that did "
            "work) over the bytes moved; HAProxy, nginx: their processes' CPU time in TSC cycles "
            "(%s Hz) over the same bytes. TLS rows include the record layer (AES-GCM both ways)." % (
                "{:,}".format(p["tsc_hz"])),
            table(S, doc, [(label(s, doc), s, "cycles_per_byte") for s in BULK], gws))
    section("Throughput per gateway core (Gbit/s per CPU-second, higher is better)",
            "Bytes moved over the gateway's CPU time: what one core would carry if the gateway had "
            "it to itself (hopgate: one data-plane worker, busy cycles; peers: one thread, process "
            "CPU).",
            table(S, doc, [(label(s, doc), s, "gbps_per_core") for s in BULK], gws))
    rows = []
    for s in CONN:
        rows.append(("%s: per second" % label(s, doc), s, "per_second"))
    section("New connections per second (wall clock)",
            "%d client processes, each: connect, (handshake), 1 byte echoed by the backend, close." % p["procs"],
            table(S, doc, rows, gws, direct=True))
    rows = []
    for s in CONN:
        rows.append(("%s: cycles per connection" % label(s, doc), s, "cycles_per_conn"))
    for s in ("tls-conn", "tls-resume"):
        rows.append(("%s: handshakes per gateway core-second" % label(s, doc), s, "hs_per_core_s"))
    section("Cost per connection (lower is better) and handshakes per core",
            "hopgate: data-plane busy cycles, plus hopgate-cp's CPU time for TLS (handshakes run "
            "there); peers: process CPU time. Handshakes per core-second = connections / those "
            "cycles in seconds.",
            table(S, doc, rows, gws))
    rows = [(label(s, doc), s, "process_cycles_per_byte") for s in BULK]
    rows += [("%s (per connection)" % label(s, doc), s, "process_cycles_per_conn") for s in CONN]
    section("The same costs from process CPU time alone (cycles, lower is better)",
            "All three measured the same way: the CPU time of the gateway's processes (hopgate: "
            "hopgate-dp, all its threads, idle polling included, plus hopgate-cp). hopgate's "
            "busy_cycles above are TSC time, so they also count time its worker was preempted in the "
            "middle of a busy iteration, which on a loaded 2-core machine is not nothing; this table "
            "has no such bias (and has the opposite one: idle polling).",
            table(S, doc, rows, gws))
    rows = []
    for s in ("tls-conn", "tls-resume"):
        rows += [("%s: data-plane busy cycles per connection" % label(s, doc), s, "dp_cycles_per_conn"),
                 ("%s: hopgate-cp cycles per handshake" % label(s, doc), s, "cp_cycles_per_conn"),
                 ("%s: handshakes per control-plane core-second" % label(s, doc), s, "hs_per_cp_core_s")]
    section("hopgate's TLS handshakes by plane",
            "Handshakes counted by hopgate-cp (stats.tls.handshakes_completed) over its process CPU "
            "time: what one control-plane core completes per second.",
            table(S, doc, rows, ["hopgate"], with_ratios=False))
    rows = []
    for s in LAT:
        rows += [("%s p50 added" % label(s, doc), s, "p50_added_us"),
                 ("%s p99 added" % label(s, doc), s, "p99_added_us")]
    lat_gws = gws + (["hopgate-bp"] if any("hopgate-bp" in S.get(x, {}) for x in LAT) else [])
    section("Latency added by the gateway (microseconds, lower is better)",
            "One connection through the gateway, 64-byte requests echoed by the backend at %g per "
            "second for %g s, each timed from its scheduled send time; alongside it a second "
            "connection straight to the backend (no gateway, plain TCP) with its requests half an "
            "interval later. Every request through the gateway is paired with the direct one after "
            "it; added = the difference within a pair, and these are the p50 and p99 of those "
            "differences (the pairs see the same moments of the machine's load). hopgate's worker "
            "sleeps when idle (10 us doubling to 1 ms, the lab's setting), and requests 1 ms apart "
            "often find it asleep; *hopgate, busy poll* is hopgate's data plane restarted with "
            "`dataplane.busy_poll` (it never sleeps, and keeps a core busy) at the end of the run, "
            "the same tests again." % (p["rate"], p["seconds"]),
            table(S, doc, rows, lat_gws))
    rows = []
    for s in LAT:
        rows += [("%s p50" % label(s, doc), s, "p50_us"),
                 ("%s p50, direct path alongside" % label(s, doc), s, "direct_p50_us"),
                 ("%s p99" % label(s, doc), s, "p99_us"),
                 ("%s p99, direct path alongside" % label(s, doc), s, "direct_p99_us")]
    section("Round trips, absolute (microseconds)",
            "Each gateway's run measures the direct path (client to backend, no gateway, plain TCP) "
            "on a second connection, half an interval after each request through the gateway.",
            table(S, doc, rows, lat_gws, with_ratios=False))
    rows = []
    for s in IDLE:
        rows += [("%s: RSS per connection over the RSS at start (KB)" % label(s, doc), s, "rss_per_conn_kb"),
                 ("%s: RSS growth per connection within the test (KB)" % label(s, doc), s,
                  "rss_growth_per_conn_kb"),
                 ("%s: RSS at start (KB)" % label(s, doc), s, "rss_kb_fresh"),
                 ("%s: RSS while holding (KB)" % label(s, doc), s, "rss_kb_holding"),
                 ("%s: machine slab growth per connection (KB)" % label(s, doc), s, "slab_per_conn_kb")]
    section("Idle connections held (%d) and their memory" % p["hold"],
            "Client connections opened one after another, one byte echoed on each, then held idle. "
            "RSS: the gateway's processes (hopgate: hopgate-dp + hopgate-cp; nginx: master + worker), "
            "while holding, over what they had right after they started (before any test; an "
            "allocator keeps what an earlier repetition freed, so the growth within one test says "
            "little after the first). "
            "hopgate reserves its memory at start (DPDK pools, connection tables), so its RSS barely "
            "moves; the peers' kernel socket buffers are not in their RSS, hence the machine-wide "
            "slab growth (which also counts the client's and backend's sockets, the same for all, "
            "and anything else the machine did meanwhile).",
            table(S, doc, rows, gws))
    section("Data plane alone: no kernel in the path (hopgate only)",
            "hopgate's relay (the same config, one worker) between two more hopgate-dp instances "
            "joined to it by net_memif: a load instance whose own TCP source (upload) or discard "
            "(download) service runs on C connections it opens through the gateway "
            "(`hopgatectl connect`), and a backend instance with a discard listener and an endless "
            "source. Counted over %g s after a second of warm-up, from the gateway instance's "
            "counters: wall-clock Mbit/s, and per busy data-plane core (busy_cycles as seconds) "
            "Gbit/s and packets (both ports, in and out). All three instances share the machine's "
            "cores, so the per-core figures are the meaningful ones. TLS has no such mode yet: the "
            "data plane has no TLS client to generate the load." % p["seconds"],
            table(S, doc, [(label(s, doc) + ", Mbit/s wall clock", s, "mbps") for s in DP] +
                  [(label(s, doc) + ", Gbit/s per core", s, "gbps_per_core") for s in DP] +
                  [(label(s, doc) + ", Mpps per core", s, "mpps_per_core") for s in DP] +
                  [(label(s, doc) + ", cycles per byte", s, "cycles_per_byte") for s in DP] +
                  [(label(s, doc) + ", cycles per packet", s, "cycles_per_packet") for s in DP],
                  ["hopgate"], with_ratios=False))
    if pngs:
        L.append("## Charts")
        L.append("")
        for png in pngs:
            L.append("![%s](%s)" % (os.path.basename(png), os.path.basename(png)))
            L.append("")
    L.append("## How it was measured")
    L.append("")
    L.append("""- Lab: `scripts/lab` with prefix hgbn; hopgate-dp (one worker, af_packet ports) between
  hgbn-client and hgbn-backend; HAProxy (`mode tcp`, `nbthread 1`) and nginx (stream module,
  `worker_processes 1`) each in their own namespace joined to the same two namespaces by veth pairs
  with offloads off (as the data plane's links: every gateway sees MTU-sized frames). One backend
  server (`bench/lib/load.py backend`, 2 processes) serves all three.
- Same job for all: plain TCP relay on :8080 and TLS termination on :443 to the same backend, same
  certificate and key, TLS 1.2–1.3, the same suites, groups and server preference, session tickets on.
  The configurations are in the JSON (`configs`).
- Clients (`bench/lib/load.py`) are the kernel's TCP and Python's ssl (OpenSSL) in hgbn-client,
  verifying the certificate. Gateways take turns within every repetition, in an order that rotates.
- Cycles: hopgate's are counted by its data plane with the TSC (`busy_cycles`: loop iterations that
  did work; idle polling and sleeping excluded), plus hopgate-cp's process CPU time (schedstat) for
  TLS handshakes; HAProxy's and nginx's are their processes' CPU time (schedstat), converted at the
  TSC rate. Kernel work done for the peers' sockets in softirq context is not all charged to them;
  af_packet's work for hopgate is not charged to hopgate either: the comparison is indicative. The
  JSON also has every process's CPU time (`accounting`).
- Wall-clock figures are bounded by the Python clients and backend sharing the machine's cores with
  the gateway; the cycle figures are the gateways' own.""")
    L.append("")
    return "\n".join(L)


def readme_block(doc, S, md_path):
    p = doc["parameters"]
    gws = [g for g in GWS if g in p["gateways"]]
    m = doc["machine"]
    rows = []
    for s in ("tcp-up-1", "tcp-down-1", "tcp-up-N", "tls-up-1", "tls-down-1", "tls-down-N"):
        rows.append(("%s, Mbit/s" % label(s, doc), s, "mbps"))
    for s in ("tcp-up-1", "tls-up-1", "tls-down-1"):
        rows.append(("%s, cycles/byte" % label(s, doc), s, "cycles_per_byte"))
    for s in ("tcp-up-1", "tls-up-1", "tls-down-1"):
        rows.append(("%s, cycles/byte from process CPU time" % label(s, doc), s, "process_cycles_per_byte"))
    rows += [("TCP connections/s", "tcp-conn", "per_second"),
             ("TCP cycles/connection", "tcp-conn", "cycles_per_conn"),
             ("TLS full handshakes/s", "tls-conn", "per_second"),
             ("TLS full handshakes per gateway core-second", "tls-conn", "hs_per_core_s"),
             ("TLS resumptions/s", "tls-resume", "per_second"),
             ("TCP latency added p50 / p99, us", "tcp-latency", None),
             ("TLS latency added p50 / p99, us", "tls-latency", None),
             ("idle TLS connections: RSS per connection, KB", "tls-idle", "rss_per_conn_kb"),
             ("idle TLS connections: RSS while holding %d, MB" % p["hold"], "tls-idle", "rss_mb_holding")]
    reps = p["reps"]
    head = ["", *[NAMES[g] for g in gws]] + ["hopgate / %s" % NAMES[g] for g in gws if g != "hopgate"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for lab, s, metric in rows:
        if s not in S:
            continue
        if metric is None:
            cells = []
            for g in gws:
                a, b = get(S, s, g, "p50_added_us"), get(S, s, g, "p99_added_us")
                cells.append("%s / %s" % (num(a["median"]), num(b["median"])) if a and b else "-")
            rat = []
            for g in gws:
                if g == "hopgate":
                    continue
                r50, r99 = ratio(S, s, g, "p50_added_us"), ratio(S, s, g, "p99_added_us")
                rat.append("%s / %s" % (rcell(r50), rcell(r99)))
        else:
            cells = [num(get(S, s, g, metric)["median"]) if get(S, s, g, metric) else "-" for g in gws]
            rat = [rcell(ratio(S, s, g, metric)) for g in gws if g != "hopgate"]
        out.append("| " + " | ".join([lab] + cells + (rat if "hopgate" in gws else [])) + " |")
    bp = [(s, get(S, s, "hopgate-bp", "p50_added_us"), get(S, s, "hopgate-bp", "p99_added_us"))
          for s in LAT]
    bp = [x for x in bp if x[1] and x[2]]
    hs = get(S, "tls-conn", "hopgate", "hs_per_cp_core_s")
    lines = [
        "<!-- bench/run:begin (generated by bench/run from %s; do not edit by hand) -->" %
        os.path.relpath(doc["_path"], doc["_root"]),
        "",
        "`%s` on %s (%s, %d cores, kernel %s), %s; took %d:%02d; %d repetition(s)%s. Clients, the backend "
        "and the three gateways share the %d cores; load before the run: loadavg %s%s. "
        "Full report with every measure and charts: [%s](%s)." % (
            doc["command"].strip(), doc["date"][:10], m["cpu"], m["cores"], m["kernel"],
            "quick" if p["quick"] else "full", doc["duration_s"] // 60, doc["duration_s"] % 60, reps,
            ", medians" if reps > 1 else "", m["cores"], " ".join(doc["load_before"]["loadavg"]),
            "; other work on the machine used %.2f CPUs (median) during the measures" % background(doc)[0]
            if background(doc) else "",
            os.path.relpath(md_path, doc["_root"]), os.path.relpath(md_path, doc["_root"])),
        "",
    ] + (out if len(out) > 2 else []) + [""]
    bad = [r for r in doc["runs"] if not r.get("ok")]
    if bad:
        lines.append("%d measure(s) of %d failed their checks and are left out of the medians (%s; "
                     "see the report)." % (len(bad), len(doc["runs"]), ", ".join(
                         "%s/%s rep %d" % (r["scenario"], r["gateway"], r["rep"]) for r in bad)))
        lines.append("")
    lines.append("hopgate's cycles are its data plane's busy_cycles (TSC time of loop iterations that did "
                 "work, so time its worker spent preempted counts too) plus hopgate-cp's CPU time for "
                 "TLS handshakes; the peers' are their process CPU time; the rows \"from process CPU "
                 "time\" count all three the same way.")
    lines.append("")
    if hs:
        lines.append("hopgate-cp completed %s full TLS handshakes per second of its CPU time "
                     "(per control-plane core); the data plane's busy cycles per handshake are in "
                     "the report." % num(hs["median"]))
        lines.append("")
    dps = [(x, get(S, x, "hopgate", "gbps_per_core"), get(S, x, "hopgate", "mpps_per_core")) for x in DP]
    dps = [x for x in dps if x[1] and x[2]]
    if dps:
        lines.append("Data plane alone (no kernel: hopgate's own TCP services as load and backend, "
                     "joined to the relay by net_memif), per busy data-plane core: %s." % "; ".join(
                         "%s %s Gbit/s, %s Mpps" % (label(x, doc), num(g["median"]), num(q["median"]))
                         for x, g, q in dps))
        lines.append("")
    if bp:
        lines.append("hopgate's worker sleeps when idle; restarted with `dataplane.busy_poll` "
                     "(never sleeping, a core kept busy) it adds %s (p50 / p99, us) in the same "
                     "latency tests." % ", ".join("%s / %s to %s" % (num(a["median"]), num(b["median"]),
                                                                      label(s, doc)) for s, a, b in bp))
        lines.append("")
    lines.append("<!-- bench/run:end -->")
    return "\n".join(lines)


def main():
    args = sys.argv[1:]
    readme = None
    if "--readme" in args:
        i = args.index("--readme")
        readme = args[i + 1]
        del args[i:i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    path = os.path.abspath(args[0])
    doc = json.load(open(path))
    doc["_path"] = path
    doc["_root"] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    base = path[:-5] if path.endswith(".json") else path
    S = summarize(doc)
    gws = [g for g in GWS if g in doc["parameters"]["gateways"]]
    for old in os.listdir(os.path.dirname(base)):  # charts of an earlier run of the same name
        if old.startswith(os.path.basename(base) + "-") and old.endswith(".png"):
            os.unlink(os.path.join(os.path.dirname(base), old))
    pngs = charts(S, doc, base, gws)
    md = render(doc, S, pngs)
    open(base + ".md", "w").write(md)
    print()
    # The summary on the terminal: the README block's table.
    block = readme_block(doc, S, base + ".md")
    print("\n".join(l for l in block.splitlines() if not l.startswith("<!--")))
    print("written: %s, %s%s" % (path, base + ".md", "".join(", " + x for x in pngs)))
    if readme:
        text = open(readme).read()
        b = text.find("<!-- bench/run:begin")
        e = text.find("<!-- bench/run:end -->")
        if b < 0 or e < b:
            print("%s has no bench/run markers: not updated" % readme)
        elif set(doc["parameters"]["gateways"]) != set(GWS) or \
                set(doc["parameters"]["scenarios"]) != set(BULK + CONN + LAT + IDLE + DP) or \
                os.path.dirname(path) != os.path.join(doc["_root"], "bench", "results"):
            print("%s not updated: only a run of every scenario and gateway into bench/results is quoted"
                  % readme)
        else:
            text = text[:b] + block + text[e + len("<!-- bench/run:end -->"):]
            open(readme, "w").write(text)
            print("updated the bench/run block of %s" % readme)


if __name__ == "__main__":
    main()
