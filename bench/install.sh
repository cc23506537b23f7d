#!/usr/bin/env bash
# Installs the peers the benchmark compares certgate with (nginx, HAProxy,
# Caddy) from Debian's packages, if they are missing. Already installed
# packages are reused. Debian's maintainer scripts would start the system
# services (nginx on port 80, haproxy, caddy on 80/443); a temporary
# /usr/sbin/policy-rc.d that exits 101 forbids that, so no process is
# started that the benchmark does not own. Run as root (or with sudo).
set -euo pipefail

need=()
command -v nginx   >/dev/null 2>&1 || need+=(nginx)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
command -v caddy   >/dev/null 2>&1 || need+=(caddy)
if [ ${#need[@]} -eq 0 ]; then
  echo "install: nginx, haproxy and caddy already installed" >&2
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install: need root (or sudo) to apt-get install ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi

policy=/usr/sbin/policy-rc.d
backup=""
created=0
restore() {
  if [ "$created" -eq 1 ]; then
    $sudo rm -f "$policy"
    if [ -n "$backup" ]; then $sudo mv "$backup" "$policy"; fi
  fi
}
trap restore EXIT
# A policy-rc.d that already denies everything (Docker images ship one) is
# left as it is; any other is set aside and put back afterwards.
if ! { [ -x "$policy" ] && grep -qx 'exit 101' "$policy"; }; then
  if [ -e "$policy" ]; then
    backup="$(mktemp /usr/sbin/policy-rc.d.certgate-bench.XXXXXX)"
    $sudo mv "$policy" "$backup"
  fi
  printf '#!/bin/sh\n# certgate bench: do not start services during apt-get install\nexit 101\n' | $sudo tee "$policy" >/dev/null
  $sudo chmod 0755 "$policy"
  created=1
fi

echo "install: apt-get install ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for b in nginx haproxy caddy; do
  command -v "$b" >/dev/null 2>&1 || { echo "install: $b still missing after apt-get install" >&2; exit 1; }
done
