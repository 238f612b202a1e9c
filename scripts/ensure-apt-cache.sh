#!/usr/bin/env bash
# Start the shared apt cache proxy (scripts/apt_cache_proxy.py) unless it is
# already answering. Every test container fetches packages through it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${AIHPC_APT_CACHE_PORT:-3142}"
cache_dir="${AIHPC_CACHE_DIR:-/var/cache/aihpc}/apt-proxy"

if python3 - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_stats", timeout=2)
PY
then
  exit 0
fi
mkdir -p "$cache_dir"
nohup python3 "$here/apt_cache_proxy.py" --port "$port" --cache-dir "$cache_dir" \
  >/var/log/aihpc-apt-cache.log 2>&1 &
for _ in $(seq 1 30); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/_stats', timeout=2)" 2>/dev/null; then
    echo "apt cache proxy on port $port (cache: $cache_dir)"
    exit 0
  fi
  sleep 0.5
done
echo "apt cache proxy did not start; see /var/log/aihpc-apt-cache.log" >&2
exit 1
