#!/usr/bin/env bash
# The torchrun launcher end to end (make test-torchrun; not in `make test`).
# Debian's torch has no libuv, so torchrun needs a researcher-style venv:
#   1. torch from PyPI for the nodes' Python, downloaded once into a wheel
#      cache on this machine (scripts/fetch-torch-wheels.sh, about 3.8 GB);
#   2. a local cluster (AIHPC_LOCAL_PREFIX, default aihpc-trun-), reused if up;
#   3. the wheels copied to the shared volume, a venv made there by alice;
#   4. tests/cluster/test_torchrun_launcher.py against it.
# AIHPC_KEEP_CLUSTER=1 leaves the cluster (and the venv) up afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export ANSIBLE_CONFIG="$root/ansible-harness.cfg"
export AIHPC_LOCAL_PREFIX="${AIHPC_LOCAL_PREFIX:-aihpc-trun-}"
export AIHPC_TORCH_VERSION="${AIHPC_TORCH_VERSION:-2.9.1}"
venv="/shared/venvs/torch-$AIHPC_TORCH_VERSION"
wheelhouse_parent=/shared/wheelhouse
ctl="${AIHPC_LOCAL_PREFIX}ctl1"
log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
declare -A took
step() { took[$1]=$(( $(date +%s) - $2 )); }

teardown() {
  if [ "${AIHPC_KEEP_CLUSTER:-0}" != 1 ]; then
    log "removing the cluster ($AIHPC_LOCAL_PREFIX*)"
    ansible-playbook -i inventories/local playbooks/local/down.yml >/dev/null 2>&1 || true
  fi
}
trap teardown EXIT

t=$(date +%s)
wheels="$(scripts/fetch-torch-wheels.sh)"
step fetch "$t"

mkdir -p build/logs
t=$(date +%s)
log "cluster $AIHPC_LOCAL_PREFIX*: up and converged (reused when already running)"
scripts/cluster.sh up >build/logs/torchrun-cluster.log 2>&1 || {
  tail -40 build/logs/torchrun-cluster.log
  exit 1
}
step cluster "$t"

t=$(date +%s)
if docker exec "$ctl" test -x "$venv/bin/python" \
  && docker exec "$ctl" su - alice -c "$venv/bin/python -c 'import torch; assert torch.__version__.startswith(\"$AIHPC_TORCH_VERSION\")'" 2>/dev/null; then
  log "venv $venv already has torch $AIHPC_TORCH_VERSION"
else
  log "copying $(du -sh "$wheels" | cut -f1) of wheels to the shared volume"
  docker exec "$ctl" mkdir -p "$wheelhouse_parent" /shared/venvs
  docker cp "$wheels" "$ctl:$wheelhouse_parent/"
  docker exec "$ctl" chmod -R a+rX "$wheelhouse_parent"
  docker exec "$ctl" chown alice: /shared/venvs
  log "alice makes $venv and installs torch $AIHPC_TORCH_VERSION into it (offline, from the wheelhouse)"
  docker exec "$ctl" su - alice -c "set -e; rm -rf '$venv'; python3 -m venv '$venv'; \
    '$venv/bin/pip' install --quiet --disable-pip-version-check --no-index \
      --find-links '$wheelhouse_parent/$(basename "$wheels")' 'torch==$AIHPC_TORCH_VERSION'; \
    '$venv/bin/python' -c 'import torch; print(\"torch\", torch.__version__, \"installed\")'"
fi
step venv "$t"

t=$(date +%s)
log "torchrun jobs on the cluster"
AIHPC_TORCHRUN_VENV="$venv" pytest tests/cluster/test_torchrun_launcher.py -q -p no:cacheprovider -rs
step tests "$t"

log "times: wheels ${took[fetch]} s, cluster ${took[cluster]} s, venv ${took[venv]} s, tests ${took[tests]} s"
