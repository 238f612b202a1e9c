#!/usr/bin/env bash
# Every linter the project gates on. Fails on the first one that complains.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

log "ruff"
ruff check aihpc tests bench scripts roles collections
ruff format --check aihpc tests bench scripts roles collections
log "mypy --strict"
mypy
log "import contracts (lint-imports, [tool.importlinter] in pyproject.toml)"
lint-imports --no-cache
log "ansible-lint (production profile)"
ansible-lint --offline -q
log "role READMEs match meta/argument_specs.yml"
python scripts/role_docs.py --check
log "shellcheck (scripts/, images/, the golden job scripts)"
# Installed like the other scripts install their needs (scripts/ensure-host.sh).
if ! command -v shellcheck >/dev/null 2>&1; then
  log "installing shellcheck"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi
mapfile -t shell_files < <(find scripts images -name '*.sh' | sort)
shellcheck --severity=warning "${shell_files[@]}"
# The rendered job scripts: errors only (their single-quoted literals and
# trap-only functions are deliberate). SC1097 is excluded until the job
# templates quote NCCL's exact-match value (NCCL_SOCKET_IFNAME==eth0 is
# valid shell: the value is "=eth0").
shellcheck --shell=bash --severity=error --exclude=SC1097 tests/golden/*.sbatch
