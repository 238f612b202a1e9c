#!/usr/bin/env bash
# The kernel lane (make test-kernel): the Molecule scenario molecule/kernel on
# two qemu VMs with Debian's own kernel under software emulation, where md,
# XFS, NFS and Soft-RoCE are real. Slow (about 11 minutes on two cores),
# so it is not part of `make test`. Prints a timing table at the end.
#   AIHPC_KEEP_VMS=1    leave the VMs up afterwards (ssh -F .cache/kernel-lane/ssh_config stor1)
#   AIHPC_HEAVY_LOCK    lock file that serialises heavy runs on a shared machine
#                       (default /tmp/aihpc-heavy.lock; empty: no lock)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
lock="${AIHPC_HEAVY_LOCK-/tmp/aihpc-heavy.lock}"
heavy() { if [ -n "$lock" ]; then flock "$lock" "$@"; else "$@"; fi; }

if ! command -v qemu-system-x86_64 >/dev/null 2>&1 || ! command -v qemu-img >/dev/null 2>&1; then
  log "installing qemu (software emulation only; KVM is never used)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    qemu-system-x86 qemu-utils >/dev/null
fi
"$root/scripts/ensure-host.sh" >/dev/null
mkdir -p build/logs
times="build/logs/kernel-lane-times.txt"
: >"$times"
rm -f build/logs/molecule-kernel-ansible.log
total_start=$(date +%s)

step() {
  local name="$1"
  shift
  local t
  t=$(date +%s)
  log "$name"
  "$@"
  printf '%-12s %5d s\n' "$name" "$(($(date +%s) - t))" | tee -a "$times"
}

teardown() {
  if [ "${AIHPC_KEEP_VMS:-0}" != 1 ]; then
    molecule destroy -s kernel 2>&1 | tee build/logs/kernel-lane-destroy.log | grep -E 'stopping qemu' || true
  fi
}

step image heavy images/kernel-vm/build.sh
# The scenario's steps one by one (what `molecule test -s kernel` runs), each
# timed, all under one hold of the lock.
run_scenario() {
  set -euo pipefail
  trap teardown EXIT
  molecule destroy -s kernel >/dev/null 2>&1 || true
  step create molecule create -s kernel
  step converge molecule converge -s kernel
  step idempotence molecule idempotence -s kernel
  step verify molecule verify -s kernel
  grep -h 'ssh up' build/logs/molecule-kernel-ansible.log | grep -o '[a-z0-9]*: ssh up [0-9]* s' | tee -a "$times" || true
}
export -f step run_scenario teardown log
export times
if [ -n "$lock" ]; then
  flock "$lock" bash -c run_scenario
else
  bash -c run_scenario
fi
grep -ho '[a-z0-9]*: stopping qemu pid [0-9]* (peak RSS [0-9]* MiB)' \
  build/logs/kernel-lane-destroy.log 2>/dev/null | tee -a "$times" || true
printf '%-12s %5d s\n' total "$(($(date +%s) - total_start))" | tee -a "$times"
log "kernel lane passed; figures in $times"
