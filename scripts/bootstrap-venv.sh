#!/usr/bin/env bash
# Create .venv with the project and its dev tools (ansible, molecule, lint,
# pytest). Re-running is cheap: pip is skipped while pyproject.toml is unchanged.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AIHPC_VENV:-$root/.venv}"
python="${PYTHON:-python3}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "aihpc needs Python >= 3.11 ($python is $("$python" -V 2>&1))" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    log "installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$python" -m venv "$venv"
  fi
fi

stamp="$venv/.aihpc-installed"
want="$(cat "$root/pyproject.toml" "$0" | sha256sum | cut -c1-16)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
log "installing aihpc and its dev tools into $venv (about 2 minutes the first time)"
"$venv/bin/pip" install -q --upgrade pip >/dev/null
"$venv/bin/pip" install -q -e "${root}[dev]"
# A CPU build of torch runs the DDP example's resume test. Use a wheel that is
# already on this machine (never a multi-GB CUDA download); skip otherwise.
wheel="$(ls /opt/wheels/torch-*+cpu-cp3*-"$("$venv/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"-*.whl 2>/dev/null | head -n1 || true)"
if [ -n "$wheel" ]; then
  log "installing local CPU torch wheel $(basename "$wheel")"
  "$venv/bin/pip" install -q "$wheel"
fi
echo "$want" >"$stamp"
