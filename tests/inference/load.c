/* load.c — a --weights-in-ram build (nnc --weights-in-ram) the way a product
 * would use it: a .safetensors image in memory, NAME_load, then inference.
 *   load FILE.safetensors run  < test.csv   prints the outputs per row (with
 *                                            -DSOFTMAX, probabilities as nnc predict)
 *   load FILE.safetensors code               prints NAME_load's result, and fails
 *                                            if a refused load changed the weights
 * The model is chosen at compile time: -DM_NAME=digits and #include "model.h". */
#include "model.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define WEIGHTS CAT(M_NAME, _weights)
#define ARENA CAT(M_NAME, _arena)
#define LOAD CAT(M_NAME, _load)
#define FORWARD CAT(M_NAME, _forward)

static unsigned char image[1 << 22];
static WEIGHTS w, before;
static ARENA arena;

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    size_t len = fread(image, 1, sizeof image, f);
    fclose(f);
    memset(&w, 0x5a, sizeof w);
    before = w;
    int rc = LOAD(&w, image, len);
    if (!strcmp(argv[2], "code")) {
        printf("%d\n", rc);
        return rc && memcmp(&w, &before, sizeof w) ? 1 : 0;
    }
    if (rc) {
        fprintf(stderr, "load: %d\n", rc);
        return 1;
    }
    static char line[1 << 16];
    float x[M_IN], out[M_OUT];
    int row = 0;
    while (fgets(line, sizeof line, stdin)) {
        char *s = line, *end;
        if (row++ == 0)
            continue;   /* the header */
        for (int j = 0; j < M_IN; j++) {
            x[j] = strtof(s, &end);
            s = *end == ',' ? end + 1 : end;
        }
        FORWARD(&w, &arena, x, out, 1);
#ifdef SOFTMAX
        float max = out[0];
        double sum = 0;
        for (int i = 1; i < M_OUT; i++) max = out[i] > max ? out[i] : max;
        for (int i = 0; i < M_OUT; i++) sum += out[i] = expf(out[i] - max);
        for (int i = 0; i < M_OUT; i++) out[i] = (float)(out[i] / sum);
#endif
        for (int i = 0; i < M_OUT; i++) printf("%s%.9g", i ? "," : "", (double)out[i]);
        printf("\n");
    }
    return 0;
}
