/* emit.c — the emitter's printer: emit() with an indent level, C literals,
 * and the C names of the graph's nodes (name_nodes). The other emit_*.c
 * files print through it; emit.h lists what they share.
 *
 * Printing goes through emit(): '$' prints the real type ("float", or
 * "double" for gradient checks) and '@' the matching suffix of literals and
 * math functions, so `exp@(v)` is expf(v) and `1.0@` is 1.0f. */
#include "emit.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The printer's state, described in emit.h. */
FILE *out;
int indent;
const char *real = "float";
Graph *G;
int in_ram;
const char *P;
const char *U;
static const char **vars;       /* C name of each node's buffer */
const char **funcs;
const char **scratches;
Vec used;

void emit(const char *f, ...) {
    char *s;
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    s = xalloc(n + 1);
    va_start(ap, f);
    vsnprintf(s, n + 1, f, ap);
    va_end(ap);
    if (*s && *s != '}' && s[0] != '#')
        for (int i = 0; i < indent; i++)
            fputs("    ", out);
    if (*s == '}')
        for (int i = 1; i < indent; i++)
            fputs("    ", out);
    for (char *p = s; *p; p++)
        if (*p == '$')
            fputs(real, out);
        else if (*p == '@')
            fputs(strcmp(real, "float") ? "" : "f", out);
        else
            fputc(*p, out);
    fputc('\n', out);
}

/* The shortest decimal that reads back as exactly v. */
const char *dbl(double v) {
    for (int prec = 6; prec < 17; prec++) {
        char *s = fmt("%.*g", prec, v);
        if (strtod(s, NULL) == v)
            return s;
    }
    return fmt("%.17g", v);
}

/* A float constant as a C literal that reads back exactly. */
const char *lit(double v) {
    char *s = fmt("%.9g", v);
    if (!strpbrk(s, ".eEn"))
        s = fmt("%s.0", s);
    return fmt("%s@", s);
}

char *upper(const char *s) {
    char *u = xstrdup(s);
    for (char *p = u; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return u;
}

/* ---- names ------------------------------------------------------------- */

static const char *const reserved[] = {
    "m", "n", "x", "y", "out", "loss", "t", "i", "j", "r", "l", "s", "p", "g", "v",
    "acc", "sum", "rng", "seed", "d", "mx", "dot", "inv", "int", "float", "double",
    "long", "char", "short", "void", "const", "static", "return", "for", "if", "else",
    "while", "do", "switch", "case", "default", "break", "continue", "goto", "sizeof",
    "struct", "union", "enum", "typedef", "extern", "register", "auto", "volatile",
    "signed", "unsigned", "inline", "restrict", "main", "memset", "memcpy", "exp",
    "log", "tanh", "sqrt", "pow", "fabs", "expf", "logf", "tanhf", "sqrtf", "powf",
    "fabsf", "fmax", "fmaxf", "log1p", "log1pf", "wt", "xi", "wi", "jb", "len", "dxr", "dwj", "src", "xr", "wj", "o", "sgd_step", "adam_step", "rng_next",
    "rmsprop_step", "adamw_step", "adagrad_step", "adadelta_step", "adamax_step", "nadam_step",
    "clip_norm", "clip_gradients", "lr",
    "init_uniform", "params", "init", "train_step", "evaluate", "predict", "tensors",
    "model", "buf", "lp", "lq", "z", "e", "q", "se", "scale", "bc2_sqrt", "step_size",
    "lse", "erf", "erff", "expm1", "expm1f", "tsum", "a", "weights", "arena",
    "nnc_bits", "nnc_float", "nnc_expf", "nnc_logf", "nnc_log1pf", "nnc_expm1f", "nnc_tanhf",
    "nnc_erff", "nnc_sqrtf", "nnc_fabsf", "nnc_floor", "nnc_ceil", "nnc_sqrt", "nnc_pow", "uint32_t",
    "st_cursor", "st_ws", "st_eat", "st_string", "st_is", "st_uints", "st_f32", "st_decimals", "st_tensor",
    "st_value", "xp", "dp", "dt", "dwt", "pr", "wv", "o0", "ow0", "dst", "xb", "dxb",
    "scratch",
};

static int taken(const char *s) {
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (!strcmp(reserved[i], s))
            return 1;
    for (int i = 0; i < used.n; i++)
        if (!strcmp(used.v[i], s))
            return 1;
    return 0;
}

/* A fresh C identifier from `base` ('.' becomes '_'; suffixes keep it unique). */
static const char *fresh(const char *base) {
    char *s = xstrdup(base);
    for (char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p))
            *p = '_';
    const char *name = s;
    for (int k = 2; taken(name); k++)
        name = fmt("%s_%d", s, k);
    vec_push(&used, (void *)name);
    return name;
}

const char *var(Node *n) { return vars[n->id]; }

/* The gradient through a fused activation is the gradient of the node's
 * value before the activation, which has no variable of its own. */
int pre_act_grad(Node *n) {
    return n->op == OP_ACT_BWD && n->wrt->act && n->wrt->op != OP_ACT_BWD;
}

/* The op part of a node's function name (fc1_linear_relu, conv1_conv1d_dx,
 * fc1_weight_l1_l2): the op's name with the special cases of the names kept
 * here in one place, until the op table carries them. */
static const char *func_suffix(Node *n) {
    const char *what = op_names[n->op];
    if ((n->op == OP_LINEAR || n->op == OP_LINEAR_T) && n->act)
        what = fmt("linear_%s", op_names[n->act]);
    else if (n->op == OP_CONV2D && n->act)
        what = fmt("conv2d_%s", op_names[n->act]);
    if (n->win[WIN_KH] && n->in[0]->shape.ndim == 3) {     /* 1-D layers: conv1d, max_pool1d_dx, ... */
        char *w1 = xstrdup(what), *d2 = strstr(w1, "2d");
        if (d2)
            d2[0] = '1';
        what = w1;
    } else if (n->op == OP_LINEAR_T)
        what = "linear";
    else if (n->op == OP_ACT_BWD)
        what = fmt("%s_backward", op_names[n->act]);
    else if (n->op == OP_LOSS_BWD)
        what = fmt("%s_backward", op_names[n->loss]);
    else if (n->op == OP_L1L2)      /* fc1_weight_l1_l2: one per parameter */
        what = fmt("%s_l1_l2", strchr(n->in[1]->label, '.') + 1);
    else if (n->op == OP_L1L2_BWD)
        what = fmt("%s_l1_l2_backward", strchr(n->wrt->label, '.') + 1);
    return what;
}

/* The op part of a forward function's name without the stutter of a layer
 * named after its type: max_pooling2d_forward, not max_pooling2d_max_pool2d;
 * conv2d_relu, not conv2d_conv2d_relu. The layer's type and the op's name
 * stutter when they start alike (max_pooling2d, max_pool2d). */
static const char *unstuttered(const Node *n, const char *what) {
    for (int i = 0; i < G->spec->nlayers; i++) {
        const Layer *l = &G->spec->layers[i];
        if (strcmp(l->name, n->layer))
            continue;
        const char *type = l->c->e->name;
        size_t k = strlen(type), op = strlen(op_names[n->op]);
        if (strncmp(n->layer, type, k) || (n->layer[k] && (n->layer[k] != '_' ||
            strspn(n->layer + k + 1, "0123456789") != strlen(n->layer + k + 1) || !n->layer[k + 1])))
            return what;    /* a name of the model's own: nothing repeats */
        if (strncmp(type, what, k < 4 ? k : 4) || strlen(what) < op)
            return what;
        return !what[op] ? "forward" : what[op] == '_' ? what + op + 1 : what;
    }
    return what;
}

void name_nodes(void) {
    vars = xalloc(sizeof(char *) * G->nodes.n);
    funcs = xalloc(sizeof(char *) * G->nodes.n);
    const char *prev_layer = NULL;
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        const char *base;
        switch (n->op) {
        case OP_INPUT: vars[i] = "x"; continue;
        case OP_TARGET: vars[i] = "y"; continue;
        case OP_PARAM: case OP_STATE: vars[i] = fresh(n->label); continue;
        case OP_TRANSPOSE:      /* a weight read transposed: fc1_weight_t, not the layer's name */
            if (n->in[0]->op == OP_PARAM) {
                vars[i] = fresh(fmt("%s_t", n->in[0]->label));
                continue;
            }
            /* fall through */
        default:
            if (n->phase == PH_UPDATE)
                continue;
            if (n->phase == PH_LOSS)
                base = "loss_value";
            else if (n->wrt && pre_act_grad(n))
                base = fmt("d_%s_pre", var(n->wrt));
            else if (n->wrt)
                base = fmt("d_%s", var(n->wrt));
            else if (n->layer != prev_layer)
                base = n->layer;
            else
                base = fmt("%s_%s", n->layer, op_names[n->op]);
        }
        prev_layer = n->layer;
        vars[i] = fresh(base);
    }
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        const char *what = func_suffix(n);
        /* A reshape the plan gave its input's storage is no code at all. */
        int alias = n->op == OP_RESHAPE && n->area == n->in[0]->area && n->offset == n->in[0]->offset;
        if (n->phase == PH_FORWARD && !n->wrt)
            what = unstuttered(n, what);
        if (op_arity[n->op] && n->phase != PH_UPDATE && !alias)
            funcs[i] = fresh(fmt("%s_%s", n->layer, what));
    }
    scratches = xalloc(sizeof(char *) * G->nodes.n);
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if (n->scratch && funcs[i])
            scratches[i] = fresh(fmt("%s_scratch", funcs[i]));
    }
}

/* "(n, 32)" — the shape with the batch dimension written as n. */
const char *dims(Node *n) {
    char *s = "(";
    for (int d = 0; d < n->shape.ndim; d++)
        s = fmt("%s%s%s", s, d ? ", " : "", d == 0 && n->batched ? "n" : fmt("%ld", n->shape.dim[d]));
    return fmt("%s)", s);
}

/* The trip count of a loop over a value's elements: "n * 32", or "32". */
const char *count(Node *n) {
    long row = node_row(n);
    if (!n->batched)
        return fmt("%ld", row);
    return row == 1 ? "n" : fmt("n * %ld", row);
}

/* Rows of length `len` in a batched value: "n", "n * 7" or a literal. */
const char *rows(Node *n, long len) {
    long per = node_row(n) / len;
    if (!n->batched)
        return fmt("%ld", per);
    return per == 1 ? "n" : fmt("n * %ld", per);
}

long last_dim(Node *n) { return n->shape.dim[n->shape.ndim - 1]; }
