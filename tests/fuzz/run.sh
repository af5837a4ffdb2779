#!/usr/bin/env bash
# tests/fuzz/run.sh — the libFuzzer targets (tests/fuzz/README.md).
#
#   bash tests/fuzz/run.sh          (make check) replays every input of
#       tests/fuzz/regress/TARGET/ (the reproductions of past findings: a
#       crash or sanitizer report on any fails), then fuzzes each target for
#       FUZZ_CHECK_SECONDS (default 4) from its seeds in a scratch corpus.
#   bash tests/fuzz/run.sh --long   (make fuzz) fuzzes each target for
#       FUZZ_SECONDS (default 60) on the corpus kept in build/fuzz/corpus/,
#       and prints per target the executions, coverage and crashes.
# FUZZ_TARGETS="idx npy" runs only those. Crashing inputs are written to
# build/fuzz/crashes/. The binaries are
# built by `make fuzz-build`.
set -u
cd "$(dirname "$0")/../.."
export LC_ALL=C
targets=(${FUZZ_TARGETS:-model csv idx npy safetensors load})
long=0
[ "${1:-}" = --long ] && long=1
B=build/fuzz
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

make -s -j2 fuzz-build >/dev/null 2>&1 || { fail "fuzz: make fuzz-build" "the targets do not build"; exit 1; }
# the data targets write each input to a file: on a RAM disk that is 30x faster
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tests/fuzz/seeds.py "$work/seeds" || { fail "fuzz: seeds" "tests/fuzz/seeds.py failed"; exit 1; }
mkdir -p $B/crashes
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The first sanitizer or libFuzzer report line of a crash log.
report() { grep -m1 -E "^FINDING: |internal error|runtime error|ERROR: AddressSanitizer|ERROR: libFuzzer|SUMMARY" "$1" | sed 's/^==[0-9]*==//' | cut -c1-200; }
# 0 if a crash report is one PENDING names.
known_report() {
    local r
    while read -r kind text; do
        [ "$kind" = report ] && case "$1" in *"$text"*) return 0 ;; esac
    done < <(grep -v '^#' tests/fuzz/regress/PENDING)
    return 1
}

# ---- the regression corpus: every input once, one by one, so each is named
if [ $long = 0 ]; then
    for t in "${targets[@]}"; do
        n=0 bad=0 known=0
        for f in tests/fuzz/regress/$t/*; do
            [ -f "$f" ] || continue
            n=$((n + 1))
            $B/fuzz_$t "$f" >"$work/replay.log" 2>&1 && continue
            why=$(report "$work/replay.log")
            if grep -qx "input $t/${f##*/}" tests/fuzz/regress/PENDING; then
                echo "KNOWN: fuzz $t: $f still crashes (its fix is on another branch): $why"
                known=$((known + 1))
            else
                fail "fuzz $t: replay $f" "$why"
                bad=$((bad + 1))
            fi
        done
        [ $bad = 0 ] && pass "fuzz $t: tests/fuzz/regress/$t replayed: $((n - known)) inputs without a crash, $known known"
    done
fi

# ---- fuzzing: a bounded run per target. -fork=1 -ignore_crashes=1 goes on
# after a crash (each is saved under build/fuzz/crashes/ and judged below),
# so a known bug found again does not end the run.
secs=${FUZZ_CHECK_SECONDS:-4}
[ $long = 1 ] && secs=${FUZZ_SECONDS:-60}
for t in "${targets[@]}"; do
    if [ $long = 1 ]; then corpus=$B/corpus/$t; else corpus=$work/corpus/$t; fi
    mkdir -p "$corpus" "$work/crashes/$t"
    log=$B/fuzz_$t.log; [ $long = 1 ] && log=$B/fuzz_$t.long.log
    # -close_fd_mask=3: the readers' and the compiler's messages go nowhere;
    # libFuzzer's own report and the sanitizers' still reach the log
    $B/fuzz_$t -fork=1 -ignore_crashes=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -close_fd_mask=3 -artifact_prefix="$work/crashes/$t/" "$corpus" "$work/seeds/$t" >"$log" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+: cov' "$log" | tail -1)
    runs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")
    cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/\1 edges, \2 features, corpus \3/p' <<<"$last")
    new=0 old=0
    for c in "$work/crashes/$t"/*; do
        [ -f "$c" ] || continue
        $B/fuzz_$t "$c" >"$work/replay.log" 2>&1
        why=$(report "$work/replay.log")
        if known_report "$why"; then
            old=$((old + 1))
            echo "KNOWN: fuzz $t: found again ($why)"
        else
            new=$((new + 1))
            cp "$c" $B/crashes/$t-"${c##*/}"
            fail "fuzz $t: a new crash" "$why; the input is $B/crashes/$t-${c##*/}"
        fi
    done
    # a crash in fork mode's last job still sets the exit status: a known one is no failure
    if [ $rc != 0 ] && [ $new = 0 ] && [ $old = 0 ]; then
        fail "fuzz $t" "libFuzzer exited $rc: $(tail -3 "$log" | tr '\n' ' ' | cut -c1-200)"
    elif [ $new = 0 ]; then
        pass "fuzz $t: ${runs:-?} inputs in $secs s, ${cov:-no coverage line}, no new crash ($old known)"
    fi
    echo "$t: ${runs:-?} inputs in $secs s, ${cov:-?}, crashes: $new new, $old known" >>"$work/summary"
done
[ $long = 1 ] && cat "$work/summary"
exit 0
