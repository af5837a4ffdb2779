/* emit_norm.c — kernels of dropout (counter-based masks), batch and layer
 * normalization, and their gradients. */
#include "emit.h"
#include <math.h>

/* ---- dropout and normalization ------------------------------------------ */

/* The first node of op, or NULL. */
static Node *first_op(Op op) {
    for (int i = 0; i < G->nodes.n; i++)
        if (((Node *)G->nodes.v[i])->op == op)
            return G->nodes.v[i];
    return NULL;
}

int has_op(Op op) { return first_op(op) != NULL; }

/* Dropout's masks come from a counter-based hash, not a random generator: the
 * decision for value i of a batch is a function of (seed, step, layer, i), so
 * the backward pass recomputes the forward's mask and a run resumed from a
 * checkpoint (which restores step) draws the masks an unbroken run draws.
 * mix64 is splitmix64's finalizer. Value i is kept when the top 24 bits of
 * mix64(key + (i + 1) * golden) are >= rate * 2^24 (rounded), key =
 * mix64(mix64(seed ^ mix64(step)) + layer); tests/torch/ref.py computes the
 * same masks. */
#define DROPOUT_GOLDEN "UINT64_C(0x9e3779b97f4a7c15)"

static int first_of(Node *n) {
    for (int i = 0; i < G->nodes.n; i++) {
        Node *m = G->nodes.v[i];
        if (m->op == OP_DROPOUT || m->op == OP_DROPOUT_BWD)
            return m == n;
    }
    return 0;
}

static void emit_dropout_helpers(Node *n) {
    if (!first_of(n))
        return;
    emit("/* Dropout's hash (splitmix64's finalizer): masks are a function of");
    emit(" * (seed, step, layer, value), recomputed by the backward pass. */");
    OPEN("static uint64_t mix64(uint64_t z) {");
    emit("z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);");
    emit("z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);");
    emit("return z ^ (z >> 31);");
    CLOSE();
    emit("");
    OPEN("static uint64_t dropout_key(uint64_t seed, long step, int layer) {");
    emit("return mix64(mix64(seed ^ mix64((uint64_t)step)) + (uint64_t)layer);");
    CLOSE();
    emit("");
}

/* The keep test of value i and the kept values' scale, 1 / (1 - rate). */
static const char *dropout_keep(Node *n) {
    return fmt("(mix64(key + (uint64_t)(i + 1) * %s) >> 40) >= %ldu", DROPOUT_GOLDEN,
               (long)floor(n->f[0] * 16777216.0 + 0.5));
}

void emit_dropout(Node *n) {
    emit_dropout_helpers(n);
    emit("/* %s: out %s = x, or in training x / (1 - %g) where kept (probability %g), else 0 */", n->layer,
         dims(n), n->f[0], 1 - n->f[0]);
    OPEN("static void %s($ *out, const $ *x, int training, uint64_t seed, long step, int n) {", funcs[n->id]);
    OPEN("if (!training) {");
    emit("for (long i = 0; i < %s; i++) out[i] = x[i];", count(n));
    emit("return;");
    CLOSE();
    emit("const uint64_t key = dropout_key(seed, step, %d);", (int)n->f[1]);
    emit("for (long i = 0; i < %s; i++) out[i] = %s ? x[i] * %s : 0.0@;", count(n), dropout_keep(n),
         lit(1.0 / (1.0 - n->f[0])));
    CLOSE();
}

void emit_dropout_bwd(Node *n) {
    emit_dropout_helpers(n);
    emit("/* %s: dx %s = dy through the values the forward kept, scaled as they were */", n->layer, dims(n));
    OPEN("static void %s($ *dx, const $ *dy, uint64_t seed, long step, int n) {", funcs[n->id]);
    emit("const uint64_t key = dropout_key(seed, step, %d);", (int)n->f[1]);
    emit("for (long i = 0; i < %s; i++) dx[i] = %s ? dy[i] * %s : 0.0@;", count(n), dropout_keep(n),
         lit(1.0 / (1.0 - n->f[0])));
    CLOSE();
}

/* Batch norm's layout: [n, C, S], statistics per channel c over n * S values. */
static long bn_channels(Node *x) { return x->shape.dim[1]; }
static long bn_inner(Node *x) { return node_row(x) / x->shape.dim[1]; }

/* The loop over channel c's values and the index of one: over the batch
 * and, for images, the positions s of the channel. */
static const char *bn_loop(Node *x) {
    if (bn_inner(x) == 1)
        return "for (int b = 0; b < n; b++)";
    return fmt("for (int b = 0; b < n; b++) for (long s = 0; s < %ld; s++)", bn_inner(x));
}

static const char *bn_at(Node *x) {
    if (bn_inner(x) == 1)
        return fmt("(long)b * %ld + c", bn_channels(x));
    return fmt("((long)b * %ld + c) * %ld + s", bn_channels(x), bn_inner(x));
}

/* The batch's statistics of every channel, once per layer function, so
 * that a training run on several processes (runtime/dist.c) can sum them
 * over every process's samples as PyTorch's SyncBatchNorm does, through the
 * model's batch_sum; without it the sums are this call's, in the order the
 * per-channel loops always used. Printed once, before the first batch norm. */
static void emit_bn_stats_helper(void) {
    emit("/* Batch norm's mean bm[c] and biased variance bv[c] of each channel of x");
    emit(" * [n, ch, in], in double; returns how many values each is over: n * in, or,");
    emit(" * with m->batch_sum (several processes), every process's. bm has ch + 1 slots. */");
    OPEN("static double bn_stats(const $ *x, long ch, long in, int n, double *bm, double *bv, const %s_model *m) {", P);
    emit("double count = (double)n * in;");
    OPEN("for (long c = 0; c < ch; c++) {");
    emit("double sum = 0;");
    emit("for (int b = 0; b < n; b++) for (long s = 0; s < in; s++) sum += x[((long)b * ch + c) * in + s];");
    emit("bm[c] = sum;");
    CLOSE();
    OPEN("if (m->batch_sum) {");
    emit("bm[ch] = count;");
    emit("m->batch_sum(m->batch_ctx, bm, (int)ch + 1, 0);");
    emit("count = bm[ch];");
    CLOSE();
    OPEN("for (long c = 0; c < ch; c++) {");
    emit("const double mean = bm[c] / count;");
    emit("double ss = 0;");
    OPEN("for (int b = 0; b < n; b++) for (long s = 0; s < in; s++) {");
    emit("const double d = x[((long)b * ch + c) * in + s] - mean;");
    emit("ss += d * d;");
    CLOSE();
    emit("bm[c] = mean;");
    emit("bv[c] = ss;");
    CLOSE();
    emit("if (m->batch_sum) m->batch_sum(m->batch_ctx, bv, (int)ch, 0);");
    emit("for (long c = 0; c < ch; c++) bv[c] /= count;");
    emit("return count;");
    CLOSE();
    emit("");
}

/* The statistics of all of x's channels into local bm and bv (and count):
 * schedule.c counts these arrays in the function's frame. */
static void emit_bn_stats(Node *x, int with_count) {
    long ch = bn_channels(x);
    emit("double bm[%ld];", ch + 1);
    emit("double bv[%ld];", ch);
    emit("%sbn_stats(x, %ld, %ld, n, bm, bv, m);", with_count ? "const double count = " : "", ch, bn_inner(x));
}

/* The parameters of a function over x, gamma and beta as call() passes them:
 * only those present. */
static const char *norm_params(Node *n, const char *first) {
    char *s = fmt("%s, const $ *x", first);
    if (n->in[1])
        s = fmt("%s, const $ *gamma", s);
    if (n->in[2])
        s = fmt("%s, const $ *beta", s);
    return s;
}

/* y = gamma (x - mean) / sqrt(var + eps) + beta, per channel: the batch's
 * statistics in training, which also move the running ones (PyTorch's
 * momentum is 1 - Keras's; the running variance is the unbiased one), and the
 * running statistics otherwise. An inference build's buffers are constants. */
void emit_batch_norm(Node *n) {
    Node *x = n->in[0];
    long ch = bn_channels(x);
    double mom = n->f[0];
    if (G->inference) {     /* weights.c made scale and shift of gamma, beta and the running statistics */
        emit("/* %s: out %s = x scale + shift per channel: batch norm with its running statistics */", n->layer,
             dims(n));
        OPEN("static void %s($ *out, const $ *x, const $ *scale, const $ *shift, int n) {", funcs[n->id]);
        OPEN("for (long c = 0; c < %ld; c++) {", ch);
        OPEN("%s {", bn_loop(x));
        emit("const long i = %s;", bn_at(x));
        emit("out[i] = x[i] * scale[c] + shift[c];");
        CLOSE();
        CLOSE();
        CLOSE();
        return;
    }
    if (n == first_op(OP_BATCH_NORM))
        emit_bn_stats_helper();
    emit("/* %s: out %s = gamma (x - mean) / sqrt(var + %g) + beta per channel (momentum %g) */", n->layer,
         dims(n), n->f[1], mom);
    OPEN("static void %s(%s, int training, $ *running_mean, $ *running_var, $ *num_batches_tracked, "
         "const %s_model *m, int n) {", funcs[n->id], norm_params(n, "$ *out"), P);
    emit("double bm[%ld];", ch + 1);
    emit("double bv[%ld];", ch);
    emit("const double count = training ? bn_stats(x, %ld, %ld, n, bm, bv, m) : 0;", ch, bn_inner(x));
    OPEN("for (long c = 0; c < %ld; c++) {", ch);
    emit("double mean = running_mean[c], var = running_var[c];");
    OPEN("if (training) {");
    emit("mean = bm[c], var = bv[c];");
    emit("/* the running variance is unbiased: var count / (count - 1) */");
    emit("const double unbiased = count > 1 ? bv[c] * count / (count - 1) : bv[c];");
    emit("running_mean[c] = ($)(%s * running_mean[c] + (1 - %s) * bm[c]);", dbl(mom), dbl(mom));
    emit("running_var[c] = ($)(%s * running_var[c] + (1 - %s) * unbiased);", dbl(mom), dbl(mom));
    CLOSE();
    emit("const double inv = 1.0 / sqrt(var + %s);", dbl(n->f[1]));
    emit("const $ scale = ($)(%sinv), shift = ($)(%s- mean * %sinv);", n->in[1] ? "gamma[c] * " : "",
         n->in[2] ? "beta[c] " : "", n->in[1] ? "gamma[c] * " : "");
    OPEN("%s {", bn_loop(x));
    emit("const long i = %s;", bn_at(x));
    emit("out[i] = x[i] * scale + shift;");
    CLOSE();
    CLOSE();
    emit("if (training) num_batches_tracked[0] += 1.0@;");
    CLOSE();
}

/* dx = gamma / sqrt(var + eps) (dy - mean(dy) - xhat mean(dy xhat)), the
 * means per channel over the batch: the statistics depend on every x. */
void emit_batch_norm_dx(Node *n) {
    Node *x = n->in[1];
    long ch = bn_channels(x);
    emit("/* %s: dx %s through the batch statistics (training mode) */", n->layer, dims(n));
    OPEN("static void %s($ *dx, const $ *dy, const $ *x%s, const %s_model *m, int n) {", funcs[n->id],
         n->in[2] ? ", const $ *gamma" : "", P);
    emit_bn_stats(x, 1);
    emit("double sums[%ld]; /* sum of dy, then of dy xhat, per channel */", 2 * ch);
    OPEN("for (long c = 0; c < %ld; c++) {", ch);
    emit("const double inv = 1.0 / sqrt(bv[c] + %s);", dbl(n->f[1]));
    emit("double sdy = 0, sdyx = 0;");
    OPEN("%s {", bn_loop(x));
    emit("const long i = %s;", bn_at(x));
    emit("sdy += dy[i];");
    emit("sdyx += dy[i] * (x[i] - bm[c]) * inv;");
    CLOSE();
    emit("sums[c] = sdy, sums[%ld + c] = sdyx;", ch);
    CLOSE();
    emit("/* several processes: sums of the gradient, weighted as the runtime weights each process's */");
    emit("if (m->batch_sum) m->batch_sum(m->batch_ctx, sums, %ld, 1);", 2 * ch);
    OPEN("for (long c = 0; c < %ld; c++) {", ch);
    emit("const double inv = 1.0 / sqrt(bv[c] + %s);", dbl(n->f[1]));
    emit("const double k = %sinv, mdy = sums[c] / count, mdyx = sums[%ld + c] / count;",
         n->in[2] ? "gamma[c] * " : "", ch);
    OPEN("%s {", bn_loop(x));
    emit("const long i = %s;", bn_at(x));
    emit("dx[i] = ($)(k * (dy[i] - mdy - (x[i] - bm[c]) * inv * mdyx));");
    CLOSE();
    CLOSE();
    CLOSE();
}

/* dgamma = sum of dy xhat per channel, xhat with the batch statistics. */
void emit_batch_norm_dgamma(Node *n) {
    Node *x = n->in[1];
    long ch = bn_channels(x);
    emit("/* %s: dweight %s = sum of dy xhat per channel */", n->layer, dims(n));
    OPEN("static void %s($ *dgamma, const $ *dy, const $ *x, const %s_model *m, int n) {", funcs[n->id], P);
    emit_bn_stats(x, 0);
    OPEN("for (long c = 0; c < %ld; c++) {", ch);
    emit("const double inv = 1.0 / sqrt(bv[c] + %s);", dbl(n->f[1]));
    emit("double acc = 0;");
    OPEN("%s {", bn_loop(x));
    emit("const long i = %s;", bn_at(x));
    emit("acc += dy[i] * (x[i] - bm[c]) * inv;");
    CLOSE();
    emit("dgamma[c] = ($)acc;");
    CLOSE();
    CLOSE();
}

/* Layer norm's rows: the last axis, d values each; its mean and biased
 * variance in double, lm and 1 / sqrt(var + eps) in inv, of row xr. */
static void emit_ln_stats(long d, double eps) {
    emit("double sum = 0, ss = 0;");
    emit("for (long j = 0; j < %ld; j++) sum += xr[j];", d);
    emit("const double lm = sum / %ld.0;", d);
    emit("for (long j = 0; j < %ld; j++) ss += (xr[j] - lm) * (xr[j] - lm);", d);
    emit("const double inv = 1.0 / sqrt(ss / %ld.0 + %s);", d, dbl(eps));
}

void emit_layer_norm(Node *n) {
    long d = last_dim(n);
    emit("/* %s: out %s = gamma (x - mean) / sqrt(var + %g) + beta, over each row of %ld */", n->layer,
         dims(n), n->f[0], d);
    OPEN("static void %s(%s, int n) {", funcs[n->id], norm_params(n, "$ *out"));
    OPEN("for (long r = 0; r < %s; r++) {", rows(n, d));
    emit("const $ *xr = x + r * %ld;", d);
    emit("$ *o = out + r * %ld;", d);
    emit_ln_stats(d, n->f[0]);
    emit("for (long j = 0; j < %ld; j++) o[j] = ($)((xr[j] - lm) * inv)%s%s;", d, n->in[1] ? " * gamma[j]" : "",
         n->in[2] ? " + beta[j]" : "");
    CLOSE();
    CLOSE();
}

/* dx = inv (g - mean(g) - xhat mean(g xhat)), g = dy gamma, over each row. */
void emit_layer_norm_dx(Node *n) {
    long d = last_dim(n);
    emit("/* %s: dx %s through the row's statistics */", n->layer, dims(n));
    OPEN("static void %s($ *dx, const $ *dy, const $ *x%s, int n) {", funcs[n->id],
         n->in[2] ? ", const $ *gamma" : "");
    OPEN("for (long r = 0; r < %s; r++) {", rows(n, d));
    emit("const $ *xr = x + r * %ld, *dyr = dy + r * %ld;", d, d);
    emit_ln_stats(d, n->f[0]);
    emit("double sg = 0, sgx = 0;");
    OPEN("for (long j = 0; j < %ld; j++) {", d);
    emit("const double g = dyr[j]%s;", n->in[2] ? " * gamma[j]" : "");
    emit("sg += g;");
    emit("sgx += g * (xr[j] - lm) * inv;");
    CLOSE();
    emit("sg /= %ld.0, sgx /= %ld.0;", d, d);
    emit("for (long j = 0; j < %ld; j++) dx[r * %ld + j] = ($)(inv * (dyr[j]%s - sg - (xr[j] - lm) * inv * sgx));",
         d, d, n->in[2] ? " * gamma[j]" : "");
    CLOSE();
    CLOSE();
}

/* dgamma = sum over rows of dy xhat. */
void emit_layer_norm_dgamma(Node *n) {
    long d = n->shape.dim[0];
    Node *x = n->in[1];
    emit("/* %s: dweight %s = sum over rows of dy xhat */", n->layer, dims(n));
    OPEN("static void %s($ *dgamma, const $ *dy, const $ *x, int n) {", funcs[n->id]);
    emit("for (long j = 0; j < %ld; j++) dgamma[j] = 0.0@;", d);
    OPEN("for (long r = 0; r < %s; r++) {", rows(x, d));
    emit("const $ *xr = x + r * %ld, *dyr = dy + r * %ld;", d, d);
    emit_ln_stats(d, n->f[0]);
    emit("for (long j = 0; j < %ld; j++) dgamma[j] += ($)(dyr[j] * (xr[j] - lm) * inv);", d);
    CLOSE();
    CLOSE();
}
