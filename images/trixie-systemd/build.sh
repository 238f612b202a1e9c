#!/usr/bin/env bash
# Build the systemd base image for the local container cluster.
#
# There is no container registry here, so the image comes from debootstrap
# and `docker import`. The tag carries a hash of this directory: the image is
# rebuilt only when its recipe changes, otherwise this script is a no-op.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suite="${AIHPC_IMAGE_SUITE:-trixie}"
mirror="${AIHPC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
repo="${AIHPC_IMAGE_REPO:-aihpc/trixie-systemd}"
cache_dir="${AIHPC_CACHE_DIR:-/var/cache/aihpc}"

recipe_hash="$( (cd "$here" && cat build.sh packages.txt rootfs-setup.sh; echo "$suite $mirror") | sha256sum | cut -c1-12)"
tag="${repo}:${recipe_hash}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image ${tag} is up to date"
  docker tag "$tag" "${repo}:latest"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install -y debootstrap" >&2; exit 1; }

work="$(mktemp -d /var/tmp/aihpc-rootfs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$cache_dir/debootstrap"

packages="$(grep -v '^#' "$here/packages.txt" | xargs | tr ' ' ',')"
echo "debootstrap ${suite} from ${mirror} (about 3 minutes on 2 cores)"
# apt-cacher-ng on the host (scripts/ensure-apt-cache.sh) makes re-runs cheap.
debootstrap --variant=minbase --include="$packages" \
  --cache-dir="$cache_dir/debootstrap" "$suite" "$rootfs" "$mirror" \
  | awk '/^I: (Retrieving|Validating|Extracting|Installing|Configuring) /{n++; if (n % 25 == 0) print "  ... " $0; next} {print}'

install -m 0755 "$here/rootfs-setup.sh" "$rootfs/tmp/rootfs-setup.sh"
chroot "$rootfs" /tmp/rootfs-setup.sh "$suite" "$mirror"
rm -f "$rootfs/tmp/rootfs-setup.sh"

echo "importing ${tag}"
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV container=docker' \
  - "$tag" >/dev/null
docker tag "$tag" "${repo}:latest"
echo "built ${tag}"
