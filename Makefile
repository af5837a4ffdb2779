# nnc — build, test, benchmark. `make check` runs every test.
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c99 -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L
BUILD   := build

# Pipeline order; see README "Internals".
SRCS := compiler/main.c compiler/util.c compiler/diag.c compiler/ast.c \
        compiler/catalog.c compiler/check.c compiler/ir.c compiler/lower.c \
        compiler/autodiff.c compiler/optim.c compiler/fuse.c compiler/plan.c \
        compiler/weights.c compiler/emit.c compiler/nolibm.c compiler/summary.c \
        compiler/mpirun.c
GEN  := $(BUILD)/parse.c $(BUILD)/lex.c
# nnc --inference reads .safetensors with the runtime's own reader.
RT_IN_NNC := $(BUILD)/rt/safetensors.o $(BUILD)/rt/data.o $(BUILD)/rt/npy.o
OBJS := $(SRCS:compiler/%.c=$(BUILD)/%.o) $(BUILD)/parse.o $(BUILD)/lex.o $(RT_IN_NNC)
HDRS := compiler/nnc.h compiler/ops.h $(BUILD)/parse.h

# The runtime that nnc train links: built once here, found beside nnc.
RT_SRCS := $(filter-out runtime/dist.c,$(wildcard runtime/*.c))
RT_OBJS := $(RT_SRCS:runtime/%.c=$(BUILD)/rt/%.o)
RT_LIB  := $(BUILD)/libnncrt.a

# Training on several processes (nnc train --processes N) needs Open MPI:
# with mpicc on the PATH, runtime/dist.c becomes build/dist_mpi.o, which nnc
# links into programs for mpirun; without it nnc builds and trains as before
# and --processes says that it was built without MPI.
MPICC   ?= mpicc
RT_MPI  := $(if $(shell command -v $(MPICC) 2>/dev/null),$(BUILD)/dist_mpi.o)

all: nnc $(RT_LIB) $(RT_MPI)

nnc: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $(OBJS) -lz -lm

$(BUILD)/%.o: compiler/%.c $(HDRS) | $(BUILD)
	$(CC) $(CFLAGS) -Icompiler -I$(BUILD) -c -o $@ $<

$(BUILD)/weights.o: compiler/weights.c $(HDRS) runtime/nnc_rt.h | $(BUILD)
	$(CC) $(CFLAGS) -Icompiler -Iruntime -I$(BUILD) -c -o $@ $<

# Generated scanner and parser: warnings that flex/bison output triggers are theirs.
$(BUILD)/parse.o: $(BUILD)/parse.c $(HDRS)
	$(CC) $(CFLAGS) -Wno-unused-function -Icompiler -I$(BUILD) -c -o $@ $<
$(BUILD)/lex.o: $(BUILD)/lex.c $(HDRS)
	$(CC) $(CFLAGS) -Wno-unused-function -Wno-sign-compare -Icompiler -I$(BUILD) -c -o $@ $<

$(BUILD)/parse.c $(BUILD)/parse.h: compiler/parse.y | $(BUILD)
	bison -Wall -Werror --defines=$(BUILD)/parse.h -o $(BUILD)/parse.c $<
$(BUILD)/lex.c: compiler/lex.l $(BUILD)/parse.h | $(BUILD)
	flex -o $@ $<

$(RT_LIB): $(RT_OBJS)
	rm -f $@
	ar rcs $@ $(RT_OBJS)

$(BUILD)/rt/%.o: runtime/%.c $(wildcard runtime/*.h) | $(BUILD)
	@mkdir -p $(BUILD)/rt
	$(CC) $(CFLAGS) -O2 -Iruntime -c -o $@ $<

$(BUILD)/dist_mpi.o: runtime/dist.c $(wildcard runtime/*.h) | $(BUILD)
	$(MPICC) $(CFLAGS) -O2 -Iruntime -c -o $@ $<

$(BUILD):
	mkdir -p $@

# Every test; the last line is "N passed, M failed". tests/preflight.sh
# first stops in seconds, naming the package, if anything a test uses is missing.
check:
	@bash tests/preflight.sh
	$(MAKE) all
	bash tests/run.sh

# The digits model on QEMU's Cortex-M4 board; not in `check`: it needs
# qemu-system-arm (make deps-embedded).
check-embedded: all
	bash tests/embedded/run.sh

bench: all
	bash bench/run.sh
	bash bench/dist.sh

# The main job: build, train the digits example, print its test accuracy.
demo: all
	./nnc train examples/digits.nn

# Debian packages the project needs (as root; installs only what is missing).
deps:
	bash tools/install-deps.sh
deps-embedded:
	bash tools/install-deps.sh --embedded

clean:
	rm -rf $(BUILD) nnc

.PHONY: all check check-embedded bench demo deps deps-embedded clean
