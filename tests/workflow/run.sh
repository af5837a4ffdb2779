#!/usr/bin/env bash
# tests/workflow/run.sh — the callbacks and the progress line. A scripted
# model (curve_model.c) whose validation loss follows a given curve checks
# early stopping, restore_best_weights, model_checkpoint and csv_logger
# against epochs worked out by hand; a real model file checks the same
# through `nnc train` and the generated glue; `script` (a pseudo-terminal)
# checks the progress line. One "PASS: name" or "FAIL: name: why" per check.
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
CC=${CC:-cc}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
npass=0 nfail=0
pass() { echo "PASS: workflow/$1"; npass=$((npass + 1)); }
fail() { echo "FAIL: workflow/$1: $2"; nfail=$((nfail + 1)); }
# same NAME GOT WANT
same() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

P=$T/curve
if ! $CC -std=c99 -Wall -Wextra -pedantic -Werror -D_POSIX_C_SOURCE=200809L -I"$ROOT/runtime" \
        tests/workflow/curve_model.c runtime/rng.c runtime/data.c runtime/safetensors.c runtime/metrics.c \
        runtime/driver.c -o "$P" -lz -lm 2>"$T/build.err"; then
    fail build "$(head -c 600 "$T/build.err")"
    echo "workflow: $npass passed, $nfail failed"; exit 1
fi
for i in 1 2 3 4 5 6 7 8 9 10; do echo "0,0"; done >"$T/d.csv"
cd "$T" || exit 1

# The validation loss per epoch; dyadic so the CSV rows print exactly.
export CURVE=1,0.75,0.875,0.5,0.5625,0.625,0.4375,0.375,0.3125,0.25
run() { "$P" train --data d.csv --save final.st "$@" >out.txt 2>err.txt; }
epochs() { grep -c '^epoch [0-9]*/' out.txt; }
# the parameter w counts epochs: the weights of epoch N hold N
weight() { "$P" predict --weights "$1" --data <(echo 0) | sed -n 2p; }

# Keras: wait += 1; an improvement (v + min_delta < best) resets it; stop
# when wait >= patience after the first epoch.
ES_PATIENCE=0 run;               same "early_stopping patience 0 stops at epoch 3" "$(epochs)" 3
ES_PATIENCE=2 run;               same "early_stopping patience 2 stops at epoch 6" "$(epochs)" 6
grep -q '^epoch 6: early stopping$' out.txt && pass "early_stopping says so" || fail "early_stopping says so" "$(cat out.txt)"
ES_PATIENCE=3 run;               same "early_stopping patience 3 never stops" "$(epochs)" 10
ES_PATIENCE=3 ES_DELTA=0.1 run;  same "early_stopping min_delta 0.1 stops at epoch 7" "$(epochs)" 7
ES_PATIENCE=1 ES_MODE=max run;   same "early_stopping mode max stops at epoch 2" "$(epochs)" 2
ES_PATIENCE=0 ES_MONITOR=loss run; same "early_stopping on loss (2 - curve) stops at epoch 2" "$(epochs)" 2
ES_PATIENCE=2 run;               same "without restore_best_weights the last epoch's weights stay" "$(weight final.st)" 6

# restore_best_weights: the saved weights are the best epoch's checkpoint, byte for byte
rm -f ck_*.safetensors
ES_PATIENCE=3 ES_DELTA=0.1 ES_RESTORE=1 CKPT='ck_{epoch}.safetensors' run
same "restore_best_weights: stopped at epoch 7" "$(epochs)" 7
same "restore_best_weights: weights of epoch 4" "$(weight final.st)" 4
if cmp -s final.st ck_4.safetensors; then pass "restore_best_weights equals the epoch 4 checkpoint"
else fail "restore_best_weights equals the epoch 4 checkpoint" "files differ"; fi
same "model_checkpoint writes every epoch" "$(ls ck_*.safetensors | sort -V | tr '\n' ' ')" \
    "ck_1.safetensors ck_2.safetensors ck_3.safetensors ck_4.safetensors ck_5.safetensors ck_6.safetensors ck_7.safetensors "
same "model_checkpoint leaves no temporary file" "$(ls | grep -c tmp)" 0
grep -q 'restoring model weights from the end of the best epoch: 4 (val_loss: 0.5000)' out.txt \
    && pass "restore_best_weights says so" || fail "restore_best_weights says so" "$(cat out.txt)"
# nnc restores at the end even without an early stop (see docs/CATALOG.md)
CURVE=1,0.5,0.75,0.875 ES_PATIENCE=100 ES_RESTORE=1 run
same "restore_best_weights without an early stop" "$(epochs) $(weight final.st)" "4 2"

# save_best_only: a file only for the epochs that improve val_loss
rm -f ck_*.safetensors
CKPT='ck_{epoch:02d}.safetensors' CKPT_BEST=1 run
same "model_checkpoint save_best_only" "$(ls ck_*.safetensors | tr '\n' ' ')" \
    "ck_01.safetensors ck_02.safetensors ck_04.safetensors ck_07.safetensors ck_08.safetensors ck_09.safetensors ck_10.safetensors "
CKPT=best.safetensors CKPT_BEST=1 CURVE=1,0.5,0.75,0.875 run
same "model_checkpoint save_best_only keeps the best epoch" "$(weight best.safetensors)" 2
CKPT=rmse.safetensors CKPT_BEST=1 CKPT_MONITOR=rmse CURVE=1,0.5,0.75,0.875 run
same "model_checkpoint on rmse (the epoch: best is the first)" "$(weight rmse.safetensors)" 1

# csv_logger: the rows Keras' CSVLogger would hold, epochs from 1
CSV=h.csv ES_PATIENCE=2 run
want="epoch,loss,rmse,val_loss,val_rmse
1,1,1,1,1
2,1.25,2,0.75,2
3,1.125,3,0.875,3
4,1.5,4,0.5,4
5,1.4375,5,0.5625,5
6,1.375,6,0.625,6"
same "csv_logger rows" "$(cat h.csv)" "$want"
CSV=h.csv "$P" train --data d.csv --quiet >out.txt 2>&1
same "csv_logger under --quiet" "$(wc -l <h.csv) $(cat out.txt)" "11 validation loss: 0.2500 - rmse: 10.0000"
CSV=nodir/h.csv run
same "csv_logger unwritable" "$(cat err.txt)" "nodir/h.csv: error: cannot write: No such file or directory"

# The same through nnc train and the generated glue, on a real network:
# the stopping epoch and the restored weights follow from the logged curve.
mkdir -p m && cd m || exit 1
if "$ROOT/nnc" train "$ROOT/tests/workflow/models/xor_callbacks.nn" --save final.st >out.txt 2>err.txt; then
    read -r stop best < <(/usr/bin/python3 - history.csv 3 <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
patience, best, wait, best_epoch, stop = int(sys.argv[2]), float("inf"), 0, 0, 0
for i, r in enumerate(rows, 1):
    v = float(r["val_loss"]); wait += 1
    if v < best: best, best_epoch, wait = v, i, 0
    elif wait >= patience and i > 1: stop = i; break
print(stop, best_epoch)
PY
)
    n=$(($(wc -l <history.csv) - 1))
    if [ "$stop" -gt 0 ] && [ "$stop" -eq "$n" ]; then pass "nnc train: early stop at epoch $stop, as the logged curve says"
    else fail "nnc train: early stop" "stopped after $n epochs, the curve says ${stop}"; fi
    if cmp -s final.st "ck_$best.safetensors"; then pass "nnc train: restored weights equal checkpoint $best"
    else fail "nnc train: restored weights" "final.st differs from ck_$best.safetensors"; fi
    same "nnc train: one checkpoint per epoch" "$(ls ck_*.safetensors | wc -l)" "$n"
    # the progress line on a terminal: redrawn in place with \r
    if command -v script >/dev/null; then
        script -qec "$ROOT/nnc train $ROOT/tests/workflow/models/xor_callbacks.nn" /dev/null >tty.txt 2>&1
        if grep -q $'\repoch 1/200 - 1/1 \\[' tty.txt && grep -q $'\repoch 1/200 - loss: ' tty.txt; then
            pass "progress line on a terminal"
        else fail "progress line on a terminal" "$(head -c 300 tty.txt | od -c | head)"; fi
        if grep -q $'\r' out.txt; then fail "no progress line when not a terminal" "found \\r"
        else pass "no progress line when not a terminal"; fi
    fi
else
    fail "nnc train with callbacks" "$(head -c 600 err.txt)"
fi

echo "workflow: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
