#!/usr/bin/env bash
# promtool and amtool for the unit tests (tests/unit/test_monitoring_*.py):
# the rendered prometheus.yml, rules and alertmanager.yml are checked with
# the same tools the role runs on the nodes. Taken from the distribution's
# prometheus and prometheus-alertmanager packages with `apt-get download`
# and unpacked into .cache/tools/bin: no daemon is installed or started on
# this machine. Prints the directory; already there, it does nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${AIHPC_TOOLS_DIR:-$root/.cache/tools}"
bin="$dest/bin"
if [ -x "$bin/promtool" ] && [ -x "$bin/amtool" ]; then
  echo "$bin"
  exit 0
fi
command -v apt-get >/dev/null || {
  echo "ensure-promtool: needs apt-get (Debian/Ubuntu) to fetch promtool and amtool" >&2
  exit 1
}
mkdir -p "$bin" "$dest/debs"
work="$(mktemp -d "$dest/unpack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
fetch() {
  # A fresh machine may have no package index yet.
  (cd "$dest/debs" && apt-get download -q "$1" >/dev/null 2>&1) || {
    [ "$(id -u)" = 0 ] || { echo "ensure-promtool: apt-get download $1 failed (run apt-get update)" >&2; exit 1; }
    apt-get update -qq >/dev/null
    (cd "$dest/debs" && apt-get download -q "$1" >/dev/null)
  }
}
fetch prometheus
fetch prometheus-alertmanager
for deb in "$dest"/debs/prometheus_*.deb "$dest"/debs/prometheus-alertmanager_*.deb; do
  dpkg-deb -x "$deb" "$work"
done
install -m 0755 "$work/usr/bin/promtool" "$work/usr/bin/amtool" "$bin/"
rm -rf "$dest/debs"
"$bin/promtool" --version >/dev/null
echo "$bin"
