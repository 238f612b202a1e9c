#!/usr/bin/env bash
# Download PyTorch from PyPI for the cluster nodes' Python (Debian trixie:
# CPython 3.13), with everything it needs, into a wheel cache on this
# machine. PyPI's Linux x86_64 torch is the CUDA build, about 3.8 GB with its
# nvidia-* wheels: it is downloaded once and reused (a stamp file marks a
# complete download of the same requirements). Prints the cache directory.
#   AIHPC_TORCH_VERSION  (default 2.9.1)   AIHPC_WHEEL_CACHE  (default /var/cache/aihpc/wheels)
#   AIHPC_NODE_PYTHON    the nodes' Python as X.Y (default 3.13)
set -euo pipefail
version="${AIHPC_TORCH_VERSION:-2.9.1}"
py="${AIHPC_NODE_PYTHON:-3.13}"
abi="cp${py/./}"
dest="${AIHPC_WHEEL_CACHE:-/var/cache/aihpc/wheels}/torch-${version}-${abi}"
stamp="$dest/.complete"
# pip evaluates some environment markers for the running Python, not for
# --python-version: torch needs setuptools on Python >= 3.12, so ask for it.
requirements=("torch==$version" setuptools)
log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

if [ -f "$stamp" ] && [ "$(head -1 "$stamp")" = "${requirements[*]}" ]; then
  log "torch $version for Python $py: cached in $dest"
  echo "$dest"
  exit 0
fi
mkdir -p "$dest"
platforms=()
# pip matches a wheel only against the platform tags it is given: list the
# manylinux levels a glibc 2.41 (trixie) system accepts.
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 \
  manylinux_2_12 manylinux2010 manylinux_2_5 manylinux1 linux; do
  platforms+=(--platform "${tag}_x86_64")
done
log "downloading torch $version and its dependencies for Python $py into $dest (about 3.8 GB)"
start=$(date +%s)
# PIP_CONSTRAINT="" : a machine-wide pip constraint must not cap what the nodes get.
PIP_CONSTRAINT="" python -m pip download --quiet --disable-pip-version-check \
  --only-binary=:all: --implementation cp --python-version "$py" \
  --abi "$abi" --abi abi3 --abi none "${platforms[@]}" \
  -d "$dest" "${requirements[@]}"
printf '%s\n%s\n' "${requirements[*]}" "$(date -u +%FT%TZ)" > "$stamp"
log "downloaded $(du -sh "$dest" | cut -f1) in $(( $(date +%s) - start )) s"
echo "$dest"
