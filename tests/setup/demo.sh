#!/usr/bin/env bash
# `make demo`: a virtual rack of two QEMU machines (`rackhand lab up`: node-01 BIOS behind an IPMI
# BMC, node-02 UEFI behind a Redfish BMC, booting through its firmware's own PXE and TFTP), both
# PXE-booted, inspected and deployed with the lab OS image while the CLI shows progress, the
# final table, and everything torn down again (`rackhand lab down`), on every exit path.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "make demo needs root (network namespaces, taps, QEMU)" >&2; exit 1; }
dir=$(mktemp -d /tmp/rackhand-demo.XXXXXX)/lab
rh() { node dist/daemon/cli/main.js "$@"; }
say() { printf '\n\033[1m$ rackhand %s\033[0m\n' "$*"; }
trap 'echo; echo "== tearing the lab down"; rh lab down --dir "$dir"; rm -rf "$(dirname "$dir")"' EXIT

say lab up --machines 2
rh lab up --machines 2 --dir "$dir"
echo "(open the dashboard above in a browser on this host to watch the machines change live)"
export RACKHAND_URL=http://169.254.210.2:8080 RACKHAND_STATE_DIR="$dir/state"
say machines; rh machines
say "inspect node-01 --wait & inspect node-02 --wait"
rh inspect node-01 --wait & a=$!
rh inspect node-02 --wait & b=$!
wait $a; wait $b
say "deploy node-01 --wait & deploy node-02 --wait"
start=$(date +%s)
rh deploy node-01 --wait & a=$!
rh deploy node-02 --wait & b=$!
wait $a; wait $b
echo "(deployed both in $(( $(date +%s) - start )) s under TCG)"
say machines; rh machines
say lab status; rh lab status --dir "$dir"
say "events node-01"; rh events node-01
echo; echo "== the lab OS on node-01's console:"; grep -a 'RACKHAND-LAB-OS' "$dir/node-01.console.log" || true
