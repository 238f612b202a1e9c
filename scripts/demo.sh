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

log "[2/3] a real 2-node job, as user alice"
echo "--- quick check with plain srun: one task per node, 2 of the 4 GPUs each"
ssh -F "$ssh_cfg" ctl1 'su - alice -c "
  sinfo --Node --format=\"%N %T %G\"
  echo
  srun --account=research --nodes=2 --ntasks-per-node=1 --gres=gpu:2 --label \
    bash -c \"echo host=\\\$(hostname) CUDA_VISIBLE_DEVICES=\\\$CUDA_VISIBLE_DEVICES\"
"'

echo
echo "--- aihpc submit examples/ddp/train.yaml: PyTorch DDP, 2 nodes x 2 processes (gloo on CPU)"
# The examples go to alice's home on the login node; aihpc snapshots the
# code into the job directory on /shared, and the job runs from there.
tar -C "$root" -cf - examples | ssh -F "$ssh_cfg" ctl1 \
  'd="$(getent passwd alice | cut -d: -f6)/aihpc-demo"; rm -rf "$d"; mkdir -p "$d";
   tar -C "$d" -xf -; chown -R alice: "$d"'
ssh -F "$ssh_cfg" ctl1 'su - alice -c "bash -s"' <<'ALICE'
set -euo pipefail
cd aihpc-demo
echo "\$ aihpc submit examples/ddp/train.yaml"
aihpc submit examples/ddp/train.yaml | tee submit.out
id="$(sed -n 's/^Submitted job \([0-9]*\).*/\1/p' submit.out)"
echo
echo "\$ aihpc logs -f $id      # rank 0, until the job ends"
aihpc logs -f "$id" | tee result.out
# Accounting reaches slurmdbd a moment after the job ends.
state=""
for _ in $(seq 1 30); do
  state="$(sacct -j "$id" -X -n -P -o State,Elapsed | head -n 1)"
  case "$state" in RUNNING*|PENDING*|COMPLETING*|"") sleep 1 ;; *) break ;; esac
done
echo
echo "result of job $id:"
STATE="$state" python3 - <<'PY'
import json, os
line = [l for l in open("result.out") if l.startswith("AIHPC_RESULT ")][-1]
r = json.loads(line.split(" ", 1)[1])
state, _, elapsed = os.environ["STATE"].partition("|")
per_host = {h: r["rank_hosts"].count(h) for h in r["hosts"]}
print(f"  world size  {r['world_size']}  ({', '.join(f'{h}: {n} ranks' for h, n in per_host.items())})")
print(f"  loss        {r['loss_first']:.3f} -> {r['loss_last']:.3f} over {r['steps']} steps")
print(f"  sacct       {state} in {elapsed}")
PY
case "$state" in COMPLETED*) ;; *) echo "the job did not complete: aihpc logs $id --batch" >&2; exit 1 ;; esac
ALICE

log "[3/3] done in $(( $(date +%s) - start )) s"
cat <<EOF
  shell on the login node:   ssh -F $ssh_cfg ctl1        (then: su - alice)
                   or:       docker exec -it ${AIHPC_LOCAL_PREFIX}ctl1 su - alice
  then, as alice:            cd aihpc-demo; aihpc submit examples/ddp/train.yaml; aihpc list
  re-run the playbooks:      scripts/cluster.sh converge
  tear the cluster down:     make cluster-down
EOF
