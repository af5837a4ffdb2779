#!/usr/bin/env bash
# --no-libm: nnc's own math functions.
#  - accuracy.c: each approximation against the C library over a dense sweep
#    and the special values, within the bound compiler/nolibm.c documents;
#  - the digits inference build with --no-libm predicts the same class as the
#    libm build on every test sample, probabilities within 1e-6 (absolute);
#  - that build and the digits training build (and a model calling every
#    approximation) compile warning-free under gcc, clang and g++ and leave
#    no math symbol undefined (nm -u), and do not include <math.h>.
set -u
cd "$(dirname "$0")/../.."
[ -x ./nnc ] || { echo "FAIL: nolibm: nnc not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
here=tests/nolibm
pass() { echo "PASS: nolibm/$1"; }
fail() { echo "FAIL: nolibm/$1"; }

./nnc --no-libm-source >"$tmp/nolibm.h"
if cc -std=c99 -O2 -Wall -Wextra -Wno-unused-function -I"$tmp" -o "$tmp/acc" "$here/accuracy.c" -lm 2>"$tmp/err"; then
    "$tmp/acc" | sed 's/^\(PASS\|FAIL\): /\1: nolibm\/accuracy: /'
else
    fail "accuracy: $(head -5 "$tmp/err")"
fi

# no_math FILE.o: the undefined symbols a math library would provide.
math_syms='^(exp|log|tanh|erf|sqrt|pow|floor|ceil|fabs|log1p|expm1|fmax|fmin)[fl]?$'
no_math() { nm -u "$1" | awk '{print $NF}' | grep -E "$math_syms" | tr '\n' ' '; }

# build NAME FILE.c: compile warning-free three ways, check includes and nm -u.
build() {
    local name=$1 c=$2 ok=1 cc flags
    for cc in gcc clang g++; do
        if [ "$cc" = g++ ]; then flags="-x c++ -std=c++11"; else flags="-std=c99"; fi
        $cc $flags -Wall -Wextra -pedantic -Werror -O2 -fno-builtin -c "$c" -o "$tmp/$name.o" 2>"$tmp/err" ||
            { fail "$name/compile with $cc: $(head -5 "$tmp/err")"; ok=0; }
    done
    cc -std=c99 -O2 -c "$c" -o "$tmp/$name.o"
    local syms; syms=$(no_math "$tmp/$name.o")
    if grep -q '#include <math.h>' "$c"; then
        fail "$name: includes <math.h>"
    elif [ -n "$syms" ]; then
        fail "$name: nm -u lists $syms"
    elif [ $ok = 1 ]; then
        pass "$name (gcc, clang, g++ -Werror; no <math.h>; nm -u: no math symbols)"
    fi
}

# Digits: the libm and --no-libm inference builds on the whole test set, for
# the ReLU example and a variant whose forward pass calls erff, tanhf, expf.
test_csv=examples/data/digits_test.csv
# compare NAME MODEL SOFTMAX(0/1)
compare() {
    local name=$1 model=$2 softmax=$3 d=$tmp/$1 m U
    m=$(sed -n 's/^model \([A-Za-z_0-9]*\).*/\1/p' "$model"); U=$(echo "$m" | tr a-z A-Z)
    mkdir -p "$d/libm" "$d/own"
    ./nnc train "$model" --epochs 5 --save "$d/w.st" --quiet >/dev/null 2>"$d/err" ||
        { fail "$name: train: $(head -3 "$d/err")"; return; }
    ./nnc "$model" --inference --weights "$d/w.st" -o "$d/libm/model.c" &&
    ./nnc "$model" --inference --weights "$d/w.st" --no-libm -o "$d/own/model.c" ||
        { fail "$name: nnc --inference"; return; }
    build "${name}_inference" "$d/own/model.c"
    local defs="-DM_NAME=$m -DM_IN=${U}_IN -DM_OUT=${U}_OUT -DM_BATCH=${U}_BATCH -DM_ARENA_BYTES=${U}_ARENA_BYTES"
    defs="$defs -DM_WEIGHT_BYTES=${U}_WEIGHT_BYTES"
    [ "$softmax" = 1 ] && defs="$defs -DSOFTMAX"
    for v in libm own; do
        cc -std=c99 -O2 -I"$d/$v" $defs -o "$d/$v/prog" tests/inference/harness.c "$d/$v/model.c" -lm &&
            "$d/$v/prog" <"$test_csv" >"$d/$v/out" || { fail "$name: run the $v build"; return; }
    done
    /usr/bin/python3 - "$d/libm/out" "$d/own/out" "$name" "$(grep -c '^static float nnc_' "$d/own/model.c")" <<'PY'
import sys
a = [[float(v) for v in l.split(',')] for l in open(sys.argv[1]) if l.strip()]
b = [[float(v) for v in l.split(',')] for l in open(sys.argv[2]) if l.strip()]
arg = lambda r: max(range(len(r)), key=r.__getitem__)
same = sum(arg(x) == arg(y) for x, y in zip(a, b))
diff = max(abs(u - v) for x, y in zip(a, b) for u, v in zip(x, y))
ok = len(a) == len(b) == 359 and same == len(a) and diff <= 1e-6
print("%s: nolibm/%s: --no-libm (%s of nnc's float functions) predicts the same class on %d/%d test samples, "
      "probabilities within %.2g (1e-6)" % ("PASS" if ok else "FAIL", sys.argv[3], sys.argv[4], same, len(a), diff))
PY
}
compare digits examples/digits.nn 1
compare digits_smooth "$here/digits_smooth.nn" 0

# An LSTM's inference build calls expf and tanhf only: nnc_float without
# nnc_bits (an unused static function is a -Werror failure).
if ./nnc train examples/sine.nn --epochs 1 --save "$tmp/sine.st" --quiet >/dev/null 2>"$tmp/err" &&
   ./nnc examples/sine.nn --inference --weights "$tmp/sine.st" --no-libm -o "$tmp/sine.c" 2>>"$tmp/err"; then
    build sine_lstm_inference "$tmp/sine.c"
else
    fail "sine_lstm_inference: $(head -3 "$tmp/err")"
fi

# Training builds: digits, and a model whose code calls every approximation.
./nnc examples/digits.nn --no-libm -o "$tmp/train.c" && build digits_training "$tmp/train.c"
./nnc "$here/allmath.nn" --no-libm -o "$tmp/all.c" 2>"$tmp/err" && build allmath_training "$tmp/all.c" ||
    fail "allmath: $(head -3 "$tmp/err")"

# What nnc's math lacks is refused by name: Box-Muller for normal initializers.
sed 's/dense(8, activation = elu)/dense(8, activation = elu, kernel_initializer = he_normal)/' "$here/allmath.nn" >"$tmp/normal.nn"
if ./nnc "$tmp/normal.nn" --no-libm -o "$tmp/normal.c" 2>"$tmp/err"; then
    fail "normal initializer with --no-libm accepted"
elif grep -q "calls log, which nnc's own math does not provide" "$tmp/err"; then
    pass "normal initializer refused: $(head -1 "$tmp/err")"
else
    fail "normal initializer: $(head -3 "$tmp/err")"
fi
