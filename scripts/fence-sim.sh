#!/usr/bin/env bash
# A fence command for the simulated second host (host B of the tests, local-2 of `VCLOUD_HOSTS=2 npm
# run up`), standing in for an IPMI power-off: its Docker engine stops (by its pid file) and its VMs
# are destroyed. Usage: fence-sim.sh <data dir>. Prints what it did; exit 0 means powered off.
set -euo pipefail
DATA="$1"
[[ -d "$DATA/pids" ]] || { echo "no pid directory under $DATA" >&2; exit 2; }
pidfile="$DATA/pids/dockerd-b.pid"
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  pid="$(cat "$pidfile")"
  kill "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
fi
uri="qemu+unix:///system?socket=$DATA/libvirt-b/run/libvirt-sock"
n=0
for dom in $(virsh -c "$uri" list --name 2>/dev/null | grep '^vc-' || true); do
  virsh -c "$uri" destroy "$dom" >/dev/null && n=$((n + 1))
done
echo "host B powered off: engine stopped, $n VM(s) destroyed"
