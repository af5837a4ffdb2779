/* emit_dense.c — kernels of dense layers and activations: linear (and its
 * transposed-weight form), the activation formulas shared by every family,
 * softmax, maxout, add, reshape, and their gradients. Each emitter prints one
 * static function with literal loop bounds. */
#include "emit.h"
#include <math.h>

/* ---- activation formulas, shared by the forward and backward emitters -- */

/* selu's constants, as Klambauer et al. and PyTorch give them. */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define SQRT1_2 0.70710678118654752440084436210485      /* 1 / sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267793994605993438 /* 1 / sqrt(2 pi) */

/* An activation as written in a model file, parameters from f[]:
 * "leaky_relu(alpha = 0.2)"; "" for none. */
const char *act_str(Op act, const double *f) {
    if (!act)
        return "";
    const ParamDef *p = catalog_activation(act)->params;
    if (!p[0].name)
        return op_names[act];
    char *s = fmt("%s(", op_names[act]);
    for (int k = 0; k < MAX_PARAMS && p[k].name; k++)
        s = fmt("%s%s%s = %g", s, k ? ", " : "", p[k].name, f[k]);
    return fmt("%s)", s);
}

/* act(v); f[] holds the activation's parameters (f[0] = alpha). */
const char *act_expr(Op act, const double *f, const char *v) {
    switch (act) {
    case OP_NONE: return v;
    case OP_RELU: return fmt("%s > 0.0@ ? %s : 0.0@", v, v);
    case OP_LEAKY_RELU: return fmt("%s > 0.0@ ? %s : %s * %s", v, v, lit(f[0]), v);
    case OP_ELU: return fmt("%s > 0.0@ ? %s : %s * expm1@(%s)", v, v, lit(f[0]), v);
    case OP_SELU:
        return fmt("%s > 0.0@ ? %s * %s : %s * expm1@(%s)", v, lit(SELU_SCALE), v,
                   lit(SELU_SCALE * SELU_ALPHA), v);
    case OP_RELU6: return fmt("%s > 0.0@ ? (%s < 6.0@ ? %s : 6.0@) : 0.0@", v, v, v);
    case OP_HARD_SIGMOID:
        return fmt("%s > -3.0@ ? (%s < 3.0@ ? (%s + 3.0@) / 6.0@ : 1.0@) : 0.0@", v, v, v);
    case OP_SIGMOID: return fmt("1.0@ / (1.0@ + exp@(-%s))", v);
    case OP_TANH: return fmt("tanh@(%s)", v);
    case OP_SOFTPLUS:  /* max(v, 0) + log(1 + exp(-|v|)): no overflow for any v */
        return fmt("(%s > 0.0@ ? %s : 0.0@) + log1p@(exp@(-fabs@(%s)))", v, v, v);
    case OP_SOFTSIGN: return fmt("%s / (1.0@ + fabs@(%s))", v, v);
    case OP_EXPONENTIAL: return fmt("exp@(%s)", v);
    case OP_STEP: return fmt("%s > 0.0@ ? 1.0@ : 0.0@", v);
    case OP_GELU: return fmt("0.5@ * %s * (1.0@ + erf@(%s * %s))", v, v, lit(SQRT1_2));
    case OP_SILU: return fmt("%s / (1.0@ + exp@(-%s))", v, v);
    default: internal_error("no elementwise formula for %s", op_names[act]);
    }
}

/* dy * act'(x), from v: the output y, or the input x for the activations
 * whose gradient rule is grad_act_x (OPF_GRAD_X in ops.h). At the kinks the
 * derivative is PyTorch's: relu, leaky_relu, elu take x = 0 as x <= 0 (slope
 * 0, alpha, alpha), relu6 and hard_sigmoid have slope 0 at their corners. */
const char *act_grad_expr(Op act, const double *f, const char *dy, const char *v) {
    switch (act) {
    case OP_RELU: return fmt("%s > 0.0@ ? %s : 0.0@", v, dy);
    case OP_LEAKY_RELU: return fmt("%s > 0.0@ ? %s : %s * %s", v, dy, lit(f[0]), dy);
    case OP_ELU:   /* alpha exp(x) = y + alpha for x <= 0 */
        return fmt("%s > 0.0@ ? %s : %s * (%s + %s)", v, dy, dy, v, lit(f[0]));
    case OP_SELU:  /* scale alpha exp(x) = y + scale alpha for x <= 0 */
        return fmt("%s > 0.0@ ? %s * %s : %s * (%s + %s)", v, lit(SELU_SCALE), dy, dy, v,
                   lit(SELU_SCALE * SELU_ALPHA));
    case OP_RELU6: return fmt("%s > 0.0@ && %s < 6.0@ ? %s : 0.0@", v, v, dy);
    case OP_HARD_SIGMOID: return fmt("%s > 0.0@ && %s < 1.0@ ? %s / 6.0@ : 0.0@", v, v, dy);
    case OP_SIGMOID: return fmt("%s * %s * (1.0@ - %s)", dy, v, v);
    case OP_TANH: return fmt("%s * (1.0@ - %s * %s)", dy, v, v);
    case OP_SOFTPLUS:  /* sigmoid(x) = 1 - exp(-y) */
        return fmt("-%s * expm1@(-%s)", dy, v);
    case OP_SOFTSIGN:  /* 1 / (1 + |x|)^2 = (1 - |y|)^2 */
        return fmt("%s * (1.0@ - fabs@(%s)) * (1.0@ - fabs@(%s))", dy, v, v);
    case OP_EXPONENTIAL: return fmt("%s * %s", dy, v);
    case OP_GELU:  /* Phi(x) + x phi(x), from x */
        return fmt("%s * (0.5@ * (1.0@ + erf@(%s * %s)) + %s * exp@(-0.5@ * %s * %s) * %s)", dy, v,
                   lit(SQRT1_2), v, v, v, lit(INV_SQRT_2PI));
    case OP_SILU:  /* s (1 + x (1 - s)), s = sigmoid(x), from x */
        return fmt("%s / (1.0@ + exp@(-%s)) * (1.0@ + %s * (1.0@ - 1.0@ / (1.0@ + exp@(-%s))))", dy,
                   v, v, v);
    default: internal_error("no derivative formula for %s", op_names[act]);
    }
}

/* Softmax or log_softmax of one row in place: o[0..len) holds the inputs on
 * entry. */
void emit_softmax_row(Op act, const char *o, long len) {
    emit("$ mx = %s[0];", o);
    emit("for (int i = 1; i < %ld; i++) mx = %s[i] > mx ? %s[i] : mx;", len, o, o);
    emit("$ sum = 0.0@;");
    if (act == OP_LOG_SOFTMAX) {
        emit("for (int i = 0; i < %ld; i++) sum += exp@(%s[i] - mx);", len, o);
        emit("$ lse = log@(sum);");
        emit("for (int i = 0; i < %ld; i++) %s[i] = %s[i] - mx - lse;", len, o, o);
        return;
    }
    OPEN("for (int i = 0; i < %ld; i++) {", len);
    emit("%s[i] = exp@(%s[i] - mx);", o, o);
    emit("sum += %s[i];", o);
    CLOSE();
    emit("$ inv = 1.0@ / sum;");
    emit("for (int i = 0; i < %ld; i++) %s[i] *= inv;", len, o);
}

/* Softmax and log_softmax work on whole rows, the others elementwise. */
/* softmax and log_softmax: an activation over the whole row, not value by value. */
static int row_act(Op act) { return act && !(op_flags(act) & OPF_ELEMENTWISE); }

/* ---- op emitters: each prints one static function ----------------------- */

void emit_nothing(Node *n) { (void)n; }

/* A dot product of length k, in `lanes` independent partial sums so the C
 * compiler can vectorize it without reassociating floating point. */
void emit_dot(const char *dst, const char *a, const char *b, long k) {
    int lanes = dot_lanes(k);
    if (lanes == 1) {
        emit("for (int i = 0; i < %ld; i++) %s += %s[i] * %s[i];", k, dst, a, b);
        return;
    }
    long body = k / lanes * lanes;
    emit("$ acc[%d] = {0};", lanes);
    emit("for (int i = 0; i < %ld; i += %d)", body, lanes);
    emit("    for (int l = 0; l < %d; l++) acc[l] += %s[i + l] * %s[i + l];", lanes, a, b);
    emit("for (int l = 0; l < %d; l++) %s += acc[l];", lanes, dst);
    if (body < k)
        emit("for (int i = %ld; i < %ld; i++) %s += %s[i] * %s[i];", body, k, dst, a, b);
}

/* out = act(x W^T + b), one output row at a time, bias and activation fused. */
void emit_linear(Node *n) {
    Node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    long k = w->shape.dim[1], o = w->shape.dim[0];
    emit("/* %s: out %s = %s(x %s . weight %s^T%s) */", n->layer, dims(n), act_str(n->act, n->f),
         dims(x), dims(w), b ? " + bias" : "");
    OPEN("static void %s($ *out, const $ *x, const $ *weight%s, int n) {", funcs[n->id],
         b ? ", const $ *bias" : "");
    if (!x->batched || !n->batched)
        emit("(void)n;");
    OPEN("for (int r = 0; r < %s; r++) {", rows(x, k));
    emit("const $ *xr = x + r * %ld;", k);
    emit("$ *o = out + r * %ld;", o);
    OPEN("for (int j = 0; j < %ld; j++) {", o);
    emit("const $ *wj = weight + j * %ld;", k);
    emit("$ sum = %s;", b ? "bias[j]" : "0.0@");
    emit_dot("sum", "xr", "wj", k);
    emit("o[j] = %s;", row_act(n->act) ? "sum" : act_expr(n->act, n->f, "sum"));
    CLOSE();
    if (row_act(n->act))
        emit_softmax_row(n->act, "o", o);
    CLOSE();
    CLOSE();
}

void emit_transpose(Node *n) {
    Node *w = n->in[0];
    long o = w->shape.dim[0], k = w->shape.dim[1];
    emit("/* %s: weight %s transposed to %s for the forward loop */", n->layer, dims(w), dims(n));
    OPEN("static void %s($ *wt, const $ *weight) {", funcs[n->id]);
    emit("for (int j = 0; j < %ld; j++)", o);
    emit("    for (int i = 0; i < %ld; i++) wt[i * %ld + j] = weight[j * %ld + i];", k, o, k);
    CLOSE();
}

/* out = act(x W^T + b) from W^T: each row's sums are built along the outputs,
 * in blocks of at most LOCAL_ACC_MAX outputs. */
void emit_linear_t(Node *n) {
    Node *x = n->in[0], *wt = n->in[1], *b = n->in[2];
    long k = wt->shape.dim[0], o = wt->shape.dim[1];
    long blk = o <= LOCAL_ACC_MAX ? o : LOCAL_ACC_MAX;
    emit("/* %s: out %s = %s(x %s . weight_t %s%s) */", n->layer, dims(n), act_str(n->act, n->f),
         dims(x), dims(wt), b ? " + bias" : "");
    OPEN("static void %s($ *out, const $ *x, const $ *wt%s, int n) {", funcs[n->id],
         b ? ", const $ *bias" : "");
    OPEN("for (int r = 0; r < %s; r++) {", rows(x, k));
    emit("const $ *xr = x + r * %ld;", k);
    emit("$ *o = out + r * %ld;", o);
    if (blk < o)
        OPEN("for (int jb = 0; jb < %ld; jb += %ld) {", o, blk);
    const char *jb = blk < o ? "jb + " : "";
    long len = blk;
    if (blk < o)
        emit("const int len = %ld - jb < %ld ? %ld - jb : %ld;", o, blk, o, blk);
    const char *lenv = blk < o ? "len" : fmt("%ld", len);
    emit("$ acc[%ld];", blk);
    emit("for (int j = 0; j < %s; j++) acc[j] = %s;", lenv, b ? fmt("bias[%sj]", jb) : "0.0@");
    OPEN("for (int i = 0; i < %ld; i++) {", k);
    emit("const $ xi = xr[i];");
    emit("const $ *wi = wt + i * %ld%s;", o, blk < o ? " + jb" : "");
    emit("for (int j = 0; j < %s; j++) acc[j] += xi * wi[j];", lenv);
    CLOSE();
    emit("for (int j = 0; j < %s; j++) o[%sj] = %s;", lenv, jb,
         row_act(n->act) ? "acc[j]" : act_expr(n->act, n->f, "acc[j]"));
    if (blk < o)
        CLOSE();
    if (row_act(n->act))
        emit_softmax_row(n->act, "o", o);
    CLOSE();
    CLOSE();
}

void emit_act(Node *n) {
    emit("/* %s: out %s = %s(x) */", n->layer, dims(n), act_str(n->op, n->f));
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) out[i] = %s;", count(n), act_expr(n->op, n->f, "x[i]"));
    CLOSE();
}

void emit_softmax(Node *n) {
    long len = last_dim(n);
    emit("/* %s: out %s = %s(x) over the last axis */", n->layer, dims(n), op_names[n->op]);
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int r = 0; r < %s; r++) {", rows(n, len));
    emit("$ *o = out + r * %ld;", len);
    emit("for (int i = 0; i < %ld; i++) o[i] = x[r * %ld + i];", len, len);
    emit_softmax_row(n->op, "o", len);
    CLOSE();
    CLOSE();
}

/* maxout: out[u] = max of x[u * pieces + p] over p, per row. */
void emit_maxout(Node *n) {
    long pieces = (long)n->f[0];
    emit("/* %s: out %s = max over %ld pieces of x %s */", n->layer, dims(n), pieces, dims(n->in[0]));
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int u = 0; u < %s; u++) {", count(n));
    emit("const $ *xu = x + u * %ld;", pieces);
    emit("$ mx = xu[0];");
    emit("for (int p = 1; p < %ld; p++) mx = xu[p] > mx ? xu[p] : mx;", pieces);
    emit("out[u] = mx;");
    CLOSE();
    CLOSE();
}

/* dx = dy at the first largest piece of each group, 0 at the others (the
 * index PyTorch's max returns). Recomputed from x: nothing is cached. */
void emit_maxout_bwd(Node *n) {
    Node *dy = n->in[0];
    long pieces = (long)n->f[0];
    emit("/* %s: dx %s = dy %s at each group's largest piece, else 0 */", n->layer, dims(n), dims(dy));
    OPEN("static void %s($ *dx, const $ *dy, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int u = 0; u < %s; u++) {", count(dy));
    emit("const $ *xu = x + u * %ld;", pieces);
    emit("int arg = 0;");
    emit("for (int p = 1; p < %ld; p++) arg = xu[p] > xu[arg] ? p : arg;", pieces);
    emit("for (int p = 0; p < %ld; p++) dx[u * %ld + p] = p == arg ? dy[u] : 0.0@;", pieces, pieces);
    CLOSE();
    CLOSE();
}

void emit_add(Node *n) {
    emit("/* gradient contributions summed: out %s = a + b */", dims(n));
    OPEN("static void %s($ *out, const $ *a, const $ *b, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) out[i] = a[i] + b[i];", count(n));
    CLOSE();
}

void emit_act_bwd(Node *n) {
    const char *v = op_flags(n->act) & OPF_GRAD_X ? "x" : "y";
    emit("/* %s: dx %s = dy * %s'(x), written through the %s %s */", n->layer, dims(n),
         act_str(n->act, n->f), *v == 'x' ? "input" : "output", v);
    OPEN("static void %s($ *dx, const $ *dy, const $ *%s, int n) {", funcs[n->id], v);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) dx[i] = %s;", count(n),
         act_grad_expr(n->act, n->f, "dy[i]", fmt("%s[i]", v)));
    CLOSE();
}

/* softmax: dx = y (dy - sum(dy y));  log_softmax: dx = dy - exp(y) sum(dy). */
void emit_softmax_bwd(Node *n) {
    long len = last_dim(n);
    int log = n->op == OP_LOG_SOFTMAX_BWD;
    emit(log ? "/* %s: dx %s = dy - exp(y) * sum(dy) per row */"
             : "/* %s: dx %s = y * (dy - sum(dy * y)) per row */", n->layer, dims(n));
    OPEN("static void %s($ *dx, const $ *dy, const $ *y, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int r = 0; r < %s; r++) {", rows(n, len));
    emit("const $ *dyr = dy + r * %ld, *yr = y + r * %ld;", len, len);
    emit("$ dot = 0.0@;");
    if (log) {
        emit("for (int i = 0; i < %ld; i++) dot += dyr[i];", len);
        emit("for (int i = 0; i < %ld; i++) dx[r * %ld + i] = dyr[i] - exp@(yr[i]) * dot;", len, len);
    } else {
        emit("for (int i = 0; i < %ld; i++) dot += dyr[i] * yr[i];", len);
        emit("for (int i = 0; i < %ld; i++) dx[r * %ld + i] = yr[i] * (dyr[i] - dot);", len, len);
    }
    CLOSE();
    CLOSE();
}

/* dst[0..k) = sum over the loop of d * src[0..k): the body both weight
 * products share. The sum builds in a local array when one fits, because a
 * local cannot alias src and so stays in registers. */
static void emit_row_sum(const char *dst, long k, const char *loop, const char *d, const char *src) {
    int local = k <= LOCAL_ACC_MAX;
    const char *acc = local ? "acc" : dst;
    if (local)
        emit("$ acc[%ld];", k);
    emit("for (int i = 0; i < %ld; i++) %s[i] = 0.0@;", k, acc);
    OPEN("%s {", loop);
    emit("const $ d = %s;", d);
    emit("const $ *src = %s;", src);
    emit("for (int i = 0; i < %ld; i++) %s[i] += d * src[i];", k, acc);
    CLOSE();
    if (local)
        emit("for (int i = 0; i < %ld; i++) %s[i] = acc[i];", k, dst);
}

/* dx = dy W: each row of dx accumulates rows of W scaled by dy. */
void emit_linear_dx(Node *n) {
    Node *dy = n->in[0], *w = n->in[1];
    long k = w->shape.dim[1], o = w->shape.dim[0];
    emit("/* %s: dx %s = dy %s . weight %s */", n->layer, dims(n), dims(dy), dims(w));
    OPEN("static void %s($ *dx, const $ *dy, const $ *weight, int n) {", funcs[n->id]);
    OPEN("for (int r = 0; r < %s; r++) {", rows(dy, o));
    emit("$ *dxr = dx + r * %ld;", k);
    emit_row_sum("dxr", k, fmt("for (int j = 0; j < %ld; j++)", o), fmt("dy[r * %ld + j]", o),
                 fmt("weight + j * %ld", k));
    CLOSE();
    CLOSE();
}

/* dW = dy^T x, summed over every row of the batch. */
void emit_linear_dw(Node *n) {
    Node *dy = n->in[0], *x = n->in[1];
    long o = n->shape.dim[0], k = n->shape.dim[1];
    emit("/* %s: dweight %s = dy %s^T . x %s */", n->layer, dims(n), dims(dy), dims(x));
    OPEN("static void %s($ *dw, const $ *dy, const $ *x, int n) {", funcs[n->id]);
    OPEN("for (int j = 0; j < %ld; j++) {", o);
    emit("$ *dwj = dw + j * %ld;", k);
    emit_row_sum("dwj", k, fmt("for (int r = 0; r < %s; r++)", rows(dy, o)), fmt("dy[r * %ld + j]", o),
                 fmt("x + r * %ld", k));
    CLOSE();
    CLOSE();
}

void emit_linear_db(Node *n) {
    Node *dy = n->in[0];
    long o = n->shape.dim[0];
    int local = o <= LOCAL_ACC_MAX;
    const char *acc = local ? "acc" : "db";
    emit("/* %s: dbias %s = dy %s summed over rows */", n->layer, dims(n), dims(dy));
    OPEN("static void %s($ *db, const $ *dy, int n) {", funcs[n->id]);
    if (local)
        emit("$ acc[%ld];", o);
    emit("for (int j = 0; j < %ld; j++) %s[j] = 0.0@;", o, acc);
    emit("for (int r = 0; r < %s; r++)", rows(dy, o));
    emit("    for (int j = 0; j < %ld; j++) %s[j] += dy[r * %ld + j];", o, acc, o);
    if (local)
        emit("for (int j = 0; j < %ld; j++) db[j] = acc[j];", o);
    CLOSE();
}

/* flatten and reshape: the same values, row-major, copied. */
void emit_reshape(Node *n) {
    emit("/* %s: out %s = x %s, the same values reshaped */", n->layer, dims(n), dims(n->in[0]));
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) out[i] = x[i];", count(n));
    CLOSE();
}
