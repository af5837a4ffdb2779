/* fuzz_safetensors.c — the host .safetensors reader: parse any bytes
 * (nnc_st_read_mem), convert every tensor it accepts to floats, and load
 * the image as the weights of a two-tensor model (nnc_weights_load, the
 * reader of eval, predict, --init, --inference): the reader never reads
 * outside the image, and weights it accepts are finite. */
#include <math.h>

#include "fuzz.h"

static float block[64];
static float *params(void *m) { (void)m; return block; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nnc_st_file f;
    if (nnc_st_read_mem(&f, "fuzz.safetensors", data, size) == 0) {
        for (int i = 0; i < f.n; i++) {
            float *v = malloc((size_t)f.t[i].numel * sizeof *v + 1);
            if (v) nnc_st_to_f32(&f, &f.t[i], v);
            free(v);
        }
        nnc_st_meta(&f, "nnc.model");
        nnc_st_free(&f);
    }
    /* the xor example's shapes: hidden [4, 2] + [4], out [1, 4] + [1] */
    static const nnc_tensor t[] = {{"hidden.weight", 0, 2, {4, 2}}, {"hidden.bias", 8, 1, {4}},
                                   {"out.weight", 12, 2, {1, 4}},  {"out.bias", 16, 1, {1}}};
    nnc_model_desc d;
    memset(&d, 0, sizeof d);
    d.name = "xor";
    d.n_in = 2, d.n_out = 1, d.n_target = 1, d.task = NNC_BINARY;
    d.tensors = t, d.n_tensors = 4, d.n_params = 17, d.params = params;
    const char *path = fuzz_file("w.safetensors", data, size);
    nnc_prep prep = {0};
    if (nnc_weights_load(path, &d, NULL, &prep) == 0) {
        for (int i = 0; i < 17; i++)
            if (!isfinite(block[i])) FINDING("nnc_weights_load accepted %g at float %d", (double)block[i], i);
        /* and they were xor's, or nobody's (PyTorch's files name no model) */
        nnc_st_file g;
        if (nnc_st_read_mem(&g, "again", data, size)) FINDING("the image loads as weights but does not parse");
        const char *owner = nnc_st_meta(&g, "nnc.model");
        if (owner && strcmp(owner, "xor")) FINDING("nnc_weights_load accepted the weights of model '%s'", owner);
        nnc_st_free(&g);
        nnc_prep_free(&prep);
    }
    return 0;
}
