/* bench/lenet_bench.c — times the C that nnc generated for examples/lenet5.nn
 * on Fashion-MNIST. Built by bench/run.sh with the generated header forced in
 * (-include lenet5.h), linked with the generated lenet5.c and zlib.
 *
 *   lenet_bench train IMAGES.gz LABELS.gz EPOCHS BLOCK
 *       seconds per block of BLOCK images of lenet5_train_step (batches of
 *       LENET5_BATCH, file order), over EPOCHS whole passes of the training set after
 *       one untimed warm-up block
 *   lenet_bench infer IMAGES.gz BLOCKS CALLS
 *       µs per lenet5_forward(n = 1) call (needs the --batch 1 build)
 * Output is one "name sample sample ..." line per measurement, as the other
 * benchmark programs print. */
#include "common.h"

#include <stdint.h>
#include <zlib.h>

/* The same program times any Fashion-MNIST image model: -DNET=keras_cnn -DNETU=KERAS_CNN
 * -DTAG='"kcnn"' with -include keras_cnn.h picks the generated functions and names
 * the output lines (bench/run.sh builds it for lenet5 and the Keras CNN). */
#ifndef NET
#define NET lenet5
#define NETU LENET5
#define TAG "lenet"
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(f) CAT(NET, f)           /* FN(_forward): FN(_forward) */
#define BATCH CAT(NETU, _BATCH)
#define IN CAT(NETU, _IN)
#define OUT CAT(NETU, _OUT)

static FN(_model) model;

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
    unsigned char *b = read_idx(path, 16, IN, count);
    float *x = malloc(sizeof(float) * (size_t)*count * IN);
    for (size_t i = 0; i < (size_t)*count * IN; i++) x[i] = b[i] / 255.0f;
    free(b);
    return x;
}

/* Batches of BATCH over rows [r0, r1); returns the summed loss. */
static double steps(const float *x, const float *y, int r0, int r1) {
    double sum = 0;
    for (int r = r0; r < r1; r += BATCH) {
        int n = r1 - r < BATCH ? r1 - r : BATCH;
        sum += FN(_train_step)(&model, x + (size_t)r * IN, y + r, n) * n;
    }
    return sum;
}

static double accuracy(const float *x, const float *y, int rows) {
    static float out[BATCH * OUT];
    int right = 0;
    for (int r = 0; r < rows; r += BATCH) {
        int n = rows - r < BATCH ? rows - r : BATCH;
        FN(_forward)(&model, x + (size_t)r * IN, out, n);
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int k = 1; k < OUT; k++)
                if (out[i * OUT + k] > out[i * OUT + best]) best = k;
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
    FN(_init)(&model, 42);
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
        print_samples(TAG "_nnc_block_s", s, blocks * epochs);
        printf(TAG "_block_images %d\n" TAG "_train_images %d\n", block, rows);
        printf(TAG "_nnc_train_acc %.4f\n", accuracy(x, y, rows));
    } else {
        int nb = atoi(argv[3]), calls = atoi(argv[4]);
        double *us = malloc(sizeof(double) * (size_t)nb);
        float out[OUT];
        volatile float sink = 0;
        for (int i = 0; i < calls; i++) FN(_forward)(&model, x + (size_t)(i % rows) * IN, out, 1);
        for (int b = 0; b < nb; b++) {
            float acc = 0;
            double t0 = now_sec();
            for (int i = 0; i < calls; i++) {
                FN(_forward)(&model, x + (size_t)(i % rows) * IN, out, 1);
                acc += out[0];
            }
            us[b] = 1e6 * (now_sec() - t0) / calls;
            sink += acc;
        }
        print_samples(TAG "_nnc_infer_us", us, nb);
    }
    return 0;
}
