/* fuse.c — fold an elementwise activation into the LINEAR that produces its
 * input, so bias and activation are applied in the loop that computes each
 * output row instead of in a second pass over memory. Runs after autodiff:
 * the backward pass reads only the activation's output, which the fused node
 * now holds, and never the pre-activation value. */
#include "nnc.h"

static int fusable(Op op) {
    return op == OP_RELU || op == OP_SIGMOID || op == OP_TANH || op == OP_SOFTMAX;
}

void fuse(Graph *g) {
    ir_uses(g);
    Node **repl = xalloc(sizeof(Node *) * g->nodes.n);
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] && repl[n->in[j]->id])
                n->in[j] = repl[n->in[j]->id];
        Node *x = n->nin ? n->in[0] : NULL;
        if (fusable(n->op) && x && x->op == OP_LINEAR && !x->act && x->nuses == 1) {
            x->act = n->op;
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
}
