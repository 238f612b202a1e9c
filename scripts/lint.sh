#!/usr/bin/env bash
# Every linter the project gates on. Fails on the first one that complains.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

log "ruff"
ruff check aihpc tests bench scripts roles
ruff format --check aihpc tests bench scripts roles
log "mypy --strict"
mypy
log "ansible-lint (production profile)"
ansible-lint --offline -q
log "role READMEs match meta/argument_specs.yml"
python scripts/role_docs.py --check
