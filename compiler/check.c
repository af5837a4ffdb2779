/* check.c — from syntax to meaning: resolves every name against the
 * catalogue, binds and type-checks arguments (filling in defaults), checks
 * the order and count of statements, names the layers, infers shapes (by the
 * layer table's rules, layers.c), checks that the loss fits the output and
 * that the model fits in memory. Errors
 * carry on to the next statement so one run reports several; the stages that
 * need earlier results run only when those are sound. */
#include "nnc.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---- small helpers ---------------------------------------------------------- */

static const char *article(const char *noun) {
    return strchr("aeiou", noun[0]) ? "an" : "a";
}

/* A keyword statement (input, loss, ...) takes its one required parameter
 * as an operand: `loss mse`, or `loss(mse)`. */
static int keyword_statement(const Entry *e) {
    return e->kind == K_STATEMENT && e->params[0].name && !e->params[0].dflt;
}

static int nparams(const Entry *e) {
    int n = 0;
    while (n < MAX_PARAMS && e->params[n].name)
        n++;
    return n;
}


/* "a, b, c" */
static char *join(const char *const *names, int n) {
    char *s = "";
    for (int i = 0; i < n; i++)
        s = fmt("%s%s%s", s, i ? ", " : "", names[i]);
    return s;
}

/* Names of entries of kind k (and k2, if not -1). */
static int names_of(Kind k, int k2, const char **out) {
    int n = 0;
    for (int i = 0; i < catalog_len; i++) {
        if (catalog[i].kind != k && (int)catalog[i].kind != k2)
            continue;
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= strcmp(out[j], catalog[i].name) == 0;
        if (!dup)
            out[n++] = catalog[i].name;
    }
    return n;
}

/* Keras abbreviations whose nearest nnc name by spelling is another one
 * ("acc" is one edit from "auc"): the nnc name meant, if it is a candidate. */
static const char *keras_alias(const char *name, const char **names, int n) {
    static const char *const alias[][2] = {{"acc", "accuracy"}, {"binary_acc", "binary_accuracy"}};
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        for (int j = 0; j < n && !strcmp(name, alias[i][0]); j++)
            if (!strcmp(names[j], alias[i][1]))
                return names[j];
    return NULL;
}

/* Long names and numbers are cut in messages. */
static char *cut(const char *s) {
    return strlen(s) > 24 ? fmt("%.20s...", s) : (char *)s;
}

/* How a value looks in "got ..." */
static char *describe(const Value *v) {
    switch (v->kind) {
    case V_NUM: return cut(v->str);
    case V_STR: return fmt("\"%s\"", cut(v->str));
    case V_BOOL: return v->num ? "true" : "false";
    case V_IDENT: return cut(v->str);
    case V_CALL: return fmt("%s(...)", cut(v->str));
    case V_TUPLE: return "a tuple";
    case V_LIST: return "a list";
    }
    internal_error("bad value kind %d", (int)v->kind);
}

static int is_c_keyword(const char *s) {
    static const char *const kw[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
        "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
        "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
        "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "_Alignas",
        "_Alignof", "_Atomic", "_Bool", "_Complex", "_Generic", "_Imaginary", "_Noreturn",
        "_Static_assert", "_Thread_local", "alignas", "alignof", "bool", "constexpr",
        "false", "nullptr", "static_assert", "thread_local", "true", "typeof",
        "typeof_unqual",
    };
    for (int i = 0; i < (int)(sizeof kw / sizeof *kw); i++)
        if (strcmp(s, kw[i]) == 0)
            return 1;
    return 0;
}

static int is_c_identifier(const char *s) {
    if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* The name of the activation with this op ("softmax"). */
static const char *act_name(int op) {
    for (int i = 0; i < catalog_len; i++)
        if (catalog[i].kind == K_ACTIVATION && catalog[i].op == op)
            return catalog[i].name;
    internal_error("no activation with op %d", op);
}

/* ---- names ---------------------------------------------------------------- */

/* `name` is not a `kind` (or, with kind2, not either). Says what it is
 * instead, or suggests a near name valid here. */
static void unknown_name(Loc loc, const char *name, Kind kind, int kind2) {
    const char *noun = kind2 < 0 ? kind_name(kind) : "layer or statement";
    const Entry *other = catalog_find_any(name);
    if (other) {
        const char *on = kind_name(other->kind);
        error_at(loc, "'%s' is %s %s, not %s %s", name, article(on), on, article(noun), noun);
        if (other->kind == K_LOSS)
            hint("a loss is given with its own statement: loss %s", name);
        else if (other->kind == K_OPTIMIZER)
            hint("an optimizer is given with its own statement: optimizer %s", name);
        else if (other->kind == K_PREPROCESS)
            hint("preprocessing is given with its own statement: preprocess %s", name);
        else if (other->kind == K_INITIALIZER)
            hint("an initializer is an argument: dense(32, kernel_initializer = %s)", name);
        else if (other->kind == K_REGULARIZER)
            hint("a regularizer is an argument: dense(32, kernel_regularizer = %s)", name);
        else if (other->kind == K_CALLBACK)
            hint("callbacks are listed in their own statement: callbacks(%s(...))", name);
        else if (other->kind == K_LAYER && other->example)
            hint("a layer goes on a line of its own, e.g. %s", other->example);
        else if (other->kind == K_METRIC)
            hint("metrics are listed in their own statement: metrics(%s)", name);
        return;
    }
    const char **names = xalloc(sizeof(char *) * (size_t)catalog_len);
    int n = names_of(kind, kind2, names);
    const char *near = keras_alias(name, names, n);
    if (!near)
        near = nearest(name, names, n);
    /* a name is quoted whole unless it is absurdly long: a cut typo is hard to see */
    error_at(loc, "unknown %s '%s'", noun, strlen(name) > 64 ? cut(name) : name);
    if (near)
        hint("did you mean '%s'?", near);
    else if (kind2 < 0)
        hint("%s%s: %s", kind_name(kind), strcmp(kind_name(kind), "loss") ? "s" : "es", join(names, n));
    else
        hint("'nnc --list' shows every layer and statement");
}

/* ---- arguments ------------------------------------------------------------ */

static Call *bind(const Entry *e, const Arg *args, int nargs, Loc loc);

static const Kind kind_of_type[] = {
    [T_ACTIVATION] = K_ACTIVATION, [T_INITIALIZER] = K_INITIALIZER, [T_LOSS] = K_LOSS,
    [T_OPTIMIZER] = K_OPTIMIZER, [T_PREPROCESS] = K_PREPROCESS, [T_REGULARIZER] = K_REGULARIZER,
    [T_SCHEDULE] = K_SCHEDULE,
    [T_CALLBACK] = K_CALLBACK, [T_METRIC] = K_METRIC,
    [T_LAYER] = K_LAYER,
};

/* A name or call in a value position of kind k. */
static Call *resolve(const Value *v, Kind k) {
    const Entry *e = catalog_find(v->str, k);
    if (!e) {
        unknown_name(v->loc, v->str, k, -1);
        return NULL;
    }
    if (v->kind == V_CALL)
        return bind(e, v->args, v->nargs, v->loc);
    return bind(e, NULL, 0, v->loc);
}

/* "must be >= 1", "must be in [0, 1)"; both bounds only when the upper one
 * is a real limit rather than a guard against overflow. */
static char *range_str(const ParamDef *p, double x) {
    int lo = p->lo > -HUGE_VAL, hi = p->hi < HUGE_VAL;
    if (lo && hi && p->hi <= 1e6)
        return fmt("in %c%g, %g%c", p->lo_open ? '(' : '[', p->lo, p->hi, p->hi_open ? ')' : ']');
    if (lo && (x < p->lo || (p->lo_open && x == p->lo)))
        return fmt("%s %g", p->lo_open ? ">" : ">=", p->lo);
    return fmt("%s %.0f", p->hi_open ? "<" : "<=", p->hi);
}

static int in_range(const ParamDef *p, double x) {
    return !(x < p->lo || x > p->hi || (p->lo_open && x == p->lo) || (p->hi_open && x == p->hi));
}

/* What a parameter is called in messages: a keyword statement's operand by
 * the statement's name ("input must be ..."). */
static const char *label(const Entry *e, const ParamDef *p) {
    return keyword_statement(e) ? e->name : p->name;
}

static int convert_shape(const Entry *e, const ParamDef *p, const Value *v, ArgVal *out) {
    const char *what = label(e, p);
    if (v->kind != V_LIST && v->kind != V_TUPLE) {
        error_at(v->loc, "%s must be a list of sizes, got %s", what, describe(v));
        if (v->kind == V_NUM && v->is_int)
            hint("write [%s]", v->str);
        return 0;
    }
    if (v->nargs < p->lo || v->nargs > p->hi) {
        error_at(v->loc, "%s must have %g to %g sizes, got %d", what, p->lo, p->hi, v->nargs);
        return 0;
    }
    int ok = 1;
    out->shape.ndim = v->nargs;
    for (int i = 0; i < v->nargs; i++) {
        const Value *d = v->args[i].val;
        if (d->kind != V_NUM || !d->is_int || d->num < 1) {
            error_at(d->loc, "sizes in %s must be positive integers, got %s", what, describe(d));
            ok = 0;
        } else {
            out->shape.dim[i] = (long)d->num;
        }
    }
    return ok;
}

static int convert_numbers(const Entry *e, const ParamDef *p, const Value *v, ArgVal *out) {
    const char *what = label(e, p);
    if (v->kind != V_LIST && v->kind != V_TUPLE) {
        error_at(v->loc, "%s must be a list of numbers, got %s", what, describe(v));
        if (v->kind == V_NUM)
            hint("write [%s]", v->str);
        return 0;
    }
    if (v->nargs < p->lo || v->nargs > p->hi) {
        error_at(v->loc, "%s must have %g to %g numbers, got %d", what, p->lo, p->hi, v->nargs);
        return 0;
    }
    int ok = 1;
    out->nums = xalloc(sizeof(double) * (size_t)v->nargs);
    out->nnums = v->nargs;
    for (int i = 0; i < v->nargs; i++) {
        const Value *d = v->args[i].val;
        if (d->kind != V_NUM) {
            error_at(d->loc, "%s must hold numbers, got %s", what, describe(d));
            ok = 0;
        } else {
            out->nums[i] = d->num;
        }
    }
    return ok;
}

/* What the catalogue's ranges cannot say about a schedule's arguments. */
static int check_schedule(const Call *c) {
    if (strcmp(c->e->name, "piecewise_constant"))
        return 1;
    const ArgVal *b = call_arg(c, "boundaries"), *v = call_arg(c, "values");
    int ok = 1;
    for (int i = 0; i < b->nnums; i++)
        if (b->nums[i] < 0 || (i > 0 && b->nums[i] <= b->nums[i - 1])) {
            error_at(b->loc, "boundaries must be step counts >= 0 in increasing order");
            ok = 0;
            break;
        }
    if (v->nnums != b->nnums + 1) {
        error_at(v->loc, "piecewise_constant needs one value more than boundaries: %d boundaries, %d values",
                 b->nnums, v->nnums);
        hint("values[0] holds up to boundaries[0], the last value after the last boundary");
        ok = 0;
    }
    for (int i = 0; i < v->nnums; i++)
        if (!(v->nums[i] > 0)) {
            error_at(v->loc, "values are learning rates and must be > 0, got %g", v->nums[i]);
            ok = 0;
            break;
        }
    return ok;
}

/* Check value v against parameter p of entry e and store it in out. */
static int convert(const Entry *e, const ParamDef *p, const Value *v, ArgVal *out) {
    const char *what = label(e, p);
    out->loc = v->loc;
    switch (p->type) {
    case T_SCHEDULE:
        if (v->kind == V_IDENT || v->kind == V_CALL) {
            out->call = resolve(v, K_SCHEDULE);
            return out->call && check_schedule(out->call);
        }
        if (v->kind != V_NUM) {
            error_at(v->loc, "%s must be a number or a learning-rate schedule, got %s", what, describe(v));
            if (v->kind == V_STR && catalog_find(v->str, K_SCHEDULE))
                hint("write %s(...) without quotes", v->str);
            else if (v->kind == V_STR)
                hint("numbers are written without quotes");
            return 0;
        }
        /* fall through */
    case T_INT:
    case T_FLOAT:
        if (v->kind != V_NUM) {
            error_at(v->loc, "%s must be %s, got %s", what,
                     p->type == T_INT ? "an integer" : "a number", describe(v));
            if (v->kind == V_STR)
                hint("numbers are written without quotes");
            return 0;
        }
        if (p->type == T_INT && !v->is_int) {
            error_at(v->loc, "%s must be an integer, got %s", what, describe(v));
            return 0;
        }
        if (!in_range(p, v->num)) {
            error_at(v->loc, "%s must be %s, got %s", what, range_str(p, v->num), describe(v));
            return 0;
        }
        out->num = v->num;
        return 1;
    case T_BOOL:
        if (v->kind != V_BOOL) {
            static const char *const tf[] = {"true", "false"};
            error_at(v->loc, "%s must be true or false, got %s", what, describe(v));
            const char *near = v->kind == V_IDENT ? nearest(v->str, tf, 2) : NULL;
            if (near)
                hint("did you mean '%s'?", near);
            return 0;
        }
        out->num = v->num;
        return 1;
    case T_STR:
        if (v->kind != V_STR) {
            error_at(v->loc, "%s must be a string, got %s", what, describe(v));
            if (v->kind == V_IDENT)
                hint("strings are written in double quotes: \"%s\"", cut(v->str));
            return 0;
        }
        out->str = v->str;
        return 1;
    case T_NAME:    /* Keras writes monitor = "val_loss"; both spellings are fine */
        if (v->kind != V_IDENT && v->kind != V_STR) {
            error_at(v->loc, "%s must be a name, got %s", what, describe(v));
            return 0;
        }
        out->str = v->str;
        return 1;
    case T_SHAPE:
        return convert_shape(e, p, v, out);
    case T_PADDING:
        if (v->kind == V_IDENT || v->kind == V_STR) {
            static const char *const modes[] = {"valid", "same"};
            if (!strcmp(v->str, "valid") || !strcmp(v->str, "same")) {
                out->str = !strcmp(v->str, "valid") ? "valid" : "same";
                return 1;
            }
            error_at(v->loc, "%s must be valid, same, an integer or (ph, pw), got %s", what, describe(v));
            const char *near = nearest(v->str, modes, 2);
            if (near)
                hint("did you mean '%s'?", near);
            return 0;
        }
        /* a number or a tuple of two, as T_PAIR */
        /* fall through */
    case T_PAIR:
        if (v->kind == V_NUM && v->is_int && in_range(p, v->num)) {
            out->shape = (Shape){.ndim = 2, .dim = {(long)v->num, (long)v->num}};
            return 1;
        }
        if ((v->kind == V_TUPLE || v->kind == V_LIST) && v->nargs == 2) {
            int ok = 1;
            out->shape.ndim = 2;
            for (int i = 0; i < 2; i++) {
                const Value *d = v->args[i].val;
                if (d->kind != V_NUM || !d->is_int || !in_range(p, d->num)) {
                    error_at(d->loc, "sizes in %s must be integers %s, got %s", what, range_str(p, d->num),
                             describe(d));
                    ok = 0;
                } else {
                    out->shape.dim[i] = (long)d->num;
                }
            }
            return ok;
        }
        if (v->kind == V_NUM && v->is_int) {
            error_at(v->loc, "%s must be %s, got %s", what, range_str(p, v->num), describe(v));
            return 0;
        }
        error_at(v->loc, "%s must be an integer or a pair (h, w), got %s", what, describe(v));
        return 0;
    case T_NUMBERS:
        /* fit(class_weight = balanced): the one list that also takes a name */
        if (!strcmp(p->name, "class_weight") && (v->kind == V_IDENT || v->kind == V_STR)) {
            if (!strcmp(v->str, "balanced")) {
                out->str = "balanced";
                return 1;
            }
            error_at(v->loc, "class_weight must be a list of weights, one per class, or balanced, got %s",
                     describe(v));
            hint("write class_weight = [1.0, 5.0] or class_weight = balanced");
            return 0;
        }
        return convert_numbers(e, p, v, out);
    case T_ACTIVATION:
    case T_INITIALIZER:
    case T_LOSS:
    case T_OPTIMIZER:
    case T_PREPROCESS:
    case T_REGULARIZER:
    case T_CALLBACK:
    case T_METRIC:
    case T_LAYER: {
        const char *kn = kind_name(kind_of_type[p->type]);
        if (v->kind == V_STR && catalog_find(v->str, kind_of_type[p->type])) {
            error_at(v->loc, "%s must be %s %s name, not a string", what, article(kn), kn);
            hint("write %s without quotes", v->str);
            return 0;
        }
        if (v->kind != V_IDENT && v->kind != V_CALL) {
            error_at(v->loc, "%s must be %s %s, got %s", what, article(kn), kn, describe(v));
            return 0;
        }
        out->call = resolve(v, kind_of_type[p->type]);
        return out->call != NULL;
    }
    }
    internal_error("bad type %d", (int)p->type);
}

/* What a keyword statement's operand is: "a shape", "a loss". */
static const char *type_noun(const ParamDef *p) {
    switch (p->type) {
    case T_SHAPE: return "shape";
    case T_ACTIVATION:
    case T_INITIALIZER:
    case T_LOSS:
    case T_OPTIMIZER:
    case T_PREPROCESS:
    case T_REGULARIZER:
    case T_CALLBACK:
    case T_METRIC:
    case T_LAYER: return kind_name(kind_of_type[p->type]);
    default: return "value";
    }
}

static void missing(const Entry *e, const ParamDef *p, Loc loc) {
    if (keyword_statement(e))
        error_at(loc, "'%s' needs %s %s", e->name, article(type_noun(p)), type_noun(p));
    else
        error_at(loc, "%s needs the argument '%s'", e->name, p->name);
    if (e->example)
        hint("for example: %s", e->example);
}

/* The other entries of e's kind that have a parameter `name`: "sgd, rmsprop". */
static const char *owners(const Entry *e, const char *name) {
    char *s = NULL;
    for (int i = 0; i < catalog_len; i++)
        if (catalog[i].kind == e->kind && &catalog[i] != e && entry_param(&catalog[i], name) >= 0)
            s = s ? fmt("%s, %s", s, catalog[i].name) : (char *)catalog[i].name;
    return s;
}

/* Bind arguments to e's parameters: positionally in order, then by name;
 * check each and fill in the defaults. NULL after reporting errors. */
static Call *bind(const Entry *e, const Arg *args, int nargs, Loc loc) {
    Call *c = xalloc(sizeof *c);
    int np = nparams(e), ok = 1;
    c->e = e;
    c->loc = loc;
    for (int i = 0; i < nargs; i++) {
        const Arg *a = &args[i];
        int k = i;
        if (a->name) {
            k = entry_param(e, a->name);
            if (k < 0) {
                const char *names[MAX_PARAMS];
                for (int j = 0; j < np; j++)
                    names[j] = e->params[j].name;
                const char *near = nearest(a->name, names, np);
                error_at(a->loc, "%s has no argument '%s'", e->name, cut(a->name));
                const char *others = owners(e, a->name);
                if (near)
                    hint("did you mean '%s'?", near);
                else if (others && np)
                    hint("'%s' is an argument of %s; %s's arguments are: %s", cut(a->name), others,
                         e->name, join(names, np));
                else if (others)
                    hint("'%s' is an argument of %s; %s takes no arguments", cut(a->name), others,
                         e->name);
                else if (np)
                    hint("%s's arguments are: %s", e->name, join(names, np));
                else
                    hint("%s takes no arguments", e->name);
                ok = 0;
                continue;
            }
        } else if (k >= np) {
            if (np == 0)
                error_at(a->loc, "%s takes no arguments", e->name);
            else
                error_at(a->loc, "%s takes at most %d positional argument%s, got %d", e->name, np,
                         np == 1 ? "" : "s", nargs);
            ok = 0;
            break;
        }
        if (c->v[k].given) {
            error_at(a->loc, "argument '%s' given twice", e->params[k].name);
            note_at(c->v[k].loc, "first given here");
            ok = 0;
            continue;
        }
        c->v[k].given = 1;
        if (!convert(e, &e->params[k], a->val, &c->v[k]))
            ok = 0;
        c->v[k].loc = a->val->loc;
    }
    for (int k = 0; k < np; k++) {
        const ParamDef *p = &e->params[k];
        if (c->v[k].given)
            continue;
        c->v[k].loc = loc;
        if (!p->dflt) {
            missing(e, p, loc);
            ok = 0;
        } else if (*p->dflt) {
            int errors = error_count();
            if (!convert(e, p, parse_value(p->dflt), &c->v[k]) || error_count() != errors)
                internal_error("bad default %s = %s for %s", p->name, p->dflt, e->name);
            c->v[k].loc = loc;
        }
    }
    return ok ? c : NULL;
}

/* ---- statements ------------------------------------------------------------ */

/* One statement's catalogue entry and checked arguments, or NULL. */
static Call *statement(const Stmt *s, Vec *srcs) {
    const Entry *e = catalog_find(s->name, K_STATEMENT);
    if (!e)
        e = catalog_find(s->name, K_LAYER);
    if (!e) {
        unknown_name(s->loc, s->name, K_STATEMENT, K_LAYER);
        return NULL;
    }
    if (s->operand) {
        if (!keyword_statement(e)) {
            error_at(s->operand->loc, "%s takes its arguments in parentheses", e->name);
            if (e->example)
                hint("for example: %s", e->example);
            return NULL;
        }
        Arg a = {NULL, s->operand->loc, s->operand};
        return bind(e, &a, 1, s->loc);
    }
    if (s->call && e->kind == K_LAYER) {     /* its operand names go to graph.c */
        int n;
        const Arg *args = graph_args(e, s->call, &n, srcs);
        return args ? bind(e, args, n, s->loc) : NULL;
    }
    if (s->call)
        return bind(e, s->call->args, s->call->nargs, s->loc);
    return bind(e, NULL, 0, s->loc);
}

/* A statement that may appear at most once; *first remembers the first. */
static int once(const Stmt *s, const Stmt **first) {
    if (*first) {
        error_at(s->loc, "more than one '%s' statement", s->name);
        note_at((*first)->loc, "the first is here");
        return 0;
    }
    *first = s;
    return 1;
}

static void need(const Ast *ast, const Stmt *s, const char *what, const char *entry) {
    if (s)
        return;
    error_at(ast->loc, "model '%s' has no %s", cut(ast->name), what);
    hint("add a line such as: %s", catalog_find(entry, K_STATEMENT)->example);
}

/* ---- layers --------------------------------------------------------------- */

int layer_activation(const Layer *l) {
    if (entry_param(l->c->e, "activation") >= 0)
        return call_sub(l->c, "activation")->e->op;
    return l->c->e->op;
}

/* Where to point at a layer's name: the name argument if written. */
static Loc name_loc(const Layer *l) {
    const ArgVal *a = call_arg(l->c, "name");
    return a->given ? a->loc : l->loc;
}

/* Given names must be C identifiers (they name generated functions); the
 * others are Keras': dense, dense_1, ... counted per layer type. */
static void name_layers(Spec *spec) {
    const char **base = xalloc(sizeof(char *) * (size_t)spec->nlayers);
    int *count = xalloc(sizeof(int) * (size_t)spec->nlayers), nbase = 0;
    for (int i = 0; i < spec->nlayers; i++) {
        Layer *l = &spec->layers[i];
        const ArgVal *a = call_arg(l->c, "name");
        if (a->given) {
            l->name = a->str;
            if (!is_c_identifier(l->name)) {
                error_at(a->loc, "layer name \"%s\" is not a C identifier", cut(l->name));
                hint("use letters, digits and '_', not starting with a digit");
            } else if (is_c_keyword(l->name)) {
                error_at(a->loc, "layer name \"%s\" is a C keyword", l->name);
            }
            continue;
        }
        int b = 0;
        while (b < nbase && strcmp(base[b], l->c->e->name) != 0)
            b++;
        if (b == nbase) {
            base[nbase] = l->c->e->name;
            count[nbase++] = 0;
        }
        l->name = count[b] ? fmt("%s_%d", base[b], count[b]) : base[b];
        count[b]++;
    }
    /* A clash is reported at a name the user wrote (the later one if both
     * are), in source order; default names never clash among themselves. */
    for (int j = 0; j < spec->nlayers; j++) {
        Layer *at = &spec->layers[j];
        if (!call_arg(at->c, "name")->given)
            continue;
        for (int i = 0; i < spec->nlayers; i++) {
            Layer *other = &spec->layers[i];
            int given = call_arg(other->c, "name")->given;
            if (i == j || (i > j && given) || strcmp(at->name, other->name) != 0)
                continue;
            error_at(name_loc(at), "duplicate layer name '%s'", cut(at->name));
            note_at(name_loc(other), given ? "also the name of this layer"
                                           : "also the default name of this layer");
            break;
        }
    }
}

/* Initializers that need a matrix: Keras's orthogonal refuses a 1-D tensor. */
static void check_initializers(const Spec *spec) {
    for (int i = 0; i < spec->nlayers; i++) {
        const Layer *l = &spec->layers[i];
        if (!call_has(l->c, "bias_initializer") || !call_num(l->c, "use_bias"))
            continue;
        const ArgVal *a = call_arg(l->c, "bias_initializer");
        if (!strcmp(a->call->e->name, "orthogonal")) {
            error_at(a->loc, "orthogonal needs a matrix, but the bias of layer '%s' is a vector", l->name);
            hint("use orthogonal as kernel_initializer; biases usually start at zeros");
        }
    }
}

/* ---- normalization ------------------------------------------------------------- */

/* Normalization layers need more than one value in each group they take
 * statistics over: layer norm over its last axis, batch norm in training over
 * the batch and the positions of a channel (PyTorch refuses one value per
 * channel; here a partial last batch of one such value normalizes by the
 * running variance's update alone, see docs/CATALOG.md). Their parameters are
 * vectors, so orthogonal does not apply. */
static void check_norm(const Spec *spec) {
    for (int i = 0; i < spec->nlayers; i++) {
        const Layer *l = &spec->layers[i];
        LayerKind k = l->c->e->layer;
        if (k != L_BATCH_NORM && k != L_LAYER_NORM)
            continue;
        long last = l->in.dim[l->in.ndim - 1], per_channel = shape_numel(&l->in) / l->in.dim[0];
        if (k == L_LAYER_NORM && last == 1) {
            error_at(l->loc, "layer_normalization of %s normalizes a last axis of 1 value: the output would be beta alone",
                     shape_str(&l->in));
            hint("layer_normalization normalizes over the last axis; it needs at least 2 values there");
        }
        if (k == L_BATCH_NORM && per_channel == 1 && spec->fit && call_num(spec->fit, "batch_size") == 1) {
            error_at(l->loc, "batch_normalization with batch_size = 1 sees one value per channel in training");
            hint("use a batch_size of 2 or more, or layer_normalization");
        }
        for (int j = 0; j < MAX_PARAMS && l->c->e->params[j].name; j++) {
            const ArgVal *a = &l->c->v[j];
            if (l->c->e->params[j].type == T_INITIALIZER && a->call && !strcmp(a->call->e->name, "orthogonal"))
                error_at(a->loc, "orthogonal needs a matrix, but %s of layer '%s' is a vector",
                         l->c->e->params[j].name, l->name);
        }
    }
}

/* ---- the loss against the output -------------------------------------------- */

/* The layer whose activation the output carries: identity layers after it
 * (linear, activation(linear)) change nothing. */
static const Layer *output_layer(const Spec *spec) {
    int i = spec->nlayers - 1;
    while (i > 0 && spec->layers[i].c->e->layer == L_ACTIVATION &&
           layer_activation(&spec->layers[i]) == OP_NONE)
        i--;
    return &spec->layers[i];
}

/* The activation a layer ends with; time_distributed's is its dense's. */
static int output_activation(const Layer *l) {
    if (l->c->e->layer != L_TIME_DISTRIBUTED)
        return layer_activation(l);
    Layer inner = *l;
    inner.c = call_sub(l->c, "layer");
    return layer_activation(&inner);
}

/* Regression losses and hinge take any output shape, one target per output
 * value. The classification losses want an output [k], or [T, k] for a
 * class at every step of a sequence: one unit for binary cross-entropy, one
 * per class (k >= 2) for the categorical ones, with the activation that
 * makes probabilities unless from_logits says otherwise. */
static void check_loss(const Spec *spec) {
    const Call *loss = spec->loss;
    const char *ln = loss->e->name;
    Shape o = spec->layers[spec->nlayers - 1].out;
    int op = loss->e->op, task = op_task((Op)op);
    if (task != TASK_BINARY && task != TASK_SPARSE && task != TASK_ONEHOT)
        return;
    if (o.ndim != 1 && o.ndim != 2) {
        error_at(loss->loc, "%s needs an output [k], or [T, k] for a class at every step, "
                 "but the model outputs %s", ln, shape_str(&o));
        hint("for one class per sample, end with flatten (or global pooling) and dense(k): "
             "dense maps the last axis only");
        return;
    }
    long k = o.dim[o.ndim - 1];
    const char *per = o.ndim == 2 ? " per step" : "";
    if (op != OP_BCE && k < 2) {
        error_at(loss->loc, "%s needs one output per class (at least 2)%s, but the model has %ld", ln, per, k);
        hint("for two classes use binary_crossentropy with one sigmoid output, "
             "or give the last layer more units");
        return;
    }
    if (op == OP_BCE && k != 1) {
        error_at(loss->loc, "%s needs exactly 1 output (the probability of class 1)%s, but the model has %ld",
                 ln, per, k);
        hint("for %ld classes use softmax with sparse_categorical_crossentropy (integer labels) "
             "or categorical_crossentropy (one-hot targets)", k);
        return;
    }
    const Layer *out = output_layer(spec);
    int act = output_activation(out), want = op == OP_BCE ? OP_SIGMOID : OP_SOFTMAX;
    if (op == OP_KLD) {     /* no from_logits: the output must be a distribution */
        if (act != OP_SOFTMAX) {
            error_at(loss->loc, "%s expects probabilities, but layer '%s' %s", ln, out->name,
                     act == OP_NONE ? "outputs logits (no activation)" : fmt("applies %s", act_name(act)));
            hint("end the model with activation = softmax; on logits, use "
                 "categorical_crossentropy(from_logits = true)");
        }
        return;
    }
    const ArgVal *logits = call_arg(loss, "from_logits");
    if (logits->num && (act == OP_SOFTMAX || act == OP_SIGMOID)) {
        error_at(logits->loc, "from_logits = true, but layer '%s' already applies %s", out->name,
                 act_name(act));
        hint("drop the %s (the loss applies it to logits), or set from_logits = false", act_name(act));
    } else if (!logits->num && act != want) {
        error_at(loss->loc, "%s expects probabilities, but layer '%s' %s", ln, out->name,
                 act == OP_NONE ? "outputs logits (no activation)" : fmt("applies %s", act_name(act)));
        hint("end the model with activation = %s, or write %s(from_logits = true)", act_name(want), ln);
    }
}

/* ---- step: a perceptron's unit ------------------------------------------------- */

/* Where a layer's activation is written: its activation argument, or the
 * layer itself for a standalone one. */
static Loc activation_loc(const Layer *l) {
    if (entry_param(l->c->e, "activation") >= 0)
        return call_arg(l->c, "activation")->loc;
    return l->loc;
}

/* step's derivative is 0 wherever it exists, so no gradient flows through
 * it. It trains only as a single-layer perceptron, one dense layer with
 * activation = step (or a linear dense then a step layer) and nothing else,
 * by the perceptron rule (autodiff.c),
 * which is plain gradient descent on mse's (fraction wrong) with its own
 * gradient: so loss mse, sgd with no option but learning_rate, and no
 * regularizers (they would change the rule). */
static int check_step(const Spec *spec) {
    const Layer *first = &spec->layers[0], *last = &spec->layers[spec->nlayers - 1];
    int perceptron = first->c->e->layer == L_DENSE &&
                     ((spec->nlayers == 1 && layer_activation(first) == OP_STEP) ||
                      (spec->nlayers == 2 && layer_activation(first) == OP_NONE &&
                       last->c->e->layer == L_ACTIVATION && layer_activation(last) == OP_STEP));
    for (int i = 0; i < spec->nlayers; i++) {
        const Layer *l = &spec->layers[i];
        if (perceptron || layer_activation(l) != OP_STEP)
            continue;
        error_at(activation_loc(l), "step has no useful gradient (0 wherever it has one), so %s could not learn",
                 l->c->e->layer == L_ACTIVATION ? "the layers before it"
                                                : fmt("layer '%s' and the layers before it", l->name));
        hint("use sigmoid, a smooth step; step trains only as a single-layer perceptron: "
             "one dense(k, activation = step) and nothing else");
        return 0;
    }
    if (!perceptron)
        return 0;
    if (spec->loss && spec->loss->e->op != OP_MSE) {
        error_at(spec->loss->loc, "a perceptron (activation = step) trains by the perceptron rule "
                 "with loss mse, not %s", spec->loss->e->name);
        hint("write loss mse: it reports the fraction of outputs that are wrong");
    }
    const Call *opt = spec->optimizer;
    if (opt && opt->e->op != OP_SGD) {
        error_at(opt->loc, "a perceptron (activation = step) trains by the perceptron rule, "
                 "which is sgd, not %s", opt->e->name);
        hint("write optimizer sgd(learning_rate = 0.1)");
    } else if (opt) {
        for (int i = 0; i < MAX_PARAMS && opt->e->params[i].name; i++)
            if (opt->v[i].given && strcmp(opt->e->params[i].name, "learning_rate")) {
                error_at(opt->v[i].loc, "the perceptron rule takes only a learning rate, not %s",
                         opt->e->params[i].name);
                hint("write optimizer sgd(learning_rate = 0.1)");
                break;
            }
    }
    static const char *const regs[] = {"kernel_regularizer", "bias_regularizer"};
    for (int r = 0; r < 2; r++)
        if (call_arg(first->c, regs[r])->given) {
            error_at(call_arg(first->c, regs[r])->loc, "the perceptron rule has no %s",
                     regs[r]);
            hint("drop it, or use activation = sigmoid to train with a penalty");
        }
    return 1;
}

/* ---- the optimizer ------------------------------------------------------------ */

/* Keras allows one kind of gradient clipping at a time. */
static void check_optimizer(const Call *opt) {
    static const char *const clips[] = {"clipnorm", "clipvalue", "global_clipnorm"};
    const ArgVal *first = NULL;
    const char *first_name = NULL;
    for (int i = 0; i < 3; i++) {
        const ArgVal *a = call_arg(opt, clips[i]);
        if (!a->given)
            continue;
        if (!first) {
            first = a;
            first_name = clips[i];
            continue;
        }
        error_at(a->loc, "%s and %s cannot both be given", first_name, clips[i]);
        note_at(first->loc, "%s is given here", first_name);
        hint("clip each gradient tensor (clipnorm), all of them together (global_clipnorm) "
             "or each value (clipvalue): pick one");
        return;
    }
}

/* ---- memory ------------------------------------------------------------------ */

/* Parameters live with their gradients and the optimizer's state; each
 * layer's output is kept per sample of the batch for the backward pass. */
static void check_sizes(const Spec *spec) {
    const Call *opt = spec->optimizer;
    const char *states[4];
    double copies = 2 + optimizer_states(opt, states), params = 0, acts = shape_values(&spec->input);
    const char *what = copies > 2 ? "weights, gradients and optimizer state"
                                  : "weights and gradients";
    for (int i = 0; i < spec->nlayers; i++) {
        const Layer *l = &spec->layers[i];
        LayerParam ps[MAX_LAYER_PARAMS];
        for (int k = layer_params(l, ps) - 1; k >= 0; k--)
            params += shape_values(&ps[k].shape);
        if (layer_flags(l->c->e->layer) & LF_RECURRENT) {      /* the input projection and the cache */
            double g = LF_GATES_OF(layer_flags(l->c->e->layer)), units = call_num(l->c, "units");
            acts += shape_values(&l->in) / (double)l->in.dim[1] * g * units * 3;
        }
        /* where a layer's size is written */
        const ArgVal *size = layer_flags(l->c->e->layer) & LF_CONV
                               ? call_arg(l->c, call_has(l->c, "filters") ? "filters" : "kernel_size")
                           : l->c->e->layer == L_EMBEDDING ? call_arg(l->c, "input_dim")
                           : l->c->e->layer == L_TIME_DISTRIBUTED ? call_arg(call_sub(l->c, "layer"), "units")
                           : call_has(l->c, "units") ? call_arg(l->c, "units") : NULL;
        if (size) {
            double bytes = params * copies * FLOAT_BYTES;
            if (bytes >= NNC_MAX_BYTES) {
                error_at(size->loc,
                         "the parameters up to layer '%s' need %s (%s), over the 2 GiB limit",
                         l->name, size_str(bytes), what);
                return;
            }
        }
        acts += shape_values(&l->out);
    }
    const ArgVal *bs = call_arg(spec->fit, "batch_size");
    double pbytes = params * copies * FLOAT_BYTES, abytes = acts * bs->num * FLOAT_BYTES;
    if (pbytes + abytes >= NNC_MAX_BYTES) {
        error_at(bs->loc, "batch_size %.0f needs %s for activations, %s in all, over the 2 GiB limit",
                 bs->num, size_str(abytes), size_str(pbytes + abytes));
        double fits = floor((NNC_MAX_BYTES - pbytes - 1) / (acts * FLOAT_BYTES));
        if (fits >= 1)
            hint("batch_size = %.0f or less fits", fits);
    }
}

/* ---- callbacks ------------------------------------------------------------------ */

/* callbacks(early_stopping(...), csv_logger("h.csv")) and metrics(accuracy,
 * auc): each argument a positional callback (metric), each kind at most once
 * (the runtime keeps one of each). Returns the calls; *n their number. */
static Call **list_statement(const Stmt *s, int *n) {
    const Entry *e = catalog_find(s->name, K_STATEMENT);
    const char *what = e->name;     /* "callbacks" or "metrics" */
    *n = 0;
    if (s->operand || !s->call) {
        error_at(s->operand ? s->operand->loc : s->loc, "%s takes its %s in parentheses", what, what);
        hint("for example: %s", e->example);
        return NULL;
    }
    Vec calls = {0};
    for (int i = 0; i < s->call->nargs; i++) {
        const Arg *a = &s->call->args[i];
        ArgVal v = {0};
        if (a->name) {
            error_at(a->loc, "%s takes %s, not named arguments", what, what);
            hint("arguments go inside a %s: %s", kind_name(kind_of_type[e->params[0].type]),
                 !strcmp(what, "metrics") ? "metrics(top_k_accuracy(k = 3))" : e->example);
            continue;
        }
        if (!convert(e, &e->params[0], a->val, &v))
            continue;
        int dup = 0;
        for (int j = 0; j < calls.n && !dup; j++) {
            const Call *prev = calls.v[j];
            if (prev->e == v.call->e) {
                error_at(v.call->loc, "more than one %s in %s", v.call->e->name, what);
                note_at(prev->loc, "the first is here");
                dup = 1;
            }
        }
        if (!dup)
            vec_push(&calls, v.call);
    }
    *n = calls.n;
    return (Call **)calls.v;
}

static int is_regression(const Call *loss) { return op_task((Op)loss->e->op) == TASK_REGRESSION; }

/* Validation data: fit(validation_split) or fit(validation_data). */
static int has_validation(const Spec *spec) {
    return call_num(spec->fit, "validation_split") > 0 || call_arg(spec->fit, "validation_data")->given;
}

/* What a callback may monitor: the loss, the task's metric (accuracy or
 * rmse) and every metric of metrics(...), each for the training data and
 * (with validation data) for the validation data. */
static void check_monitor(const Spec *spec, const Call *c) {
    const char *all[2 * 64 + 6] = {"loss", "val_loss", "accuracy", "val_accuracy", "rmse", "val_rmse"};
    int n_all = 6;
    const ArgVal *m = call_arg(c, "monitor"), *mode = call_arg(c, "mode");
    const char *metric = spec->loss && is_regression(spec->loss) ? "rmse" : "accuracy";
    const char *name = m->str, *base = strncmp(name, "val_", 4) ? name : name + 4;
    int known = 0;
    for (int i = 0; i < spec->nmetrics && n_all + 2 <= (int)(sizeof all / sizeof *all); i++) {
        all[n_all++] = spec->metrics[i]->e->name;
        all[n_all++] = fmt("val_%s", spec->metrics[i]->e->name);
    }
    for (int i = 0; i < n_all; i++)
        known |= !strcmp(name, all[i]);
    for (int i = 0; i < spec->nmetrics; i++)
        if (!strcmp(base, spec->metrics[i]->e->name))
            metric = base;      /* listed in metrics(...): reported whatever the task */
    if (!known) {
        const char *near = nearest(name, all, n_all);
        error_at(m->loc, "unknown monitor '%s'", cut(name));
        if (catalog_find(base, K_METRIC))
            hint("%s is reported only when listed: add it to metrics(...)", base);
        else if (near)
            hint("did you mean '%s'?", near);
        else
            hint("monitor loss, %s, val_loss or val_%s", metric, metric);
    } else if (spec->loss && strcmp(base, "loss") && strcmp(base, metric)) {
        error_at(m->loc, "monitor '%s' is not reported for loss %s", name, spec->loss->e->name);
        hint("%s models report %s: monitor %s%s", !strcmp(metric, "rmse") ? "regression" : "classification",
             metric, name != base ? "val_" : "", metric);
    } else if (name != base && !has_validation(spec)) {
        error_at(m->loc, "monitor '%s' needs validation data, but there is no validation split", name);
        hint("set fit(validation_split = 0.2) or fit(validation_data = \"val.csv\"), or monitor %s", base);
    }
    static const char *const modes[] = {"auto", "min", "max"};
    if (strcmp(mode->str, "auto") && strcmp(mode->str, "min") && strcmp(mode->str, "max")) {
        const char *near = nearest(mode->str, modes, 3);
        error_at(mode->loc, "mode must be auto, min or max, got %s", cut(mode->str));
        if (near)
            hint("did you mean '%s'?", near);
    }
}

/* data(format = auto | csv | idx | npy) */
static void check_data(const Spec *spec) {
    static const char *const formats[] = {"auto", "csv", "idx", "npy"};
    const ArgVal *f = call_arg(spec->data, "format");
    for (int i = 0; i < 4; i++)
        if (!strcmp(f->str, formats[i]))
            return;
    const char *near = nearest(f->str, formats, 4);
    error_at(f->loc, "data format must be auto, csv, idx or npy, got %s", cut(f->str));
    if (near)
        hint("did you mean '%s'?", near);
}

/* The number of classes of a classification loss (2 for binary), or 0. */
int class_count(const Spec *spec) {
    int task = spec->loss ? op_task((Op)spec->loss->e->op) : TASK_REGRESSION;
    const Shape *out = spec->nlayers ? &spec->layers[spec->nlayers - 1].out : NULL;
    long k = out && out->ndim ? out->dim[out->ndim - 1] : 0;
    if (task == TASK_BINARY)
        return k == 1 ? 2 : 0;
    if ((task == TASK_SPARSE || task == TASK_ONEHOT) && spec->loss->e->op != OP_KLD)
        return out->ndim <= 2 ? (int)k : 0;     /* [k], or [T, k]: k classes at every step */
    return 0;
}

/* fit(class_weight = [w0, w1, ...] | balanced): Keras' per-class weights on
 * the training loss, for a loss whose targets name one class per sample. */
static void check_class_weight(const Spec *spec) {
    const ArgVal *cw = call_arg(spec->fit, "class_weight");
    int k = class_count(spec);
    if (!cw->given)
        return;
    Shape o = spec->layers[spec->nlayers - 1].out;
    if (k && o.ndim > 1) {   /* Keras too refuses class_weight for sequence targets */
        error_at(cw->loc, "class_weight weights a sample by its class, but %s on the %s output "
                 "has a class at every step", spec->loss->e->name, shape_str(&o));
        hint("drop class_weight, or classify the whole sequence (return_sequences = false)");
        return;
    }
    if (!k) {
        error_at(cw->loc, "class_weight needs a loss with one class per sample, not %s",
                 spec->loss ? spec->loss->e->name : "none");
        hint("binary_crossentropy with one output, sparse_categorical_crossentropy or "
             "categorical_crossentropy on [classes] outputs");
        return;
    }
    if (cw->str)
        return;     /* balanced */
    if (cw->nnums != k) {
        error_at(cw->loc, "class_weight has %d weight%s, but the model has %d classes", cw->nnums,
                 cw->nnums == 1 ? "" : "s", k);
        hint("one weight per class, in class order: [%s]", k == 2 ? "1.0, 2.0" : "1.0, 2.0, ...");
        return;
    }
    for (int i = 0; i < k; i++)
        if (!(cw->nums[i] >= 0 && cw->nums[i] < HUGE_VAL)) {
            error_at(cw->loc, "class_weight %d is %g; weights must be >= 0", i, cw->nums[i]);
            return;
        }
}

static void check_callbacks(const Spec *spec) {
    const ArgVal *vs = call_arg(spec->fit, "validation_split"), *vd = call_arg(spec->fit, "validation_data");
    if (vs->given && vd->given && vs->num > 0) {
        error_at(vd->loc, "fit takes validation_data or validation_split, not both");
        note_at(vs->loc, "validation_split is here");
    }
    if (call_arg(spec->fit, "validation_labels")->given && !vd->given)
        error_at(call_arg(spec->fit, "validation_labels")->loc, "validation_labels without validation_data");
    for (int i = 0; i < spec->ncallbacks; i++) {
        const Call *c = spec->callbacks[i];
        if (call_has(c, "monitor"))
            check_monitor(spec, c);
        if (!strcmp(c->e->name, "model_checkpoint")) {
            const ArgVal *p = call_arg(c, "path");
            size_t n = strlen(p->str);
            if (n < 12 || strcmp(p->str + n - 12, ".safetensors")) {
                error_at(p->loc, "model_checkpoint writes .safetensors files, got \"%s\"", cut(p->str));
                hint("end the path with .safetensors, e.g. \"ckpt_{epoch}.safetensors\"");
            }
        }
        if (call_has(c, "path") && !*call_str(c, "path"))
            error_at(call_arg(c, "path")->loc, "%s needs a file name, got \"\"", c->e->name);
    }
}

/* ---- metrics ------------------------------------------------------------------- */

/* Which metrics a loss's task reports: accuracy for classification,
 * binary_accuracy and auc for binary_crossentropy, mse/mae/rmse for
 * regression, precision/recall for the three cross-entropies and
 * kl_divergence, top_k_accuracy for more than k classes (checked only when
 * every shape is known: after a failed layer the output is not). */
static void check_metrics(const Spec *spec, int shapes_ok) {
    int op = spec->loss->e->op;
    const char *ln = spec->loss->e->name;
    int task = op_task((Op)op), regression = task == TASK_REGRESSION, binary = task == TASK_BINARY;
    int classes = task == TASK_SPARSE || task == TASK_ONEHOT;
    Shape o = spec->layers[spec->nlayers - 1].out;
    for (int i = 0; i < spec->nmetrics; i++) {
        const Call *c = spec->metrics[i];
        const char *n = c->e->name, *why = NULL, *use = NULL;
        if (!strcmp(n, "accuracy")) {
            if (regression) why = "a classification loss", use = "rmse, mse or mae";
        } else if (!strcmp(n, "binary_accuracy") || !strcmp(n, "auc")) {
            if (!binary) why = "binary_crossentropy (one output, two classes)",
                         use = regression ? "rmse, mse or mae" : "accuracy, precision or recall";
        } else if (!strcmp(n, "mse") || !strcmp(n, "mae") || !strcmp(n, "rmse")) {
            if (!regression) why = "a regression loss (mse, mae, huber or log_cosh)",
                             use = binary    ? "accuracy, precision, recall or auc"
                                   : classes ? "accuracy, precision or recall"
                                             : "accuracy";
        } else if (!strcmp(n, "precision") || !strcmp(n, "recall")) {
            if (!binary && !classes) why = "a classification loss (binary, sparse or categorical crossentropy)",
                                     use = regression ? "rmse, mse or mae" : "accuracy";
        } else if (!strcmp(n, "top_k_accuracy")) {
            if (!classes) {
                why = "more than two classes (sparse or categorical crossentropy)";
                use = binary ? "accuracy or auc" : regression ? "rmse, mse or mae" : "accuracy";
            } else if (shapes_ok && call_num(c, "k") >= o.dim[o.ndim - 1]) {
                error_at(call_arg(c, "k")->loc, "top_k_accuracy with k = %.0f is always 1: the model has %ld classes",
                         call_num(c, "k"), (long)o.dim[o.ndim - 1]);
                hint("use k < %ld", (long)o.dim[o.ndim - 1]);
            }
        } else {
            internal_error("metric '%s' has no check", n);
        }
        if (why) {
            error_at(c->loc, "metric %s needs %s, but the loss is %s", n, why, ln);
            hint("for loss %s use %s", ln, use);
        }
    }
}

/* ---- the model ------------------------------------------------------------------ */

static const char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ".";
    if (slash == path)
        return "/";
    return xstrndup(path, (size_t)(slash - path));
}

Spec *check(const Ast *ast) {
    int errors = error_count();
    Spec *spec = xalloc(sizeof *spec);
    spec->name = ast->name;
    spec->loc = ast->loc;
    spec->src = ast->loc.src;
    spec->dir = dir_of(spec->src->path);
    if (is_c_keyword(ast->name)) {
        error_at(ast->loc, "model name '%s' is a C keyword", ast->name);
        hint("the model name prefixes every generated C name; pick another");
    }

    const Stmt *input = NULL, *loss = NULL, *opt = NULL, *fit = NULL, *data = NULL, *pre = NULL;
    const Stmt *cbs = NULL, *mets = NULL, *cv = NULL;
    const Stmt *first_layer = NULL;
    int layers_ok = 1, input_ok = 0, shapes_ok = 0;
    Loc input_loc = ast->loc;
    Vec layers = {0};
    for (int i = 0; i < ast->nstmts; i++) {
        const Stmt *s = &ast->stmts[i];
        const Entry *e = catalog_find(s->name, K_STATEMENT);
        if (!e)
            e = catalog_find(s->name, K_LAYER);
        if (e && !strcmp(e->name, "callbacks")) {
            if (once(s, &cbs))
                spec->callbacks = list_statement(s, &spec->ncallbacks);
            continue;
        }
        if (e && !strcmp(e->name, "metrics")) {
            if (once(s, &mets))
                spec->metrics = list_statement(s, &spec->nmetrics);
            continue;
        }
        Vec srcs = {0};
        Call *c = statement(s, &srcs);
        if (!e) {
            layers_ok = 0;      /* perhaps a misspelled layer: shapes would mislead */
            continue;
        }
        if (e->kind == K_LAYER) {
            if (!first_layer)
                first_layer = s;
            if (!c) {
                layers_ok = 0;
                continue;
            }
            Layer *l = xalloc(sizeof *l);
            l->c = c;
            l->loc = s->loc;
            l->src = srcs;
            vec_push(&layers, l);
        } else if (strcmp(e->name, "input") == 0) {
            if (once(s, &input) && c) {
                spec->input = c->v[0].shape;
                input_loc = c->v[0].loc;
                input_ok = 1;
            }
        } else if (strcmp(e->name, "loss") == 0) {
            if (once(s, &loss) && c)
                spec->loss = c->v[0].call;
        } else if (strcmp(e->name, "optimizer") == 0) {
            if (once(s, &opt) && c) {
                spec->optimizer = c->v[0].call;
                check_optimizer(spec->optimizer);
            }
        } else if (strcmp(e->name, "fit") == 0) {
            if (once(s, &fit) && c)
                spec->fit = c;
        } else if (strcmp(e->name, "data") == 0) {
            if (once(s, &data) && c)
                spec->data = c;
        } else if (strcmp(e->name, "preprocess") == 0) {
            if (once(s, &pre) && c)
                spec->preprocess = c->v[0].call;
        } else if (strcmp(e->name, "cross_validate") == 0) {
            if (once(s, &cv) && c)
                spec->cross_validate = c;
        } else {
            internal_error("statement '%s' not handled", e->name);
        }
    }

    need(ast, input, "input shape", "input");
    if (input && first_layer && first_layer < input) {
        error_at(first_layer->loc, "layer '%s' comes before 'input'", first_layer->name);
        note_at(input->loc, "'input' is here; it must come before the first layer");
    }
    if (!first_layer && layers_ok) {
        error_at(ast->loc, "model '%s' has no layers", cut(ast->name));
        hint("add a layer such as: %s", catalog_find("dense", K_LAYER)->example);
    }
    need(ast, loss, "loss", "loss");
    need(ast, opt, "optimizer", "optimizer");
    if (!fit)
        spec->fit = bind(catalog_find("fit", K_STATEMENT), NULL, 0, ast->loc);
    if (!spec->preprocess)  /* absent, or misspelt (reported): later checks see none */
        spec->preprocess = bind(catalog_find("none", K_PREPROCESS), NULL, 0, ast->loc);

    spec->nlayers = layers.n;
    spec->layers = xalloc(sizeof(Layer) * (size_t)(layers.n + 1));
    for (int i = 0; i < layers.n; i++)
        spec->layers[i] = *(Layer *)layers.v[i];

    if (layers_ok && spec->nlayers) {
        name_layers(spec);
        check_initializers(spec);
        shapes_ok = resolve_inputs(spec) && input_ok && infer_shapes(spec, input_loc);
        if (shapes_ok) {
            check_norm(spec);
            if (!check_step(spec) && spec->loss)
                check_loss(spec);
            if (spec->optimizer && spec->fit)
                check_sizes(spec);
        }
    }
    if (spec->fit)
        check_callbacks(spec);
    if (spec->data)
        check_data(spec);
    if (spec->loss && layers_ok && spec->nlayers)
        check_metrics(spec, shapes_ok);
    if (spec->fit && spec->loss && layers_ok && spec->nlayers && input_ok && error_count() == errors)
        check_class_weight(spec);
    return error_count() > errors ? NULL : spec;
}
