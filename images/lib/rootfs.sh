# shellcheck shell=bash
# Shared by the image recipes (images/*/build.sh): source it, do not run it.
# Both images are a debootstrap minbase tree of packages.txt, finished by the
# recipe's rootfs-setup.sh in a chroot, and cached under a hash of the recipe.

# recipe_hash DIR EXTRA: 12 hex digits over DIR's recipe files, this library
# and EXTRA (the settings that change the result).
recipe_hash() {
  local dir="$1" extra="$2" lib
  lib="$(dirname "${BASH_SOURCE[0]}")/rootfs.sh"
  (cd "$dir" && cat build.sh packages.txt rootfs-setup.sh "$lib"; echo "$extra") | sha256sum | cut -c1-12
}

# bootstrap_rootfs DIR SUITE MIRROR CACHE_DIR ROOTFS [SETUP_ARGS...]
# debootstrap DIR/packages.txt into ROOTFS (progress every 25 steps, debs
# kept in CACHE_DIR/debootstrap), then run DIR/rootfs-setup.sh SETUP_ARGS
# inside it. Output goes to stderr so that a recipe's stdout stays its own.
bootstrap_rootfs() {
  local dir="$1" suite="$2" mirror="$3" cache_dir="$4" rootfs="$5"
  shift 5
  local packages
  packages="$(grep -v '^#' "$dir/packages.txt" | xargs | tr ' ' ',')"
  mkdir -p "$cache_dir/debootstrap"
  debootstrap --variant=minbase --include="$packages" \
    --cache-dir="$cache_dir/debootstrap" "$suite" "$rootfs" "$mirror" \
    | awk '/^I: (Retrieving|Validating|Extracting|Installing|Configuring|Unpacking) /{n++; if (n % 25 == 0) print "  ... " $0; next} {print}' >&2
  install -m 0755 "$dir/rootfs-setup.sh" "$rootfs/tmp/rootfs-setup.sh"
  chroot "$rootfs" /tmp/rootfs-setup.sh "$@" >&2
  rm -f "$rootfs/tmp/rootfs-setup.sh"
}
