#!/usr/bin/env bash
# What the container cluster needs on the host: a Docker engine, debootstrap
# (base image), and the shared apt cache proxy.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v debootstrap >/dev/null 2>&1; then
  printf '\033[1;34m==>\033[0m %s\n' "installing debootstrap"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
"$here/ensure-docker.sh"
"$here/ensure-apt-cache.sh"
