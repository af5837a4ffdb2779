/* layers.c — the layer table's rules (layers.h) for the checker: each kind's
 * shape rule, the per-sample output shape from the input with located errors
 * where it cannot be made, and its parameter rule, the tensors it owns with
 * PyTorch's names and shapes, which lower.c, the memory bound and nnc summary
 * read. Also the windows of convolution and pooling layers. Every size is
 * computed in 64 bits or floating point and kept under the size limit, so
 * nothing accepted here overflows the generated code's ints. */
#include "nnc.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- shapes, sizes ---------------------------------------------------------------- */

long shape_numel(const Shape *s) {
    long n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->dim[i] <= 0 || n > LONG_MAX / s->dim[i])
            internal_error("shape %s overflows", shape_str(s));
        n *= s->dim[i];
    }
    return n;
}

char *shape_str(const Shape *s) {
    char *r = "[";
    for (int i = 0; i < s->ndim; i++)
        r = fmt("%s%s%ld", r, i ? ", " : "", s->dim[i]);
    return fmt("%s]", r);
}

/* A count of values, exact unless it is absurd. */
char *count_str(double n) {
    return n < 1e15 ? fmt("%.0f", n) : fmt("%.3g", n);
}

char *size_str(double bytes) {
    static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    return fmt("%.1f %s", v, unit[u]);
}

/* Values in a shape, in floating point so no product can overflow. */
double shape_values(const Shape *s) {
    double n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (double)s->dim[i];
    return n;
}

static int shape_numel_ok(const Shape *s) {
    return shape_values(s) * FLOAT_BYTES < NNC_MAX_BYTES;
}

/* ---- windows: conv2d and pooling ------------------------------------------- */

/* Keras' same: output ceil(n / s), total padding max((out - 1) s + e - n, 0)
 * for a window spanning e = d (f - 1) + 1, of which the smaller half goes
 * first (TensorFlow pads more at the end). */
static void same_pad(long n, long e, int s, int *before) {
    if (s < 1) {    /* a stride of 0 is reported by window_shape */
        *before = 0;
        return;
    }
    /* In floating point: e and (out - 1) s may each be near 2^62. A padding
     * past INT_MAX is kept at INT_MAX; window_shape refuses it. */
    double out = (double)((n + s - 1) / s), total = (out - 1) * s + (double)e - (double)n;
    *before = total <= 0 ? 0 : total / 2 >= INT_MAX ? INT_MAX : (int)(total / 2);
}

/* 1-D layers (conv1d, *_pooling1d) work on [C, L]: an image of height 1. */
static int window_rank(const Layer *l) { return strstr(l->c->e->name, "1d") ? 1 : 2; }

/* An integer or pair argument along axis a (0: height, 1: width); a 1-D
 * layer's height takes `flat`. */
static int win_arg(const Layer *l, const char *param, int a, int flat) {
    const ArgVal *v = call_arg(l->c, param);
    if (window_rank(l) == 1 && a == 0)
        return flat;
    return v->shape.ndim ? (int)v->shape.dim[a] : (int)v->num;
}

void layer_window(const Layer *l, int win[WIN_SLOTS]) {
    int conv = layer_flags(l->c->e->layer) & LF_CONV, rank = window_rank(l);
    memset(win, 0, sizeof(int) * WIN_SLOTS);
    win[WIN_DH] = win[WIN_DW] = win[WIN_G] = 1;
    win[WIN_SH] = win[WIN_SW] = 1;
    if (l->c->e->layer == L_GLOBAL_POOL) {    /* one window over the whole input */
        win[WIN_KH] = rank == 1 ? 1 : (int)l->in.dim[1];
        win[WIN_KW] = (int)l->in.dim[rank];
        return;
    }
    const char *kname = conv ? "kernel_size" : "pool_size";
    const char *sname = call_arg(l->c, "strides")->given || conv ? "strides" : kname;  /* pooling: strides = pool_size */
    for (int a = 0; a < 2; a++) {
        win[WIN_KH + a] = win_arg(l, kname, a, 1);
        win[WIN_SH + a] = win_arg(l, sname, a, 1);
        if (call_has(l->c, "dilation_rate"))
            win[WIN_DH + a] = win_arg(l, "dilation_rate", a, 1);
    }
    if (call_has(l->c, "groups"))
        win[WIN_G] = (int)call_num(l->c, "groups");
    if (call_has(l->c, "depth_multiplier"))
        win[WIN_G] = (int)l->in.dim[0];
    const ArgVal *p = call_arg(l->c, "padding");
    for (int a = 2 - rank; a < 2; a++) {
        long e = (long)win[WIN_DH + a] * (win[WIN_KH + a] - 1) + 1;
        if (p->str && !strcmp(p->str, "same"))
            same_pad(l->in.dim[a + rank - 1], e, win[WIN_SH + a], &win[WIN_PT + a]);
        else if (!p->str)
            win[WIN_PT + a] = (int)p->shape.dim[a];
    }
}

/* The output channels of a convolution: filters, or depth_multiplier per
 * input channel (depthwise_conv2d). */
static long conv_filters(const Layer *l) {
    if (call_has(l->c, "filters"))
        return (long)call_num(l->c, "filters");
    return l->in.dim[0] * (long)call_num(l->c, "depth_multiplier");
}

/* An image input [H, W, C] as Keras writes it (a few channels last, many
 * "channels" first) read as nnc's [C, H, W]: say so, since with padding =
 * same such a model builds, but not the model meant. 1 if hinted. */
static int channels_last_hint(const Layer *l) {
    const Shape *in = &l->in;
    if (in->ndim != 3 || in->dim[2] > 4 || in->dim[0] <= 4 || in->dim[1] <= 4)
        return 0;
    hint("nnc images are channels first [C, H, W]: input %s reads as %ld channels of %ldx%ld; "
         "a Keras [H, W, C] image is input [%ld, %ld, %ld]", shape_str(in), in->dim[0], in->dim[1], in->dim[2],
         in->dim[2], in->dim[0], in->dim[1]);
    return 1;
}

/* [C, H, W] -> [filters or C, H', W'] with H' = (H + 2p - d (f - 1) - 1) / s + 1,
 * the failing arithmetic shown when it does not give a size >= 1; [C, L]
 * likewise for 1-D layers. Global pooling: [C, ...] -> [C]. */
static int window_shape(const Layer *l, Shape *cur) {
    int conv = layer_flags(l->c->e->layer) & LF_CONV, rank = window_rank(l);
    const char *kname = conv ? "kernel_size" : "pool_size";
    if (cur->ndim != rank + 1) {
        error_at(l->loc, "%s needs %s, but its input is %s", l->c->e->name,
                 rank == 1 ? "a sequence [C, L]" : "an image [C, H, W]", shape_str(cur));
        if (rank == 2)
            hint(cur->ndim == 2 ? "add the channel axis: input [1, %ld, %ld]" : "images are channels first, as in "
                 "input [1, 28, 28]", cur->dim[0], cur->dim[1]);
        else
            hint(cur->ndim == 1 ? "add the channel axis: input [1, %ld]" : "sequences are channels first, as in "
                 "input [1, 100]", cur->dim[0]);
        return 0;
    }
    if (l->c->e->layer == L_GLOBAL_POOL) {
        cur->ndim = 1;
        return 1;
    }
    int w[WIN_SLOTS];
    layer_window(l, w);
    if (conv) {
        long c = cur->dim[0], f = conv_filters(l);
        int g = w[WIN_G];
        if (call_has(l->c, "groups") && g > 1 && (c % g || f % g)) {
            const ArgVal *ga = call_arg(l->c, "groups");
            error_at(ga->loc, "groups = %d of layer '%s' must divide its input channels and filters: "
                     "%ld %% %d = %ld, %ld %% %d = %ld", g, l->name, c, g, c % g, f, g, f % g);
            hint("each group convolves C / groups input channels into filters / groups outputs");
            return 0;
        }
    }
    const ArgVal *p = call_arg(l->c, "padding");
    if (rank == 1 && !p->str && p->shape.dim[0] != p->shape.dim[1]) {
        error_at(p->loc, "padding of the 1-D layer '%s' must be valid, same or one integer", l->name);
        return 0;
    }
    static const char *const axis[] = {"height", "width"};
    Shape padded = *cur;
    for (int a = 2 - rank; a < 2; a++) {
        const char *an = rank == 1 ? "length" : axis[a];
        long n = cur->dim[a + rank - 1];
        int f = w[WIN_KH + a], s = w[WIN_SH + a], d = w[WIN_DH + a];
        long span = (long)d * (f - 1) + 1;
        long out;
        if (s == 0) {
            const ArgVal *sa = call_arg(l->c, "strides");
            error_at(sa->loc, "strides of layer '%s' must be >= 1, got 0 for the %s", l->name, an);
            note_at(l->loc, "output %s = (n + 2p - d(f - 1) - 1) / s + 1 = (%ld + 2p - %ld) / 0 + 1 divides by zero",
                    an, n, span);
            return 0;
        }
        if (p->str && !strcmp(p->str, "same")) {
            out = (n + s - 1) / s;
        } else {
            long pad = p->str ? 0 : p->shape.dim[a];
            out = (n + 2 * pad - span) / s + 1;
            if (n + 2 * pad - span < 0) {
                const ArgVal *k = call_arg(l->c, kname);
                if (d > 1) {
                    error_at(k->loc, "%s %d dilated by %d spans %ld, larger than the %s of the input %s of "
                             "layer '%s': %ld + 2*%ld = %ld < %ld", kname, f, d, span, an, shape_str(&l->in), l->name,
                             n, pad, n + 2 * pad, span);
                    note_at(l->loc, "output %s = (n + 2p - d(f - 1) - 1) / s + 1 = (%ld + 2*%ld - %d*(%d - 1) - 1)"
                            " / %d + 1 < 1", an, n, pad, d, f, s);
                    hint("use a smaller %s or dilation_rate, padding = same, or a larger input", kname);
                } else {
                    error_at(k->loc, "%s %d of layer '%s' is larger than its input %s: %s %ld + 2*%ld = %ld < %d",
                             kname, f, l->name, shape_str(&l->in), an, n, pad, n + 2 * pad, f);
                    note_at(l->loc, "output %s = (n + 2p - f) / s + 1 = (%ld + 2*%ld - %d) / %d + 1 < 1",
                            an, n, pad, f, s);
                    if (!channels_last_hint(l))
                        hint("use a smaller %s, padding = same, or a larger input", kname);
                }
                return 0;
            }
        }
        if (!conv && !p->str && p->shape.dim[a] * 2 > f) {
            error_at(p->loc, "padding %ld is more than half of pool size %d", p->shape.dim[a], f);
            hint("pooling pads at most half a window on each side, as PyTorch");
            return 0;
        }
        cur->dim[a + rank - 1] = out;
        /* The input as the convolution reads it, padded on both sides (the
         * bottom or right by what the last window needs). */
        double before = p->str && !strcmp(p->str, "same") ? w[WIN_PT + a] : p->str ? 0 : (double)p->shape.dim[a];
        double after = (double)(out - 1) * s + (double)span - (double)n - before;
        padded.dim[a + rank - 1] = (long)fmin(n + before + (after > 0 ? after : 0), 1e18);
    }
    /* A convolution's padded planes are the generated code's working space,
     * a window's loops run over the padded input, and their indices are C
     * ints: the padded input stays under the size limit as every value does. */
    if (!shape_numel_ok(&padded)) {
        error_at(l->loc, "layer '%s' pads its input %s to %s, %s values per sample (%s), over the 2 GiB limit",
                 l->name, shape_str(&l->in), shape_str(&padded), count_str(shape_values(&padded)),
                 size_str(shape_values(&padded) * FLOAT_BYTES));
        hint("use a smaller %s%s or padding", kname, conv ? ", dilation_rate" : "");
        return 0;
    }
    if (conv)
        cur->dim[0] = conv_filters(l);
    return 1;
}

/* flatten: one axis; reshape: the given shape, with as many values. */
static int reshape_shape(const Layer *l, Shape *cur) {
    double n = shape_values(cur);
    if (!call_has(l->c, "shape")) {
        *cur = (Shape){.ndim = 1, .dim = {(long)n}};
        return 1;
    }
    const ArgVal *s = call_arg(l->c, "shape");
    if (shape_values(&s->shape) != n) {
        error_at(s->loc, "reshape to %s (%.0f values) from %s (%.0f values)", shape_str(&s->shape),
                 shape_values(&s->shape), shape_str(cur), n);
        hint("the new shape must hold the same number of values per sample");
        return 0;
    }
    *cur = s->shape;
    return 1;
}

/* ---- recurrent layers -------------------------------------------------------- */

static int is_recurrent(const Layer *l) { return layer_flags(l->c->e->layer) & LF_RECURRENT; }

/* A recurrent layer's activations are applied inside the recurrence, one
 * value at a time, and differentiated through their outputs (the cache
 * keeps outputs, not inputs): softmax works on rows, gelu and silu need
 * their inputs, step has no gradient. */
static int check_cell_activation(const Layer *l, const char *param) {
    if (!call_has(l->c, param))
        return 1;
    const ArgVal *a = call_arg(l->c, param);
    int op = a->call->e->op, f = op_flags((Op)op);
    if (op == OP_NONE || ((f & OPF_ELEMENTWISE) && (f & OPF_GRAD_Y) && op != OP_STEP))
        return 1;
    error_at(a->loc, "%s cannot be the %s of a recurrent layer", a->call->e->name, param);
    hint("%s", op == OP_SOFTMAX || op == OP_LOG_SOFTMAX ? "it works on whole rows; recurrent cells apply "
         "their activations to one value at a time"
         : op == OP_STEP ? "step has no useful gradient; use sigmoid or hard_sigmoid"
         : "its gradient needs its input, which the recurrence does not keep; use tanh, sigmoid, relu, elu, ...");
    return 0;
}

/* [T, F] -> [T, units] with return_sequences, else [units]. prev: the layer
 * before, or NULL. */
static int recurrent_shape(const Layer *l, const Layer *prev, Shape *cur) {
    if (cur->ndim != 2) {
        error_at(l->loc, "%s needs a sequence [T, F] (steps, features), but its input is %s", l->c->e->name,
                 shape_str(cur));
        long last = cur->dim[cur->ndim - 1];
        if (prev && is_recurrent(prev))
            hint("layer '%s' outputs only its last step; give it return_sequences = true to pass on every step",
                 prev->name);
        else if (cur->ndim == 1)
            hint("declare the input as steps of features, e.g. input [%ld, 1] for %ld steps of 1 value",
                 last, last);
        else
            hint("reshape it to steps of features first, e.g. reshape([%.0f, %ld])", shape_values(cur) / (double)last,
                 last);
        return 0;
    }
    if (!check_cell_activation(l, "activation") || !check_cell_activation(l, "recurrent_activation"))
        return 0;
    long units = (long)call_num(l->c, "units");
    if (call_num(l->c, "return_sequences"))
        cur->dim[1] = units;
    else
        *cur = (Shape){.ndim = 1, .dim = {units}};
    return 1;
}

/* ---- sequence helpers: repeat_vector, time_distributed, embedding ----------- */

/* repeat_vector: [F] -> [n, F]. */
static int repeat_shape(const Layer *l, Shape *cur) {
    if (cur->ndim != 1) {
        error_at(l->loc, "repeat_vector repeats a vector [F], but its input is %s", shape_str(cur));
        hint("flatten it first, or end the recurrent layer before without return_sequences");
        return 0;
    }
    *cur = (Shape){.ndim = 2, .dim = {(long)call_num(l->c, "n"), cur->dim[0]}};
    return 1;
}

/* time_distributed(dense(...)) on [T, F]: dense on the last axis of every
 * step. Its parameters take the outer layer's name, so the inner one has none. */
static int time_distributed_shape(const Layer *l, Shape *cur) {
    const ArgVal *a = call_arg(l->c, "layer");
    const Call *in = a->call;
    if (in->e->layer != L_DENSE) {
        error_at(a->loc, "time_distributed applies dense layers only, not %s", in->e->name);
        hint("write time_distributed(dense(units)); other layers are used directly");
        return 0;
    }
    if (call_arg(in, "name")->given) {
        error_at(call_arg(in, "name")->loc, "the layer inside time_distributed takes the outer layer's name");
        hint("name the time_distributed layer: time_distributed(dense(...), name = \"%s\")",
             call_str(in, "name"));
        return 0;
    }
    if (cur->ndim < 2) {
        error_at(l->loc, "time_distributed needs a sequence [T, F] (steps, features), but its input is %s",
                 shape_str(cur));
        hint("on a vector use dense itself");
        return 0;
    }
    cur->dim[cur->ndim - 1] = (long)call_num(in, "units");
    return 1;
}

/* embedding: token ids [T] -> [T, output_dim]. Only the model's input holds
 * ids (the runtime checks each is an integer in [0, input_dim)), and scaling
 * would change them. */
static int embedding_shape(const Spec *spec, const Layer *l, int first, Shape *cur) {
    if (!first) {
        error_at(l->loc, "embedding reads token ids from the input, so it must be the first layer");
        hint("move it right after the input statement");
        return 0;
    }
    if (cur->ndim != 1) {
        error_at(l->loc, "embedding reads a sequence of token ids [T], but the input is %s", shape_str(cur));
        hint("declare input [%.0f]: one id per step", shape_values(cur));
        return 0;
    }
    if (strcmp(spec->preprocess->e->name, "none")) {
        error_at(spec->preprocess->loc, "preprocess %s would change the token ids embedding reads",
                 spec->preprocess->e->name);
        hint("drop the preprocess statement");
        return 0;
    }
    if (spec->data && call_arg(spec->data, "scale")->given && call_num(spec->data, "scale") != 1) {
        error_at(call_arg(spec->data, "scale")->loc, "scale would change the token ids embedding reads");
        hint("drop scale from data(...)");
        return 0;
    }
    cur->ndim = 2;
    cur->dim[1] = (long)call_num(l->c, "output_dim");
    return 1;
}

/* ---- the layer table: shape rules --------------------------------------- */

/* Each takes the layer i of spec and its input shape in cur, makes cur its
 * output shape and returns 1, or reports an error and returns 0. */

/* dense, maxout: on the last axis. */
static int shape_units(const Spec *spec, int i, Shape *cur) {
    cur->dim[cur->ndim - 1] = (long)call_num(spec->layers[i].c, "units");
    return 1;
}

/* activations, dropout, normalization: the same shape. */
static int shape_keep(const Spec *spec, int i, Shape *cur) {
    (void)spec, (void)i, (void)cur;
    return 1;
}

static int shape_window(const Spec *spec, int i, Shape *cur) { return window_shape(&spec->layers[i], cur); }

static int shape_reshape(const Spec *spec, int i, Shape *cur) { return reshape_shape(&spec->layers[i], cur); }

static int shape_recurrent(const Spec *spec, int i, Shape *cur) {
    const Layer *l = &spec->layers[i];
    return recurrent_shape(l, l->from[0] >= 0 ? &spec->layers[l->from[0]] : NULL, cur);
}

static int shape_repeat(const Spec *spec, int i, Shape *cur) { return repeat_shape(&spec->layers[i], cur); }

static int shape_time_distributed(const Spec *spec, int i, Shape *cur) {
    return time_distributed_shape(&spec->layers[i], cur);
}

static int shape_merge(const Spec *spec, int i, Shape *cur) { return merge_shape(spec, i, cur); }

/* bidirectional: the inner recurrent layer's shape, twice the features if
 * the directions are concatenated. */
static int shape_bidirectional(const Spec *spec, int i, Shape *cur) {
    const Layer *l = &spec->layers[i];
    const ArgVal *a = call_arg(l->c, "layer");
    const char *mode = call_str(l->c, "merge_mode");
    if (!(layer_flags(a->call->e->layer) & LF_RECURRENT)) {
        error_at(a->loc, "bidirectional runs a recurrent layer both ways, not %s", a->call->e->name);
        hint("for example: bidirectional(lstm(32))");
        return 0;
    }
    if (call_arg(a->call, "name")->given) {
        error_at(call_arg(a->call, "name")->loc, "the layer inside bidirectional takes the outer layer's name");
        hint("name the bidirectional layer: bidirectional(%s(...), name = \"%s\")", a->call->e->name,
             call_str(a->call, "name"));
        return 0;
    }
    if (strcmp(mode, "concat") && strcmp(mode, "sum") && strcmp(mode, "mul") && strcmp(mode, "ave")) {
        error_at(call_arg(l->c, "merge_mode")->loc, "merge_mode is concat, sum, mul or ave, not '%s'", mode);
        return 0;
    }
    Layer inner = *l;
    inner.c = a->call;
    if (!recurrent_shape(&inner, l->from[0] >= 0 ? &spec->layers[l->from[0]] : NULL, cur))
        return 0;
    if (!strcmp(mode, "concat"))
        cur->dim[cur->ndim - 1] *= 2;
    return 1;
}

static int shape_embedding(const Spec *spec, int i, Shape *cur) {
    return embedding_shape(spec, &spec->layers[i], spec->layers[i].from[0] < 0, cur);
}

typedef int LayerShapeRule(const Spec *spec, int i, Shape *cur);

static LayerShapeRule *const shape_rules[L_COUNT] = {
#define LAYER(kind, facts, shape, params, lower) [L_##kind] = shape,
#include "layers.h"
#undef LAYER
};

static const int layer_facts[L_COUNT] = {
#define LAYER(kind, facts, shape, params, lower) [L_##kind] = facts,
#include "layers.h"
#undef LAYER
};

int layer_flags(LayerKind k) { return layer_facts[k]; }

/* Per-sample shapes through every layer, stopping at the first too big. */
int infer_shapes(Spec *spec, Loc input_loc) {
    Shape cur = spec->input;
    if (shape_numel_ok(&cur) == 0) {
        error_at(input_loc, "input %s has %s values per sample (%s), over the 2 GiB limit",
                 shape_str(&cur), count_str(shape_values(&cur)), size_str(shape_values(&cur) * FLOAT_BYTES));
        return 0;
    }
    for (int i = 0; i < spec->nlayers; i++) {
        Layer *l = &spec->layers[i];
        if (l->nfrom)   /* the output it reads (graph.c) */
            cur = l->from[0] < 0 ? spec->input : spec->layers[l->from[0]].out;
        l->in = cur;
        if (!shape_rules[l->c->e->layer](spec, i, &cur))
            return 0;
        l->out = cur;
        if (!shape_numel_ok(&cur)) {
            error_at(l->loc, "layer '%s' outputs %s, %s values per sample (%s), over the 2 GiB limit",
                     l->name, shape_str(&cur), count_str(shape_values(&cur)), size_str(shape_values(&cur) * FLOAT_BYTES));
            return 0;
        }
    }
    return 1;
}

/* ---- the layer table: parameter rules ------------------------------------ */

/* Each lists the tensors of layer l in PyTorch's state_dict order and
 * returns their number. */

static int param_at(LayerParam *p, const char *name, Shape shape, const Call *init, const Call *reg) {
    *p = (LayerParam){name, shape, init, reg, 0};
    return 1;
}

static int params_none(const Layer *l, LayerParam *p) {
    (void)l, (void)p;
    return 0;
}

/* A weight of shape ws and, with use_bias, a bias [ws.dim[0]], with the
 * initializers and regularizers call c names (Keras names
 * depthwise_conv2d's kernel depthwise_). */
static int kernel_params(const Call *c, Shape ws, LayerParam *p) {
    Shape bs = {.ndim = 1, .dim = {ws.dim[0]}};
    int dw = call_has(c, "depthwise_initializer"), n = 0;
    n += param_at(&p[n], "weight", ws, call_sub(c, dw ? "depthwise_initializer" : "kernel_initializer"),
                  call_arg(c, dw ? "depthwise_regularizer" : "kernel_regularizer")->call);
    if (call_num(c, "use_bias"))
        n += param_at(&p[n], "bias", bs, call_sub(c, "bias_initializer"), call_arg(c, "bias_regularizer")->call);
    return n;
}

/* dense: torch.nn.Linear's weight [units, in] and bias [units]. */
static int params_dense(const Layer *l, LayerParam *p) {
    Shape ws = {.ndim = 2, .dim = {(long)call_num(l->c, "units"), l->in.dim[l->in.ndim - 1]}};
    return kernel_params(l->c, ws, p);
}

/* maxout: as torch.nn.Linear(in, units * pieces). */
static int params_maxout(const Layer *l, LayerParam *p) {
    long units = (long)call_num(l->c, "units"), pieces = (long)call_num(l->c, "pieces");
    Shape ws = {.ndim = 2, .dim = {units * pieces, l->in.dim[l->in.ndim - 1]}};
    return kernel_params(l->c, ws, p);
}

/* conv2d: PyTorch's weight [filters, C / groups, kh, kw] and bias [filters];
 * conv1d: [filters, C / groups, k]; depthwise_conv2d: Conv2d with groups = C,
 * weight [C * depth_multiplier, 1, kh, kw]. */
static int params_conv(const Layer *l, LayerParam *p) {
    int win[WIN_SLOTS];
    layer_window(l, win);
    long f = conv_filters(l), c = l->in.dim[0] / win[WIN_G];
    Shape ws = {.ndim = 4, .dim = {f, c, win[WIN_KH], win[WIN_KW]}};
    if (l->in.ndim == 2)
        ws = (Shape){.ndim = 3, .dim = {f, c, win[WIN_KW]}};
    return kernel_params(l->c, ws, p);
}

/* separable_conv2d: a depthwise Conv2d without bias [C dm, 1, kh, kw], then
 * a 1x1 Conv2d [filters, C dm, 1, 1] with the bias, named as the PyTorch
 * module holding the two, depthwise and pointwise, names them. */
static int params_separable(const Layer *l, LayerParam *p) {
    int win[WIN_SLOTS], n = 0;
    layer_window(l, win);
    long mid = l->in.dim[0] * (long)call_num(l->c, "depth_multiplier"), f = conv_filters(l);
    Shape dws = {.ndim = 4, .dim = {mid, 1, win[WIN_KH], win[WIN_KW]}}, pws = {.ndim = 4, .dim = {f, mid, 1, 1}};
    Shape bs = {.ndim = 1, .dim = {f}};
    n += param_at(&p[n], "depthwise.weight", dws, call_sub(l->c, "depthwise_initializer"),
                  call_arg(l->c, "depthwise_regularizer")->call);
    n += param_at(&p[n], "pointwise.weight", pws, call_sub(l->c, "pointwise_initializer"),
                  call_arg(l->c, "pointwise_regularizer")->call);
    if (call_num(l->c, "use_bias"))
        n += param_at(&p[n], "pointwise.bias", bs, call_sub(l->c, "bias_initializer"),
                      call_arg(l->c, "bias_regularizer")->call);
    return n;
}

/* gamma (PyTorch's weight) and beta (bias) of a normalization layer, each
 * only if scale / center asks for it; ch of them. */
static int affine_params(const Layer *l, long ch, LayerParam *p) {
    Shape cs = {.ndim = 1, .dim = {ch}};
    int n = 0;
    if (call_num(l->c, "scale"))
        n += param_at(&p[n], "weight", cs, call_sub(l->c, "gamma_initializer"), NULL);
    if (call_num(l->c, "center"))
        n += param_at(&p[n], "bias", cs, call_sub(l->c, "beta_initializer"), NULL);
    return n;
}

/* batch_normalization: per channel (axis 1), then PyTorch's buffers; its
 * num_batches_tracked is a 0-dimensional tensor (saved as int64). */
static int params_batch_norm(const Layer *l, LayerParam *p) {
    static Call zeros;
    zeros.e = catalog_find("zeros", K_INITIALIZER);
    long ch = l->in.dim[0];
    Shape cs = {.ndim = 1, .dim = {ch}}, scalar = {.ndim = 0};
    int n = affine_params(l, ch, p);
    n += param_at(&p[n], "running_mean", cs, call_sub(l->c, "moving_mean_initializer"), NULL);
    n += param_at(&p[n], "running_var", cs, call_sub(l->c, "moving_variance_initializer"), NULL);
    n += param_at(&p[n], "num_batches_tracked", scalar, &zeros, NULL);
    for (int k = n - 3; k < n; k++)
        p[k].buffer = 1;
    return n;
}

/* layer_normalization: torch.nn.LayerNorm(last dim). */
static int params_layer_norm(const Layer *l, LayerParam *p) {
    return affine_params(l, l->in.dim[l->in.ndim - 1], p);
}

/* torch.nn.RNN / LSTM / GRU, one layer: weight_ih_l0 [G units, F],
 * weight_hh_l0 [G units, units], bias_ih_l0 and bias_hh_l0 [G units], G the
 * cell's gates (layers.h) in PyTorch's order. */
static int params_recurrent(const Layer *l, LayerParam *p) {
    long g = LF_GATES_OF(layer_flags(l->c->e->layer)), units = (long)call_num(l->c, "units");
    Shape wi = {.ndim = 2, .dim = {g * units, l->in.dim[1]}}, wh = {.ndim = 2, .dim = {g * units, units}};
    Shape bs = {.ndim = 1, .dim = {g * units}};
    const Call *binit = call_sub(l->c, "bias_initializer");
    int n = 0;
    n += param_at(&p[n], "weight_ih_l0", wi, call_sub(l->c, "kernel_initializer"), NULL);
    n += param_at(&p[n], "weight_hh_l0", wh, call_sub(l->c, "recurrent_initializer"), NULL);
    if (call_num(l->c, "use_bias")) {
        n += param_at(&p[n], "bias_ih_l0", bs, binit, NULL);
        n += param_at(&p[n], "bias_hh_l0", bs, binit, NULL);
    }
    return n;
}

/* time_distributed(dense(...)): the inner dense's, under the outer name. */
static int params_time_distributed(const Layer *l, LayerParam *p) {
    Layer inner = *l;
    inner.c = call_sub(l->c, "layer");
    return params_dense(&inner, p);
}

/* bidirectional: the inner layer's tensors, then the same again for the
 * reverse direction with PyTorch's suffix. */
static int params_bidirectional(const Layer *l, LayerParam *p) {
    Layer inner = *l;
    inner.c = call_sub(l->c, "layer");
    int n = params_recurrent(&inner, p);
    for (int k = 0; k < n; k++) {
        p[n + k] = p[k];
        p[n + k].name = fmt("%s_reverse", p[k].name);
    }
    return 2 * n;
}

/* embedding: torch.nn.Embedding's weight [input_dim, output_dim]. */
static int params_embedding(const Layer *l, LayerParam *p) {
    Shape ws = {.ndim = 2, .dim = {(long)call_num(l->c, "input_dim"), (long)call_num(l->c, "output_dim")}};
    return param_at(p, "weight", ws, call_sub(l->c, "embeddings_initializer"), NULL);
}

typedef int LayerParamRule(const Layer *l, LayerParam *p);

static LayerParamRule *const param_rules[L_COUNT] = {
#define LAYER(kind, facts, shape, params, lower) [L_##kind] = params,
#include "layers.h"
#undef LAYER
};

int layer_params(const Layer *l, LayerParam p[MAX_LAYER_PARAMS]) { return param_rules[l->c->e->layer](l, p); }
