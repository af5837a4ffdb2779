/* ast.c — the syntax tree of a model file: reading the source, the
 * constructors the grammar actions call, literal values (numbers, strings)
 * and the wording of syntax errors. Meaning is check.c's business. */
#include "nnc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SOURCE (64L << 20)  /* no model file is anywhere near this */

Source *read_source(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        fatal("cannot open %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? 2 * cap : 4096;
            buf = xrealloc(buf, cap + 1);
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
        if (len > (size_t)MAX_SOURCE)
            fatal("%s: file too large for a model file", path);
    }
    if (ferror(f))
        fatal("cannot read %s: %s", path, strerror(errno));
    fclose(f);
    buf[len] = '\0';
    Source *src = xalloc(sizeof *src);
    src->path = xstrdup(path);
    src->text = buf;
    src->len = len;
    return src;
}

/* ---- locations ---------------------------------------------------------- */

/* From the start of `first` to the end of `last`; a span over several lines
 * is marked by its first token only. */
Loc loc_span(Loc first, Loc last) {
    if (last.line == first.line && last.col + last.len > first.col + first.len)
        first.len = last.col + last.len - first.col;
    return first;
}

Loc loc_after(Loc l) {
    l.col += l.len;
    l.len = 1;
    return l;
}

/* ---- constructors ------------------------------------------------------- */

Ast *ast_new(const char *name, Loc loc, Vec *stmts) {
    Ast *a = xalloc(sizeof *a);
    a->name = name;
    a->loc = loc;
    a->nstmts = stmts->n;
    a->stmts = xalloc(sizeof(Stmt) * (size_t)stmts->n);
    for (int i = 0; i < stmts->n; i++)
        a->stmts[i] = *(Stmt *)stmts->v[i];
    return a;
}

Vec *stmt_add(Vec *stmts, Stmt *s) {
    if (!stmts)
        stmts = xalloc(sizeof *stmts);
    if (s)
        vec_push(stmts, s);
    return stmts;
}

/* `args` non-NULL: written with parentheses, a call named like the statement. */
Stmt *stmt_new(const char *name, Loc loc, Value *args, Value *operand) {
    Stmt *s = xalloc(sizeof *s);
    s->name = name;
    s->loc = loc;
    s->call = args ? value_call(name, loc, args) : NULL;
    s->operand = operand;
    return s;
}

Arg *arg_new(const char *name, Loc loc, Value *v) {
    Arg *a = xalloc(sizeof *a);
    a->name = name;
    a->loc = loc;
    a->val = v;
    return a;
}

Value *list_empty(Loc loc) {
    Value *v = xalloc(sizeof *v);
    v->kind = V_LIST;
    v->loc = loc;
    return v;
}

/* Arguments are few; growing by one keeps the Value a plain array. */
Value *list_arg(Value *list, Arg *a) {
    if (!list)
        list = list_empty(a->loc);
    if (!a->name && list->nargs && list->args[list->nargs - 1].name) {
        const char *kw = list->args[list->nargs - 1].name;
        error_at(a->loc, "positional argument after keyword argument '%s'", kw);
        hint("positional arguments come first: move it before '%s = ...', or name it", kw);
    }
    list->args = xrealloc(list->args, sizeof(Arg) * (size_t)(list->nargs + 1));
    list->args[list->nargs++] = *a;
    return list;
}

Value *list_item(Value *list, Value *v) {
    return list_arg(list, arg_new(NULL, v->loc, v));
}

Value *value_call(const char *name, Loc loc, Value *args) {
    args->kind = V_CALL;
    args->str = name;
    args->loc = loc;
    return args;
}

Value *value_seq(ValueKind kind, Loc loc, Value *items) {
    items->kind = kind;
    items->loc = loc;
    return items;
}

Value *value_ident(const char *name, Loc loc) {
    Value *v = list_empty(loc);
    v->kind = V_IDENT;
    v->str = name;
    return v;
}

Value *value_bool(int b, Loc loc) {
    Value *v = list_empty(loc);
    v->kind = V_BOOL;
    v->num = b;
    return v;
}

/* Long tokens are cut in messages: nobody needs 500 digits echoed. */
static char *shorten(const char *s, int len) {
    return len > 24 ? fmt("%.20s...", s) : xstrndup(s, (size_t)len);
}

/* Integers must be exact in a double, so they stop at 2^53. */
Value *value_num(const char *text, int len, Loc loc) {
    Value *v = list_empty(loc);
    v->kind = V_NUM;
    v->str = xstrndup(text, (size_t)len);
    v->is_int = !strpbrk(v->str, ".eE");
    v->num = strtod(v->str, NULL);
    if (isinf(v->num) || (v->is_int && fabs(v->num) > 9007199254740992.0)) {
        error_at(loc, "number '%s' is too big", shorten(text, len));
        v->num = 0;
    }
    return v;
}

Value *value_str(const char *text, int len, Loc loc) {
    Value *v = list_empty(loc);
    v->kind = V_STR;
    char *s = xalloc((size_t)len), *o = s;
    int bad_escapes = 0;
    for (int i = 1; i < len - 1; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 && c != '\t') {
            Loc at = {loc.src, loc.line, loc.col + i, 1};
            error_at(at, "control character 0x%02x in string", c);
        } else if (c != '\\') {
            *o++ = (char)c;
        } else {
            switch (text[++i]) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case 'n': *o++ = '\n'; break;
            case 't': *o++ = '\t'; break;
            default: {
                Loc at = {loc.src, loc.line, loc.col + i - 1, 2};
                error_at(at, "unknown escape '\\%c' in string", text[i]);
                if (!bad_escapes++)
                    hint("escapes are \\\" \\\\ \\n \\t; in paths, write '/' instead of '\\'");
            }
            }
        }
    }
    v->str = s;
    return v;
}

/* ---- syntax errors -------------------------------------------------------- */

static int has(const char *const *names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return 1;
    return 0;
}

static const char *const value_start[] = {
    "name", "number", "string", "'true'", "'false'", "'['", "'('",
};
#define NVALUE_START ((int)(sizeof value_start / sizeof *value_start))

static int starts_value(const char *tok) {
    return has(value_start, NVALUE_START, tok);
}

/* "expected a value or ')'": the token names in the grammar's order, with
 * the value-starting tokens folded into "a value" and optional newlines
 * left out when anything else would do. */
static char *expected_list(const char *const *exp, int n) {
    const char *out[64];
    int m = 0, values = 0, folded = 0;
    for (int i = 0; i < n; i++)
        values += starts_value(exp[i]);
    for (int i = 0; i < n && m < 64; i++) {
        const char *e = exp[i];
        if (values > 2 && starts_value(e)) {
            if (folded++)
                continue;
            e = "a value";
        } else if (strcmp(e, "end of line") == 0 && n > 1) {
            continue;
        } else if (strcmp(e, "name") == 0 || strcmp(e, "number") == 0 || strcmp(e, "string") == 0) {
            e = fmt("a %s", e);
        }
        out[m++] = e;
    }
    char *s = "";
    for (int i = 0; i < m; i++)
        s = fmt("%s%s%s", s, i == 0 ? "" : i == m - 1 ? " or " : ", ", out[i]);
    return s;
}

void syntax_error(Lexer *lx, const char *found, const char *const *exp, int n) {
    Token t = lx->tok;
    Bracket b = lx->before;
    const char *close = b.c == '(' ? "')'" : b.c == '[' ? "']'" : b.c == '{' ? "'}'" : NULL;
    int eof = strcmp(found, "end of file") == 0;
    const char *what = eof || strcmp(found, "end of line") == 0 ? found
                     : strcmp(found, "string") == 0 ? shorten(t.text, t.len)
                     : fmt("'%s'", shorten(t.text, t.len));
    const char *prev = shorten(lx->prev.text ? lx->prev.text : "", lx->prev.len);
    int closing = strcmp(found, "')'") == 0 || strcmp(found, "']'") == 0 || strcmp(found, "'}'") == 0;
    /* Inside () or [] newlines are skipped, so a bracket left open shows up
     * as an error on a later line: say so rather than guess at the syntax. */
    int crossed = b.c && b.c != '{' && has(exp, n, close) && lx->prev.loc.line != t.loc.line;

    if (has(exp, n, "'model'")) {
        error_at(t.loc, "expected 'model NAME {' to start the file, found %s", what);
        static const char *const model[] = {"model"};
        if (strcmp(found, "name") == 0 && nearest(xstrndup(t.text, (size_t)t.len), model, 1))
            hint("did you mean 'model'?");
        else
            hint("a model file holds one block: model NAME { input [N] ... }");
    } else if (eof && b.c) {
        error_at(b.loc, "unclosed '%c': expected %s before end of file", b.c, close);
    } else if (crossed) {
        error_at(t.loc, "expected %s to close '%c' at %d:%d, found %s", close, b.c, b.loc.line,
                 b.loc.col, what);
    } else if (has(exp, n, "'='") && starts_value(found) && strcmp(found, "'('") != 0) {
        error_at(t.loc, "expected '=' after '%s', found %s", prev, what);
        hint("keyword arguments are written name = value");
    } else if (has(exp, n, "end of line") && has(exp, n, "';'") && has(exp, n, "'('")) {
        error_at(t.loc, "unexpected %s after '%s'", what, prev);
        if (strcmp(found, "'='") == 0)
            hint("statements take no '=': write '%s VALUE' or '%s(ARGS)'", prev, prev);
    } else if (has(exp, n, "end of line") && has(exp, n, "';'") && has(exp, n, "name")) {
        error_at(t.loc, "expected a statement or '}', found %s", what);
    } else if (has(exp, n, "end of line") && has(exp, n, "';'")) {
        error_at(t.loc, "expected end of line or ';' after the statement, found %s", what);
    } else if (close && has(exp, n, close) && (!has(exp, n, "number") || closing)) {
        error_at(t.loc, "expected %s to close '%c' at %d:%d, found %s", close, b.c, b.loc.line,
                 b.loc.col, what);
        if (has(exp, n, "','") && starts_value(found) && lx->prev.loc.line == t.loc.line)
            hint("is a ',' missing before %s?", what);
    } else if (n == 1 && strcmp(exp[0], "name") == 0 && strcmp(prev, "model") == 0) {
        error_at(t.loc, "expected the model's name after 'model', found %s", what);
    } else {
        error_at(t.loc, "expected %s, found %s", expected_list(exp, n), what);
        if (strcmp(found, "'model'") == 0)
            hint("a file holds one model");
    }
}
