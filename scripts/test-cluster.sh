#!/usr/bin/env bash
# The whole-cluster test: the Molecule scenario (create, converge,
# idempotence, verify), then the end-to-end tests that need a live cluster,
# then teardown. AIHPC_KEEP_CLUSTER=1 leaves the containers up for debugging.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export AIHPC_LOCAL_PREFIX=aihpc-test-
mkdir -p build/logs
rm -f build/logs/molecule-cluster-ansible.log
log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

teardown() {
  if [ "${AIHPC_KEEP_CLUSTER:-0}" = 1 ]; then
    log "leaving the test cluster up (ssh -F .cache/local-cluster/aihpc-test-ssh_config ctl1)"
  else
    log "removing the test cluster"
    molecule destroy -s cluster >/dev/null 2>&1 || true
  fi
}
trap teardown EXIT

start=$(date +%s)
log "Molecule scenario 'cluster': create, converge, idempotence, verify"
molecule test -s cluster --destroy never
log "scenario passed in $(( $(date +%s) - start )) s"

if compgen -G "tests/cluster/test_*.py" >/dev/null; then
  log "end-to-end tests on the live cluster"
  pytest tests/cluster -q -p no:cacheprovider
fi
