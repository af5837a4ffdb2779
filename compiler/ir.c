/* ir.c — the IR: a graph of tensor ops with static shapes, kept in schedule
 * order (every node after its inputs). Nodes are built only through
 * node_new(), which takes the shape rule from the op table, so every pass —
 * lowering, autodiff, the optimizer — builds IR the same way. */
#include "nnc.h"

#include <string.h>

Phase cur_phase = PH_FORWARD;
const char *cur_layer = "model";


/* ---- shape rules: one per family of ops, named in ops.h ---------------- */

typedef void ShapeRule(Node *n);

static void shape_leaf(Node *n) { (void)n; /* set by op_leaf */ }

static void shape_same(Node *n) {
    n->shape = n->in[0]->shape;
    n->batched = n->in[0]->batched;
}

static void shape_scalar(Node *n) {
    n->shape.ndim = 1;
    n->shape.dim[0] = 1;
    n->batched = 0;
}

static void shape_none(Node *n) { n->shape.ndim = 0; }

/* LINEAR: x [..., in] with W [out, in] -> [..., out]. */
static void shape_linear(Node *n) {
    Node *x = n->in[0], *w = n->in[1];
    if (w->shape.ndim != 2 || x->shape.dim[x->shape.ndim - 1] != w->shape.dim[1])
        internal_error("linear: x %s, W %s", shape_str(&x->shape), shape_str(&w->shape));
    n->shape = x->shape;
    n->shape.dim[n->shape.ndim - 1] = w->shape.dim[0];
    n->batched = x->batched;
}

/* MAXOUT: [..., units * pieces] -> [..., units]. The rule cannot see pieces
 * (f[0] is set after construction), so op_maxout divides the last axis. */
static void shape_maxout(Node *n) { shape_same(n); }

/* CONCAT and SLICE: like their first input; op_concat and op_slice set
 * the joined axis, which the rule cannot see (f[] comes after). Elementwise
 * merges check that their operands agree. */
static void shape_concat(Node *n) { shape_same(n); }
static void shape_slice(Node *n) { shape_same(n); }

/* MAXOUT_BWD: dy [..., units], x [..., units * pieces] -> dx like x. */
static void shape_maxout_bwd(Node *n) {
    n->shape = n->in[1]->shape;
    n->batched = n->in[1]->batched;
}

/* TRANSPOSE: [a, b] -> [b, a]. */
static void shape_transpose(Node *n) {
    n->shape = n->in[0]->shape;
    n->shape.dim[0] = n->in[0]->shape.dim[1];
    n->shape.dim[1] = n->in[0]->shape.dim[0];
    n->batched = 0;
}

/* LINEAR_T: x [..., in] with W^T [in, out] -> [..., out]. */
static void shape_linear_t(Node *n) {
    Node *x = n->in[0], *wt = n->in[1];
    n->shape = x->shape;
    n->shape.dim[n->shape.ndim - 1] = wt->shape.dim[1];
    n->batched = x->batched;
}

/* LINEAR_DX: dy [..., out] with W [out, in] -> dx [..., in]. */
static void shape_linear_dx(Node *n) {
    Node *dy = n->in[0], *w = n->in[1];
    n->shape = dy->shape;
    n->shape.dim[n->shape.ndim - 1] = w->shape.dim[1];
    n->batched = dy->batched;
}

/* LINEAR_DW: dy [..., out], x [..., in] -> dW [out, in]. */
static void shape_linear_dw(Node *n) {
    Node *dy = n->in[0], *x = n->in[1];
    n->shape.ndim = 2;
    n->shape.dim[0] = dy->shape.dim[dy->shape.ndim - 1];
    n->shape.dim[1] = x->shape.dim[x->shape.ndim - 1];
    n->batched = 0;
}

/* LINEAR_DB: dy [..., out] -> db [out]. */
static void shape_linear_db(Node *n) {
    Node *dy = n->in[0];
    n->shape.ndim = 1;
    n->shape.dim[0] = dy->shape.dim[dy->shape.ndim - 1];
    n->batched = 0;
}

/* Output size along one axis of a window op, from the input size n: the
 * padding at the end is whatever the output size lower.c gave needs, so the
 * node keeps the output size it was built with (CONV2D, pooling: set by
 * lower.c through op_window). */
static void shape_window(Node *n, long channels) {
    if (n->shape.ndim != 4 && n->shape.ndim != 3)   /* [n, C, H, W] or 1-D: [n, C, L] */
        internal_error("%s: output shape not set", op_names[n->op]);
    n->shape.dim[0] = n->in[0]->shape.dim[0];
    n->shape.dim[1] = channels;
    n->batched = n->in[0]->batched;
}

/* CONV2D: x [n, C, H, W] with W [F, C / groups, kh, kw] -> [n, F, H', W'];
 * 1-D: x [n, C, L] with W [F, C / groups, k] -> [n, F, L']. */
static void shape_conv2d(Node *n) {
    Node *x = n->in[0], *w = n->in[1];
    if (w->shape.ndim != x->shape.ndim || (x->shape.ndim != 4 && x->shape.ndim != 3) ||
        x->shape.dim[1] != w->shape.dim[1] * n->win[WIN_G] || w->shape.dim[0] % n->win[WIN_G])
        internal_error("conv2d: x %s, W %s", shape_str(&x->shape), shape_str(&w->shape));
    shape_window(n, w->shape.dim[0]);
}

/* Pooling keeps the channels. */
static void shape_pool2d(Node *n) { shape_window(n, n->in[0]->shape.dim[1]); }

/* RESHAPE: the shape is set by op_reshape; only the batch follows x. */
static void shape_reshape(Node *n) { n->batched = n->in[0]->batched; }

/* CONV2D_DX: dy, W, x -> dx shaped as x. POOL2D_DX: dy, x, y -> as x. */
static void shape_conv2d_dx(Node *n) { n->shape = n->in[2]->shape, n->batched = n->in[2]->batched; }
static void shape_pool2d_dx(Node *n) { n->shape = n->in[1]->shape, n->batched = n->in[1]->batched; }

/* CONV2D_DW: dy [n, F, H', W'], x [n, C, H, W] -> [F, C / groups, kh, kw]
 * (win[]); 1-D: [F, C / groups, k]. */
static void shape_conv2d_dw(Node *n) {
    int d = 0;
    n->shape.ndim = n->in[1]->shape.ndim;
    n->shape.dim[d++] = n->in[0]->shape.dim[1];
    n->shape.dim[d++] = n->in[1]->shape.dim[1] / n->win[WIN_G];
    if (n->shape.ndim == 4)
        n->shape.dim[d++] = n->win[WIN_KH];
    n->shape.dim[d] = n->win[WIN_KW];
    n->batched = 0;
}

/* CHANNEL_DB: dy [n, C, ...] -> [C]. */
static void shape_channel_db(Node *n) {
    n->shape.ndim = 1;
    n->shape.dim[0] = n->in[0]->shape.dim[1];
    n->batched = 0;
}

/* ---- recurrences: xp [n, T, G H] and W_hh [G H, H] ---------------------- */

int cell_gates(const Node *w_hh) { return (int)(w_hh->shape.dim[0] / w_hh->shape.dim[1]); }

/* The recurrent layer whose row of layers.h has W_hh's gates. */
LayerKind cell_kind(const Node *w_hh) {
    for (int k = 0; k < L_COUNT; k++) {
        int f = layer_flags((LayerKind)k);
        if ((f & LF_RECURRENT) && LF_GATES_OF(f) == cell_gates(w_hh))
            return (LayerKind)k;
    }
    internal_error("recurrence: W_hh %s", shape_str(&w_hh->shape));
}

/* Per step: simple_rnn h; LSTM i, f, g, o, c, h; GRU r, z, n, W_hn h + b_hn, h:
 * the cell's row of layers.h says how many. */
long cell_cache(const Node *w_hh) { return LF_CACHE_OF(layer_flags(cell_kind(w_hh))) * w_hh->shape.dim[1]; }

/* RECURRENCE: xp [n, T, G H], W_hh [G H, H] -> cache [n, T, S]. */
static void shape_recurrence(Node *n) {
    Node *xp = n->in[0], *w = n->in[1];
    if (xp->shape.ndim != 3 || w->shape.ndim != 2 || xp->shape.dim[2] != w->shape.dim[0])
        internal_error("recurrence: xp %s, W_hh %s", shape_str(&xp->shape), shape_str(&w->shape));
    n->shape = xp->shape;
    n->shape.dim[2] = cell_cache(w);
    n->batched = xp->batched;
}

/* RECURRENCE_OUT: cache [n, T, S] -> h [n, T, H]; op_recurrence_out drops
 * the steps axis for the last step alone. */
static void shape_recurrence_out(Node *n) {
    n->shape = n->in[0]->shape;
    n->shape.dim[2] = n->in[0]->in[1]->shape.dim[1];
    n->batched = n->in[0]->batched;
}

/* RECURRENCE_DX: dh, cache, W_hh -> dxp shaped as xp. */
static void shape_recurrence_dx(Node *n) {
    n->shape = n->in[1]->in[0]->shape;
    n->batched = n->in[1]->in[0]->batched;
}

/* RECURRENCE_DW: dxp, cache -> shaped as W_hh; RECURRENCE_DB: [G H]. */
static void shape_recurrence_dw(Node *n) {
    n->shape = n->in[1]->in[1]->shape;
    n->batched = 0;
}

static void shape_recurrence_db(Node *n) {
    n->shape.ndim = 1;
    n->shape.dim[0] = n->in[1]->in[1]->shape.dim[0];
    n->batched = 0;
}

/* REPEAT: the shape is set by op_repeat; REPEAT_BWD: [n, R, F] -> [n, F]. */
static void shape_repeat(Node *n) { n->batched = n->in[0]->batched; }

static void shape_repeat_bwd(Node *n) {
    Node *dy = n->in[0];
    n->shape = (Shape){.ndim = 2, .dim = {dy->shape.dim[0], dy->shape.dim[2]}};
    n->batched = dy->batched;
}

/* EMBED: ids [n, T], W [V, D] -> [n, T, D]. */
static void shape_embed(Node *n) {
    Node *x = n->in[0], *w = n->in[1];
    n->shape = (Shape){.ndim = 3, .dim = {x->shape.dim[0], x->shape.dim[1], w->shape.dim[1]}};
    n->batched = x->batched;
}

/* EMBED_DW: dy [n, T, D], ids -> [f[0], D]: the shape is set by autodiff. */
static void shape_embed_dw(Node *n) { n->batched = 0; }

static ShapeRule *const shape_rules[OP_COUNT] = {
#define OP(name, str, nin, shape, grad, emit) [OP_##name] = shape,
#include "ops.h"
#undef OP
};

/* ---- construction ------------------------------------------------------ */

Graph *graph_new(const Spec *spec, int batch) {
    Graph *g = xalloc(sizeof *g);
    g->spec = spec;
    g->batch = batch;
    return g;
}

Node *node_new(Graph *g, Op op, Node *a, Node *b, Node *c, Node *d) {
    Node *n = xalloc(sizeof *n);
    Node *ins[4] = {a, b, c, d};
    n->id = g->nodes.n;
    n->op = op;
    n->nin = op_arity[op];
    for (int i = 0; i < n->nin; i++)
        n->in[i] = ins[i];
    for (int i = n->nin; i < 4; i++)
        if (ins[i])
            internal_error("%s takes %d inputs", op_names[op], n->nin);
    n->phase = cur_phase;
    n->layer = cur_layer;
    shape_rules[op](n);
    vec_push(&g->nodes, n);
    return n;
}

Node *op_leaf(Graph *g, Op op, Shape shape, int batched, const char *label) {
    Node *n = node_new(g, op, NULL, NULL, NULL, NULL);
    n->shape = shape;
    n->batched = batched;
    n->label = label;
    return n;
}

Node *op_linear(Graph *g, Node *x, Node *w, Node *b) {
    return node_new(g, OP_LINEAR, x, w, b, NULL);
}

/* A node whose shape or window the shape rule reads from the node itself:
 * set before the rule runs. */
Node *op_window(Graph *g, Op op, Node *a, Node *b, Node *c, const int win[WIN_SLOTS], Shape shape) {
    Node *n = xalloc(sizeof *n);
    memcpy(n->win, win, sizeof n->win);
    n->shape = shape;
    Node *ins[4] = {a, b, c, NULL};
    n->id = g->nodes.n;
    n->op = op;
    n->nin = op_arity[op];
    for (int i = 0; i < n->nin; i++)
        n->in[i] = ins[i];
    n->phase = cur_phase;
    n->layer = cur_layer;
    shape_rules[op](n);
    vec_push(&g->nodes, n);
    return n;
}

Node *op_reshape(Graph *g, Node *x, Shape shape) {
    static const int none[WIN_SLOTS];
    return op_window(g, OP_RESHAPE, x, NULL, NULL, none, shape);
}

Node *op_unary(Graph *g, Op op, Node *x) {
    return node_new(g, op, x, NULL, NULL, NULL);
}

Node *op_maxout(Graph *g, Node *x, int pieces) {
    Node *n = node_new(g, OP_MAXOUT, x, NULL, NULL, NULL);
    long *last = &n->shape.dim[n->shape.ndim - 1];
    if (pieces < 1 || *last % pieces)
        internal_error("maxout: %ld values in groups of %d", *last, pieces);
    *last /= pieces;
    n->f[0] = pieces;
    return n;
}

/* a and b joined along axis (of the batched shape); equal elsewhere. */
Node *op_concat(Graph *g, Node *a, Node *b, int axis) {
    Node *n = node_new(g, OP_CONCAT, a, b, NULL, NULL);
    if (axis < 1 || axis >= a->shape.ndim || a->shape.ndim != b->shape.ndim)
        internal_error("concatenate %s and %s on axis %d", shape_str(&a->shape), shape_str(&b->shape), axis);
    n->shape.dim[axis] += b->shape.dim[axis];
    n->f[0] = axis;
    return n;
}

/* x's values at offsets off .. off + len - 1 of axis: a concatenation's
 * gradient, handed back to each operand. */
Node *op_slice(Graph *g, Node *x, int axis, long off, long len) {
    Node *n = node_new(g, OP_SLICE, x, NULL, NULL, NULL);
    if (axis < 1 || axis >= x->shape.ndim || off < 0 || off + len > x->shape.dim[axis])
        internal_error("slice %ld+%ld of axis %d of %s", off, len, axis, shape_str(&x->shape));
    n->shape.dim[axis] = len;
    n->f[0] = axis;
    n->f[1] = (double)off;
    return n;
}

Node *op_loss(Graph *g, Op op, Node *pred, Node *target) {
    return node_new(g, op, pred, target, NULL, NULL);
}

/* An activation call's numeric arguments (alpha), in catalogue order. */
static void act_params(const Call *act, double *f, int room) {
    int k = 0;
    for (int i = 0; i < MAX_PARAMS && act->e->params[i].name; i++)
        if (act->e->params[i].type == T_FLOAT) {
            if (k == room)
                internal_error("%s has too many parameters", act->e->name);
            f[k++] = act->v[i].num;
        }
}

Node *op_recurrence(Graph *g, Node *xp, Node *w_hh, Node *b_hh, const Call *act, const Call *ract) {
    Node *n = node_new(g, OP_RECURRENCE, xp, w_hh, b_hh, NULL);
    n->act = (Op)act->e->op;
    act_params(act, n->f, 4);
    if (ract) {
        n->ract = (Op)ract->e->op;
        act_params(ract, n->f + 4, 4);
    }
    return n;
}

Node *op_recurrence_out(Graph *g, Node *cache, int sequences) {
    Node *n = node_new(g, OP_RECURRENCE_OUT, cache, NULL, NULL, NULL);
    if (!sequences) {
        n->shape.ndim = 2;
        n->shape.dim[1] = n->shape.dim[2];
    }
    return n;
}

Node *op_repeat(Graph *g, Node *x, int times) {
    Node *n = node_new(g, OP_REPEAT, x, NULL, NULL, NULL);
    n->shape = (Shape){.ndim = 3, .dim = {x->shape.dim[0], times, x->shape.dim[1]}};
    n->f[0] = times;
    return n;
}

long node_numel(const Node *n) {
    long k = 1;
    for (int i = 0; i < n->shape.ndim; i++)
        k *= n->shape.dim[i];
    return k;
}

long node_row(const Node *n) {
    return n->batched ? node_numel(n) / n->shape.dim[0] : node_numel(n);
}

void ir_uses(Graph *g) {
    for (int i = 0; i < g->nodes.n; i++)
        ((Node *)g->nodes.v[i])->nuses = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j])
                n->in[j]->nuses++;
    }
}

/* ---- dump and verify ---------------------------------------------------- */

static const char *phase_names[] = {"forward", "loss", "backward", "update"};
static const char *area_names[] = {"-", "input", "target", "params", "grads", "state", "acts"};

/* One line per node, e.g.
 *   %5 = linear(%0, %1, %2) act=relu  [32, 32]  fc1  @acts+0 */
void ir_dump(Graph *g, FILE *out, const char *after) {
    fprintf(out, "# nnc IR of model %s after %s: %d nodes, batch %d\n",
            g->spec->name, after, g->nodes.n, g->batch);
    Phase ph = (Phase)-1;
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        if (n->phase != ph)
            fprintf(out, "%s:\n", phase_names[ph = n->phase]);
        fprintf(out, "  %%%d = %s(", n->id, op_names[n->op]);
        for (int j = 0; j < n->nin; j++)
            if (n->in[j])
                fprintf(out, "%s%%%d", j ? ", " : "", n->in[j]->id);
            else
                fprintf(out, "%s_", j ? ", " : "");
        fprintf(out, ")");
        if (n->act)
            fprintf(out, " act=%s", op_names[n->act]);
        Op a = n->act ? n->act : op_flags(n->op) & OPF_ACT ? n->op : OP_NONE;
        if (a) {    /* the activation's parameters, as named in the catalogue */
            const ParamDef *p = catalog_activation(a)->params;
            for (int k = 0; k < MAX_PARAMS && p[k].name; k++)
                fprintf(out, " %s=%g", p[k].name, n->f[k]);
        }
        if (n->op == OP_MAXOUT || n->op == OP_MAXOUT_BWD)
            fprintf(out, " pieces=%g", n->f[0]);
        if (n->ract)
            fprintf(out, " recurrent_activation=%s", op_names[n->ract]);
        if (n->loss)
            fprintf(out, " loss=%s", op_names[n->loss]);
        if (n->phase == PH_UPDATE && n->op != OP_STATE) {
            int nf = 8;     /* the hyperparameters, without trailing zeros */
            while (nf > 1 && n->f[nf - 1] == 0)
                nf--;
            for (int k = 0; k < nf; k++)
                fprintf(out, "%s%g", k ? ", " : " f=(", n->f[k]);
            fprintf(out, ")");
        }
        Op loss = n->op == OP_LOSS_BWD ? n->loss : n->op;
        if (loss == OP_HUBER)
            fprintf(out, " delta=%g", n->f[0]);
        else if ((loss == OP_BCE || loss == OP_BCE_LOGITS || loss == OP_CCE || loss == OP_CCE_LOGITS) &&
                 n->f[0] != 0)
            fprintf(out, " label_smoothing=%g", n->f[0]);
        if (n->win[WIN_KH]) {
            fprintf(out, " kernel=%dx%d stride=%d,%d pad=%d,%d%s", n->win[WIN_KH], n->win[WIN_KW], n->win[WIN_SH],
                    n->win[WIN_SW], n->win[WIN_PT], n->win[WIN_PL], n->op == OP_POOL2D_DX
                    ? (n->win[WIN_MAX] ? " max" : " avg") : "");
            if (n->win[WIN_DH] * n->win[WIN_DW] > 1)
                fprintf(out, " dilation=%d,%d", n->win[WIN_DH], n->win[WIN_DW]);
            if (n->win[WIN_G] > 1)
                fprintf(out, " groups=%d", n->win[WIN_G]);
        }
        if (n->op == OP_L1L2 || n->op == OP_L1L2_BWD)
            fprintf(out, " l1=%g l2=%g", n->f[0], n->f[1]);
        if (n->shape.ndim) {
            fprintf(out, "  [");
            for (int d = 0; d < n->shape.ndim; d++)
                if (d == 0 && n->batched)
                    fprintf(out, "n");
                else
                    fprintf(out, "%s%ld", d ? ", " : "", n->shape.dim[d]);
            fprintf(out, "]");
        }
        fprintf(out, "  %s", n->label ? n->label : n->layer);
        if (n->area)
            fprintf(out, "  @%s+%ld", area_names[n->area], n->offset);
        fprintf(out, "\n");
    }
}

void ir_verify(Graph *g, const char *after) {
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        if (n->id != i)
            internal_error("after %s: node %d has id %d", after, i, n->id);
        for (int j = 0; j < n->nin; j++) {
            Node *a = n->in[j];
            if (!a) {
                /* optional: a bias; normalization's gamma and beta (ops.h) */
                int from = (op_flags(n->op) >> OPF_OPTIONAL_SHIFT) & 3;
                if (!from || j < from)
                    internal_error("after %s: %%%d %s lacks input %d", after, i, op_names[n->op], j);
                continue;
            }
            if (a->id >= i || g->nodes.v[a->id] != a)
                internal_error("after %s: %%%d uses %%%d out of order", after, i, a->id);
        }
        for (int d = 0; d < n->shape.ndim; d++)
            if (n->shape.dim[d] <= 0)
                internal_error("after %s: %%%d has shape %s", after, i, shape_str(&n->shape));
    }
}
