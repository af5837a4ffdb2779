/* fuzz_load.c — the generated NAME_load (nnc MODEL --weights-in-ram), the
 * reader an embedded program runs on a weights image from flash or a
 * network: for the digits example (four dense tensors and min_max input
 * scaling folded in), generated into the build directory by make. It never
 * reads outside the image, and when it returns 0 every weight is finite. */
#include <math.h>

#include "digits_ram.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static digits_weights w;
    /* a copy of exactly size bytes, so ASan sees any read past the end */
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    if (digits_load(&w, copy, size) == 0) {
        const float *v = (const float *)&w;
        for (size_t i = 0; i < sizeof w / sizeof *v; i++)
            if (!isfinite(v[i]))
                FINDING("digits_load accepted %g at float %zu%s", (double)v[i], i,
                        i < sizeof w.fc1_weight / sizeof *v + sizeof w.fc1_bias / sizeof *v
                            ? ", in the first layer, after folding the input scaling in"
                            : "");
    }
    free(copy);
    return 0;
}
