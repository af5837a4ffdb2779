#!/usr/bin/env bash
# tests/runtime/run.sh — builds the runtime and its test programs in a
# temporary directory and checks them: unit tests, the command line end to
# end on a hand-written fake model, every error message, safetensors
# compatibility with PyTorch, and the error paths under ASan/UBSan and
# valgrind. One "PASS: name" or "FAIL: name: why" line per check, then
# "runtime: N passed, M failed"; exits 1 if anything failed.
#
#   bash tests/runtime/run.sh          (from the repository root; CC=clang to switch compilers)
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
CC=${CC:-cc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
FLAGS="-std=c99 -Wall -Wextra -pedantic -Werror -O2"
SAN="-std=c99 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all"
RT="$ROOT/runtime/rng.c $ROOT/runtime/data.c $ROOT/runtime/safetensors.c $ROOT/runtime/metrics.c $ROOT/runtime/driver.c $ROOT/runtime/report.c $ROOT/runtime/npy.c $ROOT/runtime/dist_serial.c"
TR=$ROOT/tests/runtime
npass=0
nfail=0

pass() { echo "PASS: $1"; npass=$((npass + 1)); }
fail() { echo "FAIL: $1: $2"; nfail=$((nfail + 1)); }
# ok NAME WHY CONDITION...: pass if the command succeeds
ok() { local name=$1 why=$2; shift 2; if "$@"; then pass "$name"; else fail "$name" "$why"; fi; }

# expect NAME STATUS STDERR CMD...: exit status and the whole of stderr
expect() {
    local name=$1 want_rc=$2 want=$3 got rc
    shift 3
    got=$("$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then fail "$name" "exit $rc, want $want_rc; stderr: $got"
    elif [ "$got" != "$want" ]; then fail "$name" "stderr '$got', want '$want'"
    else pass "$name"; fi
}

# usage_error NAME FIRST-LINE CMD...: exit 2, the message, then the usage, nothing on stdout
usage_error() {
    local name=$1 want=$2 out rc
    shift 2
    out=$("$@" 2>"$T/usage.err")
    rc=$?
    if [ "$rc" -ne 2 ]; then fail "$name" "exit $rc, want 2"
    elif [ "$(head -1 "$T/usage.err")" != "$want" ]; then fail "$name" "stderr '$(head -1 "$T/usage.err")'"
    elif ! sed -n 2p "$T/usage.err" | grep -q '^usage: '; then fail "$name" "no usage after the message"
    elif [ -n "$out" ]; then fail "$name" "stdout not empty: $out"
    else pass "$name"; fi
}

# ---- builds

build() { # NAME OUTPUT FLAGS... (sources follow the flags)
    local name=$1 out=$2
    shift 2
    if "$@" -o "$out" -lz -lm 2>"$T/build.err"; then return 0; fi
    fail "build $name" "$(head -c 600 "$T/build.err")"
    return 1
}

compiles_clean() { # COMPILER
    local f
    for f in $RT; do "$1" $FLAGS -c "$f" -o "$T/obj.o" 2>>"$T/clean.err" || return 1; done
    # the top-level Makefile also defines _POSIX_C_SOURCE on the command line
    for f in $RT; do "$1" $FLAGS -D_POSIX_C_SOURCE=200809L -c "$f" -o "$T/obj.o" 2>>"$T/clean.err" || return 1; done
}
: >"$T/clean.err"
ok "runtime compiles clean with $CC $FLAGS" "$(cat "$T/clean.err")" compiles_clean "$CC"
if [ "$CC" != clang ]; then
    : >"$T/clean.err"
    ok "runtime compiles clean with clang $FLAGS" "$(cat "$T/clean.err")" compiles_clean clang
fi
printf '#include "nnc_rt.h"\nint main() { return nnc_error() == 0; }\n' >"$T/cxx.cc"
ok "nnc_rt.h can be included from C++" "c++ failed" c++ -fsyntax-only -I"$ROOT/runtime" "$T/cxx.cc"

FAKE="$TR/fake_model.c $RT -I$ROOT/runtime"
B=$T/fake_bin S=$T/fake_sp R=$T/fake_reg U=$T/unit C=$T/st_copy
build fake_bin "$B" $CC $FLAGS -DTASK=NNC_BINARY -DPRE=NNC_PRE_STANDARDIZE -DVSPLIT=0.2 $FAKE
build fake_sp "$S" $CC $FLAGS -DTASK=NNC_SPARSE -DPRE=NNC_PRE_MINMAX $FAKE
build fake_reg "$R" $CC $FLAGS -DTASK=NNC_REGRESSION -DN_OUT=2 -DLR=0.1f -DSHUFFLE=0 $FAKE
O=$T/fake_oh H=$T/fake_hinge
build fake_oh "$O" $CC $FLAGS -DTASK=NNC_ONEHOT -DPRE=NNC_PRE_MINMAX $FAKE
build fake_hinge "$H" $CC $FLAGS -DTASK=NNC_HINGE -DPRE=NNC_PRE_STANDARDIZE -DLR=0.1f $FAKE
build unit "$U" $CC $FLAGS -I"$ROOT/runtime" "$TR/test_unit.c" $RT
build st_copy "$C" $CC $FLAGS -I"$ROOT/runtime" "$TR/st_copy.c" $RT
BA= UA=
if $CC $SAN -x c - -o "$T/san" <<<'int main(void){return 0;}' 2>/dev/null && "$T/san"; then
    BA=$T/fake_bin_asan UA=$T/unit_asan
    build "fake_bin with ASan+UBSan" "$BA" $CC $SAN -DTASK=NNC_BINARY -DPRE=NNC_PRE_STANDARDIZE -DVSPLIT=0.2 $FAKE || BA=
    build "unit with ASan+UBSan" "$UA" $CC $SAN -I"$ROOT/runtime" "$TR/test_unit.c" $RT || UA=
else
    fail "sanitizers" "$CC cannot build with -fsanitize=address,undefined"
fi
export ASAN_OPTIONS=detect_leaks=1:exitcode=9 UBSAN_OPTIONS=halt_on_error=1:exitcode=9
VG="valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite"

cd "$T" || exit 1
unset FAKE_TRAIN FAKE_TEST
"$PY" "$TR/gen_data.py" "$T" || fail "gen_data.py" "could not write the test data"

# ---- unit tests (they print their own PASS/FAIL lines)

if [ -x "$U" ]; then
    mkdir -p unit.d
    "$U" "$T/unit.d" >unit.out 2>&1
    rc=$?
    while IFS= read -r line; do
        case $line in
        PASS:*) echo "$line"; npass=$((npass + 1)) ;;
        FAIL:*) echo "$line"; nfail=$((nfail + 1)) ;;
        esac
    done <unit.out
    [ $rc -eq 0 ] || grep -q '^FAIL' unit.out || fail "unit tests" "exit $rc: $(tail -3 unit.out)"
fi
if [ -n "$UA" ]; then
    mkdir -p unit_asan.d
    "$UA" "$T/unit_asan.d" >unit_asan.out 2>&1
    ok "unit tests and fuzzing under ASan+UBSan" "exit $?: $(grep -v '^PASS' unit_asan.out | head -5)" \
        test "$(grep -c '^PASS' unit_asan.out)" = "$(grep -c '^PASS' unit.out)" -a "$(grep -vc '^PASS' unit_asan.out)" = 0
fi

# ---- train / eval / predict, binary classification

strip_ms() { sed 's/ - [0-9]* ms$//' "$1"; }
"$B" train --data bin_train.csv --test bin_test.csv --epochs 20 --save trained.st >train.out 2>train.err
ok "train: exit 0, nothing on stderr" "exit $?: $(cat train.err)" test ! -s train.err
ok "train: 20 Keras-style epoch lines" "$(head -2 train.out)" test "$(grep -cE '^epoch ([1-9]|1[0-9]|20)/20 - loss: [0-9]+\.[0-9]{4} - accuracy: [01]\.[0-9]{4} - val_loss: [0-9]+\.[0-9]{4} - val_accuracy: [01]\.[0-9]{4} - [0-9]+ ms$' train.out)" = 20
first=$(sed -n 's/^epoch 1\/20 - loss: \([0-9.]*\).*/\1/p' train.out)
last=$(sed -n 's/^epoch 20\/20 - loss: \([0-9.]*\).*/\1/p' train.out)
ok "train: the loss goes down" "first $first last $last" awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a / 2) }'
testline=$(grep '^test loss' train.out)
ok "train: test line and high accuracy" "got '$testline'" awk -v l="$testline" 'BEGIN { exit !(l ~ /^test loss: [0-9.]+ - accuracy: [01]\.[0-9][0-9][0-9][0-9]$/ && substr(l, index(l, "accuracy: ") + 10) + 0 >= 0.95) }'
ok "train --save: the test line stays last, the weights file there, no .tmp left" "$(tail -1 train.out)" test "$(tail -1 train.out)" = "$testline" -a -s trained.st -a ! -e trained.st.tmp

"$B" train --data bin_train.csv --test bin_test.csv --epochs 20 --save again.st >again.out 2>&1
ok "train: same seed, same output" "outputs differ" test "$(strip_ms train.out)" = "$(strip_ms again.out)"
ok "train: same seed, byte-identical weights" "cmp failed" cmp -s trained.st again.st
"$B" train --data bin_train.csv --epochs 2 --seed 7 --save seed7.st >/dev/null 2>&1
"$B" train --data bin_train.csv --epochs 2 --seed 8 --save seed8.st >/dev/null 2>&1
ok "train: --seed changes the run" "weights identical" test -s seed7.st -a -s seed8.st -a "$(od -An -tx1 seed7.st)" != "$(od -An -tx1 seed8.st)"
"$B" train --data bin_train.csv --test bin_test.csv --epochs 20 --quiet >quiet.out 2>&1
ok "train --quiet: only the final line" "$(cat quiet.out)" test "$(cat quiet.out)" = "$testline"
"$B" train --data bin_train.csv --epochs 1 >noval.out 2>&1
ok "train without --test reports the validation split" "$(tail -1 noval.out)" grep -qE '^validation loss: [0-9.]+ - accuracy: [0-9.]+$' noval.out
FAKE_TRAIN=bin_train.csv FAKE_TEST=bin_test.csv "$B" train --epochs 20 --quiet >dflt.out 2>&1
ok "train: data and test paths default to the model's" "$(cat dflt.out)" test "$(cat dflt.out)" = "$testline"
"$B" train --data bin_train.csv --test bin_test.csv --init trained.st --epochs 0 --quiet >init.out 2>&1
ok "train --init --epochs 0 reproduces the saved model" "$(cat init.out) vs $testline" test "$(cat init.out)" = "$testline"

"$B" eval --weights trained.st --data bin_test.csv >eval.out 2>&1
ok "eval: same loss and accuracy as training reported" "$(head -1 eval.out) vs $testline" test "test $(head -1 eval.out)" = "$testline"
FAKE_TEST=bin_test.csv "$B" eval --weights trained.st >eval2.out 2>&1
ok "eval: --data defaults to the model's test file" "$(cat eval2.out)" cmp -s eval.out eval2.out

"$B" predict --weights trained.st --data bin_inputs.csv >pred.out 2>pred.err
ok "predict: header class,p1 and one row per sample" "$(head -2 pred.out)" test "$(head -1 pred.out)" = "class,p1" -a "$(wc -l <pred.out)" = 201 -a ! -s pred.err
ok "predict: every row is a 0/1 class and its probability" "bad row" awk -F, 'NR > 1 && !(NF == 2 && ($1 == 0 || $1 == 1) && $2 >= 0 && $2 <= 1 && ($1 == 1) == ($2 > 0.5)) { bad = 1 } END { exit bad }' pred.out
"$B" predict --weights trained.st --data bin_test.csv >pred_t.out 2>&1
ok "predict: a file with the target column gives the same output" "differs" cmp -s pred.out pred_t.out
"$B" predict --weights trained.st --data bin_inputs.csv --out pred_file.csv >pred_stdout.out 2>&1
ok "predict --out writes the same CSV, nothing on stdout" "differs" test -s pred_file.csv -a ! -s pred_stdout.out -a ! -e pred_file.csv.tmp
cmp -s pred.out pred_file.csv || fail "predict --out matches stdout" "files differ"
acc=$(paste -d, bin_test.csv pred.out | awk -F, 'NR > 1 { n++; ok += $3 == $4 } END { printf "%.4f", ok / n }')
ok "predict: the classes are right on the test set ($acc)" "accuracy $acc" awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }'
ok "weights: the metadata holds the standardize statistics" "no nnc.shift" grep -q '"nnc.preprocess":"standardize","nnc.shift":"' trained.st

# ---- sparse classification (min_max, no validation split) and regression

"$S" train --data sp_train.csv --test sp_test.csv --epochs 30 --save sp.st >sp.out 2>&1
ok "sparse: epoch lines without val_ fields" "$(head -1 sp.out)" test "$(grep -cE '^epoch [0-9]+/30 - loss: [0-9.]+ - accuracy: [0-9.]+ - [0-9]+ ms$' sp.out)" = 30
spline=$(grep '^test loss' sp.out)
ok "sparse: high test accuracy" "$spline" awk -v l="$spline" 'BEGIN { exit !(substr(l, index(l, "accuracy: ") + 10) + 0 >= 0.95) }'
"$S" predict --weights sp.st --data sp_test.csv >sp_pred.out 2>&1
ok "sparse predict: class,p0,p1,p2; probabilities sum to 1; class is the argmax" "$(head -3 sp_pred.out)" \
    awk -F, 'NR == 1 { bad = $0 != "class,p0,p1,p2"; next } { s = $2 + $3 + $4; m = 2; if ($3 > $(m)) m = 3; if ($4 > $(m)) m = 4; if (NF != 4 || s < 0.9999 || s > 1.0001 || $1 != m - 2) bad = 1 } END { exit bad || NR != 151 }' sp_pred.out
ok "sparse: min_max statistics in the metadata" "no min_max" grep -q '"nnc.preprocess":"min_max"' sp.st

"$O" train --data oh_train.csv --test oh_test.csv --epochs 30 --save oh.st >oh.out 2>&1
ok "one-hot: epoch lines with accuracy" "$(head -1 oh.out)" test "$(grep -cE '^epoch [0-9]+/30 - loss: [0-9.]+ - accuracy: [0-9.]+ - [0-9]+ ms$' oh.out)" = 30
ohline=$(grep '^test loss' oh.out)
ok "one-hot: the same test loss and accuracy as the sparse labels" "$ohline vs $spline" test "$ohline" = "$spline"
"$O" predict --weights oh.st --data oh_test.csv >oh_pred.out 2>&1
ok "one-hot predict: the same classes and probabilities as sparse" "$(head -3 oh_pred.out)" cmp -s oh_pred.out sp_pred.out
printf 'a,b,c0,c1,c2\n1,2,0,1,0\n3,4,0,1.5,0\n' >oh_bad.csv
expect "data: a one-hot target out of [0, 1]" 1 "oh_bad.csv:3:4: error: column 4: one-hot target '1.5' is not in [0, 1]" "$O" train --data oh_bad.csv

awk -F, 'NR > 1 { $3 = $3 ? 1 : -1 } { print }' OFS=, bin_train.csv >pm_train.csv
"$H" train --data pm_train.csv --test bin_test.csv --epochs 20 >hinge.out 2>&1
hline=$(grep '^test loss' hinge.out)
ok "hinge: -1/1 training targets, 0/1 test targets, high accuracy" "$hline" awk -v l="$hline" 'BEGIN { exit !(substr(l, index(l, "accuracy: ") + 10) + 0 >= 0.95) }'
"$H" train --data pm_train.csv --epochs 2 --save hinge.st >/dev/null 2>&1
"$H" predict --weights hinge.st --data bin_inputs.csv >hinge_pred.out 2>&1
ok "hinge predict: class,score with the class the score's sign" "$(head -3 hinge_pred.out)" \
    awk -F, 'NR == 1 { bad = $0 != "class,score"; next } !(NF == 2 && ($1 == 1) == ($2 > 0) && ($1 == 1 || $1 == -1)) { bad = 1 } END { exit bad || NR != 201 }' hinge_pred.out
printf '1,2,1\n3,4,2\n' >hinge_bad.csv
expect "data: a hinge target not -1, 0 or 1" 1 "hinge_bad.csv:2:3: error: column 3: hinge target '2' is not -1, 0 or 1" "$H" train --data hinge_bad.csv

"$R" train --data reg_train.csv --test reg_test.csv --epochs 30 --save reg.st >reg.out 2>&1
ok "regression: epoch lines with rmse" "$(head -1 reg.out)" test "$(grep -cE '^epoch [0-9]+/30 - loss: [0-9.]+ - rmse: [0-9.]+ - [0-9]+ ms$' reg.out)" = 30
regline=$(grep '^test loss' reg.out)
ok "regression: small test rmse" "$regline" awk -v l="$regline" 'BEGIN { exit !(l ~ /rmse: / && substr(l, index(l, "rmse: ") + 6) + 0 < 0.1) }'
"$R" predict --weights reg.st --data reg_test.csv >reg_pred.out 2>&1
ok "regression predict: header y0,y1 and two values per row" "$(head -2 reg_pred.out)" \
    awk -F, 'NR == 1 { bad = $0 != "y0,y1"; next } NF != 2 { bad = 1 } END { exit bad || NR != 101 }' reg_pred.out
"$R" train --data reg_train.csv --epochs 1 --quiet >reg_nt.out 2>&1
ok "regression without test or validation reports the training set" "$(cat reg_nt.out)" grep -qE '^train loss: [0-9.]+ - rmse: [0-9.]+$' reg_nt.out

# ---- command-line errors: exit 2 with usage

usage_error "cli: no command" "fake_bin: error: missing command (train, eval or predict)" "$B"
usage_error "cli: unknown command" "fake_bin: error: unknown command 'fit'" "$B" fit
usage_error "cli: unknown flag" "fake_bin: error: unknown flag '--epoch' for train" "$B" train --data bin_train.csv --epoch 3
usage_error "cli: flag of another command" "fake_bin: error: unknown flag '--epochs' for eval" "$B" eval --weights trained.st --epochs 3
usage_error "cli: missing value" "fake_bin: error: missing value for --epochs" "$B" train --data bin_train.csv --epochs
usage_error "cli: empty value" "fake_bin: error: empty value for --data" "$B" train --data=
usage_error "cli: bad number" "fake_bin: error: bad value 'abc' for --epochs: expected a whole number >= 0" "$B" train --data bin_train.csv --epochs abc
usage_error "cli: negative number" "fake_bin: error: bad value '-1' for --epochs: expected a whole number >= 0" "$B" train --data bin_train.csv --epochs -1
usage_error "cli: number too big" "fake_bin: error: bad value '99999999999' for --epochs: expected a whole number >= 0" "$B" train --data bin_train.csv --epochs 99999999999
usage_error "cli: fractional seed" "fake_bin: error: bad value '1.5' for --seed: expected a whole number >= 0" "$B" train --data bin_train.csv --seed=1.5
usage_error "cli: --quiet takes no value" "fake_bin: error: --quiet takes no value" "$B" train --data bin_train.csv --quiet=1
usage_error "cli: stray argument" "fake_bin: error: unexpected argument 'bin_train.csv'" "$B" train bin_train.csv
usage_error "cli: no training data" "fake_bin: error: no training data: pass --data CSV (the model names no training file)" "$B" train --epochs 1
usage_error "cli: eval needs weights" "fake_bin: error: missing --weights W.safetensors" "$B" eval --data bin_test.csv
usage_error "cli: eval needs data" "fake_bin: error: no data to evaluate: pass --data CSV (the model names no test file)" "$B" eval --weights trained.st
usage_error "cli: predict needs data" "fake_bin: error: missing --data CSV" "$B" predict --weights trained.st
"$B" --help >help.out 2>&1
ok "cli: --help prints usage and the model's defaults, exit 0" "$(head -3 help.out)" grep -q '^defaults: --data (none) --test (none) --epochs 20 --seed 42$' help.out

# ---- data and weight errors: exit 1, located message

printf 'x0,x1,label\n1,2,1\n3,oops,0\n' >bad.csv
printf '1,2,1\n' >one.csv
printf 'a,b,c\n1,2,3\n' >cls.csv
expect "data: bad value in the training file" 1 "bad.csv:3:2: error: column 2: 'oops' is not a number" "$B" train --data bad.csv
expect "data: bad value in the test file" 1 "bad.csv:3:2: error: column 2: 'oops' is not a number" "$B" train --data bin_train.csv --test bad.csv
expect "data: missing file" 1 "nope.csv: error: cannot open: No such file or directory" "$B" train --data nope.csv
expect "data: a directory" 1 "unit.d: error: cannot read: Is a directory" "$B" eval --weights trained.st --data unit.d
expect "data: too few rows to split" 1 "one.csv: error: validation_split 0.2 of 1 sample leaves no training samples" "$B" train --data one.csv
expect "data: bad value in predict input" 1 "bad.csv:3:2: error: column 2: 'oops' is not a number" "$B" predict --weights trained.st --data bad.csv
expect "data: a class out of range" 1 "cls.csv:2:3: error: column 3: class label '3' is not an integer in [0, 3)" "$S" train --data cls.csv
out=$("$B" train --data bin_train.csv --save nodir/w.st 2>save.err)
rc=$?
ok "save: an unwritable path fails before training" "exit $rc, stdout '$out', stderr '$(cat save.err)'" \
    test $rc = 1 -a -z "$out" -a "$(cat save.err)" = "nodir/w.st: error: cannot write: No such file or directory"
expect "predict: an unwritable --out" 1 "nodir/p.csv: error: cannot write: No such file or directory" "$B" predict --weights trained.st --data bin_inputs.csv --out nodir/p.csv

# ---- broken safetensors files, each refused with its own message

mkdir -p bad
"$PY" "$TR/gen_bad_st.py" bad || fail "gen_bad_st.py" "could not write the files"
st_case() { # NAME EXPECTED-STDERR (for bad/NAME.st)
    local f=bad/$1.st
    expect "weights: $1" 1 "$2" "$B" eval --weights "$f" --data bin_test.csv
    if [ -n "$BA" ]; then expect "weights: $1 (ASan+UBSan)" 1 "$2" "$BA" eval --weights "$f" --data bin_test.csv; fi
}
"$B" eval --weights bad/good.st --data bin_test.csv >good.out 2>&1
ok "weights: the well-formed control file loads" "$(cat good.out)" grep -q '^loss: ' good.out
st_case empty "bad/empty.st: error: not a safetensors file: 0 bytes, too short for the header length"
st_case truncated "bad/truncated.st: error: tensor 'fc.bias': data_offsets [8, 12] run past the end of the data (10 bytes; is the file truncated?)"
st_case truncated_header "bad/truncated_header.st: error: not a safetensors file (or truncated): header length 216 exceeds the 12 bytes that follow it"
st_case bad_json "bad/bad_json.st: error: invalid header JSON at byte 72: unexpected end of header"
st_case offsets_past_end "bad/offsets_past_end.st: error: tensor 'fc.bias': data_offsets [8, 16] run past the end of the data (12 bytes; is the file truncated?)"
st_case wrong_shape "bad/wrong_shape.st: error: tensor 'fc.weight' has shape [2, 1], expected [1, 2]"
st_case missing "bad/missing.st: error: missing tensor 'fc.bias' (shape [1])"
st_case extra "bad/extra.st: error: unexpected tensor 'fc2.weight': model 'fake' has no such parameter"
st_case other_model "bad/other_model.st: error: missing tensor 'fc.weight' (shape [1, 2])
bad/other_model.st: error: missing tensor 'fc.bias' (shape [1])
bad/other_model.st: error: unexpected tensor 'conv.weight': model 'fake' has no such parameter
bad/other_model.st: error: unexpected tensor 'conv.bias': model 'fake' has no such parameter"
st_case many_extra "$(for i in 0 1 2 3 4 5 6 7 8 9; do echo "bad/many_extra.st: error: unexpected tensor 'x$i': model 'fake' has no such parameter"; done)
bad/many_extra.st: error: ... and 5 more problems"
st_case int_dtype "bad/int_dtype.st: error: tensor 'fc.bias' has dtype I32; F32, F64, F16, BF16 and I64 can be loaded"
st_case int64_range "bad/int64_range.st: error: tensor 'fc.bias': integer 33554432 at index 0 is not exact as a float"
st_case f64_range "bad/f64_range.st: error: tensor 'fc.weight': value 1e+300 at index 0 is out of float range"
st_case no_stats "bad/no_stats.st: error: no preprocessing statistics in the metadata (nnc.preprocess), but model 'fake' uses standardize"
st_case bad_stats "bad/bad_stats.st: error: metadata nnc.shift has 1 value, the model has 2 inputs"
st_case nan_stats "bad/nan_stats.st: error: metadata nnc.scale: value 2 is not a finite number"
st_case unknown_prep "bad/unknown_prep.st: error: metadata nnc.preprocess: unknown method 'zscore'"
expect "weights: missing file" 1 "none.st: error: cannot open: No such file or directory" "$B" eval --weights none.st --data bin_test.csv
expect "weights: a broken --init file" 1 "bad/missing.st: error: missing tensor 'fc.bias' (shape [1])" "$B" train --data bin_train.csv --init bad/missing.st
expect "weights: a weights file of another model in predict" 1 "sp.st: error: tensor 'fc.weight' has shape [3, 2], expected [1, 2]
sp.st: error: tensor 'fc.bias' has shape [3], expected [1]" "$B" predict --weights sp.st --data bin_inputs.csv

# ---- whole runs under the sanitizers and valgrind

if [ -n "$BA" ]; then
    "$BA" train --data bin_train.csv --test bin_test.csv --epochs 3 --save asan.st >asan.out 2>&1 &&
        "$BA" eval --weights asan.st --data bin_test.csv >>asan.out 2>&1 &&
        "$BA" predict --weights asan.st --data bin_inputs.csv --out asan_pred.csv >>asan.out 2>&1
    rc=$?
    ok "train, eval, predict under ASan+UBSan" "exit $rc: $(grep -v '^epoch' asan.out | head -5)" test $rc = 0
fi
if [ -n "$VG" ]; then
    $VG "$B" train --data bin_train.csv --test bin_test.csv --epochs 2 --save vg.st >vg.out 2>&1 &&
        $VG "$B" eval --weights vg.st --data bin_test.csv >>vg.out 2>&1 &&
        $VG "$B" predict --weights vg.st --data bin_inputs.csv >>vg.out 2>&1
    rc=$?
    ok "train, eval, predict under valgrind" "exit $rc: $(grep -v '^epoch' vg.out | head -5)" test $rc = 0
    vgbad=0
    for f in truncated bad_json other_model f64_range nan_stats; do
        $VG "$B" eval --weights bad/$f.st --data bin_test.csv >/dev/null 2>vg_err.out
        [ $? -eq 1 ] || { vgbad=1; echo "  $f: $(head -3 vg_err.out)"; }
    done
    for a in "train --data bad.csv" "train --data bin_train.csv --epochs x" "predict --weights trained.st --data cls.csv"; do
        $VG "$B" $a >/dev/null 2>vg_err.out
        rc=$?
        [ $rc -eq 1 ] || [ $rc -eq 2 ] || { vgbad=1; echo "  $a: $(head -3 vg_err.out)"; }
    done
    ok "error paths under valgrind: no invalid access, no leak" "see above" test $vgbad = 0
fi

# ---- PyTorch

if "$PY" -c 'import torch, numpy' 2>/dev/null; then
    "$PY" "$TR/torch_roundtrip.py" make "$T" 2>torch.err || fail "torch: make" "$(tail -3 torch.err)"
    "$C" pt_f32.st c_f32.st 2>>torch.err || fail "torch: st_copy F32" "$(tail -1 torch.err)"
    "$C" pt_mixed.st c_mixed.st 2>>torch.err || fail "torch: st_copy F64/F16/BF16" "$(tail -1 torch.err)"
    "$B" predict --weights trained.st --data bin_inputs.csv --out nnc_pred.csv 2>>torch.err
    "$B" predict --weights pt_fake.st --data bin_inputs.csv --out pt_pred.csv 2>>torch.err
    "$PY" "$TR/torch_roundtrip.py" check "$T" >torch.out 2>>torch.err
    rc=$?
    while IFS= read -r line; do
        case $line in
        PASS:*) echo "$line"; npass=$((npass + 1)) ;;
        FAIL:*) echo "$line"; nfail=$((nfail + 1)) ;;
        esac
    done <torch.out
    if grep -q Traceback torch.err || { [ $rc -ne 0 ] && ! grep -q '^FAIL' torch.out; }; then
        fail "torch: check script" "exit $rc: $(tail -3 torch.err)"
    fi
else
    fail "torch" "$PY cannot import torch and numpy (apt-get install python3-torch python3-numpy)"
fi

# ---- IDX files (MNIST format): gzipped or not, labels beside them, errors with offsets

"$PY" - <<'PYEOF'
import gzip, struct
def idx(path, dims, data, gz=False, magic=None):
    head = (magic or bytes([0, 0, 8, len(dims)])) + b"".join(struct.pack(">I", d) for d in dims)
    (gzip.open if gz else open)(path, "wb").write(head + bytes(data))
px = [(i * 37) % 256 for i in range(2 * 12)]
lab = [i % 3 for i in range(12)]
idx("ok-images-idx3-ubyte.gz", [12, 1, 2], px, gz=True)
idx("ok-labels-idx1-ubyte", [12], lab)
idx("wide-images-idx3-ubyte", [12, 1, 3], px + px[:12])
idx("short-images-idx3-ubyte", [12, 1, 2], px[:20])
idx("bad-images-idx3-ubyte", [12, 1, 2], px)
idx("bad-labels-idx1-ubyte", [12], lab, magic=bytes([0, 0, 8, 9]))
idx("few-images-idx3-ubyte", [12, 1, 2], px)
idx("few-labels-idx1-ubyte", [11], lab[:11])
idx("cls-images-idx3-ubyte", [12, 1, 2], px)
idx("cls-labels-idx1-ubyte", [12], lab[:5] + [7] + lab[6:])
PYEOF
"$S" train --data ok-images-idx3-ubyte.gz --epochs 2 --quiet >idx.out 2>idx.err
ok "idx: gzipped images, plain labels found beside them" "$(cat idx.err)" grep -q '^train loss: .* - accuracy: ' idx.out
expect "idx: images of the wrong size" 1 \
    "wide-images-idx3-ubyte: error: offset 8: images of 3 values, but the model's input has 2" \
    "$S" train --data wide-images-idx3-ubyte
expect "idx: truncated data" 1 "short-images-idx3-ubyte: error: offset 36: file ends after 20 of 24 data bytes" \
    "$S" train --data short-images-idx3-ubyte
expect "idx: bad magic in the labels" 1 "bad-labels-idx1-ubyte: error: offset 0: bad IDX magic 00 00 08 09" \
    "$S" train --data bad-images-idx3-ubyte
expect "idx: fewer labels than images" 1 \
    "few-labels-idx1-ubyte: error: offset 4: 11 labels for 12 images in few-images-idx3-ubyte" \
    "$S" train --data few-images-idx3-ubyte
expect "idx: a label out of range" 1 "cls-labels-idx1-ubyte: error: offset 13: label 7, but the model has 3 classes" \
    "$S" train --data cls-images-idx3-ubyte

# ---- NumPy .npy files: versions 1-3, dtypes, labels files, errors with offsets, fuzzing

SA=
if [ -n "$BA" ]; then
    SA=$T/fake_sp_asan
    build "fake_sp with ASan+UBSan" "$SA" $CC $SAN -DTASK=NNC_SPARSE -DPRE=NNC_PRE_MINMAX $FAKE || SA=
fi
"$PY" - <<'PYEOF'
import gzip, io, numpy as np
from numpy.lib import format as F
r = np.random.default_rng(1)
x = r.normal(size=(12, 2)).astype(np.float32)
y = np.array([0, 1, 2] * 4, dtype=np.uint8)
np.savetxt("npy_ref.csv", np.column_stack([x, y]), delimiter=",", fmt="%.9g")
def save(path, a, version=None, fortran=False):
    with open(path, "wb") as f:
        F.write_array(f, np.asfortranarray(a) if fortran else a, version=version)
save("x.npy", x); save("y.npy", y)
save("x_v2.npy", x, (2, 0)); save("x_v3.npy", x, (3, 0))
save("x_f8.npy", x.astype(np.float64)); save("y_i8.npy", y.astype(np.int64))
save("x_img.npy", x.reshape(12, 1, 2))                       # any shape with n_in values per sample
save("xy.npy", np.column_stack([x, y]).astype(np.float32))   # inputs then the target, as a CSV row
gzip.open("xy.npy.gz", "wb").write(open("xy.npy", "rb").read())
save("x_u1.npy", (np.abs(x) * 10).astype(np.uint8)); save("x_i2.npy", (x * 100).astype(np.int16))
np.savetxt("npy_u1.csv", np.column_stack([(np.abs(x) * 10).astype(np.uint8), y]), delimiter=",", fmt="%d")
save("x_fortran.npy", np.column_stack([x, y]).astype(np.float32), fortran=True)
save("x_big.npy", np.column_stack([x, y]).astype(">f4"))
save("x_c8.npy", np.column_stack([x, y]).astype(np.complex64))
save("x_f2.npy", np.column_stack([x, y]).astype(np.float16))
save("x_wide.npy", r.normal(size=(12, 4)).astype(np.float32))
save("y_few.npy", y[:11]); save("x_scalar.npy", np.float32(1))
yb = y.copy(); yb[5] = 7; save("y_bad.npy", yb)
xn = np.column_stack([x, y]).astype(np.float32); xn[3, 1] = np.nan; save("x_nan.npy", xn)
b = bytearray(open("xy.npy", "rb").read()); b[6] = 4; open("x_v4.npy", "wb").write(b)
open("x_short.npy", "wb").write(open("xy.npy", "rb").read()[:-10])
open("x_hdr.npy", "wb").write(open("xy.npy", "rb").read()[:40])
PYEOF
# the fake model's training file (FAKE_TRAIN) has the labels FAKE_TRAIN_LABELS
same_as_csv() { # NAME DATA LABELS CSV: training on the .npy equals training on the CSV, line for line
    local name=$1
    FAKE_TRAIN=$2 FAKE_TRAIN_LABELS=$3 "$S" train --epochs 3 --seed 4 >npy.out 2>npy.err
    "$S" train --data "$4" --epochs 3 --seed 4 >csv.out 2>&1
    if [ -s npy.err ]; then fail "$name" "$(cat npy.err)"
    elif [ "$(strip_ms npy.out)" = "$(strip_ms csv.out)" ]; then pass "$name"
    else fail "$name" "$(diff <(strip_ms npy.out) <(strip_ms csv.out) | head -5)"; fi
}
same_as_csv "npy: float32 inputs and uint8 labels train as the CSV does" x.npy y.npy npy_ref.csv
same_as_csv "npy: format version 2 header" x_v2.npy y.npy npy_ref.csv
same_as_csv "npy: format version 3 header" x_v3.npy y.npy npy_ref.csv
same_as_csv "npy: float64 inputs, int64 labels" x_f8.npy y_i8.npy npy_ref.csv
same_as_csv "npy: inputs of shape (12, 1, 2)" x_img.npy y.npy npy_ref.csv
same_as_csv "npy: targets as each row's last column" xy.npy "" npy_ref.csv
same_as_csv "npy: gzipped" xy.npy.gz "" npy_ref.csv
same_as_csv "npy: uint8 inputs" x_u1.npy y.npy npy_u1.csv
FAKE_TRAIN=x_i2.npy FAKE_TRAIN_LABELS=y.npy "$S" train --epochs 1 --quiet >/dev/null 2>npy.err
ok "npy: int16 inputs" "$(cat npy.err)" test ! -s npy.err
expect "npy: Fortran order is refused" 1 \
    "x_fortran.npy: error: offset 10: the array is in Fortran order; save it in C order (np.save(path, np.ascontiguousarray(x)))" \
    "$S" train --data x_fortran.npy
expect "npy: big-endian is refused" 1 \
    "x_big.npy: error: offset 10: dtype '>f4' is big-endian; save it little-endian (x.astype('<f4'))" "$S" train --data x_big.npy
expect "npy: complex is refused" 1 \
    "x_c8.npy: error: offset 10: dtype '<c8' is not read; use float32, float64, an integer type or bool" "$S" train --data x_c8.npy
expect "npy: float16 is refused" 1 \
    "x_f2.npy: error: offset 10: dtype '<f2' is not read; use float32, float64, an integer type or bool" "$S" train --data x_f2.npy
expect "npy: format version 4" 1 "x_v4.npy: error: offset 6: .npy format version 4.0; versions 1, 2 and 3 are read" \
    "$S" train --data x_v4.npy
expect "npy: truncated data" 1 "x_short.npy: error: offset 262: file ends after 134 of 144 data bytes" \
    "$S" train --data x_short.npy
expect "npy: truncated header" 1 "x_hdr.npy: error: offset 10: file ends inside the 118-byte .npy header" \
    "$S" train --data x_hdr.npy
expect "npy: wrong values per sample" 1 \
    "x_wide.npy: error: offset 0: shape (12, 4) has 4 values per sample, but the model wants 2 inputs + 1 target per row (or name the targets in a labels file)" \
    "$S" train --data x_wide.npy
FAKE_TRAIN=x_wide.npy FAKE_TRAIN_LABELS=y.npy expect "npy: wrong inputs with a labels file" 1 \
    "x_wide.npy: error: offset 0: shape (12, 4) has 4 values per sample, but the model's input has 2" "$S" train
FAKE_TRAIN=x.npy FAKE_TRAIN_LABELS=y_few.npy expect "npy: fewer labels than samples" 1 \
    "y_few.npy: error: offset 0: 11 labels for 12 samples in x.npy" "$S" train
FAKE_TRAIN=x.npy FAKE_TRAIN_LABELS=y_bad.npy expect "npy: a label out of range" 1 \
    "y_bad.npy: error: offset 133: label 5: 7 is not a class in [0, n_out) (the model has 3 outputs)" "$S" train
expect "npy: NaN input" 1 "x_nan.npy: error: offset 168: sample 3, input 1: nan is not a finite float" \
    "$S" train --data x_nan.npy
expect "npy: a scalar" 1 "x_scalar.npy: error: offset 10: the array is a scalar; samples are its first axis" \
    "$S" train --data x_scalar.npy
# fuzzing: every truncation and random byte changes in header and data
# give exit 0 or a located error, never a crash (under ASan+UBSan if built)
FZ=${SA:-$S}
"$PY" - <<'PYEOF'
import random
src = open("xy.npy", "rb").read()
random.seed(5)
for i in range(0, len(src), 3): open("fz_t%03d.npy" % i, "wb").write(src[:i])
for i in range(150):
    b = bytearray(src)
    for _ in range(random.randint(1, 4)):
        k = random.randrange(0, 140 if i % 3 else len(b))
        b[k] = random.choice([0, 0x20, 0x27, 0x28, 0x29, 0x2c, 0x30, 0x39, 0x3c, 0x3e, 0x46, 0x54, 0x66, 0x69, 0xff, random.randrange(256)])
    open("fz_m%03d.npy" % i, "wb").write(bytes(b))
PYEOF
bad=""
for f in fz_*.npy; do
    "$FZ" train --data "$f" --epochs 1 --quiet >/dev/null 2>fz.err
    rc=$?
    # a damaged magic reads as CSV, whose errors are located "FILE:ROW:COL: error"
    if [ $rc -ne 0 ] && { [ $rc -ne 1 ] || ! grep -qE "^$f(:[0-9]+:[0-9]+)?: error: " fz.err; }; then bad="$bad $f:$rc"; fi
done
if [ -z "$bad" ]; then pass "npy: $(ls fz_*.npy | wc -l) fuzzed files give a located error or load, never crash${SA:+ (ASan+UBSan)}"
else fail "npy: fuzzed files" "crashed or unlocated:$bad"; fi

echo "runtime: $npass passed, $nfail failed"
[ $nfail -eq 0 ]
