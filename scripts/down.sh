#!/usr/bin/env bash
# Stops what `npm run up` started, by pid, newest first. Debian-managed daemons started by
# the system (Postgres, libvirtd) are left alone unless VCLOUD_DOWN_ALL=1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for name in host-agent control-worker api registry temporal dockerd-b dockerd; do stop_bg "$name"; done
log "stopped"
