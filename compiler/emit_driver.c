/* emit_driver.c — the glue program of `nnc train/eval/predict`: a main()
 * that describes the generated model to the runtime (nnc_model_desc) and
 * hands it the command line. */
#include "emit.h"
#include <ctype.h>
#include <string.h>

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

/* The input shape the runtime checks a data file's sample axes against,
 * not only its value count. */
static void emit_input_shape(const Shape *in) {
    char *r = "";
    for (int i = 0; i < in->ndim; i++)
        r = fmt("%s%s%ld", r, i ? ", " : "", in->dim[i]);
    emit("static const int in_shape[] = {%s};", r);
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
    /* train_step's halves and the gradient block, for --processes */
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
    emit_input_shape(&s->input);
    emit("");
    emit("int main(int argc, char **argv) {");
    emit("    static const nnc_model_desc d = {");
    emit("        /* the model */");
    emit("        .name = %s,", c_string(P));
    emit("        .source = %s,", c_string(s->src->path));
    emit("        .summary = %s,", summary_string(G));
    emit("        .batch = %s_BATCH,", U);
    emit("        .n_in = %s_IN,", U);
    emit("        .in_ndim = %d,", s->input.ndim);
    emit("        .in_shape = in_shape,");
    emit("        .n_out = %s_OUT,", U);
    emit("        .n_target = %s_TARGET,", U);
    emit("        .task = %s,", task_names[g->task]);
    emit("        .logits = %d,", g->logits);
    emit("        .steps = %d, /* classified rows per output sample */", g->steps > 1 ? g->steps : 1);
    long vocab = s->nlayers && s->layers[0].c->e->layer == L_EMBEDDING
               ? (long)call_num(s->layers[0].c, "input_dim") : 0;
    emit("        .token_ids = %ld, /* token ids: integers in [0, this), 0 = not ids */", vocab);
    emit("        /* parameters and the functions over them */");
    emit("        .n_params = %s_NUM_PARAMS,", U);
    emit("        .tensors = tensors,");
    emit("        .n_tensors = %s_NUM_TENSORS,", U);
    emit("        .params = params,");
    emit("        .init = init,");
    emit("        .train_step = train_step,");
    emit("        .evaluate = evaluate,");
    emit("        .predict = predict,");
    emit("        .learning_rate = learning_rate,");
    emit("        .lr_scale = lr_scale,");
    emit("        /* training on several processes (--processes N) */");
    emit("        .backward = backward,");
    emit("        .update = update,");
    emit("        .grads = grads,");
    if (has_op(OP_DROPOUT))
        emit("        .mask_seed = mask_seed,");
    if (has_op(OP_BATCH_NORM))
        emit("        .set_batch_sum = set_batch_sum,");
    emit("        /* the optimizer state, for checkpoints */");
    emit("        .state_tensors = state_tensors,");
    emit("        .n_state_tensors = %s_NUM_STATE_TENSORS,", U);
    emit("        .n_state = %s_NUM_STATE,", U);
    emit("        .state = state,");
    emit("        .step = step,");
    emit("        /* training: fit() */");
    emit("        .epochs = %ld,", (long)call_num(s->fit, "epochs"));
    emit("        .shuffle = %d,", (int)call_num(s->fit, "shuffle"));
    emit("        .seed = %lluu,", (unsigned long long)call_num(s->fit, "seed"));
    emit("        .validation_split = %.17g,", call_num(s->fit, "validation_split"));
    emit("        .cross_validate = %d,", s->cross_validate ? (int)call_num(s->cross_validate, "k") : 0);
    if (class_weights()) {
        emit("        .class_weight = class_weight,");
        emit("        .n_class_weights = %d,", class_count(s));
        emit("        .class_weight_balanced = %d,", call_arg(s->fit, "class_weight")->str != NULL);
    }
    emit("        .callbacks = %s,", s->ncallbacks ? "&callbacks" : "NULL");
    emit("        .metrics = %s,", s->nmetrics ? "metrics" : "NULL");
    emit("        /* data files */");
    emit("        .train_path = %s,", c_string(data_path(s, "train")));
    emit("        .test_path = %s,", c_string(data_path(s, "test")));
    emit("        .train_labels_path = %s,", c_string(data_path(s, "train_labels")));
    emit("        .test_labels_path = %s,", c_string(data_path(s, "test_labels")));
    emit("        .val_path = %s,", c_string(fit_path(s, "validation_data")));
    emit("        .val_labels_path = %s,", c_string(fit_path(s, "validation_labels")));
    emit("        .data_format = %s,", format_name(s));
    emit("        /* reading the inputs */");
    emit("        .input_scale = %.17g,", s->data ? call_num(s->data, "scale") : 1.0);
    emit("        .preprocess = %s,", !strcmp(pre, "standardize") ? "NNC_PRE_STANDARDIZE"
                                   : !strcmp(pre, "min_max") ? "NNC_PRE_MINMAX" : "NNC_PRE_NONE");
    emit("    };");
    emit("    return nnc_main(&d, &model, argc, argv);");
    emit("}");
}
