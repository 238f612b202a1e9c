#!/usr/bin/env bash
# Build the qemu guest image for the kernel lane (make test-kernel).
#
# debootstrap a trixie tree with a stock kernel, pack it with mkfs.ext4 -d and
# qemu-img convert, and keep the kernel and initrd beside it for -kernel and
# -initrd. The output directory is named by a hash of this recipe: the image is
# rebuilt only when the recipe changes, otherwise this script is a no-op.
# Prints the image directory on its last line of stdout.
#   build.sh --print-dir   print that directory without building
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/lib/rootfs.sh
. "$here/../lib/rootfs.sh"
suite="${AIHPC_KERNEL_VM_SUITE:-trixie}"
# Path-style URL through the host's apt cache (scripts/apt_cache_proxy.py).
mirror="${AIHPC_KERNEL_VM_MIRROR:-http://127.0.0.1:${AIHPC_APT_CACHE_PORT:-3142}/deb.debian.org/debian}"
cache_dir="${AIHPC_CACHE_DIR:-/var/cache/aihpc}"
disk_size="${AIHPC_KERNEL_VM_DISK_SIZE:-4G}"

recipe_hash="$(recipe_hash "$here" "$suite $disk_size")"
out="$cache_dir/kernel-vm/$recipe_hash"

if [ "${1:-}" = --print-dir ]; then
  echo "$out"
  exit 0
fi
if [ -f "$out/disk.qcow2" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
  echo "kernel-vm image $recipe_hash is up to date" >&2
  echo "$out"
  exit 0
fi

for tool in debootstrap mkfs.ext4 qemu-img; do
  command -v "$tool" >/dev/null || {
    echo "$tool is missing: apt-get install -y debootstrap e2fsprogs qemu-utils" >&2
    exit 1
  }
done

work="$(mktemp -d /var/tmp/aihpc-kernel-vm.XXXXXX)"
cleanup() {
  for m in proc sys dev/pts dev; do umount "$work/rootfs/$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
rootfs="$work/rootfs"
mkdir -p "$cache_dir/kernel-vm"

start=$(date +%s)
echo "debootstrap ${suite} with a kernel from ${mirror} (about 4 minutes on 2 cores)" >&2
bootstrap_rootfs "$here" "$suite" "$mirror" "$cache_dir" "$rootfs" "$suite"
chroot "$rootfs" dpkg-query -W -f '${Package} ${Version}\n' >"$work/packages.lst"

staging="$out.tmp.$$"
rm -rf "$staging"
mkdir -p "$staging"
# The kernel and initrd boot the guest directly (qemu -kernel/-initrd).
cp -L "$rootfs/vmlinuz" "$staging/vmlinuz"
cp -L "$rootfs/initrd.img" "$staging/initrd.img"
cp "$work/packages.lst" "$staging/packages.lst"
echo "packing the root filesystem ($disk_size ext4, sparse)" >&2
mkfs.ext4 -q -L aihpc-root -d "$rootfs" "$work/root.ext4" "$disk_size"
qemu-img convert -f raw -O qcow2 "$work/root.ext4" "$staging/disk.qcow2"
rm -rf "$out"
mv "$staging" "$out"
echo "built kernel-vm image $recipe_hash in $(( $(date +%s) - start )) s: $(du -sh "$out" | cut -f1)" >&2
echo "$out"
