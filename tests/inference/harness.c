/* harness.c — runs an inference build (nnc --inference) on a CSV file read
 * from stdin, the way a product would: raw feature values in, one output row
 * printed per sample with %.9g. With -DSOFTMAX the outputs (logits) are turned
 * into probabilities exactly as `nnc predict` does (runtime/metrics.c). The
 * model is chosen at compile time: -DM_NAME=digits and #include "model.h".
 * First it checks the header's memory macros against sizeof. */
#include "model.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define ARENA CAT(M_NAME, _arena)
#define WEIGHTS CAT(M_NAME, _weights)
#define FORWARD CAT(M_NAME, _forward)

static void print_row(const float *o, int k) {
#ifdef SOFTMAX
    float p[M_OUT], max = o[0];
    double sum = 0;
    for (int i = 1; i < k; i++) max = o[i] > max ? o[i] : max;
    for (int i = 0; i < k; i++) sum += p[i] = expf(o[i] - max);
    for (int i = 0; i < k; i++) printf("%s%.9g", i ? "," : "", (double)(float)(p[i] / sum));
#else
    for (int i = 0; i < k; i++) printf("%s%.9g", i ? "," : "", (double)o[i]);
#endif
    printf("\n");
}

int main(void) {
    static ARENA arena;     /* the caller owns the arena */
    static float x[M_BATCH * M_IN], out[M_BATCH * M_OUT];
    static char line[1 << 16];
    if (sizeof(ARENA) != M_ARENA_BYTES || sizeof(WEIGHTS) != M_WEIGHT_BYTES) {
        fprintf(stderr, "memory macros: arena %zu vs %ld, weights %zu vs %ld\n", sizeof(ARENA),
                (long)M_ARENA_BYTES, sizeof(WEIGHTS), (long)M_WEIGHT_BYTES);
        return 1;
    }
    int n = 0, row = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *s = line, *end;
        row++;
        float *xr = x + n * M_IN;
        for (int j = 0; j < M_IN; j++) {
            xr[j] = strtof(s, &end);
            if (end == s) {
                if (row == 1 && j == 0) goto next;  /* the header */
                fprintf(stderr, "row %d: bad field %d\n", row, j + 1);
                return 1;
            }
            s = *end == ',' ? end + 1 : end;
        }
        if (++n == M_BATCH) {
            FORWARD(&arena, x, out, n);
            for (int r = 0; r < n; r++) print_row(out + r * M_OUT, M_OUT);
            n = 0;
        }
    next:;
    }
    if (n) {    /* the last partial batch */
        FORWARD(&arena, x, out, n);
        for (int r = 0; r < n; r++) print_row(out + r * M_OUT, M_OUT);
    }
    return 0;
}
