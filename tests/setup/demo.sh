#!/usr/bin/env bash
# `make demo`: the daemon on the example inventory with a throwaway state directory, and a tour
# of what it serves. (The virtual QEMU rack joins this once `rackhand lab` exists.)
set -euo pipefail
cd "$(dirname "$0")/../.."
state=$(mktemp -d /tmp/rackhand-demo.XXXXXX)
port=${DEMO_PORT:-18080}
log="$state/daemon.log"
node dist/daemon/cli/main.js serve --inventory inventory.yaml --state-dir "$state" --listen 127.0.0.1 --port "$port" --http-only --no-power >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$state"; }
trap cleanup EXIT
export RACKHAND_URL="http://127.0.0.1:$port" RACKHAND_STATE_DIR="$state"
for _ in $(seq 50); do curl -fsS "$RACKHAND_URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
rh() { echo; echo "\$ rackhand $*"; node dist/daemon/cli/main.js "$@"; }

echo "== rackhand serve is up: $RACKHAND_URL (state in $state)"
echo "\$ curl $RACKHAND_URL/healthz"; curl -fsS "$RACKHAND_URL/healthz"; echo
rh validate inventory.yaml
rh machines
rh inspect node-01
rh maintenance node-02 on --reason "demo: pulled for a fan swap"
rh deploy node-02 || echo "(refused, as the lifecycle table says: exit $?)"
rh show node-01
rh events
echo; echo "\$ curl -s $RACKHAND_URL/metrics | grep rackhand_machines"
curl -fsS "$RACKHAND_URL/metrics" | grep '^rackhand_machines'
echo; echo "== stopping the daemon (SIGTERM drains and exits 0)"
