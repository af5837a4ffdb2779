# nnc — build, test, benchmark. `make check` runs every test.
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c99 -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L
BUILD   := build

# Pipeline order; see README "Internals".
SRCS := compiler/main.c compiler/util.c compiler/diag.c compiler/ast.c \
        compiler/catalog.c compiler/ops.c compiler/layers.c compiler/graph.c compiler/check.c compiler/ir.c compiler/lower.c \
        compiler/autodiff.c compiler/optim.c compiler/fuse.c compiler/schedule.c compiler/plan.c \
        compiler/weights.c compiler/nolibm.c compiler/summary.c compiler/emit.c compiler/emit_dense.c compiler/emit_conv.c \
        compiler/emit_seq.c compiler/emit_merge.c compiler/emit_norm.c compiler/emit_loss.c compiler/emit_optim.c \
        compiler/emit_model.c compiler/emit_driver.c compiler/emit_infer.c compiler/mpirun.c
GEN  := $(BUILD)/parse.c $(BUILD)/lex.c
# nnc --inference reads .safetensors with the runtime's own reader.
RT_IN_NNC := $(BUILD)/rt/safetensors.o $(BUILD)/rt/data.o $(BUILD)/rt/npy.o
OBJS := $(SRCS:compiler/%.c=$(BUILD)/%.o) $(BUILD)/parse.o $(BUILD)/lex.o $(RT_IN_NNC)
HDRS := compiler/nnc.h compiler/emit.h compiler/ops.h compiler/layers.h $(BUILD)/parse.h

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

# The .safetensors reader that --weights-in-ram prints into NAME_load's file:
# real C in compiler/gen/, compiled alone with warnings as errors as C99 and
# as C++ (as generated code is), then everything after its "---- text" line
# made into C string lines, backslashes and quotes escaped.
GEN_TEXT := $(BUILD)/st_load.inc $(BUILD)/st_decimals.inc
$(BUILD)/%.inc: compiler/gen/%.c | $(BUILD)
	$(CC) -std=c99 -Wall -Wextra -pedantic -Werror -Wno-unused-function -fsyntax-only $<
	$(CXX) -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -Wno-unused-function -fsyntax-only $<
	sed -e '1,/^\/\* ---- text/d' -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $< >$@
$(BUILD)/emit_infer.o: $(GEN_TEXT)

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

# ---- Fuzzing (tests/fuzz/README.md): libFuzzer targets built with clang,
# ASan and UBSan, into build/fuzz. `make fuzz` runs each for FUZZ_SECONDS
# (default 60; FUZZ_TARGETS picks some) on a corpus grown in build/fuzz/corpus; `make check` runs
# each for a few seconds (tests/fuzz/run.sh) and replays tests/fuzz/regress.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= model csv idx npy safetensors load
FUZZ_CC    := clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
              -std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wno-unused-function
FUZZ_DIR   := $(BUILD)/fuzz
FUZZ_NAMES := model csv idx npy safetensors load
FUZZ_BINS  := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_RT    := $(RT_SRCS:runtime/%.c=$(FUZZ_DIR)/rt/%.o)
# the compiler but main.c (the harness is the entry point) and diag.c (which
# fuzz_model.c compiles in, to reset its error count)
FUZZ_NNC   := $(patsubst compiler/%.c,$(FUZZ_DIR)/nnc/%.o,$(filter-out compiler/main.c compiler/diag.c,$(SRCS))) \
              $(FUZZ_DIR)/nnc/parse.o $(FUZZ_DIR)/nnc/lex.o

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" bash tests/fuzz/run.sh --long

$(FUZZ_DIR)/rt/%.o: runtime/%.c $(wildcard runtime/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -Iruntime -c -o $@ $<
$(FUZZ_DIR)/nnc/%.o: compiler/%.c $(HDRS) runtime/nnc_rt.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -Icompiler -Iruntime -I$(BUILD) -c -o $@ $<
$(FUZZ_DIR)/nnc/%.o: $(BUILD)/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -Icompiler -I$(BUILD) -c -o $@ $<

$(FUZZ_DIR)/fuzz_model: tests/fuzz/fuzz_model.c tests/fuzz/fuzz.h compiler/diag.c $(FUZZ_NNC) $(FUZZ_RT)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Icompiler -Iruntime -I$(BUILD) -Wl,--wrap=exit -o $@ \
	    tests/fuzz/fuzz_model.c $(FUZZ_NNC) $(FUZZ_RT) -lz -lm
# the generated reader of the digits example, compiled like any user's code
$(FUZZ_DIR)/digits_ram.c: examples/digits.nn nnc
	@mkdir -p $(@D)
	./nnc examples/digits.nn --weights-in-ram -o $@
$(FUZZ_DIR)/fuzz_load: tests/fuzz/fuzz_load.c tests/fuzz/fuzz.h $(FUZZ_DIR)/digits_ram.c
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Iruntime -I$(FUZZ_DIR) -o $@ $< $(FUZZ_DIR)/digits_ram.c -lm
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_RT)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -Iruntime -o $@ $< $(FUZZ_RT) -lz -lm

# Debian packages the project needs (as root; installs only what is missing).
deps:
	bash tools/install-deps.sh
deps-embedded:
	bash tools/install-deps.sh --embedded

clean:
	rm -rf $(BUILD) nnc

.PHONY: all check check-embedded bench demo deps deps-embedded clean fuzz fuzz-build
