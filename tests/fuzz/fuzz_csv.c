/* fuzz_csv.c — the CSV reader (nnc_data_read) on any bytes: a dataset or a
 * located error, never a crash. The first byte shapes the model (fuzz.h). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    nnc_model_desc d = fuzz_desc(data[0]);
    FILE *f = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "rb");
    if (!f) return 0;
    if (size == 1) fgetc(f);    /* fmemopen needs a byte: an empty file */
    nnc_dataset ds;
    if (nnc_data_read(&ds, f, "fuzz.csv", &d, data[0] & 1) == 0) {
        if (ds.n < 1 || ds.n_in != d.n_in) FINDING("nnc_data_read succeeded with %d samples of %d inputs", ds.n, ds.n_in);
        nnc_data_free(&ds);
    } else if (!*nnc_error()) {
        FINDING("nnc_data_read failed without a message");
    }
    fclose(f);
    return 0;
}
