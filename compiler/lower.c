/* lower.c — from a checked Spec to the forward and loss IR. Each layer kind
 * lowers to the ops it is made of (its lowering, named in layers.h);
 * parameters are PARAM leaves made from the layer's parameter list
 * (layer_params, check.c), named as PyTorch names them, so weights
 * round-trip with a state_dict. */
#include "nnc.h"

#include <string.h>

static Shape batched(long batch, const Shape *s) {
    Shape r = {.ndim = s->ndim + 1};
    r.dim[0] = batch;
    for (int i = 0; i < s->ndim; i++)
        r.dim[i + 1] = s->dim[i];
    return r;
}

/* The layer's parameter `what` from its list, as a PARAM leaf made now (so
 * each lowering puts its leaves where the schedule wants them), or NULL if
 * the layer has none of that name (no bias without use_bias). */
static Node *param(Graph *g, const Layer *l, const char *what) {
    LayerParam ps[MAX_LAYER_PARAMS];
    int n = layer_params(l, ps);
    for (int k = 0; k < n; k++)
        if (!strcmp(ps[k].name, what)) {
            Node *p = op_leaf(g, OP_PARAM, ps[k].shape, 0, fmt("%s.%s", l->name, what));
            p->init = ps[k].init;
            p->reg = ps[k].reg;
            p->buffer = ps[k].buffer;
            vec_push(&g->params, p);
            return p;
        }
    return NULL;
}

/* act is an activation's call or a standalone activation layer's: its
 * numeric arguments (alpha) become f[], in catalogue order. */
static Node *activation(Graph *g, const Call *act, Node *h) {
    if (act->e->op == OP_NONE)
        return h;
    Node *n = op_unary(g, (Op)act->e->op, h);
    int k = 0;
    for (int i = 0; i < MAX_PARAMS && act->e->params[i].name; i++)
        if (act->e->params[i].type == T_FLOAT) {
            if (k == (int)(sizeof n->f / sizeof n->f[0]))
                internal_error("%s has too many parameters", act->e->name);
            n->f[k++] = act->v[i].num;
        }
    return n;
}

static Node *lower_dense(Graph *g, const Layer *l, Node *h) {
    Node *w = param(g, l, "weight"), *b = param(g, l, "bias");
    return activation(g, call_sub(l->c, "activation"), op_linear(g, h, w, b));
}

/* activation layers: the activation written as an argument or as the name. */
static Node *lower_activation(Graph *g, const Layer *l, Node *h) {
    return activation(g, call_has(l->c, "activation") ? call_sub(l->c, "activation") : l->c, h);
}

/* maxout(units, pieces): a dense map to units * pieces values, then the max
 * over each group of `pieces` consecutive values: output u is the max of
 * values u * pieces .. u * pieces + pieces - 1 (PyTorch:
 * view(..., units, pieces).max(-1)). */
static Node *lower_maxout(Graph *g, const Layer *l, Node *h) {
    Node *w = param(g, l, "weight"), *b = param(g, l, "bias");
    return op_maxout(g, op_linear(g, h, w, b), (int)call_num(l->c, "pieces"));
}

/* conv2d, conv1d, depthwise_conv2d: one window op over [C, H, W] ([C, L] as
 * height 1). The activation folds into the convolution later (fuse.c) as
 * into dense. */
static Node *lower_conv2d(Graph *g, const Layer *l, Node *h) {
    int win[WIN_SLOTS];
    layer_window(l, win);
    Node *w = param(g, l, "weight"), *b = param(g, l, "bias");
    Node *y = op_window(g, OP_CONV2D, h, w, b, win, batched(g->batch, &l->out));
    return activation(g, call_sub(l->c, "activation"), y);
}

/* separable_conv2d: the depthwise convolution (groups = C, the layer's
 * window) to C * depth_multiplier channels, then a 1x1 convolution to filters
 * channels with the bias and activation. */
static Node *lower_separable(Graph *g, const Layer *l, Node *h) {
    int win[WIN_SLOTS], one[WIN_SLOTS] = {0};
    layer_window(l, win);
    one[WIN_KH] = one[WIN_KW] = one[WIN_SH] = one[WIN_SW] = one[WIN_DH] = one[WIN_DW] = one[WIN_G] = 1;
    Node *dw = param(g, l, "depthwise.weight"), *pw = param(g, l, "pointwise.weight");
    Node *b = param(g, l, "pointwise.bias");
    Shape mid = batched(g->batch, &l->out);
    mid.dim[1] = dw->shape.dim[0];
    Node *y = op_window(g, OP_CONV2D, h, dw, NULL, win, mid);
    y = op_window(g, OP_CONV2D, y, pw, b, one, batched(g->batch, &l->out));
    return activation(g, call_sub(l->c, "activation"), y);
}

static Node *lower_pool2d(Graph *g, const Layer *l, Node *h) {
    int win[WIN_SLOTS];
    layer_window(l, win);
    return op_window(g, (Op)l->c->e->op, h, NULL, NULL, win, batched(g->batch, &l->out));
}

/* Global pooling: a window over the whole input, then [n, C]. */
static Node *lower_global_pool(Graph *g, const Layer *l, Node *h) {
    int win[WIN_SLOTS];
    layer_window(l, win);
    Shape s = batched(g->batch, &l->in);
    for (int d = 2; d < s.ndim; d++)
        s.dim[d] = 1;
    h = op_window(g, (Op)l->c->e->op, h, NULL, NULL, win, s);
    return op_reshape(g, h, batched(g->batch, &l->out));
}

static Node *lower_reshape(Graph *g, const Layer *l, Node *h) {
    return op_reshape(g, h, batched(g->batch, &l->out));
}

/* dropout(rate): the layer's index in the model picks its masks' stream
 * (emit.c), so no two dropout layers share a mask. rate 0 is the identity. */
static Node *lower_dropout(Graph *g, const Layer *l, Node *h) {
    double rate = call_num(l->c, "rate");
    if (rate == 0)
        return h;
    Node *y = op_unary(g, OP_DROPOUT, h);
    y->f[0] = rate;
    y->f[1] = (double)(l - g->spec->layers);
    return y;
}

/* batch_normalization: statistics per channel, axis 1 of the batched value
 * as PyTorch's BatchNorm1d/2d (the features of a dense output, the channels
 * of a convolution's). gamma and beta come first in the parameter list, as
 * in a PyTorch state_dict, the running statistics (buffers) after the op. */
static Node *lower_batch_norm(Graph *g, const Layer *l, Node *h) {
    Node *gamma = param(g, l, "weight"), *beta = param(g, l, "bias");
    Node *y = node_new(g, OP_BATCH_NORM, h, gamma, beta, NULL);
    y->f[0] = call_num(l->c, "momentum");
    y->f[1] = call_num(l->c, "epsilon");
    y->buf[0] = param(g, l, "running_mean");
    y->buf[1] = param(g, l, "running_var");
    y->buf[2] = param(g, l, "num_batches_tracked");
    return y;
}

/* layer_normalization over the last axis, as torch.nn.LayerNorm(last dim). */
static Node *lower_layer_norm(Graph *g, const Layer *l, Node *h) {
    Node *gamma = param(g, l, "weight"), *beta = param(g, l, "bias");
    Node *y = node_new(g, OP_LAYER_NORM, h, gamma, beta, NULL);
    y->f[0] = call_num(l->c, "epsilon");
    return y;
}

/* simple_rnn, lstm, gru on [T, F], as torch.nn.RNN / LSTM / GRU with
 * batch_first = True and one layer. The input projection of every step is
 * one LINEAR over [n, T, F]; the recurrence runs the steps from h_0 = 0 (and
 * c_0 = 0). */
static Node *recurrence(Graph *g, const Layer *l, const Call *cell, Node *h, const char *suffix) {
    Node *w_ih = param(g, l, fmt("weight_ih_l0%s", suffix)), *w_hh = param(g, l, fmt("weight_hh_l0%s", suffix));
    Node *b_ih = param(g, l, fmt("bias_ih_l0%s", suffix)), *b_hh = param(g, l, fmt("bias_hh_l0%s", suffix));
    Node *xp = op_linear(g, h, w_ih, b_ih);
    const Call *ract = call_has(cell, "recurrent_activation") ? call_sub(cell, "recurrent_activation") : NULL;
    Node *cache = op_recurrence(g, xp, w_hh, b_hh, call_sub(cell, "activation"), ract);
    return op_recurrence_out(g, cache, (int)call_num(cell, "return_sequences"));
}

static Node *lower_recurrent(Graph *g, const Layer *l, Node *h) { return recurrence(g, l, l->c, h, ""); }

/* bidirectional: the backward direction runs over the steps reversed; its
 * sequence of h's is reversed back so step t of both outputs is step t of
 * the input (Keras's and PyTorch's convention); its last h is the one it
 * ends with, at step 0. */
static Node *lower_bidirectional(Graph *g, const Layer *l, Node *h) {
    const Call *cell = call_sub(l->c, "layer");
    const char *mode = call_str(l->c, "merge_mode");
    Node *f = recurrence(g, l, cell, h, "");
    Node *b = recurrence(g, l, cell, op_unary(g, OP_REVERSE, h), "_reverse");
    if (call_num(cell, "return_sequences"))
        b = op_unary(g, OP_REVERSE, b);
    if (!strcmp(mode, "concat"))
        return op_concat(g, f, b, f->shape.ndim - 1);
    Node *y = node_new(g, strcmp(mode, "mul") ? OP_MERGE_ADD : OP_MERGE_MUL, f, b, NULL, NULL);
    if (!strcmp(mode, "ave")) {
        y = op_unary(g, OP_SCALE, y);
        y->f[0] = 0.5;
    }
    return y;
}

static Node *lower_repeat(Graph *g, const Layer *l, Node *h) {
    return op_repeat(g, h, (int)call_num(l->c, "n"));
}

/* embedding(input_dim, output_dim): the ids are the input's values. */
static Node *lower_embedding(Graph *g, const Layer *l, Node *h) {
    return node_new(g, OP_EMBED, h, param(g, l, "weight"), NULL, NULL);
}

/* time_distributed(dense(...)): the inner dense under the outer layer's name
 * (td.weight, td.bias), on the last axis as dense always is. */
static Node *lower_time_distributed(Graph *g, const Layer *l, Node *h) {
    Layer inner = *l;
    inner.c = call_sub(l->c, "layer");
    return lower_dense(g, &inner, h);
}

/* Every layer's output node so far, by layer index, for the merges (and
 * input = NAME) to read; lower() fills it in order. */
static Node **outputs;

static Node *output_of(Graph *g, int j) { return j < 0 ? g->x : outputs[j]; }

/* add, subtract, multiply, maximum, minimum: one op per further operand,
 * from the left as Keras folds them; average, the sum scaled by 1 / n. */
static Node *lower_merge(Graph *g, const Layer *l, Node *h) {
    for (int k = 1; k < l->nfrom; k++)
        h = node_new(g, (Op)l->c->e->op, h, output_of(g, l->from[k]), NULL, NULL);
    if (!strcmp(l->c->e->name, "average")) {
        h = op_unary(g, OP_SCALE, h);
        h->f[0] = 1.0 / l->nfrom;
    }
    return h;
}

/* concatenate: the sample axis is the batched value's next one. */
static Node *lower_concatenate(Graph *g, const Layer *l, Node *h) {
    int axis = (int)call_num(l->c, "axis");
    if (axis < 0)
        axis += l->in.ndim;
    for (int k = 1; k < l->nfrom; k++)
        h = op_concat(g, h, output_of(g, l->from[k]), axis + 1);
    return h;
}

typedef Node *Lowering(Graph *g, const Layer *l, Node *h);

static Lowering *const lowerings[L_COUNT] = {
#define LAYER(kind, facts, shape, params, lower) [L_##kind] = lower,
#include "layers.h"
#undef LAYER
};

/* A loss op and its target layout; from_logits picks the fused variant.
 * label_smoothing and delta travel on the node as f[0]. */
static void lower_loss(Graph *g, const Call *loss) {
    int logits = call_has(loss, "from_logits") && call_num(loss, "from_logits");
    Op op = (Op)loss->e->op;
    long k = node_row(g->out);
    /* A class at every step of a [T, K] output: T rows of K per sample, so
     * T labels per sample (sparse, binary) or T one-hot rows. */
    long steps = k / g->out->shape.dim[g->out->shape.ndim - 1];
    /* The targets' layout follows the loss's task (ops.h): a value per
     * output, a label per step, or a distribution per step. */
    g->task = op_task(op);
    g->steps = g->task == TASK_REGRESSION || g->task == TASK_HINGE ? 1 : (int)steps;
    g->n_target = g->task == TASK_BINARY || g->task == TASK_SPARSE ? (int)steps : (int)k;
    /* A perceptron's step output trains by the perceptron rule (autodiff.c). */
    if (op == OP_MSE && g->out->op == OP_STEP)
        op = OP_PERCEPTRON;
    if (logits)     /* the fused variants of the cross-entropies */
        op = op == OP_BCE ? OP_BCE_LOGITS : op == OP_SCE ? OP_SCE_LOGITS : op == OP_CCE ? OP_CCE_LOGITS : op;
    g->logits = logits;
    Shape ts = {.ndim = 2, .dim = {g->batch, g->n_target}};
    cur_phase = PH_LOSS;
    cur_layer = "loss";
    g->y = op_leaf(g, OP_TARGET, ts, 1, "y");
    g->loss = op_loss(g, op, g->out, g->y);
    if (call_has(loss, "label_smoothing"))
        g->loss->f[0] = call_num(loss, "label_smoothing");
    if (call_has(loss, "delta"))
        g->loss->f[0] = call_num(loss, "delta");
}

/* Each regularized parameter adds its penalty to the loss, as Keras adds
 * regularization losses: what training minimises and reports is the total.
 * Penalties are in the loss phase, so inference never computes them. */
static void lower_penalties(Graph *g) {
    for (int i = 0; i < g->params.n; i++) {
        Node *p = g->params.v[i];
        if (!p->reg)
            continue;
        double l1 = call_has(p->reg, "l1") ? call_num(p->reg, "l1") : 0;
        double l2 = call_has(p->reg, "l2") ? call_num(p->reg, "l2") : 0;
        if (l1 == 0 && l2 == 0)
            continue;
        cur_layer = p->layer;
        g->loss = node_new(g, OP_L1L2, g->loss, p, NULL, NULL);
        g->loss->f[0] = l1;
        g->loss->f[1] = l2;
    }
}

Graph *lower(const Spec *spec, int batch) {
    Graph *g = graph_new(spec, batch);
    cur_phase = PH_FORWARD;
    cur_layer = "input";
    g->x = op_leaf(g, OP_INPUT, batched(batch, &spec->input), 1, "x");
    Node *h = g->x;
    outputs = xalloc(sizeof(Node *) * (size_t)(spec->nlayers + 1));
    for (int i = 0; i < spec->nlayers; i++) {
        const Layer *l = &spec->layers[i];
        LayerParam ps[MAX_LAYER_PARAMS];
        int before = g->params.n;
        cur_layer = l->name;
        h = lowerings[l->c->e->layer](g, l, output_of(g, l->from[0]));
        outputs[i] = h;
        if (g->params.n - before != layer_params(l, ps))
            internal_error("layer %s made %d of its %d parameters", l->name, g->params.n - before,
                           layer_params(l, ps));
    }
    g->out = h;
    lower_loss(g, spec->loss);
    lower_penalties(g);
    return g;
}
