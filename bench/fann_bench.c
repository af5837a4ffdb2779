/* bench/fann_bench.c — the same 64-32-16-10 MLP in FANN 2.2 (float build).
 *
 * FANN 2.2 has no ReLU (FANN_LINEAR_PIECE_RECT arrived in 2.3), so the hidden
 * layers use FANN_LINEAR_PIECE, the closest it has: max(0, min(1, x)). FANN
 * has no softmax cross-entropy either: the output layer is FANN_LINEAR trained
 * on one-hot targets with FANN's squared error (FANN_ERRORFUNC_LINEAR). The
 * flops per sample are the same as the nnc model's.
 *
 *   fann_bench train CSV EPOCHS WARMUP
 *       online: fann_train once per sample (FANN_TRAIN_INCREMENTAL, how FANN is
 *       normally used: one weight update per sample), and batch:
 *       fann_train_epoch with FANN_TRAIN_BATCH (one update per epoch)
 *   fann_bench infer CSV BLOCKS CALLS
 *       µs per fann_run call on one sample */
#include "common.h"
#include <floatfann.h>

static struct fann *make_net(void) {
    struct fann *ann = fann_create_standard(4, 64, 32, 16, 10);
    if (!ann) { fprintf(stderr, "fann_bench: fann_create_standard failed\n"); exit(1); }
    fann_set_activation_function_hidden(ann, FANN_LINEAR_PIECE);
    fann_set_activation_function_output(ann, FANN_LINEAR);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    fann_set_learning_rate(ann, 0.01f); /* online SGD: one step per sample */
    fann_seed_rand(); /* seeded from the clock; timing does not depend on it */
    srand(42);
    fann_randomize_weights(ann, -0.25f, 0.25f);
    return ann;
}

/* One-hot float targets, rows x 10. */
static float *one_hot(const float *y, int rows) {
    float *t = calloc((size_t)rows * DIG_CLASSES, sizeof(float));
    for (int r = 0; r < rows; r++) t[r * DIG_CLASSES + (int)y[r]] = 1.0f;
    return t;
}

/* Accuracy over all rows (argmax of fann_run), outside any timed loop: a check
 * that the timed code really trains. */
static double accuracy(struct fann *ann, const float *x, const float *y, int rows) {
    int right = 0;
    for (int r = 0; r < rows; r++) {
        const fann_type *o = fann_run(ann, (fann_type *)x + (size_t)r * DIG_FEATURES);
        int best = 0;
        for (int k = 1; k < DIG_CLASSES; k++)
            if (o[k] > o[best]) best = k;
        right += best == (int)y[r];
    }
    return (double)right / rows;
}

static void train(const float *x, const float *y, int rows, int epochs, int warmup) {
    double *ms = malloc(sizeof(double) * (size_t)epochs), acc1 = 0;
    float *t = one_hot(y, rows);

    /* Online: one fann_train per sample, in file order. */
    struct fann *ann = make_net();
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    for (int e = 0; e < warmup + epochs; e++) {
        double t0 = now_sec();
        for (int r = 0; r < rows; r++)
            fann_train(ann, (fann_type *)x + (size_t)r * DIG_FEATURES, t + (size_t)r * DIG_CLASSES);
        double dt = now_sec() - t0;
        if (e == 0) acc1 = accuracy(ann, x, y, rows);
        if (e >= warmup) ms[e - warmup] = 1e3 * dt;
    }
    print_samples("fann_online_ms", ms, epochs);
    printf("fann_online_train_acc_after_epochs 1 %.4f %d %.4f\n", acc1, warmup + epochs, accuracy(ann, x, y, rows));
    fann_destroy(ann);

    /* Batch: fann_train_epoch over a fann_train_data holding the same rows. */
    struct fann_train_data *data = fann_create_train((unsigned)rows, DIG_FEATURES, DIG_CLASSES);
    if (!data) { fprintf(stderr, "fann_bench: fann_create_train failed\n"); exit(1); }
    for (int r = 0; r < rows; r++) {
        memcpy(data->input[r], x + (size_t)r * DIG_FEATURES, sizeof(float) * DIG_FEATURES);
        memcpy(data->output[r], t + (size_t)r * DIG_CLASSES, sizeof(float) * DIG_CLASSES);
    }
    ann = make_net();
    fann_set_training_algorithm(ann, FANN_TRAIN_BATCH);
    fann_set_learning_rate(ann, 0.7f); /* FANN's default: batch mode divides it by the row count */
    for (int e = 0; e < warmup + epochs; e++) {
        double t0 = now_sec();
        fann_train_epoch(ann, data);
        double dt = now_sec() - t0;
        if (e == 0) acc1 = accuracy(ann, x, y, rows);
        if (e >= warmup) ms[e - warmup] = 1e3 * dt;
    }
    print_samples("fann_batch_ms", ms, epochs);
    printf("fann_batch_train_acc_after_epochs 1 %.4f %d %.4f\n", acc1, warmup + epochs, accuracy(ann, x, y, rows));
    fann_destroy(ann);
    fann_destroy_train(data);
    free(t);
    free(ms);
}

static void infer(const float *x, int rows, int blocks, int calls) {
    double *us = malloc(sizeof(double) * (size_t)blocks);
    volatile float sink = 0;
    struct fann *ann = make_net();
    for (int i = 0; i < calls; i++) sink += fann_run(ann, (fann_type *)x + (size_t)(i % rows) * DIG_FEATURES)[0];
    for (int b = 0; b < blocks; b++) {
        float acc = 0;
        double t0 = now_sec();
        for (int i = 0; i < calls; i++)
            acc += fann_run(ann, (fann_type *)x + (size_t)(i % rows) * DIG_FEATURES)[0];
        us[b] = 1e6 * (now_sec() - t0) / calls;
        sink += acc;
    }
    print_samples("fann_infer_us", us, blocks);
    fann_destroy(ann);
    free(us);
}

int main(int argc, char **argv) {
    return bench_main(argc, argv, "fann_bench", train, infer, NULL);
}
