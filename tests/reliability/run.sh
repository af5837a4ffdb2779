#!/usr/bin/env bash
# tests/reliability/run.sh — what an unlucky operator does to nnc (issue 17):
# signals at random points (each interrupted run resumes bit for bit to
# the weights of an unbroken one), kill -9 to nnc and during writes, a full
# disk, two runs at once on the same files, the reproductions of the
# defects the runtime fixed (non-finite or another model's weights, IDX,
# gzipped CSV, .npy headers), and a sample of models of every layer kind
# trained under AddressSanitizer and UndefinedBehaviorSanitizer.
# One "PASS: name" or "FAIL: name: why" per check. RELIABILITY_SEED fixes
# the random signal times (default: a new draw each run, printed).
set -u
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
NNC=$ROOT/nnc
PY=/usr/bin/python3
W=$(mktemp -d)
export TMPDIR=$W/tmp        # nnc's build directories: each check looks that none is left
mkdir -p "$TMPDIR"
trap 'mountpoint -q "$W/full" 2>/dev/null && umount "$W/full"; rm -rf "$W"' EXIT
pass() { echo "PASS: reliability/$1"; }
fail() { echo "FAIL: reliability/$1: $2"; }
# same NAME GOT WANT
same() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
# has NAME FILE TEXT: the file holds the text
has() { if grep -qF -- "$3" "$2"; then pass "$1"; else fail "$1" "no '$3' in: $(head -c 400 "$2")"; fi; }
seed=${RELIABILITY_SEED:-$(date +%s)}
echo "signal times drawn with RELIABILITY_SEED=$seed"
RANDOM=$seed
# a time in seconds from $1 to $2 tenths
draw() { local t=$(($1 + RANDOM % ($2 - $1 + 1))); echo "$((t / 10)).$((t % 10))"; }
builds_left() { ls "$TMPDIR" | grep -c '^nnc-'; }
cd "$W" || exit 1
cp -r "$ROOT/examples/data" .
cp "$ROOT/examples/digits.nn" .

# ---- signals at random points, then --resume: bit for bit the unbroken run
# The signal comes at a random moment of the training, measured on the
# reference run (its time from the program's start to its end), or while
# nnc compiles; a run that ends before its signal is drawn again.
E=1500
training() { pgrep -f "$TMPDIR/nnc-.*/prog train" >/dev/null; }
# until the program trains (60 s at most); 1 if it never did
wait_training() {
    local i
    for i in $(seq 1 600); do training && return 0; kill -0 "$1" 2>/dev/null || return 1; sleep 0.1; done
    return 1
}
"$NNC" train digits.nn --epochs $E --quiet --seed 2 --save ref2.st >/dev/null 2>ref.err ||
    fail "reference run (seed 2)" "$(head -c 300 ref.err)"
"$NNC" train digits.nn --epochs $E --quiet --seed 1 --save ref1.st >/dev/null 2>ref.err &
ref=$!
wait_training $ref
t0=$(date +%s%N)
wait $ref || fail "reference run" "$(head -c 300 ref.err)"
train_ms=$((($(date +%s%N) - t0) / 1000000))
echo "(the reference run trains for $train_ms ms)"
# a moment from 5% to 70% of the training, in seconds
moment() { local ms=$((train_ms * (5 + RANDOM % 66) / 100)); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }

# interrupt NAME SIGNAL WHO WANT_RC [compiling]: run, signal during the
# training (or 0.1-0.4 s after the start, "compiling"), then check the exit
# status, the message, the build directory and the processes, and that
# --resume (when a checkpoint was saved) ends equal to ref1.st.
interrupt() {
    local name=$1 sig=$2 who=$3 want=$4 when=${5:-training} rc pid ck t try
    for try in 1 2 3; do
        rm -f digits.interrupted*.safetensors out.st
        setsid "$NNC" train digits.nn --epochs $E --quiet --seed 1 --save out.st >/dev/null 2>sig.err &
        pid=$!
        if [ "$when" = compiling ]; then t=0.$((RANDOM % 4 + 1)); else wait_training $pid; t=$(moment); fi
        sleep "$t"
        if [ "$who" = group ]; then kill -"$sig" -- -"$pid"; else kill -"$sig" "$pid"; fi
        wait "$pid"
        rc=$?
        [ $rc = 0 ] || break    # else it finished before the signal: draw again
    done
    sleep 0.3
    same "$name: exit status (signal ${t}s into the $when)" "$rc" "$want"
    same "$name: no build directory left" "$(builds_left)" 0
    same "$name: no training program left" "$(pgrep -f "$TMPDIR/nnc-" | wc -l)" 0
    ck=$(sed -n 's/.*saved the training state to \(.*\)$/\1/p' sig.err)
    if [ -z "$ck" ]; then
        # early enough to stop nnc while it compiled: nothing to resume, nothing left behind
        if grep -q 'interrupted' sig.err; then fail "$name" "interrupted without a checkpoint: $(head -c 300 sig.err)"
        elif [ "$when" = compiling ]; then pass "$name: stopped before training; nothing to resume"
        else fail "$name" "no checkpoint: $(head -c 300 sig.err)"; fi
        return
    fi
    [ "$who" != nnc9 ] && has "$name: says how to resume" sig.err "--resume $ck"
    "$NNC" train digits.nn --epochs $E --quiet --seed 1 --save out.st --resume "$ck" >/dev/null 2>res.err
    if cmp -s out.st ref1.st; then pass "$name: the resumed run equals the unbroken one, bit for bit"
    else fail "$name: the resumed run equals the unbroken one" "$(head -c 300 res.err)"; fi
}
interrupt "SIGTERM to the process group" TERM group 143
interrupt "SIGTERM to nnc alone (passed on)" TERM nnc 143
interrupt "SIGINT to nnc alone (passed on)" INT nnc 130
interrupt "SIGHUP to the process group" HUP group 129
interrupt "kill -9 to nnc: the program stops and saves" KILL nnc9 137
interrupt "SIGTERM while compiling" TERM group 143 compiling

# ---- left behind by kill -9: the next run cleans what a dead process left
sleep 0 & dead=$!
wait $dead
mkdir -p "$TMPDIR/nnc-$dead-AbCdEf" "$TMPDIR/nnc-$$-GhIjKl"
touch "$TMPDIR/nnc-$dead-AbCdEf/model.c" "$TMPDIR/nnc-$dead-AbCdEf/prog"
echo junk >w.st.tmp.$dead.XyZ123
echo junk >w.st.tmp.$$.XyZ123
"$NNC" train digits.nn --epochs 1 --quiet --save w.st >/dev/null 2>stale.err
same "a dead nnc's build directory is removed by the next run" "$(ls "$TMPDIR")" "nnc-$$-GhIjKl"
same "a dead writer's temporary is removed by the next writer, a live one's kept" "$(ls w.st*)" "w.st
w.st.tmp.$$.XyZ123"
rm -rf "$TMPDIR/nnc-$$-GhIjKl" w.st.tmp.$$.XyZ123

# ---- kill -9 during writes: a wide model saving 1 MB every epoch
sed 's/dense(32, activation = relu, name = "fc1")/dense(4096, activation = relu, name = "fc1")/; s/dense(16, activation = relu, name = "fc2")/dense(16, activation = relu, name = "fc2")\n  callbacks(model_checkpoint(path = "ck.safetensors"))/' \
    digits.nn >wide.nn
"$NNC" train wide.nn --epochs 1 --quiet >/dev/null 2>wide.err || fail "kill -9 during writes: setup" "$(head -c 300 wide.err)"
NNC_KEEP=1 "$NNC" train wide.nn --epochs 1 --quiet >/dev/null 2>&1   # the program, to kill without nnc between
prog=$(ls -d "$TMPDIR"/nnc-*/prog | head -1)
bad=0 stale=0
for i in $(seq 1 12); do
    "$prog" train --epochs 1000 --quiet >/dev/null 2>&1 &
    p=$!
    sleep "$(draw 3 15)"
    kill -9 $p
    wait $p 2>/dev/null
    if [ -e ck.safetensors ] && ! $PY - ck.safetensors <<'PYEOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
end = max(v["data_offsets"][1] for k, v in h.items() if k != "__metadata__")
sys.exit(0 if len(b) == 8 + n + end else 1)
PYEOF
    then bad=$((bad + 1)); fi
    stale=$((stale + $(ls | grep -c '^ck.safetensors.tmp')))
done
rm -rf "$(dirname "$prog")"
same "kill -9 during writes (12 times): never a partial file under the final name" $bad 0
echo "(kill -9 left $stale temporaries over 12 kills)"
"$NNC" train wide.nn --epochs 1 --quiet >/dev/null 2>wide.err
same "kill -9 during writes: the next run removes the temporaries the killed ones left" \
    "$(ls | grep -c '^ck.safetensors.tmp')" 0

# ---- a full disk: a clear error, the previous file intact, no temporary
# A 64 KB tmpfs where we may mount one (root); else a file-size limit
# (ulimit -f: writes fail with EFBIG once SIGXFSZ is ignored) on the program.
"$NNC" train digits.nn --epochs 2 --quiet --save good.st >/dev/null 2>&1
mkdir -p full
if mount -t tmpfs -o size=64k tmpfs full 2>/dev/null; then
    how="a 64 KB tmpfs"
    cp good.st full/w.st
    head -c 100000 /dev/zero >full/filler 2>/dev/null    # fills it
    "$NNC" train digits.nn --epochs 2 --quiet --seed 7 --save full/w.st >/dev/null 2>full.err
    rc=$?
    same "full disk ($how): exit 1" $rc 1
    has "full disk ($how): the error says why" full.err "full/w.st: error: cannot write: No space left on device"
    if cmp -s good.st full/w.st; then pass "full disk ($how): the previous file is intact"
    else fail "full disk ($how): the previous file is intact" "it changed"; fi
    same "full disk ($how): no temporary left" "$(ls full | grep -c tmp)" 0
    umount full
else
    how="ulimit -f"
    NNC_KEEP=1 "$NNC" train wide.nn --epochs 1 --quiet --save big.st >/dev/null 2>&1
    prog=$(ls -d "$TMPDIR"/nnc-*/prog | head -1)
    cp big.st keep.st
    (trap '' XFSZ; ulimit -f 512; "$prog" train --epochs 1 --quiet --seed 7 --save big.st >/dev/null 2>full.err)
    same "full disk ($how): exit 1" $? 1
    has "full disk ($how): the error says why" full.err "big.st: error: cannot write: File too large"
    if cmp -s keep.st big.st; then pass "full disk ($how): the previous file is intact"
    else fail "full disk ($how): the previous file is intact" "it changed"; fi
    same "full disk ($how): no temporary left" "$(ls | grep -c '^big.st.tmp')" 0
    rm -rf "$(dirname "$prog")"
fi
echo "(the full disk was $how)"

# ---- two runs at once
# the same --save: both finish, the file is one run's, whole, never a mix
for trial in 1 2; do
    "$NNC" train digits.nn --epochs $E --quiet --seed 1 --save both.st >/dev/null 2>c1.err &
    a=$!
    "$NNC" train digits.nn --epochs $E --quiet --seed 2 --save both.st >/dev/null 2>c2.err &
    b=$!
    wait $a; ra=$?
    wait $b; rb=$?
    same "two runs, one --save (trial $trial): both finish" "$ra $rb" "0 0"
    if cmp -s both.st ref1.st || cmp -s both.st ref2.st; then pass "two runs, one --save (trial $trial): the file is one run's whole"
    else fail "two runs, one --save (trial $trial): the file is one run's whole" "it is neither"; fi
done
same "two runs, one --save: no temporary left" "$(ls | grep -c '^both.st.tmp')" 0
# both interrupted at once: two checkpoints, each resumes to its own run
rm -f digits.interrupted*.safetensors
# (the shell between ignores the SIGTERM, so that waiting for it waits for both)
setsid bash -c "trap '' TERM; '$NNC' train digits.nn --epochs $E --quiet --seed 1 --save c1.st 2>c1.err & '$NNC' train digits.nn --epochs $E --quiet --seed 2 --save c2.st 2>c2.err & wait" >/dev/null &
g=$!
for i in $(seq 1 600); do     # until both are training (60 s at most), then a random moment
    [ "$(pgrep -f "$TMPDIR/nnc-.*/prog train" | wc -l)" = 2 ] && break
    sleep 0.1
done
sleep "$(moment)"
kill -TERM -- -$g
wait $g
k1=$(sed -n 's/.*saved the training state to \(.*\)$/\1/p' c1.err)
k2=$(sed -n 's/.*saved the training state to \(.*\)$/\1/p' c2.err)
if [ -n "$k1" ] && [ -n "$k2" ] && [ "$k1" != "$k2" ]; then
    pass "two runs interrupted at once: two checkpoints ($k1, $k2)"
    "$NNC" train digits.nn --epochs $E --quiet --seed 1 --save c1.st --resume "$k1" >/dev/null 2>&1
    "$NNC" train digits.nn --epochs $E --quiet --seed 2 --save c2.st --resume "$k2" >/dev/null 2>&1
    if cmp -s c1.st ref1.st && cmp -s c2.st ref2.st; then pass "two runs interrupted at once: each resumes to its own unbroken run"
    else fail "two runs interrupted at once: each resumes to its own unbroken run" "weights differ"; fi
else
    fail "two runs interrupted at once: two checkpoints" "got '$k1' and '$k2': $(head -c 200 c1.err) / $(head -c 200 c2.err)"
fi
same "no build directory left after all of the above" "$(builds_left)" 0

# ---- weights: non-finite values and another model's file are refused
cp "$ROOT/examples/xor.nn" . && cp data/xor.csv .
"$NNC" train xor.nn --quiet --save xor.st >/dev/null
$PY - <<'PYEOF'
import json, struct
b = open("xor.st", "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
def write(path, head, body):
    hs = json.dumps(head).encode()
    hs += b" " * (-len(hs) % 8)
    open(path, "wb").write(struct.pack("<Q", len(hs)) + hs + body)
d = bytearray(b[8 + n:])
o = h["hidden.weight"]["data_offsets"][0]
d[o + 4:o + 8] = struct.pack("<f", float("nan"))
write("nan.st", h, bytes(d))
h["__metadata__"]["nnc.model"] = "digits"
write("other.st", h, b[8 + n:])
PYEOF
for how in "eval xor.nn --weights" "predict xor.nn --data xor.csv --weights" "train xor.nn --epochs 1 --init"; do
    "$NNC" $how nan.st >/dev/null 2>w.err
    same "NaN weights refused by nnc ${how%% *}: exit" $? 1
    has "NaN weights refused by nnc ${how%% *}: names the tensor and index" w.err \
        "nan.st: error: cannot load: tensor 'hidden.weight' holds nan at index 1"
    "$NNC" $how other.st >/dev/null 2>w.err
    has "another model's weights refused by nnc ${how%% *}" w.err \
        "other.st: error: these are the weights of model 'digits' (metadata nnc.model), not of model 'xor'"
done
"$NNC" xor.nn --inference --weights other.st -o inf.c 2>w.err
has "another model's weights refused by nnc --inference" w.err "not of model 'xor'"
# a diverging run: exit 1, the last good file kept
cat >div.nn <<'NN'
model div {
  input [2]
  dense(4, activation = relu)
  dense(1)
  loss mse
  optimizer sgd(learning_rate = 1e30)
  fit(epochs = 20, batch_size = 4, shuffle = false, seed = 1)
  data(train = "xor.csv")
}
NN
cp xor.st div.st     # any earlier file: it must stay as it is
cp xor.st good_div.st
"$NNC" train div.nn --quiet --save div.st >/dev/null 2>div.err
same "a diverging run: exit 1" $? 1
has "a diverging run: says which tensor is not finite" div.err "div.st: error: not saved, the file is left as it was: tensor"
if cmp -s good_div.st div.st; then pass "a diverging run: the last good file is kept"; else fail "a diverging run: the last good file is kept" "changed"; fi
# a checkpoint holding NaN is not resumed
"$NNC" train xor.nn --quiet --save p.st --stop-after-batches 3 >/dev/null 2>&1
$PY - <<'PYEOF'
import json, struct
b = bytearray(open("xor.interrupted.safetensors", "rb").read())
n = struct.unpack("<Q", b[:8])[0]
o = json.loads(b[8:8 + n])["optimizer.out.weight.exp_avg"]["data_offsets"][0]
b[8 + n + o:8 + n + o + 4] = struct.pack("<f", float("inf"))
open("xor.interrupted.safetensors", "wb").write(b)
PYEOF
"$NNC" train xor.nn --quiet --save p.st --resume xor.interrupted.safetensors >/dev/null 2>w.err
has "a checkpoint holding Inf is not resumed" w.err \
    "xor.interrupted.safetensors: error: cannot resume: tensor 'optimizer.out.weight.exp_avg' holds inf at index 0"

# ---- data files
# a gzipped CSV is read as the plain one
gzip -c data/xor.csv >xor.csv.gz
"$NNC" eval xor.nn --weights xor.st --data xor.csv >plain.out 2>&1
"$NNC" eval xor.nn --weights xor.st --data xor.csv.gz >gz.out 2>&1
if [ -s plain.out ] && cmp -s plain.out gz.out; then pass "a gzipped CSV reads as the plain one"
else fail "a gzipped CSV reads as the plain one" "$(head -c 300 gz.out)"; fi
head -c 30 xor.csv.gz >cut.csv.gz
"$NNC" eval xor.nn --weights xor.st --data cut.csv.gz >/dev/null 2>w.err
has "a cut gzipped CSV is a clear error" w.err "cut.csv.gz: error: offset 30: the gzip data is damaged: unexpected end of file"
# a damaged IDX header is an IDX error, not a CSV one
printf '\x00\x00\x07\x00\x00\x00\x00\x05' >bad.idx
"$NNC" eval xor.nn --weights xor.st --data bad.idx >/dev/null 2>w.err
has "an IDX header of type 0x07, 0 dimensions: an IDX error" w.err "bad.idx: error: offset 0: bad IDX magic 00 00 07 00"
# IDX images whose labels the model names, given under another path
$PY - <<'PYEOF'
import struct
open("img.idx", "wb").write(bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes([0, 255]))
open("lab.idx", "wb").write(bytes([0, 0, 8, 1]) + struct.pack(">I", 2) + bytes([0, 1]))
PYEOF
cat >idxm.nn <<'NN'
model idxm {
  input [1]
  dense(2)
  loss sparse_categorical_crossentropy(from_logits = true)
  optimizer sgd
  fit(epochs = 1, batch_size = 2)
  data(train = "img.idx", train_labels = "lab.idx")
}
NN
"$NNC" train idxm.nn --data ./img.idx --quiet >/dev/null 2>w.err
same "IDX: --data ./img.idx finds the labels data() names for img.idx" "$?:$(head -c 200 w.err)" "0:"
"$NNC" train idxm.nn --data "$W/img.idx" --quiet >/dev/null 2>&1
same "IDX: the same file by its absolute path too" $? 0
cp img.idx other.idx
"$NNC" train idxm.nn --data other.idx --quiet >/dev/null 2>w.err
has "IDX: images without labels: the error does not claim the images file is missing" w.err \
    "other.idx: error: no labels for these images: the model's data() names none for this file"
# a .npy header with junk after the dict
$PY - <<'PYEOF'
import numpy as np, struct
h = b"{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), } junk"
h += b" " * (-(10 + len(h) + 1) % 64) + b"\n"
open("junk.npy", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + np.zeros(12, "<f4").tobytes())
PYEOF
"$NNC" eval xor.nn --weights xor.st --data junk.npy >/dev/null 2>w.err
has ".npy header with trailing junk: refused at its offset" w.err \
    "junk.npy: error: offset 70: the .npy header is not a dict of 'descr', 'fortran_order' and 'shape' followed by spaces (at 'junk"

# ---- generated code under ASan and UBSan: a model of every layer kind,
# trained for a few steps (with the final evaluation), then predicting from its saved weights
export CC=clang NNC_CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
export ASAN_OPTIONS=detect_leaks=0
for m in conv_odd_strides conv1d_pool1d seq_embedding_gru seq_one_to_many conv_global_max norm_dropout \
         rnn_simple_relu conv1d_global_avg maxout_adam conv_wide_groups norm_layer_norm norm_bn_conv \
         act_hard_standalone; do
    nn=$ROOT/tests/torch/models/$m.nn
    "$NNC" "$nn" --emit=json >$m.json 2>san.err &&
        $PY "$ROOT/tests/torch/gen_data.py" $m.json $m.csv --samples 12 2>>san.err &&
        "$NNC" train "$nn" --data $m.csv --epochs 2 --quiet --save $m.st >/dev/null 2>>san.err &&
        "$NNC" predict "$nn" --weights $m.st --data $m.csv >/dev/null 2>>san.err
    rc=$?
    if [ $rc = 0 ] && ! grep -q "runtime error\|AddressSanitizer" san.err; then pass "ASan+UBSan: $m trains and predicts clean"
    else fail "ASan+UBSan: $m" "exit $rc: $(grep -m1 -E 'runtime error|ERROR' san.err || head -c 300 san.err)"; fi
done
unset CC NNC_CFLAGS
