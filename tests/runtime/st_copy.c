/* st_copy.c — test helper: `st_copy IN OUT` reads any safetensors file the
 * runtime accepts and writes it back as F32 with the same tensor order and
 * metadata, so that Python can compare the result with what PyTorch wrote. */
#include <stdio.h>
#include <stdlib.h>

#include "nnc_rt.h"

int main(int argc, char **argv) {
    nnc_st_file f;
    if (argc != 3) {
        fprintf(stderr, "usage: st_copy IN OUT\n");
        return 2;
    }
    if (nnc_st_read(&f, argv[1])) {
        fprintf(stderr, "%s\n", nnc_error());
        return 1;
    }
    nnc_st_entry *e = calloc((size_t)f.n + 1, sizeof *e);
    float **data = calloc((size_t)f.n + 1, sizeof *data);
    int rc = !e || !data;
    for (int i = 0; i < f.n && !rc; i++) {
        const nnc_st_tensor *t = &f.t[i];
        data[i] = malloc(t->numel ? t->numel * sizeof(float) : 1);
        if (!data[i] || nnc_st_to_f32(&f, t, data[i])) {
            rc = 1;
            break;
        }
        e[i].name = t->name;
        e[i].ndim = t->ndim;
        for (int k = 0; k < t->ndim; k++) e[i].shape[k] = t->shape[k];
        e[i].data = data[i];
    }
    if (!rc && nnc_st_write(argv[2], e, f.n, f.meta, f.n_meta)) rc = 1;
    if (rc) fprintf(stderr, "%s\n", nnc_error());
    for (int i = 0; data && i < f.n; i++) free(data[i]);
    free(data);
    free(e);
    nnc_st_free(&f);
    return rc;
}
