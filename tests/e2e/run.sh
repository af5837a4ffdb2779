#!/bin/bash
# End-to-end checks of the example models: train each with `nnc train` as a
# user would (the model file's own fit() and data()) and hold its final line,
#   test loss: 0.0912 - accuracy: 0.9722     or     test loss: 11.4 - rmse: 3.37
# to a bar: xor 4/4, digits >= 0.95, housing below a least-squares line.
# Prints PASS:/FAIL: per example; exits 1 if any failed. NNC=path overrides ./nnc.
set -u
cd "$(dirname "$0")/../.." || exit 1
NNC=${NNC:-./nnc}
PY=/usr/bin/python3

if [ ! -x "$NNC" ]; then
    echo "FAIL: e2e: nnc not built"
    exit 1
fi

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
failed=0

# run NAME [ARGS...]: train examples/NAME.nn; sets $last to its final stdout line
run() {
    local rc=0 name=$1
    shift
    last=
    "$NNC" train "examples/$name.nn" "$@" > "$W/$name.out" 2> "$W/$name.err" || rc=$?
    set -- "$name"
    if [ $rc -ne 0 ]; then
        echo "FAIL: e2e/$1: nnc train exited $rc: $(tail -n 3 "$W/$1.err")"
        failed=$((failed + 1))
        return 1
    fi
    last=$(tail -n 1 "$W/$1.out")
}

# metric NAME: the number after "NAME: " on the final line, if any
metric() { sed -n "s/^test loss: .* - $1: \([0-9.eE+-]*\)\$/\1/p" <<< "$last"; }

# expect EXAMPLE METRIC OP BAR [WHAT]: PASS if METRIC OP BAR, numerically
expect() {
    local v
    v=$(metric "$2")
    if [ -z "$v" ]; then
        echo "FAIL: e2e/$1: no '$2' on the last line: '$last'"
        failed=$((failed + 1))
    elif awk -v v="$v" -v b="$4" "BEGIN { exit !(v $3 b) }"; then
        echo "PASS: e2e/$1: $2 $v $3 $4${5:+ ($5)}"
    else
        echo "FAIL: e2e/$1: $2 $v, want $3 $4${5:+ ($5)}"
        failed=$((failed + 1))
    fi
}

# xor: all 4 rows right (accuracy printed with 4 decimals: 1.0000)
run xor && expect xor accuracy ">=" 1
# perceptron: the perceptron rule learns AND (the file's data) and OR; its
# outputs are exactly 0 or 1, so rmse 0 is all 4 rows right
run perceptron && expect perceptron rmse "<=" 0 "AND, 4/4 right"
run perceptron --data examples/data/or.csv --test examples/data/or.csv &&
    expect perceptron rmse "<=" 0 "OR, 4/4 right"
run digits && expect digits accuracy ">=" 0.95
# every epoch line ends with the learning rate of the next step, then the time
if grep -qE '^epoch 1/[0-9]+ - loss: .* - lr: 0\.001000 - [0-9]+ ms$' "$W/digits.out"; then
    echo "PASS: e2e/digits: epoch lines show lr: 0.001000"
else
    echo "FAIL: e2e/digits: no ' - lr: 0.001000' on the first epoch line: $(head -n 1 "$W/digits.out")"
    failed=$((failed + 1))
fi
# housing: beat ordinary least squares on the same train/test split
if run housing; then
    base=$($PY tests/e2e/linreg_baseline.py examples/data/housing.csv \
        examples/data/housing_test.csv) || base=
    if [ -z "$base" ]; then
        echo "FAIL: e2e/housing: could not compute the linear baseline"
        failed=$((failed + 1))
    else
        expect housing rmse "<" "$base" "least-squares baseline"
    fi
fi

# lenet5 (Fashion-MNIST) in short: 2 epochs on the first 3000 training images,
# scored on the first 1000 test images. The subsets are written as plain
# (not gzipped) IDX files named as MNIST's, so the labels are found beside
# them. The full run (5 epochs, 60 000 images) is recorded in the README.
# sine: next-step prediction on every step of a noisy sum of sines (many to
# many); beat the naive forecast "the next value is the current one" by 30%
if run sine; then
    base=$($PY tests/e2e/last_value_baseline.py examples/data/sine_test.csv) || base=
    if [ -z "$base" ]; then
        echo "FAIL: e2e/sine: could not compute the last-value baseline"
        failed=$((failed + 1))
    else
        expect sine rmse "<" "$(awk -v b="$base" 'BEGIN { print 0.7 * b }')" "0.7 x last-value rmse $base"
    fi
fi
# tagging: a class at every step (many-to-many classification); accuracy is
# over all 500 x 12 test steps and must clearly beat always answering the
# majority class. eval's confusion matrix counts every step, and predict's
# per-step classes give eval's accuracy again.
if run tagging --save "$W/tagging.safetensors"; then
    base=$(awk -F, 'NR > 1 { for (i = 13; i <= 24; i++) { n++; ones += $i } }
                    END { m = ones > n - ones ? ones : n - ones; printf "%.4f", m / n }' examples/data/tagging_test.csv)
    expect tagging accuracy ">=" "$(awk -v b="$base" 'BEGIN { print b + 0.25 }')" "majority class $base + 0.25"
    "$NNC" eval examples/tagging.nn --weights "$W/tagging.safetensors" > "$W/tag_eval.out" 2>&1
    "$NNC" predict examples/tagging.nn --weights "$W/tagging.safetensors" \
        --data examples/data/tagging_test.csv > "$W/tag_pred.csv" 2>&1
    support=$(awk '/^class  precision/ { on = 1; next } on { s += $4 } END { print s }' "$W/tag_eval.out")
    acc=$(sed -n 's/^loss: .* - accuracy: \([0-9.]*\)$/\1/p' "$W/tag_eval.out")
    pacc=$(paste -d, "$W/tag_pred.csv" examples/data/tagging_test.csv |
           awk -F, 'NR > 1 { for (t = 1; t <= 12; t++) { n++; ok += $t == $(36 + 12 + t) } }
                    END { printf "%.4f", ok / n }')
    cols=$(awk -F, 'NR == 1 { print NF }' "$W/tag_pred.csv")
    if [ "$support" = 6000 ] && [ -n "$acc" ] && [ "$acc" = "$pacc" ] && [ "$cols" = 36 ] &&
       [ "$(head -c 14 "$W/tag_pred.csv")" = "class0,class1," ]; then
        echo "PASS: e2e/tagging: eval counts 6000 steps, predict's 12 classes per row give accuracy $pacc"
    else
        echo "FAIL: e2e/tagging: eval support $support (want 6000), eval accuracy '$acc', predict's '$pacc', $cols columns"
        failed=$((failed + 1))
    fi
fi
# a class at every step: one label per row, or a label out of range at a
# step, is refused with its row and column
head -n 2 examples/data/tagging.csv | cut -d, -f1-13 > "$W/tag_one.csv"
printf 'x0,x1,x2,x3,x4,x5,x6,x7,x8,x9,x10,x11,y0,y1,y2,y3,y4,y5,y6,y7,y8,y9,y10,y11\n' > "$W/tag_range.csv"
printf '1,2,3,4,5,6,7,8,9,0,1,2,0,0,0,0,0,0,0,0,0,0,1,2\n' >> "$W/tag_range.csv"
for c in "tag_one:tag_one.csv:1:14: error: column 14: row has 13 fields, expected 24 (12 inputs + 12 targets)" \
         "tag_one:  = note: the model's output has a class at each of its 12 steps, so each row ends with one class index per step" \
         "tag_range:tag_range.csv:2:24: error: column 24: class label '2' is not an integer in [0, 2)"; do
    f=${c%%:*} want=${c#*:}
    if "$NNC" train examples/tagging.nn --data "$W/$f.csv" > /dev/null 2> "$W/$f.err"; then
        echo "FAIL: e2e/tagging_targets: $f.csv was accepted"
        failed=$((failed + 1))
    elif grep -qF -- "$want" "$W/$f.err"; then
        echo "PASS: e2e/tagging_targets: $want"
    else
        echo "FAIL: e2e/tagging_targets: want '$want', got: $(head -n 2 "$W/$f.err")"
        failed=$((failed + 1))
    fi
done
# per-step labels from a .npy labels file [n, 12] and an IDX labels file
# [n, 12] train exactly as the CSV's (one-hot: class indices per step)
$PY - "$W" <<'PYEOF'
import sys
import numpy as np
w = sys.argv[1]
d = np.loadtxt("examples/data/tagging.csv", delimiter=",", skiprows=1)
np.save(f"{w}/tag_x.npy", d[:, :12].astype(np.int64))
np.save(f"{w}/tag_y.npy", d[:, 12:].astype(np.uint8))
for name, a in (("images-idx3", d[:, :12]), ("labels-idx1", d[:, 12:])):
    with open(f"{w}/tag-{name}-ubyte", "wb") as f:
        f.write(bytes([0, 0, 8, 2]) + len(a).to_bytes(4, "big") + (12).to_bytes(4, "big"))
        f.write(a.astype(np.uint8).tobytes())
PYEOF
for v in "csv:$PWD/examples/data/tagging.csv::" "npy:$W/tag_x.npy:$W/tag_y.npy:" \
         "idx:$W/tag-images-idx3-ubyte:$W/tag-labels-idx1-ubyte:" \
         "onehot_npy:$W/tag_x.npy:$W/tag_y.npy:categorical_crossentropy(from_logits = true)"; do
    IFS=: read -r name data labels loss <<< "$v"
    sed -e "s|data(.*|data(train = \"$data\"${labels:+, train_labels = \"$labels\"})|" \
        -e "s|^  loss .*|  loss ${loss:-sparse_categorical_crossentropy(from_logits = true)}|" \
        examples/tagging.nn > "$W/tag_$name.nn"
    "$NNC" train "$W/tag_$name.nn" --epochs 1 --quiet > "$W/tag_$name.out" 2>&1 || true
done
tag_loss=$(tail -n 1 "$W/tag_csv.out")
if [[ "$tag_loss" == "train loss: "* ]] && [ "$(tail -n 1 "$W/tag_npy.out")" = "$tag_loss" ] &&
   [ "$(tail -n 1 "$W/tag_idx.out")" = "$tag_loss" ] && [ "$(tail -n 1 "$W/tag_onehot_npy.out")" = "$tag_loss" ]; then
    echo "PASS: e2e/tagging_files: .npy and IDX per-step labels, sparse and one-hot, train as the CSV ($tag_loss)"
else
    echo "FAIL: e2e/tagging_files: csv '$tag_loss', npy '$(tail -n 1 "$W/tag_npy.out")'," \
         "idx '$(tail -n 1 "$W/tag_idx.out")', one-hot '$(tail -n 1 "$W/tag_onehot_npy.out")'"
    failed=$((failed + 1))
fi
# embedding: token ids outside [0, input_dim) are refused where they are read
printf 'model ids {\n  input [3]\n  embedding(5, 2)\n  gru(3)\n  dense(1)\n  loss mse\n  optimizer sgd\n}\n' > "$W/ids.nn"
printf 'a,b,c,y\n1,2,3,0.5\n4,5,1,0.1\n' > "$W/ids.csv"
if "$NNC" train "$W/ids.nn" --data "$W/ids.csv" > "$W/ids.out" 2> "$W/ids.err"; then
    echo "FAIL: e2e/embedding_ids: an id of 5 with input_dim 5 was accepted"
    failed=$((failed + 1))
elif grep -qF "ids.csv:3:2: error: column 2: token id '5' is not an integer in [0, 5)" "$W/ids.err"; then
    echo "PASS: e2e/embedding_ids: token id 5 refused at row 3, column 2"
else
    echo "FAIL: e2e/embedding_ids: unexpected message: $(head -n 2 "$W/ids.err")"
    failed=$((failed + 1))
fi

FM=/usr/share/datasets/fashion-mnist
if [ -f $FM/train-images-idx3-ubyte.gz ]; then
    $PY tools/fashion_subset.py "$FM" "$W" 3000 1000
    run lenet5 --data "$W/train-images-idx3-ubyte" --test "$W/t10k-images-idx3-ubyte" --epochs 2 &&
        expect lenet5 accuracy ">=" 0.72 "2 epochs on 3000 images"
    # fashion_lstm in short, on the same subsets: the images as 28 steps of
    # 28 pixels. The full run (5 epochs) is recorded in the README.
    run fashion_lstm --data "$W/train-images-idx3-ubyte" --test "$W/t10k-images-idx3-ubyte" --epochs 2 &&
        expect fashion_lstm accuracy ">=" 0.6 "2 epochs on 3000 images"
else
    echo "FAIL: e2e/lenet5: no $FM (tools/install-deps.sh installs dataset-fashion-mnist)"
    failed=$((failed + 1))
fi

# fashion_cnn (batch norm, dropout) in short, on the same subsets: 2 epochs
# on 3000 images, scored (inference mode: running statistics, no dropout) on
# 1000. The full run (6 epochs, 60 000 images) is recorded in the README.
if [ -f "$W/train-images-idx3-ubyte" ]; then
    run fashion_cnn --data "$W/train-images-idx3-ubyte" --test "$W/t10k-images-idx3-ubyte" --epochs 2 &&
        expect fashion_cnn accuracy ">=" 0.78 "2 epochs on 3000 images"
fi

[ $failed -eq 0 ] && echo "e2e: all passed"
[ $failed -eq 0 ]
