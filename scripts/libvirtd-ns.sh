#!/usr/bin/env bash
# A second libvirtd (with its own virtlogd), as another machine's would be: in a private mount
# namespace where libvirt's fixed paths (/run/libvirt, /var/lib/libvirt, /var/log/libvirt,
# /var/cache/libvirt) are directories under STATE. For root, qemu:///session is the system
# daemon, so this is how one machine holds two independent libvirt hosts.
# Its socket, seen from outside: STATE/run/libvirt-sock.
set -euo pipefail
STATE="$1"
mkdir -p "$STATE"/{run,lib,log,cache}
exec unshare --mount --propagation private bash -c '
  set -e
  state="$1"
  mount --bind "$state/run" /run/libvirt
  mount --bind "$state/lib" /var/lib/libvirt
  mount --bind "$state/log" /var/log/libvirt
  mount --bind "$state/cache" /var/cache/libvirt
  virtlogd -d --pid-file "$state/virtlogd.pid"
  exec libvirtd --pid-file "$state/libvirtd.pid"
' libvirtd-ns "$STATE"
