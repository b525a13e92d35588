#!/usr/bin/env bash
# Installs the Debian packages whose commands are missing, so the test suite and the
# benchmarks set themselves up on a fresh machine.
#   scripts/ensure-debian-packages.sh COMMAND[:PACKAGE]...   (PACKAGE defaults to COMMAND)
set -euo pipefail
need=()
for spec in "$@"; do
    command -v "${spec%%:*}" >/dev/null 2>&1 || need+=("${spec#*:}")
done
((${#need[@]})) || exit 0
printf '==> installing Debian packages: %s\n' "${need[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
