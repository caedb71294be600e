#!/usr/bin/env bash
# Builds the platform's templates: small busybox images (a tgz template and its Docker twin in the local
# registry, and a bootable VM template: the same rootfs with Debian's kernel and a busybox initrd; busybox
# comes from Debian's busybox-static package), and the Debian template with openssh-server and its twin
# (scripts/build-debian.sh, from the Debian archive). Writes .data/images/manifest.json for the seed step. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STORE="$DATA/images"
mkdir -p "$STORE"
TGZ="$STORE/busybox.tgz"
REF="$REGISTRY_ADDR/vcloud/busybox:1"
DOCKER=(docker --host "unix://${VCLOUD_DOCKER_SOCKET:-/var/run/docker.sock}")

VM_TGZ="$STORE/busybox-vm.tgz"
IMAGE_FILES="$ROOT/scripts/image"

make_rootfs() {
  local rootfs="$1"
  mkdir -p "$rootfs"/{bin,sbin,etc,proc,sys,dev,tmp,root,var/run,usr/bin,usr/sbin}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [[ -e "$rootfs/bin/$applet" ]] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\n' >"$rootfs/etc/group"
  printf 'vcloud\n' >"$rootfs/etc/hostname"
  install -m 0755 "$IMAGE_FILES/vcloud-init" "$rootfs/sbin/vcloud-init"
}

# A VM's initrd: busybox, the virtio and ext4 modules of Debian's kernel (with what they depend
# on), and scripts/image/initrd-init as /init.
make_initrd() {
  local out="$1" kver="$2" dir m file rel
  dir="$(mktemp -d)"
  mkdir -p "$dir"/{bin,dev,proc,sys,newroot,lib/modules/"$kver"}
  cp /bin/busybox "$dir/bin/busybox"
  for applet in sh mount umount sleep cat modprobe ip hostname switch_root ipcalc echo; do ln -s busybox "$dir/bin/$applet"; done
  local queue=(virtio_pci virtio_blk virtio_net virtio_console virtio_balloon crc32c_generic ext4) seen=" "
  while ((${#queue[@]})); do
    m="${queue[0]}"; queue=("${queue[@]:1}")
    [[ "$seen" == *" $m "* ]] && continue
    seen+="$m "
    file="$(modinfo -k "$kver" -n "$m" 2>/dev/null || true)"
    [[ -z "$file" || "$file" == "(builtin)" ]] && continue
    rel="${file#/lib/modules/$kver/}"
    mkdir -p "$dir/lib/modules/$kver/$(dirname "$rel")"
    cp "$file" "$dir/lib/modules/$kver/$rel"
    for d in $(modinfo -k "$kver" -F depends "$m" | tr ',' ' '); do queue+=("$d"); done
  done
  cp /lib/modules/"$kver"/modules.builtin* "$dir/lib/modules/$kver/" 2>/dev/null || true
  : >"$dir/lib/modules/$kver/modules.order"
  depmod -b "$dir" "$kver"
  install -m 0755 "$IMAGE_FILES/initrd-init" "$dir/init"
  (cd "$dir" && find . | cpio -o -H newc --quiet | gzip -9) >"$out"
  rm -rf "$dir"
}

REBUILT=0
# Debian's qemu-ga and the libraries it links, at the same paths: the VM's guest agent.
add_guest_agent() {
  local rootfs="$1" lib
  install -D -m 0755 /usr/sbin/qemu-ga "$rootfs/usr/sbin/qemu-ga"
  for lib in $(ldd /usr/sbin/qemu-ga | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
}

# A change to the recipe (this script or scripts/image/) makes the images again.
RECIPE="$(cat "${BASH_SOURCE[0]}" "$IMAGE_FILES"/* | sha256sum | cut -d' ' -f1)"
if [[ ! -s "$TGZ" || ! -s "$VM_TGZ" || "$(cat "$STORE/recipe" 2>/dev/null)" != "$RECIPE" ]]; then
  REBUILT=1
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  make_rootfs "$work/rootfs"
  tar -C "$work/rootfs" --numeric-owner --owner=0 --group=0 -czf "$TGZ.tmp" .
  mv "$TGZ.tmp" "$TGZ"
  # The newest Debian kernel that has both its image in /boot and its modules.
  kver="$(for f in /boot/vmlinuz-*; do v="${f#/boot/vmlinuz-}"; [[ -d "/lib/modules/$v" ]] && echo "$v" || true; done | sort -V | tail -1)"
  [[ -n "$kver" ]] || { log "no kernel with modules under /boot and /lib/modules (package linux-image-amd64)"; exit 1; }
  add_guest_agent "$work/rootfs"
  mkdir -p "$work/rootfs/boot"
  cp "/boot/vmlinuz-$kver" "$work/rootfs/boot/vmlinuz"
  make_initrd "$work/rootfs/boot/initrd.img" "$kver"
  tar -C "$work/rootfs" --numeric-owner --owner=0 --group=0 -czf "$VM_TGZ.tmp" .
  mv "$VM_TGZ.tmp" "$VM_TGZ"
  echo "$RECIPE" >"$STORE/recipe"
fi

sha_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }
# What the rootfs takes unpacked: the floor for a VM disk made from it.
unpacked_of() { tar -tvzf "$1" | awk '{s += $3} END {print s + 0}'; }

export MANIFEST="$STORE/manifest.json"
digest_of() { curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$REGISTRY_ADDR/v2/vcloud/busybox/manifests/1" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}'; }

DIGEST=""
[[ "$REBUILT" = 1 ]] || DIGEST="$(digest_of 2>/dev/null || true)"
if [[ -z "$DIGEST" ]]; then
  log "importing $TGZ as $REF"
  "${DOCKER[@]}" import --change 'CMD ["/sbin/vcloud-init"]' "$TGZ" "$REF" >/dev/null
  "${DOCKER[@]}" push "$REF" >/dev/null
  DIGEST="$(digest_of)"
fi

# The Debian template and its twin (scripts/build-debian.sh, cached on its own).
bash "$ROOT/scripts/build-debian.sh" "$STORE" "$VM_TGZ"
DEB_TGZ="$STORE/debian-vm.tgz"
DEB_REF="$REGISTRY_ADDR/vcloud/debian:1"
DEB_DIGEST="$(curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
  "http://$REGISTRY_ADDR/v2/vcloud/debian/manifests/1" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}')"

node -e '
  const [tgz, vm, ref, digest, tgzSha, tgzSize, vmSha, vmSize, deb, debSha, debSize, debRef, debDigest] = process.argv.slice(1);
  const boot = { kernel: "boot/vmlinuz", initrd: "boot/initrd.img", cmdline: "console=ttyS0" };
  const manifest = {
    tgz: { name: "busybox-tgz", location: tgz, digest: tgzSha, sizeBytes: Number(tgzSize) },
    vm: { name: "busybox-vm", location: vm, digest: vmSha, sizeBytes: Number(vmSize), boot },
    docker: { name: "busybox", location: ref, digest },
    debianVm: { name: "debian-vm", location: deb, digest: debSha, sizeBytes: Number(debSize), boot },
    debian: { name: "debian", location: debRef, digest: debDigest },
  };
  require("fs").writeFileSync(process.env.MANIFEST, JSON.stringify(manifest, null, 2) + "\n");
' "$TGZ" "$VM_TGZ" "$REF" "$DIGEST" "$(sha_of "$TGZ")" "$(unpacked_of "$TGZ")" "$(sha_of "$VM_TGZ")" "$(unpacked_of "$VM_TGZ")" \
  "$DEB_TGZ" "$(sha_of "$DEB_TGZ")" "$(unpacked_of "$DEB_TGZ")" "$DEB_REF" "$DEB_DIGEST"
