/* fake_model.c — a hand-written stand-in for nnc's generated code, so the
 * runtime can be tested end to end without the compiler: a linear layer
 * out = W x + b ("fc.weight" [N_OUT, N_IN], "fc.bias" [N_OUT], PyTorch's
 * layout) trained by plain SGD, with the loss the task implies (sigmoid
 * cross-entropy on a logit, softmax cross-entropy on logits, or mean squared
 * error; softmax cross-entropy on one-hot targets, hinge on signs).
 * Compile with -DTASK=NNC_BINARY|NNC_SPARSE|NNC_REGRESSION|NNC_ONEHOT|NNC_HINGE; the
 * other knobs below have defaults; -DWITH_METRICS reports auc, precision
 * and recall instead of the default metric. Every entry point aborts if the runtime
 * passes a batch of the wrong size, so a batching bug fails loudly. */
#include <math.h>
#include <stdlib.h>

#include "nnc_rt.h"

#ifndef TASK
#define TASK NNC_BINARY
#endif
#ifndef N_IN
#define N_IN 2
#endif
#ifndef N_OUT
#define N_OUT (TASK == NNC_SPARSE || TASK == NNC_ONEHOT ? 3 : 1)
#endif
#define N_TARGET (TASK == NNC_BINARY || TASK == NNC_SPARSE ? 1 : N_OUT)
#ifndef BATCH
#define BATCH 16
#endif
#ifndef LR
#define LR 0.5f
#endif
#ifndef PRE
#define PRE NNC_PRE_NONE
#endif
#ifndef VSPLIT
#define VSPLIT 0.0
#endif
#ifndef SHUFFLE
#define SHUFFLE 1
#endif
#ifndef EPOCHS
#define EPOCHS 20
#endif

#define N_W (N_OUT * N_IN)
#define N_PARAMS (N_W + N_OUT)

typedef struct fake_model { float p[N_PARAMS]; } fake_model;

static float *params(void *m) { return ((fake_model *)m)->p; }

static void init(void *m, uint64_t seed)
{
    nnc_rng r;
    float *p = params(m);
    nnc_rng_seed(&r, seed);
    for (int i = 0; i < N_W; i++) p[i] = 0.1f * nnc_rng_normal(&r);
    for (int i = N_W; i < N_PARAMS; i++) p[i] = 0;
}

static void check_n(int n)
{
    if (n < 1 || n > BATCH) abort();
}

static void forward(const float *p, const float *x, int n, float *out)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < N_OUT; j++) {
            float s = p[N_W + j];
            for (int k = 0; k < N_IN; k++) s += p[j * N_IN + k] * x[i * N_IN + k];
            out[i * N_OUT + j] = s;
        }
}

/* Mean loss over the batch; g (if not NULL) receives dloss/dout. */
static float loss(const float *out, const float *y, int n, float *g)
{
    double total = 0;
    for (int i = 0; i < n; i++) {
        const float *z = out + i * N_OUT;
        if (TASK == NNC_BINARY) {
            float t = y[i];
            total += fmaxf(z[0], 0) - z[0] * t + log1pf(expf(-fabsf(z[0])));
            if (g) g[i] = (nnc_sigmoid(z[0]) - t) / (float)n;
        } else if (TASK == NNC_ONEHOT) {
            /* softmax cross-entropy against a target distribution */
            float prob[N_OUT];
            const float *t = y + i * N_OUT;
            nnc_softmax(prob, z, N_OUT);
            for (int j = 0; j < N_OUT; j++) {
                total += -t[j] * log(fmax(prob[j], 1e-30));
                if (g) g[i * N_OUT + j] = (prob[j] - t[j]) / (float)n;
            }
        } else if (TASK == NNC_HINGE) {
            for (int j = 0; j < N_OUT; j++) {
                float t = y[i * N_OUT + j] > 0 ? 1.0f : -1.0f, margin = 1 - t * z[j];
                total += margin > 0 ? (double)margin / N_OUT : 0;
                if (g) g[i * N_OUT + j] = margin > 0 ? -t / (float)(n * N_OUT) : 0;
            }
        } else if (TASK == NNC_SPARSE) {
            float prob[N_OUT];
            int c = (int)y[i];
            nnc_softmax(prob, z, N_OUT);
            total += -log(fmax(prob[c], 1e-30));
            if (g)
                for (int j = 0; j < N_OUT; j++) g[i * N_OUT + j] = (prob[j] - (j == c)) / (float)n;
        } else {
            for (int j = 0; j < N_OUT; j++) {
                float e = z[j] - y[i * N_OUT + j];
                total += (double)e * e / N_OUT;
                if (g) g[i * N_OUT + j] = 2 * e / (float)(n * N_OUT);
            }
        }
    }
    return (float)(total / n);
}

static float train_step(void *m, const float *x, const float *y, int n)
{
    float out[BATCH * N_OUT], g[BATCH * N_OUT], *p = params(m);
    check_n(n);
    forward(p, x, n, out);
    float l = loss(out, y, n, g);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < N_OUT; j++) {
            p[N_W + j] -= LR * g[i * N_OUT + j];
            for (int k = 0; k < N_IN; k++) p[j * N_IN + k] -= LR * g[i * N_OUT + j] * x[i * N_IN + k];
        }
    return l;
}

static float evaluate(void *m, const float *x, const float *y, int n, float *out)
{
    check_n(n);
    forward(params(m), x, n, out);
    return loss(out, y, n, NULL);
}

static void predict(void *m, const float *x, int n, float *out)
{
    check_n(n);
    forward(params(m), x, n, out);
}

static const nnc_tensor tensors[] = {
    {"fc.weight", 0, 2, {N_OUT, N_IN, 0, 0}},
    {"fc.bias", N_W, 1, {N_OUT, 0, 0, 0}},
};

static fake_model model;

#ifdef WITH_METRICS
static const nnc_metric metrics[] = {
    {NNC_METRIC_AUC, 0}, {NNC_METRIC_PRECISION, 0}, {NNC_METRIC_RECALL, 0}, {NNC_METRIC_END, 0}};
#else
#define metrics NULL
#endif

int main(int argc, char **argv)
{
    nnc_model_desc d = {
        "fake", "fake.nn", BATCH, N_IN, N_OUT, N_TARGET, TASK, TASK != NNC_REGRESSION, N_PARAMS, tensors, 2,
        params, init, train_step, evaluate, predict, EPOCHS, SHUFFLE, 42, VSPLIT,
        getenv("FAKE_TRAIN"), getenv("FAKE_TEST"), PRE, NULL /* learning_rate */, NULL /* callbacks */,
        metrics, NULL, 0, 0, NULL, NULL /* no optimizer state */,
        getenv("FAKE_TRAIN_LABELS") && *getenv("FAKE_TRAIN_LABELS") ? getenv("FAKE_TRAIN_LABELS") : NULL,
        NULL, 1.0, /* IDX or .npy labels, scale */
        0, /* not token ids */
        NULL, NULL, NULL, 0, NULL, /* validation_data and labels, lr_scale, cross_validate, summary */
        NNC_FORMAT_AUTO, NULL, 0, 0, /* format, class_weight */
        1, /* steps: one classified row per sample */
        NULL, NULL, NULL, NULL, NULL, /* dist: one process only */
    };
    return nnc_main(&d, &model, argc, argv);
}
