/* bench/nnc_bench.c — times the C that nnc generated for examples/digits.nn.
 * Built by bench/run.sh with the generated header forced in (-include digits.h)
 * and linked with the generated digits.c, both at -O3 -march=native.
 *
 *   nnc_bench train CSV EPOCHS WARMUP   ms per epoch of digits_train_step, plus
 *                                       a forward / backward / update breakdown
 *   nnc_bench infer CSV BLOCKS CALLS    µs per digits_forward(n = 1) call
 *                                       (needs the --batch 1 build)
 * Output is one "name sample sample ..." line per measurement. */
#include "common.h"

#ifndef DIGITS_BATCH
#error "compile with -include digits.h (the header nnc generated)"
#endif

static digits_model model;

/* One pass over the data in batches of DIGITS_BATCH (the last one partial),
 * calling one of the generated functions; returns seconds. */
enum what { TRAIN_STEP, FORWARD, BACKWARD, UPDATE };
static double epoch(enum what w, const float *x, const float *y, int rows, double *loss) {
    static float out[DIGITS_BATCH * DIGITS_OUT];
    double sum = 0;
    double t0 = now_sec();
    for (int r = 0; r < rows; r += DIGITS_BATCH) {
        int n = rows - r < DIGITS_BATCH ? rows - r : DIGITS_BATCH;
        const float *xb = x + (size_t)r * DIGITS_IN, *yb = y + (size_t)r * DIGITS_TARGET;
        switch (w) {
        case TRAIN_STEP: sum += digits_train_step(&model, xb, yb, n) * n; break;
        case FORWARD: digits_forward(&model, xb, out, n); sum += out[0]; break;
        case BACKWARD: sum += digits_backward(&model, xb, yb, n) * n; break;
        case UPDATE: digits_update(&model); break;
        }
    }
    double t = now_sec() - t0;
    if (loss) *loss = sum / rows;
    return t;
}

/* Accuracy over all rows (digits_evaluate), outside any timed loop: a check
 * that the timed code really trains. */
static double accuracy(const float *x, const float *y, int rows) {
    static float out[DIGITS_BATCH * DIGITS_OUT];
    int right = 0;
    for (int r = 0; r < rows; r += DIGITS_BATCH) {
        int n = rows - r < DIGITS_BATCH ? rows - r : DIGITS_BATCH;
        digits_evaluate(&model, x + (size_t)r * DIGITS_IN, y + (size_t)r * DIGITS_TARGET, out, n);
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int k = 1; k < DIGITS_OUT; k++)
                if (out[i * DIGITS_OUT + k] > out[i * DIGITS_OUT + best]) best = k;
            right += best == (int)y[(size_t)(r + i) * DIGITS_TARGET];
        }
    }
    return (double)right / rows;
}

static void train(const float *x, const float *y, int rows, int epochs, int warmup) {
    double *ms = malloc(sizeof(double) * (size_t)epochs), acc1 = 0;
    digits_init(&model, 42);
    for (int e = 0; e < warmup; e++) {
        epoch(TRAIN_STEP, x, y, rows, NULL);
        if (e == 0) acc1 = accuracy(x, y, rows);
    }
    for (int e = 0; e < epochs; e++) ms[e] = 1e3 * epoch(TRAIN_STEP, x, y, rows, NULL);
    print_samples("nnc_train_ms", ms, epochs);
    printf("nnc_train_acc_after_epochs 1 %.4f %d %.4f\n", acc1, warmup + epochs, accuracy(x, y, rows));

    /* Where the time goes: whole epochs of one function each. BACKWARD includes
     * its own forward pass, so backward-only = BACKWARD - FORWARD. */
    static const char *names[] = {"", "nnc_part_forward_ms", "nnc_part_backward_ms", "nnc_part_update_ms"};
    for (int w = FORWARD; w <= UPDATE; w++) {
        epoch((enum what)w, x, y, rows, NULL);
        for (int e = 0; e < epochs; e++) ms[e] = 1e3 * epoch((enum what)w, x, y, rows, NULL);
        print_samples(names[w], ms, epochs);
    }
    free(ms);
}

static void infer(const float *x, int rows, int blocks, int calls) {
    double *us = malloc(sizeof(double) * (size_t)blocks);
    float out[DIGITS_OUT];
    volatile float sink = 0;
    digits_init(&model, 42);
    for (int i = 0; i < calls; i++) digits_forward(&model, x + (size_t)(i % rows) * DIGITS_IN, out, 1);
    for (int b = 0; b < blocks; b++) {
        float acc = 0;
        double t0 = now_sec();
        for (int i = 0; i < calls; i++) {
            digits_forward(&model, x + (size_t)(i % rows) * DIGITS_IN, out, 1);
            acc += out[0];
        }
        us[b] = 1e6 * (now_sec() - t0) / calls;
        sink += acc;
    }
    print_samples("nnc_infer_us", us, blocks);
    free(us);
}

int main(int argc, char **argv) {
    int rows = 0;
    int st = bench_main(argc, argv, "nnc_bench", train, infer, &rows);
    if (st == 0) printf("nnc_rows %d\nnnc_batch %d\n", rows, DIGITS_BATCH);
    return st;
}
