#!/usr/bin/env bash
# Dropout's masks (statistics, reproducibility, the backward pass) and batch
# norm's buffers under every optimizer (never changed by an update).
set -u
cd "$(dirname "$0")/../.."
[ -x ./nnc ] || { echo "FAIL: norm: nnc not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
if ./nnc tests/norm/dropout.nn -o "$tmp/drop.c" 2>"$tmp/err" &&
   $CC -std=c99 -Wall -Wextra -pedantic -Werror -Wno-unused-function -O1 -DMODEL_C="\"$tmp/drop.c\"" \
       -o "$tmp/stats" tests/norm/dropout_stats.c -lm 2>>"$tmp/err"; then
    "$tmp/stats" || true
else
    echo "FAIL: norm: dropout build: $(head -5 "$tmp/err")"
fi

# Buffers under every optimizer, with weight decay where it has one.
for o in "sgd(weight_decay = 0.1, momentum = 0.9)" "rmsprop(centered = true)" "adam(amsgrad = true)" \
         "adamw(weight_decay = 0.1)" adagrad adadelta adamax nadam "sgd(clipnorm = 0.5)"; do
    printf 'model bufs {\n  input [3, 4, 4]\n  conv2d(2, 3)\n  batch_normalization\n  flatten\n  dense(3)\n  batch_normalization(center = false)\n  loss mse\n  optimizer %s\n  fit(batch_size = 4)\n}\n' "$o" > "$tmp/bufs.nn"
    if ./nnc "$tmp/bufs.nn" -o "$tmp/bufs.c" 2>"$tmp/err" &&
       $CC -std=c99 -Wall -Wextra -pedantic -Werror -O1 -include "$tmp/bufs.h" -DP=bufs -DUP=BUFS \
           -o "$tmp/bufs" tests/norm/buffers.c "$tmp/bufs.c" -lm 2>>"$tmp/err" &&
       "$tmp/bufs" > "$tmp/out" 2>&1; then
        echo "PASS: norm: $o updates every parameter and no buffer"
    else
        echo "FAIL: norm: $o: $(head -5 "$tmp/err" "$tmp/out")"
    fi
done
