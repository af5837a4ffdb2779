/* plan.c — the memory plan: every value gets an area and a fixed offset.
 * Parameters and their gradients (same offsets) are laid out in model order;
 * optimizer state in slots parallel to them (see optim.c), then any state
 * of the whole optimizer; activations and backward temporaries share one area,
 * reused by liveness over the whole training step (first fit). Offsets are
 * rounded to 16 floats so every buffer starts on a 64-byte boundary.
 *
 * A node whose function needs working space (schedule.c) gets a block of
 * the same area for the time it runs, so that memory is counted too and no
 * generated function keeps a large array on the stack.
 *
 * Two ways a value takes no block of its own: a reshape is its input under
 * another shape (same storage, no copy), and an elementwise op whose input
 * dies at it writes over that input (in place). Values are never written
 * after they are made, so sharing is safe exactly when the lifetimes say so. */
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

/* A reshape of an activation is that activation under another shape. (The
 * caller's input and the parameters keep their copies: they live elsewhere.) */
static int shares_input(Node *v, Node **root) {
    Node *x = v->nin ? root[v->in[0]->id] : NULL;
    return v->op == OP_RESHAPE && v->area != A_GRAD && x && x->area != A_GRAD &&
           op_arity[x->op] > 0 && x->shape.ndim;
}

/* An input of v whose storage v may take over: an activation whose storage
 * (shared with any reshapes of it) has no reader after node i. The op table
 * marks the ops that may (OPF_IN_PLACE): each output element is written only
 * after every read of the input elements at or before it (elementwise, or
 * per row with the row's reductions first). */
static Node *in_place_input(Node *v, Node **root, int i) {
    if (!(op_flags(v->op) & OPF_IN_PLACE))
        return NULL;
    for (int j = 0; j < v->nin; j++) {
        Node *x = v->in[j] ? root[v->in[j]->id] : NULL;
        if (x && x->area == A_ACT && x->last_use == i && node_numel(x) == node_numel(v))
            return x;
    }
    return NULL;
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

    /* A reshape shares its input's storage: the storage lives until the last
     * reader of either. Walk backwards so chains of reshapes extend the root. */
    Node **root = xalloc(sizeof(Node *) * n);
    for (int i = 0; i < n; i++) {
        Node *v = g->nodes.v[i];
        root[v->id] = v;
        if (shares_input(v, root))
            root[v->id] = root[v->in[0]->id];
    }
    for (int i = n - 1; i >= 0; i--) {
        Node *v = g->nodes.v[i];
        if (root[v->id] != v && root[v->id]->last_use < v->last_use)
            root[v->id]->last_use = v->last_use;
    }

    Block *live = NULL;
    Vec *dying = xalloc(sizeof(Vec) * (n + 1));
    char *taken = xalloc(n);    /* storage passed on to an in-place op */
    for (int i = 0; i < n; i++) {
        Node *v = g->nodes.v[i];
        switch (v->op) {
        case OP_INPUT: v->area = A_INPUT; break;
        case OP_TARGET: v->area = A_TARGET; break;
        case OP_PARAM: case OP_STATE: break;
        default:
            if (v->area == A_GRAD || !v->shape.ndim)
                break;
            if (root[v->id] != v) {
                v->area = root[v->id]->area;
                v->offset = root[v->id]->offset;
                break;
            }
            Node *x = in_place_input(v, root, i);
            v->area = A_ACT;
            if (x) {
                v->offset = x->offset;
                taken[x->id] = 1;
            } else {
                v->offset = alloc_block(&live, round_up(node_numel(v)), &size[A_ACT]);
            }
            vec_push(&dying[v->last_use], v);
        }
        /* Working space (a convolution's padded planes) lives only while v
         * runs: taken after its output, while its inputs still hold their
         * blocks, and given back at once. */
        if (v->scratch) {
            v->scratch_off = alloc_block(&live, round_up(v->scratch), &size[A_ACT]);
            free_block(&live, v->scratch_off);
        }
        /* Inputs die after this node, never before: no op writes over what it
         * reads, except in place, where the storage changed owner. */
        for (int j = 0; j < dying[i].n; j++) {
            Node *d = dying[i].v[j];
            if (!taken[d->id])
                free_block(&live, d->offset);
        }
    }
}
