/* bench/lenet_bench.c — times the C that nnc generated for examples/lenet5.nn
 * on Fashion-MNIST. Built by bench/run.sh with the generated header forced in
 * (-include lenet5.h), linked with the generated lenet5.c and zlib.
 *
 *   lenet_bench train IMAGES.gz LABELS.gz EPOCHS BLOCK
 *       seconds per block of BLOCK images of lenet5_train_step (batches of
 *       32, file order), over EPOCHS whole passes of the training set after
 *       one untimed warm-up block
 *   lenet_bench infer IMAGES.gz BLOCKS CALLS
 *       µs per lenet5_forward(n = 1) call (needs the --batch 1 build)
 * Output is one "name sample sample ..." line per measurement, as the other
 * benchmark programs print. */
#include "common.h"

#include <stdint.h>
#include <zlib.h>

#ifndef LENET5_BATCH
#error "compile with -include lenet5.h (the header nnc generated)"
#endif

static lenet5_model model;

/* An IDX file (gzipped): count items of `each` bytes after a header of
 * `header` bytes whose second word is the count. Exits on any error. */
static unsigned char *read_idx(const char *path, int header, long each, int *count) {
    gzFile f = gzopen(path, "rb");
    unsigned char h[16];
    if (!f || gzread(f, h, (unsigned)header) != header) { fprintf(stderr, "bench: cannot read %s\n", path); exit(1); }
    *count = (int)((uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7]);
    size_t n = (size_t)*count * (size_t)each;
    unsigned char *d = malloc(n);
    if (!d || gzread(f, d, (unsigned)n) != (int)n) { fprintf(stderr, "bench: %s is short\n", path); exit(1); }
    gzclose(f);
    return d;
}

/* Pixels / 255 as floats, as data(scale = 255) reads them. */
static float *images(const char *path, int *count) {
    unsigned char *b = read_idx(path, 16, LENET5_IN, count);
    float *x = malloc(sizeof(float) * (size_t)*count * LENET5_IN);
    for (size_t i = 0; i < (size_t)*count * LENET5_IN; i++) x[i] = b[i] / 255.0f;
    free(b);
    return x;
}

/* Batches of LENET5_BATCH over rows [r0, r1); returns the summed loss. */
static double steps(const float *x, const float *y, int r0, int r1) {
    double sum = 0;
    for (int r = r0; r < r1; r += LENET5_BATCH) {
        int n = r1 - r < LENET5_BATCH ? r1 - r : LENET5_BATCH;
        sum += lenet5_train_step(&model, x + (size_t)r * LENET5_IN, y + r, n) * n;
    }
    return sum;
}

static double accuracy(const float *x, const float *y, int rows) {
    static float out[LENET5_BATCH * LENET5_OUT];
    int right = 0;
    for (int r = 0; r < rows; r += LENET5_BATCH) {
        int n = rows - r < LENET5_BATCH ? rows - r : LENET5_BATCH;
        lenet5_forward(&model, x + (size_t)r * LENET5_IN, out, n);
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int k = 1; k < LENET5_OUT; k++)
                if (out[i * LENET5_OUT + k] > out[i * LENET5_OUT + best]) best = k;
            right += best == (int)y[r + i];
        }
    }
    return (double)right / rows;
}

int main(int argc, char **argv) {
    if (argc != 6 && !(argc == 5 && !strcmp(argv[1], "infer"))) {
        fprintf(stderr, "usage: lenet_bench train IMAGES LABELS EPOCHS BLOCK | infer IMAGES BLOCKS CALLS\n");
        return 2;
    }
    int rows;
    float *x = images(argv[2], &rows);
    lenet5_init(&model, 42);
    if (!strcmp(argv[1], "train")) {
        int nl, epochs = atoi(argv[4]), block = atoi(argv[5]);
        unsigned char *lb = read_idx(argv[3], 8, 1, &nl);
        float *y = malloc(sizeof(float) * (size_t)rows);
        for (int i = 0; i < rows; i++) y[i] = lb[i];
        int blocks = rows / block;    /* whole blocks of each pass */
        double *s = malloc(sizeof(double) * (size_t)(blocks * epochs));
        steps(x, y, 0, block);        /* warm-up */
        for (int e = 0; e < epochs; e++)
            for (int k = 0; k < blocks; k++) {
                double t0 = now_sec();
                steps(x, y, k * block, (k + 1) * block);
                s[e * blocks + k] = now_sec() - t0;
            }
        print_samples("lenet_nnc_block_s", s, blocks * epochs);
        printf("lenet_block_images %d\nlenet_train_images %d\n", block, rows);
        printf("lenet_nnc_train_acc %.4f\n", accuracy(x, y, rows));
    } else {
        int nb = atoi(argv[3]), calls = atoi(argv[4]);
        double *us = malloc(sizeof(double) * (size_t)nb);
        float out[LENET5_OUT];
        volatile float sink = 0;
        for (int i = 0; i < calls; i++) lenet5_forward(&model, x + (size_t)(i % rows) * LENET5_IN, out, 1);
        for (int b = 0; b < nb; b++) {
            float acc = 0;
            double t0 = now_sec();
            for (int i = 0; i < calls; i++) {
                lenet5_forward(&model, x + (size_t)(i % rows) * LENET5_IN, out, 1);
                acc += out[0];
            }
            us[b] = 1e6 * (now_sec() - t0) / calls;
            sink += acc;
        }
        print_samples("lenet_nnc_infer_us", us, nb);
    }
    return 0;
}
