/* driver.c — nnc_main(), the command line of a program built by `nnc train`:
 *
 *   PROG train   [--data CSV] [--test CSV] [--epochs N] [--seed N]
 *                [--init W.safetensors] [--save W.safetensors] [--quiet]
 *                [--resume CHECKPOINT.safetensors] [--verbose] [--report DIR]
 *                [--validation-data FILE] [--cross-validate K]
 *   PROG eval    --weights W.safetensors [--data CSV]
 *   PROG predict --weights W.safetensors --data CSV [--out OUT.csv]
 *
 * Exit status: 0 success, 1 bad data or weights (message on stderr),
 * 2 bad command line (message and usage on stderr), 128 + the signal
 * when training was interrupted by one after saving a checkpoint to resume
 * from: 130 SIGINT (Ctrl-C), 143 SIGTERM (kill, timeout, systemd), 129 SIGHUP.
 *
 * The batch loops allocate nothing: batches are gathered into buffers sized
 * once for d->batch samples, or passed straight from the dataset when they
 * are already contiguous. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nnc_internal.h"
#include "nnc_dist.h" /* dist: several processes under mpirun */

enum { TRAIN = 1, EVAL = 2, PREDICT = 4 };

typedef struct opts {
    const char *data, *test, *init, *save, *weights, *out, *resume;
    int epochs, quiet;
    int verbose;        /* a line per batch, and what the data is */
    const char *report; /* --report DIR: DIR/history.csv and DIR/report.html */
    const char *val;    /* --validation-data FILE: overrides fit(validation_data) */
    int cv;             /* --cross-validate K; -1: the model's cross_validate(k) */
    int stop_after;     /* hidden --stop-after-batches N: act as if SIGINT came after batch N (tests) */
    int argc;           /* the command line, to say how to resume */
    char **argv;
    uint64_t seed;
} opts;

static void usage(FILE *f, const char *prog) {
    int w = (int)strlen(prog) + 13; /* lines up with the flags after "usage: PROG train " */
    fprintf(f,
            "usage: %s train [--data CSV] [--test CSV] [--epochs N] [--seed N]\n"
            "%*s[--init W.safetensors] [--save W.safetensors] [--quiet]\n"
            "%*s[--resume CHECKPOINT.safetensors] [--verbose] [--report DIR]\n"
            "%*s[--validation-data FILE] [--cross-validate K]\n"
            "       %s eval --weights W.safetensors [--data CSV]\n"
            "       %s predict --weights W.safetensors --data CSV [--out OUT.csv]\n",
            prog, w, "", w, "", w, "", prog, prog);
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int usage_error(const char *prog, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    usage(stderr, prog);
    return 2;
}

static void help(const nnc_model_desc *d, const char *prog) {
    static const char *tasks[] = {"regression", "binary classification", "classification",
                                  "classification, one-hot targets", "classification by sign (hinge)"};
    usage(stdout, prog);
    printf("\nmodel %s (%s): %d input%s -> %d output%s, %s%s\n", d->name, d->source ? d->source : "?", d->n_in,
           d->n_in == 1 ? "" : "s", d->n_out, d->n_out == 1 ? "" : "s", tasks[d->task],
           nnc_steps(d) > 1 ? " at every step" : "");
    printf("defaults: --data %s --test %s --epochs %d --seed %llu\n", d->train_path ? d->train_path : "(none)",
           d->test_path ? d->test_path : "(none)", d->epochs, (unsigned long long)d->seed);
    printf("          batch %d, shuffle %s, validation_split %g, preprocess %s\n", d->batch,
           d->shuffle ? "yes" : "no", d->validation_split, nnc_prep_name(d->preprocess));
}

static int parse_int(const char *s, int *out) {
    char *end;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > UINT64_MAX) return -1;
    *out = (uint64_t)v;
    return 0;
}

/* Returns 0, or the exit status for a usage error (already reported). */
static int parse_args(const nnc_model_desc *d, int cmd, int argc, char **argv, const char *prog, opts *o) {
    const char *v;
    struct flag {
        const char *name;
        int cmds;
        const char **str; /* one of str, num, u64, on is set */
        int *num;
        uint64_t *u64;
        int *on;
    } flags[] = {
        {"data", TRAIN | EVAL | PREDICT, &o->data, NULL, NULL, NULL},
        {"test", TRAIN, &o->test, NULL, NULL, NULL},
        {"epochs", TRAIN, NULL, &o->epochs, NULL, NULL},
        {"seed", TRAIN, NULL, NULL, &o->seed, NULL},
        {"init", TRAIN, &o->init, NULL, NULL, NULL},
        {"save", TRAIN, &o->save, NULL, NULL, NULL},
        {"quiet", TRAIN, NULL, NULL, NULL, &o->quiet},
        {"resume", TRAIN, &o->resume, NULL, NULL, NULL},
        {"stop-after-batches", TRAIN, NULL, &o->stop_after, NULL, NULL},
        {"verbose", TRAIN, NULL, NULL, NULL, &o->verbose},
        {"report", TRAIN, &o->report, NULL, NULL, NULL},
        {"validation-data", TRAIN, &o->val, NULL, NULL, NULL},
        {"cross-validate", TRAIN, NULL, &o->cv, NULL, NULL},
        {"weights", EVAL | PREDICT, &o->weights, NULL, NULL, NULL},
        {"out", PREDICT, &o->out, NULL, NULL, NULL},
    };
    const int n_flags = (int)(sizeof flags / sizeof *flags);

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *eq;
        const struct flag *f = NULL;
        if (strncmp(a, "--", 2) != 0) return usage_error(prog, "unexpected argument '%s'", a);
        eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        for (int k = 0; k < n_flags && !f; k++)
            if ((flags[k].cmds & cmd) && strlen(flags[k].name) == len && strncmp(a + 2, flags[k].name, len) == 0)
                f = &flags[k];
        if (!f) return usage_error(prog, "unknown flag '%s' for %s", a, argv[1]);
        if (f->on) {
            if (eq) return usage_error(prog, "--%s takes no value", f->name);
            *f->on = 1;
            continue;
        }
        if (eq) v = eq + 1;
        else if (i + 1 < argc) v = argv[++i];
        else return usage_error(prog, "missing value for --%s", f->name);
        if (!*v) return usage_error(prog, "empty value for --%s", f->name);
        if (f->str) *f->str = v;
        else if (f->num && parse_int(v, f->num))
            return usage_error(prog, "bad value '%s' for --%s: expected a whole number >= 0", v, f->name);
        else if (f->u64 && parse_u64(v, f->u64))
            return usage_error(prog, "bad value '%s' for --%s: expected a whole number >= 0", v, f->name);
    }
    if (cmd == TRAIN && !o->data && !d->train_path)
        return usage_error(prog, "no training data: pass --data CSV (the model names no training file)");
    if (cmd != TRAIN && !o->weights) return usage_error(prog, "missing --weights W.safetensors");
    if (cmd == EVAL && !o->data && !d->test_path)
        return usage_error(prog, "no data to evaluate: pass --data CSV (the model names no test file)");
    if (cmd == PREDICT && !o->data) return usage_error(prog, "missing --data CSV");
    if (o->quiet && o->verbose) return usage_error(prog, "--quiet and --verbose contradict each other");
    if (o->cv == 1 || (o->cv > 1 && (o->resume || o->stop_after)))
        return usage_error(prog, o->cv == 1 ? "--cross-validate needs at least 2 folds"
                                            : "cross-validation cannot be interrupted and resumed");
    if (o->val && d->validation_split > 0)
        return usage_error(prog, "--validation-data and the model's validation_split %g exclude each other",
                           d->validation_split);
    return 0;
}

enum { MAX_METRICS = 16 };
static int metric_list(const nnc_model_desc *d, nnc_metric *list);

/* The emitter fills the descriptor; a wrong one is a compiler bug, caught
 * here before it can become a buffer overrun. */
static int check_desc(const nnc_model_desc *d) {
    const char *why = NULL;
    if (!d->params || !d->init || !d->train_step || !d->evaluate || !d->predict) why = "a function is missing";
    else if (d->batch < 1 || d->n_in < 1 || d->n_out < 1) why = "batch, n_in and n_out must be positive";
    else if (d->steps < 0 || d->n_out % nnc_steps(d) ||
             (d->steps > 1 && d->task != NNC_BINARY && d->task != NNC_SPARSE && d->task != NNC_ONEHOT))
        why = "steps must divide n_out, and only classification has them";
    else if (d->task == NNC_REGRESSION ? d->n_target != d->n_out
             : d->task == NNC_BINARY   ? d->n_target != nnc_steps(d) || nnc_row_out(d) != 1
             : d->task == NNC_SPARSE   ? d->n_target != nnc_steps(d) || nnc_row_out(d) < 2
             : d->task == NNC_ONEHOT   ? d->n_target != d->n_out || nnc_row_out(d) < 2
             : d->task == NNC_HINGE    ? d->n_target != d->n_out
                                       : 1)
        why = "task, n_target and n_out disagree";
    else if (!(d->validation_split >= 0 && d->validation_split < 1)) why = "validation_split is not in [0, 1)";
    else if (d->preprocess < NNC_PRE_NONE || d->preprocess > NNC_PRE_MINMAX) why = "unknown preprocess";
    else if (d->epochs < 0 || d->n_tensors < 0 || (d->n_tensors && !d->tensors)) why = "bad epochs or tensors";
    else if (d->val_path && d->validation_split > 0) why = "both validation_data and validation_split";
    else if (d->cross_validate < 0 || d->cross_validate == 1) why = "cross_validate needs k >= 2";
    const nnc_callbacks *cb = d->callbacks;
    if (!why && cb) {
        int mons[3], n = 0;
        nnc_metric list[MAX_METRICS];
        int n_metrics = metric_list(d, list);
        if (cb->early_stopping) mons[n++] = cb->es_monitor;
        if (cb->checkpoint) mons[n++] = cb->ckpt_monitor;
        if (cb->reduce_lr) mons[n++] = cb->rlr_monitor;
        for (int i = 0; i < n && !why; i++) {
            int mon = mons[i], rmse = mon == NNC_MON_RMSE || mon == NNC_MON_VAL_RMSE;
            int acc = mon == NNC_MON_ACCURACY || mon == NNC_MON_VAL_ACCURACY;
            if (mon < 0 || mon >= NNC_MON_METRIC + 2 * n_metrics) why = "unknown monitor";
            else if ((rmse && d->task != NNC_REGRESSION) || (acc && d->task == NNC_REGRESSION))
                why = "the monitor does not fit the task";
            else if (mon % 2 == 1 && d->validation_split == 0 && !d->val_path)
                why = "a val_ monitor without validation data";
        }
        if (!why && (cb->es_patience < 0 || !(cb->es_min_delta >= 0) || cb->es_mode < 0 || cb->es_mode > 2 ||
                     cb->ckpt_mode < 0 || cb->ckpt_mode > 2))
            why = "bad early_stopping or model_checkpoint arguments";
        if (!why && cb->reduce_lr &&
            (!(cb->rlr_factor > 0 && cb->rlr_factor < 1) || cb->rlr_patience < 0 || cb->rlr_cooldown < 0 ||
             !(cb->rlr_min_delta >= 0) || !(cb->rlr_min_lr >= 0) || cb->rlr_mode < 0 || cb->rlr_mode > 2))
            why = "bad reduce_lr_on_plateau arguments";
        if (!why && cb->reduce_lr && (!d->lr_scale || !d->learning_rate))
            why = "reduce_lr_on_plateau without a learning rate to scale";
    }
    for (int i = 0; !why && i < d->n_tensors; i++) {
        const nnc_tensor *t = &d->tensors[i];
        size_t n = 1;
        if (!t->name || t->ndim < 0 || t->ndim > 4) why = "a tensor has no name or a bad rank";
        for (int k = 0; !why && k < t->ndim; k++)
            if (t->shape[k] < 0 || !nnc_mul(n, (size_t)t->shape[k], &n)) why = "a tensor has a bad shape";
        if (!why && (t->offset > d->n_params || n > d->n_params - t->offset))
            why = "a tensor lies outside the parameters";
    }
    if (why) return nnc_errorf("error: model '%s': bad descriptor: %s", d->name ? d->name : "?", why);
    return 0;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* "%.4f", except that NaN prints as "nan" whatever its sign bit. */
typedef struct { char s[48]; } num4;
static num4 f4(double v) {
    num4 r;
    if (v != v) strcpy(r.s, "nan");
    else snprintf(r.s, sizeof r.s, "%.4f", v);
    return r;
}

/* What the metrics keep besides sums: the confusion matrix (n_classes^2)
 * and, for auc, every sample's score. NULL members: not needed. */
typedef struct ev_buf {
    double *cm;
    nnc_scored *scores;
} ev_buf;

/* The metrics the logs show: metrics(...) from the model file, or the
 * task's default (accuracy, rmse for regression). Returns how many. */
static int metric_list(const nnc_model_desc *d, nnc_metric *list) {
    int n = 0;
    for (const nnc_metric *m = d->metrics; m && m->kind != NNC_METRIC_END && n < MAX_METRICS; m++) list[n++] = *m;
    if (!d->metrics) {
        list[0].kind = d->task == NNC_REGRESSION ? NNC_METRIC_RMSE : NNC_METRIC_ACCURACY;
        list[0].k = 0;
        n = 1;
    }
    return n;
}

/* Room for the metrics of up to n samples; with all, the confusion matrix
 * even if no metric needs it (eval prints it). */
static int ev_alloc(ev_buf *w, const nnc_model_desc *d, int n, int all) {
    int k = nnc_n_classes(d->task, nnc_row_out(d)), need_cm = all, need_scores = 0;
    for (const nnc_metric *m = d->metrics; m && m->kind != NNC_METRIC_END; m++) {
        need_cm |= m->kind == NNC_METRIC_PRECISION || m->kind == NNC_METRIC_RECALL;
        need_scores |= m->kind == NNC_METRIC_AUC;
    }
    w->cm = NULL;
    w->scores = NULL;
    if (need_cm && k && !(w->cm = nnc_alloc((size_t)k * (size_t)k, sizeof(double)))) return -1;
    /* a score per classified row: every step of every sample */
    if (need_scores && !(w->scores = nnc_alloc(n > 0 ? (size_t)n * (size_t)nnc_steps(d) : 1, sizeof(nnc_scored))))
        return -1;
    return 0;
}

static void ev_free(ev_buf *w) {
    free(w->cm);
    free(w->scores);
}

/* Inference over a whole dataset in batches of d->batch; out holds one
 * batch; w (NULL: none) keeps what precision, recall and auc need. */
static void evaluate_all(const nnc_model_desc *d, void *m, const nnc_dataset *ds, float *out, nnc_metrics *mt,
                         const ev_buf *w) {
    int k = nnc_n_classes(d->task, nnc_row_out(d));
    nnc_metrics_init(mt, d);
    if (w && w->cm) {
        for (int i = 0; i < k * k; i++) w->cm[i] = 0;
        mt->confusion = w->cm;
    }
    if (w) mt->scores = w->scores;
    int lo, count; /* dist: this process's rows; one process: all */
    nnc_dist_shard(ds->n, &lo, &count);
    for (int i = lo; i < lo + count; i += d->batch) {
        int nb = lo + count - i < d->batch ? lo + count - i : d->batch;
        const float *x = ds->x + (size_t)i * (size_t)d->n_in;
        const float *y = ds->y + (size_t)i * (size_t)d->n_target;
        float loss = d->evaluate(m, x, y, nb, out);
        nnc_metrics_add(mt, loss, out, y, nb);
    }
    nnc_dist_metrics(mt); /* dist: the sums over every process's rows */
}

/* " - accuracy: 0.9722 - auc: 0.9811", each metric of the list. */
static void print_metrics(const nnc_model_desc *d, const nnc_metrics *mt) {
    nnc_metric list[MAX_METRICS];
    int n = metric_list(d, list);
    for (int i = 0; i < n; i++) printf(" - %s: %s", nnc_metric_name(&list[i]), f4(nnc_metric_value(mt, &list[i])).s);
}

/* The confusion matrix (rows: true class, columns: predicted class), then
 * each class's precision tp / (tp + fp), recall tp / (tp + fn) and support
 * (samples of the class); a class never predicted has precision 0, one
 * with no samples recall 0, as scikit-learn's zero_division default. */
static void print_confusion(const nnc_metrics *mt, int hinge) {
    int k = mt->n_classes, w;
    const double *cm = mt->confusion;
    double max = 0;
    char buf[64];
    for (int i = 0; i < k * k; i++) max = cm[i] > max ? cm[i] : max;
    w = snprintf(buf, sizeof buf, "%.0f", max) + 2; /* the widest count, two spaces before it */
    if (w < 6) w = 6;
    printf("confusion matrix (rows: true class, columns: predicted class):\n%5s", "");
    for (int p = 0; p < k; p++) printf("%*d", w, hinge && !p ? -1 : p);
    printf("\n");
    for (int t = 0; t < k; t++) {
        printf("%5d", hinge && !t ? -1 : t);
        for (int p = 0; p < k; p++) printf("%*.0f", w, cm[t * k + p]);
        printf("\n");
    }
    printf("class  precision  recall  support\n");
    for (int c = 0; c < k; c++) {
        double tp = cm[c * k + c], predicted = 0, support = 0;
        for (int j = 0; j < k; j++) predicted += cm[j * k + c], support += cm[c * k + j];
        printf("%5d  %9.4f  %6.4f  %7.0f\n", hinge && !c ? -1 : c, predicted > 0 ? tp / predicted : 0.0,
               support > 0 ? tp / support : 0.0, support);
    }
}

/* Fail before the work rather than after it, when the output cannot be written. */
static int check_writable(const char *path) {
    nnc_outfile o;
    if (nnc_out_open(&o, path)) return -1;
    nnc_out_abort(&o);
    return 0;
}

/* ---- the progress line: on a terminal, one line per epoch redrawn in place */

typedef struct progress {
    double last; /* when it was last drawn, ms */
    int width;   /* the longest line drawn, so the final line covers it */
} progress;

/* Redraws at most every 100 ms (and after the first batch), so a fast epoch
 * costs nothing; the epoch's summary line then replaces it. */
static void progress_draw(progress *b, int epoch, int epochs, int done, int total, double t0, double loss) {
    enum { BAR = 20 };
    double t = now_ms(), elapsed = (t - t0) / 1e3, eta = elapsed / done * (total - done);
    char bar[BAR + 1];
    int fill = (int)((long long)done * BAR / total), len;
    if (b->width && t - b->last < 100) return;
    b->last = t;
    for (int k = 0; k < BAR; k++) bar[k] = k < fill ? '=' : k == fill ? '>' : '.';
    bar[BAR] = 0;
    len = printf("\repoch %d/%d - %d/%d [%s] - %.1f s - ETA: %.1f s - loss: %s", epoch, epochs, done, total, bar,
                 elapsed, eta, f4(loss).s);
    if (len - 1 > b->width) b->width = len - 1;
    fflush(stdout);
}

/* ---- callbacks: Keras' EarlyStopping, ModelCheckpoint and CSVLogger ---- */

/* One epoch's logs: v[] what callbacks monitor (NaN where not measured),
 * and the listed metrics on the training and validation data. */
typedef struct epoch_logs {
    double v[NNC_MON_COUNT];
    int n;
    nnc_metric list[MAX_METRICS];
    double train[MAX_METRICS], val[MAX_METRICS];
    double lr;               /* the rate of the next step; NaN: not reported */
} epoch_logs;

static const char *const monitor_names[NNC_MON_COUNT] = {"loss", "val_loss", "accuracy",
                                                          "val_accuracy", "rmse", "val_rmse"};

/* What a monitor reads in an epoch's logs. */
static double mon_value(const epoch_logs *l, int mon) {
    if (mon < NNC_MON_METRIC) return l->v[mon];
    mon -= NNC_MON_METRIC;
    return mon % 2 ? l->val[mon / 2] : l->train[mon / 2];
}

/* A monitor's name as the logs show it: "val_auc", "top_k_accuracy". */
static const char *mon_name(const nnc_model_desc *d, int mon, char *buf, size_t cap) {
    nnc_metric list[MAX_METRICS];
    if (mon < NNC_MON_METRIC) return monitor_names[mon];
    metric_list(d, list);
    mon -= NNC_MON_METRIC;
    snprintf(buf, cap, "%s%s", mon % 2 ? "val_" : "", nnc_metric_name(&list[mon / 2]));
    return buf;
}

typedef struct cb_state {
    const nnc_callbacks *c;  /* NULL: none */
    int stop;                /* early stopping asked to end training */
    int last_epoch;          /* the last epoch trained */
    /* early_stopping */
    double es_best;
    int es_wait, es_best_epoch, es_stopped;
    float *best_params;      /* restore_best_weights: the parameters of es_best_epoch */
    /* model_checkpoint */
    double ckpt_best;
    /* csv_logger */
    FILE *csv;
    int csv_val;             /* the rows have validation columns */
    /* reduce_lr_on_plateau */
    double rlr_best;
    int rlr_wait, rlr_cooldown;
    /* --report DIR: DIR/history.csv, every column and the learning rate */
    FILE *hist;
    char hist_path[4096];
} cb_state;

/* mode = auto watches a loss, mse, mae or rmse for a minimum and every
 * other metric (accuracy, precision, recall, auc, ...) for a maximum: the
 * direction each metric improves in, as Keras 3 decides auto. */
static int minimizes(const nnc_model_desc *d, int monitor, int mode) {
    nnc_metric list[MAX_METRICS];
    if (mode != NNC_MODE_AUTO) return mode == NNC_MODE_MIN;
    if (monitor < NNC_MON_METRIC) return monitor != NNC_MON_ACCURACY && monitor != NNC_MON_VAL_ACCURACY;
    metric_list(d, list);
    int kind = list[(monitor - NNC_MON_METRIC) / 2].kind;
    return kind == NNC_METRIC_MSE || kind == NNC_METRIC_MAE || kind == NNC_METRIC_RMSE;
}

/* Keras' test: better than the reference by more than delta; NaN never is. */
static int improves(double cur, double ref, double delta, int min) {
    return min ? cur + delta < ref : cur - delta > ref;
}

static int callbacks_begin(cb_state *s, const nnc_model_desc *d) {
    memset(s, 0, sizeof *s);
    s->c = d->callbacks;
    if (!s->c) return 0;
    s->es_best = minimizes(d, s->c->es_monitor, s->c->es_mode) ? HUGE_VAL : -HUGE_VAL;
    s->ckpt_best = minimizes(d, s->c->ckpt_monitor, s->c->ckpt_mode) ? HUGE_VAL : -HUGE_VAL;
    s->rlr_best = minimizes(d, s->c->rlr_monitor, s->c->rlr_mode) ? HUGE_VAL : -HUGE_VAL;
    if (s->c->early_stopping && s->c->es_restore_best &&
        !(s->best_params = nnc_alloc(d->n_params ? d->n_params : 1, sizeof(float))))
        return -1;
    return 0;
}

static void callbacks_free(cb_state *s) {
    free(s->best_params);
    if (s->csv) fclose(s->csv);
    if (s->hist) fclose(s->hist);
}

/* The CSV file is rewritten at the start of training (Keras' append = False)
 * and flushed after every row, so an interrupted run keeps its history. */
static int csv_open(cb_state *s, const nnc_model_desc *d, int val, int append) {
    nnc_metric list[MAX_METRICS];
    int n = metric_list(d, list);
    s->csv_val = val;
    if (!nnc_dist_writer()) return 0; /* dist: one process writes the files */
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: csv_logger's file, with the rate when reduce_lr_on_plateau
         * changes it (Keras adds it to the logs then); pass 1: --report's */
        const char *path = pass ? (s->hist_path[0] ? s->hist_path : NULL) : s->c ? s->c->csv_log : NULL;
        int lr = pass || (s->c && s->c->reduce_lr);
        FILE *f;
        if (!path) continue;
        if (!(f = fopen(path, append ? "a" : "w"))) return nnc_errorf("%s: error: cannot write: %s", path, strerror(errno));
        *(pass ? &s->hist : &s->csv) = f;
        if (append) continue; /* a resumed run adds its rows to the interrupted one's */
        fprintf(f, "epoch,loss");
        for (int i = 0; i < n; i++) fprintf(f, ",%s", nnc_metric_name(&list[i]));
        if (val) fprintf(f, ",val_loss");
        for (int i = 0; val && i < n; i++) fprintf(f, ",val_%s", nnc_metric_name(&list[i]));
        if (lr) fprintf(f, ",lr");
        fputc('\n', f);
    }
    return 0;
}

/* One epoch's row of a csv_logger or --report history file. */
static int csv_row(FILE *f, const char *path, const cb_state *s, int epoch, const epoch_logs *logs, int lr) {
    const double *v = logs->v;
    fprintf(f, "%d,%.9g", epoch, v[NNC_MON_LOSS]);
    for (int i = 0; i < logs->n; i++) fprintf(f, ",%.9g", logs->train[i]);
    if (s->csv_val) fprintf(f, ",%.9g", v[NNC_MON_VAL_LOSS]);
    for (int i = 0; s->csv_val && i < logs->n; i++) fprintf(f, ",%.9g", logs->val[i]);
    if (lr) fprintf(f, ",%.9g", logs->lr);
    fputc('\n', f);
    if (fflush(f) || ferror(f)) return nnc_errorf("%s: error: cannot write: %s", path, strerror(errno ? errno : EIO));
    return 0;
}

/* The checkpoint's file name: "{epoch}" (or "{epoch:03d}", zero-padded)
 * becomes the epoch number, from 1 as Keras prints it. */
static void checkpoint_path(char *dst, size_t cap, const char *pat, int epoch) {
    size_t n = 0;
    while (*pat && n + 1 < cap) {
        int width = 0, skip = 0;
        if (!strncmp(pat, "{epoch}", 7)) skip = 7;
        else if (!strncmp(pat, "{epoch:0", 8) && pat[8] >= '1' && pat[8] <= '9' && !strncmp(pat + 9, "d}", 2))
            skip = 11, width = pat[8] - '0';
        if (skip) {
            int k = snprintf(dst + n, cap - n, "%0*d", width, epoch);
            n += k > 0 && (size_t)k < cap - n ? (size_t)k : 0;
            pat += skip;
        } else {
            dst[n++] = *pat++;
        }
    }
    dst[n] = 0;
}

/* At the end of an epoch, with its logs. */
static int callbacks_epoch_end(cb_state *s, const nnc_model_desc *d, void *m, const nnc_prep *prep, int epoch,
                               const epoch_logs *logs, int quiet) {
    const nnc_callbacks *c = s->c;
    s->last_epoch = epoch;
    if (s->hist && csv_row(s->hist, s->hist_path, s, epoch, logs, 1)) return -1;
    if (!c) return 0;
    if (s->csv && csv_row(s->csv, c->csv_log, s, epoch, logs, c->reduce_lr)) return -1;
    if (c->checkpoint) {
        int min = minimizes(d, c->ckpt_monitor, c->ckpt_mode);
        double cur = mon_value(logs, c->ckpt_monitor);
        if (!c->ckpt_save_best_only || improves(cur, s->ckpt_best, 0, min)) {
            char path[4096];
            if (c->ckpt_save_best_only) s->ckpt_best = cur;
            checkpoint_path(path, sizeof path, c->checkpoint, epoch);
            if (nnc_dist_writer() && nnc_weights_save(path, d, m, prep)) return -1; /* dist: one writes */
        }
    }
    if (c->early_stopping) {
        int min = minimizes(d, c->es_monitor, c->es_mode);
        double cur = mon_value(logs, c->es_monitor);
        /* Keras keeps the first epoch's weights even if nothing improves */
        if (s->best_params && !s->es_best_epoch) {
            memcpy(s->best_params, d->params(m), d->n_params * sizeof(float));
            s->es_best_epoch = epoch;
        }
        s->es_wait++;
        if (improves(cur, s->es_best, c->es_min_delta, min)) {
            s->es_best = cur;
            s->es_best_epoch = epoch;
            s->es_wait = 0;
            if (s->best_params) memcpy(s->best_params, d->params(m), d->n_params * sizeof(float));
        } else if (s->es_wait >= c->es_patience && epoch > 1) {
            s->stop = 1;
            s->es_stopped = epoch;
            if (!quiet) printf("epoch %d: early stopping\n", epoch);
        }
    }
    if (c->reduce_lr) {
        /* Keras' ReduceLROnPlateau: a cooldown epoch resets the wait; an
         * improvement by more than min_delta resets it too; otherwise,
         * outside the cooldown, after patience epochs the rate becomes
         * max(rate * factor, min_lr) if it is above min_lr. */
        int min = minimizes(d, c->rlr_monitor, c->rlr_mode);
        double cur = mon_value(logs, c->rlr_monitor);
        if (s->rlr_cooldown > 0) s->rlr_cooldown--, s->rlr_wait = 0;
        if (improves(cur, s->rlr_best, c->rlr_min_delta, min)) {
            s->rlr_best = cur;
            s->rlr_wait = 0;
        } else if (s->rlr_cooldown == 0 && ++s->rlr_wait >= c->rlr_patience) {
            double old = d->learning_rate(m), now = old * c->rlr_factor;
            float *scale = d->lr_scale(m);
            if (old > (float)c->rlr_min_lr) {
                if (now < c->rlr_min_lr) now = c->rlr_min_lr;
                /* the multiplier the generated rate applies; 0 reads as 1 */
                *scale = (float)((*scale > 0 ? *scale : 1.0) * (now / old));
                if (!quiet) printf("epoch %d: reduce_lr_on_plateau reducing learning rate to %.6g\n", epoch, now);
                s->rlr_cooldown = c->rlr_cooldown;
                s->rlr_wait = 0;
            }
        }
    }
    return 0;
}

/* restore_best_weights restores at the end of training whether or not it
 * stopped early (Keras' implementation restores only when it stops). */
static int callbacks_train_end(cb_state *s, const nnc_model_desc *d, void *m, int quiet) {
    char name[64];
    if (!s->c || !s->best_params || !s->es_best_epoch) return 0;
    if (s->es_best_epoch != s->last_epoch) {
        memcpy(d->params(m), s->best_params, d->n_params * sizeof(float));
        if (!quiet)
            printf("restoring model weights from the end of the best epoch: %d (%s: %s)\n", s->es_best_epoch,
                   mon_name(d, s->c->es_monitor, name, sizeof name), f4(s->es_best).s);
    }
    fflush(stdout);
    return 0;
}

/* ---- interrupting and resuming ---- */

/* SIGINT, SIGTERM and SIGHUP during training all mean "stop and keep the
 * work": the handler only records which came; the batch loop checks after
 * each batch, saves a checkpoint and cmd_train returns 128 + the signal. */
static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { N_STOP_SIGNALS = sizeof stop_signals / sizeof *stop_signals };
static volatile sig_atomic_t got_signal;
static void on_stop_signal(int sig) { got_signal = sig; }

static void restore_signals(const struct sigaction *old) {
    for (int k = 0; k < N_STOP_SIGNALS; k++) sigaction(stop_signals[k], &old[k], NULL);
}

static const char *signal_name(int sig) {
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

/* Started by nnc (which sets $NNC_PARENT), the program stops as on SIGTERM
 * when nnc is gone: where PR_SET_PDEATHSIG does not exist, this is how a
 * training program outlives no nnc killed with -9. 0: not watching. */
static long parent_to_watch(void) {
    const char *s = getenv("NNC_PARENT");
    long p = s ? strtol(s, NULL, 10) : 0;
    return p > 1 && p == (long)getppid() ? p : 0;
}

/* Where training stands: enough to continue exactly where it stopped. */
typedef struct train_pos {
    uint64_t seed;
    int epoch;          /* the epoch in progress, from 1 */
    int done;           /* training samples of it already trained on */
    nnc_rng rng;        /* the shuffle RNG after this epoch's shuffle */
    double loss_sum, n; /* the epoch's running loss so far */
} train_pos;

enum { N_CKPT_KEYS = 17 };
static const char *const ckpt_keys[N_CKPT_KEYS] = {
    "nnc.seed",     "nnc.epoch",      "nnc.samples_done", "nnc.samples",   "nnc.step",
    "nnc.rng",      "nnc.loss_sum",   "nnc.loss_count",   "nnc.batch_size",
    /* the callbacks: early_stopping's best value, wait and best epoch; model_checkpoint's best */
    "nnc.es_best",  "nnc.es_wait",    "nnc.es_best_epoch", "nnc.ckpt_best",
    /* reduce_lr_on_plateau: the rate's multiplier, the best value, wait and cooldown */
    "nnc.lr_scale", "nnc.rlr_best",   "nnc.rlr_wait",     "nnc.rlr_cooldown"};

/* The checkpoint's tensors: i < n_tensors the parameters, then the
 * optimizer state ("optimizer.NAME"), then restore_best_weights' copy of the
 * best epoch's parameters ("best.NAME"). Returns the tensor, its name in
 * name, and its floats in *data. */
static const nnc_tensor *ckpt_tensor(const nnc_model_desc *d, void *m, const cb_state *cb, int i, char *name,
                                     size_t cap, float **data) {
    const nnc_tensor *t;
    if (i < d->n_tensors) {
        t = &d->tensors[i];
        snprintf(name, cap, "%s", t->name);
        *data = d->params(m) + t->offset;
    } else if (i < d->n_tensors + d->n_state_tensors) {
        t = &d->state_tensors[i - d->n_tensors];
        snprintf(name, cap, "optimizer.%s", t->name);
        *data = d->state(m) + t->offset;
    } else {
        t = &d->tensors[i - d->n_tensors - d->n_state_tensors];
        snprintf(name, cap, "best.%s", t->name);
        *data = cb->best_params + t->offset;
    }
    return t;
}

/* How many: the best epoch's copy only once there is one. */
static int ckpt_count(const nnc_model_desc *d, const cb_state *cb) {
    return d->n_tensors + d->n_state_tensors + (cb->best_params && cb->es_best_epoch ? d->n_tensors : 0);
}

/* The checkpoint: the tensors above, and in the metadata the position and
 * the callbacks' state. Written to path (cap bytes), which on return names
 * the file written: NAME.interrupted.safetensors, or the file this run
 * resumed from, is replaced; but a NAME.interrupted.safetensors some other
 * run left (one running beside this, or an earlier one not resumed yet) is
 * kept, and this run's state goes to NAME.interrupted.PID.safetensors. */
static int checkpoint_save(char *path, size_t cap, const char *resumed, const nnc_model_desc *d, void *m,
                           const train_pos *t, int n_train, const cb_state *cb) {
    int n = ckpt_count(d, cb), rc = -1;
    nnc_st_entry *e = nnc_alloc((size_t)n + 1, sizeof *e);
    char *names = nnc_alloc((size_t)n + 1, 256);
    char v[N_CKPT_KEYS][96];
    nnc_st_kv meta[3 + N_CKPT_KEYS] = {{"format", "pt"}, {"nnc.model", d->name}, {"nnc.checkpoint", "1"}};
    if (!e || !names) goto out;
    for (int i = 0; i < n; i++) {
        float *data;
        const nnc_tensor *tt = ckpt_tensor(d, m, cb, i, names + (size_t)i * 256, 256, &data);
        size_t numel = 1;
        e[i].name = names + (size_t)i * 256;
        e[i].data = data;
        e[i].ndim = tt->ndim;
        for (int k = 0; k < tt->ndim; k++) e[i].shape[k] = (uint64_t)tt->shape[k], numel *= (size_t)tt->shape[k];
        if (nnc_check_finite(path, e[i].name, data, numel, "the training state is not saved")) goto out;
    }
    snprintf(v[0], sizeof v[0], "%" PRIu64, t->seed);
    snprintf(v[1], sizeof v[1], "%d", t->epoch);
    snprintf(v[2], sizeof v[2], "%d", t->done);
    snprintf(v[3], sizeof v[3], "%d", n_train);
    snprintf(v[4], sizeof v[4], "%ld", *d->step(m));
    snprintf(v[5], sizeof v[5], "%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64 ",%016" PRIx64, t->rng.s[0],
             t->rng.s[1], t->rng.s[2], t->rng.s[3]);
    snprintf(v[6], sizeof v[6], "%.17g", t->loss_sum);
    snprintf(v[7], sizeof v[7], "%.17g", t->n);
    snprintf(v[8], sizeof v[8], "%d", d->batch);
    snprintf(v[9], sizeof v[9], "%.17g", cb->es_best);
    snprintf(v[10], sizeof v[10], "%d", cb->es_wait);
    snprintf(v[11], sizeof v[11], "%d", cb->es_best_epoch);
    snprintf(v[12], sizeof v[12], "%.17g", cb->ckpt_best);
    snprintf(v[13], sizeof v[13], "%.9g", d->lr_scale ? (double)*d->lr_scale(m) : 0.0);
    snprintf(v[14], sizeof v[14], "%.17g", cb->rlr_best);
    snprintf(v[15], sizeof v[15], "%d", cb->rlr_wait);
    snprintf(v[16], sizeof v[16], "%d", cb->rlr_cooldown);
    for (int k = 0; k < N_CKPT_KEYS; k++) meta[3 + k].key = ckpt_keys[k], meta[3 + k].value = v[k];
    if (resumed && !strcmp(path, resumed)) {
        rc = nnc_st_write(path, e, n, meta, 3 + N_CKPT_KEYS);
    } else if ((rc = nnc_st_write_new(path, e, n, meta, 3 + N_CKPT_KEYS)) == NNC_OUT_EXISTS) {
        snprintf(path, cap, "%s.interrupted.%ld.safetensors", d->name, (long)getpid());
        rc = nnc_st_write(path, e, n, meta, 3 + N_CKPT_KEYS);
    }
out:
    free(e);
    free(names);
    return rc;
}

/* The flags of this run but --resume and --stop-after-batches, which a
 * resumed run must repeat (the data and the epochs are not in the checkpoint). */
static void print_flags(FILE *f, const opts *o) {
    for (int i = 2; i < o->argc; i++) {
        const char *a = o->argv[i];
        int has_value = !strchr(a, '=') && strcmp(a, "--quiet") != 0 && strcmp(a, "--verbose") != 0;
        if (!strncmp(a, "--resume", 8) || !strncmp(a, "--stop-after-batches", 20)) {
            i += has_value;
            continue;
        }
        fprintf(f, " %s", a);
        if (has_value && i + 1 < o->argc) fprintf(f, " %s", o->argv[++i]);
    }
}

/* Reads a checkpoint into the model and *t; n_train must match. */
static int checkpoint_load(const char *path, const nnc_model_desc *d, void *m, train_pos *t, int n_train,
                           cb_state *cb) {
    nnc_st_file f;
    const char *s;
    int rc = -1, n;
    long step;
    if (nnc_st_read(&f, path)) return -1;
    if (!nnc_st_meta(&f, "nnc.checkpoint")) {
        nnc_errorf("%s: error: not a checkpoint of an interrupted run (no nnc.checkpoint metadata)", path);
        goto out;
    }
    if (!(s = nnc_st_meta(&f, "nnc.model")) || strcmp(s, d->name)) {
        nnc_errorf("%s: error: a checkpoint of model '%s', not '%s'", path, s ? s : "?", d->name);
        goto out;
    }
    int samples = -1, batch = -1, ok = 1;
    const char *v[N_CKPT_KEYS];
    double lr_scale = 0;
    for (int k = 0; k < N_CKPT_KEYS && ok; k++) ok = (v[k] = nnc_st_meta(&f, ckpt_keys[k])) != NULL;
    /* the callbacks' state first: whether "best.*" tensors follow */
    ok = ok && sscanf(v[9], "%lf", &cb->es_best) == 1 && sscanf(v[10], "%d", &cb->es_wait) == 1 &&
         sscanf(v[11], "%d", &cb->es_best_epoch) == 1 && sscanf(v[12], "%lf", &cb->ckpt_best) == 1 &&
         sscanf(v[13], "%lf", &lr_scale) == 1 && sscanf(v[14], "%lf", &cb->rlr_best) == 1 &&
         sscanf(v[15], "%d", &cb->rlr_wait) == 1 && sscanf(v[16], "%d", &cb->rlr_cooldown) == 1;
    n = ckpt_count(d, cb);
    for (int i = 0; ok && i < n; i++) {
        char name[256];
        float *data;
        const nnc_tensor *mt = ckpt_tensor(d, m, cb, i, name, sizeof name, &data);
        const nnc_st_tensor *ft;
        uint64_t numel = 1;
        for (int k = 0; k < mt->ndim; k++) numel *= (uint64_t)mt->shape[k];
        if (!(ft = nnc_st_find(&f, name)) || ft->numel != numel) {
            nnc_errorf("%s: error: tensor '%s' is %s", path, name, ft ? "of another shape" : "missing");
            goto out;
        }
        if (nnc_st_to_f32(&f, ft, data) || nnc_check_finite(path, name, data, (size_t)numel, "cannot resume"))
            goto out;
    }
    ok = ok && sscanf(v[0], "%" SCNu64, &t->seed) == 1 && sscanf(v[1], "%d", &t->epoch) == 1 &&
         sscanf(v[2], "%d", &t->done) == 1 && sscanf(v[3], "%d", &samples) == 1 && sscanf(v[4], "%ld", &step) == 1 &&
         sscanf(v[5], "%" SCNx64 ",%" SCNx64 ",%" SCNx64 ",%" SCNx64, &t->rng.s[0], &t->rng.s[1], &t->rng.s[2],
                &t->rng.s[3]) == 4 &&
         sscanf(v[6], "%lf", &t->loss_sum) == 1 && sscanf(v[7], "%lf", &t->n) == 1 && sscanf(v[8], "%d", &batch) == 1;
    if (!ok || t->epoch < 1 || t->done < 0 || t->done > samples) {
        nnc_errorf("%s: error: the checkpoint's position (nnc.* metadata) is missing or damaged", path);
        goto out;
    }
    if (batch != d->batch) {
        nnc_errorf("%s: error: the interrupted run used batch size %d, this one %d: resume with the same", path,
                   batch, d->batch);
        goto out;
    }
    if (samples != n_train) {
        nnc_errorf("%s: error: the interrupted run trained on %d samples, this one has %d: resume with the same data",
                   path, samples, n_train);
        goto out;
    }
    *d->step(m) = step;
    if (d->lr_scale) *d->lr_scale(m) = (float)lr_scale;
    rc = 0;
out:
    nnc_st_free(&f);
    return rc;
}

/* The epoch's logs: the loss so far, then one inference pass over the
 * training split (and the validation data) for the metrics. */
static void epoch_measure(const nnc_model_desc *d, void *m, const nnc_metrics *run, const nnc_dataset *tr,
                          const nnc_dataset *va, float *out, const ev_buf *evb, epoch_logs *logs) {
    nnc_metrics mt;
    double *v = logs->v;
    for (int k = 0; k < NNC_MON_COUNT; k++) v[k] = NAN;
    for (int k = 0; k < logs->n; k++) logs->train[k] = logs->val[k] = NAN;
    v[NNC_MON_LOSS] = nnc_metrics_loss(run);
    evaluate_all(d, m, tr, out, &mt, evb);
    v[NNC_MON_ACCURACY] = nnc_metrics_accuracy(&mt);
    v[NNC_MON_RMSE] = nnc_metrics_rmse(&mt);
    for (int k = 0; k < logs->n; k++) logs->train[k] = nnc_metric_value(&mt, &logs->list[k]);
    if (va->n) {
        evaluate_all(d, m, va, out, &mt, evb);
        v[NNC_MON_VAL_LOSS] = nnc_metrics_loss(&mt);
        v[NNC_MON_VAL_ACCURACY] = nnc_metrics_accuracy(&mt);
        v[NNC_MON_VAL_RMSE] = nnc_metrics_rmse(&mt);
        for (int k = 0; k < logs->n; k++) logs->val[k] = nnc_metric_value(&mt, &logs->list[k]);
    }
    logs->lr = d->learning_rate ? d->learning_rate(m) : NAN;
}

/* "epoch 3/10 - loss: 0.1 - accuracy: 0.9 - val_loss: ... - lr: 0.001000" */
static int epoch_line(char *line, size_t cap, const nnc_model_desc *d, int epoch, int epochs, const epoch_logs *logs,
                      int val) {
    int len = snprintf(line, cap, "epoch %d/%d - loss: %s", epoch, epochs, f4(logs->v[NNC_MON_LOSS]).s);
    for (int k = 0; k < logs->n; k++)
        len += snprintf(line + len, cap - (size_t)len, " - %s: %s", nnc_metric_name(&logs->list[k]),
                        f4(logs->train[k]).s);
    if (val) len += snprintf(line + len, cap - (size_t)len, " - val_loss: %s", f4(logs->v[NNC_MON_VAL_LOSS]).s);
    for (int k = 0; val && k < logs->n; k++)
        len += snprintf(line + len, cap - (size_t)len, " - val_%s: %s", nnc_metric_name(&logs->list[k]),
                        f4(logs->val[k]).s);
    if (d->learning_rate)
        len += snprintf(line + len, cap - (size_t)len, logs->lr >= 1e-4 ? " - lr: %.6f" : " - lr: %.4e", logs->lr);
    return len;
}

/* --verbose: what the run trains and validates on, before the first epoch. */
static void verbose_data(const nnc_model_desc *d, const nnc_dataset *tr, const nnc_dataset *va, const char *va_from,
                         const nnc_dataset *test, const nnc_prep *prep) {
    printf("data: %d training sample%s, %d validation (%s), %d test; %d batch%s of up to %d per epoch%s;"
           " preprocess %s\n",
           tr->n, tr->n == 1 ? "" : "s", va->n, va_from, test->n, (tr->n + d->batch - 1) / d->batch,
           (tr->n + d->batch - 1) / d->batch == 1 ? "" : "es", d->batch, d->shuffle ? ", shuffled" : "",
           nnc_prep_name(prep->kind));
}

/* The best epoch the report marks: early stopping's if it ran, else the
 * lowest validation loss, else the lowest training loss (report.c). */
static int report_write(const nnc_model_desc *d, const opts *o, const cb_state *cb, const nnc_metrics *mt,
                        const char *final_name) {
    nnc_report r;
    char line[1024], name[64];
    int len = snprintf(line, sizeof line, "%s loss: %s", final_name, f4(nnc_metrics_loss(mt)).s);
    nnc_metric list[MAX_METRICS];
    int n = metric_list(d, list);
    for (int i = 0; i < n; i++)
        len += snprintf(line + len, sizeof line - (size_t)len, " - %s: %s", nnc_metric_name(&list[i]),
                        f4(nnc_metric_value(mt, &list[i])).s);
    memset(&r, 0, sizeof r);
    r.dir = o->report;
    r.history = cb->hist_path;
    r.final_line = line;
    r.confusion = mt->confusion;
    r.n_classes = mt->confusion ? mt->n_classes : 0;
    r.hinge = d->task == NNC_HINGE;
    if (cb->c && cb->c->early_stopping) {
        r.monitor = mon_name(d, cb->c->es_monitor, name, sizeof name);
        r.minimize = minimizes(d, cb->c->es_monitor, cb->c->es_mode);
        r.best_epoch = cb->es_best_epoch;
        r.stop_epoch = cb->es_stopped;
        r.restored = cb->best_params && cb->es_best_epoch && cb->es_best_epoch != cb->last_epoch;
    }
    return nnc_report_html(d, &r);
}

static int cross_validate(const nnc_model_desc *d, void *m, const opts *o, const nnc_dataset *all, int k);

/* The class a target row names, as the metrics read it. */
static int target_class(const nnc_model_desc *d, const float *t) {
    if (d->task == NNC_SPARSE) return (int)t[0];
    if (d->task == NNC_BINARY) return t[0] > 0.5f;
    return nnc_argmax(t, d->n_target);
}

/* fit(class_weight = balanced): scikit-learn's n / (classes * count_c)
 * from the training rows; a class absent from them keeps weight 1 (it
 * never reaches the loss). With --verbose, says what the weights are. */
static void class_weights_set(const nnc_model_desc *d, void *m, const nnc_dataset *tr, int verbose) {
    int k = d->n_class_weights;
    float *w;
    if (!d->class_weight || k < 1) return;
    w = d->class_weight(m);
    if (d->class_weight_balanced) {
        double *count = calloc((size_t)k, sizeof(double));
        if (!count) return; /* the weights stay 1 */
        for (int i = 0; i < tr->n; i++) {
            int c = target_class(d, tr->y + (size_t)i * (size_t)d->n_target);
            if (c >= 0 && c < k) count[c]++;
        }
        for (int c = 0; c < k; c++) w[c] = count[c] > 0 ? (float)(tr->n / ((double)k * count[c])) : 1.0f;
        free(count);
    }
    if (verbose) {
        printf("class_weight%s:", d->class_weight_balanced ? " (balanced)" : "");
        for (int c = 0; c < k; c++) printf(" %d: %.6g%s", c, (double)w[c], c + 1 < k ? "," : "\n");
    }
}

static int cmd_train(const nnc_model_desc *d, void *m, const opts *o) {
    const char *train_path = o->data ? o->data : d->train_path;
    const char *test_path = o->test ? o->test : d->test_path;
    const char *val_path = o->val ? o->val : d->val_path;
    nnc_dataset all = {0}, tr = {0}, va = {0}, test = {0}, vfile = {0};
    nnc_prep prep = {0};
    nnc_metrics run, mt;
    nnc_rng rng;
    float *bx = NULL, *by = NULL, *out = NULL;
    int *idx = NULL, rc = -1;
    int epochs = o->epochs >= 0 ? o->epochs : d->epochs;
    int folds = o->cv >= 0 ? o->cv : d->cross_validate;
    int tty = !o->quiet && !o->verbose && nnc_dist_tty(fileno(stdout)); /* dist: mpirun's pty is not one */
    cb_state cb;
    ev_buf evb = {NULL, NULL};
    epoch_logs logs;
    train_pos pos;
    struct sigaction old_act[N_STOP_SIGNALS], on_stop;
    int handler = 0, batches = 0, first = 1;
    long parent = parent_to_watch();
    char ckpt[4096];

    memset(&pos, 0, sizeof pos);
    memset(&cb, 0, sizeof cb);
    pos.seed = o->seed;
    pos.epoch = 1;
    logs.n = metric_list(d, logs.list);
    if (o->resume && !d->state)
        return nnc_errorf("%s: error: model '%s' cannot resume: its program has no optimizer state table", o->resume,
                          d->name);
    if (nnc_data_load(&all, train_path, d, 0)) goto done;
    if (folds > 1) {
        if (nnc_dist_size() > 1) { /* dist */
            nnc_errorf("error: cross_validate(%d) runs in one process, not under mpirun", folds);
            goto done;
        }
        if (o->save || o->report || o->init) {
            nnc_errorf("error: cross_validate(%d) trains %d models from fresh weights and keeps none: "
                       "--%s does not apply (--cross-validate 0 trains one model)",
                       folds, folds, o->save ? "save" : o->report ? "report" : "init");
            goto done;
        }
        rc = cross_validate(d, m, o, &all, folds);
        goto done;
    }
    if (callbacks_begin(&cb, d)) goto done;
    if (o->report) {
        if (nnc_dist_writer() && mkdir(o->report, 0777) && errno != EEXIST) {
            nnc_errorf("%s: error: cannot make the report directory: %s", o->report, strerror(errno));
            goto done;
        }
        snprintf(cb.hist_path, sizeof cb.hist_path, "%s/history.csv", o->report);
    }
    if (o->save && nnc_dist_writer() && check_writable(o->save)) goto done;
    if (test_path && nnc_data_load(&test, test_path, d, 0)) goto done;
    if (val_path && nnc_data_load(&vfile, val_path, d, 0)) goto done;
    if (nnc_data_split(&all, val_path ? 0 : d->validation_split, train_path, &tr, &va)) goto done;
    if (val_path) va = vfile;
    /* statistics from the training rows only, applied to everything */
    if (nnc_prep_fit(&prep, d->preprocess, &tr)) goto done;
    nnc_prep_apply(&prep, &all);
    nnc_prep_apply(&prep, &test);
    nnc_prep_apply(&prep, &vfile);
    if (val_path) va = vfile;

    d->init(m, o->seed);
    if (o->init && nnc_weights_load(o->init, d, m, NULL)) goto done;
    class_weights_set(d, m, &tr, o->verbose);

    bx = nnc_alloc((size_t)d->batch, (size_t)d->n_in * sizeof(float));
    by = nnc_alloc((size_t)d->batch, (size_t)d->n_target * sizeof(float));
    out = nnc_alloc((size_t)d->batch, (size_t)d->n_out * sizeof(float));
    idx = nnc_alloc((size_t)tr.n, sizeof(int));
    if (!bx || !by || !out || !idx) goto done;
    {
        int most = all.n > test.n ? all.n : test.n;
        if (ev_alloc(&evb, d, most > vfile.n ? most : vfile.n, o->report != NULL)) goto done;
    }
    for (int i = 0; i < tr.n; i++) idx[i] = i;
    if (o->resume) {
        train_pos at;
        if (checkpoint_load(o->resume, d, m, &at, tr.n, &cb)) goto done;
        /* the order of the rows: the interrupted run's shuffles, replayed */
        nnc_rng_seed(&rng, at.seed);
        for (int e = 1; e <= at.epoch && d->shuffle; e++) nnc_shuffle(idx, tr.n, &rng);
        if (memcmp(&rng, &at.rng, sizeof rng)) {
            nnc_errorf("%s: error: the shuffle does not replay: resume with the same data and seed", o->resume);
            goto done;
        }
        pos = at;
    } else {
        nnc_rng_seed(&rng, o->seed);
    }
    /* dist: every process starts from rank 0's model */
    if (nnc_dist_bcast_model(d, m, tr.n)) goto done;
    /* Ctrl-C, SIGTERM, SIGHUP: finish the batch, save a checkpoint, exit 128 + the signal */
    got_signal = 0;
    memset(&on_stop, 0, sizeof on_stop);
    on_stop.sa_handler = on_stop_signal;
    sigemptyset(&on_stop.sa_mask);
    for (int k = 0; k < N_STOP_SIGNALS; k++) sigaction(stop_signals[k], &on_stop, &old_act[k]);
    handler = 1;
    snprintf(ckpt, sizeof ckpt, "%s.interrupted.safetensors", d->name);

    if (csv_open(&cb, d, va.n > 0, o->resume != NULL)) goto done;
    if (o->verbose)
        verbose_data(d, &tr, &va, val_path ? val_path : va.n ? "validation_split" : "none", &test, &prep);
    /* dist: a step takes gb samples across the processes, each its shard */
    const int gb = nnc_dist_global_batch(d), dist = nnc_dist_mpi();
    for (int epoch = pos.epoch; epoch <= epochs && !cb.stop; epoch++, first = 0) {
        double t0 = now_ms();
        int n_batches = (tr.n + gb - 1) / gb, start = 0;
        progress bar = {0};
        nnc_metrics_init(&run, d);
        if (first && o->resume) { /* continue the epoch where it stopped, its shuffle done */
            start = pos.done;
            run.loss_sum = pos.loss_sum;
            run.n = pos.n;
        } else if (d->shuffle) {
            nnc_shuffle(idx, tr.n, &rng);
        }
        for (int i = start; i < tr.n; i += gb) {
            int nb = tr.n - i < gb ? tr.n - i : gb, lo, ns, stop = 0;
            nnc_dist_shard(nb, &lo, &ns); /* dist: rows [i + lo, i + lo + ns); one process: all */
            const float *x = tr.x + (size_t)(i + lo) * (size_t)d->n_in;
            const float *y = tr.y + (size_t)(i + lo) * (size_t)d->n_target;
            double lr = o->verbose && d->learning_rate ? d->learning_rate(m) : 0, tb = o->verbose ? now_ms() : 0;
            if (d->shuffle) {
                nnc_data_gather(&tr, idx + i + lo, ns, bx, by);
                x = bx;
                y = by;
            }
            float loss;
            if (dist) { /* every process stops after the same batch, if any was asked to */
                stop = got_signal || batches + 1 == o->stop_after;
                loss = nnc_dist_step(d, m, x, y, ns, nb, &stop);
            } else {
                loss = d->train_step(m, x, y, nb);
            }
            nnc_metrics_add(&run, loss, NULL, NULL, nb);
            if (tty) progress_draw(&bar, epoch, epochs, i / gb + 1, n_batches, t0, nnc_metrics_loss(&run));
            if (o->verbose) {
                printf("epoch %d/%d - batch %d/%d - %d samples - loss: %s - mean loss: %s", epoch, epochs,
                       i / gb + 1, n_batches, nb, f4(loss).s, f4(nnc_metrics_loss(&run)).s);
                if (d->learning_rate) printf(lr >= 1e-4 ? " - lr: %.6f" : " - lr: %.4e", lr);
                printf(" - %.2f ms\n", now_ms() - tb);
            }
            if (parent && getppid() != (pid_t)parent) got_signal = SIGTERM;
            if (dist ? (++batches, stop) : got_signal || ++batches == o->stop_after) {
                /* dist: a stop asked for on another process (SIGUSR1 from
                 * nnc --processes, a signal there) reads as Ctrl-C here */
                int sig = got_signal ? got_signal : SIGINT;
                pos.epoch = epoch;
                pos.done = i + nb;
                pos.rng = rng;
                pos.loss_sum = run.loss_sum;
                pos.n = run.n;
                if (tty) printf("\n");
                fflush(stdout);
                /* dist: one process saves and says so */
                if (d->state &&
                    (!nnc_dist_writer() || checkpoint_save(ckpt, sizeof ckpt, o->resume, d, m, &pos, tr.n, &cb) == 0)) {
                    if (nnc_dist_writer()) {
                        fprintf(stderr,
                                "interrupted%s%s in epoch %d after %d of %d samples; saved the training state to %s\n"
                                "resume with: nnc train %s",
                                sig == SIGINT ? "" : " by ", sig == SIGINT ? "" : signal_name(sig), epoch, pos.done,
                                tr.n, ckpt, d->source ? d->source : "MODEL.nn");
                        print_flags(stderr, o);
                        fprintf(stderr, " --resume %s\n", ckpt);
                    }
                    rc = 128 + sig;
                } else {
                    if (!d->state) nnc_errorf("error: model '%s' has no optimizer state table", d->name);
                    nnc_error_addf("interrupted in epoch %d: the training state could not be saved", epoch);
                }
                goto done;
            }
        }
        if (o->quiet && !d->callbacks && !o->report) continue;
        /* The loss is Keras' running mean of the batch losses. train_step
         * returns no outputs, so the accuracy (or rmse) comes from one
         * inference pass over the training split with the epoch's final
         * weights: a forward pass costs about a third of a training step,
         * and --quiet skips it unless a callback or the report needs it. */
        epoch_measure(d, m, &run, &tr, &va, out, &evb, &logs);
        /* dist: rank 0's logs, so that every callback decides once for all */
        nnc_dist_bcast(logs.v, NNC_MON_COUNT);
        nnc_dist_bcast(logs.train, MAX_METRICS);
        nnc_dist_bcast(logs.val, MAX_METRICS);
        if (!o->quiet) {
            char line[1024];
            int len = epoch_line(line, sizeof line, d, epoch, epochs, &logs, va.n > 0);
            snprintf(line + len, sizeof line - (size_t)len, " - %.0f ms", now_ms() - t0);
            /* on a terminal the finished line replaces the progress line */
            if (tty) printf("\r%-*s\n", bar.width, line);
            else printf("%s\n", line);
            fflush(stdout);
        }
        if (callbacks_epoch_end(&cb, d, m, &prep, epoch, &logs, o->quiet)) goto done;
    }
    if (handler) restore_signals(old_act), handler = 0;
    if (callbacks_train_end(&cb, d, m, o->quiet)) goto done;

    const nnc_dataset *final = test.n ? &test : va.n ? &va : &tr;
    const char *final_name = test.n ? "test" : va.n ? "validation" : "train";
    evaluate_all(d, m, final, out, &mt, &evb);
    printf("%s loss: %s", final_name, f4(nnc_metrics_loss(&mt)).s);
    print_metrics(d, &mt);
    printf("\n");
    fflush(stdout);
    if (nnc_dist_check_same(d, m)) goto done; /* dist: a bug if the processes' weights differ */
    if (o->report && nnc_dist_writer()) { /* dist: one process writes */
        if (cb.hist) fclose(cb.hist), cb.hist = NULL;
        if (report_write(d, o, &cb, &mt, final_name)) goto done;
    }
    /* silent on success: the evaluation stays the last line, for scripts */
    if (o->save && nnc_dist_writer() && nnc_weights_save(o->save, d, m, &prep)) goto done;
    rc = 0;
done:
    nnc_data_free(&all);
    nnc_data_free(&test);
    nnc_data_free(&vfile);
    nnc_prep_free(&prep);
    free(bx);
    free(by);
    free(out);
    free(idx);
    ev_free(&evb);
    callbacks_free(&cb);
    if (handler) restore_signals(old_act);
    return rc;
}

/* ---- cross_validate(k) ---- */

/* scikit-learn's KFold(k) without shuffling: fold f validates on rows
 * [start, start + size) in file order, the first n % k folds one row
 * longer; the model trains on the rest, from fresh weights drawn with
 * seed + f, with its preprocessing fitted on the fold's training rows.
 * Each fold runs fit(epochs, batch_size, shuffle) without callbacks; the
 * summary is each metric's mean and population standard deviation (numpy's
 * std) over the folds' validation scores. */
static int cross_validate(const nnc_model_desc *d, void *m, const opts *o, const nnc_dataset *all, int k) {
    int epochs = o->epochs >= 0 ? o->epochs : d->epochs, rc = -1, n_metrics;
    size_t ni = (size_t)d->n_in, nt = (size_t)d->n_target;
    nnc_dataset tr = *all, va = *all;
    nnc_metric list[MAX_METRICS];
    nnc_metrics run, mt;
    nnc_prep prep = {0};
    nnc_rng rng;
    ev_buf evb = {NULL, NULL};
    float *bx = NULL, *by = NULL, *out = NULL;
    int *idx = NULL;
    double *score = NULL; /* score[f * (1 + n_metrics) + j]: fold f's val loss (j = 0) and metrics */

    n_metrics = metric_list(d, list);
    if (all->n < k)
        return nnc_errorf("%s: error: cross_validate(%d) needs at least %d samples, the file has %d",
                          o->data ? o->data : d->train_path, k, k, all->n);
    tr.owner = va.owner = 1;
    tr.x = nnc_alloc((size_t)all->n, ni * sizeof(float));
    tr.y = nnc_alloc((size_t)all->n, nt * sizeof(float));
    va.x = nnc_alloc((size_t)all->n, ni * sizeof(float));
    va.y = nnc_alloc((size_t)all->n, nt * sizeof(float));
    bx = nnc_alloc((size_t)d->batch, ni * sizeof(float));
    by = nnc_alloc((size_t)d->batch, nt * sizeof(float));
    out = nnc_alloc((size_t)d->batch, (size_t)d->n_out * sizeof(float));
    idx = nnc_alloc((size_t)all->n, sizeof(int));
    score = nnc_alloc((size_t)k * (size_t)(1 + n_metrics), sizeof(double));
    if (!tr.x || !tr.y || !va.x || !va.y || !bx || !by || !out || !idx || !score) goto done;
    if (ev_alloc(&evb, d, all->n, 0)) goto done;
    if (!o->quiet)
        printf("cross-validation: %d folds of %d samples, %d epoch%s each\n", k, all->n, epochs,
               epochs == 1 ? "" : "s");
    for (int f = 0, start = 0; f < k; f++) {
        int size = all->n / k + (f < all->n % k), ntr = 0, nva = 0;
        /* the fold's rows, copied so each part is contiguous */
        for (int i = 0; i < all->n; i++) {
            int in_val = i >= start && i < start + size;
            nnc_dataset *to = in_val ? &va : &tr;
            int r = in_val ? nva++ : ntr++;
            memcpy(to->x + (size_t)r * ni, all->x + (size_t)i * ni, ni * sizeof(float));
            memcpy(to->y + (size_t)r * nt, all->y + (size_t)i * nt, nt * sizeof(float));
        }
        start += size;
        tr.n = ntr;
        va.n = nva;
        nnc_prep_free(&prep);
        if (nnc_prep_fit(&prep, d->preprocess, &tr)) goto done;
        nnc_prep_apply(&prep, &tr);
        nnc_prep_apply(&prep, &va);
        d->init(m, o->seed + (uint64_t)f);
        class_weights_set(d, m, &tr, 0);
        nnc_rng_seed(&rng, o->seed + (uint64_t)f);
        for (int i = 0; i < tr.n; i++) idx[i] = i;
        for (int epoch = 1; epoch <= epochs; epoch++) {
            nnc_metrics_init(&run, d);
            if (d->shuffle) nnc_shuffle(idx, tr.n, &rng);
            for (int i = 0; i < tr.n; i += d->batch) {
                int nb = tr.n - i < d->batch ? tr.n - i : d->batch;
                const float *x = tr.x + (size_t)i * ni, *y = tr.y + (size_t)i * nt;
                if (d->shuffle) {
                    nnc_data_gather(&tr, idx + i, nb, bx, by);
                    x = bx;
                    y = by;
                }
                nnc_metrics_add(&run, d->train_step(m, x, y, nb), NULL, NULL, nb);
            }
            if (o->verbose)
                printf("fold %d/%d - epoch %d/%d - loss: %s\n", f + 1, k, epoch, epochs,
                       f4(nnc_metrics_loss(&run)).s);
        }
        evaluate_all(d, m, &va, out, &mt, &evb);
        double *s = score + (size_t)f * (size_t)(1 + n_metrics);
        s[0] = nnc_metrics_loss(&mt);
        for (int j = 0; j < n_metrics; j++) s[1 + j] = nnc_metric_value(&mt, &list[j]);
        if (!o->quiet) {
            printf("fold %d/%d - %d training, %d validation samples - val_loss: %s", f + 1, k, tr.n, va.n,
                   f4(s[0]).s);
            for (int j = 0; j < n_metrics; j++) printf(" - val_%s: %s", nnc_metric_name(&list[j]), f4(s[1 + j]).s);
            printf("\n");
            fflush(stdout);
        }
    }
    printf("cross-validation (%d folds):", k);
    for (int j = 0; j <= n_metrics; j++) {
        double mean = 0, var = 0;
        for (int f = 0; f < k; f++) mean += score[(size_t)f * (size_t)(1 + n_metrics) + (size_t)j];
        mean /= k;
        for (int f = 0; f < k; f++) {
            double e = score[(size_t)f * (size_t)(1 + n_metrics) + (size_t)j] - mean;
            var += e * e;
        }
        printf("%s val_%s: %s +- %s", j ? " -" : "", j ? nnc_metric_name(&list[j - 1]) : "loss", f4(mean).s,
               f4(sqrt(var / k)).s);
    }
    printf("\n");
    fflush(stdout);
    rc = 0;
done:
    nnc_data_free(&tr);
    nnc_data_free(&va);
    nnc_prep_free(&prep);
    ev_free(&evb);
    free(bx);
    free(by);
    free(out);
    free(idx);
    free(score);
    return rc;
}

static int cmd_eval(const nnc_model_desc *d, void *m, const opts *o) {
    const char *path = o->data ? o->data : d->test_path;
    nnc_dataset ds = {0};
    nnc_prep prep = {0};
    nnc_metrics mt;
    float *out = NULL;
    ev_buf evb = {NULL, NULL};
    int rc = -1;

    d->init(m, d->seed);
    if (nnc_weights_load(o->weights, d, m, &prep)) goto done;
    if (nnc_data_load(&ds, path, d, 0)) goto done;
    nnc_prep_apply(&prep, &ds);
    if (!(out = nnc_alloc((size_t)d->batch, (size_t)d->n_out * sizeof(float)))) goto done;
    if (ev_alloc(&evb, d, ds.n, 1)) goto done;
    evaluate_all(d, m, &ds, out, &mt, &evb);
    printf("loss: %s", f4(nnc_metrics_loss(&mt)).s);
    print_metrics(d, &mt);
    printf("\n");
    if (mt.confusion) print_confusion(&mt, d->task == NNC_HINGE);
    rc = 0;
done:
    nnc_data_free(&ds);
    nnc_prep_free(&prep);
    free(out);
    ev_free(&evb);
    return rc;
}

/* A class at every step: one line per sample, the T classes, then each
 * step's probabilities, named p{step}_{class} (binary: of class 1). */
static void predict_steps_header(FILE *f, const nnc_model_desc *d) {
    int t = nnc_steps(d), k = nnc_row_out(d);
    for (int s = 0; s < t; s++) fprintf(f, "%sclass%d", s ? "," : "", s);
    for (int s = 0; s < t; s++)
        for (int j = 0; j < k; j++) fprintf(f, ",p%d_%d", s, d->task == NNC_BINARY ? 1 : j);
    fputc('\n', f);
}

static void predict_steps_row(FILE *f, const nnc_model_desc *d, const float *o, float *prob) {
    int t = nnc_steps(d), k = nnc_row_out(d);
    for (int s = 0; s < t; s++) {
        const float *r = o + (size_t)s * (size_t)k;
        /* the same decision rules as the accuracy metric */
        int cls = d->task != NNC_BINARY ? nnc_argmax(r, k) : d->logits ? r[0] > 0.0f : r[0] > 0.5f;
        fprintf(f, "%s%d", s ? "," : "", cls);
    }
    for (int s = 0; s < t; s++) {
        const float *r = o + (size_t)s * (size_t)k;
        if (d->task == NNC_BINARY) prob[0] = d->logits ? nnc_sigmoid(r[0]) : r[0];
        else if (d->logits) nnc_softmax(prob, r, k);
        else memcpy(prob, r, (size_t)k * sizeof(float));
        for (int j = 0; j < k; j++) fprintf(f, ",%.6g", (double)prob[j]);
    }
    fputc('\n', f);
}

static void predict_header(FILE *f, const nnc_model_desc *d) {
    int classes = d->task == NNC_SPARSE || d->task == NNC_ONEHOT;
    if (nnc_steps(d) > 1) {
        predict_steps_header(f, d);
        return;
    }
    if (d->task == NNC_BINARY || (d->task == NNC_HINGE && d->n_out == 1)) {
        fputs(d->task == NNC_BINARY ? "class,p1\n" : "class,score\n", f);
        return;
    }
    if (classes) fputs("class,", f);
    for (int j = 0; j < d->n_out; j++) fprintf(f, "%s%c%d", j ? "," : "", classes ? 'p' : 'y', j);
    fputc('\n', f);
}

/* One output row; prob has room for n_out floats. */
static void predict_row(FILE *f, const nnc_model_desc *d, const float *o, float *prob) {
    int k = d->n_out;
    if (nnc_steps(d) > 1) {
        predict_steps_row(f, d, o, prob);
        return;
    }
    if (d->task == NNC_SPARSE || d->task == NNC_ONEHOT) {
        if (d->logits) nnc_softmax(prob, o, k);
        else memcpy(prob, o, (size_t)k * sizeof(float));
        fprintf(f, "%d", nnc_argmax(o, k));
        for (int j = 0; j < k; j++) fprintf(f, ",%.6g", (double)prob[j]);
    } else if (d->task == NNC_BINARY) {
        /* the same decision rule as the accuracy metric */
        int cls = d->logits ? o[0] > 0.0f : o[0] > 0.5f;
        fprintf(f, "%d,%.6g", cls, (double)(d->logits ? nnc_sigmoid(o[0]) : o[0]));
    } else if (d->task == NNC_HINGE && k == 1) {
        /* the score's sign is the class, written as hinge's -1 / 1 */
        fprintf(f, "%d,%.9g", o[0] > 0.0f ? 1 : -1, (double)o[0]);
    } else {
        for (int j = 0; j < k; j++) fprintf(f, "%s%.9g", j ? "," : "", (double)o[j]);
    }
    fputc('\n', f);
}

static int cmd_predict(const nnc_model_desc *d, void *m, const opts *o) {
    nnc_dataset ds = {0};
    nnc_prep prep = {0};
    nnc_outfile of = {0};
    float *out = NULL, *prob = NULL;
    FILE *f = stdout;
    int rc = -1;

    if (o->out && check_writable(o->out)) goto done;
    d->init(m, d->seed);
    if (nnc_weights_load(o->weights, d, m, &prep)) goto done;
    if (nnc_data_load(&ds, o->data, d, 1)) goto done;
    nnc_prep_apply(&prep, &ds);
    out = nnc_alloc((size_t)d->batch, (size_t)d->n_out * sizeof(float));
    prob = nnc_alloc((size_t)d->n_out, sizeof(float));
    if (!out || !prob) goto done;
    if (o->out) {
        if (nnc_out_open(&of, o->out)) goto done;
        f = of.f;
    }
    predict_header(f, d);
    for (int i = 0; i < ds.n; i += d->batch) {
        int nb = ds.n - i < d->batch ? ds.n - i : d->batch;
        d->predict(m, ds.x + (size_t)i * (size_t)d->n_in, nb, out);
        for (int r = 0; r < nb; r++) predict_row(f, d, out + (size_t)r * (size_t)d->n_out, prob);
    }
    if (o->out) {
        rc = nnc_out_commit(&of);
    } else if (fflush(stdout) != 0 || ferror(stdout)) {
        nnc_errorf("stdout: error: cannot write: %s", strerror(errno ? errno : EIO));
    } else {
        rc = 0;
    }
done:
    if (rc && of.f) nnc_out_abort(&of);
    nnc_data_free(&ds);
    nnc_prep_free(&prep);
    free(out);
    free(prob);
    return rc;
}

static int run_main(const nnc_model_desc *d, void *model, int argc, char **argv) {
    const char *prog = d->name ? d->name : "nnc";
    opts o;
    int cmd, st;

    if (argc > 0 && argv[0] && *argv[0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    if (check_desc(d)) {
        fprintf(stderr, "%s: %s\n", prog, nnc_error());
        return 1;
    }
    if (argc < 2) return usage_error(prog, "missing command (train, eval or predict)");
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        help(d, prog);
        return 0;
    }
    cmd = !strcmp(argv[1], "train")     ? TRAIN
          : !strcmp(argv[1], "eval")    ? EVAL
          : !strcmp(argv[1], "predict") ? PREDICT
                                        : 0;
    if (!cmd) return usage_error(prog, "unknown command '%s'", argv[1]);
    memset(&o, 0, sizeof o);
    o.epochs = -1;
    o.cv = -1;
    o.seed = d->seed;
    o.argc = argc;
    o.argv = argv;
    if ((st = parse_args(d, cmd, argc, argv, prog, &o))) return st;
    st = cmd == TRAIN ? cmd_train(d, model, &o) : cmd == EVAL ? cmd_eval(d, model, &o) : cmd_predict(d, model, &o);
    if (st > 128) return st; /* interrupted by a signal, checkpoint saved */
    if (st) {
        fflush(stdout);
        fprintf(stderr, "%s\n", nnc_error());
        return 1;
    }
    return 0;
}

/* dist: MPI around the whole program when it is built for mpirun (dist.c),
 * nothing otherwise (dist_serial.c); only training is spread. */
int nnc_main(const nnc_model_desc *d, void *model, int argc, char **argv) {
    int st = nnc_dist_init(&argc, argv);
    if (!st && nnc_dist_size() > 1 && (argc < 2 || strcmp(argv[1], "train"))) {
        fprintf(stderr, "error: only train runs on several processes; run eval and predict in one\n");
        st = 2;
    }
    return nnc_dist_finish(st ? st : run_main(d, model, argc, argv));
}
