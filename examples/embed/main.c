/* classify — the digits model in a product: reads images of 8x8 pixels
 * (values 0..16, comma or space separated, 64 per line; a trailing label is
 * ignored, a header line skipped) and prints the digit each one shows.
 * The model's memory is this program's: one static arena, sized by the
 * header's macros; the weights are constants in the generated file. */
#include <stdio.h>
#include <stdlib.h>
#include "digits.h"

static digits_arena arena;      /* DIGITS_ARENA_BYTES of RAM, nothing else */

/* The index of the largest logit: the predicted digit. */
static int argmax(const float *v, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

int main(void) {
    char line[4096];
    float x[DIGITS_IN], logits[DIGITS_OUT];
    int row = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *s = line, *end;
        int j = 0;
        row++;
        for (; j < DIGITS_IN; j++) {
            x[j] = strtof(s, &end);
            if (end == s)
                break;
            s = end;
            while (*s == ',' || *s == ' ')
                s++;
        }
        if (j == 0 && row == 1)
            continue;   /* a CSV header */
        if (j < DIGITS_IN) {
            fprintf(stderr, "line %d: %d pixel values, want %d\n", row, j, DIGITS_IN);
            return 1;
        }
        digits_forward(&arena, x, logits, 1);
        printf("%d\n", argmax(logits, DIGITS_OUT));
    }
    return 0;
}
