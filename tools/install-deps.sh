#!/usr/bin/env bash
# Installs the Debian packages nnc needs to build, test and benchmark.
# Run as root on Debian 12; safe to run again (installs only what is missing).
# --embedded adds what `make check-embedded` needs: QEMU's Arm boards and
# newlib for arm-none-eabi (about 430 MB installed, most of it newlib's
# multilibs), which `make check` does not use. chromium renders the
# training report in tests/workflow (nnc train --report).
set -eu
pkgs="build-essential clang flex bison zlib1g-dev dataset-fashion-mnist python3 python3-numpy python3-torch python3-sklearn libfann-dev valgrind gcc-arm-none-eabi chromium"
case "${1:-}" in
    --embedded) pkgs="$pkgs qemu-system-arm libnewlib-arm-none-eabi" ;;
    "") ;;
    *) echo "usage: install-deps.sh [--embedded]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
fi
