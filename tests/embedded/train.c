/* train.c — a few training steps of the digits training build (nnc
 * MODEL.nn, not --inference), the same on the host and on the emulated
 * Cortex-M4: fixed initial weights (digits_init with seed 42), then STEPS
 * batches of 32 embedded samples in order, pixels scaled by 1/16 (the 0..16
 * range the model's min_max preprocessing maps to [0, 1]). Prints each step's
 * loss and the sum of all parameters after it with %.9g, so two runs agree
 * only if every step agreed (a sum agreeing by chance aside). */
#include "model.h"
#include "samples.h"
#include <stdio.h>

#define STEPS 10

static digits_model model;  /* parameters, gradients, Adam state, activations */

/* The parameters summed in order, in double: a digest of every one of them. */
static double params_sum(void) {
    double sum = 0;
    for (int i = 0; i < DIGITS_NUM_PARAMS; i++) sum += model.params[i];
    return sum;
}

int main(void) {
    static float x[DIGITS_BATCH * DIGITS_IN], y[DIGITS_BATCH];
    digits_init(&model, 42);
    for (int s = 0; s < STEPS; s++) {
        for (int r = 0; r < DIGITS_BATCH; r++) {
            int k = (s * DIGITS_BATCH + r) % NUM_SAMPLES;
            for (int j = 0; j < DIGITS_IN; j++) x[r * DIGITS_IN + j] = samples[k][j] / 16.0f;
            y[r] = (float)labels[k];
        }
        float loss = digits_train_step(&model, x, y, DIGITS_BATCH);
        printf("step %d loss %.9g params %.9g\n", s + 1, (double)loss, params_sum());
    }
    printf("model %u bytes\n", (unsigned)sizeof model);
    return 0;
}
