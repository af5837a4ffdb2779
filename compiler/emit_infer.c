/* emit_infer.c — the inference build (--inference, --weights-in-ram): the
 * forward pass only, with weights baked in as constants or read at run time
 * from a .safetensors image by the generated NAME_load. */
#include "emit.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
/* The reader's helpers and, for a model whose input scaling NAME_load folds,
 * its decimal parser: real C in compiler/gen/, compiled on its own by the
 * build and turned into these strings (build/st_*.inc). */
static const char load_helpers[] =
#include "st_load.inc"
    ;
static const char load_decimals[] =
#include "st_decimals.inc"
    ;

/* NAME_load: parse and check everything, then copy (and fold). */
/* Where a parameter stands in NAME_load's tensor table (G->params order). */
static int param_index(const Node *p) {
    for (int i = 0; i < G->params.n; i++)
        if (G->params.v[i] == p)
            return i;
    internal_error("%s is not a parameter", p->label);
}

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
        emit("    /* The folded weights and biases must be finite floats too: computed");
        emit("     * first from the image, as below, so a refusal leaves w as it was. */");
        emit("    for (int j = 0; j < %ld; j++) {", o);
        emit("        double sum = 0.0;");
        emit("        for (int i = 0; i < %ld; i++) {", k);
        emit("            const float wji = (float)((double)st_f32(data + at[%d] + 4 * (size_t)(j * %ld + i)) * scale[i]);",
             param_index(wn), k);
        emit("            if (wji - wji != 0.0f)");
        emit("                return %s_LOAD_VALUE;", U);
        emit("            sum += (double)wji * shift[i];");
        emit("        }");
        if (bn) {
            emit("        const float bj = (float)((double)st_f32(data + at[%d] + 4 * (size_t)j) - sum);", param_index(bn));
            emit("        if (bj - bj != 0.0f)");
            emit("            return %s_LOAD_VALUE;", U);
        }
        emit("    }");
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
}

/* The .c of an inference build. */
static void emit_inference_file(const EmitOpts *o, const char *wpath) {
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
    else
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
    emit_inference_file(o, wpath);
    if (fclose(out))
        fatal("cannot write %s: %s", o->c_path, strerror(errno));
    long stack = stack_bytes(G, 4);
    if (!(out = fopen(o->h_path, "w")))
        fatal("cannot write %s: %s", o->h_path, strerror(errno));
    emit_inference_header(o, wpath, stack);
    if (fclose(out))
        fatal("cannot write %s: %s", o->h_path, strerror(errno));
}
