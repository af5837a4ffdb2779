/* emit_merge.c — the kernels of merge layers (add, subtract, multiply,
 * average, maximum, minimum, concatenate) and their gradients, and the time
 * reversal of bidirectional layers. Elementwise
 * merges may write over an operand that dies at them (plan.c), so they read
 * each element before writing it and take no restrict pointers. */
#include "emit.h"

static const char *merge_expr(Op op) {
    switch (op) {
    case OP_MERGE_ADD: return "a[i] + b[i]";
    case OP_MERGE_SUB: return "a[i] - b[i]";
    case OP_MERGE_MUL: return "a[i] * b[i]";
    case OP_MERGE_MAX: return "a[i] >= b[i] ? a[i] : b[i]";
    case OP_MERGE_MIN: return "a[i] <= b[i] ? a[i] : b[i]";
    default: internal_error("%s is not a merge", op_names[op]);
    }
}

/* Forward, or the gradient of a multiply: out = dy * (the other operand). */
void emit_merge(Node *n) {
    const char *e = merge_expr(n->op);
    emit("/* %s: out %s = %s */", n->layer, dims(n), e);
    OPEN("static void %s($ *out, const $ *a, const $ *b, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) out[i] = %s;", count(n), e);
    CLOSE();
}

void emit_scale(Node *n) {
    emit("/* %s: out %s = %s x */", n->layer, dims(n), lit(n->f[0]));
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) out[i] = %s * x[i];", count(n), lit(n->f[0]));
    CLOSE();
}

/* maximum, minimum: dy goes where its operand won, ties to a. */
void emit_select_bwd(Node *n) {
    int b = n->f[1] != 0;
    const char *won = n->act == OP_MERGE_MAX ? "a[i] >= b[i]" : "a[i] <= b[i]";
    emit("/* %s: d%s %s = dy where %s%s */", n->layer, b ? "b" : "a", dims(n), b ? "not " : "", won);
    OPEN("static void %s($ *dx, const $ *dy, const $ *a, const $ *b, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) dx[i] = %s%s%s ? dy[i] : 0.0@;", count(n), b ? "!(" : "", won, b ? ")" : "");
    CLOSE();
}

/* Values of one axis between the outer loop (every axis before it, the
 * batch's included) and the inner run (every axis after it): a join or a
 * slice along it copies runs of inner * dim values. */
static long inner_of(const Node *v, int axis) {
    long inner = 1;
    for (int d = axis + 1; d < v->shape.ndim; d++)
        inner *= v->shape.dim[d];
    return inner;
}

static const char *outer_of(Node *v, int axis) {
    long per = 1;
    for (int d = 1; d < axis; d++)
        per *= v->shape.dim[d];
    if (!v->batched)
        return fmt("%ld", per * v->shape.dim[0]);
    return per == 1 ? "n" : fmt("n * %ld", per);
}

void emit_concat(Node *n) {
    int axis = (int)n->f[0];
    long inner = inner_of(n, axis);
    long ra = n->in[0]->shape.dim[axis] * inner, rb = n->in[1]->shape.dim[axis] * inner;
    emit("/* %s: out %s = a %s and b %s joined on axis %d */", n->layer, dims(n), dims(n->in[0]),
         dims(n->in[1]), axis);
    OPEN("static void %s($ *out, const $ *a, const $ *b, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int r = 0; r < %s; r++) {", outer_of(n, axis));
    emit("for (int k = 0; k < %ld; k++) out[r * %ld + k] = a[r * %ld + k];", ra, ra + rb, ra);
    emit("for (int k = 0; k < %ld; k++) out[r * %ld + %ld + k] = b[r * %ld + k];", rb, ra + rb, ra, rb);
    CLOSE();
    CLOSE();
}

void emit_slice(Node *n) {
    int axis = (int)n->f[0];
    long inner = inner_of(n, axis);
    long len = n->shape.dim[axis] * inner, all = n->in[0]->shape.dim[axis] * inner;
    long off = (long)n->f[1] * inner;
    emit("/* %s: dx %s = dy %s at %ld.. of axis %d */", n->layer, dims(n), dims(n->in[0]), (long)n->f[1], axis);
    OPEN("static void %s($ *dx, const $ *dy, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int r = 0; r < %s; r++)", outer_of(n, axis));
    emit("    for (int k = 0; k < %ld; k++) dx[r * %ld + k] = dy[r * %ld + %ld + k];", len, len, all, off);
    CLOSE();
}

/* bidirectional: out[b, t] = x[b, T - 1 - t], its own gradient. */
void emit_reverse(Node *n) {
    long t = n->shape.dim[1], f = node_row(n) / t;
    emit("/* %s: out %s = x with its %ld steps in reverse order */", n->layer, dims(n), t);
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    emit("for (int b = 0; b < n; b++)");
    emit("    for (int t = 0; t < %ld; t++)", t);
    emit("        for (int k = 0; k < %ld; k++) out[(b * %ld + t) * %ld + k] = x[(b * %ld + %ld - t) * %ld + k];",
         f, t, f, t, t - 1, f);
    CLOSE();
}
