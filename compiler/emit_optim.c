/* emit_optim.c — the optimizer step: learning-rate schedules, gradient
 * clipping, one update loop per optimizer over every trainable parameter,
 * and the optimizer state's initial values. */
#include "emit.h"
#include <string.h>

/* Update and clipping nodes are printed together (emit_optimizer below). */
void emit_update(Node *n) { (void)n; }


/* ---- the optimizer step ------------------------------------------------- */

/* The first update node; all of them must agree (one loop covers them all). */
static Node *first_update(void) {
    Node *u = NULL;
    for (int i = 0; i < G->nodes.n; i++) {
        Node *n = G->nodes.v[i];
        if (n->phase != PH_UPDATE || n->op == OP_STATE || (op_flags(n->op) & OPF_CLIP))
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
        if (op_flags(((Node *)G->nodes.v[i])->op) & OPF_CLIP)
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
void emit_state_init(void) {
    Node *u = first_update(), *sc = scalar_state();
    if (u && u->op == OP_ADAGRAD)
        emit("for (int i = 0; i < %ld; i++) m->state[i] = %s; /* sum = initial_accumulator_value */",
             G->area_size[A_PARAM], lit(u->f[0]));
    if (sc)
        emit("m->state[%ld] = 1.0@; /* %s */", sc->offset, sc->label);
}

void emit_optimizer(void) {
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
void emit_update_call(void) {
    Node *u = first_update(), *st[8], *sc = scalar_state();
    emit("const double lr = %s_learning_rate(m);", P);
    emit("m->step++;");
    if (!u)
        return;
    for (int i = 0; i < G->nodes.n; i++)
        if (op_flags(((Node *)G->nodes.v[i])->op) & OPF_CLIP) {
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
