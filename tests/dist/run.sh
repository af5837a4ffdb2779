#!/usr/bin/env bash
# tests/dist/run.sh — training on several processes under Open MPI
# (nnc train --processes N, runtime/dist.c). Two processes on the same
# global batch end with the weights one process ends with, to 1e-5
# relative, for a dense, a convolutional and a batch-norm model (unequal
# shards, a process with no sample in the last batch, three processes on
# two cores); --per-process-batch equals one process on the larger batch;
# the epoch lines (metrics summed over the processes) are the same; files
# are written once; Ctrl-C saves one checkpoint and resuming equals an
# unbroken run; a killed process stops the run with a clear error and an
# intact checkpoint; the program runs under a plain mpirun line; an nnc
# without the MPI runtime says so. One "PASS: name" or "FAIL: name: why".
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export TMPDIR=$T    # nnc's build directories, so that pgrep finds only this suite's programs
npass=0 nfail=0
pass() { echo "PASS: dist/$1"; npass=$((npass + 1)); }
fail() { echo "FAIL: dist/$1: $2"; nfail=$((nfail + 1)); }
MPIRUN="mpirun --oversubscribe"
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"

# close NAME A.safetensors B.safetensors: every tensor within 1e-5 relative
# to its largest value
close() {
    local why
    if why=$($PY - "$2" "$3" <<'EOF' 2>&1
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: np.frombuffer(b[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]], dtype=np.float32)
            for k, v in h.items() if k != '__metadata__'}
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a.keys() == b.keys(), 'different tensors'
worst = max((float(np.abs(a[k] - b[k]).max() / max(np.abs(a[k]).max(), 1e-30)), k) for k in a)
print('%.3g in %s' % worst)
sys.exit(worst[0] > 1e-5)
EOF
    ); then pass "$1 ($why)"; else fail "$1" "${why:-no weights}"; fi
}

# train NAME MODEL OUT.safetensors ARGS...: nnc train, quiet, saving OUT
train() {
    local name=$1 model=$2 out=$3
    shift 3
    if ! "$ROOT/nnc" train "tests/dist/$model.nn" --quiet --save "$T/$out" "$@" >"$T/out" 2>"$T/err"; then
        fail "$name" "nnc train exited $?: $(tail -n 3 "$T/err")"
        return 1
    fi
}

# 1 against 2 processes on the same global batch
for m in dense conv norm; do
    train "$m: one process" $m $m.1.st && train "$m: two processes" $m $m.2.st --processes 2 &&
        close "$m: two processes end with one process's weights" "$T/$m.1.st" "$T/$m.2.st"
done
# norm at batch 479: the last batch holds 1 of the 1438 rows, so the second
# process has none and joins the batch-norm sums without adding to them
train "norm: batch 479" norm n479.1.st --batch-size 479 --epochs 3 &&
    train "norm: batch 479, two processes" norm n479.2.st --batch-size 479 --epochs 3 --processes 2 &&
    close "norm: a process without samples in the last batch" "$T/n479.1.st" "$T/n479.2.st"
train "norm: three processes on two cores" norm norm.3.st --processes 3 &&
    close "norm: three processes (10 + 10 + 10 of 30, oversubscribed)" "$T/norm.1.st" "$T/norm.3.st"
# Horovod's and DDP's semantics: batch_size per process
train "dense: batch 50" dense d50.st --batch-size 50 &&
    train "dense: --per-process-batch" dense dpp.st --batch-size 25 --per-process-batch --processes 2 &&
    close "dense: --per-process-batch 25 on 2 processes equals batch 50 on one" "$T/d50.st" "$T/dpp.st"

# the epoch lines: training loss and validation metrics summed over the
# processes, the same as one process's to the 4 digits printed
ep() { "$ROOT/nnc" train tests/dist/dense.nn "$@" 2>&1 | sed 's/ - [0-9]* ms$//'; }
a=$(ep) b=$(ep --processes 2)
if [ "$a" = "$b" ] && [ "$(grep -c '^epoch .*val_precision' <<<"$a")" = 3 ]; then
    pass "dense: the same epoch lines (loss, val_ metrics) on one and two processes"
else
    fail "dense: the same epoch lines" "$(diff <(echo "$a") <(echo "$b") | head -5)"
fi

# callbacks under two processes: csv_logger written once (one row per
# epoch), model_checkpoint complete, early stopping decided once for all
cd "$T" || exit 1
sed -e "s|\"../../examples/|\"$ROOT/examples/|g" -e 's/fit(epochs = 3,/fit(epochs = 40,/' \
    -e 's/^}$/  callbacks(early_stopping(monitor = val_loss, patience = 1), model_checkpoint("ckpt.safetensors"), csv_logger("log.csv"))\n}/' \
    "$ROOT/tests/dist/dense.nn" >cb.nn
"$ROOT/nnc" train cb.nn --processes 2 --save cb2.st >cb.out 2>cb.err
stop=$(sed -n 's/^epoch \([0-9]*\): early stopping$/\1/p' cb.out)
if [ -n "$stop" ] && [ "$(wc -l <log.csv)" = $((stop + 1)) ] && [ "$(grep -c 'early stopping' cb.out)" = 1 ]; then
    pass "callbacks: early stopping in epoch $stop, said once; csv_logger has one row per epoch"
else
    fail "callbacks" "stop '$stop', $(wc -l <log.csv) log lines: $(tail -n 2 cb.err)"
fi
"$ROOT/nnc" train cb.nn --save cb1.st >cb1.out 2>&1
close "callbacks: two processes stop where one does, with its weights" cb1.st cb2.st

# Ctrl-C, as a terminal sends it to nnc's process group: one checkpoint,
# said once, exit 130; resumed on two processes it ends as an unbroken run
sed -e "s|\"../../examples/|\"$ROOT/examples/|g" -e 's/fit(epochs = 2,/fit(epochs = 100000,/' \
    "$ROOT/tests/dist/norm.nn" >long.nn
setsid "$ROOT/nnc" train long.nn --processes 2 --quiet >sig.out 2>sig.err &
pid=$!
for _ in $(seq 400); do [ "$(pgrep -f "^$T/nnc-[^ ]*/prog train" | wc -l)" = 2 ] && break; sleep 0.05; done
sleep 0.5
kill -INT -- -"$pid"
wait "$pid"
rc=$?
ep=$(sed -n 's/^interrupted in epoch \([0-9]*\) .*/\1/p' sig.err)
if [ $rc = 130 ] && [ -n "$ep" ] && [ "$(grep -c '^interrupted' sig.err)" = 1 ] && [ -f norm.interrupted.safetensors ]; then
    pass "Ctrl-C: exit 130, one checkpoint, said once (epoch $ep)"
    sed -i "s/fit(epochs = 100000,/fit(epochs = $ep,/" long.nn
    "$ROOT/nnc" train long.nn --processes 2 --quiet --save unbroken.st >/dev/null 2>&1
    "$ROOT/nnc" train long.nn --processes 2 --quiet --save resumed.st --resume norm.interrupted.safetensors \
        >/dev/null 2>res.err
    if cmp -s unbroken.st resumed.st; then pass "Ctrl-C: resumed on two processes, the weights of an unbroken run, bit for bit"
    else fail "Ctrl-C: resumed equals unbroken" "$(tail -n 2 res.err)"; fi
else
    fail "Ctrl-C" "exit $rc: $(head -c 400 sig.err)"
fi

# a process killed mid-run: the run stops with nnc's error, the checkpoint
# model_checkpoint keeps rewriting stays a complete file
sed -e 's/^}$/  callbacks(model_checkpoint("kill.safetensors", monitor = loss))\n}/' long.nn >kill.nn
sed -i "s/fit(epochs = $ep,/fit(epochs = 100000,/" kill.nn
setsid "$ROOT/nnc" train kill.nn --processes 2 --quiet >kill.out 2>kill.err &
pid=$!
for _ in $(seq 400); do [ -f kill.safetensors ] && break; sleep 0.05; done
sleep 0.5
victim=$(pgrep -n -f "^$T/nnc-[^ ]*/prog train")
[ -n "$victim" ] && kill -KILL "$victim"
for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$pid" 2>/dev/null; then
    fail "a killed process" "nnc still runs 10 s after one process died"
    kill -INT -- -"$pid"
fi
wait "$pid"
rc=$?
if [ $rc -ne 0 ] && grep -q '^nnc: error: training on 2 processes stopped: mpirun exited with status' kill.err; then
    pass "a killed process stops the run: exit $rc, $(grep -o 'exited on signal 9' kill.err | head -n 1)"
else
    fail "a killed process stops the run" "exit $rc: $(tail -n 3 kill.err)"
fi
if "$ROOT/nnc" eval kill.nn --weights kill.safetensors >kill.eval 2>&1; then
    pass "a killed process: the last checkpoint is intact ($(head -n 1 kill.eval))"
else
    fail "a killed process: the last checkpoint is intact" "$(head -n 2 kill.eval)"
fi
cd "$ROOT" || exit 1

# the program under a user's own mpirun line
if "$ROOT/nnc" train tests/dist/conv.nn --build-only "$T/conv_prog" --mpi >"$T/b.out" 2>&1 &&
    $MPIRUN -np 2 "$T/conv_prog" train --quiet --save "$T/user.st" >"$T/user.out" 2>&1; then
    close "a plain mpirun line runs the built program, with one process's weights" "$T/conv.1.st" "$T/user.st"
else
    fail "a plain mpirun line" "$(tail -n 3 "$T/b.out" "$T/user.out")"
fi

# without the MPI runtime beside it, --processes says what is missing
mkdir -p "$T/root/build"
ln -s "$ROOT/runtime" "$T/root/runtime"
ln -s "$ROOT/build/libnncrt.a" "$T/root/build/libnncrt.a"
NNC_ROOT=$T/root "$ROOT/nnc" train tests/dist/dense.nn --processes 2 >/dev/null 2>"$T/nompi"
if [ $? = 1 ] && grep -q "this nnc was built without MPI" "$T/nompi"; then
    pass "without MPI: --processes says that this nnc was built without it"
else
    fail "without MPI" "$(cat "$T/nompi")"
fi
if NNC_ROOT=$T/root "$ROOT/nnc" train tests/dist/dense.nn --quiet --save "$T/nompi.st" >/dev/null 2>&1; then
    close "without MPI: one process trains as before" "$T/dense.1.st" "$T/nompi.st"
else
    fail "without MPI: one process trains as before" "nnc train failed"
fi

echo "dist: $npass passed, $nfail failed"
[ $nfail -eq 0 ]
