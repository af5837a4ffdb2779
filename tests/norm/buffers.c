/* buffers.c — batch norm's running statistics are never trained.
 *
 * Built against one generated model (-include its header, -DP=name) that has
 * batch norm. Every gradient, the buffers' slots included, is set to 1 and
 * the optimizer steps a few times: every trainable parameter must move and no
 * buffer (running_mean, running_var, num_batches_tracked) may, whatever the
 * optimizer and its weight decay. Then a training step moves the running
 * statistics and the inference forward leaves them alone. */
#include <stdio.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(name) CAT(P, CAT(_, name))
#define M(name) CAT(UP, CAT(_, name))

static int is_buffer(const char *name) {
    return strstr(name, ".running_") || strstr(name, ".num_batches_tracked");
}

int main(void) {
    static F(model) m, before;
    static float x[M(BATCH) * M(IN)], y[M(BATCH) * M(TARGET)], out[M(BATCH) * M(OUT)];
    int bad = 0;
    F(init)(&m, 3);
    for (int i = 0; i < M(NUM_TENSORS); i++)
        if (is_buffer(F(tensors)[i].name))
            m.params[F(tensors)[i].offset] = 0.5f;      /* nonzero, so weight decay would show */
    before = m;
    for (int step = 0; step < 3; step++) {
        for (int i = 0; i < M(NUM_PARAMS); i++)
            m.grads[i] = 1.0f;
        F(update)(&m);
    }
    for (int i = 0; i < M(NUM_TENSORS); i++) {
        const F(tensor) *t = &F(tensors)[i];
        int moved = m.params[t->offset] != before.params[t->offset];
        if (moved == is_buffer(t->name)) {
            printf("  %s %s\n", t->name, moved ? "moved" : "did not move");
            bad++;
        }
    }
    /* the training forward moves running statistics; the inference one does not */
    for (int i = 0; i < M(BATCH) * M(IN); i++)
        x[i] = (float)(i % 7) - 2.5f;
    before = m;
    F(forward)(&m, x, out, M(BATCH));
    F(evaluate)(&m, x, y, out, M(BATCH));
    bad += memcmp(before.params, m.params, sizeof m.params) != 0;
    F(backward)(&m, x, y, M(BATCH));
    bad += memcmp(before.params, m.params, sizeof m.params) == 0;
    return bad != 0;
}
