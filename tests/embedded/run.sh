#!/usr/bin/env bash
# make check-embedded: the digits model on QEMU's Cortex-M4 board mps2-an386.
# Not part of `make check`: it needs qemu-system-arm besides what `make check`
# uses (bash tools/install-deps.sh --embedded).
#  1. inference: trains digits on the host, bakes the weights into inference
#     C (nnc --inference), links it into a firmware with the whole test set
#     embedded, classifies every sample on the emulated chip and checks that
#     every class equals the host's (nnc predict); prints flash and RAM as
#     arm-none-eabi-size reports them.
#  2. training: the digits training build (nnc MODEL.nn) runs 10 train_step
#     calls from digits_init(seed 42) on fixed batches, on the chip and on the
#     host, both compiled with -ffp-contract=off (no fused multiply-adds on
#     either side); each step's loss and parameter sum must agree to 1e-5
#     relative. Not bit for bit: newlib's expf, logf and pow (built for a
#     single-precision FPU) and glibc's round differently in the last bit.
# Output is semihosting's stdout; QEMU runs under a timeout.
set -u
cd "$(dirname "$0")/../.."
export LC_ALL=C
here=tests/embedded
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
npass=0 nfail=0
pass() { echo "PASS: embedded/$1"; npass=$((npass + 1)); }
fail() { echo "FAIL: embedded/$1"; nfail=$((nfail + 1)); }
finish() { echo "$npass passed, $nfail failed"; [ "$nfail" -eq 0 ]; exit; }

missing=""
for t in arm-none-eabi-gcc arm-none-eabi-size qemu-system-arm; do
    command -v $t >/dev/null || missing="$missing $t"
done
[ -f /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/librdimon.a ] || missing="$missing newlib(librdimon)"
if [ -n "$missing" ]; then
    fail "missing:$missing (bash tools/install-deps.sh --embedded)"; finish
fi
[ -x ./nnc ] || { fail "nnc not built (make)"; finish; }

ARM="arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
# newlib with semihosting (rdimon) for printf and exit; our own start-up code.
LINK="--specs=rdimon.specs -nostartfiles -T $here/mps2-an386.ld -Wl,--gc-sections"
QEMU="qemu-system-arm -M mps2-an386 -nographic -semihosting-config enable=on,target=native"
model=examples/digits.nn
test_csv=examples/data/digits_test.csv

# samples.h: the raw test inputs and labels as C arrays (all of them: 359 x 64
# floats are 92 KB, far below the board's 4 MB).
awk -F, 'NR > 1 && NF > 1 {
        n++; row = "    {";
        for (i = 1; i < NF; i++) row = row (i > 1 ? "," : "") $i;
        rows = rows row "},\n"; labels = labels (n > 1 ? "," : "") $NF;
        if (n % 32 == 0) labels = labels "\n   ";
        nin = NF - 1 }
    END {
        print "/* samples.h: the test samples, generated from the test CSV. */"
        printf "#define NUM_SAMPLES %d\n", n
        printf "static const float samples[%d][%d] = {\n%s};\n", n, nin, rows
        printf "static const unsigned char labels[%d] = {\n    %s};\n", n, labels }' \
    "$test_csv" >"$tmp/samples.h"

# 1. Inference on the chip against nnc predict on the host.
d=$tmp/infer; mkdir -p "$d"
./nnc train $model --epochs 20 --save "$tmp/digits.st" --quiet >/dev/null 2>"$d/err" ||
    { fail "train: $(head -3 "$d/err")"; finish; }
./nnc predict $model --weights "$tmp/digits.st" --data $test_csv --out "$d/pred.csv" 2>"$d/err" ||
    { fail "predict: $(head -3 "$d/err")"; finish; }
./nnc $model --inference --weights "$tmp/digits.st" -o "$d/model.c" 2>"$d/err" ||
    { fail "nnc --inference: $(head -3 "$d/err")"; finish; }
if $ARM -std=c99 -Wall -Wextra -pedantic -Werror -Os -ffreestanding -ffunction-sections \
        -fdata-sections -c "$d/model.c" -o "$d/model.o" 2>"$d/err" &&
   $ARM -std=c99 -Wall -Wextra -Werror -Os -I"$d" -I"$tmp" -c $here/infer.c -o "$d/infer.o" 2>>"$d/err" &&
   $ARM -std=c99 -Wall -Wextra -Werror -Os -c $here/startup.c -o "$d/startup.o" 2>>"$d/err" &&
   $ARM $LINK -o "$d/fw.elf" "$d/startup.o" "$d/infer.o" "$d/model.o" -lm 2>>"$d/err"; then
    pass "inference firmware builds"
else
    fail "inference firmware: $(head -10 "$d/err")"; finish
fi
timeout 120 $QEMU -kernel "$d/fw.elf" </dev/null >"$d/out" 2>"$d/qerr"
rc=$?
tr -d '\r' <"$d/out" >"$d/dev"
n=$(grep -c '^[0-9]$' "$d/dev")
if [ $rc -ne 0 ] || ! grep -q "^done $n\$" "$d/dev"; then
    fail "inference on qemu (exit $rc): $(tail -3 "$d/dev") $(head -3 "$d/qerr")"
else
    grep '^[0-9]$' "$d/dev" >"$d/dev_classes"
    sed 1d "$d/pred.csv" | cut -d, -f1 >"$d/host_classes"
    total=$(wc -l <"$d/host_classes")
    same=$(paste -d' ' "$d/dev_classes" "$d/host_classes" | awk '$1 == $2' | wc -l)
    if [ "$n" = "$total" ] && [ "$same" = "$total" ]; then
        pass "inference on cortex-m4: $same of $total classes equal the host's (nnc predict)"
    else
        fail "inference on cortex-m4: $same of $total equal ($n printed)"
    fi
fi
read -r text data bss <<<"$(arm-none-eabi-size "$d/fw.elf" | awk 'NR == 2 {print $1, $2, $3}')"
read -r mtext mdata mbss <<<"$(arm-none-eabi-size "$d/model.o" | awk 'NR == 2 {print $1, $2, $3}')"
echo "inference firmware: flash $((text + data)) bytes, RAM $((data + bss)) bytes before stack and heap"
echo "  (text $text, data $data, bss $bss; samples $((n * 64 * 4 + n)) bytes of it)"
echo "  model.o alone: text+rodata $mtext, data $mdata, bss $mbss; the arena (in infer.o's bss):" \
     "$(sed -n 's/^#define DIGITS_ARENA_BYTES \([0-9]*\).*/\1/p' "$d/model.h") bytes"

# 2. Training steps on the chip against the same code on the host.
d=$tmp/train; mkdir -p "$d"
./nnc $model -o "$d/model.c" 2>"$d/err" || { fail "nnc (training build): $(head -3 "$d/err")"; finish; }
cc -std=c99 -O2 -ffp-contract=off -I"$d" -I"$tmp" -o "$d/host" $here/train.c "$d/model.c" -lm 2>"$d/err" ||
    { fail "training, host build: $(head -5 "$d/err")"; finish; }
"$d/host" >"$d/host.out" 2>"$d/err" || { fail "training on the host: $(head -3 "$d/err")"; finish; }
if $ARM -std=c99 -Wall -Wextra -pedantic -Werror -O2 -ffp-contract=off -ffreestanding \
        -ffunction-sections -fdata-sections -c "$d/model.c" -o "$d/model.o" 2>"$d/err" &&
   $ARM -std=c99 -Wall -Wextra -Werror -O2 -ffp-contract=off -I"$d" -I"$tmp" -c $here/train.c \
        -o "$d/train.o" 2>>"$d/err" &&
   $ARM -std=c99 -Wall -Wextra -Werror -Os -c $here/startup.c -o "$d/startup.o" 2>>"$d/err" &&
   $ARM $LINK -o "$d/fw.elf" "$d/startup.o" "$d/train.o" "$d/model.o" -lm 2>>"$d/err"; then
    pass "training firmware builds"
else
    fail "training firmware: $(head -10 "$d/err")"; finish
fi
timeout 120 $QEMU -kernel "$d/fw.elf" </dev/null >"$d/out" 2>"$d/qerr"
rc=$?
tr -d '\r' <"$d/out" >"$d/dev.out"
# Each step's loss and parameter sum, host against chip, relative to 1e-5.
cmp_steps() {
    paste -d' ' <(grep '^step' "$1") <(grep '^step' "$2") | awk -v tol=1e-5 '
        function rel(a, b) { return (a == b) ? 0 : (a > b ? a - b : b - a) / (a < 0 ? -a : a) }
        { n++; if ($1 != $7 || $2 != $8) bad = 1
          r = rel($4, $10); if (r > worst) worst = r; if ($4 != $10) diff++
          r = rel($6, $12); if (r > worst) worst = r; if ($6 != $12) diff++ }
        END { printf "%d steps, %d of %d numbers differ, max relative difference %.3g (tolerance %g)",
                     n, diff, 2 * n, worst, tol
              exit !(n > 0 && !bad && worst <= tol) }'
}
if [ $rc -ne 0 ] || [ "$(grep -c '^step' "$d/dev.out")" != "$(grep -c '^step' "$d/host.out")" ]; then
    fail "training on cortex-m4 (exit $rc): $(tail -3 "$d/dev.out") $(head -3 "$d/qerr")"
elif msg=$(cmp_steps "$d/host.out" "$d/dev.out"); then
    pass "training on cortex-m4 equals the host: $msg"
    grep '^step' "$d/dev.out" | sed -n '1p;$p' | sed 's/^/  chip: /'
else
    fail "training on cortex-m4 differs from the host: $msg"
    diff "$d/host.out" "$d/dev.out" | head -20
fi
read -r text data bss <<<"$(arm-none-eabi-size "$d/fw.elf" | awk 'NR == 2 {print $1, $2, $3}')"
echo "training firmware: flash $((text + data)) bytes, RAM $((data + bss)) bytes before stack and heap" \
     "(text $text, data $data, bss $bss; digits_model $(sed -n 's/^model \([0-9]*\) bytes/\1/p' "$d/dev.out") bytes of it)"
finish
