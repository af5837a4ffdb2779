#!/usr/bin/env bash
# bench/dist.sh — `make bench`, second part: training on one and on two
# processes under Open MPI (nnc train --processes), for the digits MLP,
# LeNet-5 and the textbook Keras CNN (bench/keras_cnn.nn). Each program is
# built once (nnc train --build-only --mpi) and run under mpirun -np 1 and
# -np 2, interleaved in rounds; the runtime reports (NNC_DIST_STATS=1) its
# steps, the seconds spent in them, waiting for the slower process (a barrier
# it adds only when measuring) and in MPI_Allreduce. Prints the table and
# writes it to bench/dist_results.txt. Not a test: see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${BENCH_DIST_ROUNDS:-3}
IMAGES=${BENCH_DIST_IMAGES:-12000}   # Fashion-MNIST training images per run
PY=${BENCH_PYTHON:-/usr/bin/python3}
FM=/usr/share/datasets/fashion-mnist

fail() { echo "bench/dist: $*" >&2; exit 1; }
[ -x ./nnc ] || fail "./nnc is missing (run make first)"
[ -f build/dist_mpi.o ] || fail "nnc was built without MPI (install libopenmpi-dev openmpi-bin, then make)"
command -v mpirun >/dev/null || fail "mpirun is missing (openmpi-bin)"
[ -f $FM/train-images-idx3-ubyte.gz ] || fail "Fashion-MNIST is missing (dataset-fashion-mnist)"

W=$(mktemp -d "${TMPDIR:-/tmp}/nnc-bench-dist.XXXXXX")
trap 'rm -rf "$W"' EXIT
MPIRUN="mpirun --mca mpi_yield_when_idle 1"   # as nnc train --processes runs it
[ "$(id -u)" = 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"

# the first IMAGES training images (and 1000 test images) as plain IDX files
"$PY" tools/fashion_subset.py "$FM" "$W" "$IMAGES" 1000

# name, model file, the program's arguments (data and epochs)
FMDATA="--data $W/train-images-idx3-ubyte --test $W/t10k-images-idx3-ubyte"
names=(digits lenet5 keras_cnn)
models=(examples/digits.nn examples/lenet5.nn bench/keras_cnn.nn)
args=("--epochs 20" "$FMDATA --epochs 1" "$FMDATA --epochs 1")
for i in 0 1 2; do
    echo "bench/dist: building ${names[$i]}" >&2
    ./nnc train "${models[$i]}" --build-only "$W/${names[$i]}" --mpi >/dev/null || fail "cannot build ${models[$i]}"
done

RAW=$W/raw.txt
echo "setup $(date -u '+%Y-%m-%d %H:%M UTC'); $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores;" \
     "$(mpirun --version | head -n 1); $IMAGES Fashion-MNIST images; load average $(cut -d' ' -f1-3 /proc/loadavg)" >"$RAW"
for r in $(seq 1 "$ROUNDS"); do
    echo "bench/dist: round $r of $ROUNDS" >&2
    for i in 0 1 2; do
        for p in 1 2; do
            # "dist: 2 processes, 1438 steps, 0.8 s in steps, 0.1 s in MPI_Allreduce, 2786 floats each"
            line=$(NNC_DIST_STATS=1 $MPIRUN -x NNC_DIST_STATS -np $p "$W/${names[$i]}" train --quiet ${args[$i]} \
                   2>&1 >/dev/null | grep '^dist:') || fail "${names[$i]} on $p processes failed"
            echo "${names[$i]} $p $line" >>"$RAW"
        done
    done
done

"$PY" - "$RAW" bench/dist_results.txt <<'EOF'
import re, statistics, sys
raw, out = sys.argv[1], sys.argv[2]
lines = open(raw).read().splitlines()
runs = {}
for l in lines[1:]:
    m = re.match(r"(\S+) (\d) dist: \d+ process(?:es)?, (\d+) steps, ([\d.]+) s in steps, ([\d.]+) s in MPI_Allreduce, "
                 r"([\d.]+) s waiting before it, (\d+) floats each, the fastest in ([\d.]+) us", l)
    if not m:
        sys.exit("bench/dist: cannot read: " + l)
    name, p, steps = m.group(1), int(m.group(2)), int(m.group(3))
    t, tr, tw, floats = float(m.group(4)), float(m.group(5)), float(m.group(6)), int(m.group(7))
    runs.setdefault((name, p), []).append((steps / t, t / steps * 1e3, tr / steps * 1e6, floats, tw / steps * 1e6,
                                           float(m.group(8))))
rows = [lines[0], "medians of %d runs each; a step is one global batch (backward, allreduce, update)" % len(next(iter(runs.values()))), "",
        "| model | gradient | processes | steps/s | ms/step | MPI_Allreduce µs/step | fastest MPI_Allreduce µs | waiting µs/step | allreduce + wait, share of the step | speed-up |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
for name in ("digits", "lenet5", "keras_cnn"):
    base = statistics.median(r[0] for r in runs[(name, 1)])
    for p in (1, 2):
        r = runs[(name, p)]
        sps, ms, us, wait = (statistics.median(x[i] for x in r) for i in (0, 1, 2, 4))
        fastest = min(x[5] for x in r)
        kb = (r[0][3] - 2) * 4 / 1024 if p > 1 else None
        rows.append("| %s | %s | %d | %.0f | %.3f | %s | %s | %s | %s | %.2f× |" % (
            name, "%.1f KiB" % kb if kb else "", p, sps, ms, "%.1f" % us if p > 1 else "-",
            "%.1f" % fastest if p > 1 else "-",
            "%.1f" % wait if p > 1 else "-", "%.0f%%" % ((us + wait) / 1e3 / ms * 100) if p > 1 else "-", sps / base))
text = "\n".join(rows) + "\n"
open(out, "w").write(text)
print(text, end="")
EOF
echo "bench/dist: written to bench/dist_results.txt" >&2
