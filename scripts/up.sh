#!/usr/bin/env bash
# Brings up the whole platform on this machine: services, migrations, a default zone, an admin
# token, the busybox image, then the API, the control worker and one local host agent.
# VCLOUD_TEMPORAL=cluster: the same on a two-node Temporal cluster, with two APIs and two control workers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

prepare_services
ensure_database "$PG_DB"
ensure_database vcloud_bench
(cd "$ROOT" && npm run --silent build)
bash "$ROOT/scripts/build-images.sh"

export VCLOUD_DATABASE_URL="${VCLOUD_DATABASE_URL:-postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:5432/$PG_DB}"
export VCLOUD_SEED_BRIDGE="${VCLOUD_SEED_BRIDGE:-vcbr0}"
ensure_bridge "$VCLOUD_SEED_BRIDGE" "${VCLOUD_SEED_GATEWAY:-10.213.0.1}/${VCLOUD_SEED_SUBNET_PREFIX:-24}"
node "$ROOT/dist/db/migrate-cli.js" latest
node "$ROOT/dist/scripts/seed.js"

export VCLOUD_PROMETHEUS_URL="${VCLOUD_PROMETHEUS_URL:-http://${VCLOUD_PROMETHEUS_ADDR:-127.0.0.1:9090}}"
if [[ "$TEMPORAL_MODE" == cluster ]]; then
  # The scale-out shape: two APIs behind haproxy at the usual address, two control workers.
  api_port="${VCLOUD_API_PORT:-8080}"
  VCLOUD_API_PORT=$((api_port + 1)) start_bg api node "$ROOT/dist/api/server.js"
  VCLOUD_API_PORT=$((api_port + 2)) start_bg api-2 node "$ROOT/dist/api/server.js"
  VCLOUD_API_LB_ADDRESS="${VCLOUD_API_HOST:-127.0.0.1}:$api_port" VCLOUD_API1_PORT=$((api_port + 1)) VCLOUD_API2_PORT=$((api_port + 2)) \
    start_bg api-lb haproxy -db -f "$ROOT/deploy/haproxy-api.cfg"
  start_bg control-worker node "$ROOT/dist/workers/control-worker.js"
  start_bg control-worker-2 node "$ROOT/dist/workers/control-worker.js"
else
  start_bg api node "$ROOT/dist/api/server.js"
  start_bg control-worker node "$ROOT/dist/workers/control-worker.js"
fi
# Each host: its agent, and its fence watchdog beside it (workers/fence-watchdog.ts), which fences the
# host when it is cut off from the control plane in a zone with automatic failover.
start_host() {
  local name="$1"; shift
  (
    export "$@"
    start_bg "$name" node "$ROOT/dist/workers/host-worker.js"
    start_bg "$name-watchdog" node "$ROOT/dist/workers/fence-watchdog.js"
  )
}
# TCG: ordinary guest kernels hang under this machine's /dev/kvm; real hosts use kvm.
start_host host-agent VCLOUD_LIBVIRT_DOMAIN_TYPE="${VCLOUD_LIBVIRT_DOMAIN_TYPE:-qemu}" \
  VCLOUD_HOST_ID="${VCLOUD_HOST_ID:-local-1}" VCLOUD_HOST_ZONE="${VCLOUD_SEED_ZONE:-default}" VCLOUD_AGENT_PEER_ADDRESS=127.0.0.1:7601 \
  VCLOUD_AGENT_METRICS_ADDRESS=127.0.0.1:9101

# VCLOUD_HOSTS=2: a second host (local-2) with its own engine and libvirtd, on the same bridge.
if [[ "${VCLOUD_HOSTS:-1}" -ge 2 ]]; then
  start_host_b_services
  start_host host-agent-2 VCLOUD_LIBVIRT_DOMAIN_TYPE="${VCLOUD_LIBVIRT_DOMAIN_TYPE:-qemu}" VCLOUD_HOST_ID=local-2 \
    VCLOUD_HOST_ZONE="${VCLOUD_SEED_ZONE:-default}" VCLOUD_DOCKER_SOCKET="$HOST_B_DOCKER_SOCK" VCLOUD_LIBVIRT_URI="$HOST_B_LIBVIRT_URI" \
    VCLOUD_AGENT_PEER_ADDRESS=127.0.0.1:7602 VCLOUD_AGENT_METRICS_ADDRESS=127.0.0.1:9102
fi

API="http://${VCLOUD_API_HOST:-127.0.0.1}:${VCLOUD_API_PORT:-8080}"
wait_for API 90 curl -fsS "$API/healthz"
start_prometheus "$API" "${VCLOUD_ADMIN_TOKEN_FILE:-$DATA/admin-token}"
log "vcloud is up ($TEMPORAL_MODE Temporal): API $API, Temporal UI http://127.0.0.1:$TEMPORAL_UI_PORT, Prometheus http://$PROMETHEUS_ADDR, admin token in $DATA/admin-token, logs in $LOGS"
