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
        command -v "$cc" >/dev/null || continue
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
    if command -v arm-none-eabi-gcc >/dev/null && command -v arm-none-eabi-size >/dev/null; then
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
    fi
}

run_case digits examples/digits.nn 5 1 1e-6 1
run_case digits_batch8 examples/digits.nn 5 8 1e-6 1
run_case housing examples/housing.nn 20 1 1e-6 0
run_case sine examples/sine.nn 3 1 1e-6 0

# Weights that do not fit the model: refused, naming the tensor.
./nnc train examples/xor.nn --epochs 1 --save "$tmp/xor.st" --quiet >/dev/null 2>&1
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
