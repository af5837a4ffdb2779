/* plan.c — the memory plan: every value gets an area and a fixed offset.
 * Parameters and their gradients (same offsets) are laid out in model order;
 * optimizer state in slots parallel to them (see optim.c), then any state
 * of the whole optimizer; activations and backward temporaries share one area,
 * reused by liveness over the whole training step (first fit). Offsets are
 * rounded to 16 floats so every buffer starts on a 64-byte boundary. */
#include "nnc.h"

#define ALIGN 16

static long round_up(long n) { return (n + ALIGN - 1) / ALIGN * ALIGN; }

typedef struct Block {
    long off, size;
    struct Block *next;
} Block;

/* First fit in a list of live blocks sorted by offset. */
static long alloc_block(Block **live, long size, long *high) {
    long off = 0;
    Block **pp = live;
    while (*pp && (*pp)->off < off + size) {
        if ((*pp)->off + (*pp)->size > off)
            off = (*pp)->off + (*pp)->size;
        pp = &(*pp)->next;
    }
    Block *b = xalloc(sizeof *b);
    b->off = off, b->size = size, b->next = *pp;
    *pp = b;
    if (off + size > *high)
        *high = off + size;
    return off;
}

static void free_block(Block **live, long off) {
    for (Block **pp = live; *pp; pp = &(*pp)->next)
        if ((*pp)->off == off) {
            *pp = (*pp)->next;
            return;
        }
    internal_error("plan: freeing unknown block at %ld", off);
}

void plan(Graph *g) {
    long *size = g->area_size;
    /* Trainable parameters first, then buffers: the optimizer's loop stops at
     * g->trainable, so no update (weight decay included) ever touches a buffer. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < g->params.n; i++) {
            Node *p = g->params.v[i];
            if (p->buffer != pass)
                continue;
            p->area = A_PARAM;
            p->offset = size[A_PARAM];
            size[A_PARAM] += round_up(node_numel(p));
            if (p->grad) {
                p->grad->area = A_GRAD;
                p->grad->offset = p->offset;
            }
        }
        if (pass == 0)
            g->trainable = size[A_PARAM];
    }
    size[A_GRAD] = size[A_PARAM];
    for (int i = 0; i < g->states.n; i++) {
        Node *s = g->states.v[i];
        s->area = A_STATE;
        if (s->wrt) {
            s->offset = s->slot * size[A_PARAM] + s->wrt->offset;
            if ((s->slot + 1) * size[A_PARAM] > size[A_STATE])
                size[A_STATE] = (s->slot + 1) * size[A_PARAM];
        } else {    /* a number of the whole optimizer, after the slots */
            s->offset = s->slot * size[A_PARAM];
            if (s->offset + ALIGN > size[A_STATE])
                size[A_STATE] = s->offset + ALIGN;
        }
    }

    /* Liveness: a value lives until its last reader. The output and the loss
     * are read by the caller after their phase, so they live to the end. */
    int n = g->nodes.n;
    for (int i = 0; i < n; i++) {
        Node *v = g->nodes.v[i];
        v->last_use = i;
        for (int j = 0; j < v->nin; j++)
            if (v->in[j])
                v->in[j]->last_use = i;
    }
    g->out->last_use = n;
    if (g->loss)    /* an inference build has none */
        g->loss->last_use = n;

    Block *live = NULL;
    Vec *dying = xalloc(sizeof(Vec) * (n + 1));
    for (int i = 0; i < n; i++) {
        Node *v = g->nodes.v[i];
        switch (v->op) {
        case OP_INPUT: v->area = A_INPUT; break;
        case OP_TARGET: v->area = A_TARGET; break;
        case OP_PARAM: case OP_STATE: break;
        default:
            if (v->area == A_GRAD || !v->shape.ndim)
                break;
            v->area = A_ACT;
            v->offset = alloc_block(&live, round_up(node_numel(v)), &size[A_ACT]);
            vec_push(&dying[v->last_use], v);
        }
        /* Inputs die after this node, never before: no op writes over what it reads. */
        for (int j = 0; j < dying[i].n; j++)
            free_block(&live, ((Node *)dying[i].v[j])->offset);
    }
}
