#!/usr/bin/env bash
# Golden tests of the compiler's output, QBE-style: each NAME.nn here has
# NAME.ir (the IR after the memory plan) and NAME.summary (nnc summary) beside
# it; a difference fails with the diff. UPDATE=1 rewrites the expectations.
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
