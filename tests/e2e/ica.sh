#!/usr/bin/env bash
# The control plane decides a flow (issue 5's hook, used by issue 7's ICA
# proxy): a TLS virtual server with handler "ica" reads the client's SOCKS
# v5 request, whose destination is an ICA file's Address value carrying an
# STA ticket; a valid ticket relays the flow to the server it names, any
# other is refused and never reaches a server.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

TOOL="python3 $(dirname "$0")/ica_tool.py"
e2e_pick_lab
CFG=$(mktemp /tmp/hg-ica-XXXXXX.json)
python3 - "$E2E_ROOT/configs/lab.json" "$CFG" <<'PY'
import copy, json, sys
c = json.load(open(sys.argv[1]))
tls = next(v for v in c["virtual_servers"] if v["name"] == "tls443")
v = copy.deepcopy(tls)
v.update(name="ica", port=1443, handler="ica")
del v["backends"]
c["virtual_servers"].append(v)
c["sta"] = {"authority_id": "STA475DE9C8ABDA", "lifetime_s": 3}
json.dump(c, open(sys.argv[2], "w"))
PY
cleanup() {
	[ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null
	rm -f "$CFG"
	e2e_cleanup
}
trap cleanup EXIT
e2e_lab_up "$CFG"
CA=$RUN/pki/ca.pem
SERVER=$HG_BACKEND_NET.1
ok "lab up ($HG_PREFIX) with the ica virtual server on $GW_C:1443"
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
ica() { ctl --json stats | python3 -c '
import json, sys
v = json.load(sys.stdin)["ica"]
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1"; }
client() { ip netns exec "$NS_C" timeout 120 $TOOL client "$GW_C" 1443 "$CA" gateway.lab "$@"; }
address() { ctl --json ticket "$SERVER" 1494 "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])'; }

ip netns exec "$NS_B" timeout 300 $TOOL server 1494 240 >"$RUN/ica-server.out" 2>&1 &
SERVER_PID=$!
sleep 0.5

t=$(address alice notepad)
check "hopgatectl ticket issues an ICA Address value ($(echo "$t" | cut -c1-24)...)" \
	sh -c "echo '$t' | grep -qE '^;40;STA475DE9C8ABDA;[0-9A-F]{32}$'"
r=$(client "$t" 20000000)
diag "$r"
check "a valid ticket (SOCKS greeting + CONNECT): relayed, detect exchange, 20 MB echoed, SHA-256 equal" \
	[ "$(field result "$r")" = relayed -a "$(field received "$r")" = 20000000 -a "$(field sent_sha "$r")" = "$(field received_sha "$r")" ]
r=$(client "$t" 1000)
check "the same ticket again (replay): refused ($r)" [ "$(field result "$r")" = refused ]
t2=$(address bob calc)
r=$(client "$t2" 1000000 nogreeting)
check "a CONNECT without the greeting: relayed ($(field result "$r"))" \
	[ "$(field result "$r")" = relayed -a "$(field sent_sha "$r")" = "$(field received_sha "$r")" ]
r=$(client ";40;STA475DE9C8ABDA;0123456789ABCDEF0123456789ABCDEF" 1000)
check "an unknown ticket: refused ($r)" [ "$(field result "$r")" = refused ]
r=$(client ";40;STA0OTHERSTA;$(echo "$t" | cut -d';' -f4)" 1000)
check "a ticket of another STA: refused ($r)" [ "$(field result "$r")" = refused ]
r=$(client "10.20.0.1:1494" 1000)
check "a server address instead of a ticket: refused ($r)" [ "$(field result "$r")" = refused ]
t3=$(address carol paint)
sleep 4
r=$(client "$t3" 1000)
check "an expired ticket (lifetime 3 s, used after 4): refused ($r)" [ "$(field result "$r")" = refused ]
printf 'hello, no SOCKS here\r\n' | ip netns exec "$NS_C" timeout 10 openssl s_client \
	-connect "$GW_C:1443" -servername gateway.lab -CAfile "$CA" -quiet >/dev/null 2>&1
rc=$?
check "garbage instead of SOCKS: the gateway closes the flow (s_client exit $rc, not a timeout)" [ "$rc" != 124 ]
sleep 0.5
# An expired ticket is "expired" if it is presented before the STA's
# once-a-second sweep removes it, "unknown" after.
check "refusals counted: unknown or used $(ica refused.unknown), expired $(ica refused.expired), foreign $(ica refused.foreign), malformed $(ica refused.malformed), garbage $(ica refused.garbage)" \
	[ $(($(ica refused.unknown) + $(ica refused.expired))) = 3 -a "$(ica refused.foreign)" = 1 \
	  -a "$(ica refused.malformed)" = 1 -a "$(ica refused.garbage)" = 1 ]
check "two flows relayed ($(ica relayed))" [ "$(ica relayed)" = 2 ]
seen=$(tail -1 "$RUN/ica-server.out")
check "the ICA server saw exactly the two valid flows, from the gateway only ($seen)" \
	[ "$(field connections "$seen")" = 2 -a "$(field peers "$seen")" = "$GW_B" ]
check "audit lines for each validation, no ticket in them" \
	sh -c "[ \$(grep -c 'audit: ticket' '$RUN/cp.log') -ge 9 ] && ! grep -q '$(echo "$t" | cut -d';' -f4)' '$RUN/cp.log'"
e2e_finish
