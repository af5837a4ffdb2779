/* emit_loss.c — kernels of the losses and of weight regularization (L1/L2
 * penalties) with their gradients. */
#include "emit.h"
#include <math.h>

/* Losses: means over the batch as PyTorch's reduction='mean' takes them:
 * over every output value for the elementwise ones (Keras: the mean over the
 * last axis, then over the batch: the same), over the rows for the ones that
 * sum over classes. Class targets arrive as floats holding integers (checked
 * by the runtime). */

/* The target the loss compares with: y itself, or with Keras' label
 * smoothing (n->f[0]) pulled towards `toward`, in a local t. */
static const char *smoothed(Node *n, const char *y, double toward) {
    double ls = n->f[0];
    if (ls == 0)
        return y;
    emit("const $ t = %s * %s + %s;  /* label_smoothing %s */", y, lit(1 - ls), lit(ls * toward), dbl(ls));
    return "t";
}

/* Keras' clip of kl_divergence: v into [1e-7, 1]. */
static void emit_clip_prob(const char *v) {
    emit("%s = %s < 1e-7@ ? 1e-7@ : %s > 1.0@ ? 1.0@ : %s;", v, v, v, v);
}

void emit_loss(Node *n) {
    Node *p = n->in[0];
    long k = last_dim(p);
    const char *all = count(p);
    emit("/* loss: %s over pred %s; returns the mean over the batch%s */", op_names[n->op], dims(p),
         p->batched && p->shape.ndim == 3 ? fmt(" and its %ld steps", p->shape.dim[1]) : "");
    OPEN("static void %s($ *out, const $ *pred, const $ *y, int n) {", funcs[n->id]);
    emit("$ sum = 0.0@;");
    switch (n->op) {
    case OP_MSE:
    case OP_PERCEPTRON:     /* for 0/1 outputs and targets: the fraction wrong */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = pred[i] - y[i];");
        emit("sum += e * e;");
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    case OP_MAE:
        emit("for (int i = 0; i < %s; i++) sum += fabs@(pred[i] - y[i]);", all);
        emit("out[0] = sum / (%s);", all);
        break;
    case OP_HUBER: {  /* quadratic within delta of the target, linear beyond */
        const char *d = lit(n->f[0]);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = fabs@(pred[i] - y[i]);");
        emit("sum += e <= %s ? 0.5@ * e * e : %s * (e - 0.5@ * %s);", d, d, d);
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    }
    case OP_LOG_COSH:  /* log(cosh e) = e + softplus(-2e) - log 2: no overflow for any e */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = pred[i] - y[i], z = -2.0@ * e;");
        emit("sum += e + (z > 0.0@ ? z : 0.0@) + log1p@(exp@(-fabs@(z))) - %s;", lit(log(2.0)));
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    case OP_BCE: {  /* PyTorch clamps each log at -100 so p = 0 or 1 stays finite */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        const char *t = smoothed(n, "y[i]", 0.5);
        emit("$ lp = log@(pred[i]), lq = log@(1.0@ - pred[i]);");
        emit("lp = lp > -100.0@ ? lp : -100.0@;");
        emit("lq = lq > -100.0@ ? lq : -100.0@;");
        emit("sum -= %s * lp + (1.0@ - %s) * lq;", t, t);
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    }
    case OP_BCE_LOGITS: {  /* max(z, 0) - z y + log(1 + exp(-|z|)), stable for any z */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        const char *t = smoothed(n, "y[i]", 0.5);
        emit("$ z = pred[i];");
        emit("sum += (z > 0.0@ ? z : 0.0@) - z * %s + log1p@(exp@(-fabs@(z)));", t);
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    }
    case OP_SCE:
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("$ lp = log@(pred[r * %ld + (int)y[r]]);", k);
        emit("sum -= lp > -100.0@ ? lp : -100.0@;");
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    case OP_SCE_LOGITS:  /* logsumexp(z) - z[class], shifted by the row max */
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("const $ *z = pred + r * %ld;", k);
        emit("$ mx = z[0];");
        emit("for (int i = 1; i < %ld; i++) mx = z[i] > mx ? z[i] : mx;", k);
        emit("$ se = 0.0@;");
        emit("for (int i = 0; i < %ld; i++) se += exp@(z[i] - mx);", k);
        emit("sum += mx + log@(se) - z[(int)y[r]];");
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    case OP_CCE: {  /* -sum t log p per row, each log clamped at -100 as for sparse CE */
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        const char *t = smoothed(n, fmt("y[r * %ld + i]", k), 1.0 / (double)k);
        emit("$ lp = log@(pred[r * %ld + i]);", k);
        emit("sum -= %s * (lp > -100.0@ ? lp : -100.0@);", t);
        CLOSE();
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    }
    case OP_CCE_LOGITS: {  /* sum t (logsumexp(z) - z) per row, shifted by the row max */
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("const $ *z = pred + r * %ld;", k);
        emit("$ mx = z[0];");
        emit("for (int i = 1; i < %ld; i++) mx = z[i] > mx ? z[i] : mx;", k);
        emit("$ se = 0.0@;");
        emit("for (int i = 0; i < %ld; i++) se += exp@(z[i] - mx);", k);
        emit("const $ lse = mx + log@(se);");
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        const char *t = smoothed(n, fmt("y[r * %ld + i]", k), 1.0 / (double)k);
        emit("sum += %s * (lse - z[i]);", t);
        CLOSE();
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    }
    case OP_HINGE:  /* max(1 - t p, 0), targets 0/1 read as -1/1 as Keras does */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ t = y[i] > 0.0@ ? 1.0@ : -1.0@;");
        emit("$ e = 1.0@ - t * pred[i];");
        emit("sum += e > 0.0@ ? e : 0.0@;");
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    case OP_KLD:  /* Keras: sum t log(t / p) per row, t and p clipped to [1e-7, 1] */
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        emit("$ t = y[r * %ld + i], q = pred[r * %ld + i];", k, k);
        emit_clip_prob("t");
        emit_clip_prob("q");
        emit("sum += t * log@(t / q);");
        CLOSE();
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    default:
        internal_error("no emitter for loss %s", op_names[n->op]);
    }
    CLOSE();
}

void emit_loss_bwd(Node *n) {
    Node *p = n->in[0];
    long k = last_dim(p);
    const char *all = count(p);
    emit("/* loss: d %s / d pred %s */", op_names[n->loss], dims(p));
    OPEN("static void %s($ *dpred, const $ *pred, const $ *y, int n) {", funcs[n->id]);
    switch (n->loss) {
    case OP_MSE:
        emit("$ scale = 2.0@ / (%s);", all);
        emit("for (int i = 0; i < %s; i++) dpred[i] = scale * (pred[i] - y[i]);", all);
        break;
    case OP_PERCEPTRON:  /* the perceptron rule, batch-averaged: (y_hat - t) / rows (autodiff.c) */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        emit("for (int i = 0; i < %s; i++) dpred[i] = scale * (pred[i] - y[i]);", all);
        break;
    case OP_MAE:  /* sign(p - y), 0 where they are equal (as PyTorch) */
        emit("$ scale = 1.0@ / (%s);", all);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = pred[i] - y[i];");
        emit("dpred[i] = e > 0.0@ ? scale : e < 0.0@ ? -scale : 0.0@;");
        CLOSE();
        break;
    case OP_HUBER: {  /* the error, clipped to [-delta, delta] */
        const char *d = lit(n->f[0]);
        emit("$ scale = 1.0@ / (%s);", all);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = pred[i] - y[i];");
        emit("dpred[i] = scale * (e > %s ? %s : e < -%s ? -%s : e);", d, d, d, d);
        CLOSE();
        break;
    }
    case OP_LOG_COSH:  /* d log(cosh e) / de = tanh e */
        emit("$ scale = 1.0@ / (%s);", all);
        emit("for (int i = 0; i < %s; i++) dpred[i] = scale * tanh@(pred[i] - y[i]);", all);
        break;
    case OP_BCE: {  /* as PyTorch: (p - y) / max(p (1 - p), 1e-12) */
        emit("$ scale = 1.0@ / (%s);", all);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        const char *t = smoothed(n, "y[i]", 0.5);
        emit("$ q = pred[i] * (1.0@ - pred[i]);");
        emit("dpred[i] = scale * (pred[i] - %s) / (q > 1e-12@ ? q : 1e-12@);", t);
        CLOSE();
        break;
    }
    case OP_BCE_LOGITS:
        emit("$ scale = 1.0@ / (%s);", all);
        if (n->f[0] == 0) {
            emit("for (int i = 0; i < %s; i++)", all);
            emit("    dpred[i] = scale * (1.0@ / (1.0@ + exp@(-pred[i])) - y[i]);");
        } else {
            OPEN("for (int i = 0; i < %s; i++) {", all);
            const char *t = smoothed(n, "y[i]", 0.5);
            emit("dpred[i] = scale * (1.0@ / (1.0@ + exp@(-pred[i])) - %s);", t);
            CLOSE();
        }
        break;
    case OP_SCE:
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        emit("for (int i = 0; i < %s; i++) dpred[i] = 0.0@;", all);
        emit("for (int r = 0; r < %s; r++)", rows(p, k));
        emit("    dpred[r * %ld + (int)y[r]] = -scale / pred[r * %ld + (int)y[r]];", k, k);
        break;
    case OP_SCE_LOGITS:  /* softmax(z) - onehot(class) */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("$ *o = dpred + r * %ld;", k);
        emit("for (int i = 0; i < %ld; i++) o[i] = pred[r * %ld + i];", k, k);
        emit_softmax_row(OP_SOFTMAX, "o", k);
        emit("o[(int)y[r]] -= 1.0@;");
        emit("for (int i = 0; i < %ld; i++) o[i] *= scale;", k);
        CLOSE();
        break;
    case OP_CCE: {  /* -t / p, 0 where the log was clamped */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        OPEN("for (int i = 0; i < %s; i++) {", all);
        const char *t = smoothed(n, "y[i]", 1.0 / (double)k);
        emit("dpred[i] = log@(pred[i]) > -100.0@ ? -scale * %s / pred[i] : 0.0@;", t);
        CLOSE();
        break;
    }
    case OP_CCE_LOGITS: {  /* softmax(z) sum(t) - t; sum(t) is 1 for one-hot targets */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("$ *o = dpred + r * %ld;", k);
        emit("for (int i = 0; i < %ld; i++) o[i] = pred[r * %ld + i];", k, k);
        emit_softmax_row(OP_SOFTMAX, "o", k);
        emit("$ tsum = 0.0@;");
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        const char *t = smoothed(n, fmt("y[r * %ld + i]", k), 1.0 / (double)k);
        emit("tsum += %s;", t);
        CLOSE();
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        t = smoothed(n, fmt("y[r * %ld + i]", k), 1.0 / (double)k);
        emit("o[i] = scale * (tsum * o[i] - %s);", t);
        CLOSE();
        CLOSE();
        break;
    }
    case OP_HINGE:  /* -t where the margin 1 - t p is positive, else 0 */
        emit("$ scale = 1.0@ / (%s);", all);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ t = y[i] > 0.0@ ? 1.0@ : -1.0@;");
        emit("dpred[i] = 1.0@ - t * pred[i] > 0.0@ ? -scale * t : 0.0@;");
        CLOSE();
        break;
    case OP_KLD:  /* -t / p, 0 where p was clipped (outside [1e-7, 1]) */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ t = y[i], q = pred[i];");
        emit_clip_prob("t");
        emit("dpred[i] = q >= 1e-7@ && q <= 1.0@ ? -scale * t / q : 0.0@;");
        CLOSE();
        break;
    default:
        internal_error("no gradient emitter for loss %s", op_names[n->loss]);
    }
    CLOSE();
}

/* ---- regularization ------------------------------------------------------ */

/* The penalty's terms as C, for comments and code: "0.01 * l1 + 0.02 * l2". */
static const char *penalty_expr(Node *n, const char *l1, const char *l2) {
    if (n->f[0] && n->f[1])
        return fmt("%s * %s + %s * %s", lit(n->f[0]), l1, lit(n->f[1]), l2);
    return n->f[0] ? fmt("%s * %s", lit(n->f[0]), l1) : fmt("%s * %s", lit(n->f[1]), l2);
}

/* total = loss + l1 sum|w| + l2 sum w^2, as Keras adds a regularizer's loss. */
void emit_l1l2(Node *n) {
    Node *w = n->in[1];
    const char *what = n->f[0] && n->f[1] ? "l1_l2" : n->f[0] ? "l1" : "l2";
    emit("/* %s %s: loss plus the %s penalty (l1 = %g, l2 = %g) */", w->label, dims(w), what,
         n->f[0], n->f[1]);
    OPEN("static void %s($ *out, const $ *loss, const $ *w) {", funcs[n->id]);
    emit("$ %s;", n->f[0] && n->f[1] ? "l1 = 0.0@, l2 = 0.0@" : n->f[0] ? "l1 = 0.0@" : "l2 = 0.0@");
    OPEN("for (int i = 0; i < %ld; i++) {", node_numel(w));
    if (n->f[0])
        emit("l1 += fabs@(w[i]);");
    if (n->f[1])
        emit("l2 += w[i] * w[i];");
    CLOSE();
    emit("out[0] = loss[0] + %s;", penalty_expr(n, "l1", "l2"));
    CLOSE();
}

/* d penalty / d w = l1 sign(w) + 2 l2 w; autodiff adds it to the data gradient. */
void emit_l1l2_bwd(Node *n) {
    const char *l1 = lit(n->f[0]), *l2x2 = lit(2 * n->f[1]);
    const char *sign = fmt("(w[i] > 0.0@ ? %s : w[i] < 0.0@ ? -%s : 0.0@)", l1, l1);
    emit("/* %s %s: gradient of its penalty, %s */", n->wrt->label, dims(n),
         n->f[0] && n->f[1] ? "l1 sign(w) + 2 l2 w" : n->f[0] ? "l1 sign(w)" : "2 l2 w");
    OPEN("static void %s($ *dw, const $ *w) {", funcs[n->id]);
    emit("for (int i = 0; i < %ld; i++) dw[i] = %s;", node_numel(n),
         n->f[0] && n->f[1] ? fmt("%s + %s * w[i]", sign, l2x2)
         : n->f[0] ? sign : fmt("%s * w[i]", l2x2));
    CLOSE();
}
