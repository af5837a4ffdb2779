#!/usr/bin/env bash
# The stack: generated functions keep no image plane on the stack (a
# convolution's padded planes are in the activation area, counted by
# NUM_ACTS / ARENA_BYTES), and the header's NAME_STACK_BYTES is true. For
# LeNet-5 (training at batch 32 and 1, the baked inference build, the
# --weights-in-ram build), digits (--weights-in-ram: NAME_load's scale and
# shift) and the convolutional fashion_cnn, checks that
#  - NAME_STACK_BYTES equals the largest frame of local arrays counted
#    independently of the emitter (tests/inference/locals.py), and for
#    LeNet-5 is under 4 KB;
#  - compiled with nnc's flags and -fstack-usage, no function's frame
#    (inlined callees included) exceeds NAME_STACK_BYTES by more than 512
#    bytes of the compiler's own (spills, saved registers); the same on a
#    Cortex-M4 (arm-none-eabi-gcc -Os) when installed;
#  - every scratch block the public functions pass lies inside the area;
#  - nnc summary --inference prints the header's number.
set -u
cd "$(dirname "$0")/../.."
[ -x ./nnc ] || { echo "FAIL: stack: nnc not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS: stack/$1"; }
fail() { echo "FAIL: stack/$1"; }
macro() { sed -n "s/^#define $1 \([0-9]*\).*/\1/p" "$2"; }
SLACK=512
m4="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffreestanding"

# Weights for the baked build: LeNet-5 trained for one epoch on 64 random
# images (any weights do: only the code is looked at).
/usr/bin/python3 - "$tmp" <<'PYEOF'
import random, sys
random.seed(1)
n, d = 64, sys.argv[1]
with open(f"{d}/train-images-idx3-ubyte", "wb") as f:
    f.write(bytes([0, 0, 8, 3]) + n.to_bytes(4, "big") + (28).to_bytes(4, "big") * 2)
    f.write(bytes(random.randrange(256) for _ in range(n * 784)))
with open(f"{d}/train-labels-idx1-ubyte", "wb") as f:
    f.write(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + bytes(random.randrange(10) for _ in range(n)))
PYEOF
./nnc train examples/lenet5.nn --data "$tmp/train-images-idx3-ubyte" --epochs 1 --save "$tmp/w.st" --quiet \
    >/dev/null 2>"$tmp/err" || fail "lenet5 weights: $(head -3 "$tmp/err")"

# check NAME MODEL UPPER [SUMMARY_ARGS] -- NNC_ARGS...
check() {
    local name=$1 model=$2 U=$3 sargs=$4; shift 5
    local d=$tmp/$name; mkdir -p "$d"
    ./nnc "$model" "$@" -o "$d/m.c" 2>"$d/err" || { fail "$name: nnc: $(head -3 "$d/err")"; return; }
    local h=$d/m.h stack acts
    stack=$(macro "${U}_STACK_BYTES" "$h")
    acts=$(macro "${U}_NUM_ACTS" "$h"); [ -n "$acts" ] || acts=$(( $(macro "${U}_ARENA_BYTES" "$h") / 4 ))
    [ -n "$stack" ] || { fail "$name: no ${U}_STACK_BYTES in the header"; return; }
    /usr/bin/python3 tests/inference/locals.py "$d/m.c" >"$d/locals"
    read -r counted func array <"$d/locals"
    if [ "$counted" = "$stack" ]; then
        pass "$name: ${U}_STACK_BYTES $stack = the largest frame of local arrays ($func, $array)"
    else
        fail "$name: ${U}_STACK_BYTES $stack, local arrays counted: $(head -3 "$d/locals" | tr '\n' ' ')"
    fi
    if [ "$model" = examples/lenet5.nn ]; then
        [ "$stack" -lt 4096 ] && pass "$name: $stack bytes of local arrays, under 4 KB" ||
            fail "$name: $stack bytes of local arrays, not under 4 KB"
    fi
    # Scratch blocks: "$ *f_scratch = m->acts + OFF; /* N floats, ..." inside the area.
    local bad
    bad=$(sed -n 's/.*_scratch = [am]->acts + \([0-9]*\); \/\* \([0-9]*\) floats.*/\1 \2/p' "$d/m.c" |
          awk -v a="$acts" '$1 + $2 > a {print}' | head -1)
    local nscr; nscr=$(grep -c '_scratch = [am]->acts' "$d/m.c")
    [ -z "$bad" ] && pass "$name: $nscr scratch pointers passed, each block inside the $acts floats of activations" ||
        fail "$name: a scratch block past the activations ($acts floats): $bad"
    # Reality: the compiler's own figures.
    for cc in gcc arm; do
        local cmd flags
        if [ $cc = gcc ]; then cmd=gcc; flags="$(./nnc --cflags)"
        else cmd=arm-none-eabi-gcc; flags=$m4; fi
        rm -f "$d"/*.su
        # shellcheck disable=SC2086
        $cmd -std=c99 $flags -fstack-usage -c "$d/m.c" -o "$d/m.$cc.o" 2>"$d/err" ||
            { fail "$name: $cmd: $(head -3 "$d/err")"; continue; }
        local top
        top=$(sort -t$'\t' -k2,2 -n -r "$d"/m.$cc.su | head -1)
        local bytes=${top#*$'\t'}; bytes=${bytes%%$'\t'*}
        local fn=${top%%$'\t'*}; fn=${fn##*:}
        if [ "$bytes" -le $((stack + SLACK)) ]; then
            pass "$name: $cmd -fstack-usage: largest frame $bytes bytes ($fn) <= ${U}_STACK_BYTES $stack + $SLACK"
        else
            fail "$name: $cmd -fstack-usage: $fn takes $bytes bytes; ${U}_STACK_BYTES is $stack"
        fi
    done
    if [ -n "$sargs" ]; then
        # shellcheck disable=SC2086
        ./nnc summary "$model" $sargs >"$d/summary" 2>&1
        grep -q "stack (locals) *$stack bytes" "$d/summary" && pass "$name: nnc summary $sargs says $stack bytes" ||
            fail "$name: nnc summary $sargs: $(grep stack "$d/summary") (header: $stack)"
    fi
}

check lenet5_train examples/lenet5.nn LENET5 "" --
check lenet5_train_b1 examples/lenet5.nn LENET5 "" -- --batch 1
check lenet5_inference examples/lenet5.nn LENET5 "--inference" -- --inference --weights "$tmp/w.st"
check lenet5_in_ram examples/lenet5.nn LENET5 "--weights-in-ram" -- --weights-in-ram
check digits_in_ram examples/digits.nn DIGITS "--weights-in-ram" -- --weights-in-ram
check fashion_cnn_train examples/fashion_cnn.nn FASHION_CNN "" --
