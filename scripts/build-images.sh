#!/usr/bin/env bash
# Builds the platform's small busybox image twice over: a tgz template in the image store and
# its Docker twin in the local registry. Nothing is downloaded: busybox comes from Debian's
# busybox-static package. Writes .data/images/manifest.json for the seed step. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STORE="$DATA/images"
mkdir -p "$STORE"
TGZ="$STORE/busybox.tgz"
REF="$REGISTRY_ADDR/vcloud/busybox:1"
DOCKER=(docker --host "unix://${VCLOUD_DOCKER_SOCKET:-/var/run/docker.sock}")

if [[ ! -s "$TGZ" ]]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  rootfs="$work/rootfs"
  mkdir -p "$rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,root,var/run,usr/bin,usr/sbin}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [[ -e "$rootfs/bin/$applet" ]] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$rootfs/etc/group"
  printf 'vcloud\n' >"$rootfs/etc/hostname"
  # The template's own init for containers: stay up until told to stop.
  cat >"$rootfs/sbin/vcloud-init" <<'SH'
#!/bin/sh
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
SH
  chmod 0755 "$rootfs/sbin/vcloud-init"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -czf "$TGZ.tmp" .
  mv "$TGZ.tmp" "$TGZ"
fi
TGZ_SHA="sha256:$(sha256sum "$TGZ" | cut -d' ' -f1)"
TGZ_SIZE="$(stat -c %s "$TGZ")"

digest_of() { curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$REGISTRY_ADDR/v2/vcloud/busybox/manifests/1" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}'; }

DIGEST="$(digest_of 2>/dev/null || true)"
if [[ -z "$DIGEST" ]]; then
  log "importing $TGZ as $REF"
  "${DOCKER[@]}" import --change 'CMD ["/sbin/vcloud-init"]' "$TGZ" "$REF" >/dev/null
  "${DOCKER[@]}" push "$REF" >/dev/null
  DIGEST="$(digest_of)"
fi

cat >"$STORE/manifest.json" <<JSON
{
  "tgz": { "name": "busybox-tgz", "location": "$TGZ", "digest": "$TGZ_SHA", "sizeBytes": $TGZ_SIZE },
  "docker": { "name": "busybox", "location": "$REF", "digest": "$DIGEST" }
}
JSON
