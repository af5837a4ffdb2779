/* fuzz.h — what the libFuzzer targets in this directory share: a model
 * descriptor for the data readers (no generated code behind it: the readers
 * only look at its sizes, task and paths) and a scratch file for the readers
 * that take a path. Each target defines LLVMFuzzerTestOneInput; see
 * tests/fuzz/README.md. */
#ifndef NNC_FUZZ_H
#define NNC_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nnc_rt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A finding that is not a crash: said on stderr (tests/fuzz/run.sh quotes
 * the line, and tests/fuzz/regress/PENDING can name it), then abort() so
 * that libFuzzer keeps the input. */
#define FINDING(...) \
    do { \
        fprintf(stderr, "FINDING: " __VA_ARGS__); \
        fputc('\n', stderr); \
        abort(); \
    } while (0)

/* Leaks are not findings here: the compiler frees nothing by design (one
 * run, then exit), and the readers' frees are checked by tests/runtime
 * under valgrind. */
const char *__asan_default_options(void) { return "detect_leaks=0"; }

/* A descriptor shaped by one input byte, so the fuzzer explores every
 * task and a few input sizes: n_in 1..8, then the task, steps and the
 * token-id limit. */
static inline nnc_model_desc fuzz_desc(uint8_t b) {
    static const int tasks[] = {NNC_REGRESSION, NNC_BINARY, NNC_SPARSE, NNC_ONEHOT, NNC_HINGE};
    nnc_model_desc d;
    memset(&d, 0, sizeof d);
    d.name = "fuzz";
    d.batch = 4;
    d.n_in = 1 + (b & 7);
    d.task = tasks[(b >> 3) % 5];
    d.steps = b & 0x80 ? 2 : 1;
    d.n_out = (d.task == NNC_SPARSE || d.task == NNC_ONEHOT ? 3 : 1) * d.steps;
    d.n_target = d.task == NNC_ONEHOT || d.task == NNC_REGRESSION || d.task == NNC_HINGE ? d.n_out : d.steps;
    d.token_ids = b & 0x40 ? 10 : 0;
    return d;
}

/* The first "LBLS" in data[0..size) (memmem is not in C99 or POSIX), or NULL:
 * where the inputs file of a two-file target ends and its labels file begins. */
static inline const uint8_t *fuzz_split(const uint8_t *data, size_t size) {
    for (size_t i = 0; i + 4 <= size; i++)
        if (!memcmp(data + i, "LBLS", 4)) return data + i;
    return NULL;
}

static char fuzz_paths[8][512];

static void fuzz_cleanup(void) {
    for (int i = 0; i < 8; i++)
        if (fuzz_paths[i][0]) unlink(fuzz_paths[i]);
}

/* data[0..size) into a file of this process's own (TMPDIR or /tmp),
 * removed at exit. */
static inline const char *fuzz_file(const char *suffix, const uint8_t *data, size_t size) {
    static int next;
    const char *dir = getenv("TMPDIR");
    if (!next) atexit(fuzz_cleanup);
    char *p = fuzz_paths[next++ & 7];
    snprintf(p, sizeof fuzz_paths[0], "%s/nnc-fuzz-%ld-%s", dir && *dir ? dir : "/tmp", (long)getpid(), suffix);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f)) abort();
    return p;
}

/* The two-file data targets: byte 0 shapes the model, the rest is the
 * inputs file and, after the first "LBLS", the labels file (the model's
 * train_labels); nnc_data_load in `format` must load it or say why. */
static inline int fuzz_data_load(const uint8_t *data, size_t size, int format, const char *x_name,
                                 const char *y_name) {
    if (size < 1) return 0;
    nnc_model_desc d = fuzz_desc(data[0]);
    const uint8_t *body = data + 1, *sep = fuzz_split(body, size - 1);
    size_t n_x = sep ? (size_t)(sep - body) : size - 1;
    const char *x = fuzz_file(x_name, body, n_x);
    d.data_format = format;
    d.train_path = x;
    d.train_labels_path = sep ? fuzz_file(y_name, sep + 4, size - 1 - n_x - 4) : NULL;
    nnc_dataset ds;
    if (nnc_data_load(&ds, x, &d, !sep && format == NNC_FORMAT_AUTO) == 0) nnc_data_free(&ds);
    else if (!*nnc_error()) FINDING("nnc_data_load failed without a message");
    return 0;
}

#endif
