/* autodiff.c — reverse-mode differentiation as an IR -> IR pass. Walks the
 * forward and loss nodes backwards and, for each node whose output carries a
 * gradient, appends the backward nodes its op's gradient rule builds (named
 * in ops.h). A value read by several nodes gets their contributions summed
 * with ADD, as ggml does; values that no parameter influences (the input)
 * get no gradient at all. */
#include "nnc.h"
#include <string.h>

typedef struct Grads {
    Graph *g;
    Node **d;           /* d[id]: gradient of node id so far */
    char *needs;        /* needs[id]: some parameter flows into node id */
} Grads;

typedef void GradRule(Grads *gr, Node *n, Node *dy);

/* Add a contribution dx to the gradient of x. */
static void acc(Grads *gr, Node *x, Node *dx) {
    if (!x || !gr->needs[x->id])
        return;
    dx->wrt = x;
    if (gr->d[x->id]) {
        dx = node_new(gr->g, OP_ADD, gr->d[x->id], dx, NULL, NULL);
        dx->wrt = x;
    }
    gr->d[x->id] = dx;
}

static void grad_leaf(Grads *gr, Node *n, Node *dy) { (void)gr, (void)n, (void)dy; }

static void grad_never(Grads *gr, Node *n, Node *dy) {
    (void)gr, (void)dy;
    internal_error("%s is not differentiable", op_names[n->op]);
}

/* y = x W^T + b:  dx = dy W,  dW = dy^T x,  db = sum over rows of dy. */
static void grad_linear(Grads *gr, Node *n, Node *dy) {
    Graph *g = gr->g;
    Node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    acc(gr, w, node_new(g, OP_LINEAR_DW, dy, x, NULL, NULL));
    if (b)
        acc(gr, b, node_new(g, OP_LINEAR_DB, dy, NULL, NULL, NULL));
    if (gr->needs[x->id])
        acc(gr, x, node_new(g, OP_LINEAR_DX, dy, w, NULL, NULL));
}

/* Convolution: dx is the transposed convolution of dy with W, dW the
 * correlation of x with dy, db dy summed per channel. */
static void grad_conv2d(Grads *gr, Node *n, Node *dy) {
    Graph *g = gr->g;
    Node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    acc(gr, w, op_window(g, OP_CONV2D_DW, dy, x, NULL, n->win, w->shape));
    if (b)
        acc(gr, b, node_new(g, OP_CHANNEL_DB, dy, NULL, NULL, NULL));
    if (gr->needs[x->id])
        acc(gr, x, op_window(g, OP_CONV2D_DX, dy, w, x, n->win, x->shape));
}

/* Max pooling sends each window's gradient to its first maximum (PyTorch's
 * choice), average pooling spreads it evenly: both read x (and y). */
static void grad_pool2d(Grads *gr, Node *n, Node *dy) {
    if (!gr->needs[n->in[0]->id])
        return;
    Node *dx = op_window(gr->g, OP_POOL2D_DX, dy, n->in[0], n, n->win, n->in[0]->shape);
    dx->win[WIN_MAX] = n->op == OP_MAX_POOL2D;
    acc(gr, n->in[0], dx);
}

/* The gradient of a reshape is dy reshaped back. */
static void grad_reshape(Grads *gr, Node *n, Node *dy) {
    if (gr->needs[n->in[0]->id])
        acc(gr, n->in[0], op_reshape(gr->g, dy, n->in[0]->shape));
}

/* Activations differentiate through their output y where a formula in y is
 * exact (relu, elu, sigmoid, softplus, softmax, ...): y is kept for the next
 * layer anyway, so the pre-activation x is read by nothing else and fuse.c can
 * fold the activation into the LINEAR that makes x. */
static void act_bwd(Grads *gr, Node *n, Node *dy, Node *v) {
    if (!gr->needs[n->in[0]->id])
        return;
    Op op = n->op == OP_SOFTMAX ? OP_SOFTMAX_BWD
          : n->op == OP_LOG_SOFTMAX ? OP_LOG_SOFTMAX_BWD : OP_ACT_BWD;
    Node *dx = node_new(gr->g, op, dy, v, NULL, NULL);
    if (op == OP_ACT_BWD)
        dx->act = n->op;
    memcpy(dx->f, n->f, sizeof dx->f);
    acc(gr, n->in[0], dx);
}

static void grad_act(Grads *gr, Node *n, Node *dy) { act_bwd(gr, n, dy, n); }

/* gelu and silu have no derivative in terms of y (silu is not even
 * monotone): theirs reads x. With two readers, x is never folded away. */
static void grad_act_x(Grads *gr, Node *n, Node *dy) { act_bwd(gr, n, dy, n->in[0]); }

/* step has no useful derivative (0 almost everywhere). check.c lets it be
 * trained only as a single-layer perceptron, whose rule
 *     w += lr (t - y) x,   b += lr (t - y)       (y = step(x w^T + b))
 * is gradient descent if step passes its gradient straight through and the
 * loss's gradient is (y - t): lower.c gives that model the PERCEPTRON loss,
 * whose gradient is (y - t) / rows (mse's value, so the reported loss is the
 * fraction of outputs wrong). Any other gradient reaching step is a bug.
 * Straight through reads neither x nor y, so fuse.c may fold step into the
 * LINEAR before it (ops.h marks it OPF_GRAD_Y). */
static void grad_step(Grads *gr, Node *n, Node *dy) {
    if (dy->op != OP_LOSS_BWD || dy->loss != OP_PERCEPTRON)
        internal_error("step outside a single-layer perceptron");
    acc(gr, n->in[0], dy);
}

/* maxout: each output is the largest of its group of pieces; its gradient
 * goes to that piece alone (the first of equal ones, as PyTorch's max). */
static void grad_maxout(Grads *gr, Node *n, Node *dy) {
    if (!gr->needs[n->in[0]->id])
        return;
    Node *dx = node_new(gr->g, OP_MAXOUT_BWD, dy, n->in[0], NULL, NULL);
    dx->f[0] = n->f[0];
    acc(gr, n->in[0], dx);
}

/* Dropout: the gradient flows through the kept values only, scaled as they
 * were; DROPOUT_BWD recomputes the same mask from (seed, step, layer). */
static void grad_dropout(Grads *gr, Node *n, Node *dy) {
    if (!gr->needs[n->in[0]->id])
        return;
    Node *dx = node_new(gr->g, OP_DROPOUT_BWD, dy, NULL, NULL, NULL);
    memcpy(dx->f, n->f, sizeof dx->f);     /* rate, layer */
    acc(gr, n->in[0], dx);
}

/* y = gamma xhat + beta, xhat = (x - mean) / sqrt(var + eps) with the
 * statistics of the batch (per channel) or of the sample (layer norm):
 * dgamma = sum dy xhat, dbeta = sum dy, and dx through the statistics too
 * (emit.c gives the formula). */
static void grad_norm(Grads *gr, Node *n, Node *dy, Op dx_op, Op dgamma_op, Op dbeta_op) {
    Graph *g = gr->g;
    Node *x = n->in[0], *gamma = n->in[1], *beta = n->in[2];
    if (gamma) {
        Node *dg = node_new(g, dgamma_op, dy, x, NULL, NULL);
        memcpy(dg->f, n->f, sizeof dg->f);      /* epsilon */
        acc(gr, gamma, dg);
    }
    if (beta)
        acc(gr, beta, node_new(g, dbeta_op, dy, NULL, NULL, NULL));
    if (gr->needs[x->id]) {
        Node *dx = node_new(g, dx_op, dy, x, gamma, NULL);
        memcpy(dx->f, n->f, sizeof dx->f);
        acc(gr, x, dx);
    }
}

static void grad_batch_norm(Grads *gr, Node *n, Node *dy) {
    grad_norm(gr, n, dy, OP_BATCH_NORM_DX, OP_BATCH_NORM_DGAMMA, OP_CHANNEL_DB);
}

static void grad_layer_norm(Grads *gr, Node *n, Node *dy) {
    grad_norm(gr, n, dy, OP_LAYER_NORM_DX, OP_LAYER_NORM_DGAMMA, OP_LINEAR_DB);
}

/* Backpropagation through time: the gradient of the h's (every step's, or
 * the last one's) runs back through the steps in the cache the forward pass
 * left, giving the gradient of every step's pre-activations, which is xp's;
 * W_hh and b_hh gather theirs from it and each step's h_{t-1} (for GRU the
 * n gate's part of W_hh h + b_hh is scaled by r). The cache itself takes no
 * gradient: RECURRENCE_DX is its whole backward pass. */
static void grad_recurrence_out(Grads *gr, Node *n, Node *dy) {
    Graph *g = gr->g;
    Node *cache = n->in[0], *xp = cache->in[0], *w = cache->in[1], *b = cache->in[2];
    Node *dxp = node_new(g, OP_RECURRENCE_DX, dy, cache, w, NULL);
    dxp->act = cache->act;
    dxp->ract = cache->ract;
    memcpy(dxp->f, cache->f, sizeof dxp->f);
    acc(gr, w, node_new(g, OP_RECURRENCE_DW, dxp, cache, NULL, NULL));
    if (b)
        acc(gr, b, node_new(g, OP_RECURRENCE_DB, dxp, cache, NULL, NULL));
    acc(gr, xp, dxp);
}

/* The steps' order reversed back. */
static void grad_reverse(Grads *gr, Node *n, Node *dy) {
    if (gr->needs[n->in[0]->id])
        acc(gr, n->in[0], op_unary(gr->g, OP_REVERSE, dy));
}

/* repeat_vector: every copy's gradient summed back. */
static void grad_repeat(Grads *gr, Node *n, Node *dy) {
    if (gr->needs[n->in[0]->id])
        acc(gr, n->in[0], node_new(gr->g, OP_REPEAT_BWD, dy, NULL, NULL, NULL));
}

/* embedding: each step's gradient added to its token's row of W; the ids
 * take none. */
static void grad_embed(Grads *gr, Node *n, Node *dy) {
    Node *w = n->in[1];
    Node *dw = node_new(gr->g, OP_EMBED_DW, dy, n->in[0], NULL, NULL);
    dw->shape = w->shape;
    acc(gr, w, dw);
}

/* Merges of a and b. add: dy to both; subtract: dy and -dy; multiply:
 * dy b and dy a; maximum and minimum: dy where each operand won (ties to a,
 * as TensorFlow). add(a, a) reads a twice and gets both contributions. */
static void grad_merge(Grads *gr, Node *n, Node *dy) {
    Graph *g = gr->g;
    for (int j = 0; j < 2; j++) {
        Node *x = n->in[j], *dx = dy;
        if (!gr->needs[x->id])
            continue;
        if (n->op == OP_MERGE_SUB && j == 1) {
            dx = op_unary(g, OP_SCALE, dy);
            dx->f[0] = -1;
        } else if (n->op == OP_MERGE_MUL) {
            dx = node_new(g, OP_MERGE_MUL, dy, n->in[1 - j], NULL, NULL);
        } else if (n->op == OP_MERGE_MAX || n->op == OP_MERGE_MIN) {
            dx = node_new(g, OP_SELECT_BWD, dy, n->in[0], n->in[1], NULL);
            dx->act = n->op;
            dx->f[1] = j;
        }   /* add: one node is the gradient of both (values are never
             * written after they are made; acc sums into new nodes) */
        acc(gr, x, dx);
    }
}

static void grad_scale(Grads *gr, Node *n, Node *dy) {
    if (!gr->needs[n->in[0]->id])
        return;
    Node *dx = op_unary(gr->g, OP_SCALE, dy);
    dx->f[0] = n->f[0];
    acc(gr, n->in[0], dx);
}

/* concatenate: each operand takes its slice of dy back. */
static void grad_concat(Grads *gr, Node *n, Node *dy) {
    int axis = (int)n->f[0];
    long off = 0;
    for (int j = 0; j < 2; j++) {
        Node *x = n->in[j];
        if (gr->needs[x->id])
            acc(gr, x, op_slice(gr->g, dy, axis, off, x->shape.dim[axis]));
        off += x->shape.dim[axis];
    }
}

/* Losses and penalties are summed into the total loss with weight 1, so
 * the gradient reaching them is always the seed and their rules need no dy. */
static void seed_only(Grads *gr, Node *n, Node *dy) {
    if (dy != gr->g->loss)
        internal_error("%s is not summed into the loss directly", op_names[n->op]);
}

/* The loss is the root: its gradient is the seed 1. */
static void grad_loss(Grads *gr, Node *n, Node *dy) {
    seed_only(gr, n, dy);
    Node *dx = node_new(gr->g, OP_LOSS_BWD, n->in[0], n->in[1], NULL, NULL);
    dx->loss = n->op;
    memcpy(dx->f, n->f, sizeof dx->f);     /* label_smoothing, delta */
    acc(gr, n->in[0], dx);
}

/* total = loss + l1 sum|w| + l2 sum w^2: the seed passes on to the loss, and
 * l1 sign(w) + 2 l2 w joins w's gradient (sign(0) = 0, as PyTorch and Keras). */
static void grad_l1l2(Grads *gr, Node *n, Node *dy) {
    seed_only(gr, n, dy);
    gr->d[n->in[0]->id] = dy;
    Node *dw = node_new(gr->g, OP_L1L2_BWD, n->in[1], NULL, NULL, NULL);
    dw->f[0] = n->f[0];
    dw->f[1] = n->f[1];
    acc(gr, n->in[1], dw);
}

static GradRule *const grad_rules[OP_COUNT] = {
#define OP(name, str, nin, shape, grad, emit) [OP_##name] = grad,
#include "ops.h"
#undef OP
};

void autodiff(Graph *g) {
    int nfwd = g->nodes.n;
    Grads gr = {g, xalloc(sizeof(Node *) * nfwd), xalloc(nfwd)};
    for (int i = 0; i < nfwd; i++) {
        Node *n = g->nodes.v[i];
        gr.needs[i] = n->op == OP_PARAM;
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && gr.needs[n->in[j]->id])
                gr.needs[i] = 1;
    }
    cur_phase = PH_BACKWARD;
    gr.d[g->loss->id] = g->loss;    /* the seed; grad_loss ignores it */
    for (int i = nfwd - 1; i >= 0; i--) {
        Node *n = g->nodes.v[i];
        if (gr.d[i]) {
            cur_layer = n->layer;
            grad_rules[n->op](&gr, n, gr.d[i]);
        }
    }
    for (int i = 0; i < g->params.n; i++) {
        Node *p = g->params.v[i];
        if (p->buffer)
            continue;
        if (!gr.d[p->id])
            internal_error("parameter %s got no gradient", p->label);
        p->grad = gr.d[p->id];
    }
}
