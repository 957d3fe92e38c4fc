# Shared by the scripts in this folder: sourced, not run.
# shellcheck shell=bash

HG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HG_BUILD=${HG_BUILD:-$HG_ROOT/build}

hg_die() {
	echo "error: $*" >&2
	exit 1
}

hg_need_root() {
	[ "$(id -u)" -eq 0 ] || hg_die "$(basename "$0") needs root (network namespaces, packet sockets)"
}
