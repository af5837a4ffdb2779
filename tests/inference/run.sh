#!/usr/bin/env bash
# The inference build (nnc --inference): trains the examples for a few epochs,
# bakes the weights into inference-only C, and checks that
#  - it compiles warning-free under gcc, clang and g++ (-Wall -Wextra -pedantic -Werror);
#  - the header's ARENA_BYTES and WEIGHT_BYTES equal sizeof, and nnc summary
#    --inference prints the same numbers as the header's macros;
#  - on the whole test set, raw inputs in (the preprocessing is folded into the
#    weights), its outputs equal nnc predict's: probabilities (softmax of the
#    logits, which predict prints) to 1e-6 for digits, the regression values
#    to 1e-6 relative for housing;
#  - with arm-none-eabi-gcc installed, the Cortex-M4 object holds exactly
#    WEIGHT_BYTES of constant data and no mutable data at all;
#  - weights that do not fit the model are refused, naming the tensor.
set -u
cd "$(dirname "$0")/../.."
[ -x ./nnc ] || { echo "FAIL: inference: nnc not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
here=tests/inference

pass() { echo "PASS: inference/$1"; }
fail() { echo "FAIL: inference/$1"; }

# macro NAME FILE: the value of #define NAME in FILE
macro() { sed -n "s/^#define $1 \([0-9]*\).*/\1/p" "$2"; }

# case NAME MODEL EPOCHS BATCH TOLERANCE SOFTMAX
run_case() {
    local name=$1 model=$2 epochs=$3 batch=$4 tol=$5 softmax=$6
    local d=$tmp/$name m U
    mkdir -p "$d"
    m=$(sed -n 's/^model \([A-Za-z_0-9]*\).*/\1/p' "$model"); U=$(echo "$m" | tr a-z A-Z)
    local test_csv
    test_csv=$(dirname "$model")/$(sed -n 's/.*test = "\([^"]*\)".*/\1/p' "$model")
    if [ ! -f "$tmp/$m.st" ]; then
        ./nnc train "$model" --epochs "$epochs" --save "$tmp/$m.st" --quiet >/dev/null 2>"$d/err" ||
            { fail "$name: train: $(head -3 "$d/err")"; return; }
        ./nnc predict "$model" --weights "$tmp/$m.st" --data "$test_csv" --out "$tmp/$m.pred" 2>"$d/err" ||
            { fail "$name: predict: $(head -3 "$d/err")"; return; }
    fi
    ./nnc "$model" --inference --weights "$tmp/$m.st" --batch "$batch" -o "$d/model.c" 2>"$d/err" ||
        { fail "$name: nnc --inference: $(head -3 "$d/err")"; return; }

    local ok=1
    for cc in gcc clang g++; do
        if [ "$cc" = g++ ]; then flags="-x c++ -std=c++11"; else flags="-std=c99"; fi
        $cc $flags -Wall -Wextra -pedantic -Werror -O2 -c "$d/model.c" -o "$d/m.o" 2>"$d/err" ||
            { fail "$name/compile with $cc: $(head -5 "$d/err")"; ok=0; }
    done
    [ $ok = 1 ] && pass "$name/compile (gcc, clang, g++ -Werror)"

    # nnc summary --inference states the header's numbers.
    ./nnc summary "$model" --inference --batch "$batch" >"$d/summary" 2>&1
    local arena weights macs
    arena=$(macro "${U}_ARENA_BYTES" "$d/model.h"); weights=$(macro "${U}_WEIGHT_BYTES" "$d/model.h")
    macs=$(macro "${U}_MACS" "$d/model.h")
    if grep -q "arena (RAM) *$arena bytes" "$d/summary" && grep -q "weights (flash) *$weights bytes" "$d/summary" &&
       grep -q "MACs per sample *$macs\$" "$d/summary" && [ -n "$arena" ] && [ -n "$weights" ]; then
        pass "$name/summary (arena $arena, weights $weights, MACs $macs)"
    else
        fail "$name/summary: header says arena $arena, weights $weights, MACs $macs; summary:"; tail -4 "$d/summary"
    fi

    local defs="-DM_NAME=$m -DM_IN=${U}_IN -DM_OUT=${U}_OUT -DM_BATCH=${U}_BATCH"
    defs="$defs -DM_ARENA_BYTES=${U}_ARENA_BYTES -DM_WEIGHT_BYTES=${U}_WEIGHT_BYTES"
    [ "$softmax" = 1 ] && defs="$defs -DSOFTMAX"
    cc -std=c99 -O2 -I"$d" $defs -o "$d/prog" "$here/harness.c" "$d/model.c" -lm 2>"$d/err" ||
        { fail "$name/harness: $(head -5 "$d/err")"; return; }
    if ! "$d/prog" <"$test_csv" >"$d/out" 2>"$d/err"; then
        fail "$name/run: $(head -3 "$d/err")"; return
    fi
    pass "$name/sizeof (arena and weights equal the macros)"
    local mode=rel; [ "$softmax" = 1 ] && mode=skip    # predict's first column is the class
    if /usr/bin/python3 "$here/compare.py" "$tmp/$m.pred" "$d/out" "$tol" $mode >"$d/cmp" 2>&1; then
        pass "$name/equals predict: $(cat "$d/cmp")"
    else
        fail "$name/equals predict: $(cat "$d/cmp")"
    fi

    # The Cortex-M4 object: all constant data is the weights, nothing mutable.
    if arm-none-eabi-gcc -std=c99 -Wall -Wextra -pedantic -Werror -mcpu=cortex-m4 -mthumb \
           -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffreestanding -fdata-sections \
           -c "$d/model.c" -o "$d/arm.o" 2>"$d/err"; then
        local ro data bss
        ro=$(arm-none-eabi-size -A "$d/arm.o" | awk '$1 ~ /^\.rodata/ {s += $2} END {print s + 0}')
        data=$(arm-none-eabi-size -A "$d/arm.o" | awk '$1 ~ /^\.data/ {s += $2} END {print s + 0}')
        bss=$(arm-none-eabi-size -A "$d/arm.o" | awk '$1 ~ /^\.bss/ {s += $2} END {print s + 0}')
        if [ "$ro" = "$weights" ] && [ "$data" = 0 ] && [ "$bss" = 0 ]; then
            pass "$name/cortex-m4 (rodata $ro = WEIGHT_BYTES, data 0, bss 0)"
        else
            fail "$name/cortex-m4: rodata $ro (WEIGHT_BYTES $weights), data $data, bss $bss"
        fi
    else
        fail "$name/cortex-m4: $(head -5 "$d/err")"
    fi
}

run_case digits examples/digits.nn 5 1 1e-6 1
run_case digits_batch8 examples/digits.nn 5 8 1e-6 1
run_case housing examples/housing.nn 20 1 1e-6 0
run_case sine examples/sine.nn 3 1 1e-6 0
run_case graph tests/inference/digits_graph.nn 3 4 1e-5 1

# Weights that do not fit the model: refused, naming the tensor (xor's
# tensors, without the metadata that would name xor as their model).
./nnc train examples/xor.nn --epochs 1 --save "$tmp/xor.st" --quiet >/dev/null 2>&1
/usr/bin/python3 - "$tmp/xor.st" <<'PYEOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
del h["__metadata__"]
hs = json.dumps(h).encode()
hs += b" " * (-len(hs) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(hs)) + hs + b[8 + n:])
PYEOF
if ./nnc examples/digits.nn --inference --weights "$tmp/xor.st" -o "$tmp/bad.c" 2>"$tmp/err"; then
    fail "wrong weights accepted"
elif grep -q "missing tensor 'fc1.weight' (shape \[32, 64\])" "$tmp/err"; then
    pass "wrong weights refused: $(head -1 "$tmp/err")"
else
    fail "wrong weights: unexpected message: $(head -3 "$tmp/err")"
fi
if ./nnc examples/digits.nn --inference -o "$tmp/bad.c" 2>"$tmp/err"; then
    fail "--inference without --weights accepted"
else
    pass "--inference needs --weights: $(head -1 "$tmp/err")"
fi

# Batch norm and dropout (digits_norm.nn): dropout is gone and batch norm is
# folded into the convolution and the dense layer before it (no code of
# theirs left), or a per-channel affine map after an activation; the outputs
# equal the training build's NAME_forward, emitted in double precision as the
# exact reference, within 1e-6 relative (as does the float training build).
N=$here/digits_norm.nn
d=$tmp/norm; mkdir -p "$d"
awk -F, 'NR == 1 {print; next} {for (i = 1; i < NF; i++) $i = $i / 16; print}' OFS=, \
    examples/data/digits_test.csv > "$d/test.csv"     # the model's data(scale = 16), done beforehand
if ./nnc train "$N" --save "$d/w.st" --quiet >/dev/null 2>"$d/err" &&
   ./nnc "$N" --inference --weights "$d/w.st" -o "$d/model.c" 2>>"$d/err" &&
   ./nnc "$N" --real=double -o "$d/train.c" 2>>"$d/err" && ./nnc "$N" -o "$d/trainf.c" 2>>"$d/err"; then
    if grep -q 'bn_conv\|bn_dense\|dropout\|running_' "$d/model.c" || ! grep -q 'bn_affine_batch_norm' "$d/model.c"; then
        fail "norm: folding: $(grep -o 'bn_conv[a-z_]*\|bn_dense[a-z_]*\|dropout[a-z_]*\|running_[a-z]*' "$d/model.c" | sort -u | tr '\n' ' ')"
    else
        pass "norm: dropout removed, batch norm folded into conv2d and dense (no code left), an affine map after relu"
    fi
    ok=1
    for cc in gcc clang; do
        $cc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -c "$d/model.c" -o "$d/m.o" 2>"$d/err" ||
            { fail "norm: compile with $cc: $(head -5 "$d/err")"; ok=0; }
    done
    [ $ok = 1 ] && pass "norm: the folded build compiles (gcc, clang -Werror)"
    cc -std=c99 -O2 -I"$d" -DM_NAME=dnorm -DM_IN=DNORM_IN -DM_OUT=DNORM_OUT -DM_BATCH=DNORM_BATCH \
        -DM_ARENA_BYTES=DNORM_ARENA_BYTES -DM_WEIGHT_BYTES=DNORM_WEIGHT_BYTES \
        -o "$d/prog" "$here/harness.c" "$d/model.c" -lm 2>"$d/err" &&
    cc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -Iruntime -include "$d/train.h" -DP=dnorm -DUP=DNORM \
        -DREAL=double -o "$d/ref" "$here/train_forward.c" "$d/train.c" build/libnncrt.a -lz -lm 2>>"$d/err" &&
    cc -std=c99 -Wall -Wextra -pedantic -Werror -O2 -Iruntime -include "$d/trainf.h" -DP=dnorm -DUP=DNORM \
        -o "$d/reff" "$here/train_forward.c" "$d/trainf.c" build/libnncrt.a -lz -lm 2>>"$d/err" ||
        fail "norm: harness build: $(head -5 "$d/err")"
    "$d/prog" <"$d/test.csv" >"$d/out" && "$d/ref" "$d/w.st" <"$d/test.csv" >"$d/ref.csv" &&
        "$d/reff" "$d/w.st" <"$d/test.csv" | tail -n +2 >"$d/outf"
    if /usr/bin/python3 "$here/compare.py" "$d/ref.csv" "$d/out" 1e-6 rel >"$d/cmp" 2>&1; then
        pass "norm: the folded build equals the training build's forward: $(cat "$d/cmp")"
    else
        fail "norm: the folded build against the training build's forward: $(cat "$d/cmp")"
    fi
    if /usr/bin/python3 "$here/compare.py" "$d/ref.csv" "$d/outf" 1e-6 rel >"$d/cmp" 2>&1; then
        pass "norm: the float training build's forward likewise: $(cat "$d/cmp")"
    else
        fail "norm: the float training build's forward: $(cat "$d/cmp")"
    fi
else
    fail "norm: build: $(head -3 "$d/err")"
fi
if ./nnc "$N" --weights-in-ram -o "$d/ram.c" 2>"$d/err"; then
    fail "norm: --weights-in-ram with batch norm accepted"
else
    pass "norm: --weights-in-ram with batch norm refused: $(head -1 "$d/err")"
fi
