/* bench/common.h — shared by the C benchmark programs: a monotonic clock and
 * the digits CSV reader (header row, 64 feature columns 0..16, then the class).
 * Features are scaled by 1/16 here, so every program sees inputs in [0, 1]. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIG_FEATURES 64
#define DIG_CLASSES 10

__attribute__((unused)) static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads the CSV into *x (rows x 64, scaled by 1/16) and *y (rows, the class
 * index as a float). Returns the number of rows; exits on any error. */
__attribute__((unused)) static int load_digits(const char *path, float **x, float **y) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "bench: cannot open %s\n", path); exit(1); }
    int cap = 2048, rows = 0, c;
    float *xs = malloc(sizeof(float) * (size_t)cap * DIG_FEATURES);
    float *ys = malloc(sizeof(float) * (size_t)cap);
    while ((c = fgetc(f)) != EOF && c != '\n') {} /* skip the header */
    for (;;) {
        float v[DIG_FEATURES + 1];
        int k;
        for (k = 0; k <= DIG_FEATURES; k++)
            if (fscanf(f, " %f ,", &v[k]) != 1) break;
        if (k == 0) break;
        if (k != DIG_FEATURES + 1) { fprintf(stderr, "bench: %s row %d has %d columns\n", path, rows + 2, k); exit(1); }
        if (rows == cap) {
            cap *= 2;
            xs = realloc(xs, sizeof(float) * (size_t)cap * DIG_FEATURES);
            ys = realloc(ys, sizeof(float) * (size_t)cap);
        }
        for (k = 0; k < DIG_FEATURES; k++) xs[rows * DIG_FEATURES + k] = v[k] / 16.0f;
        ys[rows] = v[DIG_FEATURES];
        rows++;
    }
    fclose(f);
    *x = xs;
    *y = ys;
    return rows;
}

/* Prints "name v1 v2 ..." on one line: the raw samples, for bench/report.py. */
__attribute__((unused)) static void print_samples(const char *name, const double *v, int n) {
    printf("%s", name);
    for (int i = 0; i < n; i++) printf(" %.6g", v[i]);
    printf("\n");
}

/* The shared command line of the harnesses:
 *   NAME train CSV EPOCHS WARMUP | NAME infer CSV BLOCKS CALLS */
typedef void bench_train_fn(const float *x, const float *y, int rows, int epochs, int warmup);
typedef void bench_infer_fn(const float *x, int rows, int blocks, int calls);

static inline int bench_main(int argc, char **argv, const char *name, bench_train_fn *train,
                             bench_infer_fn *infer, int *rows_out) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s train CSV EPOCHS WARMUP | infer CSV BLOCKS CALLS\n", argv[0]);
        return 2;
    }
    float *x, *y;
    int rows = load_digits(argv[2], &x, &y);
    int a = atoi(argv[3]), b = atoi(argv[4]);
    if (strcmp(argv[1], "train") == 0) train(x, y, rows, a, b);
    else if (strcmp(argv[1], "infer") == 0) infer(x, rows, a, b);
    else { fprintf(stderr, "%s: unknown mode %s\n", name, argv[1]); return 2; }
    if (rows_out) *rows_out = rows;
    free(x);
    free(y);
    return 0;
}

#endif
