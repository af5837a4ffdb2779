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
    for (int i = 0; i < n; i++) {
        Node *p = g->params.v[i];
        p->value = buf + t[i].offset;
        for (long j = 0; j < node_numel(p); j++)
            if (!isfinite(p->value[j]))
                fatal("%s: tensor '%s' holds %g at index %ld: only finite weights can be baked in", path,
                      p->label, (double)p->value[j], j);
    }
    if (prep.kind != NNC_PRE_NONE)
        fold_preprocess(g, &prep);
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
