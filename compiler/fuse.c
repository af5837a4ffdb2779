/* fuse.c — rewrites for speed after autodiff, IR -> IR:
 * 1. Fold an elementwise activation into the LINEAR that produces its input,
 *    so bias and activation are applied in the loop that computes each output
 *    row instead of in a second pass over memory, with its parameters (f[]).
 *    Folding drops the pre-activation x, so it happens only when the
 *    activation is x's one reader: true when the backward pass reads the
 *    activation's output y, which the fused node now holds; false for gelu
 *    and silu, whose gradient rule (grad_act_x) makes ACT_BWD read x too.
 * 2. A LINEAR over several rows reads its weights transposed (LINEAR_T after a
 *    TRANSPOSE): the inner loop then runs along the outputs with the row's
 *    sums in registers, instead of one horizontal reduction per output. The
 *    transpose costs one pass over W per call; the product costs rows passes.
 *    With a single row (batch-1 inference) the dot-product form is kept.
 * 3. An activation's gradient through its output y, when what arrives is a
 *    pooling gradient over that same y (conv2d(relu) then max_pooling2d),
 *    folds into the pooling gradient: it is applied where the pooling writes,
 *    and is linear in dy, so summing overlapping windows first changes
 *    nothing. One pass over the image instead of two. */
#include "nnc.h"
#include <string.h>

/* Rows of at least this many make the transposed form pay. */
#define TRANSPOSE_MIN_ROWS 4

static void transpose_weights(Graph *g) {
    Vec old = g->nodes;
    g->nodes = (Vec){0};
    for (int i = 0; i < old.n; i++) {
        Node *n = old.v[i];
        Node *x = n->in[0];
        if (n->op == OP_LINEAR && x->batched &&
            (long)g->batch * (node_row(x) / x->shape.dim[x->shape.ndim - 1]) >= TRANSPOSE_MIN_ROWS) {
            cur_phase = n->phase;
            cur_layer = n->layer;
            n->in[1] = node_new(g, OP_TRANSPOSE, n->in[1], NULL, NULL, NULL);
            n->op = OP_LINEAR_T;
        }
        vec_push(&g->nodes, n);
    }
    for (int i = 0; i < g->nodes.n; i++)
        ((Node *)g->nodes.v[i])->id = i;
}

void fuse(Graph *g) {
    ir_uses(g);
    Node **repl = xalloc(sizeof(Node *) * g->nodes.n);
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && repl[n->in[j]->id])
                n->in[j] = repl[n->in[j]->id];
        /* A gradient of the folded activation is the gradient of its output,
         * which the fused node now is: its name follows. */
        if (n->wrt && repl[n->wrt->id])
            n->wrt = repl[n->wrt->id];
        Node *x = n->nin ? n->in[0] : NULL;
        /* Softmax runs over rows of the last axis: not folded into a
         * convolution, whose loop makes one output row per channel and image
         * row, only elementwise activations are. */
        int act = op_flags(n->op);
        if ((act & OPF_ACT) && x && (x->op == OP_LINEAR || (x->op == OP_CONV2D && (act & OPF_ELEMENTWISE))) &&
            !x->act && x->nuses == 1) {
            x->act = n->op;
            memcpy(x->f, n->f, sizeof x->f);
            repl[n->id] = x;
        }
        if (n->op == OP_ACT_BWD && (op_flags(n->act) & OPF_GRAD_Y) && x->op == OP_POOL2D_DX &&
            !x->act && x->nuses == 1 && x->in[1] == n->in[1]) {
            x->act = n->act;
            memcpy(x->f, n->f, sizeof x->f);
            x->wrt = n->wrt;
            repl[n->id] = x;
        }
    }
    if (g->out && repl[g->out->id])
        g->out = repl[g->out->id];
    /* Drop the folded nodes and renumber. */
    int k = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        if (!repl[i]) {
            n->id = k;
            g->nodes.v[k++] = n;
        }
    }
    g->nodes.n = k;
    transpose_weights(g);
}
