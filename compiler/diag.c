/* diag.c — user errors, printed like gcc and rustc:
 *
 *     examples/bad.nn:4:26: error: unknown activation 'rleu'
 *         4 |   dense(32, activation = rleu)
 *           |                          ^~~~
 *           = hint: did you mean 'relu'?
 *
 * The source line is shown with tabs expanded and anything unprintable as
 * '?', so the caret lines up in any terminal. */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 20
#define TABSTOP 8
#define MAX_SHOWN 160  /* bytes of a source line shown around the caret */

static int nerrors;
static int gutter = 5;      /* width of the line-number column of the last message */

/* Display width of the UTF-8 character starting at s (n bytes long, valid):
 * 2 for the wide East Asian blocks (Hangul, CJK, full-width forms), else 1. */
static int char_width(const unsigned char *s, int n) {
    unsigned c = n == 2 ? (s[0] & 0x1fu) << 6 | (s[1] & 0x3fu)
               : n == 3 ? (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu)
               : (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3fu);
    if ((c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
        (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
        (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
        (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd))
        return 2;
    return 1;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static int utf8_len(const unsigned char *s, int n) {
    int k = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
          : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (k == 0 || k > n)
        return 0;
    for (int i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return k;
}

/* Print line `loc.line` of the source and a caret run under loc.col .. +len.
 * A very long line (minified, or binary) is shown as a window around the
 * caret, cut at "...". */
static void show_line(Loc loc) {
    const char *p = loc.src->text, *end = p + loc.src->len;
    for (int l = 1; l < loc.line && p < end; p++)
        if (*p == '\n')
            l++;
    const char *q = p;
    while (q < end && *q != '\n')
        q++;
    if (q > p && q[-1] == '\r')
        q--;
    int n = (int)(q - p);
    int a = loc.col - 1 < 0 ? 0 : loc.col - 1 > n ? n : loc.col - 1;
    int cut_left = 0, cut_right = 0;
    if (n > MAX_SHOWN) {
        int from = a > MAX_SHOWN / 3 ? a - MAX_SHOWN / 3 : 0, to = from + MAX_SHOWN;
        while (from > 0 && (p[from] & 0xc0) == 0x80)
            from--;
        if (to >= n)
            to = n;
        /* back to a character's first byte, but never before `from`: a
         * line of nothing but continuation bytes (binary) has none */
        while (to < n && to > from && (p[to] & 0xc0) == 0x80)
            to--;
        cut_left = from > 0, cut_right = to < n;
        p += from, n = to - from, a -= from;
    }

    /* col[i]: display column where byte i of the line starts. */
    int *col = xalloc(sizeof(int) * (size_t)(n + 2));
    char *out = xalloc((size_t)n * 8 + 8);
    int w = 0, o = 0;
    if (cut_left) {
        memcpy(out, "...", 3);
        w = o = 3;
    }
    for (int i = 0; i < n;) {
        const unsigned char *c = (const unsigned char *)p + i;
        int k = *c >= 0x80 ? utf8_len(c, n - i) : 1;
        col[i] = w;
        if (*c == '\t') {
            do
                out[o++] = ' ';
            while (++w % TABSTOP);
        } else if (k > 1) {
            for (int j = 1; j < k; j++)
                col[i + j] = w;
            memcpy(out + o, c, (size_t)k);
            o += k;
            w += char_width(c, k);
        } else {
            out[o++] = *c >= 0x20 && *c < 0x7f ? (char)*c : '?';
            w++;
            k = 1;
        }
        i += k;
    }
    col[n] = w;
    col[n + 1] = w + 1;
    if (cut_right)
        memcpy(out + o, "...", 3);

    int b = a + (loc.len > 1 ? loc.len : 1);
    if (b > n + 1)
        b = n + 1;
    fprintf(stderr, "%*d | %s\n", gutter, loc.line, out);
    fprintf(stderr, "%*s | %*s^", gutter, "", col[a], "");
    for (int i = col[a] + 1; i < col[b]; i++)
        fputc('~', stderr);
    fputc('\n', stderr);
}

static void report(Loc loc, const char *what, const char *f, va_list ap) {
    fflush(stdout);
    if (loc.src) {
        gutter = 5;
        for (int l = loc.line; l >= 10000; l /= 10)
            gutter++;
        fprintf(stderr, "%s:%d:%d: %s: ", loc.src->path, loc.line, loc.col, what);
    } else {
        fprintf(stderr, "nnc: %s: ", what);
    }
    vfprintf(stderr, f, ap);
    fputc('\n', stderr);
    if (loc.src)
        show_line(loc);
}

void error_at(Loc loc, const char *f, ...) {
    va_list ap;
    if (nerrors == MAX_ERRORS) {
        fprintf(stderr, "nnc: too many errors, stopping\n");
        exit(1);
    }
    nerrors++;
    va_start(ap, f);
    report(loc, "error", f, ap);
    va_end(ap);
}

void note_at(Loc loc, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    report(loc, "note", f, ap);
    va_end(ap);
}

void hint(const char *f, ...) {
    va_list ap;
    fprintf(stderr, "%*s = hint: ", gutter, "");
    va_start(ap, f);
    vfprintf(stderr, f, ap);
    va_end(ap);
    fputc('\n', stderr);
}

NORETURN void fatal(const char *f, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "nnc: error: ");
    va_start(ap, f);
    vfprintf(stderr, f, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

int error_count(void) {
    return nerrors;
}

void check_errors(void) {
    if (nerrors)
        exit(1);
}
