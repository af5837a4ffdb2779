#!/usr/bin/env bash
# Initializer checks: inits.nn (a big dense layer per initializer) is emitted
# in float and in double, and init_test.c checks every tensor its _init draws
# against the initializer's formula (see init_test.c).
set -u
cd "$(dirname "$0")/../.."
[ -x ./nnc ] || { echo "FAIL: init: nnc not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
status=0
for real in float double; do
    if ! ./nnc tests/init/inits.nn --real=$real -o "$tmp/inits.c" 2>"$tmp/err" ||
       ! $CC -std=c99 -Wall -Wextra -pedantic -Werror -O2 -include "$tmp/inits.h" -DP=inits -DUP=INITS \
            -o "$tmp/init_test" tests/init/init_test.c "$tmp/inits.c" -lm 2>>"$tmp/err"; then
        echo "FAIL: init/$real: build: $(head -5 "$tmp/err")"; status=1; continue
    fi
    if out=$("$tmp/init_test" 2>&1); then
        echo "PASS: init/$real ($(echo "$out" | tail -1))"
    else
        echo "FAIL: init/$real: $out"; status=1
    fi
done
exit $status
