#!/usr/bin/env bash
# Bring the local container cluster up (containers + site.yml) or down.
#   scripts/cluster.sh up|down|converge
# AIHPC_LOCAL_PREFIX picks the container names (default aihpc-).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export ANSIBLE_CONFIG="$root/ansible-harness.cfg"
inv="$root/inventories/local"
log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

case "${1:-up}" in
  up)
    log "starting the node containers (ctl1, gpu1, gpu2)"
    ansible-playbook -i "$inv" playbooks/local/up.yml
    log "configuring them with playbooks/site.yml (first run: about 5 minutes)"
    ansible-playbook -i "$inv" playbooks/site.yml
    ;;
  converge)
    ansible-playbook -i "$inv" playbooks/site.yml "${@:2}"
    ;;
  down)
    ansible-playbook -i "$inv" playbooks/local/down.yml "${@:2}"
    ;;
  *)
    echo "usage: $0 up|converge|down" >&2
    exit 2
    ;;
esac
