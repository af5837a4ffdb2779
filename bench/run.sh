#!/usr/bin/env bash
# bench/run.sh — `make bench`: nnc vs PyTorch vs FANN on the digits MLP, side by
# side on this machine, interleaved in rounds; prints the table and writes it to
# bench/results.txt. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_ROUNDS:-5}      # interleaved rounds: nnc, PyTorch, FANN, ... again
EPOCHS=15                      # timed epochs per round and implementation
WARMUP=3                       # untimed epochs before them
BLOCKS=31                      # timed blocks of inference calls per round
PY=${BENCH_PYTHON:-/usr/bin/python3}  # Debian's python, which has torch and numpy
LENET_ROUNDS=${BENCH_LENET_ROUNDS:-3}   # rounds that also train LeNet-5 (one epoch per side)
FMNIST=/usr/share/datasets/fashion-mnist
MODEL=examples/digits.nn
CSV=examples/data/digits.csv
CC=${CC:-cc}
STD="-std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra"
NNC_FLAGS=$(./nnc --cflags)         # exactly what nnc train compiles with

fail() { echo "bench: $*" >&2; exit 1; }

[ -x ./nnc ] || fail "./nnc is missing (run make first)"
[ -f "$CSV" ] || fail "$CSV is missing"
[ -x "$PY" ] || fail "$PY is missing"
"$PY" -c "import torch, numpy" 2>/dev/null ||
    fail "PyTorch or NumPy is missing for $PY (run: bash tools/install-deps.sh)"
[ -f /usr/include/floatfann.h ] || fail "FANN is missing (apt-get install libfann-dev, or make deps)"

W=$(mktemp -d "${TMPDIR:-/tmp}/nnc-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/b32" "$W/b1"

echo "bench: compiling (generated C with $CC $NNC_FLAGS)" >&2
./nnc "$MODEL" -o "$W/b32/digits.c" || fail "nnc could not compile $MODEL"
./nnc "$MODEL" --batch 1 -o "$W/b1/digits.c" || fail "nnc could not compile $MODEL --batch 1"
for b in b32 b1; do
    $CC $NNC_FLAGS $STD -I"$W/$b" -include digits.h -o "$W/nnc_$b" \
        bench/nnc_bench.c "$W/$b/digits.c" -lm || fail "the generated C ($b) did not build"
done
lenet=0
if [ -f "$FMNIST/train-images-idx3-ubyte.gz" ] && [ -f "$FMNIST/train-labels-idx1-ubyte.gz" ]; then
    lenet=1
    mkdir -p "$W/l32" "$W/l1"
    ./nnc examples/lenet5.nn -o "$W/l32/lenet5.c" || fail "nnc could not compile examples/lenet5.nn"
    ./nnc examples/lenet5.nn --batch 1 -o "$W/l1/lenet5.c" || fail "nnc could not compile lenet5.nn --batch 1"
    for b in l32 l1; do
        $CC $NNC_FLAGS $STD -I"$W/$b" -include lenet5.h -o "$W/lenet_$b" \
            bench/lenet_bench.c "$W/$b/lenet5.c" -lz -lm || fail "the generated C of lenet5 ($b) did not build"
    done
    # The textbook Keras CNN (batch 128), timed by the same program under the tag kcnn
    mkdir -p "$W/k128" "$W/k1"
    ./nnc bench/keras_cnn.nn -o "$W/k128/keras_cnn.c" || fail "nnc could not compile bench/keras_cnn.nn"
    ./nnc bench/keras_cnn.nn --batch 1 -o "$W/k1/keras_cnn.c" || fail "nnc could not compile keras_cnn.nn --batch 1"
    for b in k128 k1; do
        $CC $NNC_FLAGS $STD -DNET=keras_cnn -DNETU=KERAS_CNN -DTAG='"kcnn"' -I"$W/$b" -include keras_cnn.h -o "$W/kcnn_$b" \
            bench/lenet_bench.c "$W/$b/keras_cnn.c" -lz -lm || fail "the generated C of kcnn ($b) did not build"
    done
else
    echo "bench: no Fashion-MNIST in $FMNIST: skipping LeNet-5 (apt-get install dataset-fashion-mnist)" >&2
fi
$CC -O3 -march=native $STD -o "$W/fann_bench" bench/fann_bench.c -lfloatfann -lm ||
    fail "bench/fann_bench.c did not build against FANN (libfann-dev)"
$CC -O3 -march=native $STD -o "$W/peak" bench/peak.c || fail "bench/peak.c did not build"

RAW="$W/raw.txt"
{
    echo "setup $(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores;" \
         "$($CC --version | head -1); torch $("$PY" -c 'import torch; print(torch.__version__)'); FANN 2.2 (float)"
} > "$RAW"

for r in $(seq 1 "$ROUNDS"); do
    echo "bench: round $r of $ROUNDS" >&2
    echo "round $r" >> "$RAW"
    "$W/nnc_b32" train "$CSV" "$EPOCHS" "$WARMUP" >> "$RAW"
    "$PY" bench/torch_bench.py train "$CSV" "$EPOCHS" "$WARMUP" >> "$RAW"
    "$W/fann_bench" train "$CSV" "$EPOCHS" "$WARMUP" >> "$RAW"
    "$W/nnc_b1" infer "$CSV" "$BLOCKS" 20000 >> "$RAW"
    "$PY" bench/torch_bench.py infer "$CSV" "$BLOCKS" 500 >> "$RAW"
    "$W/fann_bench" infer "$CSV" "$BLOCKS" 5000 >> "$RAW"
    "$W/peak" 5 >> "$RAW"
    if [ $lenet = 1 ] && [ "$r" -le "$LENET_ROUNDS" ]; then
        TI=$FMNIST/train-images-idx3-ubyte.gz TL=$FMNIST/train-labels-idx1-ubyte.gz
        "$W/lenet_l32" train "$TI" "$TL" 1 6000 >> "$RAW"
        "$PY" bench/torch_lenet.py train "$TI" "$TL" 1 6000 >> "$RAW"
        "$W/lenet_l1" infer "$TI" 11 3000 >> "$RAW"
        "$PY" bench/torch_lenet.py infer "$TI" 11 300 >> "$RAW"
        "$W/kcnn_k128" train "$TI" "$TL" 1 6400 >> "$RAW"
        KCNN=1 "$PY" bench/torch_lenet.py train "$TI" "$TL" 1 6400 >> "$RAW"
        "$W/kcnn_k1" infer "$TI" 11 1000 >> "$RAW"
        KCNN=1 "$PY" bench/torch_lenet.py infer "$TI" 11 300 >> "$RAW"
    fi
done

"$PY" bench/report.py "$RAW" bench/results.txt || fail "could not summarise the results"
echo "bench: written to bench/results.txt" >&2
