/* optim.c — the optimizer step as IR: one update node per parameter, reading
 * its gradient and updating the parameter and its state in place. State
 * tensors are named as PyTorch's optimizer state_dict names them. The update
 * formulas follow PyTorch (see docs/CATALOG.md); emit.c prints them. */
#include "nnc.h"

/* State slot k of every parameter lives at k * (parameter floats) + the
 * parameter's offset (plan.c), so one loop can update the whole block. */
static Node *state(Graph *g, Node *p, const char *what, int slot) {
    Node *s = op_leaf(g, OP_STATE, p->shape, 0, fmt("%s.%s", p->label, what));
    s->wrt = p;
    s->slot = slot;
    vec_push(&g->states, s);
    return s;
}

void optim(Graph *g) {
    const Call *o = g->spec->optimizer;
    cur_phase = PH_UPDATE;
    for (int i = 0; i < g->params.n; i++) {
        Node *p = g->params.v[i], *u;
        cur_layer = p->layer;
        switch ((Op)o->e->op) {
        case OP_SGD: {
            double momentum = call_num(o, "momentum");
            Node *buf = momentum > 0 ? state(g, p, "momentum_buffer", 0) : NULL;
            u = node_new(g, OP_SGD, p, p->grad, buf, NULL);
            u->f[0] = call_num(o, "learning_rate");
            u->f[1] = momentum;
            break;
        }
        case OP_ADAM: {
            Node *m = state(g, p, "exp_avg", 0), *v = state(g, p, "exp_avg_sq", 1);
            u = node_new(g, OP_ADAM, p, p->grad, m, v);
            u->f[0] = call_num(o, "learning_rate");
            u->f[1] = call_num(o, "beta_1");
            u->f[2] = call_num(o, "beta_2");
            u->f[3] = call_num(o, "epsilon");
            break;
        }
        default:
            internal_error("optimizer %s has no lowering", o->e->name);
        }
    }
}
