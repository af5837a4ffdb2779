/* emit_conv.c — kernels of convolution and pooling (1-D and 2-D, channels
 * first): the plain loops, the tiled forms that copy a padded input plane into
 * working space, and their gradients. */
#include "emit.h"
#include <stdlib.h>
#include <string.h>

/* ---- images: convolution and pooling, channels first ------------------
 * Sizes as literals: input [C, H, W], output [F, OH, OW], kernel KH x KW,
 * strides SH, SW, padding PT (top), PL (left); past the bottom and right
 * edges reads as zero. The loops over output columns run over the range
 * [lo, hi) whose input column is inside the image, worked out once per
 * kernel column, so the innermost loop has no test and vectorizes. */

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
static void emit_conv2d_dx_tiled(Node *n);
static void emit_conv2d_dw_tiled(Node *n);

void emit_conv2d(Node *n) {
    Node *x = n->in[0], *wt = n->in[1], *b = n->in[2];
    Win w = win_of(n, x, n);
    if (n->tile) {
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
void emit_conv2d_dx(Node *n) {
    Node *dy = n->in[0], *wt = n->in[1];
    Win w = win_of(n, n, dy);
    if (n->tile) {
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
void emit_conv2d_dw(Node *n) {
    Node *dy = n->in[0], *x = n->in[1];
    Win w = win_of(n, x, dy);
    if (n->tile) {
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
 * buffers are small enough (schedule.c decides, and gives the Tile): each image's input is first copied into a
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
 * activation area plan.c reserves while the node runs (schedule.c sizes it),
 * and views it as the arrays it was. */

static long round_up(long v, long m) { return (v + m - 1) / m * m; }

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
    if (t->fb < t->co) {
        OPEN("for (int o0 = 0; o0 < %ld; o0 += %ld) {", t->co, t->fb);
    } else {    /* every output channel in one block: no loop of one pass */
        OPEN("{ /* the %ld output channels in one block */", t->co);
        emit("const int o0 = 0;");
    }
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

static void emit_conv2d_tiled(Node *n) {
    Node *x = n->in[0], *wt = n->in[1], *b = n->in[2];
    Win w = win_of(n, x, n);
    Tile t = *n->tile;
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

static void emit_conv2d_dx_tiled(Node *n) {
    Node *dy = n->in[0], *wt = n->in[1];
    Win w = win_of(n, n, dy);
    Tile t = *n->tile;
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
/* dW with few filters per group (a vector over them would be mostly
 * empty): per image and (f, c, ki), rows of products along the output
 * columns, dy's rows padded with zeros to whole vectors, summed at the end. */
static void emit_conv2d_dw_rows(Node *n) {
    Node *dy = n->in[0], *x = n->in[1];
    Win w = win_of(n, x, dy);
    Tile t = *n->tile;
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
    Tile t = *n->tile;
    if (dw_by_rows(&w)) {
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

/* dbias[f] = dy[:, f, ...] summed. */
void emit_channel_db(Node *n) {
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

/* max: the largest value of the window; avg: the mean of the values inside
 * the image (padding is not counted, as Keras; PyTorch's
 * count_include_pad = False). Windows inside the image: one output row at a
 * time in a local row m, window offset by window offset, so the loop over
 * the output columns vectorizes. */
void emit_pool2d(Node *n) {
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
void emit_pool2d_dx(Node *n) {
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
