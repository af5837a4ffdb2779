/* weights.c — an inference build's weights, IR -> IR. The loss goes (the
 * forward pass is all a deployed model runs), every parameter gets its trained
 * values from a .safetensors file read by the runtime's own reader and checks
 * (runtime/safetensors.c: each tensor present, exact shapes, no strangers),
 * and the input scaling `nnc train --save` recorded in the file's metadata is
 * folded into the first dense layer, so the deployed function takes raw
 * inputs:  x' = (x - shift) * scale  =>  W' = W diag(scale),  b' = b - W' shift. */
#include "nnc.h"
#include "nnc_rt.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void drop_loss(Graph *g) {
    int k = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        if (n->phase != PH_LOSS) {
            n->id = k;
            g->nodes.v[k++] = n;
        }
    }
    g->nodes.n = k;
    g->loss = NULL;
    g->y = NULL;
    g->inference = 1;
}

long weight_floats(Graph *g) {
    long k = 0;
    for (int i = 0; i < g->params.n; i++)
        k += node_numel(g->params.v[i]);
    return k;
}

static float *params_of(void *m) { return m; }

/* The dense layer that reads the raw input, or a fatal error saying why the
 * scaling cannot be folded. */
static Node *first_dense(Graph *g, const char *kind) {
    ir_uses(g);
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        if (n->nin && n->in[0] == g->x) {
            if (n->op != OP_LINEAR || g->x->nuses != 1)
                fatal("model %s: the input scaling (preprocess %s) can only be folded into a first dense "
                      "layer, and %s's first layer is %s", g->spec->name, kind, g->spec->name,
                      g->spec->layers[0].c->e->name);
            if (g->spec->input.ndim != 1)
                fatal("model %s: the input scaling (preprocess %s) is per input value and dense reads the "
                      "last axis of %s: only a 1-D input can be folded", g->spec->name, kind,
                      shape_str(&g->spec->input));
            return n;
        }
    }
    internal_error("nothing reads the input");
}

static void fold_preprocess(Graph *g, const nnc_prep *p) {
    const char *kind = nnc_prep_name(p->kind);
    Node *lin = first_dense(g, kind);
    Node *w = lin->in[1], *b = lin->in[2];
    long o = w->shape.dim[0], k = w->shape.dim[1];
    if (k != p->n)
        internal_error("preprocessing has %d values, the layer reads %ld", p->n, k);
    int shifts = 0;
    for (long i = 0; i < k; i++)
        shifts |= p->shift[i] != 0.0f;
    if (shifts && !b)
        fatal("model %s: layer %s has no bias (use_bias = false) to fold the input shift of preprocess %s into",
              g->spec->name, lin->layer, kind);
    for (long j = 0; j < o; j++) {
        double sum = 0;
        for (long i = 0; i < k; i++) {
            float *wji = &w->value[j * k + i];
            *wji = (float)((double)*wji * p->scale[i]);
            sum += (double)*wji * p->shift[i];
        }
        if (b)
            b->value[j] = (float)(b->value[j] - sum);
    }
    g->preprocess = kind;
}

/* --weights-in-ram: the parameters NAME_load folds the input scaling into
 * (the same checks as baking it in). */
void fold_target(Graph *g) {
    const char *pre = g->spec->preprocess->e->name;
    if (!strcmp(pre, "none"))
        return;
    Node *lin = first_dense(g, pre);
    g->preprocess = pre;
    g->fold_w = lin->in[1];
    g->fold_b = lin->in[2];
}

void bake_weights(Graph *g, const char *path) {
    int n = g->params.n;
    nnc_tensor *t = xalloc(sizeof *t * n);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        Node *p = g->params.v[i];
        t[i].name = p->label;
        t[i].offset = total;
        t[i].ndim = p->shape.ndim;
        for (int d = 0; d < p->shape.ndim; d++)
            t[i].shape[d] = (int)p->shape.dim[d];
        total += (size_t)node_numel(p);
    }
    const char *pre = g->spec->preprocess->e->name;
    nnc_model_desc d = {
        .name = g->spec->name, .source = g->spec->src->path, .batch = g->batch,
        .n_in = (int)node_row(g->x), .n_out = (int)node_row(g->out), .task = g->task,
        .logits = g->logits, .n_params = total, .tensors = t, .n_tensors = n, .params = params_of,
        .preprocess = !strcmp(pre, "standardize") ? NNC_PRE_STANDARDIZE
                    : !strcmp(pre, "min_max") ? NNC_PRE_MINMAX : NNC_PRE_NONE,
    };
    float *buf = xalloc(sizeof(float) * (total ? total : 1));
    nnc_prep prep = {0};
    if (nnc_weights_load(path, &d, buf, &prep)) {
        fflush(stdout);
        fprintf(stderr, "%s\n", nnc_error());
        exit(1);
    }
    for (int i = 0; i < n; i++)
        ((Node *)g->params.v[i])->value = buf + t[i].offset;
    if (prep.kind != NNC_PRE_NONE)
        fold_preprocess(g, &prep);
    /* after the fold: a huge weight times the input scale can overflow */
    for (int i = 0; i < n; i++) {
        Node *p = g->params.v[i];
        for (long j = 0; j < node_numel(p); j++)
            if (!isfinite(p->value[j]))
                fatal("%s: tensor '%s' holds %g at index %ld%s: only finite weights can be baked in", path,
                      p->label, (double)p->value[j], j, prep.kind != NNC_PRE_NONE ? " (with the input scaling folded in)" : "");
    }
    nnc_prep_free(&prep);
}

void bake_transposes(Graph *g) {
    ir_uses(g);
    int k = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i], *w = n->nin ? n->in[0] : NULL;
        if (n->op == OP_TRANSPOSE && w->op == OP_PARAM && w->nuses == 1) {
            long o = w->shape.dim[0], in = w->shape.dim[1];
            if (w->value) {     /* nnc summary --inference plans without values */
                n->value = xalloc(sizeof(float) * o * in);
                for (long j = 0; j < o; j++)
                    for (long c = 0; c < in; c++)
                        n->value[c * o + j] = w->value[j * in + c];
            }
            n->op = OP_PARAM;
            n->nin = 0;
            n->in[0] = NULL;
            n->label = fmt("%s^T", w->label);
            for (int p = 0; p < g->params.n; p++)
                if (g->params.v[p] == w)
                    g->params.v[p] = n;
            w->id = -1;     /* dropped below: nothing else reads it */
        }
    }
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        if (n->id >= 0) {
            n->id = k;
            g->nodes.v[k++] = n;
        }
    }
    g->nodes.n = k;
}

/* ---- dropout and batch norm in an inference build ------------------------ */

/* Every reader of `old` reads `new` instead; old is dropped (id -1). */
static void bypass(Graph *g, Node *old, Node *new) {
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        for (int j = 0; j < n->nin; j++)
            if (n->in[j] == old)
                n->in[j] = new;
    }
    if (g->out == old)
        g->out = new;
    old->id = -1;
}

/* New parameters of the inference build, each scheduled just before the
 * node that reads it once compact() rebuilds the schedule. */
static Vec added, added_before;

static Node *new_param(Graph *g, Node *before, const char *label, long ch, float *value) {
    Shape s = {.ndim = 1, .dim = {ch}};
    cur_layer = before->layer;
    Node *p = op_leaf(g, OP_PARAM, s, 0, label);
    g->nodes.n--;       /* op_leaf appended it to the schedule: compact() places it */
    p->value = value;
    vec_push(&g->params, p);
    vec_push(&added, p);
    vec_push(&added_before, before);
    return p;
}

/* Drop nodes and parameters marked with id -1; number the rest in order. */
static void compact(Graph *g) {
    int k = 0;
    for (int i = 0; i < g->params.n; i++)
        if (((Node *)g->params.v[i])->id >= 0)
            g->params.v[k++] = g->params.v[i];
    g->params.n = k;
    Vec nodes = {0};
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        for (int j = 0; j < added.n; j++)
            if (added_before.v[j] == n)
                vec_push(&nodes, added.v[j]);
        if (n->id >= 0)
            vec_push(&nodes, n);
    }
    for (int i = 0; i < nodes.n; i++)
        ((Node *)nodes.v[i])->id = i;
    g->nodes = nodes;
    added.n = added_before.n = 0;
}

/* Batch norm in inference is y = a x + c per channel, a = gamma / sqrt(var +
 * eps), c = beta - mean a, from the running statistics. After a dense layer
 * (on 1-D samples) or a convolution that nothing else reads, it folds into
 * their weights: W' = a W row by row (output channel by output channel), b'
 * = a b + c, a bias created if the layer had none. Anywhere else it stays as
 * that affine map, its two vectors computed here (NAME.scale, NAME.shift).
 * Without values (nnc summary --inference) only the structure changes. */
static void fold_batch_norm(Graph *g, Node *bn) {
    Node *x = bn->in[0], *gamma = bn->in[1], *beta = bn->in[2];
    long ch = x->shape.dim[1];
    int have = bn->buf[0]->value != NULL;
    double *a = xalloc(sizeof(double) * ch), *c = xalloc(sizeof(double) * ch);  /* folded in double */
    float *af = have ? xalloc(sizeof(float) * ch) : NULL, *cf = have ? xalloc(sizeof(float) * ch) : NULL;
    for (long i = 0; have && i < ch; i++) {
        a[i] = (gamma ? gamma->value[i] : 1.0) / sqrt((double)bn->buf[1]->value[i] + bn->f[1]);
        c[i] = (beta ? beta->value[i] : 0.0) - bn->buf[0]->value[i] * a[i];
        af[i] = (float)a[i];
        cf[i] = (float)c[i];
    }
    for (int k = 0; k < 3; k++)
        bn->buf[k]->id = -1;
    if (gamma)
        gamma->id = -1;
    if (beta)
        beta->id = -1;
    ir_uses(g);
    int foldable = (x->op == OP_LINEAR && x->shape.ndim == 2) || x->op == OP_CONV2D;
    if (foldable && x->nuses == 1 && !x->act && x->in[1]->nuses == 1) {
        Node *w = x->in[1], *b = x->in[2];
        long per = node_numel(w) / ch;
        for (long o = 0; have && o < ch; o++)
            for (long j = 0; j < per; j++)
                w->value[o * per + j] = (float)(w->value[o * per + j] * a[o]);
        if (b) {
            for (long o = 0; have && o < ch; o++)
                b->value[o] = (float)(b->value[o] * a[o] + c[o]);
        } else {
            x->in[2] = new_param(g, w, fmt("%s.bias", x->layer), ch, cf);
        }
        bypass(g, bn, x);
        return;
    }
    bn->in[1] = new_param(g, bn, fmt("%s.scale", bn->layer), ch, af);
    bn->in[2] = new_param(g, bn, fmt("%s.shift", bn->layer), ch, cf);
    memset(bn->buf, 0, sizeof bn->buf);
}

void drop_dropout(Graph *g) {
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        if (n->op == OP_DROPOUT)
            bypass(g, n, n->in[0]);     /* the identity at inference */
    }
    compact(g);
}

void fold_norm(Graph *g, int in_ram) {
    int n0 = g->nodes.n;
    for (int i = 0; i < n0; i++) {
        Node *n = g->nodes.v[i];
        if (n->op == OP_BATCH_NORM) {
            if (in_ram)
                fatal("model %s: batch_normalization folds into the weights when they are baked in: use "
                      "--inference --weights W.safetensors instead of --weights-in-ram", g->spec->name);
            fold_batch_norm(g, n);
        }
    }
    compact(g);
}
