#!/usr/bin/env bash
# preflight.sh — what `make check` needs, checked before anything is built.
#
# Every tool, header, Python module and data file a suite uses is named here
# with the Debian package that provides it. The first one missing stops the
# run at once with one line naming it and the command that installs it, so a
# machine without it fails in seconds instead of ten tests deep, and no suite
# needs a "skip if absent" path. Each package named here must be in the
# default list of tools/install-deps.sh (checked below): that is the mistake
# this file exists to make impossible.
set -u
cd "$(dirname "$0")/.."
export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

installed=$(grep -oE '^[[:space:]]*pkgs="[^"]*"' tools/install-deps.sh | head -n 1 | sed 's/.*pkgs="//; s/"$//')

missing() {  # what, package
    echo "make check: missing $1 (Debian package $2); install it with: bash tools/install-deps.sh" >&2
    exit 2
}

# need PACKAGE WHAT COMMAND...: the command must succeed quietly.
need() {
    local pkg=$1 what=$2; shift 2
    case " $installed " in
        *" $pkg "*) ;;
        *) echo "make check: internal error: tests/preflight.sh needs $pkg, which tools/install-deps.sh does not install" >&2
           exit 2 ;;
    esac
    "$@" >/dev/null 2>&1 || missing "$what" "$pkg"
}

compiles() {  # compiler, flags..., with the program on stdin (flags after it, so -l links)
    local cc=$1; shift
    "$cc" -x c - -o "$tmp/a.out" "$@"
}

# The build.
need build-essential "a C compiler (cc)" command -v cc
need build-essential "make" command -v make
need build-essential "g++ (the generated C must compile as C++)" command -v g++
need flex "flex" command -v flex
need bison "bison" command -v bison
need zlib1g-dev "zlib's header <zlib.h>" compiles cc -c <<<'#include <zlib.h>
int main(void) { return zlibVersion() == 0; }'
need clang "clang" command -v clang
need libclang-rt-14-dev "libFuzzer and clang's sanitizer runtimes (tests/fuzz)" \
    compiles clang -fsanitize=fuzzer,address,undefined <<<'#include <stdint.h>
#include <stddef.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return (int)(d && n && 0); }'
need libopenmpi-dev "Open MPI's mpicc and <mpi.h> (training on several processes)" compiles mpicc <<<'#include <mpi.h>
int main(int argc, char **argv) { MPI_Init(&argc, &argv); return MPI_Finalize(); }'
need openmpi-bin "Open MPI's mpirun" command -v mpirun

# Tools the suites run.
need valgrind "valgrind" command -v valgrind
need procps "pgrep (the signal tests find the training program with it)" command -v pgrep
need chromium "chromium (renders the training report)" command -v chromium
need gcc-arm-none-eabi "arm-none-eabi-gcc" command -v arm-none-eabi-gcc
need gcc-arm-none-eabi "arm-none-eabi-size" command -v arm-none-eabi-size
# newlib's headers come in libnewlib-dev, its libraries in libnewlib-arm-none-eabi
# (which pulls the headers in): a Cortex-M4 program must compile and link.
need libnewlib-arm-none-eabi "newlib for arm-none-eabi-gcc (a Cortex-M4 program with <math.h> and <string.h> must compile and link)" \
    compiles arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 --specs=nosys.specs -lm <<<'#include <math.h>
#include <string.h>
int main(void) { volatile float x = 2; char b[4]; memset(b, 0, sizeof b); return (int)sqrtf(x) + b[0]; }'
need libfann-dev "FANN's header <floatfann.h> and library" compiles cc <<<'#include <floatfann.h>
int main(void) { struct fann *a = fann_create_standard(2, 2, 1); fann_destroy(a); return 0; }' -lfloatfann -lm

# The oracle and the data tools: the suites run /usr/bin/python3.
py() { /usr/bin/python3 -c "$1"; }
need python3 "/usr/bin/python3" test -x /usr/bin/python3
need python3-numpy "the Python module numpy" py 'import numpy'
need python3-torch "the Python module torch" py 'import torch'
need python3-sklearn "the Python module sklearn" py 'import sklearn.metrics'

# Data.
fm=/usr/share/datasets/fashion-mnist
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    need dataset-fashion-mnist "the Fashion-MNIST file $fm/$f" test -s "$fm/$f"
done
echo "preflight: every tool, header, module and data file the tests use is present"
