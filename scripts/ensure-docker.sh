#!/usr/bin/env bash
# Make sure a Docker engine answers: install docker.io where it is missing
# (Debian/Ubuntu) and start dockerd by hand where no init system runs it.
set -euo pipefail

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

if ! command -v dockerd >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    log "installing docker.io (Docker engine from the distribution)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
  else
    echo "no Docker engine and no apt-get: install Docker, then re-run" >&2
    exit 1
  fi
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

# systemd hosts: let the unit start it. Sandboxes and CI often have no init.
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  systemctl start docker || true
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd in the background (log: /var/log/aihpc-dockerd.log)"
  nohup dockerd >/var/log/aihpc-dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not come up; see /var/log/aihpc-dockerd.log" >&2
tail -n 20 /var/log/aihpc-dockerd.log >&2 || true
exit 1
