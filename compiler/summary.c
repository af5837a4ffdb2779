/* summary.c — the model described for people (nnc summary, a Keras-style
 * table with the bytes of every storage area) and for tools (--emit=json,
 * which the PyTorch oracle in tests/torch reads). Both read the checked Spec
 * and the planned graph; neither changes them. */
#include "nnc.h"
#include <string.h>

/* 1234567 -> "1,234,567" */
static const char *commas(long v) {
    char *s = fmt("%ld", v < 0 ? -v : v), *r = "";
    int n = (int)strlen(s);
    for (int i = 0; i < n; i++)
        r = fmt("%s%c%s", r, s[i], (n - i - 1) % 3 == 0 && i < n - 1 ? "," : "");
    return v < 0 ? fmt("-%s", r) : r;
}

static const char *bytes(long floats) {
    double b = 4.0 * floats;
    if (b < 1024)
        return fmt("%.0f B", b);
    if (b < 1024 * 1024)
        return fmt("%.1f KiB", b / 1024);
    return fmt("%.1f MiB", b / (1024 * 1024));
}

/* Keras's way of writing a batched shape: (None, 32) */
static const char *keras_shape(const Shape *s) {
    char *r = "(None";
    for (int i = 0; i < s->ndim; i++)
        r = fmt("%s, %ld", r, s->dim[i]);
    return fmt("%s)", r);
}

/* Values in the tensors of a layer the build holds: those lower.c made from
 * its parameter list (layer_params), after an inference build's folding (a
 * batch norm's go into the layer before it). */
static long layer_values(Graph *g, const char *layer) {
    long k = 0;
    for (int i = 0; i < g->params.n; i++) {
        Node *p = g->params.v[i];
        if (!strncmp(p->label, layer, strlen(layer)) && p->label[strlen(layer)] == '.')
            k += node_numel(p);
    }
    return k;
}

/* Multiply-accumulates per sample of the forward pass, as the op table
 * counts them (OPF_MACS_*): dense and conv2d C kh kw per output, a
 * recurrence W_hh h per step. */
static long macs(Graph *g) {
    long k = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        int f = op_flags(n->op);
        const Node *w = n->nin > 1 ? n->in[1] : NULL;
        if (n->phase != PH_FORWARD)
            continue;
        if (f & OPF_MACS_FAN_IN)
            k += node_row(n) * (node_numel(w) / w->shape.dim[0]);
        else if (f & OPF_MACS_FAN_IN_T)
            k += node_row(n) * w->shape.dim[0];
        else if (f & OPF_MACS_STEPS)
            k += node_row(n->in[0]) * w->shape.dim[1];
    }
    return k;
}

long graph_macs(Graph *g) { return macs(g); }

void summary(Graph *g, FILE *out) {
    const Spec *s = g->spec;
    /* Keras's "Connected to" column only for a graph: a stack's is obvious. */
    int graph = !is_stack(s);
    const char *rule = graph ? "--------------------------------------------------------------------------------------------"
                             : "----------------------------------------------------------------";
    fprintf(out, "Model: \"%s\"\n%s\n", s->name, rule);
    fprintf(out, "%-30s %-20s %12s%s\n", "Layer (type)", "Output Shape", "Param #", graph ? "  Connected to" : "");
    fprintf(out, "%s\n", rule);
    fprintf(out, "%-30s %-20s %12s%s\n", "input (input)", keras_shape(&s->input), "0", graph ? "  -" : "");
    long total = 0;
    for (int i = 0; i < s->nlayers; i++) {
        const Layer *l = &s->layers[i];
        long k = layer_values(g, l->name);
        total += k;
        const char *to = "";
        for (int j = 0; graph && j < l->nfrom; j++)
            to = fmt("%s%s%s[0][0]", to, j ? ", " : "  ", l->from[j] < 0 ? "input" : s->layers[l->from[j]].name);
        fprintf(out, "%-30s %-20s %12s%s\n", fmt("%s (%s)", l->name, l->c->e->name),
                keras_shape(&l->out), commas(k), to);
    }
    fprintf(out, "%s\n", rule);
    fprintf(out, "Total params: %s (%s)\n", commas(total), bytes(total));
    long buffers = 0;   /* batch norm's running statistics (and PyTorch's num_batches_tracked) */
    for (int i = 0; i < g->params.n; i++)
        if (((Node *)g->params.v[i])->buffer)
            buffers += node_numel(g->params.v[i]);
    fprintf(out, "Trainable params: %s\n", commas(total - buffers));
    fprintf(out, "Non-trainable params: %s\n", commas(buffers));
    fprintf(out, "MACs per sample: %s\n", commas(macs(g)));
    if (g->inference) {     /* the numbers the inference header states as macros */
        long a = g->area_size[A_ACT];
        fprintf(out, "Inference build at batch %d (nnc --inference):\n", g->batch);
        fprintf(out, "  arena (RAM)      %12ld bytes\n", 4 * (a ? a : 1));
        fprintf(out, "  weights (flash)  %12ld bytes\n", 4 * weight_floats(g));
        fprintf(out, "  MACs per sample  %12ld\n", macs(g));
        fprintf(out, "  stack (locals)   %12ld bytes\n", stack_bytes(g, 4));
        return;
    }
    long p = g->area_size[A_PARAM], st = g->area_size[A_STATE], a = g->area_size[A_ACT];
    fprintf(out, "Storage at batch %d (model struct, floats padded to 64 bytes per tensor):\n", g->batch);
    fprintf(out, "  parameters       %12s\n", bytes(p));
    fprintf(out, "  gradients        %12s\n", bytes(p));
    fprintf(out, "  optimizer state  %12s  (%s)\n", bytes(st), s->optimizer->e->name);
    fprintf(out, "  activations      %12s\n", bytes(a));
    fprintf(out, "  total            %12s\n", bytes(2 * p + st + a));
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++)
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", *s);
        else
            fputc(*s, out);
    fputc('"', out);
}

static void json_shape(FILE *out, const Shape *s) {
    fputc('[', out);
    for (int i = 0; i < s->ndim; i++)
        fprintf(out, "%s%ld", i ? "," : "", s->dim[i]);
    fputc(']', out);
}

static void json_call(FILE *out, const Call *c, int with_type);

static void json_arg(FILE *out, const ParamDef *d, const ArgVal *v) {
    if (d->dflt && !*d->dflt && !v->given && d->type != T_STR) {
        fputs("null", out);     /* optional and absent (clipnorm) */
        return;
    }
    switch (d->type) {
    case T_SCHEDULE:
        if (v->call)
            json_call(out, v->call, 1);
        else
            fprintf(out, "%.17g", v->num);
        break;
    case T_NUMBERS:
        if (v->str) {   /* fit(class_weight = balanced) */
            json_str(out, v->str);
            break;
        }
        fputc('[', out);
        for (int i = 0; i < v->nnums; i++)
            fprintf(out, "%s%.17g", i ? "," : "", v->nums[i]);
        fputc(']', out);
        break;
    case T_INT: fprintf(out, "%ld", (long)v->num); break;
    case T_FLOAT: fprintf(out, "%.17g", v->num); break;
    case T_BOOL: fputs(v->num ? "true" : "false", out); break;
    case T_STR:
    case T_NAME:
        if (v->str)
            json_str(out, v->str);
        else
            fputs("null", out);
        break;
    case T_SHAPE:
    case T_PAIR: json_shape(out, &v->shape); break;
    case T_PADDING:
        if (v->str)
            json_str(out, v->str);
        else
            json_shape(out, &v->shape);
        break;
    case T_ACTIVATION:
    case T_INITIALIZER:
    case T_LOSS:
    case T_OPTIMIZER:
    case T_PREPROCESS:
    case T_REGULARIZER:
    case T_CALLBACK:
    case T_METRIC:
    case T_LAYER:
        if (!v->call)
            fputs("null", out);
        else if (!v->call->e->params[0].name)
            json_str(out, v->call->e->name);
        else
            json_call(out, v->call, 1);
        break;
    }
}

/* A call's arguments as object members: "units":32,"activation":"relu" */
static void json_members(FILE *out, const Call *c) {
    for (int i = 0; i < MAX_PARAMS && c->e->params[i].name; i++) {
        if (!strcmp(c->e->params[i].name, "name"))
            continue;   /* layers print their resolved name themselves */
        fprintf(out, ",");
        json_str(out, c->e->params[i].name);
        fputc(':', out);
        json_arg(out, &c->e->params[i], &c->v[i]);
    }
}

static void json_call(FILE *out, const Call *c, int with_type) {
    fputs("{\"type\":", out);
    json_str(out, c->e->name);
    if (with_type)
        json_members(out, c);
    fputc('}', out);
}

void emit_json(Graph *g, FILE *out) {
    const Spec *s = g->spec;
    fputs("{\"name\":", out);
    json_str(out, s->name);
    fputs(",\"input\":", out);
    json_shape(out, &s->input);
    fputs(",\"layers\":[", out);
    for (int i = 0; i < s->nlayers; i++) {
        const Layer *l = &s->layers[i];
        const Call *c = l->c;
        fputs(i ? ",{" : "{", out);
        if (c->e->layer == L_ACTIVATION) {
            /* Standalone activations all read as Keras' Activation layer,
             * with their arguments if any: {"type":"leaky_relu","alpha":0.2}. */
            const Call *act = call_has(c, "activation") ? call_sub(c, "activation") : c;
            fputs("\"type\":\"activation\",\"activation\":", out);
            if (act->e->params[0].name && strcmp(act->e->params[0].name, "name"))
                json_call(out, act, 1);
            else
                json_str(out, act->e->name);
        } else {
            fputs("\"type\":", out);
            json_str(out, c->e->name);
            json_members(out, c);
        }
        if (layer_flags(c->e->layer) & LF_WINDOW) {
            /* The window as resolved: same padding worked out for this input;
             * 1-D layers as images of height 1. */
            int w[WIN_SLOTS];
            layer_window(l, w);
            int one = l->in.ndim == 2;
            long ih = one ? 1 : l->in.dim[1], iw = l->in.dim[l->in.ndim - 1];
            long oh = c->e->layer == L_GLOBAL_POOL || one ? 1 : l->out.dim[1];
            long ow = c->e->layer == L_GLOBAL_POOL ? 1 : l->out.dim[l->out.ndim - 1];
            long pb = (oh - 1) * w[WIN_SH] + w[WIN_DH] * (w[WIN_KH] - 1) + 1 - ih - w[WIN_PT];
            long pr = (ow - 1) * w[WIN_SW] + w[WIN_DW] * (w[WIN_KW] - 1) + 1 - iw - w[WIN_PL];
            fprintf(out, ",\"window\":{\"kernel\":[%d,%d],\"stride\":[%d,%d],\"pad\":[%d,%d,%ld,%ld],"
                    "\"dilation\":[%d,%d],\"groups\":%d}",
                    w[WIN_KH], w[WIN_KW], w[WIN_SH], w[WIN_SW], w[WIN_PT], w[WIN_PL], pb < 0 ? 0 : pb,
                    pr < 0 ? 0 : pr, w[WIN_DH], w[WIN_DW], w[WIN_G]);
        }
        fputs(",\"name\":", out);
        json_str(out, l->name);
        if (!is_stack(s)) {     /* a graph: the outputs each layer reads */
            fputs(",\"inputs\":[", out);
            for (int j = 0; j < l->nfrom; j++) {
                fputs(j ? "," : "", out);
                json_str(out, l->from[j] < 0 ? "input" : s->layers[l->from[j]].name);
            }
            fputc(']', out);
        }
        fputs(",\"input_shape\":", out);
        json_shape(out, &l->in);
        fputs(",\"output_shape\":", out);
        json_shape(out, &l->out);
        fputc('}', out);
    }
    fputs("],\"loss\":", out);
    json_call(out, s->loss, 1);
    fputs(",\"optimizer\":", out);
    json_call(out, s->optimizer, 1);
    fputs(",\"fit\":{", out);
    for (int i = 0; i < MAX_PARAMS && s->fit->e->params[i].name; i++) {
        fprintf(out, "%s", i ? "," : "");
        json_str(out, s->fit->e->params[i].name);
        fputc(':', out);
        json_arg(out, &s->fit->e->params[i], &s->fit->v[i]);
    }
    fprintf(out, ",\"batch_size_compiled\":%d}", g->batch);
    fputs(",\"data\":{", out);
    const char *keys[] = {"train", "test"};
    for (int k = 0; k < 2; k++) {
        const char *p = s->data && call_has(s->data, keys[k]) ? call_str(s->data, keys[k]) : NULL;
        fprintf(out, "%s\"%s\":", k ? "," : "", keys[k]);
        if (p)
            json_str(out, p[0] == '/' ? p : fmt("%s/%s", s->dir, p));
        else
            fputs("null", out);
    }
    fputs("},\"preprocess\":", out);
    json_str(out, s->preprocess->e->name);
    if (s->ncallbacks) {    /* only when written, so older readers see no change */
        fputs(",\"callbacks\":[", out);
        for (int i = 0; i < s->ncallbacks; i++) {
            fputs(i ? "," : "", out);
            json_call(out, s->callbacks[i], 1);
        }
        fputc(']', out);
    }
    if (s->nmetrics) {      /* likewise */
        fputs(",\"metrics\":[", out);
        for (int i = 0; i < s->nmetrics; i++) {
            fputs(i ? "," : "", out);
            json_call(out, s->metrics[i], 1);
        }
        fputc(']', out);
    }
    fputs(",\"params\":[", out);
    for (int i = 0; i < g->params.n; i++) {
        Node *p = g->params.v[i];
        fputs(i ? ",{\"name\":" : "{\"name\":", out);
        json_str(out, p->label);
        fputs(",\"shape\":", out);
        json_shape(out, &p->shape);
        if (p->buffer)
            fputs(",\"buffer\":true", out);
        fputc('}', out);
    }
    fputs("]}\n", out);
}
