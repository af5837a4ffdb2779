/* metrics.c — what the driver reports: the epoch loss as Keras computes it
 * (batch losses weighted by batch size, so a short last batch counts for
 * what it holds), accuracy for classification, rmse for regression, the
 * metrics(...) list (mse, mae, precision/recall from the confusion matrix,
 * exact ROC AUC, top-k accuracy), and the softmax/sigmoid that turn logits
 * into the probabilities predict prints. */
#include <math.h>
#include <stdlib.h>

#include "nnc_internal.h"

void nnc_metrics_init(nnc_metrics *mt, const nnc_model_desc *d) {
    mt->task = d->task;
    mt->steps = nnc_steps(d);
    mt->n_out = d->n_out / mt->steps; /* per classified row */
    mt->logits = d->logits;
    mt->loss_sum = mt->n = mt->correct = mt->sq_sum = mt->n_values = 0;
    mt->n_classes = nnc_n_classes(d->task, mt->n_out);
    mt->confusion = NULL;
    mt->abs_sum = mt->top_k_correct = 0;
    mt->top_k = 0;
    for (const nnc_metric *m = d->metrics; m && m->kind != NNC_METRIC_END; m++)
        if (m->kind == NNC_METRIC_TOP_K) mt->top_k = m->k;
    mt->scores = NULL;
    mt->n_scores = 0;
}

int nnc_n_classes(int task, int n_out) {
    if (task == NNC_BINARY || (task == NNC_HINGE && n_out == 1)) return 2;
    if (task == NNC_SPARSE || task == NNC_ONEHOT) return n_out;
    return 0;
}

/* The true and the predicted class of one sample, by the accuracy's rules. */
static void classes(const nnc_metrics *mt, const float *o, const float *t, int *truth, int *pred) {
    int k = mt->n_out;
    if (mt->task == NNC_SPARSE) {
        *truth = (int)t[0], *pred = nnc_argmax(o, k);
    } else if (mt->task == NNC_ONEHOT) {
        *truth = nnc_argmax(t, k), *pred = nnc_argmax(o, k);
    } else if (mt->task == NNC_BINARY) {
        *truth = t[0] > 0.5f, *pred = mt->logits ? o[0] > 0.0f : o[0] > 0.5f;
    } else {
        *truth = t[0] > 0.0f, *pred = o[0] > 0.0f;
    }
}

void nnc_metrics_add(nnc_metrics *mt, float batch_loss, const float *out, const float *y, int n) {
    mt->loss_sum += (double)batch_loss * n;
    mt->n += n;
    if (!out || !y) return;
    int k = mt->n_out;
    /* a class at every step: each of a sample's steps rows scores as a sample */
    for (int i = 0; i < n * mt->steps; i++) {
        const float *o = out + (size_t)i * (size_t)k;
        if (mt->confusion && mt->n_classes) {
            int truth, pred;
            classes(mt, o, y + (size_t)i * (size_t)(mt->task == NNC_SPARSE || mt->task == NNC_BINARY ? 1 : k),
                    &truth, &pred);
            mt->confusion[(size_t)truth * (size_t)mt->n_classes + (size_t)pred] += 1;
        }
        if (mt->scores && mt->task == NNC_BINARY) {
            mt->scores[mt->n_scores].score = o[0];  /* a logit ranks as its probability does */
            mt->scores[mt->n_scores++].label = y[i] > 0.5f;
        }
        if (mt->top_k && (mt->task == NNC_SPARSE || mt->task == NNC_ONEHOT)) {
            /* in the top k: fewer than k outputs above the true class's */
            int c = mt->task == NNC_SPARSE ? (int)y[i] : nnc_argmax(y + (size_t)i * (size_t)k, k), above = 0;
            for (int j = 0; j < k; j++) above += o[j] > o[c];
            mt->top_k_correct += above < mt->top_k;
        }
        if (mt->task == NNC_SPARSE) {
            mt->correct += nnc_argmax(o, k) == (int)y[i];
        } else if (mt->task == NNC_BINARY) {
            /* Keras' BinaryAccuracy: p > 0.5, which for a logit is z > 0 */
            int pred = mt->logits ? o[0] > 0.0f : o[0] > 0.5f;
            mt->correct += pred == (y[i] > 0.5f);
        } else if (mt->task == NNC_ONEHOT) {
            mt->correct += nnc_argmax(o, k) == nnc_argmax(y + (size_t)i * (size_t)k, k);
        } else if (mt->task == NNC_HINGE) {
            /* the sign is the class; targets 0 and -1 are both the negative one */
            const float *t = y + (size_t)i * (size_t)k;
            int right = 0;
            for (int j = 0; j < k; j++) right += (o[j] > 0.0f) == (t[j] > 0.0f);
            mt->correct += (double)right / k;
        } else {
            const float *t = y + (size_t)i * (size_t)k;
            for (int j = 0; j < k; j++) {
                double e = (double)o[j] - t[j];
                mt->sq_sum += e * e;
                mt->abs_sum += fabs(e);
            }
            mt->n_values += k;
        }
    }
}

double nnc_metrics_loss(const nnc_metrics *mt) { return mt->n > 0 ? mt->loss_sum / mt->n : 0.0; }
double nnc_metrics_accuracy(const nnc_metrics *mt) { return mt->n > 0 ? mt->correct / (mt->n * mt->steps) : 0.0; }
double nnc_metrics_rmse(const nnc_metrics *mt) { return mt->n_values > 0 ? sqrt(mt->sq_sum / mt->n_values) : 0.0; }

/* Precision (recall) of class c: tp over the samples predicted (labelled) c. */
static double class_ratio(const nnc_metrics *mt, int c, int recall) {
    int k = mt->n_classes;
    double tp = mt->confusion[c * k + c], all = 0;
    for (int j = 0; j < k; j++) all += recall ? mt->confusion[c * k + j] : mt->confusion[j * k + c];
    return all > 0 ? tp / all : 0.0;
}

/* Binary: of class 1 (Keras' Precision/Recall at threshold 0.5); more
 * classes: the mean over classes (scikit-learn's average = "macro"). */
static double precision_recall(const nnc_metrics *mt, int recall) {
    int k = mt->n_classes;
    double sum = 0;
    if (!mt->confusion || !k) return NAN;
    if (k == 2) return class_ratio(mt, 1, recall);
    for (int c = 0; c < k; c++) sum += class_ratio(mt, c, recall);
    return sum / k;
}

static int by_score(const void *a, const void *b) {
    float x = ((const nnc_scored *)a)->score, y = ((const nnc_scored *)b)->score;
    return (x > y) - (x < y);
}

/* The Mann-Whitney statistic: the sum of the positives' ranks (tied scores
 * share their mean rank), less the smallest possible sum, over pos * neg. */
double nnc_auc(nnc_scored *s, int n) {
    double pos = 0, rank_sum = 0;
    qsort(s, (size_t)n, sizeof *s, by_score);
    for (int i = 0; i < n;) {
        int j = i, p = 0;
        while (j < n && s[j].score == s[i].score) p += s[j++].label > 0.5f;
        rank_sum += p * (i + 1 + j) / 2.0; /* ranks i+1 .. j */
        pos += p;
        i = j;
    }
    double neg = n - pos;
    if (pos == 0 || neg == 0) return NAN;
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg);
}

double nnc_metric_value(const nnc_metrics *mt, const nnc_metric *m) {
    switch (m->kind) {
    case NNC_METRIC_ACCURACY:
    case NNC_METRIC_BINARY_ACCURACY: return nnc_metrics_accuracy(mt);
    case NNC_METRIC_MSE: return mt->n_values > 0 ? mt->sq_sum / mt->n_values : 0.0;
    case NNC_METRIC_MAE: return mt->n_values > 0 ? mt->abs_sum / mt->n_values : 0.0;
    case NNC_METRIC_RMSE: return nnc_metrics_rmse(mt);
    case NNC_METRIC_PRECISION: return precision_recall(mt, 0);
    case NNC_METRIC_RECALL: return precision_recall(mt, 1);
    case NNC_METRIC_AUC: return mt->scores ? nnc_auc(mt->scores, mt->n_scores) : NAN;
    case NNC_METRIC_TOP_K: return mt->n > 0 ? mt->top_k_correct / (mt->n * mt->steps) : 0.0;
    }
    return NAN;
}

const char *nnc_metric_name(const nnc_metric *m) {
    static const char *const names[NNC_METRIC_KINDS] = {
        "?", "accuracy", "binary_accuracy", "mse", "mae", "rmse", "precision", "recall", "auc", "top_k_accuracy",
    };
    return m->kind > 0 && m->kind < NNC_METRIC_KINDS ? names[m->kind] : "?";
}

/* The first maximum, like numpy; a NaN never wins, so a diverged model
 * scores class 0 instead of reading past the row. */
int nnc_argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best] || (v[best] != v[best] && v[i] == v[i])) best = i;
    return best;
}

/* Written so that exp() never overflows, for large logits of either sign. */
float nnc_sigmoid(float z) {
    if (z >= 0) return 1.0f / (1.0f + expf(-z));
    float e = expf(z);
    return e / (1.0f + e);
}

void nnc_softmax(float *p, const float *z, int n) {
    float max = z[nnc_argmax(z, n)];
    double sum = 0;
    for (int i = 0; i < n; i++) sum += p[i] = expf(z[i] - max);
    for (int i = 0; i < n; i++) p[i] = (float)(p[i] / sum);
}
