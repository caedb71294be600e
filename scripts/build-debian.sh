#!/usr/bin/env bash
# Builds the Debian template: a minimal Debian root filesystem (mmdebstrap, minbase) with openssh-server and
# Debian's qemu-guest-agent, the platform's init, and the kernel and initrd of busybox-vm (our initrd sets the
# static network from the kernel's ip= argument). No SSH host keys (each instance makes its own at first boot)
# and no device nodes (a template may hold none). Writes $STORE/debian-vm.tgz and pushes its Docker twin
# $REGISTRY_ADDR/vcloud/debian:1. Built once and cached by the hash of its recipe.
# Usage: build-debian.sh <store dir> <busybox-vm.tgz>
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STORE="$1"
VM_TGZ="$2"
DEB_TGZ="$STORE/debian-vm.tgz"
DEB_REF="$REGISTRY_ADDR/vcloud/debian:1"
DOCKER=(docker --host "unix://${VCLOUD_DOCKER_SOCKET:-/var/run/docker.sock}")
SUITE=bookworm
PACKAGES=openssh-server,iproute2,qemu-guest-agent

RECIPE="$(cat "${BASH_SOURCE[0]}" "$ROOT/scripts/image/vcloud-init" "$VM_TGZ" | sha256sum | cut -d' ' -f1)"
if [[ -s "$DEB_TGZ" && "$(cat "$STORE/debian-recipe" 2>/dev/null)" == "$RECIPE" ]] &&
  curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' "http://$REGISTRY_ADDR/v2/vcloud/debian/manifests/1"; then
  exit 0
fi

log "building the Debian template ($SUITE minbase with $PACKAGES)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
  "$SUITE" "$root" >"$LOGS/mmdebstrap.log" 2>&1 || { tail -30 "$LOGS/mmdebstrap.log"; exit 1; }
# Each instance makes its own host keys at first boot (vcloud-init); a machine id likewise.
rm -f "$root"/etc/ssh/ssh_host_* "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
printf 'vcloud\n' >"$root/etc/hostname"
# root logs in with a key only (Debian's default for root, said here so a change upstream cannot open passwords).
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n' >"$root/etc/ssh/sshd_config.d/vcloud.conf"
install -m 0755 "$ROOT/scripts/image/vcloud-init" "$root/usr/sbin/vcloud-init"
mkdir -p "$root/boot"
tar -xzf "$VM_TGZ" -C "$root" ./boot/vmlinuz ./boot/initrd.img
# /dev is made at boot (devtmpfs in a VM, the engine's in a container).
tar -C "$root" --numeric-owner --exclude='./dev/*' -czf "$DEB_TGZ.tmp" .
mv "$DEB_TGZ.tmp" "$DEB_TGZ"

log "importing $DEB_TGZ as $DEB_REF"
"${DOCKER[@]}" import --change 'CMD ["/usr/sbin/vcloud-init"]' "$DEB_TGZ" "$DEB_REF" >/dev/null
"${DOCKER[@]}" push "$DEB_REF" >/dev/null
echo "$RECIPE" >"$STORE/debian-recipe"
