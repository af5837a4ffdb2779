#!/usr/bin/env bash
# Finite-difference gradient checks: every model in models/ is emitted in
# double precision and its analytic gradients compared with central differences.
set -u
cd "$(dirname "$0")/../.."
[ -x ./nnc ] || { echo "FAIL: gradcheck: nnc not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
status=0
for f in tests/gradcheck/models/*.nn; do
    name=$(basename "$f" .nn)
    model=$(sed -n 's/^model \([A-Za-z_0-9]*\).*/\1/p' "$f")
    up=$(echo "$model" | tr a-z A-Z)
    # losses whose targets are distributions over the outputs
    # dropout and batch norm: difference the training-mode loss
    train=; grep -qE '^ *(dropout|batch_normalization)' "$f" && train=-DTRAIN_LOSS
    dist=; grep -qE '^ *loss +(categorical_crossentropy|kl_divergence)' "$f" && dist=-DDIST_TARGETS
    if ! ./nnc "$f" --real=double -o "$tmp/$name.c" 2>"$tmp/err" ||
       ! $CC -std=c99 -Wall -Wextra -pedantic -Werror -O1 -include "$tmp/$name.h" -DP="$model" -DUP="$up" $dist $train \
            -o "$tmp/$name" tests/gradcheck/gradcheck.c "$tmp/$name.c" -lm 2>>"$tmp/err"; then
        echo "FAIL: gradcheck/$name: build: $(head -5 "$tmp/err")"; status=1; continue
    fi
    if out=$("$tmp/$name" 2>&1); then
        echo "PASS: gradcheck/$name ($(echo "$out" | tail -1))"
    else
        echo "FAIL: gradcheck/$name: $out"; status=1
    fi
done
exit $status
