/* emit.c — the C emitter: prints a planned graph as a standalone C99 file and
 * its header. Every compute node becomes one static function with literal
 * loop bounds, named after its layer (fc1_linear_relu, fc1_linear_dw, ...);
 * the public functions call them in schedule order on fixed offsets into the
 * caller's model struct. The generated code should read like llm.c.
 *
 * Printing goes through emit(): '$' prints the real type ("float", or
 * "double" for gradient checks) and '@' the matching suffix of literals and
 * math functions, so `exp@(v)` is expf(v) and `1.0@` is 1.0f. */
#include "nnc.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;
static int indent;
static const char *real = "float";
static Graph *G;
static int in_ram;        /* --weights-in-ram: weights in the caller's struct */
static const char *P;   /* model name: prefix of every public symbol */
static const char *U;   /* the same in upper case: prefix of macros */
static const char **vars;       /* C name of each node's buffer */
static const char **funcs;      /* C name of each node's function */
static const char **scratches;  /* C name of a node's working space (node_scratch), or NULL */
static Vec used;                /* names taken in the generated file */

/* ---- stack accounting: NAME_STACK_BYTES -------------------------------
 * Every line of generated code passes through emit(), so every local array
 * the emitter writes is seen here, whichever function prints it: a line at
 * the outer level that starts a definition opens a new frame, and each
 * declaration inside adds its arrays' bytes to it. A frame is the sum of
 * all arrays declared in the function, inner blocks included: an upper
 * bound on what they take at once. Scalars and pointers are the C
 * compiler's to place (registers, spills) and not counted. */
static long frame, stack_max;   /* bytes of local arrays: this function, the most in any */

/* Bytes per element of a local array's type, as on a 64-bit host (long and
 * pointers 8: an upper bound on 32-bit targets); -1 if nnc never declares one. */
static long type_bytes(const char *t, int pointer) {
    static const struct { const char *name; long bytes; } types[] = {
        {"float", 4}, {"double", 8}, {"int", 4}, {"long", 8}, {"size_t", 8}, {"char", 1},
        {"unsigned char", 1}, {"uint8_t", 1}, {"uint32_t", 4}, {"uint64_t", 8}, {"unsigned long long", 8},
    };
    if (pointer)
        return 8;
    if (!strcmp(t, "$"))
        return strcmp(real, "float") ? 8 : 4;
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        if (!strcmp(types[i].name, t))
            return types[i].bytes;
    return -1;
}

/* A declarator's "[3][16]": the product of the sizes, *p moved past them;
 * 0 if there are none (a scalar). */
static long array_len(const char **p, const char *line) {
    long len = **p == '[' ? 1 : 0;
    while (**p == '[') {
        char *end;
        long d = strtol(*p + 1, &end, 10);
        if (end == *p + 1 || *end != ']')
            internal_error("emit: local array without a literal size: %s", line);
        len *= d;
        *p = end + 1;
    }
    return len;
}

/* Count the local arrays a line of generated code declares ("$ acc[4][32];",
 * "size_t at[6] = {0}, key_n;"); open a new frame at a definition. */
static void count_locals(const char *s) {
    static int in_static;   /* inside a static table in a function: not on the stack */
    if (indent == 0 && (isalpha((unsigned char)*s) || *s == '$')) {     /* a function or a global */
        frame = 0, in_static = 0;
        return;
    }
    const char *p = s + strspn(s, " ");
    if (in_static || !strncmp(p, "static ", 7)) {
        in_static = !(p[0] == '}' && p[strlen(p) - 1] == ';') && (in_static || p[strlen(p) - 1] == '{');
        return;
    }
    const char *br = strchr(p, '[');
    if (!br || br == p || *p == '*' || *p == '/')
        return;
    /* "[const] TYPE NAME" before the first '[': at least two words of
     * identifier characters ('$' and '*' included), nothing else. */
    char *head = xstrndup(p, br - p);
    int words = 0, pointer = 0;
    for (char *q = head; *q; q++) {
        if (!isalnum((unsigned char)*q) && *q != '_' && *q != '$' && *q != '*' && *q != ' ')
            return;
        pointer |= *q == '*';
        words += *q != ' ' && (q == head || q[-1] == ' ');
    }
    if (words < 2 || head[strlen(head) - 1] == ' ')
        return;
    *strrchr(head, ' ') = '\0';    /* the name goes; the type is left */
    const char *type = strncmp(head, "const ", 6) ? head : head + 6;
    static const char *const statements[] = {"return", "else", "case", "do", "goto"};
    for (size_t i = 0; i < sizeof statements / sizeof *statements; i++)
        if (!strncmp(type, statements[i], strlen(statements[i])) && !isalnum((unsigned char)type[strlen(statements[i])]))
            return;
    long size = type_bytes(type, pointer);
    if (size < 0)
        internal_error("emit: local array of a type the stack count does not know: %s", s);
    /* The declarators: NAME[..][..] [= {...}], then more after commas. */
    p = br;
    for (;;) {
        long len = array_len(&p, s);
        frame += len * size;
        int depth = 0;
        while (*p && (depth || (*p != ',' && *p != ';'))) {
            depth += *p == '{', depth -= *p == '}';
            p++;
        }
        if (*p != ',')
            break;
        p += strspn(p + 1, " *") + 1;
        p += strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    }
    if (frame > stack_max)
        stack_max = frame;
}

static void emit(const char *f, ...) {
    char *s;
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    s = xalloc(n + 1);
    va_start(ap, f);
    vsnprintf(s, n + 1, f, ap);
    va_end(ap);
    count_locals(s);
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

/* emit() with a trailing '{' opens a block, a line "}" closes one. */
#define OPEN(...) (emit(__VA_ARGS__), indent++)
#define CLOSE() (emit("}"), indent--)

/* The shortest decimal that reads back as exactly v. */
static const char *dbl(double v) {
    for (int prec = 6; prec < 17; prec++) {
        char *s = fmt("%.*g", prec, v);
        if (strtod(s, NULL) == v)
            return s;
    }
    return fmt("%.17g", v);
}

/* A float constant as a C literal that reads back exactly. */
static const char *lit(double v) {
    char *s = fmt("%.9g", v);
    if (!strpbrk(s, ".eEn"))
        s = fmt("%s.0", s);
    return fmt("%s@", s);
}

static char *upper(const char *s) {
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

static const char *var(Node *n) { return vars[n->id]; }

/* The gradient through a fused activation is the gradient of the node's
 * value before the activation, which has no variable of its own. */
static int pre_act_grad(Node *n) {
    return n->op == OP_ACT_BWD && n->wrt->act && n->wrt->op != OP_ACT_BWD;
}

static void name_nodes(void) {
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
        }
        else if (n->op == OP_LINEAR_T)
            what = "linear";
        else if (n->op == OP_ACT_BWD)
            what = fmt("%s_backward", op_names[n->act]);
        else if (n->op == OP_LOSS_BWD)
            what = fmt("%s_backward", op_names[n->loss]);
        else if (n->op == OP_L1L2)      /* fc1_weight_l1_l2: one per parameter */
            what = fmt("%s_l1_l2", strchr(n->in[1]->label, '.') + 1);
        else if (n->op == OP_L1L2_BWD)
            what = fmt("%s_l1_l2_backward", strchr(n->wrt->label, '.') + 1);
        /* A reshape the plan gave its input's storage is no code at all. */
        int alias = n->op == OP_RESHAPE && n->area == n->in[0]->area && n->offset == n->in[0]->offset;
        if (op_arity[n->op] && n->phase != PH_UPDATE && !alias)
            funcs[i] = fresh(fmt("%s_%s", n->layer, what));
    }
    scratches = xalloc(sizeof(char *) * G->nodes.n);
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if (n->scratch != node_scratch(n))
            internal_error("node %%%d: planned %ld floats of scratch, its function takes %ld", n->id, n->scratch,
                           node_scratch(n));
        if (n->scratch && funcs[i])
            scratches[i] = fresh(fmt("%s_scratch", funcs[i]));
    }
}

/* "(n, 32)" — the shape with the batch dimension written as n. */
static const char *dims(Node *n) {
    char *s = "(";
    for (int d = 0; d < n->shape.ndim; d++)
        s = fmt("%s%s%s", s, d ? ", " : "", d == 0 && n->batched ? "n" : fmt("%ld", n->shape.dim[d]));
    return fmt("%s)", s);
}

/* The trip count of a loop over a value's elements: "n * 32", or "32". */
static const char *count(Node *n) {
    long row = node_row(n);
    if (!n->batched)
        return fmt("%ld", row);
    return row == 1 ? "n" : fmt("n * %ld", row);
}

/* Rows of length `len` in a batched value: "n", "n * 7" or a literal. */
static const char *rows(Node *n, long len) {
    long per = node_row(n) / len;
    if (!n->batched)
        return fmt("%ld", per);
    return per == 1 ? "n" : fmt("n * %ld", per);
}

static long last_dim(Node *n) { return n->shape.dim[n->shape.ndim - 1]; }

/* ---- activation formulas, shared by the forward and backward emitters -- */

/* selu's constants, as Klambauer et al. and PyTorch give them. */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define SQRT1_2 0.70710678118654752440084436210485      /* 1 / sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267793994605993438 /* 1 / sqrt(2 pi) */

/* An activation as written in a model file, parameters from f[]:
 * "leaky_relu(alpha = 0.2)"; "" for none. */
static const char *act_str(Op act, const double *f) {
    if (!act)
        return "";
    const ParamDef *p = catalog_activation(act)->params;
    if (!p[0].name)
        return op_names[act];
    char *s = fmt("%s(", op_names[act]);
    for (int k = 0; k < MAX_PARAMS && p[k].name; k++)
        s = fmt("%s%s%s = %g", s, k ? ", " : "", p[k].name, f[k]);
    return fmt("%s)", s);
}

/* act(v); f[] holds the activation's parameters (f[0] = alpha). */
static const char *act_expr(Op act, const double *f, const char *v) {
    switch (act) {
    case OP_NONE: return v;
    case OP_RELU: return fmt("%s > 0.0@ ? %s : 0.0@", v, v);
    case OP_LEAKY_RELU: return fmt("%s > 0.0@ ? %s : %s * %s", v, v, lit(f[0]), v);
    case OP_ELU: return fmt("%s > 0.0@ ? %s : %s * expm1@(%s)", v, v, lit(f[0]), v);
    case OP_SELU:
        return fmt("%s > 0.0@ ? %s * %s : %s * expm1@(%s)", v, lit(SELU_SCALE), v,
                   lit(SELU_SCALE * SELU_ALPHA), v);
    case OP_RELU6: return fmt("%s > 0.0@ ? (%s < 6.0@ ? %s : 6.0@) : 0.0@", v, v, v);
    case OP_HARD_SIGMOID:
        return fmt("%s > -3.0@ ? (%s < 3.0@ ? (%s + 3.0@) / 6.0@ : 1.0@) : 0.0@", v, v, v);
    case OP_SIGMOID: return fmt("1.0@ / (1.0@ + exp@(-%s))", v);
    case OP_TANH: return fmt("tanh@(%s)", v);
    case OP_SOFTPLUS:  /* max(v, 0) + log(1 + exp(-|v|)): no overflow for any v */
        return fmt("(%s > 0.0@ ? %s : 0.0@) + log1p@(exp@(-fabs@(%s)))", v, v, v);
    case OP_SOFTSIGN: return fmt("%s / (1.0@ + fabs@(%s))", v, v);
    case OP_EXPONENTIAL: return fmt("exp@(%s)", v);
    case OP_STEP: return fmt("%s > 0.0@ ? 1.0@ : 0.0@", v);
    case OP_GELU: return fmt("0.5@ * %s * (1.0@ + erf@(%s * %s))", v, v, lit(SQRT1_2));
    case OP_SILU: return fmt("%s / (1.0@ + exp@(-%s))", v, v);
    default: internal_error("no elementwise formula for %s", op_names[act]);
    }
}

/* dy * act'(x), from v: the output y, or the input x for the activations
 * whose gradient rule is grad_act_x (act_grad_reads). At the kinks the
 * derivative is PyTorch's: relu, leaky_relu, elu take x = 0 as x <= 0 (slope
 * 0, alpha, alpha), relu6 and hard_sigmoid have slope 0 at their corners. */
static const char *act_grad_expr(Op act, const double *f, const char *dy, const char *v) {
    switch (act) {
    case OP_RELU: return fmt("%s > 0.0@ ? %s : 0.0@", v, dy);
    case OP_LEAKY_RELU: return fmt("%s > 0.0@ ? %s : %s * %s", v, dy, lit(f[0]), dy);
    case OP_ELU:   /* alpha exp(x) = y + alpha for x <= 0 */
        return fmt("%s > 0.0@ ? %s : %s * (%s + %s)", v, dy, dy, v, lit(f[0]));
    case OP_SELU:  /* scale alpha exp(x) = y + scale alpha for x <= 0 */
        return fmt("%s > 0.0@ ? %s * %s : %s * (%s + %s)", v, lit(SELU_SCALE), dy, dy, v,
                   lit(SELU_SCALE * SELU_ALPHA));
    case OP_RELU6: return fmt("%s > 0.0@ && %s < 6.0@ ? %s : 0.0@", v, v, dy);
    case OP_HARD_SIGMOID: return fmt("%s > 0.0@ && %s < 1.0@ ? %s / 6.0@ : 0.0@", v, v, dy);
    case OP_SIGMOID: return fmt("%s * %s * (1.0@ - %s)", dy, v, v);
    case OP_TANH: return fmt("%s * (1.0@ - %s * %s)", dy, v, v);
    case OP_SOFTPLUS:  /* sigmoid(x) = 1 - exp(-y) */
        return fmt("-%s * expm1@(-%s)", dy, v);
    case OP_SOFTSIGN:  /* 1 / (1 + |x|)^2 = (1 - |y|)^2 */
        return fmt("%s * (1.0@ - fabs@(%s)) * (1.0@ - fabs@(%s))", dy, v, v);
    case OP_EXPONENTIAL: return fmt("%s * %s", dy, v);
    case OP_GELU:  /* Phi(x) + x phi(x), from x */
        return fmt("%s * (0.5@ * (1.0@ + erf@(%s * %s)) + %s * exp@(-0.5@ * %s * %s) * %s)", dy, v,
                   lit(SQRT1_2), v, v, v, lit(INV_SQRT_2PI));
    case OP_SILU:  /* s (1 + x (1 - s)), s = sigmoid(x), from x */
        return fmt("%s / (1.0@ + exp@(-%s)) * (1.0@ + %s * (1.0@ - 1.0@ / (1.0@ + exp@(-%s))))", dy,
                   v, v, v);
    default: internal_error("no derivative formula for %s", op_names[act]);
    }
}

/* Softmax or log_softmax of one row in place: o[0..len) holds the inputs on
 * entry. */
static void emit_softmax_row(Op act, const char *o, long len) {
    emit("$ mx = %s[0];", o);
    emit("for (int i = 1; i < %ld; i++) mx = %s[i] > mx ? %s[i] : mx;", len, o, o);
    emit("$ sum = 0.0@;");
    if (act == OP_LOG_SOFTMAX) {
        emit("for (int i = 0; i < %ld; i++) sum += exp@(%s[i] - mx);", len, o);
        emit("$ lse = log@(sum);");
        emit("for (int i = 0; i < %ld; i++) %s[i] = %s[i] - mx - lse;", len, o, o);
        return;
    }
    OPEN("for (int i = 0; i < %ld; i++) {", len);
    emit("%s[i] = exp@(%s[i] - mx);", o, o);
    emit("sum += %s[i];", o);
    CLOSE();
    emit("$ inv = 1.0@ / sum;");
    emit("for (int i = 0; i < %ld; i++) %s[i] *= inv;", len, o);
}

/* Softmax and log_softmax work on whole rows, the others elementwise. */
static int row_act(Op act) { return act == OP_SOFTMAX || act == OP_LOG_SOFTMAX; }

/* ---- op emitters: each prints one static function ----------------------- */

typedef void Emitter(Node *n);

static void emit_nothing(Node *n) { (void)n; }

/* A dot product of length k, in `lanes` independent partial sums so the C
 * compiler can vectorize it without reassociating floating point. */
static void emit_dot(const char *dst, const char *a, const char *b, long k) {
    int lanes = k >= 64 ? 16 : k >= 16 ? 8 : 1;
    if (lanes == 1) {
        emit("for (int i = 0; i < %ld; i++) %s += %s[i] * %s[i];", k, dst, a, b);
        return;
    }
    long body = k / lanes * lanes;
    emit("$ acc[%d] = {0};", lanes);
    emit("for (int i = 0; i < %ld; i += %d)", body, lanes);
    emit("    for (int l = 0; l < %d; l++) acc[l] += %s[i + l] * %s[i + l];", lanes, a, b);
    emit("for (int l = 0; l < %d; l++) %s += acc[l];", lanes, dst);
    if (body < k)
        emit("for (int i = %ld; i < %ld; i++) %s += %s[i] * %s[i];", body, k, dst, a, b);
}

/* out = act(x W^T + b), one output row at a time, bias and activation fused. */
static void emit_linear(Node *n) {
    Node *x = n->in[0], *w = n->in[1], *b = n->in[2];
    long k = w->shape.dim[1], o = w->shape.dim[0];
    emit("/* %s: out %s = %s(x %s . weight %s^T%s) */", n->layer, dims(n), act_str(n->act, n->f),
         dims(x), dims(w), b ? " + bias" : "");
    OPEN("static void %s($ *out, const $ *x, const $ *weight%s, int n) {", funcs[n->id],
         b ? ", const $ *bias" : "");
    if (!x->batched || !n->batched)
        emit("(void)n;");
    OPEN("for (int r = 0; r < %s; r++) {", rows(x, k));
    emit("const $ *xr = x + r * %ld;", k);
    emit("$ *o = out + r * %ld;", o);
    OPEN("for (int j = 0; j < %ld; j++) {", o);
    emit("const $ *wj = weight + j * %ld;", k);
    emit("$ sum = %s;", b ? "bias[j]" : "0.0@");
    emit_dot("sum", "xr", "wj", k);
    emit("o[j] = %s;", row_act(n->act) ? "sum" : act_expr(n->act, n->f, "sum"));
    CLOSE();
    if (row_act(n->act))
        emit_softmax_row(n->act, "o", o);
    CLOSE();
    CLOSE();
}

/* Accumulators live in a local array when it is small enough for the stack:
 * locals cannot alias the inputs, so the compiler keeps them in registers. */
#define LOCAL_ACC_MAX 1024

static void emit_transpose(Node *n) {
    Node *w = n->in[0];
    long o = w->shape.dim[0], k = w->shape.dim[1];
    emit("/* %s: weight %s transposed to %s for the forward loop */", n->layer, dims(w), dims(n));
    OPEN("static void %s($ *wt, const $ *weight) {", funcs[n->id]);
    emit("for (int j = 0; j < %ld; j++)", o);
    emit("    for (int i = 0; i < %ld; i++) wt[i * %ld + j] = weight[j * %ld + i];", k, o, k);
    CLOSE();
}

/* out = act(x W^T + b) from W^T: each row's sums are built along the outputs,
 * in blocks of at most LOCAL_ACC_MAX outputs. */
static void emit_linear_t(Node *n) {
    Node *x = n->in[0], *wt = n->in[1], *b = n->in[2];
    long k = wt->shape.dim[0], o = wt->shape.dim[1];
    long blk = o <= LOCAL_ACC_MAX ? o : LOCAL_ACC_MAX;
    emit("/* %s: out %s = %s(x %s . weight_t %s%s) */", n->layer, dims(n), act_str(n->act, n->f),
         dims(x), dims(wt), b ? " + bias" : "");
    OPEN("static void %s($ *out, const $ *x, const $ *wt%s, int n) {", funcs[n->id],
         b ? ", const $ *bias" : "");
    OPEN("for (int r = 0; r < %s; r++) {", rows(x, k));
    emit("const $ *xr = x + r * %ld;", k);
    emit("$ *o = out + r * %ld;", o);
    if (blk < o)
        OPEN("for (int jb = 0; jb < %ld; jb += %ld) {", o, blk);
    const char *jb = blk < o ? "jb + " : "";
    long len = blk;
    if (blk < o)
        emit("const int len = %ld - jb < %ld ? %ld - jb : %ld;", o, blk, o, blk);
    const char *lenv = blk < o ? "len" : fmt("%ld", len);
    emit("$ acc[%ld];", blk);
    emit("for (int j = 0; j < %s; j++) acc[j] = %s;", lenv, b ? fmt("bias[%sj]", jb) : "0.0@");
    OPEN("for (int i = 0; i < %ld; i++) {", k);
    emit("const $ xi = xr[i];");
    emit("const $ *wi = wt + i * %ld%s;", o, blk < o ? " + jb" : "");
    emit("for (int j = 0; j < %s; j++) acc[j] += xi * wi[j];", lenv);
    CLOSE();
    emit("for (int j = 0; j < %s; j++) o[%sj] = %s;", lenv, jb,
         row_act(n->act) ? "acc[j]" : act_expr(n->act, n->f, "acc[j]"));
    if (blk < o)
        CLOSE();
    if (row_act(n->act))
        emit_softmax_row(n->act, "o", o);
    CLOSE();
    CLOSE();
}

static void emit_act(Node *n) {
    emit("/* %s: out %s = %s(x) */", n->layer, dims(n), act_str(n->op, n->f));
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) out[i] = %s;", count(n), act_expr(n->op, n->f, "x[i]"));
    CLOSE();
}

static void emit_softmax(Node *n) {
    long len = last_dim(n);
    emit("/* %s: out %s = %s(x) over the last axis */", n->layer, dims(n), op_names[n->op]);
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int r = 0; r < %s; r++) {", rows(n, len));
    emit("$ *o = out + r * %ld;", len);
    emit("for (int i = 0; i < %ld; i++) o[i] = x[r * %ld + i];", len, len);
    emit_softmax_row(n->op, "o", len);
    CLOSE();
    CLOSE();
}

/* maxout: out[u] = max of x[u * pieces + p] over p, per row. */
static void emit_maxout(Node *n) {
    long pieces = (long)n->f[0];
    emit("/* %s: out %s = max over %ld pieces of x %s */", n->layer, dims(n), pieces, dims(n->in[0]));
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int u = 0; u < %s; u++) {", count(n));
    emit("const $ *xu = x + u * %ld;", pieces);
    emit("$ mx = xu[0];");
    emit("for (int p = 1; p < %ld; p++) mx = xu[p] > mx ? xu[p] : mx;", pieces);
    emit("out[u] = mx;");
    CLOSE();
    CLOSE();
}

/* dx = dy at the first largest piece of each group, 0 at the others (the
 * index PyTorch's max returns). Recomputed from x: nothing is cached. */
static void emit_maxout_bwd(Node *n) {
    Node *dy = n->in[0];
    long pieces = (long)n->f[0];
    emit("/* %s: dx %s = dy %s at each group's largest piece, else 0 */", n->layer, dims(n), dims(dy));
    OPEN("static void %s($ *dx, const $ *dy, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int u = 0; u < %s; u++) {", count(dy));
    emit("const $ *xu = x + u * %ld;", pieces);
    emit("int arg = 0;");
    emit("for (int p = 1; p < %ld; p++) arg = xu[p] > xu[arg] ? p : arg;", pieces);
    emit("for (int p = 0; p < %ld; p++) dx[u * %ld + p] = p == arg ? dy[u] : 0.0@;", pieces, pieces);
    CLOSE();
    CLOSE();
}

static void emit_add(Node *n) {
    emit("/* gradient contributions summed: out %s = a + b */", dims(n));
    OPEN("static void %s($ *out, const $ *a, const $ *b, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) out[i] = a[i] + b[i];", count(n));
    CLOSE();
}

static void emit_act_bwd(Node *n) {
    const char *v = act_grad_reads(n->act) == ACT_THROUGH_X ? "x" : "y";
    emit("/* %s: dx %s = dy * %s'(x), written through the %s %s */", n->layer, dims(n),
         act_str(n->act, n->f), *v == 'x' ? "input" : "output", v);
    OPEN("static void %s($ *dx, const $ *dy, const $ *%s, int n) {", funcs[n->id], v);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) dx[i] = %s;", count(n),
         act_grad_expr(n->act, n->f, "dy[i]", fmt("%s[i]", v)));
    CLOSE();
}

/* softmax: dx = y (dy - sum(dy y));  log_softmax: dx = dy - exp(y) sum(dy). */
static void emit_softmax_bwd(Node *n) {
    long len = last_dim(n);
    int log = n->op == OP_LOG_SOFTMAX_BWD;
    emit(log ? "/* %s: dx %s = dy - exp(y) * sum(dy) per row */"
             : "/* %s: dx %s = y * (dy - sum(dy * y)) per row */", n->layer, dims(n));
    OPEN("static void %s($ *dx, const $ *dy, const $ *y, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    OPEN("for (int r = 0; r < %s; r++) {", rows(n, len));
    emit("const $ *dyr = dy + r * %ld, *yr = y + r * %ld;", len, len);
    emit("$ dot = 0.0@;");
    if (log) {
        emit("for (int i = 0; i < %ld; i++) dot += dyr[i];", len);
        emit("for (int i = 0; i < %ld; i++) dx[r * %ld + i] = dyr[i] - exp@(yr[i]) * dot;", len, len);
    } else {
        emit("for (int i = 0; i < %ld; i++) dot += dyr[i] * yr[i];", len);
        emit("for (int i = 0; i < %ld; i++) dx[r * %ld + i] = yr[i] * (dyr[i] - dot);", len, len);
    }
    CLOSE();
    CLOSE();
}

/* dst[0..k) = sum over the loop of d * src[0..k): the body both weight
 * products share. The sum builds in a local array when one fits, because a
 * local cannot alias src and so stays in registers. */
static void emit_row_sum(const char *dst, long k, const char *loop, const char *d, const char *src) {
    int local = k <= LOCAL_ACC_MAX;
    const char *acc = local ? "acc" : dst;
    if (local)
        emit("$ acc[%ld];", k);
    emit("for (int i = 0; i < %ld; i++) %s[i] = 0.0@;", k, acc);
    OPEN("%s {", loop);
    emit("const $ d = %s;", d);
    emit("const $ *src = %s;", src);
    emit("for (int i = 0; i < %ld; i++) %s[i] += d * src[i];", k, acc);
    CLOSE();
    if (local)
        emit("for (int i = 0; i < %ld; i++) %s[i] = acc[i];", k, dst);
}

/* dx = dy W: each row of dx accumulates rows of W scaled by dy. */
static void emit_linear_dx(Node *n) {
    Node *dy = n->in[0], *w = n->in[1];
    long k = w->shape.dim[1], o = w->shape.dim[0];
    emit("/* %s: dx %s = dy %s . weight %s */", n->layer, dims(n), dims(dy), dims(w));
    OPEN("static void %s($ *dx, const $ *dy, const $ *weight, int n) {", funcs[n->id]);
    OPEN("for (int r = 0; r < %s; r++) {", rows(dy, o));
    emit("$ *dxr = dx + r * %ld;", k);
    emit_row_sum("dxr", k, fmt("for (int j = 0; j < %ld; j++)", o), fmt("dy[r * %ld + j]", o),
                 fmt("weight + j * %ld", k));
    CLOSE();
    CLOSE();
}

/* dW = dy^T x, summed over every row of the batch. */
static void emit_linear_dw(Node *n) {
    Node *dy = n->in[0], *x = n->in[1];
    long o = n->shape.dim[0], k = n->shape.dim[1];
    emit("/* %s: dweight %s = dy %s^T . x %s */", n->layer, dims(n), dims(dy), dims(x));
    OPEN("static void %s($ *dw, const $ *dy, const $ *x, int n) {", funcs[n->id]);
    OPEN("for (int j = 0; j < %ld; j++) {", o);
    emit("$ *dwj = dw + j * %ld;", k);
    emit_row_sum("dwj", k, fmt("for (int r = 0; r < %s; r++)", rows(dy, o)), fmt("dy[r * %ld + j]", o),
                 fmt("x + r * %ld", k));
    CLOSE();
    CLOSE();
}

static void emit_linear_db(Node *n) {
    Node *dy = n->in[0];
    long o = n->shape.dim[0];
    int local = o <= LOCAL_ACC_MAX;
    const char *acc = local ? "acc" : "db";
    emit("/* %s: dbias %s = dy %s summed over rows */", n->layer, dims(n), dims(dy));
    OPEN("static void %s($ *db, const $ *dy, int n) {", funcs[n->id]);
    if (local)
        emit("$ acc[%ld];", o);
    emit("for (int j = 0; j < %ld; j++) %s[j] = 0.0@;", o, acc);
    emit("for (int r = 0; r < %s; r++)", rows(dy, o));
    emit("    for (int j = 0; j < %ld; j++) %s[j] += dy[r * %ld + j];", o, acc, o);
    if (local)
        emit("for (int j = 0; j < %ld; j++) db[j] = acc[j];", o);
    CLOSE();
}

/* ---- images: convolution and pooling, channels first ------------------
 * Sizes as literals: input [C, H, W], output [F, OH, OW], kernel KH x KW,
 * strides SH, SW, padding PT (top), PL (left); past the bottom and right
 * edges reads as zero. The loops over output columns run over the range
 * [lo, hi) whose input column is inside the image, worked out once per
 * kernel column, so the innermost loop has no test and vectorizes. */

typedef struct Win {
    long c, h, w;           /* input channels, height, width */
    long f, oh, ow;         /* output channels, height, width */
    int kh, kw, sh, sw, pt, pl;
    int dh, dw;             /* dilation: kernel taps dh rows, dw columns apart */
    long cg, fg;            /* input and output channels per group */
} Win;

/* x [n, C, H, W] or, 1-D, [n, C, L] as an image of height 1. */
static Win win_of(const Node *n, const Node *x, const Node *y) {
    int one = x->shape.ndim == 3;
    Win r = {x->shape.dim[1], one ? 1 : x->shape.dim[2], x->shape.dim[one ? 2 : 3], y->shape.dim[1],
             one ? 1 : y->shape.dim[2], y->shape.dim[one ? 2 : 3], n->win[WIN_KH], n->win[WIN_KW],
             n->win[WIN_SH], n->win[WIN_SW], n->win[WIN_PT], n->win[WIN_PL], n->win[WIN_DH], n->win[WIN_DW],
             0, 0};
    int g = n->win[WIN_G] ? n->win[WIN_G] : 1;
    r.cg = r.c / g, r.fg = r.f / g;
    return r;
}

/* ", dilation (2, 2), groups 3" where they are not 1. */
static const char *win_extra(const Win *w) {
    const char *s = "";
    if (w->dh > 1 || w->dw > 1)
        s = fmt(", dilation (%d, %d)", w->dh, w->dw);
    if (w->cg != w->c)
        s = fmt("%s, groups %ld", s, w->c / w->cg);
    return s;
}

/* Kernels up to this wide have their columns unrolled: each kernel column
 * gets its own loop over output columns with literal bounds, which the C
 * compiler vectorizes; wider ones loop over kj with bounds worked out at run
 * time. */
#define UNROLL_KW 8

/* The output columns [lo, hi) whose input column ow * SW - PL + kj * DW is in [0, W). */
static void col_range(const Win *w, int kj, long *lo, long *hi) {
    long off = (long)kj * w->dw;
    *lo = off < w->pl ? (w->pl - off + w->sw - 1) / w->sw : 0;
    long top = w->w - 1 + w->pl - off;
    *hi = top < 0 ? 0 : top / w->sw + 1 < w->ow ? top / w->sw + 1 : w->ow;
    if (*lo > *hi)
        *lo = *hi;
}

static void emit_col_range(const Win *w) {
    const char *off = w->dw == 1 ? "kj" : fmt("kj * %d", w->dw);
    emit("const int lo = %s < %d ? (%d - %s + %d) / %d : 0;", off, w->pl, w->pl, off, w->sw - 1, w->sw);
    emit("const int top = %ld - %s;  /* W - 1 + PL - kj * DW */", w->w - 1 + w->pl, off);
    emit("const int hi = top < 0 ? 0 : top / %d + 1 < %ld ? top / %d + 1 : %ld;", w->sw, w->ow, w->sw, w->ow);
}

/* The input column of output column ow for kernel column kj (a literal, or
 * "kj"): "ow + 3", "ow * 2 - 1", "ow + kj - 2". */
static const char *in_col(const Win *w, const char *kj) {
    const char *s = w->sw == 1 ? "ow" : fmt("ow * %d", w->sw);
    if (strcmp(kj, "kj")) {
        long off = atol(kj) * w->dw - w->pl;
        return off == 0 ? s : fmt("%s %c %ld", s, off < 0 ? '-' : '+', off < 0 ? -off : off);
    }
    s = w->dw == 1 ? fmt("%s + kj", s) : fmt("%s + kj * %d", s, w->dw);
    return w->pl ? fmt("%s - %d", s, w->pl) : s;
}

/* For each kernel column, a loop over the output columns it reaches:
 * body is a format with %s for the kernel column (then once more for the
 * input column expression), e.g. "acc[ow] += wk[%s] * xr[%s];". */
static void emit_kernel_cols(const Win *w, const char *body) {
    if (w->kw <= UNROLL_KW) {
        for (int kj = 0; kj < w->kw; kj++) {
            long lo, hi;
            col_range(w, kj, &lo, &hi);
            if (lo >= hi)
                continue;
            const char *k = fmt("%d", kj);
            emit("for (int ow = %ld; ow < %ld; ow++) %s", lo, hi, fmt(body, k, in_col(w, k)));
        }
        return;
    }
    OPEN("for (int kj = 0; kj < %d; kj++) {", w->kw);
    emit_col_range(w);
    emit("for (int ow = lo; ow < hi; ow++) %s", fmt(body, "kj", in_col(w, "kj")));
    CLOSE();
}

/* The input row of output row oh and kernel row ki, and the test that it is
 * inside when some row can fall outside. */
static void emit_in_row(const Win *w) {
    const char *oh = w->sh == 1 ? "oh" : fmt("oh * %d", w->sh);
    const char *ki = w->dh == 1 ? "ki" : fmt("ki * %d", w->dh);
    emit("const int ih = %s + %s%s;", oh, ki, w->pt ? fmt(" - %d", w->pt) : "");
    if (w->pt > 0 || (w->oh - 1) * w->sh + (long)(w->kh - 1) * w->dh >= w->h)
        emit("if (ih < 0 || ih >= %ld) continue;", w->h);
}

/* The input channel c of output channel f's group, times the rows of a
 * channel: "c * 28", or with groups "(f + c) * 28", "((f / 4) * 2 + c) * 28". */
static const char *chan_rows(const Win *w) {
    if (w->cg == w->c)
        return fmt("c * %ld", w->h);
    if (w->cg == 1 && w->fg == 1)
        return fmt("(f + c) * %ld", w->h);
    return fmt("((f / %ld) * %ld + c) * %ld", w->fg, w->cg, w->h);
}

/* out[b, f, oh, :] = act(bias[f] + sum over c, ki, kj of weight[f, c, ki, kj] x[b, c, ih, iw]),
 * one output row at a time in a local accumulator. */
static void emit_conv2d_tiled(Node *n);
static int conv_tiled(const Node *n, const Win *w);
static int conv_dx_tiled(const Win *w);
static void emit_conv2d_dx_tiled(Node *n);
static int conv_dw_tiled(const Win *w);
static void emit_conv2d_dw_tiled(Node *n);

static void emit_conv2d(Node *n) {
    Node *x = n->in[0], *wt = n->in[1], *b = n->in[2];
    Win w = win_of(n, x, n);
    if (conv_tiled(n, &w)) {
        emit_conv2d_tiled(n);
        return;
    }
    emit("/* %s: out %s = %s(conv(x %s, weight %s, stride (%d, %d), padding (%d, %d)%s)%s) */", n->layer,
         dims(n), act_str(n->act, n->f), dims(x), dims(wt), w.sh, w.sw, w.pt, w.pl, win_extra(&w),
         b ? " + bias" : "");
    OPEN("static void %s($ *out, const $ *x, const $ *weight%s, int n) {", funcs[n->id],
         b ? ", const $ *bias" : "");
    OPEN("for (int b = 0; b < n; b++) {");
    emit("const $ *xb = x + b * %ld;", w.c * w.h * w.w);
    OPEN("for (int f = 0; f < %ld; f++) {", w.f);
    OPEN("for (int oh = 0; oh < %ld; oh++) {", w.oh);
    emit("$ acc[%ld];", w.ow);
    emit("for (int ow = 0; ow < %ld; ow++) acc[ow] = %s;", w.ow, b ? "bias[f]" : "0.0@");
    OPEN("for (int c = 0; c < %ld; c++) {", w.cg);
    OPEN("for (int ki = 0; ki < %d; ki++) {", w.kh);
    emit_in_row(&w);
    emit("const $ *xr = xb + (%s + ih) * %ld;", chan_rows(&w), w.w);
    emit("const $ *wk = weight + ((f * %ld + c) * %d + ki) * %d;", w.cg, w.kh, w.kw);
    emit_kernel_cols(&w, "acc[ow] += wk[%s] * xr[%s];");
    CLOSE();
    CLOSE();
    emit("$ *o = out + ((b * %ld + f) * %ld + oh) * %ld;", w.f, w.oh, w.ow);
    emit("for (int ow = 0; ow < %ld; ow++) o[ow] = %s;", w.ow, act_expr(n->act, n->f, "acc[ow]"));
    CLOSE();
    CLOSE();
    CLOSE();
    CLOSE();
}

/* dx[b, c, ih, iw] = sum of weight[f, c, ki, kj] dy[b, f, oh, ow] over the
 * outputs that read x[b, c, ih, iw]: each dy row scattered back. */
static void emit_conv2d_dx(Node *n) {
    Node *dy = n->in[0], *wt = n->in[1];
    Win w = win_of(n, n, dy);
    if (conv_dx_tiled(&w)) {
        emit_conv2d_dx_tiled(n);
        return;
    }
    emit("/* %s: dx %s = conv_transpose(dy %s, weight %s%s) */", n->layer, dims(n), dims(dy), dims(wt),
         win_extra(&w));
    OPEN("static void %s($ *dx, const $ *dy, const $ *weight, const $ *x, int n) {", funcs[n->id]);
    emit("(void)x; /* read for its shape only */");
    emit("for (int i = 0; i < n * %ld; i++) dx[i] = 0.0@;", w.c * w.h * w.w);
    OPEN("for (int b = 0; b < n; b++) {");
    emit("$ *dxb = dx + b * %ld;", w.c * w.h * w.w);
    OPEN("for (int f = 0; f < %ld; f++) {", w.f);
    OPEN("for (int oh = 0; oh < %ld; oh++) {", w.oh);
    emit("const $ *d = dy + ((b * %ld + f) * %ld + oh) * %ld;", w.f, w.oh, w.ow);
    OPEN("for (int c = 0; c < %ld; c++) {", w.cg);
    OPEN("for (int ki = 0; ki < %d; ki++) {", w.kh);
    emit_in_row(&w);
    emit("$ *xr = dxb + (%s + ih) * %ld;", chan_rows(&w), w.w);
    emit("const $ *wk = weight + ((f * %ld + c) * %d + ki) * %d;", w.cg, w.kh, w.kw);
    emit_kernel_cols(&w, "xr[%2$s] += wk[%1$s] * d[ow];");
    for (int i = 0; i < 6; i++)
        CLOSE();
}

/* dweight[f, c, ki, :] = sum over b, oh, ow of dy[b, f, oh, ow] x[b, c, ih, iw],
 * every kernel column at once in local rows of partial sums (each dy row read
 * once per kernel row), summed at the end. */
static void emit_conv2d_dw(Node *n) {
    Node *dy = n->in[0], *x = n->in[1];
    Win w = win_of(n, x, dy);
    if (conv_dw_tiled(&w)) {
        emit_conv2d_dw_tiled(n);
        return;
    }
    emit("/* %s: dweight %s = correlation of x %s with dy %s%s */", n->layer, dims(n), dims(x), dims(dy),
         win_extra(&w));
    OPEN("static void %s($ *dw, const $ *dy, const $ *x, int n) {", funcs[n->id]);
    OPEN("for (int f = 0; f < %ld; f++) {", w.f);
    OPEN("for (int c = 0; c < %ld; c++) {", w.cg);
    OPEN("for (int ki = 0; ki < %d; ki++) {", w.kh);
    emit("$ acc[%d][%ld];", w.kw, w.ow);
    emit("for (int kj = 0; kj < %d; kj++)", w.kw);
    emit("    for (int ow = 0; ow < %ld; ow++) acc[kj][ow] = 0.0@;", w.ow);
    OPEN("for (int b = 0; b < n; b++) {");
    OPEN("for (int oh = 0; oh < %ld; oh++) {", w.oh);
    emit_in_row(&w);
    emit("const $ *d = dy + ((b * %ld + f) * %ld + oh) * %ld;", w.f, w.oh, w.ow);
    emit("const $ *xr = x + (b * %ld + %s + ih) * %ld;", w.c * w.h, chan_rows(&w), w.w);
    emit_kernel_cols(&w, "acc[%s][ow] += d[ow] * xr[%s];");
    CLOSE();
    CLOSE();
    OPEN("for (int kj = 0; kj < %d; kj++) {", w.kw);
    emit("$ sum = 0.0@;");
    emit("for (int ow = 0; ow < %ld; ow++) sum += acc[kj][ow];", w.ow);
    emit("dw[((f * %ld + c) * %d + ki) * %d + kj] = sum;", w.cg, w.kh, w.kw);
    for (int i = 0; i < 5; i++)
        CLOSE();
}

/* ---- convolutions on zero-padded planes ---------------------------------
 * The fast form of the three convolution kernels, used when their working
 * buffers fit TILE_MAX_FLOATS: each image's input is first copied into a
 * zero-padded plane, so the loops need no edge tests, and
 * every row loop runs over a whole number of 8-float vectors with literal
 * bounds (the output columns beyond the image are computed and dropped).
 * Forward and dx keep a block of output channels x columns of sums in
 * registers while they run over every input channel and kernel tap, so each
 * input vector loaded feeds several multiply-adds. dx with stride 1 is the
 * same loop over dy padded by the kernel's span, reading the kernel flipped.
 * dW runs over the filters in the innermost loop, with dy transposed so they
 * are contiguous. The planes are not local arrays (a microcontroller's stack
 * has a few KB): the function takes them as `scratch`, a block of the
 * activation area plan.c reserves while the node runs (node_scratch below),
 * and views it as the arrays it was. */

/* Working buffers of up to this many floats (64 KB) in all; larger layers use
 * the plain loops above, which need none. */
#define TILE_MAX_FLOATS 16384
/* Sums kept in registers: output channels x columns (12 AVX-512 registers). */
#define TILE_ACC 192

static long round_up(long v, long m) { return (v + m - 1) / m * m; }

/* One blocked convolution: out[o, oh, ow] = init + sum over i, ki, kj of
 * weight(o, i, ki, kj) pr[i][oh * sh + ki * dh][ow * sw + kj * dw], where pr is the
 * padded plane `plane` [ci][hp][wp] and o runs over co outputs, in groups of
 * cog reading cig inputs each. */
typedef struct Tile {
    const char *plane;          /* the local padded input plane */
    long ci, co, cig, cog;      /* input and output channels, all and per group */
    long oh, ow;                /* output size */
    long hp, wp;                /* plane size */
    int kh, kw, sh, sw, dh, dw;
    long chunk, fb, rb;         /* columns per block (a multiple of 8), output channels and rows per block */
} Tile;

/* Columns, output channels and output rows per block: chunk * fb * rb sums
 * at most TILE_ACC, fb dividing the channels of a group so a block is in one
 * group, rb dividing the rows. */
static void tile_blocks(Tile *t) {
    long w8 = round_up(t->ow, 8);
    t->chunk = w8 <= 32 ? w8 : 32;
    t->fb = t->rb = 1;
    for (long d = 1; d <= t->cog && d * t->chunk <= TILE_ACC; d++)
        if (t->cog % d == 0)
            t->fb = d;
    for (long d = 1; d <= t->oh && d * t->fb * t->chunk <= TILE_ACC; d++)
        if (t->oh % d == 0)
            t->rb = d;
}

/* Padded plane size for a tile of the given output: every column block reads
 * whole, inside the plane. */
static void tile_plane(Tile *t) {
    long cols = round_up(t->ow, t->chunk);
    t->hp = (t->oh - 1) * t->sh + (long)(t->kh - 1) * t->dh + 1;
    t->wp = (cols - 1) * t->sw + (long)(t->kw - 1) * t->dw + 1;
}

/* dst[c][r + top][s + left] = src[c][r][s] for the part that lands in [hp, wp),
 * zeros elsewhere; src is an expression of c, r: the start of one source row.
 * Rows are copied with memcpy: dst is scratch, which the C compiler cannot
 * tell apart from src, and a loop would be left unvectorized for fear they
 * overlap; memcpy says they do not. */
static void emit_pad_copy(const char *dst, long ch, long hp, long wp, long h, long w, long top, long left,
                          const char *src_row) {
    emit("for (int c = 0; c < %ld; c++)", ch);
    emit("    for (int r = 0; r < %ld; r++)", hp);
    emit("        for (int s = 0; s < %ld; s++) %s[c][r][s] = 0.0@;", wp, dst);
    long r0 = top < 0 ? -top : 0, r1 = h < hp - top ? h : hp - top;
    long s0 = left < 0 ? -left : 0, s1 = w < wp - left ? w : wp - left;
    if (r0 >= r1 || s0 >= s1)
        return;
    OPEN("for (int c = 0; c < %ld; c++) {", ch);
    OPEN("for (int r = %ld; r < %ld; r++) {", r0, r1);
    emit("const $ *src = %s;", src_row);
    emit("memcpy(&%s[c][r + %ld][%ld], src%s, %ld * sizeof($));", dst, top, s0 + left, s0 ? fmt(" + %ld", s0) : "",
         s1 - s0);
    CLOSE();
    CLOSE();
}

/* The blocked loops of a Tile, inside the loop over images b: wexpr is the
 * weight index of output channel "o0 + o", input "i", tap "ki", "kj"; init
 * the sums' start (of "o0 + o"); store prints the result of block row o. */
static void emit_tile(const Tile *t, const char *wexpr, const char *init, const char *out, Op act,
                      const double *f) {
    long cols = round_up(t->ow, t->chunk);
    int rows = t->rb > 1;    /* several output rows per block: their sums share each weight */
    const char *base = t->cig == t->ci ? "" : fmt("(o0 / %ld) * %ld + ", t->cog, t->cig);
    const char *a = rows ? "acc[o][r][ow]" : "acc[o][ow]";
    OPEN("for (int o0 = 0; o0 < %ld; o0 += %ld) {", t->co, t->fb);
    if (rows)
        OPEN("for (int oh = 0; oh < %ld; oh += %ld) {", t->oh, t->rb);
    else
        OPEN("for (int oh = 0; oh < %ld; oh++) {", t->oh);
    if (cols > t->chunk)
        OPEN("for (int ow0 = 0; ow0 < %ld; ow0 += %ld) {", cols, t->chunk);
    if (rows) {
        emit("$ acc[%ld][%ld][%ld];", t->fb, t->rb, t->chunk);
        emit("for (int o = 0; o < %ld; o++)", t->fb);
        emit("    for (int r = 0; r < %ld; r++)", t->rb);
        emit("        for (int ow = 0; ow < %ld; ow++) acc[o][r][ow] = %s;", t->chunk, init);
    } else {
        emit("$ acc[%ld][%ld];", t->fb, t->chunk);
        emit("for (int o = 0; o < %ld; o++)", t->fb);
        emit("    for (int ow = 0; ow < %ld; ow++) acc[o][ow] = %s;", t->chunk, init);
    }
    OPEN("for (int i = 0; i < %ld; i++) {", t->cig);
    OPEN("for (int ki = 0; ki < %d; ki++) {", t->kh);
    emit("const $ *pr = %s[%si][%s + %s]%s;", t->plane, base, t->sh == 1 ? "oh" : fmt("oh * %d", t->sh),
         t->dh == 1 ? "ki" : fmt("ki * %d", t->dh),
         cols > t->chunk ? (t->sw == 1 ? " + ow0" : fmt(" + ow0 * %d", t->sw)) : "");
    OPEN("for (int kj = 0; kj < %d; kj++) {", t->kw);
    OPEN("for (int o = 0; o < %ld; o++) {", t->fb);
    emit("const $ wv = weight[%s];", wexpr);
    const char *col = fmt("%s + %s", t->sw == 1 ? "ow" : fmt("ow * %d", t->sw), t->dw == 1 ? "kj" : fmt("kj * %d", t->dw));
    if (rows) {
        emit("for (int r = 0; r < %ld; r++)", t->rb);
        emit("    for (int ow = 0; ow < %ld; ow++) acc[o][r][ow] += wv * pr[r * %ld + %s];", t->chunk,
             t->sh * t->wp, col);
    } else {
        emit("for (int ow = 0; ow < %ld; ow++) acc[o][ow] += wv * pr[%s];", t->chunk, col);
    }
    CLOSE();
    CLOSE();
    CLOSE();
    CLOSE();
    const char *len = fmt("%ld", t->ow);
    if (cols > t->chunk) {
        emit("const int len = %ld - ow0 < %ld ? %ld - ow0 : %ld;", t->ow, t->chunk, t->ow, t->chunk);
        len = "len";
    }
    OPEN("for (int o = 0; o < %ld; o++) {", t->fb);
    if (rows)
        OPEN("for (int r = 0; r < %ld; r++) {", t->rb);
    emit("$ *dst = %s + ((b * %ld + o0 + o) * %ld + oh%s) * %ld%s;", out, t->co, t->oh, rows ? " + r" : "", t->ow,
         cols > t->chunk ? " + ow0" : "");
    emit("for (int ow = 0; ow < %s; ow++) dst[ow] = %s;", len, act_expr(act, f, a));
    if (rows)
        CLOSE();
    CLOSE();
    if (cols > t->chunk)
        CLOSE();
    CLOSE();
    CLOSE();
}

/* The forward Tile of a convolution: x padded by (pt, pl) into xp. */
static Tile conv_tile(const Win *w) {
    Tile t = {"xp", w->c, w->f, w->cg, w->fg, w->oh, w->ow, 0, 0, w->kh, w->kw, w->sh, w->sw, w->dh, w->dw, 0, 0, 0};
    tile_blocks(&t);
    tile_plane(&t);
    return t;
}

/* Floats of a tiled kernel's working buffers, each starting on a 64-byte
 * boundary as plan.c's blocks do. */
static long scratch_part(long floats) { return round_up(floats, 16); }

/* `name` as a local array [d0][d1][d2] (or [d0][d2] with d1 = 0) over the
 * floats of scratch from `at`. */
static void emit_view(const char *name, long d0, long d1, long d2, long at, const char *why) {
    const char *inner = d1 ? fmt("[%ld][%ld]", d1, d2) : fmt("[%ld]", d2);
    emit("/* %s: [%ld]%s in scratch */", why, d0, inner);
    emit("$ (*%s)%s = ($ (*)%s)%s;", name, inner, inner, at ? fmt("(scratch + %ld)", at) : "scratch");
}

/* x[b] into its zero-padded plane xp, at scratch + at. */
static void emit_x_plane(const Win *w, const Tile *t, long at) {
    emit_view("xp", w->c, t->hp, t->wp, at, fmt("x[b] with %d rows and %d columns of zeros before it", w->pt, w->pl));
    emit_pad_copy("xp", w->c, t->hp, t->wp, w->h, w->w, w->pt, w->pl,
                  fmt("x + ((b * %ld + c) * %ld + r) * %ld", w->c, w->h, w->w));
}

static int conv_tiled(const Node *n, const Win *w) {
    (void)n;
    Tile t = conv_tile(w);
    return w->c * t.hp * t.wp <= TILE_MAX_FLOATS;
}

static void emit_conv2d_tiled(Node *n) {
    Node *x = n->in[0], *wt = n->in[1], *b = n->in[2];
    Win w = win_of(n, x, n);
    Tile t = conv_tile(&w);
    emit("/* %s: out %s = %s(conv(x %s, weight %s, stride (%d, %d), padding (%d, %d)%s)%s);", n->layer,
         dims(n), act_str(n->act, n->f), dims(x), dims(wt), w.sh, w.sw, w.pt, w.pl, win_extra(&w),
         b ? " + bias" : "");
    emit(" * %ld output channels x %ld columns of sums at a time */", t.fb, t.chunk);
    OPEN("static void %s($ *out, const $ *x, const $ *weight%s, $ *scratch, int n) {", funcs[n->id],
         b ? ", const $ *bias" : "");
    OPEN("for (int b = 0; b < n; b++) {");
    emit_x_plane(&w, &t, 0);
    emit_tile(&t, fmt("(((o0 + o) * %ld + i) * %d + ki) * %d + kj", w.cg, w.kh, w.kw), b ? "bias[o0 + o]" : "0.0@",
              "out", n->act, n->f);
    CLOSE();
    CLOSE();
}

/* dx with stride 1: the convolution of dy, padded by the kernel's span less
 * the forward padding, with the kernel flipped and its channel axes swapped. */
static Tile dx_tile(const Win *w) {
    Tile t = {"dp", w->f, w->c, w->fg, w->cg, w->h, w->w, 0, 0, w->kh, w->kw, 1, 1, w->dh, w->dw, 0, 0, 0};
    tile_blocks(&t);
    tile_plane(&t);
    return t;
}

static int conv_dx_tiled(const Win *w) {
    Tile t = dx_tile(w);
    return w->sh == 1 && w->sw == 1 && w->f * t.hp * t.wp <= TILE_MAX_FLOATS;
}

static void emit_conv2d_dx_tiled(Node *n) {
    Node *dy = n->in[0], *wt = n->in[1];
    Win w = win_of(n, n, dy);
    Tile t = dx_tile(&w);
    long top = (long)(w.kh - 1) * w.dh - w.pt, left = (long)(w.kw - 1) * w.dw - w.pl;
    emit("/* %s: dx %s = conv_transpose(dy %s, weight %s%s): dy zero-padded by the kernel's span,", n->layer,
         dims(n), dims(dy), dims(wt), win_extra(&w));
    emit(" * convolved with the flipped kernel, %ld channels x %ld columns at a time */", t.fb, t.chunk);
    OPEN("static void %s($ *dx, const $ *dy, const $ *weight, const $ *x, $ *scratch, int n) {", funcs[n->id]);
    emit("(void)x; /* read for its shape only */");
    OPEN("for (int b = 0; b < n; b++) {");
    emit_view("dp", w.f, t.hp, t.wp, 0, fmt("dy[b] with %ld rows and %ld columns of zeros before it", top, left));
    emit_pad_copy("dp", w.f, t.hp, t.wp, w.oh, w.ow, top, left,
                  fmt("dy + ((b * %ld + c) * %ld + r) * %ld", w.f, w.oh, w.ow));
    /* output channel c = o0 + o, its group's dy channel (c / cg) * fg + i, tap flipped */
    const char *fi = w.cg == w.c ? "i" : fmt("((o0 + o) / %ld) * %ld + i", w.cg, w.fg);
    const char *co = w.cg == w.c ? "o0 + o" : fmt("(o0 + o) %% %ld", w.cg);
    emit_tile(&t, fmt("(%s * %ld + %s) * %d + (%d - ki) * %d + %d - kj", w.cg == w.c ? fi : fmt("(%s)", fi), w.cg,
                      co, w.kh * w.kw, w.kh - 1, w.kw, w.kw - 1), "0.0@", "dx", OP_NONE, n->f);
    CLOSE();
    CLOSE();
}

/* dW: per image, x padded as in the forward pass and dy transposed to
 * dt[position][filter] (each group's filters padded to a multiple of 8 with
 * zeros); every tap's sums over a group's filters are one row of dwt,
 * summed over the batch and transposed into dw at the end. */
static long dw_fgp(const Win *w) { return round_up(w->fg, 8); }

static int conv_dw_tiled(const Win *w) {
    Tile t = conv_tile(w);
    long g = w->c / w->cg, fgp = dw_fgp(w);
    long floats = w->c * t.hp * t.wp + (w->fg < 16 ? w->f * w->oh * round_up(w->ow, 8)
                                                   : g * fgp * (w->cg * w->kh * w->kw + w->oh * w->ow));
    return floats <= TILE_MAX_FLOATS;
}

/* dW with few filters per group (a vector over them would be mostly
 * empty): per image and (f, c, ki), rows of products along the output
 * columns, dy's rows padded with zeros to whole vectors, summed at the end. */
static void emit_conv2d_dw_rows(Node *n) {
    Node *dy = n->in[0], *x = n->in[1];
    Win w = win_of(n, x, dy);
    Tile t = conv_tile(&w);
    long owp = round_up(w.ow, 8);
    emit("/* %s: dweight %s = correlation of x %s with dy %s%s, row by row */", n->layer, dims(n), dims(x),
         dims(dy), win_extra(&w));
    OPEN("static void %s($ *dw, const $ *dy, const $ *x, $ *scratch, int n) {", funcs[n->id]);
    emit("for (int k = 0; k < %ld; k++) dw[k] = 0.0@;", node_numel(n));
    OPEN("for (int b = 0; b < n; b++) {");
    emit_x_plane(&w, &t, 0);
    emit_view("dp", w.f, w.oh, owp, scratch_part(w.c * t.hp * t.wp), fmt("dy[b], rows padded with zeros to %ld", owp));
    emit_pad_copy("dp", w.f, w.oh, owp, w.oh, w.ow, 0, 0, fmt("dy + ((b * %ld + c) * %ld + r) * %ld", w.f, w.oh, w.ow));
    OPEN("for (int f = 0; f < %ld; f++) {", w.f);
    OPEN("for (int c = 0; c < %ld; c++) {", w.cg);
    OPEN("for (int ki = 0; ki < %d; ki++) {", w.kh);
    emit("$ acc[%d][%ld];", w.kw, owp);
    emit("for (int kj = 0; kj < %d; kj++)", w.kw);
    emit("    for (int ow = 0; ow < %ld; ow++) acc[kj][ow] = 0.0@;", owp);
    OPEN("for (int oh = 0; oh < %ld; oh++) {", w.oh);
    emit("const $ *d = dp[f][oh];");
    emit("const $ *xr = xp[%s][%s + %s];", w.cg == w.c ? "c" : w.cg == 1 && w.fg == 1 ? "f + c" :
         fmt("(f / %ld) * %ld + c", w.fg, w.cg), w.sh == 1 ? "oh" : fmt("oh * %d", w.sh),
         w.dh == 1 ? "ki" : fmt("ki * %d", w.dh));
    emit("for (int kj = 0; kj < %d; kj++)", w.kw);
    emit("    for (int ow = 0; ow < %ld; ow++) acc[kj][ow] += d[ow] * xr[%s + %s];", owp,
         w.sw == 1 ? "ow" : fmt("ow * %d", w.sw), w.dw == 1 ? "kj" : fmt("kj * %d", w.dw));
    CLOSE();
    OPEN("for (int kj = 0; kj < %d; kj++) {", w.kw);
    emit("$ sum = 0.0@;");
    emit("for (int ow = 0; ow < %ld; ow++) sum += acc[kj][ow];", owp);
    emit("dw[((f * %ld + c) * %d + ki) * %d + kj] += sum;", w.cg, w.kh, w.kw);
    for (int i = 0; i < 6; i++)
        CLOSE();
}

static void emit_conv2d_dw_tiled(Node *n) {
    Node *dy = n->in[0], *x = n->in[1];
    Win w = win_of(n, x, dy);
    Tile t = conv_tile(&w);
    if (w.fg < 16) {
        emit_conv2d_dw_rows(n);
        return;
    }
    long g = w.c / w.cg, fgp = dw_fgp(&w), taps = (long)w.kh * w.kw, pos = w.oh * w.ow;
    emit("/* %s: dweight %s = correlation of x %s with dy %s%s,", n->layer, dims(n), dims(x), dims(dy),
         win_extra(&w));
    emit(" * the filters of a group innermost: dwt[group, c, ki, kj][filter] */");
    long at_xp = scratch_part(g * w.cg * taps * fgp), at_dt = at_xp + scratch_part(w.c * t.hp * t.wp);
    OPEN("static void %s($ *dw, const $ *dy, const $ *x, $ *scratch, int n) {", funcs[n->id]);
    emit_view("dwt", g * w.cg * taps, 0, fgp, 0, "the sums, [group, c, ki, kj][filter]");
    emit("for (int k = 0; k < %ld; k++)", g * w.cg * taps);
    emit("    for (int f = 0; f < %ld; f++) dwt[k][f] = 0.0@;", fgp);
    OPEN("for (int b = 0; b < n; b++) {");
    emit_x_plane(&w, &t, at_xp);
    emit_view("dt", pos, 0, g * fgp, at_dt, fmt("dy[b] transposed: [oh * %ld + ow][group * %ld + filter]", w.ow, fgp));
    if (fgp != w.fg)
        emit("for (int p = 0; p < %ld; p++) for (int f = 0; f < %ld; f++) dt[p][f] = 0.0@;", pos, g * fgp);
    emit("for (int f = 0; f < %ld; f++)", w.f);
    emit("    for (int p = 0; p < %ld; p++) dt[p][%s] = dy[(b * %ld + f) * %ld + p];", pos,
         fgp == w.fg ? "f" : fmt("(f / %ld) * %ld + f %% %ld", w.fg, fgp, w.fg), w.f, pos);
    OPEN("for (int k = 0; k < %ld; k++) {  /* (group, c, ki) */", g * w.cg * w.kh);
    emit("const int c = k / %d, ki = k %% %d;", w.kh, w.kh);
    if (g > 1)
        emit("const int grp = c / %ld;", w.cg);
    emit("$ acc[%d][%ld];", w.kw, fgp);
    emit("for (int kj = 0; kj < %d; kj++)", w.kw);
    emit("    for (int f = 0; f < %ld; f++) acc[kj][f] = 0.0@;", fgp);
    OPEN("for (int oh = 0; oh < %ld; oh++) {", w.oh);
    emit("const $ *xr = xp[c][%s + %s];", w.sh == 1 ? "oh" : fmt("oh * %d", w.sh), w.dh == 1 ? "ki" : fmt("ki * %d", w.dh));
    OPEN("for (int ow = 0; ow < %ld; ow++) {", w.ow);
    emit("const $ *d = dt[oh * %ld + ow]%s;", w.ow, g > 1 ? fmt(" + grp * %ld", fgp) : "");
    OPEN("for (int kj = 0; kj < %d; kj++) {", w.kw);
    emit("const $ v = xr[%s + %s];", w.sw == 1 ? "ow" : fmt("ow * %d", w.sw), w.dw == 1 ? "kj" : fmt("kj * %d", w.dw));
    emit("for (int f = 0; f < %ld; f++) acc[kj][f] += v * d[f];", fgp);
    CLOSE();
    CLOSE();
    CLOSE();
    emit("for (int kj = 0; kj < %d; kj++)", w.kw);
    emit("    for (int f = 0; f < %ld; f++) dwt[k * %d + kj][f] += acc[kj][f];", fgp, w.kw);
    CLOSE();
    CLOSE();
    /* dw[f][c'][ki][kj], c' within f's group: row (grp * cg + c') * taps + tap of dwt */
    emit("for (int f = 0; f < %ld; f++)", w.f);
    emit("    for (int k = 0; k < %ld; k++) dw[f * %ld + k] = dwt[%sk][%s];", w.cg * taps, w.cg * taps,
         g > 1 ? fmt("(f / %ld) * %ld + ", w.fg, w.cg * taps) : "", g > 1 ? fmt("f %% %ld", w.fg) : "f");
    CLOSE();
}

/* The working space of a convolution's tiled function, laid out as its
 * emitter above views it; 0 for the plain loops and every other op. */
long node_scratch(const Node *n) {
    if (n->op == OP_CONV2D) {
        Win w = win_of(n, n->in[0], n);
        Tile t = conv_tile(&w);
        return conv_tiled(n, &w) ? w.c * t.hp * t.wp : 0;
    }
    if (n->op == OP_CONV2D_DX) {
        Win w = win_of(n, n, n->in[0]);
        Tile t = dx_tile(&w);
        return conv_dx_tiled(&w) ? w.f * t.hp * t.wp : 0;
    }
    if (n->op == OP_CONV2D_DW) {
        Win w = win_of(n, n->in[1], n->in[0]);
        if (!conv_dw_tiled(&w))
            return 0;
        Tile t = conv_tile(&w);
        long xp = w.c * t.hp * t.wp, g = w.c / w.cg, fgp = dw_fgp(&w);
        if (w.fg < 16)      /* emit_conv2d_dw_rows: xp, dp */
            return scratch_part(xp) + w.f * w.oh * round_up(w.ow, 8);
        /* dwt, xp, dt */
        return scratch_part(g * w.cg * w.kh * w.kw * fgp) + scratch_part(xp) + w.oh * w.ow * g * fgp;
    }
    return 0;
}

/* dbias[f] = dy[:, f, ...] summed. */
static void emit_channel_db(Node *n) {
    Node *dy = n->in[0];
    long ch = n->shape.dim[0], per = node_row(dy) / ch;
    emit("/* %s: dbias %s = dy %s summed per channel */", n->layer, dims(n), dims(dy));
    OPEN("static void %s($ *db, const $ *dy, int n) {", funcs[n->id]);
    OPEN("for (int f = 0; f < %ld; f++) {", ch);
    emit("$ acc[%d] = {0};", 8);
    OPEN("for (int b = 0; b < n; b++) {");
    emit("const $ *d = dy + (b * %ld + f) * %ld;", ch, per);
    if (per >= 8)
        emit("for (int i = 0; i < %ld; i += 8) for (int l = 0; l < 8; l++) acc[l] += d[i + l];", per / 8 * 8);
    if (per % 8)
        emit("for (int i = %ld; i < %ld; i++) acc[i - %ld] += d[i];", per / 8 * 8, per, per / 8 * 8);
    CLOSE();
    emit("$ sum = 0.0@;");
    emit("for (int l = 0; l < 8; l++) sum += acc[l];");
    emit("db[f] = sum;");
    CLOSE();
    CLOSE();
}

/* The window of output (oh, ow) clipped to the image: rows [i0, i1), columns [j0, j1). */
static void emit_pool_window(const Win *w) {
    emit("const int r = oh * %d - %d, s = ow * %d - %d;", w->sh, w->pt, w->sw, w->pl);
    emit("const int i0 = r < 0 ? 0 : r, i1 = r + %d < %ld ? r + %d : %ld;", w->kh, w->h, w->kh, w->h);
    emit("const int j0 = s < 0 ? 0 : s, j1 = s + %d < %ld ? s + %d : %ld;", w->kw, w->w, w->kw, w->w);
}

/* Every window inside the image (no padding, none running past the end):
 * windows have literal bounds and need no clipping. */
static int pool_inside(const Win *w) {
    return w->pt == 0 && w->pl == 0 && (w->oh - 1) * w->sh + w->kh <= w->h && (w->ow - 1) * w->sw + w->kw <= w->w;
}

/* max: the largest value of the window; avg: the mean of the values inside
 * the image (padding is not counted, as Keras; PyTorch's
 * count_include_pad = False). Windows inside the image: one output row at a
 * time in a local row m, window offset by window offset, so the loop over
 * the output columns vectorizes. */
static void emit_pool2d(Node *n) {
    Node *x = n->in[0];
    Win w = win_of(n, x, n);
    int max = n->op == OP_MAX_POOL2D;
    emit("/* %s: out %s = %s over %dx%d windows of x %s, stride (%d, %d), padding (%d, %d) */", n->layer,
         dims(n), max ? "max" : "mean", w.kh, w.kw, dims(x), w.sh, w.sw, w.pt, w.pl);
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    OPEN("for (int p = 0; p < n * %ld; p++) {", w.c);
    emit("const $ *xp = x + p * %ld;", w.h * w.w);
    emit("$ *o = out + p * %ld;", w.oh * w.ow);
    OPEN("for (int oh = 0; oh < %ld; oh++) {", w.oh);
    if (pool_inside(&w)) {
        const char *col = w.sw == 1 ? "ow + j" : fmt("ow * %d + j", w.sw);
        emit("const $ *xr = xp + oh * %ld;", w.sh * w.w);
        emit("$ m[%ld];", w.ow);
        emit("for (int ow = 0; ow < %ld; ow++) m[ow] = %s;", w.ow, max ? fmt("xr[%s]", w.sw == 1 ? "ow" :
             fmt("ow * %d", w.sw)) : "0.0@");
        emit("for (int i = 0; i < %d; i++)", w.kh);
        emit("    for (int j = 0; j < %d; j++)", w.kw);
        if (max)
            emit("        for (int ow = 0; ow < %ld; ow++) m[ow] = xr[i * %ld + %s] > m[ow] ? xr[i * %ld + %s] : m[ow];",
                 w.ow, w.w, col, w.w, col);
        else
            emit("        for (int ow = 0; ow < %ld; ow++) m[ow] += xr[i * %ld + %s];", w.ow, w.w, col);
        emit("for (int ow = 0; ow < %ld; ow++) o[oh * %ld + ow] = m[ow]%s;", w.ow, w.ow,
             max ? "" : fmt(" / %s", lit(w.kh * w.kw)));
        for (int i = 0; i < 3; i++)
            CLOSE();
        return;
    }
    OPEN("for (int ow = 0; ow < %ld; ow++) {", w.ow);
    emit_pool_window(&w);
    if (max) {
        emit("$ m = xp[i0 * %ld + j0];", w.w);
        emit("for (int i = i0; i < i1; i++)");
        emit("    for (int j = j0; j < j1; j++) m = xp[i * %ld + j] > m ? xp[i * %ld + j] : m;", w.w, w.w);
        emit("o[oh * %ld + ow] = m;", w.ow);
    } else {
        emit("$ sum = 0.0@;");
        emit("for (int i = i0; i < i1; i++)");
        emit("    for (int j = j0; j < j1; j++) sum += xp[i * %ld + j];", w.w);
        emit("o[oh * %ld + ow] = sum / ($)((i1 - i0) * (j1 - j0));", w.ow);
    }
    for (int i = 0; i < 4; i++)
        CLOSE();
}

/* max: each window's dy goes to its first maximum in row-major order (as
 * PyTorch); avg: spread evenly over the values the mean read. With an
 * activation folded in (fuse.c), what arrives is multiplied by its
 * derivative at x, the activation's output. */
static void emit_pool2d_dx(Node *n) {
    Node *dy = n->in[0];
    Win w = win_of(n, n, dy);
    int max = n->win[WIN_MAX], inside = pool_inside(&w);
    const char *to = max ? "the first maximum of each window" : "each window evenly";
    if (n->act)
        emit("/* %s: dx %s = dy %s sent back to %s, times %s'(x) */", n->layer, dims(n), dims(dy), to,
             act_str(n->act, n->f));
    else
        emit("/* %s: dx %s = dy %s sent back to %s */", n->layer, dims(n), dims(dy), to);
    OPEN("static void %s($ *dx, const $ *dy, const $ *x, const $ *y, int n) {", funcs[n->id]);
    emit(max || n->act ? "(void)y;" : "(void)x, (void)y;");
    emit("for (int i = 0; i < n * %ld; i++) dx[i] = 0.0@;", w.c * w.h * w.w);
    OPEN("for (int p = 0; p < n * %ld; p++) {", w.c);
    if (max || n->act)
        emit("const $ *xp = x + p * %ld;", w.h * w.w);
    emit("$ *dxp = dx + p * %ld;", w.h * w.w);
    emit("const $ *d = dy + p * %ld;", w.oh * w.ow);
    OPEN("for (int oh = 0; oh < %ld; oh++) {", w.oh);
    if (inside && max) {    /* a row of windows at a time: the search vectorizes over ow */
        const char *col = w.sw == 1 ? "ow" : fmt("ow * %d", w.sw);
        emit("const $ *xr = xp + oh * %ld;", w.sh * w.w);
        emit("$ best[%ld];", w.ow);
        emit("int arg[%ld];  /* the maximum's offset i * %ld + j in its window */", w.ow, w.w);
        emit("for (int ow = 0; ow < %ld; ow++) best[ow] = xr[%s], arg[ow] = 0;", w.ow, col);
        OPEN("for (int i = 0; i < %d; i++) {", w.kh);
        OPEN("for (int j = 0; j < %d; j++) {", w.kw);
        OPEN("for (int ow = 0; ow < %ld; ow++) {", w.ow);
        emit("const $ v = xr[i * %ld + %s + j];", w.w, col);
        emit("const int up = v > best[ow];  /* 0 or 1: arithmetic, not a branch on unpredictable data */");
        emit("arg[ow] += up * (i * %ld + j - arg[ow]);", w.w);
        emit("best[ow] = v > best[ow] ? v : best[ow];");
        CLOSE();
        CLOSE();
        CLOSE();
        emit("for (int ow = 0; ow < %ld; ow++) dxp[oh * %ld + %s + arg[ow]] += %s;", w.ow, w.sh * w.w, col,
             n->act ? act_grad_expr(n->act, n->f, fmt("d[oh * %ld + ow]", w.ow), "best[ow]")
                    : fmt("d[oh * %ld + ow]", w.ow));
        for (int i = 0; i < 3; i++)
            CLOSE();
        return;
    }
    OPEN("for (int ow = 0; ow < %ld; ow++) {", w.ow);
    const char *i0 = "i0", *i1 = "i1", *j0 = "j0", *j1 = "j1";
    if (inside) {
        emit("const int r = oh * %d, s = ow * %d;", w.sh, w.sw);
        i0 = "r", j0 = "s", i1 = fmt("r + %d", w.kh), j1 = fmt("s + %d", w.kw);
    } else {
        emit_pool_window(&w);
    }
    if (max) {
        /* selects, not branches: which value wins is data, and unpredictable */
        emit("int arg = %s * %ld + %s;", i0, w.w, j0);
        emit("$ best = xp[arg];");
        OPEN("for (int i = %s; i < %s; i++) {", i0, i1);
        OPEN("for (int j = %s; j < %s; j++) {", j0, j1);
        emit("const $ v = xp[i * %ld + j];", w.w);
        emit("arg = v > best ? i * %ld + j : arg;", w.w);
        emit("best = v > best ? v : best;");
        CLOSE();
        CLOSE();
        emit("dxp[arg] += %s;", n->act ? act_grad_expr(n->act, n->f, fmt("d[oh * %ld + ow]", w.ow), "xp[arg]")
                                       : fmt("d[oh * %ld + ow]", w.ow));
    } else {
        emit("const $ g = d[oh * %ld + ow] / ($)(%s);", w.ow,
             inside ? fmt("%d", w.kh * w.kw) : "(i1 - i0) * (j1 - j0)");
        emit("for (int i = %s; i < %s; i++)", i0, i1);
        emit("    for (int j = %s; j < %s; j++) dxp[i * %ld + j] += %s;", j0, j1, w.w,
             n->act ? act_grad_expr(n->act, n->f, "g", fmt("xp[i * %ld + j]", w.w)) : "g");
    }
    for (int i = 0; i < 4; i++)
        CLOSE();
}

/* flatten and reshape: the same values, row-major, copied. */
static void emit_reshape(Node *n) {
    emit("/* %s: out %s = x %s, the same values reshaped */", n->layer, dims(n), dims(n->in[0]));
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    if (!n->batched)
        emit("(void)n;");
    emit("for (int i = 0; i < %s; i++) out[i] = x[i];", count(n));
    CLOSE();
}

/* ---- sequences: recurrent layers -----------------------------------------
 * xp [n, T, G H] holds every step's input projection W_ih x_t + b_ih; the
 * recurrence adds W_hh h_{t-1} + b_hh step by step and keeps per step, in the
 * cache [n, T, S], what the backward pass reads (llm.c's forward cache):
 * simple_rnn h; LSTM the gates i, f, g, o after their activations, c and h;
 * GRU r, z, n, W_hn h + b_hn and h. h is always the last H of a step, and
 * h_{-1} = c_{-1} = 0. Activations are differentiated through their outputs,
 * which the cache holds (check.c allows only those). */

typedef struct Cell {
    long t, h, g, s;        /* steps, units, gates, cached floats per step */
} Cell;

static Cell cell_of(Node *cache) {
    Node *w = cache->in[1];
    Cell c = {cache->shape.dim[1], w->shape.dim[1], cell_gates(w), cell_cache(w)};
    return c;
}

/* The activation (f[0..3]) and the gates' (f[4..7]), on a local. */
static const char *cell_act(Node *n, const char *v) { return act_expr(n->act, n->f, v); }
static const char *gate_act(Node *n, const char *v) { return act_expr(n->ract, n->f + 4, v); }
static const char *cell_grad(Node *n, const char *dy, const char *y) { return act_grad_expr(n->act, n->f, dy, y); }
static const char *gate_grad(Node *n, const char *dy, const char *y) { return act_grad_expr(n->ract, n->f + 4, dy, y); }

/* z: step t's cache of sample b (written by the forward pass only); hp:
 * h_{t-1}, zeros at t = 0. */
static void emit_step_ptrs(const Cell *c, int writes) {
    emit("%s$ *z = cache + (b * %ld + t) * %ld;", writes ? "" : "const ", c->t, c->s);
    emit("const $ *hp = t ? z - %ld : zero; /* h_{t-1} */", c->h);
}

static void emit_recurrence(Node *n) {
    Node *xp = n->in[0], *b = n->in[2];
    Cell c = cell_of(n);
    long h = c.h, gh = c.g * c.h;
    const char *what = c.g == 1 ? fmt("h = %s(xp + W_hh h_{t-1}%s)", act_str(n->act, n->f), b ? " + b_hh" : "")
                     : c.g == 4 ? "per step [i, f, g, o, c, h]" : "per step [r, z, n, W_hn h_{t-1} + b_hn, h]";
    emit("/* %s: cache %s %s, from xp %s, one step after another */", n->layer, dims(n), what, dims(xp));
    OPEN("static void %s($ *cache, const $ *xp, const $ *w_hh%s, int n) {", funcs[n->id],
         b ? ", const $ *b_hh" : "");
    emit("$ zero[%ld] = {0}; /* h_{-1} and c_{-1} */", h);
    OPEN("for (int b = 0; b < n; b++) {");
    OPEN("for (int t = 0; t < %ld; t++) {", c.t);
    emit_step_ptrs(&c, 1);
    emit("const $ *xt = xp + (b * %ld + t) * %ld;", c.t, gh);
    emit("/* W_hh h_{t-1} + b_hh, into the cache's first %ld */", gh);
    OPEN("for (int j = 0; j < %ld; j++) {", gh);
    emit("const $ *wj = w_hh + j * %ld;", h);
    emit("$ sum = %s;", b ? "b_hh[j]" : "0.0@");
    emit_dot("sum", "hp", "wj", h);
    emit("z[j] = sum;");
    CLOSE();
    OPEN("for (int j = 0; j < %ld; j++) {", h);
    if (c.g == 1) {
        emit("const $ a = xt[j] + z[j];");
        emit("z[j] = %s;", cell_act(n, "a"));
    } else if (c.g == 4) {
        emit("const $ *cp = t ? z - %ld : zero; /* c_{t-1} */", 2 * h);
        emit("const $ ai = xt[j] + z[j], af = xt[%ld + j] + z[%ld + j];", h, h);
        emit("const $ ag = xt[%ld + j] + z[%ld + j], ao = xt[%ld + j] + z[%ld + j];", 2 * h, 2 * h, 3 * h, 3 * h);
        emit("const $ i = %s;", gate_act(n, "ai"));
        emit("const $ f = %s;", gate_act(n, "af"));
        emit("const $ g = %s;", cell_act(n, "ag"));
        emit("const $ o = %s;", gate_act(n, "ao"));
        emit("const $ cell = f * cp[j] + i * g;");
        emit("z[j] = i, z[%ld + j] = f, z[%ld + j] = g, z[%ld + j] = o;", h, 2 * h, 3 * h);
        emit("z[%ld + j] = cell;", 4 * h);
        emit("z[%ld + j] = o * %s;", 5 * h, cell_act(n, "cell"));
    } else {
        emit("const $ ar = xt[j] + z[j], az = xt[%ld + j] + z[%ld + j], hn = z[%ld + j];", h, h, 2 * h);
        emit("const $ r = %s;", gate_act(n, "ar"));
        emit("const $ u = %s; /* the update gate z */", gate_act(n, "az"));
        emit("const $ an = xt[%ld + j] + r * hn;", 2 * h);
        emit("const $ nn = %s;", cell_act(n, "an"));
        emit("z[j] = r, z[%ld + j] = u, z[%ld + j] = nn, z[%ld + j] = hn;", h, 2 * h, 3 * h);
        emit("z[%ld + j] = (1.0@ - u) * nn + u * hp[j];", 4 * h);
    }
    for (int i = 0; i < 4; i++)
        CLOSE();
}

/* h: every step's (return_sequences) or the last step's, out of the cache. */
static void emit_recurrence_out(Node *n) {
    Node *cache = n->in[0];
    Cell c = cell_of(cache);
    int seq = n->shape.ndim == 3;
    emit("/* %s: h %s = %s h out of the cache %s */", n->layer, dims(n), seq ? "every step's" : "the last step's",
         dims(cache));
    OPEN("static void %s($ *out, const $ *cache, int n) {", funcs[n->id]);
    if (seq) {
        emit("for (int r = 0; r < n * %ld; r++)", c.t);
        emit("    for (int k = 0; k < %ld; k++) out[r * %ld + k] = cache[r * %ld + %ld + k];", c.h, c.h, c.s,
             c.s - c.h);
    } else {
        emit("for (int b = 0; b < n; b++)");
        emit("    for (int k = 0; k < %ld; k++) out[b * %ld + k] = cache[(b * %ld + %ld) * %ld + %ld + k];", c.h,
             c.h, c.t, c.t - 1, c.s, c.s - c.h);
    }
    CLOSE();
}

/* Backpropagation through time: from the last step to the first, dh (and
 * LSTM's dc) carry the gradient back one step; dxp gets each step's gradient
 * of its pre-activations. For GRU, W_hh h + b_hh gets r times the n gate's
 * (dhp below); RECURRENCE_DW and _DB apply the same factor. */
static void emit_recurrence_dx(Node *n) {
    Node *dy = n->in[0], *cache = n->in[1];
    Cell c = cell_of(cache);
    long h = c.h, gh = c.g * c.h;
    int seq = dy->shape.ndim == 3;
    emit("/* %s: dxp %s from dh %s (%s), through the steps backwards */", n->layer, dims(n), dims(dy),
         seq ? "every step's" : "the last step's");
    OPEN("static void %s($ *dxp, const $ *dy, const $ *cache, const $ *w_hh, int n) {", funcs[n->id]);
    emit("$ zero[%ld] = {0}; /* h_{-1} and c_{-1} */", h);
    OPEN("for (int b = 0; b < n; b++) {");
    emit("$ dh[%ld] = {0}; /* dloss / dh_t, then h_{t-1} */", h);
    if (c.g == 4)
        emit("$ dc[%ld] = {0}; /* dloss / dc_t through c_{t+1} */", h);
    if (c.g == 3)
        emit("$ dhp[%ld]; /* dloss / d(W_hh h_{t-1} + b_hh) */", gh);
    OPEN("for (int t = %ld; t >= 0; t--) {", c.t - 1);
    emit_step_ptrs(&c, 0);
    emit("$ *dx = dxp + (b * %ld + t) * %ld;", c.t, gh);
    if (seq)
        emit("for (int j = 0; j < %ld; j++) dh[j] += dy[(b * %ld + t) * %ld + j];", h, c.t, h);
    else
        emit("if (t == %ld) for (int j = 0; j < %ld; j++) dh[j] += dy[b * %ld + j];", c.t - 1, h, h);
    OPEN("for (int j = 0; j < %ld; j++) {", h);
    if (c.g == 1) {
        emit("const $ d = dh[j], y = z[j];");
        emit("dx[j] = %s;", cell_grad(n, "d", "y"));
    } else if (c.g == 4) {
        emit("const $ *cp = t ? z - %ld : zero; /* c_{t-1} */", 2 * h);
        emit("const $ i = z[j], f = z[%ld + j], g = z[%ld + j], o = z[%ld + j];", h, 2 * h, 3 * h);
        emit("const $ cell = z[%ld + j];", 4 * h);
        emit("const $ tc = %s;", cell_act(n, "cell"));
        emit("const $ dho = dh[j] * o;");
        emit("const $ dcj = dc[j] + %s;", cell_grad(n, "dho", "tc"));
        emit("const $ di = dcj * g, df = dcj * cp[j], dg = dcj * i, dout = dh[j] * tc;");
        emit("dx[j] = %s;", gate_grad(n, "di", "i"));
        emit("dx[%ld + j] = %s;", h, gate_grad(n, "df", "f"));
        emit("dx[%ld + j] = %s;", 2 * h, cell_grad(n, "dg", "g"));
        emit("dx[%ld + j] = %s;", 3 * h, gate_grad(n, "dout", "o"));
        emit("dc[j] = dcj * f;");
    } else {
        emit("const $ r = z[j], u = z[%ld + j], nn = z[%ld + j], hn = z[%ld + j];", h, 2 * h, 3 * h);
        emit("const $ dnn = dh[j] * (1.0@ - u), du = dh[j] * (hp[j] - nn);");
        emit("const $ dn = %s;", cell_grad(n, "dnn", "nn"));
        emit("const $ dr = dn * hn;");
        emit("dx[j] = dhp[j] = %s;", gate_grad(n, "dr", "r"));
        emit("dx[%ld + j] = dhp[%ld + j] = %s;", h, h, gate_grad(n, "du", "u"));
        emit("dx[%ld + j] = dn;", 2 * h);
        emit("dhp[%ld + j] = dn * r;", 2 * h);
        emit("dh[j] *= u; /* h_t = (1 - z) n + z h_{t-1} */");
    }
    CLOSE();
    emit("/* dh_{t-1} %s= W_hh^T dhp */", c.g == 3 ? "+" : "");
    if (c.g != 3)
        emit("for (int k = 0; k < %ld; k++) dh[k] = 0.0@;", h);
    OPEN("for (int j = 0; j < %ld; j++) {", gh);
    emit("const $ d = %s[j];", c.g == 3 ? "dhp" : "dx");
    emit("const $ *wj = w_hh + j * %ld;", h);
    emit("for (int k = 0; k < %ld; k++) dh[k] += d * wj[k];", h);
    CLOSE();
    if (c.g != 3)
        emit("(void)hp; /* GRU's alone reads h_{t-1} here */");
    for (int i = 0; i < 3; i++)
        CLOSE();
}

/* The gradient of W_hh h_{t-1} + b_hh at step t: dxp's, with GRU's n part
 * times r (from the cache). */
static const char *recurrence_dhp(const Cell *c) {
    return c->g == 3 ? fmt("j < %ld ? dx[j] : dx[j] * z[j - %ld]", 2 * c->h, 2 * c->h) : "dx[j]";
}

/* dW_hh = sum over samples and steps of dhp_t h_{t-1}^T. */
static void emit_recurrence_dw(Node *n) {
    Node *dxp = n->in[0], *cache = n->in[1];
    Cell c = cell_of(cache);
    long h = c.h, gh = c.g * c.h;
    emit("/* %s: dw_hh %s = sum over steps of dhp_t h_{t-1}^T, from dxp %s */", n->layer, dims(n), dims(dxp));
    OPEN("static void %s($ *dw, const $ *dxp, const $ *cache, int n) {", funcs[n->id]);
    emit("$ zero[%ld] = {0}; /* h_{-1} and c_{-1} */", h);
    emit("for (int i = 0; i < %ld; i++) dw[i] = 0.0@;", gh * h);
    OPEN("for (int b = 0; b < n; b++) {");
    OPEN("for (int t = 1; t < %ld; t++) { /* h_{-1} = 0: step 0 adds nothing */", c.t);
    emit_step_ptrs(&c, 0);
    emit("const $ *dx = dxp + (b * %ld + t) * %ld;", c.t, gh);
    OPEN("for (int j = 0; j < %ld; j++) {", gh);
    emit("const $ d = %s;", recurrence_dhp(&c));
    emit("$ *dwj = dw + j * %ld;", h);
    emit("for (int k = 0; k < %ld; k++) dwj[k] += d * hp[k];", h);
    for (int i = 0; i < 4; i++)
        CLOSE();
}

/* db_hh = sum over samples and steps of dhp_t. */
static void emit_recurrence_db(Node *n) {
    Node *dxp = n->in[0], *cache = n->in[1];
    Cell c = cell_of(cache);
    long gh = c.g * c.h;
    emit("/* %s: db_hh %s = sum over steps of dhp_t, from dxp %s */", n->layer, dims(n), dims(dxp));
    OPEN("static void %s($ *db, const $ *dxp, const $ *cache, int n) {", funcs[n->id]);
    if (c.g != 3)
        emit("(void)cache;");
    emit("for (int j = 0; j < %ld; j++) db[j] = 0.0@;", gh);
    OPEN("for (int r = 0; r < n * %ld; r++) {", c.t);
    emit("const $ *dx = dxp + r * %ld;", gh);
    if (c.g == 3)
        emit("const $ *z = cache + r * %ld;", c.s);
    emit("for (int j = 0; j < %ld; j++) db[j] += %s;", gh, recurrence_dhp(&c));
    CLOSE();
    CLOSE();
}

/* repeat_vector: out[b, r, :] = x[b, :] for every r. */
static void emit_repeat(Node *n) {
    long r = n->shape.dim[1], f = n->shape.dim[2];
    emit("/* %s: out %s = x %s repeated %ld times */", n->layer, dims(n), dims(n->in[0]), r);
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    emit("for (int b = 0; b < n; b++)");
    emit("    for (int r = 0; r < %ld; r++)", r);
    emit("        for (int k = 0; k < %ld; k++) out[(b * %ld + r) * %ld + k] = x[b * %ld + k];", f, r, f, f);
    CLOSE();
}

/* dx[b, :] = sum over r of dy[b, r, :]. */
static void emit_repeat_bwd(Node *n) {
    Node *dy = n->in[0];
    long r = dy->shape.dim[1], f = dy->shape.dim[2];
    emit("/* %s: dx %s = dy %s summed over its %ld copies */", n->layer, dims(n), dims(dy), r);
    OPEN("static void %s($ *dx, const $ *dy, int n) {", funcs[n->id]);
    OPEN("for (int b = 0; b < n; b++) {");
    emit("for (int k = 0; k < %ld; k++) dx[b * %ld + k] = 0.0@;", f, f);
    emit("for (int r = 0; r < %ld; r++)", r);
    emit("    for (int k = 0; k < %ld; k++) dx[b * %ld + k] += dy[(b * %ld + r) * %ld + k];", f, f, r, f);
    CLOSE();
    CLOSE();
}

/* A token id read from the input as a row of the table: the runtime's data
 * reader refuses ids that are not integers in [0, V), and a caller of the
 * generated code who passes one anyway gets the nearest row (NaN: row 0),
 * never a read outside the table. */
static void emit_token_row(long v) {
    emit("const $ id = ids[i];");
    emit("const long row = id >= %ld ? %ld : id >= 1 ? (long)id : 0;", v - 1, v - 1);
}

/* embedding: out[b, t, :] = weight[ids[b, t], :]. */
static void emit_embed(Node *n) {
    Node *w = n->in[1];
    long v = w->shape.dim[0], d = w->shape.dim[1];
    emit("/* %s: out %s = rows of weight %s picked by the token ids %s */", n->layer, dims(n), dims(w),
         dims(n->in[0]));
    OPEN("static void %s($ *out, const $ *ids, const $ *weight, int n) {", funcs[n->id]);
    OPEN("for (int i = 0; i < n * %ld; i++) {", n->shape.dim[1]);
    emit_token_row(v);
    emit("for (int k = 0; k < %ld; k++) out[i * %ld + k] = weight[row * %ld + k];", d, d, d);
    CLOSE();
    CLOSE();
}

/* dweight[id, :] += dy[b, t, :] for every step's id; rows of no token get 0. */
static void emit_embed_dw(Node *n) {
    Node *dy = n->in[0];
    long v = n->shape.dim[0], d = n->shape.dim[1];
    emit("/* %s: dweight %s = dy %s added to the rows of the token ids */", n->layer, dims(n), dims(dy));
    OPEN("static void %s($ *dw, const $ *dy, const $ *ids, int n) {", funcs[n->id]);
    emit("for (int i = 0; i < %ld; i++) dw[i] = 0.0@;", v * d);
    OPEN("for (int i = 0; i < n * %ld; i++) {", dy->shape.dim[1]);
    emit_token_row(v);
    emit("for (int k = 0; k < %ld; k++) dw[row * %ld + k] += dy[i * %ld + k];", d, d, d);
    CLOSE();
    CLOSE();
}

/* Losses: means over the batch as PyTorch's reduction='mean' takes them:
 * over every output value for the elementwise ones (Keras: the mean over the
 * last axis, then over the batch: the same), over the rows for the ones that
 * sum over classes. Class targets arrive as floats holding integers (checked
 * by the runtime). */

/* The target the loss compares with: y itself, or with Keras' label
 * smoothing (n->f[0]) pulled towards `toward`, in a local t. */
static const char *smoothed(Node *n, const char *y, double toward) {
    double ls = n->f[0];
    if (ls == 0)
        return y;
    emit("const $ t = %s * %s + %s;  /* label_smoothing %s */", y, lit(1 - ls), lit(ls * toward), dbl(ls));
    return "t";
}

/* Keras' clip of kl_divergence: v into [1e-7, 1]. */
static void emit_clip_prob(const char *v) {
    emit("%s = %s < 1e-7@ ? 1e-7@ : %s > 1.0@ ? 1.0@ : %s;", v, v, v, v);
}

static void emit_loss(Node *n) {
    Node *p = n->in[0];
    long k = last_dim(p);
    const char *all = count(p);
    emit("/* loss: %s over pred %s; returns the mean over the batch%s */", op_names[n->op], dims(p),
         p->batched && p->shape.ndim == 3 ? fmt(" and its %ld steps", p->shape.dim[1]) : "");
    OPEN("static void %s($ *out, const $ *pred, const $ *y, int n) {", funcs[n->id]);
    emit("$ sum = 0.0@;");
    switch (n->op) {
    case OP_MSE:
    case OP_PERCEPTRON:     /* for 0/1 outputs and targets: the fraction wrong */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = pred[i] - y[i];");
        emit("sum += e * e;");
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    case OP_MAE:
        emit("for (int i = 0; i < %s; i++) sum += fabs@(pred[i] - y[i]);", all);
        emit("out[0] = sum / (%s);", all);
        break;
    case OP_HUBER: {  /* quadratic within delta of the target, linear beyond */
        const char *d = lit(n->f[0]);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = fabs@(pred[i] - y[i]);");
        emit("sum += e <= %s ? 0.5@ * e * e : %s * (e - 0.5@ * %s);", d, d, d);
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    }
    case OP_LOG_COSH:  /* log(cosh e) = e + softplus(-2e) - log 2: no overflow for any e */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = pred[i] - y[i], z = -2.0@ * e;");
        emit("sum += e + (z > 0.0@ ? z : 0.0@) + log1p@(exp@(-fabs@(z))) - %s;", lit(log(2.0)));
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    case OP_BCE: {  /* PyTorch clamps each log at -100 so p = 0 or 1 stays finite */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        const char *t = smoothed(n, "y[i]", 0.5);
        emit("$ lp = log@(pred[i]), lq = log@(1.0@ - pred[i]);");
        emit("lp = lp > -100.0@ ? lp : -100.0@;");
        emit("lq = lq > -100.0@ ? lq : -100.0@;");
        emit("sum -= %s * lp + (1.0@ - %s) * lq;", t, t);
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    }
    case OP_BCE_LOGITS: {  /* max(z, 0) - z y + log(1 + exp(-|z|)), stable for any z */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        const char *t = smoothed(n, "y[i]", 0.5);
        emit("$ z = pred[i];");
        emit("sum += (z > 0.0@ ? z : 0.0@) - z * %s + log1p@(exp@(-fabs@(z)));", t);
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    }
    case OP_SCE:
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("$ lp = log@(pred[r * %ld + (int)y[r]]);", k);
        emit("sum -= lp > -100.0@ ? lp : -100.0@;");
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    case OP_SCE_LOGITS:  /* logsumexp(z) - z[class], shifted by the row max */
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("const $ *z = pred + r * %ld;", k);
        emit("$ mx = z[0];");
        emit("for (int i = 1; i < %ld; i++) mx = z[i] > mx ? z[i] : mx;", k);
        emit("$ se = 0.0@;");
        emit("for (int i = 0; i < %ld; i++) se += exp@(z[i] - mx);", k);
        emit("sum += mx + log@(se) - z[(int)y[r]];");
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    case OP_CCE: {  /* -sum t log p per row, each log clamped at -100 as for sparse CE */
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        const char *t = smoothed(n, fmt("y[r * %ld + i]", k), 1.0 / (double)k);
        emit("$ lp = log@(pred[r * %ld + i]);", k);
        emit("sum -= %s * (lp > -100.0@ ? lp : -100.0@);", t);
        CLOSE();
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    }
    case OP_CCE_LOGITS: {  /* sum t (logsumexp(z) - z) per row, shifted by the row max */
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("const $ *z = pred + r * %ld;", k);
        emit("$ mx = z[0];");
        emit("for (int i = 1; i < %ld; i++) mx = z[i] > mx ? z[i] : mx;", k);
        emit("$ se = 0.0@;");
        emit("for (int i = 0; i < %ld; i++) se += exp@(z[i] - mx);", k);
        emit("const $ lse = mx + log@(se);");
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        const char *t = smoothed(n, fmt("y[r * %ld + i]", k), 1.0 / (double)k);
        emit("sum += %s * (lse - z[i]);", t);
        CLOSE();
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    }
    case OP_HINGE:  /* max(1 - t p, 0), targets 0/1 read as -1/1 as Keras does */
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ t = y[i] > 0.0@ ? 1.0@ : -1.0@;");
        emit("$ e = 1.0@ - t * pred[i];");
        emit("sum += e > 0.0@ ? e : 0.0@;");
        CLOSE();
        emit("out[0] = sum / (%s);", all);
        break;
    case OP_KLD:  /* Keras: sum t log(t / p) per row, t and p clipped to [1e-7, 1] */
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        emit("$ t = y[r * %ld + i], q = pred[r * %ld + i];", k, k);
        emit_clip_prob("t");
        emit_clip_prob("q");
        emit("sum += t * log@(t / q);");
        CLOSE();
        CLOSE();
        emit("out[0] = sum / (%s);", rows(p, k));
        break;
    default:
        internal_error("no emitter for loss %s", op_names[n->op]);
    }
    CLOSE();
}

static void emit_loss_bwd(Node *n) {
    Node *p = n->in[0];
    long k = last_dim(p);
    const char *all = count(p);
    emit("/* loss: d %s / d pred %s */", op_names[n->loss], dims(p));
    OPEN("static void %s($ *dpred, const $ *pred, const $ *y, int n) {", funcs[n->id]);
    switch (n->loss) {
    case OP_MSE:
        emit("$ scale = 2.0@ / (%s);", all);
        emit("for (int i = 0; i < %s; i++) dpred[i] = scale * (pred[i] - y[i]);", all);
        break;
    case OP_PERCEPTRON:  /* the perceptron rule, batch-averaged: (y_hat - t) / rows (autodiff.c) */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        emit("for (int i = 0; i < %s; i++) dpred[i] = scale * (pred[i] - y[i]);", all);
        break;
    case OP_MAE:  /* sign(p - y), 0 where they are equal (as PyTorch) */
        emit("$ scale = 1.0@ / (%s);", all);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = pred[i] - y[i];");
        emit("dpred[i] = e > 0.0@ ? scale : e < 0.0@ ? -scale : 0.0@;");
        CLOSE();
        break;
    case OP_HUBER: {  /* the error, clipped to [-delta, delta] */
        const char *d = lit(n->f[0]);
        emit("$ scale = 1.0@ / (%s);", all);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ e = pred[i] - y[i];");
        emit("dpred[i] = scale * (e > %s ? %s : e < -%s ? -%s : e);", d, d, d, d);
        CLOSE();
        break;
    }
    case OP_LOG_COSH:  /* d log(cosh e) / de = tanh e */
        emit("$ scale = 1.0@ / (%s);", all);
        emit("for (int i = 0; i < %s; i++) dpred[i] = scale * tanh@(pred[i] - y[i]);", all);
        break;
    case OP_BCE: {  /* as PyTorch: (p - y) / max(p (1 - p), 1e-12) */
        emit("$ scale = 1.0@ / (%s);", all);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        const char *t = smoothed(n, "y[i]", 0.5);
        emit("$ q = pred[i] * (1.0@ - pred[i]);");
        emit("dpred[i] = scale * (pred[i] - %s) / (q > 1e-12@ ? q : 1e-12@);", t);
        CLOSE();
        break;
    }
    case OP_BCE_LOGITS:
        emit("$ scale = 1.0@ / (%s);", all);
        if (n->f[0] == 0) {
            emit("for (int i = 0; i < %s; i++)", all);
            emit("    dpred[i] = scale * (1.0@ / (1.0@ + exp@(-pred[i])) - y[i]);");
        } else {
            OPEN("for (int i = 0; i < %s; i++) {", all);
            const char *t = smoothed(n, "y[i]", 0.5);
            emit("dpred[i] = scale * (1.0@ / (1.0@ + exp@(-pred[i])) - %s);", t);
            CLOSE();
        }
        break;
    case OP_SCE:
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        emit("for (int i = 0; i < %s; i++) dpred[i] = 0.0@;", all);
        emit("for (int r = 0; r < %s; r++)", rows(p, k));
        emit("    dpred[r * %ld + (int)y[r]] = -scale / pred[r * %ld + (int)y[r]];", k, k);
        break;
    case OP_SCE_LOGITS:  /* softmax(z) - onehot(class) */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("$ *o = dpred + r * %ld;", k);
        emit("for (int i = 0; i < %ld; i++) o[i] = pred[r * %ld + i];", k, k);
        emit_softmax_row(OP_SOFTMAX, "o", k);
        emit("o[(int)y[r]] -= 1.0@;");
        emit("for (int i = 0; i < %ld; i++) o[i] *= scale;", k);
        CLOSE();
        break;
    case OP_CCE: {  /* -t / p, 0 where the log was clamped */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        OPEN("for (int i = 0; i < %s; i++) {", all);
        const char *t = smoothed(n, "y[i]", 1.0 / (double)k);
        emit("dpred[i] = log@(pred[i]) > -100.0@ ? -scale * %s / pred[i] : 0.0@;", t);
        CLOSE();
        break;
    }
    case OP_CCE_LOGITS: {  /* softmax(z) sum(t) - t; sum(t) is 1 for one-hot targets */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        OPEN("for (int r = 0; r < %s; r++) {", rows(p, k));
        emit("$ *o = dpred + r * %ld;", k);
        emit("for (int i = 0; i < %ld; i++) o[i] = pred[r * %ld + i];", k, k);
        emit_softmax_row(OP_SOFTMAX, "o", k);
        emit("$ tsum = 0.0@;");
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        const char *t = smoothed(n, fmt("y[r * %ld + i]", k), 1.0 / (double)k);
        emit("tsum += %s;", t);
        CLOSE();
        OPEN("for (int i = 0; i < %ld; i++) {", k);
        t = smoothed(n, fmt("y[r * %ld + i]", k), 1.0 / (double)k);
        emit("o[i] = scale * (tsum * o[i] - %s);", t);
        CLOSE();
        CLOSE();
        break;
    }
    case OP_HINGE:  /* -t where the margin 1 - t p is positive, else 0 */
        emit("$ scale = 1.0@ / (%s);", all);
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ t = y[i] > 0.0@ ? 1.0@ : -1.0@;");
        emit("dpred[i] = 1.0@ - t * pred[i] > 0.0@ ? -scale * t : 0.0@;");
        CLOSE();
        break;
    case OP_KLD:  /* -t / p, 0 where p was clipped (outside [1e-7, 1]) */
        emit("$ scale = 1.0@ / (%s);", rows(p, k));
        OPEN("for (int i = 0; i < %s; i++) {", all);
        emit("$ t = y[i], q = pred[i];");
        emit_clip_prob("t");
        emit("dpred[i] = q >= 1e-7@ && q <= 1.0@ ? -scale * t / q : 0.0@;");
        CLOSE();
        break;
    default:
        internal_error("no gradient emitter for loss %s", op_names[n->loss]);
    }
    CLOSE();
}

/* ---- regularization ------------------------------------------------------ */

/* The penalty's terms as C, for comments and code: "0.01 * l1 + 0.02 * l2". */
static const char *penalty_expr(Node *n, const char *l1, const char *l2) {
    if (n->f[0] && n->f[1])
        return fmt("%s * %s + %s * %s", lit(n->f[0]), l1, lit(n->f[1]), l2);
    return n->f[0] ? fmt("%s * %s", lit(n->f[0]), l1) : fmt("%s * %s", lit(n->f[1]), l2);
}

/* total = loss + l1 sum|w| + l2 sum w^2, as Keras adds a regularizer's loss. */
static void emit_l1l2(Node *n) {
    Node *w = n->in[1];
    const char *what = n->f[0] && n->f[1] ? "l1_l2" : n->f[0] ? "l1" : "l2";
    emit("/* %s %s: loss plus the %s penalty (l1 = %g, l2 = %g) */", w->label, dims(w), what,
         n->f[0], n->f[1]);
    OPEN("static void %s($ *out, const $ *loss, const $ *w) {", funcs[n->id]);
    emit("$ %s;", n->f[0] && n->f[1] ? "l1 = 0.0@, l2 = 0.0@" : n->f[0] ? "l1 = 0.0@" : "l2 = 0.0@");
    OPEN("for (int i = 0; i < %ld; i++) {", node_numel(w));
    if (n->f[0])
        emit("l1 += fabs@(w[i]);");
    if (n->f[1])
        emit("l2 += w[i] * w[i];");
    CLOSE();
    emit("out[0] = loss[0] + %s;", penalty_expr(n, "l1", "l2"));
    CLOSE();
}

/* d penalty / d w = l1 sign(w) + 2 l2 w; autodiff adds it to the data gradient. */
static void emit_l1l2_bwd(Node *n) {
    const char *l1 = lit(n->f[0]), *l2x2 = lit(2 * n->f[1]);
    const char *sign = fmt("(w[i] > 0.0@ ? %s : w[i] < 0.0@ ? -%s : 0.0@)", l1, l1);
    emit("/* %s %s: gradient of its penalty, %s */", n->wrt->label, dims(n),
         n->f[0] && n->f[1] ? "l1 sign(w) + 2 l2 w" : n->f[0] ? "l1 sign(w)" : "2 l2 w");
    OPEN("static void %s($ *dw, const $ *w) {", funcs[n->id]);
    emit("for (int i = 0; i < %ld; i++) dw[i] = %s;", node_numel(n),
         n->f[0] && n->f[1] ? fmt("%s + %s * w[i]", sign, l2x2)
         : n->f[0] ? sign : fmt("%s * w[i]", l2x2));
    CLOSE();
}

/* ---- dropout and normalization ------------------------------------------ */

static int has_op(Op op) {
    for (int i = 0; i < G->nodes.n; i++)
        if (((Node *)G->nodes.v[i])->op == op)
            return 1;
    return 0;
}

/* Dropout's masks come from a counter-based hash, not a random generator: the
 * decision for value i of a batch is a function of (seed, step, layer, i), so
 * the backward pass recomputes the forward's mask and a run resumed from a
 * checkpoint (which restores step) draws the masks an unbroken run draws.
 * mix64 is splitmix64's finalizer. Value i is kept when the top 24 bits of
 * mix64(key + (i + 1) * golden) are >= rate * 2^24 (rounded), key =
 * mix64(mix64(seed ^ mix64(step)) + layer); tests/torch/ref.py computes the
 * same masks. */
#define DROPOUT_GOLDEN "UINT64_C(0x9e3779b97f4a7c15)"

static int first_of(Node *n) {
    for (int i = 0; i < G->nodes.n; i++) {
        Node *m = G->nodes.v[i];
        if (m->op == OP_DROPOUT || m->op == OP_DROPOUT_BWD)
            return m == n;
    }
    return 0;
}

static void emit_dropout_helpers(Node *n) {
    if (!first_of(n))
        return;
    emit("/* Dropout's hash (splitmix64's finalizer): masks are a function of");
    emit(" * (seed, step, layer, value), recomputed by the backward pass. */");
    OPEN("static uint64_t mix64(uint64_t z) {");
    emit("z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);");
    emit("z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);");
    emit("return z ^ (z >> 31);");
    CLOSE();
    emit("");
    OPEN("static uint64_t dropout_key(uint64_t seed, long step, int layer) {");
    emit("return mix64(mix64(seed ^ mix64((uint64_t)step)) + (uint64_t)layer);");
    CLOSE();
    emit("");
}

/* The keep test of value i and the kept values' scale, 1 / (1 - rate). */
static const char *dropout_keep(Node *n) {
    return fmt("(mix64(key + (uint64_t)(i + 1) * %s) >> 40) >= %ldu", DROPOUT_GOLDEN,
               (long)floor(n->f[0] * 16777216.0 + 0.5));
}

static void emit_dropout(Node *n) {
    emit_dropout_helpers(n);
    emit("/* %s: out %s = x, or in training x / (1 - %g) where kept (probability %g), else 0 */", n->layer,
         dims(n), n->f[0], 1 - n->f[0]);
    OPEN("static void %s($ *out, const $ *x, int training, uint64_t seed, long step, int n) {", funcs[n->id]);
    OPEN("if (!training) {");
    emit("for (long i = 0; i < %s; i++) out[i] = x[i];", count(n));
    emit("return;");
    CLOSE();
    emit("const uint64_t key = dropout_key(seed, step, %d);", (int)n->f[1]);
    emit("for (long i = 0; i < %s; i++) out[i] = %s ? x[i] * %s : 0.0@;", count(n), dropout_keep(n),
         lit(1.0 / (1.0 - n->f[0])));
    CLOSE();
}

static void emit_dropout_bwd(Node *n) {
    emit_dropout_helpers(n);
    emit("/* %s: dx %s = dy through the values the forward kept, scaled as they were */", n->layer, dims(n));
    OPEN("static void %s($ *dx, const $ *dy, uint64_t seed, long step, int n) {", funcs[n->id]);
    emit("const uint64_t key = dropout_key(seed, step, %d);", (int)n->f[1]);
    emit("for (long i = 0; i < %s; i++) dx[i] = %s ? dy[i] * %s : 0.0@;", count(n), dropout_keep(n),
         lit(1.0 / (1.0 - n->f[0])));
    CLOSE();
}

/* Batch norm's layout: [n, C, S], statistics per channel c over n * S values. */
static long bn_channels(Node *x) { return x->shape.dim[1]; }
static long bn_inner(Node *x) { return node_row(x) / x->shape.dim[1]; }

/* The loop over channel c's values and the index of one: over the batch
 * and, for images, the positions s of the channel. */
static const char *bn_loop(Node *x) {
    if (bn_inner(x) == 1)
        return "for (int b = 0; b < n; b++)";
    return fmt("for (int b = 0; b < n; b++) for (long s = 0; s < %ld; s++)", bn_inner(x));
}

static const char *bn_at(Node *x) {
    if (bn_inner(x) == 1)
        return fmt("(long)b * %ld + c", bn_channels(x));
    return fmt("((long)b * %ld + c) * %ld + s", bn_channels(x), bn_inner(x));
}

static Node *first_op(Op op) {
    for (int i = 0; i < G->nodes.n; i++)
        if (((Node *)G->nodes.v[i])->op == op)
            return G->nodes.v[i];
    return NULL;
}

/* dist: the batch's statistics of every channel, once per layer function,
 * so that a training run on several processes (runtime/dist.c) can sum them
 * over every process's samples as PyTorch's SyncBatchNorm does, through the
 * model's batch_sum; without it the sums are this call's, in the order the
 * per-channel loops always used. */
static void emit_bn_stats_helper(void) {
    emit("/* Batch norm's mean bm[c] and biased variance bv[c] of each channel of x");
    emit(" * [n, ch, in], in double; returns how many values each is over: n * in, or,");
    emit(" * with m->batch_sum (several processes), every process's. bm has ch + 1 slots. */");
    OPEN("static double bn_stats(const $ *x, long ch, long in, int n, double *bm, double *bv, const %s_model *m) {", P);
    emit("double count = (double)n * in;");
    OPEN("for (long c = 0; c < ch; c++) {");
    emit("double sum = 0;");
    emit("for (int b = 0; b < n; b++) for (long s = 0; s < in; s++) sum += x[((long)b * ch + c) * in + s];");
    emit("bm[c] = sum;");
    CLOSE();
    OPEN("if (m->batch_sum) {");
    emit("bm[ch] = count;");
    emit("m->batch_sum(m->batch_ctx, bm, (int)ch + 1, 0);");
    emit("count = bm[ch];");
    CLOSE();
    OPEN("for (long c = 0; c < ch; c++) {");
    emit("const double mean = bm[c] / count;");
    emit("double ss = 0;");
    OPEN("for (int b = 0; b < n; b++) for (long s = 0; s < in; s++) {");
    emit("const double d = x[((long)b * ch + c) * in + s] - mean;");
    emit("ss += d * d;");
    CLOSE();
    emit("bm[c] = mean;");
    emit("bv[c] = ss;");
    CLOSE();
    emit("if (m->batch_sum) m->batch_sum(m->batch_ctx, bv, (int)ch, 0);");
    emit("for (long c = 0; c < ch; c++) bv[c] /= count;");
    emit("return count;");
    CLOSE();
    emit("");
}

/* The statistics of all of x's channels into local bm and bv (and count). */
static void emit_bn_stats(Node *x, int with_count) {
    long ch = bn_channels(x);
    emit("double bm[%ld];", ch + 1);
    emit("double bv[%ld];", ch);
    emit("%sbn_stats(x, %ld, %ld, n, bm, bv, m);", with_count ? "const double count = " : "", ch, bn_inner(x));
}

/* The parameters of a function over x, gamma and beta as call() passes them:
 * only those present. */
static const char *norm_params(Node *n, const char *first) {
    char *s = fmt("%s, const $ *x", first);
    if (n->in[1])
        s = fmt("%s, const $ *gamma", s);
    if (n->in[2])
        s = fmt("%s, const $ *beta", s);
    return s;
}

/* y = gamma (x - mean) / sqrt(var + eps) + beta, per channel: the batch's
 * statistics in training, which also move the running ones (PyTorch's
 * momentum is 1 - Keras's; the running variance is the unbiased one), and the
 * running statistics otherwise. An inference build's buffers are constants. */
static void emit_batch_norm(Node *n) {
    Node *x = n->in[0];
    long ch = bn_channels(x);
    double mom = n->f[0];
    if (G->inference) {     /* weights.c made scale and shift of gamma, beta and the running statistics */
        emit("/* %s: out %s = x scale + shift per channel: batch norm with its running statistics */", n->layer,
             dims(n));
        OPEN("static void %s($ *out, const $ *x, const $ *scale, const $ *shift, int n) {", funcs[n->id]);
        OPEN("for (long c = 0; c < %ld; c++) {", ch);
        OPEN("%s {", bn_loop(x));
        emit("const long i = %s;", bn_at(x));
        emit("out[i] = x[i] * scale[c] + shift[c];");
        CLOSE();
        CLOSE();
        CLOSE();
        return;
    }
    emit("/* %s: out %s = gamma (x - mean) / sqrt(var + %g) + beta per channel (momentum %g) */", n->layer,
         dims(n), n->f[1], mom);
    if (n == first_op(OP_BATCH_NORM))
        emit_bn_stats_helper();
    OPEN("static void %s(%s, int training, $ *running_mean, $ *running_var, $ *num_batches_tracked, "
         "const %s_model *m, int n) {", funcs[n->id], norm_params(n, "$ *out"), P);
    emit("double bm[%ld];", ch + 1);
    emit("double bv[%ld];", ch);
    emit("const double count = training ? bn_stats(x, %ld, %ld, n, bm, bv, m) : 0;", ch, bn_inner(x));
    OPEN("for (long c = 0; c < %ld; c++) {", ch);
    emit("double mean = running_mean[c], var = running_var[c];");
    OPEN("if (training) {");
    emit("mean = bm[c], var = bv[c];");
    emit("/* the running variance is unbiased: var count / (count - 1) */");
    emit("const double unbiased = count > 1 ? bv[c] * count / (count - 1) : bv[c];");
    emit("running_mean[c] = ($)(%s * running_mean[c] + (1 - %s) * bm[c]);", dbl(mom), dbl(mom));
    emit("running_var[c] = ($)(%s * running_var[c] + (1 - %s) * unbiased);", dbl(mom), dbl(mom));
    CLOSE();
    emit("const double inv = 1.0 / sqrt(var + %s);", dbl(n->f[1]));
    emit("const $ scale = ($)(%sinv), shift = ($)(%s- mean * %sinv);", n->in[1] ? "gamma[c] * " : "",
         n->in[2] ? "beta[c] " : "", n->in[1] ? "gamma[c] * " : "");
    OPEN("%s {", bn_loop(x));
    emit("const long i = %s;", bn_at(x));
    emit("out[i] = x[i] * scale + shift;");
    CLOSE();
    CLOSE();
    emit("if (training) num_batches_tracked[0] += 1.0@;");
    CLOSE();
}

/* dx = gamma / sqrt(var + eps) (dy - mean(dy) - xhat mean(dy xhat)), the
 * means per channel over the batch: the statistics depend on every x. */
static void emit_batch_norm_dx(Node *n) {
    Node *x = n->in[1];
    long ch = bn_channels(x);
    emit("/* %s: dx %s through the batch statistics (training mode) */", n->layer, dims(n));
    OPEN("static void %s($ *dx, const $ *dy, const $ *x%s, const %s_model *m, int n) {", funcs[n->id],
         n->in[2] ? ", const $ *gamma" : "", P);
    emit_bn_stats(x, 1);
    emit("double sums[%ld]; /* sum of dy, then of dy xhat, per channel */", 2 * ch);
    OPEN("for (long c = 0; c < %ld; c++) {", ch);
    emit("const double inv = 1.0 / sqrt(bv[c] + %s);", dbl(n->f[1]));
    emit("double sdy = 0, sdyx = 0;");
    OPEN("%s {", bn_loop(x));
    emit("const long i = %s;", bn_at(x));
    emit("sdy += dy[i];");
    emit("sdyx += dy[i] * (x[i] - bm[c]) * inv;");
    CLOSE();
    emit("sums[c] = sdy, sums[%ld + c] = sdyx;", ch);
    CLOSE();
    emit("/* several processes: sums of the gradient, weighted as the runtime weights each process's */");
    emit("if (m->batch_sum) m->batch_sum(m->batch_ctx, sums, %ld, 1);", 2 * ch);
    OPEN("for (long c = 0; c < %ld; c++) {", ch);
    emit("const double inv = 1.0 / sqrt(bv[c] + %s);", dbl(n->f[1]));
    emit("const double k = %sinv, mdy = sums[c] / count, mdyx = sums[%ld + c] / count;",
         n->in[2] ? "gamma[c] * " : "", ch);
    OPEN("%s {", bn_loop(x));
    emit("const long i = %s;", bn_at(x));
    emit("dx[i] = ($)(k * (dy[i] - mdy - (x[i] - bm[c]) * inv * mdyx));");
    CLOSE();
    CLOSE();
    CLOSE();
}

/* dgamma = sum of dy xhat per channel, xhat with the batch statistics. */
static void emit_batch_norm_dgamma(Node *n) {
    Node *x = n->in[1];
    long ch = bn_channels(x);
    emit("/* %s: dweight %s = sum of dy xhat per channel */", n->layer, dims(n));
    OPEN("static void %s($ *dgamma, const $ *dy, const $ *x, const %s_model *m, int n) {", funcs[n->id], P);
    emit_bn_stats(x, 0);
    OPEN("for (long c = 0; c < %ld; c++) {", ch);
    emit("const double inv = 1.0 / sqrt(bv[c] + %s);", dbl(n->f[1]));
    emit("double acc = 0;");
    OPEN("%s {", bn_loop(x));
    emit("const long i = %s;", bn_at(x));
    emit("acc += dy[i] * (x[i] - bm[c]) * inv;");
    CLOSE();
    emit("dgamma[c] = ($)acc;");
    CLOSE();
    CLOSE();
}

/* Layer norm's rows: the last axis, d values each; its mean and biased
 * variance in double, lm and 1 / sqrt(var + eps) in inv, of row xr. */
static void emit_ln_stats(long d, double eps) {
    emit("double sum = 0, ss = 0;");
    emit("for (long j = 0; j < %ld; j++) sum += xr[j];", d);
    emit("const double lm = sum / %ld.0;", d);
    emit("for (long j = 0; j < %ld; j++) ss += (xr[j] - lm) * (xr[j] - lm);", d);
    emit("const double inv = 1.0 / sqrt(ss / %ld.0 + %s);", d, dbl(eps));
}

static void emit_layer_norm(Node *n) {
    long d = last_dim(n);
    emit("/* %s: out %s = gamma (x - mean) / sqrt(var + %g) + beta, over each row of %ld */", n->layer,
         dims(n), n->f[0], d);
    OPEN("static void %s(%s, int n) {", funcs[n->id], norm_params(n, "$ *out"));
    OPEN("for (long r = 0; r < %s; r++) {", rows(n, d));
    emit("const $ *xr = x + r * %ld;", d);
    emit("$ *o = out + r * %ld;", d);
    emit_ln_stats(d, n->f[0]);
    emit("for (long j = 0; j < %ld; j++) o[j] = ($)((xr[j] - lm) * inv)%s%s;", d, n->in[1] ? " * gamma[j]" : "",
         n->in[2] ? " + beta[j]" : "");
    CLOSE();
    CLOSE();
}

/* dx = inv (g - mean(g) - xhat mean(g xhat)), g = dy gamma, over each row. */
static void emit_layer_norm_dx(Node *n) {
    long d = last_dim(n);
    emit("/* %s: dx %s through the row's statistics */", n->layer, dims(n));
    OPEN("static void %s($ *dx, const $ *dy, const $ *x%s, int n) {", funcs[n->id],
         n->in[2] ? ", const $ *gamma" : "");
    OPEN("for (long r = 0; r < %s; r++) {", rows(n, d));
    emit("const $ *xr = x + r * %ld, *dyr = dy + r * %ld;", d, d);
    emit_ln_stats(d, n->f[0]);
    emit("double sg = 0, sgx = 0;");
    OPEN("for (long j = 0; j < %ld; j++) {", d);
    emit("const double g = dyr[j]%s;", n->in[2] ? " * gamma[j]" : "");
    emit("sg += g;");
    emit("sgx += g * (xr[j] - lm) * inv;");
    CLOSE();
    emit("sg /= %ld.0, sgx /= %ld.0;", d, d);
    emit("for (long j = 0; j < %ld; j++) dx[r * %ld + j] = ($)(inv * (dyr[j]%s - sg - (xr[j] - lm) * inv * sgx));",
         d, d, n->in[2] ? " * gamma[j]" : "");
    CLOSE();
    CLOSE();
}

/* dgamma = sum over rows of dy xhat. */
static void emit_layer_norm_dgamma(Node *n) {
    long d = n->shape.dim[0];
    Node *x = n->in[1];
    emit("/* %s: dweight %s = sum over rows of dy xhat */", n->layer, dims(n));
    OPEN("static void %s($ *dgamma, const $ *dy, const $ *x, int n) {", funcs[n->id]);
    emit("for (long j = 0; j < %ld; j++) dgamma[j] = 0.0@;", d);
    OPEN("for (long r = 0; r < %s; r++) {", rows(x, d));
    emit("const $ *xr = x + r * %ld, *dyr = dy + r * %ld;", d, d);
    emit_ln_stats(d, n->f[0]);
    emit("for (long j = 0; j < %ld; j++) dgamma[j] += ($)(dyr[j] * (xr[j] - lm) * inv);", d);
    CLOSE();
    CLOSE();
}

/* Update and clipping nodes are printed together (emit_optimizer below). */
static void emit_update(Node *n) { (void)n; }

static Emitter *const emitters[OP_COUNT] = {
#define OP(name, str, nin, shape, grad, emit) [OP_##name] = emit,
#include "ops.h"
#undef OP
};

/* ---- the optimizer step ------------------------------------------------- */

static int is_clip(Op op) {
    return op == OP_CLIP_NORM || op == OP_CLIP_GLOBAL_NORM || op == OP_CLIP_VALUE;
}

/* The first update node; all of them must agree (one loop covers them all). */
static Node *first_update(void) {
    Node *u = NULL;
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if (n->phase != PH_UPDATE || n->op == OP_STATE || is_clip(n->op))
            continue;
        if (!u)
            u = n;
        else if (n->op != u->op || memcmp(n->f, u->f, sizeof n->f))
            internal_error("mixed optimizers need one update loop per run");
    }
    return u;
}

/* A call as written, with every argument: "cosine_decay(initial_learning_rate = 0.1, ...)". */
static const char *call_text(const Call *c) {
    char *s = fmt("%s(", c->e->name);
    for (int i = 0; i < MAX_PARAMS && c->e->params[i].name; i++) {
        const ParamDef *p = &c->e->params[i];
        const ArgVal *v = &c->v[i];
        const char *val;
        if (p->dflt && !*p->dflt && !v->given)
            continue;       /* optional and absent (clipnorm) */
        if (p->type == T_BOOL)
            val = v->num ? "true" : "false";
        else if (p->type == T_SCHEDULE && v->call)
            val = call_text(v->call);
        else if (p->type == T_NUMBERS) {
            char *l = "[";
            for (int k = 0; k < v->nnums; k++)
                l = fmt("%s%s%s", l, k ? ", " : "", dbl(v->nums[k]));
            val = fmt("%s]", l);
        } else
            val = dbl(v->num);
        s = fmt("%s%s%s = %s", s, strcmp(s + strlen(s) - 1, "(") ? ", " : "", p->name, val);
    }
    return fmt("%s)", s);
}

/* NAME_scheduled_rate: the rate of the step about to be taken, m->step
 * counting steps taken so far (from 0, as Keras' schedules count). */
static void emit_scheduled_rate(void) {
    const ArgVal *a = call_arg(G->spec->optimizer, "learning_rate");
    const Call *c = a->call;
    if (!c) {
        emit("/* The learning rate of the next step: constant. */");
        OPEN("static double scheduled_rate(const %s_model *m) {", P);
        emit("(void)m;");
        emit("return %s;", dbl(a->num));
        CLOSE();
        return;
    }
    const char *name = c->e->name;
    emit("/* The learning rate of the next step: %s", call_text(c));
    emit(" * at step = m->step, the steps taken so far (counted from 0, as Keras does). */");
    OPEN("static double scheduled_rate(const %s_model *m) {", P);
    emit("double step = (double)m->step;");
    if (!strcmp(name, "piecewise_constant")) {
        const ArgVal *b = call_arg(c, "boundaries"), *v = call_arg(c, "values");
        for (int k = 0; k < b->nnums; k++)
            emit("if (step <= %s) return %s;", dbl(b->nums[k]), dbl(v->nums[k]));
        emit("return %s;", dbl(v->nums[v->nnums - 1]));
        CLOSE();
        return;
    }
    const char *init = dbl(call_num(c, "initial_learning_rate"));
    emit("double decay_steps = %s;", dbl(call_num(c, "decay_steps")));
    if (!strcmp(name, "exponential_decay") || !strcmp(name, "inverse_time_decay")) {
        emit("double p = step / decay_steps;");
        if (call_num(c, "staircase"))
            emit("p = floor(p);");
        if (!strcmp(name, "exponential_decay"))
            emit("return %s * pow(%s, p);", init, dbl(call_num(c, "decay_rate")));
        else
            emit("return %s / (1.0 + %s * p);", init, dbl(call_num(c, "decay_rate")));
    } else if (!strcmp(name, "cosine_decay")) {
        double alpha = call_num(c, "alpha");
        emit("if (step > decay_steps) step = decay_steps;");
        emit("double cosine = 0.5 * (1.0 + cos(3.14159265358979323846 * step / decay_steps));");
        emit("return %s * (%s * cosine + %s);", init, dbl(1.0 - alpha), dbl(alpha));
    } else if (!strcmp(name, "polynomial_decay")) {
        double end = call_num(c, "end_learning_rate");
        if (call_num(c, "cycle"))
            emit("if (step > 0.0) decay_steps *= ceil(step / decay_steps); /* the next whole cycle */");
        else
            emit("if (step > decay_steps) step = decay_steps;");
        emit("return %s * pow(1.0 - step / decay_steps, %s) + %s;", dbl(call_num(c, "initial_learning_rate") - end),
             dbl(call_num(c, "power")), dbl(end));
    } else {
        internal_error("no emitter for schedule %s", name);
    }
    CLOSE();
}

/* NAME_learning_rate: the scheduled rate times m->lr_scale, the multiplier
 * reduce_lr_on_plateau lowers at run time (and a checkpoint keeps). */
static void emit_learning_rate(void) {
    emit_scheduled_rate();
    emit("");
    emit("/* The rate of the next step: the schedule's, times the multiplier");
    emit(" * reduce_lr_on_plateau sets (0, as in a zeroed model, means 1). */");
    OPEN("double %s_learning_rate(const %s_model *m) {", P, P);
    emit("return m->lr_scale > 0.0f ? scheduled_rate(m) * m->lr_scale : scheduled_rate(m);");
    CLOSE();
}

/* The gradient clipping nodes, if any, as one function on m->grads. */
static int emit_clip(long total) {
    Node *c0 = NULL;
    for (int i = 0; i < G->nodes.n && !c0; i++)
        if (is_clip(((Node *)G->nodes.v[i])->op))
            c0 = G->nodes.v[i];
    if (!c0)
        return 0;
    const char *lim = dbl(c0->f[0]);
    switch (c0->op) {
    case OP_CLIP_NORM:
        emit("/* clipnorm = %s: one gradient tensor scaled to norm <= %s, as PyTorch's", lim, lim);
        emit(" * clip_grad_norm_ on that tensor: g *= min(1, clipnorm / (norm + 1e-6)). */");
        OPEN("static void clip_norm($ *g, long count) {");
        emit("double sum = 0.0;");
        emit("for (long i = 0; i < count; i++) sum += (double)g[i] * g[i];");
        emit("const double scale = %s / (sqrt(sum) + 1e-6);", lim);
        emit("if (scale < 1.0)");
        emit("    for (long i = 0; i < count; i++) g[i] *= ($)scale;");
        CLOSE();
        emit("");
        OPEN("static void clip_gradients($ *g) {");
        for (int i = 0; i < G->nodes.n; i++) {
            Node *n = G->nodes.v[i];
            if (n->op == OP_CLIP_NORM)
                emit("clip_norm(g + %ld, %ld); /* %s %s */", n->in[0]->offset, node_numel(n->in[0]),
                     n->in[0]->wrt->label, dims(n->in[0]));
        }
        CLOSE();
        break;
    case OP_CLIP_GLOBAL_NORM:
        emit("/* global_clipnorm = %s: all gradients scaled together to norm <= %s, as", lim, lim);
        emit(" * PyTorch's clip_grad_norm_: g *= min(1, global_clipnorm / (norm + 1e-6)). */");
        OPEN("static void clip_gradients($ *g) {");
        emit("double sum = 0.0;");
        emit("for (int i = 0; i < %ld; i++) sum += (double)g[i] * g[i];", total);
        emit("const double scale = %s / (sqrt(sum) + 1e-6);", lim);
        emit("if (scale < 1.0)");
        emit("    for (int i = 0; i < %ld; i++) g[i] *= ($)scale;", total);
        CLOSE();
        break;
    case OP_CLIP_VALUE:
        emit("/* clipvalue = %s: each gradient value clamped to [-%s, %s]. */", lim, lim, lim);
        OPEN("static void clip_gradients($ *g) {");
        emit("for (int i = 0; i < %ld; i++)", total);
        emit("    g[i] = g[i] > %s ? %s : g[i] < -%s ? -%s : g[i];", lit(c0->f[0]), lit(c0->f[0]),
             lit(c0->f[0]), lit(c0->f[0]));
        CLOSE();
        break;
    default:
        internal_error("no emitter for %s", op_names[c0->op]);
    }
    emit("");
    return 1;
}

/* The state tensors of u's parameter, in slot order. */
static int slots_of(Node *u, Node **out) {
    int n = 0;
    for (int i = 0; i < G->states.n; i++) {
        Node *s = G->states.v[i];
        if (s->wrt == u->in[0])
            out[n++] = s;
    }
    return n;
}

/* The scalar state of the whole optimizer (NAdam's mu_product), if any. */
static Node *scalar_state(void) {
    for (int i = 0; i < G->states.n; i++)
        if (!((Node *)G->states.v[i])->wrt)
            return G->states.v[i];
    return NULL;
}

/* "exp_avg" from "fc1.weight.exp_avg" */
static const char *slot_name(Node *s) { return s->label + strlen(s->wrt->label) + 1; }

/* a = b a + (1 - b) x, PyTorch's mul_(b).add_(x, alpha = 1 - b) */
static void ema(const char *a, double b, const char *x) {
    emit("%s[i] = %s * %s[i] + %s * %s;", a, lit(b), a, lit(1.0 - b), x);
}

/* Parameters are contiguous and their state slots parallel (plan.c), so one
 * loop per optimizer covers the whole block; the padding between tensors
 * has zero gradients and stays zero. */
static void emit_step(Node *u, long total) {
    Node *st[8];
    int ns = slots_of(u, st);
    const double *f = u->f;
    const char *name = op_names[u->op];
    char *args = "";
    for (int k = 0; k < ns; k++)
        args = fmt("%s, $ *%s", args, slot_name(st[k]));
    if (scalar_state())
        args = fmt("%s, $ *%s", args, scalar_state()->label);
    emit("/* %s, as PyTorch computes it (docs/CATALOG.md): */", call_text(G->spec->optimizer));
    switch (u->op) {
    case OP_SGD:
        emit("/* d = g + weight_decay p; buf = momentum buf + d;");
        emit(" * p -= lr (nesterov ? d + momentum buf : buf) */");
        break;
    case OP_RMSPROP:
        emit("/* square_avg = rho square_avg + (1 - rho) g^2; (centered: grad_avg likewise, of g)");
        emit(" * avg = sqrt(square_avg (- grad_avg^2)) + eps; buf = momentum buf + g / avg; p -= lr buf */");
        break;
    case OP_ADAM:
    case OP_ADAMW:
        emit("/* %sm = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;%s", u->op == OP_ADAMW ? "p -= lr wd p; " : "",
             f[3] ? "  vmax = max(vmax, v);" : "");
        emit(" * p -= lr / (1 - b1^t) * m / (sqrt(%s) / sqrt(1 - b2^t) + eps) */", f[3] ? "vmax" : "v");
        break;
    case OP_ADAGRAD:
        emit("/* sum += g^2 (from initial_accumulator_value); p -= lr g / (sqrt(sum) + eps) */");
        break;
    case OP_ADADELTA:
        emit("/* square_avg = rho square_avg + (1 - rho) g^2;");
        emit(" * delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) g;");
        emit(" * acc_delta = rho acc_delta + (1 - rho) delta^2; p -= lr delta */");
        break;
    case OP_ADAMAX:
        emit("/* m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps);  p -= lr / (1 - b1^t) * m / u */");
        break;
    case OP_NADAM:
        emit("/* mu_t = b1 (1 - 0.5 0.96^(t momentum_decay)); m, v as Adam;");
        emit(" * p -= lr (1 - mu_t) / (1 - prod mu_1..t) g / d + lr mu_t+1 / (1 - prod mu_1..t+1) m / d,");
        emit(" * d = sqrt(v / (1 - b2^t)) + eps */");
        break;
    default:
        internal_error("no update emitter for %s", name);
    }
    OPEN("static void %s_step($ *p, const $ *g%s, double lr, long t) {", name, args);
    switch (u->op) {
    case OP_SGD:
        emit("const $ rate = ($)lr;");
        emit("(void)t;");
        if (!ns && !f[2]) {
            emit("for (int i = 0; i < %ld; i++) p[i] -= rate * g[i];", total);
            break;
        }
        OPEN("for (int i = 0; i < %ld; i++) {", total);
        emit(f[2] ? "$ d = g[i] + %s * p[i];" : "$ d = g[i];", lit(f[2]));
        if (ns) {
            emit("momentum_buffer[i] = %s * momentum_buffer[i] + d;", lit(f[0]));
            emit(f[1] ? "d += %s * momentum_buffer[i];" : "d = momentum_buffer[i];", lit(f[0]));
        }
        emit("p[i] -= rate * d;");
        CLOSE();
        break;
    case OP_RMSPROP:
        emit("const $ rate = ($)lr;");
        emit("(void)t;");
        OPEN("for (int i = 0; i < %ld; i++) {", total);
        ema("square_avg", f[0], "g[i] * g[i]");
        if (f[3]) {
            ema("grad_avg", f[0], "g[i]");
            emit("const $ avg = sqrt@(square_avg[i] - grad_avg[i] * grad_avg[i]) + %s;", lit(f[2]));
        } else {
            emit("const $ avg = sqrt@(square_avg[i]) + %s;", lit(f[2]));
        }
        if (f[1]) {
            emit("momentum_buffer[i] = %s * momentum_buffer[i] + g[i] / avg;", lit(f[1]));
            emit("p[i] -= rate * momentum_buffer[i];");
        } else {
            emit("p[i] -= rate * (g[i] / avg);");
        }
        CLOSE();
        break;
    case OP_ADAM:
    case OP_ADAMW:
        if (u->op == OP_ADAMW)
            emit("const $ decay = ($)(1.0 - lr * %s);", dbl(f[4]));
        emit("const $ step_size = ($)(lr / (1.0 - pow(%s, (double)t)));", dbl(f[0]));
        emit("const $ bc2_sqrt = ($)sqrt(1.0 - pow(%s, (double)t));", dbl(f[1]));
        OPEN("for (int i = 0; i < %ld; i++) {", total);
        if (u->op == OP_ADAMW)
            emit("p[i] *= decay;");
        ema("exp_avg", f[0], "g[i]");
        ema("exp_avg_sq", f[1], "g[i] * g[i]");
        if (f[3])
            emit("if (exp_avg_sq[i] > max_exp_avg_sq[i]) max_exp_avg_sq[i] = exp_avg_sq[i];");
        emit("p[i] -= step_size * (exp_avg[i] / (sqrt@(%s[i]) / bc2_sqrt + %s));",
             f[3] ? "max_exp_avg_sq" : "exp_avg_sq", lit(f[2]));
        CLOSE();
        break;
    case OP_ADAGRAD:
        emit("const $ rate = ($)lr;");
        emit("(void)t;");
        OPEN("for (int i = 0; i < %ld; i++) {", total);
        emit("sum[i] += g[i] * g[i];");
        emit("p[i] -= rate * (g[i] / (sqrt@(sum[i]) + %s));", lit(f[1]));
        CLOSE();
        break;
    case OP_ADADELTA:
        emit("const $ rate = ($)lr;");
        emit("(void)t;");
        OPEN("for (int i = 0; i < %ld; i++) {", total);
        ema("square_avg", f[0], "g[i] * g[i]");
        emit("const $ delta = sqrt@(acc_delta[i] + %s) / sqrt@(square_avg[i] + %s) * g[i];", lit(f[1]),
             lit(f[1]));
        ema("acc_delta", f[0], "delta * delta");
        emit("p[i] -= rate * delta;");
        CLOSE();
        break;
    case OP_ADAMAX:
        emit("const $ clr = ($)(lr / (1.0 - pow(%s, (double)t)));", dbl(f[0]));
        OPEN("for (int i = 0; i < %ld; i++) {", total);
        ema("exp_avg", f[0], "g[i]");
        emit("const $ decayed = %s * exp_inf[i], now = fabs@(g[i]) + %s;", lit(f[1]), lit(f[2]));
        emit("exp_inf[i] = decayed > now ? decayed : now;");
        emit("p[i] -= clr * (exp_avg[i] / exp_inf[i]);");
        CLOSE();
        break;
    case OP_NADAM:
        emit("const double mu = %s * (1.0 - 0.5 * pow(0.96, (double)t * %s));", dbl(f[0]), dbl(f[3]));
        emit("const double mu_next = %s * (1.0 - 0.5 * pow(0.96, (double)(t + 1) * %s));", dbl(f[0]),
             dbl(f[3]));
        emit("mu_product[0] = ($)(mu_product[0] * mu);");
        emit("const $ step_g = ($)(lr * (1.0 - mu) / (1.0 - mu_product[0]));");
        emit("const $ step_m = ($)(lr * mu_next / (1.0 - mu_product[0] * mu_next));");
        emit("const $ bc2 = ($)(1.0 - pow(%s, (double)t));", dbl(f[1]));
        OPEN("for (int i = 0; i < %ld; i++) {", total);
        ema("exp_avg", f[0], "g[i]");
        ema("exp_avg_sq", f[1], "g[i] * g[i]");
        emit("const $ denom = sqrt@(exp_avg_sq[i] / bc2) + %s;", lit(f[2]));
        emit("p[i] -= step_g * (g[i] / denom);");
        emit("p[i] -= step_m * (exp_avg[i] / denom);");
        CLOSE();
        break;
    default:
        internal_error("no update emitter for %s", name);
    }
    CLOSE();
}

/* State that does not start at zero: Adagrad's sum, NAdam's mu_product. */
static void emit_state_init(void) {
    Node *u = first_update(), *sc = scalar_state();
    if (u && u->op == OP_ADAGRAD)
        emit("for (int i = 0; i < %ld; i++) m->state[i] = %s; /* sum = initial_accumulator_value */",
             G->area_size[A_PARAM], lit(u->f[0]));
    if (sc)
        emit("m->state[%ld] = 1.0@; /* %s */", sc->offset, sc->label);
}

static void emit_optimizer(void) {
    Node *u = first_update();
    emit_learning_rate();
    emit("");
    if (!u)
        return;
    emit_clip(G->trainable);     /* buffers, after the trainable parameters, are never updated */
    emit_step(u, G->trainable);
    emit("");
}

/* The body of NAME_update. */
static void emit_update_call(void) {
    Node *u = first_update(), *st[8], *sc = scalar_state();
    emit("const double lr = %s_learning_rate(m);", P);
    emit("m->step++;");
    if (!u)
        return;
    for (int i = 0; i < G->nodes.n; i++)
        if (is_clip(((Node *)G->nodes.v[i])->op)) {
            emit("clip_gradients(m->grads);");
            break;
        }
    char *args = "";
    int ns = slots_of(u, st);
    for (int k = 0; k < ns; k++)
        args = fmt("%s, m->state + %ld", args, st[k]->offset - u->in[0]->offset);
    if (sc)
        args = fmt("%s, m->state + %ld", args, sc->offset);
    emit("%s_step(m->params, m->grads%s, lr, m->step);", op_names[u->op], args);
}

/* ---- the public functions ----------------------------------------------- */

static const char *area_expr(Node *n) {
    switch (n->area) {
    case A_INPUT: return "x";
    case A_TARGET: return "y";
    case A_PARAM:
        if (G->inference)
            return fmt(in_ram ? "weights->%s" : "weights.%s", var(n));
        return fmt("m->params + %ld", n->offset);
    case A_GRAD: return fmt("m->grads + %ld", n->offset);
    case A_STATE: return fmt("m->state + %ld", n->offset);
    case A_ACT: return fmt("%s->acts + %ld", G->inference ? "a" : "m", n->offset);
    default: internal_error("node %%%d has no storage", n->id);
    }
}

/* Declare the buffers that nodes [0, end) of the given phases read or write. */
static void declare(int end, int max_phase) {
    char *seen = xalloc(G->nodes.n);
    for (int i = 0; i < end; i++) {
        Node *n = G->nodes.v[i];
        if ((int)n->phase > max_phase)
            continue;
        if (n->op == OP_RESHAPE && !funcs[n->id])     /* storage shared: declared where read */
            continue;
        Node *all[5] = {n, n->in[0], n->in[1], n->in[2], n->in[3]};
        for (int j = 0; j < 5; j++) {
            Node *v = all[j];
            if (!v || seen[v->id] || v->area == A_INPUT || v->area == A_TARGET || !v->area)
                continue;
            seen[v->id] = 1;
            const char *what = v->op == OP_PARAM ? v->label
                             : v->wrt && pre_act_grad(v) ? fmt("gradient of %s before its %s", var(v->wrt), op_names[v->wrt->act])
                             : v->wrt ? fmt("gradient of %s", var(v->wrt))
                             : n->act && v == n ? fmt("%s + %s", op_names[v->op], op_names[v->act])
                             : op_names[v->op];
            emit("%s$ *%s = %s; /* %s %s */", v->area == A_PARAM && G->inference ? "const " : "", var(v),
                 area_expr(v), dims(v), what);
        }
        if (scratches[n->id])
            emit("$ *%s = %s->acts + %ld; /* %ld $s, %s's working space while it runs */", scratches[n->id],
                 G->inference ? "a" : "m", n->scratch_off, n->scratch, funcs[n->id]);
    }
}

/* Dropout and batch norm act by mode: the training flag (1 in NAME_backward,
 * 0 in NAME_forward and NAME_evaluate), dropout's mask seed and step, batch
 * norm's running statistics. */
static int training;

static const char *modal_args(Node *n) {
    switch (n->op) {
    case OP_DROPOUT:
        return fmt(", %d, m->seed, m->step", training);
    case OP_DROPOUT_BWD:
        return ", m->seed, m->step";
    case OP_BATCH_NORM:
        if (G->inference)   /* a per-channel affine map (weights.c) */
            return "";
        return fmt(", %d, %s, %s, %s, m", training, var(n->buf[0]), var(n->buf[1]), var(n->buf[2]));
    case OP_BATCH_NORM_DX:
    case OP_BATCH_NORM_DGAMMA:     /* the model, for its batch_sum (several processes) */
        return ", m";
    default:
        return "";
    }
}

/* ---- fit(class_weight): Keras' per-class weights on the training loss ---- */

static int weighting;   /* emitting NAME_backward of a model with class weights */

/* The model's class weights: fit(class_weight) given, and a training build. */
static int class_weights(void) {
    return !G->inference && G->spec->fit && call_arg(G->spec->fit, "class_weight")->given;
}

/* class_weight_of(m, t): the weight of the class a target row names, found
 * as Keras finds it: the index itself, the rounded 0/1, or the argmax of a
 * one-hot row. */
static void emit_class_weight_of(void) {
    emit("/* fit(class_weight): the weight of the class target row t names. */");
    OPEN("static $ class_weight_of(const %s_model *m, const $ *t) {", P);
    if (G->task == TASK_SPARSE)
        emit("return m->class_weight[(int)t[0]];");
    else if (G->task == TASK_BINARY)
        emit("return m->class_weight[t[0] > 0.5@];");
    else {
        emit("int c = 0;");
        emit("for (int i = 1; i < %d; i++) c = t[i] > t[c] ? i : c;", G->n_target);
        emit("return m->class_weight[c];");
    }
    CLOSE();
    emit("");
}

/* The loss and its gradient, row by row, each row's share scaled by its
 * class's weight: sum_r w_r loss_r / n, Keras' sum_over_batch_size (the
 * weights are not normalised to sum to n). A row's mean loss is the loss
 * function run on that row alone, so every loss emitter serves unchanged. */
static int call_weighted(Node *n) {
    int is_loss = n->op >= OP_MSE && n->op <= OP_PERCEPTRON, is_bwd = n->op == OP_LOSS_BWD;
    if (!weighting || (!is_loss && !is_bwd))
        return 0;
    if (!funcs[n->id])
        internal_error("class_weight: loss node %%%d has no function of its own", n->id);
    long k = last_dim(n->in[0]);
    int t = G->n_target;
    const char *o = var(n), *p = var(n->in[0]), *y = var(n->in[1]);
    if (is_loss) {
        OPEN("{ /* class_weight: sum_r w_r loss_r / n */");
        emit("$ row, sum = 0.0@;");
        OPEN("for (int r = 0; r < n; r++) {");
        emit("%s(&row, %s + r * %ld, %s + r * %d, 1);", funcs[n->id], p, k, y, t);
        emit("sum += class_weight_of(m, %s + r * %d) * row;", y, t);
        CLOSE();
        emit("%s[0] = sum / ($)n;", o);
        CLOSE();
    } else {
        OPEN("for (int r = 0; r < n; r++) { /* class_weight: d(w_r loss_r / n) / d pred_r */");
        emit("%s(%s + r * %ld, %s + r * %ld, %s + r * %d, 1);", funcs[n->id], o, k, p, k, y, t);
        emit("const $ w = class_weight_of(m, %s + r * %d) / ($)n;", y, t);
        emit("for (int j = 0; j < %ld; j++) %s[r * %ld + j] *= w;", k, o, k);
        CLOSE();
    }
    return 1;
}

static void call(Node *n) {
    if (call_weighted(n))
        return;
    if (!funcs[n->id])
        return;
    char *args = fmt("%s", var(n));
    for (int j = 0; j < n->nin; j++)
        if (n->in[j])
            args = fmt("%s, %s", args, var(n->in[j]));
    args = fmt("%s%s", args, modal_args(n));
    if (scratches[n->id])
        args = fmt("%s, %s", args, scratches[n->id]);
    /* Transposes and penalties touch only weights; every other function runs over n rows. */
    int weights_only = n->op == OP_TRANSPOSE || n->op == OP_L1L2 || n->op == OP_L1L2_BWD;
    emit(weights_only ? "%s(%s);" : "%s(%s, n);", funcs[n->id], args);
}

static void calls(int max_phase) {
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if ((int)n->phase <= max_phase)
            call(n);
    }
}

static void guard(const char *ret) {
    emit("if (n < 1 || n > %d) return%s; /* n must be 1..%s_BATCH */", G->batch, ret, U);
}

static void emit_public(void) {
    Node *o = G->out;
    emit("void %s_forward(%s_model *m, const $ *x, $ *out, int n) {", P, P);
    indent++;
    guard("");
    declare(G->nodes.n, PH_FORWARD);
    calls(PH_FORWARD);
    emit("memcpy(out, %s, sizeof(*out) * %s);", var(o), count(o));
    CLOSE();
    emit("");
    emit("$ %s_evaluate(%s_model *m, const $ *x, const $ *y, $ *out, int n) {", P, P);
    indent++;
    guard(" -1");
    declare(G->nodes.n, PH_LOSS);
    calls(PH_LOSS);
    emit("memcpy(out, %s, sizeof(*out) * %s);", var(o), count(o));
    emit("return %s[0];", var(G->loss));
    CLOSE();
    emit("");
    if (class_weights())
        emit_class_weight_of();
    emit("$ %s_backward(%s_model *m, const $ *x, const $ *y, int n) {", P, P);
    indent++;
    guard(" -1");
    declare(G->nodes.n, PH_BACKWARD);
    training = 1;
    weighting = class_weights();
    calls(PH_BACKWARD);
    weighting = 0;
    training = 0;
    emit("return %s[0];", var(G->loss));
    CLOSE();
    emit("");
    emit("void %s_update(%s_model *m) {", P, P);
    indent++;
    emit_update_call();
    CLOSE();
    emit("");
    emit("$ %s_train_step(%s_model *m, const $ *x, const $ *y, int n) {", P, P);
    indent++;
    emit("$ loss = %s_backward(m, x, y, n);", P);
    emit("if (loss >= 0) %s_update(m);", P);
    emit("return loss;");
    CLOSE();
}

/* ---- initialization ------------------------------------------------------ */

/* How a tensor is drawn, with its initializer's constants worked out for its
 * shape. Keras's variance-scaling normals are truncated at 2 standard
 * deviations and widened by this factor (the standard deviation of a standard
 * normal truncated there), so the variance is the one the formula names. */
#define TRUNC_CORRECTION .87962566103423978

typedef enum { I_ZEROS, I_CONSTANT, I_UNIFORM, I_NORMAL, I_TRUNCATED, I_ORTHOGONAL } InitKind;

typedef struct Init {
    InitKind kind;
    double a, b;        /* constant: value; uniform: center, half-width;
                           normal: mean, stddev; orthogonal: gain */
    const char *why;    /* the formula, for the comment */
} Init;

static Init tensor_init(Node *p) {
    const Call *c = p->init;
    const char *name = c->e->name;
    /* Keras's fans: a kernel [out, in, k...] has fan_in = in * k..., fan_out = out * k... */
    long recept = 1;
    for (int d = 2; d < p->shape.ndim; d++)
        recept *= p->shape.dim[d];
    long fan_out = p->shape.dim[0] * recept;
    long fan_in = p->shape.ndim > 1 ? p->shape.dim[1] * recept : fan_out;
    double sum = (double)(fan_in + fan_out), in = (double)fan_in;
    Init r = {I_ZEROS, 0, 0, name};
    if (!strcmp(name, "zeros")) {
    } else if (!strcmp(name, "ones")) {
        r = (Init){I_CONSTANT, 1, 0, "ones"};
    } else if (!strcmp(name, "constant")) {
        r = (Init){I_CONSTANT, call_num(c, "value"), 0, fmt("constant(%g)", call_num(c, "value"))};
        if (r.a == 0)
            r.kind = I_ZEROS;
    } else if (!strcmp(name, "random_uniform")) {
        double lo = call_num(c, "minval"), hi = call_num(c, "maxval");
        r = (Init){I_UNIFORM, (lo + hi) / 2, (hi - lo) / 2, fmt("random_uniform in [%g, %g)", lo, hi)};
    } else if (!strcmp(name, "random_normal") || !strcmp(name, "truncated_normal")) {
        r = (Init){name[0] == 'r' ? I_NORMAL : I_TRUNCATED, call_num(c, "mean"), call_num(c, "stddev"),
                   fmt("%s(mean %g, stddev %g)", name, call_num(c, "mean"), call_num(c, "stddev"))};
    } else if (!strcmp(name, "glorot_uniform")) {
        r = (Init){I_UNIFORM, 0, sqrt(6 / sum), fmt("glorot_uniform, limit sqrt(6 / (%ld + %ld))", fan_in, fan_out)};
    } else if (!strcmp(name, "he_uniform")) {
        r = (Init){I_UNIFORM, 0, sqrt(6 / in), fmt("he_uniform, limit sqrt(6 / %ld)", fan_in)};
    } else if (!strcmp(name, "lecun_uniform")) {
        r = (Init){I_UNIFORM, 0, sqrt(3 / in), fmt("lecun_uniform, limit sqrt(3 / %ld)", fan_in)};
    } else if (!strcmp(name, "glorot_normal")) {
        r = (Init){I_TRUNCATED, 0, sqrt(2 / sum) / TRUNC_CORRECTION,
                   fmt("glorot_normal, stddev sqrt(2 / (%ld + %ld)) / .8796", fan_in, fan_out)};
    } else if (!strcmp(name, "he_normal")) {
        r = (Init){I_TRUNCATED, 0, sqrt(2 / in) / TRUNC_CORRECTION,
                   fmt("he_normal, stddev sqrt(2 / %ld) / .8796", fan_in)};
    } else if (!strcmp(name, "lecun_normal")) {
        r = (Init){I_TRUNCATED, 0, sqrt(1 / in) / TRUNC_CORRECTION,
                   fmt("lecun_normal, stddev sqrt(1 / %ld) / .8796", fan_in)};
    } else if (!strcmp(name, "orthogonal")) {
        if (p->shape.ndim < 2)
            internal_error("orthogonal initializer on %s", shape_str(&p->shape));
        r = (Init){I_ORTHOGONAL, call_num(c, "gain"), 0, fmt("orthogonal(gain %g)", call_num(c, "gain"))};
    } else {
        internal_error("no emitter for initializer %s", name);
    }
    return r;
}

/* A double constant as C: "0.05", "1.0". */
static const char *dlit(double v) {
    const char *s = dbl(v);
    return strpbrk(s, ".eEn") ? s : fmt("%s.0", s);
}

/* The helpers, each printed only when some tensor needs it. */
static void emit_init_helpers(const int *uses) {
    int normal = uses[I_NORMAL] || uses[I_TRUNCATED] || uses[I_ORTHOGONAL];
    if (normal || uses[I_UNIFORM]) {
        emit("/* splitmix64: a small, good, seedable generator for the initial weights. */");
        OPEN("static uint64_t rng_next(uint64_t *s) {");
        emit("uint64_t z = (*s += 0x9e3779b97f4a7c15u);");
        emit("z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;");
        emit("z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;");
        emit("return z ^ (z >> 31);");
        CLOSE();
        emit("");
    }
    if (uses[I_CONSTANT]) {
        OPEN("static void init_constant($ *p, long count, $ value) {");
        emit("for (long i = 0; i < count; i++) p[i] = value;");
        CLOSE();
        emit("");
    }
    if (uses[I_UNIFORM]) {
        emit("/* Uniform in [center - limit, center + limit). */");
        OPEN("static void init_uniform($ *p, long count, $ center, $ limit, uint64_t *s) {");
        emit("for (long i = 0; i < count; i++)");
        emit("    p[i] = center + limit * (($)(rng_next(s) >> 40) * ($)(2.0 / 16777216.0) - 1.0@);");
        CLOSE();
        emit("");
    }
    if (normal) {
        emit("/* A standard normal number: Box-Muller on two uniforms, u1 in (0, 1]. */");
        OPEN("static double rng_normal(uint64_t *s) {");
        emit("double u1 = ((double)(rng_next(s) >> 11) + 1.0) * (1.0 / 9007199254740992.0);");
        emit("double u2 = (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);");
        emit("return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);");
        CLOSE();
        emit("");
        emit("/* Normal(mean, stddev); truncated: draws beyond 2 stddev are drawn again, as Keras. */");
        OPEN("static void init_normal($ *p, long count, double mean, double stddev, int truncated, uint64_t *s) {");
        OPEN("for (long i = 0; i < count; i++) {");
        emit("double z = rng_normal(s);");
        emit("while (truncated && fabs(z) > 2.0)");
        emit("    z = rng_normal(s);");
        emit("p[i] = ($)(mean + stddev * z);");
        CLOSE();
        CLOSE();
        emit("");
    }
    if (uses[I_ORTHOGONAL]) {
        emit("/* gain times a random orthogonal matrix, as Keras's orthogonal: a normal");
        emit(" * [rows, cols] matrix whose rows (rows <= cols) or columns are made");
        emit(" * orthonormal by Gram-Schmidt, each vector twice over for accuracy. The");
        emit(" * result is the Q of a QR factorization with R's diagonal positive, which");
        emit(" * is Keras's sign correction. Vector k's element i is p[k * stride + i * step]. */");
        OPEN("static void init_orthogonal($ *p, long rows, long cols, double gain, uint64_t *s) {");
        emit("long count = rows <= cols ? rows : cols, len = rows <= cols ? cols : rows;");
        emit("long stride = rows <= cols ? cols : 1, step = rows <= cols ? 1 : cols;");
        emit("init_normal(p, rows * cols, 0.0, 1.0, 0, s);");
        OPEN("for (long k = 0; k < count; k++) {");
        emit("$ *v = p + k * stride;");
        OPEN("for (int pass = 0; pass < 2; pass++) {");
        OPEN("for (long j = 0; j < k; j++) {");
        emit("const $ *u = p + j * stride;");
        emit("double dot = 0.0;");
        emit("for (long i = 0; i < len; i++) dot += (double)u[i * step] * v[i * step];");
        emit("for (long i = 0; i < len; i++) v[i * step] -= ($)(dot * u[i * step]);");
        CLOSE();
        CLOSE();
        emit("double norm = 0.0;");
        emit("for (long i = 0; i < len; i++) norm += (double)v[i * step] * v[i * step];");
        emit("norm = sqrt(norm);");
        emit("for (long i = 0; i < len; i++) v[i * step] = ($)(v[i * step] / norm);");
        CLOSE();
        emit("for (long i = 0; i < rows * cols; i++) p[i] = ($)(gain * p[i]);");
        CLOSE();
        emit("");
    }
}

static void emit_init(void) {
    Init *inits = xalloc(sizeof(Init) * (G->params.n + 1));
    int uses[I_ORTHOGONAL + 1] = {0};
    for (int i = 0; i < G->params.n; i++) {
        inits[i] = tensor_init(G->params.v[i]);
        uses[inits[i].kind]++;
    }
    int random = uses[I_UNIFORM] || uses[I_NORMAL] || uses[I_TRUNCATED] || uses[I_ORTHOGONAL];
    emit_init_helpers(uses);
    emit("void %s_init(%s_model *m, uint64_t seed) {", P, P);
    indent++;
    if (random)
        emit("uint64_t rng = seed;");
    else
        emit("(void)seed;");
    emit("memset(m, 0, sizeof *m);");
    if (has_op(OP_DROPOUT))
        emit("m->seed = seed;");
    emit_state_init();
    if (class_weights()) {
        const ArgVal *cw = call_arg(G->spec->fit, "class_weight");
        for (int c = 0; c < class_count(G->spec); c++)
            emit("m->class_weight[%d] = %s;%s", c, lit(cw->str ? 1.0 : cw->nums[c]),
                 cw->str && !c ? " /* balanced: the runtime sets them from the training labels */" : "");
    }
    for (int i = 0; i < G->params.n; i++) {
        Node *p = G->params.v[i];
        Init in = inits[i];
        const char *at = fmt("m->params + %ld", p->offset);
        long numel = node_numel(p);
        emit("/* %s %s: %s */", p->label, dims(p), in.why);
        switch (in.kind) {
        case I_ZEROS:
            break;
        case I_CONSTANT:
            emit("init_constant(%s, %ld, %s);", at, numel, lit(in.a));
            break;
        case I_UNIFORM:
            emit("init_uniform(%s, %ld, %s, %s, &rng);", at, numel, lit(in.a), lit(in.b));
            break;
        case I_NORMAL:
        case I_TRUNCATED:
            emit("init_normal(%s, %ld, %s, %s, %d, &rng);", at, numel, dlit(in.a), dlit(in.b),
                 in.kind == I_TRUNCATED);
            break;
        case I_ORTHOGONAL:
            emit("init_orthogonal(%s, %ld, %ld, %s, &rng);", at, p->shape.dim[0],
                 numel / p->shape.dim[0], dlit(in.a));
            break;
        }
    }
    CLOSE();
}

/* ---- the files ---------------------------------------------------------- */

/* Text from outside (paths) with emit()'s two special characters replaced. */
static const char *plain(const char *s) {
    char *r = xstrdup(s);
    for (char *p = r; *p; p++)
        if (*p == '$' || *p == '@' || *p == '*')
            *p = '_';
    return r;
}

static void banner(const char *what) {
    emit("/* %s — generated by nnc %s from %s. Do not edit; regenerate instead.", plain(what),
         NNC_VERSION, plain(G->spec->src->path));
    emit(" *");
    emit(" * Model %s: input %s -> output %s, loss %s, optimizer %s.", P,
         shape_str(&G->spec->input), dims(G->out), G->spec->loss->e->name,
         G->spec->optimizer->e->name);
    emit(" * Every function takes n <= %s_BATCH samples, stored contiguously. */", U);
}

/* A header's include guard, its includes, and C linkage for C++ callers. */
static void header_open(const char *includes) {
    emit("#ifndef %s_H", U);
    emit("#define %s_H", U);
    emit("");
    if (*includes) {
        fputs(includes, out);
        emit("");
    }
    emit("#ifdef __cplusplus");
    emit("extern \"C\" {");
    emit("#endif");
    emit("");
}

static void header_close(void) {
    emit("#ifdef __cplusplus");
    emit("}");
    emit("#endif");
    emit("#endif");
}

static void emit_header(const EmitOpts *o, long stack) {
    long np = G->area_size[A_PARAM], ns = G->area_size[A_STATE], na = G->area_size[A_ACT];
    banner(o->h_name);
    header_open("#include <stddef.h>\n#include <stdint.h>\n");
    emit("#define %s_BATCH %d        /* samples per call, at most */", U, G->batch);
    emit("#define %s_IN %ld          /* $s per input sample %s */", U, node_row(G->x),
         shape_str(&G->spec->input));
    emit("#define %s_OUT %ld         /* $s per output sample */", U, node_row(G->out));
    static const char *const target_kind[] = {
        [TASK_REGRESSION] = "", [TASK_BINARY] = " (0 or 1)", [TASK_SPARSE] = " (a class index)",
        [TASK_ONEHOT] = " (one per class, one-hot)", [TASK_HINGE] = " (-1 or 1; 0 reads as -1)",
    };
    if (G->steps > 1)   /* a class at every step of a [T, k] output */
        emit("#define %s_TARGET %d       /* $s per target sample: %d steps, each %s */", U, G->n_target,
             G->steps, G->task == TASK_SPARSE ? "a class index" : G->task == TASK_BINARY ? "0 or 1"
                       : fmt("%d values, one per class", G->n_target / G->steps));
    else
        emit("#define %s_TARGET %d       /* $s per target sample%s */", U, G->n_target, target_kind[G->task]);
    emit("#define %s_NUM_PARAMS %ld  /* $s of parameters, padded to 16 per tensor */", U, np);
    emit("#define %s_NUM_STATE %ld   /* $s of optimizer state */", U, ns);
    emit("#define %s_NUM_ACTS %ld    /* $s of activations for one batch */", U, na);
    emit("#define %s_NUM_TENSORS %d  /* named parameter tensors */", U, G->params.n);
    emit("#define %s_NUM_STATE_TENSORS %d /* named optimizer state tensors */", U, G->states.n);
    emit("#define %s_STACK_BYTES %ld  /* local arrays of the largest function's frame */", U, stack);
    emit("");
    emit("/* Everything the model needs, owned by the caller: no malloc, no globals.");
    emit(" * Instances are independent, so threads may each use their own. */");
    emit("typedef struct %s_model {", P);
    emit("    $ params[%ld]; /* weights and biases, see %s_tensors */", np ? np : 1, P);
    emit("    $ grads[%ld];  /* d loss / d params, after %s_backward */", np ? np : 1, P);
    emit("    $ state[%ld];  /* optimizer state, slots parallel to params */", ns ? ns : 1);
    emit("    $ acts[%ld];   /* activations and temporaries of one batch */", na ? na : 1);
    emit("    long step;     /* optimizer steps taken */");
    if (has_op(OP_DROPOUT))
        emit("    uint64_t seed; /* of %s_init: dropout's masks are drawn from it and step */", P);
    emit("    float lr_scale; /* multiplies the learning rate (reduce_lr_on_plateau); 0 means 1 */");
    if (has_op(OP_BATCH_NORM)) {    /* dist: SyncBatchNorm on several processes */
        emit("    /* Batch norm over several processes' samples (PyTorch's SyncBatchNorm): when set,");
        emit("     * batch_sum(batch_ctx, v, n, grad) replaces v[0..n) by its sum over every process");
        emit("     * (grad: gradient sums, weighted as the caller weights each process's gradient);");
        emit("     * NULL, as %s_init leaves it: the batch is the n samples of the call. */", P);
        emit("    void (*batch_sum)(void *ctx, double *v, int n, int grad);");
        emit("    void *batch_ctx;");
    }
    if (class_weights())
        emit("    $ class_weight[%d]; /* fit(class_weight), by class; the training loss only */", class_count(G->spec));
    emit("} %s_model;", P);
    emit("");
    emit("/* A named tensor in params, as PyTorch names it (fc1.weight is [out, in]). */");
    emit("typedef struct %s_tensor {", P);
    emit("    const char *name;");
    emit("    size_t offset; /* in $s from params */");
    emit("    int ndim;");
    emit("    int shape[4];");
    emit("} %s_tensor;", P);
    emit("extern const %s_tensor %s_tensors[%s_NUM_TENSORS];", P, P, U);
    emit("/* The optimizer's state tensors in state (\"fc1.weight.exp_avg\"), to save");
    emit(" * and resume training; one unnamed entry when there are none. */");
    emit("extern const %s_tensor %s_state_tensors[%s];", P, P,
         G->states.n ? fmt("%s_NUM_STATE_TENSORS", U) : "1");
    emit("");
    emit("/* Zero the model and draw initial weights from seed (same seed, same weights). */");
    emit("void %s_init(%s_model *m, uint64_t seed);", P, P);
    emit("/* Inference: out (n, %s_OUT) = model(x (n, %s_IN)). */", U, U);
    emit("void %s_forward(%s_model *m, const $ *x, $ *out, int n);", P, P);
    emit("/* Inference and the mean loss against targets y (n, %s_TARGET). */", U);
    emit("$ %s_evaluate(%s_model *m, const $ *x, const $ *y, $ *out, int n);", P, P);
    emit("/* Forward and backward: fills m->grads, returns the mean loss. */");
    emit("$ %s_backward(%s_model *m, const $ *x, const $ *y, int n);", P, P);
    emit("/* The learning rate the next optimizer step will use (m->step steps taken). */");
    emit("double %s_learning_rate(const %s_model *m);", P, P);
    emit("/* One optimizer step from m->grads (clipped first, if the model says so). */");
    emit("void %s_update(%s_model *m);", P, P);
    emit("/* %s_backward then %s_update; returns the mean loss (-1 if n is out of range). */", P, P);
    emit("$ %s_train_step(%s_model *m, const $ *x, const $ *y, int n);", P, P);
    emit("");
    header_close();
}

/* The named tensors of PARAM (or STATE) nodes: name, offset in params
 * (state), shape. An empty table holds one unnamed entry, C having no
 * empty arrays; its NUM_ count says 0. */
static void emit_table(const char *type, const char *name, const Vec *nodes) {
    emit("const %s %s[%d] = {", type, name, nodes->n ? nodes->n : 1);
    for (int i = 0; i < nodes->n; i++) {
        Node *p = nodes->v[i];
        char *shape = "";
        for (int d = 0; d < p->shape.ndim; d++)
            shape = fmt("%s%s%ld", shape, d ? ", " : "", p->shape.dim[d]);
        emit("    {\"%s\", %ld, %d, {%s}},", p->label, p->offset, p->shape.ndim, *shape ? shape : "0");
    }
    if (!nodes->n)
        emit("    {\"\", 0, 0, {0}},");
    emit("};");
}

/* --no-libm: the rendered body with its math calls renamed, after the
 * definitions of nnc's approximations it calls (stdint.h for their bit casts;
 * after the weights in an inference build, where the includes are done). */
static void print_nolibm(const char *body, int blank) {
    const char *defs, *code = nolibm(body, &defs);
    if (*defs) {
        fputs("#include <stdint.h>\n", out);
        if (blank)
            fputs("\n", out);
        fputs("/* nnc's own math (--no-libm): no <math.h>, no libm. */\n", out);
        fputs(defs, out);
    }
    fputs(code, out);
}

static void emit_tensor_table(const char *type, const char *name) { emit_table(type, name, &G->params); }

static void emit_c_setup(Graph *g, const char *r) {
    G = g;
    P = g->spec->name;
    U = upper(P);
    real = r ? r : "float";
    indent = 0;
    used.n = 0;
    vec_push(&used, (void *)P);
    name_nodes();
    frame = stack_max = 0;
}

/* The .c of a training build; the header after it, which states the stack
 * its functions were counted to take. */
static void emit_c_file(const EmitOpts *o) {
    const char *base = strrchr(o->c_path, '/');
    banner(base ? base + 1 : o->c_path);
    emit("#include \"%s\"", o->h_name);
    if (!o->no_libm)
        emit("#include <math.h>");
    emit("#include <string.h>");
    FILE *file = out;
    char *body = NULL;
    size_t body_len = 0;
    if (o->no_libm && !(out = open_memstream(&body, &body_len)))
        fatal("out of memory");
    emit("");
    emit_tensor_table(fmt("%s_tensor", P), fmt("%s_tensors", P));
    emit_table(fmt("%s_tensor", P), fmt("%s_state_tensors", P), &G->states);
    emit("");
    emit_init();
    emit("");
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if (funcs[i]) {
            emitters[n->op](n);
            emit("");
        }
    }
    emit_optimizer();
    emit_public();
    if (o->no_libm) {
        fclose(out);
        out = file;
        print_nolibm(body, 1);
    }
}

void emit_c(Graph *g, const EmitOpts *o) {
    emit_c_setup(g, o->real);
    if (!(out = fopen(o->c_path, "w")))
        fatal("cannot write %s: %s", o->c_path, strerror(errno));
    emit_c_file(o);
    if (fclose(out))
        fatal("cannot write %s: %s", o->c_path, strerror(errno));
    long stack = stack_max;
    if (!(out = fopen(o->h_path, "w")))
        fatal("cannot write %s: %s", o->h_path, strerror(errno));
    emit_header(o, stack);
    if (fclose(out))
        fatal("cannot write %s: %s", o->h_path, strerror(errno));
}

/* ---- nnc train's glue program -------------------------------------------- */

static const char *c_string(const char *s) {
    if (!s)
        return "NULL";
    char *r = "\"";
    for (; *s; s++)
        r = (*s == '"' || *s == '\\') ? fmt("%s\\%c", r, *s)
          : isprint((unsigned char)*s) && !strchr("$@?", *s) ? fmt("%s%c", r, *s)
          : fmt("%s\\%03o", r, (unsigned char)*s);
    return fmt("%s\"", r);
}

static const char *data_path(const Spec *s, const char *key) {
    if (!s->data || !call_has(s->data, key) || !call_str(s->data, key))
        return NULL;
    const char *p = call_str(s->data, key);
    return p[0] == '/' ? p : fmt("%s/%s", s->dir, p);
}

/* fit(validation_data = ...) and its labels, relative to the model file. */
static const char *fit_path(const Spec *s, const char *key) {
    const char *p = call_has(s->fit, key) ? call_str(s->fit, key) : NULL;
    if (!p || !*p)
        return NULL;
    return p[0] == '/' ? p : fmt("%s/%s", s->dir, p);
}

/* data(format = ...) as the runtime's NNC_FORMAT_*. */
static const char *format_name(const Spec *s) {
    const char *f = s->data ? call_str(s->data, "format") : "auto";
    return !strcmp(f, "csv") ? "NNC_FORMAT_CSV" : !strcmp(f, "idx") ? "NNC_FORMAT_IDX"
         : !strcmp(f, "npy") ? "NNC_FORMAT_NPY" : "NNC_FORMAT_AUTO";
}

/* `nnc summary`'s text as a C string, for the --report page. */
static const char *summary_string(Graph *g) {
    FILE *f = tmpfile();
    char *text;
    long n;
    if (!f)
        return "NULL";
    summary(g, f);
    n = ftell(f);
    rewind(f);
    text = xalloc((size_t)n + 1);
    if (n < 0 || fread(text, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return "NULL";
    }
    text[n] = 0;
    fclose(f);
    return c_string(text);
}

static const char *const task_names[] = {
    [TASK_REGRESSION] = "NNC_REGRESSION", [TASK_BINARY] = "NNC_BINARY", [TASK_SPARSE] = "NNC_SPARSE",
    [TASK_ONEHOT] = "NNC_ONEHOT", [TASK_HINGE] = "NNC_HINGE",
};

/* A metric of metrics(...) is NNC_MON_METRIC + 2 * its index (+ 1 for
 * val_); the loss, accuracy and rmse have their own codes. */
static const char *monitor_name(const Call *c) {
    static const char *const names[] = {"NNC_MON_LOSS", "NNC_MON_VAL_LOSS", "NNC_MON_ACCURACY",
                                        "NNC_MON_VAL_ACCURACY", "NNC_MON_RMSE", "NNC_MON_VAL_RMSE"};
    static const char *const keys[] = {"loss", "val_loss", "accuracy", "val_accuracy", "rmse", "val_rmse"};
    const char *m = call_str(c, "monitor"), *base = strncmp(m, "val_", 4) ? m : m + 4;
    for (int i = 0; i < G->spec->nmetrics; i++)
        if (!strcmp(base, G->spec->metrics[i]->e->name))
            return fmt("NNC_MON_METRIC + %d", 2 * i + (base != m));
    for (int i = 0; i < 6; i++)
        if (!strcmp(m, keys[i]))
            return names[i];
    internal_error("monitor '%s' passed the checker", m);
}

static const char *mode_name(const Call *c) {
    const char *m = call_str(c, "mode");
    return !strcmp(m, "min") ? "NNC_MODE_MIN" : !strcmp(m, "max") ? "NNC_MODE_MAX" : "NNC_MODE_AUTO";
}

/* metrics(...) as the runtime's nnc_metric array, in the order written. */
static void emit_metrics(const Spec *s) {
    static const char *const kinds[][2] = {
        {"accuracy", "NNC_METRIC_ACCURACY"}, {"binary_accuracy", "NNC_METRIC_BINARY_ACCURACY"},
        {"mse", "NNC_METRIC_MSE"}, {"mae", "NNC_METRIC_MAE"}, {"rmse", "NNC_METRIC_RMSE"},
        {"precision", "NNC_METRIC_PRECISION"}, {"recall", "NNC_METRIC_RECALL"}, {"auc", "NNC_METRIC_AUC"},
        {"top_k_accuracy", "NNC_METRIC_TOP_K"},
    };
    emit("static const nnc_metric metrics[] = {");
    for (int i = 0; i < s->nmetrics; i++) {
        const Call *c = s->metrics[i];
        const char *kind = NULL;
        for (int j = 0; j < (int)(sizeof kinds / sizeof kinds[0]); j++)
            if (!strcmp(c->e->name, kinds[j][0]))
                kind = kinds[j][1];
        if (!kind)
            internal_error("metric '%s' has no emitter", c->e->name);
        emit("    {%s, %d},", kind, call_has(c, "k") ? (int)call_num(c, "k") : 0);
    }
    emit("    {NNC_METRIC_END, 0},");
    emit("};");
}

/* callbacks(...) as the runtime's nnc_callbacks; the checker allowed each once. */
static void emit_callbacks(const Spec *s) {
    const Call *es = NULL, *ckpt = NULL, *csv = NULL, *rlr = NULL;
    for (int i = 0; i < s->ncallbacks; i++) {
        const Call *c = s->callbacks[i];
        if (!strcmp(c->e->name, "early_stopping"))
            es = c;
        else if (!strcmp(c->e->name, "model_checkpoint"))
            ckpt = c;
        else if (!strcmp(c->e->name, "csv_logger"))
            csv = c;
        else if (!strcmp(c->e->name, "reduce_lr_on_plateau"))
            rlr = c;
        else
            internal_error("callback '%s' has no emitter", c->e->name);
    }
    emit("static const nnc_callbacks callbacks = {");
    if (es)
        emit("    1, %s, %ld, %d, %s, %.17g, /* early_stopping */", monitor_name(es),
             (long)call_num(es, "patience"), (int)call_num(es, "restore_best_weights"), mode_name(es),
             call_num(es, "min_delta"));
    else
        emit("    0, 0, 0, 0, 0, 0.0, /* no early_stopping */");
    if (ckpt)
        emit("    %s, %s, %d, %s, /* model_checkpoint */", c_string(call_str(ckpt, "path")),
             monitor_name(ckpt), (int)call_num(ckpt, "save_best_only"), mode_name(ckpt));
    else
        emit("    NULL, 0, 0, 0, /* no model_checkpoint */");
    emit("    %s, /* csv_logger */", csv ? c_string(call_str(csv, "path")) : "NULL");
    if (rlr)
        emit("    1, %s, %ld, %ld, %s, %.17g, %.17g, %.17g, /* reduce_lr_on_plateau */", monitor_name(rlr),
             (long)call_num(rlr, "patience"), (long)call_num(rlr, "cooldown"), mode_name(rlr),
             call_num(rlr, "factor"), call_num(rlr, "min_delta"), call_num(rlr, "min_lr"));
    else
        emit("    0, 0, 0, 0, 0, 0.0, 0.0, 0.0, /* no reduce_lr_on_plateau */");
    emit("};");
}

void emit_driver(Graph *g, FILE *f, const char *h_name) {
    const Spec *s = g->spec;
    const char *pre = s->preprocess->e->name;
    G = g;
    P = s->name;
    U = upper(P);
    real = "float";
    out = f;
    indent = 0;
    emit("/* Generated by nnc %s: links model %s with the nnc runtime (nnc train). */",
         NNC_VERSION, P);
    emit("#include \"%s\"", h_name);
    emit("#include \"nnc_rt.h\"");
    emit("");
    emit("static %s_model model;", P);
    emit_tensor_table("nnc_tensor", "tensors");
    emit_table("nnc_tensor", "state_tensors", &g->states);
    emit("static float *params(void *m) { return ((%s_model *)m)->params; }", P);
    emit("static float *state(void *m) { return ((%s_model *)m)->state; }", P);
    emit("static long *step(void *m) { return &((%s_model *)m)->step; }", P);
    emit("static void init(void *m, uint64_t seed) { %s_init(m, seed); }", P);
    emit("static float train_step(void *m, const float *x, const float *y, int n) {");
    emit("    return %s_train_step(m, x, y, n);", P);
    emit("}");
    emit("static float evaluate(void *m, const float *x, const float *y, int n, float *out) {");
    emit("    return %s_evaluate(m, x, y, out, n);", P);
    emit("}");
    emit("static void predict(void *m, const float *x, int n, float *out) {");
    emit("    %s_forward(m, x, out, n);", P);
    emit("}");
    emit("static float learning_rate(void *m) { return (float)%s_learning_rate(m); }", P);
    emit("static float *lr_scale(void *m) { return &((%s_model *)m)->lr_scale; }", P);
    /* ---- dist: train_step's halves and the gradient block, for --processes */
    emit("static float backward(void *m, const float *x, const float *y, int n) {");
    emit("    return %s_backward(m, x, y, n);", P);
    emit("}");
    emit("static void update(void *m) { %s_update(m); }", P);
    emit("static float *grads(void *m) { return ((%s_model *)m)->grads; }", P);
    if (has_op(OP_DROPOUT))
        emit("static uint64_t *mask_seed(void *m) { return &((%s_model *)m)->seed; }", P);
    if (has_op(OP_BATCH_NORM)) {
        emit("static void set_batch_sum(void *m, void (*sum)(void *ctx, double *v, int n, int grad), void *ctx) {");
        emit("    ((%s_model *)m)->batch_sum = sum;", P);
        emit("    ((%s_model *)m)->batch_ctx = ctx;", P);
        emit("}");
    }
    if (class_weights())
        emit("static float *class_weight(void *m) { return ((%s_model *)m)->class_weight; }", P);
    if (s->ncallbacks)
        emit_callbacks(s);
    if (s->nmetrics)
        emit_metrics(s);
    emit("");
    emit("int main(int argc, char **argv) {");
    emit("    static const nnc_model_desc d = {");
    emit("        %s, %s,", c_string(P), c_string(s->src->path));
    emit("        %s_BATCH, %s_IN, %s_OUT, %s_TARGET, %s, %d,", U, U, U, U,
         task_names[g->task], g->logits);
    emit("        %s_NUM_PARAMS, tensors, %s_NUM_TENSORS,", U, U);
    emit("        params, init, train_step, evaluate, predict,");
    emit("        %ld, %d, %lluu, %.17g,", (long)call_num(s->fit, "epochs"),
         (int)call_num(s->fit, "shuffle"), (unsigned long long)call_num(s->fit, "seed"),
         call_num(s->fit, "validation_split"));
    emit("        %s, %s,", c_string(data_path(s, "train")), c_string(data_path(s, "test")));
    emit("        %s,", !strcmp(pre, "standardize") ? "NNC_PRE_STANDARDIZE"
                      : !strcmp(pre, "min_max") ? "NNC_PRE_MINMAX" : "NNC_PRE_NONE");
    emit("        learning_rate,");
    /* ---- callbacks(...) (workflow) */
    emit("        %s,", s->ncallbacks ? "&callbacks" : "NULL");
    /* ---- metrics(...) (workflow) */
    emit("        %s,", s->nmetrics ? "metrics" : "NULL");
    /* ---- resuming (workflow) */
    emit("        state_tensors, %s_NUM_STATE_TENSORS, %s_NUM_STATE, state, step,", U, U);
    /* ---- data(train_labels, test_labels, scale) (images) */
    emit("        %s, %s, %.17g,", c_string(data_path(s, "train_labels")), c_string(data_path(s, "test_labels")),
         s->data ? call_num(s->data, "scale") : 1.0);
    /* ---- embedding (sequences): the input's values are token ids */
    long vocab = s->nlayers && s->layers[0].c->e->layer == L_EMBEDDING
               ? (long)call_num(s->layers[0].c, "input_dim") : 0;
    emit("        %ld, /* token ids: integers in [0, this), 0 = not ids */", vocab);
    /* ---- flow: validation_data, the rate's multiplier, cross_validate, the summary */
    emit("        %s, %s,", c_string(fit_path(s, "validation_data")), c_string(fit_path(s, "validation_labels")));
    emit("        lr_scale, %d,", s->cross_validate ? (int)call_num(s->cross_validate, "k") : 0);
    emit("        %s,", summary_string(G));
    emit("        %s,", format_name(s));
    if (class_weights())
        emit("        class_weight, %d, %d,", class_count(s), call_arg(s->fit, "class_weight")->str != NULL);
    else
        emit("        NULL, 0, 0, /* no class_weight */");
    /* ---- seqce: a class at every step of a [T, K] output */
    emit("        %d, /* steps: classified rows per output sample */", g->steps > 1 ? g->steps : 1);
    /* ---- dist: training on several processes */
    emit("        backward, update, grads, %s, %s,", has_op(OP_DROPOUT) ? "mask_seed" : "NULL",
         has_op(OP_BATCH_NORM) ? "set_batch_sum" : "NULL");
    emit("    };");
    emit("    return nnc_main(&d, &model, argc, argv);");
    emit("}");
}

/* ---- the inference build --------------------------------------------------- */

/* Weights as one constant struct (it lands in flash), each tensor's values
 * printed so they read back bit-exactly, eight to a line. */
static void emit_weight_values(void) {
    emit("static const %s_weights weights = {", P);
    indent++;
    for (int i = 0; i < G->params.n; i++) {
        Node *p = G->params.v[i];
        long numel = node_numel(p);
        emit("{ /* %s %s */", plain(p->label), dims(p));
        for (long j = 0; j < numel; j += 8) {
            char *line = "";
            for (long k = j; k < j + 8 && k < numel; k++)
                line = fmt("%s%s%s", line, k > j ? " " : "", fmt("%s,", lit(p->value[k])));
            emit("    %s", line);
        }
        emit(i + 1 < G->params.n ? "}," : "}");
    }
    indent--;
    emit("};");
}

/* ---- --weights-in-ram: NAME_load ------------------------------------------ */

static Node *fold;      /* the first layer's weight NAME_load folds the input scaling into */

static const char *const load_errors[][2] = {
    {"TRUNCATED", "shorter than its header says"},
    {"HEADER", "the JSON header is malformed"},
    {"UNKNOWN", "a tensor the model does not have, or one twice"},
    {"MISSING", "a tensor of the model is absent"},
    {"DTYPE", "a tensor is not F32"},
    {"SHAPE", "a tensor's shape is not the model's"},
    {"OFFSETS", "data_offsets out of the data or not the tensor's size"},
    {"VALUE", "a weight is infinite or NaN"},
    {"PREPROCESS", "the input scaling (metadata nnc.preprocess, nnc.scale, nnc.shift) is missing or malformed"},
};
enum { NLOAD_ERRORS = sizeof load_errors / sizeof *load_errors };

static void emit_load_decl(void) {
    emit("/* %s_load's results: 0, or one of these (and the weights are untouched). */", P);
    for (int i = 0; i < NLOAD_ERRORS; i++)
        emit("#define %s_LOAD_%s (-%d) /* %s */", U, load_errors[i][0], i + 1, load_errors[i][1]);
    emit("");
    emit("/* Reads a .safetensors image as `nnc train --save` writes it, from memory,");
    emit(" * into w: every tensor of the model once, F32, its exact shape, every value");
    emit(" * finite%s. No malloc, no stdio. Returns 0 or a %s_LOAD_ code. */",
         fold ? "; the input scaling in the metadata is folded into the first layer" : "", U);
    emit("int %s_load(%s_weights *w, const void *safetensors, size_t len);", P, P);
    emit("");
}

/* The parser's helpers: the same for every model. */
static const char load_helpers[] =
    "/* ---- reading a .safetensors image: 8 bytes of header length (little endian),\n"
    " * a JSON header {\"name\": {\"dtype\": \"F32\", \"shape\": [...], \"data_offsets\":\n"
    " * [begin, end]}, \"__metadata__\": {\"key\": \"value\"}}, then the data. */\n"
    "typedef struct st_cursor {\n"
    "    const unsigned char *p, *end;\n"
    "} st_cursor;\n"
    "\n"
    "static void st_ws(st_cursor *c) {\n"
    "    while (c->p < c->end && (*c->p == ' ' || *c->p == '\\t' || *c->p == '\\n' || *c->p == '\\r'))\n"
    "        c->p++;\n"
    "}\n"
    "\n"
    "static int st_eat(st_cursor *c, int ch) {\n"
    "    st_ws(c);\n"
    "    if (c->p == c->end || *c->p != ch)\n"
    "        return 0;\n"
    "    c->p++;\n"
    "    return 1;\n"
    "}\n"
    "\n"
    "/* A JSON string without escapes (nnc writes none): its bytes [*s, *s + *n). */\n"
    "static int st_string(st_cursor *c, const unsigned char **s, size_t *n) {\n"
    "    if (!st_eat(c, '\"'))\n"
    "        return 0;\n"
    "    *s = c->p;\n"
    "    while (c->p < c->end && *c->p != '\"') {\n"
    "        if (*c->p == '\\\\' || *c->p < 0x20)\n"
    "            return 0;\n"
    "        c->p++;\n"
    "    }\n"
    "    if (c->p == c->end)\n"
    "        return 0;\n"
    "    *n = (size_t)(c->p++ - *s);\n"
    "    return 1;\n"
    "}\n"
    "\n"
    "static int st_is(const unsigned char *s, size_t n, const char *lit) {\n"
    "    size_t i = 0;\n"
    "    while (i < n && lit[i] && s[i] == (unsigned char)lit[i])\n"
    "        i++;\n"
    "    return i == n && !lit[i];\n"
    "}\n"
    "\n"
    "/* [a, b, ...]: at most max whole numbers below 2^48 into v, how many in *n. */\n"
    "static int st_uints(st_cursor *c, unsigned long long *v, int max, int *n) {\n"
    "    *n = 0;\n"
    "    if (!st_eat(c, '['))\n"
    "        return 0;\n"
    "    if (st_eat(c, ']'))\n"
    "        return 1;\n"
    "    do {\n"
    "        unsigned long long x = 0;\n"
    "        st_ws(c);\n"
    "        if (*n == max || c->p == c->end || *c->p < '0' || *c->p > '9')\n"
    "            return 0;\n"
    "        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')\n"
    "            if ((x = x * 10 + (unsigned)(*c->p++ - '0')) >= 281474976710656ull)\n"
    "                return 0;\n"
    "        v[(*n)++] = x;\n"
    "    } while (st_eat(c, ','));\n"
    "    return st_eat(c, ']');\n"
    "}\n"
    "\n"
    "/* The little-endian float at p. */\n"
    "static float st_f32(const unsigned char *p) {\n"
    "    union { uint32_t u; float f; } v;\n"
    "    v.u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;\n"
    "    return v.f;\n"
    "}\n";

/* Decimal parsing, only for models whose input scaling load folds. */
static const char load_decimals[] =
    "\n"
    "/* count comma-separated decimals (nnc writes %.9g) from [s, s + n) into v:\n"
    " * 17 significant digits at most, scaled by an exact power of ten (the\n"
    " * nearest float for exponents within 22). 0 unless exactly count, finite. */\n"
    "static int st_decimals(const unsigned char *s, size_t n, float *v, int count) {\n"
    "    const unsigned char *end = s + n;\n"
    "    for (int i = 0; i < count; i++) {\n"
    "        if (i && (s == end || *s++ != ','))\n"
    "            return 0;\n"
    "        const int neg = s < end && *s == '-';\n"
    "        double m = 0.0, p = 1.0, ten = 10.0;\n"
    "        int e = 0, digits = 0, sig = 0, point = 0, x = 0;\n"
    "        s += neg;\n"
    "        for (; s < end && ((*s >= '0' && *s <= '9') || (*s == '.' && !point)); s++) {\n"
    "            if (*s == '.') {\n"
    "                point = 1;\n"
    "                continue;\n"
    "            }\n"
    "            digits++;\n"
    "            if (sig < 17 && (m > 0.0 || *s != '0')) {\n"
    "                m = m * 10.0 + (*s - '0');\n"
    "                sig++;\n"
    "                e -= point;\n"
    "            } else {\n"
    "                e += !point && m > 0.0;\n"
    "                e -= point && m == 0.0;\n"
    "            }\n"
    "        }\n"
    "        if (!digits)\n"
    "            return 0;\n"
    "        if (s < end && (*s == 'e' || *s == 'E')) {\n"
    "            const int eneg = ++s < end && *s == '-';\n"
    "            s += s < end && (*s == '-' || *s == '+');\n"
    "            if (s == end || *s < '0' || *s > '9')\n"
    "                return 0;\n"
    "            for (; s < end && *s >= '0' && *s <= '9'; s++)\n"
    "                x = x < 1000 ? x * 10 + (*s - '0') : x;\n"
    "            e += eneg ? -x : x;\n"
    "        }\n"
    "        for (int k = e < 0 ? -e : e; k; k >>= 1, ten *= ten)\n"
    "            if (k & 1)\n"
    "                p *= ten;\n"
    "        const double r = e < 0 ? m / p : m * p;\n"
    "        if (!(r < 3.4028234e38))\n"
    "            return 0;\n"
    "        v[i] = (float)(neg ? -r : r);\n"
    "    }\n"
    "    return s == end;\n"
    "}\n";

/* NAME_load: parse and check everything, then copy (and fold). */
static void emit_loader(void) {
    int nt = G->params.n;
    fputs(load_helpers, out);
    if (fold)
        fputs(load_decimals, out);
    emit("");
    emit("int %s_load(%s_weights *w, const void *safetensors, size_t len) {", P, P);
    emit("    static const struct {");
    emit("        const char *name;");
    emit("        int ndim;");
    emit("        unsigned long long shape[4];");
    emit("        long numel;");
    emit("    } tensors[%d] = {", nt);
    for (int i = 0; i < nt; i++) {
        Node *p = G->params.v[i];
        char *shape = "";
        for (int d = 0; d < p->shape.ndim; d++)
            shape = fmt("%s%s%ld", shape, d ? ", " : "", p->shape.dim[d]);
        emit("        {\"%s\", %d, {%s}, %ld},", p->label, p->shape.ndim, shape, node_numel(p));
    }
    emit("    };");
    char *dsts = "";
    for (int i = 0; i < nt; i++)
        dsts = fmt("%s%sw->%s", dsts, i ? ", " : "", var(G->params.v[i]));
    emit("    float *const dst[%d] = {%s};", nt, dsts);
    emit("    const unsigned char *b = (const unsigned char *)safetensors, *key, *value;");
    emit("    size_t at[%d] = {0}, key_n, value_n;", nt);
    emit("    int seen[%d] = {0};", nt);
    if (fold) {
        emit("    const unsigned char *kind = 0, *scale_s = 0, *shift_s = 0;");
        emit("    size_t kind_n = 0, scale_n = 0, shift_n = 0;");
    }
    emit("    if (len < 8)");
    emit("        return %s_LOAD_TRUNCATED;", U);
    emit("    unsigned long long header = 0;");
    emit("    for (int i = 7; i >= 0; i--)");
    emit("        header = header << 8 | b[i];");
    emit("    if (header > len - 8)");
    emit("        return %s_LOAD_TRUNCATED;", U);
    emit("    const unsigned char *data = b + 8 + header;");
    emit("    const size_t data_len = len - 8 - (size_t)header;");
    emit("    st_cursor c = {b + 8, data};");
    emit("    if (!st_eat(&c, '{'))");
    emit("        return %s_LOAD_HEADER;", U);
    emit("    if (!st_eat(&c, '}')) {");
    emit("        do {");
    emit("            if (!st_string(&c, &key, &key_n) || !st_eat(&c, ':') || !st_eat(&c, '{'))");
    emit("                return %s_LOAD_HEADER;", U);
    emit("            if (st_is(key, key_n, \"__metadata__\")) {");
    emit("                if (st_eat(&c, '}'))");
    emit("                    continue;");
    emit("                do {");
    emit("                    if (!st_string(&c, &key, &key_n) || !st_eat(&c, ':') || !st_string(&c, &value, &value_n))");
    emit("                        return %s_LOAD_HEADER;", U);
    if (fold) {
        emit("                    if (st_is(key, key_n, \"nnc.preprocess\"))");
        emit("                        kind = value, kind_n = value_n;");
        emit("                    else if (st_is(key, key_n, \"nnc.scale\"))");
        emit("                        scale_s = value, scale_n = value_n;");
        emit("                    else if (st_is(key, key_n, \"nnc.shift\"))");
        emit("                        shift_s = value, shift_n = value_n;");
    }
    emit("                } while (st_eat(&c, ','));");
    emit("                if (!st_eat(&c, '}'))");
    emit("                    return %s_LOAD_HEADER;", U);
    emit("                continue;");
    emit("            }");
    emit("            int t = 0, fields = 0, ndim = 0, noff = 0, f32 = 0;");
    emit("            unsigned long long shape[8], off[2];");
    emit("            while (t < %d && !st_is(key, key_n, tensors[t].name))", nt);
    emit("                t++;");
    emit("            if (t == %d || seen[t]++)", nt);
    emit("                return %s_LOAD_UNKNOWN;", U);
    emit("            do {");
    emit("                if (!st_string(&c, &key, &key_n) || !st_eat(&c, ':'))");
    emit("                    return %s_LOAD_HEADER;", U);
    emit("                if (st_is(key, key_n, \"dtype\") && !(fields & 1) && st_string(&c, &value, &value_n))");
    emit("                    f32 = st_is(value, value_n, \"F32\"), fields |= 1;");
    emit("                else if (st_is(key, key_n, \"shape\") && !(fields & 2) && st_uints(&c, shape, 8, &ndim))");
    emit("                    fields |= 2;");
    emit("                else if (st_is(key, key_n, \"data_offsets\") && !(fields & 4) && st_uints(&c, off, 2, &noff) && noff == 2)");
    emit("                    fields |= 4;");
    emit("                else");
    emit("                    return %s_LOAD_HEADER;", U);
    emit("            } while (st_eat(&c, ','));");
    emit("            if (!st_eat(&c, '}') || fields != 7)");
    emit("                return %s_LOAD_HEADER;", U);
    emit("            if (!f32)");
    emit("                return %s_LOAD_DTYPE;", U);
    emit("            if (ndim != tensors[t].ndim)");
    emit("                return %s_LOAD_SHAPE;", U);
    emit("            for (int d = 0; d < ndim; d++)");
    emit("                if (shape[d] != tensors[t].shape[d])");
    emit("                    return %s_LOAD_SHAPE;", U);
    emit("            if (off[0] > off[1] || off[1] > data_len || off[1] - off[0] != 4ull * (unsigned long long)tensors[t].numel)");
    emit("                return %s_LOAD_OFFSETS;", U);
    emit("            at[t] = (size_t)off[0];");
    emit("        } while (st_eat(&c, ','));");
    emit("        if (!st_eat(&c, '}'))");
    emit("            return %s_LOAD_HEADER;", U);
    emit("    }");
    emit("    st_ws(&c);");
    emit("    if (c.p != c.end)");
    emit("        return %s_LOAD_HEADER;", U);
    emit("    for (int t = 0; t < %d; t++) {", nt);
    emit("        if (!seen[t])");
    emit("            return %s_LOAD_MISSING;", U);
    emit("        for (long i = 0; i < tensors[t].numel; i++) {");
    emit("            const float v = st_f32(data + at[t] + 4 * (size_t)i);");
    emit("            if (v - v != 0.0f)");
    emit("                return %s_LOAD_VALUE;", U);
    emit("        }");
    emit("    }");
    if (fold) {
        Node *wn = G->fold_w, *bn = G->fold_b;
        long o = wn->shape.dim[0], k = wn->shape.dim[1];
        emit("    /* preprocess %s: x' = (x - shift) * scale, folded into %s as the baked", G->preprocess,
             wn->label);
        emit("     * build does: W' = W diag(scale), b' = b - W' shift. */");
        emit("    float scale[%ld], shift[%ld];", k, k);
        emit("    if (!kind || !st_is(kind, kind_n, \"%s\") || !scale_s || !shift_s ||", G->preprocess);
        emit("        !st_decimals(scale_s, scale_n, scale, %ld) || !st_decimals(shift_s, shift_n, shift, %ld))", k, k);
        emit("        return %s_LOAD_PREPROCESS;", U);
        if (!bn) {
            emit("    for (int i = 0; i < %ld; i++)", k);
            emit("        if (shift[i] != 0.0f)");
            emit("            return %s_LOAD_PREPROCESS; /* no bias to fold a shift into */", U);
        }
        emit("    for (int t = 0; t < %d; t++)", nt);
        emit("        for (long i = 0; i < tensors[t].numel; i++)");
        emit("            dst[t][i] = st_f32(data + at[t] + 4 * (size_t)i);");
        emit("    for (int j = 0; j < %ld; j++) {", o);
        emit("        double sum = 0.0;");
        emit("        for (int i = 0; i < %ld; i++) {", k);
        emit("            float *wji = &w->%s[j * %ld + i];", var(wn), k);
        emit("            *wji = (float)((double)*wji * scale[i]);");
        emit("            sum += (double)*wji * shift[i];");
        emit("        }");
        if (bn)
            emit("        w->%s[j] = (float)(w->%s[j] - sum);", var(bn), var(bn));
        else
            emit("        (void)sum;");
        emit("    }");
    } else {
        emit("    for (int t = 0; t < %d; t++)", nt);
        emit("        for (long i = 0; i < tensors[t].numel; i++)");
        emit("            dst[t][i] = st_f32(data + at[t] + 4 * (size_t)i);");
    }
    emit("    return 0;");
    emit("}");
}

static void inference_banner(const char *what, const char *weights_path) {
    emit("/* %s — generated by nnc %s from %s. Do not edit; regenerate instead.", plain(what),
         NNC_VERSION, plain(G->spec->src->path));
    emit(" *");
    emit(" * Model %s, inference only: input %s -> output %s; the forward pass with the", P,
         shape_str(&G->spec->input), dims(G->out));
    if (in_ram)
        emit(" * weights in the caller's %s_weights, read from a .safetensors image by %s_load. No training code, no malloc,", P, P);
    else
        emit(" * weights of %s baked in as constants. No training code, no malloc,", plain(weights_path));
    emit(" * no stdio, no mutable globals: activations live in the caller's %s_arena.", P);
    if (G->preprocess)
        emit(" * The input scaling (preprocess %s) is folded into the first layer: pass raw inputs.",
             G->preprocess);
    if (G->logits)
        emit(" * Outputs are logits (the loss applies %s): apply it for probabilities.",
             G->task == TASK_BINARY ? "the sigmoid" : "the softmax");
    emit(" * Every call takes n <= %s_BATCH samples, stored contiguously. */", U);
}

static void emit_inference_header(const EmitOpts *o, const char *weights_path, long stack) {
    long na = G->area_size[A_ACT];
    inference_banner(o->h_name, weights_path);
    header_open(in_ram ? "#include <stddef.h>\n" : "");
    emit("#define %s_BATCH %-8d /* samples per call, at most */", U, G->batch);
    emit("#define %s_IN %-11ld /* floats per input sample %s */", U, node_row(G->x),
         shape_str(&G->spec->input));
    emit("#define %s_OUT %-10ld /* floats per output sample */", U, node_row(G->out));
    emit("#define %s_ARENA_BYTES %-2ld /* RAM: sizeof(%s_arena) */", U, 4 * (na ? na : 1), P);
    if (in_ram)
        emit("#define %s_WEIGHT_BYTES %ld /* RAM: sizeof(%s_weights), filled by %s_load */", U,
             4 * weight_floats(G), P, P);
    else
        emit("#define %s_WEIGHT_BYTES %ld /* flash: sizeof(%s_weights), constant data */", U,
             4 * weight_floats(G), P);
    emit("#define %s_MACS %-9ld /* multiply-accumulates per sample */", U, graph_macs(G));
    emit("#define %s_STACK_BYTES %-2ld /* stack: local arrays of the largest function's frame */", U, stack);
    emit("");
    emit("/* Activations of one call, reused by liveness; owned by the caller (static,");
    emit(" * stack or heap). Separate arenas are independent, so threads may each use one. */");
    emit("typedef struct %s_arena {", P);
    emit("    float acts[%ld];", na ? na : 1);
    emit("} %s_arena;", P);
    emit("");
    emit(in_ram ? "/* The weights, PyTorch's names with '.' as '_'; %s_load fills them. */"
                : "/* The layout of the baked-in weights, PyTorch's names with '.' as '_'. */", P);
    emit("typedef struct %s_weights {", P);
    for (int i = 0; i < G->params.n; i++) {
        Node *p = G->params.v[i];
        emit("    float %s[%ld]; /* %s %s */", var(p), node_numel(p), dims(p), plain(p->label));
    }
    emit("} %s_weights;", P);
    emit("");
    if (in_ram) {
        emit_load_decl();
        emit("/* out (n, %s_OUT) = model(x (n, %s_IN)), 1 <= n <= %s_BATCH; nothing happens", U, U, U);
        emit(" * for another n. The weights are only read: instances may share them. */");
        emit("void %s_forward(const %s_weights *weights, %s_arena *a, const float *x, float *out, int n);",
             P, P, P);
    } else {
        emit("/* out (n, %s_OUT) = model(x (n, %s_IN)), 1 <= n <= %s_BATCH; nothing happens", U, U, U);
        emit(" * for another n. */");
        emit("void %s_forward(%s_arena *a, const float *x, float *out, int n);", P, P);
    }
    emit("");
    header_close();
}

static void emit_inference_setup(Graph *g, int weights_in_ram) {
    G = g;
    in_ram = weights_in_ram;
    fold = in_ram ? g->fold_w : NULL;
    P = g->spec->name;
    U = upper(P);
    real = "float";
    indent = 0;
    used.n = 0;
    vec_push(&used, (void *)P);
    vec_push(&used, fmt("%s_arena", P));
    vec_push(&used, fmt("%s_weights", P));
    vec_push(&used, fmt("%s_forward", P));
    vec_push(&used, fmt("%s_load", P));
    name_nodes();
    frame = stack_max = 0;
}

/* The .c of an inference build (the baked weights left out when only
 * counting the stack: they are no local). */
static void emit_inference_file(const EmitOpts *o, const char *wpath, int with_weights) {
    const char *base = strrchr(o->c_path, '/');
    inference_banner(base ? base + 1 : o->c_path, wpath);
    emit("#include \"%s\"", o->h_name);
    if (in_ram)
        emit("#include <stdint.h>");
    /* The layers go to memory first: <math.h> is included only if they call
     * into it, so a ReLU network compiles with no library headers at all. */
    FILE *file = out;
    char *body = NULL;
    size_t body_len = 0;
    if (!(out = open_memstream(&body, &body_len)))
        fatal("out of memory");
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if (funcs[i]) {
            emitters[n->op](n);
            emit("");
        }
    }
    fclose(out);
    out = file;
    static const char *const libm[] = {"expf(", "logf(", "tanhf(", "log1pf(", "expm1f(", "fabsf(", "erff(", "sqrtf("};
    int uses_libm = 0;
    for (size_t i = 0; i < sizeof libm / sizeof *libm; i++)
        uses_libm |= strstr(body, libm[i]) != NULL;
    if (uses_libm && !o->no_libm)
        emit("#include <math.h>");
    if (strstr(body, "memcpy("))     /* a convolution's rows into its padded planes */
        emit("#include <string.h>");
    emit("");
    if (in_ram)
        emit_loader();
    else if (with_weights)
        emit_weight_values();
    emit("");
    if (o->no_libm)
        print_nolibm(body, 0);
    else
        fputs(body, out);
    Node *res = G->out;
    if (in_ram)
        emit("void %s_forward(const %s_weights *weights, %s_arena *a, const float *x, float *out, int n) {", P, P, P);
    else
        emit("void %s_forward(%s_arena *a, const float *x, float *out, int n) {", P, P);
    indent++;
    guard("");
    declare(G->nodes.n, PH_FORWARD);
    calls(PH_FORWARD);
    emit("for (int i = 0; i < %s; i++) out[i] = %s[i];", count(res), var(res));
    CLOSE();
}

void emit_inference(Graph *g, const EmitOpts *o) {
    emit_inference_setup(g, o->weights_in_ram);
    const char *wpath = o->weights_path ? o->weights_path : "?";
    if (strrchr(wpath, '/'))
        wpath = strrchr(wpath, '/') + 1;
    if (!(out = fopen(o->c_path, "w")))
        fatal("cannot write %s: %s", o->c_path, strerror(errno));
    emit_inference_file(o, wpath, 1);
    if (fclose(out))
        fatal("cannot write %s: %s", o->c_path, strerror(errno));
    long stack = stack_max;
    if (!(out = fopen(o->h_path, "w")))
        fatal("cannot write %s: %s", o->h_path, strerror(errno));
    emit_inference_header(o, wpath, stack);
    if (fclose(out))
        fatal("cannot write %s: %s", o->h_path, strerror(errno));
}

long emit_stack_bytes(Graph *g) {
    char *text = NULL;
    size_t len = 0;
    EmitOpts o = {.c_path = "model.c", .h_name = "model.h", .weights_in_ram = g->in_ram};
    if (g->inference)
        emit_inference_setup(g, g->in_ram);
    else
        emit_c_setup(g, NULL);
    if (!(out = open_memstream(&text, &len)))
        fatal("out of memory");
    if (g->inference)
        emit_inference_file(&o, "?", 0);
    else
        emit_c_file(&o);
    fclose(out);
    free(text);
    return stack_max;
}
