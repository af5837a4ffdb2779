#!/usr/bin/env bash
# Installs the Debian packages nnc needs to build, test and benchmark.
# Run as root on Debian 12; safe to run again (installs only what is missing).
# The default list is everything `make check` uses; tests/preflight.sh
# names each tool, header, module and file it checks for by the package
# here that provides it, and refuses a package missing from this list.
# newlib (libnewlib-arm-none-eabi, about 430 MB, most of it multilibs) gives
# arm-none-eabi-gcc its <math.h> and <string.h> for the Cortex-M4 builds;
# libclang-rt-14-dev is libFuzzer and clang's ASan/UBSan runtimes (tests/fuzz);
# chromium renders the training report in tests/workflow (nnc train --report).
# --embedded adds QEMU's Arm boards for `make check-embedded`.
set -eu
pkgs="build-essential procps clang libclang-rt-14-dev flex bison zlib1g-dev libopenmpi-dev openmpi-bin dataset-fashion-mnist python3 python3-numpy python3-torch python3-sklearn libfann-dev valgrind gcc-arm-none-eabi libnewlib-arm-none-eabi chromium"
case "${1:-}" in
    --embedded) pkgs="$pkgs qemu-system-arm" ;;
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
