#!/usr/bin/env bash
# Build the systemd base image for the local container cluster.
#
# There is no container registry here, so the image comes from debootstrap
# and `docker import`. The tag carries a hash of this directory: the image is
# rebuilt only when its recipe changes, otherwise this script is a no-op.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=images/lib/rootfs.sh
. "$here/../lib/rootfs.sh"
suite="${AIHPC_IMAGE_SUITE:-trixie}"
mirror="${AIHPC_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
repo="${AIHPC_IMAGE_REPO:-aihpc/trixie-systemd}"
cache_dir="${AIHPC_CACHE_DIR:-/var/cache/aihpc}"

recipe_hash="$(recipe_hash "$here" "$suite $mirror")"
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

echo "debootstrap ${suite} from ${mirror} (about 3 minutes on 2 cores)"
# apt-cacher-ng on the host (scripts/ensure-apt-cache.sh) makes re-runs cheap.
bootstrap_rootfs "$here" "$suite" "$mirror" "$cache_dir" "$rootfs" "$suite" "$mirror"

echo "importing ${tag}"
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/sbin/init"]' \
  --change 'ENV container=docker' \
  - "$tag" >/dev/null
docker tag "$tag" "${repo}:latest"
echo "built ${tag}"
