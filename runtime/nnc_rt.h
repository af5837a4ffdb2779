/* nnc_rt.h — the nnc runtime: what a generated model needs to be trained,
 * evaluated and used from the command line. The generated model code itself
 * never includes this file (it has no dependencies); `nnc train` writes a
 * small glue file that fills an nnc_model_desc and calls nnc_main(). */
#ifndef NNC_RT_H
#define NNC_RT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One named parameter tensor inside the model's parameter block, with
 * PyTorch's name and layout ("fc1.weight" is [out, in]). */
typedef struct nnc_tensor {
    const char *name;
    size_t offset;      /* in floats, from params(m) */
    int ndim;
    int shape[4];
} nnc_tensor;

/* How targets are read from data and how outputs are scored. */
enum {
    NNC_REGRESSION = 0, /* n_target == n_out real values; metric rmse */
    NNC_BINARY = 1,     /* one 0/1 target column; metric accuracy */
    NNC_SPARSE = 2,     /* one integer class column in [0, n_out); metric accuracy */
    NNC_ONEHOT = 3,     /* n_target == n_out columns in [0, 1] (one-hot or a distribution);
                           accuracy: argmax(target) == argmax(output) */
    NNC_HINGE = 4       /* n_target == n_out columns of -1, 0 or 1 (0 reads as -1);
                           accuracy: the sign of each output value */
};

enum { NNC_PRE_NONE = 0, NNC_PRE_STANDARDIZE = 1, NNC_PRE_MINMAX = 2 };

/* data(format = ...) */
enum { NNC_FORMAT_AUTO = 0, NNC_FORMAT_CSV, NNC_FORMAT_IDX, NNC_FORMAT_NPY };

/* What a callback monitors, as Keras names it in its logs. */
enum {
    NNC_MON_LOSS = 0, NNC_MON_VAL_LOSS, NNC_MON_ACCURACY, NNC_MON_VAL_ACCURACY,
    NNC_MON_RMSE, NNC_MON_VAL_RMSE, NNC_MON_COUNT,
    /* NNC_MON_METRIC + 2 * i: the i-th metric of d->metrics (the task's
     * default metric when d->metrics is NULL); + 1: its val_ value */
    NNC_MON_METRIC = NNC_MON_COUNT
};
enum { NNC_MODE_AUTO = 0, NNC_MODE_MIN = 1, NNC_MODE_MAX = 2 };

/* callbacks(...) from the model file; each runs at the end of every epoch. */
typedef struct nnc_callbacks {
    /* early_stopping(monitor, patience, min_delta, restore_best_weights, mode) */
    int early_stopping;         /* present */
    int es_monitor, es_patience, es_restore_best, es_mode;
    double es_min_delta;
    /* model_checkpoint(path, monitor, save_best_only, mode); path NULL: absent.
     * "{epoch}" in the path becomes the epoch number, from 1. */
    const char *checkpoint;
    int ckpt_monitor, ckpt_save_best_only, ckpt_mode;
    /* csv_logger(path); NULL: absent */
    const char *csv_log;
    /* ---- reduce_lr_on_plateau(monitor, factor, patience, min_delta,
     * cooldown, min_lr, mode) (flow): the rate is multiplied by factor
     * (never below min_lr) after patience epochs without improvement */
    int reduce_lr;              /* present */
    int rlr_monitor, rlr_patience, rlr_cooldown, rlr_mode;
    double rlr_factor, rlr_min_delta, rlr_min_lr;
} nnc_callbacks;

/* metrics(...) from the model file, as an array ended by kind NNC_METRIC_END. */
enum {
    NNC_METRIC_END = 0, NNC_METRIC_ACCURACY, NNC_METRIC_BINARY_ACCURACY, NNC_METRIC_MSE, NNC_METRIC_MAE,
    NNC_METRIC_RMSE, NNC_METRIC_PRECISION, NNC_METRIC_RECALL, NNC_METRIC_AUC, NNC_METRIC_TOP_K,
    NNC_METRIC_KINDS
};
typedef struct nnc_metric {
    int kind;   /* NNC_METRIC_* */
    int k;      /* top_k_accuracy's k; 0 otherwise */
} nnc_metric;

/* What the glue program of a generated model tells the runtime. Filled with
 * designated initializers (.batch = ...): fields are grouped by meaning and
 * may move; a field left out is 0 or NULL. */
typedef struct nnc_model_desc {
    /* ---- the model: its name and what one sample is */
    const char *name;        /* model name, e.g. "digits" */
    const char *source;      /* the .nn file, for messages */
    const char *summary;     /* `nnc summary`'s text, for the --report page; NULL: none */
    int batch;               /* compile-time batch size (max samples per call) */
    int n_in, n_out;         /* floats per input sample, per output sample */
    int n_target;            /* floats per target sample */
    int task;                /* NNC_REGRESSION ... NNC_HINGE */
    int logits;              /* outputs are logits (apply sigmoid/softmax for probabilities) */
    /* classification at every step of a sequence output [T, K]: each output
     * sample is `steps` rows of n_out / steps values, and its targets `steps`
     * labels (sparse, binary) or `steps` rows of n_out / steps (one-hot);
     * every step is scored as a sample. 0 or 1: one row */
    int steps;
    /* > 0 when the input values are token ids (an embedding layer first),
     * which must then be integers in [0, token_ids); 0: any number */
    int token_ids;

    /* ---- parameters and the generated functions over them */
    size_t n_params;         /* floats in the parameter block */
    const nnc_tensor *tensors;
    int n_tensors;
    float *(*params)(void *m);
    void (*init)(void *m, uint64_t seed);
    /* one optimizer step on n <= batch samples; returns the batch mean loss */
    float (*train_step)(void *m, const float *x, const float *y, int n);
    /* inference-mode forward + loss on n <= batch samples; writes n*n_out outputs */
    float (*evaluate)(void *m, const float *x, const float *y, int n, float *out);
    /* inference-mode forward on n <= batch samples; writes n*n_out outputs */
    void (*predict)(void *m, const float *x, int n, float *out);

    /* ---- the learning rate: the rate of the next optimizer step (shown in
     * the training log; NULL if the model has none to report), and the
     * multiplier reduce_lr_on_plateau sets, which the generated
     * NAME_learning_rate applies (0 reads as 1; NULL: the rate cannot be
     * reduced) */
    float (*learning_rate)(void *m);
    float *(*lr_scale)(void *m);

    /* ---- training on several processes (runtime/dist.c, nnc train
     * --processes N): train_step's two halves, so that the gradients can be
     * summed across processes between them. backward leaves the gradient of
     * the batch mean loss in the n_params floats at grads(m) and returns
     * that loss; update applies one optimizer step from them. mask_seed:
     * dropout's mask seed in the model, made different on every process
     * (NULL: no dropout). set_batch_sum: installs the model's batch norm
     * hook, which sums its per-channel statistics over every process
     * (SyncBatchNorm; NULL: no batch norm). backward, update, grads NULL:
     * this program trains in one process only. */
    float (*backward)(void *m, const float *x, const float *y, int n);
    void (*update)(void *m);
    float *(*grads)(void *m);
    uint64_t *(*mask_seed)(void *m);
    void (*set_batch_sum)(void *m, void (*sum)(void *ctx, double *v, int n, int grad), void *ctx);

    /* ---- the optimizer state, for the checkpoint an interrupted run saves
     * and --resume reads; state NULL: the model cannot be resumed */
    const nnc_tensor *state_tensors; /* offsets in floats from state(m) */
    int n_state_tensors;
    size_t n_state;                  /* floats in the state block */
    float *(*state)(void *m);
    long *(*step)(void *m);          /* optimizer steps taken */

    /* ---- training: fit() from the model file; flags override them */
    int epochs;
    int shuffle;
    uint64_t seed;
    double validation_split;
    int cross_validate;      /* cross_validate(k): k-fold cross-validation by default; 0: none */
    /* fit(class_weight): the model's per-class weights of the training
     * loss (n_class_weights of them), NULL: none; balanced: the runtime
     * sets them from the training labels, n / (classes * count) */
    float *(*class_weight)(void *m);
    int n_class_weights;
    int class_weight_balanced;
    const nnc_callbacks *callbacks; /* callbacks(...); NULL: none */
    /* metrics(...); NULL reports the task's default metric (accuracy, or
     * rmse for regression) */
    const nnc_metric *metrics;

    /* ---- data files: data(...) and fit(validation_data, ...); NULL where
     * the model names none */
    const char *train_path;
    const char *test_path;
    /* IDX label files of train_path / test_path (NULL: the MNIST name beside them) */
    const char *train_labels_path;
    const char *test_labels_path;
    /* a file (and the IDX or .npy labels of its inputs) validated on
     * instead of a split */
    const char *val_path;
    const char *val_labels_path;
    /* data(format): NNC_FORMAT_AUTO tells CSV, IDX and .npy files apart by
     * their first bytes; the others insist on one */
    int data_format;

    /* ---- reading the inputs */
    double input_scale;      /* data(scale): the divisor of every input value read (0 or 1: none) */
    int preprocess;          /* preprocess(): NNC_PRE_* */
    /* the per-sample input shape (in_ndim axes of in_shape), so that a data
     * file with axes of its own is checked axis by axis; 0: unknown */
    int in_ndim;
    const int *in_shape;
} nnc_model_desc;

/* Entry point of a training/eval/predict program; returns the exit status. */
int nnc_main(const nnc_model_desc *d, void *model, int argc, char **argv);

/* ---- Everything below is the library under nnc_main, for programs that
 * embed the runtime. Functions that can fail return 0 on success and -1 on
 * error, after storing a message ("FILE:ROW:COL: error: ..." or
 * "FILE: error: ...", possibly several lines) that nnc_error() returns. The
 * message buffer is global: the runtime is not thread-safe. */

const char *nnc_error(void);
int nnc_errorf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- rng.c: xoshiro256** seeded through splitmix64; same seed, same stream
 * on every platform. */
typedef struct nnc_rng { uint64_t s[4]; } nnc_rng;

void nnc_rng_seed(nnc_rng *r, uint64_t seed);
uint64_t nnc_rng_u64(nnc_rng *r);
uint32_t nnc_rng_u32(nnc_rng *r);
uint32_t nnc_rng_below(nnc_rng *r, uint32_t n); /* uniform in [0, n), unbiased; n > 0 */
float nnc_rng_uniform(nnc_rng *r);              /* uniform in [0, 1) */
float nnc_rng_normal(nnc_rng *r);               /* mean 0, std 1 */
void nnc_shuffle(int *idx, int n, nnc_rng *r);  /* Fisher-Yates */

/* ---- data.c: CSV samples, validation split, batching, preprocessing. */
typedef struct nnc_dataset {
    int n;              /* samples */
    int n_in, n_target; /* floats per sample; n_target is 0 when the file had no targets */
    float *x;           /* n * n_in, row-major */
    float *y;           /* n * n_target, or NULL; class labels are stored as floats */
    int owner;          /* x and y are this struct's (1) or a view into another (0) */
} nnc_dataset;

/* Reads one sample per row, d->n_in inputs then d->n_target targets. With
 * targets_optional, a file whose rows hold only the inputs is accepted too
 * (the first row decides). Row 1 is a header if any field in it is text. */
int nnc_data_load(nnc_dataset *ds, const char *path, const nnc_model_desc *d, int targets_optional);
int nnc_data_read(nnc_dataset *ds, FILE *f, const char *name, const nnc_model_desc *d,
                  int targets_optional);
void nnc_data_free(nnc_dataset *ds);
/* Keras' validation_split: the first int(n * (1 - split)) rows train, the
 * rest validate; both are views into all. Fails if either part is empty. */
int nnc_data_split(const nnc_dataset *all, double split, const char *name,
                   nnc_dataset *train, nnc_dataset *val);
/* Copies samples idx[0..n) into contiguous bx (n * n_in) and by (n * n_target). */
void nnc_data_gather(const nnc_dataset *ds, const int *idx, int n, float *bx, float *by);

/* x' = (x - shift[j]) * scale[j] per input feature j, in float arithmetic. */
typedef struct nnc_prep {
    int kind;     /* NNC_PRE_* */
    int n;        /* features (n_in) */
    float *shift, *scale;
} nnc_prep;

/* standardize: population mean/std; min_max: min and 1/(max - min); a
 * constant feature gets scale 1. kind NNC_PRE_NONE gives the identity. */
int nnc_prep_fit(nnc_prep *p, int kind, const nnc_dataset *train);
void nnc_prep_apply(const nnc_prep *p, nnc_dataset *ds);
void nnc_prep_free(nnc_prep *p);
const char *nnc_prep_name(int kind); /* "none", "standardize", "min_max" */

/* ---- safetensors.c: the .safetensors format and model weights. */
#define NNC_ST_MAX_DIMS 8

typedef struct nnc_st_kv { const char *key, *value; } nnc_st_kv;

typedef struct nnc_st_tensor {
    const char *name;
    const char *dtype;           /* "F32", "F16", "BF16", "F64", "I64", ... */
    int ndim;
    uint64_t shape[NNC_ST_MAX_DIMS];
    uint64_t numel;
    const unsigned char *data;   /* little-endian elements */
    size_t nbytes;
} nnc_st_tensor;

typedef struct nnc_st_file {
    char *path;                  /* for messages */
    unsigned char *buf;          /* the whole file; names point into it */
    size_t size;
    nnc_st_tensor *t;            /* in file order */
    int n;
    nnc_st_kv *meta;             /* __metadata__, in file order */
    int n_meta;
} nnc_st_file;

/* Reads and validates the whole file: JSON header, dtypes, shapes, offsets
 * (each tensor inside the data, the tensors tiling it without gaps). */
int nnc_st_read(nnc_st_file *f, const char *path);
int nnc_st_read_mem(nnc_st_file *f, const char *name, const void *data, size_t size);
void nnc_st_free(nnc_st_file *f);
const nnc_st_tensor *nnc_st_find(const nnc_st_file *f, const char *name);
const char *nnc_st_meta(const nnc_st_file *f, const char *key);
/* Converts F32/F64/F16/BF16 to float; other dtypes are an error. */
int nnc_st_to_f32(const nnc_st_file *f, const nnc_st_tensor *t, float *dst);

typedef struct nnc_st_entry {
    const char *name;
    int ndim;
    uint64_t shape[NNC_ST_MAX_DIMS];
    const float *data;
} nnc_st_entry;

/* Writes F32 tensors in the given order to PATH.tmp, then renames it to PATH. */
int nnc_st_write(const char *path, const nnc_st_entry *t, int n, const nnc_st_kv *meta, int n_meta);

/* The model's tensors table <-> a file. Loading requires exactly the model's
 * tensors with their shapes and leaves the parameters untouched on error; if
 * p is not NULL it receives the preprocessing statistics from the metadata. */
int nnc_weights_save(const char *path, const nnc_model_desc *d, void *m, const nnc_prep *p);
int nnc_weights_load(const char *path, const nnc_model_desc *d, void *m, nnc_prep *p);

/* ---- metrics.c: epoch metrics as Keras reports them. */
typedef struct nnc_scored { float score, label; } nnc_scored; /* for auc */

typedef struct nnc_metrics {
    int task, n_out, logits;
    double loss_sum;   /* sum of batch mean loss * batch size */
    double n;          /* samples seen */
    double correct;    /* classification: samples classified right (hinge: the
                          fraction of a sample's outputs with the right sign) */
    double sq_sum;     /* regression: sum of squared errors */
    double n_values;   /* regression: outputs compared */
    /* classification: counts[t * n_classes + p] of samples of true class t
     * predicted as p; NULL (the default after init) counts nothing. The
     * caller provides n_classes * n_classes doubles and zeroes them. */
    int n_classes;
    double *confusion;
    double abs_sum;    /* regression: sum of absolute errors (mae) */
    int top_k;         /* top_k_accuracy's k (from d->metrics), 0: not counted */
    double top_k_correct;
    /* binary: one (output, label) pair per sample for auc; NULL (the
     * default after init) keeps none, else the caller provides room for
     * every sample added */
    nnc_scored *scores;
    int n_scores;
    /* a class at every step (d->steps): each sample adds `steps` rows of
     * n_out values, each scored as a sample by accuracy, the confusion
     * matrix, auc and top-k; the loss is still weighted per sample */
    int steps;
} nnc_metrics;

void nnc_metrics_init(nnc_metrics *mt, const nnc_model_desc *d);
/* Adds a batch of n samples; out and y may be NULL to add the loss only.
 * n_out is per classified row: d->n_out / steps. */
void nnc_metrics_add(nnc_metrics *mt, float batch_loss, const float *out, const float *y, int n);
double nnc_metrics_loss(const nnc_metrics *mt);
double nnc_metrics_accuracy(const nnc_metrics *mt);
double nnc_metrics_rmse(const nnc_metrics *mt);
/* Classes of the confusion matrix: 2 for binary and single-output hinge
 * (class 0 is the negative one), n_out for sparse and one-hot, 0 otherwise. */
int nnc_n_classes(int task, int n_out);
/* A metric's value and its name as the logs show it ("top_k_accuracy");
 * precision, recall and auc need confusion (and auc scores) set. */
double nnc_metric_value(const nnc_metrics *mt, const nnc_metric *m);
const char *nnc_metric_name(const nnc_metric *m);
/* Exact area under the ROC curve of n (score, label) pairs, ties counted
 * half (scikit-learn's roc_auc_score); sorts s. NaN without both classes. */
double nnc_auc(nnc_scored *s, int n);

int nnc_argmax(const float *v, int n);

/* ---- report.c: `nnc train --report DIR`'s page. */
typedef struct nnc_report {
    const char *dir;         /* writes DIR/report.html */
    const char *history;     /* the run's history CSV (epoch, loss, metrics, val_..., lr) */
    const char *final_line;  /* "test loss: 0.1 - accuracy: 0.97" */
    const double *confusion; /* n_classes^2 counts of the final evaluation; NULL: none */
    int n_classes, hinge;
    /* early stopping's monitor (NULL: none, then the best epoch is the one
     * of the lowest val_loss, or loss), its direction, best epoch, the
     * epoch it stopped at (0: it did not) and whether the best weights
     * were restored */
    const char *monitor;
    int minimize, best_epoch, stop_epoch, restored;
} nnc_report;

/* Reads r->history and writes one HTML file with everything inline: SVG
 * learning curves, the confusion matrix as a heat map, the model summary. */
int nnc_report_html(const nnc_model_desc *d, const nnc_report *r);
float nnc_sigmoid(float z);
void nnc_softmax(float *p, const float *z, int n);

#ifdef __cplusplus
}
#endif

#endif
