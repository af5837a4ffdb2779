#!/usr/bin/env bash
# tests/errors/run.sh — golden error tests. Each NAME.nn must make nnc exit 1
# with stderr exactly NAME.err; each ok_NAME.nn must compile (exit 0).
# Run from anywhere; paths in the .err files are relative to the repo root.
#   bash tests/errors/run.sh            run every test
#   bash tests/errors/run.sh --update   rewrite the .err files from nnc's output
cd "$(dirname "$0")/../.." || exit 2
NNC=${NNC:-./nnc}
update=0
[ "$1" = --update ] && update=1

if [ ! -x "$NNC" ]; then
    echo "FAIL: errors: nnc not built"
    exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
to=""
command -v timeout >/dev/null && to="timeout 10"

pass=0 fail=0
for nn in tests/errors/*.nn; do
    name=$(basename "$nn" .nn)
    err=tests/errors/$name.err
    $to "$NNC" "$nn" -o "$tmp/$name.c" >"$tmp/out" 2>"$tmp/err"
    status=$?
    case $name in
    ok_*)
        if [ $status -eq 0 ]; then
            echo "PASS: errors/$name"; pass=$((pass + 1))
        else
            echo "FAIL: errors/$name (exit $status, want 0)"; cat "$tmp/err"; fail=$((fail + 1))
        fi
        continue ;;
    esac
    if [ $update -eq 1 ] && [ $status -eq 1 ]; then
        cp "$tmp/err" "$err"
    fi
    if [ $status -ne 1 ]; then
        echo "FAIL: errors/$name (exit $status, want 1)"; cat "$tmp/err"; fail=$((fail + 1))
    elif [ ! -f "$err" ]; then
        echo "FAIL: errors/$name (no $err)"; cat "$tmp/err"; fail=$((fail + 1))
    elif ! diff -u "$err" "$tmp/err" >"$tmp/diff"; then
        echo "FAIL: errors/$name"; cat "$tmp/diff"; fail=$((fail + 1))
    else
        echo "PASS: errors/$name"; pass=$((pass + 1))
    fi
done
echo "errors: $pass passed, $fail failed"
[ $fail -eq 0 ]
