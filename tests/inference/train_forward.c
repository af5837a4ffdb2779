/* train_forward.c — the training build's inference forward (NAME_forward:
 * no dropout, batch norm with its running statistics) on a CSV from stdin,
 * weights loaded by name from a .safetensors file with the runtime's reader;
 * prints a header line, then each sample's outputs with %.9g. The reference
 * an inference build (dropout removed, batch norm folded) must equal.
 * Built like tests/gradcheck: -include the model's header, -DP=name, -DUP=NAME,
 * and -DREAL=double for a model emitted with --real=double. */
#include <stdio.h>
#include <stdlib.h>

#include "nnc_rt.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(name) CAT(P, CAT(_, name))
#define M(name) CAT(UP, CAT(_, name))

#ifndef REAL
#define REAL float
#endif

static F(model) m;

static void flush(REAL *x, int n) {
    static REAL out[M(BATCH) * M(OUT)];
    F(forward)(&m, x, out, n);
    for (int r = 0; r < n; r++)
        for (int k = 0; k < M(OUT); k++)
            printf("%.9g%s", (double)out[r * M(OUT) + k], k + 1 < M(OUT) ? "," : "\n");
}

int main(int argc, char **argv) {
    static REAL x[M(BATCH) * M(IN)];
    static float buf[M(NUM_PARAMS)];
    static char line[1 << 16];
    nnc_st_file f;
    if (argc != 2 || nnc_st_read(&f, argv[1])) {
        fprintf(stderr, "usage: train_forward W.safetensors < CSV (%s)\n", argc == 2 ? nnc_error() : "");
        return 2;
    }
    F(init)(&m, 1);
    for (int i = 0; i < M(NUM_TENSORS); i++) {
        const nnc_st_tensor *t = nnc_st_find(&f, F(tensors)[i].name);
        if (!t || nnc_st_to_f32(&f, t, buf + F(tensors)[i].offset)) {
            fprintf(stderr, "tensor %s: missing or unreadable\n", F(tensors)[i].name);
            return 1;
        }
    }
    for (int i = 0; i < M(NUM_PARAMS); i++)
        m.params[i] = buf[i];
    printf("out\n");
    int n = 0, row = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *s = line, *end;
        if (row++ == 0 && (line[0] < '0' || line[0] > '9') && line[0] != '-')
            continue;   /* the header */
        for (int j = 0; j < M(IN); j++, s = end + (*end == ',')) {
            x[n * M(IN) + j] = (REAL)strtof(s, &end);      /* the float the inference build reads */
            if (end == s) {
                fprintf(stderr, "row %d: bad field %d\n", row, j + 1);
                return 1;
            }
        }
        if (++n == M(BATCH)) {
            flush(x, n);
            n = 0;
        }
    }
    if (n)
        flush(x, n);
    return 0;
}
