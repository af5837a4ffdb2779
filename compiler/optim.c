/* optim.c — the optimizer step as IR: gradient clipping nodes, then one
 * update node per parameter, reading its gradient and updating the parameter
 * and its state in place. State tensors are named as PyTorch's optimizer
 * state_dict names them. The update formulas follow PyTorch (see
 * docs/CATALOG.md); emit.c prints them, and the learning rate (a number or a
 * schedule of the step) from the optimizer's call. */
#include "nnc.h"

/* State slot k of every parameter lives at k * (parameter floats) + the
 * parameter's offset (plan.c), so one loop can update the whole block. A
 * state without a parameter (NAdam's mu_product, one number) lives after
 * the slots. */
static Node *state(Graph *g, Node *p, const char *what, int slot) {
    Shape one = {1, {1}};
    Node *s = op_leaf(g, OP_STATE, p ? p->shape : one, 0, p ? fmt("%s.%s", p->label, what) : what);
    s->wrt = p;
    s->slot = slot;
    vec_push(&g->states, s);
    return s;
}

/* The clipping the optimizer asks for, if any: at most one (check.c). */
static void clip(Graph *g, const Call *o) {
    static const struct { const char *arg; Op op; } kinds[] = {
        {"clipnorm", OP_CLIP_NORM}, {"global_clipnorm", OP_CLIP_GLOBAL_NORM},
        {"clipvalue", OP_CLIP_VALUE},
    };
    for (int k = 0; k < 3; k++) {
        const ArgVal *a = call_arg(o, kinds[k].arg);
        if (!a->given)
            continue;
        for (int i = 0; i < g->params.n; i++) {
            Node *p = g->params.v[i];
            if (p->buffer)
                continue;
            cur_layer = p->layer;
            Node *c = node_new(g, kinds[k].op, p->grad, NULL, NULL, NULL);
            c->f[0] = a->num;
        }
    }
}

void optim(Graph *g) {
    const Call *o = g->spec->optimizer;
    Op op = (Op)o->e->op;
    cur_phase = PH_UPDATE;
    clip(g, o);
    const char *states[4];
    int nstates = optimizer_states(o, states);
    if (op == OP_NADAM)
        state(g, NULL, "mu_product", nstates);
    for (int i = 0; i < g->params.n; i++) {
        Node *p = g->params.v[i];
        double *f;
        if (p->buffer)      /* running statistics: updated by the forward pass, never trained */
            continue;
        cur_layer = p->layer;
        for (int k = 0; k < nstates; k++)
            state(g, p, states[k], k);
        switch (op) {
        case OP_SGD:
            f = node_new(g, op, p, p->grad, NULL, NULL)->f;
            f[0] = call_num(o, "momentum");
            f[1] = call_num(o, "nesterov");
            f[2] = call_num(o, "weight_decay");
            break;
        case OP_RMSPROP:
            f = node_new(g, op, p, p->grad, NULL, NULL)->f;
            f[0] = call_num(o, "rho");
            f[1] = call_num(o, "momentum");
            f[2] = call_num(o, "epsilon");
            f[3] = call_num(o, "centered");
            break;
        case OP_ADAM:
        case OP_ADAMW:
            f = node_new(g, op, p, p->grad, NULL, NULL)->f;
            f[0] = call_num(o, "beta_1");
            f[1] = call_num(o, "beta_2");
            f[2] = call_num(o, "epsilon");
            f[3] = call_num(o, "amsgrad");
            if (op == OP_ADAMW)
                f[4] = call_num(o, "weight_decay");
            break;
        case OP_ADAGRAD:
            f = node_new(g, op, p, p->grad, NULL, NULL)->f;
            f[0] = call_num(o, "initial_accumulator_value");
            f[1] = call_num(o, "epsilon");
            break;
        case OP_ADADELTA:
            f = node_new(g, op, p, p->grad, NULL, NULL)->f;
            f[0] = call_num(o, "rho");
            f[1] = call_num(o, "epsilon");
            break;
        case OP_ADAMAX:
        case OP_NADAM:
            f = node_new(g, op, p, p->grad, NULL, NULL)->f;
            f[0] = call_num(o, "beta_1");
            f[1] = call_num(o, "beta_2");
            f[2] = call_num(o, "epsilon");
            if (op == OP_NADAM)
                f[3] = 0.004;   /* PyTorch's momentum_decay, fixed in Keras */
            break;
        default:
            internal_error("optimizer %s has no lowering", o->e->name);
        }
    }
}
