#!/usr/bin/env bash
# Issue 2, end to end: the lab, ping through the data plane, counters,
# control socket robustness, control plane restart, idle CPU, bad frames.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

e2e_pick_lab
trap e2e_cleanup EXIT
e2e_lab_up
ok "lab up ($HG_PREFIX, $HG_CLIENT_NET.0/24, $HG_BACKEND_NET.0/24)"

# 1. ping both sides, counters move
before=$(stat_of total.icmp_echo_replies)
check "client ns pings $GW_C" ip netns exec "$NS_C" ping -c 3 -i 0.2 -W 2 "$GW_C"
check "backend ns pings $GW_B" ip netns exec "$NS_B" ping -c 3 -i 0.2 -W 2 "$GW_B"
after=$(stat_of total.icmp_echo_replies)
check "icmp_echo_replies counter moved by 6 ($before -> $after)" [ $((after - before)) -eq 6 ]
arp_in=$(stat_of total.arp_requests_in)
arp_out=$(stat_of total.arp_replies_out)
check "ARP requests answered ($arp_in in, $arp_out out)" [ "$arp_in" -ge 2 -a "$arp_out" -ge 2 ]
check "the gateway's ARP reply is in the client's neighbour table" \
	sh -c "ip netns exec $NS_C ip neigh show $GW_C | grep -q lladdr"
rx=$(stat_of ports.0.rx_packets)
check "per-port counters: client port received $rx packets" [ "$rx" -ge 4 ]

# A ping to an address the gateway does not own gets no answer.
check "no answer for an address the gateway does not own" \
	sh -c "! ip netns exec $NS_C ping -c 1 -W 1 $HG_CLIENT_NET.11 >/dev/null 2>&1"

# 2. the gateway resolves next hops itself: a large ping makes it reply
# to a neighbour, and a sweep of the ARP table shows the learned entry.
check "large echo (1400 bytes) answered" ip netns exec "$NS_C" ping -c 2 -s 1400 -W 2 "$GW_C"
# The data plane drops fragments. af_packet (22.11) joins its fanout group
# with the kernel's defrag flag, so in the lab the fragments reach us
# reassembled and cut to the frame size: counted as a bad total length.
# On a NIC each fragment counts as ipv4_fragment (see the unit tests).
fragments_dropped() {
	local b a
	b=$(( $(stat_of total.drops.ipv4_fragment) + $(stat_of total.drops.ipv4_bad_total_len) ))
	ip netns exec "$NS_C" ping -c 1 -s 3000 -W 1 "$GW_C" >/dev/null 2>&1 && return 1
	a=$(( $(stat_of total.drops.ipv4_fragment) + $(stat_of total.drops.ipv4_bad_total_len) ))
	[ $((a - b)) -ge 1 ]
}
check "a fragmented echo (3000 bytes) is dropped and counted" fragments_dropped

# 3. malformed frames cost nothing else
ip netns exec "$NS_C" python3 "$(dirname "$0")/bad_frames.py" eth0 "$GW_C" | sed 's/^/# /' 
bad=$(ctl --json stats | python3 -c '
import json,sys; d=json.load(sys.stdin)["total"]["drops"]
print(sum(d[k] for k in ("ipv4_bad_checksum","ipv4_truncated","ipv4_bad_header_len","ipv4_bad_total_len","ipv4_bad_version","arp_bad_format","arp_truncated","icmp_bad_checksum","icmp_truncated")))')
check "malformed frames dropped by reason ($bad counted)" [ "$bad" -ge 9 ]
check "ping still answered after malformed frames" ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 "$GW_C"

# 4. the control socket survives bad requests
resp=$(printf 'this is not json\n' | timeout 5 python3 -c '
import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); print(s.makefile().readline().strip())' "$SOCK")
check "not JSON -> error answer ($resp)" contains "$resp" '"error"' 
resp=$(timeout 10 python3 -c '
import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"{\"cmd\":\"" + b"x" * 200000 + b"\"}\n" + b"{\"cmd\":\"status\"}\n")
f=s.makefile(); print(f.readline().strip()); print(f.readline()[:40])' "$SOCK")
check "huge line -> error, then the next request on the same connection is served" \
	contains "$(echo "$resp" | head -1)" 'longer than' "$(echo "$resp" | tail -1)" '"version"' 
resp=$(printf '{"cmd":"selfdestruct"}\n' | timeout 5 python3 -c '
import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); print(s.makefile().readline().strip())' "$SOCK")
check "unknown command -> error ($resp)" contains "$resp" 'unknown command' 
check "daemon still serves status" ctl status
config_shown() { ctl --json config | grep -q "\"instance\": *\"$HG_PREFIX\""; }
check "hopgatectl config shows the running config" config_shown
check "hopgatectl exits 1 on an error answer" sh -c "$CTL -s $SOCK nonsense >/dev/null 2>&1; [ \$? -eq 1 ]"

# 5. SIGKILL the control plane while pinging: no ping lost; status back fast
ip netns exec "$NS_C" ping -c 30 -i 0.1 -W 1 "$GW_C" >"$RUN/ping.log" 2>&1 &
ping_pid=$!
sleep 0.5
kill -KILL "$(cat "$RUN/cp.pid")"
sleep 1
t0=$(date +%s%N)
"$LAB" restart-cp >/dev/null 2>&1 || true
back=""
for _ in $(seq 100); do
	if ctl status >/dev/null 2>&1; then back=$(( ($(date +%s%N) - t0) / 1000000 )); break; fi
	sleep 0.01
done
check "status answers ${back:-never} ms after the control plane restarts" [ -n "$back" -a "${back:-99999}" -lt 1000 ]
for _ in $(seq 30); do
	ctl --json status | grep -q '"attached": *true' && break
	sleep 0.1
done
reattached() { ctl --json status | grep -q '"state": *"attached"'; }
check "the new control plane re-attached to the channel" reattached
wait $ping_pid
loss=$(grep -oE '[0-9]+% packet loss' "$RUN/ping.log" | cut -d% -f1)
check "data plane answered every ping across the restart (loss ${loss:-?}%)" [ "${loss:-100}" = 0 ]
stats_after_restart() { [ "$(stat_of total.icmp_echo_replies)" -ge 30 ]; }
check "stats work through the new control plane" stats_after_restart

# 6. the data plane restarts under a running control plane: it notices,
# says why, and re-attaches to the new channel by itself.
kill -KILL "$(cat "$RUN/dp.pid")"
detached() { ctl --json status | grep -q '"state": *"detached"'; }
for _ in $(seq 50); do detached && break; sleep 0.1; done
check "control plane reports the data plane gone" detached
check "stats answer an error while detached" sh -c "! $CTL -s $SOCK stats >/dev/null 2>&1"
"$LAB" restart-dp >/dev/null 2>&1
for _ in $(seq 30); do reattached && break; sleep 0.1; done
check "control plane re-attached to the restarted data plane" reattached
check "ping answered by the new data plane" ip netns exec "$NS_C" ping -c 2 -i 0.2 -W 2 "$GW_C"
fresh_stats() { [ "$(stat_of total.icmp_echo_replies)" -eq 2 ]; }
check "stats come from the new data plane" fresh_stats

# 7. idle CPU: both daemons, 5 seconds, no traffic
sleep 1
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
dp=$(cat "$RUN/dp.pid"); cp=$(cat "$RUN/cp.pid")
hz=$(getconf CLK_TCK)
a=$(( $(ticks "$dp") + $(ticks "$cp") )); t0=$(date +%s%N)
sleep 5
b=$(( $(ticks "$dp") + $(ticks "$cp") )); t1=$(date +%s%N)
pct=$(( (b - a) * 100 * 1000000000 / hz / (t1 - t0) ))
diag "idle: $((b - a)) ticks in $(( (t1 - t0) / 1000000 )) ms = ${pct}% of one core"
check "idle lab uses under 10% of one core (${pct}%)" [ "$pct" -lt 10 ]

e2e_finish
