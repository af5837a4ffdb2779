/* curve_model.c — a stand-in model whose learning curve is scripted, so the
 * callbacks can be checked against epochs worked out by hand. One parameter
 * w counts the training steps; with one batch per epoch w is the epoch.
 * The validation loss after epoch e is CURVE's e-th value (a comma list in
 * the environment), the training loss 2 minus it, and the output is w, so
 * rmse against zero targets is w. The callbacks come from the environment:
 * ES_PATIENCE (set: early_stopping on), ES_DELTA, ES_RESTORE, ES_MONITOR,
 * ES_MODE, CKPT (path), CKPT_BEST, CKPT_MONITOR, CSV (path), RLR_PATIENCE (set:
 * reduce_lr_on_plateau on), RLR_FACTOR, RLR_DELTA, RLR_COOLDOWN, RLR_MIN_LR,
 * RLR_MONITOR, RLR_MODE; METRICS ("mse,mae": metrics(...), whose values are
 * all w against zero targets, w^2 for mse); VAL_DATA (a validation file in
 * place of the split). The learning rate is 0.5 times the multiplier
 * reduce_lr_on_plateau sets; it changes nothing else. */
#include <stdlib.h>
#include <string.h>

#include "nnc_rt.h"

#define BATCH 64
#define MAX_EPOCHS 64

typedef struct curve_model { float w[1]; float lr_scale; } curve_model;

static float curve[MAX_EPOCHS];
static int n_curve;

static float *params(void *m) { return ((curve_model *)m)->w; }
static void init(void *m, uint64_t seed) { (void)seed; params(m)[0] = 0; }

static float at(float w)
{
    int e = (int)w;
    e = e < 1 ? 1 : e > n_curve ? n_curve : e;
    return curve[e - 1];
}

static float train_step(void *m, const float *x, const float *y, int n)
{
    (void)x, (void)y, (void)n;
    params(m)[0] += 1;
    return 2 - at(params(m)[0]);
}

static void predict(void *m, const float *x, int n, float *out)
{
    (void)x;
    for (int i = 0; i < n; i++) out[i] = params(m)[0];
}

static float evaluate(void *m, const float *x, const float *y, int n, float *out)
{
    (void)y;
    predict(m, x, n, out);
    return at(params(m)[0]);
}

static float learning_rate(void *m)
{
    float s = ((curve_model *)m)->lr_scale;
    return (float)(0.5 * (s > 0 ? s : 1.0f));
}
static float *lr_scale(void *m) { return &((curve_model *)m)->lr_scale; }

static nnc_metric metrics[8];
static const char *metric_names[8];

/* A monitor's name to its code: the six fixed ones, else a metric of METRICS. */
static int monitor(const char *s)
{
    static const char *const names[] = {"loss", "val_loss", "accuracy", "val_accuracy", "rmse", "val_rmse"};
    for (int i = 0; s && i < NNC_MON_COUNT; i++)
        if (!strcmp(s, names[i])) return i;
    for (int i = 0; s && metric_names[i]; i++) {
        int val = !strncmp(s, "val_", 4);
        if (!strcmp(s + 4 * val, metric_names[i])) return NNC_MON_METRIC + 2 * i + val;
    }
    return NNC_MON_VAL_LOSS;
}

static int mode_of(const char *s)
{
    return !s ? NNC_MODE_AUTO : !strcmp(s, "max") ? NNC_MODE_MAX : !strcmp(s, "min") ? NNC_MODE_MIN : NNC_MODE_AUTO;
}

static int env_int(const char *k) { return getenv(k) ? atoi(getenv(k)) : 0; }

static const nnc_tensor tensors[] = {{"w", 0, 1, {1, 0, 0, 0}}};
static curve_model model;

int main(int argc, char **argv)
{
    nnc_callbacks cb = {0};
    const char *c = getenv("CURVE"), *mode = getenv("ES_MODE"), *ms = getenv("METRICS");
    static const char *const kinds[] = {"", "accuracy", "binary_accuracy", "mse", "mae", "rmse"};
    for (int n = 0; ms && *ms && n < 7;) {
        size_t len = strcspn(ms, ",");
        for (int k = 1; k < 6; k++)
            if (strlen(kinds[k]) == len && !strncmp(ms, kinds[k], len)) metrics[n].kind = k, metric_names[n++] = kinds[k];
        ms += len + (ms[len] == ',');
    }
    while (c && *c && n_curve < MAX_EPOCHS) {
        char *end;
        curve[n_curve++] = strtof(c, &end);
        c = *end == ',' ? end + 1 : end;
    }
    if (!n_curve) curve[n_curve++] = 1;
    if (getenv("ES_PATIENCE")) {
        cb.early_stopping = 1;
        cb.es_patience = env_int("ES_PATIENCE");
        cb.es_min_delta = getenv("ES_DELTA") ? atof(getenv("ES_DELTA")) : 0;
        cb.es_restore_best = env_int("ES_RESTORE");
        cb.es_monitor = monitor(getenv("ES_MONITOR"));
        cb.es_mode = !mode ? NNC_MODE_AUTO : !strcmp(mode, "max") ? NNC_MODE_MAX : NNC_MODE_MIN;
    }
    if (getenv("RLR_PATIENCE")) {
        cb.reduce_lr = 1;
        cb.rlr_patience = env_int("RLR_PATIENCE");
        cb.rlr_factor = getenv("RLR_FACTOR") ? atof(getenv("RLR_FACTOR")) : 0.1;
        cb.rlr_min_delta = getenv("RLR_DELTA") ? atof(getenv("RLR_DELTA")) : 1e-4;
        cb.rlr_cooldown = env_int("RLR_COOLDOWN");
        cb.rlr_min_lr = getenv("RLR_MIN_LR") ? atof(getenv("RLR_MIN_LR")) : 0;
        cb.rlr_monitor = monitor(getenv("RLR_MONITOR"));
        cb.rlr_mode = mode_of(getenv("RLR_MODE"));
    }
    cb.checkpoint = getenv("CKPT");
    cb.ckpt_save_best_only = env_int("CKPT_BEST");
    cb.ckpt_monitor = monitor(getenv("CKPT_MONITOR"));
    cb.csv_log = getenv("CSV");
    nnc_model_desc d = {
        "curve", "curve.nn", BATCH, 1, 1, 1, NNC_REGRESSION, 0, 1, tensors, 1,
        params, init, train_step, evaluate, predict, n_curve, 0, 0, getenv("VAL_DATA") ? 0 : 0.2,
        NULL, NULL, NNC_PRE_NONE, learning_rate, &cb, metric_names[0] ? metrics : NULL,
        NULL, 0, 0, NULL, NULL /* no optimizer state */,
        NULL, NULL, 1.0, /* IDX labels, scale */
        0, /* not token ids */
        getenv("VAL_DATA"), NULL, lr_scale, 0, NULL, /* validation_data, lr_scale, cross_validate, summary */
        NNC_FORMAT_AUTO, NULL, 0, 0, /* format, class_weight */
        1, /* steps: one classified row per sample */
        NULL, NULL, NULL, NULL, NULL, /* dist: one process only */
    };
    return nnc_main(&d, &model, argc, argv);
}
