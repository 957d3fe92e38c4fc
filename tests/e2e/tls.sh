#!/usr/bin/env bash
# Issue 5, end to end: TLS terminated by the gateway (handshake in
# hopgate-cp, records in hopgate-dp) between real clients in the client
# namespace and real servers in the backend namespace.
#   HG_TLS_MB           megabytes each way for the clean bulk transfer (1000)
#   HG_TLS_IMPAIRED_MB  the same under loss and reordering (default HG_TLS_MB)
set -uo pipefail
. "$(dirname "$0")/lib.sh"

MB=${HG_TLS_MB:-1000}
IMPAIRED_MB=${HG_TLS_IMPAIRED_MB:-$MB}
TOOL="python3 $(dirname "$0")/tcp_client.py"
TLSTOOL="python3 $(dirname "$0")/tls_tools.py"
e2e_pick_lab
export HG_WAN=1
CFG=$(mktemp /tmp/hg-tls-XXXXXX.json)
BPKI=$(mktemp -d /tmp/hg-tls-bpki-XXXXXX)
# The lab's config plus two virtual servers speaking TLS to an nginx in
# the backend namespace (port 8443, a certificate for backend.lab from a
# CA of the test's own): one that verifies it, one that expects another
# name and must refuse it.
python3 - "$E2E_ROOT/configs/lab.json" "$CFG" "$BPKI" <<'PY'
import copy, json, sys
c = json.load(open(sys.argv[1]))
tls = next(v for v in c["virtual_servers"] if v["name"] == "tls443")
for name, port, sni in (("retls", 9443, "backend.lab"), ("badname", 9444, "other.lab")):
    v = copy.deepcopy(tls)
    v.update(name=name, port=port,
             backends=[{"address": "10.20.0.1", "port": 8443}],
             backend_tls={"ca": sys.argv[3] + "/ca.pem", "server_name": sni})
    c["virtual_servers"].append(v)
json.dump(c, open(sys.argv[2], "w"))
PY
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$BPKI/ca.key" -out "$BPKI/ca.pem" -subj "/CN=backend test CA" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$BPKI/backend.key" -out "$BPKI/backend.csr" -subj "/CN=backend.lab" 2>/dev/null
openssl x509 -req -in "$BPKI/backend.csr" -CA "$BPKI/ca.pem" -CAkey "$BPKI/ca.key" \
	-CAcreateserial -days 2 -out "$BPKI/backend.pem" \
	-extfile <(echo "subjectAltName=DNS:backend.lab") 2>/dev/null
cleanup() {
	[ -n "${NGINX_PID:-}" ] && kill "$NGINX_PID" 2>/dev/null
	[ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null
	rm -rf "${NGINX_DIR:-/nonexistent}" "/etc/netns/${NS_C:-none}" "$CFG" "$BPKI"
	e2e_cleanup
}
trap cleanup EXIT
e2e_lab_up "$CFG"
CA=$RUN/pki/ca.pem
ok "lab up ($HG_PREFIX); TLS virtual server $GW_C:443, lab CA $CA"
check "scripts/lab status names the lab CA" \
	sh -c "'$LAB' status | grep -qF 'lab CA: $CA'"
inc() { ip netns exec "$NS_C" timeout "$1" "${@:2}"; }
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# has TEXT PATTERN...: every fixed-string PATTERN is in TEXT.
has() {
	local t=$1 p
	shift
	for p; do case $t in *"$p"*) ;; *) return 1 ;; esac; done
}
lacks() { ! has "$@"; }
mbps() { awk "BEGIN { printf \"%.0f\", $1 * 8 / ($3 - $2) }"; }
total() { ctl --json stats | python3 -c '
import json, sys
print(json.load(sys.stdin)["total"][sys.argv[1]])' "$1"; }
cpstat() { ctl --json stats | python3 -c '
import json, sys
print(json.load(sys.stdin)["tls"][sys.argv[1]])' "$1"; }
URL=https://gateway.lab/
CURL=(curl -s --cacert "$CA" --resolve "gateway.lab:443:$GW_C")
# s_client VERSION-AND-SUITE-OPTIONS...: one HTTP request, the whole output.
sclient() {
	printf 'GET / HTTP/1.0\r\nHost: gateway.lab\r\n\r\n' |
		inc 10 openssl s_client -connect "$GW_C:443" -servername gateway.lab \
			-CAfile "$CA" -verify_return_error -ign_eof "$@" 2>&1
}

# 1. nginx behind the TLS virtual server.
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
	server {
		listen $HG_BACKEND_NET.1:8443 ssl;
		ssl_certificate $BPKI/backend.pem;
		ssl_certificate_key $BPKI/backend.key;
		root $NGINX_DIR/www;
	}
}
NGX
ip netns exec "$NS_B" nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" &
NGINX_PID=$!
sleep 0.5

out=$(inc 10 "${CURL[@]}" -v --tlsv1.3 "$URL" 2>&1)
check "curl TLS 1.3 through the gateway gets nginx's page" has "$out" "hello through hopgate" "SSL connection using TLSv1.3"
out=$(inc 10 "${CURL[@]}" -v --tlsv1.2 --tls-max 1.2 "$URL" 2>&1)
check "curl TLS 1.2 (--tlsv1.2 --tls-max 1.2) gets nginx's page" has "$out" "hello through hopgate" "SSL connection using TLSv1.2"
sum=$(inc 20 "${CURL[@]}" "${URL}blob" | sha256sum | cut -d' ' -f1)
check "a 1 MB file over TLS, SHA-256 equal" [ "$sum" = "$(sha256sum <"$NGINX_DIR/www/blob" | cut -d' ' -f1)" ]
n=0
for i in $(seq 30); do inc 5 "${CURL[@]}" -o /dev/null -w '%{http_code}\n' "$URL" | grep -q 200 && n=$((n + 1)); done
check "30 TLS requests in a row: $n answered 200" [ "$n" = 30 ]

for s in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	out=$(sclient -tls1_3 -ciphersuites "$s")
	check "s_client TLS 1.3 $s" has "$out" "hello through hopgate" "Cipher is $s" "Verify return code: 0"
done
for s in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305 \
	ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384 ECDHE-RSA-CHACHA20-POLY1305; do
	out=$(sclient -tls1_2 -cipher "$s")
	check "s_client TLS 1.2 $s" has "$out" "hello through hopgate" "Cipher is $s" "Verify return code: 0"
done
out=$(sclient -tls1_3 -sigalgs ecdsa_secp256r1_sha256)
check "TLS 1.3 with the ECDSA certificate" has "$out" "hello through hopgate" "Peer signature type: ECDSA"
out=$(sclient -tls1_3 -sigalgs rsa_pss_rsae_sha256)
check "TLS 1.3 with the RSA certificate" has "$out" "hello through hopgate" "Peer signature type: RSA-PSS" "Server public key is 2048 bit"
out=$(inc 20 openssl s_client -connect "$GW_C:443" -servername gateway.lab \
	-CAfile "$CA" -reconnect -tls1_2 </dev/null 2>&1)
reused=$(echo "$out" | grep -c '^Reused, TLSv1.2')
check "s_client -reconnect -tls1_2: the 5 reconnections resumed the session ($reused)" [ "$reused" = 5 ]
# OpenSSL 3.0's s_client -reconnect does not wait for TLS 1.3 tickets (it
# resumes nothing against openssl s_server either): a first connection
# that reads its answer (and so the tickets) saves the session, and later
# ones resume it.
sclient -tls1_3 -sess_out "$RUN/s13" >/dev/null
reused=0
for i in 1 2 3; do
	out=$(sclient -tls1_3 -sess_in "$RUN/s13")
	has "$out" "Reused, TLSv1.3" "hello through hopgate" && reused=$((reused + 1))
done
check "TLS 1.3 session tickets: 3 of 3 later connections resumed ($reused)" [ "$reused" = 3 ]
check "the control plane counted the resumptions ($(cpstat resumptions))" [ "$(cpstat resumptions)" -ge 8 ]
check "handshakes completed in the data plane ($(total tls_handshakes_completed))" [ "$(total tls_handshakes_completed)" -ge 40 ]
out=$(sclient -tls1_1)
check "TLS 1.1 is refused" lacks "$out" "hello through hopgate"

# TLS to the backend as well (backend_tls): nginx serves TLS on 8443.
RURL=https://gateway.lab:9443/
out=$(inc 10 "${CURL[@]}" --resolve "gateway.lab:9443:$GW_C" "$RURL" 2>&1)
check "TLS on both sides (virtual server retls -> nginx over TLS): the page arrives" has "$out" "hello through hopgate"
sum=$(inc 20 "${CURL[@]}" --resolve "gateway.lab:9443:$GW_C" "${RURL}blob" | sha256sum | cut -d' ' -f1)
check "a 1 MB file re-encrypted to the backend, SHA-256 equal" [ "$sum" = "$(sha256sum <"$NGINX_DIR/www/blob" | cut -d' ' -f1)" ]
for v in --tlsv1.2; do
	out=$(inc 10 "${CURL[@]}" $v --tls-max 1.2 --resolve "gateway.lab:9443:$GW_C" "$RURL" 2>&1)
	check "TLS 1.2 client side, re-encrypted: the page arrives" has "$out" "hello through hopgate"
done
check "the control plane completed handshakes with the backend ($(ctl --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["tls"]["backend"]["handshakes_completed"])'))" \
	[ "$(ctl --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["tls"]["backend"]["handshakes_completed"])')" -ge 3 ]
out=$(inc 10 "${CURL[@]}" --resolve "gateway.lab:9444:$GW_C" https://gateway.lab:9444/ 2>&1)
check "a backend whose certificate does not name the expected server is refused" lacks "$out" "hello through hopgate"
bad=$(ctl --json stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["tls"]["backend"]["failed_by_reason"]["bad_certificate"])')
check "counted as bad_certificate ($bad)" [ "$bad" -ge 1 ]
kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null; NGINX_PID=""

# 2. Bulk both ways: socat's OPENSSL client through the TLS virtual server
# to a plain TCP sink / source in the backend namespace.
bulk() { # label megabytes
	local bytes=$(($2 * 1000000)) t0 t1 up down
	ip netns exec "$NS_B" timeout 1200 socat -u TCP-LISTEN:8080,reuseaddr - 2>/dev/null |
		sha256sum >"$RUN/up.sum" &
	SERVER_PID=$!
	sleep 0.3
	t0=$(date +%s.%N)
	up=$(head -c "$bytes" /dev/urandom | tee >(sha256sum >"$RUN/up.src") |
		inc 1200 socat -u - "OPENSSL:gateway.lab:443,cafile=$CA,connect-timeout=5" 2>&1)
	wait "$SERVER_PID"; SERVER_PID=""
	t1=$(date +%s.%N)
	sleep 0.2
	check "$1: $2 MB client -> backend over TLS, SHA-256 equal ($(mbps "$2" "$t0" "$t1") Mbit/s)" \
		[ -s "$RUN/up.sum" -a "$(cat "$RUN/up.sum")" = "$(cat "$RUN/up.src" 2>/dev/null)" ]
	head -c "$bytes" /dev/urandom >"$RUN/down.src.bin" 2>/dev/null || true
	ip netns exec "$NS_B" timeout 1200 socat -u OPEN:"$RUN/down.src.bin" TCP-LISTEN:8080,reuseaddr &
	SERVER_PID=$!
	sleep 0.3
	t0=$(date +%s.%N)
	down=$(inc 1200 socat -u "OPENSSL:gateway.lab:443,cafile=$CA,connect-timeout=5" - 2>/dev/null | sha256sum)
	t1=$(date +%s.%N)
	wait "$SERVER_PID"; SERVER_PID=""
	check "$1: $2 MB backend -> client over TLS, SHA-256 equal ($(mbps "$2" "$t0" "$t1") Mbit/s)" \
		[ "$down" = "$(sha256sum <"$RUN/down.src.bin")" ]
	rm -f "$RUN/down.src.bin" "$RUN/up.sum" "$RUN/up.src"
	[ -z "$up" ] || diag "socat: $up"
}
# socat resolves gateway.lab through the client namespace's /etc/hosts.
mkdir -p "/etc/netns/$NS_C"
echo "$GW_C gateway.lab" >"/etc/netns/$NS_C/hosts"
bulk "clean link" "$MB"
"$LAB" impair --loss 1 --reorder 1 --seed 5 >/dev/null
bulk "1% loss and 1% reordering on both links" "$IMPAIRED_MB"
"$LAB" impair >/dev/null

# 3. KeyUpdate both ways during an echo session (s_client's k and K).
ip netns exec "$NS_B" timeout 120 $TOOL echo-server 8080 60 >/dev/null 2>&1 &
SERVER_PID=$!
sleep 0.5
ku_in=$(total tls_key_updates_in)
ku_out=$(total tls_key_updates_out)
out=$({ echo "before the updates"; sleep 0.5; echo k; sleep 0.5; echo "after k";
	sleep 0.5; echo K; sleep 0.5; echo "after K"; sleep 1; } |
	inc 20 openssl s_client -connect "$GW_C:443" -servername gateway.lab \
		-CAfile "$CA" -tls1_3 2>&1)
check "KeyUpdate from the client (k), and requested back (K): the session carries on" \
	has "$out" "before the updates" "after k" "after K" "KEYUPDATE"
check "the data plane took 2 KeyUpdates ($(($(total tls_key_updates_in) - ku_in))) and sent 1 ($(($(total tls_key_updates_out) - ku_out)))" \
	[ $(($(total tls_key_updates_in) - ku_in)) -ge 2 -a $(($(total tls_key_updates_out) - ku_out)) -ge 1 ]

# 4. A corrupted record ends that flow only.
fails=$(total tls_decrypt_failures)
out=$(inc 20 $TLSTOOL corrupt "$GW_C" 443 "$CA" gateway.lab 1.3)
check "a flipped ciphertext byte: bad_record_mac alert, connection closed ($out)" \
	has "$out" "BAD_RECORD_MAC" "closed=1"
out=$(inc 20 $TLSTOOL corrupt "$GW_C" 443 "$CA" gateway.lab 1.2)
check "the same over TLS 1.2 ($out)" has "$out" "BAD_RECORD_MAC" "closed=1"
check "decrypt failures counted ($(($(total tls_decrypt_failures) - fails)))" [ $(($(total tls_decrypt_failures) - fails)) -ge 2 ]
out=$({ echo "still here"; sleep 1; } | inc 10 openssl s_client -connect "$GW_C:443" \
	-servername gateway.lab -CAfile "$CA" -quiet 2>&1)
check "other flows carry on" has "$out" "still here"
kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=""

# 5. sslscan: only TLS 1.2 and 1.3, only AEAD suites.
scan=$(inc 120 sslscan --no-colour --no-heartbleed "$GW_C:443" 2>&1)
diag "$(echo "$scan" | grep -E 'Accepted|Preferred|enabled' | tr -s ' ')"
check "sslscan: SSLv2, SSLv3, TLS 1.0 and 1.1 disabled" \
	has "$scan" "SSLv2     disabled" "SSLv3     disabled" "TLSv1.0   disabled" "TLSv1.1   disabled"
check "sslscan: TLS 1.2 and 1.3 enabled" has "$scan" "TLSv1.2   enabled" "TLSv1.3   enabled"
weak=$(echo "$scan" | grep -E '^(Preferred|Accepted)' | grep -vE 'GCM|CHACHA20' || true)
check "sslscan: every accepted suite is AEAD (${weak:-none other})" [ -z "$weak" ]

# 6. The data plane never holds a private key (grep its memory after a
# handshake; the same grep finds the keys in the control plane).
inc 10 "${CURL[@]}" -o /dev/null "$URL" || true
keys=("$RUN/pki/gateway.lab-ecdsa.key" "$RUN/pki/gateway.lab-rsa.key")
dp=$($TLSTOOL keygrep "$(cat "$RUN/dp.pid")" "${keys[@]}")
cp=$($TLSTOOL keygrep "$(cat "$RUN/cp.pid")" "${keys[@]}")
diag "data plane: $dp; control plane: $cp"
check "no private key bytes in the data plane's memory ($dp)" [ "$(field found "$dp")" = 0 ]
check "the same search finds them in the control plane ($cp)" [ "$(field found "$cp")" -gt 0 ]

rm -rf "/etc/netns/$NS_C"
e2e_finish
