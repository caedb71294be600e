#!/usr/bin/env bash
# `npm run test:cluster`: the scale-out tests (test/cluster/) on their own two-node Temporal cluster
# (scripts/temporal-cluster.sh: its own databases and ports, beside the dev server the main suite
# uses), with the test platform's processes pointed at it. The cluster is stopped at the end.
set -euo pipefail
export VCLOUD_TC_NAME=temporal_cluster_test VCLOUD_TC_PORT_BASE=17300 VCLOUD_TC_LB_PORT=17233 VCLOUD_TC_UI_PORT=17280
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

prepare_services
ensure_database vcloud_test
start_host_b_services
trap stop_temporal_cluster EXIT
start_temporal_cluster
cd "$ROOT"
log "build"; npm run --silent build
bash "$ROOT/scripts/build-images.sh"
VCLOUD_TEMPORAL_ADDRESS="127.0.0.1:$VCLOUD_TC_LB_PORT" npx jest -c jest.cluster.config.js --runInBand --forceExit "$@"
