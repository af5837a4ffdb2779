# nnc — build, test, benchmark. `make check` runs every test.
CC      ?= cc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c99 -Wall -Wextra -pedantic -D_POSIX_C_SOURCE=200809L
BUILD   := build

# Pipeline order; see README "Internals".
SRCS := compiler/main.c compiler/util.c compiler/diag.c compiler/ast.c \
        compiler/catalog.c compiler/ops.c compiler/layers.c compiler/graph.c compiler/check.c compiler/ir.c compiler/lower.c \
        compiler/autodiff.c compiler/optim.c compiler/fuse.c compiler/schedule.c compiler/plan.c \
        compiler/weights.c compiler/emit.c compiler/emit_dense.c compiler/emit_conv.c \
        compiler/emit_seq.c compiler/emit_merge.c compiler/emit_norm.c compiler/emit_loss.c compiler/emit_optim.c \
        compiler/emit_model.c compiler/emit_driver.c compiler/emit_infer.c compiler/nolibm.c compiler/summary.c
GEN  := $(BUILD)/parse.c $(BUILD)/lex.c
# nnc --inference reads .safetensors with the runtime's own reader.
RT_IN_NNC := $(BUILD)/rt/safetensors.o $(BUILD)/rt/data.o $(BUILD)/rt/npy.o
OBJS := $(SRCS:compiler/%.c=$(BUILD)/%.o) $(BUILD)/parse.o $(BUILD)/lex.o $(RT_IN_NNC)
HDRS := compiler/nnc.h compiler/emit.h compiler/ops.h compiler/layers.h $(BUILD)/parse.h

# The runtime that nnc train links: built once here, found beside nnc.
RT_SRCS := $(wildcard runtime/*.c)
RT_OBJS := $(RT_SRCS:runtime/%.c=$(BUILD)/rt/%.o)
RT_LIB  := $(BUILD)/libnncrt.a

all: nnc $(RT_LIB)

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
