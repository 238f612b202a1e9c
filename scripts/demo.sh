#!/usr/bin/env bash
# make demo: bring up the local cluster with our roles, run a real 2-node job
# on it, print the result and how to get in and tear down.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export AIHPC_LOCAL_PREFIX="${AIHPC_LOCAL_PREFIX:-aihpc-}"
ssh_cfg="$root/.cache/local-cluster/${AIHPC_LOCAL_PREFIX}ssh_config"
log() { printf '\n\033[1;34m==>\033[0m \033[1m%s\033[0m\n' "$*"; }
start=$(date +%s)

log "[1/3] cluster: containers ctl1, gpu1, gpu2 + playbooks/site.yml"
scripts/cluster.sh up

log "[2/3] a real 2-node job: one task per node, 2 of the 4 GPUs each, as user alice"
ssh -F "$ssh_cfg" ctl1 'su - alice -c "
  sinfo --Node --format=\"%N %T %G\"
  echo
  srun --account=research --nodes=2 --ntasks-per-node=1 --gres=gpu:2 --label \
    bash -c \"echo host=\\\$(hostname) CUDA_VISIBLE_DEVICES=\\\$CUDA_VISIBLE_DEVICES\"
  echo
  sacct --noheader --allocations --format=JobID,JobName,State,AllocTRES%50 | tail -n 1
"'

log "[3/3] done in $(( $(date +%s) - start )) s"
cat <<EOF
  shell on the login node:   ssh -F $ssh_cfg ctl1        (then: su - alice)
                   or:       docker exec -it ${AIHPC_LOCAL_PREFIX}ctl1 su - alice
  re-run the playbooks:      scripts/cluster.sh converge
  tear the cluster down:     make cluster-down
EOF
