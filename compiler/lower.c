/* lower.c — from a checked Spec to the forward and loss IR. Each layer kind
 * lowers to the ops it is made of; parameters are PARAM leaves named as
 * PyTorch names them, so weights round-trip with a state_dict. */
#include "nnc.h"

static Shape batched(long batch, const Shape *s) {
    Shape r = {.ndim = s->ndim + 1};
    r.dim[0] = batch;
    for (int i = 0; i < s->ndim; i++)
        r.dim[i + 1] = s->dim[i];
    return r;
}

static Node *param(Graph *g, const char *layer, const char *what, Shape s, const Call *init,
                   const Call *reg) {
    Node *p = op_leaf(g, OP_PARAM, s, 0, fmt("%s.%s", layer, what));
    p->init = init;
    p->reg = reg;
    vec_push(&g->params, p);
    return p;
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

/* A layer's weight of shape ws and, with use_bias, its bias [ws.dim[0]], with
 * the initializers and regularizers the layer names. */
static Node *kernel(Graph *g, const Layer *l, Shape ws, Node **b) {
    Shape bs = {.ndim = 1, .dim = {ws.dim[0]}};
    int dw = call_has(l->c, "depthwise_initializer");     /* Keras names depthwise_conv2d's kernel so */
    Node *w = param(g, l->name, "weight", ws, call_sub(l->c, dw ? "depthwise_initializer" : "kernel_initializer"),
                    call_arg(l->c, dw ? "depthwise_regularizer" : "kernel_regularizer")->call);
    *b = NULL;
    if (call_num(l->c, "use_bias"))
        *b = param(g, l->name, "bias", bs, call_sub(l->c, "bias_initializer"),
                   call_arg(l->c, "bias_regularizer")->call);
    return w;
}

static Node *lower_dense(Graph *g, const Layer *l, Node *h) {
    Shape ws = {.ndim = 2, .dim = {(long)call_num(l->c, "units"), l->in.dim[l->in.ndim - 1]}};
    Node *b, *w = kernel(g, l, ws, &b);
    return activation(g, call_sub(l->c, "activation"), op_linear(g, h, w, b));
}

/* maxout(units, pieces): a dense map to units * pieces values, named and
 * laid out as torch.nn.Linear(in, units * pieces), then the max over each
 * group of `pieces` consecutive values: output u is the max of values
 * u * pieces .. u * pieces + pieces - 1 (PyTorch: view(..., units, pieces).max(-1)). */
static Node *lower_maxout(Graph *g, const Layer *l, Node *h) {
    long units = (long)call_num(l->c, "units"), pieces = (long)call_num(l->c, "pieces");
    Shape ws = {.ndim = 2, .dim = {units * pieces, l->in.dim[l->in.ndim - 1]}};
    Node *b, *w = kernel(g, l, ws, &b);
    return op_maxout(g, op_linear(g, h, w, b), (int)pieces);
}

/* conv2d: PyTorch's weight [filters, C / groups, kh, kw] and bias [filters];
 * conv1d: [filters, C / groups, k]; depthwise_conv2d: Conv2d with groups = C,
 * weight [C * depth_multiplier, 1, kh, kw]. The activation folds into the
 * convolution later (fuse.c) as into dense. */
static Node *lower_conv2d(Graph *g, const Layer *l, Node *h) {
    int win[WIN_SLOTS];
    layer_window(l, win);
    long f = l->out.dim[0];
    Shape ws = {.ndim = 4, .dim = {f, l->in.dim[0] / win[WIN_G], win[WIN_KH], win[WIN_KW]}};
    if (l->in.ndim == 2)
        ws = (Shape){.ndim = 3, .dim = {f, l->in.dim[0] / win[WIN_G], win[WIN_KW]}};
    Node *b, *w = kernel(g, l, ws, &b);
    Node *y = op_window(g, OP_CONV2D, h, w, b, win, batched(g->batch, &l->out));
    return activation(g, call_sub(l->c, "activation"), y);
}

/* dropout(rate): the layer's index in the model picks its masks' stream
 * (emit.c), so no two dropout layers share a mask. rate 0 is the identity. */
static Node *lower_dropout(Graph *g, const Layer *l, Node *h, int index) {
    double rate = call_num(l->c, "rate");
    if (rate == 0)
        return h;
    Node *y = op_unary(g, OP_DROPOUT, h);
    y->f[0] = rate;
    y->f[1] = index;
    return y;
}

/* gamma (PyTorch's weight) and beta (bias) of a normalization layer, each
 * only if scale / center asks for it; per channel, `ch` of them. */
static Node *affine(Graph *g, const Layer *l, long ch, Node **beta) {
    Shape cs = {.ndim = 1, .dim = {ch}};
    Node *gamma = NULL;
    if (call_num(l->c, "scale"))
        gamma = param(g, l->name, "weight", cs, call_sub(l->c, "gamma_initializer"), NULL);
    *beta = NULL;
    if (call_num(l->c, "center"))
        *beta = param(g, l->name, "bias", cs, call_sub(l->c, "beta_initializer"), NULL);
    return gamma;
}

/* A buffer: a PARAM the optimizer never sees (plan.c puts it after the
 * trainable ones). */
static Node *buffer(Graph *g, const Layer *l, const char *what, Shape s, const Call *init) {
    Node *b = param(g, l->name, what, s, init, NULL);
    b->buffer = 1;
    return b;
}

/* batch_normalization: statistics per channel, axis 1 of the batched value
 * as PyTorch's BatchNorm1d/2d (the features of a dense output, the channels
 * of a convolution's), with its parameter and buffer names. gamma and beta
 * come first in the parameter list, as in a PyTorch state_dict. */
static Node *lower_batch_norm(Graph *g, const Layer *l, Node *h) {
    static Call zeros;
    zeros.e = catalog_find("zeros", K_INITIALIZER);
    long ch = l->in.dim[0];
    Node *beta, *gamma = affine(g, l, ch, &beta);
    Node *y = node_new(g, OP_BATCH_NORM, h, gamma, beta, NULL);
    y->f[0] = call_num(l->c, "momentum");
    y->f[1] = call_num(l->c, "epsilon");
    Shape cs = {.ndim = 1, .dim = {ch}}, scalar = {.ndim = 0};
    y->buf[0] = buffer(g, l, "running_mean", cs, call_sub(l->c, "moving_mean_initializer"));
    y->buf[1] = buffer(g, l, "running_var", cs, call_sub(l->c, "moving_variance_initializer"));
    /* a 0-dimensional tensor, as PyTorch's (saved as int64, runtime/safetensors.c) */
    y->buf[2] = buffer(g, l, "num_batches_tracked", scalar, &zeros);
    return y;
}

/* layer_normalization over the last axis, as torch.nn.LayerNorm(last dim). */
static Node *lower_layer_norm(Graph *g, const Layer *l, Node *h) {
    Node *beta, *gamma = affine(g, l, l->in.dim[l->in.ndim - 1], &beta);
    Node *y = node_new(g, OP_LAYER_NORM, h, gamma, beta, NULL);
    y->f[0] = call_num(l->c, "epsilon");
    return y;
}

/* simple_rnn, lstm, gru on [T, F], as torch.nn.RNN / LSTM / GRU with
 * batch_first = True and one layer: weight_ih_l0 [G units, F], weight_hh_l0
 * [G units, units], bias_ih_l0 and bias_hh_l0 [G units], gates in PyTorch's
 * order (LSTM i, f, g, o; GRU r, z, n). The input projection of every step
 * is one LINEAR over [n, T, F]; the recurrence runs the steps from h_0 = 0
 * (and c_0 = 0). */
static Node *lower_recurrent(Graph *g, const Layer *l, Node *h) {
    int gates = l->c->e->layer == L_LSTM ? 4 : l->c->e->layer == L_GRU ? 3 : 1;
    long units = (long)call_num(l->c, "units"), f = l->in.dim[1];
    Shape wi = {.ndim = 2, .dim = {gates * units, f}}, wh = {.ndim = 2, .dim = {gates * units, units}};
    Shape bs = {.ndim = 1, .dim = {gates * units}};
    const Call *binit = call_sub(l->c, "bias_initializer");
    Node *w_ih = param(g, l->name, "weight_ih_l0", wi, call_sub(l->c, "kernel_initializer"), NULL);
    Node *w_hh = param(g, l->name, "weight_hh_l0", wh, call_sub(l->c, "recurrent_initializer"), NULL);
    Node *b_ih = NULL, *b_hh = NULL;
    if (call_num(l->c, "use_bias")) {
        b_ih = param(g, l->name, "bias_ih_l0", bs, binit, NULL);
        b_hh = param(g, l->name, "bias_hh_l0", bs, binit, NULL);
    }
    Node *xp = op_linear(g, h, w_ih, b_ih);
    const Call *ract = call_has(l->c, "recurrent_activation") ? call_sub(l->c, "recurrent_activation") : NULL;
    Node *cache = op_recurrence(g, xp, w_hh, b_hh, call_sub(l->c, "activation"), ract);
    return op_recurrence_out(g, cache, (int)call_num(l->c, "return_sequences"));
}

/* embedding(input_dim, output_dim): weight [input_dim, output_dim] as
 * torch.nn.Embedding's; the ids are the input's values. */
static Node *lower_embedding(Graph *g, const Layer *l, Node *h) {
    Shape ws = {.ndim = 2, .dim = {(long)call_num(l->c, "input_dim"), (long)call_num(l->c, "output_dim")}};
    Node *w = param(g, l->name, "weight", ws, call_sub(l->c, "embeddings_initializer"), NULL);
    return node_new(g, OP_EMBED, h, w, NULL, NULL);
}

/* time_distributed(dense(...)): the inner dense under the outer layer's name
 * (td.weight, td.bias), on the last axis as dense always is. */
static Node *lower_time_distributed(Graph *g, const Layer *l, Node *h) {
    Layer inner = *l;
    inner.c = call_sub(l->c, "layer");
    return lower_dense(g, &inner, h);
}

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
    for (int i = 0; i < spec->nlayers; i++) {
        const Layer *l = &spec->layers[i];
        cur_layer = l->name;
        switch (l->c->e->layer) {
        case L_DENSE:
            h = lower_dense(g, l, h);
            break;
        case L_MAXOUT:
            h = lower_maxout(g, l, h);
            break;
        case L_CONV2D:
            h = lower_conv2d(g, l, h);
            break;
        case L_POOL2D: {
            int win[WIN_SLOTS];
            layer_window(l, win);
            h = op_window(g, (Op)l->c->e->op, h, NULL, NULL, win, batched(g->batch, &l->out));
            break;
        }
        case L_GLOBAL_POOL: {   /* a window over the whole input, then [n, C] */
            int win[WIN_SLOTS];
            layer_window(l, win);
            Shape s = batched(g->batch, &l->in);
            for (int d = 2; d < s.ndim; d++)
                s.dim[d] = 1;
            h = op_window(g, (Op)l->c->e->op, h, NULL, NULL, win, s);
            h = op_reshape(g, h, batched(g->batch, &l->out));
            break;
        }
        case L_RESHAPE:
            h = op_reshape(g, h, batched(g->batch, &l->out));
            break;
        case L_DROPOUT:
            h = lower_dropout(g, l, h, i);
            break;
        case L_BATCH_NORM:
            h = lower_batch_norm(g, l, h);
            break;
        case L_LAYER_NORM:
            h = lower_layer_norm(g, l, h);
            break;
        case L_REPEAT:
            h = op_repeat(g, h, (int)call_num(l->c, "n"));
            break;
        case L_TIME_DISTRIBUTED:
            h = lower_time_distributed(g, l, h);
            break;
        case L_EMBEDDING:
            h = lower_embedding(g, l, h);
            break;
        case L_SIMPLE_RNN:
        case L_LSTM:
        case L_GRU:
            h = lower_recurrent(g, l, h);
            break;
        case L_ACTIVATION: {
            const Call *act = call_has(l->c, "activation") ? call_sub(l->c, "activation") : l->c;
            h = activation(g, act, h);
            break;
        }
        default:
            internal_error("layer %s has no lowering", l->c->e->name);
        }
    }
    g->out = h;
    lower_loss(g, spec->loss);
    lower_penalties(g);
    return g;
}
