#!/usr/bin/env bash
# Stops what `npm run up` started, by pid, newest first. Debian-managed daemons started by
# the system (Postgres, the system libvirtd) are left running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for name in prometheus host-agent-2-watchdog host-agent-2 host-agent-watchdog host-agent control-worker-2 control-worker api-lb api-2 api; do
  stop_bg "$name"
done
stop_host_b_services
stop_temporal_cluster
for name in registry temporal dockerd; do stop_bg "$name"; done
log "stopped"
