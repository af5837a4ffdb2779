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
        runtime/driver.c runtime/report.c runtime/npy.c runtime/dist_serial.c -o "$P" -lz -lm 2>"$T/build.err"; then
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

# reduce_lr_on_plateau, Keras' rules: a cooldown epoch resets the wait; an
# improvement (v < best - min_delta) resets it; else, outside the cooldown,
# wait += 1 and at wait >= patience the rate becomes max(rate * factor,
# min_lr) if it is above min_lr, the cooldown starts and wait is 0.
# The curve: 1 .75 .875 .5 .5625 .625 .4375 .375 .3125 .25; the rate 0.5.
reductions() { sed -n 's/^epoch \([0-9]*\): reduce_lr_on_plateau reducing learning rate to \(.*\)$/\1:\2/p' out.txt | tr '\n' ' '; }
RLR_PATIENCE=1 RLR_FACTOR=0.5 run
same "reduce_lr_on_plateau patience 1 reduces at epochs 3, 5, 6" "$(reductions)" "3:0.25 5:0.125 6:0.0625 "
RLR_PATIENCE=2 RLR_FACTOR=0.5 run
same "reduce_lr_on_plateau patience 2 reduces at epoch 6" "$(reductions)" "6:0.25 "
RLR_PATIENCE=1 RLR_FACTOR=0.5 RLR_COOLDOWN=1 run
same "reduce_lr_on_plateau cooldown 1: the wait restarts after it" "$(reductions)" "3:0.25 5:0.125 6:0.0625 "
RLR_PATIENCE=1 RLR_FACTOR=0.5 RLR_COOLDOWN=2 run
same "reduce_lr_on_plateau cooldown 2 skips epoch 6" "$(reductions)" "3:0.25 5:0.125 "
RLR_PATIENCE=1 RLR_FACTOR=0.5 RLR_MIN_LR=0.2 run
same "reduce_lr_on_plateau min_lr 0.2: clamped, then no more" "$(reductions)" "3:0.25 5:0.2 "
RLR_PATIENCE=1 RLR_FACTOR=0.5 RLR_DELTA=0.2 run
same "reduce_lr_on_plateau min_delta 0.2" "$(reductions)" \
    "3:0.25 5:0.125 6:0.0625 7:0.03125 8:0.015625 9:0.0078125 "
RLR_PATIENCE=1 RLR_FACTOR=0.5 CSV=h.csv run
same "reduce_lr_on_plateau: csv_logger gains the rate of each epoch, before its reduction" \
    "$(cut -d, -f1,6 h.csv | tr '\n' ' ')" "epoch,lr 1,0.5 2,0.5 3,0.5 4,0.25 5,0.25 6,0.125 7,0.0625 8,0.0625 9,0.0625 10,0.0625 "
grep -q '^epoch 4/10 - .* - lr: 0.250000 - ' out.txt && pass "reduce_lr_on_plateau: the epoch line shows the new rate" \
    || fail "reduce_lr_on_plateau: the epoch line shows the new rate" "$(sed -n 5p out.txt)"

# Any metric of metrics(...) can be monitored, val_ or not, in the right
# direction: mae, mse and rmse fall (auto = min), the others rise. Here
# mae = w = the epoch, rising, and mse = w^2.
METRICS=mse,mae ES_MONITOR=val_mae ES_PATIENCE=2 run
same "early_stopping on val_mae (auto: min) stops at epoch 3" "$(epochs)" 3
METRICS=mse,mae ES_MONITOR=val_mae ES_PATIENCE=2 ES_MODE=max run
same "early_stopping on val_mae, mode max, never stops" "$(epochs)" 10
METRICS=mse,mae ES_MONITOR=mse ES_PATIENCE=1 ES_RESTORE=1 run
same "early_stopping on mse restores epoch 1" "$(epochs) $(weight final.st)" "2 1"
grep -q 'restoring model weights from the end of the best epoch: 1 (mse: 1.0000)' out.txt \
    && pass "early_stopping names the metric it monitors" || fail "early_stopping names the metric it monitors" "$(cat out.txt)"
METRICS=mse,mae RLR_MONITOR=val_mae RLR_PATIENCE=2 RLR_FACTOR=0.5 run
same "reduce_lr_on_plateau on val_mae" "$(reductions)" "3:0.25 5:0.125 7:0.0625 9:0.03125 "
rm -f ck_*.safetensors
METRICS=mae CKPT='ck_{epoch}.safetensors' CKPT_BEST=1 CKPT_MONITOR=val_mae run
same "model_checkpoint save_best_only on val_mae keeps epoch 1 only" "$(ls ck_*.safetensors | tr '\n' ' ')" "ck_1.safetensors "

# fit(validation_data): the file's rows are the validation data (all ten
# rows here, instead of the split's last two)
VAL_DATA=d.csv CSV=h.csv run
same "validation_data: every training row trains, the file validates" \
    "$(sed -n 2p h.csv) $(tail -1 out.txt)" "1,1,1,1,1 validation loss: 0.2500 - rmse: 10.0000"
VAL_DATA=d.csv "$P" train --data d.csv --validation-data d.csv >out.txt 2>err.txt
same "--validation-data with the descriptor's validation_data" "$?" 0
"$P" train --data d.csv --validation-data d.csv >out.txt 2>err.txt
same "--validation-data and validation_split exclude each other" "$?: $(head -1 err.txt)" \
    "2: curve: error: --validation-data and the model's validation_split 0.2 exclude each other"
VAL_DATA=missing.csv run
same "validation_data: a missing file" "$(cat err.txt)" "missing.csv: error: cannot open: No such file or directory"

# --verbose: what the data is, then a line per batch with its loss, the
# running mean, the rate and the time
run --verbose
same "--verbose: a data line, then one line per batch and one per epoch" \
    "$(head -1 out.txt) | $(grep -c '^epoch [0-9]*/10 - batch 1/1 - 8 samples - loss: [0-9.]* - mean loss: [0-9.]* - lr: 0.500000 - [0-9.]* ms$' out.txt)" \
    "data: 8 training samples, 2 validation (validation_split), 0 test; 1 batch of up to 64 per epoch; preprocess none | 10"
"$P" train --data d.csv --quiet --verbose >out.txt 2>err.txt
same "--quiet --verbose is refused" "$?" 2

# eval's confusion matrix and per-class precision/recall on a constructed
# case: a linear model with identity weights predicts the largest input.
cd "$ROOT" || exit 1
FAKE="tests/runtime/fake_model.c runtime/rng.c runtime/data.c runtime/safetensors.c runtime/metrics.c runtime/driver.c runtime/report.c runtime/npy.c runtime/dist_serial.c"
FLAGS="-std=c99 -Wall -Wextra -pedantic -Werror -Iruntime"
if $CC $FLAGS -DTASK=NNC_SPARSE -DN_IN=3 $FAKE -o "$T/sparse" -lz -lm && \
   $CC $FLAGS -DTASK=NNC_HINGE -DN_IN=1 $FAKE -o "$T/hinge" -lz -lm; then
    cd "$T" || exit 1
    /usr/bin/python3 "$ROOT/tests/workflow/write_st.py" id.st fc.weight=1,0,0,0,1,0,0,0,1:3x3 fc.bias=0,0,0:3
    printf '%s\n' 1,0,0,0 1,0,0,0 0,1,0,0 0,1,0,1 0,0,1,1 1,0,0,2 0,0,1,2 0,0,1,2 >cls.csv
    "$T/sparse" eval --weights id.st --data cls.csv >out.txt 2>&1
    want="confusion matrix (rows: true class, columns: predicted class):
          0     1     2
    0     2     1     0
    1     0     1     1
    2     1     0     2
class  precision  recall  support
    0     0.6667  0.6667        3
    1     0.5000  0.5000        2
    2     0.6667  0.6667        3"
    same "eval: confusion matrix and per-class precision/recall" "$(sed 1d out.txt)" "$want"
    same "eval: accuracy agrees with the matrix" "$(head -1 out.txt | sed 's/.* - //')" "accuracy: 0.6250"
    /usr/bin/python3 "$ROOT/tests/workflow/write_st.py" one.st fc.weight=1:1x1 fc.bias=0:1
    printf '%s\n' 1,1 2,1 -1,1 -1,-1 -2,0 3,0 >sign.csv
    "$T/hinge" eval --weights one.st --data sign.csv >out.txt 2>&1
    want="confusion matrix (rows: true class, columns: predicted class):
         -1     1
   -1     2     1
    1     1     2
class  precision  recall  support
   -1     0.6667  0.6667        3
    1     0.6667  0.6667        3"
    same "eval: hinge classes are -1 and 1" "$(sed 1d out.txt)" "$want"
    # auc with tied scores (they count half) and precision/recall on logits
    # thresholded at 0: the logit is the input, so scikit-learn sees it too
    if $CC $FLAGS -DTASK=NNC_BINARY -DN_IN=1 -DWITH_METRICS $ROOT/$(echo $FAKE | sed "s| | $ROOT/|g") \
            -I"$ROOT/runtime" -o "$T/binm" -lz -lm; then
        /usr/bin/python3 "$ROOT/tests/workflow/write_st.py" one.st fc.weight=1:1x1 fc.bias=0:1
        printf '%s\n' 1,1 1,0 0,1 0,0 -1,0 -1,1 2,1 -2,0 0.5,0 0.5,0 0.5,1 -0.5,1 >tie.csv
        got=$("$T/binm" eval --weights one.st --data tie.csv | head -1 | sed 's/^loss: [^ ]* - //; s/: /=/g; s/ - / /g')
        res=$(/usr/bin/python3 - $got <<'PY'
import sys
import numpy as np
from sklearn import metrics as skm
d = np.loadtxt("tie.csv", delimiter=",")
x, y = d[:, 0], d[:, 1].astype(int)
want = {"auc": skm.roc_auc_score(y, x), "precision": skm.precision_score(y, x > 0),
        "recall": skm.recall_score(y, x > 0)}
print(" ".join(k for k, v in (a.split("=") for a in sys.argv[1:]) if abs(float(v) - want[k]) > 5e-5))
PY
)
        same "eval: auc with ties, precision and recall on logits agree with scikit-learn" "$res" ""
    else
        fail "build fake binary with metrics" "compiler error"
    fi
    cd "$ROOT" || exit 1
else
    fail "build fake models" "compiler error"
fi
cd "$T" || exit 1

# metrics(...) through nnc train and the generated glue, checked against
# scikit-learn on the predictions of the saved weights: eval's line (all
# rows) and the last epoch's validation columns in the csv_logger file
# (the last quarter of the rows, as validation_split = 0.25 holds out).
mkdir -p met && cd met || exit 1
/usr/bin/python3 - <<'PY'
import numpy as np
r = np.random.default_rng(7); x = r.normal(size=(200, 4))
yb = ((x[:, 0] + 0.5 * x[:, 1] + r.normal(scale=0.8, size=200)) > 0).astype(int)
ys = np.clip(np.floor((x[:, 0] + x[:, 2]) * 1.2 + 3 + r.normal(scale=0.7, size=200)), 0, 5).astype(int)
yr = np.stack([x[:, 0] * 2 + x[:, 1], np.sin(x[:, 2])], 1)
for name, y in (("binary", yb), ("sparse", ys), ("regression", yr)):
    np.savetxt(name + ".csv", np.column_stack([x, y]), delimiter=",", fmt="%.6g")
PY
# Train a metrics model, then check eval's metrics on the training data and
# the last epoch's val_ metrics (from csv_logger) against scikit-learn.
#   check_model NAME MODEL.nn SKLEARN_KIND ("binary", "sparse:6", ...) WORDING
check_model() {
    local kind=$1 nn=$2 sk=$3 over=$4
    if ! "$ROOT/nnc" train "$nn" --data $kind.csv --save w.st >train.txt 2>err.txt; then
        fail "metrics $kind: train" "$(head -c 600 err.txt)"; return 1
    fi
    "$ROOT/nnc" eval "$nn" --weights w.st --data $kind.csv >eval.txt 2>&1
    "$ROOT/nnc" predict "$nn" --weights w.st --data $kind.csv --out pred.csv 2>&1
    tail -n 50 $kind.csv >val.csv
    "$ROOT/nnc" predict "$nn" --weights w.st --data val.csv --out vpred.csv 2>&1
    # "loss: 0.5 - accuracy: 0.7 - auc: 0.8" -> accuracy=0.7 auc=0.8
    local got res vals
    got=$(head -1 eval.txt | sed 's/^loss: [^ ]* - //; s/: /=/g; s/ - / /g')
    res=$(/usr/bin/python3 "$ROOT/tests/workflow/check_metrics.py" $sk $kind.csv pred.csv 0 $got)
    same "metrics $kind: eval agrees with scikit-learn$over ($(echo $got | sed 's/=[^ ]*//g'))" \
        "$(echo "$res" | grep -v '^ok')" ""
    # the last csv_logger row's val_ columns, full precision
    vals=$(/usr/bin/python3 -c '
import csv, sys
rows = list(csv.DictReader(open("history.csv")))
print(" ".join("%s=%s" % (k[4:], v) for k, v in rows[-1].items() if k.startswith("val_") and k != "val_loss"))')
    res=$(/usr/bin/python3 "$ROOT/tests/workflow/check_metrics.py" $sk $kind.csv vpred.csv 150 $vals)
    same "metrics $kind: the epoch's val_ metrics agree with scikit-learn$over" "$(echo "$res" | grep -v '^ok')" ""
    same "metrics $kind: every metric checked" "$(echo "$res" | wc -l)" "$(echo $got | wc -w)"
    return 0
}
for kind in binary sparse regression; do
    check_model $kind "$ROOT/tests/workflow/models/metrics_${kind/regression/reg}.nn" $kind ""
done
# the same with a class at every one of 6 steps: every step scores as a sample
/usr/bin/python3 - <<'PY'
import numpy as np
r = np.random.default_rng(11); x = r.normal(size=(200, 6, 2))
prev = np.concatenate([np.zeros((200, 1)), x[:, :-1, 1]], 1)
yb = ((x[:, :, 0] + 0.7 * prev + r.normal(scale=0.8, size=(200, 6))) > 0).astype(int)
ys = np.clip(np.floor(x[:, :, 0] + prev + 2 + r.normal(scale=0.7, size=(200, 6))), 0, 3).astype(int)
for name, y in (("steps_bin", yb), ("steps_sp", ys)):
    np.savetxt(name + ".csv", np.column_stack([x.reshape(200, -1), y]), delimiter=",", fmt="%.6g")
PY
for kind in steps_bin steps_sp; do
    check_model $kind "$ROOT/tests/workflow/models/metrics_$kind.nn" \
        "$([ $kind = steps_bin ] && echo binary:6 || echo sparse:6)" " over all steps" || continue
    same "metrics $kind: the confusion matrix counts every step" \
        "$(awk '/^class  precision/ { on = 1; next } on { s += $4 } END { print s }' eval.txt)" 1200
done
grep -q '^epoch 3/3 - loss: [0-9.]* - accuracy: [0-9.]* - binary_accuracy: [0-9.]* - precision: [0-9.]* - recall: [0-9.]* - auc: [0-9.]* - val_loss: [0-9.]* - val_accuracy: [0-9.]* - val_binary_accuracy: [0-9.]* - val_precision: [0-9.]* - val_recall: [0-9.]* - val_auc: ' \
    <(cd "$T/met" && "$ROOT/nnc" train "$ROOT/tests/workflow/models/metrics_binary.nn" --data binary.csv) \
    && pass "metrics: the epoch line lists them in order, then val_" || fail "metrics: the epoch line" "$(cat train.txt)"
cd "$T" || exit 1

# Interrupting and resuming: a run stopped after batch N (the hidden flag
# --stop-after-batches, deterministic) and resumed ends with the same
# weights, byte for byte, as an unbroken run; N covers the first batch, the
# middle of an epoch, an epoch's last (short) batch, and a later epoch.
cd "$T/met" || exit 1
R=$ROOT/tests/workflow/models/resume.nn
"$ROOT/nnc" train "$R" --data sparse.csv --save full.st >full.txt 2>&1 && cp history.csv full.csv
for n in 1 4 10 23; do
    rm -f resume.interrupted.safetensors part.st
    "$ROOT/nnc" train "$R" --data sparse.csv --save part.st --stop-after-batches $n >p1.txt 2>p1.err
    rc=$?
    "$ROOT/nnc" train "$R" --data sparse.csv --save part.st --resume resume.interrupted.safetensors >p2.txt 2>&1
    if [ $rc -eq 130 ] && cmp -s full.st part.st; then pass "resume after batch $n: weights equal an unbroken run's"
    else fail "resume after batch $n" "exit $rc; $(head -c 300 p1.err) $(head -c 300 p2.txt)"; fi
    same "resume after batch $n: the epoch lines and history equal" \
        "$(cat p1.txt p2.txt | sed 's/ - [0-9]* ms$//'; cat history.csv)" "$(sed 's/ - [0-9]* ms$//' full.txt; cat full.csv)"
done
# with dropout and batch norm: the same masks and running statistics
RN=$ROOT/tests/workflow/models/resume_norm.nn
"$ROOT/nnc" train "$RN" --data sparse.csv --save nfull.st >nfull.txt 2>&1
for n in 3 8 19; do
    rm -f resume_norm.interrupted.safetensors npart.st
    "$ROOT/nnc" train "$RN" --data sparse.csv --save npart.st --stop-after-batches $n >/dev/null 2>&1
    rc=$?
    "$ROOT/nnc" train "$RN" --data sparse.csv --save npart.st --resume resume_norm.interrupted.safetensors >n2.txt 2>&1
    if [ $rc -eq 130 ] && cmp -s nfull.st npart.st; then pass "resume with dropout and batch norm after batch $n: weights equal"
    else fail "resume with dropout and batch norm after batch $n" "exit $rc; $(head -c 300 n2.txt)"; fi
done
# with callbacks: early stopping's patience, restore_best_weights' copy and
# the checkpoints' best value go on where they stopped
X=$ROOT/tests/workflow/models/xor_callbacks.nn
"$ROOT/nnc" train "$X" --save xfull.st >xfull.txt 2>&1
for n in 2 3; do
    rm -f xor_cb.interrupted.safetensors xpart.st
    "$ROOT/nnc" train "$X" --save xpart.st --stop-after-batches $n >x1.txt 2>/dev/null
    rc=$?
    "$ROOT/nnc" train "$X" --save xpart.st --resume xor_cb.interrupted.safetensors >x2.txt 2>&1
    if [ $rc -eq 130 ] && cmp -s xfull.st xpart.st; then pass "resume with callbacks after batch $n: the restored best weights equal"
    else fail "resume with callbacks after batch $n" "$(tail -3 x2.txt)"; fi
    same "resume with callbacks after batch $n: stops at the same epoch" \
        "$(cat x1.txt x2.txt | sed 's/ - [0-9]* ms$//')" "$(sed 's/ - [0-9]* ms$//' xfull.txt)"
done
same "interrupt: says where, what was saved and how to resume" "$(cat p1.err)" \
"interrupted in epoch 3 after 48 of 150 samples; saved the training state to resume.interrupted.safetensors
resume with: nnc train $R --data sparse.csv --save part.st --resume resume.interrupted.safetensors"
/usr/bin/python3 - >st.txt <<'PY'
import json, struct
b = open("resume.interrupted.safetensors", "rb").read()
h = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])
m = h.pop("__metadata__")
print(" ".join(sorted(k for k in h if k.startswith("optimizer."))[:3]), m["nnc.epoch"], m["nnc.samples_done"], m["nnc.step"])
PY
same "the checkpoint names the optimizer state and the position" "$(cat st.txt)" \
    "optimizer.dense.bias.exp_avg optimizer.dense.bias.exp_avg_sq optimizer.dense.weight.exp_avg 3 48 23"
head -n 100 sparse.csv >short.csv
"$ROOT/nnc" train "$R" --data short.csv --resume resume.interrupted.safetensors >/dev/null 2>p2.err
same "resume with other data is refused" "$?: $(cat p2.err)" \
    "1: resume.interrupted.safetensors: error: the interrupted run trained on 150 samples, this one has 75: resume with the same data"
"$ROOT/nnc" train "$R" --data sparse.csv --resume full.st >/dev/null 2>p2.err
same "resume from plain weights is refused" "$?: $(cat p2.err)" \
    "1: full.st: error: not a checkpoint of an interrupted run (no nnc.checkpoint metadata)"
# a real SIGINT, sent to nnc's process group as a terminal's Ctrl-C is,
# in the middle of a long run: exit 130, and resuming for as many epochs
# as an unbroken run ends with the same weights
if command -v setsid >/dev/null; then
    rm -f resume.interrupted.safetensors
    setsid "$ROOT/nnc" train "$R" --data sparse.csv --epochs 100000 --quiet >sig.txt 2>sig.err &
    pid=$!
    # wait for the training program (nnc first runs the C compiler)
    for _ in $(seq 200); do [ -n "$(pgrep -P $pid -f '/prog train')" ] && break; sleep 0.05; done
    sleep 0.3
    kill -INT -- -$pid
    wait $pid
    rc=$?
    ep=$(sed -n 's/^interrupted in epoch \([0-9]*\) .*/\1/p' sig.err)
    if [ $rc -eq 130 ] && [ -n "$ep" ] && [ -f resume.interrupted.safetensors ]; then
        pass "SIGINT: exit 130 after saving a checkpoint"
        "$ROOT/nnc" train "$R" --data sparse.csv --epochs $ep --save a.st --quiet >/dev/null 2>&1
        "$ROOT/nnc" train "$R" --data sparse.csv --epochs $ep --save b.st --quiet \
            --resume resume.interrupted.safetensors >/dev/null 2>&1
        if cmp -s a.st b.st; then pass "SIGINT: the resumed run equals an unbroken one"
        else fail "SIGINT: the resumed run equals an unbroken one" "weights differ"; fi
    else
        fail "SIGINT" "exit $rc: $(head -c 300 sig.err)"
    fi
fi
cd "$T" || exit 1

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

# ---- flow: the same features through nnc train on real networks ----
cd "$T/met" || exit 1
# fit(validation_data) on the split's rows equals validation_split, bit for bit
sed 's/validation_split = 0.25/validation_data = "val.csv"/' "$ROOT/tests/workflow/models/metrics_sparse.nn" >valdata.nn
head -n 150 sparse.csv >first150.csv
tail -n 50 sparse.csv >val.csv
"$ROOT/nnc" train "$ROOT/tests/workflow/models/metrics_sparse.nn" --data sparse.csv --save split.st >split.txt 2>&1 \
    && cp history.csv split.csv
"$ROOT/nnc" train valdata.nn --data first150.csv --save vd.st >vd.txt 2>&1
if cmp -s split.st vd.st && cmp -s split.csv history.csv; then
    pass "validation_data: the same rows as validation_split give the same weights and history"
else fail "validation_data equals validation_split" "$(head -c 400 vd.txt)"; fi
"$ROOT/nnc" train "$ROOT/tests/workflow/models/metrics_sparse.nn" --data first150.csv --validation-data val.csv \
    >/dev/null 2>err.txt
same "--validation-data with a validation_split in the model is refused" "$?" 2

# early stopping on val_auc: a maximum (auto), the stop where the logged curve says
sed 's/callbacks(csv_logger("history.csv"))/callbacks(csv_logger("history.csv"), early_stopping(monitor = val_auc, patience = 2, min_delta = 0.002))/' \
    "$ROOT/tests/workflow/models/metrics_binary.nn" >auc.nn
if "$ROOT/nnc" train auc.nn --data binary.csv --epochs 60 >auc.txt 2>err.txt; then
    want=$(/usr/bin/python3 - <<'PY'
import csv
rows = list(csv.DictReader(open("history.csv")))
best, wait, stop = -float("inf"), 0, 0
for i, r in enumerate(rows, 1):
    v = float(r["val_auc"]); wait += 1
    if v - 0.002 > best: best, wait = v, 0
    elif wait >= 2 and i > 1: stop = i; break
print(stop, len(rows))
PY
)
    same "early_stopping on val_auc (auto: max) stops where the logged curve says" "$want" "$(wc -l <history.csv | awk '{print $1 - 1, $1 - 1}')"
else fail "early_stopping on val_auc" "$(head -c 400 err.txt)"; fi

# reduce_lr_on_plateau through the generated rate: the logged lr halves
# exactly when the rule says, and an interrupted run resumes bit for bit
sed 's/callbacks(csv_logger("history.csv"))/callbacks(csv_logger("history.csv"), reduce_lr_on_plateau(monitor = loss, factor = 0.5, patience = 0, min_delta = 0.2))/; s/exponential_decay(0.01, decay_steps = 7, decay_rate = 0.9)/0.01/; s/^model resume/model rlr/' \
    "$ROOT/tests/workflow/models/resume.nn" >rlr.nn
"$ROOT/nnc" train rlr.nn --data sparse.csv --epochs 6 --save rfull.st >rfull.txt 2>&1 && cp history.csv rfull.csv
res=$(/usr/bin/python3 - <<'PY'
import csv
rows = list(csv.DictReader(open("rfull.csv")))
best, lr, bad = float("inf"), 0.01, []
for i, r in enumerate(rows, 1):
    if abs(float(r["lr"]) - lr) > 1e-9: bad.append("epoch %d lr %s want %g" % (i, r["lr"], lr))
    v = float(r["loss"])
    if v < best - 0.2: best = v
    else: lr *= 0.5
print(" ".join(bad) or "ok %d" % sum(float(r["lr"]) < 0.0099 for r in rows))
PY
)
case $res in ok\ [1-9]*) pass "reduce_lr_on_plateau in generated code: the rate follows Keras' rule ($res epochs reduced)";;
             *) fail "reduce_lr_on_plateau in generated code" "$res";; esac
for n in 20 33 45; do
    rm -f rlr.interrupted.safetensors
    "$ROOT/nnc" train rlr.nn --data sparse.csv --epochs 6 --save rpart.st --stop-after-batches $n >r1.txt 2>/dev/null
    rc=$?
    "$ROOT/nnc" train rlr.nn --data sparse.csv --epochs 6 --save rpart.st --resume rlr.interrupted.safetensors >r2.txt 2>&1
    if [ $rc -eq 130 ] && cmp -s rfull.st rpart.st && cmp -s rfull.csv history.csv; then
        pass "reduce_lr_on_plateau: resumed after batch $n, weights and history equal an unbroken run's"
    else fail "reduce_lr_on_plateau resume after batch $n" "exit $rc; $(tail -2 r2.txt)"; fi
done

# cross_validate(k): fold f is a plain run on the other rows, validated on
# its own, from seed + f; then mean +- population std over the folds
sed 's/validation_split = 0.25/seed = 3/; s/, seed = 3, seed = 3/, seed = 3/; s/callbacks(csv_logger("history.csv"))/cross_validate(4)/' \
    "$ROOT/tests/workflow/models/metrics_sparse.nn" >cv.nn
if "$ROOT/nnc" train cv.nn --data sparse.csv >cv.txt 2>err.txt; then
    same "cross_validate: one line per fold, then the summary" \
        "$(grep -c "^fold [1-4]/4 - 150 training, 50 validation samples - val_loss: " cv.txt) $(tail -1 cv.txt | cut -d: -f1,2)" \
        "4 cross-validation (4 folds): val_loss"
    ok=1
    for f in 0 1 2 3; do
        { head -n $((f * 50)) sparse.csv; tail -n +$((f * 50 + 51)) sparse.csv; } >tr$f.csv
        sed -n "$((f * 50 + 1)),$((f * 50 + 50))p" sparse.csv >va$f.csv
        got=$(sed -n "s/^fold $((f + 1))\/4 - 150 training, 50 validation samples - //p" cv.txt)
        want=$("$ROOT/nnc" train cv.nn --data tr$f.csv --validation-data va$f.csv --seed $((3 + f)) --cross-validate 0 \
               --quiet | sed 's/^validation loss/val_loss/; s/ - \([a-z_]*\): / - val_\1: /g')
        [ "$got" = "$want" ] || { ok=0; fail "cross_validate fold $((f + 1))" "got '$got', want '$want'"; }
    done
    [ $ok = 1 ] && pass "cross_validate: each fold equals a plain run on its split with seed + fold"
    res=$(/usr/bin/python3 - <<'PY'
import re, numpy as np
lines = open("cv.txt").read().splitlines()
folds = [dict(re.findall(r"(val_\w+): ([0-9.]+)", l)) for l in lines if l.startswith("fold ")]
summary = dict((k, (float(m), float(s))) for k, m, s in re.findall(r"(val_\w+): ([0-9.]+) \+- ([0-9.]+)", lines[-1]))
bad = [k for k in folds[0] if abs(np.mean([float(f[k]) for f in folds]) - summary[k][0]) > 1e-4
       or abs(np.std([float(f[k]) for f in folds]) - summary[k][1]) > 1e-4]
print(" ".join(bad) if bad or len(summary) != 5 else "ok")
PY
)
    same "cross_validate: mean and std over the folds (numpy's)" "$res" ok
else fail "cross_validate" "$(head -c 400 err.txt)"; fi
# data(format = npy) with train_labels through nnc train: the same run as the CSV's
/usr/bin/python3 -c '
import numpy as np
d = np.loadtxt("sparse.csv", delimiter=",")
np.save("sx.npy", d[:, :4].astype(np.float32)); np.save("sy.npy", d[:, 4].astype(np.int64))'
sed 's/callbacks(csv_logger("history.csv"))/data(train = "sx.npy", train_labels = "sy.npy", format = npy)/' \
    "$ROOT/tests/workflow/models/metrics_sparse.nn" >npy.nn
"$ROOT/nnc" train npy.nn --save npy.st >npy.txt 2>&1
"$ROOT/nnc" train "$ROOT/tests/workflow/models/metrics_sparse.nn" --data sparse.csv --save csv.st >csv.txt 2>&1
if cmp -s npy.st csv.st; then pass "data(format = npy): .npy inputs and labels train exactly as the CSV"
else fail "data(format = npy)" "$(head -c 300 npy.txt)"; fi
"$ROOT/nnc" train npy.nn --data sparse.csv >/dev/null 2>err.txt
same "data(format = npy) refuses a CSV file" "$?: $(cat err.txt)" \
    "1: sparse.csv: error: data(format = npy), but the file does not start as NumPy .npy files do"
tr , ';' <sparse.csv >semi.csv
"$ROOT/nnc" train "$ROOT/tests/workflow/models/metrics_sparse.nn" --data semi.csv >/dev/null 2>err.txt
same "a semicolon-separated CSV gets a hint" "$?: $(cat err.txt)" \
    "1: semi.csv:1:2: error: column 2: row has 1 field, expected 5 (4 inputs + 1 target)
  = hint: the row is separated by semicolons; nnc reads comma-separated values"
# .npy samples with axes of their own must have the model's input axes: a
# channels-last (N, 4, 4, 3) file has the size of input [3, 4, 4] but not its pixels
/usr/bin/python3 -c '
import numpy as np
r = np.random.default_rng(0)
x = r.random((8, 3, 4, 4), dtype=np.float32)
np.save("img.npy", x); np.save("img_hwc.npy", x.transpose(0, 2, 3, 1)); np.save("img_flat.npy", x.reshape(8, -1))
np.save("imgy.npy", np.arange(8) % 2)'
cat >img.nn <<'EOF'
model img {
  input [3, 4, 4]
  conv2d(2, 3)
  flatten
  dense(2)
  loss sparse_categorical_crossentropy(from_logits = true)
  optimizer adam
  fit(epochs = 1, batch_size = 4)
  data(train = "img.npy", train_labels = "imgy.npy")
}
EOF
"$ROOT/nnc" train img.nn >/dev/null 2>err.txt
same ".npy with the model's sample axes trains" "$?: $(cat err.txt)" "0: "
sed s/img.npy/img_flat.npy/ img.nn >img_flat.nn
"$ROOT/nnc" train img_flat.nn >/dev/null 2>err.txt
same ".npy of flat samples trains" "$?: $(cat err.txt)" "0: "
sed s/img.npy/img_hwc.npy/ img.nn >img_hwc.nn
"$ROOT/nnc" train img_hwc.nn >/dev/null 2>err.txt
same ".npy channels last for a channels-first model is refused" "$?: $(cat err.txt)" \
    "1: ./img_hwc.npy: error: offset 0: shape (8, 4, 4, 3): each sample is [4, 4, 3], but the model's input is [3, 4, 4]
  = hint: the file is channels last [H, W, C] and the model channels first [C, H, W]: transpose it, np.transpose(x, (0, 3, 1, 2))"
"$ROOT/nnc" train cv.nn --data sparse.csv --save cv.st >/dev/null 2>err.txt
same "cross_validate refuses --save" "$?: $(cat err.txt)" \
    "1: error: cross_validate(4) trains 4 models from fresh weights and keeps none: --save does not apply (--cross-validate 0 trains one model)"
"$ROOT/nnc" train cv.nn --data sparse.csv --cross-validate 1 >/dev/null 2>err.txt
same "--cross-validate 1 is refused" "$?" 2
head -n 3 sparse.csv >three.csv
"$ROOT/nnc" train cv.nn --data three.csv >/dev/null 2>err.txt
same "cross_validate with fewer samples than folds" "$?: $(cat err.txt)" \
    "1: three.csv: error: cross_validate(4) needs at least 4 samples, the file has 3"
cd "$T" || exit 1

# fit(class_weight): the first batch's loss at the initial weights is Keras'
# sum_i w[y_i] loss_i / batch size, as PyTorch computes it with
# reduction='none' (PyTorch's weight= with its 'mean' divides by the sum of
# the weights instead, a different number)
cd "$T/met" || exit 1
CW=$ROOT/tests/torch/models/class_weight_sce.nn
/usr/bin/python3 - <<'PY'
import numpy as np
r = np.random.default_rng(3)
x = r.normal(size=(40, 13)); y = r.integers(0, 3, size=40)
np.savetxt("cw.csv", np.column_stack([x, y]), delimiter=",", fmt="%.6g")
PY
"$ROOT/nnc" train "$CW" --data cw.csv --epochs 1 --seed 9 --save cw_init.st --verbose --stop-after-batches 1 >cw.txt 2>/dev/null
"$ROOT/nnc" train "$CW" --data cw.csv --epochs 0 --seed 9 --save cw_init.st --quiet >/dev/null 2>&1
res=$(/usr/bin/python3 - "$(sed -n 's/^epoch 1\/1 - batch 1\/3 - 16 samples - loss: \([0-9.]*\) .*/\1/p' cw.txt)" <<'PY'
import json, struct, sys
import numpy as np, torch
import torch.nn.functional as F
b = open("cw_init.st", "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
t = {k: torch.from_numpy(np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]],
     dtype=np.float32).reshape(v["shape"]).copy()) for k, v in h.items() if k != "__metadata__"}
d = np.loadtxt("cw.csv", delimiter=",")[:16]
x, y = torch.tensor(d[:, :13], dtype=torch.float32), torch.tensor(d[:, 13]).long()
z = torch.tanh(x @ t["fc1.weight"].T + t["fc1.bias"]) @ t["fc2.weight"].T + t["fc2.bias"]
w = torch.tensor([1.0, 3.0, 0.25])
keras = (w[y] * F.cross_entropy(z, y, reduction="none")).sum() / len(y)
torch_mean = F.cross_entropy(z, y, weight=w)
got = float(sys.argv[1])
print("ok" if abs(got - keras) < 1e-4 and abs(got - torch_mean) > 1e-3 else "got %s keras %.4f torch %.4f" % (got, keras, torch_mean))
PY
)
same "class_weight: the reported loss is Keras' weighted sum over the batch size, checked with PyTorch" "$res" ok
"$ROOT/nnc" train "$CW" --data cw.csv --epochs 2 --save cw.st --quiet >/dev/null 2>&1
sed 's/, class_weight = \[1.0, 3.0, 0.25\]//' "$CW" >nocw.nn
"$ROOT/nnc" train nocw.nn --data cw.csv --epochs 2 --save nocw.st --quiet >/dev/null 2>&1
if [ -s cw.st ] && ! cmp -s cw.st nocw.st; then pass "class_weight changes the training"; else fail "class_weight changes the training" "same weights"; fi
cd "$T" || exit 1

# --report DIR, looked at as a person would: headless Chromium renders the
# page; its DOM must hold one chart per logged quantity whose curves have a
# point per epoch, the best epoch and the early stop marked, the confusion
# matrix and the summary, and nothing loaded from outside the file.
mkdir -p rep && cd rep || exit 1
if ! command -v chromium >/dev/null; then
    fail "report: chromium" "not installed (tools/install-deps.sh installs it); the report was not checked"
elif "$ROOT/nnc" train "$ROOT/tests/workflow/models/xor_callbacks.nn" --report out >train.txt 2>err.txt; then
    timeout 120 chromium --headless --no-sandbox --disable-gpu --dump-dom "file://$PWD/out/report.html" \
        >dom.html 2>chromium.err
    res=$(/usr/bin/python3 - <<'PY'
import csv, re
from html.parser import HTMLParser
rows = list(csv.DictReader(open("out/history.csv")))
n = len(rows)
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.el = []
    def handle_starttag(s, tag, a):
        s.el.append((tag, dict(a)))
p = P(); p.feed(open("dom.html").read())
bad = []
charts = [a.get("data-quantity") for t, a in p.el if t == "figure" and "chart" in a.get("class", "")]
if charts != ["loss", "accuracy"]: bad.append("charts %s" % charts)  # a constant rate gets none
curves = [(a["class"], a["data-column"], len(a["points"].split())) for t, a in p.el if t == "polyline"]
want = [("curve train", "loss", n), ("curve val", "val_loss", n), ("curve train", "accuracy", n),
        ("curve val", "val_accuracy", n)]
if curves != want: bad.append("curves %s, want %s" % (curves, want))
dots = sum(1 for t, a in p.el if t == "circle")
if dots != 4 * n: bad.append("%d dots, want %d" % (dots, 4 * n))
text = open("dom.html").read()
stop = int(re.search(r"epoch (\d+): early stopping", open("train.txt").read()).group(1))
best = int(re.search(r"best epoch: (\d+)", open("train.txt").read()).group(1))
if stop != n: bad.append("stopped at %d of %d rows" % (stop, n))
if text.count("early stop at epoch %d<" % stop) != 2: bad.append("early stop marks")
if text.count("best epoch %d<" % best) != 2: bad.append("best epoch marks")
cells = sum(1 for t, a in p.el if t == "rect" and a.get("class") == "cell")
if cells != 4: bad.append("%d confusion cells" % cells)
if 'Model: "xor_cb"' not in text or "Total params: 17" not in text: bad.append("summary")
for ext in ("<script", "<link", "<img", "src=", "href=", "url(", "@import", "@font-face"):
    if ext in text: bad.append("external: " + ext)
print(" ".join(bad) or "ok %d" % n)
PY
)
    case $res in ok\ *) pass "report: rendered by chromium, curves with a point per epoch (${res#ok } epochs), marks, heat map, summary, nothing external";;
                 *) fail "report: rendered DOM" "$res $(head -c 300 chromium.err)";; esac
    timeout 120 chromium --headless --no-sandbox --disable-gpu --window-size=1200,900 \
        --screenshot="$PWD/shot.png" "file://$PWD/out/report.html" >/dev/null 2>&1
    /usr/bin/python3 - <<'PY' && pass "report: the screenshot is a picture with the curves' colours" || fail "report: screenshot" "see shot.png"
import struct, sys, zlib
b = open("shot.png", "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
w, h, depth, ctype = struct.unpack(">IIBB", b[16:26])
data, i = b"", 8
while i < len(b):
    n, = struct.unpack(">I", b[i:i + 4]); t = b[i + 4:i + 8]
    if t == b"IDAT": data += b[i + 8:i + 8 + n]
    i += 12 + n
raw = zlib.decompress(data); bpp = {2: 3, 6: 4}[ctype]; stride = w * bpp + 1
# undo the PNG filters, count pixels of the train (#1f77b4) and val (#ff7f0e) colours
prev, seen = bytearray(w * bpp), {(31, 119, 180): 0, (255, 127, 14): 0}
for y in range(h):
    f, line = raw[y * stride], bytearray(raw[y * stride + 1:(y + 1) * stride])
    for x in range(len(line)):
        a = line[x - bpp] if x >= bpp else 0; up = prev[x]; c = prev[x - bpp] if x >= bpp else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + up) & 255
        elif f == 3: line[x] = (line[x] + (a + up) // 2) & 255
        elif f == 4:
            p = a + up - c; pa, pb, pc = abs(p - a), abs(p - up), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else up if pb <= pc else c)) & 255
    for x in range(0, len(line), bpp):
        k = tuple(line[x:x + 3])
        if k in seen: seen[k] += 1
    prev = line
sys.exit(0 if all(v > 50 for v in seen.values()) else 1)
PY
else
    fail "report: nnc train --report" "$(head -c 400 err.txt)"
fi
"$ROOT/nnc" train "$ROOT/tests/workflow/models/xor_callbacks.nn" --report nodir/sub >/dev/null 2>err.txt
same "report: a directory that cannot be made" "$?: $(cat err.txt)" \
    "1: nodir/sub: error: cannot make the report directory: No such file or directory"
"$ROOT/nnc" trian "$ROOT/tests/workflow/models/xor_callbacks.nn" >/dev/null 2>err.txt
same "a mistyped subcommand is named, with the nearest one" "$?: $(cat err.txt)" \
    "1: nnc: error: unknown command 'trian'; did you mean 'nnc train'?"
cd "$T" || exit 1

echo "workflow: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
