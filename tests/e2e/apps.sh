#!/usr/bin/env bash
# Published applications end to end (issue 7, DESIGN.md flow 1): the
# portal on the lab's access virtual server (gateway.lab:8443), local and
# LDAP logins, the resource list of the user's groups, the ICA file with
# an STA ticket, the ICA proxy in SOCKS v5 and CGP framing to the test ICA
# server, bad tickets, sessions and their end, the STA's XML endpoint, and
# the portal in headless Chromium.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
TOOL="python3 $HERE/ica_tool.py"
SLAPD=$E2E_ROOT/tests/tools/hg-slapd
ART=$E2E_ROOT/build/e2e-artifacts
BIG=${HG_APPS_BYTES:-100000000}
e2e_pick_lab
LDAP_DIR=$(mktemp -d /tmp/hg-apps-ldap-XXXXXX)
LDAP_PORT=$((20000 + $$ % 20000))
# Two remote STAs of one authority: the first never runs (fail-over).
RSTA1=$((40000 + $$ % 10000))
RSTA2=$((RSTA1 + 1))
CFG=$(mktemp /tmp/hg-apps-XXXXXX.json)
DL=$(mktemp -d /tmp/hg-apps-dl-XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	"$SLAPD" stop "$LDAP_DIR" >/dev/null 2>&1
	rm -rf "$CFG" "$DL" "$LDAP_DIR"
	e2e_cleanup
}
trap cleanup EXIT

# The lab's own config, with a short ticket lifetime, short login delays,
# the LDAP directory and a resource for its "ops" group.
python3 - "$E2E_ROOT/configs/lab.json" "$CFG" "$LDAP_PORT" "$RSTA1" "$RSTA2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["sta"] = {"authority_id": "STA475DE9C8ABDA", "lifetime_s": 4}
a = c["access"]
a["auth"]["delay_ms"] = 100
a["auth"]["max_address_failures"] = 10
a["auth"]["ldap"] = {
    "uri": "ldap://127.0.0.1:%s" % sys.argv[3],
    "user_dn": "uid=%s,ou=people,dc=lab,dc=hopgate",
    "group_base": "ou=groups,dc=lab,dc=hopgate", "timeout_s": 5}
a["remote_stas"] = [
    {"authority_id": "STA0REMOTE",
     "url": "http://127.0.0.1:%s/scripts/ctxsta.dll" % p}
    for p in sys.argv[4:6]]
a["resources"].append({"name": "console", "title": "Ops console",
    "groups": ["ops"], "servers": [{"address": "10.20.0.1"}]})
json.dump(c, open(sys.argv[2], "w"))
PY
if ! "$SLAPD" start "$LDAP_DIR" "$LDAP_PORT" >"$LDAP_DIR.log" 2>&1; then
	sed 's/^/# /' "$LDAP_DIR.log"
	not_ok "slapd starts on 127.0.0.1:$LDAP_PORT"
fi
rm -f "$LDAP_DIR.log"
e2e_lab_up "$CFG"
CA=$RUN/pki/ca.pem
ok "lab up ($HG_PREFIX): portal on $GW_C:8443, STA endpoint on $GW_B:443, slapd on 127.0.0.1:$LDAP_PORT"

field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
ica() { ctl --json stats | python3 -c '
import json, sys
v = json.load(sys.stdin)["ica"]
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1"; }
in_client() { ip netns exec "$NS_C" timeout 300 "$@"; }
portal() { in_client $TOOL portal "$GW_C" 8443 "$CA" gateway.lab "$@"; }
launch() { in_client $TOOL launch "$GW_C" 8443 "$CA" gateway.lab "$@"; }
server_line() { tail -1 "$RUN/ica-server.out"; }

ip netns exec "$NS_B" timeout 900 $TOOL both 1494 2598 600 >"$RUN/ica-server.out" 2>&1 &
PIDS+=($!)
timeout 900 python3 "$HERE/sta_tool.py" serve 127.0.0.1 "$RSTA2" STA0REMOTE 600 >"$RUN/sta-remote.out" 2>&1 &
PIDS+=($!)
sleep 0.5

# 1. The whole flow, both framings, 100 MB each.
r=$(launch alice alice-lab-pass notepad "$BIG" socks)
diag "$r"
check "alice: portal login, ICA file, SOCKS v5 with its ticket, detect exchange, $BIG bytes echoed with SHA-256 equal" \
	[ "$(field result "$r")" = relayed -a "$(field received "$r")" = "$BIG" -a \
	  "$(field sent_sha "$r")" = "$(field received_sha "$r")" ]
check "the ICA file holds no internal address" [ "$(field ica_has_internal "$r")" = no ]
r=$(launch bob bob-lab-pass desktop "$BIG" cgp)
diag "$r"
check "bob: the same through CGP (bind relayed to port 2598), $BIG bytes, SHA-256 equal" \
	[ "$(field result "$r")" = relayed -a "$(field received "$r")" = "$BIG" -a \
	  "$(field sent_sha "$r")" = "$(field received_sha "$r")" ]
check "the test server saw two connections from the gateway, one of them a CGP bind ($(server_line))" \
	[ "$(field cgp_binds "$(server_line)")" = 1 -a "$(field connections "$(server_line)")" = 2 -a "$(field peers "$(server_line)")" = "$GW_B" ]

# 2. The resource list follows the groups; the ICA file's contents.
r=$(portal alice alice-lab-pass notepad "$DL/a.ica")
diag "$r"
check "alice (sales) sees exactly notepad ($(field resources "$r"))" [ "$(field resources "$r")" = notepad ]
check "her ICA file: Address is a ticket of our STA, SSLProxyHost the gateway's name" \
	sh -c "tr -d '\r' <'$DL/a.ica' | grep -qE '^Address=;40;STA475DE9C8ABDA;[0-9A-F]{32}$' && tr -d '\r' <'$DL/a.ica' | grep -qx 'SSLProxyHost=gateway.lab:8443'"
check "no dotted quad anywhere in it" sh -c "! grep -qE '[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+' '$DL/a.ica'"
r=$(portal bob bob-lab-pass - -)
check "bob (eng, sales) sees notepad, calc, desktop ($(field resources "$r"))" [ "$(field resources "$r")" = notepad,calc,desktop ]
r=$(portal alice alice-lab-pass calc "$DL/c.ica")
check "alice may not launch calc: 403 ($r)" contains "$r" "status=403"
r=$(portal alice alice-lab-pass - - logout | grep '^logout=')
check "logout clears the cookie and ends the session: the old cookie is sent to the login page ($r)" \
	[ "$(field logout "$r")" = ok -a "$(field cleared "$r")" = yes -a "$(field after "$r")" = 303 ]

# 3. LDAP.
r=$(portal dave dave-pass-1 - -)
check "dave, only in slapd, logs in and sees his LDAP group's resources ($r)" \
	[ "$(field login "$r")" = ok -a "$(field resources "$r")" = notepad,calc,desktop ]
r=$(portal erin erin-pass-1 - -)
check "erin (posixGroup ops) sees the ops console ($(field resources "$r"))" [ "$(field resources "$r")" = console ]
r=$(portal dave wrong-pass - -)
check "dave with a wrong password is refused ($r)" [ "$(field login "$r")" = refused ]

# 4. Bad tickets: each refused, counted, audited; no server connection.
before=$(field connections "$(server_line)")
launch alice alice-lab-pass notepad 300000000 socks >"$DL/bg.out" 2>&1 &
bg=$!
PIDS+=($bg)
address() { ctl --json ticket "$HG_BACKEND_NET.1" 1494 "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])'; }
client() { in_client $TOOL client "$GW_C" 8443 "$CA" gateway.lab "$@"; }
cgpclient() { in_client $TOOL cgpclient "$GW_C" 8443 "$CA" gateway.lab "$@"; }
t=$(address mallory notepad)
r=$(cgpclient "$t" 1000)
check "a ticket from hopgatectl through CGP: relayed ($(field result "$r"))" [ "$(field result "$r")" = relayed ]
r=$(client "$t" 1000)
check "the same ticket again (replayed): refused ($(field result "$r"))" [ "$(field result "$r")" = refused ]
# Session reliability: the portal's tickets are refreshable; a CGP
# session keeps its ticket alive, and the client may bind again with it
# while the session lives and for one lifetime after.
r=$(portal bob bob-lab-pass calc "$DL/sr.ica" | grep '^ica=')
sr=$(field address "$r")
r=$(cgpclient "$sr" 1000000)
r2=$(cgpclient "$sr" 1000000)
check "a refreshable ticket: a CGP bind, then a reconnect with the same ticket ($(field result "$r"), $(field result "$r2"))" \
	[ "$(field result "$r")" = relayed -a "$(field result "$r2")" = relayed ]
sleep 5
r=$(cgpclient "$sr" 1000)
check "one lifetime after its last session, that ticket is refused ($(field result "$r"))" [ "$(field result "$r")" = refused ]
t2=$(address mallory notepad)
sleep 5
r=$(client "$t2" 1000)
check "an expired ticket (lifetime 4 s, used after 5): refused ($(field result "$r"))" [ "$(field result "$r")" = refused ]
r=$(cgpclient ";40;STA475DE9C8ABDA;0123456789ABCDEF0123456789ABCDEF" 1000)
check "an unknown ticket through CGP: refused ($(field result "$r"))" [ "$(field result "$r")" = refused ]
r=$(client ";40;STA475DE9C8ABDA;0123456789abcdef" 1000)
check "a malformed ticket: refused ($(field result "$r"))" [ "$(field result "$r")" = refused ]
t3=$(address mallory notepad)
r=$(client ";40;STA0OTHER;$(echo "$t3" | cut -d';' -f4)" 1000)
check "a ticket for another STA's authority ID: refused ($(field result "$r"))" [ "$(field result "$r")" = refused ]
rc=0
printf 'hello, no SOCKS here\r\n' | ip netns exec "$NS_C" timeout 10 openssl s_client \
	-connect "$GW_C:8443" -servername gateway.lab -CAfile "$CA" -quiet >/dev/null 2>&1 || rc=$?
check "garbage in place of SOCKS or CGP: closed by the gateway (s_client exit $rc, not a timeout)" [ "$rc" != 124 ]
rc=0
printf '\x1aCGP/01\x03\x01\x00\x00' | ip netns exec "$NS_C" timeout 10 openssl s_client \
	-connect "$GW_C:8443" -servername gateway.lab -CAfile "$CA" -quiet >/dev/null 2>&1 || rc=$?
check "a CGP bind without a ticket: closed ($rc)" [ "$rc" != 124 ]
# A ticket of another authority whose STA we know: validated there, after
# a fail-over from the STA URL that does not answer.
rt=""
for _ in $(seq 20); do
	rt=$(python3 "$HERE/sta_tool.py" issue 127.0.0.1 "$RSTA2" "$HG_BACKEND_NET.1:1494" remoteuser 2>/dev/null) && break
	sleep 0.2
done
diag "remote STA: $rt"
ra=";40;$(field authority "$rt");$(field ticket "$rt")"
r=$(client "$ra" 1000000)
check "a remote STA's ticket: validated at its authority after a fail-over, relayed ($(field result "$r"))" \
	[ "$(field result "$r")" = relayed -a "$(field sent_sha "$r")" = "$(field received_sha "$r")" ]
r=$(client "$ra" 1000)
check "the remote ticket again: the remote STA says not found, refused ($(field result "$r"))" [ "$(field result "$r")" = refused ]
check "remote STA counters: $(ica remote_sta.valid) valid, $(ica remote_sta.not_found) not found, $(ica remote_sta.failovers) fail-overs" \
	[ "$(ica remote_sta.valid)" = 1 -a "$(ica remote_sta.not_found)" = 1 -a "$(ica remote_sta.failovers)" -ge 1 ]
sleep 1
after=$(field connections "$(server_line)")
# The background launch, the one valid CGP ticket, the two binds of the
# refreshable ticket and the remote STA's ticket are the only new server
# connections.
wait "$bg"
r=$(cat "$DL/bg.out")
check "a 300 MB session ran meanwhile and completed, SHA-256 equal ($(field received "$r") bytes)" \
	[ "$(field result "$r")" = relayed -a "$(field sent_sha "$r")" = "$(field received_sha "$r")" -a "$(field received "$r")" = 300000000 ]
after=$(field connections "$(server_line)")
check "only the five valid flows reached a server ($before -> $after)" [ "$((after - before))" = 5 ]
check "refusals counted: unknown $(ica refused.unknown), expired $(ica refused.expired), malformed $(ica refused.malformed), foreign $(ica refused.foreign), garbage $(ica refused.garbage)" \
	[ "$(ica refused.unknown)" -ge 2 -a "$(ica refused.expired)" -ge 2 -a "$(ica refused.malformed)" -ge 1 \
	  -a "$(ica refused.foreign)" -ge 1 -a "$(ica refused.garbage)" -ge 2 ]
check "every refusal audited ($(grep -c 'audit: ticket refused' "$RUN/cp.log") lines)" \
	[ "$(grep -c 'audit: ticket refused' "$RUN/cp.log")" -ge 7 ]

# 5. Sessions: listed while alive, ended by the operator, audited.
launch alice alice-lab-pass notepad 4000000000 socks >"$DL/long.out" 2>&1 &
long=$!
PIDS+=($long)
flow=""
for _ in $(seq 50); do
	flow=$(ctl --json sessions | python3 -c '
import json, sys
for s in json.load(sys.stdin)["sessions"]:
    if s["user"] == "alice" and s["resource"] == "notepad":
        print(s["flow"]); break')
	[ -n "$flow" ] && break
	sleep 0.2
done
s=$(ctl --json sessions)
diag "$s"
check "hopgatectl sessions lists alice's notepad session with its server, since and bytes" \
	sh -c "echo '$s' | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)[\"sessions\"] if x[\"user\"] == \"alice\"][0]
assert s[\"resource\"] == \"notepad\" and s[\"server\"].endswith(\":1494\") and s[\"since\"] and s[\"bytes_in\"] is not None'"
check "hopgatectl session kill ends it" sh -c "$CTL -s $SOCK session kill '$flow' >/dev/null"
wait "$long"
r=$(cat "$DL/long.out")
check "the client saw its session end before 4 GB ($(field received "$r") bytes)" [ "$(field received "$r")" != 4000000000 ]
sleep 0.5
check "the session's end is audited with its bytes and the operator's kill" \
	grep -q "audit: session end flow=$flow user=alice resource=notepad .*bytes_in=[0-9]* bytes_out=[0-9]* .*killed_by_operator" "$RUN/cp.log"
check "the session list is empty again" \
	sh -c "[ \"\$($CTL -s $SOCK --json sessions | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"sessions\"]))')\" = 0 ]"

# 6. The STA's XML endpoint for an outside caller (inside network only).
REQ='<?xml version="1.0"?><!DOCTYPE CtxSTAProtocol SYSTEM "CtxSTA.dtd"><CtxSTAProtocol version="4.0"><RequestTicket><AllowedTicketType>STA-v4</AllowedTicketType><AllowedAuthorityIDType>STA-v1</AllowedAuthorityIDType><TicketData><Value name="ICAAddress">'$HG_BACKEND_NET'.1:1494</Value><Value name="XData">&lt;CtxConnInfo&gt;&lt;ServerAddress&gt;'$HG_BACKEND_NET'.1:1494&lt;/ServerAddress&gt;&lt;UserName&gt;frank&lt;/UserName&gt;&lt;UserDomain&gt;LAB&lt;/UserDomain&gt;&lt;ApplicationName&gt;notepad&lt;/ApplicationName&gt;&lt;Protocol&gt;ICA&lt;/Protocol&gt;&lt;/CtxConnInfo&gt;</Value></TicketData><Control><Refreshable>false</Refreshable></Control></RequestTicket></CtxSTAProtocol>'
sta() { ip netns exec "$NS_B" timeout 20 curl -sS --cacert "$CA" --resolve "gateway.lab:443:$GW_B" \
	-H 'Content-Type: text/xml' --data-binary "$1" https://gateway.lab/scripts/ctxsta.dll; }
x=$(sta "$REQ")
diag "$x"
tk=$(echo "$x" | sed -n 's:.*<Ticket>\([0-9A-F]*\)</Ticket>.*:\1:p')
check "curl's RequestTicket gets a ResponseTicket (version 40, our authority, 32 hex)" \
	contains "$x" '<TicketVersion>40</TicketVersion>' "$x" '<AuthorityID>STA475DE9C8ABDA</AuthorityID>' "${#tk}" 32
DREQ='<?xml version="1.0"?><CtxSTAProtocol version="4.0"><RequestData><Ticket>'$tk'</Ticket><AuthorityID>STA475DE9C8ABDA</AuthorityID></RequestData></CtxSTAProtocol>'
x=$(sta "$DREQ")
diag "$x"
check "RequestData validates it: ICAAddress and UserName come back" \
	contains "$x" "$HG_BACKEND_NET.1:1494" "$x" "frank"
x=$(sta "$DREQ")
check "a second RequestData: TicketNotFound (single use)" contains "$x" "TicketNotFound"
code=$(in_client curl -s -o /dev/null -w '%{http_code}' --cacert "$CA" --resolve "gateway.lab:8443:$GW_C" \
	-H 'Content-Type: text/xml' --data-binary "$REQ" https://gateway.lab:8443/scripts/ctxsta.dll)
check "from the client network the endpoint answers 403 ($code)" [ "$code" = 403 ]

# 7. The portal in headless Chromium, in the client namespace.
mkdir -p "$ART"
shot=$ART/portal-resources.png
rm -f "$shot"
mkdir -p "$DL/browser"
r=$(ip netns exec "$NS_C" timeout 180 python3 "$HERE/portal_browser.py" "$GW_C" 8443 "$CA" gateway.lab bob bob-lab-pass "$shot" "$DL/browser" 2>&1 | tail -1)
diag "$r"
check "Chromium logs in, sees notepad, calc and desktop, downloads an ICA file" \
	sh -c "echo '$r' | grep -q 'login=ok' && echo '$r' | grep -q 'resources=notepad,calc,desktop' && echo '$r' | grep -q 'downloaded=.*\.ica'"
check "the screenshot of the resource list is saved ($shot)" sh -c "[ -s '$shot' ] && head -c 8 '$shot' | od -An -c | grep -q 'P   N   G'"

# 8. Audit without secrets; lockout last (it locks the client's address).
check "audit lines for logins, launches, validations and session ends" \
	sh -c "grep -q 'audit: login ok user=alice' '$RUN/cp.log' && grep -q 'audit: login ok user=dave source=ldap' '$RUN/cp.log' && grep -q 'audit: launch user=bob resource=desktop' '$RUN/cp.log' && grep -q 'audit: ticket valid' '$RUN/cp.log' && grep -q 'audit: session end' '$RUN/cp.log'"
check "no password and no ticket in the control plane's log" \
	sh -c "! grep -qE 'alice-lab-pass|bob-lab-pass|dave-pass-1|wrong-pass|$tk' '$RUN/cp.log'"
# A name locks after max_failures (5); the address has its own limit
# (max_address_failures, 10 here: dave's wrong password and erin's five
# make 6 so far).
for i in 1 2 3 4 5; do portal erin "guess-$i" - - >/dev/null; done
r=$(portal erin erin-pass-1 - -)
check "after 5 failures for erin, even her right password is refused ($(field login "$r"))" [ "$(field login "$r")" = refused ]
r=$(portal alice alice-lab-pass - -)
check "alice still logs in from that address (6 of its 10 failures) ($(field login "$r"))" [ "$(field login "$r")" = ok ]
for i in 1 2 3 4; do portal "mallory$i" guess - - >/dev/null; done
r=$(portal alice alice-lab-pass - -)
check "after 10 failures from one address, even alice's right password is refused there ($(field login "$r"))" [ "$(field login "$r")" = refused ]
check "both lockouts are counted ($(ica auth.lockouts))" [ "$(ica auth.lockouts)" -ge 2 ]
check "the audit says locked, not why ($(grep -c 'reason=locked' "$RUN/cp.log") lines)" grep -q 'audit: login failed user=alice .*reason=locked' "$RUN/cp.log"
e2e_finish
