/* util.c — small helpers every pass uses: allocation that never fails,
 * string formatting, the "did you mean" edit distance, and internal errors.
 * Nothing is ever freed; see the note at the top of nnc.h. */
#include "nnc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

void *xalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p)
        fatal("out of memory");
    return p;
}

void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p)
        fatal("out of memory");
    return p;
}

char *xstrndup(const char *s, size_t n) {
    char *d = xalloc(n + 1);
    memcpy(d, s, n);
    return d;
}

char *xstrdup(const char *s) {
    return xstrndup(s, strlen(s));
}

static char *vfmt(const char *f, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, f, ap2);
    va_end(ap2);
    if (n < 0)
        internal_error("bad format \"%s\"", f);
    char *s = xalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, f, ap);
    return s;
}

char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = vfmt(f, ap);
    va_end(ap);
    return s;
}

/* Optimal string alignment distance, ignoring case: Levenshtein plus
 * swapping two neighbours, the commonest typo ("rleu" for "relu"). Names
 * longer than EDIT_MAX are never anyone's typo; they get the longer length. */
#define EDIT_MAX 63
int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > EDIT_MAX || lb > EDIT_MAX)
        return la > lb ? la : lb;
    int d[EDIT_MAX + 1][EDIT_MAX + 1];
    for (int i = 0; i <= la; i++)
        d[i][0] = i;
    for (int j = 0; j <= lb; j++)
        d[0][j] = j;
    for (int i = 1; i <= la; i++) {
        for (int j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int best = d[i - 1][j - 1] + (ca != cb);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* Suggest only what is plausibly a typo: a few edits for the length of the
 * word, so "x" never becomes "relu". The distance ignores case, so "ReLU"
 * is distance 0 from "relu" and always suggested. */
const char *nearest(const char *s, const char *const *cands, int n) {
    int len = (int)strlen(s);
    int limit = len / 3 > 1 ? len / 3 : 1;
    const char *best = NULL;
    int bestd = limit + 1;
    for (int i = 0; i < n; i++) {
        if (strcmp(s, cands[i]) == 0)
            continue;
        int d = edit_distance(s, cands[i]);
        if (d < bestd) {
            best = cands[i];
            bestd = d;
        }
    }
    return best;
}

NORETURN void internal_error_at(const char *file, int line, const char *f, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "nnc: internal error at %s:%d: ", file, line);
    va_start(ap, f);
    vfprintf(stderr, f, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    exit(3);
}

void vec_push(Vec *v, void *p) {
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 8;
        v->v = xrealloc(v->v, sizeof(void *) * (size_t)v->cap);
    }
    v->v[v->n++] = p;
}
