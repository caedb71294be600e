#!/usr/bin/env bash
# Shared service preparation for `npm run up` and `npm test`. Every step is idempotent:
# it checks first and only installs or starts what is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${VCLOUD_DATA_DIR:-$ROOT/.data}"
TOOLS="$ROOT/.tools"
LOGS="$DATA/logs"
PIDS="$DATA/pids"
mkdir -p "$DATA" "$LOGS" "$PIDS" "$TOOLS/bin"
export PATH="$TOOLS/bin:$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

PG_USER="${VCLOUD_PG_USER:-vcloud}"
# The application's Postgres password: generated on first use (or VCLOUD_PG_PASSWORD), kept with
# mode 0600 under the data directory, where the processes read it (lib/database-url.ts).
PG_PASSWORD_FILE="$DATA/pg-password"
if [[ -n "${VCLOUD_PG_PASSWORD:-}" ]]; then
  (umask 077; printf '%s' "$VCLOUD_PG_PASSWORD" >"$PG_PASSWORD_FILE")
elif [[ ! -s "$PG_PASSWORD_FILE" ]]; then
  (umask 077; od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$PG_PASSWORD_FILE")
fi
chmod 600 "$PG_PASSWORD_FILE"
PG_PASSWORD="$(cat "$PG_PASSWORD_FILE")"
PG_DB="${VCLOUD_PG_DATABASE:-vcloud}"
PG_MAX_CONNECTIONS="${VCLOUD_PG_MAX_CONNECTIONS:-300}"
[[ "$PG_MAX_CONNECTIONS" =~ ^[1-9][0-9]{1,4}$ ]] || { echo "VCLOUD_PG_MAX_CONNECTIONS must be a number" >&2; exit 2; }
TEMPORAL_PORT="${VCLOUD_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${VCLOUD_TEMPORAL_UI_PORT:-8233}"
REGISTRY_ADDR="${VCLOUD_REGISTRY:-127.0.0.1:5000}"
PROMETHEUS_ADDR="${VCLOUD_PROMETHEUS_ADDR:-127.0.0.1:9090}"
SEARCH_ATTRIBUTES=(VcInstanceId VcHostId VcZone VcOperation)

APT_PACKAGES=(docker.io docker-registry postgresql libvirt-daemon-system libvirt-dev qemu-system-x86
  qemu-utils qemu-guest-agent busybox-static iproute2 iputils-ping fping e2fsprogs linux-image-amd64 cpio kmod
  curl ca-certificates util-linux procps prometheus mmdebstrap openssh-client chromium haproxy openssl)

log() { printf '[vcloud] %s\n' "$*" >&2; }

# A killed process that nobody reaped yet still answers kill -0: a zombie counts as gone.
pid_alive() { kill -0 "$1" 2>/dev/null && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }

# Starts a command in the background with its own log and pid file, unless its pid is alive.
start_bg() {
  local name="$1"; shift
  local pidfile="$PIDS/$name.pid"
  if [[ -f "$pidfile" ]] && pid_alive "$(cat "$pidfile")"; then return 0; fi
  nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  # Not this shell's job: a test that kills it is not reported here.
  disown "$!" 2>/dev/null || true
}

# Stops what start_bg started, by pid only.
stop_bg() {
  local name="$1" pidfile="$PIDS/$1.pid"
  [[ -f "$pidfile" ]] || return 0
  local pid; pid="$(cat "$pidfile")"
  if pid_alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

wait_for() {
  local what="$1" tries="$2"; shift 2
  for _ in $(seq 1 "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  log "timed out waiting for $what"; return 1
}

install_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$LOGS/apt.log" 2>&1 ||
      { tail -40 "$LOGS/apt.log"; return 1; }
  fi
}

install_node_modules() {
  if [[ ! -d "$ROOT/node_modules" || "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]]; then
    log "npm ci"
    (cd "$ROOT" && npm ci --no-audit --no-fund >"$LOGS/npm-ci.log" 2>&1) || { tail -40 "$LOGS/npm-ci.log"; return 1; }
  fi
}

install_temporal() {
  if command -v temporal >/dev/null 2>&1; then return 0; fi
  command -v go >/dev/null || { log "go is not installed"; return 1; }
  local tag
  for tag in v1.5.1 v1.4.1 v1.3.0; do
    log "go install github.com/temporalio/cli/cmd/temporal@$tag"
    if GOBIN="$TOOLS/bin" go install "github.com/temporalio/cli/cmd/temporal@$tag" >"$LOGS/go-install.log" 2>&1; then return 0; fi
    tail -20 "$LOGS/go-install.log" >&2
  done
  return 1
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1; }

start_postgres() {
  local ver; ver="$(basename "$(dirname "$(pg_bin)")")"
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
    pg_createcluster "$ver" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $4}' | grep -q online; then
    log "starting PostgreSQL $ver"
    pg_ctlcluster "$ver" main start
  fi
  wait_for postgres 30 su postgres -c "psql -Atqc 'select 1'"
  # The connection budget of everything on one machine: the scale-out shape alone (two Temporal
  # nodes with four services each, two APIs, two control workers, the agents) can hold more than
  # the default 100 under load. Set once; the restart takes a second.
  if (($(su postgres -c "psql -Atqc 'show max_connections'") < PG_MAX_CONNECTIONS)); then
    log "PostgreSQL: max_connections $PG_MAX_CONNECTIONS (restarting it)"
    su postgres -c "psql -qc 'alter system set max_connections = $PG_MAX_CONNECTIONS'"
    pg_ctlcluster "$ver" main restart
    wait_for postgres 30 su postgres -c "psql -Atqc 'select 1'"
  fi
  # Least privilege: the role owns its databases and nothing more (no superuser, no createdb); an
  # older install's superuser role is taken down to that. The password goes in on stdin, not argv.
  local verb=create
  su postgres -c "psql -Atqc \"select 1 from pg_roles where rolname='$PG_USER'\"" | grep -q 1 && verb=alter
  su postgres -c "psql -q -v ON_ERROR_STOP=1" <<<"$verb role $PG_USER login nosuperuser nocreatedb nocreaterole password '$PG_PASSWORD'"
}

ensure_database() {
  local db="$1"
  su postgres -c "psql -Atqc \"select 1 from pg_database where datname='$db'\"" | grep -q 1 ||
    su postgres -c "psql -qc 'create database $db owner $PG_USER'"
}

temporal_ready() { temporal operator namespace describe default --address "127.0.0.1:$TEMPORAL_PORT" >/dev/null 2>&1; }

start_temporal() {
  if ! temporal_ready; then
    log "starting the Temporal dev server (UI on :$TEMPORAL_UI_PORT)"
    # Room for a fleet (bench/fleet.ts): every host agent holds two long polls, past the default
    # 1,200 per frontend; the request rates are raised to match, and a host's queue, which one
    # agent serves, needs no partitions. deploy/temporal-cluster/dynamicconfig.yaml says the same.
    start_bg temporal temporal server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
      --ui-port "$TEMPORAL_UI_PORT" --db-filename "$DATA/temporal.db" --log-level warn \
      --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
      --dynamic-config-value "frontend.namespaceCount=${VCLOUD_TEMPORAL_LONG_POLLS:-10000}" \
      --dynamic-config-value frontend.rps=10000 --dynamic-config-value matching.rps=10000 \
      --dynamic-config-value matching.numTaskqueueReadPartitions=1 --dynamic-config-value matching.numTaskqueueWritePartitions=1
    wait_for temporal 90 temporal_ready
  fi
  register_search_attributes "127.0.0.1:$TEMPORAL_PORT"
}

# The project's search attributes (workflows/search-attributes.ts), on the server at $1.
# Retried: on a cluster, a node may not know a new namespace for a few seconds.
register_search_attributes() {
  local sa
  for sa in "${SEARCH_ATTRIBUTES[@]}"; do wait_for "the search attribute $sa on $1" 30 ensure_search_attribute "$1" "$sa"; done
}
ensure_search_attribute() {
  temporal operator search-attribute list --address "$1" 2>/dev/null | grep -qw "$2" ||
    temporal operator search-attribute create --name "$2" --type Keyword --address "$1"
}

# Debian ships /dev/kvm as root:kvm 0660; some machines come with 0600, which makes libvirt
# re-probe QEMU on every define (about 30 s each).
ensure_kvm_device() {
  [[ -e /dev/kvm ]] || return 0
  getent group kvm >/dev/null && chgrp kvm /dev/kvm 2>/dev/null || true
  chmod 0660 /dev/kvm 2>/dev/null || true
}

start_dockerd() {
  local sock="${1:-/var/run/docker.sock}" root="${2:-/var/lib/docker}" name="${3:-dockerd}" execroot="${4:-/var/run/docker}"
  if DOCKER_HOST="unix://$sock" docker info >/dev/null 2>&1; then return 0; fi
  log "starting $name on $sock"
  mkdir -p "$root"
  start_bg "$name" dockerd --host "unix://$sock" --data-root "$root" --exec-root "$execroot" \
    --pidfile "$PIDS/$name.dockerd.pid" --bridge none --iptables=false --ip-forward=false --ip-masq=false
  wait_for "$name" 60 env DOCKER_HOST="unix://$sock" docker info
}

registry_ready() { curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; }

start_registry() {
  registry_ready && return 0
  log "starting the registry on $REGISTRY_ADDR"
  mkdir -p "$DATA/registry"
  cat >"$DATA/registry.yml" <<YML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $DATA/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
YML
  start_bg registry docker-registry serve "$DATA/registry.yml"
  wait_for registry 30 registry_ready
}

# The embedded monitoring store: Debian's Prometheus, finding the host agents through the API's
# HTTP service discovery (with the admin token as its bearer), keeping VCLOUD_PROMETHEUS_RETENTION.
# The type is spelled out: Debian's 2.42 sends the bare token to an HTTP SD endpoint otherwise.
start_prometheus() {
  local api="$1" token_file="$2"
  curl -fsS "http://$PROMETHEUS_ADDR/-/ready" >/dev/null 2>&1 && return 0
  log "starting Prometheus on $PROMETHEUS_ADDR"
  mkdir -p "$DATA/prometheus"
  cat >"$DATA/prometheus.yml" <<YML
global:
  scrape_interval: ${VCLOUD_PROMETHEUS_SCRAPE_INTERVAL:-10s}
scrape_configs:
  - job_name: vcloud-agents
    http_sd_configs:
      - url: $api/v1/monitoring/targets
        refresh_interval: 30s
        authorization:
          type: Bearer
          credentials_file: $token_file
YML
  start_bg prometheus prometheus --config.file="$DATA/prometheus.yml" --storage.tsdb.path="$DATA/prometheus" \
    --storage.tsdb.retention.time="${VCLOUD_PROMETHEUS_RETENTION:-15d}" --web.listen-address="$PROMETHEUS_ADDR"
  wait_for prometheus 60 curl -fsS "http://$PROMETHEUS_ADDR/-/ready"
}

start_libvirtd() {
  ensure_kvm_device
  if ! virsh -c qemu:///system version >/dev/null 2>&1; then
    log "starting libvirtd and virtlogd"
    pgrep -x virtlogd >/dev/null || virtlogd -d
    pgrep -x libvirtd >/dev/null || libvirtd -d
    wait_for libvirtd 30 virsh -c qemu:///system version
  fi
}

# A Linux bridge with the zone gateway on it and no uplink: the zone's L2 segment on this host.
ensure_bridge() {
  local name="$1" cidr="$2"
  ip link show "$name" >/dev/null 2>&1 || ip link add name "$name" type bridge
  ip -4 addr show dev "$name" | grep -qw "${cidr%/*}" || ip addr add "$cidr" dev "$name"
  ip link set "$name" up
}

# A second simulated host on this machine: its own Docker engine (socket, data root, exec root)
# and its own libvirtd in a private mount namespace (scripts/libvirtd-ns.sh).
HOST_B_DOCKER_SOCK="$DATA/docker-b.sock"
HOST_B_LIBVIRT_URI="qemu+unix:///system?socket=$DATA/libvirt-b/run/libvirt-sock"
start_host_b_services() {
  start_dockerd "$HOST_B_DOCKER_SOCK" "$DATA/docker-b" dockerd-b "$DATA/docker-b-exec"
  if ! virsh -c "$HOST_B_LIBVIRT_URI" version >/dev/null 2>&1; then
    log "starting host B's libvirtd in its own mount namespace"
    stop_bg libvirtd-b
    start_bg libvirtd-b bash "$ROOT/scripts/libvirtd-ns.sh" "$DATA/libvirt-b"
    wait_for libvirtd-b 30 virsh -c "$HOST_B_LIBVIRT_URI" version
  fi
}

stop_host_b_services() {
  stop_bg libvirtd-b
  local vlogd="$DATA/libvirt-b/virtlogd.pid"
  if [[ -f "$vlogd" ]] && kill -0 "$(cat "$vlogd")" 2>/dev/null; then kill "$(cat "$vlogd")"; fi
  stop_bg dockerd-b
}

# VCLOUD_TEMPORAL=cluster: a two-node cluster on Postgres (scripts/temporal-cluster.sh) in place of
# the dev server, at the same address.
TEMPORAL_MODE="${VCLOUD_TEMPORAL:-dev}"
[[ "$TEMPORAL_MODE" == dev || "$TEMPORAL_MODE" == cluster ]] || { log "VCLOUD_TEMPORAL is dev or cluster"; exit 2; }

prepare_services() {
  install_packages
  install_node_modules
  install_temporal
  start_postgres
  if [[ "$TEMPORAL_MODE" == cluster ]]; then
    if [[ -f "$PIDS/temporal.pid" ]] && pid_alive "$(cat "$PIDS/temporal.pid")"; then
      log "the dev server runs on :$TEMPORAL_PORT: npm run down first"; return 1
    fi
    start_temporal_cluster
  else
    start_temporal
  fi
  start_dockerd
  start_registry
  start_libvirtd
}

source "$ROOT/scripts/temporal-cluster.sh"
