#!/usr/bin/env bash
# A two-node Temporal cluster on PostgreSQL, built from Go source, with haproxy as its one address
# and the Temporal UI server beside it. Sourced by lib.sh (VCLOUD_TEMPORAL=cluster); run on its own:
#   bash scripts/temporal-cluster.sh start|stop|status|start-node N|stop-node N
# Several clusters can live side by side (the tests run their own): each has its own name, which is
# also its database's, and its own ports. Node n listens on VCLOUD_TC_PORT_BASE + 10(n-1) + 0..8.
if [[ ${#BASH_SOURCE[@]} -eq 1 ]]; then
  source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
fi

TC_VERSION=v1.29.1
TC_UI_VERSION=v2.42.1
TC_NAME="${VCLOUD_TC_NAME:-temporal_cluster}"
TC_PORT_BASE="${VCLOUD_TC_PORT_BASE:-7300}"
# By default the cluster takes the dev server's place: its address and its UI's port.
TC_LB_PORT="${VCLOUD_TC_LB_PORT:-$TEMPORAL_PORT}"
TC_UI_PORT="${VCLOUD_TC_UI_PORT:-$TEMPORAL_UI_PORT}"
TC_NODES=2
TC_BIN="$TOOLS/temporal-server-$TC_VERSION"
TC_UI_BIN="$TOOLS/temporal-ui-$TC_UI_VERSION"
TC_CONFIG="$ROOT/deploy/temporal-cluster"

[[ "$TC_NAME" =~ ^[a-z][a-z0-9_]{0,40}$ ]] || { log "VCLOUD_TC_NAME must be a lower-case identifier"; exit 2; }

tc_node_port() { echo $((TC_PORT_BASE + 10 * ($1 - 1))); }
tc_address() { echo "127.0.0.1:$TC_LB_PORT"; }

# The server, its schema tool and the UI server, each built once (about 6 minutes on a cold cache).
install_temporal_cluster() {
  command -v go >/dev/null || { log "go is not installed"; return 1; }
  local pkg
  for pkg in server tools/sql; do
    [[ -x "$TC_BIN/$(basename "$pkg")" ]] && continue
    log "go install go.temporal.io/server/cmd/$pkg@$TC_VERSION (minutes on a cold cache)"
    GOBIN="$TC_BIN" go install "go.temporal.io/server/cmd/$pkg@$TC_VERSION" >"$LOGS/go-install-temporal-$(basename "$pkg").log" 2>&1 ||
      { tail -20 "$LOGS/go-install-temporal-$(basename "$pkg").log" >&2; return 1; }
  done
  if [[ ! -x "$TC_UI_BIN/server" ]]; then
    log "go install github.com/temporalio/ui-server/v2/cmd/server@$TC_UI_VERSION"
    GOBIN="$TC_UI_BIN" go install "github.com/temporalio/ui-server/v2/cmd/server@$TC_UI_VERSION" >"$LOGS/go-install-temporal-ui.log" 2>&1 ||
      { tail -20 "$LOGS/go-install-temporal-ui.log" >&2; return 1; }
  fi
}

# The server's own tool sets and updates both schemas; the password travels in the environment.
tc_sql() {
  SQL_PLUGIN=postgres12 SQL_HOST=127.0.0.1 SQL_PORT=5432 SQL_USER="$PG_USER" SQL_PASSWORD="$PG_PASSWORD" "$TC_BIN/sql" "$@"
}

tc_schema() {
  local versioned; versioned="$(go env GOMODCACHE)/go.temporal.io/server@$TC_VERSION/schema/postgresql/v12"
  local db dir
  for db in "$TC_NAME" "${TC_NAME}_visibility"; do
    dir="$versioned/temporal/versioned"; [[ "$db" == *_visibility ]] && dir="$versioned/visibility/versioned"
    ensure_database "$db"
    if ! PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -U "$PG_USER" -d "$db" -Atqc "select to_regclass('schema_version')" | grep -q schema_version; then
      tc_sql --db "$db" setup-schema -v 0.0 >>"$LOGS/$TC_NAME-schema.log" 2>&1
    fi
    tc_sql --db "$db" update-schema -d "$dir" >>"$LOGS/$TC_NAME-schema.log" 2>&1 || { tail -20 "$LOGS/$TC_NAME-schema.log" >&2; return 1; }
  done
}

# The cluster's own CA and one node certificate (127.0.0.1 and localhost), made once; keys 0600.
tc_certs() {
  local dir="$DATA/$TC_NAME-tls"
  [[ -s "$dir/node.pem" && -s "$dir/ca.pem" ]] && return 0
  mkdir -p "$dir"
  (
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$TC_NAME CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/node.key" -out "$dir/node.csr" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >"$dir/node.ext"
    openssl x509 -req -in "$dir/node.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 3650 \
      -extfile "$dir/node.ext" -out "$dir/node.pem" 2>/dev/null
  )
  rm -f "$dir/node.csr" "$dir/node.ext"
}

tc_env() {
  export VCLOUD_TC_TLS_DIR="$DATA/$TC_NAME-tls"
  export VCLOUD_TC_NAME="$TC_NAME" VCLOUD_TC_LB_PORT="$TC_LB_PORT" VCLOUD_TC_PG_USER="$PG_USER" VCLOUD_TC_PG_PASSWORD="$PG_PASSWORD"
  export VCLOUD_TC_DYNAMIC_CONFIG="$TC_CONFIG/dynamicconfig.yaml"
  export VCLOUD_TC_NODE1_PORT="$(tc_node_port 1)" VCLOUD_TC_NODE2_PORT="$(tc_node_port 2)"
}

tc_node_ready() { temporal operator cluster health --address "127.0.0.1:$(tc_node_port "$1")" 2>/dev/null | grep -q SERVING; }

start_temporal_node() {
  local n="$1"
  tc_certs
  tc_env
  tc_node_ready "$n" && return 0
  log "starting Temporal cluster $TC_NAME node $n on :$(tc_node_port "$n")"
  start_bg "$TC_NAME-node$n" env VCLOUD_TC_NODE_PORT="$(tc_node_port "$n")" \
    "$TC_BIN/server" --root / --config "${TC_CONFIG#/}" --env node --allow-no-auth start
  wait_for "$TC_NAME node $n" 60 tc_node_ready "$n"
}

start_temporal_cluster() {
  install_temporal_cluster
  tc_schema
  local n
  for n in $(seq 1 "$TC_NODES"); do start_temporal_node "$n"; done
  tc_env
  start_bg "$TC_NAME-lb" haproxy -db -f "$TC_CONFIG/haproxy.cfg"
  local addr; addr="$(tc_address)"
  wait_for "$TC_NAME on $addr" 30 temporal operator cluster health --address "$addr"
  temporal operator namespace describe -n default --address "$addr" >/dev/null 2>&1 ||
    temporal operator namespace create -n default --retention 72h --address "$addr" >/dev/null
  # A namespace made through one node reaches the others' caches within 10 s (describe reads the
  # database; listing search attributes goes through the cache): a worker that polls a node
  # without it stops for good.
  for n in $(seq 1 "$TC_NODES"); do
    wait_for "namespace default on node $n" 30 temporal operator search-attribute list -n default --address "127.0.0.1:$(tc_node_port "$n")"
  done
  register_search_attributes "$addr"
  start_temporal_ui "$addr"
}

# The UI the dev server embeds, as its own server. Its config has no templating: written per cluster.
start_temporal_ui() {
  local dir="$DATA/$TC_NAME-ui"
  mkdir -p "$dir"
  cat >"$dir/base.yaml" <<YML
temporalGrpcAddress: $1
host: 127.0.0.1
port: $TC_UI_PORT
enableUi: true
defaultNamespace: default
refreshInterval: 1m
showTemporalSystemNamespace: false
auth:
  enabled: false
YML
  start_bg "$TC_NAME-ui" "$TC_UI_BIN/server" --root / --config "${dir#/}" --env base start
  wait_for "the Temporal UI on :$TC_UI_PORT" 30 curl -fsS "http://127.0.0.1:$TC_UI_PORT/"
}

stop_temporal_node() { stop_bg "$TC_NAME-node$1"; }

stop_temporal_cluster() {
  stop_bg "$TC_NAME-ui"
  stop_bg "$TC_NAME-lb"
  local n
  for n in $(seq "$TC_NODES" -1 1); do stop_temporal_node "$n"; done
}

temporal_cluster_status() {
  local n
  for n in $(seq 1 "$TC_NODES"); do
    if tc_node_ready "$n"; then echo "node $n :$(tc_node_port "$n") SERVING"; else echo "node $n :$(tc_node_port "$n") down"; fi
  done
  if temporal operator cluster health --address "$(tc_address)" >/dev/null 2>&1; then echo "address $(tc_address) SERVING"; else echo "address $(tc_address) down"; fi
}

if [[ ${#BASH_SOURCE[@]} -eq 1 ]]; then
  case "${1:-}" in
    start) start_temporal_cluster ;;
    stop) stop_temporal_cluster ;;
    status) temporal_cluster_status ;;
    start-node) start_temporal_node "${2:?node number}" ;;
    stop-node) stop_temporal_node "${2:?node number}" ;;
    *) echo "usage: $0 start|stop|status|start-node N|stop-node N" >&2; exit 2 ;;
  esac
fi
