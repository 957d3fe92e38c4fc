#!/usr/bin/env bash
# Issue 4, end to end: the L4 relay between real clients in the client
# namespace and real servers in the backend namespace.
#   HG_RELAY_MB   megabytes each way for the bulk transfers (default 1000)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

MB=${HG_RELAY_MB:-1000}
# Both links impaired (client and backend side): about 75 Mbit/s each way
# measured, so 1000 MB each way takes two to three minutes.
IMPAIRED_MB=${HG_RELAY_IMPAIRED_MB:-$MB}
BYTES=$((MB * 1000000))
TOOL="python3 $(dirname "$0")/tcp_client.py"
e2e_pick_lab
export HG_WAN=1
CFG=$(mktemp /tmp/hg-relay-XXXXXX.json)
# The lab's config plus a virtual server whose only backend is down.
python3 - "$E2E_ROOT/configs/lab.json" "$CFG" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["virtual_servers"].append({"name": "dead", "address": "10.10.0.10",
    "port": 8081, "backends": [{"address": "10.20.0.1", "port": 8081}],
    "connect_retries": 0, "backend_down_s": 30})
json.dump(c, open(sys.argv[2], "w"))
PY
cleanup() {
	[ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null
	[ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null
	rm -rf "$CFG" "${NGINX_DIR:-/nonexistent}"
	e2e_cleanup
}
trap cleanup EXIT
e2e_lab_up "$CFG"
ok "lab up ($HG_PREFIX) with virtual servers tcp8080 and dead"
VS="$GW_C 8080"
inc() { ip netns exec "$NS_C" timeout "$1" "${@:2}"; }
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
relay() { ctl --json stats | python3 -c '
import json, sys
t = json.load(sys.stdin)["total"]
print(t[sys.argv[1]])' "$1"; }

# 1. HTTP through the gateway to a real nginx.
NGINX_DIR=$(mktemp -d /tmp/hg-nginx-XXXXXX)
mkdir -p "$NGINX_DIR/www" "$NGINX_DIR/logs"
head -c 1000000 /dev/urandom >"$NGINX_DIR/www/blob"
echo "hello through hopgate" >"$NGINX_DIR/www/index.html"
cat >"$NGINX_DIR/nginx.conf" <<NGX
daemon off;
user root;
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/logs/error.log;
events { worker_connections 1024; }
http {
	access_log $NGINX_DIR/logs/access.log;
	server {
		listen $HG_BACKEND_NET.1:8080;
		root $NGINX_DIR/www;
	}
}
NGX
ip netns exec "$NS_B" nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" &
NGINX_PID=$!
sleep 0.5
body=$(inc 10 curl -s "http://$GW_C:8080/")
check "curl through the gateway gets nginx's page" [ "$body" = "hello through hopgate" ]
sum_remote=$(inc 20 curl -s "http://$GW_C:8080/blob" | sha256sum | cut -d' ' -f1)
sum_local=$(sha256sum "$NGINX_DIR/www/blob" | cut -d' ' -f1)
check "a 1 MB file through the gateway, SHA-256 equal" [ "$sum_remote" = "$sum_local" ]
n=0
for i in $(seq 50); do inc 5 curl -s -o /dev/null -w '%{http_code}\n' "http://$GW_C:8080/" | grep -q 200 && n=$((n + 1)); done
check "50 requests in a row: $n answered 200" [ "$n" = 50 ]
peers=$(awk '{print $1}' "$NGINX_DIR/logs/access.log" | sort -u | tr '\n' ' ')
check "nginx saw only the gateway's inside address ($peers)" [ "$peers" = "$GW_B " ]
kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null; NGINX_PID=""

# 2. Bulk both ways, clean and impaired, against an echo server.
ip netns exec "$NS_B" timeout 3000 $TOOL echo-server 8080 2400 >"$RUN/echo-server.out" 2>&1 &
SERVER_PID=$!
sleep 0.5
bulk() { # label megabytes
	local r bytes=$(($2 * 1000000))
	r=$(inc 1200 $TOOL echo $VS "$bytes")
	diag "$1: $r"
	check "$1: $2 MB each way through the relay, SHA-256 equal ($(field mbps "$r") Mbit/s)" \
		[ "$(field received "$r")" = "$bytes" -a "$(field sent_sha "$r")" = "$(field received_sha "$r")" ]
}
bulk "clean link" "$MB"
check "no payload byte copied by the relay ($(relay relay_bytes_copied)), none split ($(relay relay_segments_split))" \
	[ "$(relay relay_bytes_copied)" = 0 -a "$(relay relay_segments_split)" = 0 ]
"$LAB" impair --loss 2 --reorder 1 --dup 1 --seed 3 >/dev/null
bulk "both links: 2% loss, 1% reordering, 1% duplication" "$IMPAIRED_MB"
"$LAB" impair >/dev/null
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
peers=$(sed -n 's/.*peers=//p' "$RUN/echo-server.out")
check "the echo server saw only the gateway's inside address ($peers)" [ "$peers" = "$GW_B" ]
SERVER_PID=""

# socat and iperf3 through the relay.
head -c 50000000 /dev/urandom >"$RUN/blob"
ip netns exec "$NS_B" timeout 60 socat -u TCP-LISTEN:8080,reuseaddr OPEN:"$RUN/blob.out",creat,trunc &
SERVER_PID=$!
sleep 0.5
inc 60 socat -u OPEN:"$RUN/blob" TCP:"$GW_C":8080
wait "$SERVER_PID"; SERVER_PID=""
check "socat: 50 MB through the relay, SHA-256 equal" \
	[ "$(sha256sum <"$RUN/blob")" = "$(sha256sum <"$RUN/blob.out")" ]
rm -f "$RUN/blob" "$RUN/blob.out"
ip netns exec "$NS_B" timeout 60 iperf3 -s -p 8080 -1 >/dev/null 2>&1 &
SERVER_PID=$!
sleep 0.5
bps=$(inc 60 iperf3 -c "$GW_C" -p 8080 -t 3 -J 2>/dev/null | python3 -c '
import json, sys
try:
    print(int(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]))
except Exception:
    print(0)')
wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""
check "iperf3 through the relay: $((bps / 1000000)) Mbit/s" [ "$bps" -gt 0 ]
ip netns exec "$NS_B" timeout 3000 $TOOL echo-server 8080 2400 >"$RUN/echo-server.out" 2>&1 &
SERVER_PID=$!
sleep 0.5

# 3. 5,000 concurrent relayed connections, each echoing a byte.
r=$(inc 600 $TOOL hold $VS 5000 3)
diag "hold: $r"
check "5,000 concurrent relayed connections, all answering" [ "$(field opened "$r")" = 5000 -a "$(field alive "$r")" = 5000 ]
empty=""
for _ in $(seq 60); do
	[ "$(relay relay_active)" = 0 ] && { empty=1; break; }
	sleep 1
done
check "flow table empty afterwards (relay_active $(relay relay_active))" [ -n "$empty" ]
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null
SERVER_PID=""

# 4. A backend that stops reading: memory stays bounded, then it resumes.
ip netns exec "$NS_B" timeout 300 $TOOL slow-server 8080 6 >"$RUN/slow.out" 2>&1 &
SERVER_PID=$!
sleep 0.5
base=$(relay mbufs_in_use)
inc 120 $TOOL discard $VS 50000000 >"$RUN/slow-client.out" 2>&1 &
client=$!
sleep 4
held=$(relay mbufs_in_use)
# Two connections' buffers: 2 x (rcv_buf + snd_buf) of 512 KiB, in mbufs
# of at most ~1.5 KB of payload each, is well under 2,000 mbufs.
check "a stalled backend: the flow holds $((held - base)) mbufs (bounded: < 2000), not 50 MB" [ $((held - base)) -lt 2000 ]
wait "$client"
wait "$SERVER_PID"
SERVER_PID=""
r=$(cat "$RUN/slow.out")
diag "slow server: $r"
check "the flow resumed when the backend read again: 50 MB arrived" [ "$(field received "$r")" = 50000000 ]

# 5. A backend that is down: the client gets a RST, stats say down.
out=$(inc 10 $TOOL serial "$GW_C" 8081 1)
check "client of a dead backend is refused ($out)" [ "$(field succeeded "$out")" = 0 ]
state=$(ctl --json stats | python3 -c '
import json, sys
for v in json.load(sys.stdin)["virtual_servers"]:
    if v["name"] == "dead":
        print(v["backends"][0]["state"], v["refused"])')
check "the dead backend is marked down, the flow refused ($state)" [ "${state%% *}" = down ]

# 6. flows and kill.
ip netns exec "$NS_B" timeout 60 $TOOL echo-server 8080 30 >/dev/null 2>&1 &
SERVER_PID=$!
sleep 0.5
inc 30 $TOOL hold $VS 3 8 >/dev/null 2>&1 &
holder=$!
sleep 2
listed=$(ctl --json flows | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["flows"]), d["flows"][0]["id"] if d["flows"] else "")')
check "hopgatectl flows lists the 3 open flows ($listed)" [ "${listed%% *}" = 3 ]
check "hopgatectl kill ends one" ctl kill "${listed##* }"
sleep 0.3
after=$(ctl --json flows | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["flows"]))')
check "two flows left after the kill ($after)" [ "$after" = 2 ]
check "killing it again: no such flow" sh -c "! $CTL -s $SOCK kill ${listed##* } >/dev/null 2>&1"
wait "$holder"
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""

e2e_finish
