/* emit_seq.c — kernels of sequence layers: the recurrences of simple_rnn,
 * LSTM and GRU with their gradients, repeat_vector and embedding. */
#include "emit.h"

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
    LayerKind kind;         /* L_SIMPLE_RNN, L_LSTM or L_GRU (layers.h) */
} Cell;

static Cell cell_of(Node *cache) {
    Node *w = cache->in[1];
    Cell c = {cache->shape.dim[1], w->shape.dim[1], cell_gates(w), cell_cache(w), cell_kind(w)};
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

void emit_recurrence(Node *n) {
    Node *xp = n->in[0], *b = n->in[2];
    Cell c = cell_of(n);
    long h = c.h, gh = c.g * c.h;
    const char *what = c.kind == L_SIMPLE_RNN ? fmt("h = %s(xp + W_hh h_{t-1}%s)", act_str(n->act, n->f), b ? " + b_hh" : "")
                     : c.kind == L_LSTM ? "per step [i, f, g, o, c, h]" : "per step [r, z, n, W_hn h_{t-1} + b_hn, h]";
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
    if (c.kind == L_SIMPLE_RNN) {
        emit("const $ a = xt[j] + z[j];");
        emit("z[j] = %s;", cell_act(n, "a"));
    } else if (c.kind == L_LSTM) {
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
void emit_recurrence_out(Node *n) {
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
void emit_recurrence_dx(Node *n) {
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
    if (c.kind == L_LSTM)
        emit("$ dc[%ld] = {0}; /* dloss / dc_t through c_{t+1} */", h);
    if (c.kind == L_GRU)
        emit("$ dhp[%ld]; /* dloss / d(W_hh h_{t-1} + b_hh) */", gh);
    OPEN("for (int t = %ld; t >= 0; t--) {", c.t - 1);
    emit_step_ptrs(&c, 0);
    emit("$ *dx = dxp + (b * %ld + t) * %ld;", c.t, gh);
    if (seq)
        emit("for (int j = 0; j < %ld; j++) dh[j] += dy[(b * %ld + t) * %ld + j];", h, c.t, h);
    else
        emit("if (t == %ld) for (int j = 0; j < %ld; j++) dh[j] += dy[b * %ld + j];", c.t - 1, h, h);
    OPEN("for (int j = 0; j < %ld; j++) {", h);
    if (c.kind == L_SIMPLE_RNN) {
        emit("const $ d = dh[j], y = z[j];");
        emit("dx[j] = %s;", cell_grad(n, "d", "y"));
    } else if (c.kind == L_LSTM) {
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
    emit("/* dh_{t-1} %s= W_hh^T dhp */", c.kind == L_GRU ? "+" : "");
    if (c.kind != L_GRU)
        emit("for (int k = 0; k < %ld; k++) dh[k] = 0.0@;", h);
    OPEN("for (int j = 0; j < %ld; j++) {", gh);
    emit("const $ d = %s[j];", c.kind == L_GRU ? "dhp" : "dx");
    emit("const $ *wj = w_hh + j * %ld;", h);
    emit("for (int k = 0; k < %ld; k++) dh[k] += d * wj[k];", h);
    CLOSE();
    if (c.kind != L_GRU)
        emit("(void)hp; /* GRU's alone reads h_{t-1} here */");
    for (int i = 0; i < 3; i++)
        CLOSE();
}

/* The gradient of W_hh h_{t-1} + b_hh at step t: dxp's, with GRU's n part
 * times r (from the cache). */
static const char *recurrence_dhp(const Cell *c) {
    return c->kind == L_GRU ? fmt("j < %ld ? dx[j] : dx[j] * z[j - %ld]", 2 * c->h, 2 * c->h) : "dx[j]";
}

/* dW_hh = sum over samples and steps of dhp_t h_{t-1}^T. */
void emit_recurrence_dw(Node *n) {
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
void emit_recurrence_db(Node *n) {
    Node *dxp = n->in[0], *cache = n->in[1];
    Cell c = cell_of(cache);
    long gh = c.g * c.h;
    emit("/* %s: db_hh %s = sum over steps of dhp_t, from dxp %s */", n->layer, dims(n), dims(dxp));
    OPEN("static void %s($ *db, const $ *dxp, const $ *cache, int n) {", funcs[n->id]);
    if (c.kind != L_GRU)
        emit("(void)cache;");
    emit("for (int j = 0; j < %ld; j++) db[j] = 0.0@;", gh);
    OPEN("for (int r = 0; r < n * %ld; r++) {", c.t);
    emit("const $ *dx = dxp + r * %ld;", gh);
    if (c.kind == L_GRU)
        emit("const $ *z = cache + r * %ld;", c.s);
    emit("for (int j = 0; j < %ld; j++) db[j] += %s;", gh, recurrence_dhp(&c));
    CLOSE();
    CLOSE();
}

/* repeat_vector: out[b, r, :] = x[b, :] for every r. */
void emit_repeat(Node *n) {
    long r = n->shape.dim[1], f = n->shape.dim[2];
    emit("/* %s: out %s = x %s repeated %ld times */", n->layer, dims(n), dims(n->in[0]), r);
    OPEN("static void %s($ *out, const $ *x, int n) {", funcs[n->id]);
    emit("for (int b = 0; b < n; b++)");
    emit("    for (int r = 0; r < %ld; r++)", r);
    emit("        for (int k = 0; k < %ld; k++) out[(b * %ld + r) * %ld + k] = x[b * %ld + k];", f, r, f, f);
    CLOSE();
}

/* dx[b, :] = sum over r of dy[b, r, :]. */
void emit_repeat_bwd(Node *n) {
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
void emit_embed(Node *n) {
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
void emit_embed_dw(Node *n) {
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
