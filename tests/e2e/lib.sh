# Helpers for end-to-end tests: sourced. Each test runs its own lab under a
# unique prefix and subnets, prints TAP lines ("ok N - what" / "not ok N -
# what") and removes everything it created on exit, whatever happens.
# shellcheck shell=bash

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export HG_BUILD=${HG_BUILD:-$E2E_ROOT/build}
LAB=$E2E_ROOT/scripts/lab
CTL=$HG_BUILD/controlplane/hopgatectl

# A prefix and two subnets no other run uses: derived from our pid.
e2e_pick_lab() {
	local n=$(( $$ % 200 + 20 ))
	export HG_PREFIX=t$$
	HG_PREFIX=${HG_PREFIX:0:8}
	export HG_CLIENT_NET=10.$n.1
	export HG_BACKEND_NET=10.$n.2
	NS_C=$HG_PREFIX-client
	NS_B=$HG_PREFIX-backend
	GW_C=$HG_CLIENT_NET.10
	GW_B=$HG_BACKEND_NET.10
	RUN=/run/hopgate/$HG_PREFIX
	SOCK=$RUN/ctl.sock
}

TAP_N=0
TAP_FAILED=0
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
# check "what" command...: ok when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
# contains TEXT PATTERN [TEXT PATTERN...]: each fixed-string PATTERN in its TEXT.
contains() {
	while [ $# -ge 2 ]; do
		case $1 in *"$2"*) ;; *) return 1 ;; esac
		shift 2
	done
}
diag() { echo "# $*"; }

e2e_cleanup() {
	"$LAB" down >/dev/null 2>&1 || true
}

e2e_finish() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

# e2e_lab_up [CONFIG]: brings the lab up; if that fails, shows its output,
# fails the test and exits (the EXIT trap cleans up).
e2e_lab_up() {
	local log=/tmp/e2e-$HG_PREFIX.log
	if ! "$LAB" up "$@" >"$log" 2>&1; then
		sed 's/^/# /' "$log"
		rm -f "$log"
		not_ok "lab up"
		e2e_finish
		exit 1
	fi
	rm -f "$log"
}

ctl() { "$CTL" -s "$SOCK" "$@"; }

# stat PATH: a counter from `hopgatectl stats --json`, e.g. total.icmp_echo_replies
stat_of() {
	ctl --json stats | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1"
}
