#!/usr/bin/env bash
# Golden tests of the compiler's output, QBE-style: each NAME.nn here has
# NAME.ir (the IR after the memory plan) and NAME.summary (nnc summary) beside
# it; a difference fails with the diff. UPDATE=1 rewrites the expectations.
# The generated C is pinned too (tests/golden/c/): for every examples/NAME.nn,
# the training build (NAME.c, NAME.h), the glue program of `nnc train`
# (NAME.main.c), the --weights-in-ram build (NAME.ram.c, .ram.h) and the baked
# --inference build (NAME.inf.c, .inf.h) of the weights a fixed-seed run of
# zero epochs saves: a change to what nnc emits is a reviewed diff.
# Also: the C generated for every model in the repository compiles with
# -std=c99 -Wall -Wextra -pedantic -Werror under gcc and clang, and as C++.
set -u
cd "$(dirname "$0")/../.."
[ -x ./nnc ] || { echo "FAIL: golden: nnc not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
status=0

check() {  # name, expected file, command...
    local name=$1 want=$2; shift 2
    "$@" >"$tmp/got" 2>&1
    if [ "${UPDATE:-}" = 1 ]; then cp "$tmp/got" "$want"; fi
    if diff -u "$want" "$tmp/got" >"$tmp/diff"; then
        echo "PASS: golden/$name"
    else
        echo "FAIL: golden/$name:"; head -30 "$tmp/diff"; status=1
    fi
}

# A file that nnc wrote, against its expectation; the temporary directory's
# name is taken out of the paths nnc prints into it.
check_file() {  # name, expected file, written file
    local name=$1 want=$2 got=$3
    check "$name" "$want" sed "s|$tmp/||g" "$got"
}

# The numbers of baked weights are left out of the .inf goldens (megabytes
# for the CNN; tests/inference checks their values): the code around them stays.
baked_code() { grep -Ev '^ +-?[0-9][-0-9.ef, ]*$' "$1"; }

mkdir -p tests/golden/c "$tmp/gen"
for f in examples/*.nn; do
    n=$(basename "$f" .nn) o=$tmp/gen/$n
    check "c/$n.main.c" "tests/golden/c/$n.main.c" ./nnc "$f" --emit=driver
    if ./nnc "$f" -o "$o.c" >/dev/null 2>&1; then
        check_file "c/$n.c" "tests/golden/c/$n.c" "$o.c"
        check_file "c/$n.h" "tests/golden/c/$n.h" "$o.h"
    else
        echo "FAIL: golden/c/$n: nnc failed"; status=1
    fi
    # fashion_cnn has no --weights-in-ram build: its batch norm folds into the weights.
    if ./nnc "$f" --weights-in-ram -o "$o.ram.c" >/dev/null 2>&1; then
        check_file "c/$n.ram.c" "tests/golden/c/$n.ram.c" "$o.ram.c"
        check_file "c/$n.ram.h" "tests/golden/c/$n.ram.h" "$o.ram.h"
    fi
    if ./nnc train "$f" --epochs 0 --seed 1 --quiet --save "$o.safetensors" >/dev/null 2>&1 &&
        ./nnc "$f" --inference --weights "$o.safetensors" -o "$o.inf.c" >/dev/null 2>&1; then
        baked_code "$o.inf.c" >"$o.code.c"
        check_file "c/$n.inf.c" "tests/golden/c/$n.inf.c" "$o.code.c"
        check_file "c/$n.inf.h" "tests/golden/c/$n.inf.h" "$o.inf.h"
    else
        echo "FAIL: golden/c/$n.inf: nnc failed"; status=1
    fi
done

for f in tests/golden/*.nn; do
    n=$(basename "$f" .nn)
    check "$n.ir" "tests/golden/$n.ir" ./nnc "$f" --dump=plan
    check "$n.summary" "tests/golden/$n.summary" ./nnc summary "$f"
done

compilers="gcc clang g++"
for f in examples/*.nn tests/golden/*.nn tests/gradcheck/models/*.nn tests/init/*.nn tests/torch/models/*.nn; do
    n=$(basename "$f" .nn)
    ./nnc "$f" -o "$tmp/m.c" 2>"$tmp/err" || { echo "FAIL: golden/compile/$f: $(head -3 "$tmp/err")"; status=1; continue; }
    ok=1
    for cc in $compilers; do
        if [ "$cc" = g++ ]; then flags="-x c++ -std=c++11"; else flags="-std=c99"; fi
        if ! $cc $flags -Wall -Wextra -pedantic -Werror -O2 -c "$tmp/m.c" -o "$tmp/m.o" 2>"$tmp/err"; then
            echo "FAIL: golden/compile/$n with $cc: $(head -5 "$tmp/err")"; ok=0; status=1
        fi
    done
    [ $ok = 1 ] && echo "PASS: golden/compile/$n (gcc, clang, g++ -Werror)"
done
exit $status
