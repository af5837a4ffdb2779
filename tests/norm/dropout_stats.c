/* dropout_stats.c — dropout's masks, by statistics and reproducibility.
 *
 * Includes the C that nnc emits for tests/norm/dropout.nn (dropout(0.3) on
 * 1000 values per sample, batch 10) and calls its dropout functions directly:
 * inference is the identity; in training the fraction kept is 1 - rate
 * (within 4 standard deviations) and kept values are x / (1 - rate) exactly;
 * the same (seed, step) gives the same mask, another step or seed another
 * one, and the backward pass passes the gradient through that same mask. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include MODEL_C

#define N 10
#define K 1000
#define RATE 0.3

static float x[N * K], a[N * K], b[N * K];
static int fails;

static void check(int ok, const char *what) {
    printf("%s: dropout: %s\n", ok ? "PASS" : "FAIL", what);
    fails += !ok;
}

static int differ(const float *p, const float *q) {
    int d = 0;
    for (int i = 0; i < N * K; i++)
        d += (p[i] == 0) != (q[i] == 0);
    return d;
}

int main(void) {
    for (int i = 0; i < N * K; i++)
        x[i] = 1.0f + (float)(i % 97) / 97.0f;     /* never 0: a zero output means dropped */

    dropout_forward(a, x, 0, 42, 0, N);
    check(!memcmp(a, x, sizeof x), "inference is the identity");

    dropout_forward(a, x, 1, 42, 0, N);
    int kept = 0, scaled = 1;
    for (int i = 0; i < N * K; i++)
        if (a[i] != 0) {
            kept++;
            scaled &= a[i] == x[i] * (float)(1 / (1 - RATE));
        }
    double frac = (double)kept / (N * K), sd = sqrt(RATE * (1 - RATE) / (N * K));
    printf("kept %d of %d (%.4f, expected %.4f +- %.4f)\n", kept, N * K, frac, 1 - RATE, 4 * sd);
    check(fabs(frac - (1 - RATE)) < 4 * sd, "the fraction kept is 1 - rate");
    check(scaled, "kept values are x / (1 - rate)");

    dropout_forward(b, x, 1, 42, 0, N);
    check(!memcmp(a, b, sizeof a), "same seed and step, same mask");
    /* two independent masks disagree at 2 rate (1 - rate) of the values */
    double expect = 2 * RATE * (1 - RATE) * N * K, tol = 4 * sqrt(expect);
    dropout_forward(b, x, 1, 42, 1, N);
    int d = differ(a, b);
    printf("step 0 vs 1: %d of %d differ (independent masks: %.0f)\n", d, N * K, expect);
    check(fabs(d - expect) < tol, "another step, an independent mask");
    dropout_forward(b, x, 1, 43, 0, N);
    d = differ(a, b);
    printf("seed 42 vs 43: %d of %d differ\n", d, N * K);
    check(fabs(d - expect) < tol, "another seed, an independent mask");
    dropout_forward(b, x, 1, 42, 0, N - 3);
    check(!memcmp(a, b, sizeof(float) * (N - 3) * K), "a partial batch gets the full batch's first rows");

    /* the backward pass: dy = 1 comes back as the forward's mask and scale */
    for (int i = 0; i < N * K; i++)
        b[i] = 1.0f;
    dropout_dropout_backward(b, b, 42, 0, N);
    int same = 1;
    for (int i = 0; i < N * K; i++)
        same &= (a[i] != 0) == (b[i] != 0) && (b[i] == 0 || b[i] == (float)(1 / (1 - RATE)));
    check(same, "the gradient flows through the kept values only, scaled alike");
    return fails != 0;
}
