#!/usr/bin/env bash
# Installs the Debian packages nnc needs to build, test and benchmark.
# Run as root on Debian 12; safe to run again (installs only what is missing).
set -eu
pkgs="build-essential clang flex bison python3 python3-numpy python3-torch python3-sklearn libfann-dev valgrind gcc-arm-none-eabi"
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
