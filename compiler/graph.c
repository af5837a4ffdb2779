/* graph.c — the layers as a graph. Every layer's output has a name (given,
 * or Keras's default: conv2d_1) and the sample input is `input`; a layer
 * reads the line before it unless it says `input = NAME`, and a merge
 * (add(a, b), concatenate(a, b, axis = 0), ...) reads the outputs it names.
 * Names refer to layers written earlier, so the graph has no cycle and the
 * order written is an order to compute in. This file takes the names out of
 * the calls, resolves them (Layer.from) and gives merges their shapes; a
 * model that names nothing is the plain stack it always was. */
#include "nnc.h"

#include <string.h>

static int is_merge(const Entry *e) { return e->layer == L_MERGE || e->layer == L_CONCATENATE; }

/* A name as an operand: an identifier or a string. */
static int operand(const Value *v, const char *what) {
    if (v->kind == V_IDENT || v->kind == V_STR)
        return 1;
    error_at(v->loc, "%s names a layer's output, as an identifier or a string", what);
    hint("for example: input = stem, or add(stem, b)");
    return 0;
}

const Arg *graph_args(const Entry *e, const Value *call, int *nargs, Vec *srcs) {
    Arg *rest = xalloc(sizeof(Arg) * (size_t)(call->nargs + 1));
    int n = 0, ok = 1, i = 0;
    if (is_merge(e))
        for (; i < call->nargs && !call->args[i].name; i++) {
            if (operand(call->args[i].val, fmt("an operand of %s", e->name)))
                vec_push(srcs, call->args[i].val);
            else
                ok = 0;
        }
    for (; i < call->nargs; i++) {
        const Arg *a = &call->args[i];
        if (!a->name || strcmp(a->name, "input") != 0) {
            rest[n++] = *a;
            continue;
        }
        if (is_merge(e)) {
            error_at(a->loc, "%s takes the outputs it merges as its first arguments, not input =", e->name);
            hint("for example: %s", e->example);
            ok = 0;
        } else if (srcs->n) {
            error_at(a->loc, "argument 'input' given twice");
            ok = 0;
        } else if (operand(a->val, "input =")) {
            vec_push(srcs, a->val);
        } else {
            ok = 0;
        }
    }
    *nargs = n;
    return ok ? rest : NULL;
}

/* ---- names ---------------------------------------------------------------- */

static const char *from_name(const Spec *spec, int j) { return j < 0 ? "input" : spec->layers[j].name; }

static Loc name_loc(const Layer *l) {
    const ArgVal *a = call_arg(l->c, "name");
    return a->given ? a->loc : l->loc;
}

/* The layer an operand names, -1 for the input, or -2 after an error. Names
 * resolve among every layer so that a later one gets the right message. */
static int resolve(const Spec *spec, int i, const Value *v) {
    if (!strcmp(v->str, "input"))
        return -1;
    for (int j = 0; j < spec->nlayers; j++) {
        if (strcmp(spec->layers[j].name, v->str) != 0)
            continue;
        if (j == i) {
            error_at(v->loc, "layer '%s' reads its own output: a cycle", spec->layers[i].name);
            hint("a layer reads outputs written before it; name an earlier one, or 'input'");
        } else if (j > i) {
            error_at(v->loc, "'%s' is used before it is defined", v->str);
            note_at(name_loc(&spec->layers[j]), "'%s' is defined here, after layer '%s'", v->str,
                    spec->layers[i].name);
            hint("layers run in the order written, so they form no cycle: move this one after '%s'", v->str);
        } else {
            return j;
        }
        return -2;
    }
    const char **names = xalloc(sizeof(char *) * (size_t)(i + 1));
    names[0] = "input";
    for (int j = 0; j < i; j++)
        names[j + 1] = spec->layers[j].name;
    error_at(v->loc, "no layer named '%s'", v->str);
    const char *near = nearest(v->str, names, i + 1);
    if (near)
        hint("did you mean '%s'?", near);
    else
        hint("a layer may read 'input' or the output of any layer written before it");
    return -2;
}

int resolve_inputs(Spec *spec) {
    int ok = 1;
    int *readers = xalloc(sizeof(int) * (size_t)spec->nlayers);
    for (int i = 0; i < spec->nlayers; i++) {
        Layer *l = &spec->layers[i];
        const Entry *e = l->c->e;
        if (!strcmp(l->name, "input")) {
            error_at(name_loc(l), "'input' names the model's input, not a layer");
            hint("give the layer another name");
            ok = 0;
        }
        if (is_merge(e) && l->src.n < 2) {
            error_at(l->loc, "%s merges two or more outputs, but names %d", e->name, l->src.n);
            hint("name them first: %s", e->example);
            ok = 0;
            continue;
        }
        if (!strcmp(e->name, "subtract") && l->src.n != 2) {
            error_at(l->loc, "subtract takes exactly two outputs, but names %d", l->src.n);
            hint("subtract(a, b) is a - b; add or average more than two");
            ok = 0;
            continue;
        }
        l->nfrom = l->src.n ? l->src.n : 1;
        l->from = xalloc(sizeof(int) * (size_t)l->nfrom);
        l->from[0] = i - 1;
        for (int k = 0; k < l->src.n; k++) {
            l->from[k] = resolve(spec, i, l->src.v[k]);
            if (l->from[k] == -2)
                ok = 0;
            else if (l->from[k] >= 0)
                readers[l->from[k]]++;
        }
        if (!l->src.n && i > 0)
            readers[i - 1]++;
    }
    if (!ok)
        return 0;
    /* The last layer's output is the model's; every other is read by some
     * layer, else it was computed for nothing (a misspelt name, most often). */
    for (int i = 0; i + 1 < spec->nlayers; i++) {
        if (readers[i])
            continue;
        const Layer *l = &spec->layers[i];
        error_at(name_loc(l), "the output of layer '%s' is used by nobody", l->name);
        hint("read it in a merge or with input = %s in a later layer, or remove the layer", l->name);
        ok = 0;
    }
    return ok;
}

int is_stack(const Spec *spec) {
    for (int i = 0; i < spec->nlayers; i++)
        if (spec->layers[i].nfrom != 1 || spec->layers[i].from[0] != i - 1)
            return 0;
    return 1;
}

/* ---- merge shapes ------------------------------------------------------------ */

static const Shape *from_shape(const Spec *spec, int j) { return j < 0 ? &spec->input : &spec->layers[j].out; }

/* Elementwise merges take one shape (Keras's rule without broadcasting);
 * concatenate, equal sizes on every axis but the one joined. */
int merge_shape(const Spec *spec, int i, Shape *cur) {
    const Layer *l = &spec->layers[i];
    int concat = l->c->e->layer == L_CONCATENATE, ax = 0;
    if (concat) {
        int axis = (int)call_num(l->c, "axis");
        ax = axis < 0 ? axis + cur->ndim : axis;
        if (ax < 0 || ax >= cur->ndim) {
            error_at(call_arg(l->c, "axis")->loc, "axis %d is outside the %d axes of %s", axis, cur->ndim,
                     shape_str(cur));
            hint("axes count in the sample shape, channels first: axis = 0 joins the channels of [C, H, W]; "
                 "-1 is the last");
            return 0;
        }
    }
    Shape first = *cur;
    for (int k = 1; k < l->nfrom; k++) {
        const Shape *s = from_shape(spec, l->from[k]);
        int agree = s->ndim == first.ndim;
        for (int d = 0; agree && d < s->ndim; d++)
            agree = s->dim[d] == first.dim[d] || (concat && d == ax);
        if (!agree && concat) {
            error_at(l->loc, "concatenate on axis %d needs equal sizes on every other axis, but '%s' is %s "
                     "and '%s' is %s", ax, from_name(spec, l->from[0]), shape_str(&first),
                     from_name(spec, l->from[k]), shape_str(s));
            hint("axes count in the sample shape, channels first: axis = 0 joins the channels of [C, H, W]");
            return 0;
        }
        if (!agree) {
            error_at(l->loc, "%s needs outputs of one shape, but '%s' is %s and '%s' is %s", l->c->e->name,
                     from_name(spec, l->from[0]), shape_str(&first), from_name(spec, l->from[k]), shape_str(s));
            hint("bring one to the other's shape first, e.g. a 1x1 conv2d or a dense on it");
            return 0;
        }
        if (concat)
            cur->dim[ax] += s->dim[ax];
    }
    return 1;
}
