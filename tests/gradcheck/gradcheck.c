/* gradcheck.c — finite-difference check of a generated model's gradients.
 *
 * Built against one model emitted with --real=double and included with
 * -include, with -DP=<model name>. For every parameter element it compares
 * the analytic gradient from P_backward with the central difference
 * (L(p + h) - L(p - h)) / 2h of P_evaluate, at a full and a partial batch.
 * Double precision makes the check tight (1e-5 relative, planted bugs show
 * errors near 1) instead of hopeful. With -DTRAIN_LOSS (models with dropout or
 * batch norm, which act differently in training) the loss differenced is
 * P_backward's, the training-mode one: the step stays put, so dropout's mask
 * is fixed, and batch norm uses the batch's statistics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define F(name) CAT(P, CAT(_, name))
#define M(name) CAT(UP, CAT(_, name))

static double urand(unsigned long long *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

#ifdef TRAIN_LOSS
#define LOSS() F(backward)(&m, x, y, n)
#else
#define LOSS() F(evaluate)(&m, x, y, out, n)
#endif

int main(void) {
    static F(model) m;
    static double x[M(BATCH) * M(IN)], y[M(BATCH) * M(TARGET)], out[M(BATCH) * M(OUT)];
    static double grads[M(NUM_PARAMS)];
    unsigned long long s = 12345;
    int fails = 0;
    double worst = 0;
    (void)out;
    F(init)(&m, 7);
    /* Biases start at zero; nudge every parameter so no kink or symmetry hides a bug. */
    for (int i = 0; i < M(NUM_TENSORS); i++) {
        long count = 1;
        for (int d = 0; d < F(tensors)[i].ndim; d++)
            count *= F(tensors)[i].shape[d];
        for (long k = 0; k < count; k++)
            m.params[F(tensors)[i].offset + k] += 0.1 * (urand(&s) - 0.5);
    }
    for (int i = 0; i < M(BATCH) * M(IN); i++)
        x[i] = 2 * urand(&s) - 1;
    for (int i = 0; i < M(BATCH); i++)
        for (int j = 0; j < M(TARGET); j++)
            /* fewer targets than outputs: class indices, one per row of
             * OUT / TARGET classes (a class at every step of [T, k]) */
            y[i * M(TARGET) + j] = M(OUT) > M(TARGET) ? (double)(int)(urand(&s) * (M(OUT) / M(TARGET)))
                                 : M(OUT) == 1 ? (double)(urand(&s) < 0.5)
                                 : 2 * urand(&s) - 1;
#ifdef DIST_TARGETS
    /* categorical CE and KL divergence: each target row a distribution, with
     * one near-zero entry so the clip of kl_divergence is exercised */
    for (int i = 0; i < M(BATCH); i++) {
        double *t = y + i * M(TARGET), sum = 0;
        for (int j = 0; j < M(TARGET); j++)
            sum += t[j] = j == i % M(TARGET) ? 1e-9 : 0.1 + urand(&s);
        for (int j = 0; j < M(TARGET); j++)
            t[j] /= sum;
    }
#endif
    int batches[2] = {M(BATCH), M(BATCH) > 1 ? M(BATCH) - 1 : 1};
    for (int b = 0; b < 2; b++) {
        int n = batches[b];
        F(backward)(&m, x, y, n);
        memcpy(grads, m.grads, sizeof grads);
        for (int t = 0; t < M(NUM_TENSORS); t++) {
            long count = 1;
            for (int d = 0; d < F(tensors)[t].ndim; d++)
                count *= F(tensors)[t].shape[d];
            for (long k = 0; k < count; k++) {
                long i = (long)F(tensors)[t].offset + k;
                double p = m.params[i], h = 1e-6;
                m.params[i] = p + h;
                double lp = LOSS();
                m.params[i] = p - h;
                double lm = LOSS();
                m.params[i] = p;
                double fd = (lp - lm) / (2 * h), g = grads[i];
                /* Relative, with a floor so gradients that are ~0 compare absolutely. */
                double err = fabs(fd - g) / fmax(1e-4, fmax(fabs(fd), fabs(g)));
                if (err > worst)
                    worst = err;
                if (err > 1e-5) {
                    if (fails++ < 5)
                        printf("  n=%d %s[%ld]: analytic %.10g, finite difference %.10g\n", n,
                               F(tensors)[t].name, k, g, fd);
                }
            }
        }
    }
    printf("max relative error %.3g over %d parameters, %d mismatches\n", worst, M(NUM_PARAMS), fails);
    return fails != 0;
}
