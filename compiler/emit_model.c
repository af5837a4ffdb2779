/* emit_model.c — the assembly of a training build's .c and .h: the public
 * functions (NAME_forward, _evaluate, _backward, _update, ...) that call the
 * kernels in schedule order on fixed offsets into the caller's model struct,
 * parameter initialization, the tensor tables and the header. The generated
 * code should read like llm.c. */
#include "emit.h"
#include <errno.h>
#include <math.h>
#include <string.h>

Emitter *const emitters[OP_COUNT] = {
#define OP(name, str, nin, shape, grad, emit) [OP_##name] = emit,
#include "ops.h"
#undef OP
};

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
void declare(int end, int max_phase) {
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

/* Dropout and batch norm act by mode: NAME_run's `training` (set when it
 * goes on to the backward pass), dropout's mask seed and step, batch norm's
 * running statistics and the model, whose batch_sum its statistics and
 * their gradients go through (several processes). */

static const char *modal_args(Node *n) {
    switch (n->op) {
    case OP_DROPOUT:
        return ", training, m->seed, m->step";
    case OP_DROPOUT_BWD:
        return ", m->seed, m->step";
    case OP_BATCH_NORM:
        if (G->inference)   /* a per-channel affine map (weights.c) */
            return "";
        return fmt(", training, %s, %s, %s, m", var(n->buf[0]), var(n->buf[1]), var(n->buf[2]));
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
int class_weights(void) {
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
    int is_loss = op_flags(n->op) & OPF_LOSS, is_bwd = n->op == OP_LOSS_BWD;
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

void call(Node *n) {
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
    emit(op_flags(n->op) & OPF_WEIGHTS_ONLY ? "%s(%s);" : "%s(%s, n);", funcs[n->id], args);
}

void calls(int max_phase) {
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if ((int)n->phase <= max_phase)
            call(n);
    }
}

void guard(const char *ret) {
    emit("if (n < 1 || n > %d) return%s; /* n must be 1..%s_BATCH */", G->batch, ret, U);
}

/* The calls of the nodes of one phase. */
static void calls_of(Phase phase) {
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if (n->phase == phase)
            call(n);
    }
}

/* NAME_run: the one function that names every buffer (once, with its shape)
 * and calls the kernels; the public functions below are NAME_run stopped
 * after the forward pass, after the loss, or run to the end. With class
 * weights the loss of the training pass is weighted and evaluate's is not,
 * as in Keras. */
static void emit_run(void) {
    Node *o = G->out;
    emit("/* The forward pass (upto 0), then the loss (upto 1), then the backward");
    emit(" * pass (upto 2, in training mode: dropout and batch norm's batch");
    emit(" * statistics). Buffers the plan never keeps alive together share storage. */");
    OPEN("static $ %s_run(%s_model *m, const $ *x, const $ *y, $ *out, int n, int upto) {", P, P);
    if (has_op(OP_DROPOUT) || has_op(OP_BATCH_NORM))
        emit("const int training = upto == 2;");
    declare(G->nodes.n, PH_BACKWARD);
    calls_of(PH_FORWARD);
    emit("if (out) memcpy(out, %s, sizeof(*out) * %s);", var(o), count(o));
    emit("if (upto == 0) return 0;");
    if (class_weights()) {
        OPEN("if (upto == 2) {");
        weighting = 1;
        calls_of(PH_LOSS);
        weighting = 0;
        indent--;
        OPEN("} else {");
        calls_of(PH_LOSS);
        CLOSE();
    } else {
        calls_of(PH_LOSS);
    }
    emit("if (upto == 1) return %s[0];", var(G->loss));
    weighting = class_weights();
    calls_of(PH_BACKWARD);
    weighting = 0;
    emit("return %s[0];", var(G->loss));
    CLOSE();
    emit("");
}

static void emit_public(void) {
    if (class_weights())
        emit_class_weight_of();
    emit_run();
    OPEN("void %s_forward(%s_model *m, const $ *x, $ *out, int n) {", P, P);
    guard("");
    emit("%s_run(m, x, NULL, out, n, 0);", P);
    CLOSE();
    emit("");
    OPEN("$ %s_evaluate(%s_model *m, const $ *x, const $ *y, $ *out, int n) {", P, P);
    guard(" -1");
    emit("return %s_run(m, x, y, out, n, 1);", P);
    CLOSE();
    emit("");
    OPEN("$ %s_backward(%s_model *m, const $ *x, const $ *y, int n) {", P, P);
    guard(" -1");
    emit("return %s_run(m, x, y, NULL, n, 2);", P);
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
const char *plain(const char *s) {
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
void header_open(const char *includes) {
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

void header_close(void) {
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
    if (has_op(OP_BATCH_NORM)) {    /* SyncBatchNorm on several processes (runtime/dist.c) */
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
void emit_table(const char *type, const char *name, const Vec *nodes) {
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
void print_nolibm(const char *body, int blank) {
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

void emit_tensor_table(const char *type, const char *name) { emit_table(type, name, &G->params); }

static void emit_c_setup(Graph *g, const char *r) {
    G = g;
    P = g->spec->name;
    U = upper(P);
    real = r ? r : "float";
    indent = 0;
    used.n = 0;
    vec_push(&used, (void *)P);
    name_nodes();
}

/* The .c of a training build. */
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
    long stack = stack_bytes(G, strcmp(real, "float") ? 8 : 4);
    if (!(out = fopen(o->h_path, "w")))
        fatal("cannot write %s: %s", o->h_path, strerror(errno));
    emit_header(o, stack);
    if (fclose(out))
        fatal("cannot write %s: %s", o->h_path, strerror(errno));
}
