#!/usr/bin/env bash
# Embedding:
#  - examples/embed builds with its own Makefile (digits trained for a few
#    epochs, --no-libm inference build, plain C) and classifies the whole test
#    set exactly as nnc predict does; its object needs no math library;
#  - --weights-in-ram: digits_load reads the file nnc train --save wrote from
#    memory and the outputs equal nnc predict's (digits at batch 1 and 8,
#    housing with its standardization folded at load time); 24 malformed
#    images (tests/inference/malformed.py) get their error codes and leave
#    the weights untouched;
#  - the digits training build compiles for a Cortex-M4 (arm-none-eabi-gcc
#    -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os
#    -ffreestanding), with and without --no-libm, and
#    arm-none-eabi-size confirms sizeof(digits_model) from the header's macros;
#    so does the --weights-in-ram build, with no .data or .bss.
set -u
cd "$(dirname "$0")/../.."
[ -x ./nnc ] || { echo "FAIL: embed: nnc not built"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass() { echo "PASS: embed/$1"; }
fail() { echo "FAIL: embed/$1"; }
macro() { sed -n "s/^#define $1 \([0-9]*\).*/\1/p" "$2"; }

# examples/embed, out of tree.
test_csv=examples/data/digits_test.csv
if make -s -C examples/embed O="$tmp" EPOCHS=5 NNC="$PWD/nnc" >"$tmp/log" 2>&1; then
    ./nnc predict examples/digits.nn --weights "$tmp/digits.safetensors" --data "$test_csv" --out "$tmp/pred" 2>"$tmp/err"
    "$tmp/classify" <"$test_csv" >"$tmp/classes" 2>"$tmp/err" || fail "example: classify: $(head -3 "$tmp/err")"
    n=$(wc -l <"$tmp/classes")
    if [ "$n" = 359 ] && cut -d, -f1 "$tmp/pred" | grep -v '[a-z]' | cmp -s - "$tmp/classes"; then
        pass "example: make in examples/embed; classify agrees with nnc predict on $n/359 test samples"
    else
        fail "example: classify disagrees with nnc predict ($n lines): $(head -3 "$tmp/err")"
    fi
    cc -std=c99 -O2 -c "$tmp/digits.c" -o "$tmp/digits.o"
    if nm -u "$tmp/digits.o" | grep -q .; then
        fail "example: digits.o needs symbols: $(nm -u "$tmp/digits.o" | tr '\n' ' ')"
    else
        pass "example: the generated object needs no symbol at all (nm -u is empty)"
    fi
else
    fail "example: make: $(tail -5 "$tmp/log")"
fi

# --weights-in-ram: NAME_load reads the file `nnc train --save` wrote from
# memory; the outputs equal nnc predict's; malformed images are refused with
# the right code and leave the weights untouched. Also for a batch of 8.
st=$tmp/digits.safetensors
for batch in 1 8; do
    d=$tmp/ram$batch; mkdir -p "$d"
    ./nnc examples/digits.nn --weights-in-ram --batch $batch -o "$d/model.c" 2>"$d/err" ||
        { fail "load: nnc --weights-in-ram: $(head -3 "$d/err")"; continue; }
    ok=1
    for cc in gcc clang g++; do
        if [ "$cc" = g++ ]; then flags="-x c++ -std=c++11"; else flags="-std=c99"; fi
        $cc $flags -Wall -Wextra -pedantic -Werror -O2 -c "$d/model.c" -o "$d/m.o" 2>"$d/err" ||
            { fail "load: batch $batch: compile with $cc: $(head -5 "$d/err")"; ok=0; }
    done
    [ $ok = 1 ] && pass "load: batch $batch: --weights-in-ram compiles under gcc, clang, g++ -Werror"
    cc -std=c99 -O2 -I"$d" -DM_NAME=digits -DM_IN=DIGITS_IN -DM_OUT=DIGITS_OUT -DSOFTMAX -o "$d/load" \
        tests/inference/load.c "$d/model.c" -lm 2>"$d/err" || { fail "load: harness: $(head -5 "$d/err")"; continue; }
    if "$d/load" "$st" run <"$test_csv" >"$d/out" 2>"$d/err" &&
       /usr/bin/python3 tests/inference/compare.py "$tmp/pred" "$d/out" 1e-6 skip >"$d/cmp" 2>&1; then
        pass "load: batch $batch: digits_load + digits_forward equal nnc predict: $(cat "$d/cmp")"
    else
        fail "load: batch $batch: $(cat "$d/err" "$d/cmp" 2>/dev/null | head -3)"
    fi
done
# housing: standardize, so the shift folds into the bias too.
d=$tmp/housing; mkdir -p "$d"
htest=examples/data/$(sed -n 's/.*test = "data\/\([^"]*\)".*/\1/p' examples/housing.nn)
if ./nnc train examples/housing.nn --epochs 20 --save "$d/w.st" --quiet >/dev/null 2>"$d/err" &&
   ./nnc predict examples/housing.nn --weights "$d/w.st" --data "$htest" --out "$d/pred" 2>>"$d/err" &&
   ./nnc examples/housing.nn --weights-in-ram -o "$d/model.c" 2>>"$d/err" &&
   cc -std=c99 -O2 -I"$d" -DM_NAME=housing -DM_IN=HOUSING_IN -DM_OUT=HOUSING_OUT -o "$d/load" \
       tests/inference/load.c "$d/model.c" -lm 2>>"$d/err" &&
   "$d/load" "$d/w.st" run <"$htest" >"$d/out" 2>>"$d/err" &&
   /usr/bin/python3 tests/inference/compare.py "$d/pred" "$d/out" 1e-6 rel >"$d/cmp" 2>&1; then
    pass "load: housing (standardize folded at load time) equals nnc predict: $(cat "$d/cmp")"
else
    fail "load: housing: $(cat "$d/err" "$d/cmp" 2>/dev/null | head -3)"
fi

d=$tmp/ram1; mkdir -p "$d/bad"
/usr/bin/python3 tests/inference/malformed.py "$st" "$d/bad" >"$d/cases"
bad=0 n=0
while read -r name want; do
    n=$((n + 1))
    got=$("$d/load" "$d/bad/$name.st" code) || { fail "load: $name: weights changed by a refused load"; bad=1; continue; }
    [ "$got" = "$want" ] || { fail "load: $name: digits_load returned $got, want $want"; bad=1; }
done <"$d/cases"
[ $bad = 0 ] && [ "$n" -gt 20 ] && pass "load: $n malformed images refused with their error codes, weights untouched"
./nnc train examples/xor.nn --epochs 1 --save "$tmp/xor.st" --quiet >/dev/null 2>&1
got=$("$d/load" "$tmp/xor.st" code)
[ "$got" -lt 0 ] 2>/dev/null && pass "load: another model's weights refused ($got)" || fail "load: xor's weights: $got"

# The training build on a Cortex-M4.
m4="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os -ffreestanding"
for batch in 32 1; do
    for libm in "" --no-libm; do
        name="digits training, batch $batch${libm:+, $libm}"
        d=$tmp/t$batch$libm; mkdir -p "$d"
        ./nnc examples/digits.nn --batch $batch $libm -o "$d/digits.c" 2>"$d/err" ||
            { fail "cortex-m4: $name: $(head -3 "$d/err")"; continue; }
        printf '#include "digits.h"\ndigits_model model;\n' >"$d/ram.c"
        if arm-none-eabi-gcc -std=c99 -Wall -Wextra -pedantic -Werror $m4 -c "$d/digits.c" -o "$d/digits.o" 2>"$d/err" &&
           arm-none-eabi-gcc -std=c99 $m4 -fno-common -I"$d" -c "$d/ram.c" -o "$d/ram.o" 2>>"$d/err"; then
            ram=$(arm-none-eabi-size -A "$d/ram.o" | awk '$1 == ".bss" {print $2}')
            text=$(arm-none-eabi-size -A "$d/digits.o" | awk '$1 ~ /^\.(text|rodata)/ {s += $2} END {print s}')
            data=$(arm-none-eabi-size -A "$d/digits.o" | awk '$1 ~ /^\.(data|bss)/ {s += $2} END {print s}')
            h=$d/digits.h
            # + long step + float lr_scale
            want=$(( 4 * (2 * $(macro DIGITS_NUM_PARAMS "$h") + $(macro DIGITS_NUM_STATE "$h") + $(macro DIGITS_NUM_ACTS "$h")) + 8 ))
            if [ "$ram" = "$want" ] && [ "$data" = 0 ]; then
                pass "cortex-m4: $name: sizeof(digits_model) $ram bytes of RAM (params, grads, adam state, one batch), code $text bytes, no .data/.bss"
            else
                fail "cortex-m4: $name: sizeof(digits_model) $ram, macros say $want; .data+.bss $data"
            fi
            # A firmware links: one training step, against newlib's libc (and
            # libm unless --no-libm), nothing left unresolved.
            printf '#include "digits.h"\nstatic digits_model m;\nstatic float x[64], y[1];\nint main(void) { digits_init(&m, 1); return digits_train_step(&m, x, y, 1) < 0; }\n' >"$d/fw.c"
            lm=-lm; [ -n "$libm" ] && lm=
            if arm-none-eabi-gcc -std=c99 $m4 --specs=nosys.specs -I"$d" "$d/fw.c" "$d/digits.o" -o "$d/fw.elf" $lm 2>"$d/err"; then
                pass "cortex-m4: $name: links into a firmware with newlib${lm:+ and its libm}"
            else
                fail "cortex-m4: $name: linking a firmware: $(head -5 "$d/err")"
            fi
        else
            fail "cortex-m4: $name: $(head -5 "$d/err")"
        fi
    done
done
# The --weights-in-ram build on the Cortex-M4: no mutable data of its own.
d=$tmp/ram1
if arm-none-eabi-gcc -std=c99 -Wall -Wextra -pedantic -Werror $m4 -c "$d/model.c" -o "$d/arm.o" 2>"$d/err"; then
    data=$(arm-none-eabi-size -A "$d/arm.o" | awk '$1 ~ /^\.(data|bss)/ {s += $2} END {print s + 0}')
    text=$(arm-none-eabi-size -A "$d/arm.o" | awk '$1 ~ /^\.(text|rodata)/ {s += $2} END {print s + 0}')
    [ "$data" = 0 ] && pass "cortex-m4: digits --weights-in-ram: code and tables $text bytes (digits_load included), no .data/.bss" ||
        fail "cortex-m4: digits --weights-in-ram: .data+.bss $data"
else
    fail "cortex-m4: digits --weights-in-ram: $(head -5 "$d/err")"
fi
