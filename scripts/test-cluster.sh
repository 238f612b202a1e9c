#!/usr/bin/env bash
# The container tests: the whole-cluster Molecule scenario (create, converge,
# idempotence, verify), the end-to-end tests that need that live cluster,
# then each role's own scenario. AIHPC_KEEP_CLUSTER=1 leaves the whole-cluster
# containers up for debugging (ssh -F .cache/local-cluster/aihpc-test-ssh_config ctl1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export AIHPC_LOCAL_PREFIX=aihpc-test-
mkdir -p build/logs
rm -f build/logs/molecule-cluster-ansible.log build/logs/node-failure-times.json
log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
destroy_cluster() { molecule destroy -s cluster >/dev/null 2>&1 || true; }

teardown() {
  if [ "${AIHPC_KEEP_CLUSTER:-0}" != 1 ]; then
    destroy_cluster
  fi
}
trap teardown EXIT

start=$(date +%s)
log "Molecule scenario 'cluster': create, converge, idempotence, verify"
molecule test -s cluster --destroy never
log "scenario passed in $(( $(date +%s) - start )) s"

if compgen -G "tests/cluster/test_*.py" >/dev/null; then
  log "end-to-end tests on the live cluster"
  t=$(date +%s)
  pytest tests/cluster -q -p no:cacheprovider
  log "end-to-end tests passed in $(( $(date +%s) - t )) s"
fi

# Last on the live cluster, because it grows it: add gpu3 with --limit, then
# the node-failure test, which needs gpu3 as the spare.
log "scaling lane: add a node with site.yml --limit, then kill one under a job"
t=$(date +%s)
pytest tests/cluster_scaling -q -p no:cacheprovider
log "scaling lane (add a node, a node dies) passed in $(( $(date +%s) - t )) s"
if [ -f build/logs/node-failure-times.json ]; then
  log "node death, kill to requeue and resume: $(cat build/logs/node-failure-times.json)"
fi

if [ "${AIHPC_KEEP_CLUSTER:-0}" != 1 ]; then
  log "removing the test cluster"
  destroy_cluster
fi

if [ "${AIHPC_SKIP_ROLE_SCENARIOS:-0}" != 1 ]; then
  for role_dir in roles/*/; do
    [ -f "$role_dir/molecule/default/molecule.yml" ] || continue
    role="$(basename "$role_dir")"
    log "Molecule scenario for role '$role'"
    t=$(date +%s)
    (cd "$role_dir" && molecule test)
    log "role '$role' passed in $(( $(date +%s) - t )) s"
  done
fi
log "container tests passed in $(( $(date +%s) - start )) s"
