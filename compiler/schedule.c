/* schedule.c — how each kernel will be laid out, decided before the memory
 * plan: whether a convolution takes the blocked form on zero-padded planes
 * (its Tile) or the plain loops, the working space (scratch) that form needs
 * in the activation area, and the local arrays each generated function
 * declares. plan.c reserves the scratch, the emitter prints the kernels as
 * decided here, and NAME_STACK_BYTES (and nnc summary's stack line) are the
 * largest frame of local arrays recorded here: nothing before the emitter
 * has to ask it what it will print. */
#include "nnc.h"
#include <string.h>

/* Working buffers of up to this many floats (64 KB) in all; larger layers use
 * the plain loops, which need none. */
#define TILE_MAX_FLOATS 16384
/* Sums kept in registers: output channels x columns (12 AVX-512 registers). */
#define TILE_ACC 192

static long round_up(long v, long m) { return (v + m - 1) / m * m; }

/* x [n, C, H, W] or, 1-D, [n, C, L] as an image of height 1. */
Win win_of(const Node *n, const Node *x, const Node *y) {
    int one = x->shape.ndim == 3;
    Win r = {x->shape.dim[1], one ? 1 : x->shape.dim[2], x->shape.dim[one ? 2 : 3], y->shape.dim[1],
             one ? 1 : y->shape.dim[2], y->shape.dim[one ? 2 : 3], n->win[WIN_KH], n->win[WIN_KW],
             n->win[WIN_SH], n->win[WIN_SW], n->win[WIN_PT], n->win[WIN_PL], n->win[WIN_DH], n->win[WIN_DW],
             0, 0};
    int g = n->win[WIN_G] ? n->win[WIN_G] : 1;
    r.cg = r.c / g, r.fg = r.f / g;
    return r;
}

/* Every window inside the image (no padding, none running past the end):
 * windows have literal bounds and need no clipping. */
int pool_inside(const Win *w) {
    return w->pt == 0 && w->pl == 0 && (w->oh - 1) * w->sh + w->kh <= w->h && (w->ow - 1) * w->sw + w->kw <= w->w;
}

/* A dot product of length k is summed in this many independent partial
 * sums (a local array), 1 for a plain loop. */
int dot_lanes(long k) { return k >= 64 ? 16 : k >= 16 ? 8 : 1; }

/* Columns, output channels and output rows per block: chunk * fb * rb sums
 * at most TILE_ACC, fb dividing the channels of a group so a block is in one
 * group, rb dividing the rows. */
static void tile_blocks(Tile *t) {
    long w8 = round_up(t->ow, 8);
    t->chunk = w8 <= 32 ? w8 : 32;
    t->fb = t->rb = 1;
    for (long d = 1; d <= t->cog && d * t->chunk <= TILE_ACC; d++)
        if (t->cog % d == 0)
            t->fb = d;
    for (long d = 1; d <= t->oh && d * t->fb * t->chunk <= TILE_ACC; d++)
        if (t->oh % d == 0)
            t->rb = d;
}

/* Padded plane size for a tile of the given output: every column block reads
 * whole, inside the plane. */
static void tile_plane(Tile *t) {
    long cols = round_up(t->ow, t->chunk);
    t->hp = (t->oh - 1) * t->sh + (long)(t->kh - 1) * t->dh + 1;
    t->wp = (cols - 1) * t->sw + (long)(t->kw - 1) * t->dw + 1;
}

/* The forward Tile of a convolution: x padded by (pt, pl) into xp. */
static Tile conv_tile(const Win *w) {
    Tile t = {"xp", w->c, w->f, w->cg, w->fg, w->oh, w->ow, 0, 0, w->kh, w->kw, w->sh, w->sw, w->dh, w->dw, 0, 0, 0};
    tile_blocks(&t);
    tile_plane(&t);
    return t;
}

/* dx with stride 1: the convolution of dy, padded by the kernel's span less
 * the forward padding, with the kernel flipped and its channel axes swapped. */
static Tile dx_tile(const Win *w) {
    Tile t = {"dp", w->f, w->c, w->fg, w->cg, w->h, w->w, 0, 0, w->kh, w->kw, 1, 1, w->dh, w->dw, 0, 0, 0};
    tile_blocks(&t);
    tile_plane(&t);
    return t;
}

long scratch_part(long floats) { return round_up(floats, 16); }

long dw_fgp(const Win *w) { return round_up(w->fg, 8); }

int dw_by_rows(const Win *w) { return w->fg < 16; }

/* The Tile of a convolution's blocked form, or NULL when its working buffers
 * would pass TILE_MAX_FLOATS (or dx has a stride): the plain loops. */
static Tile *conv_form(const Node *n) {
    Tile t;
    long floats;
    if (n->op == OP_CONV2D) {
        Win w = win_of(n, n->in[0], n);
        t = conv_tile(&w);
        floats = w.c * t.hp * t.wp;
    } else if (n->op == OP_CONV2D_DX) {
        Win w = win_of(n, n, n->in[0]);
        t = dx_tile(&w);
        if (w.sh != 1 || w.sw != 1)
            return NULL;
        floats = w.f * t.hp * t.wp;
    } else if (n->op == OP_CONV2D_DW) {
        Win w = win_of(n, n->in[1], n->in[0]);
        t = conv_tile(&w);
        long g = w.c / w.cg, fgp = dw_fgp(&w);
        floats = w.c * t.hp * t.wp + (dw_by_rows(&w) ? w.f * w.oh * round_up(w.ow, 8)
                                                     : g * fgp * (w.cg * w.kh * w.kw + w.oh * w.ow));
    } else {
        return NULL;
    }
    if (floats > TILE_MAX_FLOATS)
        return NULL;
    Tile *p = xalloc(sizeof *p);
    *p = t;
    return p;
}

/* The working space of a convolution's blocked form, laid out as its
 * emitter (emit_conv.c) views it; 0 for the plain loops and every other op. */
static long conv_scratch(const Node *n) {
    const Tile *t = n->tile;
    if (!t)
        return 0;
    if (n->op == OP_CONV2D) {
        Win w = win_of(n, n->in[0], n);
        return w.c * t->hp * t->wp;
    }
    if (n->op == OP_CONV2D_DX) {
        Win w = win_of(n, n, n->in[0]);
        return w.f * t->hp * t->wp;
    }
    Win w = win_of(n, n->in[1], n->in[0]);
    long xp = w.c * t->hp * t->wp, g = w.c / w.cg, fgp = dw_fgp(&w);
    if (dw_by_rows(&w))     /* xp, dp */
        return scratch_part(xp) + w.f * w.oh * round_up(w.ow, 8);
    /* dwt, xp, dt */
    return scratch_part(g * w.cg * w.kh * w.kw * fgp) + scratch_part(xp) + w.oh * w.ow * g * fgp;
}

/* The local arrays of n's function, as the emitter declares them: reals
 * ($: float or double), ints and doubles. All arrays of a function count,
 * inner blocks included: an upper bound on what they take at once. */
static void kernel_locals(const Graph *g, Node *n, long *reals, long *ints, long *doubles) {
    *reals = *ints = *doubles = 0;
    const Tile *t = n->tile;
    switch (n->op) {
    case OP_LINEAR: {
        long k = n->in[1]->shape.dim[1];
        *reals = dot_lanes(k) > 1 ? dot_lanes(k) : 0;
        break;
    }
    case OP_LINEAR_T: {
        long o = n->in[1]->shape.dim[1];
        *reals = o <= LOCAL_ACC_MAX ? o : LOCAL_ACC_MAX;
        break;
    }
    case OP_LINEAR_DX:
    case OP_LINEAR_DW:
        *reals = n->shape.dim[n->shape.ndim - 1] <= LOCAL_ACC_MAX ? n->shape.dim[n->shape.ndim - 1] : 0;
        break;
    case OP_LINEAR_DB:
        *reals = n->shape.dim[0] <= LOCAL_ACC_MAX ? n->shape.dim[0] : 0;
        break;
    case OP_CONV2D: {
        Win w = win_of(n, n->in[0], n);
        *reals = t ? t->fb * t->rb * t->chunk : w.ow;
        break;
    }
    case OP_CONV2D_DX:
        *reals = t ? t->fb * t->rb * t->chunk : 0;
        break;
    case OP_CONV2D_DW: {
        Win w = win_of(n, n->in[1], n->in[0]);
        *reals = !t ? w.kw * w.ow : dw_by_rows(&w) ? w.kw * round_up(w.ow, 8) : w.kw * dw_fgp(&w);
        break;
    }
    case OP_CHANNEL_DB:
        *reals = 8;
        break;
    case OP_MAX_POOL2D:
    case OP_AVG_POOL2D: {
        Win w = win_of(n, n->in[0], n);
        *reals = pool_inside(&w) ? w.ow : 0;
        break;
    }
    case OP_POOL2D_DX: {
        Win w = win_of(n, n, n->in[0]);
        if (pool_inside(&w) && n->win[WIN_MAX])
            *reals = *ints = w.ow;
        break;
    }
    case OP_RECURRENCE: {
        long h = n->in[1]->shape.dim[1];
        *reals = h + (dot_lanes(h) > 1 ? dot_lanes(h) : 0);
        break;
    }
    case OP_RECURRENCE_DX: {
        Node *w = n->in[1]->in[1];
        long h = w->shape.dim[1];
        int g = cell_gates(w);
        *reals = 2 * h + (g == 4 ? h : 0) + (g == 3 ? g * h : 0);
        break;
    }
    case OP_RECURRENCE_DW:
        *reals = n->shape.dim[1];
        break;
    /* batch norm's per-channel statistics in training: mean (and the count,
     * summed with it across processes) and variance; the gradient adds two
     * sums per channel. An inference build's is an affine map. */
    case OP_BATCH_NORM:
        *doubles = g->inference ? 0 : 2 * n->in[0]->shape.dim[1] + 1;
        break;
    case OP_BATCH_NORM_DGAMMA:
        *doubles = 2 * n->in[1]->shape.dim[1] + 1;
        break;
    case OP_BATCH_NORM_DX:
        *doubles = 4 * n->in[1]->shape.dim[1] + 1;
        break;
    default:
        break;
    }
}

/* NAME_load's local arrays (--weights-in-ram), in bytes as on a 64-bit
 * host: each tensor's read position (size_t), whether it was seen (int) and
 * its destination (a pointer); a header entry's shape and offsets (8 and 2
 * unsigned long long); the input scaling folded into the first layer, two
 * floats per input. */
static long load_locals(const Graph *g) {
    long nt = g->params.n, bytes = nt * (8 + 4 + 8) + 10 * 8;
    if (g->fold_w)
        bytes += 2 * 4 * g->fold_w->shape.dim[1];
    return bytes;
}

void schedule(Graph *g) {
    for (int i = 0; i < g->nodes.n; i++) {
        Node *n = g->nodes.v[i];
        n->tile = conv_form(n);
        n->scratch = conv_scratch(n);
        kernel_locals(g, n, &n->local_reals, &n->local_ints, &n->local_doubles);
    }
    g->load_locals = g->in_ram ? load_locals(g) : 0;
}

long stack_bytes(const Graph *g, int real_bytes) {
    long most = g->load_locals;
    for (int i = 0; i < g->nodes.n; i++) {
        const Node *n = g->nodes.v[i];
        long bytes = n->local_reals * real_bytes + n->local_ints * 4 + n->local_doubles * 8;
        if (bytes > most)
            most = bytes;
    }
    return most;
}
